/*
 * test_db.c: the db layer against a real SQLite file: migrations applied
 * once, pragmas in force, named binding, the statement cache, transactions
 * that roll back, backup and check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

static char dir[64];
static char path[96];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ratify-test-db-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static void test_migrations_and_pragmas(void **state)
{
    (void)state;
    Db *db = db_open(path);
    assert_non_null(db);
    assert_int_equal(db_schema_version(db), db_migrations_available());
    assert_true(db_migrations_available() >= 1);
    Stmt *st = db_prepare(db, "PRAGMA foreign_keys");
    assert_true(db_row(st));
    assert_int_equal(db_int(st, 0), 1);
    db_done(st);
    st = db_prepare(db, "PRAGMA journal_mode");
    assert_true(db_row(st));
    assert_string_equal(db_text(st, 0), "wal");
    db_done(st);
    st = db_prepare(db, "PRAGMA synchronous");
    assert_true(db_row(st));
    assert_int_equal(db_int(st, 0), 2); /* FULL */
    db_done(st);
    db_close(db);
    /* Opening again applies nothing twice. */
    db = db_open(path);
    assert_int_equal(db_schema_version(db), db_migrations_available());
    db_close(db);
}

static void test_binding_is_data_not_sql(void **state)
{
    (void)state;
    Db *db = db_open(path);
    const char *hostile = "x'); DROP TABLE users; --";
    Stmt *st = db_prepare(db, "INSERT INTO users (email, role, created_at) "
                              "VALUES (:email, 'member', 0)");
    db_bind_text(st, ":email", hostile);
    assert_int_equal(db_run(st), R_OK);
    db_done(st);
    st = db_prepare(db, "SELECT email FROM users WHERE email = :email");
    db_bind_text(st, ":email", hostile);
    assert_true(db_row(st));
    assert_string_equal(db_text(st, 0), hostile);
    db_done(st);
    /* NULL binds NULL; text with length binds exactly those bytes. */
    st = db_prepare(db, "SELECT :a IS NULL, length(:b), typeof(:c)");
    db_bind_text(st, ":a", NULL);
    db_bind_textn(st, ":b", "abcdef", 3);
    db_bind_int(st, ":c", 7);
    assert_true(db_row(st));
    assert_int_equal(db_int(st, 0), 1);
    assert_int_equal(db_int(st, 1), 3);
    assert_string_equal(db_text(st, 2), "integer");
    db_done(st);
    db_close(db);
}

static void test_statement_cache(void **state)
{
    (void)state;
    Db *db = db_open(path);
    Stmt *first = NULL;
    for (int i = 0; i < 3; i++) {
        Stmt *st = db_prepare(db, "SELECT :n + 1");
        if (!first)
            first = st;
        assert_ptr_equal(st, first); /* compiled once, reused */
        db_bind_int(st, ":n", i);
        assert_true(db_row(st));
        assert_int_equal(db_int(st, 0), i + 1);
        assert_int_equal(db_statements_in_use(db), 1);
        db_done(st);
        assert_int_equal(db_statements_in_use(db), 0);
    }
    db_close(db);
}

static void test_rollback_leaves_nothing(void **state)
{
    (void)state;
    Db *db = db_open(path);
    assert_int_equal(db_begin(db), R_OK);
    Stmt *st = db_prepare(db, "INSERT INTO settings (name, value) VALUES ('k', 'v')");
    assert_int_equal(db_run(st), R_OK);
    db_done(st);
    db_rollback(db);
    st = db_prepare(db, "SELECT count(*) FROM settings WHERE name = 'k'");
    assert_true(db_row(st));
    assert_int_equal(db_int(st, 0), 0);
    db_done(st);
    /* A constraint failure inside a transaction, then commit of the rest. */
    assert_int_equal(db_begin(db), R_OK);
    st = db_prepare(db, "INSERT INTO user_countries (user_id, iso3) VALUES (999999, 'ARG')");
    assert_int_equal(db_run(st), R_CONFLICT); /* foreign key enforced */
    db_done(st);
    db_rollback(db);
    db_rollback(db); /* harmless with no transaction open */
    db_close(db);
}

static void test_backup_and_check(void **state)
{
    (void)state;
    Db *db = db_open(path);
    char copy[128];
    snprintf(copy, sizeof copy, "%s/copy.db", dir);
    assert_int_equal(db_backup(db, copy), R_OK);
    assert_int_equal(db_check(db), R_OK);
    Db *c = db_open_existing(copy);
    assert_non_null(c);
    assert_int_equal(db_check(c), R_OK);
    assert_int_equal(db_schema_version(c), db_migrations_available());
    db_close(c);
    db_close(db);
    assert_null(db_open_existing("/nonexistent/dir/x.db"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_and_pragmas),
        cmocka_unit_test(test_binding_is_data_not_sql),
        cmocka_unit_test(test_statement_cache),
        cmocka_unit_test(test_rollback_leaves_nothing),
        cmocka_unit_test(test_backup_and_check),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
