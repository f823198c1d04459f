/*
 * group.c: working groups: thematic groups that cut across countries
 * (legal, campaigning, UN advocacy ...). The list at /groups, a group's page
 * with its moderators and members, joining and leaving, and, for
 * administrators, creating and editing groups and naming moderators. The
 * API twins under /api/v1/groups use the same handlers.
 *
 * Invariants: a member's name and country appear only where
 * member_listing_visible allows; everyone else is only counted, so a hidden
 * member's name never reaches a page or the API. Only a person (a member
 * with a record in people) can be in a group. Every change is in the audit
 * log, in the same transaction, naming groups by slug and people by id,
 * never by name or email.
 */
#include <string.h>

#include "feat/group.h"
#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "feat/member.h"

enum { SLUG_MIN = 2, SLUG_MAX = 40, NAME_MIN = 2, NAME_MAX = 100, DESCRIPTION_MAX = 2000 };

/* A working group as stored; strings live in the request's arena. */
typedef struct {
    int64_t id;
    const char *slug;
    const char *name;
    const char *description;
} Group;

static int is_admin(const Request *r)
{
    return r->user && r->user->role == ROLE_ADMIN;
}

/* Finds the group named by the path's {slug}. Returns R_OK or R_NOT_FOUND. */
static Result group_find(Request *r, Group *g)
{
    /* The slug becomes a path segment and the audit log's object, so
     * nothing but a-z, 0-9 and '-' may be in it. */
    const char *slug;
    if (param_slug(r, "slug", SLUG_MIN, SLUG_MAX, &slug) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(
        r->db, "SELECT id, slug, name, description FROM working_groups WHERE slug = :slug");
    db_bind_text(st, ":slug", slug);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    g->id = db_int(st, 0);
    g->slug = arena_strdup(r->arena, db_text(st, 1));
    g->name = arena_strdup(r->arena, db_text(st, 2));
    g->description = arena_strdup(r->arena, db_text(st, 3));
    db_done(st);
    return R_OK;
}

/* What was typed into the fields named in fields (NULL-terminated), for a
 * form shown again. Values that are not valid text are left out rather
 * than echoed. */
static json_t *typed_fields(Request *r, const char *const *fields)
{
    json_t *typed = json_object();
    for (int i = 0; fields[i]; i++) {
        const char *v = param_raw(r, fields[i]); /* raw: shown again as typed, if text */
        if (v && utf8_valid_text(v, strlen(v)))
            json_object_set_new(typed, fields[i], json_string(v));
    }
    return typed;
}

/* ---- /groups ---- */

/* Every group with its member count and whether person me (0: none) is
 * in it. */
static json_t *groups_list(Request *r, int64_t me)
{
    json_t *list = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT g.slug, g.name, g.description, "
                          "(SELECT count(*) FROM working_group_members m WHERE m.group_id = g.id), "
                          "EXISTS (SELECT 1 FROM working_group_members m "
                          "WHERE m.group_id = g.id AND m.person_id = :me) "
                          "FROM working_groups g ORDER BY g.name, g.slug");
    db_bind_int(st, ":me", me);
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:s, s:s, s:s, s:I, s:b}", "slug", db_text(st, 0), "name",
                             db_text(st, 1), "description", db_text(st, 2), "member_count",
                             (json_int_t)db_int(st, 3), "is_member", (int)db_int(st, 4)));
    db_done(st);
    return list;
}

/* Fills r->data for the list (also to show the creation form again). */
static void groups_data(Request *r)
{
    int64_t me = member_person_id(r);
    json_decref(r->data);
    r->data = json_build("{s:o, s:b, s:b}", "groups", groups_list(r, me), "can_join", me != 0,
                         "can_manage", is_admin(r));
    r->page = "groups";
    r->title = tr(r, "Working groups");
}

Result group_list_page(Request *r)
{
    groups_data(r);
    return R_OK;
}

/* ---- /groups/{slug} ---- */

/* Fills r->data for a group's page. Members the viewer may not see (by
 * member_listing_visible) are counted in unlisted_count, and nothing else
 * about them leaves this function. Those shown who are not listed publicly
 * are a read for the audit log; R_INTERNAL (and no data) when it cannot be
 * recorded. */
static Result group_data(Request *r, const Group *g)
{
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    int64_t me = member_person_id(r);
    int manage = is_admin(r);
    json_t *members = json_array(), *moderators = json_array();
    int64_t total = 0, unlisted = 0;
    int is_member = 0;
    Stmt *st =
        db_prepare(r->db, "SELECT p.id, p.name, p.listing, m.is_moderator, "
                          "coalesce(n.name, e.name, '') "
                          "FROM working_group_members m JOIN people p ON p.id = m.person_id "
                          "LEFT JOIN country_names n ON n.iso3 = p.iso3 AND n.lang = :lang "
                          "LEFT JOIN country_names e ON e.iso3 = p.iso3 AND e.lang = 'en' "
                          "WHERE m.group_id = :group ORDER BY m.is_moderator DESC, p.name, p.id");
    db_bind_text(st, ":lang", r->lang ? r->lang : "en");
    db_bind_int(st, ":group", g->id);
    while (db_row(st)) {
        int64_t person = db_int(st, 0);
        int moderator = db_int(st, 3) != 0;
        total++;
        is_member |= person == me;
        if (!member_listing_visible(r, db_text(st, 2), person)) {
            unlisted++;
            continue;
        }
        if (strcmp(db_text(st, 2), "public") != 0)
            audit_set_add(&seen, "person", person);
        json_t *row = json_build("{s:s, s:s, s:b, s:b}", "name", db_text(st, 1), "country",
                                 db_text(st, 4), "is_moderator", moderator, "is_me", person == me);
        /* Ids only for those who act on them: the moderator form. */
        if (manage)
            json_object_set_new(row, "person_id", json_integer((json_int_t)person));
        if (moderator)
            json_array_append_new(moderators, json_deep_copy(row));
        json_array_append_new(members, row);
    }
    db_done(st);
    if (audit_read_set(r, "working group viewed", arena_printf(r->arena, "group %s", g->slug),
                       &seen) != R_OK) {
        json_decref(members);
        json_decref(moderators);
        return R_INTERNAL;
    }
    json_decref(r->data);
    r->data =
        json_build("{s:{s:s, s:s, s:s, s:I, s:I, s:I, s:b}, s:o, s:o, s:b, s:b}", "group", "slug",
                   g->slug, "name", g->name, "description", g->description, "member_count",
                   (json_int_t)total, "listed_count", (json_int_t)(total - unlisted),
                   "unlisted_count", (json_int_t)unlisted, "is_member", is_member, "members",
                   members, "moderators", moderators, "can_join", me != 0, "can_manage", manage);
    r->page = "group";
    r->title = g->name;
    return R_OK;
}

Result group_page(Request *r)
{
    Group g;
    Result res = group_find(r, &g);
    if (res != R_OK)
        return res;
    return group_data(r, &g);
}

/* ---- creating and editing (administrators) ---- */

/* A working group's change: what the handler checked, for the apply
 * functions below. */
typedef struct {
    Request *r;
    int64_t group, person;
    const char *slug, *name, *description;
    int moderator;
    int changed; /* out, for leaving: 0 when they were not in the group */
} GroupWrite;

static Result group_create_apply(Db *w, void *ctx)
{
    GroupWrite *gw = ctx;
    Stmt *st =
        db_prepare(w, "INSERT INTO working_groups (slug, name, description, created_at) "
                      "VALUES (:slug, :name, :description, :now) ON CONFLICT (slug) DO NOTHING");
    db_bind_text(st, ":slug", gw->slug);
    db_bind_text(st, ":name", gw->name);
    db_bind_text(st, ":description", gw->description);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_CONFLICT;
    return audit_log(w, gw->r->user->id, "working group created",
                     arena_printf(gw->r->arena, "group %s", gw->slug), "");
}

Result group_create_post(Request *r)
{
    static const char *const fields[] = {"slug", "name", "description", NULL};
    const char *slug = NULL, *name = NULL, *description = NULL;
    int bad = param_slug(r, "slug", SLUG_MIN, SLUG_MAX, &slug) != R_OK;
    bad |= param_text(r, "name", NAME_MIN, NAME_MAX, 0, &name) != R_OK;
    bad |= param_optional_text(r, "description", DESCRIPTION_MAX, 1, &description) != R_OK;
    if (!bad) {
        GroupWrite gw = {
            .r = r, .slug = slug, .name = name, .description = description ? description : ""};
        Result res = db_write(r->db, group_create_apply, &gw);
        if (res == R_CONFLICT) {
            param_error(r, "slug", N_("There is already a working group with this short name."));
            bad = 1;
        } else if (res != R_OK) {
            return R_INTERNAL;
        }
    }
    if (bad) {
        groups_data(r);
        json_object_set_new(r->data, "create_form", typed_fields(r, fields));
        return R_BAD_REQUEST;
    }
    return http_redirect(r, arena_printf(r->arena, "/groups/%s", slug));
}

static Result group_edit_apply(Db *w, void *ctx)
{
    GroupWrite *gw = ctx;
    Stmt *st = db_prepare(
        w, "UPDATE working_groups SET name = :name, description = :description WHERE id = :id");
    db_bind_text(st, ":name", gw->name);
    db_bind_text(st, ":description", gw->description);
    db_bind_int(st, ":id", gw->group);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, gw->r->user->id, "working group edited",
                     arena_printf(gw->r->arena, "group %s", gw->slug), "");
}

Result group_edit_post(Request *r)
{
    static const char *const fields[] = {"name", "description", NULL};
    Group g;
    Result res = group_find(r, &g);
    if (res != R_OK)
        return res;
    const char *name = NULL, *description = NULL;
    int bad = param_text(r, "name", NAME_MIN, NAME_MAX, 0, &name) != R_OK;
    bad |= param_optional_text(r, "description", DESCRIPTION_MAX, 1, &description) != R_OK;
    if (bad) {
        if (group_data(r, &g) != R_OK)
            return R_INTERNAL;
        json_object_set_new(r->data, "edit_form", typed_fields(r, fields));
        return R_BAD_REQUEST;
    }
    GroupWrite gw = {.r = r,
                     .group = g.id,
                     .slug = g.slug,
                     .name = name,
                     .description = description ? description : ""};
    if (db_write(r->db, group_edit_apply, &gw) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/groups/%s", g.slug));
}

/* ---- joining and leaving ---- */

/* Where to go after joining or leaving: back to the list when the form was
 * on it (from=list), else to the group's page. */
static Result back(Request *r, const Group *g)
{
    if (param_filter(r, "from", (const char *const[]){"list", NULL}))
        return http_redirect(r, arena_printf(r->arena, "/groups#group-%s", g->slug));
    return http_redirect(r, arena_printf(r->arena, "/groups/%s", g->slug));
}

/* After leaving: the same place as back(), saying what happened (?done=,
 * view.c's fixed list). */
static Result back_done(Request *r, const Group *g, const char *done)
{
    if (param_filter(r, "from", (const char *const[]){"list", NULL}))
        return http_redirect(r, arena_printf(r->arena, "/groups?done=%s#group-%s", done, g->slug));
    return http_redirect(r, arena_printf(r->arena, "/groups/%s?done=%s", g->slug, done));
}

/* The group and the logged-in user's person, or R_FORBIDDEN with a message
 * for a user who is not a member (an administrator made on the command
 * line has no person record). */
static Result joinable(Request *r, Group *g, int64_t *person)
{
    Result res = group_find(r, g);
    if (res != R_OK)
        return res;
    *person = member_person_id(r);
    if (!*person) {
        r->message = tr(r, "Only members can join working groups.");
        return R_FORBIDDEN;
    }
    return R_OK;
}

/* Joining twice (a double click) or leaving twice changes nothing and
 * logs nothing. */
static Result group_join_apply(Db *w, void *ctx)
{
    GroupWrite *gw = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO working_group_members (group_id, person_id, joined_at) "
                             "VALUES (:group, :person, :now) ON CONFLICT DO NOTHING");
    db_bind_int(st, ":group", gw->group);
    db_bind_int(st, ":person", gw->person);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_OK;
    return audit_log(w, gw->r->user->id, "working group joined",
                     arena_printf(gw->r->arena, "group %s", gw->slug),
                     arena_printf(gw->r->arena, "person %lld", (long long)gw->person));
}

Result group_join_interests(Db *w, Request *r, int64_t membership, int64_t person)
{
    /* The slugs first (a statement is finished before the next runs). */
    enum { MAX_GROUPS = 64 };
    int64_t ids[MAX_GROUPS];
    const char *slugs[MAX_GROUPS];
    int n = 0;
    Stmt *st = db_prepare(w, "SELECT g.id, g.slug FROM membership_interests i "
                             "JOIN working_groups g ON g.id = i.group_id "
                             "WHERE i.membership_id = :m ORDER BY g.slug");
    db_bind_int(st, ":m", membership);
    while (n < MAX_GROUPS && db_row(st)) {
        ids[n] = db_int(st, 0);
        slugs[n++] = arena_strdup(r->arena, db_text(st, 1));
    }
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    for (int i = 0; i < n; i++) {
        GroupWrite gw = {.r = r, .group = ids[i], .person = person, .slug = slugs[i]};
        if (group_join_apply(w, &gw) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

static Result group_leave_apply(Db *w, void *ctx)
{
    GroupWrite *gw = ctx;
    Stmt *st = db_prepare(
        w, "DELETE FROM working_group_members WHERE group_id = :group AND person_id = :person");
    db_bind_int(st, ":group", gw->group);
    db_bind_int(st, ":person", gw->person);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    gw->changed = db_changes(w) > 0;
    if (!gw->changed)
        return R_OK;
    return audit_log(w, gw->r->user->id, "working group left",
                     arena_printf(gw->r->arena, "group %s", gw->slug),
                     arena_printf(gw->r->arena, "person %lld", (long long)gw->person));
}

/* Joins (join = 1) or leaves the group of the path. Leaving a group one
 * is not in (an old page, a second tab) changes nothing and says nothing:
 * the group's page shows the truth. */
static Result join_or_leave(Request *r, int join)
{
    Group g;
    GroupWrite gw = {.r = r};
    Result res = joinable(r, &g, &gw.person);
    if (res != R_OK)
        return res;
    gw.group = g.id;
    gw.slug = g.slug;
    if (db_write(r->db, join ? group_join_apply : group_leave_apply, &gw) != R_OK)
        return R_INTERNAL;
    return join || !gw.changed ? back(r, &g) : back_done(r, &g, "left");
}

/* 1 if person is in the group; *moderator says whether as a moderator. */
static int in_group(Request *r, int64_t group, int64_t person, int *moderator)
{
    Stmt *st = db_prepare(r->db, "SELECT is_moderator FROM working_group_members "
                                 "WHERE group_id = :group AND person_id = :person");
    db_bind_int(st, ":group", group);
    db_bind_int(st, ":person", person);
    int found = db_row(st);
    *moderator = found && db_int(st, 0);
    db_done(st);
    return found;
}

/* GET /groups/{slug}/leave: which group, what leaving means, and a Leave
 * button (keeping from=list, so the answer returns to the list). Someone
 * not in the group has nothing to confirm: back to the group's page. */
Result group_leave_page(Request *r)
{
    Group g;
    int64_t person;
    Result res = joinable(r, &g, &person);
    if (res != R_OK)
        return res;
    int moderator;
    if (!in_group(r, g.id, person, &moderator))
        return back(r, &g);
    int from_list = param_filter(r, "from", (const char *const[]){"list", NULL}) != NULL;
    json_t *what = json_array();
    confirm_line(r, what, N_("Working group"), g.name);
    if (moderator)
        confirm_line(r, what, N_("Role"), tr(r, "Moderator"));
    ConfirmPage c = {
        .heading = tr(r, "Leave this working group?"),
        .consequence =
            moderator ? tr(r, "You will no longer be listed among its members, and you will stop "
                              "being one of its moderators: an administrator must name you again "
                              "if you rejoin. You can join again at any time.")
                      : tr(r, "You will no longer be listed among its members. You can join again "
                              "at any time."),
        .action =
            arena_printf(r->arena, "/groups/%s/leave%s", g.slug, from_list ? "?from=list" : ""),
        .button = tr(r, "Leave the group"),
        .cancel = from_list ? arena_printf(r->arena, "/groups#group-%s", g.slug)
                            : arena_printf(r->arena, "/groups/%s", g.slug),
        .what = what};
    return http_confirm(r, &c);
}

Result group_join_post(Request *r)
{
    return join_or_leave(r, 1);
}

Result group_leave_post(Request *r)
{
    return join_or_leave(r, 0);
}

/* ---- moderators (administrators) ---- */

static Result group_moderator_apply(Db *w, void *ctx)
{
    GroupWrite *gw = ctx;
    Stmt *st = db_prepare(w, "UPDATE working_group_members SET is_moderator = :moderator "
                             "WHERE group_id = :group AND person_id = :person");
    db_bind_int(st, ":moderator", gw->moderator);
    db_bind_int(st, ":group", gw->group);
    db_bind_int(st, ":person", gw->person);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_NOT_FOUND;
    return audit_log(w, gw->r->user->id,
                     gw->moderator ? "working group moderator named"
                                   : "working group moderator removed",
                     arena_printf(gw->r->arena, "group %s", gw->slug),
                     arena_printf(gw->r->arena, "person %lld", (long long)gw->person));
}

Result group_moderator_post(Request *r)
{
    static const char *const choices[] = {"no", "yes", NULL};
    Group g;
    Result res = group_find(r, &g);
    if (res != R_OK)
        return res;
    GroupWrite gw = {.r = r, .group = g.id, .slug = g.slug};
    if (param_int(r, "person_id", 1, INT64_MAX, &gw.person) != R_OK ||
        param_enum(r, "moderator", choices, &gw.moderator) != R_OK)
        return R_BAD_REQUEST;
    res = db_write(r->db, group_moderator_apply, &gw);
    if (res == R_NOT_FOUND) {
        r->message = tr(r, "This person is not a member of this working group.");
        return R_NOT_FOUND;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/groups/%s#members", g.slug));
}
