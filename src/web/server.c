/*
 * server.c: the HTTP server. It owns the libmicrohttpd daemon, the checks
 * made before a body is read (framing, declared size), body collection, one
 * database connection per worker thread, the request pipeline (route,
 * session, permission, CSRF, body parsing, handler, view), the headers every
 * response carries, the access log, and graceful shutdown.
 *
 * libmicrohttpd 0.9.75 calls the access handler at least twice per
 * request: first with the headers only, then with body pieces, then with
 * *upload_data_size == 0. Answering in the first call makes it close the
 * connection after the response, so normal answers are queued from the
 * last call only; rejections in the first call are meant to close it.
 */
#include "web/server.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "svc/auth.h"
#include "web/cache.h"
#include "web/compress.h"
#include "svc/housekeeping.h"
#include "db/db.h"
#include "svc/http.h"
#include "base/i18n.h"
#include "web/router.h"
#include "web/view.h"
#include "feat/two_factor.h"

/* What we keep about a connection's current request between calls. */
typedef struct {
    int64_t start_ns;
    Buf body;
    int started;  /* the access handler has seen this request */
    int rejected; /* a response was queued before the body was read */
    int too_large;
    /* What on_request_line() found in the raw request target, before
     * libmicrohttpd split off the query and unescaped it. */
    const char *target_problem;
    size_t raw_target_len;
    /* With suspended dispatch: the answer a pool thread made. */
    struct MHD_Response *response;
    unsigned status;
    int dispatched;
} RequestState;

static const ServerConfig *config;

/* libmicrohttpd's threads with suspended dispatch: they move bytes and
 * answer reads; writes go to the request threads. */
enum { IO_THREADS = 4 };
static atomic_int requests_in_flight;

/* Each worker thread opens its own connection on first use; they are all
 * closed after the daemon stops. */
static _Thread_local Db *thread_db;
static pthread_mutex_t dbs_lock = PTHREAD_MUTEX_INITIALIZER;
static Db **dbs;
static size_t dbs_count;

static Db *worker_db(void)
{
    if (thread_db)
        return thread_db;
    thread_db = db_open_existing(config->db_path);
    if (!thread_db)
        return NULL;
    pthread_mutex_lock(&dbs_lock);
    dbs = xrealloc(dbs, (dbs_count + 1) * sizeof(Db *));
    dbs[dbs_count++] = thread_db;
    pthread_mutex_unlock(&dbs_lock);
    return thread_db;
}

static void close_worker_dbs(void)
{
    for (size_t i = 0; i < dbs_count; i++)
        db_close(dbs[i]);
    free(dbs);
    dbs = NULL;
    dbs_count = 0;
}

void server_defaults(ServerConfig *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->db_path = "ratify.db";
    cfg->listen = "127.0.0.1:8080";
    cfg->max_body = 1024 * 1024;
    cfg->threads = 64; /* a worker blocks while its write waits for the group commit: see HACKING */
    cfg->max_connections = 512;
    cfg->per_ip_connections = 64;
    cfg->timeout_seconds = 30;
}

static int64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int is_token_char(unsigned char c)
{
    return c > 0x20 && c < 0x7f && !strchr("\"(),/:;<=>?@[\\]{}", c);
}

static int is_decimal(const char *s)
{
    if (!*s || strlen(s) > 18)
        return 0;
    for (; *s; s++)
        if (!isdigit((unsigned char)*s))
            return 0;
    return 1;
}

const char *server_framing_problem(const char *const *names, const char *const *values,
                                   size_t count)
{
    int lengths = 0, encodings = 0, hosts = 0;
    for (size_t i = 0; i < count; i++) {
        const unsigned char *n = (const unsigned char *)names[i];
        if (!*n)
            return "empty header name";
        for (; *n; n++)
            if (!is_token_char(*n))
                return "header name with whitespace or control characters";
        /* libmicrohttpd 0.9.75 appends an obs-fold continuation line to
         * the previous header's *name* ("Transfer-Encoding: x\r\n chunked"
         * arrives as "Transfer-Encodingchunked"), so a fold is visible
         * only as a name that extends a framing header's name. Folds
         * holding whitespace are caught by the token check above. */
        if ((strncasecmp(names[i], "Content-Length", 14) == 0 && names[i][14]) ||
            (strncasecmp(names[i], "Transfer-Encoding", 17) == 0 && names[i][17]))
            return "folded or malformed framing header";
        /* Header values are text: UTF-8 (Latin-1 from 1999 is not worth
         * a second decoder) and no control characters but TAB. */
        if (values[i] && (!utf8_valid_text(values[i], strlen(values[i])) ||
                          strpbrk(values[i], "\r\n") || strchr(values[i], 0x7f)))
            return "header value that is not UTF-8 text";
        if (strcasecmp(names[i], "Host") == 0 && ++hosts > 1)
            return "more than one Host";
        if (strcasecmp(names[i], "Content-Length") == 0) {
            if (++lengths > 1)
                return "more than one Content-Length";
            if (!values[i] || !is_decimal(values[i]))
                return "Content-Length is not a number";
        } else if (strcasecmp(names[i], "Transfer-Encoding") == 0) {
            if (++encodings > 1)
                return "more than one Transfer-Encoding";
            if (!values[i] || strcmp(values[i], "chunked") != 0)
                return "Transfer-Encoding other than chunked";
        }
    }
    if (lengths && encodings)
        return "Content-Length with Transfer-Encoding";
    return NULL;
}

typedef struct {
    const char *names[128];
    const char *values[128];
    size_t count;
    int overflow;
    int nul; /* a NUL byte inside a name or value */
} HeaderList;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      size_t key_size, const char *value, size_t value_size)
{
    (void)kind;
    HeaderList *h = cls;
    if (h->count == 128) {
        h->overflow = 1;
        return MHD_NO;
    }
    /* The sizes are what libmicrohttpd read; a shorter C string means a
     * NUL hid the rest ("Content-Length: 5\0 junk") from every check. */
    if (strlen(key) != key_size || (value && strlen(value) != value_size))
        h->nul = 1;
    h->names[h->count] = key;
    h->values[h->count] = value;
    h->count++;
    return MHD_YES;
}

/* Security headers on every response, errors included. The CSP allows no
 * inline script or style at all. */
static void add_security_headers(struct MHD_Response *resp, int logged_in)
{
    MHD_add_response_header(resp, "Content-Security-Policy",
                            "default-src 'none'; script-src 'self'; style-src 'self'; "
                            "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
                            "form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "same-origin");
    MHD_add_response_header(resp, "Cross-Origin-Opener-Policy", "same-origin");
    MHD_add_response_header(resp, "Permissions-Policy", "camera=(), microphone=(), geolocation=()");
    if (logged_in)
        MHD_add_response_header(resp, "Cache-Control", "no-store");
}

/* Answers before the body is read and asks for the connection to close:
 * used when the framing is ambiguous or the declared body too large. */
static enum MHD_Result reject_early(struct MHD_Connection *conn, RequestState *st, int status,
                                    const char *message)
{
    char body[256];
    snprintf(body, sizeof body, "%d %s\n", status, message);
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(body), body, MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
    MHD_add_response_header(resp, "Connection", "close");
    add_security_headers(resp, 0);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)status, resp);
    MHD_destroy_response(resp);
    st->rejected = 1;
    log_info("- early %d (%s)", status, message);
    return ret;
}

/* libmicrohttpd 0.9.75 parses headers in place in its read buffer: a
 * header's value follows its name, separated by the colon (overwritten with
 * NUL) and optional whitespace. When a folded continuation line arrives,
 * 0.9.75 appends it to the previous header's *name*, which it moves to the
 * end of its memory pool, after the value: that is how a fold shows here
 * (measured for every fold, however short). Only compiled for the version
 * whose parsing this relies on; nginx in front rejects folds in any case. */
static int folded_header(const char *name, const char *value)
{
#if MHD_VERSION == 0x00097500
    uintptr_t end_of_name = (uintptr_t)name + strlen(name), start_of_value = (uintptr_t)value;
    if (start_of_value <= end_of_name || start_of_value - end_of_name > 256)
        return 1;
    for (const char *p = name + strlen(name); p < value; p++)
        if (*p != 0 && *p != ' ' && *p != '\t')
            return 1;
    return 0;
#else
    (void)name;
    (void)value;
    return 0;
#endif
}

/* The raw request target, as libmicrohttpd 0.9.75 hands it to the URI log
 * callback: query included, nothing unescaped yet, in place in the read
 * buffer right after the space that ended the method (overwritten with NUL).
 * MHD skips extra spaces before the target and takes the last space as the
 * one before the version, so "GET  /a HTTP/1.1" arrives as "/a" with a space
 * before it, and "GET /a b HTTP/1.1" or "GET /a  HTTP/1.1" with a space in
 * it. %00 is refused here because MHD unescapes it into a NUL that cuts the
 * path short ("/a%00b" would be served as "/a"); other escaped control
 * characters reach request_check_text() intact and are refused there. */
static const char *target_problem(const char *uri)
{
    if (!uri || !*uri)
        return "empty request target";
#if MHD_VERSION == 0x00097500
    if (uri[-1] == ' ')
        return "more than one space before the request target";
#endif
    for (const unsigned char *p = (const unsigned char *)uri; *p; p++) {
        if (*p <= 0x20 || *p == 0x7f)
            return "space or control character in the request target";
        if (*p == '%') {
            if (!isxdigit(p[1]) || !isxdigit(p[2]))
                return "invalid percent escape in the request target";
            if (p[1] == '0' && p[2] == '0')
                return "%00 in the request target";
        }
    }
    return NULL;
}

static RequestState *request_state_new(void)
{
    RequestState *st = xcalloc(1, sizeof *st);
    st->start_ns = monotonic_ns();
    /* Counted until on_completed(), so that shutdown waits for a request
     * whose body is still arriving. */
    atomic_fetch_add(&requests_in_flight, 1);
    return st;
}

/* libmicrohttpd's URI log callback, called once per request with the raw
 * target, before the headers are read. Its return value becomes the
 * request's *con_cls (and on_completed() is then always called), which is
 * how what it found reaches the first call of on_request(). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    RequestState *st = request_state_new();
    st->raw_target_len = uri ? strlen(uri) : 0;
    st->target_problem = target_problem(uri);
    return st;
}

/* A NUL byte hides the rest of its line from every C-string check, and
 * MHD's own sizes stop at it too ("Content-Length: 3\0 junk" is read as 3).
 * It shows in where the pieces lie in the read buffer, where 0.9.75 parses
 * in place and overwrites each line end (CRLF or LF) with NULs: the target
 * ends one NUL before the version; each header value ends one line end
 * before the next header's name, and the last one two line ends before the
 * end of the header block. A NUL anywhere else moves these apart. Lines
 * must all end alike (the request line's way): a CRLF and a NUL before an
 * LF would look the same. Only compiled for the version this relies on. */
static const char *nul_problem(struct MHD_Connection *conn, const RequestState *st, const char *url,
                               const char *method, const char *version, const HeaderList *h)
{
#if MHD_VERSION == 0x00097500
    uintptr_t target = (uintptr_t)url, version_at = (uintptr_t)version;
    if (version_at <= target || version_at - target != st->raw_target_len + 1)
        return "NUL byte in the request target";
    if (h->count == 0)
        return NULL;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_REQUEST_HEADER_SIZE);
    if (!ci)
        return "header block of unknown size";
    uintptr_t line_end = version_at + strlen(version), first = (uintptr_t)h->names[0];
    uintptr_t eol = first - line_end; /* 2 for CRLF, 1 for LF */
    if (first <= line_end || (eol != 1 && eol != 2))
        return "NUL byte at the end of the request line";
    uintptr_t block_end = (uintptr_t)method + ci->header_size;
    for (size_t i = 0; i < h->count; i++) {
        if (!h->values[i])
            return "header without a value";
        uintptr_t end = (uintptr_t)h->values[i] + strlen(h->values[i]);
        uintptr_t next = i + 1 < h->count ? (uintptr_t)h->names[i + 1] : block_end - eol;
        if (next <= end || next - end != eol)
            return "NUL byte in a header, or mixed line ends";
    }
    return NULL;
#else
    (void)conn;
    (void)st;
    (void)url;
    (void)method;
    (void)version;
    (void)h;
    return NULL;
#endif
}

/* What MHD_OPTION_STRICT_FOR_CLIENT 1 checked, done here so that the client
 * gets a 400 rather than a silently closed connection (see server_run). */
static const char *request_line_problem(const RequestState *st, const char *method,
                                        const char *version, struct MHD_Connection *conn)
{
    if (st->target_problem)
        return st->target_problem;
    for (const unsigned char *m = (const unsigned char *)method; *m; m++)
        if (!is_token_char(*m))
            return "method that is not a token";
    if (strcmp(version, "HTTP/1.1") == 0 &&
        !MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Host"))
        return "HTTP/1.1 request without Host";
    return NULL;
}

static enum MHD_Result check_first_call(struct MHD_Connection *conn, RequestState *st,
                                        const char *url, const char *method, const char *version)
{
    HeaderList h = {0};
    MHD_get_connection_values_n(conn, MHD_HEADER_KIND, collect_header, &h);
    if (h.overflow)
        return reject_early(conn, st, 431, "too many headers");
    const char *problem = request_line_problem(st, method, version, conn);
    if (!problem)
        problem =
            h.nul ? "NUL byte in a header" : server_framing_problem(h.names, h.values, h.count);
    for (size_t i = 0; !problem && i < h.count; i++)
        if (h.values[i] && folded_header(h.names[i], h.values[i]))
            problem = "folded header line";
    /* After the fold check: a folded name has moved out of line. */
    if (!problem)
        problem = nul_problem(conn, st, url, method, version, &h);
    if (problem)
        return reject_early(conn, st, 400, problem);
    const char *length = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");
    if (length && strtoull(length, NULL, 10) > config->max_body)
        return reject_early(conn, st, 413, "request body too large");
    return MHD_YES;
}

static const char *request_header(Request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    Request *r = cls;
    if (r->query.count >= FORM_MAX_PARAMS)
        return MHD_NO;
    Param *items = arena_alloc(r->arena, (r->query.count + 1) * sizeof(Param));
    if (r->query.count)
        memcpy(items, r->query.items, r->query.count * sizeof(Param));
    items[r->query.count].name = arena_strdup(r->arena, key);
    items[r->query.count].value = arena_strdup(r->arena, value ? value : "");
    items[r->query.count].len = value ? strlen(value) : 0;
    r->query.items = items;
    r->query.count++;
    return MHD_YES;
}

/* The client's address for throttling; behind the proxy, the last address
 * in X-Forwarded-For (the one nginx added). */
static const char *client_address(Request *r)
{
    if (config->behind_proxy) {
        const char *xff = request_header(r, "X-Forwarded-For");
        if (xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            while (*last == ' ')
                last++;
            return arena_strdup(r->arena, last);
        }
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char buf[INET6_ADDRSTRLEN] = "?";
    if (ci && ci->client_addr) {
        const struct sockaddr *sa = ci->client_addr;
        if (sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, buf, sizeof buf);
        else if (sa->sa_family == AF_INET6)
            inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)sa)->sin6_addr, buf, sizeof buf);
    }
    return arena_strdup(r->arena, buf);
}

static Result parse_body(Request *r)
{
    if (r->body_len == 0)
        return R_OK;
    const char *type = r->header(r, "Content-Type");
    if (!type)
        return R_UNSUPPORTED;
    if (strncasecmp(type, "application/x-www-form-urlencoded", 33) == 0)
        return form_parse_urlencoded(r->arena, r->body, r->body_len, &r->form);
    if (strncasecmp(type, "multipart/form-data", 19) == 0)
        return form_parse_multipart(r->arena, type, r->body, r->body_len, &r->form);
    if (r->is_api && strncasecmp(type, "application/json", 16) == 0) {
        json_error_t error;
        r->json_body = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &error);
        if (!json_is_object(r->json_body)) {
            r->message = tr(r, "The body is not a JSON object.");
            return R_BAD_REQUEST;
        }
        return R_OK;
    }
    return R_UNSUPPORTED;
}

/* A logged-in read's fragment (cache.h): its key and the versions read
 * before anything ran. */
typedef struct {
    const char *key;
    int64_t data_version;
    uint64_t generation;
} Fragment;

/* Routes and runs the handler. Returns its result; on R_OK the handler
 * has filled the response fields, or a fragment the content. */
static Result dispatch(Request *r, const Fragment *f)
{
    Result routed, result;
    r->route = router_match(r->method, r->path, r->arena, &r->path_params, &routed);
    /* Static files need no session: skipping it saves a query per asset
     * and keeps them cacheable. Everything else, error pages included,
     * knows who is asking (their language, no-store). */
    if (strncmp(r->path, "/static/", 8) != 0 && (result = auth_load(r)) != R_OK)
        return result;
    if (!r->route)
        return request_check_text(r) != R_OK ? R_BAD_REQUEST : routed;
    /* Checked before the permission too: a redirect to the login page
     * carries the path along. */
    if ((result = request_check_text(r)) != R_OK)
        return result;
    if ((result = auth_require(r, r->route->permission)) != R_OK)
        return result;
    /* An admin or coordinator without a second factor may only enrol. */
    if ((result = two_factor_gate(r)) != R_OK || r->redirect)
        return result;
    /* Only after every check of the route: a fragment is kept only for a
     * handler that said its page is the same for all who may open it. */
    if (f->key && r->user && cache_fragment_lookup(r, f->key, f->data_version, f->generation))
        return R_OK;
    if ((result = parse_body(r)) != R_OK || (result = request_check_text(r)) != R_OK)
        return result;
    /* A token travels in a header no other site can make a browser send,
     * so token requests need no CSRF token; cookie requests always do. */
    if (r->route->csrf && strcmp(r->method, "POST") == 0 && !r->api_scope && !auth_csrf_ok(r)) {
        r->message = tr(r, "Your form has expired or did not come from this site. "
                           "Please go back, reload the page and try again.");
        return R_FORBIDDEN;
    }
    return r->route->handler(r);
}

static struct MHD_Response *build_response(Request *r)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        r->body_out.len, r->body_out.data ? r->body_out.data : (void *)"", MHD_RESPMEM_MUST_COPY);
    MHD_add_response_header(resp, "Content-Type", r->content_type);
    for (int i = 0; i < r->header_count; i++)
        MHD_add_response_header(resp, r->headers[i].name, r->headers[i].value);
    /* Personal pages must not be stored by any cache; a handler that set
     * its own Cache-Control (static files) knows better. */
    int own_cache_control = 0;
    for (int i = 0; i < r->header_count; i++)
        own_cache_control |= strcmp(r->headers[i].name, "Cache-Control") == 0;
    add_security_headers(resp, (r->user != NULL || r->session_token != NULL) && !own_cache_control);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    return resp;
}

static enum MHD_Result send_response(struct MHD_Connection *conn, Request *r)
{
    struct MHD_Response *resp = build_response(r);
    enum MHD_Result ret = MHD_queue_response(conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* The access log: request id, method, path (without the query string,
 * which may hold tokens), status, bytes, time, user id. Never the client's
 * address. */
static void log_request(Request *r, RequestState *st, const char *note)
{
    int64_t micros = (monotonic_ns() - st->start_ns) / 1000;
    /* The path is the client's: a newline in it would forge log lines. */
    char path[256];
    size_t n = 0;
    for (const char *p = r->path; *p && n < sizeof path - 1; p++)
        path[n++] = (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f ? '?' : *p;
    path[n] = 0;
    log_info("%s %s %s %d %zu %lldus user=%lld%s%s", r->request_id, r->method, path, r->status,
             r->body_out.len, (long long)micros, r->user ? (long long)r->user->id : 0LL,
             *note ? " " : "", note);
}

/* After a fault (util.h) nothing the handler prepared may go out: not its
 * page, not its cookies, not its redirect. The fault's own line is already
 * in the log; this one ties it to the request. */
static Result discard_response(Request *r)
{
    log_info("%s: a fault in this request: answered 500", r->request_id);
    json_decref(r->data);
    r->data = NULL;
    json_decref(r->errors);
    r->errors = NULL;
    r->page = NULL;
    memset(&r->content, 0, sizeof r->content);
    r->cache_content = 0;
    r->redirect = NULL;
    r->content_type = NULL;
    r->message = NULL;
    r->header_count = 0;
    r->status = 0;
    buf_free(&r->body_out);
    return R_INTERNAL;
}

int server_process(Request *r, int too_large)
{
    const char *key = r->db ? cache_key(r) : NULL;
    int64_t data_version = key ? db_data_version(r->db) : 0;
    uint64_t generation = cache_generation();
    if (key && cache_lookup(r, key, data_version, generation))
        return 1;
    Fragment fragment = {.key = r->db && !key ? cache_fragment_key(r) : NULL,
                         .generation = generation};
    if (fragment.key)
        fragment.data_version = db_data_version(r->db);

    Result result;
    fault_take();
    if (!r->db)
        result = R_INTERNAL;
    else if (too_large)
        result = R_TOO_LARGE;
    else
        result = dispatch(r, &fragment);
    if (fault_take())
        result = discard_response(r);
    view_respond(r, result);
    if (fault_take()) { /* the page itself failed to build */
        result = discard_response(r);
        view_respond(r, result);
    }
    if (result == R_OK && strcmp(r->method, "POST") == 0)
        cache_bump(); /* a write happened: every cached page may be stale */
    if (key && result == R_OK && r->cache_public && !r->user && !r->session_token)
        cache_store(r, key, data_version, generation);
    if (fragment.key && result == R_OK && r->cache_content && r->user)
        cache_fragment_store(r, fragment.key, fragment.data_version, fragment.generation);
    compress_response(r);
    /* A statement left stepping would hold a read snapshot open forever. */
    if (r->db && db_statements_in_use(r->db) != 0) {
        fault("%s: a statement was left stepping", r->request_id);
        db_reset_all(r->db);
        fault_take();
    }
    return 0;
}

void server_request_free(Request *r)
{
    json_decref(r->data);
    json_decref(r->errors);
    json_decref(r->json_body);
    buf_free(&r->body_out);
    arena_free(r->arena);
}

/* Runs the request; with conn's response queued (blocking dispatch) or
 * kept in st for the libmicrohttpd thread to queue (suspended dispatch). */
static enum MHD_Result handle_request(struct MHD_Connection *conn, RequestState *st,
                                      const char *url, const char *method, int keep)
{
    char request_id[17];
    random_hex(request_id, 8);
    Request r = {0};
    r.arena = arena_new();
    r.method = method;
    r.path = url;
    r.request_id = request_id;
    r.is_api = strncmp(url, "/api/", 5) == 0;
    r.conn = conn;
    r.header = request_header;
    r.body = st->body.data;
    r.body_len = st->body.len;
    r.client = client_address(&r);
    r.tls = config->public_url && strncmp(config->public_url, "https:", 6) == 0;
    r.base_url = config->public_url ? config->public_url
                                    : arena_printf(r.arena, "http://%s", config->listen);
    /* A visitor's choice (/language) before the browser's; a logged-in
     * user's saved language wins over both (auth_load). */
    r.lang = i18n_negotiate(http_cookie(&r, "lang"), request_header(&r, "Accept-Language"));
    r.db = worker_db();
    MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, collect_query, &r);

    int hit = server_process(&r, st->too_large);
    enum MHD_Result ret = MHD_YES;
    if (keep) {
        st->response = build_response(&r);
        st->status = (unsigned)r.status;
    } else {
        ret = send_response(conn, &r);
    }
    log_request(&r, st, hit ? "hit" : "");
    server_request_free(&r);
    return ret;
}

/* ---- suspended dispatch (the default; --dispatch block turns it off) ----
 * A POST, whose body is in, is suspended and handed to a pool thread,
 * which runs it (waiting for its group commit) and resumes the connection
 * with the answer; reads are answered in libmicrohttpd's own threads. So
 * a request waiting for a commit holds no connection's I/O thread:
 * measured at 64 connections, more writes per second and a p99 half as
 * long as with blocked I/O threads (bench/RESULTS.md). */

typedef struct Pending {
    struct MHD_Connection *conn;
    RequestState *st;
    const char *url, *method;
    struct Pending *next;
} Pending;

static struct {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    Pending *head, *tail;
    int stopping, running;
    pthread_t *threads;
    unsigned count;
} pool = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void *pool_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&pool.lock);
    for (;;) {
        while (!pool.head && !pool.stopping)
            pthread_cond_wait(&pool.wake, &pool.lock);
        if (!pool.head)
            break;
        Pending *p = pool.head;
        pool.head = p->next;
        if (!pool.head)
            pool.tail = NULL;
        pthread_mutex_unlock(&pool.lock);
        handle_request(p->conn, p->st, p->url, p->method, 1);
        MHD_resume_connection(p->conn);
        free(p);
        pthread_mutex_lock(&pool.lock);
    }
    pthread_mutex_unlock(&pool.lock);
    return NULL;
}

static void pool_push(struct MHD_Connection *conn, RequestState *st, const char *url,
                      const char *method)
{
    Pending *p = xcalloc(1, sizeof *p);
    p->conn = conn;
    p->st = st;
    p->url = url;
    p->method = method;
    pthread_mutex_lock(&pool.lock);
    if (pool.tail)
        pool.tail->next = p;
    else
        pool.head = p;
    pool.tail = p;
    pthread_cond_signal(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
}

static int pool_start(unsigned count)
{
    pool.threads = xcalloc(count, sizeof(pthread_t));
    pool.stopping = 0;
    for (pool.count = 0; pool.count < count; pool.count++)
        if (pthread_create(&pool.threads[pool.count], NULL, pool_main, NULL) != 0)
            return -1;
    pool.running = 1;
    return 0;
}

static void pool_stop(void)
{
    if (!pool.threads)
        return;
    pthread_mutex_lock(&pool.lock);
    pool.stopping = 1;
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.lock);
    for (unsigned i = 0; i < pool.count; i++)
        pthread_join(pool.threads[i], NULL);
    free(pool.threads);
    pool.threads = NULL;
    pool.running = 0;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    RequestState *st = *con_cls;
    if (!st) /* on_request_line() made it, unless MHD skipped the call */
        *con_cls = st = request_state_new();
    if (!st->started) {
        st->started = 1;
        return check_first_call(conn, st, url, method, version);
    }
    if (st->rejected) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* A chunked body declares no length: count as it arrives. */
        if (st->body.len + *upload_data_size > config->max_body)
            st->too_large = 1;
        else
            buf_append(&st->body, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    /* Reads run where they are: a page from the cache or the database
     * needs no handoff, and the handoff costs more than it (measured: the
     * cached country page at half the rate). Writes wait for their commit
     * in a request thread, away from the connections' I/O. */
    if (!pool.running || strcmp(method, "POST") != 0)
        return handle_request(conn, st, url, method, 0);
    if (st->response) { /* resumed: the pool thread's answer */
        enum MHD_Result ret = MHD_queue_response(conn, st->status, st->response);
        MHD_destroy_response(st->response);
        st->response = NULL;
        return ret;
    }
    if (!st->dispatched) {
        st->dispatched = 1;
        MHD_suspend_connection(conn);
        pool_push(conn, st, url, method);
    }
    return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode code)
{
    (void)cls;
    (void)conn;
    (void)code;
    RequestState *st = *con_cls;
    if (!st)
        return;
    atomic_fetch_sub(&requests_in_flight, 1);
    buf_free(&st->body);
    free(st);
    *con_cls = NULL;
}

/* Parses "host:port" or "[v6]:port". */
static int parse_listen(const char *listen, struct sockaddr_storage *ss, int *ipv6)
{
    memset(ss, 0, sizeof *ss);
    const char *colon = strrchr(listen, ':');
    if (!colon || !is_decimal(colon + 1))
        return -1;
    long port = strtol(colon + 1, NULL, 10);
    if (port < 1 || port > 65535)
        return -1;
    char host[64];
    size_t n = (size_t)(colon - listen);
    if (n == 0 || n >= sizeof host)
        return -1;
    memcpy(host, listen, n);
    host[n] = 0;
    if (host[0] == '[' && host[n - 1] == ']') {
        host[n - 1] = 0;
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *ipv6 = 1;
        return inet_pton(AF_INET6, host + 1, &a6->sin6_addr) == 1 ? 0 : -1;
    }
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    a4->sin_family = AF_INET;
    a4->sin_port = htons((uint16_t)port);
    *ipv6 = 0;
    return inet_pton(AF_INET, host, &a4->sin_addr) == 1 ? 0 : -1;
}

/* Set once the server stops taking connections (MHD_quiesce_daemon). */
static atomic_int quiescing;

/* libmicrohttpd's fatal errors. One is a race of 0.9.75 itself: with a
 * thread pool and epoll, MHD_quiesce_daemon removes the listening socket
 * from each worker's epoll set, and panics when a worker has just removed
 * it (as a worker does at its connection limit). The socket is out of the
 * set either way, and quiescing goes on correctly if the panic returns; so
 * that one, at shutdown, is logged, not fatal. Every other panic aborts,
 * as libmicrohttpd's own handler does. */
static void on_panic(void *cls, const char *file, unsigned int line, const char *reason)
{
    (void)cls;
    log_info("libmicrohttpd %s:%u: %s", file ? file : "?", line, reason ? reason : "panic");
    if (atomic_load(&quiescing) && reason && strstr(reason, "listen FD from epoll"))
        return;
    abort();
}

static void wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    sigwait(&set, &sig);
    log_info("received %s: finishing requests in flight", sig == SIGINT ? "SIGINT" : "SIGTERM");
}

int server_run(const ServerConfig *cfg)
{
    config = cfg;
    struct sockaddr_storage ss;
    int ipv6 = 0;
    if (parse_listen(cfg->listen, &ss, &ipv6) != 0) {
        fprintf(stderr, "ratify: --listen wants ADDRESS:PORT, such as 127.0.0.1:8080\n");
        return 1;
    }
    /* Block the signals in every thread (the workers inherit the mask),
     * so that only sigwait() in this thread sees them. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    /* First: from here on only the writer thread writes (db.h), and every
     * connection opened after it, the threads' below, is read-only. */
    if (db_writer_start(cfg->db_path) != 0)
        return 1;
    /* Before the HTTP threads: mail_start initialises libcurl. */
    if (mail_start(cfg->db_path, &cfg->mail) != 0)
        log_info("mail: the sender thread did not start; mail stays queued");
    const char *url = cfg->public_url ? cfg->public_url : "";
    char local[80];
    if (!cfg->public_url) {
        snprintf(local, sizeof local, "http://%s", cfg->listen);
        url = local;
    }
    if (housekeeping_start(cfg->db_path, url, cfg->jobs) != 0)
        log_info("housekeeping: the thread did not start");
    unsigned flags =
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    unsigned io_threads = cfg->threads;
    if (!cfg->block_workers) {
        flags |= MHD_ALLOW_SUSPEND_RESUME;
        io_threads = IO_THREADS;
        if (pool_start(cfg->threads) != 0) {
            fprintf(stderr, "ratify: cannot start the request threads\n");
            return 1;
        }
    }
    if (ipv6)
        flags |= MHD_USE_IPv6;
    /* Strictness 0: at 1, 0.9.75 closes the connection without a word on a
     * space in the target (and level -1 adds nothing Ratify does not check).
     * Ratify checks the target and Host itself (request_line_problem) and
     * answers 400. */
    MHD_set_panic_func(on_panic, NULL);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
        MHD_OPTION_THREAD_POOL_SIZE, io_threads, MHD_OPTION_CONNECTION_LIMIT, cfg->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, cfg->behind_proxy ? 0u : cfg->per_ip_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, cfg->timeout_seconds, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
        (size_t)(16 * 1024), MHD_OPTION_STRICT_FOR_CLIENT, 0, MHD_OPTION_URI_LOG_CALLBACK,
        on_request_line, NULL, MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "ratify: cannot listen on %s: %s\n", cfg->listen, strerror(errno));
        mail_stop();
        housekeeping_stop();
        db_writer_stop();
        return 1;
    }
    printf("Ratify is serving http://%s/\n", cfg->listen);
    fflush(stdout);
    wait_for_signal();
    atomic_store(&quiescing, 1);
    MHD_quiesce_daemon(d);
    for (int i = 0; i < 1000 && atomic_load(&requests_in_flight) > 0; i++)
        usleep(10000);
    MHD_stop_daemon(d);
    pool_stop();
    mail_stop();
    housekeeping_stop();
    /* Last: the threads above may still have handed it a write. */
    DbWriterStats ws = db_writer_stats();
    db_writer_stop();
    close_worker_dbs();
    cache_free_all();
    log_info("stopped (%llu writes in %llu group commits, %llu failed)",
             (unsigned long long)ws.jobs, (unsigned long long)ws.batches,
             (unsigned long long)ws.failed_jobs);
    return 0;
}
