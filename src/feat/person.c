/*
 * person.c: people as other members see them: the directory at /members
 * (active members only, each as they chose to be listed) and, for API
 * tokens with the right to read, GET /api/v1/people with contact details.
 *
 * Invariants: a member appears in the directory only where the one
 * visibility rule lets the viewer see their listing (VISIBILITY_SQL, in
 * the query, the twin of member_listing_visible), the others are only
 * counted; every
 * non-public person or organisation shown, and every person the API
 * lists, is a read in the audit log (ids only).
 */
#include "feat/handlers.h"
#include "feat/member.h"
#include "feat/person.h"

#include <string.h>

#include "svc/audit.h"
#include "svc/visibility.h"

/* ---- the directory ---- */

/* Rows per page of the directory. */
enum { DIRECTORY_PER_PAGE = 50 };

/* The directory's filters (NULL: any) and page; bad values are ignored,
 * since they come from links people edit. */
typedef struct {
    const char *iso3, *type, *group, *lang;
    int64_t page;
} DirectoryFilter;

static void directory_filter(Request *r, DirectoryFilter *f)
{
    memset(f, 0, sizeof *f);
    if (param_optional_iso3(r, "country", &f->iso3) != R_OK)
        f->iso3 = NULL;
    f->type = param_filter(r, "type", org_type_codes);
    if (!f->type)
        f->type = param_filter(r, "type", (const char *const[]){"individual", NULL});
    if (param_optional_text(r, "group", 100, 0, &f->group) != R_OK || (f->group && !*f->group))
        f->group = NULL;
    if (param_optional_text(r, "language", 3, 0, &f->lang) != R_OK || !f->lang ||
        strlen(f->lang) < 2 || !member_valid_languages(f->lang))
        f->lang = NULL;
    if (param_optional_int(r, "page", 1, 1000000, 1, &f->page) != R_OK)
        f->page = 1;
}

/* Binds the filters, the viewer and the request's language on a query
 * over the directory's rows (see directory_count). */
static void directory_bind(Request *r, Stmt *st, const DirectoryFilter *f)
{
    db_bind_text(st, ":lang", r->lang);
    db_bind_text(st, ":iso3", f->iso3);
    db_bind_text(st, ":type", f->type);
    db_bind_text(st, ":grp", f->group);
    db_bind_text(st, ":language", f->lang);
    visibility_bind(st, r->user);
}

/* The directory's rows are the active memberships matching the filters;
 * a row is listed where the one visibility rule lets the viewer see its
 * listing (VISIBILITY_SQL), read as a visibility: "hidden" is "private",
 * seen by the admins and by the person themself (the author, through
 * their account), as member_listing_visible has it for one record. An
 * organisation's row is the organisation's listing and has no author.
 * The subselect "vis" below is the same text in both queries: keep them
 * in step. Fills the rows listed and those that match but are not. */
static Result directory_count(Request *r, const DirectoryFilter *f, int64_t *listed,
                              int64_t *unlisted)
{
    Stmt *st = db_prepare(
        r->db,
        "SELECT count(*), coalesce(sum(CASE WHEN " VISIBILITY_SQL " THEN 1 ELSE 0 END), 0) FROM "
        "(SELECT m.id AS membership_id, m.kind, m.iso3 AS member_iso3, p.id AS person_id, "
        "p.name AS person_name, coalesce(o.id, 0) AS org_id, coalesce(o.name, '') AS org_name, "
        "coalesce(o.org_type, '') AS org_type, coalesce(o.website, '') AS website, "
        "CASE WHEN o.id IS NULL THEN p.languages ELSE o.languages END AS languages, "
        "coalesce(o.name, p.name) AS sort_name, coalesce(n.name, e.name) AS country_name, "
        "CASE WHEN m.kind = 'organisation' THEN CASE coalesce(o.listing, '') "
        "     WHEN 'hidden' THEN 'private' ELSE coalesce(o.listing, '') END "
        "     WHEN p.listing = 'hidden' THEN 'private' ELSE p.listing END AS visibility, "
        "'' AS iso3, CASE WHEN m.kind = 'organisation' THEN NULL ELSE p.user_id END AS author_id "
        "FROM memberships m JOIN people p ON p.id = m.person_id "
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
        "     ELSE o.languages END) || ' ' LIKE '% ' || :language || ' %')) vis");
    directory_bind(r, st, f);
    int found = db_row(st);
    int64_t all = found ? db_int(st, 0) : 0;
    *listed = found ? db_int(st, 1) : 0;
    *unlisted = all - *listed;
    return db_done(st) == R_OK && found ? R_OK : R_INTERNAL;
}

/* The page f->page of the rows listed, as the template shows them; the
 * people and organisations shown that are not public go into seen. */
static json_t *directory_rows(Request *r, const DirectoryFilter *f, AuditSet *seen)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db,
        "SELECT vis.kind, vis.member_iso3, vis.person_id, vis.person_name, vis.visibility, "
        "vis.org_name, vis.org_type, vis.website, vis.languages, vis.country_name, vis.org_id FROM "
        "(SELECT m.id AS membership_id, m.kind, m.iso3 AS member_iso3, p.id AS person_id, "
        "p.name AS person_name, coalesce(o.id, 0) AS org_id, coalesce(o.name, '') AS org_name, "
        "coalesce(o.org_type, '') AS org_type, coalesce(o.website, '') AS website, "
        "CASE WHEN o.id IS NULL THEN p.languages ELSE o.languages END AS languages, "
        "coalesce(o.name, p.name) AS sort_name, coalesce(n.name, e.name) AS country_name, "
        "CASE WHEN m.kind = 'organisation' THEN CASE coalesce(o.listing, '') "
        "     WHEN 'hidden' THEN 'private' ELSE coalesce(o.listing, '') END "
        "     WHEN p.listing = 'hidden' THEN 'private' ELSE p.listing END AS visibility, "
        "'' AS iso3, CASE WHEN m.kind = 'organisation' THEN NULL ELSE p.user_id END AS author_id "
        "FROM memberships m JOIN people p ON p.id = m.person_id "
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
        "     ELSE o.languages END) || ' ' LIKE '% ' || :language || ' %')) vis "
        "WHERE " VISIBILITY_SQL " ORDER BY vis.sort_name, vis.membership_id "
        "LIMIT :limit OFFSET :offset");
    directory_bind(r, st, f);
    db_bind_int(st, ":limit", DIRECTORY_PER_PAGE);
    db_bind_int(st, ":offset", (f->page - 1) * DIRECTORY_PER_PAGE);
    while (db_row(st)) {
        int org = strcmp(db_text(st, 0), "organisation") == 0;
        /* What anyone may see without logging in leaves no trace to
         * report; the rest was shown because of who is looking. */
        if (strcmp(db_text(st, 4), "public") != 0)
            audit_set_add(seen, org ? "organisation" : "person",
                          org ? db_int(st, 10) : db_int(st, 2));
        json_array_append_new(
            list, json_build(
                      "{s:b, s:s, s:s, s:s, s:s, s:s, s:s}", "is_organisation", org, "name",
                      org ? db_text(st, 5) : db_text(st, 3), "org_type",
                      org ? tr(r, code_label(org_type_codes, org_type_labels, db_text(st, 6))) : "",
                      "website", db_text(st, 7), "languages", db_text(st, 8), "iso3",
                      db_text(st, 1), "country", db_text(st, 9)));
    }
    db_done(st);
    return list;
}

/* The query string of the filters and a page, for the pager's links. */
static const char *directory_query(Request *r, const DirectoryFilter *f, int64_t page)
{
    Buf b = {0};
    const char *names[] = {"country", "type", "group", "language"};
    const char *values[] = {f->iso3, f->type, f->group, f->lang};
    for (int i = 0; i < 4; i++) {
        if (!values[i])
            continue;
        buf_printf(&b, "%s=", names[i]);
        escape_url_component(&b, values[i], strlen(values[i]));
        buf_putc(&b, '&');
    }
    buf_printf(&b, "page=%lld", (long long)page);
    const char *q = arena_strdup(r->arena, b.data);
    buf_free(&b);
    return q;
}

/* Filters: country, type (an org type or "individual"), working group,
 * language. Only active members, and only as each chose to be listed:
 * filtered and paged in the query, so that a page holds
 * DIRECTORY_PER_PAGE listed rows and the counts are of the whole match. */
Result person_directory_page(Request *r)
{
    DirectoryFilter f;
    directory_filter(r, &f);
    int64_t listed, unlisted;
    if (directory_count(r, &f, &listed, &unlisted) != R_OK)
        return R_INTERNAL;
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    json_t *list = directory_rows(r, &f, &seen);
    if (member_log_reads(r, "members directory viewed", "directory", &seen) != R_OK) {
        json_decref(list);
        return R_INTERNAL;
    }
    r->page = "members";
    r->title = tr(r, "Members");
    r->data =
        json_build("{s:o, s:I, s:I, s:o, s:o, s:o}", "members", list, "listed", (json_int_t)listed,
                   "unlisted", (json_int_t)unlisted, "countries", member_country_options(r, f.iso3),
                   "types", form_options(r, org_type_codes, org_type_labels, f.type), "groups",
                   member_group_options(r, (const char *const[]){f.group, NULL}));
    json_object_set_new(r->data, "individual_selected",
                        json_boolean(f.type && strcmp(f.type, "individual") == 0));
    json_object_set_new(r->data, "language", json_string(f.lang ? f.lang : ""));
    json_object_set_new(r->data, "has_prev", json_boolean(f.page > 1));
    json_object_set_new(r->data, "has_next", json_boolean(f.page * DIRECTORY_PER_PAGE < listed));
    json_object_set_new(r->data, "prev", json_string(directory_query(r, &f, f.page - 1)));
    json_object_set_new(r->data, "next", json_string(directory_query(r, &f, f.page + 1)));
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
