/*
 * test_tz.c: the TZif reader (src/base/tz.c) against offsets known from
 * the tz database: zones without DST, DST transitions in both
 * hemispheres, times past the files' last transition (the footer rule),
 * gaps and repeats, and names that try to leave the directory.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "base/tz.h"

static int offset_at(const char *zone, int64_t t)
{
    int off = -99999;
    assert_int_equal(tz_offset(zone, t, &off, NULL), R_OK);
    return off;
}

static void test_fixed_zones(void **state)
{
    (void)state;
    assert_int_equal(offset_at("UTC", 1767225600), 0);
    assert_int_equal(offset_at("Africa/Luanda", 1767225600), 3600); /* WAT, 2026 */
    assert_int_equal(offset_at("Africa/Luanda", 4102444800), 3600); /* 2100: the rule */
    assert_int_equal(offset_at("Asia/Kolkata", 1767225600), 19800); /* +05:30 */
    char abbr[16];
    int off;
    assert_int_equal(tz_offset("Africa/Luanda", 1767225600, &off, abbr), R_OK);
    assert_string_equal(abbr, "WAT");
}

static void test_dst_north(void **state)
{
    (void)state;
    /* Paris, 2026: CEST from 2026-03-29 01:00 UTC to 2026-10-25 01:00 UTC. */
    assert_int_equal(offset_at("Europe/Paris", 1774745999), 3600);
    assert_int_equal(offset_at("Europe/Paris", 1774746000), 7200);
    assert_int_equal(offset_at("Europe/Paris", 1792889999), 7200);
    assert_int_equal(offset_at("Europe/Paris", 1792890000), 3600);
    /* 2090, well past any transition stored in a slim file: the footer. */
    int64_t july_2090 = 3803500800; /* 2090-07-12 00:00 UTC */
    assert_int_equal(offset_at("Europe/Paris", july_2090), 7200);
    assert_int_equal(offset_at("Europe/Paris", july_2090 + 180 * 86400), 3600);
    /* New York 2026: EDT from 2026-03-08 07:00 UTC. */
    assert_int_equal(offset_at("America/New_York", 1772953199), -18000);
    assert_int_equal(offset_at("America/New_York", 1772953200), -14400);
}

static void test_dst_south(void **state)
{
    (void)state;
    /* Santiago: summer (-03) in January, winter (-04) in July. */
    assert_int_equal(offset_at("America/Santiago", 1767225600), -10800);
    assert_int_equal(offset_at("America/Santiago", 1783036800), -14400);
    /* Sydney: +11 in January, +10 in July, in 2095 too (the rule). */
    assert_int_equal(offset_at("Australia/Sydney", 1767225600), 39600);
    assert_int_equal(offset_at("Australia/Sydney", 1783036800), 36000);
    assert_int_equal(offset_at("Australia/Sydney", 3944678400), 39600); /* 2095-01-01 */
}

static void test_local_to_utc(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(tz_local_to_utc("Africa/Luanda", 2026, 6, 15, 9, 30, &t), R_OK);
    assert_int_equal(t, 1781512200); /* 2026-06-15 08:30 UTC */
    assert_int_equal(tz_local_to_utc("Europe/Paris", 2026, 7, 1, 12, 0, &t), R_OK);
    assert_int_equal(t, 1782900000); /* 10:00 UTC */
    /* 02:30 on 2026-03-29 does not exist in Paris: read as 03:30 CEST. */
    assert_int_equal(tz_local_to_utc("Europe/Paris", 2026, 3, 29, 2, 30, &t), R_OK);
    assert_int_equal(t, 1774747800); /* 01:30 UTC */
    /* 02:30 on 2026-10-25 happens twice: the first, CEST. */
    assert_int_equal(tz_local_to_utc("Europe/Paris", 2026, 10, 25, 2, 30, &t), R_OK);
    assert_int_equal(t, 1792888200); /* 00:30 UTC */
    assert_int_equal(tz_local_to_utc("Europe/Paris", 2026, 2, 30, 9, 0, &t), R_BAD_REQUEST);
    assert_int_equal(tz_local_to_utc("Europe/Paris", 2026, 2, 1, 24, 0, &t), R_BAD_REQUEST);
    assert_int_equal(tz_local_to_utc("Mars/Olympus", 2026, 2, 1, 9, 0, &t), R_NOT_FOUND);
}

static void test_format(void **state)
{
    (void)state;
    char out[64];
    tz_format("America/New_York", 1782900000, "%Y-%m-%d %H:%M %Z", out, sizeof out);
    assert_string_equal(out, "2026-07-01 06:00 EDT");
    tz_format("Nowhere/Else", 1782900000, "%Y", out, sizeof out);
    assert_string_equal(out, "");
}

static void test_names(void **state)
{
    (void)state;
    assert_true(tz_valid("Europe/Paris"));
    assert_true(tz_valid("America/Argentina/Buenos_Aires"));
    assert_true(tz_valid("Etc/GMT+3"));
    const char *bad[] = {"",
                         "../../etc/passwd",
                         "/etc/passwd",
                         "Europe/../../../etc/passwd",
                         "Europe//Paris",
                         "Europe/",
                         ".hidden",
                         "Europe/Paris\n",
                         "Europe/Paris ",
                         "Europe", /* a directory */
                         "Nowhere/Else",
                         "zone1970.tab", /* a file, not TZif */
                         "a/b/c/d/e/f/g/h/i/j/k/l/m/n/o/p/q/r/s/t/u/v/w/x/y/z/aa/bb/cc/dd/ee/ff",
                         NULL};
    for (int i = 0; bad[i]; i++)
        assert_false(tz_valid(bad[i]));
    int off;
    assert_int_equal(tz_offset(NULL, 0, &off, NULL), R_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_zones), cmocka_unit_test(test_dst_north),
        cmocka_unit_test(test_dst_south),   cmocka_unit_test(test_local_to_utc),
        cmocka_unit_test(test_format),      cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
