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
        char errstr[512];
        (void)state;
        if (it_init() ||
            it_broker_start(PARTITIONS, g.bootstrap, sizeof(g.bootstrap)) < 0)
                return -1;
        pd_arena_init(&g.arena);
        return pd_codec_new(NULL, &g.codec, errstr, sizeof(errstr)) ? -1 : 0;
}

static int teardown(void **state)
{
        (void)state;
        it_kill_all();
        pd_codec_destroy(g.codec);
        pd_arena_term(&g.arena);
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
                              bool rescore)
{
        char *metrics =
            pd_arena_printf(&g.arena, "%s/metrics-%d.json", g.dir, g.run);
        char *log = pd_arena_printf(&g.arena, "%s/worker-%d.log", g.dir, g.run);
        it_worker_t w = {.bootstrap = g.bootstrap,
                         /* A group per run: the mock cluster keeps a
                          * stopped member until its session times out,
                          * and the input offsets live in the partition
                          * state anyway. */
                         .group =
                             pd_arena_printf(&g.arena, "it-rescore-%d", g.run),
                         .instance = "w1",
                         .store = store,
                         .metrics = metrics,
                         .log = log,
                         .idle_exit_ms = IT_IDLE_MS};
        w.extra[0] = pd_arena_printf(&g.arena, "model.path=%s", model);
        w.extra[1] = rescore ? "model.rescore=true" : "model.rescore=false";
        g.run++;
        pid_t pid = it_worker_start(&w);
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

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_rescore),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
