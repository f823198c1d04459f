/*
 * test_compress.c: web/compress.c: reading Accept-Encoding, the rules that
 * keep secrets out of compressed bodies (BREACH), ETags per encoding, and
 * the gzip stream made of stored layout parts around a precompressed
 * content, which must inflate to exactly the page and keep the layout's
 * bytes visible (stored) in the stream.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>
#include <zlib.h>

#include "svc/http.h"
#include "web/compress.h"

static const char *accept_value, *match_value;

static const char *header(Request *r, const char *name)
{
    (void)r;
    if (strcmp(name, "Accept-Encoding") == 0)
        return accept_value;
    if (strcmp(name, "If-None-Match") == 0)
        return match_value;
    return NULL;
}

static Request *request(const char *accept)
{
    static Request r;
    memset(&r, 0, sizeof r);
    r.arena = arena_new();
    r.method = "GET";
    r.path = "/countries";
    r.header = header;
    r.status = 200;
    r.content_type = "text/html; charset=utf-8";
    accept_value = accept;
    match_value = NULL;
    return &r;
}

static void done(Request *r)
{
    buf_free(&r->body_out);
    arena_free(r->arena);
}

static const char *header_out(Request *r, const char *name)
{
    for (int i = 0; i < r->header_count; i++)
        if (strcmp(r->headers[i].name, name) == 0)
            return r->headers[i].value;
    return NULL;
}

static Buf inflate_all(const Buf *gz)
{
    Buf out = {0};
    buf_reserve(&out, 1 << 20);
    z_stream z = {0};
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)gz->data;
    z.avail_in = (uInt)gz->len;
    z.next_out = (Bytef *)out.data;
    z.avail_out = 1 << 20;
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END); /* CRC and length checked */
    out.len = z.total_out;
    assert_int_equal(z.avail_in, 0);
    inflateEnd(&z);
    return out;
}

static void test_accept_encoding(void **state)
{
    (void)state;
    static const struct {
        const char *value;
        int gzip;
    } cases[] = {
        {NULL, 0},
        {"", 0},
        {"gzip", 1},
        {"GZIP", 1},
        {"deflate, gzip", 1},
        {"gzip;q=0", 0},
        {"gzip; q=0.0", 0},
        {"gzip;q=0.001", 1},
        {"br", 0},
        {"*", 1},
        {"*;q=0", 0},
        {"gzip;q=0, *", 0},
        {"x-gzip", 0},
        {"identity", 0},
        {"br;q=1.0, gzip;q=0.8, *;q=0.1", 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Request *r = request(cases[i].value);
        assert_int_equal(compress_accepted(r), cases[i].gzip);
        done(r);
    }
}

static void test_secrets_are_not_compressed(void **state)
{
    (void)state;
    char body[4096];
    memset(body, 'a', sizeof body);
    memcpy(body + 100, "token123", 8);
    Request *r = request("gzip");
    assert_true(compress_allowed(r, "text/html", body, sizeof body));
    assert_false(compress_allowed(r, "text/html", body, 1023)); /* too small */
    assert_false(compress_allowed(r, "application/pdf", body, sizeof body));
    assert_false(compress_allowed(r, "image/png", body, sizeof body));
    assert_true(compress_allowed(r, "image/svg+xml", body, sizeof body));
    r->csrf_token = "token123";
    assert_false(compress_allowed(r, "text/html", body, sizeof body));
    r->csrf_token = "other";
    assert_true(compress_allowed(r, "text/html", body, sizeof body));
    r->session_token = "abc";
    assert_false(compress_allowed(r, "text/html", body, sizeof body));
    done(r);
}

static void test_response_and_etag(void **state)
{
    (void)state;
    Request *r = request("gzip");
    for (int i = 0; i < 300; i++)
        buf_printf(&r->body_out, "<li>Country %d</li>\n", i);
    Buf plain = {0};
    buf_append(&plain, r->body_out.data, r->body_out.len);
    http_add_header(r, "ETag", "\"0123\"");
    compress_response(r);
    assert_string_equal(header_out(r, "Content-Encoding"), "gzip");
    assert_string_equal(header_out(r, "Vary"), "Accept-Encoding");
    assert_string_equal(header_out(r, "ETag"), "\"0123-gz\"");
    Buf back = inflate_all(&r->body_out);
    assert_int_equal(back.len, plain.len);
    assert_memory_equal(back.data, plain.data, plain.len);
    buf_free(&back);
    done(r);
    /* Not asked for: plain, but Vary all the same. */
    r = request("identity");
    buf_append(&r->body_out, plain.data, plain.len);
    compress_response(r);
    assert_null(header_out(r, "Content-Encoding"));
    assert_string_equal(header_out(r, "Vary"), "Accept-Encoding");
    assert_int_equal(r->body_out.len, plain.len);
    done(r);
    /* Headers full: plain, never a gzip body without its Content-Encoding. */
    r = request("gzip");
    buf_append(&r->body_out, plain.data, plain.len);
    while (r->header_count < MAX_RESPONSE_HEADERS - 1)
        http_add_header(r, "X-Filler", "1");
    compress_response(r);
    assert_null(header_out(r, "Content-Encoding"));
    assert_int_equal(r->body_out.len, plain.len);
    done(r);
    buf_free(&plain);
    assert_true(http_etag_matches("\"0123-gz\"", "\"0123\""));
    assert_true(http_etag_matches("\"0123\"", "\"0123-gz\""));
    assert_true(http_etag_matches("\"0123\"", "\"0123\""));
    assert_false(http_etag_matches("\"0124-gz\"", "\"0123\""));
    assert_false(http_etag_matches("\"0123-xx\"", "\"0123\""));
    assert_false(http_etag_matches(NULL, "\"0123\""));
}

/* A logged-in page: the layout (with a secret) stored, the content
 * precompressed; sizes over 65,535 bytes take several stored blocks. */
static void compose_case(size_t before_len, size_t content_len, size_t after_len)
{
    Request *r = request("gzip");
    r->session_token = "session";
    r->csrf_token = "SECRET-CSRF-TOKEN";
    Buf content = {0};
    for (size_t i = 0; content.len < content_len; i++)
        buf_printf(&content, "<tr><td>%zu</td><td>Sign and ratify</td></tr>", i);
    Buf before = {0};
    buf_puts(&before, "<html><form><input value=\"SECRET-CSRF-TOKEN\"></form>");
    while (before.len < before_len)
        buf_putc(&before, (char)('a' + before.len % 26));
    buf_append(&r->body_out, before.data, before.len);
    r->content.at = r->body_out.len;
    buf_append(&r->body_out, content.data, content.len);
    for (size_t i = 0; i < after_len; i++)
        buf_putc(&r->body_out, 'z');
    Buf part = {0};
    assert_int_equal(compress_deflate_part(content.data, content.len, &part, &r->content.crc), 0);
    r->content.html = content.data;
    r->content.len = content.len;
    r->content.deflate = (const unsigned char *)part.data;
    r->content.deflate_len = part.len;
    Buf plain = {0};
    buf_append(&plain, r->body_out.data, r->body_out.len);
    compress_response(r);
    assert_string_equal(header_out(r, "Content-Encoding"), "gzip");
    assert_non_null(memmem(r->body_out.data, r->body_out.len, "SECRET-CSRF-TOKEN", 17));
    Buf back = inflate_all(&r->body_out);
    assert_int_equal(back.len, plain.len);
    assert_memory_equal(back.data, plain.data, plain.len);
    buf_free(&back);
    buf_free(&plain);
    buf_free(&part);
    buf_free(&before);
    buf_free(&content);
    done(r);
}

static void test_stored_layout_around_compressed_content(void **state)
{
    (void)state;
    compose_case(200, 5000, 1);
    compose_case(70000, 150000, 70000);
    compose_case(60, 2000, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_encoding),
        cmocka_unit_test(test_secrets_are_not_compressed),
        cmocka_unit_test(test_response_and_etag),
        cmocka_unit_test(test_stored_layout_around_compressed_content),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
