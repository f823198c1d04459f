/*
 * router.h: matching a method and path against the table in routes.def.
 */
#ifndef RATIFY_ROUTER_H
#define RATIFY_ROUTER_H

#include <stdio.h>

#include "svc/http.h"

/* The routes, in routes.def order, ending with a zeroed entry. */
extern const Route routes[];

/* Finds the route for method and path (already percent-decoded by the
 * server). On a match, appends the {name} segments to params, allocated in
 * a, and returns it.
 * Returns NULL with *result R_NOT_FOUND when no pattern matches the path, or
 * R_METHOD when a pattern matches but not with this method (HEAD matches
 * GET routes). A {name} never spans a '/'. */
const Route *router_match(const char *method, const char *path, Arena *a, Params *params,
                          Result *result);

/* The methods the routes matching path accept, for an Allow header
 * ("GET, HEAD", "POST" or "GET, HEAD, POST"), in a. */
const char *router_allowed(const char *path, Arena *a);

/* Prints the route table (method, path, permission, csrf, handler). */
void router_print(FILE *out);

/* The permission's name as written in routes.def. */
const char *permission_name(Permission p);

#endif
