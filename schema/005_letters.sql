-- 005_letters.sql: government targets, model letters, letters written from
-- them, government responses, and requests for the coalition's help.

-- Who to write to in a government.
-- owner: src/feat/target.c
CREATE TABLE targets (
    id            INTEGER PRIMARY KEY,
    iso3          TEXT NOT NULL REFERENCES countries (iso3),
    kind          TEXT NOT NULL CHECK (kind IN ('ministry', 'official', 'committee',
                                                'mission_geneva', 'mission_new_york')),
    name          TEXT NOT NULL,              -- "Ministry of Foreign Affairs", "Ana Dias"
    title         TEXT NOT NULL DEFAULT '',   -- "Minister of Foreign Affairs"
    ministry      TEXT NOT NULL DEFAULT '',
    address       TEXT NOT NULL DEFAULT '',
    email         TEXT NOT NULL DEFAULT '',
    language      TEXT NOT NULL DEFAULT '',
    source_url    TEXT NOT NULL DEFAULT '',
    last_verified TEXT NOT NULL DEFAULT '',   -- YYYY-MM-DD
    updated_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at    INTEGER NOT NULL
);
CREATE INDEX targets_country ON targets (iso3);

-- Corrections members propose to a target; coordinators apply or reject.
-- owner: src/feat/target.c
CREATE TABLE target_corrections (
    id          INTEGER PRIMARY KEY,
    target_id   INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    proposed_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    text        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'applied', 'rejected')),
    created_at  INTEGER NOT NULL
);

-- Model letters: templates in the pages' own safe template language.
-- owner: src/feat/model_letter.c
CREATE TABLE model_letters (
    id         INTEGER PRIMARY KEY,
    slug       TEXT NOT NULL,
    lang       TEXT NOT NULL,
    ask        TEXT NOT NULL,   -- the ask code it is written for (treaty.c)
    title      TEXT NOT NULL,
    subject    TEXT NOT NULL,
    body       TEXT NOT NULL,
    updated_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at INTEGER NOT NULL,
    UNIQUE (slug, lang)
);

-- owner: src/feat/letter.c
CREATE TABLE letters (
    id          INTEGER PRIMARY KEY,
    author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    iso3        TEXT NOT NULL REFERENCES countries (iso3),
    target_id   INTEGER REFERENCES targets (id) ON DELETE SET NULL,
    model_id    INTEGER REFERENCES model_letters (id) ON DELETE SET NULL,
    lang        TEXT NOT NULL,
    ask         TEXT NOT NULL,
    sender      TEXT NOT NULL,  -- the organisation (or person) on the letterhead
    recipient   TEXT NOT NULL,  -- the address block
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    status      TEXT NOT NULL DEFAULT 'draft'
                CHECK (status IN ('draft', 'sent', 'response_received', 'no_response')),
    sent_on     TEXT,           -- YYYY-MM-DD
    sent_via    TEXT NOT NULL DEFAULT '' CHECK (sent_via IN ('', 'post', 'email', 'hand',
                                                             'fax', 'other')),
    remind_weeks INTEGER NOT NULL DEFAULT 8,
    visibility  TEXT NOT NULL DEFAULT 'country'
                CHECK (visibility IN ('public', 'members', 'country', 'steering', 'private')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX letters_country ON letters (iso3, status);
CREATE INDEX letters_author ON letters (author_id);

-- owner: src/feat/response.c
CREATE TABLE responses (
    id          INTEGER PRIMARY KEY,
    letter_id   INTEGER REFERENCES letters (id) ON DELETE CASCADE,
    iso3        TEXT NOT NULL REFERENCES countries (iso3),
    received_on TEXT NOT NULL,
    text        TEXT NOT NULL DEFAULT '',
    class       TEXT NOT NULL CHECK (class IN ('positive', 'non_committal', 'refusal')),
    reasons     TEXT NOT NULL DEFAULT '',  -- for a refusal, space-separated reason codes
    reason_note TEXT NOT NULL DEFAULT '',
    visibility  TEXT NOT NULL DEFAULT 'country'
                CHECK (visibility IN ('public', 'members', 'country', 'steering', 'private')),
    file_name   TEXT NOT NULL DEFAULT '',
    file_type   TEXT NOT NULL DEFAULT '',  -- application/pdf, image/png, image/jpeg
    file_data   BLOB,
    recorded_by INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX responses_country ON responses (iso3);

-- A member asks the coalition for help: to reply to a refusal now, with
-- national events and other kinds to come (issue: assistance requests).
-- owner: src/feat/assistance.c
CREATE TABLE assistance_requests (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('refusal_reply', 'national_event', 'other')),
    iso3         TEXT NOT NULL REFERENCES countries (iso3),
    requester_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    response_id  INTEGER REFERENCES responses (id) ON DELETE SET NULL,
    subject      TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'assigned', 'done')),
    assignee_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    draft        TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
