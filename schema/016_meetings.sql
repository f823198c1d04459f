-- 016_meetings.sql: lobbying meetings with a government (issue 12, item 1):
-- the plan, the brief the delegation writes together with at most two key
-- messages, the outcome, the follow-up and its reminders, the report and
-- who it is shared with.

-- owner: src/feat/meeting.c
CREATE TABLE meetings (
    id               INTEGER PRIMARY KEY,
    iso3             TEXT NOT NULL REFERENCES countries (iso3),
    author_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    meeting_on       TEXT NOT NULL,              -- YYYY-MM-DD, the day where it is held
    meeting_time     TEXT NOT NULL DEFAULT '',   -- HH:MM, local time there; '' not yet known
    time_zone        TEXT NOT NULL DEFAULT '',   -- IANA name ("Africa/Luanda"); '' not given
    place            TEXT NOT NULL DEFAULT '',
    goal             TEXT NOT NULL,
    lang             TEXT NOT NULL DEFAULT 'en'  -- of the thank-you letter: the target's
                     CHECK (lang IN ('en', 'es', 'fr', 'pt', 'ar')),
    notes            TEXT NOT NULL DEFAULT '',   -- the brief, written by the delegation
    -- "Focus on the one or two most important messages": two columns, so a
    -- third cannot be stored whatever the code does.
    key_message_1    TEXT NOT NULL DEFAULT '',
    key_message_2    TEXT NOT NULL DEFAULT '',
    state            TEXT NOT NULL DEFAULT 'planned'
                     CHECK (state IN ('planned', 'held', 'closed')),
    said             TEXT NOT NULL DEFAULT '',
    agreements       TEXT NOT NULL DEFAULT '',
    report           TEXT NOT NULL DEFAULT '',
    public_summary   TEXT NOT NULL DEFAULT '',   -- the part of the report anyone may read
    -- Who reads the plan, the brief and the report, besides the delegation:
    -- private = the secretariat (the administrators) only.
    visibility       TEXT NOT NULL DEFAULT 'private'
                     CHECK (visibility IN ('members', 'country', 'private')),
    followup_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    followup_due     TEXT NOT NULL DEFAULT '',   -- YYYY-MM-DD
    followup_done_on TEXT NOT NULL DEFAULT '',   -- YYYY-MM-DD: no more reminders
    reminded         TEXT NOT NULL DEFAULT ''    -- the last reminder sent for that due date
                     CHECK (reminded IN ('', 'soon', 'overdue')),
    version          INTEGER NOT NULL DEFAULT 1, -- bumped by every change: edits do not cross
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL
);
CREATE INDEX meetings_country ON meetings (iso3, state);
CREATE INDEX meetings_author ON meetings (author_id);

-- The people met: government contacts (targets, target.c's).
-- owner: src/feat/meeting.c
CREATE TABLE meeting_targets (
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    target_id  INTEGER NOT NULL REFERENCES targets (id) ON DELETE CASCADE,
    PRIMARY KEY (meeting_id, target_id)
);

-- The delegation: members (by account) and organisations.
-- owner: src/feat/meeting.c
CREATE TABLE meeting_delegation (
    id         INTEGER PRIMARY KEY,
    meeting_id INTEGER NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    user_id    INTEGER REFERENCES users (id) ON DELETE CASCADE,
    org_id     INTEGER REFERENCES organisations (id) ON DELETE CASCADE,
    CHECK ((user_id IS NOT NULL AND org_id IS NULL) OR (user_id IS NULL AND org_id IS NOT NULL)),
    UNIQUE (meeting_id, user_id),
    UNIQUE (meeting_id, org_id)
);
CREATE INDEX meeting_delegation_user ON meeting_delegation (user_id);
