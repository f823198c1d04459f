/*
 * membership.h: what others call of membership.c (its pages are declared
 * by handlers.h): the hourly cleanup of confirmation tokens, and the
 * writes of the member import (member_import.c), which run on the w of a
 * db_write apply, in the caller's transaction.
 */
#ifndef RATIFY_MEMBERSHIP_H
#define RATIFY_MEMBERSHIP_H

#include "db/db.h"

/* Hourly job: deletes the confirmation tokens that were used or have
 * expired, which can never be used again (its own db_write). */
Result membership_expire(Db *db, const char *base_url);

/* A membership of the member import: org 0 for an individual one; its
 * consent to store the data recorded at now (the import), updates 1 if
 * they consented to updates. */
Result membership_import_insert(Db *w, const char *kind, int64_t person, int64_t org,
                                const char *iso3, const char *status, int64_t now, int updates,
                                int64_t created);

/* The member import's merge of a row into an existing membership: every
 * field it may change, as merged by the caller. */
Result membership_import_merge(Db *w, int64_t id, const char *iso3, const char *status, int updates,
                               int64_t created);

#endif
