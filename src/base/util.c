/*
 * util.c: allocators, the request arena, the growable buffer, escaping for
 * each output context, UTF-8 validation, time, random tokens and the log.
 */
#include "base/util.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static void out_of_memory(size_t n)
{
    fprintf(stderr, "ratify: out of memory (asked for %zu bytes)\n", n);
    abort();
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *xcalloc(size_t count, size_t size)
{
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (!p)
        out_of_memory(count * size);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = xmalloc(n);
    memcpy(p, s, n);
    return p;
}

/* The arena is a list of blocks; big requests get a block of their own so
 * that a large upload does not waste a standard block. */
typedef struct Block {
    struct Block *next;
    size_t used, size;
    _Alignas(16) unsigned char data[];
} Block;

struct Arena {
    Block *head;
};

enum { ARENA_BLOCK = 16 * 1024 };

Arena *arena_new(void)
{
    return xcalloc(1, sizeof(Arena));
}

void *arena_alloc(Arena *a, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    Block *b = a->head;
    if (!b || b->size - b->used < n) {
        size_t size = n > ARENA_BLOCK / 2 ? n : ARENA_BLOCK;
        Block *nb = xmalloc(sizeof(Block) + size);
        nb->used = 0;
        nb->size = size;
        if (b && size != ARENA_BLOCK) {
            /* Keep the current block at the head: it still has room. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n)
{
    char *p = arena_alloc(a, n + 1);
    memcpy(p, s, n);
    p[n] = 0;
    return p;
}

char *arena_strdup(Arena *a, const char *s)
{
    return s ? arena_strndup(a, s, strlen(s)) : NULL;
}

char *arena_printf(Arena *a, const char *fmt, ...)
{
    /* Format into a small buffer first: most strings fit, and gcc rejects
     * the vsnprintf(NULL, 0, ...) idiom under -Wformat=2. */
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    char *p = arena_alloc(a, (size_t)n + 1);
    if ((size_t)n < sizeof small) {
        memcpy(p, small, (size_t)n + 1);
        return p;
    }
    va_start(ap, fmt);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return p;
}

void arena_free(Arena *a)
{
    if (!a)
        return;
    Block *b = a->head;
    while (b) {
        Block *next = b->next;
        free(b);
        b = next;
    }
    free(a);
}

void buf_reserve(Buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = xrealloc(b->data, cap);
    b->cap = cap;
    b->data[b->len] = 0;
}

void buf_append(Buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = 0;
}

void buf_puts(Buf *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_putc(Buf *b, char c)
{
    buf_append(b, &c, 1);
}

void buf_printf(Buf *b, const char *fmt, ...)
{
    char small[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if ((size_t)n < sizeof small) {
        buf_append(b, small, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void buf_free(Buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

/* Escapes the five characters that matter in HTML text and in attribute
 * values quoted with either quote; backtick too, for old browsers that
 * accepted it as an attribute quote. */
void escape_html(Buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        const char *rep = NULL;
        switch (s[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&#39;";
            break;
        case '`':
            rep = "&#96;";
            break;
        default:
            continue;
        }
        buf_append(b, s + start, i - start);
        buf_puts(b, rep);
        start = i + 1;
    }
    buf_append(b, s + start, n - start);
}

void escape_url_component(Buf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~') {
            buf_putc(b, (char)c);
        } else {
            char enc[3] = {'%', hex[c >> 4], hex[c & 15]};
            buf_append(b, enc, 3);
        }
    }
}

/* A link is safe when it has no scheme (relative: the part before the
 * first ':' contains '/', '?' or '#', or there is no ':') or its scheme is
 * http, https or mailto. Control characters and whitespace anywhere reject
 * it, since browsers strip them ("java\tscript:"). */
int escape_href(Buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == '\\') {
            buf_putc(b, '#');
            return 0;
        }
    }
    size_t colon = n;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == ':') {
            colon = i;
            break;
        }
        if (s[i] == '/' || s[i] == '?' || s[i] == '#')
            break;
    }
    if (colon < n) {
        static const char *const ok[] = {"http", "https", "mailto"};
        int allowed = 0;
        for (size_t k = 0; k < sizeof ok / sizeof ok[0]; k++) {
            size_t len = strlen(ok[k]);
            if (colon == len && strncasecmp(s, ok[k], len) == 0)
                allowed = 1;
        }
        if (!allowed) {
            buf_putc(b, '#');
            return 0;
        }
    }
    /* "//evil.example" is a scheme-relative link to another host: allowed,
     * like an absolute http link. */
    escape_html(b, s, n);
    return 1;
}

void escape_csv(Buf *b, const char *s, size_t n)
{
    int formula = n > 0 && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                            s[0] == '\t' || s[0] == '\r');
    int quote = formula;
    for (size_t i = 0; i < n && !quote; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        buf_append(b, s, n);
        return;
    }
    buf_putc(b, '"');
    if (formula)
        buf_putc(b, '\'');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            buf_putc(b, '"');
        buf_putc(b, s[i]);
    }
    buf_putc(b, '"');
}

int utf8_valid_text(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            if ((c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7f)
                return 0;
            i++;
            continue;
        }
        size_t len;
        uint32_t cp;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
            cp = c & 0x1f;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            cp = c & 0x0f;
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + len > n)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        /* Overlong forms, surrogates and values past U+10FFFF. */
        if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += len;
    }
    return 1;
}

int utf8_valid_line(const char *s, size_t n)
{
    return utf8_valid_text(s, n) && !memchr(s, '\t', n) && !memchr(s, '\n', n) &&
           !memchr(s, '\r', n) && !memchr(s, 0x7f, n);
}

static _Thread_local int faulted;

void fault(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    log_info("fault: %s", line);
    faulted = 1;
}

int fault_take(void)
{
    int f = faulted;
    faulted = 0;
    return f;
}

/* Callers pass literal formats (util.h): the check happens there. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void format_utc(int64_t t, const char *fmt, char *out, size_t size)
{
    time_t tt = (time_t)t;
    struct tm tm;
    out[0] = '\0';
    if (gmtime_r(&tt, &tm) && strftime(out, size, fmt, &tm) == 0)
        out[0] = '\0';
}
#pragma GCC diagnostic pop

/* Test seam: RATIFY_TEST_NOW_OFFSET (seconds, may be negative) moves this
 * clock, so end-to-end tests can make a session or an audit entry old, or
 * run housekeeping a year later, through the product rather than by writing
 * timestamps into the database. Unset (as in production) it does nothing;
 * SQL's own 'now' and the log's timestamps do not follow it. */
int64_t now_seconds(void)
{
    static int64_t offset;
    static int read;
    if (!__atomic_load_n(&read, __ATOMIC_ACQUIRE)) {
        const char *s = getenv("RATIFY_TEST_NOW_OFFSET");
        char *end = NULL;
        long long v = s && *s ? strtoll(s, &end, 10) : 0;
        __atomic_store_n(&offset, end && *end == 0 ? (int64_t)v : 0, __ATOMIC_RELAXED);
        __atomic_store_n(&read, 1, __ATOMIC_RELEASE);
    }
    return (int64_t)time(NULL) + __atomic_load_n(&offset, __ATOMIC_RELAXED);
}

void random_hex(char *out, size_t nbytes)
{
    unsigned char raw[64];
    if (nbytes > sizeof raw)
        abort();
    randombytes_buf(raw, nbytes);
    sodium_bin2hex(out, nbytes * 2 + 1, raw, nbytes);
    sodium_memzero(raw, sizeof raw);
}

void log_info(const char *fmt, ...)
{
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &tm);
    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s %s\n", stamp, line);
}
