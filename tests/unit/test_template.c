/*
 * test_template.c: unit tests for src/template.c: every tag kind, escaping of
 * hostile values in each output context, link filtering, translations,
 * partials (missing, broken, recursive, nested to the limit), the process-wide
 * cache under concurrent renders, and every compile error.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/template.h"

/* Partials known to test_source. */
static const struct {
    const char *name;
    const char *src;
} partials[] = {
    {"row", "<li>{{name}} ({{org}})</li>"},
    {"page", "<h1>{{title}}</h1><ul>{{#members}}{{> row}}{{/members}}</ul>"},
    {"self", "x{{> self}}"},
    {"ping", "{{> pong}}"},
    {"pong", "{{> ping}}"},
    {"broken", "{{#open}} never closed"},
    {"forms/field.html", "[{{label}}]"},
};

/* Serves the partials above, plus "nest-K": K partials nested inside one
 * another ("nest-0" is plain text). */
static const char *test_source(const char *name, size_t *len)
{
    static _Thread_local char nest[64];
    for (size_t i = 0; i < sizeof partials / sizeof partials[0]; i++) {
        if (strcmp(partials[i].name, name) == 0) {
            *len = strlen(partials[i].src);
            return partials[i].src;
        }
    }
    int k;
    if (sscanf(name, "nest-%d", &k) == 1) {
        if (k == 0)
            snprintf(nest, sizeof nest, "end");
        else
            snprintf(nest, sizeof nest, "%d,{{> nest-%d}}", k, k - 1);
        *len = strlen(nest);
        return nest;
    }
    return NULL;
}

/* A tiny Spanish catalogue; ctx is the language. */
static const char *spanish_translate(void *ctx, const char *msgid)
{
    if (strcmp(ctx, "es") != 0)
        return msgid;
    if (strcmp(msgid, "Countries") == 0)
        return "Países";
    if (strcmp(msgid, "Hello") == 0)
        return "<b>Hola</b>";
    if (strcmp(msgid, "{day} {month} {year}") == 0)
        return "{day} de {month} de {year}";
    if (strcmp(msgid, "December") == 0)
        return "diciembre";
    return msgid;
}

static char spanish[] = "es";

/* Compiles tpl (failing the test if it does not compile) and renders it with
 * data. Returns the output, which the caller frees, or NULL if the render
 * returned -1. */
static char *render(const char *tpl, json_t *data)
{
    char *err = NULL;
    Template *t = template_compile("test", tpl, strlen(tpl), &err);
    if (!t)
        fail_msg("does not compile: %s", err);
    Buf out = {0};
    int rc = template_render(t, data, &out, test_source, spanish_translate, spanish);
    template_free(t);
    char *s = rc == 0 ? xstrdup(out.len ? out.data : "") : NULL;
    buf_free(&out);
    return s;
}

/* Like render, with data given as JSON text. */
static char *render_json(const char *tpl, const char *json)
{
    json_error_t jerr;
    json_t *data = json_loads(json, 0, &jerr);
    if (!data)
        fail_msg("bad test JSON: %s", jerr.text);
    char *s = render(tpl, data);
    json_decref(data);
    return s;
}

#define assert_renders(tpl, json, expected)                                                        \
    do {                                                                                           \
        char *got_ = render_json(tpl, json);                                                       \
        assert_non_null(got_);                                                                     \
        assert_string_equal(got_, expected);                                                       \
        free(got_);                                                                                \
    } while (0)

/* Renders tpl with {"v": value} and checks the output. */
static void assert_value_renders(const char *tpl, const char *value, const char *expected)
{
    json_t *data = json_pack("{s:s}", "v", value);
    char *got = render(tpl, data);
    json_decref(data);
    assert_non_null(got);
    assert_string_equal(got, expected);
    free(got);
}

#define assert_render_fails(tpl, json)                                                             \
    do {                                                                                           \
        char *got_ = render_json(tpl, json);                                                       \
        assert_null(got_);                                                                         \
    } while (0)

/* Checks that tpl fails to compile with a message containing fragment. */
static void assert_compile_error(const char *tpl, const char *fragment)
{
    char *err = NULL;
    Template *t = template_compile("test", tpl, strlen(tpl), &err);
    assert_null(t);
    assert_non_null(err);
    if (!strstr(err, fragment))
        fail_msg("compiling \"%s\": expected \"%s\" in \"%s\"", tpl, fragment, err);
    free(err);
}

static void test_text_and_comments(void **state)
{
    (void)state;
    assert_renders("", "{}", "");
    assert_renders("<p>plain { } }} text</p>", "{}", "<p>plain { } }} text</p>");
    assert_renders("a{{! a comment with <b> and {braces} }}b", "{}", "ab");
    assert_renders("a{{!\nmulti\nline\n}}b", "{}", "ab");
}

static void test_values(void **state)
{
    (void)state;
    assert_renders("{{s}}|{{i}}|{{neg}}|{{r}}|{{tenth}}|{{huge}}|{{big}}",
                   "{\"s\":\"text\",\"i\":42,\"neg\":-7,\"r\":1.5,\"tenth\":0.1,"
                   "\"huge\":1e300,\"big\":9007199254740993}",
                   "text|42|-7|1.5|0.1|1e+300|9007199254740993");
    assert_renders("[{{t}}|{{f}}|{{n}}|{{missing}}|{{arr}}|{{obj}}]",
                   "{\"t\":true,\"f\":false,\"n\":null,\"arr\":[1],\"obj\":{\"a\":1}}",
                   "[true|||||]");
    assert_renders("{{ s }}|{{\n\ts\n}}", "{\"s\":\"spaced\"}", "spaced|spaced");
}

static void test_dotted_names(void **state)
{
    (void)state;
    const char *data = "{\"a\":{\"b\":{\"c\":\"deep\"}},\"c\":\"outer\",\"x\":\"root x\"}";
    assert_renders("{{a.b.c}}|{{a.b.missing}}|{{a.b.c.d}}", data, "deep||");
    /* Later segments are looked up only in what the first one found. */
    assert_renders("[{{a.c}}]", data, "[]");
    assert_renders("{{#a}}{{b.c}} {{c}} {{x}}{{/a}}", data, "deep outer root x");
    assert_renders("{{#a.b}}{{c}}{{/a.b}}", data, "deep");
    assert_renders("{{#list}}[{{.}}]{{/list}}", "{\"list\":[\"<x>\",1,true]}",
                   "[&lt;x&gt;][1][true]");
}

static void test_escaping_hostile_values(void **state)
{
    (void)state;
    assert_value_renders("<p>{{v}}</p>", "<script>alert(1)</script>",
                         "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>");
    assert_value_renders("<a title=\"{{v}}\">", "\"><img src=x onerror=alert(1)>",
                         "<a title=\"&quot;&gt;&lt;img src=x onerror=alert(1)&gt;\">");
    assert_value_renders("<a title='{{v}}'>", "' onmouseover='x",
                         "<a title='&#39; onmouseover=&#39;x'>");
    assert_value_renders("<a title={{v}}>", "`x`", "<a title=&#96;x&#96;>");
    assert_value_renders("{{v}}", "&amp;", "&amp;amp;");
    assert_value_renders("{{v}}", "AT&T <3", "AT&amp;T &lt;3");
}

static void test_values_are_not_reparsed(void **state)
{
    (void)state;
    assert_value_renders("{{v}}", "{{secret}}", "{{secret}}");
    assert_value_renders("{{v}}", "{{> self}}{{#v}}", "{{&gt; self}}{{#v}}");
    assert_value_renders("{{& v // test of raw output}}", "{{> self}}", "{{> self}}");
}

static void test_url_context(void **state)
{
    (void)state;
    static const struct {
        const char *value, *expected;
    } cases[] = {
        {"javascript:alert(1)", "#"},
        {"JaVaScRiPt:alert(1)", "#"},
        {"java\tscript:alert(1)", "#"},
        {"java\nscript:alert(1)", "#"},
        {"data:text/html,<script>alert(1)</script>", "#"},
        {"vbscript:msgbox(1)", "#"},
        {" javascript:alert(1)", "#"},
        {"//evil.example", "//evil.example"},
        {"/countries/ARG", "/countries/ARG"},
        {"countries/ARG?tab=1#x", "countries/ARG?tab=1#x"},
        {"mailto:a@b.org", "mailto:a@b.org"},
        {"HTTPS://x.org/", "HTTPS://x.org/"},
        {"https://x.org/?a=1&b=2", "https://x.org/?a=1&amp;b=2"},
        {"https://x.org/\"onmouseover=\"x", "https://x.org/&quot;onmouseover=&quot;x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char expected[128];
        snprintf(expected, sizeof expected, "<a href=\"%s\">", cases[i].expected);
        assert_value_renders("<a href=\"{{url v}}\">", cases[i].value, expected);
    }
    assert_renders("<a href=\"{{ url  link.href }}\">", "{\"link\":{\"href\":\"/x\"}}",
                   "<a href=\"/x\">");
    assert_renders("[{{url missing}}]", "{}", "[]");
}

static void test_raw_with_reason(void **state)
{
    (void)state;
    assert_value_renders("<div>{{& v // rendered by markdown.c, which escapes}}</div>",
                         "<em>hi</em>", "<div><em>hi</em></div>");
    assert_value_renders("{{&v//abc}}", "<b>", "<b>");
}

static void test_translate(void **state)
{
    (void)state;
    assert_renders("<h2>{{_ Countries }}</h2>", "{}", "<h2>Países</h2>");
    /* A translation is escaped like any value. */
    assert_renders("{{_ Hello}}", "{}", "&lt;b&gt;Hola&lt;/b&gt;");
    assert_renders("{{_ Fish & chips}}", "{}", "Fish &amp; chips");

    Template *t = template_compile("test", "{{_ Countries}}", 15, NULL);
    assert_non_null(t);
    Buf out = {0};
    assert_int_equal(template_render(t, NULL, &out, NULL, NULL, NULL), 0);
    assert_string_equal(out.data, "Countries");
    buf_free(&out);
    template_free(t);
}

static void test_dates_in_words(void **state)
{
    (void)state;
    /* The catalogue's order and month name; what follows the date stays. */
    assert_value_renders("<td>{{date v}}</td>", "2026-12-05", "<td>5 de diciembre de 2026</td>");
    assert_value_renders("{{ date  v }}", "2026-12-05 14:00", "5 de diciembre de 2026 14:00");
    /* Not a date: printed as it is, escaped. */
    assert_value_renders("{{date v}}", "soon <b>", "soon &lt;b&gt;");
    assert_value_renders("{{date v}}", "2026-13-05", "2026-13-05");
    assert_value_renders("{{date v}}", "2026-1-5", "2026-1-5");
    assert_renders("[{{date missing}}]", "{}", "[]");
    /* A field may be called "date", as {{date}} alone. */
    assert_renders("{{date}}", "{\"date\":\"2026-01-02\"}", "2026-01-02");
    /* Without a catalogue: English. */
    Buf out = {0};
    template_date_words(&out, "2026-03-09", 10, NULL, NULL);
    assert_string_equal(out.data, "9 March 2026");
    buf_free(&out);
}

static void test_sections(void **state)
{
    (void)state;
    assert_renders("<ul>{{#members}}<li>{{name}} of {{org}} in {{country}}</li>{{/members}}</ul>",
                   "{\"country\":\"ARG\",\"members\":[{\"name\":\"Ana\",\"org\":\"A\"},"
                   "{\"name\":\"Ben\",\"org\":\"B\",\"country\":\"CHL\"}]}",
                   "<ul><li>Ana of A in ARG</li><li>Ben of B in CHL</li></ul>");
    assert_renders("{{#user}}{{name}}{{/user}}", "{\"user\":{\"name\":\"Ana\"}}", "Ana");
    assert_renders("{{#flag}}yes {{name}}{{/flag}}", "{\"flag\":\"on\",\"name\":\"Ana\"}",
                   "yes Ana");
    assert_renders("{{#rows}}{{#cells}}[{{.}}]{{/cells}};{{/rows}}",
                   "{\"rows\":[{\"cells\":[1,2]},{\"cells\":[]},{\"cells\":[3]}]}", "[1][2];;[3];");

    static const char *const falsy[] = {"false", "null", "\"\"", "0", "0.0", "[]"};
    static const char *const truthy[] = {"true", "\"x\"", "1", "-1", "0.5", "[0]", "{}"};
    char json[64];
    for (size_t i = 0; i < sizeof falsy / sizeof falsy[0]; i++) {
        snprintf(json, sizeof json, "{\"v\":%s}", falsy[i]);
        assert_renders("{{#v}}Y{{/v}}{{^v}}N{{/v}}", json, "N");
    }
    for (size_t i = 0; i < sizeof truthy / sizeof truthy[0]; i++) {
        snprintf(json, sizeof json, "{\"v\":%s}", truthy[i]);
        assert_renders("{{#v}}Y{{/v}}{{^v}}N{{/v}}", json, "Y");
    }
    assert_renders("{{#missing}}Y{{/missing}}{{^missing}}N{{/missing}}", "{}", "N");
    assert_renders("{{^list}}none{{/list}}", "{\"list\":[]}", "none");
    assert_renders("{{ # v }}Y{{ / v }}", "{\"v\":1}", "Y");
}

static void test_partials(void **state)
{
    (void)state;
    assert_renders("<ul>{{#members}}{{> row}}{{/members}}</ul>",
                   "{\"org\":\"outer\",\"members\":[{\"name\":\"Ana\",\"org\":\"A\"},"
                   "{\"name\":\"<Ben>\"}]}",
                   "<ul><li>Ana (A)</li><li>&lt;Ben&gt; (outer)</li></ul>");
    assert_renders("{{ > forms/field.html }}", "{\"label\":\"Name\"}", "[Name]");
    assert_render_fails("a{{> no-such-partial}}b", "{}");
    assert_render_fails("{{> broken}}", "{}");
    assert_render_fails("{{> self}}", "{}");
    assert_render_fails("{{> ping}}", "{}");
    /* A partial inside a false section is never looked up. */
    assert_renders("{{#no}}{{> no-such-partial}}{{/no}}ok", "{}", "ok");

    /* 32 partials inside one another are allowed; 33 are not. */
    char *got = render_json("{{> nest-31}}", "{}");
    assert_non_null(got);
    assert_true(strncmp(got, "31,30,", 6) == 0);
    assert_non_null(strstr(got, "1,end"));
    free(got);
    assert_render_fails("{{> nest-32}}", "{}");
}

static void test_render_named(void **state)
{
    (void)state;
    json_t *data = json_pack("{s:s,s:[{s:s,s:s}]}", "title", "Members & friends", "members", "name",
                             "Ana", "org", "A");
    const char *page = "<h1>Members &amp; friends</h1><ul><li>Ana (A)</li></ul>";
    Buf out = {0};
    assert_int_equal(template_render_named("page", data, &out, test_source, NULL, NULL), 0);
    assert_string_equal(out.data, page);
    /* It appends, and the second render uses the cached template. */
    assert_int_equal(template_render_named("page", data, &out, test_source, NULL, NULL), 0);
    assert_int_equal(out.len, 2 * strlen(page));
    assert_string_equal(out.data + strlen(page), page);
    buf_free(&out);
    assert_int_equal(template_render_named("nothing-here", data, &out, test_source, NULL, NULL),
                     -1);
    assert_int_equal(template_render_named("broken", data, &out, test_source, NULL, NULL), -1);
    assert_int_equal(template_render_named("self", data, &out, test_source, NULL, NULL), -1);
    buf_free(&out);
    json_decref(data);
}

static void test_compiled_template_is_reusable(void **state)
{
    (void)state;
    Template *t = template_compile("test", "{{#a}}{{b}}{{/a}}", 17, NULL);
    assert_non_null(t);
    for (int i = 0; i < 3; i++) {
        json_t *data = json_pack("{s:[{s:i},{s:i}]}", "a", "b", i, "b", i * 10);
        Buf out = {0};
        assert_int_equal(template_render(t, data, &out, NULL, NULL, NULL), 0);
        char expected[32];
        snprintf(expected, sizeof expected, "%d%d", i, i * 10);
        assert_string_equal(out.data, expected);
        buf_free(&out);
        json_decref(data);
    }
    template_free(t);
}

/* Sections over arrays nested inside one another multiply the work; the
 * render must give up rather than run for hours. */
static void test_runaway_render_fails(void **state)
{
    (void)state;
    char tpl[1024] = "";
    for (int i = 0; i < 30; i++)
        strcat(tpl, "{{#a}}");
    strcat(tpl, "x");
    for (int i = 0; i < 30; i++)
        strcat(tpl, "{{/a}}");
    assert_render_fails(tpl, "{\"a\":[1,2,3,4]}");
}

static void *render_page_repeatedly(void *arg)
{
    json_t *data = arg;
    intptr_t wrong = 0;
    for (int i = 0; i < 200; i++) {
        Buf out = {0};
        if (template_render_named("page", data, &out, test_source, NULL, NULL) != 0 ||
            strcmp(out.data, "<h1>T</h1><ul><li>Ana (A)</li><li>Ben (B)</li></ul>") != 0)
            wrong++;
        buf_free(&out);
    }
    return (void *)wrong;
}

static void test_concurrent_renders_share_the_cache(void **state)
{
    (void)state;
    template_cache_clear();
    json_t *data = json_pack("{s:s,s:[{s:s,s:s},{s:s,s:s}]}", "title", "T", "members", "name",
                             "Ana", "org", "A", "name", "Ben", "org", "B");
    pthread_t threads[8];
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, render_page_repeatedly, data), 0);
    intptr_t wrong = 0;
    for (int i = 0; i < 8; i++) {
        void *result;
        pthread_join(threads[i], &result);
        wrong += (intptr_t)result;
    }
    assert_int_equal(wrong, 0);
    json_decref(data);
}

static void test_compile_errors(void **state)
{
    (void)state;
    assert_compile_error("a {{name", "test:1: unclosed tag");
    assert_compile_error("x\n{{#a}}\n{{a}}", "test:2: unclosed section {{#a}}");
    assert_compile_error("{{^a}}", "unclosed section {{^a}}");
    assert_compile_error("line 1\nline 2\n{{#a}}\n{{/b}}", "test:4: {{/b}} does not match {{#a}}");
    assert_compile_error("{{#a}}{{#b}}{{/a}}{{/b}}", "does not match");
    assert_compile_error("{{/a}}", "closes no section");
    assert_compile_error("{{! two\nlines }}\n{{/a}}", "test:3:");

    assert_compile_error("{{}}", "empty tag");
    assert_compile_error("{{  }}", "empty tag");
    assert_compile_error("{{#}}", "empty name");
    assert_compile_error("{{^ }}", "empty name");
    assert_compile_error("{{/}}", "empty name");
    assert_compile_error("{{>}}", "empty name");
    assert_compile_error("{{url}}", "empty name");
    assert_compile_error("{{& // a good reason}}", "empty name");
    assert_compile_error("{{_ }}", "empty text");

    assert_compile_error("{{& html}}", "needs a reason");
    assert_compile_error("{{& html /}}", "needs a reason");
    assert_compile_error("{{& html //}}", "at least 3");
    assert_compile_error("{{& html // ab}}", "at least 3");
    assert_compile_error("{{& html //  a   b  }}", "at least 3");
    assert_compile_error("{{{html}}}", "not supported");
    assert_compile_error("{{{ html }}}", "not supported");

    assert_compile_error("{{=<% %>=}}", "delimiters");
    assert_compile_error("{{%x}}", "unknown tag");
    assert_compile_error("{{<x}}", "unknown tag");
    assert_compile_error("{{a b}}", "invalid name");
    assert_compile_error("{{a..b}}", "invalid name");
    assert_compile_error("{{.a}}", "invalid name");
    assert_compile_error("{{a.}}", "invalid name");
    assert_compile_error("{{url a b}}", "invalid name");
    assert_compile_error("{{> a b}}", "invalid partial name");

    assert_null(template_compile(NULL, "{{", 2, NULL));
}

static void test_section_nesting_limit(void **state)
{
    (void)state;
    Buf src = {0};
    for (int i = 0; i < 64; i++)
        buf_puts(&src, "{{#a}}");
    for (int i = 0; i < 64; i++)
        buf_puts(&src, "{{/a}}");
    Template *t = template_compile("test", src.data, src.len, NULL);
    assert_non_null(t);
    template_free(t);
    buf_free(&src);

    for (int i = 0; i < 65; i++)
        buf_puts(&src, "{{#a}}");
    assert_compile_error(src.data, "sections nest deeper than 64");
    buf_free(&src);
}

static int clear_cache(void **state)
{
    (void)state;
    template_cache_clear();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_and_comments),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_dotted_names),
        cmocka_unit_test(test_escaping_hostile_values),
        cmocka_unit_test(test_values_are_not_reparsed),
        cmocka_unit_test(test_url_context),
        cmocka_unit_test(test_raw_with_reason),
        cmocka_unit_test(test_translate),
        cmocka_unit_test(test_dates_in_words),
        cmocka_unit_test(test_sections),
        cmocka_unit_test(test_partials),
        cmocka_unit_test(test_render_named),
        cmocka_unit_test(test_compiled_template_is_reusable),
        cmocka_unit_test(test_runaway_render_fails),
        cmocka_unit_test(test_concurrent_renders_share_the_cache),
        cmocka_unit_test(test_compile_errors),
        cmocka_unit_test(test_section_nesting_limit),
    };
    return cmocka_run_group_tests(tests, NULL, clear_cache);
}
