/*
 * untc_check.h: keeping the treaty record current from the UN Treaty
 * Collection, with a person in the loop (issue 11 item 3). See
 * untc_check.c.
 */
#ifndef RATIFY_UNTC_CHECK_H
#define RATIFY_UNTC_CHECK_H

#include "db/db.h"
#include "feat/treaty.h"

/* One difference between a page and the record. */
typedef struct {
    char iso3[4];
    char kind[16];
    char article[16];
    const char *change; /* "new", "changed" or "vanished" */
    char old_date[11];  /* "" for a new action */
    char new_date[11];  /* "" for a vanished one */
    const char *text;   /* the page's row or statement (borrowed), "" for a vanished one */
} UntcChange;

typedef struct {
    UntcChange *items;
    size_t count, cap;
} UntcChanges;

/* The differences between what a page records (page, from
 * treaty_page_actions) and the actions recorded (recorded, text unused),
 * each action identified by country, kind and article: page order first
 * (new and changed), then the vanished in recorded order. Pure: exposed
 * for unit tests. The caller frees out->items. */
void untc_check_diff(const PageActions *page, const PageActions *recorded, UntcChanges *out);

/* What one check of one instrument did. */
typedef struct {
    char instrument_name[64]; /* "OP-ICESCR" */
    char url[1024];           /* the page read */
    int ok;                   /* the page was fetched, read and compared */
    char reason[300];         /* why not, in English */
    size_t differences;       /* found on the page */
    size_t queued;            /* of them, new to the queue (not pending or rejected already) */
    UntcChanges changes;      /* the differences; free with untc_check_report_free */
} UntcCheckReport;

void untc_check_report_free(UntcCheckReport *rep);

/* Fetches url (instrument's source_url when NULL), reads it and queues its
 * differences; on any failure records why and applies nothing. R_OK when
 * the check ran (rep->ok tells whether it succeeded), R_NOT_FOUND for no
 * such instrument, R_INTERNAL when it could not be recorded. */
Result untc_check_instrument(Db *db, int64_t instrument, const char *url, UntcCheckReport *rep);

/* Emails every enabled administrator, once, why the failed checks among
 * reps[0..n) failed (links start with base_url); nothing when none
 * failed. One message for a run, however many pages failed: offline, all
 * six do. R_OK or R_INTERNAL (logged). */
Result untc_check_alert(Db *db, const UntcCheckReport *reps, size_t n, const char *base_url);

/* `ratify untc check [--instrument SLUG] [--url URL]`: every instrument,
 * or one; --url (an http:// or https:// address) stands for the
 * instrument's page (op-icescr unless --instrument says). Prints what was
 * queued, or why a check failed; R_OK only when every check succeeded. */
Result untc_check_cmd(Db *db, int argc, char **argv, const char *base_url);

/* The opt-in daily check (`ratify serve --untc-check daily`): on or off
 * for this process, set before the server starts. */
void untc_check_set_daily(int on);

/* An hourly job: when the daily check is on and no check ran in the last
 * 24 hours, checks every instrument. Always R_OK: a failed check is
 * recorded and mailed, not retried within the hour. */
Result untc_check_daily(Db *db, const char *base_url);

#endif
