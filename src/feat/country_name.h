/*
 * country_name.h: a country's name in the page's language (see
 * country_name.c).
 */
#ifndef RATIFY_COUNTRY_NAME_H
#define RATIFY_COUNTRY_NAME_H

#include "svc/http.h"

/* The name of country iso3 in r->lang, else in English, in the arena; NULL
 * when there is no such country (so it also checks an ISO3 code from a
 * form or a path). */
const char *country_name_of(Request *r, const char *iso3);

/* The same in lang (a letter's, say, rather than the page's). */
const char *country_name_in(Request *r, const char *iso3, const char *lang);

#endif
