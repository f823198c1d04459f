/*
 * compress.h: gzip for responses, done by Ratify itself so that pages are
 * small on a phone whether or not nginx stands in front (issue 14).
 *
 * A response is compressed only when all of these hold:
 * - the client sent Accept-Encoding with gzip (not "gzip;q=0");
 * - its type is text (HTML, CSS, JSON, SVG, plain text, JavaScript,
 *   iCalendar, CSV), never an already-compressed one (PDF, PNG, XLSX, ...);
 * - its body is at least COMPRESS_MIN_BYTES (smaller ones gain nothing);
 * - it holds no secret next to text an attacker can choose (BREACH): the
 *   CSRF token is printed masked with a fresh random pad in every response
 *   (auth_csrf_masked), and a body holding the plain token is never
 *   compressed; a logged-in page (personal data) is compressed only when
 *   the browser's Sec-Fetch-Site says Ratify's own pages or the person
 *   asked for it ("same-origin" or "none"), never when another site may
 *   have made the request or the browser does not say.
 * A logged-in page whose content came from the fragment cache is the one
 * exception, made safe by construction: the content (the same for every
 * reader, no secret in it) is compressed alone, and the layout around it
 * (menu, CSRF token) goes into the same gzip stream as *stored* blocks,
 * not compressed, so the response's length does not depend on the
 * secret's value however the content was chosen.
 * Every response of a compressible type says "Vary: Accept-Encoding", so
 * that shared caches keep the two encodings apart. A compressed response's
 * ETag gets "-gz" before its closing quote (a strong ETag names one
 * encoding); If-None-Match with either form matches (compress_etag_match).
 * nginx never compresses again: its gzip filter skips a response that
 * already has a Content-Encoding.
 */
#ifndef RATIFY_COMPRESS_H
#define RATIFY_COMPRESS_H

#include <stddef.h>

#include "base/util.h"
#include "svc/http.h"

enum { COMPRESS_MIN_BYTES = 1024 };

/* 1 when the request's Accept-Encoding allows gzip. */
int compress_accepted(Request *r);

/* 1 when a body of this content type and length may be compressed for r
 * (the type and the secrets above; not whether the client accepts it). */
int compress_allowed(Request *r, const char *content_type, const char *body, size_t len);

/* 1 when the content type is one compression helps (text of some kind). */
int compress_type_ok(const char *content_type);

/* gzip of in[0..len) into out (emptied first). Returns 0 or -1. */
int compress_gzip(const void *in, size_t len, Buf *out);

/* data[0..len) alone as raw deflate ending on a full flush (byte-aligned,
 * no final block, nothing referring back), and its CRC-32: a part that
 * compress_response can place inside a gzip stream. Returns 0 or -1. */
int compress_deflate_part(const void *data, size_t len, Buf *out, unsigned long *crc);

/* Compresses r's response in place when allowed and accepted, and adds
 * Vary; the last step before the response is sent. */
void compress_response(Request *r);

#endif
