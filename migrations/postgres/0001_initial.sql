-- tokenrig store, PostgreSQL schema 1: the SQLite schema 1 in this dialect.
--
-- u64 values (next_counter, t0, at_unix_nanos) are stored as the BIGINT
-- with the same bit pattern, as in SQLite: equality (all the
-- compare-and-set needs) is preserved by the bijection.

-- One row: a MAC of a fixed label under the store secret, so opening the
-- database with the wrong secret fails at once, not at the first key.
CREATE TABLE store_secret_check (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    mac BYTEA NOT NULL
);

CREATE TABLE users (
    username TEXT PRIMARY KEY,                   -- tax code, lower case
    phone TEXT NOT NULL,                         -- E.164
    user_code_lookup BYTEA NOT NULL UNIQUE,      -- HMAC-SHA256 of the user code, never the code
    password_phc TEXT NOT NULL                   -- argon2id PHC string
);

CREATE TABLE tokens (
    serial TEXT PRIMARY KEY,
    model TEXT NOT NULL CHECK (model IN ('c100', 'c200', 'usb')),
    algorithm TEXT NOT NULL CHECK (algorithm IN ('sha1', 'sha256', 'sha512')),
    digits BIGINT NOT NULL,
    step BIGINT,                                 -- seconds; NULL for event tokens
    t0 BIGINT,                                   -- u64 bit pattern; NULL for event tokens
    key_ciphertext BYTEA NOT NULL,               -- AES-256-GCM, AAD = serial
    key_nonce BYTEA NOT NULL CHECK (length(key_nonce) = 12),
    next_counter BIGINT NOT NULL,                -- u64 bit pattern
    drift_steps BIGINT NOT NULL DEFAULT 0,
    failures BIGINT NOT NULL DEFAULT 0,
    locked BOOLEAN NOT NULL DEFAULT FALSE,
    status TEXT NOT NULL DEFAULT 'unassigned'
        CHECK (status IN ('unassigned', 'active', 'replaced')),
    username TEXT REFERENCES users (username)
);

CREATE INDEX tokens_by_username ON tokens (username);

-- Every decision and admin action. Never a code, a key or a password.
CREATE TABLE audit (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at_unix_nanos BIGINT NOT NULL,               -- u64 bit pattern
    action TEXT NOT NULL,
    serial TEXT,
    username TEXT,
    outcome TEXT NOT NULL,
    reason TEXT                                  -- Reason::code(), a stable identifier
);
