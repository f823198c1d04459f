/*
 * letter.c: letters to governments: writing a letter from a model letter
 * with the country's ask, editing it, the printable PDF and the email
 * version, recording it sent, the letter page (with its responses and the
 * form for one), the member's list of letters and the API, the overview
 * across countries and its CSV, the summary on the country page, and the
 * reminders for unanswered letters. Targets are target.c's, model letters
 * model_letter.c's; responses (response.c) and help with a refusal
 * (assistance.c) build on this file through letter.h.
 *
 * Invariants: every letter is read or changed only after the visibility
 * rule allowed it, on pages, PDFs, lists, exports and the API alike: one
 * letter through visibility_can_see (visible_letter), lists through its
 * SQL twin VISIBILITY_SQL in their query, so that they page in SQL; before
 * any right to edit is looked at: what a user may not see is a 404. Who sees a letter is its
 * author's choice (drafts are private until shared); a coordinator who may edit it keeps its
 * audience.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "feat/handlers.h"
#include "base/i18n.h"
#include "base/pdf.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/http.h"
#include "svc/mail.h"
#include "svc/visibility.h"
#include "feat/letter.h"
#include "feat/member.h"
#include "feat/country_name.h"
#include "feat/model_letter.h"
#include "feat/target.h"
#include "feat/treaty.h"

static const char *const sent_vias[] = {"post", "email", "hand", "fax", "other", NULL};
static const char *const sent_via_labels[] = {N_("By post"), N_("By email"),    N_("By hand"),
                                              N_("By fax"),  N_("Another way"), NULL};

/* The response vocabulary: the letter page offers it in its form for a
 * response and shows responses in words; response.c checks what was
 * posted against it (letter.h). */
const char *const letter_response_classes[] = {"positive", "non_committal", "refusal", NULL};
static const char *const class_labels[] = {N_("Positive"), N_("Non-committal"), N_("Refusal"),
                                           NULL};
const char *const letter_response_reasons[] = {"cost",         "justiciability", "sovereignty",
                                               "domestic_law", "other",          NULL};
static const char *const reason_labels[] = {
    N_("Cost"),        N_("Economic, social and cultural rights are not justiciable"),
    N_("Sovereignty"), N_("Already covered by domestic law"),
    N_("Other"),       NULL};
const char *const letter_response_visibilities[] = {"country", "members", "public", NULL};
static const char *const response_visibility_labels[] = {N_("The national coalition"),
                                                         N_("All members"), N_("Everyone"), NULL};

/* Who may see a letter, each with a sentence in words: the author sees
 * whom they share it with before they choose. A new letter is private. */
static const char *const letter_visibilities[] = {"private", "country", "members", "public", NULL};
static const char *const letter_visibility_labels[] = {N_("Only me and the administrators"),
                                                       N_("The national coalition"),
                                                       N_("All members"), N_("Everyone"), NULL};
static const char *const letter_visibility_sentences[] = {
    N_("Only you and the administrators will see it, not the coordinators."),
    N_("The members and coordinators of the coalition in this country will see it."),
    N_("Every member of the coalition, in every country, will see it."),
    N_("Anyone will see it, without logging in."), NULL};

static json_t *letter_visibility_choices(Request *r, const char *selected)
{
    json_t *list = json_array();
    for (int i = 0; letter_visibilities[i]; i++)
        json_array_append_new(list,
                              json_build("{s:s, s:s, s:s, s:b}", "code", letter_visibilities[i],
                                         "label", tr(r, letter_visibility_labels[i]), "sentence",
                                         tr(r, letter_visibility_sentences[i]), "selected",
                                         !strcmp(letter_visibilities[i], selected)));
    return list;
}

/* ---- who sees a letter ---- */

static Result load_letter(Request *r, int64_t id, Letter *l)
{
    Stmt *st = db_prepare(
        r->db, "SELECT id, coalesce(author_id, 0), coalesce(target_id, 0), coalesce(model_id, 0), "
               "iso3, lang, ask, sender, recipient, subject, body, status, coalesce(sent_on, ''), "
               "sent_via, visibility, remind_weeks, created_at FROM letters WHERE id = :id");
    db_bind_int(st, ":id", id);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    l->id = db_int(st, 0);
    l->author_id = db_int(st, 1);
    l->target_id = db_int(st, 2);
    l->model_id = db_int(st, 3);
    const char **text[] = {&l->iso3,      &l->lang,     &l->ask,       &l->sender,
                           &l->recipient, &l->subject,  &l->body,      &l->status,
                           &l->sent_on,   &l->sent_via, &l->visibility};
    for (int i = 0; i < 11; i++)
        *text[i] = arena_strdup(r->arena, db_text(st, 4 + i));
    l->remind_weeks = (int)db_int(st, 15);
    l->created_at = db_int(st, 16);
    db_done(st);
    return R_OK;
}

static int can_see_letter(Request *r, const Letter *l)
{
    return visibility_can_see(r->user, l->visibility, l->iso3, l->author_id);
}

/* Editing comes after seeing: only for a letter can_see_letter allowed. */
static int can_edit_letter(Request *r, const Letter *l)
{
    return r->user && can_see_letter(r, l) &&
           (r->user->id == l->author_id || auth_covers_country(r->user, l->iso3));
}

/* Who sees a letter is its author's choice (and an admin's): a coordinator
 * who may edit it does not widen or narrow its audience. */
static int can_share_letter(Request *r, const Letter *l)
{
    return r->user && (r->user->id == l->author_id || r->user->role == ROLE_ADMIN);
}

/* A letter as its author chose to share it; 404 rather than 403 for the
 * others, so that its existence is not confirmed either. Checked before
 * any right to edit. */
static Result visible_letter(Request *r, Letter *l)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK || load_letter(r, id, l) != R_OK)
        return R_NOT_FOUND;
    if (!can_see_letter(r, l))
        return R_NOT_FOUND;
    return R_OK;
}

/* ---- writing a letter ---- */

/* The sender choices: the member's organisations, then their own name. */
static json_t *senders(Request *r)
{
    json_t *list = json_array();
    int64_t person = member_person_id(r);
    Stmt *st = db_prepare(
        r->db, "SELECT o.name FROM org_people op JOIN organisations o ON o.id = op.org_id "
               "WHERE op.person_id = :p UNION ALL SELECT name FROM people WHERE id = :p");
    db_bind_int(st, ":p", person);
    while (db_row(st))
        json_array_append_new(list, json_string(db_text(st, 0)));
    db_done(st);
    if (json_array_size(list) == 0)
        json_array_append_new(
            list, json_string(r->user->display_name[0] ? r->user->display_name : r->user->email));
    return list;
}

const char *letter_sender_default(Request *r)
{
    json_t *list = senders(r);
    const char *first = arena_strdup(r->arena, json_string_value(json_array_get(list, 0)));
    json_decref(list);
    return first;
}

Result letter_new_page(Request *r)
{
    /* A bad ?country= shows the choice of countries, as an unknown one does. */
    const char *iso3 = NULL;
    if (param_optional_iso3(r, "country", &iso3) == R_OK && !iso3)
        iso3 = r->user->home_iso3;
    json_decref(r->data);
    r->page = "letter_new";
    r->title = tr(r, "Write a letter");
    if (!iso3 || !valid_iso3(iso3) || !country_name_of(r, iso3)) {
        r->data = json_build("{s:b}", "choose_country", 1);
        json_object_set_new(r->data, "countries", json_array());
        Stmt *st =
            db_prepare(r->db, "SELECT c.iso3, coalesce(n.name, e.name) AS label FROM countries c "
                              "LEFT JOIN country_names n ON n.iso3 = c.iso3 AND n.lang = :lang "
                              "JOIN country_names e ON e.iso3 = c.iso3 AND e.lang = 'en' "
                              "WHERE c.un_status <> 'other' ORDER BY label");
        db_bind_text(st, ":lang", r->lang);
        while (db_row(st))
            json_array_append_new(
                json_object_get(r->data, "countries"),
                json_build("{s:s, s:s}", "code", db_text(st, 0), "label", db_text(st, 1)));
        db_done(st);
        return R_OK;
    }
    /* The ask and the record on the other complaint procedures (to argue
     * from), under the campaign instrument. */
    Campaign c = treaty_campaign(r->db);
    CountryRow row = {0};
    snprintf(row.iso3, sizeof row.iso3, "%s", iso3);
    treaty_row_standings(r->db, &c, &row);
    Ask ask = treaty_row_ask(&c, &row);
    const char *typed = param_filter(r, "visibility", letter_visibilities);
    /* A form shown again keeps the model that was chosen: only a number
     * that is one of this ask's models is used (model_letter_choices matches
     * it); anything else is ignored here (letter_create_post reports it) and
     * the preselection applies. */
    const char *typed_model = param_raw(r, "model"); /* raw: matched to an id */
    int64_t model = typed_model ? strtoll(typed_model, NULL, 10) : 0;
    int known = typed != NULL;
    r->data = json_build("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "iso3", iso3, "country",
                         country_name_of(r, iso3), "ask", treaty_ask_code(ask), "ask_text",
                         treaty_ask_say(r, &c, ask), "targets", target_list_json(r, iso3), "models",
                         model_letter_choices(r, c.slug, treaty_ask_code(ask), iso3, model),
                         "senders", senders(r), "letter_visibilities",
                         letter_visibility_choices(r, known ? typed : "private"));
    /* The From field starts filled (issue 14): with what was typed when
     * the form comes back, else the member's organisation (the first
     * choice), so the first click does not fail on an empty required field. */
    const char *sender = param_raw(r, "sender"); /* raw: shown again, escaped */
    json_t *choices = json_object_get(r->data, "senders");
    if (!sender || !*sender)
        sender = json_string_value(json_array_get(choices, 0));
    json_object_set_new(r->data, "sender", json_string(sender ? sender : ""));
    AcceptedProcedure accepted[OTHER_PROCEDURES];
    size_t n = treaty_accepted_procedures(&row, accepted);
    json_object_set_new(
        r->data, "other_procedures_text",
        json_string(treaty_procedures_text(r->arena, r->lang ? r->lang : "en", accepted, n)));
    return R_OK;
}

/* The address block: the target's lines, then the country, as a postal
 * address ends (the country alone when no target was chosen). */
static const char *recipient_block(Request *r, int64_t target, const char *iso3)
{
    const char *country = country_name_of(r, iso3);
    const char *block = country ? country : "";
    Stmt *st = db_prepare(r->db, "SELECT name, title, ministry, address FROM targets "
                                 "WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", target);
    db_bind_text(st, ":iso3", iso3);
    if (db_row(st)) {
        Buf b = {0};
        for (int i = 0; i < 4; i++)
            if (*db_text(st, i))
                buf_printf(&b, "%s%s", b.len ? "\n" : "", db_text(st, i));
        if (country && !strstr(b.data ? b.data : "", country))
            buf_printf(&b, "%s%s", b.len ? "\n" : "", country);
        block = arena_strndup(r->arena, b.data ? b.data : "", b.len);
        buf_free(&b);
    }
    db_done(st);
    return block;
}

/* What letter_create_post writes: a new letter (its id comes back in id)
 * and its audit line. */
typedef struct {
    Request *r;
    const char *iso3, *lang, *ask, *sender, *recipient, *subject, *body, *visibility;
    int64_t target, model; /* target 0: none chosen */
    int64_t id;
} LetterAdd;

static Result letter_add_apply(Db *w, void *ctx)
{
    LetterAdd *l = ctx;
    /* The contact must be one of this country's (found by the server
     * fuzzer: an unknown id failed the foreign key with a 500, and another
     * country's would have been stored). */
    if (l->target && !target_in_country(w, l->target, l->iso3))
        return R_BAD_REQUEST;
    Stmt *st = db_prepare(
        w, "INSERT INTO letters (author_id, iso3, target_id, model_id, lang, ask, sender, "
           "recipient, subject, body, visibility, created_at, updated_at) VALUES (:author, "
           ":iso3, :target, :model, :lang, :ask, :sender, :recipient, :subject, :body, :vis, "
           ":now, :now) RETURNING id");
    db_bind_int(st, ":author", l->r->user->id);
    db_bind_text(st, ":iso3", l->iso3);
    if (l->target)
        db_bind_int(st, ":target", l->target);
    else
        db_bind_null(st, ":target");
    db_bind_int(st, ":model", l->model);
    db_bind_text(st, ":lang", l->lang);
    db_bind_text(st, ":ask", l->ask);
    db_bind_text(st, ":sender", l->sender);
    db_bind_text(st, ":recipient", l->recipient);
    db_bind_text(st, ":subject", l->subject);
    db_bind_text(st, ":body", l->body);
    db_bind_text(st, ":vis", l->visibility);
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, &l->id) != R_OK)
        return R_INTERNAL;
    return audit_log(w, l->r->user->id, "letter drafted",
                     arena_printf(l->r->arena, "letter %lld", (long long)l->id), l->iso3);
}

Result letter_create_post(Request *r)
{
    const char *iso3;
    if (param_iso3(r, "country", &iso3) != R_OK || !country_name_of(r, iso3))
        return R_NOT_FOUND;
    int64_t model = 0, target = 0;
    const char *sender = NULL;
    int bad = param_int(r, "model", 1, INT64_MAX, &model) != R_OK;
    bad |= param_optional_int(r, "target", 1, INT64_MAX, 0, &target) != R_OK;
    bad |= param_text(r, "sender", 2, 200, 0, &sender) != R_OK;
    /* Private unless the author chose otherwise: a draft is theirs. */
    int vis = 0;
    bad |= param_optional_enum(r, "visibility", letter_visibilities, 0, &vis) != R_OK;
    /* Only a model for the campaign instrument: another's argues for the
     * wrong treaty. */
    Campaign c = treaty_campaign(r->db);
    Stmt *st = db_prepare(r->db, "SELECT lang, ask, subject, body FROM model_letters "
                                 "WHERE id = :id AND instrument = :instrument");
    db_bind_int(st, ":id", model);
    db_bind_text(st, ":instrument", c.slug);
    const char *lang = NULL, *ask = NULL, *subject = NULL, *body = NULL;
    if (!bad && db_row(st)) {
        lang = arena_strdup(r->arena, db_text(st, 0));
        ask = arena_strdup(r->arena, db_text(st, 1));
        subject = arena_strdup(r->arena, db_text(st, 2));
        body = arena_strdup(r->arena, db_text(st, 3));
    }
    db_done(st);
    if (!bad && !lang)
        bad = param_error(r, "model", N_("Please choose one of the options.")) != R_OK;
    if (bad) {
        letter_new_page(r);
        return R_BAD_REQUEST;
    }
    json_t *fields = model_letter_fields(r, iso3, target, lang, sender, r->user->display_name);
    const char *text = NULL, *err = NULL;
    Result res = model_letter_render(r, body, fields, &text, &err);
    if (res == R_OK)
        res = model_letter_render(r, subject, fields, &subject, &err);
    json_decref(fields);
    if (res != R_OK) {
        r->message = err;
        return R_BAD_REQUEST;
    }
    LetterAdd add = {.r = r,
                     .iso3 = iso3,
                     .lang = lang,
                     .ask = ask,
                     .sender = sender,
                     .recipient = recipient_block(r, target, iso3),
                     .subject = subject,
                     .body = text,
                     .visibility = letter_visibilities[vis],
                     .target = target,
                     .model = model};
    res = db_write(r->db, letter_add_apply, &add);
    if (res == R_BAD_REQUEST) {
        param_error(r, "target", N_("Please choose one of the government contacts listed."));
        letter_new_page(r);
        return R_BAD_REQUEST;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/letters/%lld", (long long)add.id));
}

/* The responses to letter (0: to any letter to iso3) that this user may
 * see, for the letter page, or only the public ones, for the country page. */
static json_t *responses_json(Request *r, int64_t letter, const char *iso3, int public_only)
{
    json_t *list = json_array();
    /* Who recorded a response is its author for the visibility rule. */
    Stmt *st = db_prepare(
        r->db, "SELECT vis.id, vis.received_on, vis.text, vis.class, vis.reasons, "
               "vis.reason_note, vis.visibility, vis.file_name, coalesce(vis.letter_id, 0) "
               "FROM (SELECT *, recorded_by AS author_id FROM responses) vis "
               "WHERE (:letter = 0 OR vis.letter_id = :letter) AND vis.iso3 = :iso3 "
               "AND (vis.visibility = 'public' OR (:public_only = 0 AND " VISIBILITY_SQL "))"
               " ORDER BY vis.received_on DESC, vis.id DESC");
    db_bind_int(st, ":letter", letter);
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":public_only", public_only);
    visibility_bind(st, r->user);
    while (db_row(st)) {
        const char *visibility = db_text(st, 6);
        json_t *why = json_array();
        char list_copy[128];
        snprintf(list_copy, sizeof list_copy, "%s", db_text(st, 4));
        for (char *save = NULL, *w = strtok_r(list_copy, " ", &save); w;
             w = strtok_r(NULL, " ", &save))
            json_array_append_new(
                why, json_string(tr(r, code_label(letter_response_reasons, reason_labels, w))));
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:b, s:I}", "id",
                       (json_int_t)db_int(st, 0), "received_on", db_text(st, 1), "text",
                       db_text(st, 2), "class", db_text(st, 3), "class_label",
                       tr(r, code_label(letter_response_classes, class_labels, db_text(st, 3))),
                       "reasons", why, "reason_note", db_text(st, 5), "visibility", visibility,
                       "file_name", db_text(st, 7), "is_refusal",
                       strcmp(db_text(st, 3), "refusal") == 0, "letter_id",
                       (json_int_t)db_int(st, 8)));
    }
    db_done(st);
    return list;
}

/* A letter's status in people's words (issue 14: the page showed
 * "response_received"). */
static const char *const status_codes[] = {"draft", "sent", "response_received", "no_response",
                                           NULL};
static const char *const status_labels[] = {N_("Draft"), N_("Sent"), N_("Response received"),
                                            N_("Sent, no response yet"), NULL};

/* What may be done with a letter in its state: a draft is written and then
 * sent; once sent its text is what the government received, so it is no
 * longer edited, and the response is recorded; after a reminder
 * (no_response) it may be sent again. */
static int letter_is_draft(const Letter *l)
{
    return strcmp(l->status, "draft") == 0;
}

const char *letter_status_words(Request *r, const char *status)
{
    return tr(r, code_label(status_codes, status_labels, status));
}

const char *letter_class_words(Request *r, const char *class)
{
    return tr(r, code_label(letter_response_classes, class_labels, class));
}

static json_t *letter_json(Request *r, const Letter *l)
{
    int overdue = 0;
    if (!strcmp(l->status, "sent") && l->sent_on[0]) {
        struct tm tm = {0};
        if (sscanf(l->sent_on, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) == 3) {
            tm.tm_year -= 1900;
            tm.tm_mon -= 1;
            overdue = now_seconds() - (int64_t)timegm(&tm) > (int64_t)l->remind_weeks * 7 * 86400;
        }
    }
    json_t *j = json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b}",
                           "id", (json_int_t)l->id, "iso3", l->iso3, "lang", l->lang, "ask", l->ask,
                           "sender", l->sender, "recipient", l->recipient, "subject", l->subject,
                           "body", l->body, "status", l->status, "sent_on", l->sent_on, "sent_via",
                           l->sent_via, "visibility", l->visibility, "remind_weeks",
                           l->remind_weeks, "overdue", overdue);
    if (!r->is_api) {
        const char *country = country_name_of(r, l->iso3);
        json_object_set_new(j, "status_label",
                            json_string(tr(r, code_label(status_codes, status_labels, l->status))));
        json_object_set_new(j, "country_name", json_string(country ? country : l->iso3));
        json_object_set_new(j, "is_draft", json_boolean(letter_is_draft(l)));
        json_object_set_new(
            j, "visibility_label",
            json_string(
                tr(r, code_label(letter_visibilities, letter_visibility_labels, l->visibility))));
        json_object_set_new(j, "sent_on_text", json_string(date_words(r, l->sent_on)));
        json_object_set_new(j, "may_send",
                            json_boolean(letter_is_draft(l) || !strcmp(l->status, "no_response")));
        json_object_set_new(j, "may_answer", json_boolean(!letter_is_draft(l)));
    }
    return j;
}

/* The email version: a mailto: link that opens the member's own mail
 * program with the target's address, the subject and the text. */
static const char *mailto(Request *r, const Letter *l)
{
    Buf b = {0};
    buf_puts(&b, "mailto:");
    Stmt *st = db_prepare(r->db, "SELECT email FROM targets WHERE id = :id");
    db_bind_int(st, ":id", l->target_id);
    if (db_row(st))
        escape_url_component(&b, db_text(st, 0), strlen(db_text(st, 0)));
    db_done(st);
    buf_puts(&b, "?subject=");
    escape_url_component(&b, l->subject, strlen(l->subject));
    buf_puts(&b, "&body=");
    escape_url_component(&b, l->body, strlen(l->body));
    const char *link = arena_strndup(r->arena, b.data, b.len);
    buf_free(&b);
    return link;
}

/* Who read a letter that is not public, other than its author, goes to
 * the audit log before the letter is shown (fail closed, like every read
 * of what people at risk wrote). */
static Result letter_log_read(Request *r, const Letter *l)
{
    if (!strcmp(l->visibility, "public") || (r->user && r->user->id == l->author_id))
        return R_OK;
    return audit_read(r->db, r->user ? r->user->id : 0, "letter", l->id);
}

/* The next step for who may act on the letter, in words, at the top of its
 * page (issue 14: a phone showed a wall of forms, the state and what to do
 * next lost in it); NULL for a reader. */
static const char *next_step(Request *r, const Letter *l, int can_edit)
{
    if (!can_edit)
        return NULL;
    if (letter_is_draft(l))
        return tr(r, "Next: read the letter and edit it if needed, print it or send it by "
                     "email, then record here that it was sent.");
    if (!strcmp(l->status, "response_received"))
        return tr(r, "The government has answered: its response is below. Record any other "
                     "response as it comes.");
    if (!strcmp(l->status, "no_response"))
        return tr(r, "Next: send a reminder and record it here, or record the government's "
                     "response.");
    return tr(r, "Next: when the government answers, record its response here.");
}

/* The values the letter's forms show: the letter's own, or what was typed
 * when a form comes back with errors (nothing typed is lost). */
static json_t *letter_form_values(Request *r, const Letter *l)
{
    json_t *form = json_build("{s:s, s:s, s:s, s:s, s:s, s:i}", "sender", l->sender, "recipient",
                              l->recipient, "subject", l->subject, "body", l->body, "sent_on",
                              l->sent_on, "remind_weeks", l->remind_weeks);
    if (strcmp(r->method, "POST") == 0) {
        json_t *typed = form_typed(r);
        json_object_update(form, typed);
        json_decref(typed);
    }
    return form;
}

/* The choices of the letter's forms: what was chosen when a form comes
 * back with errors stays chosen (the response form's "visibility" is a
 * response's, not the letter's). */
static void letter_form_choices(Request *r, const Letter *l, int can_share)
{
    int post = strcmp(r->method, "POST") == 0;
    size_t len = strlen(r->path);
    int response = post && len >= 10 && !strcmp(r->path + len - 10, "/responses");
    const char *vis = post && !response ? param_filter(r, "visibility", letter_visibilities) : NULL;
    const char *via = post ? param_filter(r, "sent_via", sent_vias) : NULL;
    const char *cls = response ? param_filter(r, "class", letter_response_classes) : NULL;
    const char *shared =
        response ? param_filter(r, "visibility", letter_response_visibilities) : NULL;
    if (can_share)
        json_object_set_new(r->data, "letter_visibilities",
                            letter_visibility_choices(r, vis ? vis : l->visibility));
    json_object_set_new(r->data, "vias",
                        form_options(r, sent_vias, sent_via_labels, via ? via : l->sent_via));
    json_object_set_new(r->data, "classes",
                        form_options(r, letter_response_classes, class_labels, cls));
    json_object_set_new(r->data, "reasons",
                        form_options(r, letter_response_reasons, reason_labels, NULL));
    json_object_set_new(r->data, "visibilities",
                        form_options(r, letter_response_visibilities, response_visibility_labels,
                                     shared ? shared : "country"));
}

/* The data of the letter page and of its editing page, for l, which this
 * user may see (and whose reading is logged). */
static void letter_page_data(Request *r, const Letter *l)
{
    int can_edit = can_edit_letter(r, l), can_share = can_share_letter(r, l);
    json_t *letter = letter_json(r, l);
    json_object_set_new(letter, "country", json_string(country_name_of(r, l->iso3)));
    json_object_set_new(letter, "responses", responses_json(r, l->id, l->iso3, 0));
    json_decref(r->data);
    r->data = json_build("{s:o, s:b, s:b}", "letter", letter, "can_edit", can_edit, "can_share",
                         can_share);
    if (r->is_api)
        return;
    const char *step = next_step(r, l, can_edit);
    if (step)
        json_object_set_new(r->data, "next_step", json_string(step));
    if (!can_edit)
        return;
    /* Only who may edit the letter gets its forms (and sharing comes with
     * editing: an author or an admin). */
    letter_form_choices(r, l, can_share);
    json_object_set_new(r->data, "form", letter_form_values(r, l));
    json_object_set_new(r->data, "mailto", json_string(mailto(r, l)));
}

/* The banner of a form with errors names each field wrong and links to it. */
static void letter_error_summary(Request *r, const FormField *fields)
{
    json_t *summary = form_error_summary(r, fields);
    json_object_set_new(r->data, "has_error_summary", json_boolean(json_array_size(summary) > 0));
    json_object_set_new(r->data, "error_summary", summary);
}

Result letter_page(Request *r)
{
    Letter l;
    Result res = visible_letter(r, &l);
    if (res == R_OK)
        res = letter_log_read(r, &l);
    if (res != R_OK)
        return res;
    letter_page_data(r, &l);
    if (!r->is_api) {
        static const FormField fields[] = {
            {"sent_on", "sent_on", N_("Date")},
            {"sent_via", "sent_via", N_("How")},
            {"remind_weeks", "remind_weeks", N_("Remind me if there is no response after (weeks)")},
            {"visibility", "audience", N_("Who will see this letter")},
            {"received_on", "received_on", N_("Received on")},
            {"class", "class", N_("The answer is")},
            {"reasons", "reasons", N_("For a refusal: the reasons given")},
            {"text", "text", N_("Text of the response")},
            {"file", "file", N_("The letter received (PDF or image)")},
            {NULL, NULL, NULL}};
        letter_error_summary(r, fields);
    }
    r->page = "letter";
    r->title = l.subject;
    return R_OK;
}

/* A sent letter's text is what the government received: the letter page,
 * with the message, instead of its form (409). */
static Result letter_sent_refusal(Request *r)
{
    Result res = letter_page(r);
    if (res != R_OK)
        return res;
    r->message = tr(r, "This letter has been sent, so its text can no longer be changed. "
                       "Write a new letter to say more.");
    r->status = 409; /* the letter page, with the message */
    return R_OK;
}

/* The editing page of a draft that the user may edit (l), with what was
 * typed and r->errors when its form comes back. */
static Result letter_edit_form(Request *r, const Letter *l)
{
    Result res = letter_log_read(r, l);
    if (res != R_OK)
        return res;
    letter_page_data(r, l);
    static const FormField fields[] = {{"sender", "sender", N_("From (on the letterhead)")},
                                       {"recipient", "recipient", N_("To (address block)")},
                                       {"subject", "subject", N_("Subject")},
                                       {"body", "body", N_("Text")},
                                       {"visibility", "audience", N_("Who will see this letter")},
                                       {NULL, NULL, NULL}};
    letter_error_summary(r, fields);
    r->page = "letter_edit";
    r->title = tr(r, "Edit the letter");
    return R_OK;
}

/* GET /letters/{id}/edit: a draft's text in its form, on a page of its own
 * (issue 14: on the letter page the form made a phone's page 3,000 px
 * tall); a plain link and form, without JavaScript. */
Result letter_edit_page(Request *r)
{
    Letter l;
    Result res = letter_editable(r, &l);
    if (res != R_OK)
        return res;
    if (!letter_is_draft(&l))
        return letter_sent_refusal(r);
    return letter_edit_form(r, &l);
}

/* A letter this user may see and then edit (see letter.h). */
Result letter_editable(Request *r, Letter *l)
{
    Result res = visible_letter(r, l);
    if (res != R_OK)
        return res;
    if (!can_edit_letter(r, l)) {
        r->message = tr(r, "Only the letter's author and the country's coordinators can change "
                           "it.");
        return R_FORBIDDEN;
    }
    return R_OK;
}

/* The letter page again, with r->errors as the handler recorded them. */
Result letter_show_again(Request *r)
{
    Result res = letter_page(r);
    return res == R_OK ? R_BAD_REQUEST : res;
}

/* What letter_edit_post writes: the letter's text and audience
 * (R_NOT_FOUND if it is gone). */
typedef struct {
    int64_t id;
    const char *sender, *recipient, *subject, *body, *visibility;
} LetterEdit;

static Result letter_edit_apply(Db *w, void *ctx)
{
    LetterEdit *e = ctx;
    Stmt *st = db_prepare(
        w, "UPDATE letters SET sender = :sender, recipient = :recipient, subject = :subject, "
           "body = :body, visibility = :vis, updated_at = :now WHERE id = :id");
    db_bind_text(st, ":sender", e->sender);
    db_bind_text(st, ":recipient", e->recipient ? e->recipient : "");
    db_bind_text(st, ":subject", e->subject);
    db_bind_text(st, ":body", e->body);
    db_bind_text(st, ":vis", e->visibility);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", e->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) == 1 ? R_OK : R_NOT_FOUND;
}

Result letter_edit_post(Request *r)
{
    Letter l;
    Result res = letter_editable(r, &l);
    if (res != R_OK)
        return res;
    /* The text is what the government received: changing it would make
     * the record say something else than the letter did. */
    if (!letter_is_draft(&l))
        return letter_sent_refusal(r);
    const char *sender, *recipient, *subject, *body;
    int bad = param_text(r, "sender", 2, 200, 0, &sender) != R_OK;
    bad |= param_optional_text(r, "recipient", 1000, 1, &recipient) != R_OK;
    bad |= param_text(r, "subject", 2, 300, 0, &subject) != R_OK;
    bad |= param_text(r, "body", 20, 20000, 1, &body) != R_OK;
    /* Sharing is the author's (or an admin's) to decide: a coordinator's
     * edit keeps the letter's audience. */
    const char *visibility = l.visibility;
    if (can_share_letter(r, &l)) {
        int vis = -1; /* absent: the letter keeps its audience */
        bad |= param_optional_enum(r, "visibility", letter_visibilities, -1, &vis) != R_OK;
        if (vis >= 0)
            visibility = letter_visibilities[vis];
    }
    if (!bad) {
        LetterPdf check = {.lang = l.lang,
                           .org_name = sender,
                           .recipient = recipient,
                           .subject = subject,
                           .body = body,
                           .signature = sender};
        if (pdf_check(&check) != R_OK)
            bad = param_error(r, "body",
                              N_("This text holds characters that cannot be printed, "
                                 "or too much of it.")) != R_OK;
    }
    if (bad) {
        res = letter_edit_form(r, &l);
        return res == R_OK ? R_BAD_REQUEST : res;
    }
    LetterEdit e = {.id = l.id,
                    .sender = sender,
                    .recipient = recipient,
                    .subject = subject,
                    .body = body,
                    .visibility = visibility};
    res = db_write(r->db, letter_edit_apply, &e);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/letters/%lld", (long long)l.id));
}

Result letter_pdf_page(Request *r)
{
    Letter l;
    Result res = visible_letter(r, &l);
    if (res == R_OK)
        res = letter_log_read(r, &l);
    if (res != R_OK)
        return res;
    static const char *const papers[] = {"a4", "letter", NULL};
    const char *paper = param_filter(r, "paper", papers);
    const char *place_date =
        model_letter_date(r, l.sent_on[0] ? l.sent_on : model_letter_today(), l.lang);
    LetterPdf pdf = {
        .paper = paper && !strcmp(paper, "letter") ? PAPER_LETTER : PAPER_A4,
        .lang = l.lang,
        .org_name = l.sender,
        .place_and_date = place_date,
        .recipient = l.recipient,
        .subject = l.subject,
        .body = l.body,
        .signature = l.sender,
    };
    res = pdf_letter(&pdf, &r->body_out);
    if (res == R_BAD_REQUEST || res == R_TOO_LARGE) {
        r->message = tr(r, "This letter holds text that cannot be printed, or too much of it. "
                           "Please edit it and try again.");
        return R_BAD_REQUEST;
    }
    if (res != R_OK)
        return res;
    r->content_type = "application/pdf";
    http_add_header(r, "Content-Disposition",
                    arena_printf(r->arena, "attachment; filename=\"letter-%s-%lld.pdf\"", l.iso3,
                                 (long long)l.id));
    return R_OK;
}

/* What letter_sent_post writes: when and how the letter was sent, when to
 * remind, its audience (R_NOT_FOUND if it is gone), and the audit line. */
typedef struct {
    Request *r;
    int64_t id, weeks;
    const char *date, *via, *visibility;
} LetterSent;

static Result letter_sent_apply(Db *w, void *ctx)
{
    LetterSent *s = ctx;
    Stmt *st = db_prepare(
        w, "UPDATE letters SET status = CASE WHEN status = 'draft' OR status = 'no_response' "
           "THEN 'sent' ELSE status END, sent_on = :date, sent_via = :via, "
           "remind_weeks = :weeks, visibility = :vis, updated_at = :now WHERE id = :id");
    db_bind_text(st, ":date", s->date);
    db_bind_text(st, ":via", s->via);
    db_bind_int(st, ":weeks", s->weeks);
    db_bind_text(st, ":vis", s->visibility);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", s->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, s->r->user->id, "letter sent",
                     arena_printf(s->r->arena, "letter %lld", (long long)s->id), s->via);
}

Result letter_sent_post(Request *r)
{
    Letter l;
    Result res = letter_editable(r, &l);
    if (res != R_OK)
        return res;
    int via = 0;
    int64_t weeks = 8;
    const char *date = NULL;
    int bad = param_enum(r, "sent_via", sent_vias, &via) != R_OK;
    bad |= param_date(r, "sent_on", &date) != R_OK;
    bad |= param_optional_int(r, "remind_weeks", 1, 52, 8, &weeks) != R_OK;
    /* The author (or an admin) says who sees it once sent; a coordinator
     * recording it keeps the author's choice. */
    const char *visibility = l.visibility;
    if (can_share_letter(r, &l)) {
        int vis = 0;
        bad |= param_enum(r, "visibility", letter_visibilities, &vis) != R_OK;
        visibility = letter_visibilities[vis];
    }
    if (bad)
        return letter_show_again(r);
    LetterSent s = {.r = r,
                    .id = l.id,
                    .weeks = weeks,
                    .date = date,
                    .via = sent_vias[via],
                    .visibility = visibility};
    res = db_write(r->db, letter_sent_apply, &s);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/letters/%lld", (long long)l.id));
}

Result letter_response_received(Db *w, int64_t id)
{
    Stmt *st = db_prepare(w, "UPDATE letters SET status = 'response_received', updated_at = :now "
                             "WHERE id = :id");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", id);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* ---- lists ---- */

static json_t *letters_json(Request *r, const char *iso3, int mine)
{
    json_t *list = json_array();
    /* Filtered by the visibility rule in the query, so that the LIMIT
     * counts only letters this user may see. */
    Stmt *st = db_prepare(
        r->db, "SELECT vis.id FROM letters vis WHERE (:iso3 IS NULL OR vis.iso3 = :iso3) "
               "AND (:mine = 0 OR vis.author_id = :me) AND " VISIBILITY_SQL
               " ORDER BY vis.updated_at DESC LIMIT 500");
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":mine", mine);
    db_bind_int(st, ":me", r->user ? r->user->id : 0);
    visibility_bind(st, r->user);
    int64_t ids[500];
    int n = 0;
    while (db_row(st) && n < 500)
        ids[n++] = db_int(st, 0);
    db_done(st);
    for (int i = 0; i < n; i++) {
        Letter l;
        if (load_letter(r, ids[i], &l) != R_OK)
            continue;
        json_t *j = letter_json(r, &l);
        json_object_del(j, "body");
        json_array_append_new(list, j);
    }
    return list;
}

Result letter_list_page(Request *r)
{
    json_decref(r->data);
    r->data = json_build("{s:o}", "letters", letters_json(r, NULL, 1));
    r->page = "letters";
    r->title = tr(r, "Your letters");
    return R_OK;
}

/* GET /api/v1/letters: the letters this caller may see (all of them with a
 * token: an admin's delegation), shaped after OSDI's outreach: subject,
 * message, targets. Filtered in the query. */
Result letter_list_api(Request *r)
{
    json_t *items = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT vis.id, vis.iso3, vis.subject, vis.body, vis.status, "
                          "coalesce(vis.sent_on, ''), coalesce(t.name, ''), coalesce(t.title, ''), "
                          "vis.created_at, vis.ask, vis.lang FROM letters vis "
                          "LEFT JOIN targets t ON t.id = vis.target_id "
                          "WHERE (:token = 1 OR " VISIBILITY_SQL ") ORDER BY vis.id");
    db_bind_int(st, ":token", r->api_scope != NULL);
    visibility_bind(st, r->user);
    while (db_row(st)) {
        const char *iso3 = db_text(st, 1);
        json_array_append_new(
            items, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:I, s:s, s:s}", "id",
                              (json_int_t)db_int(st, 0), "country", iso3, "subject", db_text(st, 2),
                              "message", db_text(st, 3), "status", db_text(st, 4), "sent_on",
                              db_text(st, 5), "targets", "name", db_text(st, 6), "title",
                              db_text(st, 7), "created_at", (json_int_t)db_int(st, 8), "ask",
                              db_text(st, 9), "language", db_text(st, 10)));
    }
    db_done(st);
    r->data = json_build("{s:o}", "items", items);
    return R_OK;
}

/* ---- the overview across countries ---- */

typedef struct {
    char iso3[4];
    int letters, sent, answered, positive, non_committal, refusals;
    char last_sent[11];
    char reasons[128];
} Row;

static int row_find(Row *rows, int n, const char *iso3)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(rows[i].iso3, iso3))
            return i;
    return -1;
}

/* Counts per country of what this user may see in full (their countries
 * for a coordinator, all for an admin). */
static int overview_rows(Request *r, Row *rows, int max)
{
    int n = 0;
    Stmt *st = db_prepare(
        r->db, "SELECT iso3, count(*), sum(CASE WHEN status <> 'draft' THEN 1 ELSE 0 END), "
               "sum(CASE WHEN status = 'response_received' THEN 1 ELSE 0 END), "
               "max(coalesce(sent_on, '')) FROM letters GROUP BY iso3 ORDER BY iso3");
    while (db_row(st) && n < max) {
        if (!auth_covers_country(r->user, db_text(st, 0)))
            continue;
        Row *row = &rows[n++];
        memset(row, 0, sizeof *row);
        snprintf(row->iso3, sizeof row->iso3, "%s", db_text(st, 0));
        row->letters = (int)db_int(st, 1);
        row->sent = (int)db_int(st, 2);
        row->answered = (int)db_int(st, 3);
        snprintf(row->last_sent, sizeof row->last_sent, "%s", db_text(st, 4));
    }
    db_done(st);
    st = db_prepare(r->db, "SELECT iso3, class, reasons FROM responses ORDER BY iso3");
    while (db_row(st)) {
        int i = row_find(rows, n, db_text(st, 0));
        if (i < 0)
            continue;
        const char *c = db_text(st, 1);
        rows[i].positive += !strcmp(c, "positive");
        rows[i].non_committal += !strcmp(c, "non_committal");
        rows[i].refusals += !strcmp(c, "refusal");
        char copy[128];
        snprintf(copy, sizeof copy, "%s", db_text(st, 2));
        for (char *save = NULL, *w = strtok_r(copy, " ", &save); w;
             w = strtok_r(NULL, " ", &save)) {
            size_t used = strlen(rows[i].reasons);
            if (!strstr(rows[i].reasons, w) && used + strlen(w) + 2 < sizeof rows[i].reasons)
                snprintf(rows[i].reasons + used, sizeof rows[i].reasons - used, "%s%s",
                         used ? " " : "", w);
        }
    }
    db_done(st);
    return n;
}

/* Space-separated reason codes as their labels, "; " between (the CSV
 * keeps the codes, for spreadsheets). */
static const char *reasons_in_words(Request *r, const char *codes)
{
    Buf b = {0};
    char copy[128];
    snprintf(copy, sizeof copy, "%s", codes);
    for (char *save = NULL, *w = strtok_r(copy, " ", &save); w; w = strtok_r(NULL, " ", &save))
        buf_printf(&b, "%s%s", b.len ? "; " : "",
                   tr(r, code_label(letter_response_reasons, reason_labels, w)));
    const char *out = arena_strdup(r->arena, b.data ? b.data : "");
    buf_free(&b);
    return out;
}

Result letter_admin_page(Request *r)
{
    Row rows[256];
    int n = overview_rows(r, rows, 256);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            list, json_build("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s}", "iso3",
                             rows[i].iso3, "country", country_name_of(r, rows[i].iso3), "letters",
                             rows[i].letters, "sent", rows[i].sent, "answered", rows[i].answered,
                             "positive", rows[i].positive, "non_committal", rows[i].non_committal,
                             "refusals", rows[i].refusals, "last_sent", rows[i].last_sent,
                             "reasons_text", reasons_in_words(r, rows[i].reasons)));
    json_decref(r->data);
    r->data = json_build("{s:o}", "countries", list);
    r->page = "admin_letters";
    r->title = tr(r, "Letters across countries");
    return R_OK;
}

Result letter_admin_csv_page(Request *r)
{
    Row rows[256];
    int n = overview_rows(r, rows, 256);
    Buf *b = &r->body_out;
    buf_puts(b, "iso3,country,letters,sent,answered,positive,non_committal,refusals,last_sent,"
                "refusal_reasons\r\n");
    for (int i = 0; i < n; i++) {
        const char *name = country_name_of(r, rows[i].iso3);
        escape_csv(b, rows[i].iso3, strlen(rows[i].iso3));
        buf_putc(b, ',');
        escape_csv(b, name, strlen(name));
        buf_printf(b, ",%d,%d,%d,%d,%d,%d,", rows[i].letters, rows[i].sent, rows[i].answered,
                   rows[i].positive, rows[i].non_committal, rows[i].refusals);
        escape_csv(b, rows[i].last_sent, strlen(rows[i].last_sent));
        buf_putc(b, ',');
        escape_csv(b, rows[i].reasons, strlen(rows[i].reasons));
        buf_puts(b, "\r\n");
    }
    r->content_type = "text/csv; charset=utf-8";
    http_add_header(r, "Content-Disposition", "attachment; filename=\"ratify-letters.csv\"");
    return R_OK;
}

/* ---- on the country page ---- */

json_t *letter_country_summary(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT count(*), max(coalesce(sent_on, '')) FROM letters "
                                 "WHERE iso3 = :iso3 AND status <> 'draft'");
    db_bind_text(st, ":iso3", iso3);
    int sent = 0;
    const char *last = "";
    if (db_row(st)) {
        sent = (int)db_int(st, 0);
        last = arena_strdup(r->arena, db_text(st, 1));
    }
    db_done(st);
    int counts[3] = {0, 0, 0};
    st = db_prepare(r->db, "SELECT class, count(*) FROM responses WHERE iso3 = :iso3 GROUP BY 1");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st))
        for (int i = 0; i < 3; i++)
            if (!strcmp(letter_response_classes[i], db_text(st, 0)))
                counts[i] = (int)db_int(st, 1);
    db_done(st);
    /* Counted phrases through the catalogues' plural forms (issue 14: "1
     * letters sent ... 1 refusals"). */
    const char *responses =
        arena_printf(r->arena, "%s, %s, %s", tr_n(r, "%d positive", "%d positive", counts[0]),
                     tr_n(r, "%d non-committal", "%d non-committal", counts[1]),
                     tr_n(r, "%d refusal", "%d refusals", counts[2]));
    return json_build("{s:i, s:s, s:i, s:i, s:i, s:o, s:b, s:s, s:s, s:s}", "sent", sent,
                      "last_sent", last, "positive", counts[0], "non_committal", counts[1],
                      "refusals", counts[2], "public_responses", responses_json(r, 0, iso3, 1),
                      "any", sent + counts[0] + counts[1] + counts[2] > 0, "last_sent_text",
                      date_words(r, last), "sent_text",
                      tr_n(r, "%d letter sent", "%d letters sent", sent), "responses_text",
                      responses);
}

/* ---- reminders ---- */

/* What letter_remind writes for one letter: marked as having had no
 * response, and the reminder to its author, both only if it is still
 * waiting for one when written. */
typedef struct {
    int64_t id;
    const char *email, *subject, *body;
} LetterReminder;

static Result letter_remind_apply(Db *w, void *ctx)
{
    LetterReminder *m = ctx;
    Stmt *st = db_prepare(w, "UPDATE letters SET status = 'no_response' WHERE id = :id "
                             "AND status = 'sent'");
    db_bind_int(st, ":id", m->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_OK; /* answered (or reminded) since it was listed */
    return mail_queue(w, m->email, m->subject, m->body) == R_OK ? R_OK : R_INTERNAL;
}

/* Whether a letter sent on the day sent_on (YYYY-MM-DD) has waited more
 * than its reminder weeks at now. In C, not SQL: date arithmetic is not
 * portable between the engines. */
static int reminder_due(const char *sent_on, int64_t weeks, int64_t now)
{
    struct tm tm = {0};
    const char *end = strptime(sent_on, "%Y-%m-%d", &tm);
    if (!end || *end)
        return 0;
    return (int64_t)timegm(&tm) + weeks * 7 * 86400 < now;
}

Result letter_remind(Db *db, const char *base_url)
{
    /* Sent letters past their reminder with no response: the author is
     * told once, in the language of their profile (else the letter's), and
     * the letter is marked as having had no response. */
    Stmt *st = db_prepare(db, "SELECT l.id, u.email, coalesce(u.lang, l.lang), l.sent_on, "
                              "l.remind_weeks FROM letters l "
                              "JOIN users u ON u.id = l.author_id WHERE l.status = 'sent' "
                              "AND l.sent_on IS NOT NULL ORDER BY l.sent_on");
    int64_t ids[100];
    char emails[100][256], langs[100][8];
    int n = 0;
    int64_t now = now_seconds();
    while (n < 100 && db_row(st)) {
        if (!reminder_due(db_text(st, 3), db_int(st, 4), now))
            continue;
        ids[n] = db_int(st, 0);
        snprintf(emails[n], sizeof emails[n], "%s", db_text(st, 1));
        snprintf(langs[n], sizeof langs[n], "%s", db_text(st, 2));
        n++;
    }
    db_done(st);
    for (int i = 0; i < n; i++) {
        const char *lang = i18n_supported(langs[i]) ? langs[i] : "en";
        char body[1024];
        snprintf(body, sizeof body, "%s\n%s/letters/%lld\n",
                 i18n_gettext(lang, N_("The government has not answered your letter yet. You can "
                                       "record a reminder letter or a response, or ask the "
                                       "coalition for help:")),
                 base_url ? base_url : "", (long long)ids[i]);
        LetterReminder m = {.id = ids[i],
                            .email = emails[i],
                            .subject = i18n_gettext(lang, N_("No response to your letter yet")),
                            .body = body};
        /* One transaction per letter: a failure keeps the ones before. */
        if (db_write(db, letter_remind_apply, &m) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* ---- seeding ---- */

/* main.c seeds the letters through this name; the models are
 * model_letter.c's. */
Result letter_seed(Db *db)
{
    return model_letter_seed(db);
}
