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

/* 1 when the browser says the request came from Ratify's own pages or
 * from the person (a typed address, a bookmark): Fetch Metadata, a header
 * a page cannot set. BREACH needs another site to make the victim's
 * browser send many requests with guesses in them; those say "cross-site"
 * (or "same-site" from a sibling host), or nothing in an old browser. */
static int own_navigation(Request *r)
{
    const char *site = r->header ? r->header(r, "Sec-Fetch-Site") : NULL;
    return site && (strcmp(site, "same-origin") == 0 || strcmp(site, "none") == 0);
}

int compress_allowed(Request *r, const char *content_type, const char *body, size_t len)
{
    if (len < COMPRESS_MIN_BYTES || !compress_type_ok(content_type))
        return 0;
    /* BREACH: a compressed secret next to text an attacker can choose
     * leaks through the length. Pages print the CSRF token masked afresh
     * (auth_csrf_masked), so the plain token in a body means something
     * printed it unmasked: never compress that. */
    if (r->csrf_token && *r->csrf_token && memmem(body, len, r->csrf_token, strlen(r->csrf_token)))
        return 0;
    /* A logged-in page holds more than the token: personal data of the
     * reader and of others. It is compressed only when no other site can
     * have asked for it. */
    if ((r->user || r->session_token) && !own_navigation(r))
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

int compress_deflate_part(const void *data, size_t len, Buf *out, unsigned long *crc)
{
    out->len = 0;
    z_stream z = {0};
    if (deflateInit2(&z, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -1;
    /* A full flush may add an empty stored block after the bound. */
    uLong room = deflateBound(&z, (uLong)len) + 16;
    buf_reserve(out, room + 1);
    z.next_in = (Bytef *)(uintptr_t)data;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)out->data;
    z.avail_out = (uInt)room;
    int rc = deflate(&z, Z_FULL_FLUSH);
    out->len = z.total_out;
    int left = (int)z.avail_in;
    deflateEnd(&z);
    if (rc != Z_OK || left != 0 || z.avail_out == 0)
        return -1;
    *crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)data, (uInt)len);
    return 0;
}

/* Appends data as stored deflate blocks (at most 65,535 bytes each; the
 * last one final when final is set). The stream is byte-aligned here. */
static void put_stored(Buf *out, const char *data, size_t len, int final)
{
    do {
        size_t n = len > 65535 ? 65535 : len;
        unsigned char head[5] = {(unsigned char)(final && n == len), (unsigned char)(n & 0xff),
                                 (unsigned char)(n >> 8), (unsigned char)(~n & 0xff),
                                 (unsigned char)((~n >> 8) & 0xff)};
        buf_append(out, (const char *)head, 5);
        buf_append(out, data, n);
        data += n;
        len -= n;
    } while (len > 0);
}

static void put_le32(Buf *out, unsigned long v)
{
    unsigned char b[4] = {(unsigned char)(v & 0xff), (unsigned char)((v >> 8) & 0xff),
                          (unsigned char)((v >> 16) & 0xff), (unsigned char)((v >> 24) & 0xff)};
    buf_append(out, (const char *)b, 4);
}

/* The gzip stream of body_out = layout before + content + layout after,
 * with the content's precompressed part in the middle and the layout's
 * parts stored (see compress.h for why). */
static int compose(Request *r, Buf *out)
{
    const PageContent *c = &r->content;
    if (!c->deflate || c->at + c->len > r->body_out.len ||
        memcmp(r->body_out.data + c->at, c->html, c->len) != 0)
        return -1;
    const char *before = r->body_out.data, *after = r->body_out.data + c->at + c->len;
    size_t before_len = c->at, after_len = r->body_out.len - c->at - c->len;
    static const unsigned char header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    buf_reserve(out, 10 + before_len + after_len + c->deflate_len + 64);
    buf_append(out, (const char *)header, 10);
    put_stored(out, before, before_len, 0);
    buf_append(out, (const char *)c->deflate, c->deflate_len);
    put_stored(out, after, after_len, 1);
    uLong crc = crc32(crc32(0L, Z_NULL, 0), (const Bytef *)before, (uInt)before_len);
    crc = crc32_combine(crc, c->crc, (z_off_t)c->len);
    crc = crc32_combine(crc, crc32(crc32(0L, Z_NULL, 0), (const Bytef *)after, (uInt)after_len),
                        (z_off_t)after_len);
    put_le32(out, crc);
    put_le32(out, (unsigned long)(r->body_out.len & 0xffffffffu));
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
    /* No room left for Content-Encoding: a compressed body without it
     * would be garbage to the client, so it goes out plain. */
    if (!compress_accepted(r) || r->header_count >= MAX_RESPONSE_HEADERS)
        return;
    if (r->status == 304) {
        /* The validator the client holds names the encoding it got. */
        const char *match = r->header(r, "If-None-Match");
        if (match && strstr(match, "-gz\""))
            etag_for_gzip(r);
        return;
    }
    if (r->status != 200)
        return;
    Buf gz = {0};
    if (r->content.deflate && r->body_out.len >= COMPRESS_MIN_BYTES) {
        if (compose(r, &gz) != 0 || gz.len >= r->body_out.len) {
            buf_free(&gz);
            return;
        }
    } else if (!compress_allowed(r, r->content_type, r->body_out.data, r->body_out.len) ||
               compress_gzip(r->body_out.data, r->body_out.len, &gz) != 0 ||
               gz.len >= r->body_out.len) {
        buf_free(&gz);
        return;
    }
    buf_free(&r->body_out);
    r->body_out = gz;
    http_add_header(r, "Content-Encoding", "gzip");
    etag_for_gzip(r);
}
