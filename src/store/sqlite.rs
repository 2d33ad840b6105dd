//! The SQLite backend: SQL only, rows in and out as plain values (see
//! `rows.rs`). One connection per [`SqliteDb`]; concurrent writers queue on
//! SQLite's write lock (WAL, busy timeout).

use std::path::Path;
use std::time::Duration;

use std::cell::Cell;

use rusqlite::{Connection, OptionalExtension, Params, Row, TransactionBehavior, params};

use super::error::StoreError;
use super::rows::{
    AuditInsert, AuditSelect, Database, OUTBOX_COLUMNS, OutboxRow, REPLACEMENT_COLUMNS,
    ReplacementRow, SwapRows, TOKEN_COLUMNS, TokenRow, UserRow, u64_to_sql,
};
use crate::verifier::TokenState;

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
];

/// How long a statement waits for another connection's write lock before
/// failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The newest schema this code knows.
pub(crate) fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

fn token_row(row: &Row<'_>) -> rusqlite::Result<TokenRow> {
    Ok(TokenRow {
        serial: row.get(0)?,
        model: row.get(1)?,
        algorithm: row.get(2)?,
        digits: row.get(3)?,
        step: row.get(4)?,
        t0: row.get(5)?,
        key_ciphertext: row.get(6)?,
        key_nonce: row.get(7)?,
        next_counter: row.get(8)?,
        drift_steps: row.get(9)?,
        failures: row.get(10)?,
        locked: row.get(11)?,
        status: row.get(12)?,
        username: row.get(13)?,
    })
}

fn user_row(row: &Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        username: row.get(0)?,
        phone: row.get(1)?,
        user_code_lookup: row.get(2)?,
        password_phc: row.get(3)?,
    })
}

fn replacement_row(row: &Row<'_>) -> rusqlite::Result<ReplacementRow> {
    Ok(ReplacementRow {
        id: row.get(0)?,
        username: row.get(1)?,
        old_serial: row.get(2)?,
        started_at: row.get(3)?,
        stage: row.get(4)?,
        sms_code_ciphertext: row.get(5)?,
        sms_code_nonce: row.get(6)?,
        sms_sent_at: row.get(7)?,
        sms_tries_left: row.get(8)?,
        new_serial: row.get(9)?,
        new_model: row.get(10)?,
        failure_reason: row.get(11)?,
        version: row.get(12)?,
    })
}

/// One connection to one SQLite file.
pub(crate) struct SqliteDb {
    conn: Connection,
    /// Inside [`Database::begin_batch`]: each operation's transaction is a
    /// savepoint within the batch's, so the batch commits (and fsyncs) once.
    in_batch: Cell<bool>,
}

/// An operation's write transaction: `BEGIN IMMEDIATE … COMMIT`, or inside
/// a batch `SAVEPOINT … RELEASE`. Dropped without `commit`, it rolls back.
struct Tx<'a> {
    conn: &'a Connection,
    nested: bool,
    done: bool,
}

impl Tx<'_> {
    fn commit(mut self) -> rusqlite::Result<()> {
        self.done = true;
        self.conn
            .execute_batch(if self.nested { "RELEASE op" } else { "COMMIT" })
    }

    fn rollback(mut self) -> rusqlite::Result<()> {
        self.done = true;
        self.conn.execute_batch(self.undo())
    }

    fn undo(&self) -> &'static str {
        if self.nested {
            "ROLLBACK TO op; RELEASE op"
        } else {
            "ROLLBACK"
        }
    }
}

impl Drop for Tx<'_> {
    fn drop(&mut self) {
        if !self.done {
            // An error here leaves the connection in a transaction the next
            // BEGIN reports; nothing better to do in a destructor.
            let _ = self.conn.execute_batch(self.undo());
        }
    }
}

impl SqliteDb {
    /// Opens (creating) the file: WAL so readers never block the writer,
    /// `synchronous=FULL` so an accepted code's counter survives power loss
    /// (a lost commit would let the code be accepted again), a busy timeout
    /// so concurrent writers queue instead of failing; then migrates.
    pub fn open(path: &Path) -> Result<SqliteDb, StoreError> {
        let mut conn = Connection::open(path)?;
        conn.busy_timeout(BUSY_TIMEOUT)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
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

    /// A transaction that takes the write lock at `BEGIN`. A deferred one
    /// that reads and then writes fails at once with "database is locked"
    /// when another connection committed in between (WAL cannot upgrade a
    /// stale snapshot), and the busy timeout does not help it.
    fn write_transaction(&self) -> rusqlite::Result<Tx<'_>> {
        let nested = self.in_batch.get();
        self.conn.execute_batch(if nested {
            "SAVEPOINT op"
        } else {
            "BEGIN IMMEDIATE"
        })?;
        Ok(Tx {
            conn: &self.conn,
            nested,
            done: false,
        })
    }

    /// A statement from the connection's cache: parsed once, reused.
    fn execute<P: Params>(&self, sql: &str, params: P) -> rusqlite::Result<usize> {
        self.conn.prepare_cached(sql)?.execute(params)
    }

    fn query_opt<T, P: Params>(
        &self,
        sql: &str,
        params: P,
        f: impl FnOnce(&Row<'_>) -> rusqlite::Result<T>,
    ) -> rusqlite::Result<Option<T>> {
        self.conn
            .prepare_cached(sql)?
            .query_row(params, f)
            .optional()
    }

    /// The compare-and-set on the four state columns, inside the caller's
    /// transaction.
    fn set_state_where(
        &self,
        serial: &str,
        previous: &TokenState,
        new: &TokenState,
    ) -> rusqlite::Result<usize> {
        self.execute(
            "UPDATE tokens SET next_counter = ?1, drift_steps = ?2, failures = ?3, locked = ?4 \
             WHERE serial = ?5 AND next_counter = ?6 AND drift_steps = ?7 \
             AND failures = ?8 AND locked = ?9",
            params![
                u64_to_sql(new.next_counter),
                new.drift_steps,
                new.failures,
                new.locked,
                serial,
                u64_to_sql(previous.next_counter),
                previous.drift_steps,
                previous.failures,
                previous.locked,
            ],
        )
    }

    fn insert_audit(&self, entry: &AuditInsert<'_>) -> rusqlite::Result<i64> {
        self.execute(
            "INSERT INTO audit (at_unix_nanos, action, serial, username, outcome, reason) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                u64_to_sql(entry.at_unix_nanos),
                entry.action,
                entry.serial,
                entry.username,
                entry.outcome,
                entry.reason,
            ],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The compare-and-set on an attempt's version, inside the caller's
    /// transaction. Rows changed: 0 or 1.
    fn set_replacement_where(&self, row: &ReplacementRow) -> rusqlite::Result<usize> {
        self.execute(
            "UPDATE replacements SET stage = ?1, sms_code_ciphertext = ?2, sms_code_nonce = ?3, \
             sms_sent_at_unix_nanos = ?4, sms_tries_left = ?5, new_serial = ?6, new_model = ?7, \
             failure_reason = ?8, version = version + 1 WHERE id = ?9 AND version = ?10",
            params![
                row.stage,
                row.sms_code_ciphertext,
                row.sms_code_nonce,
                row.sms_sent_at,
                row.sms_tries_left,
                row.new_serial,
                row.new_model,
                row.failure_reason,
                row.id,
                row.version,
            ],
        )
    }

    fn exists(&self, sql: &str, value: &dyn rusqlite::ToSql) -> rusqlite::Result<bool> {
        Ok(self.query_opt(sql, [value], |_| Ok(()))?.is_some())
    }
}

impl SqliteDb {
    fn outbox_rows(&self, sql: &str, params: impl Params) -> Result<Vec<OutboxRow>, StoreError> {
        let mut stmt = self.conn.prepare_cached(sql)?;
        let rows = stmt.query_map(params, |r| {
            Ok(OutboxRow {
                id: r.get(0)?,
                phone: r.get(1)?,
                sent_at: r.get(2)?,
                code_ciphertext: r.get(3)?,
                code_nonce: r.get(4)?,
                key: r.get(5)?,
                status: r.get(6)?,
                tries: r.get(7)?,
                next_try_at: r.get(8)?,
                username: r.get(9)?,
                serial: r.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}

impl Database for SqliteDb {
    fn check_secret(&self, check: &[u8; 32]) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        let stored: Option<Vec<u8>> =
            self.query_opt("SELECT mac FROM store_secret_check", [], |r| r.get(0))?;
        match stored {
            Some(mac) if subtle::ConstantTimeEq::ct_eq(mac.as_slice(), check.as_slice()).into() => {
            }
            Some(_) => return Err(StoreError::WrongSecret),
            None => {
                self.execute(
                    "INSERT INTO store_secret_check (mac) VALUES (?1)",
                    [check.as_slice()],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn insert_tokens(
        &self,
        rows: &[TokenRow],
        audit: &[AuditInsert<'_>],
    ) -> Result<Result<usize, String>, StoreError> {
        let tx = self.write_transaction()?;
        for row in rows {
            if self.exists("SELECT 1 FROM tokens WHERE serial = ?1", &row.serial)? {
                return Ok(Err(row.serial.clone()));
            }
            self.execute(
                &format!(
                    "INSERT INTO tokens ({TOKEN_COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                ),
                params![
                    row.serial,
                    row.model,
                    row.algorithm,
                    row.digits,
                    row.step,
                    row.t0,
                    row.key_ciphertext,
                    row.key_nonce,
                    row.next_counter,
                    row.drift_steps,
                    row.failures,
                    row.locked,
                    row.status,
                    row.username,
                ],
            )?;
        }
        for entry in audit {
            self.insert_audit(entry)?;
        }
        tx.commit()?;
        Ok(Ok(rows.len()))
    }

    fn insert_user(&self, row: &UserRow, audit: &AuditInsert<'_>) -> Result<bool, StoreError> {
        let tx = self.write_transaction()?;
        let inserted = self.execute(
            "INSERT INTO users (username, phone, user_code_lookup, password_phc) \
             VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
            params![
                row.username,
                row.phone,
                row.user_code_lookup,
                row.password_phc
            ],
        )?;
        if inserted == 1 {
            self.insert_audit(audit)?;
        }
        tx.commit()?;
        Ok(inserted == 1)
    }

    fn ping(&self) -> Result<(), StoreError> {
        self.query_opt("SELECT 1", [], |_| Ok(()))?;
        Ok(())
    }

    fn user_exists(&self, username: &str) -> Result<bool, StoreError> {
        Ok(self.exists("SELECT 1 FROM users WHERE username = ?1", &username)?)
    }

    fn lookup_exists(&self, lookup: &[u8]) -> Result<bool, StoreError> {
        Ok(self.exists("SELECT 1 FROM users WHERE user_code_lookup = ?1", &lookup)?)
    }

    fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        Ok(self.query_opt(
            "SELECT username, phone, user_code_lookup, password_phc FROM users \
                 WHERE username = ?1",
            [username],
            user_row,
        )?)
    }

    fn user_by_lookup(&self, lookup: &[u8]) -> Result<Option<UserRow>, StoreError> {
        Ok(self.query_opt(
            "SELECT username, phone, user_code_lookup, password_phc FROM users \
                 WHERE user_code_lookup = ?1",
            [lookup],
            user_row,
        )?)
    }

    fn token(&self, serial: &str) -> Result<Option<TokenRow>, StoreError> {
        Ok(self.query_opt(
            &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE serial = ?1"),
            [serial],
            token_row,
        )?)
    }

    fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenRow>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens \
             WHERE ?1 IS NULL OR username = ?1 ORDER BY serial"
        ))?;
        Ok(stmt
            .query_map([username], token_row)?
            .collect::<rusqlite::Result<_>>()?)
    }

    fn active_token_of(&self, username: &str) -> Result<Option<String>, StoreError> {
        Ok(self.query_opt(
            "SELECT serial FROM tokens WHERE username = ?1 AND status = 'active' \
                 ORDER BY serial LIMIT 1",
            [username],
            |r| r.get(0),
        )?)
    }

    fn assign(
        &self,
        username: &str,
        serial: &str,
        audit: &AuditInsert<'_>,
    ) -> Result<usize, StoreError> {
        let tx = self.write_transaction()?;
        let changed = self.execute(
            "UPDATE tokens SET status = 'active', username = ?1 \
             WHERE serial = ?2 AND username IS NULL AND status IN ('unassigned', 'active')",
            params![username, serial],
        )?;
        if changed == 1 {
            self.insert_audit(audit)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    fn compare_and_set_audited(
        &self,
        serial: &str,
        previous: &TokenState,
        new: &TokenState,
        audit: &AuditInsert<'_>,
    ) -> Result<usize, StoreError> {
        let tx = self.write_transaction()?;
        let changed = if previous == new {
            usize::from(self.exists("SELECT 1 FROM tokens WHERE serial = ?1", &serial)?)
        } else {
            self.set_state_where(serial, previous, new)?
        };
        if changed == 1 {
            self.insert_audit(audit)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    fn swap_devices(
        &self,
        swap: &SwapRows<'_>,
        audit: &AuditInsert<'_>,
    ) -> Result<bool, StoreError> {
        let tx = self.write_transaction()?;
        let retired = self.execute(
            "UPDATE tokens SET status = 'replaced' \
             WHERE serial = ?1 AND username = ?2 AND status = 'active'",
            params![swap.old, swap.username],
        )?;
        let bound = self.execute(
            "UPDATE tokens SET status = 'active', username = ?1, \
             next_counter = ?2, drift_steps = ?3, failures = ?4, locked = ?5 \
             WHERE serial = ?6 AND username IS NULL AND status IN ('unassigned', 'active') \
             AND next_counter = ?7 AND drift_steps = ?8 AND failures = ?9 AND locked = ?10",
            params![
                swap.username,
                u64_to_sql(swap.bound.next_counter),
                swap.bound.drift_steps,
                swap.bound.failures,
                swap.bound.locked,
                swap.new,
                u64_to_sql(swap.shelf.next_counter),
                swap.shelf.drift_steps,
                swap.shelf.failures,
                swap.shelf.locked,
            ],
        )?;
        let claimed = match swap.attempt {
            Some(row) => self.set_replacement_where(row)?,
            None => 1,
        };
        if retired == 1 && bound == 1 && claimed == 1 {
            self.insert_audit(audit)?;
            tx.commit()?;
            Ok(true)
        } else {
            tx.rollback()?;
            Ok(false)
        }
    }

    fn insert_replacement(
        &self,
        row: &ReplacementRow,
        audit: &[AuditInsert<'_>],
        sms: Option<&OutboxRow>,
    ) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        self.execute(
            &format!(
                "INSERT INTO replacements ({REPLACEMENT_COLUMNS}) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
            ),
            params![
                row.id,
                row.username,
                row.old_serial,
                row.started_at,
                row.stage,
                row.sms_code_ciphertext,
                row.sms_code_nonce,
                row.sms_sent_at,
                row.sms_tries_left,
                row.new_serial,
                row.new_model,
                row.failure_reason,
                row.version,
            ],
        )?;
        for audit in audit {
            self.insert_audit(audit)?;
        }
        if let Some(sms) = sms {
            self.execute(
                "INSERT INTO sms_outbox (phone, sent_at_unix_nanos, code_ciphertext, code_nonce, \
                 message_key, status, tries, next_try_at_unix_nanos, username, serial) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    sms.phone,
                    sms.sent_at,
                    sms.code_ciphertext,
                    sms.code_nonce,
                    sms.key,
                    sms.status,
                    sms.tries,
                    sms.next_try_at,
                    sms.username,
                    sms.serial,
                ],
            )?;
        }
        tx.commit()?;
        Ok(())
    }

    fn replacement(&self, id: &str) -> Result<Option<ReplacementRow>, StoreError> {
        Ok(self.query_opt(
            &format!("SELECT {REPLACEMENT_COLUMNS} FROM replacements WHERE id = ?1"),
            [id],
            replacement_row,
        )?)
    }

    fn update_replacement(
        &self,
        row: &ReplacementRow,
        audit: Option<&AuditInsert<'_>>,
    ) -> Result<bool, StoreError> {
        let tx = self.write_transaction()?;
        let changed = self.set_replacement_where(row)? == 1;
        if let (true, Some(audit)) = (changed, audit) {
            self.insert_audit(audit)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    fn sms_outbox(&self, phone: Option<&str>) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_rows(
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM sms_outbox \
                 WHERE ?1 IS NULL OR phone = ?1 ORDER BY id"
            ),
            params![phone],
        )
    }

    fn due_sms(&self, now: i64, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        self.outbox_rows(
            &format!(
                "SELECT {OUTBOX_COLUMNS} FROM sms_outbox WHERE status = 'queued' \
                 AND (next_try_at_unix_nanos IS NULL OR next_try_at_unix_nanos <= ?1) \
                 ORDER BY id LIMIT ?2"
            ),
            params![now, limit],
        )
    }

    fn claim_sms(&self, id: i64, tries: i64, until: i64) -> Result<bool, StoreError> {
        let changed = self.execute(
            "UPDATE sms_outbox SET tries = tries + 1, next_try_at_unix_nanos = ?3 \
             WHERE id = ?1 AND tries = ?2 AND status = 'queued'",
            params![id, tries, until],
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
        let tx = self.write_transaction()?;
        self.execute(
            "UPDATE sms_outbox SET status = ?2, next_try_at_unix_nanos = ?3 WHERE id = ?1",
            params![id, status, next_try_at],
        )?;
        self.insert_audit(audit)?;
        tx.commit()?;
        Ok(())
    }

    fn unlock(&self, serial: &str, audit: &AuditInsert<'_>) -> Result<usize, StoreError> {
        let tx = self.write_transaction()?;
        let changed = self.execute(
            "UPDATE tokens SET failures = 0, locked = 0 WHERE serial = ?1",
            [serial],
        )?;
        if changed == 1 {
            self.insert_audit(audit)?;
        }
        tx.commit()?;
        Ok(changed)
    }

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

    fn append_audit(&self, entry: &AuditInsert<'_>) -> Result<i64, StoreError> {
        Ok(self.insert_audit(entry)?)
    }

    fn audit(&self, limit: u32) -> Result<Vec<AuditSelect>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at_unix_nanos, action, serial, username, outcome, reason \
             FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        let rows = stmt.query_map([limit], |r| {
            Ok(AuditSelect {
                id: r.get(0)?,
                at_unix_nanos: r.get(1)?,
                action: r.get(2)?,
                serial: r.get(3)?,
                username: r.get(4)?,
                outcome: r.get(5)?,
                reason: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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
