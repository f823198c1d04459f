/*
 * member_io.c: members in and out in bulk (see member_io.h): the column
 * mapping, row validation, the writer shared by dry runs and jobs, import
 * jobs that resume after a crash, CSV and XLSX exports, the command-line
 * commands and the admin pages.
 *
 * Invariants: people are deduplicated by lowercased email; an imported
 * person gets no login account and no email; every new membership records
 * consent_store_at as the time of the import; a job's rows and its
 * rows_done counter are committed in the same db_write, so rows_done is
 * exactly the number of data rows whose effect is in the database; the
 * audit log gets counts and ids only, never a name or an address; every
 * exported cell is neutralised against formula injection.
 */
#include "feat/handlers.h"
#include "feat/member_io.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <xlsxwriter.h>

#include "svc/audit.h"
#include "feat/member.h"

/* Rows per db_write (measured on 100,000 rows: 500 per batch took 6 s,
 * 1000 took 4.8 s, 2000 took 4 s; a crash loses at most one batch), per
 * page view of a web job, and shown in a web dry run (rows with errors are
 * always shown). */
enum { BATCH_ROWS = 1000, WEB_ROWS_PER_VIEW = 2000, PREVIEW_ROWS_SHOWN = 2000 };

/* The largest file the pages take: the later steps post it back in base64,
 * a third larger, and a body over 1 MiB (the server's default limit) is
 * refused. Larger files go through `ratify import members`. */
enum { WEB_MAX_FILE = 700 * 1024 };

const char *const member_io_fields[] = {
    "name",    "email",     "country", "kind",   "organisation",    "org_type",
    "website", "languages", "listing", "status", "consent_updates", "created",
    NULL};
static const char *const field_labels[] = {N_("Name"),
                                           N_("Email"),
                                           N_("Country"),
                                           N_("Individual or organisation"),
                                           N_("Organisation"),
                                           N_("Type of organisation"),
                                           N_("Website"),
                                           N_("Languages"),
                                           N_("Listing"),
                                           N_("Membership status"),
                                           N_("Consent to updates"),
                                           N_("Member since"),
                                           NULL};

const char *const member_io_duplicate_codes[] = {"skip", "update", "fill", NULL};
static const char *const duplicate_labels[] = {
    N_("Skip: leave members who are already registered as they are"),
    N_("Update: overwrite their details with what the file says"),
    N_("Fill: only add details that are missing"), NULL};

static const char *const kind_codes[] = {"individual", "organisation", NULL};
static const char *const listing_codes[] = {"public", "members", "hidden", NULL};
static const char *const status_codes[] = {"pending", "active", "lapsed", "left", "declined", NULL};
/* A job's status, shown translated on the pages. */
static const char *const job_statuses[] = {N_("running"), N_("done"), N_("failed"), NULL};

/* Header names people use for each field, written as member_io_field
 * compares them: lowercase, '_' as a space. */
static const struct {
    const char *alias;
    MemberField field;
} aliases[] = {
    {"full name", MF_NAME},
    {"contact name", MF_NAME},
    {"contact person", MF_NAME},
    {"e-mail", MF_EMAIL},
    {"mail", MF_EMAIL},
    {"email address", MF_EMAIL},
    {"e-mail address", MF_EMAIL},
    {"iso3", MF_COUNTRY},
    {"country code", MF_COUNTRY},
    {"member type", MF_KIND},
    {"membership type", MF_KIND},
    {"organization", MF_ORGANISATION},
    {"org", MF_ORGANISATION},
    {"organisation name", MF_ORGANISATION},
    {"organization name", MF_ORGANISATION},
    {"type", MF_ORG_TYPE},
    {"organisation type", MF_ORG_TYPE},
    {"organization type", MF_ORG_TYPE},
    {"type of organisation", MF_ORG_TYPE},
    {"type of organization", MF_ORG_TYPE},
    {"web site", MF_WEBSITE},
    {"url", MF_WEBSITE},
    {"language", MF_LANGUAGES},
    {"visibility", MF_LISTING},
    {"membership status", MF_STATUS},
    {"updates", MF_CONSENT_UPDATES},
    {"consent to updates", MF_CONSENT_UPDATES},
    {"member since", MF_CREATED},
    {"joined", MF_CREATED},
    {"date joined", MF_CREATED},
    {"created at", MF_CREATED},
};

/* Row messages (msgids): what is wrong with a value. */
static const char *const MSG_REQUIRED = N_("required");
static const char *const MSG_CHARACTERS = N_("invalid UTF-8 or control characters");
static const char *const MSG_TOO_LONG = N_("too long");

/* ---- mapping ---- */

/* Writes header lowercased, trimmed, with '_' as a space and runs of
 * spaces as one. Returns 0, or -1 if it does not fit. */
static int normalise_header(const char *header, char *out, size_t size)
{
    size_t n = 0;
    int space = 0;
    for (const char *p = header; *p; p++) {
        char c = *p == '_' ? ' ' : *p;
        if (c == ' ' || c == '\t') {
            space = n > 0;
            continue;
        }
        if (space) {
            if (n + 1 >= size)
                return -1;
            out[n++] = ' ';
            space = 0;
        }
        if (n + 1 >= size)
            return -1;
        out[n++] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
    }
    out[n] = 0;
    return 0;
}

int member_io_field(const char *header)
{
    char norm[64], field[64];
    if (!header || normalise_header(header, norm, sizeof norm) != 0 || !norm[0])
        return -1;
    for (int f = 0; f < MF_COUNT; f++)
        if (normalise_header(member_io_fields[f], field, sizeof field) == 0 &&
            strcmp(norm, field) == 0)
            return f;
    for (size_t i = 0; i < sizeof aliases / sizeof aliases[0]; i++)
        if (strcmp(norm, aliases[i].alias) == 0)
            return (int)aliases[i].field;
    return -1;
}

Result member_io_mapping_check(MemberMapping *m, char *error, size_t error_size)
{
    for (int f = 0; f < MF_COUNT; f++)
        m->column_of[f] = -1;
    for (size_t c = 0; c < m->columns; c++) {
        int f = m->field_of[c];
        if (f < 0)
            continue;
        if (m->column_of[f] >= 0) {
            snprintf(error, error_size, "columns %d and %zu are both mapped to %s",
                     m->column_of[f] + 1, c + 1, member_io_fields[f]);
            return R_BAD_REQUEST;
        }
        m->column_of[f] = (int)c;
    }
    static const MemberField required[] = {MF_NAME, MF_EMAIL, MF_COUNTRY};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        if (m->column_of[required[i]] < 0) {
            snprintf(error, error_size, "no column is mapped to %s", member_io_fields[required[i]]);
            return R_BAD_REQUEST;
        }
    return R_OK;
}

Result member_io_mapping(const CsvReader *header, const char *const *overrides,
                         size_t override_count, MemberMapping *m, char *error, size_t error_size)
{
    memset(m, 0, sizeof *m);
    m->columns = header->count;
    for (size_t c = 0; c < CSV_MAX_FIELDS; c++)
        m->field_of[c] = c < header->count ? member_io_field(header->fields[c]) : -1;
    Result res = R_OK;
    for (size_t i = 0; i < override_count && res == R_OK; i++) {
        const char *eq = strrchr(overrides[i], '=');
        char column[128], wanted[64], norm[64];
        if (!eq || (size_t)(eq - overrides[i]) >= sizeof column) {
            snprintf(error, error_size, "--map takes COLUMN=FIELD, not '%s'", overrides[i]);
            return R_BAD_REQUEST;
        }
        snprintf(column, sizeof column, "%.*s", (int)(eq - overrides[i]), overrides[i]);
        normalise_header(column, wanted, sizeof wanted);
        int found = -1;
        for (size_t c = 0; c < header->count; c++)
            if (normalise_header(header->fields[c], norm, sizeof norm) == 0 &&
                strcmp(norm, wanted) == 0) {
                if (found >= 0) {
                    snprintf(error, error_size, "two columns are called '%s'", column);
                    return R_BAD_REQUEST;
                }
                found = (int)c;
            }
        if (found < 0) {
            snprintf(error, error_size, "the file has no column '%s'", column);
            return R_BAD_REQUEST;
        }
        const char *field = eq + 1;
        if (!*field || strcasecmp(field, "ignore") == 0) {
            m->field_of[found] = -1;
            continue;
        }
        int f = member_io_field(field);
        if (f < 0) {
            snprintf(error, error_size,
                     "unknown field '%s' (one of name, email, country, kind, "
                     "organisation, org_type, website, languages, listing, "
                     "status, consent_updates, created, ignore)",
                     field);
            return R_BAD_REQUEST;
        }
        /* A column mapped by hand takes the field from any column the
         * default mapping gave it to. */
        for (size_t c = 0; c < header->count; c++)
            if (m->field_of[c] == f)
                m->field_of[c] = -1;
        m->field_of[found] = f;
    }
    return member_io_mapping_check(m, error, error_size);
}

char *member_io_options(const MemberMapping *m, OnDuplicate dup)
{
    json_t *map = json_object();
    for (int f = 0; f < MF_COUNT; f++)
        if (m->column_of[f] >= 0)
            json_object_set_new(map, member_io_fields[f], json_integer(m->column_of[f]));
    json_t *o =
        json_build("{s:s, s:o}", "on_duplicate", member_io_duplicate_codes[dup], "map", map);
    char *text = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(o);
    if (!text) {
        fprintf(stderr, "ratify: out of memory\n");
        abort();
    }
    return text;
}

Result member_io_options_parse(const char *options, size_t columns, MemberMapping *m,
                               OnDuplicate *dup)
{
    json_t *o = json_loads(options, 0, NULL);
    Result res = R_BAD_REQUEST;
    const char *d = json_string_value(json_object_get(o, "on_duplicate"));
    json_t *map = json_object_get(o, "map");
    if (!d || !json_is_object(map) || columns > CSV_MAX_FIELDS)
        goto done;
    memset(m, 0, sizeof *m);
    m->columns = columns;
    for (size_t c = 0; c < CSV_MAX_FIELDS; c++)
        m->field_of[c] = -1;
    int i;
    for (i = 0; member_io_duplicate_codes[i] && strcmp(member_io_duplicate_codes[i], d); i++)
        ;
    if (!member_io_duplicate_codes[i])
        goto done;
    *dup = (OnDuplicate)i;
    const char *key;
    json_t *value;
    json_object_foreach(map, key, value)
    {
        int f;
        for (f = 0; f < MF_COUNT && strcmp(member_io_fields[f], key); f++)
            ;
        json_int_t c = json_integer_value(value);
        if (f == MF_COUNT || !json_is_integer(value) || c < 0 || (size_t)c >= columns)
            goto done;
        m->field_of[c] = f;
    }
    char error[200];
    res = member_io_mapping_check(m, error, sizeof error);
done:
    json_decref(o);
    return res;
}

/* ---- countries ---- */

Result member_io_countries(Db *db, CountryNames *c)
{
    memset(c, 0, sizeof *c);
    size_t cap = 0;
    Stmt *st = db_prepare(db, "SELECT iso3, name_en FROM countries ORDER BY iso3");
    while (db_row(st)) {
        if (c->count == cap) {
            cap = cap ? cap * 2 : 256;
            c->iso3 = xrealloc(c->iso3, cap * sizeof *c->iso3);
            c->name_en = xrealloc(c->name_en, cap * sizeof *c->name_en);
        }
        snprintf(c->iso3[c->count], sizeof c->iso3[0], "%s", db_text(st, 0));
        snprintf(c->name_en[c->count], sizeof c->name_en[0], "%s", db_text(st, 1));
        c->count++;
    }
    return db_done(st);
}

void member_io_countries_free(CountryNames *c)
{
    free(c->iso3);
    free(c->name_en);
    memset(c, 0, sizeof *c);
}

/* An ISO3 code (any case) or an English name matched exactly, case aside. */
static const char *find_country(const CountryNames *c, const char *value)
{
    if (strlen(value) == 3) {
        char code[4];
        for (int i = 0; i < 3; i++)
            code[i] = (value[i] >= 'a' && value[i] <= 'z') ? (char)(value[i] - 32) : value[i];
        code[3] = 0;
        for (size_t i = 0; i < c->count; i++)
            if (strcmp(c->iso3[i], code) == 0)
                return c->iso3[i];
    }
    for (size_t i = 0; i < c->count; i++)
        if (strcasecmp(c->name_en[i], value) == 0)
            return c->iso3[i];
    return NULL;
}

/* ---- rows ---- */

static int row_error(MemberRow *row, int field, const char *message)
{
    if (!row->error) {
        row->error = message;
        row->error_field = field >= 0 ? member_io_fields[field] : NULL;
    }
    return 0;
}

static const char *cell(const MemberMapping *m, char *const *fields, size_t count, int field)
{
    int c = m->column_of[field];
    return c >= 0 && (size_t)c < count ? fields[c] : "";
}

static size_t text_length(const char *s, size_t n)
{
    size_t chars = 0;
    for (size_t i = 0; i < n; i++)
        chars += ((unsigned char)s[i] & 0xc0) != 0x80;
    return chars;
}

/* Copies a cell into out (size bytes) with surrounding spaces trimmed and a
 * spreadsheet's protective apostrophe before = + - @ dropped (the one our
 * own exports add, so that an export imports back as it was). Returns 0,
 * or the error: invalid UTF-8 or control characters, or longer than
 * max_chars characters. */
static const char *take(const char *value, char *out, size_t size, size_t max_chars)
{
    while (*value == ' ')
        value++;
    size_t n = strlen(value);
    while (n && value[n - 1] == ' ')
        n--;
    if (n >= 2 && value[0] == '\'' && strchr("=+-@", value[1])) {
        value++;
        n--;
    }
    out[0] = 0;
    if (!utf8_valid_text(value, n) || memchr(value, '\t', n) || memchr(value, '\r', n) ||
        memchr(value, '\n', n))
        return MSG_CHARACTERS;
    if (n >= size || text_length(value, n) > max_chars)
        return MSG_TOO_LONG;
    memcpy(out, value, n);
    out[n] = 0;
    return NULL;
}

static const char *code_in(const char *const *codes, const char *value)
{
    for (int i = 0; codes[i]; i++)
        if (strcasecmp(codes[i], value) == 0)
            return codes[i];
    return NULL;
}

/* Lowercases and turns , ; / into spaces, one space between codes. */
static int normalise_languages(char *s)
{
    size_t n = 0;
    int space = 0;
    for (size_t i = 0; s[i]; i++) {
        char c = s[i];
        if (c == ',' || c == ';' || c == '/' || c == ' ') {
            space = n > 0;
            continue;
        }
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || c == '-'))
            return -1;
        if (space)
            s[n++] = ' ';
        space = 0;
        s[n++] = c;
    }
    s[n] = 0;
    return n <= 64 ? 0 : -1;
}

/* "2021-03-15" as the Unix time of its midnight UTC, or -1. */
static int64_t parse_date(const char *s)
{
    int y, mo, d;
    char extra;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        sscanf(s, "%4d-%2d-%2d%c", &y, &mo, &d, &extra) != 3)
        return -1;
    if (y < 1900 || y > 2100 || mo < 1 || mo > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = mo - 1, .tm_mday = d};
    time_t t = timegm(&tm);
    /* timegm normalises 31 April to 1 May: refuse what it had to move. */
    if (tm.tm_mday != d || tm.tm_mon != mo - 1)
        return -1;
    return (int64_t)t;
}

int member_io_parse_row(const MemberMapping *m, const CountryNames *countries, char *const *fields,
                        size_t count, size_t line, MemberRow *row)
{
    memset(row, 0, sizeof *row);
    row->line = line;
    row->consent_updates = -1;
    row->status = "active";
    for (size_t c = m->columns; c < count; c++)
        if (fields[c][0])
            return row_error(row, -1, N_("this row has more fields than the header"));
    char small[32];
    const char *e;

    if ((e = take(cell(m, fields, count, MF_EMAIL), row->email, sizeof row->email, 254)))
        row_error(row, MF_EMAIL, e);
    for (char *p = row->email; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (!row->error && !row->email[0])
        row_error(row, MF_EMAIL, MSG_REQUIRED);
    else if (!row->error && !valid_email(row->email))
        row_error(row, MF_EMAIL, N_("not a valid email address"));

    if ((e = take(cell(m, fields, count, MF_NAME), row->name, sizeof row->name, 200)))
        row_error(row, MF_NAME, e);
    else if (!row->name[0])
        row_error(row, MF_NAME, MSG_REQUIRED);

    char country[128];
    if ((e = take(cell(m, fields, count, MF_COUNTRY), country, sizeof country, 100)))
        row_error(row, MF_COUNTRY,
                  e == MSG_TOO_LONG ? N_("unknown country (use an ISO3 code or the English name)")
                                    : e);
    else if (!country[0])
        row_error(row, MF_COUNTRY, MSG_REQUIRED);
    else {
        const char *iso3 = find_country(countries, country);
        if (iso3)
            snprintf(row->iso3, sizeof row->iso3, "%s", iso3);
        else
            row_error(row, MF_COUNTRY,
                      N_("unknown country (use an ISO3 code or the English name)"));
    }

    if ((e = take(cell(m, fields, count, MF_ORGANISATION), row->org_name, sizeof row->org_name,
                  200)))
        row_error(row, MF_ORGANISATION, e);
    if ((e = take(cell(m, fields, count, MF_KIND), small, sizeof small, 20)))
        row_error(row, MF_KIND, e);
    else if (!small[0])
        row->organisation = row->org_name[0] != 0;
    else if (strcasecmp(small, "organization") == 0 || code_in(kind_codes, small))
        row->organisation = strcasecmp(small, "individual") != 0;
    else
        row_error(row, MF_KIND, N_("must be individual or organisation"));

    char type[128];
    if ((e = take(cell(m, fields, count, MF_ORG_TYPE), type, sizeof type, 100)))
        row_error(row, MF_ORG_TYPE, e);
    else if (type[0]) {
        row->org_type = code_in(org_type_codes, type);
        for (int i = 0; !row->org_type && org_type_labels[i]; i++)
            if (strcasecmp(org_type_labels[i], type) == 0)
                row->org_type = org_type_codes[i];
        if (!row->org_type)
            row_error(row, MF_ORG_TYPE, N_("unknown type of organisation"));
    }

    if ((e = take(cell(m, fields, count, MF_WEBSITE), row->website, sizeof row->website, 300)))
        row_error(row, MF_WEBSITE, e);
    else if (row->website[0] && ((strncasecmp(row->website, "https://", 8) &&
                                  strncasecmp(row->website, "http://", 7)) ||
                                 strchr(row->website, ' ')))
        row_error(row, MF_WEBSITE, N_("a web address starts with https://"));

    if (row->organisation) {
        if (!row->org_name[0])
            row_error(row, MF_ORGANISATION, MSG_REQUIRED);
        if (!row->org_type && !type[0])
            row_error(row, MF_ORG_TYPE, MSG_REQUIRED);
    } else {
        if (row->org_name[0])
            row_error(row, MF_ORGANISATION, N_("given for an individual"));
        if (type[0])
            row_error(row, MF_ORG_TYPE, N_("given for an individual"));
        if (row->website[0])
            row_error(row, MF_WEBSITE, N_("given for an individual"));
    }

    if ((e = take(cell(m, fields, count, MF_LANGUAGES), row->languages, sizeof row->languages, 64)))
        row_error(row, MF_LANGUAGES, e);
    else if (normalise_languages(row->languages) != 0)
        row_error(row, MF_LANGUAGES, N_("use language codes separated by spaces, such as: en es"));

    if ((e = take(cell(m, fields, count, MF_LISTING), small, sizeof small, 20)))
        row_error(row, MF_LISTING, e);
    else if (small[0]) {
        row->listing = code_in(listing_codes, small);
        row->listing_given = 1;
        if (!row->listing)
            row_error(row, MF_LISTING, N_("must be public, members or hidden"));
    }
    if (!row->listing)
        row->listing = row->organisation ? "members" : "hidden";

    if ((e = take(cell(m, fields, count, MF_STATUS), small, sizeof small, 20)))
        row_error(row, MF_STATUS, e);
    else if (small[0]) {
        row->status = code_in(status_codes, small);
        row->status_given = 1;
        if (!row->status) {
            row->status = "active";
            row_error(row, MF_STATUS, N_("must be pending, active, lapsed, left or declined"));
        }
    }

    if ((e = take(cell(m, fields, count, MF_CONSENT_UPDATES), small, sizeof small, 20)))
        row_error(row, MF_CONSENT_UPDATES, e);
    else if (small[0]) {
        if (!strcasecmp(small, "yes") || !strcmp(small, "1") || !strcasecmp(small, "true"))
            row->consent_updates = 1;
        else if (!strcasecmp(small, "no") || !strcmp(small, "0") || !strcasecmp(small, "false"))
            row->consent_updates = 0;
        else
            row_error(row, MF_CONSENT_UPDATES, N_("must be yes or no"));
    }

    if ((e = take(cell(m, fields, count, MF_CREATED), small, sizeof small, 20)))
        row_error(row, MF_CREATED, e);
    else if (small[0] && (row->created_at = parse_date(small)) < 0) {
        row->created_at = 0;
        row_error(row, MF_CREATED, N_("must be a date written as YYYY-MM-DD"));
    }
    return row->error == NULL;
}

const char *member_io_merge(OnDuplicate dup, const char *current, const char *incoming)
{
    if (!incoming || !*incoming)
        return current;
    if (dup == DUP_UPDATE)
        return incoming;
    if (dup == DUP_FILL && (!current || !*current))
        return incoming;
    return current;
}

/* ---- reading a file row by row ---- */

typedef struct {
    CsvReader csv;
    const MemberMapping *m;
    const CountryNames *countries;
    int64_t position; /* data rows read so far */
} RowReader;

/* Opens csv[0..len) and reads its header. Returns R_OK or R_BAD_REQUEST
 * (error set). Free with csv_free(&rr->csv). */
static Result reader_open(RowReader *rr, const char *csv, size_t len, char *error,
                          size_t error_size)
{
    memset(rr, 0, sizeof *rr);
    csv_open(&rr->csv, csv, len);
    int rc = csv_next(&rr->csv);
    if (rc == 1)
        return R_OK;
    if (rc == 0)
        snprintf(error, error_size, "the file is empty");
    else
        snprintf(error, error_size, "line %zu: %s", rr->csv.line, rr->csv.error);
    return R_BAD_REQUEST;
}

/* Reads and validates the next data row. Returns 1, 0 at the end of the
 * file, or -1 when the CSV is malformed (error set). */
static int reader_next(RowReader *rr, MemberRow *row, char *error, size_t error_size)
{
    size_t start = rr->csv.pos;
    int rc = csv_next(&rr->csv);
    if (rc < 0)
        snprintf(error, error_size, "line %zu: %s", rr->csv.line, rr->csv.error);
    if (rc != 1)
        return rc;
    rr->position++;
    member_io_parse_row(rr->m, rr->countries, rr->csv.fields, rr->csv.count, rr->csv.line, row);
    /* A NUL byte ends a field early: look for one in the raw record. */
    if (!row->error && memchr(rr->csv.data + start, 0, rr->csv.pos - start))
        row_error(row, -1, MSG_CHARACTERS);
    return 1;
}

/* ---- writing rows ---- */

/* How rows are written, and what was done: the connection is not in it but
 * given to each helper that writes (the apply function's w). */
typedef struct {
    OnDuplicate dup;
    int64_t now;
    ImportTotals *totals;
    ImportRowFn on_row;
    void *ctx;
    char changed[160]; /* the fields a duplicate changed, for its note */
} RowWriter;

static void report(RowWriter *rw, const MemberRow *row, const char *action, const char *note)
{
    if (rw->on_row)
        rw->on_row(rw->ctx, row, action, note);
}

/* Keeps in current (size bytes) the merged value and notes the field when
 * it changes. Returns 1 if it changed. */
static int merge_into(RowWriter *rw, char *current, size_t size, const char *incoming,
                      const char *field)
{
    const char *v = member_io_merge(rw->dup, current, incoming);
    if (v == current || strcmp(v, current) == 0)
        return 0;
    snprintf(current, size, "%s", v);
    size_t n = strlen(rw->changed);
    if (!strstr(rw->changed, field))
        snprintf(rw->changed + n, sizeof rw->changed - n, "%s%s", n ? ", " : "", field);
    return 1;
}

static Result insert_membership(Db *w, RowWriter *rw, const MemberRow *row, int64_t person,
                                int64_t org)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO memberships (kind, person_id, org_id, iso3, status, not_government, "
           "consent_store_at, consent_updates, created_at) VALUES (:kind, :person, :org, "
           ":iso3, :status, 1, :now, :updates, :created)");
    db_bind_text(st, ":kind", row->organisation ? "organisation" : "individual");
    db_bind_int(st, ":person", person);
    if (org)
        db_bind_int(st, ":org", org);
    else
        db_bind_null(st, ":org");
    db_bind_text(st, ":iso3", row->iso3);
    db_bind_text(st, ":status", row->status);
    /* Consent to store the data: the coalition held it before and imports
     * it now, so the record of consent starts with the import. */
    db_bind_int(st, ":now", rw->now);
    db_bind_int(st, ":updates", row->consent_updates == 1);
    db_bind_int(st, ":created", row->created_at ? row->created_at : rw->now);
    Result rc = db_run(st);
    return rc == R_OK ? R_OK : R_INTERNAL;
}

static Result insert_organisation(Db *w, RowWriter *rw, const MemberRow *row, int64_t person,
                                  int64_t *org)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO organisations (name, iso3, org_type, website, languages, listing, "
           "created_at, updated_at) VALUES (:name, :iso3, :type, :website, :languages, "
           ":listing, :now, :now) RETURNING id");
    db_bind_text(st, ":name", row->org_name);
    db_bind_text(st, ":iso3", row->iso3);
    db_bind_text(st, ":type", row->org_type);
    db_bind_text(st, ":website", row->website);
    db_bind_text(st, ":languages", row->languages);
    db_bind_text(st, ":listing", row->listing);
    db_bind_int(st, ":now", rw->now);
    if (db_insert(st, org) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "INSERT INTO org_people (org_id, person_id, role) "
                       "VALUES (:org, :person, 'contact') ON CONFLICT DO NOTHING");
    db_bind_int(st, ":org", *org);
    db_bind_int(st, ":person", person);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* A new person, or 0 in *person when the email is registered already: one
 * statement either way, so the common case costs no lookup. */
static Result insert_person(Db *w, RowWriter *rw, const MemberRow *row, int64_t *person)
{
    Stmt *st =
        db_prepare(w, "INSERT INTO people (name, email, iso3, languages, listing, created_at, "
                      "updated_at) VALUES (:name, :email, :iso3, :languages, :listing, :now, :now) "
                      "ON CONFLICT (email) DO NOTHING RETURNING id");
    db_bind_text(st, ":name", row->name);
    db_bind_text(st, ":email", row->email);
    db_bind_text(st, ":iso3", row->iso3);
    db_bind_text(st, ":languages", row->languages);
    /* An organisation's contact is not listed unless they say so on their
     * own profile, as when joining: the listing is the organisation's. */
    db_bind_text(st, ":listing", row->organisation ? "hidden" : row->listing);
    db_bind_int(st, ":now", rw->now);
    *person = db_row(st) ? db_int(st, 0) : 0;
    return db_done(st);
}

/* Merges the row into an existing person (not under DUP_SKIP). */
static Result merge_person(Db *w, RowWriter *rw, const MemberRow *row, int64_t *person)
{
    char name[801], iso3[4], languages[65], listing[8];
    Stmt *st = db_prepare(w, "SELECT id, name, coalesce(iso3, ''), languages, listing "
                             "FROM people WHERE email = :email");
    db_bind_text(st, ":email", row->email);
    int found = db_row(st);
    if (found) {
        *person = db_int(st, 0);
        snprintf(name, sizeof name, "%s", db_text(st, 1));
        snprintf(iso3, sizeof iso3, "%s", db_text(st, 2));
        snprintf(languages, sizeof languages, "%s", db_text(st, 3));
        snprintf(listing, sizeof listing, "%s", db_text(st, 4));
    }
    db_done(st);
    if (!found)
        return R_INTERNAL;
    if (rw->dup == DUP_SKIP)
        return R_OK;
    int changed = merge_into(rw, name, sizeof name, row->name, "name");
    changed |= merge_into(rw, iso3, sizeof iso3, row->iso3, "country");
    /* For an organisation's row, languages and listing are the
     * organisation's, not its contact person's. */
    if (!row->organisation) {
        changed |= merge_into(rw, languages, sizeof languages, row->languages, "languages");
        if (row->listing_given)
            changed |= merge_into(rw, listing, sizeof listing, row->listing, "listing");
    }
    if (!changed)
        return R_OK;
    st = db_prepare(w, "UPDATE people SET name = :name, iso3 = :iso3, languages = :languages, "
                       "listing = :listing, updated_at = :now WHERE id = :id");
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":languages", languages);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", rw->now);
    db_bind_int(st, ":id", *person);
    return db_run(st);
}

/* Merges the row into an existing membership (not under DUP_SKIP). */
static Result merge_membership(Db *w, RowWriter *rw, const MemberRow *row, int64_t id,
                               const char *old_iso3, const char *old_status, int old_updates,
                               int64_t old_created)
{
    char iso3[4], status[16], updates[12], created[24];
    snprintf(iso3, sizeof iso3, "%s", old_iso3);
    snprintf(status, sizeof status, "%s", old_status);
    snprintf(updates, sizeof updates, "%d", old_updates ? 1 : 0);
    snprintf(created, sizeof created, "%lld", (long long)old_created);
    char in_updates[12] = "", in_created[24] = "";
    if (row->consent_updates >= 0)
        snprintf(in_updates, sizeof in_updates, "%d", row->consent_updates);
    if (row->created_at)
        snprintf(in_created, sizeof in_created, "%lld", (long long)row->created_at);
    int changed = merge_into(rw, iso3, sizeof iso3, row->iso3, "country");
    changed |=
        merge_into(rw, status, sizeof status, row->status_given ? row->status : "", "status");
    changed |= merge_into(rw, updates, sizeof updates, in_updates, "consent_updates");
    changed |= merge_into(rw, created, sizeof created, in_created, "created");
    if (!changed)
        return R_OK;
    Stmt *st = db_prepare(w, "UPDATE memberships SET iso3 = :iso3, status = :status, "
                             "consent_updates = :updates, created_at = :created WHERE id = :id");
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":status", status);
    db_bind_int(st, ":updates", strcmp(updates, "1") == 0);
    db_bind_int(st, ":created", strtoll(created, NULL, 10));
    db_bind_int(st, ":id", id);
    Result rc = db_run(st);
    return rc == R_OK ? R_OK : R_INTERNAL;
}

/* Merges the row into an existing organisation (not under DUP_SKIP). */
static Result merge_organisation(Db *w, RowWriter *rw, const MemberRow *row, int64_t id,
                                 const char *old_iso3, const char *old_type,
                                 const char *old_website, const char *old_languages,
                                 const char *old_listing)
{
    char iso3[4], type[32], website[301], languages[65], listing[8];
    snprintf(iso3, sizeof iso3, "%s", old_iso3);
    snprintf(type, sizeof type, "%s", old_type);
    snprintf(website, sizeof website, "%s", old_website);
    snprintf(languages, sizeof languages, "%s", old_languages);
    snprintf(listing, sizeof listing, "%s", old_listing);
    int changed = merge_into(rw, iso3, sizeof iso3, row->iso3, "country");
    changed |= merge_into(rw, type, sizeof type, row->org_type, "org_type");
    changed |= merge_into(rw, website, sizeof website, row->website, "website");
    changed |= merge_into(rw, languages, sizeof languages, row->languages, "languages");
    if (row->listing_given)
        changed |= merge_into(rw, listing, sizeof listing, row->listing, "listing");
    if (!changed)
        return R_OK;
    Stmt *st = db_prepare(
        w, "UPDATE organisations SET iso3 = :iso3, org_type = :type, website = :website, "
           "languages = :languages, listing = :listing, updated_at = :now WHERE id = :id");
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":type", type);
    db_bind_text(st, ":website", website);
    db_bind_text(st, ":languages", languages);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", rw->now);
    db_bind_int(st, ":id", id);
    Result rc = db_run(st);
    return rc == R_OK ? R_OK : R_INTERNAL;
}

/* The existing person's membership the row describes: their individual
 * membership, or that of their organisation of the same name. Fills the
 * ids (0: none) and the current values. */
typedef struct {
    int64_t org, membership;
    char org_iso3[4], org_type[32], website[301], languages[65], listing[8];
    char iso3[4], status[16];
    int updates;
    int64_t created;
} Existing;

static Result find_existing(Db *w, const MemberRow *row, int64_t person, Existing *x)
{
    memset(x, 0, sizeof *x);
    Stmt *st;
    if (!row->organisation) {
        st = db_prepare(w, "SELECT id, iso3, status, consent_updates, created_at "
                           "FROM memberships WHERE person_id = :person "
                           "AND kind = 'individual' ORDER BY id LIMIT 1");
        db_bind_int(st, ":person", person);
        if (db_row(st)) {
            x->membership = db_int(st, 0);
            snprintf(x->iso3, sizeof x->iso3, "%s", db_text(st, 1));
            snprintf(x->status, sizeof x->status, "%s", db_text(st, 2));
            x->updates = (int)db_int(st, 3);
            x->created = db_int(st, 4);
        }
        return db_done(st);
    }
    st = db_prepare(w, "SELECT o.id, o.iso3, o.org_type, o.website, o.languages, o.listing, "
                       "coalesce(m.id, 0), coalesce(m.iso3, ''), coalesce(m.status, ''), "
                       "coalesce(m.consent_updates, 0), coalesce(m.created_at, 0) "
                       "FROM org_people op JOIN organisations o ON o.id = op.org_id "
                       "LEFT JOIN memberships m ON m.org_id = o.id AND m.person_id = op.person_id "
                       "WHERE op.person_id = :person AND o.name = :name COLLATE NOCASE "
                       "ORDER BY o.id, m.id LIMIT 1");
    db_bind_int(st, ":person", person);
    db_bind_text(st, ":name", row->org_name);
    if (db_row(st)) {
        x->org = db_int(st, 0);
        snprintf(x->org_iso3, sizeof x->org_iso3, "%s", db_text(st, 1));
        snprintf(x->org_type, sizeof x->org_type, "%s", db_text(st, 2));
        snprintf(x->website, sizeof x->website, "%s", db_text(st, 3));
        snprintf(x->languages, sizeof x->languages, "%s", db_text(st, 4));
        snprintf(x->listing, sizeof x->listing, "%s", db_text(st, 5));
        x->membership = db_int(st, 6);
        snprintf(x->iso3, sizeof x->iso3, "%s", db_text(st, 7));
        snprintf(x->status, sizeof x->status, "%s", db_text(st, 8));
        x->updates = (int)db_int(st, 9);
        x->created = db_int(st, 10);
    }
    return db_done(st);
}

/* Writes one valid row and reports what it did. */
static Result write_row(Db *w, RowWriter *rw, const MemberRow *row)
{
    int64_t person, org = 0;
    Result res = insert_person(w, rw, row, &person);
    if (res != R_OK)
        return res;
    if (person) {
        if (row->organisation)
            res = insert_organisation(w, rw, row, person, &org);
        if (res == R_OK)
            res = insert_membership(w, rw, row, person, org);
        if (res == R_OK) {
            rw->totals->created++;
            report(rw, row, N_("create"), N_("new member"));
        }
        return res;
    }
    rw->changed[0] = 0;
    Existing x;
    if ((res = merge_person(w, rw, row, &person)) != R_OK ||
        (res = find_existing(w, row, person, &x)) != R_OK)
        return res;
    if (!x.membership) {
        /* A membership the person does not have yet is new data, not a
         * duplicate: it is added whatever the strategy. */
        org = x.org;
        if (!org && row->organisation)
            res = insert_organisation(w, rw, row, person, &org);
        if (res == R_OK)
            res = insert_membership(w, rw, row, person, org);
        if (res == R_OK) {
            rw->totals->created++;
            report(rw, row, N_("create"), N_("new membership of someone already registered"));
        }
        return res;
    }
    if (rw->dup == DUP_SKIP) {
        rw->totals->skipped++;
        report(rw, row, N_("skip"), N_("already a member"));
        return R_OK;
    }
    if (x.org)
        res = merge_organisation(w, rw, row, x.org, x.org_iso3, x.org_type, x.website, x.languages,
                                 x.listing);
    if (res == R_OK)
        res = merge_membership(w, rw, row, x.membership, x.iso3, x.status, x.updates, x.created);
    if (res != R_OK)
        return res;
    if (!rw->changed[0]) {
        rw->totals->skipped++;
        report(rw, row, N_("skip"), N_("no change"));
    } else if (rw->dup == DUP_UPDATE) {
        rw->totals->updated++;
        report(rw, row, N_("update"), rw->changed);
    } else {
        rw->totals->filled++;
        report(rw, row, N_("fill"), rw->changed);
    }
    return R_OK;
}

/* Counts the data rows and, when errors is not NULL, writes the rejected
 * ones there as CSV: the original columns and an "error" column. */
static Result check_file(const char *csv, size_t len, const MemberMapping *m,
                         const CountryNames *countries, Buf *errors, ImportTotals *t, char *error,
                         size_t error_size)
{
    memset(t, 0, sizeof *t);
    RowReader rr;
    if (reader_open(&rr, csv, len, error, error_size) != R_OK) {
        csv_free(&rr.csv);
        return R_BAD_REQUEST;
    }
    rr.m = m;
    rr.countries = countries;
    size_t columns = rr.csv.count;
    if (errors) {
        for (size_t c = 0; c < columns; c++) {
            escape_csv(errors, rr.csv.fields[c], strlen(rr.csv.fields[c]));
            buf_putc(errors, ',');
        }
        buf_puts(errors, "error\r\n");
    }
    MemberRow row;
    int rc;
    while ((rc = reader_next(&rr, &row, error, error_size)) == 1) {
        t->rows++;
        if (!row.error)
            continue;
        t->rejected++;
        if (!errors)
            continue;
        size_t n = rr.csv.count > columns ? rr.csv.count : columns;
        for (size_t c = 0; c < n; c++) {
            const char *v = c < rr.csv.count ? rr.csv.fields[c] : "";
            escape_csv(errors, v, strlen(v));
            buf_putc(errors, ',');
        }
        char message[200];
        snprintf(message, sizeof message, "%s%s%s", row.error_field ? row.error_field : "",
                 row.error_field ? ": " : "", row.error);
        escape_csv(errors, message, strlen(message));
        buf_puts(errors, "\r\n");
    }
    csv_free(&rr.csv);
    return rc < 0 ? R_BAD_REQUEST : R_OK;
}

/* What a dry run's apply returns once it has done the whole import: not
 * R_OK, so that db_write rolls back everything it wrote (the point of a
 * dry run), and outside the Result codes, so that no statement and no
 * failure of db_write itself can return it: seeing it, member_io_dry_run
 * knows that the import ran to its end and that the report in the ctx is
 * complete. */
#define DRY_RUN_DONE ((Result)(R_INTERNAL + 1))

/* A dry run: the import, its report, and its own outcome. */
typedef struct {
    RowReader *rr;
    RowWriter *rw; /* its totals and on_row are the report */
    char *error;   /* why the file is unreadable, when it is */
    size_t error_size;
    Result result; /* the import's outcome: R_OK, R_BAD_REQUEST (the file), R_INTERNAL */
} DryRun;

/* The real import of every row, inside db_write, then DRY_RUN_DONE so
 * that nothing of it stays. */
static Result import_dry_run_apply(Db *w, void *ctx)
{
    DryRun *d = ctx;
    MemberRow row;
    int rc;
    d->result = R_OK;
    while ((rc = reader_next(d->rr, &row, d->error, d->error_size)) == 1) {
        d->rw->totals->rows++;
        if (row.error) {
            d->rw->totals->rejected++;
            report(d->rw, &row, N_("error"), row.error);
        } else if ((d->result = write_row(w, d->rw, &row)) != R_OK) {
            break;
        }
    }
    if (rc < 0)
        d->result = R_BAD_REQUEST;
    /* db_write turns a fault (a programmer's error) into R_INTERNAL only
     * when apply returns R_OK, which this one never does: the dry run
     * fails on it itself, so that the page still answers 500. */
    if (fault_take() && d->result == R_OK)
        d->result = R_INTERNAL;
    return DRY_RUN_DONE;
}

Result member_io_dry_run(Db *db, const char *csv, size_t len, const MemberMapping *m,
                         OnDuplicate dup, ImportRowFn on_row, void *ctx, ImportTotals *totals,
                         char *error, size_t error_size)
{
    memset(totals, 0, sizeof *totals);
    CountryNames countries;
    if (member_io_countries(db, &countries) != R_OK)
        return R_INTERNAL;
    RowReader rr;
    Result res = reader_open(&rr, csv, len, error, error_size);
    rr.m = m;
    rr.countries = &countries;
    RowWriter rw = {dup, now_seconds(), totals, on_row, ctx, ""};
    if (res == R_OK) {
        DryRun d = {&rr, &rw, error, error_size, R_INTERNAL};
        /* Anything but DRY_RUN_DONE: db_write could not run it. */
        res = db_write(db, import_dry_run_apply, &d) == DRY_RUN_DONE ? d.result : R_INTERNAL;
    }
    csv_free(&rr.csv);
    member_io_countries_free(&countries);
    return res;
}

/* ---- jobs ---- */

static void job_from_row(Stmt *st, ImportJob *job)
{
    memset(job, 0, sizeof *job);
    job->id = db_int(st, 0);
    snprintf(job->status, sizeof job->status, "%s", db_text(st, 1));
    snprintf(job->sha256, sizeof job->sha256, "%s", db_text(st, 2));
    job->total_rows = db_int(st, 3);
    job->rows_done = db_int(st, 4);
    job->totals.rows = job->rows_done;
    job->totals.created = db_int(st, 5);
    job->totals.updated = db_int(st, 6);
    job->totals.filled = db_int(st, 7);
    job->totals.skipped = db_int(st, 8);
    job->totals.rejected = db_int(st, 9);
    job->started_by = db_int(st, 10);
    job->started_at = db_int(st, 11);
    job->updated_at = db_int(st, 12);
    job->has_content = (int)db_int(st, 13);
}

Result member_io_job_find(Db *db, const char *sha256, const char *options, ImportJob *job)
{
    Stmt *st = db_prepare(
        db, "SELECT id, status, file_sha256, total_rows, rows_done, created, updated, filled, "
            "skipped, rejected, coalesce(started_by, 0), started_at, updated_at, "
            "EXISTS (SELECT 1 FROM member_import_files WHERE import_id = id) "
            "FROM member_imports WHERE file_sha256 = :sha AND options = :options "
            "ORDER BY id DESC LIMIT 1");
    db_bind_text(st, ":sha", sha256);
    db_bind_text(st, ":options", options);
    int found = db_row(st);
    if (found)
        job_from_row(st, job);
    Result r = db_done(st);
    return r != R_OK ? r : found ? R_OK : R_NOT_FOUND;
}

Result member_io_job_load(Db *db, int64_t id, ImportJob *job)
{
    Stmt *st = db_prepare(
        db, "SELECT id, status, file_sha256, total_rows, rows_done, created, updated, filled, "
            "skipped, rejected, coalesce(started_by, 0), started_at, updated_at, "
            "EXISTS (SELECT 1 FROM member_import_files WHERE import_id = id) "
            "FROM member_imports WHERE id = :id");
    db_bind_int(st, ":id", id);
    int rc = db_row(st);
    if (rc)
        job_from_row(st, job);
    db_done(st);
    return rc ? R_OK : R_NOT_FOUND;
}

static void sha256_hex(const char *data, size_t len, char out[65])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)data, len);
    sodium_bin2hex(out, 65, hash, sizeof hash);
}

/* What member_io_job_create writes: the job, and its file when kept. */
typedef struct {
    const char *sha, *options;
    const char *csv; /* the file, stored when keep_content is set */
    size_t len;
    int64_t total_rows, user_id;
    int keep_content;
    int64_t id; /* out: the new job */
} JobCreate;

static Result import_job_add_apply(Db *w, void *ctx)
{
    JobCreate *c = ctx;
    Stmt *st =
        db_prepare(w, "INSERT INTO member_imports (file_sha256, options, total_rows, started_by, "
                      "started_at, updated_at) VALUES (:sha, :options, :total, :user, :now, :now) "
                      "RETURNING id");
    db_bind_text(st, ":sha", c->sha);
    db_bind_text(st, ":options", c->options);
    db_bind_int(st, ":total", c->total_rows);
    if (c->user_id)
        db_bind_int(st, ":user", c->user_id);
    else
        db_bind_null(st, ":user");
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, &c->id) != R_OK)
        return R_INTERNAL;
    if (!c->keep_content)
        return R_OK;
    st = db_prepare(w, "INSERT INTO member_import_files (import_id, content) "
                       "VALUES (:id, :content)");
    db_bind_int(st, ":id", c->id);
    db_bind_blob(st, ":content", c->len ? c->csv : "", c->len);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result member_io_job_create(Db *db, const char *csv, size_t len, const char *options,
                            int64_t total_rows, int keep_content, int64_t user_id, ImportJob *job)
{
    char sha[65];
    sha256_hex(csv, len, sha);
    JobCreate c = {.sha = sha,
                   .options = options,
                   .csv = csv,
                   .len = len,
                   .total_rows = total_rows,
                   .user_id = user_id,
                   .keep_content = keep_content};
    if (db_write(db, import_job_add_apply, &c) != R_OK)
        return R_INTERNAL;
    return member_io_job_load(db, c.id, job);
}

/* Marks the running job *(int64_t *)ctx failed, after a batch of it failed
 * and was rolled back; running it again retries. */
static Result import_job_fail_apply(Db *w, void *ctx)
{
    const int64_t *id = ctx;
    Stmt *st = db_prepare(w, "UPDATE member_imports SET status = 'failed', updated_at = :now "
                             "WHERE id = :id AND status = 'running'");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", *id);
    return db_run(st);
}

/* Sets the failed job *(int64_t *)ctx running again, to be retried (the
 * same command run again, or the retry button of its page). */
static Result import_job_retry_apply(Db *w, void *ctx)
{
    const int64_t *id = ctx;
    Stmt *st = db_prepare(w, "UPDATE member_imports SET status = 'running' WHERE id = :id "
                             "AND status = 'failed'");
    db_bind_int(st, ":id", *id);
    return db_run(st);
}

/* Inside a batch's write: adds the batch to the job, and on the last
 * batch closes the job and writes the audit entry. */
static Result job_record_batch(Db *w, const ImportJob *job, const ImportTotals *batch,
                               int64_t position, int finished)
{
    Stmt *st =
        db_prepare(w, "UPDATE member_imports SET rows_done = :done, created = created + :created, "
                      "updated = updated + :updated, filled = filled + :filled, "
                      "skipped = skipped + :skipped, rejected = rejected + :rejected, "
                      "status = CASE WHEN :finished THEN 'done' ELSE status END, updated_at = :now "
                      "WHERE id = :id RETURNING created, updated, filled, skipped, rejected");
    db_bind_int(st, ":done", position);
    db_bind_int(st, ":created", batch->created);
    db_bind_int(st, ":updated", batch->updated);
    db_bind_int(st, ":filled", batch->filled);
    db_bind_int(st, ":skipped", batch->skipped);
    db_bind_int(st, ":rejected", batch->rejected);
    db_bind_int(st, ":finished", finished);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", job->id);
    int found = db_row(st);
    char object[48], detail[200];
    if (found) {
        snprintf(object, sizeof object, "member import %lld", (long long)job->id);
        snprintf(detail, sizeof detail,
                 "%lld rows: %lld created, %lld updated, %lld filled, %lld skipped, "
                 "%lld rejected",
                 (long long)position, (long long)db_int(st, 0), (long long)db_int(st, 1),
                 (long long)db_int(st, 2), (long long)db_int(st, 3), (long long)db_int(st, 4));
    }
    if (db_done(st) != R_OK || !found)
        return R_INTERNAL;
    if (!finished)
        return R_OK;
    /* The uploaded file held personal data that is now in people and
     * organisations: it is not kept. */
    st = db_prepare(w, "DELETE FROM member_import_files WHERE import_id = :id");
    db_bind_int(st, ":id", job->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, job->started_by, "members imported", object, detail);
}

/* Reads (and validates) data rows until rr is at row position, or the file
 * ends or breaks first. Returns 1 when rr is at position. */
static int reader_skip_to(RowReader *rr, int64_t position, char *error, size_t error_size)
{
    MemberRow row;
    while (rr->position < position && reader_next(rr, &row, error, error_size) == 1)
        ;
    return rr->position == position;
}

/* One batch of a job: up to BATCH_ROWS rows from where the job stands,
 * written with the job's counters in one db_write, so that rows_done is
 * always the number of rows whose effect is in the database. */
typedef struct {
    const ImportJob *job;
    RowReader *rr; /* carries on from one batch to the next */
    OnDuplicate dup;
    ImportRowFn on_row;
    void *ctx;
    int64_t max_rows; /* rows this member_io_job_run may do (0: no limit) */
    int64_t *ran;     /* rows it has done so far */
    char *error;
    size_t error_size;
    int stopped;   /* out: the job is not running (done, or failed meanwhile): nothing written */
    int finished;  /* out: this was the job's last batch */
    int64_t total; /* out: the job's data rows */
} ImportBatch;

static Result import_batch_add_apply(Db *w, void *ctx)
{
    ImportBatch *b = ctx;
    /* Read the job inside the write: another process or request may have
     * run batches of it meanwhile. */
    Stmt *st =
        db_prepare(w, "SELECT status, rows_done, total_rows FROM member_imports WHERE id = :id");
    db_bind_int(st, ":id", b->job->id);
    int rc = db_row(st);
    int running = rc && strcmp(db_text(st, 0), "running") == 0;
    int64_t done = rc ? db_int(st, 1) : 0;
    b->total = rc ? db_int(st, 2) : 0;
    db_done(st);
    if (!running) {
        b->stopped = 1;
        return R_OK;
    }
    /* Usually nothing to skip: member_io_job_run skipped what was done
     * before it started, outside the write. */
    if (!reader_skip_to(b->rr, done, b->error, b->error_size)) {
        snprintf(b->error, b->error_size, "the file is shorter than the job's %lld rows done",
                 (long long)done);
        return R_BAD_REQUEST;
    }
    ImportTotals batch = {0};
    RowWriter rw = {b->dup, now_seconds(), &batch, b->on_row, b->ctx, ""};
    MemberRow row;
    rc = 1;
    for (int n = 0; n < BATCH_ROWS && (b->max_rows <= 0 || *b->ran < b->max_rows); n++) {
        if ((rc = reader_next(b->rr, &row, b->error, b->error_size)) != 1)
            break;
        (*b->ran)++;
        batch.rows++;
        if (row.error) {
            batch.rejected++;
            report(&rw, &row, N_("error"), row.error);
        } else {
            Result res = write_row(w, &rw, &row);
            if (res != R_OK)
                return res;
        }
    }
    if (rc < 0)
        return R_BAD_REQUEST;
    b->finished = rc == 0 || b->rr->position >= b->total;
    return job_record_batch(w, b->job, &batch, b->rr->position, b->finished);
}

Result member_io_job_run(Db *db, ImportJob *job, const char *csv, size_t len,
                         const MemberMapping *m, OnDuplicate dup, int64_t max_rows,
                         ImportRowFn on_row, void *ctx,
                         void (*progress)(void *ctx, int64_t done, int64_t total), char *error,
                         size_t error_size)
{
    CountryNames countries;
    if (member_io_countries(db, &countries) != R_OK)
        return R_INTERNAL;
    RowReader rr;
    Result res = reader_open(&rr, csv, len, error, error_size);
    rr.m = m;
    rr.countries = &countries;
    /* The rows a resumed job has done are skipped here, outside the
     * writes (each web view starts from the file's beginning); rows_done
     * only grows, so a batch finds at most a few more to skip. */
    if (res == R_OK)
        reader_skip_to(&rr, job->rows_done, error, error_size);
    int64_t ran = 0;
    while (res == R_OK) {
        ImportBatch b = {.job = job,
                         .rr = &rr,
                         .dup = dup,
                         .on_row = on_row,
                         .ctx = ctx,
                         .max_rows = max_rows,
                         .ran = &ran,
                         .error = error,
                         .error_size = error_size};
        res = db_write(db, import_batch_add_apply, &b);
        if (res != R_OK || b.stopped)
            break;
        if (progress)
            progress(ctx, rr.position, b.total);
        if (b.finished || (max_rows > 0 && ran >= max_rows))
            break;
    }
    /* The failed batch was rolled back: the job stops at the last batch
     * that was written. */
    if (res != R_OK && db_write(db, import_job_fail_apply, &job->id) != R_OK)
        log_info("member import %lld could not be marked failed", (long long)job->id);
    csv_free(&rr.csv);
    member_io_countries_free(&countries);
    if (member_io_job_load(db, job->id, job) != R_OK && res == R_OK)
        res = R_INTERNAL;
    return res;
}

/* ---- exports ---- */

/* Calls cell for every cell of the export, header first (row 0). Returns
 * the number of data rows. */
static int64_t export_rows(Db *db, void (*put)(void *ctx, int64_t row, int col, const char *text),
                           void *ctx)
{
    for (int f = 0; f < MF_COUNT; f++)
        put(ctx, 0, f, member_io_fields[f]);
    Stmt *st = db_prepare(
        db, "SELECT p.name, p.email, m.iso3, m.kind, coalesce(o.name, ''), "
            "coalesce(o.org_type, ''), coalesce(o.website, ''), "
            "CASE WHEN o.id IS NULL THEN p.languages ELSE o.languages END, "
            "CASE WHEN o.id IS NULL THEN p.listing ELSE o.listing END, m.status, "
            "CASE WHEN m.consent_updates THEN 'yes' ELSE 'no' END, "
            "strftime('%Y-%m-%d', m.created_at, 'unixepoch') FROM memberships m "
            "JOIN people p ON p.id = m.person_id LEFT JOIN organisations o ON o.id = m.org_id "
            "ORDER BY m.id");
    int64_t n = 0;
    while (db_row(st)) {
        n++;
        for (int f = 0; f < MF_COUNT; f++)
            put(ctx, n, f, db_text(st, f));
    }
    db_done(st);
    return n;
}

static void csv_cell(void *ctx, int64_t row, int col, const char *text)
{
    Buf *out = ctx;
    (void)row;
    if (col)
        buf_putc(out, ',');
    escape_csv(out, text, strlen(text));
    if (col == MF_COUNT - 1)
        buf_puts(out, "\r\n");
}

int64_t member_io_export_csv(Db *db, Buf *out)
{
    return export_rows(db, csv_cell, out);
}

typedef struct {
    lxw_worksheet *sheet;
    Buf scratch;
    lxw_error error;
} XlsxSink;

static void xlsx_cell(void *ctx, int64_t row, int col, const char *text)
{
    XlsxSink *x = ctx;
    if (!*text || x->error)
        return;
    /* Written as a string, so no spreadsheet runs it; the apostrophe also
     * protects it when the sheet is saved as CSV or read by other tools. */
    x->scratch.len = 0;
    if (strchr("=+-@\t\r", text[0]))
        buf_putc(&x->scratch, '\'');
    buf_puts(&x->scratch, text);
    x->error =
        worksheet_write_string(x->sheet, (lxw_row_t)row, (lxw_col_t)col, x->scratch.data, NULL);
}

int64_t member_io_export_xlsx(Db *db, const char *path)
{
    lxw_workbook *book = workbook_new(path);
    if (!book) {
        fprintf(stderr, "ratify: cannot create %s\n", path);
        return -1;
    }
    XlsxSink x = {workbook_add_worksheet(book, "Members"), {0}, LXW_NO_ERROR};
    int64_t n = x.sheet ? export_rows(db, xlsx_cell, &x) : -1;
    buf_free(&x.scratch);
    lxw_error closed = workbook_close(book);
    if (x.error || closed || n < 0) {
        fprintf(stderr, "ratify: cannot write %s: %s\n", path,
                lxw_strerror(x.error ? x.error : closed));
        return -1;
    }
    return n;
}

/* An export is a read of every member: one entry, and every exported
 * person and organisation as its subjects, so each member can see it on
 * their own page. Written before the file leaves (the web response, the
 * CLI's output); when it cannot be written, the export is not given. */
typedef struct {
    int64_t user_id;
    const char *detail; /* "N memberships as csv" */
} ExportRead;

static Result export_read_add_apply(Db *w, void *ctx)
{
    ExportRead *e = ctx;
    int64_t entry;
    if (audit_read_entry(w, e->user_id, 0, "members exported", "memberships", e->detail, &entry) !=
        R_OK)
        return R_INTERNAL;
    /* Two statements, whatever the number of members: the subjects are
     * exactly the rows export_rows read. */
    Stmt *st = db_prepare(w, "INSERT INTO audit_subjects (entry_id, subject_type, subject_id) "
                             "SELECT DISTINCT :entry, 'person', person_id FROM memberships");
    db_bind_int(st, ":entry", entry);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "INSERT INTO audit_subjects (entry_id, subject_type, subject_id) "
                       "SELECT DISTINCT :entry, 'organisation', org_id FROM memberships "
                       "WHERE org_id IS NOT NULL");
    db_bind_int(st, ":entry", entry);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

static Result audit_export(Db *db, int64_t user_id, int64_t rows, const char *format)
{
    char detail[64];
    snprintf(detail, sizeof detail, "%lld memberships as %s", (long long)rows, format);
    ExportRead e = {user_id, detail};
    if (db_write(db, export_read_add_apply, &e) != R_OK) {
        fprintf(stderr, "ratify: the export could not be recorded in the audit log; "
                        "nothing was exported\n");
        return R_INTERNAL;
    }
    return R_OK;
}

/* ---- the command line ---- */

/* Creates path for personal data: readable by its owner only. */
static FILE *create_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f)
        close(fd);
    return f;
}

static Result write_file(const char *path, const Buf *b)
{
    FILE *f = create_private(path);
    if (!f) {
        fprintf(stderr, "ratify: cannot create %s: %s\n", path, strerror(errno));
        return R_INTERNAL;
    }
    size_t n = b->len ? fwrite(b->data, 1, b->len, f) : 0;
    if (fclose(f) != 0 || n != b->len) {
        fprintf(stderr, "ratify: cannot write %s\n", path);
        return R_INTERNAL;
    }
    return R_OK;
}

static char *read_whole_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    Buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return b.data ? b.data : xstrdup("");
}

/* Per-row lines: the row's line, the action, and for errors what is wrong.
 * No name or address: the output may end up in a log. */
static void print_row(void *ctx, const MemberRow *row, const char *action, const char *note)
{
    (void)ctx;
    if (strcmp(action, "error") == 0)
        printf("row %-7zu %-6s %s%s%s\n", row->line, action,
               row->error_field ? row->error_field : "", row->error_field ? ": " : "", note);
    else
        printf("row %-7zu %-6s %-12s %-3s  %s\n", row->line, action,
               row->organisation ? "organisation" : "individual", row->iso3, note);
}

typedef struct {
    int tty;
    int last_tenth;
} Progress;

/* A bar on a terminal; a line every tenth otherwise. On stderr, so that
 * stdout holds only the report. */
static void print_progress(void *ctx, int64_t done, int64_t total)
{
    Progress *p = ctx;
    int percent = total ? (int)(done * 100 / total) : 100;
    if (p->tty) {
        char bar[41];
        int filled = percent * 40 / 100;
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(40 - filled));
        bar[40] = 0;
        fprintf(stderr, "\r[%s] %3d%% %lld of %lld rows", bar, percent, (long long)done,
                (long long)total);
        if (done >= total)
            fputc('\n', stderr);
        fflush(stderr);
    } else if (percent / 10 > p->last_tenth || done >= total) {
        p->last_tenth = percent / 10;
        fprintf(stderr, "import: %d%% (%lld of %lld rows)\n", percent, (long long)done,
                (long long)total);
    }
}

static void print_totals(const char *label, const ImportTotals *t, int done)
{
    printf(done ? "%s%lld rows: %lld created, %lld updated, %lld filled, %lld skipped, "
                  "%lld rejected.\n"
                : "%s%lld rows: %lld to create, %lld to update, %lld to fill, %lld to skip, "
                  "%lld rejected.\n",
           label, (long long)t->rows, (long long)t->created, (long long)t->updated,
           (long long)t->filled, (long long)t->skipped, (long long)t->rejected);
}

static void print_mapping(const CsvReader *header, const MemberMapping *m)
{
    printf("Columns:");
    for (size_t c = 0; c < m->columns; c++) {
        /* A header cell is file content: no control character reaches the
         * terminal. */
        char shown[48];
        snprintf(shown, sizeof shown, "%s", header->fields[c]);
        for (char *q = shown; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f)
                *q = '?';
        if (m->field_of[c] >= 0)
            printf(" \"%s\" -> %s;", shown, member_io_fields[m->field_of[c]]);
        else
            printf(" \"%s\" ignored;", shown);
    }
    printf("\n");
}

static void usage_import(void)
{
    fprintf(stderr, "usage: ratify import members FILE.csv [--map COLUMN=FIELD]... "
                    "[--on-duplicate skip|update|fill] [--apply] [--errors ERRORS.csv]\n");
}

static void date_of(int64_t t, char out[24])
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 24, "%Y-%m-%d %H:%M UTC", &tm);
}

Result member_io_import_cmd(Db *db, int argc, char **argv)
{
    const char *path = NULL, *errors_path = NULL;
    const char **maps = xcalloc((size_t)argc + 1, sizeof *maps);
    size_t map_count = 0;
    OnDuplicate dup = DUP_SKIP;
    int apply = 0;
    Result res = R_BAD_REQUEST;
    char *text = NULL;
    Buf errors = {0};
    char error[300] = "";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--apply") == 0) {
            apply = 1;
        } else if (strcmp(a, "--map") == 0 && i + 1 < argc) {
            maps[map_count++] = argv[++i];
        } else if (strcmp(a, "--errors") == 0 && i + 1 < argc) {
            errors_path = argv[++i];
        } else if (strcmp(a, "--on-duplicate") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            int d;
            for (d = 0; member_io_duplicate_codes[d] && strcmp(member_io_duplicate_codes[d], v);
                 d++)
                ;
            if (!member_io_duplicate_codes[d]) {
                usage_import();
                goto done;
            }
            dup = (OnDuplicate)d;
        } else if (!path && a[0] != '-') {
            path = a;
        } else {
            usage_import();
            goto done;
        }
    }
    if (!path) {
        usage_import();
        goto done;
    }
    size_t len;
    if (!(text = read_whole_file(path, &len))) {
        fprintf(stderr, "ratify: cannot read %s\n", path);
        res = R_NOT_FOUND;
        goto done;
    }
    CsvReader header;
    csv_open(&header, text, len);
    MemberMapping m;
    if (csv_next(&header) != 1) {
        fprintf(stderr, "ratify: %s: the file is empty or not CSV\n", path);
        csv_free(&header);
        goto done;
    }
    res = member_io_mapping(&header, maps, map_count, &m, error, sizeof error);
    print_mapping(&header, &m);
    csv_free(&header);
    if (res != R_OK) {
        fprintf(stderr, "ratify: %s: %s\n", path, error);
        goto done;
    }

    /* A larger page cache for this one connection: with SQLite's default
     * 2 MB, a large import keeps reading back the index pages it has just
     * written (measured: a third of the time of 100,000 rows). */
    db_exec(db, "PRAGMA cache_size = -65536");

    /* First pass: count and check every row, and write the rejected ones. */
    CountryNames countries;
    if ((res = member_io_countries(db, &countries)) != R_OK)
        goto done;
    ImportTotals checked;
    res = check_file(text, len, &m, &countries, errors_path ? &errors : NULL, &checked, error,
                     sizeof error);
    member_io_countries_free(&countries);
    if (res != R_OK) {
        fprintf(stderr, "ratify: %s: %s\nNothing was written.\n", path, error);
        goto done;
    }
    if (errors_path && (res = write_file(errors_path, &errors)) != R_OK)
        goto done;
    if (errors_path)
        printf("%lld rejected row(s) written to %s.\n", (long long)checked.rejected, errors_path);

    char sha[65];
    sha256_hex(text, len, sha);
    char *options = member_io_options(&m, dup);
    ImportJob job;
    Result found = member_io_job_find(db, sha, options, &job);
    char when[24] = "";
    int already = found == R_OK && strcmp(job.status, "done") == 0;
    if (already)
        date_of(job.updated_at, when);
    if (!apply) {
        ImportTotals t;
        res = member_io_dry_run(db, text, len, &m, dup, print_row, NULL, &t, error, sizeof error);
        if (res == R_OK) {
            print_totals("Dry run: ", &t, 0);
            printf("Dry run: nothing was written. Add --apply to import.\n");
            if (already)
                printf("Note: this file was already imported with these options (import %lld, "
                       "finished %s); --apply will not import it again.\n",
                       (long long)job.id, when);
        } else if (error[0]) {
            fprintf(stderr, "ratify: %s: %s\n", path, error);
        }
        free(options);
        goto done;
    }
    if (already) {
        printf("This file was already imported with these options (import %lld, finished %s); "
               "it is not imported again.\n",
               (long long)job.id, when);
        print_totals("It had ", &job.totals, 1);
        free(options);
        res = R_OK;
        goto done;
    }
    if (found == R_OK) {
        printf("Resuming import %lld at row %lld of %lld.\n", (long long)job.id,
               (long long)job.rows_done + 1, (long long)job.total_rows);
        if (strcmp(job.status, "failed") == 0 &&
            (res = db_write(db, import_job_retry_apply, &job.id)) != R_OK) {
            fprintf(stderr, "ratify: import %lld cannot be resumed\n", (long long)job.id);
            free(options);
            goto done;
        }
    } else if ((res = member_io_job_create(db, text, len, options, checked.rows, 0, 0, &job)) !=
               R_OK) {
        free(options);
        goto done;
    }
    free(options);
    Progress p = {isatty(STDERR_FILENO), 0};
    res = member_io_job_run(db, &job, text, len, &m, dup, 0, print_row, &p, print_progress, error,
                            sizeof error);
    if (res != R_OK) {
        fprintf(stderr, "ratify: import %lld stopped: %s; run the same command again to resume\n",
                (long long)job.id, error[0] ? error : "see the messages above");
        goto done;
    }
    print_totals("Imported: ", &job.totals, 1);
    printf("Import %lld is %s.\n", (long long)job.id, job.status);
done:
    free(maps);
    free(text);
    buf_free(&errors);
    return res;
}

Result member_io_export_cmd(Db *db, int argc, char **argv)
{
    const char *format = "csv", *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else
            format = NULL;
    }
    if (!format || (strcmp(format, "csv") && strcmp(format, "xlsx")) ||
        (!out && strcmp(format, "xlsx") == 0)) {
        fprintf(stderr, "usage: ratify export members [--format csv|xlsx] [--out FILE]\n"
                        "(xlsx needs --out)\n");
        return R_BAD_REQUEST;
    }
    int64_t rows;
    if (strcmp(format, "xlsx") == 0) {
        /* Create it private first: the library opens it with fopen. */
        FILE *f = create_private(out);
        if (!f) {
            fprintf(stderr, "ratify: cannot create %s: %s\n", out, strerror(errno));
            return R_INTERNAL;
        }
        fclose(f);
        if ((rows = member_io_export_xlsx(db, out)) < 0)
            return R_INTERNAL;
        /* Recorded before the file is left in place: an unrecorded export
         * is removed. */
        if (audit_export(db, 0, rows, format) != R_OK) {
            unlink(out);
            return R_INTERNAL;
        }
    } else {
        Buf b = {0};
        rows = member_io_export_csv(db, &b);
        Result res = audit_export(db, 0, rows, format);
        if (res == R_OK && out)
            res = write_file(out, &b);
        else if (res == R_OK && b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
            res = R_INTERNAL;
        buf_free(&b);
        if (res != R_OK)
            return res;
    }
    if (out)
        fprintf(stderr, "Exported %lld memberships to %s.\n", (long long)rows, out);
    return R_OK;
}

/* ---- the admin pages ---- */

static json_t *choice_list(Request *r, const char *const *codes, const char *const *labels,
                           const char *selected)
{
    json_t *list = json_array();
    for (int i = 0; codes[i]; i++)
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "code", codes[i], "label",
                                               tr(r, labels[i]), "selected",
                                               selected && strcmp(selected, codes[i]) == 0));
    return list;
}

static const char *job_status_label(Request *r, const char *status)
{
    for (int i = 0; job_statuses[i]; i++)
        if (strcmp(job_statuses[i], status) == 0)
            return tr(r, job_statuses[i]);
    return status;
}

static json_t *recent_jobs(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT id, status, rows_done, total_rows, created, updated, filled, skipped, "
               "rejected, strftime('%Y-%m-%d %H:%M', started_at, 'unixepoch') "
               "FROM member_imports ORDER BY id DESC LIMIT 10");
    while (db_row(st))
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "id",
                       (json_int_t)db_int(st, 0), "status", job_status_label(r, db_text(st, 1)),
                       "rows_done", (json_int_t)db_int(st, 2), "total_rows",
                       (json_int_t)db_int(st, 3), "created", (json_int_t)db_int(st, 4), "updated",
                       (json_int_t)db_int(st, 5), "filled", (json_int_t)db_int(st, 6), "skipped",
                       (json_int_t)db_int(st, 7), "rejected", (json_int_t)db_int(st, 8), "started",
                       db_text(st, 9)));
    db_done(st);
    return list;
}

Result member_io_import_page(Request *r)
{
    r->page = "admin_member_import";
    r->title = tr(r, "Import members");
    json_decref(r->data);
    json_t *jobs = recent_jobs(r);
    r->data = json_build("{s:b, s:o, s:b, s:o}", "upload", 1, "duplicates",
                         choice_list(r, member_io_duplicate_codes, duplicate_labels, "skip"),
                         "has_jobs", json_array_size(jobs) > 0, "jobs", jobs);
    return R_OK;
}

static Result upload_error(Request *r, const char *message)
{
    member_io_import_page(r);
    r->errors = json_build("{s:s}", "file", message);
    return R_BAD_REQUEST;
}

/* The file of the form: an upload, or the base64 copy the later steps
 * carry (base64, so that every byte survives the round trip through the
 * page, and the file's hash stays the same). NULL if none or not decodable. */
static const char *posted_file(Request *r, size_t *len)
{
    const Param *file = form_get(&r->form, "file");
    if (file && file->len) {
        *len = file->len;
        return file->value;
    }
    const Param *b64 = form_get(&r->form, "content");
    if (!b64 || !b64->len)
        return NULL;
    size_t cap = b64->len / 4 * 3 + 3;
    unsigned char *out = arena_alloc(r->arena, cap + 1);
    if (sodium_base642bin(out, cap, b64->value, b64->len, " \r\n", len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0)
        return NULL;
    out[*len] = 0;
    return (const char *)out;
}

static const char *to_base64(Request *r, const char *data, size_t len)
{
    size_t n = sodium_base64_encoded_len(len, sodium_base64_VARIANT_ORIGINAL);
    char *out = arena_alloc(r->arena, n);
    sodium_bin2base64(out, n, (const unsigned char *)data, len, sodium_base64_VARIANT_ORIGINAL);
    return out;
}

/* Text for a page: a cell that is not valid UTF-8 is shown as "?", since
 * JSON (and so a page) cannot hold it. */
static json_t *page_text(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_string("?");
}

/* The mapping step: every header column with a select of fields. */
static json_t *mapping_columns(Request *r, const CsvReader *header, const CsvReader *first,
                               const MemberMapping *m)
{
    json_t *columns = json_array();
    for (size_t c = 0; c < m->columns; c++) {
        json_t *options = json_array();
        json_array_append_new(options, json_build("{s:s, s:s, s:b}", "code", "", "label",
                                                  tr(r, "Ignore this column"), "selected",
                                                  m->field_of[c] < 0));
        for (int f = 0; f < MF_COUNT; f++)
            json_array_append_new(
                options, json_build("{s:s, s:s, s:b}", "code", member_io_fields[f], "label",
                                    tr(r, field_labels[f]), "selected", m->field_of[c] == f));
        json_t *col = json_build("{s:I, s:o, s:o}", "index", (json_int_t)c, "header",
                                 page_text(header->fields[c]), "options", options);
        json_object_set_new(col, "sample",
                            page_text(first && c < first->count ? first->fields[c] : ""));
        json_array_append_new(columns, col);
    }
    return columns;
}

/* The mapping as hidden fields for the next step. */
static json_t *mapping_fields(const MemberMapping *m)
{
    json_t *list = json_array();
    for (size_t c = 0; c < m->columns; c++)
        json_array_append_new(
            list, json_build("{s:I, s:s}", "index", (json_int_t)c, "field",
                             m->field_of[c] >= 0 ? member_io_fields[m->field_of[c]] : ""));
    return list;
}

/* The mapping the form posted (map_0, map_1 ...), checked. */
static Result posted_mapping(Request *r, size_t columns, MemberMapping *m, char *error,
                             size_t error_size)
{
    memset(m, 0, sizeof *m);
    m->columns = columns;
    for (size_t c = 0; c < CSV_MAX_FIELDS; c++) {
        m->field_of[c] = -1;
        if (c >= columns)
            continue;
        char name[16];
        snprintf(name, sizeof name, "map_%zu", c);
        const char *v = param_raw(r, name);
        if (!v || !*v)
            continue;
        int f;
        for (f = 0; f < MF_COUNT && strcmp(member_io_fields[f], v); f++)
            ;
        if (f == MF_COUNT) {
            snprintf(error, error_size, "unknown field '%s'", v);
            return R_BAD_REQUEST;
        }
        m->field_of[c] = f;
    }
    return member_io_mapping_check(m, error, error_size);
}

typedef struct {
    Request *r;
    json_t *rows;
    size_t shown, hidden;
} Preview;

static void preview_row(void *ctx, const MemberRow *row, const char *action, const char *note)
{
    Preview *p = ctx;
    int problem = strcmp(action, "error") == 0;
    if (p->shown >= PREVIEW_ROWS_SHOWN && !problem) {
        p->hidden++;
        return;
    }
    p->shown++;
    const char *message =
        problem && row->error_field
            ? arena_printf(p->r->arena, "%s: %s", row->error_field, tr(p->r, note))
            : tr(p->r, note);
    json_t *j = json_build("{s:I, s:s, s:s, s:s, s:s, s:b}", "line", (json_int_t)row->line,
                           "action", tr(p->r, action), "kind",
                           row->organisation ? tr(p->r, "organisation") : tr(p->r, "individual"),
                           "iso3", row->iso3, "note", message, "problem", problem);
    json_object_set_new(j, "name", page_text(row->organisation ? row->org_name : row->name));
    json_object_set_new(j, "email", page_text(row->email));
    json_array_append_new(p->rows, j);
}

static void set_base(Request *r, const char *content, const MemberMapping *m, OnDuplicate dup)
{
    json_object_set_new(r->data, "content", json_string(content));
    json_object_set_new(r->data, "mapping", mapping_fields(m));
    json_object_set_new(r->data, "on_duplicate", json_string(member_io_duplicate_codes[dup]));
}

Result member_io_import_post(Request *r)
{
    size_t len = 0;
    const char *csv = posted_file(r, &len);
    if (!csv)
        return upload_error(r, tr(r, "Please choose a CSV file."));
    if (len > WEB_MAX_FILE)
        return upload_error(r, tr(r, "This file is too large to import here. Import it on the "
                                     "server with: ratify import members FILE.csv"));
    OnDuplicate dup = DUP_SKIP;
    const char *d = param_raw(r, "on_duplicate");
    for (int i = 0; d && member_io_duplicate_codes[i]; i++)
        if (strcmp(member_io_duplicate_codes[i], d) == 0)
            dup = (OnDuplicate)i;
    const char *step = param_raw(r, "step");
    if (!step)
        step = "map";
    char error[300] = "";
    CsvReader header, first;
    csv_open(&header, csv, len);
    if (csv_next(&header) != 1) {
        csv_free(&header);
        return upload_error(r, tr(r, "The file is empty or is not CSV."));
    }
    MemberMapping m;
    Result res;
    if (strcmp(step, "map") == 0)
        res = member_io_mapping(&header, NULL, 0, &m, error, sizeof error);
    else
        res = posted_mapping(r, header.count, &m, error, sizeof error);

    json_decref(r->data);
    r->data = json_object();
    r->page = "admin_member_import";
    r->title = tr(r, "Import members");
    const char *content = to_base64(r, csv, len);
    set_base(r, content, &m, dup);
    json_object_set_new(r->data, "duplicates",
                        choice_list(r, member_io_duplicate_codes, duplicate_labels,
                                    member_io_duplicate_codes[dup]));

    if (strcmp(step, "map") == 0 || res != R_OK) {
        /* The sample is the first data row, so the admin sees what each
         * column holds. */
        first = header;
        first.storage = NULL;
        first.storage_cap = 0;
        int has_first = csv_next(&first) == 1;
        json_object_set_new(r->data, "columns",
                            mapping_columns(r, &header, has_first ? &first : NULL, &m));
        csv_free(&first);
        csv_free(&header);
        json_object_set_new(r->data, "map_step", json_true());
        if (res != R_OK) {
            r->message = arena_strdup(r->arena, error);
            return strcmp(step, "map") == 0 ? R_OK : R_BAD_REQUEST;
        }
        return R_OK;
    }
    csv_free(&header);

    if (strcmp(step, "errors") == 0) {
        CountryNames countries;
        if (member_io_countries(r->db, &countries) != R_OK)
            return R_INTERNAL;
        ImportTotals t;
        res = check_file(csv, len, &m, &countries, &r->body_out, &t, error, sizeof error);
        member_io_countries_free(&countries);
        if (res != R_OK) {
            buf_free(&r->body_out);
            r->message = arena_strdup(r->arena, error);
            return R_BAD_REQUEST;
        }
        r->content_type = "text/csv; charset=utf-8";
        http_add_header(r, "Content-Disposition", "attachment; filename=\"rejected-members.csv\"");
        return R_OK;
    }

    if (strcmp(step, "apply") == 0) {
        CountryNames countries;
        if (member_io_countries(r->db, &countries) != R_OK)
            return R_INTERNAL;
        ImportTotals t;
        res = check_file(csv, len, &m, &countries, NULL, &t, error, sizeof error);
        member_io_countries_free(&countries);
        if (res != R_OK) {
            r->message = arena_strdup(r->arena, error);
            return R_BAD_REQUEST;
        }
        char sha[65];
        sha256_hex(csv, len, sha);
        char *options = member_io_options(&m, dup);
        ImportJob job;
        res = member_io_job_find(r->db, sha, options, &job);
        if (res == R_OK && strcmp(job.status, "done") == 0) {
            /* Applying twice (a double click, a reload) never imports twice. */
            free(options);
            json_object_set_new(r->data, "already_imported", json_integer(job.id));
            return R_OK;
        }
        if (res != R_OK)
            res = member_io_job_create(r->db, csv, len, options, t.rows, 1, r->user->id, &job);
        free(options);
        if (res != R_OK)
            return R_INTERNAL;
        return http_redirect(
            r, arena_printf(r->arena, "/admin/members/import/%lld", (long long)job.id));
    }

    /* The dry run. */
    Preview p = {r, json_array(), 0, 0};
    ImportTotals t;
    res = member_io_dry_run(r->db, csv, len, &m, dup, preview_row, &p, &t, error, sizeof error);
    json_object_set_new(r->data, "lines", p.rows);
    if (res == R_INTERNAL)
        return R_INTERNAL;
    json_object_set_new(r->data, "report",
                        json_build("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "total",
                                   (json_int_t)t.rows, "created", (json_int_t)t.created, "updated",
                                   (json_int_t)t.updated, "filled", (json_int_t)t.filled, "skipped",
                                   (json_int_t)t.skipped, "rejected", (json_int_t)t.rejected,
                                   "hidden", (json_int_t)p.hidden));
    json_object_set_new(r->data, "can_apply",
                        json_boolean(res == R_OK && t.created + t.updated + t.filled > 0));
    json_object_set_new(r->data, "has_errors", json_boolean(res == R_OK && t.rejected > 0));
    if (res != R_OK) {
        r->message = arena_strdup(r->arena, error);
        return R_BAD_REQUEST;
    }
    return R_OK;
}

Result member_io_import_job_page(Request *r)
{
    int64_t id;
    ImportJob job;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK ||
        member_io_job_load(r->db, id, &job) != R_OK)
        return R_NOT_FOUND;
    char error[300] = "";
    const char *retry = param_raw(r, "retry");
    if (strcmp(job.status, "failed") == 0 && retry && job.has_content) {
        if (db_write(r->db, import_job_retry_apply, &id) != R_OK)
            return R_INTERNAL;
        snprintf(job.status, sizeof job.status, "running");
    }
    if (strcmp(job.status, "running") == 0 && job.has_content) {
        /* Each view runs the next rows: the page refreshes itself until the
         * job is done, and a crash between views loses nothing. */
        Stmt *st = db_prepare(r->db, "SELECT f.content, i.options FROM member_imports i "
                                     "JOIN member_import_files f ON f.import_id = i.id "
                                     "WHERE i.id = :id");
        db_bind_int(st, ":id", id);
        char *content = NULL, *options = NULL;
        size_t len = 0;
        if (db_row(st)) {
            len = (size_t)db_len(st, 0);
            content = arena_alloc(r->arena, len + 1);
            if (len)
                memcpy(content, db_blob(st, 0), len);
            options = arena_strdup(r->arena, db_text(st, 1));
        }
        db_done(st);
        CsvReader header;
        csv_open(&header, content ? content : "", len);
        MemberMapping m;
        OnDuplicate dup;
        Result res = R_BAD_REQUEST;
        if (content && csv_next(&header) == 1 &&
            member_io_options_parse(options, header.count, &m, &dup) == R_OK)
            res = member_io_job_run(r->db, &job, content, len, &m, dup, WEB_ROWS_PER_VIEW, NULL,
                                    NULL, NULL, error, sizeof error);
        csv_free(&header);
        if (res != R_OK) {
            log_info("%s member import %lld stopped: %s", r->request_id, (long long)id,
                     error[0] ? error : "internal error");
            member_io_job_load(r->db, id, &job);
        }
    }
    int running = strcmp(job.status, "running") == 0;
    if (running && job.has_content)
        http_add_header(r, "Refresh", "1");
    r->page = "admin_member_import_job";
    r->title = tr(r, "Import members");
    json_decref(r->data);
    r->data = json_build(
        "{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:b, s:b}", "id",
        (json_int_t)job.id, "status", job_status_label(r, job.status), "rows_done",
        (json_int_t)job.rows_done, "total_rows", (json_int_t)job.total_rows, "percent",
        (json_int_t)(job.total_rows ? job.rows_done * 100 / job.total_rows : 100), "created",
        (json_int_t)job.totals.created, "updated", (json_int_t)job.totals.updated, "filled",
        (json_int_t)job.totals.filled, "skipped", (json_int_t)job.totals.skipped, "rejected",
        (json_int_t)job.totals.rejected, "running", running && job.has_content, "command_line",
        running && !job.has_content, "done", strcmp(job.status, "done") == 0, "failed",
        strcmp(job.status, "failed") == 0, "can_retry",
        strcmp(job.status, "failed") == 0 && job.has_content);
    return R_OK;
}

Result member_io_export_page(Request *r)
{
    Stmt *st = db_prepare(r->db, "SELECT count(*) FROM memberships");
    int64_t n = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    r->page = "admin_member_export";
    r->title = tr(r, "Export members");
    r->data = json_build("{s:I}", "memberships", (json_int_t)n);
    return R_OK;
}

Result member_io_export_csv_page(Request *r)
{
    int64_t rows = member_io_export_csv(r->db, &r->body_out);
    if (audit_export(r->db, r->user->id, rows, "csv") != R_OK)
        return R_INTERNAL;
    r->content_type = "text/csv; charset=utf-8";
    http_add_header(r, "Content-Disposition", "attachment; filename=\"ratify-members.csv\"");
    return R_OK;
}

Result member_io_export_xlsx_page(Request *r)
{
    /* The library writes to a file: a private temporary one, removed as
     * soon as it has been read back. */
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = arena_printf(r->arena, "%s/ratify-export-XXXXXX.xlsx", dir);
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        log_info("%s export: cannot create a file in %s: %s", r->request_id, dir, strerror(errno));
        return R_INTERNAL;
    }
    close(fd);
    int64_t rows = member_io_export_xlsx(r->db, path);
    size_t len = 0;
    char *data = rows >= 0 ? read_whole_file(path, &len) : NULL;
    unlink(path);
    if (!data)
        return R_INTERNAL;
    buf_append(&r->body_out, data, len);
    free(data);
    if (audit_export(r->db, r->user->id, rows, "xlsx") != R_OK)
        return R_INTERNAL;
    r->content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    http_add_header(r, "Content-Disposition", "attachment; filename=\"ratify-members.xlsx\"");
    return R_OK;
}
