/*
 * view.c: the one place where results become responses. Pages render
 * through their template inside templates/layout.html; /api/ paths get the
 * same data as JSON; failures map to a status and a clear message.
 */
#include "web/view.h"

#include <stdio.h>
#include <string.h>

#include "base/assets.h"
#include "base/i18n.h"
#include "web/router.h"
#include "base/template.h"
#include "svc/auth.h"

int http_status_for(Result r)
{
    switch (r) {
    case R_OK:
        return 200;
    case R_BAD_REQUEST:
        return 400;
    case R_UNAUTHORIZED:
        return 401;
    case R_FORBIDDEN:
        return 403;
    case R_NOT_FOUND:
        return 404;
    case R_METHOD:
        return 405;
    case R_CONFLICT:
        return 409;
    case R_TOO_LARGE:
        return 413;
    case R_UNSUPPORTED:
        return 415;
    case R_TOO_MANY:
        return 429;
    case R_INTERNAL:
        break;
    }
    return 500;
}

/* The message shown when the handler gave none. */
static const char *default_message(Result result)
{
    switch (result) {
    case R_BAD_REQUEST:
        return N_("The request was not understood. Please check what you entered.");
    case R_UNAUTHORIZED:
        return N_("Please log in to see this page.");
    case R_FORBIDDEN:
        return N_("You do not have permission to do this.");
    case R_NOT_FOUND:
        return N_("Page not found");
    case R_METHOD:
        return N_("This address does not accept that kind of request.");
    case R_CONFLICT:
        return N_("This conflicts with a change made by someone else. Please reload.");
    case R_TOO_LARGE:
        return N_("What you sent is too large.");
    case R_UNSUPPORTED:
        return N_("This kind of content is not accepted here.");
    case R_TOO_MANY:
        return N_("Too many attempts. Please wait a few minutes and try again.");
    case R_OK:
    case R_INTERNAL:
        break;
    }
    return N_("Something went wrong on our side. It has been logged; please try again later.");
}

const char *view_template_source(const char *name, size_t *len)
{
    char path[128];
    if (snprintf(path, sizeof path, "templates/%s.html", name) >= (int)sizeof path)
        return NULL;
    const Asset *a = asset_find(path);
    if (!a)
        return NULL;
    *len = a->len;
    return (const char *)a->data;
}

/* Where the content goes in the layout: control characters never come out
 * of a template from data (requests with them are refused, and the
 * engine's output of them would be a bug), so the marker is unique. */
#define CONTENT_MARKER "\x01ratify-content\x01"

static const char *translate(void *ctx, const char *msgid)
{
    return i18n_gettext(((Request *)ctx)->lang, msgid);
}

static void respond_json(Request *r, json_t *body)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENSURE_ASCII);
    buf_puts(&r->body_out, text);
    free(text);
    r->content_type = "application/json";
}

static json_t *user_object(const User *u)
{
    json_t *countries = json_array();
    for (size_t i = 0; i < u->country_count; i++)
        json_array_append_new(countries, json_string(u->countries[i]));
    return json_build("{s:I, s:s, s:s, s:s, s:o, s:b, s:b, s:b}", "id", (json_int_t)u->id, "email",
                      u->email, "name", u->display_name[0] ? u->display_name : u->email, "role",
                      role_name(u->role), "countries", countries, "is_admin", u->role == ROLE_ADMIN,
                      "is_coordinator", u->role >= ROLE_COORDINATOR, "is_secretariat",
                      u->role == ROLE_ADMIN || u->committee);
}

static json_t *languages_object(Request *r)
{
    json_t *list = json_array();
    for (const Language *l = i18n_languages(); l->code; l++)
        json_array_append_new(list,
                              json_build("{s:s, s:s, s:b}", "code", l->code, "name", l->native_name,
                                         "current", strcmp(l->code, r->lang) == 0));
    return list;
}

/* What happened, after a destructive action redirected here with ?done=:
 * a fixed list, so a link cannot make the page say anything else. */
static const char *const done_codes[] = {"deleted",      "revoked", "removed",
                                         "feed-revoked", "left",    NULL};
static const char *const done_messages[] = {
    N_("Deleted. The deletion is recorded in the audit log."),
    N_("Revoked: the token no longer works. This is recorded in the audit log."),
    N_("Removed from the steering committee: they no longer see requests for support. This is "
       "recorded in the audit log."),
    N_("Revoked: your private feed address no longer works. Calendar programs that used it will "
       "stop updating."),
    N_("You have left the group."),
    NULL};

static void add_done_notice(Request *r, json_t *data)
{
    if (strcmp(r->method, "GET") != 0)
        return;
    const char *done = param_filter(r, "done", done_codes);
    if (done)
        json_object_set_new(data, "done_notice",
                            json_string(tr(r, code_label(done_codes, done_messages, done))));
}

/* ---- the menu ----
 * Grouped by role (issue 14): the campaign for everyone (more for members),
 * coordination for coordinators and the secretariat, the account. Every
 * administration page is listed on /admin, so admins get one entry, not
 * twelve. The item whose path is the longest prefix of the request's is
 * the current page (aria-current). */

typedef enum { SEE_ALL, SEE_VISITOR, SEE_MEMBER, SEE_COORDINATOR, SEE_SECRETARIAT } Seen;

typedef struct {
    int group; /* index into menu_groups */
    Seen seen;
    const char *href, *label;
    const char *also; /* another path prefix this entry stands for, or NULL */
} MenuItem;

static const char *const menu_groups[] = {N_("Campaign"), N_("Coordination"), N_("You")};

static const MenuItem menu_items[] = {
    {0, SEE_ALL, "/countries", N_("Countries"), "/treaties"},
    {0, SEE_ALL, "/friends", N_("Friends of the Protocol"), NULL},
    {0, SEE_ALL, "/calendar", N_("Calendar"), "/events"},
    {0, SEE_MEMBER, "/letters", N_("Letters"), NULL},
    {0, SEE_MEMBER, "/meetings", N_("Meetings"), NULL},
    {0, SEE_MEMBER, "/gatherings", N_("International gatherings"), NULL},
    {0, SEE_MEMBER, "/members", N_("Members"), NULL},
    {0, SEE_MEMBER, "/groups", N_("Working groups"), NULL},
    {0, SEE_MEMBER, "/assistance", N_("Support"), NULL},
    {1, SEE_COORDINATOR, "/admin/members", N_("Applications"), NULL},
    {1, SEE_COORDINATOR, "/admin/letters", N_("Letters overview"), NULL},
    {1, SEE_SECRETARIAT, "/admin/assistance", N_("Requests for support"), NULL},
    {1, SEE_SECRETARIAT, "/admin/outcomes", N_("Outcomes across countries"), NULL},
    {1, SEE_COORDINATOR, "/admin", N_("Administration"), NULL},
    {2, SEE_MEMBER, "/account", N_("Your account"), "/profile"},
    {2, SEE_VISITOR, "/join", N_("Join"), NULL},
    {2, SEE_VISITOR, "/login", N_("Log in"), NULL},
};

static int menu_sees(const User *u, Seen seen)
{
    switch (seen) {
    case SEE_ALL:
        return 1;
    case SEE_VISITOR:
        return !u;
    case SEE_MEMBER:
        return u != NULL;
    case SEE_COORDINATOR:
        return u && u->role >= ROLE_COORDINATOR;
    case SEE_SECRETARIAT:
        return u && (u->role == ROLE_ADMIN || u->committee);
    }
    return 0;
}

/* How long a prefix of path prefix is, on a segment boundary; 0 if none. */
static size_t menu_match(const char *path, const char *prefix)
{
    size_t n = prefix ? strlen(prefix) : 0;
    if (!n || strncmp(path, prefix, n) != 0 || (path[n] && path[n] != '/'))
        return 0;
    return n;
}

static json_t *menu_object(Request *r)
{
    size_t count = sizeof menu_items / sizeof menu_items[0], best = count, best_len = 0;
    for (size_t i = 0; i < count; i++) {
        if (!menu_sees(r->user, menu_items[i].seen))
            continue;
        size_t a = menu_match(r->path, menu_items[i].href);
        size_t b = menu_match(r->path, menu_items[i].also);
        size_t len = a > b ? a : b;
        if (len > best_len) {
            best = i;
            best_len = len;
        }
    }
    json_t *groups = json_array();
    for (int g = 0; g < (int)(sizeof menu_groups / sizeof menu_groups[0]); g++) {
        json_t *items = json_array();
        for (size_t i = 0; i < count; i++)
            if (menu_items[i].group == g && menu_sees(r->user, menu_items[i].seen))
                json_array_append_new(
                    items, json_build("{s:s, s:s, s:b}", "href", menu_items[i].href, "label",
                                      tr(r, menu_items[i].label), "current", i == best));
        if (json_array_size(items) == 0) {
            json_decref(items);
            continue;
        }
        json_array_append_new(groups, json_build("{s:s, s:o, s:b}", "title", tr(r, menu_groups[g]),
                                                 "items", items, "you", g == 2));
    }
    return groups;
}

/* Renders r->page inside the layout. Returns -1 if a template fails. */
static int render_page(Request *r)
{
    json_t *data = r->data ? json_incref(r->data) : json_object();
    if (!json_is_object(data)) {
        json_decref(data);
        data = json_object();
    }
    json_object_set_new(data, "csrf", json_string(auth_csrf_masked(r)));
    json_object_set_new(data, "lang", json_string(r->lang));
    json_object_set_new(data, "dir", json_string(i18n_is_rtl(r->lang) ? "rtl" : "ltr"));
    json_object_set_new(data, "request_id", json_string(r->request_id));
    json_object_set_new(data, "languages", languages_object(r));
    json_object_set_new(data, "path", json_string(r->path));
    json_object_set_new(data, "menu", menu_object(r));
    json_object_set_new(data, "home_current", json_boolean(strcmp(r->path, "/") == 0));
    if (r->user)
        json_object_set_new(data, "user", user_object(r->user));
    if (r->errors)
        json_object_set(data, "errors", r->errors);
    if (r->message)
        json_object_set_new(data, "message", json_string(r->message));
    add_done_notice(r, data);
    json_object_set_new(data, "title", json_string(r->title ? r->title : tr(r, "Ratify")));

    Buf content = {0};
    int rc = 0;
    if (!r->content.html) {
        rc = template_render_named(r->page, data, &content, view_template_source, translate, r);
        /* Kept apart for the fragment cache when the handler allows it. */
        if (rc == 0 && r->cache_content) {
            r->content.html =
                arena_strndup(r->arena, content.data ? content.data : "", content.len);
            r->content.len = content.len;
        }
    }
    if (rc == 0 && r->content.html) {
        /* The layout around a marker, then the content put in its place:
         * one copy of a large page instead of four (JSON, template, body). */
        json_object_set_new(data, "content", json_string(CONTENT_MARKER));
        Buf layout = {0};
        rc = template_render_named("layout", data, &layout, view_template_source, translate, r);
        const char *at = rc == 0 && layout.data ? strstr(layout.data, CONTENT_MARKER) : NULL;
        if (at) {
            size_t before = (size_t)(at - layout.data), skip = strlen(CONTENT_MARKER);
            buf_reserve(&r->body_out, layout.len - skip + r->content.len);
            buf_append(&r->body_out, layout.data, before);
            r->content.at = r->body_out.len;
            buf_append(&r->body_out, r->content.html, r->content.len);
            buf_append(&r->body_out, at + skip, layout.len - before - skip);
        } else {
            rc = -1;
        }
        buf_free(&layout);
    } else if (rc == 0) {
        json_object_set_new(data, "content",
                            json_stringn(content.data ? content.data : "", content.len));
        rc =
            template_render_named("layout", data, &r->body_out, view_template_source, translate, r);
    }
    buf_free(&content);
    json_decref(data);
    r->content_type = "text/html; charset=utf-8";
    return rc;
}

static void respond_error(Request *r, Result result)
{
    buf_free(&r->body_out);
    r->status = http_status_for(result);
    if (!r->message)
        r->message = tr(r, default_message(result));
    if (result == R_METHOD)
        http_add_header(r, "Allow", router_allowed(r->path, r->arena));
    if (r->is_api) {
        json_t *body = json_build("{s:{s:i, s:s, s:s}}", "error", "status", r->status, "message",
                                  r->message, "request_id", r->request_id);
        if (r->errors)
            json_object_set(json_object_get(body, "error"), "fields", r->errors);
        respond_json(r, body);
        json_decref(body);
        return;
    }
    r->page = "error";
    memset(&r->content, 0, sizeof r->content); /* an error page has its own content */
    r->cache_content = 0;
    json_decref(r->data);
    r->data = json_build("{s:i}", "status", r->status);
    if (render_page(r) == 0)
        return;
    buf_free(&r->body_out);
    buf_printf(&r->body_out, "%d %s\n", r->status, r->message);
    r->content_type = "text/plain; charset=utf-8";
}

void view_respond(Request *r, Result result)
{
    if (result == R_UNAUTHORIZED && !r->is_api && strcmp(r->method, "GET") == 0) {
        Buf next = {0};
        buf_puts(&next, "/login?next=");
        escape_url_component(&next, r->path, strlen(r->path));
        http_redirect(r, arena_strdup(r->arena, next.data));
        buf_free(&next);
        result = R_OK;
    }
    if (result == R_OK && r->redirect) {
        r->status = 303;
        http_add_header(r, "Location", r->redirect);
        r->content_type = "text/plain; charset=utf-8";
        return;
    }
    if (result == R_OK && r->content_type) { /* the handler wrote the body itself */
        r->status = r->status ? r->status : 200;
        return;
    }
    if (result == R_OK && r->is_api) {
        r->status = r->status ? r->status : 200;
        if (!r->data)
            r->data = json_object();
        respond_json(r, r->data);
        /* Equal JSON bodies hash equal: clients polling the API get a 304
         * with no body when nothing changed. */
        if (http_etag(r, r->body_out.data, r->body_out.len)) {
            r->status = 304;
            buf_free(&r->body_out);
        }
        return;
    }
    if (result == R_OK || (result == R_BAD_REQUEST && r->page && !r->is_api)) {
        if (!r->page && r->content.html)
            r->page = "fragment"; /* for the log below; render_page uses the content */
        r->status = result == R_OK ? (r->status ? r->status : 200) : 400;
        if (render_page(r) == 0)
            return;
        log_info("%s template %s failed to render", r->request_id, r->page);
        result = R_INTERNAL;
    }
    respond_error(r, result);
}
