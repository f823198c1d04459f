/*
 * db.c: SQLite connections, the per-connection statement cache, named
 * binding, transactions, embedded migrations, backup and integrity checks.
 *
 * Invariants: every connection runs with foreign keys on, WAL, a busy
 * timeout and synchronous=FULL (a commit acknowledged to a user survives a
 * power cut). Statements live in the cache until db_close finalises them.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assets.h"

/* One cached statement. The key is the address of the SQL literal: the
 * same call site always passes the same address, so no hashing of text. */
typedef struct {
    const char *sql;
    sqlite3_stmt *stmt;
} CacheEntry;

struct Db {
    sqlite3 *handle;
    CacheEntry *cache; /* open addressing, power-of-two size */
    size_t cache_size;
    size_t cache_used;
};

enum { BUSY_TIMEOUT_MS = 5000 };

static size_t hash_ptr(const void *p, size_t size)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 7) & (size - 1);
}

static void cache_grow(Db *db)
{
    size_t old_size = db->cache_size;
    CacheEntry *old = db->cache;
    db->cache_size = old_size ? old_size * 2 : 64;
    db->cache = xcalloc(db->cache_size, sizeof(CacheEntry));
    for (size_t i = 0; i < old_size; i++) {
        if (!old[i].sql)
            continue;
        size_t h = hash_ptr(old[i].sql, db->cache_size);
        while (db->cache[h].sql)
            h = (h + 1) & (db->cache_size - 1);
        db->cache[h] = old[i];
    }
    free(old);
}

static Result exec_script(sqlite3 *h, const char *sql, const char *what)
{
    char *err = NULL;
    if (sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "ratify: %s: %s\n", what, err ? err : sqlite3_errmsg(h));
        sqlite3_free(err);
        return R_INTERNAL;
    }
    return R_OK;
}

static Db *open_handle(const char *path, int flags)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(path, &h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        fprintf(stderr, "ratify: cannot open database %s: %s\n", path,
                h ? sqlite3_errmsg(h) : "out of memory");
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_busy_timeout(h, BUSY_TIMEOUT_MS);
    sqlite3_extended_result_codes(h, 1);
    if (exec_script(h,
                    "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; "
                    "PRAGMA synchronous=FULL; PRAGMA trusted_schema=OFF; "
                    "PRAGMA secure_delete=ON;",
                    path) != R_OK) {
        sqlite3_close(h);
        return NULL;
    }
    Db *db = xcalloc(1, sizeof(Db));
    db->handle = h;
    cache_grow(db);
    return db;
}

/* Migrations are the embedded files schema/NNN_name.sql, applied in path
 * order (the assets table is sorted), each recorded in schema_migrations. */
static int is_migration(const Asset *a)
{
    size_t n = strlen(a->path);
    return strncmp(a->path, "schema/", 7) == 0 && n > 11 && strcmp(a->path + n - 4, ".sql") == 0;
}

int db_migrations_available(void)
{
    int n = 0;
    for (const Asset *a = assets; a->path; a++)
        n += is_migration(a);
    return n;
}

static int migration_applied(Db *db, const char *name)
{
    sqlite3_stmt *st = db_prepare(db, "SELECT 1 FROM schema_migrations WHERE name = :name");
    db_bind_text(st, ":name", name);
    int found = db_step(st) == SQLITE_ROW;
    db_done(st);
    return found;
}

static Result apply_migration(Db *db, const Asset *a)
{
    if (db_begin(db) != R_OK)
        return R_INTERNAL;
    if (exec_script(db->handle, (const char *)a->data, a->path) != R_OK) {
        db_rollback(db);
        return R_INTERNAL;
    }
    sqlite3_stmt *st = db_prepare(
        db, "INSERT INTO schema_migrations (name, applied_at) VALUES (:name, :applied_at)");
    db_bind_text(st, ":name", a->path);
    db_bind_int(st, ":applied_at", now_seconds());
    int rc = db_step(st);
    db_done(st);
    if (rc != SQLITE_DONE) {
        db_rollback(db);
        return R_INTERNAL;
    }
    return db_commit(db);
}

static Result migrate(Db *db)
{
    if (db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)") != R_OK)
        return R_INTERNAL;
    for (const Asset *a = assets; a->path; a++) {
        if (!is_migration(a) || migration_applied(db, a->path))
            continue;
        if (apply_migration(db, a) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

Db *db_open(const char *path)
{
    Db *db = open_handle(path, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (db && migrate(db) != R_OK) {
        db_close(db);
        return NULL;
    }
    return db;
}

Db *db_open_existing(const char *path)
{
    return open_handle(path, SQLITE_OPEN_READWRITE);
}

void db_close(Db *db)
{
    if (!db)
        return;
    for (size_t i = 0; i < db->cache_size; i++)
        sqlite3_finalize(db->cache[i].stmt);
    free(db->cache);
    sqlite3_close(db->handle);
    free(db);
}

sqlite3 *db_handle(Db *db)
{
    return db->handle;
}

/* Named parameters only: a positional "?" would let values be bound in the
 * wrong order without anyone noticing. */
static void check_parameters(sqlite3_stmt *st, const char *sql)
{
    int n = sqlite3_bind_parameter_count(st);
    for (int i = 1; i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (!name || name[0] != ':') {
            fprintf(stderr, "ratify: SQL must use :named parameters: %s\n", sql);
            abort();
        }
    }
}

sqlite3_stmt *db_prepare_(Db *db, const char *sql)
{
    size_t h = hash_ptr(sql, db->cache_size);
    while (db->cache[h].sql) {
        if (db->cache[h].sql == sql) {
            sqlite3_stmt *st = db->cache[h].stmt;
            sqlite3_reset(st);
            sqlite3_clear_bindings(st);
            return st;
        }
        h = (h + 1) & (db->cache_size - 1);
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v3(db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "ratify: bad SQL: %s\n  in: %s\n", sqlite3_errmsg(db->handle), sql);
        abort();
    }
    check_parameters(st, sql);
    db->cache[h].sql = sql;
    db->cache[h].stmt = st;
    if (++db->cache_used * 2 > db->cache_size)
        cache_grow(db);
    return st;
}

static int param_index(sqlite3_stmt *st, const char *name)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i == 0) {
        fprintf(stderr, "ratify: no parameter %s in: %s\n", name, sqlite3_sql(st));
        abort();
    }
    return i;
}

void db_bind_text(sqlite3_stmt *st, const char *name, const char *text)
{
    if (text)
        sqlite3_bind_text(st, param_index(st, name), text, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, param_index(st, name));
}

void db_bind_textn(sqlite3_stmt *st, const char *name, const char *text, size_t len)
{
    sqlite3_bind_text64(st, param_index(st, name), text, len, SQLITE_TRANSIENT, SQLITE_UTF8);
}

void db_bind_int(sqlite3_stmt *st, const char *name, int64_t value)
{
    sqlite3_bind_int64(st, param_index(st, name), value);
}

void db_bind_blob(sqlite3_stmt *st, const char *name, const void *data, size_t len)
{
    sqlite3_bind_blob64(st, param_index(st, name), data, len, SQLITE_TRANSIENT);
}

void db_bind_null(sqlite3_stmt *st, const char *name)
{
    sqlite3_bind_null(st, param_index(st, name));
}

int db_step(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        log_info("sqlite: %s (%d) in: %s", sqlite3_errmsg(sqlite3_db_handle(st)), rc,
                 sqlite3_sql(st));
    return rc;
}

void db_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

const char *db_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

int64_t db_int(sqlite3_stmt *st, int col)
{
    return sqlite3_column_int64(st, col);
}

int db_is_null(sqlite3_stmt *st, int col)
{
    return sqlite3_column_type(st, col) == SQLITE_NULL;
}

Result db_exec_(Db *db, const char *sql)
{
    sqlite3_stmt *st = db_prepare_(db, sql);
    int rc = db_step(st);
    db_done(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? R_OK : R_INTERNAL;
}

Result db_begin(Db *db)
{
    return db_exec(db, "BEGIN IMMEDIATE");
}

Result db_commit(Db *db)
{
    if (db_exec(db, "COMMIT") != R_OK) {
        db_rollback(db);
        return R_INTERNAL;
    }
    return R_OK;
}

int db_in_transaction(Db *db)
{
    return !sqlite3_get_autocommit(db->handle);
}

void db_rollback(Db *db)
{
    if (!sqlite3_get_autocommit(db->handle))
        db_exec(db, "ROLLBACK");
}

int64_t db_last_id(Db *db)
{
    return sqlite3_last_insert_rowid(db->handle);
}

int db_changes(Db *db)
{
    return sqlite3_changes(db->handle);
}

int db_schema_version(Db *db)
{
    sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM schema_migrations");
    int n = db_step(st) == SQLITE_ROW ? (int)db_int(st, 0) : 0;
    db_done(st);
    return n;
}

Result db_backup(Db *db, const char *path)
{
    sqlite3 *dest = NULL;
    Result r = R_INTERNAL;
    if (sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "ratify: cannot create %s: %s\n", path, sqlite3_errmsg(dest));
        goto done;
    }
    sqlite3_backup *b = sqlite3_backup_init(dest, "main", db->handle, "main");
    if (!b) {
        fprintf(stderr, "ratify: backup failed: %s\n", sqlite3_errmsg(dest));
        goto done;
    }
    /* Copy in steps so that writers are not held off for the whole copy;
     * a write in between restarts the copy, which is what keeps it
     * consistent. */
    int rc;
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(10);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "ratify: backup failed: %s\n", sqlite3_errstr(rc));
        goto done;
    }
    r = R_OK;
done:
    sqlite3_close(dest);
    return r;
}

Result db_check(Db *db)
{
    Result r = R_OK;
    sqlite3_stmt *st = db_prepare(db, "PRAGMA integrity_check");
    while (db_step(st) == SQLITE_ROW) {
        const char *msg = db_text(st, 0);
        if (strcmp(msg, "ok") != 0) {
            fprintf(stderr, "integrity: %s\n", msg);
            r = R_INTERNAL;
        }
    }
    db_done(st);
    st = db_prepare(db, "PRAGMA foreign_key_check");
    while (db_step(st) == SQLITE_ROW) {
        fprintf(stderr, "foreign key: table %s row %lld refers to missing %s\n", db_text(st, 0),
                (long long)db_int(st, 1), db_text(st, 2));
        r = R_INTERNAL;
    }
    db_done(st);
    return r;
}

int db_statements_in_use(Db *db)
{
    int n = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(db->handle, NULL); st;
         st = sqlite3_next_stmt(db->handle, st))
        n += sqlite3_stmt_busy(st);
    return n;
}

int64_t db_data_version(Db *db)
{
    sqlite3_stmt *st = db_prepare(db, "PRAGMA data_version");
    int64_t v = db_step(st) == SQLITE_ROW ? db_int(st, 0) : -1;
    db_done(st);
    return v;
}

void db_checkpoint(Db *db)
{
    sqlite3_wal_checkpoint_v2(db->handle, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}
