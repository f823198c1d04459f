/*
 * notification.c: staff told by email when work arrives (issue 14). When a
 * membership application is confirmed by its applicant, the coordinators of
 * its country (the admins when the country has none) hear of it: at once,
 * or in a daily digest, as each chose on their account page
 * (POST /account/notifications). Requests for support already email the
 * secretariat as they arrive (assistance.c's notify); this file does not
 * send them again.
 *
 * Emails name the country and link to the queue, never the applicant: the
 * page, after logging in, shows who it is.
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

/* ---- an application confirmed ---- */

typedef struct {
    int64_t id;
    char email[256], lang[8];
    int digest;
} Recipient;

enum { MAX_RECIPIENTS = 64 };

/* The coordinators of iso3, or every admin when it has none; n of them. */
static size_t application_recipients(Db *w, const char *iso3, Recipient *out)
{
    size_t n = 0;
    for (int admins = 0; admins < 2 && n == 0; admins++) {
        Stmt *st = db_prepare(
            w, "SELECT u.id, u.email, coalesce(u.lang, 'en'), coalesce(s.mode, 'immediate') "
               "FROM users u LEFT JOIN notification_settings s ON s.user_id = u.id "
               "WHERE u.disabled = 0 AND ((:admins = 0 AND u.role = 'coordinator' AND EXISTS "
               "(SELECT 1 FROM user_countries c WHERE c.user_id = u.id AND c.iso3 = :iso3)) "
               "OR (:admins = 1 AND u.role = 'admin')) ORDER BY u.id");
        db_bind_int(st, ":admins", admins);
        db_bind_text(st, ":iso3", iso3);
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
    }
    return n;
}

static Result application_mail(Db *w, const Recipient *p, const char *iso3, const char *base_url)
{
    char country[200], body[1024];
    country_in(w, iso3, p->lang, country, sizeof country);
    snprintf(body, sizeof body, "%s %s\n\n%s\n%s/admin/members\n\n%s\n%s/account\n",
             i18n_gettext(p->lang, N_("A membership application was confirmed and waits for "
                                      "your decision. Country:")),
             country, i18n_gettext(p->lang, N_("Decide on it here (log in first):")),
             base_url ? base_url : "",
             i18n_gettext(p->lang, N_("To get one email a day instead, change your choice on "
                                      "your account page:")),
             base_url ? base_url : "");
    return mail_queue(w, p->email, i18n_gettext(p->lang, N_("An application waits for you")), body);
}

static Result queue_item(Db *w, int64_t user, const char *kind, const char *iso3)
{
    Stmt *st = db_prepare(w, "INSERT INTO notification_items (user_id, kind, iso3, created_at) "
                             "VALUES (:user, :kind, :iso3, :now)");
    db_bind_int(st, ":user", user);
    db_bind_text(st, ":kind", kind);
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":now", now_seconds());
    return db_run(st);
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
    Recipient people[MAX_RECIPIENTS];
    size_t n = application_recipients(w, iso3, people);
    for (size_t i = 0; i < n; i++) {
        Result res = people[i].digest ? queue_item(w, people[i].id, "application", iso3)
                                      : application_mail(w, &people[i], iso3, base_url);
        if (res != R_OK)
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
    st = db_prepare(w, "UPDATE notification_settings SET last_digest_at = :now "
                       "WHERE user_id = :user");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":user", d->user);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return mail_queue(w, d->email, d->subject, d->body);
}

/* Builds and sends the digest of one user: the applications per country. */
static Result digest_send(Db *db, int64_t user, const char *email, const char *lang,
                          const char *base_url)
{
    Stmt *st = db_prepare(db, "SELECT iso3, count(*), max(id) FROM notification_items "
                              "WHERE user_id = :user AND kind = 'application' "
                              "GROUP BY iso3 ORDER BY iso3");
    db_bind_int(st, ":user", user);
    Buf body = {0};
    buf_printf(&body, "%s\n\n",
               i18n_gettext(lang, N_("Membership applications confirmed since your last "
                                     "summary, waiting for a decision:")));
    int64_t last = 0;
    char iso3s[64][4];
    int64_t counts[64];
    int n = 0;
    while (n < 64 && db_row(st)) {
        snprintf(iso3s[n], sizeof iso3s[n], "%s", db_text(st, 0));
        counts[n] = db_int(st, 1);
        if (db_int(st, 2) > last)
            last = db_int(st, 2);
        n++;
    }
    db_done(st);
    if (n == 0) {
        buf_free(&body);
        return R_OK;
    }
    for (int i = 0; i < n; i++) {
        char country[200];
        country_in(db, iso3s[i], lang, country, sizeof country);
        buf_printf(&body, "- %s: %lld\n", country, (long long)counts[i]);
    }
    buf_printf(&body, "\n%s\n%s/admin/members\n\n%s\n%s/account\n",
               i18n_gettext(lang, N_("Decide on them here (log in first):")),
               base_url ? base_url : "",
               i18n_gettext(lang, N_("To get an email for each one instead, change your choice "
                                     "on your account page:")),
               base_url ? base_url : "");
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
    int64_t now = now_seconds();
    Stmt *st = db_prepare(
        db, "SELECT s.user_id, u.email, coalesce(u.lang, 'en') FROM notification_settings s "
            "JOIN users u ON u.id = s.user_id WHERE s.mode = 'digest' AND u.disabled = 0 "
            "AND (s.last_digest_at IS NULL OR s.last_digest_at <= :due) "
            "AND EXISTS (SELECT 1 FROM notification_items i WHERE i.user_id = s.user_id) "
            "ORDER BY s.user_id");
    db_bind_int(st, ":due", now - DIGEST_EVERY);
    int64_t users[100];
    char emails[100][256], langs[100][8];
    int n = 0;
    while (n < 100 && db_row(st)) {
        users[n] = db_int(st, 0);
        snprintf(emails[n], sizeof emails[n], "%s", db_text(st, 1));
        snprintf(langs[n], sizeof langs[n], "%s", db_text(st, 2));
        n++;
    }
    db_done(st);
    for (int i = 0; i < n; i++) {
        const char *lang = i18n_supported(langs[i]) ? langs[i] : "en";
        /* One transaction per user: a failure keeps the ones before. */
        if (digest_send(db, users[i], emails[i], lang, base_url) != R_OK)
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
