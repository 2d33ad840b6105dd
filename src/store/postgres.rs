//! The PostgreSQL backend: the same operations as `sqlite.rs` in
//! PostgreSQL's dialect, over one synchronous connection (the `postgres`
//! crate; no TLS: loopback or a trusted network).
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

use postgres::config::Host;
use postgres::types::ToSql;
use postgres::{Client, Config, GenericClient, NoTls, Row, Statement};

use super::error::StoreError;
use super::rows::{
    AuditInsert, AuditSelect, Database, OUTBOX_COLUMNS, OutboxRow, REPLACEMENT_COLUMNS,
    ReplacementRow, SwapRows, TOKEN_COLUMNS, TokenRow, UserRow, u64_to_sql,
};
use crate::verifier::TokenState;

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
];

/// The advisory lock key migrations run under, so two processes opening a
/// fresh database at once do not both create its tables. Arbitrary, fixed.
const MIGRATION_LOCK: i64 = 0x746f_6b65_6e72_6967; // "tokenrig"

/// How long connecting may take before the open fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One connection to one PostgreSQL database, with its prepared statements.
pub(crate) struct PgDb {
    client: RefCell<Client>,
    statements: RefCell<HashMap<String, Statement>>,
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

    /// The statement for `sql`, prepared once per connection: every
    /// verification runs the same handful, so this saves a round trip each.
    fn prepared(
        &self,
        client: &mut impl GenericClient,
        sql: &str,
    ) -> Result<Statement, StoreError> {
        if let Some(statement) = self.statements.borrow().get(sql) {
            return Ok(statement.clone());
        }
        let statement = client.prepare(sql)?;
        self.statements
            .borrow_mut()
            .insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }

    fn execute(
        &self,
        client: &mut impl GenericClient,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, StoreError> {
        let statement = self.prepared(client, sql)?;
        Ok(client.execute(&statement, params)?)
    }

    fn query_opt(
        &self,
        client: &mut impl GenericClient,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, StoreError> {
        let statement = self.prepared(client, sql)?;
        Ok(client.query_opt(&statement, params)?)
    }

    /// One statement outside any explicit transaction.
    fn outbox_rows(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let mut client = self.client.borrow_mut();
        let statement = self.prepared(&mut *client, sql)?;
        client
            .query(&statement, params)?
            .iter()
            .map(|r| {
                Ok(OutboxRow {
                    id: r.try_get(0)?,
                    phone: r.try_get(1)?,
                    sent_at: r.try_get(2)?,
                    code_ciphertext: r.try_get(3)?,
                    code_nonce: r.try_get(4)?,
                    key: r.try_get(5)?,
                    status: r.try_get(6)?,
                    tries: r.try_get(7)?,
                    next_try_at: r.try_get(8)?,
                    username: r.try_get(9)?,
                    serial: r.try_get(10)?,
                })
            })
            .collect()
    }

    fn read(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>, StoreError> {
        self.query_opt(&mut *self.client.borrow_mut(), sql, params)
    }

    fn insert_audit(
        &self,
        client: &mut impl GenericClient,
        entry: &AuditInsert<'_>,
    ) -> Result<i64, StoreError> {
        let row = self
            .query_opt(
                client,
                "INSERT INTO audit (at_unix_nanos, action, serial, username, outcome, reason) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                &[
                    &u64_to_sql(entry.at_unix_nanos),
                    &entry.action,
                    &entry.serial,
                    &entry.username,
                    &entry.outcome,
                    &entry.reason,
                ],
            )?
            .ok_or_else(|| StoreError::Corrupt("audit insert returned no id".to_owned()))?;
        Ok(row.try_get(0)?)
    }

    /// The compare-and-set on an attempt's version, inside the caller's
    /// transaction. Rows changed: 0 or 1.
    fn set_replacement_where(
        &self,
        client: &mut impl GenericClient,
        row: &ReplacementRow,
    ) -> Result<u64, StoreError> {
        self.execute(
            client,
            "UPDATE replacements SET stage = $1, sms_code_ciphertext = $2, sms_code_nonce = $3, \
             sms_sent_at_unix_nanos = $4, sms_tries_left = $5, new_serial = $6, new_model = $7, \
             failure_reason = $8, version = version + 1 WHERE id = $9 AND version = $10",
            &[
                &row.stage,
                &row.sms_code_ciphertext,
                &row.sms_code_nonce,
                &row.sms_sent_at,
                &row.sms_tries_left,
                &row.new_serial,
                &row.new_model,
                &row.failure_reason,
                &row.id,
                &row.version,
            ],
        )
    }

    /// Runs `body` in one transaction, committed when it returns
    /// `Ok(true)`, rolled back otherwise.
    fn transaction<T>(
        &self,
        body: impl FnOnce(&mut postgres::Transaction<'_>) -> Result<(T, bool), StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client.borrow_mut();
        let mut tx = client.transaction()?;
        let (value, commit) = body(&mut tx)?;
        if commit {
            tx.commit()?;
        } else {
            tx.rollback()?;
        }
        Ok(value)
    }
}

impl Database for PgDb {
    fn check_secret(&self, check: &[u8; 32]) -> Result<(), StoreError> {
        let mut client = self.client.borrow_mut();
        // First opener records the check value; everyone compares with it.
        self.execute(
            &mut *client,
            "INSERT INTO store_secret_check (id, mac) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
            &[&check.as_slice()],
        )?;
        let row = self
            .query_opt(
                &mut *client,
                "SELECT mac FROM store_secret_check WHERE id = 1",
                &[],
            )?
            .ok_or_else(|| StoreError::Corrupt("store_secret_check is empty".to_owned()))?;
        let mac: Vec<u8> = row.try_get(0)?;
        if subtle::ConstantTimeEq::ct_eq(mac.as_slice(), check.as_slice()).into() {
            Ok(())
        } else {
            Err(StoreError::WrongSecret)
        }
    }

    fn insert_tokens(
        &self,
        rows: &[TokenRow],
        audit: &[AuditInsert<'_>],
    ) -> Result<Result<usize, String>, StoreError> {
        let sql = format!(
            "INSERT INTO tokens ({TOKEN_COLUMNS}) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
             ON CONFLICT (serial) DO NOTHING"
        );
        self.transaction(|tx| {
            for row in rows {
                let inserted = self.execute(
                    tx,
                    &sql,
                    &[
                        &row.serial,
                        &row.model,
                        &row.algorithm,
                        &row.digits,
                        &row.step,
                        &row.t0,
                        &row.key_ciphertext,
                        &row.key_nonce,
                        &row.next_counter,
                        &row.drift_steps,
                        &row.failures,
                        &row.locked,
                        &row.status,
                        &row.username,
                    ],
                )?;
                if inserted == 0 {
                    return Ok((Err(row.serial.clone()), false));
                }
            }
            for entry in audit {
                self.insert_audit(tx, entry)?;
            }
            Ok((Ok(rows.len()), true))
        })
    }

    fn insert_user(&self, row: &UserRow, audit: &AuditInsert<'_>) -> Result<bool, StoreError> {
        self.transaction(|tx| {
            let inserted = self.execute(
                tx,
                "INSERT INTO users (username, phone, user_code_lookup, password_phc) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                &[
                    &row.username,
                    &row.phone,
                    &row.user_code_lookup,
                    &row.password_phc,
                ],
            )? == 1;
            if inserted {
                self.insert_audit(tx, audit)?;
            }
            Ok((inserted, inserted))
        })
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.read("SELECT 1", &[])?;
        Ok(())
    }

    fn user_exists(&self, username: &str) -> Result<bool, StoreError> {
        Ok(self
            .read("SELECT 1 FROM users WHERE username = $1", &[&username])?
            .is_some())
    }

    fn lookup_exists(&self, lookup: &[u8]) -> Result<bool, StoreError> {
        Ok(self
            .read(
                "SELECT 1 FROM users WHERE user_code_lookup = $1",
                &[&lookup],
            )?
            .is_some())
    }

    fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        self.read(
            "SELECT username, phone, user_code_lookup, password_phc FROM users \
             WHERE username = $1",
            &[&username],
        )?
        .map(|row| user_row(&row))
        .transpose()
    }

    fn user_by_lookup(&self, lookup: &[u8]) -> Result<Option<UserRow>, StoreError> {
        self.read(
            "SELECT username, phone, user_code_lookup, password_phc FROM users \
             WHERE user_code_lookup = $1",
            &[&lookup],
        )?
        .map(|row| user_row(&row))
        .transpose()
    }

    fn token(&self, serial: &str) -> Result<Option<TokenRow>, StoreError> {
        self.read(
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE serial = $1"),
            &[&serial],
        )?
        .map(|row| token_row(&row))
        .transpose()
    }

    fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenRow>, StoreError> {
        let mut client = self.client.borrow_mut();
        let statement = self.prepared(
            &mut *client,
            &format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens \
                 WHERE $1::TEXT IS NULL OR username = $1 ORDER BY serial"
            ),
        )?;
        client
            .query(&statement, &[&username])?
            .iter()
            .map(token_row)
            .collect()
    }

    fn active_token_of(&self, username: &str) -> Result<Option<String>, StoreError> {
        self.read(
            "SELECT serial FROM tokens WHERE username = $1 AND status = 'active' \
             ORDER BY serial LIMIT 1",
            &[&username],
        )?
        .map(|row| row.try_get(0).map_err(StoreError::from))
        .transpose()
    }

    fn assign(
        &self,
        username: &str,
        serial: &str,
        audit: &AuditInsert<'_>,
    ) -> Result<usize, StoreError> {
        self.transaction(|tx| {
            let changed = self.execute(
                tx,
                "UPDATE tokens SET status = 'active', username = $1 \
                 WHERE serial = $2 AND username IS NULL AND status IN ('unassigned', 'active')",
                &[&username, &serial],
            )?;
            if changed == 1 {
                self.insert_audit(tx, audit)?;
            }
            Ok((rows(changed), changed == 1))
        })
    }

    fn compare_and_set_audited(
        &self,
        serial: &str,
        previous: &TokenState,
        new: &TokenState,
        audit: &AuditInsert<'_>,
    ) -> Result<usize, StoreError> {
        self.transaction(|tx| {
            let changed = if previous == new {
                let found =
                    self.query_opt(tx, "SELECT 1 FROM tokens WHERE serial = $1", &[&serial])?;
                u64::from(found.is_some())
            } else {
                self.execute(
                    tx,
                    "UPDATE tokens SET next_counter = $1, drift_steps = $2, failures = $3, \
                     locked = $4 WHERE serial = $5 AND next_counter = $6 AND drift_steps = $7 \
                     AND failures = $8 AND locked = $9",
                    &[
                        &u64_to_sql(new.next_counter),
                        &new.drift_steps,
                        &i64::from(new.failures),
                        &new.locked,
                        &serial,
                        &u64_to_sql(previous.next_counter),
                        &previous.drift_steps,
                        &i64::from(previous.failures),
                        &previous.locked,
                    ],
                )?
            };
            if changed == 1 {
                self.insert_audit(tx, audit)?;
            }
            Ok((rows(changed), changed == 1))
        })
    }

    fn swap_devices(
        &self,
        swap: &SwapRows<'_>,
        audit: &AuditInsert<'_>,
    ) -> Result<bool, StoreError> {
        self.transaction(|tx| {
            let retired = self.execute(
                tx,
                "UPDATE tokens SET status = 'replaced' \
                 WHERE serial = $1 AND username = $2 AND status = 'active'",
                &[&swap.old, &swap.username],
            )?;
            let bound = self.execute(
                tx,
                "UPDATE tokens SET status = 'active', username = $1, \
                 next_counter = $2, drift_steps = $3, failures = $4, locked = $5 \
                 WHERE serial = $6 AND username IS NULL AND status IN ('unassigned', 'active') \
                 AND next_counter = $7 AND drift_steps = $8 AND failures = $9 AND locked = $10",
                &[
                    &swap.username,
                    &u64_to_sql(swap.bound.next_counter),
                    &swap.bound.drift_steps,
                    &i64::from(swap.bound.failures),
                    &swap.bound.locked,
                    &swap.new,
                    &u64_to_sql(swap.shelf.next_counter),
                    &swap.shelf.drift_steps,
                    &i64::from(swap.shelf.failures),
                    &swap.shelf.locked,
                ],
            )?;
            let claimed = match swap.attempt {
                Some(row) => self.set_replacement_where(tx, row)?,
                None => 1,
            };
            let done = retired == 1 && bound == 1 && claimed == 1;
            if done {
                self.insert_audit(tx, audit)?;
            }
            Ok((done, done))
        })
    }

    fn insert_replacement(
        &self,
        row: &ReplacementRow,
        audit: &[AuditInsert<'_>],
        sms: Option<&OutboxRow>,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| {
            self.execute(
                tx,
                &format!(
                    "INSERT INTO replacements ({REPLACEMENT_COLUMNS}) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
                ),
                &[
                    &row.id,
                    &row.username,
                    &row.old_serial,
                    &row.started_at,
                    &row.stage,
                    &row.sms_code_ciphertext,
                    &row.sms_code_nonce,
                    &row.sms_sent_at,
                    &row.sms_tries_left,
                    &row.new_serial,
                    &row.new_model,
                    &row.failure_reason,
                    &row.version,
                ],
            )?;
            for audit in audit {
                self.insert_audit(tx, audit)?;
            }
            if let Some(sms) = sms {
                self.execute(
                    tx,
                    "INSERT INTO sms_outbox (phone, sent_at_unix_nanos, code_ciphertext, \
                     code_nonce, message_key, status, tries, next_try_at_unix_nanos, \
                     username, serial) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                    &[
                        &sms.phone,
                        &sms.sent_at,
                        &sms.code_ciphertext,
                        &sms.code_nonce,
                        &sms.key,
                        &sms.status,
                        &sms.tries,
                        &sms.next_try_at,
                        &sms.username,
                        &sms.serial,
                    ],
                )?;
            }
            Ok(((), true))
        })
    }

    fn replacement(&self, id: &str) -> Result<Option<ReplacementRow>, StoreError> {
        self.read(
            &format!("SELECT {REPLACEMENT_COLUMNS} FROM replacements WHERE id = $1"),
            &[&id],
        )?
        .map(|row| replacement_row(&row))
        .transpose()
    }

    fn update_replacement(
        &self,
        row: &ReplacementRow,
        audit: Option<&AuditInsert<'_>>,
    ) -> Result<bool, StoreError> {
        self.transaction(|tx| {
            let changed = self.set_replacement_where(tx, row)? == 1;
            if let (true, Some(audit)) = (changed, audit) {
                self.insert_audit(tx, audit)?;
            }
            Ok((changed, changed))
        })
    }

    fn sms_outbox(&self, phone: Option<&str>) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_rows(
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM sms_outbox \
                 WHERE $1::TEXT IS NULL OR phone = $1 ORDER BY id"
            ),
            &[&phone],
        )
    }

    fn due_sms(&self, now: i64, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_rows(
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM sms_outbox WHERE status = 'queued' \
                 AND (next_try_at_unix_nanos IS NULL OR next_try_at_unix_nanos <= $1) \
                 ORDER BY id LIMIT $2"
            ),
            &[&now, &i64::from(limit)],
        )
    }

    fn claim_sms(&self, id: i64, tries: i64, until: i64) -> Result<bool, StoreError> {
        let changed = self.execute(
            &mut *self.client.borrow_mut(),
            "UPDATE sms_outbox SET tries = tries + 1, next_try_at_unix_nanos = $3 \
             WHERE id = $1 AND tries = $2 AND status = 'queued'",
            &[&id, &tries, &until],
        )?;
        Ok(changed == 1)
    }

    fn settle_sms(
        &self,
        id: i64,
        status: &str,
        next_try_at: Option<i64>,
        audit: &AuditInsert<'_>,
    ) -> Result<(), StoreError> {
        self.transaction(|tx| {
            self.execute(
                tx,
                "UPDATE sms_outbox SET status = $2, next_try_at_unix_nanos = $3 WHERE id = $1",
                &[&id, &status, &next_try_at],
            )?;
            self.insert_audit(tx, audit)?;
            Ok(((), true))
        })
    }

    fn unlock(&self, serial: &str, audit: &AuditInsert<'_>) -> Result<usize, StoreError> {
        self.transaction(|tx| {
            let changed = self.execute(
                tx,
                "UPDATE tokens SET failures = 0, locked = FALSE WHERE serial = $1",
                &[&serial],
            )?;
            if changed == 1 {
                self.insert_audit(tx, audit)?;
            }
            Ok((rows(changed), changed == 1))
        })
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

    fn append_audit(&self, entry: &AuditInsert<'_>) -> Result<i64, StoreError> {
        self.insert_audit(&mut *self.client.borrow_mut(), entry)
    }

    fn audit(&self, limit: u32) -> Result<Vec<AuditSelect>, StoreError> {
        let mut client = self.client.borrow_mut();
        let statement = self.prepared(
            &mut *client,
            "SELECT id, at_unix_nanos, action, serial, username, outcome, reason \
             FROM audit ORDER BY id DESC LIMIT $1",
        )?;
        client
            .query(&statement, &[&i64::from(limit)])?
            .iter()
            .map(|r| {
                Ok(AuditSelect {
                    id: r.try_get(0)?,
                    at_unix_nanos: r.try_get(1)?,
                    action: r.try_get(2)?,
                    serial: r.try_get(3)?,
                    username: r.try_get(4)?,
                    outcome: r.try_get(5)?,
                    reason: r.try_get(6)?,
                })
            })
            .collect()
    }
}

/// A row count from PostgreSQL (u64) as the trait's usize.
fn rows(n: u64) -> usize {
    usize::try_from(n).unwrap_or(usize::MAX)
}

fn token_row(row: &Row) -> Result<TokenRow, StoreError> {
    Ok(TokenRow {
        serial: row.try_get(0)?,
        model: row.try_get(1)?,
        algorithm: row.try_get(2)?,
        digits: row.try_get(3)?,
        step: row.try_get(4)?,
        t0: row.try_get(5)?,
        key_ciphertext: row.try_get(6)?,
        key_nonce: row.try_get(7)?,
        next_counter: row.try_get(8)?,
        drift_steps: row.try_get(9)?,
        failures: row.try_get(10)?,
        locked: row.try_get(11)?,
        status: row.try_get(12)?,
        username: row.try_get(13)?,
    })
}

fn replacement_row(row: &Row) -> Result<ReplacementRow, StoreError> {
    Ok(ReplacementRow {
        id: row.try_get(0)?,
        username: row.try_get(1)?,
        old_serial: row.try_get(2)?,
        started_at: row.try_get(3)?,
        stage: row.try_get(4)?,
        sms_code_ciphertext: row.try_get(5)?,
        sms_code_nonce: row.try_get(6)?,
        sms_sent_at: row.try_get(7)?,
        sms_tries_left: row.try_get(8)?,
        new_serial: row.try_get(9)?,
        new_model: row.try_get(10)?,
        failure_reason: row.try_get(11)?,
        version: row.try_get(12)?,
    })
}

fn user_row(row: &Row) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        username: row.try_get(0)?,
        phone: row.try_get(1)?,
        user_code_lookup: row.try_get(2)?,
        password_phc: row.try_get(3)?,
    })
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
