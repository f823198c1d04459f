/*
 * target.h: government targets, per country (see target.c), and the small
 * helpers the other letter files share; target.c is the lowest of them.
 */
#ifndef RATIFY_TARGET_H
#define RATIFY_TARGET_H

#include <jansson.h>

#include "svc/http.h"

/* The targets of country iso3 as a new array the caller owns: id, kind,
 * kind_label, name, title, ministry, address, email, language, source_url,
 * last_verified. */
json_t *target_list_json(Request *r, const char *iso3);

/* 1 if target id is one of iso3's government contacts. */
int target_in_country(Db *db, int64_t id, const char *iso3);

/* Inside the caller's write on w: a new contact of iso3 met in a meeting
 * (meeting.c), added by r->user with its audit line; an official when a
 * title is given, else an office. Its id goes to *id. R_OK or R_INTERNAL. */
Result target_insert_met(Db *w, Request *r, const char *iso3, const char *name, const char *title,
                         const char *ministry, int64_t *id);

#endif
