/* Integration: pd-import on the real data ($PD_DATA_DIR) into the broker,
 * then the worker (clock=event) until idle; the importer's and the
 * worker's counts agree with each other and with pd-import --dry-run. */
#include <jansson.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "harness.h"

#define PARTITIONS 4

/* The shipped data, as pd-import --dry-run counts it: 9238 won deals
 * (4562 pipeline rows not won are skipped), 5000 RavenStack renewals,
 * 2000 tickets, 1375 NPS/CSAT answers (100 CES rows skipped), 600
 * checkpoint records; no ImplementationClosed or erasure rows exist. */
static const struct {
        const char *kind;
        long long n;
} expected[] = {
    {"SaleClosed", 9238},   {"ImplementationClosed", 0},
    {"TicketOpened", 2000}, {"SurveyReturned", 1375},
    {"RenewalDue", 5000},   {"CheckpointsRecorded", 600},
    {"CustomerErased", 0},
};
#define EXPECTED_TOTAL 18213

static struct {
        char bootstrap[256];
        char dir[512];
        const char *data;
} g;

static int setup(void **state)
{
        (void)state;
        g.data = getenv("PD_DATA_DIR");
        if (it_init())
                return -1;
        it_mkdtemp("import", g.dir, sizeof(g.dir));
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        it_kill_all();
        return 0;
}

static long long json_int(json_t *root, const char *a, const char *b)
{
        json_t *n = json_object_get(root, a);
        if (b)
                n = json_object_get(n, b);
        return json_is_integer(n) ? (long long)json_integer_value(n) : -1;
}

/* Runs pd-import with the given mode flag; returns its JSON summary. */
static json_t *import(const char *mode, const char *tag)
{
        char bin[512], summary[700], log[700];
        snprintf(summary, sizeof(summary), "%s/%s.json", g.dir, tag);
        snprintf(log, sizeof(log), "%s/%s.log", g.dir, tag);
        char *argv[] = {(char *)it_bin("pd-import", bin, sizeof(bin)),
                        "-b",
                        g.bootstrap,
                        "--data",
                        (char *)g.data,
                        "--summary-json",
                        summary,
                        (char *)mode,
                        NULL};
        pid_t pid = it_spawn(argv, log);
        assert_true(pid > 0);
        int rc = it_wait(pid, 180000);
        if (rc)
                it_dump_log(log, 20);
        assert_int_equal(rc, 0);
        json_t *root = json_load_file(summary, 0, NULL);
        assert_non_null(root);
        return root;
}

/* Runs pd-inspect summary --json on the store; returns the parsed JSON. */
static json_t *inspect(const char *store, const char *as_of)
{
        json_t *root = it_inspect_summary(store, as_of, g.dir);
        assert_non_null(root);
        return root;
}

static json_t *path(json_t *o, const char *a, const char *b, const char *c)
{
        o = json_object_get(o, a);
        if (b)
                o = json_object_get(o, b);
        if (c)
                o = json_object_get(o, c);
        return o;
}

static void test_import_real_data(void **state)
{
        struct stat st;
        char store[512], metrics[600], log[600];
        (void)state;
        if (!g.data || stat(g.data, &st) || !S_ISDIR(st.st_mode))
                skip();
        pid_t broker =
            it_broker_start(PARTITIONS, g.bootstrap, sizeof(g.bootstrap));
        assert_true(broker > 0);

        json_t *dry = import("--dry-run", "dry");
        json_t *real = import(NULL, "real");
        /* --dry-run and the real import map the same events. */
        assert_int_equal(json_int(dry, "events", NULL), EXPECTED_TOTAL);
        assert_int_equal(json_int(real, "events", NULL), EXPECTED_TOTAL);
        assert_int_equal(json_int(real, "invalid", NULL), 0);
        assert_int_equal(json_int(real, "produced", NULL), EXPECTED_TOTAL);
        assert_int_equal(json_int(real, "delivered", NULL), EXPECTED_TOTAL);
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
                assert_int_equal(
                    json_int(dry, "events_by_type", expected[i].kind),
                    expected[i].n);
                assert_int_equal(
                    json_int(real, "events_by_type", expected[i].kind),
                    expected[i].n);
        }
        json_decref(dry);
        json_decref(real);

        it_mkdtemp("import-store", store, sizeof(store));
        snprintf(metrics, sizeof(metrics), "%s/metrics.json", store);
        snprintf(log, sizeof(log), "%s/worker.log", store);
        it_worker_t w = {.bootstrap = g.bootstrap,
                         .group = "it-import",
                         .instance = "w1",
                         .store = store,
                         .metrics = metrics,
                         .log = log,
                         .idle_exit_ms = IT_IDLE_MS,
                         .extra = {"batch.max.messages=2000"}};
        int rc = it_worker_run(&w, 300000);
        assert_int_equal(rc, 0);

        if (getenv("IT_VERBOSE"))
                it_dump_log(metrics, 80);
        /* Everything imported was consumed, none dead-lettered, and every
         * event applied once (the importer's ids are unique). */
        assert_int_equal(it_metric(metrics, "consumed"), EXPECTED_TOTAL);
        assert_int_equal(it_metric(metrics, "dead_lettered"), 0);
        assert_int_equal(it_metric(metrics, "duplicates"), 0);
        assert_int_equal(it_metric(metrics, "applied"), EXPECTED_TOTAL);
        for (size_t i = 0; i < sizeof(expected) / sizeof(expected[0]); i++) {
                char key[128];
                snprintf(key, sizeof(key), "events_by_kind.%s",
                         expected[i].kind);
                assert_int_equal(it_metric(metrics, key), expected[i].n);
        }
        /* One plan per won deal. */
        assert_int_equal(it_metric(metrics, "plans"), 9238);

        /* The surveys the data implies, on the event clock.  The exports
         * hold no ImplementationClosed rows, so every close is a plan's
         * last milestone passing the partition's stream time
         * (survey.close.on.last.milestone): 750 close surveys.  Six-monthly
         * slots fire when the stream time passes close + 6k months:
         * 601 before the data ends.  10 of those 1351 came within 30 days
         * of the customer's previous survey (a new plan closing right
         * after a slot) and went out at the end of the gap.  The counts
         * are the same in every run: on the event clock timers fire as
         * records move their partition's stream time, never by batch. */
        assert_int_equal(it_metric(metrics, "surveys_close"), 750);
        assert_int_equal(it_metric(metrics, "surveys_six_monthly"), 601);
        assert_int_equal(it_metric(metrics, "actions.send_survey"), 750 + 601);
        assert_int_equal(it_metric(metrics, "surveys_deferred"), 10);

        /* The store agrees: every marker's own survey counter sums to
         * the same; the markers record 11 deferrals: the 10 sent and 1
         * still waiting for their gap to end when the data stops. */
        json_t *sum = inspect(store, NULL);
        json_t *sum24 = inspect(store, "2024-12-31T19:00:00Z");
        if (getenv("IT_VERBOSE")) {
                json_dumpf(sum, stderr, JSON_INDENT(1) | JSON_SORT_KEYS);
                json_dumpf(json_object_get(sum24, "rolling"), stderr,
                           JSON_INDENT(1) | JSON_SORT_KEYS);
        }
        assert_int_equal(json_int(sum, "surveys_sent", NULL), 750 + 601);
        assert_int_equal(json_int(sum, "surveys_deferred_by_gap", NULL), 11);
        assert_int_equal(json_int(sum, "surveys_deferred_pending", NULL), 1);
        /* Every RavenStack satisfaction score names its ticket. */
        assert_int_equal(json_int(sum, "ticket_csat_responses", NULL), 1175);

        /* Rolling 90 days as of the latest answer (2025-05-01, the
         * nps-csat-mock answers of 2025-04-07..05-01): its 100 NPS (41
         * promoters, 26 detractors: 15) and 100 CSAT (63 of 4-5: 63 %),
         * no ticket CSAT (the last is from 2024), and no project manager
         * (those respondents bought nothing). */
        json_t *roll = json_object_get(sum, "rolling");
        assert_string_equal(json_string_value(json_object_get(roll, "as_of")),
                            "2025-05-01T12:00:00Z");
        assert_int_equal(json_int(roll, "window_days", NULL), 90);
        assert_int_equal(
            json_int(path(roll, "overall", NULL, NULL), "nps", NULL), 15);
        assert_int_equal(
            json_int(path(roll, "overall", NULL, NULL), "nps_responses", NULL),
            100);
        assert_int_equal(
            json_int(path(roll, "overall", NULL, NULL), "csat_percent", NULL),
            63);
        assert_int_equal(json_int(path(roll, "ticket_csat", NULL, NULL),
                                  "csat_responses", NULL),
                         0);
        assert_int_equal(
            json_int(path(roll, "by_project_manager", "(none)", NULL),
                     "nps_responses", NULL),
            100);
        /* As of the last scored ticket (2024-12-31 19:00): the tickets
         * closed after 2024-10-02 19:00, 164 CSAT answers, 104 of them 4-5
         * (63 %), all linked to their tickets, none NPS; split over the
         * project managers of the customers' current plans. */
        roll = json_object_get(sum24, "rolling");
        json_t *all = path(roll, "overall", NULL, NULL);
        assert_int_equal(json_int(all, "csat_responses", NULL), 164);
        assert_int_equal(json_int(all, "csat_percent", NULL), 63);
        assert_int_equal(json_int(all, "nps_responses", NULL), 0);
        assert_int_equal(json_int(path(roll, "ticket_csat", NULL, NULL),
                                  "csat_responses", NULL),
                         164);
        long long by_pm = 0, by_persona = 0;
        const char *key;
        json_t *v;
        json_object_foreach(json_object_get(roll, "by_project_manager"), key, v)
            by_pm += json_int(v, "csat_responses", NULL);
        json_object_foreach(json_object_get(roll, "by_persona"), key, v)
            by_persona += json_int(v, "csat_responses", NULL);
        assert_int_equal(by_pm, 164);
        assert_int_equal(by_persona, 164);
        json_decref(sum24);
        json_decref(sum);
        it_signal(broker, SIGTERM);
        it_wait(broker, 10000);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_import_real_data),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
