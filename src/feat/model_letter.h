/*
 * model_letter.h: model letters, their merge fields and rendering (see
 * model_letter.c), for letter.c, which writes letters from them.
 */
#ifndef RATIFY_MODEL_LETTER_H
#define RATIFY_MODEL_LETTER_H

#include <jansson.h>

#include "db/db.h"
#include "svc/http.h"

/* The "ask" of the model letters that thank a government for a meeting
 * (meeting.c): not one of treaty_ask's, so never offered for a letter. */
#define MODEL_LETTER_THANK_YOU "thank_you"

/* Loads the model letters in data/model-letters/ into an empty table. */
Result model_letter_seed(Db *db);

/* A date given as YYYY-MM-DD written out in a letter's language ("3 de
 * marzo de 2025"), in the arena; "" when iso is not such a date. */
const char *model_letter_date(Request *r, const char *iso, const char *lang);

/* Today's date (UTC) as YYYY-MM-DD, in a per-thread buffer. */
const char *model_letter_today(void);

/* The merge fields of a letter in lang to iso3 for target (0: none), from
 * organisation and sender_name (either may be NULL). The caller owns the
 * object. */
json_t *model_letter_fields(Request *r, const char *iso3, int64_t target, const char *lang,
                            const char *organisation, const char *sender_name);

/* Renders a model letter's text with the fields into *out (in the arena);
 * R_BAD_REQUEST if the template does not compile or uses anything but the
 * merge fields (the message goes to *err, in the arena). */
Result model_letter_render(Request *r, const char *text, json_t *fields, const char **out,
                           const char **err);

/* The model letters for instrument (a slug: the campaign's) and an ask
 * (treaty_ask_code) in a letter to iso3, as a new array the caller owns:
 * id, slug, lang, title, selected. The one
 * selected is the model selected (a form shown again) if it is one of
 * them, else the one in the member's language (their account's UI
 * language, their browser's, the languages of their member profile), else
 * in the country's (data/country-languages.csv), else English; it comes
 * first, the others follow in that order. */
json_t *model_letter_choices(Request *r, const char *instrument, const char *ask, const char *iso3,
                             int64_t selected);

/* The language iso3's government uses most among the model letters'
 * (data/country-languages.csv), "en" for a country not listed. */
const char *model_letter_country_language(Request *r, const char *iso3);

#endif
