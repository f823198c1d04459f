/*
 * response.h: government responses to letters (see response.c), for
 * assistance.c, which asks for help with a refusal.
 */
#ifndef RATIFY_RESPONSE_H
#define RATIFY_RESPONSE_H

#include "svc/http.h"

/* The response named by the path's {id}, if this user may see it: R_OK
 * with its id, country, recorder and letter (0 when none), else
 * R_NOT_FOUND, as if it did not exist. */
Result response_visible(Request *r, int64_t *id, char iso3[4], int64_t *recorder, int64_t *letter);

#endif
