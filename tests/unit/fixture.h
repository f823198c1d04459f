/*
 * fixture.h: what a feature's unit test needs (issue 9): a temporary
 * database made as `ratify init` makes one, users made as `ratify user add`
 * makes them, and a Request built by hand for a handler called directly,
 * without the server. Header-only, so that each test stays one file.
 *
 *     Fixture f;
 *     fixture_open(&f);
 *     User *admin = fixture_user(&f, "admin@test.org", "admin", NULL);
 *     Request r = fixture_request(&f, admin, "POST", "/groups", "slug=legal&name=Legal");
 *     assert_int_equal(group_create_post(&r), R_OK);
 *     fixture_request_free(&r);
 *     fixture_close(&f);
 */
#ifndef RATIFY_TEST_FIXTURE_H
#define RATIFY_TEST_FIXTURE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/form.h"
#include "base/i18n.h"
#include "db/db.h"
#include "feat/account.h"
#include "feat/country.h"
#include "feat/treaty.h"
#include "svc/auth.h"
#include "svc/http.h"

typedef struct {
    char dir[64];
    Db *db;
    Arena *arena; /* the users' */
} Fixture;

/* A new database in a temporary folder, with the countries and the treaty
 * record. Returns 0, or -1 (the reason on stderr). */
static inline int fixture_open(Fixture *f)
{
    memset(f, 0, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/ratify-fixture-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    char path[96];
    snprintf(path, sizeof path, "%s/ratify.db", f->dir);
    f->db = db_open(path);
    f->arena = arena_new();
    if (!f->db || auth_init(f->db) != R_OK || country_seed(f->db) != R_OK ||
        treaty_seed(f->db) != R_OK)
        return -1;
    return 0;
}

static inline void fixture_close(Fixture *f)
{
    db_close(f->db);
    arena_free(f->arena);
    char cmd[96];
    snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
    if (system(cmd) != 0)
        fprintf(stderr, "fixture: could not remove %s\n", f->dir);
}

/* A user made through `ratify user add EMAIL --role ROLE [--country ISO3]`
 * (its welcome link goes to standard output), as the handlers see one. */
static inline User *fixture_user(Fixture *f, const char *email, const char *role, const char *iso3)
{
    char *argv[] = {"add", (char *)email, "--role", (char *)role, "--country", (char *)iso3, NULL};
    if (account_user_cmd(f->db, iso3 ? 6 : 4, argv, "http://test.invalid") != R_OK)
        return NULL;
    Stmt *st = db_prepare(f->db, "SELECT id FROM users WHERE email = :email");
    db_bind_text(st, ":email", email);
    int64_t id = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    if (!id)
        return NULL;
    User *u = arena_alloc(f->arena, sizeof *u);
    u->id = id;
    u->email = arena_strdup(f->arena, email);
    u->display_name = "";
    u->role = role_from_name(role);
    if (iso3) {
        u->countries = arena_alloc(f->arena, sizeof(const char *));
        u->countries[0] = arena_strdup(f->arena, iso3);
        u->country_count = 1;
    }
    return u;
}

static inline const char *fixture_no_header(Request *r, const char *name)
{
    (void)r;
    (void)name;
    return NULL;
}

/* A request of user (NULL: a visitor) with an urlencoded body (POST) or
 * query (GET). Path parameters: add them with fixture_path_param. */
static inline Request fixture_request(Fixture *f, User *user, const char *method, const char *path,
                                      const char *params)
{
    Request r = {0};
    r.arena = arena_new();
    r.db = f->db;
    r.method = method;
    r.path = path;
    r.request_id = "fixture";
    r.lang = "en";
    r.client = "127.0.0.1";
    r.base_url = "http://test.invalid";
    r.header = fixture_no_header;
    r.user = user;
    r.is_api = strncmp(path, "/api/", 5) == 0;
    if (params)
        form_parse_urlencoded(r.arena, params, strlen(params),
                              strcmp(method, "POST") == 0 ? &r.form : &r.query);
    return r;
}

/* Sets the path parameter name (what a {name} segment of the route gives). */
static inline void fixture_path_param(Request *r, const char *name, const char *value)
{
    Param *items = arena_alloc(r->arena, (r->path_params.count + 1) * sizeof(Param));
    if (r->path_params.count)
        memcpy(items, r->path_params.items, r->path_params.count * sizeof(Param));
    items[r->path_params.count].name = name;
    items[r->path_params.count].value = value;
    items[r->path_params.count].len = strlen(value);
    r->path_params.items = items;
    r->path_params.count++;
}

static inline void fixture_request_free(Request *r)
{
    json_decref(r->data);
    json_decref(r->errors);
    json_decref(r->json_body);
    buf_free(&r->body_out);
    arena_free(r->arena);
}

#endif
