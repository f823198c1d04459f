/*
 * test_csv.c: the CSV reader (src/csv.c) on ordinary, quoted, hostile and
 * truncated input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "base/csv.h"

static void test_plain_and_quoted(void **state)
{
    (void)state;
    const char *text = "\xEF\xBB\xBFiso3,state,note\r\n"
                       "ARG,Argentina,\r\n"
                       "CIV,\"Côte d'Ivoire\",\"said \"\"yes\"\", then\nno\"\n"
                       "\n"
                       "AGO,Angola,last";
    CsvReader r;
    csv_open(&r, text, strlen(text));
    assert_int_equal(csv_next(&r), 1);
    assert_int_equal(r.count, 3);
    assert_string_equal(r.fields[0], "iso3"); /* BOM skipped */
    assert_int_equal(csv_column(&r, "STATE"), 1);
    assert_int_equal(csv_column(&r, "missing"), -1);
    assert_int_equal(csv_next(&r), 1);
    assert_string_equal(r.fields[1], "Argentina");
    assert_string_equal(r.fields[2], "");
    assert_int_equal(r.line, 2);
    assert_int_equal(csv_next(&r), 1);
    assert_string_equal(r.fields[1], "Côte d'Ivoire");
    assert_string_equal(r.fields[2], "said \"yes\", then\nno");
    assert_int_equal(r.line, 3);
    assert_int_equal(csv_next(&r), 1);
    assert_string_equal(r.fields[2], "last");
    assert_int_equal(r.line, 6);
    assert_int_equal(csv_next(&r), 0);
    csv_free(&r);
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = {"a,\"unterminated\n", "a,b\"c\n", "a,\"x\"y\n"};
    for (size_t i = 0; i < 3; i++) {
        CsvReader r;
        csv_open(&r, bad[i], strlen(bad[i]));
        assert_int_equal(csv_next(&r), -1);
        assert_non_null(r.error);
        csv_free(&r);
    }
    /* Too many fields. */
    char *wide = malloc(CSV_MAX_FIELDS * 2 + 10);
    size_t n = 0;
    for (int i = 0; i <= CSV_MAX_FIELDS; i++) {
        wide[n++] = 'x';
        wide[n++] = ',';
    }
    CsvReader r;
    csv_open(&r, wide, n);
    assert_int_equal(csv_next(&r), -1);
    csv_free(&r);
    free(wide);
}

static void test_every_prefix(void **state)
{
    (void)state;
    const char *text = "a,\"b,\"\"c\"\"\",d\r\ne,f,g\n";
    size_t len = strlen(text);
    for (size_t cut = 0; cut <= len; cut++) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, text, cut);
        CsvReader r;
        csv_open(&r, copy, cut);
        int rc;
        while ((rc = csv_next(&r)) == 1)
            assert_true(r.count >= 1 && r.count <= 3);
        assert_true(rc == 0 || rc == -1);
        csv_free(&r);
        free(copy);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plain_and_quoted),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_every_prefix),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
