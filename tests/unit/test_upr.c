/*
 * test_upr.c: the rules that classify a UPR recommendation (src/feat/upr.c),
 * on real recommendations of the shipped export and on near misses.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "feat/upr.h"

static void expect(const char *text, const char *class, const char *rule, int asks)
{
    UprVerdict v = upr_classify(text);
    if (strcmp(v.class, class) != 0 || strcmp(v.rule, rule) != 0 || v.asks_to_join != asks)
        fail_msg("\"%s\": got %s/%s/%d, want %s/%s/%d", text, v.class, v.rule, v.asks_to_join,
                 class, rule, asks);
}

static void test_named_protocol(void **state)
{
    (void)state;
    expect("Sign and ratify the Optional Protocol to the International Covenant on Economic, "
           "Social and Cultural Rights",
           "protocol", "names_protocol", 1);
    expect("Ratify the Optional Protocol to ICESCR, first Optional Protocol to ICCPR", "protocol",
           "names_protocol", 1);
    expect("Become a party to OP-ICESCR, OP-CAT, CMW and CED", "protocol", "names_protocol", 1);
    expect("Promptly ratify the Optional Protocol to the International Covenant on Economic, "
           "Social, and Cultural Rights",
           "protocol", "names_protocol", 1);
    expect("Ratify the ICESCR and its Optional Protocol", "protocol", "covenant_and_its_protocol",
           1);
    /* Naming it without asking to join it. */
    expect("Give effect to the views of the Committee under the Optional Protocol to the "
           "ICESCR",
           "protocol", "names_protocol", 0);
}

static void test_unclear_goes_to_a_person(void **state)
{
    (void)state;
    expect("Consider an early ratification of the Optional Protocols to ICCPR and ICESCR, CAT "
           "and the Rome Statute",
           "review", "protocol_unclear", 1);
    expect("Sign, ratify and implement in national law ICESCR, ICCPR and their Optional "
           "Protocols",
           "review", "protocol_unclear", 1);
    /* The Covenant beside another treaty's protocol. */
    expect("Ratify the International Covenant on Economic, Social and Cultural Rights and the "
           "Optional Protocol to the Convention against Torture",
           "review", "protocol_unclear", 1);
}

static void test_covenant_and_other(void **state)
{
    (void)state;
    expect("Accede to the ICESCR", "covenant", "names_covenant", 1);
    expect("Take concrete measures to implement ICESCR and carry out a constructive dialogue "
           "with the CESCR.",
           "covenant", "names_covenant", 0);
    /* Another covenant's protocol, and these rights in general. */
    expect("Ratify the Second Optional Protocol to the International Covenant on Civil and "
           "Political Rights",
           "other", "no_covenant", 1);
    expect("Continue and strengthen efforts in the field of economic, social and cultural "
           "rights.",
           "other", "no_covenant", 0);
    /* Words inside words do not count: "design", "significant". */
    expect("Design significant policies for economic, social and cultural rights", "other",
           "no_covenant", 0);
    expect("", "other", "no_covenant", 0);
}

static void test_rules_have_words(void **state)
{
    (void)state;
    const char *const rules[] = {"names_protocol",   "covenant_and_its_protocol",
                                 "protocol_unclear", "names_covenant",
                                 "no_covenant",      "person"};
    for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
        assert_true(strlen(upr_rule_text(rules[i])) > 20);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_named_protocol),
        cmocka_unit_test(test_unclear_goes_to_a_person),
        cmocka_unit_test(test_covenant_and_other),
        cmocka_unit_test(test_rules_have_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
