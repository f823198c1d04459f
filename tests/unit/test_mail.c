/*
 * test_mail.c: outgoing mail without an SMTP server: what mail_queue
 * refuses (bad addresses, header injection, invalid UTF-8), the message
 * mail_format writes (headers, an RFC 2047 subject, a quoted-printable
 * body that decodes back to the text, hostile values that cannot add a
 * header), the backoff after a refused connection, and the sender thread
 * starting and stopping cleanly. tests/e2e/test_mail.py sends for real.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "db/db.h"
#include "svc/mail.h"

static char dir[64];
static char path[96];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ratify-test-mail-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static const MailConfig config = {.from = "ratify@example.org"};

/* ---- helpers that read a formatted message back ---- */

static int64_t count_rows(Db *db)
{
    Stmt *st = db_prepare(db, "SELECT count(*) FROM mail_queue");
    assert_true(db_row(st));
    int64_t n = db_int(st, 0);
    db_done(st);
    return n;
}

/* The header section (without the blank line) and the body of a message,
 * as copies the caller frees. */
static void split_message(const char *msg, char **head, char **body)
{
    const char *blank = strstr(msg, "\r\n\r\n");
    assert_non_null(blank);
    *head = strndup(msg, (size_t)(blank - msg) + 2);
    *body = strdup(blank + 4);
}

/* The unfolded value of header name (RFC 5322 2.2.3: a CRLF before
 * whitespace is removed), or NULL; the caller frees it. Fails the test if
 * the header appears twice. */
static char *header_value(const char *head, const char *name)
{
    char *found = NULL;
    size_t name_len = strlen(name);
    for (const char *line = head; *line;) {
        const char *end = strstr(line, "\r\n");
        assert_non_null(end);
        if (strncasecmp(line, name, name_len) == 0 && line[name_len] == ':') {
            assert_null(found);
            const char *v = line + name_len + 1;
            while (*v == ' ')
                v++;
            size_t cap = strlen(v) + 1, n = 0;
            found = malloc(cap);
            for (;;) {
                end = strstr(v, "\r\n");
                memcpy(found + n, v, (size_t)(end - v));
                n += (size_t)(end - v);
                if (end[2] != ' ' && end[2] != '\t')
                    break;
                v = end + 2;
            }
            found[n] = 0;
            line = end + 2;
        } else {
            line = end + 2;
        }
    }
    return found;
}

/* Decodes a header value made of "=?UTF-8?B?...?=" words separated by
 * whitespace (which RFC 2047 6.2 says to drop); other text is copied. Also
 * checks that each word holds valid UTF-8 on its own. */
static char *decode_rfc2047(const char *v)
{
    size_t cap = strlen(v) + 1, n = 0;
    char *out = malloc(cap);
    while (*v) {
        if (strncmp(v, "=?UTF-8?B?", 10) == 0) {
            const char *start = v + 10, *end = strstr(start, "?=");
            assert_non_null(end);
            size_t len;
            assert_int_equal(sodium_base642bin((unsigned char *)out + n, cap - n, start,
                                               (size_t)(end - start), NULL, &len, NULL,
                                               sodium_base64_VARIANT_ORIGINAL),
                             0);
            assert_true(utf8_valid_text(out + n, len));
            n += len;
            v = end + 2;
            const char *next = v + strspn(v, " \t");
            if (strncmp(next, "=?", 2) == 0)
                v = next;
        } else {
            out[n++] = *v++;
        }
    }
    out[n] = 0;
    return out;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    fail_msg("bad hex digit '%c' in quoted-printable", c);
    return 0;
}

/* Decodes quoted-printable (soft breaks removed, =XX decoded). */
static char *decode_qp(const char *s)
{
    char *out = malloc(strlen(s) + 1);
    size_t n = 0;
    while (*s) {
        if (s[0] == '=' && s[1] == '\r' && s[2] == '\n') {
            s += 3;
        } else if (s[0] == '=') {
            assert_true(s[1] && s[2]);
            out[n++] = (char)(hex_value(s[1]) * 16 + hex_value(s[2]));
            s += 3;
        } else {
            out[n++] = *s++;
        }
    }
    out[n] = 0;
    return out;
}

/* text with every LF not preceded by CR turned into CRLF. */
static char *crlf(const char *text)
{
    char *out = malloc(2 * strlen(text) + 1);
    size_t n = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\n' && (p == text || p[-1] != '\r'))
            out[n++] = '\r';
        out[n++] = *p;
    }
    out[n] = 0;
    return out;
}

/* Every line ends with CRLF, is 7-bit, and is at most max characters. */
static void assert_lines(const char *text, size_t max)
{
    for (const char *line = text; *line;) {
        const char *end = strstr(line, "\r\n");
        assert_non_null(end);
        if ((size_t)(end - line) > max)
            fail_msg("line of %zu characters: %.*s", (size_t)(end - line), (int)(end - line), line);
        for (const char *p = line; p < end; p++) {
            assert_true(*p != '\r' && *p != '\n');
            assert_true((unsigned char)*p < 0x80);
        }
        line = end + 2;
    }
}

static char *format(const MailConfig *cfg, const char *to, const char *subject, const char *body)
{
    Buf b = {0};
    mail_format(&b, cfg, to, subject, body, 1700000000, 42);
    return b.data;
}

/* ---- mail_queue ---- */

static void test_queue_refuses_bad_input(void **state)
{
    (void)state;
    Db *db = db_open(path);
    assert_non_null(db);
    const char *bad_addresses[] = {
        "",
        "no-at-sign",
        "a@b",
        "two words@example.org",
        "a@@example.org",
        "<a@example.org>",
        "a@exa_mple.org",
        "victim@example.org\r\nBcc: spy@evil.example",
        "victim@example.org\nBcc: spy@evil.example",
        "Ana <ana@example.org>",
    };
    for (size_t i = 0; i < sizeof bad_addresses / sizeof *bad_addresses; i++)
        assert_int_equal(mail_queue(db, bad_addresses[i], "Hello", "Body\n"), R_BAD_REQUEST);
    assert_int_equal(mail_queue(db, NULL, "Hello", "Body"), R_BAD_REQUEST);
    assert_int_equal(mail_queue(db, "ana@example.org", NULL, "Body"), R_BAD_REQUEST);
    assert_int_equal(mail_queue(db, "ana@example.org", "Hello", NULL), R_BAD_REQUEST);
    /* Header injection through the subject. */
    const char *bad_subjects[] = {
        "Hello\r\nBcc: spy@evil.example",
        "Hello\nBcc: spy@evil.example",
        "Hello\rBcc: spy@evil.example",
        "bad \xc3\x28 UTF-8",
        "\xff\xfe",
        "a bell \x07",
    };
    for (size_t i = 0; i < sizeof bad_subjects / sizeof *bad_subjects; i++)
        assert_int_equal(mail_queue(db, "ana@example.org", bad_subjects[i], "Body"), R_BAD_REQUEST);
    const char *bad_bodies[] = {"\xff", "cut \xe2\x82", "surrogate \xed\xa0\x80",
                                "overlong \xc0\xaf", "escape \x1b[31m"};
    for (size_t i = 0; i < sizeof bad_bodies / sizeof *bad_bodies; i++)
        assert_int_equal(mail_queue(db, "ana@example.org", "Hello", bad_bodies[i]), R_BAD_REQUEST);
    assert_int_equal(count_rows(db), 0);
    /* mail_problem says why, in the order the command line reports it. */
    assert_null(mail_problem("ana@example.org", "Hello", "Body\n"));
    assert_string_equal(mail_problem(bad_addresses[7], "Hello", "Body"),
                        "This is not a valid email address.");
    assert_string_equal(mail_problem("ana@example.org", bad_subjects[0], "Body"),
                        "The subject must be one line of text.");
    assert_string_equal(mail_problem("ana@example.org", "Hello", bad_bodies[4]),
                        "The message must be UTF-8 text without control characters.");
    db_close(db);
}

/* The newest row of the queue (mail_queue gives no id back). */
static int64_t last_mail_id(Db *db)
{
    Stmt *st = db_prepare(db, "SELECT coalesce(max(id), 0) FROM mail_queue");
    int64_t id = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return id;
}

/* Queues one message to ctx (an address) and succeeds, or with the
 * address of ben fails, as a change whose transaction rolls back. */
static Result queue_apply(Db *w, void *ctx)
{
    const char *to = ctx;
    int ben = strcmp(to, "ben@example.org") == 0;
    if (mail_queue(w, to, ben ? "Hi" : "Confirmación de su solicitud",
                   ben ? "x" : "Hola:\n\thttps://example.org/confirm/abc\n") != R_OK)
        return R_INTERNAL;
    return ben ? R_CONFLICT : R_OK;
}

static void test_queue_inserts_a_due_row(void **state)
{
    (void)state;
    Db *db = db_open(path);
    int64_t before = now_seconds();
    assert_int_equal(db_write(db, queue_apply, "ana@example.org"), R_OK);
    int64_t id = last_mail_id(db);
    Stmt *st = db_prepare(db, "SELECT to_addr, subject, body, created_at, attempts, "
                              "next_attempt_at, sent_at, last_error "
                              "FROM mail_queue WHERE id = :id");
    db_bind_int(st, ":id", id);
    assert_true(db_row(st));
    assert_string_equal(db_text(st, 0), "ana@example.org");
    assert_string_equal(db_text(st, 1), "Confirmación de su solicitud");
    assert_string_equal(db_text(st, 2), "Hola:\n\thttps://example.org/confirm/abc\n");
    assert_in_range(db_int(st, 3), before, now_seconds());
    assert_int_equal(db_int(st, 4), 0);
    assert_int_equal(db_int(st, 5), db_int(st, 3));
    assert_true(db_is_null(st, 6));
    assert_string_equal(db_text(st, 7), "");
    db_done(st);
    /* A rolled-back change sends nothing. */
    assert_int_equal(db_write(db, queue_apply, "ben@example.org"), R_CONFLICT);
    assert_int_equal(count_rows(db), 1);
    db_exec(db, "DELETE FROM mail_queue");
    db_close(db);
}

/* ---- mail_format ---- */

static void test_format_headers(void **state)
{
    (void)state;
    char *msg = format(&config, "ana@example.net", "Welcome to Ratify", "Hello.\n");
    char *head, *body;
    split_message(msg, &head, &body);
    assert_lines(head, 78);
    assert_lines(body, 76);
    const char *expected[][2] = {
        {"Date", "Tue, 14 Nov 2023 22:13:20 +0000"},
        {"From", "ratify@example.org"},
        {"To", "ana@example.net"},
        {"Subject", "Welcome to Ratify"},
        {"MIME-Version", "1.0"},
        {"Content-Type", "text/plain; charset=UTF-8"},
        {"Content-Transfer-Encoding", "quoted-printable"},
    };
    for (size_t i = 0; i < sizeof expected / sizeof *expected; i++) {
        char *v = header_value(head, expected[i][0]);
        if (!v)
            fail_msg("no %s header in:\n%s", expected[i][0], head);
        assert_string_equal(v, expected[i][1]);
        free(v);
    }
    /* <id.random@domain of From>, and a new random part each time. */
    char *id = header_value(head, "Message-ID");
    assert_non_null(id);
    assert_int_equal(strlen(id), strlen("<42.") + 16 + strlen("@example.org>"));
    assert_memory_equal(id, "<42.", 4);
    assert_int_equal(strspn(id + 4, "0123456789abcdef"), 16);
    assert_string_equal(id + 20, "@example.org>");
    char *msg2 = format(&config, "ana@example.net", "Welcome to Ratify", "Hello.\n");
    char *head2, *body2;
    split_message(msg2, &head2, &body2);
    char *id2 = header_value(head2, "Message-ID");
    assert_string_not_equal(id, id2);
    assert_string_equal(body, "Hello.\r\n");
    free(id);
    free(id2);
    free(head);
    free(body);
    free(head2);
    free(body2);
    free(msg);
    free(msg2);
}

/* An attachment makes the message multipart/mixed: the text part as
 * before, the file in base64 that decodes to exactly what was given, every
 * line short and 7-bit, and a name or type holding CR/LF adds no header. */
static void test_format_attachment(void **state)
{
    (void)state;
    const char *ics = "BEGIN:VCALENDAR\r\nSUMMARY:Séminaire\r\nEND:VCALENDAR\r\n";
    MailAttachment att = {"invitation.ics", "text/calendar; method=PUBLISH", ics};
    assert_null(mail_attachment_problem(&att));
    Buf b = {0};
    mail_format_attached(&b, &config, "ana@example.net", "Invitation", "Hello.\n", &att, 1700000000,
                         7);
    char *head, *body;
    split_message(b.data, &head, &body);
    assert_lines(head, 78);
    assert_lines(body, 76);
    char *ct = header_value(head, "Content-Type");
    assert_non_null(ct);
    assert_memory_equal(ct, "multipart/mixed; boundary=\"=_", 29);
    char boundary[64];
    snprintf(boundary, sizeof boundary, "--%.*s", (int)(strlen(ct) - 28), ct + 27);
    assert_non_null(strstr(body, boundary));
    assert_non_null(strstr(body, "Content-Type: text/plain; charset=UTF-8\r\n"));
    assert_non_null(strstr(body, "Hello.\r\n"));
    assert_non_null(strstr(body, "Content-Type: text/calendar; method=PUBLISH; charset=UTF-8\r\n"));
    assert_non_null(strstr(body, "Content-Disposition: attachment; filename=\"invitation.ics\""));
    /* The base64 part decodes to the calendar. */
    const char *b64 = strstr(body, "Content-Transfer-Encoding: base64\r\n\r\n");
    assert_non_null(b64);
    b64 += strlen("Content-Transfer-Encoding: base64\r\n\r\n");
    const char *end = strstr(b64, "--=_");
    assert_non_null(end);
    unsigned char decoded[256];
    size_t n = 0;
    assert_int_equal(sodium_base642bin(decoded, sizeof decoded, b64, (size_t)(end - b64), "\r\n",
                                       &n, NULL, sodium_base64_VARIANT_ORIGINAL),
                     0);
    assert_int_equal(n, strlen(ics));
    assert_memory_equal(decoded, ics, n);
    char closing[80];
    snprintf(closing, sizeof closing, "%s--\r\n", boundary);
    assert_non_null(strstr(body, closing));
    free(ct);
    free(head);
    free(body);
    buf_free(&b);

    /* Refused when queued, dropped when formatted. */
    MailAttachment evil = {"a.ics\r\nBcc: x@example.org", "text/calendar\r\nX: y", ics};
    assert_non_null(mail_attachment_problem(&evil));
    MailAttachment dots = {"../x", "text/plain", "x"};
    assert_non_null(mail_attachment_problem(&dots));
    MailAttachment notype = {"a.txt", "plain", "x"};
    assert_non_null(mail_attachment_problem(&notype));
    Buf e = {0};
    mail_format_attached(&e, &config, "ana@example.net", "Hi", "x", &evil, 1700000000, 8);
    split_message(e.data, &head, &body);
    assert_null(strstr(body, "\r\nBcc:"));
    assert_null(strstr(body, "\r\nX: y"));
    free(head);
    free(body);
    buf_free(&e);

    /* Without an attachment: exactly mail_format's message. */
    Buf plain = {0};
    mail_format_attached(&plain, &config, "ana@example.net", "Hi", "x", NULL, 1700000000, 9);
    assert_non_null(strstr(plain.data, "Content-Type: text/plain; charset=UTF-8\r\n"));
    assert_null(strstr(plain.data, "multipart"));
    buf_free(&plain);
}

static Result queue_attached_apply(Db *w, void *ctx)
{
    const MailAttachment *att = ctx;
    return mail_queue_attached(w, "ana@example.org", "Invitation", "Body", att);
}

static void test_queue_attached(void **state)
{
    (void)state;
    Db *db = db_open(path);
    db_exec(db, "DELETE FROM mail_queue");
    MailAttachment att = {"invitation.ics", "text/calendar; method=PUBLISH", "BEGIN:VCALENDAR\r\n"};
    assert_int_equal(db_write(db, queue_attached_apply, &att), R_OK);
    Stmt *st = db_prepare(db, "SELECT attachment_name, attachment_type, attachment, body "
                              "FROM mail_queue ORDER BY id DESC LIMIT 1");
    assert_true(db_row(st));
    assert_string_equal(db_text(st, 0), "invitation.ics");
    assert_string_equal(db_text(st, 1), "text/calendar; method=PUBLISH");
    assert_string_equal(db_text(st, 2), "BEGIN:VCALENDAR\r\n");
    assert_string_equal(db_text(st, 3), "Body");
    db_done(st);
    MailAttachment bad = {"", "text/plain", "x"};
    assert_int_equal(db_write(db, queue_attached_apply, &bad), R_BAD_REQUEST);
    assert_int_equal(count_rows(db), 1);
    db_exec(db, "DELETE FROM mail_queue");
    db_close(db);
}

static void test_format_subjects(void **state)
{
    (void)state;
    const char *subjects[] = {
        "Confirmación de su solicitud",
        /* Long Arabic: several encoded words, none splitting a character. */
        "تأكيد طلب العضوية في التحالف من أجل التصديق على البروتوكول الاختياري للعهد "
        "الدولي الخاص بالحقوق الاقتصادية والاجتماعية والثقافية",
        /* Long ASCII: folded at spaces, not encoded. */
        "Your application to the national coalition for the Optional Protocol to the "
        "International Covenant on Economic, Social and Cultural Rights",
        /* ASCII that looks like an encoded word, or would lose spaces: encoded. */
        "=?UTF-8?B?aGk=?=",
        "two  spaces ",
        "",
        "Ümlaut 😀 emoji and a word that is far too long to fit on any header line at all, "
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyz",
    };
    for (size_t i = 0; i < sizeof subjects / sizeof *subjects; i++) {
        char *msg = format(&config, "ana@example.net", subjects[i], "x");
        char *head, *body;
        split_message(msg, &head, &body);
        char *raw = header_value(head, "Subject");
        assert_non_null(raw);
        /* RFC 2047 limits lines with encoded words to 76, RFC 5322 others to 78. */
        assert_lines(head, strstr(raw, "=?UTF-8?B?") ? 76 : 78);
        if (i == 0) /* short enough for one encoded word */
            assert_string_equal(raw, "=?UTF-8?B?Q29uZmlybWFjacOzbiBkZSBzdSBzb2xpY2l0dWQ=?=");
        if (i == 2)
            assert_null(strstr(raw, "=?"));
        if (i == 3 || i == 4)
            assert_memory_equal(raw, "=?UTF-8?B?", 10);
        char *decoded = decode_rfc2047(raw);
        assert_string_equal(decoded, subjects[i]);
        free(decoded);
        free(raw);
        free(head);
        free(body);
        free(msg);
    }
}

static void test_format_body_round_trips(void **state)
{
    (void)state;
    char long_line[400], long_words[400];
    memset(long_line, 'x', sizeof long_line - 1);
    long_line[sizeof long_line - 1] = 0;
    for (size_t i = 0; i < sizeof long_words - 1; i++)
        long_words[i] = i % 7 == 6 ? ' ' : (char)('a' + i % 26);
    long_words[sizeof long_words - 1] = 0;
    char body[4096];
    snprintf(body, sizeof body,
             "Dear Ana,\n"
             ".this line starts with a dot\n"
             ".\n"
             "..\n"
             "a=b, c==d, ends with =\n"
             "=41 is not an A\n"
             "%s\n"
             "%s\n"
             "تم استلام طلبك. يرجى تأكيد عنوان بريدك الإلكتروني بالضغط على الرابط التالي "
             "خلال ثمان وأربعين ساعة، وإلا فسيتم حذف الطلب.\n"
             "trailing space \n"
             "trailing tab\t\n"
             "\n"
             "From the coalition\n"
             "windows line\r\n"
             "a lone \r carriage return\n"
             "https://ratify.example.org/confirm/0123456789abcdef0123456789abcdef?lang=es&x=1\n"
             "no newline at the end",
             long_line, long_words);
    char *msg = format(&config, "ana@example.net", "Hi", body);
    char *head, *encoded;
    split_message(msg, &head, &encoded);
    assert_lines(encoded, 76);
    for (const char *line = encoded; *line; line = strstr(line, "\r\n") + 2) {
        assert_true(line[0] != '.');
        assert_true(strncmp(line, "From ", 5) != 0);
        const char *end = strstr(line, "\r\n");
        if (end > line)
            assert_true(end[-1] != ' ' && end[-1] != '\t');
    }
    char *decoded = decode_qp(encoded);
    char *expected_body = crlf(body);
    /* The encoder ends the last line with CRLF. */
    size_t n = strlen(expected_body);
    char *expected = malloc(n + 3);
    snprintf(expected, n + 3, "%s\r\n", expected_body);
    assert_string_equal(decoded, expected);
    free(expected);
    free(expected_body);
    free(decoded);
    free(head);
    free(encoded);
    free(msg);
    /* Every position of a multi-byte character against the soft break. */
    for (size_t pad = 0; pad < 4; pad++) {
        char text[512];
        size_t k = 0;
        for (; k < pad; k++)
            text[k] = '-';
        while (k + 2 < 300) {
            memcpy(text + k, "\xd8\xb9", 2); /* ع */
            k += 2;
        }
        text[k] = 0;
        msg = format(&config, "ana@example.net", "Hi", text);
        split_message(msg, &head, &encoded);
        assert_lines(encoded, 76);
        decoded = decode_qp(encoded);
        assert_memory_equal(decoded, text, k);
        assert_string_equal(decoded + k, "\r\n");
        free(decoded);
        free(head);
        free(encoded);
        free(msg);
    }
}

static void test_hostile_values_cannot_add_headers(void **state)
{
    (void)state;
    /* mail_queue refuses these, but mail_format is also fed rows that
     * another process may have written. */
    const MailConfig hostile_cfg = {.from = "ratify@example.org\r\nX-Injected: from"};
    char *msg = format(&hostile_cfg, "victim@example.org\r\nBcc: spy@evil.example\r\n\r\nfake body",
                       "Hello\r\nBcc: spy2@evil.example\nX-Injected: subject", "body\n");
    char *head, *body;
    split_message(msg, &head, &body);
    assert_lines(head, 78);
    const char *allowed[] = {"Date:",
                             "From:",
                             "To:",
                             "Subject:",
                             "Message-ID:",
                             "MIME-Version:",
                             "Content-Type:",
                             "Content-Transfer-Encoding:",
                             "Auto-Submitted:",
                             " "};
    for (const char *line = head; *line; line = strstr(line, "\r\n") + 2) {
        int known = 0;
        for (size_t i = 0; i < sizeof allowed / sizeof *allowed; i++)
            known |= strncmp(line, allowed[i], strlen(allowed[i])) == 0;
        if (!known)
            fail_msg("unexpected header line: %.40s", line);
    }
    char *to = header_value(head, "To");
    assert_null(strchr(to, ' '));
    char *subject = header_value(head, "Subject");
    char *decoded = decode_rfc2047(subject);
    assert_null(strpbrk(decoded, "\r\n"));
    assert_string_equal(body, "body\r\n");
    free(to);
    free(subject);
    free(decoded);
    free(head);
    free(body);
    free(msg);
}

/* ---- sending, against a port that refuses connections ---- */

/* A TCP socket bound to 127.0.0.1 but not listening: connecting to it is
 * refused for as long as it stays open. Writes "smtp://127.0.0.1:PORT". */
static int refusing_port(char *url, size_t size)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    snprintf(url, size, "smtp://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    return fd;
}

typedef struct {
    int64_t attempts, next_attempt_at;
    int sent;
    char last_error[256];
} Row;

static Row read_row(Db *db, int64_t id)
{
    Row r = {0};
    Stmt *st = db_prepare(db, "SELECT attempts, next_attempt_at, sent_at IS NOT NULL, "
                              "last_error FROM mail_queue WHERE id = :id");
    db_bind_int(st, ":id", id);
    assert_true(db_row(st));
    r.attempts = db_int(st, 0);
    r.next_attempt_at = db_int(st, 1);
    r.sent = (int)db_int(st, 2);
    snprintf(r.last_error, sizeof r.last_error, "%s", db_text(st, 3));
    db_done(st);
    return r;
}

static void set_row(Db *db, int64_t id, int64_t attempts, int64_t next_attempt_at)
{
    Stmt *st = db_prepare(db, "UPDATE mail_queue SET attempts = :attempts, "
                              "next_attempt_at = :next WHERE id = :id");
    db_bind_int(st, ":attempts", attempts);
    db_bind_int(st, ":next", next_attempt_at);
    db_bind_int(st, ":id", id);
    assert_int_equal(db_run(st), R_OK);
    db_done(st);
}

/* Runs one pass; checks nothing was sent; returns the row afterwards and
 * the time the pass started in *started. */
static Row pass(Db *db, const MailConfig *cfg, int64_t id, int64_t *started)
{
    int sent = -1;
    *started = now_seconds();
    assert_int_equal(mail_send_due(db, cfg, &sent), R_OK);
    assert_int_equal(sent, 0);
    assert_int_equal(db_statements_in_use(db), 0);
    return read_row(db, id);
}

static void test_failure_backs_off(void **state)
{
    (void)state;
    char url[64];
    int fd = refusing_port(url, sizeof url);
    const MailConfig cfg = {.smtp_url = url, .from = "ratify@example.org"};
    Db *db = db_open(path);
    db_exec(db, "DELETE FROM mail_queue");
    assert_int_equal(mail_queue(db, "secret.person@example.org", "Hi", "Body"), R_OK);
    int64_t id = last_mail_id(db);
    int64_t t;

    /* No SMTP server configured: nothing happens. */
    const MailConfig none = {.from = "ratify@example.org"};
    Row r = pass(db, &none, id, &t);
    assert_int_equal(r.attempts, 0);

    r = pass(db, &cfg, id, &t);
    assert_int_equal(r.attempts, 1);
    assert_false(r.sent);
    assert_true(strlen(r.last_error) > 0);
    assert_null(strstr(r.last_error, "secret"));
    assert_null(strchr(r.last_error, '@'));
    assert_in_range(r.next_attempt_at, t + 30, now_seconds() + 30);

    /* Not due yet: left alone. */
    r = pass(db, &cfg, id, &t);
    assert_int_equal(r.attempts, 1);

    /* The sixth failure waits 30 s * 2^5; from the eleventh on, 6 h. */
    set_row(db, id, 5, 0);
    r = pass(db, &cfg, id, &t);
    assert_int_equal(r.attempts, 6);
    assert_in_range(r.next_attempt_at, t + 960, now_seconds() + 960);
    set_row(db, id, 12, 0);
    r = pass(db, &cfg, id, &t);
    assert_int_equal(r.attempts, 13);
    assert_in_range(r.next_attempt_at, t + 6 * 3600, now_seconds() + 6 * 3600);

    /* After 20 attempts it is kept, and not tried again. */
    set_row(db, id, 19, 0);
    r = pass(db, &cfg, id, &t);
    assert_int_equal(r.attempts, 20);
    set_row(db, id, 20, 0);
    r = pass(db, &cfg, id, &t);
    assert_int_equal(r.attempts, 20);

    /* A row that bypassed mail_queue with a header smuggled into its
     * address (no page, API or command can make one: tests/e2e cannot) is
     * given up at once, never handed to SMTP, and does not hold up the
     * message queued after it. */
    db_exec(db, "INSERT INTO mail_queue (to_addr, subject, body, created_at, next_attempt_at) "
                "VALUES ('x@example.org' || char(13, 10) || 'Bcc: spy@evil.example', 's', "
                "'b', 0, 0)");
    int64_t bad = last_mail_id(db);
    assert_int_equal(mail_queue(db, "next.person@example.org", "Hi", "Body"), R_OK);
    int64_t next = last_mail_id(db);
    r = pass(db, &cfg, bad, &t);
    assert_int_equal(r.attempts, 20);
    assert_string_equal(r.last_error, "invalid recipient address");
    r = read_row(db, next);
    assert_int_equal(r.attempts, 1); /* tried: the refusing port's error */
    assert_string_not_equal(r.last_error, "invalid recipient address");
    /* A given-up row cannot be retried; a waiting one is made due now. */
    assert_int_equal(mail_retry(db, bad), R_CONFLICT);
    assert_int_equal(mail_retry(db, next), R_OK);
    assert_true(read_row(db, next).next_attempt_at <= now_seconds());
    assert_int_equal(mail_retry(db, 999999), R_NOT_FOUND);
    db_exec(db, "DELETE FROM mail_queue");
    db_close(db);
    close(fd);
}

/* ---- the sender thread ---- */

static void test_sender_thread(void **state)
{
    (void)state;
    mail_stop(); /* never started: nothing to do */
    mail_wake();
    const MailConfig none = {.from = "ratify@example.org"};
    assert_int_equal(mail_start(path, &none), 0);
    mail_stop();

    char url[64];
    int fd = refusing_port(url, sizeof url);
    const MailConfig bad_from = {.smtp_url = url, .from = "not an address"};
    assert_int_equal(mail_start(path, &bad_from), -1);
    const MailConfig bad_scheme = {.smtp_url = "file:///etc/passwd", .from = "a@example.org"};
    assert_int_equal(mail_start(path, &bad_scheme), -1);
    const MailConfig no_db = {.smtp_url = url, .from = "ratify@example.org"};
    assert_int_equal(mail_start("/nonexistent/dir/x.db", &no_db), -1);

    Db *db = db_open(path);
    db_exec(db, "DELETE FROM mail_queue");
    char user[] = "user", password[] = "password";
    const MailConfig cfg = {
        .smtp_url = url, .from = "ratify@example.org", .username = user, .password = password};
    assert_int_equal(mail_start(path, &cfg), 0);
    assert_int_equal(mail_start(path, &cfg), -1); /* one sender at a time */
    /* The sender copied the configuration. */
    memset(password, 'x', sizeof password - 1);
    assert_int_equal(mail_queue(db, "ana@example.org", "Hi", "Body"), R_OK);
    int64_t id = last_mail_id(db);
    mail_wake();
    Row r = {0};
    for (int i = 0; i < 500 && r.attempts == 0; i++) {
        struct timespec ms10 = {0, 10 * 1000 * 1000};
        nanosleep(&ms10, NULL);
        r = read_row(db, id);
    }
    assert_int_equal(r.attempts, 1);
    mail_stop();
    mail_stop();
    /* It can start again after a stop. */
    assert_int_equal(mail_start(path, &cfg), 0);
    mail_stop();
    db_close(db);
    close(fd);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_refuses_bad_input),
        cmocka_unit_test(test_queue_inserts_a_due_row),
        cmocka_unit_test(test_format_headers),
        cmocka_unit_test(test_format_subjects),
        cmocka_unit_test(test_format_attachment),
        cmocka_unit_test(test_queue_attached),
        cmocka_unit_test(test_format_body_round_trips),
        cmocka_unit_test(test_hostile_values_cannot_add_headers),
        cmocka_unit_test(test_failure_backs_off),
        cmocka_unit_test(test_sender_thread),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
