/*
 * country.c: countries: the reference data shipped in data/countries.csv,
 * the public /countries overview (map, table, counts, chart), the country
 * page with its status, ask, treaty actions and domestic stages, their API
 * twins, and recording or correcting treaty actions. Recording and
 * deleting domestic stages is stage.c's, which stands on this file
 * (country.h) for the checks and the page shown again on a mistake; every
 * country's standing is read through treaty.h, below both.
 *
 * Invariants: status comes from treaty.c's fold over the actions, never
 * from a stored column; every write checks that the user covers the
 * country (auth_covers_country) and is logged in the audit log in the same
 * transaction; stages are listed only where the visibility rule allows
 * (VISIBILITY_SQL, in the query).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feat/handlers.h"
#include "feat/country_name.h"
#include "base/assets.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/visibility.h"
#include "feat/coalition.h"
#include "feat/country.h"
#include "base/csv.h"
#include "feat/friend.h"
#include "feat/letter.h"
#include "feat/position.h"
#include "feat/submission.h"
#include "feat/meeting.h"
#include "feat/treaty.h"
#include "feat/upr.h"

/* ---- reference data ---- */

/* The languages of data/countries.csv's names: one column name_LANG each. */
typedef struct {
    int col[16];
    char lang[16][9];
    int count;
} NameColumns;

static void name_columns(const CsvReader *csv, NameColumns *names)
{
    names->count = 0;
    for (size_t i = 0; i < csv->count && names->count < 16; i++) {
        const char *h = csv->fields[i];
        if (strncmp(h, "name_", 5) != 0 || strlen(h + 5) < 2 || strlen(h + 5) > 8)
            continue;
        names->col[names->count] = (int)i;
        snprintf(names->lang[names->count++], sizeof names->lang[0], "%s", h + 5);
    }
}

/* One row of country_names per language the CSV names the country in; an
 * empty name is left out, so readers fall back to English. */
static Result country_names_insert(Db *w, const CsvReader *csv, const char *iso3,
                                   const NameColumns *names)
{
    for (int i = 0; i < names->count; i++) {
        if (names->col[i] >= (int)csv->count || !*csv->fields[names->col[i]])
            continue;
        const char *name = csv->fields[names->col[i]];
        Stmt *st = db_prepare(
            w, "INSERT INTO country_names (iso3, lang, name) VALUES (:iso3, :lang, :name)");
        db_bind_text(st, ":iso3", iso3);
        db_bind_text(st, ":lang", names->lang[i]);
        db_bind_text(st, ":name", name);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* Inserts every row of data/countries.csv, and its names in each language:
 * one transaction, all or none. */
static Result country_seed_apply(Db *w, void *ctx)
{
    CsvReader *csv = ctx;
    NameColumns names;
    name_columns(csv, &names);
    static const char *const columns[] = {"iso2",     "iso3",         "numeric", "name_en",
                                          "name_es",  "name_fr",      "name_ar", "un_status",
                                          "un_group", "organisations"};
    int col[10];
    for (int i = 0; i < 10; i++)
        if ((col[i] = csv_column(csv, columns[i])) < 0) {
            fprintf(stderr, "ratify: data/countries.csv has no column %s\n", columns[i]);
            return R_INTERNAL;
        }
    int rc;
    while ((rc = csv_next(csv)) == 1) {
        if (csv->count < 10)
            goto bad_row;
        Stmt *st = db_prepare(
            w, "INSERT INTO countries (iso2, iso3, numeric_code, name_en, name_es, name_fr, "
               "name_ar, un_status, un_group, organisations) VALUES (:iso2, :iso3, :num, "
               ":en, :es, :fr, :ar, :un, :grp, :orgs)");
        db_bind_text(st, ":iso2", csv->fields[col[0]]);
        db_bind_text(st, ":iso3", csv->fields[col[1]]);
        db_bind_text(st, ":num", csv->fields[col[2]]);
        db_bind_text(st, ":en", csv->fields[col[3]]);
        db_bind_text(st, ":es", csv->fields[col[4]]);
        db_bind_text(st, ":fr", csv->fields[col[5]]);
        db_bind_text(st, ":ar", csv->fields[col[6]]);
        db_bind_text(st, ":un", csv->fields[col[7]]);
        db_bind_text(st, ":grp", csv->fields[col[8]]);
        db_bind_text(st, ":orgs", csv->fields[col[9]]);
        if (db_run(st) != R_OK || country_names_insert(w, csv, csv->fields[col[1]], &names) != R_OK)
            goto bad_row;
    }
    if (rc == 0)
        return R_OK;
bad_row:
    fprintf(stderr, "ratify: data/countries.csv:%zu: bad row%s%s\n", csv->line,
            csv->error ? ": " : "", csv->error ? csv->error : "");
    return R_INTERNAL;
}

/* A database seeded before a release that names the countries in one
 * more language (Portuguese, for model letters) gets those names: every
 * name of the CSV that country_names lacks, one transaction. */
static Result country_names_add_apply(Db *w, void *ctx)
{
    CsvReader *csv = ctx;
    NameColumns names;
    name_columns(csv, &names);
    int iso3 = csv_column(csv, "iso3");
    if (iso3 < 0)
        return R_INTERNAL;
    int rc;
    while ((rc = csv_next(csv)) == 1) {
        for (int i = 0; i < names.count; i++) {
            if (names.col[i] >= (int)csv->count || (int)csv->count <= iso3 ||
                !*csv->fields[names.col[i]])
                continue;
            Stmt *st = db_prepare(w, "INSERT INTO country_names (iso3, lang, name) SELECT :iso3, "
                                     ":lang, :name WHERE EXISTS (SELECT 1 FROM countries WHERE "
                                     "iso3 = :iso3) ON CONFLICT (iso3, lang) DO NOTHING");
            db_bind_text(st, ":iso3", csv->fields[iso3]);
            db_bind_text(st, ":lang", names.lang[i]);
            db_bind_text(st, ":name", csv->fields[names.col[i]]);
            if (db_run(st) != R_OK)
                return R_INTERNAL;
        }
    }
    return rc == 0 ? R_OK : R_INTERNAL;
}

/* The number of languages data/countries.csv names countries in. */
static int csv_name_languages(const Asset *a)
{
    CsvReader csv;
    csv_open(&csv, (const char *)a->data, a->len);
    NameColumns names = {.count = 0};
    if (csv_next(&csv) == 1)
        name_columns(&csv, &names);
    csv_free(&csv);
    return names.count;
}

Result country_seed(Db *db)
{
    const Asset *a = asset_find("data/countries.csv");
    if (!a)
        return R_INTERNAL;
    Stmt *st = db_prepare(db, "SELECT count(*), (SELECT count(DISTINCT lang) FROM "
                              "country_names) FROM countries");
    int64_t have = 0, langs = 0;
    if (db_row(st)) {
        have = db_int(st, 0);
        langs = db_int(st, 1);
    }
    db_done(st);
    if (have > 0 && langs >= csv_name_languages(a))
        return R_OK;
    CsvReader csv;
    csv_open(&csv, (const char *)a->data, a->len);
    Result r = csv_next(&csv) != 1 ? R_INTERNAL
               : have > 0          ? db_write(db, country_names_add_apply, &csv)
                                   : db_write(db, country_seed_apply, &csv);
    csv_free(&csv);
    return r;
}

/* ---- the map ---- */

typedef struct {
    char iso3[4];
    const char *path; /* SVG path data; "" for a marker-only state */
    double x, y;      /* label or marker point */
} MapShape;

static MapShape *map_shapes;
static size_t map_count;
static pthread_once_t map_once = PTHREAD_ONCE_INIT;

/* Parses data/world-map.csv once; the paths point into the embedded
 * asset copy that lives as long as the process. */
static void map_load(void)
{
    const Asset *a = asset_find("data/world-map.csv");
    if (!a)
        return;
    CsvReader csv;
    csv_open(&csv, (const char *)a->data, a->len);
    if (csv_next(&csv) == 1) {
        int c_iso = csv_column(&csv, "iso3"), c_path = csv_column(&csv, "path"),
            c_x = csv_column(&csv, "label_x"), c_y = csv_column(&csv, "label_y");
        while (c_iso >= 0 && c_path >= 0 && c_x >= 0 && c_y >= 0 && csv_next(&csv) == 1) {
            if (csv.count < 4 || strlen(csv.fields[c_iso]) != 3)
                continue;
            map_shapes = xrealloc(map_shapes, (map_count + 1) * sizeof *map_shapes);
            MapShape *m = &map_shapes[map_count++];
            memcpy(m->iso3, csv.fields[c_iso], 4);
            m->path = xstrdup(csv.fields[c_path]);
            m->x = strtod(csv.fields[c_x], NULL);
            m->y = strtod(csv.fields[c_y], NULL);
        }
    }
    csv_free(&csv);
}

void country_map_free(void)
{
    for (size_t i = 0; i < map_count; i++)
        free((char *)map_shapes[i].path);
    free(map_shapes);
    map_shapes = NULL;
    map_count = 0;
}

/* ---- reading countries and their standing ---- */

/* A UN regional group's name (an English msgid), "" for none. */
static const char *group_label(const char *code)
{
    return *code ? code_label(country_group_codes, country_group_labels, code) : "";
}

/* The state's record on the other complaint procedures: a list for the
 * API and a sentence in the page's language. */
static void add_procedures(Request *r, json_t *country, const CountryRow *row)
{
    AcceptedProcedure accepted[OTHER_PROCEDURES];
    size_t n = treaty_accepted_procedures(row, accepted);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_build("{s:s, s:i}", "instrument", accepted[i].instrument,
                                               "year", atoi(accepted[i].year)));
    json_object_set_new(country, "other_procedures", list);
    json_object_set_new(country, "other_procedures_count", json_integer((json_int_t)n));
    json_object_set_new(
        country, "other_procedures_text",
        json_string(treaty_procedures_text(r->arena, r->lang ? r->lang : "en", accepted, n)));
}

static json_t *country_json(Request *r, const Campaign *c, const CountryRow *row)
{
    Ask ask = treaty_row_ask(c, row);
    json_t *country = json_build(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "iso3", row->iso3,
        "name", row->name, "status", treaty_status_code(row->protocol.status), "status_label",
        tr(r, treaty_status_label(row->protocol.status)), "signature_date",
        row->protocol.signature_date, "party_date", row->protocol.party_date, "party_kind",
        row->protocol.party_kind, "covenant_status", treaty_status_code(row->covenant.status),
        "ask", treaty_ask_code(ask), "ask_text", treaty_ask_say(r, c, ask), "un_status",
        row->un_status, "un_group", row->un_group, "un_group_label",
        *row->un_group ? tr(r, group_label(row->un_group)) : "", "organisations",
        row->organisations);
    if (!c->parent_id) /* no treaty comes first: nothing to say about one */
        json_object_del(country, "covenant_status");
    add_procedures(r, country, row);
    return country;
}

/* ---- /countries ---- */

static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
            return 1;
    return 0;
}

/* Cumulative parties at the end of each year since the opening for
 * signature, as bars of a small SVG chart (geometry computed here so the
 * template only places numbers). */
static json_t *parties_chart(const CountryRow *rows, size_t n, int first_year)
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int last_year = tm.tm_year + 1900;
    int years = last_year - first_year + 1;
    if (years < 1)
        return json_array();
    int counts[128] = {0}, max = 1;
    for (int y = 0; y < years && y < 128; y++) {
        char end[11];
        snprintf(end, sizeof end, "%04d-12-31", first_year + y);
        /* States only, as the counts above it (the Cook Islands is a
         * party to some instruments but no state of the UN). */
        for (size_t i = 0; i < n; i++)
            if (rows[i].protocol.status == STATUS_PARTY &&
                strcmp(rows[i].protocol.party_date, end) <= 0 &&
                strcmp(rows[i].un_status, "other") != 0)
                counts[y]++;
        if (counts[y] > max)
            max = counts[y];
    }
    json_t *bars = json_array();
    double width = 600.0 / years;
    for (int y = 0; y < years && y < 128; y++) {
        double h = 160.0 * counts[y] / max;
        json_array_append_new(
            bars, json_build("{s:i, s:i, s:f, s:f, s:f, s:f, s:f, s:b}", "year", first_year + y,
                             "parties", counts[y], "x", 40 + y * width, "y", 180 - h, "width",
                             width * 0.8, "height", h, "label_x", 40 + y * width + width * 0.4,
                             "show_year", (first_year + y) % 2 == 1 || years < 10));
    }
    return bars;
}

static json_t *map_json(Request *r, const CountryRow *rows, size_t n)
{
    pthread_once(&map_once, map_load);
    json_t *shapes = json_array(), *markers = json_array(), *unlinked = json_array();
    for (size_t i = 0; i < map_count; i++) {
        const MapShape *m = &map_shapes[i];
        const CountryRow *row = bsearch(m->iso3, rows, n, sizeof *rows, treaty_row_cmp);
        const char *status = row ? treaty_status_code(row->protocol.status) : "other";
        const char *name = row ? row->name : m->iso3;
        const char *label = row ? tr(r, treaty_status_label(row->protocol.status)) : "";
        json_t *o =
            json_build("{s:s, s:s, s:s, s:s, s:s, s:f, s:f}", "iso3", m->iso3, "name", name,
                       "status", status, "status_label", label, "d", m->path, "x", m->x, "y", m->y);
        json_array_append_new(*m->path ? shapes : markers, o);
    }
    return json_build("{s:o, s:o, s:o}", "shapes", shapes, "markers", markers, "unlinked",
                      unlinked);
}

static const char *const status_codes[] = {"party", "signatory", "none", NULL};
static const char *const status_labels[] = {N_("Party"), N_("Signatory"), N_("No action"), NULL};
const char *const country_group_codes[] = {
    "african", "asia-pacific", "eastern-european", "latin-american-caribbean", "weog", NULL};
const char *const country_group_labels[] = {N_("African States"),
                                            N_("Asia-Pacific States"),
                                            N_("Eastern European States"),
                                            N_("Latin American and Caribbean States"),
                                            N_("Western European and other States"),
                                            NULL};
static const char *const org_codes[] = {"AU", "OAS", "EU", "COE", "ASEAN", "LAS", "OIC", NULL};
static const char *const org_labels[] = {N_("African Union"),
                                         N_("Organization of American States"),
                                         N_("European Union"),
                                         N_("Council of Europe"),
                                         N_("Association of Southeast Asian Nations"),
                                         N_("League of Arab States"),
                                         N_("Organisation of Islamic Cooperation"),
                                         NULL};
/* In SortKey order. */
static const char *const sort_codes[] = {"name",  "status",     "signature",
                                         "party", "procedures", NULL};
/* The most persuadable: states that accept other UN complaint procedures
 * but are not parties to the Protocol (issue 11 item 4). */
static const char *const similar_codes[] = {"persuadable", NULL};
static const char *const similar_labels[] = {
    N_("Accept other complaint procedures, not the {treaty}"), NULL};

/* An optional filter that must be one of codes; anything else is ignored
 * rather than an error, as filters come from links people edit. */
static const char *filter_value(Request *r, const char *name, const char *const *codes)
{
    return param_filter(r, name, codes);
}

/* Text folded for a name search: ASCII lower-cased and the accented
 * Latin letters of Latin-1 (U+00C0-U+00FF) without their accents, so that
 * "cote d'ivoire" finds "Côte d'Ivoire" and "peru" "Perú"; in Arabic (no
 * case) the alef with hamza or madda is a bare alef and the short vowel
 * marks go, as people type on phones ("انغولا" finds "أنغولا"); other
 * scripts are compared as they are. */
static char *fold_name(Arena *a, const char *s)
{
    /* U+00C0 to U+00FF, in order. */
    static const char latin1[] = "aaaaaaaceeeeiiiidnooooo*ouuuuypsaaaaaaaceeeeiiiidnooooo/ouuuuypy";
    size_t n = strlen(s);
    char *out = arena_alloc(a, n + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == 0xc3 && p[1] >= 0x80 && p[1] <= 0xbf) {
            *o++ = latin1[p[1] - 0x80];
            p++;
        } else if (*p == 0xd8 && (p[1] == 0xa2 || p[1] == 0xa3 || p[1] == 0xa5)) {
            *o++ = (char)0xd8; /* U+0622, U+0623, U+0625 -> U+0627 */
            *o++ = (char)0xa7;
            p++;
        } else if (*p == 0xd9 && p[1] >= 0x8b && p[1] <= 0x92) {
            p++; /* U+064B-U+0652, the harakat: dropped */
        } else {
            *o++ = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
        }
    }
    *o = 0;
    return out;
}

/* The countries whose name in any language Ratify knows (the page's and
 * English among them) or whose ISO code holds the folded query, as a
 * space-separated list of ISO3 codes in r's arena. */
static const char *search_codes(Request *r, const char *query)
{
    const char *q = fold_name(r->arena, query);
    Buf found = {0};
    buf_putc(&found, ' ');
    Stmt *st = db_prepare(r->db, "SELECT iso3, name FROM country_names ORDER BY iso3");
    while (db_row(st)) {
        const char *iso3 = db_text(st, 0);
        char tag[6];
        snprintf(tag, sizeof tag, " %s ", iso3);
        if (strstr(found.data, tag))
            continue;
        if (strstr(fold_name(r->arena, db_text(st, 1)), q) ||
            (strlen(q) == 3 && strcmp(fold_name(r->arena, iso3), q) == 0))
            buf_printf(&found, "%s ", iso3);
    }
    db_done(st);
    const char *codes = arena_strndup(r->arena, found.data, found.len);
    buf_free(&found);
    return codes;
}

/* The search box's text, trimmed; NULL when empty or not plain text (a
 * filter from a link people edit: ignored rather than an error). */
static const char *search_query(Request *r)
{
    const char *q = NULL;
    if (param_optional_text(r, "q", 100, 0, &q) != R_OK || !q) {
        json_decref(r->errors);
        r->errors = NULL;
        return NULL;
    }
    while (*q == ' ')
        q++;
    size_t n = strlen(q);
    while (n && q[n - 1] == ' ')
        n--;
    return n ? arena_strndup(r->arena, q, n) : NULL;
}

Result country_list_page(Request *r)
{
    size_t n;
    Campaign c = treaty_campaign(r->db);
    CountryRow *rows = treaty_countries(r, &c, 1, &n);
    const char *f_status = filter_value(r, "status", status_codes);
    const char *f_group = filter_value(r, "group", country_group_codes);
    const char *f_org = filter_value(r, "org", org_codes);
    const char *f_sort = filter_value(r, "sort", sort_codes);
    const char *f_similar = filter_value(r, "similar", similar_codes);
    const char *f_q = search_query(r);
    const char *found = f_q ? search_codes(r, f_q) : NULL;
    /* The persuadable are ranked by how many they accept, unless asked. */
    if (f_similar && !f_sort)
        f_sort = "procedures";
    int parties = 0, signatories = 0, none = 0, signatures = 0, states = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].un_status, "other") == 0)
            continue;
        states++;
        parties += rows[i].protocol.status == STATUS_PARTY;
        signatories += rows[i].protocol.status == STATUS_SIGNATORY;
        none += rows[i].protocol.status == STATUS_NONE;
        signatures += rows[i].protocol.signature_date[0] != 0;
    }
    json_t *map = r->is_api ? NULL : map_json(r, rows, n);
    /* From the year the instrument opened for signature. */
    json_t *chart = parties_chart(rows, n, atoi(c.opened_on));
    SortKey key = SORT_NAME;
    for (int i = 0; f_sort && sort_codes[i]; i++)
        if (!strcmp(f_sort, sort_codes[i]))
            key = (SortKey)i;
    treaty_sort_countries(rows, n, key);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const CountryRow *row = &rows[i];
        if (strcmp(row->un_status, "other") == 0)
            continue;
        if ((f_status && strcmp(f_status, treaty_status_code(row->protocol.status))) ||
            (f_group && strcmp(f_group, row->un_group)) ||
            (f_org && !has_word(row->organisations, f_org)) ||
            (f_similar &&
             (row->protocol.status == STATUS_PARTY || treaty_accepted_count(row) == 0)))
            continue;
        char tag[6];
        snprintf(tag, sizeof tag, " %s ", row->iso3);
        if (found && !strstr(found, tag))
            continue;
        json_array_append_new(list, country_json(r, &c, row));
    }
    r->cache_public = 1;
    r->cache_content = !r->is_api; /* nothing of the reader on it: see cache.h */
    r->page = "countries";
    r->title = treaty_say(r, &c, "Countries and the {treaty}"); /* msgid in treaty.c */
    r->data = json_build("{s:{s:i, s:i, s:i, s:i, s:i}, s:o, s:i, s:o, s:o, s:o, s:o, s:b}",
                         "counts", "parties", parties, "signatories", signatories, "none", none,
                         "signatures", signatures, "states", states, "countries", list, "shown",
                         (int)json_array_size(list), "chart", chart, "status_options",
                         form_options(r, status_codes, status_labels, f_status), "group_options",
                         form_options(r, country_group_codes, country_group_labels, f_group),
                         "org_options", form_options(r, org_codes, org_labels, f_org), "filtered",
                         f_status || f_group || f_org || f_similar || f_q);
    json_object_set_new(r->data, "q", json_string(f_q ? f_q : ""));
    json_t *similar = form_options(r, similar_codes, similar_labels, f_similar);
    json_object_set_new(json_array_get(similar, 0), "label",
                        json_string(treaty_say(r, &c, similar_labels[0])));
    json_object_set_new(r->data, "similar_options", similar);
    json_object_set_new(r->data, "campaign", treaty_campaign_json(r, &c));
    json_object_set_new(r->data, "sort", json_string(f_sort ? f_sort : "name"));
    /* The filters again, for the sorting links; values come from fixed lists. */
    Buf query = {0};
    buf_printf(&query, "%s%s%s%s%s%s%s%s", f_status ? "status=" : "", f_status ? f_status : "",
               f_group ? "&group=" : "", f_group ? f_group : "", f_org ? "&org=" : "",
               f_org ? f_org : "", f_similar ? "&similar=" : "", f_similar ? f_similar : "");
    if (f_q) { /* the one value typed: escaped here, and the template escapes the & */
        buf_puts(&query, "&q=");
        escape_url_component(&query, f_q, strlen(f_q));
    }
    json_object_set_new(r->data, "filter_query",
                        json_string(query.data && query.data[0] == '&' ? query.data + 1
                                    : query.data                       ? query.data
                                                                       : ""));
    buf_free(&query);
    if (map)
        json_object_set_new(r->data, "map", map);
    return R_OK;
}

/* ---- /countries/{iso3} ---- */

static const char *const kind_codes[] = {"signature",   "ratification", "accession", "succession",
                                         "declaration", "withdrawal",   NULL};
static const char *const kind_labels[] = {N_("Signature"),
                                          N_("Ratification"),
                                          N_("Accession"),
                                          N_("Succession"),
                                          N_("Declaration"),
                                          N_("Withdrawal"),
                                          NULL};

static json_t *actions_json(Request *r, const char *iso3, int can_edit)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT a.id, i.short_name, a.kind, a.article, a.action_date, a.source_url, "
               "a.note FROM treaty_actions a JOIN instruments i ON i.id = a.instrument_id "
               "WHERE a.iso3 = :iso3 ORDER BY a.action_date, a.id");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st)) {
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
                             (json_int_t)db_int(st, 0), "instrument", db_text(st, 1), "kind",
                             db_text(st, 2), "kind_label",
                             tr(r, code_label(kind_codes, kind_labels, db_text(st, 2))), "article",
                             db_text(st, 3), "date", db_text(st, 4), "source_url", db_text(st, 5),
                             "note", db_text(st, 6), "can_edit", can_edit));
        json_object_set_new(json_array_get(list, json_array_size(list) - 1), "date_text",
                            json_string(date_words(r, db_text(st, 4))));
    }
    db_done(st);
    return list;
}

const char *const country_stage_codes[] = {"ministry_review",
                                           "interministerial",
                                           "cabinet_approval",
                                           "bill_in_parliament",
                                           "parliament_approved",
                                           "instrument_deposited",
                                           NULL};
static const char *const stage_labels[] = {N_("Ministry review"),
                                           N_("Inter-ministerial consultation"),
                                           N_("Cabinet approval"),
                                           N_("Bill before parliament"),
                                           N_("Parliamentary approval"),
                                           N_("Instrument deposited"),
                                           NULL};
const char *country_stage_label(Request *r, const char *code)
{
    return tr(r, code_label(country_stage_codes, stage_labels, code));
}

const char *const country_visibility_codes[] = {"public",   "members", "country",
                                                "steering", "private", NULL};
static const char *const visibility_labels[] = {N_("Everyone"),
                                                N_("Members"),
                                                N_("The national coalition"),
                                                N_("The country's coordinators"),
                                                N_("Only me and the administrators"),
                                                NULL};

static json_t *stages_json(Request *r, const char *iso3, int can_edit)
{
    json_t *list = json_array();
    /* Who recorded a stage is its author for the visibility rule. */
    Stmt *st = db_prepare(
        r->db, "SELECT vis.id, i.short_name, vis.stage, vis.stage_date, vis.evidence, "
               "vis.source_url, vis.visibility "
               "FROM (SELECT *, recorded_by AS author_id FROM domestic_stages) vis "
               "JOIN instruments i ON i.id = vis.instrument_id "
               "WHERE vis.iso3 = :iso3 AND " VISIBILITY_SQL " ORDER BY vis.stage_date, vis.id");
    db_bind_text(st, ":iso3", iso3);
    visibility_bind(st, r->user);
    while (db_row(st)) {
        const char *visibility = db_text(st, 6);
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
                       (json_int_t)db_int(st, 0), "instrument", db_text(st, 1), "stage",
                       db_text(st, 2), "stage_label",
                       tr(r, code_label(country_stage_codes, stage_labels, db_text(st, 2))), "date",
                       db_text(st, 3), "evidence", db_text(st, 4), "source_url", db_text(st, 5),
                       "visibility", visibility, "visibility_label",
                       tr(r, code_label(country_visibility_codes, visibility_labels, visibility)),
                       "can_edit", can_edit));
        json_object_set_new(json_array_get(list, json_array_size(list) - 1), "date_text",
                            json_string(date_words(r, db_text(st, 3))));
    }
    db_done(st);
    return list;
}

static json_t *standing_json(Request *r, const Standing *s)
{
    return json_build(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "status",
        treaty_status_code(s->status), "status_label", tr(r, treaty_status_label(s->status)),
        "signature_date", s->signature_date, "party_date", s->party_date, "party_kind",
        s->party_kind, "party_kind_label", treaty_party_kind_label(r, s->party_kind), "declared",
        s->declared, "withdrawn", s->withdrawn, "signature_date_text",
        date_words(r, s->signature_date), "party_date_text", date_words(r, s->party_date));
}

/* Fills r->data for the country page (also used to show its forms again
 * after a failed edit). Returns R_NOT_FOUND for an unknown code. */
static Result country_data(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(
        r->db, "SELECT coalesce(n.name, e.name), c.un_status, c.un_group, c.organisations, "
               "c.iso2, c.numeric_code FROM countries c "
               "LEFT JOIN country_names n ON n.iso3 = c.iso3 AND n.lang = :lang "
               "JOIN country_names e ON e.iso3 = c.iso3 AND e.lang = 'en' "
               "WHERE c.iso3 = :iso3");
    db_bind_text(st, ":lang", r->lang);
    db_bind_text(st, ":iso3", iso3);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    CountryRow row = {0};
    snprintf(row.iso3, sizeof row.iso3, "%s", iso3);
    row.name = arena_strdup(r->arena, db_text(st, 0));
    row.un_status = arena_strdup(r->arena, db_text(st, 1));
    row.un_group = arena_strdup(r->arena, db_text(st, 2));
    row.organisations = arena_strdup(r->arena, db_text(st, 3));
    const char *iso2 = arena_strdup(r->arena, db_text(st, 4));
    db_done(st);
    Campaign c = treaty_campaign(r->db);
    treaty_row_standings(r->db, &c, &row);
    int can_edit = auth_covers_country(r->user, iso3);
    json_t *country = country_json(r, &c, &row);
    json_object_set_new(country, "iso2", json_string(iso2));
    json_object_set_new(country, "is_state", json_boolean(strcmp(row.un_status, "other") != 0));
    json_object_set_new(country, "protocol", standing_json(r, &row.protocol));
    if (c.parent_id)
        json_object_set_new(country, "covenant", standing_json(r, &row.covenant));
    json_object_set_new(country, "actions", actions_json(r, iso3, can_edit));
    json_object_set_new(country, "stages", stages_json(r, iso3, can_edit));
    json_decref(r->data);
    r->data = json_build("{s:o, s:b, s:o}", "country", country, "can_edit", can_edit, "campaign",
                         treaty_campaign_json(r, &c));
    json_t *coalition;
    if (coalition_public_json(r, iso3, &coalition) == R_OK)
        json_object_set_new(r->data, "coalition", coalition);
    json_object_set_new(r->data, "letters", letter_country_summary(r, iso3));
    json_object_set_new(r->data, "meetings", meeting_country_summary(r, iso3));
    if (strcmp(c.slug, UPR_INSTRUMENT) == 0)
        json_object_set_new(r->data, "upr",
                            upr_country_json(r, iso3, row.protocol.status == STATUS_PARTY));
    json_object_set_new(r->data, "friend", friend_country_json(r, iso3));
    json_object_set_new(r->data, "position", position_country_json(r, iso3));
    json_object_set_new(r->data, "submissions", submission_country_json(r, iso3));
    if (can_edit && !r->is_api) {
        json_object_set_new(r->data, "stage_options",
                            form_options(r, country_stage_codes, stage_labels, NULL));
        json_object_set_new(r->data, "visibility_options",
                            form_options(r, country_visibility_codes, visibility_labels, "public"));
        json_object_set_new(r->data, "kind_options",
                            form_options(r, kind_codes, kind_labels, NULL));
    }
    r->page = "country";
    r->title = arena_strdup(r->arena, row.name);
    r->cache_public = !r->user;
    return R_OK;
}

Result country_page(Request *r)
{
    const char *iso3;
    if (param_iso3(r, "iso3", &iso3) != R_OK)
        return R_NOT_FOUND;
    return country_data(r, iso3);
}

/* ---- recording and correcting ---- */

/* Checks the country exists and the user covers it. */
Result country_editable(Request *r, const char **iso3)
{
    if (param_iso3(r, "iso3", iso3) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM countries WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", *iso3);
    int found = db_row(st);
    db_done(st);
    if (!found)
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, *iso3)) {
        r->message = tr(r, "Only the coordinators of this country and the administrators can "
                           "change its record.");
        return R_FORBIDDEN;
    }
    return R_OK;
}

/* Shows the country page again with what was typed and the errors. */
Result country_form_failed(Request *r, const char *iso3, const char *form)
{
    Result res = country_data(r, iso3);
    if (res != R_OK)
        return res;
    json_t *typed = form_typed(r);
    json_object_set_new(r->data, form, typed);
    return R_BAD_REQUEST;
}

int64_t country_instrument_param(Request *r)
{
    const char *slug = NULL;
    int64_t id = 0, parent = 0;
    if (param_slug(r, "instrument", 1, 64, &slug) != R_OK ||
        treaty_find(r->db, slug, &id, &parent) != R_OK)
        return 0; /* an unknown one: the caller names the field */
    return id;
}

/* A treaty action to record (or correct: the same action again replaces
 * its date, source and note). */
typedef struct {
    Request *r;
    TreatyAction action;
} ActionRecord;

static Result action_record_apply(Db *w, void *ctx);

Result country_action_post(Request *r)
{
    const char *iso3;
    Result res = country_editable(r, &iso3);
    if (res != R_OK)
        return res;
    int kind = 0;
    const char *date = NULL, *article = NULL, *source = NULL, *note = NULL;
    int64_t instrument = country_instrument_param(r);
    int bad = !instrument;
    if (bad) {
        param_error(r, "instrument", N_("Please choose one of the options."));
    }
    bad |= param_enum(r, "kind", kind_codes, &kind) != R_OK;
    bad |= param_date(r, "date", &date) != R_OK;
    bad |= param_optional_text(r, "article", 10, 0, &article) != R_OK;
    bad |= param_link(r, "source_url", &source) != R_OK;
    bad |= param_optional_text(r, "note", 2000, 1, &note) != R_OK;
    if (!bad && strcmp(kind_codes[kind], "declaration") == 0 && (!article || !*article)) {
        param_error(r, "article", N_("A declaration needs the article it is made under."));
        bad = 1;
    }
    if (bad)
        return country_form_failed(r, iso3, "action_form");
    ActionRecord a = {.r = r,
                      .action = {.iso3 = iso3,
                                 .instrument = instrument,
                                 .kind = kind_codes[kind],
                                 .article = article ? article : "",
                                 .date = date,
                                 .source = source ? source : "",
                                 .note = note ? note : ""}};
    if (db_write(r->db, action_record_apply, &a) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s#actions", iso3));
}

static Result action_record_apply(Db *w, void *ctx)
{
    ActionRecord *a = ctx;
    Request *r = a->r;
    const TreatyAction *t = &a->action;
    if (treaty_action_record(w, t, r->user->id) != R_OK)
        return R_INTERNAL;
    char *detail = arena_printf(r->arena, "instrument %lld %s %s %s", (long long)t->instrument,
                                t->kind, t->article, t->date);
    return audit_log(w, r->user->id, "treaty action recorded",
                     arena_printf(r->arena, "country %s", t->iso3), detail);
}

/* A treaty action to delete, in the path's country. */
typedef struct {
    Request *r;
    const char *iso3;
    int64_t id;
} CountryDelete;

static Result country_delete_apply(Db *w, void *ctx)
{
    CountryDelete *d = ctx;
    Result rc = treaty_action_delete(w, d->id, d->iso3);
    if (rc != R_OK)
        return rc;
    return audit_log(w, d->r->user->id, "treaty action deleted",
                     arena_printf(d->r->arena, "country %s", d->iso3),
                     arena_printf(d->r->arena, "id %lld", (long long)d->id));
}

/* Deletes the row of the path's {id} and goes back to the page's list. */
static Result delete_in_country(Request *r, const char *iso3)
{
    CountryDelete d = {.r = r, .iso3 = iso3};
    if (param_int(r, "id", 1, INT64_MAX, &d.id) != R_OK)
        return R_NOT_FOUND;
    Result res = db_write(r->db, country_delete_apply, &d);
    if (res != R_OK)
        return res;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s?done=deleted#actions", iso3));
}

/* GET /countries/{iso3}/actions/{id}/delete: says which action would go
 * and asks first; the POST below deletes it. */
Result country_action_delete_page(Request *r)
{
    const char *iso3;
    int64_t id;
    Result res = country_editable(r, &iso3);
    if (res != R_OK)
        return res;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT i.short_name, a.kind, a.article, a.action_date, a.note "
                                 "FROM treaty_actions a JOIN instruments i ON i.id = "
                                 "a.instrument_id WHERE a.id = :id AND a.iso3 = :iso3");
    db_bind_int(st, ":id", id);
    db_bind_text(st, ":iso3", iso3);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    json_t *what = json_array();
    const char *name = country_name_of(r, iso3);
    confirm_line(r, what, N_("Country"), name ? name : iso3);
    confirm_line(r, what, N_("Treaty"), db_text(st, 0));
    confirm_line(r, what, N_("Action"), tr(r, code_label(kind_codes, kind_labels, db_text(st, 1))));
    confirm_line(r, what, N_("Article"), db_text(st, 2));
    confirm_line(r, what, N_("Date"), db_text(st, 3));
    confirm_line(r, what, N_("Note"), db_text(st, 4));
    db_done(st);
    ConfirmPage c = {
        .heading = tr(r, "Delete this treaty action?"),
        .consequence = tr(r, "It will be gone from the country's record and its status "
                             "may change. The deletion is recorded in the audit log."),
        .action = arena_printf(r->arena, "/countries/%s/actions/%lld/delete", iso3, (long long)id),
        .button = tr(r, "Delete"),
        .cancel = arena_printf(r->arena, "/countries/%s#actions", iso3),
        .what = what};
    return http_confirm(r, &c);
}

Result country_action_delete_post(Request *r)
{
    const char *iso3;
    Result res = country_editable(r, &iso3);
    if (res != R_OK)
        return res;
    return delete_in_country(r, iso3);
}
