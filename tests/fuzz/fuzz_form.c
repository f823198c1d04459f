/*
 * fuzz_form.c: libFuzzer harness for src/form.c. The input up to the first
 * '\n' is the Content-Type header (so the fuzzer can vary the boundary) and
 * the rest is the multipart body; the whole input is also parsed as a
 * urlencoded string. The body is passed in place, so it ends exactly where
 * libFuzzer's buffer ends and AddressSanitizer sees any read past len.
 *
 * Beyond not crashing, the harness checks what form.h promises of every
 * result: names are set, values are NUL-terminated after len bytes, and at
 * most FORM_MAX_PARAMS pairs come back.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/form.h"
#include "base/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Aborts, so that libFuzzer saves the input, when a result breaks form.h. */
static void check_params(const Params *p)
{
    if (p->count > FORM_MAX_PARAMS)
        abort();
    for (size_t i = 0; i < p->count; i++) {
        const Param *param = &p->items[i];
        if (!param->name || !param->value || param->value[param->len] != 0)
            abort();
        if (form_get(p, param->name) == NULL)
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *input = (const char *)data;
    const char *newline = memchr(input, '\n', size);
    size_t ct_len = newline ? (size_t)(newline - input) : size;
    const char *body = newline ? newline + 1 : input + size;
    size_t body_len = size - (size_t)(body - input);

    Arena *a = arena_new();
    char *content_type = arena_strndup(a, input, ct_len);
    Params multipart = {0};
    if (form_parse_multipart(a, content_type, body, body_len, &multipart) == R_OK)
        check_params(&multipart);
    else if (multipart.count != 0)
        abort(); /* a failed parse must not leave pairs behind */
    arena_free(a);

    a = arena_new();
    Params url = {0};
    if (form_parse_urlencoded(a, input, size, &url) == R_OK)
        check_params(&url);
    else if (url.count != 0)
        abort();
    arena_free(a);
    return 0;
}
