/*
 * audit.c: the audit log (see audit.h): appending changes and reads,
 * expiring old reads, the words entries are shown in, and who has read a
 * person's details. The pages that show the log (/admin/audit,
 * /profile/views) are feat/audit_log.c's.
 *
 * Invariants: entries hold ids, codes and counts, never a name, an email
 * or any other content of what was read; a read is recorded before the
 * data leaves the server and a page whose read cannot be recorded is not
 * shown; reads are kept AUDIT_READ_DAYS days, changes for good. Actions
 * are stored in English and shown through the catalogues.
 */
#include "svc/audit.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

/* A plain statement on the connection it is given: every caller is already
 * inside a write (an apply function, on the writer's connection), and the
 * entry commits or rolls back with the change it records. */
Result audit_log(Db *w, int64_t user_id, const char *action, const char *object, const char *detail)
{
    Stmt *st = db_prepare(w, "INSERT INTO audit_log (at, user_id, action, object, detail) "
                             "VALUES (:at, :user, :action, :object, :detail)");
    db_bind_int(st, ":at", now_seconds());
    if (user_id)
        db_bind_int(st, ":user", user_id);
    else
        db_bind_null(st, ":user");
    db_bind_text(st, ":action", action);
    db_bind_text(st, ":object", object ? object : "");
    db_bind_text(st, ":detail", detail ? detail : "");
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* Every action the code writes, so the page can show it in words and offer
 * it as a filter. An action missing here is shown as stored. */
const char *const audit_action_codes[] = {
    /* reads */
    "members directory viewed", "membership applications viewed", "people listed through the API",
    "organisations listed through the API", "memberships listed through the API",
    "members exported", "coalition viewed", "coalition form viewed", "working group viewed",
    "person viewed", "organisation viewed", "letter viewed", "response viewed", "mail queue viewed",
    "country position viewed", "submission viewed", "outcomes listed", "assistance requests listed",
    "assistance request viewed", "assistance file downloaded", "event invitees viewed",
    "event report viewed", "meeting viewed", "meetings listed",
    /* changes */
    "account closed and personal data erased", "api token issued", "api token revoked",
    "assistance message written", "assistance requested", "assistance updated", "coalition updated",
    "colleague invited", "domestic stage deleted", "domestic stage recorded", "invitation accepted",
    "letter drafted", "letter sent", "login", "mail queued", "mail retried", "members imported",
    "membership applied", "membership approved", "membership confirmed", "membership declined",
    "membership status changed", "model letter saved", "organisation profile changed",
    "password set", "profile changed", "response recorded", "steering committee member named",
    "steering committee member removed", "target added", "target correction closed",
    "target correction proposed", "target deleted", "treaty action deleted",
    "treaty action imported", "treaty action recorded", "UNTC change applied",
    "UNTC change rejected", "user added", "working group created", "working group edited",
    "working group joined", "working group left", "working group moderator named",
    "working group moderator removed", "upr recommendations imported",
    "upr recommendation classified", "state action recorded", "state action deleted",
    "position statement recorded", "position statement deleted", "position assessed",
    "submission draft saved", "submission kept", "gathering recorded", "gathering attended",
    "gathering left", "delegation answer recorded", "calendar feed created",
    "calendar feed revoked", "event answered", "event attendance recorded", "event created",
    "event invitations sent", "event report saved", "event updated", "meeting planned",
    "meeting brief edited", "meeting delegation changed", "meeting outcome recorded",
    "meeting closed", NULL};
const char *const audit_action_labels[] = {N_("members directory viewed"),
                                           N_("membership applications viewed"),
                                           N_("people listed through the API"),
                                           N_("organisations listed through the API"),
                                           N_("memberships listed through the API"),
                                           N_("members exported"),
                                           N_("coalition viewed"),
                                           N_("coalition form viewed"),
                                           N_("working group viewed"),
                                           N_("person viewed"),
                                           N_("organisation viewed"),
                                           N_("letter viewed"),
                                           N_("response viewed"),
                                           N_("mail queue viewed"),
                                           N_("country position viewed"),
                                           N_("submission viewed"),
                                           N_("outcomes listed"),
                                           N_("assistance requests listed"),
                                           N_("assistance request viewed"),
                                           N_("assistance file downloaded"),
                                           N_("event invitees viewed"),
                                           N_("event report viewed"),
                                           N_("meeting viewed"),
                                           N_("meetings listed"),
                                           N_("account closed and personal data erased"),
                                           N_("api token issued"),
                                           N_("api token revoked"),
                                           N_("assistance message written"),
                                           N_("assistance requested"),
                                           N_("assistance updated"),
                                           N_("coalition updated"),
                                           N_("colleague invited"),
                                           N_("domestic stage deleted"),
                                           N_("domestic stage recorded"),
                                           N_("invitation accepted"),
                                           N_("letter drafted"),
                                           N_("letter sent"),
                                           N_("login"),
                                           N_("mail queued"),
                                           N_("mail retried"),
                                           N_("members imported"),
                                           N_("membership applied"),
                                           N_("membership approved"),
                                           N_("membership confirmed"),
                                           N_("membership declined"),
                                           N_("membership status changed"),
                                           N_("model letter saved"),
                                           N_("organisation profile changed"),
                                           N_("password set"),
                                           N_("profile changed"),
                                           N_("response recorded"),
                                           N_("steering committee member named"),
                                           N_("steering committee member removed"),
                                           N_("target added"),
                                           N_("target correction closed"),
                                           N_("target correction proposed"),
                                           N_("target deleted"),
                                           N_("treaty action deleted"),
                                           N_("treaty action imported"),
                                           N_("treaty action recorded"),
                                           N_("UNTC change applied"),
                                           N_("UNTC change rejected"),
                                           N_("user added"),
                                           N_("working group created"),
                                           N_("working group edited"),
                                           N_("working group joined"),
                                           N_("working group left"),
                                           N_("working group moderator named"),
                                           N_("working group moderator removed"),
                                           N_("upr recommendations imported"),
                                           N_("upr recommendation classified"),
                                           N_("state action recorded"),
                                           N_("state action deleted"),
                                           N_("position statement recorded"),
                                           N_("position statement deleted"),
                                           N_("position assessed"),
                                           N_("submission draft saved"),
                                           N_("submission kept"),
                                           N_("gathering recorded"),
                                           N_("gathering attended"),
                                           N_("gathering left"),
                                           N_("delegation answer recorded"),
                                           N_("calendar feed created"),
                                           N_("calendar feed revoked"),
                                           N_("event answered"),
                                           N_("event attendance recorded"),
                                           N_("event created"),
                                           N_("event invitations sent"),
                                           N_("event report saved"),
                                           N_("event updated"),
                                           N_("meeting planned"),
                                           N_("meeting brief edited"),
                                           N_("meeting delegation changed"),
                                           N_("meeting outcome recorded"),
                                           N_("meeting closed"),
                                           NULL};

/* The first word(s) of an object ("person 5", "api token 3"). */
const char *const audit_type_codes[] = {"person",
                                        "organisation",
                                        "membership",
                                        "memberships",
                                        "country",
                                        "group",
                                        "letter",
                                        "response",
                                        "target",
                                        "correction",
                                        "assistance",
                                        "api token",
                                        "model",
                                        "directory",
                                        "coalition",
                                        "people",
                                        "organisations",
                                        "mail queue",
                                        "mail",
                                        "position",
                                        "state action",
                                        "upr import",
                                        "upr recommendation",
                                        "submission",
                                        "outcomes",
                                        "gathering",
                                        "event",
                                        "calendar feed",
                                        "meetings",
                                        "meeting",
                                        NULL};
const char *const audit_type_labels[] = {N_("Person"),
                                         N_("Organisation"),
                                         N_("Membership"),
                                         N_("Memberships"),
                                         N_("Country"),
                                         N_("Working group"),
                                         N_("Letter"),
                                         N_("Response"),
                                         N_("Target"),
                                         N_("Correction"),
                                         N_("Request for help"),
                                         N_("API token"),
                                         N_("Model letter"),
                                         N_("Members directory"),
                                         N_("Coalition"),
                                         N_("People"),
                                         N_("Organisations"),
                                         N_("Mail queue"),
                                         N_("Message"),
                                         N_("Position"),
                                         N_("State action"),
                                         N_("UPR import"),
                                         N_("UPR recommendation"),
                                         N_("Submission"),
                                         N_("Outcomes"),
                                         N_("Gathering"),
                                         N_("Event"),
                                         N_("Calendar feed"),
                                         N_("Meetings"),
                                         N_("Meeting"),
                                         NULL};

static const char *const role_codes[] = {"admin", "coordinator", "member", "cli", "token", NULL};
static const char *const role_labels[] = {N_("Administrator"), N_("Coordinator"), N_("Member"),
                                          N_("Command line"),  N_("API token"),   NULL};

/* ---- writing reads ---- */

void audit_set_init(AuditSet *s, Arena *arena)
{
    memset(s, 0, sizeof *s);
    s->arena = arena;
}

void audit_set_add(AuditSet *s, const char *type, int64_t id)
{
    if (s->count == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 32;
        const char **types = arena_alloc(s->arena, cap * sizeof *types);
        int64_t *ids = arena_alloc(s->arena, cap * sizeof *ids);
        if (s->count) {
            memcpy(types, s->types, s->count * sizeof *types);
            memcpy(ids, s->ids, s->count * sizeof *ids);
        }
        s->types = types;
        s->ids = ids;
        s->cap = cap;
    }
    s->types[s->count] = type;
    s->ids[s->count++] = id;
}

Result audit_read_entry(Db *w, int64_t user_id, int64_t api_token_id, const char *action,
                        const char *object, const char *detail, int64_t *entry)
{
    /* The reader's role now, kept with the entry: roles change and
     * accounts close, and "who looked" must still read right then. */
    Stmt *st = db_prepare(
        w, "INSERT INTO audit_log (at, user_id, api_token_id, kind, actor_role, action, object, "
           "detail) VALUES (:at, CAST(:user AS BIGINT), CAST(:token AS BIGINT), 'read', "
           "CASE WHEN CAST(:token AS BIGINT) IS NOT NULL THEN 'token' "
           "WHEN CAST(:user AS BIGINT) IS NULL THEN 'cli' "
           "ELSE coalesce((SELECT role FROM users WHERE id = CAST(:user AS BIGINT)), '') END, "
           ":action, :object, :detail) RETURNING id");
    db_bind_int(st, ":at", now_seconds());
    if (user_id)
        db_bind_int(st, ":user", user_id);
    else
        db_bind_null(st, ":user");
    if (api_token_id)
        db_bind_int(st, ":token", api_token_id);
    else
        db_bind_null(st, ":token");
    db_bind_text(st, ":action", action);
    db_bind_text(st, ":object", object);
    db_bind_text(st, ":detail", detail ? detail : "");
    return db_insert(st, entry) == R_OK ? R_OK : R_INTERNAL;
}

Result audit_subjects_of_export(Db *w, int64_t entry)
{
    /* Two statements, whatever the number of members. */
    Stmt *st = db_prepare(w, "INSERT INTO audit_subjects (entry_id, subject_type, subject_id) "
                             "SELECT DISTINCT :entry, 'person', person_id FROM memberships");
    db_bind_int(st, ":entry", entry);
    if (db_run(st) != R_OK)
        return R_INTERNAL;
    st = db_prepare(w, "INSERT INTO audit_subjects (entry_id, subject_type, subject_id) "
                       "SELECT DISTINCT :entry, 'organisation', org_id FROM memberships "
                       "WHERE org_id IS NOT NULL");
    db_bind_int(st, ":entry", entry);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

static Result insert_subject(Db *w, int64_t entry, const char *type, int64_t id)
{
    Stmt *st = db_prepare(w, "INSERT INTO audit_subjects (entry_id, subject_type, "
                             "subject_id) VALUES (:entry, :type, :id) ON CONFLICT DO NOTHING");
    db_bind_int(st, ":entry", entry);
    db_bind_text(st, ":type", type);
    db_bind_int(st, ":id", id);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* The person record of user (0: none). */
static int64_t person_of(Db *db, int64_t user)
{
    if (!user)
        return 0;
    Stmt *st = db_prepare(db, "SELECT id FROM people WHERE user_id = :user");
    db_bind_int(st, ":user", user);
    int64_t id = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return id;
}

/* What write_read writes: one read entry and a subject row for each record
 * of s but the reader's own person (me). */
typedef struct {
    int64_t user, token, me;
    const char *action, *object, *detail;
    const AuditSet *s;
} ReadEntry;

static int is_me(const ReadEntry *e, size_t i)
{
    return e->me && e->s->ids[i] == e->me && strcmp(e->s->types[i], "person") == 0;
}

static Result read_entry_add_apply(Db *w, void *ctx)
{
    ReadEntry *e = ctx;
    int64_t entry;
    Result res = audit_read_entry(w, e->user, e->token, e->action, e->object, e->detail, &entry);
    for (size_t i = 0; res == R_OK && i < e->s->count; i++)
        if (!is_me(e, i))
            res = insert_subject(w, entry, e->s->types[i], e->s->ids[i]);
    return res;
}

/* Writes one read entry with the subjects of s except the reader's own
 * person; nothing when none is left. Its own write, or part of the
 * caller's when called from inside an apply function (db_write joins it).
 * Fails closed: any failure is R_INTERNAL and the caller shows nothing. */
static Result write_read_as(Db *db, int64_t user, int64_t token, const char *action,
                            const char *object, const AuditSet *s, int always)
{
    ReadEntry e = {.user = user,
                   .token = token,
                   .me = person_of(db, user),
                   .action = action,
                   .object = object,
                   .s = s};
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++)
        n += !is_me(&e, i);
    if (!n && !always)
        return R_OK;
    char detail[32];
    snprintf(detail, sizeof detail, "%zu", n);
    e.detail = detail;
    if (db_write(db, read_entry_add_apply, &e) == R_OK)
        return R_OK;
    log_info("audit: a read could not be recorded (%s); the page is refused", action);
    return R_INTERNAL;
}

static Result write_read(Db *db, int64_t user, int64_t token, const char *action,
                         const char *object, const AuditSet *s)
{
    return write_read_as(db, user, token, action, object, s, 0);
}

Result audit_read_record(Db *db, int64_t user_id, int64_t api_token_id, const char *action,
                         const char *object, const AuditSet *s)
{
    return write_read_as(db, user_id, api_token_id, action, object, s, 1);
}

Result audit_read_set(Request *r, const char *action, const char *object, const AuditSet *s)
{
    return write_read(r->db, r->user ? r->user->id : 0, r->api_token_id, action, object, s);
}

Result audit_read(Db *db, int64_t user_id, const char *type, int64_t id)
{
    static const char *const types[] = {"person", "organisation", "letter", "response", NULL};
    static const char *const actions[] = {"person viewed", "organisation viewed", "letter viewed",
                                          "response viewed", NULL};
    int i = 0;
    while (types[i] && strcmp(types[i], type) != 0)
        i++;
    if (!types[i])
        return R_INTERNAL; /* the CHECK in 009 would refuse it anyway */
    char object[48];
    snprintf(object, sizeof object, "%s %lld", type, (long long)id);
    const char *one = types[i];
    AuditSet s = {.types = &one, .ids = &id, .count = 1, .cap = 1};
    return write_read(db, user_id, 0, actions[i], object, &s);
}

Result audit_expire_reads(Db *w, int64_t now)
{
    /* Subjects go with their entries (ON DELETE CASCADE, indexed). */
    Stmt *st = db_prepare(w, "DELETE FROM audit_log WHERE kind = 'read' AND at < :old");
    db_bind_int(st, ":old", now - (int64_t)AUDIT_READ_DAYS * 86400);
    return db_run(st) == R_OK ? R_OK : R_INTERNAL;
}

/* ---- the log in words (for the pages: feat/audit_log.c, member.c) ---- */

const char *audit_when(Request *r, int64_t at)
{
    char buf[32];
    format_utc(at, "%Y-%m-%d %H:%M UTC", buf, sizeof buf);
    return arena_strdup(r->arena, buf);
}

const char *audit_action_words(Request *r, const char *action)
{
    for (int i = 0; audit_action_codes[i]; i++)
        if (strcmp(audit_action_codes[i], action) == 0)
            return tr(r, audit_action_labels[i]);
    return action;
}

/* "person 5" -> "Person 5", in the request's language. */
const char *audit_object_words(Request *r, const char *object)
{
    for (int i = 0; audit_type_codes[i]; i++) {
        size_t n = strlen(audit_type_codes[i]);
        if (strncmp(object, audit_type_codes[i], n) == 0 && (object[n] == 0 || object[n] == ' '))
            return arena_printf(r->arena, "%s%s", tr(r, audit_type_labels[i]), object + n);
    }
    return object;
}

const char *audit_role_words(Request *r, const char *role)
{
    return tr(r, code_label(role_codes, role_labels, role));
}

/* ---- who has seen a person's details ---- */

json_t *audit_views_of(Request *r, int64_t person, int64_t limit, int64_t offset, int *more)
{
    /* Entries naming the person, one of their organisations, or a letter
     * they wrote or a response they recorded; each IN list is an index
     * range on audit_subjects' key. */
    Stmt *st = db_prepare(
        r->db,
        "SELECT a.at, a.action, a.actor_role, coalesce(u.display_name, ''), "
        "coalesce(u.email, ''), coalesce(t.name, ''), a.object FROM audit_log a "
        "LEFT JOIN users u ON u.id = a.user_id "
        "LEFT JOIN api_tokens t ON t.id = a.api_token_id "
        "WHERE a.id IN (SELECT entry_id FROM audit_subjects WHERE subject_type = 'person' "
        "AND subject_id = :person UNION SELECT s.entry_id FROM audit_subjects s "
        "JOIN org_people op ON op.org_id = s.subject_id AND op.person_id = :person "
        "WHERE s.subject_type = 'organisation' "
        "UNION SELECT s.entry_id FROM audit_subjects s JOIN letters l ON l.id = s.subject_id "
        "JOIN people p ON p.user_id = l.author_id AND p.id = :person "
        "WHERE s.subject_type = 'letter' "
        "UNION SELECT s.entry_id FROM audit_subjects s JOIN responses rs "
        "ON rs.id = s.subject_id JOIN people p ON p.user_id = rs.recorded_by "
        "AND p.id = :person WHERE s.subject_type = 'response') "
        "ORDER BY a.id DESC LIMIT :limit OFFSET :offset");
    db_bind_int(st, ":person", person);
    db_bind_int(st, ":limit", limit + 1);
    db_bind_int(st, ":offset", offset);
    json_t *list = json_array();
    int64_t n = 0;
    *more = 0;
    while (db_row(st)) {
        if (++n > limit) {
            *more = 1;
            break;
        }
        const char *role = db_text(st, 2);
        /* Coordinators and administrators act for the coalition and answer
         * for what they read: they are named. A member is not: they saw
         * only what the person chose to show members. */
        const char *viewer;
        if (!strcmp(role, "admin") || !strcmp(role, "coordinator"))
            viewer = *db_text(st, 3) ? db_text(st, 3) : db_text(st, 4);
        else if (!strcmp(role, "token"))
            viewer = db_text(st, 5);
        else
            viewer = "";
        json_array_append_new(list, json_build("{s:s, s:s, s:s, s:s, s:s}", "at",
                                               audit_when(r, db_int(st, 0)), "action",
                                               audit_action_words(r, db_text(st, 1)), "viewer",
                                               viewer, "role", audit_role_words(r, role), "what",
                                               audit_object_words(r, db_text(st, 6))));
    }
    db_done(st);
    return list;
}
