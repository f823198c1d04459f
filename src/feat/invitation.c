/*
 * invitation.c: invitations to join an organisation: a contact person
 * invites a colleague by email from /profile, and the colleague accepts
 * through the emailed link (/invitations/{token}), logging in first if the
 * address already has an account, or giving a name and consent and
 * choosing a password if not.
 *
 * Invariants: nobody is added to an organisation without their consent;
 * one link adds one person (the invitation is spent in the write that
 * uses it); the link alone never attaches someone else's account; the
 * invitee's address is blanked once the invitation is used.
 */
#include "feat/invitation.h"

#include "feat/account.h"
#include "feat/handlers.h"
#include "feat/member.h"
#include "feat/organisation.h"
#include "feat/person.h"
#include "feat/profile.h"
#include "feat/treaty.h"

#include <string.h>

#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/mail.h"

enum { INVITATION_DAYS = 7 };
static const char *const org_roles[] = {"staff", "contact", NULL};

/* What an invitation writes: the invitation (only while the inviter is a
 * contact person, checked in the write), the email that carries its link
 * and the audit line. */
typedef struct {
    Request *r;
    int64_t org, person;
    const char *email, *role, *title;
    char hash[65];              /* of the link's token */
    const char *subject, *body; /* the email, link included */
} Invite;

static Result invitation_create_apply(Db *w, void *ctx)
{
    Invite *v = ctx;
    Stmt *st = db_prepare(
        w, "INSERT INTO invitations (token_hash, org_id, invited_by, email, role, title, "
           "expires_at) SELECT :hash, :org, :user, :email, :role, :title, :expires "
           "WHERE EXISTS (SELECT 1 FROM org_people WHERE org_id = :org "
           "AND person_id = :person AND role = 'contact')");
    db_bind_text(st, ":hash", v->hash);
    db_bind_int(st, ":org", v->org);
    db_bind_int(st, ":user", v->r->user->id);
    db_bind_text(st, ":email", v->email);
    db_bind_text(st, ":role", v->role);
    db_bind_text(st, ":title", v->title ? v->title : "");
    db_bind_int(st, ":expires", now_seconds() + INVITATION_DAYS * 86400);
    db_bind_int(st, ":person", v->person);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_FORBIDDEN;
    if (mail_queue(w, v->email, v->subject, v->body) != R_OK)
        return R_INTERNAL;
    return audit_log(w, v->r->user->id, "colleague invited",
                     arena_printf(v->r->arena, "organisation %lld", (long long)v->org), v->role);
}

/* A contact person invites a colleague by email; the colleague accepts
 * (or not) through the emailed link, so nobody is added without consent. */
Result invitation_create_post(Request *r)
{
    int64_t person, org;
    Result res = profile_own_person(r, &person);
    if (res == R_OK)
        res = organisation_visible(r, person, &org);
    if (res != R_OK)
        return res;
    if (!organisation_is_contact(r, org, person))
        return organisation_not_contact(r);
    const char *email = NULL, *title = NULL;
    int role = 0;
    int bad = param_email(r, "email", &email) != R_OK;
    bad |= param_enum(r, "role", org_roles, &role) != R_OK;
    bad |= param_optional_text(r, "title", 200, 0, &title) != R_OK;
    if (bad) {
        profile_form(r, person);
        return R_BAD_REQUEST;
    }
    Invite v = {.r = r,
                .org = org,
                .person = person,
                .email = email,
                .role = org_roles[role],
                .title = title};
    char token[65];
    random_hex(token, 32);
    auth_token_hash("invitation", token, v.hash);
    Campaign campaign = treaty_campaign(r->db);
    v.subject = tr(r, "An invitation to join your organisation on Ratify");
    v.body = arena_printf(
        r->arena, "%s\n\n%s\n\n%s\n",
        treaty_say(r, &campaign,
                   N_("A colleague invited you to join your organisation's profile in the "
                      "coalition for the {treaty}, on Ratify. To accept, open this link within 7 "
                      "days:")),
        member_link(r, arena_printf(r->arena, "/invitations/%s", token)),
        tr(r, "If you do not know what this is about, ignore this message: nothing happens "
              "without you."));
    res = db_write(r->db, invitation_create_apply, &v);
    if (res == R_FORBIDDEN)
        return organisation_not_contact(r);
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/profile");
}

typedef struct {
    int64_t id, org;
    const char *email, *role, *title, *org_name, *iso3;
    const char *token; /* the link's, checked by load_invitation */
} Invitation;

static Result load_invitation(Request *r, Invitation *inv)
{
    char hash[65];
    const char *token = NULL;
    if (param_token(r, "token", &token) != R_OK) {
        r->message = tr(r, "This link has expired or was already used.");
        return R_NOT_FOUND;
    }
    auth_token_hash("invitation", token, hash);
    Stmt *st = db_prepare(
        r->db, "SELECT i.id, i.org_id, i.email, i.role, i.title, o.name, o.iso3 "
               "FROM invitations i JOIN organisations o ON o.id = i.org_id "
               "WHERE i.token_hash = :hash AND i.used_at IS NULL AND i.expires_at > :now");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":now", now_seconds());
    Result res = R_NOT_FOUND;
    if (db_row(st)) {
        inv->id = db_int(st, 0);
        inv->org = db_int(st, 1);
        inv->email = arena_strdup(r->arena, db_text(st, 2));
        inv->role = arena_strdup(r->arena, db_text(st, 3));
        inv->title = arena_strdup(r->arena, db_text(st, 4));
        inv->org_name = arena_strdup(r->arena, db_text(st, 5));
        inv->iso3 = arena_strdup(r->arena, db_text(st, 6));
        res = R_OK;
    }
    db_done(st);
    inv->token = token;
    if (res != R_OK)
        r->message = tr(r, "This link has expired or was already used.");
    return res;
}

static void invitation_form(Request *r, const Invitation *inv)
{
    json_decref(r->data);
    r->data = json_build("{s:s, s:s, s:s, s:s, s:b, s:o}", "token", inv->token, "organisation",
                         inv->org_name, "email", inv->email, "role", inv->role, "registered",
                         member_email_registered(r->db, inv->email), "listings",
                         form_options(r, member_listing_codes, member_listing_labels, "hidden"));
    r->page = "invitation";
    r->title = tr(r, "An invitation to join your organisation");
}

Result invitation_page(Request *r)
{
    Invitation inv;
    if (load_invitation(r, &inv) != R_OK)
        return R_NOT_FOUND;
    invitation_form(r, &inv);
    return R_OK;
}

/* What accepting an invitation writes: the invitation spent, the role in
 * the organisation and the audit line; for a newcomer, first their user
 * and person, and last a link to choose a password. */
typedef struct {
    Request *r;
    const Invitation *inv;
    int64_t person;             /* a member's own; for a newcomer, out */
    const char *name, *listing; /* a newcomer's */
    char path[96];              /* out: a newcomer's link to choose a password */
} Acceptance;

/* Spends the invitation: R_NOT_FOUND when it was used or expired since it
 * was read, so one link adds one person. */
static Result spend_invitation(Db *w, const Acceptance *a)
{
    int64_t now = now_seconds();
    Stmt *st = db_prepare(w, "UPDATE invitations SET used_at = :now, email = '' WHERE id = :id "
                             "AND used_at IS NULL AND expires_at > :now");
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":id", a->inv->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return db_changes(w) == 1 ? R_OK : R_NOT_FOUND;
}

static Result join_organisation(Db *w, const Acceptance *a)
{
    Request *r = a->r;
    if (organisation_set_role(w, a->inv->org, a->person, a->inv->role, a->inv->title) != R_OK)
        return R_INTERNAL;
    return audit_log(w, r->user ? r->user->id : 0, "invitation accepted",
                     arena_printf(r->arena, "organisation %lld", (long long)a->inv->org),
                     arena_printf(r->arena, "person %lld", (long long)a->person));
}

/* A member who is logged in with the invited address. */
static Result invitation_accept_apply(Db *w, void *ctx)
{
    Acceptance *a = ctx;
    Result res = spend_invitation(w, a);
    return res == R_OK ? join_organisation(w, a) : res;
}

/* A newcomer: R_CONFLICT when the address was registered since the form
 * was shown (then they log in first, as any registered address does). */
static Result invitation_join_apply(Db *w, void *ctx)
{
    Acceptance *a = ctx;
    Result res = spend_invitation(w, a);
    if (res != R_OK)
        return res;
    if (member_email_registered(w, a->inv->email))
        return R_CONFLICT;
    int64_t now = now_seconds(), user;
    if (account_insert_member(w, a->inv->email, now, &user) != R_OK)
        return R_INTERNAL;
    if (person_insert_for_user(w, user, a->name, a->inv->email, a->inv->iso3, a->listing, now,
                               &a->person) != R_OK)
        return R_INTERNAL;
    if ((res = join_organisation(w, a)) != R_OK)
        return res;
    return auth_issue_welcome(w, a->inv->email, "welcome", 1, a->path) == R_OK ? R_OK : R_INTERNAL;
}

/* The answer when the address is registered and the user is not logged
 * in with it. */
static Result log_in_first(Request *r, const Invitation *inv)
{
    invitation_form(r, inv);
    r->message = tr(r, "Please log in with the invited address first.");
    return R_FORBIDDEN;
}

/* Maps what an acceptance's write returned to the answer. */
static Result accepted(Request *r, const Invitation *inv, Result res)
{
    if (res == R_NOT_FOUND) {
        r->message = tr(r, "This link has expired or was already used.");
        return R_NOT_FOUND;
    }
    if (res == R_CONFLICT)
        return log_in_first(r, inv);
    return res == R_OK ? R_OK : R_INTERNAL;
}

/* Accepting: a person who already has an account logs in first (so the
 * link alone never attaches someone else's account); a newcomer gives
 * their name and consent and chooses a password straight away. */
Result invitation_post(Request *r)
{
    Invitation inv;
    if (load_invitation(r, &inv) != R_OK)
        return R_NOT_FOUND;
    Acceptance a = {.r = r, .inv = &inv};
    Result res;
    if (member_email_registered(r->db, inv.email)) {
        if (!r->user || strcmp(r->user->email, inv.email) != 0)
            return log_in_first(r, &inv);
        if (!(a.person = member_person_id(r)))
            return R_NOT_FOUND;
        if ((res = accepted(r, &inv, db_write(r->db, invitation_accept_apply, &a))) != R_OK)
            return res;
        return http_redirect(r, "/profile");
    }
    int listing = 0;
    int bad = param_text(r, "name", 1, 200, 0, &a.name) != R_OK;
    bad |= param_enum(r, "listing", member_listing_codes, &listing) != R_OK;
    if (!member_checked(r, "consent_store"))
        bad |= param_error(r, "consent_store",
                           N_("We can only keep your details with your consent.")) != R_OK;
    if (bad) {
        invitation_form(r, &inv);
        return R_BAD_REQUEST;
    }
    a.listing = member_listing_codes[listing];
    if ((res = accepted(r, &inv, db_write(r->db, invitation_join_apply, &a))) != R_OK)
        return res;
    /* Straight on to choosing a password: the link was theirs. */
    return http_redirect(r, arena_strdup(r->arena, a.path));
}

/* ---- writes, for closing an account and the hourly cleanup ---- */

Result invitation_forget_email(Db *w, const char *email)
{
    Stmt *st = db_prepare(w, "DELETE FROM invitations WHERE email = :email");
    db_bind_text(st, ":email", email);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

static Result invitation_expire_apply(Db *w, void *ctx)
{
    int64_t now = *(const int64_t *)ctx;
    Stmt *st =
        db_prepare(w, "DELETE FROM invitations WHERE used_at IS NOT NULL OR expires_at < :now");
    db_bind_int(st, ":now", now);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result invitation_expire(Db *db, const char *base_url)
{
    (void)base_url; /* an hourly job's signature: no links here */
    int64_t now = now_seconds();
    return db_write(db, invitation_expire_apply, &now);
}
