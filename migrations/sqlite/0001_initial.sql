-- tokenrig store, SQLite schema 1.
--
-- u64 values (next_counter, t0, step, at_unix_nanos) are stored as the i64
-- with the same bit pattern: SQLite's INTEGER is a signed 64-bit value, and
-- equality (all the compare-and-set needs) is preserved by the bijection.

-- One row: a MAC of a fixed label under the store secret, so opening the
-- database with the wrong secret fails at once, not at the first key.
CREATE TABLE store_secret_check (
    mac BLOB NOT NULL
) STRICT;

CREATE TABLE users (
    username TEXT PRIMARY KEY NOT NULL,          -- tax code, lower case
    phone TEXT NOT NULL,                         -- E.164
    user_code_lookup BLOB NOT NULL UNIQUE,       -- HMAC-SHA256 of the user code, never the code
    password_phc TEXT NOT NULL                   -- argon2id PHC string
) STRICT;

CREATE TABLE tokens (
    serial TEXT PRIMARY KEY NOT NULL,
    model TEXT NOT NULL CHECK (model IN ('c100', 'c200', 'usb')),
    algorithm TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
    digits INTEGER NOT NULL,
    step INTEGER,                                -- seconds; NULL for event tokens
    t0 INTEGER,                                  -- u64 bit pattern; NULL for event tokens
    key_ciphertext BLOB NOT NULL,                -- AES-256-GCM, AAD = serial
    key_nonce BLOB NOT NULL CHECK (length(key_nonce) = 12),
    next_counter INTEGER NOT NULL,               -- u64 bit pattern
    drift_steps INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    locked INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1)),
    status TEXT NOT NULL DEFAULT 'unassigned'
        CHECK (status IN ('unassigned', 'active', 'replaced')),
    username TEXT REFERENCES users (username)
) STRICT;

CREATE INDEX tokens_by_username ON tokens (username);

-- Every decision and admin action. Never a code, a key or a password.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at_unix_nanos INTEGER NOT NULL,              -- u64 bit pattern
    action TEXT NOT NULL,
    serial TEXT,
    username TEXT,
    outcome TEXT NOT NULL,
    reason TEXT                                  -- Reason::code(), a stable identifier
) STRICT;
