/*
 * target.c: government targets, the people and offices a letter is
 * addressed to, per country (/countries/{ISO3}/targets): the list, adding
 * and deleting them (the country's coordinators), and corrections that
 * members propose and coordinators close. It is the lowest of the letter
 * files (target, model_letter, letter, response, assistance): the others
 * use its target list and its date check (target.h),
 * and it uses none of them.
 *
 * Invariants: targets are public facts about a government, shown to any
 * member; only the country's coordinators and the administrators change
 * them (auth_covers_country), each change with its audit line in the same
 * transaction.
 */
#include <stdio.h>
#include <string.h>

#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/http.h"
#include "feat/country_name.h"
#include "feat/notification.h"
#include "feat/target.h"

static const char *const target_kinds[] = {"ministry",       "official",         "committee",
                                           "mission_geneva", "mission_new_york", NULL};
static const char *const target_kind_labels[] = {N_("Ministry"),
                                                 N_("Official"),
                                                 N_("Parliamentary committee"),
                                                 N_("Permanent mission in Geneva"),
                                                 N_("Permanent mission in New York"),
                                                 NULL};

/* ---- targets ---- */

json_t *target_list_json(Request *r, const char *iso3)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT id, kind, name, title, ministry, address, email, language, source_url, "
               "last_verified FROM targets WHERE iso3 = :iso3 ORDER BY kind, name");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id",
                             (json_int_t)db_int(st, 0), "kind", db_text(st, 1), "kind_label",
                             tr(r, code_label(target_kinds, target_kind_labels, db_text(st, 1))),
                             "name", db_text(st, 2), "title", db_text(st, 3), "ministry",
                             db_text(st, 4), "address", db_text(st, 5), "email", db_text(st, 6),
                             "language", db_text(st, 7), "source_url", db_text(st, 8),
                             "last_verified", db_text(st, 9)));
    db_done(st);
    return list;
}

/* Open corrections members proposed, for the country's coordinators. */
static json_t *corrections_json(Request *r, const char *iso3)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT c.id, c.target_id, t.name, c.text FROM target_corrections c "
               "JOIN targets t ON t.id = c.target_id WHERE t.iso3 = :iso3 AND c.status = 'open' "
               "ORDER BY c.id");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st))
        json_array_append_new(list,
                              json_build("{s:I, s:I, s:s, s:s}", "id", (json_int_t)db_int(st, 0),
                                         "target_id", (json_int_t)db_int(st, 1), "target",
                                         db_text(st, 2), "text", db_text(st, 3)));
    db_done(st);
    return list;
}

static Result country_param(Request *r, const char **iso3)
{
    if (param_iso3(r, "iso3", iso3) != R_OK || !country_name_of(r, *iso3))
        return R_NOT_FOUND;
    return R_OK;
}

Result target_list_page(Request *r)
{
    const char *iso3;
    if (country_param(r, &iso3) != R_OK)
        return R_NOT_FOUND;
    int can_edit = auth_covers_country(r->user, iso3);
    json_decref(r->data);
    r->data =
        json_build("{s:s, s:s, s:o, s:b, s:o}", "iso3", iso3, "country", country_name_of(r, iso3),
                   "targets", target_list_json(r, iso3), "can_edit", can_edit, "kinds",
                   form_options(r, target_kinds, target_kind_labels, NULL));
    if (can_edit)
        json_object_set_new(r->data, "corrections", corrections_json(r, iso3));
    r->page = "targets";
    r->title = tr(r, "Who to write to");
    return R_OK;
}

/* What target_add_post writes: one target and its audit line. */
typedef struct {
    Request *r;
    const char *iso3, *kind, *name, *title, *ministry, *address, *email, *language, *source,
        *verified;
} TargetAdd;

static Result target_add_apply(Db *w, void *ctx)
{
    TargetAdd *t = ctx;
    Stmt *st = db_prepare(
        w, "INSERT INTO targets (iso3, kind, name, title, ministry, address, email, language, "
           "source_url, last_verified, updated_by, updated_at) VALUES (:iso3, :kind, :name, "
           ":title, :ministry, :address, :email, :language, :source, :verified, :user, :now)");
    db_bind_text(st, ":iso3", t->iso3);
    db_bind_text(st, ":kind", t->kind);
    db_bind_text(st, ":name", t->name);
    db_bind_text(st, ":title", t->title ? t->title : "");
    db_bind_text(st, ":ministry", t->ministry ? t->ministry : "");
    db_bind_text(st, ":address", t->address ? t->address : "");
    db_bind_text(st, ":email", t->email ? t->email : "");
    db_bind_text(st, ":language", t->language ? t->language : "");
    db_bind_text(st, ":source", t->source ? t->source : "");
    db_bind_text(st, ":verified", t->verified ? t->verified : "");
    db_bind_int(st, ":user", t->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, t->r->user->id, "target added",
                     arena_printf(t->r->arena, "country %s", t->iso3), t->kind);
}

/* A contact met in a meeting who was not on the list yet (see target.h). */
Result target_insert_met(Db *w, Request *r, const char *iso3, const char *name, const char *title,
                         const char *ministry, int64_t *id)
{
    Stmt *st = db_prepare(
        w, "INSERT INTO targets (iso3, kind, name, title, ministry, updated_by, updated_at) "
           "VALUES (:iso3, :kind, :name, :title, :ministry, :user, :now) RETURNING id");
    db_bind_text(st, ":iso3", iso3);
    /* An office when no person's title is given ("Ministry of Foreign
     * Affairs"), else the official who holds it. */
    db_bind_text(st, ":kind", title && *title ? "official" : "ministry");
    db_bind_text(st, ":name", name);
    db_bind_text(st, ":title", title ? title : "");
    db_bind_text(st, ":ministry", ministry ? ministry : "");
    db_bind_int(st, ":user", r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, id) != R_OK)
        return R_INTERNAL;
    return audit_log(w, r->user->id, "target added", arena_printf(r->arena, "country %s", iso3),
                     "meeting");
}

Result target_add_post(Request *r)
{
    const char *iso3;
    if (country_param(r, &iso3) != R_OK)
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, iso3)) {
        r->message = tr(r, "Only the coordinators of this country and the administrators can "
                           "change its record.");
        return R_FORBIDDEN;
    }
    int kind = 0;
    const char *name, *title, *ministry, *address, *email, *language, *source, *verified;
    int bad = param_enum(r, "kind", target_kinds, &kind) != R_OK;
    bad |= param_text(r, "name", 2, 200, 0, &name) != R_OK;
    bad |= param_optional_text(r, "title", 200, 0, &title) != R_OK;
    bad |= param_optional_text(r, "ministry", 200, 0, &ministry) != R_OK;
    bad |= param_optional_text(r, "address", 1000, 1, &address) != R_OK;
    bad |= param_optional_text(r, "email", 254, 0, &email) != R_OK;
    if (email && *email && !valid_email(email))
        bad |= param_error(r, "email", N_("Please enter a valid email address.")) != R_OK;
    bad |= param_optional_text(r, "language", 8, 0, &language) != R_OK;
    bad |= param_link(r, "source_url", &source) != R_OK;
    bad |= param_optional_date(r, "last_verified", &verified) != R_OK;
    if (bad) {
        target_list_page(r);
        return R_BAD_REQUEST;
    }
    TargetAdd t = {.r = r,
                   .iso3 = iso3,
                   .kind = target_kinds[kind],
                   .name = name,
                   .title = title,
                   .ministry = ministry,
                   .address = address,
                   .email = email,
                   .language = language,
                   .source = source,
                   .verified = verified};
    if (db_write(r->db, target_add_apply, &t) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/targets", iso3));
}

/* What target_correction_post writes: a correction proposed for a target
 * of this country (R_NOT_FOUND when there is no such target), and its audit
 * line, and the country's staff told (notification.c). */
typedef struct {
    Request *r;
    const char *iso3, *text;
    int64_t target;
} TargetCorrectionAdd;

static Result target_correction_add_apply(Db *w, void *ctx)
{
    TargetCorrectionAdd *c = ctx;
    Stmt *st =
        db_prepare(w, "INSERT INTO target_corrections (target_id, proposed_by, text, created_at) "
                      "SELECT id, :user, :text, :now FROM targets WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":user", c->r->user->id);
    db_bind_text(st, ":text", c->text);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", c->target);
    db_bind_text(st, ":iso3", c->iso3);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    /* The coordinators hear of it in the same transaction: told of a
     * correction that exists, and never not told of one. */
    if (notification_correction_proposed(w, c->iso3, c->r->user->id, c->r->base_url) != R_OK)
        return R_INTERNAL;
    return audit_log(w, c->r->user->id, "target correction proposed",
                     arena_printf(c->r->arena, "target %lld", (long long)c->target), "");
}

Result target_correction_post(Request *r)
{
    const char *iso3;
    int64_t id;
    if (country_param(r, &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    const char *text;
    if (param_text(r, "correction", 5, 2000, 1, &text) != R_OK) {
        target_list_page(r);
        return R_BAD_REQUEST;
    }
    TargetCorrectionAdd c = {.r = r, .iso3 = iso3, .text = text, .target = id};
    Result res = db_write(r->db, target_correction_add_apply, &c);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/targets", iso3));
}

/* What target_correction_close_post writes: the outcome of an open
 * correction to a target of this country (R_NOT_FOUND if there is none),
 * and the audit line. */
typedef struct {
    Request *r;
    const char *iso3, *outcome;
    int64_t id;
} TargetCorrectionClose;

static Result target_correction_close_apply(Db *w, void *ctx)
{
    TargetCorrectionClose *c = ctx;
    Stmt *st = db_prepare(
        w, "UPDATE target_corrections SET status = :status WHERE id = :id AND status = 'open' "
           "AND target_id IN (SELECT id FROM targets WHERE iso3 = :iso3)");
    db_bind_text(st, ":status", c->outcome);
    db_bind_int(st, ":id", c->id);
    db_bind_text(st, ":iso3", c->iso3);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, c->r->user->id, "target correction closed",
                     arena_printf(c->r->arena, "correction %lld", (long long)c->id), c->outcome);
}

/* Closes a proposed correction (applied or rejected); the coordinator
 * changes the target itself through the target form. */
Result target_correction_close_post(Request *r)
{
    const char *iso3;
    int64_t id;
    if (country_param(r, &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, iso3))
        return R_FORBIDDEN;
    static const char *const outcomes[] = {"applied", "rejected", NULL};
    int outcome = 0;
    if (param_enum(r, "status", outcomes, &outcome) != R_OK)
        return R_BAD_REQUEST;
    TargetCorrectionClose c = {.r = r, .iso3 = iso3, .outcome = outcomes[outcome], .id = id};
    Result res = db_write(r->db, target_correction_close_apply, &c);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/targets", iso3));
}

/* What target_delete_post writes: a target of this country gone
 * (R_NOT_FOUND if there is none), and the audit line. */
typedef struct {
    Request *r;
    const char *iso3;
    int64_t id;
} TargetDelete;

static Result target_delete_apply(Db *w, void *ctx)
{
    TargetDelete *d = ctx;
    Stmt *st = db_prepare(w, "DELETE FROM targets WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", d->id);
    db_bind_text(st, ":iso3", d->iso3);
    if (db_run(st) != R_OK || db_changes(w) != 1)
        return R_NOT_FOUND;
    return audit_log(w, d->r->user->id, "target deleted",
                     arena_printf(d->r->arena, "target %lld", (long long)d->id), d->iso3);
}

Result target_delete_post(Request *r)
{
    const char *iso3;
    int64_t id;
    if (country_param(r, &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, iso3))
        return R_FORBIDDEN;
    TargetDelete d = {.r = r, .iso3 = iso3, .id = id};
    Result res = db_write(r->db, target_delete_apply, &d);
    if (res != R_OK)
        return res == R_NOT_FOUND ? R_NOT_FOUND : R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/targets?done=deleted", iso3));
}

/* GET /countries/{iso3}/targets/{id}/delete: the same checks as the POST,
 * then which contact would go, and a Delete button. */
Result target_delete_page(Request *r)
{
    const char *iso3;
    int64_t id;
    if (country_param(r, &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    if (!auth_covers_country(r->user, iso3))
        return R_FORBIDDEN;
    Stmt *st = db_prepare(r->db, "SELECT kind, name, title, ministry, email FROM targets "
                                 "WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", id);
    db_bind_text(st, ":iso3", iso3);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    json_t *what = json_array();
    const char *country = country_name_of(r, iso3);
    confirm_line(r, what, N_("Country"), country ? country : iso3);
    confirm_line(r, what, N_("Name"), db_text(st, 1));
    confirm_line(r, what, N_("Kind"),
                 tr(r, code_label(target_kinds, target_kind_labels, db_text(st, 0))));
    confirm_line(r, what, N_("Title"), db_text(st, 2));
    confirm_line(r, what, N_("Ministry"), db_text(st, 3));
    confirm_line(r, what, N_("Email"), db_text(st, 4));
    db_done(st);
    ConfirmPage c = {
        .heading = tr(r, "Delete this government contact?"),
        .consequence = tr(r, "Members will no longer be offered it when they write. "
                             "Letters already written keep their copy. The deletion is "
                             "recorded in the audit log."),
        .action = arena_printf(r->arena, "/countries/%s/targets/%lld/delete", iso3, (long long)id),
        .button = tr(r, "Delete"),
        .cancel = arena_printf(r->arena, "/countries/%s/targets", iso3),
        .what = what};
    return http_confirm(r, &c);
}

int target_in_country(Db *db, int64_t id, const char *iso3)
{
    Stmt *st = db_prepare(db, "SELECT 1 FROM targets WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", id);
    db_bind_text(st, ":iso3", iso3);
    int found = db_row(st);
    db_done(st);
    return found;
}
