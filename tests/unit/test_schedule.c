/* Table-driven tests of the survey calendar (DESIGN §6): month-end
 * clamping, leap years, zones either side of UTC and both DST transitions.
 * Every expected instant is written out in UTC. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "schedule.h"

#define NOON 720
#define NINE 540

struct slot_case {
        const char *name;
        const char *close; /* UTC */
        const char *tz;
        int32_t k;
        int32_t months;
        int32_t minute;
        const char *want; /* UTC */
};

static const struct slot_case slot_cases[] = {
    /* month ends and leap years, UTC */
    {"Jan 31 +1 month clamps to Feb 28", "2023-01-31T10:00:00Z", "UTC", 1, 1,
     NINE, "2023-02-28T09:00:00Z"},
    {"Jan 31 +13 months clamps to Feb 29", "2023-01-31T10:00:00Z", "UTC", 13, 1,
     NINE, "2024-02-29T09:00:00Z"},
    {"Jan 31 +2 months is Mar 31 (from the anchor)", "2023-01-31T10:00:00Z",
     "UTC", 2, 1, NINE, "2023-03-31T09:00:00Z"},
    {"Jan 31 slot 0 is the anchor date", "2023-01-31T10:00:00Z", "UTC", 0, 6,
     NINE, "2023-01-31T09:00:00Z"},
    {"Aug 31 2023 slot 1 -> Feb 29 2024", "2023-08-31T10:00:00Z", "UTC", 1, 6,
     NINE, "2024-02-29T09:00:00Z"},
    {"Aug 31 2023 slot 2 -> Aug 31 2024", "2023-08-31T10:00:00Z", "UTC", 2, 6,
     NINE, "2024-08-31T09:00:00Z"},
    {"Aug 31 2023 slot 3 -> Feb 28 2025", "2023-08-31T10:00:00Z", "UTC", 3, 6,
     NINE, "2025-02-28T09:00:00Z"},
    {"Aug 31 2023 slot 4 -> Aug 31 2025", "2023-08-31T10:00:00Z", "UTC", 4, 6,
     NINE, "2025-08-31T09:00:00Z"},
    {"Feb 29 2024 slot 1 -> Aug 29", "2024-02-29T10:00:00Z", "UTC", 1, 6, NINE,
     "2024-08-29T09:00:00Z"},
    {"Feb 29 2024 slot 2 -> Feb 28 2025", "2024-02-29T10:00:00Z", "UTC", 2, 6,
     NINE, "2025-02-28T09:00:00Z"},
    {"Feb 29 2024 slot 8 -> Feb 29 2028", "2024-02-29T10:00:00Z", "UTC", 8, 6,
     NINE, "2028-02-29T09:00:00Z"},
    {"Feb 29 2096 slot 8 -> Feb 28 2100 (not leap)", "2096-02-29T10:00:00Z",
     "UTC", 8, 6, NINE, "2100-02-28T09:00:00Z"},
    {"Aug 31 1999 slot 1 -> Feb 29 2000 (leap)", "1999-08-31T10:00:00Z", "UTC",
     1, 6, NINE, "2000-02-29T09:00:00Z"},

    /* NULL and unknown zones mean UTC */
    {"NULL tz is UTC", "2023-08-31T23:30:00Z", NULL, 1, 6, NINE,
     "2024-02-29T09:00:00Z"},
    {"unknown tz is UTC", "2023-08-31T23:30:00Z", "Mars/Olympus_Mons", 1, 6,
     NINE, "2024-02-29T09:00:00Z"},
    {"path escape is UTC", "2023-08-31T23:30:00Z", "../../etc/passwd", 1, 6,
     NINE, "2024-02-29T09:00:00Z"},
    {"Etc/UTC", "2023-08-31T23:30:00Z", "Etc/UTC", 1, 6, NINE,
     "2024-02-29T09:00:00Z"},

    /* west of UTC: the local date is the day before the UTC date */
    {"New York anchor is the local date", "2024-01-15T03:00:00Z",
     "America/New_York", 0, 6, NINE, "2024-01-14T14:00:00Z"},
    {"New York slot 1 in EDT", "2024-01-15T03:00:00Z", "America/New_York", 1, 6,
     NINE, "2024-07-14T13:00:00Z"},

    /* east of UTC: the local date is the day after the UTC date */
    {"Tokyo anchor is the local date", "2024-03-31T16:00:00Z", "Asia/Tokyo", 0,
     6, NINE, "2024-04-01T00:00:00Z"},
    {"Tokyo 08:00 is the previous UTC day", "2024-03-31T16:00:00Z",
     "Asia/Tokyo", 1, 6, 480, "2024-09-30T23:00:00Z"},
    {"Sydney Aug 31 -> Feb 28 in AEDT", "2024-08-30T15:00:00Z",
     "Australia/Sydney", 1, 6, NINE, "2025-02-27T22:00:00Z"},
    {"Sydney Aug 31 slot 2 in AEST", "2024-08-30T15:00:00Z", "Australia/Sydney",
     2, 6, NINE, "2025-08-30T23:00:00Z"},

    /* Europe/Berlin: spring forward 2024-03-31 02:00 CET -> 03:00 CEST */
    {"Berlin gap 02:30 -> 03:00 CEST", "2023-03-31T10:00:00Z", "Europe/Berlin",
     2, 6, 150, "2024-03-31T01:00:00Z"},
    {"Berlin gap start 02:00 -> 03:00 CEST", "2023-03-31T10:00:00Z",
     "Europe/Berlin", 2, 6, 120, "2024-03-31T01:00:00Z"},
    {"Berlin 01:59 before the gap", "2023-03-31T10:00:00Z", "Europe/Berlin", 2,
     6, 119, "2024-03-31T00:59:00Z"},
    {"Berlin 03:00 after the gap", "2023-03-31T10:00:00Z", "Europe/Berlin", 2,
     6, 180, "2024-03-31T01:00:00Z"},
    {"Berlin 02:30 on a normal day (slot 1)", "2023-03-31T10:00:00Z",
     "Europe/Berlin", 1, 6, 150, "2023-09-30T00:30:00Z"},
    /* Europe/Berlin: fall back 2024-10-27 03:00 CEST -> 02:00 CET */
    {"Berlin overlap 02:30 fires at the first (CEST)", "2024-04-27T10:00:00Z",
     "Europe/Berlin", 1, 6, 150, "2024-10-27T00:30:00Z"},
    {"Berlin overlap 02:00 fires at the first (CEST)", "2024-04-27T10:00:00Z",
     "Europe/Berlin", 1, 6, 120, "2024-10-27T00:00:00Z"},
    {"Berlin 03:00 after the overlap (CET)", "2024-04-27T10:00:00Z",
     "Europe/Berlin", 1, 6, 180, "2024-10-27T02:00:00Z"},
    {"Berlin Aug 31 -> Feb 29 CET", "2023-08-31T08:00:00Z", "Europe/Berlin", 1,
     6, NINE, "2024-02-29T08:00:00Z"},
    {"Berlin Aug 31 slot 2 -> Aug 31 CEST", "2023-08-31T08:00:00Z",
     "Europe/Berlin", 2, 6, NINE, "2024-08-31T07:00:00Z"},

    /* America/New_York: spring forward 2024-03-10 02:00 EST -> 03:00 EDT */
    {"New York gap 02:30 -> 03:00 EDT", "2023-09-10T16:00:00Z",
     "America/New_York", 1, 6, 150, "2024-03-10T07:00:00Z"},
    {"New York 01:59 before the gap", "2023-09-10T16:00:00Z",
     "America/New_York", 1, 6, 119, "2024-03-10T06:59:00Z"},
    /* America/New_York: fall back 2024-11-03 02:00 EDT -> 01:00 EST */
    {"New York overlap 01:30 fires at the first (EDT)", "2024-05-03T16:00:00Z",
     "America/New_York", 1, 6, 90, "2024-11-03T05:30:00Z"},
    {"New York 02:00 after the overlap (EST)", "2024-05-03T16:00:00Z",
     "America/New_York", 1, 6, 120, "2024-11-03T07:00:00Z"},

    /* Australia/Sydney: spring forward 2024-10-06 02:00 AEST -> 03:00 */
    {"Sydney gap 02:30 -> 03:00 AEDT", "2024-04-05T23:00:00Z",
     "Australia/Sydney", 1, 6, 150, "2024-10-05T16:00:00Z"},

    /* minutes outside a day are clamped */
    {"negative minute clamps to midnight", "2024-01-10T10:00:00Z", "UTC", 0, 6,
     -5, "2024-01-10T00:00:00Z"},
    {"minute past the day clamps to 23:59", "2024-01-10T10:00:00Z", "UTC", 0, 6,
     5000, "2024-01-10T23:59:00Z"},
};

static int64_t parse_or_fail(const char *s)
{
        int64_t at = 0;
        assert_true(pd_schedule_parse(s, &at));
        return at;
}

static void test_slot_table(void **state)
{
        for (size_t i = 0; i < sizeof(slot_cases) / sizeof(slot_cases[0]);
             i++) {
                const struct slot_case *c = &slot_cases[i];
                char got[32];
                int64_t at = pd_schedule_slot_at(parse_or_fail(c->close), c->tz,
                                                 c->k, c->months, c->minute);
                pd_schedule_format(at, got, sizeof(got));
                if (strcmp(got, c->want))
                        fail_msg("%s: got %s want %s", c->name, got, c->want);
        }
}

/* Slot k never depends on slot k-1: walking every slot of a long schedule
 * returns to the 31st whenever the month has one. */
static void test_slots_from_anchor(void **state)
{
        int64_t close = parse_or_fail("2023-08-31T12:00:00Z");
        for (int32_t k = 0; k < 40; k += 2) {
                char got[32];
                int64_t at =
                    pd_schedule_slot_at(close, "Europe/Berlin", k, 6, NINE);
                pd_schedule_format(at, got, sizeof(got));
                assert_memory_equal(got + 4, "-08-31T07:00:00Z", 16);
        }
}

static void test_tz_restored(void **state)
{
        int64_t close = parse_or_fail("2024-01-01T00:00:00Z");
        setenv("TZ", "America/Chicago", 1);
        pd_schedule_slot_at(close, "Asia/Tokyo", 1, 6, NINE);
        assert_string_equal(getenv("TZ"), "America/Chicago");
        unsetenv("TZ");
        pd_schedule_slot_at(close, "Asia/Tokyo", 1, 6, NINE);
        assert_null(getenv("TZ"));
}

static void test_tz_valid(void **state)
{
        static const struct {
                const char *tz;
                bool want;
        } cases[] = {
            {"Europe/Berlin", true},
            {"America/New_York", true},
            {"UTC", true},
            {"Asia/Kolkata", true},
            {NULL, false},
            {"", false},
            {"Mars/Olympus_Mons", false},
            {"../../etc/passwd", false},
            {"/etc/localtime", false},
            {"zone.tab", false},
            {"Europe", false},
            {"Europe/Berlin ", false},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
                if (pd_schedule_tz_valid(cases[i].tz) != cases[i].want)
                        fail_msg("tz %s: want %d", cases[i].tz, cases[i].want);
}

static void test_parse_format(void **state)
{
        static const struct {
                const char *in;
                bool ok;
                const char *want;
        } cases[] = {
            {"2024-02-29", true, "2024-02-29T00:00:00Z"},
            {"2024-03-10 02:30", true, "2024-03-10T02:30:00Z"},
            {"2024-03-10 02:30:15", true, "2024-03-10T02:30:15Z"},
            {"2024-03-10T02:30:15Z", true, "2024-03-10T02:30:15Z"},
            {"2024-03-10T02:30:15", true, "2024-03-10T02:30:15Z"},
            {"1970-01-01T00:00:00Z", true, "1970-01-01T00:00:00Z"},
            {"1969-12-31T23:59:59Z", true, "1969-12-31T23:59:59Z"},
            {"2023-02-29", false, NULL},
            {"2024-13-01", false, NULL},
            {"2024-00-10", false, NULL},
            {"2024-01-00", false, NULL},
            {"2024-01-01T24:00:00Z", false, NULL},
            {"2024-01-01T23:60", false, NULL},
            {"2024-01-01x", false, NULL},
            {"2024-01-01T10:00:00Zx", false, NULL},
            {"2024-1-01", false, NULL},
            {"", false, NULL},
            {NULL, false, NULL},
        };
        for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
                int64_t at = 0;
                char got[32];
                bool ok = pd_schedule_parse(cases[i].in, &at);
                if (ok != cases[i].ok)
                        fail_msg("parse %s: want %d", cases[i].in, cases[i].ok);
                if (!ok)
                        continue;
                pd_schedule_format(at, got, sizeof(got));
                assert_string_equal(got, cases[i].want);
        }
        int64_t at = 0;
        assert_true(pd_schedule_parse("1969-12-31T23:59:59Z", &at));
        assert_int_equal(at, -1000);
}

static void test_format_edges(void **state)
{
        char buf[32];
        pd_schedule_format(0, buf, sizeof(buf));
        assert_string_equal(buf, "1970-01-01T00:00:00Z");
        pd_schedule_format(-1, buf, sizeof(buf));
        assert_string_equal(buf, "1969-12-31T23:59:59Z");
        pd_schedule_format(1709164800999LL, buf, 21);
        assert_string_equal(buf, "2024-02-29T00:00:00Z");
        pd_schedule_format(1709164800000LL, buf, 5);
        assert_string_equal(buf, "2024");
}

static void test_add_days(void **state)
{
        int64_t at = parse_or_fail("2024-02-28T12:00:00Z");
        char buf[32];
        pd_schedule_format(pd_schedule_add_days(at, 1), buf, sizeof(buf));
        assert_string_equal(buf, "2024-02-29T12:00:00Z");
        pd_schedule_format(pd_schedule_add_days(at, 90), buf, sizeof(buf));
        assert_string_equal(buf, "2024-05-28T12:00:00Z");
        pd_schedule_format(pd_schedule_add_days(at, -59), buf, sizeof(buf));
        assert_string_equal(buf, "2023-12-31T12:00:00Z");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_slot_table),
            cmocka_unit_test(test_slots_from_anchor),
            cmocka_unit_test(test_tz_restored),
            cmocka_unit_test(test_tz_valid),
            cmocka_unit_test(test_parse_format),
            cmocka_unit_test(test_format_edges),
            cmocka_unit_test(test_add_days),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
