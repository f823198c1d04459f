/*
 * audit.h: the audit log: who changed what, and who read whose personal
 * data, and when. The pages that show it are feat/audit_log.c's.
 *
 * A change is written in the same transaction as the change it records,
 * so neither exists without the other. A read is written before the page
 * that shows the data is sent, and if it cannot be written the page is
 * not shown (fail closed: doc/HACKING.md, "Who looked"). Entries name
 * people and records by id only, never by name, address or content.
 */
#ifndef RATIFY_AUDIT_H
#define RATIFY_AUDIT_H

#include <stdint.h>

#include "db/db.h"
#include "svc/http.h"

/* Records action (a short verb phrase: "treaty action recorded") on object
 * ("country ARG") by user_id (0: the command line). detail must hold no
 * password, token or testimony text. Called only inside a write (an apply
 * function given to db_write), with its connection w: a plain statement
 * that commits or rolls back with the change it records. Returns R_OK or
 * R_INTERNAL. */
Result audit_log(Db *w, int64_t user_id, const char *action, const char *object,
                 const char *detail);

/* ---- reads ---- */

/* The records a page view showed, collected while the page is built and
 * logged by audit_read_set in one transaction. type is one of "person",
 * "organisation", "letter", "response" (a literal). Storage is in the
 * arena given to audit_set_init, so there is nothing to free. */
typedef struct {
    Arena *arena;
    const char **types; /* types[i] and ids[i]: one record */
    int64_t *ids;
    size_t count, cap;
} AuditSet;

void audit_set_init(AuditSet *s, Arena *arena);
void audit_set_add(AuditSet *s, const char *type, int64_t id);

/* Records that the requester (r->user, or r->api_token_id) read the records
 * in s in one view: one audit_log entry of kind 'read' with action (an
 * English msgid, see audit_action_labels in audit.c), object ("directory",
 * "memberships pending") and a detail giving the count, plus one
 * audit_subjects row per record. The requester's own person record is
 * left out (reading yourself is not logged), and a set that is then empty
 * writes nothing. For a page's handler, outside any write: it makes its
 * own db_write on r->db. Returns R_OK or R_INTERNAL; on R_INTERNAL the
 * caller must not show the records. */
Result audit_read_set(Request *r, const char *action, const char *object, const AuditSet *s);

/* One record read by user_id (0: the command line), the one-liner for a
 * record's page: audit_read(r->db, r->user->id, "letter", id). The action
 * is "<type> viewed" in words, the object "<type> <id>". Its own db_write
 * on db; from inside an apply function, pass its connection w and the
 * entry joins that write. Same failure rules as audit_read_set. */
Result audit_read(Db *db, int64_t user_id, const char *type, int64_t id);

/* A read of one record that is not a person, organisation, letter or
 * response (a meeting: object "meeting 7"), with the people and
 * organisations it showed in s: the entry is written even when s holds no
 * one but the reader (unlike audit_read_set), so that every read of the
 * record is in the log. Its own db_write on db, or part of the caller's
 * from inside an apply. R_OK or R_INTERNAL (show nothing then). */
Result audit_read_record(Db *db, int64_t user_id, int64_t api_token_id, const char *action,
                         const char *object, const AuditSet *s);

/* Starts a read entry for a bulk read whose subjects are inserted by
 * INSERT ... SELECT in the same write (the member exports, with
 * audit_subjects_of_export): called inside an apply function with its
 * connection w; fills *entry with the new entry's id. Returns R_OK or
 * R_INTERNAL. */
Result audit_read_entry(Db *w, int64_t user_id, int64_t api_token_id, const char *action,
                        const char *object, const char *detail, int64_t *entry);

/* The subjects of a member export's read entry (from audit_read_entry, in
 * the same write on w): every person and every organisation that has a
 * membership, which is what the export read. Returns R_OK or R_INTERNAL. */
Result audit_subjects_of_export(Db *w, int64_t entry);

/* Deletes read entries (and their subjects) older than AUDIT_READ_DAYS,
 * inside the caller's write on w (housekeeping). Changes are kept. */
enum { AUDIT_READ_DAYS = 365 };
Result audit_expire_reads(Db *w, int64_t now);

/* ---- the log in words ---- */

/* Every action the code writes (NULL-terminated) and, at the same index,
 * its label (an English msgid): to show an entry's action and to offer
 * the actions as a filter (/admin/audit). An action missing here is shown
 * as stored. */
extern const char *const audit_action_codes[];
extern const char *const audit_action_labels[];

/* The first word(s) of an entry's object ("person 5", "api token 3") and
 * their labels, the same way. */
extern const char *const audit_type_codes[];
extern const char *const audit_type_labels[];

/* An entry in the request's language: its time ("2025-01-31 14:05 UTC"),
 * its action, its object ("Person 5") and the actor's role ("admin",
 * "coordinator", "member", "cli", "token"). Unknown codes are shown as
 * stored. Strings in r's arena or static. */
const char *audit_when(Request *r, int64_t at);
const char *audit_action_words(Request *r, const char *action);
const char *audit_object_words(Request *r, const char *object);
const char *audit_role_words(Request *r, const char *role);

/* Who has read the data of person (their own record, and the organisations
 * they belong to), newest first: [{at, action (translated), viewer,
 * viewer_role, what}]; at most limit entries from offset. Coordinators
 * and administrators are named, members are not (HACKING.md). *more is 1
 * when there are older entries. A new array. */
json_t *audit_views_of(Request *r, int64_t person, int64_t limit, int64_t offset, int *more);

#endif
