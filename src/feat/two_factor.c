/*
 * two_factor.c: the second factor, all of it (see two_factor.h): TOTP
 * codes and recovery codes, the half-login between the password and the
 * code (/login/code), enrolment (/account/two-factor), and the gate that
 * web/server.c calls for every request. It is a feature, not a service:
 * nothing below feat calls it (the session only reads whether a user has
 * one), and the gate names its own handlers.
 *
 * Invariants: the TOTP secret is stored sealed (XChaCha20-Poly1305 under a
 * key derived from the server's secret, the user id as associated data, so
 * a row copied to another user does not open) and is shown only on the
 * enrolment page, never logged; a code is accepted only for a step newer
 * than the last one accepted (the UPDATE that records the step is the
 * check, so two requests racing with one code cannot both pass); recovery
 * codes are stored as keyed hashes and each is spent by the UPDATE that
 * accepts it; a half-login is a hashed, five-minute, single-use token in
 * its own table and cookie, never a session.
 */
#include "feat/two_factor.h"

#include <cairo.h>
#include <liboath/oath.h>
#include <qrencode.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/auth.h"

/* Recovery codes use RFC 4648's base32 alphabet in lower case: no 0/1/8 to
 * confuse with letters, and typed case-insensitively. */
static const char RECOVERY_ALPHABET[] = "abcdefghijklmnopqrstuvwxyz234567";

Result two_factor_init(void)
{
    return oath_init() == OATH_OK ? R_OK : R_INTERNAL;
}

/* liboath's comparison callback: 0 on a match, constant-time. */
static int same_code(void *typed, const char *generated)
{
    const char *code = typed;
    size_t n = strlen(code);
    return strlen(generated) == n && sodium_memcmp(code, generated, n) == 0 ? 0 : 1;
}

int totp_check(const unsigned char *secret, size_t secret_len, int64_t now, const char *code,
               int64_t *step)
{
    size_t n = strlen(code);
    if (n < 6 || n > 8 || strspn(code, "0123456789") != n)
        return 0;
    int pos = 0;
    uint64_t counter = 0;
    int rc = oath_totp_validate3_callback((const char *)secret, secret_len, (time_t)now, TOTP_STEP,
                                          0, (unsigned)n, TOTP_WINDOW, &pos, &counter, same_code,
                                          (void *)code);
    if (rc < 0)
        return 0;
    *step = (int64_t)counter;
    return 1;
}

/* Admins, coordinators and the steering committee read what members at
 * risk wrote (requests for support among it): a password is not enough. */
int two_factor_required(const User *u)
{
    return u && (u->role >= ROLE_COORDINATOR || u->committee);
}

/* ---- the stored secret ---- */

static void secret_key(unsigned char key[32])
{
    auth_derive_key("two-factor-secret", key);
}

static void user_ad(int64_t user_id, char out[32])
{
    snprintf(out, 32, "user:%lld", (long long)user_id);
}

/* Seals secret for user_id as hex (nonce then ciphertext) in out. */
enum {
    SEALED_BYTES = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + TOTP_SECRET_BYTES +
                   crypto_aead_xchacha20poly1305_ietf_ABYTES
};
static void seal_secret(int64_t user_id, const unsigned char secret[TOTP_SECRET_BYTES],
                        char out[2 * SEALED_BYTES + 1])
{
    unsigned char key[32], sealed[SEALED_BYTES];
    char ad[32];
    secret_key(key);
    user_ad(user_id, ad);
    unsigned char *nonce = sealed;
    randombytes_buf(nonce, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
    crypto_aead_xchacha20poly1305_ietf_encrypt(
        sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, NULL, secret, TOTP_SECRET_BYTES,
        (const unsigned char *)ad, strlen(ad), NULL, nonce, key);
    sodium_bin2hex(out, 2 * SEALED_BYTES + 1, sealed, sizeof sealed);
    sodium_memzero(key, sizeof key);
}

static int open_secret(int64_t user_id, const char *hex, unsigned char secret[TOTP_SECRET_BYTES])
{
    unsigned char key[32], sealed[SEALED_BYTES];
    size_t len = 0;
    char ad[32];
    if (sodium_hex2bin(sealed, sizeof sealed, hex, strlen(hex), NULL, &len, NULL) != 0 ||
        len != sizeof sealed)
        return 0;
    secret_key(key);
    user_ad(user_id, ad);
    unsigned long long out_len = 0;
    int ok = crypto_aead_xchacha20poly1305_ietf_decrypt(
                 secret, &out_len, NULL, sealed + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                 sizeof sealed - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
                 (const unsigned char *)ad, strlen(ad), sealed, key) == 0 &&
             out_len == TOTP_SECRET_BYTES;
    sodium_memzero(key, sizeof key);
    return ok;
}

/* The user's secret; *enabled says whether enrolment was confirmed.
 * Returns 0 when there is none (or it cannot be opened: logged). */
static int load_secret(Db *db, int64_t user_id, unsigned char secret[TOTP_SECRET_BYTES],
                       int *enabled)
{
    Stmt *st =
        db_prepare(db, "SELECT secret, enabled_at IS NOT NULL FROM two_factor WHERE user_id = :id");
    db_bind_int(st, ":id", user_id);
    int found = 0;
    if (db_row(st)) {
        found = open_secret(user_id, db_text(st, 0), secret);
        *enabled = (int)db_int(st, 1);
        if (!found)
            log_info("two-factor: the secret of user %lld does not open", (long long)user_id);
    }
    db_done(st);
    return found;
}

static int enabled_for(Db *db, int64_t user_id)
{
    Stmt *st =
        db_prepare(db, "SELECT 1 FROM two_factor WHERE user_id = :id AND enabled_at IS NOT NULL");
    db_bind_int(st, ":id", user_id);
    int on = db_row(st);
    db_done(st);
    return on;
}

/* The TOTP step that code matches for user_id's secret, 0 when it matches
 * none, -1 when there is no secret (or, with need_enabled, only one not
 * yet confirmed). Computed before the write; step_record spends it. */
static int64_t code_step(Db *db, int64_t user_id, const char *code, int need_enabled)
{
    unsigned char secret[TOTP_SECRET_BYTES];
    int enabled = 0;
    int64_t step = -1;
    if (load_secret(db, user_id, secret, &enabled) && (enabled || !need_enabled) &&
        !totp_check(secret, TOTP_SECRET_BYTES, now_seconds(), code, &step))
        step = 0;
    sodium_memzero(secret, sizeof secret);
    return step;
}

/* Records step as the last one accepted for user_id, inside apply: the
 * step must be newer than the last, and the UPDATE is the check, so two
 * requests racing with one code cannot both pass. R_CONFLICT for a right
 * code already used. */
static Result step_record(Db *w, int64_t user_id, int64_t step)
{
    Stmt *st = db_prepare(w, "UPDATE two_factor SET last_step = :step "
                             "WHERE user_id = :id AND last_step < :step");
    db_bind_int(st, ":step", step);
    db_bind_int(st, ":id", user_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) == 1 ? R_OK : R_CONFLICT;
}

/* Spaces and dashes removed, lower case: what people type from paper. */
static char *normalise_code(Request *r, const char *typed)
{
    char *out = arena_alloc(r->arena, strlen(typed) + 1), *o = out;
    for (const char *p = typed; *p; p++) {
        if (*p == ' ' || *p == '-')
            continue;
        *o++ = (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
    }
    *o = 0;
    return out;
}

static void recovery_hash(int64_t user_id, const char *code, char out[65])
{
    char value[64];
    snprintf(value, sizeof value, "%lld:%s", (long long)user_id, code);
    auth_token_hash("recovery-code", value, out);
    sodium_memzero(value, sizeof value);
}

/* The hash of a typed recovery code into out; 0 when it cannot be one. */
static int recovery_code_hash(int64_t user_id, const char *code, char out[65])
{
    if (strlen(code) != RECOVERY_CODE_CHARS || strspn(code, RECOVERY_ALPHABET) != strlen(code))
        return 0;
    recovery_hash(user_id, code, out);
    return 1;
}

/* Spends the recovery code with hash, inside apply: the UPDATE is the
 * check. R_NOT_FOUND when it is not one of the user's unused codes. */
static Result recovery_spend(Db *w, int64_t user_id, const char *hash)
{
    Stmt *st = db_prepare(w, "UPDATE recovery_codes SET used_at = :now WHERE user_id = "
                             ":id AND code_hash = :hash AND used_at IS NULL");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", user_id);
    db_bind_text(st, ":hash", hash);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) == 1 ? R_OK : R_NOT_FOUND;
}

/* A fresh set of recovery codes: drawn before the write, shown once
 * (formatted xxxx-xxxx-xxxx), stored as hashes inside it. */
typedef struct {
    json_t *shown;
    char hashes[RECOVERY_CODES][65];
} RecoveryCodes;

static void recovery_codes_draw(int64_t user_id, RecoveryCodes *rc)
{
    rc->shown = json_array();
    for (int i = 0; i < RECOVERY_CODES; i++) {
        char code[RECOVERY_CODE_CHARS + 1], shown[RECOVERY_CODE_CHARS + 3];
        for (int j = 0; j < RECOVERY_CODE_CHARS; j++)
            code[j] = RECOVERY_ALPHABET[randombytes_uniform(sizeof RECOVERY_ALPHABET - 1)];
        code[RECOVERY_CODE_CHARS] = 0;
        snprintf(shown, sizeof shown, "%.4s-%.4s-%.4s", code, code + 4, code + 8);
        recovery_hash(user_id, code, rc->hashes[i]);
        json_array_append_new(rc->shown, json_string(shown));
        sodium_memzero(code, sizeof code);
    }
}

/* Replaces the user's recovery codes with rc's, inside apply. */
static Result recovery_codes_store(Db *w, int64_t user_id, const RecoveryCodes *rc)
{
    Stmt *st = db_prepare(w, "DELETE FROM recovery_codes WHERE user_id = :id");
    db_bind_int(st, ":id", user_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    for (int i = 0; i < RECOVERY_CODES; i++) {
        st = db_prepare(w, "INSERT INTO recovery_codes (user_id, code_hash) VALUES (:id, :hash)");
        db_bind_int(st, ":id", user_id);
        db_bind_text(st, ":hash", rc->hashes[i]);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

static int64_t recovery_left(Db *db, int64_t user_id)
{
    Stmt *st = db_prepare(
        db, "SELECT count(*) FROM recovery_codes WHERE user_id = :id AND used_at IS NULL");
    db_bind_int(st, ":id", user_id);
    int64_t n = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return n;
}

/* ---- the half-login ---- */

/* A half-login waiting for the code, named by a's token, inside apply. */
static Result pending_insert(Db *w, const AfterPassword *a)
{
    char hash[65];
    auth_token_hash("pending-login", a->session.token, hash);
    Stmt *st = db_prepare(w, "INSERT INTO pending_logins (token_hash, user_id, next, "
                             "expires_at) VALUES (:hash, :id, :next, :expires)");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":id", a->user_id);
    db_bind_text(st, ":next", a->next);
    db_bind_int(st, ":expires", now_seconds() + PENDING_LOGIN_TTL);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* The pending half-login of this browser: its user (0 if none or expired),
 * with its next path and the hash that names it. */
static int64_t pending_user(Request *r, const char **next, char hash[65])
{
    const char *token = http_cookie(r, "pending");
    if (!token || strlen(token) != 64)
        return 0;
    auth_token_hash("pending-login", token, hash);
    Stmt *st = db_prepare(
        r->db, "SELECT p.user_id, p.next FROM pending_logins p JOIN users u ON u.id = p.user_id "
               "WHERE p.token_hash = :hash AND p.expires_at > :now AND u.disabled = 0");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":now", now_seconds());
    int64_t id = 0;
    if (db_row(st)) {
        id = db_int(st, 0);
        *next = arena_strdup(r->arena, db_text(st, 1));
    }
    db_done(st);
    return id;
}

void two_factor_after_password_prepare(Request *r, AfterPassword *a, int64_t user_id,
                                       const char *next)
{
    a->user_id = user_id;
    a->next = next;
    a->pending = 0;
    a->role = ROLE_MEMBER;
    a->committee = 0;
    auth_session_prepare(r, &a->session);
}

Result two_factor_after_password_write(Db *w, AfterPassword *a)
{
    /* Read here, inside the write: a second factor enabled a moment ago
     * is asked for. */
    a->pending = enabled_for(w, a->user_id);
    if (a->pending)
        return pending_insert(w, a);
    Stmt *st = db_prepare(w, "SELECT role, (SELECT count(*) FROM steering_committee c WHERE "
                             "c.user_id = users.id) FROM users WHERE id = :id");
    db_bind_int(st, ":id", a->user_id);
    a->role = ROLE_MEMBER;
    if (db_row(st)) {
        a->role = role_from_name(db_text(st, 0));
        a->committee = db_int(st, 1) > 0;
    }
    if (db_done(st) != R_OK || auth_session_write(w, &a->session, a->user_id) != R_OK)
        return R_INTERNAL;
    return audit_log(w, a->user_id, "login", "", "");
}

Result two_factor_after_password_finish(Request *r, const AfterPassword *a)
{
    if (a->pending) {
        http_set_cookie(r, "pending", a->session.token, PENDING_LOGIN_TTL);
        return http_redirect(r, "/login/code");
    }
    auth_session_cookie(r, &a->session);
    User u = {.role = a->role, .committee = a->committee};
    return http_redirect(r, two_factor_required(&u) ? "/account/two-factor" : a->next);
}

static void code_form(Request *r)
{
    r->page = "login_code";
    r->title = tr(r, "Two-factor sign-in");
    r->data = json_object();
}

Result two_factor_login_page(Request *r)
{
    const char *next = NULL;
    char hash[65];
    if (!pending_user(r, &next, hash))
        return http_redirect(r, "/login");
    code_form(r);
    return R_OK;
}

/* The second step of a login: the code typed (matched before the write:
 * a TOTP step, or the hash of what may be a recovery code), spent inside
 * it with the half-login, and the session opened; or the failure counted. */
typedef struct {
    int64_t user_id;
    const char *pending_hash, *account_key, *client_key;
    int64_t step;      /* 0: the code is no current TOTP code */
    char recovery[65]; /* "": the code cannot be a recovery code */
    NewSession session;
    int accepted; /* set by apply: 1 accepted, 0 wrong, -1 right but already used */
} CodeLogin;

static Result code_login_apply(Db *w, void *ctx)
{
    CodeLogin *c = ctx;
    Result rc = R_NOT_FOUND;
    if (c->step)
        rc = step_record(w, c->user_id, c->step);
    else if (c->recovery[0])
        rc = recovery_spend(w, c->user_id, c->recovery);
    if (rc == R_INTERNAL)
        return rc;
    c->accepted = rc == R_OK ? 1 : rc == R_CONFLICT ? -1 : 0;
    if (c->accepted != 1) {
        rc = auth_count_failure(w, c->account_key);
        return rc == R_OK ? auth_count_failure(w, c->client_key) : rc;
    }
    Stmt *st = db_prepare(w, "DELETE FROM pending_logins WHERE token_hash = :hash");
    db_bind_text(st, ":hash", c->pending_hash);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_NOT_FOUND; /* spent by another request meanwhile: single use */
    if (auth_session_write(w, &c->session, c->user_id) != R_OK ||
        audit_log(w, c->user_id, c->step ? "login" : "login with a recovery code", "", "") != R_OK)
        return R_INTERNAL;
    return auth_clear_failures(w, c->account_key);
}

Result two_factor_login_post(Request *r)
{
    const char *next = NULL, *typed = NULL;
    char pending_hash[65];
    int64_t user_id = pending_user(r, &next, pending_hash);
    if (!user_id) {
        /* Expired (five minutes) or forged: start again from the password. */
        http_set_cookie(r, "pending", "", -1);
        return http_redirect(r, "/login");
    }
    code_form(r);
    if (param_text(r, "code", 1, 64, 0, &typed) != R_OK)
        return R_BAD_REQUEST;
    char account_key[65], client_key[65], id[32];
    snprintf(id, sizeof id, "%lld", (long long)user_id);
    auth_token_hash("throttle-code", id, account_key);
    auth_token_hash("throttle-client", r->client, client_key);
    if (auth_throttled(r->db, account_key, THROTTLE_CODE) ||
        auth_throttled(r->db, client_key, THROTTLE_CLIENT)) {
        /* Like the password form: the page again, with status 429. */
        r->message = tr(r, "Too many failed attempts. Please wait 15 minutes.");
        r->status = 429;
        return R_OK;
    }
    const char *code = normalise_code(r, typed);
    CodeLogin c = {.user_id = user_id,
                   .pending_hash = pending_hash,
                   .account_key = account_key,
                   .client_key = client_key};
    /* A recovery code is tried only when the code is no TOTP code of an
     * enabled second factor; a right TOTP code used twice is not one. */
    int64_t step = code_step(r->db, user_id, code, 1);
    if (step > 0)
        c.step = step;
    else if (step == 0)
        recovery_code_hash(user_id, code, c.recovery);
    auth_session_prepare(r, &c.session);
    Result res = db_write(r->db, code_login_apply, &c);
    sodium_memzero(c.recovery, sizeof c.recovery);
    if (res == R_NOT_FOUND) {
        http_set_cookie(r, "pending", "", -1);
        return http_redirect(r, "/login");
    }
    if (res != R_OK)
        return R_INTERNAL;
    if (c.accepted != 1)
        return param_error(r, "code",
                           c.accepted < 0
                               ? N_("This code was already used. Wait for the next one.")
                               : N_("This code is not right. Check the time on your phone and "
                                    "type the newest code, or a recovery code."));
    auth_session_cookie(r, &c.session);
    http_set_cookie(r, "pending", "", -1);
    /* After a recovery code, the account page says how many are left. */
    return http_redirect(r, c.step ? next : "/account/two-factor");
}

/* Half-logins past PENDING_LOGIN_TTL: pending_user no longer finds them,
 * so they only keep a user id and a next page on disk. */
static Result pending_expire_apply(Db *w, void *ctx)
{
    int64_t now = *(const int64_t *)ctx;
    Stmt *st = db_prepare(w, "DELETE FROM pending_logins WHERE expires_at < :now");
    db_bind_int(st, ":now", now);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result two_factor_expire(Db *db, const char *base_url)
{
    (void)base_url;
    int64_t now = now_seconds();
    return db_write(db, pending_expire_apply, &now);
}

/* ---- enrolment ---- */

/* The otpauth:// URI authenticator apps read (Key Uri Format). */
static const char *otpauth_uri(Request *r, const char *base32)
{
    Buf b = {0};
    buf_puts(&b, "otpauth://totp/Ratify:");
    escape_url_component(&b, r->user->email, strlen(r->user->email));
    buf_printf(&b, "?secret=%s&issuer=Ratify&algorithm=SHA1&digits=%d&period=%d", base32,
               TOTP_DIGITS, TOTP_STEP);
    const char *uri = arena_strdup(r->arena, b.data);
    buf_free(&b);
    return uri;
}

static cairo_status_t png_to_buf(void *closure, const unsigned char *data, unsigned int length)
{
    buf_append(closure, (const char *)data, length);
    return CAIRO_STATUS_SUCCESS;
}

/* The QR code of text as a PNG data: URI (the CSP allows data: images, and
 * no third party sees the secret). NULL if it cannot be made. */
static const char *qr_data_uri(Request *r, const char *text)
{
    enum { SCALE = 6, QUIET = 4 };
    QRcode *qr = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!qr)
        return NULL;
    int side = (qr->width + 2 * QUIET) * SCALE;
    cairo_surface_t *surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, side, side);
    cairo_t *cr = cairo_create(surface);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int y = 0; y < qr->width; y++)
        for (int x = 0; x < qr->width; x++)
            if (qr->data[y * qr->width + x] & 1)
                cairo_rectangle(cr, (x + QUIET) * SCALE, (y + QUIET) * SCALE, SCALE, SCALE);
    cairo_fill(cr);
    cairo_destroy(cr);
    Buf png = {0};
    cairo_status_t status = cairo_surface_write_to_png_stream(surface, png_to_buf, &png);
    cairo_surface_destroy(surface);
    QRcode_free(qr);
    const char *uri = NULL;
    if (status == CAIRO_STATUS_SUCCESS && png.len) {
        size_t n = sodium_base64_encoded_len(png.len, sodium_base64_VARIANT_ORIGINAL);
        char *b64 = arena_alloc(r->arena, n);
        sodium_bin2base64(b64, n, (const unsigned char *)png.data, png.len,
                          sodium_base64_VARIANT_ORIGINAL);
        uri = arena_printf(r->arena, "data:image/png;base64,%s", b64);
    }
    buf_free(&png);
    return uri;
}

/* A new secret awaiting confirmation, sealed before the write. */
typedef struct {
    int64_t user_id;
    char sealed[2 * SEALED_BYTES + 1];
} SecretStore;

static Result secret_store_apply(Db *w, void *ctx)
{
    const SecretStore *s = ctx;
    Stmt *st = db_prepare(
        w, "INSERT INTO two_factor (user_id, secret, created_at) VALUES (:id, :secret, :now) "
           "ON CONFLICT (user_id) DO UPDATE SET secret = :secret, created_at = :now "
           "WHERE two_factor.enabled_at IS NULL");
    db_bind_int(st, ":id", s->user_id);
    db_bind_text(st, ":secret", s->sealed);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    /* No row changed: a confirmed secret is there, never replaced here. */
    return db_changes(w) == 1 ? R_OK : R_CONFLICT;
}

/* The secret awaiting confirmation, created on first view and kept until
 * confirmed, so that reloading the page does not change the QR code that
 * was perhaps already scanned. The first view of the page writes; the
 * others only read. */
static int enrolment_secret(Request *r, unsigned char secret[TOTP_SECRET_BYTES])
{
    int enabled = 0;
    if (load_secret(r->db, r->user->id, secret, &enabled))
        return !enabled;
    SecretStore s = {.user_id = r->user->id};
    randombytes_buf(secret, TOTP_SECRET_BYTES);
    seal_secret(r->user->id, secret, s.sealed);
    return db_write(r->db, secret_store_apply, &s) == R_OK;
}

/* The secret in base32, in groups of four for typing by hand. */
static void secret_text(Request *r, const unsigned char *secret, const char **plain,
                        const char **grouped)
{
    char *b32 = NULL;
    size_t len = 0;
    oath_base32_encode((const char *)secret, TOTP_SECRET_BYTES, &b32, &len);
    *plain = arena_strndup(r->arena, b32 ? b32 : "", len);
    char *g = arena_alloc(r->arena, len + len / 4 + 1), *o = g;
    for (size_t i = 0; i < len; i++) {
        if (i && i % 4 == 0)
            *o++ = ' ';
        *o++ = b32[i];
    }
    *o = 0;
    *grouped = g;
    if (b32)
        sodium_memzero(b32, len);
    free(b32);
}

static Result enrolment_form(Request *r)
{
    unsigned char secret[TOTP_SECRET_BYTES];
    if (!enrolment_secret(r, secret))
        return R_INTERNAL;
    const char *plain, *grouped;
    secret_text(r, secret, &plain, &grouped);
    sodium_memzero(secret, sizeof secret);
    const char *uri = otpauth_uri(r, plain);
    const char *qr = qr_data_uri(r, uri);
    if (!qr)
        return R_INTERNAL;
    r->page = "two_factor";
    r->title = tr(r, "Two-factor sign-in");
    r->data = json_build("{s:b, s:b, s:s, s:s, s:s}", "enabled", 0, "required",
                         two_factor_required(r->user), "secret", grouped, "uri", uri, "qr", qr);
    return R_OK;
}

static void status_page(Request *r)
{
    r->page = "two_factor";
    r->title = tr(r, "Two-factor sign-in");
    r->data = json_build("{s:b, s:b, s:I}", "enabled", 1, "required", two_factor_required(r->user),
                         "recovery_left", (json_int_t)recovery_left(r->db, r->user->id));
}

Result two_factor_page(Request *r)
{
    if (!enabled_for(r->db, r->user->id))
        return enrolment_form(r);
    status_page(r);
    return R_OK;
}

static Result show_recovery_codes(Request *r, json_t *codes)
{
    r->page = "two_factor_codes";
    r->title = tr(r, "Your recovery codes");
    r->data = json_build("{s:o}", "codes", codes);
    return R_OK;
}

/* Enrolment confirmed by a first code (its step matched before the
 * write): the second factor on, its recovery codes, the other sessions
 * ended and the audit line, all or nothing. */
typedef struct {
    int64_t user_id;
    int64_t step;
    char current[65]; /* the session that goes on */
    RecoveryCodes codes;
} TwoFactorEnable;

static Result two_factor_enable_apply(Db *w, void *ctx)
{
    const TwoFactorEnable *e = ctx;
    Result rc = step_record(w, e->user_id, e->step);
    if (rc != R_OK)
        return rc;
    Stmt *st = db_prepare(w, "UPDATE two_factor SET enabled_at = :now "
                             "WHERE user_id = :id AND enabled_at IS NULL");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", e->user_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_CONFLICT; /* enabled meanwhile by another request */
    if (recovery_codes_store(w, e->user_id, &e->codes) != R_OK)
        return R_INTERNAL;
    /* Sessions opened with the password alone end: this one goes on. */
    if (auth_sessions_end_others(w, e->user_id, e->current) != R_OK)
        return R_INTERNAL;
    return audit_log(w, e->user_id, "two-factor enabled", "", "");
}

/* Confirms enrolment with a first code; shows the recovery codes once. */
Result two_factor_post(Request *r)
{
    if (enabled_for(r->db, r->user->id))
        return http_redirect(r, "/account/two-factor");
    Result res = enrolment_form(r);
    if (res != R_OK)
        return res;
    const char *typed = NULL;
    if (param_text(r, "code", 1, 64, 0, &typed) != R_OK)
        return R_BAD_REQUEST;
    TwoFactorEnable e = {.user_id = r->user->id,
                         .step = code_step(r->db, r->user->id, normalise_code(r, typed), 0)};
    /* A wrong code, or a right one already used (R_CONFLICT below), gets
     * the same answer: type the newest code. */
    if (e.step > 0) {
        auth_token_hash("session", r->session_token, e.current);
        recovery_codes_draw(r->user->id, &e.codes);
        res = db_write(r->db, two_factor_enable_apply, &e);
        sodium_memzero(e.codes.hashes, sizeof e.codes.hashes);
    }
    if (e.step <= 0 || res == R_CONFLICT) {
        json_decref(e.codes.shown);
        return param_error(r, "code",
                           N_("This code is not right. Check the time on your phone and type "
                              "the newest code."));
    }
    if (res != R_OK) {
        json_decref(e.codes.shown);
        return R_INTERNAL;
    }
    json_decref(r->data);
    return show_recovery_codes(r, e.codes.shown);
}

/* What confirms it is the user before the second factor goes or the
 * recovery codes change: the password (verified before the write) or a
 * current code (its step matched before the write and spent inside it by
 * identity_spend). */
typedef struct {
    int64_t user_id;
    int64_t step; /* 0: confirmed by the password */
    char account_key[65];
} Identity;

static Result identity_spend(Db *w, const Identity *id)
{
    return id->step ? step_record(w, id->user_id, id->step) : R_OK;
}

/* A wrong answer: counted like a wrong password at login (a count that
 * cannot be written is logged; the answer is refused all the same). */
static int identity_refused(Request *r, const char *field, const Identity *id)
{
    auth_failed_attempt(r->db, id->account_key, NULL);
    param_error(r, field, N_("This is neither your password nor a current code."));
    return 0;
}

/* The password or a current code, for turning the second factor off or
 * replacing the recovery codes: a session alone is not enough. Wrong
 * answers count like wrong passwords at login. 1 when id may be spent. */
static int confirm_identity(Request *r, const char *field, Identity *id)
{
    id->user_id = r->user->id;
    id->step = 0;
    auth_token_hash("throttle-account", r->user->email, id->account_key);
    if (auth_throttled(r->db, id->account_key, THROTTLE_ACCOUNT)) {
        param_error(r, field, N_("Too many failed attempts. Please wait 15 minutes."));
        return 0;
    }
    const char *typed = NULL;
    if (param_text(r, field, 1, PASSWORD_MAX, 0, &typed) != R_OK)
        return 0;
    const char *code = normalise_code(r, typed);
    int ok = 0;
    if (strlen(code) == TOTP_DIGITS && strspn(code, "0123456789") == TOTP_DIGITS) {
        id->step = code_step(r->db, r->user->id, code, 1);
        ok = id->step > 0;
    } else {
        Stmt *st = db_prepare(r->db, "SELECT password_hash FROM users WHERE id = :id");
        db_bind_int(st, ":id", r->user->id);
        char *hash =
            db_row(st) && !db_is_null(st, 0) ? arena_strdup(r->arena, db_text(st, 0)) : NULL;
        db_done(st);
        /* argon2id is slow: verified with no statement open. */
        ok = hash && auth_verify_password(hash, typed);
    }
    return ok ? 1 : identity_refused(r, field, id);
}

/* The second factor turned off (confirmed by id), with its recovery
 * codes and the audit line. */
static Result two_factor_disable_apply(Db *w, void *ctx)
{
    const Identity *id = ctx;
    Result rc = identity_spend(w, id);
    if (rc != R_OK)
        return rc;
    Stmt *st = db_prepare(w, "DELETE FROM two_factor WHERE user_id = :id");
    db_bind_int(st, ":id", id->user_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "DELETE FROM recovery_codes WHERE user_id = :id");
    db_bind_int(st, ":id", id->user_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, id->user_id, "two-factor disabled", "", "");
}

Result two_factor_off_post(Request *r)
{
    if (!enabled_for(r->db, r->user->id))
        return http_redirect(r, "/account/two-factor");
    status_page(r);
    if (two_factor_required(r->user)) {
        r->message = tr(r, "Your role requires two-factor sign-in: it cannot be turned off.");
        return R_FORBIDDEN;
    }
    Identity id;
    if (!confirm_identity(r, "confirm", &id))
        return R_BAD_REQUEST;
    Result res = db_write(r->db, two_factor_disable_apply, &id);
    if (res == R_CONFLICT) {
        identity_refused(r, "confirm", &id); /* a code already used */
        return R_BAD_REQUEST;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/account/two-factor");
}

/* New recovery codes (confirmed by id) in place of the old ones. */
typedef struct {
    Identity id;
    RecoveryCodes codes;
} RecoveryReplace;

static Result recovery_codes_replace_apply(Db *w, void *ctx)
{
    const RecoveryReplace *rr = ctx;
    Result rc = identity_spend(w, &rr->id);
    if (rc != R_OK)
        return rc;
    if (recovery_codes_store(w, rr->id.user_id, &rr->codes) != R_OK)
        return R_INTERNAL;
    return audit_log(w, rr->id.user_id, "recovery codes replaced", "", "");
}

Result two_factor_recovery_post(Request *r)
{
    if (!enabled_for(r->db, r->user->id))
        return http_redirect(r, "/account/two-factor");
    status_page(r);
    RecoveryReplace rr;
    if (!confirm_identity(r, "confirm_codes", &rr.id))
        return R_BAD_REQUEST;
    recovery_codes_draw(r->user->id, &rr.codes);
    Result res = db_write(r->db, recovery_codes_replace_apply, &rr);
    sodium_memzero(rr.codes.hashes, sizeof rr.codes.hashes);
    if (res != R_OK) {
        json_decref(rr.codes.shown);
        if (res != R_CONFLICT)
            return R_INTERNAL;
        identity_refused(r, "confirm_codes", &rr.id); /* a code already used */
        return R_BAD_REQUEST;
    }
    json_decref(r->data);
    return show_recovery_codes(r, rr.codes.shown);
}

/* ---- the rule for admins and coordinators ---- */

Result two_factor_gate(Request *r)
{
    if (!r->user || r->api_scope || r->user->two_factor || !two_factor_required(r->user))
        return R_OK;
    Handler h = r->route->handler;
    if (h == two_factor_page || h == two_factor_post || h == account_logout_post)
        return R_OK;
    if (!r->is_api && (strcmp(r->method, "GET") == 0 || strcmp(r->method, "HEAD") == 0))
        return http_redirect(r, "/account/two-factor");
    r->message = tr(r, "Your role requires two-factor sign-in. Set it up on your account "
                       "page first.");
    return R_FORBIDDEN;
}

/* ---- `ratify user reset-2fa` ---- */

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
    if (auth_sessions_end_user(w, id) != R_OK)
        return R_INTERNAL;
    char object[32];
    snprintf(object, sizeof object, "user %lld", (long long)id);
    return audit_log(w, 0, "two-factor reset", object, "by the command line");
}

Result two_factor_reset(Db *db, int64_t user_id)
{
    return db_write(db, two_factor_reset_apply, &user_id);
}
