/*
 * mail.h: outgoing email. Messages are queued in the database (mail_queue)
 * inside the same transaction as the change that causes them, and a worker
 * thread sends them over SMTP through libcurl, retrying with backoff, so a
 * crash or an SMTP outage loses nothing and a rolled-back change sends
 * nothing.
 */
#ifndef RATIFY_MAIL_H
#define RATIFY_MAIL_H

#include "db/db.h"

typedef struct {
    const char *smtp_url; /* "smtp://127.0.0.1:2525" or "smtps://..."; NULL: keep mail queued */
    const char *from;     /* envelope and header From: "ratify@example.org" */
    const char *username; /* SMTP AUTH, or NULL; on smtp:// it makes STARTTLS required,
                           * so a password never crosses the network in clear */
    const char *password; /* with username */
    int require_tls;      /* STARTTLS required on smtp:// (CURLUSESSL_ALL) */
} MailConfig;

enum {
    MAIL_MAX_ATTEMPTS = 20,      /* then the row is kept with its last error */
    MAIL_SUBJECT_MAX = 1000,     /* bytes */
    MAIL_BODY_MAX = 1024 * 1024, /* bytes */
};

/* Why mail_queue would refuse to, subject and body, as an English
 * sentence (for `ratify mail send`), or NULL when they would be queued: an address that is not
 * valid_email(), a subject holding CR or LF (so no header can be injected) or longer than
 * MAIL_SUBJECT_MAX, a subject or body that is not valid UTF-8 text (utf8_valid_text), or a body
 * over MAIL_BODY_MAX. */
const char *mail_problem(const char *to, const char *subject, const char *body);

/* Queues a plain-text UTF-8 message to one address, due now. Refuses
 * (R_BAD_REQUEST) what mail_problem() names. Returns R_INTERNAL if the
 * insert fails. Call inside the caller's db_write, on its connection: the
 * sender is woken once that commits (db_after_commit), so the caller need
 * not call mail_wake(). */
Result mail_queue(Db *db, const char *to, const char *subject, const char *body);

/* mail_queue, writing the new message's id to *id. */
Result mail_queue_id(Db *db, const char *to, const char *subject, const char *body, int64_t *id);

/* A file sent with a message (an invitation's .ics): name is 1 to 64 of
 * A-Z a-z 0-9 . _ - (the filename shown); type a MIME type with optional
 * parameters, of A-Z a-z 0-9 / . + - ; = and spaces ("text/calendar;
 * method=PUBLISH"; charset=UTF-8 is added for text/ types); content UTF-8
 * text (as mail_problem's body). */
typedef struct {
    const char *name;
    const char *type;
    const char *content;
} MailAttachment;

/* mail_problem, and for att (may be NULL) the rules above. */
const char *mail_attachment_problem(const MailAttachment *att);

/* mail_queue with one attachment (NULL: exactly mail_queue): the message
 * goes out as multipart/mixed, the text first, the file base64-encoded.
 * The attachment is blanked with the body once sent. */
Result mail_queue_attached(Db *db, const char *to, const char *subject, const char *body,
                           const MailAttachment *att);

/* Where a queued message stands, from its row: sent (sent_at set), given
 * up (MAIL_MAX_ATTEMPTS reached), failing (tried, to be tried again) or
 * waiting (never tried yet). */
typedef enum { MAIL_WAITING, MAIL_FAILING, MAIL_SENT, MAIL_GIVEN_UP } MailState;
MailState mail_state(int64_t attempts, int sent);

/* Makes message id due now (an operator's "retry now" after fixing the
 * SMTP set-up), inside the caller's db_write on w; the sender is woken
 * after the commit. The attempts so far are kept, so the backoff goes on
 * from there if it fails again. Returns R_NOT_FOUND when there is no such
 * message, R_CONFLICT when it was sent or given up (an address that is not
 * one, or twenty failures: a one-time link in it has expired by then). */
Result mail_retry(Db *w, int64_t id);

/* Sends every due message once, in id order, one SMTP transaction each
 * (attempts bumped, next attempt scheduled with exponential backoff from
 * 30 s up to 6 h on failure; given up after 20 attempts, kept with its last
 * error; a row whose address is not valid_email() is given up at once).
 * Each row's result is committed in its own short transaction. The log and
 * last_error get the row id and libcurl's error only, never an address, a
 * subject or a body. Does nothing without cfg->smtp_url. Writes the number
 * sent to *sent. Returns R_OK, or R_INTERNAL when the queue cannot be read
 * or libcurl cannot be initialised. */
Result mail_send_due(Db *db, const MailConfig *cfg, int *sent);

/* Starts the sender thread on its own connection to db_path (it copies
 * cfg's strings); it wakes every second or on mail_wake(). Without
 * smtp_url it logs that mail stays queued and returns 0. Returns -1, with
 * a log line, when the URL is not smtp:// or smtps://, cfg->from is not
 * valid_email(), the database cannot be opened, or a sender is running. */
int mail_start(const char *db_path, const MailConfig *cfg);

/* Makes the sender look at the queue now (after queuing). */
void mail_wake(void);

/* Stops the sender thread after the message in progress and frees what
 * mail_start took. Safe to call when no sender is running. */
void mail_stop(void);

/* Appends the RFC 5322 message to out: 7-bit, CRLF line ends; Date (UTC)
 * from queued_at; From; To; Subject, RFC 2047-encoded when not plain ASCII
 * and folded; Message-ID <id.random@domain of From> (the random part is
 * new on each call, so on each attempt); MIME headers for text/plain
 * UTF-8; the body quoted-printable. Control characters in header values
 * are dropped, so even a row that bypassed mail_queue() cannot add a
 * header. Needs sodium_init(). Exposed for unit tests. */
void mail_format(Buf *out, const MailConfig *cfg, const char *to, const char *subject,
                 const char *body, int64_t queued_at, int64_t id);

/* mail_format with an attachment (NULL or an empty name: mail_format's
 * single text/plain message): the same headers, then multipart/mixed
 * (RFC 2046) with a random boundary, the body as the first part
 * (text/plain, quoted-printable) and the attachment as the second
 * (Content-Disposition: attachment, base64 in lines of 76). */
void mail_format_attached(Buf *out, const MailConfig *cfg, const char *to, const char *subject,
                          const char *body, const MailAttachment *att, int64_t queued_at,
                          int64_t id);

/* Deletes every queued message to email (a closed account's), on the w
 * of a db_write apply, in the caller's transaction. */
Result mail_forget_address(Db *w, const char *email);

#endif
