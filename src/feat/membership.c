/*
 * membership.c: memberships, from the application to its end: joining
 * through the form (/join) and the API (POST /api/v1/memberships), both
 * through membership_join; confirmation of the address by email;
 * moderation by the country's coordinators (/admin/members: approve, which
 * opens the member's account, or decline with a reason); later status
 * changes (lapsed, left, renewed); and GET /api/v1/memberships.
 *
 * Invariants: an application is seen and decided only by those
 * visibility_can_see lets see it (its country's coordinators, the admins, the
 * applicant); the answer to a sign-up never tells whether the address was
 * already registered; the audit log names memberships by id only.
 */
#include "feat/membership.h"

#include "feat/account.h"
#include "feat/country_name.h"
#include "feat/group.h"
#include "feat/notification.h"
#include "feat/handlers.h"
#include "feat/member.h"
#include "feat/organisation.h"
#include "feat/person.h"
#include "feat/treaty.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/mail.h"
#include "svc/visibility.h"

enum { CONFIRM_HOURS = 7 * 24, WELCOME_HOURS = 72 };

/* What someone asks for when joining, as typed (validated by membership_join). */
typedef struct {
    const char *kind; /* "individual" or "organisation" */
    const char *name; /* the person's name (the contact, for an organisation) */
    const char *email;
    const char *iso3;
    const char *languages;     /* space-separated codes */
    const char *org_name;      /* organisation only */
    const char *org_type;      /* organisation only: see org_type_codes */
    const char *website;       /* organisation only, optional */
    const char *listing;       /* "public", "members" or "hidden" */
    const char *const *groups; /* working group slugs, NULL-terminated, may be NULL */
    int not_government;        /* must be 1 */
    int consent_store;         /* must be 1 */
    int consent_updates;       /* optional */
} JoinRequest;

/* ---- joining ---- */

static int country_exists(Db *db, const char *iso3)
{
    Stmt *st = db_prepare(db, "SELECT 1 FROM countries WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    int found = db_row(st);
    db_done(st);
    return found;
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
    if (!member_in_list(member_kind_codes, j->kind))
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
    if (!member_valid_languages(j->languages))
        res = param_error(r, "languages", N_("Please choose one of the options."));
    if (!member_in_list(member_listing_codes, j->listing))
        res = param_error(r, "listing", N_("Please choose one of the options."));
    if (org) {
        if (!j->org_name || !*j->org_name)
            res = param_error(r, "org_name", N_("This field is required."));
        else if (!plain_text(j->org_name))
            res = param_error(r, "org_name", N_("This contains characters that are not allowed."));
        else if (text_length(j->org_name) > 200)
            res = param_error(r, "org_name", N_("This is too long."));
        if (!member_in_list(org_type_codes, j->org_type))
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

/* What membership_join writes. Everything that needs no atomicity (the
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

static Result insert_person(Db *w, Join *jn)
{
    const JoinRequest *j = jn->j;
    /* An organisation's contact person is not listed unless they say so
     * on their own profile: the listing choice is the organisation's. */
    return person_insert(w, j->name, j->email, j->iso3, j->languages ? j->languages : "",
                         jn->organisation ? "hidden" : j->listing, jn->now, &jn->person);
}

static Result insert_organisation(Db *w, Join *jn)
{
    const JoinRequest *j = jn->j;
    if (organisation_insert(w, j->org_name, j->iso3, j->org_type, j->website ? j->website : "",
                            j->languages ? j->languages : "", j->listing, jn->now,
                            &jn->org) != R_OK)
        return R_INTERNAL;
    return organisation_add_contact(w, jn->org, jn->person);
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
    if (member_email_registered(w, j->email))
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
        member_link(r, arena_printf(r->arena, "/join/confirm/%s", token)),
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
        member_link(r, "/password/reset"),
        tr(r, "If it was not you, you can ignore this message: nothing was changed."));
}

/* Signs someone up: validates every field (messages per field in r->errors,
 * translated), then in one transaction creates the person, organisation,
 * pending membership and working-group interests and queues the
 * confirmation email with a single-use link. An email that already belongs
 * to someone changes nothing and queues a notice to that address instead;
 * the result is the same R_OK, so the response never reveals which.
 * Returns R_OK, R_BAD_REQUEST (errors set) or R_INTERNAL. */
static Result membership_join(Request *r, const JoinRequest *j)
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

static const char *trimmed_param(Request *r, const char *name)
{
    const char *v = NULL;
    if (param_optional_text(r, name, 100000, 0, &v) != R_OK)
        return param_raw(r, name); /* raw: shown again; validate_join reports it */
    return v;
}

static void join_form(Request *r, const JoinRequest *j)
{
    r->page = "join";
    r->title = tr(r, "Join the coalition");
    json_t *typed = json_build(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b}", "name", j->name ? j->name : "",
        "email", j->email ? j->email : "", "languages", j->languages ? j->languages : "",
        "org_name", j->org_name ? j->org_name : "", "website", j->website ? j->website : "", "kind",
        j->kind ? j->kind : "individual", "is_organisation",
        j->kind && strcmp(j->kind, "organisation") == 0, "not_government", j->not_government,
        "consent_store", j->consent_store, "consent_updates", j->consent_updates);
    json_decref(r->data);
    r->data = json_build("{s:o, s:o, s:o, s:o, s:o, s:o}", "form", typed, "countries",
                         member_country_options(r, j->iso3), "org_types",
                         form_options(r, org_type_codes, org_type_labels, j->org_type), "listings",
                         form_options(r, member_listing_codes, member_listing_labels, j->listing),
                         "groups", member_group_options(r, j->groups), "languages_offered",
                         member_language_options(j->languages));
    static const FormField fields[] = {
        {"kind", "kind-individual", N_("I am joining")},
        {"name", "name", N_("Your name")},
        {"email", "email", N_("Email")},
        {"iso3", "iso3", N_("Country")},
        {"languages", "languages", N_("Languages you work in")},
        {"org_name", "org_name", N_("Name of the organisation")},
        {"org_type", "org_type", N_("Type of organisation")},
        {"website", "website", N_("Website (optional)")},
        {"groups", "groups", N_("Working groups you are interested in")},
        {"listing", "listing", N_("Who can see that you are a member")},
        {"not_government", "not_government", N_("Not a government body")},
        {"consent_store", "consent_store", N_("Consent to store your details")},
        {NULL, NULL, NULL}};
    json_t *summary = form_error_summary(r, fields);
    json_object_set_new(r->data, "has_error_summary", json_boolean(json_array_size(summary) > 0));
    json_object_set_new(r->data, "error_summary", summary);
    if (!r->is_api) {
        Campaign c = treaty_campaign(r->db);
        json_object_set_new(r->data, "campaign", treaty_campaign_json(r, &c));
    }
}

Result membership_join_page(Request *r)
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

Result membership_join_post(Request *r)
{
    JoinRequest j = {0};
    /* kind, iso3, org_type and listing are checked by validate_join, which
     * the API shares, after the honeypot. */
    j.kind = param_raw(r, "kind"); /* raw: validate_join checks it */
    j.name = trimmed_param(r, "name");
    const char *email = trimmed_param(r, "email");
    char *lower = email ? arena_strdup(r->arena, email) : NULL;
    for (char *p = lower; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    j.email = lower;
    j.iso3 = param_raw(r, "iso3"); /* raw: validate_join checks it */
    const char **langs = all_values(r, "languages");
    Buf joined = {0};
    for (int i = 0; langs[i]; i++)
        buf_printf(&joined, "%s%s", i ? " " : "", langs[i]);
    j.languages = arena_strdup(r->arena, joined.data ? joined.data : "");
    buf_free(&joined);
    j.org_name = trimmed_param(r, "org_name");
    j.org_type = param_raw(r, "org_type"); /* raw: validate_join checks it */
    j.website = trimmed_param(r, "website");
    j.listing = param_raw(r, "listing"); /* raw: validate_join checks it */
    j.groups = all_values(r, "groups");
    j.not_government = member_checked(r, "not_government");
    j.consent_store = member_checked(r, "consent_store");
    j.consent_updates = member_checked(r, "consent_updates");

    /* A bot that fills the hidden field is told it worked. */
    const char *honeypot = param_raw(r, "homepage"); /* raw: only empty or not matters */
    if (honeypot && *honeypot) {
        join_done(r);
        return R_OK;
    }
    char key[65];
    auth_token_hash("join-client", r->client, key);
    if (member_rate_limited(r->db, key, JOIN_LIMIT, JOIN_WINDOW)) {
        join_form(r, &j);
        r->message = tr(r, "Too many applications from your network. Please try again in an "
                           "hour.");
        r->status = 429;
        return R_OK;
    }
    Result res = membership_join(r, &j);
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

Result membership_confirm_page(Request *r)
{
    const char *token = NULL;
    if (param_token(r, "token", &token) != R_OK || !confirm_token_valid(r, token)) {
        r->message = tr(r, "This link has expired or was already used.");
        return R_NOT_FOUND;
    }
    r->page = "join_confirm";
    r->title = tr(r, "Confirm your application");
    r->data = json_build("{s:s}", "token", token);
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
    /* The application now waits for a decision: its coordinators hear of it. */
    if (notification_application_confirmed(w, membership, c->r->base_url) != R_OK)
        return R_INTERNAL;
    return audit_log(w, 0, "membership confirmed",
                     arena_printf(c->r->arena, "membership %lld", (long long)membership), "");
}

Result membership_confirm_post(Request *r)
{
    Confirm c = {.r = r};
    const char *token = NULL;
    if (param_token(r, "token", &token) != R_OK) {
        r->message = tr(r, "This link has expired or was already used.");
        return R_NOT_FOUND;
    }
    auth_token_hash("confirm", token, c.hash);
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

/* ---- moderation ---- */

static const char *const status_labels[] = {N_("Pending"), N_("Active"),   N_("Lapsed"),
                                            N_("Left"),    N_("Declined"), NULL};

/* After a decision, what happened, said on the list the coordinator is sent
 * back to (?approved=ID or ?declined=ID): the name, if they may see it. */
static const char *decision_message(Request *r)
{
    int64_t id = 0;
    int approved = 1;
    if (param_optional_int(r, "approved", 1, INT64_MAX, 0, &id) != R_OK || !id) {
        approved = 0;
        if (param_optional_int(r, "declined", 1, INT64_MAX, 0, &id) != R_OK || !id)
            return NULL;
    }
    Stmt *st = db_prepare(r->db, "SELECT p.name, m.iso3, m.status FROM memberships m "
                                 "JOIN people p ON p.id = m.person_id WHERE m.id = :id");
    db_bind_int(st, ":id", id);
    const char *message = NULL;
    if (db_row(st) && auth_covers_country(r->user, db_text(st, 1)) &&
        strcmp(db_text(st, 2), approved ? "active" : "declined") == 0)
        message = arena_printf(
            r->arena, "%s: %s", db_text(st, 0),
            approved ? tr(r, "now a member. A single-use link to choose a password was emailed.")
                     : tr(r, "application declined. The reason was emailed."));
    db_done(st);
    return message;
}

Result membership_admin_page(Request *r)
{
    const char *status = param_filter(r, "status", member_status_codes);
    if (!status)
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
        const char *country = country_name_of(r, iso3);
        json_object_set_new(json_array_get(list, json_array_size(list) - 1), "country",
                            json_string(country ? country : iso3));
    }
    db_done(st);
    if (member_log_reads(r, "membership applications viewed",
                         arena_printf(r->arena, "memberships %s", status), &seen) != R_OK) {
        json_decref(list);
        return R_INTERNAL;
    }
    r->page = "admin_members";
    r->title = tr(r, "Membership applications");
    if (!r->message && strcmp(r->method, "GET") == 0) {
        r->message = decision_message(r);
        json_decref(r->errors); /* a bad ?approved= is ignored, not reported */
        r->errors = NULL;
    }
    r->data =
        json_build("{s:o, s:o, s:s}", "members", list, "statuses",
                   form_options(r, member_status_codes, status_labels, status), "status", status);
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
 * level), the admins and the applicant: the one rule, visibility_can_see. */
static int membership_visible(Request *r, const MembershipRow *m)
{
    return visibility_can_see(r->user, "steering", m->iso3, m->user_id);
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
    if (!m->user_id && (account_ensure_member(w, m->email, now_seconds()) != R_OK ||
                        person_link_user(w, m->person_id, m->email) != R_OK))
        return R_INTERNAL;
    return auth_issue_welcome(w, m->email, "welcome", WELCOME_HOURS, path);
}

static Result membership_approve_apply(Db *w, void *ctx)
{
    Decision *d = ctx;
    Request *r = d->r;
    char path[96];
    Result res;
    if ((res = set_status(w, d, "active")) != R_OK || (res = open_account(w, d->m, path)) != R_OK ||
        /* The working groups ticked on the join form: joined now, not
         * before (an applicant is not yet a member). */
        (res = group_join_interests(w, r, d->m->id, d->m->person_id)) != R_OK)
        return res;
    /* The link is made in the write, so the email is written here. */
    char *body = arena_printf(
        r->arena, "%s\n\n%s\n%s\n\n%s\n", tr(r, "Welcome: your membership has been approved."),
        tr(r, "Choose your password within 3 days with this single-use link:"),
        member_link(r, path), tr(r, "After that, log in at any time with your email address."));
    return mail_queue(w, d->m->email, tr(r, "Welcome to the coalition"), body);
}

Result membership_approve_post(Request *r)
{
    MembershipRow m;
    Result res = decidable(r, &m);
    if (res != R_OK)
        return res;
    Decision d = {.r = r, .m = &m};
    if ((res = db_write(r->db, membership_approve_apply, &d)) != R_OK)
        return res;
    return http_redirect(r,
                         arena_printf(r->arena, "/admin/members?approved=%lld", (long long)m.id));
}

static Result membership_decline_apply(Db *w, void *ctx)
{
    Decision *d = ctx;
    Result res = set_status(w, d, "declined");
    return res == R_OK ? mail_queue(w, d->m->email, d->subject, d->body) : res;
}

Result membership_decline_post(Request *r)
{
    MembershipRow m;
    Result res = decidable(r, &m);
    if (res != R_OK)
        return res;
    const char *reason = NULL;
    if (param_text(r, "reason", 3, 2000, 1, &reason) != R_OK) {
        membership_admin_page(r);
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
    return http_redirect(r,
                         arena_printf(r->arena, "/admin/members?declined=%lld", (long long)m.id));
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
Result membership_status_post(Request *r)
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
        membership_admin_page(r);
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

/* ---- the API ---- */

Result membership_list_api(Request *r)
{
    MemberQuery q;
    if (member_read_query(r, &q) != R_OK)
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
    if (member_log_reads(r, "memberships listed through the API",
                         arena_printf(r->arena, "memberships page %lld", (long long)q.page),
                         &seen) != R_OK) {
        json_decref(items);
        return R_INTERNAL;
    }
    r->data = member_page_envelope(r, &q, total, items);
    return R_OK;
}

/* POST /api/v1/memberships: the join form's own logic (membership_join), with
 * the fields of the form as JSON or form fields. */
Result membership_create_api(Request *r)
{
    JoinRequest j = {0};
    /* kind, country, languages, org_type and listing are checked by
     * validate_join, as for the form. */
    /* raw: validate_join checks it */
    j.kind = param_raw(r, "kind") ? param_raw(r, "kind") : "individual";
    j.name = trimmed_param(r, "name");
    const char *email = trimmed_param(r, "email");
    char *lower = email ? arena_strdup(r->arena, email) : NULL;
    for (char *p = lower; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    j.email = lower;
    j.iso3 = param_raw(r, "country");        /* raw: validate_join checks it */
    j.languages = param_raw(r, "languages"); /* raw: validate_join checks it */
    j.org_name = trimmed_param(r, "organisation");
    j.org_type = param_raw(r, "org_type"); /* raw: validate_join checks it */
    j.website = trimmed_param(r, "website");
    /* raw: validate_join checks it */
    j.listing = param_raw(r, "listing") ? param_raw(r, "listing") : "hidden";
    j.not_government = member_checked(r, "not_government");
    j.consent_store = member_checked(r, "consent_store");
    j.consent_updates = member_checked(r, "consent_updates");
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
    Result res = membership_join(r, &j);
    if (res != R_OK)
        return res;
    /* The same answer whether the address was new or known: an API client
     * learns no more than a visitor to the form. */
    r->status = 202;
    r->data = json_build("{s:s}", "status", "accepted: a confirmation email was sent");
    return R_OK;
}

/* ---- writes of the member import ---- */

Result membership_import_insert(Db *w, const char *kind, int64_t person, int64_t org,
                                const char *iso3, const char *status, int64_t now, int updates,
                                int64_t created)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO memberships (kind, person_id, org_id, iso3, status, not_government, "
           "consent_store_at, consent_updates, created_at) VALUES (:kind, :person, :org, "
           ":iso3, :status, 1, :now, :updates, :created)");
    db_bind_text(st, ":kind", kind);
    db_bind_int(st, ":person", person);
    if (org)
        db_bind_int(st, ":org", org);
    else
        db_bind_null(st, ":org");
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":status", status);
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":updates", updates);
    db_bind_int(st, ":created", created);
    Result rc = db_run(st);
    return rc == R_OK ? R_OK : R_INTERNAL;
}

Result membership_import_merge(Db *w, int64_t id, const char *iso3, const char *status, int updates,
                               int64_t created)
{
    Stmt *st = db_prepare(w, "UPDATE memberships SET iso3 = :iso3, status = :status, "
                             "consent_updates = :updates, created_at = :created WHERE id = :id");
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":status", status);
    db_bind_int(st, ":updates", updates);
    db_bind_int(st, ":created", created);
    db_bind_int(st, ":id", id);
    Result rc = db_run(st);
    return rc == R_OK ? R_OK : R_INTERNAL;
}

/* ---- the hourly cleanup ---- */

static Result confirm_tokens_expire_apply(Db *w, void *ctx)
{
    int64_t now = *(const int64_t *)ctx;
    Stmt *st =
        db_prepare(w, "DELETE FROM confirm_tokens WHERE used_at IS NOT NULL OR expires_at < :now");
    db_bind_int(st, ":now", now);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result membership_expire(Db *db, const char *base_url)
{
    (void)base_url; /* an hourly job's signature: no links here */
    int64_t now = now_seconds();
    return db_write(db, confirm_tokens_expire_apply, &now);
}
