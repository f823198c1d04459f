/*
 * member_export.h: members out, in bulk: `ratify export members` and the
 * admin pages /admin/members/export (CSV and XLSX downloads).
 */
#ifndef RATIFY_MEMBER_EXPORT_H
#define RATIFY_MEMBER_EXPORT_H

#include "feat/member_io.h"

/* Writes every membership as CSV (header: the field names) to out: one row
 * per membership with the person, organisation, country, kind, status,
 * languages, listing, consent to updates and date created, every cell
 * through escape_csv. Returns the number of rows. */
int64_t member_export_csv(Db *db, Buf *out);

/* The same as an XLSX workbook at path, every cell a string (never a
 * formula) neutralised like escape_csv's. Returns the number of rows, or
 * -1 with the reason on stderr. */
int64_t member_export_xlsx(Db *db, const char *path);

/* `ratify export members [--format csv|xlsx] [--out FILE]`. */
Result member_export_cmd(Db *db, int argc, char **argv);

#endif
