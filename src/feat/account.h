/*
 * account.h: what the command line calls of account.c (its pages are
 * declared by handlers.h).
 */
#ifndef RATIFY_ACCOUNT_H
#define RATIFY_ACCOUNT_H

#include "db/db.h"
#include "svc/http.h"

/* `ratify user add|passwd|list|reset-2fa ...`; argv starts after "user". Returns a
 * Result for the exit code. */
Result account_user_cmd(Db *db, int argc, char **argv, const char *base_url);

/* On a database with no admin, creates one with email and prints a
 * one-time link to set its password; with an admin that never set a
 * password, prints a fresh link; otherwise prints how to log in. */
Result account_first_admin(Db *db, const char *email, const char *base_url);

/* Writes of users for the files that open or close a member's account
 * (invitation.c, membership.c, erasure.c): on the w of a db_write apply. */

/* A new member user with email; the new id in *id. R_CONFLICT if the
 * address is taken (callers check member_email_registered first). */
Result account_insert_member(Db *w, const char *email, int64_t now, int64_t *id);

/* A member user with email, unless one exists already. */
Result account_ensure_member(Db *w, const char *email, int64_t now);

/* Deletes the user; sessions and login tokens go with it (ON DELETE
 * CASCADE). */
Result account_delete(Db *w, int64_t user);

#endif
