/*
 * group.h: what other features ask of working groups (group.c owns
 * working_group_members).
 */
#ifndef RATIFY_GROUP_H
#define RATIFY_GROUP_H

#include "svc/http.h"

/* Puts person in the working groups ticked on the join form of membership
 * (membership_interests), in w's transaction, when the membership is
 * approved; one audit line per group joined, by actor. Groups they are in
 * already are left as they are. */
Result group_join_interests(Db *w, Request *r, int64_t membership, int64_t person);

#endif
