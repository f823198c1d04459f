/*
 * coalition.h: national coalitions, one per country (see coalition.c).
 */
#ifndef RATIFY_COALITION_H
#define RATIFY_COALITION_H

#include <jansson.h>

#include "svc/http.h"

/* The country iso3's coalition as the requesting user may see it, for the
 * country page and GET /api/v1/countries/{iso3}/coalition. On R_OK, *out
 * is a new object the caller owns (json_decref, or hand it to
 * json_object_set_new):
 *   iso3, recorded (false when no coalition has been described yet),
 *   partner_types [{code, label}], gaps,
 *   lead {name, type, type_label, website, listing, listing_note} or null,
 *   focal_point {name} or null,
 *   members [{name, type, type_label, website, listing, listing_note}],
 *   unlisted_count (member organisations not shown to this user).
 * Organisations and the focal point appear only where
 * member_listing_visible allows: for visitors, only those listed publicly.
 * Returns R_NOT_FOUND (and *out = NULL) for an unknown country. */
Result coalition_public_json(Request *r, const char *iso3, json_t **out);

#endif
