/*
 * member_import_wizard.c: the admin pages that import members,
 * /admin/members/import: the upload (stored on the server, so that later
 * steps carry only its id), the column mapping, the dry run with its
 * report and the rejected rows as CSV, the apply, and the job's progress
 * page, which runs the next rows at each view. The import itself (rows,
 * jobs, the tables) is member_import.c's; this file only reads those
 * tables and writes them through member_import.h.
 *
 * Invariants: an admin sees and uses only their own uploads; applying the
 * same file with the same options twice (a double click, a reload) never
 * imports twice; a file too large for a page is sent to the command line.
 */
#include "feat/handlers.h"
#include "feat/member_import.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows run per view of a web job's page (its batches stop there), and
 * shown in a dry run's report (rows with errors are always shown). */
enum { WEB_ROWS_PER_VIEW = 2000, PREVIEW_ROWS_SHOWN = 2000 };

/* The largest file the pages take. The file is stored on the server at
 * its upload and the later steps carry only its id, so the limit is the
 * server's --max-body (1 MiB by default) up to this: a dry run of the page
 * holds the write lock for the whole file (about a second per 50,000
 * rows), which stays a few seconds at 16 MiB. Larger files go through
 * `ratify import members`. */
enum { WEB_MAX_FILE = 16 * 1024 * 1024 };

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
               "rejected, started_at "
               "FROM member_imports ORDER BY id DESC LIMIT 10");
    while (db_row(st)) {
        char started[24];
        format_utc(db_int(st, 9), "%Y-%m-%d %H:%M", started, sizeof started);
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "id",
                       (json_int_t)db_int(st, 0), "status", job_status_label(r, db_text(st, 1)),
                       "rows_done", (json_int_t)db_int(st, 2), "total_rows",
                       (json_int_t)db_int(st, 3), "created", (json_int_t)db_int(st, 4), "updated",
                       (json_int_t)db_int(st, 5), "filled", (json_int_t)db_int(st, 6), "skipped",
                       (json_int_t)db_int(st, 7), "rejected", (json_int_t)db_int(st, 8), "started",
                       started));
    }
    db_done(st);
    return list;
}

Result member_import_wizard_page(Request *r)
{
    r->page = "admin_member_import";
    r->title = tr(r, "Import members");
    json_decref(r->data);
    json_t *jobs = recent_jobs(r);
    r->data = json_build("{s:b, s:o, s:b, s:o}", "upload", 1, "duplicates",
                         form_options(r, member_io_duplicate_codes, duplicate_labels, "skip"),
                         "has_jobs", json_array_size(jobs) > 0, "jobs", jobs);
    return R_OK;
}

static Result upload_error(Request *r, const char *message)
{
    member_import_wizard_page(r);
    r->errors = json_build("{s:s}", "file", message);
    return R_BAD_REQUEST;
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
    if (member_import_upload_add(r->db, r->user->id, file->value, file->len, upload_id) != R_OK)
        return R_INTERNAL;
    *u = (Upload){file->value, file->len, 0};
    return R_OK;
}

/* The steps of the import form, in order. */
static const char *const import_steps[] = {"map", "preview", "errors", "apply", NULL};

Result member_import_wizard_post(Request *r)
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
                        form_options(r, member_io_duplicate_codes, duplicate_labels,
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
        res = member_import_check_file(csv, len, &m, &countries, &r->body_out, &t, error,
                                       sizeof error);
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
        res = member_import_check_file(csv, len, &m, &countries, NULL, &t, error, sizeof error);
        member_io_countries_free(&countries);
        if (res != R_OK) {
            r->message = arena_strdup(r->arena, error);
            return R_BAD_REQUEST;
        }
        char sha[65];
        member_import_sha256(csv, len, sha);
        char *options = member_io_options(&m, dup);
        ImportJob job;
        res = member_import_job_find(r->db, sha, options, &job);
        if (res == R_OK) {
            /* The same file with the same options: applying twice (a
             * double click, a reload, another upload of it) never
             * imports twice. */
            free(options);
            if (member_import_upload_link(r->db, upload_id, r->user->id, job.id) != R_OK)
                return R_INTERNAL;
            if (strcmp(job.status, "done") != 0)
                return job_redirect(r, job.id);
            json_object_set_new(r->data, "already_imported", json_integer(job.id));
            return R_OK;
        }
        res = member_import_job_create_from_upload(r->db, csv, len, options, t.rows, upload_id,
                                                   r->user->id, &job);
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

Result member_import_wizard_job_page(Request *r)
{
    int64_t id;
    ImportJob job;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK ||
        member_import_job_load(r->db, id, &job) != R_OK)
        return R_NOT_FOUND;
    char error[300] = "";
    const char *retry = param_filter(r, "retry", retry_codes);
    if (strcmp(job.status, "failed") == 0 && retry && job.has_content) {
        if (member_import_job_retry(r->db, id) != R_OK)
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
