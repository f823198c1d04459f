-- 014_untc_review.sql: keeping the treaty record current from the UN Treaty
-- Collection with a person in the loop (issue 11 item 3). `ratify untc
-- check` and the opt-in daily job fetch an instrument's live status page,
-- record the run in untc_checks, and queue every difference from the
-- recorded actions in untc_changes; nothing reaches treaty_actions until
-- an administrator applies the change on /admin/untc.

-- One run of the check on one instrument's page: what was fetched, and
-- whether it could be read. A failed run (offline, a page that is not a
-- status page, counts that do not add up) changes nothing else.
-- owner: src/feat/untc_check.c
CREATE TABLE untc_checks (
    id            INTEGER PRIMARY KEY,
    instrument_id INTEGER NOT NULL REFERENCES instruments (id),
    url           TEXT NOT NULL,
    checked_at    INTEGER NOT NULL,
    outcome       TEXT NOT NULL CHECK (outcome IN ('ok', 'failed')),
    reason        TEXT NOT NULL DEFAULT '',      -- why it failed, in English
    queued        INTEGER NOT NULL DEFAULT 0     -- differences newly queued by this run
);
CREATE INDEX untc_checks_instrument ON untc_checks (instrument_id, checked_at);

-- The review queue: one difference between a page and the record. A
-- change is identified by what it would do (instrument, country, kind,
-- article, old and new date): a run that finds it again adds nothing
-- while it is pending, nor once it was rejected.
-- owner: src/feat/untc_check.c
CREATE TABLE untc_changes (
    id            INTEGER PRIMARY KEY,
    instrument_id INTEGER NOT NULL REFERENCES instruments (id),
    iso3          TEXT NOT NULL REFERENCES countries (iso3),
    kind          TEXT NOT NULL CHECK (kind IN ('signature', 'ratification', 'accession',
                                               'succession', 'declaration')),
    article       TEXT NOT NULL DEFAULT '',
    change_kind   TEXT NOT NULL CHECK (change_kind IN ('new', 'changed', 'vanished')),
    old_date      TEXT NOT NULL DEFAULT '',      -- '' for a new action
    new_date      TEXT NOT NULL DEFAULT '',      -- '' for a vanished one
    untc_text     TEXT NOT NULL DEFAULT '',      -- the page's row or statement, as read
    source_url    TEXT NOT NULL,
    check_id      INTEGER NOT NULL REFERENCES untc_checks (id),
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'applied',
                                                                  'rejected')),
    decided_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    decided_at    INTEGER
);
CREATE INDEX untc_changes_state ON untc_changes (state, instrument_id);
