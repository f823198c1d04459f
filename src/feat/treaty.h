/*
 * treaty.h: instruments (treaties), treaty actions, the status of a country
 * derived from its actions, and the ask that follows from the status.
 */
#ifndef RATIFY_TREATY_H
#define RATIFY_TREATY_H

#include <jansson.h>

#include "base/untc.h"
#include "db/db.h"
#include "svc/http.h"

/* The instruments seeded by schema/002_countries.sql, and the four other
 * UN complaint procedures (schema/013_complaint_procedures.sql). These are
 * rows of the record (the seed loads their UNTC pages), not the campaign:
 * which instrument a deployment campaigns for is a setting, read through
 * treaty_campaign. */
enum {
    INSTRUMENT_COVENANT = 1,
    INSTRUMENT_PROTOCOL = 2,
    INSTRUMENT_OP_CEDAW = 3,
    INSTRUMENT_OP_CRPD = 4,
    INSTRUMENT_OP_CRC_IC = 5,
    INSTRUMENT_ICCPR_OP1 = 6,
};

typedef enum { STATUS_NONE = 0, STATUS_SIGNATORY, STATUS_PARTY } TreatyStatus;

/* What the coalition asks a government, in order of the path to the
 * campaign instrument ("the protocol"). "Covenant" is the treaty the
 * protocol requires first (its parent_id: the ICESCR for the OP-ICESCR).
 * An instrument without a parent has no Covenant steps: its asks are
 * ASK_SIGN_AND_RATIFY onwards. One function decides it (treaty_ask);
 * pages, the API and model letters all use it. */
typedef enum {
    ASK_JOIN_COVENANT,         /* nothing on the Covenant: join it, then the Protocol */
    ASK_RATIFY_COVENANT_SIGN,  /* Covenant signed only, Protocol not signed */
    ASK_RATIFY_COVENANT_FIRST, /* Covenant signed only, Protocol signed */
    ASK_SIGN_AND_RATIFY,       /* Covenant party (or no Covenant), nothing on the Protocol */
    ASK_RATIFY,                /* Protocol signed, not ratified */
    ASK_DECLARE,               /* party without every opt-in declaration */
    ASK_IMPLEMENT,             /* party with them: implement, press other states */
} Ask;

/* The instrument this deployment campaigns for (`ratify init --instrument
 * SLUG`, the settings row campaign_instrument; the OP-ICESCR when unset)
 * and the treaty it requires first, if any. */
typedef struct {
    int64_t id;
    int64_t parent_id; /* 0: none, so no Covenant steps in the ask */
    char slug[32], short_name[32], title[256];
    char opt_in[64];    /* articles needing a declaration, "10 11"; "" for none */
    char opened_on[11]; /* opened for signature, YYYY-MM-DD */
    char parent_slug[32], parent_short_name[32], parent_title[256]; /* "" without a parent */
} Campaign;

/* The campaign instrument while the settings row campaign_instrument is
 * unset. */
#define CAMPAIGN_DEFAULT "op-icescr"

/* The campaign instrument, read from the database: call it once per
 * request (or command) and pass it on. A setting naming no instrument
 * falls back to the default, so a page never lacks one. */
Campaign treaty_campaign(Db *db);

/* `ratify init --instrument SLUG`: makes slug the campaign instrument.
 * An unknown slug is refused with the list of known ones on stderr and
 * nothing is written (R_NOT_FOUND). */
Result treaty_campaign_cmd(Db *db, const char *slug);

/* msgid translated for r with the campaign's names put in: {treaty} its
 * short name, {title} its title, {parent} its parent's short name,
 * {articles} its opt-in articles ("10 and 11"). Plain text in r's arena. */
const char *treaty_say(Request *r, const Campaign *c, const char *msgid);

/* The campaign for templates: its slug, names and titles, and the
 * sentences pages say about it in r's language (countries_title,
 * countries_lead, map_title, not_state, home_lead, join_lead). */
json_t *treaty_campaign_json(Request *r, const Campaign *c);

/* The ask for a row's standings under the campaign (the Covenant steps
 * only when it has a parent). */
struct CountryRow;
Ask treaty_row_ask(const Campaign *c, const struct CountryRow *row);

/* treaty_ask_text(ask) in r's language with the campaign's names. */
const char *treaty_ask_say(Request *r, const Campaign *c, Ask ask);

/* One country's standing under one instrument, derived from its actions. */
typedef struct {
    TreatyStatus status;
    char signature_date[11]; /* "" when not signed */
    char party_date[11];     /* date of ratification, accession or succession */
    char party_kind[16];     /* "ratification", "accession", "succession" or "" */
    char declared[64];       /* articles declared under, space-separated */
    int withdrawn;           /* a withdrawal ended its participation */
} Standing;

/* Folds one action into a standing (actions in date order). Exposed for
 * unit tests. */
void treaty_apply_action(Standing *s, const char *kind, const char *article, const char *date);

/* The ask for a state with standing protocol under the protocol and
 * covenant under its parent covenant; opt_in_articles is the protocol's
 * space-separated list of articles needing a declaration. */
Ask treaty_ask(const Standing *protocol, const Standing *covenant, const char *opt_in_articles);

/* The articles of instrument that states opt in to by declaration ("10 11"
 * for the Protocol), from the treaty record, in arena: the one place every
 * page, the API and letters read them from. "" when it has none. */
const char *treaty_opt_in_articles(Db *db, int64_t instrument, Arena *arena);

/* Stable identifier ("sign_and_ratify") and plain-words text (English
 * msgid, translate with tr()) of an ask. */
const char *treaty_ask_code(Ask ask);
const char *treaty_ask_text(Ask ask);

/* "none", "signatory", "party". */
const char *treaty_status_code(TreatyStatus s);

/* Standing of iso3 under instrument id. */
Standing treaty_standing(Db *db, int64_t instrument_id, const char *iso3);

/* A treaty action as recorded by hand on a country's page. */
typedef struct {
    int64_t instrument;
    const char *iso3, *kind, *article, *date, *source, *note;
} TreatyAction;

/* Inside the caller's apply, on w: records a (or replaces the action of
 * the same instrument, country, kind and article) as user_id's.
 * R_OK or R_INTERNAL. */
Result treaty_action_record(Db *w, const TreatyAction *a, int64_t user_id);

/* Inside the caller's apply, on w: deletes action id if it is iso3's;
 * R_NOT_FOUND when there is no such action in that country. */
Result treaty_action_delete(Db *w, int64_t id, const char *iso3);

/* Loads the depositary record shipped in data/ (UNTC status CSVs) for an
 * instrument with no actions yet. Returns R_OK, or R_INTERNAL with the file
 * and line of a problem on stderr. */
Result treaty_seed(Db *db);

/* ---- the record as a UNTC page gives it (the seed and `ratify untc check`) ---- */

/* One action a UNTC page records, as Ratify records it: an acceptance,
 * approval or formal confirmation as a ratification, a succession to a
 * signature as a signature, a declaration per opt-in article dated by the
 * party date (else the signature's). */
typedef struct {
    char iso3[4];
    const char *kind; /* "signature", "ratification", "accession", "succession", "declaration" */
    char article[16]; /* "" but for declarations */
    char date[11];
    const char *text; /* the page's row or statement, borrowed from the page */
} PageAction;

typedef struct {
    PageAction *items;
    size_t count, cap;
} PageActions;

/* Every action page records, in page order; rows UNTC puts in brackets
 * (denounced) are left out. R_OK, or R_BAD_REQUEST with the reason in err
 * (a declaration by a state that is not a participant). The caller frees
 * out->items with free(), also on failure. The one mapping the seed and the
 * check share, so a check of the shipped pages finds nothing to change. */
Result treaty_page_actions(const UntcPage *page, PageActions *out, char *err, size_t errlen);

/* The UNTC-name table shipped in data/untc-names.csv, read once; NULL
 * (said on stderr) if it is broken. */
const UntcNames *treaty_untc_names(void);

/* Inside the caller's apply, on w: the instrument's record is the
 * depositary's as at date ("YYYY-MM-DD"). R_OK or R_INTERNAL. */
Result treaty_set_status_as_of(Db *w, int64_t instrument, const char *date);

/* Instrument by slug: fills id and parent id, returns R_NOT_FOUND if none. */
Result treaty_find(Db *db, const char *slug, int64_t *id, int64_t *parent_id);

/* ---- every country's standing (the country list and a treaty's page) ---- */

/* The UN complaint procedures a state's record on "similar treaties" is
 * made of (issue 11 item 4), in treaty_other_ids order: the OP-ICESCR and
 * the four others. A row leaves the campaign instrument's slot empty, so
 * the record is always on the *other* procedures. */
enum { OTHER_PROCEDURES = 5 };
extern const int64_t treaty_other_ids[OTHER_PROCEDURES];

/* A country with its standing under the campaign instrument (protocol),
 * the treaty it requires (covenant; empty when it has none) and the other
 * complaint procedures. */
typedef struct CountryRow {
    char iso3[4];
    const char *name;
    const char *un_status, *un_group, *organisations;
    Standing protocol, covenant;
    Standing other[OTHER_PROCEDURES];
} CountryRow;

/* One other complaint procedure a state accepts: it is a party. */
typedef struct {
    const char *instrument; /* short name, "OP-CEDAW" */
    char year[5];           /* of its ratification, accession or succession */
} AcceptedProcedure;

/* How many other complaint procedures row accepts. */
int treaty_accepted_count(const CountryRow *row);

/* The other complaint procedures row accepts, earliest first; the count. */
size_t treaty_accepted_procedures(const CountryRow *row, AcceptedProcedure out[OTHER_PROCEDURES]);

/* Fills row's standings (protocol, covenant, other) under campaign c from
 * the record (one country's page, a letter). */
void treaty_row_standings(Db *db, const Campaign *c, CountryRow *row);

/* treaty_accepted_procedures for iso3, read from the record (letters). */
size_t treaty_country_accepted(Db *db, const Campaign *c, const char *iso3,
                               AcceptedProcedure out[OTHER_PROCEDURES]);

/* The accepted procedures as a list, "OP-CEDAW (2005), OP-CRPD (2008) and
 * ICCPR-OP1 (2010)", with and_word before the last; "" for none. Plain
 * text in the arena. */
const char *treaty_procedures_list(Arena *arena, const char *and_word, const AcceptedProcedure *p,
                                   size_t n);

/* The record as a sentence in lang ("Accepts individual complaints under
 * OP-CEDAW (2005) and OP-CRPD (2008)."), plain text in the arena. */
const char *treaty_procedures_text(Arena *arena, const char *lang, const AcceptedProcedure *p,
                                   size_t n);

/* bsearch comparator: an iso3 key against a CountryRow. */
int treaty_row_cmp(const void *key, const void *elem);

/* Every country (states only unless all), sorted by iso3, each with its
 * standing under campaign c folded from the actions, in the request's
 * arena. */
CountryRow *treaty_countries(Request *r, const Campaign *c, int all, size_t *count);

/* The English label (a msgid) of a status: "Party", "Signatory", "No action". */
const char *treaty_status_label(TreatyStatus s);
/* How a state became a party ("ratification", "accession", "succession")
 * in the reader's words; "" for none. */
const char *treaty_party_kind_label(Request *r, const char *kind);

/* SORT_PROCEDURES: most other complaint procedures accepted first. */
typedef enum { SORT_NAME, SORT_STATUS, SORT_SIGNATURE, SORT_PARTY, SORT_PROCEDURES } SortKey;

/* Sorts rows by key under the campaign instrument, then by name. */
void treaty_sort_countries(CountryRow *rows, size_t n, SortKey key);

/* ---- importing a depositary record ---- */

/* One line of an import's report. */
typedef struct {
    size_t line;           /* in the file */
    char participant[128]; /* as written */
    char iso3[4];          /* "" when the name is unknown */
    char kind[16];         /* signature, ratification, accession, succession */
    char old_date[11];     /* "" when new */
    char new_date[11];
    const char *change; /* "add", "change", "same", "unknown name", "bad date" */
} ImportLine;

typedef struct {
    ImportLine *lines;
    size_t count;
    int added, changed, same, problems;
    char error[200]; /* a problem with the whole file (columns, CSV syntax) */
} ImportReport;

/* Reads a status CSV in the UN Treaty Collection's columns (Participant,
 * Signature, "Ratification, Accession(a), Succession(d)"; dates as
 * "24 Sep 2009" or 2009-09-24 with the marks a, d, A, AA) and compares it
 * with the actions recorded for the instrument. Participant names are
 * matched exactly (case and UNTC footnote numbers aside) to the countries'
 * English names and the UNTC names in the shipped status files; an unknown
 * name is reported, never guessed. With apply set and no problem, writes
 * the additions and changes in one transaction with an audit entry each,
 * as user_id. Returns R_OK, R_BAD_REQUEST (problems: nothing written) or
 * R_INTERNAL. The caller frees report->lines with free(). */
Result treaty_import(Db *db, int64_t instrument_id, const char *csv, size_t len, int apply,
                     int64_t user_id, ImportReport *report);

/* `ratify import treaty-status FILE [--instrument SLUG] [--apply]`. */
Result treaty_import_cmd(Db *db, int argc, char **argv);

#endif
