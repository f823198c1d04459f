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

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"

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

/* Writes a setting, then fails with the Result in ctx. */
static Result setting_then_fail(Db *w, void *ctx)
{
    Stmt *st = db_prepare(w, "INSERT INTO settings (name, value) VALUES ('k', 'v')");
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return *(Result *)ctx;
}

/* A constraint failure inside a write: R_CONFLICT, and nothing stays. */
static Result orphan_country(Db *w, void *ctx)
{
    (void)ctx;
    Stmt *st = db_prepare(w, "INSERT INTO settings (name, value) VALUES ('k2', 'v')");
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "INSERT INTO user_countries (user_id, iso3) VALUES (999999, 'ARG')");
    return db_run(st); /* foreign key enforced */
}

static int settings_named(Db *db, const char *name)
{
    Stmt *st = db_prepare(db, "SELECT count(*) FROM settings WHERE name = :name");
    db_bind_text(st, ":name", name);
    int n = db_row(st) ? (int)db_int(st, 0) : -1;
    db_done(st);
    return n;
}

static void test_rollback_leaves_nothing(void **state)
{
    (void)state;
    Db *db = db_open(path);
    Result fail = R_BAD_REQUEST;
    assert_int_equal(db_write(db, setting_then_fail, &fail), R_BAD_REQUEST);
    assert_int_equal(settings_named(db, "k"), 0);
    assert_int_equal(db_write(db, orphan_country, NULL), R_CONFLICT);
    assert_int_equal(settings_named(db, "k2"), 0);
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

/* ---- db_write and the writer thread ---- */

/* A job: inserts an api token named name, then fails with fail (R_OK: it
 * succeeds). */
typedef struct {
    const char *name;
    Result fail;
    int64_t id;
} TokenJob;

static Result token_apply(Db *w, void *ctx)
{
    TokenJob *j = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO api_tokens (token_hash, name, scope, created_at) "
                             "VALUES (:hash, :name, 'read', 0) RETURNING id");
    db_bind_text(st, ":hash", j->name);
    db_bind_text(st, ":name", j->name);
    if (db_insert(st, &j->id) != R_OK)
        return R_INTERNAL;
    return j->fail;
}

static int tokens_named(Db *db, const char *name)
{
    Stmt *st = db_prepare(db, "SELECT count(*) FROM api_tokens WHERE name = :name");
    db_bind_text(st, ":name", name);
    int n = db_row(st) ? (int)db_int(st, 0) : -1;
    db_done(st);
    return n;
}

static int hook_runs;
static void count_hook(void)
{
    hook_runs++;
}

static Result hooked_apply(Db *w, void *ctx)
{
    db_after_commit(w, count_hook);
    db_after_commit(w, count_hook); /* once per commit, however often asked */
    return token_apply(w, ctx);
}

static Result nested_apply(Db *w, void *ctx)
{
    TokenJob inner = {"nested-inner", R_CONFLICT, 0};
    /* A db_write inside apply joins the transaction as a savepoint: the
     * inner failure takes back only the inner row. */
    assert_int_equal(db_write(w, token_apply, &inner), R_CONFLICT);
    return token_apply(w, ctx);
}

static void test_db_write_without_writer(void **state)
{
    (void)state;
    Db *db = db_open(path);
    TokenJob ok = {"direct-ok", R_OK, 0}, bad = {"direct-bad", R_BAD_REQUEST, 0};
    assert_int_equal(db_write(db, token_apply, &ok), R_OK);
    assert_true(ok.id > 0);
    assert_int_equal(db_write(db, token_apply, &bad), R_BAD_REQUEST);
    assert_int_equal(tokens_named(db, "direct-ok"), 1);
    assert_int_equal(tokens_named(db, "direct-bad"), 0);
    hook_runs = 0;
    TokenJob hooked = {"direct-hooked", R_OK, 0}, hooked_bad = {"direct-hooked-bad", R_CONFLICT, 0};
    assert_int_equal(db_write(db, hooked_apply, &hooked), R_OK);
    assert_int_equal(db_write(db, hooked_apply, &hooked_bad), R_CONFLICT);
    assert_int_equal(hook_runs, 1);
    TokenJob outer = {"nested-outer", R_OK, 0};
    assert_int_equal(db_write(db, nested_apply, &outer), R_OK);
    assert_int_equal(tokens_named(db, "nested-outer"), 1);
    assert_int_equal(tokens_named(db, "nested-inner"), 0);
    db_close(db);
}

enum { WRITERS = 16, JOBS_EACH = 50 };

typedef struct {
    int index;
    int ok, failed;
} Writer;

/* Every fifth job fails: its row must not be there, and its neighbours'
 * in the same group commit must. */
static void *writer_thread(void *arg)
{
    Writer *wr = arg;
    Db *db = db_open_existing(path);
    for (int i = 0; i < JOBS_EACH; i++) {
        char name[48];
        snprintf(name, sizeof name, "w%d-%d", wr->index, i);
        TokenJob j = {name, i % 5 == 4 ? R_CONFLICT : R_OK, 0};
        Result r = db_write(db, token_apply, &j);
        if (r == R_OK)
            wr->ok++;
        else if (r == R_CONFLICT)
            wr->failed++;
    }
    db_close(db);
    return NULL;
}

static void test_group_commit(void **state)
{
    (void)state;
    Db *setup_db = db_open(path); /* migrations, before the writer */
    db_close(setup_db);
    assert_int_equal(db_writer_start(path), 0);
    /* Opened after the writer started: read-only. */
    Db *reader = db_open_existing(path);
    Stmt *st = db_prepare(reader, "DELETE FROM api_tokens");
    assert_int_not_equal(db_run(st), R_OK);
    pthread_t threads[WRITERS];
    Writer writers[WRITERS] = {0};
    for (int i = 0; i < WRITERS; i++) {
        writers[i].index = i;
        pthread_create(&threads[i], NULL, writer_thread, &writers[i]);
    }
    for (int i = 0; i < WRITERS; i++)
        pthread_join(threads[i], NULL);
    DbWriterStats stats = db_writer_stats();
    db_writer_stop();
    int ok = 0;
    for (int i = 0; i < WRITERS; i++) {
        assert_int_equal(writers[i].ok + writers[i].failed, JOBS_EACH);
        ok += writers[i].ok;
    }
    assert_int_equal(ok, WRITERS * JOBS_EACH * 4 / 5);
    st = db_prepare(reader, "SELECT count(*) FROM api_tokens WHERE name LIKE 'w%'");
    assert_true(db_row(st));
    assert_int_equal(db_int(st, 0), ok);
    db_done(st);
    char name[48];
    for (int w = 0; w < WRITERS; w++)
        for (int i = 0; i < JOBS_EACH; i++) {
            snprintf(name, sizeof name, "w%d-%d", w, i);
            assert_int_equal(tokens_named(reader, name), i % 5 == 4 ? 0 : 1);
        }
    assert_int_equal(stats.jobs, (uint64_t)(WRITERS * JOBS_EACH));
    /* Group commit: fewer commits than jobs when writers wait together. */
    assert_true(stats.batches < stats.jobs);
    db_close(reader);
}

/* A programmer's error in SQL costs the request, not the process. */
static void test_bad_sql_is_a_fault_not_an_abort(void **state)
{
    (void)state;
    Db *db = db_open(path);
    fault_take();
    Stmt *st = db_prepare(db, "SELEC nonsense FROM nowhere");
    assert_int_equal(fault_take(), 1);
    assert_false(db_row(st));
    assert_int_equal(db_done(st), R_OK);
    st = db_prepare(db, "SELECT 1 WHERE 1 = ?");
    assert_int_equal(fault_take(), 1);
    assert_false(db_row(st));
    db_done(st);
    st = db_prepare(db, "SELECT :a");
    db_bind_int(st, ":b", 1);
    assert_int_equal(fault_take(), 1);
    db_done(st);
    assert_int_equal(fault_take(), 0);
    db_close(db);
}

/* What `ratify init` and the log print of a --db URL never shows the
 * password, in the user part or as a parameter. */
static void test_a_shown_target_hides_its_password(void **state)
{
    (void)state;
    char buf[256];
    assert_string_equal(db_target_shown("ratify.db", buf, sizeof buf), "ratify.db");
    assert_string_equal(db_target_shown("postgresql://u:pw@db.internal:5432/r", buf, sizeof buf),
                        "postgresql://u:***@db.internal:5432/r");
    assert_string_equal(
        db_target_shown("postgres://u@/r?host=/s&password=pw&port=5", buf, sizeof buf),
        "postgres://u@/r?host=/s&password=***&port=5");
    assert_string_equal(db_target_shown("postgresql://u@h:5432/r", buf, sizeof buf),
                        "postgresql://u@h:5432/r");
}

/* ---- SQL built at run time, and the copy of a whole database ---- */

static void test_dynamic_statements(void **state)
{
    (void)state;
    Db *db = db_open(path);
    Stmt *st = db_prepare_dynamic(db, "SELECT 1 AS i, 'a' AS t, x'00ff' AS b, NULL AS n, 1.5 AS r");
    assert_non_null(st);
    assert_int_equal(db_row(st), 1);
    assert_int_equal(db_column_count(st), 5);
    assert_string_equal(db_column_name(st, 2), "b");
    assert_int_equal(db_kind(st, 0), DB_INT);
    assert_int_equal(db_kind(st, 1), DB_TEXT);
    assert_int_equal(db_kind(st, 2), DB_BLOB);
    assert_int_equal(db_len(st, 2), 2);
    assert_int_equal(db_kind(st, 3), DB_NULL);
    assert_int_equal(db_kind(st, 4), DB_REAL);
    assert_int_equal(db_done(st), R_OK);
    db_finalize(st);
    /* Bad SQL built at run time is the copy's failure, not a fault. */
    assert_null(db_prepare_dynamic(db, "SELEC nothing"));
    assert_null(db_prepare_dynamic(db, "SELECT ?"));
    assert_int_equal(fault_take(), 0);
    db_close(db);
}

static const DbTableSum *sum_of(const DbCopyReport *r, const char *table)
{
    for (int i = 0; i < r->count; i++)
        if (strcmp(r->tables[i].table, table) == 0)
            return &r->tables[i];
    fail_msg("no table %s in the report", table);
    return NULL;
}

static void test_copy_tables(void **state)
{
    (void)state;
    Db *db = db_open(path);
    TokenJob token = {"copied-token", R_OK, 0};
    assert_int_equal(db_write(db, token_apply, &token), R_OK);
    char a[128], b[128];
    snprintf(a, sizeof a, "%s/copy-a.db", dir);
    snprintf(b, sizeof b, "%s/copy-b.db", dir);
    Db *to = db_open(a);
    assert_int_equal(db_holds_data(to), 0); /* what migrations seed only */
    DbCopyReport first = {0};
    assert_int_equal(db_copy_tables(to, db, 0, &first), R_OK);
    assert_true(first.count > 20);
    for (int i = 0; i < first.count; i++) {
        assert_int_equal(first.tables[i].rows, first.tables[i].target_rows);
        assert_string_equal(first.tables[i].source_sum, first.tables[i].target_sum);
    }
    assert_int_equal(tokens_named(to, "copied-token"), 1);
    assert_int_equal(db_holds_data(to), 1);
    assert_int_equal(db_check(to), R_OK);

    /* Into a database that holds data: refused, unless replacing. */
    DbCopyReport again = {0};
    assert_int_equal(db_copy_tables(to, db, 0, &again), R_CONFLICT);
    assert_int_equal(db_copy_tables(to, db, 1, &again), R_OK);
    assert_int_equal(tokens_named(to, "copied-token"), 1);
    db_copy_report_free(&again);

    /* A change in one row changes that table's sum, and only that one. */
    TokenJob more = {"one-more", R_OK, 0};
    assert_int_equal(db_write(db, token_apply, &more), R_OK);
    Db *other = db_open(b);
    DbCopyReport second = {0};
    assert_int_equal(db_copy_tables(other, db, 0, &second), R_OK);
    assert_string_not_equal(sum_of(&first, "api_tokens")->source_sum,
                            sum_of(&second, "api_tokens")->source_sum);
    assert_string_equal(sum_of(&first, "users")->source_sum, sum_of(&second, "users")->source_sum);
    /* New rows after a copy get new ids. */
    TokenJob after = {"after-copy", R_OK, 0};
    assert_int_equal(db_write(other, token_apply, &after), R_OK);
    assert_true(after.id > more.id);
    db_copy_report_free(&first);
    db_copy_report_free(&second);
    db_close(other);
    db_close(to);
    db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_migrations_and_pragmas),
        cmocka_unit_test(test_binding_is_data_not_sql),
        cmocka_unit_test(test_statement_cache),
        cmocka_unit_test(test_rollback_leaves_nothing),
        cmocka_unit_test(test_backup_and_check),
        cmocka_unit_test(test_db_write_without_writer),
        cmocka_unit_test(test_group_commit),
        cmocka_unit_test(test_bad_sql_is_a_fault_not_an_abort),
        cmocka_unit_test(test_a_shown_target_hides_its_password),
        cmocka_unit_test(test_dynamic_statements),
        cmocka_unit_test(test_copy_tables),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
