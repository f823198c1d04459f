/*
 * form.h: parsing of request bodies and query strings into name/value pairs:
 * application/x-www-form-urlencoded and multipart/form-data.
 *
 * Everything returned lives in the Arena given; nothing is freed by hand.
 * The parsers never read past len, accept any bytes (values may contain NUL:
 * use len), and fail cleanly on malformed input: they are fuzzed.
 */
#ifndef RATIFY_FORM_H
#define RATIFY_FORM_H

#include <stddef.h>

#include "base/util.h"

typedef struct {
    const char *name;         /* NUL-terminated, percent-decoded */
    const char *value;        /* NUL-terminated after len bytes */
    size_t len;               /* length of value */
    const char *filename;     /* multipart file parts only, else NULL */
    const char *content_type; /* multipart parts with a Content-Type, else NULL */
} Param;

typedef struct {
    Param *items;
    size_t count;
} Params;

enum { FORM_MAX_PARAMS = 1000 };

/* Parses "a=1&b=x%20y+z" (query strings and urlencoded bodies). '+' is a
 * space; a bad %-escape is R_BAD_REQUEST; more than FORM_MAX_PARAMS pairs
 * is R_BAD_REQUEST. Empty pieces ("a=1&&b=2") are skipped. Appends to out. */
Result form_parse_urlencoded(Arena *a, const char *s, size_t len, Params *out);

/* Parses a multipart/form-data body. content_type is the request's whole
 * Content-Type header value, from which the boundary is taken (quoted or
 * not, at most 70 characters). Each part needs a Content-Disposition:
 * form-data header with a name. Returns R_BAD_REQUEST on any malformation
 * (missing boundary, missing final delimiter, part without name, too many
 * parts). Appends to out. */
Result form_parse_multipart(Arena *a, const char *content_type, const char *body, size_t len,
                            Params *out);

/* Returns the first param called name, or NULL. */
const Param *form_get(const Params *p, const char *name);

#endif
