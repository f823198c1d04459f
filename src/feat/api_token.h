/*
 * api_token.h: what the command line calls of api_token.c (its pages are
 * declared by handlers.h).
 */
#ifndef RATIFY_API_TOKEN_H
#define RATIFY_API_TOKEN_H

#include "db/db.h"
#include "svc/http.h"

/* `ratify token add NAME [--scope read|write]`; argv starts after "token".
 * Prints the new token once. Returns a Result for the exit code. */
Result api_token_cmd(Db *db, int argc, char **argv);

#endif
