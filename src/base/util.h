/*
 * util.h: the small pieces every file uses: allocators that abort on
 * exhaustion, a per-request arena, a growable byte buffer, result codes and
 * escaping for each output context.
 *
 * Invariants: the x allocators never return NULL; an Arena frees everything
 * it handed out in one arena_free(); a Buf is always NUL-terminated.
 */
#ifndef RATIFY_UTIL_H
#define RATIFY_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
/* <unistd.h> and <fcntl.h> define R_OK (for access(), which Ratify never
 * calls), the latter only if it is not defined yet; include both here,
 * first, and drop that macro so our result code can have the name. Their
 * include guards keep a later #include from bringing it back. */
#include <fcntl.h>
#include <unistd.h>
#undef R_OK

/* Expected failures, passed up to one place that maps them to an HTTP status
 * (http_status_for) or a CLI exit code (cli_exit_for). */
typedef enum {
    R_OK = 0,
    R_BAD_REQUEST,  /* 400: malformed or invalid input */
    R_UNAUTHORIZED, /* login needed: pages redirect to /login, API gets 401 */
    R_FORBIDDEN,    /* 403: logged in but not allowed, or bad CSRF token */
    R_NOT_FOUND,    /* 404 */
    R_METHOD,       /* 405 */
    R_CONFLICT,     /* 409 */
    R_TOO_LARGE,    /* 413 */
    R_UNSUPPORTED,  /* 415: a body type we do not parse */
    R_TOO_MANY,     /* 429: throttled */
    R_INTERNAL,     /* 500: a bug or an I/O failure; details go to the log */
} Result;

/* Allocators: abort with a message when memory is exhausted. */
void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* An arena owns every allocation made from it until arena_free(). Each
 * request has one, so handlers never free what they allocate. */
typedef struct Arena Arena;
Arena *arena_new(void);
void *arena_alloc(Arena *a, size_t n);       /* zeroed, 16-byte aligned */
char *arena_strdup(Arena *a, const char *s); /* s may be NULL: returns NULL */
char *arena_strndup(Arena *a, const char *s, size_t n);
char *arena_printf(Arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void arena_free(Arena *a); /* a may be NULL */

/* A growable buffer; data is NUL-terminated whenever len > 0 or after
 * buf_reserve. The owner calls buf_free. */
typedef struct {
    char *data;
    size_t len;
    size_t cap;
} Buf;
void buf_reserve(Buf *b, size_t extra);
void buf_append(Buf *b, const char *s, size_t n);
void buf_puts(Buf *b, const char *s);
void buf_putc(Buf *b, char c);
void buf_printf(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void buf_free(Buf *b);

/* Escaping, one function per output context. Each appends to b. */
void escape_html(Buf *b, const char *s, size_t n);          /* text and quoted attributes */
void escape_url_component(Buf *b, const char *s, size_t n); /* percent-encoding */
/* Appends s if it is a safe link (http, https, mailto or relative), HTML
 * escaped; otherwise appends "#". Returns 1 when s was accepted. */
int escape_href(Buf *b, const char *s, size_t n);
/* A CSV field: quoted when needed; a leading = + - @ TAB or CR is prefixed
 * with ' so that spreadsheets do not run it as a formula. */
void escape_csv(Buf *b, const char *s, size_t n);

/* 1 if s[0..n) is valid UTF-8 without NUL or C0 controls other than TAB,
 * LF and CR. */
int utf8_valid_text(const char *s, size_t n);

/* 1 if s[0..n) is valid UTF-8 without any control character at all (for
 * names, paths, query values and headers, where even a newline has no
 * meaning). */
int utf8_valid_line(const char *s, size_t n);

/* A programming error met while serving a request (a JSON format that does
 * not match its arguments, a statement left stepping): fault() logs it and
 * marks the calling thread, the caller carries on with a harmless value,
 * and the server answers that request with a 500 instead of the process
 * aborting. fault_take() returns the mark and clears it. */
void fault(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fault_take(void);

/* Current time in seconds since the epoch (UTC). */
int64_t now_seconds(void);

/* Writes the time t (seconds since the epoch) in UTC as strftime's fmt
 * into out (size bytes); "" when t cannot be shown. Times are formatted
 * here, not in SQL: the engines' date functions differ. */
void format_utc(int64_t t, const char *fmt, char *out, size_t size)
    __attribute__((format(strftime, 2, 0)));

/* Writes a random token of nbytes bytes as lowercase hex to out, which must
 * hold 2 * nbytes + 1 bytes. */
void random_hex(char *out, size_t nbytes);

/* Logs a line to stderr with a timestamp: the server log. Never pass
 * passwords, tokens, testimony text or an anonymous submitter's address. */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
