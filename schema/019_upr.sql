-- 019_upr.sql: recommendations of the Universal Periodic Review (UPR) that
-- concern the Covenant or its Protocol (issue 13, item 2), imported from
-- UPR Info's export columns (data/upr/), each classified by a rule a
-- person can read (upr.c says them in words); ambiguous ones wait in
-- review ('review') until an administrator decides.

-- The Working Group's sessions, for the year a recommendation was made
-- (data/upr-sessions.csv). A recommendation of a session not listed here
-- is kept; it shows its session number without a year.
-- owner: src/feat/upr.c
CREATE TABLE upr_sessions (
    number    INTEGER PRIMARY KEY,
    starts_on TEXT NOT NULL,
    ends_on   TEXT NOT NULL
);

-- One row per import, what it found: the names it could not match are
-- reported here and on /admin/upr, never guessed.
-- owner: src/feat/upr.c
CREATE TABLE upr_imports (
    id            INTEGER PRIMARY KEY,
    source        TEXT NOT NULL,            -- file name, or the shipped file's path
    imported_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    imported_at   INTEGER NOT NULL,
    rows_read     INTEGER NOT NULL,
    added         INTEGER NOT NULL,
    skipped       INTEGER NOT NULL,         -- unknown names or bad rows
    unknown_names TEXT NOT NULL DEFAULT ''  -- one per line
);

-- owner: src/feat/upr.c
CREATE TABLE upr_recommendations (
    id           INTEGER PRIMARY KEY,
    row_key      TEXT NOT NULL UNIQUE,      -- SHA-256 of session, states and text
    session      INTEGER NOT NULL,
    to_iso3      TEXT NOT NULL REFERENCES countries (iso3),
    from_iso3    TEXT NOT NULL REFERENCES countries (iso3),
    text         TEXT NOT NULL,
    response     TEXT NOT NULL CHECK (response IN ('accepted', 'noted')),
    action       INTEGER NOT NULL DEFAULT 0, -- UPR Info's 1 (minimal) to 5 (specific)
    issues       TEXT NOT NULL DEFAULT '',
    class        TEXT NOT NULL CHECK (class IN ('protocol', 'covenant', 'other', 'review')),
    rule         TEXT NOT NULL,             -- the rule that classified it, or 'person'
    asks_to_join INTEGER NOT NULL DEFAULT 0, -- asks to sign, ratify or accede
    import_id    INTEGER REFERENCES upr_imports (id),
    reviewed_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    reviewed_at  INTEGER
);

CREATE INDEX upr_recommendations_to ON upr_recommendations (to_iso3, class);
CREATE INDEX upr_recommendations_from ON upr_recommendations (from_iso3, class);
CREATE INDEX upr_recommendations_class ON upr_recommendations (class);
