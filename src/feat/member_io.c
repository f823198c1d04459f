/*
 * member_io.c: what importing and exporting members share, with no request
 * and no handler (see member_io.h): the fields and their aliases, the
 * column mapping and its canonical text, the countries an import accepts,
 * the validation of one row, reading a file as validated rows, how a
 * duplicate's values merge, and files for personal data (private to their
 * owner). The import engine and its pages are member_import.c, the exports
 * member_export.c.
 *
 * Invariants: people are deduplicated by lowercased email; a row is
 * rejected, never guessed.
 */
#include "feat/member_io.h"

#include "base/assets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "feat/member.h"

const char *const member_io_fields[] = {
    "name",    "email",     "country", "kind",   "organisation",    "org_type",
    "website", "languages", "listing", "status", "consent_updates", "created",
    NULL};

const char *const member_io_duplicate_codes[] = {"skip", "update", "fill", NULL};

static const char *const kind_codes[] = {"individual", "organisation", NULL};
static const char *const listing_codes[] = {"public", "members", "hidden", NULL};
static const char *const status_codes[] = {"pending", "active", "lapsed", "left", "declined", NULL};

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

/* Writes s folded to lower case into out (size bytes, cut short on a
 * character boundary): ASCII letters and the capitals of Latin-1 (U+00C0
 * to U+00DE but the multiplication sign), which covers every capital the
 * shipped names have (É in "États-Unis", Î in "Îles Salomon"). The same
 * fold is applied to the names and to the value sought, in C rather than
 * with SQL's lower(): SQLite's lower() folds ASCII only and PostgreSQL's
 * the whole of Unicode, so an import would accept different names on each
 * engine. */
static void fold_case(const char *s, char *out, size_t size)
{
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && n + 1 < size; p++) {
        unsigned char ch = *p;
        if (ch >= 'A' && ch <= 'Z') {
            ch = (unsigned char)(ch + 32);
        } else if (ch == 0xC3 && p[1] >= 0x80 && p[1] <= 0x9E && p[1] != 0x97) {
            if (n + 2 >= size)
                break;
            out[n++] = (char)ch;
            out[n++] = (char)(*++p + 0x20);
            continue;
        }
        out[n++] = (char)ch;
    }
    out[n] = 0;
}

static void add_name(CountryNames *c, size_t *cap, const char *iso3, const char *name)
{
    if (c->count == *cap) {
        *cap = *cap ? *cap * 2 : 1024;
        c->iso3 = xrealloc(c->iso3, *cap * sizeof *c->iso3);
        c->name = xrealloc(c->name, *cap * sizeof *c->name);
    }
    snprintf(c->iso3[c->count], sizeof c->iso3[0], "%s", iso3);
    fold_case(name, c->name[c->count], sizeof c->name[0]);
    c->count++;
}

/* One file of other names of states: a CSV with the columns name_col and
 * iso3, embedded in the binary. */
static Result add_name_file(CountryNames *c, size_t *cap, const char *path, const char *name_col)
{
    const Asset *a = asset_find(path);
    if (!a)
        return R_INTERNAL;
    CsvReader csv;
    csv_open(&csv, (const char *)a->data, a->len);
    int name = -1, iso3 = -1;
    if (csv_next(&csv) == 1) {
        name = csv_column(&csv, name_col);
        iso3 = csv_column(&csv, "iso3");
    }
    Result r = name >= 0 && iso3 >= 0 ? R_OK : R_INTERNAL;
    while (r == R_OK && csv_next(&csv) == 1)
        if ((size_t)name < csv.count && (size_t)iso3 < csv.count)
            add_name(c, cap, csv.fields[iso3], csv.fields[name]);
    csv_free(&csv);
    return r;
}

/* The other spellings sources give states, after every name of
 * country_names so that those win: the UN Treaty Collection's
 * (data/untc-names.csv, "Democratic Republic of the Congo") and others'
 * (data/country-aliases.csv: UPR Info's "St Kitts & Nevis"). Each is a
 * person's decision, written down with its source: a name matches one of
 * them exactly or not at all. */
static Result add_aliases(CountryNames *c, size_t *cap)
{
    Result r = add_name_file(c, cap, "data/untc-names.csv", "untc_name");
    return r == R_OK ? add_name_file(c, cap, "data/country-aliases.csv", "name") : r;
}

Result member_io_countries(Db *db, CountryNames *c)
{
    memset(c, 0, sizeof *c);
    size_t cap = 0;
    /* Every language's name; English first, so that a name that were
     * another country's in some other language still means the English
     * one. */
    Stmt *st = db_prepare(db, "SELECT iso3, name FROM country_names "
                              "ORDER BY CASE WHEN lang = 'en' THEN 0 ELSE 1 END, iso3, lang");
    while (db_row(st)) {
        add_name(c, &cap, db_text(st, 0), db_text(st, 1));
    }
    Result r = db_done(st);
    return r == R_OK ? add_aliases(c, &cap) : r;
}

void member_io_countries_free(CountryNames *c)
{
    free(c->iso3);
    free(c->name);
    memset(c, 0, sizeof *c);
}

const char *member_io_country_find(const CountryNames *c, const char *value)
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
    char folded[128];
    fold_case(value, folded, sizeof folded);
    for (size_t i = 0; i < c->count; i++)
        if (strcmp(c->name[i], folded) == 0)
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
                  e == MSG_TOO_LONG ? N_("unknown country (use an ISO3 code or the country's name)")
                                    : e);
    else if (!country[0])
        row_error(row, MF_COUNTRY, MSG_REQUIRED);
    else {
        const char *iso3 = member_io_country_find(countries, country);
        if (iso3)
            snprintf(row->iso3, sizeof row->iso3, "%s", iso3);
        else
            row_error(row, MF_COUNTRY,
                      N_("unknown country (use an ISO3 code or the country's name)"));
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

/* Opens csv[0..len) and reads its header. Returns R_OK or R_BAD_REQUEST
 * (error set). Free with csv_free(&rr->csv). */
Result member_io_reader_open(MemberReader *rr, const char *csv, size_t len, char *error,
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
int member_io_reader_next(MemberReader *rr, MemberRow *row, char *error, size_t error_size)
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

/* ---- private files ---- */

/* Created for personal data: readable by its owner only. */
FILE *member_io_create_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return NULL;
    FILE *f = fdopen(fd, "wb");
    if (!f)
        close(fd);
    return f;
}

Result member_io_write_file(const char *path, const Buf *b)
{
    FILE *f = member_io_create_private(path);
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

char *member_io_read_file(const char *path, size_t *len)
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
