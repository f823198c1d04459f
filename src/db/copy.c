/*
 * copy.c: a whole database copied into another, of the same engine or
 * not: `ratify migrate` (SQLite <-> PostgreSQL), the backups of PostgreSQL
 * (copied into an in-memory SQLite database, so that one backup format
 * serves both engines) and restoring such a backup into PostgreSQL.
 *
 * The one file outside the engines whose SQL is built at run time: table
 * and column names come from the catalogue of the target (engine.h:
 * tables, columns, foreign_keys), always double-quoted, never from input.
 * Those statements go through db_prepare_dynamic, outside the cache that
 * db_prepare keys by a literal's address (tools/codecheck.py allows it here
 * alone).
 *
 * How a copy goes:
 *  - the source is read in one consistent read-only snapshot
 *    (begin_snapshot), so rows written meanwhile are wholly in or out;
 *  - both sides must be at the same schema version, with the same tables
 *    and columns: data is never squeezed into another schema;
 *  - everything is written in one db_write on the target: the target's
 *    rows are checked (see holds_data) and deleted, then every table is
 *    copied, parents before children (a topological sort of the foreign
 *    keys), ids included, then after_copy (identity sequences on
 *    PostgreSQL), then every table is read back and compared;
 *  - the comparison: per table, the number of rows and a SHA-256 computed
 *    here in C from the values read through the API on each side (not by
 *    an engine's SQL function, which would differ between engines). Each
 *    row is hashed over a canonical encoding of its values (kind, length,
 *    bytes; integers in decimal), and the table's sum is the SHA-256 of the
 *    row digests sorted, so that the order rows come in (collations differ
 *    between engines) does not matter. Any difference rolls the whole copy
 *    back.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/engine.h"

enum { DIGEST = crypto_hash_sha256_BYTES };

typedef struct {
    char *name;
    char **columns;
    int ncols;
    char *select_sql; /* every column, ordered by the primary key */
    char *insert_sql; /* every column, values :c0 .. :cN */
    char **params;    /* ":c0" .. */
    int64_t rows;     /* read from the source */
    char source_sum[65];
} Table;

typedef struct {
    Arena *arena;
    Table *tables;
    int count;
} Schema;

/* "name" with any double quote doubled. */
static void put_identifier(Buf *b, const char *name)
{
    buf_putc(b, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            buf_putc(b, '"');
        buf_putc(b, *p);
    }
    buf_putc(b, '"');
}

/* ---- the catalogue ---- */

static Result load_columns(Db *db, Schema *s, Table *t)
{
    Stmt *st = db->engine->columns(db, t->name);
    int cap = 0, key_cap = 0, nkeys = 0;
    char **keys = NULL;
    int *key_pos = NULL;
    while (db_row(st)) {
        if (t->ncols == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = arena_alloc(s->arena, (size_t)cap * sizeof(char *));
            if (t->ncols)
                memcpy(grown, t->columns, (size_t)t->ncols * sizeof(char *));
            t->columns = grown;
        }
        t->columns[t->ncols++] = arena_strdup(s->arena, db_text(st, 0));
        if (db_int(st, 1) > 0) {
            if (nkeys == key_cap) {
                key_cap = key_cap ? key_cap * 2 : 4;
                keys = xrealloc(keys, (size_t)key_cap * sizeof(char *));
                key_pos = xrealloc(key_pos, (size_t)key_cap * sizeof(int));
            }
            keys[nkeys] = t->columns[t->ncols - 1];
            key_pos[nkeys++] = (int)db_int(st, 1);
        }
    }
    Result r = db_done(st);
    if (r == R_OK && t->ncols == 0) {
        fprintf(stderr, "ratify: table %s has no columns\n", t->name);
        r = R_INTERNAL;
    }
    if (r != R_OK) {
        free(keys);
        free(key_pos);
        return R_INTERNAL;
    }
    Buf sel = {0}, ins = {0};
    buf_puts(&sel, "SELECT ");
    buf_puts(&ins, "INSERT INTO ");
    put_identifier(&ins, t->name);
    buf_puts(&ins, " (");
    t->params = arena_alloc(s->arena, (size_t)t->ncols * sizeof(char *));
    for (int i = 0; i < t->ncols; i++) {
        if (i) {
            buf_puts(&sel, ", ");
            buf_puts(&ins, ", ");
        }
        put_identifier(&sel, t->columns[i]);
        put_identifier(&ins, t->columns[i]);
        t->params[i] = arena_printf(s->arena, ":c%d", i);
    }
    buf_puts(&sel, " FROM ");
    put_identifier(&sel, t->name);
    /* By the primary key, in its own order: a table that refers to itself
     * (a protocol's parent instrument) gets its parents first. */
    for (int k = 1, done = 0; done < nkeys; k++)
        for (int i = 0; i < nkeys; i++)
            if (key_pos[i] == k) {
                buf_puts(&sel, done++ ? ", " : " ORDER BY ");
                put_identifier(&sel, keys[i]);
            }
    buf_puts(&ins, ") VALUES (");
    for (int i = 0; i < t->ncols; i++)
        buf_printf(&ins, "%s%s", i ? ", " : "", t->params[i]);
    buf_puts(&ins, ")");
    t->select_sql = arena_strdup(s->arena, sel.data);
    t->insert_sql = arena_strdup(s->arena, ins.data);
    buf_free(&sel);
    buf_free(&ins);
    free(keys);
    free(key_pos);
    return R_OK;
}

static Result load_schema(Db *db, Schema *s)
{
    s->arena = arena_new();
    int cap = 0;
    Stmt *st = db->engine->tables(db);
    while (db_row(st)) {
        if (s->count == cap) {
            cap = cap ? cap * 2 : 64;
            Table *grown = arena_alloc(s->arena, (size_t)cap * sizeof(Table));
            if (s->count)
                memcpy(grown, s->tables, (size_t)s->count * sizeof(Table));
            s->tables = grown;
        }
        memset(&s->tables[s->count], 0, sizeof(Table));
        s->tables[s->count++].name = arena_strdup(s->arena, db_text(st, 0));
    }
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    for (int i = 0; i < s->count; i++)
        if (load_columns(db, s, &s->tables[i]) != R_OK)
            return R_INTERNAL;
    return R_OK;
}

static int table_index(const Schema *s, const char *name)
{
    for (int i = 0; i < s->count; i++)
        if (strcmp(s->tables[i].name, name) == 0)
            return i;
    return -1;
}

/* Orders s->tables so that every table comes after the tables its foreign
 * keys refer to (Kahn's algorithm; among the tables ready, the catalogue's
 * order, which is by name). A circle of foreign keys between tables cannot
 * be copied in one pass: R_INTERNAL. */
static Result order_by_foreign_keys(Db *db, Schema *s)
{
    int n = s->count;
    char *needs = xcalloc((size_t)n * (size_t)n + 1, 1); /* needs[child * n + parent] */
    Stmt *st = db->engine->foreign_keys(db);
    while (db_row(st)) {
        int child = table_index(s, db_text(st, 0)), parent = table_index(s, db_text(st, 1));
        if (child >= 0 && parent >= 0 && child != parent)
            needs[child * n + parent] = 1;
    }
    Result r = db_done(st);
    Table *ordered = arena_alloc(s->arena, (size_t)n * sizeof(Table) + 1);
    char *placed = xcalloc((size_t)n + 1, 1);
    for (int count = 0; r == R_OK && count < n;) {
        int next = -1;
        for (int i = 0; i < n && next < 0; i++) {
            if (placed[i])
                continue;
            int ready = 1;
            for (int p = 0; p < n && ready; p++)
                ready = !needs[i * n + p] || placed[p];
            if (ready)
                next = i;
        }
        if (next < 0) {
            fprintf(stderr, "ratify: the tables' foreign keys form a circle\n");
            r = R_INTERNAL;
            break;
        }
        placed[next] = 1;
        ordered[count++] = s->tables[next];
    }
    if (r == R_OK)
        s->tables = ordered;
    free(needs);
    free(placed);
    return r;
}

/* The same tables with the same columns on both sides. */
static Result same_schema(const Schema *to, const Schema *from)
{
    Result r = R_OK;
    for (int i = 0; i < from->count; i++)
        if (table_index(to, from->tables[i].name) < 0) {
            fprintf(stderr, "ratify: the source has a table the target has not: %s\n",
                    from->tables[i].name);
            r = R_UNSUPPORTED;
        }
    for (int i = 0; i < to->count; i++) {
        const Table *t = &to->tables[i];
        int j = table_index(from, t->name);
        if (j < 0) {
            fprintf(stderr, "ratify: the source has no table %s\n", t->name);
            r = R_UNSUPPORTED;
            continue;
        }
        const Table *f = &from->tables[j];
        for (int c = 0; c < t->ncols; c++) {
            int found = 0;
            for (int k = 0; k < f->ncols && !found; k++)
                found = strcmp(t->columns[c], f->columns[k]) == 0;
            if (!found || t->ncols != f->ncols) {
                fprintf(stderr, "ratify: table %s has other columns in the source\n", t->name);
                r = R_UNSUPPORTED;
                break;
            }
        }
    }
    return r;
}

/* ---- checksums ---- */

/* One value in a canonical encoding: its kind, its length in 8 bytes
 * (little-endian) and its bytes (integers and reals in decimal). */
static void hash_value(crypto_hash_sha256_state *h, Stmt *st, int col)
{
    DbKind kind = db_kind(st, col);
    char number[40];
    const void *bytes = "";
    size_t len = 0;
    switch (kind) {
    case DB_NULL:
        break;
    case DB_INT:
        len = (size_t)snprintf(number, sizeof number, "%lld", (long long)db_int(st, col));
        bytes = number;
        break;
    case DB_REAL:
        len = (size_t)snprintf(number, sizeof number, "%.17g", strtod(db_text(st, col), NULL));
        bytes = number;
        break;
    case DB_TEXT:
        bytes = db_text(st, col);
        len = db_len(st, col);
        break;
    case DB_BLOB:
        bytes = db_blob(st, col);
        len = db_len(st, col);
        if (!bytes)
            bytes = "";
        break;
    }
    unsigned char head[9] = {(unsigned char)"NIRTB"[kind]};
    for (int i = 0; i < 8; i++)
        head[1 + i] = (unsigned char)((uint64_t)len >> (8 * i));
    crypto_hash_sha256_update(h, head, sizeof head);
    crypto_hash_sha256_update(h, bytes, len);
}

/* The digests of a table's rows, gathered as they are read. */
typedef struct {
    unsigned char *digests;
    size_t count, cap;
} RowSums;

static void row_sum_add(RowSums *s, Stmt *st, int ncols)
{
    if (s->count == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->digests = xrealloc(s->digests, s->cap * DIGEST);
    }
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    for (int c = 0; c < ncols; c++)
        hash_value(&h, st, c);
    crypto_hash_sha256_final(&h, s->digests + s->count++ * DIGEST);
}

static int compare_digests(const void *a, const void *b)
{
    return memcmp(a, b, DIGEST);
}

/* The table's sum in hex, and the row digests freed. */
static void row_sums_finish(RowSums *s, char hex[65])
{
    if (s->count)
        qsort(s->digests, s->count, DIGEST, compare_digests);
    unsigned char sum[DIGEST];
    crypto_hash_sha256(sum, s->digests ? s->digests : (const unsigned char *)"",
                       (unsigned long long)(s->count * DIGEST));
    sodium_bin2hex(hex, 65, sum, DIGEST);
    free(s->digests);
    memset(s, 0, sizeof *s);
}

/* Reads every row of t on db: its count and sum. */
static Result table_sum(Db *db, const Table *t, int64_t *rows, char hex[65])
{
    Stmt *st = db_prepare_dynamic(db, t->select_sql);
    if (!st)
        return R_INTERNAL;
    RowSums sums = {0};
    while (db_row(st))
        row_sum_add(&sums, st, t->ncols);
    Result r = db_done(st);
    db_finalize(st);
    *rows = (int64_t)sums.count;
    row_sums_finish(&sums, hex);
    return r;
}

/* ---- the target: empty or not ---- */

static Result count_rows(Db *db, const char *table, int64_t *n)
{
    Buf sql = {0};
    buf_puts(&sql, "SELECT count(*) FROM ");
    put_identifier(&sql, table);
    Stmt *st = db_prepare_dynamic(db, sql.data);
    buf_free(&sql);
    if (!st)
        return R_INTERNAL;
    *n = db_row(st) ? db_int(st, 0) : -1;
    Result r = db_done(st);
    db_finalize(st);
    return r == R_OK && *n >= 0 ? R_OK : R_INTERNAL;
}

/* Migrations seed some rows themselves (the treaty instruments, the working
 * groups, the list of migrations): a target "holds data" when any table
 * has another number of rows than in a database freshly migrated by this
 * binary, an in-memory SQLite one made for the comparison. Counting rows
 * rather than naming tables keeps this true as migrations change; a
 * database where someone has worked has users, sessions, audit rows. */
static int holds_data(Db *db, const Schema *s)
{
    Db *fresh = sqlite_engine.open(":memory:", 1);
    if (!fresh)
        return -1;
    Schema fs = {0};
    int found = load_schema(fresh, &fs) == R_OK ? 0 : -1;
    for (int i = 0; found == 0 && i < s->count; i++) {
        int64_t have, seeded = 0;
        if (count_rows(db, s->tables[i].name, &have) != R_OK ||
            (table_index(&fs, s->tables[i].name) >= 0 &&
             count_rows(fresh, s->tables[i].name, &seeded) != R_OK))
            found = -1;
        else if (have != seeded) {
            fprintf(stderr,
                    "ratify: the target's table %s holds %lld row%s (%lld from migrations)\n",
                    s->tables[i].name, (long long)have, have == 1 ? "" : "s", (long long)seeded);
            found = 1;
        }
    }
    arena_free(fs.arena);
    db_close(fresh);
    return found;
}

int db_holds_data(Db *db)
{
    Schema s = {0};
    int found = load_schema(db, &s) == R_OK ? holds_data(db, &s) : -1;
    arena_free(s.arena);
    return found;
}

/* ---- the copy ---- */

typedef struct {
    Db *from;
    Schema *schema; /* the target's, in foreign key order */
    int replace;
    DbCopyReport *report;
} CopyJob;

static void bind_value(Stmt *ins, const char *param, Stmt *st, int col)
{
    switch (db_kind(st, col)) {
    case DB_NULL:
        db_bind_null(ins, param);
        break;
    case DB_INT:
        db_bind_int(ins, param, db_int(st, col));
        break;
    case DB_REAL: /* as its text: the column's type reads it back */
    case DB_TEXT: {
        const char *text = db_text(st, col);
        db_bind_textn(ins, param, text, db_len(st, col));
        break;
    }
    case DB_BLOB: {
        const void *bytes = db_blob(st, col);
        size_t len = db_len(st, col);
        db_bind_blob(ins, param, bytes ? bytes : "", len); /* empty, not NULL */
        break;
    }
    }
}

/* Copies the rows of t from the source into w, summing them as read. */
static Result copy_table(Db *w, Db *from, Table *t)
{
    Stmt *src = db_prepare_dynamic(from, t->select_sql);
    Stmt *ins = db_prepare_dynamic(w, t->insert_sql);
    Result r = src && ins ? R_OK : R_INTERNAL;
    RowSums sums = {0};
    while (r == R_OK && db_row(src)) {
        row_sum_add(&sums, src, t->ncols);
        for (int c = 0; c < t->ncols; c++)
            bind_value(ins, t->params[c], src, c);
        r = db_run(ins);
        if (r != R_OK)
            fprintf(stderr, "ratify: a row of %s does not go into the target\n", t->name);
    }
    if (src && db_done(src) != R_OK && r == R_OK)
        r = R_INTERNAL;
    db_finalize(src);
    db_finalize(ins);
    t->rows = (int64_t)sums.count;
    row_sums_finish(&sums, t->source_sum);
    return r;
}

static Result delete_all(Db *w, const Table *t)
{
    Buf sql = {0};
    buf_puts(&sql, "DELETE FROM ");
    put_identifier(&sql, t->name);
    Stmt *st = db_prepare_dynamic(w, sql.data);
    buf_free(&sql);
    if (!st)
        return R_INTERNAL;
    Result r = db_run(st);
    db_finalize(st);
    return r;
}

static void report_reset(DbCopyReport *report)
{
    for (int i = 0; i < report->count; i++)
        free(report->tables[i].table);
    free(report->tables);
    memset(report, 0, sizeof *report);
}

/* Reads every table back on w and compares it with what was read from
 * the source; fills the report. */
static Result verify(Db *w, Schema *s, DbCopyReport *report)
{
    report_reset(report);
    report->tables = xcalloc((size_t)s->count + 1, sizeof(DbTableSum));
    Result r = R_OK;
    for (int i = 0; i < s->count; i++) {
        Table *t = &s->tables[i];
        DbTableSum *sum = &report->tables[report->count++];
        sum->table = xstrdup(t->name);
        sum->rows = t->rows;
        memcpy(sum->source_sum, t->source_sum, sizeof sum->source_sum);
        if (table_sum(w, t, &sum->target_rows, sum->target_sum) != R_OK)
            return R_INTERNAL;
        report->rows += t->rows;
        if (sum->rows != sum->target_rows || strcmp(sum->source_sum, sum->target_sum) != 0) {
            fprintf(stderr, "ratify: table %s differs after the copy\n", t->name);
            r = R_INTERNAL;
        }
    }
    return r;
}

static Result copy_apply(Db *w, void *ctx)
{
    CopyJob *job = ctx;
    Schema *s = job->schema;
    if (!job->replace) {
        int found = holds_data(w, s);
        if (found != 0)
            return found > 0 ? R_CONFLICT : R_INTERNAL;
    }
    for (int i = s->count - 1; i >= 0; i--)
        if (delete_all(w, &s->tables[i]) != R_OK)
            return R_INTERNAL;
    for (int i = 0; i < s->count; i++)
        if (copy_table(w, job->from, &s->tables[i]) != R_OK)
            return R_INTERNAL;
    if (w->engine->after_copy(w) != R_OK)
        return R_INTERNAL;
    DbCopyReport scratch = {0};
    DbCopyReport *report = job->report ? job->report : &scratch;
    Result r = verify(w, s, report);
    report_reset(&scratch);
    return r;
}

static Result same_version(Db *to, Db *from)
{
    int source = db_schema_version(from), target = db_schema_version(to);
    if (source == target && target == db_migrations_available())
        return R_OK;
    fprintf(stderr,
            "ratify: the source is at schema version %d and the target at %d, this ratify at "
            "%d: open the older one once with `ratify init` of this version first\n",
            source, target, db_migrations_available());
    return R_UNSUPPORTED;
}

Result db_copy_tables(Db *to, Db *from, int replace, DbCopyReport *report)
{
    if (report)
        memset(report, 0, sizeof *report);
    if (from->engine->begin_snapshot(from) != R_OK)
        return R_INTERNAL;
    Schema target = {0}, source = {0};
    Result r = same_version(to, from);
    if (r == R_OK)
        r = load_schema(to, &target) == R_OK && load_schema(from, &source) == R_OK
                ? same_schema(&target, &source)
                : R_INTERNAL;
    if (r == R_OK)
        r = order_by_foreign_keys(to, &target);
    if (r == R_OK) {
        CopyJob job = {.from = from, .schema = &target, .replace = replace, .report = report};
        r = db_write(to, copy_apply, &job);
        if (r == R_CONFLICT)
            fprintf(stderr, "ratify: the target already holds data: a copy goes only into a "
                            "new, empty database\n");
    }
    from->engine->end_snapshot(from);
    arena_free(target.arena);
    arena_free(source.arena);
    return r;
}

void db_copy_report_free(DbCopyReport *report)
{
    if (report)
        report_reset(report);
}

/* ---- backups of PostgreSQL: SQLite images ---- */

/* A new in-memory SQLite database at this binary's schema holding a copy
 * of db. */
static Result copy_into_memory(Db *db, Db **mem)
{
    *mem = sqlite_engine.open(":memory:", 1);
    if (!*mem)
        return R_INTERNAL;
    Result r = db_copy_tables(*mem, db, 1, NULL);
    if (r != R_OK) {
        fprintf(stderr, "ratify: backup failed: the copy did not complete\n");
        db_close(*mem);
        *mem = NULL;
    }
    return r;
}

Result db_backup_by_copy(Db *db, const char *path)
{
    Db *mem;
    Result r = copy_into_memory(db, &mem);
    if (r == R_OK)
        r = sqlite_engine.backup(mem, path);
    db_close(mem);
    return r;
}

Result db_snapshot_by_copy(Db *db, unsigned char **bytes, size_t *len)
{
    *bytes = NULL;
    *len = 0;
    Db *mem;
    Result r = copy_into_memory(db, &mem);
    if (r == R_OK)
        r = sqlite_engine.snapshot(mem, bytes, len);
    db_close(mem);
    return r;
}
