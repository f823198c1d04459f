/*
 * coalition.c: national coalitions, one per country: the organisations
 * campaigning together for ratification there, the lead organisation, the
 * focal point, the kinds of partners covered and the gaps still to fill.
 * The coordinators' form at /countries/{ISO3}/coalition, and the public
 * part (coalition_public_json) that the country page and
 * /api/v1/countries/{ISO3}/coalition show.
 *
 * Invariants: an organisation or a focal point is shown only where
 * the one visibility rule allows for its listing (member_listing_visible
 * for the lead and the focal point, VISIBILITY_SQL in the query of the
 * member list; visitors see only those listed publicly); the others are
 * counted, never named. Partner types and gaps are facts about the
 * coalition and always public. Only coordinators of the country and
 * administrators change it (auth_covers_country); the
 * coalitions row and its members are replaced in one transaction with the
 * audit entry, which names organisations and people by id only.
 */
#include <stdio.h>
#include <string.h>

#include "feat/handlers.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/visibility.h"
#include "feat/coalition.h"
#include "feat/country_name.h"
#include "feat/member.h"

enum { GAPS_MAX = 2000, TYPE_COUNT = 9 };

/* The organisation types are member.c's list, org_type_codes. */
static int type_index(const char *code)
{
    for (int i = 0; i < TYPE_COUNT; i++)
        if (strcmp(org_type_codes[i], code) == 0)
            return i;
    return -1;
}

static const char *type_label(Request *r, const char *code)
{
    int i = type_index(code);
    return i < 0 ? code : tr(r, org_type_labels[i]);
}

/* What a coordinator is told about who will see a record. */
static const char *listing_label(Request *r, const char *listing)
{
    if (strcmp(listing, "public") == 0)
        return tr(r, "listed publicly");
    if (strcmp(listing, "members") == 0)
        return tr(r, "shown to members only");
    return tr(r, "not listed");
}

/* 1 if word is one of the space-separated words of list. */
static int has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += n)
        if ((p == list || p[-1] == ' ') && (p[n] == 0 || p[n] == ' '))
            return 1;
    return 0;
}

/* The country's name in the request's language into *name, or
 * R_NOT_FOUND. */
static Result country_name(Request *r, const char *iso3, const char **name)
{
    *name = country_name_of(r, iso3);
    return *name ? R_OK : R_NOT_FOUND;
}

/* ---- the public part ---- */

/* May the viewer see a record with this listing? public_only: as a
 * visitor who is not logged in would (the coordinators' preview). */
static int shown(Request *r, int public_only, const char *listing, int64_t person_id)
{
    if (public_only)
        return strcmp(listing, "public") == 0;
    return member_listing_visible(r, listing, person_id);
}

static json_t *org_json(Request *r, const char *name, const char *type, const char *website,
                        const char *listing)
{
    /* listing_note tells logged-in readers when an organisation is shown
     * to them but not to the public. */
    return json_build("{s:s, s:s, s:s, s:s, s:s, s:s}", "name", name, "type", type, "type_label",
                      type_label(r, type), "website", website, "listing", listing, "listing_note",
                      strcmp(listing, "public") == 0 ? "" : listing_label(r, listing));
}

static json_t *partner_types_json(Request *r, const char *stored)
{
    json_t *list = json_array();
    for (int i = 0; i < TYPE_COUNT; i++)
        if (has_word(stored, org_type_codes[i]))
            json_array_append_new(list, json_build("{s:s, s:s}", "code", org_type_codes[i], "label",
                                                   tr(r, org_type_labels[i])));
    return list;
}

/* The coalition's member organisations the viewer may see (as a visitor
 * when public_only), filtered in the query by the one visibility rule: an
 * organisation's listing read as a visibility ("hidden" is "private"),
 * whose author is its first contact person's account, as
 * member_listing_visible has it for one record. The non-public ones shown
 * go into seen; *unlisted is the number of the others. */
static json_t *member_list(Request *r, const char *iso3, int public_only, AuditSet *seen,
                           int64_t *unlisted)
{
    Stmt *st = db_prepare(r->db, "SELECT count(*) FROM coalition_members cm "
                                 "JOIN organisations o ON o.id = cm.org_id WHERE cm.iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    int64_t all = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    json_t *members = json_array();
    st = db_prepare(
        r->db,
        "SELECT vis.name, vis.org_type, vis.website, vis.listing, vis.id FROM "
        "(SELECT o.id, o.name, o.org_type, o.website, o.listing, "
        "CASE WHEN o.listing = 'hidden' THEN 'private' ELSE o.listing END AS visibility, "
        "'' AS iso3, (SELECT p.user_id FROM org_people op JOIN people p ON p.id = op.person_id "
        "WHERE op.org_id = o.id AND op.role = 'contact' ORDER BY op.person_id LIMIT 1) "
        "AS author_id FROM coalition_members cm JOIN organisations o ON o.id = cm.org_id "
        "WHERE cm.iso3 = :iso3) vis WHERE " VISIBILITY_SQL " ORDER BY vis.name, vis.id");
    db_bind_text(st, ":iso3", iso3);
    visibility_bind(st, public_only ? NULL : r->user);
    int64_t shown_count = 0;
    while (db_row(st)) {
        shown_count++;
        if (strcmp(db_text(st, 3), "public") != 0)
            audit_set_add(seen, "organisation", db_int(st, 4));
        json_array_append_new(
            members, org_json(r, db_text(st, 0), db_text(st, 1), db_text(st, 2), db_text(st, 3)));
    }
    db_done(st);
    /* Two reads: a member added between them must not make it negative. */
    *unlisted = all > shown_count ? all - shown_count : 0;
    return members;
}

/* The coalition of an existing country as the viewer may see it (see
 * coalition.h); a new object, or NULL when the read of records that are
 * not public could not be put in the audit log (then nothing is shown). */
static json_t *coalition_json(Request *r, const char *iso3, int public_only)
{
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    /* An organisation's own contact person counts as "the person
     * themself" for member_listing_visible. */
    Stmt *st = db_prepare(
        r->db, "SELECT c.partner_types, c.gaps, coalesce(l.id, 0), coalesce(l.name, ''), "
               "coalesce(l.org_type, ''), coalesce(l.website, ''), coalesce(l.listing, 'hidden'), "
               "coalesce((SELECT op.person_id FROM org_people op WHERE op.org_id = l.id "
               "AND op.role = 'contact' ORDER BY op.person_id LIMIT 1), 0), "
               "coalesce(p.id, 0), coalesce(p.name, ''), coalesce(p.listing, 'hidden') "
               "FROM coalitions c LEFT JOIN organisations l ON l.id = c.lead_org_id "
               "LEFT JOIN people p ON p.id = c.focal_person_id WHERE c.iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    if (!db_row(st)) {
        db_done(st);
        return json_build("{s:s, s:b, s:[], s:s, s:n, s:n, s:[], s:i}", "iso3", iso3, "recorded", 0,
                          "partner_types", "gaps", "", "lead", "focal_point", "members",
                          "unlisted_count", 0);
    }
    const char *types = arena_strdup(r->arena, db_text(st, 0));
    const char *gaps = arena_strdup(r->arena, db_text(st, 1));
    int64_t lead_id = db_int(st, 2);
    const char *lead_name = arena_strdup(r->arena, db_text(st, 3));
    const char *lead_type = arena_strdup(r->arena, db_text(st, 4));
    const char *lead_website = arena_strdup(r->arena, db_text(st, 5));
    const char *lead_listing = arena_strdup(r->arena, db_text(st, 6));
    int64_t lead_contact = db_int(st, 7);
    int64_t focal_id = db_int(st, 8);
    const char *focal_name = arena_strdup(r->arena, db_text(st, 9));
    const char *focal_listing = arena_strdup(r->arena, db_text(st, 10));
    db_done(st);

    json_t *lead = NULL, *focal = NULL;
    if (lead_id && shown(r, public_only, lead_listing, lead_contact)) {
        lead = org_json(r, lead_name, lead_type, lead_website, lead_listing);
        if (strcmp(lead_listing, "public") != 0)
            audit_set_add(&seen, "organisation", lead_id);
    }
    if (focal_id && shown(r, public_only, focal_listing, focal_id)) {
        focal = json_build("{s:s}", "name", focal_name);
        if (strcmp(focal_listing, "public") != 0)
            audit_set_add(&seen, "person", focal_id);
    }

    int64_t unlisted = 0;
    json_t *members = member_list(r, iso3, public_only, &seen, &unlisted);
    if (audit_read_set(r, "coalition viewed", arena_printf(r->arena, "coalition %s", iso3),
                       &seen) != R_OK) {
        json_decref(lead);
        json_decref(focal);
        json_decref(members);
        return NULL;
    }
    return json_build("{s:s, s:b, s:o, s:s, s:o?, s:o?, s:o, s:i}", "iso3", iso3, "recorded", 1,
                      "partner_types", partner_types_json(r, types), "gaps", gaps, "lead", lead,
                      "focal_point", focal, "members", members, "unlisted_count", (int)unlisted);
}

Result coalition_public_json(Request *r, const char *iso3, json_t **out)
{
    *out = NULL;
    const char *name;
    Result res = country_name(r, iso3, &name);
    if (res != R_OK)
        return res;
    *out = coalition_json(r, iso3, 0);
    return *out ? R_OK : R_INTERNAL;
}

Result coalition_api(Request *r)
{
    json_t *coalition;
    const char *iso3;
    if (param_iso3(r, "iso3", &iso3) != R_OK)
        return R_NOT_FOUND;
    Result res = coalition_public_json(r, iso3, &coalition);
    if (res != R_OK)
        return res;
    json_decref(r->data);
    r->data = json_build("{s:o}", "coalition", coalition);
    /* For visitors the answer depends only on the database. */
    r->cache_public = !r->user;
    return R_OK;
}

/* ---- the coordinators' form ---- */

/* An organisation or a person the form offers. */
typedef struct {
    int64_t id;
    const char *name;
    const char *type;    /* organisations only, else "" */
    const char *listing; /* public, members or hidden */
} Choice;

typedef struct {
    Choice *items; /* in the arena */
    size_t count;
} Choices;

/* What the form holds: stored, or as submitted. */
typedef struct {
    int64_t lead;          /* organisation id, 0: none */
    int64_t focal;         /* person id, 0: none */
    int types[TYPE_COUNT]; /* 1 where org_type_codes[i] is covered */
    const char *gaps;      /* never NULL */
    int64_t *members;      /* organisation ids, in the arena */
    size_t member_count;
} CoalitionForm;

/* Reads the choices from a statement whose columns are id, name, type,
 * listing; finishes it. */
static Choices read_choices(Request *r, Stmt *st)
{
    Choices c = {0};
    size_t cap = 16;
    c.items = arena_alloc(r->arena, cap * sizeof *c.items);
    while (db_row(st)) {
        if (c.count == cap) {
            Choice *bigger = arena_alloc(r->arena, cap * 2 * sizeof *c.items);
            memcpy(bigger, c.items, c.count * sizeof *c.items);
            c.items = bigger;
            cap *= 2;
        }
        Choice *ch = &c.items[c.count++];
        ch->id = db_int(st, 0);
        ch->name = arena_strdup(r->arena, db_text(st, 1));
        ch->type = arena_strdup(r->arena, db_text(st, 2));
        ch->listing = arena_strdup(r->arena, db_text(st, 3));
    }
    db_done(st);
    return c;
}

/* The country's organisations with an active membership: the possible
 * lead and members. */
static Choices org_choices(Request *r, Db *db, const char *iso3)
{
    Stmt *st =
        db_prepare(db, "SELECT o.id, o.name, o.org_type, o.listing FROM organisations o "
                       "WHERE o.iso3 = :iso3 AND EXISTS (SELECT 1 FROM memberships m "
                       "WHERE m.org_id = o.id AND m.status = 'active') ORDER BY o.name, o.id");
    db_bind_text(st, ":iso3", iso3);
    return read_choices(r, st);
}

/* People whose membership in the country is active: the possible focal
 * points. */
static Choices person_choices(Request *r, Db *db, const char *iso3)
{
    Stmt *st = db_prepare(db, "SELECT p.id, p.name, '', p.listing FROM people p "
                              "WHERE EXISTS (SELECT 1 FROM memberships m WHERE m.person_id = p.id "
                              "AND m.iso3 = :iso3 AND m.status = 'active') ORDER BY p.name, p.id");
    db_bind_text(st, ":iso3", iso3);
    return read_choices(r, st);
}

static int has_choice(const Choices *c, int64_t id)
{
    for (size_t i = 0; i < c->count; i++)
        if (c->items[i].id == id)
            return 1;
    return 0;
}

static int has_id(const int64_t *ids, size_t n, int64_t id)
{
    for (size_t i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* A positive decimal id, or 0. */
static int64_t parse_id(const char *s)
{
    if (!s || !*s || strlen(s) > 18)
        return 0;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (*s - '0');
    }
    return v;
}

/* The stored coalition, or an empty form. */
static void load_form(Request *r, const char *iso3, CoalitionForm *f)
{
    memset(f, 0, sizeof *f);
    f->gaps = "";
    Stmt *st = db_prepare(
        r->db, "SELECT coalesce(lead_org_id, 0), coalesce(focal_person_id, 0), partner_types, "
               "gaps FROM coalitions WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    if (db_row(st)) {
        f->lead = db_int(st, 0);
        f->focal = db_int(st, 1);
        for (int i = 0; i < TYPE_COUNT; i++)
            f->types[i] = has_word(db_text(st, 2), org_type_codes[i]);
        f->gaps = arena_strdup(r->arena, db_text(st, 3));
    }
    db_done(st);
    st = db_prepare(r->db, "SELECT count(*) FROM coalition_members WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    size_t n = db_row(st) ? (size_t)db_int(st, 0) : 0;
    db_done(st);
    f->members = arena_alloc(r->arena, (n + 1) * sizeof *f->members);
    st = db_prepare(r->db, "SELECT org_id FROM coalition_members WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    while (f->member_count < n && db_row(st))
        f->members[f->member_count++] = db_int(st, 0);
    db_done(st);
}

/* An optional choice from a select: "" is none; anything else must be
 * one of choices. Returns 0 and sets an error for name when it is not. */
static int choice_param(Request *r, const char *name, const Choices *choices, int64_t *out)
{
    int64_t id = 0;
    *out = 0;
    if (param_optional_int(r, name, 1, INT64_MAX, 0, &id) != R_OK)
        return 0;
    if (!id)
        return 1;
    if (!has_choice(choices, id)) {
        param_error(r, name, N_("Please choose one of the options."));
        return 0;
    }
    *out = id;
    return 1;
}

/* Reads and checks the submitted form into f. Returns 1 if it is valid;
 * otherwise r->errors names the bad fields and f holds what could be
 * kept of the input, to show the form again. */
static int parse_form(Request *r, const Choices *orgs, const Choices *people, CoalitionForm *f)
{
    memset(f, 0, sizeof *f);
    int ok = choice_param(r, "lead_org", orgs, &f->lead);
    ok &= choice_param(r, "focal_person", people, &f->focal);
    f->members = arena_alloc(r->arena, (r->form.count + 1) * sizeof *f->members);
    for (size_t i = 0; i < r->form.count; i++) {
        const Param *p = &r->form.items[i];
        int whole = strlen(p->value) == p->len; /* no embedded NUL */
        if (strcmp(p->name, "partner_types") == 0) {
            int t = whole ? type_index(p->value) : -1;
            if (t < 0) {
                param_error(r, "partner_types", N_("Please choose among the options."));
                ok = 0;
            } else {
                f->types[t] = 1;
            }
        } else if (strcmp(p->name, "members") == 0) {
            int64_t id = whole ? parse_id(p->value) : 0;
            if (!id || !has_choice(orgs, id)) {
                param_error(r, "members", N_("Please choose among the options."));
                ok = 0;
            } else if (!has_id(f->members, f->member_count, id)) {
                f->members[f->member_count++] = id;
            }
        }
    }
    if (param_optional_text(r, "gaps", GAPS_MAX, 1, &f->gaps) != R_OK) {
        ok = 0;
        const char *raw = param_raw(r, "gaps"); /* raw: shown again as typed, if it is text */
        f->gaps = raw && utf8_valid_text(raw, strlen(raw)) ? raw : "";
    }
    if (!f->gaps)
        f->gaps = "";
    return ok;
}

/* Checks the path's country exists and the user covers it. */
static Result editable(Request *r, const char **iso3, const char **name)
{
    if (param_iso3(r, "iso3", iso3) != R_OK)
        return R_NOT_FOUND;
    Result res = country_name(r, *iso3, name);
    if (res != R_OK)
        return res;
    if (!auth_covers_country(r->user, *iso3)) {
        r->message = tr(r, "Only the coordinators of this country and the administrators can "
                           "change its national coalition.");
        return R_FORBIDDEN;
    }
    return R_OK;
}

static json_t *person_options(Request *r, const Choices *c, int64_t selected)
{
    json_t *list = json_array();
    for (size_t i = 0; i < c->count; i++)
        json_array_append_new(list,
                              json_build("{s:I, s:s, s:s, s:b}", "id", (json_int_t)c->items[i].id,
                                         "name", c->items[i].name, "listing_label",
                                         listing_label(r, c->items[i].listing), "selected",
                                         c->items[i].id == selected));
    return list;
}

static json_t *org_options(Request *r, const Choices *c, const CoalitionForm *f, int for_lead)
{
    json_t *list = json_array();
    for (size_t i = 0; i < c->count; i++) {
        const Choice *ch = &c->items[i];
        int on = for_lead ? ch->id == f->lead : has_id(f->members, f->member_count, ch->id);
        json_array_append_new(list, json_build("{s:I, s:s, s:s, s:s, s:b}", "id",
                                               (json_int_t)ch->id, "name", ch->name, "type_label",
                                               type_label(r, ch->type), "listing_label",
                                               listing_label(r, ch->listing), "selected", on));
    }
    return list;
}

/* The form names every active member of the country, hidden ones too:
 * a read of each one that is not listed publicly. */
static Result record_choices(Request *r, const char *iso3, const Choices *orgs,
                             const Choices *people)
{
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    for (size_t i = 0; i < orgs->count; i++)
        if (strcmp(orgs->items[i].listing, "public") != 0)
            audit_set_add(&seen, "organisation", orgs->items[i].id);
    for (size_t i = 0; i < people->count; i++)
        if (strcmp(people->items[i].listing, "public") != 0)
            audit_set_add(&seen, "person", people->items[i].id);
    return audit_read_set(r, "coalition form viewed", arena_printf(r->arena, "coalition %s", iso3),
                          &seen);
}

/* Fills r->data for the form with f's values, and a preview of what
 * visitors see. */
static void edit_data(Request *r, const char *iso3, const char *name, const Choices *orgs,
                      const Choices *people, const CoalitionForm *f)
{
    json_t *types = json_array();
    for (int i = 0; i < TYPE_COUNT; i++)
        json_array_append_new(types,
                              json_build("{s:s, s:s, s:b}", "code", org_type_codes[i], "label",
                                         tr(r, org_type_labels[i]), "selected", f->types[i]));
    const char *saved = param_filter(r, "saved", (const char *const[]){"1", NULL});
    json_decref(r->data);
    r->data =
        json_build("{s:{s:s, s:s}, s:o, s:o, s:o, s:o, s:s, s:o, s:b}", "country", "iso3", iso3,
                   "name", name, "lead_options", org_options(r, orgs, f, 1), "focal_options",
                   person_options(r, people, f->focal), "type_options", types, "member_options",
                   org_options(r, orgs, f, 0), "gaps", f->gaps, "coalition",
                   coalition_json(r, iso3, 1), "saved", strcmp(r->method, "GET") == 0 && saved);
    r->page = "coalition_edit";
    r->title = arena_printf(r->arena, "%s: %s", tr(r, "National coalition"), name);
}

Result coalition_edit_page(Request *r)
{
    const char *iso3, *name;
    Result res = editable(r, &iso3, &name);
    if (res != R_OK)
        return res;
    Choices orgs = org_choices(r, r->db, iso3), people = person_choices(r, r->db, iso3);
    if (record_choices(r, iso3, &orgs, &people) != R_OK)
        return R_INTERNAL;
    CoalitionForm f;
    load_form(r, iso3, &f);
    edit_data(r, iso3, name, &orgs, &people, &f);
    return R_OK;
}

/* Writes f as the country's coalition, with the audit entry, on the
 * writer's connection w. Returns R_OK or R_INTERNAL. */
static Result save(Db *w, Request *r, const char *iso3, const CoalitionForm *f)
{
    char types[256] = "";
    size_t used = 0;
    for (int i = 0; i < TYPE_COUNT; i++)
        if (f->types[i])
            used += (size_t)snprintf(types + used, sizeof types - used, "%s%s", used ? " " : "",
                                     org_type_codes[i]);
    Stmt *st = db_prepare(
        w, "INSERT INTO coalitions (iso3, lead_org_id, focal_person_id, partner_types, gaps, "
           "updated_by, updated_at) VALUES (:iso3, :lead, :focal, :types, :gaps, :user, :now) "
           "ON CONFLICT (iso3) DO UPDATE SET lead_org_id = excluded.lead_org_id, "
           "focal_person_id = excluded.focal_person_id, "
           "partner_types = excluded.partner_types, gaps = excluded.gaps, "
           "updated_by = excluded.updated_by, updated_at = excluded.updated_at");
    db_bind_text(st, ":iso3", iso3);
    if (f->lead)
        db_bind_int(st, ":lead", f->lead);
    else
        db_bind_null(st, ":lead");
    if (f->focal)
        db_bind_int(st, ":focal", f->focal);
    else
        db_bind_null(st, ":focal");
    db_bind_text(st, ":types", types);
    db_bind_text(st, ":gaps", f->gaps);
    db_bind_int(st, ":user", r->user->id);
    db_bind_int(st, ":now", now_seconds());
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "DELETE FROM coalition_members WHERE iso3 = :iso3");
    db_bind_text(st, ":iso3", iso3);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    for (size_t i = 0; i < f->member_count; i++) {
        st = db_prepare(w, "INSERT INTO coalition_members (iso3, org_id) VALUES (:iso3, :org)");
        db_bind_text(st, ":iso3", iso3);
        db_bind_int(st, ":org", f->members[i]);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    const char *detail = arena_printf(
        r->arena, "lead org %lld, focal person %lld, member orgs %zu, types %s", (long long)f->lead,
        (long long)f->focal, f->member_count, *types ? types : "none");
    return audit_log(w, r->user->id, "coalition updated",
                     arena_printf(r->arena, "country %s", iso3), detail);
}

/* The form as sent, checked against the choices read on the writer's
 * connection, so that a membership that lapses meanwhile cannot slip in. */
typedef struct {
    Request *r;
    const char *iso3;
    Choices orgs, people;
    CoalitionForm f;
} CoalitionSave;

static Result coalition_save_apply(Db *w, void *ctx)
{
    CoalitionSave *c = ctx;
    c->orgs = org_choices(c->r, w, c->iso3);
    c->people = person_choices(c->r, w, c->iso3);
    if (!parse_form(c->r, &c->orgs, &c->people, &c->f))
        return R_BAD_REQUEST;
    return save(w, c->r, c->iso3, &c->f);
}

Result coalition_edit_post(Request *r)
{
    const char *iso3, *name;
    Result res = editable(r, &iso3, &name);
    if (res != R_OK)
        return res;
    CoalitionSave c = {.r = r, .iso3 = iso3};
    res = db_write(r->db, coalition_save_apply, &c);
    if (res == R_BAD_REQUEST) {
        if (record_choices(r, iso3, &c.orgs, &c.people) != R_OK)
            return R_INTERNAL;
        edit_data(r, iso3, name, &c.orgs, &c.people, &c.f);
        return R_BAD_REQUEST;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/countries/%s/coalition?saved=1", iso3));
}
