/*
 * pdf.c: printable letters (see pdf.h), set with Pango and written by
 * cairo's PDF surface straight into the caller's Buf.
 *
 * A letter is laid out in two passes. The first breaks every block (the
 * letterhead, date, recipient, subject, each paragraph, the signature) into
 * lines with Pango and flows the lines down the pages, recording where each
 * one goes as a Mark; only then is the number of pages known. The second
 * draws each page: the marks that fall on it, the small header on pages
 * after the first, and the "n / N" footer.
 *
 * Invariants: all text reaches Pango through pango_layout_set_text(), never
 * as markup; every layout made for a letter is kept in its Flow and unrefed
 * when the letter is done, and the marks point into those layouts' lines;
 * nothing outlives a call but Pango's per-thread font map.
 *
 * Thread-safety. cairo is safe across threads as long as no surface or
 * context is shared; each call makes its own. Pango's shared font map is
 * not safe to use from several threads at once, but since Pango 1.32.6
 * pango_cairo_font_map_get_default() returns a separate font map for each
 * thread, freed when the thread exits, and fontconfig underneath locks its
 * own state. Measured on the 2-core development machine (Pango 1.50.12,
 * cairo 1.16, -O2, a one-page letter): with the per-thread font map a
 * letter takes about 4 ms in English and 5 ms in Arabic once the thread
 * has rendered one (its first costs about 30 ms, mostly fontconfig), and a
 * 200-paragraph, 16-page letter about 31 ms. A new font map for every call
 * (pango_cairo_font_map_new()) makes every letter cost 14 ms in English
 * and 23 ms in Arabic, because each font is looked up and opened again.
 * The per-thread map is as safe, and four threads holding one each, with
 * fontconfig's shared data, take about 12 MB; so it is used. The map dies
 * with its thread.
 */
#include "base/pdf.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cairo.h>
#include <cairo-pdf.h>
#include <pango/pangocairo.h>

#if !PANGO_VERSION_CHECK(1, 50, 0)
#error "pdf.c needs Pango 1.50 for absolute line heights"
#endif

/* Points per millimetre: PDF user space is in points (1/72 inch). */
#define MM (72.0 / 25.4)

/* Font families, tried in order for each character; fontconfig supplies
 * other Noto fonts for scripts none of these covers. */
#define SERIF "Noto Serif, Noto Naskh Arabic, Noto Serif Hebrew"
#define SANS "Noto Sans, Noto Sans Arabic, Noto Sans Hebrew"

/* The type scale, in points, and line heights as multiples of the size. */
#define BODY_SIZE 11.0
#define BODY_LEADING 1.35
/* Naskh at the same size looks a size smaller than Latin text, and its
 * marks and descenders need more room between lines. */
#define ARABIC_BODY_SIZE 12.0
#define ARABIC_LEADING 1.6
#define ORG_SIZE 17.0
#define ORG_LEADING 1.2
#define ARABIC_ORG_LEADING 1.5
#define ADDRESS_SIZE 8.5
#define HEADER_SIZE 8.0 /* the letterhead repeated on later pages, and page numbers */

/* Vertical spaces between blocks, in points. */
#define AFTER_LETTERHEAD 26.0
#define AFTER_DATE 20.0
#define AFTER_RECIPIENT 26.0
#define AFTER_SUBJECT 12.0
#define BETWEEN_PARAGRAPHS 7.0
#define FOR_SIGNING 46.0 /* room for the handwritten signature */

/* Longer than any word or web address a letter holds, in characters. */
#define LONGEST_WORD 500
/* The most combining marks one character may carry (see settable). */
#define MAX_MARKS 30

/* Colours: near-black ink, a dark blue for the letterhead, grey for small
 * print. */
static const double INK[3] = {0.10, 0.10, 0.12};
static const double ACCENT[3] = {0.10, 0.22, 0.38};
static const double MUTED[3] = {0.38, 0.38, 0.40};

/* A paper size, in points. */
typedef struct {
    double width, height;
    double margin; /* on all four sides */
} Sheet;

static const Sheet SHEETS[] = {
    [PAPER_A4] = {210 * MM, 297 * MM, 25 * MM},
    [PAPER_LETTER] = {612, 792, 72},
};

/* Where a block's lines sit across the text column: at the start of the
 * line (left, or right in a right-to-left letter), at its end, or centred. */
typedef enum { AT_START, AT_END, AT_CENTRE } Place;

/* How a block of text is set. */
typedef struct {
    const char *family;
    double size; /* in points */
    PangoWeight weight;
    double leading; /* line height as a multiple of size; 0: the font's own */
    Place place;
    int justify; /* 1: justified, but for the last line of each source line */
    const double *colour;
} Style;

/* One thing to draw: a line of text with its baseline's left end at (x, y),
 * or a horizontal rule across the text column at height y. */
typedef struct {
    PangoLayoutLine *line; /* NULL for a rule; owned by a layout in the Flow */
    int page;              /* from 0 */
    double x, y;
    const double *colour;
} Mark;

/* The state of the first pass. */
typedef struct {
    PangoContext *pango;
    int rtl;            /* 1: paragraphs run right to left and the page is mirrored */
    double size;        /* body text size in points */
    double leading;     /* body line height as a multiple of the size */
    double org_leading; /* the same for the organisation's name */
    double left;        /* the text column's left edge, */
    double width;       /* its width */
    double top_first;   /* where text starts on page 1 */
    double top_next;    /* and on later pages, under the small header */
    double bottom;      /* where text must end on every page */
    int page;           /* the page being filled, from 0 */
    double y;           /* where the next line's top goes */
    Mark *marks;        /* in page order */
    size_t nmarks, marks_cap;
    PangoLayout **layouts; /* every layout made, unrefed by flow_free */
    size_t nlayouts, layouts_cap;
} Flow;

/* A block of text: one layout for each of its source lines, which are
 * f->layouts[first .. first + count). Pango lays out a layout in time that
 * grows with the square of the line breaks in it (10,000 took 0.5 s and
 * 20,000 took 1.7 s), so no layout is given more than one line of the
 * source; a long line that wraps into many is fine. */
typedef struct {
    size_t first, count;
    const double *colour;
} Block;

/* The ISO 639-1 language codes, each followed by a space. Pango keeps
 * caches for every language it is given for as long as the thread's font
 * map lives (about 35 KB each, measured), so only real languages, and only
 * their primary subtag, reach it. */
static const char ISO_639_1[] =
    "aa ab ae af ak am an ar as av ay az ba be bg bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho "
    "hr ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku "
    "kv kw ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn "
    "no nr nv ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm "
    "sn so sq sr ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi "
    "vo wa wo xh yi yo za zh zu ";

/* Languages written right to left: in the Arabic script, and in others. */
static const char RTL_ARABIC_SCRIPT[] = "ar fa ps sd ug ur ";
static const char RTL_OTHER_SCRIPT[] = "dv he yi ";

/* 1 if the two-letter code is in list (codes each followed by a space). */
static int code_in(const char *list, const char *code)
{
    for (const char *p = list; *p; p += 3)
        if (p[0] == code[0] && p[1] == code[1])
            return 1;
    return 0;
}

/* Puts the primary language subtag of the BCP 47 tag lang, lowercased,
 * into code. Returns 1, or 0 when that subtag is not an ISO 639-1 code or
 * the tag is longer than 35 bytes or holds anything but letters, digits,
 * '-' and '_'. */
static int lang_primary(const char *lang, char code[3])
{
    size_t n = strlen(lang);
    if (n > 35 || strcspn(lang, "-_") != 2)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = lang[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_';
        if (!ok)
            return 0;
    }
    code[0] = (char)(lang[0] | 0x20); /* ASCII letters: lowercase */
    code[1] = (char)(lang[1] | 0x20);
    code[2] = '\0';
    return code_in(ISO_639_1, code);
}

static int is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n';
}

/* Copies s into a with CR LF and lone CR turned into LF, leading blank lines
 * and trailing white space removed. Returns NULL when s is NULL or nothing
 * but white space. */
static char *clean_text(Arena *a, const char *s)
{
    if (!s)
        return NULL;
    size_t n = strlen(s);
    char *t = arena_alloc(a, n + 1);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\r') {
            t[k++] = '\n';
            if (s[i + 1] == '\n')
                i++;
        } else {
            t[k++] = s[i];
        }
    }
    while (k > 0 && is_blank(t[k - 1]))
        k--;
    t[k] = '\0';
    if (k == 0)
        return NULL;
    /* Start at the beginning of the first line that holds text, so that its
     * indentation, if any, is kept. */
    size_t first = 0, line_start = 0;
    while (is_blank(t[first])) {
        if (t[first] == '\n')
            line_start = first + 1;
        first++;
    }
    return t + line_start;
}

/* Flattens the line breaks in s (cleaned) into spaces, in place. */
static void one_line(char *s)
{
    for (; *s; s++)
        if (*s == '\n')
            *s = ' ';
}

/* Splits the cleaned body into paragraphs at blank lines. Returns their
 * count; *out is an array in a. */
static size_t split_paragraphs(Arena *a, const char *body, char ***out)
{
    size_t cap = 16, count = 0;
    char **paras = arena_alloc(a, cap * sizeof *paras);
    const char *p = body, *para_start = NULL, *para_end = NULL;
    for (;;) {
        const char *eol = strchr(p, '\n');
        const char *end = eol ? eol : p + strlen(p);
        const char *q = p;
        while (q < end && (*q == ' ' || *q == '\t'))
            q++;
        if (q < end) {
            if (!para_start)
                para_start = p;
            para_end = end;
        }
        if ((q == end || !eol) && para_start) {
            if (count == cap) {
                char **bigger = arena_alloc(a, 2 * cap * sizeof *paras);
                memcpy(bigger, paras, cap * sizeof *paras);
                paras = bigger;
                cap *= 2;
            }
            paras[count++] = arena_strndup(a, para_start, (size_t)(para_end - para_start));
            para_start = NULL;
        }
        if (!eol)
            break;
        p = eol + 1;
    }
    *out = paras;
    return count;
}

/* The most characters text[0..len) holds between two places where a line
 * may break, under Unicode's line breaking rules as Pango applies them. */
static int longest_unbreakable(const char *text, int len, PangoLanguage *language)
{
    int count = (int)g_utf8_strlen(text, len);
    PangoLogAttr *attrs = xmalloc(((size_t)count + 1) * sizeof *attrs);
    pango_get_log_attrs(text, len, -1, language, attrs, count + 1);
    int longest = 0, run = 0;
    for (int i = 0; i <= count; i++) {
        run = attrs[i].is_line_break ? 0 : run + 1;
        if (run > longest)
            longest = run;
    }
    free(attrs);
    return longest;
}

/* The alignment to give a layout of text[0..len) in style, whose
 * direction Pango takes from the text (pango_layout_set_auto_dir): the
 * first strong character's, or the letter's when there is none, so that a
 * Latin line in an Arabic letter reads left to right with its full stop
 * at its end, and an Arabic line in an English letter right to left.
 *
 * Where the line goes is another matter. The letterhead, date, recipient
 * and signature keep their side of the page, mirrored in a right-to-left
 * letter, whatever the script of each line: a Latin address line under an
 * Arabic name stays flush right. A justified paragraph ends its last line
 * on its own side, as running text does: an English paragraph in an Arabic
 * letter ends flush left. Pango, with auto_dir, swaps left and right for a
 * line whose direction is not the context's (the letter's), so the
 * alignment asked of it is swapped beforehand where it must not be. */
static PangoAlignment flow_alignment(const Flow *f, const char *text, int len, const Style *style)
{
    if (style->place == AT_CENTRE)
        return PANGO_ALIGN_CENTER;
    /* Deprecated for applications since Pango 1.44, but it is the very
     * function Pango's auto_dir calls on each paragraph, so the direction
     * found here is the one Pango will set the line in. */
    G_GNUC_BEGIN_IGNORE_DEPRECATIONS
    PangoDirection own = pango_find_base_dir(text, len);
    G_GNUC_END_IGNORE_DEPRECATIONS
    int text_rtl = own == PANGO_DIRECTION_NEUTRAL ? f->rtl : own == PANGO_DIRECTION_RTL;
    /* The side, left or right of the page, the line starts on. */
    int start_right = style->justify ? text_rtl : f->rtl;
    int right = style->place == AT_START ? start_right : !start_right;
    if (text_rtl != f->rtl)
        right = !right; /* Pango swaps it back */
    return right ? PANGO_ALIGN_RIGHT : PANGO_ALIGN_LEFT;
}

/* Makes a layout of text[0..len) set in style across the text column. The
 * layout belongs to f. */
static PangoLayout *flow_layout(Flow *f, const char *text, int len, const Style *style)
{
    PangoLayout *layout = pango_layout_new(f->pango);
    if (f->nlayouts == f->layouts_cap) {
        f->layouts_cap = f->layouts_cap ? 2 * f->layouts_cap : 32;
        f->layouts = xrealloc(f->layouts, f->layouts_cap * sizeof *f->layouts);
    }
    f->layouts[f->nlayouts++] = layout;

    PangoFontDescription *font = pango_font_description_new();
    pango_font_description_set_family(font, style->family);
    pango_font_description_set_size(font, (int)(style->size * PANGO_SCALE));
    pango_font_description_set_weight(font, style->weight);
    pango_layout_set_font_description(layout, font);
    pango_font_description_free(font);

    if (style->leading > 0) {
        PangoAttrList *attrs = pango_attr_list_new();
        int height = (int)(style->leading * style->size * PANGO_SCALE);
        pango_attr_list_insert(attrs, pango_attr_line_height_new_absolute(height));
        pango_layout_set_attributes(layout, attrs);
        pango_attr_list_unref(attrs);
    }

    pango_layout_set_auto_dir(layout, TRUE);
    pango_layout_set_alignment(layout, flow_alignment(f, text, len, style));
    pango_layout_set_justify(layout, style->justify);
    pango_layout_set_width(layout, (int)(f->width * PANGO_SCALE));
    /* A word longer than the line is broken between characters rather than
     * running off the page. Pango takes time that grows with the square of
     * such a word's length to find where, though (16,000 letters took 0.4 s
     * and 32,000 took 1.5 s), so text holding a word longer than any real
     * one is simply broken wherever its lines are full. */
    int longest = longest_unbreakable(text, len, pango_context_get_language(f->pango));
    pango_layout_set_wrap(layout, longest > LONGEST_WORD ? PANGO_WRAP_CHAR : PANGO_WRAP_WORD_CHAR);
    pango_layout_set_text(layout, text, len);
    return layout;
}

/* UTF-8 for U+2029 PARAGRAPH SEPARATOR, which Pango also ends a paragraph
 * at. */
#define PARAGRAPH_SEPARATOR "\xe2\x80\xa9"

/* The end of the line that starts at text: its LF or U+2029, or its NUL.
 * *next is where the next line starts, or NULL after the last. One pass,
 * as a body may hold tens of thousands of lines. */
static const char *line_end(const char *text, const char **next)
{
    const char *p = text;
    for (;;) {
        p += strcspn(p, "\n\xe2");
        if (!*p) {
            *next = NULL;
            return p;
        }
        if (*p == '\n') {
            *next = p + 1;
            return p;
        }
        if (strncmp(p, PARAGRAPH_SEPARATOR, strlen(PARAGRAPH_SEPARATOR)) == 0) {
            *next = p + strlen(PARAGRAPH_SEPARATOR);
            return p;
        }
        p++;
    }
}

/* Makes the block of text (cleaned: lines end in LF) set in style. Each
 * line, and each paragraph a U+2029 ends, gets a layout of its own, which
 * holds one Pango paragraph and so one direction (see flow_alignment). */
static Block flow_block(Flow *f, const char *text, const Style *style)
{
    Block b = {f->nlayouts, 0, style->colour};
    while (text) {
        const char *next;
        const char *end = line_end(text, &next);
        flow_layout(f, text, (int)(end - text), style);
        b.count++;
        text = next;
    }
    return b;
}

static double layout_height(PangoLayout *layout)
{
    PangoRectangle logical;
    pango_layout_get_extents(layout, NULL, &logical);
    return (double)logical.height / PANGO_SCALE;
}

static double flow_page_top(const Flow *f)
{
    return f->page == 0 ? f->top_first : f->top_next;
}

static void flow_mark(Flow *f, PangoLayoutLine *line, double x, double y, const double *colour)
{
    if (f->nmarks == f->marks_cap) {
        f->marks_cap = f->marks_cap ? 2 * f->marks_cap : 128;
        f->marks = xrealloc(f->marks, f->marks_cap * sizeof *f->marks);
    }
    f->marks[f->nmarks++] = (Mark){line, f->page, x, y, colour};
}

static void flow_new_page(Flow *f)
{
    f->page++;
    f->y = f->top_next;
}

/* Leaves space points of room, unless at the top of a page. */
static void flow_space(Flow *f, double space)
{
    if (f->y > flow_page_top(f))
        f->y += space;
}

/* Moves to a new page unless height more points fit on this one (or this
 * page is still empty). */
static void flow_need(Flow *f, double height)
{
    if (f->y + height > f->bottom && f->y > flow_page_top(f))
        flow_new_page(f);
}

/* Places the lines of layout, one under the other, going on to a new page
 * whenever the next line does not fit. */
static void flow_lines(Flow *f, PangoLayout *layout, const double *colour)
{
    PangoLayoutIter *it = pango_layout_get_iter(layout);
    do {
        PangoLayoutLine *line = pango_layout_iter_get_line_readonly(it);
        PangoRectangle in_layout, own;
        pango_layout_iter_get_line_extents(it, NULL, &in_layout);
        pango_layout_line_get_extents(line, NULL, &own);
        double height = (double)in_layout.height / PANGO_SCALE;
        flow_need(f, height);
        /* The line's extents in the layout include the offset that aligns
         * it; pango_cairo_show_layout_line() starts at the line's own 0. */
        double x = f->left + (double)(in_layout.x - own.x) / PANGO_SCALE;
        double baseline = (double)(pango_layout_iter_get_baseline(it) - in_layout.y) / PANGO_SCALE;
        flow_mark(f, line, x, f->y + baseline, colour);
        f->y += height;
    } while (pango_layout_iter_next_line(it));
    pango_layout_iter_free(it);
}

static double block_height(const Flow *f, Block b)
{
    double height = 0;
    for (size_t i = b.first; i < b.first + b.count; i++)
        height += layout_height(f->layouts[i]);
    return height;
}

static int block_line_count(const Flow *f, Block b)
{
    int lines = 0;
    for (size_t i = b.first; i < b.first + b.count; i++)
        lines += pango_layout_get_line_count(f->layouts[i]);
    return lines;
}

/* Places the lines of block b. */
static void flow_block_lines(Flow *f, Block b)
{
    for (size_t i = b.first; i < b.first + b.count; i++)
        flow_lines(f, f->layouts[i], b.colour);
}

/* Places a thin rule across the column at the current height. */
static void flow_rule(Flow *f)
{
    flow_mark(f, NULL, f->left, f->y, ACCENT);
}

static void flow_free(Flow *f)
{
    for (size_t i = 0; i < f->nlayouts; i++)
        g_object_unref(f->layouts[i]);
    free(f->layouts);
    free(f->marks);
}

static void draw_rule(cairo_t *cr, double x, double y, double width, const double *colour)
{
    cairo_set_source_rgb(cr, colour[0], colour[1], colour[2]);
    cairo_set_line_width(cr, 0.6);
    cairo_move_to(cr, x, y);
    cairo_line_to(cr, x + width, y);
    cairo_stroke(cr);
}

/* Draws layout with its top left corner at (x, y). */
static void draw_layout(cairo_t *cr, PangoLayout *layout, double x, double y, const double *colour)
{
    cairo_set_source_rgb(cr, colour[0], colour[1], colour[2]);
    cairo_move_to(cr, x, y);
    pango_cairo_show_layout(cr, layout);
}

static cairo_status_t write_to_buf(void *closure, const unsigned char *data, unsigned int length)
{
    buf_append(closure, (const char *)data, length);
    return CAIRO_STATUS_SUCCESS;
}

/* 1 if the valid UTF-8 text s can be set: it holds no noncharacter
 * (U+FDD0..U+FDEF, U+FFFE, U+FFFF and their like in every plane), which
 * cairo refuses to write, failing the whole PDF; and no character carries
 * more than MAX_MARKS combining marks, the limit of Unicode's Stream-Safe
 * Text Format (UAX #15). No script needs more; "Zalgo" text has thousands,
 * and Pango and HarfBuzz take time that grows with the square of their
 * number (64,000 on one letter took 21 s). */
static int settable(const char *s)
{
    int marks = 0;
    for (; *s; s = g_utf8_next_char(s)) {
        gunichar c = g_utf8_get_char(s);
        if ((c >= 0xFDD0 && c <= 0xFDEF) || (c & 0xFFFE) == 0xFFFE)
            return 0;
        marks = g_unichar_combining_class(c) ? marks + 1 : 0;
        if (marks > MAX_MARKS)
            return 0;
    }
    return 1;
}

/* Checks one field: valid text, and adds its length to *total. */
static Result check_field(const char *s, size_t *total)
{
    if (!s)
        return R_OK;
    size_t n = strlen(s);
    *total += n;
    if (*total > PDF_MAX_TEXT)
        return R_TOO_LARGE;
    return utf8_valid_text(s, n) && settable(s) ? R_OK : R_BAD_REQUEST;
}

/* Checks every field of l, and puts its language code into lang. */
static Result check_letter(const LetterPdf *l, char lang[3])
{
    const char *fields[] = {l->org_name, l->org_address, l->place_and_date, l->recipient,
                            l->subject,  l->body,        l->signature,      l->lang};
    size_t total = 0;
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        Result rc = check_field(fields[i], &total);
        if (rc != R_OK)
            return rc;
    }
    if (!l->lang || !l->lang[0]) {
        strcpy(lang, "en");
        return R_OK;
    }
    return lang_primary(l->lang, lang) ? R_OK : R_BAD_REQUEST;
}

Result pdf_check(const LetterPdf *letter)
{
    char lang[3];
    return check_letter(letter, lang);
}

/* The first pass: everything on page 1 down to the signature. */
static void flow_letter(Flow *f, Arena *a, const LetterPdf *l, char **paras, size_t nparas)
{
    char *org = clean_text(a, l->org_name);
    char *address = clean_text(a, l->org_address);
    char *date = clean_text(a, l->place_and_date);
    char *recipient = clean_text(a, l->recipient);
    char *subject = clean_text(a, l->subject);
    char *signature = clean_text(a, l->signature);
    const Style org_style = {SANS, ORG_SIZE, PANGO_WEIGHT_BOLD, f->org_leading, AT_START,
                             0,    ACCENT};
    const Style address_style = {SANS, ADDRESS_SIZE, PANGO_WEIGHT_NORMAL, 1.3, AT_START, 0, MUTED};
    const Style text = {SERIF, f->size, PANGO_WEIGHT_NORMAL, f->leading, AT_START, 0, INK};
    Style date_style = text, subject_style = text, paragraph = text;
    date_style.place = AT_END;
    subject_style.weight = PANGO_WEIGHT_BOLD;
    paragraph.justify = 1;

    if (org)
        flow_block_lines(f, flow_block(f, org, &org_style));
    if (address) {
        f->y += 2;
        flow_block_lines(f, flow_block(f, address, &address_style));
    }
    if (org || address) {
        f->y += 7;
        flow_rule(f);
        f->y += AFTER_LETTERHEAD;
    }
    if (date) {
        flow_block_lines(f, flow_block(f, date, &date_style));
        flow_space(f, AFTER_DATE);
    }
    if (recipient) {
        flow_block_lines(f, flow_block(f, recipient, &text));
        flow_space(f, AFTER_RECIPIENT);
    }
    if (subject) {
        Block b = flow_block(f, subject, &subject_style);
        /* Keep the subject with the first two lines of the letter. */
        flow_need(f, block_height(f, b) + AFTER_SUBJECT + 2 * f->leading * f->size);
        flow_block_lines(f, b);
        flow_space(f, AFTER_SUBJECT);
    }

    Block sig = {0};
    double sig_height = 0;
    if (signature) {
        sig = flow_block(f, signature, &text);
        sig_height = FOR_SIGNING + block_height(f, sig);
    }
    for (size_t i = 0; i < nparas; i++) {
        Block p = flow_block(f, paras[i], &paragraph);
        if (i > 0)
            flow_space(f, BETWEEN_PARAGRAPHS);
        /* A short closing paragraph ("Yours sincerely,") goes over to the
         * next page with the signature rather than leave it alone there. */
        if (i == nparas - 1 && signature && block_line_count(f, p) <= 3)
            flow_need(f, block_height(f, p) + sig_height);
        flow_block_lines(f, p);
    }
    if (signature) {
        flow_need(f, sig_height);
        flow_space(f, FOR_SIGNING);
        flow_block_lines(f, sig);
    }
}

/* The second pass: draws every page of f on cr. header is the letterhead in
 * small (NULL without one), header_height its height; numbers the pages
 * when there is more than one. */
static void draw_pages(cairo_t *cr, Flow *f, const Sheet *sheet, PangoLayout *header,
                       double header_height)
{
    int pages = f->nmarks ? f->marks[f->nmarks - 1].page + 1 : 1;
    size_t m = 0;
    for (int page = 0; page < pages; page++) {
        if (page > 0 && header) {
            draw_layout(cr, header, f->left, sheet->margin, MUTED);
            draw_rule(cr, f->left, sheet->margin + header_height + 3, f->width, MUTED);
        }
        if (pages > 1) {
            char number[32];
            snprintf(number, sizeof number, "%d / %d", page + 1, pages);
            const Style style = {SANS, HEADER_SIZE, PANGO_WEIGHT_NORMAL, 0, AT_CENTRE, 0, MUTED};
            PangoLayout *footer = flow_layout(f, number, -1, &style);
            double y = sheet->height - sheet->margin / 2 - layout_height(footer) / 2;
            draw_layout(cr, footer, f->left, y, MUTED);
        }
        for (; m < f->nmarks && f->marks[m].page == page; m++) {
            const Mark *mk = &f->marks[m];
            if (!mk->line) {
                draw_rule(cr, mk->x, mk->y, f->width, mk->colour);
                continue;
            }
            cairo_set_source_rgb(cr, mk->colour[0], mk->colour[1], mk->colour[2]);
            cairo_move_to(cr, mk->x, mk->y);
            pango_cairo_show_layout_line(cr, mk->line);
        }
        cairo_show_page(cr);
    }
}

Result pdf_letter(const LetterPdf *letter, Buf *out)
{
    assert(letter && out);
    assert(letter->paper == PAPER_A4 || letter->paper == PAPER_LETTER);
    char lang[3];
    Result rc = check_letter(letter, lang);
    if (rc != R_OK)
        return rc;

    Arena *a = arena_new();
    char *body = clean_text(a, letter->body);
    if (!body) {
        arena_free(a);
        return R_BAD_REQUEST;
    }
    char **paras;
    size_t nparas = split_paragraphs(a, body, &paras);
    const Sheet *sheet = &SHEETS[letter->paper];
    size_t start = out->len;

    cairo_surface_t *surface =
        cairo_pdf_surface_create_for_stream(write_to_buf, out, sheet->width, sheet->height);
    cairo_t *cr = cairo_create(surface);
    char *title = clean_text(a, letter->subject);
    if (title)
        one_line(title);
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_TITLE, title ? title : "Letter");
    cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_CREATOR, "Ratify");
    char *author = clean_text(a, letter->org_name);
    if (author) {
        one_line(author);
        cairo_pdf_surface_set_metadata(surface, CAIRO_PDF_METADATA_AUTHOR, author);
    }

    Flow f = {0};
    int arabic_script = code_in(RTL_ARABIC_SCRIPT, lang);
    f.rtl = arabic_script || code_in(RTL_OTHER_SCRIPT, lang);
    f.size = arabic_script ? ARABIC_BODY_SIZE : BODY_SIZE;
    f.leading = arabic_script ? ARABIC_LEADING : BODY_LEADING;
    f.org_leading = arabic_script ? ARABIC_ORG_LEADING : ORG_LEADING;
    f.left = sheet->margin;
    f.width = sheet->width - 2 * sheet->margin;
    f.bottom = sheet->height - sheet->margin;
    f.top_first = sheet->margin;
    /* The font map is this thread's own (see the top of the file). */
    f.pango = pango_font_map_create_context(pango_cairo_font_map_get_default());
    pango_cairo_update_context(cr, f.pango);
    /* Sizes are in points: one Pango unit of size is one unit of PDF user
     * space. Metrics are not hinted or rounded: this is print. */
    pango_cairo_context_set_resolution(f.pango, 72);
    cairo_font_options_t *options = cairo_font_options_create();
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE);
    pango_cairo_context_set_font_options(f.pango, options);
    cairo_font_options_destroy(options);
    pango_context_set_round_glyph_positions(f.pango, FALSE);
    pango_context_set_language(f.pango, pango_language_from_string(lang));
    pango_context_set_base_dir(f.pango, f.rtl ? PANGO_DIRECTION_RTL : PANGO_DIRECTION_LTR);

    /* The letterhead in small, over a rule, heads every page after the
     * first. */
    PangoLayout *header = NULL;
    double header_height = 0;
    if (author) {
        const Style style = {SANS, HEADER_SIZE, PANGO_WEIGHT_BOLD, 0, AT_START, 0, MUTED};
        header = flow_layout(&f, author, -1, &style);
        pango_layout_set_ellipsize(header, PANGO_ELLIPSIZE_END);
        header_height = layout_height(header);
    }
    f.top_next = sheet->margin + header_height + 18;
    f.y = f.top_first;

    flow_letter(&f, a, letter, paras, nparas);
    draw_pages(cr, &f, sheet, header, header_height);

    cairo_status_t status = cairo_status(cr);
    cairo_destroy(cr);
    cairo_surface_finish(surface);
    if (status == CAIRO_STATUS_SUCCESS)
        status = cairo_surface_status(surface);
    cairo_surface_destroy(surface);
    flow_free(&f);
    g_object_unref(f.pango);
    arena_free(a);

    if (status != CAIRO_STATUS_SUCCESS) {
        log_info("pdf: cairo failed: %s", cairo_status_to_string(status));
        out->len = start;
        if (out->data)
            out->data[start] = '\0';
        return R_INTERNAL;
    }
    return R_OK;
}
