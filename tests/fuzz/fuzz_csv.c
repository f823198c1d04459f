/*
 * fuzz_csv.c: the CSV reader must never read out of bounds or leak,
 * whatever the bytes; every record it returns must hold NUL-terminated
 * fields.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    CsvReader r;
    csv_open(&r, (const char *)data, size);
    int rc;
    while ((rc = csv_next(&r)) == 1) {
        if (r.count == 0 || r.count > CSV_MAX_FIELDS)
            abort();
        for (size_t i = 0; i < r.count; i++)
            (void)strlen(r.fields[i]);
        csv_column(&r, "iso3");
    }
    if (rc == -1 && !r.error)
        abort();
    csv_free(&r);
    return 0;
}
