/*
 * letter.h: letters to governments (see letter.c).
 */
#ifndef RATIFY_LETTER_H
#define RATIFY_LETTER_H

#include <jansson.h>

#include "svc/http.h"

/* Loads the model letters in data/model-letters/ into an empty table. */
Result letter_seed(Db *db);

/* For the country page: letters sent (count, last date), responses by
 * class and the public responses. The caller owns the object. */
json_t *letter_country_summary(Request *r, const char *iso3);

/* Marks sent letters past their reminder as unanswered and emails their
 * authors. Run hourly by the server (housekeeping.c). */
Result letter_remind(Db *db, const char *base_url);

#endif
