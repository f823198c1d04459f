/*
 * audit_log.c: the pages that show the audit log: the administrators'
 * /admin/audit (filtered by who, action, kind of record, dates and person,
 * paged), and each member's /profile/views (who has seen their details).
 * Writing the log, its words and the query of who read a person are
 * svc/audit.c's, since every feature writes to it.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "feat/handlers.h"
#include "svc/audit.h"

enum { VIEWS_PER_PAGE = 50, AUDIT_PER_PAGE = 50 };

Result audit_log_views_page(Request *r)
{
    int64_t person = (r->user ? r->user->person_id : 0);
    if (!person) {
        r->message = tr(r, "Your account has no member profile. Profiles belong to members "
                           "who joined through the membership form.");
        return R_NOT_FOUND;
    }
    int64_t page = 1;
    if (param_optional_int(r, "page", 1, 100000, 1, &page) != R_OK)
        return R_BAD_REQUEST;
    int more;
    json_t *views = audit_views_of(r, person, VIEWS_PER_PAGE, (page - 1) * VIEWS_PER_PAGE, &more);
    r->page = "profile_views";
    r->title = tr(r, "Who has seen your details");
    r->data = json_build("{s:o, s:i, s:I, s:I, s:b, s:b}", "views", views, "days",
                         (int)AUDIT_READ_DAYS, "next", (json_int_t)page + 1, "prev",
                         (json_int_t)page - 1, "has_next", more, "has_prev", page > 1);
    return R_OK;
}

/* ---- /admin/audit ---- */

/* A date param_date accepted, as the Unix time of that day's start (UTC);
 * -1 (no bound) when absent. */
static int64_t day_start(const char *date)
{
    int y, m, d;
    if (!date || sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
    return (int64_t)timegm(&tm);
}

typedef struct {
    const char *who, *who_like, *action, *type, *kind, *from_text, *to_text;
    int64_t from, to, person, page;
} AuditFilter;

/* Reads the filters; every bad one is named in r->errors. */
static Result read_filter(Request *r, AuditFilter *f)
{
    static const char *const kinds[] = {"change", "read", NULL};
    memset(f, 0, sizeof *f);
    f->page = 1;
    f->from = f->to = -1;
    Result res = R_OK;
    if (param_optional_text(r, "who", 200, 0, &f->who) != R_OK)
        res = R_BAD_REQUEST;
    if (f->who && *f->who) {
        Buf b = {0};
        buf_putc(&b, '%');
        for (const char *p = f->who; *p; p++) {
            if (*p == '%' || *p == '_' || *p == '\\')
                buf_putc(&b, '\\');
            buf_putc(&b, *p);
        }
        buf_putc(&b, '%');
        f->who_like = arena_strdup(r->arena, b.data);
        buf_free(&b);
    } else {
        f->who = NULL;
    }
    int action = -1, type = -1, kind = -1;
    if (param_optional_enum(r, "action", audit_action_codes, -1, &action) != R_OK)
        res = R_BAD_REQUEST;
    f->action = action >= 0 ? audit_action_codes[action] : NULL;
    if (param_optional_enum(r, "type", audit_type_codes, -1, &type) != R_OK)
        res = R_BAD_REQUEST;
    f->type = type >= 0 ? audit_type_codes[type] : NULL;
    if (param_optional_enum(r, "kind", kinds, -1, &kind) != R_OK)
        res = R_BAD_REQUEST;
    f->kind = kind >= 0 ? kinds[kind] : NULL;
    if (param_optional_date(r, "from", &f->from_text) != R_OK)
        res = R_BAD_REQUEST;
    f->from = day_start(f->from_text);
    if (param_optional_date(r, "to", &f->to_text) != R_OK)
        res = R_BAD_REQUEST;
    f->to = day_start(f->to_text);
    if (f->to >= 0)
        f->to += 86400; /* the whole last day */
    if (param_optional_int(r, "person", 1, INT64_MAX, 0, &f->person) != R_OK)
        res = R_BAD_REQUEST;
    if (param_optional_int(r, "page", 1, 100000, 1, &f->page) != R_OK)
        res = R_BAD_REQUEST;
    return res;
}

static void bind_opt_int(Stmt *st, const char *name, int64_t v, int64_t none)
{
    if (v == none)
        db_bind_null(st, name);
    else
        db_bind_int(st, name, v);
}

static json_t *audit_entries(Request *r, const AuditFilter *f, int *more)
{
    Stmt *st = db_prepare(
        r->db,
        "SELECT a.at, a.action, a.object, a.detail, a.kind, a.actor_role, coalesce(u.email, ''), "
        "coalesce(u.display_name, ''), coalesce(u.role, ''), a.user_id IS NOT NULL, "
        "coalesce(t.name, ''), a.api_token_id IS NOT NULL, "
        "(SELECT count(*) FROM audit_subjects s WHERE s.entry_id = a.id) FROM audit_log a "
        "LEFT JOIN users u ON u.id = a.user_id LEFT JOIN api_tokens t ON t.id = a.api_token_id "
        "WHERE (:who IS NULL OR lower(u.email) LIKE lower(:who) ESCAPE '\\' "
        "       OR lower(u.display_name) LIKE lower(:who) ESCAPE '\\') "
        "AND (:action IS NULL OR a.action = :action) "
        "AND (:type IS NULL OR a.object = :type "
        "     OR substr(a.object, 1, length(:type) + 1) = :type || ' ') "
        "AND (:kind IS NULL OR a.kind = :kind) "
        "AND (CAST(:from AS BIGINT) IS NULL OR a.at >= CAST(:from AS BIGINT)) "
        "AND (CAST(:to AS BIGINT) IS NULL OR a.at < CAST(:to AS BIGINT)) "
        "AND (CAST(:person AS BIGINT) IS NULL "
        "     OR a.object = 'person ' || CAST(:person AS BIGINT) OR a.id IN "
        "     (SELECT entry_id FROM audit_subjects WHERE subject_type = 'person' "
        "      AND subject_id = CAST(:person AS BIGINT))) "
        "ORDER BY a.at DESC, a.id DESC LIMIT :limit OFFSET :offset");
    db_bind_text(st, ":who", f->who_like);
    db_bind_text(st, ":action", f->action);
    db_bind_text(st, ":type", f->type);
    db_bind_text(st, ":kind", f->kind);
    bind_opt_int(st, ":from", f->from, -1);
    bind_opt_int(st, ":to", f->to, -1);
    bind_opt_int(st, ":person", f->person, 0);
    db_bind_int(st, ":limit", AUDIT_PER_PAGE + 1);
    db_bind_int(st, ":offset", (f->page - 1) * AUDIT_PER_PAGE);
    json_t *list = json_array();
    int n = 0;
    *more = 0;
    while (db_row(st)) {
        if (++n > AUDIT_PER_PAGE) {
            *more = 1;
            break;
        }
        /* The role recorded with a read, else the account's role now. */
        const char *role = *db_text(st, 5) ? db_text(st, 5) : db_text(st, 8);
        const char *who;
        if (db_int(st, 11))
            who = db_text(st, 10);
        else if (db_int(st, 9))
            who = *db_text(st, 7) ? db_text(st, 7) : db_text(st, 6);
        else if (!strcmp(role, "cli") || !*role)
            who = "";
        else
            who = tr(r, "a closed account");
        if (!*role && !db_int(st, 9) && !db_int(st, 11))
            role = "cli";
        json_array_append_new(
            list, json_build("{s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:s}", "at",
                             audit_when(r, db_int(st, 0)), "action",
                             audit_action_words(r, db_text(st, 1)), "object",
                             audit_object_words(r, db_text(st, 2)), "detail", db_text(st, 3), "who",
                             who, "is_read", strcmp(db_text(st, 4), "read") == 0, "subjects",
                             (json_int_t)db_int(st, 12), "role", audit_role_words(r, role)));
    }
    db_done(st);
    return list;
}

/* The query string of the filters, for the pager's links. */
static const char *filter_query(Request *r, const AuditFilter *f, int64_t page)
{
    Buf b = {0};
    const char *names[] = {"who", "action", "type", "kind", "from", "to"};
    const char *values[] = {f->who, f->action, f->type, f->kind, f->from_text, f->to_text};
    for (int i = 0; i < 6; i++) {
        if (!values[i] || !*values[i])
            continue;
        buf_printf(&b, "%s=", names[i]);
        escape_url_component(&b, values[i], strlen(values[i]));
        buf_putc(&b, '&');
    }
    if (f->person)
        buf_printf(&b, "person=%lld&", (long long)f->person);
    buf_printf(&b, "page=%lld", (long long)page);
    const char *q = arena_strdup(r->arena, b.data);
    buf_free(&b);
    return q;
}

Result audit_log_page(Request *r)
{
    AuditFilter f;
    Result res = read_filter(r, &f);
    int more = 0;
    json_t *entries = res == R_OK ? audit_entries(r, &f, &more) : json_array();
    json_t *typed = json_build("{s:s, s:s, s:s}", "who", f.who ? f.who : "", "from",
                               f.from_text && res == R_OK ? f.from_text : "", "to",
                               f.to_text && res == R_OK ? f.to_text : "");
    if (res != R_OK) {
        /* raw: shown again as typed, when it is text */
        const char *from = param_raw(r, "from"), *to = param_raw(r, "to");
        if (from && utf8_valid_text(from, strlen(from)))
            json_object_set_new(typed, "from", json_string(from));
        if (to && utf8_valid_text(to, strlen(to)))
            json_object_set_new(typed, "to", json_string(to));
    }
    r->page = "admin_audit";
    r->title = tr(r, "Audit log");
    r->data = json_build(
        "{s:o, s:o, s:o, s:o, s:o, s:I, s:b, s:b, s:s, s:s, s:i}", "entries", entries, "form",
        typed, "actions", form_options(r, audit_action_codes, audit_action_labels, f.action),
        "types", form_options(r, audit_type_codes, audit_type_labels, f.type), "kinds",
        form_options(r, (const char *const[]){"change", "read", NULL},
                     (const char *const[]){N_("Changes"), N_("Reads of personal data"), NULL},
                     f.kind),
        "person", (json_int_t)f.person, "has_next", more, "has_prev", f.page > 1, "next",
        filter_query(r, &f, f.page + 1), "prev", filter_query(r, &f, f.page > 1 ? f.page - 1 : 1),
        "days", (int)AUDIT_READ_DAYS);
    return res;
}
