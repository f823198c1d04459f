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

/* On w, inside the write that records a correction proposed by user
 * proposer to a government contact of iso3: tells the coordinators of
 * iso3 (the admins when it has none), but not the proposer, by email now
 * or in their next digest. */
Result notification_correction_proposed(Db *w, const char *iso3, int64_t proposer,
                                        const char *base_url);

/* On w, inside the write that records request for support id, made by
 * requester for iso3: tells the secretariat (admins and steering
 * committee) but the requester, by email now or in their next digest. */
Result notification_assistance_requested(Db *w, int64_t request, const char *iso3,
                                         int64_t requester, const char *base_url);

/* On w, inside (or right after) the write of a check or import that
 * queued n new items for the secretariat's review: kind "untc" (changes
 * found on the UN Treaty Collection, /admin/untc) or "upr" (UPR
 * recommendations to classify, /admin/upr). Every admin but except_user
 * (0: none) is told once for the whole run, by email now or in their next
 * digest. base_url NULL: the stored public address. */
Result notification_reviews_queued(Db *w, const char *kind, int64_t n, int64_t except_user,
                                   const char *base_url);

/* 1 if user id chose the daily digest, 0 for an email per item. */
int notification_digest_chosen(Db *db, int64_t user);

/* Hourly job: puts each letter newly overdue (no_response) in the next
 * digest of its country's staff, then sends each user with items waiting,
 * at most once a day, one email with what arrived since their last one. */
Result notification_digest(Db *db, const char *base_url);

#endif
