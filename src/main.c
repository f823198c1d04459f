/*
 * main.c: the `ratify` command line: serve, init, user, backup, check,
 * version, help. Each command returns a Result; cli_exit_for maps it to
 * the exit code, so scripts can tell bad usage (2) from a missing thing (3)
 * and a failure (1).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "country.h"
#include "db.h"
#include "i18n.h"
#include "housekeeping.h"
#include "letter.h"
#include "member_io.h"
#include "router.h"
#include "server.h"
#include "template.h"
#include "treaty.h"
#include "version.h"

typedef struct {
    const char *db_path;
    const char *public_url;
    const char *admin_email;
    ServerConfig server;
} Options;

static int cli_exit_for(Result r)
{
    switch (r) {
    case R_OK:
        return 0;
    case R_BAD_REQUEST:
    case R_METHOD:
    case R_UNSUPPORTED:
        return 2;
    case R_NOT_FOUND:
        return 3;
    case R_CONFLICT:
        return 4;
    default:
        return 1;
    }
}

static void usage(FILE *out)
{
    fprintf(out,
            "Ratify %s: a campaign platform for treaty ratification.\n\n"
            "usage: ratify COMMAND [OPTIONS]\n\n"
            "  serve [--db FILE] [--listen ADDR:PORT] [--public-url URL] [--behind-proxy]\n"
            "        [--threads N] [--max-body BYTES] [--admin EMAIL]\n"
            "        [--smtp smtp://HOST:PORT] [--mail-from ADDRESS]\n"
            "                      create the database if needed and serve HTTP\n"
            "  init [--db FILE] [--admin EMAIL]\n"
            "                      create or upgrade the database; print the first login\n"
            "  user add EMAIL --role admin|coordinator|member [--country ISO3]...\n"
            "  user passwd EMAIL   set a password (read from standard input)\n"
            "  user list           list the accounts\n"
            "  user reset-2fa EMAIL\n"
            "                      remove a lost second factor; it is set up again at login\n"
            "  import treaty-status FILE [--instrument SLUG] [--apply]\n"
            "                      compare a UNTC status CSV with the record; --apply writes it\n"
            "  import members FILE.csv [--map COLUMN=FIELD]... [--on-duplicate skip|update|fill]\n"
            "        [--apply] [--errors ERRORS.csv]\n"
            "                      import members from CSV: a dry run unless --apply\n"
            "  export members [--format csv|xlsx] [--out FILE]\n"
            "                      one row per membership; CSV to standard output by default\n"
            "  token add NAME [--scope read|write]  issue an API token\n"
            "  housekeeping        one pass of what serve does hourly: delete expired sessions\n"
            "                      and tokens, remind the authors of unanswered letters\n"
            "  backup FILE [--db FILE]  copy the database safely, even while serving\n"
            "  check [--db FILE]   check the database's integrity and foreign keys\n"
            "  version             print the version\n"
            "  help [routes]       this text, or the table of routes\n\n"
            "Environment: RATIFY_DB, RATIFY_PUBLIC_URL, RATIFY_ADMIN_EMAIL, RATIFY_SMTP_URL,\n"
            "RATIFY_SMTP_USER, RATIFY_SMTP_PASSWORD, RATIFY_SMTP_REQUIRE_TLS and RATIFY_MAIL_FROM\n"
            "set the defaults.\n",
            RATIFY_VERSION);
}

static int parse_unsigned(const char *s, unsigned long max, unsigned long *out)
{
    char *end;
    if (!s || !*s)
        return -1;
    unsigned long v = strtoul(s, &end, 10);
    if (*end || v == 0 || v > max)
        return -1;
    *out = v;
    return 0;
}

/* Takes the options every command shares out of argv (compacting it) and
 * fills o. Returns R_BAD_REQUEST with a message for a bad one. */
static Result parse_options(int *argc, char **argv, Options *o)
{
    int kept = 0;
    for (int i = 0; i < *argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < *argc ? argv[i + 1] : NULL;
        unsigned long n;
        if (strcmp(a, "--behind-proxy") == 0) {
            o->server.behind_proxy = 1;
            continue;
        }
        int takes_value = !strcmp(a, "--db") || !strcmp(a, "--listen") ||
                          !strcmp(a, "--public-url") || !strcmp(a, "--admin") ||
                          !strcmp(a, "--threads") || !strcmp(a, "--max-body") ||
                          !strcmp(a, "--smtp") || !strcmp(a, "--mail-from");
        if (!takes_value) {
            argv[kept++] = argv[i];
            continue;
        }
        if (!v) {
            fprintf(stderr, "ratify: %s needs a value\n", a);
            return R_BAD_REQUEST;
        }
        i++;
        if (!strcmp(a, "--db"))
            o->db_path = v;
        else if (!strcmp(a, "--listen"))
            o->server.listen = v;
        else if (!strcmp(a, "--public-url"))
            o->public_url = v;
        else if (!strcmp(a, "--admin"))
            o->admin_email = v;
        else if (!strcmp(a, "--smtp"))
            o->server.mail.smtp_url = v;
        else if (!strcmp(a, "--mail-from"))
            o->server.mail.from = v;
        else if (!strcmp(a, "--threads") && parse_unsigned(v, 256, &n) == 0)
            o->server.threads = (unsigned)n;
        else if (!strcmp(a, "--max-body") && parse_unsigned(v, 1ul << 30, &n) == 0)
            o->server.max_body = n;
        else {
            fprintf(stderr, "ratify: bad value '%s' for %s\n", v, a);
            return R_BAD_REQUEST;
        }
    }
    *argc = kept;
    return R_OK;
}

static const char *base_url(const Options *o)
{
    static char url[256];
    if (o->public_url) {
        snprintf(url, sizeof url, "%s", o->public_url);
        size_t n = strlen(url);
        if (n && url[n - 1] == '/')
            url[n - 1] = 0;
    } else {
        snprintf(url, sizeof url, "http://%s", o->server.listen);
    }
    return url;
}

static Result open_db(const Options *o, Db **db)
{
    *db = db_open(o->db_path);
    if (!*db)
        return R_INTERNAL;
    /* Reference data loads once, into empty tables only. */
    if (auth_init(*db) != R_OK || country_seed(*db) != R_OK || treaty_seed(*db) != R_OK ||
        letter_seed(*db) != R_OK) {
        db_close(*db);
        *db = NULL;
        return R_INTERNAL;
    }
    return R_OK;
}

static Result init_cmd(const Options *o)
{
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    printf("Database %s is at schema version %d.\n", o->db_path, db_schema_version(db));
    r = auth_first_admin(db, o->admin_email, base_url(o));
    db_close(db);
    return r;
}

static Result serve_cmd(Options *o)
{
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    r = auth_first_admin(db, o->admin_email, base_url(o));
    db_close(db);
    if (r != R_OK)
        return r;
    o->server.db_path = o->db_path;
    o->server.public_url = o->public_url;
    return server_run(&o->server) == 0 ? R_OK : R_INTERNAL;
}

static Result backup_cmd(const Options *o, int argc, char **argv)
{
    if (argc != 1) {
        fprintf(stderr, "usage: ratify backup FILE [--db FILE]\n");
        return R_BAD_REQUEST;
    }
    Db *db = db_open_existing(o->db_path);
    if (!db)
        return R_NOT_FOUND;
    Result r = db_backup(db, argv[0]);
    db_close(db);
    if (r == R_OK)
        printf("Backed up %s to %s.\n", o->db_path, argv[0]);
    return r;
}

static Result check_cmd(const Options *o)
{
    Db *db = db_open_existing(o->db_path);
    if (!db)
        return R_NOT_FOUND;
    Result r = db_check(db);
    if (r == R_OK)
        printf("%s: integrity ok, foreign keys ok, schema version %d of %d.\n", o->db_path,
               db_schema_version(db), db_migrations_available());
    db_close(db);
    return r;
}

static Result user_cmd(const Options *o, int argc, char **argv)
{
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    r = auth_user_cmd(db, argc, argv, base_url(o));
    db_close(db);
    return r;
}

static Result import_cmd(const Options *o, int argc, char **argv)
{
    int members = argc >= 1 && strcmp(argv[0], "members") == 0;
    if (argc < 1 || (strcmp(argv[0], "treaty-status") != 0 && !members)) {
        fprintf(stderr, "usage: ratify import treaty-status FILE [--instrument SLUG] [--apply]\n"
                        "       ratify import members FILE.csv [--apply] ...\n");
        return R_BAD_REQUEST;
    }
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    r = members ? member_io_import_cmd(db, argc - 1, argv + 1)
                : treaty_import_cmd(db, argc - 1, argv + 1);
    db_close(db);
    return r;
}

static Result export_cmd(const Options *o, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "members") != 0) {
        fprintf(stderr, "usage: ratify export members [--format csv|xlsx] [--out FILE]\n");
        return R_BAD_REQUEST;
    }
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    r = member_io_export_cmd(db, argc - 1, argv + 1);
    db_close(db);
    return r;
}

static Result run(int argc, char **argv)
{
    Options o = {0};
    server_defaults(&o.server);
    o.db_path = getenv("RATIFY_DB") ? getenv("RATIFY_DB") : "ratify.db";
    o.public_url = getenv("RATIFY_PUBLIC_URL");
    o.admin_email =
        getenv("RATIFY_ADMIN_EMAIL") ? getenv("RATIFY_ADMIN_EMAIL") : "admin@example.org";
    o.server.mail.smtp_url = getenv("RATIFY_SMTP_URL");
    o.server.mail.username = getenv("RATIFY_SMTP_USER");
    o.server.mail.password = getenv("RATIFY_SMTP_PASSWORD");
    o.server.mail.require_tls = getenv("RATIFY_SMTP_REQUIRE_TLS") != NULL;
    o.server.mail.from =
        getenv("RATIFY_MAIL_FROM") ? getenv("RATIFY_MAIL_FROM") : "ratify@localhost.localdomain";
    if (argc < 2) {
        usage(stderr);
        return R_BAD_REQUEST;
    }
    const char *cmd = argv[1];
    argc -= 2;
    argv += 2;
    if (parse_options(&argc, argv, &o) != R_OK)
        return R_BAD_REQUEST;
    if (!strcmp(cmd, "version") && argc == 0) {
        printf("ratify %s (SQLite %s, libsodium %s)\n", RATIFY_VERSION, sqlite3_libversion(),
               sodium_version_string());
        return R_OK;
    }
    if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
        if (argc == 1 && !strcmp(argv[0], "routes"))
            router_print(stdout);
        else
            usage(stdout);
        return R_OK;
    }
    if (!strcmp(cmd, "serve") && argc == 0)
        return serve_cmd(&o);
    if (!strcmp(cmd, "init") && argc == 0)
        return init_cmd(&o);
    if (!strcmp(cmd, "user"))
        return user_cmd(&o, argc, argv);
    if (!strcmp(cmd, "housekeeping") && argc == 0) {
        Db *db;
        Result r = open_db(&o, &db);
        if (r == R_OK)
            r = housekeeping_run(db, base_url(&o));
        db_close(db);
        return r;
    }
    if (!strcmp(cmd, "token")) {
        Db *db;
        Result r = open_db(&o, &db);
        if (r == R_OK)
            r = api_token_cmd(db, argc, argv);
        db_close(db);
        return r;
    }
    if (!strcmp(cmd, "import"))
        return import_cmd(&o, argc, argv);
    if (!strcmp(cmd, "export"))
        return export_cmd(&o, argc, argv);
    if (!strcmp(cmd, "backup"))
        return backup_cmd(&o, argc, argv);
    if (!strcmp(cmd, "check") && argc == 0)
        return check_cmd(&o);
    fprintf(stderr, "ratify: unknown command or extra arguments: %s", cmd);
    for (int i = 0; i < argc; i++)
        fprintf(stderr, " %s", argv[i]);
    fprintf(stderr, "\nRun 'ratify help' for the commands.\n");
    return R_BAD_REQUEST;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0 || i18n_init() != 0) {
        fprintf(stderr, "ratify: cannot initialise libsodium or the message catalogues\n");
        return 1;
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    int code = cli_exit_for(run(argc, argv));
    template_cache_clear();
    country_map_free();
    i18n_free();
    return code;
}
