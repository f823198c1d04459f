-- 004_member_imports.sql: import jobs for `ratify import members` and
-- /admin/members/import (src/member_io.c).
--
-- A job is matched by the file's SHA-256 and the import's options (the
-- column mapping and the duplicate strategy, as canonical JSON). Its rows
-- are written in batches; each batch's rows and rows_done are committed in
-- the same transaction, so after a crash rows_done says exactly where to
-- resume. The counters hold numbers only: no personal data, which lives in
-- people and organisations (003).

-- owner: src/feat/member_import.c
CREATE TABLE member_imports (
    id           INTEGER PRIMARY KEY,
    file_sha256  TEXT NOT NULL,                -- lowercase hex
    options      TEXT NOT NULL,                -- {"map":{"email":1,...},"on_duplicate":"skip"}
    total_rows   INTEGER NOT NULL,             -- data rows in the file (the header aside)
    rows_done    INTEGER NOT NULL DEFAULT 0,   -- data rows whose effect is committed
    status       TEXT NOT NULL DEFAULT 'running'
                 CHECK (status IN ('running', 'done', 'failed')),
    created      INTEGER NOT NULL DEFAULT 0,   -- memberships created
    updated      INTEGER NOT NULL DEFAULT 0,   -- duplicates overwritten (on-duplicate update)
    filled       INTEGER NOT NULL DEFAULT 0,   -- duplicates completed (on-duplicate fill)
    skipped      INTEGER NOT NULL DEFAULT 0,   -- duplicates left as they were
    rejected     INTEGER NOT NULL DEFAULT 0,   -- rows with errors
    started_by   INTEGER REFERENCES users (id) ON DELETE SET NULL, -- NULL: the command line
    started_at   INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL
);
CREATE INDEX member_imports_file ON member_imports (file_sha256, options);

-- The uploaded file of a job started from the web page, which runs a batch
-- per page view; deleted when the job is done. The command line reads its
-- file again to resume and stores none. Apart from member_imports, so that
-- updating a job's counters does not rewrite the file.
-- owner: src/feat/member_import.c
CREATE TABLE member_import_files (
    import_id    INTEGER PRIMARY KEY REFERENCES member_imports (id) ON DELETE CASCADE,
    content      BLOB NOT NULL
);
