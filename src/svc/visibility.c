/*
 * visibility.c: the one visibility rule (visibility.h), in C for a record
 * already read; its twin in SQL, VISIBILITY_SQL, filters lists in their
 * query. Both live here so that a change to one is made beside the other,
 * and tests/unit/test_visibility.c holds them to the same truth table.
 */
#include "svc/visibility.h"

#include <string.h>

#include "svc/auth.h"

int visibility_can_see(const User *u, const char *visibility, const char *iso3, int64_t author_id)
{
    if (strcmp(visibility, "public") == 0)
        return 1;
    if (!u)
        return 0;
    /* The author always sees what they wrote; admins see everything. */
    if (u->role == ROLE_ADMIN || (author_id && u->id == author_id))
        return 1;
    if (strcmp(visibility, "members") == 0)
        return 1;
    /* The coalition's steering committee, across countries. */
    if (strcmp(visibility, "committee") == 0)
        return u->committee;
    int coordinates = iso3 && *iso3 && auth_covers_country(u, iso3);
    /* The national coalition: the country's coordinators and members. */
    if (strcmp(visibility, "country") == 0)
        return coordinates || (iso3 && *iso3 && u->home_iso3 && !strcmp(u->home_iso3, iso3));
    /* The steering committee: the country's coordinators only. */
    if (strcmp(visibility, "steering") == 0)
        return coordinates;
    /* "private" (the author and the admins, never a coordinator) and
     * anything unknown. */
    return 0;
}

void visibility_bind(Stmt *st, const User *u)
{
    db_bind_int(st, ":viewer_id", u ? u->id : 0);
    db_bind_int(st, ":viewer_admin", u && u->role == ROLE_ADMIN);
    db_bind_int(st, ":viewer_coordinator", u && u->role == ROLE_COORDINATOR);
    db_bind_int(st, ":viewer_committee", u && u->committee);
}
