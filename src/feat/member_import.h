/*
 * member_import.h: members in, in bulk: the import engine and `ratify
 * import members`. The admin pages /admin/members/import (upload, column
 * mapping, dry run, apply with a progress page) are
 * member_import_wizard.c, which writes the import tables only through the
 * functions here.
 *
 * An import reads a CSV file whose columns are mapped to the fields of
 * member_io.h, validates every row on its own (a bad row is rejected,
 * never guessed), and dedupes people by their lowercased email. A dry run
 * executes the import inside one db_write whose apply ends with a non-OK
 * result, so it is rolled back: it reports exactly what applying would do
 * and writes nothing. Applying runs as a job (table member_imports): rows
 * are written in batches, each batch's rows and the job's rows_done
 * counter in one db_write, so a crash loses at most the batch in progress
 * and running the same import again resumes after the last committed
 * batch.
 */
#ifndef RATIFY_MEMBER_IMPORT_H
#define RATIFY_MEMBER_IMPORT_H

#include "feat/member_io.h"

/* What an import did, or would do, in all. */
typedef struct {
    int64_t rows; /* data rows read */
    int64_t created, updated, filled, skipped, rejected;
} ImportTotals;

/* Called for every row an import processes: action is "create", "update",
 * "fill", "skip" or "error"; note is a msgid or a list of field names. */
typedef void (*ImportRowFn)(void *ctx, const MemberRow *row, const char *action, const char *note);

/* Dry run: executes the import of csv[0..len) under m and dup inside one
 * db_write that is rolled back, so that it reports exactly what applying
 * would do (rows repeated in the file included); it holds the write lock
 * meanwhile (about a second per 50,000 rows). Calls on_row (may be NULL)
 * for each row. Fills totals. Returns R_OK, R_BAD_REQUEST (the file itself is
 * unreadable: error says why, in English) or R_INTERNAL. */
Result member_import_dry_run(Db *db, const char *csv, size_t len, const MemberMapping *m,
                             OnDuplicate dup, ImportRowFn on_row, void *ctx, ImportTotals *totals,
                             char *error, size_t error_size);

/* Counts the data rows of csv[0..len), which also checks that the whole
 * file is CSV, and when errors is not NULL validates them (against
 * countries) and appends the rejected ones to errors as CSV (the original
 * columns and an "error" column), with their number in t->rejected.
 * Without errors the rows are only counted: the import validates each row
 * anyway. Fills t. Returns R_OK, or R_BAD_REQUEST with error set (in
 * English) when the file is not CSV. */
Result member_import_check_file(const char *csv, size_t len, const MemberMapping *m,
                                const CountryNames *countries, Buf *errors, ImportTotals *t,
                                char *error, size_t error_size);

/* The SHA-256 of data[0..len) in lowercase hex, by which a job knows its
 * file (member_import_job_find). */
void member_import_sha256(const char *data, size_t len, char out[65]);

/* An import job (a row of member_imports). */
typedef struct {
    int64_t id;
    char status[8]; /* running, done, failed */
    char sha256[65];
    int64_t total_rows, rows_done;
    ImportTotals totals; /* so far */
    int64_t started_by;  /* user id, 0 for the command line */
    int64_t started_at, updated_at;
    int has_content; /* the file is stored in the job (web uploads) */
} ImportJob;

/* The latest job for a file (its SHA-256 in hex) and options. Returns
 * R_OK, R_NOT_FOUND or R_INTERNAL. */
Result member_import_job_find(Db *db, const char *sha256, const char *options, ImportJob *job);

/* Job by id. Returns R_OK or R_NOT_FOUND. */
Result member_import_job_load(Db *db, int64_t id, ImportJob *job);

/* Creates a running job for csv[0..len) with total_rows data rows; stores
 * the file in the job when keep_content is set (web uploads, which must
 * survive between requests). Returns R_OK or R_INTERNAL. */
Result member_import_job_create(Db *db, const char *csv, size_t len, const char *options,
                                int64_t total_rows, int keep_content, int64_t user_id,
                                ImportJob *job);

/* The web's apply: creates a running job like member_import_job_create
 * (csv[0..len) is the upload's content, for its hash), whose file is
 * taken from upload upload_id of user_id in the same transaction. Returns
 * R_OK, R_NOT_FOUND when the upload is gone or was applied meanwhile, or
 * R_INTERNAL. */
Result member_import_job_create_from_upload(Db *db, const char *csv, size_t len,
                                            const char *options, int64_t total_rows,
                                            int64_t upload_id, int64_t user_id, ImportJob *job);

/* Sets the failed job id running again, to be retried (the same command
 * run again, or the retry link of its page); a job that is not failed is
 * left as it is. Returns R_OK or R_INTERNAL. */
Result member_import_job_retry(Db *db, int64_t id);

/* Stores the file of a web import (csv[0..len), user_id's upload) from
 * the wizard's first step on, so that the later steps carry only *id and
 * the browser never sends the file back. Returns R_OK or R_INTERNAL. */
Result member_import_upload_add(Db *db, int64_t user_id, const char *csv, size_t len, int64_t *id);

/* When the file was imported already, or its import is under way: drops
 * upload upload_id's content (that job has the file, or the command line
 * reads it) and points it at job import_id, so that a second apply of the
 * same upload (a double click) leads to the job too. Returns R_OK or
 * R_INTERNAL. */
Result member_import_upload_link(Db *db, int64_t upload_id, int64_t user_id, int64_t import_id);

/* Housekeeping, inside its db_write: deletes the files of abandoned web
 * imports, which hold personal data: uploads a day old (applied or not:
 * an applied one has moved its file into its job) and the file of a web
 * job nobody has run for a week (a running one is marked failed). */
Result member_import_expire(Db *w, int64_t now);

/* The same as an hourly job of housekeeping (an HourlyJob, for main.c's
 * table: housekeeping.c, a floor below, cannot call into feat), in its own
 * db_write. */
Result member_import_hourly(Db *db, const char *base_url);

/* Continues job: processes up to max_rows more rows of csv[0..len) (0: no
 * limit) in batches, each batch and the job's counters committed together.
 * The last batch marks the job done, drops any stored file and writes the
 * audit entry "members imported" with the counts. on_row (may be NULL) is
 * called per row; progress (may be NULL) after every batch with the rows
 * done and the total. On a failure the job is marked failed; running it
 * again retries. Returns R_OK (job reloaded into *job), R_BAD_REQUEST with
 * error set, or R_INTERNAL. */
Result member_import_job_run(Db *db, ImportJob *job, const char *csv, size_t len,
                             const MemberMapping *m, OnDuplicate dup, int64_t max_rows,
                             ImportRowFn on_row, void *ctx,
                             void (*progress)(void *ctx, int64_t done, int64_t total), char *error,
                             size_t error_size);

/* `ratify import members FILE.csv [--map COLUMN=FIELD]... [--on-duplicate
 * skip|update|fill] [--apply] [--errors ERRORS.csv]`. */
Result member_import_cmd(Db *db, int argc, char **argv);

#endif
