/*
 * two_factor.h: the second factor at login. TOTP codes (RFC 6238: SHA-1,
 * 30-second steps, 6 digits, the settings every authenticator app knows)
 * checked with liboath, single-use recovery codes, the half-login that
 * waits for the code, the enrolment page with its QR code, and the rule
 * that admins and coordinators reach nothing before they have enrolled.
 */
#ifndef RATIFY_TWO_FACTOR_H
#define RATIFY_TWO_FACTOR_H

#include "svc/auth.h"
#include "svc/http.h"

enum {
    TOTP_STEP = 30,           /* seconds */
    TOTP_DIGITS = 6,          /* what the apps show */
    TOTP_WINDOW = 1,          /* steps accepted either side of now: clock drift */
    TOTP_SECRET_BYTES = 20,   /* 160 bits, RFC 4226's recommendation */
    RECOVERY_CODES = 10,      /* issued at once */
    RECOVERY_CODE_CHARS = 12, /* base32: 60 bits each */
    PENDING_LOGIN_TTL = 300,  /* seconds to answer the second step */
    THROTTLE_CODE = 5,        /* wrong codes per account per throttling window */
};

/* Initialises liboath; once at start-up (main.c, after auth_init), before
 * any thread checks a code. Returns R_OK or R_INTERNAL. */
Result two_factor_init(void);

/* 1 if code (only digits; 6 to 8 of them, the length is the code's
 * length) is the TOTP of secret for a step within TOTP_WINDOW of now's;
 * then *step is that step (now / TOTP_STEP for the current one). The
 * comparison is constant-time. Replay is the caller's business. */
int totp_check(const unsigned char *secret, size_t secret_len, int64_t now, const char *code,
               int64_t *step);

/* Admins and coordinators must have a second factor. */
int two_factor_required(const User *u);

/* After a correct password (login, or a welcome or reset link), in three
 * steps around the caller's db_write. two_factor_after_password_prepare
 * draws the token. two_factor_after_password_write, inside apply, opens a
 * pending half-login when the account has a second factor, otherwise the
 * session, with its "login" audit line. two_factor_after_password_finish,
 * once the write is durable, sets the cookie and redirects: to the code
 * form, to next, or to enrolment when the role requires a second factor. */
typedef struct {
    int64_t user_id;
    const char *next;
    NewSession session; /* its token names the half-login instead when pending */
    int pending;        /* set by _write */
    Role role;          /* set by _write */
    int committee;      /* set by _write: on the steering committee */
} AfterPassword;
void two_factor_after_password_prepare(Request *r, AfterPassword *a, int64_t user_id,
                                       const char *next);
Result two_factor_after_password_write(Db *w, AfterPassword *a);
Result two_factor_after_password_finish(Request *r, const AfterPassword *a);

/* R_OK when the request may proceed. A logged-in admin, coordinator or
 * steering committee member without a second factor may only enrol or log out: GET pages redirect
 * to the enrolment page (r->redirect set, R_OK), anything else is R_FORBIDDEN. API tokens are not
 * concerned. */
Result two_factor_gate(Request *r);

/* `ratify user reset-2fa`: user_id's second factor and recovery codes
 * removed and their sessions ended, with the audit line, in a write of its
 * own. For someone who lost both their phone and their recovery codes. */
Result two_factor_reset(Db *db, int64_t user_id);

/* An hourly job (main.c's hourly_jobs): deletes the half-logins whose
 * time to answer has passed, in a write of its own. base_url is unused. */
Result two_factor_expire(Db *db, const char *base_url);

#endif
