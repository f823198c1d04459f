/*
 * test_i18n.c: tests for src/i18n.c: the .po parser (what it keeps, what it
 * skips, and its errors with line numbers), language negotiation from the
 * profile and Accept-Language, right-to-left detection and lookups in the
 * real catalogues embedded from po/ (linked from build/test_assets_i18n.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/i18n.h"

/* Parses a catalogue from a literal; fails the test on a syntax error. */
static Catalog *parse_ok(const char *po)
{
    char err[128];
    Catalog *c = i18n_catalog_parse(po, strlen(po), err, sizeof err);
    if (!c)
        fail_msg("unexpected parse error: %s", err);
    return c;
}

/* Parses po, which must be rejected, and checks the "LINE: message" text. */
static void assert_parse_error(const char *po, const char *expected)
{
    char err[128] = "unchanged";
    Catalog *c = i18n_catalog_parse(po, strlen(po), err, sizeof err);
    assert_null(c);
    assert_string_equal(err, expected);
}

/* ---- Parsing ------------------------------------------------------------- */

static void test_parse_simple_entries(void **state)
{
    (void)state;
    Catalog *c = parse_ok("msgid \"Log in\"\n"
                          "msgstr \"Iniciar sesión\"\n"
                          "\n"
                          "msgid \"Home\"\n"
                          "msgstr \"Inicio\"\n");
    assert_int_equal(i18n_catalog_count(c), 2);
    assert_string_equal(i18n_catalog_get(c, "Log in"), "Iniciar sesión");
    assert_string_equal(i18n_catalog_get(c, "Home"), "Inicio");
    assert_null(i18n_catalog_get(c, "Log out"));
    assert_null(i18n_catalog_get(c, "log in"));
    i18n_catalog_free(c);
}

static void test_parse_header_ignored(void **state)
{
    (void)state;
    Catalog *c = parse_ok("msgid \"\"\n"
                          "msgstr \"\"\n"
                          "\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
                          "\"Language: es\\n\"\n"
                          "\n"
                          "msgid \"Home\"\n"
                          "msgstr \"Inicio\"\n");
    assert_int_equal(i18n_catalog_count(c), 1);
    assert_null(i18n_catalog_get(c, ""));
    i18n_catalog_free(c);
}

static void test_parse_multiline_strings(void **state)
{
    (void)state;
    Catalog *c = parse_ok("msgid \"\"\n"
                          "\"A long \"\n"
                          "  \"sentence\"\n"
                          "msgstr \"Une longue \"\n"
                          "\"phrase\"   \n");
    assert_string_equal(i18n_catalog_get(c, "A long sentence"), "Une longue phrase");
    i18n_catalog_free(c);
}

static void test_parse_escapes(void **state)
{
    (void)state;
    Catalog *c = parse_ok("msgid \"Say \\\"hi\\\"\\n\\tnow \\\\ \\x41\\102\"\n"
                          "msgstr \"Di \\\"hola\\\"\\n\\tya \\\\ AB\"\n");
    assert_string_equal(i18n_catalog_get(c, "Say \"hi\"\n\tnow \\ AB"), "Di \"hola\"\n\tya \\ AB");
    i18n_catalog_free(c);
}

static void test_parse_comments(void **state)
{
    (void)state;
    Catalog *c = parse_ok("# translator comment\n"
                          "#. extracted comment\n"
                          "#: templates/login.html:3 src/auth.c:40\n"
                          "#, c-format\n"
                          "#| msgid \"Old text\"\n"
                          "msgid \"Email\"\n"
                          "msgstr \"Correo\"\n"
                          "#~ msgid \"Gone\"\n"
                          "#~ msgstr \"Ido\"\n");
    assert_int_equal(i18n_catalog_count(c), 1);
    assert_string_equal(i18n_catalog_get(c, "Email"), "Correo");
    assert_null(i18n_catalog_get(c, "Gone"));
    i18n_catalog_free(c);
}

static void test_parse_fuzzy_skipped(void **state)
{
    (void)state;
    Catalog *c = parse_ok("#, fuzzy\n"
                          "msgid \"Home\"\n"
                          "msgstr \"Casa\"\n"
                          "\n"
                          "#, c-format, fuzzy\n"
                          "msgid \"%d members\"\n"
                          "msgstr \"%d miembros\"\n"
                          "\n"
                          "#, c-format\n"
                          "msgid \"Log in\"\n"
                          "msgstr \"Entrar\"\n");
    assert_int_equal(i18n_catalog_count(c), 1);
    assert_null(i18n_catalog_get(c, "Home"));
    assert_null(i18n_catalog_get(c, "%d members"));
    assert_string_equal(i18n_catalog_get(c, "Log in"), "Entrar");
    i18n_catalog_free(c);
}

static void test_parse_empty_msgstr_is_untranslated(void **state)
{
    (void)state;
    Catalog *c = parse_ok("msgid \"Home\"\nmsgstr \"\"\n");
    assert_int_equal(i18n_catalog_count(c), 0);
    assert_null(i18n_catalog_get(c, "Home"));
    i18n_catalog_free(c);
}

static void test_parse_plural_keeps_first_form(void **state)
{
    (void)state;
    Catalog *c = parse_ok("msgid \"%d country\"\n"
                          "msgid_plural \"%d countries\"\n"
                          "msgstr[0] \"%d pays\"\n"
                          "msgstr[1] \"%d pays (pluriel)\"\n"
                          "\"suite\"\n"
                          "msgid \"Home\"\n"
                          "msgstr \"Accueil\"\n");
    assert_int_equal(i18n_catalog_count(c), 2);
    assert_string_equal(i18n_catalog_get(c, "%d country"), "%d pays");
    assert_null(i18n_catalog_get(c, "%d countries"));
    assert_string_equal(i18n_catalog_get(c, "Home"), "Accueil");
    i18n_catalog_free(c);
}

static void test_parse_context_ignored(void **state)
{
    (void)state;
    Catalog *c = parse_ok("msgctxt \"menu\"\n"
                          "msgid \"Home\"\n"
                          "msgstr \"Portada\"\n"
                          "\n"
                          "msgid \"Home\"\n"
                          "msgstr \"Inicio\"\n");
    assert_int_equal(i18n_catalog_count(c), 1);
    assert_string_equal(i18n_catalog_get(c, "Home"), "Inicio");
    i18n_catalog_free(c);
}

static void test_parse_crlf_and_no_final_newline(void **state)
{
    (void)state;
    Catalog *c =
        parse_ok("msgid \"Home\"\r\nmsgstr \"Inicio\"\r\n\r\nmsgid \"Email\"\nmsgstr \"Correo\"");
    assert_string_equal(i18n_catalog_get(c, "Home"), "Inicio");
    assert_string_equal(i18n_catalog_get(c, "Email"), "Correo");
    i18n_catalog_free(c);
}

static void test_parse_empty_input(void **state)
{
    (void)state;
    Catalog *c = parse_ok("");
    assert_int_equal(i18n_catalog_count(c), 0);
    assert_null(i18n_catalog_get(c, "Home"));
    i18n_catalog_free(c);
    c = parse_ok("# only a comment\n\n");
    assert_int_equal(i18n_catalog_count(c), 0);
    i18n_catalog_free(c);
}

static void test_parse_length_is_honoured(void **state)
{
    (void)state;
    /* The input need not be NUL-terminated: only len bytes are read. */
    const char po[] = "msgid \"Home\"\nmsgstr \"Inicio\"\nmsgid \"Email\"\n";
    char err[64];
    Catalog *c = i18n_catalog_parse(po, strlen(po) - strlen("msgid \"Email\"\n"), err, sizeof err);
    assert_non_null(c);
    assert_int_equal(i18n_catalog_count(c), 1);
    i18n_catalog_free(c);
}

/* ---- Parse errors -------------------------------------------------------- */

static void test_error_unterminated_string(void **state)
{
    (void)state;
    assert_parse_error("msgid \"Home\"\n"
                       "msgstr \"Inicio\"\n"
                       "\n"
                       "msgid \"Email\n"
                       "msgstr \"Correo\"\n",
                       "4: unterminated string");
    assert_parse_error("msgid \"Home\"\nmsgstr \"Inicio\\\"\n", "2: unterminated string");
    assert_parse_error("msgid \"Home\\", "1: unterminated string");
}

static void test_error_msgstr_without_msgid(void **state)
{
    (void)state;
    assert_parse_error("# comment\nmsgstr \"Inicio\"\n", "2: msgstr without msgid");
    assert_parse_error("msgid \"a\"\nmsgstr \"b\"\nmsgstr \"c\"\n", "3: msgstr without msgid");
}

static void test_error_garbage_line(void **state)
{
    (void)state;
    assert_parse_error("msgid \"Home\"\nmsgstr \"Inicio\"\nhello world\n",
                       "3: unknown keyword \"hello\"");
    assert_parse_error("msgid \"Home\"\nmsgstr \"Inicio\"\n\n\n+++\n",
                       "5: syntax error: expected a keyword, a string or a comment");
    assert_parse_error("msgid \"Home\" x\nmsgstr \"Inicio\"\n",
                       "1: unexpected text after the string");
    assert_parse_error("msgid Home\nmsgstr \"Inicio\"\n", "1: expected a string");
    assert_parse_error("\"orphan\"\n", "1: string without a keyword before it");
}

static void test_error_structure(void **state)
{
    (void)state;
    assert_parse_error("msgid \"a\"\nmsgid \"b\"\nmsgstr \"c\"\n", "1: msgid without msgstr");
    assert_parse_error("msgid \"a\"\nmsgstr \"b\"\n\nmsgid \"c\"\n", "4: msgid without msgstr");
    assert_parse_error("msgid \"a\"\nmsgid_plural \"as\"\nmsgstr \"b\"\n",
                       "3: msgid_plural needs msgstr[0], not msgstr");
    assert_parse_error("msgid \"a\"\nmsgstr[0] \"b\"\n", "2: msgstr[0] without msgid_plural");
    assert_parse_error("msgid \"a\"\nmsgid_plural \"as\"\nmsgstr[1] \"b\"\n",
                       "3: expected msgstr[0]");
    assert_parse_error("msgid_plural \"as\"\n", "1: msgid_plural without msgid");
    assert_parse_error("msgctxt \"x\"\n", "1: msgctxt without msgid");
}

static void test_error_escapes_and_bytes(void **state)
{
    (void)state;
    assert_parse_error("msgid \"a\\q\"\nmsgstr \"b\"\n", "1: invalid escape sequence");
    assert_parse_error("msgid \"a\"\nmsgstr \"b\\0\"\n", "2: NUL escape in string");
    assert_parse_error("msgid \"a\"\nmsgstr \"\\777\"\n", "2: invalid escape sequence");
    assert_parse_error("msgid \"a\"\nmsgstr \"\\xZZ\"\n", "2: invalid escape sequence");
    static const char nul[] = "msgid \"a\"\nmsgstr \"b\0c\"\n";
    char err[64];
    assert_null(i18n_catalog_parse(nul, sizeof nul - 1, err, sizeof err));
    assert_string_equal(err, "2: NUL byte");
    assert_parse_error("msgid \"a\"\nmsgstr \"\xc3\x28\"\n", "1: msgstr is not valid UTF-8 text");
    assert_parse_error("msgid \"\"\nmsgstr \"Content-Type: text/plain; charset=ISO-8859-1\\n\"\n",
                       "1: the charset must be UTF-8");
}

static void test_error_duplicate_msgid(void **state)
{
    (void)state;
    assert_parse_error("msgid \"Home\"\nmsgstr \"Inicio\"\n\nmsgid \"Home\"\nmsgstr \"Casa\"\n",
                       "4: duplicate msgid (first on line 1)");
}

static void test_error_buffer_optional_and_truncated(void **state)
{
    (void)state;
    const char *po = "msgstr \"x\"\n";
    assert_null(i18n_catalog_parse(po, strlen(po), NULL, 0));
    char small[6];
    assert_null(i18n_catalog_parse(po, strlen(po), small, sizeof small));
    assert_string_equal(small, "1: ms");
}

/* ---- The embedded catalogues ---------------------------------------------- */

static void test_embedded_translations(void **state)
{
    (void)state;
    assert_string_equal(i18n_gettext("es", "Log in"), "Iniciar sesión");
    assert_string_equal(i18n_gettext("es", "Page not found"), "Página no encontrada");
    assert_string_equal(i18n_gettext("fr", "Log out"), "Se déconnecter");
    assert_string_equal(i18n_gettext("fr", "Password"), "Mot de passe");
    assert_string_equal(i18n_gettext("ar", "Log in"), "تسجيل الدخول");
    assert_string_equal(i18n_gettext("ar", "Email"), "البريد الإلكتروني");
    /* A region subtag reaches its language's catalogue. */
    assert_string_equal(i18n_gettext("es-AR", "Countries"), "Países");
}

/* ---- Plural forms (issue 14: "1 letters sent") ---------------------------- */

static void test_plural_rules(void **state)
{
    (void)state;
    /* English when there is no rule. */
    assert_int_equal(i18n_plural_index(NULL, 1), 0);
    assert_int_equal(i18n_plural_index(NULL, 0), 1);
    assert_int_equal(i18n_plural_index(NULL, 2), 1);
    /* Spanish and French, as in their headers. */
    assert_int_equal(i18n_plural_index("(n != 1)", 1), 0);
    assert_int_equal(i18n_plural_index("(n != 1)", 0), 1);
    assert_int_equal(i18n_plural_index("(n > 1)", 0), 0);
    assert_int_equal(i18n_plural_index("(n > 1)", 1), 0);
    assert_int_equal(i18n_plural_index("(n > 1)", 2), 1);
    /* Arabic: six forms. */
    const char *ar = "(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : "
                     "n%100>=11 ? 4 : 5)";
    unsigned long ns[] = {0, 1, 2, 3, 10, 11, 99, 100, 101, 102, 103, 111, 1000};
    long want[] = {0, 1, 2, 3, 3, 4, 4, 5, 5, 5, 3, 4, 5};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        assert_int_equal(i18n_plural_index(ar, ns[i]), want[i]);
    /* Russian-like rules with || and parentheses. */
    const char *ru = "(n%10==1 && n%100!=11 ? 0 : n%10>=2 && n%10<=4 && (n%100<10 || "
                     "n%100>=20) ? 1 : 2)";
    assert_int_equal(i18n_plural_index(ru, 21), 0);
    assert_int_equal(i18n_plural_index(ru, 22), 1);
    assert_int_equal(i18n_plural_index(ru, 12), 2);
    assert_int_equal(i18n_plural_index("!(n == 1)", 1), 0);
    /* What cannot be evaluated is -1, never a crash. */
    assert_int_equal(i18n_plural_index("n %", 3), -1);
    assert_int_equal(i18n_plural_index("n / 0", 3), -1);
    assert_int_equal(i18n_plural_index("(n == 1", 1), -1);
    assert_int_equal(i18n_plural_index("n ? 1", 1), -1);
    assert_int_equal(i18n_plural_index("x", 1), -1);
    assert_int_equal(i18n_plural_index("n == 1 junk", 1), -1);
}

static const char *const PLURAL_PO =
    "msgid \"\"\n"
    "msgstr \"\"\n"
    "\"Content-Type: text/plain; charset=UTF-8\\n\"\n"
    "\"Plural-Forms: nplurals=3; plural=(n==1 ? 0 : n==2 ? 1 : 2);\\n\"\n"
    "\n"
    "msgid \"%d letter\"\n"
    "msgid_plural \"%d letters\"\n"
    "msgstr[0] \"one %d\"\n"
    "msgstr[1] \"two \"\n"
    "\"%d\"\n"
    "msgstr[2] \"many %d\"\n"
    "\n"
    "msgid \"%d refusal\"\n"
    "msgid_plural \"%d refusals\"\n"
    "msgstr[0] \"a refusal\"\n"
    "msgstr[1] \"\"\n"
    "msgstr[2] \"refusals\"\n"
    "\n"
    "msgid \"Home\"\n"
    "msgstr \"Casa\"\n";

static void test_plural_entries(void **state)
{
    (void)state;
    Catalog *c = parse_ok(PLURAL_PO);
    assert_string_equal(i18n_catalog_nget(c, "%d letter", 1), "one %d");
    assert_string_equal(i18n_catalog_nget(c, "%d letter", 2), "two %d"); /* continued */
    assert_string_equal(i18n_catalog_nget(c, "%d letter", 0), "many %d");
    assert_string_equal(i18n_catalog_nget(c, "%d letter", 7), "many %d");
    /* The singular lookup gives msgstr[0], as before. */
    assert_string_equal(i18n_catalog_get(c, "%d letter"), "one %d");
    /* A plural entry with an empty form is not used at all (English shows). */
    assert_null(i18n_catalog_nget(c, "%d refusal", 1));
    assert_null(i18n_catalog_get(c, "%d refusal"));
    /* A singular entry has no plural forms. */
    assert_null(i18n_catalog_nget(c, "Home", 2));
    i18n_catalog_free(c);
}

static void test_plural_in_the_real_catalogues(void **state)
{
    (void)state;
    assert_int_equal(i18n_init(), 0);
    assert_string_equal(i18n_ngettext("en", "%d letter sent", "%d letters sent", 1),
                        "%d letter sent");
    assert_string_equal(i18n_ngettext("en", "%d letter sent", "%d letters sent", 0),
                        "%d letters sent");
    assert_string_equal(i18n_ngettext("es", "%d letter sent", "%d letters sent", 1),
                        "%d carta enviada");
    assert_string_equal(i18n_ngettext("es", "%d letter sent", "%d letters sent", 3),
                        "%d cartas enviadas");
    assert_string_equal(i18n_ngettext("fr", "%d letter sent", "%d letters sent", 0),
                        "%d lettre envoyée");
    assert_string_equal(i18n_ngettext("ar", "%d letter sent", "%d letters sent", 2),
                        "رسالتان مُرسَلتان");
    assert_string_equal(i18n_ngettext("ar", "%d letter sent", "%d letters sent", 5),
                        "%d رسائل مُرسَلة");
    /* Unknown language or msgid: English. */
    assert_string_equal(i18n_ngettext("xx", "%d letter sent", "%d letters sent", 2),
                        "%d letters sent");
    assert_string_equal(i18n_ngettext("es", "%d thing", "%d things", 1), "%d thing");
}

static void test_embedded_catalogues_are_complete(void **state)
{
    (void)state;
    static const char *const msgids[] = {"Log in",    "Log out",        "Email", "Password",
                                         "Countries", "Page not found", "Ratify"};
    static const char *const langs[] = {"es", "fr", "ar"};
    for (size_t l = 0; l < sizeof langs / sizeof langs[0]; l++) {
        for (size_t m = 0; m < sizeof msgids / sizeof msgids[0]; m++) {
            const char *s = i18n_gettext(langs[l], msgids[m]);
            assert_non_null(s);
            /* A translation, not the fallback pointer. */
            assert_ptr_not_equal(s, msgids[m]);
        }
    }
}

static void test_gettext_fallback(void **state)
{
    (void)state;
    const char *msgid = "No such message";
    assert_ptr_equal(i18n_gettext("es", msgid), msgid);
    const char *login = "Log in";
    assert_ptr_equal(i18n_gettext("en", login), login);
    assert_ptr_equal(i18n_gettext("de", login), login);
    assert_ptr_equal(i18n_gettext(NULL, login), login);
    assert_ptr_equal(i18n_gettext("", login), login);
    assert_string_equal(i18n_gettext("es", NULL), "");
}

static void test_languages_list(void **state)
{
    (void)state;
    const Language *l = i18n_languages();
    assert_string_equal(l[0].code, "en");
    assert_string_equal(l[0].native_name, "English");
    int seen = 0;
    for (size_t i = 0; l[i].code; i++) {
        if (strcmp(l[i].code, "es") == 0 && strcmp(l[i].native_name, "Español") == 0)
            seen |= 1;
        if (strcmp(l[i].code, "fr") == 0 && strcmp(l[i].native_name, "Français") == 0)
            seen |= 2;
        if (strcmp(l[i].code, "ar") == 0 && strcmp(l[i].native_name, "العربية") == 0)
            seen |= 4;
    }
    assert_int_equal(seen, 7);
}

/* One list: members' languages are all of it, the UI the translated ones. */
static void test_known_languages(void **state)
{
    (void)state;
    const Language *k = i18n_known_languages();
    assert_string_equal(k[0].code, "en");
    assert_true(k[0].translated);
    int pt = 0, es = 0;
    for (size_t i = 0; k[i].code; i++) {
        if (strcmp(k[i].code, "pt") == 0) {
            pt = 1;
            assert_string_equal(k[i].native_name, "Português");
            assert_false(k[i].translated); /* no po/pt.po */
        }
        if (strcmp(k[i].code, "es") == 0)
            es = k[i].translated;
        assert_int_equal(k[i].rtl, i18n_is_rtl(k[i].code));
    }
    assert_true(pt);
    assert_true(es);
    for (const Language *l = i18n_languages(); l->code; l++)
        assert_true(l->translated);
}

static void test_supported(void **state)
{
    (void)state;
    assert_true(i18n_supported("en"));
    assert_true(i18n_supported("es"));
    assert_true(i18n_supported("fr"));
    assert_true(i18n_supported("ar"));
    assert_true(i18n_supported("FR"));
    assert_false(i18n_supported("de"));
    assert_false(i18n_supported("es-AR"));
    assert_false(i18n_supported(""));
    assert_false(i18n_supported(NULL));
}

static void test_init_twice_is_harmless(void **state)
{
    (void)state;
    const Language *before = i18n_languages();
    assert_int_equal(i18n_init(), 0);
    assert_ptr_equal(i18n_languages(), before);
    assert_string_equal(i18n_gettext("es", "Log in"), "Iniciar sesión");
}

/* ---- Negotiation --------------------------------------------------------- */

static void test_negotiate_accept_language(void **state)
{
    (void)state;
    assert_string_equal(i18n_negotiate(NULL, "es-AR,es;q=0.9,en;q=0.8"), "es");
    assert_string_equal(i18n_negotiate(NULL, "de, fr;q=0.5"), "fr");
    assert_string_equal(i18n_negotiate(NULL, "fr;q=0, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "ar-EG"), "ar");
    assert_string_equal(i18n_negotiate(NULL, "ES"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fR-ca;Q=0.7"), "fr");
    assert_string_equal(i18n_negotiate(NULL, "en-GB,en;q=0.9"), "en");
}

static void test_negotiate_weights_and_ties(void **state)
{
    (void)state;
    assert_string_equal(i18n_negotiate(NULL, "fr;q=0.5, ar;q=0.8, es;q=0.7"), "ar");
    /* Equal weights keep the header's order. */
    assert_string_equal(i18n_negotiate(NULL, "fr;q=0.5, es;q=0.5"), "fr");
    assert_string_equal(i18n_negotiate(NULL, "es, fr"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr;q=0.001, es;q=0.000"), "fr");
    assert_string_equal(i18n_negotiate(NULL, "es;q=1.000, fr;q=1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "es;q=0.333, fr;q=0.334"), "fr");
    assert_string_equal(i18n_negotiate(NULL, " \tes ; q=0.5 ,\tfr ; q=0.4 "), "es");
}

static void test_negotiate_defaults_to_english(void **state)
{
    (void)state;
    assert_string_equal(i18n_negotiate(NULL, "*"), "en");
    assert_string_equal(i18n_negotiate(NULL, "xx"), "en");
    assert_string_equal(i18n_negotiate(NULL, NULL), "en");
    assert_string_equal(i18n_negotiate(NULL, ""), "en");
    assert_string_equal(i18n_negotiate(NULL, ",,, ,"), "en");
    assert_string_equal(i18n_negotiate(NULL, "es;q=0, fr;q=0"), "en");
    assert_string_equal(i18n_negotiate("", NULL), "en");
}

static void test_negotiate_wildcard(void **state)
{
    (void)state;
    /* "*" stands for the languages the header does not name. */
    assert_string_equal(i18n_negotiate(NULL, "fr;q=0.5, *"), "en");
    assert_string_equal(i18n_negotiate(NULL, "*;q=0.1, es"), "es");
    const char *other = i18n_negotiate(NULL, "en;q=0, *");
    assert_string_not_equal(other, "en");
    assert_true(i18n_supported(other));
    assert_string_equal(i18n_negotiate(NULL, "*;q=0"), "en");
}

static void test_negotiate_malformed_entries_ignored(void **state)
{
    (void)state;
    assert_string_equal(i18n_negotiate(NULL, "fr;q=abc, es;q=0.5"), "es");
    assert_string_equal(i18n_negotiate(NULL, "q=abc, es;q=0.2"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr;q=1.5, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr;q=0.5555, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr;q=.5, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr;q=-1, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr;level=1, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr es, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "francais, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr-, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr;q = 0.9, es;q=0.1"), "es");
    assert_string_equal(i18n_negotiate(NULL, "fr;q=0.9;q=0.8, es;q=0.1"), "es");
}

static void test_negotiate_profile_first(void **state)
{
    (void)state;
    assert_string_equal(i18n_negotiate("fr", "es"), "fr");
    assert_string_equal(i18n_negotiate("de", "es"), "es");
    assert_string_equal(i18n_negotiate("de", NULL), "en");
    assert_string_equal(i18n_negotiate("ar", NULL), "ar");
    assert_string_equal(i18n_negotiate("AR", "fr"), "ar");
}

static void test_negotiate_returns_static_string(void **state)
{
    (void)state;
    char header[] = "es-AR";
    const char *lang = i18n_negotiate(NULL, header);
    memset(header, 'x', sizeof header - 1);
    assert_string_equal(lang, "es");
    char profile[] = "fr";
    lang = i18n_negotiate(profile, NULL);
    assert_ptr_not_equal(lang, profile);
    profile[0] = 'x';
    assert_string_equal(lang, "fr");
}

/* ---- Direction ----------------------------------------------------------- */

static void test_is_rtl(void **state)
{
    (void)state;
    assert_true(i18n_is_rtl("ar"));
    assert_true(i18n_is_rtl("ar-EG"));
    assert_true(i18n_is_rtl("fa"));
    assert_true(i18n_is_rtl("he"));
    assert_true(i18n_is_rtl("ur_PK"));
    assert_true(i18n_is_rtl("AR"));
    assert_false(i18n_is_rtl("en"));
    assert_false(i18n_is_rtl("es"));
    assert_false(i18n_is_rtl("fr"));
    assert_false(i18n_is_rtl("arn"));
    assert_false(i18n_is_rtl(""));
    assert_false(i18n_is_rtl(NULL));
}

static int setup(void **state)
{
    (void)state;
    return i18n_init();
}

static int teardown(void **state)
{
    (void)state;
    i18n_free();
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_simple_entries),
        cmocka_unit_test(test_parse_header_ignored),
        cmocka_unit_test(test_parse_multiline_strings),
        cmocka_unit_test(test_parse_escapes),
        cmocka_unit_test(test_parse_comments),
        cmocka_unit_test(test_parse_fuzzy_skipped),
        cmocka_unit_test(test_parse_empty_msgstr_is_untranslated),
        cmocka_unit_test(test_parse_plural_keeps_first_form),
        cmocka_unit_test(test_parse_context_ignored),
        cmocka_unit_test(test_parse_crlf_and_no_final_newline),
        cmocka_unit_test(test_parse_empty_input),
        cmocka_unit_test(test_parse_length_is_honoured),
        cmocka_unit_test(test_error_unterminated_string),
        cmocka_unit_test(test_error_msgstr_without_msgid),
        cmocka_unit_test(test_error_garbage_line),
        cmocka_unit_test(test_error_structure),
        cmocka_unit_test(test_error_escapes_and_bytes),
        cmocka_unit_test(test_error_duplicate_msgid),
        cmocka_unit_test(test_error_buffer_optional_and_truncated),
        cmocka_unit_test(test_embedded_translations),
        cmocka_unit_test(test_embedded_catalogues_are_complete),
        cmocka_unit_test(test_plural_rules),
        cmocka_unit_test(test_plural_entries),
        cmocka_unit_test(test_plural_in_the_real_catalogues),
        cmocka_unit_test(test_gettext_fallback),
        cmocka_unit_test(test_languages_list),
        cmocka_unit_test(test_supported),
        cmocka_unit_test(test_init_twice_is_harmless),
        cmocka_unit_test(test_negotiate_accept_language),
        cmocka_unit_test(test_negotiate_weights_and_ties),
        cmocka_unit_test(test_negotiate_defaults_to_english),
        cmocka_unit_test(test_negotiate_wildcard),
        cmocka_unit_test(test_negotiate_malformed_entries_ignored),
        cmocka_unit_test(test_negotiate_profile_first),
        cmocka_unit_test(test_negotiate_returns_static_string),
        cmocka_unit_test(test_is_rtl),
        cmocka_unit_test(test_known_languages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
