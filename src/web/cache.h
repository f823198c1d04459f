/*
 * cache.h: a per-thread cache of public pages as anonymous visitors see
 * them (the country pages, the map, the API twins).
 *
 * A handler opts in by setting r->cache_public when its response, for a
 * visitor who is not logged in, depends only on the path, the query, the
 * language and the database. An entry is served only while nothing has
 * changed: the database connection's data_version (which moves when any
 * other connection or process commits), the process's write generation
 * (bumped after every successful POST, which covers this connection's own
 * writes) and a one-minute age limit must all match.
 */
#ifndef RATIFY_CACHE_H
#define RATIFY_CACHE_H

#include <stdint.h>

#include "svc/http.h"

/* The key for r (path, query, language) in r's arena, or NULL when r must
 * not use the cache (not GET or HEAD, or a session cookie is present). */
const char *cache_key(Request *r);

/* The current write generation. */
uint64_t cache_generation(void);

/* Marks every entry of every thread stale (after a write). */
void cache_bump(void);

/* On a valid entry for key, fills r->body_out, r->content_type, r->status
 * and the ETag header (answering 304 when If-None-Match matches) and
 * returns 1. */
int cache_lookup(Request *r, const char *key, int64_t data_version, uint64_t generation);

/* Stores r's 200 response under key, tagged with the versions read before
 * the handler ran. */
void cache_store(Request *r, const char *key, int64_t data_version, uint64_t generation);

/* Fragments: the rendered content of a page, without the layout, for
 * logged-in readers. A handler sets r->cache_content when its page is the
 * same for everyone who may open it (nothing of the reader in it: /countries);
 * the server then keeps the content under the fragment key, and the next
 * logged-in reader of the same path, query and language who passes the
 * route's checks gets the layout rendered around it without the handler
 * running. The same three versions as pages decide when it is stale.
 * cache_fragment_key is NULL unless r is a GET or HEAD with a session
 * cookie outside /api/. A hit has no r->data: the layout may only use what
 * view.c's render_page adds (user, path, language, CSRF token). */
const char *cache_fragment_key(Request *r);
/* On a valid fragment, sets r->content (pointing into the entry: valid
 * until this thread stores again) and r->title. */
int cache_fragment_lookup(Request *r, const char *key, int64_t data_version, uint64_t generation);
void cache_fragment_store(Request *r, const char *key, int64_t data_version, uint64_t generation);

/* Frees every thread's table: at shutdown, once no worker runs. A thread
 * that uses the cache afterwards starts a new table. */
void cache_free_all(void);

#endif
