/* Tests of the Avro codec and the event contract (src/codec.c, src/event.c):
 * round trips of every record the worker reads or writes, compared field by
 * field; the schema-registry framing; and hostile input, which must come
 * back as PD_ERR_DECODE or PD_ERR_INVALID with the step or field named and
 * must never crash (run under ASan with -DPD_SANITIZE=ON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "codec.h"

#define EV_ID  "0b6f3c1e-5d2a-4c8e-9f10-2a3b4c5d6e7f"
#define EV_ID2 "1c7a4d2f-6e3b-5d9f-a021-3b4c5d6e7f80"
#define T0     1709287200000LL /* 2024-03-01T10:00:00Z */

static pd_codec_t *codec;

static int group_setup(void **state)
{
        char err[256] = "";
        if (pd_codec_new(NULL, &codec, err, sizeof(err))) {
                fprintf(stderr, "codec: %s\n", err);
                return -1;
        }
        return 0;
}

static int group_teardown(void **state)
{
        pd_codec_destroy(codec);
        return 0;
}

/* ---- comparison helpers ------------------------------------------------ */

static void str_eq(const char *want, const char *got, const char *what)
{
        if (!want || !got) {
                if (want != got)
                        fail_msg("%s: want %s, got %s", what,
                                 want ? want : "NULL", got ? got : "NULL");
                return;
        }
        if (strcmp(want, got))
                fail_msg("%s: want \"%s\", got \"%s\"", what, want, got);
}

static void strs_eq(const pd_strs_t *want, const pd_strs_t *got,
                    const char *what)
{
        assert_int_equal(want->n, got->n);
        for (size_t i = 0; i < want->n; i++)
                str_eq(want->v[i], got->v[i], what);
}

/* Maps are unordered in Avro: compare by key. */
static void kvs_eq(const pd_kvs_t *want, const pd_kvs_t *got, const char *what)
{
        assert_int_equal(want->n, got->n);
        for (size_t i = 0; i < want->n; i++)
                str_eq(want->v[i].value, pd_kvs_get(got, want->v[i].key), what);
}

static void contains(const char *haystack, const char *needle)
{
        if (!strstr(haystack, needle))
                fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

/* ---- events ------------------------------------------------------------ */

static const char *products[] = {"GTX Pro", "MG Special"};
static pd_kv_t sale_cps[] = {{"why_chose_us", "integrations"},
                             {"migrating_from", "spreadsheets"},
                             {"main_goal", "automation"}};
static pd_kv_t more_cps[] = {{"churned", "true"}};

static pd_event_t base_event(pd_event_kind_t kind)
{
        pd_event_t ev = {0};
        ev.event_id = EV_ID;
        ev.customer_id = "CUST-0001";
        ev.occurred_at = T0;
        ev.source = "maven-crm";
        ev.kind = kind;
        return ev;
}

static pd_event_t ev_sale_full(void)
{
        pd_event_t ev = base_event(PD_EV_SALE_CLOSED);
        pd_sale_closed_t *s = &ev.u.sale;
        s->deal_id = "D-42";
        s->products.v = products;
        s->products.n = 2;
        s->deal_value = 123456.75;
        s->currency = "EUR";
        s->sector = "software";
        s->employees = 1250;
        s->revenue = 87.5;
        s->country = "DE";
        s->region = "EMEA";
        s->time_zone = "Europe/Berlin";
        s->sales_owner = "Ana Silva";
        s->checkpoints.v = sale_cps;
        s->checkpoints.n = 3;
        return ev;
}

static pd_event_t ev_sale_sparse(void)
{
        pd_event_t ev = base_event(PD_EV_SALE_CLOSED);
        ev.u.sale.deal_id = "D-43";
        ev.u.sale.currency = "USD";
        ev.u.sale.employees = -1;
        ev.u.sale.revenue = -1;
        return ev;
}

static pd_event_t ev_impl(void)
{
        pd_event_t ev = base_event(PD_EV_IMPLEMENTATION_CLOSED);
        ev.u.impl.plan_id = "3f0a2c1b-0000-5000-8000-000000000001";
        return ev;
}

static pd_event_t ev_impl_noplan(void)
{
        return base_event(PD_EV_IMPLEMENTATION_CLOSED);
}

static pd_event_t ev_ticket(void)
{
        pd_event_t ev = base_event(PD_EV_TICKET_OPENED);
        ev.u.ticket.ticket_id = "T-9";
        ev.u.ticket.category = "integration";
        ev.u.ticket.subject = "API webhook fails";
        ev.u.ticket.text = "La API devuelve 500 cuando ... \xc3\xb1";
        ev.u.ticket.priority = "high";
        ev.u.ticket.channel = "email";
        ev.u.ticket.language = "es";
        return ev;
}

static pd_event_t ev_ticket_min(void)
{
        pd_event_t ev = base_event(PD_EV_TICKET_OPENED);
        ev.u.ticket.ticket_id = "T-10";
        return ev;
}

static pd_event_t ev_survey(void)
{
        pd_event_t ev = base_event(PD_EV_SURVEY_RETURNED);
        ev.u.survey.survey_id = "S-1";
        ev.u.survey.kind = PD_SURVEY_NPS;
        ev.u.survey.score = 10;
        ev.u.survey.comment = "great";
        return ev;
}

static pd_event_t ev_csat(void)
{
        pd_event_t ev = base_event(PD_EV_SURVEY_RETURNED);
        ev.u.survey.kind = PD_SURVEY_CSAT;
        ev.u.survey.score = 1;
        return ev;
}

static pd_event_t ev_renewal(void)
{
        pd_event_t ev = base_event(PD_EV_RENEWAL_DUE);
        ev.u.renewal.contract_id = "C-7";
        ev.u.renewal.renewal_date = T0 + 365LL * 86400000;
        ev.u.renewal.annual_value = 48000.5;
        ev.u.renewal.auto_renew = true;
        return ev;
}

static pd_event_t ev_checkpoints(void)
{
        pd_event_t ev = base_event(PD_EV_CHECKPOINTS_RECORDED);
        ev.u.checkpoints.v = more_cps;
        ev.u.checkpoints.n = 1;
        return ev;
}

static pd_event_t ev_erased(void)
{
        return base_event(PD_EV_CUSTOMER_ERASED);
}

static void event_eq(const pd_event_t *w, const pd_event_t *g)
{
        str_eq(w->event_id, g->event_id, "event_id");
        str_eq(w->customer_id, g->customer_id, "customer_id");
        assert_int_equal(w->occurred_at, g->occurred_at);
        str_eq(w->source, g->source, "source");
        assert_int_equal(w->kind, g->kind);
        switch (w->kind) {
        case PD_EV_SALE_CLOSED:
                str_eq(w->u.sale.deal_id, g->u.sale.deal_id, "deal_id");
                strs_eq(&w->u.sale.products, &g->u.sale.products, "products");
                assert_true(w->u.sale.deal_value == g->u.sale.deal_value);
                str_eq(w->u.sale.currency, g->u.sale.currency, "currency");
                str_eq(w->u.sale.sector, g->u.sale.sector, "sector");
                assert_int_equal(w->u.sale.employees, g->u.sale.employees);
                assert_true(w->u.sale.revenue == g->u.sale.revenue);
                str_eq(w->u.sale.country, g->u.sale.country, "country");
                str_eq(w->u.sale.region, g->u.sale.region, "region");
                str_eq(w->u.sale.time_zone, g->u.sale.time_zone, "time_zone");
                str_eq(w->u.sale.sales_owner, g->u.sale.sales_owner,
                       "sales_owner");
                kvs_eq(&w->u.sale.checkpoints, &g->u.sale.checkpoints,
                       "checkpoints");
                break;
        case PD_EV_IMPLEMENTATION_CLOSED:
                str_eq(w->u.impl.plan_id, g->u.impl.plan_id, "plan_id");
                break;
        case PD_EV_TICKET_OPENED:
                str_eq(w->u.ticket.ticket_id, g->u.ticket.ticket_id, "tid");
                str_eq(w->u.ticket.category, g->u.ticket.category, "cat");
                str_eq(w->u.ticket.subject, g->u.ticket.subject, "subject");
                str_eq(w->u.ticket.text, g->u.ticket.text, "text");
                str_eq(w->u.ticket.priority, g->u.ticket.priority, "prio");
                str_eq(w->u.ticket.channel, g->u.ticket.channel, "channel");
                str_eq(w->u.ticket.language, g->u.ticket.language, "lang");
                break;
        case PD_EV_SURVEY_RETURNED:
                str_eq(w->u.survey.survey_id, g->u.survey.survey_id, "sid");
                assert_int_equal(w->u.survey.kind, g->u.survey.kind);
                assert_int_equal(w->u.survey.score, g->u.survey.score);
                str_eq(w->u.survey.comment, g->u.survey.comment, "comment");
                break;
        case PD_EV_RENEWAL_DUE:
                str_eq(w->u.renewal.contract_id, g->u.renewal.contract_id,
                       "contract_id");
                assert_int_equal(w->u.renewal.renewal_date,
                                 g->u.renewal.renewal_date);
                assert_true(w->u.renewal.annual_value ==
                            g->u.renewal.annual_value);
                assert_int_equal(w->u.renewal.auto_renew,
                                 g->u.renewal.auto_renew);
                break;
        case PD_EV_CHECKPOINTS_RECORDED:
                kvs_eq(&w->u.checkpoints, &g->u.checkpoints, "checkpoints");
                break;
        default:
                break;
        }
}

struct event_case {
        const char *name;
        pd_event_t (*make)(void);
};

static const struct event_case event_cases[] = {
    {"SaleClosed, every field", ev_sale_full},
    {"SaleClosed, optionals null", ev_sale_sparse},
    {"ImplementationClosed with plan", ev_impl},
    {"ImplementationClosed without plan", ev_impl_noplan},
    {"TicketOpened, every field", ev_ticket},
    {"TicketOpened, optionals null", ev_ticket_min},
    {"SurveyReturned NPS", ev_survey},
    {"SurveyReturned CSAT, no survey id", ev_csat},
    {"RenewalDue", ev_renewal},
    {"CheckpointsRecorded", ev_checkpoints},
    {"CustomerErased", ev_erased},
};

#define N_EVENT_CASES (sizeof(event_cases) / sizeof(event_cases[0]))

static void test_event_roundtrip(void **state)
{
        pd_buf_t buf;
        pd_arena_t arena;
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        for (size_t i = 0; i < N_EVENT_CASES; i++) {
                char err[256] = "";
                pd_event_t want = event_cases[i].make(), got;
                print_message("event case: %s\n", event_cases[i].name);
                assert_int_equal(pd_event_validate(&want, err, sizeof(err)),
                                 PD_OK);
                assert_int_equal(pd_codec_event_encode(codec, &want, &buf),
                                 PD_OK);
                pd_err_t e = pd_codec_event_decode(
                    codec, buf.data, buf.len, &arena, &got, err, sizeof(err));
                if (e)
                        fail_msg("%s: %s", event_cases[i].name, err);
                event_eq(&want, &got);
                pd_arena_reset(&arena);
        }
        pd_arena_term(&arena);
        pd_buf_term(&buf);
}

/* ---- marker ------------------------------------------------------------ */

static const char *ev_ids[] = {EV_ID, EV_ID2,
                               "2d8b5e30-7f4c-6e0a-b132-4c5d6e7f8091"};

static void full_marker(pd_marker_t *m)
{
        memset(m, 0, sizeof(*m));
        m->customer_id = "CUST-0001";
        m->model_version = 3;
        m->axis[0] = 1.25;
        m->axis[1] = -0.5;
        m->axis[2] = 7.125;
        m->axis[3] = 0.0625;
        m->dominant = PD_AXIS_TECHNICAL;
        m->margin = 5.875;
        for (size_t i = 0; i < 3; i++) {
                pd_evidence_t *e = &m->evidence[m->n_evidence++];
                e->signal = i == 0   ? "checkpoint:why_chose_us=api"
                            : i == 1 ? "ticket:category=integration"
                                     : "text.es:diseño";
                e->axis = (pd_axis_t)(3 - i);
                e->weight = 3.0 - (double)i * 0.75;
                e->event_id = ev_ids[i];
                e->at = T0 + (int64_t)i * 1000;
        }
        m->stage = PD_STAGE_LIVE;
        m->time_zone = "America/Sao_Paulo";
        m->region = "LATAM";
        m->country = "BR";
        m->language = "pt";
        m->sector = "education";
        m->plan_id = "7e57c0de-0000-5000-8000-000000000002";
        m->plan_template = "technical-integration";
        m->project_manager = "Marcus Oyelaran";
        m->plan_started_at = T0;
        for (size_t i = 0; i < 4; i++) {
                pd_milestone_t *ms = &m->milestones[m->n_milestones++];
                ms->name = i % 2 ? "Design review" : "Kickoff";
                ms->owner_role = i % 2 ? "ui_designer" : "project_manager";
                ms->due_at = T0 + (int64_t)i * 86400000;
                ms->fired = i < 2;
        }
        m->close_at = T0 + 90LL * 86400000;
        m->next_slot = 2;
        m->next_survey_at = T0 + 450LL * 86400000;
        m->last_survey_at = T0 + 270LL * 86400000;
        m->surveys_sent = 2;
        m->surveys[0] = (pd_survey_result_t){"S-1", PD_SURVEY_NPS, 9,
                                             T0 + 91LL * 86400000, NULL};
        m->surveys[1] = (pd_survey_result_t){"T-7", PD_SURVEY_CSAT, 4,
                                             T0 + 92LL * 86400000, "T-7"};
        m->n_surveys = 2;
        m->survey_deferred_from = T0 + 440LL * 86400000;
        m->surveys_deferred = 3;
        m->ticket_ids[m->n_ticket_ids++] = "T-6";
        m->ticket_ids[m->n_ticket_ids++] = "T-7";
        m->renewals[0] =
            (pd_renewal_t){"C-1", T0 + 365LL * 86400000, 1000.5, true, 1};
        m->renewals[1] =
            (pd_renewal_t){"C-2", T0 + 730LL * 86400000, 250.25, false, 0};
        m->n_renewals = 2;
        m->events = 17;
        m->deals = 2;
        m->tickets = 5;
        for (size_t i = 0; i < 3; i++)
                m->event_ids[m->n_event_ids++] = ev_ids[i];
        m->created_at = T0 - 1000;
        m->updated_at = T0 + 300LL * 86400000;
        m->deal_ids[m->n_deal_ids++] = "D-1";
        m->deal_ids[m->n_deal_ids++] = "D-2";
        m->history[0] =
            (pd_persona_change_t){PD_AXIS_TECHNICAL, PD_AXIS_MARKETING,
                                  T0 + 100LL * 86400000, ev_ids[1], 1.75};
        m->history[1] = (pd_persona_change_t){
            PD_AXIS_MARKETING, PD_AXIS_CONSULTING, T0 + 200LL * 86400000,
            "CUST-1/rescore/2", 0.5};
        m->n_history = 2;
        m->signals[0] = (pd_signal_t){"product:GTX Pro", PD_AXIS_TECHNICAL, 1.0,
                                      1.5, T0 + 10LL * 86400000};
        m->signals[1] = (pd_signal_t){"text.de:farbe", PD_AXIS_MARKETING, 1.0,
                                      0.625, T0 + 20LL * 86400000};
        m->n_signals = 2;
}

static void marker_eq(const pd_marker_t *w, const pd_marker_t *g)
{
        str_eq(w->customer_id, g->customer_id, "customer_id");
        assert_int_equal(w->model_version, g->model_version);
        for (int i = 0; i < PD_AXIS__CNT; i++)
                assert_true(w->axis[i] == g->axis[i]);
        assert_int_equal(w->dominant, g->dominant);
        assert_true(w->margin == g->margin);
        assert_int_equal(w->n_evidence, g->n_evidence);
        for (size_t i = 0; i < w->n_evidence; i++) {
                str_eq(w->evidence[i].signal, g->evidence[i].signal, "signal");
                assert_int_equal(w->evidence[i].axis, g->evidence[i].axis);
                assert_true(w->evidence[i].weight == g->evidence[i].weight);
                str_eq(w->evidence[i].event_id, g->evidence[i].event_id,
                       "evidence.event_id");
                assert_int_equal(w->evidence[i].at, g->evidence[i].at);
        }
        assert_int_equal(w->stage, g->stage);
        str_eq(w->time_zone, g->time_zone, "time_zone");
        str_eq(w->region, g->region, "region");
        str_eq(w->country, g->country, "country");
        str_eq(w->language, g->language, "language");
        str_eq(w->sector, g->sector, "sector");
        str_eq(w->plan_id, g->plan_id, "plan_id");
        str_eq(w->plan_template, g->plan_template, "plan_template");
        str_eq(w->project_manager, g->project_manager, "project_manager");
        assert_int_equal(w->plan_started_at, g->plan_started_at);
        assert_int_equal(w->n_milestones, g->n_milestones);
        for (size_t i = 0; i < w->n_milestones; i++) {
                str_eq(w->milestones[i].name, g->milestones[i].name, "ms");
                str_eq(w->milestones[i].owner_role, g->milestones[i].owner_role,
                       "ms.owner_role");
                assert_int_equal(w->milestones[i].due_at,
                                 g->milestones[i].due_at);
                assert_int_equal(w->milestones[i].fired,
                                 g->milestones[i].fired);
        }
        assert_int_equal(w->close_at, g->close_at);
        assert_int_equal(w->next_slot, g->next_slot);
        assert_int_equal(w->next_survey_at, g->next_survey_at);
        assert_int_equal(w->last_survey_at, g->last_survey_at);
        assert_int_equal(w->surveys_sent, g->surveys_sent);
        assert_int_equal(w->n_surveys, g->n_surveys);
        for (size_t i = 0; i < w->n_surveys; i++) {
                str_eq(w->surveys[i].survey_id, g->surveys[i].survey_id,
                       "survey_id");
                assert_int_equal(w->surveys[i].kind, g->surveys[i].kind);
                assert_int_equal(w->surveys[i].score, g->surveys[i].score);
                assert_int_equal(w->surveys[i].at, g->surveys[i].at);
                str_eq(w->surveys[i].ticket_id, g->surveys[i].ticket_id,
                       "ticket_id");
        }
        assert_int_equal(w->n_renewals, g->n_renewals);
        for (size_t i = 0; i < w->n_renewals; i++) {
                str_eq(w->renewals[i].contract_id, g->renewals[i].contract_id,
                       "contract_id");
                assert_int_equal(w->renewals[i].renewal_date,
                                 g->renewals[i].renewal_date);
                assert_true(w->renewals[i].annual_value ==
                            g->renewals[i].annual_value);
                assert_int_equal(w->renewals[i].auto_renew,
                                 g->renewals[i].auto_renew);
                assert_int_equal(w->renewals[i].leads_fired,
                                 g->renewals[i].leads_fired);
        }
        assert_int_equal(w->events, g->events);
        assert_int_equal(w->deals, g->deals);
        assert_int_equal(w->tickets, g->tickets);
        assert_int_equal(w->n_event_ids, g->n_event_ids);
        for (size_t i = 0; i < w->n_event_ids; i++)
                str_eq(w->event_ids[i], g->event_ids[i], "event_ids");
        assert_int_equal(w->n_deal_ids, g->n_deal_ids);
        for (size_t i = 0; i < w->n_deal_ids; i++)
                str_eq(w->deal_ids[i], g->deal_ids[i], "deal_ids");
        assert_int_equal(w->survey_deferred_from, g->survey_deferred_from);
        assert_int_equal(w->surveys_deferred, g->surveys_deferred);
        assert_int_equal(w->n_ticket_ids, g->n_ticket_ids);
        for (size_t i = 0; i < w->n_ticket_ids; i++)
                str_eq(w->ticket_ids[i], g->ticket_ids[i], "ticket_ids");
        assert_int_equal(w->created_at, g->created_at);
        assert_int_equal(w->updated_at, g->updated_at);
        assert_int_equal(w->n_history, g->n_history);
        for (size_t i = 0; i < w->n_history; i++) {
                assert_int_equal(w->history[i].from, g->history[i].from);
                assert_int_equal(w->history[i].to, g->history[i].to);
                assert_int_equal(w->history[i].at, g->history[i].at);
                str_eq(w->history[i].event_id, g->history[i].event_id,
                       "history.event_id");
                assert_true(w->history[i].margin == g->history[i].margin);
        }
        assert_int_equal(w->n_signals, g->n_signals);
        for (size_t i = 0; i < w->n_signals; i++) {
                str_eq(w->signals[i].signal, g->signals[i].signal, "signal");
                assert_int_equal(w->signals[i].axis, g->signals[i].axis);
                assert_true(w->signals[i].unit == g->signals[i].unit);
                assert_true(w->signals[i].mass == g->signals[i].mass);
                assert_int_equal(w->signals[i].at, g->signals[i].at);
        }
}

static void marker_roundtrip(const pd_marker_t *want)
{
        pd_buf_t buf;
        pd_arena_t arena;
        pd_marker_t got;
        char err[256] = "";
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        assert_int_equal(pd_codec_marker_encode(codec, want, &buf), PD_OK);
        pd_err_t e = pd_codec_marker_decode(codec, buf.data, buf.len, &arena,
                                            &got, err, sizeof(err));
        if (e)
                fail_msg("marker decode: %s", err);
        marker_eq(want, &got);
        pd_arena_term(&arena);
        pd_buf_term(&buf);
}

static void test_marker_roundtrip_full(void **state)
{
        pd_marker_t m;
        full_marker(&m);
        marker_roundtrip(&m);
}

/* A new prospect: no plan, no schedule, nothing optional. */
static void test_marker_roundtrip_minimal(void **state)
{
        pd_marker_t m = {0};
        m.customer_id = "CUST-0002";
        m.dominant = PD_AXIS_CONSULTING;
        m.stage = PD_STAGE_PROSPECT;
        m.next_slot = 1;
        m.created_at = T0;
        m.updated_at = T0;
        marker_roundtrip(&m);
}

/* Lists filled to the limits of the struct survive. */
static void test_marker_roundtrip_limits(void **state)
{
        pd_marker_t m;
        char ids[PD_MARKER_EVENT_IDS_MAX][37];
        full_marker(&m);
        m.stage = PD_STAGE_CHURNED;
        for (size_t i = 0; i < PD_MARKER_EVENT_IDS_MAX; i++) {
                snprintf(ids[i], sizeof(ids[i]),
                         "00000000-0000-4000-8000-%012zu", i);
                m.event_ids[i] = ids[i];
        }
        m.n_event_ids = PD_MARKER_EVENT_IDS_MAX;
        for (size_t i = 0; i < PD_MARKER_DEAL_IDS_MAX; i++)
                m.deal_ids[i] = ids[i];
        m.n_deal_ids = PD_MARKER_DEAL_IDS_MAX;
        for (size_t i = 0; i < PD_MARKER_EVIDENCE_MAX; i++)
                m.evidence[i] = m.evidence[i % 3];
        m.n_evidence = PD_MARKER_EVIDENCE_MAX;
        for (size_t i = 0; i < PD_MARKER_MILESTONES_MAX; i++)
                m.milestones[i] = m.milestones[i % 4];
        m.n_milestones = PD_MARKER_MILESTONES_MAX;
        for (size_t i = 0; i < PD_MARKER_SURVEYS_MAX; i++)
                m.surveys[i] = m.surveys[i % 2];
        m.n_surveys = PD_MARKER_SURVEYS_MAX;
        for (size_t i = 0; i < PD_MARKER_RENEWALS_MAX; i++)
                m.renewals[i] = m.renewals[i % 2];
        m.n_renewals = PD_MARKER_RENEWALS_MAX;
        marker_roundtrip(&m);
}

/* ---- plan, action, partition state ------------------------------------- */

static void test_plan_roundtrip(void **state)
{
        pd_team_member_t team[] = {{"project_manager", "Marcus Oyelaran"},
                                   {"solutions_architect", "Samuel Park"},
                                   {"integration_developer", "Kenji Sato"}};
        pd_milestone_t mss[] = {{"Kickoff", "project_manager", T0, false},
                                {"Concept summary", "solutions_architect",
                                 T0 + 10LL * 86400000, false}};
        const char *attendees[] = {"Marcus Oyelaran", "Samuel Park"};
        pd_plan_t want = {0}, got;
        pd_buf_t buf;
        pd_arena_t arena;
        char err[256] = "";
        want.plan_id = "7e57c0de-0000-5000-8000-000000000002";
        want.customer_id = "CUST-0001";
        want.persona = PD_AXIS_TECHNICAL;
        want.template_id = "technical-integration";
        want.project_manager = "Marcus Oyelaran";
        want.team = team;
        want.n_team = 3;
        want.milestones = mss;
        want.n_milestones = 2;
        want.attendees = (pd_strs_t){attendees, 2};
        want.reason = "best technical fit, capacity 3/60";
        want.caused_by = EV_ID;
        want.assigned_at = T0;
        want.extends = true;
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        assert_int_equal(pd_codec_plan_encode(codec, &want, &buf), PD_OK);
        if (pd_codec_plan_decode(codec, buf.data, buf.len, &arena, &got, err,
                                 sizeof(err)))
                fail_msg("plan decode: %s", err);
        str_eq(want.plan_id, got.plan_id, "plan_id");
        str_eq(want.customer_id, got.customer_id, "customer_id");
        assert_int_equal(want.persona, got.persona);
        str_eq(want.template_id, got.template_id, "template");
        str_eq(want.project_manager, got.project_manager, "pm");
        assert_int_equal(want.n_team, got.n_team);
        for (size_t i = 0; i < want.n_team; i++) {
                str_eq(team[i].role, got.team[i].role, "team.role");
                str_eq(team[i].name, got.team[i].name, "team.name");
        }
        assert_int_equal(want.n_milestones, got.n_milestones);
        for (size_t i = 0; i < want.n_milestones; i++) {
                str_eq(mss[i].name, got.milestones[i].name, "ms.name");
                str_eq(mss[i].owner_role, got.milestones[i].owner_role,
                       "ms.owner_role");
                assert_int_equal(mss[i].due_at, got.milestones[i].due_at);
        }
        strs_eq(&want.attendees, &got.attendees, "attendees");
        str_eq(want.reason, got.reason, "reason");
        str_eq(want.caused_by, got.caused_by, "caused_by");
        assert_int_equal(want.assigned_at, got.assigned_at);
        assert_int_equal(want.extends, got.extends);
        pd_arena_term(&arena);
        pd_buf_term(&buf);
}

static void test_action_roundtrip(void **state)
{
        pd_kv_t params[] = {
            {"survey_id", "S-1"}, {"slot", "3"}, {"time_zone", "Asia/Kolkata"}};
        pd_buf_t buf;
        pd_arena_t arena;
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        for (int kind = 0; kind < PD_ACT__CNT; kind++) {
                pd_action_t want = {0}, got;
                char err[256] = "";
                want.action_id = "aaaaaaaa-0000-5000-8000-000000000003";
                want.customer_id = "CUST-0001";
                want.kind = (pd_action_kind_t)kind;
                want.due_at = T0 + kind;
                want.params = (pd_kvs_t){params, kind % 2 ? 3 : 0};
                want.reason = "six-monthly NPS survey";
                want.caused_by = "CUST-0001/survey/3";
                want.created_at = T0 - kind;
                assert_int_equal(pd_codec_action_encode(codec, &want, &buf),
                                 PD_OK);
                if (pd_codec_action_decode(codec, buf.data, buf.len, &arena,
                                           &got, err, sizeof(err)))
                        fail_msg("action decode: %s", err);
                str_eq(want.action_id, got.action_id, "action_id");
                str_eq(want.customer_id, got.customer_id, "customer_id");
                assert_int_equal(want.kind, got.kind);
                assert_int_equal(want.due_at, got.due_at);
                kvs_eq(&want.params, &got.params, "params");
                str_eq(want.reason, got.reason, "reason");
                str_eq(want.caused_by, got.caused_by, "caused_by");
                assert_int_equal(want.created_at, got.created_at);
                pd_arena_reset(&arena);
        }
        pd_arena_term(&arena);
        pd_buf_term(&buf);
}

static void test_pstate_roundtrip(void **state)
{
        pd_pm_load_t loads[] = {{"Hannah Whitfield", 3},
                                {"Marcus Oyelaran", 0},
                                {"Sofia Marchetti", 120}};
        struct {
                int32_t partition;
                int64_t stream_time;
                size_t n_loads;
        } cases[] = {{0, 0, 0}, {7, T0, 1}, {15, T0 + 1, 3}};
        pd_buf_t buf;
        pd_arena_t arena;
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
                pd_pstate_t want = {cases[c].partition, cases[c].stream_time,
                                    loads, cases[c].n_loads,
                                    c ? 1000 + (int64_t)c : -1},
                            got;
                char err[256] = "";
                assert_int_equal(pd_codec_pstate_encode(codec, &want, &buf),
                                 PD_OK);
                if (pd_codec_pstate_decode(codec, buf.data, buf.len, &arena,
                                           &got, err, sizeof(err)))
                        fail_msg("pstate decode: %s", err);
                assert_int_equal(want.partition, got.partition);
                assert_int_equal(want.stream_time, got.stream_time);
                assert_int_equal(want.input_offset, got.input_offset);
                assert_int_equal(want.n_loads, got.n_loads);
                for (size_t i = 0; i < want.n_loads; i++) {
                        size_t j = 0;
                        while (j < got.n_loads &&
                               strcmp(got.loads[j].pm, loads[i].pm))
                                j++;
                        assert_true(j < got.n_loads);
                        assert_int_equal(loads[i].active, got.loads[j].active);
                }
                pd_arena_reset(&arena);
        }
        pd_arena_term(&arena);
        pd_buf_term(&buf);
}

/* ---- framing ----------------------------------------------------------- */

static uint32_t header_id(const pd_buf_t *buf)
{
        const unsigned char *b = (const unsigned char *)buf->data;
        return ((uint32_t)b[1] << 24) | ((uint32_t)b[2] << 16) |
               ((uint32_t)b[3] << 8) | b[4];
}

/* Encodes one record of each schema with codec c into bufs[]. */
static void encode_all(pd_codec_t *c, pd_buf_t bufs[PD_SCHEMA__CNT])
{
        pd_event_t ev = ev_sale_full();
        pd_marker_t m;
        pd_plan_t plan = {0};
        pd_action_t act = {0};
        pd_pstate_t ps = {0};
        full_marker(&m);
        plan.plan_id = "p";
        act.action_id = "a";
        assert_int_equal(pd_codec_event_encode(c, &ev, &bufs[0]), PD_OK);
        assert_int_equal(pd_codec_marker_encode(c, &m, &bufs[1]), PD_OK);
        assert_int_equal(pd_codec_plan_encode(c, &plan, &bufs[2]), PD_OK);
        assert_int_equal(pd_codec_action_encode(c, &act, &bufs[3]), PD_OK);
        assert_int_equal(pd_codec_pstate_encode(c, &ps, &bufs[4]), PD_OK);
}

/* Decodes bytes as schema s with codec c. */
static pd_err_t decode_as(pd_codec_t *c, pd_schema_t s, const void *b,
                          size_t len, pd_arena_t *arena, char *err,
                          size_t err_size)
{
        union {
                pd_event_t ev;
                pd_marker_t m;
                pd_plan_t plan;
                pd_action_t act;
                pd_pstate_t ps;
        } u;
        switch (s) {
        case PD_SCHEMA_LIFECYCLE:
                return pd_codec_event_decode(c, b, len, arena, &u.ev, err,
                                             err_size);
        case PD_SCHEMA_MARKER:
                return pd_codec_marker_decode(c, b, len, arena, &u.m, err,
                                              err_size);
        case PD_SCHEMA_PLAN:
                return pd_codec_plan_decode(c, b, len, arena, &u.plan, err,
                                            err_size);
        case PD_SCHEMA_ACTION:
                return pd_codec_action_decode(c, b, len, arena, &u.act, err,
                                              err_size);
        default:
                return pd_codec_pstate_decode(c, b, len, arena, &u.ps, err,
                                              err_size);
        }
}

static void test_framing_default_ids(void **state)
{
        pd_buf_t bufs[PD_SCHEMA__CNT];
        pd_arena_t arena;
        pd_arena_init(&arena);
        for (int i = 0; i < PD_SCHEMA__CNT; i++)
                pd_buf_init(&bufs[i]);
        encode_all(codec, bufs);
        for (int i = 0; i < PD_SCHEMA__CNT; i++) {
                char err[256] = "";
                assert_true(bufs[i].len > 5);
                assert_int_equal((unsigned char)bufs[i].data[0], 0x00);
                assert_int_equal(header_id(&bufs[i]), (uint32_t)(i + 1));
                assert_non_null(pd_codec_schema_json((pd_schema_t)i));
                /* Every other decoder refuses it by schema id. */
                for (int j = 0; j < PD_SCHEMA__CNT; j++) {
                        pd_err_t e =
                            decode_as(codec, (pd_schema_t)j, bufs[i].data,
                                      bufs[i].len, &arena, err, sizeof(err));
                        if (i == j) {
                                assert_int_equal(e, PD_OK);
                                continue;
                        }
                        assert_int_equal(e, PD_ERR_DECODE);
                        contains(err, "framing");
                        contains(err, "schema id");
                }
                pd_buf_term(&bufs[i]);
        }
        assert_null(pd_codec_schema_json(PD_SCHEMA__CNT));
        pd_arena_term(&arena);
}

static void test_framing_configured_ids(void **state)
{
        const int32_t ids[PD_SCHEMA__CNT] = {100, 0x01020304, 300, 65536,
                                             0x7fffffff};
        pd_codec_t *custom;
        pd_buf_t bufs[PD_SCHEMA__CNT];
        pd_arena_t arena;
        char err[256] = "";
        assert_int_equal(pd_codec_new(ids, &custom, err, sizeof(err)), PD_OK);
        pd_arena_init(&arena);
        for (int i = 0; i < PD_SCHEMA__CNT; i++)
                pd_buf_init(&bufs[i]);
        encode_all(custom, bufs);
        const unsigned char *b = (const unsigned char *)bufs[1].data;
        assert_int_equal(b[0], 0);
        assert_int_equal(b[1], 1);
        assert_int_equal(b[2], 2);
        assert_int_equal(b[3], 3);
        assert_int_equal(b[4], 4);
        for (int i = 0; i < PD_SCHEMA__CNT; i++) {
                assert_int_equal(header_id(&bufs[i]), (uint32_t)ids[i]);
                assert_int_equal(decode_as(custom, (pd_schema_t)i, bufs[i].data,
                                           bufs[i].len, &arena, err,
                                           sizeof(err)),
                                 PD_OK);
                /* The default ids do not match. */
                assert_int_equal(decode_as(codec, (pd_schema_t)i, bufs[i].data,
                                           bufs[i].len, &arena, err,
                                           sizeof(err)),
                                 PD_ERR_DECODE);
                contains(err, "schema id");
                pd_buf_term(&bufs[i]);
        }
        pd_arena_term(&arena);
        pd_codec_destroy(custom);
        pd_codec_destroy(NULL);
}

/* ---- hostile input ------------------------------------------------------ */

/* A hand-made message: header plus raw Avro written with the helpers below. */
typedef struct raw_s {
        unsigned char b[512];
        size_t n;
} raw_t;

static void raw_header(raw_t *r, uint32_t id)
{
        r->n = 0;
        r->b[r->n++] = 0;
        r->b[r->n++] = (unsigned char)(id >> 24);
        r->b[r->n++] = (unsigned char)(id >> 16);
        r->b[r->n++] = (unsigned char)(id >> 8);
        r->b[r->n++] = (unsigned char)id;
}

/* Avro long: zig-zag, then little-endian base-128 varint. */
static void raw_long(raw_t *r, int64_t v)
{
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        do {
                unsigned char c = z & 0x7f;
                z >>= 7;
                r->b[r->n++] = c | (z ? 0x80 : 0);
        } while (z);
}

static void raw_str(raw_t *r, const char *s)
{
        size_t n = strlen(s);
        raw_long(r, (int64_t)n);
        memcpy(r->b + r->n, s, n);
        r->n += n;
}

/* event_id, customer_id, occurred_at, source: the fields before payload. */
static void raw_event_head(raw_t *r)
{
        raw_header(r, 1);
        raw_str(r, EV_ID);
        raw_str(r, "CUST-0001");
        raw_long(r, T0);
        raw_str(r, "crm");
}

static void raw_huge_length(raw_t *r)
{
        raw_header(r, 1);
        raw_long(r, (int64_t)1 << 40); /* event_id length 2^40 */
        raw_str(r, "x");
}

static void raw_negative_length(raw_t *r)
{
        raw_header(r, 1);
        raw_long(r, -5);
        raw_str(r, "abcdefgh");
}

static void raw_union_out_of_range(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, 7); /* payload has 7 branches: 0-6 */
        raw_long(r, 0);
}

static void raw_union_negative(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, -1);
}

static void raw_enum_out_of_range(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_SURVEY_RETURNED);
        raw_long(r, 0); /* survey_id: null */
        raw_long(r, 2); /* SurveyKind has NPS, CSAT */
        raw_long(r, 5);
        raw_long(r, 0);
}

static void raw_bad_boolean(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_RENEWAL_DUE);
        raw_str(r, "C-1");
        raw_long(r, T0);
        memset(r->b + r->n, 0, 8);
        r->n += 8;
        r->b[r->n++] = 2; /* auto_renew: only 0 or 1 */
}

static void raw_huge_map(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_CHECKPOINTS_RECORDED);
        raw_long(r, (int64_t)1 << 50); /* map block count */
        raw_str(r, "k");
        raw_str(r, "v");
        raw_long(r, 0);
}

static void raw_map_key_too_long(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_CHECKPOINTS_RECORDED);
        raw_long(r, 1);
        raw_long(r, 1000); /* key length beyond the message */
        raw_str(r, "k");
}

static void raw_int_overflow(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_SURVEY_RETURNED);
        raw_long(r, 0);
        raw_long(r, 0);
        raw_long(r, (int64_t)1 << 33); /* score is an Avro int */
        raw_long(r, 0);
}

static void raw_unterminated_varint(raw_t *r)
{
        raw_header(r, 1);
        for (int i = 0; i < 12; i++)
                r->b[r->n++] = 0xff;
}

static void raw_json(raw_t *r)
{
        const char *j = "{\"event_id\": \"" EV_ID "\", \"customer_id\": "
                        "\"CUST-0001\"}";
        r->n = strlen(j);
        memcpy(r->b, j, r->n);
}

static void raw_no_magic(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_CUSTOMER_ERASED);
        raw_long(r, 0);
        memmove(r->b, r->b + 1, --r->n); /* the Avro without byte 0 */
}

static void raw_bad_magic(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_CUSTOMER_ERASED);
        raw_long(r, 0);
        r->b[0] = 0x01;
}

static void raw_header_only(raw_t *r)
{
        raw_header(r, 1);
}

static void raw_short_header(raw_t *r)
{
        raw_header(r, 1);
        r->n = 3;
}

static void raw_wrong_id(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_CUSTOMER_ERASED);
        raw_long(r, 0);
        r->b[4] = 2; /* PersonaMarker's id */
}

static void raw_trailing(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_CUSTOMER_ERASED);
        raw_long(r, 0);
        r->b[r->n++] = 0;
        r->b[r->n++] = 0;
}

/* A SaleClosed cut after its deal_id: the required fields are missing. */
static void raw_missing_fields(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_SALE_CLOSED);
        raw_str(r, "D-1");
}

/* The fields before the payload and nothing more. */
static void raw_missing_payload(raw_t *r)
{
        raw_event_head(r);
}

/* The good baseline of the hand-made messages: must decode. */
static void raw_good(raw_t *r)
{
        raw_event_head(r);
        raw_long(r, PD_EV_CUSTOMER_ERASED);
        raw_long(r, 0);
}

struct raw_case {
        const char *name;
        void (*make)(raw_t *r);
        pd_err_t want;
        const char *why[3]; /* substrings errstr must contain */
};

static const struct raw_case raw_cases[] = {
    {"good", raw_good, PD_OK, {NULL}},
    {"raw JSON", raw_json, PD_ERR_DECODE, {"framing", "magic"}},
    {"missing magic byte", raw_no_magic, PD_ERR_DECODE, {"framing"}},
    {"magic byte 0x01", raw_bad_magic, PD_ERR_DECODE, {"framing", "0x01"}},
    {"header only", raw_header_only, PD_ERR_DECODE, {"avro", "event_id"}},
    {"3-byte header", raw_short_header, PD_ERR_DECODE, {"framing"}},
    {"wrong schema id",
     raw_wrong_id,
     PD_ERR_DECODE,
     {"framing", "schema id 2", "LifecycleEvent"}},
    {"string length 2^40",
     raw_huge_length,
     PD_ERR_DECODE,
     {"avro", "event_id", "length"}},
    {"negative string length",
     raw_negative_length,
     PD_ERR_DECODE,
     {"event_id", "length -5"}},
    {"union index 7",
     raw_union_out_of_range,
     PD_ERR_DECODE,
     {"payload", "union index 7"}},
    {"union index -1",
     raw_union_negative,
     PD_ERR_DECODE,
     {"payload", "union index -1"}},
    {"enum symbol 2",
     raw_enum_out_of_range,
     PD_ERR_DECODE,
     {"SurveyReturned.kind", "enum"}},
    {"boolean 2",
     raw_bad_boolean,
     PD_ERR_DECODE,
     {"RenewalDue.auto_renew", "boolean"}},
    {"map count 2^50",
     raw_huge_map,
     PD_ERR_DECODE,
     {"CheckpointsRecorded.checkpoints", "count"}},
    {"map key beyond message",
     raw_map_key_too_long,
     PD_ERR_DECODE,
     {"checkpoints", "key"}},
    {"int beyond 32 bits",
     raw_int_overflow,
     PD_ERR_DECODE,
     {"SurveyReturned.score", "int"}},
    {"unterminated varint",
     raw_unterminated_varint,
     PD_ERR_DECODE,
     {"event_id", "truncated"}},
    {"trailing bytes", raw_trailing, PD_ERR_DECODE, {"2 trailing bytes"}},
    {"record cut before required fields",
     raw_missing_fields,
     PD_ERR_DECODE,
     {"avro", "payload.SaleClosed.products", "truncated"}},
    {"no payload", raw_missing_payload, PD_ERR_DECODE, {"payload", "union"}},
};

static void test_hostile_raw(void **state)
{
        pd_arena_t arena;
        pd_arena_init(&arena);
        for (size_t i = 0; i < sizeof(raw_cases) / sizeof(raw_cases[0]); i++) {
                const struct raw_case *c = &raw_cases[i];
                raw_t r = {{0}, 0};
                pd_event_t ev;
                char err[512] = "";
                print_message("hostile case: %s\n", c->name);
                c->make(&r);
                pd_err_t e = pd_codec_event_decode(codec, r.b, r.n, &arena, &ev,
                                                   err, sizeof(err));
                if (e != c->want)
                        fail_msg("%s: want %s, got %s (%s)", c->name,
                                 pd_err_name(c->want), pd_err_name(e), err);
                for (size_t j = 0; j < 3 && c->why[j]; j++)
                        contains(err, c->why[j]);
                pd_arena_reset(&arena);
        }
        pd_arena_term(&arena);
}

static void test_hostile_empty(void **state)
{
        pd_arena_t arena;
        pd_event_t ev;
        pd_marker_t m;
        char err[256] = "";
        pd_arena_init(&arena);
        assert_int_equal(
            pd_codec_event_decode(codec, "", 0, &arena, &ev, err, sizeof(err)),
            PD_ERR_DECODE);
        contains(err, "framing: empty");
        err[0] = '\0';
        assert_int_equal(pd_codec_marker_decode(codec, NULL, 0, &arena, &m, err,
                                                sizeof(err)),
                         PD_ERR_DECODE);
        contains(err, "framing: empty");
        /* No errstr at all must not crash either. */
        assert_int_equal(
            pd_codec_event_decode(codec, "", 0, &arena, &ev, NULL, 0),
            PD_ERR_DECODE);
        pd_arena_term(&arena);
}

/* Encodes ev (which the encoder accepts without checking the contract) and
 * expects the decoder to refuse it naming the field. */
static void expect_invalid(pd_event_t *ev, const char *field)
{
        pd_buf_t buf;
        pd_arena_t arena;
        pd_event_t got;
        char err[512] = "";
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        assert_int_equal(pd_codec_event_encode(codec, ev, &buf), PD_OK);
        pd_err_t e = pd_codec_event_decode(codec, buf.data, buf.len, &arena,
                                           &got, err, sizeof(err));
        if (e != PD_ERR_INVALID)
                fail_msg("%s: want PD_ERR_INVALID, got %s (%s)", field,
                         pd_err_name(e), err);
        contains(err, field);
        /* pd_event_validate says the same on the struct itself. */
        char err2[512] = "";
        assert_int_equal(pd_event_validate(ev, err2, sizeof(err2)),
                         PD_ERR_INVALID);
        assert_string_equal(err, err2);
        pd_arena_term(&arena);
        pd_buf_term(&buf);
}

static char big_id[100 * 1024 + 1];

struct invalid_case {
        const char *name;
        pd_event_t (*make)(void);
        const char *field;
};

static pd_event_t inv_nps_11(void)
{
        pd_event_t ev = ev_survey();
        ev.u.survey.score = 11;
        return ev;
}

static pd_event_t inv_nps_neg(void)
{
        pd_event_t ev = ev_survey();
        ev.u.survey.score = -1;
        return ev;
}

static pd_event_t inv_csat_0(void)
{
        pd_event_t ev = ev_csat();
        ev.u.survey.score = 0;
        return ev;
}

static pd_event_t inv_csat_6(void)
{
        pd_event_t ev = ev_csat();
        ev.u.survey.score = 6;
        return ev;
}

static pd_event_t inv_empty_customer(void)
{
        pd_event_t ev = ev_impl();
        ev.customer_id = "";
        return ev;
}

static pd_event_t inv_big_customer(void)
{
        pd_event_t ev = ev_impl();
        ev.customer_id = big_id;
        return ev;
}

static pd_event_t inv_event_id(void)
{
        pd_event_t ev = ev_impl();
        ev.event_id = "not-a-uuid-at-all";
        return ev;
}

static pd_event_t inv_event_id_nonhex(void)
{
        pd_event_t ev = ev_impl();
        ev.event_id = "0b6f3c1e-5d2a-4c8e-9f10-2a3b4c5d6e7g";
        return ev;
}

static pd_event_t inv_event_id_empty(void)
{
        pd_event_t ev = ev_impl();
        ev.event_id = "";
        return ev;
}

static pd_event_t inv_tz(void)
{
        pd_event_t ev = ev_sale_full();
        ev.u.sale.time_zone = "Mars/Olympus_Mons";
        return ev;
}

static pd_event_t inv_occurred(void)
{
        pd_event_t ev = ev_impl();
        ev.occurred_at = 0;
        return ev;
}

static pd_event_t inv_deal_id(void)
{
        pd_event_t ev = ev_sale_full();
        ev.u.sale.deal_id = "";
        return ev;
}

static pd_event_t inv_ticket_id(void)
{
        pd_event_t ev = ev_ticket();
        ev.u.ticket.ticket_id = "";
        return ev;
}

static pd_event_t inv_contract(void)
{
        pd_event_t ev = ev_renewal();
        ev.u.renewal.contract_id = "";
        return ev;
}

static pd_event_t inv_renewal_date(void)
{
        pd_event_t ev = ev_renewal();
        ev.u.renewal.renewal_date = 0;
        return ev;
}

static const struct invalid_case invalid_cases[] = {
    {"NPS score 11", inv_nps_11, "payload.SurveyReturned.score: 11"},
    {"NPS score -1", inv_nps_neg, "payload.SurveyReturned.score: -1"},
    {"CSAT score 0", inv_csat_0, "payload.SurveyReturned.score: 0"},
    {"CSAT score 6", inv_csat_6, "payload.SurveyReturned.score: 6"},
    {"empty customer id", inv_empty_customer, "customer_id: empty"},
    {"100 kB customer id", inv_big_customer, "customer_id: 102400 bytes"},
    {"event id not a UUID", inv_event_id, "event_id: not a UUID"},
    {"event id with a g", inv_event_id_nonhex, "event_id: not a UUID"},
    {"empty event id", inv_event_id_empty, "event_id"},
    {"unknown time zone", inv_tz, "payload.SaleClosed.time_zone"},
    {"occurred_at 0", inv_occurred, "occurred_at"},
    {"empty deal id", inv_deal_id, "payload.SaleClosed.deal_id"},
    {"empty ticket id", inv_ticket_id, "payload.TicketOpened.ticket_id"},
    {"empty contract id", inv_contract, "payload.RenewalDue.contract_id"},
    {"renewal date 0", inv_renewal_date, "payload.RenewalDue.renewal_date"},
};

static void test_invalid_fields(void **state)
{
        memset(big_id, 'c', sizeof(big_id) - 1);
        for (size_t i = 0; i < sizeof(invalid_cases) / sizeof(invalid_cases[0]);
             i++) {
                pd_event_t ev = invalid_cases[i].make();
                print_message("invalid case: %s\n", invalid_cases[i].name);
                expect_invalid(&ev, invalid_cases[i].field);
        }
}

/* Every strict prefix of a valid message fails cleanly; only the whole
 * message decodes. */
/* Fields appended to PersonaMarker with a default since its first
 * version: recent_deal_ids, recent_ticket_ids, persona_history, signals,
 * partition.  A marker prefix ending where one of them starts is what an
 * older version wrote. */
#define MARKER_APPENDED 5

static void check_prefixes(pd_schema_t s, const pd_buf_t *buf)
{
        pd_arena_t arena;
        size_t older = 0;
        pd_arena_init(&arena);
        for (size_t len = 0; len <= buf->len; len++) {
                char err[512] = "";
                /* A private copy of exactly len bytes, so ASan sees any
                 * read past the end. */
                char *copy = malloc(len ? len : 1);
                assert_non_null(copy);
                memcpy(copy, buf->data, len);
                pd_err_t e =
                    decode_as(codec, s, copy, len, &arena, err, sizeof(err));
                if (len < buf->len && s == PD_SCHEMA_MARKER && !e) {
                        pd_marker_t m;
                        assert_int_equal(
                            pd_codec_marker_decode(codec, copy, len, &arena, &m,
                                                   err, sizeof(err)),
                            PD_OK);
                        assert_int_equal(m.partition, -1);
                        older++;
                } else if (len < buf->len) {
                        if (e != PD_ERR_DECODE)
                                fail_msg("schema %d prefix %zu/%zu: got %s",
                                         (int)s, len, buf->len, pd_err_name(e));
                        assert_true(strstr(err, "framing") ||
                                    strstr(err, "avro"));
                } else if (e) {
                        fail_msg("schema %d full: %s", (int)s, err);
                }
                free(copy);
                pd_arena_reset(&arena);
        }
        assert_int_equal(older, s == PD_SCHEMA_MARKER ? MARKER_APPENDED : 0);
        pd_arena_term(&arena);
}

/* Bytes an older version wrote (without the fields appended since) still
 * decode, the missing fields defaulted: a store or changelog survives the
 * upgrade. */
static void test_marker_older_versions(void **state)
{
        pd_marker_t m, got;
        pd_buf_t buf;
        pd_arena_t arena;
        char err[256] = "";
        /* trimmed bytes: partition -1 (1 byte), signals [] (1), history
         * [] (1) */
        static const size_t trims[] = {1, 2, 3};
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        full_marker(&m);
        m.n_history = 0;
        m.n_signals = 0;
        m.partition = -1;
        assert_int_equal(pd_codec_marker_encode(codec, &m, &buf), PD_OK);
        assert_int_equal((unsigned char)buf.data[buf.len - 1], 0x01);
        for (size_t i = 0; i < sizeof(trims) / sizeof(trims[0]); i++) {
                pd_err_t e =
                    pd_codec_marker_decode(codec, buf.data, buf.len - trims[i],
                                           &arena, &got, err, sizeof(err));
                if (e)
                        fail_msg("older marker (-%zu bytes): %s", trims[i],
                                 err);
                marker_eq(&m, &got);
                assert_int_equal(got.partition, -1);
        }
        /* One byte more is not an older version. */
        assert_int_equal(pd_codec_marker_decode(codec, buf.data, buf.len - 4,
                                                &arena, &got, err, sizeof(err)),
                         PD_ERR_DECODE);
        pd_arena_term(&arena);
        pd_buf_term(&buf);
}

static void test_truncated_every_prefix(void **state)
{
        pd_buf_t bufs[PD_SCHEMA__CNT];
        pd_buf_t buf;
        pd_buf_init(&buf);
        for (int i = 0; i < PD_SCHEMA__CNT; i++)
                pd_buf_init(&bufs[i]);
        encode_all(codec, bufs);
        for (int i = 0; i < PD_SCHEMA__CNT; i++) {
                check_prefixes((pd_schema_t)i, &bufs[i]);
                pd_buf_term(&bufs[i]);
        }
        for (size_t i = 0; i < N_EVENT_CASES; i++) {
                pd_event_t ev = event_cases[i].make();
                assert_int_equal(pd_codec_event_encode(codec, &ev, &buf),
                                 PD_OK);
                check_prefixes(PD_SCHEMA_LIFECYCLE, &buf);
        }
        pd_buf_term(&buf);
}

/* Every byte of a valid message replaced by several values: decoding must
 * never crash, and a failure always says why. */
static void mutate_all(pd_schema_t s, const pd_buf_t *buf, size_t *n_ok,
                       size_t *n_bad)
{
        static const int deltas[] = {0x01, 0x7f, 0x80, 0xff};
        static const int values[] = {0x00, 0x01, 0x02, 0x7f, 0x80, 0xff};
        pd_arena_t arena;
        char *copy = malloc(buf->len);
        assert_non_null(copy);
        pd_arena_init(&arena);
        for (size_t pos = 0; pos < buf->len; pos++) {
                for (size_t v = 0; v < 10; v++) {
                        char err[512] = "";
                        memcpy(copy, buf->data, buf->len);
                        unsigned char b = (unsigned char)copy[pos];
                        copy[pos] =
                            (char)(v < 4 ? b ^ deltas[v] : values[v - 4]);
                        pd_err_t e = decode_as(codec, s, copy, buf->len, &arena,
                                               err, sizeof(err));
                        if (e == PD_OK) {
                                (*n_ok)++;
                        } else {
                                assert_true(e == PD_ERR_DECODE ||
                                            e == PD_ERR_INVALID);
                                assert_true(err[0] != '\0');
                                (*n_bad)++;
                        }
                        pd_arena_reset(&arena);
                }
        }
        pd_arena_term(&arena);
        free(copy);
}

static void test_mutation_never_crashes(void **state)
{
        pd_buf_t bufs[PD_SCHEMA__CNT];
        pd_buf_t buf;
        size_t n_ok = 0, n_bad = 0;
        pd_buf_init(&buf);
        for (int i = 0; i < PD_SCHEMA__CNT; i++)
                pd_buf_init(&bufs[i]);
        encode_all(codec, bufs);
        for (int i = 0; i < PD_SCHEMA__CNT; i++) {
                mutate_all((pd_schema_t)i, &bufs[i], &n_ok, &n_bad);
                pd_buf_term(&bufs[i]);
        }
        for (size_t i = 0; i < N_EVENT_CASES; i++) {
                pd_event_t ev = event_cases[i].make();
                assert_int_equal(pd_codec_event_encode(codec, &ev, &buf),
                                 PD_OK);
                mutate_all(PD_SCHEMA_LIFECYCLE, &buf, &n_ok, &n_bad);
        }
        print_message("mutations: %zu decoded, %zu refused\n", n_ok, n_bad);
        assert_true(n_bad > 0);
        pd_buf_term(&buf);
}

/* The codec is reused across messages: a failed decode leaves nothing
 * behind that changes the next good one. */
static void test_reuse_after_failure(void **state)
{
        pd_buf_t buf;
        pd_arena_t arena;
        pd_event_t want = ev_sale_full(), got;
        raw_t r = {{0}, 0};
        char err[256] = "";
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        assert_int_equal(pd_codec_event_encode(codec, &want, &buf), PD_OK);
        raw_enum_out_of_range(&r);
        assert_int_equal(pd_codec_event_decode(codec, r.b, r.n, &arena, &got,
                                               err, sizeof(err)),
                         PD_ERR_DECODE);
        assert_int_equal(pd_codec_event_decode(codec, buf.data, buf.len, &arena,
                                               &got, err, sizeof(err)),
                         PD_OK);
        event_eq(&want, &got);
        /* Encoding a sparse event after a full one leaves no stale field. */
        want = ev_sale_sparse();
        assert_int_equal(pd_codec_event_encode(codec, &want, &buf), PD_OK);
        assert_int_equal(pd_codec_event_decode(codec, buf.data, buf.len, &arena,
                                               &got, err, sizeof(err)),
                         PD_OK);
        event_eq(&want, &got);
        pd_arena_term(&arena);
        pd_buf_term(&buf);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_event_roundtrip),
            cmocka_unit_test(test_marker_roundtrip_full),
            cmocka_unit_test(test_marker_roundtrip_minimal),
            cmocka_unit_test(test_marker_roundtrip_limits),
            cmocka_unit_test(test_marker_older_versions),
            cmocka_unit_test(test_plan_roundtrip),
            cmocka_unit_test(test_action_roundtrip),
            cmocka_unit_test(test_pstate_roundtrip),
            cmocka_unit_test(test_framing_default_ids),
            cmocka_unit_test(test_framing_configured_ids),
            cmocka_unit_test(test_hostile_empty),
            cmocka_unit_test(test_hostile_raw),
            cmocka_unit_test(test_invalid_fields),
            cmocka_unit_test(test_truncated_every_prefix),
            cmocka_unit_test(test_mutation_never_crashes),
            cmocka_unit_test(test_reuse_after_failure),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
