/*
 * friend.h: what states do to bring others to the Protocol (see friend.c).
 */
#ifndef RATIFY_FRIEND_H
#define RATIFY_FRIEND_H

#include <jansson.h>

#include "svc/http.h"

/* One state's actions for the country page: {any, actions: [...]}, the
 * UPR recommendations on the Protocol it made among them. */
json_t *friend_country_json(Request *r, const char *iso3);

#endif
