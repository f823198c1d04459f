/*
 * organisation.h: who may see and change an organisation, for the files
 * that act on one (invitation.c), and the writes of organisations and
 * org_people, which organisation.c owns (membership.c, invitation.c,
 * member_import.c).
 */
#ifndef RATIFY_ORGANISATION_H
#define RATIFY_ORGANISATION_H

#include "svc/http.h"

/* The organisation of the path's {id} in *org, if this user may see it
 * (its listing, through visibility_can_see); R_NOT_FOUND otherwise, before any
 * question of who may edit. person is the user's own. */
Result organisation_visible(Request *r, int64_t person, int64_t *org);

/* 1 if person is one of org's contact people. */
int organisation_is_contact(Request *r, int64_t org, int64_t person);

/* The answer to someone who is not a contact person: R_FORBIDDEN, with
 * the message. */
Result organisation_not_contact(Request *r);

/* The writes below run on the w of a db_write apply, in the caller's
 * transaction. */

/* A new applicant organisation; the new id in *id. */
Result organisation_insert(Db *w, const char *name, const char *iso3, const char *type,
                           const char *website, const char *languages, const char *listing,
                           int64_t now, int64_t *id);

/* Makes person a contact person of org (its applicant). */
Result organisation_add_contact(Db *w, int64_t org, int64_t person);

/* Makes person a contact person of org for the member import: nothing
 * when they are one already. */
Result organisation_import_add_contact(Db *w, int64_t org, int64_t person);

/* The member import's merge of a row into an existing organisation: every
 * field it may change, as merged by the caller. */
Result organisation_import_merge(Db *w, int64_t id, const char *iso3, const char *type,
                                 const char *website, const char *languages, const char *listing,
                                 int64_t now);

/* Gives person the role (and title) in org, replacing the role they had:
 * an accepted invitation. */
Result organisation_set_role(Db *w, int64_t org, int64_t person, const char *role,
                             const char *title);

#endif
