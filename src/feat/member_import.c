/*
 * member_import.c: bringing members in (see member_import.h): the writer
 * shared by dry runs and jobs, import jobs that resume after a crash, the
 * files the web pages store between their steps, and `ratify import
 * members`. The pages themselves are member_import_wizard.c; this file
 * owns every import table and is the only one that writes them.
 *
 * Invariants: an imported person gets no login account and no email; every
 * new membership records consent_store_at as the time of the import; a
 * job's rows and its rows_done counter are committed in the same db_write,
 * so rows_done is exactly the number of data rows whose effect is in the
 * database; the audit log gets counts and ids only, never a name or an
 * address.
 */
#include "feat/member_import.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "svc/audit.h"
#include "feat/member.h"
#include "feat/membership.h"
#include "feat/organisation.h"
#include "feat/person.h"

/* Rows per db_write. Every batch rewrites the index pages its rows land on (emails
 * land anywhere in their index), and commits them with an fsync, so
 * larger batches write much less; a crash loses at most one batch, and a
 * batch holds the write lock for about half a second, well under the 5 s
 * others wait for it. Measured with `ratify import members` (bench/
 * import_members.py): on 100,000 rows 500 took 6 s, 1000 took 4.8 s; on
 * 1,000,000 rows 1000 took 57 s, 10,000 36 s, 25,000 21 to 28 s (with the
 * cache and checkpoint settings of member_import_cmd), 50,000 no better. */
enum { BATCH_ROWS = 25000 };

/* How long the file of an abandoned web import is kept: an upload that was
 * never applied, a day after it was sent; the file of a web job nobody
 * has viewed (each view runs the next rows), a week after its last batch,
 * so that a failed job can still be retried after a weekend. */
enum { UPLOAD_TTL = 24 * 3600, WEB_JOB_TTL = 7 * 24 * 3600 };

/* ---- writing rows ---- */

/* How rows are written, and what was done: the connection is not in it but
 * given to each helper that writes (the apply function's w). */
typedef struct {
    OnDuplicate dup;
    int64_t now;
    ImportTotals *totals;
    ImportRowFn on_row;
    void *ctx;
    char changed[160]; /* the fields a duplicate changed, for its note */
} RowWriter;

static void report(RowWriter *rw, const MemberRow *row, const char *action, const char *note)
{
    if (rw->on_row)
        rw->on_row(rw->ctx, row, action, note);
}

/* Keeps in current (size bytes) the merged value and notes the field when
 * it changes. Returns 1 if it changed. */
static int merge_into(RowWriter *rw, char *current, size_t size, const char *incoming,
                      const char *field)
{
    const char *v = member_io_merge(rw->dup, current, incoming);
    if (v == current || strcmp(v, current) == 0)
        return 0;
    snprintf(current, size, "%s", v);
    size_t n = strlen(rw->changed);
    if (!strstr(rw->changed, field))
        snprintf(rw->changed + n, sizeof rw->changed - n, "%s%s", n ? ", " : "", field);
    return 1;
}

static Result insert_membership(Db *w, RowWriter *rw, const MemberRow *row, int64_t person,
                                int64_t org)
{
    /* Consent to store the data: the coalition held it before and imports
     * it now, so the record of consent starts with the import. */
    return membership_import_insert(w, row->organisation ? "organisation" : "individual", person,
                                    org, row->iso3, row->status, rw->now, row->consent_updates == 1,
                                    row->created_at ? row->created_at : rw->now);
}

static Result insert_organisation(Db *w, RowWriter *rw, const MemberRow *row, int64_t person,
                                  int64_t *org)
{
    if (organisation_insert(w, row->org_name, row->iso3, row->org_type, row->website,
                            row->languages, row->listing, rw->now, org) != R_OK)
        return R_INTERNAL;
    return organisation_import_add_contact(w, *org, person);
}

/* A new person, or 0 in *person when the email is registered already: one
 * statement either way, so the common case costs no lookup. */
static Result insert_person(Db *w, RowWriter *rw, const MemberRow *row, int64_t *person)
{
    /* An organisation's contact is not listed unless they say so on their
     * own profile, as when joining: the listing is the organisation's. */
    return person_import_insert(w, row->name, row->email, row->iso3, row->languages,
                                row->organisation ? "hidden" : row->listing, rw->now, person);
}

/* Merges the row into an existing person (not under DUP_SKIP). */
static Result merge_person(Db *w, RowWriter *rw, const MemberRow *row, int64_t *person)
{
    char name[801], iso3[4], languages[65], listing[8];
    Stmt *st = db_prepare(w, "SELECT id, name, coalesce(iso3, ''), languages, listing "
                             "FROM people WHERE email = :email");
    db_bind_text(st, ":email", row->email);
    int found = db_row(st);
    if (found) {
        *person = db_int(st, 0);
        snprintf(name, sizeof name, "%s", db_text(st, 1));
        snprintf(iso3, sizeof iso3, "%s", db_text(st, 2));
        snprintf(languages, sizeof languages, "%s", db_text(st, 3));
        snprintf(listing, sizeof listing, "%s", db_text(st, 4));
    }
    db_done(st);
    if (!found)
        return R_INTERNAL;
    if (rw->dup == DUP_SKIP)
        return R_OK;
    int changed = merge_into(rw, name, sizeof name, row->name, "name");
    changed |= merge_into(rw, iso3, sizeof iso3, row->iso3, "country");
    /* For an organisation's row, languages and listing are the
     * organisation's, not its contact person's. */
    if (!row->organisation) {
        changed |= merge_into(rw, languages, sizeof languages, row->languages, "languages");
        if (row->listing_given)
            changed |= merge_into(rw, listing, sizeof listing, row->listing, "listing");
    }
    if (!changed)
        return R_OK;
    return person_import_merge(w, *person, name, iso3, languages, listing, rw->now);
}

/* Merges the row into an existing membership (not under DUP_SKIP). */
static Result merge_membership(Db *w, RowWriter *rw, const MemberRow *row, int64_t id,
                               const char *old_iso3, const char *old_status, int old_updates,
                               int64_t old_created)
{
    char iso3[4], status[16], updates[12], created[24];
    snprintf(iso3, sizeof iso3, "%s", old_iso3);
    snprintf(status, sizeof status, "%s", old_status);
    snprintf(updates, sizeof updates, "%d", old_updates ? 1 : 0);
    snprintf(created, sizeof created, "%lld", (long long)old_created);
    char in_updates[12] = "", in_created[24] = "";
    if (row->consent_updates >= 0)
        snprintf(in_updates, sizeof in_updates, "%d", row->consent_updates);
    if (row->created_at)
        snprintf(in_created, sizeof in_created, "%lld", (long long)row->created_at);
    int changed = merge_into(rw, iso3, sizeof iso3, row->iso3, "country");
    changed |=
        merge_into(rw, status, sizeof status, row->status_given ? row->status : "", "status");
    changed |= merge_into(rw, updates, sizeof updates, in_updates, "consent_updates");
    changed |= merge_into(rw, created, sizeof created, in_created, "created");
    if (!changed)
        return R_OK;
    return membership_import_merge(w, id, iso3, status, strcmp(updates, "1") == 0,
                                   strtoll(created, NULL, 10));
}

/* Merges the row into an existing organisation (not under DUP_SKIP). */
static Result merge_organisation(Db *w, RowWriter *rw, const MemberRow *row, int64_t id,
                                 const char *old_iso3, const char *old_type,
                                 const char *old_website, const char *old_languages,
                                 const char *old_listing)
{
    char iso3[4], type[32], website[301], languages[65], listing[8];
    snprintf(iso3, sizeof iso3, "%s", old_iso3);
    snprintf(type, sizeof type, "%s", old_type);
    snprintf(website, sizeof website, "%s", old_website);
    snprintf(languages, sizeof languages, "%s", old_languages);
    snprintf(listing, sizeof listing, "%s", old_listing);
    int changed = merge_into(rw, iso3, sizeof iso3, row->iso3, "country");
    changed |= merge_into(rw, type, sizeof type, row->org_type, "org_type");
    changed |= merge_into(rw, website, sizeof website, row->website, "website");
    changed |= merge_into(rw, languages, sizeof languages, row->languages, "languages");
    if (row->listing_given)
        changed |= merge_into(rw, listing, sizeof listing, row->listing, "listing");
    if (!changed)
        return R_OK;
    return organisation_import_merge(w, id, iso3, type, website, languages, listing, rw->now);
}

/* The existing person's membership the row describes: their individual
 * membership, or that of their organisation of the same name. Fills the
 * ids (0: none) and the current values. */
typedef struct {
    int64_t org, membership;
    char org_iso3[4], org_type[32], website[301], languages[65], listing[8];
    char iso3[4], status[16];
    int updates;
    int64_t created;
} Existing;

static Result find_existing(Db *w, const MemberRow *row, int64_t person, Existing *x)
{
    memset(x, 0, sizeof *x);
    Stmt *st;
    if (!row->organisation) {
        st = db_prepare(w, "SELECT id, iso3, status, consent_updates, created_at "
                           "FROM memberships WHERE person_id = :person "
                           "AND kind = 'individual' ORDER BY id LIMIT 1");
        db_bind_int(st, ":person", person);
        if (db_row(st)) {
            x->membership = db_int(st, 0);
            snprintf(x->iso3, sizeof x->iso3, "%s", db_text(st, 1));
            snprintf(x->status, sizeof x->status, "%s", db_text(st, 2));
            x->updates = (int)db_int(st, 3);
            x->created = db_int(st, 4);
        }
        return db_done(st);
    }
    st = db_prepare(w, "SELECT o.id, o.iso3, o.org_type, o.website, o.languages, o.listing, "
                       "coalesce(m.id, 0), coalesce(m.iso3, ''), coalesce(m.status, ''), "
                       "coalesce(m.consent_updates, 0), coalesce(m.created_at, 0) "
                       "FROM org_people op JOIN organisations o ON o.id = op.org_id "
                       "LEFT JOIN memberships m ON m.org_id = o.id AND m.person_id = op.person_id "
                       "WHERE op.person_id = :person AND lower(o.name) = lower(:name) "
                       "ORDER BY o.id, m.id LIMIT 1");
    db_bind_int(st, ":person", person);
    db_bind_text(st, ":name", row->org_name);
    if (db_row(st)) {
        x->org = db_int(st, 0);
        snprintf(x->org_iso3, sizeof x->org_iso3, "%s", db_text(st, 1));
        snprintf(x->org_type, sizeof x->org_type, "%s", db_text(st, 2));
        snprintf(x->website, sizeof x->website, "%s", db_text(st, 3));
        snprintf(x->languages, sizeof x->languages, "%s", db_text(st, 4));
        snprintf(x->listing, sizeof x->listing, "%s", db_text(st, 5));
        x->membership = db_int(st, 6);
        snprintf(x->iso3, sizeof x->iso3, "%s", db_text(st, 7));
        snprintf(x->status, sizeof x->status, "%s", db_text(st, 8));
        x->updates = (int)db_int(st, 9);
        x->created = db_int(st, 10);
    }
    return db_done(st);
}

/* Writes one valid row and reports what it did. */
static Result write_row(Db *w, RowWriter *rw, const MemberRow *row)
{
    int64_t person, org = 0;
    Result res = insert_person(w, rw, row, &person);
    if (res != R_OK)
        return res;
    if (person) {
        if (row->organisation)
            res = insert_organisation(w, rw, row, person, &org);
        if (res == R_OK)
            res = insert_membership(w, rw, row, person, org);
        if (res == R_OK) {
            rw->totals->created++;
            report(rw, row, N_("create"), N_("new member"));
        }
        return res;
    }
    rw->changed[0] = 0;
    Existing x;
    if ((res = merge_person(w, rw, row, &person)) != R_OK ||
        (res = find_existing(w, row, person, &x)) != R_OK)
        return res;
    if (!x.membership) {
        /* A membership the person does not have yet is new data, not a
         * duplicate: it is added whatever the strategy. */
        org = x.org;
        if (!org && row->organisation)
            res = insert_organisation(w, rw, row, person, &org);
        if (res == R_OK)
            res = insert_membership(w, rw, row, person, org);
        if (res == R_OK) {
            rw->totals->created++;
            report(rw, row, N_("create"), N_("new membership of someone already registered"));
        }
        return res;
    }
    if (rw->dup == DUP_SKIP) {
        rw->totals->skipped++;
        report(rw, row, N_("skip"), N_("already a member"));
        return R_OK;
    }
    if (x.org)
        res = merge_organisation(w, rw, row, x.org, x.org_iso3, x.org_type, x.website, x.languages,
                                 x.listing);
    if (res == R_OK)
        res = merge_membership(w, rw, row, x.membership, x.iso3, x.status, x.updates, x.created);
    if (res != R_OK)
        return res;
    if (!rw->changed[0]) {
        rw->totals->skipped++;
        report(rw, row, N_("skip"), N_("no change"));
    } else if (rw->dup == DUP_UPDATE) {
        rw->totals->updated++;
        report(rw, row, N_("update"), rw->changed);
    } else {
        rw->totals->filled++;
        report(rw, row, N_("fill"), rw->changed);
    }
    return R_OK;
}

/* Without errors the rows are only counted: validating them is a tenth of
 * the time of a large import, and the import validates each row anyway. */
Result member_import_check_file(const char *csv, size_t len, const MemberMapping *m,
                                const CountryNames *countries, Buf *errors, ImportTotals *t,
                                char *error, size_t error_size)
{
    memset(t, 0, sizeof *t);
    MemberReader rr;
    if (member_io_reader_open(&rr, csv, len, error, error_size) != R_OK) {
        csv_free(&rr.csv);
        return R_BAD_REQUEST;
    }
    rr.m = m;
    rr.countries = countries;
    size_t columns = rr.csv.count;
    if (errors) {
        for (size_t c = 0; c < columns; c++) {
            escape_csv(errors, rr.csv.fields[c], strlen(rr.csv.fields[c]));
            buf_putc(errors, ',');
        }
        buf_puts(errors, "error\r\n");
    }
    MemberRow row;
    int rc;
    if (!errors) {
        while ((rc = csv_next(&rr.csv)) == 1)
            t->rows++;
        if (rc < 0)
            snprintf(error, error_size, "line %zu: %s", rr.csv.line, rr.csv.error);
        csv_free(&rr.csv);
        return rc < 0 ? R_BAD_REQUEST : R_OK;
    }
    while ((rc = member_io_reader_next(&rr, &row, error, error_size)) == 1) {
        t->rows++;
        if (!row.error)
            continue;
        t->rejected++;
        if (!errors)
            continue;
        size_t n = rr.csv.count > columns ? rr.csv.count : columns;
        for (size_t c = 0; c < n; c++) {
            const char *v = c < rr.csv.count ? rr.csv.fields[c] : "";
            escape_csv(errors, v, strlen(v));
            buf_putc(errors, ',');
        }
        char message[200];
        snprintf(message, sizeof message, "%s%s%s", row.error_field ? row.error_field : "",
                 row.error_field ? ": " : "", row.error);
        escape_csv(errors, message, strlen(message));
        buf_puts(errors, "\r\n");
    }
    csv_free(&rr.csv);
    return rc < 0 ? R_BAD_REQUEST : R_OK;
}

/* What a dry run's apply returns once it has done the whole import: not
 * R_OK, so that db_write rolls back everything it wrote (the point of a
 * dry run), and outside the Result codes, so that no statement and no
 * failure of db_write itself can return it: seeing it, member_import_dry_run
 * knows that the import ran to its end and that the report in the ctx is
 * complete. */
#define DRY_RUN_DONE ((Result)(R_INTERNAL + 1))

/* A dry run: the import, its report, and its own outcome. */
typedef struct {
    MemberReader *rr;
    RowWriter *rw; /* its totals and on_row are the report */
    char *error;   /* why the file is unreadable, when it is */
    size_t error_size;
    Result result; /* the import's outcome: R_OK, R_BAD_REQUEST (the file), R_INTERNAL */
} DryRun;

/* The real import of every row, inside db_write, then DRY_RUN_DONE so
 * that nothing of it stays. */
static Result import_dry_run_apply(Db *w, void *ctx)
{
    DryRun *d = ctx;
    MemberRow row;
    int rc;
    d->result = R_OK;
    while ((rc = member_io_reader_next(d->rr, &row, d->error, d->error_size)) == 1) {
        d->rw->totals->rows++;
        if (row.error) {
            d->rw->totals->rejected++;
            report(d->rw, &row, N_("error"), row.error);
        } else if ((d->result = write_row(w, d->rw, &row)) != R_OK) {
            break;
        }
    }
    if (rc < 0)
        d->result = R_BAD_REQUEST;
    /* db_write turns a fault (a programmer's error) into R_INTERNAL only
     * when apply returns R_OK, which this one never does: the dry run
     * fails on it itself, so that the page still answers 500. */
    if (fault_take() && d->result == R_OK)
        d->result = R_INTERNAL;
    return DRY_RUN_DONE;
}

Result member_import_dry_run(Db *db, const char *csv, size_t len, const MemberMapping *m,
                             OnDuplicate dup, ImportRowFn on_row, void *ctx, ImportTotals *totals,
                             char *error, size_t error_size)
{
    memset(totals, 0, sizeof *totals);
    CountryNames countries;
    if (member_io_countries(db, &countries) != R_OK)
        return R_INTERNAL;
    MemberReader rr;
    Result res = member_io_reader_open(&rr, csv, len, error, error_size);
    rr.m = m;
    rr.countries = &countries;
    RowWriter rw = {dup, now_seconds(), totals, on_row, ctx, ""};
    if (res == R_OK) {
        DryRun d = {&rr, &rw, error, error_size, R_INTERNAL};
        /* Anything but DRY_RUN_DONE: db_write could not run it. */
        res = db_write(db, import_dry_run_apply, &d) == DRY_RUN_DONE ? d.result : R_INTERNAL;
    }
    csv_free(&rr.csv);
    member_io_countries_free(&countries);
    return res;
}

/* ---- jobs ---- */

static void job_from_row(Stmt *st, ImportJob *job)
{
    memset(job, 0, sizeof *job);
    job->id = db_int(st, 0);
    snprintf(job->status, sizeof job->status, "%s", db_text(st, 1));
    snprintf(job->sha256, sizeof job->sha256, "%s", db_text(st, 2));
    job->total_rows = db_int(st, 3);
    job->rows_done = db_int(st, 4);
    job->totals.rows = job->rows_done;
    job->totals.created = db_int(st, 5);
    job->totals.updated = db_int(st, 6);
    job->totals.filled = db_int(st, 7);
    job->totals.skipped = db_int(st, 8);
    job->totals.rejected = db_int(st, 9);
    job->started_by = db_int(st, 10);
    job->started_at = db_int(st, 11);
    job->updated_at = db_int(st, 12);
    job->has_content = (int)db_int(st, 13);
}

Result member_import_job_find(Db *db, const char *sha256, const char *options, ImportJob *job)
{
    Stmt *st = db_prepare(
        db, "SELECT id, status, file_sha256, total_rows, rows_done, created, updated, filled, "
            "skipped, rejected, coalesce(started_by, 0), started_at, updated_at, "
            "EXISTS (SELECT 1 FROM member_import_files WHERE import_id = id) "
            "FROM member_imports WHERE file_sha256 = :sha AND options = :options "
            "ORDER BY id DESC LIMIT 1");
    db_bind_text(st, ":sha", sha256);
    db_bind_text(st, ":options", options);
    int found = db_row(st);
    if (found)
        job_from_row(st, job);
    Result r = db_done(st);
    return r != R_OK ? r : found ? R_OK : R_NOT_FOUND;
}

Result member_import_job_load(Db *db, int64_t id, ImportJob *job)
{
    Stmt *st = db_prepare(
        db, "SELECT id, status, file_sha256, total_rows, rows_done, created, updated, filled, "
            "skipped, rejected, coalesce(started_by, 0), started_at, updated_at, "
            "EXISTS (SELECT 1 FROM member_import_files WHERE import_id = id) "
            "FROM member_imports WHERE id = :id");
    db_bind_int(st, ":id", id);
    int rc = db_row(st);
    if (rc)
        job_from_row(st, job);
    db_done(st);
    return rc ? R_OK : R_NOT_FOUND;
}

void member_import_sha256(const char *data, size_t len, char out[65])
{
    unsigned char hash[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(hash, (const unsigned char *)data, len);
    sodium_bin2hex(out, 65, hash, sizeof hash);
}

/* What member_import_job_create writes: the job, and its file when kept. */
typedef struct {
    const char *sha, *options;
    const char *csv; /* the file, stored when keep_content is set */
    size_t len;
    int64_t total_rows, user_id;
    int keep_content;
    int64_t upload_id; /* the job's file is this upload's content, moved (web) */
    int64_t id;        /* out: the new job */
} JobCreate;

/* Moves the content of upload c->upload_id, if it is still c->user_id's
 * and not applied yet, into the new job c->id's file. R_NOT_FOUND if not:
 * another request applied it meanwhile. */
static Result import_job_take_upload(Db *w, const JobCreate *c)
{
    Stmt *st = db_prepare(w, "INSERT INTO member_import_files (import_id, content) "
                             "SELECT :id, content FROM member_import_uploads "
                             "WHERE id = :upload AND user_id = :user AND content IS NOT NULL");
    db_bind_int(st, ":id", c->id);
    db_bind_int(st, ":upload", c->upload_id);
    db_bind_int(st, ":user", c->user_id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_NOT_FOUND;
    st = db_prepare(w, "UPDATE member_import_uploads SET content = NULL, import_id = :id "
                       "WHERE id = :upload");
    db_bind_int(st, ":id", c->id);
    db_bind_int(st, ":upload", c->upload_id);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

static Result import_job_add_apply(Db *w, void *ctx)
{
    JobCreate *c = ctx;
    Stmt *st =
        db_prepare(w, "INSERT INTO member_imports (file_sha256, options, total_rows, started_by, "
                      "started_at, updated_at) VALUES (:sha, :options, :total, :user, :now, :now) "
                      "RETURNING id");
    db_bind_text(st, ":sha", c->sha);
    db_bind_text(st, ":options", c->options);
    db_bind_int(st, ":total", c->total_rows);
    if (c->user_id)
        db_bind_int(st, ":user", c->user_id);
    else
        db_bind_null(st, ":user");
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, &c->id) != R_OK)
        return R_INTERNAL;
    if (c->upload_id)
        return import_job_take_upload(w, c);
    if (!c->keep_content)
        return R_OK;
    st = db_prepare(w, "INSERT INTO member_import_files (import_id, content) "
                       "VALUES (:id, :content)");
    db_bind_int(st, ":id", c->id);
    db_bind_blob(st, ":content", c->len ? c->csv : "", c->len);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result member_import_job_create(Db *db, const char *csv, size_t len, const char *options,
                                int64_t total_rows, int keep_content, int64_t user_id,
                                ImportJob *job)
{
    char sha[65];
    member_import_sha256(csv, len, sha);
    JobCreate c = {.sha = sha,
                   .options = options,
                   .csv = csv,
                   .len = len,
                   .total_rows = total_rows,
                   .user_id = user_id,
                   .keep_content = keep_content};
    if (db_write(db, import_job_add_apply, &c) != R_OK)
        return R_INTERNAL;
    return member_import_job_load(db, c.id, job);
}

Result member_import_job_create_from_upload(Db *db, const char *csv, size_t len,
                                            const char *options, int64_t total_rows,
                                            int64_t upload_id, int64_t user_id, ImportJob *job)
{
    char sha[65];
    member_import_sha256(csv, len, sha);
    JobCreate c = {.sha = sha,
                   .options = options,
                   .total_rows = total_rows,
                   .user_id = user_id,
                   .upload_id = upload_id};
    Result res = db_write(db, import_job_add_apply, &c);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return member_import_job_load(db, c.id, job);
}

/* ---- the web's uploads ---- */

/* What member_import_upload_add writes. */
typedef struct {
    int64_t user_id;
    const char *csv;
    size_t len;
    int64_t id; /* out: the new upload */
} UploadAdd;

static Result import_upload_add_apply(Db *w, void *ctx)
{
    UploadAdd *u = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO member_import_uploads (user_id, content, uploaded_at) "
                             "VALUES (:user, :content, :now) RETURNING id");
    db_bind_int(st, ":user", u->user_id);
    db_bind_blob(st, ":content", u->csv, u->len);
    db_bind_int(st, ":now", now_seconds());
    return db_insert(st, &u->id) == R_OK ? R_OK : R_INTERNAL;
}

Result member_import_upload_add(Db *db, int64_t user_id, const char *csv, size_t len, int64_t *id)
{
    UploadAdd add = {user_id, csv, len, 0};
    if (db_write(db, import_upload_add_apply, &add) != R_OK)
        return R_INTERNAL;
    *id = add.id;
    return R_OK;
}

/* What member_import_upload_link writes. */
typedef struct {
    int64_t upload_id, user_id, import_id;
} UploadLink;

static Result import_upload_link_apply(Db *w, void *ctx)
{
    const UploadLink *l = ctx;
    Stmt *st = db_prepare(w, "UPDATE member_import_uploads SET content = NULL, import_id = :job "
                             "WHERE id = :id AND user_id = :user");
    db_bind_int(st, ":job", l->import_id);
    db_bind_int(st, ":id", l->upload_id);
    db_bind_int(st, ":user", l->user_id);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

Result member_import_upload_link(Db *db, int64_t upload_id, int64_t user_id, int64_t import_id)
{
    UploadLink link = {upload_id, user_id, import_id};
    return db_write(db, import_upload_link_apply, &link) == R_OK ? R_OK : R_INTERNAL;
}

Result member_import_expire(Db *w, int64_t now)
{
    Stmt *st = db_prepare(w, "DELETE FROM member_import_uploads WHERE uploaded_at < :old");
    db_bind_int(st, ":old", now - UPLOAD_TTL);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    /* A web job stands still between views: one nobody has run for a week
     * is abandoned. It stops as failed, and without its file it cannot be
     * retried: its page says so. */
    st = db_prepare(w, "UPDATE member_imports SET status = 'failed' WHERE status = 'running' "
                       "AND updated_at < :old AND id IN (SELECT import_id FROM "
                       "member_import_files)");
    db_bind_int(st, ":old", now - WEB_JOB_TTL);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "DELETE FROM member_import_files WHERE import_id IN "
                       "(SELECT id FROM member_imports WHERE updated_at < :old)");
    db_bind_int(st, ":old", now - WEB_JOB_TTL);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

static Result import_expire_apply(Db *w, void *ctx)
{
    return member_import_expire(w, *(const int64_t *)ctx);
}

Result member_import_hourly(Db *db, const char *base_url)
{
    (void)base_url;
    int64_t now = now_seconds();
    return db_write(db, import_expire_apply, &now);
}

/* Marks the running job *(int64_t *)ctx failed, after a batch of it failed
 * and was rolled back; running it again retries. */
static Result import_job_fail_apply(Db *w, void *ctx)
{
    const int64_t *id = ctx;
    Stmt *st = db_prepare(w, "UPDATE member_imports SET status = 'failed', updated_at = :now "
                             "WHERE id = :id AND status = 'running'");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", *id);
    return db_run(st);
}

/* Sets the failed job *(int64_t *)ctx running again, to be retried (the
 * same command run again, or the retry button of its page). */
static Result import_job_retry_apply(Db *w, void *ctx)
{
    const int64_t *id = ctx;
    Stmt *st = db_prepare(w, "UPDATE member_imports SET status = 'running' WHERE id = :id "
                             "AND status = 'failed'");
    db_bind_int(st, ":id", *id);
    return db_run(st);
}

Result member_import_job_retry(Db *db, int64_t id)
{
    return db_write(db, import_job_retry_apply, &id);
}

/* Inside a batch's write: adds the batch to the job, and on the last
 * batch closes the job and writes the audit entry. */
static Result job_record_batch(Db *w, const ImportJob *job, const ImportTotals *batch,
                               int64_t position, int finished)
{
    Stmt *st = db_prepare(
        w, "UPDATE member_imports SET rows_done = :done, created = created + :created, "
           "updated = updated + :updated, filled = filled + :filled, "
           "skipped = skipped + :skipped, rejected = rejected + :rejected, "
           "status = CASE WHEN :finished = 1 THEN 'done' ELSE status END, updated_at = :now "
           "WHERE id = :id RETURNING created, updated, filled, skipped, rejected");
    db_bind_int(st, ":done", position);
    db_bind_int(st, ":created", batch->created);
    db_bind_int(st, ":updated", batch->updated);
    db_bind_int(st, ":filled", batch->filled);
    db_bind_int(st, ":skipped", batch->skipped);
    db_bind_int(st, ":rejected", batch->rejected);
    db_bind_int(st, ":finished", finished);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", job->id);
    int found = db_row(st);
    char object[48], detail[200];
    if (found) {
        snprintf(object, sizeof object, "member import %lld", (long long)job->id);
        snprintf(detail, sizeof detail,
                 "%lld rows: %lld created, %lld updated, %lld filled, %lld skipped, "
                 "%lld rejected",
                 (long long)position, (long long)db_int(st, 0), (long long)db_int(st, 1),
                 (long long)db_int(st, 2), (long long)db_int(st, 3), (long long)db_int(st, 4));
    }
    if (db_done(st) != R_OK || !found)
        return R_INTERNAL;
    if (!finished)
        return R_OK;
    /* The uploaded file held personal data that is now in people and
     * organisations: it is not kept. */
    st = db_prepare(w, "DELETE FROM member_import_files WHERE import_id = :id");
    db_bind_int(st, ":id", job->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, job->started_by, "members imported", object, detail);
}

/* Reads (and validates) data rows until rr is at row position, or the file
 * ends or breaks first. Returns 1 when rr is at position. */
static int reader_skip_to(MemberReader *rr, int64_t position, char *error, size_t error_size)
{
    MemberRow row;
    while (rr->position < position && member_io_reader_next(rr, &row, error, error_size) == 1)
        ;
    return rr->position == position;
}

/* One batch of a job: up to BATCH_ROWS rows from where the job stands,
 * written with the job's counters in one db_write, so that rows_done is
 * always the number of rows whose effect is in the database. */
typedef struct {
    const ImportJob *job;
    MemberReader *rr; /* carries on from one batch to the next */
    OnDuplicate dup;
    ImportRowFn on_row;
    void *ctx;
    int64_t max_rows; /* rows this member_import_job_run may do (0: no limit) */
    int64_t *ran;     /* rows it has done so far */
    char *error;
    size_t error_size;
    int stopped;   /* out: the job is not running (done, or failed meanwhile): nothing written */
    int finished;  /* out: this was the job's last batch */
    int64_t total; /* out: the job's data rows */
} ImportBatch;

static Result import_batch_add_apply(Db *w, void *ctx)
{
    ImportBatch *b = ctx;
    /* Read the job inside the write: another process or request may have
     * run batches of it meanwhile. */
    Stmt *st =
        db_prepare(w, "SELECT status, rows_done, total_rows FROM member_imports WHERE id = :id");
    db_bind_int(st, ":id", b->job->id);
    int rc = db_row(st);
    int running = rc && strcmp(db_text(st, 0), "running") == 0;
    int64_t done = rc ? db_int(st, 1) : 0;
    b->total = rc ? db_int(st, 2) : 0;
    db_done(st);
    if (!running) {
        b->stopped = 1;
        return R_OK;
    }
    /* Usually nothing to skip: member_import_job_run skipped what was done
     * before it started, outside the write. */
    if (!reader_skip_to(b->rr, done, b->error, b->error_size)) {
        snprintf(b->error, b->error_size, "the file is shorter than the job's %lld rows done",
                 (long long)done);
        return R_BAD_REQUEST;
    }
    ImportTotals batch = {0};
    RowWriter rw = {b->dup, now_seconds(), &batch, b->on_row, b->ctx, ""};
    MemberRow row;
    rc = 1;
    for (int n = 0; n < BATCH_ROWS && (b->max_rows <= 0 || *b->ran < b->max_rows); n++) {
        if ((rc = member_io_reader_next(b->rr, &row, b->error, b->error_size)) != 1)
            break;
        (*b->ran)++;
        batch.rows++;
        if (row.error) {
            batch.rejected++;
            report(&rw, &row, N_("error"), row.error);
        } else {
            Result res = write_row(w, &rw, &row);
            if (res != R_OK)
                return res;
        }
    }
    if (rc < 0)
        return R_BAD_REQUEST;
    b->finished = rc == 0 || b->rr->position >= b->total;
    return job_record_batch(w, b->job, &batch, b->rr->position, b->finished);
}

Result member_import_job_run(Db *db, ImportJob *job, const char *csv, size_t len,
                             const MemberMapping *m, OnDuplicate dup, int64_t max_rows,
                             ImportRowFn on_row, void *ctx,
                             void (*progress)(void *ctx, int64_t done, int64_t total), char *error,
                             size_t error_size)
{
    CountryNames countries;
    if (member_io_countries(db, &countries) != R_OK)
        return R_INTERNAL;
    MemberReader rr;
    Result res = member_io_reader_open(&rr, csv, len, error, error_size);
    rr.m = m;
    rr.countries = &countries;
    /* The rows a resumed job has done are skipped here, outside the
     * writes (each web view starts from the file's beginning); rows_done
     * only grows, so a batch finds at most a few more to skip. */
    if (res == R_OK)
        reader_skip_to(&rr, job->rows_done, error, error_size);
    int64_t ran = 0;
    while (res == R_OK) {
        ImportBatch b = {.job = job,
                         .rr = &rr,
                         .dup = dup,
                         .on_row = on_row,
                         .ctx = ctx,
                         .max_rows = max_rows,
                         .ran = &ran,
                         .error = error,
                         .error_size = error_size};
        res = db_write(db, import_batch_add_apply, &b);
        if (res != R_OK || b.stopped)
            break;
        if (progress)
            progress(ctx, rr.position, b.total);
        if (b.finished || (max_rows > 0 && ran >= max_rows))
            break;
    }
    /* The failed batch was rolled back: the job stops at the last batch
     * that was written. */
    if (res != R_OK && db_write(db, import_job_fail_apply, &job->id) != R_OK)
        log_info("member import %lld could not be marked failed", (long long)job->id);
    csv_free(&rr.csv);
    member_io_countries_free(&countries);
    if (member_import_job_load(db, job->id, job) != R_OK && res == R_OK)
        res = R_INTERNAL;
    return res;
}

/* Per-row lines: the row's line, the action, and for errors what is wrong.
 * No name or address: the output may end up in a log. */
static void print_row(void *ctx, const MemberRow *row, const char *action, const char *note)
{
    (void)ctx;
    if (strcmp(action, "error") == 0)
        printf("row %-7zu %-6s %s%s%s\n", row->line, action,
               row->error_field ? row->error_field : "", row->error_field ? ": " : "", note);
    else
        printf("row %-7zu %-6s %-12s %-3s  %s\n", row->line, action,
               row->organisation ? "organisation" : "individual", row->iso3, note);
}

typedef struct {
    int tty;
    int last_tenth;
} Progress;

/* A bar on a terminal; a line every tenth otherwise. On stderr, so that
 * stdout holds only the report. */
static void print_progress(void *ctx, int64_t done, int64_t total)
{
    Progress *p = ctx;
    int percent = total ? (int)(done * 100 / total) : 100;
    if (p->tty) {
        char bar[41];
        int filled = percent * 40 / 100;
        memset(bar, '#', (size_t)filled);
        memset(bar + filled, '.', (size_t)(40 - filled));
        bar[40] = 0;
        fprintf(stderr, "\r[%s] %3d%% %lld of %lld rows", bar, percent, (long long)done,
                (long long)total);
        if (done >= total)
            fputc('\n', stderr);
        fflush(stderr);
    } else if (percent / 10 > p->last_tenth || done >= total) {
        p->last_tenth = percent / 10;
        fprintf(stderr, "import: %d%% (%lld of %lld rows)\n", percent, (long long)done,
                (long long)total);
    }
}

static void print_totals(const char *label, const ImportTotals *t, int done)
{
    printf(done ? "%s%lld rows: %lld created, %lld updated, %lld filled, %lld skipped, "
                  "%lld rejected.\n"
                : "%s%lld rows: %lld to create, %lld to update, %lld to fill, %lld to skip, "
                  "%lld rejected.\n",
           label, (long long)t->rows, (long long)t->created, (long long)t->updated,
           (long long)t->filled, (long long)t->skipped, (long long)t->rejected);
}

static void print_mapping(const CsvReader *header, const MemberMapping *m)
{
    printf("Columns:");
    for (size_t c = 0; c < m->columns; c++) {
        /* A header cell is file content: no control character reaches the
         * terminal. */
        char shown[48];
        snprintf(shown, sizeof shown, "%s", header->fields[c]);
        for (char *q = shown; *q; q++)
            if ((unsigned char)*q < 0x20 || *q == 0x7f)
                *q = '?';
        if (m->field_of[c] >= 0)
            printf(" \"%s\" -> %s;", shown, member_io_fields[m->field_of[c]]);
        else
            printf(" \"%s\" ignored;", shown);
    }
    printf("\n");
}

static void usage_import(void)
{
    fprintf(stderr, "usage: ratify import members FILE.csv [--map COLUMN=FIELD]... "
                    "[--on-duplicate skip|update|fill] [--apply] [--errors ERRORS.csv]\n");
}

static void date_of(int64_t t, char out[24])
{
    format_utc(t, "%Y-%m-%d %H:%M UTC", out, 24);
}

Result member_import_cmd(Db *db, int argc, char **argv)
{
    const char *path = NULL, *errors_path = NULL;
    const char **maps = xcalloc((size_t)argc + 1, sizeof *maps);
    size_t map_count = 0;
    OnDuplicate dup = DUP_SKIP;
    int apply = 0;
    Result res = R_BAD_REQUEST;
    char *text = NULL;
    Buf errors = {0};
    char error[300] = "";
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--apply") == 0) {
            apply = 1;
        } else if (strcmp(a, "--map") == 0 && i + 1 < argc) {
            maps[map_count++] = argv[++i];
        } else if (strcmp(a, "--errors") == 0 && i + 1 < argc) {
            errors_path = argv[++i];
        } else if (strcmp(a, "--on-duplicate") == 0 && i + 1 < argc) {
            const char *v = argv[++i];
            int d;
            for (d = 0; member_io_duplicate_codes[d] && strcmp(member_io_duplicate_codes[d], v);
                 d++)
                ;
            if (!member_io_duplicate_codes[d]) {
                usage_import();
                goto done;
            }
            dup = (OnDuplicate)d;
        } else if (!path && a[0] != '-') {
            path = a;
        } else {
            usage_import();
            goto done;
        }
    }
    if (!path) {
        usage_import();
        goto done;
    }
    size_t len;
    if (!(text = member_io_read_file(path, &len))) {
        fprintf(stderr, "ratify: cannot read %s\n", path);
        res = R_NOT_FOUND;
        goto done;
    }
    CsvReader header;
    csv_open(&header, text, len);
    MemberMapping m;
    if (csv_next(&header) != 1) {
        fprintf(stderr, "ratify: %s: the file is empty or not CSV\n", path);
        csv_free(&header);
        goto done;
    }
    res = member_io_mapping(&header, maps, map_count, &m, error, sizeof error);
    print_mapping(&header, &m);
    csv_free(&header);
    if (res != R_OK) {
        fprintf(stderr, "ratify: %s: %s\n", path, error);
        goto done;
    }

    /* Its batches rewrite the same index pages again and again. */
    db_tune_for_bulk_load(db);

    /* First pass: count and check every row, and write the rejected ones. */
    CountryNames countries;
    if ((res = member_io_countries(db, &countries)) != R_OK)
        goto done;
    ImportTotals checked;
    res = member_import_check_file(text, len, &m, &countries, errors_path ? &errors : NULL,
                                   &checked, error, sizeof error);
    member_io_countries_free(&countries);
    if (res != R_OK) {
        fprintf(stderr, "ratify: %s: %s\nNothing was written.\n", path, error);
        goto done;
    }
    if (errors_path && (res = member_io_write_file(errors_path, &errors)) != R_OK)
        goto done;
    if (errors_path)
        printf("%lld rejected row(s) written to %s.\n", (long long)checked.rejected, errors_path);

    char sha[65];
    member_import_sha256(text, len, sha);
    char *options = member_io_options(&m, dup);
    ImportJob job;
    Result found = member_import_job_find(db, sha, options, &job);
    char when[24] = "";
    int already = found == R_OK && strcmp(job.status, "done") == 0;
    if (already)
        date_of(job.updated_at, when);
    if (!apply) {
        ImportTotals t;
        res =
            member_import_dry_run(db, text, len, &m, dup, print_row, NULL, &t, error, sizeof error);
        if (res == R_OK) {
            print_totals("Dry run: ", &t, 0);
            printf("Dry run: nothing was written. Add --apply to import.\n");
            if (already)
                printf("Note: this file was already imported with these options (import %lld, "
                       "finished %s); --apply will not import it again.\n",
                       (long long)job.id, when);
        } else if (error[0]) {
            fprintf(stderr, "ratify: %s: %s\n", path, error);
        }
        free(options);
        goto done;
    }
    if (already) {
        printf("This file was already imported with these options (import %lld, finished %s); "
               "it is not imported again.\n",
               (long long)job.id, when);
        print_totals("It had ", &job.totals, 1);
        free(options);
        res = R_OK;
        goto done;
    }
    if (found == R_OK) {
        printf("Resuming import %lld at row %lld of %lld.\n", (long long)job.id,
               (long long)job.rows_done + 1, (long long)job.total_rows);
        if (strcmp(job.status, "failed") == 0 &&
            (res = member_import_job_retry(db, job.id)) != R_OK) {
            fprintf(stderr, "ratify: import %lld cannot be resumed\n", (long long)job.id);
            free(options);
            goto done;
        }
    } else if ((res = member_import_job_create(db, text, len, options, checked.rows, 0, 0, &job)) !=
               R_OK) {
        free(options);
        goto done;
    }
    free(options);
    Progress p = {isatty(STDERR_FILENO), 0};
    res = member_import_job_run(db, &job, text, len, &m, dup, 0, print_row, &p, print_progress,
                                error, sizeof error);
    if (res != R_OK) {
        fprintf(stderr, "ratify: import %lld stopped: %s; run the same command again to resume\n",
                (long long)job.id, error[0] ? error : "see the messages above");
        goto done;
    }
    print_totals("Imported: ", &job.totals, 1);
    printf("Import %lld is %s.\n", (long long)job.id, job.status);
done:
    free(maps);
    free(text);
    buf_free(&errors);
    return res;
}
