-- tokenrig store, PostgreSQL schema 2: the SQLite schema 2 in this dialect
-- (device replacement attempts and the SMS outbox).

-- One row per attempt, rewritten at every step by compare-and-set on
-- `version`: two requests racing on one attempt never both take a step.
CREATE TABLE replacements (
    id TEXT PRIMARY KEY,                         -- 128 bits from the OS RNG, 32 hex characters
    username TEXT NOT NULL REFERENCES users (username),
    old_serial TEXT NOT NULL REFERENCES tokens (serial),
    started_at_unix_nanos BIGINT NOT NULL,       -- u64 bit pattern
    stage TEXT NOT NULL CHECK (stage IN
        ('password', 'sms_code', 'serial', 'otps', 'completed', 'failed', 'expired')),
    sms_code_ciphertext BYTEA,                   -- AES-256-GCM, AAD = 'replacement:' || id; only while stage = 'sms_code'
    sms_code_nonce BYTEA CHECK (sms_code_nonce IS NULL OR length(sms_code_nonce) = 12),
    sms_sent_at_unix_nanos BIGINT,               -- u64 bit pattern
    sms_tries_left BIGINT,
    new_serial TEXT REFERENCES tokens (serial),
    new_model TEXT CHECK (new_model IS NULL OR new_model IN ('c100', 'c200', 'usb')),
    failure_reason TEXT,                         -- Reason::code() when stage = 'failed'
    version BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX replacements_by_username ON replacements (username);

-- What the outbox SMS gateway "sent": read back by test rigs. The text is a
-- fixed template filled in on read; only the code is stored, encrypted.
CREATE TABLE sms_outbox (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    phone TEXT NOT NULL,                         -- E.164
    sent_at_unix_nanos BIGINT NOT NULL,          -- u64 bit pattern
    code_ciphertext BYTEA NOT NULL,              -- AES-256-GCM, AAD = 'sms_outbox:' || phone || ':' || sent_at_unix_nanos
    code_nonce BYTEA NOT NULL CHECK (length(code_nonce) = 12)
);

CREATE INDEX sms_outbox_by_phone ON sms_outbox (phone, id);
