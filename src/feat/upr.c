/*
 * upr.c: recommendations of the Universal Periodic Review (UPR) that
 * concern the Covenant and its Protocol: importing UPR Info's export
 * (`ratify import upr`, /admin/upr, and the shipped sessions 1-20 at the
 * first start), classifying each by rules a person can read, the review
 * queue of the ambiguous ones, and what a country page shows.
 *
 * Why rules and a person: about one in six recommendations that mention
 * the Covenant names its Protocol; many others list "the Optional
 * Protocols to ICCPR, ICESCR and CAT", which may or may not mean it. A
 * rule decides what is plain and says which rule it was; what is not plain
 * waits for an administrator.
 *
 * Invariants: a state's name becomes a country only through the one name
 * table (member_io_country_find: names in every language and
 * data/country-aliases.csv), exactly or not at all; an import is written
 * whole or not at all; a recommendation already recorded (same session,
 * states and text) is never recorded twice; every decision is audited.
 * Owns upr_sessions, upr_imports and upr_recommendations
 * (schema/019_upr.sql).
 */
#include "feat/upr.h"

#include <ctype.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/assets.h"
#include "base/csv.h"
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "feat/member_io.h"
#include "feat/notification.h"
#include "svc/audit.h"

/* ---- classification ---- */

/* text in lower case with every run of characters other than ASCII
 * letters and digits made one space, and a space at each end, so that a
 * phrase is found as whole words: " optional protocol to icescr ". Bytes
 * of other scripts are kept as they are. */
static char *normalise(const char *text)
{
    size_t n = strlen(text);
    char *out = xmalloc(n + 3), *o = out;
    *o++ = ' ';
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (isalnum(*p) || *p >= 0x80)
            *o++ = (char)tolower(*p);
        else if (o[-1] != ' ')
            *o++ = ' ';
    }
    if (o[-1] != ' ')
        *o++ = ' ';
    *o = 0;
    return out;
}

static const char *const covenant_names[] = {
    "international covenant on economic social and cultural rights",
    "covenant on economic social and cultural rights", "icescr", NULL};

/* The ways the Protocol is named: "Optional Protocol to the ICESCR",
 * "OP-ICESCR", "the ICESCR and its Optional Protocol". */
static int names_protocol(const char *t)
{
    static const char *const links[] = {"to the", "to",        "of the", "of",
                                        "on the", "under the", NULL};
    char phrase[160];
    if (strstr(t, " op icescr "))
        return 1;
    for (const char *const *c = covenant_names; *c; c++) {
        for (const char *const *l = links; *l; l++) {
            snprintf(phrase, sizeof phrase, " optional protocol %s %s ", *l, *c);
            if (strstr(t, phrase))
                return 1;
        }
        snprintf(phrase, sizeof phrase, " %s and its optional protocol ", *c);
        if (strstr(t, phrase))
            return 2;
    }
    return 0;
}

static int names_covenant(const char *t)
{
    char phrase[96];
    for (const char *const *c = covenant_names; *c; c++) {
        snprintf(phrase, sizeof phrase, " %s ", *c);
        if (strstr(t, phrase))
            return 1;
    }
    return 0;
}

static int asks_to_join(const char *t)
{
    static const char *const words[] = {" sign ",
                                        " signing ",
                                        " signature ",
                                        " ratify ",
                                        " ratifying ",
                                        " ratifies ",
                                        " ratification ",
                                        " ratifications ",
                                        " accede ",
                                        " acceding ",
                                        " accession ",
                                        " adhere ",
                                        " adhering ",
                                        " become a party ",
                                        " becoming a party ",
                                        " become party ",
                                        " becoming party ",
                                        " being a party ",
                                        " being party ",
                                        " join ",
                                        " joining ",
                                        NULL};
    for (const char *const *w = words; *w; w++)
        if (strstr(t, *w))
            return 1;
    return 0;
}

UprVerdict upr_classify(const char *text)
{
    char *t = normalise(text);
    UprVerdict v = {"other", "no_covenant", asks_to_join(t)};
    int named = names_protocol(t);
    if (named == 1)
        v = (UprVerdict){"protocol", "names_protocol", v.asks_to_join};
    else if (named == 2)
        v = (UprVerdict){"protocol", "covenant_and_its_protocol", v.asks_to_join};
    else if (names_covenant(t) && (strstr(t, " optional protocol") || strstr(t, " thereto ")))
        v = (UprVerdict){"review", "protocol_unclear", v.asks_to_join};
    else if (names_covenant(t))
        v = (UprVerdict){"covenant", "names_covenant", v.asks_to_join};
    free(t);
    return v;
}

const char *upr_rule_text(const char *rule)
{
    if (!strcmp(rule, "names_protocol"))
        return N_("It names the Optional Protocol to the Covenant (\"Optional Protocol to the "
                  "ICESCR\", \"OP-ICESCR\").");
    if (!strcmp(rule, "covenant_and_its_protocol"))
        return N_("It names the Covenant \"and its Optional Protocol\".");
    if (!strcmp(rule, "protocol_unclear"))
        return N_("It names the Covenant and an optional protocol, but not plainly the "
                  "Covenant's: a person decides.");
    if (!strcmp(rule, "names_covenant"))
        return N_("It names the Covenant, not its Protocol.");
    if (!strcmp(rule, "person"))
        return N_("Decided by an administrator.");
    return N_("It does not name the Covenant (it speaks of these rights in general, or of "
              "another covenant).");
}

/* ---- reading an export ---- */

struct UprRow {
    char key[65]; /* hex SHA-256 of session, states and text */
    int64_t session, action;
    char to[4], from[4];
    char *text, *issues;
    const char *response, *class, *rule;
    int asks_to_join, present;
};

static void row_key(UprRow *row)
{
    crypto_hash_sha256_state h;
    unsigned char out[crypto_hash_sha256_BYTES];
    char head[32];
    snprintf(head, sizeof head, "%lld\x1f%s\x1f%s\x1f", (long long)row->session, row->to,
             row->from);
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)head, strlen(head));
    crypto_hash_sha256_update(&h, (const unsigned char *)row->text, strlen(row->text));
    crypto_hash_sha256_final(&h, out);
    sodium_bin2hex(row->key, sizeof row->key, out, sizeof out);
}

static void add_problem(UprReport *rep, size_t line, const char *name, const char *problem)
{
    if (name) {
        for (size_t i = 0; i < rep->problem_count; i++)
            if (!strcmp(rep->problems[i].name, name)) {
                rep->problems[i].rows++;
                return;
            }
    }
    rep->problems = xrealloc(rep->problems, (rep->problem_count + 1) * sizeof *rep->problems);
    UprProblem *p = &rep->problems[rep->problem_count++];
    p->line = line;
    p->rows = 1;
    snprintf(p->name, sizeof p->name, "%s", name ? name : "");
    p->problem = problem;
}

/* The columns of UPR Info's export that Ratify reads. */
typedef struct {
    int to, from, text, response, session, action, issue;
} UprColumns;

static int read_header(CsvReader *csv, UprColumns *c)
{
    if (csv_next(csv) != 1)
        return -1;
    *c = (UprColumns){csv_column(csv, "To"),      csv_column(csv, "From"),
                      csv_column(csv, "Text"),    csv_column(csv, "Response"),
                      csv_column(csv, "Session"), csv_column(csv, "Action"),
                      csv_column(csv, "Issue")};
    return c->to < 0 || c->from < 0 || c->text < 0 || c->response < 0 || c->session < 0 ? -1 : 0;
}

static const char *field(const CsvReader *csv, int col)
{
    return col >= 0 && (size_t)col < csv->count ? csv->fields[col] : "";
}

/* Checks and classifies one record into row: 0, or -1 with the problem
 * added to rep. */
static int read_row(const CsvReader *csv, const UprColumns *c, const CountryNames *names,
                    UprReport *rep, UprRow *row)
{
    memset(row, 0, sizeof *row);
    const char *to = member_io_country_find(names, field(csv, c->to));
    const char *from = member_io_country_find(names, field(csv, c->from));
    if (!to || !from) {
        add_problem(rep, csv->line, !to ? field(csv, c->to) : field(csv, c->from),
                    N_("This state's name is not in the name table."));
        return -1;
    }
    const char *text = field(csv, c->text), *response = field(csv, c->response);
    char *end;
    long long session = strtoll(field(csv, c->session), &end, 10);
    const char *problem = NULL;
    if (!*text || strlen(text) > 8000 || !utf8_valid_text(text, strlen(text)))
        problem = N_("The text is missing, too long or not UTF-8.");
    else if (end == field(csv, c->session) || *end || session < 1 || session > 999)
        problem = N_("The session is not a number from 1 to 999.");
    else if (strcasecmp(response, "Accepted") != 0 && strcasecmp(response, "Noted") != 0)
        problem = N_("The response is neither Accepted nor Noted.");
    if (problem) {
        add_problem(rep, csv->line, NULL, problem);
        return -1;
    }
    snprintf(row->to, sizeof row->to, "%s", to);
    snprintf(row->from, sizeof row->from, "%s", from);
    row->session = session;
    row->action = atoi(field(csv, c->action));
    row->text = xstrdup(text);
    row->issues = xstrdup(utf8_valid_text(field(csv, c->issue), strlen(field(csv, c->issue)))
                              ? field(csv, c->issue)
                              : "");
    row->response = strcasecmp(response, "Accepted") == 0 ? "accepted" : "noted";
    UprVerdict v = upr_classify(text);
    row->class = v.class;
    row->rule = v.rule;
    row->asks_to_join = v.asks_to_join;
    row_key(row);
    return 0;
}

static int compare_keys(const void *a, const void *b)
{
    return strcmp((*(UprRow *const *)a)->key, (*(UprRow *const *)b)->key);
}

/* Marks the rows recorded already, in the database or earlier in the file,
 * and counts the new ones by class. */
static Result mark_present(Db *db, UprReport *rep)
{
    UprRow **sorted = xmalloc((rep->row_count + 1) * sizeof *sorted);
    for (size_t i = 0; i < rep->row_count; i++)
        sorted[i] = &rep->rows[i];
    qsort(sorted, rep->row_count, sizeof *sorted, compare_keys);
    for (size_t i = 1; i < rep->row_count; i++)
        if (!strcmp(sorted[i]->key, sorted[i - 1]->key))
            sorted[i]->present = 1;
    free(sorted);
    for (size_t i = 0; i < rep->row_count; i++) {
        UprRow *row = &rep->rows[i];
        if (!row->present) {
            Stmt *st = db_prepare(db, "SELECT 1 FROM upr_recommendations WHERE row_key = :key");
            db_bind_text(st, ":key", row->key);
            row->present = db_row(st);
            if (db_done(st) != R_OK)
                return R_INTERNAL;
        }
        if (row->present) {
            rep->present++;
            continue;
        }
        rep->added++;
        size_t *count = !strcmp(row->class, "protocol")   ? &rep->protocol
                        : !strcmp(row->class, "covenant") ? &rep->covenant
                        : !strcmp(row->class, "review")   ? &rep->review
                                                          : &rep->other;
        (*count)++;
    }
    return R_OK;
}

static Result read_export(Db *db, const char *text, size_t len, UprReport *rep)
{
    if (!utf8_valid_text(text, len)) {
        snprintf(rep->error, sizeof rep->error, "%s", N_("The file must be CSV text in UTF-8."));
        return R_BAD_REQUEST;
    }
    CountryNames names;
    if (member_io_countries(db, &names) != R_OK)
        return R_INTERNAL;
    CsvReader csv;
    csv_open(&csv, text, len);
    UprColumns cols;
    Result r = R_OK;
    if (read_header(&csv, &cols) != 0) {
        snprintf(rep->error, sizeof rep->error, "%s",
                 N_("The file needs the columns To, From, Text, Response and Session of UPR "
                    "Info's export."));
        r = R_BAD_REQUEST;
    }
    size_t cap = 0;
    int rc = 0;
    while (r == R_OK && (rc = csv_next(&csv)) == 1) {
        rep->rows_read++;
        if (rep->row_count == cap) {
            cap = cap ? cap * 2 : 256;
            rep->rows = xrealloc(rep->rows, cap * sizeof *rep->rows);
        }
        if (read_row(&csv, &cols, &names, rep, &rep->rows[rep->row_count]) == 0)
            rep->row_count++;
        else
            rep->skipped++;
    }
    if (r == R_OK && rc < 0) {
        snprintf(rep->error, sizeof rep->error, "line %zu: %s", csv.line, csv.error);
        r = R_BAD_REQUEST;
    }
    csv_free(&csv);
    member_io_countries_free(&names);
    return r == R_OK ? mark_present(db, rep) : r;
}

/* ---- writing an import ---- */

typedef struct {
    const UprReport *rep;
    const char *source;
    int64_t user_id;
} UprWrite;

static char *unknown_names(const UprReport *rep)
{
    Buf b = {0};
    for (size_t i = 0; i < rep->problem_count; i++)
        if (rep->problems[i].name[0])
            buf_printf(&b, "%s%s", b.len ? "\n" : "", rep->problems[i].name);
    return b.data ? b.data : xstrdup("");
}

static Result insert_row(Db *w, const UprRow *row, int64_t import_id)
{
    Stmt *st = db_prepare(w, "INSERT INTO upr_recommendations (row_key, session, to_iso3, "
                             "from_iso3, text, response, action, issues, class, rule, "
                             "asks_to_join, import_id) VALUES (:key, :session, :to, :from, "
                             ":text, :response, :action, :issues, :class, :rule, :asks, "
                             ":import) ON CONFLICT (row_key) DO NOTHING");
    db_bind_text(st, ":key", row->key);
    db_bind_int(st, ":session", row->session);
    db_bind_text(st, ":to", row->to);
    db_bind_text(st, ":from", row->from);
    db_bind_text(st, ":text", row->text);
    db_bind_text(st, ":response", row->response);
    db_bind_int(st, ":action", row->action);
    db_bind_text(st, ":issues", row->issues);
    db_bind_text(st, ":class", row->class);
    db_bind_text(st, ":rule", row->rule);
    db_bind_int(st, ":asks", row->asks_to_join);
    db_bind_int(st, ":import", import_id);
    return db_run(st);
}

/* The sessions 1-20 shipped with Ratify, loaded at the first start. */
static const char SHIPPED[] = "data/upr/upr-info-sessions-1-20-covenant.csv";

static Result upr_write_apply(Db *w, void *ctx)
{
    const UprWrite *uw = ctx;
    char *unknown = unknown_names(uw->rep);
    Stmt *st = db_prepare(w, "INSERT INTO upr_imports (source, imported_by, imported_at, "
                             "rows_read, added, skipped, unknown_names) VALUES (:source, :user, "
                             ":now, :rows, :added, :skipped, :unknown) RETURNING id");
    db_bind_text(st, ":source", uw->source);
    if (uw->user_id)
        db_bind_int(st, ":user", uw->user_id);
    else
        db_bind_null(st, ":user");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":rows", (int64_t)uw->rep->rows_read);
    db_bind_int(st, ":added", (int64_t)uw->rep->added);
    db_bind_int(st, ":skipped", (int64_t)uw->rep->skipped);
    db_bind_text(st, ":unknown", unknown);
    free(unknown);
    int64_t id;
    if (db_insert(st, &id) != R_OK)
        return R_INTERNAL;
    for (size_t i = 0; i < uw->rep->row_count; i++)
        if (!uw->rep->rows[i].present && insert_row(w, &uw->rep->rows[i], id) != R_OK)
            return R_INTERNAL;
    char detail[160];
    snprintf(detail, sizeof detail, "%zu added, %zu in review, %zu skipped", uw->rep->added,
             uw->rep->review, uw->rep->skipped);
    /* The secretariat told of the new ones left to a person, once per
     * import and in its transaction; not the admin who imported (the page
     * shows them), nor of the shipped sessions loaded at the first start. */
    if (strcmp(uw->source, SHIPPED) != 0 &&
        notification_reviews_queued(w, "upr", (int64_t)uw->rep->review, uw->user_id, NULL) != R_OK)
        return R_INTERNAL;
    char object[32];
    snprintf(object, sizeof object, "upr import %lld", (long long)id);
    return audit_log(w, uw->user_id, "upr recommendations imported", object, detail);
}

Result upr_import(Db *db, const char *csv, size_t len, const char *source, int apply,
                  int64_t user_id, UprReport *report)
{
    memset(report, 0, sizeof *report);
    Result r = read_export(db, csv, len, report);
    if (r != R_OK || !apply)
        return r;
    UprWrite uw = {.rep = report, .source = source, .user_id = user_id};
    return db_write(db, upr_write_apply, &uw);
}

void upr_report_free(UprReport *report)
{
    for (size_t i = 0; i < report->row_count; i++) {
        free(report->rows[i].text);
        free(report->rows[i].issues);
    }
    free(report->rows);
    free(report->problems);
    memset(report, 0, sizeof *report);
}

/* ---- seeding ---- */

static Result sessions_apply(Db *w, void *ctx)
{
    const Asset *a = ctx;
    CsvReader csv;
    csv_open(&csv, (const char *)a->data, a->len);
    Result r = R_OK;
    if (csv_next(&csv) != 1)
        r = R_INTERNAL;
    int n = csv_column(&csv, "session"), s = csv_column(&csv, "starts_on"),
        e = csv_column(&csv, "ends_on");
    while (r == R_OK && n >= 0 && s >= 0 && e >= 0 && csv_next(&csv) == 1) {
        Stmt *st = db_prepare(w, "INSERT INTO upr_sessions (number, starts_on, ends_on) "
                                 "VALUES (:n, :s, :e) ON CONFLICT (number) DO NOTHING");
        db_bind_int(st, ":n", atoll(field(&csv, n)));
        db_bind_text(st, ":s", field(&csv, s));
        db_bind_text(st, ":e", field(&csv, e));
        r = db_run(st);
    }
    csv_free(&csv);
    return r;
}

static int table_empty(Db *db, int imports)
{
    Stmt *st = imports ? db_prepare(db, "SELECT 1 FROM upr_imports LIMIT 1")
                       : db_prepare(db, "SELECT 1 FROM upr_sessions LIMIT 1");
    int empty = !db_row(st);
    db_done(st);
    return empty;
}

Result upr_seed(Db *db)
{
    const Asset *sessions = asset_find("data/upr-sessions.csv"), *shipped = asset_find(SHIPPED);
    if (!sessions || !shipped)
        return R_INTERNAL;
    if (table_empty(db, 0) && db_write(db, sessions_apply, (void *)sessions) != R_OK)
        return R_INTERNAL;
    if (!table_empty(db, 1))
        return R_OK;
    UprReport rep;
    Result r = upr_import(db, (const char *)shipped->data, shipped->len, SHIPPED, 1, 0, &rep);
    for (size_t i = 0; i < rep.problem_count; i++)
        fprintf(stderr, "ratify: %s line %zu: %s%s%s\n", SHIPPED, rep.problems[i].line,
                rep.problems[i].problem, rep.problems[i].name[0] ? " " : "", rep.problems[i].name);
    if (r != R_OK)
        fprintf(stderr, "ratify: %s: %s\n", SHIPPED, rep.error[0] ? rep.error : "not loaded");
    upr_report_free(&rep);
    return r;
}

/* ---- the command ---- */

static void print_report(const UprReport *rep, int apply)
{
    printf("%zu rows read: %zu new (%zu on the Protocol, %zu on the Covenant only, %zu other, "
           "%zu for review), %zu recorded already, %zu skipped\n",
           rep->rows_read, rep->added, rep->protocol, rep->covenant, rep->other, rep->review,
           rep->present, rep->skipped);
    for (size_t i = 0; i < rep->problem_count; i++) {
        const UprProblem *p = &rep->problems[i];
        if (p->name[0])
            printf("line %zu: unknown state name \"%s\" (%zu rows skipped)\n", p->line, p->name,
                   p->rows);
        else
            printf("line %zu: %s\n", p->line, p->problem);
    }
    printf(apply ? "Written.\n" : "Dry run: nothing written. Run again with --apply.\n");
}

Result upr_import_cmd(Db *db, int argc, char **argv)
{
    const char *path = NULL;
    int apply = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--apply"))
            apply = 1;
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else
            path = NULL, i = argc;
    }
    if (!path) {
        fprintf(stderr, "usage: ratify import upr FILE.csv [--apply]\n");
        return R_BAD_REQUEST;
    }
    size_t len;
    char *text = member_io_read_file(path, &len);
    if (!text) {
        fprintf(stderr, "ratify: cannot read %s\n", path);
        return R_BAD_REQUEST;
    }
    UprReport rep;
    Result r = upr_import(db, text, len, path, apply, 0, &rep);
    if (r == R_BAD_REQUEST)
        fprintf(stderr, "ratify: %s: %s\n", path, rep.error);
    else if (r == R_OK)
        print_report(&rep, apply);
    upr_report_free(&rep);
    free(text);
    return r;
}

/* ---- the country page ---- */

/* The recommendations on the Protocol that iso3 received (made: 0) or
 * made (1), oldest first, with the other state's name in r->lang. */
static json_t *recommendations(Request *r, const char *iso3, int made, int *first_year)
{
    Stmt *st =
        made
            ? db_prepare(r->db, "SELECT u.to_iso3, u.session, coalesce(s.starts_on, ''), u.text, "
                                "u.response, u.asks_to_join FROM upr_recommendations u "
                                "LEFT JOIN upr_sessions s ON s.number = u.session "
                                "WHERE u.from_iso3 = :iso3 AND u.class = 'protocol' "
                                "ORDER BY u.session, u.id")
            : db_prepare(r->db, "SELECT u.from_iso3, u.session, coalesce(s.starts_on, ''), u.text, "
                                "u.response, u.asks_to_join FROM upr_recommendations u "
                                "LEFT JOIN upr_sessions s ON s.number = u.session "
                                "WHERE u.to_iso3 = :iso3 AND u.class = 'protocol' "
                                "ORDER BY u.session, u.id");
    db_bind_text(st, ":iso3", iso3);
    json_t *list = json_array();
    while (db_row(st)) {
        const char *other = country_name_of(r, db_text(st, 0));
        int year = atoi(db_text(st, 2));
        int accepted = !strcmp(db_text(st, 4), "accepted");
        if (first_year && accepted && db_int(st, 5) && year && (!*first_year || year < *first_year))
            *first_year = year;
        json_array_append_new(
            list, json_build("{s:s, s:s, s:I, s:i, s:s, s:s, s:b}", "iso3", db_text(st, 0), "state",
                             other ? other : db_text(st, 0), "session", (json_int_t)db_int(st, 1),
                             "year", year, "text", db_text(st, 3), "response",
                             tr(r, accepted ? N_("Accepted") : N_("Noted")), "accepted", accepted));
    }
    db_done(st);
    return list;
}

static int64_t covenant_count(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT count(*) FROM upr_recommendations "
                                 "WHERE to_iso3 = :iso3 AND class = 'covenant'");
    db_bind_text(st, ":iso3", iso3);
    int64_t n = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return n;
}

json_t *upr_country_json(Request *r, const char *iso3, int party)
{
    int first_year = 0;
    json_t *received = recommendations(r, iso3, 0, &first_year);
    json_t *made = recommendations(r, iso3, 1, NULL);
    json_t *o =
        json_build("{s:b, s:o, s:b, s:o, s:I}", "has_received", json_array_size(received) > 0,
                   "received", received, "has_made", json_array_size(made) > 0, "made", made,
                   "covenant_only", (json_int_t)covenant_count(r, iso3));
    if (!party && first_year)
        json_object_set_new(
            o, "flag",
            json_string(arena_printf(r->arena, "%s (%d).",
                                     tr(r, N_("Accepted a recommendation to join the Protocol, "
                                              "and is still not a party")),
                                     first_year)));
    return o;
}

/* ---- the administrators' page ---- */

static json_t *imports_json(Request *r)
{
    Stmt *st = db_prepare(r->db, "SELECT source, imported_at, rows_read, added, skipped, "
                                 "unknown_names FROM upr_imports ORDER BY id DESC LIMIT 20");
    json_t *list = json_array();
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:s, s:s, s:I, s:I, s:I, s:s}", "source", db_text(st, 0), "when",
                             audit_when(r, db_int(st, 1)), "rows", (json_int_t)db_int(st, 2),
                             "added", (json_int_t)db_int(st, 3), "skipped",
                             (json_int_t)db_int(st, 4), "unknown", db_text(st, 5)));
    db_done(st);
    return list;
}

static json_t *review_json(Request *r)
{
    Stmt *st = db_prepare(r->db, "SELECT u.id, u.to_iso3, u.from_iso3, u.session, u.text, "
                                 "u.response, u.rule FROM upr_recommendations u "
                                 "WHERE u.class = 'review' ORDER BY u.session, u.id LIMIT 50");
    json_t *list = json_array();
    while (db_row(st)) {
        const char *to = country_name_of(r, db_text(st, 1));
        const char *from = country_name_of(r, db_text(st, 2));
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:I, s:s, s:s, s:s}", "id", (json_int_t)db_int(st, 0), "to",
                       to ? to : db_text(st, 1), "from", from ? from : db_text(st, 2), "session",
                       (json_int_t)db_int(st, 3), "text", db_text(st, 4), "response",
                       tr(r, !strcmp(db_text(st, 5), "accepted") ? N_("Accepted") : N_("Noted")),
                       "rule", tr(r, upr_rule_text(db_text(st, 6)))));
    }
    db_done(st);
    return list;
}

static int64_t review_count(Db *db)
{
    Stmt *st = db_prepare(db, "SELECT count(*) FROM upr_recommendations WHERE class = 'review'");
    int64_t n = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return n;
}

static json_t *rules_json(Request *r)
{
    static const char *const rules[] = {"names_protocol",   "covenant_and_its_protocol",
                                        "protocol_unclear", "names_covenant",
                                        "no_covenant",      NULL};
    json_t *list = json_array();
    for (const char *const *p = rules; *p; p++)
        json_array_append_new(list, json_string(tr(r, upr_rule_text(*p))));
    return list;
}

Result upr_admin_page(Request *r)
{
    r->page = "admin_upr";
    r->title = tr(r, "UPR recommendations");
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, "imports", imports_json(r));
    json_object_set_new(r->data, "review", review_json(r));
    json_object_set_new(r->data, "review_count", json_integer((json_int_t)review_count(r->db)));
    json_object_set_new(r->data, "rules", rules_json(r));
    return R_OK;
}

static json_t *report_json(Request *r, const UprReport *rep)
{
    json_t *problems = json_array();
    for (size_t i = 0; i < rep->problem_count; i++) {
        const UprProblem *p = &rep->problems[i];
        json_array_append_new(problems,
                              json_build("{s:I, s:s, s:I, s:s}", "line", (json_int_t)p->line,
                                         "name", p->name, "rows", (json_int_t)p->rows, "problem",
                                         tr(r, p->problem)));
    }
    return json_build("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:o}", "rows",
                      (json_int_t)rep->rows_read, "added", (json_int_t)rep->added, "present",
                      (json_int_t)rep->present, "skipped", (json_int_t)rep->skipped, "protocol",
                      (json_int_t)rep->protocol, "covenant", (json_int_t)rep->covenant, "other",
                      (json_int_t)rep->other, "review", (json_int_t)rep->review, "has_problems",
                      rep->problem_count > 0, "problems", problems);
}

/* POST /admin/upr: a dry run of an uploaded export, or its import when
 * "apply" comes with the text the dry run showed. */
Result upr_admin_import_post(Request *r)
{
    upr_admin_page(r);
    const Param *file = form_get(&r->form, "file");
    const Param *kept = form_get(&r->form, "csv");
    const Param *src = file && file->len ? file : kept;
    if (!src || src->len == 0)
        return param_error(r, "file", N_("Please choose a CSV file."));
    int apply = 0;
    if (param_checkbox(r, "apply", &apply) != R_OK)
        return R_BAD_REQUEST;
    UprReport rep;
    Result res = upr_import(r->db, src->value, src->len, "upload", apply, r->user->id, &rep);
    if (res == R_BAD_REQUEST) {
        /* rep.error is one of read_export's msgids, or the CSV reader's
         * words with the line, which the page shows as they are. */
        const char *why = arena_strdup(r->arena, rep.error);
        upr_report_free(&rep);
        return param_error(r, "file", why);
    }
    if (res == R_OK) {
        json_object_set_new(r->data, "report", report_json(r, &rep));
        json_object_set_new(r->data, "applied", json_boolean(apply));
        json_object_set_new(r->data, "can_apply", json_boolean(!apply && rep.added > 0));
        json_object_set_new(r->data, "csv", json_stringn(src->value, src->len));
        if (apply)
            upr_admin_page(r);
    }
    upr_report_free(&rep);
    return res;
}

typedef struct {
    int64_t id, user_id;
    const char *class;
} UprDecision;

static Result decide_apply(Db *w, void *ctx)
{
    const UprDecision *d = ctx;
    Stmt *st = db_prepare(w, "UPDATE upr_recommendations SET class = :class, rule = 'person', "
                             "reviewed_by = :user, reviewed_at = :now "
                             "WHERE id = :id AND class = 'review'");
    db_bind_text(st, ":class", d->class);
    db_bind_int(st, ":user", d->user_id);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", d->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_CONFLICT;
    char object[40];
    snprintf(object, sizeof object, "upr recommendation %lld", (long long)d->id);
    return audit_log(w, d->user_id, "upr recommendation classified", object, d->class);
}

/* POST /admin/upr/{id}: an administrator says what a recommendation in
 * review is about. */
Result upr_admin_decide_post(Request *r)
{
    static const char *const classes[] = {"protocol", "covenant", "other", NULL};
    int64_t id;
    int which;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM upr_recommendations WHERE id = :id");
    db_bind_int(st, ":id", id);
    int found = db_row(st);
    db_done(st);
    if (!found)
        return R_NOT_FOUND;
    if (param_enum(r, "class", classes, &which) != R_OK) {
        upr_admin_page(r);
        return R_BAD_REQUEST;
    }
    UprDecision d = {.id = id, .user_id = r->user->id, .class = classes[which]};
    Result res = db_write(r->db, decide_apply, &d);
    if (res == R_CONFLICT) {
        upr_admin_page(r);
        r->message = tr(r, "This recommendation was decided already.");
        return R_CONFLICT;
    }
    return res == R_OK ? http_redirect(r, "/admin/upr") : res;
}

/* ---- the API ---- */

/* GET /api/v1/upr-recommendations?iso3=ARG[&made=1][&class=protocol]: the
 * recommendations a state received (or made), oldest first, at most 1,000;
 * public facts, as UPR Info publishes them. */
Result upr_api(Request *r)
{
    static const char *const classes[] = {"protocol", "covenant", "other", "review", NULL};
    const char *iso3 = NULL;
    int made = 0;
    if (param_iso3(r, "iso3", &iso3) != R_OK || param_checkbox(r, "made", &made) != R_OK)
        return R_BAD_REQUEST;
    const char *class = param_filter(r, "class", classes);
    if (param_raw(r, "class") && !class) /* raw: only to tell a bad filter from none */
        return param_error(r, "class", N_("Please choose one of the options."));
    Stmt *st = db_prepare(r->db, "SELECT u.id, u.session, coalesce(s.starts_on, ''), u.to_iso3, "
                                 "u.from_iso3, u.text, u.response, u.class, u.rule, "
                                 "u.asks_to_join FROM upr_recommendations u "
                                 "LEFT JOIN upr_sessions s ON s.number = u.session "
                                 "WHERE (CASE WHEN :made = 1 THEN u.from_iso3 ELSE u.to_iso3 END) "
                                 "= :iso3 AND (:class = '' OR u.class = :class) "
                                 "ORDER BY u.session, u.id LIMIT 1000");
    db_bind_int(st, ":made", made);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":class", class ? class : "");
    json_t *list = json_array();
    while (db_row(st))
        json_array_append_new(list, json_build("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
                                               "id", (json_int_t)db_int(st, 0), "session",
                                               (json_int_t)db_int(st, 1), "session_start",
                                               db_text(st, 2), "to", db_text(st, 3), "from",
                                               db_text(st, 4), "text", db_text(st, 5), "response",
                                               db_text(st, 6), "class", db_text(st, 7), "rule",
                                               db_text(st, 8), "asks_to_join", db_int(st, 9) != 0));
    db_done(st);
    json_decref(r->data);
    r->data = json_build("{s:o}", "recommendations", list);
    return R_OK;
}
