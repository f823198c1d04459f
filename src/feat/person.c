/*
 * person.c: people as other members see them: the directory at /members
 * (active members only, each as they chose to be listed) and, for API
 * tokens with the right to read, GET /api/v1/people with contact details.
 *
 * Invariants: a member appears in the directory only where
 * member_listing_visible allows, the others are only counted; every
 * non-public person or organisation shown, and every person the API
 * lists, is a read in the audit log (ids only).
 */
#include "feat/handlers.h"
#include "feat/member.h"
#include "feat/person.h"

#include <string.h>

#include "svc/audit.h"

/* ---- the directory ---- */

/* Filters: country, type (an org type or "individual"), working group,
 * language. Only active members, and only as each chose to be listed. */
Result person_directory_page(Request *r)
{
    /* Filters come from links people edit: a bad one is ignored. */
    const char *iso3 = NULL, *group = NULL, *lang = NULL;
    if (param_optional_iso3(r, "country", &iso3) != R_OK)
        iso3 = NULL;
    const char *type = param_filter(r, "type", org_type_codes);
    if (!type)
        type = param_filter(r, "type", (const char *const[]){"individual", NULL});
    if (param_optional_text(r, "group", 100, 0, &group) != R_OK)
        group = NULL;
    if (param_optional_text(r, "language", 3, 0, &lang) != R_OK || !lang || strlen(lang) < 2 ||
        !member_valid_languages(lang))
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
        "coalesce(n.name, e.name), coalesce(o.id, 0) FROM memberships m JOIN people p ON p.id = "
        "m.person_id "
        "LEFT JOIN organisations o ON o.id = m.org_id "
        "LEFT JOIN country_names n ON n.iso3 = m.iso3 AND n.lang = :lang "
        "JOIN country_names e ON e.iso3 = m.iso3 AND e.lang = 'en' "
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
    if (member_log_reads(r, "members directory viewed", "directory", &seen) != R_OK) {
        json_decref(list);
        return R_INTERNAL;
    }
    r->page = "members";
    r->title = tr(r, "Members");
    r->data = json_build("{s:o, s:i, s:o, s:o, s:o}", "members", list, "unlisted", unlisted,
                         "countries", member_country_options(r, iso3), "types",
                         form_options(r, org_type_codes, org_type_labels, type), "groups",
                         member_group_options(r, (const char *const[]){group, NULL}));
    json_object_set_new(r->data, "individual_selected",
                        json_boolean(type && strcmp(type, "individual") == 0));
    json_object_set_new(r->data, "language", json_string(lang ? lang : ""));
    return R_OK;
}

/* ---- the API ---- */

Result person_list_api(Request *r)
{
    MemberQuery q;
    if (member_read_query(r, &q) != R_OK)
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
    if (member_log_reads(r, "people listed through the API",
                         arena_printf(r->arena, "people page %lld", (long long)q.page),
                         &seen) != R_OK) {
        json_decref(items);
        return R_INTERNAL;
    }
    r->data = member_page_envelope(r, &q, total, items);
    return R_OK;
}

/* ---- writes, for the files that create, change or erase a person ---- */

Result person_insert(Db *w, const char *name, const char *email, const char *iso3,
                     const char *languages, const char *listing, int64_t now, int64_t *id)
{
    Stmt *st = db_prepare(w, "INSERT INTO people (name, email, iso3, languages, listing, "
                             "created_at, updated_at) VALUES (:name, :email, :iso3, :languages, "
                             ":listing, :now, :now) RETURNING id");
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":email", email);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":languages", languages);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", now);
    return db_insert(st, id) == R_OK ? R_OK : R_INTERNAL;
}

Result person_import_insert(Db *w, const char *name, const char *email, const char *iso3,
                            const char *languages, const char *listing, int64_t now, int64_t *id)
{
    Stmt *st =
        db_prepare(w, "INSERT INTO people (name, email, iso3, languages, listing, created_at, "
                      "updated_at) VALUES (:name, :email, :iso3, :languages, :listing, :now, :now) "
                      "ON CONFLICT (email) DO NOTHING RETURNING id");
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":email", email);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":languages", languages);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", now);
    *id = db_row(st) ? db_int(st, 0) : 0;
    return db_done(st);
}

Result person_import_merge(Db *w, int64_t person, const char *name, const char *iso3,
                           const char *languages, const char *listing, int64_t now)
{
    Stmt *st =
        db_prepare(w, "UPDATE people SET name = :name, iso3 = :iso3, languages = :languages, "
                      "listing = :listing, updated_at = :now WHERE id = :id");
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":languages", languages);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":id", person);
    return db_run(st);
}

Result person_insert_for_user(Db *w, int64_t user, const char *name, const char *email,
                              const char *iso3, const char *listing, int64_t now, int64_t *id)
{
    Stmt *st =
        db_prepare(w, "INSERT INTO people (user_id, name, email, iso3, listing, created_at, "
                      "updated_at) VALUES (:user, :name, :email, :iso3, :listing, :now, :now) "
                      "RETURNING id");
    db_bind_int(st, ":user", user);
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":email", email);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", now);
    return db_insert(st, id) == R_OK ? R_OK : R_INTERNAL;
}

Result person_link_user(Db *w, int64_t person, const char *email)
{
    Stmt *st = db_prepare(w, "UPDATE people SET user_id = "
                             "(SELECT id FROM users WHERE email = :email) WHERE id = :person");
    db_bind_text(st, ":email", email);
    db_bind_int(st, ":person", person);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result person_update_profile(Db *w, int64_t person, const char *name, const char *languages,
                             const char *listing, int64_t now)
{
    Stmt *st =
        db_prepare(w, "UPDATE people SET name = :name, languages = :languages, listing = :listing, "
                      "updated_at = :now WHERE id = :id");
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":languages", languages);
    db_bind_text(st, ":listing", listing);
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":id", person);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) == 0 ? R_NOT_FOUND : R_OK;
}

Result person_delete(Db *w, int64_t person)
{
    Stmt *st = db_prepare(w, "DELETE FROM people WHERE id = :id");
    db_bind_int(st, ":id", person);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}
