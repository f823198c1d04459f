/*
 * db.c: the storage API's front door. Each call goes to the engine of the
 * connection or statement it is given (engine.h); what does not depend on
 * the engine (running a statement to its end, the list of migrations) is
 * written here once.
 */
#include "db/db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/engine.h"

int db_target_is_postgres(const char *target)
{
    return strncmp(target, "postgresql://", 13) == 0 || strncmp(target, "postgres://", 11) == 0;
}

/* Appends to out what follows from in, with the password ("user:SECRET@"
 * or "password=SECRET") masked. */
static void mask_password(const char *in, char *out, size_t size)
{
    size_t n = 0;
    const char *host = strchr(in, '@'), *path = strchr(in, '/');
    for (const char *p = in; *p && n + 4 < size;) {
        int user_secret = *p == ':' && host && p < host && (!path || host < path);
        int param_secret = strncmp(p, "password=", 9) == 0 &&
                           (p == in || p[-1] == '?' || p[-1] == '&' || p[-1] == ' ');
        if (user_secret || param_secret) {
            size_t keep = user_secret ? 1 : 9;
            memcpy(out + n, p, keep);
            n += keep;
            memcpy(out + n, "***", 3);
            n += 3;
            p += keep;
            p += user_secret ? strcspn(p, "@") : strcspn(p, "& ");
            continue;
        }
        out[n++] = *p++;
    }
    out[n] = '\0';
}

const char *db_target_shown(const char *target, char *buf, size_t size)
{
    if (!db_target_is_postgres(target) || size < 16)
        return target;
    const char *rest = strstr(target, "://") + 3;
    size_t scheme = (size_t)(rest - target);
    if (scheme >= size)
        return target;
    memcpy(buf, target, scheme);
    mask_password(rest, buf + scheme, size - scheme);
    return buf;
}

static const DbEngine *engine_for(const char *target)
{
    return db_target_is_postgres(target) ? &postgres_engine : &sqlite_engine;
}

Db *db_open(const char *target)
{
    return engine_for(target)->open(target, 1);
}

Db *db_open_existing(const char *target)
{
    return engine_for(target)->open(target, 0);
}

void db_close(Db *db)
{
    if (db)
        db->engine->close(db);
}

const char *db_engine_name(Db *db)
{
    return db->engine->name;
}

Stmt *db_prepare_(Db *db, const char *sql)
{
    return db->engine->prepare(db, sql);
}

void db_bind_text(Stmt *st, const char *name, const char *text)
{
    if (text)
        st->engine->bind_text(st, name, text, strlen(text));
    else
        st->engine->bind_null(st, name);
}

void db_bind_textn(Stmt *st, const char *name, const char *text, size_t len)
{
    st->engine->bind_text(st, name, text, len);
}

void db_bind_int(Stmt *st, const char *name, int64_t value)
{
    st->engine->bind_int(st, name, value);
}

void db_bind_blob(Stmt *st, const char *name, const void *data, size_t len)
{
    st->engine->bind_blob(st, name, data, len);
}

void db_bind_null(Stmt *st, const char *name)
{
    st->engine->bind_null(st, name);
}

int db_row(Stmt *st)
{
    return st->engine->row(st);
}

Result db_done(Stmt *st)
{
    return st->engine->done(st);
}

Result db_run(Stmt *st)
{
    while (db_row(st))
        ;
    return db_done(st);
}

Result db_insert(Stmt *st, int64_t *id)
{
    int found = db_row(st);
    if (found)
        *id = db_int(st, 0);
    while (found && db_row(st))
        ;
    Result r = db_done(st);
    return r == R_OK && !found ? R_INTERNAL : r;
}

const char *db_text(Stmt *st, int col)
{
    return st->engine->text(st, col);
}

size_t db_len(Stmt *st, int col)
{
    return st->engine->len(st, col);
}

const void *db_blob(Stmt *st, int col)
{
    return st->engine->blob(st, col);
}

int64_t db_int(Stmt *st, int col)
{
    return st->engine->integer(st, col);
}

int db_is_null(Stmt *st, int col)
{
    return st->engine->is_null(st, col);
}

Result db_exec_(Db *db, const char *sql)
{
    Stmt *st = db_prepare_(db, sql);
    db_row(st); /* a pragma may answer with a row: only the error matters */
    return db_done(st) == R_OK ? R_OK : R_INTERNAL;
}

Result db_write(Db *db, DbApply apply, void *ctx)
{
    return db->engine->write(db, apply, ctx);
}

void db_after_commit(Db *w, void (*hook)(void))
{
    w->engine->after_commit(w, hook);
}

int db_changes(Db *db)
{
    return db->engine->changes(db);
}

int64_t db_data_version(Db *db)
{
    return db->engine->data_version(db);
}

void db_checkpoint(Db *db)
{
    db->engine->checkpoint(db);
}

int db_statements_in_use(Db *db)
{
    return db->engine->statements_in_use(db);
}

void db_reset_all(Db *db)
{
    db->engine->reset_all(db);
}

Result db_check(Db *db)
{
    return db->engine->check(db);
}

Result db_backup(Db *db, const char *path)
{
    return db->engine->backup(db, path);
}

Result db_snapshot(Db *db, unsigned char **bytes, size_t *len)
{
    return db->engine->snapshot(db, bytes, len);
}

void db_tune_for_bulk_load(Db *db)
{
    db->engine->tune_for_bulk_load(db);
}

int db_try_lock(Db *db, const char *name)
{
    return db->engine->try_lock(db, name);
}

void db_unlock(Db *db, const char *name)
{
    db->engine->unlock(db, name);
}

const char *db_engine_version(void)
{
    static char version[96];
    snprintf(version, sizeof version, "%s, %s", sqlite_engine.version(), postgres_engine.version());
    return version;
}

int db_schema_version(Db *db)
{
    Stmt *st = db_prepare(db, "SELECT count(*) FROM schema_migrations");
    int n = db_row(st) ? (int)db_int(st, 0) : 0;
    db_done(st);
    return n;
}

/* ---- shared by the engines ---- */

static size_t hash_ptr(const void *p, size_t size)
{
    uintptr_t x = (uintptr_t)p;
    x ^= x >> 17;
    x *= 0x9e3779b97f4a7c15ull;
    return (size_t)(x >> 7) & (size - 1);
}

static size_t slot_of(const DbCache *c, const char *sql)
{
    size_t h = hash_ptr(sql, c->size);
    while (c->slots[h].sql && c->slots[h].sql != sql)
        h = (h + 1) & (c->size - 1);
    return h;
}

void *db_cache_get(const DbCache *c, const char *sql)
{
    return c->size ? c->slots[slot_of(c, sql)].stmt : NULL;
}

static void cache_grow(DbCache *c)
{
    DbCache old = *c;
    c->size = old.size ? old.size * 2 : 64;
    c->slots = xcalloc(c->size, sizeof(DbCacheSlot));
    for (size_t i = 0; i < old.size; i++)
        if (old.slots[i].sql)
            c->slots[slot_of(c, old.slots[i].sql)] = old.slots[i];
    free(old.slots);
}

void db_cache_put(DbCache *c, const char *sql, void *stmt)
{
    if ((c->used + 1) * 2 > c->size)
        cache_grow(c);
    size_t h = slot_of(c, sql);
    c->used += !c->slots[h].sql;
    c->slots[h] = (DbCacheSlot){sql, stmt};
}

void db_cache_free(DbCache *c)
{
    free(c->slots);
    *c = (DbCache){0};
}

void db_hooks_add(DbHooks *h, void (*hook)(void))
{
    for (int i = 0; i < h->count; i++)
        if (h->fn[i] == hook)
            return;
    if (h->count < DB_MAX_HOOKS)
        h->fn[h->count++] = hook;
    else
        fault("db_after_commit: more than %d hooks", DB_MAX_HOOKS);
}

void db_hooks_run(DbHooks *h)
{
    int n = h->count;
    h->count = 0;
    for (int i = 0; i < n; i++)
        h->fn[i]();
}

/* Migrations are the embedded files schema/NNN_name.sql, applied in path
 * order (the assets table is sorted), each recorded in schema_migrations. */
static int is_migration(const Asset *a)
{
    size_t n = strlen(a->path);
    return strncmp(a->path, "schema/", 7) == 0 && strchr(a->path + 7, '/') == NULL && n > 11 &&
           strcmp(a->path + n - 4, ".sql") == 0;
}

const Asset *db_next_migration(const Asset *after)
{
    for (const Asset *a = after ? after + 1 : assets; a->path; a++)
        if (is_migration(a))
            return a;
    return NULL;
}

int db_migrations_available(void)
{
    int n = 0;
    for (const Asset *a = db_next_migration(NULL); a; a = db_next_migration(a))
        n++;
    return n;
}

Stmt *db_prepare_dynamic(Db *db, const char *sql)
{
    return db->engine->prepare_dynamic(db, sql);
}

void db_finalize(Stmt *st)
{
    if (st)
        st->engine->finalize(st);
}

int db_column_count(Stmt *st)
{
    return st->engine->column_count(st);
}

const char *db_column_name(Stmt *st, int col)
{
    return st->engine->column_name(st, col);
}

DbKind db_kind(Stmt *st, int col)
{
    return st->engine->kind(st, col);
}
