/*
 * server.h: the HTTP server (libmicrohttpd with its internal thread pool).
 */
#ifndef RATIFY_SERVER_H
#define RATIFY_SERVER_H

#include <stddef.h>

#include "svc/housekeeping.h"
#include "svc/http.h"
#include "svc/mail.h"

typedef struct {
    const char *db_path;
    const char *listen;     /* "127.0.0.1:8080" or "[::1]:8080" */
    const char *public_url; /* "https://ratify.example.org": https turns on Secure cookies */
    int behind_proxy;       /* trust X-Forwarded-For/-Proto from the proxy; no per-IP limit */
    size_t max_body;        /* bytes; larger bodies get 413 before they are read */
    unsigned threads;       /* threads that run requests */
    int block_workers;      /* 1: run requests in libmicrohttpd's own threads (--dispatch block) */
    unsigned max_connections;
    unsigned per_ip_connections; /* when not behind a proxy */
    unsigned timeout_seconds;    /* idle connection timeout */
    MailConfig mail;             /* outgoing mail; see mail.h */
    const HourlyJob *jobs;       /* the features' hourly jobs, NULL-terminated */
} ServerConfig;

/* Fills cfg with the defaults. */
void server_defaults(ServerConfig *cfg);

/* Serves until SIGINT or SIGTERM, then stops accepting, lets in-flight
 * requests finish (up to 10 s) and returns 0; returns 1 if it cannot start
 * (the reason is printed). */
int server_run(const ServerConfig *cfg);

/* The pipeline for one request whose headers and body have been read, with
 * no libmicrohttpd in it (the server and the request fuzzer both call it):
 * the page cache, routing, session, permission, text checks, CSRF, the
 * handler, rollback of anything it left open, and the view. r needs arena,
 * method, path, request_id, header, body, client, base_url, lang, db and
 * query. Returns 1 when the answer came from the cache. */
int server_process(Request *r, int too_large);

/* Frees what server_process left in r. */
void server_request_free(Request *r);

/* Checks a request's header block for ambiguous framing, given its headers
 * as parallel arrays. Returns NULL if it is acceptable, or the reason: more
 * than one Content-Length, a Content-Length that is not a plain decimal
 * number, Content-Length with Transfer-Encoding, a Transfer-Encoding other
 * than exactly "chunked", a header name with whitespace or control
 * characters. Exposed for unit tests. */
const char *server_framing_problem(const char *const *names, const char *const *values,
                                   size_t count);

#endif
