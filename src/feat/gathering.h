/*
 * gathering.h: intergovernmental gatherings (see gathering.c): what
 * main.c's hourly jobs call.
 */
#ifndef RATIFY_GATHERING_H
#define RATIFY_GATHERING_H

#include "db/db.h"

/* Before a UPR Working Group session (two weeks ahead, once): emails the
 * coordinators of the states under review with their ask, and the members
 * in states parties who agreed to updates with the states to recommend
 * ratification to. */
Result gathering_remind(Db *db, const char *base_url);

#endif
