/*
 * tz.h: IANA time zones without touching the process's TZ.
 *
 * The server is multi-threaded, and setenv("TZ") + localtime_r is not
 * thread-safe, so Ratify reads the zone's TZif file (RFC 8536) under the
 * zoneinfo directory itself: its transitions, and for times after the
 * last one the POSIX TZ rule in the file's footer (M, J and plain-day
 * rules). Events are stored as UTC seconds plus the zone's name; these
 * functions turn one into a wall-clock time and back.
 */
#ifndef RATIFY_TZ_H
#define RATIFY_TZ_H

#include <stdint.h>

#include "base/util.h"

enum { TZ_NAME_MAX = 64 };

/* The directory the zone files are read from: /usr/share/zoneinfo, or
 * RATIFY_ZONEINFO's value when set (read once). */
const char *tz_dir(void);

/* 1 when name is a zone Ratify accepts: 1 to TZ_NAME_MAX characters of
 * A-Z a-z 0-9 / _ + -, no empty segment and none starting with '.' (so no
 * path leaves the directory), and a readable TZif file under tz_dir(). */
int tz_valid(const char *name);

/* The offset from UTC in seconds (east positive) in zone at the instant
 * utc, and its abbreviation ("CET", "-03") into abbr (16 bytes, may be
 * NULL). Returns R_OK, or R_NOT_FOUND for a zone that is not tz_valid(). */
Result tz_offset(const char *zone, int64_t utc, int *offset, char *abbr);

/* The UTC instant of the wall-clock time year-month-day hour:minute in
 * zone. A time skipped by a clock change (spring forward) is read with the
 * offset before the change (02:30 in a 02:00 -> 03:00 gap is 03:30); a
 * repeated one (fall back) is its first occurrence. Returns R_OK,
 * R_BAD_REQUEST for an impossible date or time, R_NOT_FOUND for an
 * unknown zone. */
Result tz_local_to_utc(const char *zone, int year, int month, int day, int hour, int minute,
                       int64_t *utc);

/* The wall-clock time in zone at utc as strftime's fmt into out ("" when
 * the zone is unknown). %Z gives the zone's abbreviation. */
void tz_format(const char *zone, int64_t utc, const char *fmt, char *out, size_t size)
    __attribute__((format(strftime, 3, 0)));

#endif
