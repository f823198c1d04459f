/*
 * test_group.c: working groups (src/feat/group.c) through their handlers,
 * called directly on a fixture database (tests/unit/fixture.h): creating a
 * group, a short name taken twice, the form shown again with its errors,
 * editing, and the audit line each change writes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "feat/handlers.h"
#include "fixture.h"

static Fixture f;
static User *admin;

static int setup(void **state)
{
    (void)state;
    if (i18n_init() != 0 || fixture_open(&f) != 0)
        return -1;
    admin = fixture_user(&f, "admin@group.test", "admin", NULL);
    return admin ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fixture_close(&f);
    i18n_free();
    return 0;
}

static int64_t count(const char *what)
{
    Stmt *st = strcmp(what, "groups") == 0
                   ? db_prepare(f.db, "SELECT count(*) FROM working_groups")
                   : db_prepare(f.db, "SELECT count(*) FROM audit_log WHERE action LIKE "
                                      "'working group %'");
    int64_t n = db_row(st) ? db_int(st, 0) : -1;
    db_done(st);
    return n;
}

static void test_create_then_the_same_short_name_again(void **state)
{
    (void)state;
    int64_t groups = count("groups"), audit = count("audit");
    Request r = fixture_request(&f, admin, "POST", "/groups",
                                "slug=strategic-litigation&name=Strategic+litigation&"
                                "description=Courts");
    assert_int_equal(group_create_post(&r), R_OK);
    assert_string_equal(r.redirect, "/groups/strategic-litigation");
    fixture_request_free(&r);
    assert_int_equal(count("groups"), groups + 1);
    assert_int_equal(count("audit"), audit + 1);

    r = fixture_request(&f, admin, "POST", "/groups", "slug=strategic-litigation&name=Other");
    assert_int_equal(group_create_post(&r), R_BAD_REQUEST);
    assert_non_null(json_object_get(r.errors, "slug"));
    /* The form comes back with what was typed. */
    assert_string_equal(r.page, "groups");
    fixture_request_free(&r);
    assert_int_equal(count("groups"), groups + 1);
    assert_int_equal(count("audit"), audit + 1);
}

static void test_bad_input_writes_nothing(void **state)
{
    (void)state;
    int64_t before = count("groups");
    const char *bad[] = {"slug=Not+A+Slug&name=Fine", "slug=fine&name=", "name=No+slug", NULL};
    for (int i = 0; bad[i]; i++) {
        Request r = fixture_request(&f, admin, "POST", "/groups", bad[i]);
        assert_int_equal(group_create_post(&r), R_BAD_REQUEST);
        assert_true(json_object_size(r.errors) >= 1);
        fixture_request_free(&r);
    }
    assert_int_equal(count("groups"), before);
}

static void test_edit(void **state)
{
    (void)state;
    Request r = fixture_request(&f, admin, "POST", "/groups", "slug=press-work&name=Media");
    assert_int_equal(group_create_post(&r), R_OK);
    fixture_request_free(&r);
    r = fixture_request(&f, admin, "POST", "/groups/press-work/edit", "name=Media+and+press");
    fixture_path_param(&r, "slug", "press-work");
    assert_int_equal(group_edit_post(&r), R_OK);
    fixture_request_free(&r);
    Stmt *st = db_prepare(f.db, "SELECT name FROM working_groups WHERE slug = 'press-work'");
    assert_true(db_row(st));
    assert_string_equal(db_text(st, 0), "Media and press");
    db_done(st);
    r = fixture_request(&f, admin, "POST", "/groups/nothing/edit", "name=X+y");
    fixture_path_param(&r, "slug", "nothing");
    assert_int_equal(group_edit_post(&r), R_NOT_FOUND);
    fixture_request_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_then_the_same_short_name_again),
        cmocka_unit_test(test_bad_input_writes_nothing),
        cmocka_unit_test(test_edit),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
