//! The SQLite backend: what SQLite does its own way under the SQL of
//! `sql.rs`: opening (pragmas), migrations, write transactions that take
//! the lock at `BEGIN`, batches of savepoints, WAL checkpoints, binding
//! and reading values. One connection per [`SqliteDb`]; concurrent writers
//! queue on SQLite's write lock (WAL, busy timeout).

use std::cell::Cell;
use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::types::{ToSqlOutput, Value};
use rusqlite::{Connection, ErrorCode, Row, ToSql, TransactionBehavior, params, params_from_iter};

use super::error::StoreError;
use super::sql::{Columns, Driver, Param};

/// Versioned migrations, embedded in the binary: (version, name, SQL).
/// Append only; a released migration never changes.
const MIGRATIONS: &[(u32, &str, &str)] = &[
    (
        1,
        "initial",
        include_str!("../../migrations/sqlite/0001_initial.sql"),
    ),
    (
        2,
        "replacements",
        include_str!("../../migrations/sqlite/0002_replacements.sql"),
    ),
    (
        3,
        "sms_delivery",
        include_str!("../../migrations/sqlite/0003_sms_delivery.sql"),
    ),
    (
        4,
        "one_active_token",
        include_str!("../../migrations/sqlite/0004_one_active_token.sql"),
    ),
];

/// How long a statement waits for another connection's write lock before
/// failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The newest schema this code knows.
pub(crate) fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// One connection to one SQLite file.
pub(crate) struct SqliteDb {
    conn: Connection,
    /// Inside a batch ([`Driver::begin_batch`]): each operation's transaction is a
    /// savepoint within the batch's, so the batch commits (and fsyncs) once.
    in_batch: Cell<bool>,
}

impl SqliteDb {
    /// Opens (creating) the file: WAL so readers never block the writer,
    /// `synchronous=FULL` so an accepted code's counter survives power loss
    /// (a lost commit would let the code be accepted again), a busy timeout
    /// so concurrent writers queue instead of failing; then migrates.
    pub fn open(path: &Path) -> Result<SqliteDb, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode = enable_wal(&conn)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Corrupt(format!(
                "journal mode is {mode}, WAL could not be enabled"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        // The hot statements are few; keep them all prepared.
        conn.set_prepared_statement_cache_capacity(64);
        migrate(&mut conn)?;
        Ok(SqliteDb {
            conn,
            in_batch: Cell::new(false),
        })
    }
}

impl ToSql for Param<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match *self {
            Param::Int(v) => v.map_or(ToSqlOutput::Owned(Value::Null), ToSqlOutput::from),
            Param::Text(v) => v.map_or(ToSqlOutput::Owned(Value::Null), ToSqlOutput::from),
            Param::Blob(v) => v.map_or(ToSqlOutput::Owned(Value::Null), ToSqlOutput::from),
            Param::Bool(v) => ToSqlOutput::from(v),
        })
    }
}

impl Columns for Row<'_> {
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get(i)?)
    }
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get(i)?)
    }
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get(i)?)
    }
    fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.get(i)?)
    }
}

impl Driver for SqliteDb {
    /// Under the write lock `begin` takes, so two first openers cannot both
    /// insert.
    const RECORD_SECRET: &'static str = "INSERT INTO store_secret_check (mac) \
         SELECT ?1 WHERE NOT EXISTS (SELECT 1 FROM store_secret_check)";

    /// Statements come from the connection's cache: parsed once, reused.
    fn execute(&self, sql: &'static str, params: &[Param<'_>]) -> Result<usize, StoreError> {
        Ok(self
            .conn
            .prepare_cached(sql)?
            .execute(params_from_iter(params))?)
    }

    fn query(
        &self,
        sql: &'static str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(&dyn Columns) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let mut statement = self.conn.prepare_cached(sql)?;
        let mut rows = statement.query(params_from_iter(params))?;
        while let Some(row) = rows.next()? {
            each(row)?;
        }
        Ok(())
    }

    /// `BEGIN IMMEDIATE`: the write lock at `BEGIN`. A deferred transaction
    /// that reads and then writes fails at once with "database is locked"
    /// when another connection committed in between (WAL cannot upgrade a
    /// stale snapshot), and the busy timeout does not help it. Inside a
    /// batch, a savepoint.
    fn begin(&self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch(if self.in_batch.get() {
            "SAVEPOINT op"
        } else {
            "BEGIN IMMEDIATE"
        })?)
    }

    fn commit(&self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch(if self.in_batch.get() {
            "RELEASE op"
        } else {
            "COMMIT"
        })?)
    }

    fn rollback(&self) -> Result<(), StoreError> {
        Ok(self.conn.execute_batch(if self.in_batch.get() {
            "ROLLBACK TO op; RELEASE op"
        } else {
            "ROLLBACK"
        })?)
    }

    /// Inside a batch each operation's transaction is a savepoint within
    /// the batch's, so the batch commits (and fsyncs) once.
    fn begin_batch(&self) -> Result<(), StoreError> {
        if self.in_batch.get() {
            return Err(StoreError::Corrupt("batch already open".to_owned()));
        }
        self.conn.execute_batch("BEGIN IMMEDIATE")?;
        self.in_batch.set(true);
        Ok(())
    }

    fn end_batch(&self, commit: bool) -> Result<(), StoreError> {
        self.in_batch.set(false);
        self.conn
            .execute_batch(if commit { "COMMIT" } else { "ROLLBACK" })?;
        Ok(())
    }

    fn defer_checkpoints(&self) -> Result<(), StoreError> {
        self.conn.pragma_update(None, "wal_autocheckpoint", 0)?;
        Ok(())
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        // Returns (busy, wal pages, pages checkpointed); nothing to act on.
        self.conn
            .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))?;
        Ok(())
    }
}

/// Switches the file to WAL and returns the journal mode it is in. While
/// another connection is switching the same fresh file, SQLite can answer
/// SQLITE_BUSY at once, without calling the busy handler, so the busy
/// timeout does not cover it: retry until that timeout has passed.
fn enable_wal(conn: &Connection) -> Result<String, StoreError> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0)) {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == ErrorCode::DatabaseBusy && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(5));
            }
            result => return Ok(result?),
        }
    }
}

/// Applies the migrations the file lacks, under an immediate (write-locked)
/// transaction so two processes opening a fresh file at once cannot both
/// migrate it. A file from newer code is refused: its schema may mean
/// something this code would get wrong.
fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER PRIMARY KEY NOT NULL,
             name TEXT NOT NULL
         ) STRICT",
        [],
    )?;
    let current: u32 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_version",
        [],
        |r| r.get(0),
    )?;
    let supported = latest_version();
    if current > supported {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported,
        });
    }
    for (version, name, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
        tx.execute_batch(sql)?;
        tx.execute(
            "INSERT INTO schema_version (version, name) VALUES (?1, ?2)",
            params![version, name],
        )?;
    }
    tx.commit()?;
    Ok(())
}
