/*
 * test_form.c: unit tests for src/form.c, the urlencoded and multipart
 * parsers. Each test gets a fresh Arena and empty Params from the fixture
 * and asserts what a form handler would see; hostile and truncated inputs
 * must fail with R_BAD_REQUEST and leave the Params as they were.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/form.h"
#include "base/util.h"

/* The fixture: every test parses into one Arena, freed in teardown. */
typedef struct {
    Arena *arena;
    Params params;
} Fixture;

static int setup(void **state)
{
    Fixture *f = xcalloc(1, sizeof *f);
    f->arena = arena_new();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    Fixture *f = *state;
    arena_free(f->arena);
    free(f);
    return 0;
}

/* Parses a query string from a malloc'd copy without its NUL, so that
 * AddressSanitizer catches a read past the end (say, of a trailing "%4"). */
static Result parse_url(Fixture *f, const char *s)
{
    size_t len = strlen(s);
    char *copy = xmalloc(len);
    memcpy(copy, s, len);
    Result r = form_parse_urlencoded(f->arena, copy, len, &f->params);
    free(copy);
    return r;
}

/* Parses a multipart body of known length from a malloc'd copy of exactly
 * that size, so that AddressSanitizer catches any read past the end. */
static Result parse_multipart(Fixture *f, const char *content_type, const char *body, size_t len)
{
    char *copy = xmalloc(len);
    memcpy(copy, body, len);
    Result r = form_parse_multipart(f->arena, content_type, copy, len, &f->params);
    free(copy);
    return r;
}

static void assert_value(const Params *p, const char *name, const char *expected)
{
    const Param *param = form_get(p, name);
    assert_non_null(param);
    assert_string_equal(param->value, expected);
    assert_int_equal(param->len, strlen(expected));
}

/* ---- urlencoded ---- */

static void test_url_ordinary(void **state)
{
    Fixture *f = *state;
    assert_int_equal(parse_url(f, "country=fr&status=signed&note="), R_OK);
    assert_int_equal(f->params.count, 3);
    assert_value(&f->params, "country", "fr");
    assert_value(&f->params, "status", "signed");
    assert_value(&f->params, "note", "");
    assert_null(f->params.items[0].filename);
    assert_null(f->params.items[0].content_type);
    assert_null(form_get(&f->params, "count"));
    assert_null(form_get(&f->params, "countr"));
}

static void test_url_utf8(void **state)
{
    Fixture *f = *state;
    /* "سلام" in Arabic and "¡Hola, Málaga!" in Spanish, hex in both cases. */
    assert_int_equal(parse_url(f, "greeting=%D8%B3%D9%84%D8%A7%D9%85"
                                  "&es=%c2%a1Hola%2C+M%C3%a1laga%21"),
                     R_OK);
    assert_value(&f->params, "greeting", "\xd8\xb3\xd9\x84\xd8\xa7\xd9\x85");
    assert_value(&f->params, "es", "\xc2\xa1Hola, M\xc3\xa1laga!");
}

static void test_url_plus_is_space(void **state)
{
    Fixture *f = *state;
    assert_int_equal(parse_url(f, "full+name=Ana+Mar%C3%ADa&sum=1%2B1"), R_OK);
    assert_value(&f->params, "full name",
                 "Ana Mar\xc3\xad"
                 "a");
    assert_value(&f->params, "sum", "1+1");
}

static void test_url_bad_escapes(void **state)
{
    Fixture *f = *state;
    const char *bad[] = {"%", "%4", "%zz", "a=%", "a=%4", "a=%g0", "a=1&b=%0", "%%41=x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse_url(f, bad[i]), R_BAD_REQUEST);
    /* A failed parse adds nothing, not even the good pairs before the bad one. */
    assert_int_equal(f->params.count, 0);
}

static void test_url_duplicates(void **state)
{
    Fixture *f = *state;
    assert_int_equal(parse_url(f, "tag=first&tag=second"), R_OK);
    assert_int_equal(f->params.count, 2);
    assert_value(&f->params, "tag", "first");
    assert_string_equal(f->params.items[1].value, "second");
}

static void test_url_empty_pieces(void **state)
{
    Fixture *f = *state;
    assert_int_equal(parse_url(f, ""), R_OK);
    assert_int_equal(form_parse_urlencoded(f->arena, NULL, 0, &f->params), R_OK);
    assert_int_equal(parse_url(f, "&&&"), R_OK);
    assert_int_equal(f->params.count, 0);
    assert_int_equal(parse_url(f, "a=1&&b=2&"), R_OK);
    assert_int_equal(f->params.count, 2);
    /* A piece without '=' is a name with an empty value. */
    assert_int_equal(parse_url(f, "subscribe&c==x"), R_OK);
    assert_value(&f->params, "subscribe", "");
    assert_value(&f->params, "c", "=x");
}

static void test_url_nul(void **state)
{
    Fixture *f = *state;
    assert_int_equal(parse_url(f, "v=a%00b"), R_OK);
    const Param *v = form_get(&f->params, "v");
    assert_non_null(v);
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->value, "a\0b", 4);
    /* A name is a C string, so a NUL in it cannot be allowed. */
    assert_int_equal(parse_url(f, "a%00b=1"), R_BAD_REQUEST);
}

/* Builds "p0=0&p1=1&..." with n pairs in a malloc'd string. */
static char *many_pairs(size_t n)
{
    Buf b = {0};
    for (size_t i = 0; i < n; i++)
        buf_printf(&b, "%sp%zu=%zu", i ? "&" : "", i, i);
    return b.data;
}

static void test_url_limit(void **state)
{
    Fixture *f = *state;
    char *ok = many_pairs(FORM_MAX_PARAMS);
    char *too_many = many_pairs(FORM_MAX_PARAMS + 1);
    assert_int_equal(parse_url(f, too_many), R_BAD_REQUEST);
    assert_int_equal(f->params.count, 0);
    assert_int_equal(parse_url(f, ok), R_OK);
    assert_int_equal(f->params.count, FORM_MAX_PARAMS);
    /* Every pair survives the array's growth and copies intact, in order. */
    int wrong = 0;
    for (size_t i = 0; i < f->params.count; i++) {
        char name[32], value[32];
        snprintf(name, sizeof name, "p%zu", i);
        snprintf(value, sizeof value, "%zu", i);
        const Param *param = &f->params.items[i];
        if (strcmp(param->name, name) != 0 || strcmp(param->value, value) != 0 ||
            form_get(&f->params, name) != param)
            wrong++;
    }
    assert_int_equal(wrong, 0);
    /* The limit counts what is already in out, as for a query and a body. */
    assert_int_equal(parse_url(f, "one=more"), R_BAD_REQUEST);
    assert_int_equal(f->params.count, FORM_MAX_PARAMS);
    free(ok);
    free(too_many);
}

static void test_url_appends(void **state)
{
    Fixture *f = *state;
    assert_int_equal(parse_url(f, "a=1"), R_OK);
    assert_int_equal(parse_url(f, "b=2&c=3"), R_OK);
    assert_int_equal(f->params.count, 3);
    assert_value(&f->params, "a", "1");
    assert_value(&f->params, "c", "3");
}

/* ---- multipart ---- */

#define CT "multipart/form-data; boundary=XyZzy"

/* Two text fields and a file whose content holds CR, LF, NUL and the start
 * of the delimiter, none of which may end the part early. */
static const char upload_body[] = "--XyZzy\r\n"
                                  "Content-Disposition: form-data; name=\"country\"\r\n"
                                  "\r\n"
                                  "Espa\xc3\xb1"
                                  "a\r\n"
                                  "--XyZzy\r\n"
                                  "content-disposition: form-data; name=comment\r\n"
                                  "\r\n"
                                  "line one\r\nline two\r\n"
                                  "--XyZzy\r\n"
                                  "Content-Disposition: form-data; name=\"letter\"; "
                                  "filename=\"signed letter.pdf\"\r\n"
                                  "Content-Type: application/pdf\r\n"
                                  "\r\n"
                                  "%PDF\x00\x01\r\n--XyZ\r\n--XyZzz\n--XyZzy-\r\r\n-\xff"
                                  "\r\n"
                                  "--XyZzy--\r\n";

static const char upload_file[] = "%PDF\x00\x01\r\n--XyZ\r\n--XyZzz\n--XyZzy-\r\r\n-\xff";

static void test_multipart_upload(void **state)
{
    Fixture *f = *state;
    assert_int_equal(parse_multipart(f, CT, upload_body, sizeof upload_body - 1), R_OK);
    assert_int_equal(f->params.count, 3);
    assert_value(&f->params, "country",
                 "Espa\xc3\xb1"
                 "a");
    assert_value(&f->params, "comment", "line one\r\nline two");
    assert_null(form_get(&f->params, "country")->filename);
    assert_null(form_get(&f->params, "country")->content_type);
    const Param *letter = form_get(&f->params, "letter");
    assert_non_null(letter);
    assert_string_equal(letter->filename, "signed letter.pdf");
    assert_string_equal(letter->content_type, "application/pdf");
    assert_int_equal(letter->len, sizeof upload_file - 1);
    assert_memory_equal(letter->value, upload_file, sizeof upload_file);
}

static void test_multipart_boundary_forms(void **state)
{
    Fixture *f = *state;
    /* A quoted boundary with a space, a case-insensitive media type, other
     * parameters, a preamble and an epilogue. */
    static const char body[] = "This is a preamble.\r\n"
                               "--a b:c\r\n"
                               "CONTENT-DISPOSITION: FORM-DATA; NAME=\"q\\\"uote\"\r\n"
                               "X-Ignored: yes\r\n"
                               "\r\n"
                               "v\r\n"
                               "--a b:c--  \r\n"
                               "epilogue";
    assert_int_equal(parse_multipart(f, "Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c\"",
                                     body, sizeof body - 1),
                     R_OK);
    assert_value(&f->params, "q\"uote", "v");
    /* An empty part content and a body with no parts at all. */
    static const char empty[] = "--b\r\nContent-Disposition: form-data; name=e\r\n\r\n\r\n--b--";
    assert_int_equal(parse_multipart(f, "multipart/form-data;boundary=b", empty, sizeof empty - 1),
                     R_OK);
    assert_value(&f->params, "e", "");
    assert_int_equal(parse_multipart(f, "multipart/form-data; boundary=b", "--b--\r\n", 7), R_OK);
    assert_int_equal(f->params.count, 2);
}

static void test_multipart_bad_content_type(void **state)
{
    Fixture *f = *state;
    static const char body[] = "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--";
    char long_ct[128];
    const char *bad[] = {
        NULL,
        "application/x-www-form-urlencoded; boundary=b",
        "multipart/mixed; boundary=b",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"",
        "multipart/form-data; boundary=\"b",
        "multipart/form-data; boundary=c; boundary=b",
        "multipart/form-data; boundary=\"b \"",
        long_ct,
    };
    /* 71 characters: one more than RFC 2046 allows. */
    snprintf(long_ct, sizeof long_ct, "multipart/form-data; boundary=%071d", 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(parse_multipart(f, bad[i], body, sizeof body - 1), R_BAD_REQUEST);

    /* Exactly 70 characters is fine. */
    char ct[128], body70[256];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%070d", 0);
    int n =
        snprintf(body70, sizeof body70,
                 "--%070d\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--%070d--", 0, 0);
    assert_int_equal(parse_multipart(f, ct, body70, (size_t)n), R_OK);
    assert_value(&f->params, "x", "1");
}

static void test_multipart_malformed(void **state)
{
    Fixture *f = *state;
    const char *bad[] = {
        /* missing final delimiter */
        "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1",
        "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b",
        "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b\r\n",
        /* no name, empty name, no Content-Disposition, wrong disposition */
        "--b\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"\"\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Type: text/plain\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: attachment; name=x\r\n\r\n1\r\n--b--",
        /* headers without the blank line, a header without ':', bare LF */
        "--b\r\nContent-Disposition: form-data; name=x\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=x\r\nnonsense\r\n\r\n1\r\n--b--",
        "--b\nContent-Disposition: form-data; name=x\n\n1\n--b--",
        /* repeated name, unterminated quote, NUL in a header */
        "--b\r\nContent-Disposition: form-data; name=x; name=y\r\n\r\n1\r\n--b--",
        "--b\r\nContent-Disposition: form-data; name=\"x\r\n\r\n1\r\n--b--",
        /* no delimiter at all, and junk right after one */
        "just some text",
        "--bb\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n--b--",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(
            parse_multipart(f, "multipart/form-data; boundary=b", bad[i], strlen(bad[i])),
            R_BAD_REQUEST);
    static const char nul_name[] = "--b\r\nContent-Disposition: form-data; name=\"a\0b\"\r\n\r\n"
                                   "1\r\n--b--";
    assert_int_equal(
        parse_multipart(f, "multipart/form-data; boundary=b", nul_name, sizeof nul_name - 1),
        R_BAD_REQUEST);
    assert_int_equal(parse_multipart(f, "multipart/form-data; boundary=b", "", 0), R_BAD_REQUEST);
    assert_int_equal(f->params.count, 0);
}

/* Builds a one-part body whose header block (from the part's first header
 * through the blank line) is exactly block bytes long. */
static void header_block_body(Buf *b, size_t block)
{
    static const char disposition[] = "Content-Disposition: form-data; name=x\r\n";
    static const char padding[] = "X-Padding: ";
    size_t fixed = (sizeof padding - 1) + 2 + (sizeof disposition - 1) + 2;
    buf_puts(b, "--b\r\n");
    buf_puts(b, padding);
    for (size_t i = fixed; i < block; i++)
        buf_putc(b, 'a');
    buf_puts(b, "\r\n");
    buf_puts(b, disposition);
    buf_puts(b, "\r\n1\r\n--b--");
}

static void test_multipart_header_limit(void **state)
{
    Fixture *f = *state;
    Buf b = {0};
    header_block_body(&b, 8 * 1024);
    assert_int_equal(parse_multipart(f, "multipart/form-data; boundary=b", b.data, b.len), R_OK);
    assert_value(&f->params, "x", "1");
    buf_free(&b);
    header_block_body(&b, 8 * 1024 + 1);
    assert_int_equal(parse_multipart(f, "multipart/form-data; boundary=b", b.data, b.len),
                     R_BAD_REQUEST);
    assert_int_equal(f->params.count, 1);
    buf_free(&b);
}

static void test_multipart_part_limit(void **state)
{
    Fixture *f = *state;
    Buf b = {0};
    for (int i = 0; i < FORM_MAX_PARAMS; i++)
        buf_printf(&b, "--b\r\nContent-Disposition: form-data; name=p%d\r\n\r\n%d\r\n", i, i);
    size_t at_limit = b.len;
    buf_puts(&b, "--b\r\nContent-Disposition: form-data; name=extra\r\n\r\nx\r\n--b--");
    assert_int_equal(parse_multipart(f, "multipart/form-data; boundary=b", b.data, b.len),
                     R_BAD_REQUEST);
    assert_int_equal(f->params.count, 0);
    b.len = at_limit;
    buf_puts(&b, "--b--");
    assert_int_equal(parse_multipart(f, "multipart/form-data; boundary=b", b.data, b.len), R_OK);
    assert_int_equal(f->params.count, FORM_MAX_PARAMS);
    assert_value(&f->params, "p999", "999");
    buf_free(&b);
}

/* Every prefix of a valid body must be refused or parsed cleanly; under
 * AddressSanitizer this also proves no read goes past the given length.
 * Only a prefix that still holds the whole final delimiter may succeed. */
static void test_multipart_truncated(void **state)
{
    (void)state; /* each prefix gets its own Arena, freed straight away */
    size_t full = sizeof upload_body - 1;
    size_t final_end = full - 2; /* just past "--XyZzy--" */
    int failures = 0;
    for (size_t n = 0; n <= full; n++) {
        Arena *arena = arena_new();
        Params p = {0};
        char *copy = xmalloc(n ? n : 1);
        memcpy(copy, upload_body, n);
        Result r = form_parse_multipart(arena, CT, copy, n, &p);
        if (n < final_end) {
            if (r != R_BAD_REQUEST || p.count != 0)
                failures++;
        } else if (r != R_OK || p.count != 3) {
            failures++;
        }
        free(copy);
        arena_free(arena);
    }
    assert_int_equal(failures, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_url_ordinary, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_plus_is_space, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_bad_escapes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_empty_pieces, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_nul, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_url_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_upload, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_boundary_forms, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_bad_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_header_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_part_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_multipart_truncated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
