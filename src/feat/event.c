/*
 * event.c: expert seminars and national events (issue 12, item 2) and the
 * calendar with its iCalendar feeds (item 4).
 *
 * An organiser (a member in the event's country, its coordinators, the
 * admins) creates an event with its wall-clock time in an IANA zone,
 * stored as UTC seconds plus the zone's name (base/tz.c reads the zone
 * files: setenv("TZ") is not thread-safe). Invitees, by category, get an
 * email with a personal link (/rsvp/{token}, only its keyed hash stored)
 * and the event as an .ics attachment, and answer yes, no or maybe
 * without an account. A yes beyond the capacity waits; a no from someone
 * holding a place promotes the first who waits, who is told by email.
 * The organiser records attendance and an outcome report shared by
 * choice. The page says whether a national authority confirmed.
 *
 * Invariants: every event is read, listed, served in a feed and changed
 * only after the visibility rule allowed it (visible_event and
 * VISIBILITY_SQL), before any right to manage it; what one may not see is
 * a 404. The invitee list and the report are sensitive: the list is shown
 * to those who manage the event only, the report by its own visibility,
 * and each view is in the audit log before it is shown (fail closed). The
 * answers, the waiting list and the promotions are decided inside one
 * write, so two answers at once never overfill the event.
 *
 * The calendar (/calendar) lists events; lobbying meetings (meeting.c,
 * being written alongside) join it in calendar_items below.
 */
#include "feat/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"
#include "base/ical.h"
#include "base/tz.h"
#include "feat/country_name.h"
#include "feat/handlers.h"
#include "feat/meeting.h"
#include "feat/member.h"
#include "svc/audit.h"
#include "svc/auth.h"
#include "svc/http.h"
#include "svc/mail.h"
#include "svc/visibility.h"

enum {
    INVITES_MAX = 200,       /* lines in one invitation form */
    CAPACITY_MAX = 100000,   /* people */
    EVENT_DAYS_MAX = 31,     /* an event's length */
    RSVP_LIMIT = 120,        /* answers per client address ... */
    RSVP_WINDOW = 3600,      /* ... per hour */
    CALENDAR_PAST_DAYS = 90, /* the calendar page shows this far back */
    FEED_PAST_DAYS = 365,    /* and the feeds */
    REPORT_MAX = 20000,      /* characters */
    AGENDA_MAX = 10000,
};

static const char *const kinds[] = {"seminar", "national_event", NULL};
static const char *const kind_labels[] = {N_("Expert seminar"), N_("National event"), NULL};

/* Who sees an event, and who sees its outcome report ("the same sharing
 * choices" as a meeting's report: the national coalition, the coalition
 * secretariat, all members, or everyone). */
static const char *const event_visibilities[] = {"public", "members", "country", "private", NULL};
static const char *const event_visibility_labels[] = {
    N_("Everyone, without logging in"), N_("All members"), N_("The national coalition"),
    N_("The coalition secretariat (you and the administrators)"), NULL};
static const char *const report_visibilities[] = {"private", "country", "members", "public", NULL};
static const char *const report_visibility_labels[] = {
    N_("The coalition secretariat (you and the administrators)"), N_("The national coalition"),
    N_("All members"), N_("Everyone, without logging in"), NULL};

/* The campaign page's list of whom to invite. Politicians and civil
 * servants can speak for the government: they count as the "national
 * level authority" the page asks for. */
static const char *const categories[] = {
    "politician", "legislator", "civil_servant", "judiciary", "legal_profession",
    "academic",   "ngo",        "nhri",          "media",     NULL};
static const char *const category_labels[] = {N_("Politicians"),
                                              N_("Members of the legislature"),
                                              N_("Civil servants"),
                                              N_("The judiciary"),
                                              N_("The legal profession"),
                                              N_("Academics"),
                                              N_("NGOs"),
                                              N_("National human rights institutions"),
                                              N_("Media"),
                                              NULL};
static const char *const responses[] = {"yes", "no", "maybe", NULL};
static const char *const response_labels[] = {N_("Yes"), N_("No"), N_("Maybe"), NULL};

static int is_authority(const char *category)
{
    return !strcmp(category, "politician") || !strcmp(category, "civil_servant");
}

/* ---- the record ---- */

typedef struct {
    int64_t id, author_id, starts_at, ends_at, capacity, sequence, created_at, updated_at;
    const char *uid, *kind, *title, *iso3, *tz, *place, *online_link, *agenda, *language,
        *visibility, *report, *report_visibility;
} Event;

/* Every query that reads an Event names these columns, in this order. */
static void read_event(Stmt *st, Arena *a, Event *e)
{
    int64_t *ints[] = {&e->id,       &e->author_id, &e->starts_at,  &e->ends_at,
                       &e->capacity, &e->sequence,  &e->created_at, &e->updated_at};
    for (int i = 0; i < 8; i++)
        *ints[i] = db_int(st, i);
    const char **text[] = {&e->uid,      &e->kind,       &e->title,       &e->iso3,
                           &e->tz,       &e->place,      &e->online_link, &e->agenda,
                           &e->language, &e->visibility, &e->report,      &e->report_visibility};
    for (int i = 0; i < 12; i++)
        *text[i] = arena_strdup(a, db_text(st, 8 + i));
}

static Result load_event(Db *db, Arena *a, int64_t id, Event *e)
{
    Stmt *st = db_prepare(
        db,
        "SELECT e.id, coalesce(e.author_id, 0), e.starts_at, e.ends_at, e.capacity, "
        "e.sequence, e.created_at, e.updated_at, e.uid, e.kind, e.title, e.iso3, e.tz, e.place, "
        "e.online_link, e.agenda, e.language, e.visibility, e.report, e.report_visibility "
        "FROM events e WHERE e.id = :id");
    db_bind_int(st, ":id", id);
    int found = db_row(st);
    if (found)
        read_event(st, a, e);
    db_done(st);
    return found ? R_OK : R_NOT_FOUND;
}

static int can_see_event(Request *r, const Event *e)
{
    return visibility_can_see(r->user, e->visibility, e->iso3, e->author_id);
}

/* Managing (invitations, attendance, the report, editing) comes after
 * seeing: the organiser, the country's coordinators and the admins. */
static int can_manage_event(Request *r, const Event *e)
{
    return r->user && can_see_event(r, e) &&
           (r->user->id == e->author_id || auth_covers_country(r->user, e->iso3));
}

/* The event named by {id}, or 404 when there is none or it is hidden. */
static Result visible_event(Request *r, Event *e)
{
    int64_t id;
    if (param_int(r, "id", 1, INT64_MAX, &id) != R_OK ||
        load_event(r->db, r->arena, id, e) != R_OK || !can_see_event(r, e)) {
        json_decref(r->errors);
        r->errors = NULL;
        return R_NOT_FOUND;
    }
    return R_OK;
}

/* ---- times ---- */

/* The viewer's zone: ?tz= when it names a zone, else fallback. There is no
 * profile setting for a zone yet; the pages offer a field for it. */
static const char *viewer_zone(Request *r, const char *fallback)
{
    const char *z = param_raw(r, "tz"); /* raw: any bad value means "not chosen" */
    return z && tz_valid(z) ? z : fallback;
}

static const char *when_range(Arena *a, const char *zone, int64_t from, int64_t to)
{
    char a1[64], a2[64], d1[16], d2[16];
    tz_format(zone, from, "%Y-%m-%d %H:%M", a1, sizeof a1);
    tz_format(zone, from, "%Y-%m-%d", d1, sizeof d1);
    tz_format(zone, to, "%Y-%m-%d", d2, sizeof d2);
    /* The end's date only when it is another day. */
    if (!strcmp(d1, d2))
        tz_format(zone, to, "%H:%M %Z", a2, sizeof a2);
    else
        tz_format(zone, to, "%Y-%m-%d %H:%M %Z", a2, sizeof a2);
    return arena_printf(a, "%s – %s (%s)", a1, a2, zone);
}

/* "YYYY-MM-DD" and "HH:MM" in zone into UTC; on a bad value an error is
 * set on field and R_BAD_REQUEST returned. */
static Result read_wall_time(Request *r, const char *date_field, const char *time_field,
                             const char *zone, int64_t *out)
{
    const char *date = NULL, *time = NULL;
    Result res = param_date(r, date_field, &date);
    if (param_text(r, time_field, 5, 5, 0, &time) != R_OK)
        return R_BAD_REQUEST;
    if (res != R_OK)
        return R_BAD_REQUEST;
    int y, mo, d, h, mi;
    char extra;
    if (sscanf(time, "%2d:%2d%c", &h, &mi, &extra) != 2 || time[2] != ':' || h > 23 || mi > 59 ||
        h < 0 || mi < 0)
        return param_error(r, time_field, N_("Give the time as HH:MM, from 00:00 to 23:59."));
    if (sscanf(date, "%4d-%2d-%2d", &y, &mo, &d) != 3)
        return param_error(r, date_field, N_("This is not a date."));
    if (!zone)
        return R_BAD_REQUEST;
    res = tz_local_to_utc(zone, y, mo, d, h, mi, out);
    if (res == R_NOT_FOUND)
        return param_error(r, "tz",
                           N_("This is not a known time zone (for example "
                              "Africa/Luanda or Europe/Paris)."));
    return res == R_OK ? R_OK : param_error(r, date_field, N_("This is not a date."));
}

/* ---- iCalendar ---- */

static const char *event_link(Arena *a, const char *base_url, int64_t id)
{
    return arena_printf(a, "%s/events/%lld", base_url ? base_url : "", (long long)id);
}

/* Appends one VEVENT. Only what anyone who may see the event may read:
 * never invitees or the report. */
static void ical_event(Buf *out, Arena *a, const Event *e, const char *base_url, int64_t now)
{
    ical_line(out, "begin", "VEVENT");
    ical_line(out, "UID", arena_printf(a, "%s@ratify", e->uid));
    ical_utc(out, "DTSTAMP", now);
    ical_utc(out, "DTSTART", e->starts_at);
    ical_utc(out, "DTEND", e->ends_at);
    ical_utc(out, "CREATED", e->created_at);
    ical_utc(out, "LAST-MODIFIED", e->updated_at);
    ical_line(out, "SEQUENCE", arena_printf(a, "%lld", (long long)e->sequence));
    ical_text(out, "SUMMARY", e->title);
    const char *where = *e->place ? e->place : e->online_link;
    if (*where)
        ical_text(out, "LOCATION", where);
    Buf desc = {0};
    buf_puts(&desc, e->agenda);
    if (*e->online_link)
        buf_printf(&desc, "%s%s", desc.len ? "\n\n" : "", e->online_link);
    if (desc.len)
        ical_text(out, "DESCRIPTION", desc.data);
    buf_free(&desc);
    const char *link = event_link(a, base_url, e->id);
    if (!strncmp(link, "http", 4))
        ical_line(out, "URL", link);
    ical_line(out, "STATUS", "CONFIRMED");
    ical_line(out, "end", "VEVENT");
}

static void ical_begin(Buf *out, const char *method, const char *name)
{
    ical_line(out, "begin", "VCALENDAR");
    ical_line(out, "VERSION", "2.0");
    ical_line(out, "PRODID", "-//Ratify//Ratify campaign platform//EN");
    ical_line(out, "CALSCALE", "GREGORIAN");
    ical_line(out, "METHOD", method);
    if (name)
        ical_text(out, "X-WR-CALNAME", name);
}

/* ---- the form ---- */

typedef struct {
    const char *kind, *title, *iso3, *date, *start, *end_date, *end, *tz, *place, *online_link,
        *agenda, *language, *visibility, *capacity;
} EventForm;

/* What was typed, or the event's values for an edit. */
static void event_form(Request *r, const EventForm *f, int64_t id)
{
    json_decref(r->data);
    r->data = json_build(
        "{s:o, s:s, s:o, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:b, s:I}", "kinds",
        form_options(r, kinds, kind_labels, f->kind), "event_title", f->title ? f->title : "",
        "countries", member_country_options(r, f->iso3), "date", f->date ? f->date : "", "start",
        f->start ? f->start : "", "end_date", f->end_date ? f->end_date : "", "end",
        f->end ? f->end : "", "tz", f->tz ? f->tz : "UTC", "place", f->place ? f->place : "",
        "online_link", f->online_link ? f->online_link : "", "agenda", f->agenda ? f->agenda : "",
        "language", f->language ? f->language : "", "capacity", f->capacity ? f->capacity : "",
        "visibilities",
        form_options(r, event_visibilities, event_visibility_labels,
                     f->visibility ? f->visibility : "country"),
        "editing", id > 0, "id", (json_int_t)id);
    r->page = "event_form";
    r->title = tr(r, id > 0 ? "Edit the event" : "Organise a seminar or event");
}

Result event_new_page(Request *r)
{
    EventForm f = {.iso3 = r->user->home_iso3, .tz = "UTC", .start = "09:00", .end = "17:00"};
    event_form(r, &f, 0);
    return R_OK;
}

/* The values posted, checked; R_BAD_REQUEST with r->errors set. */
typedef struct {
    Request *r;
    Event e;
    int64_t id; /* for an edit */
} EventWrite;

/* A member organises in their own country, a coordinator in theirs, an
 * admin anywhere. */
static int may_organise_in(Request *r, const char *iso3)
{
    return auth_covers_country(r->user, iso3) ||
           (r->user->home_iso3 && !strcmp(r->user->home_iso3, iso3));
}

static Result read_event_form(Request *r, EventForm *f, Event *e)
{
    /* raw: what was typed, to show it again; each is checked below */
    const char *names[] = {"kind",     "title",    "country",    "date",    "start",
                           "end_date", "end",      "tz",         "place",   "online_link",
                           "agenda",   "language", "visibility", "capacity"};
    const char **slots[] = {&f->kind,       &f->title,       &f->iso3,   &f->date,
                            &f->start,      &f->end_date,    &f->end,    &f->tz,
                            &f->place,      &f->online_link, &f->agenda, &f->language,
                            &f->visibility, &f->capacity};
    for (int i = 0; i < 14; i++)
        *slots[i] = param_raw(r, names[i]); /* raw: refilled into the form only */
    int kind = 0, vis = 0;
    int64_t capacity = 0;
    int bad = param_enum(r, "kind", kinds, &kind) != R_OK;
    bad |= param_text(r, "title", 1, 300, 0, &e->title) != R_OK;
    bad |= param_iso3(r, "country", &e->iso3) != R_OK;
    if (e->iso3 && !country_name_of(r, e->iso3))
        bad |= param_error(r, "country", N_("There is no such country.")) != R_OK;
    else if (e->iso3 && !may_organise_in(r, e->iso3))
        bad |= param_error(r, "country", N_("You can organise events in your own country only.")) !=
               R_OK;
    const char *zone = NULL;
    if (param_text(r, "tz", 1, TZ_NAME_MAX, 0, &zone) != R_OK || !tz_valid(zone)) {
        bad |= param_error(r, "tz",
                           N_("This is not a known time zone (for example "
                              "Africa/Luanda or Europe/Paris).")) != R_OK;
        zone = NULL;
    }
    e->tz = zone;
    if (zone) {
        bad |= read_wall_time(r, "date", "start", zone, &e->starts_at) != R_OK;
        const char *end_date = NULL;
        param_optional_text(r, "end_date", 10, 0, &end_date);
        bad |= read_wall_time(r, end_date && *end_date ? "end_date" : "date", "end", zone,
                              &e->ends_at) != R_OK;
        if (!bad && e->ends_at <= e->starts_at)
            bad |= param_error(r, "end", N_("The event must end after it starts.")) != R_OK;
        else if (!bad && e->ends_at - e->starts_at > EVENT_DAYS_MAX * 86400)
            bad |= param_error(r, "end", N_("An event lasts at most 31 days.")) != R_OK;
    }
    bad |= param_optional_text(r, "place", 300, 0, &e->place) != R_OK;
    bad |= param_link(r, "online_link", &e->online_link) != R_OK;
    bad |= param_optional_text(r, "agenda", AGENDA_MAX, 1, &e->agenda) != R_OK;
    bad |= param_optional_text(r, "language", 60, 0, &e->language) != R_OK;
    bad |= param_int(r, "capacity", 1, CAPACITY_MAX, &capacity) != R_OK;
    bad |= param_enum(r, "visibility", event_visibilities, &vis) != R_OK;
    e->kind = kinds[kind];
    e->visibility = event_visibilities[vis];
    e->capacity = capacity;
    e->place = e->place ? e->place : "";
    e->online_link = e->online_link ? e->online_link : "";
    e->agenda = e->agenda ? e->agenda : "";
    e->language = e->language ? e->language : "";
    return bad ? R_BAD_REQUEST : R_OK;
}

static Result event_create_apply(Db *w, void *ctx)
{
    EventWrite *v = ctx;
    Event *e = &v->e;
    int64_t now = now_seconds();
    char uid[33];
    random_hex(uid, 16);
    Stmt *st = db_prepare(
        w, "INSERT INTO events (uid, kind, title, iso3, starts_at, ends_at, tz, place, "
           "online_link, agenda, language, capacity, visibility, author_id, created_at, "
           "updated_at) VALUES (:uid, :kind, :title, :iso3, :starts, :ends, :tz, :place, :link, "
           ":agenda, :language, :capacity, :visibility, :author, :now, :now) RETURNING id");
    db_bind_text(st, ":uid", uid);
    db_bind_text(st, ":kind", e->kind);
    db_bind_text(st, ":title", e->title);
    db_bind_text(st, ":iso3", e->iso3);
    db_bind_int(st, ":starts", e->starts_at);
    db_bind_int(st, ":ends", e->ends_at);
    db_bind_text(st, ":tz", e->tz);
    db_bind_text(st, ":place", e->place);
    db_bind_text(st, ":link", e->online_link);
    db_bind_text(st, ":agenda", e->agenda);
    db_bind_text(st, ":language", e->language);
    db_bind_int(st, ":capacity", e->capacity);
    db_bind_text(st, ":visibility", e->visibility);
    db_bind_int(st, ":author", v->r->user->id);
    db_bind_int(st, ":now", now);
    if (db_insert(st, &v->id) != R_OK)
        return R_INTERNAL;
    return audit_log(w, v->r->user->id, "event created",
                     arena_printf(v->r->arena, "event %lld", (long long)v->id), e->kind);
}

Result event_create_post(Request *r)
{
    EventForm f = {0};
    EventWrite v = {.r = r};
    if (read_event_form(r, &f, &v.e) != R_OK) {
        event_form(r, &f, 0);
        return R_BAD_REQUEST;
    }
    if (db_write(r->db, event_create_apply, &v) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/events/%lld", (long long)v.id));
}

static Result promote_waiting(Db *w, Arena *ar, const Event *e);

/* An edit keeps who organises it and its invitees; the iCalendar SEQUENCE
 * goes up so calendars replace their copy. */
static Result event_update_apply(Db *w, void *ctx)
{
    EventWrite *v = ctx;
    Event *e = &v->e;
    Stmt *st = db_prepare(
        w, "UPDATE events SET kind = :kind, title = :title, iso3 = :iso3, starts_at = :starts, "
           "ends_at = :ends, tz = :tz, place = :place, online_link = :link, agenda = :agenda, "
           "language = :language, capacity = :capacity, visibility = :visibility, "
           "sequence = sequence + 1, updated_at = :now WHERE id = :id");
    db_bind_text(st, ":kind", e->kind);
    db_bind_text(st, ":title", e->title);
    db_bind_text(st, ":iso3", e->iso3);
    db_bind_int(st, ":starts", e->starts_at);
    db_bind_int(st, ":ends", e->ends_at);
    db_bind_text(st, ":tz", e->tz);
    db_bind_text(st, ":place", e->place);
    db_bind_text(st, ":link", e->online_link);
    db_bind_text(st, ":agenda", e->agenda);
    db_bind_text(st, ":language", e->language);
    db_bind_int(st, ":capacity", e->capacity);
    db_bind_text(st, ":visibility", e->visibility);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", v->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    /* More places: those who wait take them. */
    Event changed;
    if (load_event(w, v->r->arena, v->id, &changed) != R_OK ||
        promote_waiting(w, v->r->arena, &changed) != R_OK)
        return R_INTERNAL;
    return audit_log(w, v->r->user->id, "event updated",
                     arena_printf(v->r->arena, "event %lld", (long long)v->id), "");
}

static void form_of_event(Request *r, const Event *e, EventForm *f)
{
    char buf[32];
    f->kind = e->kind;
    f->title = e->title;
    f->iso3 = e->iso3;
    tz_format(e->tz, e->starts_at, "%Y-%m-%d", buf, sizeof buf);
    f->date = arena_strdup(r->arena, buf);
    tz_format(e->tz, e->starts_at, "%H:%M", buf, sizeof buf);
    f->start = arena_strdup(r->arena, buf);
    tz_format(e->tz, e->ends_at, "%Y-%m-%d", buf, sizeof buf);
    f->end_date = strcmp(buf, f->date) ? arena_strdup(r->arena, buf) : "";
    tz_format(e->tz, e->ends_at, "%H:%M", buf, sizeof buf);
    f->end = arena_strdup(r->arena, buf);
    f->tz = e->tz;
    f->place = e->place;
    f->online_link = e->online_link;
    f->agenda = e->agenda;
    f->language = e->language;
    f->visibility = e->visibility;
    f->capacity = arena_printf(r->arena, "%lld", (long long)e->capacity);
}

Result event_edit_page(Request *r)
{
    Event e;
    if (visible_event(r, &e) != R_OK)
        return R_NOT_FOUND;
    if (!can_manage_event(r, &e))
        return R_FORBIDDEN;
    EventForm f = {0};
    form_of_event(r, &e, &f);
    event_form(r, &f, e.id);
    return R_OK;
}

Result event_edit_post(Request *r)
{
    Event old;
    if (visible_event(r, &old) != R_OK)
        return R_NOT_FOUND;
    if (!can_manage_event(r, &old))
        return R_FORBIDDEN;
    EventForm f = {0};
    EventWrite v = {.r = r, .id = old.id};
    if (read_event_form(r, &f, &v.e) != R_OK) {
        event_form(r, &f, old.id);
        return R_BAD_REQUEST;
    }
    if (db_write(r->db, event_update_apply, &v) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/events/%lld", (long long)old.id));
}

/* ---- the event page ---- */

typedef struct {
    int64_t confirmed, waiting, maybe, declined, invited, attended;
    int authority_confirmed;
} Counts;

static void count_invitees(Db *db, int64_t event, Counts *c)
{
    Stmt *st = db_prepare(
        db,
        "SELECT count(*), "
        "coalesce(sum(CASE WHEN response = 'yes' AND waitlisted_at IS NULL THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN waitlisted_at IS NOT NULL THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN response = 'maybe' THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN response = 'no' THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN attended = 1 THEN 1 ELSE 0 END), 0), "
        "coalesce(sum(CASE WHEN authority = 1 AND response = 'yes' AND waitlisted_at IS NULL "
        "THEN 1 ELSE 0 END), 0) FROM event_invitees WHERE event_id = :id");
    db_bind_int(st, ":id", event);
    memset(c, 0, sizeof *c);
    if (db_row(st)) {
        c->invited = db_int(st, 0);
        c->confirmed = db_int(st, 1);
        c->waiting = db_int(st, 2);
        c->maybe = db_int(st, 3);
        c->declined = db_int(st, 4);
        c->attended = db_int(st, 5);
        c->authority_confirmed = db_int(st, 6) > 0;
    }
    db_done(st);
}

/* The invitees, for those who manage the event; in arrival order. */
static json_t *invitee_list(Request *r, int64_t event)
{
    Stmt *st = db_prepare(r->db, "SELECT id, name, email, category, authority, response, "
                                 "waitlisted_at IS NOT NULL, attended FROM event_invitees "
                                 "WHERE event_id = :id ORDER BY id");
    db_bind_int(st, ":id", event);
    json_t *list = json_array();
    while (db_row(st)) {
        const char *resp = db_text(st, 5);
        json_array_append_new(
            list,
            json_build("{s:I, s:s, s:s, s:s, s:b, s:s, s:b, s:b}", "id", (json_int_t)db_int(st, 0),
                       "name", db_text(st, 1), "email", db_text(st, 2), "category",
                       tr(r, code_label(categories, category_labels, db_text(st, 3))), "authority",
                       (int)db_int(st, 4), "response",
                       !strcmp(resp, "none") ? tr(r, "No answer yet")
                                             : tr(r, code_label(responses, response_labels, resp)),
                       "waitlisted", (int)db_int(st, 6), "attended", (int)db_int(st, 7)));
    }
    db_done(st);
    return list;
}

/* An audit entry of kind read with no subject rows: invitees are not
 * members (no person record), so the entry names the event. */
typedef struct {
    Request *r;
    const char *action;
    int64_t event, count;
} EventRead;

static Result event_read_apply(Db *w, void *ctx)
{
    EventRead *x = ctx;
    int64_t entry;
    return audit_read_entry(w, x->r->user ? x->r->user->id : 0, x->r->api_token_id, x->action,
                            arena_printf(x->r->arena, "event %lld", (long long)x->event),
                            arena_printf(x->r->arena, "%lld", (long long)x->count), &entry);
}

static Result log_event_read(Request *r, const char *action, int64_t event, int64_t count)
{
    EventRead x = {.r = r, .action = action, .event = event, .count = count};
    return db_write(r->db, event_read_apply, &x);
}

static json_t *government_contacts(Request *r, const char *iso3)
{
    Stmt *st = db_prepare(r->db, "SELECT id, name, title, email FROM targets WHERE iso3 = :iso3 "
                                 "AND email <> '' ORDER BY name");
    db_bind_text(st, ":iso3", iso3);
    json_t *list = json_array();
    while (db_row(st))
        json_array_append_new(list, json_build("{s:I, s:s, s:s, s:s}", "id",
                                               (json_int_t)db_int(st, 0), "name", db_text(st, 1),
                                               "title", db_text(st, 2), "email", db_text(st, 3)));
    db_done(st);
    return list;
}

/* Fills the page of event e; invites is what was typed in the invitation
 * form (to show it again) or NULL. */
static Result event_fill(Request *r, const Event *e, const char *invites, const char *report)
{
    int manage = can_manage_event(r, e);
    const char *zone = viewer_zone(r, e->tz);
    Counts c;
    count_invitees(r->db, e->id, &c);
    int report_visible =
        *e->report && visibility_can_see(r->user, e->report_visibility, e->iso3, e->author_id);
    json_t *data = json_build(
        "{s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, "
        "s:I, s:I, s:b, s:b, s:s, s:b}",
        "id", (json_int_t)e->id, "title", e->title, "kind",
        tr(r, code_label(kinds, kind_labels, e->kind)), "iso3", e->iso3, "country",
        country_name_of(r, e->iso3) ? country_name_of(r, e->iso3) : e->iso3, "when",
        when_range(r->arena, e->tz, e->starts_at, e->ends_at), "when_viewer",
        when_range(r->arena, zone, e->starts_at, e->ends_at), "tz", e->tz, "viewer_tz", zone,
        "place", e->place, "online_link", e->online_link, "agenda", e->agenda, "capacity",
        (json_int_t)e->capacity, "confirmed", (json_int_t)c.confirmed, "waiting",
        (json_int_t)c.waiting, "maybe", (json_int_t)c.maybe, "declined", (json_int_t)c.declined,
        "invited", (json_int_t)c.invited, "attended_count", (json_int_t)c.attended,
        "authority_confirmed", c.authority_confirmed, "manage", manage, "language", e->language,
        "report_visible", report_visible);
    json_object_set_new(
        data, "visibility",
        json_string(tr(r, code_label(event_visibilities, event_visibility_labels, e->visibility))));
    if (report_visible)
        json_object_set_new(data, "report", json_string(e->report));
    if (manage) {
        json_t *list = invitee_list(r, e->id);
        json_object_set_new(data, "invitees", list);
        json_object_set_new(data, "has_invitees", json_boolean(json_array_size(list) > 0));
        json_object_set_new(data, "categories",
                            form_options(r, categories, category_labels, "ngo"));
        json_t *contacts = government_contacts(r, e->iso3);
        json_object_set_new(data, "has_contacts", json_boolean(json_array_size(contacts) > 0));
        json_object_set_new(data, "contacts", contacts);
        json_object_set_new(data, "invites", json_string(invites ? invites : ""));
        json_object_set_new(data, "report_text", json_string(report ? report : e->report));
        json_object_set_new(
            data, "report_visibilities",
            form_options(r, report_visibilities, report_visibility_labels, e->report_visibility));
        /* Who looked at the invitee list: in the log before it is shown. */
        if (json_array_size(list) > 0 && log_event_read(r, "event invitees viewed", e->id,
                                                        (int64_t)json_array_size(list)) != R_OK) {
            json_decref(data);
            return R_INTERNAL;
        }
    }
    if (report_visible && strcmp(e->report_visibility, "public") != 0 &&
        !(r->user && r->user->id == e->author_id) &&
        log_event_read(r, "event report viewed", e->id, 1) != R_OK) {
        json_decref(data);
        return R_INTERNAL;
    }
    json_decref(r->data);
    r->data = data;
    r->page = "event";
    r->title = e->title;
    return R_OK;
}

Result event_page(Request *r)
{
    Event e;
    if (visible_event(r, &e) != R_OK)
        return R_NOT_FOUND;
    return event_fill(r, &e, NULL, NULL);
}

/* One event as a calendar file (public events to anyone; others to those
 * who may see them, with their session). */
Result event_ics_page(Request *r)
{
    Event e;
    if (visible_event(r, &e) != R_OK)
        return R_NOT_FOUND;
    ical_begin(&r->body_out, "PUBLISH", NULL);
    ical_event(&r->body_out, r->arena, &e, r->base_url, now_seconds());
    ical_line(&r->body_out, "end", "VCALENDAR");
    r->content_type = "text/calendar; charset=UTF-8";
    http_add_header(r, "Content-Disposition", "attachment; filename=\"event.ics\"");
    return R_OK;
}

/* ---- invitations ---- */

typedef struct {
    const char *name, *email, *category;
    int authority;
    char token[65], hash[65];
} Invitee;

/* One line "Name <email>, category", "email, category" or "Name <email>"
 * (then the form's category). Returns 0 if it does not read. */
static int parse_invitee(Request *r, char *line, const char *fallback, Invitee *inv)
{
    char *comma = strrchr(line, ',');
    char *close = strrchr(line, '>');
    inv->category = fallback;
    if (comma && (!close || comma > close)) {
        *comma = 0;
        char *cat = comma + 1;
        while (*cat == ' ' || *cat == '\t')
            cat++;
        size_t n = strlen(cat);
        while (n > 0 && (cat[n - 1] == ' ' || cat[n - 1] == '\t'))
            cat[--n] = 0;
        if (!member_in_list(categories, cat))
            return 0;
        for (int i = 0; categories[i]; i++)
            if (!strcmp(categories[i], cat))
                inv->category = categories[i];
    }
    char *open = strchr(line, '<');
    char *email, *name;
    if (open) {
        close = strchr(open, '>');
        if (!close)
            return 0;
        *open = 0;
        *close = 0;
        email = open + 1;
        name = line;
        for (char *p = close + 1; *p; p++)
            if (*p != ' ' && *p != '\t')
                return 0;
    } else {
        email = line;
        name = NULL;
    }
    while (*email == ' ')
        email++;
    size_t n = strlen(email);
    while (n > 0 && email[n - 1] == ' ')
        email[--n] = 0;
    for (char *p = email; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    if (!valid_email(email))
        return 0;
    if (name) {
        while (*name == ' ' || *name == '"')
            name++;
        n = strlen(name);
        while (n > 0 && (name[n - 1] == ' ' || name[n - 1] == '"'))
            name[--n] = 0;
    }
    if (!name || !*name)
        name = email;
    if (strlen(name) > 200 || !utf8_valid_line(name, strlen(name)))
        return 0;
    inv->email = arena_strdup(r->arena, email);
    inv->name = arena_strdup(r->arena, name);
    inv->authority = is_authority(inv->category);
    return 1;
}

typedef struct {
    Request *r;
    const Event *e;
    Invitee *list;
    size_t count;
    size_t sent; /* out: new invitations (an address already invited is skipped) */
    const char *ics;
} Invitations;

static const char *invitation_body(Request *r, const Event *e, const char *link)
{
    Buf b = {0};
    buf_printf(&b, "%s\n\n%s\n\n", tr(r, "You are invited to:"), e->title);
    buf_printf(&b, "%s: %s\n", tr(r, "When"),
               when_range(r->arena, e->tz, e->starts_at, e->ends_at));
    if (*e->place)
        buf_printf(&b, "%s: %s\n", tr(r, "Where"), e->place);
    if (*e->online_link)
        buf_printf(&b, "%s: %s\n", tr(r, "Online"), e->online_link);
    if (*e->language)
        buf_printf(&b, "%s: %s\n", tr(r, "Language"), e->language);
    if (*e->agenda)
        buf_printf(&b, "\n%s:\n%s\n", tr(r, "Agenda"), e->agenda);
    buf_printf(&b, "\n%s\n%s\n\n%s\n",
               tr(r, "Please answer yes, no or maybe through your personal link (you do not "
                     "need an account):"),
               link,
               tr(r, "The attached file adds the event to your calendar. Places are limited: "
                     "when the event is full, a yes goes on the waiting list."));
    const char *out = arena_strdup(r->arena, b.data);
    buf_free(&b);
    return out;
}

static Result invitations_apply(Db *w, void *ctx)
{
    Invitations *v = ctx;
    Request *r = v->r;
    int64_t now = now_seconds();
    for (size_t i = 0; i < v->count; i++) {
        Invitee *inv = &v->list[i];
        Stmt *st = db_prepare(
            w, "INSERT INTO event_invitees (event_id, name, email, category, authority, "
               "token_hash, lang, invited_at) VALUES (:event, :name, :email, :category, "
               ":authority, :hash, :lang, :now) ON CONFLICT (event_id, email) DO NOTHING");
        db_bind_int(st, ":event", v->e->id);
        db_bind_text(st, ":name", inv->name);
        db_bind_text(st, ":email", inv->email);
        db_bind_text(st, ":category", inv->category);
        db_bind_int(st, ":authority", inv->authority);
        db_bind_text(st, ":hash", inv->hash);
        db_bind_text(st, ":lang", r->lang ? r->lang : "en");
        db_bind_int(st, ":now", now);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
        if (db_changes(w) == 0)
            continue; /* invited already: the first link stays the one */
        const char *link = member_link(r, arena_printf(r->arena, "/rsvp/%s", inv->token));
        MailAttachment att = {"invitation.ics", "text/calendar; method=PUBLISH", v->ics};
        const char *subject = arena_printf(r->arena, "%s: %s", tr(r, "Invitation"), v->e->title);
        if (mail_queue_attached(w, inv->email, subject, invitation_body(r, v->e, link), &att) !=
            R_OK)
            return R_INTERNAL;
        v->sent++;
    }
    if (v->sent == 0)
        return R_OK;
    return audit_log(w, r->user->id, "event invitations sent",
                     arena_printf(r->arena, "event %lld", (long long)v->e->id),
                     arena_printf(r->arena, "%zu", v->sent));
}

Result event_invite_post(Request *r)
{
    Event e;
    if (visible_event(r, &e) != R_OK)
        return R_NOT_FOUND;
    if (!can_manage_event(r, &e))
        return R_FORBIDDEN;
    const char *text = NULL;
    int fallback = 0;
    int bad = param_optional_text(r, "invitees", 100000, 1, &text) != R_OK;
    bad |= param_optional_enum(r, "category", categories, 6, &fallback) != R_OK;
    Invitee *list = arena_alloc(r->arena, (INVITES_MAX + 1) * sizeof *list);
    size_t count = 0;
    /* Government contacts of the country, ticked: authorities. */
    for (size_t i = 0; i < r->form.count; i++) {
        if (strcmp(r->form.items[i].name, "contact") != 0)
            continue;
        char *end;
        long long id = strtoll(r->form.items[i].value, &end, 10);
        Stmt *st = db_prepare(r->db, "SELECT name, email FROM targets WHERE id = :id "
                                     "AND iso3 = :iso3 AND email <> ''");
        db_bind_int(st, ":id", id);
        db_bind_text(st, ":iso3", e.iso3);
        if (*end == 0 && db_row(st) && count < INVITES_MAX && valid_email(db_text(st, 1))) {
            Invitee *inv = &list[count++];
            inv->name = arena_strdup(r->arena, db_text(st, 0));
            inv->email = arena_strdup(r->arena, db_text(st, 1));
            inv->category = "civil_servant";
            inv->authority = 1;
        }
        db_done(st);
    }
    int line_no = 0;
    char *copy = arena_strdup(r->arena, text ? text : ""), *next = copy;
    /* Line by line, blank ones counted, so an error names the line typed. */
    while (next && !bad) {
        char *line = next, *nl = strchr(line, '\n');
        next = nl ? nl + 1 : NULL;
        if (nl) {
            *nl = 0;
            if (nl > line && nl[-1] == '\r')
                nl[-1] = 0;
        }
        line_no++;
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (!*p)
            continue;
        if (count >= INVITES_MAX) {
            bad |= param_error(r, "invitees", N_("At most 200 invitations at a time.")) != R_OK;
            break;
        }
        if (!parse_invitee(r, line, categories[fallback], &list[count])) {
            param_error(r, "invitees",
                        N_("A line does not read as \"Name <email>, category\" with one of the "
                           "categories listed."));
            json_object_set_new(r->errors, "invitees_line", json_integer(line_no));
            bad = 1;
            break;
        }
        count++;
    }
    if (!bad && count == 0)
        bad |= param_error(r, "invitees", N_("Add at least one person to invite.")) != R_OK;
    if (bad) {
        Result res = event_fill(r, &e, text, NULL);
        return res == R_OK ? R_BAD_REQUEST : res;
    }
    for (size_t i = 0; i < count; i++) {
        random_hex(list[i].token, 32);
        auth_token_hash("event-rsvp", list[i].token, list[i].hash);
    }
    Buf ics = {0};
    ical_begin(&ics, "PUBLISH", NULL);
    ical_event(&ics, r->arena, &e, r->base_url, now_seconds());
    ical_line(&ics, "end", "VCALENDAR");
    Invitations v = {.r = r, .e = &e, .list = list, .count = count, .ics = ics.data};
    Result res = db_write(r->db, invitations_apply, &v);
    buf_free(&ics);
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/events/%lld#invitees", (long long)e.id));
}

/* ---- attendance and the report ---- */

typedef struct {
    Request *r;
    int64_t event;
    const char **ids; /* attended, NULL-terminated */
    const char *report, *report_visibility;
} EventAfter;

static Result attendance_apply(Db *w, void *ctx)
{
    EventAfter *a = ctx;
    Stmt *st = db_prepare(w, "UPDATE event_invitees SET attended = 0 WHERE event_id = :event");
    db_bind_int(st, ":event", a->event);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    for (int i = 0; a->ids[i]; i++) {
        char *end;
        long long id = strtoll(a->ids[i], &end, 10);
        if (*end || id <= 0)
            return R_BAD_REQUEST;
        st = db_prepare(w, "UPDATE event_invitees SET attended = 1 WHERE id = :id "
                           "AND event_id = :event");
        db_bind_int(st, ":id", id);
        db_bind_int(st, ":event", a->event);
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return audit_log(w, a->r->user->id, "event attendance recorded",
                     arena_printf(a->r->arena, "event %lld", (long long)a->event), "");
}

Result event_attendance_post(Request *r)
{
    Event e;
    if (visible_event(r, &e) != R_OK)
        return R_NOT_FOUND;
    if (!can_manage_event(r, &e))
        return R_FORBIDDEN;
    size_t n = 0;
    for (size_t i = 0; i < r->form.count; i++)
        n += !strcmp(r->form.items[i].name, "attended");
    const char **ids = arena_alloc(r->arena, (n + 1) * sizeof *ids);
    n = 0;
    for (size_t i = 0; i < r->form.count; i++)
        if (!strcmp(r->form.items[i].name, "attended"))
            ids[n++] = r->form.items[i].value;
    EventAfter a = {.r = r, .event = e.id, .ids = ids};
    Result res = db_write(r->db, attendance_apply, &a);
    if (res == R_BAD_REQUEST)
        return R_BAD_REQUEST;
    if (res != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/events/%lld#invitees", (long long)e.id));
}

static Result report_apply(Db *w, void *ctx)
{
    EventAfter *a = ctx;
    Stmt *st = db_prepare(w, "UPDATE events SET report = :report, report_visibility = :vis, "
                             "updated_at = :now WHERE id = :id");
    db_bind_text(st, ":report", a->report);
    db_bind_text(st, ":vis", a->report_visibility);
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", a->event);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    return audit_log(w, a->r->user->id, "event report saved",
                     arena_printf(a->r->arena, "event %lld", (long long)a->event),
                     a->report_visibility);
}

Result event_report_post(Request *r)
{
    Event e;
    if (visible_event(r, &e) != R_OK)
        return R_NOT_FOUND;
    if (!can_manage_event(r, &e))
        return R_FORBIDDEN;
    const char *report = NULL;
    int vis = 0;
    int bad = param_text(r, "report", 1, REPORT_MAX, 1, &report) != R_OK;
    bad |= param_enum(r, "report_visibility", report_visibilities, &vis) != R_OK;
    if (bad) {
        /* raw: what was typed, shown again in the form only */
        Result res = event_fill(r, &e, NULL, param_raw(r, "report"));
        return res == R_OK ? R_BAD_REQUEST : res;
    }
    EventAfter a = {
        .r = r, .event = e.id, .report = report, .report_visibility = report_visibilities[vis]};
    if (db_write(r->db, report_apply, &a) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, arena_printf(r->arena, "/events/%lld#report", (long long)e.id));
}

/* ---- answers without an account ---- */

typedef struct {
    int64_t id, event;
    const char *name, *response;
    int waitlisted;
} Invitation;

static Result load_invitation(Db *db, Arena *a, const char *hash, Invitation *inv)
{
    Stmt *st = db_prepare(db, "SELECT id, event_id, name, response, waitlisted_at IS NOT NULL "
                              "FROM event_invitees WHERE token_hash = :hash");
    db_bind_text(st, ":hash", hash);
    int found = db_row(st);
    if (found) {
        inv->id = db_int(st, 0);
        inv->event = db_int(st, 1);
        inv->name = arena_strdup(a, db_text(st, 2));
        inv->response = arena_strdup(a, db_text(st, 3));
        inv->waitlisted = (int)db_int(st, 4);
    }
    db_done(st);
    return found ? R_OK : R_NOT_FOUND;
}

/* The link's invitation and its event. The token is the only credential:
 * only its keyed hash is stored and looked up (an index lookup on a
 * 256-bit secret's hash, so timing tells nothing). */
static Result rsvp_load(Request *r, Invitation *inv, Event *e, const char **token)
{
    char hash[65];
    if (param_token(r, "token", token) != R_OK) {
        json_decref(r->errors);
        r->errors = NULL;
        r->message = tr(r, "This link is not valid (any more).");
        return R_NOT_FOUND;
    }
    auth_token_hash("event-rsvp", *token, hash);
    if (load_invitation(r->db, r->arena, hash, inv) != R_OK ||
        load_event(r->db, r->arena, inv->event, e) != R_OK) {
        r->message = tr(r, "This link is not valid (any more).");
        return R_NOT_FOUND;
    }
    return R_OK;
}

static void rsvp_fill(Request *r, const Invitation *inv, const Event *e, const char *token,
                      int changed)
{
    const char *zone = viewer_zone(r, e->tz);
    json_decref(r->data);
    r->data =
        json_build("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:b, s:o}",
                   "token", token, "name", inv->name, "title", e->title, "when",
                   when_range(r->arena, e->tz, e->starts_at, e->ends_at), "when_viewer",
                   when_range(r->arena, zone, e->starts_at, e->ends_at), "viewer_tz", zone, "place",
                   e->place, "online_link", e->online_link, "agenda", e->agenda, "answered_yes",
                   !strcmp(inv->response, "yes") && !inv->waitlisted, "waitlisted", inv->waitlisted,
                   "answered_no", !strcmp(inv->response, "no"), "answered_maybe",
                   !strcmp(inv->response, "maybe"), "changed", changed, "responses",
                   form_options(r, responses, response_labels, inv->response));
    r->page = "rsvp";
    r->title = e->title;
}

Result event_rsvp_page(Request *r)
{
    Invitation inv;
    Event e;
    const char *token;
    if (rsvp_load(r, &inv, &e, &token) != R_OK)
        return R_NOT_FOUND;
    rsvp_fill(r, &inv, &e, token, 0);
    return R_OK;
}

typedef struct {
    Request *r;
    const char *hash, *response;
    int64_t event;
    Invitation inv; /* out: as it stands after the answer */
} Answer;

/* The first who waits takes a free place and is told, in the language
 * they were invited in. *done is 1 when nobody waits. */
static Result promote_first(Db *w, Arena *ar, const Event *e, int *done)
{
    Stmt *st = db_prepare(w, "SELECT id, email, lang FROM event_invitees WHERE event_id = :event "
                             "AND waitlisted_at IS NOT NULL ORDER BY waitlisted_at, id LIMIT 1");
    db_bind_int(st, ":event", e->id);
    int64_t id = 0;
    char email[256] = "", lang[16] = "en";
    if (db_row(st)) {
        id = db_int(st, 0);
        snprintf(email, sizeof email, "%s", db_text(st, 1));
        snprintf(lang, sizeof lang, "%s", db_text(st, 2));
    }
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    *done = id == 0;
    if (!id)
        return R_OK;
    st = db_prepare(w, "UPDATE event_invitees SET waitlisted_at = NULL WHERE id = :id");
    db_bind_int(st, ":id", id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (!i18n_supported(lang))
        snprintf(lang, sizeof lang, "en");
    const char *body = arena_printf(ar, "%s\n\n%s\n%s: %s\n",
                                    i18n_gettext(lang, N_("A place has become free: you are no "
                                                          "longer on the waiting list and are "
                                                          "expected at:")),
                                    e->title, i18n_gettext(lang, N_("When")),
                                    when_range(ar, e->tz, e->starts_at, e->ends_at));
    return mail_queue(
               w, email,
               arena_printf(ar, "%s: %s", i18n_gettext(lang, N_("A place for you")), e->title),
               body) == R_OK
               ? R_OK
               : R_INTERNAL;
}

/* Fills the free places from the waiting list, in order. Run after every
 * answer and every edit (a capacity raised), inside their write, so that
 * a free place and someone waiting never stand side by side: nobody who
 * answers later passes those who wait. */
static Result promote_waiting(Db *w, Arena *ar, const Event *e)
{
    for (;;) {
        Counts c;
        count_invitees(w, e->id, &c);
        if (c.waiting == 0 || c.confirmed >= e->capacity)
            return R_OK;
        int done = 0;
        Result res = promote_first(w, ar, e, &done);
        if (res != R_OK || done)
            return res;
    }
}

/* The answer, the waiting list and any promotion, decided in one write
 * (the writer runs one job at a time), so the event never overfills. */
static Result answer_apply(Db *w, void *ctx)
{
    Answer *a = ctx;
    Arena *ar = a->r->arena;
    if (load_invitation(w, ar, a->hash, &a->inv) != R_OK)
        return R_NOT_FOUND;
    Event e;
    if (load_event(w, ar, a->inv.event, &e) != R_OK)
        return R_NOT_FOUND;
    a->event = e.id;
    int64_t now = now_seconds();
    int waits = 0;
    if (!strcmp(a->response, "yes")) {
        if (!strcmp(a->inv.response, "yes")) {
            waits = a->inv.waitlisted; /* the same answer again changes nothing */
        } else {
            Counts c;
            count_invitees(w, e.id, &c);
            waits = c.confirmed >= e.capacity;
        }
    }
    Stmt *st = db_prepare(w, "UPDATE event_invitees SET response = :response, responded_at = :now, "
                             "waitlisted_at = CASE WHEN :waits = 0 THEN NULL "
                             "ELSE coalesce(waitlisted_at, :now) END WHERE id = :id");
    db_bind_text(st, ":response", a->response);
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":waits", waits);
    db_bind_int(st, ":id", a->inv.id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    a->inv.response = a->response;
    a->inv.waitlisted = waits;
    /* A place given up goes to the first who waits. */
    Result res = promote_waiting(w, ar, &e);
    if (res != R_OK)
        return res;
    return audit_log(w, 0, "event answered", arena_printf(ar, "event %lld", (long long)e.id),
                     a->response);
}

Result event_rsvp_post(Request *r)
{
    Invitation inv;
    Event e;
    const char *token;
    char key[65];
    auth_token_hash("rsvp-client", r->client ? r->client : "", key);
    if (member_rate_limited(r->db, key, RSVP_LIMIT, RSVP_WINDOW)) {
        r->message = tr(r, "Too many answers from your network. Please try again in an hour.");
        r->status = 429;
        r->page = "form_message";
        return R_OK;
    }
    if (rsvp_load(r, &inv, &e, &token) != R_OK)
        return R_NOT_FOUND;
    int choice = 0;
    if (param_enum(r, "response", responses, &choice) != R_OK) {
        rsvp_fill(r, &inv, &e, token, 0);
        return R_BAD_REQUEST;
    }
    Answer a = {.r = r, .response = responses[choice]};
    char hash[65];
    auth_token_hash("event-rsvp", token, hash);
    a.hash = hash;
    Result res = db_write(r->db, answer_apply, &a);
    if (res == R_NOT_FOUND)
        return R_NOT_FOUND;
    if (res != R_OK)
        return R_INTERNAL;
    rsvp_fill(r, &a.inv, &e, token, 1);
    return R_OK;
}

/* ---- erasure ---- */

/* The place the person held goes to the first who waits. */
Result event_forget_email(Db *w, const char *email)
{
    enum { EVENTS_MAX = 256 }; /* events that lose an invitee at once */
    int64_t events[EVENTS_MAX];
    int n = 0;
    Stmt *st = db_prepare(w, "SELECT DISTINCT event_id FROM event_invitees WHERE email = :email");
    db_bind_text(st, ":email", email);
    while (n < EVENTS_MAX && db_row(st))
        events[n++] = db_int(st, 0);
    if (db_done(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "DELETE FROM event_invitees WHERE email = :email");
    db_bind_text(st, ":email", email);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    Arena *a = arena_new();
    Result res = R_OK;
    for (int i = 0; i < n && res == R_OK; i++) {
        Event e;
        if (load_event(w, a, events[i], &e) == R_OK)
            res = promote_waiting(w, a, &e);
    }
    arena_free(a);
    return res;
}

/* ---- reminders ---- */

typedef struct {
    int64_t id;
    const char *email, *subject, *body;
} Reminder;

static Result reminder_apply(Db *w, void *ctx)
{
    Reminder *m = ctx;
    Stmt *st = db_prepare(w, "UPDATE event_invitees SET reminded_at = :now WHERE id = :id "
                             "AND reminded_at IS NULL");
    db_bind_int(st, ":now", now_seconds());
    db_bind_int(st, ":id", m->id);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    if (db_changes(w) == 0)
        return R_OK;
    return mail_queue(w, m->email, m->subject, m->body) == R_OK ? R_OK : R_INTERNAL;
}

Result event_remind(Db *db, const char *base_url)
{
    (void)base_url; /* the personal link is not kept: the reminder points to the invitation */
    int64_t now = now_seconds();
    Arena *a = arena_new();
    Stmt *st = db_prepare(
        db, "SELECT i.id, i.email, i.lang, e.title, e.tz, e.starts_at, e.ends_at, e.place, "
            "e.online_link FROM event_invitees i JOIN events e ON e.id = i.event_id "
            "WHERE i.response IN ('yes', 'maybe') AND i.waitlisted_at IS NULL "
            "AND i.reminded_at IS NULL AND e.starts_at > :now AND e.starts_at <= :soon "
            "ORDER BY e.starts_at, i.id LIMIT 500");
    db_bind_int(st, ":now", now);
    db_bind_int(st, ":soon", now + EVENT_REMIND_HOURS * 3600);
    Reminder list[500];
    int n = 0;
    while (n < 500 && db_row(st)) {
        const char *lang = db_text(st, 2);
        lang = i18n_supported(lang) ? arena_strdup(a, lang) : "en";
        const char *title = db_text(st, 3);
        Buf b = {0};
        buf_printf(&b, "%s\n\n%s\n%s: %s\n",
                   i18n_gettext(lang, N_("A reminder: you are expected at")), title,
                   i18n_gettext(lang, N_("When")),
                   when_range(a, db_text(st, 4), db_int(st, 5), db_int(st, 6)));
        if (*db_text(st, 7))
            buf_printf(&b, "%s: %s\n", i18n_gettext(lang, N_("Where")), db_text(st, 7));
        if (*db_text(st, 8))
            buf_printf(&b, "%s: %s\n", i18n_gettext(lang, N_("Online")), db_text(st, 8));
        buf_printf(&b, "\n%s\n",
                   i18n_gettext(lang, N_("To change your answer, use the link in your "
                                         "invitation.")));
        list[n].id = db_int(st, 0);
        list[n].email = arena_strdup(a, db_text(st, 1));
        list[n].subject = arena_printf(a, "%s: %s", i18n_gettext(lang, N_("Reminder")), title);
        list[n].body = arena_strdup(a, b.data);
        buf_free(&b);
        n++;
    }
    Result res = db_done(st) == R_OK ? R_OK : R_INTERNAL;
    /* One transaction per invitee: a failure keeps the ones before. */
    for (int i = 0; i < n && res == R_OK; i++)
        res = db_write(db, reminder_apply, &list[i]);
    arena_free(a);
    return res;
}

/* ---- the calendar and its feeds ---- */

enum { CALENDAR_MEETINGS_MAX = 200 };

static int64_t item_start(const json_t *item)
{
    return json_integer_value(json_object_get(item, "t"));
}

static int by_start(const void *a, const void *b)
{
    int64_t x = item_start(*(json_t *const *)a), y = item_start(*(json_t *const *)b);
    return (x > y) - (x < y);
}

/* The lobbying meetings r's user may see (meeting.c decides which), as
 * calendar items beside the events. */
static void add_meetings(Request *r, const char *zone, int64_t since, json_t *list)
{
    MeetingSlot *slots = arena_alloc(r->arena, CALENDAR_MEETINGS_MAX * sizeof *slots);
    size_t n = meeting_slots(r, r->user, since, slots, CALENDAR_MEETINGS_MAX);
    for (size_t i = 0; i < n; i++) {
        const MeetingSlot *m = &slots[i];
        char day[32];
        tz_format(zone, m->starts_at, "%Y-%m-%d", day, sizeof day);
        const char *country = country_name_of(r, m->iso3);
        json_array_append_new(
            list, json_build("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "t",
                             (json_int_t)m->starts_at, "id", (json_int_t)m->id, "title", m->title,
                             "kind", tr(r, "Meeting with the government"), "country",
                             country ? country : m->iso3, "when",
                             m->has_time ? when_range(r->arena, zone, m->starts_at, m->ends_at)
                                         : arena_strdup(r->arena, day),
                             "place", m->place, "visibility", "", "link",
                             arena_printf(r->arena, "/meetings/%lld", (long long)m->id)));
    }
}

/* The events and meetings u may see from since on, soonest first, as
 * calendar items, each marking the first of its month. */
static json_t *calendar_items(Request *r, const char *zone, int64_t since)
{
    Stmt *st = db_prepare(
        r->db,
        "SELECT e.id, coalesce(e.author_id, 0), e.starts_at, e.ends_at, "
        "e.capacity, e.sequence, e.created_at, e.updated_at, e.uid, e.kind, e.title, e.iso3, e.tz, "
        "e.place, e.online_link, e.agenda, e.language, e.visibility, e.report, "
        "e.report_visibility FROM events e "
        "JOIN events vis ON vis.id = e.id "
        "WHERE e.ends_at >= :since AND " VISIBILITY_SQL " ORDER BY e.starts_at, e.id LIMIT 500");
    db_bind_int(st, ":since", since);
    visibility_bind(st, r->user);
    json_t *list = json_array();
    while (db_row(st)) {
        Event e;
        read_event(st, r->arena, &e);
        json_array_append_new(
            list,
            json_build("{s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "t",
                       (json_int_t)e.starts_at, "id", (json_int_t)e.id, "title", e.title, "kind",
                       tr(r, code_label(kinds, kind_labels, e.kind)), "country",
                       country_name_of(r, e.iso3) ? country_name_of(r, e.iso3) : e.iso3, "when",
                       when_range(r->arena, zone, e.starts_at, e.ends_at), "place",
                       *e.place ? e.place : e.online_link, "visibility",
                       tr(r, code_label(event_visibilities, event_visibility_labels, e.visibility)),
                       "link", arena_printf(r->arena, "/events/%lld", (long long)e.id)));
    }
    db_done(st);
    add_meetings(r, zone, since, list);
    /* One list in time order, each month's first item marked. */
    size_t n = json_array_size(list);
    json_t **items = arena_alloc(r->arena, (n + 1) * sizeof *items);
    for (size_t i = 0; i < n; i++)
        items[i] = json_incref(json_array_get(list, i));
    qsort(items, n, sizeof *items, by_start);
    json_array_clear(list);
    char month[32] = "";
    for (size_t i = 0; i < n; i++) {
        char m[32];
        tz_format(zone, item_start(items[i]), "%Y-%m", m, sizeof m);
        json_object_set_new(items[i], "month", json_string(m));
        json_object_set_new(items[i], "new_month", json_boolean(strcmp(m, month) != 0));
        snprintf(month, sizeof month, "%s", m);
        json_array_append_new(list, items[i]);
    }
    return list;
}

static Result calendar_fill(Request *r, const char *feed_url)
{
    const char *zone = viewer_zone(r, "UTC");
    int has_feed = 0;
    if (r->user) {
        Stmt *st = db_prepare(r->db, "SELECT 1 FROM calendar_feeds WHERE user_id = :id");
        db_bind_int(st, ":id", r->user->id);
        has_feed = db_row(st);
        db_done(st);
    }
    json_decref(r->data);
    r->data =
        json_build("{s:o, s:s, s:b, s:b, s:s, s:s}", "items",
                   calendar_items(r, zone, now_seconds() - CALENDAR_PAST_DAYS * 86400), "viewer_tz",
                   zone, "logged_in", r->user != NULL, "has_feed", has_feed, "feed_url",
                   feed_url ? feed_url : "", "public_feed", member_link(r, "/calendar.ics"));
    r->page = "calendar";
    r->title = tr(r, "Calendar");
    return R_OK;
}

Result event_calendar_page(Request *r)
{
    return calendar_fill(r, NULL);
}

/* The meetings viewer may see, in their feed (a visitor's has none). */
static void feed_meetings(Request *r, const User *viewer, int64_t now)
{
    MeetingSlot *slots = arena_alloc(r->arena, 2000 * sizeof *slots);
    size_t n = meeting_slots(r, viewer, now - FEED_PAST_DAYS * 86400, slots, 2000);
    Buf *out = &r->body_out;
    for (size_t i = 0; i < n; i++) {
        const MeetingSlot *m = &slots[i];
        ical_line(out, "begin", "VEVENT");
        ical_line(out, "UID", arena_printf(r->arena, "meeting-%lld@ratify", (long long)m->id));
        ical_utc(out, "DTSTAMP", now);
        ical_utc(out, "DTSTART", m->starts_at);
        ical_utc(out, "DTEND", m->ends_at);
        ical_text(out, "SUMMARY", m->title);
        if (*m->place)
            ical_text(out, "LOCATION", m->place);
        const char *link =
            member_link(r, arena_printf(r->arena, "/meetings/%lld", (long long)m->id));
        if (!strncmp(link, "http", 4))
            ical_line(out, "URL", link);
        ical_line(out, "STATUS", "CONFIRMED");
        ical_line(out, "end", "VEVENT");
    }
}

/* A feed's calendar: the events viewer may see (a visitor: the public
 * ones), from a year back. */
static void feed_body(Request *r, const User *viewer, const char *name)
{
    Buf *out = &r->body_out;
    ical_begin(out, "PUBLISH", name);
    Stmt *st = db_prepare(
        r->db,
        "SELECT e.id, coalesce(e.author_id, 0), e.starts_at, e.ends_at, "
        "e.capacity, e.sequence, e.created_at, e.updated_at, e.uid, e.kind, e.title, e.iso3, e.tz, "
        "e.place, e.online_link, e.agenda, e.language, e.visibility, e.report, "
        "e.report_visibility FROM events e "
        "JOIN events vis ON vis.id = e.id "
        "WHERE e.ends_at >= :since AND " VISIBILITY_SQL " ORDER BY e.starts_at, e.id LIMIT 2000");
    int64_t now = now_seconds();
    db_bind_int(st, ":since", now - FEED_PAST_DAYS * 86400);
    visibility_bind(st, viewer);
    while (db_row(st)) {
        Event e;
        read_event(st, r->arena, &e);
        ical_event(out, r->arena, &e, r->base_url, now);
    }
    db_done(st);
    feed_meetings(r, viewer, now);
    ical_line(out, "end", "VCALENDAR");
    r->content_type = "text/calendar; charset=UTF-8";
}

Result event_public_feed_page(Request *r)
{
    feed_body(r, NULL, "Ratify");
    return R_OK;
}

/* /calendar/feed/{64 hex}.ics: the owner's events, without a session
 * (calendar programs have none). The token is looked up by its keyed
 * hash; a revoked or unknown one is a 404. */
Result event_private_feed_page(Request *r)
{
    const char *file = param_raw(r, "file"); /* raw: "<token>.ics", checked here */
    char token[65], hash[65];
    if (!file || strlen(file) != 68 || strcmp(file + 64, ".ics") != 0 ||
        strspn(file, "0123456789abcdef") != 64)
        return R_NOT_FOUND;
    memcpy(token, file, 64);
    token[64] = 0;
    auth_token_hash("calendar-feed", token, hash);
    Stmt *st = db_prepare(r->db, "SELECT u.id, u.role FROM calendar_feeds f "
                                 "JOIN users u ON u.id = f.user_id "
                                 "WHERE f.token_hash = :hash AND u.disabled = 0");
    db_bind_text(st, ":hash", hash);
    User viewer = {0};
    if (db_row(st)) {
        viewer.id = db_int(st, 0);
        viewer.role = role_from_name(db_text(st, 1));
    }
    db_done(st);
    if (!viewer.id)
        return R_NOT_FOUND;
    feed_body(r, &viewer, "Ratify");
    http_add_header(r, "Cache-Control", "private, no-store");
    return R_OK;
}

typedef struct {
    int64_t user;
    const char *hash; /* NULL: revoke only */
    int replace;      /* a new address may replace one (the user was asked) */
    int replaced;     /* out: an old address stopped working */
} FeedWrite;

static Result feed_apply(Db *w, void *ctx)
{
    FeedWrite *f = ctx;
    Stmt *st;
    if (f->hash && !f->replace) {
        /* Read in the write, so that an address made meanwhile (another
         * tab) is not cut off without asking either. */
        st = db_prepare(w, "SELECT 1 FROM calendar_feeds WHERE user_id = :user");
        db_bind_int(st, ":user", f->user);
        int exists = db_row(st);
        if (db_done(st) != R_OK)
            return R_INTERNAL;
        if (exists)
            return R_CONFLICT;
    }
    st = db_prepare(w, "DELETE FROM calendar_feeds WHERE user_id = :user");
    db_bind_int(st, ":user", f->user);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    f->replaced = db_changes(w) > 0;
    if (f->hash) {
        st = db_prepare(w, "INSERT INTO calendar_feeds (user_id, token_hash, created_at) "
                           "VALUES (:user, :hash, :now)");
        db_bind_int(st, ":user", f->user);
        db_bind_text(st, ":hash", f->hash);
        db_bind_int(st, ":now", now_seconds());
        if (db_run(st) != R_OK)
            return R_INTERNAL;
    }
    return audit_log(w, f->user, f->hash ? "calendar feed created" : "calendar feed revoked",
                     "calendar feed", f->hash && f->replaced ? "replacing the previous one" : "");
}

/* The question before a new address replaces the user's current one:
 * what stops working, and a button that posts again, saying yes. */
static Result feed_replace_confirm(Request *r)
{
    Stmt *st = db_prepare(r->db, "SELECT created_at FROM calendar_feeds WHERE user_id = :id");
    db_bind_int(st, ":id", r->user->id);
    char made[16] = "";
    if (db_row(st))
        format_utc(db_int(st, 0), "%Y-%m-%d", made, sizeof made);
    db_done(st);
    json_t *what = json_array();
    if (*made)
        confirm_line(r, what, N_("Made on"), date_words(r, made));
    ConfirmPage c = {.heading = tr(r, "Replace your private calendar feed?"),
                     .consequence =
                         tr(r, "You already have a private feed address. A new one replaces it: "
                               "the current address will stop working at once, and calendar "
                               "programs that use it will no longer receive your events and "
                               "meetings until you give them the new one."),
                     .action = "/calendar/feed?replace=1",
                     .button = tr(r, "Make a new address"),
                     .cancel = "/calendar",
                     .what = what};
    return http_confirm(r, &c);
}

/* POST /calendar/feed: a private feed address, shown once, as only its
 * hash is kept. When the user has one, the new one would cut it off, so
 * the shared question is asked first; its button posts here again with
 * replace=1. */
Result event_feed_create_post(Request *r)
{
    char token[65], hash[65];
    random_hex(token, 32);
    auth_token_hash("calendar-feed", token, hash);
    /* raw: compared with one literal */
    const char *replace = param_raw(r, "replace");
    FeedWrite f = {.user = r->user->id, .hash = hash, .replace = replace && !strcmp(replace, "1")};
    Result res = db_write(r->db, feed_apply, &f);
    if (res == R_CONFLICT)
        return feed_replace_confirm(r);
    if (res != R_OK)
        return R_INTERNAL;
    Result page =
        calendar_fill(r, member_link(r, arena_printf(r->arena, "/calendar/feed/%s.ics", token)));
    if (f.replaced)
        r->message = tr(r, "Your private feed has a new address, below. The old one no longer "
                           "works: give the new one to your calendar programs.");
    return page;
}

/* GET /calendar/feed/revoke: what stops working, and a Revoke button.
 * Without a private feed there is nothing to ask: back to the calendar. */
Result event_feed_revoke_page(Request *r)
{
    Stmt *st = db_prepare(r->db, "SELECT created_at FROM calendar_feeds WHERE user_id = :id");
    db_bind_int(st, ":id", r->user->id);
    if (!db_row(st)) {
        db_done(st);
        return http_redirect(r, "/calendar");
    }
    char made[16];
    format_utc(db_int(st, 0), "%Y-%m-%d", made, sizeof made);
    db_done(st);
    json_t *what = json_array();
    confirm_line(r, what, N_("Made on"), date_words(r, made));
    ConfirmPage c = {.heading = tr(r, "Revoke your private calendar feed?"),
                     .consequence =
                         tr(r, "Its address will stop working at once: calendar programs that "
                               "use it will no longer receive your events and meetings. You can "
                               "make a new address afterwards."),
                     .action = "/calendar/feed/revoke",
                     .button = tr(r, "Revoke"),
                     .cancel = "/calendar",
                     .what = what};
    return http_confirm(r, &c);
}

/* POST /calendar/feed/revoke, asked first by the page above; revoking
 * when there is no feed changes nothing. */
Result event_feed_revoke_post(Request *r)
{
    FeedWrite f = {.user = r->user->id};
    if (db_write(r->db, feed_apply, &f) != R_OK)
        return R_INTERNAL;
    return http_redirect(r, "/calendar?done=feed-revoked");
}

/* ---- the API: shaped after OSDI's events and attendances ---- */

static const char *iso_utc(Arena *a, int64_t t)
{
    char s[32];
    format_utc(t, "%Y-%m-%dT%H:%M:%SZ", s, sizeof s);
    return arena_strdup(a, s);
}

static json_t *event_osdi(Request *r, const Event *e)
{
    return json_build("{s:I, s:[s], s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:{s:s}}, s:I, "
                      "s:s, s:s}",
                      "id", (json_int_t)e->id, "identifiers",
                      arena_printf(r->arena, "ratify:event:%lld", (long long)e->id), "title",
                      e->title, "kind", e->kind, "start_date", iso_utc(r->arena, e->starts_at),
                      "end_date", iso_utc(r->arena, e->ends_at), "time_zone", e->tz, "status",
                      "confirmed", "location", "venue", e->place, "online_link", e->online_link,
                      "address", "country", e->iso3, "capacity", (json_int_t)e->capacity,
                      "language", e->language, "visibility", e->visibility);
}

/* GET /api/v1/events: the events the caller may see, soonest first. */
Result event_api_list(Request *r)
{
    Stmt *st = db_prepare(
        r->db,
        "SELECT e.id, coalesce(e.author_id, 0), e.starts_at, e.ends_at, "
        "e.capacity, e.sequence, e.created_at, e.updated_at, e.uid, e.kind, e.title, e.iso3, e.tz, "
        "e.place, e.online_link, e.agenda, e.language, e.visibility, e.report, "
        "e.report_visibility FROM events e JOIN events vis ON vis.id = e.id WHERE " VISIBILITY_SQL
        " ORDER BY e.starts_at, e.id LIMIT 1000");
    visibility_bind(st, r->user);
    json_t *list = json_array();
    while (db_row(st)) {
        Event e;
        read_event(st, r->arena, &e);
        json_array_append_new(list, event_osdi(r, &e));
    }
    db_done(st);
    json_decref(r->data);
    r->data = json_build("{s:o}", "events", list);
    return R_OK;
}

/* GET /api/v1/events/{id}/attendances: who was invited and what they
 * answered, for those who manage the event (404 for who may not see it,
 * 403 for who may not manage it); each read logged like the page's. */
Result event_api_attendances(Request *r)
{
    static const char *const osdi_status[] = {"yes",   "accepted",  "no", "declined",
                                              "maybe", "tentative", NULL};
    Event e;
    if (visible_event(r, &e) != R_OK)
        return R_NOT_FOUND;
    if (!can_manage_event(r, &e))
        return R_FORBIDDEN;
    Stmt *st = db_prepare(r->db, "SELECT id, name, email, category, authority, response, "
                                 "waitlisted_at IS NOT NULL, attended FROM event_invitees "
                                 "WHERE event_id = :id ORDER BY id");
    db_bind_int(st, ":id", e.id);
    json_t *list = json_array();
    while (db_row(st)) {
        const char *resp = db_text(st, 5), *status = "needs_action";
        for (int i = 0; osdi_status[i]; i += 2)
            if (!strcmp(resp, osdi_status[i]))
                status = osdi_status[i + 1];
        json_array_append_new(
            list,
            json_build("{s:I, s:[s], s:{s:s, s:[{s:s}]}, s:s, s:s, s:b, s:b, s:b}", "id",
                       (json_int_t)db_int(st, 0), "identifiers",
                       arena_printf(r->arena, "ratify:invitation:%lld", (long long)db_int(st, 0)),
                       "person", "name", db_text(st, 1), "email_addresses", "address",
                       db_text(st, 2), "status", status, "category", db_text(st, 3), "authority",
                       db_int(st, 4) != 0, "waitlisted", db_int(st, 6) != 0, "attended",
                       db_int(st, 7) != 0));
    }
    db_done(st);
    if (json_array_size(list) > 0 &&
        log_event_read(r, "event invitees viewed", e.id, (int64_t)json_array_size(list)) != R_OK) {
        json_decref(list);
        return R_INTERNAL;
    }
    json_decref(r->data);
    r->data = json_build("{s:o, s:o}", "event", event_osdi(r, &e), "attendances", list);
    return R_OK;
}
