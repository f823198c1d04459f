/*
 * audit.c: appending to the audit log (see audit.h).
 */
#include "audit.h"

Result audit_log(Db *db, int64_t user_id, const char *action, const char *object,
                 const char *detail)
{
    Stmt *st = db_prepare(db, "INSERT INTO audit_log (at, user_id, action, object, detail) "
                              "VALUES (:at, :user, :action, :object, :detail)");
    db_bind_int(st, ":at", now_seconds());
    if (user_id)
        db_bind_int(st, ":user", user_id);
    else
        db_bind_null(st, ":user");
    db_bind_text(st, ":action", action);
    db_bind_text(st, ":object", object ? object : "");
    db_bind_text(st, ":detail", detail ? detail : "");
    Result rc = db_run(st);
    db_done(st);
    return rc == R_OK ? R_OK : R_INTERNAL;
}
