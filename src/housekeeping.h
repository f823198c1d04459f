/*
 * housekeeping.h: the server's hourly chores (see housekeeping.c).
 */
#ifndef RATIFY_HOUSEKEEPING_H
#define RATIFY_HOUSEKEEPING_H

#include "db.h"

/* One pass: deletes expired sessions, spent tokens and old counters, then
 * reminds the authors of unanswered letters (links start with url).
 * Returns R_OK or R_INTERNAL. */
Result housekeeping_run(Db *db, const char *url);

/* Starts the hourly thread on its own connection to db_path (a first pass
 * at once). Returns 0 or -1. */
int housekeeping_start(const char *db_path, const char *url);

/* Stops it, after a pass in progress. Safe when not started. */
void housekeeping_stop(void);

#endif
