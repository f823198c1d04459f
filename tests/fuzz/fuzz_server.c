/*
 * fuzz_server.c: libFuzzer harness for the whole request pipeline: the real
 * router, session and token loading, permissions, text checks, CSRF, every
 * handler and the views, through server_process() (server.c), in process,
 * against a temporary database made the way `ratify init` makes one.
 *
 * Input (structured so that mutations stay meaningful):
 *   byte 0  the route: an index into routes[] (routes.def order)
 *   byte 1  bits 0-2: who asks (identity % 6: anonymous, member,
 *           coordinator of ARG, admin, API token read, API token write);
 *           0x08 no CSRF token injected; 0x10 the other method (GET <-> POST);
 *           0x20 HEAD; 0x40 the path is section 0 as is, not the route's
 *           pattern; 0x80 the body counts as too large (413)
 *   byte 2  bits 0-2: the body's kind (% 6): 0 raw, no Content-Type added;
 *           1 urlencoded; 2 multipart with boundary "fuzzb"; 3 multipart
 *           built from fields; 4 JSON; 5 text/plain. 0x80: the request comes
 *           from a client address that is not throttled (see below); 0x40
 *           sends the request twice (the second may come from the cache)
 *   then sections separated by 0x1e (RS):
 *     0 the {params} of the pattern, separated by 0x1f (US), percent-decoded
 *       as the server decodes the path; missing ones get a value that finds
 *       the setup's data
 *     1 the query string
 *     2 header lines "Name: value\n"
 *     3 more cookies ("a=b; c=d"), after the identity's own
 *     4 the body; for kind 3, fields separated by 0x1f, each "name=value" or
 *       "name;filename=value" for a file
 *
 * The harness adds the identity's cookie or bearer token and, unless told
 * not to, its CSRF token (as X-CSRF-Token: a csrf_token field in the body
 * wins, as in the server), so that the fuzzer gets past the CSRF check.
 * Header blocks that server_framing_problem() rejects are skipped, as the
 * server answers them before routing.
 *
 * The database is restored from an in-memory snapshot before every input,
 * so each input sees the same data (a crash reproduces alone) and the file
 * does not grow. POST /login verifies an argon2 hash (slow) unless the
 * client is throttled: the snapshot has the default client address
 * throttled, and byte 2's 0x80 picks an unthrottled one.
 *
 * Checked after every request: the status is a valid HTTP status, there is
 * a body (except 204, 304 and HEAD) and a Content-Type, and no statement is
 * left in use. A 500 is the server's designed answer to a fault (logged);
 * set FUZZ_SERVER_ABORT_ON_500=1 to stop at the first one instead, and
 * FUZZ_SERVER_VERBOSE=1 to see each request's status.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "feat/account.h"
#include "svc/auth.h"
#include "web/cache.h"
#include "feat/country.h"
#include "db/db.h"
#include "base/form.h"
#include "svc/http.h"
#include "base/i18n.h"
#include "feat/letter.h"
#include "web/router.h"
#include "web/server.h"
#include "base/template.h"
#include "feat/treaty.h"
#include "base/util.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { ID_ANON, ID_MEMBER, ID_COORDINATOR, ID_ADMIN, ID_TOKEN_READ, ID_TOKEN_WRITE, ID_COUNT };
enum { MAX_HEADERS = 64 };

#define SEP_SECTION '\x1e'
#define SEP_FIELD '\x1f'
#define BOUNDARY "fuzzb"
#define THROTTLED_CLIENT "127.0.0.1"
#define FREE_CLIENT "192.0.2.7"
#define BASE_URL "http://127.0.0.1:8080"

typedef struct {
    const char *names[MAX_HEADERS];
    const char *values[MAX_HEADERS];
    size_t count;
} HeaderList;

static char tmpdir[80];
static Db *db;
static Db *snapshot; /* the database after setup, in memory */
static const char *presession = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
static char session[ID_COUNT][65];   /* session tokens of member, coordinator, admin */
static char api_token[ID_COUNT][65]; /* for the two token identities */
static char letter_id[24] = "1", person_id[24] = "1", group_slug[32] = "fuzzers";
static size_t route_count;
static int abort_on_500, verbose;

/* ---- requests ---- */

static const char *list_header(Request *r, const char *name)
{
    const HeaderList *h = r->conn;
    for (size_t i = 0; i < h->count; i++)
        if (strcasecmp(h->names[i], name) == 0)
            return h->values[i];
    return NULL;
}

static void add_header(Arena *a, HeaderList *h, const char *name, const char *value)
{
    if (h->count < MAX_HEADERS) {
        h->names[h->count] = arena_strdup(a, name);
        h->values[h->count] = arena_strdup(a, value);
        h->count++;
    }
}

/* The pieces of one request, before it becomes a Request. */
typedef struct {
    const char *method, *path, *query, *client;
    const char *body;
    size_t query_len, body_len;
    int too_large;
    HeaderList headers;
} Input;

/* Aborts (libFuzzer then saves the input) saying which invariant broke. */
static void broken(const Request *r, const char *what)
{
    fprintf(stderr, "fuzz_server: %s %s gave %s (status %d)\n", r->method, r->path, what,
            r->status);
    abort();
}

/* Runs one request through the pipeline and checks the invariants. When
 * out is not NULL, the caller frees the request (to read its response). */
static int run_request(Arena *a, const Input *in, Request *out)
{
    Request r = {0};
    r.arena = a;
    r.method = in->method;
    r.path = in->path;
    r.request_id = "00000000000f0220";
    r.is_api = strncmp(in->path, "/api/", 5) == 0;
    r.conn = (void *)&in->headers;
    r.header = list_header;
    r.body = in->body;
    r.body_len = in->body_len;
    r.client = in->client;
    r.base_url = BASE_URL;
    r.lang = i18n_negotiate(NULL, list_header(&r, "Accept-Language"));
    r.db = db;
    if (in->query_len)
        form_parse_urlencoded(a, in->query, in->query_len, &r.query);
    server_process(&r, in->too_large);

    int status = r.status;
    if (status < 100 || status > 599 || !r.content_type)
        broken(&r, "no valid status or no Content-Type");
    /* Redirects (the Location says it all), 204 and 304 may be empty. */
    int empty_ok = status == 204 || status == 304 || (status >= 300 && status < 400 && r.redirect);
    if (r.body_out.len == 0 && !empty_ok)
        broken(&r, "an empty body");
    if (db_statements_in_use(db) != 0)
        broken(&r, "a statement left in use");
    if (status == 500 && abort_on_500)
        broken(&r, "a 500");
    if (verbose)
        fprintf(stderr, "fuzz_server: %s %s -> %d %s\n", r.method, r.path, status,
                r.message ? r.message : "");
    if (out)
        *out = r;
    else
        server_request_free(&r);
    return status;
}

/* ---- setup ---- */

static void die(const char *what)
{
    fprintf(stderr, "fuzz_server: setup failed: %s\n", what);
    exit(1);
}

/* A setup request by identity id (the cookies known so far), with an
 * urlencoded body; returns the response, to be freed by the caller. */
static Request setup_post(const char *path, int id, const char *body)
{
    Input in = {.method = "POST", .path = path, .client = FREE_CLIENT, .body = body};
    in.body_len = strlen(body);
    Arena *a = arena_new();
    char csrf[65];
    auth_csrf_token(id == ID_ANON ? presession : session[id], csrf);
    add_header(a, &in.headers, "Content-Type", "application/x-www-form-urlencoded");
    add_header(a, &in.headers, "X-CSRF-Token", csrf);
    add_header(a, &in.headers, "Cookie",
               id == ID_ANON ? arena_printf(a, "presession=%s", presession)
                             : arena_printf(a, "session=%s", session[id]));
    Request r;
    run_request(a, &in, &r);
    return r;
}

static void add_user(const char *email, const char *role, const char *country)
{
    char *argv[] = {"add",       (char *)email,   "--role", (char *)role,
                    "--country", (char *)country, NULL};
    if (account_user_cmd(db, country ? 6 : 4, argv, BASE_URL) != R_OK)
        die(email);
}

/* Sets the user's password through the welcome link, as a new user does,
 * and keeps the session cookie that answer sets. */
static void log_in(const char *email, int id)
{
    char path[96];
    if (auth_issue_welcome(db, email, "welcome", 72, path) != R_OK)
        die("welcome link");
    Request r = setup_post(path, ID_ANON, "password=fuzzing-password-1&confirm=fuzzing-password-1");
    for (int i = 0; i < r.header_count; i++)
        if (strcmp(r.headers[i].name, "Set-Cookie") == 0 &&
            strncmp(r.headers[i].value, "session=", 8) == 0 && r.headers[i].value[8] != ';')
            snprintf(session[id], 65, "%s", r.headers[i].value + 8);
    if (r.status != 303 || strlen(session[id]) != 64) {
        fprintf(stderr, "status %d: %s\n", r.status, r.message ? r.message : "");
        die("welcome POST");
    }
    server_request_free(&r);
}

/* Admins and coordinators may reach nothing but enrolment without a second
 * factor (two_factor_gate): the setup marks theirs as enrolled, so that the
 * fuzzer reaches every page behind the gate. The secret is never used. */
static void mark_second_factor(const char *email)
{
    Stmt *st = db_prepare(db, "INSERT INTO two_factor (user_id, secret, created_at, enabled_at) "
                              "SELECT id, 'unused', 0, 0 FROM users WHERE email = :email");
    db_bind_text(st, ":email", email);
    if (db_run(st) != R_OK || db_changes(db) != 1)
        die("second factor");
}

static void make_token(const char *scope, int id)
{
    char body[64];
    snprintf(body, sizeof body, "name=fuzz-%s&scope=%s", scope, scope);
    Request r = setup_post("/admin/tokens", ID_ADMIN, body);
    const char *token = json_string_value(json_object_get(r.data, "new_token"));
    if (!token || strlen(token) != 64)
        die("API token");
    snprintf(api_token[id], 65, "%s", token);
    server_request_free(&r);
}

/* A member profile in ARG with an active membership, as test_letters.py
 * makes one (joining needs the confirmation mail), and a second person
 * whose application is pending, for the coordinators' pages. */
static void add_people(void)
{
    Stmt *st = db_prepare(
        db, "INSERT INTO people (user_id, name, email, iso3, listing, created_at, updated_at) "
            "SELECT id, 'Fuzz Member', email, 'ARG', 'members', 0, 0 FROM users "
            "WHERE email = 'member@fuzz.test'");
    Result rc = db_run(st);
    db_done(st);
    st = db_prepare(db, "INSERT INTO people (name, email, iso3, listing, created_at, updated_at) "
                        "VALUES ('Pending Person', 'pending@fuzz.test', 'ARG', 'public', 0, 0)");
    Result rc2 = db_run(st);
    db_done(st);
    st = db_prepare(db, "INSERT INTO memberships (kind, person_id, iso3, status, not_government, "
                        "consent_store_at, created_at) SELECT 'individual', id, 'ARG', "
                        "CASE WHEN user_id IS NULL THEN 'pending' ELSE 'active' END, 1, 0, 0 "
                        "FROM people");
    Result rc3 = db_run(st);
    db_done(st);
    if (rc != R_OK || rc2 != R_OK || rc3 != R_OK)
        die("people");
    snprintf(person_id, sizeof person_id, "1");
}

/* The default client address is throttled for logins, so that POST /login
 * does not hash a password on every input (see the header comment). */
static void throttle_default_client(void)
{
    char key[65];
    auth_token_hash("throttle-client", THROTTLED_CLIENT, key);
    Stmt *st = db_prepare(db, "INSERT INTO login_failures (key, failures, window_start) "
                              "VALUES (:key, 1000000, :far)");
    db_bind_text(st, ":key", key);
    db_bind_int(st, ":far", now_seconds() + 100LL * 365 * 86400);
    Result rc = db_run(st);
    db_done(st);
    if (rc != R_OK)
        die("throttle");
}

/* A letter by the member, to ARG, from the first model letter. */
static void add_letter(void)
{
    Stmt *st = db_prepare(db, "SELECT min(id) FROM model_letters");
    int64_t model = db_row(st) ? db_int(st, 0) : 1;
    db_done(st);
    char body[128];
    snprintf(body, sizeof body, "country=ARG&model=%lld&sender=Fuzz+Collective", (long long)model);
    Request r = setup_post("/letters", ID_MEMBER, body);
    if (r.status != 303 || !r.redirect || strncmp(r.redirect, "/letters/", 9) != 0)
        die("letter");
    snprintf(letter_id, sizeof letter_id, "%s", r.redirect + 9);
    server_request_free(&r);
}

static void add_group(void)
{
    Request r = setup_post("/groups", ID_ADMIN, "slug=fuzzers&name=Fuzzers&description=Bytes");
    if (r.status != 303)
        die("group");
    server_request_free(&r);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static void cleanup(void)
{
    db_close(db);
    db = NULL;
    db_close(snapshot);
    if (*tmpdir)
        nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    cache_free_all();
    template_cache_clear();
    country_map_free();
    i18n_free();
}

/* A crash ends the process without atexit handlers, leaving its
 * directory (several MB) behind: each start removes those of processes
 * that are gone, which the pid in their names tells. */
static void remove_stale_directories(void)
{
    DIR *d = opendir("/tmp");
    struct dirent *e;
    while (d && (e = readdir(d))) {
        long pid;
        char path[300];
        if (sscanf(e->d_name, "ratify-fuzz-%ld-", &pid) == 1 && pid > 0 &&
            kill((pid_t)pid, 0) != 0 && errno == ESRCH) {
            snprintf(path, sizeof path, "/tmp/%s", e->d_name);
            nftw(path, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
        }
    }
    if (d)
        closedir(d);
}

static void copy_database(Db *to, Db *from)
{
    if (db_copy(to, from) != R_OK)
        die("copying the database");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (sodium_init() < 0 || i18n_init() != 0)
        die("libsodium or catalogues");
    abort_on_500 = getenv("FUZZ_SERVER_ABORT_ON_500") != NULL;
    verbose = getenv("FUZZ_SERVER_VERBOSE") != NULL; /* one line per request */
    remove_stale_directories();
    snprintf(tmpdir, sizeof tmpdir, "/tmp/ratify-fuzz-%ld-XXXXXX", (long)getpid());
    if (!mkdtemp(tmpdir))
        die("mkdtemp");
    atexit(cleanup);
    char path[128];
    snprintf(path, sizeof path, "%s/ratify.db", tmpdir);
    /* The welcome links that `init` and `user add` print are not wanted
     * (they would end up last in the fuzzer's log): stdout goes to
     * /dev/null until the setup is done. */
    fflush(stdout);
    int saved_stdout = dup(STDOUT_FILENO), null = open("/dev/null", O_WRONLY);
    if (saved_stdout < 0 || null < 0 || dup2(null, STDOUT_FILENO) < 0)
        die("stdout");
    close(null);
    /* As `ratify init` (main.c open_db, then the first admin). */
    db = db_open(path);
    if (!db || auth_init(db) != R_OK || country_seed(db) != R_OK || treaty_seed(db) != R_OK ||
        letter_seed(db) != R_OK || account_first_admin(db, "admin@fuzz.test", BASE_URL) != R_OK)
        die("init");
    add_user("coordinator@fuzz.test", "coordinator", "ARG");
    add_user("member@fuzz.test", "member", NULL);
    add_people();
    log_in("member@fuzz.test", ID_MEMBER);
    log_in("coordinator@fuzz.test", ID_COORDINATOR);
    log_in("admin@fuzz.test", ID_ADMIN);
    mark_second_factor("coordinator@fuzz.test");
    mark_second_factor("admin@fuzz.test");
    make_token("read", ID_TOKEN_READ);
    make_token("write", ID_TOKEN_WRITE);
    add_letter();
    add_group();
    throttle_default_client();
    fflush(stdout);
    dup2(saved_stdout, STDOUT_FILENO);
    close(saved_stdout);
    for (const Route *rt = routes; rt->method; rt++)
        route_count++;
    if (!(snapshot = db_open_memory()))
        die("snapshot");
    copy_database(snapshot, db);
    return 0;
}

/* ---- one input ---- */

/* The value that finds the setup's data for a {param} not in the input. */
static const char *default_param(const char *name)
{
    if (!strcmp(name, "iso3"))
        return "ARG";
    if (!strcmp(name, "slug"))
        return group_slug;
    if (!strcmp(name, "file"))
        return "style.css";
    if (!strcmp(name, "token"))
        return presession;
    if (!strcmp(name, "id"))
        return letter_id;
    return person_id;
}

static int hex_digit(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                  : -1;
}

/* Percent-decodes s[0..n) as the server decodes the path; stops at a NUL,
 * which cannot be in a C string path. */
static void decode_into(Buf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%' && i + 2 < n && hex_digit(s[i + 1]) >= 0 && hex_digit(s[i + 2]) >= 0) {
            c = hex_digit(s[i + 1]) * 16 + hex_digit(s[i + 2]);
            i += 2;
        }
        if (c == 0)
            return;
        buf_putc(b, (char)c);
    }
}

/* Fills the pattern's {name}s with the fields of params[0..n). */
static const char *fill_pattern(Arena *a, const char *pattern, const char *params, size_t n)
{
    Buf b = {0};
    const char *field = params, *end = params + n;
    int have = n > 0;
    for (const char *p = pattern; *p; p++) {
        if (*p != '{') {
            buf_putc(&b, *p);
            continue;
        }
        const char *close = strchr(p, '}');
        char name[32];
        snprintf(name, sizeof name, "%.*s", (int)(close - p - 1), p + 1);
        if (have && field <= end) {
            const char *stop = memchr(field, SEP_FIELD, (size_t)(end - field));
            size_t len = stop ? (size_t)(stop - field) : (size_t)(end - field);
            decode_into(&b, field, len);
            field = stop ? stop + 1 : end + 1;
        } else {
            buf_puts(&b, default_param(name));
        }
        p = close;
    }
    char *s = arena_strdup(a, b.data ? b.data : "/");
    buf_free(&b);
    return s;
}

/* Builds a multipart body from fields "name=value" or
 * "name;filename=value" separated by SEP_FIELD. */
static void build_multipart(Buf *out, const char *s, size_t n, const char *csrf)
{
    const char *end = s + n;
    while (s < end) {
        const char *stop = memchr(s, SEP_FIELD, (size_t)(end - s));
        const char *field_end = stop ? stop : end;
        const char *eq = memchr(s, '=', (size_t)(field_end - s));
        const char *name_end = eq ? eq : field_end;
        const char *semi = memchr(s, ';', (size_t)(name_end - s));
        buf_puts(out, "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"");
        buf_append(out, s, (size_t)((semi ? semi : name_end) - s));
        buf_puts(out, "\"");
        if (semi) {
            buf_puts(out, "; filename=\"");
            buf_append(out, semi + 1, (size_t)(name_end - semi - 1));
            buf_puts(out, "\"\r\nContent-Type: application/octet-stream");
        }
        buf_puts(out, "\r\n\r\n");
        if (eq)
            buf_append(out, eq + 1, (size_t)(field_end - eq - 1));
        buf_puts(out, "\r\n");
        s = field_end + 1;
    }
    if (csrf)
        buf_printf(out,
                   "--" BOUNDARY "\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n"
                   "%s\r\n",
                   csrf);
    buf_puts(out, "--" BOUNDARY "--\r\n");
}

/* Splits header lines "Name: value" into h; returns 0 when one holds a NUL
 * byte or there are too many (the server answers those before routing). */
static int parse_headers(Arena *a, HeaderList *h, const char *s, size_t n)
{
    const char *end = s + n;
    while (s < end) {
        const char *nl = memchr(s, '\n', (size_t)(end - s));
        const char *line_end = nl ? nl : end;
        if (line_end > s) {
            if (memchr(s, 0, (size_t)(line_end - s)) || h->count >= MAX_HEADERS - 4)
                return 0;
            const char *colon = memchr(s, ':', (size_t)(line_end - s));
            if (colon) {
                const char *v = colon + 1;
                while (v < line_end && (*v == ' ' || *v == '\t'))
                    v++;
                h->names[h->count] = arena_strndup(a, s, (size_t)(colon - s));
                h->values[h->count] = arena_strndup(a, v, (size_t)(line_end - v));
                h->count++;
            }
        }
        s = line_end + 1;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 3 || size > 64 * 1024)
        return 0;
    const Route *route = &routes[data[0] % route_count];
    int id = (data[1] & 7) % ID_COUNT;
    int no_csrf = data[1] & 0x08, other_method = data[1] & 0x10, head = data[1] & 0x20;
    int raw_path = data[1] & 0x40;
    int kind = (data[2] & 7) % 6;
    const char *rest = (const char *)data + 3, *end = (const char *)data + size;
    const char *sec[5];
    size_t len[5];
    for (int i = 0; i < 5; i++) {
        const char *stop = rest <= end ? memchr(rest, SEP_SECTION, (size_t)(end - rest)) : NULL;
        sec[i] = rest <= end ? rest : end;
        len[i] = rest > end ? 0 : stop ? (size_t)(stop - rest) : (size_t)(end - rest);
        rest = stop ? stop + 1 : end + 1;
    }

    copy_database(db, snapshot);
    cache_bump(); /* each input starts with an empty cache: see below */

    /* Everything of the input; each request has an arena of its own. */
    Arena *a = arena_new();
    Input in = {.client = data[2] & 0x80 ? FREE_CLIENT : THROTTLED_CLIENT};
    in.too_large = (data[1] & 0x80) != 0;
    in.method = head ? "HEAD" : route->method;
    if (other_method && !head)
        in.method = strcmp(route->method, "GET") == 0 ? "POST" : "GET";
    if (raw_path) {
        Buf b = {0};
        buf_putc(&b, '/');
        decode_into(&b, sec[0], len[0]);
        in.path = arena_strdup(a, b.data);
        buf_free(&b);
    } else {
        in.path = fill_pattern(a, route->pattern, sec[0], len[0]);
    }
    in.query = sec[1];
    in.query_len = len[1];
    if (!parse_headers(a, &in.headers, sec[2], len[2])) {
        arena_free(a);
        return 0;
    }

    /* Who is asking, and the CSRF token that goes with it. */
    const char *binding = presession;
    char csrf[65];
    Buf cookie = {0};
    if (id == ID_TOKEN_READ || id == ID_TOKEN_WRITE) {
        add_header(a, &in.headers, "Authorization", arena_printf(a, "Bearer %s", api_token[id]));
        buf_printf(&cookie, "presession=%s", presession);
    } else if (id == ID_ANON) {
        buf_printf(&cookie, "presession=%s", presession);
    } else {
        binding = session[id];
        buf_printf(&cookie, "session=%s", session[id]);
    }
    if (len[3]) {
        buf_puts(&cookie, "; ");
        buf_append(&cookie, sec[3], len[3]);
    }
    if (memchr(cookie.data, 0, cookie.len)) {
        buf_free(&cookie);
        arena_free(a);
        return 0;
    }
    add_header(a, &in.headers, "Cookie", cookie.data);
    buf_free(&cookie);
    auth_csrf_token(binding, csrf);
    if (!no_csrf)
        add_header(a, &in.headers, "X-CSRF-Token", csrf);

    /* The body. */
    static const char *const types[] = {NULL,
                                        "application/x-www-form-urlencoded",
                                        "multipart/form-data; boundary=" BOUNDARY,
                                        "multipart/form-data; boundary=" BOUNDARY,
                                        "application/json",
                                        "text/plain"};
    Buf body = {0};
    if (kind == 3) {
        build_multipart(&body, sec[4], len[4], no_csrf ? NULL : csrf);
        in.body = body.data;
        in.body_len = body.len;
    } else {
        /* A copy of exactly len bytes, so that ASan sees a read past it. */
        char *copy = xmalloc(len[4] ? len[4] : 1);
        memcpy(copy, sec[4], len[4]);
        body.data = copy;
        in.body = copy;
        in.body_len = len[4];
    }
    if (types[kind])
        add_header(a, &in.headers, "Content-Type", types[kind]);
    if (in.body_len)
        add_header(a, &in.headers, "Content-Length", arena_printf(a, "%zu", in.body_len));

    /* 0x40 of byte 2 sends the request twice: for an anonymous GET of a
     * cacheable page, the second answer comes from the cache, so a crash
     * there reproduces from the one input. */
    if (!server_framing_problem(in.headers.names, in.headers.values, in.headers.count))
        for (int i = 0; i < (data[2] & 0x40 ? 2 : 1); i++)
            run_request(arena_new(), &in, NULL);
    arena_free(a);
    free(body.data);
    return 0;
}
