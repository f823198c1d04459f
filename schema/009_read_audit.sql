-- 009_read_audit.sql: reads of personal data go to the audit log too, so
-- the coalition can tell who looked at whom (issue 8, item 6).
--
-- A page view that shows personal data is one audit_log row (kind 'read')
-- naming the view ("members directory viewed"), and one audit_subjects row
-- per person or organisation it showed. "Who viewed my data" is then an
-- index lookup on audit_subjects by (subject_type, subject_id). The rows
-- hold ids only: never a name, an address or any other content.
--
-- actor_role is the reader's role when they read (admin, coordinator,
-- member; 'cli' for the command line, 'token' for an API token), so the
-- entry still says what kind of reader it was after an account is closed.
-- Housekeeping deletes read entries after a year (housekeeping.c).

ALTER TABLE audit_log ADD COLUMN kind TEXT NOT NULL DEFAULT 'change'
    CHECK (kind IN ('change', 'read'));
ALTER TABLE audit_log ADD COLUMN actor_role TEXT NOT NULL DEFAULT '';
ALTER TABLE audit_log ADD COLUMN api_token_id INTEGER
    REFERENCES api_tokens (id) ON DELETE SET NULL;
CREATE INDEX audit_log_user ON audit_log (user_id, at);

-- owner: src/svc/audit.c
CREATE TABLE audit_subjects (
    entry_id     INTEGER NOT NULL REFERENCES audit_log (id) ON DELETE CASCADE,
    subject_type TEXT NOT NULL
                 CHECK (subject_type IN ('person', 'organisation', 'letter', 'response')),
    subject_id   INTEGER NOT NULL,
    PRIMARY KEY (subject_type, subject_id, entry_id)
);
-- For the cascade when housekeeping deletes old entries, and for counting.
CREATE INDEX audit_subjects_entry ON audit_subjects (entry_id);
