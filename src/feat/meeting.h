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

/* Emails the person responsible for a meeting's follow-up when its due
 * date is near (three days) and again once it has passed: once each, not
 * every hour. Run hourly by the server (main.c's hourly_jobs). */
Result meeting_remind(Db *db, const char *base_url);

#endif
