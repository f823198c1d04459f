/*
 * organisation.h: who may see and change an organisation, for the files
 * that act on one (invitation.c).
 */
#ifndef RATIFY_ORGANISATION_H
#define RATIFY_ORGANISATION_H

#include "svc/http.h"

/* The organisation of the path's {id} in *org, if this user may see it
 * (its listing, through auth_can_see); R_NOT_FOUND otherwise, before any
 * question of who may edit. person is the user's own. */
Result organisation_visible(Request *r, int64_t person, int64_t *org);

/* 1 if person is one of org's contact people. */
int organisation_is_contact(Request *r, int64_t org, int64_t person);

/* The answer to someone who is not a contact person: R_FORBIDDEN, with
 * the message. */
Result organisation_not_contact(Request *r);

#endif
