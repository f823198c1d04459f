/*
 * compress.c: gzip for responses (see compress.h for when and why not).
 */
#include "web/compress.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

/* Reads Accept-Encoding by its tokens: "gzip" or "*" with no q, or a q
 * above zero ("gzip;q=0" refuses it, RFC 9110 12.5.3). */
int compress_accepted(Request *r)
{
    const char *v = r->header ? r->header(r, "Accept-Encoding") : NULL;
    if (!v)
        return 0;
    int gzip = -1, star = -1;
    while (*v) {
        while (*v == ' ' || *v == '\t' || *v == ',')
            v++;
        const char *name = v;
        while (*v && *v != ',' && *v != ';' && *v != ' ' && *v != '\t')
            v++;
        size_t n = (size_t)(v - name);
        int allowed = 1;
        while (*v && *v != ',') {
            if (*v == ';') {
                v++;
                while (*v == ' ' || *v == '\t')
                    v++;
                if ((v[0] == 'q' || v[0] == 'Q') && v[1] == '=')
                    allowed = strtod(v + 2, NULL) > 0;
                continue;
            }
            v++;
        }
        if (n == 4 && strncasecmp(name, "gzip", 4) == 0)
            gzip = allowed;
        else if (n == 1 && *name == '*')
            star = allowed;
    }
    return gzip >= 0 ? gzip : star > 0;
}

int compress_type_ok(const char *type)
{
    static const char *const types[] = {"text/",           "application/json",
                                        "image/svg+xml",   "application/javascript",
                                        "application/xml", NULL};
    if (!type)
        return 0;
    for (int i = 0; types[i]; i++)
        if (strncasecmp(type, types[i], strlen(types[i])) == 0)
            return 1;
    return 0;
}

int compress_allowed(Request *r, const char *content_type, const char *body, size_t len)
{
    if (len < COMPRESS_MIN_BYTES || !compress_type_ok(content_type))
        return 0;
    /* BREACH: a compressed secret next to text an attacker can choose
     * leaks through the length. Logged-in pages carry a CSRF token and
     * personal data; visitors' forms carry a CSRF token. */
    if (r->user || r->session_token)
        return 0;
    if (r->csrf_token && *r->csrf_token && memmem(body, len, r->csrf_token, strlen(r->csrf_token)))
        return 0;
    return 1;
}

int compress_gzip(const void *in, size_t len, Buf *out)
{
    out->len = 0;
    z_stream z = {0};
    /* 15 + 16: a gzip header and trailer; level 6, zlib's default. */
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    uLong bound = deflateBound(&z, (uLong)len);
    buf_reserve(out, bound + 1);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)bound;
    int rc = deflate(&z, Z_FINISH);
    out->len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END)
        return -1;
    out->data[out->len] = 0;
    return 0;
}

/* The ETag of the compressed form: "abc" becomes "abc-gz". */
static void etag_for_gzip(Request *r)
{
    for (int i = 0; i < r->header_count; i++) {
        const char *v = r->headers[i].value;
        size_t n = strlen(v);
        if (strcmp(r->headers[i].name, "ETag") != 0 || n < 2 || v[n - 1] != '"' ||
            (n > 4 && strcmp(v + n - 4, "-gz\"") == 0))
            continue;
        r->headers[i].value = arena_printf(r->arena, "%.*s-gz\"", (int)(n - 1), v);
    }
}

void compress_response(Request *r)
{
    if (!compress_type_ok(r->content_type))
        return;
    http_add_header(r, "Vary", "Accept-Encoding");
    if (!compress_accepted(r))
        return;
    if (r->status == 304) {
        /* The validator the client holds names the encoding it got. */
        const char *match = r->header(r, "If-None-Match");
        if (match && strstr(match, "-gz\""))
            etag_for_gzip(r);
        return;
    }
    if (r->status != 200 ||
        !compress_allowed(r, r->content_type, r->body_out.data, r->body_out.len))
        return;
    Buf gz = {0};
    if (compress_gzip(r->body_out.data, r->body_out.len, &gz) != 0 || gz.len >= r->body_out.len) {
        buf_free(&gz);
        return;
    }
    buf_free(&r->body_out);
    r->body_out = gz;
    http_add_header(r, "Content-Encoding", "gzip");
    etag_for_gzip(r);
}
