/*
 * test_visibility.c: the one visibility rule (src/svc/visibility.c) in its
 * two forms, the C predicate and the SQL fragment VISIBILITY_SQL, for every
 * kind of viewer and every visibility: both must give the expected truth
 * table, and agree with each other on records with no country or no author
 * too. A list filtered in SQL then shows exactly what a record checked in C
 * would: the letters' and responses' API lists, called for every viewer,
 * list exactly the records the C predicate allows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "feat/handlers.h"
#include "fixture.h"
#include "svc/visibility.h"

static const char *const visibilities[] = {"public",   "members", "country",
                                           "steering", "private", "committee"};
enum { VISIBILITIES = 6 };
/* Letters and responses take the first five only (their CHECK): committee
 * is for requests for support, which the table above covers in C and SQL. */
enum { LETTER_VISIBILITIES = 5 };

/* The viewers, each with what it must see of a record of Kenya (KEN)
 * written by the author, in the order of visibilities[]. */
typedef struct {
    const char *name;
    User *user;
    int sees[VISIBILITIES];
} Viewer;

enum {
    VISITOR,
    MEMBER_HERE,
    MEMBER_ELSEWHERE,
    FORMER_COORDINATOR,
    COORDINATOR_HERE,
    COORDINATOR_ELSEWHERE,
    COMMITTEE_MEMBER,
    ADMIN,
    AUTHOR,
    VIEWERS
};

static Viewer viewers[VIEWERS] = {
    [VISITOR] = {"visitor", NULL, {1, 0, 0, 0, 0, 0}},
    [MEMBER_HERE] = {"member of the country", NULL, {1, 1, 1, 0, 0, 0}},
    [MEMBER_ELSEWHERE] = {"member elsewhere", NULL, {1, 1, 0, 0, 0, 0}},
    /* A member once a coordinator of the country: its user_countries rows
     * no longer count. */
    [FORMER_COORDINATOR] = {"former coordinator", NULL, {1, 1, 0, 0, 0, 0}},
    [COORDINATOR_HERE] = {"coordinator of the country", NULL, {1, 1, 1, 1, 0, 0}},
    [COORDINATOR_ELSEWHERE] = {"coordinator elsewhere", NULL, {1, 1, 0, 0, 0, 0}},
    /* A member of another country on the coalition's steering committee:
     * the committee's records, not the country's. */
    [COMMITTEE_MEMBER] = {"steering committee member", NULL, {1, 1, 0, 0, 0, 1}},
    [ADMIN] = {"admin", NULL, {1, 1, 1, 1, 1, 1}},
    [AUTHOR] = {"author", NULL, {1, 1, 1, 1, 1, 1}},
};

static Fixture f;

/* A member profile (people) of user in iso3: what makes a member "of the
 * country". Written here because membership.c's way in is the whole
 * application and approval. */
typedef struct {
    User *user;
    const char *iso3;
} Profile;

static Result profile_apply(Db *w, void *ctx)
{
    Profile *p = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO people (user_id, name, email, iso3, created_at, "
                             "updated_at) VALUES (:user, 'Someone', :email, :iso3, 0, 0)");
    db_bind_int(st, ":user", p->user->id);
    db_bind_text(st, ":email", p->user->email);
    db_bind_text(st, ":iso3", p->iso3);
    return db_run(st);
}

static int give_profile(User *u, const char *iso3)
{
    Profile p = {u, iso3};
    if (db_write(f.db, profile_apply, &p) != R_OK)
        return -1;
    u->home_iso3 = iso3; /* as auth_load reads it from people */
    return 0;
}

static Result demote_apply(Db *w, void *ctx)
{
    Stmt *st = db_prepare(w, "UPDATE users SET role = 'member' WHERE id = :id");
    db_bind_int(st, ":id", ((User *)ctx)->id);
    return db_run(st);
}

static Result committee_apply(Db *w, void *ctx)
{
    Stmt *st = db_prepare(w, "INSERT INTO steering_committee (user_id, added_at) VALUES (:id, 0)");
    db_bind_int(st, ":id", ((User *)ctx)->id);
    return db_run(st);
}

/* Letters and responses of Kenya, one of each visibility by the author and
 * one of each by nobody (an author since deleted): what the API lists are
 * checked against. */
static Result records_apply(Db *w, void *ctx)
{
    (void)ctx;
    for (int i = 0; i < LETTER_VISIBILITIES * 2; i++) {
        Stmt *st = db_prepare(
            w, "INSERT INTO letters (author_id, iso3, lang, ask, sender, recipient, subject, "
               "body, visibility, created_at, updated_at) VALUES (:author, 'KEN', 'en', "
               "'ratify', 'Us', 'Them', :visibility, 'Text', :visibility, 0, 0)");
        if (i < LETTER_VISIBILITIES)
            db_bind_int(st, ":author", viewers[AUTHOR].user->id);
        else
            db_bind_null(st, ":author");
        db_bind_text(st, ":visibility", visibilities[i % LETTER_VISIBILITIES]);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
        st = db_prepare(w, "INSERT INTO responses (letter_id, iso3, received_on, class, "
                           "visibility, recorded_by, created_at) VALUES ((SELECT max(id) FROM "
                           "letters), 'KEN', '2024-01-01', 'positive', :visibility, :author, 0)");
        if (i < LETTER_VISIBILITIES)
            db_bind_int(st, ":author", viewers[AUTHOR].user->id);
        else
            db_bind_null(st, ":author");
        db_bind_text(st, ":visibility", visibilities[i % LETTER_VISIBILITIES]);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

static int setup(void **state)
{
    (void)state;
    if (i18n_init() != 0 || fixture_open(&f) != 0)
        return -1;
    viewers[MEMBER_HERE].user = fixture_user(&f, "here@vis.test", "member", NULL);
    viewers[MEMBER_ELSEWHERE].user = fixture_user(&f, "elsewhere@vis.test", "member", NULL);
    viewers[FORMER_COORDINATOR].user = fixture_user(&f, "former@vis.test", "coordinator", "KEN");
    viewers[COORDINATOR_HERE].user = fixture_user(&f, "coord@vis.test", "coordinator", "KEN");
    viewers[COORDINATOR_ELSEWHERE].user =
        fixture_user(&f, "coord-fra@vis.test", "coordinator", "FRA");
    viewers[COMMITTEE_MEMBER].user = fixture_user(&f, "committee@vis.test", "member", NULL);
    viewers[ADMIN].user = fixture_user(&f, "admin@vis.test", "admin", NULL);
    viewers[AUTHOR].user = fixture_user(&f, "author@vis.test", "member", NULL);
    for (int v = MEMBER_HERE; v < VIEWERS; v++)
        if (!viewers[v].user)
            return -1;
    if (db_write(f.db, committee_apply, viewers[COMMITTEE_MEMBER].user) != R_OK)
        return -1;
    viewers[COMMITTEE_MEMBER].user->committee = 1; /* as auth_load reads it */
    User *former = viewers[FORMER_COORDINATOR].user;
    if (db_write(f.db, demote_apply, former) != R_OK)
        return -1;
    former->role = ROLE_MEMBER;
    /* The author's own profile is elsewhere: only authorship lets it see. */
    if (give_profile(viewers[MEMBER_HERE].user, "KEN") != 0 ||
        give_profile(viewers[MEMBER_ELSEWHERE].user, "FRA") != 0 ||
        give_profile(viewers[COMMITTEE_MEMBER].user, "FRA") != 0 ||
        give_profile(viewers[AUTHOR].user, "FRA") != 0)
        return -1;
    return db_write(f.db, records_apply, NULL) == R_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    fixture_close(&f);
    i18n_free();
    return 0;
}

/* The fragment over a small list of records, as a list page uses it: each
 * record with what the fragment says of it. Records: every visibility, in
 * Kenya and with no country, by the author and by nobody (NULL). */
#define RECORDS_SQL                                                                                \
    "(SELECT v.column1 AS visibility, c.column1 AS iso3, a.column1 AS author_id "                  \
    "FROM (VALUES ('public'), ('members'), ('country'), ('steering'), ('private'), "               \
    "('committee')) v, "                                                                           \
    "(VALUES ('KEN'), ('')) c, (VALUES (:author), (NULL)) a) vis"

static Stmt *records(User *u)
{
    Stmt *st = db_prepare(
        f.db, "SELECT vis.visibility, vis.iso3, coalesce(vis.author_id, 0), " VISIBILITY_SQL
              " FROM " RECORDS_SQL " ORDER BY 1, 2, 3");
    db_bind_int(st, ":author", viewers[AUTHOR].user->id);
    visibility_bind(st, u);
    return st;
}

static int visibility_index(const char *visibility)
{
    for (int i = 0; i < VISIBILITIES; i++)
        if (!strcmp(visibilities[i], visibility))
            return i;
    fail_msg("unknown visibility %s", visibility);
    return -1;
}

static void test_c_predicate_gives_the_table(void **state)
{
    (void)state;
    int64_t author = viewers[AUTHOR].user->id;
    for (int v = 0; v < VIEWERS; v++)
        for (int i = 0; i < VISIBILITIES; i++) {
            int got = visibility_can_see(viewers[v].user, visibilities[i], "KEN", author);
            if (got != viewers[v].sees[i])
                fail_msg("C: %s, %s: %d, expected %d", viewers[v].name, visibilities[i], got,
                         viewers[v].sees[i]);
        }
}

/* Every record of the list, for every viewer: the fragment agrees with the
 * C predicate, and on the author's Kenyan records both give the table. */
static void test_sql_fragment_agrees_with_c(void **state)
{
    (void)state;
    int64_t author = viewers[AUTHOR].user->id;
    for (int v = 0; v < VIEWERS; v++) {
        Stmt *st = records(viewers[v].user);
        int rows = 0, checked = 0;
        while (db_row(st)) {
            const char *visibility = db_text(st, 0), *iso3 = db_text(st, 1);
            int64_t author_id = db_int(st, 2);
            assert_false(db_is_null(st, 3)); /* never NULL: safe to negate */
            int sql = (int)db_int(st, 3);
            int c = visibility_can_see(viewers[v].user, visibility, iso3, author_id);
            if (sql != c)
                fail_msg("%s, %s, country '%s', author %lld: SQL %d, C %d", viewers[v].name,
                         visibility, iso3, (long long)author_id, sql, c);
            if (!strcmp(iso3, "KEN") && author_id == author) {
                assert_int_equal(sql, viewers[v].sees[visibility_index(visibility)]);
                checked++;
            }
            rows++;
        }
        assert_int_equal(db_done(st), R_OK);
        assert_int_equal(rows, VISIBILITIES * 2 * 2);
        assert_int_equal(checked, VISIBILITIES);
    }
}

/* Records with no country are nobody's coalition or steering committee:
 * only the author and the admins see those. */
static void test_no_country_is_nobody_s_country(void **state)
{
    (void)state;
    for (int v = 0; v < VIEWERS; v++) {
        int expected = v == ADMIN;
        assert_int_equal(visibility_can_see(viewers[v].user, "country", "", 0), expected);
        assert_int_equal(visibility_can_see(viewers[v].user, "steering", NULL, 0), expected);
        assert_int_equal(visibility_can_see(viewers[v].user, "no such thing", "KEN", 0), expected);
    }
}

/* As a list uses it: WHERE VISIBILITY_SQL keeps exactly the records the
 * C predicate lets through. */
static void test_where_keeps_what_c_allows(void **state)
{
    (void)state;
    for (int v = 0; v < VIEWERS; v++) {
        Stmt *st = records(viewers[v].user);
        int allowed = 0;
        while (db_row(st))
            allowed +=
                visibility_can_see(viewers[v].user, db_text(st, 0), db_text(st, 1), db_int(st, 2));
        assert_int_equal(db_done(st), R_OK);
        st = db_prepare(f.db, "SELECT count(*) FROM " RECORDS_SQL " WHERE " VISIBILITY_SQL);
        db_bind_int(st, ":author", viewers[AUTHOR].user->id);
        visibility_bind(st, viewers[v].user);
        assert_true(db_row(st));
        if (db_int(st, 0) != allowed)
            fail_msg("%s: WHERE kept %lld, C allows %d", viewers[v].name, (long long)db_int(st, 0),
                     allowed);
        assert_int_equal(db_done(st), R_OK);
    }
}

/* The ids an API list handler gave, as a string "1 2 3" in out. */
static void listed(Result (*handler)(Request *), User *u, const char *token, const char *path,
                   char *out, size_t size)
{
    Request r = fixture_request(&f, u, "GET", path, NULL);
    r.api_scope = token;
    assert_int_equal(handler(&r), R_OK);
    json_t *items = json_object_get(r.data, "items");
    assert_non_null(items);
    size_t i, used = 0;
    json_t *item;
    out[0] = '\0';
    json_array_foreach(items, i, item)
    {
        used += (size_t)snprintf(out + used, size - used, "%lld ",
                                 (long long)json_integer_value(json_object_get(item, "id")));
        assert_true(used < size);
    }
    fixture_request_free(&r);
}

/* The ids the C predicate lets u (any, with a token) see, as listed() gives them. */
static void allowed(const char *table, User *u, int token, char *out, size_t size)
{
    Stmt *st = !strcmp(table, "letters")
                   ? db_prepare(f.db, "SELECT id, visibility, iso3, coalesce(author_id, 0) "
                                      "FROM letters ORDER BY id")
                   : db_prepare(f.db, "SELECT id, visibility, iso3, coalesce(recorded_by, 0) "
                                      "FROM responses ORDER BY id");
    size_t used = 0;
    out[0] = '\0';
    while (db_row(st))
        if (token || visibility_can_see(u, db_text(st, 1), db_text(st, 2), db_int(st, 3))) {
            used += (size_t)snprintf(out + used, size - used, "%lld ", (long long)db_int(st, 0));
            assert_true(used < size);
        }
    assert_int_equal(db_done(st), R_OK);
}

static void test_api_lists_show_what_c_allows(void **state)
{
    (void)state;
    char got[512], want[512];
    for (int v = 0; v <= VIEWERS; v++) {
        User *u = v < VIEWERS ? viewers[v].user : NULL;
        const char *token = v < VIEWERS ? NULL : "read"; /* last: an API token */
        listed(letter_list_api, u, token, "/api/v1/letters", got, sizeof got);
        allowed("letters", u, token != NULL, want, sizeof want);
        if (strcmp(got, want))
            fail_msg("letters, %s: listed %s, allowed %s", u ? viewers[v].name : "token", got,
                     want);
        listed(response_list_api, u, token, "/api/v1/responses", got, sizeof got);
        allowed("responses", u, token != NULL, want, sizeof want);
        if (strcmp(got, want))
            fail_msg("responses, %s: listed %s, allowed %s", u ? viewers[v].name : "token", got,
                     want);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_c_predicate_gives_the_table),
        cmocka_unit_test(test_sql_fragment_agrees_with_c),
        cmocka_unit_test(test_no_country_is_nobody_s_country),
        cmocka_unit_test(test_where_keeps_what_c_allows),
        cmocka_unit_test(test_api_lists_show_what_c_allows),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
