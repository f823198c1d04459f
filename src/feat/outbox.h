/*
 * outbox.h: what the command line calls of outbox.c (its pages are
 * declared by handlers.h).
 */
#ifndef RATIFY_OUTBOX_H
#define RATIFY_OUTBOX_H

#include "db/db.h"

/* `ratify mail send --to ADDRESS --subject TEXT` (the body on stdin),
 * `ratify mail list`, `ratify mail retry ID`; argv starts after "mail".
 * Returns a Result for the exit code: R_BAD_REQUEST for bad usage or a
 * message mail_queue() refuses, R_NOT_FOUND for no such message,
 * R_CONFLICT for one sent or given up. */
Result outbox_cmd(Db *db, int argc, char **argv);

#endif
