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
        pid_t pid = it_worker_start(&w);
        assert_true(pid > 0);
        int rc = it_wait(pid, 300000);
        if (rc)
                it_dump_log(log, 40);
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
