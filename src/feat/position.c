/*
 * position.c: a government's position on the Protocol, as the secretariat
 * keeps it: the history of its statements (date, forum, source, one line)
 * and the coalition's assessment (a stance in words and a note), each with
 * a visibility (everyone, members, the steering committee). The country
 * page shows the stance and the latest statement the viewer may see;
 * /countries/{ISO3}/position the whole record, where administrators add
 * statements, set the assessment and delete a statement after a
 * confirmation; /api/v1/countries/{ISO3}/position serves the same.
 *
 * Invariants: every read filters by svc/visibility.h (VISIBILITY_SQL for
 * the list, visibility_can_see for the assessment) before anything else;
 * a view that shows something not public is logged as a read (who knew
 * what the coalition thinks of a government, and when); only
 * administrators write, each change with its audit line. Owns
 * position_statements and position_assessments (schema/021_positions.sql).
 */
#include "feat/position.h"

#include <stdlib.h>
#include <string.h>

#include "feat/country_name.h"
#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/visibility.h"

static const char *const visibility_codes[] = {"public", "members", "committee", NULL};
static const char *const visibility_labels[] = {N_("Everyone"), N_("Members"),
                                                N_("The steering committee"), NULL};
static const char *const stance_codes[] = {"supportive", "open",    "undecided",
                                           "opposed",    "unknown", NULL};
static const char *const stance_labels[] = {
    N_("Supports the Protocol"), N_("Open to it"), N_("Undecided"),
    N_("Opposed to it"),         N_("Not known"),  NULL};

/* The statements on iso3 the viewer may see, newest first (at most limit);
 * *hidden_shown counts those not public. */
static json_t *statements_json(Request *r, const char *iso3, int64_t limit, int *hidden_shown)
{
    Stmt *st = db_prepare(r->db, "SELECT vis.id, vis.stated_on, vis.forum, vis.summary, "
                                 "vis.source_url, vis.visibility FROM position_statements vis "
                                 "WHERE vis.iso3 = :iso3 AND " VISIBILITY_SQL
                                 " ORDER BY vis.stated_on DESC, vis.id DESC LIMIT :limit");
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":limit", limit);
    visibility_bind(st, r->user);
    json_t *list = json_array();
    int admin = r->user && r->user->role == ROLE_ADMIN && !r->is_api;
    while (db_row(st)) {
        const char *visibility = db_text(st, 5);
        *hidden_shown += strcmp(visibility, "public") != 0;
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id", (json_int_t)db_int(st, 0),
                       "date", db_text(st, 1), "forum", db_text(st, 2), "summary", db_text(st, 3),
                       "source_url", db_text(st, 4), "visibility", visibility, "visibility_label",
                       tr(r, code_label(visibility_codes, visibility_labels, visibility)),
                       "can_delete", admin));
    }
    db_done(st);
    return list;
}

/* The assessment of iso3 if the viewer may see it, else NULL. */
static json_t *assessment_json(Request *r, const char *iso3, int *hidden_shown)
{
    Stmt *st = db_prepare(r->db, "SELECT stance, assessment, visibility, coalesce(author_id, 0), "
                                 "updated_at FROM position_assessments WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    json_t *a = NULL;
    if (db_row(st) && visibility_can_see(r->user, db_text(st, 2), iso3, db_int(st, 3))) {
        *hidden_shown += strcmp(db_text(st, 2), "public") != 0;
        a = json_build("{s:s, s:s, s:s, s:s, s:s}", "stance", db_text(st, 0), "stance_label",
                       tr(r, code_label(stance_codes, stance_labels, db_text(st, 0))), "assessment",
                       db_text(st, 1), "visibility", db_text(st, 2), "visibility_label",
                       tr(r, code_label(visibility_codes, visibility_labels, db_text(st, 2))));
    }
    db_done(st);
    return a;
}

/* Logs that the viewer saw what is not public about iso3's position. */
typedef struct {
    Request *r;
    const char *iso3;
    int count;
} PositionRead;

static Result read_apply(Db *w, void *ctx)
{
    const PositionRead *p = ctx;
    int64_t entry;
    return audit_read_entry(w, p->r->user ? p->r->user->id : 0, p->r->api_token_id,
                            "country position viewed",
                            arena_printf(p->r->arena, "position %s", p->iso3),
                            arena_printf(p->r->arena, "%d", p->count), &entry);
}

static Result audit_view(Request *r, const char *iso3, int hidden_shown)
{
    if (!hidden_shown)
        return R_OK;
    PositionRead p = {r, iso3, hidden_shown};
    return db_write(r->db, read_apply, &p);
}

json_t *position_country_json(Request *r, const char *iso3)
{
    int hidden = 0;
    json_t *latest = statements_json(r, iso3, 1, &hidden);
    json_t *assessment = assessment_json(r, iso3, &hidden);
    if (audit_view(r, iso3, hidden) != R_OK) {
        json_decref(latest);
        json_decref(assessment);
        return json_null();
    }
    json_t *o = json_build("{s:b, s:o}", "any", json_array_size(latest) > 0 || assessment != NULL,
                           "latest", latest);
    if (assessment)
        json_object_set_new(o, "assessment", assessment);
    /* A page with something not public depends on the viewer: never the
     * anonymous cache (which only visitors use, who see public only). */
    return o;
}

/* ---- the position page ---- */

/* The country of the path, checked: its name, or NULL (404). */
static const char *path_country(Request *r, const char **iso3)
{
    if (param_iso3(r, "iso3", iso3) != R_OK)
        return NULL;
    return country_name_of(r, *iso3);
}

static Result position_data(Request *r, const char *iso3, const char *name)
{
    int hidden = 0;
    json_t *statements = statements_json(r, iso3, 500, &hidden);
    json_t *assessment = assessment_json(r, iso3, &hidden);
    if (audit_view(r, iso3, hidden) != R_OK) {
        json_decref(statements);
        json_decref(assessment);
        return R_INTERNAL;
    }
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, "country", json_build("{s:s, s:s}", "iso3", iso3, "name", name));
    json_object_set_new(r->data, "statements", statements);
    json_object_set_new(r->data, "assessment", assessment ? assessment : json_null());
    if (r->user && r->user->role == ROLE_ADMIN && !r->is_api) {
        const char *stance =
            assessment ? json_string_value(json_object_get(assessment, "stance")) : "unknown";
        json_object_set_new(r->data, "can_edit", json_true());
        json_object_set_new(r->data, "visibility_options",
                            form_options(r, visibility_codes, visibility_labels, "committee"));
        json_object_set_new(r->data, "stance_options",
                            form_options(r, stance_codes, stance_labels, stance));
    }
    r->page = "position";
    r->title = arena_printf(r->arena, "%s: %s", name, tr(r, "Position on the Protocol"));
    r->cache_public = !r->user;
    return R_OK;
}

Result position_page(Request *r)
{
    const char *iso3;
    const char *name = path_country(r, &iso3);
    return name ? position_data(r, iso3, name) : R_NOT_FOUND;
}

/* Shows the page again with what was typed under form ("statement_form"
 * or "assessment_form"). */
static Result form_failed(Request *r, const char *iso3, const char *name, const char *form)
{
    json_t *typed = form_typed(r);
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, form, typed);
    Result res = position_data(r, iso3, name);
    return res == R_OK ? R_BAD_REQUEST : res;
}

typedef struct {
    Request *r;
    const char *iso3, *date, *forum, *summary, *source, *visibility, *stance, *assessment;
    int64_t id;
} PositionWrite;

static Result statement_apply(Db *w, void *ctx)
{
    PositionWrite *p = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO position_statements (iso3, stated_on, forum, summary, "
                             "source_url, visibility, author_id, recorded_at) VALUES (:iso3, "
                             ":date, :forum, :summary, :source, :visibility, :user, :now) "
                             "RETURNING id");
    db_bind_text(st, ":iso3", p->iso3);
    db_bind_text(st, ":date", p->date);
    db_bind_text(st, ":forum", p->forum);
    db_bind_text(st, ":summary", p->summary);
    db_bind_text(st, ":source", p->source);
    db_bind_text(st, ":visibility", p->visibility);
    db_bind_int(st, ":user", p->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, &p->id) != R_OK)
        return R_INTERNAL;
    return audit_log(
        w, p->r->user->id, "position statement recorded",
        arena_printf(p->r->arena, "position %s", p->iso3),
        arena_printf(p->r->arena, "statement %lld %s", (long long)p->id, p->visibility));
}

/* POST /countries/{iso3}/position/statements: an administrator records
 * what the government said. */
Result position_statement_post(Request *r)
{
    const char *iso3, *date = NULL, *forum = NULL, *summary = NULL, *source = NULL;
    const char *name = path_country(r, &iso3);
    if (!name)
        return R_NOT_FOUND;
    int visibility = 0;
    int bad = param_date(r, "date", &date) != R_OK;
    bad |= param_text(r, "forum", 2, 200, 0, &forum) != R_OK;
    bad |= param_text(r, "summary", 2, 300, 0, &summary) != R_OK;
    bad |= param_link(r, "source_url", &source) != R_OK;
    bad |= param_enum(r, "visibility", visibility_codes, &visibility) != R_OK;
    if (bad)
        return form_failed(r, iso3, name, "statement_form");
    PositionWrite p = {.r = r,
                       .iso3 = iso3,
                       .date = date,
                       .forum = forum,
                       .summary = summary,
                       .source = source ? source : "",
                       .visibility = visibility_codes[visibility]};
    if (db_write(r->db, statement_apply, &p) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/position", iso3));
}

static Result assessment_apply(Db *w, void *ctx)
{
    const PositionWrite *p = ctx;
    Stmt *st = db_prepare(
        w, "INSERT INTO position_assessments (iso3, stance, assessment, visibility, author_id, "
           "updated_at) VALUES (:iso3, :stance, :assessment, :visibility, :user, :now) "
           "ON CONFLICT (iso3) DO UPDATE SET stance = excluded.stance, "
           "assessment = excluded.assessment, visibility = excluded.visibility, "
           "author_id = excluded.author_id, updated_at = excluded.updated_at");
    db_bind_text(st, ":iso3", p->iso3);
    db_bind_text(st, ":stance", p->stance);
    db_bind_text(st, ":assessment", p->assessment);
    db_bind_text(st, ":visibility", p->visibility);
    db_bind_int(st, ":user", p->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, p->r->user->id, "position assessed",
                     arena_printf(p->r->arena, "position %s", p->iso3),
                     arena_printf(p->r->arena, "%s %s", p->stance, p->visibility));
}

/* POST /countries/{iso3}/position: the coalition's assessment. */
Result position_assessment_post(Request *r)
{
    const char *iso3, *assessment = NULL;
    const char *name = path_country(r, &iso3);
    if (!name)
        return R_NOT_FOUND;
    int stance = 0, visibility = 0;
    int bad = param_enum(r, "stance", stance_codes, &stance) != R_OK;
    bad |= param_optional_text(r, "assessment", 2000, 1, &assessment) != R_OK;
    bad |= param_enum(r, "visibility", visibility_codes, &visibility) != R_OK;
    if (bad)
        return form_failed(r, iso3, name, "assessment_form");
    PositionWrite p = {.r = r,
                       .iso3 = iso3,
                       .stance = stance_codes[stance],
                       .assessment = assessment ? assessment : "",
                       .visibility = visibility_codes[visibility]};
    if (db_write(r->db, assessment_apply, &p) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/position", iso3));
}

/* The statement {id} of the path's country: R_OK with its summary, or
 * R_NOT_FOUND. Only administrators reach it (the route), who see all. */
static Result path_statement(Request *r, const char **iso3, int64_t *id, json_t **statement)
{
    if (!path_country(r, iso3) || param_int(r, "id", 1, INT64_MAX, id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT stated_on, forum, summary FROM position_statements "
                                 "WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", *id);
    db_bind_text(st, ":iso3", *iso3);
    Result res = R_NOT_FOUND;
    if (db_row(st)) {
        *statement =
            json_build("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)*id, "iso3", *iso3, "date",
                       db_text(st, 0), "forum", db_text(st, 1), "summary", db_text(st, 2));
        res = R_OK;
    }
    db_done(st);
    return res;
}

/* GET /countries/{iso3}/position/statements/{id}/delete: asks first. */
Result position_delete_page(Request *r)
{
    const char *iso3;
    int64_t id;
    json_t *statement = NULL;
    Result res = path_statement(r, &iso3, &id, &statement);
    if (res != R_OK)
        return res;
    json_decref(r->data);
    r->data = json_build("{s:o}", "statement", statement);
    r->page = "position_delete";
    r->title = tr(r, "Delete this statement?");
    return R_OK;
}

static Result delete_apply(Db *w, void *ctx)
{
    const PositionWrite *p = ctx;
    Stmt *st = db_prepare(w, "DELETE FROM position_statements WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", p->id);
    db_bind_text(st, ":iso3", p->iso3);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, p->r->user->id, "position statement deleted",
                     arena_printf(p->r->arena, "position %s", p->iso3),
                     arena_printf(p->r->arena, "statement %lld", (long long)p->id));
}

Result position_delete_post(Request *r)
{
    const char *iso3;
    int64_t id;
    json_t *statement = NULL;
    Result res = path_statement(r, &iso3, &id, &statement);
    json_decref(statement);
    if (res != R_OK)
        return res;
    PositionWrite p = {.r = r, .iso3 = iso3, .id = id};
    res = db_write(r->db, delete_apply, &p);
    return res == R_OK ? http_redirect(
                             r, arena_printf(r->arena, "/countries/%s/position?done=deleted", iso3))
                       : res;
}
