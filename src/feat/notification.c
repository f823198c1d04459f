/*
 * notification.c: staff told by email when work arrives (issue 14), at
 * once or in a daily digest, as each chose on their account page
 * (POST /account/notifications):
 *  - a membership application confirmed by its applicant, and a correction
 *    proposed to a government contact: the coordinators of the country
 *    (the admins when it has none);
 *  - a letter overdue (past its reminder without an answer: letter_remind
 *    marks it no_response): these come by time, not by a request, so the
 *    digest job finds them and puts each in the next digest of the
 *    country's coordinators (admins when none) once, whatever their choice;
 *  - reviews for the secretariat: UNTC changes a check queued
 *    (untc_check.c) and UPR recommendations an import left to a person
 *    (upr.c): every admin, one email per check or import, not per row.
 *  - a new request for support (assistance.c): the secretariat (the
 *    admins and the steering committee) but the requester. Later changes
 *    to a request stay assistance.c's, emailed at once: they concern the
 *    requester and the people working on it.
 *
 * Emails name the country and link to the queue on the public address,
 * never the person who applied or proposed: the page, after logging in,
 * shows who it is. Owns notification_settings, notification_items and
 * notification_letters_told (schema/023 and 025).
 */
#include "feat/notification.h"

#include <stdio.h>
#include <string.h>

#include "base/i18n.h"
#include "feat/handlers.h"
#include "svc/mail.h"

/* Digests go out once a day; an hourly job that drifts a few minutes must
 * not push one back by an hour, hence the slack. */
enum { DIGEST_EVERY = 24 * 3600 - 10 * 60 };

static const char *const modes[] = {"immediate", "digest", NULL};

int notification_digest_chosen(Db *db, int64_t user)
{
    Stmt *st = db_prepare(db, "SELECT mode FROM notification_settings WHERE user_id = :user");
    db_bind_int(st, ":user", user);
    int digest = db_row(st) && strcmp(db_text(st, 0), "digest") == 0;
    db_done(st);
    return digest;
}

/* The name of iso3 in lang, else in English, into out. */
static void country_in(Db *db, const char *iso3, const char *lang, char *out, size_t size)
{
    Stmt *st = db_prepare(db, "SELECT coalesce(n.name, e.name) FROM country_names e "
                              "LEFT JOIN country_names n ON n.iso3 = e.iso3 AND n.lang = :lang "
                              "WHERE e.iso3 = :iso3 AND e.lang = 'en'");
    db_bind_text(st, ":lang", lang);
    db_bind_text(st, ":iso3", iso3);
    snprintf(out, size, "%s", db_row(st) ? db_text(st, 0) : iso3);
    db_done(st);
}

/* The start of every link: base_url, else the public address `ratify
 * serve --public-url` stored (a command such as `ratify import upr` has
 * no request to take it from), else nothing (the path alone). */
static void link_base(Db *db, const char *base_url, char *out, size_t size)
{
    if (base_url && *base_url) {
        snprintf(out, size, "%s", base_url);
        return;
    }
    Stmt *st = db_prepare(db, "SELECT value FROM settings WHERE name = 'public_url'");
    snprintf(out, size, "%s", db_row(st) ? db_text(st, 0) : "");
    db_done(st);
    size_t n = strlen(out);
    if (n && out[n - 1] == '/')
        out[n - 1] = 0;
}

/* ---- who is told ---- */

typedef struct {
    int64_t id;
    char email[256], lang[8];
    int digest;
} Recipient;

enum { MAX_RECIPIENTS = 64 };

/* The users one statement lists (id, email, lang, mode), into out. */
static size_t read_recipients(Stmt *st, Recipient *out, size_t n)
{
    while (n < MAX_RECIPIENTS && db_row(st)) {
        Recipient *p = &out[n++];
        p->id = db_int(st, 0);
        snprintf(p->email, sizeof p->email, "%s", db_text(st, 1));
        snprintf(p->lang, sizeof p->lang, "%s", db_text(st, 2));
        if (!i18n_supported(p->lang))
            snprintf(p->lang, sizeof p->lang, "en");
        p->digest = strcmp(db_text(st, 3), "digest") == 0;
    }
    db_done(st);
    return n;
}

/* Every enabled admin but except (0: none). */
static size_t admin_recipients(Db *w, int64_t except, Recipient *out)
{
    Stmt *st = db_prepare(
        w, "SELECT u.id, u.email, coalesce(u.lang, 'en'), coalesce(s.mode, 'immediate') "
           "FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id "
           "WHERE u.disabled = 0 AND u.role = 'admin' AND u.id <> :except ORDER BY u.id");
    db_bind_int(st, ":except", except);
    return read_recipients(st, out, 0);
}

/* The coordinators of iso3, or every admin when it has none; but not
 * except (the person who brought the work: they know). */
static size_t country_recipients(Db *w, const char *iso3, int64_t except, Recipient *out)
{
    Stmt *st =
        db_prepare(w, "SELECT u.id, u.email, coalesce(u.lang, 'en'), coalesce(s.mode, 'immediate') "
                      "FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id "
                      "WHERE u.disabled = 0 AND u.role = 'coordinator' AND EXISTS "
                      "(SELECT 1 FROM user_countries c WHERE c.user_id = u.id AND c.iso3 = :iso3) "
                      "ORDER BY u.id");
    db_bind_text(st, ":iso3", iso3);
    size_t n = read_recipients(st, out, 0);
    if (n == 0)
        n = admin_recipients(w, 0, out);
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (out[i].id != except)
            out[kept++] = out[i];
    return kept;
}

static Result queue_item(Db *w, int64_t user, const char *kind, const char *iso3, int64_t n)
{
    Stmt *st = db_prepare(w, "INSERT INTO notification_items (user_id, kind, iso3, n, created_at) "
                             "VALUES (:user, :kind, :iso3, :n, :now)");
    db_bind_int(st, ":user", user);
    db_bind_text(st, ":kind", kind);
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":n", n);
    db_bind_int(st, ":now", now_seconds());
    return db_run(st);
}

/* One email now. An address the mail queue refuses is skipped (one
 * staff member's bad address must not undo a member's correction); only a
 * failed write fails. */
static Result send_now(Db *w, const Recipient *p, const char *subject, const char *body)
{
    return mail_queue(w, p->email, i18n_gettext(p->lang, subject), body) == R_INTERNAL ? R_INTERNAL
                                                                                       : R_OK;
}

/* The line that ends every email sent at once: where to choose the digest. */
static void immediate_footer(Buf *body, const char *lang, const char *base)
{
    buf_printf(body, "\n%s\n%s/account\n",
               i18n_gettext(lang, N_("To get one email a day instead, change your choice on "
                                     "your account page:")),
               base);
}

/* ---- an application confirmed ---- */

/* An email sent at once about one piece of work in a country: what it is
 * (intro, then the country's name in p's language), what to do and where
 * (action, then base and path), and the footer. intro and action are
 * msgids; subject is already in p's language. */
static Result country_mail(Db *w, const Recipient *p, const char *iso3, const char *intro,
                           const char *action, const char *base, const char *path,
                           const char *subject)
{
    char country[200];
    country_in(w, iso3, p->lang, country, sizeof country);
    Buf body = {0};
    buf_printf(&body, "%s %s\n\n%s\n%s%s\n", i18n_gettext(p->lang, intro), country,
               i18n_gettext(p->lang, action), base, path);
    immediate_footer(&body, p->lang, base);
    Result res = mail_queue(w, p->email, subject, body.data) == R_INTERNAL ? R_INTERNAL : R_OK;
    buf_free(&body);
    return res;
}

static Result application_mail(Db *w, const Recipient *p, const char *iso3, const char *base)
{
    return country_mail(
        w, p, iso3,
        N_("A membership application was confirmed and waits for your decision. Country:"),
        N_("Decide on it here (log in first):"), base, "/admin/members",
        i18n_gettext(p->lang, N_("An application waits for you")));
}

Result notification_application_confirmed(Db *w, int64_t membership, const char *base_url)
{
    Stmt *st = db_prepare(w, "SELECT iso3 FROM memberships WHERE id = :id");
    db_bind_int(st, ":id", membership);
    char iso3[4] = "";
    if (db_row(st))
        snprintf(iso3, sizeof iso3, "%s", db_text(st, 0));
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    if (!*iso3)
        return R_OK;
    char base[256];
    link_base(w, base_url, base, sizeof base);
    Recipient people[MAX_RECIPIENTS];
    size_t n = country_recipients(w, iso3, 0, people);
    for (size_t i = 0; i < n; i++) {
        Result res = people[i].digest ? queue_item(w, people[i].id, "application", iso3, 1)
                                      : application_mail(w, &people[i], iso3, base);
        if (res != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* ---- a correction proposed to a government contact ---- */

static Result correction_mail(Db *w, const Recipient *p, const char *iso3, const char *base)
{
    char path[32];
    snprintf(path, sizeof path, "/countries/%s/targets", iso3);
    return country_mail(
        w, p, iso3, N_("A member proposed a correction to a government contact. Country:"),
        N_("Apply or reject it on the country's contacts page (log in first):"), base, path,
        i18n_gettext(p->lang, N_("A correction to a government contact waits for you")));
}

Result notification_correction_proposed(Db *w, const char *iso3, int64_t proposer,
                                        const char *base_url)
{
    char base[256];
    link_base(w, base_url, base, sizeof base);
    Recipient people[MAX_RECIPIENTS];
    size_t n = country_recipients(w, iso3, proposer, people);
    for (size_t i = 0; i < n; i++) {
        Result res = people[i].digest ? queue_item(w, people[i].id, "correction", iso3, 1)
                                      : correction_mail(w, &people[i], iso3, base);
        if (res != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* ---- a new request for support ---- */

/* The secretariat (enabled admins and steering committee members), but
 * not except (the requester: they know). */
static size_t secretariat_recipients(Db *w, int64_t except, Recipient *out)
{
    Stmt *st =
        db_prepare(w, "SELECT u.id, u.email, coalesce(u.lang, 'en'), coalesce(s.mode, 'immediate') "
                      "FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id "
                      "WHERE u.disabled = 0 AND u.id <> :except AND (u.role = 'admin' OR EXISTS "
                      "(SELECT 1 FROM steering_committee c WHERE c.user_id = u.id)) ORDER BY u.id");
    db_bind_int(st, ":except", except);
    return read_recipients(st, out, 0);
}

/* The subject keeps the request's number, as assistance.c's later emails
 * do, so that a mail client threads them. */
static Result assistance_mail(Db *w, const Recipient *p, int64_t request, const char *iso3,
                              const char *base)
{
    char path[48], subject[200];
    snprintf(path, sizeof path, "/assistance/%lld", (long long)request);
    snprintf(subject, sizeof subject, "%s %lld", i18n_gettext(p->lang, N_("Request for support")),
             (long long)request);
    return country_mail(w, p, iso3, N_("A new request for support was made. Country:"),
                        N_("Read the request and answer it here (log in first):"), base, path,
                        subject);
}

Result notification_assistance_requested(Db *w, int64_t request, const char *iso3,
                                         int64_t requester, const char *base_url)
{
    char base[256];
    link_base(w, base_url, base, sizeof base);
    Recipient people[MAX_RECIPIENTS];
    size_t n = secretariat_recipients(w, requester, people);
    for (size_t i = 0; i < n; i++) {
        Result res = people[i].digest ? queue_item(w, people[i].id, "assistance", iso3, 1)
                                      : assistance_mail(w, &people[i], request, iso3, base);
        if (res != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* ---- reviews for the secretariat ---- */

/* What each kind of review is called, and where it is done. */
typedef struct {
    const char *kind, *item_kind, *subject, *lead, *path;
} ReviewKind;

static const ReviewKind review_kinds[] = {
    {"untc", "untc_review", N_("Changes from the UN Treaty Collection wait for review"),
     N_("A check of the UN Treaty Collection found changes to the treaty record. New changes "
        "waiting for review:"),
     "/admin/untc"},
    {"upr", "upr_review", N_("UPR recommendations wait for review"),
     N_("An import of UPR recommendations left some for a person to classify. New "
        "recommendations waiting for review:"),
     "/admin/upr"},
};

static const ReviewKind *review_kind(const char *kind)
{
    for (size_t i = 0; i < sizeof review_kinds / sizeof review_kinds[0]; i++)
        if (!strcmp(review_kinds[i].kind, kind) || !strcmp(review_kinds[i].item_kind, kind))
            return &review_kinds[i];
    return NULL;
}

static Result review_mail(Db *w, const Recipient *p, const ReviewKind *k, int64_t n,
                          const char *base)
{
    Buf body = {0};
    buf_printf(&body, "%s %lld\n\n%s\n%s%s\n", i18n_gettext(p->lang, k->lead), (long long)n,
               i18n_gettext(p->lang, N_("Review them here (log in first):")), base, k->path);
    immediate_footer(&body, p->lang, base);
    Result res = send_now(w, p, k->subject, body.data);
    buf_free(&body);
    return res;
}

Result notification_reviews_queued(Db *w, const char *kind, int64_t n, int64_t except_user,
                                   const char *base_url)
{
    const ReviewKind *k = review_kind(kind);
    if (!k)
        return R_INTERNAL;
    if (n <= 0)
        return R_OK;
    char base[256];
    link_base(w, base_url, base, sizeof base);
    Recipient people[MAX_RECIPIENTS];
    size_t count = admin_recipients(w, except_user, people);
    for (size_t i = 0; i < count; i++) {
        Result res = people[i].digest ? queue_item(w, people[i].id, k->item_kind, "", n)
                                      : review_mail(w, &people[i], k, n, base);
        if (res != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* ---- letters overdue ---- */

enum { MAX_OVERDUE = 200 };

/* On w: each letter newly overdue put in its country's staff's next
 * digest and remembered as told; letters no longer overdue (answered, or
 * sent again) forgotten, so that being overdue again is news again. Up to
 * MAX_OVERDUE a run; the next hour takes the rest. */
static Result overdue_apply(Db *w, void *ctx)
{
    (void)ctx;
    Stmt *st = db_prepare(w, "DELETE FROM notification_letters_told WHERE letter_id NOT IN "
                             "(SELECT id FROM letters WHERE status = 'no_response')");
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "SELECT l.id, l.iso3 FROM letters l WHERE l.status = 'no_response' "
                       "AND NOT EXISTS (SELECT 1 FROM notification_letters_told t "
                       "WHERE t.letter_id = l.id) ORDER BY l.id");
    int64_t ids[MAX_OVERDUE];
    char iso3s[MAX_OVERDUE][4];
    size_t n = 0;
    while (n < MAX_OVERDUE && db_row(st)) {
        ids[n] = db_int(st, 0);
        snprintf(iso3s[n++], sizeof iso3s[0], "%s", db_text(st, 1));
    }
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    for (size_t i = 0; i < n; i++) {
        st = db_prepare(w, "INSERT INTO notification_letters_told (letter_id, told_at) "
                           "VALUES (:id, :now)");
        db_bind_int(st, ":id", ids[i]);
        db_bind_int(st, ":now", now_seconds());
        if (db_run(st) != R_OK)
            return R_INTERNAL;
        Recipient people[MAX_RECIPIENTS];
        size_t count = country_recipients(w, iso3s[i], 0, people);
        /* In the digest whatever the choice: nobody asked for it at this
         * hour, and a day's overdue letters read best together. */
        for (size_t j = 0; j < count; j++)
            if (queue_item(w, people[j].id, "letter_overdue", iso3s[i], 1) != R_OK)
                return R_INTERNAL;
    }
    return R_OK;
}

/* ---- the daily digest ---- */

/* What one user's digest writes: the email, the items it covers deleted
 * (up to the last one read), the time it was sent. */
typedef struct {
    int64_t user, last_item;
    const char *email, *subject, *body;
} Digest;

static Result digest_apply(Db *w, void *ctx)
{
    const Digest *d = ctx;
    Stmt *st = db_prepare(w, "DELETE FROM notification_items WHERE user_id = :user "
                             "AND id <= :last");
    db_bind_int(st, ":user", d->user);
    db_bind_int(st, ":last", d->last_item);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    /* A user who never chose (an email per item) has no row yet: the
     * overdue letters still come once a day. */
    st = db_prepare(w,
                    "INSERT INTO notification_settings (user_id, last_digest_at) "
                    "VALUES (:user, :now) "
                    "ON CONFLICT (user_id) DO UPDATE SET last_digest_at = excluded.last_digest_at");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":user", d->user);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return mail_queue(w, d->email, d->subject, d->body) == R_INTERNAL ? R_INTERNAL : R_OK;
}

/* One section of a digest, for the items of one kind by country. */
typedef struct {
    /* link_label and path NULL: a link to each country's contacts instead */
    const char *kind, *heading, *link_label, *path;
} DigestSection;

static const DigestSection country_sections[] = {
    {"application",
     N_("Membership applications confirmed since your last summary, waiting for a decision:"),
     N_("Decide on them here (log in first):"), "/admin/members"},
    {"correction",
     N_("Corrections to government contacts proposed since your last summary, to apply or "
        "reject on each country's contacts page (log in first):"),
     NULL, NULL},
    {"letter_overdue",
     N_("Letters that passed their reminder without an answer from the government:"),
     N_("See them here (log in first):"), "/admin/letters"},
    {"assistance", N_("Requests for support made since your last summary:"),
     N_("Read and answer them here (log in first):"), "/admin/assistance"},
};

typedef struct {
    char kind[24], iso3[4];
    int64_t n;
} DigestLine;

enum { MAX_DIGEST_LINES = 256 };

/* The user's items summed by kind and country, up to *last (the largest id
 * read, so that items arriving meanwhile wait for the next digest). */
static size_t digest_lines(Db *db, int64_t user, DigestLine *out, int64_t *last)
{
    Stmt *st = db_prepare(db, "SELECT kind, iso3, sum(n), max(id) FROM notification_items "
                              "WHERE user_id = :user GROUP BY kind, iso3 ORDER BY kind, iso3");
    db_bind_int(st, ":user", user);
    size_t n = 0;
    *last = 0;
    while (n < MAX_DIGEST_LINES && db_row(st)) {
        snprintf(out[n].kind, sizeof out[n].kind, "%s", db_text(st, 0));
        snprintf(out[n].iso3, sizeof out[n].iso3, "%s", db_text(st, 1));
        out[n].n = db_int(st, 2);
        if (db_int(st, 3) > *last)
            *last = db_int(st, 3);
        n++;
    }
    db_done(st);
    return n;
}

static void digest_country_section(Db *db, Buf *body, const DigestSection *s,
                                   const DigestLine *lines, size_t n, const char *lang,
                                   const char *base)
{
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(lines[i].kind, s->kind) != 0)
            continue;
        if (!any++)
            buf_printf(body, "%s\n\n", i18n_gettext(lang, s->heading));
        char country[200];
        country_in(db, lines[i].iso3, lang, country, sizeof country);
        buf_printf(body, "- %s: %lld\n", country, (long long)lines[i].n);
        if (!s->path)
            buf_printf(body, "  %s/countries/%s/targets\n", base, lines[i].iso3);
    }
    if (any && s->path)
        buf_printf(body, "\n%s\n%s%s\n\n", i18n_gettext(lang, s->link_label), base, s->path);
    else if (any)
        buf_puts(body, "\n");
}

static void digest_review_section(Buf *body, const ReviewKind *k, const DigestLine *lines, size_t n,
                                  const char *lang, const char *base)
{
    int64_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(lines[i].kind, k->item_kind))
            total += lines[i].n;
    if (total > 0)
        buf_printf(body, "%s %lld\n%s%s\n\n", i18n_gettext(lang, k->lead), (long long)total, base,
                   k->path);
}

/* Builds and sends the digest of one user: their items by kind and
 * country. */
static Result digest_send(Db *db, int64_t user, const char *email, const char *lang, int chosen,
                          const char *base)
{
    DigestLine lines[MAX_DIGEST_LINES];
    int64_t last;
    size_t n = digest_lines(db, user, lines, &last);
    if (n == 0)
        return R_OK;
    Buf body = {0};
    for (size_t i = 0; i < sizeof country_sections / sizeof country_sections[0]; i++)
        digest_country_section(db, &body, &country_sections[i], lines, n, lang, base);
    for (size_t i = 0; i < sizeof review_kinds / sizeof review_kinds[0]; i++)
        digest_review_section(&body, &review_kinds[i], lines, n, lang, base);
    buf_printf(&body, "%s\n%s/account\n",
               chosen ? i18n_gettext(lang, N_("To get an email for each one instead, change "
                                              "your choice on your account page:"))
                      : i18n_gettext(lang, N_("Overdue letters come once a day in this summary; "
                                              "the rest is emailed as it arrives. To choose one "
                                              "summary a day for everything, see your account "
                                              "page:")),
               base);
    Digest d = {.user = user,
                .last_item = last,
                .email = email,
                .subject = i18n_gettext(lang, N_("Work waiting for you: your daily summary")),
                .body = body.data};
    Result res = db_write(db, digest_apply, &d);
    buf_free(&body);
    return res;
}

Result notification_digest(Db *db, const char *base_url)
{
    if (db_write(db, overdue_apply, NULL) != R_OK)
        return R_INTERNAL;
    char base[256];
    link_base(db, base_url, base, sizeof base);
    int64_t now = now_seconds();
    Stmt *st = db_prepare(
        db, "SELECT u.id, u.email, coalesce(u.lang, 'en'), coalesce(s.mode, 'immediate') "
            "FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id "
            "WHERE u.disabled = 0 "
            "AND (s.last_digest_at IS NULL OR s.last_digest_at <= :due) "
            "AND EXISTS (SELECT 1 FROM notification_items i WHERE i.user_id = u.id) "
            "ORDER BY u.id");
    db_bind_int(st, ":due", now - DIGEST_EVERY);
    Recipient people[MAX_RECIPIENTS];
    size_t n = read_recipients(st, people, 0);
    for (size_t i = 0; i < n; i++) {
        /* One transaction per user: a failure keeps the ones before. */
        if (digest_send(db, people[i].id, people[i].email, people[i].lang, people[i].digest,
                        base) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* ---- the choice, on the account page ---- */

typedef struct {
    int64_t user;
    const char *mode;
} ModeChange;

static Result mode_apply(Db *w, void *ctx)
{
    const ModeChange *m = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO notification_settings (user_id, mode) "
                             "VALUES (:user, :mode) "
                             "ON CONFLICT (user_id) DO UPDATE SET mode = excluded.mode");
    db_bind_int(st, ":user", m->user);
    db_bind_text(st, ":mode", m->mode);
    /* A preference, like the language: not audited. */
    return db_run(st);
}

/* POST /account/notifications: immediate or digest. Only staff get these
 * emails, but anyone may keep a choice for when they become staff. */
Result notification_settings_post(Request *r)
{
    int mode = 0;
    if (param_enum(r, "mode", modes, &mode) != R_OK) {
        r->message = tr(r, "Please choose one of the options.");
        return R_BAD_REQUEST;
    }
    ModeChange m = {.user = r->user->id, .mode = modes[mode]};
    if (db_write(r->db, mode_apply, &m) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/account?saved=notifications");
}
