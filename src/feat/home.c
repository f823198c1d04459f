/*
 * home.c: the front page, which is each role's home (issue 14): visitors
 * get the campaign in numbers, the ask for their country and the way in;
 * members their country's next action, their drafts and what waits for
 * them; coordinators and the secretariat their work queues with counts.
 * Also /admin (every administration page with its count), /language (a
 * visitor's choice of language, in a cookie), the public status endpoint
 * and static files.
 * Static files stay a route here rather than a special case in web/: the
 * route table (and so `ratify help routes`, the access tests and the
 * router's permission check) then covers every path the server answers.
 */
#include <string.h>

#include "feat/handlers.h"
#include "feat/country_name.h"
#include "feat/treaty.h"
#include "base/assets.h"
#include "base/i18n.h"
#include "db/db.h"
#include "svc/auth.h"
#include "svc/http.h"
#include "base/version.h"

/* ---- the visitor's country ---- */

/* The region of the first language tag in an Accept-Language header that
 * names one ("es-AR,es;q=0.9" gives "AR"), into out[3]; 0 if none. */
static int accept_language_region(const char *header, char out[3])
{
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ',')
            p++;
        size_t len = strcspn(p, ",;");
        const char *dash = memchr(p, '-', len);
        if (dash && (size_t)(dash - p) >= 2 && len - (size_t)(dash - p) - 1 >= 2) {
            const char *reg = dash + 1;
            size_t reglen = strcspn(reg, ",;- ");
            if (reglen == 2 && ((reg[0] | 32) >= 'a' && (reg[0] | 32) <= 'z') &&
                ((reg[1] | 32) >= 'a' && (reg[1] | 32) <= 'z')) {
                out[0] = (char)(reg[0] & ~32);
                out[1] = (char)(reg[1] & ~32);
                out[2] = 0;
                return 1;
            }
        }
        p += len;
        p += strcspn(p, ",");
    }
    return 0;
}

/* The visitor's country: the one chosen (?country=), else the region of
 * their browser's language, else NULL. A bad code is ignored: the chooser
 * is a link people edit. */
static const char *visitor_country(Request *r)
{
    /* raw: checked as a country code just below */
    const char *chosen = param_raw(r, "country");
    if (chosen && valid_iso3(chosen) && country_name_of(r, chosen))
        return chosen;
    char iso2[3];
    if (!accept_language_region(r->header(r, "Accept-Language"), iso2))
        return NULL;
    Stmt *st = db_prepare(r->db, "SELECT iso3 FROM countries WHERE iso2 = :iso2 "
                                 "AND un_status <> 'other'");
    db_bind_text(st, ":iso2", iso2);
    const char *found = db_row(st) ? arena_strdup(r->arena, db_text(st, 0)) : NULL;
    db_done(st);
    return found;
}

/* ---- counts ---- */

static int64_t count_of(Stmt *st)
{
    int64_t n = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return n;
}

/* How many rows of st (whose first column is an ISO3 code) are in the
 * countries this user coordinates (every country for an admin). */
static int64_t count_covered(Request *r, Stmt *st, const char **first)
{
    int64_t n = 0;
    while (db_row(st))
        if (auth_covers_country(r->user, db_text(st, 0)) && n++ == 0 && first)
            *first = arena_strdup(r->arena, db_text(st, 0));
    db_done(st);
    return n;
}

/* Confirmed applications waiting for a decision (the rule of
 * /admin/members: confirmed, or made without a confirmation link). */
static int64_t applications_waiting(Request *r)
{
    return count_covered(
        r,
        db_prepare(r->db, "SELECT m.iso3 FROM memberships m WHERE m.status = 'pending' "
                          "AND (m.confirmed_at IS NOT NULL OR NOT EXISTS "
                          "(SELECT 1 FROM confirm_tokens c WHERE c.membership_id = m.id))"),
        NULL);
}

/* Letters past their reminder without an answer (letter_remind marks
 * them no_response). */
static int64_t letters_overdue(Request *r)
{
    return count_covered(
        r, db_prepare(r->db, "SELECT iso3 FROM letters WHERE status = 'no_response'"), NULL);
}

/* Corrections members proposed to government contacts; *first is a
 * country that has one (they are closed on each country's contacts page). */
static int64_t corrections_open(Request *r, const char **first)
{
    return count_covered(r,
                         db_prepare(r->db, "SELECT t.iso3 FROM target_corrections c "
                                           "JOIN targets t ON t.id = c.target_id "
                                           "WHERE c.status = 'open' ORDER BY t.iso3"),
                         first);
}

static int64_t assistance_in(Request *r, const char *status)
{
    Stmt *st = db_prepare(r->db, "SELECT count(*) FROM assistance_requests WHERE status = :s");
    db_bind_text(st, ":s", status);
    return count_of(st);
}

static int64_t upr_in_review(Request *r)
{
    return count_of(
        db_prepare(r->db, "SELECT count(*) FROM upr_recommendations WHERE class = 'review'"));
}

static int64_t untc_pending(Request *r)
{
    return count_of(db_prepare(r->db, "SELECT count(*) FROM untc_changes WHERE state = 'pending'"));
}

/* ---- work queues (coordinators and the secretariat) ---- */

static void queue_add(Request *r, json_t *list, const char *label, const char *href, int64_t n)
{
    json_array_append_new(list, json_build("{s:s, s:s, s:I, s:b}", "label", tr(r, label), "href",
                                           href, "count", (json_int_t)n, "waiting", n > 0));
}

/* The queues this user works on, each with its count and its page. */
static json_t *work_queues(Request *r)
{
    json_t *list = json_array();
    int admin = r->user->role == ROLE_ADMIN;
    int secretariat = admin || r->user->committee;
    if (r->user->role >= ROLE_COORDINATOR) {
        queue_add(r, list, N_("Applications waiting for a decision"), "/admin/members",
                  applications_waiting(r));
        queue_add(r, list, N_("Letters without an answer past their reminder"), "/admin/letters",
                  letters_overdue(r));
        const char *first = NULL;
        int64_t n = corrections_open(r, &first);
        queue_add(r, list, N_("Corrections to government contacts proposed"),
                  first ? arena_printf(r->arena, "/countries/%s/targets", first) : "/countries", n);
    }
    if (secretariat) {
        queue_add(r, list, N_("New requests for support"), "/admin/assistance?status=new",
                  assistance_in(r, "new"));
        queue_add(r, list, N_("Requests for support accepted, not yet done"),
                  "/admin/assistance?status=accepted", assistance_in(r, "accepted"));
    }
    if (admin) {
        queue_add(r, list, N_("UPR recommendations to review"), "/admin/upr", upr_in_review(r));
        queue_add(r, list, N_("UNTC changes to review"), "/admin/untc", untc_pending(r));
    }
    return list;
}

/* ---- a member's home ---- */

/* The country a member works for: their profile's, else the first they
 * coordinate; NULL for an admin without a profile. */
static const char *member_country(const User *u)
{
    if (u->home_iso3 && *u->home_iso3)
        return u->home_iso3;
    return u->country_count ? u->countries[0] : NULL;
}

/* The ask for iso3 under the campaign, in words. */
static const char *ask_for(Request *r, const Campaign *c, const char *iso3)
{
    CountryRow row = {0};
    snprintf(row.iso3, sizeof row.iso3, "%s", iso3);
    treaty_row_standings(r->db, c, &row);
    return treaty_ask_say(r, c, treaty_row_ask(c, &row));
}

/* Letters this user wrote and has not sent yet. */
static json_t *my_drafts(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT id, subject, iso3 FROM letters WHERE author_id = :me "
                                 "AND status = 'draft' ORDER BY updated_at DESC LIMIT 10");
    db_bind_int(st, ":me", r->user->id);
    while (db_row(st)) {
        const char *country = country_name_of(r, db_text(st, 2));
        json_array_append_new(list, json_build("{s:I, s:s, s:s}", "id", (json_int_t)db_int(st, 0),
                                               "subject", db_text(st, 1), "country",
                                               country ? country : db_text(st, 2)));
    }
    db_done(st);
    return list;
}

/* Events this user's address is invited to that have not started and that
 * they have not answered. */
static json_t *my_invitations(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT e.id, e.title FROM event_invitees i "
                                 "JOIN events e ON e.id = i.event_id WHERE i.email = :email "
                                 "AND i.response = 'none' AND e.starts_at > :now "
                                 "ORDER BY e.starts_at LIMIT 10");
    db_bind_text(st, ":email", r->user->email);
    db_bind_int(st, ":now", now_seconds());
    while (db_row(st))
        json_array_append_new(list, json_build("{s:I, s:s}", "id", (json_int_t)db_int(st, 0),
                                               "title", db_text(st, 1)));
    db_done(st);
    return list;
}

/* This user's open requests for support whose latest line was written by
 * someone else: an answer waits for them. */
static json_t *my_answered_requests(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT a.id, a.subject FROM assistance_requests a "
               "WHERE a.requester_id = :me AND a.status IN ('new', 'accepted', 'in_progress') "
               "AND coalesce((SELECT m.author_id FROM assistance_messages m "
               "WHERE m.request_id = a.id ORDER BY m.id DESC LIMIT 1), 0) <> :me "
               "ORDER BY a.updated_at DESC LIMIT 10");
    db_bind_int(st, ":me", r->user->id);
    while (db_row(st))
        json_array_append_new(list, json_build("{s:I, s:s}", "id", (json_int_t)db_int(st, 0),
                                               "subject", db_text(st, 1)));
    db_done(st);
    return list;
}

static json_t *member_home(Request *r, const Campaign *c)
{
    json_t *home = json_object();
    const char *iso3 = member_country(r->user);
    const char *name = iso3 ? country_name_of(r, iso3) : NULL;
    if (name)
        json_object_set_new(
            home, "country",
            json_build("{s:s, s:s, s:s}", "iso3", iso3, "name", name, "ask", ask_for(r, c, iso3)));
    json_t *drafts = my_drafts(r), *invitations = my_invitations(r),
           *answered = my_answered_requests(r);
    json_object_set_new(home, "waiting",
                        json_boolean(json_array_size(invitations) || json_array_size(answered)));
    json_object_set_new(home, "any_drafts", json_boolean(json_array_size(drafts) > 0));
    json_object_set_new(home, "drafts", drafts);
    json_object_set_new(home, "invitations", invitations);
    json_object_set_new(home, "answered", answered);
    if (r->user->role >= ROLE_COORDINATOR || r->user->committee) {
        json_object_set_new(home, "any_queues", json_true());
        json_object_set_new(home, "queues", work_queues(r));
    }
    return home;
}

/* ---- a visitor's home ---- */

static json_t *visitor_home(Request *r, const Campaign *c)
{
    size_t n = 0;
    CountryRow *rows = treaty_countries(r, c, 0, &n);
    /* The chooser in the order of the reader's names. */
    treaty_sort_countries(rows, n, SORT_NAME);
    const char *iso3 = visitor_country(r);
    int parties = 0, signatories = 0;
    json_t *choices = json_array(), *country = NULL;
    for (size_t i = 0; i < n; i++) {
        CountryRow *row = &rows[i];
        if (strcmp(row->un_status, "other") == 0)
            continue;
        parties += row->protocol.status == STATUS_PARTY;
        signatories += row->protocol.status == STATUS_SIGNATORY;
        int chosen = iso3 && strcmp(iso3, row->iso3) == 0;
        json_array_append_new(choices, json_build("{s:s, s:s, s:b}", "code", row->iso3, "label",
                                                  row->name, "selected", chosen));
        if (chosen)
            country = json_build("{s:s, s:s, s:s}", "iso3", row->iso3, "name", row->name, "ask",
                                 treaty_ask_say(r, c, treaty_row_ask(c, row)));
    }
    json_t *home =
        json_build("{s:i, s:i, s:i, s:o}", "parties", parties, "signatories", signatories, "states",
                   (int)json_array_size(choices), "choices", choices);
    if (country)
        json_object_set_new(home, "country", country);
    return home;
}

Result home_page(Request *r)
{
    r->page = "home";
    r->title = tr(r, "Ratify");
    Campaign c = treaty_campaign(r->db);
    json_t *data = json_build("{s:s, s:o}", "version", RATIFY_VERSION, "campaign",
                              treaty_campaign_json(r, &c));
    if (r->user)
        json_object_set_new(data, "member_home", member_home(r, &c));
    else
        json_object_set_new(data, "visitor_home", visitor_home(r, &c));
    r->data = data;
    return R_OK;
}

/* ---- /admin: every administration page ---- */

typedef struct {
    const char *href, *label, *about;
    int admin_only;
} AdminPage;

/* Every page of the administration, what it is for, and whether only
 * admins may open it (the rest: coordinators too). */
static const AdminPage admin_pages[] = {
    {"/admin/members", N_("Applications"), N_("Decide on membership applications."), 0},
    {"/admin/letters", N_("Letters overview"), N_("Letters and answers, country by country."), 0},
    {"/admin/users", N_("Users"), N_("Who can log in, their roles and countries; add a user."), 1},
    {"/admin/members/import", N_("Import members"),
     N_("Add members from a spreadsheet, with a dry run first."), 1},
    {"/admin/members/export", N_("Export members"), N_("Download the members as CSV or Excel."), 1},
    {"/admin/model-letters", N_("Model letters"),
     N_("The letters members start from, in each language."), 1},
    {"/admin/import", N_("Import treaty status"), N_("Load a depositary record."), 1},
    {"/admin/untc", N_("UNTC checks"), N_("Changes found on the UN Treaty Collection to review."),
     1},
    {"/admin/upr", N_("UPR recommendations"),
     N_("Import UPR recommendations and review the unclear ones."), 1},
    {"/admin/steering-committee", N_("The steering committee"),
     N_("Who answers requests for support with the admins."), 1},
    {"/admin/tokens", N_("API tokens"), N_("Keys for other programs to read or write data."), 1},
    {"/admin/mail", N_("Outgoing mail"), N_("Messages waiting, sent or failed."), 1},
    {"/admin/audit", N_("Audit log"), N_("Who changed or looked at what."), 1},
};

/* A count for the pages that have a queue, else -1. */
static int64_t admin_page_count(Request *r, const char *href)
{
    if (strcmp(href, "/admin/members") == 0)
        return applications_waiting(r);
    if (strcmp(href, "/admin/untc") == 0)
        return untc_pending(r);
    if (strcmp(href, "/admin/upr") == 0)
        return upr_in_review(r);
    return -1;
}

Result home_admin_page(Request *r)
{
    json_t *list = json_array();
    int admin = r->user->role == ROLE_ADMIN;
    for (size_t i = 0; i < sizeof admin_pages / sizeof admin_pages[0]; i++) {
        const AdminPage *p = &admin_pages[i];
        if (p->admin_only && !admin)
            continue;
        int64_t n = admin_page_count(r, p->href);
        json_array_append_new(list, json_build("{s:s, s:s, s:s, s:b, s:I}", "href", p->href,
                                               "label", tr(r, p->label), "about", tr(r, p->about),
                                               "counted", n >= 0, "count", (json_int_t)n));
    }
    if (r->user->role == ROLE_ADMIN || r->user->committee)
        json_array_append_new(
            list, json_build("{s:s, s:s, s:s, s:b, s:I}", "href", "/admin/assistance", "label",
                             tr(r, "Requests for support"), "about",
                             tr(r, "Answer members who ask the coalition for help."), "counted", 1,
                             "count", (json_int_t)assistance_in(r, "new")));
    r->page = "admin";
    r->title = tr(r, "Administration");
    r->data = json_build("{s:o}", "pages", list);
    return R_OK;
}

/* ---- a visitor's language ---- */

/* GET /language?lang=es&next=/countries: remembers the choice in a cookie
 * for a year (logged-in people choose on their account page, which wins)
 * and goes back. A GET, so the chooser works without a session or
 * JavaScript; it changes nothing but the reader's own display. */
Result home_language_page(Request *r)
{
    /* raw: checked against the supported languages */
    const char *lang = param_raw(r, "lang");
    /* raw: only ever a local path, checked below */
    const char *next = param_raw(r, "next");
    if (!lang || !i18n_supported(lang)) {
        r->message = tr(r, "Please choose one of the options.");
        return R_BAD_REQUEST;
    }
    http_set_cookie(r, "lang", lang, 365 * 86400);
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strchr(next, '\r') ||
        strchr(next, '\n'))
        next = "/";
    return http_redirect(r, next);
}

Result home_status_api(Request *r)
{
    r->data = json_build("{s:s, s:s, s:i, s:i}", "name", "ratify", "version", RATIFY_VERSION,
                         "schema_version", db_schema_version(r->db), "migrations_embedded",
                         db_migrations_available());
    return R_OK;
}

static const char *mime_type(const char *path)
{
    static const struct {
        const char *ext, *type;
    } types[] = {
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
    };
    const char *dot = strrchr(path, '.');
    for (size_t i = 0; dot && i < sizeof types / sizeof types[0]; i++)
        if (strcmp(dot, types[i].ext) == 0)
            return types[i].type;
    return "application/octet-stream";
}

/* Static files are compiled in and never change while the binary runs, so
 * the ETag is a hash of the content and caches may keep them for a year
 * (pages link them with ?v=<version>). */
Result home_static_file_page(Request *r)
{
    /* raw: a path looked up among the compiled-in files, nothing else */
    const char *file = param_raw(r, "file");
    char path[128];
    if (!file || strlen(file) > 100 || file[0] == '.')
        return R_NOT_FOUND;
    snprintf(path, sizeof path, "static/%s", file);
    const Asset *a = asset_find(path);
    if (!a)
        return R_NOT_FOUND;
    http_add_header(r, "Cache-Control", "public, max-age=31536000, immutable");
    r->content_type = mime_type(path);
    if (http_etag(r, a->data, a->len)) {
        r->status = 304;
        return R_OK;
    }
    buf_append(&r->body_out, (const char *)a->data, a->len);
    return R_OK;
}
