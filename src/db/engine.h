/*
 * engine.h: what a storage engine gives db.c; private to src/db.
 *
 * db.h is the API the rest of Ratify uses; db.c turns each call into a
 * call through the engine of the connection (or statement) it is given.
 * sqlite.c and postgres.c each fill one DbEngine. A Db and a Stmt of any
 * engine start with the common header below, so db.c can find the engine
 * without knowing the rest.
 */
#ifndef RATIFY_DB_ENGINE_H
#define RATIFY_DB_ENGINE_H

#include "base/assets.h"
#include "db/db.h"

typedef struct DbEngine DbEngine;

/* The first member of every engine's connection and statement. */
struct Db {
    const DbEngine *engine;
};
struct Stmt {
    const DbEngine *engine;
};

struct DbEngine {
    const char *name; /* "SQLite", "PostgreSQL" */
    Db *(*open)(const char *target, int migrate);
    void (*close)(Db *db);
    Stmt *(*prepare)(Db *db, const char *sql);
    void (*bind_text)(Stmt *st, const char *name, const char *text, size_t len);
    void (*bind_int)(Stmt *st, const char *name, int64_t value);
    void (*bind_blob)(Stmt *st, const char *name, const void *data, size_t len);
    void (*bind_null)(Stmt *st, const char *name);
    int (*row)(Stmt *st);
    Result (*done)(Stmt *st);
    const char *(*text)(Stmt *st, int col);
    size_t (*len)(Stmt *st, int col);
    const void *(*blob)(Stmt *st, int col);
    int64_t (*integer)(Stmt *st, int col);
    int (*is_null)(Stmt *st, int col);
    Result (*write)(Db *db, DbApply apply, void *ctx);
    void (*after_commit)(Db *w, void (*hook)(void));
    int (*changes)(Db *db);
    int64_t (*data_version)(Db *db);
    void (*checkpoint)(Db *db);
    int (*statements_in_use)(Db *db);
    void (*reset_all)(Db *db);
    Result (*check)(Db *db);
    Result (*backup)(Db *db, const char *path);
    Result (*snapshot)(Db *db, unsigned char **bytes, size_t *len);
    void (*tune_for_bulk_load)(Db *db);
    int (*try_lock)(Db *db, const char *name);
    void (*unlock)(Db *db, const char *name);
    const char *(*version)(void);
    /* SQL built at run time (copy.c): uncached, finalized by the caller. */
    Stmt *(*prepare_dynamic)(Db *db, const char *sql);
    void (*finalize)(Stmt *st);
    int (*column_count)(Stmt *st);
    const char *(*column_name)(Stmt *st, int col);
    DbKind (*kind)(Stmt *st, int col);
    /* The catalogue, as statements to step through and db_done:
     * tables: (name), every table of Ratify's (not the engine's own);
     * columns: (name, position in the primary key or 0) of :table, in order;
     * foreign_keys: (table, table it refers to). */
    Stmt *(*tables)(Db *db);
    Stmt *(*columns)(Db *db, const char *table);
    Stmt *(*foreign_keys)(Db *db);
    /* A consistent read-only view of the whole database for the reads
     * until end_snapshot. */
    Result (*begin_snapshot)(Db *db);
    void (*end_snapshot)(Db *db);
    /* After rows came in with their ids, inside the copy's transaction
     * (PostgreSQL: identity sequences go on after the largest id). */
    Result (*after_copy)(Db *db);
};

/* Shared by the engines (db.c). A statement cache keyed by the address of
 * the SQL literal: the same call site always passes the same address, so
 * no text is hashed. The engine owns the statements; iterate slots[0..size)
 * to finalise them before db_cache_free. */
typedef struct {
    const char *sql;
    void *stmt;
} DbCacheSlot;
typedef struct {
    DbCacheSlot *slots; /* open addressing, power-of-two size */
    size_t size, used;
} DbCache;
void *db_cache_get(const DbCache *c, const char *sql); /* NULL when absent */
void db_cache_put(DbCache *c, const char *sql, void *stmt);
void db_cache_free(DbCache *c);

/* What db_after_commit asked for, run once after the commit. */
enum { DB_MAX_HOOKS = 8 };
typedef struct {
    void (*fn[DB_MAX_HOOKS])(void);
    int count;
} DbHooks;
void db_hooks_add(DbHooks *h, void (*hook)(void));
void db_hooks_run(DbHooks *h); /* and forgets them */

extern const DbEngine sqlite_engine;
extern const DbEngine postgres_engine;

/* Shared by the engines: the next embedded migration (schema/NNN_x.sql,
 * in path order) after the one given, or the first for NULL; NULL at the
 * end. */
const Asset *db_next_migration(const Asset *after);

/* Backups of an engine that has no database file of its own: the
 * database copied (copy.c) into an in-memory SQLite database, which is
 * then backed up or serialised as SQLite's own are. */
Result db_backup_by_copy(Db *db, const char *path);
Result db_snapshot_by_copy(Db *db, unsigned char **bytes, size_t *len);

#endif
