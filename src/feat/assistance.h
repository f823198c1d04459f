/*
 * assistance.h: requests for support (see assistance.c), for erasure.c,
 * which closes accounts.
 */
#ifndef RATIFY_ASSISTANCE_H
#define RATIFY_ASSISTANCE_H

#include <jansson.h>

#include "db/db.h"
#include "svc/http.h"

/* A request as other nouns need it (submission.c keeps the drafts of a
 * request to draft a submission). */
typedef struct {
    int64_t id, requester;
    char iso3[4];
    char kind[32], status[16];
} AssistanceRef;

/* Request id into *out if r's user may see it (its requester, the
 * secretariat): R_OK, or R_NOT_FOUND as if it did not exist. */
Result assistance_find_visible(Request *r, int64_t id, AssistanceRef *out);

/* Whether u is of the secretariat: an admin or on the steering committee. */
int assistance_secretariat(const User *u);

/* Deletes the requests user made, with their threads and files, on the w
 * of a db_write apply, in the caller's transaction: what a member asked
 * for (an event, people at it) goes with their account. Their messages
 * and files in other people's requests stay, without an author. */
Result assistance_forget_user(Db *w, int64_t user);

#endif
