/* Integration: the same CRM event delivered three times (same event_id)
 * changes nothing the second and third time. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "harness.h"

#define PARTITIONS 4
#define CUSTOMER   "it-dup-customer"

static struct {
        char bootstrap[256];
        pd_codec_t *codec;
        pd_arena_t arena;
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

static void test_same_event_thrice(void **state)
{
        char errstr[512], store[512], metrics[600], log[600];
        const char *products[] = {"GTX Basic"};
        pd_kafka_producer_t *producer = NULL;
        (void)state;
        pd_event_t ev = {0};
        ev.event_id = pd_uuid5_printf(&g.arena, "it-dup/sale");
        ev.customer_id = CUSTOMER;
        ev.occurred_at = it_ms(2024, 5, 6, 8, 0);
        ev.source = "it";
        ev.kind = PD_EV_SALE_CLOSED;
        ev.u.sale.deal_id = "D-1";
        ev.u.sale.products = (pd_strs_t){products, 1};
        ev.u.sale.currency = "EUR";
        ev.u.sale.deal_value = 1000;
        ev.u.sale.employees = 5;
        ev.u.sale.revenue = -1;
        ev.u.sale.time_zone = "Europe/Madrid";
        pd_kvs_add(&ev.u.sale.checkpoints, &g.arena, "why_chose_us",
                   "ease_of_use");

        assert_int_equal(pd_kafka_producer_new(g.bootstrap, NULL, &producer,
                                               errstr, sizeof(errstr)),
                         PD_OK);
        for (int i = 0; i < 3; i++)
                assert_int_equal(it_produce_event(producer, g.codec,
                                                  "customer.lifecycle", -1,
                                                  &ev),
                                 0);
        assert_int_equal(
            pd_kafka_producer_flush(producer, 30000, errstr, sizeof(errstr)),
            PD_OK);
        pd_kafka_producer_destroy(producer);

        it_mkdtemp("dup-store", store, sizeof(store));
        snprintf(metrics, sizeof(metrics), "%s/metrics.json", store);
        snprintf(log, sizeof(log), "%s/worker.log", store);
        it_worker_t w = {.bootstrap = g.bootstrap,
                         .group = "it-dup",
                         .instance = "w1",
                         .store = store,
                         .metrics = metrics,
                         .log = log,
                         .idle_exit_ms = IT_IDLE_MS};
        pid_t pid = it_worker_start(&w);
        assert_true(pid > 0);
        int rc = it_wait(pid, 120000);
        if (rc)
                it_dump_log(log, 40);
        assert_int_equal(rc, 0);
        assert_int_equal(it_metric(metrics, "consumed"), 3);
        assert_int_equal(it_metric(metrics, "applied"), 1);
        assert_int_equal(it_metric(metrics, "duplicates"), 2);
        assert_int_equal(it_metric(metrics, "plans"), 1);

        /* Exactly one set of outputs: one plan, one add_attendees, and the
         * two day-0 milestones of simplicity-30-60-90 (due at the sale,
         * fired once), each with its progress summary to the leader, no
         * id twice. */
        it_outputs_t out;
        const char **ids;
        assert_int_equal(it_outputs_read(g.bootstrap, g.codec, &out), 0);
        assert_int_equal(out.n_plans, 1);
        assert_string_equal(out.plans[0].plan_id,
                            pd_uuid5_printf(&g.arena, "%s/plan", ev.event_id));
        assert_int_equal(out.n_actions, 5);
        size_t n = it_outputs_ids(&out, &g.arena, &ids);
        assert_int_equal(n, 6);
        for (size_t i = 1; i < n; i++)
                assert_string_not_equal(ids[i - 1], ids[i]);
        size_t attendees = 0, milestones = 0, leader = 0;
        for (size_t i = 0; i < out.n_actions; i++) {
                attendees += out.actions[i].kind == PD_ACT_ADD_ATTENDEES;
                milestones += out.actions[i].kind == PD_ACT_MILESTONE_DUE;
                leader += out.actions[i].kind == PD_ACT_NOTIFY_LEADER;
        }
        assert_int_equal(attendees, 1);
        assert_int_equal(milestones, 2);
        assert_int_equal(leader, 2);

        /* The marker counted the event once. */
        const it_record_t *rec = it_outputs_marker(&out, CUSTOMER);
        pd_marker_t m;
        assert_non_null(rec);
        assert_int_equal(pd_codec_marker_decode(g.codec, rec->value, rec->len,
                                                &g.arena, &m, errstr,
                                                sizeof(errstr)),
                         PD_OK);
        assert_int_equal(m.events, 1);
        assert_int_equal(m.deals, 1);
        assert_int_equal(m.n_event_ids, 1);
        it_outputs_free(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_same_event_thrice),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
