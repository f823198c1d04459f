/*
 * http.h: what a handler sees: the Request (input, the logged-in user, and
 * the response being built), the route table's types, typed parameter
 * getters, and the helpers that set cookies, headers and redirects.
 *
 * A handler fills r->data (one JSON object) and names r->page; the server
 * renders the page inside the layout, or, for a path under /api/v1/, sends
 * r->data as JSON. The same handler serves both.
 */
#ifndef RATIFY_HTTP_H
#define RATIFY_HTTP_H

#include <jansson.h>
#include <stdint.h>

#include "db/db.h"
#include "base/form.h"
#include "base/i18n.h"
#include "base/util.h"

typedef enum { ROLE_MEMBER = 1, ROLE_COORDINATOR = 2, ROLE_ADMIN = 3 } Role;

/* Who may call a route. Each level includes the ones above it. */
typedef enum {
    PERM_PUBLIC,      /* anyone, logged in or not */
    PERM_MEMBER,      /* any logged-in user */
    PERM_COORDINATOR, /* coordinators and admins; object checks narrow it to countries */
    PERM_ADMIN,       /* admins only */
    PERM_API_READ,    /* an API token (any scope) or an admin's session */
    PERM_API_WRITE,   /* an API token with the write scope or an admin's session */
} Permission;

typedef struct {
    int64_t id;
    const char *email;
    const char *display_name;
    Role role;
    const char *lang;       /* NULL: negotiate from the browser */
    const char **countries; /* coordinator's ISO3 codes */
    const char *home_iso3;  /* the country of the user's member profile, or NULL */
    int64_t person_id;      /* the user's member profile (people.id), or 0 */
    size_t country_count;
    int two_factor; /* 1: a second factor is enrolled and confirmed */
    int committee;  /* 1: on the coalition's steering committee (steering_committee) */
} User;

typedef struct Request Request;
typedef Result (*Handler)(Request *r);

typedef struct {
    const char *method;  /* "GET" or "POST" */
    const char *pattern; /* "/countries/{iso3}": {name} matches one segment */
    Handler handler;
    Permission permission;
    int csrf;         /* 1: a POST must carry a valid CSRF token */
    const char *name; /* the handler's name, for `ratify help` */
} Route;

typedef struct {
    const char *name;
    const char *value;
} Header;

enum { MAX_RESPONSE_HEADERS = 16 };

/* A page's rendered content (its template without the layout), kept apart
 * when it comes from or goes into the fragment cache (web/cache.h). */
typedef struct {
    const char *html; /* NULL: none kept */
    size_t len;
    size_t at; /* where it starts in body_out once the layout is around it */
    /* From the cache: the content alone as raw deflate ending on a full
     * flush, and its CRC-32, which web/compress.c places between the
     * layout's parts (stored, not compressed: they hold the secrets). */
    const unsigned char *deflate;
    size_t deflate_len;
    unsigned long crc;
} PageContent;

struct Request {
    Arena *arena;
    Db *db;
    /* Input. */
    const char *method;
    const char *path;
    const char *request_id; /* 16 hex digits, in the access log and error pages */
    int is_api;             /* path starts with /api/ */
    int tls;                /* served over https (directly or via the proxy) */
    const char *client;     /* client address; never stored in clear */
    const char *base_url;   /* "https://ratify.example.org", for links in emails */
    Params query;
    Params form;                                         /* urlencoded or multipart body */
    Params path_params;                                  /* from {name} segments of the route */
    const char *(*header)(Request *r, const char *name); /* request header or NULL */
    void *conn;                                          /* the server's connection, for header() */
    const char *body;
    size_t body_len;
    const Route *route;
    /* Who is asking. */
    User *user;                /* NULL when not logged in */
    const char *session_token; /* raw session token from the cookie, or NULL */
    const char *api_scope;     /* "read" or "write" for a request with an API token */
    int64_t api_token_id;      /* that token's id (api_tokens.id), for the audit log */
    json_t *json_body;         /* an application/json body under /api/, parsed */
    const char *csrf_token;    /* the token forms must echo back */
    const char *lang;          /* negotiated UI language */
    /* Response. */
    int status;               /* 0: 200, or chosen from the Result */
    const char *page;         /* template name: "home" renders templates/home.html */
    const char *title;        /* page title, already translated */
    json_t *data;             /* page data; the server adds user, csrf, lang */
    json_t *errors;           /* field name -> message, for forms shown again */
    const char *redirect;     /* if set, 303 See Other to this local path */
    const char *message;      /* for error pages: what went wrong, translated */
    int cache_public;         /* for visitors not logged in, depends only on path, query,
                               * language and the database: see cache.h */
    int cache_content;        /* the page's content is the same for every reader who may
                               * open it: kept as a fragment for logged-in readers (cache.h) */
    PageContent content;      /* the page's rendered content, when kept apart (cache.h) */
    Buf body_out;             /* a raw body (static files, CSV): sent as is */
    const char *content_type; /* of body_out */
    Header headers[MAX_RESPONSE_HEADERS];
    int header_count;
};

/* json_pack that reports a format/argument mismatch or invalid UTF-8 as a
 * fault (util.h): jansson cannot be type-checked by the compiler, and a
 * silent NULL would drop data from a page. The request then answers 500;
 * the caller gets an empty object. Every handler builds its JSON with this. */
json_t *json_build(const char *fmt, ...);

/* Translates msgid into the request's language. */
const char *tr(Request *r, const char *msgid);
/* The form of a counted phrase for n in the request's language (gettext
 * plural forms: msgid_plural and msgstr[N] in po/, chosen by each
 * catalogue's Plural-Forms), with its "%d" replaced by n. The translation
 * is never used as a format string. In the arena. */
const char *tr_n(Request *r, const char *msgid, const char *msgid_plural, long n);
/* A "YYYY-MM-DD" date as the reader writes it ("24 September 2013",
 * "24 de septiembre de 2013"); anything else is returned as it is. In the
 * arena. */
const char *date_words(Request *r, const char *date);

/* Adds a response header (name and value must outlive the request: use
 * literals or arena strings). */
void http_add_header(Request *r, const char *name, const char *value);

/* Sets a cookie with the attributes Ratify always wants: Path=/, HttpOnly,
 * SameSite=Lax, and Secure with the __Host- prefix when served over TLS.
 * max_age < 0 deletes it; 0 makes a session cookie. */
void http_set_cookie(Request *r, const char *name, const char *value, int64_t max_age);

/* The value of cookie name (without the __Host- prefix) or NULL. */
const char *http_cookie(Request *r, const char *name);

/* Sets an ETag from a hash of data[0..len) and returns 1 when the request's
 * If-None-Match already names it (the caller then answers 304). */
int http_etag(Request *r, const void *data, size_t len);

/* 1 when If-None-Match (match, may be NULL) names etag, or etag's gzipped
 * form ("abc" and "abc-gz", web/compress.h) or its plain form. */
int http_etag_matches(const char *match, const char *etag);

/* Answers with 303 See Other to a local path (must start with '/' and not
 * "//"). Returns R_OK. */
Result http_redirect(Request *r, const char *path);

/* A confirmation page asked before a destructive action (without
 * JavaScript): heading, what will go as [{label, value}] (stolen), what it
 * means, the POST action (same path, CSRF), the button's words and where
 * Cancel goes. Strings are translated already. Returns R_OK. */
typedef struct {
    const char *heading, *consequence, *action, *button, *cancel;
    json_t *what;
} ConfirmPage;
Result http_confirm(Request *r, const ConfirmPage *c);

/* Appends one {label, value} line to a ConfirmPage's what (label translated
 * here; value NULL or "" skipped). */
void confirm_line(Request *r, json_t *what, const char *label, const char *value);

/* The error summary of a form: [{anchor, label (translated), message}] for
 * each field of fields (NULL-terminated, in the order of the form) that has
 * an error in r->errors; anchors[i] is the id the link goes to (the input,
 * or a fieldset for a group of boxes); labels are English msgids. */
typedef struct {
    const char *field, *anchor, *label;
} FormField;
json_t *form_error_summary(Request *r, const FormField *fields);

/* Typed parameters: looked up in the path, then the body (POST), then the
 * query string. On a missing or invalid value each sets a translated message
 * in r->errors under name and returns R_BAD_REQUEST; optional ones give
 * R_OK with *out = NULL / default when absent. Text is trimmed of
 * surrounding whitespace and must be valid UTF-8 without control
 * characters (newlines allowed only when multiline). */
Result param_text(Request *r, const char *name, size_t min_len, size_t max_len, int multiline,
                  const char **out);
Result param_optional_text(Request *r, const char *name, size_t max_len, int multiline,
                           const char **out);
Result param_int(Request *r, const char *name, int64_t min, int64_t max, int64_t *out);
/* *out is the index in allowed (NULL-terminated). */
Result param_enum(Request *r, const char *name, const char *const *allowed, int *out);
Result param_iso3(Request *r, const char *name, const char **out);  /* "ARG" */
Result param_email(Request *r, const char *name, const char **out); /* lowercased */
Result param_optional_iso3(Request *r, const char *name, const char **out);
Result param_optional_int(Request *r, const char *name, int64_t min, int64_t max, int64_t def,
                          int64_t *out);
Result param_optional_enum(Request *r, const char *name, const char *const *allowed, int def,
                           int *out);
/* A real calendar date "YYYY-MM-DD" from 1945 (no treaty, letter or
 * answer the platform records is older than the UN) to 2100. */
Result param_date(Request *r, const char *name, const char **out);
Result param_optional_date(Request *r, const char *name, const char **out);
/* A checkbox: absent or "" is 0, "1" or "on" is 1, anything else an error
 * (and 0). */
Result param_checkbox(Request *r, const char *name, int *out);
/* min_len to max_len of a-z, 0-9 and '-': safe in a path and a log. */
Result param_slug(Request *r, const char *name, size_t min_len, size_t max_len, const char **out);
/* Optional: "" or an http:// or https:// address, at most 2000 characters. */
Result param_link(Request *r, const char *name, const char **out);
/* A token from a link we mailed: 64 lowercase hex digits. */
Result param_token(Request *r, const char *name, const char **out);
/* A filter from a link people edit: one of codes (NULL-terminated), or
 * NULL when absent or anything else. Never an error. */
const char *param_filter(Request *r, const char *name, const char *const *codes);

/* Records message (an English msgid, translated here) as the problem with
 * field name, unless one is recorded already; returns R_BAD_REQUEST. */
Result param_error(Request *r, const char *name, const char *message);

/* What was typed in the request's form, every field but the CSRF token,
 * as an object (the last value of a repeated name), to show a refused form
 * again. The caller owns it. */
json_t *form_typed(Request *r);

/* The choices of a select or radio group: [{code, label (translated),
 * selected}], from NULL-terminated parallel lists. */
json_t *form_options(Request *r, const char *const *codes, const char *const *labels,
                     const char *selected);

/* The label (an English msgid) of code in parallel lists, or code. */
const char *code_label(const char *const *codes, const char *const *labels, const char *code);

/* The raw value of a parameter (path, then body, then query) or NULL,
 * unchecked: for the typed getters above, and in src/feat/ only with a
 * "raw:" comment saying why no getter fits (tools/codecheck.py). */
const char *param_raw(Request *r, const char *name);

/* Validators shared by params, the CLI and tests. */
int valid_email(const char *s);
int valid_iso3(const char *s);
int valid_date(const char *s);
int valid_slug(const char *s, size_t min_len, size_t max_len);

/* Checks every text the request carries (path, query, form names and
 * values, file names, JSON strings) as UTF-8 without control characters
 * (form and JSON values may hold TAB, LF and CR), before any handler sees
 * it. Returns R_OK, or R_BAD_REQUEST with a translated r->message. */
Result request_check_text(Request *r);

/* Result code -> HTTP status. */
int http_status_for(Result r);

/* The role's name ("admin") and back (0 if unknown). */
const char *role_name(Role role);
Role role_from_name(const char *name);

#endif
