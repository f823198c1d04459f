/*
 * person.h: the writes of the people table, which person.c owns, for the
 * files that create, change or erase a person (membership.c,
 * invitation.c, profile.c, erasure.c, member_import.c). Each runs on the w of a db_write
 * apply, in the caller's transaction.
 */
#ifndef RATIFY_PERSON_H
#define RATIFY_PERSON_H

#include "db/db.h"

/* A new applicant, not yet linked to a user; the new id in *id. */
Result person_insert(Db *w, const char *name, const char *email, const char *iso3,
                     const char *languages, const char *listing, int64_t now, int64_t *id);

/* A person of the member import: one statement whether or not the email
 * is registered already, so the common case costs no lookup. The new id
 * in *id, or 0 when a person has that email. */
Result person_import_insert(Db *w, const char *name, const char *email, const char *iso3,
                            const char *languages, const char *listing, int64_t now, int64_t *id);

/* The member import's merge of a row into an existing person: every field
 * it may change, as merged by the caller. */
Result person_import_merge(Db *w, int64_t person, const char *name, const char *iso3,
                           const char *languages, const char *listing, int64_t now);

/* A newcomer with an account already (user): the new id in *id. */
Result person_insert_for_user(Db *w, int64_t user, const char *name, const char *email,
                              const char *iso3, const char *listing, int64_t now, int64_t *id);

/* Links person to the user that has email (the member's new account). */
Result person_link_user(Db *w, int64_t person, const char *email);

/* The fields a member changes on their profile; R_NOT_FOUND when the
 * person is gone. */
Result person_update_profile(Db *w, int64_t person, const char *name, const char *languages,
                             const char *listing, int64_t now);

/* Deletes the person; their memberships, organisation roles, group
 * memberships and confirmation tokens go with them (ON DELETE CASCADE). */
Result person_delete(Db *w, int64_t person);

#endif
