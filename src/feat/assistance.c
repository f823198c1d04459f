/*
 * assistance.c: requests for help from the coalition, the first kind
 * being help to reply to a government's refusal (asked from a response the
 * member may see): asking, the member's own requests at /assistance, and
 * the administrators' page at /admin/assistance, where one takes a
 * request, drafts a reply and closes it.
 *
 * Invariants: help is asked only about a response this user may see
 * (response_visible; 404 otherwise) that is a refusal when the request is
 * written; a member sees only their own requests. Every change is written
 * with its audit line in the same transaction.
 */
#include <string.h>

#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/http.h"
#include "feat/response.h"

/* ---- help with a refusal: the first kind of assistance request ---- */

/* What assistance_request_post writes: a request for help with the reply to a
 * response, which must be a refusal when it is written (R_CONFLICT
 * otherwise), and its audit line. */
typedef struct {
    Request *r;
    const char *iso3, *subject, *details;
    int64_t response;
} AssistanceAdd;

/* Whether response is a refusal, read on w so that it holds when the
 * request is written: R_OK, R_CONFLICT, or R_INTERNAL. */
static Result refusal_check(Db *w, int64_t response)
{
    Stmt *st = db_prepare(w, "SELECT 1 FROM responses WHERE id = :id AND class = 'refusal'");
    db_bind_int(st, ":id", response);
    int refusal = db_row(st);
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    return refusal ? R_OK : R_CONFLICT;
}

static Result assistance_add_apply(Db *w, void *ctx)
{
    AssistanceAdd *a = ctx;
    Result res = refusal_check(w, a->response);
    if (res != R_OK)
        return res;
    int64_t now = now_seconds(), id;
    Stmt *st = db_prepare(
        w, "INSERT INTO assistance_requests (kind, iso3, requester_id, response_id, subject, "
           "details, created_at, updated_at) VALUES ('refusal_reply', :iso3, :user, :response, "
           ":subject, :details, :now, :now) RETURNING id");
    db_bind_text(st, ":iso3", a->iso3);
    db_bind_int(st, ":user", a->r->user->id);
    db_bind_int(st, ":response", a->response);
    db_bind_text(st, ":subject", a->subject);
    db_bind_text(st, ":details", a->details);
    db_bind_int(st, ":now", now);
    if (db_insert(st, &id) != R_OK)
        return R_INTERNAL;
    return audit_log(w, a->r->user->id, "assistance requested",
                     arena_printf(a->r->arena, "assistance %lld", (long long)id), "refusal_reply");
}

Result assistance_request_post(Request *r)
{
    int64_t id, recorder, letter;
    char iso3[4];
    if (response_visible(r, &id, iso3, &recorder, &letter) != R_OK)
        return R_NOT_FOUND;
    const char *details = NULL;
    if (param_optional_text(r, "details", 5000, 1, &details) != R_OK)
        return R_BAD_REQUEST;
    AssistanceAdd a = {.r = r,
                       .iso3 = iso3,
                       .subject = tr(r, "Help to reply to a government's refusal"),
                       .details = details ? details : "",
                       .response = id};
    Result res = db_write(r->db, assistance_add_apply, &a);
    if (res == R_CONFLICT) {
        r->message = tr(r, "Help with a reply can be asked for a refusal only.");
        return R_CONFLICT;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/assistance");
}

static json_t *assistance_json(Request *r, int mine)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db,
        "SELECT a.id, a.kind, a.iso3, a.subject, a.details, a.status, a.draft, "
        "coalesce(u.email, ''), coalesce(v.email, ''), a.created_at, "
        "coalesce(a.response_id, 0), coalesce(p.letter_id, 0) FROM assistance_requests a "
        "LEFT JOIN users u ON u.id = a.requester_id LEFT JOIN users v ON v.id = a.assignee_id "
        "LEFT JOIN responses p ON p.id = a.response_id "
        "WHERE :mine = 0 OR a.requester_id = :me ORDER BY a.status = 'done', a.id DESC");
    db_bind_int(st, ":mine", mine);
    db_bind_int(st, ":me", r->user->id);
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id",
                             (json_int_t)db_int(st, 0), "kind", db_text(st, 1), "iso3",
                             db_text(st, 2), "subject", db_text(st, 3), "details", db_text(st, 4),
                             "status", db_text(st, 5), "draft", db_text(st, 6), "requester",
                             db_text(st, 7), "assignee", db_text(st, 8), "response_id",
                             (json_int_t)db_int(st, 10), "letter_id", (json_int_t)db_int(st, 11)));
    db_done(st);
    return list;
}

Result assistance_list_page(Request *r)
{
    json_decref(r->data);
    r->data = json_build("{s:o}", "requests", assistance_json(r, 1));
    r->page = "assistance";
    r->title = tr(r, "Your requests for help");
    return R_OK;
}

Result assistance_admin_page(Request *r)
{
    json_decref(r->data);
    r->data = json_build("{s:o}", "requests", assistance_json(r, 0));
    r->page = "admin_assistance";
    r->title = tr(r, "Requests for help");
    return R_OK;
}

/* What assistance_admin_post writes: a request's status and draft reply
 * (R_NOT_FOUND if there is no such request), and the audit line. */
typedef struct {
    Request *r;
    int64_t id;
    const char *status, *draft; /* draft NULL: keep the one saved */
} AssistanceUpdate;

static Result assistance_update_apply(Db *w, void *ctx)
{
    AssistanceUpdate *u = ctx;
    /* Assigning takes the request: the admin who saves it is the assignee. */
    Stmt *st =
        db_prepare(w, "UPDATE assistance_requests SET status = :status, assignee_id = CASE WHEN "
                      ":status = 'open' THEN NULL ELSE coalesce(assignee_id, :me) END, "
                      "draft = coalesce(:draft, draft), updated_at = :now WHERE id = :id");
    db_bind_text(st, ":status", u->status);
    db_bind_int(st, ":me", u->r->user->id);
    db_bind_text(st, ":draft", u->draft);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", u->id);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, u->r->user->id, "assistance updated",
                     arena_printf(u->r->arena, "assistance %lld", (long long)u->id), u->status);
}

Result assistance_admin_post(Request *r)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    static const char *const statuses[] = {"open", "assigned", "done", NULL};
    int status = 0;
    const char *draft = NULL;
    int bad = param_enum(r, "status", statuses, &status) != R_OK;
    bad |= param_optional_text(r, "draft", 20000, 1, &draft) != R_OK;
    if (bad) {
        assistance_admin_page(r);
        return R_BAD_REQUEST;
    }
    AssistanceUpdate u = {.r = r, .id = id, .status = statuses[status], .draft = draft};
    Result res = db_write(r->db, assistance_update_apply, &u);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, "/admin/assistance");
}
