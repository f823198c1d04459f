/*
 * letter.h: letters to governments (see letter.c): what main.c and the
 * country page call, and what response.c and assistance.c build on.
 */
#ifndef RATIFY_LETTER_H
#define RATIFY_LETTER_H

#include <jansson.h>

#include "svc/http.h"

/* One letter as stored; its text fields live in the request's arena. */
typedef struct {
    int64_t id, author_id, target_id, model_id;
    const char *iso3, *lang, *ask, *sender, *recipient, *subject, *body, *status, *sent_on,
        *sent_via, *visibility;
    int remind_weeks;
    int64_t created_at;
} Letter;

/* The response vocabulary, NULL-terminated codes: the classes of a
 * response, the reasons given for a refusal, and who may see a response.
 * The letter page offers them in its form for a response. */
extern const char *const letter_response_classes[];
extern const char *const letter_response_reasons[];
extern const char *const letter_response_visibilities[];

/* Loads the model letters in data/model-letters/ into an empty table
 * (model_letter_seed). */
Result letter_seed(Db *db);

/* For the country page: letters sent (count, last date), responses by
 * class and the public responses. The caller owns the object. */
json_t *letter_country_summary(Request *r, const char *iso3);

/* Marks sent letters past their reminder as unanswered and emails their
 * authors. Run hourly by the server (housekeeping.c). */
Result letter_remind(Db *db, const char *base_url);

/* The letter named by the path's {id} into *l, if this user may see it
 * (R_NOT_FOUND otherwise, as if it did not exist) and then edit it
 * (R_FORBIDDEN, with r->message). Seeing is checked first. */
Result letter_editable(Request *r, Letter *l);

/* The letter page again, for a form on it that failed: r->errors as the
 * handler recorded them, R_BAD_REQUEST (or the page's own error). */
Result letter_show_again(Request *r);

/* Inside the caller's apply, on w: letter id's status becomes
 * response_received (response.c, as it records a response).
 * R_OK or R_INTERNAL. */
Result letter_response_received(Db *w, int64_t id);

/* A letter's status and a response's class in the reader's words. */
const char *letter_status_words(Request *r, const char *status);
const char *letter_class_words(Request *r, const char *class);

/* Who a member's letter is from unless they say otherwise: their
 * organisation, else their name (the first choice of "From"). */
const char *letter_sender_default(Request *r);

#endif
