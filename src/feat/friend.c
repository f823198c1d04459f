/*
 * friend.c: "Friends of the Protocol", the states that bring others to
 * it: the actions the campaign page asks of them (announce their
 * ratification, propose language in declarations, recommend ratification
 * in the UPR, raise it in inter-State dialogues, offer technical
 * assistance), recorded by the secretariat and by the acting state's
 * coordinators, and counted with the UPR recommendations on the Protocol
 * each state made (upr.c's table, read here, never written). /friends
 * lists them and the parties that have done nothing for others yet; the
 * country page shows one state's; /api/v1/state-actions serves them.
 *
 * Invariants: these are public facts about states (never about people),
 * so every page and the API show them to everyone; only an administrator
 * or a coordinator of the acting state records or deletes one, and every
 * change is audited. Owns state_actions (schema/020_state_actions.sql).
 */
#include "feat/friend.h"

#include <stdlib.h>
#include <string.h>

#include "feat/country_name.h"
#include "feat/handlers.h"
#include "feat/treaty.h"
#include "feat/upr.h"
#include "svc/audit.h"
#include "svc/auth.h"

static const char *const kind_codes[] = {"announce",
                                         "propose_language",
                                         "upr_recommendation",
                                         "inter_state_dialogue",
                                         "technical_assistance",
                                         NULL};
static const char *const kind_labels[] = {
    N_("Made its ratification known"),
    N_("Proposed language in a declaration"),
    N_("Recommended ratification in the UPR"),
    N_("Raised it in an inter-State dialogue"),
    N_("Offered technical assistance or shared its experience"),
    NULL};

/* Every action, the recorded ones and the UPR recommendations on the
 * Protocol (dated by their session's first day), newest first; of one
 * state when iso3 is not NULL. */
static json_t *actions_json(Request *r, const char *iso3, int can_delete_all)
{
    Stmt *st = db_prepare(
        r->db, "SELECT id, iso3, kind, acted_on, forum, coalesce(target_iso3, ''), summary, "
               "source_url FROM (SELECT a.id, a.iso3, a.kind, a.acted_on, a.forum, "
               "a.target_iso3, a.summary, a.source_url FROM state_actions a "
               "UNION ALL SELECT 0, u.from_iso3, 'upr_recommendation', "
               "coalesce(s.starts_on, ''), 'UPR ' || u.session, u.to_iso3, u.text, '' "
               "FROM upr_recommendations u LEFT JOIN upr_sessions s ON s.number = u.session "
               "WHERE u.class = 'protocol' AND u.asks_to_join = 1 AND :upr = 1) x "
               "WHERE :iso3 = '' OR iso3 = :iso3 ORDER BY acted_on DESC, id DESC");
    db_bind_text(st, ":iso3", iso3 ? iso3 : "");
    /* UPR recommendations count only where the campaign is the one their
     * classification knows. */
    Campaign campaign = treaty_campaign(r->db);
    db_bind_int(st, ":upr", strcmp(campaign.slug, UPR_INSTRUMENT) == 0);
    json_t *list = json_array();
    while (db_row(st)) {
        const char *state = country_name_of(r, db_text(st, 1));
        const char *target = db_text(st, 5)[0] ? country_name_of(r, db_text(st, 5)) : NULL;
        int64_t id = db_int(st, 0);
        json_t *a = json_build("{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b}", "id",
                               (json_int_t)id, "iso3", db_text(st, 1), "state",
                               state ? state : db_text(st, 1), "kind", db_text(st, 2), "kind_label",
                               tr(r, code_label(kind_codes, kind_labels, db_text(st, 2))), "date",
                               db_text(st, 3), "forum", db_text(st, 4), "summary", db_text(st, 6),
                               "source_url", db_text(st, 7), "from_upr", id == 0);
        if (target)
            json_object_set_new(a, "target",
                                json_build("{s:s, s:s}", "iso3", db_text(st, 5), "name", target));
        if (id && !r->is_api && (can_delete_all || auth_covers_country(r->user, db_text(st, 1))))
            json_object_set_new(a, "can_delete", json_true());
        json_array_append_new(list, a);
    }
    db_done(st);
    return list;
}

/* The states that acted, most actions first, each with its status. */
static json_t *friends_json(Request *r, const json_t *actions, CountryRow *rows, size_t n)
{
    json_t *by_state = json_object(), *order = json_array();
    size_t i;
    json_t *a;
    json_array_foreach(actions, i, a)
    {
        const char *iso3 = json_string_value(json_object_get(a, "iso3"));
        json_t *f = json_object_get(by_state, iso3);
        if (!f) {
            const CountryRow *row = bsearch(iso3, rows, n, sizeof *rows, treaty_row_cmp);
            TreatyStatus s = row ? row->protocol.status : STATUS_NONE;
            f = json_build("{s:s, s:O, s:s, s:s, s:i, s:[]}", "iso3", iso3, "state",
                           json_object_get(a, "state"), "status", treaty_status_code(s),
                           "status_label", tr(r, treaty_status_label(s)), "count", 0, "actions");
            json_object_set_new(by_state, iso3, f);
            json_array_append(order, f);
        }
        json_object_set_new(f, "count",
                            json_integer(json_integer_value(json_object_get(f, "count")) + 1));
        json_array_append(json_object_get(f, "actions"), a);
    }
    json_decref(by_state);
    return order;
}

static int by_count(const void *a, const void *b)
{
    json_int_t x = json_integer_value(json_object_get(*(json_t *const *)a, "count"));
    json_int_t y = json_integer_value(json_object_get(*(json_t *const *)b, "count"));
    return (y > x) - (y < x);
}

/* The parties with no action for others yet: whom the coalition asks. */
static json_t *idle_parties_json(const json_t *friends, const CountryRow *rows, size_t n)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++) {
        if (rows[i].protocol.status != STATUS_PARTY)
            continue;
        int acted = 0;
        size_t j;
        json_t *f;
        json_array_foreach(friends, j, f) acted |=
            strcmp(json_string_value(json_object_get(f, "iso3")), rows[i].iso3) == 0;
        if (!acted)
            json_array_append_new(
                list, json_build("{s:s, s:s}", "iso3", rows[i].iso3, "state", rows[i].name));
    }
    return list;
}

/* The states a user may record actions for (every state for an
 * administrator, a coordinator's own), or with all every state, as
 * pressed states are. */
static json_t *state_options(Request *r, const CountryRow *rows, size_t n, const char *selected,
                             int all)
{
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        if (all || auth_covers_country(r->user, rows[i].iso3))
            json_array_append_new(list, json_build("{s:s, s:s, s:b}", "code", rows[i].iso3, "label",
                                                   rows[i].name, "selected",
                                                   selected && !strcmp(selected, rows[i].iso3)));
    return list;
}

static Result friends_data(Request *r)
{
    size_t n;
    Campaign campaign = treaty_campaign(r->db);
    CountryRow *rows = treaty_countries(r, &campaign, 0, &n);
    int admin = r->user && r->user->role == ROLE_ADMIN;
    json_t *actions = actions_json(r, NULL, admin);
    json_t *friends = friends_json(r, actions, rows, n);
    /* Stable order for equal counts: the newest action first, as read. */
    size_t count = json_array_size(friends);
    json_t **sorted = arena_alloc(r->arena, (count + 1) * sizeof *sorted);
    for (size_t i = 0; i < count; i++)
        sorted[i] = json_array_get(friends, i);
    qsort(sorted, count, sizeof *sorted, by_count);
    json_t *ordered = json_array();
    for (size_t i = 0; i < count; i++)
        json_array_append(ordered, sorted[i]);
    json_t *idle = idle_parties_json(friends, rows, n);
    json_decref(friends);
    json_decref(actions);
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, "friends", ordered);
    json_object_set_new(r->data, "idle_parties", idle);
    json_object_set_new(r->data, "idle_count", json_integer((json_int_t)json_array_size(idle)));
    if (r->user && (admin || r->user->role == ROLE_COORDINATOR) && !r->is_api) {
        const char *typed = json_string_value(json_object_get(r->data, "typed_iso3"));
        json_object_set_new(r->data, "can_record", json_true());
        json_object_set_new(r->data, "state_options", state_options(r, rows, n, typed, 0));
        json_object_set_new(
            r->data, "target_options",
            state_options(r, rows, n, json_string_value(json_object_get(r->data, "typed_target")),
                          1));
        json_object_set_new(
            r->data, "kind_options",
            form_options(r, kind_codes, kind_labels,
                         json_string_value(json_object_get(r->data, "typed_kind"))));
    }
    r->page = "friends";
    r->title = tr(r, "Friends of the Protocol");
    r->cache_public = !r->user;
    return R_OK;
}

Result friend_page(Request *r)
{
    return friends_data(r);
}

/* ---- recording ---- */

typedef struct {
    Request *r;
    const char *iso3, *kind, *date, *forum, *target, *summary, *source;
} ActionRecord;

static Result record_apply(Db *w, void *ctx)
{
    const ActionRecord *a = ctx;
    Stmt *st = db_prepare(w, "INSERT INTO state_actions (iso3, kind, acted_on, forum, "
                             "target_iso3, summary, source_url, recorded_by, recorded_at) "
                             "VALUES (:iso3, :kind, :date, :forum, :target, :summary, :source, "
                             ":user, :now) RETURNING id");
    db_bind_text(st, ":iso3", a->iso3);
    db_bind_text(st, ":kind", a->kind);
    db_bind_text(st, ":date", a->date);
    db_bind_text(st, ":forum", a->forum);
    db_bind_text(st, ":target", a->target); /* NULL: none */
    db_bind_text(st, ":summary", a->summary);
    db_bind_text(st, ":source", a->source);
    db_bind_int(st, ":user", a->r->user->id);
    db_bind_int(st, ":now", now_seconds());
    int64_t id;
    if (db_insert(st, &id) != R_OK)
        return R_INTERNAL;
    char object[40];
    snprintf(object, sizeof object, "state action %lld", (long long)id);
    return audit_log(w, a->r->user->id, "state action recorded", object,
                     arena_printf(a->r->arena, "%s %s %s", a->iso3, a->kind, a->date));
}

/* Shows /friends again with what was typed, for a refused form. */
static Result form_failed(Request *r)
{
    json_t *typed = form_typed(r);
    if (!r->data)
        r->data = json_object();
    json_object_set_new(r->data, "typed", typed);
    json_object_set(r->data, "typed_iso3", json_object_get(typed, "iso3"));
    json_object_set(r->data, "typed_kind", json_object_get(typed, "kind"));
    json_object_set(r->data, "typed_target", json_object_get(typed, "target"));
    friends_data(r);
    return R_BAD_REQUEST;
}

/* POST /friends/actions: an administrator, or a coordinator of the acting
 * state, records what it did. */
Result friend_action_post(Request *r)
{
    const char *iso3 = NULL, *date = NULL, *forum = NULL, *target = NULL, *summary = NULL,
               *source = NULL;
    int kind = 0;
    int bad = param_iso3(r, "iso3", &iso3) != R_OK;
    if (!bad && !country_name_of(r, iso3))
        bad = param_error(r, "iso3", N_("Please choose one of the options.")) != R_OK;
    bad |= param_enum(r, "kind", kind_codes, &kind) != R_OK;
    bad |= param_date(r, "date", &date) != R_OK;
    bad |= param_text(r, "forum", 2, 200, 0, &forum) != R_OK;
    bad |= param_optional_iso3(r, "target", &target) != R_OK;
    if (target && !country_name_of(r, target))
        bad |= param_error(r, "target", N_("Please choose one of the options.")) != R_OK;
    bad |= param_optional_text(r, "summary", 2000, 1, &summary) != R_OK;
    bad |= param_link(r, "source_url", &source) != R_OK;
    if (bad)
        return form_failed(r);
    if (!auth_covers_country(r->user, iso3)) {
        r->message = tr(r, "Only the coordinators of this country and the administrators can "
                           "change its record.");
        return R_FORBIDDEN;
    }
    ActionRecord a = {r,     iso3,   kind_codes[kind],       date,
                      forum, target, summary ? summary : "", source ? source : ""};
    if (db_write(r->db, record_apply, &a) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/friends#recorded");
}

/* The recorded action of the path's {id}, if the user may delete it:
 * R_OK, R_NOT_FOUND (none: UPR recommendations are upr.c's) or
 * R_FORBIDDEN. */
static Result deletable(Request *r, int64_t *id, json_t **action)
{
    if (param_int(r, "id", 1, INT64_MAX, id) != R_OK)
        return R_NOT_FOUND;
    Stmt *st = db_prepare(r->db, "SELECT iso3, kind, acted_on, forum, summary FROM state_actions "
                                 "WHERE id = :id");
    db_bind_int(st, ":id", *id);
    Result res = R_NOT_FOUND;
    if (db_row(st))
        res = auth_covers_country(r->user, db_text(st, 0)) ? R_OK : R_FORBIDDEN;
    if (res == R_OK) {
        const char *state = country_name_of(r, db_text(st, 0));
        *action = json_build("{s:I, s:s, s:s, s:s, s:s, s:s}", "id", (json_int_t)*id, "state",
                             state ? state : db_text(st, 0), "kind_label",
                             tr(r, code_label(kind_codes, kind_labels, db_text(st, 1))), "date",
                             db_text(st, 2), "forum", db_text(st, 3), "summary", db_text(st, 4));
    }
    db_done(st);
    if (res == R_FORBIDDEN)
        r->message = tr(r, "Only the coordinators of this country and the administrators can "
                           "change its record.");
    return res;
}

/* GET /friends/actions/{id}/delete: asks before deleting. */
Result friend_delete_page(Request *r)
{
    int64_t id;
    json_t *action = NULL;
    Result res = deletable(r, &id, &action);
    if (res != R_OK)
        return res;
    json_decref(r->data);
    r->data = json_build("{s:o}", "action", action);
    r->page = "friend_delete";
    r->title = tr(r, "Delete this action?");
    return R_OK;
}

typedef struct {
    Request *r;
    int64_t id;
} ActionDelete;

static Result delete_apply(Db *w, void *ctx)
{
    const ActionDelete *d = ctx;
    Stmt *st = db_prepare(w, "DELETE FROM state_actions WHERE id = :id");
    db_bind_int(st, ":id", d->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_NOT_FOUND;
    char object[40];
    snprintf(object, sizeof object, "state action %lld", (long long)d->id);
    return audit_log(w, d->r->user->id, "state action deleted", object, "");
}

Result friend_delete_post(Request *r)
{
    int64_t id;
    json_t *action = NULL;
    Result res = deletable(r, &id, &action);
    json_decref(action);
    if (res != R_OK)
        return res;
    ActionDelete d = {r, id};
    res = db_write(r->db, delete_apply, &d);
    return res == R_OK ? http_redirect(r, "/friends?done=deleted") : res;
}

/* ---- one country, and the API ---- */

json_t *friend_country_json(Request *r, const char *iso3)
{
    json_t *actions = actions_json(r, iso3, r->user && r->user->role == ROLE_ADMIN);
    return json_build("{s:b, s:o}", "any", json_array_size(actions) > 0, "actions", actions);
}

/* GET /api/v1/state-actions[?iso3=ARG]: every action, or one state's. */
Result friend_api(Request *r)
{
    const char *iso3 = NULL;
    if (param_optional_iso3(r, "iso3", &iso3) != R_OK)
        return R_BAD_REQUEST;
    json_decref(r->data);
    r->data = json_build("{s:o}", "state_actions", actions_json(r, iso3 && *iso3 ? iso3 : NULL, 0));
    return R_OK;
}
