-- 008_private_drafts.sql: a letter is private to its author (and the
-- administrators) until the author shares it or records it sent.
--
-- Until now a new letter took the column default, 'country', so every draft
-- was shown to the whole national coalition without its author being asked.
-- Unsent drafts become private; letters already sent keep the visibility
-- their authors chose when recording them.
--
-- The column default stays 'country' in the schema: SQLite cannot alter a
-- default, and rebuilding letters (CREATE, copy, DROP, RENAME) would, with
-- foreign keys on inside the migration's transaction, cascade the DROP to
-- every response. The default is enforced where letters are written
-- instead: the one INSERT (letter.c, letter_create_post) always names the
-- visibility, 'private' unless the author chose otherwise on the form.

UPDATE letters SET visibility = 'private' WHERE status = 'draft';
