/*
 * response.c: government responses to letters: recording one on a letter
 * (its class, the reasons for a refusal, who may see it, a file), emailing
 * the members who may now read it, serving its file, and
 * GET /api/v1/responses. The letter page shows responses and holds the
 * form (letter.c); help with a refusal is assistance.c's.
 *
 * Invariants: a response is read only after the visibility rule allowed it
 * (visibility_can_see in response_visible, VISIBILITY_SQL in lists), and
 * recorded only on a letter this user may see and then edit
 * (letter_editable): what a user may not see is a 404. Uploaded
 * files are kept only when their first bytes say PDF, PNG or JPEG, stored
 * under a name of ours, and only ever served as attachments in a sandbox.
 */
#include <stdio.h>
#include <string.h>

#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/http.h"
#include "svc/mail.h"
#include "svc/visibility.h"
#include "feat/letter.h"
#include "feat/response.h"
#include "feat/target.h"
#include "feat/treaty.h"

enum { FILE_MAX = 900 * 1024 }; /* under the 1 MiB body limit, with the form around it */

/* ---- responses ---- */

const char *response_file_type(const char *data, size_t len)
{
    if (len >= 5 && memcmp(data, "%PDF-", 5) == 0)
        return "application/pdf";
    if (len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
        return "image/png";
    if (len >= 3 && memcmp(data, "\xff\xd8\xff", 3) == 0)
        return "image/jpeg";
    return NULL;
}

/* Queues, on w inside the caller's db_write, an email to the members of the
 * country who may see a response that was just shared, except the person
 * who shared it. */
static Result notify_members(Db *w, Request *r, const char *iso3, const char *visibility,
                             int64_t letter)
{
    if (strcmp(visibility, "private") == 0 || strcmp(visibility, "steering") == 0)
        return R_OK;
    Campaign campaign = treaty_campaign(w);
    Stmt *st = db_prepare(
        w, "SELECT DISTINCT p.email FROM memberships m JOIN people p ON p.id = m.person_id "
           "WHERE m.status = 'active' AND m.iso3 = :iso3 "
           "AND coalesce(p.user_id, 0) <> :me");
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":me", r->user->id);
    Result res = R_OK;
    char *body = arena_printf(
        r->arena, "%s\n\n%s\n",
        treaty_say(r, &campaign,
                   N_("A government response to a letter about the {treaty} was shared with the "
                      "members of your country's coalition. Read it here (log in first):")),
        arena_printf(r->arena, "%s/letters/%lld", r->base_url ? r->base_url : "",
                     (long long)letter));
    while (res == R_OK && db_row(st)) {
        char email[256];
        snprintf(email, sizeof email, "%s", db_text(st, 0));
        res = mail_queue(w, email, tr(r, "A government response was shared"), body);
    }
    db_done(st);
    return res;
}

/* What response_add_post writes: the response (with its file, if any), the
 * letter marked as answered, the audit line, and the emails to the members
 * who may now see it. */
typedef struct {
    Request *r;
    const Letter *letter;
    const char *received, *text, *class, *reasons, *note, *visibility;
    const char *file_name, *file_type; /* NULL: no file */
    const char *file_data;
    size_t file_len;
} ResponseAdd;

static Result response_insert(Db *w, const ResponseAdd *a, int64_t *id)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO responses (letter_id, iso3, received_on, text, class, reasons, "
           "reason_note, visibility, file_name, file_type, file_data, recorded_by, created_at) "
           "VALUES (:letter, :iso3, :received, :text, :class, :reasons, :note, :vis, :fname, "
           ":ftype, :fdata, :user, :now) RETURNING id");
    db_bind_int(st, ":letter", a->letter->id);
    db_bind_text(st, ":iso3", a->letter->iso3);
    db_bind_text(st, ":received", a->received);
    db_bind_text(st, ":text", a->text);
    db_bind_text(st, ":class", a->class);
    db_bind_text(st, ":reasons", a->reasons);
    db_bind_text(st, ":note", a->note);
    db_bind_text(st, ":vis", a->visibility);
    db_bind_text(st, ":fname", a->file_type ? a->file_name : "");
    db_bind_text(st, ":ftype", a->file_type ? a->file_type : "");
    if (a->file_type)
        db_bind_blob(st, ":fdata", a->file_data, a->file_len);
    else
        db_bind_null(st, ":fdata");
    db_bind_int(st, ":user", a->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    return db_insert(st, id) == R_OK ? R_OK : R_INTERNAL;
}

static Result response_add_apply(Db *w, void *ctx)
{
    ResponseAdd *a = ctx;
    int64_t id;
    if (response_insert(w, a, &id) != R_OK)
        return R_INTERNAL;
    if (letter_response_received(w, a->letter->id) != R_OK)
        return R_INTERNAL;
    if (audit_log(w, a->r->user->id, "response recorded",
                  arena_printf(a->r->arena, "response %lld", (long long)id),
                  arena_printf(a->r->arena, "%s %s", a->class, a->visibility)) != R_OK)
        return R_INTERNAL;
    return notify_members(w, a->r, a->letter->iso3, a->visibility, a->letter->id);
}

Result response_add_post(Request *r)
{
    Letter l;
    Result res = letter_editable(r, &l);
    if (res != R_OK)
        return res;
    int class = 0, vis = 0;
    const char *received = NULL, *text = NULL, *note = NULL;
    int bad = param_enum(r, "class", letter_response_classes, &class) != R_OK;
    bad |= param_date(r, "received_on", &received) != R_OK;
    bad |= param_optional_text(r, "text", 20000, 1, &text) != R_OK;
    bad |= param_optional_text(r, "reason_note", 2000, 1, &note) != R_OK;
    bad |= param_enum(r, "visibility", letter_response_visibilities, &vis) != R_OK;
    /* Reasons: only for a refusal, only from the list. */
    Buf why = {0};
    for (size_t i = 0; i < r->form.count; i++) {
        if (strcmp(r->form.items[i].name, "reasons") != 0)
            continue;
        int known = 0;
        for (int k = 0; letter_response_reasons[k]; k++)
            known |= strcmp(letter_response_reasons[k], r->form.items[i].value) == 0;
        if (!known)
            bad |= param_error(r, "reasons", N_("Please choose one of the options.")) != R_OK;
        else if (!strstr(why.data ? why.data : "", r->form.items[i].value))
            buf_printf(&why, "%s%s", why.len ? " " : "", r->form.items[i].value);
    }
    const char *why_text = arena_strdup(r->arena, why.data ? why.data : "");
    buf_free(&why);
    if (!strcmp(letter_response_classes[class], "refusal") && !*why_text && !bad)
        bad |= param_error(r, "reasons", N_("Please give at least one reason for the refusal.")) !=
               R_OK;
    const Param *file = form_get(&r->form, "file");
    const char *type = NULL;
    if (file && file->len) {
        type = response_file_type(file->value, file->len);
        if (!type)
            bad |= param_error(r, "file", N_("The file must be a PDF, PNG or JPEG.")) != R_OK;
        else if (file->len > FILE_MAX)
            bad |= param_error(r, "file", N_("The file is too large.")) != R_OK;
    }
    if (bad)
        return letter_show_again(r);
    ResponseAdd a = {.r = r,
                     .letter = &l,
                     .received = received,
                     .text = text ? text : "",
                     .class = letter_response_classes[class],
                     .reasons =
                         strcmp(letter_response_classes[class], "refusal") == 0 ? why_text : "",
                     .note = note ? note : "",
                     .visibility = letter_response_visibilities[vis]};
    if (type) {
        /* The stored name is ours: the uploaded one is untrusted text. */
        a.file_name = arena_printf(r->arena, "response-%s-%s.%s", l.iso3, received,
                                   !strcmp(type, "application/pdf") ? "pdf"
                                   : !strcmp(type, "image/png")     ? "png"
                                                                    : "jpg");
        a.file_type = type;
        a.file_data = file->value;
        a.file_len = file->len;
    }
    if (db_write(r->db, response_add_apply, &a) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/letters/%lld#responses", (long long)l.id));
}

/* The response named in the path, if this user may see it. */
Result response_visible(Request *r, int64_t *id, char iso3[4], int64_t *recorder, int64_t *letter)
{
    if (param_int(r, "id", 1, INT64_MAX, id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT iso3, visibility, coalesce(recorded_by, 0), "
                                 "coalesce(letter_id, 0) FROM responses WHERE id = :id");
    db_bind_int(st, ":id", *id);
    Result res = R_NOT_FOUND;
    if (db_row(st)) {
        snprintf(iso3, 4, "%s", db_text(st, 0));
        *recorder = db_int(st, 2);
        *letter = db_int(st, 3);
        if (visibility_can_see(r->user, db_text(st, 1), iso3, *recorder))
            res = R_OK;
    }
    db_done(st);
    return res;
}

/* Uploaded files are served as downloads only: whatever a file holds, the
 * browser never renders it as a page of ours. */
Result response_file_page(Request *r)
{
    int64_t id, recorder, letter;
    char iso3[4];
    if (response_visible(r, &id, iso3, &recorder, &letter) != R_OK)
        return R_NOT_FOUND;
    /* A government's answer can name people: who opened its file is
     * logged, unless they recorded it. */
    if ((!r->user || r->user->id != recorder) &&
        audit_read(r->db, r->user ? r->user->id : 0, "response", id) != R_OK)
        return R_INTERNAL;
    Stmt *st = db_prepare(r->db, "SELECT file_name, file_type, file_data FROM responses "
                                 "WHERE id = :id AND file_data IS NOT NULL");
    db_bind_int(st, ":id", id);
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

/* ---- the API ---- */

/* GET /api/v1/responses: the responses this caller may see (all of them
 * with a token: an admin's delegation), filtered in the query; who
 * recorded a response is its author for the visibility rule. */
Result response_list_api(Request *r)
{
    json_t *items = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT vis.id, coalesce(vis.letter_id, 0), vis.iso3, vis.received_on, vis.text, "
               "vis.class, vis.reasons, vis.visibility, vis.file_name "
               "FROM (SELECT *, recorded_by AS author_id FROM responses) vis "
               "WHERE (:token = 1 OR " VISIBILITY_SQL ") ORDER BY vis.id");
    db_bind_int(st, ":token", r->api_scope != NULL);
    visibility_bind(st, r->user);
    while (db_row(st)) {
        const char *iso3 = db_text(st, 2);
        json_array_append_new(
            items, json_build("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
                              (json_int_t)db_int(st, 0), "letter_id", (json_int_t)db_int(st, 1),
                              "country", iso3, "received_on", db_text(st, 3), "text",
                              db_text(st, 4), "class", db_text(st, 5), "reasons", db_text(st, 6),
                              "visibility", db_text(st, 7), "has_file", *db_text(st, 8) != 0));
    }
    db_done(st);
    r->data = json_build("{s:o}", "items", items);
    return R_OK;
}
