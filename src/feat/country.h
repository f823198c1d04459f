/*
 * country.h: countries and their pages (see country.c).
 */
#ifndef RATIFY_COUNTRY_H
#define RATIFY_COUNTRY_H

#include "db/db.h"
#include "svc/http.h"

/* Loads data/countries.csv into an empty countries table. Returns R_OK or
 * R_INTERNAL with the line of a bad row on stderr. */
Result country_seed(Db *db);

/* Frees the parsed map (at exit, for leak checkers). */
void country_map_free(void);

/* The UN regional groups ("african", ...) and their names (English msgids),
 * NULL-terminated, as countries.csv codes them. */
extern const char *const country_group_codes[];
extern const char *const country_group_labels[];

/* ---- for stage.c: recording on the country page ---- */

/* The domestic stages and the audiences a record may have, NULL-terminated. */
extern const char *const country_stage_codes[];
extern const char *const country_visibility_codes[];

/* The path's {iso3} in *iso3 if the country exists (R_NOT_FOUND) and the
 * user covers it (R_FORBIDDEN, with a message). */
Result country_editable(Request *r, const char **iso3);

/* A domestic stage's code in the reader's words. */
const char *country_stage_label(Request *r, const char *code);

/* The instrument named by the form's slug, or 0 if none. */
int64_t country_instrument_param(Request *r);

/* Shows the country page again with what was typed (as r->data[form])
 * and the errors; R_BAD_REQUEST. */
Result country_form_failed(Request *r, const char *iso3, const char *form);

#endif
