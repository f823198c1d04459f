/*
 * sqlite.c: the SQLite engine (engine.h): connections, the per-connection statement cache, named
 * binding, transactions, embedded migrations, backup (to a file, or to bytes
 * in memory for an encrypted backup) and integrity checks (of a file, or of
 * bytes before a restore puts them in place).
 *
 * Invariants: every connection runs with foreign keys on, WAL, a busy
 * timeout and synchronous=FULL (a commit acknowledged to a user survives a
 * power cut). Statements live in the cache until db_close finalises them.
 */
#include "db/engine.h"

#include <sodium.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One cached statement. The key is the address of the SQL literal: the
 * same call site always passes the same address, so no hashing of text. */
typedef struct {
    Stmt base; /* engine.h */
    sqlite3_stmt *st;
} SqlStmt;

typedef struct {
    Db base; /* engine.h */
    sqlite3 *handle;
    DbCache cache;
    int write_depth; /* db_write calls running on this connection */
    DbHooks hooks;   /* db_after_commit, until the commit */
    SqlStmt no_rows; /* see no_rows() */
} SqlDb;

#define SDB(db) ((SqlDb *)(db))
#define SST(s) (((SqlStmt *)(s))->st)

/* Inside this file, db_exec and db_prepare take an SqlDb. */
#undef db_exec
#undef db_prepare
#define db_exec(db, sql) db_exec_(&(db)->base, "" sql "")
#define db_prepare(db, sql) db_prepare_(&(db)->base, "" sql "")

/* Transactions by hand are this file's alone (migrations, db_write). */
static Result db_begin(SqlDb *db);
static Result db_commit(SqlDb *db);
static void db_rollback(SqlDb *db);

/* Set by db_writer_start: connections opened afterwards are read-only. */
static int writer_running;

enum { BUSY_TIMEOUT_MS = 5000 };

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

static SqlDb *open_handle(const char *path, int flags)
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
    /* While the writer thread runs, it alone writes: a statement that
     * changes data on any other connection fails loudly instead of
     * committing outside db_write. */
    if (writer_running && exec_script(h, "PRAGMA query_only=ON", path) != R_OK) {
        sqlite3_close(h);
        return NULL;
    }
    SqlDb *db = xcalloc(1, sizeof(SqlDb));
    db->base.engine = &sqlite_engine;
    db->handle = h;
    return db;
}

static int migration_applied(SqlDb *db, const char *name)
{
    Stmt *st = db_prepare(db, "SELECT 1 FROM schema_migrations WHERE name = :name");
    db_bind_text(st, ":name", name);
    int found = db_row(st);
    db_done(st);
    return found;
}

static Result apply_migration(SqlDb *db, const Asset *a)
{
    if (db_begin(db) != R_OK)
        return R_INTERNAL;
    if (exec_script(db->handle, (const char *)a->data, a->path) != R_OK) {
        db_rollback(db);
        return R_INTERNAL;
    }
    Stmt *st = db_prepare(
        db, "INSERT INTO schema_migrations (name, applied_at) VALUES (:name, :applied_at)");
    db_bind_text(st, ":name", a->path);
    db_bind_int(st, ":applied_at", now_seconds());
    Result rc = db_run(st);
    db_done(st);
    if (rc != R_OK) {
        db_rollback(db);
        return R_INTERNAL;
    }
    return db_commit(db);
}

static Result migrate(SqlDb *db)
{
    if (db_exec(db, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                    "name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)") != R_OK)
        return R_INTERNAL;
    for (const Asset *a = db_next_migration(NULL); a; a = db_next_migration(a)) {
        if (migration_applied(db, a->path))
            continue;
        if (apply_migration(db, a) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

static Db *sq_open(const char *path, int migrate_now)
{
    SqlDb *db = open_handle(path, SQLITE_OPEN_READWRITE | (migrate_now ? SQLITE_OPEN_CREATE : 0));
    if (db && migrate_now && migrate(db) != R_OK) {
        db_close(&db->base);
        return NULL;
    }
    return db ? &db->base : NULL;
}

static SqlDb *open_existing(const char *path)
{
    return open_handle(path, SQLITE_OPEN_READWRITE);
}

static void sq_close(Db *d)
{
    SqlDb *db = SDB(d);
    for (size_t i = 0; i < db->cache.size; i++) {
        SqlStmt *st = db->cache.slots[i].stmt;
        if (st)
            sqlite3_finalize(st->st);
        free(st);
    }
    sqlite3_finalize(db->no_rows.st);
    db_cache_free(&db->cache);
    sqlite3_close(db->handle);
    free(db);
}

/* Named parameters only: a positional "?" would let values be bound in the
 * wrong order without anyone noticing. */
static int named_parameters_only(sqlite3_stmt *st)
{
    int n = sqlite3_bind_parameter_count(st);
    for (int i = 1; i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(st, i);
        if (!name || name[0] != ':')
            return 0;
    }
    return 1;
}

/* What a programmer's error in SQL (it does not compile, or has a "?")
 * gets instead of a process that aborts: a fault (util.h: the request
 * answers 500) and a statement that yields no row. */
static Stmt *no_rows(SqlDb *db)
{
    if (!db->no_rows.st &&
        sqlite3_prepare_v3(db->handle, "SELECT 1 WHERE 0", -1, SQLITE_PREPARE_PERSISTENT,
                           &db->no_rows.st, NULL) != SQLITE_OK)
        abort(); /* out of memory: nothing sensible is left */
    db->no_rows.base.engine = &sqlite_engine;
    sqlite3_reset(db->no_rows.st);
    return &db->no_rows.base;
}

/* " FOR UPDATE SKIP LOCKED" is how several nodes on PostgreSQL take rows
 * without taking each other's (the mail queue); SQLite has one writer and
 * no row locks, and does not parse it. Returns sql without it (to free),
 * or NULL when sql has none. */
static char *without_row_locks(const char *sql)
{
    static const char clause[] = " FOR UPDATE SKIP LOCKED";
    const char *at = strstr(sql, clause);
    if (!at)
        return NULL;
    size_t head = (size_t)(at - sql), n = sizeof clause - 1;
    char *own = xmalloc(strlen(sql) - n + 1);
    memcpy(own, sql, head);
    strcpy(own + head, at + n);
    return own;
}

static Stmt *sq_prepare(Db *d, const char *sql)
{
    SqlDb *db = SDB(d);
    SqlStmt *cached = db_cache_get(&db->cache, sql);
    if (cached) {
        sqlite3_reset(cached->st);
        sqlite3_clear_bindings(cached->st);
        return &cached->base;
    }
    sqlite3_stmt *st = NULL;
    char *own = without_row_locks(sql);
    int rc =
        sqlite3_prepare_v3(db->handle, own ? own : sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
    free(own);
    if (rc != SQLITE_OK) {
        fault("bad SQL: %s in: %s", sqlite3_errmsg(db->handle), sql);
        return no_rows(db);
    }
    if (!named_parameters_only(st)) {
        fault("SQL must use :named parameters: %s", sql);
        sqlite3_finalize(st);
        return no_rows(db);
    }
    SqlStmt *entry = xcalloc(1, sizeof(SqlStmt));
    entry->base.engine = &sqlite_engine;
    entry->st = st;
    db_cache_put(&db->cache, sql, entry);
    return &entry->base;
}

static int param_index(sqlite3_stmt *st, const char *name)
{
    int i = sqlite3_bind_parameter_index(st, name);
    if (i == 0) /* binding index 0 then does nothing */
        fault("no parameter %s in: %s", name, sqlite3_sql(st));
    return i;
}

static void sq_bind_text(Stmt *stmt, const char *name, const char *text, size_t len)
{
    sqlite3_stmt *st = SST(stmt);
    sqlite3_bind_text64(st, param_index(st, name), text, len, SQLITE_TRANSIENT, SQLITE_UTF8);
}

static void sq_bind_int(Stmt *stmt, const char *name, int64_t value)
{
    sqlite3_stmt *st = SST(stmt);
    sqlite3_bind_int64(st, param_index(st, name), value);
}

static void sq_bind_blob(Stmt *stmt, const char *name, const void *data, size_t len)
{
    sqlite3_stmt *st = SST(stmt);
    sqlite3_bind_blob64(st, param_index(st, name), data, len, SQLITE_TRANSIENT);
}

static void sq_bind_null(Stmt *stmt, const char *name)
{
    sqlite3_stmt *st = SST(stmt);
    sqlite3_bind_null(st, param_index(st, name));
}

static int sq_row(Stmt *stmt)
{
    sqlite3_stmt *st = SST(stmt);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        log_info("sqlite: %s (%d) in: %s", sqlite3_errmsg(sqlite3_db_handle(st)), rc,
                 sqlite3_sql(st));
    return 0;
}

static Result result_of(int rc)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return R_OK;
    return (rc & 0xff) == SQLITE_CONSTRAINT ? R_CONFLICT : R_INTERNAL;
}

static Result sq_done(Stmt *stmt)
{
    sqlite3_stmt *st = SST(stmt);
    /* sqlite3_reset returns the error of the last step, if it failed. */
    int rc = sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return result_of(rc);
}

static const char *sq_text(Stmt *stmt, int col)
{
    sqlite3_stmt *st = SST(stmt);
    const unsigned char *t = sqlite3_column_text(st, col);
    return t ? (const char *)t : "";
}

static size_t sq_len(Stmt *stmt, int col)
{
    sqlite3_stmt *st = SST(stmt);
    return (size_t)sqlite3_column_bytes(st, col);
}

static const void *sq_blob(Stmt *stmt, int col)
{
    sqlite3_stmt *st = SST(stmt);
    return sqlite3_column_blob(st, col);
}

static int64_t sq_int(Stmt *stmt, int col)
{
    sqlite3_stmt *st = SST(stmt);
    return sqlite3_column_int64(st, col);
}

static int sq_is_null(Stmt *stmt, int col)
{
    sqlite3_stmt *st = SST(stmt);
    return sqlite3_column_type(st, col) == SQLITE_NULL;
}

static Result db_begin(SqlDb *db)
{
    return db_exec(db, "BEGIN IMMEDIATE");
}

static Result db_commit(SqlDb *db)
{
    if (db_exec(db, "COMMIT") != R_OK) {
        db_rollback(db);
        return R_INTERNAL;
    }
    return R_OK;
}

static void db_rollback(SqlDb *db)
{
    if (!sqlite3_get_autocommit(db->handle))
        db_exec(db, "ROLLBACK");
}

static int sq_changes(Db *d)
{
    return sqlite3_changes(SDB(d)->handle);
}

/* ---- db_write and the writer thread ---- */

/* One db_write waiting for the writer. Lives on the caller's stack: the
 * caller waits until done is set. */
typedef struct Job {
    DbApply apply;
    void *ctx;
    Result result;
    int done;
    pthread_cond_t woken; /* its own, so that a commit wakes only its jobs' waiters */
    struct Job *next;
} Job;

enum { MAX_BATCH = 512 };

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work;
    Job *head, *tail;
    int stopping;
    SqlDb *db;
    DbWriterStats stats;
} writer = {.lock = PTHREAD_MUTEX_INITIALIZER, .work = PTHREAD_COND_INITIALIZER};

static _Thread_local int on_writer_thread;

static void sq_after_commit(Db *d, void (*hook)(void))
{
    db_hooks_add(&SDB(d)->hooks, hook);
}

/* Runs one job inside the open transaction. With alone == 0 it runs in a
 * savepoint of its own, so that a failing job takes back only its own
 * writes; a job alone in its transaction needs none (the rollback of the
 * transaction takes it back), and skipping it spares SQLite copying every
 * page the job changes into a statement journal (measured: a 100,000-row
 * import spent 2.5 s of system time instead of 0.7 s with it). A fault in
 * apply fails its job: the fault mark is per thread, and this may be the
 * writer's. */
static Result apply_job(SqlDb *w, DbApply apply, void *ctx, int alone)
{
    int saved_hooks = w->hooks.count;
    if (!alone && db_exec(w, "SAVEPOINT job") != R_OK)
        return R_INTERNAL;
    int faulted_before = fault_take();
    w->write_depth++;
    Result r = apply(&w->base, ctx);
    w->write_depth--;
    if (fault_take() && r == R_OK)
        r = R_INTERNAL;
    if (faulted_before)
        fault("(an earlier fault on this thread)");
    if (r != R_OK)
        w->hooks.count = saved_hooks;
    if (alone)
        return r;
    if (r != R_OK)
        db_exec(w, "ROLLBACK TO job");
    db_exec(w, "RELEASE job");
    return r;
}

/* Without the writer thread (the command line, tests): the job runs on db
 * in a transaction of its own, or joins the one already open. */
static Result write_direct(SqlDb *db, DbApply apply, void *ctx)
{
    if (db->write_depth > 0)
        return apply_job(db, apply, ctx, 0);
    if (db_exec(db, "BEGIN IMMEDIATE") != R_OK)
        return R_INTERNAL;
    Result r = apply_job(db, apply, ctx, 1);
    if (r == R_OK && db_exec(db, "COMMIT") != R_OK)
        r = R_INTERNAL;
    if (r != R_OK) {
        db_rollback(db);
        db->hooks.count = 0;
        return r;
    }
    db_hooks_run(&db->hooks);
    return R_OK;
}

static Result sq_write(Db *d, DbApply apply, void *ctx)
{
    SqlDb *db = SDB(d);
    if (!writer_running || on_writer_thread || db->write_depth > 0)
        return write_direct(db, apply, ctx);
    Job job = {.apply = apply, .ctx = ctx};
    pthread_cond_init(&job.woken, NULL);
    pthread_mutex_lock(&writer.lock);
    if (writer.tail)
        writer.tail->next = &job;
    else
        writer.head = &job;
    writer.tail = &job;
    pthread_cond_signal(&writer.work);
    while (!job.done)
        pthread_cond_wait(&job.woken, &writer.lock);
    pthread_mutex_unlock(&writer.lock);
    pthread_cond_destroy(&job.woken);
    return job.result;
}

/* One batch: every job in one transaction, each in its savepoint, one
 * COMMIT (one fsync with synchronous=FULL) for all. If the commit fails,
 * nothing of the batch was written, and each job gets R_INTERNAL. */
static void run_batch(Job *jobs)
{
    SqlDb *w = writer.db;
    int began = db_exec(w, "BEGIN IMMEDIATE") == R_OK;
    int alone = !jobs->next;
    for (Job *j = jobs; j; j = j->next) {
        j->result = began ? apply_job(w, j->apply, j->ctx, alone) : R_INTERNAL;
        writer.stats.jobs++;
    }
    /* A job alone that failed leaves its writes in the transaction: the
     * rollback below takes them back. */
    if (alone && jobs->result != R_OK) {
        db_rollback(w);
        began = 0;
    }
    if (began && db_exec(w, "COMMIT") != R_OK) {
        db_rollback(w);
        began = 0;
        for (Job *j = jobs; j; j = j->next)
            j->result = R_INTERNAL;
    }
    if (!began)
        w->hooks.count = 0; /* nothing was committed: nothing to announce */
    for (Job *j = jobs; j; j = j->next)
        writer.stats.failed_jobs += j->result != R_OK;
    writer.stats.batches++;
}

static void *writer_main(void *arg)
{
    (void)arg;
    on_writer_thread = 1;
    pthread_mutex_lock(&writer.lock);
    for (;;) {
        while (!writer.head && !writer.stopping)
            pthread_cond_wait(&writer.work, &writer.lock);
        if (!writer.head)
            break;
        /* Take what is waiting, up to MAX_BATCH jobs. */
        Job *batch = writer.head, *last = batch;
        for (int n = 1; n < MAX_BATCH && last->next; n++)
            last = last->next;
        writer.head = last->next;
        if (!writer.head)
            writer.tail = NULL;
        last->next = NULL;
        pthread_mutex_unlock(&writer.lock);

        run_batch(batch);

        pthread_mutex_lock(&writer.lock);
        for (Job *j = batch, *next; j; j = next) {
            next = j->next; /* j lives on a waiter's stack: read before waking it */
            j->done = 1;
            pthread_cond_signal(&j->woken);
        }
        pthread_mutex_unlock(&writer.lock);
        db_hooks_run(&writer.db->hooks); /* after the commit, outside the lock */
        pthread_mutex_lock(&writer.lock);
    }
    pthread_mutex_unlock(&writer.lock);
    return NULL;
}

/* ---- checkpoints, off the writer's path ----
 * SQLite copies the WAL back into the database file every 1000 pages, by
 * default in the commit that crosses the mark: the writer, with every
 * request of its batch waiting. Here the writer only signals, and a thread
 * of its own runs a PASSIVE checkpoint, which never blocks the writer. */

enum { CHECKPOINT_PAGES = 1000 };

static struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int due, stopping;
    SqlDb *db;
} checkpointer = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static int wal_grew(void *arg, sqlite3 *h, const char *name, int pages)
{
    (void)arg;
    (void)h;
    (void)name;
    if (pages >= CHECKPOINT_PAGES) {
        pthread_mutex_lock(&checkpointer.lock);
        checkpointer.due = 1;
        pthread_cond_signal(&checkpointer.wake);
        pthread_mutex_unlock(&checkpointer.lock);
    }
    return SQLITE_OK;
}

static void *checkpointer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&checkpointer.lock);
    while (!checkpointer.stopping) {
        if (!checkpointer.due) {
            pthread_cond_wait(&checkpointer.wake, &checkpointer.lock);
            continue;
        }
        checkpointer.due = 0;
        pthread_mutex_unlock(&checkpointer.lock);
        sqlite3_wal_checkpoint_v2(checkpointer.db->handle, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL,
                                  NULL);
        pthread_mutex_lock(&checkpointer.lock);
    }
    pthread_mutex_unlock(&checkpointer.lock);
    return NULL;
}

int db_writer_start(const char *path)
{
    if (db_target_is_postgres(path))
        return 0; /* PostgreSQL runs each db_write in its own transaction */
    writer.db = open_existing(path);
    if (!writer.db)
        return -1;
    checkpointer.db = open_existing(path);
    checkpointer.stopping = checkpointer.due = 0;
    if (checkpointer.db &&
        pthread_create(&checkpointer.thread, NULL, checkpointer_main, NULL) == 0) {
        sqlite3_wal_autocheckpoint(writer.db->handle, 0);
        sqlite3_wal_hook(writer.db->handle, wal_grew, NULL);
    } else {
        if (checkpointer.db) /* the writer checkpoints as SQLite does by default */
            db_close(&checkpointer.db->base);
        /* the writer checkpoints as SQLite does by default */
        checkpointer.db = NULL;
    }
    writer.stopping = 0;
    memset(&writer.stats, 0, sizeof writer.stats);
    writer_running = 1;
    if (pthread_create(&writer.thread, NULL, writer_main, NULL) != 0) {
        fprintf(stderr, "ratify: cannot start the writer thread\n");
        writer_running = 0;
        db_close(&writer.db->base);
        writer.db = NULL;
        return -1;
    }
    return 0;
}

void db_writer_stop(void)
{
    if (!writer.db)
        return;
    pthread_mutex_lock(&writer.lock);
    writer.stopping = 1;
    pthread_cond_signal(&writer.work);
    pthread_mutex_unlock(&writer.lock);
    pthread_join(writer.thread, NULL);
    writer_running = 0;
    if (checkpointer.db) {
        pthread_mutex_lock(&checkpointer.lock);
        checkpointer.stopping = 1;
        pthread_cond_signal(&checkpointer.wake);
        pthread_mutex_unlock(&checkpointer.lock);
        pthread_join(checkpointer.thread, NULL);
        db_close(&checkpointer.db->base);
        checkpointer.db = NULL;
    }
    db_close(&writer.db->base);
    writer.db = NULL;
}

DbWriterStats db_writer_stats(void)
{
    pthread_mutex_lock(&writer.lock);
    DbWriterStats s = writer.stats;
    pthread_mutex_unlock(&writer.lock);
    return s;
}

/* SQLite's online backup of src into dest, in steps so that writers are
 * not held off for the whole copy; a write in between restarts the copy,
 * which is what keeps it consistent. Returns R_OK, or R_INTERNAL with the
 * reason on stderr. */
static Result copy_online(sqlite3 *dest, sqlite3 *src)
{
    sqlite3_backup *b = sqlite3_backup_init(dest, "main", src, "main");
    if (!b) {
        fprintf(stderr, "ratify: backup failed: %s\n", sqlite3_errmsg(dest));
        return R_INTERNAL;
    }
    int rc;
    do {
        rc = sqlite3_backup_step(b, 256);
        if (rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(10);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "ratify: backup failed: %s\n", sqlite3_errstr(rc));
        return R_INTERNAL;
    }
    return R_OK;
}

Db *db_open_memory(void)
{
    SqlDb *db = open_handle(":memory:", SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    return db ? &db->base : NULL;
}

Result db_copy(Db *to, Db *from)
{
    if (to->engine != &sqlite_engine || from->engine != &sqlite_engine)
        return R_UNSUPPORTED;
    return copy_online(SDB(to)->handle, SDB(from)->handle);
}

static Result sq_backup(Db *d, const char *path)
{
    SqlDb *db = SDB(d);
    sqlite3 *dest = NULL;
    Result r = R_INTERNAL;
    if (sqlite3_open_v2(path, &dest, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "ratify: cannot create %s: %s\n", path, sqlite3_errmsg(dest));
        goto done;
    }
    r = copy_online(dest, db->handle);
done:
    sqlite3_close(dest);
    return r;
}

static Result sq_check(Db *d)
{
    SqlDb *db = SDB(d);
    Result r = R_OK;
    Stmt *st = db_prepare(db, "PRAGMA integrity_check");
    while (db_row(st)) {
        const char *msg = db_text(st, 0);
        if (strcmp(msg, "ok") != 0) {
            fprintf(stderr, "integrity: %s\n", msg);
            r = R_INTERNAL;
        }
    }
    db_done(st);
    st = db_prepare(db, "PRAGMA foreign_key_check");
    while (db_row(st)) {
        fprintf(stderr, "foreign key: table %s row %lld refers to missing %s\n", db_text(st, 0),
                (long long)db_int(st, 1), db_text(st, 2));
        r = R_INTERNAL;
    }
    db_done(st);
    return r;
}

static int sq_statements_in_use(Db *d)
{
    SqlDb *db = SDB(d);
    int n = 0;
    for (sqlite3_stmt *st = sqlite3_next_stmt(db->handle, NULL); st;
         st = sqlite3_next_stmt(db->handle, st))
        n += sqlite3_stmt_busy(st);
    return n;
}

static void sq_reset_all(Db *d)
{
    SqlDb *db = SDB(d);
    for (sqlite3_stmt *st = sqlite3_next_stmt(db->handle, NULL); st;
         st = sqlite3_next_stmt(db->handle, st))
        sqlite3_reset(st);
}

static int64_t sq_data_version(Db *d)
{
    SqlDb *db = SDB(d);
    Stmt *st = db_prepare(db, "PRAGMA data_version");
    int64_t v = db_row(st) ? db_int(st, 0) : -1;
    db_done(st);
    return v;
}

static void sq_checkpoint(Db *d)
{
    SqlDb *db = SDB(d);
    sqlite3_wal_checkpoint_v2(db->handle, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
}

static Result sq_snapshot(Db *d, unsigned char **bytes, size_t *len)
{
    SqlDb *db = SDB(d);
    sqlite3 *mem = NULL;
    Result r = R_INTERNAL;
    *bytes = NULL;
    *len = 0;
    if (sqlite3_open_v2(":memory:", &mem, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "ratify: backup failed: %s\n", mem ? sqlite3_errmsg(mem) : "out of memory");
        goto done;
    }
    /* The same stepped online backup as db_backup, into memory: the copy
     * is consistent, and no plaintext copy is ever written to a file. */
    if (copy_online(mem, db->handle) != R_OK)
        goto done;
    sqlite3_int64 size = 0;
    unsigned char *image = sqlite3_serialize(mem, "main", &size, 0);
    if (!image || size <= 0) {
        fprintf(stderr, "ratify: backup failed: cannot serialise the copy\n");
        sqlite3_free(image);
        goto done;
    }
    *bytes = image;
    *len = (size_t)size;
    r = R_OK;
done:
    sqlite3_close(mem);
    return r;
}

void db_snapshot_free(unsigned char *bytes, size_t len)
{
    if (!bytes)
        return;
    sodium_memzero(bytes, len);
    sqlite3_free(bytes);
}

/* The header bytes that say which journal a database file uses (offsets
 * 18 and 19: 1 = rollback journal, 2 = write-ahead log). */
enum { SQLITE_HEADER_SIZE = 100, HEADER_WRITE_VERSION = 18, HEADER_READ_VERSION = 19 };

int db_image_is_sqlite(const unsigned char *bytes, size_t len)
{
    return len >= SQLITE_HEADER_SIZE && memcmp(bytes, "SQLite format 3", 16) == 0;
}

static int count_row(void *found, int ncols, char **values, char **names)
{
    (void)ncols;
    (void)names;
    *(int *)found = values[0] && strcmp(values[0], "1") == 0;
    return 0;
}

/* Whether the image's schema reads and has the table every Ratify database
 * has. sqlite3_exec rather than db_prepare: a damaged schema is bad input
 * here, not a programmer's error to abort on. */
static int image_is_ratify(sqlite3 *h)
{
    int found = 0;
    if (sqlite3_exec(h,
                     "SELECT count(*) FROM sqlite_master "
                     "WHERE type = 'table' AND name = 'schema_migrations'",
                     count_row, &found, NULL) != SQLITE_OK)
        return 0;
    return found;
}

/* A connection to the image in bytes, in memory and read-only: no copy,
 * no write. The image may come from anywhere: its schema runs no
 * functions with side effects, and shadow tables cannot be written. An
 * in-memory database cannot use a write-ahead log, so the image is marked
 * as a rollback-journal database first; the first db_open of a file
 * written from it turns WAL back on. NULL with the reason on stderr. */
static sqlite3 *open_image(unsigned char *bytes, size_t len)
{
    bytes[HEADER_WRITE_VERSION] = 1;
    bytes[HEADER_READ_VERSION] = 1;
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(":memory:", &h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_deserialize(h, "main", bytes, (sqlite3_int64)len, (sqlite3_int64)len,
                            SQLITE_DESERIALIZE_READONLY) != SQLITE_OK) {
        fprintf(stderr, "ratify: cannot read the database image: %s\n",
                h ? sqlite3_errmsg(h) : "out of memory");
        sqlite3_close(h);
        return NULL;
    }
    sqlite3_db_config(h, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(h, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_extended_result_codes(h, 1);
    return h;
}

static Db *db_of_handle(sqlite3 *h)
{
    SqlDb *db = xcalloc(1, sizeof(SqlDb));
    db->base.engine = &sqlite_engine;
    db->handle = h;
    return &db->base;
}

Result db_check_image(unsigned char *bytes, size_t len, int *schema_version)
{
    *schema_version = 0;
    if (!db_image_is_sqlite(bytes, len))
        return R_UNSUPPORTED;
    sqlite3 *h = open_image(bytes, len);
    if (!h)
        return R_INTERNAL;
    if (!image_is_ratify(h)) {
        sqlite3_close(h);
        return R_UNSUPPORTED;
    }
    Db *db = db_of_handle(h);
    Result r = db_check(db);
    if (r == R_OK)
        *schema_version = db_schema_version(db);
    db_close(db);
    return r;
}

Db *db_open_image(unsigned char *bytes, size_t len)
{
    if (!db_image_is_sqlite(bytes, len))
        return NULL;
    sqlite3 *h = open_image(bytes, len);
    if (!h)
        return NULL;
    sqlite3_exec(h, "PRAGMA foreign_keys=ON", NULL, NULL, NULL);
    return db_of_handle(h);
}

/* ---- SQL built at run time, and the catalogue (copy.c) ---- */

static Stmt *sq_prepare_dynamic(Db *d, const char *sql)
{
    SqlDb *db = SDB(d);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db->handle, sql, -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "ratify: %s in: %s\n", sqlite3_errmsg(db->handle), sql);
        return NULL;
    }
    if (!named_parameters_only(st)) {
        fprintf(stderr, "ratify: SQL must use :named parameters: %s\n", sql);
        sqlite3_finalize(st);
        return NULL;
    }
    SqlStmt *entry = xcalloc(1, sizeof(SqlStmt));
    entry->base.engine = &sqlite_engine;
    entry->st = st;
    return &entry->base;
}

static void sq_finalize(Stmt *stmt)
{
    sqlite3_finalize(SST(stmt));
    free(stmt);
}

static int sq_column_count(Stmt *stmt)
{
    return sqlite3_column_count(SST(stmt));
}

static const char *sq_column_name(Stmt *stmt, int col)
{
    const char *name = sqlite3_column_name(SST(stmt), col);
    return name ? name : "";
}

static DbKind sq_kind(Stmt *stmt, int col)
{
    switch (sqlite3_column_type(SST(stmt), col)) {
    case SQLITE_INTEGER:
        return DB_INT;
    case SQLITE_FLOAT:
        return DB_REAL;
    case SQLITE_TEXT:
        return DB_TEXT;
    case SQLITE_BLOB:
        return DB_BLOB;
    default:
        return DB_NULL;
    }
}

static Stmt *sq_tables(Db *d)
{
    SqlDb *db = SDB(d);
    return db_prepare(db, "SELECT name FROM sqlite_master WHERE type = 'table' "
                          "AND name NOT LIKE 'sqlite^_%' ESCAPE '^' ORDER BY name");
}

static Stmt *sq_columns(Db *d, const char *table)
{
    SqlDb *db = SDB(d);
    Stmt *st = db_prepare(db, "SELECT name, pk FROM pragma_table_info(:table) ORDER BY cid");
    db_bind_text(st, ":table", table);
    return st;
}

static Stmt *sq_foreign_keys(Db *d)
{
    SqlDb *db = SDB(d);
    return db_prepare(db, "SELECT m.name, f.\"table\" FROM sqlite_master m, "
                          "pragma_foreign_key_list(m.name) f WHERE m.type = 'table' "
                          "ORDER BY 1, 2");
}

/* A read transaction: every read until its end sees the database as it
 * was at its first read, which the count below makes now. */
static Result sq_begin_snapshot(Db *d)
{
    SqlDb *db = SDB(d);
    /* Read-only as well: a copy's source is never written. */
    if (db_exec(db, "PRAGMA query_only=ON") != R_OK || db_exec(db, "BEGIN DEFERRED") != R_OK)
        return R_INTERNAL;
    Stmt *st = db_prepare(db, "SELECT count(*) FROM sqlite_master");
    db_row(st);
    if (db_done(st) != R_OK) {
        db_rollback(db);
        return R_INTERNAL;
    }
    return R_OK;
}

static void sq_end_snapshot(Db *d)
{
    db_rollback(SDB(d)); /* it only read */
    if (!writer_running)
        db_exec(SDB(d), "PRAGMA query_only=OFF");
}

static Result sq_after_copy(Db *d)
{
    (void)d; /* an INTEGER PRIMARY KEY goes on from the largest id by itself */
    return R_OK;
}

/* A larger page cache for this one connection: with SQLite's default
 * 2 MB, a large import keeps reading back the index pages it has just
 * written (measured: a third of the time of 100,000 rows); 256 MB holds
 * the indexes of a million members. A checkpoint every 40,000 pages
 * (160 MB of WAL) instead of 1,000: each one copies back into the
 * database the index pages that every batch rewrites (measured on
 * 1,000,000 rows: 36 s -> 31 s). Commits stay synchronous=FULL. */
static void sq_tune_for_bulk_load(Db *d)
{
    SqlDb *db = SDB(d);
    db_exec(db, "PRAGMA cache_size = -262144");
    db_exec(db, "PRAGMA wal_autocheckpoint = 40000");
}

static int sq_try_lock(Db *db, const char *name)
{
    (void)db;
    (void)name;
    return 1; /* one node: the hourly jobs' own thread is the only taker */
}

static void sq_unlock(Db *db, const char *name)
{
    (void)db;
    (void)name;
}

static const char *sq_version(void)
{
    static char version[32];
    snprintf(version, sizeof version, "SQLite %s", sqlite3_libversion());
    return version;
}

const DbEngine sqlite_engine = {
    .name = "SQLite",
    .open = sq_open,
    .close = sq_close,
    .prepare = sq_prepare,
    .bind_text = sq_bind_text,
    .bind_int = sq_bind_int,
    .bind_blob = sq_bind_blob,
    .bind_null = sq_bind_null,
    .row = sq_row,
    .done = sq_done,
    .text = sq_text,
    .len = sq_len,
    .blob = sq_blob,
    .integer = sq_int,
    .is_null = sq_is_null,
    .write = sq_write,
    .after_commit = sq_after_commit,
    .changes = sq_changes,
    .data_version = sq_data_version,
    .checkpoint = sq_checkpoint,
    .statements_in_use = sq_statements_in_use,
    .reset_all = sq_reset_all,
    .check = sq_check,
    .backup = sq_backup,
    .snapshot = sq_snapshot,
    .tune_for_bulk_load = sq_tune_for_bulk_load,
    .try_lock = sq_try_lock,
    .unlock = sq_unlock,
    .version = sq_version,
    .prepare_dynamic = sq_prepare_dynamic,
    .finalize = sq_finalize,
    .column_count = sq_column_count,
    .column_name = sq_column_name,
    .kind = sq_kind,
    .tables = sq_tables,
    .columns = sq_columns,
    .foreign_keys = sq_foreign_keys,
    .begin_snapshot = sq_begin_snapshot,
    .end_snapshot = sq_end_snapshot,
    .after_copy = sq_after_copy,
};
