/*
 * model_letter.c: model letters, the templates members write their letters
 * from: seeding them from data/model-letters/ into an empty table, their
 * merge fields (the country, its ask, dates in the letter's language, the
 * target) and rendering them as plain text, the choice of models for an
 * ask, and the administrators' page at /admin/model-letters. letter.c
 * writes letters with them (model_letter.h); this file knows nothing of
 * letters.
 *
 * Invariants: a model letter renders as plain text (template_render_text),
 * never as markup, and may use the merge fields only; a model that does
 * not compile and render with sample fields is refused before it is saved,
 * so a broken template never reaches a member.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "feat/handlers.h"
#include "base/assets.h"
#include "base/template.h"
#include "svc/audit.h"
#include "svc/http.h"
#include "feat/country_name.h"
#include "feat/model_letter.h"
#include "feat/target.h"
#include "feat/treaty.h"

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

/* Writes every embedded model letter that the table does not have yet (by
 * slug and language), and the new text of one no administrator has edited
 * (updated_at 0), or nothing if one is malformed. A model an administrator
 * has edited keeps their text; letters shipped or reworded in a new release
 * reach an existing database too. */
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
        Stmt *st =
            db_prepare(w, "INSERT INTO model_letters (slug, lang, ask, title, subject, "
                          "body, updated_at) VALUES (:slug, :lang, :ask, :title, :subject, "
                          ":body, 0) ON CONFLICT (slug, lang) DO UPDATE SET ask = excluded.ask, "
                          "title = excluded.title, subject = excluded.subject, "
                          "body = excluded.body WHERE model_letters.updated_at = 0");
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

/* 1 if a shipped model letter (an asset of data/model-letters/) is missing
 * from the table, by slug and language, or differs from an unedited row. */
static int shipped_changed(Db *db)
{
    int missing = 0;
    for (const Asset *a = assets; a->path && !missing; a++) {
        size_t n = strlen(a->path);
        char f[5][512];
        const char *body;
        if (strncmp(a->path, "data/model-letters/", 19) != 0 || n < 4 ||
            strcmp(a->path + n - 4, ".txt") != 0)
            continue;
        if (parse_model((const char *)a->data, f, &body) != 0)
            return 1; /* the write reports it */
        Stmt *st = db_prepare(db, "SELECT 1 FROM model_letters WHERE slug = :slug AND lang = :lang "
                                  "AND (updated_at <> 0 OR (ask = :ask AND title = :title "
                                  "AND subject = :subject AND body = :body))");
        db_bind_text(st, ":slug", f[0]);
        db_bind_text(st, ":lang", f[2]);
        db_bind_text(st, ":ask", f[1]);
        db_bind_text(st, ":title", f[3]);
        db_bind_text(st, ":subject", f[4]);
        db_bind_text(st, ":body", body);
        missing = !db_row(st);
        db_done(st);
    }
    return missing;
}

Result model_letter_seed(Db *db)
{
    /* A database that has every shipped letter (the usual start) is not
     * written to. */
    if (!shipped_changed(db))
        return R_OK;
    return db_write(db, model_letters_seed_apply, NULL);
}

/* ---- merge fields ---- */

const char *model_letter_date(Request *r, const char *iso, const char *lang)
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
    /* The United Nations' Arabic usage: both the Syriac and the Latin-derived
     * name, understood from the Maghreb to the Gulf. */
    static const char *const ar[] = {
        "كانون الثاني/يناير", "شباط/فبراير",        "آذار/مارس",           "نيسان/أبريل",
        "أيار/مايو",          "حزيران/يونيو",       "تموز/يوليو",          "آب/أغسطس",
        "أيلول/سبتمبر",       "تشرين الأول/أكتوبر", "تشرين الثاني/نوفمبر", "كانون الأول/ديسمبر"};
    int y, m, d;
    if (!iso || sscanf(iso, "%4d-%2d-%2d", &y, &m, &d) != 3 || m < 1 || m > 12)
        return "";
    if (!strcmp(lang, "es"))
        return arena_printf(r->arena, "%d de %s de %d", d, es[m - 1], y);
    if (!strcmp(lang, "fr"))
        return arena_printf(r->arena, "%d %s %d", d, fr[m - 1], y);
    if (!strcmp(lang, "pt"))
        return arena_printf(r->arena, "%d de %s de %d", d, pt[m - 1], y);
    if (!strcmp(lang, "ar"))
        return arena_printf(r->arena, "%d %s %d", d, ar[m - 1], y);
    return arena_printf(r->arena, "%d %s %d", d, en[m - 1], y);
}

const char *model_letter_today(void)
{
    static _Thread_local char buf[11];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

static int parties_count(Db *db, int64_t instrument)
{
    /* Parties now: each country's actions under the instrument, folded. */
    Stmt *st;
    st = db_prepare(db, "SELECT iso3, kind, article, action_date FROM treaty_actions "
                        "WHERE instrument_id = :i ORDER BY iso3, action_date, id");
    db_bind_int(st, ":i", instrument);
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
     * "Estimado/a señor/a:", "Excelentíssimo(a) Senhor(a) Ministro(a),",
     * "معالي الوزير/الوزيرة،" (Your Excellency the Minister). */
    if (!strcmp(lang, "es"))
        return "señor/a";
    if (!strcmp(lang, "fr"))
        return "Madame, Monsieur";
    if (!strcmp(lang, "pt"))
        return "Ministro(a)";
    if (!strcmp(lang, "ar"))
        return "الوزير/الوزيرة";
    return "Sir or Madam";
}

/* "and" in the letter's language, for lists in merge fields (a literal like
 * the month names: Portuguese has no catalogue). */
static const char *and_word(const char *lang)
{
    if (!strcmp(lang, "es"))
        return "y";
    if (!strcmp(lang, "fr"))
        return "et";
    if (!strcmp(lang, "pt"))
        return "e";
    if (!strcmp(lang, "ar"))
        return "و";
    return "and";
}

/* The state's record on the other complaint procedures, for letters that
 * recall it: {{other_procedures}} lists them ("OP-CEDAW (2002) and
 * OP-CRPD (2008)", "" for none), {{other_procedures_count}} counts them. */
static void add_procedure_fields(Request *r, const Campaign *c, json_t *f, const char *iso3,
                                 const char *lang)
{
    AcceptedProcedure accepted[OTHER_PROCEDURES];
    size_t n = treaty_country_accepted(r->db, c, iso3, accepted);
    json_object_set_new(f, "other_procedures",
                        json_string(treaty_procedures_list(r->arena, and_word(lang), accepted, n)));
    json_object_set_new(f, "other_procedures_count", json_integer((json_int_t)n));
}

/* The merge fields of a letter to iso3 for target (0: none). */
json_t *model_letter_fields(Request *r, const char *iso3, int64_t target, const char *lang,
                            const char *organisation, const char *sender_name)
{
    Campaign c = treaty_campaign(r->db);
    Standing protocol = treaty_standing(r->db, c.id, iso3);
    int years = 0;
    if (protocol.signature_date[0]) {
        int y = atoi(protocol.signature_date);
        years = atoi(model_letter_today()) - y;
    }
    json_t *f = json_build(
        "{s:s, s:s, s:s, s:s, s:s, s:i, s:i, s:s, s:s, s:s}", "country",
        country_name_in(r, iso3, lang) ? country_name_in(r, iso3, lang) : iso3, "organisation",
        organisation ? organisation : "", "sender_name", sender_name ? sender_name : "",
        "signature_date", model_letter_date(r, protocol.signature_date, lang), "date",
        model_letter_date(r, model_letter_today(), lang), "years_since_signature", years,
        "parties_count", parties_count(r->db, c.id), "target_name", default_addressee(lang),
        "target_title", "", "target_ministry", "");
    add_procedure_fields(r, &c, f, iso3, lang);
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
Result model_letter_render(Request *r, const char *text, json_t *fields, const char **out,
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

/* ---- choosing a model ---- */

/* The languages of iso3 that model letters may be in, most used by its
 * government first ("fr ar"), from data/country-languages.csv, in the
 * arena; "" for a country not listed (English then serves). */
static const char *country_languages(Request *r, const char *iso3)
{
    const Asset *a = asset_find("data/country-languages.csv");
    if (!a || !iso3 || strlen(iso3) != 3)
        return "";
    for (const char *line = (const char *)a->data; line && *line;) {
        const char *end = strchr(line, '\n');
        size_t n = end ? (size_t)(end - line) : strlen(line);
        if (n > 4 && strncmp(line, iso3, 3) == 0 && line[3] == ',')
            return arena_strndup(r->arena, line + 4, n - 4);
        line = end ? end + 1 : NULL;
    }
    return "";
}

const char *model_letter_country_language(Request *r, const char *iso3)
{
    const char *list = country_languages(r, iso3);
    size_t n = strcspn(list, " ");
    return n ? arena_strndup(r->arena, list, n) : "en";
}

/* Appends the space-separated codes of list to the candidates. */
static void add_languages(Buf *b, const char *list)
{
    if (list && *list)
        buf_printf(b, " %s", list);
}

/* The languages the government reads: those of its recorded contacts
 * (targets.language), then the country's (data/country-languages.csv). */
static void add_government_languages(Request *r, Buf *b, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT DISTINCT language FROM targets "
                                 "WHERE iso3 = :iso3 AND language <> '' ORDER BY language");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st))
        add_languages(b, db_text(st, 0));
    db_done(st);
    add_languages(b, country_languages(r, iso3));
}

/* 1 if the space-separated list holds word. */
static int list_has(const char *list, const char *word, size_t n)
{
    for (const char *p = list; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == n && len && strncmp(p, word, n) == 0)
            return 1;
        p += len;
    }
    return 0;
}

/* The languages to preselect a model in, best first, space-separated. The
 * letter is read by a government, so its languages lead (issue 14: an
 * English browser got the English model for Angola, whose ministries read
 * Portuguese): first the member's own languages that the government also
 * reads (the UI language set on their account, the one their browser asks
 * for, then those their profile says they work in), then the government's,
 * then the member's others, then English. A UI language that is only the
 * default (no preference, no Accept-Language) is not theirs. */
static const char *preferred_languages(Request *r, const char *iso3)
{
    Buf mine = {0}, theirs = {0}, b = {0};
    if (r->user && r->user->lang)
        add_languages(&mine, r->user->lang);
    if (r->header && r->header(r, "Accept-Language"))
        add_languages(&mine, r->lang);
    if (r->user && r->user->person_id) {
        Stmt *st = db_prepare(r->db, "SELECT languages FROM people WHERE id = :p");
        db_bind_int(st, ":p", r->user->person_id);
        if (db_row(st))
            add_languages(&mine, db_text(st, 0));
        db_done(st);
    }
    add_government_languages(r, &theirs, iso3);
    const char *m = mine.data ? mine.data : "", *t = theirs.data ? theirs.data : "";
    for (const char *p = m; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len && list_has(t, p, len))
            buf_printf(&b, " %.*s", (int)len, p);
        p += len;
    }
    add_languages(&b, t);
    add_languages(&b, m);
    add_languages(&b, "en");
    const char *out = arena_strndup(r->arena, b.data ? b.data : "", b.len);
    buf_free(&mine);
    buf_free(&theirs);
    buf_free(&b);
    return out;
}

/* Where lang comes in the space-separated list (0 first), or a large
 * number when it does not. */
static size_t language_rank(const char *list, const char *lang)
{
    size_t rank = 0, n = strlen(lang);
    for (const char *p = list; *p;) {
        while (*p == ' ')
            p++;
        size_t len = strcspn(p, " ");
        if (len == n && len && strncmp(p, lang, n) == 0)
            return rank;
        rank += len > 0;
        p += len;
    }
    return (size_t)-1 / 2;
}

typedef struct {
    int64_t id;
    const char *slug, *lang, *title;
    size_t rank;
} Choice;

static int choice_cmp(const void *pa, const void *pb)
{
    const Choice *a = pa, *b = pb;
    if (a->rank != b->rank)
        return a->rank < b->rank ? -1 : 1;
    int c = strcmp(a->lang, b->lang);
    return c ? c : strcmp(a->slug, b->slug);
}

json_t *model_letter_choices(Request *r, const char *instrument, const char *ask, const char *iso3,
                             int64_t selected)
{
    const char *preferred = preferred_languages(r, iso3);
    Choice *choices = NULL;
    size_t n = 0, cap = 0;
    Stmt *st = db_prepare(r->db, "SELECT id, slug, lang, title FROM model_letters "
                                 "WHERE ask = :ask AND instrument = :instrument "
                                 "ORDER BY lang, slug");
    db_bind_text(st, ":ask", ask);
    db_bind_text(st, ":instrument", instrument);
    while (db_row(st)) {
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            Choice *grown = arena_alloc(r->arena, cap * sizeof *grown);
            if (n)
                memcpy(grown, choices, n * sizeof *grown);
            choices = grown;
        }
        choices[n] = (Choice){.id = db_int(st, 0),
                              .slug = arena_strdup(r->arena, db_text(st, 1)),
                              .lang = arena_strdup(r->arena, db_text(st, 2)),
                              .title = arena_strdup(r->arena, db_text(st, 3))};
        choices[n].rank = language_rank(preferred, choices[n].lang);
        n++;
    }
    db_done(st);
    if (n)
        qsort(choices, n, sizeof *choices, choice_cmp);
    /* The model chosen before (a form shown again) stays chosen if it is
     * still one of these; otherwise the best one by language. */
    int64_t chosen = n ? choices[0].id : 0;
    for (size_t i = 0; i < n; i++)
        if (selected && choices[i].id == selected)
            chosen = selected;
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, json_build("{s:I, s:s, s:s, s:s, s:b}", "id",
                                               (json_int_t)choices[i].id, "slug", choices[i].slug,
                                               "lang", choices[i].lang, "title", choices[i].title,
                                               "selected", choices[i].id == chosen));
    return list;
}

/* ---- model letters: the admin page ---- */

static json_t *models_json(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT id, slug, lang, ask, title, subject, body, instrument "
                                 "FROM model_letters ORDER BY instrument, slug, lang");
    while (db_row(st))
        json_array_append_new(list,
                              json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                                         (json_int_t)db_int(st, 0), "slug", db_text(st, 1), "lang",
                                         db_text(st, 2), "ask", db_text(st, 3), "title",
                                         db_text(st, 4), "subject", db_text(st, 5), "body",
                                         db_text(st, 6), "instrument", db_text(st, 7)));
    db_done(st);
    return list;
}

Result model_letter_list_page(Request *r)
{
    /* New letters are for the campaign instrument: its asks (no Covenant
     * steps without a parent), in its words. */
    Campaign c = treaty_campaign(r->db);
    json_t *asks = json_array();
    for (int a = c.parent_id ? ASK_JOIN_COVENANT : ASK_SIGN_AND_RATIFY; a <= ASK_IMPLEMENT; a++)
        json_array_append_new(asks, json_build("{s:s, s:s}", "code", treaty_ask_code((Ask)a),
                                               "label", treaty_ask_say(r, &c, (Ask)a)));
    json_decref(r->data);
    /* Not an ask: the letter that thanks a government after a meeting
     * (meeting.c), which the administrators edit here too. */
    json_array_append_new(asks, json_build("{s:s, s:s}", "code", MODEL_LETTER_THANK_YOU, "label",
                                           tr(r, "Thank-you letter after a meeting")));
    r->data = json_build("{s:o, s:o, s:s}", "models", models_json(r), "asks", asks, "instrument",
                         c.short_name);
    r->page = "admin_model_letters";
    r->title = tr(r, "Model letters");
    return R_OK;
}

/* What model_letter_save_post writes: the model letter, new or replacing the
 * one of the same slug and language, and the audit line. */
typedef struct {
    Request *r;
    const char *slug, *lang, *ask, *title, *subject, *body;
    const char *instrument; /* the campaign's slug: an admin writes for it */
} ModelLetterSave;

static Result model_letter_save_apply(Db *w, void *ctx)
{
    ModelLetterSave *m = ctx;
    Stmt *st = db_prepare(
        w, "INSERT INTO model_letters (slug, lang, ask, title, subject, body, instrument, "
           "updated_by, updated_at) VALUES (:slug, :lang, :ask, :title, :subject, :body, "
           ":instrument, :user, :now) "
           "ON CONFLICT (slug, lang) DO UPDATE SET ask = excluded.ask, title = excluded.title, "
           "subject = excluded.subject, body = excluded.body, instrument = excluded.instrument, "
           "updated_by = excluded.updated_by, updated_at = excluded.updated_at");
    db_bind_text(st, ":slug", m->slug);
    db_bind_text(st, ":lang", m->lang);
    db_bind_text(st, ":ask", m->ask);
    db_bind_text(st, ":title", m->title);
    db_bind_text(st, ":subject", m->subject);
    db_bind_text(st, ":body", m->body);
    db_bind_text(st, ":instrument", m->instrument);
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
Result model_letter_save_post(Request *r)
{
    const char *slug, *lang, *ask, *title, *subject, *body;
    int bad = param_text(r, "slug", 2, 40, 0, &slug) != R_OK;
    for (const char *p = slug; !bad && *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            bad = param_error(r, "slug", N_("Use lowercase letters, digits and hyphens.")) != R_OK;
    bad |= param_text(r, "lang", 2, 8, 0, &lang) != R_OK;
    bad |= param_text(r, "ask", 2, 40, 0, &ask) != R_OK;
    int known = !bad && !strcmp(ask, MODEL_LETTER_THANK_YOU);
    for (int a = ASK_JOIN_COVENANT; !bad && a <= ASK_IMPLEMENT; a++)
        known |= !strcmp(ask, treaty_ask_code((Ask)a));
    if (!bad && !known)
        bad = param_error(r, "ask", N_("Please choose one of the options.")) != R_OK;
    bad |= param_text(r, "title", 2, 200, 0, &title) != R_OK;
    bad |= param_text(r, "subject", 2, 300, 0, &subject) != R_OK;
    bad |= param_text(r, "body", 20, 20000, 1, &body) != R_OK;
    if (!bad) {
        json_t *sample =
            model_letter_fields(r, "AGO", 0, lang, "Sample organisation", "Sample Name");
        const char *out, *err = NULL;
        if (model_letter_render(r, body, sample, &out, &err) != R_OK ||
            model_letter_render(r, subject, sample, &out, &err) != R_OK) {
            if (!r->errors)
                r->errors = json_object();
            json_object_set_new(r->errors, "body", json_string(err ? err : ""));
            bad = 1;
        }
        json_decref(sample);
    }
    if (bad) {
        model_letter_list_page(r);
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
    Campaign c = treaty_campaign(r->db);
    m.instrument = c.slug;
    if (db_write(r->db, model_letter_save_apply, &m) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/admin/model-letters");
}
