/* Integration: the explain and what-if tools.  A technical customer writes
 * design tickets until the persona flips to marketing; the worker runs; then
 * `pd-inspect show` explains the customer from the store and from the
 * persona topic (read_committed, latest record of the key), as text and as
 * JSON: scores, margin, evidence with the model version, and the history of
 * persona changes naming the ticket that moved it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"

#define PARTITIONS 4
#define CUSTOMER   "it-explain-customer"
#define TICKETS    5

static struct {
        char bootstrap[256];
        pd_codec_t *codec;
        pd_arena_t arena;
        const char *flip_event; /* the ticket that flips the persona */
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

static void produce_history(void)
{
        static const char *products[] = {"GTX Pro"};
        pd_kafka_producer_t *producer = NULL;
        char errstr[512];
        pd_event_t ev = {0};
        assert_int_equal(pd_kafka_producer_new(g.bootstrap, NULL, &producer,
                                               errstr, sizeof(errstr)),
                         PD_OK);
        /* technical 1 + 3 + 2.5 = 6.5 (and consulting from EMEA, 400
         * employees) */
        ev.event_id = pd_uuid5_printf(&g.arena, "it-explain/sale");
        ev.customer_id = CUSTOMER;
        ev.occurred_at = it_ms(2024, 5, 6, 8, 0);
        ev.source = "it";
        ev.kind = PD_EV_SALE_CLOSED;
        ev.u.sale.deal_id = "D-1";
        ev.u.sale.products = (pd_strs_t){products, 1};
        ev.u.sale.currency = "EUR";
        ev.u.sale.deal_value = 50000;
        ev.u.sale.employees = 400;
        ev.u.sale.revenue = -1;
        ev.u.sale.region = "EMEA";
        ev.u.sale.time_zone = "Europe/Berlin";
        pd_kvs_add(&ev.u.sale.checkpoints, &g.arena, "why_chose_us",
                   "integrations");
        pd_kvs_add(&ev.u.sale.checkpoints, &g.arena, "main_goal", "automation");
        assert_int_equal(
            it_produce_event(producer, g.codec, "customer.lifecycle", -1, &ev),
            0);
        /* Design tickets, marketing 2.5 each: the fourth flips it. */
        for (int i = 0; i < TICKETS; i++) {
                memset(&ev, 0, sizeof(ev));
                ev.event_id = pd_uuid5_printf(&g.arena, "it-explain/t%d", i);
                ev.customer_id = CUSTOMER;
                ev.occurred_at = it_ms(2024, 5, 7, 9, i);
                ev.source = "it";
                ev.kind = PD_EV_TICKET_OPENED;
                ev.u.ticket.ticket_id = pd_arena_printf(&g.arena, "T-%d", i);
                ev.u.ticket.priority = "low";
                ev.u.ticket.language = "en";
                ev.u.ticket.subject = "Button colours";
                ev.u.ticket.text =
                    "Our brand colours, the layout and the design of the "
                    "buttons";
                if (i == 3)
                        g.flip_event = ev.event_id;
                assert_int_equal(it_produce_event(producer, g.codec,
                                                  "customer.lifecycle", -1,
                                                  &ev),
                                 0);
        }
        assert_int_equal(
            pd_kafka_producer_flush(producer, 30000, errstr, sizeof(errstr)),
            PD_OK);
        pd_kafka_producer_destroy(producer);
}

/* Runs cmd, returns its stdout (arena) and exit status. */
static char *run(const char *cmd, int *status)
{
        char buf[4096];
        size_t n = 0, cap = 1 << 16;
        char *out = pd_arena_alloc(&g.arena, cap);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        assert_non_null(out);
        while (fgets(buf, sizeof(buf), p)) {
                size_t l = strlen(buf);
                assert_true(n + l < cap);
                memcpy(out + n, buf, l);
                n += l;
        }
        out[n] = '\0';
        *status = pclose(p);
        print_message("$ %s\n%s", cmd, out);
        return out;
}

/* The explanation must say: marketing now, by how much, from what, and
 * that it was technical until the fourth ticket. */
static void check_json(json_t *o)
{
        json_t *h, *ev, *sc;
        assert_non_null(o);
        assert_string_equal(
            json_string_value(json_object_get(o, "customer_id")), CUSTOMER);
        assert_string_equal(json_string_value(json_object_get(o, "dominant")),
                            "marketing");
        assert_int_equal(
            json_integer_value(json_object_get(o, "model_version")), 1);
        sc = json_object_get(o, "scores");
        assert_true(json_real_value(json_object_get(sc, "marketing")) >
                    json_real_value(json_object_get(sc, "technical")));
        assert_true(json_real_value(json_object_get(o, "margin")) > 1.5);
        ev = json_object_get(o, "evidence");
        assert_true(json_array_size(ev) > 0);
        assert_non_null(json_object_get(json_array_get(ev, 0), "signal"));
        h = json_object_get(o, "persona_history");
        assert_int_equal(json_array_size(h), 1);
        h = json_array_get(h, 0);
        assert_string_equal(json_string_value(json_object_get(h, "from")),
                            "technical");
        assert_string_equal(json_string_value(json_object_get(h, "to")),
                            "marketing");
        assert_string_equal(json_string_value(json_object_get(h, "event_id")),
                            g.flip_event);
        assert_string_equal(json_string_value(json_object_get(h, "at")),
                            "2024-05-07T09:03:00Z");
}

static void test_explain(void **state)
{
        char store[512], log[600], bin[512], cmd[2048];
        json_error_t jerr;
        int st;
        (void)state;
        produce_history();
        it_mkdtemp("explain-store", store, sizeof(store));
        snprintf(log, sizeof(log), "%s/worker.log", store);
        it_worker_t w = {.bootstrap = g.bootstrap,
                         .group = "it-explain",
                         .instance = "w1",
                         .store = store,
                         .log = log,
                         .idle_exit_ms = IT_IDLE_MS};
        int rc = it_worker_run(&w, 120000);
        assert_int_equal(rc, 0);
        it_bin("pd-inspect", bin, sizeof(bin));

        /* From the store, JSON and text. */
        snprintf(cmd, sizeof(cmd), "%s --store %s show %s --json", bin, store,
                 CUSTOMER);
        char *out = run(cmd, &st);
        assert_int_equal(st, 0);
        json_t *from_store = json_loads(out, 0, &jerr);
        check_json(from_store);
        snprintf(cmd, sizeof(cmd), "%s --store %s show %s", bin, store,
                 CUSTOMER);
        out = run(cmd, &st);
        assert_int_equal(st, 0);
        assert_non_null(strstr(out, "dominant: \"marketing\"\n"));
        assert_non_null(strstr(out, "persona_history:\n  - "
                                    "{\"from\":\"technical\",\"to\":"
                                    "\"marketing\""));

        /* From the persona topic: the same marker, and where it was read. */
        snprintf(cmd, sizeof(cmd), "%s --bootstrap %s show %s --json", bin,
                 g.bootstrap, CUSTOMER);
        out = run(cmd, &st);
        assert_int_equal(st, 0);
        json_t *from_topic = json_loads(out, 0, &jerr);
        check_json(from_topic);
        assert_string_equal(
            json_string_value(json_object_get(
                json_object_get(from_topic, "source"), "topic")),
            "customer.persona");
        json_object_del(from_topic, "source");
        assert_true(json_equal(from_store, from_topic));
        snprintf(cmd, sizeof(cmd), "%s --bootstrap %s show %s", bin,
                 g.bootstrap, CUSTOMER);
        out = run(cmd, &st);
        assert_int_equal(st, 0);
        assert_non_null(strstr(out, "persona_history:\n"));

        /* An unknown customer is an error, not an empty explanation. */
        snprintf(cmd, sizeof(cmd), "%s --bootstrap %s show nobody 2>&1", bin,
                 g.bootstrap);
        out = run(cmd, &st);
        assert_int_not_equal(st, 0);
        assert_non_null(strstr(out, "no customer \"nobody\""));
        json_decref(from_store);
        json_decref(from_topic);
}

/* pd-whatif on the same input topic: a candidate whose hysteresis no
 * evidence can pass keeps the customer technical. */
static void test_whatif_topic(void **state)
{
        char dir[512], bin[512], cmd[4096];
        const char *src = getenv("PD_SOURCE_DIR");
        json_error_t jerr;
        int st;
        (void)state;
        assert_non_null(src);
        it_mkdtemp("whatif", dir, sizeof(dir));
        snprintf(cmd, sizeof(cmd),
                 "sed 's/\"version\": 1,/\"version\": 2,/; "
                 "s/\"hysteresis\": 1.5,/\"hysteresis\": 100,/' "
                 "%s/model/persona-model.json > %s/candidate.json",
                 src, dir);
        assert_int_equal(system(cmd), 0);
        it_bin("pd-whatif", bin, sizeof(bin));
        snprintf(cmd, sizeof(cmd),
                 "%s -b %s --model %s/model/persona-model.json --candidate "
                 "%s/candidate.json --json",
                 bin, g.bootstrap, src, dir);
        char *out = run(cmd, &st);
        assert_int_equal(st, 0);
        json_t *o = json_loads(out, 0, &jerr);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "events")),
                         1 + TICKETS);
        assert_int_equal(json_integer_value(json_object_get(o, "customers")),
                         1);
        assert_int_equal(json_integer_value(json_object_get(o, "changed")), 1);
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(
                    json_object_get(o, "matrix_current_to_candidate"),
                    "marketing"),
                "technical")),
            1);
        json_t *ex = json_array_get(json_object_get(o, "examples"), 0);
        assert_string_equal(
            json_string_value(json_object_get(ex, "customer_id")), CUSTOMER);
        assert_string_equal(json_string_value(json_object_get(ex, "current")),
                            "marketing");
        assert_string_equal(json_string_value(json_object_get(ex, "candidate")),
                            "technical");
        json_decref(o);
        /* Text form. */
        snprintf(cmd, sizeof(cmd),
                 "%s -b %s --model %s/model/persona-model.json --candidate "
                 "%s/candidate.json",
                 bin, g.bootstrap, src, dir);
        out = run(cmd, &st);
        assert_int_equal(st, 0);
        assert_non_null(
            strstr(out, "would change dominant persona: 1 of 1 customers"));
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_explain),
            cmocka_unit_test(test_whatif_topic),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
