/*
 * test_auth.c: session and CSRF token handling, password hashing,
 * permissions and country scope (src/svc/auth.c), and the request framing
 * check (src/server.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat/account.h"
#include "svc/auth.h"
#include "web/server.h"

static Db *db;
static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ratify-test-auth-XXXXXX");
    assert_non_null(mkdtemp(dir));
    char path[96];
    snprintf(path, sizeof path, "%s/t.db", dir);
    db = db_open(path);
    assert_non_null(db);
    return auth_init(db) == R_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    db_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void test_csrf_token_binding(void **state)
{
    (void)state;
    char a[65], a2[65], b[65];
    auth_csrf_token("session-one", a);
    auth_csrf_token("session-one", a2);
    auth_csrf_token("session-two", b);
    assert_int_equal(strlen(a), 64);
    assert_string_equal(a, a2);    /* stable for one browser */
    assert_string_not_equal(a, b); /* useless for another */
    assert_string_not_equal(a, "session-one");
}

static const char *header_none(Request *r, const char *name)
{
    (void)r;
    (void)name;
    return NULL;
}

static void test_csrf_check(void **state)
{
    (void)state;
    Request r = {0};
    r.arena = arena_new();
    r.header = header_none;
    char token[65];
    auth_csrf_token("binding", token);
    r.csrf_token = token;
    char body[128];
    snprintf(body, sizeof body, "csrf_token=%s", token);
    form_parse_urlencoded(r.arena, body, strlen(body), &r.form);
    assert_true(auth_csrf_ok(&r));
    Params other = {0};
    char forged[65];
    memcpy(forged, token, sizeof forged);
    forged[0] = forged[0] == 'a' ? 'b' : 'a';
    snprintf(body, sizeof body, "csrf_token=%s", forged);
    form_parse_urlencoded(r.arena, body, strlen(body), &other);
    r.form = other;
    assert_false(auth_csrf_ok(&r)); /* one character off */
    Params empty = {0};
    r.form = empty;
    assert_false(auth_csrf_ok(&r)); /* missing */
    form_parse_urlencoded(r.arena, "csrf_token=", 11, &r.form);
    assert_false(auth_csrf_ok(&r)); /* empty */
    arena_free(r.arena);
}

static void test_passwords(void **state)
{
    (void)state;
    char hash[128];
    assert_int_equal(auth_hash_password("correct horse battery", hash), R_OK);
    assert_non_null(strstr(hash, "$argon2id$"));
    assert_true(auth_verify_password(hash, "correct horse battery"));
    assert_false(auth_verify_password(hash, "correct horse batterY"));
    assert_false(auth_verify_password(NULL, "x"));
    assert_false(auth_verify_password("", ""));
}

static void test_permissions(void **state)
{
    (void)state;
    const char *countries[] = {"AGO", "ARG"};
    User member = {.id = 1, .role = ROLE_MEMBER};
    User coord = {.id = 2, .role = ROLE_COORDINATOR, .countries = countries, .country_count = 2};
    User admin = {.id = 3, .role = ROLE_ADMIN};
    Request r = {0};
    assert_int_equal(auth_require(&r, PERM_PUBLIC), R_OK);
    assert_int_equal(auth_require(&r, PERM_MEMBER), R_UNAUTHORIZED);
    r.user = &member;
    assert_int_equal(auth_require(&r, PERM_MEMBER), R_OK);
    assert_int_equal(auth_require(&r, PERM_COORDINATOR), R_FORBIDDEN);
    r.user = &coord;
    assert_int_equal(auth_require(&r, PERM_COORDINATOR), R_OK);
    assert_int_equal(auth_require(&r, PERM_ADMIN), R_FORBIDDEN);
    r.user = &admin;
    assert_int_equal(auth_require(&r, PERM_ADMIN), R_OK);
    assert_true(auth_covers_country(&coord, "ARG"));
    assert_false(auth_covers_country(&coord, "BRA"));
    assert_true(auth_covers_country(&admin, "BRA"));
    assert_false(auth_covers_country(&member, "ARG"));
    assert_false(auth_covers_country(NULL, "ARG"));
}

/* A link issued inside a write, as member.c does. */
typedef struct {
    const char *email, *purpose;
    char path[96];
} IssueCtx;

static Result issue_apply(Db *w, void *ctx)
{
    IssueCtx *c = ctx;
    return auth_issue_welcome(w, c->email, c->purpose, 1, c->path);
}

static Result user_insert_apply(Db *w, void *ctx)
{
    Stmt *st = db_prepare(w, "INSERT INTO users (email, role, created_at) "
                             "VALUES (:email, 'member', 0)");
    db_bind_text(st, ":email", ctx);
    return db_run(st);
}

static void test_welcome_tokens(void **state)
{
    (void)state;
    IssueCtx nobody = {.email = "nobody@example.org", .purpose = "welcome"};
    assert_int_equal(db_write(db, issue_apply, &nobody), R_NOT_FOUND);
    assert_int_equal(db_write(db, user_insert_apply, "ana@example.org"), R_OK);
    IssueCtx first = {.email = "ana@example.org", .purpose = "welcome"};
    IssueCtx second = {.email = "ana@example.org", .purpose = "reset"};
    assert_int_equal(db_write(db, issue_apply, &first), R_OK);
    assert_int_equal(db_write(db, issue_apply, &second), R_OK);
    assert_int_equal(strlen(first.path), strlen("/welcome/") + 64);
    assert_string_not_equal(first.path, second.path);
    /* Only a hash is stored: the token itself is not in the database. */
    Stmt *st = db_prepare(db, "SELECT count(*) FROM login_tokens WHERE token_hash = :t");
    db_bind_text(st, ":t", first.path + 9);
    assert_true(db_row(st));
    assert_int_equal(db_int(st, 0), 0);
    db_done(st);
    st = db_prepare(db, "SELECT count(*) FROM login_tokens");
    assert_true(db_row(st));
    assert_int_equal(db_int(st, 0), 2);
    db_done(st);
}

static int64_t count_where(Db *c, const char *email)
{
    Stmt *st = db_prepare(c, "SELECT count(*) FROM login_tokens t JOIN users u ON u.id = "
                             "t.user_id WHERE u.email = :email");
    db_bind_text(st, ":email", email);
    int64_t n = db_row(st) ? db_int(st, 0) : -1;
    db_done(st);
    return n;
}

/* With the writer thread running, every other connection is read-only: the
 * throttling counters and the `ratify user` commands still work, so none
 * of them writes outside db_write. */
static void test_writes_only_through_the_writer(void **state)
{
    (void)state;
    char path[96];
    snprintf(path, sizeof path, "%s/t.db", dir);
    assert_int_equal(db_writer_start(path), 0);
    Db *ro = db_open_existing(path);
    assert_non_null(ro);
    /* The safety net is there: a direct write fails. */
    Stmt *st = db_prepare(ro, "DELETE FROM login_failures");
    assert_int_not_equal(db_run(st), R_OK);

    char key[65];
    auth_token_hash("throttle-account", "someone@example.org", key);
    assert_false(auth_throttled(ro, key, THROTTLE_ACCOUNT));
    for (int i = 0; i < THROTTLE_ACCOUNT; i++)
        assert_int_equal(auth_failed_attempt(ro, key, NULL), R_OK);
    assert_true(auth_throttled(ro, key, THROTTLE_ACCOUNT));

    char email[] = "Coord@Example.org", role_opt[] = "--role", role[] = "coordinator",
         country_opt[] = "--country", country[] = "ARG";
    char add[] = "add", *add_argv[] = {add, email, role_opt, role, country_opt, country};
    assert_int_equal(account_user_cmd(ro, 6, add_argv, "http://localhost"), R_OK);
    /* The user and their link in one write: the link is there. */
    assert_int_equal(count_where(ro, "coord@example.org"), 1);
    char again[] = "coord@example.org";
    add_argv[1] = again;
    assert_int_equal(account_user_cmd(ro, 6, add_argv, "http://localhost"), R_CONFLICT);
    assert_int_equal(count_where(ro, "coord@example.org"), 1);

    char reset[] = "reset-2fa", who[] = "coord@example.org", *reset_argv[] = {reset, who};
    assert_int_equal(account_user_cmd(ro, 2, reset_argv, "http://localhost"), R_OK);
    char nobody[] = "nobody@example.org";
    reset_argv[1] = nobody;
    assert_int_equal(account_user_cmd(ro, 2, reset_argv, "http://localhost"), R_NOT_FOUND);

    db_close(ro);
    db_writer_stop();
}

static void test_framing(void **state)
{
    (void)state;
    const char *ok_names[] = {"Host", "Content-Length", "Content-Type"};
    const char *ok_values[] = {"x", "12", "text/plain"};
    assert_null(server_framing_problem(ok_names, ok_values, 3));
    const char *two_cl[] = {"Content-Length", "content-length"};
    const char *two_vals[] = {"5", "5"};
    assert_non_null(server_framing_problem(two_cl, two_vals, 2));
    const char *cl_te[] = {"Content-Length", "Transfer-Encoding"};
    const char *cl_te_vals[] = {"5", "chunked"};
    assert_non_null(server_framing_problem(cl_te, cl_te_vals, 2));
    const char *te[] = {"Transfer-Encoding"};
    const char *te_ok[] = {"chunked"};
    const char *te_bad1[] = {"gzip, chunked"};
    const char *te_bad2[] = {"Chunked "};
    assert_null(server_framing_problem(te, te_ok, 1));
    assert_non_null(server_framing_problem(te, te_bad1, 1));
    assert_non_null(server_framing_problem(te, te_bad2, 1));
    const char *cl[] = {"Content-Length"};
    const char *cl_plus[] = {"+5"};
    const char *cl_list[] = {"5, 5"};
    assert_non_null(server_framing_problem(cl, cl_plus, 1));
    assert_non_null(server_framing_problem(cl, cl_list, 1));
    const char *space_name[] = {"Content-Length "};
    const char *tab_name[] = {"X\tY"};
    const char *v5[] = {"5"};
    assert_non_null(server_framing_problem(space_name, v5, 1));
    assert_non_null(server_framing_problem(tab_name, v5, 1));
    /* How libmicrohttpd 0.9.75 presents "Content-Length: 0\r\n 5". */
    const char *folded[] = {"Content-Length5", "transfer-encodingchunked"};
    const char *v0[] = {"0", "x"};
    assert_non_null(server_framing_problem(folded, v0, 1));
    assert_non_null(server_framing_problem(folded + 1, v0 + 1, 1));
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csrf_token_binding),
        cmocka_unit_test(test_csrf_check),
        cmocka_unit_test(test_passwords),
        cmocka_unit_test(test_permissions),
        cmocka_unit_test(test_welcome_tokens),
        cmocka_unit_test(test_framing),
        cmocka_unit_test(test_writes_only_through_the_writer),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
