/*
 * test_pdf.c: printable letters (src/pdf.c), read back the way a person or
 * a mail client would: pdftotext for the words, pdfinfo for the page size,
 * page count and metadata, pdftotext -bbox for where the lines sit (right
 * to left lines flush right). Also hostile text (markup, invalid UTF-8),
 * long letters, Arabic, Hebrew and several threads rendering at once.
 *
 * Needs poppler-utils (scripts/install-deps).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/pdf.h"

/* A letter such as a member of an Angolan coalition would send. */
static const LetterPdf ANGOLA = {
    .paper = PAPER_A4,
    .lang = "en",
    .org_name = "Coalition for Economic, Social and Cultural Rights in Angola",
    .org_address = "Rua Rainha Ginga 29, 3rd floor\nLuanda, Angola",
    .place_and_date = "Luanda, 30 November 2026",
    .recipient = "H.E. Téte António\nMinister of External Relations\nLuanda, Republic of Angola",
    .subject = "Ratification of the Optional Protocol to the ICESCR",
    .body = "Your Excellency,\r\n\r\n"
            "We write on behalf of forty-two civil society organisations working across "
            "Angola on health, housing, education and decent work.\r\n\r\n"
            "We respectfully ask the Government of Angola to ratify the Optional Protocol to "
            "the International Covenant on Economic, Social and Cultural Rights.\r\n\r\n"
            "Yours sincerely,\r\n",
    .signature = "Maria da Conceição Neto\nCoordinator",
};

/* Writes pdf to a new temporary file; returns its path (free it, and
 * remove the file). */
static char *save_temp(const Buf *pdf)
{
    char *path = strdup("/tmp/ratify-test-pdf-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, pdf->data, pdf->len), (ssize_t)pdf->len);
    close(fd);
    return path;
}

/* Runs "tool 'path' after" and returns its standard output with every run
 * of white space made one space, so that words wrapped or justified on the
 * page compare as running text. The caller frees it. */
static char *run_tool(const char *tool, const char *path, const char *after)
{
    char command[256];
    snprintf(command, sizeof command, "%s '%s' %s 2>/dev/null", tool, path, after);
    FILE *p = popen(command, "r");
    assert_non_null(p);
    Buf out = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, p)) > 0)
        buf_append(&out, chunk, n);
    assert_int_equal(pclose(p), 0);
    buf_putc(&out, '\0');
    char *s = out.data, *w = out.data;
    int space = 0;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\f' || *s == '\r') {
            space = 1;
            continue;
        }
        if (space && w != out.data)
            *w++ = ' ';
        space = 0;
        *w++ = *s;
    }
    *w = '\0';
    return out.data;
}

static char *pdftotext(const char *path)
{
    return run_tool("pdftotext -layout -enc UTF-8", path, "-");
}

static char *pdfinfo(const char *path)
{
    return run_tool("pdfinfo -enc UTF-8", path, "");
}

/* Renders letter and returns what pdftotext reads in it, and in *info what
 * pdfinfo says. The caller frees both. */
static char *render_and_read(const LetterPdf *letter, char **info)
{
    Buf pdf = {0};
    assert_int_equal(pdf_letter(letter, &pdf), R_OK);
    assert_true(pdf.len > 1000);
    assert_memory_equal(pdf.data, "%PDF-", 5);
    char *path = save_temp(&pdf);
    char *text = pdftotext(path);
    *info = pdfinfo(path);
    remove(path);
    free(path);
    buf_free(&pdf);
    return text;
}

static void test_english_a4(void **state)
{
    (void)state;
    char *info;
    char *text = render_and_read(&ANGOLA, &info);
    assert_non_null(strstr(text, "Republic of Angola"));
    assert_non_null(strstr(text, "We respectfully ask the Government of Angola to ratify the "
                                 "Optional Protocol"));
    assert_non_null(strstr(text, "Coalition for Economic, Social and Cultural Rights"));
    assert_non_null(strstr(text, "Ratification of the Optional Protocol to the ICESCR"));
    assert_non_null(strstr(text, "Luanda, 30 November 2026"));
    assert_non_null(strstr(text, "Maria da Conceição Neto"));
    /* One page, so no page number. */
    assert_null(strstr(text, "1 / 1"));
    assert_non_null(strstr(info, "Page size: 595.276 x 841.89 pts (A4)"));
    assert_non_null(strstr(info, "Pages: 1 "));
    assert_non_null(strstr(info, "Title: Ratification of the Optional Protocol to the ICESCR"));
    assert_non_null(strstr(info, "Creator: Ratify"));
    assert_non_null(strstr(info, "Author: Coalition for Economic"));
    free(text);
    free(info);
}

static void test_english_letter_paper(void **state)
{
    (void)state;
    LetterPdf letter = ANGOLA;
    letter.paper = PAPER_LETTER;
    letter.org_address = NULL;
    char *info;
    char *text = render_and_read(&letter, &info);
    assert_non_null(strstr(text, "Republic of Angola"));
    assert_non_null(strstr(text, "ratify the Optional Protocol to the International Covenant"));
    assert_non_null(strstr(text, "Coalition for Economic, Social and Cultural Rights"));
    assert_non_null(strstr(text, "Ratification of the Optional Protocol to the ICESCR"));
    assert_non_null(strstr(info, "Page size: 612 x 792 pts (letter)"));
    free(text);
    free(info);
}

/* Only the body is required; without a subject the title is "Letter". */
static void test_minimal_letter(void **state)
{
    (void)state;
    LetterPdf letter = {.paper = PAPER_A4, .body = "Please ratify the Protocol."};
    char *info;
    char *text = render_and_read(&letter, &info);
    assert_string_equal(text, "Please ratify the Protocol.");
    assert_non_null(strstr(info, "Title: Letter"));
    free(text);
    free(info);
}

static void test_long_letter_flows_onto_pages(void **state)
{
    (void)state;
    Buf body = {0};
    for (int i = 1; i <= 200; i++)
        buf_printf(&body,
                   "Paragraph %d. The Covenant protects the rights to work, to social "
                   "security, to an adequate standard of living, to health and to "
                   "education; the Protocol lets people claim them.\n\n",
                   i);
    LetterPdf letter = ANGOLA;
    letter.body = body.data;
    Buf pdf = {0};
    assert_int_equal(pdf_letter(&letter, &pdf), R_OK);
    char *path = save_temp(&pdf);
    char *info = pdfinfo(path);
    const char *pages_at = strstr(info, "Pages: ");
    assert_non_null(pages_at);
    int pages = atoi(pages_at + 7);
    assert_true(pages >= 5);
    char *text = pdftotext(path);
    char expect[64];
    snprintf(expect, sizeof expect, "1 / %d", pages);
    assert_non_null(strstr(text, expect));
    snprintf(expect, sizeof expect, "2 / %d", pages);
    assert_non_null(strstr(text, expect));
    snprintf(expect, sizeof expect, "%d / %d", pages, pages);
    assert_non_null(strstr(text, expect));
    /* Nothing is lost between pages, and the signature comes last. */
    assert_non_null(strstr(text, "Paragraph 1. The Covenant"));
    assert_non_null(strstr(text, "Paragraph 117. The Covenant"));
    const char *last = strstr(text, "Paragraph 200. The Covenant");
    assert_non_null(last);
    assert_non_null(strstr(last, "Maria da Conceição Neto"));
    free(text);
    free(info);
    remove(path);
    free(path);
    buf_free(&pdf);
    buf_free(&body);
}

static void test_arabic(void **state)
{
    (void)state;
    LetterPdf letter = {
        .paper = PAPER_A4,
        .lang = "ar",
        .org_name = "التحالف المغربي للحقوق الاقتصادية والاجتماعية والثقافية",
        .place_and_date = "الرباط، 30 نوفمبر 2026",
        .recipient = "السيد وزير الشؤون الخارجية\nالرباط، المملكة المغربية",
        .subject = "التصديق على البروتوكول الاختياري",
        .body = "معالي الوزير،\n\nنطلب منكم بكل احترام أن تصادق الحكومة على البروتوكول "
                "الاختياري للعهد الدولي الخاص بالحقوق الاقتصادية والاجتماعية والثقافية.",
        .signature = "مريم العلوي",
    };
    char *info;
    char *text = render_and_read(&letter, &info);
    /* pdftotext gives the words back in reading order. */
    assert_non_null(strstr(text, "التصديق"));
    assert_non_null(strstr(text, "البروتوكول"));
    assert_non_null(strstr(text, "مريم"));
    assert_non_null(strstr(info, "Title: التصديق على البروتوكول الاختياري"));
    free(text);
    free(info);
}

/* Where the text column's edges are on A4: 25 mm from each side. */
#define A4_LEFT (25 * 72 / 25.4)
#define A4_RIGHT (595.276 - A4_LEFT)
/* How far, in points, a line may stop short of the edge it is set against:
 * pdftotext's boxes are those of the glyphs, not of the advance widths. */
#define NEAR 1.5

/* A word as pdftotext -bbox places it on page 1, in points from the top
 * left. Arabic comes out one glyph a "word", in the order of the page. */
typedef struct {
    double x0, y0, x1;
    char text[64];
} Word;

typedef struct {
    Word *w;
    size_t n;
} Words;

/* Renders letter and reads back where pdftotext puts each word on page 1. */
static Words render_words(const LetterPdf *letter)
{
    Buf pdf = {0};
    assert_int_equal(pdf_letter(letter, &pdf), R_OK);
    char *path = save_temp(&pdf);
    char command[256];
    snprintf(command, sizeof command, "pdftotext -bbox -f 1 -l 1 -enc UTF-8 '%s' - 2>/dev/null",
             path);
    FILE *p = popen(command, "r");
    assert_non_null(p);
    Words ws = {0};
    size_t cap = 0;
    char line[512];
    while (fgets(line, sizeof line, p)) {
        Word w;
        if (sscanf(line, " <word xMin=\"%lf\" yMin=\"%lf\" xMax=\"%lf\" yMax=\"%*f\">%63[^<]",
                   &w.x0, &w.y0, &w.x1, w.text) != 4)
            continue;
        if (ws.n == cap) {
            cap = cap ? 2 * cap : 256;
            ws.w = realloc(ws.w, cap * sizeof *ws.w);
        }
        ws.w[ws.n++] = w;
    }
    assert_int_equal(pclose(p), 0);
    assert_true(ws.n > 0);
    remove(path);
    free(path);
    buf_free(&pdf);
    return ws;
}

static double distance(double a, double b)
{
    return a > b ? a - b : b - a;
}

static double larger(double a, double b)
{
    return a > b ? a : b;
}

/* 1 if words a and b are on the same line. Glyphs of one line share their
 * top in pdftotext's output, to within the difference between fonts;
 * lines are at least 11 points apart. */
static int same_line(const Word *a, const Word *b)
{
    return distance(a->y0, b->y0) < 3;
}

/* 1 if word a is left of word b. A ligature comes out as glyphs at the
 * same place, all but the first with no width (lam-alef: the lam, then
 * an alef of width 0): the wider is on the right, read first. */
static int before(const Word *a, const Word *b)
{
    return a->x0 < b->x0 || (a->x0 == b->x0 && a->x1 < b->x1);
}

/* The words on the line of word i, from the left of the page. */
typedef struct {
    const Word *w[256];
    size_t n;
} Line;

static Line line_at(const Words *ws, size_t i)
{
    Line l = {.n = 0};
    for (size_t k = 0; k < ws->n && l.n < 256; k++) {
        if (!same_line(&ws->w[i], &ws->w[k]))
            continue;
        size_t at = l.n++;
        while (at > 0 && before(&ws->w[k], l.w[at - 1])) {
            l.w[at] = l.w[at - 1];
            at--;
        }
        l.w[at] = &ws->w[k];
    }
    return l;
}

/* The line holding the word text (the first such on the page). */
static Line line_with(const Words *ws, const char *text)
{
    for (size_t i = 0; i < ws->n; i++)
        if (strcmp(ws->w[i].text, text) == 0)
            return line_at(ws, i);
    fail_msg("no word \"%s\" on the page", text);
    return (Line){.n = 0};
}

/* The text of line l read from right to left, spaces left out: the
 * logical order of a line of Arabic, whose glyphs pdftotext gives one by
 * one. */
static void rtl_text(const Line *l, char *text, size_t size)
{
    text[0] = '\0';
    for (size_t k = l->n; k-- > 0;)
        strncat(text, l->w[k]->text, size - strlen(text) - 1);
}

/* The first line whose text read from right to left ends with logical. */
static Line rtl_line(const Words *ws, const char *logical)
{
    char text[2048];
    size_t n = strlen(logical);
    for (size_t i = 0; i < ws->n; i++) {
        Line l = line_at(ws, i);
        rtl_text(&l, text, sizeof text);
        size_t len = strlen(text);
        if (len >= n && strcmp(text + len - n, logical) == 0)
            return l;
    }
    for (size_t i = 0; i < ws->n; i++) {
        Line l = line_at(ws, i);
        if (l.w[0] != &ws->w[i])
            continue; /* once a line */
        rtl_text(&l, text, sizeof text);
        print_message("line: %s\n", text);
    }
    fail_msg("no line ends with \"%s\" read right to left", logical);
    return (Line){.n = 0};
}

static double line_left(const Line *l)
{
    return l->w[0]->x0;
}

static double line_right(const Line *l)
{
    double right = 0;
    for (size_t k = 0; k < l->n; k++)
        right = larger(right, l->w[k]->x1);
    return right;
}

static void assert_near(double x, double edge)
{
    if (distance(x, edge) > NEAR)
        fail_msg("x = %.2f, expected %.2f", x, edge);
}

/* An Arabic letter reads right to left: its lines start at the right
 * margin and end, full stop and comma included, towards the left. A Latin
 * line in it reads left to right with its full stop at its end; in the
 * letterhead, recipient and signature it keeps the Arabic letter's side. */
static void test_arabic_layout(void **state)
{
    (void)state;
    LetterPdf letter = {
        .paper = PAPER_A4,
        .lang = "ar",
        .org_name = "التحالف المغربي",
        .org_address = "Avenue Mohammed V, 12",
        .place_and_date = "الرباط، 30 نوفمبر 2026",
        .recipient = "السيد وزير الشؤون الخارجية\nRabat, Kingdom of Morocco\n10000",
        .subject = "التصديق على البروتوكول الاختياري",
        .body = "معالي الوزير،\n\n"
                "نطلب منكم بكل احترام أن تصادق الحكومة على البروتوكول الاختياري للعهد الدولي "
                "الخاص بالحقوق الاقتصادية والاجتماعية والثقافية، الذي اعتمدته الجمعية العامة "
                "للأمم المتحدة.\n\n"
                "We enclose a summary in English.\n\n"
                "وتفضلوا بقبول فائق الاحترام.",
        .signature = "مريم العلوي\nMaryam Alaoui",
    };
    Words ws = render_words(&letter);

    Line l = rtl_line(&ws, "معاليالوزير،");
    assert_near(line_right(&l), A4_RIGHT);
    assert_string_equal(l.w[0]->text, "،"); /* the comma at the line's end, on the left */
    l = rtl_line(&ws, "وتفضلوابقبولفائقالاحترام.");
    assert_near(line_right(&l), A4_RIGHT);
    assert_string_equal(l.w[0]->text, ".");
    assert_true(line_left(&l) > 300);
    l = rtl_line(&ws, "مريمالعلوي");
    assert_near(line_right(&l), A4_RIGHT);
    l = rtl_line(&ws, "التحالفالمغربي");
    assert_near(line_right(&l), A4_RIGHT);
    l = rtl_line(&ws, "السيدوزيرالشؤونالخارجية");
    assert_near(line_right(&l), A4_RIGHT);
    /* The paragraph's first line is full (justified); its last starts at
     * the right and ends with the full stop. */
    int found = 0;
    for (size_t i = 0; i < ws.n && !found; i++) {
        Line first = line_at(&ws, i);
        /* The line that starts with "نطلب" (at its right). */
        if (first.n < 40 || strcmp(first.w[first.n - 1]->text, "ن") != 0 ||
            strcmp(first.w[first.n - 2]->text, "ط") != 0)
            continue;
        assert_near(line_right(&first), A4_RIGHT);
        assert_near(line_left(&first), A4_LEFT);
        found = 1;
    }
    assert_true(found);
    l = rtl_line(&ws, "للأممالمتحدة.");
    assert_near(line_right(&l), A4_RIGHT);
    assert_string_equal(l.w[0]->text, ".");

    /* The date goes at the end of its line: the left. */
    l = line_with(&ws, "2026");
    assert_near(line_left(&l), A4_LEFT);

    /* Latin lines: left to right, the full stop last. The paragraph is
     * running text and starts at the left; the address and the name stay
     * on the right with the Arabic lines around them. */
    l = line_with(&ws, "enclose");
    assert_near(line_left(&l), A4_LEFT);
    assert_string_equal(l.w[0]->text, "We");
    assert_string_equal(l.w[l.n - 1]->text, "English.");
    assert_true(line_right(&l) < 300);
    l = line_with(&ws, "Kingdom");
    assert_near(line_right(&l), A4_RIGHT);
    assert_string_equal(l.w[0]->text, "Rabat,");
    l = line_with(&ws, "Alaoui");
    assert_near(line_right(&l), A4_RIGHT);
    assert_string_equal(l.w[0]->text, "Maryam");
    l = line_with(&ws, "Mohammed");
    assert_near(line_right(&l), A4_RIGHT);
    assert_string_equal(l.w[0]->text, "Avenue");
    /* Digits alone have no direction: they take the letter's. */
    l = line_with(&ws, "10000");
    assert_near(line_right(&l), A4_RIGHT);
    free(ws.w);
}

/* An English letter stays left to right and flush left, but a line of
 * Arabic in it, a quotation say, reads right to left from the right
 * margin; U+2029 ends a paragraph as a line break does. */
static void test_english_layout_with_arabic(void **state)
{
    (void)state;
    Words ws = render_words(&ANGOLA);
    Line l = line_with(&ws, "behalf");
    assert_near(line_left(&l), A4_LEFT);
    assert_near(line_right(&l), A4_RIGHT); /* justified */
    assert_string_equal(l.w[0]->text, "We");
    l = line_with(&ws, "Excellency,");
    assert_near(line_left(&l), A4_LEFT);
    l = line_with(&ws, "November");
    assert_near(line_right(&l), A4_RIGHT);
    l = line_with(&ws, "Coordinator");
    assert_near(line_left(&l), A4_LEFT);
    free(ws.w);

    LetterPdf letter = ANGOLA;
    letter.body = "Your Excellency,\n\n"
                  "شكرا جزيلا.\n\n"
                  "123\n\n"
                  "Yours sincerely,\xe2\x80\xa9"
                  "مع التحية.";
    ws = render_words(&letter);
    l = rtl_line(&ws, "شكراجزيلا.");
    assert_near(line_right(&l), A4_RIGHT);
    assert_string_equal(l.w[0]->text, ".");
    l = rtl_line(&ws, "معالتحية.");
    assert_near(line_right(&l), A4_RIGHT);
    l = line_with(&ws, "sincerely,");
    assert_near(line_left(&l), A4_LEFT);
    assert_string_equal(l.w[0]->text, "Yours");
    l = line_with(&ws, "123");
    assert_near(line_left(&l), A4_LEFT);
    free(ws.w);
}

/* Hebrew is right to left too (and not in the Arabic script). */
static void test_hebrew_layout(void **state)
{
    (void)state;
    LetterPdf letter = {.paper = PAPER_A4,
                        .lang = "he",
                        .body = "אנו מבקשים לאשרר את הפרוטוקול.",
                        .signature = "Ratify"};
    Words ws = render_words(&letter);
    double right = 0;
    for (size_t i = 0; i < ws.n; i++)
        if (strcmp(ws.w[i].text, "Ratify") != 0)
            right = larger(right, ws.w[i].x1);
    assert_near(right, A4_RIGHT);
    Line l = line_with(&ws, "Ratify");
    assert_near(line_right(&l), A4_RIGHT);
    free(ws.w);
}

/* A letter is plain text: markup in it is printed, not obeyed. */
static void test_markup_is_printed(void **state)
{
    (void)state;
    LetterPdf letter = ANGOLA;
    letter.subject = "<i>Subject</i>";
    letter.body = "<b>bold</b> &amp; <span foreground='red'>x</span>";
    letter.signature = "<span size='xx-large'>Maria</span>";
    char *info;
    char *text = render_and_read(&letter, &info);
    assert_non_null(strstr(text, "<b>bold</b> &amp; <span foreground='red'>x</span>"));
    assert_non_null(strstr(text, "<i>Subject</i>"));
    assert_non_null(strstr(text, "<span size='xx-large'>Maria</span>"));
    free(text);
    free(info);
}

static void test_bad_input(void **state)
{
    (void)state;
    Buf out = {0};
    buf_puts(&out, "kept");
    LetterPdf letter = ANGOLA;
    letter.body = "Ratify \xff\xfe now";
    assert_int_equal(pdf_letter(&letter, &out), R_BAD_REQUEST);
    letter = ANGOLA;
    letter.subject = "\xc3\x28";
    assert_int_equal(pdf_letter(&letter, &out), R_BAD_REQUEST);
    letter = ANGOLA;
    letter.recipient = "Minister\x01";
    assert_int_equal(pdf_letter(&letter, &out), R_BAD_REQUEST);
    /* Noncharacters are valid UTF-8, but cairo refuses to write them. */
    const char *nonchars[] = {"\xef\xbf\xbe", "\xef\xb7\x90", "\xf0\x9f\xbf\xbf"};
    for (size_t i = 0; i < sizeof nonchars / sizeof nonchars[0]; i++) {
        letter = ANGOLA;
        letter.subject = nonchars[i];
        assert_int_equal(pdf_letter(&letter, &out), R_BAD_REQUEST);
    }
    letter = ANGOLA;
    letter.body = NULL;
    assert_int_equal(pdf_letter(&letter, &out), R_BAD_REQUEST);
    letter.body = " \r\n\t\n ";
    assert_int_equal(pdf_letter(&letter, &out), R_BAD_REQUEST);
    /* A letter with 31 combining marks on it ("Zalgo" text). */
    Buf zalgo = {0};
    buf_puts(&zalgo, "Ratify");
    for (int i = 0; i < 31; i++)
        buf_puts(&zalgo, "\xcc\x81");
    letter = ANGOLA;
    letter.signature = zalgo.data;
    assert_int_equal(pdf_letter(&letter, &out), R_BAD_REQUEST);
    buf_free(&zalgo);
    /* Languages: only real ones reach Pango, which caches each for good. */
    const char *bad_langs[] = {"en'><x",
                               "xx",
                               "english",
                               "e",
                               "x-klingon",
                               "EN-us-"
                               "0123456789012345678901234567890"};
    for (size_t i = 0; i < sizeof bad_langs / sizeof bad_langs[0]; i++) {
        letter = ANGOLA;
        letter.lang = bad_langs[i];
        assert_int_equal(pdf_letter(&letter, &out), R_BAD_REQUEST);
    }
    char *huge = malloc(PDF_MAX_TEXT + 2);
    memset(huge, 'a', PDF_MAX_TEXT + 1);
    huge[PDF_MAX_TEXT + 1] = '\0';
    letter = ANGOLA;
    letter.body = huge;
    assert_int_equal(pdf_letter(&letter, &out), R_TOO_LARGE);
    free(huge);
    /* Nothing was appended by the failures. */
    assert_int_equal(out.len, 4);
    assert_string_equal(out.data, "kept");
    buf_free(&out);
}

/* Hostile shapes of valid text: one enormous word and thousands of line
 * breaks (each took Pango time growing with the square of its size before
 * pdf.c worked around it), lines of spaces, tabs, bidirectional controls,
 * a lone combining mark and 30 on one letter. */
static void test_awkward_text(void **state)
{
    (void)state;
    Buf body = {0};
    for (int i = 0; i < 10000; i++)
        buf_puts(&body, "Ratify");
    buf_puts(&body, "\n\n");
    for (int i = 0; i < 20000; i++)
        buf_puts(&body, "x\n");
    buf_puts(&body, "\na");
    for (int i = 0; i < 30; i++)
        buf_puts(&body, "\xcc\x81");
    buf_puts(&body, "\n\n   \n\t\tindented\n\xe2\x80\xae"
                    "evil\xe2\x80\xac\n\xcc\x81\n\n\n");
    LetterPdf letter = {.paper = PAPER_LETTER, .lang = "pt-BR", .body = body.data};
    Buf pdf = {0};
    assert_int_equal(pdf_letter(&letter, &pdf), R_OK);
    char *path = save_temp(&pdf);
    char *info = pdfinfo(path);
    assert_non_null(strstr(info, "Pages: "));
    assert_true(atoi(strstr(info, "Pages: ") + 7) >= 2);
    free(info);
    remove(path);
    free(path);
    buf_free(&pdf);
    buf_free(&body);
}

enum { THREADS = 4, LETTERS_PER_THREAD = 3 };

typedef struct {
    int id;
    Buf pdf[LETTERS_PER_THREAD];
    Result rc[LETTERS_PER_THREAD];
} Worker;

static void *render_in_thread(void *arg)
{
    Worker *w = arg;
    for (int i = 0; i < LETTERS_PER_THREAD; i++) {
        LetterPdf letter = ANGOLA;
        letter.paper = (w->id + i) % 2 ? PAPER_LETTER : PAPER_A4;
        if ((w->id + i) % 3 == 0) {
            letter.lang = "ar";
            letter.subject = "التصديق على البروتوكول الاختياري";
        }
        w->rc[i] = pdf_letter(&letter, &w->pdf[i]);
    }
    return NULL;
}

/* The web server renders letters on several worker threads at once. */
static void test_threads(void **state)
{
    (void)state;
    Worker workers[THREADS];
    pthread_t threads[THREADS];
    memset(workers, 0, sizeof workers);
    for (int t = 0; t < THREADS; t++) {
        workers[t].id = t;
        assert_int_equal(pthread_create(&threads[t], NULL, render_in_thread, &workers[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        assert_int_equal(pthread_join(threads[t], NULL), 0);
    for (int t = 0; t < THREADS; t++) {
        for (int i = 0; i < LETTERS_PER_THREAD; i++) {
            assert_int_equal(workers[t].rc[i], R_OK);
            char *path = save_temp(&workers[t].pdf[i]);
            char *text = pdftotext(path);
            assert_non_null(strstr(text, "Republic of Angola"));
            free(text);
            remove(path);
            free(path);
            buf_free(&workers[t].pdf[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_english_a4),
        cmocka_unit_test(test_english_letter_paper),
        cmocka_unit_test(test_minimal_letter),
        cmocka_unit_test(test_long_letter_flows_onto_pages),
        cmocka_unit_test(test_arabic),
        cmocka_unit_test(test_arabic_layout),
        cmocka_unit_test(test_english_layout_with_arabic),
        cmocka_unit_test(test_hebrew_layout),
        cmocka_unit_test(test_markup_is_printed),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_awkward_text),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
