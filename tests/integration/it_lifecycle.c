/* Integration: one hand-made lifecycle per persona through the real broker
 * and worker processes; exact outputs, deterministic ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "harness.h"
#include "schedule.h"

#define PARTITIONS 4
#define N_CUST     4
/* The silent customer: a copy of the technical case that sends nothing
 * after its ImplementationClosed.  It is produced to the technical
 * customer's partition, whose later events move the stream time past its
 * six-month slot 1: with the event clock that survey must still fire. */
#define SILENT      N_CUST
#define N_ALL       (N_CUST + 1)
#define SILENT_TWIN 2 /* the technical case, partition 2 */

typedef struct persona_case_s {
        const char *customer;
        pd_axis_t persona;
        const char *template_id;
        const char *queue; /* ticket routed by persona */
        const char *products[2];
        const char *sector;
        int64_t employees;
        const char *answers[12]; /* checkpoint id, answer, ... NULL */
        int milestones_due;      /* milestone_due actions (see below) */
} persona_case_t;

/* Checkpoint answers, products and sector picked from
 * model/persona-model.json so each customer leans clearly one way (the
 * leader is ahead by far more than the 1.5 hysteresis, and the first
 * evidence sets the dominant without a persona_changed action).
 *
 * milestones_due, from model/plan-templates.json and the rules in
 * engine.c: a milestone is due sale + its day offset; on the event clock
 * timers due at or before a record's occurred_at fire before the record
 * is applied, and ImplementationClosed (day D_CLOSE = 40) marks every
 * milestone still open as done.  So exactly the milestones with a day
 * offset <= 40 fire:
 *   simplicity-30-60-90    0, 0, 7, 30 | 60, 90     -> 4
 *   marketing-design-led   0, 7, 21    | 45, 75, 100 -> 3
 *   technical-integration  0, 10, 30   | 60, 90, 105 -> 3
 *   consulting-benchmark   0, 14, 30   | 60, 75, 90  -> 3
 * (template offsets are ascending, so they are milestones 0..n-1). */
static const persona_case_t cases[N_CUST] = {
    {"it-cust-simplicity",
     PD_AXIS_SIMPLICITY,
     "simplicity-30-60-90",
     "onboarding-desk",
     {"GTX Basic", NULL},
     "employment",
     8,
     {"why_chose_us", "speed_of_implementation", "migrating_from",
      "spreadsheets", "main_goal", "time_to_value", "target_go_live", "30_days",
      "needs_customisation", "no", NULL},
     4},
    {"it-cust-marketing",
     PD_AXIS_MARKETING,
     "marketing-design-led",
     "design-desk",
     {"Pro", NULL},
     "marketing",
     120,
     {"why_chose_us", "design", "main_goal", "customer_experience", "problems",
      "poor_ux", "design_reviews_requested", "yes", NULL},
     3},
    {"it-cust-technical",
     PD_AXIS_TECHNICAL,
     "technical-integration",
     "technical-l2",
     {"GTX Pro", NULL},
     "software",
     400,
     {"why_chose_us", "integrations", "main_goal", "automation", "problems",
      "integrations", "needs_customisation", "yes", NULL},
     3},
    {"it-cust-consulting",
     PD_AXIS_CONSULTING,
     "consulting-benchmark",
     "success-consultants",
     {"GTK 500", NULL},
     "finance",
     5000,
     {"why_chose_us", "best_practices", "main_goal", "benchmarking",
      "wants_benchmarking", "yes", "problems", "unclear_process", NULL},
     3},
};

/* Days after the sale of each step of the lifecycle. */
#define D_TICKET       10
#define D_CLOSE        40
#define D_SURVEY       45
#define D_RENEWAL_EV   50
#define D_RENEWAL_DATE 400
/* Later events move the partition's stream time past: the last milestone
 * of every template (<= day 105: none may fire, the close marked them
 * done), six-month slot 1 (close + 6 months, day ~222), the 90-day renewal
 * lead (day 310) and the 30-day lead (day 370), each in its own step;
 * slot 2 (day ~406) and the renewal date stay in the future. */
static const int later_days[] = {120, 250, 320, 380};
#define N_LATER      (sizeof(later_days) / sizeof(later_days[0]))
#define N_EVENTS_PER (5 + N_LATER)

static struct {
        char bootstrap[256];
        pd_codec_t *codec;
        pd_arena_t arena;
        pd_event_t events[N_CUST * N_EVENTS_PER + 2];
        size_t n_events;
        int64_t t0[N_ALL];
} g;

static int64_t t0_of(int c)
{
        return it_ms(2024, 1, 15, 9, 0) + (int64_t)c * 3600 * 1000;
}

static const char *customer_of(int c)
{
        return c == SILENT ? "it-cust-silent" : cases[c].customer;
}

/* Every customer on its own partition (its case index), the silent one on
 * its twin's. */
static int32_t partition_of(const char *customer)
{
        if (!strcmp(customer, customer_of(SILENT)))
                return SILENT_TWIN;
        for (int c = 0; c < N_CUST; c++)
                if (!strcmp(customer, cases[c].customer))
                        return c % PARTITIONS;
        return -1;
}

static pd_event_t *ev_new(int c, int step, pd_event_kind_t kind, int day)
{
        pd_event_t *ev = &g.events[g.n_events++];
        memset(ev, 0, sizeof(*ev));
        ev->event_id = pd_uuid5_printf(&g.arena, "it-lifecycle/%s/%d",
                                       customer_of(c), step);
        ev->customer_id = customer_of(c);
        ev->occurred_at = g.t0[c] + (int64_t)day * IT_DAY;
        ev->source = "it";
        ev->kind = kind;
        return ev;
}

static void sale(int c)
{
        const persona_case_t *pc = &cases[c == SILENT ? SILENT_TWIN : c];
        pd_event_t *ev = ev_new(c, 0, PD_EV_SALE_CLOSED, 0);
        pd_sale_closed_t *s = &ev->u.sale;
        s->deal_id = pd_arena_printf(&g.arena, "deal-%s", customer_of(c));
        s->products.v = (const char **)pc->products;
        s->products.n = 1;
        s->deal_value = 25000;
        s->currency = "EUR";
        s->sector = pc->sector;
        s->employees = pc->employees;
        s->revenue = -1;
        s->country = "DE";
        s->region = "NA"; /* no regional weight */
        s->time_zone = "Europe/Berlin";
        s->sales_owner = "it-sales";
        for (int i = 0; pc->answers[i]; i += 2)
                pd_kvs_add(&s->checkpoints, &g.arena, pc->answers[i],
                           pc->answers[i + 1]);
}

/* The close survey's id, as the engine derives it. */
static const char *close_cause(int c)
{
        return pd_arena_printf(&g.arena, "%s/survey/%lld/0", customer_of(c),
                               (long long)(g.t0[c] + D_CLOSE * IT_DAY));
}

static void lifecycle(int c)
{
        pd_event_t *ev;
        g.t0[c] = t0_of(c);
        sale(c);
        ev = ev_new(c, 1, PD_EV_TICKET_OPENED, D_TICKET);
        ev->u.ticket.ticket_id = pd_arena_printf(&g.arena, "T-%d", c);
        ev->u.ticket.category = "Incident"; /* no weight, no rule */
        ev->u.ticket.subject = "Contract copy";
        ev->u.ticket.text = "Please send the signed contract again";
        ev->u.ticket.priority = "medium";
        ev->u.ticket.channel = "email";
        ev->u.ticket.language = "en";
        ev_new(c, 2, PD_EV_IMPLEMENTATION_CLOSED, D_CLOSE);
        ev = ev_new(c, 3, PD_EV_SURVEY_RETURNED, D_SURVEY);
        ev->u.survey.survey_id =
            pd_uuid5_printf(&g.arena, "%s", close_cause(c));
        ev->u.survey.kind = PD_SURVEY_NPS;
        ev->u.survey.score = 3; /* detractor */
        ev->u.survey.comment = "Not happy";
        ev = ev_new(c, 4, PD_EV_RENEWAL_DUE, D_RENEWAL_EV);
        ev->u.renewal.contract_id = pd_arena_printf(&g.arena, "C-%d", c);
        ev->u.renewal.renewal_date = g.t0[c] + D_RENEWAL_DATE * IT_DAY;
        ev->u.renewal.annual_value = 12000;
        ev->u.renewal.auto_renew = false;
        for (size_t i = 0; i < N_LATER; i++) {
                /* A checkpoint the model does not know: no score, no
                 * action, only time. */
                ev = ev_new(c, 5 + (int)i, PD_EV_CHECKPOINTS_RECORDED,
                            later_days[i]);
                pd_kvs_add(&ev->u.checkpoints, &g.arena, "it_note", "tick");
        }
}

static int cmp_time(const void *a, const void *b)
{
        const pd_event_t *x = a, *y = b;
        return (x->occurred_at > y->occurred_at) -
               (x->occurred_at < y->occurred_at);
}

static int setup(void **state)
{
        (void)state;
        if (it_setup(PARTITIONS, g.bootstrap, sizeof(g.bootstrap), &g.arena,
                     &g.codec))
                return -1;
        for (int c = 0; c < N_CUST; c++)
                lifecycle(c);
        /* The silent customer: a sale and its close, then nothing. */
        g.t0[SILENT] = t0_of(SILENT);
        sale(SILENT);
        ev_new(SILENT, 1, PD_EV_IMPLEMENTATION_CLOSED, D_CLOSE);
        /* Event-time order over all customers, as the importer sends. */
        qsort(g.events, g.n_events, sizeof(g.events[0]), cmp_time);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        it_teardown(&g.arena, g.codec);
        return 0;
}

static void produce_all(void)
{
        char errstr[512];
        pd_kafka_producer_t *producer = NULL;
        assert_int_equal(pd_kafka_producer_new(g.bootstrap, NULL, &producer,
                                               errstr, sizeof(errstr)),
                         PD_OK);
        for (size_t i = 0; i < g.n_events; i++)
                assert_int_equal(
                    it_produce_event(producer, g.codec, "customer.lifecycle",
                                     partition_of(g.events[i].customer_id),
                                     &g.events[i]),
                    0);
        assert_int_equal(
            pd_kafka_producer_flush(producer, 30000, errstr, sizeof(errstr)),
            PD_OK);
        pd_kafka_producer_destroy(producer);
}

static size_t count_kind(const it_outputs_t *out, const char *customer,
                         pd_action_kind_t kind)
{
        size_t n = 0;
        for (size_t i = 0; i < out->n_actions; i++)
                n += out->actions[i].kind == kind &&
                     !strcmp(out->actions[i].customer_id, customer);
        return n;
}

static const pd_action_t *find_action(const it_outputs_t *out, const char *id)
{
        for (size_t i = 0; i < out->n_actions; i++)
                if (!strcmp(out->actions[i].action_id, id))
                        return &out->actions[i];
        return NULL;
}

static const pd_event_t *event_of(int c, int step)
{
        const char *id = pd_uuid5_printf(&g.arena, "it-lifecycle/%s/%d",
                                         customer_of(c), step);
        for (size_t i = 0; i < g.n_events; i++)
                if (!strcmp(g.events[i].event_id, id))
                        return &g.events[i];
        return NULL;
}

static void check_customer(const it_outputs_t *out, int c)
{
        const persona_case_t *pc = &cases[c];
        const char *cust = pc->customer;
        const pd_event_t *sale_ev = event_of(c, 0);
        const pd_action_t *ms_a;
        char why[256];
        pd_marker_t m;

        /* The marker: dominant persona, stage, plan. */
        const it_record_t *rec = it_outputs_marker(out, cust);
        assert_non_null(rec);
        assert_non_null(rec->value);
        assert_int_equal(pd_codec_marker_decode(g.codec, rec->value, rec->len,
                                                &g.arena, &m, why, sizeof(why)),
                         PD_OK);
        assert_string_equal(pd_axis_name(m.dominant),
                            pd_axis_name(pc->persona));
        assert_int_equal(m.stage, PD_STAGE_LIVE);
        assert_string_equal(m.plan_template, pc->template_id);
        assert_int_equal(m.events, (int)N_EVENTS_PER);

        /* Exactly one plan, id uuid5("<event_id>/plan"). */
        const pd_plan_t *plan = NULL;
        for (size_t i = 0; i < out->n_plans; i++)
                if (!strcmp(out->plans[i].customer_id, cust)) {
                        assert_null(plan);
                        plan = &out->plans[i];
                }
        assert_non_null(plan);
        assert_string_equal(plan->plan_id, pd_uuid5_printf(&g.arena, "%s/plan",
                                                           sale_ev->event_id));
        assert_string_equal(plan->template_id, pc->template_id);
        assert_int_equal(plan->persona, pc->persona);
        assert_string_equal(plan->caused_by, sale_ev->event_id);
        assert_int_equal(plan->n_milestones, 6);

        /* Action kinds with counts. */
        assert_int_equal(count_kind(out, cust, PD_ACT_ADD_ATTENDEES), 1);
        assert_int_equal(count_kind(out, cust, PD_ACT_ROUTE_TICKET), 1);
        assert_int_equal(count_kind(out, cust, PD_ACT_SEND_SURVEY), 2);
        /* The detractor escalation, and one progress summary to the
         * leader per milestone reminder. */
        assert_int_equal(count_kind(out, cust, PD_ACT_NOTIFY_LEADER),
                         1 + pc->milestones_due);
        assert_int_equal(count_kind(out, cust, PD_ACT_PREPARE_RENEWAL), 2);
        assert_int_equal(count_kind(out, cust, PD_ACT_MILESTONE_DUE),
                         pc->milestones_due);
        assert_int_equal(count_kind(out, cust, PD_ACT_PERSONA_CHANGED), 0);

        /* Deterministic ids, recomputed from the rules in engine.c. */
        const pd_action_t *a =
            find_action(out, pd_uuid5_printf(&g.arena, "%s/add_attendees",
                                             sale_ev->event_id));
        assert_non_null(a);
        assert_string_equal(pd_kvs_get(&a->params, "plan_id"), plan->plan_id);
        a = find_action(out, pd_uuid5_printf(&g.arena, "%s/route_ticket",
                                             event_of(c, 1)->event_id));
        assert_non_null(a);
        assert_string_equal(pd_kvs_get(&a->params, "queue"), pc->queue);
        a = find_action(
            out, pd_uuid5_printf(&g.arena, "%s/send_survey", close_cause(c)));
        assert_non_null(a);
        assert_string_equal(pd_kvs_get(&a->params, "slot"), "0");
        assert_string_equal(pd_kvs_get(&a->params, "survey_id"),
                            event_of(c, 3)->u.survey.survey_id);
        int64_t close_at = g.t0[c] + D_CLOSE * IT_DAY;
        a = find_action(out, pd_uuid5_printf(&g.arena,
                                             "%s/survey/%lld/1/send_survey",
                                             cust, (long long)close_at));
        assert_non_null(a);
        assert_string_equal(pd_kvs_get(&a->params, "slot"), "1");
        a = find_action(out, pd_uuid5_printf(&g.arena, "%s/notify_leader",
                                             event_of(c, 3)->event_id));
        assert_non_null(a);
        assert_string_equal(pd_kvs_get(&a->params, "escalation"), "detractor");
        int64_t rdate = g.t0[c] + D_RENEWAL_DATE * IT_DAY;
        for (int lead = 90; lead > 0; lead -= 60) {
                a = find_action(out, pd_uuid5_printf(&g.arena,
                                                     "%s/renewal/C-%d/%lld/%d/"
                                                     "prepare_renewal",
                                                     cust, c, (long long)rdate,
                                                     lead));
                assert_non_null(a);
        }
        /* The milestones due before the close fired, each once (before
         * the close record: their ids are the milestone's own); the rest
         * never did. */
        for (int i = 0; i < 6; i++) {
                a = find_action(out, pd_uuid5_printf(&g.arena,
                                                     "%s/plan/%s/milestone/%d/"
                                                     "milestone_due",
                                                     cust, plan->plan_id, i));
                ms_a = find_action(
                    out, pd_uuid5_printf(
                             &g.arena, "%s/plan/%s/milestone/%d/notify_leader",
                             cust, plan->plan_id, i));
                if (i < pc->milestones_due) {
                        assert_non_null(a);
                        assert_int_equal(a->due_at, plan->milestones[i].due_at);
                        assert_true(a->due_at <= close_at);
                        assert_non_null(ms_a);
                        assert_string_equal(
                            pd_kvs_get(&ms_a->params, "progress"),
                            pd_arena_printf(&g.arena, "%d/6", i + 1));
                        assert_string_equal(
                            pd_kvs_get(&ms_a->params, "project_manager"),
                            plan->project_manager);
                } else {
                        assert_null(a);
                        assert_null(ms_a);
                        assert_true(plan->milestones[i].due_at > close_at);
                }
        }
}

/* The silent customer's last event is its close (day 40); its slot 1
 * (close + 6 months, 10:00 Berlin) fires only because its twin's events
 * (day 250) move the shared partition's stream time past it. */
static void check_silent(const it_outputs_t *out)
{
        const char *cust = customer_of(SILENT);
        int64_t close_at = g.t0[SILENT] + D_CLOSE * IT_DAY;
        int64_t slot1 =
            pd_schedule_slot_at(close_at, "Europe/Berlin", 1, 6, 600);
        int64_t last = 0;
        for (size_t i = 0; i < g.n_events; i++)
                if (!strcmp(g.events[i].customer_id, cust) &&
                    g.events[i].occurred_at > last)
                        last = g.events[i].occurred_at;
        assert_int_equal(last, close_at);
        assert_true(slot1 > last);
        assert_int_equal(
            it_outputs_marker(out, cust)->partition,
            it_outputs_marker(out, cases[SILENT_TWIN].customer)->partition);
        const pd_action_t *a = find_action(
            out, pd_uuid5_printf(&g.arena, "%s/survey/%lld/1/send_survey", cust,
                                 (long long)close_at));
        assert_non_null(a);
        assert_int_equal(a->due_at, slot1);
        assert_string_equal(pd_kvs_get(&a->params, "slot"), "1");
        /* Close 2024-02-24T13:00Z; slot 1 on 2024-08-24 at 10:00 Berlin
         * (CEST).  Slot 2 (2025-02-24) is past the partition's last event
         * (day 380 of the twin) and never fired. */
        char buf[32];
        pd_schedule_format(slot1, buf, sizeof(buf));
        assert_string_equal(buf, "2024-08-24T08:00:00Z");
        assert_int_equal(count_kind(out, cust, PD_ACT_SEND_SURVEY), 2);
        assert_int_equal(count_kind(out, cust, PD_ACT_ADD_ATTENDEES), 1);
        assert_int_equal(count_kind(out, cust, PD_ACT_MILESTONE_DUE),
                         cases[SILENT_TWIN].milestones_due);
        assert_int_equal(count_kind(out, cust, PD_ACT_NOTIFY_LEADER),
                         cases[SILENT_TWIN].milestones_due);
}

/* pd-inspect summary --json on the worker's store (as of as_of, NULL: the
 * default); returns the "rolling" section's parent. */
static json_t *inspect(const char *store, const char *as_of)
{
        json_t *root = it_inspect_summary(store, as_of, store);
        assert_non_null(root);
        return root;
}

static long long jint(json_t *o, const char *a, const char *b)
{
        json_t *n = json_object_get(json_object_get(o, a), b);
        return json_is_integer(n) ? (long long)json_integer_value(n) : -999;
}

/* Rolling NPS from the store.  The four detractor answers (score 3) came
 * on day 45 of each case: 2024-02-29 09:00, 10:00, 11:00 and 12:00 UTC
 * (a leap day).  As of the latest (the default): NPS -100 over 4, one per
 * persona, split over the plans' project managers.  As of 2024-05-29
 * 11:00 only the 12:00 answer is younger than 90 days (the 11:00 one is
 * exactly 90 days old: out); as of 12:00, none. */
static void check_rolling(const char *store, const it_outputs_t *out)
{
        json_t *sum = inspect(store, NULL);
        json_t *roll = json_object_get(sum, "rolling");
        assert_string_equal(json_string_value(json_object_get(roll, "as_of")),
                            "2024-02-29T12:00:00Z");
        assert_int_equal(jint(roll, "overall", "nps"), -100);
        assert_int_equal(jint(roll, "overall", "nps_responses"), 4);
        assert_int_equal(jint(roll, "overall", "csat_responses"), 0);
        for (int c = 0; c < N_CUST; c++) {
                json_t *p = json_object_get(json_object_get(roll, "by_persona"),
                                            pd_axis_name(cases[c].persona));
                assert_non_null(p);
                assert_int_equal(
                    json_integer_value(json_object_get(p, "nps_responses")), 1);
                assert_int_equal(json_integer_value(json_object_get(p, "nps")),
                                 -100);
        }
        /* Per project manager: each answer under its customer's manager. */
        long long total = 0;
        const char *pm;
        json_t *v;
        json_object_foreach(json_object_get(roll, "by_project_manager"), pm, v)
        {
                long long want = 0;
                for (int c = 0; c < N_CUST; c++)
                        for (size_t i = 0; i < out->n_plans; i++)
                                want +=
                                    !strcmp(out->plans[i].customer_id,
                                            cases[c].customer) &&
                                    !strcmp(out->plans[i].project_manager, pm);
                assert_int_equal(
                    json_integer_value(json_object_get(v, "nps_responses")),
                    want);
                total += want;
        }
        assert_int_equal(total, 4);
        json_decref(sum);

        sum = inspect(store, "2024-05-29T11:00:00Z");
        roll = json_object_get(sum, "rolling");
        assert_int_equal(jint(roll, "overall", "nps_responses"), 1);
        assert_int_equal(
            json_integer_value(json_object_get(
                json_object_get(json_object_get(roll, "by_persona"),
                                "consulting"),
                "nps_responses")),
            1);
        json_decref(sum);
        sum = inspect(store, "2024-05-29T12:00:00Z");
        roll = json_object_get(sum, "rolling");
        assert_int_equal(jint(roll, "overall", "nps_responses"), 0);
        assert_true(json_is_null(
            json_object_get(json_object_get(roll, "overall"), "nps")));
        json_decref(sum);
}

static void test_lifecycles(void **state)
{
        char store[512], metrics[600], log[600];
        (void)state;
        produce_all();
        it_mkdtemp("lifecycle-store", store, sizeof(store));
        snprintf(metrics, sizeof(metrics), "%s/metrics.json", store);
        snprintf(log, sizeof(log), "%s/worker.log", store);
        it_worker_t w = {.bootstrap = g.bootstrap,
                         .group = "it-lifecycle",
                         .instance = "w1",
                         .store = store,
                         .metrics = metrics,
                         .log = log,
                         .idle_exit_ms = IT_IDLE_MS};
        int rc = it_worker_run(&w, 120000);
        assert_int_equal(rc, 0);
        assert_int_equal(it_metric(metrics, "consumed"), (long long)g.n_events);
        assert_int_equal(it_metric(metrics, "applied"), (long long)g.n_events);
        assert_int_equal(it_metric(metrics, "dead_lettered"), 0);

        it_outputs_t out;
        assert_int_equal(it_outputs_read(g.bootstrap, g.codec, &out), 0);
        /* Per customer: 1 add_attendees, 1 route_ticket, 2 send_survey
         * (close, six-month slot 1), 1 notify_leader (detractor), 2
         * prepare_renewal (90 and 30 days ahead) = 7, plus per milestone
         * due a milestone_due and a notify_leader progress summary:
         * 4 x 7 + 2 x (4 + 3 + 3 + 3) = 54; the silent customer: 1
         * add_attendees, 2 send_survey, 2 x 3 for its milestones = 9.
         * 63 in all. */
        if (getenv("IT_VERBOSE"))
                for (size_t i = 0; i < out.n_actions; i++)
                        fprintf(stderr, "action %s %s %s due=%lld\n",
                                out.actions[i].customer_id,
                                pd_action_kind_name(out.actions[i].kind),
                                out.actions[i].caused_by,
                                (long long)out.actions[i].due_at);
        assert_int_equal(out.n_plans, N_ALL);
        size_t want_actions = 0;
        for (int c = 0; c < N_CUST; c++)
                want_actions += 7 + 2 * (size_t)cases[c].milestones_due;
        want_actions += 3 + 2 * (size_t)cases[SILENT_TWIN].milestones_due;
        assert_int_equal(want_actions, 63);
        assert_int_equal(out.n_actions, want_actions);
        for (int c = 0; c < N_CUST; c++)
                check_customer(&out, c);
        check_silent(&out);
        check_rolling(store, &out);
        /* Every changelog record went to its input's partition: the
         * customer's records all share one partition. */
        for (size_t i = 0; i < out.persona.n; i++)
                assert_int_equal(
                    out.persona.v[i].partition,
                    it_outputs_marker(&out, out.persona.v[i].key)->partition);
        it_outputs_free(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lifecycles),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
