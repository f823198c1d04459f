/*
 * auth.c: what every request and every feature needs to know who is
 * asking: the server's secret, passwords, sessions, CSRF tokens, API token
 * checks, login throttling, the permission check, and the single-use
 * links to set a password. The visibility rule is svc/visibility.c's; the
 * pages that log people in and out, and `ratify user`, are
 * feat/account.c's.
 *
 * Invariants: only hashes of session and login tokens are stored; a new
 * session token is issued at every login; a CSRF token is an HMAC of the
 * session token (or, before login, of a random pre-session cookie) under the
 * server's secret, so it needs no storage and cannot be forged; throttling
 * counters are keyed by an HMAC of the email or address, never the clear
 * value.
 */
#include "svc/auth.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "base/i18n.h"

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

Result auth_setting_set(Db *w, const char *name, const char *value)
{
    Stmt *st = db_prepare(w, "INSERT INTO settings (name, value) VALUES (:name, :value) "
                             "ON CONFLICT (name) DO UPDATE SET value = excluded.value");
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":value", value);
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
    return ok ? R_OK : R_INTERNAL;
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
               "coalesce((SELECT p.id FROM people p WHERE p.user_id = u.id), 0), "
               "(SELECT count(*) FROM steering_committee c WHERE c.user_id = u.id) "
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
        u->committee = db_int(st, 10) > 0;
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

/* ---- issuing and revoking API tokens (the pages are feat/api_token.c's) ---- */

Result auth_api_token_insert(Db *w, const char *hash, const char *name, const char *scope,
                             int64_t user_id, int64_t *id)
{
    Stmt *st =
        db_prepare(w, "INSERT INTO api_tokens (token_hash, name, scope, created_by, created_at) "
                      "VALUES (:hash, :name, :scope, :user, :now) RETURNING id");
    db_bind_text(st, ":hash", hash);
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":scope", scope);
    if (user_id)
        db_bind_int(st, ":user", user_id);
    else
        db_bind_null(st, ":user");
    db_bind_int(st, ":now", now_seconds());
    return db_insert(st, id) == R_OK ? R_OK : R_INTERNAL;
}

Result auth_api_token_revoke(Db *w, int64_t id)
{
    Stmt *st = db_prepare(w, "UPDATE api_tokens SET revoked_at = :now "
                             "WHERE id = :id AND revoked_at IS NULL");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) == 0 ? R_NOT_FOUND : R_OK;
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

/* The plain token out of a masked one (pad || token XOR pad, hex); 0 on
 * success. */
static int csrf_unmask(const char *masked, char out[65])
{
    unsigned char both[64];
    size_t len = 0;
    if (sodium_hex2bin(both, sizeof both, masked, 128, NULL, &len, NULL) != 0 || len != 64)
        return -1;
    unsigned char token[32];
    for (int i = 0; i < 32; i++)
        token[i] = both[32 + i] ^ both[i];
    sodium_bin2hex(out, 65, token, sizeof token);
    return 0;
}

int auth_csrf_ok(Request *r)
{
    const Param *p = form_get(&r->form, "csrf_token");
    const char *sent = p ? p->value : r->header(r, "X-CSRF-Token");
    if (!sent || !r->csrf_token)
        return 0;
    char plain[65];
    size_t n = strlen(sent);
    if (n == 128 && csrf_unmask(sent, plain) == 0)
        sent = plain;
    else if (n != 64)
        return 0;
    return sodium_memcmp(sent, r->csrf_token, 64) == 0;
}

const char *auth_csrf_masked(Request *r)
{
    unsigned char token[32], both[64];
    size_t len = 0;
    if (!r->csrf_token ||
        sodium_hex2bin(token, sizeof token, r->csrf_token, 64, NULL, &len, NULL) != 0 || len != 32)
        return "";
    randombytes_buf(both, 32);
    for (int i = 0; i < 32; i++)
        both[32 + i] = token[i] ^ both[i];
    char *out = arena_alloc(r->arena, 129);
    sodium_bin2hex(out, 129, both, sizeof both);
    return out;
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
           "failures = CASE WHEN login_failures.window_start > :since "
           "THEN login_failures.failures + 1 ELSE 1 END, "
           "window_start = CASE WHEN login_failures.window_start > :since "
           "THEN login_failures.window_start ELSE :now END");
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

Result auth_session_end(Db *db, const char *token)
{
    char hash[65];
    keyed_hash("session", token, hash);
    SessionRef ref = {.hash = hash, .now = now_seconds()};
    return db_write(db, session_end_apply, &ref);
}

Result auth_sessions_end_user(Db *w, int64_t user_id)
{
    Stmt *st = db_prepare(w, "DELETE FROM sessions WHERE user_id = :id");
    db_bind_int(st, ":id", user_id);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result auth_sessions_end_email(Db *w, const char *email)
{
    Stmt *st = db_prepare(w, "DELETE FROM sessions WHERE user_id = "
                             "(SELECT id FROM users WHERE email = :email)");
    db_bind_text(st, ":email", email);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result auth_sessions_end_others(Db *w, int64_t user_id, const char *current_hash)
{
    Stmt *st = db_prepare(w, "DELETE FROM sessions WHERE user_id = :id AND token_hash <> :current");
    db_bind_int(st, ":id", user_id);
    db_bind_text(st, ":current", current_hash);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* ---- expiry (housekeeping) ---- */

Result auth_expire(Db *w, int64_t now)
{
    /* The session limits are the ones auth_load enforces on every
     * request: rows past them can never be used again. */
    Stmt *st =
        db_prepare(w, "DELETE FROM sessions WHERE last_seen < :idle OR created_at < :absolute");
    db_bind_int(st, ":idle", now - SESSION_IDLE);
    db_bind_int(st, ":absolute", now - SESSION_ABSOLUTE);
    int ok = db_run(st) == R_OK;
    st = db_prepare(w, "DELETE FROM login_tokens WHERE used_at IS NOT NULL OR expires_at < :now");
    db_bind_int(st, ":now", now);
    ok &= db_run(st) == R_OK;
    /* A day: far past THROTTLE_WINDOW, so no counter still in use goes. */
    st = db_prepare(w, "DELETE FROM login_failures WHERE window_start < :old");
    db_bind_int(st, ":old", now - 24 * 3600);
    ok &= db_run(st) == R_OK;
    return ok ? R_OK : R_INTERNAL;
}

/* ---- links to set a password ---- */

Result auth_login_token_spend(Db *w, const char *token_hash, int64_t user_id)
{
    Stmt *st = db_prepare(w, "UPDATE login_tokens SET used_at = :now WHERE token_hash = :hash "
                             "AND user_id = :id AND used_at IS NULL AND expires_at > :now");
    db_bind_int(st, ":now", now_seconds());
    db_bind_text(st, ":hash", token_hash);
    db_bind_int(st, ":id", user_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) != 1 ? R_NOT_FOUND : R_OK;
}

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
