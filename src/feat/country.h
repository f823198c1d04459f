/*
 * country.h: countries and their pages (see country.c).
 */
#ifndef RATIFY_COUNTRY_H
#define RATIFY_COUNTRY_H

#include "db/db.h"

/* Loads data/countries.csv into an empty countries table. Returns R_OK or
 * R_INTERNAL with the line of a bad row on stderr. */
Result country_seed(Db *db);

/* Frees the parsed map (at exit, for leak checkers). */
void country_map_free(void);

#endif
