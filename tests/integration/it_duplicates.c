/* Integration: CRM delivery quirks.
 *  - The same event delivered three times (same event_id) changes nothing
 *    the second and third time.
 *  - Redeliveries hours apart (in event time), interleaved with other
 *    customers' events and across a worker restart, and a deal re-sent
 *    under new event ids: the outputs and final markers equal those of a
 *    run of the same input delivered once.
 *  - One customer's events out of order: the marker follows occurred_at
 *    (see test_out_of_order for exactly what may differ). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
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
        int rc = it_worker_run(&w, 120000);
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

/* ---- quirks: a small event language ------------------------------------ */

#define HOUR   (3600LL * 1000)
#define T0     it_ms(2024, 6, 3, 9, 0)
#define N_MAX  32
#define INPUT  "customer.lifecycle"
#define STR(x) #x

typedef struct input_s {
        pd_event_t ev[N_MAX];
        size_t n;
} input_t;

static pd_event_t *add(input_t *in, const char *customer, const char *label,
                       pd_event_kind_t kind, int64_t at)
{
        assert_true(in->n < N_MAX);
        pd_event_t *ev = &in->ev[in->n++];
        memset(ev, 0, sizeof(*ev));
        ev->event_id =
            pd_uuid5_printf(&g.arena, "it-quirk/%s/%s", customer, label);
        ev->customer_id = customer;
        ev->occurred_at = at;
        ev->source = "crm";
        ev->kind = kind;
        return ev;
}

static void sale(input_t *in, const char *customer, const char *label,
                 const char *deal, int64_t at)
{
        static const char *products[] = {"GTX Pro"};
        pd_event_t *ev = add(in, customer, label, PD_EV_SALE_CLOSED, at);
        ev->u.sale.deal_id = deal;
        ev->u.sale.products = (pd_strs_t){products, 1};
        ev->u.sale.currency = "EUR";
        ev->u.sale.deal_value = 24000;
        ev->u.sale.employees = 120;
        ev->u.sale.revenue = -1;
        ev->u.sale.sector = "software";
        ev->u.sale.time_zone = "Europe/Berlin";
        pd_kvs_add(&ev->u.sale.checkpoints, &g.arena, "why_chose_us",
                   "integrations");
}

static void ticket(input_t *in, const char *customer, const char *label,
                   const char *text, int64_t at)
{
        pd_event_t *ev = add(in, customer, label, PD_EV_TICKET_OPENED, at);
        ev->u.ticket.ticket_id = pd_arena_printf(&g.arena, "T-%s", label);
        ev->u.ticket.category = "Product Support";
        ev->u.ticket.subject = "Question";
        ev->u.ticket.text = text;
        ev->u.ticket.priority = "medium";
        ev->u.ticket.channel = "email";
        ev->u.ticket.language = "en";
}

static void survey(input_t *in, const char *customer, const char *label,
                   int32_t score, int64_t at)
{
        pd_event_t *ev = add(in, customer, label, PD_EV_SURVEY_RETURNED, at);
        ev->u.survey.survey_id = "S-1";
        ev->u.survey.kind = PD_SURVEY_NPS;
        ev->u.survey.score = score;
        ev->u.survey.comment = "";
}

/* Appends a copy of in->ev[i] (the same event delivered again). */
static void again(input_t *in, size_t i)
{
        assert_true(in->n < N_MAX && i < in->n);
        in->ev[in->n++] = in->ev[i];
}

/* Produces in (all on partition 0: delivery order is input order). */
static void produce_input(const char *bootstrap, const input_t *in)
{
        char errstr[512];
        pd_kafka_producer_t *producer = NULL;
        assert_int_equal(pd_kafka_producer_new(bootstrap, NULL, &producer,
                                               errstr, sizeof(errstr)),
                         PD_OK);
        for (size_t i = 0; i < in->n; i++)
                assert_int_equal(
                    it_produce_event(producer, g.codec, INPUT, 0, &in->ev[i]),
                    0);
        assert_int_equal(
            pd_kafka_producer_flush(producer, 30000, errstr, sizeof(errstr)),
            PD_OK);
        pd_kafka_producer_destroy(producer);
}

typedef struct quirk_run_s {
        char bootstrap[256];
        char store[512];
        char log[2][600], metrics[2][600];
        int n;
} quirk_run_t;

static void quirk_init(quirk_run_t *r, const char *tag)
{
        memset(r, 0, sizeof(*r));
        assert_true(it_broker_start(PARTITIONS, r->bootstrap,
                                    sizeof(r->bootstrap)) > 0);
        it_mkdtemp(tag, r->store, sizeof(r->store));
}

/* One worker incarnation on r's store until idle; exit 0 required. */
static void quirk_worker(quirk_run_t *r)
{
        assert_true(r->n < 2);
        snprintf(r->log[r->n], sizeof(r->log[0]), "%s.w%d.log", r->store, r->n);
        snprintf(r->metrics[r->n], sizeof(r->metrics[0]), "%s.m%d.json",
                 r->store, r->n);
        it_worker_t w = {.bootstrap = r->bootstrap,
                         .group = "it-quirk",
                         .instance = "w1",
                         .store = r->store,
                         .metrics = r->metrics[r->n],
                         .log = r->log[r->n],
                         .idle_exit_ms = IT_IDLE_MS,
                         .extra = {"kafka.session.timeout.ms=6000",
                                   "kafka.heartbeat.interval.ms=500"}};
        int rc = it_worker_run(&w, 120000);
        assert_int_equal(rc, 0);
        r->n++;
}

/* The distinct output ids of out; fails when an id repeats. */
static size_t distinct_ids(const it_outputs_t *out, const char ***idsp)
{
        size_t n = it_outputs_ids(out, &g.arena, idsp);
        for (size_t i = 1; i < n; i++)
                if (!strcmp((*idsp)[i - 1], (*idsp)[i]))
                        fail_msg("output id %s written twice", (*idsp)[i]);
        return n;
}

static size_t plans_of(const it_outputs_t *out, const char *customer)
{
        size_t n = 0;
        for (size_t i = 0; i < out->n_plans; i++)
                n += !strcmp(out->plans[i].customer_id, customer);
        return n;
}

static void decode_marker(const it_outputs_t *out, const char *customer,
                          pd_marker_t *m)
{
        char why[256];
        const it_record_t *rec = it_outputs_marker(out, customer);
        assert_non_null(rec);
        assert_non_null(rec->value);
        assert_int_equal(pd_codec_marker_decode(g.codec, rec->value, rec->len,
                                                &g.arena, m, why, sizeof(why)),
                         PD_OK);
}

/* Customer A's sale and ticket are delivered again hours later (in event
 * time, other customers' events in between) and again after a restart;
 * customer Z's deal D-7 is re-sent by the CRM under two new event ids; B
 * is the other traffic.  The reference run gets every event once, split
 * over two worker runs the same way. */
static void build_quirks(input_t *p1, input_t *p2, bool quirks)
{
        memset(p1, 0, sizeof(*p1));
        memset(p2, 0, sizeof(*p2));
        sale(p1, "q-a", "sale", "D-A1", T0);
        size_t a_sale = p1->n - 1;
        sale(p1, "q-b", "sale", "D-B1", T0 + 1 * HOUR);
        ticket(p1, "q-a", "ticket", "the api integration fails", T0 + 2 * HOUR);
        size_t a_ticket = p1->n - 1;
        sale(p1, "q-z", "sale", "D-7", T0 + 2 * HOUR + HOUR / 2);
        if (quirks)
                again(p1, a_sale); /* 3 h after it happened */
        ticket(p1, "q-b", "ticket", "how do I change the colour",
               T0 + 5 * HOUR);
        if (quirks) {
                again(p1, a_ticket);
                /* The CRM re-sends deal D-7: new event id, later time. */
                sale(p1, "q-z", "sale-resent", "D-7", T0 + 6 * HOUR);
        }
        ticket(p1, "q-b", "ticket-2", "dashboard layout", T0 + 7 * HOUR);

        if (quirks) {
                p2->ev[p2->n++] = p1->ev[a_sale]; /* a day later */
                p2->ev[p2->n++] = p1->ev[a_ticket];
        }
        survey(p2, "q-a", "survey", 9, T0 + 30 * HOUR);
        if (quirks)
                sale(p2, "q-z", "sale-resent-2", "D-7", T0 + 31 * HOUR);
        ticket(p2, "q-b", "ticket-3", "export to csv", T0 + 32 * HOUR);
        if (quirks)
                p2->ev[p2->n++] = p1->ev[a_sale];
        ticket(p2, "q-z", "ticket", "sso setup", T0 + 33 * HOUR);
}

static void run_quirks(quirk_run_t *r, const char *tag, bool quirks)
{
        input_t p1, p2;
        build_quirks(&p1, &p2, quirks);
        quirk_init(r, tag);
        produce_input(r->bootstrap, &p1);
        quirk_worker(r);
        produce_input(r->bootstrap, &p2);
        quirk_worker(r); /* a restart: same store, same group */
}

static void test_redelivery_hours_apart(void **state)
{
        quirk_run_t ref, q;
        it_outputs_t ref_out, out;
        const char **ref_ids, **ids;
        (void)state;
        run_quirks(&ref, "quirk-ref", false);
        run_quirks(&q, "quirk", true);
        /* Run 1: A's sale and ticket again, Z's deal under a new id;
         * run 2: A's sale twice and ticket again, Z's deal again. */
        assert_int_equal(it_metric(q.metrics[0], "duplicates"), 2);
        assert_int_equal(it_metric(q.metrics[0], "duplicate_deals"), 1);
        assert_int_equal(it_metric(q.metrics[1], "duplicates"), 3);
        assert_int_equal(it_metric(q.metrics[1], "duplicate_deals"), 1);
        assert_int_equal(it_metric(ref.metrics[0], "duplicates"), 0);
        assert_int_equal(it_metric(ref.metrics[0], "duplicate_deals"), 0);
        assert_int_equal(it_metric(q.metrics[0], "applied"),
                         it_metric(ref.metrics[0], "applied"));
        assert_int_equal(it_metric(q.metrics[1], "applied"),
                         it_metric(ref.metrics[1], "applied"));
        assert_int_equal(it_wait_log(q.log[0], 0, "duplicate_deal=true", 0), 0);

        assert_int_equal(it_outputs_read(ref.bootstrap, g.codec, &ref_out), 0);
        assert_int_equal(it_outputs_read(q.bootstrap, g.codec, &out), 0);
        size_t n_ref = distinct_ids(&ref_out, &ref_ids);
        size_t n = distinct_ids(&out, &ids);
        assert_int_equal(n, n_ref);
        for (size_t i = 0; i < n; i++)
                assert_string_equal(ids[i], ref_ids[i]);
        /* One plan for Z's one deal, never extended by its re-sends. */
        assert_int_equal(plans_of(&out, "q-z"), 1);
        assert_int_equal(plans_of(&out, "q-a"), 1);

        const char *customers[] = {"q-a", "q-b", "q-z"};
        for (size_t i = 0; i < 3; i++) {
                const it_record_t *want =
                    it_outputs_marker(&ref_out, customers[i]);
                const it_record_t *got = it_outputs_marker(&out, customers[i]);
                assert_non_null(want);
                assert_non_null(got);
                if (got->len != want->len ||
                    memcmp(got->value, want->value, want->len))
                        fail_msg("marker of %s differs from the run without "
                                 "redeliveries",
                                 customers[i]);
        }
        pd_marker_t z;
        decode_marker(&out, "q-z", &z);
        assert_int_equal(z.deals, 1);
        assert_int_equal(z.n_deal_ids, 1);
        assert_string_equal(z.deal_ids[0], "D-7");
        assert_int_equal(z.events, 2); /* the sale and the ticket */
        it_outputs_free(&ref_out);
        it_outputs_free(&out);
}

/* ---- out of order ------------------------------------------------------- */

static bool close_to(double a, double b)
{
        return fabs(a - b) <= 1e-9 * (1.0 + fabs(a) + fabs(b));
}

static int cmp_evidence(const void *x, const void *y)
{
        const pd_evidence_t *a = x, *b = y;
        int c = strcmp(a->event_id, b->event_id);
        return c ? c : strcmp(a->signal, b->signal);
}

static int cmp_str(const void *x, const void *y)
{
        return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* The ids of out that do not depend on the path the scores took: every
 * output but persona_changed, sorted. */
static size_t path_free_ids(const it_outputs_t *out, const char ***idsp)
{
        const char **ids = pd_arena_alloc(
            &g.arena, (out->n_plans + out->n_actions + 1) * sizeof(*ids));
        size_t n = 0;
        assert_non_null(ids);
        for (size_t i = 0; i < out->n_plans; i++)
                ids[n++] = out->plans[i].plan_id;
        for (size_t i = 0; i < out->n_actions; i++) {
                const pd_action_t *a = &out->actions[i];
                const char *topic = pd_kvs_get(&a->params, "topic");
                /* Decided on arrival: a persona change depends on the
                 * path, and a detractor answer that arrives after a later
                 * answer to the same survey is already superseded, so it
                 * escalates nothing. */
                if (a->kind == PD_ACT_PERSONA_CHANGED ||
                    (a->kind == PD_ACT_NOTIFY_LEADER && topic &&
                     !strcmp(topic, "detractor_escalation")))
                        continue;
                ids[n++] = a->action_id;
        }
        qsort(ids, n, sizeof(*ids), cmp_str);
        *idsp = ids;
        return n;
}

/* Marker state that must follow occurred_at, whatever the arrival order:
 * scores, dominant and margin (to rounding: decay is applied in another
 * order), the evidence as a set, the survey answers (the later answer by
 * occurred_at counts), counters, created_at/updated_at, stage, plan and
 * milestones, the event and deal id windows as sets. */
static void assert_same_outcome(pd_marker_t *a, pd_marker_t *b)
{
        for (int x = 0; x < PD_AXIS__CNT; x++)
                if (!close_to(a->axis[x], b->axis[x]))
                        fail_msg("axis %s: %.12f vs %.12f",
                                 pd_axis_name((pd_axis_t)x), a->axis[x],
                                 b->axis[x]);
        assert_int_equal(a->dominant, b->dominant);
        assert_true(close_to(a->margin, b->margin));
        assert_int_equal(a->n_evidence, b->n_evidence);
        qsort(a->evidence, a->n_evidence, sizeof(a->evidence[0]), cmp_evidence);
        qsort(b->evidence, b->n_evidence, sizeof(b->evidence[0]), cmp_evidence);
        for (size_t i = 0; i < a->n_evidence; i++) {
                assert_string_equal(a->evidence[i].signal,
                                    b->evidence[i].signal);
                assert_string_equal(a->evidence[i].event_id,
                                    b->evidence[i].event_id);
                assert_int_equal(a->evidence[i].axis, b->evidence[i].axis);
                assert_int_equal(a->evidence[i].at, b->evidence[i].at);
                assert_true(
                    close_to(a->evidence[i].weight, b->evidence[i].weight));
        }
        assert_int_equal(a->n_surveys, b->n_surveys);
        for (size_t i = 0; i < a->n_surveys; i++) {
                assert_string_equal(a->surveys[i].survey_id,
                                    b->surveys[i].survey_id);
                assert_int_equal(a->surveys[i].score, b->surveys[i].score);
                assert_int_equal(a->surveys[i].at, b->surveys[i].at);
        }
        assert_int_equal(a->events, b->events);
        assert_int_equal(a->deals, b->deals);
        assert_int_equal(a->tickets, b->tickets);
        assert_int_equal(a->created_at, b->created_at);
        assert_int_equal(a->updated_at, b->updated_at);
        assert_int_equal(a->stage, b->stage);
        assert_string_equal(a->plan_id, b->plan_id);
        assert_string_equal(a->plan_template, b->plan_template);
        assert_string_equal(a->project_manager, b->project_manager);
        assert_int_equal(a->n_milestones, b->n_milestones);
        for (size_t i = 0; i < a->n_milestones; i++) {
                assert_int_equal(a->milestones[i].due_at,
                                 b->milestones[i].due_at);
                assert_int_equal(a->milestones[i].fired,
                                 b->milestones[i].fired);
        }
        assert_int_equal(a->n_event_ids, b->n_event_ids);
        qsort(a->event_ids, a->n_event_ids, sizeof(char *), cmp_str);
        qsort(b->event_ids, b->n_event_ids, sizeof(char *), cmp_str);
        for (size_t i = 0; i < a->n_event_ids; i++)
                assert_string_equal(a->event_ids[i], b->event_ids[i]);
        assert_int_equal(a->n_deal_ids, b->n_deal_ids);
}

/* One customer's events in time order and shuffled (the sale first in
 * both: the plan is decided when the sale arrives, on what is known
 * then).  What may differ, and only that: the arrival order of the
 * event id window, persona_changed actions (a flip depends on the path
 * the scores took) and the parameters of decisions taken at arrival
 * (a ticket's queue, an escalation's persona context): their ids are
 * the same. */
static void test_out_of_order(void **state)
{
        input_t in, shuffled;
        quirk_run_t r[2];
        it_outputs_t out[2];
        pd_marker_t m[2];
        const char **ids[2];
        size_t n[2];
        (void)state;
        memset(&in, 0, sizeof(in));
        sale(&in, "q-o", "sale", "D-O1", T0);
        ticket(&in, "q-o", "ticket-1", "the api integration and webhooks fail",
               T0 + 10 * IT_DAY);
        survey(&in, "q-o", "survey-3", 3, T0 + 20 * IT_DAY);
        survey(&in, "q-o", "survey-9", 9, T0 + 30 * IT_DAY);
        ticket(&in, "q-o", "ticket-2", "change the colour of the button",
               T0 + 40 * IT_DAY);
        static const size_t order[] = {0, 4, 3, 1, 2};
        memset(&shuffled, 0, sizeof(shuffled));
        for (size_t i = 0; i < in.n; i++)
                shuffled.ev[shuffled.n++] = in.ev[order[i]];
        for (int k = 0; k < 2; k++) {
                quirk_init(&r[k], k ? "ooo-shuffled" : "ooo-ordered");
                produce_input(r[k].bootstrap, k ? &shuffled : &in);
                quirk_worker(&r[k]);
                assert_int_equal(it_metric(r[k].metrics[0], "applied"), 5);
                assert_int_equal(
                    it_outputs_read(r[k].bootstrap, g.codec, &out[k]), 0);
                decode_marker(&out[k], "q-o", &m[k]);
                n[k] = path_free_ids(&out[k], &ids[k]);
        }
        /* The later answer by occurred_at counts, in both orders. */
        for (int k = 0; k < 2; k++) {
                assert_int_equal(m[k].n_surveys, 1);
                assert_int_equal(m[k].surveys[0].score, 9);
                assert_int_equal(m[k].surveys[0].at, T0 + 30 * IT_DAY);
                assert_int_equal(m[k].updated_at, T0 + 40 * IT_DAY);
        }
        assert_same_outcome(&m[0], &m[1]);
        assert_int_equal(n[0], n[1]);
        for (size_t i = 0; i < n[0]; i++)
                assert_string_equal(ids[0][i], ids[1][i]);
        it_outputs_free(&out[0]);
        it_outputs_free(&out[1]);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_same_event_thrice),
            cmocka_unit_test(test_redelivery_hours_apart),
            cmocka_unit_test(test_out_of_order),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
