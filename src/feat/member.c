/*
 * member.c: members (see member.h): joining, confirming, moderation,
 * accounts for approved members, profiles, the directory, export and
 * erasure.
 *
 * Invariants: a person's listing choice is checked by
 * member_listing_visible on every page and export that shows them; the
 * audit log names people by id only; erasing a person leaves none of their
 * personal data in the database file (secure_delete, then a checkpoint).
 */
#include "feat/handlers.h"
#include "feat/member.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/mail.h"

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
    return auth_can_see(r->user, visibility, "", owner);
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
static const char *const kind_codes[] = {"individual", "organisation", NULL};
static const char *const listing_codes[] = {"public", "members", "hidden", NULL};
static const char *const listing_labels[] = {
    N_("Public: anyone can see that I am a member"),
    N_("Members only: only logged-in members can see it"),
    N_("Hidden: only your country's coordinators and the secretariat know"), NULL};

enum { JOIN_LIMIT = 5, JOIN_WINDOW = 3600, CONFIRM_HOURS = 7 * 24, WELCOME_HOURS = 72 };

/* Countries for a select, in the request's language, states first. */
static json_t *country_options(Request *r, const char *selected)
{
    json_t *list = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT iso3, CASE :lang WHEN 'es' THEN name_es WHEN 'fr' THEN name_fr "
                          "WHEN 'ar' THEN name_ar ELSE name_en END AS name FROM countries "
                          "ORDER BY un_status = 'other', name");
    db_bind_text(st, ":lang", r->lang);
    while (db_row(st))
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "code", db_text(st, 0), "label",
                                               db_text(st, 1), "selected",
                                               selected && !strcmp(selected, db_text(st, 0))));
    db_done(st);
    return list;
}

static json_t *group_options(Request *r, const char *const *selected)
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
           "hits = CASE WHEN window_start > :since THEN hits + 1 ELSE 1 END, "
           "window_start = CASE WHEN window_start > :since THEN window_start ELSE :now END "
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
static int rate_limited(Db *db, const char *key, int limit, int window)
{
    RateHit h = {.key = key, .window = window};
    return db_write(db, rate_hit_apply, &h) == R_OK && h.hits > limit;
}

/* ---- joining ---- */

static int valid_languages(const char *s)
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

static int country_exists(Db *db, const char *iso3)
{
    Stmt *st = db_prepare(db, "SELECT 1 FROM countries WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    int found = db_row(st);
    db_done(st);
    return found;
}

static int in_list(const char *const *list, const char *v)
{
    for (int i = 0; v && list[i]; i++)
        if (strcmp(list[i], v) == 0)
            return 1;
    return 0;
}

static size_t text_length(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += ((unsigned char)*s & 0xc0) != 0x80;
    return n;
}

static int plain_text(const char *s)
{
    return s && utf8_valid_text(s, strlen(s)) && !strpbrk(s, "\r\n\t");
}

/* Validates a join request; every problem is recorded, not just the first. */
static Result validate_join(Request *r, const JoinRequest *j)
{
    Result res = R_OK;
    int org = j->kind && strcmp(j->kind, "organisation") == 0;
    if (!in_list(kind_codes, j->kind))
        res = param_error(r, "kind", N_("Please choose one of the options."));
    if (!j->name || !*j->name)
        res = param_error(r, "name", N_("This field is required."));
    else if (!plain_text(j->name))
        res = param_error(r, "name", N_("This contains characters that are not allowed."));
    else if (text_length(j->name) > 200)
        res = param_error(r, "name", N_("This is too long."));
    if (!j->email || !valid_email(j->email))
        res = param_error(r, "email", N_("Please enter a valid email address."));
    if (!valid_iso3(j->iso3) || !country_exists(r->db, j->iso3))
        res = param_error(r, "iso3", N_("Please choose a country."));
    if (!valid_languages(j->languages))
        res = param_error(r, "languages", N_("Please choose one of the options."));
    if (!in_list(listing_codes, j->listing))
        res = param_error(r, "listing", N_("Please choose one of the options."));
    if (org) {
        if (!j->org_name || !*j->org_name)
            res = param_error(r, "org_name", N_("This field is required."));
        else if (!plain_text(j->org_name))
            res = param_error(r, "org_name", N_("This contains characters that are not allowed."));
        else if (text_length(j->org_name) > 200)
            res = param_error(r, "org_name", N_("This is too long."));
        if (!in_list(org_type_codes, j->org_type))
            res = param_error(r, "org_type", N_("Please choose one of the options."));
        if (j->website && *j->website &&
            ((strncmp(j->website, "https://", 8) && strncmp(j->website, "http://", 7)) ||
             !plain_text(j->website) || strchr(j->website, ' ') || strlen(j->website) > 300))
            res = param_error(r, "website", N_("A web address starts with https://"));
    }
    if (!j->not_government)
        res = param_error(r, "not_government",
                          N_("Membership is for organisations and people that are not part of a "
                             "government. Please confirm this."));
    if (!j->consent_store)
        res = param_error(r, "consent_store",
                          N_("We can only keep your application with your consent."));
    for (int i = 0; j->groups && j->groups[i]; i++) {
        Stmt *st = db_prepare(r->db, "SELECT 1 FROM working_groups WHERE slug = :s");
        db_bind_text(st, ":s", j->groups[i]);
        int found = db_row(st);
        db_done(st);
        if (!found)
            res = param_error(r, "groups", N_("Please choose one of the options."));
    }
    return res;
}

static char *link_to(Request *r, const char *path)
{
    return arena_printf(r->arena, "%s%s", r->base_url ? r->base_url : "", path);
}

/* What member_join writes. Everything that needs no atomicity (the
 * token, both possible emails, the time) is made before db_write, so the
 * writer's part is SQL only: this is the sign-up path of the API. */
typedef struct {
    Request *r;
    const JoinRequest *j;
    int organisation; /* j->kind is "organisation" */
    int64_t now;
    char token_hash[65];                        /* of the confirmation link's token */
    const char *confirm_subject, *confirm_body; /* to a new applicant */
    const char *notice_subject, *notice_body;   /* to an address already registered */
    int64_t person, org, membership;            /* out: the new rows */
} Join;

static int email_registered(Db *db, const char *email)
{
    Stmt *st = db_prepare(db, "SELECT 1 FROM people WHERE email = :email "
                              "UNION ALL SELECT 1 FROM users WHERE email = :email");
    db_bind_text(st, ":email", email);
    int found = db_row(st);
    db_done(st);
    return found;
}

static Result insert_person(Db *w, Join *jn)
{
    const JoinRequest *j = jn->j;
    Stmt *st = db_prepare(w, "INSERT INTO people (name, email, iso3, languages, listing, "
                             "created_at, updated_at) VALUES (:name, :email, :iso3, :languages, "
                             ":listing, :now, :now) RETURNING id");
    db_bind_text(st, ":name", j->name);
    db_bind_text(st, ":email", j->email);
    db_bind_text(st, ":iso3", j->iso3);
    db_bind_text(st, ":languages", j->languages ? j->languages : "");
    /* An organisation's contact person is not listed unless they say so
     * on their own profile: the listing choice is the organisation's. */
    db_bind_text(st, ":listing", jn->organisation ? "hidden" : j->listing);
    db_bind_int(st, ":now", jn->now);
    return db_insert(st, &jn->person) == R_OK ? R_OK : R_INTERNAL;
}

static Result insert_organisation(Db *w, Join *jn)
{
    const JoinRequest *j = jn->j;
    Stmt *st = db_prepare(
        w, "INSERT INTO organisations (name, iso3, org_type, website, languages, listing, "
           "created_at, updated_at) VALUES (:name, :iso3, :type, :website, :languages, "
           ":listing, :now, :now) RETURNING id");
    db_bind_text(st, ":name", j->org_name);
    db_bind_text(st, ":iso3", j->iso3);
    db_bind_text(st, ":type", j->org_type);
    db_bind_text(st, ":website", j->website ? j->website : "");
    db_bind_text(st, ":languages", j->languages ? j->languages : "");
    db_bind_text(st, ":listing", j->listing);
    db_bind_int(st, ":now", jn->now);
    if (db_insert(st, &jn->org) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "INSERT INTO org_people (org_id, person_id, role) "
                       "VALUES (:org, :person, 'contact')");
    db_bind_int(st, ":org", jn->org);
    db_bind_int(st, ":person", jn->person);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

static Result insert_membership(Db *w, Join *jn)
{
    const JoinRequest *j = jn->j;
    Stmt *st = db_prepare(
        w, "INSERT INTO memberships (kind, person_id, org_id, iso3, status, "
           "not_government, consent_store_at, consent_updates, created_at) VALUES (:kind, "
           ":person, :org, :iso3, 'pending', 1, :now, :updates, :now) RETURNING id");
    db_bind_text(st, ":kind", j->kind);
    db_bind_int(st, ":person", jn->person);
    if (jn->org)
        db_bind_int(st, ":org", jn->org);
    else
        db_bind_null(st, ":org");
    db_bind_text(st, ":iso3", j->iso3);
    db_bind_int(st, ":now", jn->now);
    db_bind_int(st, ":updates", j->consent_updates ? 1 : 0);
    if (db_insert(st, &jn->membership) != R_OK)
        return R_INTERNAL;
    for (int i = 0; j->groups && j->groups[i]; i++) {
        st = db_prepare(w, "INSERT INTO membership_interests (membership_id, group_id) "
                           "SELECT :m, id FROM working_groups WHERE slug = :slug "
                           "ON CONFLICT DO NOTHING");
        db_bind_int(st, ":m", jn->membership);
        db_bind_text(st, ":slug", j->groups[i]);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

static Result insert_confirm_token(Db *w, const Join *jn)
{
    Stmt *st = db_prepare(w, "INSERT INTO confirm_tokens (token_hash, membership_id, expires_at) "
                             "VALUES (:hash, :m, :expires)");
    db_bind_text(st, ":hash", jn->token_hash);
    db_bind_int(st, ":m", jn->membership);
    db_bind_int(st, ":expires", jn->now + CONFIRM_HOURS * 3600);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* The applicant's person, organisation, pending membership, interests and
 * confirmation token, the confirmation email and the audit line; or, for
 * an address already registered, only a notice to that address. The
 * address is checked here, in the write, so that two applications with
 * one address cannot both pass. */
static Result member_join_apply(Db *w, void *ctx)
{
    Join *jn = ctx;
    const JoinRequest *j = jn->j;
    if (email_registered(w, j->email))
        return mail_queue(w, j->email, jn->notice_subject, jn->notice_body);
    Result res = insert_person(w, jn);
    if (res == R_OK && jn->organisation)
        res = insert_organisation(w, jn);
    if (res == R_OK)
        res = insert_membership(w, jn);
    if (res == R_OK)
        res = insert_confirm_token(w, jn);
    if (res == R_OK)
        res = mail_queue(w, j->email, jn->confirm_subject, jn->confirm_body);
    if (res == R_OK)
        res = audit_log(w, 0, "membership applied",
                        arena_printf(jn->r->arena, "membership %lld", (long long)jn->membership),
                        arena_printf(jn->r->arena, "%s %s", j->kind, j->iso3));
    return res;
}

/* Fills in what member_join_apply needs besides the request: the
 * confirmation token and both emails. */
static void join_prepare(Request *r, const JoinRequest *j, Join *jn)
{
    *jn = (Join){.r = r, .j = j, .now = now_seconds()};
    jn->organisation = strcmp(j->kind, "organisation") == 0;
    char token[65];
    random_hex(token, 32);
    auth_token_hash("confirm", token, jn->token_hash);
    jn->confirm_subject = tr(r, "Please confirm your membership application");
    jn->confirm_body = arena_printf(
        r->arena, "%s\n\n%s\n%s\n\n%s\n", tr(r, "Thank you for asking to join the coalition."),
        tr(r, "To confirm your email address, open this link within 7 days:"),
        link_to(r, arena_printf(r->arena, "/join/confirm/%s", token)),
        tr(r, "If you did not ask to join, ignore this message: nothing happens without your "
              "confirmation."));
    /* Sent instead when the address is already registered: it tells the
     * owner, and only the owner. */
    jn->notice_subject = tr(r, "Your Ratify membership");
    jn->notice_body = arena_printf(
        r->arena, "%s\n\n%s\n%s\n\n%s\n",
        tr(r, "Someone asked to join the coalition on Ratify with this email address, which is "
              "already registered."),
        tr(r, "If it was you, you can log in, or choose a new password here:"),
        link_to(r, "/password/reset"),
        tr(r, "If it was not you, you can ignore this message: nothing was changed."));
}

Result member_join(Request *r, const JoinRequest *j)
{
    if (validate_join(r, j) != R_OK)
        return R_BAD_REQUEST;
    Join jn;
    join_prepare(r, j, &jn);
    return db_write(r->db, member_join_apply, &jn);
}

/* ---- the join form ---- */

/* Every value named name in the form (checkbox groups), in the arena. */
static const char **all_values(Request *r, const char *name)
{
    size_t n = 0;
    for (size_t i = 0; i < r->form.count; i++)
        n += strcmp(r->form.items[i].name, name) == 0;
    const char **list = arena_alloc(r->arena, (n + 1) * sizeof *list);
    n = 0;
    for (size_t i = 0; i < r->form.count && n < 32; i++)
        if (strcmp(r->form.items[i].name, name) == 0)
            list[n++] = r->form.items[i].value;
    list[n] = NULL;
    return list;
}

/* A ticked checkbox: consent is only ever a value the person sent. */
static int checked(Request *r, const char *name)
{
    const char *v = param_raw(r, name);
    return v && *v;
}

static const char *trimmed_param(Request *r, const char *name)
{
    const char *v = NULL;
    if (param_optional_text(r, name, 100000, 0, &v) != R_OK)
        return param_raw(r, name); /* validate_join reports it */
    return v;
}

static void join_form(Request *r, const JoinRequest *j)
{
    r->page = "join";
    r->title = tr(r, "Join the coalition");
    json_t *typed =
        json_build("{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b}", "name", j->name ? j->name : "",
                   "email", j->email ? j->email : "", "languages", j->languages ? j->languages : "",
                   "org_name", j->org_name ? j->org_name : "", "website",
                   j->website ? j->website : "", "kind", j->kind ? j->kind : "individual",
                   "is_organisation", j->kind && strcmp(j->kind, "organisation") == 0,
                   "not_government", j->not_government, "consent_updates", j->consent_updates);
    json_decref(r->data);
    r->data = json_build(
        "{s:o, s:o, s:o, s:o, s:o, s:o}", "form", typed, "countries", country_options(r, j->iso3),
        "org_types", form_options(r, org_type_codes, org_type_labels, j->org_type), "listings",
        form_options(r, listing_codes, listing_labels, j->listing), "groups",
        group_options(r, j->groups), "languages_offered",
        form_options(r, (const char *const[]){"en", "es", "fr", "ar", "pt", "ru", "zh", NULL},
                     (const char *const[]){"English", "Español", "Français", "العربية", "Português",
                                           "Русский", "中文", NULL},
                     NULL));
}

Result join_page(Request *r)
{
    JoinRequest j = {.kind = "individual", .listing = "hidden"};
    join_form(r, &j);
    return R_OK;
}

static void join_done(Request *r)
{
    json_decref(r->data);
    r->data = NULL;
    r->page = "join_done";
    r->title = tr(r, "Check your email");
}

Result join_post(Request *r)
{
    JoinRequest j = {0};
    j.kind = param_raw(r, "kind");
    j.name = trimmed_param(r, "name");
    const char *email = trimmed_param(r, "email");
    char *lower = email ? arena_strdup(r->arena, email) : NULL;
    for (char *p = lower; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    j.email = lower;
    j.iso3 = param_raw(r, "iso3");
    const char **langs = all_values(r, "languages");
    Buf joined = {0};
    for (int i = 0; langs[i]; i++)
        buf_printf(&joined, "%s%s", i ? " " : "", langs[i]);
    j.languages = arena_strdup(r->arena, joined.data ? joined.data : "");
    buf_free(&joined);
    j.org_name = trimmed_param(r, "org_name");
    j.org_type = param_raw(r, "org_type");
    j.website = trimmed_param(r, "website");
    j.listing = param_raw(r, "listing");
    j.groups = all_values(r, "groups");
    j.not_government = checked(r, "not_government");
    j.consent_store = checked(r, "consent_store");
    j.consent_updates = checked(r, "consent_updates");

    /* A bot that fills the hidden field is told it worked. */
    const char *honeypot = param_raw(r, "homepage");
    if (honeypot && *honeypot) {
        join_done(r);
        return R_OK;
    }
    char key[65];
    auth_token_hash("join-client", r->client, key);
    if (rate_limited(r->db, key, JOIN_LIMIT, JOIN_WINDOW)) {
        join_form(r, &j);
        r->message = tr(r, "Too many applications from your network. Please try again in an "
                           "hour.");
        r->status = 429;
        return R_OK;
    }
    Result res = member_join(r, &j);
    if (res == R_BAD_REQUEST) {
        join_form(r, &j);
        return R_BAD_REQUEST;
    }
    if (res != R_OK)
        return res;
    join_done(r);
    return R_OK;
}

/* ---- confirming ---- */

/* Whether the link's token can still confirm an application (the page;
 * posting checks again as it spends the token). */
static int confirm_token_valid(Request *r, const char *token)
{
    char hash[65];
    auth_token_hash("confirm", token ? token : "", hash);
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM confirm_tokens "
                                 "WHERE token_hash = :hash AND used_at IS NULL "
                                 "AND expires_at > :now");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":now", now_seconds());
    int found = db_row(st);
    db_done(st);
    return found;
}

Result join_confirm_page(Request *r)
{
    if (!confirm_token_valid(r, param_raw(r, "token"))) {
        r->message = tr(r, "This link has expired or was already used.");
        return R_NOT_FOUND;
    }
    r->page = "join_confirm";
    r->title = tr(r, "Confirm your application");
    r->data = json_build("{s:s}", "token", param_raw(r, "token"));
    return R_OK;
}

/* What confirming writes: the token spent, the membership confirmed, the
 * audit line. hash is the link's token, hashed. */
typedef struct {
    Request *r;
    char hash[65];
} Confirm;

static Result membership_confirm_apply(Db *w, void *ctx)
{
    Confirm *c = ctx;
    int64_t now = now_seconds();
    /* Spending the token is the check that it is still good, so a second
     * submission of the same link finds it used. */
    Stmt *st = db_prepare(w, "UPDATE confirm_tokens SET used_at = :now WHERE token_hash = :hash "
                             "AND used_at IS NULL AND expires_at > :now RETURNING membership_id");
    db_bind_int(st, ":now", now);
    db_bind_text(st, ":hash", c->hash);
    int64_t membership = db_row(st) ? db_int(st, 0) : 0;
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    if (!membership)
        return R_NOT_FOUND;
    st = db_prepare(w, "UPDATE memberships SET confirmed_at = :now WHERE id = :id");
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":id", membership);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, 0, "membership confirmed",
                     arena_printf(c->r->arena, "membership %lld", (long long)membership), "");
}

Result join_confirm_post(Request *r)
{
    Confirm c = {.r = r};
    const char *token = param_raw(r, "token");
    auth_token_hash("confirm", token ? token : "", c.hash);
    Result res = db_write(r->db, membership_confirm_apply, &c);
    if (res == R_NOT_FOUND) {
        r->message = tr(r, "This link has expired or was already used.");
        return R_NOT_FOUND;
    }
    if (res != R_OK)
        return R_INTERNAL;
    r->page = "join_confirmed";
    r->title = tr(r, "Thank you");
    return R_OK;
}

/* ---- reads of personal data ---- */

/* Logs the reads in seen (audit_read_set makes its own db_write). A view
 * that showed nobody writes nothing, so it costs no write at all. */
static Result log_reads(Request *r, const char *action, const char *object, const AuditSet *seen)
{
    return seen->count ? audit_read_set(r, action, object, seen) : R_OK;
}

/* ---- moderation ---- */

static const char *const status_codes[] = {"pending", "active", "lapsed", "left", "declined", NULL};
static const char *const status_labels[] = {N_("Pending"), N_("Active"),   N_("Lapsed"),
                                            N_("Left"),    N_("Declined"), NULL};

Result admin_members_page(Request *r)
{
    const char *status = param_raw(r, "status");
    if (!in_list(status_codes, status))
        status = "pending";
    json_t *list = json_array();
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    Stmt *st = db_prepare(
        r->db, "SELECT m.id, m.kind, m.iso3, m.status, m.created_at, m.confirmed_at IS NOT NULL, "
               "p.name, p.email, coalesce(o.name, ''), coalesce(o.org_type, ''), "
               "coalesce(o.website, ''), m.decision_reason, m.person_id, coalesce(o.id, 0) "
               "FROM memberships m JOIN people p ON p.id = m.person_id "
               "LEFT JOIN organisations o ON o.id = m.org_id "
               "WHERE m.status = :status AND (m.status <> 'pending' OR m.confirmed_at IS NOT NULL "
               "OR NOT EXISTS (SELECT 1 FROM confirm_tokens c WHERE c.membership_id = m.id)) "
               "ORDER BY m.created_at");
    db_bind_text(st, ":status", status);
    while (db_row(st)) {
        const char *iso3 = db_text(st, 2);
        /* Coordinators see the applications of their own countries only. */
        if (!auth_covers_country(r->user, iso3))
            continue;
        /* Names and addresses: every one shown is a read. */
        audit_set_add(&seen, "person", db_int(st, 12));
        if (db_int(st, 13))
            audit_set_add(&seen, "organisation", db_int(st, 13));
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:b, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b}", "id",
                       (json_int_t)db_int(st, 0), "kind", db_text(st, 1), "is_organisation",
                       strcmp(db_text(st, 1), "organisation") == 0, "iso3", iso3, "status",
                       db_text(st, 3), "name", db_text(st, 6), "email", db_text(st, 7), "org_name",
                       db_text(st, 8), "org_type",
                       *db_text(st, 9)
                           ? tr(r, code_label(org_type_codes, org_type_labels, db_text(st, 9)))
                           : "",
                       "website", db_text(st, 10), "reason", db_text(st, 11), "can_decide",
                       strcmp(db_text(st, 3), "pending") == 0, "can_change",
                       strcmp(db_text(st, 3), "pending") && strcmp(db_text(st, 3), "declined")));
    }
    db_done(st);
    if (log_reads(r, "membership applications viewed",
                  arena_printf(r->arena, "memberships %s", status), &seen) != R_OK) {
        json_decref(list);
        return R_INTERNAL;
    }
    r->page = "admin_members";
    r->title = tr(r, "Membership applications");
    r->data = json_build("{s:o, s:o, s:s}", "members", list, "statuses",
                         form_options(r, status_codes, status_labels, status), "status", status);
    return R_OK;
}

typedef struct {
    int64_t id, person_id, user_id;
    char iso3[4];
    char email[256];
    char status[16];
    int confirmed;
} MembershipRow;

static Result load_membership(Request *r, int64_t id, MembershipRow *m)
{
    Stmt *st = db_prepare(
        r->db, "SELECT m.id, m.person_id, coalesce(p.user_id, 0), m.iso3, p.email, m.status, "
               "(m.confirmed_at IS NOT NULL OR NOT EXISTS (SELECT 1 FROM confirm_tokens c "
               "WHERE c.membership_id = m.id)) FROM memberships m "
               "JOIN people p ON p.id = m.person_id WHERE m.id = :id");
    db_bind_int(st, ":id", id);
    Result res = R_NOT_FOUND;
    if (db_row(st)) {
        m->id = db_int(st, 0);
        m->person_id = db_int(st, 1);
        m->user_id = db_int(st, 2);
        snprintf(m->iso3, sizeof m->iso3, "%s", db_text(st, 3));
        snprintf(m->email, sizeof m->email, "%s", db_text(st, 4));
        snprintf(m->status, sizeof m->status, "%s", db_text(st, 5));
        m->confirmed = (int)db_int(st, 6);
        res = R_OK;
    }
    db_done(st);
    return res;
}

/* An application is seen by its country's coordinators (the steering
 * level), the admins and the applicant: the one rule, auth_can_see. */
static int membership_visible(Request *r, const MembershipRow *m)
{
    return auth_can_see(r->user, "steering", m->iso3, m->user_id);
}

/* The membership named in the path, if this coordinator may decide it. */
static Result decidable(Request *r, MembershipRow *m)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK || load_membership(r, id, m) != R_OK ||
        !membership_visible(r, m))
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, m->iso3)) {
        r->message = tr(r, "Only the coordinators of this country and the administrators can "
                           "decide on this application.");
        return R_FORBIDDEN;
    }
    if (strcmp(m->status, "pending") != 0 || !m->confirmed) {
        r->message = tr(r, "This application has already been decided, or is not confirmed.");
        return R_CONFLICT;
    }
    return R_OK;
}

/* What deciding on an application writes: the decision (only while the
 * application is still pending, checked in the write), the audit line,
 * for an approval the member's account, and the email to the applicant. */
typedef struct {
    Request *r;
    const MembershipRow *m;
    const char *reason;         /* declining: the reason given */
    const char *subject, *body; /* declining: the email */
} Decision;

static Result set_status(Db *w, const Decision *d, const char *status)
{
    Request *r = d->r;
    Stmt *st = db_prepare(
        w, "UPDATE memberships SET status = :status, decided_by = :user, decided_at = :now, "
           "decision_reason = :reason WHERE id = :id AND status = 'pending'");
    db_bind_text(st, ":status", status);
    db_bind_int(st, ":user", r->user->id);
    db_bind_int(st, ":now", now_seconds());
    db_bind_text(st, ":reason", d->reason ? d->reason : "");
    db_bind_int(st, ":id", d->m->id);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_CONFLICT;
    return audit_log(w, r->user->id,
                     strcmp(status, "active") == 0 ? "membership approved" : "membership declined",
                     arena_printf(r->arena, "membership %lld", (long long)d->m->id), "");
}

/* An account for an approved member: a user with the member role linked to
 * the person, and a single-use link to choose a password. */
static Result open_account(Db *w, const MembershipRow *m, char path[96])
{
    if (!m->user_id) {
        Stmt *st = db_prepare(
            w, "INSERT INTO users (email, role, created_at) VALUES (:email, 'member', :now) "
               "ON CONFLICT (email) DO NOTHING");
        db_bind_text(st, ":email", m->email);
        db_bind_int(st, ":now", now_seconds());
        if (db_run(st) != R_OK)
            return R_INTERNAL;
        st = db_prepare(w, "UPDATE people SET user_id = "
                           "(SELECT id FROM users WHERE email = :email) WHERE id = :person");
        db_bind_text(st, ":email", m->email);
        db_bind_int(st, ":person", m->person_id);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return auth_issue_welcome(w, m->email, "welcome", WELCOME_HOURS, path);
}

static Result membership_approve_apply(Db *w, void *ctx)
{
    Decision *d = ctx;
    Request *r = d->r;
    char path[96];
    Result res;
    if ((res = set_status(w, d, "active")) != R_OK || (res = open_account(w, d->m, path)) != R_OK)
        return res;
    /* The link is made in the write, so the email is written here. */
    char *body = arena_printf(
        r->arena, "%s\n\n%s\n%s\n\n%s\n", tr(r, "Welcome: your membership has been approved."),
        tr(r, "Choose your password within 3 days with this single-use link:"), link_to(r, path),
        tr(r, "After that, log in at any time with your email address."));
    return mail_queue(w, d->m->email, tr(r, "Welcome to the coalition"), body);
}

Result admin_member_approve_post(Request *r)
{
    MembershipRow m;
    Result res = decidable(r, &m);
    if (res != R_OK)
        return res;
    Decision d = {.r = r, .m = &m};
    if ((res = db_write(r->db, membership_approve_apply, &d)) != R_OK)
        return res;
    return http_redirect(r, "/admin/members");
}

static Result membership_decline_apply(Db *w, void *ctx)
{
    Decision *d = ctx;
    Result res = set_status(w, d, "declined");
    return res == R_OK ? mail_queue(w, d->m->email, d->subject, d->body) : res;
}

Result admin_member_decline_post(Request *r)
{
    MembershipRow m;
    Result res = decidable(r, &m);
    if (res != R_OK)
        return res;
    const char *reason = NULL;
    if (param_text(r, "reason", 3, 2000, 1, &reason) != R_OK) {
        admin_members_page(r);
        r->message = tr(r, "Please give the applicant a reason.");
        return R_BAD_REQUEST;
    }
    Decision d = {.r = r, .m = &m, .reason = reason};
    d.subject = tr(r, "Your membership application");
    d.body = arena_printf(r->arena, "%s\n\n%s\n\n%s\n",
                          tr(r, "Thank you for your interest in the coalition. Your "
                                "membership application was not accepted, for this reason:"),
                          reason, tr(r, "You may reply to this message to ask about it."));
    if ((res = db_write(r->db, membership_decline_apply, &d)) != R_OK)
        return res;
    return http_redirect(r, "/admin/members");
}

/* ---- the directory ---- */

/* Filters: country, type (an org type or "individual"), working group,
 * language. Only active members, and only as each chose to be listed. */
Result members_page(Request *r)
{
    const char *iso3 = param_raw(r, "country");
    const char *type = param_raw(r, "type");
    const char *group = param_raw(r, "group");
    const char *lang = param_raw(r, "language");
    if (iso3 && !valid_iso3(iso3))
        iso3 = NULL;
    if (type && !in_list(org_type_codes, type) && strcmp(type, "individual") != 0)
        type = NULL;
    if (lang && (strlen(lang) < 2 || strlen(lang) > 3 || !valid_languages(lang)))
        lang = NULL;
    json_t *list = json_array();
    int unlisted = 0;
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    Stmt *st = db_prepare(
        r->db,
        "SELECT m.kind, m.iso3, p.id, p.name, p.listing, coalesce(o.name, ''), "
        "coalesce(o.org_type, ''), coalesce(o.website, ''), coalesce(o.listing, ''), "
        "CASE WHEN o.id IS NULL THEN p.languages ELSE o.languages END, "
        "CASE :lang WHEN 'es' THEN c.name_es WHEN 'fr' THEN c.name_fr WHEN 'ar' THEN c.name_ar "
        "ELSE c.name_en END, coalesce(o.id, 0) FROM memberships m JOIN people p ON p.id = "
        "m.person_id "
        "LEFT JOIN organisations o ON o.id = m.org_id JOIN countries c ON c.iso3 = m.iso3 "
        "WHERE m.status = 'active' AND (:iso3 IS NULL OR m.iso3 = :iso3) "
        "AND (:type IS NULL OR (:type = 'individual' AND m.kind = 'individual') "
        "     OR o.org_type = :type) "
        "AND (:grp IS NULL OR EXISTS (SELECT 1 FROM working_group_members g "
        "     JOIN working_groups w ON w.id = g.group_id "
        "     WHERE w.slug = :grp AND g.person_id = p.id)) "
        "AND (:language IS NULL OR ' ' || (CASE WHEN o.id IS NULL THEN p.languages "
        "     ELSE o.languages END) || ' ' LIKE '% ' || :language || ' %') "
        "ORDER BY coalesce(o.name, p.name)");
    db_bind_text(st, ":lang", r->lang);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":type", type);
    db_bind_text(st, ":grp", group && *group ? group : NULL);
    db_bind_text(st, ":language", lang);
    while (db_row(st)) {
        int org = strcmp(db_text(st, 0), "organisation") == 0;
        const char *listing = org ? db_text(st, 8) : db_text(st, 4);
        if (!member_listing_visible(r, listing, org ? 0 : db_int(st, 2))) {
            unlisted++;
            continue;
        }
        /* What anyone may see without logging in leaves no trace to
         * report; the rest was shown because of who is looking. */
        if (strcmp(listing, "public") != 0)
            audit_set_add(&seen, org ? "organisation" : "person",
                          org ? db_int(st, 11) : db_int(st, 2));
        json_array_append_new(
            list, json_build(
                      "{s:b, s:s, s:s, s:s, s:s, s:s, s:s}", "is_organisation", org, "name",
                      org ? db_text(st, 5) : db_text(st, 3), "org_type",
                      org ? tr(r, code_label(org_type_codes, org_type_labels, db_text(st, 6))) : "",
                      "website", db_text(st, 7), "languages", db_text(st, 9), "iso3",
                      db_text(st, 1), "country", db_text(st, 10)));
    }
    db_done(st);
    if (log_reads(r, "members directory viewed", "directory", &seen) != R_OK) {
        json_decref(list);
        return R_INTERNAL;
    }
    r->page = "members";
    r->title = tr(r, "Members");
    r->data = json_build("{s:o, s:i, s:o, s:o, s:o}", "members", list, "unlisted", unlisted,
                         "countries", country_options(r, iso3), "types",
                         form_options(r, org_type_codes, org_type_labels, type), "groups",
                         group_options(r, (const char *const[]){group, NULL}));
    json_object_set_new(r->data, "individual_selected",
                        json_boolean(type && strcmp(type, "individual") == 0));
    json_object_set_new(r->data, "language", json_string(lang ? lang : ""));
    return R_OK;
}

/* ---- the profile ---- */

static json_t *person_json(Request *r, int64_t person)
{
    Stmt *st = db_prepare(r->db, "SELECT name, email, coalesce(iso3, ''), languages, "
                                 "listing, created_at FROM people WHERE id = :id");
    db_bind_int(st, ":id", person);
    json_t *p = NULL;
    if (db_row(st))
        p = json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:I}", "id", (json_int_t)person, "name",
                       db_text(st, 0), "email", db_text(st, 1), "iso3", db_text(st, 2), "languages",
                       db_text(st, 3), "listing", db_text(st, 4), "created_at",
                       (json_int_t)db_int(st, 5));
    db_done(st);
    return p;
}

/* The person's organisations; with forms, the choices an editing contact
 * needs too (the export leaves them out). */
static json_t *person_organisations(Request *r, int64_t person, int forms)
{
    json_t *list = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT o.id, o.name, o.iso3, o.org_type, o.website, o.listing, op.role, "
                          "op.title, o.languages FROM org_people op JOIN organisations o "
                          "ON o.id = op.org_id WHERE op.person_id = :p ORDER BY o.name");
    db_bind_int(st, ":p", person);
    while (db_row(st)) {
        json_t *o =
            json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
                       (json_int_t)db_int(st, 0), "name", db_text(st, 1), "iso3", db_text(st, 2),
                       "org_type", db_text(st, 3), "website", db_text(st, 4), "listing",
                       db_text(st, 5), "role", db_text(st, 6), "title", db_text(st, 7), "languages",
                       db_text(st, 8), "is_contact", strcmp(db_text(st, 6), "contact") == 0);
        if (forms) {
            json_object_set_new(o, "listings",
                                form_options(r, listing_codes, listing_labels, db_text(st, 5)));
            json_object_set_new(o, "org_types",
                                form_options(r, org_type_codes, org_type_labels, db_text(st, 3)));
        }
        json_array_append_new(list, o);
    }
    db_done(st);
    return list;
}

static json_t *person_memberships(Request *r, int64_t person)
{
    json_t *list = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT m.id, m.kind, m.iso3, m.status, m.created_at, m.consent_updates, "
                          "coalesce(o.name, '') FROM memberships m LEFT JOIN organisations o "
                          "ON o.id = m.org_id WHERE m.person_id = :p ORDER BY m.id");
    db_bind_int(st, ":p", person);
    while (db_row(st))
        json_array_append_new(list,
                              json_build("{s:I, s:s, s:s, s:s, s:I, s:b, s:s}", "id",
                                         (json_int_t)db_int(st, 0), "kind", db_text(st, 1), "iso3",
                                         db_text(st, 2), "status", db_text(st, 3), "created_at",
                                         (json_int_t)db_int(st, 4), "consent_updates",
                                         (int)db_int(st, 5), "organisation", db_text(st, 6)));
    db_done(st);
    return list;
}

static json_t *person_groups(Request *r, int64_t person)
{
    json_t *list = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT w.slug, w.name, g.is_moderator FROM working_group_members g "
                          "JOIN working_groups w ON w.id = g.group_id WHERE g.person_id = :p");
    db_bind_int(st, ":p", person);
    while (db_row(st))
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "slug", db_text(st, 0), "name",
                                               db_text(st, 1), "moderator", (int)db_int(st, 2)));
    db_done(st);
    return list;
}

static Result profile_form(Request *r, int64_t person)
{
    json_t *p = person_json(r, person);
    if (!p)
        return R_NOT_FOUND;
    const char *listing = json_string_value(json_object_get(p, "listing"));
    json_decref(r->data);
    r->data =
        json_build("{s:o, s:o, s:o, s:o, s:o}", "person", p, "listings",
                   form_options(r, listing_codes, listing_labels, listing), "organisations",
                   person_organisations(r, person, 1), "memberships", person_memberships(r, person),
                   "countries", country_options(r, json_string_value(json_object_get(p, "iso3"))));
    int more;
    json_object_set_new(r->data, "seen", audit_views_of(r, person, 5, 0, &more));
    r->page = "profile";
    r->title = tr(r, "Your profile");
    return R_OK;
}

static Result own_person(Request *r, int64_t *person)
{
    *person = member_person_id(r);
    if (!*person) {
        r->message = tr(r, "Your account has no member profile. Profiles belong to members "
                           "who joined through the membership form.");
        return R_NOT_FOUND;
    }
    return R_OK;
}

Result profile_page(Request *r)
{
    int64_t person;
    Result res = own_person(r, &person);
    return res == R_OK ? profile_form(r, person) : res;
}

/* What saving the profile writes: the person's own fields and the audit
 * line. */
typedef struct {
    Request *r;
    int64_t person;
    const char *name, *languages, *listing;
} ProfileEdit;

static Result profile_update_apply(Db *w, void *ctx)
{
    ProfileEdit *p = ctx;
    Stmt *st =
        db_prepare(w, "UPDATE people SET name = :name, languages = :languages, listing = :listing, "
                      "updated_at = :now WHERE id = :id");
    db_bind_text(st, ":name", p->name);
    db_bind_text(st, ":languages", p->languages ? p->languages : "");
    db_bind_text(st, ":listing", p->listing);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", p->person);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_NOT_FOUND; /* the account was closed meanwhile */
    return audit_log(w, p->r->user->id, "profile changed",
                     arena_printf(p->r->arena, "person %lld", (long long)p->person), "");
}

Result profile_post(Request *r)
{
    int64_t person;
    Result res = own_person(r, &person);
    if (res != R_OK)
        return res;
    const char *name = NULL, *languages = NULL;
    int listing = 0;
    int bad = param_text(r, "name", 1, 200, 0, &name) != R_OK;
    bad |= param_optional_text(r, "languages", 64, 0, &languages) != R_OK;
    if (languages && !valid_languages(languages))
        bad |= param_error(r, "languages", N_("Please choose one of the options.")) != R_OK;
    bad |= param_enum(r, "listing", listing_codes, &listing) != R_OK;
    if (bad) {
        profile_form(r, person);
        return R_BAD_REQUEST;
    }
    ProfileEdit p = {.r = r,
                     .person = person,
                     .name = name,
                     .languages = languages,
                     .listing = listing_codes[listing]};
    res = db_write(r->db, profile_update_apply, &p);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, "/profile");
}

/* Everything Ratify holds about the member, as one JSON document. */
Result profile_export_page(Request *r)
{
    int64_t person;
    Result res = own_person(r, &person);
    if (res != R_OK)
        return res;
    json_t *doc =
        json_build("{s:s, s:I, s:o, s:o, s:o, s:o}", "exported_by", "Ratify", "exported_at",
                   (json_int_t)now_seconds(), "person", person_json(r, person), "organisations",
                   person_organisations(r, person, 0), "memberships", person_memberships(r, person),
                   "working_groups", person_groups(r, person));
    char *text = json_dumps(doc, JSON_INDENT(2) | JSON_ENSURE_ASCII);
    buf_puts(&r->body_out, text);
    free(text);
    json_decref(doc);
    r->content_type = "application/json";
    http_add_header(r, "Content-Disposition", "attachment; filename=\"ratify-my-data.json\"");
    return R_OK;
}

/* ---- closing an account ---- */

/* What closing an account writes: every row that names the person
 * deleted, and an audit line that keeps only "person N". */
typedef struct {
    Request *r;
    int64_t person, user;
} Erasure;

static Result delete_by_email(Db *w, const char *email, const char *throttle)
{
    Stmt *st = db_prepare(w, "DELETE FROM mail_queue WHERE to_addr = :email");
    db_bind_text(st, ":email", email);
    int ok = db_run(st) == R_OK;
    st = db_prepare(w, "DELETE FROM invitations WHERE email = :email");
    db_bind_text(st, ":email", email);
    ok &= db_run(st) == R_OK;
    st = db_prepare(w, "DELETE FROM login_failures WHERE key = :key");
    db_bind_text(st, ":key", throttle);
    ok &= db_run(st) == R_OK;
    return ok ? R_OK : R_INTERNAL;
}

static Result person_erase_apply(Db *w, void *ctx)
{
    Erasure *e = ctx;
    char email[256] = "";
    Stmt *st = db_prepare(w, "SELECT email FROM people WHERE id = :id");
    db_bind_int(st, ":id", e->person);
    if (db_row(st))
        snprintf(email, sizeof email, "%s", db_text(st, 0));
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    char throttle[65];
    auth_token_hash("throttle-account", email, throttle);
    if (delete_by_email(w, email, throttle) != R_OK)
        return R_INTERNAL;
    /* Memberships, organisation roles, group memberships and confirmation
     * tokens go with the person (ON DELETE CASCADE); sessions and login
     * tokens with the user. */
    st = db_prepare(w, "DELETE FROM people WHERE id = :id");
    db_bind_int(st, ":id", e->person);
    int ok = db_run(st) == R_OK;
    st = db_prepare(w, "DELETE FROM users WHERE id = :id");
    db_bind_int(st, ":id", e->user);
    ok &= db_run(st) == R_OK;
    if (!ok)
        return R_INTERNAL;
    return audit_log(w, 0, "account closed and personal data erased",
                     arena_printf(e->r->arena, "person %lld", (long long)e->person), "");
}

Result profile_close_post(Request *r)
{
    int64_t person;
    Result res = own_person(r, &person);
    if (res != R_OK)
        return res;
    if (!checked(r, "confirm")) {
        profile_form(r, person);
        param_error(r, "confirm", N_("Please tick the box to confirm."));
        return R_BAD_REQUEST;
    }
    Erasure e = {.r = r, .person = person, .user = r->user->id};
    if ((res = db_write(r->db, person_erase_apply, &e)) != R_OK)
        return res;
    /* secure_delete zeroed the rows in the pages; copying those pages into
     * the database file and emptying the log removes the older copies. */
    db_checkpoint(r->db);
    r->user = NULL;
    http_set_cookie(r, "session", "", -1);
    r->page = "closed";
    r->title = tr(r, "Your account is closed");
    return R_OK;
}

/* ---- password reset ---- */

Result password_reset_page(Request *r)
{
    r->page = "password_reset";
    r->title = tr(r, "Choose a new password");
    r->data = json_build("{s:s}", "email", "");
    return R_OK;
}

/* What asking for a new password writes: a single-use link and the email
 * that carries it, when the address has an account; nothing otherwise. */
typedef struct {
    Request *r;
    const char *email;
} Reset;

static Result password_reset_apply(Db *w, void *ctx)
{
    Reset *p = ctx;
    Request *r = p->r;
    char path[96];
    Result res = auth_issue_welcome(w, p->email, "reset", 2, path);
    if (res == R_NOT_FOUND)
        return R_OK; /* the same answer whether or not the address has an account */
    if (res != R_OK)
        return res;
    char *body = arena_printf(
        r->arena, "%s\n\n%s\n\n%s\n",
        tr(r, "To choose a new password for Ratify, open this single-use link within two "
              "hours:"),
        link_to(r, path),
        tr(r, "If you did not ask for this, ignore this message: your password has not "
              "changed."));
    return mail_queue(w, p->email, tr(r, "Choose a new password"), body);
}

Result password_reset_post(Request *r)
{
    const char *email = NULL;
    if (param_email(r, "email", &email) != R_OK) {
        password_reset_page(r);
        json_object_set_new(r->data, "email", json_string(param_raw(r, "email")));
        return R_BAD_REQUEST;
    }
    char key[65];
    auth_token_hash("reset-client", r->client, key);
    if (rate_limited(r->db, key, JOIN_LIMIT, JOIN_WINDOW)) {
        password_reset_page(r);
        r->message = tr(r, "Too many requests from your network. Please try again in an hour.");
        r->status = 429;
        return R_OK;
    }
    Reset p = {.r = r, .email = email};
    if (db_write(r->db, password_reset_apply, &p) != R_OK)
        return R_INTERNAL;
    r->page = "password_reset_sent";
    r->title = tr(r, "Check your email");
    return R_OK;
}

/* ---- the API: people, organisations, memberships ---- */

enum { PER_PAGE_DEFAULT = 50, PER_PAGE_MAX = 200 };

typedef struct {
    int64_t page, per_page;
    const char *country, *status, *kind;
} Query;

/* Pagination and filters shared by the list endpoints; bad values are 400
 * with the field named, as for forms. */
static Result read_query(Request *r, Query *q)
{
    memset(q, 0, sizeof *q);
    q->page = 1;
    q->per_page = PER_PAGE_DEFAULT;
    Result res = R_OK;
    if (param_raw(r, "page") && param_int(r, "page", 1, 1000000, &q->page) != R_OK)
        res = R_BAD_REQUEST;
    if (param_raw(r, "per_page") && param_int(r, "per_page", 1, PER_PAGE_MAX, &q->per_page) != R_OK)
        res = R_BAD_REQUEST;
    q->country = param_raw(r, "country");
    if (q->country && !valid_iso3(q->country))
        res = param_error(r, "country", N_("Please choose a country."));
    q->status = param_raw(r, "status");
    if (q->status && !in_list(status_codes, q->status))
        res = param_error(r, "status", N_("Please choose one of the options."));
    q->kind = param_raw(r, "kind");
    if (q->kind && !in_list(kind_codes, q->kind))
        res = param_error(r, "kind", N_("Please choose one of the options."));
    return res;
}

static json_t *page_envelope(Request *r, const Query *q, int64_t total, json_t *items)
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

Result people_api(Request *r)
{
    Query q;
    if (read_query(r, &q) != R_OK)
        return R_BAD_REQUEST;
    Stmt *st = db_prepare(r->db, "SELECT count(*) FROM people WHERE :c IS NULL OR iso3 = :c");
    db_bind_text(st, ":c", q.country);
    int64_t total = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    json_t *items = json_array();
    st = db_prepare(r->db, "SELECT id, name, email, coalesce(iso3, ''), languages, listing, "
                           "created_at, updated_at, user_id IS NOT NULL FROM people "
                           "WHERE :c IS NULL OR iso3 = :c ORDER BY id LIMIT :limit OFFSET :offset");
    db_bind_text(st, ":c", q.country);
    db_bind_int(st, ":limit", q.per_page);
    db_bind_int(st, ":offset", (q.page - 1) * q.per_page);
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    while (db_row(st)) {
        audit_set_add(&seen, "person", db_int(st, 0));
        json_array_append_new(
            items,
            json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:b}", "id",
                       (json_int_t)db_int(st, 0), "name", db_text(st, 1), "email", db_text(st, 2),
                       "country", db_text(st, 3), "languages", db_text(st, 4), "listing",
                       db_text(st, 5), "created_at", (json_int_t)db_int(st, 6), "updated_at",
                       (json_int_t)db_int(st, 7), "has_account", (int)db_int(st, 8)));
    }
    db_done(st);
    if (log_reads(r, "people listed through the API",
                  arena_printf(r->arena, "people page %lld", (long long)q.page), &seen) != R_OK) {
        json_decref(items);
        return R_INTERNAL;
    }
    r->data = page_envelope(r, &q, total, items);
    return R_OK;
}

Result organisations_api(Request *r)
{
    Query q;
    if (read_query(r, &q) != R_OK)
        return R_BAD_REQUEST;
    Stmt *st =
        db_prepare(r->db, "SELECT count(*) FROM organisations WHERE :c IS NULL OR iso3 = :c");
    db_bind_text(st, ":c", q.country);
    int64_t total = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    json_t *items = json_array();
    st = db_prepare(r->db, "SELECT id, name, iso3, org_type, website, languages, listing, "
                           "created_at FROM organisations WHERE :c IS NULL OR iso3 = :c "
                           "ORDER BY id LIMIT :limit OFFSET :offset");
    db_bind_text(st, ":c", q.country);
    db_bind_int(st, ":limit", q.per_page);
    db_bind_int(st, ":offset", (q.page - 1) * q.per_page);
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    while (db_row(st)) {
        audit_set_add(&seen, "organisation", db_int(st, 0));
        json_array_append_new(items, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id",
                                                (json_int_t)db_int(st, 0), "name", db_text(st, 1),
                                                "country", db_text(st, 2), "type", db_text(st, 3),
                                                "website", db_text(st, 4), "languages",
                                                db_text(st, 5), "listing", db_text(st, 6),
                                                "created_at", (json_int_t)db_int(st, 7)));
    }
    db_done(st);
    if (log_reads(r, "organisations listed through the API",
                  arena_printf(r->arena, "organisations page %lld", (long long)q.page),
                  &seen) != R_OK) {
        json_decref(items);
        return R_INTERNAL;
    }
    r->data = page_envelope(r, &q, total, items);
    return R_OK;
}

Result memberships_api(Request *r)
{
    Query q;
    if (read_query(r, &q) != R_OK)
        return R_BAD_REQUEST;
    Stmt *st = db_prepare(r->db, "SELECT count(*) FROM memberships WHERE (:c IS NULL OR iso3 = :c) "
                                 "AND (:s IS NULL OR status = :s) AND (:k IS NULL OR kind = :k)");
    db_bind_text(st, ":c", q.country);
    db_bind_text(st, ":s", q.status);
    db_bind_text(st, ":k", q.kind);
    int64_t total = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    json_t *items = json_array();
    st = db_prepare(
        r->db, "SELECT id, kind, person_id, coalesce(org_id, 0), iso3, status, "
               "confirmed_at IS NOT NULL, consent_updates, created_at, coalesce(decided_at, 0) "
               "FROM memberships WHERE (:c IS NULL OR iso3 = :c) AND (:s IS NULL OR status = :s) "
               "AND (:k IS NULL OR kind = :k) ORDER BY id LIMIT :limit OFFSET :offset");
    db_bind_text(st, ":c", q.country);
    db_bind_text(st, ":s", q.status);
    db_bind_text(st, ":k", q.kind);
    db_bind_int(st, ":limit", q.per_page);
    db_bind_int(st, ":offset", (q.page - 1) * q.per_page);
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    while (db_row(st)) {
        audit_set_add(&seen, "person", db_int(st, 2));
        if (db_int(st, 3))
            audit_set_add(&seen, "organisation", db_int(st, 3));
        json_t *m = json_build("{s:I, s:s, s:I, s:s, s:s, s:b, s:b, s:I}", "id",
                               (json_int_t)db_int(st, 0), "kind", db_text(st, 1), "person_id",
                               (json_int_t)db_int(st, 2), "country", db_text(st, 4), "status",
                               db_text(st, 5), "confirmed", (int)db_int(st, 6), "consent_updates",
                               (int)db_int(st, 7), "created_at", (json_int_t)db_int(st, 8));
        if (db_int(st, 3))
            json_object_set_new(m, "organisation_id", json_integer(db_int(st, 3)));
        json_array_append_new(items, m);
    }
    db_done(st);
    if (log_reads(r, "memberships listed through the API",
                  arena_printf(r->arena, "memberships page %lld", (long long)q.page),
                  &seen) != R_OK) {
        json_decref(items);
        return R_INTERNAL;
    }
    r->data = page_envelope(r, &q, total, items);
    return R_OK;
}

/* POST /api/v1/memberships: the join form's own logic (member_join), with
 * the fields of the form as JSON or form fields. */
Result membership_create_api(Request *r)
{
    JoinRequest j = {0};
    j.kind = param_raw(r, "kind") ? param_raw(r, "kind") : "individual";
    j.name = trimmed_param(r, "name");
    const char *email = trimmed_param(r, "email");
    char *lower = email ? arena_strdup(r->arena, email) : NULL;
    for (char *p = lower; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    j.email = lower;
    j.iso3 = param_raw(r, "country");
    j.languages = param_raw(r, "languages");
    j.org_name = trimmed_param(r, "organisation");
    j.org_type = param_raw(r, "org_type");
    j.website = trimmed_param(r, "website");
    j.listing = param_raw(r, "listing") ? param_raw(r, "listing") : "hidden";
    j.not_government = checked(r, "not_government");
    j.consent_store = checked(r, "consent_store");
    j.consent_updates = checked(r, "consent_updates");
    json_t *groups = r->json_body ? json_object_get(r->json_body, "groups") : NULL;
    if (json_is_array(groups)) {
        size_t n = json_array_size(groups);
        const char **list = arena_alloc(r->arena, (n + 1) * sizeof *list);
        size_t k = 0;
        for (size_t i = 0; i < n && i < 32; i++)
            if (json_is_string(json_array_get(groups, i)))
                list[k++] = arena_strdup(r->arena, json_string_value(json_array_get(groups, i)));
        list[k] = NULL;
        j.groups = list;
    }
    Result res = member_join(r, &j);
    if (res != R_OK)
        return res;
    /* The same answer whether the address was new or known: an API client
     * learns no more than a visitor to the form. */
    r->status = 202;
    r->data = json_build("{s:s}", "status", "accepted: a confirmation email was sent");
    return R_OK;
}

/* ---- an organisation's profile, edited by its contact people ---- */

/* The organisation of the path's {id}, if this user may see it (its
 * listing, through auth_can_see: a hidden one is its own people's and the
 * admins'); R_NOT_FOUND otherwise, before any question of who may edit. */
static Result visible_organisation(Request *r, int64_t person, int64_t *org)
{
    if (param_int(r, "id", 1, INT64_MAX, org) != R_OK)
        return R_NOT_FOUND;
    Stmt *st =
        db_prepare(r->db, "SELECT listing, EXISTS (SELECT 1 FROM org_people WHERE org_id = :org "
                          "AND person_id = :person) FROM organisations WHERE id = :org");
    db_bind_int(st, ":org", *org);
    db_bind_int(st, ":person", person);
    int seen = 0;
    if (db_row(st)) {
        const char *listing = db_text(st, 0);
        seen = auth_can_see(r->user, strcmp(listing, "hidden") ? listing : "private", "",
                            db_int(st, 1) ? r->user->id : 0);
    }
    db_done(st);
    return seen ? R_OK : R_NOT_FOUND;
}

static int is_contact(Request *r, int64_t org, int64_t person)
{
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM org_people WHERE org_id = :org "
                                 "AND person_id = :person AND role = 'contact'");
    db_bind_int(st, ":org", org);
    db_bind_int(st, ":person", person);
    int found = db_row(st);
    db_done(st);
    return found;
}

static Result not_contact(Request *r)
{
    r->message = tr(r, "Only the organisation's contact people can change its profile.");
    return R_FORBIDDEN;
}

/* What a contact person's edit of the organisation writes: its profile
 * and the audit line. That the editor is a contact is checked again in
 * the write (R_FORBIDDEN), so a role taken away meanwhile counts. */
typedef struct {
    Request *r;
    int64_t org, person;
    const char *name, *website, *languages, *listing, *type;
} OrgEdit;

static Result organisation_update_apply(Db *w, void *ctx)
{
    OrgEdit *o = ctx;
    Stmt *st = db_prepare(w, "UPDATE organisations SET name = :name, website = :website, "
                             "languages = :languages, listing = :listing, org_type = :type, "
                             "updated_at = :now WHERE id = :id AND EXISTS (SELECT 1 FROM "
                             "org_people WHERE org_id = :id AND person_id = :person "
                             "AND role = 'contact')");
    db_bind_text(st, ":name", o->name);
    db_bind_text(st, ":website", o->website ? o->website : "");
    db_bind_text(st, ":languages", o->languages ? o->languages : "");
    db_bind_text(st, ":listing", o->listing);
    db_bind_text(st, ":type", o->type);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", o->org);
    db_bind_int(st, ":person", o->person);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_FORBIDDEN;
    return audit_log(w, o->r->user->id, "organisation profile changed",
                     arena_printf(o->r->arena, "organisation %lld", (long long)o->org), "");
}

Result organisation_post(Request *r)
{
    int64_t person, org;
    Result res = own_person(r, &person);
    if (res == R_OK)
        res = visible_organisation(r, person, &org);
    if (res != R_OK)
        return res;
    if (!is_contact(r, org, person))
        return not_contact(r);
    const char *name = NULL, *website = NULL, *languages = NULL;
    int listing = 0, type = 0;
    int bad = param_text(r, "name", 1, 200, 0, &name) != R_OK;
    bad |= param_optional_text(r, "website", 300, 0, &website) != R_OK;
    if (website && *website && strncmp(website, "https://", 8) && strncmp(website, "http://", 7))
        bad |= param_error(r, "website", N_("A web address starts with https://")) != R_OK;
    bad |= param_optional_text(r, "languages", 64, 0, &languages) != R_OK;
    if (languages && !valid_languages(languages))
        bad |= param_error(r, "languages", N_("Please choose one of the options.")) != R_OK;
    bad |= param_enum(r, "listing", listing_codes, &listing) != R_OK;
    bad |= param_enum(r, "org_type", org_type_codes, &type) != R_OK;
    if (bad) {
        profile_form(r, person);
        return R_BAD_REQUEST;
    }
    OrgEdit o = {.r = r,
                 .org = org,
                 .person = person,
                 .name = name,
                 .website = website,
                 .languages = languages,
                 .listing = listing_codes[listing],
                 .type = org_type_codes[type]};
    res = db_write(r->db, organisation_update_apply, &o);
    if (res == R_FORBIDDEN)
        return not_contact(r);
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/profile");
}

/* What a later change of a decided membership writes: its status (only
 * while it is not pending or declined, checked in the write) and the
 * audit line. */
typedef struct {
    Request *r;
    int64_t id;
    const char *status;
} StatusChange;

static Result membership_status_apply(Db *w, void *ctx)
{
    StatusChange *c = ctx;
    Stmt *st = db_prepare(w, "UPDATE memberships SET status = :status, decided_by = :user, "
                             "decided_at = :now WHERE id = :id "
                             "AND status NOT IN ('pending', 'declined')");
    db_bind_text(st, ":status", c->status);
    db_bind_int(st, ":user", c->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", c->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_CONFLICT;
    return audit_log(w, c->r->user->id, "membership status changed",
                     arena_printf(c->r->arena, "membership %lld", (long long)c->id), c->status);
}

/* A decided membership changes status later: it lapses, the member leaves,
 * or it is renewed (active again). Pending ones go through approve or
 * decline, which email the applicant. */
Result admin_member_status_post(Request *r)
{
    int64_t id;
    MembershipRow m;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK || load_membership(r, id, &m) != R_OK ||
        !membership_visible(r, &m))
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, m.iso3))
        return R_FORBIDDEN;
    static const char *const later[] = {"active", "lapsed", "left", NULL};
    int status = 0;
    if (param_enum(r, "status", later, &status) != R_OK) {
        admin_members_page(r);
        return R_BAD_REQUEST;
    }
    StatusChange c = {.r = r, .id = id, .status = later[status]};
    Result res = R_CONFLICT;
    if (strcmp(m.status, "pending") && strcmp(m.status, "declined"))
        res = db_write(r->db, membership_status_apply, &c);
    if (res == R_CONFLICT) {
        r->message = tr(r, "This application has not been approved.");
        return R_CONFLICT;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/admin/members?status=%s", later[status]));
}

/* ---- inviting a colleague to an organisation ---- */

enum { INVITATION_DAYS = 7 };
static const char *const org_roles[] = {"staff", "contact", NULL};

/* What an invitation writes: the invitation (only while the inviter is a
 * contact person, checked in the write), the email that carries its link
 * and the audit line. */
typedef struct {
    Request *r;
    int64_t org, person;
    const char *email, *role, *title;
    char hash[65];              /* of the link's token */
    const char *subject, *body; /* the email, link included */
} Invite;

static Result invitation_create_apply(Db *w, void *ctx)
{
    Invite *v = ctx;
    Stmt *st = db_prepare(
        w, "INSERT INTO invitations (token_hash, org_id, invited_by, email, role, title, "
           "expires_at) SELECT :hash, :org, :user, :email, :role, :title, :expires "
           "WHERE EXISTS (SELECT 1 FROM org_people WHERE org_id = :org "
           "AND person_id = :person AND role = 'contact')");
    db_bind_text(st, ":hash", v->hash);
    db_bind_int(st, ":org", v->org);
    db_bind_int(st, ":user", v->r->user->id);
    db_bind_text(st, ":email", v->email);
    db_bind_text(st, ":role", v->role);
    db_bind_text(st, ":title", v->title ? v->title : "");
    db_bind_int(st, ":expires", now_seconds() + INVITATION_DAYS * 86400);
    db_bind_int(st, ":person", v->person);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_FORBIDDEN;
    if (mail_queue(w, v->email, v->subject, v->body) != R_OK)
        return R_INTERNAL;
    return audit_log(w, v->r->user->id, "colleague invited",
                     arena_printf(v->r->arena, "organisation %lld", (long long)v->org), v->role);
}

/* A contact person invites a colleague by email; the colleague accepts
 * (or not) through the emailed link, so nobody is added without consent. */
Result organisation_invite_post(Request *r)
{
    int64_t person, org;
    Result res = own_person(r, &person);
    if (res == R_OK)
        res = visible_organisation(r, person, &org);
    if (res != R_OK)
        return res;
    if (!is_contact(r, org, person))
        return not_contact(r);
    const char *email = NULL, *title = NULL;
    int role = 0;
    int bad = param_email(r, "email", &email) != R_OK;
    bad |= param_enum(r, "role", org_roles, &role) != R_OK;
    bad |= param_optional_text(r, "title", 200, 0, &title) != R_OK;
    if (bad) {
        profile_form(r, person);
        return R_BAD_REQUEST;
    }
    Invite v = {.r = r,
                .org = org,
                .person = person,
                .email = email,
                .role = org_roles[role],
                .title = title};
    char token[65];
    random_hex(token, 32);
    auth_token_hash("invitation", token, v.hash);
    v.subject = tr(r, "An invitation to join your organisation on Ratify");
    v.body = arena_printf(
        r->arena, "%s\n\n%s\n\n%s\n",
        tr(r, "A colleague invited you to join your organisation's profile in the coalition "
              "for the Optional Protocol, on Ratify. To accept, open this link within 7 days:"),
        link_to(r, arena_printf(r->arena, "/invitations/%s", token)),
        tr(r, "If you do not know what this is about, ignore this message: nothing happens "
              "without you."));
    res = db_write(r->db, invitation_create_apply, &v);
    if (res == R_FORBIDDEN)
        return not_contact(r);
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/profile");
}

typedef struct {
    int64_t id, org;
    const char *email, *role, *title, *org_name, *iso3;
} Invitation;

static Result load_invitation(Request *r, Invitation *inv)
{
    char hash[65];
    auth_token_hash("invitation", param_raw(r, "token") ? param_raw(r, "token") : "", hash);
    Stmt *st = db_prepare(
        r->db, "SELECT i.id, i.org_id, i.email, i.role, i.title, o.name, o.iso3 "
               "FROM invitations i JOIN organisations o ON o.id = i.org_id "
               "WHERE i.token_hash = :hash AND i.used_at IS NULL AND i.expires_at > :now");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":now", now_seconds());
    Result res = R_NOT_FOUND;
    if (db_row(st)) {
        inv->id = db_int(st, 0);
        inv->org = db_int(st, 1);
        inv->email = arena_strdup(r->arena, db_text(st, 2));
        inv->role = arena_strdup(r->arena, db_text(st, 3));
        inv->title = arena_strdup(r->arena, db_text(st, 4));
        inv->org_name = arena_strdup(r->arena, db_text(st, 5));
        inv->iso3 = arena_strdup(r->arena, db_text(st, 6));
        res = R_OK;
    }
    db_done(st);
    if (res != R_OK)
        r->message = tr(r, "This link has expired or was already used.");
    return res;
}

static void invitation_form(Request *r, const Invitation *inv)
{
    json_decref(r->data);
    r->data = json_build("{s:s, s:s, s:s, s:s, s:b, s:o}", "token", param_raw(r, "token"),
                         "organisation", inv->org_name, "email", inv->email, "role", inv->role,
                         "registered", email_registered(r->db, inv->email), "listings",
                         form_options(r, listing_codes, listing_labels, "hidden"));
    r->page = "invitation";
    r->title = tr(r, "An invitation to join your organisation");
}

Result invitation_page(Request *r)
{
    Invitation inv;
    if (load_invitation(r, &inv) != R_OK)
        return R_NOT_FOUND;
    invitation_form(r, &inv);
    return R_OK;
}

/* What accepting an invitation writes: the invitation spent, the role in
 * the organisation and the audit line; for a newcomer, first their user
 * and person, and last a link to choose a password. */
typedef struct {
    Request *r;
    const Invitation *inv;
    int64_t person;             /* a member's own; for a newcomer, out */
    const char *name, *listing; /* a newcomer's */
    char path[96];              /* out: a newcomer's link to choose a password */
} Acceptance;

/* Spends the invitation: R_NOT_FOUND when it was used or expired since it
 * was read, so one link adds one person. */
static Result spend_invitation(Db *w, const Acceptance *a)
{
    int64_t now = now_seconds();
    Stmt *st = db_prepare(w, "UPDATE invitations SET used_at = :now, email = '' WHERE id = :id "
                             "AND used_at IS NULL AND expires_at > :now");
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":id", a->inv->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) == 1 ? R_OK : R_NOT_FOUND;
}

static Result join_organisation(Db *w, const Acceptance *a)
{
    Request *r = a->r;
    Stmt *st = db_prepare(
        w, "INSERT INTO org_people (org_id, person_id, role, title) VALUES (:org, :person, "
           ":role, :title) ON CONFLICT (org_id, person_id) DO UPDATE SET role = excluded.role");
    db_bind_int(st, ":org", a->inv->org);
    db_bind_int(st, ":person", a->person);
    db_bind_text(st, ":role", a->inv->role);
    db_bind_text(st, ":title", a->inv->title);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, r->user ? r->user->id : 0, "invitation accepted",
                     arena_printf(r->arena, "organisation %lld", (long long)a->inv->org),
                     arena_printf(r->arena, "person %lld", (long long)a->person));
}

/* A member who is logged in with the invited address. */
static Result invitation_accept_apply(Db *w, void *ctx)
{
    Acceptance *a = ctx;
    Result res = spend_invitation(w, a);
    return res == R_OK ? join_organisation(w, a) : res;
}

/* A newcomer: R_CONFLICT when the address was registered since the form
 * was shown (then they log in first, as any registered address does). */
static Result invitation_join_apply(Db *w, void *ctx)
{
    Acceptance *a = ctx;
    Result res = spend_invitation(w, a);
    if (res != R_OK)
        return res;
    if (email_registered(w, a->inv->email))
        return R_CONFLICT;
    int64_t now = now_seconds(), user;
    Stmt *st = db_prepare(w, "INSERT INTO users (email, role, created_at) "
                             "VALUES (:email, 'member', :now) RETURNING id");
    db_bind_text(st, ":email", a->inv->email);
    db_bind_int(st, ":now", now);
    if (db_insert(st, &user) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "INSERT INTO people (user_id, name, email, iso3, listing, created_at, "
                       "updated_at) VALUES (:user, :name, :email, :iso3, :listing, :now, :now) "
                       "RETURNING id");
    db_bind_int(st, ":user", user);
    db_bind_text(st, ":name", a->name);
    db_bind_text(st, ":email", a->inv->email);
    db_bind_text(st, ":iso3", a->inv->iso3);
    db_bind_text(st, ":listing", a->listing);
    db_bind_int(st, ":now", now);
    if (db_insert(st, &a->person) != R_OK)
        return R_INTERNAL;
    if ((res = join_organisation(w, a)) != R_OK)
        return res;
    return auth_issue_welcome(w, a->inv->email, "welcome", 1, a->path) == R_OK ? R_OK : R_INTERNAL;
}

/* The answer when the address is registered and the user is not logged
 * in with it. */
static Result log_in_first(Request *r, const Invitation *inv)
{
    invitation_form(r, inv);
    r->message = tr(r, "Please log in with the invited address first.");
    return R_FORBIDDEN;
}

/* Maps what an acceptance's write returned to the answer. */
static Result accepted(Request *r, const Invitation *inv, Result res)
{
    if (res == R_NOT_FOUND) {
        r->message = tr(r, "This link has expired or was already used.");
        return R_NOT_FOUND;
    }
    if (res == R_CONFLICT)
        return log_in_first(r, inv);
    return res == R_OK ? R_OK : R_INTERNAL;
}

/* Accepting: a person who already has an account logs in first (so the
 * link alone never attaches someone else's account); a newcomer gives
 * their name and consent and chooses a password straight away. */
Result invitation_post(Request *r)
{
    Invitation inv;
    if (load_invitation(r, &inv) != R_OK)
        return R_NOT_FOUND;
    Acceptance a = {.r = r, .inv = &inv};
    Result res;
    if (email_registered(r->db, inv.email)) {
        if (!r->user || strcmp(r->user->email, inv.email) != 0)
            return log_in_first(r, &inv);
        if (!(a.person = member_person_id(r)))
            return R_NOT_FOUND;
        if ((res = accepted(r, &inv, db_write(r->db, invitation_accept_apply, &a))) != R_OK)
            return res;
        return http_redirect(r, "/profile");
    }
    int listing = 0;
    int bad = param_text(r, "name", 1, 200, 0, &a.name) != R_OK;
    bad |= param_enum(r, "listing", listing_codes, &listing) != R_OK;
    if (!checked(r, "consent_store"))
        bad |= param_error(r, "consent_store",
                           N_("We can only keep your details with your consent.")) != R_OK;
    if (bad) {
        invitation_form(r, &inv);
        return R_BAD_REQUEST;
    }
    a.listing = listing_codes[listing];
    if ((res = accepted(r, &inv, db_write(r->db, invitation_join_apply, &a))) != R_OK)
        return res;
    /* Straight on to choosing a password: the link was theirs. */
    return http_redirect(r, arena_strdup(r->arena, a.path));
}
