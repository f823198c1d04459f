/*
 * password.c: choosing a new password by email (/password/reset): a
 * single-use link for any account, member or not, rate-limited per
 * network.
 *
 * Invariants: the answer is the same whether or not the address has an
 * account; the link's token is stored hashed and expires in two hours.
 */
#include "feat/handlers.h"
#include "feat/member.h"

#include "svc/auth.h"
#include "svc/mail.h"

Result password_reset_page(Request *r)
{
    r->page = "password_reset";
    r->title = tr(r, "Choose a new password");
    r->data = json_build("{s:s}", "email", "");
    return R_OK;
}

/* What asking for a new password writes: a single-use link and the email
 * that carries it, when the address has an account; nothing otherwise. */
typedef struct {
    Request *r;
    const char *email;
} Reset;

static Result password_reset_apply(Db *w, void *ctx)
{
    Reset *p = ctx;
    Request *r = p->r;
    char path[96];
    Result res = auth_issue_welcome(w, p->email, "reset", 2, path);
    if (res == R_NOT_FOUND)
        return R_OK; /* the same answer whether or not the address has an account */
    if (res != R_OK)
        return res;
    char *body = arena_printf(
        r->arena, "%s\n\n%s\n\n%s\n",
        tr(r, "To choose a new password for Ratify, open this single-use link within two "
              "hours:"),
        member_link(r, path),
        tr(r, "If you did not ask for this, ignore this message: your password has not "
              "changed."));
    return mail_queue(w, p->email, tr(r, "Choose a new password"), body);
}

Result password_reset_post(Request *r)
{
    const char *email = NULL;
    if (param_email(r, "email", &email) != R_OK) {
        password_reset_page(r);
        /* raw: shown again as typed (param_email refused it) */
        json_object_set_new(r->data, "email", json_string(param_raw(r, "email")));
        return R_BAD_REQUEST;
    }
    char key[65];
    auth_token_hash("reset-client", r->client, key);
    if (member_rate_limited(r->db, key, JOIN_LIMIT, JOIN_WINDOW)) {
        password_reset_page(r);
        r->message = tr(r, "Too many requests from your network. Please try again in an hour.");
        r->status = 429;
        return R_OK;
    }
    Reset p = {.r = r, .email = email};
    if (db_write(r->db, password_reset_apply, &p) != R_OK)
        return R_INTERNAL;
    r->page = "password_reset_sent";
    r->title = tr(r, "Check your email");
    return R_OK;
}
