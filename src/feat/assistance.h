/*
 * assistance.h: requests for support (see assistance.c), for erasure.c,
 * which closes accounts.
 */
#ifndef RATIFY_ASSISTANCE_H
#define RATIFY_ASSISTANCE_H

#include "db/db.h"

/* Deletes the requests user made, with their threads and files, on the w
 * of a db_write apply, in the caller's transaction: what a member asked
 * for (an event, people at it) goes with their account. Their messages
 * and files in other people's requests stay, without an author. */
Result assistance_forget_user(Db *w, int64_t user);

#endif
