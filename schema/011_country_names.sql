-- 011_country_names.sql: a country's name in each language is one row, so
-- that a new language is data (rows) and not a column and a CASE in every
-- query (issue 9, item 5). Readers take the name in the request's language
-- and fall back to English where a language has none:
--
--     LEFT JOIN country_names n ON n.iso3 = c.iso3 AND n.lang = :lang
--     JOIN country_names e ON e.iso3 = c.iso3 AND e.lang = 'en'
--     ... coalesce(n.name, e.name)
--
-- (feat/country_name.c does it for one country). country.c seeds it from
-- data/countries.csv with the countries. The name_* columns of countries
-- stay until a table rebuild drops them (SQLite drops a column of a table
-- with foreign keys pointing at it only by rebuilding the table); only
-- member_io.c still reads name_en, for matching imported country names.

-- owner: src/feat/country.c
CREATE TABLE country_names (
    iso3 TEXT NOT NULL REFERENCES countries (iso3),
    lang TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (iso3, lang)
);

INSERT INTO country_names (iso3, lang, name) SELECT iso3, 'en', name_en FROM countries;
INSERT INTO country_names (iso3, lang, name) SELECT iso3, 'es', name_es FROM countries;
INSERT INTO country_names (iso3, lang, name) SELECT iso3, 'fr', name_fr FROM countries;
INSERT INTO country_names (iso3, lang, name) SELECT iso3, 'ar', name_ar FROM countries;
