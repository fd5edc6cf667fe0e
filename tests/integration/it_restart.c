/* Integration: a worker stopped (SIGTERM), killed (SIGKILL) or stripped of
 * its store mid-stream and restarted ends with exactly the outputs and
 * markers of an uninterrupted run of the same input: no output id missing,
 * none twice.
 *
 * Each scenario gets its own broker process, so the runs cannot see each
 * other's outputs; the input is pd-import's deterministic sample. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "harness.h"

#define PARTITIONS 4
#define SAMPLE     "300" /* customers: 2334 events with seed 7 (--dry-run) */
#define SEED       "7"

typedef struct run_s {
        char bootstrap[256];
        pid_t broker;
        char store[512];
        char log[600];
        char metrics[600];
        int n; /* worker starts */
} run_t;

static struct {
        pd_codec_t *codec;
        pd_arena_t arena;
        run_t ref;
        it_outputs_t ref_out;
        const char **ref_ids;
        size_t n_ref_ids;
        unsigned seed;
} g;

static void import_sample(const run_t *r)
{
        char bin[512], log[700];
        const char *bootstrap = r->bootstrap;
        snprintf(log, sizeof(log), "%s.import", r->log);
        char *argv[] = {(char *)it_bin("pd-import", bin, sizeof(bin)),
                        "-b",
                        (char *)bootstrap,
                        "--sample",
                        SAMPLE,
                        "--seed",
                        SEED,
                        NULL};
        pid_t pid = it_spawn(argv, log);
        assert_true(pid > 0);
        assert_int_equal(it_wait(pid, 120000), 0);
}

static void run_init(run_t *r, const char *tag)
{
        memset(r, 0, sizeof(*r));
        r->broker =
            it_broker_start(PARTITIONS, r->bootstrap, sizeof(r->bootstrap));
        assert_true(r->broker > 0);
        it_mkdtemp(tag, r->store, sizeof(r->store));
        snprintf(r->log, sizeof(r->log), "%s.log", r->store);
        snprintf(r->metrics, sizeof(r->metrics), "%s.metrics.json", r->store);
        import_sample(r);
}

static void run_term(run_t *r)
{
        it_signal(r->broker, SIGTERM);
        it_wait(r->broker, 10000);
        r->broker = 0;
}

/* Short session timeout: a SIGKILLed member leaves the group in seconds
 * rather than librdkafka's default 45 s. */
static pid_t worker_start(run_t *r, int idle_exit_ms)
{
        it_worker_t w = {.bootstrap = r->bootstrap,
                         .group = "it-restart",
                         .instance = "w1",
                         .store = r->store,
                         .metrics = r->metrics,
                         .log = r->log,
                         .idle_exit_ms = idle_exit_ms,
                         .extra = {"kafka.session.timeout.ms=6000",
                                   "kafka.heartbeat.interval.ms=500"}};
        r->n++;
        pid_t pid = it_worker_start(&w);
        assert_true(pid > 0);
        return pid;
}

/* Runs the worker until it is idle and exits 0. */
static void worker_finish(run_t *r)
{
        /* Rejoining after a kill can take 10 s or more (the old member's
         * session must expire); the worker counts idleness from its
         * start (reported bug), so the idle limit must exceed that. */
        int rc = it_wait(worker_start(r, 20000), 240000);
        if (rc)
                it_dump_log(r->log, 60);
        assert_int_equal(rc, 0);
}

static int setup(void **state)
{
        char errstr[512];
        (void)state;
        if (it_init())
                return -1;
        pd_arena_init(&g.arena);
        g.seed = getenv("IT_SEED") ? (unsigned)atoi(getenv("IT_SEED"))
                                   : (unsigned)time(NULL);
        fprintf(stderr, "it_restart: IT_SEED=%u\n", g.seed);
        srand(g.seed);
        return pd_codec_new(NULL, &g.codec, errstr, sizeof(errstr)) ? -1 : 0;
}

static int teardown(void **state)
{
        (void)state;
        it_kill_all();
        if (g.ref_out.persona.v)
                it_outputs_free(&g.ref_out);
        pd_codec_destroy(g.codec);
        pd_arena_term(&g.arena);
        return 0;
}

/* The uninterrupted run everything else is compared with. */
static void test_reference(void **state)
{
        struct timespec t0, t1;
        (void)state;
        run_init(&g.ref, "ref");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        worker_finish(&g.ref);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        fprintf(stderr, "it_restart: reference run %.1f s\n",
                (double)(t1.tv_sec - t0.tv_sec) +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        assert_int_equal(it_metric(g.ref.metrics, "consumed"), 2334);
        assert_int_equal(it_metric(g.ref.metrics, "dead_lettered"), 0);
        assert_int_equal(it_outputs_read(g.ref.bootstrap, g.codec, &g.ref_out),
                         0);
        g.n_ref_ids = it_outputs_ids(&g.ref_out, &g.arena, &g.ref_ids);
        assert_true(g.n_ref_ids > 2334);
        for (size_t i = 1; i < g.n_ref_ids; i++)
                assert_string_not_equal(g.ref_ids[i - 1], g.ref_ids[i]);
        run_term(&g.ref);
}

/* Same ids (no duplicate, none missing) and the same final markers. */
static void compare_with_reference(run_t *r)
{
        it_outputs_t out;
        const char **ids;
        assert_non_null(g.ref_ids);
        assert_int_equal(it_outputs_read(r->bootstrap, g.codec, &out), 0);
        size_t n = it_outputs_ids(&out, &g.arena, &ids);
        for (size_t i = 1; i < n; i++)
                if (!strcmp(ids[i - 1], ids[i]))
                        fail_msg("output id %s written twice", ids[i]);
        for (size_t i = 0, j = 0; i < n || j < g.n_ref_ids;) {
                int c = i == n             ? 1
                        : j == g.n_ref_ids ? -1
                                           : strcmp(ids[i], g.ref_ids[j]);
                if (c < 0)
                        fail_msg("output id %s not in the reference", ids[i]);
                if (c > 0)
                        fail_msg("output id %s missing", g.ref_ids[j]);
                i++, j++;
        }
        assert_int_equal(out.n_latest, g.ref_out.n_latest);
        for (size_t i = 0; i < g.ref_out.n_latest; i++) {
                const it_record_t *want = g.ref_out.latest[i];
                const it_record_t *got = it_outputs_marker(&out, want->key);
                assert_non_null(got);
                assert_int_equal(got->partition, want->partition);
                assert_int_equal(got->len, want->len);
                if (want->len && memcmp(got->value, want->value, want->len))
                        fail_msg("marker of %s differs", want->key);
        }
        it_outputs_free(&out);
}

static void test_sigterm_restart(void **state)
{
        run_t r;
        (void)state;
        run_init(&r, "sigterm");
        long from = it_file_size(r.log);
        pid_t pid = worker_start(&r, 0);
        assert_int_equal(it_wait_log(r.log, from, "ready=true", 60000), 0);
        it_sleep_ms(300 + rand() % 1500);
        it_signal(pid, SIGTERM);
        int rc = it_wait(pid, 30000);
        if (rc)
                it_dump_log(r.log, 40);
        assert_int_equal(rc, 0); /* SIGTERM: clean exit */
        worker_finish(&r);
        compare_with_reference(&r);
        run_term(&r);
}

/* Three SIGKILLs at random points, then a run to the end; the store is
 * kept (lose_store false) or deleted (true) after each kill. */
static void kill_and_restart(const char *tag, bool lose_store)
{
        run_t r;
        char cmd[700];
        run_init(&r, tag);
        for (int i = 0; i < 3; i++) {
                long from = it_file_size(r.log);
                pid_t pid = worker_start(&r, 0);
                /* A random point after the assignment: mid-stream. */
                assert_int_equal(it_wait_log(r.log, from, "ready=true", 60000),
                                 0);
                it_sleep_ms(rand() % 2000);
                it_signal(pid, SIGKILL);
                assert_int_equal(it_wait(pid, 10000), 128 + SIGKILL);
                if (lose_store) {
                        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", r.store);
                        assert_int_equal(system(cmd), 0);
                }
        }
        worker_finish(&r);
        compare_with_reference(&r);
        run_term(&r);
}

static void test_kill9_restart(void **state)
{
        (void)state;
        kill_and_restart("kill9", false);
}

static void test_kill9_store_lost(void **state)
{
        (void)state;
        kill_and_restart("kill9-nostore", true);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_reference),
            cmocka_unit_test(test_sigterm_restart),
            cmocka_unit_test(test_kill9_restart),
            cmocka_unit_test(test_kill9_store_lost),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
