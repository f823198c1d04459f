/*
 * fuzz_template.c: libFuzzer harness for src/template.c. Each input is
 * compiled as a template; when it compiles it is rendered against fixed data
 * full of nested objects, arrays and hostile strings, both directly and
 * through template_render_named. Every partial name resolves to the input
 * itself, so recursive partials and the depth limit are exercised. The cache
 * is cleared after each input so that inputs do not affect one another.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "base/template.h"

static json_t *fuzz_data;
static const char *fuzz_src;
static size_t fuzz_len;

/* Every name is the input itself. */
static const char *fuzz_source(const char *name, size_t *len)
{
    (void)name;
    *len = fuzz_len;
    return fuzz_src;
}

/* Translates everything into a hostile string, which must come out escaped. */
static const char *fuzz_translate(void *ctx, const char *msgid)
{
    (void)ctx;
    return msgid[0] == 'x' ? "<script>alert('x')</script>" : msgid;
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    static const char json[] =
        "{\"s\":\"<script>alert(1)</script>\",\"q\":\"\\\"><img src=x onerror=alert(1)>\","
        "\"apos\":\"' onmouseover='x\",\"tick\":\"`\",\"amp\":\"&amp;\",\"mustache\":\"{{s}}\","
        "\"js\":\"javascript:alert(1)\",\"link\":\"https://x.org/?a=1&b=2\",\"empty\":\"\","
        "\"i\":42,\"zero\":0,\"r\":0.1,\"rzero\":0.0,\"t\":true,\"f\":false,\"n\":null,"
        "\"nul\":\"a\\u0000b\",\"utf\":\"\\u00e9\\u202e\",\"none\":[],\"blank\":{},"
        "\"a\":{\"b\":{\"c\":\"deep\",\"a\":false},\"list\":[1,\"two\",{\"s\":\"in\"}]},"
        "\"items\":[{\"name\":\"Ana\",\"items\":[{\"name\":\"<b>\"}]},{\"name\":\"Ben\","
        "\"f\":true}],\"grid\":[[1,2],[3,[4,5]]]}";
    json_error_t err;
    fuzz_data = json_loads(json, JSON_ALLOW_NUL, &err);
    if (!fuzz_data)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_src = (const char *)data;
    fuzz_len = size;
    char *err = NULL;
    Template *t = template_compile("fuzz", fuzz_src, size, &err);
    if (!t) {
        /* A failed compile must explain itself. */
        if (!err)
            abort();
        free(err);
        template_cache_clear();
        return 0;
    }
    if (err)
        abort();
    Buf out = {0};
    template_render(t, fuzz_data, &out, fuzz_source, fuzz_translate, NULL);
    buf_free(&out);
    template_render_named("main", fuzz_data, &out, fuzz_source, NULL, NULL);
    buf_free(&out);
    template_free(t);
    template_cache_clear();
    return 0;
}
