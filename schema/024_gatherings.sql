-- 024_gatherings.sql: intergovernmental gatherings where the coalition
-- raises the Protocol (issue 13, item 1): Human Rights Council sessions,
-- UPR Working Group sessions with the states under review, treaty body
-- sessions, the OAS General Assembly, AU summits, the annual Treaty Event,
-- regional summits. The secretariat records them; members announce that
-- they attend and which delegations they will approach, and record what
-- each delegation said.

-- owner: src/feat/gathering.c
CREATE TABLE gatherings (
    id          INTEGER PRIMARY KEY,
    kind        TEXT NOT NULL CHECK (kind IN ('hrc_session', 'upr_session', 'treaty_body',
                                              'oas_ga', 'au_summit', 'treaty_event',
                                              'regional_summit', 'other')),
    title       TEXT NOT NULL,
    starts_on   TEXT NOT NULL,              -- YYYY-MM-DD
    ends_on     TEXT NOT NULL,
    place       TEXT NOT NULL DEFAULT '',
    created_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at  INTEGER NOT NULL,
    notified_at INTEGER                     -- the emails before a UPR session, once
);

-- The states present (their delegations), and for a UPR session those
-- under review.
-- owner: src/feat/gathering.c
CREATE TABLE gathering_states (
    gathering_id INTEGER NOT NULL REFERENCES gatherings (id) ON DELETE CASCADE,
    iso3         TEXT NOT NULL REFERENCES countries (iso3),
    under_review INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (gathering_id, iso3)
);

-- A member who will be there, and the delegations they will approach.
-- owner: src/feat/gathering.c
CREATE TABLE gathering_approaches (
    gathering_id INTEGER NOT NULL REFERENCES gatherings (id) ON DELETE CASCADE,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    iso3         TEXT NOT NULL DEFAULT '',  -- '' : attends, no delegation named
    announced_at INTEGER NOT NULL,
    PRIMARY KEY (gathering_id, user_id, iso3)
);

-- What a delegation said, as a member recorded it, with who may read it.
-- owner: src/feat/gathering.c
CREATE TABLE gathering_notes (
    id           INTEGER PRIMARY KEY,
    gathering_id INTEGER NOT NULL REFERENCES gatherings (id) ON DELETE CASCADE,
    iso3         TEXT NOT NULL REFERENCES countries (iso3),
    said         TEXT NOT NULL,
    visibility   TEXT NOT NULL CHECK (visibility IN ('members', 'committee')),
    author_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at   INTEGER NOT NULL
);

CREATE INDEX gathering_notes_gathering ON gathering_notes (gathering_id, iso3);
