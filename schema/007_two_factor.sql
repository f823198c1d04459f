-- 007_two_factor.sql: second factor at login. A TOTP secret per user
-- (RFC 6238), encrypted under a key derived from the server's secret, the
-- last time step accepted (a code is never accepted twice), single-use
-- recovery codes kept only as keyed hashes, and the short-lived half-logins
-- that wait for the second factor.

-- owner: src/feat/two_factor.c
CREATE TABLE two_factor (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     TEXT NOT NULL,             -- hex: nonce, then the sealed secret
    created_at INTEGER NOT NULL,
    enabled_at INTEGER,                   -- NULL until the first code confirmed it
    last_step  INTEGER NOT NULL DEFAULT 0 -- the newest 30-second step accepted
);

-- owner: src/feat/two_factor.c
CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL UNIQUE,
    used_at   INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- A correct password for an account with a second factor gives one of
-- these, not a session: it allows nothing but the code form.
-- owner: src/feat/two_factor.c
CREATE TABLE pending_logins (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    next       TEXT NOT NULL DEFAULT '/',
    expires_at INTEGER NOT NULL
);

