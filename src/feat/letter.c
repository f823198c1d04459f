/*
 * letter.c: letters to governments: government targets per country, model
 * letters (templates in the pages' own safe language, seeded from
 * data/model-letters/), writing a letter from a model with the country's
 * ask, the printable PDF and the email version, recording it sent, the
 * government's response (with a file), asking the coalition for help with
 * a refusal, and the overview across countries.
 *
 * Invariants: every letter and response is read or changed only after
 * auth_can_see allowed it (visible_letter, visible_response), on pages,
 * files, exports, lists and the API alike, before any right to edit is
 * looked at: what a user may not see is a 404. Who sees a letter is its
 * author's choice (drafts are private until shared). Uploaded files
 * are only ever served as attachments of a whitelisted type; a model letter
 * renders as plain text (template_render_text), never as markup.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feat/handlers.h"
#include "base/assets.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/http.h"
#include "base/i18n.h"
#include "feat/letter.h"
#include "svc/mail.h"
#include "feat/member.h"
#include "base/pdf.h"
#include "base/template.h"
#include "feat/treaty.h"

enum { FILE_MAX = 900 * 1024 }; /* under the 1 MiB body limit, with the form around it */

static const char *const target_kinds[] = {"ministry",       "official",         "committee",
                                           "mission_geneva", "mission_new_york", NULL};
static const char *const target_kind_labels[] = {N_("Ministry"),
                                                 N_("Official"),
                                                 N_("Parliamentary committee"),
                                                 N_("Permanent mission in Geneva"),
                                                 N_("Permanent mission in New York"),
                                                 NULL};
static const char *const sent_vias[] = {"post", "email", "hand", "fax", "other", NULL};
static const char *const sent_via_labels[] = {N_("By post"), N_("By email"),    N_("By hand"),
                                              N_("By fax"),  N_("Another way"), NULL};
static const char *const classes[] = {"positive", "non_committal", "refusal", NULL};
static const char *const class_labels[] = {N_("Positive"), N_("Non-committal"), N_("Refusal"),
                                           NULL};
static const char *const reasons[] = {"cost",         "justiciability", "sovereignty",
                                      "domestic_law", "other",          NULL};
static const char *const reason_labels[] = {
    N_("Cost"),        N_("Economic, social and cultural rights are not justiciable"),
    N_("Sovereignty"), N_("Already covered by domestic law"),
    N_("Other"),       NULL};
static const char *const response_visibilities[] = {"country", "members", "public", NULL};
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

static const char *country_name(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(
        r->db, "SELECT CASE :lang WHEN 'es' THEN name_es WHEN 'fr' THEN name_fr "
               "WHEN 'ar' THEN name_ar ELSE name_en END FROM countries WHERE iso3 = :iso3");
    db_bind_text(st, ":lang", r->lang);
    db_bind_text(st, ":iso3", iso3);
    const char *name = db_row(st) ? arena_strdup(r->arena, db_text(st, 0)) : NULL;
    db_done(st);
    return name;
}

/* ---- model letters: seeding ---- */

/* Parses "key: value" lines up to "---", then the body. */
static int parse_model(const char *text, char fields[5][512], const char **body)
{
    static const char *const keys[] = {"slug", "ask", "lang", "title", "subject"};
    for (int i = 0; i < 5; i++)
        fields[i][0] = 0;
    const char *p = text;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n == 3 && strncmp(p, "---", 3) == 0) {
            *body = end ? end + 1 : p + n;
            for (int i = 0; i < 5; i++)
                if (!fields[i][0])
                    return -1;
            return 0;
        }
        for (int i = 0; i < 5; i++) {
            size_t k = strlen(keys[i]);
            if (n > k + 2 && strncmp(p, keys[i], k) == 0 && p[k] == ':')
                snprintf(fields[i], 512, "%.*s", (int)(n - k - 2), p + k + 2);
        }
        if (!end)
            break;
        p = end + 1;
    }
    return -1;
}

/* Writes every embedded model letter, or nothing if one is malformed. */
static Result model_letters_seed_apply(Db *w, void *unused)
{
    (void)unused;
    for (const Asset *a = assets; a->path; a++) {
        size_t n = strlen(a->path);
        if (strncmp(a->path, "data/model-letters/", 19) != 0 || n < 4 ||
            strcmp(a->path + n - 4, ".txt") != 0)
            continue;
        char f[5][512];
        const char *body;
        if (parse_model((const char *)a->data, f, &body) != 0) {
            fprintf(stderr, "ratify: %s: bad model letter header\n", a->path);
            return R_INTERNAL;
        }
        Stmt *st = db_prepare(w, "INSERT INTO model_letters (slug, lang, ask, title, subject, "
                                 "body, updated_at) VALUES (:slug, :lang, :ask, :title, :subject, "
                                 ":body, 0)");
        db_bind_text(st, ":slug", f[0]);
        db_bind_text(st, ":ask", f[1]);
        db_bind_text(st, ":lang", f[2]);
        db_bind_text(st, ":title", f[3]);
        db_bind_text(st, ":subject", f[4]);
        db_bind_text(st, ":body", body);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

Result letter_seed(Db *db)
{
    Stmt *st = db_prepare(db, "SELECT count(*) FROM model_letters");
    int64_t have = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    if (have)
        return R_OK;
    return db_write(db, model_letters_seed_apply, NULL);
}

/* ---- merge fields ---- */

static const char *long_date(Request *r, const char *iso, const char *lang)
{
    static const char *const en[] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};
    static const char *const es[] = {"enero",      "febrero", "marzo",     "abril",
                                     "mayo",       "junio",   "julio",     "agosto",
                                     "septiembre", "octubre", "noviembre", "diciembre"};
    static const char *const fr[] = {"janvier",   "février", "mars",     "avril",
                                     "mai",       "juin",    "juillet",  "août",
                                     "septembre", "octobre", "novembre", "décembre"};
    static const char *const pt[] = {"janeiro",  "fevereiro", "março",    "abril",
                                     "maio",     "junho",     "julho",    "agosto",
                                     "setembro", "outubro",   "novembro", "dezembro"};
    int y, m, d;
    if (!iso || sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12)
        return "";
    if (!strcmp(lang, "es"))
        return arena_printf(r->arena, "%d de %s de %d", d, es[m - 1], y);
    if (!strcmp(lang, "fr"))
        return arena_printf(r->arena, "%d %s %d", d, fr[m - 1], y);
    if (!strcmp(lang, "pt"))
        return arena_printf(r->arena, "%d de %s de %d", d, pt[m - 1], y);
    return arena_printf(r->arena, "%d %s %d", d, en[m - 1], y);
}

static const char *today(void)
{
    static _Thread_local char buf[11];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

static int parties_count(Db *db)
{
    /* Parties now: each country's actions under the Protocol, folded. */
    Stmt *st;
    st = db_prepare(db, "SELECT iso3, kind, article, action_date FROM treaty_actions "
                        "WHERE instrument_id = :i ORDER BY iso3, action_date, id");
    db_bind_int(st, ":i", INSTRUMENT_PROTOCOL);
    int parties = 0;
    char current[4] = "";
    Standing s = {0};
    while (db_row(st)) {
        if (strcmp(current, db_text(st, 0)) != 0) {
            parties += s.status == STATUS_PARTY;
            memset(&s, 0, sizeof s);
            snprintf(current, sizeof current, "%s", db_text(st, 0));
        }
        treaty_apply_action(&s, db_text(st, 1), db_text(st, 2), db_text(st, 3));
    }
    parties += s.status == STATUS_PARTY;
    db_done(st);
    return parties;
}

/* Who "Dear ..." addresses when no target was chosen, in the letter's
 * language. */
static const char *default_addressee(const char *lang)
{
    /* Each reads right after the model letters' own salutation:
     * "Estimado/a señor/a:", "Excelentíssimo(a) Senhor(a) Ministro(a),". */
    if (!strcmp(lang, "es"))
        return "señor/a";
    if (!strcmp(lang, "fr"))
        return "Madame, Monsieur";
    if (!strcmp(lang, "pt"))
        return "Ministro(a)";
    return "Sir or Madam";
}

/* The merge fields of a letter to iso3 for target (0: none). */
static json_t *merge_fields(Request *r, const char *iso3, int64_t target, const char *lang,
                            const char *organisation, const char *sender_name)
{
    Standing protocol = treaty_standing(r->db, INSTRUMENT_PROTOCOL, iso3);
    int years = 0;
    if (protocol.signature_date[0]) {
        int y = atoi(protocol.signature_date);
        years = atoi(today()) - y;
    }
    json_t *f =
        json_build("{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s}", "country",
                   country_name(r, iso3) ? country_name(r, iso3) : iso3, "organisation",
                   organisation ? organisation : "", "sender_name", sender_name ? sender_name : "",
                   "signature_date", long_date(r, protocol.signature_date, lang), "date",
                   long_date(r, today(), lang), "years_since_signature", years, "parties_count",
                   parties_count(r->db), "target_name", default_addressee(lang), "target_title", "",
                   "target_ministry", "");
    if (target) {
        Stmt *st = db_prepare(
            r->db, "SELECT name, title, ministry FROM targets WHERE id = :id AND iso3 = :iso3");
        db_bind_int(st, ":id", target);
        db_bind_text(st, ":iso3", iso3);
        if (db_row(st)) {
            json_object_set_new(f, "target_name", json_string(db_text(st, 0)));
            json_object_set_new(f, "target_title", json_string(db_text(st, 1)));
            json_object_set_new(f, "target_ministry", json_string(db_text(st, 2)));
        }
        db_done(st);
    }
    return f;
}

/* Renders a model letter's text with the fields; R_BAD_REQUEST if the
 * template does not compile (the message goes to *err, in the arena). */
static Result render_model(Request *r, const char *text, json_t *fields, const char **out,
                           const char **err)
{
    char *message = NULL;
    Template *t = template_compile("model letter", text, strlen(text), &message);
    if (!t) {
        *err = arena_strdup(r->arena, message ? message : "");
        free(message);
        return R_BAD_REQUEST;
    }
    Buf b = {0};
    int rc = template_render_text(t, fields, &b);
    template_free(t);
    if (rc != 0) {
        buf_free(&b);
        *err = tr(r, "A model letter may only use the merge fields.");
        return R_BAD_REQUEST;
    }
    *out = arena_strndup(r->arena, b.data ? b.data : "", b.len);
    buf_free(&b);
    return R_OK;
}

/* ---- who sees a letter ---- */

typedef struct {
    int64_t id, author_id, target_id, model_id;
    const char *iso3, *lang, *ask, *sender, *recipient, *subject, *body, *status, *sent_on,
        *sent_via, *visibility;
    int remind_weeks;
    int64_t created_at;
} Letter;

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
    return auth_can_see(r->user, l->visibility, l->iso3, l->author_id);
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

/* ---- targets ---- */

static json_t *targets_json(Request *r, const char *iso3)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT id, kind, name, title, ministry, address, email, language, source_url, "
               "last_verified FROM targets WHERE iso3 = :iso3 ORDER BY kind, name");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                             (json_int_t)db_int(st, 0), "kind", db_text(st, 1), "kind_label",
                             tr(r, code_label(target_kinds, target_kind_labels, db_text(st, 1))),
                             "name", db_text(st, 2), "title", db_text(st, 3), "ministry",
                             db_text(st, 4), "address", db_text(st, 5), "email", db_text(st, 6),
                             "language", db_text(st, 7), "source_url", db_text(st, 8),
                             "last_verified", db_text(st, 9)));
    db_done(st);
    return list;
}

/* Open corrections members proposed, for the country's coordinators. */
static json_t *corrections_json(Request *r, const char *iso3)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT c.id, c.target_id, t.name, c.text FROM target_corrections c "
               "JOIN targets t ON t.id = c.target_id WHERE t.iso3 = :iso3 AND c.status = 'open' "
               "ORDER BY c.id");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st))
        json_array_append_new(list,
                              json_build("{s:I, s:I, s:s, s:s}", "id", (json_int_t)db_int(st, 0),
                                         "target_id", (json_int_t)db_int(st, 1), "target",
                                         db_text(st, 2), "text", db_text(st, 3)));
    db_done(st);
    return list;
}

static Result country_param(Request *r, const char **iso3)
{
    *iso3 = param_raw(r, "iso3");
    if (!valid_iso3(*iso3) || !country_name(r, *iso3))
        return R_NOT_FOUND;
    return R_OK;
}

Result targets_page(Request *r)
{
    const char *iso3;
    if (country_param(r, &iso3) != R_OK)
        return R_NOT_FOUND;
    int can_edit = auth_covers_country(r->user, iso3);
    json_decref(r->data);
    r->data =
        json_build("{s:s, s:s, s:o, s:b, s:o}", "iso3", iso3, "country", country_name(r, iso3),
                   "targets", targets_json(r, iso3), "can_edit", can_edit, "kinds",
                   form_options(r, target_kinds, target_kind_labels, NULL));
    if (can_edit)
        json_object_set_new(r->data, "corrections", corrections_json(r, iso3));
    r->page = "targets";
    r->title = tr(r, "Who to write to");
    return R_OK;
}

static int is_link(const char *s)
{
    return !s || !*s || !strncmp(s, "https://", 8) || !strncmp(s, "http://", 7);
}

static int valid_date_text(const char *s)
{
    int y, m, d;
    char tail;
    return s && strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) == 3 &&
           y >= 1945 && y <= 2100 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/* What target_post writes: one target and its audit line. */
typedef struct {
    Request *r;
    const char *iso3, *kind, *name, *title, *ministry, *address, *email, *language, *source,
        *verified;
} TargetAdd;

static Result target_add_apply(Db *w, void *ctx)
{
    TargetAdd *t = ctx;
    Stmt *st = db_prepare(
        w, "INSERT INTO targets (iso3, kind, name, title, ministry, address, email, language, "
           "source_url, last_verified, updated_by, updated_at) VALUES (:iso3, :kind, :name, "
           ":title, :ministry, :address, :email, :language, :source, :verified, :user, :now)");
    db_bind_text(st, ":iso3", t->iso3);
    db_bind_text(st, ":kind", t->kind);
    db_bind_text(st, ":name", t->name);
    db_bind_text(st, ":title", t->title ? t->title : "");
    db_bind_text(st, ":ministry", t->ministry ? t->ministry : "");
    db_bind_text(st, ":address", t->address ? t->address : "");
    db_bind_text(st, ":email", t->email ? t->email : "");
    db_bind_text(st, ":language", t->language ? t->language : "");
    db_bind_text(st, ":source", t->source ? t->source : "");
    db_bind_text(st, ":verified", t->verified ? t->verified : "");
    db_bind_int(st, ":user", t->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, t->r->user->id, "target added",
                     arena_printf(t->r->arena, "country %s", t->iso3), t->kind);
}

Result target_post(Request *r)
{
    const char *iso3;
    if (country_param(r, &iso3) != R_OK)
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, iso3)) {
        r->message = tr(r, "Only the coordinators of this country and the administrators can "
                           "change its record.");
        return R_FORBIDDEN;
    }
    int kind = 0;
    const char *name, *title, *ministry, *address, *email, *language, *source, *verified;
    int bad = param_enum(r, "kind", target_kinds, &kind) != R_OK;
    bad |= param_text(r, "name", 2, 200, 0, &name) != R_OK;
    bad |= param_optional_text(r, "title", 200, 0, &title) != R_OK;
    bad |= param_optional_text(r, "ministry", 200, 0, &ministry) != R_OK;
    bad |= param_optional_text(r, "address", 1000, 1, &address) != R_OK;
    bad |= param_optional_text(r, "email", 254, 0, &email) != R_OK;
    if (email && *email && !valid_email(email))
        bad |= param_error(r, "email", N_("Please enter a valid email address.")) != R_OK;
    bad |= param_optional_text(r, "language", 8, 0, &language) != R_OK;
    bad |= param_optional_text(r, "source_url", 2000, 0, &source) != R_OK;
    if (!is_link(source))
        bad |= param_error(r, "source_url", N_("A source must be a web address (https://...).")) !=
               R_OK;
    bad |= param_optional_text(r, "last_verified", 10, 0, &verified) != R_OK;
    if (verified && *verified && !valid_date_text(verified))
        bad |= param_error(r, "last_verified", N_("Please enter a date as YYYY-MM-DD.")) != R_OK;
    if (bad) {
        targets_page(r);
        return R_BAD_REQUEST;
    }
    TargetAdd t = {.r = r,
                   .iso3 = iso3,
                   .kind = target_kinds[kind],
                   .name = name,
                   .title = title,
                   .ministry = ministry,
                   .address = address,
                   .email = email,
                   .language = language,
                   .source = source,
                   .verified = verified};
    if (db_write(r->db, target_add_apply, &t) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/targets", iso3));
}

/* What target_correction_post writes: a correction proposed for a target
 * of this country (R_NOT_FOUND when there is no such target), and its audit
 * line. */
typedef struct {
    Request *r;
    const char *iso3, *text;
    int64_t target;
} TargetCorrectionAdd;

static Result target_correction_add_apply(Db *w, void *ctx)
{
    TargetCorrectionAdd *c = ctx;
    Stmt *st =
        db_prepare(w, "INSERT INTO target_corrections (target_id, proposed_by, text, created_at) "
                      "SELECT id, :user, :text, :now FROM targets WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":user", c->r->user->id);
    db_bind_text(st, ":text", c->text);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", c->target);
    db_bind_text(st, ":iso3", c->iso3);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, c->r->user->id, "target correction proposed",
                     arena_printf(c->r->arena, "target %lld", (long long)c->target), "");
}

Result target_correction_post(Request *r)
{
    const char *iso3;
    int64_t id;
    if (country_param(r, &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    const char *text;
    if (param_text(r, "correction", 5, 2000, 1, &text) != R_OK) {
        targets_page(r);
        return R_BAD_REQUEST;
    }
    TargetCorrectionAdd c = {.r = r, .iso3 = iso3, .text = text, .target = id};
    Result res = db_write(r->db, target_correction_add_apply, &c);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/targets", iso3));
}

/* ---- writing a letter ---- */

/* The model letters for an ask, in lang first, then English. */
static json_t *models_for(Request *r, const char *ask, const char *selected_slug)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT id, slug, lang, title FROM model_letters WHERE ask = :ask "
                                 "ORDER BY lang = :lang DESC, lang = 'en' DESC, lang");
    db_bind_text(st, ":ask", ask);
    db_bind_text(st, ":lang", r->lang);
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:b}", "id", (json_int_t)db_int(st, 0), "slug",
                             db_text(st, 1), "lang", db_text(st, 2), "title", db_text(st, 3),
                             "selected", selected_slug && !strcmp(selected_slug, db_text(st, 1))));
    db_done(st);
    return list;
}

static Ask country_ask(Request *r, const char *iso3)
{
    Standing protocol = treaty_standing(r->db, INSTRUMENT_PROTOCOL, iso3);
    Standing covenant = treaty_standing(r->db, INSTRUMENT_COVENANT, iso3);
    return treaty_ask(&protocol, &covenant, "10 11");
}

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

Result letter_new_page(Request *r)
{
    const char *iso3 = param_raw(r, "country");
    if (!iso3 && r->user->home_iso3)
        iso3 = r->user->home_iso3;
    json_decref(r->data);
    r->page = "letter_new";
    r->title = tr(r, "Write a letter");
    if (!iso3 || !valid_iso3(iso3) || !country_name(r, iso3)) {
        r->data = json_build("{s:b}", "choose_country", 1);
        json_object_set_new(r->data, "countries", json_array());
        Stmt *st = db_prepare(
            r->db, "SELECT iso3, CASE :lang WHEN 'es' THEN name_es WHEN 'fr' THEN name_fr "
                   "WHEN 'ar' THEN name_ar ELSE name_en END AS n FROM countries "
                   "WHERE un_status <> 'other' ORDER BY n");
        db_bind_text(st, ":lang", r->lang);
        while (db_row(st))
            json_array_append_new(
                json_object_get(r->data, "countries"),
                json_build("{s:s, s:s}", "code", db_text(st, 0), "label", db_text(st, 1)));
        db_done(st);
        return R_OK;
    }
    Ask ask = country_ask(r, iso3);
    const char *typed = param_raw(r, "visibility");
    int known = typed && code_label(letter_visibilities, letter_visibility_labels, typed) != typed;
    r->data = json_build(
        "{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "iso3", iso3, "country", country_name(r, iso3),
        "ask", treaty_ask_code(ask), "ask_text", tr(r, treaty_ask_text(ask)), "targets",
        targets_json(r, iso3), "models", models_for(r, treaty_ask_code(ask), NULL), "senders",
        senders(r), "letter_visibilities", letter_visibility_choices(r, known ? typed : "private"));
    return R_OK;
}

/* The address block: the target's lines, then the country, as a postal
 * address ends (the country alone when no target was chosen). */
static const char *recipient_block(Request *r, int64_t target, const char *iso3)
{
    const char *country = country_name(r, iso3);
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
    const char *iso3 = param_raw(r, "country");
    if (!valid_iso3(iso3) || !country_name(r, iso3))
        return R_NOT_FOUND;
    int64_t model = 0, target = 0;
    const char *sender = NULL;
    int bad = param_int(r, "model", 1, INT64_MAX, &model) != R_OK;
    if (param_raw(r, "target") && *param_raw(r, "target"))
        bad |= param_int(r, "target", 1, INT64_MAX, &target) != R_OK;
    bad |= param_text(r, "sender", 2, 200, 0, &sender) != R_OK;
    /* Private unless the author chose otherwise: a draft is theirs. */
    int vis = 0;
    if (param_raw(r, "visibility"))
        bad |= param_enum(r, "visibility", letter_visibilities, &vis) != R_OK;
    Stmt *st =
        db_prepare(r->db, "SELECT lang, ask, subject, body FROM model_letters WHERE id = :id");
    db_bind_int(st, ":id", model);
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
    json_t *fields = merge_fields(r, iso3, target, lang, sender, r->user->display_name);
    const char *text = NULL, *err = NULL;
    Result res = render_model(r, body, fields, &text, &err);
    if (res == R_OK)
        res = render_model(r, subject, fields, &subject, &err);
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
    if (db_write(r->db, letter_add_apply, &add) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/letters/%lld", (long long)add.id));
}

static json_t *responses_json(Request *r, int64_t letter, const char *iso3, int public_only)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT id, received_on, text, class, reasons, reason_note, visibility, "
               "file_name, coalesce(recorded_by, 0), coalesce(letter_id, 0) FROM responses "
               "WHERE (:letter = 0 OR letter_id = :letter) AND iso3 = :iso3 "
               "ORDER BY received_on DESC, id DESC");
    db_bind_int(st, ":letter", letter);
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st)) {
        const char *visibility = db_text(st, 6);
        if (public_only ? strcmp(visibility, "public") != 0
                        : !auth_can_see(r->user, visibility, iso3, db_int(st, 8)))
            continue;
        json_t *why = json_array();
        char list_copy[128];
        snprintf(list_copy, sizeof list_copy, "%s", db_text(st, 4));
        for (char *save = NULL, *w = strtok_r(list_copy, " ", &save); w;
             w = strtok_r(NULL, " ", &save))
            json_array_append_new(why, json_string(tr(r, code_label(reasons, reason_labels, w))));
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:b, s:I}", "id",
                       (json_int_t)db_int(st, 0), "received_on", db_text(st, 1), "text",
                       db_text(st, 2), "class", db_text(st, 3), "class_label",
                       tr(r, code_label(classes, class_labels, db_text(st, 3))), "reasons", why,
                       "reason_note", db_text(st, 5), "visibility", visibility, "file_name",
                       db_text(st, 7), "is_refusal", strcmp(db_text(st, 3), "refusal") == 0,
                       "letter_id", (json_int_t)db_int(st, 9)));
    }
    db_done(st);
    return list;
}

static json_t *letter_json(const Letter *l)
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
    return json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:b}",
                      "id", (json_int_t)l->id, "iso3", l->iso3, "lang", l->lang, "ask", l->ask,
                      "sender", l->sender, "recipient", l->recipient, "subject", l->subject, "body",
                      l->body, "status", l->status, "sent_on", l->sent_on, "sent_via", l->sent_via,
                      "visibility", l->visibility, "remind_weeks", l->remind_weeks, "overdue",
                      overdue);
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

Result letter_page(Request *r)
{
    Letter l;
    Result res = visible_letter(r, &l);
    if (res != R_OK)
        return res;
    json_t *letter = letter_json(&l);
    json_object_set_new(letter, "country", json_string(country_name(r, l.iso3)));
    json_object_set_new(letter, "responses", responses_json(r, l.id, l.iso3, 0));
    json_decref(r->data);
    r->data = json_build("{s:o, s:b, s:b}", "letter", letter, "can_edit", can_edit_letter(r, &l),
                         "can_share", can_share_letter(r, &l));
    if (can_share_letter(r, &l) && !r->is_api)
        json_object_set_new(r->data, "letter_visibilities",
                            letter_visibility_choices(r, l.visibility));
    if (can_edit_letter(r, &l) && !r->is_api) {
        json_object_set_new(r->data, "vias",
                            form_options(r, sent_vias, sent_via_labels, l.sent_via));
        json_object_set_new(r->data, "classes", form_options(r, classes, class_labels, NULL));
        json_object_set_new(r->data, "reasons", form_options(r, reasons, reason_labels, NULL));
        json_object_set_new(
            r->data, "visibilities",
            form_options(r, response_visibilities, response_visibility_labels, "country"));
        json_object_set_new(r->data, "mailto", json_string(mailto(r, &l)));
    }
    r->page = "letter";
    r->title = l.subject;
    return R_OK;
}

static Result editable_letter(Request *r, Letter *l)
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
static Result show_again(Request *r)
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
    Result res = editable_letter(r, &l);
    if (res != R_OK)
        return res;
    const char *sender, *recipient, *subject, *body;
    int bad = param_text(r, "sender", 2, 200, 0, &sender) != R_OK;
    bad |= param_optional_text(r, "recipient", 1000, 1, &recipient) != R_OK;
    bad |= param_text(r, "subject", 2, 300, 0, &subject) != R_OK;
    bad |= param_text(r, "body", 20, 20000, 1, &body) != R_OK;
    /* Sharing is the author's (or an admin's) to decide: a coordinator's
     * edit keeps the letter's audience. */
    const char *visibility = l.visibility;
    if (param_raw(r, "visibility") && can_share_letter(r, &l)) {
        int vis = 0;
        bad |= param_enum(r, "visibility", letter_visibilities, &vis) != R_OK;
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
    if (bad)
        return show_again(r);
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
    if (res != R_OK)
        return res;
    const char *paper = param_raw(r, "paper");
    const char *place_date = long_date(r, l.sent_on[0] ? l.sent_on : today(), l.lang);
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
    Result res = editable_letter(r, &l);
    if (res != R_OK)
        return res;
    int via = 0;
    int64_t weeks = 8;
    const char *date = param_raw(r, "sent_on");
    int bad = param_enum(r, "sent_via", sent_vias, &via) != R_OK;
    if (!valid_date_text(date))
        bad |= param_error(r, "sent_on", N_("Please enter a date as YYYY-MM-DD.")) != R_OK;
    if (param_raw(r, "remind_weeks") && *param_raw(r, "remind_weeks"))
        bad |= param_int(r, "remind_weeks", 1, 52, &weeks) != R_OK;
    /* The author (or an admin) says who sees it once sent; a coordinator
     * recording it keeps the author's choice. */
    const char *visibility = l.visibility;
    if (can_share_letter(r, &l)) {
        int vis = 0;
        bad |= param_enum(r, "visibility", letter_visibilities, &vis) != R_OK;
        visibility = letter_visibilities[vis];
    }
    if (bad)
        return show_again(r);
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

/* ---- responses ---- */

/* The type of an uploaded file, from its first bytes, never from what the
 * browser claims: only PDF, PNG and JPEG are kept. */
static const char *sniff_type(const char *data, size_t len)
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
    Stmt *st = db_prepare(
        w, "SELECT DISTINCT p.email FROM memberships m JOIN people p ON p.id = m.person_id "
           "WHERE m.status = 'active' AND m.iso3 = :iso3 "
           "AND coalesce(p.user_id, 0) <> :me");
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":me", r->user->id);
    Result res = R_OK;
    char *body = arena_printf(
        r->arena, "%s\n\n%s\n",
        tr(r, "A government response to a letter about the Optional Protocol was shared with the "
              "members of your country's coalition. Read it here (log in first):"),
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

/* What response_post writes: the response (with its file, if any), the
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
    Stmt *st = db_prepare(w, "UPDATE letters SET status = 'response_received', updated_at = :now "
                             "WHERE id = :id");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", a->letter->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (audit_log(w, a->r->user->id, "response recorded",
                  arena_printf(a->r->arena, "response %lld", (long long)id),
                  arena_printf(a->r->arena, "%s %s", a->class, a->visibility)) != R_OK)
        return R_INTERNAL;
    return notify_members(w, a->r, a->letter->iso3, a->visibility, a->letter->id);
}

Result response_post(Request *r)
{
    Letter l;
    Result res = editable_letter(r, &l);
    if (res != R_OK)
        return res;
    int class = 0, vis = 0;
    const char *received = param_raw(r, "received_on"), *text = NULL, *note = NULL;
    int bad = param_enum(r, "class", classes, &class) != R_OK;
    if (!valid_date_text(received))
        bad |= param_error(r, "received_on", N_("Please enter a date as YYYY-MM-DD.")) != R_OK;
    bad |= param_optional_text(r, "text", 20000, 1, &text) != R_OK;
    bad |= param_optional_text(r, "reason_note", 2000, 1, &note) != R_OK;
    bad |= param_enum(r, "visibility", response_visibilities, &vis) != R_OK;
    /* Reasons: only for a refusal, only from the list. */
    Buf why = {0};
    for (size_t i = 0; i < r->form.count; i++) {
        if (strcmp(r->form.items[i].name, "reasons") != 0)
            continue;
        int known = 0;
        for (int k = 0; reasons[k]; k++)
            known |= strcmp(reasons[k], r->form.items[i].value) == 0;
        if (!known)
            bad |= param_error(r, "reasons", N_("Please choose one of the options.")) != R_OK;
        else if (!strstr(why.data ? why.data : "", r->form.items[i].value))
            buf_printf(&why, "%s%s", why.len ? " " : "", r->form.items[i].value);
    }
    const char *why_text = arena_strdup(r->arena, why.data ? why.data : "");
    buf_free(&why);
    if (!strcmp(classes[class], "refusal") && !*why_text && !bad)
        bad |= param_error(r, "reasons", N_("Please give at least one reason for the refusal.")) !=
               R_OK;
    const Param *file = form_get(&r->form, "file");
    const char *type = NULL;
    if (file && file->len) {
        type = sniff_type(file->value, file->len);
        if (!type)
            bad |= param_error(r, "file", N_("The file must be a PDF, PNG or JPEG.")) != R_OK;
        else if (file->len > FILE_MAX)
            bad |= param_error(r, "file", N_("The file is too large.")) != R_OK;
    }
    if (bad)
        return show_again(r);
    ResponseAdd a = {.r = r,
                     .letter = &l,
                     .received = received,
                     .text = text ? text : "",
                     .class = classes[class],
                     .reasons = strcmp(classes[class], "refusal") == 0 ? why_text : "",
                     .note = note ? note : "",
                     .visibility = response_visibilities[vis]};
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
static Result visible_response(Request *r, int64_t *id, char iso3[4], int64_t *recorder,
                               int64_t *letter)
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
        if (auth_can_see(r->user, db_text(st, 1), iso3, *recorder))
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
    if (visible_response(r, &id, iso3, &recorder, &letter) != R_OK)
        return R_NOT_FOUND;
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

/* ---- help with a refusal: the first kind of assistance request ---- */

/* What response_help_post writes: a request for help with the reply to a
 * response, which must be a refusal when it is written (R_CONFLICT
 * otherwise), and its audit line. */
typedef struct {
    Request *r;
    const char *iso3, *subject, *details;
    int64_t response;
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
    Result res = refusal_check(w, a->response);
    if (res != R_OK)
        return res;
    int64_t now = now_seconds(), id;
    Stmt *st = db_prepare(
        w, "INSERT INTO assistance_requests (kind, iso3, requester_id, response_id, subject, "
           "details, created_at, updated_at) VALUES ('refusal_reply', :iso3, :user, :response, "
           ":subject, :details, :now, :now) RETURNING id");
    db_bind_text(st, ":iso3", a->iso3);
    db_bind_int(st, ":user", a->r->user->id);
    db_bind_int(st, ":response", a->response);
    db_bind_text(st, ":subject", a->subject);
    db_bind_text(st, ":details", a->details);
    db_bind_int(st, ":now", now);
    if (db_insert(st, &id) != R_OK)
        return R_INTERNAL;
    return audit_log(w, a->r->user->id, "assistance requested",
                     arena_printf(a->r->arena, "assistance %lld", (long long)id), "refusal_reply");
}

Result response_help_post(Request *r)
{
    int64_t id, recorder, letter;
    char iso3[4];
    if (visible_response(r, &id, iso3, &recorder, &letter) != R_OK)
        return R_NOT_FOUND;
    const char *details = NULL;
    if (param_optional_text(r, "details", 5000, 1, &details) != R_OK)
        return R_BAD_REQUEST;
    AssistanceAdd a = {.r = r,
                       .iso3 = iso3,
                       .subject = tr(r, "Help to reply to a government's refusal"),
                       .details = details ? details : "",
                       .response = id};
    Result res = db_write(r->db, assistance_add_apply, &a);
    if (res == R_CONFLICT) {
        r->message = tr(r, "Help with a reply can be asked for a refusal only.");
        return R_CONFLICT;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/assistance");
}

static json_t *assistance_json(Request *r, int mine)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db,
        "SELECT a.id, a.kind, a.iso3, a.subject, a.details, a.status, a.draft, "
        "coalesce(u.email, ''), coalesce(v.email, ''), a.created_at, "
        "coalesce(a.response_id, 0), coalesce(p.letter_id, 0) FROM assistance_requests a "
        "LEFT JOIN users u ON u.id = a.requester_id LEFT JOIN users v ON v.id = a.assignee_id "
        "LEFT JOIN responses p ON p.id = a.response_id "
        "WHERE :mine = 0 OR a.requester_id = :me ORDER BY a.status = 'done', a.id DESC");
    db_bind_int(st, ":mine", mine);
    db_bind_int(st, ":me", r->user->id);
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I}", "id",
                             (json_int_t)db_int(st, 0), "kind", db_text(st, 1), "iso3",
                             db_text(st, 2), "subject", db_text(st, 3), "details", db_text(st, 4),
                             "status", db_text(st, 5), "draft", db_text(st, 6), "requester",
                             db_text(st, 7), "assignee", db_text(st, 8), "response_id",
                             (json_int_t)db_int(st, 10), "letter_id", (json_int_t)db_int(st, 11)));
    db_done(st);
    return list;
}

Result assistance_page(Request *r)
{
    json_decref(r->data);
    r->data = json_build("{s:o}", "requests", assistance_json(r, 1));
    r->page = "assistance";
    r->title = tr(r, "Your requests for help");
    return R_OK;
}

Result admin_assistance_page(Request *r)
{
    json_decref(r->data);
    r->data = json_build("{s:o}", "requests", assistance_json(r, 0));
    r->page = "admin_assistance";
    r->title = tr(r, "Requests for help");
    return R_OK;
}

/* What admin_assistance_post writes: a request's status and draft reply
 * (R_NOT_FOUND if there is no such request), and the audit line. */
typedef struct {
    Request *r;
    int64_t id;
    const char *status, *draft; /* draft NULL: keep the one saved */
} AssistanceUpdate;

static Result assistance_update_apply(Db *w, void *ctx)
{
    AssistanceUpdate *u = ctx;
    /* Assigning takes the request: the admin who saves it is the assignee. */
    Stmt *st =
        db_prepare(w, "UPDATE assistance_requests SET status = :status, assignee_id = CASE WHEN "
                      ":status = 'open' THEN NULL ELSE coalesce(assignee_id, :me) END, "
                      "draft = coalesce(:draft, draft), updated_at = :now WHERE id = :id");
    db_bind_text(st, ":status", u->status);
    db_bind_int(st, ":me", u->r->user->id);
    db_bind_text(st, ":draft", u->draft);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", u->id);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, u->r->user->id, "assistance updated",
                     arena_printf(u->r->arena, "assistance %lld", (long long)u->id), u->status);
}

Result admin_assistance_post(Request *r)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    static const char *const statuses[] = {"open", "assigned", "done", NULL};
    int status = 0;
    const char *draft = NULL;
    int bad = param_enum(r, "status", statuses, &status) != R_OK;
    bad |= param_optional_text(r, "draft", 20000, 1, &draft) != R_OK;
    if (bad) {
        admin_assistance_page(r);
        return R_BAD_REQUEST;
    }
    AssistanceUpdate u = {.r = r, .id = id, .status = statuses[status], .draft = draft};
    Result res = db_write(r->db, assistance_update_apply, &u);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, "/admin/assistance");
}

/* ---- lists ---- */

static json_t *letters_json(Request *r, const char *iso3, int mine)
{
    json_t *list = json_array();
    Stmt *st =
        db_prepare(r->db, "SELECT id FROM letters WHERE (:iso3 IS NULL OR iso3 = :iso3) "
                          "AND (:mine = 0 OR author_id = :me) ORDER BY updated_at DESC LIMIT 500");
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":mine", mine);
    db_bind_int(st, ":me", r->user ? r->user->id : 0);
    int64_t ids[500];
    int n = 0;
    while (db_row(st) && n < 500)
        ids[n++] = db_int(st, 0);
    db_done(st);
    for (int i = 0; i < n; i++) {
        Letter l;
        if (load_letter(r, ids[i], &l) != R_OK)
            continue;
        if (!can_see_letter(r, &l))
            continue;
        json_t *j = letter_json(&l);
        json_object_del(j, "body");
        json_array_append_new(list, j);
    }
    return list;
}

Result letters_page(Request *r)
{
    json_decref(r->data);
    r->data = json_build("{s:o}", "letters", letters_json(r, NULL, 1));
    r->page = "letters";
    r->title = tr(r, "Your letters");
    return R_OK;
}

/* GET /api/v1/letters: the letters this caller may see (all of them with a
 * token), shaped after OSDI's outreach: subject, message, targets. */
Result letters_api(Request *r)
{
    json_t *items = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT l.id, l.iso3, l.subject, l.body, l.status, coalesce(l.sent_on, ''), "
               "l.visibility, coalesce(l.author_id, 0), coalesce(t.name, ''), "
               "coalesce(t.title, ''), l.created_at, l.ask, l.lang FROM letters l "
               "LEFT JOIN targets t ON t.id = l.target_id ORDER BY l.id");
    while (db_row(st)) {
        const char *iso3 = db_text(st, 1);
        if (!r->api_scope && !auth_can_see(r->user, db_text(st, 6), iso3, db_int(st, 7)))
            continue;
        json_array_append_new(
            items, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s}], s:I, s:s, s:s}", "id",
                              (json_int_t)db_int(st, 0), "country", iso3, "subject", db_text(st, 2),
                              "message", db_text(st, 3), "status", db_text(st, 4), "sent_on",
                              db_text(st, 5), "targets", "name", db_text(st, 8), "title",
                              db_text(st, 9), "created_at", (json_int_t)db_int(st, 10), "ask",
                              db_text(st, 11), "language", db_text(st, 12)));
    }
    db_done(st);
    r->data = json_build("{s:o}", "items", items);
    return R_OK;
}

Result responses_api(Request *r)
{
    json_t *items = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT id, coalesce(letter_id, 0), iso3, received_on, text, class, reasons, "
               "visibility, coalesce(recorded_by, 0), file_name FROM responses ORDER BY id");
    while (db_row(st)) {
        const char *iso3 = db_text(st, 2);
        if (!r->api_scope && !auth_can_see(r->user, db_text(st, 7), iso3, db_int(st, 8)))
            continue;
        json_array_append_new(
            items, json_build("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
                              (json_int_t)db_int(st, 0), "letter_id", (json_int_t)db_int(st, 1),
                              "country", iso3, "received_on", db_text(st, 3), "text",
                              db_text(st, 4), "class", db_text(st, 5), "reasons", db_text(st, 6),
                              "visibility", db_text(st, 7), "has_file", *db_text(st, 9) != 0));
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
        r->db, "SELECT iso3, count(*), sum(status <> 'draft'), sum(status = 'response_received'), "
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

Result admin_letters_page(Request *r)
{
    Row rows[256];
    int n = overview_rows(r, rows, 256);
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(
            list,
            json_build("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s}", "iso3", rows[i].iso3,
                       "country", country_name(r, rows[i].iso3), "letters", rows[i].letters, "sent",
                       rows[i].sent, "answered", rows[i].answered, "positive", rows[i].positive,
                       "non_committal", rows[i].non_committal, "refusals", rows[i].refusals,
                       "last_sent", rows[i].last_sent, "reasons", rows[i].reasons));
    json_decref(r->data);
    r->data = json_build("{s:o}", "countries", list);
    r->page = "admin_letters";
    r->title = tr(r, "Letters across countries");
    return R_OK;
}

Result admin_letters_csv_page(Request *r)
{
    Row rows[256];
    int n = overview_rows(r, rows, 256);
    Buf *b = &r->body_out;
    buf_puts(b, "iso3,country,letters,sent,answered,positive,non_committal,refusals,last_sent,"
                "refusal_reasons\r\n");
    for (int i = 0; i < n; i++) {
        const char *name = country_name(r, rows[i].iso3);
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
            if (!strcmp(classes[i], db_text(st, 0)))
                counts[i] = (int)db_int(st, 1);
    db_done(st);
    return json_build("{s:i, s:s, s:i, s:i, s:i, s:o, s:b}", "sent", sent, "last_sent", last,
                      "positive", counts[0], "non_committal", counts[1], "refusals", counts[2],
                      "public_responses", responses_json(r, 0, iso3, 1), "any",
                      sent + counts[0] + counts[1] + counts[2] > 0);
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

Result letter_remind(Db *db, const char *base_url)
{
    /* Sent letters past their reminder with no response: the author is
     * told once, in the language of their profile (else the letter's), and
     * the letter is marked as having had no response. */
    Stmt *st = db_prepare(db, "SELECT l.id, u.email, coalesce(u.lang, l.lang) FROM letters l "
                              "JOIN users u ON u.id = l.author_id WHERE l.status = 'sent' "
                              "AND l.sent_on IS NOT NULL "
                              "AND julianday('now') - julianday(l.sent_on) > l.remind_weeks * 7");
    int64_t ids[100];
    char emails[100][256], langs[100][8];
    int n = 0;
    while (db_row(st) && n < 100) {
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

/* ---- model letters: the admin page ---- */

static json_t *models_json(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT id, slug, lang, ask, title, subject, body "
                                 "FROM model_letters ORDER BY slug, lang");
    while (db_row(st))
        json_array_append_new(list, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                                               (json_int_t)db_int(st, 0), "slug", db_text(st, 1),
                                               "lang", db_text(st, 2), "ask", db_text(st, 3),
                                               "title", db_text(st, 4), "subject", db_text(st, 5),
                                               "body", db_text(st, 6)));
    db_done(st);
    return list;
}

Result model_letters_page(Request *r)
{
    json_t *asks = json_array();
    for (int a = ASK_JOIN_COVENANT; a <= ASK_IMPLEMENT; a++)
        json_array_append_new(asks, json_build("{s:s, s:s}", "code", treaty_ask_code((Ask)a),
                                               "label", tr(r, treaty_ask_text((Ask)a))));
    json_decref(r->data);
    r->data = json_build("{s:o, s:o}", "models", models_json(r), "asks", asks);
    r->page = "admin_model_letters";
    r->title = tr(r, "Model letters");
    return R_OK;
}

/* What model_letter_post writes: the model letter, new or replacing the
 * one of the same slug and language, and the audit line. */
typedef struct {
    Request *r;
    const char *slug, *lang, *ask, *title, *subject, *body;
} ModelLetterSave;

static Result model_letter_save_apply(Db *w, void *ctx)
{
    ModelLetterSave *m = ctx;
    Stmt *st = db_prepare(
        w, "INSERT INTO model_letters (slug, lang, ask, title, subject, body, updated_by, "
           "updated_at) VALUES (:slug, :lang, :ask, :title, :subject, :body, :user, :now) "
           "ON CONFLICT (slug, lang) DO UPDATE SET ask = excluded.ask, title = excluded.title, "
           "subject = excluded.subject, body = excluded.body, "
           "updated_by = excluded.updated_by, updated_at = excluded.updated_at");
    db_bind_text(st, ":slug", m->slug);
    db_bind_text(st, ":lang", m->lang);
    db_bind_text(st, ":ask", m->ask);
    db_bind_text(st, ":title", m->title);
    db_bind_text(st, ":subject", m->subject);
    db_bind_text(st, ":body", m->body);
    db_bind_int(st, ":user", m->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, m->r->user->id, "model letter saved",
                     arena_printf(m->r->arena, "model %s %s", m->slug, m->lang), "");
}

/* Saves a model letter (new, or the same slug and language again). The
 * text must compile and render with sample fields, so a broken template
 * never reaches a member. */
Result model_letter_post(Request *r)
{
    const char *slug, *lang, *ask, *title, *subject, *body;
    int bad = param_text(r, "slug", 2, 40, 0, &slug) != R_OK;
    for (const char *p = slug; !bad && *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            bad = param_error(r, "slug", N_("Use lowercase letters, digits and hyphens.")) != R_OK;
    bad |= param_text(r, "lang", 2, 8, 0, &lang) != R_OK;
    bad |= param_text(r, "ask", 2, 40, 0, &ask) != R_OK;
    int known = 0;
    for (int a = ASK_JOIN_COVENANT; !bad && a <= ASK_IMPLEMENT; a++)
        known |= !strcmp(ask, treaty_ask_code((Ask)a));
    if (!bad && !known)
        bad = param_error(r, "ask", N_("Please choose one of the options.")) != R_OK;
    bad |= param_text(r, "title", 2, 200, 0, &title) != R_OK;
    bad |= param_text(r, "subject", 2, 300, 0, &subject) != R_OK;
    bad |= param_text(r, "body", 20, 20000, 1, &body) != R_OK;
    if (!bad) {
        json_t *sample = merge_fields(r, "AGO", 0, lang, "Sample organisation", "Sample Name");
        const char *out, *err = NULL;
        if (render_model(r, body, sample, &out, &err) != R_OK ||
            render_model(r, subject, sample, &out, &err) != R_OK) {
            if (!r->errors)
                r->errors = json_object();
            json_object_set_new(r->errors, "body", json_string(err ? err : ""));
            bad = 1;
        }
        json_decref(sample);
    }
    if (bad) {
        model_letters_page(r);
        json_t *typed = json_object();
        for (size_t i = 0; i < r->form.count; i++)
            if (strcmp(r->form.items[i].name, "csrf_token") != 0)
                json_object_set_new(typed, r->form.items[i].name,
                                    json_string(r->form.items[i].value));
        json_object_set_new(r->data, "form", typed);
        return R_BAD_REQUEST;
    }
    ModelLetterSave m = {.r = r,
                         .slug = slug,
                         .lang = lang,
                         .ask = ask,
                         .title = title,
                         .subject = subject,
                         .body = body};
    if (db_write(r->db, model_letter_save_apply, &m) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/admin/model-letters");
}

/* What target_correction_close_post writes: the outcome of an open
 * correction to a target of this country (R_NOT_FOUND if there is none),
 * and the audit line. */
typedef struct {
    Request *r;
    const char *iso3, *outcome;
    int64_t id;
} TargetCorrectionClose;

static Result target_correction_close_apply(Db *w, void *ctx)
{
    TargetCorrectionClose *c = ctx;
    Stmt *st = db_prepare(
        w, "UPDATE target_corrections SET status = :status WHERE id = :id AND status = 'open' "
           "AND target_id IN (SELECT id FROM targets WHERE iso3 = :iso3)");
    db_bind_text(st, ":status", c->outcome);
    db_bind_int(st, ":id", c->id);
    db_bind_text(st, ":iso3", c->iso3);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, c->r->user->id, "target correction closed",
                     arena_printf(c->r->arena, "correction %lld", (long long)c->id), c->outcome);
}

/* Closes a proposed correction (applied or rejected); the coordinator
 * changes the target itself through the target form. */
Result target_correction_close_post(Request *r)
{
    const char *iso3;
    int64_t id;
    if (country_param(r, &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, iso3))
        return R_FORBIDDEN;
    static const char *const outcomes[] = {"applied", "rejected", NULL};
    int outcome = 0;
    if (param_enum(r, "status", outcomes, &outcome) != R_OK)
        return R_BAD_REQUEST;
    TargetCorrectionClose c = {.r = r, .iso3 = iso3, .outcome = outcomes[outcome], .id = id};
    Result res = db_write(r->db, target_correction_close_apply, &c);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/targets", iso3));
}

/* What target_delete_post writes: a target of this country gone
 * (R_NOT_FOUND if there is none), and the audit line. */
typedef struct {
    Request *r;
    const char *iso3;
    int64_t id;
} TargetDelete;

static Result target_delete_apply(Db *w, void *ctx)
{
    TargetDelete *d = ctx;
    Stmt *st = db_prepare(w, "DELETE FROM targets WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", d->id);
    db_bind_text(st, ":iso3", d->iso3);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, d->r->user->id, "target deleted",
                     arena_printf(d->r->arena, "target %lld", (long long)d->id), d->iso3);
}

Result target_delete_post(Request *r)
{
    const char *iso3;
    int64_t id;
    if (country_param(r, &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, iso3))
        return R_FORBIDDEN;
    TargetDelete d = {.r = r, .iso3 = iso3, .id = id};
    Result res = db_write(r->db, target_delete_apply, &d);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/targets", iso3));
}
