/*
 * fuzz_untc.c: the UNTC status-page parser must never read out of bounds,
 * leak or crash, whatever the bytes; a page it accepts must add up to its
 * own counts and name only mapped states. Seeds: the six real pages
 * (tests/fuzz/corpus/untc/).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/assets.h"
#include "base/untc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static UntcNames names;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!names.count) {
        const Asset *a = asset_find("data/untc-names.csv");
        char err[256];
        if (!a || untc_names_load(&names, (const char *)a->data, a->len, err, sizeof err) != R_OK)
            abort();
    }
    UntcPage p;
    char err[256];
    Result res = untc_parse((const char *)data, size, &names, &p, err, sizeof err);
    if (res == R_OK) {
        int sig = 0, par = 0;
        for (size_t i = 0; i < p.n_participants; i++) {
            const UntcParticipant *q = &p.participants[i];
            if (strlen(q->iso3) != 3 || !untc_names_find(&names, q->name))
                abort();
            sig += q->signature[0] && !q->withdrawn;
            par += q->party[0] && !q->withdrawn;
        }
        if (sig != p.signatories || par != p.parties)
            abort();
        for (size_t i = 0; i < p.n_statements; i++)
            if (strlen(p.statements[i].iso3) != 3 || p.statements[i].n_articles > UNTC_MAX_ARTICLES)
                abort();
    } else if (!err[0] || p.n_participants || p.n_statements) {
        abort(); /* a refusal says why and leaves nothing behind */
    }
    untc_page_free(&p);
    return 0;
}
