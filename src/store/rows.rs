//! What a backend moves: plain rows in and out, and the [`Database`] trait
//! the store calls (implemented once, in `sql.rs`, over either driver).
//! Nothing here knows about keys or domain types;
//! encryption and parsing live one level up in `mod.rs`.

use super::error::StoreError;
use crate::verifier::TokenState;

/// SQL's BIGINT is an i64: a u64 is stored as the i64 with the same bits.
/// Equality, all the compare-and-set needs, survives the bijection.
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

/// The device swap that completes a replacement: `old` (the user's active
/// token) becomes `replaced`, `new` (unowned, still in its `shelf` state)
/// becomes the user's active token in `bound` state.
pub(crate) struct SwapRows<'a> {
    pub username: &'a str,
    pub old: &'a str,
    pub new: &'a str,
    pub shelf: &'a TokenState,
    pub bound: &'a TokenState,
    /// The attempt that completes with the swap: written by the same
    /// compare-and-set as [`Database::update_replacement`], and the swap
    /// happens only if it matched.
    pub attempt: Option<&'a ReplacementRow>,
}

/// A device replacement attempt as stored (migration 0002). `version` is
/// the one read; an update writes `version + 1` where it still holds.
pub(crate) struct ReplacementRow {
    pub id: String,
    pub username: String,
    pub old_serial: String,
    pub started_at: i64,
    pub stage: String,
    pub sms_code_ciphertext: Option<Vec<u8>>,
    pub sms_code_nonce: Option<Vec<u8>>,
    pub sms_sent_at: Option<i64>,
    pub sms_tries_left: Option<i64>,
    pub new_serial: Option<String>,
    pub new_model: Option<String>,
    pub failure_reason: Option<String>,
    pub version: i64,
}

/// One message in the SMS outbox (migrations 0002, 0003): the code
/// sealed, the text rendered on read, and where its delivery stands.
pub(crate) struct OutboxRow {
    /// Assigned by the database; ignored on insert.
    pub id: i64,
    pub phone: String,
    /// When it was queued (the attempt step's time).
    pub sent_at: i64,
    pub code_ciphertext: Vec<u8>,
    pub code_nonce: Vec<u8>,
    /// The idempotency key; `None` on rows older than schema 3.
    pub key: Option<String>,
    pub status: String,
    pub tries: i64,
    pub next_try_at: Option<i64>,
    pub username: Option<String>,
    pub serial: Option<String>,
}

/// The operations a backend provides. Every write that changes state takes
/// its audit row and commits both in one transaction, so the log never
/// misses a change nor records one that was rolled back. Methods that
/// return a row count report 0 when a precondition in the `WHERE` clause
/// no longer held (a lost race), never an error.
pub(crate) trait Database: Send {
    /// Records the secret's check value on first use; afterwards compares
    /// ([`StoreError::WrongSecret`] on a mismatch).
    fn check_secret(&self, check: &[u8; 32]) -> Result<(), StoreError>;

    /// Inserts every row or none; `Ok(Err(serial))` names the first serial
    /// already present.
    fn insert_tokens(
        &self,
        rows: &[TokenRow],
        audit: &[AuditInsert<'_>],
    ) -> Result<Result<usize, String>, StoreError>;

    /// `false` when the username or the user code lookup is already taken.
    fn insert_user(&self, row: &UserRow, audit: &AuditInsert<'_>) -> Result<bool, StoreError>;

    /// A round trip that reads nothing: is the database answering?
    fn ping(&self) -> Result<(), StoreError>;
    fn user_exists(&self, username: &str) -> Result<bool, StoreError>;
    fn lookup_exists(&self, lookup: &[u8]) -> Result<bool, StoreError>;
    fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError>;
    fn user_by_lookup(&self, lookup: &[u8]) -> Result<Option<UserRow>, StoreError>;
    fn token(&self, serial: &str) -> Result<Option<TokenRow>, StoreError>;
    /// Every token, or one user's, ordered by serial.
    fn tokens(&self, username: Option<&str>) -> Result<Vec<TokenRow>, StoreError>;
    /// The serial of the user's active token, if any.
    fn active_token_of(&self, username: &str) -> Result<Option<String>, StoreError>;

    /// Binds the token to the user only if it is still unowned and not
    /// replaced at the moment of writing. Rows changed: 0 means taken.
    fn assign(
        &self,
        username: &str,
        serial: &str,
        audit: &AuditInsert<'_>,
    ) -> Result<usize, StoreError>;

    /// The compare-and-set: writes `new` only where the row still holds
    /// `previous` (when they are equal, only checks the row exists), and
    /// the audit row only if it did. Rows matched: 0 or 1.
    fn compare_and_set_audited(
        &self,
        serial: &str,
        previous: &TokenState,
        new: &TokenState,
        audit: &AuditInsert<'_>,
    ) -> Result<usize, StoreError>;

    /// Both halves of [`SwapRows`] or neither: `false` when either row no
    /// longer matches (old not the user's active token, new taken or its
    /// state moved).
    fn swap_devices(
        &self,
        swap: &SwapRows<'_>,
        audit: &AuditInsert<'_>,
    ) -> Result<bool, StoreError>;

    /// Inserts a new attempt, its audit rows and the SMS it sends (if
    /// any), in one transaction.
    fn insert_replacement(
        &self,
        row: &ReplacementRow,
        audit: &[AuditInsert<'_>],
        sms: Option<&OutboxRow>,
    ) -> Result<(), StoreError>;

    fn replacement(&self, id: &str) -> Result<Option<ReplacementRow>, StoreError>;

    /// The compare-and-set on an attempt: writes its step columns and
    /// `version + 1` only where the row still has `row.version`, and the
    /// audit row (if any) only if it did. `false`: another request took a
    /// step first.
    fn update_replacement(
        &self,
        row: &ReplacementRow,
        audit: Option<&AuditInsert<'_>>,
    ) -> Result<bool, StoreError>;

    /// The outbox, or one phone's messages, oldest first.
    fn sms_outbox(&self, phone: Option<&str>) -> Result<Vec<OutboxRow>, StoreError>;
    /// Up to `limit` queued messages due at `now` (wall clock), oldest first.
    fn due_sms(&self, now: i64, limit: u32) -> Result<Vec<OutboxRow>, StoreError>;
    /// Takes one delivery try of a queued message by compare-and-set on
    /// its `tries`: counts the try and holds the row until `until`.
    /// `false`: another dispatcher took it first.
    fn claim_sms(&self, id: i64, tries: i64, until: i64) -> Result<bool, StoreError>;
    /// Settles the try that made `tries` tries: `status` (`sent`, `failed`,
    /// or `queued` again with its `next_try_at`), with its audit row, in
    /// one transaction. `false`: a later try claimed the row meanwhile (this
    /// one outlived its claim), and nothing was written.
    fn settle_sms(
        &self,
        id: i64,
        tries: i64,
        status: &str,
        next_try_at: Option<i64>,
        audit: &AuditInsert<'_>,
    ) -> Result<bool, StoreError>;

    /// Opens a batch: until [`end_batch`](Self::end_batch), writes join one
    /// transaction (each operation a savepoint in it) committed once. A
    /// backend whose commits are already grouped may make both no-ops.
    fn begin_batch(&self) -> Result<(), StoreError>;
    /// Commits the batch (`commit`) or rolls all of it back.
    fn end_batch(&self, commit: bool) -> Result<(), StoreError>;

    /// Stops this connection from checkpointing its own commits (SQLite's
    /// WAL): a server leaves that to [`checkpoint`](Self::checkpoint) on
    /// another connection, so no request waits for one. No-op elsewhere.
    fn defer_checkpoints(&self) -> Result<(), StoreError>;
    /// Copies committed WAL pages into the database without blocking
    /// writers (SQLite `PASSIVE`). No-op elsewhere.
    fn checkpoint(&self) -> Result<(), StoreError>;

    fn append_audit(&self, entry: &AuditInsert<'_>) -> Result<i64, StoreError>;
    /// The newest `limit` audit rows, newest first.
    fn audit(&self, limit: u32) -> Result<Vec<AuditSelect>, StoreError>;
}
