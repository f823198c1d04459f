-- 021_positions.sql: what each government has said about the Protocol
-- and what the coalition makes of it (issue 13, item 4). The secretariat
-- (administrators) keeps them; each statement and the assessment has a
-- visibility (public, members, committee: svc/visibility.h), and reads of
-- what is not public are audited: an assessment ("the minister is against
-- it") can hurt the people who gave it.

-- owner: src/feat/position.c
CREATE TABLE position_statements (
    id          INTEGER PRIMARY KEY,
    iso3        TEXT NOT NULL REFERENCES countries (iso3),
    stated_on   TEXT NOT NULL,              -- ISO date
    forum       TEXT NOT NULL,              -- "UPR 3rd cycle", "letter to the coalition"
    summary     TEXT NOT NULL,              -- one line
    source_url  TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL CHECK (visibility IN ('public', 'members', 'committee')),
    author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    recorded_at INTEGER NOT NULL
);

CREATE INDEX position_statements_iso3 ON position_statements (iso3, stated_on);

-- owner: src/feat/position.c
CREATE TABLE position_assessments (
    iso3       TEXT PRIMARY KEY REFERENCES countries (iso3),
    stance     TEXT NOT NULL CHECK (stance IN ('supportive', 'open', 'undecided', 'opposed',
                                               'unknown')),
    assessment TEXT NOT NULL DEFAULT '',
    visibility TEXT NOT NULL CHECK (visibility IN ('public', 'members', 'committee')),
    author_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL
);
