/*
 * country_name.c: a country's name in the page's language, read from
 * country_names (schema/011_country_names.sql, written by country.c).
 *
 * It is a file of its own, below every feature that shows a country,
 * because country.c stands on coalition.c and letter.c (the country page
 * shows both): a helper there could not be called from them without a
 * circle. Queries that list many countries, or join a country to other
 * rows, use the same shape in their own SQL:
 *
 *     LEFT JOIN country_names n ON n.iso3 = c.iso3 AND n.lang = :lang
 *     JOIN country_names e ON e.iso3 = c.iso3 AND e.lang = 'en'
 *     ... coalesce(n.name, e.name)
 *
 * Invariant: a language without a name for a country falls back to the
 * English name, never to nothing.
 */
#include "feat/country_name.h"

const char *country_name_of(Request *r, const char *iso3)
{
    return country_name_in(r, iso3, r->lang);
}

const char *country_name_in(Request *r, const char *iso3, const char *lang)
{
    if (!iso3 || !valid_iso3(iso3))
        return NULL;
    Stmt *st = db_prepare(r->db, "SELECT coalesce(n.name, e.name) FROM country_names e "
                                 "LEFT JOIN country_names n ON n.iso3 = e.iso3 AND n.lang = :lang "
                                 "WHERE e.iso3 = :iso3 AND e.lang = 'en'");
    db_bind_text(st, ":lang", lang ? lang : "en");
    db_bind_text(st, ":iso3", iso3);
    const char *name = db_row(st) ? arena_strdup(r->arena, db_text(st, 0)) : NULL;
    db_done(st);
    return name;
}
