/*
 * member_import.c: bringing members in (see member_import.h): the writer
 * shared by dry runs and jobs, import jobs that resume after a crash,
 * `ratify import members`, and the admin pages /admin/members/import
 * (upload, column mapping, dry run, apply with a progress page).
 *
 * Invariants: an imported person gets no login account and no email; every
 * new membership records consent_store_at as the time of the import; a
 * job's rows and its rows_done counter are committed in the same db_write,
 * so rows_done is exactly the number of data rows whose effect is in the
 * database; the audit log gets counts and ids only, never a name or an
 * address.
 */
#include "feat/handlers.h"
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

/* Rows per db_write, per page view of a web job (its batches stop there),
 * and shown in a web dry run (rows with errors are always shown).
 * Batches: every batch rewrites the index pages its rows land on (emails
 * land anywhere in their index), and commits them with an fsync, so
 * larger batches write much less; a crash loses at most one batch, and a
 * batch holds the write lock for about half a second, well under the 5 s
 * others wait for it. Measured with `ratify import members` (bench/
 * import_members.py): on 100,000 rows 500 took 6 s, 1000 took 4.8 s; on
 * 1,000,000 rows 1000 took 57 s, 10,000 36 s, 25,000 21 to 28 s (with the
 * cache and checkpoint settings of member_import_cmd), 50,000 no better. */
enum { BATCH_ROWS = 25000, WEB_ROWS_PER_VIEW = 2000, PREVIEW_ROWS_SHOWN = 2000 };

/* The largest file the pages take. The file is stored on the server at
 * its upload and the later steps carry only its id, so the limit is the
 * server's --max-body (1 MiB by default) up to this: a dry run of the page
 * holds the write lock for the whole file (about a second per 50,000
 * rows), which stays a few seconds at 16 MiB. Larger files go through
 * `ratify import members`. */
enum { WEB_MAX_FILE = 16 * 1024 * 1024 };

/* How long the file of an abandoned web import is kept: an upload that was
 * never applied, a day after it was sent; the file of a web job nobody
 * has viewed (each view runs the next rows), a week after its last batch,
 * so that a failed job can still be retried after a weekend. */
enum { UPLOAD_TTL = 24 * 3600, WEB_JOB_TTL = 7 * 24 * 3600 };

static const char *const field_labels[] = {N_("Name"),
                                           N_("Email"),
                                           N_("Country"),
                                           N_("Individual or organisation"),
                                           N_("Organisation"),
                                           N_("Type of organisation"),
                                           N_("Website"),
                                           N_("Languages"),
                                           N_("Listing"),
                                           N_("Membership status"),
                                           N_("Consent to updates"),
                                           N_("Member since"),
                                           NULL};

static const char *const duplicate_labels[] = {
    N_("Skip: leave members who are already registered as they are"),
    N_("Update: overwrite their details with what the file says"),
    N_("Fill: only add details that are missing"), NULL};

/* A job's status, shown translated on the pages. */
static const char *const job_statuses[] = {N_("running"), N_("done"), N_("failed"), NULL};

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
                       "WHERE op.person_id = :person AND o.name = :name COLLATE NOCASE "
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

/* Counts the data rows, which also checks that the whole file is CSV, and
 * when errors is not NULL validates them and writes the rejected ones
 * there as CSV (the original columns and an "error" column), with their
 * number in t->rejected. Without errors, the rows are only counted: the
 * import validates each row anyway (a tenth of the time of a large
 * import). */
static Result check_file(const char *csv, size_t len, const MemberMapping *m,
                         const CountryNames *countries, Buf *errors, ImportTotals *t, char *error,
                         size_t error_size)
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

static void sha256_hex(const char *data, size_t len, char out[65])
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
    sha256_hex(csv, len, sha);
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

/* The web's apply: the job, its file taken from upload upload_id of
 * user_id in the same transaction. R_NOT_FOUND when the upload is gone or
 * was applied meanwhile. */
static Result job_create_from_upload(Db *db, const char *csv, size_t len, const char *options,
                                     int64_t total_rows, int64_t upload_id, int64_t user_id,
                                     ImportJob *job)
{
    char sha[65];
    sha256_hex(csv, len, sha);
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

/* Inside a batch's write: adds the batch to the job, and on the last
 * batch closes the job and writes the audit entry. */
static Result job_record_batch(Db *w, const ImportJob *job, const ImportTotals *batch,
                               int64_t position, int finished)
{
    Stmt *st =
        db_prepare(w, "UPDATE member_imports SET rows_done = :done, created = created + :created, "
                      "updated = updated + :updated, filled = filled + :filled, "
                      "skipped = skipped + :skipped, rejected = rejected + :rejected, "
                      "status = CASE WHEN :finished THEN 'done' ELSE status END, updated_at = :now "
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
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(out, 24, "%Y-%m-%d %H:%M UTC", &tm);
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

    /* A larger page cache for this one connection: with SQLite's default
     * 2 MB, a large import keeps reading back the index pages it has just
     * written (measured: a third of the time of 100,000 rows); 256 MB holds
     * the indexes of a million members. A checkpoint every 40,000 pages
     * (160 MB of WAL) instead of 1,000: each one copies back into the
     * database the index pages that every batch rewrites (measured on
     * 1,000,000 rows: 36 s -> 31 s). Commits stay synchronous=FULL. */
    db_exec(db, "PRAGMA cache_size = -262144");
    db_exec(db, "PRAGMA wal_autocheckpoint = 40000");

    /* First pass: count and check every row, and write the rejected ones. */
    CountryNames countries;
    if ((res = member_io_countries(db, &countries)) != R_OK)
        goto done;
    ImportTotals checked;
    res = check_file(text, len, &m, &countries, errors_path ? &errors : NULL, &checked, error,
                     sizeof error);
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
    sha256_hex(text, len, sha);
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
            (res = db_write(db, import_job_retry_apply, &job.id)) != R_OK) {
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

/* ---- the admin pages ---- */

static json_t *choice_list(Request *r, const char *const *codes, const char *const *labels,
                           const char *selected)
{
    json_t *list = json_array();
    for (int i = 0; codes[i]; i++)
        json_array_append_new(list, json_build("{s:s, s:s, s:b}", "code", codes[i], "label",
                                               tr(r, labels[i]), "selected",
                                               selected && strcmp(selected, codes[i]) == 0));
    return list;
}

static const char *job_status_label(Request *r, const char *status)
{
    for (int i = 0; job_statuses[i]; i++)
        if (strcmp(job_statuses[i], status) == 0)
            return tr(r, job_statuses[i]);
    return status;
}

static json_t *recent_jobs(Request *r)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT id, status, rows_done, total_rows, created, updated, filled, skipped, "
               "rejected, strftime('%Y-%m-%d %H:%M', started_at, 'unixepoch') "
               "FROM member_imports ORDER BY id DESC LIMIT 10");
    while (db_row(st))
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "id",
                       (json_int_t)db_int(st, 0), "status", job_status_label(r, db_text(st, 1)),
                       "rows_done", (json_int_t)db_int(st, 2), "total_rows",
                       (json_int_t)db_int(st, 3), "created", (json_int_t)db_int(st, 4), "updated",
                       (json_int_t)db_int(st, 5), "filled", (json_int_t)db_int(st, 6), "skipped",
                       (json_int_t)db_int(st, 7), "rejected", (json_int_t)db_int(st, 8), "started",
                       db_text(st, 9)));
    db_done(st);
    return list;
}

Result member_import_page(Request *r)
{
    r->page = "admin_member_import";
    r->title = tr(r, "Import members");
    json_decref(r->data);
    json_t *jobs = recent_jobs(r);
    r->data = json_build("{s:b, s:o, s:b, s:o}", "upload", 1, "duplicates",
                         choice_list(r, member_io_duplicate_codes, duplicate_labels, "skip"),
                         "has_jobs", json_array_size(jobs) > 0, "jobs", jobs);
    return R_OK;
}

static Result upload_error(Request *r, const char *message)
{
    member_import_page(r);
    r->errors = json_build("{s:s}", "file", message);
    return R_BAD_REQUEST;
}

/* The file of the import, stored on the server from the first step on: the
 * later steps carry only its id, so the browser never sends it back. */
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

/* An upload of the request's user, as a later step reads it. */
typedef struct {
    const char *csv; /* NULL once applied */
    size_t len;
    int64_t import_id; /* the job it became, 0 before */
} Upload;

/* Upload id of the request's user: another admin's id, or one expired, is
 * not found, exactly as an id that never existed. */
static Result upload_load(Request *r, int64_t id, Upload *u)
{
    memset(u, 0, sizeof *u);
    Stmt *st = db_prepare(r->db, "SELECT content IS NOT NULL, content, coalesce(import_id, 0) "
                                 "FROM member_import_uploads WHERE id = :id AND user_id = :user");
    db_bind_int(st, ":id", id);
    db_bind_int(st, ":user", r->user->id);
    int found = db_row(st);
    if (found && db_int(st, 0)) {
        u->len = db_len(st, 1);
        char *csv = arena_alloc(r->arena, u->len + 1);
        if (u->len)
            memcpy(csv, db_blob(st, 1), u->len);
        csv[u->len] = 0;
        u->csv = csv;
    }
    if (found)
        u->import_id = db_int(st, 2);
    Result res = db_done(st);
    return res != R_OK ? res : found ? R_OK : R_NOT_FOUND;
}

/* When the file was imported already, or its import is under way: the
 * upload's content goes (that job has the file, or the command line
 * reads it) and the upload points at the job, so a second apply of the
 * same upload (a double click) leads to it too. */
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

static Result job_redirect(Request *r, int64_t id)
{
    return http_redirect(r, arena_printf(r->arena, "/admin/members/import/%lld", (long long)id));
}

/* Text for a page: a cell that is not valid UTF-8 is shown as "?", since
 * JSON (and so a page) cannot hold it. */
static json_t *page_text(const char *s)
{
    json_t *j = json_string(s);
    return j ? j : json_string("?");
}

/* The mapping step: every header column with a select of fields. */
static json_t *mapping_columns(Request *r, const CsvReader *header, const CsvReader *first,
                               const MemberMapping *m)
{
    json_t *columns = json_array();
    for (size_t c = 0; c < m->columns; c++) {
        json_t *options = json_array();
        json_array_append_new(options, json_build("{s:s, s:s, s:b}", "code", "", "label",
                                                  tr(r, "Ignore this column"), "selected",
                                                  m->field_of[c] < 0));
        for (int f = 0; f < MF_COUNT; f++)
            json_array_append_new(
                options, json_build("{s:s, s:s, s:b}", "code", member_io_fields[f], "label",
                                    tr(r, field_labels[f]), "selected", m->field_of[c] == f));
        json_t *col = json_build("{s:I, s:o, s:o}", "index", (json_int_t)c, "header",
                                 page_text(header->fields[c]), "options", options);
        json_object_set_new(col, "sample",
                            page_text(first && c < first->count ? first->fields[c] : ""));
        json_array_append_new(columns, col);
    }
    return columns;
}

/* The mapping as hidden fields for the next step. */
static json_t *mapping_fields(const MemberMapping *m)
{
    json_t *list = json_array();
    for (size_t c = 0; c < m->columns; c++)
        json_array_append_new(
            list, json_build("{s:I, s:s}", "index", (json_int_t)c, "field",
                             m->field_of[c] >= 0 ? member_io_fields[m->field_of[c]] : ""));
    return list;
}

/* The mapping the form posted (map_0, map_1 ...), checked. */
static Result posted_mapping(Request *r, size_t columns, MemberMapping *m, char *error,
                             size_t error_size)
{
    memset(m, 0, sizeof *m);
    m->columns = columns;
    for (size_t c = 0; c < CSV_MAX_FIELDS; c++) {
        m->field_of[c] = -1;
        if (c >= columns)
            continue;
        char name[16];
        snprintf(name, sizeof name, "map_%zu", c);
        /* An empty select (or none) leaves the column unmapped. */
        int f;
        if (param_optional_enum(r, name, member_io_fields, -1, &f) != R_OK) {
            snprintf(error, error_size, "unknown field for column %zu", c + 1);
            return R_BAD_REQUEST;
        }
        m->field_of[c] = f;
    }
    return member_io_mapping_check(m, error, error_size);
}

typedef struct {
    Request *r;
    json_t *rows;
    size_t shown, hidden;
} Preview;

static void preview_row(void *ctx, const MemberRow *row, const char *action, const char *note)
{
    Preview *p = ctx;
    int problem = strcmp(action, "error") == 0;
    if (p->shown >= PREVIEW_ROWS_SHOWN && !problem) {
        p->hidden++;
        return;
    }
    p->shown++;
    const char *message =
        problem && row->error_field
            ? arena_printf(p->r->arena, "%s: %s", row->error_field, tr(p->r, note))
            : tr(p->r, note);
    json_t *j = json_build("{s:I, s:s, s:s, s:s, s:s, s:b}", "line", (json_int_t)row->line,
                           "action", tr(p->r, action), "kind",
                           row->organisation ? tr(p->r, "organisation") : tr(p->r, "individual"),
                           "iso3", row->iso3, "note", message, "problem", problem);
    json_object_set_new(j, "name", page_text(row->organisation ? row->org_name : row->name));
    json_object_set_new(j, "email", page_text(row->email));
    json_array_append_new(p->rows, j);
}

static void set_base(Request *r, int64_t upload_id, const MemberMapping *m, OnDuplicate dup)
{
    json_object_set_new(r->data, "upload", json_integer(upload_id));
    json_object_set_new(r->data, "mapping", mapping_fields(m));
    json_object_set_new(r->data, "on_duplicate", json_string(member_io_duplicate_codes[dup]));
}

/* The file of the step: the upload of the first step ("map"), stored
 * then, or the stored upload a later step names. Returns R_OK,
 * R_BAD_REQUEST with the form shown again, R_NOT_FOUND or R_INTERNAL. */
static Result step_file(Request *r, const char *step, Upload *u, int64_t *upload_id)
{
    if (strcmp(step, "map") != 0) {
        if (param_int(r, "upload", 1, INT64_MAX, upload_id) != R_OK)
            return R_NOT_FOUND;
        return upload_load(r, *upload_id, u);
    }
    const Param *file = form_get(&r->form, "file");
    if (!file || !file->len)
        return upload_error(r, tr(r, "Please choose a CSV file."));
    if (file->len > WEB_MAX_FILE)
        return upload_error(r, tr(r, "This file is too large to import here. Import it on the "
                                     "server with: ratify import members FILE.csv"));
    CsvReader header;
    csv_open(&header, file->value, file->len);
    int readable = csv_next(&header) == 1;
    csv_free(&header);
    if (!readable)
        return upload_error(r, tr(r, "The file is empty or is not CSV."));
    UploadAdd add = {r->user->id, file->value, file->len, 0};
    if (db_write(r->db, import_upload_add_apply, &add) != R_OK)
        return R_INTERNAL;
    *u = (Upload){file->value, file->len, 0};
    *upload_id = add.id;
    return R_OK;
}

/* The steps of the import form, in order. */
static const char *const import_steps[] = {"map", "preview", "errors", "apply", NULL};

Result member_import_post(Request *r)
{
    /* No step (or one the form never sends) is the first: the upload. */
    const char *step = param_filter(r, "step", import_steps);
    if (!step)
        step = "map";
    Upload u;
    int64_t upload_id = 0;
    Result res = step_file(r, step, &u, &upload_id);
    if (res != R_OK)
        return res;
    if (u.import_id && strcmp(step, "apply") == 0)
        return job_redirect(r, u.import_id);
    if (!u.csv) /* applied: its file is the job's now */
        return R_NOT_FOUND;
    const char *csv = u.csv;
    size_t len = u.len;
    OnDuplicate dup = DUP_SKIP;
    const char *d = param_filter(r, "on_duplicate", member_io_duplicate_codes);
    for (int i = 0; d && member_io_duplicate_codes[i]; i++)
        if (strcmp(member_io_duplicate_codes[i], d) == 0)
            dup = (OnDuplicate)i;
    char error[300] = "";
    CsvReader header, first;
    csv_open(&header, csv, len);
    if (csv_next(&header) != 1) {
        csv_free(&header);
        return upload_error(r, tr(r, "The file is empty or is not CSV."));
    }
    MemberMapping m;
    if (strcmp(step, "map") == 0)
        res = member_io_mapping(&header, NULL, 0, &m, error, sizeof error);
    else
        res = posted_mapping(r, header.count, &m, error, sizeof error);

    json_decref(r->data);
    r->data = json_object();
    r->page = "admin_member_import";
    r->title = tr(r, "Import members");
    set_base(r, upload_id, &m, dup);
    json_object_set_new(r->data, "duplicates",
                        choice_list(r, member_io_duplicate_codes, duplicate_labels,
                                    member_io_duplicate_codes[dup]));

    if (strcmp(step, "map") == 0 || res != R_OK) {
        /* The sample is the first data row, so the admin sees what each
         * column holds. */
        first = header;
        first.storage = NULL;
        first.storage_cap = 0;
        int has_first = csv_next(&first) == 1;
        json_object_set_new(r->data, "columns",
                            mapping_columns(r, &header, has_first ? &first : NULL, &m));
        csv_free(&first);
        csv_free(&header);
        json_object_set_new(r->data, "map_step", json_true());
        if (res != R_OK) {
            r->message = arena_strdup(r->arena, error);
            return strcmp(step, "map") == 0 ? R_OK : R_BAD_REQUEST;
        }
        return R_OK;
    }
    csv_free(&header);

    if (strcmp(step, "errors") == 0) {
        CountryNames countries;
        if (member_io_countries(r->db, &countries) != R_OK)
            return R_INTERNAL;
        ImportTotals t;
        res = check_file(csv, len, &m, &countries, &r->body_out, &t, error, sizeof error);
        member_io_countries_free(&countries);
        if (res != R_OK) {
            buf_free(&r->body_out);
            r->message = arena_strdup(r->arena, error);
            return R_BAD_REQUEST;
        }
        r->content_type = "text/csv; charset=utf-8";
        http_add_header(r, "Content-Disposition", "attachment; filename=\"rejected-members.csv\"");
        return R_OK;
    }

    if (strcmp(step, "apply") == 0) {
        CountryNames countries;
        if (member_io_countries(r->db, &countries) != R_OK)
            return R_INTERNAL;
        ImportTotals t;
        res = check_file(csv, len, &m, &countries, NULL, &t, error, sizeof error);
        member_io_countries_free(&countries);
        if (res != R_OK) {
            r->message = arena_strdup(r->arena, error);
            return R_BAD_REQUEST;
        }
        char sha[65];
        sha256_hex(csv, len, sha);
        char *options = member_io_options(&m, dup);
        ImportJob job;
        res = member_import_job_find(r->db, sha, options, &job);
        if (res == R_OK) {
            /* The same file with the same options: applying twice (a
             * double click, a reload, another upload of it) never
             * imports twice. */
            free(options);
            UploadLink link = {upload_id, r->user->id, job.id};
            if (db_write(r->db, import_upload_link_apply, &link) != R_OK)
                return R_INTERNAL;
            if (strcmp(job.status, "done") != 0)
                return job_redirect(r, job.id);
            json_object_set_new(r->data, "already_imported", json_integer(job.id));
            return R_OK;
        }
        res =
            job_create_from_upload(r->db, csv, len, options, t.rows, upload_id, r->user->id, &job);
        free(options);
        if (res == R_NOT_FOUND && upload_load(r, upload_id, &u) == R_OK && u.import_id)
            return job_redirect(r, u.import_id); /* applied meanwhile by another request */
        if (res != R_OK)
            return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
        return job_redirect(r, job.id);
    }

    /* The dry run. */
    Preview p = {r, json_array(), 0, 0};
    ImportTotals t;
    res = member_import_dry_run(r->db, csv, len, &m, dup, preview_row, &p, &t, error, sizeof error);
    json_object_set_new(r->data, "lines", p.rows);
    if (res == R_INTERNAL)
        return R_INTERNAL;
    json_object_set_new(r->data, "report",
                        json_build("{s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "total",
                                   (json_int_t)t.rows, "created", (json_int_t)t.created, "updated",
                                   (json_int_t)t.updated, "filled", (json_int_t)t.filled, "skipped",
                                   (json_int_t)t.skipped, "rejected", (json_int_t)t.rejected,
                                   "hidden", (json_int_t)p.hidden));
    json_object_set_new(r->data, "can_apply",
                        json_boolean(res == R_OK && t.created + t.updated + t.filled > 0));
    json_object_set_new(r->data, "has_errors", json_boolean(res == R_OK && t.rejected > 0));
    if (res != R_OK) {
        r->message = arena_strdup(r->arena, error);
        return R_BAD_REQUEST;
    }
    return R_OK;
}

/* The "Try again" link of a failed job: ?retry=1. */
static const char *const retry_codes[] = {"1", NULL};

Result member_import_job_page(Request *r)
{
    int64_t id;
    ImportJob job;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK ||
        member_import_job_load(r->db, id, &job) != R_OK)
        return R_NOT_FOUND;
    char error[300] = "";
    const char *retry = param_filter(r, "retry", retry_codes);
    if (strcmp(job.status, "failed") == 0 && retry && job.has_content) {
        if (db_write(r->db, import_job_retry_apply, &id) != R_OK)
            return R_INTERNAL;
        snprintf(job.status, sizeof job.status, "running");
    }
    if (strcmp(job.status, "running") == 0 && job.has_content) {
        /* Each view runs the next rows: the page refreshes itself until the
         * job is done, and a crash between views loses nothing. */
        Stmt *st = db_prepare(r->db, "SELECT f.content, i.options FROM member_imports i "
                                     "JOIN member_import_files f ON f.import_id = i.id "
                                     "WHERE i.id = :id");
        db_bind_int(st, ":id", id);
        char *content = NULL, *options = NULL;
        size_t len = 0;
        if (db_row(st)) {
            len = (size_t)db_len(st, 0);
            content = arena_alloc(r->arena, len + 1);
            if (len)
                memcpy(content, db_blob(st, 0), len);
            options = arena_strdup(r->arena, db_text(st, 1));
        }
        db_done(st);
        CsvReader header;
        csv_open(&header, content ? content : "", len);
        MemberMapping m;
        OnDuplicate dup;
        Result res = R_BAD_REQUEST;
        if (content && csv_next(&header) == 1 &&
            member_io_options_parse(options, header.count, &m, &dup) == R_OK)
            res = member_import_job_run(r->db, &job, content, len, &m, dup, WEB_ROWS_PER_VIEW, NULL,
                                        NULL, NULL, error, sizeof error);
        csv_free(&header);
        if (res != R_OK) {
            log_info("%s member import %lld stopped: %s", r->request_id, (long long)id,
                     error[0] ? error : "internal error");
            member_import_job_load(r->db, id, &job);
        }
    }
    int running = strcmp(job.status, "running") == 0;
    if (running && job.has_content)
        http_add_header(r, "Refresh", "1");
    r->page = "admin_member_import_job";
    r->title = tr(r, "Import members");
    json_decref(r->data);
    r->data = json_build(
        "{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b, s:b, s:b, s:b, s:b}", "id",
        (json_int_t)job.id, "status", job_status_label(r, job.status), "rows_done",
        (json_int_t)job.rows_done, "total_rows", (json_int_t)job.total_rows, "percent",
        (json_int_t)(job.total_rows ? job.rows_done * 100 / job.total_rows : 100), "created",
        (json_int_t)job.totals.created, "updated", (json_int_t)job.totals.updated, "filled",
        (json_int_t)job.totals.filled, "skipped", (json_int_t)job.totals.skipped, "rejected",
        (json_int_t)job.totals.rejected, "running", running && job.has_content, "command_line",
        running && !job.has_content, "done", strcmp(job.status, "done") == 0, "failed",
        strcmp(job.status, "failed") == 0, "can_retry",
        strcmp(job.status, "failed") == 0 && job.has_content);
    return R_OK;
}
