-- Expert seminars and national events (issue 12, item 2), their invitees
-- who answer through a personal link without an account, and the
-- per-user calendar feeds (item 4). Times are UTC seconds; tz is the
-- event's IANA zone, to show and enter wall-clock times.

-- owner: src/feat/event.c
CREATE TABLE events (
    id                INTEGER PRIMARY KEY,
    uid               TEXT NOT NULL UNIQUE,        -- random, the iCalendar UID
    kind              TEXT NOT NULL CHECK (kind IN ('seminar', 'national_event')),
    title             TEXT NOT NULL,
    iso3              TEXT NOT NULL REFERENCES countries (iso3),
    starts_at         INTEGER NOT NULL,
    ends_at           INTEGER NOT NULL,
    tz                TEXT NOT NULL,
    place             TEXT NOT NULL DEFAULT '',
    online_link       TEXT NOT NULL DEFAULT '',
    agenda            TEXT NOT NULL DEFAULT '',
    language          TEXT NOT NULL DEFAULT '',
    capacity          INTEGER NOT NULL CHECK (capacity > 0),
    visibility        TEXT NOT NULL,
    author_id         INTEGER REFERENCES users (id) ON DELETE SET NULL, -- the organiser
    report            TEXT NOT NULL DEFAULT '',
    report_visibility TEXT NOT NULL DEFAULT 'private',
    sequence          INTEGER NOT NULL DEFAULT 0,  -- iCalendar SEQUENCE, bumped on changes
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    CHECK (ends_at > starts_at)
);
CREATE INDEX events_starts ON events (starts_at);

-- owner: src/feat/event.c
CREATE TABLE event_invitees (
    id            INTEGER PRIMARY KEY,
    event_id      INTEGER NOT NULL REFERENCES events (id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    email         TEXT NOT NULL,
    category      TEXT NOT NULL,
    authority     INTEGER NOT NULL DEFAULT 0,     -- a national-level authority
    token_hash    TEXT NOT NULL UNIQUE,           -- of the personal link's token
    response      TEXT NOT NULL DEFAULT 'none' CHECK (response IN ('none', 'yes', 'no', 'maybe')),
    waitlisted_at INTEGER,                        -- set while waiting for a place
    responded_at  INTEGER,
    attended      INTEGER NOT NULL DEFAULT 0,
    reminded_at   INTEGER,
    lang          TEXT NOT NULL DEFAULT 'en',     -- the invitation's, for later emails
    invited_at    INTEGER NOT NULL,
    UNIQUE (event_id, email)
);

-- owner: src/feat/event.c
CREATE TABLE calendar_feeds (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

-- An invitation carries its event as an .ics file (svc/mail.c).
ALTER TABLE mail_queue ADD COLUMN attachment_name TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_queue ADD COLUMN attachment_type TEXT NOT NULL DEFAULT '';
ALTER TABLE mail_queue ADD COLUMN attachment TEXT NOT NULL DEFAULT '';
