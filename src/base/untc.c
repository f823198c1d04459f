/*
 * untc.c: a UNTC status page read through libxml2's HTML parser (see
 * untc.h). The page's parts are found by the ids ASP.NET gives them
 * ("..._tblgrid", "..._dgDec", "..._divParticipant"), the way UNTC's own
 * scripts find them, never by matching the markup as text.
 */
#include "base/untc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "base/csv.h"

/* ---- the names table ---- */

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

Result untc_names_load(UntcNames *t, const char *csv, size_t len, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    CsvReader r;
    csv_open(&r, csv, len);
    Result res = R_OK;
    int name_col = -1, iso_col = -1;
    if (csv_next(&r) != 1 || (name_col = csv_column(&r, "untc_name")) < 0 ||
        (iso_col = csv_column(&r, "iso3")) < 0) {
        snprintf(err, errlen, "names table: no header untc_name,iso3");
        csv_free(&r);
        return R_BAD_REQUEST;
    }
    /* Pairs first, sorted together by name through an index. */
    typedef struct {
        char *name;
        char iso3[4];
    } Pair;
    Pair *pairs = NULL;
    size_t n = 0, cap = 0;
    int rc;
    while ((rc = csv_next(&r)) == 1) {
        const char *name = (size_t)name_col < r.count ? r.fields[name_col] : "";
        const char *iso = (size_t)iso_col < r.count ? r.fields[iso_col] : "";
        if (!*name || strlen(iso) != 3 || !isupper((unsigned char)iso[0]) ||
            !isupper((unsigned char)iso[1]) || !isupper((unsigned char)iso[2])) {
            snprintf(err, errlen, "names table line %zu: a name and a three-letter code", r.line);
            res = R_BAD_REQUEST;
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            pairs = xrealloc(pairs, cap * sizeof *pairs);
        }
        pairs[n].name = xstrdup(name);
        memcpy(pairs[n].iso3, iso, 4);
        n++;
    }
    if (rc == -1 && res == R_OK) {
        snprintf(err, errlen, "names table line %zu: %s", r.line, r.error);
        res = R_BAD_REQUEST;
    }
    csv_free(&r);
    /* A Pair starts with its name, so name_cmp sorts them. */
    if (n)
        qsort(pairs, n, sizeof *pairs, name_cmp);
    for (size_t i = 1; res == R_OK && i < n; i++)
        if (strcmp(pairs[i - 1].name, pairs[i].name) == 0) {
            snprintf(err, errlen, "names table: %s listed twice", pairs[i].name);
            res = R_BAD_REQUEST;
        }
    t->names = xcalloc(n ? n : 1, sizeof *t->names);
    t->iso3 = xcalloc(n ? n : 1, sizeof *t->iso3);
    for (size_t i = 0; i < n; i++) {
        t->names[i] = pairs[i].name;
        memcpy(t->iso3[i], pairs[i].iso3, 4);
    }
    t->count = n;
    free(pairs);
    if (res != R_OK)
        untc_names_free(t);
    return res;
}

const char *untc_names_find(const UntcNames *t, const char *name)
{
    if (!t->count)
        return NULL;
    char *const *hit = bsearch(&name, t->names, t->count, sizeof *t->names, name_cmp);
    return hit ? t->iso3[hit - t->names] : NULL;
}

void untc_names_free(UntcNames *t)
{
    for (size_t i = 0; i < t->count; i++)
        free(t->names[i]);
    free(t->names);
    free(t->iso3);
    memset(t, 0, sizeof *t);
}

/* ---- walking the document ---- */

static int is_element(const xmlNode *n, const char *tag)
{
    return n->type == XML_ELEMENT_NODE &&
           (!tag || xmlStrcasecmp(n->name, (const xmlChar *)tag) == 0);
}

/* The next node after n in document order within root, its subtree
 * skipped when skip_children: iterative, so a deep page cannot exhaust the
 * stack. */
static xmlNode *walk_next(xmlNode *n, const xmlNode *root, int skip_children)
{
    if (!skip_children && n->children)
        return n->children;
    while (n && n != root) {
        if (n->next)
            return n->next;
        n = n->parent;
    }
    return NULL;
}

/* Does element n's id end with suffix? ASP.NET prefixes the ids with the
 * names of the controls around them; the end is the part that says what
 * the element is. */
static int id_ends_with(const xmlNode *n, const char *suffix)
{
    if (n->type != XML_ELEMENT_NODE)
        return 0;
    xmlChar *id = xmlGetProp((xmlNode *)n, (const xmlChar *)"id");
    int yes = 0;
    if (id) {
        size_t l = strlen((char *)id), s = strlen(suffix);
        yes = l >= s && strcmp((char *)id + l - s, suffix) == 0;
        xmlFree(id);
    }
    return yes;
}

/* The first element under root (root included) whose id ends with suffix. */
static xmlNode *find_by_id(xmlNode *root, const char *suffix)
{
    for (xmlNode *n = root; n; n = walk_next(n, root, 0))
        if (id_ends_with(n, suffix))
            return n;
    return NULL;
}

/* Footnote references: <SUP> in the table, <superscript> in some texts. */
static int is_footnote(const xmlNode *n)
{
    return is_element(n, "sup") || is_element(n, "superscript");
}

/* The text under n without footnotes, white space (no-break spaces too)
 * collapsed to single spaces and trimmed, as a malloc'd string. Elements
 * that UNTC marks "invisible" (a copy of the state's name) are left out. */
static char *text_of(xmlNode *root)
{
    Buf b = {0};
    int space = 1; /* at the start: drop leading space */
    for (xmlNode *n = root->children ? root->children : NULL; n;) {
        int skip = 0;
        if (is_footnote(n))
            skip = 1;
        else if (n->type == XML_ELEMENT_NODE) {
            xmlChar *cls = xmlGetProp(n, (const xmlChar *)"class");
            skip = cls && xmlStrcmp(cls, (const xmlChar *)"invisible") == 0;
            xmlFree(cls);
            /* A line break or paragraph separates words. */
            if (!skip && (is_element(n, "br") || is_element(n, "p")) && !space) {
                buf_putc(&b, ' ');
                space = 1;
            }
        } else if (n->type == XML_TEXT_NODE && n->content) {
            for (const unsigned char *p = n->content; *p; p++) {
                int ws = *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r';
                if (p[0] == 0xC2 && p[1] == 0xA0) { /* U+00A0 */
                    ws = 1;
                    p++;
                }
                if (ws) {
                    if (!space)
                        buf_putc(&b, ' ');
                    space = 1;
                } else {
                    buf_putc(&b, (char)*p);
                    space = 0;
                }
            }
        }
        n = walk_next(n, root, skip);
    }
    if (b.len && b.data[b.len - 1] == ' ')
        b.data[--b.len] = '\0';
    return b.data ? b.data : xstrdup("");
}

/* ---- dates ---- */

/* "19 Feb 2025", with an optional mark after it ("a", "d", "A", "AA",
 * "c"), in brackets when a denunciation ended it. Writes "YYYY-MM-DD" into
 * iso and the mark into mark (at most 2 letters). Returns 0, or -1 when it
 * is not such a date. An empty cell is "" with no mark. */
static int parse_date(const char *s, char iso[11], char mark[3], int *bracketed)
{
    static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                         "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    static const int days_in[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    iso[0] = mark[0] = '\0';
    *bracketed = 0;
    char buf[64];
    size_t n = strlen(s);
    if (n >= sizeof buf)
        return -1;
    memcpy(buf, s, n + 1);
    char *p = buf;
    while (*p == ' ')
        p++;
    if (!*p)
        return 0;
    if (*p == '[') {
        char *close = strrchr(p, ']');
        if (!close)
            return -1;
        *bracketed = 1;
        p++;
        /* The mark may stand inside or outside the brackets. */
        memmove(close, close + 1, strlen(close + 1) + 1);
    }
    char mon[8], extra[8];
    int day, year, used = 0;
    if (sscanf(p, " %2d %7[A-Za-z] %4d%n", &day, mon, &year, &used) != 3)
        return -1;
    int m = -1;
    for (int i = 0; i < 12; i++)
        if (strcmp(mon, months[i]) == 0)
            m = i;
    if (m < 0 || day < 1 || day > days_in[m] || year < 1900 || year > 2999)
        return -1;
    const char *rest = p + used;
    int more = 0;
    if (sscanf(rest, " %7s%n", extra, &more) == 1) {
        if (strcmp(extra, "a") && strcmp(extra, "d") && strcmp(extra, "A") && strcmp(extra, "AA") &&
            strcmp(extra, "c"))
            return -1;
        strcpy(mark, extra);
        rest += more;
    }
    while (*rest == ' ')
        rest++;
    if (*rest)
        return -1;
    /* day, month and year were range-checked above: 10 characters. */
    char out[32];
    snprintf(out, sizeof out, "%04d-%02d-%02d", year, m + 1, day);
    memcpy(iso, out, 11);
    return 0;
}

static const char *party_kind_of(const char *mark)
{
    if (!*mark)
        return "ratification";
    if (!strcmp(mark, "a"))
        return "accession";
    if (!strcmp(mark, "d"))
        return "succession";
    if (!strcmp(mark, "A"))
        return "acceptance";
    if (!strcmp(mark, "AA"))
        return "approval";
    return "formal confirmation";
}

/* ---- the parts of a page ---- */

typedef struct {
    UntcPage *page;
    const UntcNames *names;
    char *err;
    size_t errlen;
} Ctx;

__attribute__((format(printf, 2, 3))) static Result fail(Ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err, c->errlen, fmt, ap);
    va_end(ap);
    return R_BAD_REQUEST;
}

static Result map_name(Ctx *c, const char *name, char iso3[4])
{
    const char *code = untc_names_find(c->names, name);
    if (!code)
        return fail(c, "unknown participant \"%.100s\": add it to data/untc-names.csv", name);
    memcpy(iso3, code, 4);
    return R_OK;
}

/* "Signatories : 46. Parties : 31" in the header. */
static Result read_counts(Ctx *c, xmlNode *root)
{
    for (xmlNode *n = root; n; n = walk_next(n, root, 0)) {
        if (!id_ends_with(n, "_tcText"))
            continue;
        char *t = text_of(n);
        const char *s = strstr(t, "Signatories"), *p = strstr(t, "Parties");
        int ok = s && p && sscanf(s, "Signatories : %d", &c->page->signatories) == 1 &&
                 sscanf(p, "Parties : %d", &c->page->parties) == 1;
        free(t);
        if (ok && c->page->signatories >= 0 && c->page->parties >= 0)
            return R_OK;
    }
    return fail(c, "no \"Signatories : N. Parties : M\" in the page's header");
}

/* The rows of a table: its own tr elements, not those of tables inside. */
static xmlNode *next_row(xmlNode *table, xmlNode *after)
{
    xmlNode *n = after ? walk_next(after, table, 1) : walk_next(table, table, 0);
    while (n && !is_element(n, "tr"))
        n = walk_next(n, table, is_element(n, "table"));
    return n;
}

static Result read_participant(Ctx *c, xmlNode *row, size_t index)
{
    xmlNode *cells[3];
    size_t k = 0;
    for (xmlNode *n = row->children; n && k < 3; n = n->next)
        if (is_element(n, "td") || is_element(n, "th"))
            cells[k++] = n;
    if (k < 3)
        return fail(c, "participants table row %zu: %zu cells, not 3", index, k);
    UntcPage *pg = c->page;
    UntcParticipant *p = &pg->participants[pg->n_participants];
    memset(p, 0, sizeof *p);
    p->name = text_of(cells[0]);
    pg->n_participants++; /* owned by the page from here, for untc_page_free */
    char *sig = text_of(cells[1]), *party = text_of(cells[2]);
    /* The row as UNTC writes it, for a reviewer to read beside a change. */
    size_t rowlen = strlen(p->name) + strlen(sig) + strlen(party) + 7;
    p->row = xmalloc(rowlen);
    snprintf(p->row, rowlen, "%s | %s | %s", p->name, sig, party);
    char smark[3], pmark[3];
    int sb = 0, pb = 0;
    Result res = R_OK;
    if (!*p->name)
        res = fail(c, "participants table row %zu: no name", index);
    else if (parse_date(sig, p->signature, smark, &sb) < 0 || (smark[0] && strcmp(smark, "d")))
        res = fail(c, "%.100s: signature \"%.40s\" is not a date", p->name, sig);
    else if (parse_date(party, p->party, pmark, &pb) < 0)
        res = fail(c, "%.100s: \"%.40s\" is not a date with a mark", p->name, party);
    else if (!p->signature[0] && !p->party[0])
        res = fail(c, "%.100s: neither signed nor party", p->name);
    else
        res = map_name(c, p->name, p->iso3);
    if (res == R_OK) {
        p->signature_kind = p->signature[0] ? (smark[0] ? "succession" : "signature") : NULL;
        p->party_kind = p->party[0] ? party_kind_of(pmark) : NULL;
        p->withdrawn = sb || pb;
    }
    free(sig);
    free(party);
    return res;
}

/* The participants table, checked against the header's counts: a
 * signatory has a signature, a party a ratification (or its like), neither
 * ended by a denunciation. */
static Result read_participants(Ctx *c, xmlNode *root)
{
    xmlNode *table = find_by_id(root, "_tblgrid");
    if (!table)
        return fail(c, "no participants table");
    size_t rows = 0;
    for (xmlNode *r = next_row(table, NULL); r; r = next_row(table, r))
        rows++;
    c->page->participants = xcalloc(rows ? rows : 1, sizeof *c->page->participants);
    size_t index = 0;
    for (xmlNode *r = next_row(table, NULL); r; r = next_row(table, r), index++) {
        if (index == 0)
            continue; /* the heading row: Participant, Signature, ... */
        Result res = read_participant(c, r, index);
        if (res != R_OK)
            return res;
    }
    int sig = 0, par = 0;
    for (size_t i = 0; i < c->page->n_participants; i++) {
        const UntcParticipant *p = &c->page->participants[i];
        sig += p->signature[0] && !p->withdrawn;
        par += p->party[0] && !p->withdrawn;
    }
    if (sig != c->page->signatories || par != c->page->parties)
        return fail(c, "the table has %d signatories and %d parties, the header says %d and %d",
                    sig, par, c->page->signatories, c->page->parties);
    return R_OK;
}

/* The numbers after "article" or "articles" in text, as in "articles 11
 * and 12" or "article 10": into out (at most max), returns how many. */
static size_t articles_named(const char *text, int *out, size_t max)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, "rticle")) && n < max;) {
        p += 6;
        if (*p == 's')
            p++;
        for (;;) {
            while (*p == ' ' || *p == ',')
                p++;
            if (!isdigit((unsigned char)*p))
                break;
            int v = 0;
            while (isdigit((unsigned char)*p) && v < 10000)
                v = v * 10 + (*p++ - '0');
            if (n < max)
                out[n++] = v;
            while (*p == ' ')
                p++;
            if (strncmp(p, "and ", 4) == 0)
                p += 4;
            else if (*p != ',')
                break;
        }
    }
    return n;
}

/* Which of the page's opt-in articles statement s declares under. */
static void declared_articles(const UntcPage *pg, UntcStatement *s)
{
    int named[64];
    size_t n = articles_named(s->text, named, 64);
    for (size_t i = 0; i < pg->n_opt_in; i++)
        for (size_t j = 0; j < n; j++)
            if (named[j] == pg->opt_in[i]) {
                s->articles[s->n_articles++] = pg->opt_in[i];
                break;
            }
}

/* One section's table: a row per state, its name in "..._divParticipant",
 * its text in the element after it. */
static Result read_section(Ctx *c, xmlNode *root, const char *id, UntcSection section)
{
    xmlNode *table = find_by_id(root, id);
    if (!table)
        return R_OK; /* a page without such statements */
    UntcPage *pg = c->page;
    for (xmlNode *r = next_row(table, NULL); r; r = next_row(table, r)) {
        xmlNode *who = find_by_id(r, "_divParticipant");
        if (!who)
            continue;
        xmlNode *body = who->next;
        while (body && body->type != XML_ELEMENT_NODE)
            body = body->next;
        pg->statements = xrealloc(pg->statements, (pg->n_statements + 1) * sizeof *pg->statements);
        UntcStatement *s = &pg->statements[pg->n_statements++];
        memset(s, 0, sizeof *s);
        s->section = section;
        s->name = text_of(who);
        s->text = body ? text_of(body) : xstrdup("");
        if (!*s->name)
            return fail(c, "a statement without a state's name");
        Result res = map_name(c, s->name, s->iso3);
        if (res != R_OK)
            return res;
        s->declaration = strstr(s->text, "Declaration") != NULL;
        s->reservation = strstr(s->text, "Reservation") != NULL;
        if (section == UNTC_ARTICLES || section == UNTC_NOTIFICATIONS)
            declared_articles(pg, s);
        if (section == UNTC_ARTICLES && s->n_articles == 0)
            return fail(c, "%.100s: a declaration under no article of the heading", s->name);
    }
    return R_OK;
}

/* "Declarations made under articles 10 and 11": the opt-in articles. */
static void read_opt_in(Ctx *c, xmlNode *root)
{
    xmlNode *head = find_by_id(root, "_divMainDecArt");
    if (!head)
        return;
    char *t = text_of(head);
    if (strncmp(t, "Declarations made under article", 31) == 0)
        c->page->n_opt_in = articles_named(t, c->page->opt_in, UNTC_MAX_ARTICLES);
    free(t);
}

Result untc_parse(const char *html, size_t len, const UntcNames *names, UntcPage *page, char *err,
                  size_t errlen)
{
    memset(page, 0, sizeof *page);
    Ctx c = {page, names, err, errlen};
    if (len > (size_t)16 * 1024 * 1024 || len > 0x7fffffff)
        return fail(&c, "the page is larger than 16 MB");
    /* NONET: never fetch anything a page refers to. The encoding is UNTC's
     * (utf-8 in its meta), said here so a page cannot pick another. */
    htmlDocPtr doc = htmlReadMemory(html, (int)len, NULL, "UTF-8",
                                    HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
                                        HTML_PARSE_NONET | HTML_PARSE_NOBLANKS);
    xmlNode *root = doc ? xmlDocGetRootElement(doc) : NULL;
    Result res = root ? R_OK : fail(&c, "not an HTML page");
    if (res == R_OK)
        res = read_counts(&c, root);
    if (res == R_OK)
        res = read_participants(&c, root);
    if (res == R_OK) {
        read_opt_in(&c, root);
        res = read_section(&c, root, "_dgDec", UNTC_DECLARATIONS);
    }
    if (res == R_OK)
        res = read_section(&c, root, "_dgObj", UNTC_OBJECTIONS);
    if (res == R_OK)
        res = read_section(&c, root, "_dgDecUnderArticle", UNTC_ARTICLES);
    if (res == R_OK)
        res = read_section(&c, root, "_dgNotifications", UNTC_NOTIFICATIONS);
    if (doc)
        xmlFreeDoc(doc);
    if (res != R_OK)
        untc_page_free(page);
    return res;
}

void untc_page_free(UntcPage *page)
{
    for (size_t i = 0; i < page->n_participants; i++) {
        free(page->participants[i].name);
        free(page->participants[i].row);
    }
    free(page->participants);
    for (size_t i = 0; i < page->n_statements; i++) {
        free(page->statements[i].name);
        free(page->statements[i].text);
    }
    free(page->statements);
    memset(page, 0, sizeof *page);
}
