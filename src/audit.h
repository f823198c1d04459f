/*
 * audit.h: the audit log: who changed what, and when. Written in the same
 * transaction as the change it records, so neither exists without the other.
 */
#ifndef RATIFY_AUDIT_H
#define RATIFY_AUDIT_H

#include <stdint.h>

#include "db.h"

/* Records action (a short verb phrase: "treaty action recorded") on object
 * ("country ARG") by user_id (0: the command line). detail must hold no
 * password, token or testimony text. Returns R_OK or R_INTERNAL. */
Result audit_log(Db *db, int64_t user_id, const char *action, const char *object,
                 const char *detail);

#endif
