/*
 * organisation.c: member organisations: their profile, edited by their
 * contact people from /profile (/profile/organisations/{id}), and, for API
 * tokens with the right to read, GET /api/v1/organisations. Inviting
 * colleagues is invitation.c's.
 *
 * Invariants: an organisation is looked at only after visibility_can_see said
 * its listing may be seen (404 otherwise), and changed only by its
 * contact people, checked again in the write; every organisation the API
 * lists is a read in the audit log.
 */
#include "feat/handlers.h"
#include "feat/member.h"
#include "feat/organisation.h"
#include "feat/profile.h"

#include <string.h>

#include "svc/audit.h"
#include "svc/visibility.h"

/* The organisation of the path's {id}, if this user may see it (its
 * listing, through visibility_can_see: a hidden one is its own people's and the
 * admins'); R_NOT_FOUND otherwise, before any question of who may edit. */
Result organisation_visible(Request *r, int64_t person, int64_t *org)
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
        seen = visibility_can_see(r->user, strcmp(listing, "hidden") ? listing : "private", "",
                                  db_int(st, 1) ? r->user->id : 0);
    }
    db_done(st);
    return seen ? R_OK : R_NOT_FOUND;
}

int organisation_is_contact(Request *r, int64_t org, int64_t person)
{
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM org_people WHERE org_id = :org "
                                 "AND person_id = :person AND role = 'contact'");
    db_bind_int(st, ":org", org);
    db_bind_int(st, ":person", person);
    int found = db_row(st);
    db_done(st);
    return found;
}

Result organisation_not_contact(Request *r)
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
    Result res = profile_own_person(r, &person);
    if (res == R_OK)
        res = organisation_visible(r, person, &org);
    if (res != R_OK)
        return res;
    if (!organisation_is_contact(r, org, person))
        return organisation_not_contact(r);
    const char *name = NULL, *website = NULL, *languages = NULL;
    int listing = 0, type = 0;
    int bad = param_text(r, "name", 1, 200, 0, &name) != R_OK;
    bad |= param_optional_text(r, "website", 300, 0, &website) != R_OK;
    if (website && *website && strncmp(website, "https://", 8) && strncmp(website, "http://", 7))
        bad |= param_error(r, "website", N_("A web address starts with https://")) != R_OK;
    bad |= param_optional_text(r, "languages", 64, 0, &languages) != R_OK;
    if (languages && !member_valid_languages(languages))
        bad |= param_error(r, "languages", N_("Please choose one of the options.")) != R_OK;
    bad |= param_enum(r, "listing", member_listing_codes, &listing) != R_OK;
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
                 .listing = member_listing_codes[listing],
                 .type = org_type_codes[type]};
    res = db_write(r->db, organisation_update_apply, &o);
    if (res == R_FORBIDDEN)
        return organisation_not_contact(r);
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/profile");
}

/* ---- the API ---- */

Result organisation_list_api(Request *r)
{
    MemberQuery q;
    if (member_read_query(r, &q) != R_OK)
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
    if (member_log_reads(r, "organisations listed through the API",
                         arena_printf(r->arena, "organisations page %lld", (long long)q.page),
                         &seen) != R_OK) {
        json_decref(items);
        return R_INTERNAL;
    }
    r->data = member_page_envelope(r, &q, total, items);
    return R_OK;
}

/* ---- writes, for the files that create organisations or add people ---- */

Result organisation_insert(Db *w, const char *name, const char *iso3, const char *type,
                           const char *website, const char *languages, const char *listing,
                           int64_t now, int64_t *id)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO organisations (name, iso3, org_type, website, languages, listing, "
           "created_at, updated_at) VALUES (:name, :iso3, :type, :website, :languages, "
           ":listing, :now, :now) RETURNING id");
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":type", type);
    db_bind_text(st, ":website", website);
    db_bind_text(st, ":languages", languages);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", now);
    return db_insert(st, id) == R_OK ? R_OK : R_INTERNAL;
}

Result organisation_add_contact(Db *w, int64_t org, int64_t person)
{
    Stmt *st = db_prepare(w, "INSERT INTO org_people (org_id, person_id, role) "
                             "VALUES (:org, :person, 'contact')");
    db_bind_int(st, ":org", org);
    db_bind_int(st, ":person", person);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result organisation_import_add_contact(Db *w, int64_t org, int64_t person)
{
    Stmt *st = db_prepare(w, "INSERT INTO org_people (org_id, person_id, role) "
                             "VALUES (:org, :person, 'contact') ON CONFLICT DO NOTHING");
    db_bind_int(st, ":org", org);
    db_bind_int(st, ":person", person);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result organisation_import_merge(Db *w, int64_t id, const char *iso3, const char *type,
                                 const char *website, const char *languages, const char *listing,
                                 int64_t now)
{
    Stmt *st = db_prepare(
        w, "UPDATE organisations SET iso3 = :iso3, org_type = :type, website = :website, "
           "languages = :languages, listing = :listing, updated_at = :now WHERE id = :id");
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":type", type);
    db_bind_text(st, ":website", website);
    db_bind_text(st, ":languages", languages);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":id", id);
    Result rc = db_run(st);
    return rc == R_OK ? R_OK : R_INTERNAL;
}

Result organisation_set_role(Db *w, int64_t org, int64_t person, const char *role,
                             const char *title)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO org_people (org_id, person_id, role, title) VALUES (:org, :person, "
           ":role, :title) ON CONFLICT (org_id, person_id) DO UPDATE SET role = excluded.role");
    db_bind_int(st, ":org", org);
    db_bind_int(st, ":person", person);
    db_bind_text(st, ":role", role);
    db_bind_text(st, ":title", title);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}
