/*
 * handlers.h: the declaration of every handler named in routes.def, for
 * the feature files that define them and for the router that calls them.
 * A handler's name starts with the name of its file (tools/codecheck.py).
 */
#ifndef RATIFY_HANDLERS_H
#define RATIFY_HANDLERS_H

#include "svc/http.h"

#define ROUTE(method, pattern, handler, permission, csrf) Result handler(Request *r);
#include "feat/routes.def"
#undef ROUTE

#endif
