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

/* ---- rolling 90-day window -------------------------------------------- */

#define DAY       (86400LL * 1000)
#define AS_OF     1498824000000LL /* 2017-06-30T12:00:00Z */
#define WIN_START 1491048000000LL /* 2017-04-01T12:00:00Z = AS_OF - 90 d */

struct window_case {
        const char *name;
        int64_t at;
        int32_t days;
        bool in;
};

static const struct window_case window_cases[] = {
    {"at the as-of instant", AS_OF, 90, true},
    {"one ms after as-of (not yet)", AS_OF + 1, 90, false},
    {"a day before", AS_OF - DAY, 90, true},
    {"exactly 90 days old (left)", WIN_START, 90, false},
    {"90 days old less 1 ms", WIN_START + 1, 90, true},
    {"91 days old", AS_OF - 91 * DAY, 90, false},
    {"a year old", AS_OF - 365 * DAY, 90, false},
    {"30-day window, 29 days old", AS_OF - 29 * DAY, 30, true},
    {"30-day window, 30 days old", AS_OF - 30 * DAY, 30, false},
    {"zero-day window", AS_OF, 0, false},
    {"epoch far before", 0, 90, false},
};

static void test_window_table(void **state)
{
        for (size_t i = 0; i < sizeof(window_cases) / sizeof(window_cases[0]);
             i++) {
                const struct window_case *c = &window_cases[i];
                print_message("window case: %s\n", c->name);
                assert_int_equal(pd_window_contains(AS_OF, c->days, c->at),
                                 c->in);
        }
        assert_int_equal(WIN_START, AS_OF - PD_ROLLING_DAYS * DAY);
}

struct answer {
        int64_t at;
        bool csat;
        int32_t score;
};

struct rolling_case {
        const char *name;
        struct answer answers[12];
        size_t n;
        int32_t counted;  /* answers inside the window and on their scale */
        int32_t nps;      /* NO_SCORE: no NPS answer in the window */
        int32_t csat_pct; /* NO_SCORE: no CSAT answer in the window */
};

static const struct rolling_case rolling_cases[] = {
    {"nothing", {{0}}, 0, 0, NO_SCORE, NO_SCORE},
    {"all outside the window",
     {{WIN_START, false, 10}, {AS_OF + DAY, false, 0}, {WIN_START, true, 5}},
     3,
     0,
     NO_SCORE,
     NO_SCORE},
    /* Inside: 10, 9, 3 (NPS) -> (2 - 1) / 3 = 33; the 0 is 95 days old. */
    {"old detractor drops out",
     {{AS_OF - 95 * DAY, false, 0},
      {AS_OF - 10 * DAY, false, 10},
      {AS_OF - 20 * DAY, false, 9},
      {AS_OF - 89 * DAY, false, 3}},
     4,
     3,
     33,
     NO_SCORE},
    /* NPS and CSAT apart: NPS 7, 8 -> 0; CSAT 5, 4, 2 -> 67 %. */
    {"NPS and CSAT kept apart",
     {{AS_OF, false, 7},
      {AS_OF - DAY, false, 8},
      {AS_OF - 2 * DAY, true, 5},
      {AS_OF - 3 * DAY, true, 4},
      {AS_OF - 4 * DAY, true, 2}},
     5,
     5,
     0,
     67},
    /* Off-scale scores never count: NPS 11, CSAT 0 and 6. */
    {"off-scale ignored",
     {{AS_OF, false, 11},
      {AS_OF, true, 0},
      {AS_OF, true, 6},
      {AS_OF, false, 6},
      {AS_OF, true, 1}},
     5,
     2,
     -100,
     0},
    /* 8 promoters (one 90 days old less 1 ms), 2 passives, 1 detractor
     * inside: 100 x 7 / 11 = 63.6 -> 64; the promoter exactly 90 days old
     * is out (counted, it would be 100 x 8 / 12 = 67). */
    {"boundary decides",
     {{AS_OF - 1 * DAY, false, 10},
      {AS_OF - 2 * DAY, false, 10},
      {AS_OF - 3 * DAY, false, 9},
      {AS_OF - 4 * DAY, false, 9},
      {AS_OF - 5 * DAY, false, 9},
      {AS_OF - 6 * DAY, false, 10},
      {AS_OF - 7 * DAY, false, 9},
      {WIN_START + 1, false, 10},
      {AS_OF - 8 * DAY, false, 7},
      {AS_OF - 9 * DAY, false, 8},
      {AS_OF - 10 * DAY, false, 2},
      {WIN_START, false, 10}},
     12,
     11,
     64,
     NO_SCORE},
};

static void test_rolling_table(void **state)
{
        for (size_t i = 0; i < sizeof(rolling_cases) / sizeof(rolling_cases[0]);
             i++) {
                const struct rolling_case *c = &rolling_cases[i];
                pd_rolling_t r = {0};
                int32_t counted = 0, got;
                print_message("rolling case: %s\n", c->name);
                for (size_t j = 0; j < c->n; j++)
                        counted += pd_rolling_add(
                            &r, AS_OF, PD_ROLLING_DAYS, c->answers[j].at,
                            c->answers[j].csat, c->answers[j].score);
                assert_int_equal(counted, c->counted);
                bool ok = pd_nps_score(&r.nps, &got);
                assert_int_equal(ok, c->nps != NO_SCORE);
                if (ok)
                        assert_int_equal(got, c->nps);
                ok = pd_csat_score(&r.csat, &got);
                assert_int_equal(ok, c->csat_pct != NO_SCORE);
                if (ok)
                        assert_int_equal(got, c->csat_pct);
        }
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
            cmocka_unit_test(test_window_table),
            cmocka_unit_test(test_rolling_table),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
