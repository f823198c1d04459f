/*
 * event.h: expert seminars and national events, their invitations and
 * answers without accounts, and the calendar with its iCalendar feeds
 * (see event.c): what main.c calls.
 */
#ifndef RATIFY_EVENT_H
#define RATIFY_EVENT_H

#include "db/db.h"

/* Hourly job: emails the invitees who said yes or maybe (and hold a
 * place) once, when their event starts within EVENT_REMIND_HOURS. Its own
 * db_write per invitee. */
enum { EVENT_REMIND_HOURS = 24 };
Result event_remind(Db *db, const char *base_url);

/* Deletes every invitation to email (a closed account's address), on the
 * w of a db_write apply; the answers and attendance go with them, and a
 * place they held goes to the first who waits. */
Result event_forget_email(Db *w, const char *email);

#endif
