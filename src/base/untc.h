/*
 * untc.h: reading a UN Treaty Collection (UNTC) status page ("ViewDetails",
 * as treaties.un.org serves it) with libxml2's HTML parser.
 *
 * A page gives: its header counts ("Signatories : 46. Parties : 31"), the
 * participants table (signature; ratification, accession "a", succession
 * "d", acceptance "A", approval "AA", formal confirmation "c"; footnote
 * numbers dropped; a date in brackets is one a denunciation ended), and the
 * statements below it: declarations and reservations, objections,
 * declarations under the articles a page names ("Declarations made under
 * articles 10 and 11") and the notifications UNTC lists after them.
 *
 * Every participant name goes through one table of UNTC names to ISO 3166
 * alpha-3 codes (data/untc-names.csv): a name not in it is an error, never
 * a guess. A page whose table does not add up to its own header counts is
 * refused. No database here: the feature code turns a UntcPage into treaty
 * actions. Fuzzed (tests/fuzz/fuzz_untc.c).
 */
#ifndef RATIFY_UNTC_H
#define RATIFY_UNTC_H

#include <stddef.h>

#include "base/util.h"

/* The UNTC-name -> ISO3 table, read from CSV text with the header
 * "untc_name,iso3". */
typedef struct {
    char **names; /* sorted, for bsearch */
    char (*iso3)[4];
    size_t count;
} UntcNames;

/* Reads the table from csv[0..len). R_OK, or R_BAD_REQUEST with a message
 * (line and reason) in err. A name listed twice is an error. */
Result untc_names_load(UntcNames *t, const char *csv, size_t len, char *err, size_t errlen);
/* The ISO3 code of a UNTC name, or NULL. */
const char *untc_names_find(const UntcNames *t, const char *name);
void untc_names_free(UntcNames *t);

/* One row of the participants table. Dates are "YYYY-MM-DD" or "". */
typedef struct {
    char *name; /* as UNTC writes it, footnotes dropped */
    char *row;  /* the row's three cells as text, "Name | 10 Dec 2009 | 24 Sep 2012 a" */
    char iso3[4];
    char signature[11];
    const char *signature_kind; /* "signature" or "succession" (to signature, "d"), or NULL */
    char party[11];
    /* "ratification", "accession", "succession", "acceptance", "approval",
     * "formal confirmation", or NULL when not a party */
    const char *party_kind;
    int withdrawn; /* the dates are in brackets: a denunciation ended them */
} UntcParticipant;

typedef enum {
    UNTC_DECLARATIONS, /* "Declarations and Reservations" */
    UNTC_OBJECTIONS,   /* "Objections" */
    UNTC_ARTICLES,     /* "Declarations made under articles ..." */
    UNTC_NOTIFICATIONS /* listed after them, under no heading of their own */
} UntcSection;

enum { UNTC_MAX_ARTICLES = 8 };

/* One state's statement in one section. */
typedef struct {
    UntcSection section;
    char *name; /* footnotes dropped */
    char iso3[4];
    char *text;                   /* plain text, white space collapsed */
    int declaration, reservation; /* its headings say "Declaration", "Reservation" */
    /* The articles of the page's "Declarations made under articles ..."
     * heading this statement declares under (articles and notifications
     * sections only), in the order of that heading. */
    int articles[UNTC_MAX_ARTICLES];
    size_t n_articles;
} UntcStatement;

typedef struct {
    int signatories, parties; /* the header's counts */
    UntcParticipant *participants;
    size_t n_participants;
    UntcStatement *statements;
    size_t n_statements;
    /* The page's opt-in articles, from its "Declarations made under
     * articles 10 and 11" heading; none on most pages. */
    int opt_in[UNTC_MAX_ARTICLES];
    size_t n_opt_in;
} UntcPage;

/* Parses html[0..len) into page. R_OK, or R_BAD_REQUEST with the reason in
 * err (no table, no counts, a date or mark it cannot read, an unknown name,
 * counts that disagree with the table); page is then empty. Free with
 * untc_page_free either way. */
Result untc_parse(const char *html, size_t len, const UntcNames *names, UntcPage *page, char *err,
                  size_t errlen);
void untc_page_free(UntcPage *page);

#endif
