//! The SQLite backend: SQL only. Rows go in and out as plain values
//! ([`TokenRow`], [`UserRow`]); encryption and domain types live one level
//! up, so a PostgreSQL backend only has to provide the same operations.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};

use super::error::StoreError;
use crate::verifier::TokenState;

/// Versioned migrations, embedded in the binary: (version, name, SQL).
/// Append only; a released migration never changes.
const MIGRATIONS: &[(u32, &str, &str)] = &[(
    1,
    "initial",
    include_str!("../../migrations/sqlite/0001_initial.sql"),
)];

/// How long a statement waits for another connection's write lock before
/// failing with "database is locked".
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The newest schema this code knows.
pub(crate) fn latest_version() -> u32 {
    MIGRATIONS.last().map_or(0, |m| m.0)
}

/// SQLite's INTEGER is an i64: a u64 is stored as the i64 with the same
/// bits. Equality, all the compare-and-set needs, survives the bijection.
pub(crate) fn u64_to_sql(v: u64) -> i64 {
    i64::from_ne_bytes(v.to_ne_bytes())
}

pub(crate) fn u64_from_sql(v: i64) -> u64 {
    u64::from_ne_bytes(v.to_ne_bytes())
}

/// A token row as stored.
pub(crate) struct TokenRow {
    pub serial: String,
    pub model: String,
    pub algorithm: String,
    pub digits: i64,
    pub step: Option<i64>,
    pub t0: Option<i64>,
    pub key_ciphertext: Vec<u8>,
    pub key_nonce: Vec<u8>,
    pub next_counter: i64,
    pub drift_steps: i64,
    pub failures: i64,
    pub locked: bool,
    pub status: String,
    pub username: Option<String>,
}

pub(crate) struct UserRow {
    pub username: String,
    pub phone: String,
    pub user_code_lookup: Vec<u8>,
    pub password_phc: String,
}

pub(crate) struct AuditInsert<'a> {
    pub at_unix_nanos: u64,
    pub action: &'a str,
    pub serial: Option<&'a str>,
    pub username: Option<&'a str>,
    pub outcome: &'a str,
    pub reason: Option<&'a str>,
}

pub(crate) struct AuditSelect {
    pub id: i64,
    pub at_unix_nanos: i64,
    pub action: String,
    pub serial: Option<String>,
    pub username: Option<String>,
    pub outcome: String,
    pub reason: Option<String>,
}

const TOKEN_COLUMNS: &str = "serial, model, algorithm, digits, step, t0, key_ciphertext, \
     key_nonce, next_counter, drift_steps, failures, locked, status, username";

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

/// One connection to one SQLite file.
pub(crate) struct SqliteDb {
    conn: Connection,
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
        migrate(&mut conn)?;
        Ok(SqliteDb { conn })
    }

    /// A transaction that takes the write lock at `BEGIN`. A deferred one
    /// that reads and then writes fails at once with "database is locked"
    /// when another connection committed in between (WAL cannot upgrade a
    /// stale snapshot), and the busy timeout does not help it.
    fn write_transaction(&self) -> rusqlite::Result<Transaction<'_>> {
        Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate)
    }

    /// Records the secret's check value on first use; afterwards compares.
    pub fn check_secret(&self, check: &[u8; 32]) -> Result<(), StoreError> {
        let tx = self.write_transaction()?;
        let stored: Option<Vec<u8>> = tx
            .query_row("SELECT mac FROM store_secret_check", [], |r| r.get(0))
            .optional()?;
        match stored {
            Some(mac) if subtle::ConstantTimeEq::ct_eq(mac.as_slice(), check.as_slice()).into() => {
            }
            Some(_) => return Err(StoreError::WrongSecret),
            None => {
                tx.execute(
                    "INSERT INTO store_secret_check (mac) VALUES (?1)",
                    [check.as_slice()],
                )?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Inserts all rows in one transaction; `Ok(Err(serial))` names the first
    /// serial already present and nothing is written.
    pub fn insert_tokens(&self, rows: &[TokenRow]) -> Result<Result<usize, String>, StoreError> {
        let tx = self.write_transaction()?;
        for row in rows {
            let exists = tx
                .query_row(
                    "SELECT 1 FROM tokens WHERE serial = ?1",
                    [&row.serial],
                    |_| Ok(()),
                )
                .optional()?;
            if exists.is_some() {
                return Ok(Err(row.serial.clone()));
            }
            tx.execute(
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
        tx.commit()?;
        Ok(Ok(rows.len()))
    }

    pub fn insert_user(&self, row: &UserRow) -> rusqlite::Result<()> {
        self.conn.execute(
            "INSERT INTO users (username, phone, user_code_lookup, password_phc) \
             VALUES (?1, ?2, ?3, ?4)",
            params![
                row.username,
                row.phone,
                row.user_code_lookup,
                row.password_phc
            ],
        )?;
        Ok(())
    }

    pub fn user_exists(&self, username: &str) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM users WHERE username = ?1",
                [username],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn lookup_exists(&self, lookup: &[u8]) -> rusqlite::Result<bool> {
        Ok(self
            .conn
            .query_row(
                "SELECT 1 FROM users WHERE user_code_lookup = ?1",
                [lookup],
                |_| Ok(()),
            )
            .optional()?
            .is_some())
    }

    pub fn user(&self, username: &str) -> rusqlite::Result<Option<UserRow>> {
        self.conn
            .query_row(
                "SELECT username, phone, user_code_lookup, password_phc FROM users \
                 WHERE username = ?1",
                [username],
                user_row,
            )
            .optional()
    }

    pub fn user_by_lookup(&self, lookup: &[u8]) -> rusqlite::Result<Option<UserRow>> {
        self.conn
            .query_row(
                "SELECT username, phone, user_code_lookup, password_phc FROM users \
                 WHERE user_code_lookup = ?1",
                [lookup],
                user_row,
            )
            .optional()
    }

    pub fn token(&self, serial: &str) -> rusqlite::Result<Option<TokenRow>> {
        self.conn
            .query_row(
                &format!("SELECT {TOKEN_COLUMNS} FROM tokens WHERE serial = ?1"),
                [serial],
                token_row,
            )
            .optional()
    }

    pub fn tokens(&self, username: Option<&str>) -> rusqlite::Result<Vec<TokenRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {TOKEN_COLUMNS} FROM tokens \
             WHERE ?1 IS NULL OR username = ?1 ORDER BY serial"
        ))?;
        stmt.query_map([username], token_row)?.collect()
    }

    /// The serial of the user's active token, if any.
    pub fn active_token_of(&self, username: &str) -> rusqlite::Result<Option<String>> {
        self.conn
            .query_row(
                "SELECT serial FROM tokens WHERE username = ?1 AND status = 'active' \
                 ORDER BY serial LIMIT 1",
                [username],
                |r| r.get(0),
            )
            .optional()
    }

    /// Binds the token to the user, only if it is still assignable at the
    /// moment of writing (the checks before it were advisory, for the
    /// error message). Returns the rows changed: 0 means it was taken.
    pub fn assign(&self, username: &str, serial: &str) -> rusqlite::Result<usize> {
        self.conn.execute(
            "UPDATE tokens SET status = 'active', username = ?1 \
             WHERE serial = ?2 AND username IS NULL AND status IN ('unassigned', 'active')",
            params![username, serial],
        )
    }

    /// The compare-and-set: writes `new` only where the row still holds
    /// `previous`. Returns the rows changed, 0 or 1.
    pub fn compare_and_set(
        &self,
        serial: &str,
        previous: &TokenState,
        new: &TokenState,
    ) -> rusqlite::Result<usize> {
        self.conn.execute(
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

    /// [`compare_and_set`](Self::compare_and_set) and the audit row in one
    /// transaction: a decision is never written without its audit row, and
    /// a lost race writes neither.
    pub fn compare_and_set_audited(
        &self,
        serial: &str,
        previous: &TokenState,
        new: &TokenState,
        entry: &AuditInsert<'_>,
    ) -> rusqlite::Result<usize> {
        let tx = self.write_transaction()?;
        let changed = if previous == new {
            1
        } else {
            self.compare_and_set(serial, previous, new)?
        };
        if changed == 1 {
            self.append_audit(entry)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    pub fn unlock(&self, serial: &str) -> rusqlite::Result<usize> {
        self.conn.execute(
            "UPDATE tokens SET failures = 0, locked = 0 WHERE serial = ?1",
            [serial],
        )
    }

    pub fn append_audit(&self, entry: &AuditInsert<'_>) -> rusqlite::Result<i64> {
        self.conn.execute(
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

    /// The newest `limit` audit rows, newest first.
    pub fn audit(&self, limit: u32) -> rusqlite::Result<Vec<AuditSelect>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, at_unix_nanos, action, serial, username, outcome, reason \
             FROM audit ORDER BY id DESC LIMIT ?1",
        )?;
        stmt.query_map([limit], |r| {
            Ok(AuditSelect {
                id: r.get(0)?,
                at_unix_nanos: r.get(1)?,
                action: r.get(2)?,
                serial: r.get(3)?,
                username: r.get(4)?,
                outcome: r.get(5)?,
                reason: r.get(6)?,
            })
        })?
        .collect()
    }

    #[cfg(test)]
    pub fn schema_versions(&self) -> rusqlite::Result<Vec<u32>> {
        let mut stmt = self
            .conn
            .prepare("SELECT version FROM schema_version ORDER BY version")?;
        stmt.query_map([], |r| r.get(0))?.collect()
    }

    #[cfg(test)]
    pub fn connection(&self) -> &Connection {
        &self.conn
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
