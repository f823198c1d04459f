/*
 * csv.h: reading RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF
 * line ends, newlines inside quotes) one record at a time.
 *
 * The reader works over a buffer that the caller keeps alive; fields are
 * copied into the record's own storage, valid until the next csv_next or
 * csv_free. It never reads past the buffer and is fuzzed.
 */
#ifndef RATIFY_CSV_H
#define RATIFY_CSV_H

#include <stddef.h>

enum { CSV_MAX_FIELDS = 256, CSV_MAX_FIELD = 64 * 1024 };

typedef struct {
    const char *data;
    size_t len, pos;
    size_t line;                  /* line where the current record starts, from 1 */
    size_t next_line;             /* line where the next one starts */
    char *fields[CSV_MAX_FIELDS]; /* NUL-terminated */
    size_t count;
    char *storage;
    size_t storage_cap;
    const char *error; /* set when csv_next returns -1 */
} CsvReader;

/* Starts reading data[0..len). A UTF-8 byte order mark is skipped. */
void csv_open(CsvReader *r, const char *data, size_t len);

/* Reads the next record into r->fields / r->count. Returns 1 for a record,
 * 0 at the end, -1 on malformed input (an unterminated quote, a quote in
 * an unquoted field, text after a closing quote, too many fields or a field
 * too long) with r->error and r->line saying what and where. Blank lines
 * are skipped. */
int csv_next(CsvReader *r);

/* The index of the header column called name (case-insensitive, trimmed),
 * or -1. Call after reading the header record. */
int csv_column(const CsvReader *r, const char *name);

void csv_free(CsvReader *r);

#endif
