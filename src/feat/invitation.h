/*
 * invitation.h: the writes of the invitations table, which invitation.c
 * owns, for closing an account (erasure.c) and the hourly cleanup.
 */
#ifndef RATIFY_INVITATION_H
#define RATIFY_INVITATION_H

#include "db/db.h"

/* Deletes the invitations sent to email (a closed account's), on the w of
 * a db_write apply, in the caller's transaction. */
Result invitation_forget_email(Db *w, const char *email);

/* Hourly job: deletes the invitations that were used or have expired,
 * which can never be used again (its own db_write). */
Result invitation_expire(Db *db, const char *base_url);

#endif
