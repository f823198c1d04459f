/*
 * member.c: what every file about members shares (see member.h): whose
 * person record the logged-in user is, whether a member's listing may be
 * shown, the choices of the member forms (organisation types, kinds,
 * listings, statuses, countries, working groups), checks of their values,
 * the keyed rate limit of the public forms, the audit of reads and the
 * pagination of the member API. The nouns themselves are in
 * membership.c, person.c, profile.c, organisation.c, invitation.c and
 * password.c, which all sit on top of this file and never on each other
 * in a circle.
 *
 * Invariants: a person's listing choice is checked by
 * member_listing_visible on every page and export that shows them; the
 * audit log names people by id only.
 */
#include "feat/member.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "svc/audit.h"
#include "svc/visibility.h"

int64_t member_person_id(Request *r)
{
    return r->user ? r->user->person_id : 0;
}

int member_listing_visible(Request *r, const char *listing, int64_t person_id)
{
    /* A listing is a visibility under other names: "hidden" is private to
     * the person (and the admins). Checked by the one rule. */
    const char *visibility = strcmp(listing, "hidden") == 0 ? "private" : listing;
    /* Whose it is matters for hidden ones only: spares a query per row. */
    int64_t owner = 0;
    if (r->user && person_id && !strcmp(visibility, "private") && person_id == member_person_id(r))
        owner = r->user->id;
    return visibility_can_see(r->user, visibility, "", owner);
}

/* ---- shared lists ---- */

const char *const org_type_codes[] = {"human_rights_ngo",
                                      "trade_union",
                                      "womens_group",
                                      "lawyers_association",
                                      "nhri",
                                      "academic",
                                      "development_ngo",
                                      "community_organisation",
                                      "other",
                                      NULL};
const char *const org_type_labels[] = {N_("Human rights NGO"),
                                       N_("Trade union"),
                                       N_("Women's group"),
                                       N_("Lawyers' association"),
                                       N_("National human rights institution"),
                                       N_("Academic institution"),
                                       N_("Development or anti-poverty NGO"),
                                       N_("Community organisation"),
                                       N_("Other"),
                                       NULL};
const char *const member_kind_codes[] = {"individual", "organisation", NULL};
const char *const member_listing_codes[] = {"public", "members", "hidden", NULL};
const char *const member_listing_labels[] = {
    N_("Public: anyone can see that I am a member"),
    N_("Members only: only logged-in members can see it"),
    N_("Hidden: only your country's coordinators and the secretariat know"), NULL};

/* Membership statuses (the moderation queue's tabs and the API's filter). */
const char *const member_status_codes[] = {"pending", "active", "lapsed", "left", "declined", NULL};

/* Countries for a select, in the request's language, states first. */
json_t *member_country_options(Request *r, const char *selected)
{
    json_t *list = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT c.iso3, coalesce(n.name, e.name) AS label FROM countries c "
                          "LEFT JOIN country_names n ON n.iso3 = c.iso3 AND n.lang = :lang "
                          "JOIN country_names e ON e.iso3 = c.iso3 AND e.lang = 'en' "
                          "ORDER BY c.un_status = 'other', label");
    db_bind_text(st, ":lang", r->lang);
    while (db_row(st))
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "code", db_text(st, 0), "label",
                                               db_text(st, 1), "selected",
                                               selected && !strcmp(selected, db_text(st, 0))));
    db_done(st);
    return list;
}

/* 1 if word is one of the space-separated words of list. */
static int member_word_in(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return 1;
        p = end ? end + 1 : p + len;
    }
    return 0;
}

json_t *member_language_options(const char *selected)
{
    json_t *list = json_array();
    for (const Language *l = i18n_known_languages(); l->code; l++)
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "code", l->code, "label",
                                               l->native_name, "selected",
                                               member_word_in(selected, l->code)));
    return list;
}

json_t *member_group_options(Request *r, const char *const *selected)
{
    json_t *list = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT slug, name, description FROM working_groups ORDER BY name");
    while (db_row(st)) {
        int on = 0;
        for (int i = 0; selected && selected[i]; i++)
            on |= strcmp(selected[i], db_text(st, 0)) == 0;
        json_array_append_new(list, json_build("{s:s, s:s, s:s, s:b}", "code", db_text(st, 0),
                                               "label", db_text(st, 1), "description",
                                               db_text(st, 2), "selected", on));
    }
    db_done(st);
    return list;
}

/* One hit on a keyed rate limit; hits comes back with this window's
 * count, this hit included. */
typedef struct {
    const char *key;
    int window;
    int hits;
} RateHit;

static Result rate_hit_apply(Db *w, void *ctx)
{
    RateHit *h = ctx;
    int64_t now = now_seconds();
    Stmt *st = db_prepare(
        w, "INSERT INTO rate_limits (key, hits, window_start) VALUES (:key, 1, :now) "
           "ON CONFLICT (key) DO UPDATE SET "
           "hits = CASE WHEN rate_limits.window_start > :since THEN rate_limits.hits + 1 "
           "ELSE 1 END, "
           "window_start = CASE WHEN rate_limits.window_start > :since "
           "THEN rate_limits.window_start ELSE :now END "
           "RETURNING hits");
    db_bind_text(st, ":key", h->key);
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":since", now - h->window);
    h->hits = db_row(st) ? (int)db_int(st, 0) : 0;
    return db_done(st) == R_OK ? R_OK : R_INTERNAL;
}

/* Keyed-hash rate limit: at most limit hits per window for key. The hit
 * is committed on its own, before the request is looked at, so that
 * invalid requests count too. A hit that cannot be recorded does not
 * refuse the request (as before the writer: a limit, not a lock). */
int member_rate_limited(Db *db, const char *key, int limit, int window)
{
    RateHit h = {.key = key, .window = window};
    return db_write(db, rate_hit_apply, &h) == R_OK && h.hits > limit;
}

static Result rate_limits_expire_apply(Db *w, void *ctx)
{
    int64_t now = *(const int64_t *)ctx;
    Stmt *st = db_prepare(w, "DELETE FROM rate_limits WHERE window_start < :old");
    db_bind_int(st, ":old", now - 24 * 3600);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result member_rate_limits_expire(Db *db, const char *base_url)
{
    (void)base_url; /* an hourly job's signature: no links here */
    int64_t now = now_seconds();
    return db_write(db, rate_limits_expire_apply, &now);
}

int member_valid_languages(const char *s)
{
    if (!s)
        return 1;
    size_t n = strlen(s);
    if (n > 64)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == ' ' || s[i] == '-'))
            return 0;
    return 1;
}

int member_in_list(const char *const *list, const char *v)
{
    for (int i = 0; v && list[i]; i++)
        if (strcmp(list[i], v) == 0)
            return 1;
    return 0;
}

char *member_link(Request *r, const char *path)
{
    return arena_printf(r->arena, "%s%s", r->base_url ? r->base_url : "", path);
}

int member_email_registered(Db *db, const char *email)
{
    Stmt *st = db_prepare(db, "SELECT 1 FROM people WHERE email = :email "
                              "UNION ALL SELECT 1 FROM users WHERE email = :email");
    db_bind_text(st, ":email", email);
    int found = db_row(st);
    db_done(st);
    return found;
}

/* A ticked checkbox: consent is only ever a value the person sent. */
int member_checked(Request *r, const char *name)
{
    int on = 0;
    param_checkbox(r, name, &on); /* anything but "1" or "on" is not a yes */
    return on;
}

/* ---- reads of personal data ---- */

/* Logs the reads in seen (audit_read_set makes its own db_write). A view
 * that showed nobody writes nothing, so it costs no write at all. */
Result member_log_reads(Request *r, const char *action, const char *object, const AuditSet *seen)
{
    return seen->count ? audit_read_set(r, action, object, seen) : R_OK;
}

/* ---- the API: people, organisations, memberships ---- */

enum { PER_PAGE_DEFAULT = 50, PER_PAGE_MAX = 200 };

/* Pagination and filters shared by the list endpoints; bad values are 400
 * with the field named, as for forms. */
Result member_read_query(Request *r, MemberQuery *q)
{
    memset(q, 0, sizeof *q);
    q->page = 1;
    q->per_page = PER_PAGE_DEFAULT;
    Result res = R_OK;
    if (param_optional_int(r, "page", 1, 1000000, 1, &q->page) != R_OK)
        res = R_BAD_REQUEST;
    if (param_optional_int(r, "per_page", 1, PER_PAGE_MAX, PER_PAGE_DEFAULT, &q->per_page) != R_OK)
        res = R_BAD_REQUEST;
    if (param_optional_iso3(r, "country", &q->country) != R_OK)
        res = R_BAD_REQUEST;
    int status = -1, kind = -1;
    if (param_optional_enum(r, "status", member_status_codes, -1, &status) != R_OK)
        res = R_BAD_REQUEST;
    q->status = status >= 0 ? member_status_codes[status] : NULL;
    if (param_optional_enum(r, "kind", member_kind_codes, -1, &kind) != R_OK)
        res = R_BAD_REQUEST;
    q->kind = kind >= 0 ? member_kind_codes[kind] : NULL;
    return res;
}

json_t *member_page_envelope(Request *r, const MemberQuery *q, int64_t total, json_t *items)
{
    json_t *page = json_build("{s:I, s:I, s:I, s:o}", "page", (json_int_t)q->page, "per_page",
                              (json_int_t)q->per_page, "total", (json_int_t)total, "items", items);
    if (q->page * q->per_page < total)
        json_object_set_new(
            page, "next",
            json_string(arena_printf(r->arena, "%s?page=%lld&per_page=%lld", r->path,
                                     (long long)q->page + 1, (long long)q->per_page)));
    return page;
}
