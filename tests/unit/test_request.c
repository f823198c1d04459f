/*
 * test_request.c: typed parameter getters and validators (src/request.c):
 * what a handler gets back for good, missing, hostile and out-of-range
 * input, and the per-field messages recorded for the form.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "svc/http.h"
#include "base/i18n.h"

static const char *no_header(Request *r, const char *name)
{
    (void)r;
    (void)name;
    return NULL;
}

/* A POST request whose body is the urlencoded string body. */
static Request *post(const char *body)
{
    static Request r;
    memset(&r, 0, sizeof r);
    r.arena = arena_new();
    r.method = "POST";
    r.path = "/test";
    r.lang = "en";
    r.header = no_header;
    assert_int_equal(form_parse_urlencoded(r.arena, body, strlen(body), &r.form), R_OK);
    return &r;
}

static void done(Request *r)
{
    json_decref(r->errors);
    arena_free(r->arena);
}

static const char *error_for(Request *r, const char *field)
{
    return json_string_value(json_object_get(r->errors, field));
}

static void test_text(void **state)
{
    (void)state;
    Request *r = post("name=++Ana+Mar%C3%ADa++&empty=&tab=a%09b&long=abcdef&nul=a%00b");
    const char *v;
    assert_int_equal(param_text(r, "name", 1, 100, 0, &v), R_OK);
    assert_string_equal(v, "Ana María");
    assert_int_equal(param_text(r, "empty", 1, 100, 0, &v), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "empty"), "This field is required.");
    assert_int_equal(param_text(r, "missing", 1, 100, 0, &v), R_BAD_REQUEST);
    assert_int_equal(param_text(r, "tab", 1, 100, 0, &v), R_BAD_REQUEST);
    assert_int_equal(param_text(r, "tab", 1, 100, 1, &v), R_OK);
    assert_int_equal(param_text(r, "long", 1, 5, 0, &v), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "long"), "This is too long.");
    /* Length counts characters, not bytes: "Ana María" is 9. */
    assert_int_equal(param_text(r, "name", 1, 9, 0, &v), R_OK);
    assert_int_equal(param_text(r, "nul", 1, 100, 0, &v), R_BAD_REQUEST);
    assert_int_equal(param_optional_text(r, "missing", 10, 0, &v), R_OK);
    assert_null(v);
    done(r);
}

static void test_invalid_utf8(void **state)
{
    (void)state;
    Request *r = post("a=%C3%28&b=%ED%A0%80&c=%F0%9F%98%80");
    const char *v;
    assert_int_equal(param_text(r, "a", 1, 100, 0, &v), R_BAD_REQUEST);
    assert_int_equal(param_text(r, "b", 1, 100, 0, &v), R_BAD_REQUEST); /* surrogate */
    assert_int_equal(param_text(r, "c", 1, 100, 0, &v), R_OK);          /* emoji */
    done(r);
}

static void test_int(void **state)
{
    (void)state;
    Request *r = post("a=42&b=-7&c=4x&d=99999999999999999999&e=&f=101");
    int64_t v;
    assert_int_equal(param_int(r, "a", 0, 100, &v), R_OK);
    assert_int_equal(v, 42);
    assert_int_equal(param_int(r, "b", -10, 10, &v), R_OK);
    assert_int_equal(v, -7);
    assert_int_equal(param_int(r, "c", 0, 100, &v), R_BAD_REQUEST);
    assert_int_equal(param_int(r, "d", 0, INT64_MAX, &v), R_BAD_REQUEST);
    assert_int_equal(param_int(r, "e", 0, 100, &v), R_BAD_REQUEST);
    assert_int_equal(param_int(r, "f", 0, 100, &v), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "f"), "This number is out of range.");
    done(r);
}

static void test_enum(void **state)
{
    (void)state;
    static const char *const roles[] = {"admin", "coordinator", "member", NULL};
    Request *r = post("a=member&b=Member&c=");
    int v;
    assert_int_equal(param_enum(r, "a", roles, &v), R_OK);
    assert_int_equal(v, 2);
    assert_int_equal(param_enum(r, "b", roles, &v), R_BAD_REQUEST);
    assert_int_equal(param_enum(r, "c", roles, &v), R_BAD_REQUEST);
    done(r);
}

static void test_iso3_and_email(void **state)
{
    (void)state;
    Request *r =
        post("c=ARG&d=arg&e=AR&f=ARGE&m=+Ana%40Example.ORG+&n=ana%40localhost&o=a+b%40x.org");
    const char *v;
    assert_int_equal(param_iso3(r, "c", &v), R_OK);
    assert_string_equal(v, "ARG");
    assert_int_equal(param_iso3(r, "d", &v), R_BAD_REQUEST);
    assert_int_equal(param_iso3(r, "e", &v), R_BAD_REQUEST);
    assert_int_equal(param_iso3(r, "f", &v), R_BAD_REQUEST);
    assert_int_equal(param_email(r, "m", &v), R_OK);
    assert_string_equal(v, "ana@example.org");
    assert_int_equal(param_email(r, "n", &v), R_BAD_REQUEST);
    assert_int_equal(param_email(r, "o", &v), R_BAD_REQUEST);
    done(r);
}

static void test_valid_email(void **state)
{
    (void)state;
    assert_true(valid_email("ana@example.org"));
    assert_true(valid_email("a.b+c@sub.example-ngo.org"));
    assert_false(valid_email("@example.org"));
    assert_false(valid_email("ana@"));
    assert_false(valid_email("ana@@example.org"));
    assert_false(valid_email("ana@example"));
    assert_false(valid_email("ana@.example.org"));
    assert_false(valid_email("ana@example..org"));
    assert_false(valid_email("ana@example.org."));
    assert_false(valid_email("an\"a@example.org"));
    assert_false(valid_email("ana@exa mple.org"));
    assert_false(valid_email("ana@example.org\r\nBcc: x@y.org"));
    assert_false(valid_email(NULL));
}

static void test_errors_are_translated(void **state)
{
    (void)state;
    Request *r = post("x=");
    r->lang = "es";
    const char *v;
    assert_int_equal(param_text(r, "x", 1, 10, 0, &v), R_BAD_REQUEST);
    /* A Spanish catalogue entry exists for every message a param getter
     * produces (make check enforces it): the text must differ. */
    assert_string_not_equal(error_for(r, "x"), "This field is required.");
    done(r);
}

static void test_escape_contexts(void **state)
{
    (void)state;
    Buf b = {0};
    escape_html(&b, "<a href=\"x\" onclick='y'>&`", 26);
    assert_string_equal(b.data, "&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;");
    buf_free(&b);
    escape_csv(&b, "=HYPERLINK(\"http://evil\")", 25);
    assert_string_equal(b.data, "\"'=HYPERLINK(\"\"http://evil\"\")\"");
    buf_free(&b);
    escape_csv(&b, "plain", 5);
    assert_string_equal(b.data, "plain");
    buf_free(&b);
    escape_url_component(&b, "a b/é", 6);
    assert_string_equal(b.data, "a%20b%2F%C3%A9");
    buf_free(&b);
    assert_int_equal(escape_href(&b, "javascript:alert(1)", 19), 0);
    assert_string_equal(b.data, "#");
    buf_free(&b);
}

/* A value that reached json_build unchecked costs the request, not the
 * process: an empty object back and the thread marked. */
static void test_json_build_faults_instead_of_aborting(void **state)
{
    (void)state;
    fault_take();
    json_t *j = json_build("{s:s}", "email", "\xc3\x28");
    assert_non_null(j);
    assert_int_equal(json_object_size(j), 0);
    json_decref(j);
    assert_int_equal(fault_take(), 1);
    assert_int_equal(fault_take(), 0);
    j = json_build("{s:s}", "email", "a@example.org");
    assert_int_equal(fault_take(), 0);
    json_decref(j);
}

/* Every text of a request is checked before a handler sees it. */
static void test_check_text(void **state)
{
    (void)state;
    const char *good[] = {"email=a%40b.org&note=line%0Aline%09tab", "name=Jos%C3%A9", NULL};
    const char *bad[] = {"email=%C3%28", "a%01b=1", "x=%FF%FE",       "x=%C0%AF",     "x=%ED%A0%80",
                         "x=a%00b",      "x=%7F",   "x=%F4%90%80%80", "%C3%28=value", NULL};
    for (int i = 0; good[i]; i++) {
        Request *r = post(good[i]);
        assert_int_equal(request_check_text(r), R_OK);
        done(r);
    }
    for (int i = 0; bad[i]; i++) {
        Request *r = post(bad[i]);
        assert_int_equal(request_check_text(r), R_BAD_REQUEST);
        assert_non_null(r->message);
        done(r);
    }
    Request *r = post("a=1");
    r->path = "/countries/\xff";
    assert_int_equal(request_check_text(r), R_BAD_REQUEST);
    r->path = "/countries/a\nb";
    assert_int_equal(request_check_text(r), R_BAD_REQUEST);
    r->path = "/countries/ARG";
    r->json_body = json_loads("{\"a\": [\"x\", {\"b\": \"\\u0000\"}]}", JSON_ALLOW_NUL, NULL);
    assert_int_equal(request_check_text(r), R_BAD_REQUEST);
    json_decref(r->json_body);
    r->json_body = NULL;
    done(r);
}

static void test_optional_int_enum_iso3(void **state)
{
    (void)state;
    static const char *const roles[] = {"admin", "coordinator", "member", NULL};
    Request *r = post("a=7&b=&c=x&d=0&e=admin&f=&g=boss&h=ARG&i=&j=arg");
    int64_t n = 0;
    assert_int_equal(param_optional_int(r, "a", 1, 10, 5, &n), R_OK);
    assert_int_equal(n, 7);
    assert_int_equal(param_optional_int(r, "b", 1, 10, 5, &n), R_OK); /* empty: the default */
    assert_int_equal(n, 5);
    assert_int_equal(param_optional_int(r, "missing", 1, 10, 3, &n), R_OK);
    assert_int_equal(n, 3);
    assert_int_equal(param_optional_int(r, "c", 1, 10, 5, &n), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "c"), "Please enter a whole number.");
    assert_int_equal(param_optional_int(r, "d", 1, 10, 5, &n), R_BAD_REQUEST);
    int v = 9;
    assert_int_equal(param_optional_enum(r, "e", roles, -1, &v), R_OK);
    assert_int_equal(v, 0);
    assert_int_equal(param_optional_enum(r, "f", roles, -1, &v), R_OK);
    assert_int_equal(v, -1);
    assert_int_equal(param_optional_enum(r, "missing", roles, 2, &v), R_OK);
    assert_int_equal(v, 2);
    assert_int_equal(param_optional_enum(r, "g", roles, -1, &v), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "g"), "Please choose one of the options.");
    const char *s = "x";
    assert_int_equal(param_optional_iso3(r, "h", &s), R_OK);
    assert_string_equal(s, "ARG");
    assert_int_equal(param_optional_iso3(r, "i", &s), R_OK);
    assert_null(s);
    assert_int_equal(param_optional_iso3(r, "missing", &s), R_OK);
    assert_null(s);
    assert_int_equal(param_optional_iso3(r, "j", &s), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "j"), "Please choose a country.");
    done(r);
}

static void test_date(void **state)
{
    (void)state;
    Request *r = post("a=2024-02-29&b=2023-02-29&c=2024-04-31&d=1944-12-31&e=2101-01-01"
                      "&f=2024-2-01&g=+2020-01-01+&h=&i=2024-01-01x&j=+024-01-01&k=2000-02-29"
                      "&l=1900-02-29");
    const char *v = NULL;
    assert_int_equal(param_date(r, "a", &v), R_OK);
    assert_string_equal(v, "2024-02-29");
    assert_int_equal(param_date(r, "b", &v), R_BAD_REQUEST); /* not a leap year */
    assert_string_equal(error_for(r, "b"), "Please enter a real date between 1945 and 2100.");
    assert_int_equal(param_date(r, "c", &v), R_BAD_REQUEST); /* April has 30 days */
    assert_int_equal(param_date(r, "d", &v), R_BAD_REQUEST); /* before 1945 */
    assert_int_equal(param_date(r, "e", &v), R_BAD_REQUEST); /* after 2100 */
    assert_int_equal(param_date(r, "f", &v), R_BAD_REQUEST);
    assert_int_equal(param_date(r, "g", &v), R_OK); /* trimmed like text */
    assert_string_equal(v, "2020-01-01");
    assert_int_equal(param_date(r, "h", &v), R_BAD_REQUEST);
    assert_int_equal(param_date(r, "missing", &v), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "missing"), "Please enter a date.");
    assert_int_equal(param_date(r, "i", &v), R_BAD_REQUEST);
    assert_int_equal(param_date(r, "j", &v), R_BAD_REQUEST); /* sscanf would take " 024" */
    assert_int_equal(param_date(r, "k", &v), R_OK);          /* 2000 is a leap year */
    assert_int_equal(valid_date("1900-02-29"), 0);
    assert_int_equal(param_optional_date(r, "h", &v), R_OK);
    assert_null(v);
    assert_int_equal(param_optional_date(r, "missing2", &v), R_OK);
    assert_null(v);
    assert_int_equal(param_optional_date(r, "a", &v), R_OK);
    assert_string_equal(v, "2024-02-29");
    assert_int_equal(param_optional_date(r, "c", &v), R_BAD_REQUEST);
    done(r);
}

static void test_checkbox_and_filter(void **state)
{
    (void)state;
    static const char *const papers[] = {"a4", "letter", NULL};
    Request *r = post("a=1&b=on&c=&d=yes&p=letter&q=legal");
    int on = 7;
    assert_int_equal(param_checkbox(r, "a", &on), R_OK);
    assert_int_equal(on, 1);
    assert_int_equal(param_checkbox(r, "b", &on), R_OK);
    assert_int_equal(on, 1);
    assert_int_equal(param_checkbox(r, "c", &on), R_OK);
    assert_int_equal(on, 0);
    assert_int_equal(param_checkbox(r, "missing", &on), R_OK);
    assert_int_equal(on, 0);
    assert_int_equal(param_checkbox(r, "d", &on), R_BAD_REQUEST);
    assert_int_equal(on, 0); /* never a yes by accident */
    assert_string_equal(error_for(r, "d"), "Please tick the box or leave it empty.");
    assert_string_equal(param_filter(r, "p", papers), "letter");
    assert_null(param_filter(r, "q", papers));
    assert_null(param_filter(r, "missing", papers));
    assert_null(json_object_get(r->errors, "q")); /* a filter is never an error */
    done(r);
}

static void test_slug_link_token(void **state)
{
    (void)state;
    Request *r = post("a=op-icescr&b=Op&c=a%2Fb&d=x&e=abcdefghijk&f=https%3A%2F%2Fun.org%2Fx"
                      "&g=http%3A%2F%2Fa.b&h=javascript%3Aalert(1)&i=&t1="
                      "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef&t2="
                      "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef&t3=abc");
    const char *v = NULL;
    assert_int_equal(param_slug(r, "a", 2, 10, &v), R_OK);
    assert_string_equal(v, "op-icescr");
    assert_int_equal(param_slug(r, "b", 2, 10, &v), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "b"), "Use only lowercase letters, digits and hyphens (-).");
    assert_int_equal(param_slug(r, "c", 2, 10, &v), R_BAD_REQUEST);
    assert_int_equal(param_slug(r, "d", 2, 10, &v), R_BAD_REQUEST); /* too short */
    assert_int_equal(param_slug(r, "e", 2, 10, &v), R_BAD_REQUEST); /* too long */
    assert_int_equal(param_slug(r, "missing", 2, 10, &v), R_BAD_REQUEST);
    assert_int_equal(valid_slug("../x", 1, 10), 0);
    assert_int_equal(param_link(r, "f", &v), R_OK);
    assert_string_equal(v, "https://un.org/x");
    assert_int_equal(param_link(r, "g", &v), R_OK);
    assert_int_equal(param_link(r, "i", &v), R_OK); /* optional */
    assert_string_equal(v, "");
    assert_int_equal(param_link(r, "h", &v), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "h"), "A source must be a web address (https://...).");
    assert_int_equal(param_token(r, "t1", &v), R_OK);
    assert_int_equal(strlen(v), 64);
    assert_int_equal(param_token(r, "t2", &v), R_BAD_REQUEST); /* we mail lowercase */
    assert_int_equal(param_token(r, "t3", &v), R_BAD_REQUEST);
    assert_int_equal(param_token(r, "missing", &v), R_BAD_REQUEST);
    assert_string_equal(error_for(r, "t3"), "This link is not complete: please copy all of it.");
    done(r);
}

int main(void)
{
    i18n_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_int),
        cmocka_unit_test(test_enum),
        cmocka_unit_test(test_iso3_and_email),
        cmocka_unit_test(test_optional_int_enum_iso3),
        cmocka_unit_test(test_date),
        cmocka_unit_test(test_checkbox_and_filter),
        cmocka_unit_test(test_slug_link_token),
        cmocka_unit_test(test_valid_email),
        cmocka_unit_test(test_errors_are_translated),
        cmocka_unit_test(test_escape_contexts),
        cmocka_unit_test(test_json_build_faults_instead_of_aborting),
        cmocka_unit_test(test_check_text),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    i18n_free();
    return failed;
}
