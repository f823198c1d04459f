/*
 * db.h: the only door to SQLite.
 *
 * SQL is always a string literal with named parameters (":name"); values go
 * in only through db_bind_*. The macros below paste "" around the SQL
 * argument, so passing anything but a literal does not compile; `make check`
 * also scans for it. Prepared statements are cached per connection, keyed by
 * the literal's text, so each statement is compiled once per connection.
 *
 * A connection (Db) belongs to one thread at a time. The server gives each
 * worker thread its own.
 */
#ifndef RATIFY_DB_H
#define RATIFY_DB_H

#include <sqlite3.h>
#include <stdint.h>

#include "util.h"

typedef struct Db Db;

/* Opens (creating if needed) the database file at path with WAL, foreign
 * keys, a busy timeout and synchronous=FULL, then applies any embedded
 * migration not yet applied (each in its own transaction). Returns NULL and
 * prints the reason to stderr on failure. Free with db_close. */
Db *db_open(const char *path);

/* Opens without applying migrations: for `ratify check` and backups. */
Db *db_open_existing(const char *path);

void db_close(Db *db); /* db may be NULL */

sqlite3 *db_handle(Db *db); /* for the backup API and tests only */

/* Returns the cached statement for sql, reset and with bindings cleared.
 * Aborts on a programmer's error (SQL that does not compile, or a
 * positional "?" parameter). Do not finalize it; call db_done when finished
 * reading. Use the db_prepare macro. */
sqlite3_stmt *db_prepare_(Db *db, const char *sql);
#define db_prepare(db, sql) db_prepare_((db), "" sql "")

/* Binds by name (":email"). Aborts if the statement has no such
 * parameter: that is a programmer's error. text may be NULL (binds NULL). */
void db_bind_text(sqlite3_stmt *st, const char *name, const char *text);
void db_bind_textn(sqlite3_stmt *st, const char *name, const char *text, size_t len);
void db_bind_int(sqlite3_stmt *st, const char *name, int64_t value);
void db_bind_blob(sqlite3_stmt *st, const char *name, const void *data, size_t len);
void db_bind_null(sqlite3_stmt *st, const char *name);

/* Steps st: returns SQLITE_ROW, SQLITE_DONE, or another SQLite code on
 * failure (logged). */
int db_step(sqlite3_stmt *st);

/* Resets st so the cache can hand it out again. */
void db_done(sqlite3_stmt *st);

/* Column getters. db_text returns "" for NULL; the pointer is valid until
 * the next step or db_done, so copy it (arena_strdup) to keep it. */
const char *db_text(sqlite3_stmt *st, int col);
int64_t db_int(sqlite3_stmt *st, int col);
int db_is_null(sqlite3_stmt *st, int col);

/* Runs a statement that returns no rows: prepare (cached), bind nothing,
 * step once. Returns R_OK or R_INTERNAL. */
Result db_exec_(Db *db, const char *sql);
#define db_exec(db, sql) db_exec_((db), "" sql "")

/* Transactions. db_begin starts a write transaction (BEGIN IMMEDIATE, so a
 * writer waits for the lock up front instead of failing at commit).
 * db_commit returns R_OK or R_INTERNAL (then the transaction is rolled
 * back). db_rollback is safe to call when no transaction is open. */
Result db_begin(Db *db);
Result db_commit(Db *db);
void db_rollback(Db *db);

/* 1 while a transaction is open on db (so a helper can join it). */
int db_in_transaction(Db *db);

/* rowid of the last insert on this connection. */
int64_t db_last_id(Db *db);
/* Rows changed by the last statement. */
int db_changes(Db *db);

/* The number of migrations applied and the number embedded. */
int db_schema_version(Db *db);
int db_migrations_available(void);

/* Online backup of db into the file at path (overwritten), safe while the
 * server is writing. Returns R_OK or R_INTERNAL with the reason on stderr. */
Result db_backup(Db *db, const char *path);

/* PRAGMA integrity_check and foreign_key_check. Prints problems to stderr.
 * Returns R_OK when both are clean. */
Result db_check(Db *db);

/* SQLite's data_version: changes when another connection or process
 * commits (not on this connection's own commits). */
int64_t db_data_version(Db *db);

/* Copies the write-ahead log into the database file and truncates it
 * (after erasing personal data, so no older copy of a page remains). */
void db_checkpoint(Db *db);

/* Statements currently in use (stepped and not yet db_done). Debug builds
 * assert it is 0 after each request. */
int db_statements_in_use(Db *db);

#endif
