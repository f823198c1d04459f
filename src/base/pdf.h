/*
 * pdf.h: printable letters. Ratify's members write to ministers asking their
 * government to ratify; pdf_letter() turns one such letter into a PDF they
 * can print, sign and post, or attach to an email.
 *
 * Invariants: every string is plain UTF-8 text and is drawn as text, never
 * parsed as markup, so nothing in a letter can change its formatting; the
 * renderer keeps no state between calls other than Pango's per-thread font
 * map, so any number of threads may call it at once.
 */
#ifndef RATIFY_PDF_H
#define RATIFY_PDF_H

#include "base/util.h"

/* The sheet the letter is laid out for. */
typedef enum {
    PAPER_A4,     /* 210 x 297 mm (595.28 x 841.89 pt), 25 mm margins */
    PAPER_LETTER, /* 8.5 x 11 in (612 x 792 pt), 1 in margins */
} Paper;

/* The largest text pdf_letter() accepts, all fields together, in bytes. A
 * long letter is some 20 KiB; at this limit the most awkward text (CJK with
 * no spaces, thousands of short lines) takes about a second to set. */
enum { PDF_MAX_TEXT = 128 * 1024 };

/* One letter. Every string is UTF-8 plain text owned by the caller and only
 * read during the call. Lines are separated by LF (CR LF and CR are accepted
 * and read as LF). A field that is NULL or empty is left out of the page,
 * except body, which is required. */
typedef struct {
    Paper paper;
    /* The letter's language as a BCP 47 tag ("en", "es", "fr", "ar", "pt",
     * "pt-BR") whose first subtag is an ISO 639-1 code; NULL or "" means
     * "en". That code (region and script subtags are ignored) sets the
     * Pango language, which picks fonts and shaping; for ar, fa, he, ur
     * (and ps, sd, ug, yi, dv) the page is mirrored and lines run right to
     * left. Each line's direction is that of its first letter of a script
     * with a direction (Unicode's first strong character), the language's
     * when it has none (digits, punctuation): a Latin line in an Arabic
     * letter reads left to right with its full stop at its end. */
    const char *lang;
    const char *org_name;       /* letterhead: the sending organisation, or the person's name */
    const char *org_address;    /* letterhead, small, under the name; may span several lines */
    const char *place_and_date; /* "Luanda, 30 November 2026", at the end of the line */
    const char *recipient;      /* several lines: name, title, ministry, address */
    const char *subject;        /* in bold above the body; also the PDF's title */
    /* The letter text: paragraphs separated by one or more blank lines (a
     * line of only spaces or tabs is blank). A single line break inside a
     * paragraph is kept as a line break, as is U+2029. Paragraphs are
     * justified, the last line of each at its own start: an English
     * paragraph in an Arabic letter ends flush left. */
    const char *body;
    const char *signature; /* several lines: name, title, organisation; kept on one page */
} LetterPdf;

/*
 * Renders letter as a PDF and appends it to out (on failure out is left as
 * it was). The caller owns out and frees it with buf_free().
 *
 * Layout: A4 with 25 mm margins or Letter with 1 inch margins. Page 1 opens
 * with the letterhead (org_name in a larger Noto Sans, org_address small
 * under it, a thin rule), then place_and_date at the end of the line (right,
 * or left in a right-to-left letter), recipient, the subject in bold, the
 * body in 11 pt Noto Serif with 1.35 line spacing (12 pt Noto Naskh Arabic
 * with 1.6 in a language written in the Arabic script), justified, and the
 * signature after room for a handwritten one; a closing paragraph of up to
 * three lines moves to the next page with the signature. A letter that does not fit
 * flows onto further pages, each headed by org_name small over a rule; when
 * there is more than one page every page is numbered "n / N" at the foot.
 * Pango breaks words only where the text allows it: at spaces, at soft
 * hyphens (U+00AD, printed as a hyphen when a line breaks there) and, for a
 * word wider than the line, between characters (text holding a "word" of
 * more than 500 characters is broken wherever its lines are full). Scripts other than Latin,
 * Greek and Cyrillic come from the other Noto fonts through fontconfig;
 * Arabic is shaped and set right to left. The letterhead, date, recipient
 * and signature keep the letter's side of the page whatever the direction
 * of each of their lines (a Latin address line in an Arabic letter is set
 * left to right, flush right).
 *
 * The PDF's metadata: title = subject (or "Letter" without one), author =
 * org_name, creator "Ratify".
 *
 * Text is set with pango_layout_set_text(), never as markup: "<b>" prints as
 * "<b>".
 *
 * Returns R_OK; R_BAD_REQUEST when body is NULL or blank, when any field is
 * not valid UTF-8 or holds a control character other than TAB, LF and CR
 * (utf8_valid_text), a noncharacter (U+FDD0..U+FDEF, U+FFFE, U+FFFF and
 * the same in other planes) or a character with more than 30 combining
 * marks (Unicode's Stream-Safe Text Format, UAX #15), or when lang is not a
 * tag as described above (an ISO 639-1 code, then only letters, digits, '-'
 * and '_', 35 bytes at most); R_TOO_LARGE when the fields together exceed
 * PDF_MAX_TEXT bytes; R_INTERNAL when cairo fails (logged).
 *
 * Thread-safe: each call has its own cairo surface, cairo context, Pango
 * context and layouts, and takes its fonts from
 * pango_cairo_font_map_get_default(), which since Pango 1.32.6 is a
 * separate font map for each thread. A server worker thread therefore loads
 * the fonts once and keeps them (a few MB) until it exits; see pdf.c for the
 * measurements behind that choice. Call it from long-lived threads: a
 * thread that renders one letter and exits loads the fonts every time.
 */
Result pdf_letter(const LetterPdf *letter, Buf *out);

/* The checks pdf_letter makes before drawing, without drawing: R_OK,
 * R_BAD_REQUEST (text that cannot be set) or R_TOO_LARGE. For checking a
 * letter when it is saved rather than when it is printed. */
Result pdf_check(const LetterPdf *letter);

#endif
