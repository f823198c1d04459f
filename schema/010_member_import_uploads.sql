-- 010_member_import_uploads.sql: the file of a web import lives on the
-- server from its upload on (issue 9, item 7), so the later steps of
-- /admin/members/import (the column mapping, the dry run, the rejected
-- rows, the apply) carry only the upload's id, and the browser no longer
-- posts the whole file back at each step (src/feat/member_import.c).
--
-- An upload belongs to the admin who sent it: another admin's id is not
-- found. Applying it creates the job and moves the content into the job's
-- file (member_import_files, 004) in the same transaction; the upload row
-- stays, without content, pointing at its job, so that applying twice (a
-- double click) leads to the same job. Housekeeping deletes uploads a day
-- old, and the file of a web job left idle for a week
-- (member_import_expire): personal data is not kept once abandoned.

-- owner: src/feat/member_import.c
CREATE TABLE member_import_uploads (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    content      BLOB,                       -- the CSV file; NULL once applied
    import_id    INTEGER REFERENCES member_imports (id) ON DELETE SET NULL, -- the job it became
    uploaded_at  INTEGER NOT NULL
);
CREATE INDEX member_import_uploads_time ON member_import_uploads (uploaded_at);
