/*
 * upr.h: recommendations of the Universal Periodic Review that concern the
 * Covenant and its Protocol (see upr.c).
 */
#ifndef RATIFY_UPR_H
#define RATIFY_UPR_H

#include <jansson.h>

#include "db/db.h"
#include "svc/http.h"

/* What a recommendation is about, and the rule that said so (a code that
 * upr_rule_text puts in words). class is "protocol", "covenant", "other"
 * or "review" (a person decides). asks_to_join: it asks the state to sign,
 * ratify, accede to or become a party to something. */
typedef struct {
    const char *class;
    const char *rule;
    int asks_to_join;
} UprVerdict;

/* Classifies a recommendation's English text. Exposed for unit tests. */
UprVerdict upr_classify(const char *text);

/* The rule behind a class, in words (an English msgid: translate with tr). */
const char *upr_rule_text(const char *rule);

/* What an import read: the counts, and the problems (an unknown state name
 * once with its first line and how many rows it stopped, or a bad row). */
typedef struct {
    size_t line, rows;
    char name[128];      /* the unknown name, "" for a bad row */
    const char *problem; /* English msgid */
} UprProblem;

typedef struct UprRow UprRow;

typedef struct {
    size_t rows_read, added, present, skipped, protocol, covenant, other, review;
    UprProblem *problems;
    size_t problem_count;
    UprRow *rows; /* the rows to write */
    size_t row_count;
    char error[256]; /* the file as a whole is unreadable: why */
} UprReport;

/* Reads UPR Info's export (columns To, From, Text, Response, Session;
 * Action and Issue if present) and, when apply, writes the new rows with a
 * line in upr_imports and the audit log, all or nothing. Rows naming a
 * state not in the name table, or with a bad session or response, are
 * skipped and reported. Returns R_OK, R_BAD_REQUEST (report->error says
 * why: not CSV, a missing column) or R_INTERNAL. Free with upr_report_free. */
Result upr_import(Db *db, const char *csv, size_t len, const char *source, int apply,
                  int64_t user_id, UprReport *report);
void upr_report_free(UprReport *report);

/* Loads the sessions' dates and, into a database that has no import yet,
 * the shipped recommendations (data/upr/), reporting unknown names on
 * stderr and in upr_imports. */
Result upr_seed(Db *db);

/* `ratify import upr FILE [--apply]`. */
Result upr_import_cmd(Db *db, int argc, char **argv);

/* What a country page shows of the UPR for iso3: the recommendations on
 * the Protocol it received and made, with the session's year and the
 * response, how many concern the Covenant only, and, when it accepted a
 * recommendation to join the Protocol and is still not a party, the flag.
 * party: whether it is a party to the Protocol now. */
json_t *upr_country_json(Request *r, const char *iso3, int party);

/* The instrument the classification rules know: "protocol" means the
 * OP-ICESCR. Under another campaign instrument the UPR data says nothing
 * about it, and pages leave it out. */
#define UPR_INSTRUMENT "op-icescr"

#endif
