/*
 * test_expire.c: the hourly jobs of the member features
 * (membership_expire, invitation_expire, member_rate_limits_expire) delete
 * exactly what can never be used again and keep what still can.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "feat/country.h"
#include "feat/invitation.h"
#include "feat/member.h"
#include "feat/membership.h"
#include "feat/organisation.h"
#include "feat/person.h"

enum { HOUR = 3600, DAY = 24 * HOUR };

static Db *db;
static char dir[64];

static int setup(void **state)
{
    (void)state;
    char path[96];
    snprintf(dir, sizeof dir, "/tmp/ratify-test-expire-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    db = db_open(path);
    assert_non_null(db);
    return country_seed(db) == R_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    db_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static Result add_token(Db *w, const char *hash, int64_t membership, int64_t expires, int used)
{
    Stmt *st = db_prepare(w, "INSERT INTO confirm_tokens (token_hash, membership_id, expires_at, "
                             "used_at) VALUES (:hash, :m, :expires, :used)");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":m", membership);
    db_bind_int(st, ":expires", expires);
    if (used)
        db_bind_int(st, ":used", expires - HOUR);
    else
        db_bind_null(st, ":used");
    return db_run(st);
}

static Result add_invitation(Db *w, const char *hash, int64_t org, int64_t expires, int used)
{
    Stmt *st = db_prepare(w, "INSERT INTO invitations (token_hash, org_id, email, role, "
                             "expires_at, used_at) VALUES (:hash, :org, 'x@example.org', "
                             "'staff', :expires, :used)");
    db_bind_text(st, ":hash", hash);
    db_bind_int(st, ":org", org);
    db_bind_int(st, ":expires", expires);
    if (used)
        db_bind_int(st, ":used", expires - HOUR);
    else
        db_bind_null(st, ":used");
    return db_run(st);
}

static Result add_window(Db *w, const char *key, int64_t start)
{
    Stmt *st = db_prepare(w, "INSERT INTO rate_limits (key, hits, window_start) "
                             "VALUES (:key, 1, :start)");
    db_bind_text(st, ":key", key);
    db_bind_int(st, ":start", start);
    return db_run(st);
}

/* For each table: one row used (or old), one expired, one still good. */
static Result seed_apply(Db *w, void *ctx)
{
    (void)ctx;
    int64_t now = now_seconds(), person, org, membership;
    if (person_insert(w, "A", "a@example.org", "FRA", "", "public", now, &person) != R_OK ||
        organisation_insert(w, "O", "FRA", "human_rights_ngo", "", "", "public", now, &org) != R_OK)
        return R_INTERNAL;
    Stmt *st = db_prepare(w, "INSERT INTO memberships (kind, person_id, org_id, iso3, "
                             "not_government, consent_store_at, created_at) VALUES "
                             "('organisation', :p, :o, 'FRA', 1, :now, :now) RETURNING id");
    db_bind_int(st, ":p", person);
    db_bind_int(st, ":o", org);
    db_bind_int(st, ":now", now);
    if (db_insert(st, &membership) != R_OK)
        return R_INTERNAL;
    int ok = add_token(w, "used", membership, now + DAY, 1) == R_OK;
    ok &= add_token(w, "expired", membership, now - HOUR, 0) == R_OK;
    ok &= add_token(w, "live", membership, now + DAY, 0) == R_OK;
    ok &= add_invitation(w, "used", org, now + DAY, 1) == R_OK;
    ok &= add_invitation(w, "expired", org, now - HOUR, 0) == R_OK;
    ok &= add_invitation(w, "live", org, now + DAY, 0) == R_OK;
    ok &= add_window(w, "old", now - DAY - HOUR) == R_OK;
    ok &= add_window(w, "fresh", now - HOUR) == R_OK;
    return ok ? R_OK : R_INTERNAL;
}

/* The keys st reads, comma-separated (SQL is only ever a literal, so the
 * caller prepares it). */
static const char *left(Stmt *st)
{
    static char out[256];
    out[0] = 0;
    while (db_row(st)) {
        size_t n = strlen(out);
        snprintf(out + n, sizeof out - n, "%s%s", n ? "," : "", db_text(st, 0));
    }
    assert_int_equal(db_done(st), R_OK);
    return out;
}

static void test_jobs_keep_only_what_can_be_used(void **state)
{
    (void)state;
    assert_int_equal(db_write(db, seed_apply, NULL), R_OK);
    assert_int_equal(membership_expire(db, "http://localhost"), R_OK);
    assert_string_equal(left(db_prepare(db, "SELECT token_hash FROM confirm_tokens ORDER BY 1")),
                        "live");
    /* Each job touches its own table only. */
    assert_string_equal(left(db_prepare(db, "SELECT token_hash FROM invitations ORDER BY 1")),
                        "expired,live,used");
    assert_int_equal(invitation_expire(db, "http://localhost"), R_OK);
    assert_string_equal(left(db_prepare(db, "SELECT token_hash FROM invitations ORDER BY 1")),
                        "live");
    assert_string_equal(left(db_prepare(db, "SELECT key FROM rate_limits ORDER BY 1")),
                        "fresh,old");
    assert_int_equal(member_rate_limits_expire(db, "http://localhost"), R_OK);
    assert_string_equal(left(db_prepare(db, "SELECT key FROM rate_limits ORDER BY 1")), "fresh");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_keep_only_what_can_be_used),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
