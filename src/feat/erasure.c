/*
 * erasure.c: closing a member's account (/profile/close, a form on the
 * profile page) with the erasure of their personal data: the person, the
 * user, and every row elsewhere that holds their address. It has a file
 * of its own because it writes the tables of several owners (person.c,
 * account.c, invitation.c, event.c, mail.c, auth.c, assistance.c), some of which stand on
 * profile.c themselves (invitation.c shows the profile again on a
 * mistake), so profile.c could not call them without a circle.
 *
 * Invariants: only the user's own person is erased (the user's person id,
 * never one from the request); erasing a person leaves none of their
 * personal data in the database file (secure_delete, then a checkpoint);
 * the audit log keeps only "person N".
 */
#include "feat/account.h"
#include "feat/assistance.h"
#include "feat/event.h"
#include "feat/handlers.h"
#include "feat/invitation.h"
#include "feat/member.h"
#include "feat/person.h"
#include "feat/profile.h"

#include <stdio.h>

#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/mail.h"

/* What closing an account writes: every row that names the person
 * deleted, and an audit line that keeps only "person N". */
typedef struct {
    Request *r;
    int64_t person, user;
} Erasure;

static Result delete_by_email(Db *w, const char *email, const char *throttle)
{
    int ok = mail_forget_address(w, email) == R_OK;
    ok &= invitation_forget_email(w, email) == R_OK;
    ok &= event_forget_email(w, email) == R_OK;
    ok &= auth_clear_failures(w, throttle) == R_OK;
    return ok ? R_OK : R_INTERNAL;
}

static Result person_erase_apply(Db *w, void *ctx)
{
    Erasure *e = ctx;
    char email[256] = "";
    Stmt *st = db_prepare(w, "SELECT email FROM people WHERE id = :id");
    db_bind_int(st, ":id", e->person);
    if (db_row(st))
        snprintf(email, sizeof email, "%s", db_text(st, 0));
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    char throttle[65];
    auth_token_hash("throttle-account", email, throttle);
    if (delete_by_email(w, email, throttle) != R_OK)
        return R_INTERNAL;
    /* Memberships, organisation roles, group memberships and confirmation
     * tokens go with the person (ON DELETE CASCADE); sessions and login
     * tokens with the user. */
    int ok = assistance_forget_user(w, e->user) == R_OK;
    ok &= person_delete(w, e->person) == R_OK;
    ok &= account_delete(w, e->user) == R_OK;
    if (!ok)
        return R_INTERNAL;
    return audit_log(w, 0, "account closed and personal data erased",
                     arena_printf(e->r->arena, "person %lld", (long long)e->person), "");
}

/* GET /profile/close: what closing erases and what stays, a box to tick
 * and the button; Cancel goes back to the profile. */
Result erasure_page(Request *r)
{
    int64_t person;
    Result res = profile_own_person(r, &person);
    if (res != R_OK)
        return res;
    json_decref(r->data);
    r->data = json_object();
    r->page = "profile_close";
    r->title = tr(r, "Close your account?");
    return R_OK;
}

Result erasure_post(Request *r)
{
    int64_t person;
    Result res = profile_own_person(r, &person);
    if (res != R_OK)
        return res;
    if (!member_checked(r, "confirm")) {
        erasure_page(r);
        param_error(r, "confirm", N_("Please tick the box to confirm."));
        return R_BAD_REQUEST;
    }
    Erasure e = {.r = r, .person = person, .user = r->user->id};
    if ((res = db_write(r->db, person_erase_apply, &e)) != R_OK)
        return res;
    /* secure_delete zeroed the rows in the pages; copying those pages into
     * the database file and emptying the log removes the older copies. */
    db_checkpoint(r->db);
    r->user = NULL;
    http_set_cookie(r, "session", "", -1);
    r->page = "closed";
    r->title = tr(r, "Your account is closed");
    return R_OK;
}
