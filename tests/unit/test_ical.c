/*
 * test_ical.c: iCalendar content lines (src/base/ical.c): escaping of
 * TEXT, folding at 75 octets without splitting a UTF-8 character, CRLF,
 * and UTC times.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "base/ical.h"

static void test_escaping(void **state)
{
    (void)state;
    Buf b = {0};
    ical_text(&b, "SUMMARY", "a,b;c\\d\ne\r\nf\x01g");
    assert_string_equal(b.data, "SUMMARY:a\\,b\\;c\\\\d\\ne\\nfg\r\n");
    buf_free(&b);
    Buf c = {0};
    ical_line(&c, "URL", "https://x.example/a\r\nEVIL:1");
    assert_string_equal(c.data, "URL:https://x.example/aEVIL:1\r\n");
    buf_free(&c);
}

/* Every physical line at most 75 octets, continuations start with a
 * space, and unfolding gives back the logical line. */
static void check_folded(const char *text, const char *logical)
{
    Buf unfolded = {0};
    const char *p = text;
    int first = 1;
    while (*p) {
        const char *crlf = strstr(p, "\r\n");
        assert_non_null(crlf);
        size_t n = (size_t)(crlf - p);
        assert_true(n <= 75);
        assert_null(memchr(p, '\n', n));
        if (!first) {
            assert_int_equal(p[0], ' ');
            buf_append(&unfolded, p + 1, n - 1);
        } else {
            buf_append(&unfolded, p, n);
        }
        /* A line never ends inside a UTF-8 sequence. */
        if (n > 0) {
            size_t k = n;
            while (k > 0 && ((unsigned char)p[k - 1] & 0xc0) == 0x80)
                k--;
            if (k > 0 && (unsigned char)p[k - 1] >= 0xc0) {
                unsigned char lead = (unsigned char)p[k - 1];
                size_t want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
                assert_int_equal(n - (k - 1), want);
            }
        }
        first = 0;
        p = crlf + 2;
    }
    assert_string_equal(unfolded.data, logical);
    buf_free(&unfolded);
}

static void test_folding(void **state)
{
    (void)state;
    char ascii[301];
    memset(ascii, 'x', 300);
    ascii[300] = 0;
    Buf b = {0};
    ical_text(&b, "DESCRIPTION", ascii);
    Buf want = {0};
    buf_printf(&want, "DESCRIPTION:%s", ascii);
    check_folded(b.data, want.data);
    buf_free(&b);
    buf_free(&want);
    /* Arabic (2 bytes) and CJK (3 bytes) across the fold. */
    Buf text = {0};
    for (int i = 0; i < 60; i++)
        buf_puts(&text, i % 2 ? "ندوة" : "研討會");
    Buf c = {0};
    ical_text(&c, "SUMMARY", text.data);
    Buf want2 = {0};
    buf_printf(&want2, "SUMMARY:%s", text.data);
    check_folded(c.data, want2.data);
    buf_free(&c);
    buf_free(&want2);
    buf_free(&text);
    /* Exactly 75 octets: one line. */
    Buf d = {0};
    char v[76];
    memset(v, 'y', 75 - 4);
    v[71] = 0;
    ical_line(&d, "UID", v);
    assert_int_equal(d.len, 77);
    buf_free(&d);
}

static void test_utc(void **state)
{
    (void)state;
    Buf b = {0};
    ical_utc(&b, "DTSTART", 1781512200);
    assert_string_equal(b.data, "DTSTART:20260615T083000Z\r\n");
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_folding),
        cmocka_unit_test(test_utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
