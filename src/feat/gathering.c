/*
 * gathering.c: intergovernmental gatherings where the coalition raises the
 * Protocol ("Actions at the international level"): Human Rights Council
 * and UPR Working Group sessions, treaty body sessions, the OAS General
 * Assembly, AU summits, the Treaty Event, regional summits. The
 * secretariat records a gathering with the states present (for a UPR
 * session, those under review); a member announces that they attend and
 * which delegations they will approach, and for those gets each state's
 * status, ask and position (position.c) and a model letter for the
 * gathering in the delegation's language; members record what each
 * delegation said. Before a UPR session the coordinators of the states
 * under review and the members in states parties (who can recommend) get
 * an email saying what to ask for (gathering_remind, hourly).
 *
 * Invariants: gatherings are the coalition's plans, for logged-in members
 * only; who attends is shown to the secretariat and to the attendees
 * themselves; notes follow svc/visibility.h; only the secretariat records
 * gatherings; a state's name becomes a country only through the name
 * table (member_io_country_find), never guessed. Owns gatherings,
 * gathering_states, gathering_approaches, gathering_notes
 * (schema/024_gatherings.sql).
 */
#include "feat/gathering.h"

#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "feat/assistance.h"
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "feat/member.h"
#include "feat/member_io.h"
#include "feat/letter.h"
#include "feat/model_letter.h"
#include "feat/position.h"
#include "feat/treaty.h"
#include "svc/audit.h"
#include "svc/mail.h"
#include "svc/visibility.h"

enum { STATES_MAX = 200, NOTE_MAX = 5000, REMIND_DAYS = 14 };

static const char *const kind_codes[] = {"hrc_session",     "upr_session", "treaty_body",
                                         "oas_ga",          "au_summit",   "treaty_event",
                                         "regional_summit", "other",       NULL};
static const char *const kind_labels[] = {N_("Human Rights Council session"),
                                          N_("UPR Working Group session"),
                                          N_("Treaty body session"),
                                          N_("OAS General Assembly"),
                                          N_("African Union summit"),
                                          N_("Treaty Event"),
                                          N_("Regional summit"),
                                          N_("Other gathering"),
                                          NULL};
static const char *const note_visibility_codes[] = {"members", "committee", NULL};
static const char *const note_visibility_labels[] = {N_("Members"), N_("The steering committee"),
                                                     NULL};

typedef struct {
    int64_t id;
    const char *kind, *title, *starts_on, *ends_on, *place;
} Gathering;

/* The gathering of the path's {id}: R_OK or R_NOT_FOUND. */
static Result path_gathering(Request *r, Gathering *g)
{
    memset(g, 0, sizeof *g);
    if (param_int(r, "id", 1, INT64_MAX, &g->id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT kind, title, starts_on, ends_on, place FROM gatherings "
                                 "WHERE id = :id");
    db_bind_int(st, ":id", g->id);
    Result res = R_NOT_FOUND;
    if (db_row(st)) {
        g->kind = arena_strdup(r->arena, db_text(st, 0));
        g->title = arena_strdup(r->arena, db_text(st, 1));
        g->starts_on = arena_strdup(r->arena, db_text(st, 2));
        g->ends_on = arena_strdup(r->arena, db_text(st, 3));
        g->place = arena_strdup(r->arena, db_text(st, 4));
        res = R_OK;
    }
    db_done(st);
    return res;
}

static int attends(Request *r, int64_t gathering)
{
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM gathering_approaches WHERE gathering_id = :g "
                                 "AND user_id = :u");
    db_bind_int(st, ":g", gathering);
    db_bind_int(st, ":u", r->user->id);
    int yes = db_row(st);
    db_done(st);
    return yes;
}

static int approaches(Request *r, int64_t gathering, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM gathering_approaches WHERE gathering_id = :g "
                                 "AND user_id = :u AND iso3 = :iso3");
    db_bind_int(st, ":g", gathering);
    db_bind_int(st, ":u", r->user->id);
    db_bind_text(st, ":iso3", iso3);
    int yes = db_row(st);
    db_done(st);
    return yes;
}

/* ---- the list ---- */

Result gathering_list_page(Request *r)
{
    Stmt *st = db_prepare(r->db, "SELECT g.id, g.kind, g.title, g.starts_on, g.ends_on, g.place, "
                                 "(SELECT count(DISTINCT a.user_id) FROM gathering_approaches a "
                                 "WHERE a.gathering_id = g.id) FROM gatherings g "
                                 "ORDER BY g.starts_on DESC, g.id DESC LIMIT 200");
    json_t *list = json_array();
    while (db_row(st))
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)db_int(st, 0),
                       "kind", tr(r, code_label(kind_codes, kind_labels, db_text(st, 1))), "title",
                       db_text(st, 2), "starts_on", db_text(st, 3), "ends_on", db_text(st, 4),
                       "place", db_text(st, 5), "attending", (json_int_t)db_int(st, 6)));
    db_done(st);
    json_decref(r->data);
    r->data =
        json_build("{s:o, s:b}", "gatherings", list, "can_create", assistance_secretariat(r->user));
    r->page = "gatherings";
    r->title = tr(r, "International gatherings");
    return R_OK;
}

/* ---- recording one (the secretariat) ---- */

static Result only_secretariat(Request *r)
{
    if (assistance_secretariat(r->user))
        return R_OK;
    r->message = tr(r, "Only the secretariat (the administrators and the steering committee) "
                       "records international gatherings.");
    return R_FORBIDDEN;
}

static void new_form(Request *r)
{
    if (!r->data)
        r->data = json_object();
    const char *kind =
        json_string_value(json_object_get(json_object_get(r->data, "typed"), "kind"));
    json_object_set_new(r->data, "kind_options", form_options(r, kind_codes, kind_labels, kind));
    r->page = "gathering_new";
    r->title = tr(r, "Record an international gathering");
}

Result gathering_new_page(Request *r)
{
    Result res = only_secretariat(r);
    if (res != R_OK)
        return res;
    new_form(r);
    return R_OK;
}

/* The states of a list typed one per line or separated by commas (ISO
 * codes or names in any language, as the name table knows them) into
 * codes; the names it does not know, joined, into *unknown. */
static size_t parse_states(Request *r, const CountryNames *names, const char *text,
                           char (*codes)[4], size_t max, const char **unknown)
{
    size_t n = 0;
    Buf bad = {0};
    char *copy = arena_strdup(r->arena, text ? text : "");
    for (char *tok = strtok(copy, ",;\n\r"); tok; tok = strtok(NULL, ",;\n\r")) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t len = strlen(tok);
        while (len && (tok[len - 1] == ' ' || tok[len - 1] == '\t'))
            tok[--len] = 0;
        if (!len)
            continue;
        const char *iso3 = member_io_country_find(names, tok);
        if (!iso3) {
            buf_printf(&bad, "%s%s", bad.len ? ", " : "", tok);
            continue;
        }
        int dup = 0;
        for (size_t i = 0; i < n; i++)
            dup |= !strcmp(codes[i], iso3);
        if (!dup && n < max)
            snprintf(codes[n++], 4, "%s", iso3);
    }
    *unknown = bad.len ? arena_strdup(r->arena, bad.data) : NULL;
    buf_free(&bad);
    return n;
}

typedef struct {
    Request *r;
    const char *kind, *title, *starts_on, *ends_on, *place;
    char (*present)[4];
    size_t npresent;
    char (*review)[4];
    size_t nreview;
    int64_t id;
} GatheringWrite;

static Result add_state(Db *w, int64_t id, const char *iso3, int under_review)
{
    Stmt *st = db_prepare(w, "INSERT INTO gathering_states (gathering_id, iso3, under_review) "
                             "VALUES (:g, :iso3, :r) ON CONFLICT (gathering_id, iso3) DO UPDATE "
                             "SET under_review = excluded.under_review");
    db_bind_int(st, ":g", id);
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":r", under_review);
    return db_run(st);
}

static Result create_apply(Db *w, void *ctx)
{
    GatheringWrite *g = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO gatherings (kind, title, starts_on, ends_on, place, "
                             "created_by, created_at) VALUES (:kind, :title, :from, :to, :place, "
                             ":user, :now) RETURNING id");
    db_bind_text(st, ":kind", g->kind);
    db_bind_text(st, ":title", g->title);
    db_bind_text(st, ":from", g->starts_on);
    db_bind_text(st, ":to", g->ends_on);
    db_bind_text(st, ":place", g->place);
    db_bind_int(st, ":user", g->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, &g->id) != R_OK)
        return R_INTERNAL;
    for (size_t i = 0; i < g->npresent; i++)
        if (add_state(w, g->id, g->present[i], 0) != R_OK)
            return R_INTERNAL;
    for (size_t i = 0; i < g->nreview; i++)
        if (add_state(w, g->id, g->review[i], 1) != R_OK)
            return R_INTERNAL;
    return audit_log(w, g->r->user->id, "gathering recorded",
                     arena_printf(g->r->arena, "gathering %lld", (long long)g->id), g->kind);
}

static Result create_failed(Request *r)
{
    json_t *typed = form_typed(r);
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, "typed", typed);
    new_form(r);
    return R_BAD_REQUEST;
}

/* POST /gatherings. */
Result gathering_create_post(Request *r)
{
    Result res = only_secretariat(r);
    if (res != R_OK)
        return res;
    int kind = 0;
    const char *title = NULL, *from = NULL, *to = NULL, *place = NULL, *present = NULL,
               *review = NULL;
    int bad = param_enum(r, "kind", kind_codes, &kind) != R_OK;
    bad |= param_text(r, "title", 2, 200, 0, &title) != R_OK;
    bad |= param_date(r, "starts_on", &from) != R_OK;
    bad |= param_date(r, "ends_on", &to) != R_OK;
    bad |= param_optional_text(r, "place", 200, 0, &place) != R_OK;
    bad |= param_optional_text(r, "states", 20000, 1, &present) != R_OK;
    bad |= param_optional_text(r, "under_review", 20000, 1, &review) != R_OK;
    if (!bad && strcmp(to, from) < 0)
        bad = param_error(r, "ends_on", N_("The gathering cannot end before it starts.")) != R_OK;
    CountryNames names;
    if (member_io_countries(r->db, &names) != R_OK)
        return R_INTERNAL;
    GatheringWrite g = {.r = r,
                        .kind = kind_codes[kind],
                        .title = title,
                        .starts_on = from,
                        .ends_on = to,
                        .place = place ? place : ""};
    g.present = arena_alloc(r->arena, STATES_MAX * sizeof *g.present);
    g.review = arena_alloc(r->arena, STATES_MAX * sizeof *g.review);
    const char *unknown_present = NULL, *unknown_review = NULL;
    g.npresent = parse_states(r, &names, present, g.present, STATES_MAX, &unknown_present);
    g.nreview = parse_states(r, &names, review, g.review, STATES_MAX, &unknown_review);
    member_io_countries_free(&names);
    if (unknown_present)
        bad |= param_error(r, "states",
                           N_("Some names are not states Ratify knows; write them "
                              "as in the list of countries, or their ISO code.")) != R_OK;
    if (unknown_review)
        bad |= param_error(r, "under_review",
                           N_("Some names are not states Ratify knows; write "
                              "them as in the list of countries, or their ISO "
                              "code.")) != R_OK;
    if (bad) {
        create_failed(r);
        json_object_set_new(r->data, "unknown",
                            json_string(unknown_present  ? unknown_present
                                        : unknown_review ? unknown_review
                                                         : ""));
        return R_BAD_REQUEST;
    }
    if (db_write(r->db, create_apply, &g) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/gatherings/%lld", (long long)g.id));
}

/* ---- one gathering ---- */

/* The states present, each with its status and ask; for those the viewer
 * approaches, the position the viewer may see and the model letter. */
static json_t *states_json(Request *r, const Gathering *g, const Campaign *c, int secretariat)
{
    size_t nrows;
    CountryRow *rows = treaty_countries(r, c, 1, &nrows);
    Stmt *st = db_prepare(r->db, "SELECT iso3, under_review FROM gathering_states "
                                 "WHERE gathering_id = :g ORDER BY under_review DESC, iso3");
    db_bind_int(st, ":g", g->id);
    typedef struct {
        char iso3[4];
        int review;
    } Present;
    Present *present = arena_alloc(r->arena, STATES_MAX * sizeof *present);
    size_t n = 0;
    while (n < STATES_MAX && db_row(st)) {
        snprintf(present[n].iso3, 4, "%s", db_text(st, 0));
        present[n++].review = (int)db_int(st, 1);
    }
    db_done(st);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        const CountryRow *row = bsearch(present[i].iso3, rows, nrows, sizeof *rows, treaty_row_cmp);
        if (!row)
            continue;
        int mine = approaches(r, g->id, row->iso3);
        json_t *s = json_build("{s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "iso3", row->iso3, "name",
                               row->name, "status", treaty_status_code(row->protocol.status),
                               "status_label", tr(r, treaty_status_label(row->protocol.status)),
                               "ask", treaty_ask_say(r, c, treaty_row_ask(c, row)), "under_review",
                               present[i].review, "approached", mine);
        if (mine || secretariat)
            json_object_set_new(s, "position", position_country_json(r, row->iso3));
        json_array_append_new(list, s);
    }
    return list;
}

/* Who attends and whom they approach: for the secretariat, and each
 * attendee sees their own. */
static json_t *attendees_json(Request *r, const Gathering *g, int secretariat)
{
    Stmt *st = db_prepare(r->db, "SELECT a.user_id, coalesce(nullif(u.display_name, ''), "
                                 "p.name, ''), u.email, a.iso3 FROM gathering_approaches a "
                                 "JOIN users u ON u.id = a.user_id LEFT JOIN people p ON "
                                 "p.user_id = u.id WHERE a.gathering_id = :g "
                                 "ORDER BY a.user_id, a.iso3");
    db_bind_int(st, ":g", g->id);
    json_t *list = json_array(), *cur = NULL;
    int64_t last = 0;
    while (db_row(st)) {
        int64_t user = db_int(st, 0);
        if (!secretariat && user != r->user->id)
            continue;
        if (!cur || user != last) {
            cur = json_build("{s:s, s:[]}", "name",
                             *db_text(st, 1) ? db_text(st, 1) : db_text(st, 2), "approaches");
            json_array_append_new(list, cur);
            last = user;
        }
        if (*db_text(st, 3)) {
            const char *name = country_name_of(r, db_text(st, 3));
            json_array_append_new(json_object_get(cur, "approaches"),
                                  json_string(name ? name : db_text(st, 3)));
        }
    }
    db_done(st);
    return list;
}

static json_t *notes_json(Request *r, const Gathering *g)
{
    Stmt *st = db_prepare(r->db, "SELECT vis.iso3, vis.said, vis.visibility, vis.created_at, "
                                 "coalesce(u.display_name, '') FROM gathering_notes vis "
                                 "LEFT JOIN users u ON u.id = vis.author_id "
                                 "WHERE vis.gathering_id = :g AND " VISIBILITY_SQL
                                 " ORDER BY vis.iso3, vis.id");
    db_bind_int(st, ":g", g->id);
    visibility_bind(st, r->user);
    json_t *list = json_array();
    while (db_row(st)) {
        const char *name = country_name_of(r, db_text(st, 0));
        char when[16];
        format_utc(db_int(st, 3), "%Y-%m-%d", when, sizeof when);
        json_array_append_new(
            list, json_build("{s:s, s:s, s:s, s:s, s:s}", "state", name ? name : db_text(st, 0),
                             "said", db_text(st, 1), "visibility",
                             tr(r, code_label(note_visibility_codes, note_visibility_labels,
                                              db_text(st, 2))),
                             "when", when, "who", db_text(st, 4)));
    }
    db_done(st);
    return list;
}

static Result gathering_fill(Request *r, const Gathering *g)
{
    Campaign c = treaty_campaign(r->db);
    int secretariat = assistance_secretariat(r->user);
    int attending = attends(r, g->id);
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, "gathering",
                        json_build("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)g->id,
                                   "kind", tr(r, code_label(kind_codes, kind_labels, g->kind)),
                                   "title", g->title, "starts_on", g->starts_on, "ends_on",
                                   g->ends_on, "place", g->place));
    json_object_set_new(r->data, "states", states_json(r, g, &c, secretariat));
    json_object_set_new(r->data, "attendees", attendees_json(r, g, secretariat));
    json_object_set_new(r->data, "attending", json_boolean(attending));
    json_object_set_new(r->data, "can_note", json_boolean(attending || secretariat));
    json_object_set_new(r->data, "notes", notes_json(r, g));
    json_object_set_new(r->data, "note_visibility_options",
                        form_options(r, note_visibility_codes, note_visibility_labels, "members"));
    r->page = "gathering";
    r->title = g->title;
    return R_OK;
}

Result gathering_page(Request *r)
{
    Gathering g;
    if (path_gathering(r, &g) != R_OK)
        return R_NOT_FOUND;
    return gathering_fill(r, &g);
}

/* ---- attending ---- */

typedef struct {
    Request *r;
    int64_t id;
    char (*codes)[4];
    size_t n;
    int withdraw;
} AttendWrite;

static Result attend_apply(Db *w, void *ctx)
{
    const AttendWrite *a = ctx;
    Stmt *st = db_prepare(w, "DELETE FROM gathering_approaches WHERE gathering_id = :g "
                             "AND user_id = :u");
    db_bind_int(st, ":g", a->id);
    db_bind_int(st, ":u", a->r->user->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    for (size_t i = 0; !a->withdraw && i <= a->n; i++) {
        /* One row for attending, one per delegation approached. */
        st = db_prepare(w, "INSERT INTO gathering_approaches (gathering_id, user_id, iso3, "
                           "announced_at) VALUES (:g, :u, :iso3, :now) ON CONFLICT DO NOTHING");
        db_bind_int(st, ":g", a->id);
        db_bind_int(st, ":u", a->r->user->id);
        db_bind_text(st, ":iso3", i == a->n ? "" : a->codes[i]);
        db_bind_int(st, ":now", now_seconds());
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return audit_log(w, a->r->user->id, a->withdraw ? "gathering left" : "gathering attended",
                     arena_printf(a->r->arena, "gathering %lld", (long long)a->id),
                     arena_printf(a->r->arena, "%zu delegations", a->withdraw ? 0 : a->n));
}

static int state_present(Request *r, int64_t gathering, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM gathering_states WHERE gathering_id = :g "
                                 "AND iso3 = :iso3");
    db_bind_int(st, ":g", gathering);
    db_bind_text(st, ":iso3", iso3);
    int yes = db_row(st);
    db_done(st);
    return yes;
}

/* POST /gatherings/{id}/attend: I attend, approaching these delegations
 * (approach=ISO3, repeated), or withdraw=1. */
Result gathering_attend_post(Request *r)
{
    Gathering g;
    if (path_gathering(r, &g) != R_OK)
        return R_NOT_FOUND;
    int withdraw = 0;
    if (param_checkbox(r, "withdraw", &withdraw) != R_OK)
        return R_BAD_REQUEST;
    AttendWrite a = {.r = r, .id = g.id, .withdraw = withdraw};
    a.codes = arena_alloc(r->arena, STATES_MAX * sizeof *a.codes);
    for (size_t i = 0; i < r->form.count && a.n < STATES_MAX; i++) {
        if (strcmp(r->form.items[i].name, "approach") != 0)
            continue;
        const char *v = r->form.items[i].value;
        if (!valid_iso3(v) || !state_present(r, g.id, v)) {
            gathering_fill(r, &g);
            return param_error(r, "approach", N_("Please choose delegations of this gathering."));
        }
        snprintf(a.codes[a.n++], 4, "%s", v);
    }
    if (db_write(r->db, attend_apply, &a) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/gatherings/%lld", (long long)g.id));
}

/* ---- what a delegation said ---- */

typedef struct {
    Request *r;
    int64_t id;
    const char *iso3, *said, *visibility;
} NoteWrite;

static Result note_apply(Db *w, void *ctx)
{
    const NoteWrite *n = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO gathering_notes (gathering_id, iso3, said, visibility, "
                             "author_id, created_at) VALUES (:g, :iso3, :said, :vis, :u, :now)");
    db_bind_int(st, ":g", n->id);
    db_bind_text(st, ":iso3", n->iso3);
    db_bind_text(st, ":said", n->said);
    db_bind_text(st, ":vis", n->visibility);
    db_bind_int(st, ":u", n->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, n->r->user->id, "delegation answer recorded",
                     arena_printf(n->r->arena, "gathering %lld", (long long)n->id),
                     arena_printf(n->r->arena, "%s %s", n->iso3, n->visibility));
}

/* POST /gatherings/{id}/notes: an attendee (or the secretariat) records
 * what a delegation said. */
Result gathering_note_post(Request *r)
{
    Gathering g;
    if (path_gathering(r, &g) != R_OK)
        return R_NOT_FOUND;
    if (!attends(r, g.id) && !assistance_secretariat(r->user)) {
        r->message = tr(r, "Announce that you attend the gathering first.");
        return R_FORBIDDEN;
    }
    const char *iso3 = NULL, *said = NULL;
    int vis = 0;
    int bad = param_iso3(r, "iso3", &iso3) != R_OK;
    if (!bad && !state_present(r, g.id, iso3))
        bad = param_error(r, "iso3", N_("Please choose delegations of this gathering.")) != R_OK;
    bad |= param_text(r, "said", 2, NOTE_MAX, 1, &said) != R_OK;
    bad |= param_enum(r, "visibility", note_visibility_codes, &vis) != R_OK;
    if (bad) {
        json_t *typed = json_object();
        /* raw: what was typed, shown again in the form (escaped) */
        const char *typed_said = param_raw(r, "said");
        json_object_set_new(typed, "said", json_string(typed_said ? typed_said : ""));
        r->data = json_object();
        json_object_set_new(r->data, "typed", typed);
        gathering_fill(r, &g);
        return R_BAD_REQUEST;
    }
    NoteWrite n = {r, g.id, iso3, said, note_visibility_codes[vis]};
    if (db_write(r->db, note_apply, &n) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/gatherings/%lld#notes", (long long)g.id));
}

/* ---- the model letter for a delegation ---- */

/* GET /gatherings/{id}/letter/{iso3}[?lang=xx]: the model letter for the
 * gathering to the delegation of iso3, in the language asked, else the
 * state's. */
Result gathering_letter_page(Request *r)
{
    static const char *const langs[] = {"en", "es", "fr", "pt", "ar", NULL};
    Gathering g;
    const char *iso3;
    if (path_gathering(r, &g) != R_OK || param_iso3(r, "iso3", &iso3) != R_OK ||
        !state_present(r, g.id, iso3))
        return R_NOT_FOUND;
    const char *lang = param_filter(r, "lang", langs);
    if (!lang)
        lang = model_letter_country_language(r, iso3);
    Stmt *st = db_prepare(r->db, "SELECT subject, body, lang FROM model_letters WHERE ask = "
                                 "'gathering' AND lang IN (:lang, 'en') ORDER BY CASE WHEN "
                                 "lang = :lang THEN 0 ELSE 1 END LIMIT 1");
    db_bind_text(st, ":lang", lang);
    const char *subject = NULL, *body = NULL;
    if (db_row(st)) {
        subject = arena_strdup(r->arena, db_text(st, 0));
        body = arena_strdup(r->arena, db_text(st, 1));
        lang = arena_strdup(r->arena, db_text(st, 2));
    }
    db_done(st);
    if (!body)
        return R_NOT_FOUND;
    Campaign c = treaty_campaign(r->db);
    CountryRow row = {0};
    snprintf(row.iso3, sizeof row.iso3, "%s", iso3);
    treaty_row_standings(r->db, &c, &row);
    json_t *fields = model_letter_fields(r, iso3, 0, lang, letter_sender_default(r), NULL);
    json_object_set_new(fields, "gathering", json_string(g.title));
    json_object_set_new(fields, "gathering_date",
                        json_string(model_letter_date(r, g.starts_on, lang)));
    json_object_set_new(fields, "is_party", json_boolean(row.protocol.status == STATUS_PARTY));
    /* The ask in the letter's language, with the campaign's names. */
    const char *page_lang = r->lang;
    r->lang = lang;
    json_object_set_new(fields, "ask_text",
                        json_string(treaty_ask_say(r, &c, treaty_row_ask(&c, &row))));
    r->lang = page_lang;
    const char *text = NULL, *subject_text = NULL, *err = NULL;
    Result res = model_letter_render(r, body, fields, &text, &err);
    if (res == R_OK)
        res = model_letter_render(r, subject, fields, &subject_text, &err);
    json_decref(fields);
    if (res != R_OK)
        return R_INTERNAL;
    const char *name = country_name_of(r, iso3);
    json_decref(r->data);
    r->data =
        json_build("{s:I, s:s, s:s, s:s, s:s, s:b, s:s, s:s}", "id", (json_int_t)g.id, "gathering",
                   g.title, "iso3", iso3, "state", name ? name : iso3, "letter_lang", lang, "rtl",
                   !strcmp(lang, "ar"), "subject", subject_text, "text", text);
    r->page = "gathering_letter";
    r->title = subject_text;
    return R_OK;
}

/* ---- before a UPR session: what to ask for ---- */

/* One email to send. */
typedef struct {
    const char *to, *subject, *body;
} Note;

typedef struct {
    int64_t id;
    Note *notes;
    size_t n;
} RemindWrite;

static Result remind_apply(Db *w, void *ctx)
{
    const RemindWrite *rw = ctx;
    for (size_t i = 0; i < rw->n; i++)
        if (mail_queue(w, rw->notes[i].to, rw->notes[i].subject, rw->notes[i].body) == R_INTERNAL)
            return R_INTERNAL;
    Stmt *st = db_prepare(w, "UPDATE gatherings SET notified_at = :now WHERE id = :id");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", rw->id);
    return db_run(st);
}

/* The states under review at gathering id that are not parties, as lines
 * "- Name: the ask" in lang. */
static const char *review_lines(Request *r, int64_t id, const Campaign *c, const char *lang,
                                const char *only_iso3)
{
    size_t nrows;
    CountryRow *rows = treaty_countries(r, c, 1, &nrows);
    Stmt *st = db_prepare(r->db, "SELECT iso3 FROM gathering_states WHERE gathering_id = :g "
                                 "AND under_review = 1 ORDER BY iso3");
    db_bind_int(st, ":g", id);
    Buf b = {0};
    const char *page_lang = r->lang;
    r->lang = lang;
    while (db_row(st)) {
        const CountryRow *row = bsearch(db_text(st, 0), rows, nrows, sizeof *rows, treaty_row_cmp);
        if (!row || (only_iso3 && strcmp(row->iso3, only_iso3) != 0) ||
            (!only_iso3 && row->protocol.status == STATUS_PARTY))
            continue;
        const char *name = country_name_of(r, row->iso3);
        buf_printf(&b, "- %s: %s\n", name ? name : row->iso3,
                   treaty_ask_say(r, c, treaty_row_ask(c, row)));
    }
    db_done(st);
    r->lang = page_lang;
    const char *out = arena_strdup(r->arena, b.data ? b.data : "");
    buf_free(&b);
    return out;
}

/* The emails for one UPR session: each coordinator of a state under
 * review gets its ask; each member (who agreed to updates) in a state
 * party gets the states under review to recommend ratification to. */
static size_t session_notes(Request *r, int64_t id, const char *title, const char *starts_on,
                            const Campaign *c, Note *out, size_t max)
{
    size_t n = 0;
    const char *link = member_link(r, arena_printf(r->arena, "/gatherings/%lld", (long long)id));
    Stmt *st = db_prepare(r->db, "SELECT DISTINCT u.email, coalesce(u.lang, 'en'), uc.iso3 "
                                 "FROM gathering_states s JOIN user_countries uc ON "
                                 "uc.iso3 = s.iso3 JOIN users u ON u.id = uc.user_id WHERE "
                                 "s.gathering_id = :g AND s.under_review = 1 AND "
                                 "u.role = 'coordinator' AND u.disabled = 0 ORDER BY u.email");
    db_bind_int(st, ":g", id);
    typedef struct {
        char email[256], lang[8], iso3[4];
    } Who;
    Who *who = arena_alloc(r->arena, max * sizeof *who);
    size_t nwho = 0;
    while (nwho < max && db_row(st)) {
        snprintf(who[nwho].email, sizeof who[nwho].email, "%s", db_text(st, 0));
        snprintf(who[nwho].lang, sizeof who[nwho].lang, "%s", db_text(st, 1));
        snprintf(who[nwho++].iso3, 4, "%s", db_text(st, 2));
    }
    db_done(st);
    for (size_t i = 0; i < nwho && n < max; i++) {
        const char *lang = i18n_supported(who[i].lang) ? who[i].lang : "en";
        out[n++] =
            (Note){arena_strdup(r->arena, who[i].email),
                   arena_printf(r->arena, "%s: %s",
                                i18n_gettext(lang, N_("Before the UPR session")), title),
                   arena_printf(r->arena, "%s %s (%s).\n\n%s\n%s\n%s\n", title,
                                i18n_gettext(lang, N_("reviews your country from")), starts_on,
                                i18n_gettext(lang, N_("What to ask the government to say or do:")),
                                review_lines(r, id, c, lang, who[i].iso3), link)};
    }
    /* Members in states parties, who can ask their government to recommend. */
    st = db_prepare(r->db, "SELECT DISTINCT u.email, coalesce(u.lang, 'en'), p.iso3 FROM users u "
                           "JOIN people p ON p.user_id = u.id JOIN memberships m ON "
                           "m.person_id = p.id WHERE m.status = 'active' AND "
                           "m.consent_updates = 1 AND u.disabled = 0 ORDER BY u.email");
    nwho = 0;
    while (nwho < max && db_row(st)) {
        snprintf(who[nwho].email, sizeof who[nwho].email, "%s", db_text(st, 0));
        snprintf(who[nwho].lang, sizeof who[nwho].lang, "%s", db_text(st, 1));
        snprintf(who[nwho++].iso3, 4, "%s", db_text(st, 2));
    }
    db_done(st);
    for (size_t i = 0; i < nwho && n < max; i++) {
        if (treaty_standing(r->db, c->id, who[i].iso3).status != STATUS_PARTY)
            continue;
        const char *lang = i18n_supported(who[i].lang) ? who[i].lang : "en";
        const char *lines = review_lines(r, id, c, lang, NULL);
        if (!*lines)
            continue;
        out[n++] = (Note){
            arena_strdup(r->arena, who[i].email),
            arena_printf(r->arena, "%s: %s", i18n_gettext(lang, N_("Before the UPR session")),
                         title),
            arena_printf(r->arena, "%s (%s)\n\n%s\n\n%s\n%s\n", title, starts_on,
                         i18n_gettext(lang, N_("Your country is a party to the Protocol. Ask "
                                               "your government to recommend, in this session, "
                                               "that these states under review join it:")),
                         lines, link)};
    }
    return n;
}

Result gathering_remind(Db *db, const char *base_url)
{
    /* A request's arena and helpers, without a request. */
    Request req = {0};
    req.arena = arena_new();
    req.db = db;
    req.lang = "en";
    req.base_url = base_url;
    char soon[16], today[16];
    format_utc(now_seconds() + REMIND_DAYS * 86400, "%Y-%m-%d", soon, sizeof soon);
    format_utc(now_seconds(), "%Y-%m-%d", today, sizeof today);
    Stmt *st = db_prepare(db, "SELECT id, title, starts_on FROM gatherings WHERE kind = "
                              "'upr_session' AND notified_at IS NULL AND starts_on <= :soon "
                              "AND starts_on >= :today ORDER BY starts_on LIMIT 20");
    db_bind_text(st, ":soon", soon);
    db_bind_text(st, ":today", today);
    int64_t ids[20];
    const char *titles[20], *starts[20];
    size_t n = 0;
    while (n < 20 && db_row(st)) {
        ids[n] = db_int(st, 0);
        titles[n] = arena_strdup(req.arena, db_text(st, 1));
        starts[n++] = arena_strdup(req.arena, db_text(st, 2));
    }
    Result res = db_done(st) == R_OK ? R_OK : R_INTERNAL;
    Campaign c = treaty_campaign(db);
    for (size_t i = 0; i < n && res == R_OK; i++) {
        RemindWrite rw = {.id = ids[i]};
        rw.notes = arena_alloc(req.arena, 2000 * sizeof *rw.notes);
        rw.n = session_notes(&req, ids[i], titles[i], starts[i], &c, rw.notes, 2000);
        res = db_write(db, remind_apply, &rw);
    }
    arena_free(req.arena);
    return res;
}
