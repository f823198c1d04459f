/*
 * api_token.c: API tokens that admins issue to other systems, with a scope
 * (read, or write too): the admin page, `ratify token`, and nothing else.
 * Checking a token is svc/auth.c's job (load_api_token): every request
 * needs it, so it lives below the features.
 *
 * Invariant: a token is shown once, when it is made; only its keyed hash
 * is stored, so a copy of the database grants no access.
 */
#include <stdio.h>
#include <string.h>

#include "feat/api_token.h"
#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/http.h"

static const char *const scope_codes[] = {"read", "write", NULL};
static const char *const scope_labels[] = {N_("Read"), N_("Read and write"), NULL};

/* A token being issued: the caller's input, then the token (64 hex
 * digits, shown once) and its id. */
typedef struct {
    const char *name, *scope;
    int64_t user_id;
    char token[65];
    int64_t id;
} NewToken;

static Result token_create_apply(Db *w, void *ctx)
{
    NewToken *t = ctx;
    char hash[65];
    random_hex(t->token, 32);
    auth_token_hash("api-token", t->token, hash);
    if (auth_api_token_insert(w, hash, t->name, t->scope, t->user_id, &t->id) != R_OK)
        return R_INTERNAL;
    char object[32];
    snprintf(object, sizeof object, "api token %lld", (long long)t->id);
    return audit_log(w, t->user_id, "api token issued", object, t->scope);
}

static json_t *token_list(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT id, name, scope, created_at, coalesce(last_used, 0), revoked_at IS NOT NULL "
               "FROM api_tokens ORDER BY id DESC");
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:I, s:I, s:b}", "id", (json_int_t)db_int(st, 0),
                             "name", db_text(st, 1), "scope_label",
                             tr(r, code_label(scope_codes, scope_labels, db_text(st, 2))),
                             "created_at", (json_int_t)db_int(st, 3), "last_used",
                             (json_int_t)db_int(st, 4), "revoked", (int)db_int(st, 5)));
    db_done(st);
    return list;
}

Result api_token_list_page(Request *r)
{
    r->page = "admin_tokens";
    r->title = tr(r, "API tokens");
    json_decref(r->data);
    r->data = json_build("{s:o}", "tokens", token_list(r));
    return R_OK;
}

Result api_token_create_post(Request *r)
{
    const char *name = NULL;
    int scope = 0;
    int bad = param_text(r, "name", 2, 100, 0, &name) != R_OK;
    bad |= param_enum(r, "scope", scope_codes, &scope) != R_OK;
    if (bad) {
        api_token_list_page(r);
        return R_BAD_REQUEST;
    }
    NewToken t = {.name = name, .scope = scope_codes[scope], .user_id = r->user->id};
    if (db_write(r->db, token_create_apply, &t) != R_OK)
        return R_INTERNAL;
    api_token_list_page(r);
    /* Shown this once: the page is no-store, as every logged-in page. */
    json_object_set_new(r->data, "new_token", json_string(t.token));
    return R_OK;
}

typedef struct {
    Request *r;
    int64_t id;
} Revoke;

static Result token_revoke_apply(Db *w, void *ctx)
{
    Revoke *v = ctx;
    Result rc = auth_api_token_revoke(w, v->id);
    if (rc != R_OK)
        return rc;
    return audit_log(w, v->r->user->id, "api token revoked",
                     arena_printf(v->r->arena, "api token %lld", (long long)v->id), "");
}

Result api_token_revoke_post(Request *r)
{
    Revoke v = {.r = r};
    if (param_int(r, "id", 1, INT64_MAX, &v.id) != R_OK)
        return R_NOT_FOUND;
    Result res = db_write(r->db, token_revoke_apply, &v);
    return res == R_OK ? http_redirect(r, "/admin/tokens?done=revoked") : res;
}

/* GET /admin/tokens/{id}/revoke: which token, what stops working, and a
 * Revoke button. A revoked or unknown token is a 404. */
Result api_token_revoke_page(Request *r)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT name, scope FROM api_tokens "
                                 "WHERE id = :id AND revoked_at IS NULL");
    db_bind_int(st, ":id", id);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    json_t *what = json_array();
    confirm_line(r, what, N_("Name"), db_text(st, 0));
    confirm_line(r, what, N_("Scope"),
                 tr(r, code_label(scope_codes, scope_labels, db_text(st, 1))));
    db_done(st);
    ConfirmPage c = {.heading = tr(r, "Revoke this API token?"),
                     .consequence =
                         tr(r, "Every system that uses it will be refused from now on. "
                               "This cannot be undone: issue a new token if one is needed "
                               "again. The revocation is recorded in the audit log."),
                     .action = arena_printf(r->arena, "/admin/tokens/%lld/revoke", (long long)id),
                     .button = tr(r, "Revoke"),
                     .cancel = "/admin/tokens",
                     .what = what};
    return http_confirm(r, &c);
}

Result api_token_cmd(Db *db, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[0], "add") == 0) {
        const char *scope = "read";
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "--scope") == 0 && i + 1 < argc)
                scope = argv[++i];
            else
                goto usage;
        }
        if (strcmp(scope, "read") != 0 && strcmp(scope, "write") != 0)
            goto usage;
        NewToken t = {.name = argv[1], .scope = scope};
        if (db_write(db, token_create_apply, &t) != R_OK)
            return R_INTERNAL;
        printf("Token %lld (%s, %s). Send it as 'Authorization: Bearer TOKEN'; it is shown "
               "only now:\n%s\n",
               (long long)t.id, argv[1], scope, t.token);
        return R_OK;
    }
usage:
    fprintf(stderr, "usage: ratify token add NAME [--scope read|write]\n");
    return R_BAD_REQUEST;
}
