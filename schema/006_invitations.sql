-- 006_invitations.sql: a contact person invites a colleague to join their
-- organisation's profile. Only a hash of the emailed token is stored; the
-- invited address is kept until the invitation is used or expires.

-- owner: src/feat/invitation.c
CREATE TABLE invitations (
    id          INTEGER PRIMARY KEY,
    token_hash  TEXT NOT NULL UNIQUE,
    org_id      INTEGER NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    invited_by  INTEGER REFERENCES users (id) ON DELETE SET NULL,
    email       TEXT NOT NULL,
    role        TEXT NOT NULL CHECK (role IN ('contact', 'staff')),
    title       TEXT NOT NULL DEFAULT '',
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
);
