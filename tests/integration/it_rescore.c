/* Integration: re-scoring in production (model.rescore=true), exactly
 * once, as a new model version.
 *
 * Three customers are scored by model v1 (the shipped model).  The worker
 * then restarts on v2 (GTX Pro weighs marketing 9 instead of technical 1)
 * with model.rescore=true and no new input: every marker is re-scored to
 * version 2 by the sweep, the one customer whose dominant persona changes
 * gets exactly one persona_changed action (cause
 * "<customer>/rescore/2"), the others none.  A third run, and a fourth with
 * a lost store (restored from the changelog), re-score and emit nothing. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define PARTITIONS 4

static struct {
        char bootstrap[256];
        pd_codec_t *codec;
        pd_arena_t arena;
        char dir[512], model_v2[600], store[600];
        int run;
} g;

static int setup(void **state)
{
        (void)state;
        return it_setup(PARTITIONS, g.bootstrap, sizeof(g.bootstrap), &g.arena,
                        &g.codec);
}

static int teardown(void **state)
{
        (void)state;
        it_teardown(&g.arena, g.codec);
        return 0;
}

static void sale(pd_kafka_producer_t *producer, const char *customer,
                 const char *product, const char *why)
{
        static const char *products[1];
        pd_event_t ev = {0};
        products[0] = product;
        ev.event_id = pd_uuid5_printf(&g.arena, "it-rescore/%s", customer);
        ev.customer_id = customer;
        ev.occurred_at = it_ms(2024, 5, 6, 8, 0);
        ev.source = "it";
        ev.kind = PD_EV_SALE_CLOSED;
        ev.u.sale.deal_id = customer;
        ev.u.sale.products = (pd_strs_t){products, 1};
        ev.u.sale.currency = "EUR";
        ev.u.sale.deal_value = 3000;
        ev.u.sale.employees = -1;
        ev.u.sale.revenue = -1;
        ev.u.sale.time_zone = "Europe/Berlin";
        pd_kvs_add(&ev.u.sale.checkpoints, &g.arena, "why_chose_us", why);
        assert_int_equal(
            it_produce_event(producer, g.codec, "customer.lifecycle", -1, &ev),
            0);
}

/* Runs the worker to idleness; returns its metrics file. */
static const char *run_worker(const char *store, const char *model,
                              bool rescore);

/* Starts the worker; fills *log. */
static pid_t start_worker(const char *store, const char *model, bool rescore,
                          const char *metrics, const char **log, bool debug)
{
        *log = pd_arena_printf(&g.arena, "%s/worker-%d.log", g.dir, g.run);
        it_worker_t w = {.bootstrap = g.bootstrap,
                         .group =
                             pd_arena_printf(&g.arena, "it-rescore-%d", g.run),
                         .instance = "w1",
                         .store = store,
                         .metrics = metrics,
                         .log = *log,
                         .idle_exit_ms = IT_IDLE_MS};
        w.extra[0] = pd_arena_printf(&g.arena, "model.path=%s", model);
        w.extra[1] = rescore ? "model.rescore=true" : "model.rescore=false";
        /* Small sweeps: many transactions to crash between. */
        w.extra[2] = "timers.batch.max=20";
        w.extra[3] = debug ? "log.level=debug" : NULL; /* committed txn= */
        g.run++;
        return it_worker_start(&w);
}

static const char *run_worker(const char *store, const char *model,
                              bool rescore)
{
        char *metrics =
            pd_arena_printf(&g.arena, "%s/metrics-%d.json", g.dir, g.run);
        const char *log;
        pid_t pid = start_worker(store, model, rescore, metrics, &log, false);
        assert_true(pid > 0);
        int rc = it_wait(pid, 120000);
        if (rc)
                it_dump_log(log, 40);
        assert_int_equal(rc, 0);
        return metrics;
}

static void write_v2(void)
{
        const char *src = getenv("PD_SOURCE_DIR");
        char cmd[2048];
        assert_non_null(src);
        snprintf(g.model_v2, sizeof(g.model_v2), "%s/model-v2.json", g.dir);
        snprintf(cmd, sizeof(cmd),
                 "sed 's/\"version\": 1,/\"version\": 2,/; "
                 "s/\"GTX Pro\": *{\"technical\": 1.0}/\"GTX Pro\": "
                 "{\"marketing\": 9.0}/' %s/model/persona-model.json > %s && "
                 "grep -q '\"GTX Pro\": {\"marketing\": 9.0}' %s",
                 src, g.model_v2, g.model_v2);
        assert_int_equal(system(cmd), 0);
}

/* v3: GTX Basic weighs marketing 3 instead of simplicity 1, and no
 * hysteresis: a re-score flips every customer it leaves another axis
 * ahead. */
static const char *write_v3(void)
{
        const char *src = getenv("PD_SOURCE_DIR");
        char *path = pd_arena_printf(&g.arena, "%s/model-v3.json", g.dir);
        char cmd[2048];
        snprintf(cmd, sizeof(cmd),
                 "sed 's/\"version\": 1,/\"version\": 3,/; "
                 "s/\"hysteresis\": 1.5,/\"hysteresis\": 0,/; "
                 "s/\"GTX Basic\": *{\"simplicity\": 1.0}/\"GTX Basic\": "
                 "{\"marketing\": 3.0}/' %s/model/persona-model.json > %s && "
                 "grep -q '\"GTX Basic\": {\"marketing\": 3.0}' %s",
                 src, path, path);
        assert_int_equal(system(cmd), 0);
        return path;
}

typedef struct seen_s {
        size_t persona_changed;
        const pd_action_t *last;
        size_t markers_v2, markers;
} seen_t;

static seen_t look(void)
{
        it_outputs_t out;
        seen_t s = {0};
        static const char *customers[] = {"rs-pro", "rs-basic", "rs-design"};
        assert_int_equal(it_outputs_read(g.bootstrap, g.codec, &out), 0);
        for (size_t i = 0; i < out.n_actions; i++)
                if (out.actions[i].kind == PD_ACT_PERSONA_CHANGED) {
                        s.persona_changed++;
                        assert_string_equal(out.actions[i].caused_by,
                                            "rs-pro/rescore/2");
                        assert_string_equal(
                            pd_kvs_get(&out.actions[i].params, "before"),
                            "technical");
                        assert_string_equal(
                            pd_kvs_get(&out.actions[i].params, "after"),
                            "marketing");
                }
        for (size_t i = 0; i < 3; i++) {
                const it_record_t *rec = it_outputs_marker(&out, customers[i]);
                pd_marker_t m;
                char why[256];
                assert_non_null(rec);
                assert_int_equal(pd_codec_marker_decode(g.codec, rec->value,
                                                        rec->len, &g.arena, &m,
                                                        why, sizeof(why)),
                                 PD_OK);
                s.markers++;
                s.markers_v2 += m.model_version == 2;
                if (!strcmp(customers[i], "rs-pro") && m.model_version == 2) {
                        assert_int_equal(m.dominant, PD_AXIS_MARKETING);
                        assert_int_equal(m.n_history, 1);
                        assert_string_equal(m.history[0].event_id,
                                            "rs-pro/rescore/2");
                }
        }
        s.markers = out.persona.n; /* changelog records */
        it_outputs_free(&out);
        return s;
}

static void test_rescore(void **state)
{
        char errstr[512], store2[600];
        const char *src = getenv("PD_SOURCE_DIR");
        char model_v1[600];
        pd_kafka_producer_t *producer = NULL;
        (void)state;
        assert_non_null(src);
        snprintf(model_v1, sizeof(model_v1), "%s/model/persona-model.json",
                 src);
        it_mkdtemp("rescore", g.dir, sizeof(g.dir));
        snprintf(g.store, sizeof(g.store), "%s/store", g.dir);
        snprintf(store2, sizeof(store2), "%s/store-lost", g.dir);
        write_v2();

        assert_int_equal(pd_kafka_producer_new(g.bootstrap, NULL, &producer,
                                               errstr, sizeof(errstr)),
                         PD_OK);
        sale(producer, "rs-pro", "GTX Pro", "integrations");
        sale(producer, "rs-basic", "GTX Basic", "ease_of_use");
        sale(producer, "rs-design", "GTX Basic", "design");
        assert_int_equal(
            pd_kafka_producer_flush(producer, 30000, errstr, sizeof(errstr)),
            PD_OK);
        pd_kafka_producer_destroy(producer);

        /* v1 */
        const char *metrics = run_worker(g.store, model_v1, false);
        assert_int_equal(it_metric(metrics, "applied"), 3);
        seen_t s = look();
        assert_int_equal(s.persona_changed, 0);
        assert_int_equal(s.markers_v2, 0);
        size_t records_v1 = s.markers;

        /* v2 with model.rescore=true: all three re-scored, one flip. */
        metrics = run_worker(g.store, g.model_v2, true);
        assert_int_equal(it_metric(metrics, "consumed"), 0);
        assert_int_equal(it_metric(metrics, "rescored"), 3);
        assert_int_equal(it_metric(metrics, "actions.persona_changed"), 1);
        s = look();
        assert_int_equal(s.persona_changed, 1);
        assert_int_equal(s.markers_v2, 3);
        assert_int_equal(s.markers, records_v1 + 3);

        /* Again: nothing left to re-score, nothing emitted. */
        metrics = run_worker(g.store, g.model_v2, true);
        assert_int_equal(it_metric(metrics, "rescored"), 0);
        s = look();
        assert_int_equal(s.persona_changed, 1);
        assert_int_equal(s.markers, records_v1 + 3);

        /* A lost store restores version 2 from the changelog: the same. */
        metrics = run_worker(store2, g.model_v2, true);
        assert_int_equal(it_metric(metrics, "rescored"), 0);
        s = look();
        assert_int_equal(s.persona_changed, 1);
        assert_int_equal(s.markers, records_v1 + 3);
}

/* A crash in the middle of the sweep repeats nothing: pd-import's sample
 * (300 customers) is scored by v1; the v3 worker with model.rescore=true
 * is killed (SIGKILL) while it re-scores in transactions of 20 markers,
 * then restarted to the end.  Every marker is then version 3, and the
 * persona_changed actions of the re-score are exactly one id per customer
 * whose history records the re-score as its cause. */
static void test_rescore_crash(void **state)
{
        char bin[512], errstr[512];
        const char *src = getenv("PD_SOURCE_DIR");
        char model_v1[600], store[600], ilog[700];
        const char *log;
        (void)state;
        (void)errstr;
        assert_non_null(src);
        snprintf(model_v1, sizeof(model_v1), "%s/model/persona-model.json",
                 src);
        if (!g.dir[0])
                it_mkdtemp("rescore", g.dir, sizeof(g.dir));
        const char *model_v3 = write_v3();
        snprintf(store, sizeof(store), "%s/store-crash", g.dir);
        snprintf(ilog, sizeof(ilog), "%s/import.log", g.dir);
        char *argv[] = {(char *)it_bin("pd-import", bin, sizeof(bin)),
                        "-b",
                        g.bootstrap,
                        "--sample",
                        "300",
                        "--seed",
                        "7",
                        NULL};
        pid_t pid = it_spawn(argv, ilog);
        assert_true(pid > 0);
        assert_int_equal(it_wait(pid, 120000), 0);
        run_worker(store, model_v1, false);

        /* v3: killed during the sweep. */
        pid = start_worker(store, model_v3, true, NULL, &log, true);
        assert_true(pid > 0);
        assert_int_equal(it_wait_log(log, 0, "rescore_pending=", 60000), 0);
        /* right after the sweep's first commit */
        assert_int_equal(it_wait_log(log, 0, "committed txn=", 60000), 0);
        it_signal(pid, SIGKILL);
        it_wait(pid, 10000);
        const char *metrics = run_worker(store, model_v3, true);
        long long resumed = it_metric(metrics, "rescored");
        print_message("re-scored after the crash: %lld\n", resumed);
        /* 285 sample customers (15 erased) and the three above: the crash
         * left part of the sweep to the restart. */
        assert_true(resumed > 0 && resumed < 288);

        /* Every customer's latest marker is v2; the re-score's actions are
         * one id per customer whose history names the re-score. */
        it_outputs_t out;
        size_t customers = 0, flipped = 0, actions = 0;
        const char **ids;
        assert_int_equal(it_outputs_read(g.bootstrap, g.codec, &out), 0);
        for (size_t i = 0; i < out.n_latest; i++) {
                const it_record_t *rec = out.latest[i];
                pd_marker_t m;
                char why[256];
                if (!rec->value || strncmp(rec->key, "sample", 6))
                        continue;
                assert_int_equal(pd_codec_marker_decode(g.codec, rec->value,
                                                        rec->len, &g.arena, &m,
                                                        why, sizeof(why)),
                                 PD_OK);
                customers++;
                assert_int_equal(m.model_version, 3);
                char *cause =
                    pd_arena_printf(&g.arena, "%s/rescore/3", m.customer_id);
                size_t n = 0;
                for (size_t h = 0; h < m.n_history; h++)
                        n += !strcmp(m.history[h].event_id, cause);
                assert_true(n <= 1);
                flipped += n;
                char id[37];
                pd_uuid5(pd_arena_printf(&g.arena, "%s/persona_changed", cause),
                         id);
                size_t found = 0;
                for (size_t a = 0; a < out.n_actions; a++)
                        found += !strcmp(out.actions[a].action_id, id);
                /* at least once (a killed, uncommitted transaction may
                 * have left a copy on the mock cluster: same id) */
                assert_true(n ? found >= 1 : found == 0);
        }
        size_t n_ids = it_outputs_ids(&out, &g.arena, &ids);
        for (size_t a = 0; a < out.n_actions; a++)
                actions += out.actions[a].kind == PD_ACT_PERSONA_CHANGED &&
                           strstr(out.actions[a].caused_by, "/rescore/3") &&
                           !strncmp(out.actions[a].customer_id, "sample", 6);
        print_message("customers %zu, flipped by the re-score %zu, actions "
                      "%zu (records), ids %zu\n",
                      customers, flipped, actions, n_ids);
        assert_true(customers > 250); /* a few are erased */
        assert_true(flipped > 0);
        assert_true(actions >= flipped);
        it_outputs_free(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rescore),
            cmocka_unit_test(test_rescore_crash),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
