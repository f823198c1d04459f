/*
 * member_io.h: what importing and exporting members share, with no request
 * and no handler: the fields a column can be mapped to, the mapping, the
 * validation of one row, reading a file as validated rows, merging a
 * duplicate's values, the countries an import accepts and private files.
 * The import engine, `ratify import members` and its pages are
 * member_import.h; the exports member_export.h.
 */
#ifndef RATIFY_MEMBER_IO_H
#define RATIFY_MEMBER_IO_H

#include <stdint.h>
#include <stdio.h>

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

/* The countries an import accepts: their ISO3 codes, and their names in
 * every language of country_names and their aliases, folded to lower case.
 * One entry per country and language, English first. */
typedef struct {
    char (*iso3)[4];   /* per entry: the country */
    char (*name)[128]; /* per entry: one of its names, folded */
    size_t count;
} CountryNames;

/* Loads every country of db into c, with the other spellings of
 * data/country-aliases.csv. Returns R_OK or R_INTERNAL. Free with
 * member_io_countries_free. */
Result member_io_countries(Db *db, CountryNames *c);
void member_io_countries_free(CountryNames *c);

/* The country value names: an ISO3 code (any case) or a name in any
 * language or an alias, matched exactly, case aside; NULL if none. Never a
 * guess. */
const char *member_io_country_find(const CountryNames *c, const char *value);

/* Validates one data record (fields[0..count) as read by csv_next) under
 * mapping m and fills row; row->error says what is wrong, if anything:
 * a required field missing (name, email, country; organisation and org_type
 * for an organisation), an invalid email, a country that is neither an ISO3
 * code nor exactly one of its names in some language (case aside), a value
 * outside an enumeration, a name or organisation over 200 characters,
 * invalid UTF-8 or control characters, more fields than the header. Returns 1 when the row is
 * valid, 0 if not. */
int member_io_parse_row(const MemberMapping *m, const CountryNames *countries, char *const *fields,
                        size_t count, size_t line, MemberRow *row);

/* The value a duplicate ends up with: incoming under DUP_UPDATE when it is
 * not empty, incoming under DUP_FILL when current is empty, else current.
 * Returns one of its two arguments. */
const char *member_io_merge(OnDuplicate dup, const char *current, const char *incoming);

/* A CSV file read as validated member rows. */
typedef struct {
    CsvReader csv;
    const MemberMapping *m;
    const CountryNames *countries;
    int64_t position; /* data rows read so far */
} MemberReader;

/* Opens csv[0..len) and reads its header; the caller then sets rr->m and
 * rr->countries. Returns R_OK or R_BAD_REQUEST (error set, in English).
 * Free with csv_free(&rr->csv). */
Result member_io_reader_open(MemberReader *rr, const char *csv, size_t len, char *error,
                             size_t error_size);

/* Reads and validates the next data row (member_io_parse_row, and a NUL
 * byte in the record is an error). Returns 1, 0 at the end of the file,
 * or -1 when the CSV is malformed (error set). */
int member_io_reader_next(MemberReader *rr, MemberRow *row, char *error, size_t error_size);

/* Files of personal data (an export, rejected rows): created readable by
 * their owner only. member_io_create_private returns NULL on failure
 * (errno set); member_io_write_file writes b to path and says on stderr
 * what failed. */
FILE *member_io_create_private(const char *path);
Result member_io_write_file(const char *path, const Buf *b);

/* The whole file at path, NUL-terminated, its length in *len; free() it.
 * NULL if it cannot be read. */
char *member_io_read_file(const char *path, size_t *len);

#endif
