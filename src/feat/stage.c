/*
 * stage.c: domestic stages: the steps a country takes at home towards
 * ratification (ministry review, cabinet approval, a bill in parliament
 * ...), recorded and deleted by its coordinators from the country page,
 * each with the audience its author chose. The country page lists them
 * (country.c); this file changes them.
 *
 * Invariants: a stage is seen (visibility_can_see) before it may be deleted, so
 * one this user may not see is a 404 whoever they are; every change checks
 * that the user covers the country and is logged in the audit log in the
 * same transaction.
 */
#include "feat/country.h"
#include "feat/handlers.h"
#include "feat/country_name.h"

#include <string.h>

#include "svc/audit.h"
#include "svc/visibility.h"

typedef struct {
    Request *r;
    const char *iso3, *stage, *date, *evidence, *source, *visibility;
    int64_t instrument;
} StageRecord;

static Result stage_record_apply(Db *w, void *ctx);

Result stage_post(Request *r)
{
    const char *iso3;
    Result res = country_editable(r, &iso3);
    if (res != R_OK)
        return res;
    int stage = 0, visibility = 0;
    const char *date = NULL, *evidence = NULL, *source = NULL;
    int64_t instrument = country_instrument_param(r);
    int bad = !instrument;
    if (bad) {
        param_error(r, "instrument", N_("Please choose one of the options."));
    }
    bad |= param_enum(r, "stage", country_stage_codes, &stage) != R_OK;
    bad |= param_date(r, "date", &date) != R_OK;
    bad |= param_optional_text(r, "evidence", 5000, 1, &evidence) != R_OK;
    bad |= param_link(r, "source_url", &source) != R_OK;
    bad |= param_enum(r, "visibility", country_visibility_codes, &visibility) != R_OK;
    if (bad)
        return country_form_failed(r, iso3, "stage_form");
    StageRecord sr = {.r = r,
                      .iso3 = iso3,
                      .instrument = instrument,
                      .stage = country_stage_codes[stage],
                      .date = date,
                      .evidence = evidence ? evidence : "",
                      .source = source ? source : "",
                      .visibility = country_visibility_codes[visibility]};
    if (db_write(r->db, stage_record_apply, &sr) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s#stages", iso3));
}

static Result stage_record_apply(Db *w, void *ctx)
{
    StageRecord *sr = ctx;
    Request *r = sr->r;
    Stmt *st = db_prepare(
        w, "INSERT INTO domestic_stages (instrument_id, iso3, stage, stage_date, evidence, "
           "source_url, visibility, recorded_by, recorded_at) VALUES (:instrument, :iso3, "
           ":stage, :date, :evidence, :source, :visibility, :user, :now)");
    db_bind_int(st, ":instrument", sr->instrument);
    db_bind_text(st, ":iso3", sr->iso3);
    db_bind_text(st, ":stage", sr->stage);
    db_bind_text(st, ":date", sr->date);
    db_bind_text(st, ":evidence", sr->evidence);
    db_bind_text(st, ":source", sr->source);
    db_bind_text(st, ":visibility", sr->visibility);
    db_bind_int(st, ":user", r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, r->user->id, "domestic stage recorded",
                     arena_printf(r->arena, "country %s", sr->iso3),
                     arena_printf(r->arena, "%s %s %s", sr->stage, sr->date, sr->visibility));
}

/* A domestic stage to delete, in the path's country. */
typedef struct {
    Request *r;
    const char *iso3;
    int64_t id;
} StageDelete;

static Result stage_delete_apply(Db *w, void *ctx)
{
    StageDelete *d = ctx;
    Stmt *st = db_prepare(w, "DELETE FROM domestic_stages WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", d->id);
    db_bind_text(st, ":iso3", d->iso3);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_NOT_FOUND;
    return audit_log(w, d->r->user->id, "domestic stage deleted",
                     arena_printf(d->r->arena, "country %s", d->iso3),
                     arena_printf(d->r->arena, "id %lld", (long long)d->id));
}

/* Deletes the stage of the path's {id} and goes back to the page's list. */
static Result stage_delete(Request *r, const char *iso3)
{
    StageDelete d = {.r = r, .iso3 = iso3};
    if (param_int(r, "id", 1, INT64_MAX, &d.id) != R_OK)
        return R_NOT_FOUND;
    Result res = db_write(r->db, stage_delete_apply, &d);
    if (res != R_OK)
        return res;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s?done=deleted#stages", iso3));
}

/* A stage is seen (visibility_can_see) before it may be deleted: one this user
 * may not see is a 404, whoever they are. */
static Result visible_stage(Request *r)
{
    const char *iso3;
    int64_t id;
    if (param_iso3(r, "iso3", &iso3) != R_OK || param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT visibility, coalesce(recorded_by, 0) "
                                 "FROM domestic_stages WHERE id = :id AND iso3 = :iso3");
    db_bind_int(st, ":id", id);
    db_bind_text(st, ":iso3", iso3);
    int seen = db_row(st) && visibility_can_see(r->user, db_text(st, 0), iso3, db_int(st, 1));
    db_done(st);
    return seen ? R_OK : R_NOT_FOUND;
}

Result stage_delete_post(Request *r)
{
    const char *iso3;
    Result res = visible_stage(r);
    if (res == R_OK)
        res = country_editable(r, &iso3);
    if (res != R_OK)
        return res;
    return stage_delete(r, iso3);
}

/* GET /countries/{iso3}/stages/{id}/delete: the same checks as the POST,
 * then which step would go, and a Delete button. */
Result stage_delete_page(Request *r)
{
    const char *iso3;
    int64_t id;
    Result res = visible_stage(r);
    if (res == R_OK)
        res = country_editable(r, &iso3);
    if (res != R_OK)
        return res;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT s.stage, s.stage_date, i.short_name, s.evidence "
                                 "FROM domestic_stages s JOIN instruments i ON i.id = "
                                 "s.instrument_id WHERE s.id = :id AND s.iso3 = :iso3");
    db_bind_int(st, ":id", id);
    db_bind_text(st, ":iso3", iso3);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    json_t *what = json_array();
    const char *name = country_name_of(r, iso3);
    confirm_line(r, what, N_("Country"), name ? name : iso3);
    confirm_line(r, what, N_("Step"), country_stage_label(r, db_text(st, 0)));
    confirm_line(r, what, N_("Date"), db_text(st, 1));
    confirm_line(r, what, N_("Treaty"), db_text(st, 2));
    confirm_line(r, what, N_("Evidence"), db_text(st, 3));
    db_done(st);
    ConfirmPage c = {
        .heading = tr(r, "Delete this domestic step?"),
        .consequence = tr(r, "It will be gone from the country's timeline. The deletion "
                             "is recorded in the audit log."),
        .action = arena_printf(r->arena, "/countries/%s/stages/%lld/delete", iso3, (long long)id),
        .button = tr(r, "Delete"),
        .cancel = arena_printf(r->arena, "/countries/%s#stages", iso3),
        .what = what};
    return http_confirm(r, &c);
}
