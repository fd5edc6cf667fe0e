/* Table-driven tests of NPS and CSAT arithmetic (DESIGN §6). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "nps.h"

#define NO_SCORE INT32_MIN

struct nps_case {
        const char *name;
        int32_t scores[32];
        size_t n;
        int32_t want; /* NO_SCORE: no score */
};

static const struct nps_case nps_cases[] = {
    {"none", {0}, 0, NO_SCORE},
    {"each 0-10 once", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 11, -45},
    {"all tens", {10, 10, 10, 10}, 4, 100},
    {"all zeros", {0, 0, 0}, 3, -100},
    {"only passives", {7, 8, 7}, 3, 0},
    {"one promoter one passive", {9, 7}, 2, 50},
    {"12.5 rounds to 13", {9, 10, 0, 7, 7, 8, 8, 7}, 8, 13},
    {"-12.5 rounds to -13", {0, 6, 9, 7, 7, 8, 8, 7}, 8, -13},
    {"33.33 rounds to 33", {9, 7, 8}, 3, 33},
    {"66.67 rounds to 67", {9, 10, 8}, 3, 67},
    {"-66.67 rounds to -67", {0, 6, 8}, 3, -67},
    {"single detractor", {6}, 1, -100},
    {"nine is promoter", {9}, 1, 100},
    {"seven is passive", {7}, 1, 0},
};

static void test_nps_table(void **state)
{
        for (size_t i = 0; i < sizeof(nps_cases) / sizeof(nps_cases[0]); i++) {
                const struct nps_case *c = &nps_cases[i];
                pd_nps_t nps = {0};
                for (size_t j = 0; j < c->n; j++)
                        assert_true(pd_nps_add(&nps, c->scores[j]));
                int32_t got = NO_SCORE;
                bool ok = pd_nps_score(&nps, &got);
                print_message("nps case: %s\n", c->name);
                assert_int_equal(ok, c->want != NO_SCORE);
                if (ok)
                        assert_int_equal(got, c->want);
        }
}

static void test_nps_counts(void **state)
{
        pd_nps_t nps = {0};
        for (int32_t s = 0; s <= 10; s++)
                assert_true(pd_nps_add(&nps, s));
        assert_int_equal(nps.promoters, 2);
        assert_int_equal(nps.passives, 2);
        assert_int_equal(nps.detractors, 7);
}

static void test_nps_invalid(void **state)
{
        static const int32_t bad[] = {-1, 11, 100, INT32_MIN, INT32_MAX};
        pd_nps_t nps = {0};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(pd_nps_add(&nps, bad[i]));
        int32_t got = 42;
        assert_false(pd_nps_score(&nps, &got));
        assert_int_equal(got, 42);
        assert_int_equal(nps.promoters + nps.passives + nps.detractors, 0);
}

static void test_nps_corrupt_counts(void **state)
{
        int32_t got;
        pd_nps_t neg = {.promoters = -1, .passives = 3};
        assert_false(pd_nps_score(&neg, &got));
        pd_nps_t huge = {.promoters = INT64_MAX};
        assert_false(pd_nps_score(&huge, &got));
        pd_nps_t big = {.promoters = 3000000000LL, .detractors = 1000000000LL};
        assert_true(pd_nps_score(&big, &got));
        assert_int_equal(got, 50);
}

static void test_detractor(void **state)
{
        for (int32_t s = -2; s <= 12; s++)
                assert_int_equal(pd_nps_is_detractor(s), s >= 0 && s <= 6);
}

struct csat_case {
        const char *name;
        int32_t scores[16];
        size_t n;
        int32_t want;
};

static const struct csat_case csat_cases[] = {
    {"none", {0}, 0, NO_SCORE},
    {"each 1-5 once", {1, 2, 3, 4, 5}, 5, 40},
    {"all fives", {5, 5}, 2, 100},
    {"all threes", {3, 3, 3}, 3, 0},
    {"2 of 3", {4, 5, 1}, 3, 67},
    {"1 of 8 = 12.5", {4, 1, 1, 1, 2, 2, 3, 3}, 8, 13},
};

static void test_csat_table(void **state)
{
        for (size_t i = 0; i < sizeof(csat_cases) / sizeof(csat_cases[0]);
             i++) {
                const struct csat_case *c = &csat_cases[i];
                pd_csat_t csat = {0};
                for (size_t j = 0; j < c->n; j++)
                        assert_true(pd_csat_add(&csat, c->scores[j]));
                int32_t got = NO_SCORE;
                bool ok = pd_csat_score(&csat, &got);
                print_message("csat case: %s\n", c->name);
                assert_int_equal(ok, c->want != NO_SCORE);
                if (ok)
                        assert_int_equal(got, c->want);
        }
}

static void test_csat_invalid(void **state)
{
        static const int32_t bad[] = {0, 6, -1, 10};
        pd_csat_t csat = {0};
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
                assert_false(pd_csat_add(&csat, bad[i]));
        assert_int_equal(csat.responses, 0);
        int32_t got;
        assert_false(pd_csat_score(&csat, &got));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_nps_table),
            cmocka_unit_test(test_nps_counts),
            cmocka_unit_test(test_nps_invalid),
            cmocka_unit_test(test_nps_corrupt_counts),
            cmocka_unit_test(test_detractor),
            cmocka_unit_test(test_csat_table),
            cmocka_unit_test(test_csat_invalid),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
