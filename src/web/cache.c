/*
 * cache.c: the per-thread page cache (see cache.h). Each worker thread has
 * its own small table, so lookups take no lock; the only shared state is
 * the write generation, an atomic counter.
 */
#include "web/cache.h"
#include "web/compress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
    CACHE_SLOTS = 64,                  /* per thread; a power of two */
    CACHE_MAX_BYTES = 8 * 1024 * 1024, /* per thread, so a flood of queries stays bounded */
    CACHE_MAX_AGE = 60,                /* seconds: dates on pages move on */
};

typedef struct {
    char *key;
    char *body;
    size_t len;
    const char *content_type; /* a literal from the handler */
    char *gz;                 /* the body gzipped, when compress_allowed() said so */
    size_t gz_len;
    char *title;       /* a fragment's page title (cache_fragment_store) */
    unsigned long crc; /* a fragment's CRC-32; its gz is raw deflate */
    char etag[24];
    int64_t data_version;
    uint64_t generation;
    int64_t stored_at;
} Entry;

typedef struct {
    Entry entries[CACHE_SLOTS];
    size_t bytes_used;
} Table;

/* Each thread's table is on the heap and listed here, so that the tables
 * of threads that have ended can still be freed at shutdown. */
static _Thread_local Table *table;
static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;
static Table **tables;
static size_t table_count;
static atomic_uint_fast64_t generation = 1;

static Table *this_table(void)
{
    if (!table) {
        table = xcalloc(1, sizeof *table);
        pthread_mutex_lock(&tables_lock);
        tables = xrealloc(tables, (table_count + 1) * sizeof *tables);
        tables[table_count++] = table;
        pthread_mutex_unlock(&tables_lock);
    }
    return table;
}

uint64_t cache_generation(void)
{
    return atomic_load(&generation);
}

void cache_bump(void)
{
    atomic_fetch_add(&generation, 1);
}

const char *cache_key(Request *r)
{
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0)
        return NULL;
    /* Logged-in pages differ per person; a stale session cookie gets the
     * slow path too, which clears it. */
    if (http_cookie(r, "session"))
        return NULL;
    Buf key = {0};
    buf_puts(&key, r->lang);
    buf_putc(&key, ' ');
    buf_puts(&key, r->path);
    for (size_t i = 0; i < r->query.count; i++) {
        const Param *p = &r->query.items[i];
        buf_putc(&key, i ? '&' : '?');
        escape_url_component(&key, p->name, strlen(p->name));
        buf_putc(&key, '=');
        escape_url_component(&key, p->value, p->len);
    }
    const char *k = arena_strndup(r->arena, key.data, key.len);
    buf_free(&key);
    return k;
}

static size_t slot_for(const char *key)
{
    uint64_t h = 1469598103934665603ull;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return (size_t)(h & (CACHE_SLOTS - 1));
}

static void drop(Table *t, Entry *e)
{
    t->bytes_used -= e->len + e->gz_len;
    free(e->key);
    free(e->body);
    free(e->gz);
    free(e->title);
    memset(e, 0, sizeof *e);
}

static void empty(Table *t)
{
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (t->entries[i].key)
            drop(t, &t->entries[i]);
}

int cache_lookup(Request *r, const char *key, int64_t data_version, uint64_t gen)
{
    Table *t = this_table();
    Entry *e = &t->entries[slot_for(key)];
    if (!e->key || strcmp(e->key, key) != 0)
        return 0;
    if (e->data_version != data_version || e->generation != gen ||
        now_seconds() - e->stored_at > CACHE_MAX_AGE) {
        drop(t, e);
        return 0;
    }
    r->content_type = e->content_type;
    r->status = 200;
    int gzip = e->gz && compress_accepted(r);
    if (compress_type_ok(e->content_type))
        http_add_header(r, "Vary", "Accept-Encoding");
    if (e->etag[0]) {
        size_t n = strlen(e->etag);
        char *etag = gzip && n >= 2 ? arena_printf(r->arena, "%.*s-gz\"", (int)(n - 1), e->etag)
                                    : arena_strdup(r->arena, e->etag);
        http_add_header(r, "ETag", etag);
        if (http_etag_matches(r->header(r, "If-None-Match"), etag)) {
            r->status = 304;
            return 1;
        }
    }
    if (gzip) {
        http_add_header(r, "Content-Encoding", "gzip");
        buf_append(&r->body_out, e->gz, e->gz_len);
    } else {
        buf_append(&r->body_out, e->body, e->len);
    }
    return 1;
}

/* A new entry for key holding body, in a table with room for it. */
static Entry *entry_new(const char *key, const char *body, size_t len)
{
    Table *t = this_table();
    Entry *e = &t->entries[slot_for(key)];
    if (e->key)
        drop(t, e);
    /* Over budget: empty the table; it refills with what is asked for. */
    if (t->bytes_used + len > CACHE_MAX_BYTES)
        empty(t);
    e->key = xstrdup(key);
    e->body = xmalloc(len + 1);
    memcpy(e->body, body, len);
    e->body[len] = 0;
    e->len = len;
    t->bytes_used += len;
    return e;
}

void cache_store(Request *r, const char *key, int64_t data_version, uint64_t gen)
{
    if (r->status != 200 || !r->content_type || r->body_out.len == 0 ||
        r->body_out.len > CACHE_MAX_BYTES / 4)
        return;
    Table *t = this_table();
    Entry *e = entry_new(key, r->body_out.data, r->body_out.len);
    e->content_type = r->content_type;
    e->etag[0] = 0;
    for (int i = 0; i < r->header_count; i++)
        if (strcmp(r->headers[i].name, "ETag") == 0)
            snprintf(e->etag, sizeof e->etag, "%s", r->headers[i].value);
    e->data_version = data_version;
    e->generation = gen;
    e->stored_at = now_seconds();
    /* Compressed once here rather than on every hit (a 160 KB page takes
     * about a millisecond to gzip): decided by the storing request, which
     * has its CSRF token, while a hit has none to check against. */
    Buf gz = {0};
    if (compress_allowed(r, r->content_type, r->body_out.data, r->body_out.len) &&
        compress_gzip(r->body_out.data, r->body_out.len, &gz) == 0 && gz.len < e->len) {
        e->gz = xmalloc(gz.len);
        memcpy(e->gz, gz.data, gz.len);
        e->gz_len = gz.len;
        t->bytes_used += gz.len;
    }
    buf_free(&gz);
}

/* ---- fragments (logged-in readers) ---- */

const char *cache_fragment_key(Request *r)
{
    if ((strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) || r->is_api ||
        !http_cookie(r, "session"))
        return NULL;
    Buf key = {0};
    buf_puts(&key, "#"); /* page keys start with a language: never equal */
    buf_puts(&key, r->lang);
    buf_putc(&key, ' ');
    buf_puts(&key, r->path);
    for (size_t i = 0; i < r->query.count; i++) {
        const Param *p = &r->query.items[i];
        buf_putc(&key, i ? '&' : '?');
        escape_url_component(&key, p->name, strlen(p->name));
        buf_putc(&key, '=');
        escape_url_component(&key, p->value, p->len);
    }
    const char *k = arena_strndup(r->arena, key.data, key.len);
    buf_free(&key);
    return k;
}

int cache_fragment_lookup(Request *r, const char *key, int64_t data_version, uint64_t gen)
{
    Table *t = this_table();
    Entry *e = &t->entries[slot_for(key)];
    if (!e->key || strcmp(e->key, key) != 0 || !e->title)
        return 0;
    if (e->data_version != data_version || e->generation != gen ||
        now_seconds() - e->stored_at > CACHE_MAX_AGE) {
        drop(t, e);
        return 0;
    }
    /* In place: nothing stores into this thread's table before the
     * response is built (a hit stores nothing). */
    r->content.html = e->body;
    r->content.len = e->len;
    r->content.deflate = (const unsigned char *)e->gz;
    r->content.deflate_len = e->gz_len;
    r->content.crc = e->crc;
    r->title = arena_strdup(r->arena, e->title);
    return 1;
}

void cache_fragment_store(Request *r, const char *key, int64_t data_version, uint64_t gen)
{
    if (r->status != 200 || !r->content.html || r->content.len > CACHE_MAX_BYTES / 4)
        return;
    Entry *e = entry_new(key, r->content.html, r->content.len);
    e->title = xstrdup(r->title ? r->title : "");
    e->data_version = data_version;
    e->generation = gen;
    e->stored_at = now_seconds();
    /* Compressed once, alone, for compress_response to place between the
     * layout's stored parts. */
    Buf raw = {0};
    if (compress_deflate_part(e->body, e->len, &raw, &e->crc) == 0) {
        e->gz = xmalloc(raw.len);
        memcpy(e->gz, raw.data, raw.len);
        e->gz_len = raw.len;
        Table *t = this_table();
        t->bytes_used += raw.len;
        r->content.deflate = (const unsigned char *)e->gz;
        r->content.deflate_len = e->gz_len;
        r->content.crc = e->crc;
    }
    buf_free(&raw);
}

void cache_free_all(void)
{
    pthread_mutex_lock(&tables_lock);
    for (size_t i = 0; i < table_count; i++) {
        empty(tables[i]);
        free(tables[i]);
    }
    free(tables);
    tables = NULL;
    table_count = 0;
    pthread_mutex_unlock(&tables_lock);
}
