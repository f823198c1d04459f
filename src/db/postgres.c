/*
 * postgres.c: the PostgreSQL engine (engine.h), through libpq.
 *
 * The SQL is the same portable SQL the SQLite engine runs. What differs is
 * handled here, once:
 *  - ":name" parameters become "$1".."$n" (the same name, the same number),
 *    and each statement is prepared on the server at its first run with
 *    the kinds of values bound (integers as bigint, blobs as bytea, text
 *    and NULL left for the server to infer from the context), once per
 *    combination of kinds; a parameter whose type the context does not
 *    tell is tried as text;
 *  - the portable schema's types become PostgreSQL's at migration time
 *    (INTEGER PRIMARY KEY: a bigint identity; INTEGER: bigint; BLOB: bytea);
 *  - booleans come back as 1 and 0, bytea as its bytes;
 *  - db_write runs its job in a transaction of its own that first takes one
 *    advisory lock, the same for every node: write jobs run one at a time,
 *    each seeing every commit before it, as on SQLite's single writer (see
 *    pg_write for why not SERIALIZABLE);
 *  - a statement that fails inside a job fails the job: PostgreSQL cannot
 *    go on in a transaction after an error, so a job that would go on is a
 *    programmer's error here (a fault), never a silent rollback;
 *  - db_data_version is a sequence every node moves after each commit, so a
 *    page cached on one node is not served after another node's write.
 */
#include <libpq-fe.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/engine.h"

enum { MAX_RETRIES = 30 };
enum { BOOLOID = 16, BYTEAOID = 17, INT8OID = 20, TEXTOID = 25 };

typedef struct PgDb PgDb;

/* What was bound to a parameter, which decides the type it is prepared
 * with. */
typedef enum { K_NULL = 'n', K_TEXT = 't', K_INT = 'i', K_BLOB = 'b' } Kind;

typedef struct Variant {
    char *kinds;
    char name[24];
    struct Variant *next;
} Variant;

typedef struct {
    Stmt base; /* engine.h */
    PgDb *db;
    const char *sql;   /* the literal: the cache key */
    char *text;        /* with $n parameters */
    Variant *variants; /* prepared on the server, one per kinds[] */
    char *kinds;       /* of the values bound now: see Kind */
    int broken;        /* does not translate: yields no rows */
    char *owned_sql;   /* a dynamic statement's SQL (copy.c): not cached */
    int nparams;
    char **names;  /* ":name" of $1.. */
    char **values; /* bound, owned; NULL: SQL NULL */
    int *lengths;
    int *formats; /* 1: binary (blobs) */
    PGresult *res;
    int cur, nrows;
    int in_use;
    Result status;
    unsigned char **decoded; /* bytea of the current row, per column */
    size_t *decoded_len;
    int ncols;
} PgStmt;

struct PgDb {
    Db base; /* engine.h */
    PGconn *conn;
    DbCache cache;
    unsigned next_name;
    int write_depth;
    int in_transaction;
    int retry;            /* a serialization failure: the transaction must run again */
    int statement_failed; /* in the open transaction (or savepoint) */
    int changes;
    DbHooks hooks; /* db_after_commit, until the commit */
};

#define PDB(d) ((PgDb *)(d))
#define PST(s) ((PgStmt *)(s))

/* ---- the connection ---- */

static void quiet_notices(void *arg, const char *message)
{
    (void)arg;
    (void)message; /* "relation already exists, skipping" and the like */
}

/* Runs SQL with no parameters and no rows wanted; 0 on success. */
static int run_plain(PgDb *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType s = PQresultStatus(res);
    int ok = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    if (!ok) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0))
            db->retry = 1;
        else
            log_info("postgresql: %s in: %.200s", PQresultErrorMessage(res), sql);
    }
    PQclear(res);
    return ok ? 0 : -1;
}

static Result migrate(PgDb *db);

/* UTC and ISO dates whatever the server's defaults. */
static const char SESSION_SETTINGS[] =
    "SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET client_encoding = 'UTF8'";

static Db *pg_open(const char *url, int migrate_now)
{
    PGconn *conn = PQconnectdb(url);
    if (PQstatus(conn) != CONNECTION_OK) {
        /* The message, never the URL: it may carry a password. */
        fprintf(stderr, "ratify: cannot connect to PostgreSQL: %s", PQerrorMessage(conn));
        PQfinish(conn);
        return NULL;
    }
    PQsetNoticeProcessor(conn, quiet_notices, NULL);
    PgDb *db = xcalloc(1, sizeof(PgDb));
    db->base.engine = &postgres_engine;
    db->conn = conn;
    if (run_plain(db, SESSION_SETTINGS) != 0 || (migrate_now && migrate(db) != R_OK)) {
        db_close(&db->base);
        return NULL;
    }
    return &db->base;
}

static void stmt_clear_result(PgStmt *st)
{
    for (int i = 0; i < st->ncols; i++)
        PQfreemem(st->decoded[i]);
    free(st->decoded);
    free(st->decoded_len);
    st->decoded = NULL;
    st->decoded_len = NULL;
    st->ncols = 0;
    PQclear(st->res);
    st->res = NULL;
    st->cur = -1;
    st->nrows = 0;
}

static void stmt_clear_bindings(PgStmt *st)
{
    for (int i = 0; i < st->nparams; i++) {
        free(st->values[i]);
        st->values[i] = NULL;
        st->lengths[i] = 0;
        st->formats[i] = 0;
        st->kinds[i] = K_NULL;
    }
}

static void stmt_free(PgStmt *st)
{
    stmt_clear_result(st);
    stmt_clear_bindings(st);
    for (int i = 0; i < st->nparams; i++)
        free(st->names[i]);
    free(st->names);
    free(st->values);
    free(st->lengths);
    free(st->formats);
    free(st->kinds);
    for (Variant *v = st->variants, *next; v; v = next) {
        next = v->next;
        free(v->kinds);
        free(v);
    }
    free(st->text);
    free(st->owned_sql);
    free(st);
}

static void pg_close(Db *d)
{
    PgDb *db = PDB(d);
    for (size_t i = 0; i < db->cache.size; i++)
        if (db->cache.slots[i].stmt)
            stmt_free(db->cache.slots[i].stmt);
    db_cache_free(&db->cache);
    PQfinish(db->conn);
    free(db);
}

/* ---- statements ---- */

/* The buffer's text, owned by the caller: never NULL. */
static char *buf_take(Buf *b)
{
    buf_reserve(b, 1);
    return b->data;
}

static int is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static int param_number(PgStmt *st, const char *name, size_t len)
{
    for (int i = 0; i < st->nparams; i++)
        if (strlen(st->names[i]) == len && memcmp(st->names[i], name, len) == 0)
            return i + 1;
    st->names = xrealloc(st->names, (size_t)(st->nparams + 1) * sizeof(char *));
    char *copy = xmalloc(len + 1);
    memcpy(copy, name, len);
    copy[len] = '\0';
    st->names[st->nparams++] = copy;
    return st->nparams;
}

/* Rewrites ":name" as "$n" outside quotes and comments. Returns 0, or -1
 * for a positional "?" (named parameters only, as on SQLite). */
static int translate(PgStmt *st, const char *sql)
{
    Buf out = {0};
    for (const char *p = sql; *p;) {
        if (*p == '\'' || *p == '"') {
            const char *end = strchr(p + 1, *p);
            size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
            buf_append(&out, p, n);
            p += n;
        } else if (p[0] == '-' && p[1] == '-') {
            size_t n = strcspn(p, "\n");
            buf_append(&out, p, n);
            p += n;
        } else if (p[0] == ':' && p[1] == ':') {
            buf_append(&out, p, 2);
            p += 2;
        } else if (p[0] == ':' && is_name_start(p[1])) {
            const char *name = p;
            p++;
            while (is_name_char(*p))
                p++;
            buf_printf(&out, "$%d", param_number(st, name, (size_t)(p - name)));
        } else if (*p == '?') {
            buf_free(&out);
            return -1;
        } else {
            buf_append(&out, p, 1);
            p++;
        }
    }
    st->text = buf_take(&out);
    return 0;
}

static PgStmt *stmt_new(PgDb *db, const char *sql)
{
    PgStmt *st = xcalloc(1, sizeof(PgStmt));
    st->base.engine = &postgres_engine;
    st->db = db;
    st->sql = sql;
    st->cur = -1;
    if (translate(st, sql) != 0) {
        fault("SQL must use :named parameters: %s", sql);
        st->broken = 1;
    }
    st->values = xcalloc((size_t)st->nparams + 1, sizeof(char *));
    st->lengths = xcalloc((size_t)st->nparams + 1, sizeof(int));
    st->formats = xcalloc((size_t)st->nparams + 1, sizeof(int));
    st->kinds = xcalloc((size_t)st->nparams + 1, 1);
    memset(st->kinds, K_NULL, (size_t)st->nparams);
    return st;
}

static void stmt_reset(PgStmt *st)
{
    stmt_clear_result(st);
    st->in_use = 0;
    st->status = R_OK;
}

static Stmt *pg_prepare(Db *d, const char *sql)
{
    PgDb *db = PDB(d);
    PgStmt *st = db_cache_get(&db->cache, sql);
    if (st) {
        stmt_reset(st);
        stmt_clear_bindings(st);
        return &st->base;
    }
    st = stmt_new(db, sql);
    db_cache_put(&db->cache, sql, st);
    return &st->base;
}

static int param_index(PgStmt *st, const char *name)
{
    for (int i = 0; i < st->nparams; i++)
        if (strcmp(st->names[i], name) == 0)
            return i;
    if (!st->broken)
        fault("no parameter %s in: %s", name, st->sql);
    return -1;
}

static void bind_bytes(Stmt *s, const char *name, const void *data, size_t len, int format,
                       Kind kind)
{
    PgStmt *st = PST(s);
    int i = param_index(st, name);
    if (i < 0)
        return;
    free(st->values[i]);
    st->values[i] = NULL;
    st->lengths[i] = 0;
    st->formats[i] = format;
    st->kinds[i] = (char)kind;
    if (data) {
        st->values[i] = xmalloc(len + 1);
        memcpy(st->values[i], data, len);
        st->values[i][len] = '\0';
        st->lengths[i] = (int)len;
    }
}

static void pg_bind_text(Stmt *s, const char *name, const char *text, size_t len)
{
    bind_bytes(s, name, text, len, 0, K_TEXT);
}

static void pg_bind_int(Stmt *s, const char *name, int64_t value)
{
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%lld", (long long)value);
    bind_bytes(s, name, digits, (size_t)n, 0, K_INT);
}

static void pg_bind_blob(Stmt *s, const char *name, const void *data, size_t len)
{
    bind_bytes(s, name, data ? data : "", len, 1, K_BLOB);
}

static void pg_bind_null(Stmt *s, const char *name)
{
    bind_bytes(s, name, NULL, 0, 0, K_NULL);
}

static int is_retry_state(const char *state)
{
    return state && (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0);
}

/* Takes in the result of a run: its rows, or its error as a Result. */
static void take_result(PgStmt *st, PGresult *res)
{
    ExecStatusType s = PQresultStatus(res);
    if (s == PGRES_TUPLES_OK || s == PGRES_COMMAND_OK) {
        st->res = res;
        st->nrows = PQntuples(res);
        st->ncols = PQnfields(res);
        st->decoded = xcalloc((size_t)st->ncols + 1, sizeof(unsigned char *));
        st->decoded_len = xcalloc((size_t)st->ncols + 1, sizeof(size_t));
        st->db->changes = atoi(PQcmdTuples(res));
        return;
    }
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    if (is_retry_state(state))
        st->db->retry = 1;
    else if (!(state && strncmp(state, "23", 2) == 0))
        log_info("postgresql: %s in: %s", PQresultErrorMessage(res), st->sql);
    st->status = state && strncmp(state, "23", 2) == 0 ? R_CONFLICT : R_INTERNAL;
    PQclear(res);
}

/* The parameter PostgreSQL could not type ("could not determine data type
 * of parameter $3"), 0-based, or -1. */
static int untyped_parameter(PGresult *res)
{
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *dollar = msg ? strchr(msg, '$') : NULL;
    if (!state || (strcmp(state, "42P18") != 0 && strcmp(state, "42P08") != 0) || !dollar)
        return -1;
    return atoi(dollar + 1) - 1;
}

/* A failed PREPARE inside a transaction would fail the transaction: there
 * it runs in a savepoint. */
static PGresult *try_prepare(PgStmt *st, const char *name, const Oid *types)
{
    PgDb *db = st->db;
    if (db->in_transaction && run_plain(db, "SAVEPOINT prepare") != 0)
        return PQmakeEmptyPGresult(db->conn, PGRES_FATAL_ERROR);
    PGresult *res = PQprepare(db->conn, name, st->text, st->nparams, types);
    if (db->in_transaction)
        run_plain(db, PQresultStatus(res) == PGRES_COMMAND_OK
                          ? "RELEASE SAVEPOINT prepare"
                          : "ROLLBACK TO SAVEPOINT prepare; RELEASE SAVEPOINT prepare");
    return res;
}

/* Prepares the statement for the kinds bound now: integers as bigint,
 * blobs as bytea, text and NULL as the context says; a parameter whose
 * type nothing says (a NULL in ":c IS NULL OR iso3 = :c") is tried as
 * text. Returns the variant, or NULL. */
static Variant *prepare_variant(PgStmt *st)
{
    Oid *types = xcalloc((size_t)st->nparams + 1, sizeof(Oid));
    for (int i = 0; i < st->nparams; i++)
        types[i] = st->kinds[i] == K_INT ? INT8OID : st->kinds[i] == K_BLOB ? BYTEAOID : 0;
    Variant *v = xcalloc(1, sizeof(Variant));
    snprintf(v->name, sizeof v->name, "r%u", st->db->next_name++);
    PGresult *res = try_prepare(st, v->name, types);
    for (int tries = 0; tries < st->nparams && PQresultStatus(res) != PGRES_COMMAND_OK; tries++) {
        int i = untyped_parameter(res);
        if (i < 0 || i >= st->nparams || types[i] != 0)
            break;
        types[i] = TEXTOID;
        PQclear(res);
        res = try_prepare(st, v->name, types);
    }
    free(types);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (is_retry_state(state))
            st->db->retry = 1;
        else if (state && strcmp(state, "25P02") == 0)
            ; /* the transaction failed before: the job is failing anyway */
        else if (PQstatus(st->db->conn) == CONNECTION_BAD)
            log_info("postgresql: the connection is lost: %s", PQerrorMessage(st->db->conn));
        else if (st->owned_sql) /* built at run time: the copy fails, not a programmer */
            fprintf(stderr, "ratify: %s in: %s\n", PQresultErrorMessage(res), st->sql);
        else
            fault("bad SQL: %s in: %s", PQresultErrorMessage(res), st->sql);
        PQclear(res);
        free(v);
        return NULL;
    }
    PQclear(res);
    v->kinds = xstrdup(st->kinds);
    v->next = st->variants;
    st->variants = v;
    return v;
}

static Variant *variant_for_kinds(PgStmt *st)
{
    for (Variant *v = st->variants; v; v = v->next)
        if (strcmp(v->kinds, st->kinds) == 0)
            return v;
    return prepare_variant(st);
}

/* A connection PostgreSQL closed (a restart, a failover to a standby at
 * the same address) is opened again between transactions; the statements
 * prepared on it are gone with it and are prepared again when next run.
 * Returns 0 when the connection is usable. */
static int ensure_connected(PgDb *db)
{
    if (PQstatus(db->conn) == CONNECTION_OK)
        return 0;
    if (db->in_transaction)
        return -1; /* the transaction is lost: its job fails and is not retried */
    PQreset(db->conn);
    if (PQstatus(db->conn) != CONNECTION_OK)
        return -1;
    for (size_t i = 0; i < db->cache.size; i++) {
        PgStmt *st = db->cache.slots[i].stmt;
        for (Variant *v = st ? st->variants : NULL, *next; v; v = next) {
            next = v->next;
            free(v->kinds);
            free(v);
        }
        if (st)
            st->variants = NULL;
    }
    log_info("postgresql: connected again");
    return run_plain(db, SESSION_SETTINGS);
}

/* Runs the statement. A failure inside a transaction is remembered: the
 * transaction cannot go on, and its job must fail. */
/* PQexec, once more on a new connection if PostgreSQL closed this one
 * since its last use (outside a transaction only). */
static PGresult *exec_reconnecting(PgDb *db, const char *sql)
{
    PGresult *res = PQexec(db->conn, sql);
    ExecStatusType s = PQresultStatus(res);
    if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK && PQstatus(db->conn) == CONNECTION_BAD &&
        !db->in_transaction && ensure_connected(db) == 0) {
        PQclear(res);
        res = PQexec(db->conn, sql);
    }
    return res;
}

static PGresult *run_prepared(PgStmt *st)
{
    Variant *v = variant_for_kinds(st);
    if (!v)
        return NULL;
    return PQexecPrepared(st->db->conn, v->name, st->nparams, (const char *const *)st->values,
                          st->lengths, st->formats, 0);
}

static void execute(PgStmt *st)
{
    PgDb *db = st->db;
    st->in_use = 1;
    if (st->broken || ensure_connected(db) != 0) {
        st->status = R_INTERNAL;
        return;
    }
    PGresult *res = run_prepared(st);
    /* The connection was found broken only now (PostgreSQL restarted since
     * the last statement): outside a transaction, connect and run again. */
    if (PQstatus(db->conn) == CONNECTION_BAD && !db->in_transaction && ensure_connected(db) == 0) {
        PQclear(res);
        res = run_prepared(st);
    }
    if (res)
        take_result(st, res);
    else
        st->status = R_INTERNAL;
    if (db->in_transaction && st->status != R_OK)
        db->statement_failed = 1;
}

static int pg_row(Stmt *s)
{
    PgStmt *st = PST(s);
    if (!st->in_use)
        execute(st);
    if (!st->res)
        return 0;
    for (int i = 0; i < st->ncols; i++) {
        PQfreemem(st->decoded[i]);
        st->decoded[i] = NULL;
    }
    if (st->cur + 1 >= st->nrows) {
        st->cur = st->nrows;
        return 0;
    }
    st->cur++;
    return 1;
}

static Result pg_done(Stmt *s)
{
    PgStmt *st = PST(s);
    Result r = st->status;
    stmt_reset(st);
    stmt_clear_bindings(st);
    return r;
}

static int in_row(PgStmt *st, int col)
{
    return st->res && st->cur >= 0 && st->cur < st->nrows && col >= 0 && col < st->ncols;
}

static const char *pg_text(Stmt *s, int col)
{
    PgStmt *st = PST(s);
    if (!in_row(st, col) || PQgetisnull(st->res, st->cur, col))
        return "";
    const char *v = PQgetvalue(st->res, st->cur, col);
    if (PQftype(st->res, col) == BOOLOID)
        return v[0] == 't' ? "1" : "0";
    return v;
}

/* The bytes of a bytea value, decoded once per row. */
static const unsigned char *bytea(PgStmt *st, int col, size_t *len)
{
    if (!st->decoded[col]) {
        st->decoded[col] = PQunescapeBytea((const unsigned char *)PQgetvalue(st->res, st->cur, col),
                                           &st->decoded_len[col]);
        if (!st->decoded[col])
            abort(); /* out of memory */
    }
    *len = st->decoded_len[col];
    return st->decoded[col];
}

static size_t pg_len(Stmt *s, int col)
{
    PgStmt *st = PST(s);
    if (!in_row(st, col) || PQgetisnull(st->res, st->cur, col))
        return 0;
    if (PQftype(st->res, col) == BYTEAOID) {
        size_t len;
        bytea(st, col, &len);
        return len;
    }
    return strlen(pg_text(s, col));
}

static const void *pg_blob(Stmt *s, int col)
{
    PgStmt *st = PST(s);
    if (!in_row(st, col) || PQgetisnull(st->res, st->cur, col))
        return NULL;
    if (PQftype(st->res, col) != BYTEAOID)
        return PQgetvalue(st->res, st->cur, col);
    size_t len;
    return bytea(st, col, &len);
}

static int64_t pg_int(Stmt *s, int col)
{
    return strtoll(pg_text(s, col), NULL, 10);
}

static int pg_is_null(Stmt *s, int col)
{
    PgStmt *st = PST(s);
    return !in_row(st, col) || PQgetisnull(st->res, st->cur, col);
}

/* ---- transactions ---- */

static void pg_after_commit(Db *d, void (*hook)(void))
{
    db_hooks_add(&PDB(d)->hooks, hook);
}

/* Runs apply inside the open transaction; a fault in it fails the job. */
static Result apply_job(PgDb *db, DbApply apply, void *ctx)
{
    int faulted_before = fault_take();
    db->write_depth++;
    Result r = apply(&db->base, ctx);
    db->write_depth--;
    if (fault_take() && r == R_OK)
        r = R_INTERNAL;
    if (faulted_before)
        fault("(an earlier fault on this thread)");
    return r;
}

/* A job that returns R_OK after one of its statements failed would commit
 * nothing on PostgreSQL (an aborted transaction only rolls back), while
 * SQLite would commit the rest: neither is what its author meant. */
static Result went_on_after_failure(PgDb *db, Result r)
{
    if (r == R_OK && db->statement_failed && !db->retry) {
        fault("a statement failed inside db_write and the job went on");
        return R_INTERNAL;
    }
    return r;
}

/* COMMIT, checked: in a transaction that failed, PostgreSQL answers a
 * COMMIT with a ROLLBACK, not an error. */
static int commit(PgDb *db)
{
    PGresult *res = PQexec(db->conn, "COMMIT");
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK && strcmp(PQcmdStatus(res), "COMMIT") == 0;
    if (!ok) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (is_retry_state(state))
            db->retry = 1;
        else
            log_info("postgresql: the commit failed: %s", PQresultErrorMessage(res));
    }
    PQclear(res);
    return ok ? 0 : -1;
}

/* A db_write inside another joins its transaction in a savepoint. */
static Result write_nested(PgDb *db, DbApply apply, void *ctx)
{
    int saved_hooks = db->hooks.count, failed_before = db->statement_failed;
    if (run_plain(db, "SAVEPOINT job") != 0)
        return R_INTERNAL;
    db->statement_failed = 0;
    Result r = went_on_after_failure(db, apply_job(db, apply, ctx));
    if (r != R_OK) {
        db->hooks.count = saved_hooks;
        run_plain(db, "ROLLBACK TO SAVEPOINT job"); /* usable again */
    }
    run_plain(db, "RELEASE SAVEPOINT job");
    db->statement_failed = failed_before;
    return r;
}

/* Every node reads this sequence before serving a cached page; moving it
 * after the commit means no page rendered before the commit is served
 * once the write is acknowledged. */
static void announce_change(PgDb *db)
{
    run_plain(db, "SELECT nextval('ratify_changes')");
}

static void backoff(int attempt)
{
    struct timespec ts = {0, (long)(1000000L * (1 + attempt) + (rand() % 1000) * 1000L)};
    nanosleep(&ts, NULL);
}

/* Write jobs take this lock first, on every node, and hold it until their
 * commit is visible: they run one at a time. SERIALIZABLE without the lock
 * was measured first: concurrent sign-ups (each checks that its address is
 * new, then inserts it) were cancelled three times each on average by
 * PostgreSQL's conflict detection, 470 acknowledged/s at 64 connections
 * and some given up after 30 tries; one at a time, each sees every earlier
 * commit under READ COMMITTED, with nothing to cancel and nothing to
 * retry, which is the single writer the rest of Ratify was written for.
 * Writes do not grow with nodes either way: they all go to the primary. */
static const char BEGIN_WRITE[] =
    "BEGIN ISOLATION LEVEL READ COMMITTED; SELECT pg_advisory_xact_lock(7355609)";

static Result pg_write(Db *d, DbApply apply, void *ctx)
{
    PgDb *db = PDB(d);
    if (db->write_depth > 0)
        return write_nested(db, apply, ctx);
    for (int attempt = 0; attempt < MAX_RETRIES; attempt++) {
        db->retry = 0;
        db->statement_failed = 0;
        db->hooks.count = 0;
        PGresult *begun = exec_reconnecting(db, BEGIN_WRITE);
        int ok = PQresultStatus(begun) == PGRES_TUPLES_OK;
        PQclear(begun);
        if (!ok) {
            run_plain(db, "ROLLBACK");
            return R_INTERNAL;
        }
        db->in_transaction = 1;
        Result r = went_on_after_failure(db, apply_job(db, apply, ctx));
        if (r == R_OK && !db->retry && commit(db) == 0) {
            db->in_transaction = 0;
            announce_change(db);
            db_hooks_run(&db->hooks);
            return R_OK;
        }
        run_plain(db, "ROLLBACK");
        db->in_transaction = 0;
        db->hooks.count = 0;
        if (!db->retry)
            return r == R_OK ? R_INTERNAL : r;
        backoff(attempt);
    }
    log_info("postgresql: a write gave up after %d serialization failures", MAX_RETRIES);
    return R_INTERNAL;
}

static int pg_changes(Db *d)
{
    return PDB(d)->changes;
}

static int64_t pg_data_version(Db *d)
{
    PgDb *db = PDB(d);
    PGresult *res = exec_reconnecting(db, "SELECT last_value FROM ratify_changes");
    int64_t v = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1
                    ? strtoll(PQgetvalue(res, 0, 0), NULL, 10)
                    : -1;
    PQclear(res);
    return v;
}

static void pg_checkpoint(Db *d)
{
    /* Erased rows are gone for every reader at commit; VACUUM reclaims
     * their space in its own time. */
    (void)d;
}

static int pg_statements_in_use(Db *d)
{
    PgDb *db = PDB(d);
    int n = 0;
    for (size_t i = 0; i < db->cache.size; i++) {
        const PgStmt *st = db->cache.slots[i].stmt;
        n += st && st->in_use && st->res && st->cur < st->nrows;
    }
    return n;
}

static void pg_reset_all(Db *d)
{
    PgDb *db = PDB(d);
    for (size_t i = 0; i < db->cache.size; i++)
        if (db->cache.slots[i].stmt)
            stmt_reset(db->cache.slots[i].stmt);
}

/* ---- migrations ---- */

static int word_at(const char *p, const char *start, const char *word)
{
    size_t n = strlen(word);
    return strncmp(p, word, n) == 0 && (p == start || !is_name_char(p[-1])) && !is_name_char(p[n]);
}

/* The portable schema in PostgreSQL's types. Words inside comments and
 * quotes are left alone. */
static char *schema_for_postgres(const char *sql)
{
    static const struct {
        const char *from, *to;
    } types[] = {
        {"INTEGER PRIMARY KEY", "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"},
        {"INTEGER", "BIGINT"},
        {"BLOB", "BYTEA"},
        {"REAL", "DOUBLE PRECISION"},
    };
    Buf out = {0};
    for (const char *p = sql; *p;) {
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            size_t n = end ? (size_t)(end - p) + 1 : strlen(p);
            buf_append(&out, p, n);
            p += n;
            continue;
        }
        if (p[0] == '-' && p[1] == '-') {
            size_t n = strcspn(p, "\n");
            buf_append(&out, p, n);
            p += n;
            continue;
        }
        size_t i;
        for (i = 0; i < sizeof types / sizeof types[0]; i++)
            if (word_at(p, sql, types[i].from))
                break;
        if (i < sizeof types / sizeof types[0]) {
            buf_puts(&out, types[i].to);
            p += strlen(types[i].from);
        } else {
            buf_append(&out, p, 1);
            p++;
        }
    }
    return buf_take(&out);
}

/* A migration's text for PostgreSQL: schema/postgresql/NNN_x.sql where a
 * migration must differ, otherwise the portable one translated. */
static char *migration_text(const Asset *a)
{
    char path[256];
    snprintf(path, sizeof path, "schema/postgresql/%s", a->path + strlen("schema/"));
    const Asset *own = asset_find(path);
    if (own)
        return xstrdup((const char *)own->data);
    return schema_for_postgres((const char *)a->data);
}

static int migration_applied(PgDb *db, const char *name)
{
    const char *values[1] = {name};
    PGresult *res = PQexecParams(db->conn, "SELECT 1 FROM schema_migrations WHERE name = $1", 1,
                                 NULL, values, NULL, NULL, 0);
    int found = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) > 0;
    PQclear(res);
    return found;
}

static int record_migration(PgDb *db, const char *name)
{
    char at[24];
    snprintf(at, sizeof at, "%lld", (long long)now_seconds());
    const char *values[2] = {name, at};
    PGresult *res =
        PQexecParams(db->conn, "INSERT INTO schema_migrations (name, applied_at) VALUES ($1, $2)",
                     2, NULL, values, NULL, NULL, 0);
    int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
    PQclear(res);
    return ok ? 0 : -1;
}

/* Identity columns count on from the largest id present, also where rows
 * came in with their ids (the treaty instruments, a migration between
 * engines). */
static int resync_identities(PgDb *db)
{
    return run_plain(db, "DO $$ DECLARE c record; BEGIN "
                         "FOR c IN SELECT table_name, column_name FROM information_schema.columns "
                         "WHERE table_schema = current_schema() AND is_identity = 'YES' LOOP "
                         "EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, %L), "
                         "GREATEST((SELECT max(%I) FROM %I), 0) + 1, false)', "
                         "c.table_name, c.column_name, c.column_name, c.table_name); "
                         "END LOOP; END $$");
}

/* SQLite's functions that the portable SQL uses and PostgreSQL names
 * otherwise: group_concat(x, sep) is string_agg. */
static const char compat_functions[] =
    "CREATE OR REPLACE FUNCTION ratify_concat(acc text, val text, sep text) RETURNS text "
    "LANGUAGE sql IMMUTABLE AS $$ SELECT CASE WHEN val IS NULL THEN acc "
    "WHEN acc IS NULL THEN val ELSE acc || sep || val END $$; "
    "CREATE OR REPLACE AGGREGATE group_concat(text, text) "
    "(SFUNC = ratify_concat, STYPE = text)";

/* All pending migrations in one transaction, under a lock, so that nodes
 * starting together do not both migrate: the second waits, then finds
 * nothing left to do. */
static Result migrate(PgDb *db)
{
    if (run_plain(db, "BEGIN") != 0)
        return R_INTERNAL;
    if (run_plain(db, "SELECT pg_advisory_xact_lock(7355608); "
                      "CREATE SEQUENCE IF NOT EXISTS ratify_changes; "
                      "CREATE TABLE IF NOT EXISTS schema_migrations ("
                      "name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)") != 0 ||
        run_plain(db, compat_functions) != 0)
        goto fail;
    int applied = 0;
    for (const Asset *a = db_next_migration(NULL); a; a = db_next_migration(a)) {
        if (migration_applied(db, a->path))
            continue;
        char *sql = migration_text(a);
        int rc = run_plain(db, sql);
        free(sql);
        if (rc != 0) {
            fprintf(stderr, "ratify: migration %s failed: %s", a->path, PQerrorMessage(db->conn));
            goto fail;
        }
        if (record_migration(db, a->path) != 0)
            goto fail;
        applied++;
    }
    if ((applied && resync_identities(db) != 0) || run_plain(db, "COMMIT") != 0)
        goto fail;
    return R_OK;
fail:
    run_plain(db, "ROLLBACK");
    return R_INTERNAL;
}

/* ---- checks, backups, locks ---- */

static Result pg_check(Db *d)
{
    /* PostgreSQL keeps its own pages and constraints checked; what Ratify
     * can check is that the schema is the one this binary expects. */
    int version = db_schema_version(d), expected = db_migrations_available();
    if (version != expected) {
        fprintf(stderr, "schema: %d of %d migrations applied\n", version, expected);
        return R_INTERNAL;
    }
    return R_OK;
}

/* Advisory locks are keyed by a number: the name's hash. */
static long long lock_key(const char *name)
{
    unsigned long long h = 1469598103934665603ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return (long long)(h >> 1);
}

static void pg_tune_for_bulk_load(Db *d)
{
    (void)d; /* the server's settings are the operator's (doc/OPERATIONS.md) */
}

static int pg_try_lock(Db *d, const char *name)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", lock_key(name));
    const char *values[1] = {key};
    PGresult *res = PQexecParams(PDB(d)->conn, "SELECT pg_try_advisory_lock($1::bigint)", 1, NULL,
                                 values, NULL, NULL, 0);
    int got = PQresultStatus(res) == PGRES_TUPLES_OK && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return got;
}

static void pg_unlock(Db *d, const char *name)
{
    char key[24];
    snprintf(key, sizeof key, "%lld", lock_key(name));
    const char *values[1] = {key};
    PQclear(PQexecParams(PDB(d)->conn, "SELECT pg_advisory_unlock($1::bigint)", 1, NULL, values,
                         NULL, NULL, 0));
}

/* ---- SQL built at run time, and the catalogue (copy.c) ---- */

static Stmt *pg_prepare_dynamic(Db *d, const char *sql)
{
    char *own = xstrdup(sql);
    PgStmt *st = stmt_new(PDB(d), own);
    st->owned_sql = own;
    if (st->broken) {
        stmt_free(st);
        return NULL;
    }
    return &st->base;
}

static void pg_finalize(Stmt *s)
{
    PgStmt *st = PST(s);
    for (Variant *v = st->variants; v; v = v->next) {
        char sql[48];
        snprintf(sql, sizeof sql, "DEALLOCATE %s", v->name);
        PQclear(PQexec(st->db->conn, sql)); /* fails only in a failed transaction */
    }
    stmt_free(st);
}

static int pg_column_count(Stmt *s)
{
    PgStmt *st = PST(s);
    return st->res ? PQnfields(st->res) : 0;
}

static const char *pg_column_name(Stmt *s, int col)
{
    PgStmt *st = PST(s);
    const char *name = st->res && col >= 0 && col < st->ncols ? PQfname(st->res, col) : NULL;
    return name ? name : "";
}

enum { INT2OID = 21, INT4OID = 23, OIDOID = 26, FLOAT4OID = 700, FLOAT8OID = 701 };

static DbKind pg_kind(Stmt *s, int col)
{
    PgStmt *st = PST(s);
    if (pg_is_null(s, col))
        return DB_NULL;
    switch (PQftype(st->res, col)) {
    case INT8OID:
    case INT4OID:
    case INT2OID:
    case OIDOID:
    case BOOLOID:
        return DB_INT;
    case FLOAT4OID:
    case FLOAT8OID:
        return DB_REAL;
    case BYTEAOID:
        return DB_BLOB;
    default:
        return DB_TEXT;
    }
}

static Stmt *pg_tables(Db *d)
{
    return db_prepare(d, "SELECT table_name::text FROM information_schema.tables "
                         "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' "
                         "ORDER BY 1");
}

/* The position in the primary key from pg_index.indkey, counted from 1
 * (the vector itself counts from 0). */
static Stmt *pg_columns(Db *d, const char *table)
{
    Stmt *st = db_prepare(d, "SELECT a.attname::text, COALESCE((SELECT k.n FROM unnest(i.indkey) "
                             "WITH ORDINALITY AS k(attnum, n) WHERE k.attnum = a.attnum), 0) "
                             "FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid "
                             "JOIN pg_namespace n ON n.oid = t.relnamespace "
                             "LEFT JOIN pg_index i ON i.indrelid = t.oid AND i.indisprimary "
                             "WHERE n.nspname = current_schema() AND t.relname::text = :table "
                             "AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum");
    db_bind_text(st, ":table", table);
    return st;
}

static Stmt *pg_foreign_keys(Db *d)
{
    return db_prepare(d, "SELECT a.relname::text, b.relname::text FROM pg_constraint c "
                         "JOIN pg_class a ON a.oid = c.conrelid "
                         "JOIN pg_class b ON b.oid = c.confrelid "
                         "JOIN pg_namespace n ON n.oid = a.relnamespace "
                         "WHERE c.contype = 'f' AND n.nspname = current_schema() ORDER BY 1, 2");
}

/* REPEATABLE READ takes its snapshot at the first statement: the one
 * below, so every read until the end sees the same database. */
static Result pg_begin_snapshot(Db *d)
{
    PgDb *db = PDB(d);
    if (run_plain(db, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") != 0)
        return R_INTERNAL;
    if (run_plain(db, "SELECT 1") != 0) {
        run_plain(db, "ROLLBACK");
        return R_INTERNAL;
    }
    db->in_transaction = 1;
    return R_OK;
}

static void pg_end_snapshot(Db *d)
{
    PgDb *db = PDB(d);
    run_plain(db, "ROLLBACK"); /* it only read */
    db->in_transaction = 0;
}

static Result pg_after_copy(Db *d)
{
    return resync_identities(PDB(d)) == 0 ? R_OK : R_INTERNAL;
}

static const char *pg_version(void)
{
    static char version[32];
    int v = PQlibVersion();
    snprintf(version, sizeof version, "libpq %d.%d", v / 10000, v % 10000);
    return version;
}

const DbEngine postgres_engine = {
    .name = "PostgreSQL",
    .open = pg_open,
    .close = pg_close,
    .prepare = pg_prepare,
    .bind_text = pg_bind_text,
    .bind_int = pg_bind_int,
    .bind_blob = pg_bind_blob,
    .bind_null = pg_bind_null,
    .row = pg_row,
    .done = pg_done,
    .text = pg_text,
    .len = pg_len,
    .blob = pg_blob,
    .integer = pg_int,
    .is_null = pg_is_null,
    .write = pg_write,
    .after_commit = pg_after_commit,
    .changes = pg_changes,
    .data_version = pg_data_version,
    .checkpoint = pg_checkpoint,
    .statements_in_use = pg_statements_in_use,
    .reset_all = pg_reset_all,
    .check = pg_check,
    .backup = db_backup_by_copy,
    .snapshot = db_snapshot_by_copy,
    .tune_for_bulk_load = pg_tune_for_bulk_load,
    .try_lock = pg_try_lock,
    .unlock = pg_unlock,
    .version = pg_version,
    .prepare_dynamic = pg_prepare_dynamic,
    .finalize = pg_finalize,
    .column_count = pg_column_count,
    .column_name = pg_column_name,
    .kind = pg_kind,
    .tables = pg_tables,
    .columns = pg_columns,
    .foreign_keys = pg_foreign_keys,
    .begin_snapshot = pg_begin_snapshot,
    .end_snapshot = pg_end_snapshot,
    .after_copy = pg_after_copy,
};
