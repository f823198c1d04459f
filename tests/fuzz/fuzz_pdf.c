/*
 * fuzz_pdf.c: pdf_letter must never crash, leak or read out of bounds,
 * whatever the fields hold. The input's first byte picks the paper; the
 * rest is split at NUL bytes into lang, org_name, org_address,
 * place_and_date, recipient, subject, body and signature (missing ones are
 * NULL). A letter it accepts must be a whole PDF; one it refuses must leave
 * the output as it was.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/pdf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);

/* fontconfig keeps pattern elements at offsets rather than pointers, so
 * LeakSanitizer reports the patterns Pango caches per thread as leaks; see
 * tests/lsan.supp, which this repeats for the fuzzer's own leak checks. */
const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *copy = malloc(size + 1);
    memcpy(copy, data + 1, size - 1);
    copy[size - 1] = '\0';
    const char *fields[8] = {0};
    const char *p = copy, *end = copy + size - 1;
    for (int i = 0; i < 8 && p <= end; i++) {
        fields[i] = p;
        p += strlen(p) + 1;
    }
    LetterPdf letter = {
        .paper = data[0] & 1 ? PAPER_LETTER : PAPER_A4,
        .lang = fields[0],
        .org_name = fields[1],
        .org_address = fields[2],
        .place_and_date = fields[3],
        .recipient = fields[4],
        .subject = fields[5],
        .body = fields[6],
        .signature = fields[7],
    };
    Buf out = {0};
    buf_puts(&out, "x");
    Result rc = pdf_letter(&letter, &out);
    if (rc == R_OK) {
        if (out.len < 100 || memcmp(out.data, "x%PDF-", 6) != 0 ||
            memcmp(out.data + out.len - 6, "%%EOF\n", 6) != 0)
            abort();
    } else if (rc == R_BAD_REQUEST || rc == R_TOO_LARGE) {
        if (out.len != 1 || strcmp(out.data, "x") != 0)
            abort();
    } else {
        abort();
    }
    buf_free(&out);
    free(copy);
    return 0;
}
