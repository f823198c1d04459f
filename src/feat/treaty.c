/*
 * treaty.c: instruments, treaty actions, the status derived from them, the
 * ask, loading of the depositary records shipped in data/, every country's
 * standing folded from the actions (for the country list and a treaty's
 * page), and the treaty page /treaties/{slug} with its API twin.
 *
 * Invariant: status is never stored. It is folded from the actions, in
 * date order, every time it is needed, so a corrected action corrects
 * every page at once.
 */
#include "feat/handlers.h"
#include "feat/treaty.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assets.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "base/csv.h"
#include "base/untc.h"
#include "base/i18n.h"

static void copy_date(char dst[11], const char *src)
{
    snprintf(dst, 11, "%s", src);
}

void treaty_apply_action(Standing *s, const char *kind, const char *article, const char *date)
{
    if (strcmp(kind, "signature") == 0) {
        copy_date(s->signature_date, date);
        if (s->status == STATUS_NONE)
            s->status = STATUS_SIGNATORY;
    } else if (!strcmp(kind, "ratification") || !strcmp(kind, "accession") ||
               !strcmp(kind, "succession")) {
        copy_date(s->party_date, date);
        snprintf(s->party_kind, sizeof s->party_kind, "%s", kind);
        s->status = STATUS_PARTY;
        s->withdrawn = 0;
    } else if (strcmp(kind, "declaration") == 0 && article && *article) {
        size_t n = strlen(s->declared);
        if (n + strlen(article) + 2 < sizeof s->declared)
            snprintf(s->declared + n, sizeof s->declared - n, "%s%s", n ? " " : "", article);
    } else if (strcmp(kind, "withdrawal") == 0) {
        /* A denunciation ends participation; the signature stays history. */
        s->status = STATUS_NONE;
        s->withdrawn = 1;
        s->declared[0] = 0;
    }
}

/* 1 if every article in the space-separated list wanted is in have. */
static int declared_all(const char *wanted, const char *have)
{
    char list[64];
    snprintf(list, sizeof list, "%s", wanted);
    for (char *save = NULL, *a = strtok_r(list, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        int found = 0;
        char copy[64];
        snprintf(copy, sizeof copy, "%s", have);
        for (char *s2 = NULL, *b = strtok_r(copy, " ", &s2); b; b = strtok_r(NULL, " ", &s2))
            found |= strcmp(a, b) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

const char *treaty_opt_in_articles(Db *db, int64_t instrument, Arena *arena)
{
    Stmt *st = db_prepare(db, "SELECT opt_in_articles FROM instruments WHERE id = :id");
    db_bind_int(st, ":id", instrument);
    const char *articles = arena_strdup(arena, db_row(st) ? db_text(st, 0) : "");
    db_done(st);
    return articles;
}

Ask treaty_ask(const Standing *protocol, const Standing *covenant, const char *opt_in_articles)
{
    if (protocol->status == STATUS_PARTY)
        return declared_all(opt_in_articles ? opt_in_articles : "", protocol->declared)
                   ? ASK_IMPLEMENT
                   : ASK_DECLARE;
    /* The Protocol is open to signature by states that signed the Covenant
     * and to ratification by its parties (OP-ICESCR art. 17). */
    if (covenant && covenant->status == STATUS_NONE)
        return ASK_JOIN_COVENANT;
    if (covenant && covenant->status == STATUS_SIGNATORY)
        return protocol->status == STATUS_SIGNATORY ? ASK_RATIFY_COVENANT_FIRST
                                                    : ASK_RATIFY_COVENANT_SIGN;
    return protocol->status == STATUS_SIGNATORY ? ASK_RATIFY : ASK_SIGN_AND_RATIFY;
}

const char *treaty_ask_code(Ask ask)
{
    static const char *const codes[] = {
        "join_covenant",
        "ratify_covenant_and_sign",
        "ratify_covenant_first",
        "sign_and_ratify",
        "ratify",
        "declare",
        "implement",
    };
    return codes[ask];
}

const char *treaty_ask_text(Ask ask)
{
    /* {treaty}, {parent} and {articles} are the campaign's (treaty_say). */
    switch (ask) {
    case ASK_JOIN_COVENANT:
        return N_("Join the {parent}, which the {treaty} requires, then sign and ratify the "
                  "{treaty}.");
    case ASK_RATIFY_COVENANT_SIGN:
        return N_("Sign the {treaty} now, and ratify the {parent} so that the {treaty} can then "
                  "be ratified.");
    case ASK_RATIFY_COVENANT_FIRST:
        return N_("Ratify the {parent}, which the {treaty} requires, and then ratify the "
                  "{treaty} it has already signed.");
    case ASK_SIGN_AND_RATIFY:
        return N_("Sign and ratify the {treaty}.");
    case ASK_RATIFY:
        return N_("Ratify the {treaty}, which it has already signed.");
    case ASK_DECLARE:
        return N_("Accept the procedures of articles {articles} of the {treaty} by declaration, "
                  "if it has not yet done so; implement the {treaty} and encourage other states "
                  "to join it.");
    case ASK_IMPLEMENT:
        break;
    }
    return N_("Implement the {treaty} and encourage other states to join it, as a Friend of "
              "the {treaty}.");
}

/* ---- the campaign instrument ---- */

static void copy_text(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

Campaign treaty_campaign(Db *db)
{
    /* A setting that names no instrument (edited by hand, or an
     * instrument removed) falls back to the default. */
    Stmt *st = db_prepare(
        db, "SELECT i.id, coalesce(i.parent_id, 0), i.slug, i.short_name, i.title, "
            "i.opt_in_articles, i.opened_on, coalesce(p.slug, ''), coalesce(p.short_name, ''), "
            "coalesce(p.title, '') FROM instruments i "
            "LEFT JOIN instruments p ON p.id = i.parent_id "
            "WHERE i.slug = coalesce((SELECT s.value FROM settings s "
            "WHERE s.name = 'campaign_instrument' AND s.value IN (SELECT slug FROM instruments)), "
            ":fallback)");
    db_bind_text(st, ":fallback", CAMPAIGN_DEFAULT);
    Campaign c = {0};
    if (db_row(st)) {
        c.id = db_int(st, 0);
        c.parent_id = db_int(st, 1);
        copy_text(c.slug, sizeof c.slug, db_text(st, 2));
        copy_text(c.short_name, sizeof c.short_name, db_text(st, 3));
        copy_text(c.title, sizeof c.title, db_text(st, 4));
        copy_text(c.opt_in, sizeof c.opt_in, db_text(st, 5));
        copy_text(c.opened_on, sizeof c.opened_on, db_text(st, 6));
        copy_text(c.parent_slug, sizeof c.parent_slug, db_text(st, 7));
        copy_text(c.parent_short_name, sizeof c.parent_short_name, db_text(st, 8));
        copy_text(c.parent_title, sizeof c.parent_title, db_text(st, 9));
    }
    db_done(st);
    return c;
}

static Result campaign_set_apply(Db *w, void *ctx)
{
    if (auth_setting_set(w, "campaign_instrument", ctx) != R_OK)
        return R_INTERNAL;
    return audit_log(w, 0, "campaign instrument set", "settings", ctx);
}

/* On stderr: slug is no instrument, and the ones there are. */
static void say_unknown_instrument(Db *db, const char *slug)
{
    fprintf(stderr, "ratify: no instrument called '%s'; the instruments are:", slug);
    Stmt *st = db_prepare(db, "SELECT slug FROM instruments ORDER BY id");
    while (db_row(st))
        fprintf(stderr, " %s", db_text(st, 0));
    db_done(st);
    fprintf(stderr, "\n");
}

Result treaty_campaign_cmd(Db *db, const char *slug)
{
    int64_t id, parent;
    if (treaty_find(db, slug, &id, &parent) != R_OK) {
        say_unknown_instrument(db, slug);
        return R_NOT_FOUND;
    }
    Result r = db_write(db, campaign_set_apply, (void *)slug);
    if (r != R_OK)
        return r;
    Campaign c = treaty_campaign(db);
    printf("The campaign instrument is %s (%s).\n", c.short_name, c.title);
    return R_OK;
}

/* The instruments' titles as schema/002 and 013 write them: msgids, so
 * that a page names the campaign in its language (tr(r, title)). */
static const char *const instrument_titles[] = {
    N_("International Covenant on Economic, Social and Cultural Rights"),
    N_("Optional Protocol to the International Covenant on Economic, Social and Cultural "
       "Rights"),
    N_("Optional Protocol to the Convention on the Elimination of All Forms of Discrimination "
       "against Women"),
    N_("Optional Protocol to the Convention on the Rights of Persons with Disabilities"),
    N_("Optional Protocol to the Convention on the Rights of the Child on a communications "
       "procedure"),
    N_("Optional Protocol to the International Covenant on Civil and Political Rights"),
};

/* When they enter into force, as the same migrations write it. */
static const char *const instrument_conditions[] = {
    N_("three months after the deposit of the 35th instrument of ratification or accession "
       "(art. 27)"),
    N_("three months after the deposit of the 10th instrument of ratification or accession "
       "(art. 18)"),
    N_("three months after the deposit of the 10th instrument of ratification or accession "
       "(art. 16)"),
    N_("on the 30th day after the deposit of the 10th instrument of ratification or accession "
       "(art. 13)"),
    N_("three months after the deposit of the 10th instrument of ratification or accession "
       "(art. 19)"),
    N_("three months after the deposit of the 10th instrument of ratification or accession, not "
       "before the Covenant (art. 9)"),
};

/* text in r's language when it is one of known[0..n) (an instrument
 * added by hand keeps its own words). */
static const char *known_in(Request *r, const char *const *known, size_t n, const char *text)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(text, known[i]))
            return tr(r, known[i]);
    return text;
}

static const char *title_in(Request *r, const char *title)
{
    return known_in(r, instrument_titles, sizeof instrument_titles / sizeof *instrument_titles,
                    title);
}

/* Appends the articles "10 11 12" as "10, 11 and 12" (and_word). */
static void put_articles(Buf *b, const char *articles, const char *and_word)
{
    for (const char *a = articles; *a; a++) {
        if (*a != ' ')
            buf_putc(b, *a);
        else if (strchr(a + 1, ' '))
            buf_puts(b, ", ");
        else
            buf_printf(b, " %s ", and_word);
    }
}

/* Appends text to b with the {name} placeholders replaced; and_word joins
 * the last two articles ("10 and 11"). */
static void put_names(Request *r, Buf *b, const Campaign *c, const char *text, const char *and_word)
{
    static const char *const names[] = {"{treaty}", "{title}", "{parent}", "{articles}"};
    while (*text) {
        size_t k = 0;
        while (k < 4 && strncmp(text, names[k], strlen(names[k])) != 0)
            k++;
        if (k == 4) {
            buf_putc(b, *text++);
            continue;
        }
        text += strlen(names[k]);
        if (k == 0)
            buf_puts(b, c->short_name);
        else if (k == 1)
            buf_puts(b, title_in(r, c->title));
        else if (k == 2)
            buf_puts(b, c->parent_short_name);
        else
            put_articles(b, c->opt_in, and_word);
    }
}

const char *treaty_say(Request *r, const Campaign *c, const char *msgid)
{
    Buf b = {0};
    put_names(r, &b, c, tr(r, msgid), tr(r, "and"));
    const char *out = arena_strndup(r->arena, b.data ? b.data : "", b.len);
    buf_free(&b);
    return out;
}

const char *treaty_ask_say(Request *r, const Campaign *c, Ask ask)
{
    return treaty_say(r, c, treaty_ask_text(ask));
}

json_t *treaty_campaign_json(Request *r, const Campaign *c)
{
    /* The sentences pages say about the campaign, so that templates name
     * it from the data rather than in their text. */
    static const char *const sentences[][2] = {
        {"countries_title", N_("Countries and the {treaty}")},
        {"countries_lead", N_("Where every state stands on the {title}, from the United Nations' "
                              "depositary record. Choose a country to see what to ask its "
                              "government.")},
        {"map_title", N_("World map of the status of the {treaty}")},
        {"not_state", N_("This territory is not a member or observer state of the United "
                         "Nations, so it cannot itself join the {treaty}.")},
        {"home_lead", N_("Ratify helps the coalition of organisations and activists who ask "
                         "governments to sign and ratify the {treaty}, so that people can bring "
                         "violations of their rights before the United Nations.")},
        {"join_lead", N_("Membership is free. Organisations and individuals anywhere in the "
                         "world who support the {treaty} can join, as long as they are not part "
                         "of a government.")},
    };
    json_t *o = json_build("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "slug", c->slug, "short_name",
                           c->short_name, "title", title_in(r, c->title), "opt_in", c->opt_in,
                           "parent_slug", c->parent_slug, "parent_short_name", c->parent_short_name,
                           "parent_title", title_in(r, c->parent_title));
    for (size_t i = 0; i < sizeof sentences / sizeof sentences[0]; i++)
        json_object_set_new(o, sentences[i][0], json_string(treaty_say(r, c, sentences[i][1])));
    return o;
}

Ask treaty_row_ask(const Campaign *c, const CountryRow *row)
{
    return treaty_ask(&row->protocol, c->parent_id ? &row->covenant : NULL, c->opt_in);
}

const char *treaty_status_code(TreatyStatus s)
{
    return s == STATUS_PARTY ? "party" : s == STATUS_SIGNATORY ? "signatory" : "none";
}

Standing treaty_standing(Db *db, int64_t instrument_id, const char *iso3)
{
    Standing s = {0};
    Stmt *st = db_prepare(db, "SELECT kind, article, action_date FROM treaty_actions "
                              "WHERE instrument_id = :id AND iso3 = :iso3 "
                              "ORDER BY action_date, id");
    db_bind_int(st, ":id", instrument_id);
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st))
        treaty_apply_action(&s, db_text(st, 0), db_text(st, 1), db_text(st, 2));
    db_done(st);
    return s;
}

Result treaty_action_record(Db *w, const TreatyAction *a, int64_t user_id)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO treaty_actions (instrument_id, iso3, kind, article, action_date, "
           "source_url, note, recorded_by, recorded_at) VALUES (:instrument, :iso3, :kind, "
           ":article, :date, :source, :note, :user, :now) "
           "ON CONFLICT (instrument_id, iso3, kind, article) DO UPDATE SET "
           "action_date = excluded.action_date, source_url = excluded.source_url, "
           "note = excluded.note, recorded_by = excluded.recorded_by, "
           "recorded_at = excluded.recorded_at");
    db_bind_int(st, ":instrument", a->instrument);
    db_bind_text(st, ":iso3", a->iso3);
    db_bind_text(st, ":kind", a->kind);
    db_bind_text(st, ":article", a->article);
    db_bind_text(st, ":date", a->date);
    db_bind_text(st, ":source", a->source);
    db_bind_text(st, ":note", a->note);
    db_bind_int(st, ":user", user_id);
    db_bind_int(st, ":now", now_seconds());
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result treaty_action_delete(Db *w, int64_t id, const char *iso3)
{
    Stmt *st = db_prepare(w, "DELETE FROM treaty_actions WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", id);
    db_bind_text(st, ":iso3", iso3);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) == 0 ? R_NOT_FOUND : R_OK;
}

Result treaty_find(Db *db, const char *slug, int64_t *id, int64_t *parent_id)
{
    Stmt *st =
        db_prepare(db, "SELECT id, coalesce(parent_id, 0) FROM instruments WHERE slug = :slug");
    db_bind_text(st, ":slug", slug);
    Result r = R_NOT_FOUND;
    if (db_row(st)) {
        *id = db_int(st, 0);
        *parent_id = db_int(st, 1);
        r = R_OK;
    }
    db_done(st);
    return r;
}

static int insert_action(Db *db, int64_t instrument, const char *iso3, const char *kind,
                         const char *article, const char *date, const char *source)
{
    Stmt *st = db_prepare(
        db, "INSERT INTO treaty_actions (instrument_id, iso3, kind, article, action_date, "
            "source_url, recorded_at) VALUES (:instrument, :iso3, :kind, :article, :date, "
            ":source, :now)");
    db_bind_int(st, ":instrument", instrument);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":kind", kind);
    db_bind_text(st, ":article", article);
    db_bind_text(st, ":date", date);
    db_bind_text(st, ":source", source);
    db_bind_int(st, ":now", now_seconds());
    Result rc = db_run(st);
    db_done(st);
    return rc == R_OK ? 0 : -1;
}

/* The UNTC-name table (data/untc-names.csv), read once: the one way a name
 * on a UNTC page becomes a country, for the seed and imports alike. */
static UntcNames untc_names_table;
static int untc_names_ok;
static pthread_once_t untc_names_once = PTHREAD_ONCE_INIT;

static void untc_names_load_once(void)
{
    const Asset *a = asset_find("data/untc-names.csv");
    char err[256] = "not in the binary";
    untc_names_ok = a && untc_names_load(&untc_names_table, (const char *)a->data, a->len, err,
                                         sizeof err) == R_OK;
    if (!untc_names_ok)
        fprintf(stderr, "ratify: data/untc-names.csv: %s\n", err);
}

/* NULL (said on stderr) if the shipped table is broken. */
static const UntcNames *untc_names(void)
{
    pthread_once(&untc_names_once, untc_names_load_once);
    return untc_names_ok ? &untc_names_table : NULL;
}

const char *treaty_party_kind_label(Request *r, const char *kind)
{
    static const char *const codes[] = {"ratification", "accession", "succession", NULL};
    static const char *const labels[] = {N_("Ratification"), N_("Accession"), N_("Succession"),
                                         NULL};
    return kind && *kind ? tr(r, code_label(codes, labels, kind)) : "";
}

/* UNTC's kinds that Ratify records under another name: an acceptance (A),
 * approval (AA) or formal confirmation (c) has a ratification's effect, and
 * a succession to a signature (d in the signature column) is a signature. */
static const char *recorded_party_kind(const char *untc_kind)
{
    if (!strcmp(untc_kind, "accession") || !strcmp(untc_kind, "succession"))
        return untc_kind;
    return "ratification";
}

static void page_action(PageActions *out, const char *iso3, const char *kind, const char *article,
                        const char *date, const char *text)
{
    if (out->count == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 256;
        out->items = xrealloc(out->items, out->cap * sizeof *out->items);
    }
    PageAction *a = &out->items[out->count++];
    memset(a, 0, sizeof *a);
    snprintf(a->iso3, sizeof a->iso3, "%s", iso3);
    a->kind = kind;
    snprintf(a->article, sizeof a->article, "%s", article);
    copy_date(a->date, date);
    a->text = text;
}

/* One participant's actions. A row UNTC puts in brackets was ended by a
 * denunciation whose date is only in a footnote: it is left out, so the
 * state counts as neither signatory nor party, as on the page's own counts. */
static void participant_actions(PageActions *out, const UntcParticipant *p)
{
    if (p->withdrawn)
        return;
    if (p->signature[0])
        page_action(out, p->iso3, "signature", "", p->signature, p->row);
    if (p->party[0])
        page_action(out, p->iso3, recorded_party_kind(p->party_kind), "", p->party, p->row);
}

/* A declaration under an opt-in article, dated as UNTC dates them ("unless
 * otherwise indicated, made upon ratification or accession"): the party
 * date, else the signature's. -1 when the state is not a participant. */
static int declaration_actions(PageActions *out, const UntcPage *page, const UntcStatement *s)
{
    const char *date = "";
    for (size_t i = 0; i < page->n_participants; i++)
        if (!strcmp(page->participants[i].iso3, s->iso3) && !page->participants[i].withdrawn)
            date = page->participants[i].party[0] ? page->participants[i].party
                                                  : page->participants[i].signature;
    if (!*date)
        return -1;
    for (size_t a = 0; a < s->n_articles; a++) {
        char article[16];
        snprintf(article, sizeof article, "%d", s->articles[a]);
        page_action(out, s->iso3, "declaration", article, date, s->text);
    }
    return 0;
}

Result treaty_page_actions(const UntcPage *page, PageActions *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < page->n_participants; i++)
        participant_actions(out, &page->participants[i]);
    for (size_t i = 0; i < page->n_statements; i++)
        if (page->statements[i].n_articles &&
            declaration_actions(out, page, &page->statements[i]) != 0) {
            snprintf(err, errlen, "%.100s declares under an article but is not a participant",
                     page->statements[i].name);
            return R_BAD_REQUEST;
        }
    return R_OK;
}

const UntcNames *treaty_untc_names(void)
{
    return untc_names();
}

/* Loads one shipped UNTC page into the instrument, every action with the
 * live UNTC page as its source. */
static Result load_untc_page(Db *db, int64_t instrument, const char *path, const char *source)
{
    const Asset *a = asset_find(path);
    const UntcNames *names = untc_names();
    if (!a || !names) {
        fprintf(stderr, "ratify: %s is not in the binary\n", a ? "data/untc-names.csv" : path);
        return R_INTERNAL;
    }
    UntcPage page;
    PageActions acts = {0};
    char err[256];
    Result r = untc_parse((const char *)a->data, a->len, names, &page, err, sizeof err);
    if (r == R_OK)
        r = treaty_page_actions(&page, &acts, err, sizeof err);
    if (r != R_OK) {
        fprintf(stderr, "ratify: %s: %s\n", path, err);
        r = R_INTERNAL;
    }
    for (size_t i = 0; r == R_OK && i < acts.count; i++) {
        const PageAction *x = &acts.items[i];
        if (insert_action(db, instrument, x->iso3, x->kind, x->article, x->date, source) != 0) {
            fprintf(stderr, "ratify: %s: cannot record the actions of %s\n", path, x->iso3);
            r = R_INTERNAL;
        }
    }
    free(acts.items);
    untc_page_free(&page);
    return r;
}

static int has_actions(Db *db, int64_t instrument)
{
    Stmt *st = db_prepare(db, "SELECT 1 FROM treaty_actions WHERE instrument_id = :id LIMIT 1");
    db_bind_int(st, ":id", instrument);
    int found = db_row(st);
    db_done(st);
    return found;
}

/* One shipped UNTC page, its live address and its "as at" date. */
typedef struct {
    int64_t instrument;
    const char *path, *url, *as_of;
} StatusPage;

static Result status_page_apply(Db *w, void *ctx)
{
    const StatusPage *f = ctx;
    Result r = load_untc_page(w, f->instrument, f->path, f->url);
    return r == R_OK ? treaty_set_status_as_of(w, f->instrument, f->as_of) : r;
}

Result treaty_set_status_as_of(Db *w, int64_t instrument, const char *date)
{
    Stmt *st = db_prepare(w, "UPDATE instruments SET status_as_of = :date WHERE id = :id");
    db_bind_text(st, ":date", date);
    db_bind_int(st, ":id", instrument);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* The pages are UNTC's as at 2026-02-03 (data/untc/README.md); each action
 * links to the live page. */
Result treaty_seed(Db *db)
{
    static const StatusPage pages[] = {
        {INSTRUMENT_COVENANT, "data/untc/icescr.html",
         "https://treaties.un.org/Pages/"
         "ViewDetails.aspx?src=TREATY&mtdsg_no=IV-3&chapter=4&clang=_en",
         "2026-02-03"},
        {INSTRUMENT_PROTOCOL, "data/untc/icescr_op.html",
         "https://treaties.un.org/Pages/"
         "ViewDetails.aspx?src=TREATY&mtdsg_no=IV-3-a&chapter=4&clang=_en",
         "2026-02-03"},
        /* The other complaint procedures: a state's record on similar treaties. */
        {INSTRUMENT_OP_CEDAW, "data/untc/cedaw_op.html",
         "https://treaties.un.org/Pages/"
         "ViewDetails.aspx?src=TREATY&mtdsg_no=IV-8-b&chapter=4&clang=_en",
         "2026-02-03"},
        {INSTRUMENT_OP_CRPD, "data/untc/crpd_op.html",
         "https://treaties.un.org/Pages/"
         "ViewDetails.aspx?src=TREATY&mtdsg_no=IV-15-a&chapter=4&clang=_en",
         "2026-02-03"},
        {INSTRUMENT_OP_CRC_IC, "data/untc/crc_op_ic.html",
         "https://treaties.un.org/Pages/"
         "ViewDetails.aspx?src=TREATY&mtdsg_no=IV-11-d&chapter=4&clang=_en",
         "2026-02-03"},
        {INSTRUMENT_ICCPR_OP1, "data/untc/iccpr_op1.html",
         "https://treaties.un.org/Pages/"
         "ViewDetails.aspx?src=TREATY&mtdsg_no=IV-5&chapter=4&clang=_en",
         "2026-02-03"},
    };
    for (size_t i = 0; i < sizeof pages / sizeof pages[0]; i++) {
        if (has_actions(db, pages[i].instrument))
            continue;
        Result r = db_write(db, status_page_apply, (void *)&pages[i]);
        if (r != R_OK)
            return r;
    }
    return R_OK;
}

/* ---- importing ---- */

/* "24 Sep 2009" or "2009-09-24", optionally followed by a mark (a, d, A,
 * AA). Writes the ISO date and the kind the mark means. Returns 0 or -1. */
static int parse_untc_date(const char *text, char iso[11], const char **kind)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    int day, year, month = 0;
    char mon[8] = "", mark[8] = "";
    int y, m, d;
    *kind = "ratification";
    if (sscanf(text, "%4d-%2d-%2d %7s", &y, &m, &d, mark) >= 3) {
        year = y;
        month = m;
        day = d;
    } else if (sscanf(text, "%2d %7s %4d %7s", &day, mon, &year, mark) >= 3) {
        for (int i = 0; i < 12; i++)
            if (strncmp(mon, months[i], 3) == 0)
                month = i + 1;
    } else {
        return -1;
    }
    if (month < 1 || month > 12 || day < 1 || day > 31 || year < 1945 || year > 2100)
        return -1;
    if (strcmp(mark, "a") == 0)
        *kind = "accession";
    else if (strcmp(mark, "d") == 0)
        *kind = "succession";
    else if (mark[0] && strcmp(mark, "A") != 0 && strcmp(mark, "AA") != 0)
        return -1; /* acceptance (A) and approval (AA) count as ratification */
    snprintf(iso, 11, "%04d-%02d-%02d", year, month, day);
    return 0;
}

/* Drops UNTC footnote numbers ("Bosnia and Herzegovina 3") and spaces. */
static void clean_name(const char *in, char out[128])
{
    snprintf(out, 128, "%s", in);
    size_t n = strlen(out);
    while (n &&
           (out[n - 1] == ' ' || (out[n - 1] >= '0' && out[n - 1] <= '9') || out[n - 1] == ','))
        out[--n] = 0;
    const char *start = out;
    while (*start == ' ')
        start++;
    memmove(out, start, strlen(start) + 1);
}

/* Exact lookup of a participant name; never fuzzy. */
static int find_participant(Db *db, const char *name, char iso3[4])
{
    Stmt *st = db_prepare(db, "SELECT iso3 FROM country_names WHERE lang = 'en' "
                              "AND (lower(name) = lower(:name) OR iso3 = :name)");
    db_bind_text(st, ":name", name);
    int found = db_row(st);
    if (found)
        snprintf(iso3, 4, "%s", db_text(st, 0));
    db_done(st);
    if (found)
        return 1;
    /* The UNTC's own names ("St. Lucia"), from the one table. */
    const UntcNames *names = untc_names();
    const char *code = names ? untc_names_find(names, name) : NULL;
    if (code)
        snprintf(iso3, 4, "%s", code);
    return code != NULL;
}

static ImportLine *report_add(ImportReport *rep)
{
    rep->lines = xrealloc(rep->lines, (rep->count + 1) * sizeof *rep->lines);
    ImportLine *l = &rep->lines[rep->count++];
    memset(l, 0, sizeof *l);
    return l;
}

/* The recorded date of an action, or "" if none. */
static void recorded_date(Db *db, int64_t instrument, const char *iso3, const char *kind,
                          char out[11], int64_t *id)
{
    Stmt *st = db_prepare(db, "SELECT action_date, id FROM treaty_actions "
                              "WHERE instrument_id = :i AND iso3 = :iso3 "
                              "AND kind = :kind AND article = ''");
    db_bind_int(st, ":i", instrument);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":kind", kind);
    out[0] = 0;
    *id = 0;
    if (db_row(st)) {
        snprintf(out, 11, "%s", db_text(st, 0));
        *id = db_int(st, 1);
    }
    db_done(st);
}

static void compare_action(Db *db, ImportReport *rep, int64_t instrument, size_t line,
                           const char *participant, const char *iso3, const char *kind,
                           const char *date)
{
    ImportLine *l = report_add(rep);
    l->line = line;
    snprintf(l->participant, sizeof l->participant, "%s", participant);
    snprintf(l->iso3, sizeof l->iso3, "%s", iso3);
    snprintf(l->kind, sizeof l->kind, "%s", kind);
    snprintf(l->new_date, sizeof l->new_date, "%s", date);
    int64_t id;
    recorded_date(db, instrument, iso3, kind, l->old_date, &id);
    if (!l->old_date[0]) {
        l->change = N_("add");
        rep->added++;
    } else if (strcmp(l->old_date, date) != 0) {
        l->change = N_("change");
        rep->changed++;
    } else {
        l->change = N_("same");
        rep->same++;
    }
}

static void report_problem(ImportReport *rep, size_t line, const char *participant,
                           const char *what)
{
    ImportLine *l = report_add(rep);
    l->line = line;
    snprintf(l->participant, sizeof l->participant, "%s", participant);
    l->change = what;
    rep->problems++;
}

static int find_column(const CsvReader *csv, const char *prefix)
{
    for (size_t i = 0; i < csv->count; i++)
        if (strncasecmp(csv->fields[i], prefix, strlen(prefix)) == 0)
            return (int)i;
    return -1;
}

static Result read_import(Db *db, int64_t instrument, const char *text, size_t len,
                          ImportReport *rep)
{
    CsvReader csv;
    csv_open(&csv, text, len);
    Result r = R_BAD_REQUEST;
    if (csv_next(&csv) != 1) {
        snprintf(rep->error, sizeof rep->error, "the file is empty or not CSV");
        goto done;
    }
    int c_name = find_column(&csv, "Participant"), c_sig = find_column(&csv, "Signature"),
        c_party = find_column(&csv, "Ratification");
    if (c_name < 0 || c_sig < 0 || c_party < 0) {
        snprintf(rep->error, sizeof rep->error,
                 "the first line must name the columns Participant, Signature and "
                 "Ratification, Accession(a), Succession(d)");
        goto done;
    }
    int rc;
    while ((rc = csv_next(&csv)) == 1) {
        if ((int)csv.count <= c_name || (int)csv.count <= c_sig || (int)csv.count <= c_party) {
            report_problem(rep, csv.line, "", N_("missing fields"));
            continue;
        }
        char name[128], iso3[4] = "";
        clean_name(csv.fields[c_name], name);
        if (!find_participant(db, name, iso3)) {
            report_problem(rep, csv.line, name, N_("unknown name"));
            continue;
        }
        char date[11];
        const char *kind;
        const char *sig = csv.fields[c_sig], *party = csv.fields[c_party];
        if (*sig && (parse_untc_date(sig, date, &kind) != 0 || strcmp(kind, "ratification"))) {
            report_problem(rep, csv.line, name, N_("bad date"));
            continue;
        }
        if (*sig)
            compare_action(db, rep, instrument, csv.line, name, iso3, "signature", date);
        if (*party) {
            if (parse_untc_date(party, date, &kind) != 0) {
                report_problem(rep, csv.line, name, N_("bad date"));
                continue;
            }
            compare_action(db, rep, instrument, csv.line, name, iso3, kind, date);
        }
    }
    if (rc < 0) {
        snprintf(rep->error, sizeof rep->error, "line %zu: %s", csv.line, csv.error);
        goto done;
    }
    r = rep->problems ? R_BAD_REQUEST : R_OK;
done:
    csv_free(&csv);
    return r;
}

typedef struct {
    int64_t instrument, user_id;
    const ImportReport *rep;
} ImportWrite;

/* Writes the added and changed lines of a checked import, all or none. */
static Result import_write_apply(Db *w, void *ctx)
{
    const ImportWrite *iw = ctx;
    for (size_t i = 0; i < iw->rep->count; i++) {
        const ImportLine *l = &iw->rep->lines[i];
        if (strcmp(l->change, "add") != 0 && strcmp(l->change, "change") != 0)
            continue;
        Stmt *st = db_prepare(
            w, "INSERT INTO treaty_actions (instrument_id, iso3, kind, action_date, note, "
               "recorded_by, recorded_at) VALUES (:i, :iso3, :kind, :date, 'imported', :user, "
               ":now) ON CONFLICT (instrument_id, iso3, kind, article) DO UPDATE SET "
               "action_date = excluded.action_date, recorded_by = excluded.recorded_by, "
               "recorded_at = excluded.recorded_at");
        db_bind_int(st, ":i", iw->instrument);
        db_bind_text(st, ":iso3", l->iso3);
        db_bind_text(st, ":kind", l->kind);
        db_bind_text(st, ":date", l->new_date);
        if (iw->user_id)
            db_bind_int(st, ":user", iw->user_id);
        else
            db_bind_null(st, ":user");
        db_bind_int(st, ":now", now_seconds());
        if (db_run(st) != R_OK)
            return R_INTERNAL;
        char object[32], detail[96];
        snprintf(object, sizeof object, "country %s", l->iso3);
        snprintf(detail, sizeof detail, "instrument %lld %s %s -> %s", (long long)iw->instrument,
                 l->kind, l->old_date[0] ? l->old_date : "none", l->new_date);
        if (audit_log(w, iw->user_id, "treaty action imported", object, detail) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

Result treaty_import(Db *db, int64_t instrument_id, const char *csv, size_t len, int apply,
                     int64_t user_id, ImportReport *report)
{
    memset(report, 0, sizeof *report);
    Result r = read_import(db, instrument_id, csv, len, report);
    if (r != R_OK || !apply || report->added + report->changed == 0)
        return r;
    ImportWrite iw = {.instrument = instrument_id, .user_id = user_id, .rep = report};
    return db_write(db, import_write_apply, &iw);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    Buf b = {0};
    char chunk[65536];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_append(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.data ? b.data : xstrdup("");
}

Result treaty_import_cmd(Db *db, int argc, char **argv)
{
    /* The campaign's instrument unless another is named. */
    Campaign c = treaty_campaign(db);
    const char *path = NULL, *slug = c.slug;
    int apply = 0;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--apply") == 0)
            apply = 1;
        else if (strcmp(argv[i], "--instrument") == 0 && i + 1 < argc)
            slug = argv[++i];
        else if (!path && argv[i][0] != '-')
            path = argv[i];
        else {
            fprintf(stderr, "usage: ratify import treaty-status FILE [--instrument SLUG] "
                            "[--apply]\n");
            return R_BAD_REQUEST;
        }
    }
    int64_t id, parent;
    if (!path) {
        fprintf(stderr, "usage: ratify import treaty-status FILE [--instrument SLUG] [--apply]\n");
        return R_BAD_REQUEST;
    }
    if (treaty_find(db, slug, &id, &parent) != R_OK) {
        say_unknown_instrument(db, slug);
        return R_NOT_FOUND;
    }
    size_t len;
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "ratify: cannot read %s\n", path);
        return R_NOT_FOUND;
    }
    ImportReport rep;
    Result r = treaty_import(db, id, text, len, apply, 0, &rep);
    free(text);
    if (rep.error[0])
        fprintf(stderr, "ratify: %s: %s\n", path, rep.error);
    for (size_t i = 0; i < rep.count; i++) {
        const ImportLine *l = &rep.lines[i];
        if (strcmp(l->change, "same") == 0)
            continue;
        printf("line %-4zu %-34s %-4s %-13s %-10s -> %-10s %s\n", l->line, l->participant, l->iso3,
               l->kind, l->old_date[0] ? l->old_date : "-", l->new_date[0] ? l->new_date : "-",
               l->change);
    }
    printf("%d to add, %d to change, %d unchanged, %d problem(s).\n", rep.added, rep.changed,
           rep.same, rep.problems);
    if (r == R_OK)
        printf(apply ? "Applied.\n" : "Dry run: nothing was written. Add --apply to apply.\n");
    else if (r == R_BAD_REQUEST && !rep.error[0])
        printf("Nothing was written: fix the problems above first.\n");
    free(rep.lines);
    return r;
}

/* ---- the import page ---- */

static json_t *report_json(Request *r, const ImportReport *rep)
{
    json_t *lines = json_array();
    for (size_t i = 0; i < rep->count; i++) {
        const ImportLine *l = &rep->lines[i];
        if (strcmp(l->change, "same") == 0)
            continue;
        int problem = strcmp(l->change, "add") != 0 && strcmp(l->change, "change") != 0;
        json_array_append_new(lines, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "line",
                                                (json_int_t)l->line, "participant", l->participant,
                                                "iso3", l->iso3, "kind", l->kind, "old_date",
                                                l->old_date, "new_date", l->new_date, "change",
                                                tr(r, l->change), "problem", problem));
    }
    return json_build("{s:o, s:i, s:i, s:i, s:i, s:s}", "lines", lines, "added", rep->added,
                      "changed", rep->changed, "same", rep->same, "problems", rep->problems,
                      "error", rep->error);
}

/* The instruments to import for: the campaign's first, then its parent,
 * then the others; chosen the one typed, else the campaign's. */
static json_t *import_instruments(Request *r, const char *chosen)
{
    Campaign c = treaty_campaign(r->db);
    if (!chosen)
        chosen = c.slug;
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT slug, short_name FROM instruments "
                                 "ORDER BY CASE WHEN id = :campaign THEN 0 "
                                 "WHEN id = :parent THEN 1 ELSE 2 END, id");
    db_bind_int(st, ":campaign", c.id);
    db_bind_int(st, ":parent", c.parent_id);
    while (db_row(st))
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "slug", db_text(st, 0),
                                               "short_name", db_text(st, 1), "selected",
                                               !strcmp(db_text(st, 0), chosen)));
    db_done(st);
    return list;
}

Result treaty_import_page(Request *r)
{
    r->page = "admin_import";
    r->title = tr(r, "Import a treaty status file");
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, "instruments", import_instruments(r, NULL));
    return R_OK;
}

Result treaty_import_post(Request *r)
{
    treaty_import_page(r);
    const Param *file = form_get(&r->form, "file");
    const Param *pasted = form_get(&r->form, "csv");
    const Param *src = file && file->len ? file : pasted;
    const char *slug = NULL;
    int64_t id, parent;
    if (param_slug(r, "instrument", 1, 64, &slug) != R_OK ||
        treaty_find(r->db, slug, &id, &parent) != R_OK) {
        json_decref(r->errors);
        r->errors = json_build("{s:s}", "instrument", tr(r, "Please choose one of the options."));
        return R_BAD_REQUEST;
    }
    if (!src || src->len == 0) {
        r->errors = json_build("{s:s}", "file", tr(r, "Please choose a CSV file."));
        return R_BAD_REQUEST;
    }
    if (!utf8_valid_text(src->value, src->len)) {
        r->errors = json_build("{s:s}", "file", tr(r, "The file must be CSV text in UTF-8."));
        return R_BAD_REQUEST;
    }
    int apply = 0;
    if (param_checkbox(r, "apply", &apply) != R_OK)
        return R_BAD_REQUEST;
    ImportReport rep;
    Result res = treaty_import(r->db, id, src->value, src->len, apply, r->user->id, &rep);
    json_object_set_new(r->data, "report", report_json(r, &rep));
    json_object_set_new(r->data, "csv", json_stringn(src->value, src->len));
    json_object_set_new(r->data, "instrument", json_string(slug));
    json_object_set_new(r->data, "instruments", import_instruments(r, slug));
    json_object_set_new(r->data, "applied", json_boolean(apply && res == R_OK));
    json_object_set_new(r->data, "can_apply",
                        json_boolean(!apply && res == R_OK && rep.added + rep.changed > 0));
    free(rep.lines);
    if (res == R_BAD_REQUEST && rep.error[0])
        r->message = arena_strdup(r->arena, rep.error);
    else if (res == R_BAD_REQUEST)
        r->message = tr(r, "Nothing was written: fix the problems listed below and try again.");
    return res;
}

/* ---- every country's standing ---- */

int treaty_row_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const CountryRow *)elem)->iso3);
}

const int64_t treaty_other_ids[OTHER_PROCEDURES] = {INSTRUMENT_PROTOCOL, INSTRUMENT_OP_CEDAW,
                                                    INSTRUMENT_OP_CRPD, INSTRUMENT_OP_CRC_IC,
                                                    INSTRUMENT_ICCPR_OP1};
/* Their short names, as in schema/002_countries.sql and
 * 013_complaint_procedures.sql. */
static const char *const other_names[OTHER_PROCEDURES] = {"OP-ICESCR", "OP-CEDAW", "OP-CRPD",
                                                          "OP-CRC-IC", "ICCPR-OP1"};

/* Where an instrument's standing goes in a row: which is 0 for the
 * campaign's parent (the Covenant), 1 for the campaign instrument (the
 * Protocol), 2 + k for treaty_other_ids[k]. */
static Standing *row_slot(CountryRow *row, int which)
{
    return which == 0 ? &row->covenant : which == 1 ? &row->protocol : &row->other[which - 2];
}

/* Folds every action of an instrument into the rows (sorted by iso3). */
static void fold_actions(Db *db, int64_t instrument, CountryRow *rows, size_t n, int which)
{
    Stmt *st = db_prepare(db, "SELECT iso3, kind, article, action_date "
                              "FROM treaty_actions WHERE instrument_id = :id "
                              "ORDER BY iso3, action_date, id");
    db_bind_int(st, ":id", instrument);
    while (db_row(st)) {
        CountryRow *row = bsearch(db_text(st, 0), rows, n, sizeof *rows, treaty_row_cmp);
        if (row)
            treaty_apply_action(row_slot(row, which), db_text(st, 1), db_text(st, 2),
                                db_text(st, 3));
    }
    db_done(st);
}

/* Every country (states only unless all), sorted by iso3, in the arena. */
CountryRow *treaty_countries(Request *r, const Campaign *c, int all, size_t *count)
{
    Stmt *st =
        db_prepare(r->db, "SELECT c.iso3, coalesce(n.name, e.name), c.un_status, c.un_group, "
                          "c.organisations FROM countries c "
                          "LEFT JOIN country_names n ON n.iso3 = c.iso3 AND n.lang = :lang "
                          "JOIN country_names e ON e.iso3 = c.iso3 AND e.lang = 'en' "
                          "WHERE :all = 1 OR c.un_status <> 'other' ORDER BY c.iso3");
    db_bind_text(st, ":lang", r->lang);
    db_bind_int(st, ":all", all);
    size_t n = 0, cap = 256;
    CountryRow *rows = arena_alloc(r->arena, cap * sizeof *rows);
    while (db_row(st)) {
        if (n == cap) {
            CountryRow *bigger = arena_alloc(r->arena, cap * 2 * sizeof *rows);
            memcpy(bigger, rows, n * sizeof *rows);
            rows = bigger;
            cap *= 2;
        }
        CountryRow *row = &rows[n++];
        snprintf(row->iso3, sizeof row->iso3, "%s", db_text(st, 0));
        row->name = arena_strdup(r->arena, db_text(st, 1));
        row->un_status = arena_strdup(r->arena, db_text(st, 2));
        row->un_group = arena_strdup(r->arena, db_text(st, 3));
        row->organisations = arena_strdup(r->arena, db_text(st, 4));
    }
    db_done(st);
    if (c->parent_id)
        fold_actions(r->db, c->parent_id, rows, n, 0);
    fold_actions(r->db, c->id, rows, n, 1);
    /* The campaign's own slot stays empty: the record is on the others. */
    for (int k = 0; k < OTHER_PROCEDURES; k++)
        if (treaty_other_ids[k] != c->id)
            fold_actions(r->db, treaty_other_ids[k], rows, n, 2 + k);
    *count = n;
    return rows;
}

void treaty_row_standings(Db *db, const Campaign *c, CountryRow *row)
{
    row->protocol = treaty_standing(db, c->id, row->iso3);
    row->covenant = c->parent_id ? treaty_standing(db, c->parent_id, row->iso3) : (Standing){0};
    for (int k = 0; k < OTHER_PROCEDURES; k++)
        row->other[k] = treaty_other_ids[k] == c->id
                            ? (Standing){0}
                            : treaty_standing(db, treaty_other_ids[k], row->iso3);
}

int treaty_accepted_count(const CountryRow *row)
{
    int n = 0;
    for (int k = 0; k < OTHER_PROCEDURES; k++)
        n += row->other[k].status == STATUS_PARTY;
    return n;
}

size_t treaty_accepted_procedures(const CountryRow *row, AcceptedProcedure out[OTHER_PROCEDURES])
{
    /* The parties' slots, by party date: the record reads as a history. */
    int order[OTHER_PROCEDURES];
    size_t n = 0;
    for (int k = 0; k < OTHER_PROCEDURES; k++) {
        if (row->other[k].status != STATUS_PARTY)
            continue;
        size_t at = n++;
        while (at > 0 &&
               strcmp(row->other[k].party_date, row->other[order[at - 1]].party_date) < 0) {
            order[at] = order[at - 1];
            at--;
        }
        order[at] = k;
    }
    for (size_t i = 0; i < n; i++) {
        out[i].instrument = other_names[order[i]];
        snprintf(out[i].year, sizeof out[i].year, "%.4s", row->other[order[i]].party_date);
    }
    return n;
}

const char *treaty_procedures_list(Arena *arena, const char *and_word, const AcceptedProcedure *p,
                                   size_t n)
{
    Buf b = {0};
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && i + 1 == n)
            buf_printf(&b, " %s ", and_word);
        else if (i > 0)
            buf_printf(&b, ", ");
        buf_printf(&b, "%s (%s)", p[i].instrument, p[i].year);
    }
    const char *list = arena_strndup(arena, b.data ? b.data : "", b.len);
    buf_free(&b);
    return list;
}

const char *treaty_procedures_text(Arena *arena, const char *lang, const AcceptedProcedure *p,
                                   size_t n)
{
    if (n == 0)
        return i18n_gettext(lang, N_("Has not accepted any other UN complaint procedure."));
    return arena_printf(arena, "%s %s.",
                        i18n_gettext(lang, N_("Accepts individual complaints under")),
                        treaty_procedures_list(arena, i18n_gettext(lang, N_("and")), p, n));
}

const char *treaty_status_label(TreatyStatus s)
{
    return s == STATUS_PARTY       ? N_("Party")
           : s == STATUS_SIGNATORY ? N_("Signatory")
                                   : N_("No action");
}

static SortKey sort_key;

static int compare_rows(const void *a, const void *b)
{
    const CountryRow *x = a, *y = b;
    int c = 0;
    switch (sort_key) {
    case SORT_STATUS:
        c = (int)y->protocol.status - (int)x->protocol.status;
        break;
    case SORT_SIGNATURE:
        c = strcmp(y->protocol.signature_date, x->protocol.signature_date);
        break;
    case SORT_PARTY:
        c = strcmp(y->protocol.party_date, x->protocol.party_date);
        break;
    case SORT_PROCEDURES:
        c = treaty_accepted_count(y) - treaty_accepted_count(x);
        break;
    case SORT_NAME:
        break;
    }
    return c ? c : strcoll(x->name, y->name);
}

static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;

void treaty_sort_countries(CountryRow *rows, size_t n, SortKey key)
{
    /* qsort has no context argument in C11; the lock keeps the key
     * per call. Sorting 195 rows takes microseconds. */
    pthread_mutex_lock(&sort_lock);
    sort_key = key;
    qsort(rows, n, sizeof *rows, compare_rows);
    pthread_mutex_unlock(&sort_lock);
}

/* ---- /treaties/{slug} ---- */

Result treaty_page(Request *r)
{
    const char *slug = "";
    if (param_slug(r, "slug", 1, 64, &slug) != R_OK)
        slug = ""; /* no instrument has it: the 404 below */
    Stmt *st =
        db_prepare(r->db, "SELECT i.id, i.slug, i.short_name, i.title, i.adopted_on, i.opened_on, "
                          "coalesce(i.in_force_on, ''), i.in_force_condition, i.depositary_ref, "
                          "i.source_url, i.opt_in_articles, coalesce(i.status_as_of, ''), "
                          "coalesce(p.short_name, ''), coalesce(p.slug, '') "
                          "FROM instruments i LEFT JOIN instruments p ON p.id = i.parent_id "
                          "WHERE i.slug = :slug");
    db_bind_text(st, ":slug", slug ? slug : "");
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    int64_t id = db_int(st, 0);
    json_t *instrument = json_build(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "slug", db_text(st, 1),
        "short_name", db_text(st, 2), "title", db_text(st, 3), "adopted_on", db_text(st, 4),
        "opened_on", db_text(st, 5), "in_force_on", db_text(st, 6), "in_force_condition",
        db_text(st, 7), "depositary_ref", db_text(st, 8), "source_url", db_text(st, 9),
        "opt_in_articles", db_text(st, 10), "status_as_of", db_text(st, 11), "parent_short_name",
        db_text(st, 12), "parent_slug", db_text(st, 13));
    db_done(st);
    size_t n;
    Campaign c = treaty_campaign(r->db);
    CountryRow *rows = treaty_countries(r, &c, 0, &n);
    /* The rows fold the campaign instrument into .protocol: another
     * instrument's standing takes its place there. */
    if (id != c.id) {
        for (size_t i = 0; i < n; i++)
            rows[i].protocol = id == c.parent_id ? rows[i].covenant : (Standing){0};
        if (id != c.parent_id)
            fold_actions(r->db, id, rows, n, 1);
    }
    treaty_sort_countries(rows, n, SORT_PARTY);
    int parties = 0, signatories = 0, signatures = 0;
    json_t *states = json_array();
    for (size_t i = 0; i < n; i++) {
        const Standing *s = &rows[i].protocol;
        parties += s->status == STATUS_PARTY;
        signatories += s->status == STATUS_SIGNATORY;
        signatures += s->signature_date[0] != 0;
        if (s->status == STATUS_NONE && !s->withdrawn)
            continue;
        json_array_append_new(
            states,
            json_build("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "iso3", rows[i].iso3, "name",
                       rows[i].name, "status", treaty_status_code(s->status), "status_label",
                       tr(r, treaty_status_label(s->status)), "signature_date", s->signature_date,
                       "party_date", s->party_date, "party_kind", s->party_kind, "party_kind_label",
                       treaty_party_kind_label(r, s->party_kind)));
    }
    r->cache_public = 1;
    r->page = "treaty";
    const char *title = title_in(r, json_string_value(json_object_get(instrument, "title")));
    r->title = arena_strdup(r->arena, title);
    if (!r->is_api) { /* the API keeps the record's own words */
        json_object_set_new(instrument, "title", json_string(title));
        const char *articles = json_string_value(json_object_get(instrument, "opt_in_articles"));
        Buf b = {0};
        put_articles(&b, articles ? articles : "", tr(r, "and"));
        json_object_set_new(instrument, "opt_in_articles_text", json_string(b.data ? b.data : ""));
        buf_free(&b);
        const char *condition =
            json_string_value(json_object_get(instrument, "in_force_condition"));
        json_object_set_new(
            instrument, "in_force_condition",
            json_string(known_in(r, instrument_conditions,
                                 sizeof instrument_conditions / sizeof *instrument_conditions,
                                 condition ? condition : "")));
    }
    r->data = json_build("{s:o, s:{s:i, s:i, s:i, s:i}, s:o}", "instrument", instrument, "counts",
                         "parties", parties, "signatories", signatories, "signatures", signatures,
                         "states", (int)n, "participants", states);
    return R_OK;
}

size_t treaty_country_accepted(Db *db, const Campaign *c, const char *iso3,
                               AcceptedProcedure out[OTHER_PROCEDURES])
{
    CountryRow row = {0};
    snprintf(row.iso3, sizeof row.iso3, "%s", iso3);
    treaty_row_standings(db, c, &row);
    return treaty_accepted_procedures(&row, out);
}
