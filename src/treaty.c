/*
 * treaty.c: instruments, treaty actions, the status derived from them, the
 * ask, and loading of the depositary records shipped in data/.
 *
 * Invariant: status is never stored. It is folded from the actions, in
 * date order, every time it is needed, so a corrected action corrects
 * every page at once.
 */
#include "treaty.h"

#include <stdio.h>
#include <string.h>

#include "assets.h"
#include "csv.h"

static void copy_date(char dst[11], const char *src)
{
    snprintf(dst, 11, "%s", src);
}

void treaty_apply_action(Standing *s, const char *kind, const char *article, const char *date)
{
    if (strcmp(kind, "signature") == 0) {
        copy_date(s->signature_date, date);
        if (s->status == STATUS_NONE)
            s->status = STATUS_SIGNATORY;
    } else if (!strcmp(kind, "ratification") || !strcmp(kind, "accession") ||
               !strcmp(kind, "succession")) {
        copy_date(s->party_date, date);
        snprintf(s->party_kind, sizeof s->party_kind, "%s", kind);
        s->status = STATUS_PARTY;
        s->withdrawn = 0;
    } else if (strcmp(kind, "declaration") == 0 && article && *article) {
        size_t n = strlen(s->declared);
        if (n + strlen(article) + 2 < sizeof s->declared)
            snprintf(s->declared + n, sizeof s->declared - n, "%s%s", n ? " " : "", article);
    } else if (strcmp(kind, "withdrawal") == 0) {
        /* A denunciation ends participation; the signature stays history. */
        s->status = STATUS_NONE;
        s->withdrawn = 1;
        s->declared[0] = 0;
    }
}

/* 1 if every article in the space-separated list wanted is in have. */
static int declared_all(const char *wanted, const char *have)
{
    char list[64];
    snprintf(list, sizeof list, "%s", wanted);
    for (char *save = NULL, *a = strtok_r(list, " ", &save); a; a = strtok_r(NULL, " ", &save)) {
        int found = 0;
        char copy[64];
        snprintf(copy, sizeof copy, "%s", have);
        for (char *s2 = NULL, *b = strtok_r(copy, " ", &s2); b; b = strtok_r(NULL, " ", &s2))
            found |= strcmp(a, b) == 0;
        if (!found)
            return 0;
    }
    return 1;
}

Ask treaty_ask(const Standing *protocol, const Standing *covenant, const char *opt_in_articles)
{
    if (protocol->status == STATUS_PARTY)
        return declared_all(opt_in_articles ? opt_in_articles : "", protocol->declared)
                   ? ASK_IMPLEMENT
                   : ASK_DECLARE;
    /* The Protocol is open to signature by states that signed the Covenant
     * and to ratification by its parties (OP-ICESCR art. 17). */
    if (covenant && covenant->status == STATUS_NONE)
        return ASK_JOIN_COVENANT;
    if (covenant && covenant->status == STATUS_SIGNATORY)
        return protocol->status == STATUS_SIGNATORY ? ASK_RATIFY_COVENANT_FIRST
                                                    : ASK_RATIFY_COVENANT_SIGN;
    return protocol->status == STATUS_SIGNATORY ? ASK_RATIFY : ASK_SIGN_AND_RATIFY;
}

const char *treaty_ask_code(Ask ask)
{
    static const char *const codes[] = {
        "join_covenant",
        "ratify_covenant_and_sign",
        "ratify_covenant_first",
        "sign_and_ratify",
        "ratify",
        "declare",
        "implement",
    };
    return codes[ask];
}

const char *treaty_ask_text(Ask ask)
{
    switch (ask) {
    case ASK_JOIN_COVENANT:
        return N_("Join the International Covenant on Economic, Social and Cultural Rights, "
                  "which the Optional Protocol requires, then sign and ratify the Protocol.");
    case ASK_RATIFY_COVENANT_SIGN:
        return N_("Sign the Optional Protocol now, and ratify the Covenant so that the "
                  "Protocol can then be ratified.");
    case ASK_RATIFY_COVENANT_FIRST:
        return N_("Ratify the Covenant, which the Protocol requires, and then ratify the "
                  "Optional Protocol it has already signed.");
    case ASK_SIGN_AND_RATIFY:
        return N_("Sign and ratify the Optional Protocol.");
    case ASK_RATIFY:
        return N_("Ratify the Optional Protocol, which it has already signed.");
    case ASK_DECLARE:
        return N_("Accept the inter-State communications (article 10) and inquiry (article 11) "
                  "procedures by declaration, if it has not yet done so; implement the "
                  "Protocol and encourage other states to join it.");
    case ASK_IMPLEMENT:
        break;
    }
    return N_("Implement the Protocol and encourage other states to join it, as a Friend of "
              "the Protocol.");
}

const char *treaty_status_code(TreatyStatus s)
{
    return s == STATUS_PARTY ? "party" : s == STATUS_SIGNATORY ? "signatory" : "none";
}

Standing treaty_standing(Db *db, int64_t instrument_id, const char *iso3)
{
    Standing s = {0};
    sqlite3_stmt *st = db_prepare(db, "SELECT kind, article, action_date FROM treaty_actions "
                                      "WHERE instrument_id = :id AND iso3 = :iso3 "
                                      "ORDER BY action_date, id");
    db_bind_int(st, ":id", instrument_id);
    db_bind_text(st, ":iso3", iso3);
    while (db_step(st) == SQLITE_ROW)
        treaty_apply_action(&s, db_text(st, 0), db_text(st, 1), db_text(st, 2));
    db_done(st);
    return s;
}

Result treaty_find(Db *db, const char *slug, int64_t *id, int64_t *parent_id)
{
    sqlite3_stmt *st =
        db_prepare(db, "SELECT id, coalesce(parent_id, 0) FROM instruments WHERE slug = :slug");
    db_bind_text(st, ":slug", slug);
    Result r = R_NOT_FOUND;
    if (db_step(st) == SQLITE_ROW) {
        *id = db_int(st, 0);
        *parent_id = db_int(st, 1);
        r = R_OK;
    }
    db_done(st);
    return r;
}

static int insert_action(Db *db, int64_t instrument, const char *iso3, const char *kind,
                         const char *date, const char *source)
{
    sqlite3_stmt *st = db_prepare(
        db, "INSERT INTO treaty_actions (instrument_id, iso3, kind, action_date, source_url, "
            "recorded_at) VALUES (:instrument, :iso3, :kind, :date, :source, :now)");
    db_bind_int(st, ":instrument", instrument);
    db_bind_text(st, ":iso3", iso3);
    db_bind_text(st, ":kind", kind);
    db_bind_text(st, ":date", date);
    db_bind_text(st, ":source", source);
    db_bind_int(st, ":now", now_seconds());
    int rc = db_step(st);
    db_done(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Loads one shipped status file (columns iso3, state, signature_date,
 * ratification_date, action_type, source) into the instrument. */
static Result load_status_file(Db *db, int64_t instrument, const char *path)
{
    const Asset *a = asset_find(path);
    if (!a) {
        fprintf(stderr, "ratify: %s is not in the binary\n", path);
        return R_INTERNAL;
    }
    CsvReader csv;
    csv_open(&csv, (const char *)a->data, a->len);
    Result r = R_INTERNAL;
    if (csv_next(&csv) != 1)
        goto done;
    int c_iso3 = csv_column(&csv, "iso3"), c_sig = csv_column(&csv, "signature_date"),
        c_party = csv_column(&csv, "ratification_date"), c_type = csv_column(&csv, "action_type"),
        c_src = csv_column(&csv, "source");
    if (c_iso3 < 0 || c_sig < 0 || c_party < 0 || c_type < 0 || c_src < 0) {
        fprintf(stderr, "ratify: %s: missing columns\n", path);
        goto done;
    }
    int rc;
    while ((rc = csv_next(&csv)) == 1) {
        int need = c_src + 1;
        if ((int)csv.count < need) {
            fprintf(stderr, "ratify: %s:%zu: too few fields\n", path, csv.line);
            goto done;
        }
        const char *iso3 = csv.fields[c_iso3], *type = csv.fields[c_type];
        const char *src = csv.fields[c_src];
        if (*csv.fields[c_sig] &&
            insert_action(db, instrument, iso3, "signature", csv.fields[c_sig], src) != 0)
            goto row_failed;
        if (strcmp(type, "signature_only") != 0 &&
            insert_action(db, instrument, iso3, type, csv.fields[c_party], src) != 0)
            goto row_failed;
        continue;
    row_failed:
        fprintf(stderr, "ratify: %s:%zu: cannot record the actions of %s\n", path, csv.line, iso3);
        goto done;
    }
    if (rc < 0) {
        fprintf(stderr, "ratify: %s:%zu: %s\n", path, csv.line, csv.error);
        goto done;
    }
    r = R_OK;
done:
    csv_free(&csv);
    return r;
}

static int has_actions(Db *db, int64_t instrument)
{
    sqlite3_stmt *st =
        db_prepare(db, "SELECT 1 FROM treaty_actions WHERE instrument_id = :id LIMIT 1");
    db_bind_int(st, ":id", instrument);
    int found = db_step(st) == SQLITE_ROW;
    db_done(st);
    return found;
}

Result treaty_seed(Db *db)
{
    static const struct {
        int64_t instrument;
        const char *path, *as_of;
    } files[] = {
        {1, "data/icescr-status.csv", "2026-02-03"},
        {2, "data/op-icescr-status.csv", "2026-02-03"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        if (has_actions(db, files[i].instrument))
            continue;
        if (db_begin(db) != R_OK)
            return R_INTERNAL;
        Result r = load_status_file(db, files[i].instrument, files[i].path);
        if (r == R_OK) {
            sqlite3_stmt *st =
                db_prepare(db, "UPDATE instruments SET status_as_of = :date WHERE id = :id");
            db_bind_text(st, ":date", files[i].as_of);
            db_bind_int(st, ":id", files[i].instrument);
            r = db_step(st) == SQLITE_DONE ? R_OK : R_INTERNAL;
            db_done(st);
        }
        if (r != R_OK) {
            db_rollback(db);
            return r;
        }
        if (db_commit(db) != R_OK)
            return R_INTERNAL;
    }
    return R_OK;
}
