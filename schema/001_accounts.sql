-- 001_accounts.sql: users, their country scopes, sessions, one-time login
-- tokens, login throttling, server settings and the audit log.
-- Portable SQL: standard types, no AUTOINCREMENT, times as Unix seconds.

-- owner: src/svc/auth.c
CREATE TABLE settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- owner: src/feat/account.c
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,          -- stored lowercased
    password_hash TEXT,                          -- argon2id string; NULL until set
    role          TEXT NOT NULL CHECK (role IN ('admin', 'coordinator', 'member')),
    display_name  TEXT NOT NULL DEFAULT '',
    lang          TEXT,                          -- preferred UI language, NULL: browser's
    created_at    INTEGER NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0
);

-- Countries a coordinator is responsible for (ISO 3166-1 alpha-3).
-- owner: src/feat/account.c
CREATE TABLE user_countries (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    iso3    TEXT NOT NULL CHECK (length(iso3) = 3),
    PRIMARY KEY (user_id, iso3)
);

-- Server-side sessions. Only a hash of the token is stored, so a copy of
-- the database does not let anyone log in.
-- owner: src/svc/auth.c
CREATE TABLE sessions (
    token_hash  TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    last_seen   INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Single-use links that let a user set a password (first admin, resets).
-- owner: src/svc/auth.c
CREATE TABLE login_tokens (
    token_hash TEXT PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL CHECK (purpose IN ('welcome', 'reset')),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);

-- Failed login counters per account and per client address. The key is a
-- keyed hash, so no address is stored in clear.
-- owner: src/svc/auth.c
CREATE TABLE login_failures (
    key          TEXT PRIMARY KEY,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL
);

-- owner: src/svc/audit.c
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    user_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    action     TEXT NOT NULL,
    object     TEXT NOT NULL DEFAULT '',
    detail     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX audit_log_at ON audit_log (at);
