/*
 * submission.c: submissions drafted with the coalition's help (a UPR
 * stakeholder report, a shadow report to the Committee on ESCR): a
 * request for support of kind submission_drafting (assistance.c) gets a
 * page of drafts, /assistance/{id}/drafts, where its requester and the
 * secretariat save versions (none is ever overwritten) and read any of
 * them; the final text is then kept with the country, with a visibility,
 * at /countries/{ISO3}/submissions/{id}, and listed on the country page.
 *
 * Invariants: the drafts are seen exactly by who sees the request
 * (assistance_find_visible: 404 otherwise); a kept submission by
 * svc/visibility.h, and reads of one that is not public are logged;
 * a draft is written only while the request is open. Owns
 * submission_drafts and submissions (schema/022_submissions.sql).
 */
#include "feat/submission.h"

#include <stdlib.h>
#include <string.h>

#include "feat/assistance.h"
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/visibility.h"

enum { DRAFT_MAX = 200000, VERSIONS_SHOWN = 200 };

static const char *const kind_codes[] = {"upr_stakeholder", "cescr_shadow", "other", NULL};
static const char *const kind_labels[] = {N_("UPR stakeholder report"),
                                          N_("Shadow report to the Committee on ESCR"),
                                          N_("Other submission"), NULL};
static const char *const visibility_codes[] = {"public", "members", "country", "committee", NULL};
static const char *const visibility_labels[] = {N_("Everyone"), N_("Members"),
                                                N_("The national coalition"),
                                                N_("The steering committee"), NULL};

/* The request of the path's {id}, if the user may see it and it is a
 * request to draft a submission. */
static Result path_request(Request *r, AssistanceRef *a)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK ||
        assistance_find_visible(r, id, a) != R_OK || strcmp(a->kind, "submission_drafting") != 0)
        return R_NOT_FOUND;
    return R_OK;
}

static int request_open(const AssistanceRef *a)
{
    return strcmp(a->status, "done") != 0 && strcmp(a->status, "declined") != 0;
}

/* The versions of request's drafts, newest first. */
static json_t *versions_json(Request *r, int64_t request)
{
    Stmt *st = db_prepare(r->db, "SELECT d.version, d.note, d.created_at, "
                                 "coalesce(u.display_name, ''), length(d.body) "
                                 "FROM submission_drafts d LEFT JOIN users u ON u.id = d.author_id "
                                 "WHERE d.request_id = :id ORDER BY d.version DESC LIMIT :limit");
    db_bind_int(st, ":id", request);
    db_bind_int(st, ":limit", VERSIONS_SHOWN);
    json_t *list = json_array();
    while (db_row(st)) {
        char when[32];
        format_utc(db_int(st, 2), "%Y-%m-%d %H:%M UTC", when, sizeof when);
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:I}", "version", (json_int_t)db_int(st, 0),
                             "note", db_text(st, 1), "when", when, "who",
                             *db_text(st, 3) ? db_text(st, 3) : tr(r, "a member of the coalition"),
                             "length", (json_int_t)db_int(st, 4)));
    }
    db_done(st);
    return list;
}

/* The body of one version (0: the newest) in the arena, "" if none; its
 * number in *version. */
static const char *draft_body(Request *r, int64_t request, int64_t *version)
{
    Stmt *st = db_prepare(r->db, "SELECT version, body FROM submission_drafts "
                                 "WHERE request_id = :id AND (:v = 0 OR version = :v) "
                                 "ORDER BY version DESC LIMIT 1");
    db_bind_int(st, ":id", request);
    db_bind_int(st, ":v", *version);
    const char *body = NULL;
    *version = 0;
    if (db_row(st)) {
        *version = db_int(st, 0);
        body = arena_strdup(r->arena, db_text(st, 1));
    }
    db_done(st);
    return body;
}

static Result drafts_fill(Request *r, const AssistanceRef *a, int64_t shown, const char *typed)
{
    int64_t version = shown;
    const char *body = draft_body(r, a->id, &version);
    if (shown && !body)
        return R_NOT_FOUND;
    const char *country = country_name_of(r, a->iso3);
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, "request",
                        json_build("{s:I, s:s, s:s, s:b}", "id", (json_int_t)a->id, "iso3", a->iso3,
                                   "country", country ? country : a->iso3, "open",
                                   request_open(a)));
    json_object_set_new(r->data, "versions", versions_json(r, a->id));
    json_object_set_new(r->data, "version", json_integer((json_int_t)version));
    json_object_set_new(r->data, "body", json_string(body ? body : ""));
    json_object_set_new(r->data, "typed", json_string(typed ? typed : body ? body : ""));
    json_object_set_new(r->data, "kind_options", form_options(r, kind_codes, kind_labels, NULL));
    json_object_set_new(r->data, "visibility_options",
                        form_options(r, visibility_codes, visibility_labels, "country"));
    json_object_set_new(r->data, "can_keep", json_boolean(version > 0));
    r->page = "submission_drafts";
    r->title = tr(r, "The submission's drafts");
    return R_OK;
}

/* GET /assistance/{id}/drafts[?version=N]. */
Result submission_drafts_page(Request *r)
{
    AssistanceRef a;
    int64_t version = 0;
    if (path_request(r, &a) != R_OK ||
        param_optional_int(r, "version", 1, INT64_MAX, 0, &version) != R_OK)
        return R_NOT_FOUND;
    return drafts_fill(r, &a, version, NULL);
}

typedef struct {
    Request *r;
    const AssistanceRef *a;
    const char *body, *note;
    int64_t version;
} DraftWrite;

static Result draft_apply(Db *w, void *ctx)
{
    DraftWrite *d = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO submission_drafts (request_id, version, body, note, "
                             "author_id, created_at) VALUES (:id, (SELECT coalesce(max(version), "
                             "0) + 1 FROM submission_drafts WHERE request_id = :id), :body, "
                             ":note, :user, :now) RETURNING version");
    db_bind_int(st, ":id", d->a->id);
    db_bind_text(st, ":body", d->body);
    db_bind_text(st, ":note", d->note);
    db_bind_int(st, ":user", d->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, &d->version) != R_OK)
        return R_INTERNAL;
    return audit_log(w, d->r->user->id, "submission draft saved",
                     arena_printf(d->r->arena, "assistance %lld", (long long)d->a->id),
                     arena_printf(d->r->arena, "version %lld", (long long)d->version));
}

/* POST /assistance/{id}/drafts: a new version. */
Result submission_draft_post(Request *r)
{
    AssistanceRef a;
    if (path_request(r, &a) != R_OK)
        return R_NOT_FOUND;
    const char *body = NULL, *note = NULL;
    int bad = param_text(r, "body", 1, DRAFT_MAX, 1, &body) != R_OK;
    bad |= param_optional_text(r, "note", 200, 0, &note) != R_OK;
    if (!bad && !request_open(&a))
        bad = param_error(r, "body",
                          N_("This request is closed: its drafts can no longer "
                             "change.")) != R_OK;
    if (bad) {
        /* raw: the text as typed, shown again in the form (escaped) */
        drafts_fill(r, &a, 0, param_raw(r, "body"));
        return R_BAD_REQUEST;
    }
    DraftWrite d = {r, &a, body, note ? note : "", 0};
    if (db_write(r->db, draft_apply, &d) != R_OK)
        return R_INTERNAL;
    return http_redirect(r,
                         arena_printf(r->arena, "/assistance/%lld/drafts#saved", (long long)a.id));
}

typedef struct {
    Request *r;
    const AssistanceRef *a;
    const char *kind, *title, *visibility, *body;
    int64_t version, id;
} KeepWrite;

static Result keep_apply(Db *w, void *ctx)
{
    KeepWrite *k = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO submissions (iso3, kind, title, body, request_id, "
                             "version, visibility, author_id, finalised_at) VALUES (:iso3, "
                             ":kind, :title, :body, :request, :version, :visibility, :user, :now) "
                             "RETURNING id");
    db_bind_text(st, ":iso3", k->a->iso3);
    db_bind_text(st, ":kind", k->kind);
    db_bind_text(st, ":title", k->title);
    db_bind_text(st, ":body", k->body);
    db_bind_int(st, ":request", k->a->id);
    db_bind_int(st, ":version", k->version);
    db_bind_text(st, ":visibility", k->visibility);
    db_bind_int(st, ":user", k->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, &k->id) != R_OK)
        return R_INTERNAL;
    return audit_log(w, k->r->user->id, "submission kept",
                     arena_printf(k->r->arena, "submission %lld", (long long)k->id),
                     arena_printf(k->r->arena, "assistance %lld version %lld %s",
                                  (long long)k->a->id, (long long)k->version, k->visibility));
}

/* POST /assistance/{id}/final: the newest draft, as the final text, kept
 * with the country. */
Result submission_keep_post(Request *r)
{
    AssistanceRef a;
    if (path_request(r, &a) != R_OK)
        return R_NOT_FOUND;
    const char *title = NULL;
    int kind = 0, visibility = 0;
    int bad = param_text(r, "title", 2, 200, 0, &title) != R_OK;
    bad |= param_enum(r, "kind", kind_codes, &kind) != R_OK;
    bad |= param_enum(r, "visibility", visibility_codes, &visibility) != R_OK;
    int64_t version = 0;
    const char *body = draft_body(r, a.id, &version);
    if (!bad && !body)
        bad = param_error(r, "title", N_("Save a draft first.")) != R_OK;
    if (bad) {
        drafts_fill(r, &a, 0, NULL);
        return R_BAD_REQUEST;
    }
    KeepWrite k = {r, &a, kind_codes[kind], title, visibility_codes[visibility], body, version, 0};
    if (db_write(r->db, keep_apply, &k) != R_OK)
        return R_INTERNAL;
    return http_redirect(
        r, arena_printf(r->arena, "/countries/%s/submissions/%lld", a.iso3, (long long)k.id));
}

/* ---- kept submissions ---- */

typedef struct {
    Request *r;
    int64_t id;
} SubmissionRead;

static Result read_apply(Db *w, void *ctx)
{
    const SubmissionRead *s = ctx;
    int64_t entry;
    return audit_read_entry(
        w, s->r->user ? s->r->user->id : 0, s->r->api_token_id, "submission viewed",
        arena_printf(s->r->arena, "submission %lld", (long long)s->id), "1", &entry);
}

/* GET /countries/{iso3}/submissions/{id}. */
Result submission_page(Request *r)
{
    const char *iso3;
    int64_t id;
    if (param_iso3(r, "iso3", &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT kind, title, body, visibility, coalesce(author_id, 0), "
                                 "finalised_at, version, coalesce(request_id, 0) "
                                 "FROM submissions WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", id);
    db_bind_text(st, ":iso3", iso3);
    json_t *s = NULL;
    int hidden = 0;
    if (db_row(st) && visibility_can_see(r->user, db_text(st, 3), iso3, db_int(st, 4))) {
        char when[16];
        format_utc(db_int(st, 5), "%Y-%m-%d", when, sizeof when);
        const char *country = country_name_of(r, iso3);
        hidden = strcmp(db_text(st, 3), "public") != 0;
        s = json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id", (json_int_t)id,
                       "iso3", iso3, "country", country ? country : iso3, "kind_label",
                       tr(r, code_label(kind_codes, kind_labels, db_text(st, 0))), "title",
                       db_text(st, 1), "body", db_text(st, 2), "visibility_label",
                       tr(r, code_label(visibility_codes, visibility_labels, db_text(st, 3))),
                       "when", when, "version", (json_int_t)db_int(st, 6), "request",
                       (json_int_t)db_int(st, 7));
    }
    db_done(st);
    if (!s)
        return R_NOT_FOUND;
    SubmissionRead read = {r, id};
    if (hidden && db_write(r->db, read_apply, &read) != R_OK) {
        json_decref(s);
        return R_INTERNAL;
    }
    json_decref(r->data);
    r->data = json_build("{s:o}", "submission", s);
    r->page = "submission";
    r->title = json_string_value(json_object_get(s, "title"));
    r->cache_public = !r->user;
    return R_OK;
}

json_t *submission_country_json(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT vis.id, vis.kind, vis.title, vis.finalised_at "
                                 "FROM submissions vis WHERE vis.iso3 = :iso3 AND " VISIBILITY_SQL
                                 " ORDER BY vis.finalised_at DESC, vis.id DESC LIMIT 50");
    db_bind_text(st, ":iso3", iso3);
    visibility_bind(st, r->user);
    json_t *list = json_array();
    while (db_row(st)) {
        char when[16];
        format_utc(db_int(st, 3), "%Y-%m-%d", when, sizeof when);
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s}", "id", (json_int_t)db_int(st, 0), "kind_label",
                             tr(r, code_label(kind_codes, kind_labels, db_text(st, 1))), "title",
                             db_text(st, 2), "when", when));
    }
    db_done(st);
    return json_build("{s:b, s:o}", "any", json_array_size(list) > 0, "list", list);
}
