/*
 * fuzz_po.c: libFuzzer harness for src/i18n.c. Each input is parsed as a
 * .po catalogue (then looked up in and freed) and used as an
 * Accept-Language header and a profile language against the real embedded
 * catalogues. Beyond "no crash, no leak" it checks the contract: a rejected
 * catalogue comes with a "LINE: message" error, and negotiation always
 * returns a supported language.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/i18n.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    if (i18n_init() != 0)
        abort();
    return 0;
}

/* "12: message": digits, a colon, a space, then text. */
static int well_formed_error(const char *err)
{
    size_t digits = strspn(err, "0123456789");
    return digits > 0 && err[digits] == ':' && err[digits + 1] == ' ' && err[digits + 2];
}

static void fuzz_catalog(const char *src, size_t size, const char *text)
{
    char err[128];
    Catalog *c = i18n_catalog_parse(src, size, err, sizeof err);
    if (!c) {
        if (!well_formed_error(err))
            abort();
        return;
    }
    /* The input's first line is a likely msgid once the parser strips it. */
    size_t first = strcspn(text, "\n");
    char *line = strndup(text, first);
    const char *lookups[] = {"", "Log in", "Home", text, line};
    for (size_t i = 0; i < sizeof lookups / sizeof lookups[0]; i++) {
        const char *s = i18n_catalog_get(c, lookups[i]);
        if (s && !*s)
            abort(); /* empty translations are never kept */
    }
    (void)i18n_catalog_count(c);
    free(line);
    i18n_catalog_free(c);
}

static void fuzz_negotiate(const char *text)
{
    if (!i18n_supported(i18n_negotiate(NULL, text)))
        abort();
    if (!i18n_supported(i18n_negotiate(text, text)))
        abort();
    if (!i18n_gettext(text, text))
        abort();
    (void)i18n_is_rtl(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* The parser gets the bytes as they are (not NUL-terminated) so that
     * AddressSanitizer catches any read past size; the rest needs a string. */
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = 0;
    fuzz_catalog((const char *)data, size, text);
    fuzz_negotiate(text);
    free(text);
    return 0;
}
