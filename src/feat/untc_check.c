/*
 * untc_check.c: the treaty record kept current from the UN Treaty
 * Collection, with a person in the loop (issue 11 item 3).
 *
 * `ratify untc check` and the opt-in daily job fetch each instrument's live
 * status page with libcurl, read it with base/untc.c, turn it into actions
 * with treaty_page_actions (the mapping the seed uses, so an unchanged page
 * finds nothing) and compare them with the recorded actions. Every
 * difference (a new action, a changed date, a new declaration, a vanished
 * row) goes into the review queue, untc_changes; administrators see each
 * beside the UNTC text on /admin/untc and apply or reject it. Applying
 * writes the action through treaty.c and an audit line naming the UNTC page,
 * in one transaction.
 *
 * Invariant: a check writes only its own tables (and the instrument's "as
 * at" date when it succeeded); nothing reaches treaty_actions without an
 * administrator. Failures are loud and harmless: offline, a page that is
 * not a status page, counts that do not add up, too many rows gone at once
 * all record a failed check with the reason, change nothing, and email
 * every administrator.
 */
#include "feat/untc_check.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/i18n.h"
#include "base/version.h"
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "feat/notification.h"
#include "svc/audit.h"
#include "svc/http.h"
#include "svc/mail.h"

enum {
    UNTC_MAX_PAGE = 16 * 1024 * 1024, /* the pages are about 1 MB */
    UNTC_CONNECT_TIMEOUT = 20,        /* seconds */
    UNTC_TIMEOUT = 120,               /* seconds, for the whole transfer */
    UNTC_DAY = 24 * 3600,
    UNTC_CHECKS_SHOWN = 30,
    UNTC_DECIDED_SHOWN = 30,
    UNTC_MAX_INSTRUMENTS = 32,
};

/* ---- the difference (pure) ---- */

static void add_change(UntcChanges *out, const PageAction *a, const char *change,
                       const char *old_date, const char *new_date, const char *text)
{
    if (out->count == out->cap) {
        out->cap = out->cap ? 2 * out->cap : 16;
        out->items = xrealloc(out->items, out->cap * sizeof *out->items);
    }
    UntcChange *c = &out->items[out->count++];
    memset(c, 0, sizeof *c);
    snprintf(c->iso3, sizeof c->iso3, "%s", a->iso3);
    snprintf(c->kind, sizeof c->kind, "%s", a->kind);
    snprintf(c->article, sizeof c->article, "%s", a->article);
    c->change = change;
    snprintf(c->old_date, sizeof c->old_date, "%s", old_date);
    snprintf(c->new_date, sizeof c->new_date, "%s", new_date);
    c->text = text ? text : "";
}

static int same_action(const PageAction *a, const PageAction *b)
{
    return !strcmp(a->iso3, b->iso3) && !strcmp(a->kind, b->kind) &&
           !strcmp(a->article, b->article);
}

static const PageAction *find_action(const PageActions *list, const PageAction *a)
{
    for (size_t i = 0; i < list->count; i++)
        if (same_action(&list->items[i], a))
            return &list->items[i];
    return NULL;
}

void untc_check_diff(const PageActions *page, const PageActions *recorded, UntcChanges *out)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < page->count; i++) {
        const PageAction *p = &page->items[i];
        const PageAction *r = find_action(recorded, p);
        if (!r)
            add_change(out, p, "new", "", p->date, p->text);
        else if (strcmp(r->date, p->date) != 0)
            add_change(out, p, "changed", r->date, p->date, p->text);
    }
    for (size_t i = 0; i < recorded->count; i++)
        if (!find_action(page, &recorded->items[i]))
            add_change(out, &recorded->items[i], "vanished", recorded->items[i].date, "", "");
}

void untc_check_report_free(UntcCheckReport *rep)
{
    free(rep->changes.items);
    rep->changes.items = NULL;
    rep->changes.count = rep->changes.cap = 0;
}

/* ---- fetching ---- */

typedef struct {
    Buf body;
    int too_big;
} Download;

static size_t download_write(char *data, size_t size, size_t count, void *arg)
{
    Download *d = arg;
    size_t n = size * count;
    if (d->body.len + n > UNTC_MAX_PAGE) {
        d->too_big = 1;
        return 0; /* makes libcurl stop with a write error */
    }
    buf_append(&d->body, data, n);
    return n;
}

static int is_web_url(const char *url)
{
    return url && (!strncasecmp(url, "https://", 8) || !strncasecmp(url, "http://", 7));
}

/* libcurl's global set-up, once per process: the mail sender may be
 * starting its own on another thread. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_ready = CURLE_FAILED_INIT;

static void curl_setup(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* GETs url (redirects followed, to http and https only) into d->body.
 * 0, or -1 with the reason in err. */
static int fetch_page(const char *url, Download *d, char *err, size_t errlen)
{
    char curl_err[CURL_ERROR_SIZE] = "";
    pthread_once(&curl_once, curl_setup);
    CURL *c = curl_ready == CURLE_OK ? curl_easy_init() : NULL;
    if (!c) {
        snprintf(err, errlen, "libcurl could not be initialised");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(c, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)UNTC_CONNECT_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)UNTC_TIMEOUT);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* called from server threads */
    curl_easy_setopt(c, CURLOPT_USERAGENT, "Ratify/" RATIFY_VERSION " (treaty status check)");
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, download_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
    CURLcode rc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(c);
    if (d->too_big)
        snprintf(err, errlen, "the page is larger than %d MB", UNTC_MAX_PAGE / (1024 * 1024));
    else if (rc != CURLE_OK)
        snprintf(err, errlen, "cannot fetch the page: %s",
                 curl_err[0] ? curl_err : curl_easy_strerror(rc));
    else if (status != 200)
        snprintf(err, errlen, "the server answered HTTP %ld, not 200", status);
    else
        return 0;
    return -1;
}

/* ---- reading and comparing ---- */

/* The recorded kinds as literals (PageAction borrows its kind). */
static const char *kind_literal(const char *kind)
{
    static const char *const kinds[] = {"signature", "ratification", "accession", "succession",
                                        "declaration"};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
        if (!strcmp(kind, kinds[i]))
            return kinds[i];
    return NULL;
}

/* The instrument's recorded actions of the kinds a page gives (a
 * withdrawal recorded by hand is not on a page, so it is not compared). */
static void recorded_actions(Db *db, int64_t instrument, PageActions *out)
{
    memset(out, 0, sizeof *out);
    Stmt *st = db_prepare(db, "SELECT iso3, kind, article, action_date FROM treaty_actions "
                              "WHERE instrument_id = :i ORDER BY iso3, kind, article");
    db_bind_int(st, ":i", instrument);
    while (db_row(st)) {
        const char *kind = kind_literal(db_text(st, 1));
        if (!kind)
            continue;
        if (out->count == out->cap) {
            out->cap = out->cap ? 2 * out->cap : 256;
            out->items = xrealloc(out->items, out->cap * sizeof *out->items);
        }
        PageAction *a = &out->items[out->count++];
        memset(a, 0, sizeof *a);
        snprintf(a->iso3, sizeof a->iso3, "%s", db_text(st, 0));
        a->kind = kind;
        snprintf(a->article, sizeof a->article, "%s", db_text(st, 2));
        snprintf(a->date, sizeof a->date, "%s", db_text(st, 3));
        a->text = "";
    }
    db_done(st);
}

/* A page read without error can still be the wrong page, or the right one
 * cut short: more than a tenth of the record gone at once (at least five
 * rows) is taken for a changed layout, not for history. */
static size_t too_many_vanished(const UntcChanges *changes, size_t recorded)
{
    size_t gone = 0;
    for (size_t i = 0; i < changes->count; i++)
        gone += !strcmp(changes->items[i].change, "vanished");
    return gone >= 5 && gone * 10 > recorded ? gone : 0;
}

/* Parses html and compares it with the record: rep->changes, or rep->reason. */
static int compare_page(Db *db, int64_t instrument, const char *html, size_t len,
                        UntcCheckReport *rep, UntcPage *page)
{
    const UntcNames *names = treaty_untc_names();
    if (!names) {
        snprintf(rep->reason, sizeof rep->reason, "data/untc-names.csv is broken");
        return -1;
    }
    char err[256];
    if (untc_parse(html, len, names, page, err, sizeof err) != R_OK) {
        snprintf(rep->reason, sizeof rep->reason, "the page cannot be read: %s", err);
        return -1;
    }
    PageActions acts, recorded;
    int ok = treaty_page_actions(page, &acts, err, sizeof err) == R_OK;
    if (!ok)
        snprintf(rep->reason, sizeof rep->reason, "the page cannot be read: %s", err);
    recorded_actions(db, instrument, &recorded);
    if (ok) {
        untc_check_diff(&acts, &recorded, &rep->changes);
        rep->differences = rep->changes.count;
    }
    size_t gone = ok ? too_many_vanished(&rep->changes, recorded.count) : 0;
    if (gone) {
        snprintf(rep->reason, sizeof rep->reason,
                 "%zu of the %zu recorded actions are not on the page (a changed layout?): "
                 "nothing was queued",
                 gone, recorded.count);
        ok = 0;
    }
    free(acts.items);
    free(recorded.items);
    return ok ? 0 : -1;
}

/* ---- recording a check ---- */

typedef struct {
    int64_t instrument;
    const char *url;
    UntcCheckReport *rep;
    int64_t now;
} CheckWrite;

/* 1 when the same change is already pending, or was rejected: the queue
 * holds each difference once, and a rejected one stays rejected until the
 * page says something else. */
static int already_known(Db *w, int64_t instrument, const UntcChange *c)
{
    Stmt *st = db_prepare(w, "SELECT 1 FROM untc_changes WHERE instrument_id = :i "
                             "AND iso3 = :iso3 AND kind = :kind AND article = :article "
                             "AND change_kind = :change AND old_date = :old "
                             "AND new_date = :new AND state IN ('pending', 'rejected')");
    db_bind_int(st, ":i", instrument);
    db_bind_text(st, ":iso3", c->iso3);
    db_bind_text(st, ":kind", c->kind);
    db_bind_text(st, ":article", c->article);
    db_bind_text(st, ":change", c->change);
    db_bind_text(st, ":old", c->old_date);
    db_bind_text(st, ":new", c->new_date);
    int found = db_row(st);
    db_done(st);
    return found;
}

static Result queue_change(Db *w, const CheckWrite *cw, int64_t check_id, const UntcChange *c)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO untc_changes (instrument_id, iso3, kind, article, change_kind, old_date, "
           "new_date, untc_text, source_url, check_id) VALUES (:i, :iso3, :kind, :article, "
           ":change, :old, :new, :text, :url, :check)");
    db_bind_int(st, ":i", cw->instrument);
    db_bind_text(st, ":iso3", c->iso3);
    db_bind_text(st, ":kind", c->kind);
    db_bind_text(st, ":article", c->article);
    db_bind_text(st, ":change", c->change);
    db_bind_text(st, ":old", c->old_date);
    db_bind_text(st, ":new", c->new_date);
    db_bind_text(st, ":text", c->text);
    db_bind_text(st, ":url", cw->url);
    db_bind_int(st, ":check", check_id);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* The failed checks in one message, in lang: treaty, page and reason each. */
static void alert_body(Buf *body, const char *lang, const UntcCheckReport *reps, size_t n,
                       const char *base_url)
{
    /* Whole translated sentences and labels, no translated formats. */
    buf_printf(body, "%s\n",
               i18n_gettext(lang, N_("Ratify could not check a status page of the UN Treaty "
                                     "Collection.")));
    for (size_t i = 0; i < n; i++)
        if (!reps[i].ok)
            buf_printf(body, "\n%s: %s\n%s: %s\n%s: %s\n", i18n_gettext(lang, N_("Treaty")),
                       reps[i].instrument_name, i18n_gettext(lang, N_("Page")), reps[i].url,
                       i18n_gettext(lang, N_("Why")), reps[i].reason);
    buf_printf(body, "\n%s\n%s: %s/admin/untc\n",
               i18n_gettext(lang, N_("Nothing was changed in the treaty record.")),
               i18n_gettext(lang, N_("The checks and the changes waiting for review")), base_url);
}

typedef struct {
    const UntcCheckReport *reps;
    size_t n;
    const char *base_url;
} Alert;

/* One message to every enabled administrator, in their language. */
static Result alert_apply(Db *w, void *ctx)
{
    const Alert *al = ctx;
    const char *first = NULL;
    size_t failed = 0;
    for (size_t i = 0; i < al->n; i++)
        if (!al->reps[i].ok && failed++ == 0)
            first = al->reps[i].instrument_name;
    Stmt *st = db_prepare(w, "SELECT email, coalesce(lang, 'en') FROM users "
                             "WHERE role = 'admin' AND disabled = 0 ORDER BY id");
    Result r = R_OK;
    while (db_row(st)) {
        const char *lang = db_text(st, 1);
        char subject[200];
        snprintf(subject, sizeof subject, "%s: %s%s", i18n_gettext(lang, N_("UNTC check failed")),
                 first, failed > 1 ? ", ..." : "");
        Buf body = {0};
        alert_body(&body, lang, al->reps, al->n, al->base_url);
        Result m = mail_queue(w, db_text(st, 0), subject, body.data);
        free(body.data);
        if (m == R_INTERNAL)
            r = R_INTERNAL; /* an address mail_queue refuses is skipped, not fatal */
    }
    db_done(st);
    return r;
}

Result untc_check_alert(Db *db, const UntcCheckReport *reps, size_t n, const char *base_url)
{
    size_t failed = 0;
    for (size_t i = 0; i < n; i++)
        failed += !reps[i].ok;
    if (!failed)
        return R_OK;
    Alert al = {.reps = reps, .n = n, .base_url = base_url ? base_url : ""};
    Result r = db_write(db, alert_apply, &al);
    if (r != R_OK)
        log_info("untc check: the administrators could not be emailed");
    return r;
}

typedef struct {
    size_t queued;
    const char *base_url;
} Queued;

static Result queued_apply(Db *w, void *ctx)
{
    const Queued *q = ctx;
    return notification_reviews_queued(w, "untc", (int64_t)q->queued, 0, q->base_url);
}

/* The administrators told once for the whole run of the changes it newly
 * queued (not once per instrument or per change); a failed check's count
 * was rolled back with it. */
static void tell_queued(Db *db, const UntcCheckReport *reps, size_t n, const char *base_url)
{
    Queued q = {.queued = 0, .base_url = base_url};
    for (size_t i = 0; i < n; i++)
        if (reps[i].ok)
            q.queued += reps[i].queued;
    if (q.queued && db_write(db, queued_apply, &q) != R_OK)
        log_info("untc check: the administrators could not be told of the changes queued");
}

static Result record_check_apply(Db *w, void *ctx)
{
    CheckWrite *cw = ctx;
    UntcCheckReport *rep = cw->rep;
    Stmt *st = db_prepare(w, "INSERT INTO untc_checks (instrument_id, url, checked_at, outcome, "
                             "reason) VALUES (:i, :url, :now, :outcome, :reason) RETURNING id");
    db_bind_int(st, ":i", cw->instrument);
    db_bind_text(st, ":url", cw->url);
    db_bind_int(st, ":now", cw->now);
    db_bind_text(st, ":outcome", rep->ok ? "ok" : "failed");
    db_bind_text(st, ":reason", rep->reason);
    int64_t check_id;
    if (db_insert(st, &check_id) != R_OK)
        return R_INTERNAL;
    if (!rep->ok)
        return R_OK;
    rep->queued = 0;
    for (size_t i = 0; i < rep->changes.count; i++) {
        if (already_known(w, cw->instrument, &rep->changes.items[i]))
            continue;
        if (queue_change(w, cw, check_id, &rep->changes.items[i]) != R_OK)
            return R_INTERNAL;
        rep->queued++;
    }
    st = db_prepare(w, "UPDATE untc_checks SET queued = :n WHERE id = :id");
    db_bind_int(st, ":n", (int64_t)rep->queued);
    db_bind_int(st, ":id", check_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    /* The record is the depositary's as at the last successful check. */
    char today[11];
    format_utc(cw->now, "%Y-%m-%d", today, sizeof today);
    return treaty_set_status_as_of(w, cw->instrument, today);
}

/* The instrument's short name and live page, into the arena-less caller's
 * buffers. 0, or -1 when there is no such instrument. */
static int instrument_info(Db *db, int64_t instrument, char *name, size_t nlen, char *url,
                           size_t ulen)
{
    Stmt *st = db_prepare(db, "SELECT short_name, source_url FROM instruments WHERE id = :i");
    db_bind_int(st, ":i", instrument);
    int found = db_row(st);
    if (found) {
        snprintf(name, nlen, "%s", db_text(st, 0));
        snprintf(url, ulen, "%s", db_text(st, 1));
    }
    db_done(st);
    return found ? 0 : -1;
}

Result untc_check_instrument(Db *db, int64_t instrument, const char *url, UntcCheckReport *rep)
{
    memset(rep, 0, sizeof *rep);
    char source[sizeof rep->url];
    if (instrument_info(db, instrument, rep->instrument_name, sizeof rep->instrument_name, source,
                        sizeof source) != 0)
        return R_NOT_FOUND;
    snprintf(rep->url, sizeof rep->url, "%s", url ? url : source);
    url = rep->url;
    const char *name = rep->instrument_name;
    Download d = {0};
    UntcPage page = {0};
    if (!is_web_url(url))
        snprintf(rep->reason, sizeof rep->reason, "the address is not http:// or https://");
    else if (fetch_page(url, &d, rep->reason, sizeof rep->reason) == 0)
        rep->ok = compare_page(db, instrument, d.body.data ? d.body.data : "", d.body.len, rep,
                               &page) == 0;
    if (!rep->ok)
        log_info("untc check: %s failed: %s", name, rep->reason);
    CheckWrite cw = {.instrument = instrument, .url = url, .rep = rep, .now = now_seconds()};
    Result r = db_write(db, record_check_apply, &cw);
    /* The changes borrow the page's texts; the caller sees no text after. */
    for (size_t i = 0; i < rep->changes.count; i++)
        rep->changes.items[i].text = "";
    untc_page_free(&page);
    free(d.body.data);
    return r;
}

/* ---- the command line ---- */

/* Every instrument's id and slug, read before any check writes (a write
 * must not start while this connection is still stepping a statement). */
static size_t instrument_list(Db *db, int64_t ids[UNTC_MAX_INSTRUMENTS],
                              char slugs[UNTC_MAX_INSTRUMENTS][64])
{
    size_t n = 0;
    Stmt *st = db_prepare(db, "SELECT id, slug FROM instruments ORDER BY id");
    while (db_row(st))
        if (n < UNTC_MAX_INSTRUMENTS) {
            ids[n] = db_int(st, 0);
            snprintf(slugs[n++], 64, "%s", db_text(st, 1));
        }
    db_done(st);
    return n;
}

static void print_change(const UntcChange *c)
{
    printf("  %-8s %s %-12s%s%-3s %s -> %s\n", c->change, c->iso3, c->kind,
           c->article[0] ? " " : "", c->article, c->old_date[0] ? c->old_date : "-",
           c->new_date[0] ? c->new_date : "-");
}

/* Checks one instrument into rep and says what it found. */
static Result check_one(Db *db, int64_t id, const char *slug, const char *url, UntcCheckReport *rep)
{
    Result r = untc_check_instrument(db, id, url, rep);
    if (r != R_OK) {
        fprintf(stderr, "ratify: %s: the check could not be recorded\n", slug);
        rep->ok = 0;
        snprintf(rep->reason, sizeof rep->reason, "the check could not be recorded");
    } else if (!rep->ok) {
        fprintf(stderr, "ratify: %s: check failed: %s\n", slug, rep->reason);
        fprintf(stderr, "ratify: %s: nothing was changed\n", slug);
        r = R_INTERNAL;
    } else {
        printf("%s: %zu difference(s), %zu newly queued for review\n", slug, rep->differences,
               rep->queued);
        for (size_t i = 0; i < rep->changes.count; i++)
            print_change(&rep->changes.items[i]);
    }
    return r;
}

/* Checks the instruments ids[0..n) (url: for the one), then tells the
 * administrators about every failure in one email. R_OK when all were
 * read and compared. */
static Result check_all(Db *db, const int64_t *ids, char (*slugs)[64], size_t n, const char *url,
                        const char *base_url)
{
    UntcCheckReport *reps = xcalloc(n ? n : 1, sizeof *reps);
    Result worst = R_OK;
    for (size_t i = 0; i < n; i++)
        if (check_one(db, ids[i], slugs[i], url, &reps[i]) != R_OK)
            worst = R_INTERNAL;
    if (worst != R_OK && untc_check_alert(db, reps, n, base_url) == R_OK)
        fprintf(stderr, "ratify: an email to the administrators was queued\n");
    tell_queued(db, reps, n, base_url);
    for (size_t i = 0; i < n; i++)
        untc_check_report_free(&reps[i]);
    free(reps);
    return worst;
}

static const char UNTC_USAGE[] = "usage: ratify untc check [--instrument SLUG] [--url URL]\n";

Result untc_check_cmd(Db *db, int argc, char **argv, const char *base_url)
{
    const char *slug = NULL, *url = NULL;
    if (argc < 1 || strcmp(argv[0], "check") != 0) {
        fputs(UNTC_USAGE, stderr);
        return R_BAD_REQUEST;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--instrument") && i + 1 < argc)
            slug = argv[++i];
        else if (!strcmp(argv[i], "--url") && i + 1 < argc)
            url = argv[++i];
        else {
            fputs(UNTC_USAGE, stderr);
            return R_BAD_REQUEST;
        }
    }
    if (url && !is_web_url(url)) {
        fprintf(stderr, "ratify: --url must be an http:// or https:// address\n");
        return R_BAD_REQUEST;
    }
    /* One page is one instrument's: --url alone means the campaign's. */
    if (url && !slug)
        slug = "op-icescr";
    int64_t ids[UNTC_MAX_INSTRUMENTS], parent;
    char slugs[UNTC_MAX_INSTRUMENTS][64];
    size_t n;
    if (slug) {
        if (treaty_find(db, slug, &ids[0], &parent) != R_OK) {
            fprintf(stderr, "ratify: no treaty called '%s'\n", slug);
            return R_NOT_FOUND;
        }
        snprintf(slugs[0], sizeof slugs[0], "%s", slug);
        n = 1;
    } else {
        n = instrument_list(db, ids, slugs);
    }
    return check_all(db, ids, slugs, n, url, base_url);
}

/* ---- the daily job ---- */

static int daily_on;

void untc_check_set_daily(int on)
{
    daily_on = on;
}

Result untc_check_daily(Db *db, const char *base_url)
{
    if (!daily_on)
        return R_OK;
    Stmt *st = db_prepare(db, "SELECT max(checked_at) FROM untc_checks");
    int64_t last = db_row(st) && !db_is_null(st, 0) ? db_int(st, 0) : 0;
    db_done(st);
    int64_t now = now_seconds();
    if (last && last <= now && now - last < UNTC_DAY - 600)
        return R_OK;
    int64_t ids[UNTC_MAX_INSTRUMENTS];
    char slugs[UNTC_MAX_INSTRUMENTS][64];
    size_t n = instrument_list(db, ids, slugs);
    log_info("untc check: the daily check of %zu instruments", n);
    UntcCheckReport reps[UNTC_MAX_INSTRUMENTS];
    for (size_t i = 0; i < n; i++)
        if (untc_check_instrument(db, ids[i], NULL, &reps[i]) != R_OK) {
            reps[i].ok = 0;
            snprintf(reps[i].reason, sizeof reps[i].reason, "the check could not be recorded");
        }
    untc_check_alert(db, reps, n, base_url);
    tell_queued(db, reps, n, base_url);
    for (size_t i = 0; i < n; i++)
        untc_check_report_free(&reps[i]);
    return R_OK;
}

/* ---- the review page: /admin/untc ---- */

static const char *const change_codes[] = {"new", "changed", "vanished", NULL};
static const char *const change_labels[] = {N_("New on the UNTC page"), N_("Date changed"),
                                            N_("No longer on the UNTC page"), NULL};
static const char *const kind_codes[] = {"signature",  "ratification", "accession",
                                         "succession", "declaration",  NULL};
static const char *const kind_labels[] = {N_("Signature"),  N_("Ratification"), N_("Accession"),
                                          N_("Succession"), N_("Declaration"),  NULL};

/* The last checks, newest first. */
static json_t *checks_json(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT c.id, i.short_name, c.url, c.checked_at, c.outcome, "
                                 "c.reason, c.queued FROM untc_checks c "
                                 "JOIN instruments i ON i.id = c.instrument_id "
                                 "ORDER BY c.id DESC LIMIT :n");
    db_bind_int(st, ":n", UNTC_CHECKS_SHOWN);
    while (db_row(st)) {
        int ok = !strcmp(db_text(st, 4), "ok");
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:b, s:s, s:s, s:I}", "id",
                             (json_int_t)db_int(st, 0), "instrument", db_text(st, 1), "page_url",
                             db_text(st, 2), "when", audit_when(r, db_int(st, 3)), "ok", ok,
                             "outcome", tr(r, ok ? N_("Read and compared") : N_("Failed")),
                             "reason", db_text(st, 5), "queued", (json_int_t)db_int(st, 6)));
    }
    db_done(st);
    return list;
}

/* Instruments whose latest check failed: the warning at the top. */
static json_t *failing_json(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT i.short_name, c.reason, c.checked_at FROM untc_checks c "
                                 "JOIN instruments i ON i.id = c.instrument_id "
                                 "WHERE c.outcome = 'failed' AND c.id IN "
                                 "(SELECT max(id) FROM untc_checks GROUP BY instrument_id) "
                                 "ORDER BY i.id");
    while (db_row(st))
        json_array_append_new(list,
                              json_build("{s:s, s:s, s:s}", "instrument", db_text(st, 0), "reason",
                                         db_text(st, 1), "when", audit_when(r, db_int(st, 2))));
    db_done(st);
    return list;
}

static json_t *change_json(Request *r, Stmt *st)
{
    static const char *const state_codes[] = {"pending", "applied", "rejected", NULL};
    static const char *const state_labels[] = {N_("Waiting for review"), N_("Applied"),
                                               N_("Rejected"), NULL};
    const char *iso3 = db_text(st, 2), *name = country_name_of(r, iso3);
    return json_build(
        "{s:s, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}",
        "state_words", tr(r, code_label(state_codes, state_labels, db_text(st, 10))), "id",
        (json_int_t)db_int(st, 0), "instrument", db_text(st, 1), "iso3", iso3, "country",
        name ? name : iso3, "kind", tr(r, code_label(kind_codes, kind_labels, db_text(st, 3))),
        "article", db_text(st, 4), "change", db_text(st, 5), "change_words",
        tr(r, code_label(change_codes, change_labels, db_text(st, 5))), "old_date", db_text(st, 6),
        "new_date", db_text(st, 7), "untc_text", db_text(st, 8), "source_url", db_text(st, 9),
        "state", db_text(st, 10), "decided",
        db_is_null(st, 11) ? "" : audit_when(r, db_int(st, 11)), "vanished",
        !strcmp(db_text(st, 5), "vanished"));
}

/* The pending changes (oldest first: the order they were found), or the
 * last decided ones (newest first). */
static json_t *changes_json(Request *r, int pending)
{
    json_t *list = json_array();
    Stmt *st;
    if (pending)
        st = db_prepare(r->db, "SELECT c.id, i.short_name, c.iso3, c.kind, c.article, "
                               "c.change_kind, c.old_date, c.new_date, c.untc_text, c.source_url, "
                               "c.state, c.decided_at FROM untc_changes c "
                               "JOIN instruments i ON i.id = c.instrument_id "
                               "WHERE c.state = 'pending' ORDER BY c.id");
    else
        st = db_prepare(r->db, "SELECT c.id, i.short_name, c.iso3, c.kind, c.article, "
                               "c.change_kind, c.old_date, c.new_date, c.untc_text, c.source_url, "
                               "c.state, c.decided_at FROM untc_changes c "
                               "JOIN instruments i ON i.id = c.instrument_id "
                               "WHERE c.state <> 'pending' ORDER BY c.decided_at DESC, c.id DESC "
                               "LIMIT :n");
    if (!pending)
        db_bind_int(st, ":n", UNTC_DECIDED_SHOWN);
    while (db_row(st))
        json_array_append_new(list, change_json(r, st));
    db_done(st);
    return list;
}

Result untc_check_page(Request *r)
{
    static const char *const done_codes[] = {"applied", "rejected", NULL};
    const char *done = param_filter(r, "done", done_codes);
    r->page = "admin_untc";
    r->title = tr(r, "Treaty record: UNTC checks");
    json_decref(r->data);
    json_t *decided = changes_json(r, 0);
    r->data =
        json_build("{s:o, s:o, s:o, s:b, s:o, s:b, s:b}", "checks", checks_json(r), "failing",
                   failing_json(r), "pending", changes_json(r, 1), "has_decided",
                   json_array_size(decided) > 0, "decided", decided, "applied",
                   done && !strcmp(done, "applied"), "rejected", done && !strcmp(done, "rejected"));
    return R_OK;
}

/* ---- applying and rejecting ---- */

typedef struct {
    int64_t id, user_id;
    int apply;
    const char *problem; /* a msgid when the change cannot be decided */
} Decision;

typedef struct {
    int64_t instrument;
    char iso3[4], kind[16], article[16], change[16], old_date[11], new_date[11];
    char source[1024], state[16], short_name[64];
} QueuedChange;

static int load_change(Db *w, int64_t id, QueuedChange *c)
{
    Stmt *st = db_prepare(w, "SELECT c.instrument_id, c.iso3, c.kind, c.article, c.change_kind, "
                             "c.old_date, c.new_date, c.source_url, c.state, i.short_name "
                             "FROM untc_changes c JOIN instruments i ON i.id = c.instrument_id "
                             "WHERE c.id = :id");
    db_bind_int(st, ":id", id);
    int found = db_row(st);
    if (found) {
        c->instrument = db_int(st, 0);
        snprintf(c->iso3, sizeof c->iso3, "%s", db_text(st, 1));
        snprintf(c->kind, sizeof c->kind, "%s", db_text(st, 2));
        snprintf(c->article, sizeof c->article, "%s", db_text(st, 3));
        snprintf(c->change, sizeof c->change, "%s", db_text(st, 4));
        snprintf(c->old_date, sizeof c->old_date, "%s", db_text(st, 5));
        snprintf(c->new_date, sizeof c->new_date, "%s", db_text(st, 6));
        snprintf(c->source, sizeof c->source, "%s", db_text(st, 7));
        snprintf(c->state, sizeof c->state, "%s", db_text(st, 8));
        snprintf(c->short_name, sizeof c->short_name, "%s", db_text(st, 9));
    }
    db_done(st);
    return found;
}

/* The recorded action the change is about: its id and date, 0 and "" when
 * there is none. */
static int64_t current_action(Db *w, const QueuedChange *c, char date[11])
{
    Stmt *st = db_prepare(w, "SELECT id, action_date FROM treaty_actions "
                             "WHERE instrument_id = :i AND iso3 = :iso3 AND kind = :kind "
                             "AND article = :article");
    db_bind_int(st, ":i", c->instrument);
    db_bind_text(st, ":iso3", c->iso3);
    db_bind_text(st, ":kind", c->kind);
    db_bind_text(st, ":article", c->article);
    int64_t id = 0;
    date[0] = 0;
    if (db_row(st)) {
        id = db_int(st, 0);
        snprintf(date, 11, "%s", db_text(st, 1));
    }
    db_done(st);
    return id;
}

/* Writes the change into the record through treaty.c: the action the page
 * gives, or the removal of one the page no longer has. */
static Result write_action(Db *w, const QueuedChange *c, int64_t action_id, int64_t user_id)
{
    if (!strcmp(c->change, "vanished"))
        return treaty_action_delete(w, action_id, c->iso3) == R_OK ? R_OK : R_INTERNAL;
    TreatyAction a = {.instrument = c->instrument,
                      .iso3 = c->iso3,
                      .kind = c->kind,
                      .article = c->article,
                      .date = c->new_date,
                      .source = c->source,
                      .note = "UNTC check"};
    return treaty_action_record(w, &a, user_id);
}

static Result decide_apply(Db *w, void *ctx)
{
    Decision *d = ctx;
    QueuedChange c;
    if (!load_change(w, d->id, &c))
        return R_NOT_FOUND;
    if (strcmp(c.state, "pending") != 0) {
        d->problem = N_("This change was already applied or rejected.");
        return R_CONFLICT;
    }
    char date[11];
    int64_t action_id = current_action(w, &c, date);
    /* Someone recorded this action since the check: the change would
     * overwrite their work with an outdated comparison. */
    if (d->apply && strcmp(date, c.old_date) != 0) {
        d->problem = N_("The record changed since this difference was found. Run the check "
                        "again, then review what it finds.");
        return R_CONFLICT;
    }
    if (d->apply && write_action(w, &c, action_id, d->user_id) != R_OK)
        return R_INTERNAL;
    Stmt *st = db_prepare(w, "UPDATE untc_changes SET state = :state, decided_by = :user, "
                             "decided_at = :now WHERE id = :id AND state = 'pending'");
    db_bind_text(st, ":state", d->apply ? "applied" : "rejected");
    db_bind_int(st, ":user", d->user_id);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", d->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    char object[32], detail[1400];
    snprintf(object, sizeof object, "country %s", c.iso3);
    snprintf(detail, sizeof detail, "%s %s%s%s: %s -> %s (%s), source %s", c.short_name, c.kind,
             c.article[0] ? " " : "", c.article, c.old_date[0] ? c.old_date : "none",
             c.new_date[0] ? c.new_date : "none", c.change, c.source);
    return audit_log(w, d->user_id, d->apply ? "UNTC change applied" : "UNTC change rejected",
                     object, detail);
}

static Result decide(Request *r, int apply)
{
    Decision d = {.user_id = r->user->id, .apply = apply};
    if (param_int(r, "id", 1, INT64_MAX, &d.id) != R_OK)
        return R_NOT_FOUND;
    Result rc = db_write(r->db, decide_apply, &d);
    if (rc == R_CONFLICT) {
        r->message = tr(r, d.problem);
        return R_CONFLICT;
    }
    if (rc != R_OK)
        return rc == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, apply ? "/admin/untc?done=applied" : "/admin/untc?done=rejected");
}

Result untc_check_apply_post(Request *r)
{
    return decide(r, 1);
}

Result untc_check_reject_post(Request *r)
{
    return decide(r, 0);
}
