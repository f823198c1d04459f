/*
 * outcome.c: what the meetings and events of every country came to, for
 * the secretariat (administrators and the steering committee): one list
 * across countries filtered by country, UN regional group, the country's
 * status under the campaign instrument and a period (/admin/outcomes), its
 * CSV, and a report that gathers the outcomes by country for an
 * international gathering (/admin/outcomes/report: "bringing the results
 * of the meetings to international and regional gatherings").
 *
 * Invariants: it reads meeting.c's and event.c's tables and writes none;
 * every row passes the visibility rule for the viewer (VISIBILITY_SQL:
 * an administrator sees all, a committee member what is shared with the
 * committee, members or everyone), and an outcome is shown only where its
 * own visibility allows; each view is logged as a read before it is sent.
 */
#include <stdlib.h>
#include <string.h>

#include "feat/assistance.h"
#include "feat/country.h"
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "feat/treaty.h"
#include "svc/audit.h"
#include "svc/visibility.h"

enum { OUTCOMES_MAX = 2000 };

static const char *const status_codes[] = {"none", "signatory", "party", NULL};

/* One meeting or event and its outcome. */
typedef struct {
    const char *kind; /* "meeting", "seminar", "national_event" */
    int64_t id;
    char iso3[4];
    char date[11];
    const char *title, *state, *outcome;
} Outcome;

/* The filters of the page, its CSV and its report. */
typedef struct {
    const char *iso3, *group, *status, *from, *to;
} Filters;

static Result read_filters(Request *r, Filters *f)
{
    memset(f, 0, sizeof *f);
    if (param_optional_iso3(r, "country", &f->iso3) != R_OK ||
        param_optional_date(r, "from", &f->from) != R_OK ||
        param_optional_date(r, "to", &f->to) != R_OK)
        return R_BAD_REQUEST;
    f->status = param_filter(r, "status", status_codes);
    f->group = param_filter(r, "group", country_group_codes);
    return R_OK;
}

/* The meetings the viewer may see, with what was agreed and the report
 * where its visibility is the meeting's own. */
static size_t read_meetings(Request *r, const Filters *f, Outcome *out, size_t max)
{
    Stmt *st = db_prepare(
        r->db, "SELECT vis.id, vis.iso3, vis.meeting_on, vis.goal, vis.state, vis.agreements, "
               "vis.report, vis.public_summary FROM meetings vis WHERE "
               "(:iso3 = '' OR vis.iso3 = :iso3) AND (:from = '' OR vis.meeting_on >= :from) "
               "AND (:to = '' OR vis.meeting_on <= :to) AND " VISIBILITY_SQL
               " ORDER BY vis.meeting_on, vis.id LIMIT :max");
    db_bind_text(st, ":iso3", f->iso3 ? f->iso3 : "");
    db_bind_text(st, ":from", f->from ? f->from : "");
    db_bind_text(st, ":to", f->to ? f->to : "");
    db_bind_int(st, ":max", (int64_t)max);
    visibility_bind(st, r->user);
    size_t n = 0;
    while (n < max && db_row(st)) {
        Outcome *o = &out[n++];
        o->kind = "meeting";
        o->id = db_int(st, 0);
        snprintf(o->iso3, sizeof o->iso3, "%s", db_text(st, 1));
        snprintf(o->date, sizeof o->date, "%s", db_text(st, 2));
        o->title = arena_strdup(r->arena, db_text(st, 3));
        o->state = arena_strdup(r->arena, db_text(st, 4));
        const char *agreements = db_text(st, 5), *report = db_text(st, 6);
        o->outcome = arena_printf(r->arena, "%s%s%s", agreements,
                                  *agreements && *report ? "\n\n" : "", report);
        if (!*o->outcome)
            o->outcome = arena_strdup(r->arena, db_text(st, 7));
    }
    db_done(st);
    return n;
}

/* The events the viewer may see, with the report where its own visibility
 * lets the viewer read it. */
static size_t read_events(Request *r, const Filters *f, Outcome *out, size_t max)
{
    Stmt *st = db_prepare(
        r->db, "SELECT vis.id, vis.iso3, vis.starts_at, vis.title, vis.kind, vis.report, "
               "vis.report_visibility, coalesce(vis.author_id, 0) FROM events vis WHERE "
               "(:iso3 = '' OR vis.iso3 = :iso3) AND " VISIBILITY_SQL
               " ORDER BY vis.starts_at, vis.id LIMIT :max");
    db_bind_text(st, ":iso3", f->iso3 ? f->iso3 : "");
    db_bind_int(st, ":max", (int64_t)max);
    visibility_bind(st, r->user);
    size_t n = 0;
    while (n < max && db_row(st)) {
        char date[11];
        format_utc(db_int(st, 2), "%Y-%m-%d", date, sizeof date);
        if ((f->from && strcmp(date, f->from) < 0) || (f->to && strcmp(date, f->to) > 0))
            continue;
        Outcome *o = &out[n++];
        o->kind = arena_strdup(r->arena, db_text(st, 4));
        o->id = db_int(st, 0);
        snprintf(o->iso3, sizeof o->iso3, "%s", db_text(st, 1));
        snprintf(o->date, sizeof o->date, "%s", date);
        o->title = arena_strdup(r->arena, db_text(st, 3));
        o->state = "";
        int readable = visibility_can_see(r->user, db_text(st, 6), o->iso3, db_int(st, 7)) != 0;
        o->outcome = arena_strdup(r->arena, readable ? db_text(st, 5) : "");
    }
    db_done(st);
    return n;
}

static int by_country_then_date(const void *a, const void *b)
{
    const Outcome *x = a, *y = b;
    int c = strcmp(x->iso3, y->iso3);
    return c ? c : strcmp(x->date, y->date);
}

static int by_date(const void *a, const void *b)
{
    const Outcome *x = a, *y = b;
    int c = strcmp(x->date, y->date);
    return c ? c : strcmp(x->iso3, y->iso3);
}

/* Every outcome the filters select, in rows[..] order given by cmp; the
 * countries' standings come from rows (sorted by iso3). */
static size_t select_outcomes(Request *r, const Filters *f, const CountryRow *rows, size_t nrows,
                              Outcome **out, int (*cmp)(const void *, const void *))
{
    Outcome *all = arena_alloc(r->arena, OUTCOMES_MAX * sizeof *all);
    size_t n = read_meetings(r, f, all, OUTCOMES_MAX);
    n += read_events(r, f, all + n, OUTCOMES_MAX - n);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++) {
        const CountryRow *row = bsearch(all[i].iso3, rows, nrows, sizeof *rows, treaty_row_cmp);
        if (!row)
            continue;
        if (f->group && strcmp(row->un_group ? row->un_group : "", f->group) != 0)
            continue;
        if (f->status && strcmp(treaty_status_code(row->protocol.status), f->status) != 0)
            continue;
        all[kept++] = all[i];
    }
    qsort(all, kept, sizeof *all, cmp);
    *out = all;
    return kept;
}

static const char *kind_words(Request *r, const char *kind)
{
    if (!strcmp(kind, "meeting"))
        return tr(r, "Meeting with the government");
    if (!strcmp(kind, "seminar"))
        return tr(r, "Expert seminar");
    return tr(r, "National event");
}

static const char *link_of(Request *r, const Outcome *o)
{
    return arena_printf(r->arena, "/%s/%lld", strcmp(o->kind, "meeting") ? "events" : "meetings",
                        (long long)o->id);
}

/* Logs the view of n outcomes, before any is sent (fail closed). */
typedef struct {
    Request *r;
    size_t n;
    const char *object;
} OutcomeRead;

static Result read_apply(Db *w, void *ctx)
{
    const OutcomeRead *o = ctx;
    int64_t entry;
    return audit_read_entry(w, o->r->user->id, o->r->api_token_id, "outcomes listed", o->object,
                            arena_printf(o->r->arena, "%zu", o->n), &entry);
}

static Result log_view(Request *r, size_t n, const char *object)
{
    OutcomeRead o = {r, n, object};
    return n ? db_write(r->db, read_apply, &o) : R_OK;
}

/* The filters' choices, as the page's form shows them again. */
static json_t *filters_json(Request *r, const Filters *f)
{
    static const char *const status_labels[] = {N_("No action"), N_("Signatory"), N_("Party"),
                                                NULL};
    return json_build("{s:s, s:s, s:s, s:o, s:o}", "country", f->iso3 ? f->iso3 : "", "from",
                      f->from ? f->from : "", "to", f->to ? f->to : "", "status_options",
                      form_options(r, status_codes, status_labels, f->status), "group_options",
                      form_options(r, country_group_codes, country_group_labels, f->group));
}

static const char *query_of(Request *r, const Filters *f)
{
    Buf b = {0};
    const char *keys[] = {"country", "group", "status", "from", "to"};
    const char *vals[] = {f->iso3, f->group, f->status, f->from, f->to};
    for (int i = 0; i < 5; i++)
        if (vals[i] && *vals[i])
            buf_printf(&b, "%s%s=%s", b.len ? "&" : "?", keys[i], vals[i]);
    const char *q = arena_strdup(r->arena, b.data ? b.data : "");
    buf_free(&b);
    return q;
}

static Result only_secretariat(Request *r)
{
    if (assistance_secretariat(r->user))
        return R_OK;
    r->message = tr(r, "Only the secretariat (the administrators and the steering committee) "
                       "sees the outcomes across countries.");
    return R_FORBIDDEN;
}

/* What each of the pages below starts from: the secretariat only, the
 * filters read, the outcomes selected and sorted by cmp, and the view
 * logged under object before anything is sent. */
typedef struct {
    Filters f;
    Campaign c;
    CountryRow *rows;
    size_t nrows, n;
    Outcome *o;
} Selection;

static Result select_for(Request *r, const char *object, int (*cmp)(const void *, const void *),
                         Selection *s)
{
    Result res = only_secretariat(r);
    if (res != R_OK)
        return res;
    if (read_filters(r, &s->f) != R_OK)
        return R_BAD_REQUEST;
    s->c = treaty_campaign(r->db);
    s->rows = treaty_countries(r, &s->c, 1, &s->nrows);
    s->n = select_outcomes(r, &s->f, s->rows, s->nrows, &s->o, cmp);
    return log_view(r, s->n, object) == R_OK ? R_OK : R_INTERNAL;
}

/* GET /admin/outcomes. */
Result outcome_page(Request *r)
{
    Selection sel;
    Result res = select_for(r, "outcomes", by_date, &sel);
    if (res != R_OK)
        return res;
    const Filters f = sel.f;
    const Outcome *o = sel.o;
    size_t n = sel.n;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const char *name = country_name_of(r, o[i].iso3);
        json_array_append_new(list,
                              json_build("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "date", o[i].date,
                                         "iso3", o[i].iso3, "country", name ? name : o[i].iso3,
                                         "kind", kind_words(r, o[i].kind), "title", o[i].title,
                                         "outcome", o[i].outcome, "link", link_of(r, &o[i])));
    }
    json_decref(r->data);
    const char *q = query_of(r, &f);
    r->data =
        json_build("{s:o, s:I, s:o, s:s, s:s}", "items", list, "count", (json_int_t)n, "filters",
                   filters_json(r, &f), "csv", arena_printf(r->arena, "/admin/outcomes.csv%s", q),
                   "report", arena_printf(r->arena, "/admin/outcomes/report%s", q));
    r->page = "admin_outcomes";
    r->title = tr(r, "Outcomes across countries");
    return R_OK;
}

/* GET /admin/outcomes.csv: the same rows, for a spreadsheet. */
Result outcome_csv_page(Request *r)
{
    Selection sel;
    Result res = select_for(r, "outcomes csv", by_date, &sel);
    if (res != R_OK)
        return res;
    const Outcome *o = sel.o;
    size_t n = sel.n;
    Buf *b = &r->body_out;
    buf_puts(b, "date,iso3,country,kind,title,state,outcome,link\r\n");
    for (size_t i = 0; i < n; i++) {
        const char *name = country_name_of(r, o[i].iso3);
        const char *cells[] = {o[i].date,    o[i].iso3,        name ? name : o[i].iso3,
                               o[i].kind,    o[i].title,       o[i].state,
                               o[i].outcome, link_of(r, &o[i])};
        for (size_t k = 0; k < sizeof cells / sizeof cells[0]; k++) {
            if (k)
                buf_putc(b, ',');
            escape_csv(b, cells[k], strlen(cells[k]));
        }
        buf_puts(b, "\r\n");
    }
    r->content_type = "text/csv; charset=utf-8";
    http_add_header(r, "Content-Disposition", "attachment; filename=\"ratify-outcomes.csv\"");
    return R_OK;
}

/* GET /admin/outcomes/report: by country, with its status and ask, each
 * meeting's and event's outcome: a page to print and take to a
 * gathering. */
Result outcome_report_page(Request *r)
{
    Selection sel;
    Result res = select_for(r, "outcomes report", by_country_then_date, &sel);
    if (res != R_OK)
        return res;
    const Filters f = sel.f;
    const Campaign c = sel.c;
    const CountryRow *rows = sel.rows;
    size_t nrows = sel.nrows, n = sel.n;
    const Outcome *o = sel.o;
    json_t *countries = json_array(), *current = NULL;
    for (size_t i = 0; i < n; i++) {
        if (!current || strcmp(json_string_value(json_object_get(current, "iso3")), o[i].iso3)) {
            const CountryRow *row = bsearch(o[i].iso3, rows, nrows, sizeof *rows, treaty_row_cmp);
            current = json_build("{s:s, s:s, s:s, s:s, s:[]}", "iso3", o[i].iso3, "name", row->name,
                                 "status", tr(r, treaty_status_label(row->protocol.status)), "ask",
                                 treaty_ask_say(r, &c, treaty_row_ask(&c, row)), "items");
            json_array_append_new(countries, current);
        }
        json_array_append_new(json_object_get(current, "items"),
                              json_build("{s:s, s:s, s:s, s:s}", "date", o[i].date, "kind",
                                         kind_words(r, o[i].kind), "title", o[i].title, "outcome",
                                         o[i].outcome));
    }
    json_decref(r->data);
    r->data = json_build("{s:o, s:I, s:o, s:s}", "countries", countries, "count", (json_int_t)n,
                         "filters", filters_json(r, &f), "campaign", c.short_name);
    r->page = "admin_outcomes_report";
    r->title = tr(r, "Outcomes of national meetings and events");
    return R_OK;
}
