/*
 * tz.c: IANA time zones read from TZif files (see tz.h).
 *
 * Invariants: a zone name never leaves tz_dir() (checked character by
 * character before any file is opened); nothing here reads or writes the
 * process's TZ or calls localtime; a file that does not parse is an
 * unknown zone, never a crash (bounds are checked on every read).
 */
#include "base/tz.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

enum {
    TZ_FILE_MAX = 256 * 1024, /* the largest zone file is about 4 KiB */
    TZ_TYPES_MAX = 256,
    TZ_RULE_MAX = 128,
};

static pthread_once_t dir_once = PTHREAD_ONCE_INIT;
static const char *zone_dir = "/usr/share/zoneinfo";

static void dir_init(void)
{
    const char *env = getenv("RATIFY_ZONEINFO");
    if (env && *env)
        zone_dir = env;
}

const char *tz_dir(void)
{
    pthread_once(&dir_once, dir_init);
    return zone_dir;
}

/* The name's characters and segments: nothing that could climb out. */
static int name_is_safe(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > TZ_NAME_MAX)
        return 0;
    int segment_start = 1;
    for (const char *p = name; *p; p++) {
        char c = *p;
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '/' || c == '_' || c == '+' || c == '-';
        if (c == '.' && !segment_start)
            ok = 1; /* never at a segment's start: no "..", no hidden files */
        if (!ok || (c == '/' && segment_start))
            return 0;
        segment_start = c == '/';
    }
    return !segment_start;
}

/* ---- the file ---- */

typedef struct {
    int64_t *times; /* transition instants, ascending */
    uint8_t *idx;   /* the type after each transition */
    size_t count;   /* transitions */
    int32_t offs[TZ_TYPES_MAX];
    uint8_t abbr_at[TZ_TYPES_MAX];
    size_t types;
    char abbrs[256];
    char rule[TZ_RULE_MAX]; /* the footer's POSIX TZ string, or "" */
} Zone;

static void zone_free(Zone *z)
{
    free(z->times);
    free(z->idx);
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* Reads the file into a malloc'd buffer (the caller frees it). */
static unsigned char *read_zone_file(const char *name, size_t *len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", tz_dir(), name);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode) || sb.st_size < 44 || sb.st_size > TZ_FILE_MAX)
        return NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *data = xmalloc((size_t)sb.st_size);
    *len = fread(data, 1, (size_t)sb.st_size, f);
    fclose(f);
    return data;
}

/* Parses one data block (v1 with 4-byte times, v2+ with 8-byte) starting
 * at data[at] into z; *end is where the block ends. Returns 0 if bad. */
static int parse_block(const unsigned char *data, size_t len, size_t at, int wide, Zone *z,
                       size_t *end)
{
    if (at + 44 > len || memcmp(data + at, "TZif", 4) != 0)
        return 0;
    const unsigned char *h = data + at + 20;
    size_t isut = be32(h), isstd = be32(h + 4), leap = be32(h + 8), timecnt = be32(h + 12),
           typecnt = be32(h + 16), charcnt = be32(h + 20);
    size_t tsize = wide ? 8 : 4;
    if (typecnt == 0 || typecnt > TZ_TYPES_MAX || charcnt > sizeof z->abbrs - 1 ||
        timecnt > TZ_FILE_MAX)
        return 0;
    size_t need =
        timecnt * tsize + timecnt + typecnt * 6 + charcnt + leap * (tsize + 4) + isstd + isut;
    size_t p = at + 44;
    if (p + need > len)
        return 0;
    z->times = xcalloc(timecnt ? timecnt : 1, sizeof *z->times);
    z->idx = xcalloc(timecnt ? timecnt : 1, 1);
    z->count = timecnt;
    for (size_t i = 0; i < timecnt; i++)
        z->times[i] = wide ? be64(data + p + i * 8) : (int32_t)be32(data + p + i * 4);
    p += timecnt * tsize;
    for (size_t i = 0; i < timecnt; i++) {
        z->idx[i] = data[p + i];
        if (z->idx[i] >= typecnt)
            return 0;
    }
    p += timecnt;
    z->types = typecnt;
    for (size_t i = 0; i < typecnt; i++) {
        z->offs[i] = (int32_t)be32(data + p + i * 6);
        z->abbr_at[i] = data[p + i * 6 + 5];
        if (z->abbr_at[i] >= charcnt)
            return 0;
    }
    p += typecnt * 6;
    memcpy(z->abbrs, data + p, charcnt);
    z->abbrs[charcnt] = 0;
    p += charcnt + leap * (tsize + 4) + isstd + isut;
    *end = p;
    return 1;
}

/* Loads zone name into z. Returns 0 for an unknown or unreadable zone. */
static int zone_load(const char *name, Zone *z)
{
    memset(z, 0, sizeof *z);
    if (!name || !name_is_safe(name))
        return 0;
    size_t len = 0, end = 0;
    unsigned char *data = read_zone_file(name, &len);
    if (!data)
        return 0;
    int ok = len >= 44 && memcmp(data, "TZif", 4) == 0;
    int version = ok ? data[4] : 0;
    if (ok)
        ok = parse_block(data, len, 0, 0, z, &end);
    if (ok && version >= '2') {
        zone_free(z);
        memset(z, 0, sizeof *z);
        ok = parse_block(data, len, end, 1, z, &end);
        /* The footer: "\n" rule "\n". */
        if (ok && end < len && data[end] == '\n') {
            const unsigned char *nl = memchr(data + end + 1, '\n', len - end - 1);
            size_t n = nl ? (size_t)(nl - data - end - 1) : 0;
            if (nl && n < sizeof z->rule) {
                memcpy(z->rule, data + end + 1, n);
                z->rule[n] = 0;
            }
        }
    }
    free(data);
    if (!ok)
        zone_free(z);
    return ok;
}

/* ---- the POSIX TZ rule (footer) ---- */

typedef struct {
    char kind; /* 'M', 'J' (1..365, no Feb 29) or 'D' (0..365) */
    int month, week, wday, day;
    int time; /* seconds after local midnight; may be negative or > 24 h */
} RulePoint;

typedef struct {
    int std_off, dst_off; /* seconds east of UTC */
    char std_abbr[16], dst_abbr[16];
    int has_dst;
    RulePoint start, end;
} Rule;

static const char *parse_abbr(const char *p, char *out)
{
    size_t n = 0;
    if (*p == '<') {
        p++;
        while (*p && *p != '>' && n < 15)
            out[n++] = *p++;
        if (*p != '>')
            return NULL;
        p++;
    } else {
        while (((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z')) && n < 15)
            out[n++] = *p++;
    }
    out[n] = 0;
    return n >= 3 ? p : NULL;
}

/* [+-]hh[:mm[:ss]] into seconds. */
static const char *parse_hms(const char *p, int *out)
{
    int sign = 1;
    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    if (*p < '0' || *p > '9')
        return NULL;
    int part[3] = {0, 0, 0};
    for (int i = 0; i < 3; i++) {
        int v = 0, digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 3)
            v = v * 10 + (*p++ - '0'), digits++;
        part[i] = v;
        if (*p != ':' || i == 2)
            break;
        p++;
    }
    *out = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return p;
}

static const char *parse_point(const char *p, RulePoint *pt)
{
    char *endp;
    if (*p == 'M') {
        pt->kind = 'M';
        pt->month = (int)strtol(p + 1, &endp, 10);
        if (*endp != '.')
            return NULL;
        pt->week = (int)strtol(endp + 1, &endp, 10);
        if (*endp != '.')
            return NULL;
        pt->wday = (int)strtol(endp + 1, &endp, 10);
        if (pt->month < 1 || pt->month > 12 || pt->week < 1 || pt->week > 5 || pt->wday < 0 ||
            pt->wday > 6)
            return NULL;
    } else {
        pt->kind = *p == 'J' ? 'J' : 'D';
        pt->day = (int)strtol(p + (*p == 'J'), &endp, 10);
        if (endp == p + (*p == 'J') || pt->day < 0 || pt->day > 365)
            return NULL;
    }
    p = endp;
    pt->time = 7200;
    if (*p == '/')
        p = parse_hms(p + 1, &pt->time);
    return p;
}

static int parse_rule(const char *s, Rule *r)
{
    memset(r, 0, sizeof *r);
    const char *p = parse_abbr(s, r->std_abbr);
    int v;
    if (!p || !(p = parse_hms(p, &v)))
        return 0;
    r->std_off = -v; /* POSIX counts west positive */
    if (!*p)
        return 1;
    if (!(p = parse_abbr(p, r->dst_abbr)))
        return 0;
    r->has_dst = 1;
    r->dst_off = r->std_off + 3600;
    if (*p && *p != ',') {
        if (!(p = parse_hms(p, &v)))
            return 0;
        r->dst_off = -v;
    }
    if (*p != ',' || !(p = parse_point(p + 1, &r->start)) || *p != ',' ||
        !(p = parse_point(p + 1, &r->end)))
        return 0;
    return *p == 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int is_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int64_t y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && is_leap(y) ? 29 : days[m - 1];
}

/* The year of a day count since 1970-01-01. */
static int64_t year_of_days(int64_t days)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t m = mp < 10 ? mp + 3 : mp - 9;
    return yoe + era * 400 + (m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Local seconds (as if UTC) of the rule point in year y. */
static int64_t point_local(int64_t y, const RulePoint *pt)
{
    int64_t day;
    if (pt->kind == 'M') {
        int64_t first = days_from_civil(y, pt->month, 1);
        int wday_first = (int)((first % 7 + 11) % 7); /* 1970-01-01 was a Thursday (4) */
        int d = 1 + (pt->wday - wday_first + 7) % 7 + (pt->week - 1) * 7;
        if (d > month_days(y, pt->month))
            d -= 7;
        day = first + d - 1;
    } else if (pt->kind == 'J') {
        day = days_from_civil(y, 1, 1) + pt->day - 1;
        if (is_leap(y) && pt->day >= 60)
            day++;
    } else {
        day = days_from_civil(y, 1, 1) + pt->day;
    }
    return day * 86400 + pt->time;
}

static void rule_at(const Rule *r, int64_t utc, int *offset, char *abbr)
{
    int dst = 0;
    if (r->has_dst) {
        int64_t y = year_of_days(floor_div(utc + r->std_off, 86400));
        int64_t start = point_local(y, &r->start) - r->std_off;
        int64_t end = point_local(y, &r->end) - r->dst_off;
        dst = start < end ? (utc >= start && utc < end) : (utc < end || utc >= start);
    }
    *offset = dst ? r->dst_off : r->std_off;
    if (abbr)
        snprintf(abbr, 16, "%s", dst ? r->dst_abbr : r->std_abbr);
}

/* ---- the answers ---- */

static void zone_at(const Zone *z, int64_t utc, int *offset, char *abbr)
{
    Rule rule;
    if ((z->count == 0 || utc >= z->times[z->count - 1]) && z->rule[0] &&
        parse_rule(z->rule, &rule)) {
        rule_at(&rule, utc, offset, abbr);
        return;
    }
    size_t type = 0;
    if (z->count > 0 && utc >= z->times[0]) {
        size_t lo = 0, hi = z->count; /* times[lo] <= utc < times[hi] */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (z->times[mid] <= utc)
                lo = mid;
            else
                hi = mid;
        }
        type = z->idx[lo];
    }
    *offset = z->offs[type];
    if (abbr)
        snprintf(abbr, 16, "%s", z->abbrs + z->abbr_at[type]);
}

int tz_valid(const char *name)
{
    Zone z;
    if (!zone_load(name, &z))
        return 0;
    zone_free(&z);
    return 1;
}

Result tz_offset(const char *zone, int64_t utc, int *offset, char *abbr)
{
    Zone z;
    if (!zone_load(zone, &z))
        return R_NOT_FOUND;
    zone_at(&z, utc, offset, abbr);
    zone_free(&z);
    return R_OK;
}

Result tz_local_to_utc(const char *zone, int year, int month, int day, int hour, int minute,
                       int64_t *utc)
{
    if (year < 1900 || year > 2200 || month < 1 || month > 12 || day < 1 ||
        day > month_days(year, month) || hour < 0 || hour > 23 || minute < 0 || minute > 59)
        return R_BAD_REQUEST;
    Zone z;
    if (!zone_load(zone, &z))
        return R_NOT_FOUND;
    int64_t local = days_from_civil(year, month, day) * 86400 + hour * 3600 + minute * 60;
    /* The offset in force an offset-width before, then check it holds. */
    int before, after;
    zone_at(&z, local - 86400, &before, NULL);
    int64_t guess = local - before;
    zone_at(&z, guess, &after, NULL);
    if (after != before) {
        int64_t second = local - after;
        int check;
        zone_at(&z, second, &check, NULL);
        /* In a gap neither reading holds: keep the offset from before. */
        guess = check == after ? second : guess;
    }
    zone_free(&z);
    *utc = guess;
    return R_OK;
}

/* Callers pass literal formats (tz.h): the check happens there. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
void tz_format(const char *zone, int64_t utc, const char *fmt, char *out, size_t size)
{
    int offset;
    char abbr[16];
    if (size == 0)
        return;
    out[0] = 0;
    if (tz_offset(zone, utc, &offset, abbr) != R_OK)
        return;
    time_t t = (time_t)(utc + offset);
    struct tm tm;
    if (!gmtime_r(&t, &tm))
        return;
    tm.tm_gmtoff = offset;
    tm.tm_zone = abbr;
    if (strftime(out, size, fmt, &tm) == 0)
        out[0] = 0;
}
#pragma GCC diagnostic pop
