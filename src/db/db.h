/*
 * db.h: the storage API. Feature code sees Db and Stmt and never an
 * engine's own types: SQLite is the engine today (sqlite.c), and PostgreSQL
 * comes behind the same calls.
 *
 * SQL is always a string literal with named parameters (":name"); values go
 * in only through db_bind_*. The macros below paste "" around the SQL
 * argument, so passing anything but a literal does not compile; `make check`
 * also scans for it. Prepared statements are cached per connection, keyed by
 * the literal's address, so each statement is compiled once per connection.
 *
 * Reading:  Stmt *st = db_prepare(db, "SELECT ...");  bind;
 *           while (db_row(st)) { db_text(st, 0) ... }  db_done(st);
 * Writing:  only inside db_write(db, apply, ctx): apply(w, ctx) runs in a
 *           transaction of its own on the connection w it is given (in the
 *           server, the writer thread's: see db_writer_start) and uses
 *           db_run / db_insert. Nothing is acknowledged before it is durable.
 *
 * A connection (Db) belongs to one thread at a time. The server gives each
 * worker thread its own, read-only while the writer thread runs.
 */
#ifndef RATIFY_DB_H
#define RATIFY_DB_H

#include <stddef.h>
#include <stdint.h>

#include "base/util.h"

/* A prepared statement: opaque to everything but the engine. */
typedef struct Stmt Stmt;

typedef struct Db Db;

/* Opens the database target names, then applies any embedded migration
 * not yet applied (each in its own transaction). target is a file path
 * (SQLite: created if needed, with WAL, foreign keys, a busy timeout and
 * synchronous=FULL) or a "postgresql://" URL (PostgreSQL: the database must
 * exist). Returns NULL and prints the reason to stderr on failure. Free
 * with db_close. */
Db *db_open(const char *target);

/* Whether target names a PostgreSQL database ("postgresql://") rather than
 * a file. */
int db_target_is_postgres(const char *target);

/* Opens without applying migrations: for `ratify check` and backups. */
Db *db_open_existing(const char *target);

/* target as it may be shown (printed, logged): a PostgreSQL URL with its
 * password, in the user part or as password=, replaced by "***". Returns
 * target itself or buf (size bytes). */
const char *db_target_shown(const char *target, char *buf, size_t size);

/* "SQLite" or "PostgreSQL". */
const char *db_engine_name(Db *db);

void db_close(Db *db); /* db may be NULL */

/* Returns the cached statement for sql, reset and with bindings cleared.
 * A programmer's error (SQL that does not compile, or a positional "?"
 * parameter) is a fault (util.h: the request answers 500, the process goes
 * on) and gives a statement with no rows. Do not finalize it; call db_done
 * when finished reading. Use the db_prepare macro. */
Stmt *db_prepare_(Db *db, const char *sql);
#define db_prepare(db, sql) db_prepare_((db), "" sql "")

/* Binds by name (":email"). A name the statement does not have is a
 * programmer's error: a fault, and nothing is bound. text may be NULL
 * (binds NULL). */
void db_bind_text(Stmt *st, const char *name, const char *text);
void db_bind_textn(Stmt *st, const char *name, const char *text, size_t len);
void db_bind_int(Stmt *st, const char *name, int64_t value);
void db_bind_blob(Stmt *st, const char *name, const void *data, size_t len);
void db_bind_null(Stmt *st, const char *name);

/* Moves to the next row: 1 when there is one, 0 at the end or on an error
 * (logged, and reported by db_done). */
int db_row(Stmt *st);

/* Finishes with st so the cache can hand it out again. Returns R_OK, or
 * for a failed step R_CONFLICT (a constraint: unique, foreign key, check)
 * or R_INTERNAL. Call it after every db_prepare, also after an early exit. */
Result db_done(Stmt *st);

/* Runs a statement to its end (an UPDATE or DELETE, or a SELECT whose rows
 * do not matter) and finishes it; returns as db_done. */
Result db_run(Stmt *st);

/* Runs "INSERT ... RETURNING id" and gives the new id; returns as db_done
 * (R_INTERNAL when no row came back). */
Result db_insert(Stmt *st, int64_t *id);

/* Column getters. db_text returns "" for NULL; the pointer is valid until
 * the next row or db_done, so copy it (arena_strdup) to keep it. */
const char *db_text(Stmt *st, int col);
size_t db_len(Stmt *st, int col);
const void *db_blob(Stmt *st, int col);
int64_t db_int(Stmt *st, int col);
int db_is_null(Stmt *st, int col);

/* ---- SQL built at run time: src/db/copy.c alone (tools/codecheck.py) ----
 * Copying every table between databases needs table and column names that
 * come from the catalogue, so its SQL cannot be a literal. Such a statement
 * is prepared anew, never cached (the cache is keyed by a literal's
 * address), and finalized by its caller. Names in it come from the
 * catalogue only, quoted, never from input. */

/* What a column holds in the current row. */
typedef enum { DB_NULL, DB_INT, DB_REAL, DB_TEXT, DB_BLOB } DbKind;

/* Prepares sql without the cache: NULL, with the reason on stderr, when it
 * does not compile. Free with db_finalize. */
Stmt *db_prepare_dynamic(Db *db, const char *sql);
void db_finalize(Stmt *st); /* st may be NULL */

/* The columns of a statement's result, and the kind of a value. */
int db_column_count(Stmt *st);
const char *db_column_name(Stmt *st, int col);
DbKind db_kind(Stmt *st, int col);

/* One table's line in a copy's report: its rows and the SHA-256 of its
 * rows (see copy.c) on each side. */
typedef struct {
    char *table;
    int64_t rows, target_rows;
    char source_sum[65], target_sum[65];
} DbTableSum;

typedef struct {
    DbTableSum *tables;
    int count;
    int64_t rows;
} DbCopyReport;

/* Copies every table of from into to (engines of any kind, same schema
 * version), ids and all, in one transaction on to, reading from in one
 * consistent read-only snapshot; then counts and checksums every table on
 * both sides and rolls back on any difference. Without replace, a target
 * that holds more than a fresh migration seeds is refused (R_CONFLICT);
 * with it, its rows are replaced in the same transaction. R_UNSUPPORTED:
 * the schemas differ. report (may be NULL) is filled even on a mismatch;
 * free it with db_copy_report_free. */
Result db_copy_tables(Db *to, Db *from, int replace, DbCopyReport *report);
void db_copy_report_free(DbCopyReport *report);

/* Whether db holds anything besides what its migrations seed: 1, 0, or -1
 * on an error. */
int db_holds_data(Db *db);

/* A read-only connection to the checked database image in bytes (see
 * db_check_image), which stays the caller's and must outlive it: the
 * source when a backup is restored into another engine. NULL on error. */
Db *db_open_image(unsigned char *bytes, size_t len);

/* The one way to change data. apply(w, ctx) runs inside a transaction on
 * connection w (in the server, the writer thread's; otherwise db itself)
 * and must use w, never another connection, for every statement. When it
 * returns anything but R_OK, or faults (util.h), everything it wrote is
 * rolled back and that result is returned. R_OK is returned only once the
 * change is durable. apply may run on another thread: it must not touch
 * thread-local state, and whatever it reads from ctx stays valid because
 * the caller waits. A db_write inside apply joins the same transaction. */
typedef Result (*DbApply)(Db *w, void *ctx);
Result db_write(Db *db, DbApply apply, void *ctx);

/* Called from inside apply: runs hook once after the transaction commits
 * (mail_wake, cache invalidation), never if it rolls back. */
void db_after_commit(Db *w, void (*hook)(void));

/* Starts the writer thread, which owns the only connection that writes to
 * the database at path, and makes every connection opened afterwards by
 * this process read-only: db_write from any thread hands its job to the
 * writer, which runs the jobs waiting together in one transaction, each in
 * its own savepoint, and commits them with one fsync (group commit).
 * Returns 0, or -1 with the reason on stderr. */
int db_writer_start(const char *path);

/* Lets the jobs queued finish, then stops the writer. */
void db_writer_stop(void);

/* Counters since db_writer_start, for the log and the benchmark. */
typedef struct {
    uint64_t jobs, batches, failed_jobs;
} DbWriterStats;
DbWriterStats db_writer_stats(void);

/* Runs a statement that returns no rows: prepare (cached), bind nothing,
 * step once. Returns R_OK or R_INTERNAL. */
Result db_exec_(Db *db, const char *sql);
#define db_exec(db, sql) db_exec_((db), "" sql "")

/* A lock named name held by at most one connection of every node (so an
 * hourly job runs on one node at a time): 1 when this connection got it,
 * 0 when another holds it. PostgreSQL: an advisory lock; SQLite, with one
 * node: always 1. Release with db_unlock. */
int db_try_lock(Db *db, const char *name);
void db_unlock(Db *db, const char *name);

/* Tunes the connection db for a load of many rows in many transactions
 * (the member import); commits stay durable. */
void db_tune_for_bulk_load(Db *db);

/* Rows changed by the last statement. */
int db_changes(Db *db);

/* For the fuzzer and tests: an empty database in memory, and a copy of all
 * of from into to (the state before each input, restored in one step). */
Db *db_open_memory(void);
Result db_copy(Db *to, Db *from);

/* The engines and their versions, for `ratify version`:
 * "SQLite 3.40.1, libpq 15.18". */
const char *db_engine_version(void);

/* The number of migrations applied and the number embedded. */
int db_schema_version(Db *db);
int db_migrations_available(void);

/* Online backup of db into the file at path (overwritten), safe while the
 * server is writing. Returns R_OK or R_INTERNAL with the reason on stderr. */
Result db_backup(Db *db, const char *path);

/* A consistent copy of the whole database as the bytes of a database file,
 * made with the same online backup as db_backup but into memory, so that an
 * encrypted backup never writes the plaintext to disk. On R_OK, *bytes
 * (of *len bytes) belongs to the caller, who frees it with
 * db_snapshot_free. Returns R_INTERNAL with the reason on stderr. */
Result db_snapshot(Db *db, unsigned char **bytes, size_t *len);

/* Zeroes and frees what db_snapshot returned. bytes may be NULL. */
void db_snapshot_free(unsigned char *bytes, size_t len);

/* Whether bytes start like an SQLite database file. */
int db_image_is_sqlite(const unsigned char *bytes, size_t len);

/* Checks the database file image in bytes, in memory and read-only, as
 * db_check checks a file, and sets *schema_version. It marks the image as a
 * rollback-journal database (header bytes 18 and 19), which an in-memory
 * database needs; the first db_open of a file written from it turns WAL
 * back on. Returns R_OK, R_UNSUPPORTED when bytes are not a Ratify
 * database, or R_INTERNAL when a check fails (problems on stderr). */
Result db_check_image(unsigned char *bytes, size_t len, int *schema_version);

/* PRAGMA integrity_check and foreign_key_check. Prints problems to stderr.
 * Returns R_OK when both are clean. */
Result db_check(Db *db);

/* SQLite's data_version: changes when another connection or process
 * commits (not on this connection's own commits). */
int64_t db_data_version(Db *db);

/* Copies the write-ahead log into the database file and truncates it
 * (after erasing personal data, so no older copy of a page remains). */
void db_checkpoint(Db *db);

/* Statements currently in use (stepped and not yet db_done). The server
 * checks it is 0 after each request (a fault otherwise). */
int db_statements_in_use(Db *db);

/* Resets every statement, releasing the snapshots they hold. */
void db_reset_all(Db *db);

#endif
