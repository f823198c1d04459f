/*
 * response.h: government responses to letters (see response.c), for
 * assistance.c, which asks for help with a refusal and keeps files the same
 * way.
 */
#ifndef RATIFY_RESPONSE_H
#define RATIFY_RESPONSE_H

#include "svc/http.h"

/* The response named by the path's {id}, if this user may see it: R_OK
 * with its id, country, recorder and letter (0 when none), else
 * R_NOT_FOUND, as if it did not exist. */
Result response_visible(Request *r, int64_t *id, char iso3[4], int64_t *recorder, int64_t *letter);

/* The type of an uploaded file, from its first bytes, never from what the
 * browser claims: "application/pdf", "image/png", "image/jpeg", or NULL
 * for anything else (only those are kept, here and on requests for
 * support). */
const char *response_file_type(const char *data, size_t len);

#endif
