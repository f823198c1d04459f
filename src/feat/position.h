/*
 * position.h: a government's position on the Protocol (see position.c).
 */
#ifndef RATIFY_POSITION_H
#define RATIFY_POSITION_H

#include <jansson.h>

#include "svc/http.h"

/* For the country page: {any, latest: [the newest statement the viewer
 * may see], assessment: {stance, stance_label, ...} if visible}; null if
 * the read of something not public could not be logged (then nothing is
 * shown). */
json_t *position_country_json(Request *r, const char *iso3);

#endif
