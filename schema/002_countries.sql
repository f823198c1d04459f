-- 002_countries.sql: countries, treaties (instruments), treaty actions and
-- the domestic stages between signature and deposit.
-- A country's status under an instrument is derived from its actions
-- (treaty.c), never stored.

-- owner: src/feat/country.c
CREATE TABLE countries (
    iso3          TEXT PRIMARY KEY CHECK (length(iso3) = 3),
    iso2          TEXT NOT NULL UNIQUE,
    numeric_code  TEXT NOT NULL,
    name_en       TEXT NOT NULL,
    name_es       TEXT NOT NULL,
    name_fr       TEXT NOT NULL,
    name_ar       TEXT NOT NULL,
    un_status     TEXT NOT NULL CHECK (un_status IN ('member', 'observer', 'other')),
    un_group      TEXT NOT NULL DEFAULT '',   -- UN regional group of a member state
    organisations TEXT NOT NULL DEFAULT ''    -- space-separated: AU OAS EU COE ASEAN LAS OIC
);

-- owner: src/feat/treaty.c
CREATE TABLE instruments (
    id                 INTEGER PRIMARY KEY,
    slug               TEXT NOT NULL UNIQUE,     -- in URLs: /treaties/op-icescr
    short_name         TEXT NOT NULL,
    title              TEXT NOT NULL,
    adopted_on         TEXT NOT NULL,            -- ISO dates
    opened_on          TEXT NOT NULL,
    in_force_on        TEXT,
    in_force_condition TEXT NOT NULL DEFAULT '',
    depositary_ref     TEXT NOT NULL,            -- UNTC chapter reference, e.g. IV-3-a
    source_url         TEXT NOT NULL DEFAULT '',
    opt_in_articles    TEXT NOT NULL DEFAULT '', -- space-separated article numbers
    parent_id          INTEGER REFERENCES instruments (id), -- the protocol's covenant
    status_as_of       TEXT                      -- date of the depositary record loaded
);

-- owner: src/feat/treaty.c
CREATE TABLE treaty_actions (
    id            INTEGER PRIMARY KEY,
    instrument_id INTEGER NOT NULL REFERENCES instruments (id),
    iso3          TEXT NOT NULL REFERENCES countries (iso3),
    kind          TEXT NOT NULL CHECK (kind IN ('signature', 'ratification', 'accession',
                                               'succession', 'declaration', 'withdrawal')),
    article       TEXT NOT NULL DEFAULT '',      -- for declarations under an article
    action_date   TEXT NOT NULL,                 -- YYYY-MM-DD
    source_url    TEXT NOT NULL DEFAULT '',
    note          TEXT NOT NULL DEFAULT '',
    recorded_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    recorded_at   INTEGER NOT NULL,
    UNIQUE (instrument_id, iso3, kind, article)
);
CREATE INDEX treaty_actions_country ON treaty_actions (iso3);

-- owner: src/feat/stage.c
CREATE TABLE domestic_stages (
    id            INTEGER PRIMARY KEY,
    instrument_id INTEGER NOT NULL REFERENCES instruments (id),
    iso3          TEXT NOT NULL REFERENCES countries (iso3),
    stage         TEXT NOT NULL CHECK (stage IN ('ministry_review', 'interministerial',
                                                'cabinet_approval', 'bill_in_parliament',
                                                'parliament_approved', 'instrument_deposited')),
    stage_date    TEXT NOT NULL,
    evidence      TEXT NOT NULL DEFAULT '',
    source_url    TEXT NOT NULL DEFAULT '',
    visibility    TEXT NOT NULL DEFAULT 'public'
                  CHECK (visibility IN ('public', 'members', 'country', 'steering', 'private')),
    recorded_by   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    recorded_at   INTEGER NOT NULL
);
CREATE INDEX domestic_stages_country ON domestic_stages (iso3, stage_date);

INSERT INTO instruments (id, slug, short_name, title, adopted_on, opened_on, in_force_on,
                         in_force_condition, depositary_ref, source_url, opt_in_articles,
                         parent_id)
VALUES
    (1, 'icescr', 'ICESCR',
     'International Covenant on Economic, Social and Cultural Rights',
     '1966-12-16', '1966-12-19', '1976-01-03',
     'three months after the deposit of the 35th instrument of ratification or accession (art. 27)',
     'IV-3',
     'https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-3&chapter=4&clang=_en',
     '', NULL),
    (2, 'op-icescr', 'OP-ICESCR',
     'Optional Protocol to the International Covenant on Economic, Social and Cultural Rights',
     '2008-12-10', '2009-09-24', '2013-05-05',
     'three months after the deposit of the 10th instrument of ratification or accession (art. 18)',
     'IV-3-a',
     'https://treaties.un.org/Pages/ViewDetails.aspx?src=TREATY&mtdsg_no=IV-3-a&chapter=4&clang=_en',
     '10 11', 1);
