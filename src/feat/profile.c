/*
 * profile.c: a member's own record: /profile (their details, listing
 * choice, organisations and memberships, who looked at them), the export
 * of everything Ratify holds about them (/profile/export). Closing the
 * account is erasure.c's (it writes the tables of several owners).
 *
 * Invariants: only the person's own record is shown or changed (the
 * user's person id, never one from the request).
 */
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "feat/member.h"
#include "feat/person.h"
#include "feat/profile.h"

#include <stdlib.h>
#include <string.h>

#include "svc/audit.h"
#include "svc/auth.h"

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
/* Codes in the reader's words (issue 14: the profile said "individual
 * AGO: active"). */
static const char *const kind_codes[] = {"individual", "organisation", NULL};
static const char *const kind_labels[] = {N_("Individual"), N_("Organisation"), NULL};
static const char *const status_labels[] = {N_("Pending"), N_("Active"),   N_("Lapsed"),
                                            N_("Left"),    N_("Declined"), NULL};
static const char *const org_role_codes[] = {"contact", "staff", NULL};
static const char *const org_role_labels[] = {N_("Contact person"), N_("Staff"), NULL};

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
        json_object_set_new(
            o, "role_label",
            json_string(tr(r, code_label(org_role_codes, org_role_labels, db_text(st, 6)))));
        if (forms) {
            json_object_set_new(
                o, "listings",
                form_options(r, member_listing_codes, member_listing_labels, db_text(st, 5)));
            json_object_set_new(o, "org_types",
                                form_options(r, org_type_codes, org_type_labels, db_text(st, 3)));
        }
        json_array_append_new(list, o);
    }
    db_done(st);
    return list;
}

static json_t *membership_words(Request *r, json_t *m)
{
    const char *iso3 = json_string_value(json_object_get(m, "iso3"));
    const char *country = iso3 ? country_name_of(r, iso3) : NULL;
    json_object_set_new(
        m, "kind_label",
        json_string(tr(r, code_label(kind_codes, kind_labels,
                                     json_string_value(json_object_get(m, "kind"))))));
    json_object_set_new(
        m, "status_label",
        json_string(tr(r, code_label(member_status_codes, status_labels,
                                     json_string_value(json_object_get(m, "status"))))));
    json_object_set_new(m, "country", json_string(country ? country : (iso3 ? iso3 : "")));
    return m;
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
        json_array_append_new(
            list, membership_words(r, json_build("{s:I, s:s, s:s, s:s, s:I, s:b, s:s}", "id",
                                                 (json_int_t)db_int(st, 0), "kind", db_text(st, 1),
                                                 "iso3", db_text(st, 2), "status", db_text(st, 3),
                                                 "created_at", (json_int_t)db_int(st, 4),
                                                 "consent_updates", (int)db_int(st, 5),
                                                 "organisation", db_text(st, 6))));
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

Result profile_form(Request *r, int64_t person)
{
    json_t *p = person_json(r, person);
    if (!p)
        return R_NOT_FOUND;
    const char *listing = json_string_value(json_object_get(p, "listing"));
    json_decref(r->data);
    r->data = json_build("{s:o, s:o, s:o, s:o, s:o}", "person", p, "listings",
                         form_options(r, member_listing_codes, member_listing_labels, listing),
                         "organisations", person_organisations(r, person, 1), "memberships",
                         person_memberships(r, person), "countries",
                         member_country_options(r, json_string_value(json_object_get(p, "iso3"))));
    int more;
    json_object_set_new(r->data, "seen", audit_views_of(r, person, 5, 0, &more));
    r->page = "profile";
    r->title = tr(r, "Your profile");
    return R_OK;
}

Result profile_own_person(Request *r, int64_t *person)
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
    Result res = profile_own_person(r, &person);
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
    Result res = person_update_profile(w, p->person, p->name, p->languages ? p->languages : "",
                                       p->listing, now_seconds());
    if (res != R_OK)
        return res; /* R_NOT_FOUND: the account was closed meanwhile */
    return audit_log(w, p->r->user->id, "profile changed",
                     arena_printf(p->r->arena, "person %lld", (long long)p->person), "");
}

Result profile_post(Request *r)
{
    int64_t person;
    Result res = profile_own_person(r, &person);
    if (res != R_OK)
        return res;
    const char *name = NULL, *languages = NULL;
    int listing = 0;
    int bad = param_text(r, "name", 1, 200, 0, &name) != R_OK;
    bad |= param_optional_text(r, "languages", 64, 0, &languages) != R_OK;
    if (languages && !member_valid_languages(languages))
        bad |= param_error(r, "languages", N_("Please choose one of the options.")) != R_OK;
    bad |= param_enum(r, "listing", member_listing_codes, &listing) != R_OK;
    if (bad) {
        profile_form(r, person);
        return R_BAD_REQUEST;
    }
    ProfileEdit p = {.r = r,
                     .person = person,
                     .name = name,
                     .languages = languages,
                     .listing = member_listing_codes[listing]};
    res = db_write(r->db, profile_update_apply, &p);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, "/profile");
}

/* Everything Ratify holds about the member, as one JSON document. */
Result profile_export_page(Request *r)
{
    int64_t person;
    Result res = profile_own_person(r, &person);
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
