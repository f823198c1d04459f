-- 026_notification_assistance.sql: new requests for support follow the
-- staff's choice of an email at once or a daily digest (issue 14), as
-- applications and corrections do: the kind 'assistance' joins the items.
--
-- notification_items is rebuilt as in 025 (SQLite cannot change a CHECK
-- constraint); rows keep their ids, and PostgreSQL's identity goes on
-- after the largest id once migrations ran. No table refers to it.

-- owner: src/feat/notification.c
CREATE TABLE notification_items_026 (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('application', 'correction', 'letter_overdue',
                                             'untc_review', 'upr_review', 'assistance')),
    iso3       TEXT NOT NULL DEFAULT '',   -- '' for the reviews, which are no country's
    n          INTEGER NOT NULL DEFAULT 1 CHECK (n > 0),
    created_at INTEGER NOT NULL
);

INSERT INTO notification_items_026 (id, user_id, kind, iso3, n, created_at)
SELECT id, user_id, kind, iso3, n, created_at FROM notification_items;

DROP TABLE notification_items;
ALTER TABLE notification_items_026 RENAME TO notification_items;
CREATE INDEX notification_items_user ON notification_items (user_id, id);
