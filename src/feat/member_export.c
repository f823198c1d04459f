/*
 * member_export.c: members out in bulk (see member_export.h): the rows of
 * an export, as CSV or as an XLSX workbook, `ratify export members`, and
 * the admin pages /admin/members/export. Every export is recorded in the
 * audit log as a read of every exported member before the file leaves,
 * and every exported cell is neutralised against formula injection.
 */
#include "feat/handlers.h"
#include "feat/member_export.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <xlsxwriter.h>

#include "svc/audit.h"

/* ---- exports ---- */

/* Calls cell for every cell of the export, header first (row 0). Returns
 * the number of data rows. */
static int64_t export_rows(Db *db, void (*put)(void *ctx, int64_t row, int col, const char *text),
                           void *ctx)
{
    for (int f = 0; f < MF_COUNT; f++)
        put(ctx, 0, f, member_io_fields[f]);
    Stmt *st = db_prepare(
        db, "SELECT p.name, p.email, m.iso3, m.kind, coalesce(o.name, ''), "
            "coalesce(o.org_type, ''), coalesce(o.website, ''), "
            "CASE WHEN o.id IS NULL THEN p.languages ELSE o.languages END, "
            "CASE WHEN o.id IS NULL THEN p.listing ELSE o.listing END, m.status, "
            "CASE WHEN m.consent_updates = 1 THEN 'yes' ELSE 'no' END, "
            "m.created_at FROM memberships m "
            "JOIN people p ON p.id = m.person_id LEFT JOIN organisations o ON o.id = m.org_id "
            "ORDER BY m.id");
    int64_t n = 0;
    while (db_row(st)) {
        n++;
        for (int f = 0; f < MF_COUNT - 1; f++)
            put(ctx, n, f, db_text(st, f));
        /* The day joined, formatted here: date functions differ between
         * the engines. */
        char day[16];
        format_utc(db_int(st, MF_COUNT - 1), "%Y-%m-%d", day, sizeof day);
        put(ctx, n, MF_COUNT - 1, day);
    }
    db_done(st);
    return n;
}

static void csv_cell(void *ctx, int64_t row, int col, const char *text)
{
    Buf *out = ctx;
    (void)row;
    if (col)
        buf_putc(out, ',');
    escape_csv(out, text, strlen(text));
    if (col == MF_COUNT - 1)
        buf_puts(out, "\r\n");
}

int64_t member_export_csv(Db *db, Buf *out)
{
    return export_rows(db, csv_cell, out);
}

typedef struct {
    lxw_worksheet *sheet;
    Buf scratch;
    lxw_error error;
} XlsxSink;

static void xlsx_cell(void *ctx, int64_t row, int col, const char *text)
{
    XlsxSink *x = ctx;
    if (!*text || x->error)
        return;
    /* Written as a string, so no spreadsheet runs it; the apostrophe also
     * protects it when the sheet is saved as CSV or read by other tools. */
    x->scratch.len = 0;
    if (strchr("=+-@\t\r", text[0]))
        buf_putc(&x->scratch, '\'');
    buf_puts(&x->scratch, text);
    x->error =
        worksheet_write_string(x->sheet, (lxw_row_t)row, (lxw_col_t)col, x->scratch.data, NULL);
}

int64_t member_export_xlsx(Db *db, const char *path)
{
    lxw_workbook *book = workbook_new(path);
    if (!book) {
        fprintf(stderr, "ratify: cannot create %s\n", path);
        return -1;
    }
    XlsxSink x = {workbook_add_worksheet(book, "Members"), {0}, LXW_NO_ERROR};
    int64_t n = x.sheet ? export_rows(db, xlsx_cell, &x) : -1;
    buf_free(&x.scratch);
    lxw_error closed = workbook_close(book);
    if (x.error || closed || n < 0) {
        fprintf(stderr, "ratify: cannot write %s: %s\n", path,
                lxw_strerror(x.error ? x.error : closed));
        return -1;
    }
    return n;
}

/* An export is a read of every member: one entry, and every exported
 * person and organisation as its subjects, so each member can see it on
 * their own page. Written before the file leaves (the web response, the
 * CLI's output); when it cannot be written, the export is not given. */
typedef struct {
    int64_t user_id;
    const char *detail; /* "N memberships as csv" */
} ExportRead;

static Result export_read_add_apply(Db *w, void *ctx)
{
    ExportRead *e = ctx;
    int64_t entry;
    if (audit_read_entry(w, e->user_id, 0, "members exported", "memberships", e->detail, &entry) !=
        R_OK)
        return R_INTERNAL;
    /* The subjects are exactly the rows export_rows read. */
    return audit_subjects_of_export(w, entry);
}

static Result audit_export(Db *db, int64_t user_id, int64_t rows, const char *format)
{
    char detail[64];
    snprintf(detail, sizeof detail, "%lld memberships as %s", (long long)rows, format);
    ExportRead e = {user_id, detail};
    if (db_write(db, export_read_add_apply, &e) != R_OK) {
        fprintf(stderr, "ratify: the export could not be recorded in the audit log; "
                        "nothing was exported\n");
        return R_INTERNAL;
    }
    return R_OK;
}

Result member_export_cmd(Db *db, int argc, char **argv)
{
    const char *format = "csv", *out = NULL;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--format") == 0 && i + 1 < argc)
            format = argv[++i];
        else if (strcmp(argv[i], "--out") == 0 && i + 1 < argc)
            out = argv[++i];
        else
            format = NULL;
    }
    if (!format || (strcmp(format, "csv") && strcmp(format, "xlsx")) ||
        (!out && strcmp(format, "xlsx") == 0)) {
        fprintf(stderr, "usage: ratify export members [--format csv|xlsx] [--out FILE]\n"
                        "(xlsx needs --out)\n");
        return R_BAD_REQUEST;
    }
    int64_t rows;
    if (strcmp(format, "xlsx") == 0) {
        /* Create it private first: the library opens it with fopen. */
        FILE *f = member_io_create_private(out);
        if (!f) {
            fprintf(stderr, "ratify: cannot create %s: %s\n", out, strerror(errno));
            return R_INTERNAL;
        }
        fclose(f);
        if ((rows = member_export_xlsx(db, out)) < 0)
            return R_INTERNAL;
        /* Recorded before the file is left in place: an unrecorded export
         * is removed. */
        if (audit_export(db, 0, rows, format) != R_OK) {
            unlink(out);
            return R_INTERNAL;
        }
    } else {
        Buf b = {0};
        rows = member_export_csv(db, &b);
        Result res = audit_export(db, 0, rows, format);
        if (res == R_OK && out)
            res = member_io_write_file(out, &b);
        else if (res == R_OK && b.len && fwrite(b.data, 1, b.len, stdout) != b.len)
            res = R_INTERNAL;
        buf_free(&b);
        if (res != R_OK)
            return res;
    }
    if (out)
        fprintf(stderr, "Exported %lld memberships to %s.\n", (long long)rows, out);
    return R_OK;
}

Result member_export_page(Request *r)
{
    Stmt *st = db_prepare(r->db, "SELECT count(*) FROM memberships");
    int64_t n = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    r->page = "admin_member_export";
    r->title = tr(r, "Export members");
    r->data = json_build("{s:I}", "memberships", (json_int_t)n);
    return R_OK;
}

Result member_export_csv_page(Request *r)
{
    int64_t rows = member_export_csv(r->db, &r->body_out);
    if (audit_export(r->db, r->user->id, rows, "csv") != R_OK)
        return R_INTERNAL;
    r->content_type = "text/csv; charset=utf-8";
    http_add_header(r, "Content-Disposition", "attachment; filename=\"ratify-members.csv\"");
    return R_OK;
}

Result member_export_xlsx_page(Request *r)
{
    /* The library writes to a file: a private temporary one, removed as
     * soon as it has been read back. */
    const char *dir = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char *path = arena_printf(r->arena, "%s/ratify-export-XXXXXX.xlsx", dir);
    int fd = mkstemps(path, 5);
    if (fd < 0) {
        log_info("%s export: cannot create a file in %s: %s", r->request_id, dir, strerror(errno));
        return R_INTERNAL;
    }
    close(fd);
    int64_t rows = member_export_xlsx(r->db, path);
    size_t len = 0;
    char *data = rows >= 0 ? member_io_read_file(path, &len) : NULL;
    unlink(path);
    if (!data)
        return R_INTERNAL;
    buf_append(&r->body_out, data, len);
    free(data);
    if (audit_export(r->db, r->user->id, rows, "xlsx") != R_OK)
        return R_INTERNAL;
    r->content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    http_add_header(r, "Content-Disposition", "attachment; filename=\"ratify-members.xlsx\"");
    return R_OK;
}
