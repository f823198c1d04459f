/*
 * main.c: the `ratify` command line: serve, init, user, backup, restore, check,
 * version, help. Each command returns a Result; cli_exit_for maps it to
 * the exit code, so scripts can tell bad usage (2) from a missing thing (3)
 * and a failure (1).
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "svc/auth.h"
#include "db/backup.h"
#include "feat/account.h"
#include "feat/api_token.h"
#include "feat/country.h"
#include "db/db.h"
#include "base/i18n.h"
#include "svc/housekeeping.h"
#include "feat/event.h"
#include "feat/gathering.h"
#include "feat/letter.h"
#include "feat/meeting.h"
#include "feat/invitation.h"
#include "feat/member.h"
#include "feat/member_export.h"
#include "feat/member_import.h"
#include "feat/upr.h"
#include "feat/membership.h"
#include "feat/notification.h"
#include "feat/outbox.h"
#include "web/router.h"
#include "web/server.h"
#include "base/template.h"
#include "feat/treaty.h"
#include "feat/two_factor.h"
#include "feat/untc_check.h"
#include "base/version.h"

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
            "        [--threads N] [--dispatch suspend|block] [--max-body BYTES] [--admin EMAIL]\n"
            "        [--smtp smtp://HOST:PORT] [--mail-from ADDRESS] [--untc-check daily|off]\n"
            "                      create the database if needed and serve HTTP; with\n"
            "                      --untc-check daily, check the UNTC pages once a day\n"
            "  init [--db FILE] [--admin EMAIL] [--instrument SLUG]\n"
            "                      create or upgrade the database; print the first login;\n"
            "                      --instrument sets the treaty campaigned for (op-icescr\n"
            "                      unless set; again later to change it)\n"
            "  user add EMAIL --role admin|coordinator|member [--country ISO3]...\n"
            "  user passwd EMAIL   set a password (read from standard input)\n"
            "  user list           list the accounts\n"
            "  user reset-2fa EMAIL\n"
            "                      remove a lost second factor; it is set up again at login\n"
            "  import treaty-status FILE [--instrument SLUG] [--apply]\n"
            "                      compare a UNTC status CSV with the record; --apply writes it\n"
            "  untc check [--instrument SLUG] [--url URL]\n"
            "                      fetch the live UNTC status pages (or one, or URL) and queue\n"
            "                      every difference from the record for review on /admin/untc\n"
            "  import members FILE.csv [--map COLUMN=FIELD]... [--on-duplicate skip|update|fill]\n"
            "        [--apply] [--errors ERRORS.csv]\n"
            "                      import members from CSV: a dry run unless --apply\n"
            "  import upr FILE.csv [--apply]\n"
            "                      import UPR Info's export of UPR recommendations: a dry run\n"
            "                      unless --apply; unknown state names are listed\n"
            "  export members [--format csv|xlsx] [--out FILE]\n"
            "                      one row per membership; CSV to standard output by default\n"
            "  token add NAME [--scope read|write]  issue an API token\n"
            "  mail send --to ADDRESS --subject TEXT\n"
            "                      queue a message (its body read from standard input),\n"
            "                      to test the SMTP set-up\n"
            "  mail list           the queue: id, state, attempts, next attempt, last error\n"
            "  mail retry ID       make a message waiting for its next attempt due now\n"
            "  housekeeping        one pass of what serve does hourly: delete expired sessions\n"
            "                      and tokens, remind the authors of unanswered letters\n"
            "  backup FILE [--db FILE] [--encrypt --key-file KEY | --passphrase-file FILE]\n"
            "                      copy the database safely, even while serving; encrypted\n"
            "                      with a key file or a passphrase (read from the file, or\n"
            "                      from RATIFY_BACKUP_PASSPHRASE, never from the command line)\n"
            "  backup-key FILE     create a random backup key file (mode 0600)\n"
            "  restore BACKUP [--db FILE] [--key-file KEY | --passphrase-file FILE] [--force]\n"
            "                      decrypt and check a backup, then put it in place as the\n"
            "                      database (a file, or copied into a postgresql:// one);\n"
            "                      --force replaces an existing one (stop the server)\n"
            "  check [--db FILE]   check the database's integrity and foreign keys\n"
            "  migrate --from SOURCE --to TARGET\n"
            "                      copy a whole database between SQLite files and PostgreSQL\n"
            "                      (postgresql://...) into a new, empty one, checking every\n"
            "                      table's rows and checksum on both sides\n"
            "  version             print the version\n"
            "  help [routes]       this text, or the table of routes\n\n"
            "Environment: RATIFY_DB, RATIFY_PUBLIC_URL, RATIFY_ADMIN_EMAIL, RATIFY_SMTP_URL,\n"
            "RATIFY_SMTP_USER, RATIFY_SMTP_PASSWORD, RATIFY_SMTP_REQUIRE_TLS, RATIFY_MAIL_FROM,\n"
            "RATIFY_UNTC_CHECK (daily or off) and RATIFY_BACKUP_PASSPHRASE set the defaults.\n",
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
                          !strcmp(a, "--dispatch") || !strcmp(a, "--smtp") ||
                          !strcmp(a, "--mail-from") || !strcmp(a, "--untc-check");
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
        else if (!strcmp(a, "--dispatch") && (!strcmp(v, "suspend") || !strcmp(v, "block")))
            o->server.block_workers = !strcmp(v, "block");
        else if (!strcmp(a, "--untc-check") && (!strcmp(v, "daily") || !strcmp(v, "off")))
            untc_check_set_daily(!strcmp(v, "daily"));
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

/* The public address `ratify serve --public-url` last ran with (read by
 * open_db from the settings): commands run without --public-url (`ratify
 * user add`, housekeeping's emails) then still print and mail links that
 * work, not ones to the listening port (issue 14). */
static char stored_public_url[256];

static const char *base_url(const Options *o)
{
    static char url[256];
    const char *public_url = o->public_url ? o->public_url : stored_public_url;
    if (*public_url) {
        snprintf(url, sizeof url, "%s", public_url);
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
    if (auth_init(*db) != R_OK || two_factor_init() != R_OK || country_seed(*db) != R_OK ||
        treaty_seed(*db) != R_OK || letter_seed(*db) != R_OK || upr_seed(*db) != R_OK) {
        db_close(*db);
        *db = NULL;
        return R_INTERNAL;
    }
    Stmt *st = db_prepare(*db, "SELECT value FROM settings WHERE name = 'public_url'");
    if (db_row(st))
        snprintf(stored_public_url, sizeof stored_public_url, "%s", db_text(st, 0));
    db_done(st);
    return R_OK;
}

static Result public_url_apply(Db *w, void *ctx)
{
    return auth_setting_set(w, "public_url", ctx);
}

/* What the server runs every hour besides its own cleaning (housekeeping.c),
 * and what `ratify housekeeping` runs once: the features' chores, and the
 * cleaning of the tables they own, which housekeeping.c may not call. */
static const HourlyJob hourly_jobs[] = {letter_remind,
                                        two_factor_expire,
                                        membership_expire,
                                        invitation_expire,
                                        member_rate_limits_expire,
                                        untc_check_daily,
                                        event_remind,
                                        meeting_remind,
                                        gathering_remind,
                                        notification_digest,
                                        NULL};

static Result init_cmd(Options *o, int argc, char **argv)
{
    /* --instrument SLUG: the campaign instrument (the OP-ICESCR until
     * set); running init again with another changes it. */
    const char *instrument = NULL;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--instrument") && i + 1 < argc && !instrument) {
            instrument = argv[++i];
        } else {
            fprintf(stderr, "usage: ratify init [--db FILE] [--admin EMAIL] [--instrument SLUG]\n");
            return R_BAD_REQUEST;
        }
    }
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    char name[1024];
    printf("Database %s is at schema version %d.\n", db_target_shown(o->db_path, name, sizeof name),
           db_schema_version(db));
    if (instrument && (r = treaty_campaign_cmd(db, instrument)) != R_OK) {
        db_close(db);
        return r;
    }
    r = account_first_admin(db, o->admin_email, base_url(o));
    db_close(db);
    return r;
}

static Result serve_cmd(Options *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    /* Remembered for the commands run without --public-url. */
    if (o->public_url && strcmp(o->public_url, stored_public_url) != 0)
        r = db_write(db, public_url_apply, (void *)base_url(o));
    if (r == R_OK)
        r = account_first_admin(db, o->admin_email, base_url(o));
    db_close(db);
    if (r != R_OK)
        return r;
    o->server.db_path = o->db_path;
    o->server.public_url = o->public_url;
    o->server.jobs = hourly_jobs;
    return server_run(&o->server) == 0 ? R_OK : R_INTERNAL;
}

/* The arguments of backup and restore, after the shared options. */
typedef struct {
    const char *file;            /* the backup */
    const char *key_file;        /* --key-file */
    const char *passphrase_file; /* --passphrase-file */
    int encrypt;                 /* --encrypt (backup) */
    int force;                   /* --force (restore) */
} BackupArgs;

static Result parse_backup_args(int argc, char **argv, BackupArgs *a, const char *usage_line)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(argv[i], "--passphrase")) {
            /* Anyone on the machine can read another process's arguments. */
            fprintf(stderr, "ratify: a passphrase is never given on the command line, where "
                            "others can see it: use --passphrase-file or "
                            "RATIFY_BACKUP_PASSPHRASE\n");
            return R_BAD_REQUEST;
        } else if (!strcmp(argv[i], "--encrypt")) {
            a->encrypt = 1;
        } else if (!strcmp(argv[i], "--force")) {
            a->force = 1;
        } else if ((!strcmp(argv[i], "--key-file") || !strcmp(argv[i], "--passphrase-file")) && v) {
            *(argv[i][2] == 'k' ? &a->key_file : &a->passphrase_file) = v;
            i++;
        } else if (argv[i][0] != '-' && !a->file) {
            a->file = argv[i];
        } else {
            a->file = NULL;
            break;
        }
    }
    if (!a->file || (a->key_file && a->passphrase_file)) {
        fprintf(stderr, "usage: %s\n", usage_line);
        return R_BAD_REQUEST;
    }
    return R_OK;
}

/* Loads the secret the arguments name: a key file, a passphrase file, or
 * else the passphrase in RATIFY_BACKUP_PASSPHRASE. Kind NONE when none. */
static Result load_backup_secret(const BackupArgs *a, BackupSecret *s)
{
    if (a->key_file)
        return backup_secret_from_key_file(s, a->key_file);
    if (a->passphrase_file)
        return backup_secret_from_passphrase_file(s, a->passphrase_file);
    Result r = backup_secret_from_env(s);
    return r == R_NOT_FOUND ? R_OK : r;
}

/* Encrypts a snapshot of db into the file out, atomically, mode 0600. */
static Result write_encrypted_backup(Db *db, const char *out, const BackupSecret *s)
{
    unsigned char *image;
    size_t len;
    Result r = db_snapshot(db, &image, &len);
    if (r != R_OK)
        return r;
    char *tmp;
    int fd = backup_file_open(out, &tmp);
    if (fd < 0)
        r = R_INTERNAL;
    else if ((r = backup_encrypt(fd, image, len, s)) == R_OK)
        r = backup_file_commit(fd, tmp, out, 1);
    else
        backup_file_abort(fd, tmp);
    db_snapshot_free(image, len);
    return r;
}

static const char BACKUP_USAGE[] =
    "ratify backup FILE [--db FILE] [--encrypt --key-file KEY | --passphrase-file FILE]";

static Result backup_cmd(Options *o, int argc, char **argv)
{
    BackupArgs a;
    BackupSecret s;
    if (parse_backup_args(argc, argv, &a, BACKUP_USAGE) != R_OK)
        return R_BAD_REQUEST;
    if (a.force) {
        fprintf(stderr, "usage: %s\n", BACKUP_USAGE);
        return R_BAD_REQUEST;
    }
    Result r = load_backup_secret(&a, &s);
    if (r != R_OK)
        return r;
    if (a.encrypt && s.kind == BACKUP_SECRET_NONE) {
        fprintf(stderr, "ratify: --encrypt needs --key-file, --passphrase-file or "
                        "RATIFY_BACKUP_PASSPHRASE\n");
        return R_BAD_REQUEST;
    }
    Db *db = db_open_existing(o->db_path);
    if (!db) {
        backup_secret_clear(&s);
        return R_NOT_FOUND;
    }
    /* A secret given in any way means an encrypted backup: someone who set
     * RATIFY_BACKUP_PASSPHRASE never wants a plaintext copy by accident. */
    if (s.kind == BACKUP_SECRET_NONE)
        r = db_backup(db, a.file);
    else
        r = write_encrypted_backup(db, a.file, &s);
    db_close(db);
    char name[1024];
    if (r == R_OK)
        printf("Backed up %s to %s%s.\n", db_target_shown(o->db_path, name, sizeof name), a.file,
               s.kind == BACKUP_SECRET_KEY          ? ", encrypted with the key file"
               : s.kind == BACKUP_SECRET_PASSPHRASE ? ", encrypted with the passphrase"
                                                    : "");
    backup_secret_clear(&s);
    return r;
}

static Result backup_key_cmd(Options *o, int argc, char **argv)
{
    (void)o;
    if (argc != 1 || argv[0][0] == '-') {
        fprintf(stderr, "usage: ratify backup-key FILE\n");
        return R_BAD_REQUEST;
    }
    Result r = backup_key_create(argv[0]);
    if (r == R_OK)
        printf("Wrote a new backup key to %s (mode 0600). Keep a copy away from the database's "
               "machine: without it, the backups made with it cannot be restored.\n",
               argv[0]);
    return r;
}

/* The backup's bytes as a database image: decrypted under the secret the
 * arguments name, or as they are for an unencrypted backup. On R_OK,
 * *image is the caller's, freed with backup_plain_free. */
static Result open_backup(const BackupArgs *a, unsigned char **image, size_t *len)
{
    unsigned char *data;
    size_t data_len;
    Result r = backup_read_file(a->file, &data, &data_len);
    if (r != R_OK)
        return r;
    if (backup_is_encrypted(data, data_len)) {
        BackupSecret s;
        r = load_backup_secret(a, &s);
        if (r == R_OK)
            r = backup_decrypt(data, data_len, &s, image, len);
        backup_secret_clear(&s);
        free(data);
        return r;
    }
    if (!db_image_is_sqlite(data, data_len)) {
        fprintf(stderr, "ratify: %s is not a Ratify backup\n", a->file);
        free(data);
        return R_UNSUPPORTED;
    }
    *image = data;
    *len = data_len;
    return R_OK;
}

/* Writes the checked image to path, atomically, mode 0600. */
static Result put_database_in_place(const unsigned char *image, size_t len, const char *path,
                                    int force)
{
    char *tmp;
    int fd = backup_file_open(path, &tmp);
    if (fd < 0)
        return R_INTERNAL;
    if (backup_write_all(fd, image, len) != R_OK) {
        fprintf(stderr, "ratify: cannot write %s: %s\n", path, strerror(errno));
        backup_file_abort(fd, tmp);
        return R_INTERNAL;
    }
    if (force) {
        /* An old write-ahead log beside the file would be replayed into
         * the restored database: it belongs to the one being replaced. */
        char side[4096];
        snprintf(side, sizeof side, "%s-wal", path);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", path);
        unlink(side);
    }
    return backup_file_commit(fd, tmp, path, force);
}

/* Every table's rows and checksum, as a copy compared them. */
static void print_copy_report(const DbCopyReport *rep)
{
    for (int i = 0; i < rep->count; i++) {
        const DbTableSum *t = &rep->tables[i];
        int same = t->rows == t->target_rows && !strcmp(t->source_sum, t->target_sum);
        printf("  %-28s %9lld rows  sha256 %s%s\n", t->table, (long long)t->rows, t->source_sum,
               same ? "" : "  DIFFERS");
        if (!same)
            printf("  %-28s %9lld rows  sha256 %s  (target)\n", "", (long long)t->target_rows,
                   t->target_sum);
    }
}

/* restore into PostgreSQL: the checked image copied in, table by table, in
 * one transaction (copy.c), so one backup format restores to either
 * engine. */
static Result restore_into_database(Options *o, const BackupArgs *a)
{
    char name[1024];
    Db *to = db_open(o->db_path);
    if (!to)
        return R_INTERNAL;
    Result r = R_OK;
    int held = a->force ? 0 : db_holds_data(to);
    if (held != 0) {
        if (held > 0)
            fprintf(stderr,
                    "ratify: %s already holds data; stop the servers and add --force to "
                    "replace it\n",
                    db_target_shown(o->db_path, name, sizeof name));
        db_close(to);
        return held > 0 ? R_CONFLICT : R_INTERNAL;
    }
    unsigned char *image;
    size_t len;
    r = open_backup(a, &image, &len);
    if (r != R_OK) {
        db_close(to);
        return r;
    }
    int version;
    DbCopyReport rep = {0};
    r = db_check_image(image, len, &version);
    if (r == R_UNSUPPORTED)
        fprintf(stderr, "ratify: %s does not hold a Ratify database\n", a->file);
    else if (r != R_OK)
        fprintf(stderr, "ratify: the database in %s fails its checks; nothing was restored\n",
                a->file);
    if (r == R_OK) {
        Db *from = db_open_image(image, len);
        r = from ? db_copy_tables(to, from, a->force, &rep) : R_INTERNAL;
        db_close(from);
        print_copy_report(&rep);
    }
    if (r == R_OK)
        printf("Restored %s into %s: integrity ok, foreign keys ok, schema version %d of %d; "
               "%d tables, %lld rows, every count and checksum matches.\n",
               a->file, db_target_shown(o->db_path, name, sizeof name), version,
               db_migrations_available(), rep.count, (long long)rep.rows);
    else if (version)
        fprintf(stderr, "ratify: nothing was restored\n");
    db_copy_report_free(&rep);
    backup_plain_free(image, len);
    db_close(to);
    return r;
}

static const char RESTORE_USAGE[] =
    "ratify restore BACKUP [--db FILE] [--key-file KEY | --passphrase-file FILE] [--force]";

static Result restore_cmd(Options *o, int argc, char **argv)
{
    BackupArgs a;
    if (parse_backup_args(argc, argv, &a, RESTORE_USAGE) != R_OK)
        return R_BAD_REQUEST;
    if (a.encrypt) {
        fprintf(stderr, "usage: %s\n", RESTORE_USAGE);
        return R_BAD_REQUEST;
    }
    if (db_target_is_postgres(o->db_path))
        return restore_into_database(o, &a);
    /* Said before the passphrase is stretched, and checked again when the
     * file is linked into place. */
    if (!a.force && access(o->db_path, F_OK) == 0) {
        fprintf(stderr,
                "ratify: %s already exists; stop the server and add --force to "
                "replace it\n",
                o->db_path);
        return R_CONFLICT;
    }
    unsigned char *image;
    size_t len;
    Result r = open_backup(&a, &image, &len);
    if (r != R_OK)
        return r;
    int version;
    r = db_check_image(image, len, &version);
    if (r == R_UNSUPPORTED)
        fprintf(stderr, "ratify: %s does not hold a Ratify database\n", a.file);
    else if (r != R_OK)
        fprintf(stderr, "ratify: the database in %s fails its checks; nothing was restored\n",
                a.file);
    else
        r = put_database_in_place(image, len, o->db_path, a.force);
    backup_plain_free(image, len);
    if (r == R_OK) {
        printf("Restored %s to %s: integrity ok, foreign keys ok, schema version %d of %d.\n",
               a.file, o->db_path, version, db_migrations_available());
        if (version > db_migrations_available())
            printf("The backup comes from a newer Ratify: serve it with that version.\n");
    }
    return r;
}

static Result check_cmd(Options *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    Db *db = db_open_existing(o->db_path);
    if (!db)
        return R_NOT_FOUND;
    Result r = db_check(db);
    char name[1024];
    if (r == R_OK)
        printf("%s: integrity ok, foreign keys ok, schema version %d of %d.\n",
               db_target_shown(o->db_path, name, sizeof name), db_schema_version(db),
               db_migrations_available());
    db_close(db);
    return r;
}

static const char MIGRATE_USAGE[] = "ratify migrate --from SOURCE --to TARGET";

/* ratify migrate: the source read in one snapshot, copied into a new, empty
 * target in one transaction, every table counted and summed on both
 * sides (copy.c). */
static Result migrate_cmd(Options *o, int argc, char **argv)
{
    (void)o;
    const char *from = NULL, *to = NULL;
    for (int i = 0; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--from") && !from)
            from = argv[i + 1];
        else if (!strcmp(argv[i], "--to") && !to)
            to = argv[i + 1];
        else
            from = to = NULL, argc = 0;
    }
    if (!from || !to || argc != 4 || !*from || !*to) {
        fprintf(stderr, "usage: %s\n", MIGRATE_USAGE);
        return R_BAD_REQUEST;
    }
    if (!strcmp(from, to)) {
        fprintf(stderr, "ratify: the source and the target are the same database\n");
        return R_BAD_REQUEST;
    }
    char from_buf[1024], to_buf[1024];
    const char *from_name = db_target_shown(from, from_buf, sizeof from_buf);
    const char *to_name = db_target_shown(to, to_buf, sizeof to_buf);
    Db *source = db_open_existing(from);
    if (!source)
        return R_NOT_FOUND;
    Db *target = db_open(to);
    if (!target) {
        db_close(source);
        return R_INTERNAL;
    }
    printf("Copying %s (%s) into %s (%s).\n", from_name, db_engine_name(source), to_name,
           db_engine_name(target));
    DbCopyReport rep = {0};
    Result r = db_copy_tables(target, source, 0, &rep);
    print_copy_report(&rep);
    if (r == R_OK)
        printf("Copied %d tables, %lld rows, schema version %d: every count and checksum "
               "matches.\n",
               rep.count, (long long)rep.rows, db_schema_version(target));
    else
        fprintf(stderr, "ratify: nothing was copied into %s\n", to_name);
    db_copy_report_free(&rep);
    db_close(target);
    db_close(source);
    return r;
}

static Result user_cmd(Options *o, int argc, char **argv)
{
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    r = account_user_cmd(db, argc, argv, base_url(o));
    db_close(db);
    return r;
}

static Result import_cmd(Options *o, int argc, char **argv)
{
    int members = argc >= 1 && strcmp(argv[0], "members") == 0;
    int upr = argc >= 1 && strcmp(argv[0], "upr") == 0;
    if (argc < 1 || (strcmp(argv[0], "treaty-status") != 0 && !members && !upr)) {
        fprintf(stderr, "usage: ratify import treaty-status FILE [--instrument SLUG] [--apply]\n"
                        "       ratify import members FILE.csv [--apply] ...\n"
                        "       ratify import upr FILE.csv [--apply]\n");
        return R_BAD_REQUEST;
    }
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    r = members ? member_import_cmd(db, argc - 1, argv + 1)
        : upr   ? upr_import_cmd(db, argc - 1, argv + 1)
                : treaty_import_cmd(db, argc - 1, argv + 1);
    db_close(db);
    return r;
}

static Result untc_cmd(Options *o, int argc, char **argv)
{
    Db *db;
    Result r = open_db(o, &db);
    if (r == R_OK)
        r = untc_check_cmd(db, argc, argv, base_url(o));
    db_close(db);
    return r;
}

static Result export_cmd(Options *o, int argc, char **argv)
{
    if (argc < 1 || strcmp(argv[0], "members") != 0) {
        fprintf(stderr, "usage: ratify export members [--format csv|xlsx] [--out FILE]\n");
        return R_BAD_REQUEST;
    }
    Db *db;
    Result r = open_db(o, &db);
    if (r != R_OK)
        return r;
    r = member_export_cmd(db, argc - 1, argv + 1);
    db_close(db);
    return r;
}

static Result version_cmd(Options *o, int argc, char **argv)
{
    (void)o;
    (void)argc;
    (void)argv;
    printf("ratify %s (%s, libsodium %s)\n", RATIFY_VERSION, db_engine_version(),
           sodium_version_string());
    return R_OK;
}

static Result help_cmd(Options *o, int argc, char **argv)
{
    (void)o;
    if (argc == 1 && !strcmp(argv[0], "routes"))
        router_print(stdout);
    else
        usage(stdout);
    return R_OK;
}

static Result housekeeping_cmd(Options *o, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    Db *db;
    Result r = open_db(o, &db);
    if (r == R_OK)
        r = housekeeping_run(db, base_url(o), hourly_jobs);
    db_close(db);
    return r;
}

static Result token_cmd(Options *o, int argc, char **argv)
{
    Db *db;
    Result r = open_db(o, &db);
    if (r == R_OK)
        r = api_token_cmd(db, argc, argv);
    db_close(db);
    return r;
}

static Result mail_cmd(Options *o, int argc, char **argv)
{
    Db *db;
    Result r = open_db(o, &db);
    if (r == R_OK)
        r = outbox_cmd(db, argc, argv);
    db_close(db);
    return r;
}

/* Every command: its name, whether it takes arguments after the shared
 * options, and the function that runs it. */
typedef struct {
    const char *name;
    int takes_arguments;
    Result (*run)(Options *o, int argc, char **argv);
} Command;

static const Command commands[] = {
    {"serve", 0, serve_cmd},
    {"init", 1, init_cmd},
    {"user", 1, user_cmd},
    {"housekeeping", 0, housekeeping_cmd},
    {"token", 1, token_cmd},
    {"mail", 1, mail_cmd},
    {"import", 1, import_cmd},
    {"export", 1, export_cmd},
    {"backup", 1, backup_cmd},
    {"backup-key", 1, backup_key_cmd},
    {"restore", 1, restore_cmd},
    {"check", 0, check_cmd},
    {"migrate", 1, migrate_cmd},
    {"version", 0, version_cmd},
    {"untc", 1, untc_cmd},
    {"help", 1, help_cmd},
    {"--help", 1, help_cmd},
    {"-h", 1, help_cmd},
    {NULL, 0, NULL},
};

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
    /* Off unless asked for: the check fetches from the internet. */
    untc_check_set_daily(getenv("RATIFY_UNTC_CHECK") &&
                         !strcmp(getenv("RATIFY_UNTC_CHECK"), "daily"));
    if (argc < 2) {
        usage(stderr);
        return R_BAD_REQUEST;
    }
    const char *cmd = argv[1];
    argc -= 2;
    argv += 2;
    if (parse_options(&argc, argv, &o) != R_OK)
        return R_BAD_REQUEST;
    for (const Command *c = commands; c->name; c++)
        if (!strcmp(cmd, c->name) && (c->takes_arguments || argc == 0))
            return c->run(&o, argc, argv);
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
