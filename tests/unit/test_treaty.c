/*
 * test_treaty.c: status derived from treaty actions, and the ask for every
 * combination of Protocol and Covenant standing (src/treaty.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "feat/treaty.h"

static Standing fold(const char *const actions[][3], int n)
{
    Standing s = {0};
    for (int i = 0; i < n; i++)
        treaty_apply_action(&s, actions[i][0], actions[i][1], actions[i][2]);
    return s;
}

static void test_status_from_actions(void **state)
{
    (void)state;
    Standing none = fold(NULL, 0);
    assert_int_equal(none.status, STATUS_NONE);

    const char *const signed_only[][3] = {{"signature", "", "2013-09-24"}};
    Standing s = fold(signed_only, 1);
    assert_int_equal(s.status, STATUS_SIGNATORY);
    assert_string_equal(s.signature_date, "2013-09-24");
    assert_string_equal(s.party_date, "");

    const char *const ratified[][3] = {{"signature", "", "2009-09-24"},
                                       {"ratification", "", "2011-10-24"}};
    s = fold(ratified, 2);
    assert_int_equal(s.status, STATUS_PARTY);
    assert_string_equal(s.party_date, "2011-10-24");
    assert_string_equal(s.party_kind, "ratification");

    const char *const acceded[][3] = {{"accession", "", "2025-02-19"}};
    s = fold(acceded, 1);
    assert_int_equal(s.status, STATUS_PARTY);
    assert_string_equal(s.party_kind, "accession");
    assert_string_equal(s.signature_date, "");

    const char *const succeeded[][3] = {{"succession", "", "1993-05-22"}};
    assert_int_equal(fold(succeeded, 1).status, STATUS_PARTY);

    const char *const withdrew[][3] = {{"signature", "", "2009-09-24"},
                                       {"ratification", "", "2011-10-24"},
                                       {"declaration", "11", "2012-01-01"},
                                       {"withdrawal", "", "2020-01-01"}};
    s = fold(withdrew, 4);
    assert_int_equal(s.status, STATUS_NONE);
    assert_true(s.withdrawn);
    assert_string_equal(s.declared, "");

    const char *const declared[][3] = {{"ratification", "", "2011-10-24"},
                                       {"declaration", "10", "2011-10-24"},
                                       {"declaration", "11", "2012-03-01"}};
    s = fold(declared, 3);
    assert_string_equal(s.declared, "10 11");
}

static Standing standing(TreatyStatus status, const char *declared)
{
    Standing s = {0};
    s.status = status;
    strcpy(s.declared, declared);
    return s;
}

static void test_every_ask(void **state)
{
    (void)state;
    const char *opt_in = "10 11";
    Standing cov_none = standing(STATUS_NONE, ""), cov_signed = standing(STATUS_SIGNATORY, ""),
             cov_party = standing(STATUS_PARTY, "");
    Standing op_none = standing(STATUS_NONE, ""), op_signed = standing(STATUS_SIGNATORY, ""),
             op_party = standing(STATUS_PARTY, ""), op_half = standing(STATUS_PARTY, "11"),
             op_full = standing(STATUS_PARTY, "11 10");

    assert_int_equal(treaty_ask(&op_none, &cov_none, opt_in), ASK_JOIN_COVENANT);
    assert_int_equal(treaty_ask(&op_none, &cov_signed, opt_in), ASK_RATIFY_COVENANT_SIGN);
    assert_int_equal(treaty_ask(&op_signed, &cov_signed, opt_in), ASK_RATIFY_COVENANT_FIRST);
    assert_int_equal(treaty_ask(&op_none, &cov_party, opt_in), ASK_SIGN_AND_RATIFY);
    assert_int_equal(treaty_ask(&op_signed, &cov_party, opt_in), ASK_RATIFY);
    assert_int_equal(treaty_ask(&op_party, &cov_party, opt_in), ASK_DECLARE);
    assert_int_equal(treaty_ask(&op_half, &cov_party, opt_in), ASK_DECLARE);
    assert_int_equal(treaty_ask(&op_full, &cov_party, opt_in), ASK_IMPLEMENT);
    /* A treaty without opt-in articles: a party is asked to implement. */
    assert_int_equal(treaty_ask(&op_party, &cov_party, ""), ASK_IMPLEMENT);
    /* Without a parent covenant, the ask depends on the protocol only. */
    assert_int_equal(treaty_ask(&op_none, NULL, opt_in), ASK_SIGN_AND_RATIFY);
    assert_int_equal(treaty_ask(&op_signed, NULL, opt_in), ASK_RATIFY);
    assert_int_equal(treaty_ask(&op_half, NULL, opt_in), ASK_DECLARE);
    assert_int_equal(treaty_ask(&op_party, NULL, ""), ASK_IMPLEMENT);
}

/* The ask under a campaign instrument: its parent's standing counts only
 * when it has one (the OP-ICESCR and the Covenant); for one without (the
 * OP-CEDAW) no state is asked a Covenant step, whatever its Covenant
 * standing. */
static void test_ask_under_a_campaign(void **state)
{
    (void)state;
    Campaign icescr = {.id = INSTRUMENT_PROTOCOL, .parent_id = INSTRUMENT_COVENANT};
    Campaign cedaw = {.id = INSTRUMENT_OP_CEDAW, .parent_id = 0};
    strcpy(icescr.opt_in, "10 11");
    const TreatyStatus statuses[] = {STATUS_NONE, STATUS_SIGNATORY, STATUS_PARTY};
    for (int p = 0; p < 3; p++)
        for (int c = 0; c < 3; c++) {
            CountryRow row = {0};
            row.protocol = standing(statuses[p], "");
            row.covenant = standing(statuses[c], "");
            Ask with = treaty_row_ask(&icescr, &row), without = treaty_row_ask(&cedaw, &row);
            assert_int_equal(with, treaty_ask(&row.protocol, &row.covenant, "10 11"));
            assert_int_equal(without, statuses[p] == STATUS_PARTY       ? ASK_IMPLEMENT
                                      : statuses[p] == STATUS_SIGNATORY ? ASK_RATIFY
                                                                        : ASK_SIGN_AND_RATIFY);
        }
    CountryRow usa = {0};
    usa.covenant = standing(STATUS_SIGNATORY, "");
    assert_int_equal(treaty_row_ask(&icescr, &usa), ASK_RATIFY_COVENANT_SIGN);
    assert_int_equal(treaty_row_ask(&cedaw, &usa), ASK_SIGN_AND_RATIFY);
}

/* The slot of instrument in CountryRow.other. */
static int slot(int64_t instrument)
{
    for (int k = 0; k < OTHER_PROCEDURES; k++)
        if (treaty_other_ids[k] == instrument)
            return k;
    fail_msg("instrument %lld is no complaint procedure", (long long)instrument);
    return -1;
}

static void test_ask_words(void **state)
{
    (void)state;
    assert_string_equal(treaty_ask_code(ASK_SIGN_AND_RATIFY), "sign_and_ratify");
    assert_string_equal(treaty_ask_code(ASK_RATIFY), "ratify");
    assert_string_equal(treaty_ask_code(ASK_IMPLEMENT), "implement");
    for (int a = ASK_JOIN_COVENANT; a <= ASK_IMPLEMENT; a++) {
        assert_non_null(treaty_ask_text((Ask)a));
        assert_true(strlen(treaty_ask_text((Ask)a)) > 20);
    }
    assert_string_equal(treaty_status_code(STATUS_PARTY), "party");
    assert_string_equal(treaty_status_code(STATUS_SIGNATORY), "signatory");
    assert_string_equal(treaty_status_code(STATUS_NONE), "none");
}

/* The record on the other complaint procedures: parties only (a signature
 * or a denunciation is not acceptance), in the order they joined, and the
 * list joined with the word given. */
static void test_accepted_procedures(void **state)
{
    (void)state;
    CountryRow row = {0};
    treaty_apply_action(&row.other[slot(INSTRUMENT_OP_CEDAW)], "ratification", "", "2002-06-28");
    treaty_apply_action(&row.other[slot(INSTRUMENT_OP_CRPD)], "signature", "", "2007-03-30");
    treaty_apply_action(&row.other[slot(INSTRUMENT_OP_CRC_IC)], "accession", "", "2017-09-29");
    treaty_apply_action(&row.other[slot(INSTRUMENT_ICCPR_OP1)], "accession", "", "1986-08-08");
    AcceptedProcedure p[OTHER_PROCEDURES];
    assert_int_equal(treaty_accepted_procedures(&row, p), 3);
    assert_int_equal(treaty_accepted_count(&row), 3);
    assert_string_equal(p[0].instrument, "ICCPR-OP1");
    assert_string_equal(p[0].year, "1986");
    assert_string_equal(p[1].instrument, "OP-CEDAW");
    assert_string_equal(p[2].instrument, "OP-CRC-IC");
    Arena *a = arena_new();
    assert_string_equal(treaty_procedures_list(a, "et", p, 3),
                        "ICCPR-OP1 (1986), OP-CEDAW (2002) et OP-CRC-IC (2017)");
    assert_string_equal(treaty_procedures_list(a, "and", p, 1), "ICCPR-OP1 (1986)");
    assert_string_equal(treaty_procedures_list(a, "and", p, 0), "");
    treaty_apply_action(&row.other[slot(INSTRUMENT_ICCPR_OP1)], "withdrawal", "", "1998-01-01");
    assert_int_equal(treaty_accepted_procedures(&row, p), 2);
    assert_string_equal(p[0].instrument, "OP-CEDAW");
    assert_string_equal(treaty_procedures_list(a, "and", p, 2),
                        "OP-CEDAW (2002) and OP-CRC-IC (2017)");
    /* Under another campaign the OP-ICESCR is one of the others. */
    treaty_apply_action(&row.other[slot(INSTRUMENT_PROTOCOL)], "ratification", "", "2011-10-24");
    assert_int_equal(treaty_accepted_procedures(&row, p), 3);
    assert_string_equal(p[1].instrument, "OP-ICESCR");
    assert_string_equal(p[1].year, "2011");
    arena_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_from_actions), cmocka_unit_test(test_every_ask),
        cmocka_unit_test(test_ask_words),           cmocka_unit_test(test_ask_under_a_campaign),
        cmocka_unit_test(test_accepted_procedures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
