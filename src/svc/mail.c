/*
 * mail.c: outgoing email (see mail.h). Owns the mail_queue table's writes,
 * the RFC 5322 / MIME formatting of a queued message, and the sender
 * thread that hands due messages to an SMTP server through libcurl.
 *
 * Invariants:
 *  - Nothing here logs or stores an address, a subject or a body: the log
 *    gets only "mail <id> sent" and "mail <id> failed (attempt n): <error>",
 *    and the error text has every word holding an '@' replaced. Messages
 *    carry one-time login links and the names of people at risk.
 *  - A formatted message is 7-bit ASCII with CRLF line ends: header values
 *    keep no control character (so no header can be injected, whatever a
 *    row holds), a non-ASCII subject is RFC 2047 encoded and folded, and
 *    the body is quoted-printable with lines of at most 76 characters.
 *  - libcurl does the SMTP dot-stuffing of the DATA it uploads (a line
 *    starting with "." goes out as ".."), so the message is not stuffed
 *    here. The quoted-printable encoder also writes a "." that starts a
 *    line as "=2E", so the body survives a relay that forgets to stuff.
 *  - The sender thread has its own Db. Each row's result is written in its
 *    own short transaction after the SMTP exchange, so a slow server never
 *    holds SQLite's write lock. Delivery is at least once: a crash between
 *    the server's "250" and that commit sends the message again.
 */
#include "svc/mail.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "svc/http.h" /* valid_email */

enum {
    MAIL_FIRST_RETRY = 30,         /* seconds after the first failure */
    MAIL_MAX_RETRY = 6 * 3600,     /* the backoff's ceiling */
    MAIL_BATCH = 50,               /* rows read from the queue at a time */
    MAIL_CLAIM_SECONDS = 300,      /* a claimed batch is this node's for so long */
    MAIL_CONNECT_TIMEOUT = 10,     /* seconds */
    MAIL_TRANSFER_TIMEOUT = 60,    /* seconds, the whole SMTP exchange */
    QP_LINE_MAX = 76,              /* RFC 2045 6.7 (5) */
    HEADER_LINE_MAX = 78,          /* RFC 5322 2.1.1 */
    SUBJECT_WORD_FIRST_BYTES = 39, /* "Subject: =?UTF-8?B?" + 52 + "?=": 73 */
    SUBJECT_WORD_BYTES = 45,       /* " =?UTF-8?B?" + 60 + "?=": 73 */
};

/* Used when the configuration names no sender (only mail_format allows
 * that; mail_start refuses it). */
static const char FALLBACK_FROM[] = "ratify@localhost.localdomain";

/* ---- queuing ---- */

const char *mail_problem(const char *to, const char *subject, const char *body)
{
    if (!to || !valid_email(to))
        return "This is not a valid email address.";
    if (!subject || strpbrk(subject, "\r\n") || !utf8_valid_text(subject, strlen(subject)))
        return "The subject must be one line of text.";
    if (strlen(subject) > MAIL_SUBJECT_MAX)
        return "The subject is too long.";
    if (!body || !utf8_valid_text(body, strlen(body)))
        return "The message must be UTF-8 text without control characters.";
    if (strlen(body) > MAIL_BODY_MAX)
        return "The message is too long.";
    return NULL;
}

Result mail_queue_id(Db *db, const char *to, const char *subject, const char *body, int64_t *id)
{
    if (mail_problem(to, subject, body))
        return R_BAD_REQUEST;
    Stmt *st = db_prepare(
        db, "INSERT INTO mail_queue (to_addr, subject, body, created_at, next_attempt_at) "
            "VALUES (:to, :subject, :body, :now, :now) RETURNING id");
    db_bind_text(st, ":to", to);
    db_bind_text(st, ":subject", subject);
    db_bind_text(st, ":body", body);
    db_bind_int(st, ":now", now_seconds());
    Result rc = db_insert(st, id);
    if (rc == R_OK)
        db_after_commit(db, mail_wake);
    return rc == R_OK ? R_OK : R_INTERNAL;
}

/* 1 when every byte of s is in allowed (and s has 1 to max bytes). */
static int only_chars(const char *s, const char *allowed, size_t max)
{
    size_t n = s ? strlen(s) : 0;
    return n > 0 && n <= max && strspn(s, allowed) == n;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

const char *mail_attachment_problem(const MailAttachment *att)
{
    if (!att)
        return NULL;
    if (!only_chars(att->name, ALNUM "._-", 64) || att->name[0] == '.')
        return "The attachment's name is not a plain file name.";
    if (!only_chars(att->type, ALNUM "/.+-;= ", 200) || !strchr(att->type, '/'))
        return "The attachment's type is not a MIME type.";
    if (!att->content || !utf8_valid_text(att->content, strlen(att->content)))
        return "The attachment must be UTF-8 text.";
    if (strlen(att->content) > MAIL_BODY_MAX)
        return "The attachment is too long.";
    return NULL;
}

Result mail_queue_attached(Db *db, const char *to, const char *subject, const char *body,
                           const MailAttachment *att)
{
    if (!att)
        return mail_queue(db, to, subject, body);
    if (mail_problem(to, subject, body) || mail_attachment_problem(att))
        return R_BAD_REQUEST;
    Stmt *st = db_prepare(
        db, "INSERT INTO mail_queue (to_addr, subject, body, created_at, next_attempt_at, "
            "attachment_name, attachment_type, attachment) "
            "VALUES (:to, :subject, :body, :now, :now, :aname, :atype, :att)");
    db_bind_text(st, ":to", to);
    db_bind_text(st, ":subject", subject);
    db_bind_text(st, ":body", body);
    db_bind_int(st, ":now", now_seconds());
    db_bind_text(st, ":aname", att->name);
    db_bind_text(st, ":atype", att->type);
    db_bind_text(st, ":att", att->content);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    db_after_commit(db, mail_wake);
    return R_OK;
}

Result mail_queue(Db *db, const char *to, const char *subject, const char *body)
{
    int64_t id;
    return mail_queue_id(db, to, subject, body, &id);
}

MailState mail_state(int64_t attempts, int sent)
{
    if (sent)
        return MAIL_SENT;
    if (attempts >= MAIL_MAX_ATTEMPTS)
        return MAIL_GIVEN_UP;
    return attempts > 0 ? MAIL_FAILING : MAIL_WAITING;
}

Result mail_retry(Db *w, int64_t id)
{
    Stmt *st = db_prepare(w, "SELECT attempts, sent_at IS NOT NULL FROM mail_queue WHERE id = :id");
    db_bind_int(st, ":id", id);
    int found = db_row(st);
    MailState state = found ? mail_state(db_int(st, 0), (int)db_int(st, 1)) : MAIL_WAITING;
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    if (!found)
        return R_NOT_FOUND;
    if (state == MAIL_SENT || state == MAIL_GIVEN_UP)
        return R_CONFLICT;
    st = db_prepare(w, "UPDATE mail_queue SET next_attempt_at = :now WHERE id = :id");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    db_after_commit(w, mail_wake);
    return R_OK;
}

/* ---- formatting ---- */

/* Appends an address for a header, keeping only printable ASCII without
 * spaces: whatever the caller passes, it cannot end the header line. */
static void put_address(Buf *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p > 0x20 && *p < 0x7f)
            buf_putc(out, (char)*p);
}

/* The domain of a From address for the Message-ID: letters, digits, '-'
 * and '.' after the last '@', or "localhost.localdomain". */
static void put_message_id_domain(Buf *out, const char *from)
{
    const char *at = strrchr(from, '@');
    size_t start = out->len;
    if (at)
        for (const char *p = at + 1; *p; p++)
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                *p == '-' || *p == '.')
                buf_putc(out, *p);
    if (out->len == start)
        buf_puts(out, "localhost.localdomain");
}

/* RFC 5322 3.3, always in UTC, with English names whatever the locale. */
static void put_date(Buf *out, int64_t when)
{
    static const char *const days[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t t = (time_t)when;
    struct tm tm;
    if (!gmtime_r(&t, &tm)) {
        t = 0;
        gmtime_r(&t, &tm);
    }
    buf_printf(out, "Date: %s, %d %s %04d %02d:%02d:%02d +0000\r\n", days[tm.tm_wday], tm.tm_mday,
               months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* A copy of subject fit for a header (the caller frees it): a control
 * character (CR and LF included) becomes a space, and if the text is not
 * valid UTF-8 every non-ASCII byte becomes '?', so encoded words always
 * hold whole, valid characters. */
static char *clean_subject(const char *subject)
{
    char *s = xstrdup(subject);
    int valid = utf8_valid_text(s, strlen(s));
    for (unsigned char *p = (unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            *p = ' ';
        else if (*p >= 0x80 && !valid)
            *p = '?';
    }
    return s;
}

/* 1 when the subject can go out as it is, folded at its spaces: printable
 * ASCII, single spaces between words of at most 60 characters, no space
 * at either end (a relay may strip it) and nothing that a reader would
 * take for an encoded word. */
static int subject_is_plain(const char *s)
{
    size_t word = 0;
    if (*s == ' ' || strstr(s, "=?"))
        return 0;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c < 0x20 || c > 0x7e)
            return 0;
        if (c == ' ') {
            if (p[1] == ' ' || p[1] == 0)
                return 0;
            word = 0;
        } else if (++word > 60) {
            return 0;
        }
    }
    return 1;
}

/* The Subject header of a plain subject, folded before a space wherever
 * the next word would take the line past 78 characters. */
static void put_plain_subject(Buf *out, const char *s)
{
    size_t col = strlen("Subject: ");
    buf_puts(out, "Subject: ");
    const char *p = s;
    while (*p) {
        const char *space = strchr(p, ' ');
        size_t word = space ? (size_t)(space - p) : strlen(p);
        buf_append(out, p, word);
        col += word;
        if (!space)
            break;
        size_t next = strcspn(space + 1, " ");
        if (col + 1 + next > HEADER_LINE_MAX) {
            buf_puts(out, "\r\n");
            col = 0;
        }
        buf_putc(out, ' ');
        col++;
        p = space + 1;
    }
    buf_puts(out, "\r\n");
}

/* Length of the UTF-8 character whose first byte is c (the text was
 * checked, so c is a valid lead byte). */
static size_t utf8_char_bytes(unsigned char c)
{
    return c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
}

/* The Subject header as RFC 2047 "B" encoded words, each holding whole
 * characters, one per line, so that no line is longer than 76. */
static void put_encoded_subject(Buf *out, const char *s)
{
    size_t n = strlen(s), i = 0;
    char b64[sodium_base64_ENCODED_LEN(SUBJECT_WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    buf_puts(out, "Subject:");
    if (n == 0)
        buf_putc(out, ' ');
    while (i < n) {
        size_t limit = i == 0 ? SUBJECT_WORD_FIRST_BYTES : SUBJECT_WORD_BYTES;
        size_t end = i;
        while (end < n && end - i + utf8_char_bytes((unsigned char)s[end]) <= limit)
            end += utf8_char_bytes((unsigned char)s[end]);
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)s + i, end - i,
                          sodium_base64_VARIANT_ORIGINAL);
        buf_printf(out, "%s=?UTF-8?B?%s?=", i == 0 ? " " : "\r\n ", b64);
        i = end;
    }
    buf_puts(out, "\r\n");
}

/* 1 if the body's byte at i ends a line: the end of the text, LF, or CRLF. */
static int qp_line_ends_after(const unsigned char *s, size_t n, size_t i)
{
    size_t next = i + 1;
    return next == n || s[next] == '\n' || (s[next] == '\r' && next + 1 < n && s[next + 1] == '\n');
}

/* Appends body as quoted-printable (RFC 2045 6.7): LF and CRLF become CRLF
 * hard line breaks; '=', controls, non-ASCII bytes and a space or tab that
 * would end a line are "=XX"; so are a '.' or the 'F' of "From " that
 * would start a line (for relays that forget dot-stuffing and for mbox
 * files). Longer lines get soft breaks ("=" CRLF) so none exceeds 76
 * characters. The text ends with CRLF unless it is empty. */
static void put_quoted_printable(Buf *out, const char *body)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)body;
    size_t n = strlen(body), col = 0, i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n')) {
            buf_puts(out, "\r\n");
            col = 0;
            i += c == '\r' ? 2 : 1;
            continue;
        }
        int line_end = qp_line_ends_after(s, n, i);
        int printable = (c >= 33 && c <= 126 && c != '=') || ((c == ' ' || c == '\t') && !line_end);
        size_t len = printable ? 1 : 3;
        /* Leave room for the soft break's "=" unless this ends the line. */
        if (col + len > (line_end ? QP_LINE_MAX : QP_LINE_MAX - 1)) {
            buf_puts(out, "=\r\n");
            col = 0;
        }
        if (col == 0 && (c == '.' || (c == 'F' && strncmp((const char *)s + i, "From ", 5) == 0)))
            printable = 0, len = 3;
        if (printable) {
            buf_putc(out, (char)c);
        } else {
            char enc[3] = {'=', hex[c >> 4], hex[c & 15]};
            buf_append(out, enc, 3);
        }
        col += len;
        i++;
    }
    if (n > 0 && s[n - 1] != '\n')
        buf_puts(out, "\r\n");
}

/* The attachment's base64 in lines of 76 characters (RFC 2045 6.8). */
static void put_base64(Buf *out, const char *data)
{
    size_t n = strlen(data);
    char line[sodium_base64_ENCODED_LEN(57, sodium_base64_VARIANT_ORIGINAL)];
    for (size_t i = 0; i < n; i += 57) {
        size_t chunk = n - i < 57 ? n - i : 57;
        sodium_bin2base64(line, sizeof line, (const unsigned char *)data + i, chunk,
                          sodium_base64_VARIANT_ORIGINAL);
        buf_puts(out, line);
        buf_puts(out, "\r\n");
    }
}

/* The multipart/mixed body: the text, then the attachment, between
 * boundaries that cannot occur in either (quoted-printable and base64
 * never write "=_"). Values that mail_attachment_problem refuses are
 * dropped character by character, so no header can be added. */
static void put_multipart(Buf *out, const char *body, const MailAttachment *att)
{
    char boundary[33];
    random_hex(boundary, 16);
    char name[65], type[201];
    size_t n = 0;
    for (const char *p = att->name; *p && n < 64; p++)
        if (strchr(ALNUM "._-", *p))
            name[n++] = *p;
    name[n] = 0;
    n = 0;
    for (const char *p = att->type ? att->type : ""; *p && n < 200; p++)
        if (strchr(ALNUM "/.+-;= ", *p))
            type[n++] = *p;
    type[n] = 0;
    buf_printf(out,
               "Content-Type: multipart/mixed; boundary=\"=_%s\"\r\n"
               "Auto-Submitted: auto-generated\r\n"
               "\r\n"
               "This is a message in several parts (MIME).\r\n"
               "--=_%s\r\n"
               "Content-Type: text/plain; charset=UTF-8\r\n"
               "Content-Transfer-Encoding: quoted-printable\r\n"
               "\r\n",
               boundary, boundary);
    put_quoted_printable(out, body ? body : "");
    buf_printf(out, "--=_%s\r\nContent-Type: %s%s\r\n", boundary, type[0] ? type : "text/plain",
               strncmp(type, "text/", 5) == 0 ? "; charset=UTF-8" : "");
    buf_printf(out,
               "Content-Disposition: attachment; filename=\"%s\"\r\n"
               "Content-Transfer-Encoding: base64\r\n"
               "\r\n",
               name[0] ? name : "attachment");
    put_base64(out, att->content ? att->content : "");
    buf_printf(out, "--=_%s--\r\n", boundary);
}

void mail_format(Buf *out, const MailConfig *cfg, const char *to, const char *subject,
                 const char *body, int64_t queued_at, int64_t id)
{
    mail_format_attached(out, cfg, to, subject, body, NULL, queued_at, id);
}

void mail_format_attached(Buf *out, const MailConfig *cfg, const char *to, const char *subject,
                          const char *body, const MailAttachment *att, int64_t queued_at,
                          int64_t id)
{
    const char *from = cfg && cfg->from && *cfg->from ? cfg->from : FALLBACK_FROM;
    char random[17];
    random_hex(random, 8);
    put_date(out, queued_at);
    buf_puts(out, "From: ");
    put_address(out, from);
    buf_puts(out, "\r\nTo: ");
    put_address(out, to ? to : "");
    buf_puts(out, "\r\n");
    char *clean = clean_subject(subject ? subject : "");
    if (subject_is_plain(clean))
        put_plain_subject(out, clean);
    else
        put_encoded_subject(out, clean);
    free(clean);
    buf_printf(out, "Message-ID: <%lld.%s@", (long long)id, random);
    put_message_id_domain(out, from);
    buf_puts(out, ">\r\nMIME-Version: 1.0\r\n");
    if (att && att->name && *att->name) {
        put_multipart(out, body, att);
        return;
    }
    buf_puts(out, "Content-Type: text/plain; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n"
                  "Auto-Submitted: auto-generated\r\n"
                  "\r\n");
    put_quoted_printable(out, body ? body : "");
}

/* ---- sending ---- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* The formatted message being uploaded. */
typedef struct {
    const char *data;
    size_t len, pos;
} Upload;

static size_t upload_read(char *dest, size_t size, size_t count, void *arg)
{
    Upload *up = arg;
    size_t n = up->len - up->pos;
    if (n > size * count)
        n = size * count;
    memcpy(dest, up->data + up->pos, n);
    up->pos += n;
    return n;
}

/* Makes err fit for the log and the queue: printable ASCII only, and any
 * word holding an '@' (an address a server may have echoed) replaced. */
static void scrub_error(char *err)
{
    char out[CURL_ERROR_SIZE];
    size_t o = 0;
    for (const char *p = err; *p && o + 1 < sizeof out;) {
        size_t word = strcspn(p, " ");
        if (memchr(p, '@', word)) {
            const char *mask = "[address]";
            for (const char *m = mask; *m && o + 1 < sizeof out; m++)
                out[o++] = *m;
        } else {
            for (size_t k = 0; k < word && o + 1 < sizeof out; k++) {
                unsigned char c = (unsigned char)p[k];
                out[o++] = c >= 0x20 && c < 0x7f ? (char)c : '?';
            }
        }
        p += word;
        if (*p == ' ' && o + 1 < sizeof out) {
            out[o++] = ' ';
            p++;
        }
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = 0;
    memcpy(err, out, o + 1);
}

/* 1 when url names the plain-text scheme smtp:// (STARTTLS is optional). */
static int is_plain_smtp(const char *url)
{
    return strncasecmp(url, "smtp://", 7) == 0;
}

/* One SMTP transaction: msg to one recipient. On failure err holds
 * libcurl's description (scrubbed). Returns 1 when the server accepted it. */
static int send_message(const MailConfig *cfg, const char *to, const Buf *msg,
                        char err[CURL_ERROR_SIZE])
{
    err[0] = 0;
    CURL *c = curl_easy_init();
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    CURLcode rc = CURLE_OUT_OF_MEMORY;
    if (!c || !rcpt)
        goto done;
    Upload up = {msg->data, msg->len, 0};
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
    curl_easy_setopt(c, CURLOPT_URL, cfg->smtp_url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS));
#endif
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, cfg->from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, upload_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)msg->len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)MAIL_CONNECT_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)MAIL_TRANSFER_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    /* A password never crosses the network in clear: credentials on
     * smtp:// require STARTTLS just as require_tls does. */
    int has_login = cfg->username && *cfg->username;
    if (cfg->require_tls || (has_login && is_plain_smtp(cfg->smtp_url)))
        curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL);
    if (has_login) {
        curl_easy_setopt(c, CURLOPT_USERNAME, cfg->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, cfg->password ? cfg->password : "");
    }
    rc = curl_easy_perform(c);
done:
    if (rc != CURLE_OK && !err[0])
        snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
    if (rc != CURLE_OK)
        scrub_error(err);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    return rc == CURLE_OK;
}

/* A due row, copied out of SQLite so that no statement is open while the
 * SMTP exchange runs. */
typedef struct {
    int64_t id;
    int64_t created_at;
    int64_t attempts; /* before this one */
    char *to;
    char *subject;
    char *body;
    char *att_name, *att_type, *att; /* "" when there is none */
} DueMail;

/* Frees a string after overwriting it: what a message says (a login link,
 * a name) should not linger in freed memory. s may be NULL. */
static void free_secret(char *s)
{
    if (s) {
        sodium_memzero(s, strlen(s));
        free(s);
    }
}

static void due_mail_free(DueMail *m)
{
    free_secret(m->to);
    free_secret(m->subject);
    free_secret(m->body);
    free_secret(m->att_name);
    free_secret(m->att_type);
    free_secret(m->att);
    memset(m, 0, sizeof *m);
}

/* Seconds to wait after the attempts-th failure (1-based): 30 s doubling
 * to at most 6 h. */
static int64_t retry_delay(int64_t attempts)
{
    if (attempts < 1)
        attempts = 1;
    if (attempts > 16)
        return MAIL_MAX_RETRY;
    int64_t delay = (int64_t)MAIL_FIRST_RETRY << (attempts - 1);
    return delay < MAIL_MAX_RETRY ? delay : MAIL_MAX_RETRY;
}

/* The outcome of one attempt to send m. */
typedef struct {
    const DueMail *m;
    int ok, give_up;
    const char *err;
    int64_t attempts;
} Attempt;

static Result attempt_record_apply(Db *w, void *ctx)
{
    Attempt *a = ctx;
    int64_t now = now_seconds();
    Stmt *st;
    if (a->ok) {
        /* The body goes once sent: it may hold a one-time link or a name,
         * and nothing needs it any more. The row stays as a record. */
        st = db_prepare(w, "UPDATE mail_queue SET sent_at = :now, body = '', attachment = '' "
                           "WHERE id = :id");
        db_bind_int(st, ":now", now);
    } else {
        st = db_prepare(w, "UPDATE mail_queue SET attempts = :attempts, last_error = :error, "
                           "next_attempt_at = :next WHERE id = :id");
        db_bind_int(st, ":attempts", a->attempts);
        db_bind_text(st, ":error", a->err);
        db_bind_int(st, ":next", now + retry_delay(a->attempts));
    }
    db_bind_int(st, ":id", a->m->id);
    return db_run(st);
}

/* Writes the outcome of m's attempt in a transaction of its own. When
 * give_up is set the row gets the last attempt's number, so it is never
 * tried again. */
static void record_result(Db *db, const DueMail *m, int ok, const char *err, int give_up)
{
    Attempt a = {.m = m,
                 .ok = ok,
                 .give_up = give_up,
                 .err = err,
                 .attempts = give_up ? MAIL_MAX_ATTEMPTS : m->attempts + 1};
    if (db_write(db, attempt_record_apply, &a) != R_OK) {
        log_info("mail %lld: cannot record the attempt's result", (long long)m->id);
        return;
    }
    if (ok)
        log_info("mail %lld sent", (long long)m->id);
    else
        log_info("mail %lld failed (attempt %lld): %s%s", (long long)m->id, (long long)a.attempts,
                 err, a.attempts >= MAIL_MAX_ATTEMPTS ? " (given up)" : "");
}

/* Formats and sends m, then records the outcome. Returns 1 if sent. */
static int send_due_mail(Db *db, const MailConfig *cfg, const DueMail *m)
{
    char err[CURL_ERROR_SIZE];
    /* Rows come from mail_queue(), which validates, but the table can be
     * written by other means: an address that is not one is never tried. */
    if (!valid_email(m->to)) {
        snprintf(err, sizeof err, "invalid recipient address");
        record_result(db, m, 0, err, 1);
        return 0;
    }
    Buf msg = {0};
    MailAttachment att = {m->att_name, m->att_type, m->att};
    mail_format_attached(&msg, cfg, m->to, m->subject, m->body, m->att_name[0] ? &att : NULL,
                         m->created_at, m->id);
    int ok = send_message(cfg, m->to, &msg, err);
    sodium_memzero(msg.data, msg.len);
    buf_free(&msg);
    record_result(db, m, ok, err, 0);
    return ok;
}

/* The due messages this sender took: see claim_apply. */
typedef struct {
    DueMail due[MAIL_BATCH];
    size_t count;
    int64_t now;
} Claim;

static void claim_free(Claim *c)
{
    for (size_t i = 0; i < c->count; i++)
        due_mail_free(&c->due[i]);
}

static int by_id(const void *a, const void *b)
{
    const DueMail *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Takes up to MAIL_BATCH due messages for this sender by moving their next
 * attempt MAIL_CLAIM_SECONDS ahead: with several nodes on one PostgreSQL
 * database, another node's sender skips the rows this claim has locked
 * (SKIP LOCKED; SQLite, with one node, has nothing to skip) and, once it
 * commits, no longer sees them as due, so each message goes out once. A
 * node that dies holding a claim delays its messages by the claim's
 * length, then another node sends them. Runs again from the start if
 * PostgreSQL retries the transaction. */
static Result claim_apply(Db *w, void *ctx)
{
    Claim *c = ctx;
    claim_free(c);
    c->count = 0;
    Stmt *st = db_prepare(
        w, "UPDATE mail_queue SET next_attempt_at = :until WHERE id IN "
           "(SELECT id FROM mail_queue WHERE sent_at IS NULL AND next_attempt_at <= :now "
           "AND attempts < :max ORDER BY id LIMIT :limit FOR UPDATE SKIP LOCKED) "
           "RETURNING id, to_addr, subject, body, created_at, attempts, "
           "attachment_name, attachment_type, attachment");
    db_bind_int(st, ":until", c->now + MAIL_CLAIM_SECONDS);
    db_bind_int(st, ":now", c->now);
    db_bind_int(st, ":max", MAIL_MAX_ATTEMPTS);
    db_bind_int(st, ":limit", MAIL_BATCH);
    while (c->count < MAIL_BATCH && db_row(st)) {
        DueMail *m = &c->due[c->count++];
        m->id = db_int(st, 0);
        m->to = xstrdup(db_text(st, 1));
        m->subject = xstrdup(db_text(st, 2));
        m->body = xstrdup(db_text(st, 3));
        m->created_at = db_int(st, 4);
        m->attempts = db_int(st, 5);
        m->att_name = xstrdup(db_text(st, 6));
        m->att_type = xstrdup(db_text(st, 7));
        m->att = xstrdup(db_text(st, 8));
    }
    Result r = db_done(st);
    qsort(c->due, c->count, sizeof c->due[0], by_id); /* oldest first */
    return r;
}

/* Gives back the claimed messages a stopping sender did not try. */
typedef struct {
    const DueMail *due;
    size_t count;
    int64_t now;
} Release;

static Result release_apply(Db *w, void *ctx)
{
    const Release *c = ctx;
    for (size_t i = 0; i < c->count; i++) {
        Stmt *st = db_prepare(w, "UPDATE mail_queue SET next_attempt_at = :now "
                                 "WHERE id = :id AND sent_at IS NULL");
        db_bind_int(st, ":now", c->now);
        db_bind_int(st, ":id", c->due[i].id);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* mail_send_due, stopping between two messages once *stop is set (stop
 * may be NULL). */
static Result send_due(Db *db, const MailConfig *cfg, int *sent, atomic_int *stop)
{
    *sent = 0;
    if (!cfg || !cfg->smtp_url || !*cfg->smtp_url)
        return R_OK;
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return R_INTERNAL;
    const MailConfig use = {
        .smtp_url = cfg->smtp_url,
        .from = cfg->from && *cfg->from ? cfg->from : FALLBACK_FROM,
        .username = cfg->username,
        .password = cfg->password,
        .require_tls = cfg->require_tls,
    };
    for (;;) {
        Claim claim = {.now = now_seconds()};
        Result res = db_write(db, claim_apply, &claim);
        size_t i = 0;
        for (; res == R_OK && i < claim.count && !(stop && atomic_load(stop)); i++)
            *sent += send_due_mail(db, &use, &claim.due[i]);
        if (i < claim.count)
            db_write(db, release_apply,
                     &(Release){.due = claim.due + i, .count = claim.count - i, .now = claim.now});
        claim_free(&claim);
        if (res != R_OK || claim.count < MAIL_BATCH || (stop && atomic_load(stop)))
            return res;
    }
}

Result mail_send_due(Db *db, const MailConfig *cfg, int *sent)
{
    return send_due(db, cfg, sent, NULL);
}

/* ---- the sender thread ---- */

typedef enum { SENDER_IDLE, SENDER_RUNNING, SENDER_STOPPING } SenderState;

/* The one sender. lock guards every field but stop, which the sending loop
 * reads between messages without it. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* initialised by mail_start, destroyed by mail_stop */
    pthread_t thread;
    SenderState state;
    int wake;        /* mail_wake() was called since the last pass */
    atomic_int stop; /* mail_stop() was called */
    Db *db;          /* the thread's own connection */
    MailConfig cfg;  /* copies of the caller's strings, owned here */
} sender = {.lock = PTHREAD_MUTEX_INITIALIZER};

static char *strdup_or_null(const char *s)
{
    return s ? xstrdup(s) : NULL;
}

static void free_sender_config(void)
{
    free((char *)sender.cfg.smtp_url);
    free((char *)sender.cfg.from);
    free_secret((char *)sender.cfg.username);
    free_secret((char *)sender.cfg.password);
    memset(&sender.cfg, 0, sizeof sender.cfg);
}

static void *sender_main(void *arg)
{
    (void)arg;
    /* A server that closes the connection must not kill the process: the
     * server blocks SIGPIPE before starting threads, but a sender started
     * elsewhere may not have. */
    sigset_t pipe;
    sigemptyset(&pipe);
    sigaddset(&pipe, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe, NULL);
    int queue_unreadable = 0; /* so a broken queue is logged once, not every second */
    pthread_mutex_lock(&sender.lock);
    while (!atomic_load(&sender.stop)) {
        sender.wake = 0;
        pthread_mutex_unlock(&sender.lock);
        int sent;
        Result res = send_due(sender.db, &sender.cfg, &sent, &sender.stop);
        if (res != R_OK && !queue_unreadable)
            log_info("mail: cannot read the queue; will keep trying");
        queue_unreadable = res != R_OK;
        pthread_mutex_lock(&sender.lock);
        if (!atomic_load(&sender.stop) && !sender.wake) {
            struct timespec until;
            clock_gettime(CLOCK_MONOTONIC, &until);
            until.tv_sec += 1;
            pthread_cond_timedwait(&sender.cond, &sender.lock, &until);
        }
    }
    pthread_mutex_unlock(&sender.lock);
    return NULL;
}

int mail_start(const char *db_path, const MailConfig *cfg)
{
    if (!cfg || !cfg->smtp_url || !*cfg->smtp_url) {
        log_info("mail: no --smtp configured; messages stay queued");
        return 0;
    }
    /* The URL is not logged: it may hold a user name and password. */
    if (!is_plain_smtp(cfg->smtp_url) && strncasecmp(cfg->smtp_url, "smtps://", 8) != 0) {
        log_info("mail: --smtp must be an smtp:// or smtps:// URL; messages stay queued");
        return -1;
    }
    if (!cfg->from || !valid_email(cfg->from)) {
        log_info("mail: --mail-from is not a valid address; messages stay queued");
        return -1;
    }
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK) {
        log_info("mail: libcurl did not initialise: %s", curl_easy_strerror(curl_init_result));
        return -1;
    }
    int result = -1;
    pthread_mutex_lock(&sender.lock);
    if (sender.state != SENDER_IDLE)
        goto out;
    sender.db = db_open_existing(db_path);
    if (!sender.db)
        goto out;
    sender.cfg.smtp_url = xstrdup(cfg->smtp_url);
    sender.cfg.from = xstrdup(cfg->from);
    sender.cfg.username = strdup_or_null(cfg->username);
    sender.cfg.password = strdup_or_null(cfg->password);
    sender.cfg.require_tls = cfg->require_tls;
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&sender.cond, &attr);
    pthread_condattr_destroy(&attr);
    atomic_store(&sender.stop, 0);
    sender.wake = 0;
    if (pthread_create(&sender.thread, NULL, sender_main, NULL) != 0) {
        pthread_cond_destroy(&sender.cond);
        free_sender_config();
        db_close(sender.db);
        sender.db = NULL;
        goto out;
    }
    sender.state = SENDER_RUNNING;
    result = 0;
    log_info("mail: sending through the configured SMTP server");
out:
    pthread_mutex_unlock(&sender.lock);
    return result;
}

void mail_wake(void)
{
    pthread_mutex_lock(&sender.lock);
    if (sender.state == SENDER_RUNNING) {
        sender.wake = 1;
        pthread_cond_signal(&sender.cond);
    }
    pthread_mutex_unlock(&sender.lock);
}

void mail_stop(void)
{
    pthread_mutex_lock(&sender.lock);
    if (sender.state != SENDER_RUNNING) {
        pthread_mutex_unlock(&sender.lock);
        return;
    }
    sender.state = SENDER_STOPPING;
    atomic_store(&sender.stop, 1);
    pthread_cond_signal(&sender.cond);
    pthread_t thread = sender.thread;
    pthread_mutex_unlock(&sender.lock);
    pthread_join(thread, NULL);
    pthread_mutex_lock(&sender.lock);
    pthread_cond_destroy(&sender.cond);
    db_close(sender.db);
    sender.db = NULL;
    free_sender_config();
    sender.state = SENDER_IDLE;
    pthread_mutex_unlock(&sender.lock);
}

Result mail_forget_address(Db *w, const char *email)
{
    Stmt *st = db_prepare(w, "DELETE FROM mail_queue WHERE to_addr = :email");
    db_bind_text(st, ":email", email);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}
