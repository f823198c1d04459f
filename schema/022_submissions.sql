-- 022_submissions.sql: submissions drafted with the coalition's help (issue
-- 13, item 5): a member asks for help drafting a UPR stakeholder report or
-- a shadow report to the Committee on ESCR through a request for support
-- of kind submission_drafting; each saved draft is a version, and the
-- final text is kept with the country, with a visibility.

-- owner: src/feat/submission.c
CREATE TABLE submission_drafts (
    id         INTEGER PRIMARY KEY,
    request_id INTEGER NOT NULL REFERENCES assistance_requests (id) ON DELETE CASCADE,
    version    INTEGER NOT NULL,
    body       TEXT NOT NULL,
    note       TEXT NOT NULL DEFAULT '',   -- what changed, in a line
    author_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (request_id, version)
);

-- owner: src/feat/submission.c
CREATE TABLE submissions (
    id           INTEGER PRIMARY KEY,
    iso3         TEXT NOT NULL REFERENCES countries (iso3),
    kind         TEXT NOT NULL CHECK (kind IN ('upr_stakeholder', 'cescr_shadow', 'other')),
    title        TEXT NOT NULL,
    body         TEXT NOT NULL,
    request_id   INTEGER REFERENCES assistance_requests (id) ON DELETE SET NULL,
    version      INTEGER NOT NULL,          -- the draft kept
    visibility   TEXT NOT NULL CHECK (visibility IN ('public', 'members', 'country', 'committee')),
    author_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    finalised_at INTEGER NOT NULL
);

CREATE INDEX submissions_iso3 ON submissions (iso3, finalised_at);
