/*
 * profile.h: a member's own profile page, for the forms on it that other
 * files handle (organisation.c, invitation.c) and show again on a mistake.
 */
#ifndef RATIFY_PROFILE_H
#define RATIFY_PROFILE_H

#include "svc/http.h"

/* The logged-in user's person id in *person, or R_NOT_FOUND with a
 * message when the account has no member profile. */
Result profile_own_person(Request *r, int64_t *person);

/* Fills r->page and r->data with person's profile (replacing r->data).
 * R_NOT_FOUND if the person is gone. */
Result profile_form(Request *r, int64_t person);

#endif
