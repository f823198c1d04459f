/*
 * form.c: turns query strings, urlencoded bodies and multipart/form-data
 * bodies into Params (name/value pairs), and looks names up in them.
 *
 * Invariants:
 * - Every byte read is inside [s, s + len); input is never assumed to be
 *   NUL-terminated, because request bodies are not.
 * - Everything returned is allocated from the caller's Arena. Names,
 *   filenames and content types never contain NUL; values may, so each
 *   value carries its length and is also NUL-terminated after len bytes.
 * - A parse either appends all of its pairs to out or, on failure, leaves
 *   out->count as it was: a half-parsed form is never visible.
 * - Params has no capacity field, so the capacity is implied by the count
 *   (see params_capacity). out must therefore start zeroed and be grown only
 *   by the functions in this file.
 */
#include "base/form.h"

#include <string.h>
#include <strings.h>

enum {
    FORM_FIRST_CAPACITY = 8,
    FORM_MAX_BOUNDARY = 70,                     /* RFC 2046, section 5.1.1 */
    FORM_MAX_HEADER_BLOCK = 8 * 1024,           /* one part's headers and the blank line */
    FORM_DELIMITER_MAX = 4 + FORM_MAX_BOUNDARY, /* "\r\n--" and the boundary */
};

static const size_t NOT_FOUND = (size_t)-1;

/* ---- The growable Params array ---- */

/* Returns how many items the array holding count items has room for. The
 * array starts at FORM_FIRST_CAPACITY and doubles, so the capacity can be
 * worked out from the count alone. */
static size_t params_capacity(size_t count)
{
    if (count == 0)
        return 0;
    size_t cap = FORM_FIRST_CAPACITY;
    while (cap < count)
        cap *= 2;
    return cap;
}

/* Returns a zeroed slot at the end of p, growing the array by copying it
 * into a bigger arena block when it is full, or NULL when p already holds
 * FORM_MAX_PARAMS items. */
static Param *params_push(Arena *a, Params *p)
{
    if (p->count >= FORM_MAX_PARAMS)
        return NULL;
    size_t cap = params_capacity(p->count);
    if (p->count == cap) {
        size_t new_cap = cap ? cap * 2 : FORM_FIRST_CAPACITY;
        Param *items = arena_alloc(a, new_cap * sizeof(Param));
        if (p->count)
            memcpy(items, p->items, p->count * sizeof(Param));
        p->items = items;
    }
    /* A failed parse may have left an old pair in this slot. */
    Param *slot = &p->items[p->count++];
    memset(slot, 0, sizeof *slot);
    return slot;
}

/* ---- application/x-www-form-urlencoded ---- */

/* Returns the value of one hex digit in either case, or -1. */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes s[0..n) ('+' to space, %XX to a byte) into a NUL-terminated arena
 * copy. Decoding only shrinks, so n + 1 bytes are always enough. */
static Result url_decode(Arena *a, const char *s, size_t n, char **out, size_t *out_len)
{
    char *d = arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '+') {
            d[k++] = ' ';
        } else if (c == '%') {
            if (n - i < 3)
                return R_BAD_REQUEST;
            int hi = hex_value((unsigned char)s[i + 1]);
            int lo = hex_value((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return R_BAD_REQUEST;
            d[k++] = (char)(hi * 16 + lo);
            i += 2;
        } else {
            d[k++] = (char)c;
        }
    }
    d[k] = 0;
    *out = d;
    *out_len = k;
    return R_OK;
}

/* Decodes one non-empty "name=value" (or bare "name") piece into a new
 * pair. A name is used as a C string, so one with a NUL in it is refused
 * rather than silently cut short. */
static Result urlencoded_pair(Arena *a, const char *piece, size_t n, Params *p)
{
    const char *eq = memchr(piece, '=', n);
    size_t name_len = eq ? (size_t)(eq - piece) : n;
    char *name, *value;
    size_t decoded_name_len, value_len;
    Result r = url_decode(a, piece, name_len, &name, &decoded_name_len);
    if (r != R_OK)
        return r;
    if (memchr(name, 0, decoded_name_len))
        return R_BAD_REQUEST;
    if (eq)
        r = url_decode(a, eq + 1, n - name_len - 1, &value, &value_len);
    else
        r = url_decode(a, "", 0, &value, &value_len);
    if (r != R_OK)
        return r;
    Param *slot = params_push(a, p);
    if (!slot)
        return R_BAD_REQUEST;
    slot->name = name;
    slot->value = value;
    slot->len = value_len;
    return R_OK;
}

Result form_parse_urlencoded(Arena *a, const char *s, size_t len, Params *out)
{
    /* Work on a copy so that out is untouched when the input is bad. */
    Params p = *out;
    size_t i = 0;
    while (i < len) {
        const char *piece = s + i;
        const char *amp = memchr(piece, '&', len - i);
        size_t n = amp ? (size_t)(amp - piece) : len - i;
        i += n + 1;
        if (n == 0)
            continue;
        Result r = urlencoded_pair(a, piece, n, &p);
        if (r != R_OK)
            return r;
    }
    *out = p;
    return R_OK;
}

/* ---- Header syntax shared by Content-Type and Content-Disposition ---- */

/* A read position in a header value of known length. */
typedef struct {
    const char *s;
    size_t len;
    size_t pos;
} Cursor;

/* RFC 7230 tchar: the bytes a token may hold. */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* RFC 7230 qdtext and the second byte of a quoted-pair: HTAB, SP, visible
 * ASCII and obs-text. Control bytes (NUL, CR, LF ...) are never allowed. */
static int is_quotable(unsigned char c)
{
    return c == '\t' || (c >= 0x20 && c != 0x7f);
}

static void skip_ows(Cursor *c)
{
    while (c->pos < c->len && (c->s[c->pos] == ' ' || c->s[c->pos] == '\t'))
        c->pos++;
}

/* Advances past a token and returns its length, 0 when there is none. */
static size_t take_token(Cursor *c)
{
    size_t start = c->pos;
    while (c->pos < c->len && is_tchar((unsigned char)c->s[c->pos]))
        c->pos++;
    return c->pos - start;
}

/* Reads a quoted-string starting at its opening quote into a NUL-terminated
 * arena copy with the backslash escapes removed. */
static Result take_quoted(Arena *a, Cursor *c, char **out)
{
    c->pos++;
    char *d = arena_alloc(a, c->len - c->pos + 1);
    size_t k = 0;
    while (c->pos < c->len) {
        unsigned char ch = (unsigned char)c->s[c->pos++];
        if (ch == '"') {
            d[k] = 0;
            *out = d;
            return R_OK;
        }
        if (ch == '\\') {
            if (c->pos == c->len)
                return R_BAD_REQUEST;
            ch = (unsigned char)c->s[c->pos++];
        }
        if (!is_quotable(ch))
            return R_BAD_REQUEST;
        d[k++] = (char)ch;
    }
    return R_BAD_REQUEST; /* no closing quote */
}

/* Reads a parameter value, a token or a quoted-string, into an arena copy. */
static Result take_value(Arena *a, Cursor *c, char **out)
{
    if (c->pos < c->len && c->s[c->pos] == '"')
        return take_quoted(a, c, out);
    size_t start = c->pos;
    size_t n = take_token(c);
    if (n == 0)
        return R_BAD_REQUEST;
    *out = arena_strndup(a, c->s + start, n);
    return R_OK;
}

/* Reads the next "; name=value" parameter. At the end of the header it
 * returns R_OK with *name set to NULL. A trailing ';' is tolerated since
 * some clients send one; anything else out of place is R_BAD_REQUEST. */
static Result next_parameter(Arena *a, Cursor *c, const char **name, size_t *name_len, char **value)
{
    *name = NULL;
    skip_ows(c);
    if (c->pos == c->len)
        return R_OK;
    if (c->s[c->pos] != ';')
        return R_BAD_REQUEST;
    c->pos++;
    skip_ows(c);
    if (c->pos == c->len)
        return R_OK;
    size_t start = c->pos;
    size_t n = take_token(c);
    if (n == 0 || c->pos == c->len || c->s[c->pos] != '=')
        return R_BAD_REQUEST;
    c->pos++;
    Result r = take_value(a, c, value);
    if (r != R_OK)
        return r;
    *name = c->s + start;
    *name_len = n;
    return R_OK;
}

/* 1 if s[0..n) is the word, ignoring ASCII case. */
static int word_is(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

/* ---- multipart/form-data ---- */

/* The boundary is matched byte for byte, so any visible ASCII is safe to
 * accept; a space is allowed inside a quoted boundary but not at its end
 * (RFC 2046 bchars). */
static int boundary_valid(const char *b, size_t n)
{
    if (n < 1 || n > FORM_MAX_BOUNDARY || b[n - 1] == ' ')
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)b[i] < 0x20 || (unsigned char)b[i] > 0x7e)
            return 0;
    return 1;
}

/* Takes the boundary from a Content-Type header value and writes the
 * delimiter that separates parts, "\r\n--" plus the boundary, to delim.
 * A second boundary parameter is refused: two parsers could pick different
 * ones. */
static Result multipart_delimiter(Arena *a, const char *content_type, char *delim,
                                  size_t *delim_len)
{
    if (!content_type)
        return R_BAD_REQUEST;
    Cursor c = {content_type, strlen(content_type), 0};
    skip_ows(&c);
    size_t start = c.pos;
    while (c.pos < c.len && c.s[c.pos] != ';' && c.s[c.pos] != ' ' && c.s[c.pos] != '\t')
        c.pos++;
    if (!word_is(c.s + start, c.pos - start, "multipart/form-data"))
        return R_BAD_REQUEST;
    const char *boundary = NULL;
    for (;;) {
        const char *name;
        size_t name_len;
        char *value;
        Result r = next_parameter(a, &c, &name, &name_len, &value);
        if (r != R_OK)
            return r;
        if (!name)
            break;
        if (word_is(name, name_len, "boundary")) {
            if (boundary)
                return R_BAD_REQUEST;
            boundary = value;
        }
    }
    if (!boundary || !boundary_valid(boundary, strlen(boundary)))
        return R_BAD_REQUEST;
    size_t n = strlen(boundary);
    memcpy(delim, "\r\n--", 4);
    memcpy(delim + 4, boundary, n);
    *delim_len = 4 + n;
    return R_OK;
}

/* Returns the offset of the first copy of needle in hay[from..len), or
 * NOT_FOUND. The needle is at most FORM_DELIMITER_MAX bytes, so the simple
 * search stays linear in len for practical purposes. */
static size_t find_bytes(const char *hay, size_t len, size_t from, const char *needle, size_t n)
{
    while (from < len && len - from >= n) {
        const char *hit = memchr(hay + from, needle[0], len - from - n + 1);
        if (!hit)
            return NOT_FOUND;
        if (memcmp(hit, needle, n) == 0)
            return (size_t)(hit - hay);
        from = (size_t)(hit - hay) + 1;
    }
    return NOT_FOUND;
}

/* What one part's headers said. */
typedef struct {
    int has_disposition;
    char *name;         /* from Content-Disposition; required */
    char *filename;     /* from Content-Disposition; file parts only */
    char *content_type; /* the Content-Type header, trimmed */
} PartHeaders;

/* Reads "form-data; name=...; filename=..." into h. Other parameters (such
 * as filename*, which RFC 7578 says not to use) are ignored, but a repeated
 * name or filename is refused as ambiguous. */
static Result parse_disposition(Arena *a, const char *value, size_t n, PartHeaders *h)
{
    Cursor c = {value, n, 0};
    size_t type_len = take_token(&c);
    if (!word_is(value, type_len, "form-data"))
        return R_BAD_REQUEST;
    for (;;) {
        const char *name;
        size_t name_len;
        char *v;
        Result r = next_parameter(a, &c, &name, &name_len, &v);
        if (r != R_OK)
            return r;
        if (!name)
            return R_OK;
        char **field = NULL;
        if (word_is(name, name_len, "name"))
            field = &h->name;
        else if (word_is(name, name_len, "filename"))
            field = &h->filename;
        if (!field)
            continue;
        if (*field)
            return R_BAD_REQUEST;
        *field = v;
    }
}

/* Parses one header line (without its CRLF). Header names are compared
 * without regard to case; headers other than the two we use are skipped.
 * Control bytes in a value are refused so that a NUL or a bare CR or LF
 * cannot hide in a name, filename or content type. */
static Result parse_part_header(Arena *a, const char *line, size_t n, PartHeaders *h)
{
    Cursor c = {line, n, 0};
    size_t name_len = take_token(&c);
    if (name_len == 0 || c.pos == n || line[c.pos] != ':')
        return R_BAD_REQUEST;
    c.pos++;
    skip_ows(&c);
    size_t end = n;
    while (end > c.pos && (line[end - 1] == ' ' || line[end - 1] == '\t'))
        end--;
    const char *value = line + c.pos;
    size_t value_len = end - c.pos;
    for (size_t i = 0; i < value_len; i++)
        if (!is_quotable((unsigned char)value[i]))
            return R_BAD_REQUEST;
    if (word_is(line, name_len, "content-disposition")) {
        if (h->has_disposition)
            return R_BAD_REQUEST;
        h->has_disposition = 1;
        return parse_disposition(a, value, value_len, h);
    }
    if (word_is(line, name_len, "content-type")) {
        if (h->content_type)
            return R_BAD_REQUEST;
        h->content_type = arena_strndup(a, value, value_len);
    }
    return R_OK;
}

/* Reads a part's header lines from *pos through the blank line that ends
 * them, which must come within FORM_MAX_HEADER_BLOCK bytes. Every line ends
 * in CRLF: a bare CR or LF is refused rather than guessed at. */
static Result parse_part_headers(Arena *a, const char *body, size_t len, size_t *pos,
                                 PartHeaders *h)
{
    size_t limit = len - *pos > FORM_MAX_HEADER_BLOCK ? *pos + FORM_MAX_HEADER_BLOCK : len;
    size_t at = *pos;
    for (;;) {
        size_t eol = find_bytes(body, limit, at, "\r\n", 2);
        if (eol == NOT_FOUND)
            return R_BAD_REQUEST; /* truncated, or the header block is too big */
        if (eol == at) {
            *pos = eol + 2;
            break;
        }
        if (memchr(body + at, '\r', eol - at) || memchr(body + at, '\n', eol - at))
            return R_BAD_REQUEST;
        Result r = parse_part_header(a, body + at, eol - at, h);
        if (r != R_OK)
            return r;
        at = eol + 2;
    }
    /* Browsers never send a field without a name, so a nameless part is
     * malformed rather than something to skip. */
    if (!h->has_disposition || !h->name || h->name[0] == 0)
        return R_BAD_REQUEST;
    return R_OK;
}

/* Reads what follows a boundary: "--" for the last one, or optional padding
 * and CRLF before the next part. Sets *last accordingly. Whatever follows
 * the last boundary is the epilogue, which RFC 2046 says to ignore. */
static Result after_delimiter(const char *body, size_t len, size_t *pos, int *last)
{
    size_t at = *pos;
    *last = len - at >= 2 && body[at] == '-' && body[at + 1] == '-';
    if (*last)
        return R_OK;
    while (at < len && (body[at] == ' ' || body[at] == '\t'))
        at++;
    if (len - at < 2 || body[at] != '\r' || body[at + 1] != '\n')
        return R_BAD_REQUEST;
    *pos = at + 2;
    return R_OK;
}

/* Reads one part at *pos: its headers, then its content up to the next
 * delimiter, and appends it to p. Leaves *pos just past that delimiter. */
static Result parse_part(Arena *a, const char *body, size_t len, size_t *pos, const char *delim,
                         size_t delim_len, Params *p)
{
    PartHeaders h = {0};
    Result r = parse_part_headers(a, body, len, pos, &h);
    if (r != R_OK)
        return r;
    size_t end = find_bytes(body, len, *pos, delim, delim_len);
    if (end == NOT_FOUND)
        return R_BAD_REQUEST; /* no delimiter after the content: truncated */
    Param *slot = params_push(a, p);
    if (!slot)
        return R_BAD_REQUEST;
    slot->name = h.name;
    slot->value = arena_strndup(a, body + *pos, end - *pos);
    slot->len = end - *pos;
    slot->filename = h.filename;
    slot->content_type = h.content_type;
    *pos = end + delim_len;
    return R_OK;
}

/* Returns the offset just past the first boundary line's "--boundary": at
 * the very start of the body, or after a preamble and CRLF. */
static size_t first_delimiter(const char *body, size_t len, const char *delim, size_t delim_len)
{
    /* delim + 2 is the "--boundary" without the CRLF in front. */
    if (len >= delim_len - 2 && memcmp(body, delim + 2, delim_len - 2) == 0)
        return delim_len - 2;
    size_t at = find_bytes(body, len, 0, delim, delim_len);
    return at == NOT_FOUND ? NOT_FOUND : at + delim_len;
}

Result form_parse_multipart(Arena *a, const char *content_type, const char *body, size_t len,
                            Params *out)
{
    char delim[FORM_DELIMITER_MAX];
    size_t delim_len;
    Result r = multipart_delimiter(a, content_type, delim, &delim_len);
    if (r != R_OK)
        return r;
    if (len == 0)
        return R_BAD_REQUEST;
    size_t pos = first_delimiter(body, len, delim, delim_len);
    if (pos == NOT_FOUND)
        return R_BAD_REQUEST;
    /* Work on a copy so that out is untouched when the body is bad. */
    Params p = *out;
    for (;;) {
        int last;
        r = after_delimiter(body, len, &pos, &last);
        if (r != R_OK)
            return r;
        if (last)
            break;
        r = parse_part(a, body, len, &pos, delim, delim_len, &p);
        if (r != R_OK)
            return r;
    }
    *out = p;
    return R_OK;
}

const Param *form_get(const Params *p, const char *name)
{
    if (!p || !name)
        return NULL;
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->items[i].name, name) == 0)
            return &p->items[i];
    return NULL;
}
