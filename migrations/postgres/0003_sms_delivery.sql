-- tokenrig store, PostgreSQL schema 3: the outbox becomes the delivery queue.
-- An SMS is a row committed with the attempt step that sends it; a
-- dispatcher delivers queued rows through the gateway and settles them.
-- Rows from before this schema were the outbox gateway's: already sent.

-- The idempotency key the gateway receives: 32 hex characters from the OS RNG.
ALTER TABLE sms_outbox ADD COLUMN message_key TEXT;
ALTER TABLE sms_outbox ADD COLUMN status TEXT NOT NULL DEFAULT 'sent'
    CHECK (status IN ('queued', 'sent', 'failed'));
-- Deliveries tried so far (each claimed by one dispatcher).
ALTER TABLE sms_outbox ADD COLUMN tries BIGINT NOT NULL DEFAULT 0;
-- Wall-clock u64 bit pattern; NULL: due at once. While a try is under way,
-- the claim's end, after which another dispatcher may take the row over.
ALTER TABLE sms_outbox ADD COLUMN next_try_at_unix_nanos BIGINT;
-- Whose replacement sent it, for the audit row of its delivery.
ALTER TABLE sms_outbox ADD COLUMN username TEXT;
ALTER TABLE sms_outbox ADD COLUMN serial TEXT;

CREATE UNIQUE INDEX sms_outbox_by_key ON sms_outbox (message_key);
CREATE INDEX sms_outbox_due ON sms_outbox (status, next_try_at_unix_nanos);
