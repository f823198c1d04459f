/*
 * member_io.h: members in and out in bulk: `ratify import members`,
 * `ratify export members`, the admin pages /admin/members/import (upload,
 * column mapping, dry run, apply with a progress page) and
 * /admin/members/export (CSV and XLSX downloads).
 *
 * An import reads a CSV file whose columns are mapped to the fields below,
 * validates every row on its own (a bad row is rejected, never guessed),
 * and dedupes people by their lowercased email. A dry run executes the
 * import inside one db_write whose apply ends with a non-OK result, so it
 * is rolled back: it reports exactly what applying would do and writes
 * nothing. Applying runs as a job (table member_imports): rows are written
 * in batches, each batch's rows and the job's rows_done counter in one
 * db_write, so a crash loses at most the batch in progress and running
 * the same import again resumes after the last committed batch.
 */
#ifndef RATIFY_MEMBER_IO_H
#define RATIFY_MEMBER_IO_H

#include <stdint.h>

#include "base/csv.h"
#include "svc/http.h"

/* The fields a column can be mapped to, in the order of member_io_fields
 * (which is also the column order of an export). */
typedef enum {
    MF_NAME,
    MF_EMAIL,
    MF_COUNTRY,
    MF_KIND,
    MF_ORGANISATION,
    MF_ORG_TYPE,
    MF_WEBSITE,
    MF_LANGUAGES,
    MF_LISTING,
    MF_STATUS,
    MF_CONSENT_UPDATES,
    MF_CREATED,
    MF_COUNT
} MemberField;

/* The field names ("name", "email", ... "created"), NULL-terminated. */
extern const char *const member_io_fields[];

/* What to do with a row whose email belongs to someone already. */
typedef enum {
    DUP_SKIP,   /* leave the person, organisation and membership as they are */
    DUP_UPDATE, /* overwrite them with every non-empty incoming field */
    DUP_FILL,   /* only fill their fields that are empty */
} OnDuplicate;

/* "skip", "update", "fill", NULL-terminated, indexed by OnDuplicate. */
extern const char *const member_io_duplicate_codes[];

/* Which column feeds which field. */
typedef struct {
    int field_of[CSV_MAX_FIELDS]; /* per header column: a MemberField, or -1 (ignored) */
    int column_of[MF_COUNT];      /* per field: its column, or -1 (not in the file) */
    size_t columns;               /* columns in the header */
} MemberMapping;

/* The field a header cell names: a field name or a common alias ("E-mail",
 * "Full name", "Organization", "ISO3" ...), compared case-insensitively
 * with surrounding spaces trimmed and '_' read as a space. -1 if none. */
int member_io_field(const char *header);

/* Fills m from a header record (the CsvReader after its first csv_next):
 * each column gets the field its header names, then each override
 * "COLUMN=FIELD" (COLUMN a header cell, compared like member_io_field;
 * FIELD a field name, or "ignore" or "" to drop the column) is applied.
 * Then member_io_mapping_check. On failure writes the reason to error
 * (in English) and returns R_BAD_REQUEST. */
Result member_io_mapping(const CsvReader *header, const char *const *overrides,
                         size_t override_count, MemberMapping *m, char *error, size_t error_size);

/* Recomputes m->column_of from m->field_of and checks that no field has two
 * columns and that name, email and country each have one. Returns R_OK or
 * R_BAD_REQUEST with the reason (in English) in error. */
Result member_io_mapping_check(MemberMapping *m, char *error, size_t error_size);

/* Canonical text of an import's options (the mapping and the duplicate
 * strategy), which with the file's SHA-256 identifies a job. The caller
 * frees it with free(). */
char *member_io_options(const MemberMapping *m, OnDuplicate dup);

/* The reverse, for a stored job: fills m (for a file whose header has
 * columns columns) and *dup. Returns R_OK or R_BAD_REQUEST. */
Result member_io_options_parse(const char *options, size_t columns, MemberMapping *m,
                               OnDuplicate *dup);

/* One data row, validated and normalised. */
typedef struct {
    size_t line;             /* where the row starts in the file (the header is line 1) */
    int organisation;        /* 1: an organisation's membership, 0: an individual's */
    char name[801];          /* up to 200 characters of up to 4 bytes */
    char email[255];         /* lowercased */
    char iso3[4];            /* "ARG" */
    char org_name[801];      /* organisations only */
    const char *org_type;    /* a code of org_type_codes, or NULL when not given */
    char website[301];       /* "" when not given */
    char languages[65];      /* space-separated codes, "" when not given */
    const char *listing;     /* public, members or hidden: as given, or the default */
    int listing_given;       /* 1 if the file said which */
    const char *status;      /* as given, or "active" */
    int status_given;        /* 1 if the file said which */
    int consent_updates;     /* 1 or 0 as given, -1 when not given */
    int64_t created_at;      /* membership start, from a YYYY-MM-DD date; 0 when not given */
    const char *error;       /* NULL, or what is wrong with the row (a msgid) */
    const char *error_field; /* the field the error concerns, or NULL */
} MemberRow;

/* The countries an import accepts (ISO3 codes and English names). */
typedef struct {
    char (*iso3)[4];
    char (*name_en)[96];
    size_t count;
} CountryNames;

/* Loads every country of db into c. Returns R_OK or R_INTERNAL. Free with
 * member_io_countries_free. */
Result member_io_countries(Db *db, CountryNames *c);
void member_io_countries_free(CountryNames *c);

/* Validates one data record (fields[0..count) as read by csv_next) under
 * mapping m and fills row; row->error says what is wrong, if anything:
 * a required field missing (name, email, country; organisation and org_type
 * for an organisation), an invalid email, a country that is neither an ISO3
 * code nor exactly an English name, a value outside an enumeration, a name
 * or organisation over 200 characters, invalid UTF-8 or control characters,
 * more fields than the header. Returns 1 when the row is valid, 0 if not. */
int member_io_parse_row(const MemberMapping *m, const CountryNames *countries, char *const *fields,
                        size_t count, size_t line, MemberRow *row);

/* The value a duplicate ends up with: incoming under DUP_UPDATE when it is
 * not empty, incoming under DUP_FILL when current is empty, else current.
 * Returns one of its two arguments. */
const char *member_io_merge(OnDuplicate dup, const char *current, const char *incoming);

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
Result member_io_dry_run(Db *db, const char *csv, size_t len, const MemberMapping *m,
                         OnDuplicate dup, ImportRowFn on_row, void *ctx, ImportTotals *totals,
                         char *error, size_t error_size);

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
Result member_io_job_find(Db *db, const char *sha256, const char *options, ImportJob *job);

/* Job by id. Returns R_OK or R_NOT_FOUND. */
Result member_io_job_load(Db *db, int64_t id, ImportJob *job);

/* Creates a running job for csv[0..len) with total_rows data rows; stores
 * the file in the job when keep_content is set (web uploads, which must
 * survive between requests). Returns R_OK or R_INTERNAL. */
Result member_io_job_create(Db *db, const char *csv, size_t len, const char *options,
                            int64_t total_rows, int keep_content, int64_t user_id, ImportJob *job);

/* Continues job: processes up to max_rows more rows of csv[0..len) (0: no
 * limit) in batches, each batch and the job's counters committed together.
 * The last batch marks the job done, drops any stored file and writes the
 * audit entry "members imported" with the counts. on_row (may be NULL) is
 * called per row; progress (may be NULL) after every batch with the rows
 * done and the total. On a failure the job is marked failed; running it
 * again retries. Returns R_OK (job reloaded into *job), R_BAD_REQUEST with
 * error set, or R_INTERNAL. */
Result member_io_job_run(Db *db, ImportJob *job, const char *csv, size_t len,
                         const MemberMapping *m, OnDuplicate dup, int64_t max_rows,
                         ImportRowFn on_row, void *ctx,
                         void (*progress)(void *ctx, int64_t done, int64_t total), char *error,
                         size_t error_size);

/* Writes every membership as CSV (header: the field names) to out: one row
 * per membership with the person, organisation, country, kind, status,
 * languages, listing, consent to updates and date created, every cell
 * through escape_csv. Returns the number of rows. */
int64_t member_io_export_csv(Db *db, Buf *out);

/* The same as an XLSX workbook at path, every cell a string (never a
 * formula) neutralised like escape_csv's. Returns the number of rows, or
 * -1 with the reason on stderr. */
int64_t member_io_export_xlsx(Db *db, const char *path);

/* `ratify import members FILE.csv [--map COLUMN=FIELD]... [--on-duplicate
 * skip|update|fill] [--apply] [--errors ERRORS.csv]`. */
Result member_io_import_cmd(Db *db, int argc, char **argv);

/* `ratify export members [--format csv|xlsx] [--out FILE]`. */
Result member_io_export_cmd(Db *db, int argc, char **argv);

#endif
