/*
 * ical.h: writing iCalendar (RFC 5545): content lines ended by CRLF and
 * folded at 75 octets (never inside a UTF-8 character), TEXT values with
 * backslash, comma, semicolon and newlines escaped, and times in UTC
 * ("19970714T173000Z"), which needs no VTIMEZONE.
 */
#ifndef RATIFY_ICAL_H
#define RATIFY_ICAL_H

#include <stdint.h>

#include "base/util.h"

/* Appends the content line "name:value" (value already in its final
 * form), folded and ended with CRLF. Names are written in upper case
 * ("begin" gives "BEGIN:"). */
void ical_line(Buf *out, const char *name, const char *value);

/* Appends a TEXT property: value escaped (RFC 5545 3.3.11), control
 * characters other than newline dropped, then folded. */
void ical_text(Buf *out, const char *name, const char *value);

/* Appends a DATE-TIME property in UTC: "DTSTART:20260105T090000Z". */
void ical_utc(Buf *out, const char *name, int64_t t);

#endif
