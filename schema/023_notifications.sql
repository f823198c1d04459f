-- Staff told by email when work arrives (issue 14): each user's choice
-- between an email for every new item and one daily digest, and the items
-- waiting for the next digest (deleted once sent: they name only what
-- arrived and where, never a person).

-- owner: src/feat/notification.c
CREATE TABLE notification_settings (
    user_id        INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    mode           TEXT NOT NULL DEFAULT 'immediate' CHECK (mode IN ('immediate', 'digest')),
    last_digest_at INTEGER            -- when the last digest was sent; NULL: never
);

-- owner: src/feat/notification.c
CREATE TABLE notification_items (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('application')),
    iso3       TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
);
CREATE INDEX notification_items_user ON notification_items (user_id, id);
