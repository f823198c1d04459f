/*
 * test_twofactor.c: the TOTP check (src/feat/two_factor.c) against RFC 6238's
 * test vectors (appendix B, SHA-1), its window, and what it refuses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "feat/two_factor.h"

static const unsigned char RFC_SECRET[] = "12345678901234567890"; /* 20 bytes, SHA-1 */

static int check(int64_t now, const char *code, int64_t *step)
{
    return totp_check(RFC_SECRET, 20, now, code, step);
}

static void test_rfc6238_vectors(void **state)
{
    (void)state;
    static const struct {
        int64_t time;
        const char *code;
    } vectors[] = {
        {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
        {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        int64_t step = -1;
        assert_true(check(vectors[i].time, vectors[i].code, &step));
        assert_int_equal(step, vectors[i].time / TOTP_STEP);
    }
}

static void test_six_digits_are_the_last_six(void **state)
{
    (void)state;
    int64_t step = -1;
    assert_true(check(59, "287082", &step));
    assert_int_equal(step, 1);
    assert_false(check(59, "287083", &step));
    assert_false(check(59, "942870", &step));
}

static void test_window_of_one_step(void **state)
{
    (void)state;
    int64_t step = -1;
    /* The code of step 1 (T=30..59) is accepted during steps 0, 1 and 2,
     * and reports step 1 each time. */
    assert_true(check(0, "94287082", &step));
    assert_int_equal(step, 1);
    assert_true(check(89, "94287082", &step));
    assert_int_equal(step, 1);
    assert_false(check(90, "94287082", &step));
    assert_false(check(1111111109 + 3600, "07081804", &step));
}

static void test_refuses_what_is_not_a_code(void **state)
{
    (void)state;
    int64_t step = 42;
    const char *bad[] = {"", "12345", "123456789", "94287O82", "9428708 ", "-4287082", "abcdef"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_false(check(59, bad[i], &step));
    assert_int_equal(step, 42); /* untouched on refusal */
    /* Another secret's code is refused. */
    static const unsigned char other[] = "12345678901234567891";
    assert_false(totp_check(other, 20, 59, "94287082", &step));
}

static void test_required_roles(void **state)
{
    (void)state;
    User member = {.role = ROLE_MEMBER}, coordinator = {.role = ROLE_COORDINATOR},
         admin = {.role = ROLE_ADMIN};
    assert_false(two_factor_required(&member));
    assert_true(two_factor_required(&coordinator));
    assert_true(two_factor_required(&admin));
    assert_false(two_factor_required(NULL));
}

static int setup(void **state)
{
    (void)state;
    return two_factor_init() == R_OK ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_six_digits_are_the_last_six),
        cmocka_unit_test(test_window_of_one_step),
        cmocka_unit_test(test_refuses_what_is_not_a_code),
        cmocka_unit_test(test_required_roles),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
