-- 025_notification_kinds.sql: staff told of more of their work (issue 14):
-- corrections proposed to government contacts, letters overdue, and the
-- secretariat's reviews (UNTC changes, UPR recommendations), besides the
-- applications of 023.
--
-- notification_items is rebuilt (create, copy, drop, rename): SQLite cannot
-- change a CHECK constraint, and the kinds grow. n is how many the item
-- stands for (a UNTC check queues several changes in one item); old rows
-- keep their ids and stand for one. No table refers to it. PostgreSQL's
-- identity goes on after the largest id once migrations ran.

-- owner: src/feat/notification.c
CREATE TABLE notification_items_025 (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind       TEXT NOT NULL CHECK (kind IN ('application', 'correction', 'letter_overdue',
                                             'untc_review', 'upr_review')),
    iso3       TEXT NOT NULL DEFAULT '',   -- '' for the reviews, which are no country's
    n          INTEGER NOT NULL DEFAULT 1 CHECK (n > 0),
    created_at INTEGER NOT NULL
);

INSERT INTO notification_items_025 (id, user_id, kind, iso3, n, created_at)
SELECT id, user_id, kind, iso3, 1, created_at FROM notification_items;

DROP TABLE notification_items;
ALTER TABLE notification_items_025 RENAME TO notification_items;
CREATE INDEX notification_items_user ON notification_items (user_id, id);

-- Letters whose being overdue (status no_response, set by letter_remind)
-- was put in the staff's digests: each is told once. A letter sent again
-- leaves this table (the digest job forgets letters no longer overdue), so
-- if it is overdue again it is told again.
-- owner: src/feat/notification.c
CREATE TABLE notification_letters_told (
    letter_id INTEGER NOT NULL REFERENCES letters (id) ON DELETE CASCADE,
    told_at   INTEGER NOT NULL,
    PRIMARY KEY (letter_id)
);
