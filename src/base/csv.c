/*
 * csv.c: an RFC 4180 CSV reader (see csv.h). Fields of a record are
 * packed, NUL-separated, into one growing buffer, so a record costs one
 * allocation at most however many fields it has.
 */
#include "base/csv.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/util.h"

void csv_open(CsvReader *r, const char *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->len = len;
    r->line = r->next_line = 1;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
}

void csv_free(CsvReader *r)
{
    free(r->storage);
    r->storage = NULL;
    r->storage_cap = 0;
}

static void store(CsvReader *r, size_t *used, char c)
{
    if (*used + 1 >= r->storage_cap) {
        r->storage_cap = r->storage_cap ? r->storage_cap * 2 : 1024;
        r->storage = xrealloc(r->storage, r->storage_cap);
    }
    r->storage[(*used)++] = c;
}

static int fail(CsvReader *r, const char *why)
{
    r->error = why;
    return -1;
}

/* Reads one field starting at r->pos; leaves r->pos on the delimiter,
 * line end or end of data. */
static int read_field(CsvReader *r, size_t *used, size_t *lines)
{
    size_t start = *used;
    if (r->pos < r->len && r->data[r->pos] == '"') {
        r->pos++;
        for (;;) {
            if (r->pos >= r->len)
                return fail(r, "a quoted field is not closed");
            char c = r->data[r->pos++];
            if (c == '"') {
                if (r->pos < r->len && r->data[r->pos] == '"') {
                    r->pos++;
                    store(r, used, '"');
                    continue;
                }
                break;
            }
            if (c == '\n')
                (*lines)++;
            store(r, used, c);
            if (*used - start > CSV_MAX_FIELD)
                return fail(r, "a field is too long");
        }
        if (r->pos < r->len && !strchr(",\r\n", r->data[r->pos]))
            return fail(r, "text after a closing quote");
    } else {
        while (r->pos < r->len && !strchr(",\r\n", r->data[r->pos])) {
            if (r->data[r->pos] == '"')
                return fail(r, "a quote inside an unquoted field");
            store(r, used, r->data[r->pos++]);
            if (*used - start > CSV_MAX_FIELD)
                return fail(r, "a field is too long");
        }
    }
    store(r, used, 0);
    return 0;
}

static int at_line_end(const CsvReader *r)
{
    return r->pos >= r->len || r->data[r->pos] == '\n' || r->data[r->pos] == '\r';
}

static void skip_line_end(CsvReader *r)
{
    if (r->pos < r->len && r->data[r->pos] == '\r')
        r->pos++;
    if (r->pos < r->len && r->data[r->pos] == '\n')
        r->pos++;
}

int csv_next(CsvReader *r)
{
    /* Skip blank lines. */
    while (r->pos < r->len && (r->data[r->pos] == '\n' || r->data[r->pos] == '\r')) {
        if (r->data[r->pos] == '\n')
            r->next_line++;
        r->pos++;
    }
    r->line = r->next_line;
    r->count = 0;
    if (r->pos >= r->len)
        return 0;
    size_t used = 0, lines = 0;
    size_t offsets[CSV_MAX_FIELDS];
    for (;;) {
        if (r->count == CSV_MAX_FIELDS)
            return fail(r, "too many fields");
        offsets[r->count++] = used;
        if (read_field(r, &used, &lines) != 0)
            return -1;
        if (at_line_end(r))
            break;
        r->pos++; /* the comma */
    }
    for (size_t i = 0; i < r->count; i++)
        r->fields[i] = r->storage + offsets[i];
    if (r->pos < r->len && r->data[r->pos] == '\n')
        lines++;
    else if (r->pos < r->len && r->data[r->pos] == '\r' && r->pos + 1 < r->len &&
             r->data[r->pos + 1] == '\n')
        lines++;
    skip_line_end(r);
    r->next_line += lines;
    return 1;
}

int csv_column(const CsvReader *r, const char *name)
{
    for (size_t i = 0; i < r->count; i++) {
        const char *f = r->fields[i];
        while (isspace((unsigned char)*f))
            f++;
        size_t n = strlen(f);
        while (n && isspace((unsigned char)f[n - 1]))
            n--;
        if (n == strlen(name) && strncasecmp(f, name, n) == 0)
            return (int)i;
    }
    return -1;
}
