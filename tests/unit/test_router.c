/*
 * test_router.c: route matching against the real table in routes.def:
 * literal and patterned paths, captured segments, 404 versus 405, HEAD.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "web/router.h"

static const Route *match(const char *method, const char *path, Params *p, Result *res, Arena *a)
{
    memset(p, 0, sizeof *p);
    return router_match(method, path, a, p, res);
}

static void test_literal_routes(void **state)
{
    (void)state;
    Arena *a = arena_new();
    Params p;
    Result res;
    const Route *rt = match("GET", "/", &p, &res, a);
    assert_non_null(rt);
    assert_string_equal(rt->name, "home_page");
    assert_int_equal(res, R_OK);
    rt = match("POST", "/login", &p, &res, a);
    assert_string_equal(rt->name, "account_login_post");
    assert_int_equal(rt->csrf, 1);
    rt = match("GET", "/login", &p, &res, a);
    assert_string_equal(rt->name, "account_login_page");
    assert_int_equal(rt->csrf, 0);
    arena_free(a);
}

static void test_captures(void **state)
{
    (void)state;
    Arena *a = arena_new();
    Params p;
    Result res;
    const Route *rt = match("GET", "/welcome/abc123", &p, &res, a);
    assert_non_null(rt);
    assert_string_equal(rt->name, "account_welcome_page");
    assert_int_equal(p.count, 1);
    assert_string_equal(form_get(&p, "token")->value, "abc123");
    rt = match("GET", "/static/style.css", &p, &res, a);
    assert_string_equal(form_get(&p, "file")->value, "style.css");
    arena_free(a);
}

static void test_segments_never_span_slashes(void **state)
{
    (void)state;
    Arena *a = arena_new();
    Params p;
    Result res;
    assert_null(match("GET", "/static/../etc/passwd", &p, &res, a));
    assert_int_equal(res, R_NOT_FOUND);
    assert_null(match("GET", "/welcome/", &p, &res, a));
    assert_int_equal(res, R_NOT_FOUND);
    assert_null(match("GET", "/welcome/a/b", &p, &res, a));
    assert_null(match("GET", "/loginx", &p, &res, a));
    assert_null(match("GET", "/login/", &p, &res, a));
    assert_null(match("GET", "", &p, &res, a));
    arena_free(a);
}

static void test_method_not_allowed(void **state)
{
    (void)state;
    Arena *a = arena_new();
    Params p;
    Result res;
    assert_null(match("POST", "/", &p, &res, a));
    assert_int_equal(res, R_METHOD);
    assert_null(match("POST", "/api/v1/status", &p, &res, a));
    assert_int_equal(res, R_METHOD);
    assert_null(match("DELETE", "/login", &p, &res, a));
    assert_int_equal(res, R_METHOD);
    assert_null(match("GET", "/logout", &p, &res, a));
    assert_int_equal(res, R_METHOD);
    arena_free(a);
}

static void test_head_matches_get(void **state)
{
    (void)state;
    Arena *a = arena_new();
    Params p;
    Result res;
    const Route *rt = match("HEAD", "/", &p, &res, a);
    assert_non_null(rt);
    assert_string_equal(rt->name, "home_page");
    assert_null(match("HEAD", "/logout", &p, &res, a));
    arena_free(a);
}

/* Every POST that a browser form sends must be CSRF-checked: the table
 * itself is tested so that a new route cannot forget it. */
static void test_every_post_route_checks_csrf(void **state)
{
    (void)state;
    int posts = 0;
    for (const Route *rt = routes; rt->method; rt++) {
        if (strcmp(rt->method, "POST") == 0) {
            posts++;
            assert_int_equal(rt->csrf, 1);
        }
        assert_true(rt->pattern[0] == '/');
        assert_non_null(rt->handler);
    }
    assert_true(posts >= 4);
}

static void test_admin_routes_need_admin(void **state)
{
    (void)state;
    for (const Route *rt = routes; rt->method; rt++) {
        /* Membership moderation is shared with the national coordinators,
         * whose country scope each handler checks; the rest is admins'. */
        if (strncmp(rt->pattern, "/admin/members/import", 21) == 0 ||
            strncmp(rt->pattern, "/admin/members/export", 21) == 0)
            assert_int_equal(rt->permission, PERM_ADMIN);
        else if (strncmp(rt->pattern, "/admin/members", 14) == 0 ||
                 strncmp(rt->pattern, "/admin/letters", 14) == 0)
            assert_int_equal(rt->permission, PERM_COORDINATOR);
        /* Requests for support and the outcomes across countries are the
         * secretariat's: the admins and the steering committee, who need
         * not be admins; assistance.c and outcome.c check it before
         * anything (test_access.py: 403 to others). */
        else if (strncmp(rt->pattern, "/admin/assistance", 17) == 0 ||
                 strncmp(rt->pattern, "/admin/outcomes", 15) == 0)
            assert_int_equal(rt->permission, PERM_MEMBER);
        /* The list of administration pages: coordinators see theirs. */
        else if (strcmp(rt->pattern, "/admin") == 0)
            assert_int_equal(rt->permission, PERM_COORDINATOR);
        else if (strncmp(rt->pattern, "/admin/", 7) == 0 ||
                 strcmp(rt->pattern, "/api/v1/users") == 0)
            assert_int_equal(rt->permission, PERM_ADMIN);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literal_routes),
        cmocka_unit_test(test_captures),
        cmocka_unit_test(test_segments_never_span_slashes),
        cmocka_unit_test(test_method_not_allowed),
        cmocka_unit_test(test_head_matches_get),
        cmocka_unit_test(test_every_post_route_checks_csrf),
        cmocka_unit_test(test_admin_routes_need_admin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
