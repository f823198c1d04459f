/*
 * i18n.h: message catalogues and the choice of language.
 *
 * Catalogues are gettext .po files (po/LANG.po) compiled into the binary
 * (see assets.h). English is the source language: its msgids are the UI
 * text, so English needs no catalogue. A msgid without a translation, or
 * with an empty msgstr or a "fuzzy" flag, falls back to English.
 *
 * i18n_init() parses every embedded catalogue once at start-up; afterwards
 * all functions are read-only and safe from any thread.
 */
#ifndef RATIFY_I18N_H
#define RATIFY_I18N_H

#include <stddef.h>

/* Marks a string for translation without translating it (for tables). */
#define N_(s) s

/* Parses the embedded catalogues. Returns 0, or -1 after printing the file
 * and line of a syntax error to stderr. Calling it twice is harmless. */
int i18n_init(void);

/* Frees the catalogues (at exit, for leak checkers). */
void i18n_free(void);

/* The language to use: profile_lang if it is a supported language, else the
 * best supported match in an Accept-Language header value (q-values
 * honoured, "es-AR" matches "es", q=0 excludes), else "en". Either argument
 * may be NULL. Returns a static string such as "en", "es", "fr", "ar". */
const char *i18n_negotiate(const char *profile_lang, const char *accept_language);

/* 1 if lang is one Ratify offers (English or one with a catalogue). */
int i18n_supported(const char *lang);

/* The translation of msgid in lang, or msgid itself. Never NULL. */
const char *i18n_gettext(const char *lang, const char *msgid);

/* The form of msgid / msgid_plural for the count n in lang: the
 * catalogue's msgstr[i], i chosen by its header's Plural-Forms rule; else
 * English (msgid for 1, msgid_plural otherwise). Never NULL. The text
 * usually holds a %d the caller fills in. */
const char *i18n_ngettext(const char *lang, const char *msgid, const char *msgid_plural,
                          unsigned long n);

/* 1 for languages written right to left (ar, fa, he, ur). */
int i18n_is_rtl(const char *lang);

/* A language: its code, its own name for itself, whether it is written
 * right to left, and whether the UI is translated into it (English always;
 * another once i18n_init has found its catalogue). */
typedef struct {
    const char *code;
    const char *native_name;
    int rtl;
    int translated;
} Language;

/* The languages the UI is offered in, NULL-terminated, "en" first (for a
 * language picker): the translated ones, and any catalogue's language that
 * is not in the known list, under its code. */
const Language *i18n_languages(void);

/* Every language Ratify knows, NULL-terminated, "en" first, translated or
 * not: the languages members can say they work in. */
const Language *i18n_known_languages(void);

/* Parses one .po file's text into an opaque catalogue; used by i18n_init and
 * by the fuzzer. Returns NULL on a syntax error and writes "LINE: message"
 * to err (size errlen). Free with i18n_catalog_free. */
typedef struct Catalog Catalog;
Catalog *i18n_catalog_parse(const char *src, size_t len, char *err, size_t errlen);
const char *i18n_catalog_get(const Catalog *c, const char *msgid); /* NULL if none */
size_t i18n_catalog_count(const Catalog *c);
/* A plural entry's form for n (NULL if msgid has no usable plural entry). */
const char *i18n_catalog_nget(const Catalog *c, const char *msgid, unsigned long n);
/* The index a Plural-Forms "plural=" expression gives for n (NULL: the
 * English rule n != 1); -1 for an expression it cannot evaluate. */
long i18n_plural_index(const char *rule, unsigned long n);
void i18n_catalog_free(Catalog *c);

#endif
