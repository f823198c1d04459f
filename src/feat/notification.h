/*
 * notification.h: staff told by email when work arrives (issue 14): each
 * user's choice of an email per item or a daily digest (see
 * notification.c).
 */
#ifndef RATIFY_NOTIFICATION_H
#define RATIFY_NOTIFICATION_H

#include "db/db.h"
#include "svc/http.h"

/* On w, inside the write that confirms membership application id: tells
 * the coordinators of its country (the admins when it has none) that it
 * waits for a decision, by email now or in their next digest. base_url
 * makes the link. */
Result notification_application_confirmed(Db *w, int64_t membership, const char *base_url);

/* 1 if user id chose the daily digest, 0 for an email per item. */
int notification_digest_chosen(Db *db, int64_t user);

/* Hourly job: sends each user who chose the digest, at most once a day,
 * one email with what arrived since their last one. */
Result notification_digest(Db *db, const char *base_url);

#endif
