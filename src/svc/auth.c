/*
 * auth.c: users, passwords, sessions, CSRF tokens, login throttling, the
 * login, logout, welcome, account and user-list pages, and `ratify user`.
 *
 * Invariants: only hashes of session and login tokens are stored; a new
 * session token is issued at every login; a CSRF token is an HMAC of the
 * session token (or, before login, of a random pre-session cookie) under the
 * server's secret, so it needs no storage and cannot be forged; throttling
 * counters are keyed by an HMAC of the email or address, never the clear
 * value.
 */
#include "feat/handlers.h"
#include "svc/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "svc/audit.h"
#include "base/i18n.h"
#include "svc/twofactor.h"

static unsigned char server_key[crypto_auth_KEYBYTES];

/* The server's secret: the one stored, or, on first use, the fresh one
 * the caller drew. Read inside the write, so two processes starting at
 * once cannot store two. */
typedef struct {
    char hex[2 * crypto_auth_KEYBYTES + 1];
} Secret;

static Result secret_ensure_apply(Db *w, void *ctx)
{
    Secret *s = ctx;
    Stmt *st = db_prepare(w, "SELECT value FROM settings WHERE name = 'secret'");
    int found = db_row(st);
    if (found)
        snprintf(s->hex, sizeof s->hex, "%s", db_text(st, 0));
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    if (found)
        return R_OK;
    st = db_prepare(w, "INSERT INTO settings (name, value) VALUES ('secret', :value)");
    db_bind_text(st, ":value", s->hex);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result auth_init(Db *db)
{
    Secret s;
    Stmt *st = db_prepare(db, "SELECT value FROM settings WHERE name = 'secret'");
    int found = db_row(st);
    if (found)
        snprintf(s.hex, sizeof s.hex, "%s", db_text(st, 0));
    db_done(st);
    if (!found) {
        random_hex(s.hex, crypto_auth_KEYBYTES);
        if (db_write(db, secret_ensure_apply, &s) != R_OK)
            return R_INTERNAL;
    }
    size_t len = 0;
    int ok = sodium_hex2bin(server_key, sizeof server_key, s.hex, strlen(s.hex), NULL, &len,
                            NULL) == 0 &&
             len == sizeof server_key;
    sodium_memzero(&s, sizeof s);
    return ok ? two_factor_init() : R_INTERNAL;
}

/* Keyed hash of purpose:value as hex: for session tokens and throttling
 * keys, so that the database holds nothing a thief could replay. */
static void keyed_hash(const char *purpose, const char *value, char out[65])
{
    unsigned char mac[32];
    crypto_generichash_state state;
    crypto_generichash_init(&state, server_key, sizeof server_key, sizeof mac);
    crypto_generichash_update(&state, (const unsigned char *)purpose, strlen(purpose));
    crypto_generichash_update(&state, (const unsigned char *)":", 1);
    crypto_generichash_update(&state, (const unsigned char *)value, strlen(value));
    crypto_generichash_final(&state, mac, sizeof mac);
    sodium_bin2hex(out, 65, mac, sizeof mac);
}

void auth_token_hash(const char *purpose, const char *token, char out[65])
{
    keyed_hash(purpose, token, out);
}

void auth_derive_key(const char *purpose, unsigned char out[32])
{
    crypto_generichash(out, 32, (const unsigned char *)purpose, strlen(purpose), server_key,
                       sizeof server_key);
}

void auth_csrf_token(const char *binding, char out[65])
{
    keyed_hash("csrf", binding, out);
}

Result auth_hash_password(const char *password, char out[128])
{
    if (crypto_pwhash_str(out, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return R_INTERNAL;
    return R_OK;
}

int auth_verify_password(const char *hash, const char *password)
{
    return hash && *hash && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static void load_countries(Request *r, User *u)
{
    Stmt *st =
        db_prepare(r->db, "SELECT iso3 FROM user_countries WHERE user_id = :id ORDER BY iso3");
    db_bind_int(st, ":id", u->id);
    while (db_row(st)) {
        const char **list = arena_alloc(r->arena, (u->country_count + 1) * sizeof(char *));
        if (u->country_count)
            memcpy(list, u->countries, u->country_count * sizeof(char *));
        list[u->country_count++] = arena_strdup(r->arena, db_text(st, 0));
        u->countries = list;
    }
    db_done(st);
}

/* A session named by the keyed hash of its token, and the time of the
 * request: what session_end_apply and session_touch_apply are given. */
typedef struct {
    const char *hash;
    int64_t now;
} SessionRef;

static Result session_end_apply(Db *w, void *ctx)
{
    const SessionRef *s = ctx;
    Stmt *st = db_prepare(w, "DELETE FROM sessions WHERE token_hash = :hash");
    db_bind_text(st, ":hash", s->hash);
    return db_run(st);
}

static Result session_touch_apply(Db *w, void *ctx)
{
    const SessionRef *s = ctx;
    Stmt *st = db_prepare(w, "UPDATE sessions SET last_seen = :now "
                             "WHERE token_hash = :hash AND last_seen < :now");
    db_bind_int(st, ":now", s->now);
    db_bind_text(st, ":hash", s->hash);
    return db_run(st);
}

/* Looks the session up; returns the user or NULL when it is unknown,
 * expired or its user disabled (deleting an expired one). */
static User *session_user(Request *r, const char *token)
{
    char hash[65];
    keyed_hash("session", token, hash);
    int64_t now = now_seconds();
    Stmt *st = db_prepare(
        r->db, "SELECT u.id, u.email, u.display_name, u.role, u.lang, s.created_at, s.last_seen, "
               "(SELECT p.iso3 FROM people p WHERE p.user_id = u.id), "
               "(SELECT t.enabled_at IS NOT NULL FROM two_factor t WHERE t.user_id = u.id), "
               "coalesce((SELECT p.id FROM people p WHERE p.user_id = u.id), 0) "
               "FROM sessions s JOIN users u ON u.id = s.user_id "
               "WHERE s.token_hash = :hash AND u.disabled = 0");
    db_bind_text(st, ":hash", hash);
    User *u = NULL;
    int64_t created = 0, last_seen = 0;
    if (db_row(st)) {
        u = arena_alloc(r->arena, sizeof *u);
        u->id = db_int(st, 0);
        u->email = arena_strdup(r->arena, db_text(st, 1));
        u->display_name = arena_strdup(r->arena, db_text(st, 2));
        u->role = role_from_name(db_text(st, 3));
        u->lang = db_is_null(st, 4) ? NULL : arena_strdup(r->arena, db_text(st, 4));
        created = db_int(st, 5);
        last_seen = db_int(st, 6);
        u->home_iso3 = db_is_null(st, 7) ? NULL : arena_strdup(r->arena, db_text(st, 7));
        u->two_factor = !db_is_null(st, 8) && db_int(st, 8);
        u->person_id = db_int(st, 9);
    }
    db_done(st);
    if (!u)
        return NULL;
    SessionRef ref = {.hash = hash, .now = now};
    if (now - last_seen > SESSION_IDLE || now - created > SESSION_ABSOLUTE) {
        /* Refused either way; housekeeping deletes it if this fails. */
        if (db_write(r->db, session_end_apply, &ref) != R_OK)
            log_info("auth: an expired session could not be deleted");
        return NULL;
    }
    /* Refresh last_seen at most every SESSION_REFRESH: a write per request
     * would make every page view wait for a commit. */
    if (now - last_seen > SESSION_REFRESH && db_write(r->db, session_touch_apply, &ref) != R_OK)
        log_info("auth: a session's last use could not be recorded");
    load_countries(r, u);
    return u;
}

/* An API token seen in use now: last_used is shown on /admin/tokens. */
typedef struct {
    int64_t id, now;
} TokenUse;

static Result api_token_touch_apply(Db *w, void *ctx)
{
    const TokenUse *t = ctx;
    Stmt *st = db_prepare(w, "UPDATE api_tokens SET last_used = :now WHERE id = :id");
    db_bind_int(st, ":now", t->now);
    db_bind_int(st, ":id", t->id);
    return db_run(st);
}

/* An "Authorization: Bearer <token>" header on an /api/ path: only the
 * token's keyed hash is looked up. Revoked or unknown tokens are refused
 * outright rather than treated as anonymous. */
static Result load_api_token(Request *r, const char *header)
{
    if (strncmp(header, "Bearer ", 7) != 0 || strlen(header + 7) != 64)
        return R_UNAUTHORIZED;
    char hash[65];
    keyed_hash("api-token", header + 7, hash);
    Stmt *st = db_prepare(r->db, "SELECT id, scope, coalesce(last_used, 0) FROM "
                                 "api_tokens WHERE token_hash = :h AND revoked_at IS NULL");
    db_bind_text(st, ":h", hash);
    int64_t id = 0, last_used = 0;
    if (db_row(st)) {
        id = db_int(st, 0);
        r->api_token_id = id;
        r->api_scope = arena_strdup(r->arena, db_text(st, 1));
        last_used = db_int(st, 2);
    }
    db_done(st);
    if (!id) {
        r->message = tr(r, "This API token is not valid or was revoked.");
        return R_UNAUTHORIZED;
    }
    /* At most once a minute: most calls of a busy client write nothing. */
    TokenUse use = {.id = id, .now = now_seconds()};
    if (use.now - last_used > 60 && db_write(r->db, api_token_touch_apply, &use) != R_OK)
        log_info("auth: an API token's last use could not be recorded");
    return R_OK;
}

Result auth_load(Request *r)
{
    const char *authorization = r->is_api ? r->header(r, "Authorization") : NULL;
    if (authorization)
        return load_api_token(r, authorization);
    const char *token = http_cookie(r, "session");
    if (token && strlen(token) == 64) {
        r->user = session_user(r, token);
        if (r->user) {
            r->session_token = token;
        } else {
            http_set_cookie(r, "session", "", -1);
        }
    }
    if (r->user && r->user->lang && i18n_supported(r->user->lang))
        r->lang = r->user->lang;
    const char *binding = r->session_token;
    if (!binding) {
        binding = http_cookie(r, "presession");
        if (!binding || strlen(binding) != 64) {
            char *fresh = arena_alloc(r->arena, 65);
            random_hex(fresh, 32);
            binding = fresh;
            if (!r->is_api && strncmp(r->path, "/static/", 8) != 0)
                http_set_cookie(r, "presession", fresh, 0);
        }
    }
    char *csrf = arena_alloc(r->arena, 65);
    auth_csrf_token(binding, csrf);
    r->csrf_token = csrf;
    return R_OK;
}

Result auth_require(Request *r, Permission p)
{
    if (p == PERM_PUBLIC)
        return R_OK;
    /* A token is an admin's delegation to another system, for the API
     * routes only; a session of an admin may use those routes too. */
    if (r->api_scope &&
        (p == PERM_API_READ || (p == PERM_API_WRITE && strcmp(r->api_scope, "write") == 0)))
        return R_OK;
    if (r->api_scope)
        return R_FORBIDDEN;
    if ((p == PERM_API_READ || p == PERM_API_WRITE) && r->user && r->user->role == ROLE_ADMIN)
        return R_OK;
    if (p == PERM_API_READ || p == PERM_API_WRITE)
        return r->user ? R_FORBIDDEN : R_UNAUTHORIZED;
    if (!r->user)
        return R_UNAUTHORIZED;
    if ((p == PERM_ADMIN && r->user->role != ROLE_ADMIN) ||
        (p == PERM_COORDINATOR && r->user->role < ROLE_COORDINATOR))
        return R_FORBIDDEN;
    return R_OK;
}

int auth_covers_country(const User *u, const char *iso3)
{
    if (!u)
        return 0;
    if (u->role == ROLE_ADMIN)
        return 1;
    if (u->role != ROLE_COORDINATOR)
        return 0;
    for (size_t i = 0; i < u->country_count; i++)
        if (strcmp(u->countries[i], iso3) == 0)
            return 1;
    return 0;
}

int auth_can_see(const User *u, const char *visibility, const char *iso3, int64_t author_id)
{
    if (strcmp(visibility, "public") == 0)
        return 1;
    if (!u)
        return 0;
    /* The author always sees what they wrote; admins see everything. */
    if (u->role == ROLE_ADMIN || (author_id && u->id == author_id))
        return 1;
    if (strcmp(visibility, "members") == 0)
        return 1;
    int coordinates = iso3 && *iso3 && auth_covers_country(u, iso3);
    /* The national coalition: the country's coordinators and members. */
    if (strcmp(visibility, "country") == 0)
        return coordinates || (iso3 && *iso3 && u->home_iso3 && !strcmp(u->home_iso3, iso3));
    /* The steering committee: the country's coordinators only. */
    if (strcmp(visibility, "steering") == 0)
        return coordinates;
    /* "private" (the author and the admins, never a coordinator) and
     * anything unknown. */
    return 0;
}

int auth_csrf_ok(Request *r)
{
    const Param *p = form_get(&r->form, "csrf_token");
    const char *sent = p ? p->value : r->header(r, "X-CSRF-Token");
    if (!sent || !r->csrf_token || strlen(sent) != 64)
        return 0;
    return sodium_memcmp(sent, r->csrf_token, 64) == 0;
}

/* ---- throttling ---- */

int auth_throttled(Db *db, const char *key, int limit)
{
    Stmt *st = db_prepare(
        db, "SELECT failures FROM login_failures WHERE key = :key AND window_start > :since");
    db_bind_text(st, ":key", key);
    db_bind_int(st, ":since", now_seconds() - THROTTLE_WINDOW);
    int over = db_row(st) && db_int(st, 0) >= limit;
    db_done(st);
    return over;
}

Result auth_count_failure(Db *w, const char *key)
{
    int64_t now = now_seconds();
    Stmt *st = db_prepare(
        w, "INSERT INTO login_failures (key, failures, window_start) VALUES (:key, 1, :now) "
           "ON CONFLICT (key) DO UPDATE SET "
           "failures = CASE WHEN window_start > :since THEN failures + 1 ELSE 1 END, "
           "window_start = CASE WHEN window_start > :since THEN window_start ELSE :now END");
    db_bind_text(st, ":key", key);
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":since", now - THROTTLE_WINDOW);
    return db_run(st);
}

Result auth_clear_failures(Db *w, const char *key)
{
    Stmt *st = db_prepare(w, "DELETE FROM login_failures WHERE key = :key");
    db_bind_text(st, ":key", key);
    return db_run(st);
}

/* One failed attempt, counted against each key given. */
typedef struct {
    const char *account_key, *client_key;
} Failure;

static Result failure_count_apply(Db *w, void *ctx)
{
    const Failure *f = ctx;
    Result rc = auth_count_failure(w, f->account_key);
    if (rc == R_OK && f->client_key)
        rc = auth_count_failure(w, f->client_key);
    return rc;
}

Result auth_failed_attempt(Db *db, const char *account_key, const char *client_key)
{
    Failure f = {.account_key = account_key, .client_key = client_key};
    Result rc = db_write(db, failure_count_apply, &f);
    if (rc != R_OK)
        log_info("auth: a failed attempt could not be counted");
    return rc;
}

/* ---- sessions ---- */

void auth_session_prepare(Request *r, NewSession *s)
{
    random_hex(s->token, 32);
    keyed_hash("session", s->token, s->hash);
    s->old_hash[0] = 0;
    if (r->session_token)
        keyed_hash("session", r->session_token, s->old_hash);
}

Result auth_session_write(Db *w, const NewSession *s, int64_t user_id)
{
    if (s->old_hash[0]) {
        Stmt *st = db_prepare(w, "DELETE FROM sessions WHERE token_hash = :hash");
        db_bind_text(st, ":hash", s->old_hash);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    Stmt *st = db_prepare(w, "INSERT INTO sessions (token_hash, user_id, created_at, last_seen) "
                             "VALUES (:hash, :user, :now, :now)");
    db_bind_text(st, ":hash", s->hash);
    db_bind_int(st, ":user", user_id);
    db_bind_int(st, ":now", now_seconds());
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

void auth_session_cookie(Request *r, const NewSession *s)
{
    http_set_cookie(r, "session", s->token, 0);
    http_set_cookie(r, "presession", "", -1);
}

/* ---- pages ---- */

/* A "next" target must be a local path; anything else goes home. */
static const char *safe_next(const char *next)
{
    if (!next || next[0] != '/' || next[1] == '/' || next[1] == '\\' || strpbrk(next, "\r\n"))
        return "/";
    return next;
}

static void login_form(Request *r, const char *email, const char *next)
{
    r->page = "login";
    r->title = tr(r, "Log in");
    r->data = json_build("{s:s, s:s}", "email", email ? email : "", "next", safe_next(next));
}

Result auth_login_page(Request *r)
{
    if (r->user)
        return http_redirect(r, safe_next(param_raw(r, "next")));
    login_form(r, NULL, param_raw(r, "next"));
    return R_OK;
}

/* A hash to verify against when the email is unknown, so that a wrong
 * email takes as long as a wrong password and reveals nothing. */
static const char *dummy_hash(void)
{
    static char hash[crypto_pwhash_STRBYTES];
    static int ready;
    if (!ready) {
        auth_hash_password("not a real password", hash);
        ready = 1;
    }
    return hash;
}

static Result login_failed(Request *r, const char *email, const char *message, Result code)
{
    login_form(r, email, param_raw(r, "next"));
    r->message = tr(r, message);
    if (code == R_TOO_MANY)
        r->status = 429;
    return code == R_TOO_MANY ? R_OK : R_BAD_REQUEST;
}

/* A right password: the account's failures forgotten, and the session
 * or the half-login that waits for the second factor. */
typedef struct {
    const char *account_key;
    AfterPassword after;
} LoginOpen;

static Result login_open_apply(Db *w, void *ctx)
{
    LoginOpen *l = ctx;
    if (auth_clear_failures(w, l->account_key) != R_OK)
        return R_INTERNAL;
    return two_factor_after_password_write(w, &l->after);
}

Result auth_login_post(Request *r)
{
    const char *email = NULL, *password = NULL;
    const char *typed = param_raw(r, "email");
    if (param_email(r, "email", &email) != R_OK ||
        param_text(r, "password", 1, PASSWORD_MAX, 0, &password) != R_OK) {
        login_form(r, typed, param_raw(r, "next"));
        return R_BAD_REQUEST;
    }
    char account_key[65], client_key[65];
    keyed_hash("throttle-account", email, account_key);
    keyed_hash("throttle-client", r->client, client_key);
    if (auth_throttled(r->db, account_key, THROTTLE_ACCOUNT) ||
        auth_throttled(r->db, client_key, THROTTLE_CLIENT))
        return login_failed(r, email, N_("Too many failed attempts. Please wait 15 minutes."),
                            R_TOO_MANY);

    Stmt *st = db_prepare(
        r->db, "SELECT id, password_hash FROM users WHERE email = :email AND disabled = 0");
    db_bind_text(st, ":email", email);
    int64_t id = 0;
    char *hash = NULL;
    if (db_row(st)) {
        id = db_int(st, 0);
        hash = arena_strdup(r->arena, db_text(st, 1));
    }
    db_done(st);
    int ok = auth_verify_password(hash && *hash ? hash : dummy_hash(), password) && hash && *hash;
    if (!ok) {
        auth_failed_attempt(r->db, account_key, client_key); /* a failure is logged */
        return login_failed(r, email, N_("The email or password is not right."), R_BAD_REQUEST);
    }
    LoginOpen l = {.account_key = account_key};
    two_factor_after_password_prepare(r, &l.after, id, safe_next(param_raw(r, "next")));
    if (db_write(r->db, login_open_apply, &l) != R_OK)
        return R_INTERNAL;
    return two_factor_after_password_finish(r, &l.after);
}

Result auth_logout_post(Request *r)
{
    char hash[65];
    keyed_hash("session", r->session_token, hash);
    SessionRef ref = {.hash = hash, .now = now_seconds()};
    if (db_write(r->db, session_end_apply, &ref) != R_OK)
        return R_INTERNAL; /* the cookie stays: the session was not ended */
    http_set_cookie(r, "session", "", -1);
    r->user = NULL;
    return http_redirect(r, "/");
}

/* The user a welcome or reset token belongs to, or 0 if it is unknown,
 * used or expired. */
static int64_t token_user(Request *r, const char *token, char hash[65])
{
    keyed_hash("login-token", token, hash);
    Stmt *st = db_prepare(r->db, "SELECT user_id FROM login_tokens WHERE token_hash = "
                                 ":hash AND used_at IS NULL AND expires_at > :now");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":now", now_seconds());
    int64_t id = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return id;
}

static void welcome_form(Request *r, const char *token)
{
    r->page = "welcome";
    r->title = tr(r, "Choose your password");
    r->data = json_build("{s:s, s:i}", "token", token, "min", PASSWORD_MIN);
}

static Result link_spent(Request *r)
{
    r->message = tr(r, "This link has expired or was already used. Ask an administrator "
                       "for a new one.");
    return R_NOT_FOUND;
}

Result auth_welcome_page(Request *r)
{
    const char *token = param_raw(r, "token");
    char hash[65];
    if (!token_user(r, token, hash))
        return link_spent(r);
    welcome_form(r, token);
    return R_OK;
}

/* A password chosen through a welcome or reset link: the password, the
 * link spent, the audit line and what follows a right password, all or
 * nothing. */
typedef struct {
    const char *token_hash;
    int64_t user_id;
    char password_hash[128];
    AfterPassword after;
} PasswordSet;

static Result password_set_apply(Db *w, void *ctx)
{
    PasswordSet *p = ctx;
    /* Spending the link is the check that it is still good: two forms
     * sent with one link cannot both set a password. */
    Stmt *st = db_prepare(w, "UPDATE login_tokens SET used_at = :now WHERE token_hash = :hash "
                             "AND user_id = :id AND used_at IS NULL AND expires_at > :now");
    db_bind_int(st, ":now", now_seconds());
    db_bind_text(st, ":hash", p->token_hash);
    db_bind_int(st, ":id", p->user_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_NOT_FOUND;
    st = db_prepare(w, "UPDATE users SET password_hash = :hash WHERE id = :id");
    db_bind_text(st, ":hash", p->password_hash);
    db_bind_int(st, ":id", p->user_id);
    if (db_run(st) != R_OK || audit_log(w, p->user_id, "password set", "", "") != R_OK)
        return R_INTERNAL;
    return two_factor_after_password_write(w, &p->after);
}

Result auth_welcome_post(Request *r)
{
    const char *token = param_raw(r, "token");
    char hash[65];
    int64_t user_id = token_user(r, token, hash);
    if (!user_id)
        return link_spent(r);
    const char *password = NULL, *confirm = NULL;
    welcome_form(r, token);
    if (param_text(r, "password", PASSWORD_MIN, PASSWORD_MAX, 0, &password) != R_OK)
        return R_BAD_REQUEST;
    param_optional_text(r, "confirm", PASSWORD_MAX, 0, &confirm);
    if (!confirm || strcmp(password, confirm) != 0) {
        param_error(r, "confirm", N_("The two passwords are not the same."));
        return R_BAD_REQUEST;
    }
    /* argon2id takes a while: hashed here, not in the writer's turn. */
    PasswordSet p = {.token_hash = hash, .user_id = user_id};
    if (auth_hash_password(password, p.password_hash) != R_OK)
        return R_INTERNAL;
    /* A reset link proves the mailbox, not the second factor: an account
     * that has one still answers it before getting a session. */
    two_factor_after_password_prepare(r, &p.after, user_id, "/account");
    Result res = db_write(r->db, password_set_apply, &p);
    sodium_memzero(p.password_hash, sizeof p.password_hash);
    if (res == R_NOT_FOUND)
        return link_spent(r);
    if (res != R_OK)
        return R_INTERNAL;
    return two_factor_after_password_finish(r, &p.after);
}

static json_t *account_data(Request *r)
{
    json_t *countries = json_array();
    Buf text = {0};
    for (size_t i = 0; i < r->user->country_count; i++) {
        json_array_append_new(countries, json_string(r->user->countries[i]));
        buf_printf(&text, "%s%s", i ? " " : "", r->user->countries[i]);
    }
    json_t *account = json_build(
        "{s:I, s:s, s:s, s:s, s:s, s:o, s:s, s:b}", "id", (json_int_t)r->user->id, "email",
        r->user->email, "display_name", r->user->display_name, "role", role_name(r->user->role),
        "lang", r->user->lang ? r->user->lang : "", "countries", countries, "countries_text",
        text.data ? text.data : "", "two_factor", r->user->two_factor);
    buf_free(&text);
    return account;
}

Result account_page(Request *r)
{
    r->page = "account";
    r->title = tr(r, "Your account");
    r->data = json_build("{s:o}", "account", account_data(r));
    return R_OK;
}

/* What account_post writes: the user's own name and language. */
typedef struct {
    int64_t id;
    const char *name, *lang; /* lang NULL: the browser's */
} AccountUpdate;

static Result account_update_apply(Db *w, void *ctx)
{
    const AccountUpdate *u = ctx;
    Stmt *st = db_prepare(w, "UPDATE users SET display_name = :name, lang = :lang WHERE id = :id");
    db_bind_text(st, ":name", u->name);
    db_bind_text(st, ":lang", u->lang);
    db_bind_int(st, ":id", u->id);
    return db_run(st);
}

Result account_post(Request *r)
{
    const char *name = NULL, *lang = NULL;
    account_page(r);
    if (param_optional_text(r, "display_name", 200, 0, &name) != R_OK ||
        param_optional_text(r, "lang", 8, 0, &lang) != R_OK)
        return R_BAD_REQUEST;
    if (lang && *lang && !i18n_supported(lang)) {
        r->errors = json_build("{s:s}", "lang", tr(r, "Please choose one of the options."));
        return R_BAD_REQUEST;
    }
    AccountUpdate u = {.id = r->user->id,
                       .name = name ? name : r->user->display_name,
                       .lang = lang && *lang ? lang : NULL};
    if (db_write(r->db, account_update_apply, &u) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/account");
}

Result admin_users_page(Request *r)
{
    json_t *users = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT u.id, u.email, u.display_name, u.role, u.password_hash IS NOT NULL, "
               "(SELECT group_concat(iso3, ' ') FROM user_countries c WHERE c.user_id = u.id), "
               "EXISTS (SELECT 1 FROM two_factor t WHERE t.user_id = u.id "
               "AND t.enabled_at IS NOT NULL) "
               "FROM users u ORDER BY u.email");
    while (db_row(st))
        json_array_append_new(
            users, json_build("{s:I, s:s, s:s, s:s, s:b, s:s, s:b}", "id",
                              (json_int_t)db_int(st, 0), "email", db_text(st, 1), "display_name",
                              db_text(st, 2), "role", db_text(st, 3), "active", (int)db_int(st, 4),
                              "countries", db_text(st, 5), "two_factor", (int)db_int(st, 6)));
    db_done(st);
    r->page = "admin_users";
    r->title = tr(r, "Users");
    r->data = json_build("{s:o}", "users", users);
    return R_OK;
}

/* ---- CLI ---- */

/* A single-use link to set a password: the token is drawn by the
 * caller, only its hash stored. */
typedef struct {
    const char *email, *purpose;
    int hours;
    char token[65];
} Welcome;

static Result welcome_insert(Db *w, int64_t user_id, const Welcome *wl)
{
    char hash[65];
    keyed_hash("login-token", wl->token, hash);
    Stmt *st = db_prepare(w, "INSERT INTO login_tokens (token_hash, user_id, purpose, expires_at) "
                             "VALUES (:hash, :user, :purpose, :expires)");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":user", user_id);
    db_bind_text(st, ":purpose", wl->purpose);
    db_bind_int(st, ":expires", now_seconds() + (int64_t)wl->hours * 3600);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

static Result welcome_issue_apply(Db *w, void *ctx)
{
    const Welcome *wl = ctx;
    Stmt *st = db_prepare(w, "SELECT id FROM users WHERE email = :email");
    db_bind_text(st, ":email", wl->email);
    int64_t id = db_row(st) ? db_int(st, 0) : 0;
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    return id ? welcome_insert(w, id, wl) : R_NOT_FOUND;
}

static void welcome_path(const Welcome *wl, char out[96])
{
    snprintf(out, 96, "/welcome/%s", wl->token);
}

Result auth_issue_welcome(Db *w, const char *email, const char *purpose, int hours, char out[96])
{
    Welcome wl = {.email = email, .purpose = purpose, .hours = hours};
    random_hex(wl.token, 32);
    Result rc = welcome_issue_apply(w, &wl);
    if (rc == R_OK)
        welcome_path(&wl, out);
    return rc;
}

/* The same from the command line, in a write of its own. */
static Result welcome_issue(Db *db, const char *email, int hours, char out[96])
{
    Welcome wl = {.email = email, .purpose = "welcome", .hours = hours};
    random_hex(wl.token, 32);
    Result rc = db_write(db, welcome_issue_apply, &wl);
    if (rc == R_OK)
        welcome_path(&wl, out);
    return rc;
}

/* A user added from the command line, with the countries they coordinate,
 * the audit line and the link to choose a password: all or nothing. */
typedef struct {
    const char *email;
    Role role;
    char **countries;
    int ncountries;
    Welcome welcome;
} UserCreate;

static Result user_create_apply(Db *w, void *ctx)
{
    UserCreate *u = ctx;
    Stmt *st = db_prepare(w, "SELECT 1 FROM users WHERE email = :email");
    db_bind_text(st, ":email", u->email);
    int taken = db_row(st);
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    if (taken)
        return R_CONFLICT;
    st = db_prepare(w, "INSERT INTO users (email, role, created_at) "
                       "VALUES (:email, :role, :now) RETURNING id");
    db_bind_text(st, ":email", u->email);
    db_bind_text(st, ":role", role_name(u->role));
    db_bind_int(st, ":now", now_seconds());
    int64_t id = 0;
    if (db_insert(st, &id) != R_OK)
        return R_INTERNAL;
    for (int i = 0; i < u->ncountries; i++) {
        st = db_prepare(w, "INSERT INTO user_countries (user_id, iso3) VALUES (:user, :iso3) "
                           "ON CONFLICT DO NOTHING");
        db_bind_int(st, ":user", id);
        db_bind_text(st, ":iso3", u->countries[i]);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    char object[32];
    snprintf(object, sizeof object, "user %lld", (long long)id); /* never the email */
    if (audit_log(w, 0, "user added", object, "") != R_OK)
        return R_INTERNAL;
    return welcome_insert(w, id, &u->welcome);
}

/* Creates the user and their link (valid for hours) into path. */
static Result create_user(Db *db, const char *email, Role role, char **countries, int ncountries,
                          int hours, char path[96])
{
    UserCreate u = {.email = email,
                    .role = role,
                    .countries = countries,
                    .ncountries = ncountries,
                    .welcome = {.email = email, .purpose = "welcome", .hours = hours}};
    random_hex(u.welcome.token, 32);
    Result rc = db_write(db, user_create_apply, &u);
    if (rc == R_CONFLICT)
        fprintf(stderr, "ratify: a user with the email %s already exists\n", email);
    if (rc == R_OK)
        welcome_path(&u.welcome, path);
    return rc;
}

static void lowercase(char *s)
{
    for (; *s; s++)
        if (*s >= 'A' && *s <= 'Z')
            *s = (char)(*s - 'A' + 'a');
}

static Result user_add(Db *db, int argc, char **argv, const char *base_url)
{
    if (argc < 1) {
        fprintf(stderr, "usage: ratify user add EMAIL --role admin|coordinator|member "
                        "[--country ISO3]...\n");
        return R_BAD_REQUEST;
    }
    char *email = argv[0];
    lowercase(email);
    Role role = 0;
    char *countries[64];
    int ncountries = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role = role_from_name(argv[++i]);
        } else if (strcmp(argv[i], "--country") == 0 && i + 1 < argc && ncountries < 64) {
            countries[ncountries++] = argv[++i];
            if (!valid_iso3(countries[ncountries - 1])) {
                fprintf(stderr,
                        "ratify: --country wants an ISO 3166 alpha-3 code such as "
                        "ARG, got '%s'\n",
                        countries[ncountries - 1]);
                return R_BAD_REQUEST;
            }
        } else {
            fprintf(stderr, "ratify: unknown or incomplete option '%s'\n", argv[i]);
            return R_BAD_REQUEST;
        }
    }
    if (!valid_email(email)) {
        fprintf(stderr, "ratify: '%s' is not a valid email address\n", email);
        return R_BAD_REQUEST;
    }
    if (!role) {
        fprintf(stderr, "ratify: --role must be admin, coordinator or member\n");
        return R_BAD_REQUEST;
    }
    if (role != ROLE_COORDINATOR && ncountries) {
        fprintf(stderr, "ratify: --country applies to coordinators only\n");
        return R_BAD_REQUEST;
    }
    char path[96];
    Result res = create_user(db, email, role, countries, ncountries, 72, path);
    if (res != R_OK)
        return res;
    printf("Added %s (%s). To choose a password, open within 72 hours:\n  %s%s\n", email,
           role_name(role), base_url, path);
    return R_OK;
}

/* Reads a line from stdin without echo when it is a terminal. */
static int read_password(const char *prompt, char *out, size_t size)
{
    int tty = isatty(STDIN_FILENO);
    struct termios old, quiet;
    if (tty) {
        fprintf(stderr, "%s", prompt);
        tcgetattr(STDIN_FILENO, &old);
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *line = fgets(out, (int)size, stdin);
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fprintf(stderr, "\n");
    }
    if (!line)
        return -1;
    out[strcspn(out, "\r\n")] = 0;
    return 0;
}

/* `ratify user passwd`: the new password (hashed beforehand), and every
 * session of the user ended, since the old password may have leaked. */
typedef struct {
    const char *email;
    char password_hash[128];
} PasswordReset;

static Result password_reset_apply(Db *w, void *ctx)
{
    const PasswordReset *p = ctx;
    Stmt *st = db_prepare(w, "UPDATE users SET password_hash = :hash WHERE email = :email");
    db_bind_text(st, ":hash", p->password_hash);
    db_bind_text(st, ":email", p->email);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_NOT_FOUND;
    st = db_prepare(w, "DELETE FROM sessions WHERE user_id = "
                       "(SELECT id FROM users WHERE email = :email)");
    db_bind_text(st, ":email", p->email);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, 0, "password set", "by the command line", "");
}

static Result user_passwd(Db *db, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: ratify user passwd EMAIL  (reads the password from stdin)\n");
        return R_BAD_REQUEST;
    }
    lowercase(argv[0]);
    char password[PASSWORD_MAX + 2], again[PASSWORD_MAX + 2];
    if (read_password("New password: ", password, sizeof password) != 0)
        return R_BAD_REQUEST;
    if (isatty(STDIN_FILENO) &&
        (read_password("Again: ", again, sizeof again) != 0 || strcmp(password, again) != 0)) {
        fprintf(stderr, "ratify: the two passwords are not the same\n");
        return R_BAD_REQUEST;
    }
    if (strlen(password) < PASSWORD_MIN || strlen(password) > PASSWORD_MAX) {
        fprintf(stderr, "ratify: a password needs %d to %d characters\n", PASSWORD_MIN,
                PASSWORD_MAX);
        return R_BAD_REQUEST;
    }
    PasswordReset p = {.email = argv[0]};
    Result res = auth_hash_password(password, p.password_hash);
    sodium_memzero(password, sizeof password);
    if (res != R_OK)
        return res;
    res = db_write(db, password_reset_apply, &p);
    sodium_memzero(p.password_hash, sizeof p.password_hash);
    if (res == R_NOT_FOUND)
        fprintf(stderr, "ratify: no user with the email %s\n", argv[0]);
    if (res != R_OK)
        return res;
    printf("Password changed for %s.\n", argv[0]);
    return R_OK;
}

/* The second factor of user *ctx (an int64_t) removed, with its recovery
 * codes and sessions. */
static Result two_factor_reset_apply(Db *w, void *ctx)
{
    int64_t id = *(const int64_t *)ctx;
    Stmt *st = db_prepare(w, "DELETE FROM two_factor WHERE user_id = :id");
    db_bind_int(st, ":id", id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "DELETE FROM recovery_codes WHERE user_id = :id");
    db_bind_int(st, ":id", id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "DELETE FROM sessions WHERE user_id = :id");
    db_bind_int(st, ":id", id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    char object[32];
    snprintf(object, sizeof object, "user %lld", (long long)id);
    return audit_log(w, 0, "two-factor reset", object, "by the command line");
}

/* For someone who lost both their phone and their recovery codes: the
 * second factor goes, their sessions end, and an admin or coordinator
 * enrols a new one at the next login. */
static Result user_reset_two_factor(Db *db, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: ratify user reset-2fa EMAIL\n");
        return R_BAD_REQUEST;
    }
    lowercase(argv[0]);
    Stmt *st = db_prepare(db, "SELECT id FROM users WHERE email = :email");
    db_bind_text(st, ":email", argv[0]);
    int64_t id = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    if (!id) {
        fprintf(stderr, "ratify: no user with the email %s\n", argv[0]);
        return R_NOT_FOUND;
    }
    Result res = db_write(db, two_factor_reset_apply, &id);
    if (res != R_OK)
        return res;
    printf("Two-factor sign-in removed for %s; their sessions ended.\n", argv[0]);
    return R_OK;
}

static Result user_list(Db *db)
{
    Stmt *st = db_prepare(
        db, "SELECT u.email, u.role, u.password_hash IS NOT NULL, "
            "(SELECT group_concat(iso3, ' ') FROM user_countries c WHERE c.user_id = u.id) "
            "FROM users u ORDER BY u.email");
    printf("%-40s %-12s %-8s %s\n", "EMAIL", "ROLE", "PASSWORD", "COUNTRIES");
    while (db_row(st))
        printf("%-40s %-12s %-8s %s\n", db_text(st, 0), db_text(st, 1),
               db_int(st, 2) ? "set" : "not set", db_text(st, 3));
    db_done(st);
    return R_OK;
}

Result auth_user_cmd(Db *db, int argc, char **argv, const char *base_url)
{
    if (argc >= 1 && strcmp(argv[0], "add") == 0)
        return user_add(db, argc - 1, argv + 1, base_url);
    if (argc >= 1 && strcmp(argv[0], "passwd") == 0)
        return user_passwd(db, argc - 1, argv + 1);
    if (argc == 1 && strcmp(argv[0], "list") == 0)
        return user_list(db);
    if (argc >= 1 && strcmp(argv[0], "reset-2fa") == 0)
        return user_reset_two_factor(db, argc - 1, argv + 1);
    fprintf(stderr, "usage: ratify user add EMAIL --role ROLE [--country ISO3]...\n"
                    "       ratify user passwd EMAIL\n"
                    "       ratify user list\n"
                    "       ratify user reset-2fa EMAIL\n");
    return R_BAD_REQUEST;
}

Result auth_first_admin(Db *db, const char *email, const char *base_url)
{
    Stmt *st = db_prepare(db, "SELECT email, password_hash IS NOT NULL FROM users "
                              "WHERE role = 'admin' ORDER BY id LIMIT 1");
    char existing[256] = "";
    int has_password = 0;
    if (db_row(st)) {
        snprintf(existing, sizeof existing, "%s", db_text(st, 0));
        has_password = (int)db_int(st, 1);
    }
    db_done(st);
    if (existing[0] && has_password) {
        printf("Log in at %s/login as %s. Forgot the password? Run: ratify user passwd %s\n",
               base_url, existing, existing);
        return R_OK;
    }
    char path[96];
    Result res = existing[0] ? welcome_issue(db, existing, 24, path)
                             : create_user(db, email, ROLE_ADMIN, NULL, 0, 24, path);
    if (res != R_OK)
        return res;
    if (!existing[0])
        snprintf(existing, sizeof existing, "%s", email);
    printf("\nFirst login: open this one-time link within 24 hours to choose the password of "
           "the admin account %s:\n\n    %s%s\n\n",
           existing, base_url, path);
    return R_OK;
}
