/*
 * housekeeping.h: the server's hourly chores (see housekeeping.c).
 */
#ifndef RATIFY_HOUSEKEEPING_H
#define RATIFY_HOUSEKEEPING_H

#include "db/db.h"

/* A feature's hourly job (letter reminders, ...): links it writes start
 * with base_url. The jobs are listed in main.c, so that this file, below
 * the features, names none of them. */
typedef Result (*HourlyJob)(Db *db, const char *base_url);

/* One pass: deletes expired sessions, spent tokens and old counters, then
 * runs each job of the NULL-terminated list. Returns R_OK, or R_INTERNAL
 * when a part failed (the others still ran). */
Result housekeeping_run(Db *db, const char *url, const HourlyJob *jobs);

/* Starts the hourly thread on its own connection to db_path (a first pass
 * at once). jobs must outlive the thread. Returns 0 or -1. */
int housekeeping_start(const char *db_path, const char *url, const HourlyJob *jobs);

/* Stops it, after a pass in progress. Safe when not started. */
void housekeeping_stop(void);

#endif
