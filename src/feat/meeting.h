/*
 * meeting.h: lobbying meetings with a government (see meeting.c): what the
 * country page and main.c call.
 */
#ifndef RATIFY_MEETING_H
#define RATIFY_MEETING_H

#include <jansson.h>

#include "svc/http.h"

/* For the country page, to anyone: meetings held (count, last date) and
 * the public summaries of their reports, newest first. The caller owns the
 * object. */
json_t *meeting_country_summary(Request *r, const char *iso3);

/* One meeting as the calendar and the feeds show it: UTC times from its
 * day, time and zone (a meeting with no time yet fills its whole day). */
typedef struct {
    int64_t id, starts_at, ends_at;
    int has_time;
    const char *title, *place, *iso3, *state;
} MeetingSlot;

/* The meetings viewer may see (visitors: none; the delegation and the
 * visibility rule, as on /meetings) held on or after since's day, soonest
 * first: at most max into out, strings in r's arena; returns how many. */
size_t meeting_slots(Request *r, const User *viewer, int64_t since, MeetingSlot *out, size_t max);

/* Emails the person responsible for a meeting's follow-up when its due
 * date is near (three days) and again once it has passed: once each, not
 * every hour. Run hourly by the server (main.c's hourly_jobs). */
Result meeting_remind(Db *db, const char *base_url);

#endif
