/*
 * assistance.c: asking the coalition for support (issue 12, item 3): one
 * workflow for every kind of help the campaign page offers (materials for
 * an event, coordination with other countries, an international expert,
 * organisations from other countries, a steering committee member at an
 * event, drafting a submission, replying to a refusal). A member asks at
 * /assistance/new (or from a refusal, POST /responses/{id}/help); the
 * request has a state, an assignee, a due date, a thread and attachments;
 * the secretariat (the admins and the steering committee, which admins
 * name at /admin/steering-committee) sees all requests at
 * /admin/assistance and moves them on.
 *
 * Invariants:
 * - A request is seen by its requester, the steering committee and the
 *   admins only: visibility 'committee' with the requester as author,
 *   checked by visibility_can_see before anything else (404 otherwise, for
 *   its files too). Reads by anyone but the requester are audited.
 * - States move only along allowed_moves[]; a request done or declined
 *   stays so. Declining needs a reason.
 * - Every change (a new request, a state, an assignment, a draft, a
 *   message) is written with its line in the thread, its audit line and
 *   its emails in one transaction: the requester and the secretariat are
 *   told, never the person who made the change, with a link and never the
 *   content of a file or a message.
 * - Files are kept only when their first bytes say PDF, PNG or JPEG
 *   (response_file_type), under a sanitised name, and only ever served as
 *   downloads in a sandbox.
 */
#include <stdio.h>
#include <string.h>

#include "feat/assistance.h"

#include "base/i18n.h"
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/http.h"
#include "svc/mail.h"
#include "svc/visibility.h"
#include "feat/member.h"
#include "feat/notification.h"
#include "feat/response.h"

enum { ATTACHMENT_MAX = 900 * 1024 }; /* under the 1 MiB body limit, with the form around it */

/* ---- kinds and states ---- */

static const char *const kinds[] = {"event_materials",
                                    "event_coordination",
                                    "international_expert",
                                    "foreign_organisations",
                                    "steering_presence",
                                    "submission_drafting",
                                    "refusal_reply",
                                    "other",
                                    NULL};
static const char *const kind_labels[] = {
    N_("Materials for an event: the Protocol and the adjudication of ESCR"),
    N_("Coordinating an event with events in other countries"),
    N_("An international expert at an event"),
    N_("Organisations from other countries at an event"),
    N_("A steering committee member at an event"),
    N_("Drafting a submission"),
    N_("Replying to a government's refusal"),
    N_("Something else"),
    NULL};
/* What a member picks on /assistance/new: help with a refusal is asked from
 * the refusal itself, which the request then links to. */
static const char *const form_kinds[] = {"event_materials",
                                         "event_coordination",
                                         "international_expert",
                                         "foreign_organisations",
                                         "steering_presence",
                                         "submission_drafting",
                                         "other",
                                         NULL};

static const char *const states[] = {"new", "accepted", "in_progress", "done", "declined", NULL};
static const char *const state_labels[] = {N_("New"),  N_("Accepted"), N_("In progress"),
                                           N_("Done"), N_("Declined"), NULL};
/* For the thread: the line a state change leaves, and the other events. */
static const char *const event_codes[] = {"new",      "accepted", "in_progress", "done",
                                          "declined", "assigned", "draft",       NULL};
static const char *const event_labels[] = {
    N_("asked for support"),           N_("accepted the request"),
    N_("started work on the request"), N_("marked the request done"),
    N_("declined the request"),        N_("assigned the request to"),
    N_("wrote a draft reply"),         NULL};
/* The sentence of the email each change sends. */
static const char *const event_mails[] = {
    N_("A new request for support was made."),
    N_("The request was accepted."),
    N_("Work on the request has started."),
    N_("The request is done."),
    N_("The request was declined; the reason is on its page."),
    N_("The request was assigned to a member of the steering committee."),
    N_("A draft reply was written for the request."),
    NULL};

/* The moves a request may make; anything else is refused. */
static const char *const allowed_moves[][2] = {
    {"new", "accepted"},         {"new", "declined"},      {"accepted", "in_progress"},
    {"accepted", "done"},        {"accepted", "declined"}, {"in_progress", "done"},
    {"in_progress", "declined"},
};

static int move_allowed(const char *from, const char *to)
{
    for (size_t i = 0; i < sizeof allowed_moves / sizeof allowed_moves[0]; i++)
        if (!strcmp(allowed_moves[i][0], from) && !strcmp(allowed_moves[i][1], to))
            return 1;
    return 0;
}

static int code_index(const char *const *codes, const char *code)
{
    for (int i = 0; codes[i]; i++)
        if (!strcmp(codes[i], code))
            return i;
    return -1;
}

/* codes[i]'s label, translated; an unknown code is shown as stored. */
static const char *label_of(Request *r, const char *const *codes, const char *const *labels,
                            const char *code)
{
    int i = code_index(codes, code);
    return i < 0 ? code : tr(r, labels[i]);
}

/* Options for a select: every code with its label, selected marked. */
static json_t *options(Request *r, const char *const *codes, const char *const *all_codes,
                       const char *const *labels, const char *selected)
{
    json_t *list = json_array();
    for (int i = 0; codes[i]; i++)
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "code", codes[i], "label",
                                               label_of(r, all_codes, labels, codes[i]), "selected",
                                               selected && !strcmp(selected, codes[i])));
    return list;
}

/* The secretariat: who sees and answers every request. */
static int secretariat(const User *u)
{
    return u && (u->role == ROLE_ADMIN || u->committee);
}

/* ---- one request ---- */

typedef struct {
    int64_t id, requester, assignee, letter;
    char iso3[4];
    const char *kind, *status, *subject, *details, *draft, *due_on, *reason, *requester_name,
        *assignee_name, *country;
    int64_t created_at;
} Assist;

/* A user's name as the thread shows it: "you" to themselves, the display
 * name, else the address to the secretariat, else "a member of the
 * coalition". */
static const char *name_for(Request *r, const char *display, const char *email)
{
    if (r->user && email && *email && !strcmp(email, r->user->email))
        return tr(r, "you");
    if (display && *display)
        return display;
    if (secretariat(r->user) && email && *email)
        return email;
    return tr(r, "a member of the coalition");
}

/* Request id into *a, if this user may see it: R_NOT_FOUND otherwise, as if
 * it did not exist. */
static Result assist_load_id(Request *r, int64_t id, Assist *a)
{
    memset(a, 0, sizeof *a);
    a->id = id;
    Stmt *st = db_prepare(
        r->db,
        "SELECT a.iso3, coalesce(a.requester_id, 0), coalesce(a.assignee_id, 0), a.kind, "
        "a.status, a.subject, a.details, a.draft, coalesce(a.due_on, ''), a.decline_reason, "
        "coalesce(u.display_name, ''), coalesce(u.email, ''), coalesce(v.display_name, ''), "
        "coalesce(v.email, ''), a.created_at, coalesce(p.letter_id, 0), "
        "coalesce(n.name, e.name) FROM assistance_requests a "
        "LEFT JOIN users u ON u.id = a.requester_id LEFT JOIN users v ON v.id = a.assignee_id "
        "LEFT JOIN responses p ON p.id = a.response_id "
        "LEFT JOIN country_names n ON n.iso3 = a.iso3 AND n.lang = :lang "
        "JOIN country_names e ON e.iso3 = a.iso3 AND e.lang = 'en' WHERE a.id = :id");
    db_bind_int(st, ":id", a->id);
    db_bind_text(st, ":lang", r->lang);
    Result res = R_NOT_FOUND;
    if (db_row(st)) {
        snprintf(a->iso3, sizeof a->iso3, "%s", db_text(st, 0));
        a->requester = db_int(st, 1);
        a->assignee = db_int(st, 2);
        a->kind = arena_strdup(r->arena, db_text(st, 3));
        a->status = arena_strdup(r->arena, db_text(st, 4));
        a->subject = arena_strdup(r->arena, db_text(st, 5));
        a->details = arena_strdup(r->arena, db_text(st, 6));
        a->draft = arena_strdup(r->arena, db_text(st, 7));
        a->due_on = arena_strdup(r->arena, db_text(st, 8));
        a->reason = arena_strdup(r->arena, db_text(st, 9));
        a->requester_name = arena_strdup(r->arena, name_for(r, db_text(st, 10), db_text(st, 11)));
        a->assignee_name =
            a->assignee ? arena_strdup(r->arena, name_for(r, db_text(st, 12), db_text(st, 13)))
                        : "";
        a->created_at = db_int(st, 14);
        a->letter = db_int(st, 15);
        a->country = arena_strdup(r->arena, db_text(st, 16));
        if (visibility_can_see(r->user, "committee", a->iso3, a->requester))
            res = R_OK;
    }
    db_done(st);
    return res;
}

/* The request named by the path's {id}, as assist_load_id. */
Result assistance_find_visible(Request *r, int64_t id, AssistanceRef *out)
{
    Assist a;
    memset(out, 0, sizeof *out);
    if (assist_load_id(r, id, &a) != R_OK)
        return R_NOT_FOUND;
    out->id = a.id;
    out->requester = a.requester;
    snprintf(out->iso3, sizeof out->iso3, "%s", a.iso3);
    snprintf(out->kind, sizeof out->kind, "%s", a.kind);
    snprintf(out->status, sizeof out->status, "%s", a.status);
    return R_OK;
}

int assistance_secretariat(const User *u)
{
    return secretariat(u);
}

static Result assist_load(Request *r, Assist *a)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    return assist_load_id(r, id, a);
}

/* A read of a request (or its file) by anyone but its requester, audited
 * with the requester's member profile as its subject when there is one:
 * requests can tell of people at risk. Fails closed (R_INTERNAL). */
typedef struct {
    int64_t user;
    const char *action, *object;
} ReadNote;

static Result read_note_apply(Db *w, void *ctx)
{
    ReadNote *n = ctx;
    int64_t entry;
    return audit_read_entry(w, n->user, 0, n->action, n->object, "0", &entry);
}

static Result log_read(Request *r, const Assist *a, const char *action)
{
    if (r->user->id == a->requester)
        return R_OK;
    const char *object = arena_printf(r->arena, "assistance %lld", (long long)a->id);
    Stmt *st = db_prepare(r->db, "SELECT id FROM people WHERE user_id = :user");
    db_bind_int(st, ":user", a->requester);
    int64_t person = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    if (person) {
        AuditSet seen;
        audit_set_init(&seen, r->arena);
        audit_set_add(&seen, "person", person);
        return audit_read_set(r, action, object, &seen);
    }
    ReadNote n = {.user = r->user->id, .action = action, .object = object};
    if (db_write(r->db, read_note_apply, &n) != R_OK) {
        log_info("audit: a read could not be recorded (%s); the page is refused", action);
        return R_INTERNAL;
    }
    return R_OK;
}

/* ---- what every change shares: the thread, files and emails ---- */

typedef struct {
    const char *name, *type, *data;
    size_t len;
} Upload;

/* A file name safe in a header and on any disk: ASCII letters, digits, '.',
 * '-' and '_' (anything else becomes '_'), no leading dot, at most 80
 * characters, ending with the extension of the type the bytes showed. */
static const char *safe_file_name(Request *r, const char *given, const char *type)
{
    const char *ext = !strcmp(type, "application/pdf") ? ".pdf"
                      : !strcmp(type, "image/png")     ? ".png"
                                                       : ".jpg";
    const char *base = given ? given : "";
    const char *slash = strrchr(base, '/'), *back = strrchr(base, '\\');
    if (slash && (!back || slash > back))
        base = slash + 1;
    else if (back)
        base = back + 1;
    char name[96];
    size_t n = 0;
    for (const char *p = base; *p && n < 80; p++) {
        unsigned char c = (unsigned char)*p;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || (c == '.' && n > 0);
        if (ok)
            name[n++] = (char)c;
        else if (c < 0x80 || (c & 0xc0) == 0xc0) /* one '_' per character, not per byte */
            name[n++] = '_';
    }
    name[n] = '\0';
    size_t el = strlen(ext);
    if (n >= el && !strcmp(name + n - el, ext))
        return arena_strdup(r->arena, name);
    if (!strcmp(ext, ".jpg") && n >= 5 && !strcmp(name + n - 5, ".jpeg"))
        return arena_strdup(r->arena, name);
    return arena_printf(r->arena, "%s%s", n ? name : "attachment", ext);
}

/* The form's "attachment", checked into *up (up->len 0: none). Returns 1
 * and records the problem in r->errors when it cannot be kept. */
static int read_attachment(Request *r, Upload *up)
{
    memset(up, 0, sizeof *up);
    const Param *file = form_get(&r->form, "attachment");
    if (!file || !file->len)
        return 0;
    const char *type = response_file_type(file->value, file->len);
    if (!type)
        return param_error(r, "attachment", N_("The file must be a PDF, PNG or JPEG.")) != R_OK;
    if (file->len > ATTACHMENT_MAX)
        return param_error(r, "attachment", N_("The file is too large.")) != R_OK;
    up->type = type;
    up->name = safe_file_name(r, file->filename, type);
    up->data = file->value;
    up->len = file->len;
    return 0;
}

/* A line of the thread on w: a message (event "") or an event. */
static Result thread_add(Db *w, int64_t request, int64_t author, const char *event,
                         const char *body, int64_t *id)
{
    Stmt *st = db_prepare(w, "INSERT INTO assistance_messages (request_id, author_id, event, body, "
                             "created_at) VALUES (:request, :author, :event, :body, :now) "
                             "RETURNING id");
    db_bind_int(st, ":request", request);
    db_bind_int(st, ":author", author);
    db_bind_text(st, ":event", event);
    db_bind_text(st, ":body", body ? body : "");
    db_bind_int(st, ":now", now_seconds());
    return db_insert(st, id) == R_OK ? R_OK : R_INTERNAL;
}

static Result attachment_add(Db *w, int64_t request, int64_t message, int64_t uploader,
                             const Upload *up)
{
    if (!up->len)
        return R_OK;
    Stmt *st = db_prepare(
        w, "INSERT INTO assistance_attachments (request_id, message_id, uploader_id, file_name, "
           "content_type, size, content, created_at) VALUES (:request, :message, :uploader, "
           ":name, :type, :size, :content, :now)");
    db_bind_int(st, ":request", request);
    db_bind_int(st, ":message", message);
    db_bind_int(st, ":uploader", uploader);
    db_bind_text(st, ":name", up->name);
    db_bind_text(st, ":type", up->type);
    db_bind_int(st, ":size", (int64_t)up->len);
    db_bind_blob(st, ":content", up->data, up->len);
    db_bind_int(st, ":now", now_seconds());
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* What changed in a request, as msgids: each reader gets them in their
 * own language. */
typedef struct {
    const char *msgids[4];
    size_t n;
} Changes;

/* Queues on w, inside the change's write, one email about request id to its
 * requester and the secretariat (the admins and the steering committee),
 * except the person who made the change: what happened, in each reader's
 * language, and a link. (A new request goes through notification.c
 * instead, which honours the digest.) Never the content of a message or a
 * file: the request is read on its page, after logging in. */
static Result notify(Db *w, Request *r, int64_t id, const Changes *what)
{
    Stmt *st = db_prepare(
        w, "SELECT u.email, coalesce(u.lang, 'en') FROM users u WHERE u.disabled = 0 AND "
           "u.id <> :me AND (u.id = (SELECT requester_id FROM assistance_requests WHERE id = :id) "
           "OR u.role = 'admin' OR EXISTS (SELECT 1 FROM steering_committee c WHERE c.user_id = "
           "u.id)) ORDER BY u.email");
    db_bind_int(st, ":me", r->user->id);
    db_bind_int(st, ":id", id);
    Result res = R_OK;
    while (res == R_OK && db_row(st)) {
        char email[256], lang[8];
        snprintf(email, sizeof email, "%s", db_text(st, 0));
        snprintf(lang, sizeof lang, "%s", i18n_supported(db_text(st, 1)) ? db_text(st, 1) : "en");
        Buf body = {0};
        for (size_t i = 0; i < what->n; i++)
            buf_printf(&body, "%s%s", i ? "\n" : "", i18n_gettext(lang, what->msgids[i]));
        buf_printf(&body, "\n\n%s\n%s/assistance/%lld\n",
                   i18n_gettext(lang, N_("Read the request and answer it here (log in first):")),
                   r->base_url ? r->base_url : "", (long long)id);
        const char *subject = arena_printf(
            r->arena, "%s %lld", i18n_gettext(lang, N_("Request for support")), (long long)id);
        res = mail_queue(w, email, subject, body.data);
        buf_free(&body);
    }
    db_done(st);
    return res == R_OK ? R_OK : R_INTERNAL;
}

/* ---- asking: the form, and help with a refusal ---- */

/* What assistance_add_apply writes: the request (for a refusal, only if the
 * response is still a refusal: R_CONFLICT otherwise), its first line in
 * the thread, its file, the audit line and the emails. */
typedef struct {
    Request *r;
    const char *kind, *iso3, *subject, *details, *due_on;
    int64_t response; /* 0: none */
    Upload file;
    int64_t id; /* out */
} AssistanceAdd;

/* Whether response is a refusal, read on w so that it holds when the
 * request is written: R_OK, R_CONFLICT, or R_INTERNAL. */
static Result refusal_check(Db *w, int64_t response)
{
    Stmt *st = db_prepare(w, "SELECT 1 FROM responses WHERE id = :id AND class = 'refusal'");
    db_bind_int(st, ":id", response);
    int refusal = db_row(st);
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    return refusal ? R_OK : R_CONFLICT;
}

static Result assistance_add_apply(Db *w, void *ctx)
{
    AssistanceAdd *a = ctx;
    Request *r = a->r;
    if (a->response) {
        Result res = refusal_check(w, a->response);
        if (res != R_OK)
            return res;
    }
    int64_t now = now_seconds(), message;
    Stmt *st = db_prepare(
        w, "INSERT INTO assistance_requests (kind, iso3, requester_id, response_id, subject, "
           "details, status, due_on, created_at, updated_at) VALUES (:kind, :iso3, :user, "
           ":response, :subject, :details, 'new', :due, :now, :now) RETURNING id");
    db_bind_text(st, ":kind", a->kind);
    db_bind_text(st, ":iso3", a->iso3);
    db_bind_int(st, ":user", r->user->id);
    if (a->response)
        db_bind_int(st, ":response", a->response);
    else
        db_bind_null(st, ":response");
    db_bind_text(st, ":subject", a->subject);
    db_bind_text(st, ":details", a->details);
    db_bind_text(st, ":due", a->due_on && *a->due_on ? a->due_on : NULL);
    db_bind_int(st, ":now", now);
    if (db_insert(st, &a->id) != R_OK)
        return R_INTERNAL;
    if (thread_add(w, a->id, r->user->id, "new", "", &message) != R_OK ||
        attachment_add(w, a->id, message, r->user->id, &a->file) != R_OK ||
        audit_log(w, r->user->id, "assistance requested",
                  arena_printf(r->arena, "assistance %lld", (long long)a->id), a->kind) != R_OK)
        return R_INTERNAL;
    /* A new request waits for the secretariat like other work: at once or
     * in the digest, as each chose (notification.c). */
    return notification_assistance_requested(w, a->id, a->iso3, r->user->id, r->base_url);
}

/* The subject Ratify writes itself for a request for help with a refusal. */
#define REFUSAL_SUBJECT N_("Help to reply to a government's refusal")

/* A subject as the reader should see it: the one Ratify wrote in the
 * reader's language (issue 14: it stayed English, or in the requester's
 * language); a subject people typed as they typed it. */
static const char *subject_words(Request *r, const char *kind, const char *subject)
{
    if (!strcmp(kind, "refusal_reply") && !strcmp(subject, REFUSAL_SUBJECT))
        return tr(r, REFUSAL_SUBJECT);
    return subject;
}

Result assistance_request_post(Request *r)
{
    int64_t id, recorder, letter;
    char iso3[4];
    if (response_visible(r, &id, iso3, &recorder, &letter) != R_OK)
        return R_NOT_FOUND;
    const char *details = NULL;
    if (param_optional_text(r, "details", 5000, 1, &details) != R_OK)
        return R_BAD_REQUEST;
    AssistanceAdd a = {.r = r,
                       .kind = "refusal_reply",
                       .iso3 = iso3,
                       /* Stored in English, shown in each reader's language
                        * (subject_words): the secretariat may read another. */
                       .subject = REFUSAL_SUBJECT,
                       .details = details ? details : "",
                       .response = id};
    Result res = db_write(r->db, assistance_add_apply, &a);
    if (res == R_CONFLICT) {
        r->message = tr(r, "Help with a reply can be asked for a refusal only.");
        return R_CONFLICT;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/assistance/%lld", (long long)a.id));
}

/* The form of /assistance/new with what was typed (raw: shown again as
 * typed; every value was checked as text before any handler). */
static void new_form(Request *r, const char *kind, const char *iso3, const char *subject,
                     const char *details, const char *due_on)
{
    json_decref(r->data);
    r->data = json_build("{s:o, s:o, s:s, s:s, s:s, s:b}", "kinds",
                         options(r, form_kinds, kinds, kind_labels, kind), "countries",
                         member_country_options(r, iso3), "subject", subject ? subject : "",
                         "details", details ? details : "", "due_on", due_on ? due_on : "",
                         "secretariat", secretariat(r->user));
    r->page = "assistance_new";
    r->title = tr(r, "Ask the coalition for support");
}

Result assistance_new_page(Request *r)
{
    const char *kind = param_filter(r, "kind", form_kinds);
    const char *iso3 = NULL;
    if (param_optional_iso3(r, "country", &iso3) != R_OK || !iso3)
        iso3 = r->user->home_iso3;
    json_decref(r->errors);
    r->errors = NULL;
    new_form(r, kind, iso3, NULL, NULL, NULL);
    return R_OK;
}

/* Whether iso3 is one of our countries (a well-formed code may not be). */
static int country_known(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM countries WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    int known = db_row(st);
    db_done(st);
    return known;
}

Result assistance_create_post(Request *r)
{
    int kind = 0;
    const char *iso3 = NULL, *subject = NULL, *details = NULL, *due = NULL;
    int bad = param_enum(r, "kind", form_kinds, &kind) != R_OK;
    if (param_iso3(r, "country", &iso3) != R_OK)
        bad = 1;
    else if (!country_known(r, iso3))
        bad |= param_error(r, "country", N_("Choose a country from the list.")) != R_OK;
    bad |= param_text(r, "subject", 1, 200, 0, &subject) != R_OK;
    bad |= param_optional_text(r, "details", 5000, 1, &details) != R_OK;
    if (param_optional_date(r, "due_on", &due) != R_OK)
        bad = 1;
    else if (due) {
        char today[16];
        format_utc(now_seconds(), "%Y-%m-%d", today, sizeof today);
        if (strcmp(due, today) < 0)
            bad |= param_error(r, "due_on", N_("The date has passed.")) != R_OK;
    }
    AssistanceAdd a = {.r = r};
    bad |= read_attachment(r, &a.file);
    if (bad) {
        new_form(r, param_raw(r, "kind"), param_raw(r, "country"), /* raw: shown again */
                 param_raw(r, "subject"), param_raw(r, "details"), /* raw: shown again */
                 param_raw(r, "due_on"));                          /* raw: shown again */
        return R_BAD_REQUEST;
    }
    a.kind = form_kinds[kind];
    a.iso3 = iso3;
    a.subject = subject;
    a.details = details ? details : "";
    a.due_on = due;
    if (db_write(r->db, assistance_add_apply, &a) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/assistance/%lld", (long long)a.id));
}

/* ---- lists ---- */

/* Requests as the lists show them: the user's own (mine), or every one
 * that matches the filters (NULL: any). Requester addresses are shown to
 * the secretariat only; seen collects their member profiles, for the read
 * audit. */
static json_t *assistance_json(Request *r, int mine, const char *status, const char *kind,
                               const char *iso3, AuditSet *seen)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db,
        "SELECT a.id, a.kind, a.iso3, a.subject, a.details, a.status, a.draft, "
        "coalesce(u.display_name, ''), coalesce(u.email, ''), coalesce(v.display_name, ''), "
        "coalesce(v.email, ''), coalesce(a.due_on, ''), coalesce(a.response_id, 0), "
        "coalesce(p.letter_id, 0), coalesce(pe.id, 0), coalesce(a.requester_id, 0) "
        "FROM assistance_requests a "
        "LEFT JOIN users u ON u.id = a.requester_id LEFT JOIN users v ON v.id = a.assignee_id "
        "LEFT JOIN responses p ON p.id = a.response_id "
        "LEFT JOIN people pe ON pe.user_id = a.requester_id "
        "WHERE (:mine = 0 OR a.requester_id = :me) AND (:status = '' OR a.status = :status) "
        "AND (:kind = '' OR a.kind = :kind) AND (:iso3 = '' OR a.iso3 = :iso3) "
        "ORDER BY CASE WHEN a.status IN ('done', 'declined') THEN 1 ELSE 0 END, a.id DESC "
        "LIMIT 500");
    db_bind_int(st, ":mine", mine);
    db_bind_int(st, ":me", r->user->id);
    db_bind_text(st, ":status", status ? status : "");
    db_bind_text(st, ":kind", kind ? kind : "");
    db_bind_text(st, ":iso3", iso3 ? iso3 : "");
    while (db_row(st)) {
        int64_t person = db_int(st, 14);
        if (seen && person && db_int(st, 15) != r->user->id)
            audit_set_add(seen, "person", person);
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}", "id",
                       (json_int_t)db_int(st, 0), "kind", db_text(st, 1), "kind_label",
                       label_of(r, kinds, kind_labels, db_text(st, 1)), "iso3", db_text(st, 2),
                       "subject", subject_words(r, db_text(st, 1), db_text(st, 3)), "details",
                       db_text(st, 4), "status", db_text(st, 5), "status_label",
                       label_of(r, states, state_labels, db_text(st, 5)), "draft", db_text(st, 6),
                       "requester", name_for(r, db_text(st, 7), db_text(st, 8)), "assignee",
                       *db_text(st, 10) ? name_for(r, db_text(st, 9), db_text(st, 10)) : "",
                       "due_on", db_text(st, 11), "letter_id", (json_int_t)db_int(st, 13)));
        /* The country by its name in the reader's language, not its code. */
        const char *country = country_name_of(r, db_text(st, 2));
        json_object_set_new(json_array_get(list, json_array_size(list) - 1), "country",
                            json_string(country ? country : db_text(st, 2)));
    }
    db_done(st);
    return list;
}

Result assistance_list_page(Request *r)
{
    json_decref(r->data);
    r->data = json_build("{s:o, s:b}", "requests", assistance_json(r, 1, NULL, NULL, NULL, NULL),
                         "secretariat", secretariat(r->user));
    r->page = "assistance";
    r->title = tr(r, "Your requests for support");
    return R_OK;
}

/* /admin/assistance: every request, for the secretariat, filtered by state,
 * kind and country; an audited read of the requesters it names. */
Result assistance_admin_page(Request *r)
{
    if (!secretariat(r->user))
        return R_FORBIDDEN;
    const char *status = param_filter(r, "status", states);
    const char *kind = param_filter(r, "kind", kinds);
    const char *iso3 = NULL;
    if (param_optional_iso3(r, "country", &iso3) != R_OK)
        iso3 = NULL;
    json_decref(r->errors);
    r->errors = NULL;
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    json_t *list = assistance_json(r, 0, status, kind, iso3, &seen);
    if (audit_read_set(r, "assistance requests listed", "assistance", &seen) != R_OK) {
        json_decref(list);
        return R_INTERNAL;
    }
    json_decref(r->data);
    r->data =
        json_build("{s:b, s:o, s:o, s:o, s:o, s:b}", "any", json_array_size(list) > 0, "requests",
                   list, "states", options(r, states, states, state_labels, status), "kinds",
                   options(r, kinds, kinds, kind_labels, kind), "countries",
                   member_country_options(r, iso3), "is_admin", r->user->role == ROLE_ADMIN);
    r->page = "admin_assistance";
    r->title = tr(r, "Requests for support");
    return R_OK;
}

/* ---- one request's page: the thread ---- */

static json_t *attachments_json(Request *r, int64_t request, int64_t message)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT id, file_name, size FROM assistance_attachments "
                                 "WHERE request_id = :request AND message_id = :message "
                                 "ORDER BY id");
    db_bind_int(st, ":request", request);
    db_bind_int(st, ":message", message);
    while (db_row(st))
        json_array_append_new(list, json_build("{s:I, s:s, s:I}", "id", (json_int_t)db_int(st, 0),
                                               "name", db_text(st, 1), "kb",
                                               (json_int_t)((db_int(st, 2) + 1023) / 1024)));
    db_done(st);
    return list;
}

static json_t *thread_json(Request *r, const Assist *a)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT m.id, m.event, m.body, m.created_at, coalesce(m.author_id, 0), "
               "coalesce(u.display_name, ''), coalesce(u.email, '') FROM assistance_messages m "
               "LEFT JOIN users u ON u.id = m.author_id WHERE m.request_id = :id ORDER BY m.id");
    db_bind_int(st, ":id", a->id);
    while (db_row(st)) {
        char when[32];
        format_utc(db_int(st, 3), "%Y-%m-%d %H:%M UTC", when, sizeof when);
        const char *event = db_text(st, 1);
        int64_t author = db_int(st, 4);
        const char *who = author == r->user->id ? tr(r, "You")
                          : author              ? name_for(r, db_text(st, 5), db_text(st, 6))
                                                : tr(r, "a former user");
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)db_int(st, 0),
                             "event", event, "event_label",
                             *event ? label_of(r, event_codes, event_labels, event) : "", "body",
                             db_text(st, 2), "when", when, "who", who));
    }
    db_done(st);
    /* Each line's files, once the thread is read (one statement at a time). */
    size_t i;
    json_t *line;
    json_array_foreach(list, i, line)
    {
        int64_t id = json_integer_value(json_object_get(line, "id"));
        json_object_set_new(line, "attachments", attachments_json(r, a->id, id));
    }
    return list;
}

/* Who a request may be assigned to: the admins and the steering committee. */
static json_t *assignee_options(Request *r, int64_t current)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT u.id, u.display_name, u.email FROM users u WHERE u.disabled = 0 AND "
               "(u.role = 'admin' OR EXISTS (SELECT 1 FROM steering_committee c "
               "WHERE c.user_id = u.id)) ORDER BY u.email");
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:I, s:s, s:b}", "id", (json_int_t)db_int(st, 0), "label",
                             *db_text(st, 1)
                                 ? arena_printf(r->arena, "%s (%s)", db_text(st, 1), db_text(st, 2))
                                 : db_text(st, 2),
                             "selected", db_int(st, 0) == current));
    db_done(st);
    return list;
}

/* The moves open from the request's state, for the secretariat's form. */
static json_t *moves_json(Request *r, const char *from, const char *selected)
{
    json_t *list = json_array();
    for (size_t i = 0; i < sizeof allowed_moves / sizeof allowed_moves[0]; i++)
        if (!strcmp(allowed_moves[i][0], from))
            json_array_append_new(
                list, json_build("{s:s, s:s, s:b}", "code", allowed_moves[i][1], "label",
                                 label_of(r, states, state_labels, allowed_moves[i][1]), "selected",
                                 selected && !strcmp(selected, allowed_moves[i][1])));
    return list;
}

/* Fills the page of request a; typed holds what was typed in a form shown
 * again (body, reason, status), or NULL. */
static void show(Request *r, const Assist *a, const char *body, const char *reason,
                 const char *status)
{
    int manage = secretariat(r->user);
    json_t *req = json_build(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:b}", "id",
        (json_int_t)a->id, "kind", a->kind, "kind_label", label_of(r, kinds, kind_labels, a->kind),
        "status", a->status, "status_label", label_of(r, states, state_labels, a->status),
        "subject", subject_words(r, a->kind, a->subject), "details", a->details, "draft", a->draft,
        "due_on", a->due_on, "reason", a->reason, "requester", a->requester_name, "assignee",
        a->assignee_name, "iso3", a->iso3, "country", a->country, "letter_id",
        (json_int_t)a->letter, "is_refusal", !strcmp(a->kind, "refusal_reply"));
    json_decref(r->data);
    r->data =
        json_build("{s:o, s:o, s:o, s:b, s:s, s:s, s:b}", "request", req, "thread",
                   thread_json(r, a), "attachments", attachments_json(r, a->id, 0), "manage",
                   manage, "typed_body", body ? body : "", "typed_reason", reason ? reason : "",
                   "open", strcmp(a->status, "done") && strcmp(a->status, "declined"));
    /* The drafts of a submission are submission.c's page, linked. */
    json_object_set_new(req, "is_submission",
                        json_boolean(!strcmp(a->kind, "submission_drafting")));
    if (manage) {
        json_object_set_new(r->data, "moves", moves_json(r, a->status, status));
        json_object_set_new(r->data, "assignees", assignee_options(r, a->assignee));
    }
    r->page = "assistance_request";
    r->title = subject_words(r, a->kind, a->subject);
}

Result assistance_page(Request *r)
{
    Assist a;
    if (assist_load(r, &a) != R_OK)
        return R_NOT_FOUND;
    if (log_read(r, &a, "assistance request viewed") != R_OK)
        return R_INTERNAL;
    show(r, &a, NULL, NULL, NULL);
    return R_OK;
}

/* Files are served as downloads only: whatever one holds, the browser never
 * renders it as a page of ours. */
Result assistance_attachment_page(Request *r)
{
    int64_t file;
    if (param_int(r, "id", 1, INT64_MAX, &file) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT request_id FROM assistance_attachments WHERE id = :id");
    db_bind_int(st, ":id", file);
    int64_t request = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    if (!request)
        return R_NOT_FOUND;
    /* The request's visibility decides, as for its page. */
    Assist a;
    if (assist_load_id(r, request, &a) != R_OK)
        return R_NOT_FOUND;
    if (log_read(r, &a, "assistance file downloaded") != R_OK)
        return R_INTERNAL;
    st = db_prepare(r->db, "SELECT file_name, content_type, content FROM assistance_attachments "
                           "WHERE id = :id");
    db_bind_int(st, ":id", file);
    Result res = R_NOT_FOUND;
    if (db_row(st)) {
        const char *type = db_text(st, 1);
        r->content_type = !strcmp(type, "application/pdf") ? "application/pdf"
                          : !strcmp(type, "image/png")     ? "image/png"
                          : !strcmp(type, "image/jpeg")    ? "image/jpeg"
                                                           : "application/octet-stream";
        buf_append(&r->body_out, db_blob(st, 2), (size_t)db_len(st, 2));
        http_add_header(r, "Content-Disposition",
                        arena_printf(r->arena, "attachment; filename=\"%s\"", db_text(st, 0)));
        http_add_header(r, "Content-Security-Policy", "default-src 'none'; sandbox");
        res = R_OK;
    }
    db_done(st);
    return res;
}

/* ---- writing in the thread ---- */

typedef struct {
    Request *r;
    int64_t id;
    const char *body;
    Upload file;
} MessageAdd;

static Result message_add_apply(Db *w, void *ctx)
{
    MessageAdd *m = ctx;
    Request *r = m->r;
    int64_t message;
    Stmt *st = db_prepare(w, "UPDATE assistance_requests SET updated_at = :now WHERE id = :id");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", m->id);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    if (thread_add(w, m->id, r->user->id, "", m->body, &message) != R_OK ||
        attachment_add(w, m->id, message, r->user->id, &m->file) != R_OK ||
        audit_log(w, r->user->id, "assistance message written",
                  arena_printf(r->arena, "assistance %lld", (long long)m->id),
                  m->file.len ? "with a file" : "") != R_OK)
        return R_INTERNAL;
    Changes what = {.msgids = {m->file.len
                                   ? N_("A new message, with a file, was written in the request.")
                                   : N_("A new message was written in the request.")},
                    .n = 1};
    return notify(w, r, m->id, &what);
}

Result assistance_message_post(Request *r)
{
    Assist a;
    if (assist_load(r, &a) != R_OK)
        return R_NOT_FOUND;
    MessageAdd m = {.r = r, .id = a.id};
    int bad = param_optional_text(r, "body", 10000, 1, &m.body) != R_OK;
    bad |= read_attachment(r, &m.file);
    if (!bad && (!m.body || !*m.body) && !m.file.len)
        bad |= param_error(r, "body", N_("Write a message or attach a file.")) != R_OK;
    if (bad) {
        show(r, &a, param_raw(r, "body"), NULL, NULL); /* raw: shown again as typed */
        return R_BAD_REQUEST;
    }
    if (db_write(r->db, message_add_apply, &m) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/assistance/%lld#thread", (long long)a.id));
}

/* ---- the secretariat's changes ---- */

/* What assistance_update_apply writes: a new state (from the one read, so
 * that two people moving it at once do not both succeed: R_CONFLICT), an
 * assignee (a member of the secretariat: R_BAD_REQUEST otherwise), a draft;
 * a thread line, an audit line and the emails for each. */
typedef struct {
    Request *r;
    int64_t id;
    const char *from, *to;    /* to NULL: state unchanged */
    const char *reason;       /* when declining */
    int64_t assignee;         /* -1: unchanged, 0: nobody */
    const char *assignee_now; /* the assignee's name, for the thread */
    const char *draft;        /* NULL: unchanged */
} AssistanceUpdate;

static Result assignee_check(Db *w, int64_t user)
{
    Stmt *st = db_prepare(
        w, "SELECT 1 FROM users u WHERE u.id = :id AND u.disabled = 0 AND (u.role = 'admin' OR "
           "EXISTS (SELECT 1 FROM steering_committee c WHERE c.user_id = u.id))");
    db_bind_int(st, ":id", user);
    int ok = db_row(st);
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    return ok ? R_OK : R_BAD_REQUEST;
}

/* One change: its thread line, audit line and email sentence. */
static Result change_note(Db *w, AssistanceUpdate *u, const char *event, const char *body,
                          Changes *mail)
{
    Request *r = u->r;
    int64_t line;
    if (thread_add(w, u->id, r->user->id, event, body, &line) != R_OK ||
        audit_log(w, r->user->id, "assistance updated",
                  arena_printf(r->arena, "assistance %lld", (long long)u->id), event) != R_OK)
        return R_INTERNAL;
    if (mail->n < sizeof mail->msgids / sizeof *mail->msgids)
        mail->msgids[mail->n++] = event_mails[code_index(event_codes, event)];
    return R_OK;
}

static Result update_steps(Db *w, AssistanceUpdate *u, Changes *mail)
{
    int64_t now = now_seconds();
    if (u->to) {
        Stmt *st = db_prepare(w, "UPDATE assistance_requests SET status = :to, decline_reason = "
                                 ":reason, updated_at = :now WHERE id = :id AND status = :from");
        db_bind_text(st, ":to", u->to);
        db_bind_text(st, ":reason", u->reason ? u->reason : "");
        db_bind_int(st, ":now", now);
        db_bind_int(st, ":id", u->id);
        db_bind_text(st, ":from", u->from);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
        if (db_changes(w) != 1)
            return R_CONFLICT;
        if (change_note(w, u, u->to, u->reason, mail) != R_OK)
            return R_INTERNAL;
    }
    if (u->assignee >= 0) {
        if (u->assignee > 0 && assignee_check(w, u->assignee) != R_OK)
            return R_BAD_REQUEST;
        Stmt *st = db_prepare(w, "UPDATE assistance_requests SET assignee_id = :who, "
                                 "updated_at = :now WHERE id = :id");
        if (u->assignee)
            db_bind_int(st, ":who", u->assignee);
        else
            db_bind_null(st, ":who");
        db_bind_int(st, ":now", now);
        db_bind_int(st, ":id", u->id);
        if (db_run(st) != R_OK || db_changes(w) != 1)
            return R_INTERNAL;
        if (change_note(w, u, "assigned", u->assignee_now, mail) != R_OK)
            return R_INTERNAL;
    }
    if (u->draft) {
        Stmt *st = db_prepare(w, "UPDATE assistance_requests SET draft = :draft, updated_at = "
                                 ":now WHERE id = :id");
        db_bind_text(st, ":draft", u->draft);
        db_bind_int(st, ":now", now);
        db_bind_int(st, ":id", u->id);
        if (db_run(st) != R_OK || db_changes(w) != 1)
            return R_INTERNAL;
        if (change_note(w, u, "draft", "", mail) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

static Result assistance_update_apply(Db *w, void *ctx)
{
    AssistanceUpdate *u = ctx;
    Changes mail = {.n = 0};
    Result res = update_steps(w, u, &mail);
    if (res == R_OK && mail.n)
        res = notify(w, u->r, u->id, &mail);
    return res;
}

/* The name the thread gives a new assignee (read before the write; the
 * write checks again that they may be one). */
static const char *assignee_name(Request *r, int64_t user)
{
    if (user <= 0)
        return "";
    Stmt *st = db_prepare(r->db, "SELECT display_name, email FROM users WHERE id = :id");
    db_bind_int(st, ":id", user);
    const char *name =
        db_row(st) ? arena_strdup(r->arena, *db_text(st, 0) ? db_text(st, 0) : db_text(st, 1)) : "";
    db_done(st);
    return name;
}

/* POST /admin/assistance/{id}: status (a move), reason (declining),
 * assignee (a user id, 0 for nobody) and draft; absent ones are left
 * alone. */
Result assistance_admin_post(Request *r)
{
    if (!secretariat(r->user))
        return R_FORBIDDEN;
    Assist a;
    if (assist_load(r, &a) != R_OK)
        return R_NOT_FOUND;
    AssistanceUpdate u = {.r = r, .id = a.id, .from = a.status, .assignee = -1};
    int to = -1;
    int bad = param_optional_enum(r, "status", states, -1, &to) != R_OK;
    bad |= param_optional_text(r, "reason", 2000, 1, &u.reason) != R_OK;
    bad |= param_optional_int(r, "assignee", 0, INT64_MAX, -1, &u.assignee) != R_OK;
    bad |= param_optional_text(r, "draft", 20000, 1, &u.draft) != R_OK;
    if (!bad && to >= 0 && strcmp(states[to], a.status)) {
        u.to = states[to];
        if (!move_allowed(a.status, u.to)) {
            r->message = arena_printf(r->arena, "%s %s → %s", tr(r, "This change is not possible:"),
                                      label_of(r, states, state_labels, a.status),
                                      label_of(r, states, state_labels, u.to));
            show(r, &a, NULL, param_raw(r, "reason"), NULL); /* raw: shown again as typed */
            return R_CONFLICT;
        }
        if (!strcmp(u.to, "declined") && (!u.reason || !*u.reason))
            bad |= param_error(r, "reason", N_("Please say why the request is declined.")) != R_OK;
    }
    if (u.assignee == a.assignee)
        u.assignee = -1; /* not a change */
    if (u.draft && !strcmp(u.draft, a.draft))
        u.draft = NULL;
    if (bad) {
        show(r, &a, NULL, param_raw(r, "reason"), param_raw(r, "status")); /* raw: as typed */
        return R_BAD_REQUEST;
    }
    if (!u.to)
        u.reason = NULL;
    u.assignee_now = assignee_name(r, u.assignee);
    Result res =
        u.to || u.assignee >= 0 || u.draft ? db_write(r->db, assistance_update_apply, &u) : R_OK;
    if (res == R_BAD_REQUEST) {
        param_error(r, "assignee",
                    N_("Choose an administrator or a member of the steering committee."));
        show(r, &a, NULL, param_raw(r, "reason"), param_raw(r, "status")); /* raw: as typed */
        return R_BAD_REQUEST;
    }
    if (res == R_CONFLICT) {
        r->message = tr(r, "The request was changed meanwhile: look at it again.");
        Assist again;
        if (assist_load(r, &again) == R_OK)
            show(r, &again, NULL, NULL, NULL);
        return R_CONFLICT;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/assistance/%lld", (long long)a.id));
}

/* ---- closing an account ---- */

Result assistance_forget_user(Db *w, int64_t user)
{
    /* Threads and files go with their request (ON DELETE CASCADE). */
    Stmt *st = db_prepare(w, "DELETE FROM assistance_requests WHERE requester_id = :user");
    db_bind_int(st, ":user", user);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* ---- the steering committee ---- */

static json_t *committee_json(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT u.id, u.email, u.display_name, u.role, c.added_at "
                                 "FROM steering_committee c JOIN users u ON u.id = c.user_id "
                                 "ORDER BY u.email");
    while (db_row(st)) {
        char when[16];
        format_utc(db_int(st, 4), "%Y-%m-%d", when, sizeof when);
        json_array_append_new(list, json_build("{s:I, s:s, s:s, s:s, s:s}", "id",
                                               (json_int_t)db_int(st, 0), "email", db_text(st, 1),
                                               "name", db_text(st, 2), "role_label",
                                               audit_role_words(r, db_text(st, 3)), "since", when));
    }
    db_done(st);
    return list;
}

Result assistance_committee_page(Request *r)
{
    json_decref(r->data);
    json_t *members = committee_json(r);
    r->data = json_build("{s:b, s:o, s:s}", "any", json_array_size(members) > 0, "members", members,
                         "email", "");
    r->page = "admin_steering_committee";
    r->title = tr(r, "The steering committee");
    return R_OK;
}

typedef struct {
    Request *r;
    int add;
    int64_t user;
} CommitteeChange;

static Result committee_apply(Db *w, void *ctx)
{
    CommitteeChange *c = ctx;
    Stmt *st;
    if (c->add) {
        st = db_prepare(w, "INSERT INTO steering_committee (user_id, added_by, added_at) "
                           "VALUES (:user, :me, :now) ON CONFLICT (user_id) DO NOTHING");
        db_bind_int(st, ":me", c->r->user->id);
        db_bind_int(st, ":now", now_seconds());
    } else
        st = db_prepare(w, "DELETE FROM steering_committee WHERE user_id = :user");
    db_bind_int(st, ":user", c->user);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_OK; /* already so: nothing to record */
    return audit_log(w, c->r->user->id,
                     c->add ? "steering committee member named"
                            : "steering committee member removed",
                     arena_printf(c->r->arena, "user %lld", (long long)c->user), "");
}

/* POST /admin/steering-committee: add the account with this email. A form
 * still sending remove=ID (an old page) is taken to the question first:
 * nobody is removed without it. */
Result assistance_committee_post(Request *r)
{
    int64_t remove = 0;
    const char *email = NULL;
    if (param_optional_int(r, "remove", 1, INT64_MAX, 0, &remove) != R_OK)
        return R_BAD_REQUEST;
    if (remove)
        return http_redirect(
            r, arena_printf(r->arena, "/admin/steering-committee/%lld/remove", (long long)remove));
    CommitteeChange c = {.r = r, .add = 1};
    int bad = param_email(r, "email", &email) != R_OK;
    if (!bad) {
        Stmt *st = db_prepare(r->db, "SELECT id FROM users WHERE email = :email "
                                     "AND disabled = 0");
        db_bind_text(st, ":email", email);
        c.user = db_row(st) ? db_int(st, 0) : 0;
        db_done(st);
        if (!c.user)
            bad |= param_error(r, "email", N_("There is no account with this address.")) != R_OK;
    }
    if (bad) {
        const char *typed = param_raw(r, "email"); /* raw: shown again as typed */
        assistance_committee_page(r);
        json_object_set_new(r->data, "email", json_string(typed ? typed : ""));
        return R_BAD_REQUEST;
    }
    if (db_write(r->db, committee_apply, &c) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/admin/steering-committee");
}

/* GET /admin/steering-committee/{id}/remove: who, what they lose, and a
 * Remove button. Someone not on the committee is a 404. */
Result assistance_committee_remove_page(Request *r)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT u.email, u.display_name, u.role, c.added_at "
                                 "FROM steering_committee c JOIN users u ON u.id = c.user_id "
                                 "WHERE c.user_id = :id");
    db_bind_int(st, ":id", id);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    char since[16];
    format_utc(db_int(st, 3), "%Y-%m-%d", since, sizeof since);
    json_t *what = json_array();
    confirm_line(r, what, N_("Email"), db_text(st, 0));
    confirm_line(r, what, N_("Name"), db_text(st, 1));
    confirm_line(r, what, N_("Role"), audit_role_words(r, db_text(st, 2)));
    confirm_line(r, what, N_("Since"), date_words(r, since));
    db_done(st);
    ConfirmPage c = {
        .heading = tr(r, "Remove this member from the steering committee?"),
        .consequence = tr(r, "They will no longer see or answer requests for support, nor be "
                             "told of changes to them by email. Their account stays as it is. "
                             "The removal is recorded in the audit log."),
        .action = arena_printf(r->arena, "/admin/steering-committee/%lld/remove", (long long)id),
        .button = tr(r, "Remove"),
        .cancel = "/admin/steering-committee",
        .what = what};
    return http_confirm(r, &c);
}

/* POST /admin/steering-committee/{id}/remove, asked first by the page
 * above. Removing twice (a double click) is a 404 the second time and
 * records nothing. */
Result assistance_committee_remove_post(Request *r)
{
    CommitteeChange c = {.r = r, .add = 0};
    if (param_int(r, "id", 1, INT64_MAX, &c.user) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM steering_committee WHERE user_id = :id");
    db_bind_int(st, ":id", c.user);
    int member = db_row(st);
    db_done(st);
    if (!member)
        return R_NOT_FOUND;
    if (db_write(r->db, committee_apply, &c) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/admin/steering-committee?done=removed");
}
