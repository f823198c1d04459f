/*
 * test_untc.c: the UNTC status-page parser (src/base/untc.c) on the six
 * real pages in data/untc/ (run from the top of the checkout, as `make unit`
 * does), and on pages altered to break each rule.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/untc.h"

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *data = malloc((size_t)n + 1);
    assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
    data[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return data;
}

static UntcNames names;

static int setup(void **state)
{
    (void)state;
    size_t len;
    char *csv = slurp("data/untc-names.csv", &len);
    char err[256];
    int rc = untc_names_load(&names, csv, len, err, sizeof err);
    free(csv);
    return rc == R_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    untc_names_free(&names);
    return 0;
}

static Result parse_file(const char *path, UntcPage *page, char *err, size_t errlen)
{
    size_t len;
    char *html = slurp(path, &len);
    Result res = untc_parse(html, len, &names, page, err, errlen);
    free(html);
    return res;
}

static const UntcParticipant *participant(const UntcPage *p, const char *iso3)
{
    for (size_t i = 0; i < p->n_participants; i++)
        if (strcmp(p->participants[i].iso3, iso3) == 0)
            return &p->participants[i];
    return NULL;
}

/* Each page's counts, as its own header states them (data/untc/README.md);
 * untc_parse has checked the table against them. */
static void test_counts_of_every_page(void **state)
{
    (void)state;
    static const struct {
        const char *file;
        int signatories, parties;
    } pages[] = {
        {"data/untc/icescr_op.html", 46, 31}, {"data/untc/icescr.html", 72, 173},
        {"data/untc/cedaw_op.html", 80, 116}, {"data/untc/crpd_op.html", 95, 108},
        {"data/untc/crc_op_ic.html", 54, 53}, {"data/untc/iccpr_op1.html", 35, 116},
    };
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
        UntcPage p;
        char err[256] = "";
        Result res = parse_file(pages[i].file, &p, err, sizeof err);
        if (res != R_OK)
            fail_msg("%s: %s", pages[i].file, err);
        assert_int_equal(p.signatories, pages[i].signatories);
        assert_int_equal(p.parties, pages[i].parties);
        untc_page_free(&p);
    }
}

static void test_op_icescr_rows(void **state)
{
    (void)state;
    UntcPage p;
    char err[256];
    assert_int_equal(parse_file("data/untc/icescr_op.html", &p, err, sizeof err), R_OK);
    const UntcParticipant *alb = participant(&p, "ALB");
    assert_non_null(alb);
    assert_string_equal(alb->name, "Albania");
    assert_string_equal(alb->signature, "");
    assert_null(alb->signature_kind);
    assert_string_equal(alb->party, "2025-02-19");
    assert_string_equal(alb->party_kind, "accession");
    const UntcParticipant *arg = participant(&p, "ARG");
    assert_string_equal(arg->name, "Argentina"); /* the link around it dropped */
    assert_string_equal(arg->signature, "2009-09-24");
    assert_string_equal(arg->signature_kind, "signature");
    assert_string_equal(arg->party, "2011-10-24");
    assert_string_equal(arg->party_kind, "ratification");
    const UntcParticipant *aze = participant(&p, "AZE");
    assert_string_equal(aze->party, "");
    assert_null(aze->party_kind);
    assert_int_equal(p.n_opt_in, 2);
    assert_int_equal(p.opt_in[0], 10);
    assert_int_equal(p.opt_in[1], 11);
    untc_page_free(&p);
}

/* The five declarations under articles 10 and 11: four in their section,
 * Portugal's among the notifications after it. Each is under both. */
static void test_op_icescr_article_declarations(void **state)
{
    (void)state;
    UntcPage p;
    char err[256];
    assert_int_equal(parse_file("data/untc/icescr_op.html", &p, err, sizeof err), R_OK);
    static const char *const expected[] = {"BEL", "SLV", "FIN", "SMR", "PRT"};
    size_t found = 0;
    for (size_t i = 0; i < p.n_statements; i++) {
        const UntcStatement *s = &p.statements[i];
        if (!s->n_articles)
            continue;
        assert_true(found < 5);
        assert_string_equal(s->iso3, expected[found]);
        assert_int_equal(s->n_articles, 2);
        assert_int_equal(s->articles[0], 10);
        assert_int_equal(s->articles[1], 11);
        found++;
    }
    assert_int_equal(found, 5);
    /* Argentina's declaration is in the general section, under no article,
     * its footnote number dropped from its name. */
    assert_int_equal(p.statements[0].section, UNTC_DECLARATIONS);
    assert_string_equal(p.statements[0].name, "Argentina");
    assert_true(p.statements[0].declaration);
    assert_int_equal(p.statements[0].n_articles, 0);
    untc_page_free(&p);
}

/* Marks other than "a": succession ("d") on the Covenant, a denounced
 * protocol in brackets (Jamaica, first ICCPR protocol). */
static void test_marks_and_denunciations(void **state)
{
    (void)state;
    UntcPage p;
    char err[256];
    assert_int_equal(parse_file("data/untc/icescr.html", &p, err, sizeof err), R_OK);
    size_t successions = 0;
    for (size_t i = 0; i < p.n_participants; i++)
        successions +=
            p.participants[i].party_kind && strcmp(p.participants[i].party_kind, "succession") == 0;
    assert_true(successions > 0);
    assert_non_null(participant(&p, "BIH"));
    assert_string_equal(participant(&p, "BIH")->party_kind, "succession");
    untc_page_free(&p);

    assert_int_equal(parse_file("data/untc/iccpr_op1.html", &p, err, sizeof err), R_OK);
    const UntcParticipant *jam = participant(&p, "JAM");
    assert_non_null(jam);
    assert_string_equal(jam->name, "Jamaica");
    assert_true(jam->withdrawn);
    assert_string_equal(jam->signature, "1966-12-19");
    assert_string_equal(jam->party, "1975-10-03");
    untc_page_free(&p);
}

/* The page with one thing changed: from, the first occurrence, to. */
static Result parse_altered(const char *from, const char *to, char *err, size_t errlen)
{
    size_t len;
    char *html = slurp("data/untc/icescr_op.html", &len);
    char *at = strstr(html, from);
    assert_non_null(at);
    size_t fl = strlen(from), tl = strlen(to);
    char *out = malloc(len - fl + tl + 1);
    size_t head = (size_t)(at - html);
    memcpy(out, html, head);
    memcpy(out + head, to, tl);
    memcpy(out + head + tl, at + fl, len - head - fl + 1);
    UntcPage p;
    Result res = untc_parse(out, len - fl + tl, &names, &p, err, errlen);
    untc_page_free(&p);
    free(out);
    free(html);
    return res;
}

static void test_refusals(void **state)
{
    (void)state;
    char err[256];
    /* Counts that the table does not add up to. */
    assert_int_equal(parse_altered("Signatories :", "Signatories : 4", err, sizeof err),
                     R_BAD_REQUEST);
    assert_non_null(strstr(err, "46 signatories and 31 parties, the header says 4 and 31"));
    /* A name nobody mapped is reported, not guessed. */
    assert_int_equal(
        parse_altered("<td>Armenia<br>", "<td>Armenia (Republic of)<br>", err, sizeof err),
        R_BAD_REQUEST);
    assert_non_null(strstr(err, "Armenia (Republic of)"));
    /* A mark UNTC does not use. */
    assert_int_equal(parse_altered("19 Feb\t 2025 a", "19 Feb\t 2025 z", err, sizeof err),
                     R_BAD_REQUEST);
    assert_non_null(strstr(err, "Albania"));
    /* A date that is not one. */
    assert_int_equal(parse_altered("19 Feb\t 2025 a", "31 Feb\t 2025 a", err, sizeof err),
                     R_BAD_REQUEST);
    /* No table at all. */
    assert_int_equal(parse_altered("_tblgrid", "_elsewhere", err, sizeof err), R_BAD_REQUEST);
    assert_string_equal(err, "no participants table");
    UntcPage p;
    assert_int_equal(untc_parse("", 0, &names, &p, err, sizeof err), R_BAD_REQUEST);
    assert_int_equal(untc_parse("<p>hello", 8, &names, &p, err, sizeof err), R_BAD_REQUEST);
    untc_page_free(&p);
}

static void test_names_table(void **state)
{
    (void)state;
    assert_string_equal(untc_names_find(&names, "Côte d'Ivoire"), "CIV");
    assert_string_equal(untc_names_find(&names, "St. Lucia"), "LCA");
    assert_null(untc_names_find(&names, "Atlantis"));
    UntcNames t;
    char err[256];
    const char *twice = "untc_name,iso3\nChad,TCD\nChad,TCD\n";
    assert_int_equal(untc_names_load(&t, twice, strlen(twice), err, sizeof err), R_BAD_REQUEST);
    assert_non_null(strstr(err, "Chad listed twice"));
    const char *bad = "untc_name,iso3\nChad,td\n";
    assert_int_equal(untc_names_load(&t, bad, strlen(bad), err, sizeof err), R_BAD_REQUEST);
    const char *noheader = "name,code\n";
    assert_int_equal(untc_names_load(&t, noheader, strlen(noheader), err, sizeof err),
                     R_BAD_REQUEST);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts_of_every_page),
        cmocka_unit_test(test_op_icescr_rows),
        cmocka_unit_test(test_op_icescr_article_declarations),
        cmocka_unit_test(test_marks_and_denunciations),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_names_table),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
