/*
 * outbox.c: the mail queue as operators see it. `ratify mail send` (a
 * message to test the SMTP set-up, through mail_queue() and its checks),
 * `ratify mail list` and `ratify mail retry`, and the administrators' page
 * /admin/mail with its "retry now" button. The queue itself (the table, its
 * writes, the sender thread) is svc/mail.c's.
 *
 * Invariants: the command line never prints an address, a subject or a
 * body (its output ends up in terminals' scrollback and scripts' logs,
 * like the server log, which never names them either); the page shows the
 * recipient and the subject, never the body (it holds one-time links), and
 * its view is an audited read of the people it names.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feat/handlers.h"
#include "feat/outbox.h"
#include "svc/audit.h"
#include "svc/http.h"
#include "svc/mail.h"

enum { OUTBOX_PER_PAGE = 50 };

/* Indexed by MailState. */
static const char *const state_codes[] = {"waiting", "failing", "sent", "given up"};
static const char *const state_labels[] = {
    N_("Waiting to be sent"), N_("Failed; will be tried again"), N_("Sent"), N_("Given up")};

/* ---- the page ---- */

/* A message's row for the page: when the page's reader may retry it. */
static json_t *outbox_row(Request *r, Stmt *st)
{
    int64_t attempts = db_int(st, 4), next = db_int(st, 5);
    MailState state = mail_state(attempts, !db_is_null(st, 6));
    int pending = state == MAIL_WAITING || state == MAIL_FAILING;
    return json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:b}", "id",
                      (json_int_t)db_int(st, 0), "to", db_text(st, 1), "subject", db_text(st, 2),
                      "created", audit_when(r, db_int(st, 3)), "state", state_codes[state],
                      "state_words", tr(r, state_labels[state]), "attempts", (json_int_t)attempts,
                      "next", pending ? audit_when(r, next) : "", "sent",
                      db_is_null(st, 6) ? "" : audit_when(r, db_int(st, 6)), "last_error",
                      db_text(st, 7), "can_retry", pending && next > now_seconds());
}

/* One page of the queue, newest first, with the people it names added to
 * seen. *more is set when an older page exists. */
static json_t *outbox_messages(Request *r, int64_t page, AuditSet *seen, int *more)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT m.id, m.to_addr, m.subject, m.created_at, m.attempts, "
                                 "m.next_attempt_at, m.sent_at, m.last_error, p.id "
                                 "FROM mail_queue m LEFT JOIN people p ON p.email = m.to_addr "
                                 "ORDER BY m.id DESC LIMIT :limit OFFSET :offset");
    db_bind_int(st, ":limit", OUTBOX_PER_PAGE + 1);
    db_bind_int(st, ":offset", (page - 1) * OUTBOX_PER_PAGE);
    *more = 0;
    while (db_row(st)) {
        if (json_array_size(list) == OUTBOX_PER_PAGE) {
            *more = 1;
            continue;
        }
        json_array_append_new(list, outbox_row(r, st));
        if (!db_is_null(st, 8))
            audit_set_add(seen, "person", db_int(st, 8));
    }
    db_done(st);
    return list;
}

Result outbox_page(Request *r)
{
    int64_t page = 1, retried = 0;
    if (param_optional_int(r, "page", 1, 100000, 1, &page) != R_OK ||
        param_optional_int(r, "retried", 0, INT64_MAX, 0, &retried) != R_OK)
        return R_BAD_REQUEST;
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    int more;
    json_t *messages = outbox_messages(r, page, &seen, &more);
    /* Addresses are contact details: who read them is recorded first. */
    if (audit_read_set(r, "mail queue viewed", "mail queue", &seen) != R_OK) {
        json_decref(messages);
        return R_INTERNAL;
    }
    r->page = "admin_mail";
    r->title = tr(r, "Outgoing mail");
    json_decref(r->data);
    r->data = json_build("{s:o, s:I, s:I, s:b, s:b, s:I}", "messages", messages, "next",
                         (json_int_t)page + 1, "prev", (json_int_t)page - 1, "has_next", more,
                         "has_prev", page > 1, "retried", (json_int_t)retried);
    return R_OK;
}

/* ---- retrying ---- */

typedef struct {
    int64_t id;
    int64_t user_id; /* 0: the command line */
} Retry;

static Result outbox_retry_apply(Db *w, void *ctx)
{
    Retry *t = ctx;
    Result rc = mail_retry(w, t->id);
    if (rc != R_OK)
        return rc;
    char object[32];
    snprintf(object, sizeof object, "mail %lld", (long long)t->id);
    return audit_log(w, t->user_id, "mail retried", object, "");
}

Result outbox_retry_post(Request *r)
{
    Retry t = {.user_id = r->user->id};
    if (param_int(r, "id", 1, INT64_MAX, &t.id) != R_OK)
        return R_NOT_FOUND;
    Result rc = db_write(r->db, outbox_retry_apply, &t);
    if (rc == R_CONFLICT) {
        r->message = tr(r, "This message was sent or given up: it cannot be tried again.");
        return R_CONFLICT;
    }
    if (rc != R_OK)
        return rc == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/admin/mail?retried=%lld", (long long)t.id));
}

/* ---- the command line ---- */

/* Reads all of stdin into a string the caller frees, or NULL (with a
 * message) when it is longer than MAIL_BODY_MAX or holds a NUL byte. */
static char *read_body(void)
{
    size_t cap = 4096, len = 0;
    char *s = xmalloc(cap);
    size_t n;
    while ((n = fread(s + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (len > MAIL_BODY_MAX) {
            fprintf(stderr, "ratify mail send: the message is too long (over %d bytes)\n",
                    MAIL_BODY_MAX);
            free(s);
            return NULL;
        }
        if (cap - len - 1 == 0) {
            cap *= 2;
            s = xrealloc(s, cap);
        }
    }
    s[len] = 0;
    if (strlen(s) != len) {
        fprintf(stderr, "ratify mail send: the message holds a NUL byte\n");
        free(s);
        return NULL;
    }
    return s;
}

typedef struct {
    const char *to, *subject, *body;
    int64_t id;
} Send;

static Result outbox_send_apply(Db *w, void *ctx)
{
    Send *s = ctx;
    Result rc = mail_queue_id(w, s->to, s->subject, s->body, &s->id);
    if (rc != R_OK)
        return rc;
    char object[32];
    snprintf(object, sizeof object, "mail %lld", (long long)s->id);
    return audit_log(w, 0, "mail queued", object, "");
}

static Result outbox_send(Db *db, int argc, char **argv)
{
    Send s = {0};
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            s.to = argv[++i];
        else if (strcmp(argv[i], "--subject") == 0 && i + 1 < argc)
            s.subject = argv[++i];
        else
            return R_UNSUPPORTED;
    }
    if (!s.to || !s.subject)
        return R_UNSUPPORTED;
    char *body = read_body();
    if (!body)
        return R_BAD_REQUEST;
    s.body = body;
    const char *problem = mail_problem(s.to, s.subject, s.body);
    Result rc = problem ? R_BAD_REQUEST : db_write(db, outbox_send_apply, &s);
    if (problem)
        fprintf(stderr, "ratify mail send: %s\n", problem);
    else if (rc == R_OK)
        printf("Message %lld queued; `ratify mail list` shows how it goes.\n", (long long)s.id);
    else
        fprintf(stderr, "ratify mail send: the message could not be queued\n");
    free(body);
    return rc;
}

/* `ratify mail list`: one line a message, newest first, without address,
 * subject or body. */
static Result outbox_list(Db *db)
{
    Stmt *st = db_prepare(db, "SELECT id, attempts, sent_at, next_attempt_at, last_error "
                              "FROM mail_queue ORDER BY id DESC");
    printf("%-8s %-10s %-8s %-24s %s\n", "ID", "STATE", "ATTEMPTS", "NEXT ATTEMPT (UTC)",
           "LAST ERROR");
    while (db_row(st)) {
        int64_t attempts = db_int(st, 1);
        MailState state = mail_state(attempts, !db_is_null(st, 2));
        char next[32] = "-";
        if (state == MAIL_WAITING || state == MAIL_FAILING) {
            time_t t = (time_t)db_int(st, 3);
            struct tm tm;
            if (gmtime_r(&t, &tm))
                strftime(next, sizeof next, "%Y-%m-%d %H:%M:%S", &tm);
        }
        const char *err = db_text(st, 4);
        printf("%-8lld %-10s %-8lld %-24s %s\n", (long long)db_int(st, 0), state_codes[state],
               (long long)attempts, next, *err ? err : "-");
    }
    return db_done(st);
}

static Result outbox_retry(Db *db, const char *arg)
{
    char *end = NULL;
    long long id = strtoll(arg, &end, 10);
    if (!*arg || *end || id < 1)
        return R_UNSUPPORTED;
    Retry t = {.id = id};
    Result rc = db_write(db, outbox_retry_apply, &t);
    if (rc == R_OK)
        printf("Message %lld is due now; a running server sends it within a second.\n", id);
    else if (rc == R_NOT_FOUND)
        fprintf(stderr, "ratify mail retry: no message %lld\n", id);
    else if (rc == R_CONFLICT)
        fprintf(stderr, "ratify mail retry: message %lld was sent or given up\n", id);
    else
        fprintf(stderr, "ratify mail retry: message %lld could not be changed\n", id);
    return rc;
}

Result outbox_cmd(Db *db, int argc, char **argv)
{
    Result rc = R_UNSUPPORTED;
    if (argc >= 1 && strcmp(argv[0], "send") == 0)
        rc = outbox_send(db, argc - 1, argv + 1);
    else if (argc == 1 && strcmp(argv[0], "list") == 0)
        rc = outbox_list(db);
    else if (argc == 2 && strcmp(argv[0], "retry") == 0)
        rc = outbox_retry(db, argv[1]);
    if (rc != R_UNSUPPORTED)
        return rc;
    fprintf(stderr, "usage: ratify mail send --to ADDRESS --subject TEXT  (the body on stdin)\n"
                    "       ratify mail list\n"
                    "       ratify mail retry ID\n");
    return R_BAD_REQUEST;
}
