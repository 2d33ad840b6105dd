-- tokenrig store, schema 4: a user holds at most one active token.
-- The service checks it before an assignment and the assignment's UPDATE
-- re-checks it; this index holds it even for two assignments racing on
-- different connections, where neither sees the other's row yet.
CREATE UNIQUE INDEX tokens_one_active_per_user ON tokens (username)
    WHERE status = 'active' AND username IS NOT NULL;
