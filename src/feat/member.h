/*
 * member.h: what every file about members shares (see member.c): whose
 * person record the logged-in user is, whether a listing may be shown,
 * the choices of the member forms and checks of their values, the keyed
 * rate limit of the public forms, the audit of reads and the pagination
 * of the member API. Nothing here includes another feature file, so
 * membership.c, person.c, profile.c, organisation.c, invitation.c,
 * password.c, group.c, coalition.c and letter.c all stand on it.
 */
#ifndef RATIFY_MEMBER_H
#define RATIFY_MEMBER_H

#include <jansson.h>

#include "svc/audit.h"
#include "svc/http.h"

/* Hits per window on the public forms that send email (joining, asking
 * for a new password), per network. */
enum { JOIN_LIMIT = 5, JOIN_WINDOW = 3600 };

/* The organisation types, NULL-terminated, and their English labels. */
extern const char *const org_type_codes[];
extern const char *const org_type_labels[];

/* "individual", "organisation"; NULL-terminated. */
extern const char *const member_kind_codes[];
/* "public", "members", "hidden" and their English labels (msgids). */
extern const char *const member_listing_codes[];
extern const char *const member_listing_labels[];
/* "pending", "active", "lapsed", "left", "declined". */
extern const char *const member_status_codes[];

/* The id of the logged-in user's person record, or 0. */
int64_t member_person_id(Request *r);

/* 1 if the logged-in user may see a member listed with listing (public,
 * members, hidden): hidden ones only by admins and the person themself. */
int member_listing_visible(Request *r, const char *listing, int64_t person_id);

/* Countries for a select, in the request's language, states first;
 * selected (may be NULL) is marked. */
json_t *member_country_options(Request *r, const char *selected);

/* The languages a member can say they work in, for checkboxes: every
 * language of i18n's one list, each under its own name, those in selected
 * (space-separated codes, may be NULL) ticked. */
json_t *member_language_options(const char *selected);

/* The working groups for checkboxes, those in selected (NULL-terminated,
 * may be NULL) ticked. */
json_t *member_group_options(Request *r, const char *const *selected);

/* Keyed-hash rate limit: 1 when key has had more than limit hits in the
 * last window seconds, this one included (it is committed on its own). */
int member_rate_limited(Db *db, const char *key, int limit, int window);

/* Hourly job: deletes the rate limit windows older than a day, which no
 * limit looks at any more (its own db_write). */
Result member_rate_limits_expire(Db *db, const char *base_url);

/* Space-separated language codes (a-z and '-'), at most 64 bytes; NULL is
 * valid (none). */
int member_valid_languages(const char *s);

/* 1 if v (may be NULL) is one of the NULL-terminated list. */
int member_in_list(const char *const *list, const char *v);

/* The absolute link to path (for emails), in the request's arena. */
char *member_link(Request *r, const char *path);

/* 1 if a person or a user already has this email address. */
int member_email_registered(Db *db, const char *email);

/* A ticked checkbox: consent is only ever a value the person sent. */
int member_checked(Request *r, const char *name);

/* Logs the reads in seen (audit_read_set makes its own db_write). A view
 * that showed nobody writes nothing. */
Result member_log_reads(Request *r, const char *action, const char *object, const AuditSet *seen);

/* The pagination and filters of the member API's lists. */
typedef struct {
    int64_t page, per_page;
    const char *country, *status, *kind;
} MemberQuery;

/* Reads ?page, per_page, country, status, kind; bad values are
 * R_BAD_REQUEST with the field named, as for forms. */
Result member_read_query(Request *r, MemberQuery *q);

/* {page, per_page, total, items, next?} around items (which it takes). */
json_t *member_page_envelope(Request *r, const MemberQuery *q, int64_t total, json_t *items);

#endif
