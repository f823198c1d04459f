/*
 * membership.h: what others call of membership.c (its pages are declared
 * by handlers.h): the hourly cleanup of confirmation tokens.
 */
#ifndef RATIFY_MEMBERSHIP_H
#define RATIFY_MEMBERSHIP_H

#include "db/db.h"

/* Hourly job: deletes the confirmation tokens that were used or have
 * expired, which can never be used again (its own db_write). */
Result membership_expire(Db *db, const char *base_url);

#endif
