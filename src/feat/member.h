/*
 * member.h: members: people and organisations, joining (the form and the
 * API share member_join), confirmation by email, moderation, accounts for
 * approved members, profiles, the directory, export and erasure.
 */
#ifndef RATIFY_MEMBER_H
#define RATIFY_MEMBER_H

#include <jansson.h>

#include "svc/http.h"

/* What someone asks for when joining, as typed (validated by member_join). */
typedef struct {
    const char *kind; /* "individual" or "organisation" */
    const char *name; /* the person's name (the contact, for an organisation) */
    const char *email;
    const char *iso3;
    const char *languages;     /* space-separated codes */
    const char *org_name;      /* organisation only */
    const char *org_type;      /* organisation only: see org_type_codes */
    const char *website;       /* organisation only, optional */
    const char *listing;       /* "public", "members" or "hidden" */
    const char *const *groups; /* working group slugs, NULL-terminated, may be NULL */
    int not_government;        /* must be 1 */
    int consent_store;         /* must be 1 */
    int consent_updates;       /* optional */
} JoinRequest;

/* The organisation types, NULL-terminated, and their English labels. */
extern const char *const org_type_codes[];
extern const char *const org_type_labels[];

/* Signs someone up: validates every field (messages per field in r->errors,
 * translated), then in one transaction creates the person, organisation,
 * pending membership and working-group interests and queues the
 * confirmation email with a single-use link. An email that already belongs
 * to someone changes nothing and queues a notice to that address instead;
 * the result is the same R_OK, so the response never reveals which.
 * Returns R_OK, R_BAD_REQUEST (errors set) or R_INTERNAL. */
Result member_join(Request *r, const JoinRequest *j);

/* The id of the logged-in user's person record, or 0. */
int64_t member_person_id(Request *r);

/* 1 if the logged-in user may see a member listed with listing (public,
 * members, hidden): hidden ones only by admins and the person themself. */
int member_listing_visible(Request *r, const char *listing, int64_t person_id);

#endif
