/*
 * i18n.c: the message catalogues (gettext .po files compiled into the binary
 * as assets "po/LANG.po"), lookups in them, and the choice of a request's
 * language from the user's profile and the Accept-Language header.
 *
 * Invariants: i18n_init() runs once before any thread starts; afterwards the
 * language table and the catalogues are never modified, so every other
 * function is a plain read and needs no lock. A Catalog holds only usable
 * translations (no header, no fuzzy, empty or msgctxt entries), sorted by
 * msgid for bsearch. Every string handed out is valid UTF-8 without NUL.
 */
#include "base/i18n.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/assets.h"
#include "base/util.h"

/* ---- Catalogues ---------------------------------------------------------- */

typedef struct {
    char *msgid;     /* NUL-terminated UTF-8 */
    char *msgstr;    /* the translation (msgstr[0] of a plural entry); NULL while
                      * parsing for unusable entries */
    char *plurals;   /* a plural entry's msgstr[1..] one after the other, each
                      * NUL-terminated; NULL for a singular entry */
    unsigned nforms; /* a plural entry's msgstr[N] count; 0 for a singular one */
    size_t line;     /* line of the msgid keyword, for error messages */
} Entry;

struct Catalog {
    Entry *entries; /* usable entries only, sorted by msgid (strcmp), unique */
    size_t count;
    char *plural_rule; /* the header's "plural=" C expression in n, or NULL */
};

/* The state of one parse. A .po file is read line by line: a keyword line
 * (msgctxt, msgid, msgid_plural, msgstr, msgstr[N]) starts a string, and a
 * line holding only a string continues the last one. */
typedef struct {
    const char *src; /* the whole file, len bytes, not NUL-terminated */
    size_t len;
    size_t pos;  /* start of the next unread line */
    size_t line; /* number of the line being parsed, from 1 */
    char *err;   /* where to write "LINE: message"; may be NULL */
    size_t errlen;

    /* The entry being read. Strings accumulate in Bufs since continuation
     * lines append to them; what is not kept goes to discard. */
    Buf id, str, discard;
    Buf forms;         /* msgstr[1..] of a plural entry, NUL-separated */
    char *plural_rule; /* from the header's Plural-Forms, once read */
    int has_ctxt, has_id, has_plural, has_str;
    int fuzzy;            /* a "#, fuzzy" comment came before this entry */
    unsigned next_plural; /* the N the next msgstr[N] must have */
    size_t id_line;       /* line of this entry's msgid */
    Buf *field;           /* what a continuation line appends to, or NULL */

    Entry *entries; /* every entry without msgctxt, in file order */
    size_t count, cap;
} Parser;

static int fail(Parser *p, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Writes "LINE: message" to the caller's buffer. Always returns -1 so that
 * error paths read "return fail(...)". */
static int fail(Parser *p, size_t line, const char *fmt, ...)
{
    if (!p->err || p->errlen == 0)
        return -1;
    int n = snprintf(p->err, p->errlen, "%zu: ", line);
    if (n >= 0 && (size_t)n < p->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A Buf's contents as a new NUL-terminated string (a Buf's data is NULL
 * until something is appended, and stale after len is reset to 0). */
static char *buf_dup(const Buf *b)
{
    char *s = xmalloc(b->len + 1);
    if (b->len)
        memcpy(s, b->data, b->len);
    s[b->len] = 0;
    return s;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static size_t skip_space(const char *s, size_t n, size_t i)
{
    while (i < n && is_space(s[i]))
        i++;
    return i;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Decodes the escape sequence whose first character (after the backslash)
 * is s[*k], advancing *k past it. Returns the byte, or -1 if the sequence is
 * not one C allows, or 0 for a NUL (which a C string cannot hold). */
static int decode_escape(const char *s, size_t n, size_t *k)
{
    /* Pairs of (character after the backslash, byte it stands for). */
    static const char simple[] = "n\nt\tr\ra\ab\bf\fv\v\\\\\"\"''\?\?";
    char c = s[*k];
    for (const char *e = simple; *e; e += 2) {
        if (*e == c) {
            (*k)++;
            return (unsigned char)e[1];
        }
    }
    int value = 0, digits = 0;
    if (c == 'x') {
        (*k)++;
        while (*k < n && digits < 2 && hex_value(s[*k]) >= 0) {
            value = value * 16 + hex_value(s[*k]);
            (*k)++;
            digits++;
        }
        return digits ? value : -1;
    }
    while (*k < n && digits < 3 && s[*k] >= '0' && s[*k] <= '7') {
        value = value * 8 + (s[*k] - '0');
        (*k)++;
        digits++;
    }
    if (digits == 0 || value > 255)
        return -1;
    return value;
}

/* Decodes the quoted string that starts at s[*i] (a '"') into out and moves
 * *i past its closing quote. */
static int parse_string(Parser *p, const char *s, size_t n, size_t *i, Buf *out)
{
    size_t k = *i + 1;
    while (k < n && s[k] != '"') {
        if (s[k] != '\\') {
            size_t run = k;
            while (run < n && s[run] != '"' && s[run] != '\\')
                run++;
            buf_append(out, s + k, run - k);
            k = run;
            continue;
        }
        k++;
        if (k >= n)
            break;
        int c = decode_escape(s, n, &k);
        if (c < 0)
            return fail(p, p->line, "invalid escape sequence");
        if (c == 0)
            return fail(p, p->line, "NUL escape in string");
        buf_putc(out, (char)c);
    }
    if (k >= n)
        return fail(p, p->line, "unterminated string");
    *i = k + 1;
    return 0;
}

/* Parses the string at s[i] into out and checks that nothing but blanks
 * follows it on the line. */
static int parse_string_line(Parser *p, const char *s, size_t n, size_t i, Buf *out)
{
    if (i >= n || s[i] != '"')
        return fail(p, p->line, "expected a string");
    if (parse_string(p, s, n, &i, out) < 0)
        return -1;
    if (skip_space(s, n, i) != n)
        return fail(p, p->line, "unexpected text after the string");
    return 0;
}

/* Looks for "charset=" in the header entry: a catalogue in another encoding
 * would put bytes into pages that are served as UTF-8. */
static int check_charset(Parser *p)
{
    static const char key[] = "charset=";
    const size_t keylen = sizeof key - 1;
    const char *h = p->str.data;
    size_t n = p->str.len;
    for (size_t i = 0; i + keylen <= n; i++) {
        if (strncasecmp(h + i, key, keylen) != 0)
            continue;
        size_t start = i + keylen, end = start;
        while (end < n && !is_space(h[end]) && h[end] != ';' && h[end] != '\n' && h[end] != '\r')
            end++;
        size_t vlen = end - start;
        if ((vlen == 5 && strncasecmp(h + start, "UTF-8", 5) == 0) ||
            (vlen == 4 && strncasecmp(h + start, "UTF8", 4) == 0))
            return 0;
        return fail(p, p->id_line, "the charset must be UTF-8");
    }
    return 0;
}

/* "Plural-Forms: nplurals=2; plural=(n != 1);" in the header: keeps the
 * expression after "plural=" (up to ';' or the end of the line). A header
 * without one leaves the rule NULL: the English rule (n != 1) then. */
static void read_plural_rule(Parser *p)
{
    static const char key[] = "plural=";
    const char *h = p->str.data;
    size_t n = p->str.len;
    for (size_t i = 0; h && i + sizeof key - 1 <= n; i++) {
        if (strncmp(h + i, key, sizeof key - 1) != 0 || (i > 0 && h[i - 1] == 'n'))
            continue; /* not "nplurals=" */
        size_t start = i + sizeof key - 1, end = start;
        while (end < n && h[end] != ';' && h[end] != '\n')
            end++;
        free(p->plural_rule);
        p->plural_rule = xmalloc(end - start + 1);
        memcpy(p->plural_rule, h + start, end - start);
        p->plural_rule[end - start] = 0;
        return;
    }
}

/* msgstr[1..] as read into forms, separated by NULs: each must be
 * non-empty, valid UTF-8 text. */
static int plural_forms_usable(const Parser *p)
{
    if (p->next_plural < 2 || p->forms.len == 0)
        return 0;
    const char *s = p->forms.data;
    size_t n = p->forms.len, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i < n && s[i] != 0)
            continue;
        if (i == start || !utf8_valid_text(s + start, i - start))
            return 0;
        start = i + 1;
    }
    return 1;
}

/* Checks the entry read so far and keeps it unless it has a context. The
 * header (empty msgid) is only checked. */
static int keep_entry(Parser *p)
{
    if (p->has_ctxt)
        return 0;
    if (p->id.len == 0) {
        read_plural_rule(p);
        return check_charset(p);
    }
    if (!utf8_valid_text(p->id.data, p->id.len))
        return fail(p, p->id_line, "msgid is not valid UTF-8 text");
    int usable = !p->fuzzy && p->str.len > 0;
    if (usable && !utf8_valid_text(p->str.data, p->str.len))
        return fail(p, p->id_line, "msgstr is not valid UTF-8 text");
    if (p->count == p->cap) {
        p->cap = p->cap ? p->cap * 2 : 64;
        p->entries = xrealloc(p->entries, p->cap * sizeof *p->entries);
    }
    /* A plural entry is usable only with every form translated. */
    if (usable && p->has_plural)
        usable = plural_forms_usable(p);
    Entry *e = &p->entries[p->count++];
    e->msgid = buf_dup(&p->id);
    e->msgstr = usable ? buf_dup(&p->str) : NULL;
    e->plurals = usable && p->has_plural ? buf_dup(&p->forms) : NULL;
    e->nforms = usable && p->has_plural ? p->next_plural : 0;
    e->line = p->id_line;
    return 0;
}

/* Ends the entry read so far and readies the parser for the next one. */
static int finish_entry(Parser *p)
{
    int rc = keep_entry(p);
    p->has_ctxt = p->has_id = p->has_plural = p->has_str = p->fuzzy = 0;
    p->next_plural = 0;
    p->field = NULL;
    return rc;
}

/* Points continuation lines at b, emptied. */
static Buf *start_field(Parser *p, Buf *b)
{
    b->len = 0;
    p->field = b;
    return b;
}

/* "#, fuzzy, c-format": only the fuzzy flag matters here. */
static int has_fuzzy_flag(const char *s, size_t n)
{
    size_t i = 2;
    while (i < n) {
        i = skip_space(s, n, i);
        size_t start = i;
        while (i < n && s[i] != ',')
            i++;
        size_t end = i;
        while (end > start && is_space(s[end - 1]))
            end--;
        if (end - start == 5 && memcmp(s + start, "fuzzy", 5) == 0)
            return 1;
        i++;
    }
    return 0;
}

/* A comment after a complete entry ends it; flags before an entry belong to
 * the next one. Comments inside an entry (between msgid and msgstr) are
 * tolerated but ignored. */
static int parse_comment(Parser *p, const char *s, size_t n)
{
    if (p->has_str && finish_entry(p) < 0)
        return -1;
    p->field = NULL;
    if (n >= 2 && s[1] == ',' && !p->has_ctxt && !p->has_id && has_fuzzy_flag(s, n))
        p->fuzzy = 1;
    return 0;
}

/* Before msgctxt or msgid: the previous entry must be complete. */
static int end_previous(Parser *p)
{
    if (p->has_str)
        return finish_entry(p);
    if (p->has_id)
        return fail(p, p->id_line, "msgid without msgstr");
    return 0;
}

static int keyword_msgctxt(Parser *p, const char *s, size_t n, size_t i)
{
    if (end_previous(p) < 0)
        return -1;
    if (p->has_ctxt)
        return fail(p, p->line, "msgctxt without msgid");
    p->has_ctxt = 1;
    return parse_string_line(p, s, n, i, start_field(p, &p->discard));
}

static int keyword_msgid(Parser *p, const char *s, size_t n, size_t i)
{
    if (end_previous(p) < 0)
        return -1;
    p->has_id = 1;
    p->id_line = p->line;
    return parse_string_line(p, s, n, i, start_field(p, &p->id));
}

static int keyword_msgid_plural(Parser *p, const char *s, size_t n, size_t i)
{
    if (!p->has_id || p->has_plural || p->has_str)
        return fail(p, p->line, "msgid_plural without msgid");
    p->has_plural = 1;
    return parse_string_line(p, s, n, i, start_field(p, &p->discard));
}

static int keyword_msgstr(Parser *p, const char *s, size_t n, size_t i)
{
    if (!p->has_id || p->has_str)
        return fail(p, p->line, "msgstr without msgid");
    if (p->has_plural)
        return fail(p, p->line, "msgid_plural needs msgstr[0], not msgstr");
    p->has_str = 1;
    return parse_string_line(p, s, n, i, start_field(p, &p->str));
}

/* msgstr[N]: only msgstr[0] is kept, as Ratify has no plural lookups. The
 * indexes must run 0, 1, 2... as msgfmt requires. */
static int keyword_msgstr_n(Parser *p, const char *s, size_t n, size_t i)
{
    unsigned index = 0;
    size_t digits = 0;
    i++; /* '[' */
    while (i < n && s[i] >= '0' && s[i] <= '9' && digits < 4) {
        index = index * 10 + (unsigned)(s[i] - '0');
        i++;
        digits++;
    }
    if (digits == 0 || i >= n || s[i] != ']')
        return fail(p, p->line, "bad msgstr[N] index");
    i = skip_space(s, n, i + 1);
    if (!p->has_id)
        return fail(p, p->line, "msgstr without msgid");
    if (!p->has_plural)
        return fail(p, p->line, "msgstr[%u] without msgid_plural", index);
    if (index != p->next_plural)
        return fail(p, p->line, "expected msgstr[%u]", p->next_plural);
    p->next_plural++;
    if (index > 0) {
        /* Forms after the first are kept one after the other, a NUL
         * between two; continuation lines append to the last one. */
        if (index > 1)
            buf_putc(&p->forms, 0);
        p->field = &p->forms;
        return parse_string_line(p, s, n, i, &p->forms);
    }
    p->has_str = 1;
    p->forms.len = 0;
    return parse_string_line(p, s, n, i, start_field(p, &p->str));
}

static int word_is(const char *s, size_t n, const char *word)
{
    return strlen(word) == n && memcmp(s, word, n) == 0;
}

static int parse_keyword(Parser *p, const char *s, size_t n, size_t i)
{
    size_t start = i;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
        i++;
    const char *word = s + start;
    size_t wlen = i - start;
    if (word_is(word, wlen, "msgstr") && i < n && s[i] == '[')
        return keyword_msgstr_n(p, s, n, i);
    if (wlen == 0 || (i < n && !is_space(s[i]) && s[i] != '"'))
        return fail(p, p->line, "syntax error: expected a keyword, a string or a comment");
    i = skip_space(s, n, i);
    if (word_is(word, wlen, "msgctxt"))
        return keyword_msgctxt(p, s, n, i);
    if (word_is(word, wlen, "msgid"))
        return keyword_msgid(p, s, n, i);
    if (word_is(word, wlen, "msgid_plural"))
        return keyword_msgid_plural(p, s, n, i);
    if (word_is(word, wlen, "msgstr"))
        return keyword_msgstr(p, s, n, i);
    return fail(p, p->line, "unknown keyword \"%.*s\"", wlen > 20 ? 20 : (int)wlen, word);
}

static int parse_line(Parser *p, const char *s, size_t n)
{
    if (memchr(s, 0, n))
        return fail(p, p->line, "NUL byte");
    size_t i = skip_space(s, n, 0);
    if (i == n)
        return 0;
    if (s[i] == '#')
        return parse_comment(p, s + i, n - i);
    if (s[i] == '"') {
        if (!p->field)
            return fail(p, p->line, "string without a keyword before it");
        return parse_string_line(p, s, n, i, p->field);
    }
    return parse_keyword(p, s, n, i);
}

/* Returns the next line, without its LF or CRLF, in *s and *n; 0 at the end
 * of the input. */
static int next_line(Parser *p, const char **s, size_t *n)
{
    if (p->pos >= p->len)
        return 0;
    const char *start = p->src + p->pos;
    const char *nl = memchr(start, '\n', p->len - p->pos);
    size_t len = nl ? (size_t)(nl - start) : p->len - p->pos;
    p->pos += len + (nl ? 1 : 0);
    if (len > 0 && start[len - 1] == '\r')
        len--;
    p->line++;
    *s = start;
    *n = len;
    return 1;
}

static int by_msgid(const void *a, const void *b)
{
    return strcmp(((const Entry *)a)->msgid, ((const Entry *)b)->msgid);
}

/* Sorts the entries, rejects a msgid defined twice (as msgfmt does: one of
 * the two translations would be silently lost) and keeps the usable ones. */
static int build_catalog(Parser *p, Catalog *c)
{
    if (p->count > 1)
        qsort(p->entries, p->count, sizeof *p->entries, by_msgid);
    for (size_t i = 1; i < p->count; i++) {
        const Entry *a = &p->entries[i - 1], *b = &p->entries[i];
        if (strcmp(a->msgid, b->msgid) == 0) {
            size_t first = a->line < b->line ? a->line : b->line;
            size_t second = a->line < b->line ? b->line : a->line;
            return fail(p, second, "duplicate msgid (first on line %zu)", first);
        }
    }
    c->entries = xcalloc(p->count, sizeof *c->entries);
    for (size_t i = 0; i < p->count; i++) {
        Entry *e = &p->entries[i];
        if (!e->msgstr)
            continue;
        c->entries[c->count++] = *e;
        e->msgid = e->msgstr = e->plurals = NULL;
    }
    c->plural_rule = p->plural_rule;
    p->plural_rule = NULL;
    return 0;
}

static void free_entries(Entry *entries, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(entries[i].msgid);
        free(entries[i].msgstr);
        free(entries[i].plurals);
    }
    free(entries);
}

Catalog *i18n_catalog_parse(const char *src, size_t len, char *err, size_t errlen)
{
    Parser p = {.src = src, .len = src ? len : 0, .err = err, .errlen = errlen};
    Catalog *c = xcalloc(1, sizeof *c);
    const char *line;
    size_t n;
    int rc = 0;
    if (err && errlen)
        err[0] = 0;
    while (rc == 0 && next_line(&p, &line, &n))
        rc = parse_line(&p, line, n);
    if (rc == 0 && p.has_str)
        rc = finish_entry(&p);
    else if (rc == 0 && p.has_id)
        rc = fail(&p, p.id_line, "msgid without msgstr");
    else if (rc == 0 && p.has_ctxt)
        rc = fail(&p, p.line, "msgctxt without msgid");
    if (rc == 0)
        rc = build_catalog(&p, c);
    free_entries(p.entries, p.count);
    buf_free(&p.id);
    buf_free(&p.str);
    buf_free(&p.discard);
    buf_free(&p.forms);
    free(p.plural_rule);
    if (rc < 0) {
        i18n_catalog_free(c);
        return NULL;
    }
    return c;
}

static int msgid_cmp(const void *key, const void *elem)
{
    return strcmp(key, ((const Entry *)elem)->msgid);
}

const char *i18n_catalog_get(const Catalog *c, const char *msgid)
{
    if (!c || !msgid || c->count == 0)
        return NULL;
    const Entry *e = bsearch(msgid, c->entries, c->count, sizeof *c->entries, msgid_cmp);
    return e ? e->msgstr : NULL;
}

/* ---- Plural forms: the header's C expression, evaluated ---------------- */

/* A recursive-descent evaluator of the subset of C that Plural-Forms use:
 * n, decimal numbers, ( ), ! * / % + - < <= > >= == != && || ?:. Any
 * syntax error, or a division by zero, makes the result -1 (the caller
 * then falls back to the first form). */
typedef struct {
    const char *s;
    unsigned long n;
    int bad;
} PluralEval;

static unsigned long plural_ternary(PluralEval *e);

static void plural_space(PluralEval *e)
{
    while (*e->s == ' ' || *e->s == '\t')
        e->s++;
}

static int plural_take(PluralEval *e, const char *op)
{
    plural_space(e);
    size_t n = strlen(op);
    if (strncmp(e->s, op, n) != 0)
        return 0;
    /* "<" is not the start of "<=", nor "=" of "==", nor "|" of "||" ... */
    if (n == 1 && (op[0] == '<' || op[0] == '>' || op[0] == '!') && e->s[1] == '=')
        return 0;
    e->s += n;
    return 1;
}

static unsigned long plural_primary(PluralEval *e)
{
    plural_space(e);
    if (plural_take(e, "(")) {
        unsigned long v = plural_ternary(e);
        if (!plural_take(e, ")"))
            e->bad = 1;
        return v;
    }
    if (plural_take(e, "!"))
        return !plural_primary(e);
    if (*e->s == 'n') {
        e->s++;
        return e->n;
    }
    if (*e->s >= '0' && *e->s <= '9') {
        unsigned long v = 0;
        while (*e->s >= '0' && *e->s <= '9' && v < 100000000UL)
            v = v * 10 + (unsigned long)(*e->s++ - '0');
        return v;
    }
    e->bad = 1;
    return 0;
}

static unsigned long plural_product(PluralEval *e)
{
    unsigned long v = plural_primary(e);
    for (;;) {
        int op = plural_take(e, "*")   ? '*'
                 : plural_take(e, "/") ? '/'
                 : plural_take(e, "%") ? '%'
                                       : 0;
        if (!op || e->bad)
            return v;
        unsigned long w = plural_primary(e);
        if (op != '*' && w == 0) {
            e->bad = 1;
            return 0;
        }
        v = op == '*' ? v * w : op == '/' ? v / w : v % w;
    }
}

static unsigned long plural_sum(PluralEval *e)
{
    unsigned long v = plural_product(e);
    for (;;) {
        if (plural_take(e, "+"))
            v += plural_product(e);
        else if (plural_take(e, "-"))
            v -= plural_product(e);
        else
            return v;
    }
}

static unsigned long plural_relation(PluralEval *e)
{
    unsigned long v = plural_sum(e);
    for (;;) {
        if (plural_take(e, "<="))
            v = v <= plural_sum(e);
        else if (plural_take(e, ">="))
            v = v >= plural_sum(e);
        else if (plural_take(e, "<"))
            v = v < plural_sum(e);
        else if (plural_take(e, ">"))
            v = v > plural_sum(e);
        else
            return v;
    }
}

static unsigned long plural_equality(PluralEval *e)
{
    unsigned long v = plural_relation(e);
    for (;;) {
        if (plural_take(e, "=="))
            v = v == plural_relation(e);
        else if (plural_take(e, "!="))
            v = v != plural_relation(e);
        else
            return v;
    }
}

static unsigned long plural_and(PluralEval *e)
{
    unsigned long v = plural_equality(e);
    while (plural_take(e, "&&")) {
        unsigned long w = plural_equality(e);
        v = v && w;
    }
    return v;
}

static unsigned long plural_or(PluralEval *e)
{
    unsigned long v = plural_and(e);
    while (plural_take(e, "||")) {
        unsigned long w = plural_and(e);
        v = v || w;
    }
    return v;
}

static unsigned long plural_ternary(PluralEval *e)
{
    unsigned long c = plural_or(e);
    if (!plural_take(e, "?"))
        return c;
    unsigned long a = plural_ternary(e);
    if (!plural_take(e, ":")) {
        e->bad = 1;
        return 0;
    }
    unsigned long b = plural_ternary(e);
    return c ? a : b;
}

long i18n_plural_index(const char *rule, unsigned long n)
{
    if (!rule)
        return n != 1;
    PluralEval e = {.s = rule, .n = n};
    unsigned long v = plural_ternary(&e);
    plural_space(&e);
    if (e.bad || *e.s)
        return -1;
    return v > 1000 ? -1 : (long)v;
}

const char *i18n_catalog_nget(const Catalog *c, const char *msgid, unsigned long n)
{
    if (!c || !msgid || c->count == 0)
        return NULL;
    const Entry *e = bsearch(msgid, c->entries, c->count, sizeof *c->entries, msgid_cmp);
    if (!e || !e->nforms)
        return NULL;
    long index = i18n_plural_index(c->plural_rule, n);
    if (index <= 0 || (unsigned long)index >= e->nforms)
        return e->msgstr;
    const char *form = e->plurals;
    for (long i = 1; i < index; i++)
        form += strlen(form) + 1;
    return form;
}

size_t i18n_catalog_count(const Catalog *c)
{
    return c ? c->count : 0;
}

void i18n_catalog_free(Catalog *c)
{
    if (!c)
        return;
    free_entries(c->entries, c->count);
    free(c->plural_rule);
    free(c);
}

/* ---- Languages ----------------------------------------------------------- */

/* The one list of languages Ratify knows: each one's name for itself and its
 * direction. Members say which of them they work in (all of them); the UI
 * is offered in those it is translated into (English, and each with a
 * catalogue: i18n_init sets .translated). A catalogue for a language missing
 * here still works and is listed under its code. Letters are in the
 * languages their model letters are written in (model_letters.lang). */
static Language known[] = {
    {"en", "English", 0, 1}, {"es", "Español", 0, 0},   {"fr", "Français", 0, 0},
    {"ar", "العربية", 1, 0}, {"de", "Deutsch", 0, 0},   {"fa", "فارسی", 1, 0},
    {"he", "עברית", 1, 0},   {"it", "Italiano", 0, 0},  {"pt", "Português", 0, 0},
    {"ru", "Русский", 0, 0}, {"sw", "Kiswahili", 0, 0}, {"ur", "اردو", 1, 0},
    {"zh", "中文", 0, 0},    {NULL, NULL, 0, 0},
};
enum { KNOWN_COUNT = sizeof known / sizeof known[0] - 1 };

/* Before i18n_init (and after i18n_free) only English is offered. */
static const Language english_only[] = {{"en", "English", 0, 1}, {NULL, NULL, 0, 0}};

static Language *languages;   /* "en" first, then one per catalogue; NULL-terminated */
static Catalog **catalogs;    /* catalogs[i] translates into languages[i]; may be NULL */
static size_t language_count; /* entries in languages before the terminator */

/* The entry of known[] for code, or NULL. */
static Language *known_language(const char *code)
{
    for (size_t i = 0; i < KNOWN_COUNT; i++)
        if (strcmp(known[i].code, code) == 0)
            return &known[i];
    return NULL;
}

static const Language *offered(size_t *count)
{
    *count = languages ? language_count : 1;
    return languages ? languages : english_only;
}

/* The language code of a catalogue asset: "po/pt_BR.po" gives "pt_BR".
 * Returns NULL for other assets. The caller frees the result. */
static char *catalog_code(const char *path)
{
    size_t n = strlen(path);
    if (n < 7 || strncmp(path, "po/", 3) != 0 || strcmp(path + n - 3, ".po") != 0)
        return NULL;
    const char *code = path + 3;
    size_t len = n - 6;
    if (len > 15)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = code[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-' || c == '@'))
            return NULL;
    }
    char *s = xmalloc(len + 1);
    memcpy(s, code, len);
    s[len] = 0;
    return s;
}

static void free_tables(Language *langs, Catalog **cats, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        i18n_catalog_free(cats[i]);
        if (i > 0)
            free((char *)langs[i].code); /* only "en" is a literal */
    }
    free(langs);
    free(cats);
}

int i18n_init(void)
{
    if (languages)
        return 0;
    size_t max = 1;
    for (const Asset *a = assets; a->path; a++)
        max++;
    Language *langs = xcalloc(max + 1, sizeof *langs);
    Catalog **cats = xcalloc(max, sizeof *cats);
    size_t count = 1;
    langs[0] = english_only[0];
    for (const Asset *a = assets; a->path; a++) {
        char *code = catalog_code(a->path);
        if (!code)
            continue;
        char err[256];
        Catalog *c = i18n_catalog_parse((const char *)a->data, a->len, err, sizeof err);
        if (!c) {
            fprintf(stderr, "%s:%s\n", a->path, err);
            free(code);
            free_tables(langs, cats, count);
            return -1;
        }
        if (strcmp(code, "en") == 0) {
            /* An English catalogue only rewords the source strings. */
            i18n_catalog_free(cats[0]);
            cats[0] = c;
            free(code);
            continue;
        }
        Language *k = known_language(code);
        if (k)
            k->translated = 1;
        langs[count] = k ? *k : (Language){code, code, 0, 1};
        langs[count].code = code;
        cats[count++] = c;
    }
    languages = langs;
    catalogs = cats;
    language_count = count;
    return 0;
}

void i18n_free(void)
{
    if (!languages)
        return;
    free_tables(languages, catalogs, language_count);
    for (size_t i = 1; i < KNOWN_COUNT; i++)
        known[i].translated = 0;
    languages = NULL;
    catalogs = NULL;
    language_count = 0;
}

const Language *i18n_languages(void)
{
    size_t count;
    return offered(&count);
}

const Language *i18n_known_languages(void)
{
    return known;
}

/* Compares the tag s[0..n) with a language code, ignoring case and treating
 * '-' and '_' alike: catalogues are named "pt_BR", headers say "pt-BR". */
static int tag_equals(const char *s, size_t n, const char *code)
{
    size_t i = 0;
    for (; i < n && code[i]; i++) {
        char a = s[i], b = code[i];
        a = a == '_' ? '-' : (a >= 'A' && a <= 'Z' ? (char)(a + 32) : a);
        b = b == '_' ? '-' : (b >= 'A' && b <= 'Z' ? (char)(b + 32) : b);
        if (a != b)
            return 0;
    }
    return i == n && code[i] == 0;
}

/* The index of the offered language that the tag s[0..n) selects: the
 * language itself, else its primary subtag ("es-AR" selects "es"). Returns
 * SIZE_MAX if none. */
static size_t language_index(const char *s, size_t n)
{
    size_t count;
    const Language *langs = offered(&count);
    for (size_t i = 0; i < count; i++)
        if (tag_equals(s, n, langs[i].code))
            return i;
    size_t primary = 0;
    while (primary < n && s[primary] != '-' && s[primary] != '_')
        primary++;
    if (primary == 0 || primary == n)
        return SIZE_MAX;
    for (size_t i = 0; i < count; i++)
        if (tag_equals(s, primary, langs[i].code))
            return i;
    return SIZE_MAX;
}

int i18n_supported(const char *lang)
{
    size_t count;
    const Language *langs = offered(&count);
    for (size_t i = 0; lang && i < count; i++)
        if (tag_equals(lang, strlen(lang), langs[i].code))
            return 1;
    return 0;
}

/* ---- Accept-Language (RFC 9110, section 12.5.4) ---------------------------- */

/* One element of the list: a language range with its weight. */
typedef struct {
    const char *tag; /* "*" or 1*8ALPHA *("-" 1*8alphanum); not NUL-terminated */
    size_t len;
    int q; /* weight in thousandths, 0 to 1000 */
} Range;

static int is_alpha(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ) */
static int parse_qvalue(const char *s, size_t n, int *q)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1'))
        return 0;
    int value = (s[0] - '0') * 1000;
    if (n > 1 && (s[1] != '.' || n > 5))
        return 0;
    int scale = 100;
    for (size_t i = 2; i < n; i++, scale /= 10) {
        if (!is_digit(s[i]))
            return 0;
        value += (s[i] - '0') * scale;
    }
    if (value > 1000)
        return 0;
    *q = value;
    return 1;
}

/* The length of the language range at the start of s[0..n), or 0. */
static size_t range_length(const char *s, size_t n)
{
    if (n > 0 && s[0] == '*')
        return 1;
    size_t i = 0;
    while (i < n && i < 8 && is_alpha(s[i]))
        i++;
    if (i == 0 || (i < n && is_alpha(s[i])))
        return 0;
    while (i < n && s[i] == '-') {
        size_t start = ++i;
        while (i < n && i - start < 8 && (is_alpha(s[i]) || is_digit(s[i])))
            i++;
        if (i == start || (i < n && (is_alpha(s[i]) || is_digit(s[i]))))
            return 0;
    }
    return i;
}

/* Parses one list element s[0..n) (what lies between commas). Returns 0 if
 * it is malformed, so that the caller ignores it. */
static int parse_range(const char *s, size_t n, Range *r)
{
    size_t i = skip_space(s, n, 0);
    while (n > i && is_space(s[n - 1]))
        n--;
    size_t len = range_length(s + i, n - i);
    if (len == 0)
        return 0;
    r->tag = s + i;
    r->len = len;
    r->q = 1000;
    i = skip_space(s, n, i + len);
    if (i == n)
        return 1;
    if (s[i] != ';')
        return 0;
    i = skip_space(s, n, i + 1);
    if (n - i < 2 || (s[i] != 'q' && s[i] != 'Q') || s[i + 1] != '=')
        return 0;
    return parse_qvalue(s + i + 2, n - i - 2, &r->q);
}

static int is_wildcard(const Range *r)
{
    return r->len == 1 && r->tag[0] == '*';
}

/* Whether a range other than "*" in the header selects language index. */
static int named_in(const char *header, size_t index)
{
    for (const char *s = header; *s;) {
        size_t n = strcspn(s, ",");
        Range r;
        if (parse_range(s, n, &r) && !is_wildcard(&r) && language_index(r.tag, r.len) == index)
            return 1;
        s += n + (s[n] == ',');
    }
    return 0;
}

/* "*" stands for every language the header does not name otherwise; that
 * is the first offered one (English, the source language, usually). */
static size_t wildcard_index(const char *header)
{
    size_t count;
    offered(&count);
    for (size_t i = 0; i < count; i++)
        if (!named_in(header, i))
            return i;
    return SIZE_MAX;
}

/* The offered language with the highest weight; on a tie the one listed
 * first. Returns SIZE_MAX when none is acceptable. */
static size_t best_accepted(const char *header)
{
    size_t best = SIZE_MAX, wildcard = SIZE_MAX;
    int best_q = 0, wildcard_known = 0;
    for (const char *s = header; *s;) {
        size_t n = strcspn(s, ",");
        Range r;
        if (parse_range(s, n, &r) && r.q > best_q) {
            size_t index;
            if (is_wildcard(&r)) {
                /* Computed once: it rescans the header. */
                if (!wildcard_known)
                    wildcard = wildcard_index(header);
                wildcard_known = 1;
                index = wildcard;
            } else {
                index = language_index(r.tag, r.len);
            }
            if (index != SIZE_MAX) {
                best = index;
                best_q = r.q;
            }
        }
        s += n + (s[n] == ',');
    }
    return best;
}

const char *i18n_negotiate(const char *profile_lang, const char *accept_language)
{
    size_t count;
    const Language *langs = offered(&count);
    size_t index = SIZE_MAX;
    if (profile_lang)
        index = language_index(profile_lang, strlen(profile_lang));
    if (index == SIZE_MAX && accept_language)
        index = best_accepted(accept_language);
    return index == SIZE_MAX ? "en" : langs[index].code;
}

/* ---- Lookups ------------------------------------------------------------- */

const char *i18n_gettext(const char *lang, const char *msgid)
{
    if (!msgid)
        return "";
    if (!lang || !languages)
        return msgid;
    size_t index = language_index(lang, strlen(lang));
    if (index == SIZE_MAX)
        return msgid;
    const char *s = i18n_catalog_get(catalogs[index], msgid);
    return s ? s : msgid;
}

const char *i18n_ngettext(const char *lang, const char *msgid, const char *msgid_plural,
                          unsigned long n)
{
    if (!msgid || !msgid_plural)
        return "";
    const char *english = n == 1 ? msgid : msgid_plural;
    if (!lang || !languages)
        return english;
    size_t index = language_index(lang, strlen(lang));
    if (index == SIZE_MAX)
        return english;
    const char *s = i18n_catalog_nget(catalogs[index], msgid, n);
    return s ? s : english;
}

int i18n_is_rtl(const char *lang)
{
    if (!lang)
        return 0;
    size_t primary = strcspn(lang, "-_");
    for (size_t i = 0; i < KNOWN_COUNT; i++)
        if (known[i].rtl && tag_equals(lang, primary, known[i].code))
            return 1;
    return 0;
}
