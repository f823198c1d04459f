/*
 * meeting.c: lobbying meetings with a government (issue 12, item 1): a
 * member of the country or a coordinator plans one (date, place, the people
 * met from the country's government contacts or new ones, the delegation of
 * members and organisations, the goal); the meeting page shows a brief built
 * for the country, which the delegation completes together with at most two
 * key messages; afterwards the outcome (what was said, the agreements, the
 * person responsible for the follow-up with a due date, reminded by email),
 * the report shared by choice, the thank-you letter as a PDF from the
 * "thank-you" model letter in the target's language, and closing, refused
 * until someone is responsible for the follow-up. The country page shows
 * meetings held and the public summaries; /api/v1/meetings serves them in a
 * shape close to OSDI's events.
 *
 * Invariants: a meeting is seen by the visibility rule (visibility_can_see,
 * VISIBILITY_SQL in lists: private = the secretariat, i.e. the author and
 * the administrators; country = the national coalition; members = every
 * member) OR by belonging to its delegation (a delegated user, or a person
 * of a delegated organisation): checked before any right to edit, and what
 * a user may not see is a 404 on pages, the PDF and the API alike. Every
 * read by someone other than the author is in the audit log before the
 * meeting is shown. Targets are target.c's (new ones through
 * target_insert_met); the tables of 016_meetings.sql are written here only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "feat/handlers.h"
#include "base/i18n.h"
#include "base/pdf.h"
#include "base/tz.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/http.h"
#include "svc/mail.h"
#include "svc/visibility.h"
#include "feat/country_name.h"
#include "feat/letter.h"
#include "feat/meeting.h"
#include "feat/member.h"
#include "feat/model_letter.h"
#include "feat/target.h"
#include "feat/treaty.h"

enum {
    MAX_KEY_MESSAGES = 2, /* "the one or two most important messages" */
    MAX_PICKS = 50,       /* people met, delegates, organisations */
    REMIND_DAYS_BEFORE = 3,
};

static const char *const meeting_states[] = {"planned", "held", "closed", NULL};
static const char *const meeting_state_labels[] = {N_("Planned"), N_("Held"), N_("Closed"), NULL};

/* Who reads a meeting besides its delegation: the report's sharing. */
static const char *const meeting_visibilities[] = {"private", "country", "members", NULL};
static const char *const meeting_visibility_labels[] = {
    N_("The coalition secretariat"), N_("The national coalition"), N_("All members"), NULL};
static const char *const meeting_visibility_sentences[] = {
    N_("The delegation and the coalition secretariat (the administrators) will see it."),
    N_("The delegation, and the members and coordinators of the coalition in this country, "
       "will see it."),
    N_("The delegation and every member of the coalition, in every country, will see it."), NULL};

/* The languages of the model letters, for the thank-you letter. */
static const char *const letter_langs[] = {"en", "es", "fr", "pt", "ar", NULL};
static const char *const letter_lang_labels[] = {N_("English"),    N_("Spanish"), N_("French"),
                                                 N_("Portuguese"), N_("Arabic"),  NULL};

/* The domestic stages (schema/002's CHECK) and their labels: the same
 * msgids as country.c's, which this file may not include (country.c shows
 * the meetings). */
static const char *const stage_codes[] = {"ministry_review",
                                          "interministerial",
                                          "cabinet_approval",
                                          "bill_in_parliament",
                                          "parliament_approved",
                                          "instrument_deposited",
                                          NULL};
static const char *const stage_labels[] = {N_("Ministry review"),
                                           N_("Inter-ministerial consultation"),
                                           N_("Cabinet approval"),
                                           N_("Bill before parliament"),
                                           N_("Parliamentary approval"),
                                           N_("Instrument deposited"),
                                           NULL};

typedef struct {
    int64_t id, author_id, followup_user_id, version;
    const char *iso3, *meeting_on, *meeting_time, *time_zone, *place, *goal, *lang, *notes, *key1,
        *key2, *state, *said, *agreements, *report, *public_summary, *visibility, *followup_due,
        *reminded, *followup_done_on;
} Meeting;

/* ---- who sees a meeting ---- */

static Result load_meeting(Request *r, int64_t id, Meeting *m)
{
    Stmt *st = db_prepare(
        r->db, "SELECT id, coalesce(author_id, 0), coalesce(followup_user_id, 0), version, iso3, "
               "meeting_on, meeting_time, time_zone, place, goal, lang, notes, key_message_1, "
               "key_message_2, state, said, agreements, report, public_summary, visibility, "
               "followup_due, reminded, followup_done_on FROM meetings WHERE id = :id");
    db_bind_int(st, ":id", id);
    if (!db_row(st)) {
        db_done(st);
        return R_NOT_FOUND;
    }
    m->id = db_int(st, 0);
    m->author_id = db_int(st, 1);
    m->followup_user_id = db_int(st, 2);
    m->version = db_int(st, 3);
    const char **text[] = {&m->iso3,
                           &m->meeting_on,
                           &m->meeting_time,
                           &m->time_zone,
                           &m->place,
                           &m->goal,
                           &m->lang,
                           &m->notes,
                           &m->key1,
                           &m->key2,
                           &m->state,
                           &m->said,
                           &m->agreements,
                           &m->report,
                           &m->public_summary,
                           &m->visibility,
                           &m->followup_due,
                           &m->reminded,
                           &m->followup_done_on};
    for (int i = 0; i < 19; i++)
        *text[i] = arena_strdup(r->arena, db_text(st, 4 + i));
    db_done(st);
    return R_OK;
}

/* 1 if user is in the meeting's delegation, in person or through one of
 * their organisations. */
static int is_delegate(Db *db, int64_t meeting, int64_t user)
{
    Stmt *st = db_prepare(
        db, "SELECT 1 FROM meeting_delegation d WHERE d.meeting_id = :m AND (d.user_id = :u "
            "OR d.org_id IN (SELECT op.org_id FROM org_people op JOIN people p "
            "ON p.id = op.person_id WHERE p.user_id = :u))");
    db_bind_int(st, ":m", meeting);
    db_bind_int(st, ":u", user);
    int yes = db_row(st);
    db_done(st);
    return yes;
}

static int can_see_meeting(Request *r, const Meeting *m)
{
    if (visibility_can_see(r->user, m->visibility, m->iso3, m->author_id))
        return 1;
    return r->user && is_delegate(r->db, m->id, r->user->id);
}

/* Editing comes after seeing: the author, the delegation, the country's
 * coordinators and the admins. */
static int can_edit_meeting(Request *r, const Meeting *m)
{
    return r->user && can_see_meeting(r, m) &&
           (r->user->id == m->author_id || auth_covers_country(r->user, m->iso3) ||
            is_delegate(r->db, m->id, r->user->id));
}

/* Who reads the report is its author's choice (and an admin's), as for
 * letters. */
static int can_share_meeting(Request *r, const Meeting *m)
{
    return r->user && (r->user->id == m->author_id || r->user->role == ROLE_ADMIN);
}

static Result visible_meeting(Request *r, Meeting *m)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK || load_meeting(r, id, m) != R_OK)
        return R_NOT_FOUND;
    return can_see_meeting(r, m) ? R_OK : R_NOT_FOUND;
}

/* ---- reads in the audit log ---- */

typedef struct {
    int64_t user, token;
    const char *action, *object, *detail;
} MeetingRead;

static Result meeting_read_apply(Db *w, void *ctx)
{
    MeetingRead *m = ctx;
    int64_t entry;
    return audit_read_entry(w, m->user, m->token, m->action, m->object, m->detail, &entry);
}

/* A meeting's plan, brief and report name people at risk and what a
 * government said: every read but the author's own is recorded before it is
 * shown (fail closed, as for letters), with the people and organisations
 * of the delegation it shows as the entry's subjects, so that they find it
 * among the reads of their details. */
static Result meeting_log_read(Request *r, const Meeting *m)
{
    if (r->user && r->user->id == m->author_id)
        return R_OK;
    AuditSet seen;
    audit_set_init(&seen, r->arena);
    Stmt *st = db_prepare(r->db, "SELECT coalesce(p.id, 0), coalesce(d.org_id, 0) "
                                 "FROM meeting_delegation d LEFT JOIN people p "
                                 "ON p.user_id = d.user_id WHERE d.meeting_id = :m");
    db_bind_int(st, ":m", m->id);
    while (db_row(st)) {
        if (db_int(st, 0))
            audit_set_add(&seen, "person", db_int(st, 0));
        if (db_int(st, 1))
            audit_set_add(&seen, "organisation", db_int(st, 1));
    }
    db_done(st);
    return audit_read_record(r->db, r->user ? r->user->id : 0, r->api_token_id, "meeting viewed",
                             arena_printf(r->arena, "meeting %lld", (long long)m->id), &seen);
}

/* ---- choices on the forms ---- */

static json_t *visibility_choices(Request *r, const char *selected)
{
    json_t *list = json_array();
    for (int i = 0; meeting_visibilities[i]; i++)
        json_array_append_new(list,
                              json_build("{s:s, s:s, s:s, s:b}", "code", meeting_visibilities[i],
                                         "label", tr(r, meeting_visibility_labels[i]), "sentence",
                                         tr(r, meeting_visibility_sentences[i]), "selected",
                                         !strcmp(meeting_visibilities[i], selected)));
    return list;
}

/* The people met, the delegates (users) and the organisations of a
 * meeting: ticked on a form, or as stored. */
typedef struct {
    int64_t targets[MAX_PICKS], users[MAX_PICKS], orgs[MAX_PICKS];
    int n_targets, n_users, n_orgs;
} Picks;

static int picked(const int64_t *ids, int n, int64_t id)
{
    for (int i = 0; i < n; i++)
        if (ids[i] == id)
            return 1;
    return 0;
}

/* The ids ticked under name, at most MAX_PICKS; -1 when one is not a
 * positive number or there are too many (a forged form). */
static int form_ids(Request *r, const char *name, int64_t *ids)
{
    int n = 0;
    for (size_t i = 0; i < r->form.count; i++) {
        if (strcmp(r->form.items[i].name, name) != 0)
            continue;
        const char *v = r->form.items[i].value;
        char *end;
        long long id = strtoll(v, &end, 10);
        if (!*v || *end || id <= 0 || n == MAX_PICKS)
            return -1;
        if (!picked(ids, n, id))
            ids[n++] = id;
    }
    return n;
}

/* What the form ticked; R_BAD_REQUEST for a forged one. */
static Result picks_from_form(Request *r, Picks *p)
{
    p->n_targets = form_ids(r, "target", p->targets);
    p->n_users = form_ids(r, "delegate", p->users);
    p->n_orgs = form_ids(r, "organisation", p->orgs);
    if (p->n_targets >= 0 && p->n_users >= 0 && p->n_orgs >= 0)
        return R_OK;
    p->n_targets = p->n_users = p->n_orgs = 0;
    return R_BAD_REQUEST;
}

/* What meeting holds now. */
static void picks_of_meeting(Request *r, int64_t meeting, Picks *p)
{
    p->n_targets = p->n_users = p->n_orgs = 0;
    Stmt *st = db_prepare(r->db, "SELECT target_id FROM meeting_targets WHERE meeting_id = :m");
    db_bind_int(st, ":m", meeting);
    while (db_row(st) && p->n_targets < MAX_PICKS)
        p->targets[p->n_targets++] = db_int(st, 0);
    db_done(st);
    st = db_prepare(r->db, "SELECT coalesce(user_id, 0), coalesce(org_id, 0) "
                           "FROM meeting_delegation WHERE meeting_id = :m");
    db_bind_int(st, ":m", meeting);
    while (db_row(st)) {
        if (db_int(st, 0) && p->n_users < MAX_PICKS)
            p->users[p->n_users++] = db_int(st, 0);
        if (db_int(st, 1) && p->n_orgs < MAX_PICKS)
            p->orgs[p->n_orgs++] = db_int(st, 1);
    }
    db_done(st);
}

/* The country's government contacts, ticked as in p. */
static json_t *target_choices(Request *r, const char *iso3, const Picks *p)
{
    json_t *targets = target_list_json(r, iso3);
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t)
    {
        json_int_t id = json_integer_value(json_object_get(t, "id"));
        json_object_set_new(t, "checked", json_boolean(picked(p->targets, p->n_targets, id)));
    }
    return targets;
}

/* The people of iso3 with an account whom the viewer may see listed, for
 * the delegation, ticked as in p. */
static json_t *member_choices(Request *r, const char *iso3, const Picks *p)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT id, user_id, name, listing FROM people "
                                 "WHERE iso3 = :iso3 AND user_id IS NOT NULL ORDER BY name");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st)) {
        int64_t user = db_int(st, 1);
        /* Someone already in the delegation stays offered: the page names
         * them anyway, and a box left out would drop them on saving. */
        if (!member_listing_visible(r, db_text(st, 3), db_int(st, 0)) &&
            !picked(p->users, p->n_users, user))
            continue;
        json_array_append_new(list, json_build("{s:I, s:s, s:b}", "id", (json_int_t)user, "name",
                                               db_text(st, 2), "checked",
                                               picked(p->users, p->n_users, user)));
    }
    db_done(st);
    return list;
}

/* The organisations of iso3 the viewer may see listed, ticked as in p. */
static json_t *organisation_choices(Request *r, const char *iso3, const Picks *p)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT id, name, listing FROM organisations "
                                 "WHERE iso3 = :iso3 ORDER BY name");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st)) {
        const char *listing = db_text(st, 2);
        int64_t org = db_int(st, 0);
        if (strcmp(listing, "hidden") == 0 && !auth_covers_country(r->user, iso3) &&
            !picked(p->orgs, p->n_orgs, org))
            continue;
        json_array_append_new(list, json_build("{s:I, s:s, s:b}", "id", (json_int_t)org, "name",
                                               db_text(st, 1), "checked",
                                               picked(p->orgs, p->n_orgs, org)));
    }
    db_done(st);
    return list;
}

/* The language of the thank-you letter: the first chosen contact's, when
 * it is one of the model letters', else the country's. */
static const char *default_lang(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT language FROM targets WHERE iso3 = :iso3 "
                                 "AND language <> '' ORDER BY id");
    db_bind_text(st, ":iso3", iso3);
    const char *lang = NULL;
    while (!lang && db_row(st))
        for (int i = 0; letter_langs[i]; i++)
            if (!strcmp(letter_langs[i], db_text(st, 0)))
                lang = letter_langs[i];
    db_done(st);
    return lang ? lang : model_letter_country_language(r, iso3);
}

/* ---- planning ---- */

/* A member of the country, or a coordinator of it, or an admin. */
static int can_plan(Request *r, const char *iso3)
{
    return r->user && ((r->user->home_iso3 && !strcmp(r->user->home_iso3, iso3)) ||
                       auth_covers_country(r->user, iso3));
}

/* The fields of the meeting forms, for the list of errors at the top of
 * a form shown again (templates/error_summary.html): each error's label
 * and the field its link leads to. */
static const FormField meeting_fields[] = {
    {"meeting_on", "meeting_on", N_("Date")},
    {"meeting_time", "meeting_time", N_("Time (local)")},
    {"time_zone", "time_zone", N_("Time zone")},
    {"place", "place", N_("Place")},
    {"goal", "goal", N_("The goal of the meeting")},
    {"target", "new_target_name", N_("Who you will meet")},
    {"delegate", "delegation", N_("The delegation")},
    {"organisation", "delegation", N_("The delegation")},
    {"lang", "lang", N_("Language of the thank-you letter")},
    {"key_messages", "key_messages", N_("Key messages")},
    {"notes", "notes", N_("Brief")},
    {"said", "said", N_("What was said")},
    {"followup_user", "followup_user", N_("Responsible for the follow-up")},
    {"followup_due", "followup_due", N_("Follow-up due by")},
    {"close", "followup_user", N_("Responsible for the follow-up")},
    {NULL, NULL, NULL}};

static void error_summary(Request *r)
{
    json_t *summary = form_error_summary(r, meeting_fields);
    json_object_set_new(r->data, "has_error_summary", json_boolean(json_array_size(summary) > 0));
    json_object_set_new(r->data, "error_summary", summary);
}

static Result new_form(Request *r, const char *iso3, int fresh)
{
    /* A new form has the planner in the delegation; a form shown again,
     * what was ticked. */
    Picks p = {.n_users = 0};
    if (fresh)
        p.users[p.n_users++] = r->user->id;
    else
        picks_from_form(r, &p);
    const char *lang = param_filter(r, "lang", letter_langs);
    const char *vis = param_filter(r, "visibility", meeting_visibilities);
    json_decref(r->data);
    r->data = json_build(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "iso3", iso3, "country",
        country_name_of(r, iso3), "targets", target_choices(r, iso3, &p), "members",
        member_choices(r, iso3, &p), "organisations", organisation_choices(r, iso3, &p), "langs",
        form_options(r, letter_langs, letter_lang_labels, lang ? lang : default_lang(r, iso3)),
        "visibilities", visibility_choices(r, vis ? vis : "private"), "form",
        fresh ? json_object() : form_typed(r));
    error_summary(r);
    r->page = "meeting_new";
    r->title = tr(r, "Plan a meeting");
    return R_OK;
}

/* The country of the form: ?country=, else the user's own. */
static Result plan_country(Request *r, const char **iso3)
{
    *iso3 = NULL;
    if (param_optional_iso3(r, "country", iso3) != R_OK)
        return R_NOT_FOUND;
    if (!*iso3)
        *iso3 = r->user->home_iso3;
    if (!*iso3 && r->user->country_count)
        *iso3 = r->user->countries[0]; /* a coordinator's first country */
    if (!*iso3 || !country_name_of(r, *iso3))
        return R_NOT_FOUND;
    if (!can_plan(r, *iso3)) {
        r->message = tr(r, "Only the members and coordinators of this country can plan a "
                           "meeting with its government.");
        return R_FORBIDDEN;
    }
    return R_OK;
}

Result meeting_new_page(Request *r)
{
    const char *iso3;
    Result res = plan_country(r, &iso3);
    return res == R_OK ? new_form(r, iso3, 1) : res;
}

/* A local time as HH:MM, or "". */
static int valid_time(const char *s)
{
    return !*s || (strlen(s) == 5 && s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' &&
                   s[2] == ':' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9' &&
                   (s[0] < '2' || s[1] <= '3'));
}

/* An IANA time zone name the system knows ("Africa/Luanda"), or "". */
static int valid_zone(const char *s)
{
    if (!*s)
        return 1;
    if (strlen(s) > 64 || strstr(s, "..") || s[0] == '/')
        return 0;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("/_+-", *p)))
            return 0;
    /* A file of the system's zone database: "Africa" alone is a folder. */
    char path[128];
    snprintf(path, sizeof path, "/usr/share/zoneinfo/%s", s);
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* What meeting_create_post writes: the meeting, the new contact if any,
 * the people met, the delegation (the planner always in it), the audit
 * line. R_BAD_REQUEST (nothing written) if a contact, member or
 * organisation is not the country's. */
typedef struct {
    Request *r;
    const char *iso3, *meeting_on, *meeting_time, *time_zone, *place, *goal, *lang, *visibility,
        *new_name, *new_title, *new_ministry;
    Picks p;
    const char *bad_field;
    int64_t id;
} MeetingAdd;

static Result add_row(Db *w, const char *which, int64_t meeting, int64_t id)
{
    Stmt *st;
    if (!strcmp(which, "target"))
        st = db_prepare(w, "INSERT INTO meeting_targets (meeting_id, target_id) VALUES (:m, :id) "
                           "ON CONFLICT DO NOTHING");
    else if (!strcmp(which, "user"))
        st = db_prepare(w, "INSERT INTO meeting_delegation (meeting_id, user_id) VALUES (:m, :id) "
                           "ON CONFLICT DO NOTHING");
    else
        st = db_prepare(w, "INSERT INTO meeting_delegation (meeting_id, org_id) VALUES (:m, :id) "
                           "ON CONFLICT DO NOTHING");
    db_bind_int(st, ":m", meeting);
    db_bind_int(st, ":id", id);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

static int person_of_country(Db *w, int64_t user, const char *iso3)
{
    Stmt *st = db_prepare(w, "SELECT 1 FROM people WHERE user_id = :u AND iso3 = :iso3");
    db_bind_int(st, ":u", user);
    db_bind_text(st, ":iso3", iso3);
    int yes = db_row(st);
    db_done(st);
    return yes;
}

static int organisation_of_country(Db *w, int64_t org, const char *iso3)
{
    Stmt *st = db_prepare(w, "SELECT 1 FROM organisations WHERE id = :o AND iso3 = :iso3");
    db_bind_int(st, ":o", org);
    db_bind_text(st, ":iso3", iso3);
    int yes = db_row(st);
    db_done(st);
    return yes;
}

/* Everything picked must be iso3's, checked inside the write so that
 * nothing is half-written: 1, or 0 with the field to blame in *field. */
static int picks_in_country(Db *w, const char *iso3, const Picks *p, const char **field)
{
    for (int i = 0; i < p->n_targets; i++)
        if (!target_in_country(w, p->targets[i], iso3))
            return *field = "target", 0;
    for (int i = 0; i < p->n_users; i++)
        if (!person_of_country(w, p->users[i], iso3))
            return *field = "delegate", 0;
    for (int i = 0; i < p->n_orgs; i++)
        if (!organisation_of_country(w, p->orgs[i], iso3))
            return *field = "organisation", 0;
    return 1;
}

/* Inside a write: tells each user of p not in before (and not the one
 * acting) by email that they are in the delegation, in their language,
 * with nothing in the message but a link (a mailbox can be read by
 * others). */
static Result tell_new_delegates(Db *w, Request *r, int64_t meeting, const Picks *p,
                                 const Picks *before)
{
    for (int i = 0; i < p->n_users; i++) {
        int64_t user = p->users[i];
        if (user == r->user->id || (before && picked(before->users, before->n_users, user)))
            continue;
        Stmt *st = db_prepare(w, "SELECT email, coalesce(lang, '') FROM users WHERE id = :u");
        db_bind_int(st, ":u", user);
        char email[256] = "", lang[8] = "";
        if (db_row(st)) {
            snprintf(email, sizeof email, "%s", db_text(st, 0));
            snprintf(lang, sizeof lang, "%s", db_text(st, 1));
        }
        db_done(st);
        if (!*email)
            continue;
        const char *l = i18n_supported(lang) ? lang : "en";
        const char *body = arena_printf(
            r->arena, "%s\n%s/meetings/%lld\n",
            i18n_gettext(l, N_("You are in the delegation of a meeting with a government. Its "
                               "brief is ready for the delegation to complete:")),
            r->base_url ? r->base_url : "", (long long)meeting);
        if (mail_queue(w, email, i18n_gettext(l, N_("You are in a meeting's delegation")), body) !=
            R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* Adds the picked people met (and the new contact, if any), delegates
 * and organisations to meeting, inside the caller's write. */
static Result add_picks(Db *w, Request *r, int64_t meeting, const char *iso3, const Picks *p,
                        const char *new_name, const char *new_title, const char *new_ministry)
{
    if (new_name) {
        int64_t target;
        if (target_insert_met(w, r, iso3, new_name, new_title, new_ministry, &target) != R_OK ||
            add_row(w, "target", meeting, target) != R_OK)
            return R_INTERNAL;
    }
    Result res = R_OK;
    for (int i = 0; res == R_OK && i < p->n_targets; i++)
        res = add_row(w, "target", meeting, p->targets[i]);
    for (int i = 0; res == R_OK && i < p->n_users; i++)
        res = add_row(w, "user", meeting, p->users[i]);
    for (int i = 0; res == R_OK && i < p->n_orgs; i++)
        res = add_row(w, "org", meeting, p->orgs[i]);
    return res;
}

static Result meeting_add_apply(Db *w, void *ctx)
{
    MeetingAdd *a = ctx;
    if (!picks_in_country(w, a->iso3, &a->p, &a->bad_field))
        return R_BAD_REQUEST;
    Stmt *st = db_prepare(
        w, "INSERT INTO meetings (iso3, author_id, meeting_on, meeting_time, time_zone, place, "
           "goal, lang, visibility, created_at, updated_at) VALUES (:iso3, :author, :on, :time, "
           ":tz, :place, :goal, :lang, :vis, :now, :now) RETURNING id");
    db_bind_text(st, ":iso3", a->iso3);
    db_bind_int(st, ":author", a->r->user->id);
    db_bind_text(st, ":on", a->meeting_on);
    db_bind_text(st, ":time", a->meeting_time);
    db_bind_text(st, ":tz", a->time_zone);
    db_bind_text(st, ":place", a->place);
    db_bind_text(st, ":goal", a->goal);
    db_bind_text(st, ":lang", a->lang);
    db_bind_text(st, ":vis", a->visibility);
    db_bind_int(st, ":now", now_seconds());
    if (db_insert(st, &a->id) != R_OK)
        return R_INTERNAL;
    /* The planner is always in the delegation. */
    Result res = add_row(w, "user", a->id, a->r->user->id);
    if (res == R_OK)
        res = add_picks(w, a->r, a->id, a->iso3, &a->p, a->new_name, a->new_title, a->new_ministry);
    if (res == R_OK)
        res = tell_new_delegates(w, a->r, a->id, &a->p, NULL);
    if (res != R_OK)
        return res;
    return audit_log(w, a->r->user->id, "meeting planned",
                     arena_printf(a->r->arena, "meeting %lld", (long long)a->id), a->iso3);
}

Result meeting_create_post(Request *r)
{
    const char *iso3;
    Result res = plan_country(r, &iso3);
    if (res != R_OK)
        return res;
    MeetingAdd a = {.r = r, .iso3 = iso3};
    int lang = 0, vis = 0;
    int bad = param_date(r, "meeting_on", &a.meeting_on) != R_OK;
    bad |= param_optional_text(r, "meeting_time", 5, 0, &a.meeting_time) != R_OK;
    if (a.meeting_time && !valid_time(a.meeting_time))
        bad |= param_error(r, "meeting_time", N_("Please give the time as HH:MM.")) != R_OK;
    bad |= param_optional_text(r, "time_zone", 64, 0, &a.time_zone) != R_OK;
    if (a.time_zone && !valid_zone(a.time_zone))
        bad |=
            param_error(r, "time_zone",
                        N_("Please give a time zone by its name, such as Africa/Luanda.")) != R_OK;
    bad |= param_optional_text(r, "place", 300, 0, &a.place) != R_OK;
    bad |= param_text(r, "goal", 2, 2000, 1, &a.goal) != R_OK;
    bad |= param_enum(r, "lang", letter_langs, &lang) != R_OK;
    bad |= param_optional_enum(r, "visibility", meeting_visibilities, 0, &vis) != R_OK;
    bad |= param_optional_text(r, "new_target_name", 200, 0, &a.new_name) != R_OK;
    bad |= param_optional_text(r, "new_target_title", 200, 0, &a.new_title) != R_OK;
    bad |= param_optional_text(r, "new_target_ministry", 200, 0, &a.new_ministry) != R_OK;
    if (a.new_name && !*a.new_name)
        a.new_name = NULL;
    if (picks_from_form(r, &a.p) != R_OK)
        bad |= param_error(r, "target", N_("Please choose one of the options.")) != R_OK;
    else if (a.p.n_targets == 0 && !a.new_name)
        bad |= param_error(r, "target",
                           N_("Choose at least one person you will meet, or add "
                              "a new one.")) != R_OK;
    if (bad) {
        new_form(r, iso3, 0);
        return R_BAD_REQUEST;
    }
    a.meeting_time = a.meeting_time ? a.meeting_time : "";
    a.time_zone = a.time_zone ? a.time_zone : "";
    a.place = a.place ? a.place : "";
    a.lang = letter_langs[lang];
    a.visibility = meeting_visibilities[vis];
    res = db_write(r->db, meeting_add_apply, &a);
    if (res == R_BAD_REQUEST) {
        param_error(r, a.bad_field, N_("Please choose one of the options."));
        new_form(r, iso3, 0);
        return R_BAD_REQUEST;
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/meetings/%lld", (long long)a.id));
}

/* ---- the brief: facts about the country, as this viewer may see them ---- */

static json_t *standing_json(Request *r, int64_t instrument, const char *iso3)
{
    Standing s = treaty_standing(r->db, instrument, iso3);
    return json_build("{s:s, s:s, s:s}", "status", tr(r, treaty_status_label(s.status)), "signed",
                      s.signature_date, "party", s.party_date);
}

static json_t *stages_json(Request *r, const char *iso3)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT vis.stage, vis.stage_date, vis.evidence FROM (SELECT *, recorded_by AS "
               "author_id FROM domestic_stages) vis WHERE vis.iso3 = :iso3 AND " VISIBILITY_SQL
               " ORDER BY vis.stage_date, vis.id");
    db_bind_text(st, ":iso3", iso3);
    visibility_bind(st, r->user);
    while (db_row(st))
        json_array_append_new(
            list, json_build("{s:s, s:s, s:s}", "stage",
                             tr(r, code_label(stage_codes, stage_labels, db_text(st, 0))), "date",
                             db_text(st, 1), "evidence", db_text(st, 2)));
    db_done(st);
    return list;
}

static json_t *letters_json(Request *r, const char *iso3)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT vis.id, vis.subject, vis.status, coalesce(vis.sent_on, ''), "
               "(SELECT count(*) FROM responses x WHERE x.letter_id = vis.id) FROM letters vis "
               "WHERE vis.iso3 = :iso3 AND vis.status <> 'draft' AND " VISIBILITY_SQL
               " ORDER BY vis.sent_on DESC, vis.id DESC LIMIT 20");
    db_bind_text(st, ":iso3", iso3);
    visibility_bind(st, r->user);
    while (db_row(st))
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:s, s:I}", "id", (json_int_t)db_int(st, 0), "subject",
                       db_text(st, 1), "status_label", letter_status_words(r, db_text(st, 2)),
                       "sent_on", db_text(st, 3), "responses", (json_int_t)db_int(st, 4)));
    db_done(st);
    return list;
}

static json_t *responses_json(Request *r, const char *iso3)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT vis.received_on, vis.class, vis.text FROM (SELECT *, recorded_by AS "
               "author_id FROM responses) vis WHERE vis.iso3 = :iso3 AND " VISIBILITY_SQL
               " ORDER BY vis.received_on DESC LIMIT 20");
    db_bind_text(st, ":iso3", iso3);
    visibility_bind(st, r->user);
    while (db_row(st))
        json_array_append_new(list, json_build("{s:s, s:s, s:s}", "received_on", db_text(st, 0),
                                               "class_label", letter_class_words(r, db_text(st, 1)),
                                               "text", db_text(st, 2)));
    db_done(st);
    return list;
}

/* The country's other meetings this viewer may see, newest first: date,
 * state and a link only. Their goals and agreements are read on their own
 * pages, where each read is logged. */
static json_t *past_meetings_json(Request *r, const char *iso3, int64_t except)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT vis.id, vis.meeting_on, vis.state FROM meetings vis WHERE vis.iso3 = :iso3 "
               "AND vis.id <> :except AND (" VISIBILITY_SQL
               " OR EXISTS (SELECT 1 FROM meeting_delegation d WHERE d.meeting_id = vis.id AND "
               "(d.user_id = :viewer_id OR d.org_id IN (SELECT op.org_id FROM org_people op "
               "JOIN people p ON p.id = op.person_id WHERE p.user_id = :viewer_id)))) "
               "ORDER BY vis.meeting_on DESC, vis.id DESC LIMIT 20");
    db_bind_text(st, ":iso3", iso3);
    db_bind_int(st, ":except", except);
    visibility_bind(st, r->user);
    while (db_row(st))
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s}", "id", (json_int_t)db_int(st, 0), "date", db_text(st, 1),
                       "state",
                       tr(r, code_label(meeting_states, meeting_state_labels, db_text(st, 2)))));
    db_done(st);
    return list;
}

static json_t *brief_json(Request *r, const Meeting *m)
{
    /* The campaign's instrument and, if it has one, the treaty it needs. */
    Campaign c = treaty_campaign(r->db);
    CountryRow row = {0};
    snprintf(row.iso3, sizeof row.iso3, "%s", m->iso3);
    treaty_row_standings(r->db, &c, &row);
    Ask ask = treaty_row_ask(&c, &row);
    AcceptedProcedure accepted[OTHER_PROCEDURES];
    size_t n = treaty_country_accepted(r->db, &c, m->iso3, accepted);
    return json_build(
        "{s:o, s:o, s:s, s:o, s:o, s:o, s:s, s:o}", "protocol", standing_json(r, c.id, m->iso3),
        "covenant", c.parent_id ? standing_json(r, c.parent_id, m->iso3) : json_null(), "ask",
        treaty_ask_say(r, &c, ask), "stages", stages_json(r, m->iso3), "letters",
        letters_json(r, m->iso3), "responses", responses_json(r, m->iso3), "other_procedures",
        treaty_procedures_text(r->arena, r->lang ? r->lang : "en", accepted, n), "past_meetings",
        past_meetings_json(r, m->iso3, m->id));
}

/* ---- the meeting page ---- */

static json_t *targets_of(Request *r, int64_t meeting)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(r->db, "SELECT t.id, t.name, t.title, t.ministry, t.language "
                                 "FROM meeting_targets mt JOIN targets t ON t.id = mt.target_id "
                                 "WHERE mt.meeting_id = :m ORDER BY t.id");
    db_bind_int(st, ":m", meeting);
    while (db_row(st))
        json_array_append_new(list, json_build("{s:I, s:s, s:s, s:s, s:s}", "id",
                                               (json_int_t)db_int(st, 0), "name", db_text(st, 1),
                                               "title", db_text(st, 2), "ministry", db_text(st, 3),
                                               "language", db_text(st, 4)));
    db_done(st);
    return list;
}

/* The delegation: users (who may own the follow-up) and organisations. */
static json_t *delegation_of(Request *r, const Meeting *m, int users_only)
{
    json_t *list = json_array();
    Stmt *st = db_prepare(
        r->db, "SELECT coalesce(d.user_id, 0), coalesce(d.org_id, 0), "
               "coalesce(o.name, p.name, u.display_name, '') FROM meeting_delegation d "
               "LEFT JOIN users u ON u.id = d.user_id LEFT JOIN people p ON p.user_id = d.user_id "
               "LEFT JOIN organisations o ON o.id = d.org_id WHERE d.meeting_id = :m "
               "ORDER BY d.id");
    db_bind_int(st, ":m", m->id);
    while (db_row(st)) {
        int64_t user = db_int(st, 0);
        if (users_only && !user)
            continue;
        json_array_append_new(list,
                              json_build("{s:I, s:I, s:s, s:b}", "user", (json_int_t)user, "org",
                                         (json_int_t)db_int(st, 1), "name", db_text(st, 2),
                                         "selected", user && user == m->followup_user_id));
    }
    db_done(st);
    return list;
}

static const char *user_name(Request *r, int64_t user)
{
    Stmt *st = db_prepare(r->db, "SELECT coalesce(p.name, u.display_name) FROM users u "
                                 "LEFT JOIN people p ON p.user_id = u.id WHERE u.id = :u");
    db_bind_int(st, ":u", user);
    const char *name = db_row(st) ? arena_strdup(r->arena, db_text(st, 0)) : "";
    db_done(st);
    return name;
}

static json_t *meeting_json(Request *r, const Meeting *m)
{
    json_t *key = json_array();
    if (*m->key1)
        json_array_append_new(key, json_string(m->key1));
    if (*m->key2)
        json_array_append_new(key, json_string(m->key2));
    json_t *j = json_build(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, "
        "s:s, s:s, s:I}",
        "id", (json_int_t)m->id, "iso3", m->iso3, "country", country_name_of(r, m->iso3),
        "meeting_on", m->meeting_on, "meeting_time", m->meeting_time, "time_zone", m->time_zone,
        "place", m->place, "goal", m->goal, "lang", m->lang, "notes", m->notes, "key_messages", key,
        "state", m->state, "state_label",
        tr(r, code_label(meeting_states, meeting_state_labels, m->state)), "said", m->said,
        "agreements", m->agreements, "report", m->report, "public_summary", m->public_summary,
        "visibility", m->visibility, "followup_due", m->followup_due, "version",
        (json_int_t)m->version);
    json_object_set_new(j, "visibility_label",
                        json_string(tr(r, code_label(meeting_visibilities,
                                                     meeting_visibility_labels, m->visibility))));
    json_object_set_new(j, "followup_done_on", json_string(m->followup_done_on));
    json_object_set_new(j, "followup_name",
                        json_string(m->followup_user_id ? user_name(r, m->followup_user_id) : ""));
    json_object_set_new(j, "targets", targets_of(r, m->id));
    json_object_set_new(j, "delegation", delegation_of(r, m, 0));
    return j;
}

/* The choices of the form that changes who is met and who goes. */
static json_t *people_choices(Request *r, const char *iso3, const Picks *p)
{
    return json_build("{s:o, s:o, s:o}", "targets", target_choices(r, iso3, p), "members",
                      member_choices(r, iso3, p), "organisations",
                      organisation_choices(r, iso3, p));
}

static Result show_meeting(Request *r, const Meeting *m, int log)
{
    if (log && meeting_log_read(r, m) != R_OK)
        return R_INTERNAL;
    json_t *meeting = meeting_json(r, m);
    json_t *keys = json_object_get(meeting, "key_messages");
    Buf b = {0};
    for (size_t i = 0; i < json_array_size(keys); i++)
        buf_printf(&b, "%s%s", i ? "\n" : "", json_string_value(json_array_get(keys, i)));
    json_object_set_new(meeting, "key_messages_text", json_string(b.data ? b.data : ""));
    buf_free(&b);
    json_decref(r->data);
    int editable = can_edit_meeting(r, m);
    r->data = json_build("{s:o, s:o, s:b, s:b, s:b}", "meeting", meeting, "brief", brief_json(r, m),
                         "can_edit", editable, "can_share", can_share_meeting(r, m), "closed",
                         !strcmp(m->state, "closed"));
    if (editable && !r->is_api) {
        Picks now;
        picks_of_meeting(r, m->id, &now);
        json_object_set_new(r->data, "people", people_choices(r, m->iso3, &now));
        json_object_set_new(r->data, "followup_choices", delegation_of(r, m, 1));
        json_object_set_new(r->data, "visibilities", visibility_choices(r, m->visibility));
    }
    r->page = "meeting";
    r->title = tr(r, "Meeting with the government");
    return R_OK;
}

Result meeting_page(Request *r)
{
    Meeting m;
    Result res = visible_meeting(r, &m);
    return res == R_OK ? show_meeting(r, &m, 1) : res;
}

/* A meeting this user may see, then edit: R_NOT_FOUND or R_FORBIDDEN. */
static Result editable_meeting(Request *r, Meeting *m)
{
    Result res = visible_meeting(r, m);
    if (res != R_OK)
        return res;
    if (!can_edit_meeting(r, m)) {
        r->message = tr(r, "Only the delegation, the meeting's author and the country's "
                           "coordinators can change it.");
        return R_FORBIDDEN;
    }
    return R_OK;
}

/* The texts typed in a form that lost to a newer save, to copy over the
 * version now shown: [{text}] for each non-empty one. */
static json_t *typed_texts(Request *r)
{
    static const char *const fields[] = {"key_messages", "notes",          "said", "agreements",
                                         "report",       "public_summary", NULL};
    json_t *list = json_array();
    for (int i = 0; fields[i]; i++) {
        const char *v = NULL;
        if (param_optional_text(r, fields[i], 60000, 1, &v) == R_OK && v && *v)
            json_array_append_new(list, json_build("{s:s}", "text", v));
    }
    return list;
}

/* The page again after form ("brief_form" or "outcome_form") failed:
 * 400 with what was typed in that form over the stored values and
 * r->errors as recorded; or, for a save that lost to a newer one (status
 * 409), the newer version in the forms and what was typed beside them. */
static Result show_again(Request *r, const Meeting *m, const char *form, int status)
{
    Result res = show_meeting(r, m, 0);
    if (res != R_OK)
        return res;
    error_summary(r);
    if (status) {
        json_object_set_new(r->data, "mine", typed_texts(r));
        r->status = status;
        return R_OK;
    }
    json_object_set_new(r->data, form, form_typed(r));
    if (!strcmp(form, "people_form") && json_object_get(r->data, "people")) {
        Picks typed;
        picks_from_form(r, &typed);
        json_object_set_new(r->data, "people", people_choices(r, m->iso3, &typed));
    }
    /* The choices as they were made, not as stored. */
    int64_t owner = 0;
    if (!strcmp(form, "outcome_form") &&
        param_optional_int(r, "followup_user", 1, INT64_MAX, 0, &owner) == R_OK) {
        json_t *choices = json_object_get(r->data, "followup_choices");
        size_t i;
        json_t *c;
        json_array_foreach(choices, i, c)
        {
            json_int_t user = json_integer_value(json_object_get(c, "user"));
            json_object_set_new(c, "selected", json_boolean(owner && user == owner));
        }
        const char *vis = param_filter(r, "visibility", meeting_visibilities);
        if (vis && json_object_get(r->data, "visibilities"))
            json_object_set_new(r->data, "visibilities", visibility_choices(r, vis));
    }
    return R_BAD_REQUEST;
}

/* ---- the brief, edited together ---- */

typedef struct {
    Request *r;
    int64_t id, version;
    const char *notes, *key[MAX_KEY_MESSAGES];
} BriefEdit;

static Result brief_apply(Db *w, void *ctx)
{
    BriefEdit *e = ctx;
    /* Only over the version the editor read: two members of the delegation
     * saving at once do not silently undo each other. */
    Stmt *st = db_prepare(
        w, "UPDATE meetings SET notes = :notes, key_message_1 = :k1, key_message_2 = :k2, "
           "version = version + 1, updated_at = :now WHERE id = :id AND version = :v");
    db_bind_text(st, ":notes", e->notes);
    db_bind_text(st, ":k1", e->key[0]);
    db_bind_text(st, ":k2", e->key[1]);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", e->id);
    db_bind_int(st, ":v", e->version);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_CONFLICT;
    return audit_log(w, e->r->user->id, "meeting brief edited",
                     arena_printf(e->r->arena, "meeting %lld", (long long)e->id), "");
}

/* The key messages, one a line: at most MAX_KEY_MESSAGES non-empty lines,
 * each at most 500 bytes. R_BAD_REQUEST with the field's error otherwise. */
static Result parse_key_messages(Request *r, const char *text, const char **key)
{
    key[0] = key[1] = "";
    int n = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (len && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++, len--;
        while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r'))
            len--;
        if (len) {
            if (n == MAX_KEY_MESSAGES)
                return param_error(r, "key_messages",
                                   N_("Focus on the one or two most important messages: at "
                                      "most two key messages."));
            if (len > 500)
                return param_error(r, "key_messages",
                                   N_("A key message is at most 500 characters long."));
            key[n++] = arena_strndup(r->arena, s, len);
        }
        p = end ? end + 1 : NULL;
    }
    return R_OK;
}

Result meeting_brief_post(Request *r)
{
    Meeting m;
    Result res = editable_meeting(r, &m);
    if (res != R_OK)
        return res;
    BriefEdit e = {.r = r, .id = m.id};
    const char *keys = NULL;
    int bad = param_optional_text(r, "notes", 20000, 1, &e.notes) != R_OK;
    bad |= param_optional_text(r, "key_messages", 2000, 1, &keys) != R_OK;
    bad |= param_int(r, "version", 1, INT64_MAX, &e.version) != R_OK;
    if (!bad)
        bad = parse_key_messages(r, keys, e.key) != R_OK;
    if (bad)
        return show_again(r, &m, "brief_form", 0);
    e.notes = e.notes ? e.notes : "";
    res = db_write(r->db, brief_apply, &e);
    if (res == R_CONFLICT) {
        param_error(r, "notes",
                    N_("Someone in the delegation saved the brief after you opened "
                       "it. Their version is shown; copy your changes over it."));
        Meeting now;
        if (load_meeting(r, m.id, &now) != R_OK)
            return R_NOT_FOUND;
        return show_again(r, &now, "brief_form", 409);
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/meetings/%lld#brief", (long long)m.id));
}

/* ---- the outcome ---- */

typedef struct {
    Request *r;
    int64_t id, version, followup;
    const char *said, *agreements, *report, *summary, *due, *done_on, *visibility;
} OutcomeEdit;

static Result outcome_apply(Db *w, void *ctx)
{
    OutcomeEdit *e = ctx;
    /* A new due date gets its own reminders. */
    Stmt *st = db_prepare(
        w, "UPDATE meetings SET said = :said, agreements = :agreements, report = :report, "
           "public_summary = :summary, followup_user_id = CAST(:followup AS BIGINT), "
           "reminded = CASE WHEN followup_due = :due THEN reminded ELSE '' END, "
           "followup_due = :due, followup_done_on = :done, visibility = :vis, "
           "state = CASE WHEN state = 'planned' THEN 'held' ELSE state END, "
           "version = version + 1, updated_at = :now WHERE id = :id AND version = :v");
    db_bind_text(st, ":said", e->said);
    db_bind_text(st, ":agreements", e->agreements);
    db_bind_text(st, ":report", e->report);
    db_bind_text(st, ":summary", e->summary);
    if (e->followup)
        db_bind_int(st, ":followup", e->followup);
    else
        db_bind_null(st, ":followup");
    db_bind_text(st, ":due", e->due);
    db_bind_text(st, ":done", e->done_on);
    db_bind_text(st, ":vis", e->visibility);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", e->id);
    db_bind_int(st, ":v", e->version);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_CONFLICT;
    return audit_log(w, e->r->user->id, "meeting outcome recorded",
                     arena_printf(e->r->arena, "meeting %lld", (long long)e->id), e->visibility);
}

/* 1 if user is in m's delegation in person (who may own the follow-up). */
static int delegate_in_person(Request *r, const Meeting *m, int64_t user)
{
    Stmt *st = db_prepare(r->db, "SELECT 1 FROM meeting_delegation WHERE meeting_id = :m "
                                 "AND user_id = :u");
    db_bind_int(st, ":m", m->id);
    db_bind_int(st, ":u", user);
    int yes = db_row(st);
    db_done(st);
    return yes;
}

Result meeting_outcome_post(Request *r)
{
    Meeting m;
    Result res = editable_meeting(r, &m);
    if (res != R_OK)
        return res;
    OutcomeEdit e = {.r = r, .id = m.id, .visibility = m.visibility};
    int bad = param_optional_text(r, "said", 20000, 1, &e.said) != R_OK;
    bad |= param_optional_text(r, "agreements", 10000, 1, &e.agreements) != R_OK;
    bad |= param_optional_text(r, "report", 50000, 1, &e.report) != R_OK;
    bad |= param_optional_text(r, "public_summary", 5000, 1, &e.summary) != R_OK;
    bad |= param_optional_int(r, "followup_user", 1, INT64_MAX, 0, &e.followup) != R_OK;
    bad |= param_optional_date(r, "followup_due", &e.due) != R_OK;
    int done = 0;
    bad |= param_checkbox(r, "followup_done", &done) != R_OK;
    bad |= param_int(r, "version", 1, INT64_MAX, &e.version) != R_OK;
    if (!bad && e.followup && !delegate_in_person(r, &m, e.followup))
        bad = param_error(r, "followup_user", N_("Please choose one of the options.")) != R_OK;
    if (!bad && e.followup && (!e.due || !*e.due))
        bad = param_error(r, "followup_due",
                          N_("Give the date by which the follow-up should be done.")) != R_OK;
    if (can_share_meeting(r, &m)) {
        int vis = -1; /* absent: the meeting keeps its audience */
        bad |= param_optional_enum(r, "visibility", meeting_visibilities, -1, &vis) != R_OK;
        if (vis >= 0)
            e.visibility = meeting_visibilities[vis];
    }
    if (bad)
        return show_again(r, &m, "outcome_form", 0);
    e.said = e.said ? e.said : "";
    e.agreements = e.agreements ? e.agreements : "";
    e.report = e.report ? e.report : "";
    e.summary = e.summary ? e.summary : "";
    e.due = e.followup && e.due ? e.due : "";
    /* Done: the day it was first said to be (kept while it stays ticked). */
    e.done_on = !done ? "" : *m.followup_done_on ? m.followup_done_on : model_letter_today();
    res = db_write(r->db, outcome_apply, &e);
    if (res == R_CONFLICT) {
        param_error(r, "said",
                    N_("Someone in the delegation saved the meeting after you opened "
                       "it. Their version is shown; copy your changes over it."));
        Meeting now;
        if (load_meeting(r, m.id, &now) != R_OK)
            return R_NOT_FOUND;
        return show_again(r, &now, "outcome_form", 409);
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/meetings/%lld#outcome", (long long)m.id));
}

typedef struct {
    Request *r;
    int64_t id;
} MeetingClose;

static Result close_apply(Db *w, void *ctx)
{
    MeetingClose *c = ctx;
    /* Checked again in the write: the follow-up may have been cleared
     * since the page was read. */
    Stmt *st = db_prepare(w, "UPDATE meetings SET state = 'closed', version = version + 1, "
                             "updated_at = :now WHERE id = :id AND followup_user_id IS NOT NULL "
                             "AND followup_due <> ''");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", c->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) != 1)
        return R_CONFLICT;
    return audit_log(w, c->r->user->id, "meeting closed",
                     arena_printf(c->r->arena, "meeting %lld", (long long)c->id), "");
}

Result meeting_close_post(Request *r)
{
    Meeting m;
    Result res = editable_meeting(r, &m);
    if (res != R_OK)
        return res;
    MeetingClose c = {.r = r, .id = m.id};
    res = db_write(r->db, close_apply, &c);
    if (res == R_CONFLICT) {
        param_error(r, "close",
                    N_("Agree on who is responsible for the follow-up, and by when, "
                       "before closing the meeting."));
        return show_again(r, &m, "outcome_form", 409);
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/meetings/%lld", (long long)m.id));
}

/* ---- who is met, who goes ---- */

/* What meeting_people_post writes: the people met and the delegation
 * replaced by what was ticked (the author and the follow-up's owner always
 * stay), the new contact if any, the new delegates told, the audit line. */
typedef struct {
    Request *r;
    int64_t id, author, followup;
    const char *iso3, *new_name, *new_title, *new_ministry, *bad_field;
    Picks p, before;
} PeopleEdit;

static Result people_apply(Db *w, void *ctx)
{
    PeopleEdit *e = ctx;
    if (!picks_in_country(w, e->iso3, &e->p, &e->bad_field))
        return R_BAD_REQUEST;
    Stmt *st = db_prepare(w, "DELETE FROM meeting_targets WHERE meeting_id = :m");
    db_bind_int(st, ":m", e->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "DELETE FROM meeting_delegation WHERE meeting_id = :m AND (user_id IS NULL "
                       "OR (user_id <> :author AND user_id <> :followup))");
    db_bind_int(st, ":m", e->id);
    db_bind_int(st, ":author", e->author);
    db_bind_int(st, ":followup", e->followup);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    Result res =
        add_picks(w, e->r, e->id, e->iso3, &e->p, e->new_name, e->new_title, e->new_ministry);
    if (res == R_OK)
        res = tell_new_delegates(w, e->r, e->id, &e->p, &e->before);
    if (res != R_OK)
        return res;
    st = db_prepare(w, "UPDATE meetings SET updated_at = :now WHERE id = :m");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":m", e->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, e->r->user->id, "meeting delegation changed",
                     arena_printf(e->r->arena, "meeting %lld", (long long)e->id), "");
}

Result meeting_people_post(Request *r)
{
    Meeting m;
    Result res = editable_meeting(r, &m);
    if (res != R_OK)
        return res;
    PeopleEdit e = {
        .r = r, .id = m.id, .author = m.author_id, .followup = m.followup_user_id, .iso3 = m.iso3};
    int bad = param_optional_text(r, "new_target_name", 200, 0, &e.new_name) != R_OK;
    bad |= param_optional_text(r, "new_target_title", 200, 0, &e.new_title) != R_OK;
    bad |= param_optional_text(r, "new_target_ministry", 200, 0, &e.new_ministry) != R_OK;
    if (e.new_name && !*e.new_name)
        e.new_name = NULL;
    if (picks_from_form(r, &e.p) != R_OK)
        bad |= param_error(r, "target", N_("Please choose one of the options.")) != R_OK;
    else if (e.p.n_targets == 0 && !e.new_name)
        bad |= param_error(r, "target",
                           N_("Choose at least one person you will meet, or add "
                              "a new one.")) != R_OK;
    if (bad)
        return show_again(r, &m, "people_form", 0);
    picks_of_meeting(r, m.id, &e.before);
    res = db_write(r->db, people_apply, &e);
    if (res == R_BAD_REQUEST) {
        param_error(r, e.bad_field, N_("Please choose one of the options."));
        return show_again(r, &m, "people_form", 0);
    }
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/meetings/%lld#people", (long long)m.id));
}

/* ---- the thank-you letter ---- */

/* The address block: the first person met, then the country. */
static const char *recipient_block(Request *r, const Meeting *m, int64_t *target)
{
    const char *country = country_name_of(r, m->iso3);
    Buf b = {0};
    *target = 0;
    Stmt *st = db_prepare(r->db, "SELECT t.id, t.name, t.title, t.ministry, t.address "
                                 "FROM meeting_targets mt JOIN targets t ON t.id = mt.target_id "
                                 "WHERE mt.meeting_id = :m ORDER BY t.id LIMIT 1");
    db_bind_int(st, ":m", m->id);
    if (db_row(st)) {
        *target = db_int(st, 0);
        for (int i = 1; i < 5; i++)
            if (*db_text(st, i))
                buf_printf(&b, "%s%s", b.len ? "\n" : "", db_text(st, i));
    }
    db_done(st);
    if (country && !strstr(b.data ? b.data : "", country))
        buf_printf(&b, "%s%s", b.len ? "\n" : "", country);
    const char *block = arena_strndup(r->arena, b.data ? b.data : "", b.len);
    buf_free(&b);
    return block;
}

/* Who signs: the delegation's first organisation, else the author's
 * first, else the author's name. */
static const char *sender_of(Request *r, const Meeting *m)
{
    Stmt *st = db_prepare(
        r->db, "SELECT o.name FROM meeting_delegation d JOIN organisations o ON o.id = d.org_id "
               "WHERE d.meeting_id = :m UNION ALL SELECT o.name FROM people p "
               "JOIN org_people op ON op.person_id = p.id JOIN organisations o ON o.id = op.org_id "
               "WHERE p.user_id = :author");
    db_bind_int(st, ":m", m->id);
    db_bind_int(st, ":author", m->author_id);
    const char *name = db_row(st) ? arena_strdup(r->arena, db_text(st, 0)) : NULL;
    db_done(st);
    if (!name)
        name = m->author_id ? user_name(r, m->author_id) : "";
    return name && *name ? name : country_name_of(r, m->iso3);
}

Result meeting_thanks_pdf_page(Request *r)
{
    Meeting m;
    Result res = visible_meeting(r, &m);
    if (res == R_OK)
        res = meeting_log_read(r, &m);
    if (res != R_OK)
        return res;
    Stmt *st = db_prepare(r->db, "SELECT subject, body, lang FROM model_letters WHERE ask = :ask "
                                 "AND lang IN (:lang, 'en') ORDER BY CASE WHEN lang = :lang "
                                 "THEN 0 ELSE 1 END LIMIT 1");
    db_bind_text(st, ":ask", MODEL_LETTER_THANK_YOU);
    db_bind_text(st, ":lang", m.lang);
    const char *subject = NULL, *body = NULL, *lang = NULL;
    if (db_row(st)) {
        subject = arena_strdup(r->arena, db_text(st, 0));
        body = arena_strdup(r->arena, db_text(st, 1));
        lang = arena_strdup(r->arena, db_text(st, 2));
    }
    db_done(st);
    if (!body)
        return R_NOT_FOUND;
    int64_t target;
    const char *recipient = recipient_block(r, &m, &target);
    const char *sender = sender_of(r, &m);
    json_t *fields = model_letter_fields(r, m.iso3, target, lang, sender,
                                         m.author_id ? user_name(r, m.author_id) : "");
    json_object_set_new(fields, "meeting_date",
                        json_string(model_letter_date(r, m.meeting_on, lang)));
    Buf keys = {0};
    if (*m.key1)
        buf_printf(&keys, "– %s", m.key1);
    if (*m.key2)
        buf_printf(&keys, "%s– %s", keys.len ? "\n" : "", m.key2);
    json_object_set_new(fields, "key_messages", json_string(keys.data ? keys.data : ""));
    buf_free(&keys);
    json_object_set_new(fields, "agreements", json_string(m.agreements));
    const char *text = NULL, *err = NULL;
    res = model_letter_render(r, body, fields, &text, &err);
    if (res == R_OK)
        res = model_letter_render(r, subject, fields, &subject, &err);
    json_decref(fields);
    if (res != R_OK) {
        r->message = err;
        return R_BAD_REQUEST;
    }
    static const char *const papers[] = {"a4", "letter", NULL};
    const char *paper = param_filter(r, "paper", papers);
    LetterPdf pdf = {.paper = paper && !strcmp(paper, "letter") ? PAPER_LETTER : PAPER_A4,
                     .lang = lang,
                     .org_name = sender,
                     .place_and_date = model_letter_date(r, model_letter_today(), lang),
                     .recipient = recipient,
                     .subject = subject,
                     .body = text,
                     .signature = sender};
    res = pdf_letter(&pdf, &r->body_out);
    if (res == R_BAD_REQUEST || res == R_TOO_LARGE) {
        r->message = tr(r, "This letter holds text that cannot be printed, or too much of it. "
                           "Please edit it and try again.");
        return R_BAD_REQUEST;
    }
    if (res != R_OK)
        return res;
    r->content_type = "application/pdf";
    http_add_header(r, "Content-Disposition",
                    arena_printf(r->arena, "attachment; filename=\"thank-you-%s-%lld.pdf\"", m.iso3,
                                 (long long)m.id));
    return R_OK;
}

/* ---- lists and the API ---- */

/* The meetings this user may see (in the delegation or by the rule), newest
 * first, shaped after OSDI's events (title, start_date, location, status)
 * with Ratify's own fields beside. *others counts those not the user's own,
 * whose reading is logged. */
static json_t *meetings_json(Request *r, int *others)
{
    json_t *list = json_array();
    *others = 0;
    Stmt *st = db_prepare(
        r->db,
        "SELECT vis.id, vis.iso3, vis.meeting_on, vis.meeting_time, vis.time_zone, "
        "vis.place, vis.goal, vis.state, coalesce(vis.author_id, 0), vis.visibility "
        "FROM meetings vis WHERE (" VISIBILITY_SQL " OR "
        "EXISTS (SELECT 1 FROM meeting_delegation d WHERE d.meeting_id = vis.id AND (d.user_id = "
        ":viewer_id OR d.org_id IN (SELECT op.org_id FROM org_people op JOIN people p "
        "ON p.id = op.person_id WHERE p.user_id = :viewer_id)))"
        ") "
        "ORDER BY vis.meeting_on DESC, vis.id DESC LIMIT 500");
    visibility_bind(st, r->user);
    while (db_row(st)) {
        const char *state = db_text(st, 7);
        const char *time = db_text(st, 3);
        const char *name = country_name_of(r, db_text(st, 1));
        *others += !r->user || db_int(st, 8) != r->user->id;
        json_t *item = json_build(
            "{s:I, s:[s], s:s, s:s, s:s, s:s, s:{s:s, s:{s:s}}, s:s, s:s, s:s, s:s}", "id",
            (json_int_t)db_int(st, 0), "identifiers",
            arena_printf(r->arena, "ratify:meeting:%lld", (long long)db_int(st, 0)), "title",
            db_text(st, 6), "start_date",
            *time ? arena_printf(r->arena, "%sT%s", db_text(st, 2), time) : db_text(st, 2),
            "time_zone", db_text(st, 4), "status",
            !strcmp(state, "planned") ? "confirmed" : "completed", "location", "venue",
            db_text(st, 5), "address", "country", db_text(st, 1), "country", db_text(st, 1),
            "state", state, "state_label",
            tr(r, code_label(meeting_states, meeting_state_labels, state)), "visibility",
            db_text(st, 9));
        json_object_set_new(item, "country_name", json_string(name ? name : db_text(st, 1)));
        json_array_append_new(list, item);
    }
    db_done(st);
    return list;
}

Result meeting_list_page(Request *r)
{
    int others;
    json_t *list = meetings_json(r, &others);
    if (others) {
        MeetingRead e = {.user = r->user ? r->user->id : 0,
                         .token = r->api_token_id,
                         .action = "meetings listed",
                         .object = "meetings",
                         .detail = arena_printf(r->arena, "%d", others)};
        if (db_write(r->db, meeting_read_apply, &e) != R_OK) {
            json_decref(list);
            return R_INTERNAL;
        }
    }
    json_decref(r->data);
    r->data = json_build("{s:o, s:s}", "items", list, "home",
                         r->user && r->user->home_iso3 ? r->user->home_iso3 : "");
    r->page = "meetings";
    r->title = tr(r, "Meetings with governments");
    return R_OK;
}

/* ---- on the country page ---- */

json_t *meeting_country_summary(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT count(*), coalesce(max(meeting_on), '') FROM meetings "
                                 "WHERE iso3 = :iso3 AND state <> 'planned'");
    db_bind_text(st, ":iso3", iso3);
    int held = 0;
    const char *last = "";
    if (db_row(st)) {
        held = (int)db_int(st, 0);
        last = arena_strdup(r->arena, db_text(st, 1));
    }
    db_done(st);
    /* Only the part of a report its authors wrote for everyone. */
    json_t *summaries = json_array();
    st = db_prepare(r->db, "SELECT meeting_on, public_summary FROM meetings WHERE iso3 = :iso3 "
                           "AND state <> 'planned' AND public_summary <> '' "
                           "ORDER BY meeting_on DESC, id DESC LIMIT 10");
    db_bind_text(st, ":iso3", iso3);
    while (db_row(st))
        json_array_append_new(
            summaries, json_build("{s:s, s:s}", "date", db_text(st, 0), "text", db_text(st, 1)));
    db_done(st);
    return json_build("{s:i, s:s, s:o, s:b}", "held", held, "last_held", last, "summaries",
                      summaries, "can_plan", can_plan(r, iso3));
}

/* ---- reminders ---- */

typedef struct {
    int64_t id;
    const char *stage, *email, *subject, *body;
} FollowupReminder;

static Result remind_apply(Db *w, void *ctx)
{
    FollowupReminder *f = ctx;
    /* Once per stage: only if no other pass sent it meanwhile. */
    Stmt *st = db_prepare(w, "UPDATE meetings SET reminded = :stage WHERE id = :id "
                             "AND reminded <> :stage AND reminded <> 'overdue' "
                             "AND followup_done_on = ''");
    db_bind_text(st, ":stage", f->stage);
    db_bind_int(st, ":id", f->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_OK;
    return mail_queue(w, f->email, f->subject, f->body) == R_OK ? R_OK : R_INTERNAL;
}

/* "soon", "overdue" or NULL for a follow-up due on due (YYYY-MM-DD) at
 * now, after the reminder already sent. In C: date arithmetic is not
 * portable SQL. */
static const char *reminder_stage(const char *due, const char *sent, int64_t now)
{
    struct tm tm = {0};
    const char *end = strptime(due, "%Y-%m-%d", &tm);
    if (!end || *end)
        return NULL;
    int64_t day = (int64_t)timegm(&tm);
    if (now >= day + 86400)
        return strcmp(sent, "overdue") ? "overdue" : NULL;
    if (now >= day - REMIND_DAYS_BEFORE * 86400)
        return !*sent ? "soon" : NULL;
    return NULL;
}

Result meeting_remind(Db *db, const char *base_url)
{
    Stmt *st = db_prepare(db, "SELECT m.id, u.email, coalesce(u.lang, m.lang), m.followup_due, "
                              "m.reminded FROM meetings m JOIN users u ON u.id = "
                              "m.followup_user_id WHERE m.followup_due <> '' "
                              "AND m.followup_done_on = '' AND m.reminded <> 'overdue' "
                              "ORDER BY m.followup_due, m.id");
    int64_t ids[100];
    const char *stages[100];
    char emails[100][256], langs[100][8];
    int n = 0;
    int64_t now = now_seconds();
    while (n < 100 && db_row(st)) {
        const char *stage = reminder_stage(db_text(st, 3), db_text(st, 4), now);
        if (!stage)
            continue;
        ids[n] = db_int(st, 0);
        stages[n] = stage;
        snprintf(emails[n], sizeof emails[n], "%s", db_text(st, 1));
        snprintf(langs[n], sizeof langs[n], "%s", db_text(st, 2));
        n++;
    }
    db_done(st);
    for (int i = 0; i < n; i++) {
        const char *lang = i18n_supported(langs[i]) ? langs[i] : "en";
        int overdue = !strcmp(stages[i], "overdue");
        char body[1024];
        snprintf(body, sizeof body, "%s\n%s/meetings/%lld\n",
                 i18n_gettext(lang, overdue ? N_("The follow-up of a meeting with the government "
                                                 "you are responsible for is past its date. "
                                                 "Please record what was done:")
                                            : N_("The follow-up of a meeting with the government "
                                                 "you are responsible for is due soon:")),
                 base_url ? base_url : "", (long long)ids[i]);
        FollowupReminder f = {.id = ids[i],
                              .stage = stages[i],
                              .email = emails[i],
                              .subject =
                                  i18n_gettext(lang, overdue ? N_("Meeting follow-up overdue")
                                                             : N_("Meeting follow-up due soon")),
                              .body = body};
        /* One transaction per meeting: a failure keeps the ones before. */
        if (db_write(db, remind_apply, &f) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}

/* ---- the calendar ---- */

/* The UTC span of a meeting held on day (YYYY-MM-DD) at time (HH:MM, or
 * "": the whole day) in zone ("" or unknown: UTC); an hour when timed. */
static int slot_times(const char *day, const char *time, const char *zone, MeetingSlot *s)
{
    int y, mo, d, h = 0, mi = 0;
    if (sscanf(day, "%4d-%2d-%2d", &y, &mo, &d) != 3)
        return -1;
    s->has_time = *time && sscanf(time, "%2d:%2d", &h, &mi) == 2;
    if (!s->has_time)
        h = mi = 0;
    const char *z = *zone && tz_valid(zone) ? zone : "UTC";
    if (tz_local_to_utc(z, y, mo, d, h, mi, &s->starts_at) != R_OK)
        return -1;
    s->ends_at = s->starts_at + (s->has_time ? 3600 : 86400);
    return 0;
}

size_t meeting_slots(Request *r, const User *viewer, int64_t since, MeetingSlot *out, size_t max)
{
    if (!viewer || !max)
        return 0;
    char day[16];
    format_utc(since, "%Y-%m-%d", day, sizeof day);
    Stmt *st = db_prepare(
        r->db,
        "SELECT vis.id, vis.iso3, vis.meeting_on, vis.meeting_time, vis.time_zone, vis.place, "
        "vis.goal, vis.state FROM meetings vis WHERE vis.meeting_on >= :day AND (" VISIBILITY_SQL
        " OR EXISTS (SELECT 1 FROM meeting_delegation d WHERE d.meeting_id = vis.id AND "
        "(d.user_id = :viewer_id OR d.org_id IN (SELECT op.org_id FROM org_people op JOIN people "
        "p ON p.id = op.person_id WHERE p.user_id = :viewer_id)))) "
        "ORDER BY vis.meeting_on, vis.meeting_time, vis.id LIMIT :max");
    db_bind_text(st, ":day", day);
    db_bind_int(st, ":max", (int64_t)max);
    visibility_bind(st, viewer);
    size_t n = 0;
    while (n < max && db_row(st)) {
        MeetingSlot *s = &out[n];
        memset(s, 0, sizeof *s);
        if (slot_times(db_text(st, 2), db_text(st, 3), db_text(st, 4), s) != 0)
            continue;
        s->id = db_int(st, 0);
        s->iso3 = arena_strdup(r->arena, db_text(st, 1));
        s->place = arena_strdup(r->arena, db_text(st, 5));
        s->title =
            arena_printf(r->arena, "%s: %s", tr(r, "Meeting with the government"), db_text(st, 6));
        s->state = arena_strdup(r->arena, db_text(st, 7));
        n++;
    }
    db_done(st);
    return n;
}
