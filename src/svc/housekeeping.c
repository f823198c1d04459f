/*
 * housekeeping.c: what the server does by itself, hourly, on a connection
 * of its own: remind the authors of unanswered letters, and delete what no
 * longer serves anyone (expired sessions, used or expired login and
 * confirmation tokens, half-logins, old rate-limit counters, records of reads
 * older than a year), so that a copy of the database holds as little as
 * possible. Each table is cleaned by the file that owns it: the svc ones
 * (auth.c, audit.c) from cleanup_apply, the features' through the hourly
 * jobs main.c hands over.
 */
#include "svc/housekeeping.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "svc/audit.h"
#include "svc/auth.h"

enum { HOUSEKEEPING_PERIOD = 3600 };
static const char HOURLY_LOCK[] = "ratify hourly jobs";

static pthread_t thread;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;
static int running, stopping;
static char *db_path, *base_url;
static const HourlyJob *hourly_jobs;

/* Deletes what can never be used again, in one transaction. The svc
 * tables are cleaned through their owners here; the features' tables are
 * cleaned by their own hourly jobs, listed in main.c's hourly_jobs
 * (pending logins, confirmation links, invitations, rate-limit counters),
 * since this file may not call a
 * feature. */
static Result cleanup_apply(Db *w, void *ctx)
{
    int64_t now = *(const int64_t *)ctx;
    int ok = auth_expire(w, now) == R_OK;
    ok &= audit_expire_reads(w, now) == R_OK;
    return ok ? R_OK : R_INTERNAL;
}

Result housekeeping_run(Db *db, const char *url, const HourlyJob *jobs)
{
    int64_t now = now_seconds();
    Result r = db_write(db, cleanup_apply, &now);
    for (const HourlyJob *job = jobs; job && *job; job++)
        if ((*job)(db, url) != R_OK)
            r = R_INTERNAL;
    return r;
}

/* When the last pass was done, by any node: 0 for never. */
static int64_t last_pass(Db *db)
{
    Stmt *st = db_prepare(db, "SELECT last_at FROM hourly_runs WHERE name = 'housekeeping'");
    int64_t at = db_row(st) ? db_int(st, 0) : 0;
    db_done(st);
    return at;
}

static Result record_pass_apply(Db *w, void *ctx)
{
    Stmt *st = db_prepare(w, "INSERT INTO hourly_runs (name, last_at) VALUES ('housekeeping', :at) "
                             "ON CONFLICT (name) DO UPDATE SET last_at = excluded.last_at");
    db_bind_int(st, ":at", *(const int64_t *)ctx);
    return db_run(st);
}

/* With several nodes on one PostgreSQL database, one pass an hour for all
 * of them: the node that holds the lock runs it, unless another node did
 * within the hour (a minute of slack for timers that drift). */
static void run_on_one_node(Db *db)
{
    if (!db_try_lock(db, HOURLY_LOCK)) {
        log_info("housekeeping: another node is running the hourly jobs");
        return;
    }
    int64_t now = now_seconds(), last = last_pass(db);
    if (last && last <= now && now - last < HOUSEKEEPING_PERIOD - 60) {
        log_info("housekeeping: done %llds ago, by this or another node", (long long)(now - last));
    } else if (housekeeping_run(db, base_url, hourly_jobs) != R_OK) {
        log_info("housekeeping: a pass failed; the next one retries");
    } else {
        db_write(db, record_pass_apply, &now);
        log_info("housekeeping: pass done");
    }
    db_unlock(db, HOURLY_LOCK);
}

static void *loop(void *unused)
{
    (void)unused;
    Db *db = db_open_existing(db_path);
    pthread_mutex_lock(&lock);
    while (!stopping) {
        pthread_mutex_unlock(&lock);
        if (db)
            run_on_one_node(db);
        pthread_mutex_lock(&lock);
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += HOUSEKEEPING_PERIOD;
        while (!stopping && pthread_cond_timedwait(&wake, &lock, &until) == 0)
            ;
    }
    pthread_mutex_unlock(&lock);
    db_close(db);
    return NULL;
}

int housekeeping_start(const char *path, const char *url, const HourlyJob *jobs)
{
    hourly_jobs = jobs;
    if (running)
        return -1;
    db_path = xstrdup(path);
    base_url = xstrdup(url ? url : "");
    stopping = 0;
    if (pthread_create(&thread, NULL, loop, NULL) != 0) {
        free(db_path);
        free(base_url);
        return -1;
    }
    running = 1;
    return 0;
}

void housekeeping_stop(void)
{
    if (!running)
        return;
    pthread_mutex_lock(&lock);
    stopping = 1;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    pthread_join(thread, NULL);
    free(db_path);
    free(base_url);
    running = 0;
}
