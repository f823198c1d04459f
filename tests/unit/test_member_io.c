/*
 * test_member_io.c: bulk import and export of members (src/feat/member_io.c, member_import.c,
 * member_export.c): column mapping and aliases, row validation, the three duplicate strategies, dry
 * runs that write nothing, jobs that resume where they stopped, and formula neutralisation in
 * exported cells.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/audit.h"
#include "feat/country.h"
#include "feat/member_export.h"
#include "feat/member_import.h"

static Db *db;
static char dir[64];
static char path[96]; /* the database file */
static CountryNames countries;

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/ratify-test-member-io-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/t.db", dir);
    db = db_open(path);
    assert_non_null(db);
    assert_int_equal(country_seed(db), R_OK);
    return member_io_countries(db, &countries) == R_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    member_io_countries_free(&countries);
    db_close(db);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd);
}

static Result members_clear_apply(Db *w, void *ctx)
{
    (void)ctx;
    int ok = db_exec(w, "DELETE FROM memberships") == R_OK;
    ok &= db_exec(w, "DELETE FROM org_people") == R_OK;
    ok &= db_exec(w, "DELETE FROM organisations") == R_OK;
    ok &= db_exec(w, "DELETE FROM people") == R_OK;
    ok &= db_exec(w, "DELETE FROM member_imports") == R_OK;
    return ok ? R_OK : R_INTERNAL;
}

/* Empties the member tables between tests that write. */
static void clear_members(void)
{
    assert_int_equal(db_write(db, members_clear_apply, NULL), R_OK);
}

static int64_t count_people(void)
{
    Stmt *st = db_prepare(db, "SELECT count(*) FROM people");
    int64_t n = db_row(st) ? db_int(st, 0) : -1;
    db_done(st);
    return n;
}

/* A person's column as text ("name", "languages", "listing", "iso3"). */
static char *person_field(const char *email, int column)
{
    static char out[1024];
    Stmt *st = db_prepare(db, "SELECT name, languages, listing, coalesce(iso3, '') "
                              "FROM people WHERE email = :email");
    db_bind_text(st, ":email", email);
    out[0] = 0;
    if (db_row(st))
        snprintf(out, sizeof out, "%s", db_text(st, column));
    db_done(st);
    return out;
}

static MemberMapping mapping_of(const char *header_line)
{
    CsvReader csv;
    csv_open(&csv, header_line, strlen(header_line));
    assert_int_equal(csv_next(&csv), 1);
    MemberMapping m;
    char error[200] = "";
    Result r = member_io_mapping(&csv, NULL, 0, &m, error, sizeof error);
    if (r != R_OK)
        fail_msg("mapping of '%s': %s", header_line, error);
    csv_free(&csv);
    return m;
}

static const char *const HEADER = "name,email,country,kind,organisation,org_type,website,"
                                  "languages,listing,status,consent_updates,created";

/* Validates the data line under HEADER's mapping; returns the row. */
static MemberRow parse(const char *line)
{
    MemberMapping m = mapping_of(HEADER);
    CsvReader csv;
    csv_open(&csv, line, strlen(line));
    assert_int_equal(csv_next(&csv), 1);
    MemberRow row;
    member_io_parse_row(&m, &countries, csv.fields, csv.count, 2, &row);
    csv_free(&csv);
    return row;
}

static void assert_row_error(const char *line, const char *field)
{
    MemberRow row = parse(line);
    if (!row.error)
        fail_msg("no error for: %s", line);
    if (field)
        assert_string_equal(row.error_field, field);
}

static void test_aliases(void **state)
{
    (void)state;
    assert_int_equal(member_io_field("email"), MF_EMAIL);
    assert_int_equal(member_io_field("  E-Mail "), MF_EMAIL);
    assert_int_equal(member_io_field("MAIL"), MF_EMAIL);
    assert_int_equal(member_io_field("Full Name"), MF_NAME);
    assert_int_equal(member_io_field("full_name"), MF_NAME);
    assert_int_equal(member_io_field("Organization"), MF_ORGANISATION);
    assert_int_equal(member_io_field("org"), MF_ORGANISATION);
    assert_int_equal(member_io_field("Type"), MF_ORG_TYPE);
    assert_int_equal(member_io_field("org type"), MF_ORG_TYPE);
    assert_int_equal(member_io_field("ISO3"), MF_COUNTRY);
    assert_int_equal(member_io_field("Country Code"), MF_COUNTRY);
    assert_int_equal(member_io_field("Country"), MF_COUNTRY);
    assert_int_equal(member_io_field("Consent_Updates"), MF_CONSENT_UPDATES);
    assert_int_equal(member_io_field("Member since"), MF_CREATED);
    assert_int_equal(member_io_field("notes"), -1);
    assert_int_equal(member_io_field(""), -1);
    assert_int_equal(member_io_field("email2"), -1);
}

static void test_mapping(void **state)
{
    (void)state;
    const char *text = "Full Name,E-mail,Nation,Organization,Notes\n";
    CsvReader csv;
    csv_open(&csv, text, strlen(text));
    assert_int_equal(csv_next(&csv), 1);
    MemberMapping m;
    char error[200] = "";
    /* Nation is not a known name: country is missing. */
    assert_int_equal(member_io_mapping(&csv, NULL, 0, &m, error, sizeof error), R_BAD_REQUEST);
    assert_non_null(strstr(error, "country"));
    const char *over[] = {"nation=country", "Notes=ignore"};
    assert_int_equal(member_io_mapping(&csv, over, 2, &m, error, sizeof error), R_OK);
    assert_int_equal(m.column_of[MF_NAME], 0);
    assert_int_equal(m.column_of[MF_EMAIL], 1);
    assert_int_equal(m.column_of[MF_COUNTRY], 2);
    assert_int_equal(m.column_of[MF_ORGANISATION], 3);
    assert_int_equal(m.field_of[4], -1);
    /* Mapping a column by hand moves the field there. */
    const char *move[] = {"nation=country", "Notes=name"};
    assert_int_equal(member_io_mapping(&csv, move, 2, &m, error, sizeof error), R_OK);
    assert_int_equal(m.column_of[MF_NAME], 4);
    assert_int_equal(m.field_of[0], -1);
    const char *unknown_column[] = {"Nationality=country"};
    assert_int_equal(member_io_mapping(&csv, unknown_column, 1, &m, error, sizeof error),
                     R_BAD_REQUEST);
    const char *unknown_field[] = {"Nation=nationality"};
    assert_int_equal(member_io_mapping(&csv, unknown_field, 1, &m, error, sizeof error),
                     R_BAD_REQUEST);
    const char *no_equals[] = {"Nation"};
    assert_int_equal(member_io_mapping(&csv, no_equals, 1, &m, error, sizeof error), R_BAD_REQUEST);
    csv_free(&csv);

    /* Two columns that both mean email. */
    const char *twice = "name,email,E-mail,country\n";
    csv_open(&csv, twice, strlen(twice));
    assert_int_equal(csv_next(&csv), 1);
    assert_int_equal(member_io_mapping(&csv, NULL, 0, &m, error, sizeof error), R_BAD_REQUEST);
    assert_non_null(strstr(error, "email"));
    const char *drop[] = {"E-mail=ignore"};
    assert_int_equal(member_io_mapping(&csv, drop, 1, &m, error, sizeof error), R_OK);
    csv_free(&csv);
}

static void test_options_round_trip(void **state)
{
    (void)state;
    MemberMapping m = mapping_of("E-mail,Notes,Full name,ISO3\n"), back;
    char *options = member_io_options(&m, DUP_FILL);
    assert_string_equal(options, "{\"map\":{\"country\":3,\"email\":0,\"name\":2},"
                                 "\"on_duplicate\":\"fill\"}");
    OnDuplicate dup;
    assert_int_equal(member_io_options_parse(options, 4, &back, &dup), R_OK);
    assert_int_equal(dup, DUP_FILL);
    assert_memory_equal(back.column_of, m.column_of, sizeof m.column_of);
    /* A mapping that points past the file's columns is refused. */
    assert_int_equal(member_io_options_parse(options, 3, &back, &dup), R_BAD_REQUEST);
    assert_int_equal(member_io_options_parse("{\"map\":{}}", 4, &back, &dup), R_BAD_REQUEST);
    assert_int_equal(member_io_options_parse("not json", 4, &back, &dup), R_BAD_REQUEST);
    free(options);
}

static void test_valid_rows(void **state)
{
    (void)state;
    MemberRow row = parse(" Ana Pérez ,ANA@Example.ORG,arg,,,,,\"ES, en\",,,yes,2019-03-01");
    assert_null(row.error);
    assert_string_equal(row.name, "Ana Pérez");
    assert_string_equal(row.email, "ana@example.org");
    assert_string_equal(row.iso3, "ARG");
    assert_false(row.organisation);
    assert_string_equal(row.languages, "es en");
    assert_string_equal(row.listing, "hidden"); /* individuals are hidden by default */
    assert_false(row.listing_given);
    assert_string_equal(row.status, "active");
    assert_int_equal(row.consent_updates, 1);
    assert_int_equal(row.created_at, 1551398400);

    /* An organisation column makes it an organisation, listed to members. */
    row = parse("Bob,bob@example.org,Kenya,,Kenya HR Network,Human rights NGO,"
                "https://khrn.example.org,en sw,,lapsed,0,");
    assert_null(row.error);
    assert_true(row.organisation);
    assert_string_equal(row.iso3, "KEN");
    assert_string_equal(row.org_type, "human_rights_ngo");
    assert_string_equal(row.listing, "members");
    assert_string_equal(row.status, "lapsed");
    assert_int_equal(row.consent_updates, 0);

    row = parse("Cy,cy@example.org,Côte d'Ivoire,Organization,Union,trade_union,,,PUBLIC,,,");
    assert_null(row.error);
    assert_string_equal(row.iso3, "CIV");
    assert_string_equal(row.listing, "public");
    assert_true(row.listing_given);

    /* A country's name in any language of country_names, case aside, the
     * capitals of Latin-1 too. */
    assert_string_equal(parse("Di,di@example.org,argentine,,,,,,,,,").iso3, "ARG"); /* fr */
    assert_string_equal(parse("Di,di@example.org,ÉTATS-UNIS,,,,,,,,,").iso3, "USA");
    assert_string_equal(parse("Di,di@example.org,égypte,,,,,,,,,").iso3, "EGY");
    assert_string_equal(parse("Di,di@example.org,EGIPTO,,,,,,,,,").iso3, "EGY");    /* es */
    assert_string_equal(parse("Di,di@example.org,الأرجنتين,,,,,,,,,").iso3, "ARG"); /* ar */

    /* 200 characters of two bytes each is not too long. */
    char line[1200] = "";
    for (int i = 0; i < 200; i++)
        strcat(line, "é");
    strcat(line, ",long@example.org,FRA,,,,,,,,,");
    assert_null(parse(line).error);

    /* Our own export's protection of a formula comes off on the way in. */
    row = parse("\"'=HYPERLINK(\"\"x\"\")\",f@example.org,DEU,,,,,,,,,");
    assert_null(row.error);
    assert_string_equal(row.name, "=HYPERLINK(\"x\")");
}

static void test_invalid_rows(void **state)
{
    (void)state;
    assert_row_error(",a@example.org,ARG,,,,,,,,,", "name");
    assert_row_error("Ana,,ARG,,,,,,,,,", "email");
    assert_row_error("Ana,not-an-email,ARG,,,,,,,,,", "email");
    assert_row_error("Ana,a@@example.org,ARG,,,,,,,,,", "email");
    assert_row_error("Ana,a@example.org,,,,,,,,,,", "country");
    assert_row_error("Ana,a@example.org,Atlantis,,,,,,,,,", "country");
    assert_row_error("Ana,a@example.org,XXX,,,,,,,,,", "country");
    assert_row_error("Ana,a@example.org,Argentin,,,,,,,,,", "country"); /* never guessed */
    assert_row_error("Ana,a@example.org,ARG,person,,,,,,,,", "kind");
    assert_row_error("Ana,a@example.org,ARG,organisation,,human_rights_ngo,,,,,,", "organisation");
    assert_row_error("Ana,a@example.org,ARG,organisation,Org,,,,,,,", "org_type");
    assert_row_error("Ana,a@example.org,ARG,,Org,think_tank,,,,,,", "org_type");
    assert_row_error("Ana,a@example.org,ARG,individual,Org,other,,,,,,", "organisation");
    assert_row_error("Ana,a@example.org,ARG,,Org,other,javascript:alert(1),,,,,", "website");
    assert_row_error("Ana,a@example.org,ARG,,,,,en!,,,,", "languages");
    assert_row_error("Ana,a@example.org,ARG,,,,,,everyone,,,", "listing");
    assert_row_error("Ana,a@example.org,ARG,,,,,,,approved,,", "status");
    assert_row_error("Ana,a@example.org,ARG,,,,,,,,maybe,", "consent_updates");
    assert_row_error("Ana,a@example.org,ARG,,,,,,,,,2019-02-30", "created");
    assert_row_error("Ana,a@example.org,ARG,,,,,,,,,01/02/2019", "created");
    assert_row_error("Ana,a@example.org,ARG,,,,,,,,,,extra", NULL);

    /* Over-long names and organisations. */
    char line[1200] = "";
    for (int i = 0; i < 201; i++)
        strcat(line, "a");
    strcat(line, ",long@example.org,FRA,,,,,,,,,");
    assert_row_error(line, "name");
    snprintf(line, sizeof line, "Ana,a@example.org,FRA,,");
    for (int i = 0; i < 201; i++)
        strcat(line, "b");
    strcat(line, ",other,,,,,,");
    assert_row_error(line, "organisation");

    /* Invalid UTF-8 and control characters. */
    assert_row_error("Ana \xff,a@example.org,ARG,,,,,,,,,", "name");
    assert_row_error("Ana \xc3,a@example.org,ARG,,,,,,,,,", "name");
    assert_row_error("\"Ana\nPérez\",a@example.org,ARG,,,,,,,,,", "name");
    assert_row_error("Ana\tPérez,a@example.org,ARG,,,,,,,,,", "name");
    assert_row_error("Ana\x01,a@example.org,ARG,,,,,,,,,", "name");
    assert_row_error("Ana,a@example.org,ARG,,Org\x7f,other,,,,,,", "organisation");
}

static void test_merge(void **state)
{
    (void)state;
    assert_string_equal(member_io_merge(DUP_SKIP, "old", "new"), "old");
    assert_string_equal(member_io_merge(DUP_SKIP, "", "new"), "");
    assert_string_equal(member_io_merge(DUP_UPDATE, "old", "new"), "new");
    assert_string_equal(member_io_merge(DUP_UPDATE, "old", ""), "old"); /* empty never wipes */
    assert_string_equal(member_io_merge(DUP_UPDATE, "", "new"), "new");
    assert_string_equal(member_io_merge(DUP_FILL, "old", "new"), "old");
    assert_string_equal(member_io_merge(DUP_FILL, "", "new"), "new");
    assert_string_equal(member_io_merge(DUP_FILL, "", ""), "");
}

/* Imports text as a finished job under dup; returns the totals. */
static ImportTotals import_text(const char *text, OnDuplicate dup)
{
    CsvReader csv;
    csv_open(&csv, text, strlen(text));
    assert_int_equal(csv_next(&csv), 1);
    MemberMapping m;
    char error[200] = "";
    assert_int_equal(member_io_mapping(&csv, NULL, 0, &m, error, sizeof error), R_OK);
    csv_free(&csv);
    char *options = member_io_options(&m, dup);
    ImportJob job;
    assert_int_equal(member_import_job_create(db, text, strlen(text), options, 0, 0, 0, &job),
                     R_OK);
    free(options);
    assert_int_equal(member_import_job_run(db, &job, text, strlen(text), &m, dup, 0, NULL, NULL,
                                           NULL, error, sizeof error),
                     R_OK);
    assert_string_equal(job.status, "done");
    return job.totals;
}

static void test_duplicate_strategies(void **state)
{
    (void)state;
    clear_members();
    const char *first = "name,email,country,languages,listing\n"
                        "Ana Pérez,ana@example.org,ARG,,public\n"
                        "Bo,bo@example.org,KEN,en,hidden\n";
    ImportTotals t = import_text(first, DUP_SKIP);
    assert_int_equal(t.created, 2);
    const char *again = "name,email,country,languages,listing\n"
                        "Ana María Pérez,ANA@example.org,ARG,es,\n"
                        "Bo Banda,bo@example.org,KEN,fr,members\n";

    t = import_text(again, DUP_SKIP);
    assert_int_equal(t.skipped, 2);
    assert_string_equal(person_field("ana@example.org", 0), "Ana Pérez");
    assert_string_equal(person_field("bo@example.org", 1), "en");

    t = import_text(again, DUP_FILL);
    assert_int_equal(t.filled, 1);  /* Ana had no languages */
    assert_int_equal(t.skipped, 1); /* Bo had them all */
    assert_string_equal(person_field("ana@example.org", 0), "Ana Pérez");
    assert_string_equal(person_field("ana@example.org", 1), "es");
    assert_string_equal(person_field("bo@example.org", 1), "en");

    t = import_text(again, DUP_UPDATE);
    assert_int_equal(t.updated, 2);
    assert_string_equal(person_field("ana@example.org", 0), "Ana María Pérez");
    assert_string_equal(person_field("ana@example.org", 2), "public"); /* not given: kept */
    assert_string_equal(person_field("bo@example.org", 0), "Bo Banda");
    assert_string_equal(person_field("bo@example.org", 1), "fr");
    assert_string_equal(person_field("bo@example.org", 2), "members");
    assert_int_equal(count_people(), 2);

    /* An organisation's membership for someone who is already an
     * individual member is a new membership, not a duplicate. */
    t = import_text("name,email,country,organisation,org_type\n"
                    "Bo,bo@example.org,KEN,Kenya HR Network,human_rights_ngo\n",
                    DUP_SKIP);
    assert_int_equal(t.created, 1);
    assert_int_equal(count_people(), 2);
    assert_string_equal(person_field("bo@example.org", 0), "Bo Banda");
}

static void count_rows(void *ctx, const MemberRow *row, const char *action, const char *note)
{
    (void)row;
    (void)note;
    int *counts = ctx;
    counts[strcmp(action, "create") == 0 ? 0 : strcmp(action, "skip") == 0 ? 1 : 2]++;
}

static void test_dry_run_writes_nothing(void **state)
{
    (void)state;
    clear_members();
    const char *text = "email,name,country\n"
                       "a@example.org,A,ARG\n"
                       "b@example.org,B,BRA\n"
                       "a@example.org,A again,ARG\n"
                       "bad,C,CHL\n";
    MemberMapping m = mapping_of(text);
    ImportTotals t;
    int counts[3] = {0};
    char error[200] = "";
    assert_int_equal(member_import_dry_run(db, text, strlen(text), &m, DUP_SKIP, count_rows, counts,
                                           &t, error, sizeof error),
                     R_OK);
    /* Exactly what applying would do, the repeated address included. */
    assert_int_equal(t.rows, 4);
    assert_int_equal(t.created, 2);
    assert_int_equal(t.skipped, 1);
    assert_int_equal(t.rejected, 1);
    assert_int_equal(counts[0], 2);
    assert_int_equal(counts[1], 1);
    assert_int_equal(counts[2], 1);
    assert_int_equal(count_people(), 0);
    Stmt *st = db_prepare(db, "SELECT count(*) FROM member_imports");
    assert_true(db_row(st));
    assert_int_equal(db_int(st, 0), 0);
    db_done(st);

    /* A CSV syntax error is about the file, with its line. */
    const char *broken = "email,name,country\na@example.org,\"A,ARG\n";
    assert_int_equal(member_import_dry_run(db, broken, strlen(broken), &m, DUP_SKIP, NULL, NULL, &t,
                                           error, sizeof error),
                     R_BAD_REQUEST);
    assert_non_null(strstr(error, "line 2"));
}

static void test_job_resumes(void **state)
{
    (void)state;
    clear_members();
    Buf text = {0};
    buf_puts(&text, "name,email,country\n");
    for (int i = 0; i < 2500; i++)
        buf_printf(&text, "Person %d,p%d@example.org,ARG\n", i, i % 2000);
    MemberMapping m = mapping_of(text.data);
    char *options = member_io_options(&m, DUP_SKIP);
    ImportJob job;
    assert_int_equal(member_import_job_create(db, text.data, text.len, options, 2500, 1, 0, &job),
                     R_OK);
    assert_true(job.has_content);
    char error[200] = "";
    /* The first run stops after 1200 rows: the job says so, and no later
     * row was written. */
    assert_int_equal(member_import_job_run(db, &job, text.data, text.len, &m, DUP_SKIP, 1200, NULL,
                                           NULL, NULL, error, sizeof error),
                     R_OK);
    assert_string_equal(job.status, "running");
    assert_int_equal(job.rows_done, 1200);
    assert_int_equal(count_people(), 1200);
    ImportJob found;
    assert_int_equal(member_import_job_find(db, job.sha256, options, &found), R_OK);
    assert_int_equal(found.id, job.id);
    /* The rest. */
    assert_int_equal(member_import_job_run(db, &job, text.data, text.len, &m, DUP_SKIP, 0, NULL,
                                           NULL, NULL, error, sizeof error),
                     R_OK);
    assert_string_equal(job.status, "done");
    assert_int_equal(job.rows_done, 2500);
    assert_int_equal(job.totals.created, 2000);
    assert_int_equal(job.totals.skipped, 500);
    assert_false(job.has_content); /* the uploaded file is not kept */
    assert_int_equal(count_people(), 2000);
    /* A finished job does nothing more. */
    assert_int_equal(member_import_job_run(db, &job, text.data, text.len, &m, DUP_SKIP, 0, NULL,
                                           NULL, NULL, error, sizeof error),
                     R_OK);
    assert_int_equal(job.totals.created, 2000);
    /* The audit log has the counts and nothing about anyone. */
    Stmt *st = db_prepare(db, "SELECT detail FROM audit_log WHERE action = 'members imported' "
                              "ORDER BY id DESC LIMIT 1");
    assert_true(db_row(st));
    assert_string_equal(db_text(st, 0),
                        "2500 rows: 2000 created, 0 updated, 0 filled, 500 skipped, 0 rejected");
    db_done(st);
    free(options);
    buf_free(&text);
}

static void test_export_neutralises_formulas(void **state)
{
    (void)state;
    clear_members();
    import_text("name,email,country,languages\n"
                "\"=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\",a@example.org,ARG,\n"
                "+1,b@example.org,ARG,\n"
                "-1,c@example.org,ARG,\n"
                "@SUM(A1:A2),d@example.org,ARG,\n"
                "Plain,e@example.org,ARG,\n",
                DUP_SKIP);
    Buf out = {0};
    assert_int_equal(member_export_csv(db, &out), 5);
    assert_non_null(strstr(out.data, "name,email,country,kind,organisation,org_type,website,"
                                     "languages,listing,status,consent_updates,created\r\n"));
    assert_non_null(strstr(out.data, "\r\n\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"x\"\")\","
                                     "a@example.org,"));
    assert_non_null(strstr(out.data, "\r\n\"'+1\",b@example.org,"));
    assert_non_null(strstr(out.data, "\r\n\"'-1\",c@example.org,"));
    assert_non_null(strstr(out.data, "\r\n\"'@SUM(A1:A2)\",d@example.org,"));
    assert_non_null(strstr(out.data, "\r\nPlain,e@example.org,ARG,individual,"));
    /* No line of the export starts a formula. */
    for (const char *p = out.data; p; p = strstr(p, "\r\n")) {
        p += p == out.data ? 0 : 2;
        if (*p)
            assert_null(strchr("=+-@", *p));
        if (!*p)
            break;
    }
    buf_free(&out);
}

static int64_t count_of(Db *d, const char *what)
{
    Stmt *st = strcmp(what, "people") == 0 ? db_prepare(d, "SELECT count(*) FROM people")
               : strcmp(what, "reads") == 0
                   ? db_prepare(d, "SELECT count(*) FROM audit_log WHERE kind = 'read'")
                   : db_prepare(d, "SELECT count(*) FROM audit_subjects");
    int64_t n = db_row(st) ? db_int(st, 0) : -1;
    db_done(st);
    return n;
}

/* Abandoned web imports: uploads a day old, and the files of web jobs nobody
 * has run for a week, at the time housekeeping gives. */
static Result expire_fixture_apply(Db *w, void *ctx)
{
    const int64_t *now = ctx;
    int ok = db_exec(w, "DELETE FROM member_import_uploads") == R_OK;
    ok &=
        db_exec(w, "INSERT INTO users (id, email, role, created_at) "
                   "VALUES (900, 'expire@example.org', 'admin', 0) ON CONFLICT DO NOTHING") == R_OK;
    static const struct {
        int64_t id, age;
    } uploads[] = {{1, 25 * 3600}, {2, 3600}};
    for (size_t i = 0; i < 2; i++) {
        Stmt *st = db_prepare(w, "INSERT INTO member_import_uploads (id, user_id, content, "
                                 "uploaded_at) VALUES (:id, 900, 'name,email,country', :at)");
        db_bind_int(st, ":id", uploads[i].id);
        db_bind_int(st, ":at", *now - uploads[i].age);
        ok &= db_run(st) == R_OK;
    }
    /* 1: running, idle for 8 days; 2: failed a day ago; 3: running now. */
    static const struct {
        int64_t id, age;
        const char *status;
    } jobs[] = {{1, 8 * 24 * 3600, "running"}, {2, 24 * 3600, "failed"}, {3, 0, "running"}};
    for (size_t i = 0; i < 3; i++) {
        Stmt *st = db_prepare(w, "INSERT INTO member_imports (id, file_sha256, options, "
                                 "total_rows, status, started_by, started_at, updated_at) "
                                 "VALUES (:id, 'x', '{}', 10, :status, 900, :at, :at)");
        db_bind_int(st, ":id", jobs[i].id);
        db_bind_text(st, ":status", jobs[i].status);
        db_bind_int(st, ":at", *now - jobs[i].age);
        ok &= db_run(st) == R_OK;
        st = db_prepare(w, "INSERT INTO member_import_files (import_id, content) "
                           "VALUES (:id, 'name,email,country')");
        db_bind_int(st, ":id", jobs[i].id);
        ok &= db_run(st) == R_OK;
    }
    return ok ? R_OK : R_INTERNAL;
}

static Result expire_apply(Db *w, void *ctx)
{
    return member_import_expire(w, *(const int64_t *)ctx);
}

/* The ids of what (uploads, job files, failed jobs) as one number, in
 * order: "2,3" -> 23 (enough for a handful of one-digit ids). */
static int64_t ids_of(const char *what)
{
    Stmt *st;
    if (strcmp(what, "uploads") == 0)
        st = db_prepare(db, "SELECT coalesce(group_concat(id, ''), '') FROM "
                            "(SELECT id FROM member_import_uploads ORDER BY id)");
    else if (strcmp(what, "files") == 0)
        st = db_prepare(db, "SELECT coalesce(group_concat(import_id, ''), '') FROM "
                            "(SELECT import_id FROM member_import_files ORDER BY import_id)");
    else
        st = db_prepare(db, "SELECT coalesce(group_concat(id, ''), '') FROM "
                            "(SELECT id FROM member_imports WHERE status = 'failed' ORDER BY id)");
    int64_t n = db_row(st) ? strtoll(db_text(st, 0), NULL, 10) : -1;
    db_done(st);
    return n;
}

static void test_expire_abandoned_imports(void **state)
{
    (void)state;
    clear_members();
    int64_t now = now_seconds();
    assert_int_equal(db_write(db, expire_fixture_apply, &now), R_OK);
    assert_int_equal(ids_of("uploads"), 12);
    assert_int_equal(ids_of("files"), 123);
    assert_int_equal(db_write(db, expire_apply, &now), R_OK);
    assert_int_equal(ids_of("uploads"), 2); /* the day-old upload is gone */
    assert_int_equal(ids_of("files"), 23);  /* job 1's file is gone ... */
    assert_int_equal(ids_of("failed"), 12); /* ... and job 1 stopped */
    /* Nothing more goes until time passes. */
    assert_int_equal(db_write(db, expire_apply, &now), R_OK);
    assert_int_equal(ids_of("files"), 23);
    now += 8 * 24 * 3600;
    assert_int_equal(db_write(db, expire_apply, &now), R_OK);
    assert_int_equal(ids_of("uploads"), 0);
    assert_int_equal(ids_of("files"), 0);
    assert_int_equal(ids_of("failed"), 123);
    /* The hourly job's form of it, at the present time: nothing more. */
    assert_int_equal(member_import_hourly(db, NULL), R_OK);
    assert_int_equal(ids_of("failed"), 123);
}

/* With the writer thread running, every other connection is read-only
 * (query_only): an import, its dry run, an export's audit entry and a
 * read's audit entry all work through such a connection, so none of them
 * writes outside db_write. */
static void test_writes_only_through_db_write(void **state)
{
    (void)state;
    clear_members();
    assert_int_equal(db_writer_start(path), 0);
    Db *ro = db_open(path);
    assert_non_null(ro);
    /* The safety net is on: a write outside db_write fails. */
    assert_int_equal(db_exec(ro, "DELETE FROM people"), R_INTERNAL);

    Buf text = {0};
    buf_puts(&text, "name,email,country,organisation,org_type\n");
    for (int i = 0; i < 1500; i++)
        buf_printf(&text, "Person %d,w%d@example.org,ARG,%s,%s\n", i, i % 1200, i % 5 ? "" : "Org",
                   i % 5 ? "" : "human_rights_ngo");
    MemberMapping m = mapping_of(text.data);
    ImportTotals t;
    int counts[3] = {0};
    char error[200] = "";
    assert_int_equal(member_import_dry_run(ro, text.data, text.len, &m, DUP_SKIP, count_rows,
                                           counts, &t, error, sizeof error),
                     R_OK);
    assert_int_equal(t.rows, 1500);
    assert_int_equal(t.created + t.skipped, 1500);
    assert_int_equal(counts[0], t.created);
    assert_int_equal(count_of(ro, "people"), 0);

    char *options = member_io_options(&m, DUP_SKIP);
    ImportJob job;
    assert_int_equal(member_import_job_create(ro, text.data, text.len, options, 1500, 1, 0, &job),
                     R_OK);
    assert_int_equal(member_import_job_run(ro, &job, text.data, text.len, &m, DUP_SKIP, 0, NULL,
                                           NULL, NULL, error, sizeof error),
                     R_OK);
    assert_string_equal(job.status, "done");
    assert_int_equal(job.rows_done, 1500);
    assert_int_equal(job.totals.created, t.created); /* the dry run said so */
    assert_int_equal(count_of(ro, "people"), 1200);

    /* An export's entry names every member; a read names one. */
    char out[128];
    snprintf(out, sizeof out, "%s/export.csv", dir);
    char *argv[] = {"--out", out};
    int64_t reads = count_of(ro, "reads"), subjects = count_of(ro, "subjects");
    assert_int_equal(member_export_cmd(ro, 2, argv), R_OK);
    assert_int_equal(count_of(ro, "reads"), reads + 1);
    assert_true(count_of(ro, "subjects") > subjects + 1200);
    assert_int_equal(audit_read(ro, 0, "person", 1), R_OK);
    assert_int_equal(count_of(ro, "reads"), reads + 2);

    db_close(ro);
    db_writer_stop();
    free(options);
    buf_free(&text);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_aliases),
        cmocka_unit_test(test_mapping),
        cmocka_unit_test(test_options_round_trip),
        cmocka_unit_test(test_valid_rows),
        cmocka_unit_test(test_invalid_rows),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_duplicate_strategies),
        cmocka_unit_test(test_dry_run_writes_nothing),
        cmocka_unit_test(test_job_resumes),
        cmocka_unit_test(test_export_neutralises_formulas),
        cmocka_unit_test(test_expire_abandoned_imports),
        cmocka_unit_test(test_writes_only_through_db_write),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
