/*
 * submission.h: submissions drafted with the coalition's help (see
 * submission.c).
 */
#ifndef RATIFY_SUBMISSION_H
#define RATIFY_SUBMISSION_H

#include <jansson.h>

#include "svc/http.h"

/* The submissions kept for iso3 that the viewer may see, newest first:
 * {any, list: [{id, kind_label, title, when}]}. */
json_t *submission_country_json(Request *r, const char *iso3);

#endif
