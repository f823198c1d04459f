-- 003_members.sql: members (people and organisations), memberships and
-- their moderation, working groups, national coalitions, the mail queue,
-- API tokens and rate limits.
--
-- Personal data lives in people and organisations only, so that erasing a
-- person is a change to a few rows (member.c, member_erase) and the audit
-- log refers to people by id, never by name or email.

-- owner: src/feat/person.c
CREATE TABLE people (
    id          INTEGER PRIMARY KEY,
    user_id     INTEGER UNIQUE REFERENCES users (id) ON DELETE SET NULL, -- once approved
    name        TEXT NOT NULL,
    email       TEXT NOT NULL UNIQUE,              -- lowercased
    iso3        TEXT REFERENCES countries (iso3),
    languages   TEXT NOT NULL DEFAULT '',          -- space-separated codes: "en es"
    listing     TEXT NOT NULL DEFAULT 'hidden'     -- hidden by default: some are at risk
                CHECK (listing IN ('public', 'members', 'hidden')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX people_country ON people (iso3);

-- owner: src/feat/organisation.c
CREATE TABLE organisations (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    iso3        TEXT NOT NULL REFERENCES countries (iso3),
    org_type    TEXT NOT NULL CHECK (org_type IN ('human_rights_ngo', 'trade_union',
                    'womens_group', 'lawyers_association', 'nhri', 'academic',
                    'development_ngo', 'community_organisation', 'other')),
    website     TEXT NOT NULL DEFAULT '',
    languages   TEXT NOT NULL DEFAULT '',
    listing     TEXT NOT NULL DEFAULT 'members'
                CHECK (listing IN ('public', 'members', 'hidden')),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX organisations_country ON organisations (iso3);

-- People of an organisation, with their role there. A person may belong to
-- several organisations.
-- owner: src/feat/organisation.c
CREATE TABLE org_people (
    org_id      INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    person_id   INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    role        TEXT NOT NULL DEFAULT 'staff' CHECK (role IN ('contact', 'staff')),
    title       TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (org_id, person_id)
);
CREATE INDEX org_people_person ON org_people (person_id);

-- A membership of the coalition: of a person (individual) or of an
-- organisation (applied for by its contact person).
-- owner: src/feat/membership.c
CREATE TABLE memberships (
    id               INTEGER PRIMARY KEY,
    kind             TEXT NOT NULL CHECK (kind IN ('individual', 'organisation')),
    person_id        INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    org_id           INTEGER REFERENCES organisations (id) ON DELETE CASCADE,
    iso3             TEXT NOT NULL REFERENCES countries (iso3),
    status           TEXT NOT NULL DEFAULT 'pending'
                     CHECK (status IN ('pending', 'active', 'lapsed', 'left', 'declined')),
    confirmed_at     INTEGER,          -- the applicant followed the emailed link
    not_government   INTEGER NOT NULL CHECK (not_government = 1),
    consent_store_at INTEGER NOT NULL, -- consent to store the data, when given
    consent_updates  INTEGER NOT NULL DEFAULT 0, -- separately: to receive updates
    decided_by       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    decided_at       INTEGER,
    decision_reason  TEXT NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    CHECK ((kind = 'organisation') = (org_id IS NOT NULL))
);
CREATE INDEX memberships_status ON memberships (status, iso3);
CREATE INDEX memberships_person ON memberships (person_id);

-- Single-use links sent by email: confirming a membership application.
-- (Setting a password uses login_tokens.)
-- owner: src/feat/membership.c
CREATE TABLE confirm_tokens (
    token_hash    TEXT PRIMARY KEY,
    membership_id INTEGER NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
);

-- owner: src/feat/group.c
CREATE TABLE working_groups (
    id          INTEGER PRIMARY KEY,
    slug        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

-- owner: src/feat/group.c
CREATE TABLE working_group_members (
    group_id     INTEGER NOT NULL REFERENCES working_groups (id) ON DELETE CASCADE,
    person_id    INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    is_moderator INTEGER NOT NULL DEFAULT 0,
    joined_at    INTEGER NOT NULL,
    PRIMARY KEY (group_id, person_id)
);

-- Working groups an applicant said they are interested in.
-- owner: src/feat/membership.c
CREATE TABLE membership_interests (
    membership_id INTEGER NOT NULL REFERENCES memberships (id) ON DELETE CASCADE,
    group_id      INTEGER NOT NULL REFERENCES working_groups (id) ON DELETE CASCADE,
    PRIMARY KEY (membership_id, group_id)
);

-- One national coalition per country.
-- owner: src/feat/coalition.c
CREATE TABLE coalitions (
    iso3            TEXT PRIMARY KEY REFERENCES countries (iso3),
    lead_org_id     INTEGER REFERENCES organisations (id) ON DELETE SET NULL,
    focal_person_id INTEGER REFERENCES people (id) ON DELETE SET NULL,
    partner_types   TEXT NOT NULL DEFAULT '', -- org types covered, space-separated
    gaps            TEXT NOT NULL DEFAULT '', -- free text: who is still missing
    updated_by      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    updated_at      INTEGER NOT NULL
);

-- owner: src/feat/coalition.c
CREATE TABLE coalition_members (
    iso3     TEXT NOT NULL REFERENCES coalitions (iso3) ON DELETE CASCADE,
    org_id   INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    PRIMARY KEY (iso3, org_id)
);

-- Outgoing mail, written in the same transaction as the change that causes
-- it and sent by a worker thread, so a crash loses nothing.
-- owner: src/svc/mail.c
CREATE TABLE mail_queue (
    id              INTEGER PRIMARY KEY,
    to_addr         TEXT NOT NULL,
    subject         TEXT NOT NULL,
    body            TEXT NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    sent_at         INTEGER,
    last_error      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX mail_queue_due ON mail_queue (sent_at, next_attempt_at);

-- API tokens that admins issue; only a hash is stored.
-- owner: src/svc/auth.c
CREATE TABLE api_tokens (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    scope       TEXT NOT NULL CHECK (scope IN ('read', 'write')),
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    last_used   INTEGER,
    revoked_at  INTEGER
);

-- Generic counters for rate limits (the join form per client address).
-- The key is a keyed hash: no address is stored in clear.
-- owner: src/feat/member.c
CREATE TABLE rate_limits (
    key          TEXT PRIMARY KEY,
    hits         INTEGER NOT NULL,
    window_start INTEGER NOT NULL
);

INSERT INTO working_groups (slug, name, description, created_at) VALUES
    ('legal', 'Legal and justiciability',
     'Lawyers and academics: the justiciability of economic, social and cultural rights, and the Committee''s case law under the Protocol.', 0),
    ('campaigning', 'Public campaigning',
     'Media work, public events, petitions and stories that make the Protocol known.', 0),
    ('un-advocacy', 'UN and regional advocacy',
     'Raising the Protocol at the Human Rights Council, the UPR, treaty bodies and regional bodies.', 0);
