/*
 * test_untc_check.c: what `ratify untc check` compares (issue 11 item 3):
 * the actions a UNTC page records (treaty_page_actions, the mapping the
 * seed uses) and their difference from a record (untc_check_diff): a new
 * action, a changed date, a new declaration, a vanished row, nothing for
 * an unchanged page. Run from the top of the checkout.
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
#include "feat/treaty.h"
#include "feat/untc_check.h"

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
static UntcPage page;
static PageActions acts;

static int setup(void **state)
{
    (void)state;
    size_t len;
    char *csv = slurp("data/untc-names.csv", &len);
    char err[256];
    int rc = untc_names_load(&names, csv, len, err, sizeof err);
    free(csv);
    if (rc != R_OK)
        return -1;
    char *html = slurp("data/untc/icescr_op.html", &len);
    rc = untc_parse(html, len, &names, &page, err, sizeof err);
    free(html);
    if (rc != R_OK)
        return -1;
    return treaty_page_actions(&page, &acts, err, sizeof err) == R_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(acts.items);
    untc_page_free(&page);
    untc_names_free(&names);
    return 0;
}

static const PageAction *find(const PageActions *list, const char *iso3, const char *kind,
                              const char *article)
{
    for (size_t i = 0; i < list->count; i++)
        if (!strcmp(list->items[i].iso3, iso3) && !strcmp(list->items[i].kind, kind) &&
            !strcmp(list->items[i].article, article))
            return &list->items[i];
    return NULL;
}

/* A copy of the page's actions that the test may change. */
static PageActions copy_of(const PageActions *from)
{
    PageActions c = {.count = from->count, .cap = from->count};
    c.items = malloc(from->count * sizeof *c.items);
    memcpy(c.items, from->items, from->count * sizeof *c.items);
    return c;
}

/* 46 signatures less those UNTC marks as successions, 31 parties, and the
 * five declarations under articles 10 and 11 (each one per article). */
static void test_page_actions(void **state)
{
    (void)state;
    const PageAction *a = find(&acts, "ARG", "ratification", "");
    assert_non_null(a);
    assert_string_equal(a->date, "2011-10-24");
    assert_non_null(strstr(a->text, "Argentina"));
    assert_non_null(find(&acts, "CHL", "signature", ""));
    assert_null(find(&acts, "CHL", "ratification", ""));
    static const char *const declared[] = {"BEL", "SLV", "FIN", "PRT", "SMR"};
    for (size_t i = 0; i < 5; i++) {
        assert_non_null(find(&acts, declared[i], "declaration", "10"));
        assert_non_null(find(&acts, declared[i], "declaration", "11"));
    }
    /* The participant's row as UNTC writes it, for the reviewer. */
    const PageAction *chile = find(&acts, "CHL", "signature", "");
    assert_string_equal(chile->text, "Chile | 24 Sep 2009 | ");
}

static void test_unchanged_page_has_no_difference(void **state)
{
    (void)state;
    PageActions recorded = copy_of(&acts);
    UntcChanges out;
    untc_check_diff(&acts, &recorded, &out);
    assert_int_equal(out.count, 0);
    free(out.items);
    free(recorded.items);
}

/* The record lacks an action the page has (new), has another date for one
 * (changed), lacks a declaration (new, with the statement's text), and has
 * one the page does not (vanished). */
static void test_each_kind_of_difference(void **state)
{
    (void)state;
    PageActions recorded = copy_of(&acts);
    size_t n = recorded.count;
    for (size_t i = 0; i < n; i++) {
        PageAction *r = &recorded.items[i];
        if (!strcmp(r->iso3, "ARG") && !strcmp(r->kind, "ratification"))
            snprintf(r->date, sizeof r->date, "2011-10-23");
        if ((!strcmp(r->iso3, "CHL") && !strcmp(r->kind, "signature")) ||
            (!strcmp(r->iso3, "FIN") && !strcmp(r->article, "11"))) {
            recorded.items[i] = recorded.items[--n];
            i--;
        }
    }
    recorded.count = n;
    /* An action Ratify has that the page does not (the United States has
     * not signed the Protocol). */
    assert_null(find(&acts, "USA", "signature", ""));
    PageAction extra = {.iso3 = "USA", .kind = "signature", .date = "2020-01-01", .text = ""};
    recorded.items[recorded.count++] = extra;
    UntcChanges out;
    untc_check_diff(&acts, &recorded, &out);
    assert_int_equal(out.count, 4);
    int seen = 0;
    for (size_t i = 0; i < out.count; i++) {
        const UntcChange *c = &out.items[i];
        if (!strcmp(c->iso3, "ARG")) {
            assert_string_equal(c->change, "changed");
            assert_string_equal(c->old_date, "2011-10-23");
            assert_string_equal(c->new_date, "2011-10-24");
            seen |= 1;
        } else if (!strcmp(c->iso3, "CHL")) {
            assert_string_equal(c->change, "new");
            assert_string_equal(c->kind, "signature");
            assert_string_equal(c->old_date, "");
            assert_string_equal(c->new_date, "2009-09-24");
            seen |= 2;
        } else if (!strcmp(c->iso3, "FIN")) {
            assert_string_equal(c->change, "new");
            assert_string_equal(c->kind, "declaration");
            assert_string_equal(c->article, "11");
            assert_true(strlen(c->text) > 0);
            seen |= 4;
        } else if (!strcmp(c->iso3, "USA")) {
            assert_string_equal(c->change, "vanished");
            assert_string_equal(c->old_date, "2020-01-01");
            assert_string_equal(c->new_date, "");
            seen |= 8;
        }
    }
    assert_int_equal(seen, 15);
    free(out.items);
    free(recorded.items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_page_actions),
        cmocka_unit_test(test_unchanged_page_has_no_difference),
        cmocka_unit_test(test_each_kind_of_difference),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
