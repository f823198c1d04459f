-- 017_assistance.sql: asking the coalition for support (issue 12, item 3).
-- The help-with-a-refusal requests of 005 become one workflow with the
-- kinds of support the campaign page offers, a state, an assignee, a due
-- date, a conversation thread and attachments; a steering committee of the
-- coalition (users an admin names) sees and answers them.
--
-- assistance_requests is rebuilt (create, copy, drop, rename): SQLite cannot
-- change a CHECK constraint, and both the kinds and the states change. No
-- other table refers to it before this migration, so dropping the old one
-- cascades to nothing (letters, in 008, could not be rebuilt that way).
-- Old rows keep their ids: national_event becomes event_materials (what a
-- national event asked of the coalition until now), other stays other;
-- open -> new, assigned -> accepted (someone took it), done -> done.
-- PostgreSQL's identity restarts after the largest id once migrations ran.

-- owner: src/feat/assistance.c
CREATE TABLE assistance_requests_017 (
    id           INTEGER PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('event_materials', 'event_coordination',
                                               'international_expert', 'foreign_organisations',
                                               'steering_presence', 'submission_drafting',
                                               'refusal_reply', 'other')),
    iso3         TEXT NOT NULL REFERENCES countries (iso3),
    requester_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    response_id  INTEGER REFERENCES responses (id) ON DELETE SET NULL,
    subject      TEXT NOT NULL,
    details      TEXT NOT NULL DEFAULT '',
    status       TEXT NOT NULL DEFAULT 'new'
                 CHECK (status IN ('new', 'accepted', 'in_progress', 'done', 'declined')),
    assignee_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    draft        TEXT NOT NULL DEFAULT '',
    due_on       TEXT,                       -- YYYY-MM-DD, NULL: no date asked
    decline_reason TEXT NOT NULL DEFAULT '',
    created_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);

INSERT INTO assistance_requests_017 (id, kind, iso3, requester_id, response_id, subject,
                                     details, status, assignee_id, draft, due_on,
                                     decline_reason, created_at, updated_at)
SELECT id,
       CASE kind WHEN 'national_event' THEN 'event_materials' ELSE kind END,
       iso3, requester_id, response_id, subject, details,
       CASE status WHEN 'open' THEN 'new' WHEN 'assigned' THEN 'accepted' ELSE status END,
       assignee_id, draft, NULL, '', created_at, updated_at
FROM assistance_requests;

DROP TABLE assistance_requests;
ALTER TABLE assistance_requests_017 RENAME TO assistance_requests;
CREATE INDEX assistance_requests_status ON assistance_requests (status, id);
CREATE INDEX assistance_requests_requester ON assistance_requests (requester_id);

-- The conversation: the requester, the steering committee and the admins
-- write in it; every state change leaves a line too (event is the new
-- state, body the reason given, if any), so the thread is the history.
-- owner: src/feat/assistance.c
CREATE TABLE assistance_messages (
    id          INTEGER PRIMARY KEY,
    request_id  INTEGER NOT NULL REFERENCES assistance_requests (id) ON DELETE CASCADE,
    author_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    event       TEXT NOT NULL DEFAULT '',     -- '' for a message, else the state reached
    body        TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);
CREATE INDEX assistance_messages_request ON assistance_messages (request_id, id);

-- Files sent with a request or a message: kept in the database (both
-- engines, and backups, hold them), PDF, PNG or JPEG by their first bytes,
-- under a sanitised name, served only as downloads.
-- owner: src/feat/assistance.c
CREATE TABLE assistance_attachments (
    id           INTEGER PRIMARY KEY,
    request_id   INTEGER NOT NULL REFERENCES assistance_requests (id) ON DELETE CASCADE,
    message_id   INTEGER REFERENCES assistance_messages (id) ON DELETE CASCADE,
    uploader_id  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    file_name    TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size         INTEGER NOT NULL,
    content      BLOB NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX assistance_attachments_request ON assistance_attachments (request_id, id);

-- The coalition's steering committee: users (of any role) an admin named.
-- They see and answer every request for support, and records whose
-- visibility is 'committee' (svc/visibility.h); nothing else of the admins'.
-- owner: src/feat/assistance.c
CREATE TABLE steering_committee (
    user_id   INTEGER NOT NULL PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    added_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    added_at  INTEGER NOT NULL
);
