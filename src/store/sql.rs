//! The store's SQL, written once for both backends, and every
//! [`Database`] method written once over a [`Driver`]: what a backend
//! must supply to run it (statements in, rows out, transactions).
//!
//! One dialect serves both: `?N` placeholders (PostgreSQL's driver turns
//! them into `$N` when it prepares a statement), `TRUE`/`FALSE`, upserts
//! by `ON CONFLICT`, ids by `RETURNING`, and `CAST(?N AS TEXT) IS NULL`
//! where PostgreSQL must be told a parameter's type. What differs stays in
//! `sqlite.rs` and `postgres.rs`: opening, migrations, transaction and
//! batch mechanics, binding values and reading columns.

use super::error::StoreError;
use super::rows::{
    AuditInsert, AuditSelect, Database, OutboxRow, ReplacementRow, SwapRows, TokenRow, UserRow,
    u64_to_sql,
};
use crate::verifier::TokenState;

/// A statement parameter. Few types cross the store's boundary, so one
/// enum lets a statement's values be written once for both drivers.
#[derive(Clone, Copy)]
pub(crate) enum Param<'a> {
    Int(Option<i64>),
    Text(Option<&'a str>),
    Blob(Option<&'a [u8]>),
    Bool(bool),
}

/// The kind only: a driver's error or log may show a parameter, and its
/// value can be a sealed key or a user code's HMAC.
impl std::fmt::Debug for Param<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Param::Int(_) => "Int(..)",
            Param::Text(_) => "Text(..)",
            Param::Blob(_) => "Blob(..)",
            Param::Bool(_) => "Bool(..)",
        })
    }
}

impl From<i64> for Param<'_> {
    fn from(v: i64) -> Self {
        Param::Int(Some(v))
    }
}

impl From<Option<i64>> for Param<'_> {
    fn from(v: Option<i64>) -> Self {
        Param::Int(v)
    }
}

impl From<bool> for Param<'_> {
    fn from(v: bool) -> Self {
        Param::Bool(v)
    }
}

impl<'a> From<&'a str> for Param<'a> {
    fn from(v: &'a str) -> Self {
        Param::Text(Some(v))
    }
}

impl<'a> From<Option<&'a str>> for Param<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Param::Text(v)
    }
}

impl<'a> From<&'a String> for Param<'a> {
    fn from(v: &'a String) -> Self {
        Param::Text(Some(v))
    }
}

impl<'a> From<&'a Option<String>> for Param<'a> {
    fn from(v: &'a Option<String>) -> Self {
        Param::Text(v.as_deref())
    }
}

impl<'a> From<&'a [u8]> for Param<'a> {
    fn from(v: &'a [u8]) -> Self {
        Param::Blob(Some(v))
    }
}

impl<'a> From<&'a Vec<u8>> for Param<'a> {
    fn from(v: &'a Vec<u8>) -> Self {
        Param::Blob(Some(v))
    }
}

impl<'a> From<&'a Option<Vec<u8>>> for Param<'a> {
    fn from(v: &'a Option<Vec<u8>>) -> Self {
        Param::Blob(v.as_deref())
    }
}

/// `&[Param]` from values of the types above.
macro_rules! params {
    ($($value:expr),* $(,)?) => {
        &[$(Param::from($value)),*] as &[Param<'_>]
    };
}

/// One result row, read by column index.
pub(crate) trait Columns {
    fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError>;
    fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError>;
    fn opt_blob(&self, i: usize) -> Result<Option<Vec<u8>>, StoreError>;
    fn bool(&self, i: usize) -> Result<bool, StoreError>;

    fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?.ok_or_else(|| null_column(i))
    }
    fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| null_column(i))
    }
    fn blob(&self, i: usize) -> Result<Vec<u8>, StoreError> {
        self.opt_blob(i)?.ok_or_else(|| null_column(i))
    }
}

fn null_column(i: usize) -> StoreError {
    StoreError::Corrupt(format!("column {i} is NULL"))
}

/// What a backend supplies for the SQL below to run on it. Statements are
/// `'static`, so a driver may key its prepared-statement cache on them.
pub(crate) trait Driver: Send {
    /// Records the secret's check value (`?1`) unless one is there. The
    /// schemas differ here: SQLite's table has no `id` to conflict on.
    const RECORD_SECRET: &'static str;

    /// Runs a statement; rows changed.
    fn execute(&self, sql: &'static str, params: &[Param<'_>]) -> Result<usize, StoreError>;
    /// Runs a query, handing each row to `each`.
    fn query(
        &self,
        sql: &'static str,
        params: &[Param<'_>],
        each: &mut dyn FnMut(&dyn Columns) -> Result<(), StoreError>,
    ) -> Result<(), StoreError>;

    /// Opens an operation's write transaction (within a batch, if one is
    /// open); [`commit`](Self::commit) or [`rollback`](Self::rollback)
    /// closes it.
    fn begin(&self) -> Result<(), StoreError>;
    fn commit(&self) -> Result<(), StoreError>;
    fn rollback(&self) -> Result<(), StoreError>;

    /// See [`Database::begin_batch`].
    fn begin_batch(&self) -> Result<(), StoreError>;
    fn end_batch(&self, commit: bool) -> Result<(), StoreError>;
    /// See [`Database::defer_checkpoints`].
    fn defer_checkpoints(&self) -> Result<(), StoreError>;
    fn checkpoint(&self) -> Result<(), StoreError>;
}

/// The token columns in the order [`TokenRow`] lists them.
macro_rules! token_columns {
    () => {
        "serial, model, algorithm, digits, step, t0, key_ciphertext, key_nonce, \
         next_counter, drift_steps, failures, locked, status, username"
    };
}

/// The outbox columns in the order [`OutboxRow`] lists them.
macro_rules! outbox_columns {
    () => {
        "id, phone, sent_at_unix_nanos, code_ciphertext, code_nonce, message_key, status, \
         tries, next_try_at_unix_nanos, username, serial"
    };
}

/// The replacement columns in the order [`ReplacementRow`] lists them.
macro_rules! replacement_columns {
    () => {
        "id, username, old_serial, started_at_unix_nanos, stage, sms_code_ciphertext, \
         sms_code_nonce, sms_sent_at_unix_nanos, sms_tries_left, new_serial, new_model, \
         failure_reason, version"
    };
}

const SECRET_CHECK: &str = "SELECT mac FROM store_secret_check";
const INSERT_TOKEN: &str = concat!(
    "INSERT INTO tokens (",
    token_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
     ON CONFLICT (serial) DO NOTHING"
);
const INSERT_USER: &str = "INSERT INTO users (username, phone, user_code_lookup, password_phc) \
     VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING";
const PING: &str = "SELECT 1";
const USER_EXISTS: &str = "SELECT 1 FROM users WHERE username = ?1";
const LOOKUP_EXISTS: &str = "SELECT 1 FROM users WHERE user_code_lookup = ?1";
const USER: &str = "SELECT username, phone, user_code_lookup, password_phc FROM users \
     WHERE username = ?1";
const USER_BY_LOOKUP: &str = "SELECT username, phone, user_code_lookup, password_phc FROM users \
     WHERE user_code_lookup = ?1";
const TOKEN_EXISTS: &str = "SELECT 1 FROM tokens WHERE serial = ?1";
const TOKEN: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM tokens WHERE serial = ?1"
);
const TOKENS: &str = concat!(
    "SELECT ",
    token_columns!(),
    " FROM tokens WHERE CAST(?1 AS TEXT) IS NULL OR username = ?1 ORDER BY serial"
);
const ACTIVE_TOKEN_OF: &str = "SELECT serial FROM tokens WHERE username = ?1 \
     AND status = 'active' ORDER BY serial LIMIT 1";
/// Binds a free token to a user who holds no active token: both
/// conditions in the statement, so a check made before it cannot go stale.
const ASSIGN: &str = "UPDATE tokens SET status = 'active', username = ?1 \
     WHERE serial = ?2 AND username IS NULL AND status IN ('unassigned', 'active') \
     AND NOT EXISTS (SELECT 1 FROM tokens AS held \
     WHERE held.username = ?1 AND held.status = 'active')";
/// The compare-and-set on the four state columns.
const SET_STATE_WHERE: &str = "UPDATE tokens \
     SET next_counter = ?1, drift_steps = ?2, failures = ?3, locked = ?4 \
     WHERE serial = ?5 AND next_counter = ?6 AND drift_steps = ?7 \
     AND failures = ?8 AND locked = ?9";
const RETIRE: &str = "UPDATE tokens SET status = 'replaced' \
     WHERE serial = ?1 AND username = ?2 AND status = 'active'";
const BIND: &str = "UPDATE tokens SET status = 'active', username = ?1, \
     next_counter = ?2, drift_steps = ?3, failures = ?4, locked = ?5 \
     WHERE serial = ?6 AND username IS NULL AND status IN ('unassigned', 'active') \
     AND next_counter = ?7 AND drift_steps = ?8 AND failures = ?9 AND locked = ?10";
const INSERT_REPLACEMENT: &str = concat!(
    "INSERT INTO replacements (",
    replacement_columns!(),
    ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
);
const REPLACEMENT: &str = concat!(
    "SELECT ",
    replacement_columns!(),
    " FROM replacements WHERE id = ?1"
);
/// The compare-and-set on an attempt's version.
const SET_REPLACEMENT_WHERE: &str = "UPDATE replacements SET stage = ?1, \
     sms_code_ciphertext = ?2, sms_code_nonce = ?3, sms_sent_at_unix_nanos = ?4, \
     sms_tries_left = ?5, new_serial = ?6, new_model = ?7, failure_reason = ?8, \
     version = version + 1 WHERE id = ?9 AND version = ?10";
const INSERT_SMS: &str = "INSERT INTO sms_outbox (phone, sent_at_unix_nanos, \
     code_ciphertext, code_nonce, message_key, status, tries, next_try_at_unix_nanos, \
     username, serial) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
const SMS_OUTBOX: &str = concat!(
    "SELECT ",
    outbox_columns!(),
    " FROM sms_outbox WHERE CAST(?1 AS TEXT) IS NULL OR phone = ?1 ORDER BY id"
);
const DUE_SMS: &str = concat!(
    "SELECT ",
    outbox_columns!(),
    " FROM sms_outbox WHERE status = 'queued' \
     AND (next_try_at_unix_nanos IS NULL OR next_try_at_unix_nanos <= ?1) ORDER BY id LIMIT ?2"
);
/// A dispatcher's claim on one try, by compare-and-set on `tries`.
const CLAIM_SMS: &str = "UPDATE sms_outbox SET tries = tries + 1, next_try_at_unix_nanos = ?3 \
     WHERE id = ?1 AND tries = ?2 AND status = 'queued'";
/// Only while the settling try's claim is the latest: a try that outlived
/// its claim cannot overwrite what a later try found.
const SETTLE_SMS: &str = "UPDATE sms_outbox SET status = ?2, next_try_at_unix_nanos = ?3 \
     WHERE id = ?1 AND tries = ?4 AND status = 'queued'";
const INSERT_AUDIT: &str = "INSERT INTO audit \
     (at_unix_nanos, action, serial, username, outcome, reason) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6) RETURNING id";
const AUDIT: &str = "SELECT id, at_unix_nanos, action, serial, username, outcome, reason \
     FROM audit ORDER BY id DESC LIMIT ?1";

/// `?N` placeholders as PostgreSQL's `$N`, outside quoted literals and
/// identifiers.
pub(crate) fn dollar_placeholders(sql: &str) -> String {
    let mut quote = None;
    sql.chars()
        .map(|c| match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                c
            }
            (Some(q), _) if q == c => {
                quote = None;
                c
            }
            (None, '?') => '$',
            _ => c,
        })
        .collect()
}

/// An operation's transaction. Dropped without [`commit`](Self::commit)
/// (an error or a panic on the way), it rolls back.
struct Tx<'a, D: Driver> {
    driver: &'a D,
    open: bool,
}

impl<'a, D: Driver> Tx<'a, D> {
    fn begin(driver: &'a D) -> Result<Self, StoreError> {
        driver.begin()?;
        Ok(Tx { driver, open: true })
    }

    fn commit(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.driver.commit()
    }

    fn rollback(mut self) -> Result<(), StoreError> {
        self.open = false;
        self.driver.rollback()
    }
}

impl<D: Driver> Drop for Tx<'_, D> {
    fn drop(&mut self) {
        if self.open {
            // An error here surfaces at the connection's next statement;
            // nothing better to do in a destructor.
            let _ = self.driver.rollback();
        }
    }
}

fn query_all<D: Driver, T>(
    driver: &D,
    sql: &'static str,
    params: &[Param<'_>],
    map: impl Fn(&dyn Columns) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut rows = Vec::new();
    driver.query(sql, params, &mut |row| {
        rows.push(map(row)?);
        Ok(())
    })?;
    Ok(rows)
}

/// The first row, if any (every caller's query has at most one).
fn query_opt<D: Driver, T>(
    driver: &D,
    sql: &'static str,
    params: &[Param<'_>],
    map: impl Fn(&dyn Columns) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    let mut first = None;
    driver.query(sql, params, &mut |row| {
        if first.is_none() {
            first = Some(map(row)?);
        }
        Ok(())
    })?;
    Ok(first)
}

fn exists<D: Driver>(driver: &D, sql: &'static str, key: Param<'_>) -> Result<bool, StoreError> {
    Ok(query_opt(driver, sql, &[key], |_| Ok(()))?.is_some())
}

fn insert_audit<D: Driver>(driver: &D, entry: &AuditInsert<'_>) -> Result<i64, StoreError> {
    query_opt(
        driver,
        INSERT_AUDIT,
        params![
            u64_to_sql(entry.at_unix_nanos),
            entry.action,
            entry.serial,
            entry.username,
            entry.outcome,
            entry.reason,
        ],
        |r| r.int(0),
    )?
    .ok_or_else(|| StoreError::Corrupt("audit insert returned no id".to_owned()))
}

fn set_state_where<D: Driver>(
    driver: &D,
    serial: &str,
    previous: &TokenState,
    new: &TokenState,
) -> Result<usize, StoreError> {
    driver.execute(
        SET_STATE_WHERE,
        params![
            u64_to_sql(new.next_counter),
            new.drift_steps,
            i64::from(new.failures),
            new.locked,
            serial,
            u64_to_sql(previous.next_counter),
            previous.drift_steps,
            i64::from(previous.failures),
            previous.locked,
        ],
    )
}

fn set_replacement_where<D: Driver>(driver: &D, row: &ReplacementRow) -> Result<usize, StoreError> {
    driver.execute(
        SET_REPLACEMENT_WHERE,
        params![
            &row.stage,
            &row.sms_code_ciphertext,
            &row.sms_code_nonce,
            row.sms_sent_at,
            row.sms_tries_left,
            &row.new_serial,
            &row.new_model,
            &row.failure_reason,
            &row.id,
            row.version,
        ],
    )
}

fn token_row(r: &dyn Columns) -> Result<TokenRow, StoreError> {
    Ok(TokenRow {
        serial: r.text(0)?,
        model: r.text(1)?,
        algorithm: r.text(2)?,
        digits: r.int(3)?,
        step: r.opt_int(4)?,
        t0: r.opt_int(5)?,
        key_ciphertext: r.blob(6)?,
        key_nonce: r.blob(7)?,
        next_counter: r.int(8)?,
        drift_steps: r.int(9)?,
        failures: r.int(10)?,
        locked: r.bool(11)?,
        status: r.text(12)?,
        username: r.opt_text(13)?,
    })
}

fn user_row(r: &dyn Columns) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        username: r.text(0)?,
        phone: r.text(1)?,
        user_code_lookup: r.blob(2)?,
        password_phc: r.text(3)?,
    })
}

fn outbox_row(r: &dyn Columns) -> Result<OutboxRow, StoreError> {
    Ok(OutboxRow {
        id: r.int(0)?,
        phone: r.text(1)?,
        sent_at: r.int(2)?,
        code_ciphertext: r.blob(3)?,
        code_nonce: r.blob(4)?,
        key: r.opt_text(5)?,
        status: r.text(6)?,
        tries: r.int(7)?,
        next_try_at: r.opt_int(8)?,
        username: r.opt_text(9)?,
        serial: r.opt_text(10)?,
    })
}

fn replacement_row(r: &dyn Columns) -> Result<ReplacementRow, StoreError> {
    Ok(ReplacementRow {
        id: r.text(0)?,
        username: r.text(1)?,
        old_serial: r.text(2)?,
        started_at: r.int(3)?,
        stage: r.text(4)?,
        sms_code_ciphertext: r.opt_blob(5)?,
        sms_code_nonce: r.opt_blob(6)?,
        sms_sent_at: r.opt_int(7)?,
        sms_tries_left: r.opt_int(8)?,
        new_serial: r.opt_text(9)?,
        new_model: r.opt_text(10)?,
        failure_reason: r.opt_text(11)?,
        version: r.int(12)?,
    })
}

impl<D: Driver> Database for D {
    fn check_secret(&self, check: &[u8; 32]) -> Result<(), StoreError> {
        let tx = Tx::begin(self)?;
        // The first opener records the check value; everyone compares.
        self.execute(D::RECORD_SECRET, params![check.as_slice()])?;
        let mac = query_opt(self, SECRET_CHECK, &[], |r| r.blob(0))?
            .ok_or_else(|| StoreError::Corrupt("store_secret_check is empty".to_owned()))?;
        tx.commit()?;
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
        let tx = Tx::begin(self)?;
        for row in rows {
            let inserted = self.execute(
                INSERT_TOKEN,
                params![
                    &row.serial,
                    &row.model,
                    &row.algorithm,
                    row.digits,
                    row.step,
                    row.t0,
                    &row.key_ciphertext,
                    &row.key_nonce,
                    row.next_counter,
                    row.drift_steps,
                    row.failures,
                    row.locked,
                    &row.status,
                    &row.username,
                ],
            )?;
            if inserted == 0 {
                tx.rollback()?;
                return Ok(Err(row.serial.clone()));
            }
        }
        for entry in audit {
            insert_audit(self, entry)?;
        }
        tx.commit()?;
        Ok(Ok(rows.len()))
    }

    fn insert_user(&self, row: &UserRow, audit: &AuditInsert<'_>) -> Result<bool, StoreError> {
        let tx = Tx::begin(self)?;
        let inserted = self.execute(
            INSERT_USER,
            params![
                &row.username,
                &row.phone,
                &row.user_code_lookup,
                &row.password_phc,
            ],
        )? == 1;
        if inserted {
            insert_audit(self, audit)?;
        }
        tx.commit()?;
        Ok(inserted)
    }

    fn ping(&self) -> Result<(), StoreError> {
        query_opt(self, PING, &[], |_| Ok(()))?;
        Ok(())
    }

    fn user_exists(&self, username: &str) -> Result<bool, StoreError> {
        exists(self, USER_EXISTS, username.into())
    }

    fn lookup_exists(&self, lookup: &[u8]) -> Result<bool, StoreError> {
        exists(self, LOOKUP_EXISTS, lookup.into())
    }

    fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        query_opt(self, USER, params![username], user_row)
    }

    fn user_by_lookup(&self, lookup: &[u8]) -> Result<Option<UserRow>, StoreError> {
        query_opt(self, USER_BY_LOOKUP, params![lookup], user_row)
    }

    fn token(&self, serial: &str) -> Result<Option<TokenRow>, StoreError> {
        query_opt(self, TOKEN, params![serial], token_row)
    }

    fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenRow>, StoreError> {
        query_all(self, TOKENS, params![username], token_row)
    }

    fn active_token_of(&self, username: &str) -> Result<Option<String>, StoreError> {
        query_opt(self, ACTIVE_TOKEN_OF, params![username], |r| r.text(0))
    }

    fn assign(
        &self,
        username: &str,
        serial: &str,
        audit: &AuditInsert<'_>,
    ) -> Result<usize, StoreError> {
        let tx = Tx::begin(self)?;
        let changed = self.execute(ASSIGN, params![username, serial])?;
        if changed == 1 {
            insert_audit(self, audit)?;
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
        let tx = Tx::begin(self)?;
        let changed = if previous == new {
            usize::from(exists(self, TOKEN_EXISTS, serial.into())?)
        } else {
            set_state_where(self, serial, previous, new)?
        };
        if changed == 1 {
            insert_audit(self, audit)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    fn swap_devices(
        &self,
        swap: &SwapRows<'_>,
        audit: &AuditInsert<'_>,
    ) -> Result<bool, StoreError> {
        let tx = Tx::begin(self)?;
        let retired = self.execute(RETIRE, params![swap.old, swap.username])?;
        let bound = self.execute(
            BIND,
            params![
                swap.username,
                u64_to_sql(swap.bound.next_counter),
                swap.bound.drift_steps,
                i64::from(swap.bound.failures),
                swap.bound.locked,
                swap.new,
                u64_to_sql(swap.shelf.next_counter),
                swap.shelf.drift_steps,
                i64::from(swap.shelf.failures),
                swap.shelf.locked,
            ],
        )?;
        let claimed = match swap.attempt {
            Some(row) => set_replacement_where(self, row)?,
            None => 1,
        };
        if retired == 1 && bound == 1 && claimed == 1 {
            insert_audit(self, audit)?;
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
        let tx = Tx::begin(self)?;
        self.execute(
            INSERT_REPLACEMENT,
            params![
                &row.id,
                &row.username,
                &row.old_serial,
                row.started_at,
                &row.stage,
                &row.sms_code_ciphertext,
                &row.sms_code_nonce,
                row.sms_sent_at,
                row.sms_tries_left,
                &row.new_serial,
                &row.new_model,
                &row.failure_reason,
                row.version,
            ],
        )?;
        for audit in audit {
            insert_audit(self, audit)?;
        }
        if let Some(sms) = sms {
            self.execute(
                INSERT_SMS,
                params![
                    &sms.phone,
                    sms.sent_at,
                    &sms.code_ciphertext,
                    &sms.code_nonce,
                    &sms.key,
                    &sms.status,
                    sms.tries,
                    sms.next_try_at,
                    &sms.username,
                    &sms.serial,
                ],
            )?;
        }
        tx.commit()
    }

    fn replacement(&self, id: &str) -> Result<Option<ReplacementRow>, StoreError> {
        query_opt(self, REPLACEMENT, params![id], replacement_row)
    }

    fn update_replacement(
        &self,
        row: &ReplacementRow,
        audit: Option<&AuditInsert<'_>>,
    ) -> Result<bool, StoreError> {
        let tx = Tx::begin(self)?;
        let changed = set_replacement_where(self, row)? == 1;
        if let (true, Some(audit)) = (changed, audit) {
            insert_audit(self, audit)?;
        }
        tx.commit()?;
        Ok(changed)
    }

    fn sms_outbox(&self, phone: Option<&str>) -> Result<Vec<OutboxRow>, StoreError> {
        query_all(self, SMS_OUTBOX, params![phone], outbox_row)
    }

    fn due_sms(&self, now: i64, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        query_all(self, DUE_SMS, params![now, i64::from(limit)], outbox_row)
    }

    fn claim_sms(&self, id: i64, tries: i64, until: i64) -> Result<bool, StoreError> {
        Ok(self.execute(CLAIM_SMS, params![id, tries, until])? == 1)
    }

    fn settle_sms(
        &self,
        id: i64,
        tries: i64,
        status: &str,
        next_try_at: Option<i64>,
        audit: &AuditInsert<'_>,
    ) -> Result<bool, StoreError> {
        let tx = Tx::begin(self)?;
        let settled = self.execute(SETTLE_SMS, params![id, status, next_try_at, tries])? == 1;
        if settled {
            insert_audit(self, audit)?;
        }
        tx.commit()?;
        Ok(settled)
    }

    fn begin_batch(&self) -> Result<(), StoreError> {
        Driver::begin_batch(self)
    }

    fn end_batch(&self, commit: bool) -> Result<(), StoreError> {
        Driver::end_batch(self, commit)
    }

    fn defer_checkpoints(&self) -> Result<(), StoreError> {
        Driver::defer_checkpoints(self)
    }

    fn checkpoint(&self) -> Result<(), StoreError> {
        Driver::checkpoint(self)
    }

    fn append_audit(&self, entry: &AuditInsert<'_>) -> Result<i64, StoreError> {
        insert_audit(self, entry)
    }

    fn audit(&self, limit: u32) -> Result<Vec<AuditSelect>, StoreError> {
        query_all(self, AUDIT, params![i64::from(limit)], |r| {
            Ok(AuditSelect {
                id: r.int(0)?,
                at_unix_nanos: r.int(1)?,
                action: r.text(2)?,
                serial: r.opt_text(3)?,
                username: r.opt_text(4)?,
                outcome: r.text(5)?,
                reason: r.opt_text(6)?,
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::dollar_placeholders;

    #[test]
    fn placeholders_become_dollars_outside_quotes() {
        assert_eq!(
            dollar_placeholders("SELECT '?1', \"a?\" FROM t WHERE a = ?1 AND b = ?12"),
            "SELECT '?1', \"a?\" FROM t WHERE a = $1 AND b = $12"
        );
    }
}
