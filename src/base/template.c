/*
 * template.c: the template engine. It owns the compiler (source text to a tree
 * of nodes), the renderer (a tree plus JSON data to escaped HTML) and the
 * process-wide cache of compiled templates used for partials and for
 * template_render_named.
 *
 * Invariants: a compiled Template is never modified, so any number of threads
 * may render it at once; every node and string of a Template lives in its own
 * arena; a template in the cache stays valid until template_cache_clear().
 * All the state of one render lives on the rendering thread's stack.
 */
#include "base/template.h"

#include "base/i18n.h"

#include <assert.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    MAX_SECTION_DEPTH = 64, /* sections open at once in one template */
    MAX_PARTIAL_DEPTH = 32, /* partials rendered inside one another */
    ERROR_SNIPPET = 40,     /* bytes of a tag quoted in an error message */
    MIN_RAW_REASON = 3,     /* non-space characters a raw tag's reason needs */
};

/* Bounds on one render. Sections over arrays nested inside one another
 * multiply the work at each level, so a template can ask for more output than
 * any machine holds; such a render fails instead. A real page stays several
 * orders of magnitude below both. */
#define RENDER_MAX_STEPS (1ul << 22)
#define RENDER_MAX_OUTPUT ((size_t)16 << 20)

typedef enum {
    NODE_TEXT,      /* literal bytes */
    NODE_VAR,       /* {{name}}: a value, HTML-escaped */
    NODE_URL,       /* {{url name}}: a value as a link target */
    NODE_DATE,      /* {{date name}}: a date in the reader's words */
    NODE_RAW,       /* {{& name // reason}}: a value, not escaped */
    NODE_SECTION,   /* {{#name}}...{{/name}} */
    NODE_INVERTED,  /* {{^name}}...{{/name}} */
    NODE_PARTIAL,   /* {{> name}} */
    NODE_TRANSLATE, /* {{_ text}} */
} NodeKind;

typedef struct Node {
    NodeKind kind;
    /* TEXT: the bytes (not NUL-terminated); PARTIAL: the partial's name;
     * TRANSLATE: the msgid; the other kinds: the segments of the dotted
     * name, each NUL-terminated, one after the other. */
    const char *text;
    /* TEXT: the number of bytes; VAR, URL, RAW, SECTION and INVERTED: the
     * number of segments, 0 for "." (the current context); else unused. */
    size_t len;
    struct Node *body; /* SECTION and INVERTED: the first node inside */
    struct Node *next; /* the next node at the same level, or NULL */
} Node;

struct Template {
    Arena *arena; /* owns every node and string of the template */
    Node *first;  /* the top-level nodes, in order */
};

/* A piece of the source, not NUL-terminated. */
typedef struct {
    const char *s;
    size_t n;
} Span;

/* A section whose closing tag the compiler has not reached yet. */
typedef struct {
    Node **after; /* where the node that follows the section goes */
    Span name;    /* the name as written, to match the closing tag */
    char sigil;   /* '#' or '^', for messages */
    int line;     /* the line of the opening tag */
} OpenSection;

typedef struct {
    const char *tname; /* the template's name, for messages */
    const char *src;   /* the source (the arena's copy, so text nodes point into it) */
    size_t len;
    Arena *arena;
    Node **tail; /* where the next node goes */
    OpenSection open[MAX_SECTION_DEPTH];
    int depth; /* entries used in open */
    int line;  /* the line the compiler has reached */
    char **err;
} Compiler;

/* One level of the context stack. Frames live on the C stack of the render,
 * each pointing to the one outside it. */
typedef struct Frame {
    json_t *value;
    const struct Frame *outer;
} Frame;

typedef struct {
    Buf *out;
    TemplateSource source;
    Translate translate;
    void *translate_ctx;
    int depth;           /* partials entered and not yet left */
    size_t start;        /* out->len when the render began */
    unsigned long steps; /* work done so far, against RENDER_MAX_STEPS */
    int plain;           /* plain text out: nothing escaped (template_render_text) */
} Render;

/* ---- Compiling ---- */

static int is_space(char ch)
{
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

static int is_name_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '_' || ch == '-';
}

static Span span_trim(const char *s, size_t n)
{
    while (n > 0 && is_space(s[0])) {
        s++;
        n--;
    }
    while (n > 0 && is_space(s[n - 1]))
        n--;
    return (Span){s, n};
}

/* The index of the first "cc" in s[from..len), or len if there is none. */
static size_t find_pair(const char *s, size_t from, size_t len, char c)
{
    for (size_t i = from; i + 1 < len; i++)
        if (s[i] == c && s[i + 1] == c)
            return i;
    return len;
}

static int count_lines(const char *s, size_t n)
{
    int lines = 0;
    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n';
    return lines;
}

static int snippet_len(Span s)
{
    return s.n > ERROR_SNIPPET ? ERROR_SNIPPET : (int)s.n;
}

/* Writes "NAME:LINE: message" to *c->err (when the caller wants it) and
 * returns -1, so that callers can write "return compile_error(...)". */
__attribute__((format(printf, 3, 4))) static int compile_error(Compiler *c, int line,
                                                               const char *fmt, ...)
{
    if (!c->err || *c->err)
        return -1;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    Buf b = {0};
    buf_printf(&b, "%s:%d: %s", c->tname, line, msg);
    *c->err = b.data;
    return -1;
}

static Node *append_node(Compiler *c, NodeKind kind)
{
    Node *n = arena_alloc(c->arena, sizeof *n);
    n->kind = kind;
    *c->tail = n;
    c->tail = &n->next;
    return n;
}

static void append_text(Compiler *c, size_t from, size_t to)
{
    if (to == from)
        return;
    Node *n = append_node(c, NODE_TEXT);
    n->text = c->src + from;
    n->len = to - from;
    c->line += count_lines(c->src + from, to - from);
}

/* Checks a dotted name ("." or segments of letters, digits, '_' and '-'
 * joined by single dots) and stores it in n as NUL-separated segments. */
static int set_name(Compiler *c, Node *n, Span name, Span tag, int line)
{
    if (name.n == 0)
        return compile_error(c, line, "empty name in {{%.*s}}", snippet_len(tag), tag.s);
    if (name.n == 1 && name.s[0] == '.') {
        n->len = 0;
        return 0;
    }
    char *segs = arena_strndup(c->arena, name.s, name.n);
    size_t count = 1;
    for (size_t i = 0; i < name.n; i++) {
        if (segs[i] == '.') {
            /* A dot may not start or end the name, nor follow another. */
            if (i == 0 || i + 1 == name.n || segs[i + 1] == '.')
                break;
            segs[i] = '\0';
            count++;
        } else if (!is_name_char(segs[i])) {
            break;
        } else if (i + 1 == name.n) {
            n->text = segs;
            n->len = count;
            return 0;
        }
    }
    return compile_error(c, line, "invalid name \"%.*s\" in {{%.*s}}", snippet_len(name), name.s,
                         snippet_len(tag), tag.s);
}

static int compile_value(Compiler *c, NodeKind kind, Span name, Span tag, int line)
{
    return set_name(c, append_node(c, kind), name, tag, line);
}

static int compile_open(Compiler *c, Span name, Span tag, int line)
{
    if (c->depth == MAX_SECTION_DEPTH)
        return compile_error(c, line, "sections nest deeper than %d", MAX_SECTION_DEPTH);
    Node *n = append_node(c, tag.s[0] == '#' ? NODE_SECTION : NODE_INVERTED);
    if (set_name(c, n, name, tag, line) < 0)
        return -1;
    c->open[c->depth++] = (OpenSection){&n->next, name, tag.s[0], line};
    c->tail = &n->body;
    return 0;
}

static int compile_close(Compiler *c, Span name, Span tag, int line)
{
    if (name.n == 0)
        return compile_error(c, line, "empty name in {{%.*s}}", snippet_len(tag), tag.s);
    if (c->depth == 0)
        return compile_error(c, line, "{{/%.*s}} closes no section", snippet_len(name), name.s);
    OpenSection *o = &c->open[c->depth - 1];
    if (o->name.n != name.n || memcmp(o->name.s, name.s, name.n) != 0)
        return compile_error(c, line, "{{/%.*s}} does not match {{%c%.*s}} on line %d",
                             snippet_len(name), name.s, o->sigil, snippet_len(o->name), o->name.s,
                             o->line);
    c->tail = o->after;
    c->depth--;
    return 0;
}

/* Partial names may also hold '.' and '/' ("forms/address.html"); the
 * TemplateSource decides what they mean. */
static int compile_partial(Compiler *c, Span name, Span tag, int line)
{
    if (name.n == 0)
        return compile_error(c, line, "empty name in {{%.*s}}", snippet_len(tag), tag.s);
    for (size_t i = 0; i < name.n; i++)
        if (!is_name_char(name.s[i]) && name.s[i] != '.' && name.s[i] != '/')
            return compile_error(c, line, "invalid partial name \"%.*s\"", snippet_len(name),
                                 name.s);
    Node *n = append_node(c, NODE_PARTIAL);
    n->text = arena_strndup(c->arena, name.s, name.n);
    return 0;
}

/* {{& name // reason}}: raw output must say why it is safe, so that a reviewer
 * (and `make check`) can judge each one. */
static int compile_raw(Compiler *c, Span rest, Span tag, int line)
{
    size_t slash = find_pair(rest.s, 0, rest.n, '/');
    if (slash == rest.n)
        return compile_error(c, line, "raw tag {{%.*s}} needs a reason: {{& name // why}}",
                             snippet_len(tag), tag.s);
    size_t reason = 0;
    for (size_t i = slash + 2; i < rest.n; i++)
        reason += !is_space(rest.s[i]);
    if (reason < MIN_RAW_REASON)
        return compile_error(c, line, "raw tag {{%.*s}} needs a reason of at least %d characters",
                             snippet_len(tag), tag.s, MIN_RAW_REASON);
    return compile_value(c, NODE_RAW, span_trim(rest.s, slash), tag, line);
}

static int compile_translate(Compiler *c, Span msgid, Span tag, int line)
{
    if (msgid.n == 0)
        return compile_error(c, line, "empty text in {{%.*s}}", snippet_len(tag), tag.s);
    Node *n = append_node(c, NODE_TRANSLATE);
    n->text = arena_strndup(c->arena, msgid.s, msgid.n);
    return 0;
}

/* Compiles one tag; tag is the text between the braces, already trimmed. */
static int compile_tag(Compiler *c, Span tag, int line)
{
    if (tag.n == 0)
        return compile_error(c, line, "empty tag {{}}");
    Span rest = span_trim(tag.s + 1, tag.n - 1);
    switch (tag.s[0]) {
    case '!':
        return 0;
    case '#':
    case '^':
        return compile_open(c, rest, tag, line);
    case '/':
        return compile_close(c, rest, tag, line);
    case '>':
        return compile_partial(c, rest, tag, line);
    case '&':
        return compile_raw(c, (Span){tag.s + 1, tag.n - 1}, tag, line);
    case '{':
        /* Mustache's unescaped form; raw output must carry a reason. */
        return compile_error(c, line, "{{{...}}} is not supported: use {{& name // reason}}");
    case '=':
        return compile_error(c, line, "changing delimiters is not supported");
    default:
        break;
    }
    if (tag.s[0] == '_' && (tag.n == 1 || is_space(tag.s[1])))
        return compile_translate(c, rest, tag, line);
    if (tag.n >= 3 && memcmp(tag.s, "url", 3) == 0 && (tag.n == 3 || is_space(tag.s[3])))
        return compile_value(c, NODE_URL, span_trim(tag.s + 3, tag.n - 3), tag, line);
    if (tag.n > 5 && memcmp(tag.s, "date", 4) == 0 && is_space(tag.s[4]))
        return compile_value(c, NODE_DATE, span_trim(tag.s + 4, tag.n - 4), tag, line);
    if (!is_name_char(tag.s[0]) && tag.s[0] != '.')
        return compile_error(c, line, "unknown tag {{%.*s}}", snippet_len(tag), tag.s);
    return compile_value(c, NODE_VAR, tag, tag, line);
}

static int compile_all(Compiler *c)
{
    size_t pos = 0;
    while (pos < c->len) {
        size_t open = find_pair(c->src, pos, c->len, '{');
        append_text(c, pos, open);
        if (open == c->len)
            break;
        size_t close = find_pair(c->src, open + 2, c->len, '}');
        if (close == c->len) {
            Span rest = {c->src + open, c->len - open};
            return compile_error(c, c->line, "unclosed tag %.*s", snippet_len(rest), rest.s);
        }
        int line = c->line;
        c->line += count_lines(c->src + open, close - open);
        if (compile_tag(c, span_trim(c->src + open + 2, close - open - 2), line) < 0)
            return -1;
        pos = close + 2;
    }
    if (c->depth > 0) {
        OpenSection *o = &c->open[c->depth - 1];
        return compile_error(c, o->line, "unclosed section {{%c%.*s}}", o->sigil,
                             snippet_len(o->name), o->name.s);
    }
    return 0;
}

Template *template_compile(const char *name, const char *src, size_t len, char **err)
{
    if (err)
        *err = NULL;
    Template *t = xcalloc(1, sizeof *t);
    t->arena = arena_new();
    Compiler c = {
        .tname = name ? name : "template",
        .src = len ? arena_strndup(t->arena, src, len) : "",
        .len = len,
        .arena = t->arena,
        .tail = &t->first,
        .line = 1,
        .err = err,
    };
    if (compile_all(&c) < 0) {
        template_free(t);
        return NULL;
    }
    return t;
}

void template_free(Template *t)
{
    if (!t)
        return;
    arena_free(t->arena);
    free(t);
}

/* ---- The cache of compiled templates ---- */

/* A list searched in order: an application has a few dozen templates, and a
 * lookup is far cheaper than the render that follows it. */
typedef struct {
    char *name;
    Template *t;
} CacheEntry;

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static CacheEntry *cache;  /* guarded by cache_lock */
static size_t cache_count; /* guarded by cache_lock */
static size_t cache_cap;   /* guarded by cache_lock */

/* The caller holds cache_lock. */
static Template *cache_find(const char *name)
{
    for (size_t i = 0; i < cache_count; i++)
        if (strcmp(cache[i].name, name) == 0)
            return cache[i].t;
    return NULL;
}

/* Compiles outside the lock, so that a slow source does not stall every
 * other render; when two threads race to compile one template, the first to
 * insert wins and the other frees its copy. */
static const Template *cache_get(const char *name, TemplateSource source)
{
    pthread_mutex_lock(&cache_lock);
    Template *t = cache_find(name);
    pthread_mutex_unlock(&cache_lock);
    if (t)
        return t;
    size_t len = 0;
    const char *src = source ? source(name, &len) : NULL;
    if (!src) {
        /* The caller only sees -1, so say which template is missing. */
        log_info("template: no template named \"%s\"", name);
        return NULL;
    }
    char *err = NULL;
    Template *fresh = template_compile(name, src, len, &err);
    if (!fresh) {
        log_info("template: %s", err);
        free(err);
        return NULL;
    }
    pthread_mutex_lock(&cache_lock);
    t = cache_find(name);
    if (!t) {
        if (cache_count == cache_cap) {
            cache_cap = cache_cap ? cache_cap * 2 : 16;
            cache = xrealloc(cache, cache_cap * sizeof *cache);
        }
        cache[cache_count++] = (CacheEntry){xstrdup(name), fresh};
        t = fresh;
        fresh = NULL;
    }
    pthread_mutex_unlock(&cache_lock);
    template_free(fresh);
    return t;
}

void template_cache_clear(void)
{
    pthread_mutex_lock(&cache_lock);
    for (size_t i = 0; i < cache_count; i++) {
        free(cache[i].name);
        template_free(cache[i].t);
    }
    free(cache);
    cache = NULL;
    cache_count = cache_cap = 0;
    pthread_mutex_unlock(&cache_lock);
}

/* ---- Rendering ---- */

/* The first segment is looked up through the context stack outwards; the
 * rest only inside what it found, as in mustache, so that "a.b" never picks
 * up an unrelated "b" from an outer context. */
static json_t *lookup(Render *r, const Frame *f, const Node *n)
{
    if (n->len == 0)
        return f->value;
    const char *seg = n->text;
    json_t *v = NULL;
    for (; f && !v; f = f->outer) {
        r->steps++;
        v = json_object_get(f->value, seg);
    }
    for (size_t i = 1; v && i < n->len; i++) {
        seg += strlen(seg) + 1;
        v = json_object_get(v, seg);
    }
    return v;
}

static int truthy(const json_t *v)
{
    if (!v)
        return 0;
    switch (json_typeof(v)) {
    case JSON_OBJECT:
    case JSON_TRUE:
        return 1;
    case JSON_ARRAY:
        return json_array_size(v) > 0;
    case JSON_STRING:
        return json_string_length(v) > 0;
    case JSON_INTEGER:
        return json_integer_value(v) != 0;
    case JSON_REAL:
        return json_real_value(v) != 0.0;
    default:
        return 0;
    }
}

/* The shortest of %.15g, %.16g and %.17g that reads back as the same
 * number: 0.1 prints as "0.1", not "0.10000000000000001". */
static void format_real(char *buf, size_t size, double d)
{
    for (int precision = 15; precision < 17; precision++) {
        snprintf(buf, size, "%.*g", precision, d);
        if (strtod(buf, NULL) == d)
            return;
    }
    snprintf(buf, size, "%.17g", d);
}

/* The text of a scalar value: a pointer into v or into tmp. Arrays, objects,
 * false, null and missing values print as nothing. */
static const char *value_text(const json_t *v, char *tmp, size_t size, size_t *len)
{
    *len = 0;
    if (json_is_string(v)) {
        *len = json_string_length(v);
        return json_string_value(v);
    }
    if (json_is_integer(v))
        snprintf(tmp, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
    else if (json_is_real(v))
        format_real(tmp, size, json_real_value(v));
    else if (json_is_true(v))
        snprintf(tmp, size, "true");
    else
        return "";
    *len = strlen(tmp);
    return tmp;
}

/* 1 when s[0..len) starts with "YYYY-MM-DD" and a month 1 to 12, day 1
 * to 31 (the writers checked the calendar; this only picks the words). */
static int starts_with_date(const char *s, size_t len, int *year, int *month, int *day)
{
    if (len < 10 || s[4] != '-' || s[7] != '-')
        return 0;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
            return 0;
    *year = atoi(s);
    *month = atoi(s + 5);
    *day = atoi(s + 8);
    return *month >= 1 && *month <= 12 && *day >= 1 && *day <= 31;
}

static const char *translated(Translate translate, void *ctx, const char *msgid)
{
    const char *s = translate ? translate(ctx, msgid) : NULL;
    return s ? s : msgid;
}

void template_date_words(Buf *out, const char *date, size_t len, Translate translate, void *ctx)
{
    static const char *const months[] = {N_("January"), N_("February"), N_("March"),
                                         N_("April"),   N_("May"),      N_("June"),
                                         N_("July"),    N_("August"),   N_("September"),
                                         N_("October"), N_("November"), N_("December")};
    int year, month, day;
    if (!starts_with_date(date, len, &year, &month, &day)) {
        buf_append(out, date, len);
        return;
    }
    /* "{day} de {month} de {year}" in Spanish: the catalogue's order. */
    for (const char *p = translated(translate, ctx, N_("{day} {month} {year}")); *p;) {
        if (!strncmp(p, "{day}", 5)) {
            buf_printf(out, "%d", day);
            p += 5;
        } else if (!strncmp(p, "{month}", 7)) {
            buf_puts(out, translated(translate, ctx, months[month - 1]));
            p += 7;
        } else if (!strncmp(p, "{year}", 6)) {
            buf_printf(out, "%d", year);
            p += 6;
        } else {
            buf_putc(out, *p++);
        }
    }
    buf_append(out, date + 10, len - 10);
}

static void render_value(Render *r, const Node *n, const Frame *f)
{
    char tmp[64];
    size_t len;
    const char *s = value_text(lookup(r, f, n), tmp, sizeof tmp, &len);
    if (n->kind == NODE_DATE) {
        Buf words = {0};
        template_date_words(&words, s, len, r->translate, r->translate_ctx);
        if (r->plain)
            buf_append(r->out, words.data ? words.data : "", words.len);
        else
            escape_html(r->out, words.data ? words.data : "", words.len);
        buf_free(&words);
        return;
    }
    if (r->plain)
        buf_append(r->out, s, len);
    else if (n->kind == NODE_URL)
        escape_href(r->out, s, len);
    else if (n->kind == NODE_RAW)
        buf_append(r->out, s, len);
    else
        escape_html(r->out, s, len);
}

static void render_translate(Render *r, const Node *n)
{
    const char *s = r->translate ? r->translate(r->translate_ctx, n->text) : NULL;
    if (!s)
        s = n->text;
    if (r->plain)
        buf_puts(r->out, s);
    else
        escape_html(r->out, s, strlen(s));
}

static int render_nodes(Render *r, const Node *n, const Frame *f);

static int render_section(Render *r, const Node *n, const Frame *f)
{
    json_t *v = lookup(r, f, n);
    if (n->kind == NODE_INVERTED)
        return truthy(v) ? 0 : render_nodes(r, n->body, f);
    if (!truthy(v))
        return 0;
    if (json_is_array(v)) {
        for (size_t i = 0; i < json_array_size(v); i++) {
            Frame inner = {json_array_get(v, i), f};
            r->steps++;
            if (render_nodes(r, n->body, &inner) < 0)
                return -1;
        }
        return 0;
    }
    if (json_is_object(v)) {
        Frame inner = {v, f};
        return render_nodes(r, n->body, &inner);
    }
    return render_nodes(r, n->body, f);
}

static int render_partial(Render *r, const Node *n, const Frame *f)
{
    if (r->depth >= MAX_PARTIAL_DEPTH)
        return -1;
    const Template *t = cache_get(n->text, r->source);
    if (!t)
        return -1;
    r->depth++;
    int rc = render_nodes(r, t->first, f);
    r->depth--;
    return rc;
}

static int render_nodes(Render *r, const Node *n, const Frame *f)
{
    for (; n; n = n->next) {
        if (++r->steps > RENDER_MAX_STEPS || r->out->len - r->start > RENDER_MAX_OUTPUT)
            return -1;
        int rc = 0;
        switch (n->kind) {
        case NODE_TEXT:
            buf_append(r->out, n->text, n->len);
            break;
        case NODE_VAR:
        case NODE_URL:
        case NODE_DATE:
        case NODE_RAW:
            render_value(r, n, f);
            break;
        case NODE_SECTION:
        case NODE_INVERTED:
            rc = render_section(r, n, f);
            break;
        case NODE_PARTIAL:
            rc = render_partial(r, n, f);
            break;
        case NODE_TRANSLATE:
            render_translate(r, n);
            break;
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

int template_render(const Template *t, json_t *data, Buf *out, TemplateSource source,
                    Translate translate, void *translate_ctx)
{
    assert(t && out);
    Render r = {
        .out = out,
        .source = source,
        .translate = translate,
        .translate_ctx = translate_ctx,
        .start = out->len,
    };
    Frame root = {data, NULL};
    return render_nodes(&r, t->first, &root);
}

int template_render_named(const char *name, json_t *data, Buf *out, TemplateSource source,
                          Translate translate, void *translate_ctx)
{
    const Template *t = cache_get(name, source);
    if (!t)
        return -1;
    return template_render(t, data, out, source, translate, translate_ctx);
}

int template_render_text(const Template *t, json_t *data, Buf *out)
{
    assert(t && out);
    Render r = {.out = out, .start = out->len, .plain = 1};
    Frame root = {data, NULL};
    return render_nodes(&r, t->first, &root);
}
