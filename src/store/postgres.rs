//! The PostgreSQL backend: what PostgreSQL does its own way under the SQL
//! of `sql.rs`: connecting, migrations under an advisory lock, `$N`
//! placeholders, prepared statements, binding and reading values. One
//! synchronous connection (the `postgres` crate; no TLS: loopback or a
//! trusted network).
//!
//! Concurrency rests on PostgreSQL's row locks under READ COMMITTED: two
//! transactions updating one token row serialise, and the second re-checks
//! its `WHERE` against the row the first committed. So the compare-and-set
//! `UPDATE … WHERE next_counter = $previous …` matches in exactly one of
//! them, across connections, processes and machines.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use bytes::BytesMut;
use postgres::config::Host;
use postgres::types::{IsNull, ToSql, Type};
use postgres::{Client, Config, NoTls, Row, Statement};

use super::error::StoreError;
use super::sql::{Columns, Driver, Param, dollar_placeholders};

/// Versioned migrations, embedded in the binary: (version, name, SQL).
/// Append only; a released migration never changes. Numbered like the
/// SQLite ones: version N means the same schema in both.
const MIGRATIONS: &[(i32, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/postgres/0001_initial.sql"),
    ),
    (
        2,
        "replacements",
        include_str!("../../migrations/postgres/0002_replacements.sql"),
    ),
    (
        3,
        "sms_delivery",
        include_str!("../../migrations/postgres/0003_sms_delivery.sql"),
    ),
    (
        4,
        "one_active_token",
        include_str!("../../migrations/postgres/0004_one_active_token.sql"),
    ),
];

/// The advisory lock key migrations run under, so two processes opening a
/// fresh database at once do not both create its tables. Arbitrary, fixed.
const MIGRATION_LOCK: i64 = 0x746f_6b65_6e72_6967; // "tokenrig"

/// How long connecting may take before the open fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to one PostgreSQL database, with its prepared statements.
pub(crate) struct PgDb {
    client: RefCell<Client>,
    /// Keyed by the statement as `sql.rs` writes it.
    statements: RefCell<HashMap<&'static str, Statement>>,
}

impl PgDb {
    /// Connects and migrates. The URL is any libpq connection string the
    /// `postgres` crate accepts (`postgres://user:pass@host:port/db`).
    pub fn connect(url: &str) -> Result<PgDb, StoreError> {
        let mut config = Config::from_str(url).map_err(|_| StoreError::BadUrl {
            url: super::redact_password(url),
        })?;
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(CONNECT_TIMEOUT);
        }
        config.application_name("tokenrig");
        let mut client = config.connect(NoTls)?;
        migrate(&mut client)?;
        Ok(PgDb {
            client: RefCell::new(client),
            statements: RefCell::new(HashMap::new()),
        })
    }

    /// The statement for `sql`, placeholders rewritten and prepared once
    /// per connection: every verification runs the same handful, so this
    /// saves a round trip each.
    fn prepared(&self, client: &mut Client, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(&dollar_placeholders(sql))?;
        self.statements.borrow_mut().insert(sql, statement.clone());
        Ok(statement)
    }

    fn simple(&self, sql: &str) -> Result<(), StoreError> {
        Ok(self.client.borrow_mut().batch_execute(sql)?)
    }
}

/// Each variant binds as the Rust type PostgreSQL's crate maps to the
/// column (BIGINT, TEXT, BYTEA, BOOLEAN), type-checked per value.
impl ToSql for Param<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Param::Int(v) => v.to_sql(ty, out),
            Param::Text(v) => v.to_sql(ty, out),
            Param::Blob(v) => v.to_sql(ty, out),
            Param::Bool(v) => v.to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn std::error::Error + Sync + Send>> {
        match *self {
            Param::Int(v) => v.to_sql_checked(ty, out),
            Param::Text(v) => v.to_sql_checked(ty, out),
            Param::Blob(v) => v.to_sql_checked(ty, out),
            Param::Bool(v) => v.to_sql_checked(ty, out),
        }
    }
}

impl Columns for Row {
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.try_get(i)?)
    }
    fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.try_get(i)?)
    }
}

fn bind<'a>(params: &'a [Param<'_>]) -> Vec<&'a (dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

impl Driver for PgDb {
    /// The row's fixed `id` is the conflict two first openers meet on.
    const RECORD_SECRET: &'static str =
        "INSERT INTO store_secret_check (id, mac) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING";

    fn execute(&self, sql: &'static str, params: &[Param<'_>]) -> Result<usize, StoreError> {
        let mut client = self.client.borrow_mut();
        let statement = self.prepared(&mut client, sql)?;
        let changed = client.execute(&statement, &bind(params))?;
        Ok(usize::try_from(changed).unwrap_or(usize::MAX))
    }

    fn query(
        &self,
        sql: &'static str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(&dyn Columns) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let rows = {
            let mut client = self.client.borrow_mut();
            let statement = self.prepared(&mut client, sql)?;
            client.query(&statement, &bind(params))?
        };
        rows.iter().try_for_each(|row| each(row))
    }

    /// READ COMMITTED: see the module doc for why that is enough.
    fn begin(&self) -> Result<(), StoreError> {
        self.simple("BEGIN")
    }

    fn commit(&self) -> Result<(), StoreError> {
        self.simple("COMMIT")
    }

    fn rollback(&self) -> Result<(), StoreError> {
        self.simple("ROLLBACK")
    }

    /// No batching: PostgreSQL already lets concurrent commits share one
    /// WAL flush, and one operation per transaction keeps each holding a
    /// single row lock, so connections never deadlock on each other.
    fn begin_batch(&self) -> Result<(), StoreError> {
        Ok(())
    }

    fn end_batch(&self, _commit: bool) -> Result<(), StoreError> {
        Ok(())
    }

    fn defer_checkpoints(&self) -> Result<(), StoreError> {
        Ok(())
    }

    /// The server checkpoints on its own schedule.
    fn checkpoint(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Applies the migrations the database lacks, in one transaction holding
/// an advisory lock, so concurrent first opens queue instead of racing on
/// `CREATE TABLE`. A database from newer code is refused.
fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let mut tx = client.transaction()?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER PRIMARY KEY,
             name TEXT NOT NULL
         )",
    )?;
    let current: i32 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])?
        .try_get(0)?;
    let supported = MIGRATIONS.last().map_or(0, |m| m.0);
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current.unsigned_abs(),
            supported: supported.unsigned_abs(),
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, name) VALUES ($1, $2)",
            &[version, name],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// The default key file of a PostgreSQL store: one per server and
/// database, under the data directory (created), e.g.
/// `~/.local/share/tokenrig/postgres-127.0.0.1-5432-tokenrig.key`.
pub(crate) fn default_key_file(url: &str) -> Result<PathBuf, StoreError> {
    let config = Config::from_str(url).map_err(|_| StoreError::BadUrl {
        url: super::redact_password(url),
    })?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        Some(Host::Unix(path)) => path.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let database = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    let name: String = format!("postgres-{host}-{port}-{database}.key")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let dir = super::default_data_dir().ok_or(StoreError::NoDataDir)?;
    std::fs::create_dir_all(&dir).map_err(|source| StoreError::KeyFile {
        path: dir.clone(),
        source,
    })?;
    Ok(dir.join(name))
}
