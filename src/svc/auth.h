/*
 * auth.h: users, passwords, sessions, CSRF tokens, API token checks, login
 * throttling and permissions. The login pages and `ratify user` are
 * feat/account.h's; the visibility rule is svc/visibility.h's.
 */
#ifndef RATIFY_AUTH_H
#define RATIFY_AUTH_H

#include "svc/http.h"

/* Session lifetimes: idle and absolute, in seconds. */
enum { SESSION_IDLE = 8 * 3600, SESSION_ABSOLUTE = 7 * 24 * 3600 };
/* Failed logins allowed per window, per account and per client address. */
enum { THROTTLE_WINDOW = 15 * 60, THROTTLE_ACCOUNT = 5, THROTTLE_CLIENT = 30 };
enum { PASSWORD_MIN = 10, PASSWORD_MAX = 256 };

/* Loads (creating on first use) the server's secret key from the settings
 * table; the CSRF and throttling keys derive from it. Call once at start-up
 * before serving. Returns R_OK or R_INTERNAL. */
Result auth_init(Db *db);

/* Inside the caller's write, on w: stores a server setting (the settings
 * table is this file's), replacing its value. R_OK or R_INTERNAL. */
Result auth_setting_set(Db *w, const char *name, const char *value);

/* Reads the session cookie and fills r->user, r->session_token and
 * r->csrf_token. An expired or unknown session counts as logged out. */
Result auth_load(Request *r);

/* R_OK if the request's user has permission p; R_UNAUTHORIZED when a login
 * would help, else R_FORBIDDEN. */
Result auth_require(Request *r, Permission p);

/* 1 if the user may act for the country (admins for all, coordinators for
 * theirs). */
int auth_covers_country(const User *u, const char *iso3);

/* 1 if the POST carries the CSRF token bound to this browser (form field
 * csrf_token or header X-CSRF-Token), plain (64 hex digits) or masked as
 * auth_csrf_masked writes it (128). Constant-time comparison. */
int auth_csrf_ok(Request *r);

/* r's CSRF token masked afresh (128 hex digits, in r's arena): a random pad
 * and the token XORed with it. Pages print this form, never the plain
 * token, so that no two responses carry the same secret bytes and a page
 * may be compressed without its length telling the token (BREACH). */
const char *auth_csrf_masked(Request *r);

/* The keyed hash (hex, out[65]) under which a token for purpose is stored:
 * tokens sent by email are kept only as these hashes. */
void auth_token_hash(const char *purpose, const char *token, char out[65]);

/* 32 bytes derived from the server's secret for purpose (a key that
 * never leaves the process, e.g. to seal TOTP secrets). */
void auth_derive_key(const char *purpose, unsigned char out[32]);

/* Sessions are refreshed (last_seen) at most this often: each refresh is
 * a write, and a page view that writes waits for a commit. */
enum { SESSION_REFRESH = 5 * 60 };

/* A session being opened, in three steps around the caller's db_write:
 * auth_session_prepare draws the token (and notes the browser's current
 * session, which ends); auth_session_write, inside apply, stores it;
 * auth_session_cookie, once the write is durable, sets the cookie. */
typedef struct {
    char token[65];    /* the cookie's value */
    char hash[65];     /* what is stored */
    char old_hash[65]; /* the session this browser had, "" if none */
} NewSession;
void auth_session_prepare(Request *r, NewSession *s);
Result auth_session_write(Db *w, const NewSession *s, int64_t user_id);
void auth_session_cookie(Request *r, const NewSession *s);

/* Ends the session named by token (the cookie's value) in a write of its
 * own: logging out. R_OK once it is gone. */
Result auth_session_end(Db *db, const char *token);

/* Ending sessions inside the caller's apply, on w: every session of
 * user_id (its password or second factor changed from the command line),
 * every session of the user with email, or every one but current_hash's
 * (the keyed hash of the session that goes on). */
Result auth_sessions_end_user(Db *w, int64_t user_id);
Result auth_sessions_end_email(Db *w, const char *email);
Result auth_sessions_end_others(Db *w, int64_t user_id, const char *current_hash);

/* Housekeeping's pass, on w: deletes the sessions past SESSION_IDLE or
 * SESSION_ABSOLUTE at now, the login links used or expired, and the
 * failed-login counters older than a day. R_OK or R_INTERNAL. */
Result auth_expire(Db *w, int64_t now);

/* API tokens (the pages that issue them are feat/api_token.c's), inside
 * the caller's apply. auth_api_token_insert stores a token by its keyed
 * hash (auth_token_hash("api-token", ...)) as issued by user_id (0: the
 * command line) and sets *id. auth_api_token_revoke returns R_NOT_FOUND
 * when the token is unknown or already revoked. */
Result auth_api_token_insert(Db *w, const char *hash, const char *name, const char *scope,
                             int64_t user_id, int64_t *id);
Result auth_api_token_revoke(Db *w, int64_t id);

/* Failed-attempt counters (login_failures), shared by the password and the
 * second-factor steps. key is a keyed hash (auth_token_hash).
 * auth_count_failure and auth_clear_failures write on w inside the
 * caller's apply; auth_failed_attempt counts one attempt against
 * account_key and client_key (NULL: none) in a write of its own. */
int auth_throttled(Db *db, const char *key, int limit);
Result auth_count_failure(Db *w, const char *key);
Result auth_clear_failures(Db *w, const char *key);
Result auth_failed_attempt(Db *db, const char *account_key, const char *client_key);

/* The CSRF token for binding (a session token or a pre-session cookie),
 * as 64 hex digits in out[65]. Exposed for unit tests. */
void auth_csrf_token(const char *binding, char out[65]);

/* Hashes and verifies passwords with argon2id. auth_hash_password returns
 * R_INTERNAL only if memory for the hash cannot be had. */
Result auth_hash_password(const char *password, char out[128]);
int auth_verify_password(const char *hash, const char *password);

/* Spends the set-password link stored under token_hash (its keyed hash)
 * for user_id, inside the caller's apply: spending it is the check that it
 * is still good, so two forms sent with one link cannot both use it.
 * R_NOT_FOUND when it is unknown, used or expired. */
Result auth_login_token_spend(Db *w, const char *token_hash, int64_t user_id);

/* Creates a single-use link to set a password for the user with email,
 * valid for hours; writes the URL path ("/welcome/TOKEN") to out[96].
 * Returns R_NOT_FOUND for an unknown email. Call it inside apply, on its
 * w: the link is written in the caller's transaction (with the mail that
 * carries it). */
Result auth_issue_welcome(Db *w, const char *email, const char *purpose, int hours, char out[96]);

#endif
