/*
 * visibility.h: who may see a record, written once for C and once for SQL
 * side by side, so that a list filters (and pages) in its query and a
 * single record is checked in C by the same rule.
 *
 * The rule: visibility is public (everyone), members (anyone logged in),
 * country (the country's coordinators, and the members whose profile,
 * people.iso3, is in that country), steering (the country's coordinators),
 * committee (the coalition's steering committee: the users an admin named
 * in steering_committee, whatever their role or country) or private
 * (nobody else); the author and the admins always see the
 * record. A coordinator is a user whose role is coordinator; admins cover
 * every country. Unknown visibilities are seen by the author and the
 * admins only. tests/unit/test_visibility.c checks that both forms agree
 * for every role and visibility.
 */
#ifndef RATIFY_VISIBILITY_H
#define RATIFY_VISIBILITY_H

#include "db/db.h"
#include "svc/http.h"

/* The rule in C, applied to every record read, listed, exported, served by
 * the API or changed, BEFORE any right to edit: a record the user may not
 * see answers 404. u is NULL for a visitor; iso3 is the record's country
 * ("" or NULL if none); author_id is 0 if it has none. */
int visibility_can_see(const User *u, const char *visibility, const char *iso3, int64_t author_id);

/* The same rule as a WHERE fragment, pasted between string literals:
 *
 *     db_prepare(db, "SELECT ... FROM letters vis WHERE " VISIBILITY_SQL " ORDER BY ...")
 *
 * It reads vis.visibility (NOT NULL), vis.iso3 and vis.author_id, which
 * the query names through an alias of its table, or a subselect when the
 * columns are called otherwise ("FROM (SELECT *, recorded_by AS author_id
 * FROM responses) vis"). It takes :viewer_id (0: a visitor),
 * :viewer_admin, :viewer_coordinator and :viewer_committee, which
 * visibility_bind binds; a
 * coordinator's countries and a member's country are looked up by
 * :viewer_id in user_countries and people. Its value is never NULL for a
 * NOT NULL visibility, so it may also be negated or selected. */
#define VISIBILITY_SQL                                                                             \
    "(vis.visibility = 'public' OR (:viewer_id > 0 AND (:viewer_admin = 1 "                        \
    "OR coalesce(vis.author_id, 0) = :viewer_id OR vis.visibility = 'members' "                    \
    "OR (vis.visibility = 'committee' AND :viewer_committee = 1) "                                 \
    "OR (vis.visibility IN ('country', 'steering') AND :viewer_coordinator = 1 AND EXISTS "        \
    "(SELECT 1 FROM user_countries vis_uc WHERE vis_uc.user_id = :viewer_id "                      \
    "AND vis_uc.iso3 = vis.iso3)) "                                                                \
    "OR (vis.visibility = 'country' AND EXISTS (SELECT 1 FROM people vis_p "                       \
    "WHERE vis_p.user_id = :viewer_id AND vis_p.iso3 = vis.iso3)))))"

/* Binds VISIBILITY_SQL's parameters for u (NULL: a visitor) on st. */
void visibility_bind(Stmt *st, const User *u);

#endif
