/* Table-driven lifecycle tests of the engine (src/engine.c) with the real
 * model, templates and roster: each lifecycle is a list of steps (apply an
 * event, fire timers at a time, or advance the clock firing every timer on
 * the way) with the exact outputs each step must produce.  Every timer step
 * also checks that pd_engine_next_timer moved past `now` (no stuck timer),
 * every action id is uuid5("<caused_by>/<kind>") and no id repeats within a
 * lifecycle. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "engine.h"
#include "schedule.h"

#define DAY_MS  (86400LL * 1000)
#define HOUR_MS (3600LL * 1000)
#define TZ      "Europe/Berlin"
#define MAX_IDS 512

static pd_model_t *model;
static pd_catalog_t *catalog;
static int64_t t0; /* 2024-03-01T10:00:00Z */

static int group_setup(void **state)
{
        const char *dir = getenv("PD_SOURCE_DIR");
        char m[1024], t[1024], r[1024], err[512] = "";
#ifdef PD_SOURCE_DIR
        if (!dir)
                dir = PD_SOURCE_DIR;
#endif
        snprintf(m, sizeof(m), "%s/model/persona-model.json", dir);
        snprintf(t, sizeof(t), "%s/model/plan-templates.json", dir);
        snprintf(r, sizeof(r), "%s/model/roster.json", dir);
        pd_schedule_parse("2024-03-01T10:00:00Z", &t0);
        if (pd_model_load(m, &model, err, sizeof(err)) ||
            pd_catalog_load(t, r, &catalog, err, sizeof(err))) {
                fprintf(stderr, "model: %s\n", err);
                return -1;
        }
        return 0;
}

static int group_teardown(void **state)
{
        pd_model_destroy(model);
        pd_catalog_destroy(catalog);
        return 0;
}

/* ---- the step language ------------------------------------------------- */

typedef enum op_e {
        OP_SALE,
        OP_IMPL,
        OP_SURVEY,
        OP_RENEWAL,
        OP_TICKET,
        OP_CHURN,
        OP_ERASE,
        OP_FIRE,    /* one pd_engine_fire at `at` */
        OP_ADVANCE, /* fire at every timer up to and including `at` */
} op_t;

typedef enum base_e {
        B_T0,   /* t0 + off */
        B_SLOT, /* survey slot k of the marker's schedule + off */
} base_t;

typedef struct when_s {
        base_t base;
        int32_t k;
        int64_t off;
} when_t;

#define AT(days)                                                               \
        {                                                                      \
                B_T0, 0, (int64_t)((days)*DAY_MS)                              \
        }
/* t0 + days + hours, in exact integer milliseconds */
#define ATH(days, hours)                                                       \
        {                                                                      \
                B_T0, 0, (int64_t)(days)*DAY_MS + (int64_t)(hours)*HOUR_MS     \
        }
#define SLOT(k, days)                                                          \
        {                                                                      \
                B_SLOT, (k), (int64_t)((days)*DAY_MS)                          \
        }
#define DONT_CARE     (-1)
#define STEP(o, l, w) .op = (o), .label = (l), .at = w

typedef struct ctx_s ctx_t;

typedef struct step_s {
        op_t op;
        const char *label; /* event id = uuid5("test/<label>") */
        when_t at;
        /* payload */
        int32_t score;
        pd_survey_kind_t kind;
        const char *survey_id;
        const char *contract;
        const char *deal; /* deal_id of a sale; NULL: "D-<label>" */
        when_t date;
        /* expected */
        pd_apply_result_t result;
        int plans;
        int acts[PD_ACT__CNT]; /* DONT_CARE: any number */
        const char *slot;      /* "slot" of every send_survey */
        const char *lead;      /* "lead_days" of every prepare_renewal */
        bool silent_change;    /* fire changes the marker with no output */
        bool deferred;         /* every send_survey was deferred by the gap */
        void (*check)(ctx_t *ctx);
} step_t;

typedef struct lifecycle_s {
        const char *name;
        bool no_close_fallback;
        int32_t gap_days; /* survey.min.gap.days; 0: the default 30, <0: 0 */
        const step_t *steps;
        size_t n_steps;
} lifecycle_t;

struct ctx_s {
        pd_engine_conf_t conf;
        pd_engine_t eng;
        pd_marker_t m;
        pd_pstate_t ps;
        pd_arena_t arena; /* owns events, marker strings and outputs */
        pd_outputs_t out; /* outputs of the current step */
        int64_t now;
        const char *event_id; /* of the current step */
        pd_apply_result_t result;
        char ids[MAX_IDS][37];
        size_t n_ids;
};

static void ctx_init(ctx_t *ctx, const lifecycle_t *lc)
{
        memset(ctx, 0, sizeof(*ctx));
        ctx->conf.survey_local_minute = 600;
        ctx->conf.survey_interval_months = 6;
        ctx->conf.close_on_last_milestone = !(lc && lc->no_close_fallback);
        ctx->conf.survey_min_gap_days = 30;
        if (lc && lc->gap_days)
                ctx->conf.survey_min_gap_days =
                    lc->gap_days < 0 ? 0 : lc->gap_days;
        ctx->conf.renewal_lead_days[0] = 90;
        ctx->conf.renewal_lead_days[1] = 30;
        ctx->conf.partitions = 1;
        ctx->eng.conf = &ctx->conf;
        ctx->eng.model = model;
        ctx->eng.catalog = catalog;
        pd_arena_init(&ctx->arena);
}

static int64_t slot_time(const ctx_t *ctx, int32_t k)
{
        return pd_schedule_slot_at(ctx->m.close_at, ctx->m.time_zone, k,
                                   ctx->conf.survey_interval_months,
                                   ctx->conf.survey_local_minute);
}

static int64_t when(const ctx_t *ctx, when_t w)
{
        if (w.base == B_SLOT) {
                assert_true(ctx->m.close_at > 0);
                return slot_time(ctx, w.k) + w.off;
        }
        return t0 + w.off;
}

static const char *event_id(ctx_t *ctx, const char *label)
{
        return pd_uuid5_printf(&ctx->arena, "test/%s", label);
}

static void make_event(ctx_t *ctx, const step_t *s, pd_event_t *ev)
{
        pd_arena_t *a = &ctx->arena;
        memset(ev, 0, sizeof(*ev));
        ev->event_id = event_id(ctx, s->label);
        ev->customer_id = "CUST-1";
        ev->occurred_at = ctx->now;
        ev->source = "test";
        switch (s->op) {
        case OP_SALE:
                ev->kind = PD_EV_SALE_CLOSED;
                ev->u.sale.deal_id =
                    s->deal ? s->deal : pd_arena_printf(a, "D-%s", s->label);
                ev->u.sale.products.v = pd_arena_alloc(a, sizeof(char *));
                ev->u.sale.products.v[0] = "GTX Pro";
                ev->u.sale.products.n = 1;
                ev->u.sale.deal_value = 50000;
                ev->u.sale.currency = "EUR";
                ev->u.sale.employees = 400;
                ev->u.sale.revenue = -1;
                ev->u.sale.country = "DE";
                ev->u.sale.region = "EMEA";
                ev->u.sale.time_zone = TZ;
                pd_kvs_add(&ev->u.sale.checkpoints, a, "why_chose_us",
                           "integrations");
                pd_kvs_add(&ev->u.sale.checkpoints, a, "main_goal",
                           "automation");
                break;
        case OP_IMPL:
                ev->kind = PD_EV_IMPLEMENTATION_CLOSED;
                break;
        case OP_SURVEY:
                ev->kind = PD_EV_SURVEY_RETURNED;
                ev->u.survey.survey_id = s->survey_id;
                ev->u.survey.kind = s->kind;
                ev->u.survey.score = s->score;
                break;
        case OP_RENEWAL:
                ev->kind = PD_EV_RENEWAL_DUE;
                ev->u.renewal.contract_id = s->contract;
                ev->u.renewal.renewal_date = when(ctx, s->date);
                ev->u.renewal.annual_value = 12000;
                ev->u.renewal.auto_renew = false;
                break;
        case OP_TICKET:
                ev->kind = PD_EV_TICKET_OPENED;
                ev->u.ticket.ticket_id = pd_arena_printf(a, "T-%s", s->label);
                ev->u.ticket.category = "integration";
                ev->u.ticket.priority = "high";
                ev->u.ticket.language = "en";
                break;
        case OP_CHURN:
                ev->kind = PD_EV_CHECKPOINTS_RECORDED;
                pd_kvs_add(&ev->u.checkpoints, a, "churned", "true");
                break;
        default:
                ev->kind = PD_EV_CUSTOMER_ERASED;
                break;
        }
}

/* Fires once at now; checks the marker's next timer moved past now. */
static bool fire(ctx_t *ctx, int64_t now)
{
        bool changed = pd_engine_fire(&ctx->eng, &ctx->m, &ctx->ps, now,
                                      &ctx->arena, &ctx->out);
        int64_t next = pd_engine_next_timer(&ctx->eng, &ctx->m);
        if (next && next <= now)
                fail_msg("stuck timer: next %lld <= now %lld", (long long)next,
                         (long long)now);
        return changed;
}

static void run_timer_step(ctx_t *ctx, const step_t *s)
{
        if (s->op == OP_FIRE) {
                size_t before = ctx->out.n_actions + ctx->out.n_plans;
                bool changed = fire(ctx, ctx->now);
                bool output = ctx->out.n_actions + ctx->out.n_plans > before;
                if (output || s->silent_change)
                        assert_true(changed);
                else
                        assert_false(changed);
                return;
        }
        for (int guard = 0;; guard++) {
                int64_t next = pd_engine_next_timer(&ctx->eng, &ctx->m);
                if (!next || next > ctx->now)
                        break;
                assert_true(guard < 1000);
                fire(ctx, next);
        }
}

static const char *param(const pd_action_t *a, const char *key)
{
        const char *v = pd_kvs_get(&a->params, key);
        if (!v)
                fail_msg("%s action without %s", pd_action_kind_name(a->kind),
                         key);
        return v;
}

static void remember_id(ctx_t *ctx, const char *id)
{
        for (size_t i = 0; i < ctx->n_ids; i++)
                if (!strcmp(ctx->ids[i], id))
                        fail_msg("output id %s repeated", id);
        assert_true(ctx->n_ids < MAX_IDS);
        snprintf(ctx->ids[ctx->n_ids++], sizeof(ctx->ids[0]), "%s", id);
}

static void check_action(ctx_t *ctx, const step_t *s, const pd_action_t *a)
{
        char name[600], id[37];
        snprintf(name, sizeof(name), "%s/%s", a->caused_by,
                 pd_action_kind_name(a->kind));
        pd_uuid5(name, id);
        assert_string_equal(a->action_id, id);
        assert_string_equal(a->customer_id, "CUST-1");
        assert_non_null(a->reason);
        remember_id(ctx, a->action_id);
        if (a->kind == PD_ACT_SEND_SURVEY && s->slot) {
                assert_string_equal(param(a, "slot"), s->slot);
                int32_t k = atoi(s->slot);
                const char *from = pd_kvs_get(&a->params, "deferred_from");
                if (s->deferred) {
                        /* Sent at the end of the gap: the step's time. */
                        assert_non_null(from);
                        assert_int_equal(a->due_at, ctx->now);
                        assert_string_equal(param(a, "deferral_reason"),
                                            "min_gap");
                        assert_non_null(strstr(a->reason, "contact gap"));
                } else {
                        assert_null(from);
                        assert_int_equal(a->due_at, k ? slot_time(ctx, k)
                                                      : ctx->m.close_at);
                }
                assert_string_equal(param(a, "time_zone"),
                                    ctx->m.time_zone ? ctx->m.time_zone
                                                     : "UTC");
                assert_string_equal(param(a, "survey_kind"), "NPS");
        }
        if (a->kind == PD_ACT_PREPARE_RENEWAL && s->lead)
                assert_string_equal(param(a, "lead_days"), s->lead);
}

static void check_outputs(ctx_t *ctx, const step_t *s)
{
        int got[PD_ACT__CNT] = {0};
        for (size_t i = 0; i < ctx->out.n_actions; i++) {
                check_action(ctx, s, &ctx->out.actions[i]);
                got[ctx->out.actions[i].kind]++;
        }
        for (size_t i = 0; i < ctx->out.n_plans; i++)
                remember_id(ctx, ctx->out.plans[i].plan_id);
        assert_int_equal(ctx->out.n_plans, s->plans);
        for (int k = 0; k < PD_ACT__CNT; k++) {
                if (s->acts[k] == DONT_CARE || got[k] == s->acts[k])
                        continue;
                fail_msg("%s: %d %s actions, want %d", s->label, got[k],
                         pd_action_kind_name((pd_action_kind_t)k), s->acts[k]);
        }
}

static void run_step(ctx_t *ctx, const step_t *s)
{
        char err[256] = "";
        memset(&ctx->out, 0, sizeof(ctx->out));
        ctx->now = when(ctx, s->at);
        ctx->event_id = NULL;
        print_message("  step %s\n", s->label);
        if (s->op == OP_FIRE || s->op == OP_ADVANCE) {
                run_timer_step(ctx, s);
        } else {
                pd_event_t *ev = pd_arena_alloc(&ctx->arena, sizeof(*ev));
                assert_non_null(ev);
                make_event(ctx, s, ev);
                ctx->event_id = ev->event_id;
                pd_err_t e = pd_engine_apply(&ctx->eng, &ctx->m, &ctx->ps, ev,
                                             &ctx->arena, &ctx->out,
                                             &ctx->result, err, sizeof(err));
                if (e)
                        fail_msg("%s: %s: %s", s->label, pd_err_name(e), err);
                assert_int_equal(ctx->result, s->result);
        }
        check_outputs(ctx, s);
        if (s->check)
                s->check(ctx);
}

static void run_lifecycle(ctx_t *ctx, const lifecycle_t *lc)
{
        print_message("lifecycle: %s\n", lc->name);
        ctx_init(ctx, lc);
        for (size_t i = 0; i < lc->n_steps; i++)
                run_step(ctx, &lc->steps[i]);
}

/* ---- per-step checks --------------------------------------------------- */

static const pd_plan_t *only_plan(ctx_t *ctx)
{
        assert_int_equal(ctx->out.n_plans, 1);
        return &ctx->out.plans[0];
}

static const pd_action_t *only_action(ctx_t *ctx, pd_action_kind_t kind)
{
        const pd_action_t *found = NULL;
        for (size_t i = 0; i < ctx->out.n_actions; i++)
                if (ctx->out.actions[i].kind == kind) {
                        assert_null(found);
                        found = &ctx->out.actions[i];
                }
        assert_non_null(found);
        return found;
}

static int32_t load_of(const ctx_t *ctx, const char *pm)
{
        for (size_t i = 0; i < ctx->ps.n_loads; i++)
                if (!strcmp(ctx->ps.loads[i].pm, pm))
                        return ctx->ps.loads[i].active;
        return 0;
}

static char first_pm[128];

static void check_new_plan(ctx_t *ctx)
{
        const pd_plan_t *plan = only_plan(ctx);
        char name[128], id[37];
        snprintf(name, sizeof(name), "%s/plan", ctx->event_id);
        pd_uuid5(name, id);
        assert_string_equal(plan->plan_id, id);
        assert_string_equal(plan->caused_by, ctx->event_id);
        assert_string_equal(plan->customer_id, "CUST-1");
        assert_false(plan->extends);
        assert_int_equal(plan->persona, PD_AXIS_TECHNICAL);
        assert_string_equal(plan->template_id, "technical-integration");
        assert_non_null(plan->project_manager);
        assert_int_equal(plan->n_milestones, 6);
        assert_int_equal(ctx->m.stage, PD_STAGE_IMPLEMENTING);
        assert_string_equal(ctx->m.plan_id, plan->plan_id);
        assert_string_equal(ctx->m.project_manager, plan->project_manager);
        assert_int_equal(ctx->m.n_milestones, plan->n_milestones);
        assert_string_equal(ctx->m.time_zone, TZ);
        assert_int_equal(load_of(ctx, plan->project_manager), 1);
        const pd_action_t *a = only_action(ctx, PD_ACT_ADD_ATTENDEES);
        assert_string_equal(param(a, "plan_id"), plan->plan_id);
        assert_string_equal(a->caused_by, ctx->event_id);
        snprintf(first_pm, sizeof(first_pm), "%s", plan->project_manager);
}

static void check_extended(ctx_t *ctx)
{
        const pd_plan_t *plan = only_plan(ctx);
        char name[128], id[37];
        snprintf(name, sizeof(name), "%s/plan", ctx->event_id);
        pd_uuid5(name, id);
        assert_string_equal(plan->plan_id, id);
        assert_true(plan->extends);
        assert_string_equal(plan->project_manager, first_pm);
        assert_string_equal(ctx->m.project_manager, first_pm);
        assert_string_equal(ctx->m.plan_id, plan->plan_id);
        assert_int_equal(ctx->m.deals, 2);
        /* Still one active plan for the manager. */
        assert_int_equal(load_of(ctx, first_pm), 1);
        /* Milestones already reminded stay reminded. */
        for (size_t i = 0; i < ctx->m.n_milestones; i++)
                if (ctx->m.milestones[i].due_at <= t0 + 20 * DAY_MS)
                        assert_true(ctx->m.milestones[i].fired);
}

static void check_closed(ctx_t *ctx)
{
        assert_int_equal(ctx->m.stage, PD_STAGE_LIVE);
        assert_int_equal(ctx->m.close_at, ctx->now);
        assert_int_equal(ctx->m.next_slot, 1);
        assert_int_equal(ctx->m.next_survey_at,
                         pd_schedule_slot_at(ctx->now, TZ, 1, 6, 600));
        assert_int_equal(ctx->m.surveys_sent, 1);
        assert_int_equal(load_of(ctx, first_pm), 0); /* released */
        assert_int_equal(only_action(ctx, PD_ACT_SEND_SURVEY)->due_at,
                         ctx->now);
}

static void check_slot2_next(ctx_t *ctx)
{
        assert_int_equal(ctx->m.next_slot, 3);
        assert_int_equal(ctx->m.next_survey_at, slot_time(ctx, 3));
}

static void check_catch_up(ctx_t *ctx)
{
        const pd_action_t *a = only_action(ctx, PD_ACT_SEND_SURVEY);
        assert_non_null(strstr(a->reason, "catch-up"));
        assert_int_equal(ctx->m.next_slot, 9);
        assert_int_equal(ctx->m.next_survey_at, slot_time(ctx, 9));
        assert_int_equal(ctx->m.last_survey_at, slot_time(ctx, 8));
}

static void check_fallback_close(ctx_t *ctx)
{
        int64_t end = 0;
        for (size_t i = 0; i < ctx->m.n_milestones; i++) {
                assert_true(ctx->m.milestones[i].fired);
                if (ctx->m.milestones[i].due_at > end)
                        end = ctx->m.milestones[i].due_at;
        }
        assert_int_equal(end, t0 + 105 * DAY_MS);
        assert_int_equal(ctx->m.stage, PD_STAGE_LIVE);
        assert_int_equal(ctx->m.close_at, end);
        assert_int_equal(ctx->m.next_survey_at,
                         pd_schedule_slot_at(end, TZ, 1, 6, 600));
        assert_non_null(strstr(only_action(ctx, PD_ACT_SEND_SURVEY)->reason,
                               "last milestone"));
        assert_int_equal(load_of(ctx, first_pm), 0);
}

static void check_no_fallback(ctx_t *ctx)
{
        assert_int_equal(ctx->m.stage, PD_STAGE_IMPLEMENTING);
        assert_int_equal(ctx->m.close_at, 0);
        assert_int_equal(ctx->m.next_survey_at, 0);
        assert_int_equal(pd_engine_next_timer(&ctx->eng, &ctx->m), 0);
}

static void check_erased_releases(ctx_t *ctx)
{
        assert_int_equal(load_of(ctx, first_pm), 0);
}

static void check_no_timer(ctx_t *ctx)
{
        assert_int_equal(pd_engine_next_timer(&ctx->eng, &ctx->m), 0);
}

static void check_survey_score_3(ctx_t *ctx)
{
        assert_int_equal(ctx->m.n_surveys, 1);
        assert_string_equal(ctx->m.surveys[0].survey_id, "S-1");
        assert_int_equal(ctx->m.surveys[0].score, 3);
        assert_int_equal(ctx->m.surveys[0].at, t0 + 2 * DAY_MS);
}

static void check_survey_score_10(ctx_t *ctx)
{
        assert_int_equal(ctx->m.n_surveys, 1);
        assert_int_equal(ctx->m.surveys[0].score, 10);
        assert_int_equal(ctx->m.surveys[0].at, t0 + 3 * DAY_MS);
}

static void check_detractor_context(ctx_t *ctx)
{
        const pd_action_t *a = only_action(ctx, PD_ACT_NOTIFY_LEADER);
        assert_string_equal(param(a, "escalation"), "detractor");
        assert_string_equal(param(a, "score"), "3");
        assert_string_equal(param(a, "survey_id"), "S-1");
        assert_non_null(param(a, "persona"));
}

static int32_t events_before_dup;

static void note_events(ctx_t *ctx)
{
        events_before_dup = ctx->m.events;
}

static void check_dup_unchanged(ctx_t *ctx)
{
        assert_int_equal(ctx->m.events, events_before_dup);
        assert_int_equal(ctx->m.n_surveys, 1);
        assert_int_equal(ctx->m.surveys[0].score, 10);
}

/* The marker as it was before a re-sent deal, encoded field by field. */
static char marker_before[4096];

static void describe(const pd_marker_t *m, char *buf, size_t size)
{
        int n = snprintf(buf, size,
                         "deals %d events %d evidence %zu plan %s pm %s "
                         "milestones %zu event_ids %zu deal_ids %zu axes",
                         m->deals, m->events, m->n_evidence,
                         m->plan_id ? m->plan_id : "-",
                         m->project_manager ? m->project_manager : "-",
                         m->n_milestones, m->n_event_ids, m->n_deal_ids);
        for (int a = 0; a < PD_AXIS__CNT && n > 0 && (size_t)n < size; a++)
                n += snprintf(buf + n, size - (size_t)n, " %.6f", m->axis[a]);
        for (size_t i = 0; i < m->n_milestones && n > 0 && (size_t)n < size;
             i++)
                n += snprintf(buf + n, size - (size_t)n, " %lld/%d",
                              (long long)m->milestones[i].due_at,
                              m->milestones[i].fired);
}

static void note_marker(ctx_t *ctx)
{
        describe(&ctx->m, marker_before, sizeof(marker_before));
}

/* A deal re-sent under a new event id: no deal counted, no plan extended,
 * no checkpoint scored again, no output; the marker is as before. */
static void check_deal_unchanged(ctx_t *ctx)
{
        char now[4096];
        describe(&ctx->m, now, sizeof(now));
        assert_string_equal(now, marker_before);
}

static void check_two_deals(ctx_t *ctx)
{
        assert_int_equal(ctx->m.deals, 2);
        assert_int_equal(ctx->m.n_deal_ids, 2);
        assert_string_equal(ctx->m.deal_ids[0], "D-A");
        assert_string_equal(ctx->m.deal_ids[1], "D-B");
}

static void check_churned(ctx_t *ctx)
{
        assert_int_equal(ctx->m.stage, PD_STAGE_CHURNED);
        assert_int_equal(ctx->m.next_survey_at, 0);
        check_no_timer(ctx);
}

static void check_renewal_rearmed(ctx_t *ctx)
{
        assert_int_equal(ctx->m.n_renewals, 1);
        assert_int_equal(ctx->m.renewals[0].leads_fired, 0);
        assert_int_equal(ctx->m.renewals[0].renewal_date, t0 + 300 * DAY_MS);
        assert_int_equal(pd_engine_next_timer(&ctx->eng, &ctx->m),
                         t0 + 210 * DAY_MS);
}

static const pd_action_t *nth_action(ctx_t *ctx, pd_action_kind_t kind,
                                     size_t n)
{
        for (size_t i = 0; i < ctx->out.n_actions; i++)
                if (ctx->out.actions[i].kind == kind && n-- == 0)
                        return &ctx->out.actions[i];
        fail_msg("no %s action", pd_action_kind_name(kind));
        return NULL;
}

/* Days 0 and 10 of the technical template came due: for each, the PM
 * reminder and the leader's progress summary, under the same slot. */
static void check_progress_day_20(ctx_t *ctx)
{
        static const char *const progress[] = {"1/6", "2/6"};
        for (size_t i = 0; i < 2; i++) {
                const pd_action_t *ms =
                    nth_action(ctx, PD_ACT_MILESTONE_DUE, i);
                const pd_action_t *a = nth_action(ctx, PD_ACT_NOTIFY_LEADER, i);
                assert_string_equal(a->caused_by, ms->caused_by);
                assert_int_equal(a->due_at, ms->due_at);
                assert_int_equal(a->due_at, t0 + (i ? 10 : 0) * DAY_MS);
                assert_string_equal(param(a, "topic"), "milestone_progress");
                assert_string_equal(param(a, "progress"), progress[i]);
                assert_string_equal(param(a, "milestones_done"), i ? "2" : "1");
                assert_string_equal(param(a, "milestones_total"), "6");
                assert_string_equal(param(a, "milestone"),
                                    param(ms, "milestone"));
                assert_string_equal(param(a, "plan_id"), ctx->m.plan_id);
                assert_string_equal(param(a, "project_manager"), first_pm);
                assert_string_equal(param(a, "persona"), "technical");
                assert_non_null(param(a, "next_milestone"));
        }
        /* The next milestone after day 10 is day 30. */
        assert_string_equal(
            param(nth_action(ctx, PD_ACT_NOTIFY_LEADER, 1), "next_due_at"),
            "2024-03-31T10:00:00Z");
}

static void check_csat_ticket(ctx_t *ctx)
{
        const pd_survey_result_t *r = &ctx->m.surveys[ctx->m.n_surveys - 1];
        assert_string_equal(r->survey_id, "T-ticket");
        assert_int_equal(r->kind, PD_SURVEY_CSAT);
        assert_int_equal(r->score, 5);
        assert_non_null(r->ticket_id);
        assert_string_equal(r->ticket_id, "T-ticket");
        /* The relationship NPS answer is untouched and not a ticket's. */
        assert_int_equal(ctx->m.surveys[0].kind, PD_SURVEY_NPS);
        assert_int_equal(ctx->m.surveys[0].score, 10);
        assert_null(ctx->m.surveys[0].ticket_id);
}

static void check_csat_no_ticket(ctx_t *ctx)
{
        const pd_survey_result_t *r = &ctx->m.surveys[ctx->m.n_surveys - 1];
        assert_string_equal(r->survey_id, "T-unknown");
        assert_int_equal(r->kind, PD_SURVEY_CSAT);
        assert_null(r->ticket_id);
        assert_int_equal(ctx->m.n_surveys, 3);
}

static int64_t utc(const char *s)
{
        int64_t at = 0;
        assert_true(pd_schedule_parse(s, &at));
        return at;
}

static void fmt_eq(int64_t at, const char *want)
{
        char buf[32];
        pd_schedule_format(at, buf, sizeof(buf));
        assert_string_equal(buf, want);
}

/* The marker waits for the contact gap: slot `slot` (0: the close survey)
 * due at `from` moved to `next`, the n-th deferral so far. */
static void expect_deferred(ctx_t *ctx, int32_t slot, const char *next,
                            const char *from, int32_t n)
{
        assert_int_equal(ctx->m.next_slot, slot);
        fmt_eq(ctx->m.next_survey_at, next);
        fmt_eq(ctx->m.survey_deferred_from, from);
        assert_int_equal(ctx->m.surveys_deferred, n);
}

/* Gap 30: slot 1 of the first schedule went out 2024-09-01 10:00 Berlin
 * (08:00Z); a second implementation closes 12 days later: its close survey
 * waits for the end of the gap, 2024-10-01T08:00Z. */
static void check_close_deferred(ctx_t *ctx)
{
        fmt_eq(ctx->m.last_survey_at, "2024-09-01T08:00:00Z");
        fmt_eq(ctx->m.close_at, "2024-09-13T08:00:00Z");
        expect_deferred(ctx, 0, "2024-10-01T08:00:00Z", "2024-09-13T08:00:00Z",
                        1);
        assert_int_equal(ctx->m.surveys_sent, 2);
        assert_int_equal(pd_engine_next_timer(&ctx->eng, &ctx->m),
                         utc("2024-10-01T08:00:00Z"));
}

static void check_close_sent_late(ctx_t *ctx)
{
        const pd_action_t *a = only_action(ctx, PD_ACT_SEND_SURVEY);
        fmt_eq(a->due_at, "2024-10-01T08:00:00Z");
        assert_string_equal(param(a, "deferred_from"), "2024-09-13T08:00:00Z");
        assert_string_equal(param(a, "previous_survey_at"),
                            "2024-09-01T08:00:00Z");
        assert_non_null(strstr(a->reason, "implementation close"));
        assert_int_equal(ctx->m.survey_deferred_from, 0);
        assert_int_equal(ctx->m.surveys_deferred, 1);
        /* Slot 1 stays anchored on the close date, not on the late send:
         * 2025-03-13 10:00 Berlin (CET) = 09:00Z. */
        assert_int_equal(ctx->m.next_slot, 1);
        fmt_eq(ctx->m.next_survey_at, "2025-03-13T09:00:00Z");
}

static void check_close_not_deferred(ctx_t *ctx)
{
        const pd_action_t *a = only_action(ctx, PD_ACT_SEND_SURVEY);
        fmt_eq(a->due_at, "2024-09-13T08:00:00Z");
        assert_int_equal(ctx->m.surveys_deferred, 0);
}

/* Gap 200 days after the close survey of 2024-03-01T10:00Z: slot 1
 * (2024-09-01T08:00Z) waits until 2024-09-17T10:00Z. */
static void check_slot1_deferred(ctx_t *ctx)
{
        expect_deferred(ctx, 1, "2024-09-17T10:00:00Z", "2024-09-01T08:00:00Z",
                        1);
}

static void check_slot1_sent_late(ctx_t *ctx)
{
        const pd_action_t *a = only_action(ctx, PD_ACT_SEND_SURVEY);
        assert_string_equal(param(a, "deferred_from"), "2024-09-01T08:00:00Z");
        assert_non_null(strstr(a->reason, "200-day contact gap"));
        /* Slot 2 from the anchor (2025-03-01 10:00 CET), not from the late
         * slot 1 (which would give 2025-03-17). */
        assert_int_equal(ctx->m.next_slot, 2);
        fmt_eq(ctx->m.next_survey_at, "2025-03-01T09:00:00Z");
}

/* Slot 2 is 165 days after the late slot 1: deferred to 2025-04-05T10:00Z
 * (2024-09-17 + 200 days). */
static void check_slot2_deferred(ctx_t *ctx)
{
        expect_deferred(ctx, 2, "2025-04-05T10:00:00Z", "2025-03-01T09:00:00Z",
                        2);
}

/* Down past slot 3 (2025-09-01T08:00Z) with slot 2 still deferred: one
 * catch-up survey, the latest slot, outside the gap (it ended 2025-04-05),
 * so not deferred. */
static void check_catch_up_supersedes(ctx_t *ctx)
{
        const pd_action_t *a = only_action(ctx, PD_ACT_SEND_SURVEY);
        fmt_eq(a->due_at, "2025-09-01T08:00:00Z");
        assert_non_null(strstr(a->reason, "catch-up"));
        assert_int_equal(ctx->m.survey_deferred_from, 0);
        assert_int_equal(ctx->m.surveys_deferred, 2);
        assert_int_equal(ctx->m.surveys_sent, 3);
        assert_int_equal(ctx->m.next_slot, 4);
}

/* ---- the lifecycles ---------------------------------------------------- */

#define ACTS(...) .acts = {__VA_ARGS__}
#define A_SURVEY  [PD_ACT_SEND_SURVEY]
#define A_ROUTE   [PD_ACT_ROUTE_TICKET]
#define A_INVITE  [PD_ACT_ADD_ATTENDEES]
#define A_RENEW   [PD_ACT_PREPARE_RENEWAL]
#define A_LEADER  [PD_ACT_NOTIFY_LEADER]
#define A_PERSONA [PD_ACT_PERSONA_CHANGED]
#define A_MS      [PD_ACT_MILESTONE_DUE]

/* Technical template milestones: days 0, 10, 30, 60, 90, 105. */
static const step_t sale_to_surveys[] = {
    {STEP(OP_SALE, "sale-1", AT(0)), .plans = 1, ACTS(A_INVITE = 1),
     .check = check_new_plan},
    {STEP(OP_ADVANCE, "advance-day-20", AT(20)), ACTS(A_MS = 2, A_LEADER = 2),
     .check = check_progress_day_20},
    /* A second deal during the plan: extended, open milestones re-dated
     * from day 25 (to days 55, 85, 115, 130). */
    {STEP(OP_SALE, "sale-2", AT(25)), .plans = 1, ACTS(A_INVITE = 1),
     .check = check_extended},
    {STEP(OP_ADVANCE, "advance-day-50", AT(50)), ACTS(A_MS = 0)},
    {STEP(OP_IMPL, "close", AT(60)), ACTS(A_SURVEY = 1), .slot = "0",
     .check = check_closed},
    {STEP(OP_IMPL, "close-again", AT(61)), ACTS(A_SURVEY = 0)},
    {STEP(OP_ADVANCE, "until-slot-1", SLOT(1, -1)),
     ACTS(A_MS = DONT_CARE, A_LEADER = DONT_CARE)},
    {STEP(OP_FIRE, "slot-1", SLOT(1, 0)), ACTS(A_SURVEY = 1), .slot = "1"},
    {STEP(OP_FIRE, "slot-1-again", SLOT(1, 0))},
    {STEP(OP_FIRE, "slot-1-later", SLOT(1, 30))},
    {STEP(OP_FIRE, "slot-2-late", SLOT(2, 0.5)), ACTS(A_SURVEY = 1),
     .slot = "2", .check = check_slot2_next},
    /* Three years down: slots 3-8 due, one catch-up survey (slot 8). */
    {STEP(OP_FIRE, "slot-8-gap", SLOT(8, 2)), ACTS(A_SURVEY = 1), .slot = "8",
     .check = check_catch_up},
    {STEP(OP_FIRE, "slot-8-again", SLOT(8, 2))},
    {STEP(OP_FIRE, "slot-9", SLOT(9, 0)), ACTS(A_SURVEY = 1), .slot = "9"},
    {STEP(OP_ADVANCE, "slot-9-to-12", SLOT(12, 0)), ACTS(A_SURVEY = 3)},
};

static const step_t close_fallback[] = {
    {STEP(OP_SALE, "sale-1", AT(0)), .plans = 1, ACTS(A_INVITE = 1),
     .check = check_new_plan},
    {STEP(OP_ADVANCE, "until-day-104", AT(104)), ACTS(A_MS = 5, A_LEADER = 5)},
    {STEP(OP_FIRE, "last-milestone", AT(105)),
     ACTS(A_MS = 1, A_LEADER = 1, A_SURVEY = 1), .slot = "0",
     .check = check_fallback_close},
    {STEP(OP_FIRE, "last-milestone-again", AT(105))},
    /* A late ImplementationClosed does not close it twice. */
    {STEP(OP_IMPL, "late-close", AT(110)), ACTS(A_SURVEY = 0)},
    {STEP(OP_FIRE, "slot-1", SLOT(1, 0)), ACTS(A_SURVEY = 1), .slot = "1"},
};

static const step_t no_fallback[] = {
    {STEP(OP_SALE, "sale-1", AT(0)), .plans = 1, ACTS(A_INVITE = 1),
     .check = check_new_plan},
    {STEP(OP_ADVANCE, "until-day-400", AT(400)),
     ACTS(A_MS = 6, A_LEADER = 6, A_SURVEY = 0), .check = check_no_fallback},
    {STEP(OP_ERASE, "erase", AT(401)), .result = PD_APPLY_ERASED,
     .check = check_erased_releases},
};

static const step_t renewals[] = {
    {STEP(OP_RENEWAL, "renewal-1", AT(0)), .contract = "C-1", .date = AT(200)},
    {STEP(OP_FIRE, "before-90", AT(109.9))},
    {STEP(OP_FIRE, "lead-90", AT(110)), ACTS(A_RENEW = 1), .lead = "90"},
    {STEP(OP_FIRE, "lead-90-again", AT(110))},
    {STEP(OP_ADVANCE, "until-169", AT(169))},
    {STEP(OP_FIRE, "lead-30", AT(170)), ACTS(A_RENEW = 1), .lead = "30"},
    {STEP(OP_FIRE, "lead-30-again", AT(171))},
    {STEP(OP_ADVANCE, "past-date", AT(172)), .check = check_no_timer},
    /* The renewal date moves: both leads again, for the new date. */
    {STEP(OP_RENEWAL, "renewal-moved", AT(175)), .contract = "C-1",
     .date = AT(300), .check = check_renewal_rearmed},
    {STEP(OP_FIRE, "moved-lead-90", AT(210)), ACTS(A_RENEW = 1), .lead = "90"},
    /* The same date again re-arms nothing. */
    {STEP(OP_RENEWAL, "renewal-same", AT(215)), .contract = "C-1",
     .date = AT(300)},
    {STEP(OP_FIRE, "same-no-refire", AT(215))},
    {STEP(OP_FIRE, "moved-lead-30", AT(270)), ACTS(A_RENEW = 1), .lead = "30"},
    {STEP(OP_ADVANCE, "until-900", AT(900)), .check = check_no_timer},
    /* Known only 10 days ahead: the 30-day lead, once. */
    {STEP(OP_RENEWAL, "renewal-late", AT(990)), .contract = "C-2",
     .date = AT(1000)},
    {STEP(OP_FIRE, "late-lead", AT(990)), ACTS(A_RENEW = 1), .lead = "30"},
    {STEP(OP_ADVANCE, "until-2000", AT(2000)), .check = check_no_timer},
    /* Known only after the date: nothing to prepare. */
    {STEP(OP_RENEWAL, "renewal-past", AT(2001)), .contract = "C-3",
     .date = AT(1999)},
    {STEP(OP_FIRE, "past-nothing", AT(2001)), .silent_change = true,
     .check = check_no_timer},
};

static const step_t surveys[] = {
    {STEP(OP_IMPL, "close", AT(0)), ACTS(A_SURVEY = 1), .slot = "0"},
    {STEP(OP_SURVEY, "answer-3", AT(2)), .survey_id = "S-1", .score = 3,
     ACTS(A_LEADER = 1), .check = check_detractor_context},
    /* An older answer arriving later does not win (and raises nothing); the
     * newer promoter answer raises the referral ask. */
    {STEP(OP_SURVEY, "answer-9-older", AT(1)), .survey_id = "S-1", .score = 9,
     .check = check_survey_score_3},
    {STEP(OP_SURVEY, "answer-10-newer", AT(3)), .survey_id = "S-1", .score = 10,
     ACTS(A_LEADER = 1), .check = check_survey_score_10},
    {STEP(OP_TICKET, "ticket", AT(4)), ACTS(A_ROUTE = 1), .check = note_events},
    {STEP(OP_SURVEY, "answer-3", AT(5)), .survey_id = "S-1", .score = 3,
     .result = PD_APPLY_DUPLICATE, .check = check_dup_unchanged},
    /* The CSAT of the ticket opened above, and one naming no ticket. */
    {STEP(OP_SURVEY, "csat-ticket", AT(6)), .survey_id = "T-ticket",
     .kind = PD_SURVEY_CSAT, .score = 5, .check = check_csat_ticket},
    {STEP(OP_SURVEY, "csat-other", AT(7)), .survey_id = "T-unknown",
     .kind = PD_SURVEY_CSAT, .score = 2, .check = check_csat_no_ticket},
    {STEP(OP_FIRE, "slot-1", SLOT(1, 0)), ACTS(A_SURVEY = 1), .slot = "1"},
    {STEP(OP_CHURN, "churn", SLOT(1, 1)), .check = check_churned},
    {STEP(OP_ADVANCE, "three-years", SLOT(7, 0))},
    {STEP(OP_FIRE, "after-churn", SLOT(7, 0))},
    {STEP(OP_ERASE, "erase", SLOT(7, 1)), .result = PD_APPLY_ERASED},
};

/* A CRM re-sends deal D-A under new event ids, during the plan, after
 * another deal and after the close: it is one deal throughout. */
static const step_t deal_resent[] = {
    {STEP(OP_SALE, "sale-a", AT(0)), .deal = "D-A", .plans = 1,
     ACTS(A_INVITE = 1), .check = note_marker},
    {STEP(OP_SALE, "sale-a-resent", AT(0.2)), .deal = "D-A",
     .result = PD_APPLY_DUPLICATE_DEAL, .check = check_deal_unchanged},
    {STEP(OP_ADVANCE, "advance-day-20", AT(20)), ACTS(A_MS = 2, A_LEADER = 2)},
    {STEP(OP_SALE, "sale-b", AT(25)), .deal = "D-B", .plans = 1,
     ACTS(A_INVITE = 1), .check = check_two_deals},
    {STEP(OP_TICKET, "ticket", AT(26)), ACTS(A_ROUTE = 1),
     .check = note_marker},
    {STEP(OP_SALE, "sale-a-resent-later", AT(27)), .deal = "D-A",
     .result = PD_APPLY_DUPLICATE_DEAL, .check = check_deal_unchanged},
    {STEP(OP_IMPL, "close", AT(60)), ACTS(A_SURVEY = 1), .slot = "0",
     .check = note_marker},
    /* After the close a new deal starts a new plan; a re-sent old one
     * must not. */
    {STEP(OP_SALE, "sale-b-resent-after-close", AT(90)), .deal = "D-B",
     .result = PD_APPLY_DUPLICATE_DEAL, .check = check_deal_unchanged},
    {STEP(OP_SALE, "sale-c", AT(91)), .deal = "D-C", .plans = 1,
     ACTS(A_INVITE = 1, A_MS = DONT_CARE, A_LEADER = DONT_CARE)},
};

/* Contact governance, gap 30 days: a second implementation closing 12 days
 * after slot 1 of the first (2024-09-01) gets its close survey at the end
 * of the gap, recorded as deferred; its own schedule stays anchored. */
static const step_t gap_close[] = {
    {STEP(OP_SALE, "sale-1", AT(-10)), .plans = 1, ACTS(A_INVITE = 1)},
    {STEP(OP_IMPL, "close", AT(0)), ACTS(A_SURVEY = 1), .slot = "0"},
    {STEP(OP_FIRE, "slot-1", SLOT(1, 0)), ACTS(A_SURVEY = 1), .slot = "1"},
    {STEP(OP_SALE, "sale-2", SLOT(1, 5)), .plans = 1, ACTS(A_INVITE = 1)},
    {STEP(OP_IMPL, "close-2", SLOT(1, 12)), ACTS(A_SURVEY = 0),
     .check = check_close_deferred},
    {STEP(OP_FIRE, "gap-not-over", ATH(214, -3))},
    {STEP(OP_FIRE, "gap-end", ATH(214, -2)), ACTS(A_SURVEY = 1), .slot = "0",
     .deferred = true, .check = check_close_sent_late},
    {STEP(OP_FIRE, "gap-end-again", ATH(214, -2))},
    {STEP(OP_FIRE, "slot-1-of-close-2", SLOT(1, 0)), ACTS(A_SURVEY = 1),
     .slot = "1"},
};

/* The same with the gap disabled (survey.min.gap.days=0). */
static const step_t gap_off[] = {
    {STEP(OP_SALE, "sale-1", AT(-10)), .plans = 1, ACTS(A_INVITE = 1)},
    {STEP(OP_IMPL, "close", AT(0)), ACTS(A_SURVEY = 1), .slot = "0"},
    {STEP(OP_FIRE, "slot-1", SLOT(1, 0)), ACTS(A_SURVEY = 1), .slot = "1"},
    {STEP(OP_SALE, "sale-2", SLOT(1, 5)), .plans = 1, ACTS(A_INVITE = 1)},
    {STEP(OP_IMPL, "close-2", SLOT(1, 12)), ACTS(A_SURVEY = 1), .slot = "0",
     .check = check_close_not_deferred},
};

/* A gap longer than the interval (200 days): every slot is deferred from
 * its anchored time, and a catch-up supersedes a deferral still pending. */
static const step_t gap_long[] = {
    {STEP(OP_SALE, "sale-1", AT(-10)), .plans = 1, ACTS(A_INVITE = 1)},
    {STEP(OP_IMPL, "close", AT(0)), ACTS(A_SURVEY = 1), .slot = "0"},
    {STEP(OP_FIRE, "slot-1-deferred", SLOT(1, 0)), .silent_change = true,
     .check = check_slot1_deferred},
    {STEP(OP_FIRE, "slot-1-deferred-again", SLOT(1, 1))},
    {STEP(OP_FIRE, "slot-1-sent", AT(200)), ACTS(A_SURVEY = 1), .slot = "1",
     .deferred = true, .check = check_slot1_sent_late},
    {STEP(OP_FIRE, "slot-2-deferred", SLOT(2, 0)), .silent_change = true,
     .check = check_slot2_deferred},
    {STEP(OP_FIRE, "slot-3-catch-up", SLOT(3, 1)), ACTS(A_SURVEY = 1),
     .slot = "3", .check = check_catch_up_supersedes},
};

#define LC(name, steps, ...)                                                   \
        {                                                                      \
                name, __VA_ARGS__, steps, sizeof(steps) / sizeof(steps[0])     \
        }

static const lifecycle_t lifecycles[] = {
    LC("sale, extension, close, six-monthly surveys, catch-up", sale_to_surveys,
       false, 0),
    LC("close at the last milestone", close_fallback, false, 0),
    LC("no close fallback", no_fallback, true, 0),
    LC("renewal leads", renewals, false, 0),
    LC("survey answers, duplicates, churn, erase", surveys, false, 0),
    LC("contact gap defers a close survey", gap_close, false, 0),
    LC("contact gap off", gap_off, false, -1),
    LC("contact gap longer than the interval", gap_long, false, 200),
    LC("a deal re-sent under new event ids", deal_resent, false, 0),
};

static void test_lifecycles(void **state)
{
        ctx_t *ctx = malloc(sizeof(*ctx));
        assert_non_null(ctx);
        for (size_t i = 0; i < sizeof(lifecycles) / sizeof(lifecycles[0]);
             i++) {
                run_lifecycle(ctx, &lifecycles[i]);
                pd_arena_term(&ctx->arena);
        }
        free(ctx);
}

/* ---- detractors -------------------------------------------------------- */

struct score_case {
        pd_survey_kind_t kind;
        int32_t score;
        int leader; /* detractor escalation or promoter referral ask */
};

static const struct score_case score_cases[] = {
    {PD_SURVEY_NPS, 0, 1},  {PD_SURVEY_NPS, 1, 1},  {PD_SURVEY_NPS, 2, 1},
    {PD_SURVEY_NPS, 3, 1},  {PD_SURVEY_NPS, 4, 1},  {PD_SURVEY_NPS, 5, 1},
    {PD_SURVEY_NPS, 6, 1},  {PD_SURVEY_NPS, 7, 0},  {PD_SURVEY_NPS, 8, 0},
    {PD_SURVEY_NPS, 9, 1},  {PD_SURVEY_NPS, 10, 1}, {PD_SURVEY_CSAT, 1, 0},
    {PD_SURVEY_CSAT, 2, 0}, {PD_SURVEY_CSAT, 5, 0},
};

static void test_detractor_table(void **state)
{
        ctx_t *ctx = malloc(sizeof(*ctx));
        assert_non_null(ctx);
        for (size_t i = 0; i < sizeof(score_cases) / sizeof(score_cases[0]);
             i++) {
                const struct score_case *c = &score_cases[i];
                step_t s = {STEP(OP_SURVEY, "answer", AT(1)),
                            .survey_id = "S-9", .kind = c->kind,
                            .score = c->score};
                s.acts[PD_ACT_NOTIFY_LEADER] = c->leader;
                print_message("%s score %d\n",
                              c->kind == PD_SURVEY_NPS ? "NPS" : "CSAT",
                              c->score);
                ctx_init(ctx, NULL);
                run_step(ctx, &s);
                assert_int_equal(ctx->m.n_surveys, 1);
                assert_int_equal(ctx->m.surveys[0].kind, c->kind);
                assert_int_equal(ctx->m.surveys[0].score, c->score);
                pd_arena_term(&ctx->arena);
        }
        free(ctx);
}

/* ---- promoter referral ask -------------------------------------------- */

struct referral_case {
        pd_axis_t persona;
        int32_t score;
        const char *topic; /* NULL: no leader action */
        const char *ask;   /* a phrase of the persona's wording */
};

static const struct referral_case referral_cases[] = {
    {PD_AXIS_TECHNICAL, 10, "referral_ask", "technical reference"},
    {PD_AXIS_TECHNICAL, 9, "referral_ask", "integration case study"},
    {PD_AXIS_MARKETING, 9, "referral_ask", "design testimonial"},
    {PD_AXIS_CONSULTING, 10, "referral_ask", "benchmark-panel"},
    {PD_AXIS_SIMPLICITY, 9, "referral_ask", "quick results"},
    {PD_AXIS_MARKETING, 8, NULL, NULL},
    {PD_AXIS_MARKETING, 7, NULL, NULL},
    {PD_AXIS_CONSULTING, 6, "detractor_escalation", NULL},
};

static void test_referral_by_persona(void **state)
{
        ctx_t *ctx = malloc(sizeof(*ctx));
        char name[128], id[37];
        assert_non_null(ctx);
        for (size_t i = 0;
             i < sizeof(referral_cases) / sizeof(referral_cases[0]); i++) {
                const struct referral_case *c = &referral_cases[i];
                step_t s = {STEP(OP_SURVEY, "promoter", AT(1)),
                            .survey_id = "S-7", .score = c->score};
                s.acts[PD_ACT_NOTIFY_LEADER] = c->topic ? 1 : 0;
                print_message("%s score %d\n", pd_axis_name(c->persona),
                              c->score);
                ctx_init(ctx, NULL);
                /* A customer whose persona is settled well past any
                 * survey's own weight. */
                ctx->m.customer_id = "CUST-1";
                ctx->m.stage = PD_STAGE_LIVE;
                ctx->m.axis[c->persona] = 50;
                ctx->m.dominant = c->persona;
                ctx->m.margin = 50;
                ctx->m.created_at = ctx->m.updated_at = t0 + DAY_MS;
                run_step(ctx, &s);
                if (!c->topic) {
                        pd_arena_term(&ctx->arena);
                        continue;
                }
                const pd_action_t *a = only_action(ctx, PD_ACT_NOTIFY_LEADER);
                assert_string_equal(param(a, "topic"), c->topic);
                assert_string_equal(param(a, "persona"),
                                    pd_axis_name(c->persona));
                assert_string_equal(param(a, "survey_id"), "S-7");
                assert_int_equal(atoi(param(a, "score")), c->score);
                /* uuid5("<event_id>/notify_leader"): deterministic from
                 * the answer's event id. */
                snprintf(name, sizeof(name), "%s/notify_leader", ctx->event_id);
                pd_uuid5(name, id);
                assert_string_equal(a->action_id, id);
                if (c->ask)
                        assert_non_null(strstr(param(a, "ask"), c->ask));
                pd_arena_term(&ctx->arena);
        }
        free(ctx);
}

/* ---- persona change ---------------------------------------------------- */

static const char *queue_of(const pd_outputs_t *out)
{
        for (size_t i = 0; i < out->n_actions; i++)
                if (out->actions[i].kind == PD_ACT_ROUTE_TICKET)
                        return pd_kvs_get(&out->actions[i].params, "queue");
        return NULL;
}

/* A technical customer (GTX Pro, integrations, automation: technical 6.5)
 * writes design tickets (marketing capped at 2.5 each): the third leaves
 * marketing behind the hysteresis band, the fourth flips the persona.
 * Exactly one persona_changed action, on the fourth ticket, with before,
 * after and evidence; that ticket and every later one route by the new
 * persona; the marker's history records the change. */
static void test_persona_change(void **state)
{
        ctx_t *ctx = malloc(sizeof(*ctx));
        step_t sale = {STEP(OP_SALE, "sale", AT(0)), .plans = 1};
        const char *want_queue[] = {"technical-l2", "technical-l2",
                                    "technical-l2", "design-desk",
                                    "design-desk"};
        int changes = 0;
        assert_non_null(ctx);
        for (int k = 0; k < PD_ACT__CNT; k++)
                sale.acts[k] = DONT_CARE;
        ctx_init(ctx, NULL);
        run_step(ctx, &sale);
        assert_int_equal(ctx->m.dominant, PD_AXIS_TECHNICAL);
        for (int i = 0; i < 5; i++) {
                pd_event_t ev;
                step_t s = {STEP(OP_TICKET, "", AT(1))};
                char err[256] = "";
                s.label = pd_arena_printf(&ctx->arena, "design-%d", i);
                ctx->now = when(ctx, s.at);
                make_event(ctx, &s, &ev);
                ev.u.ticket.category = NULL;
                ev.u.ticket.priority = "low";
                ev.u.ticket.subject = "Button colours";
                ev.u.ticket.text = "Our brand colours, the layout and the "
                                   "design of the buttons";
                memset(&ctx->out, 0, sizeof(ctx->out));
                assert_int_equal(pd_engine_apply(&ctx->eng, &ctx->m, &ctx->ps,
                                                 &ev, &ctx->arena, &ctx->out,
                                                 &ctx->result, err,
                                                 sizeof(err)),
                                 PD_OK);
                print_message("ticket %d: %s margin %.2f queue %s\n", i,
                              pd_axis_name(ctx->m.dominant), ctx->m.margin,
                              queue_of(&ctx->out));
                assert_string_equal(queue_of(&ctx->out), want_queue[i]);
                for (size_t k = 0; k < ctx->out.n_actions; k++) {
                        const pd_action_t *a = &ctx->out.actions[k];
                        if (a->kind != PD_ACT_PERSONA_CHANGED)
                                continue;
                        changes++;
                        assert_int_equal(i, 3);
                        check_action(ctx, &s, a);
                        assert_string_equal(a->caused_by, ev.event_id);
                        assert_string_equal(param(a, "before"), "technical");
                        assert_string_equal(param(a, "after"), "marketing");
                        assert_string_equal(param(a, "persona"), "marketing");
                        assert_non_null(strstr(param(a, "evidence.0"), " "));
                        assert_non_null(strstr(a->reason, "from technical to "
                                                          "marketing"));
                }
        }
        assert_int_equal(changes, 1);
        assert_int_equal(ctx->m.dominant, PD_AXIS_MARKETING);
        assert_int_equal(ctx->m.n_history, 1);
        assert_int_equal(ctx->m.history[0].from, PD_AXIS_TECHNICAL);
        assert_int_equal(ctx->m.history[0].to, PD_AXIS_MARKETING);
        assert_true(ctx->m.history[0].at == when(ctx, (when_t)AT(1)));
        /* After the close, a new deal (firmographics only) is planned for
         * the new persona. */
        step_t close = {STEP(OP_IMPL, "close", AT(2))};
        for (int k = 0; k < PD_ACT__CNT; k++)
                close.acts[k] = DONT_CARE;
        run_step(ctx, &close);
        step_t again = {STEP(OP_SALE, "sale-2", AT(3))};
        pd_event_t ev;
        char err[256] = "";
        ctx->now = when(ctx, again.at);
        make_event(ctx, &again, &ev);
        ev.u.sale.products.n = 0;
        ev.u.sale.checkpoints.n = 0;
        memset(&ctx->out, 0, sizeof(ctx->out));
        assert_int_equal(pd_engine_apply(&ctx->eng, &ctx->m, &ctx->ps, &ev,
                                         &ctx->arena, &ctx->out, &ctx->result,
                                         err, sizeof(err)),
                         PD_OK);
        assert_int_equal(ctx->out.n_plans, 1);
        assert_false(ctx->out.plans[0].extends);
        assert_int_equal(ctx->out.plans[0].persona, PD_AXIS_MARKETING);
        assert_int_equal(ctx->m.n_history, 1);
        pd_arena_term(&ctx->arena);
        free(ctx);
}

/* ---- re-score under a new model version ------------------------------- */

/* The shipped model as version 2 with GTX Pro moved to marketing. */
static pd_model_t *model_v2(void)
{
        const char *dir = getenv("PD_SOURCE_DIR");
        char path[1024], tmp[] = "/tmp/test_engine_model_XXXXXX", err[512];
        pd_model_t *m2 = NULL;
        FILE *in, *out;
        char line[4096];
        int fd;
#ifdef PD_SOURCE_DIR
        if (!dir)
                dir = PD_SOURCE_DIR;
#endif
        snprintf(path, sizeof(path), "%s/model/persona-model.json", dir);
        assert_non_null(in = fopen(path, "r"));
        assert_true((fd = mkstemp(tmp)) >= 0);
        assert_non_null(out = fdopen(fd, "w"));
        while (fgets(line, sizeof(line), in)) {
                if (strstr(line, "\"version\": 1,"))
                        fputs("  \"version\": 2,\n", out);
                else if (strstr(line, "\"GTX Pro\":"))
                        fputs("    \"GTX Pro\": {\"marketing\": 9.0},\n", out);
                else
                        fputs(line, out);
        }
        fclose(in);
        fclose(out);
        if (pd_model_load(tmp, &m2, err, sizeof(err)))
                fail_msg("%s", err);
        unlink(tmp);
        return m2;
}

/* A marker scored by v1 is re-scored by an engine on v2: one
 * persona_changed action with the re-score's cause and id, the history
 * names the cause, model_version 2; a second re-score does nothing. */
static void test_rescore(void **state)
{
        ctx_t *ctx = malloc(sizeof(*ctx));
        step_t sale = {STEP(OP_SALE, "sale", AT(0)), .plans = 1};
        pd_model_t *m2 = model_v2();
        pd_outputs_t out = {0};
        bool rescored;
        char id[37];
        assert_non_null(ctx);
        for (int k = 0; k < PD_ACT__CNT; k++)
                sale.acts[k] = DONT_CARE;
        ctx_init(ctx, NULL);
        run_step(ctx, &sale);
        assert_int_equal(ctx->m.model_version, 1);
        assert_int_equal(ctx->m.dominant, PD_AXIS_TECHNICAL);
        ctx->eng.model = m2;
        assert_int_equal(
            pd_engine_rescore(&ctx->eng, &ctx->m, &ctx->arena, &out, &rescored),
            PD_OK);
        assert_true(rescored);
        assert_int_equal(ctx->m.model_version, 2);
        assert_int_equal(ctx->m.dominant, PD_AXIS_MARKETING);
        assert_int_equal(out.n_actions, 1);
        assert_int_equal(out.actions[0].kind, PD_ACT_PERSONA_CHANGED);
        assert_string_equal(out.actions[0].caused_by, "CUST-1/rescore/2");
        pd_uuid5("CUST-1/rescore/2/persona_changed", id);
        assert_string_equal(out.actions[0].action_id, id);
        assert_string_equal(param(&out.actions[0], "before"), "technical");
        assert_string_equal(param(&out.actions[0], "after"), "marketing");
        assert_true(out.actions[0].created_at == ctx->m.updated_at);
        assert_int_equal(ctx->m.n_history, 1);
        assert_string_equal(ctx->m.history[0].event_id, "CUST-1/rescore/2");
        memset(&out, 0, sizeof(out));
        assert_int_equal(
            pd_engine_rescore(&ctx->eng, &ctx->m, &ctx->arena, &out, &rescored),
            PD_OK);
        assert_false(rescored);
        assert_int_equal(out.n_actions, 0);
        pd_arena_term(&ctx->arena);
        pd_model_destroy(m2);
        free(ctx);
}

/* ---- invalid input, determinism ---------------------------------------- */

static void test_invalid_event(void **state)
{
        ctx_t *ctx = malloc(sizeof(*ctx));
        pd_event_t ev;
        step_t s = {STEP(OP_IMPL, "x", AT(0))};
        char err[256] = "";
        assert_non_null(ctx);
        ctx_init(ctx, NULL);
        make_event(ctx, &s, &ev);
        ev.customer_id = "";
        assert_int_equal(pd_engine_apply(&ctx->eng, &ctx->m, &ctx->ps, &ev,
                                         &ctx->arena, &ctx->out, &ctx->result,
                                         err, sizeof(err)),
                         PD_ERR_INVALID);
        assert_non_null(strstr(err, "customer_id"));
        assert_int_equal(ctx->out.n_actions + ctx->out.n_plans, 0);
        assert_null(ctx->m.customer_id);
        pd_arena_term(&ctx->arena);
        free(ctx);
}

/* The deal window is bounded: the oldest deal id leaves it after
 * PD_MARKER_DEAL_IDS_MAX newer ones, newest kept last. */
static void test_deal_window(void **state)
{
        ctx_t *ctx = malloc(sizeof(*ctx));
        assert_non_null(ctx);
        ctx_init(ctx, NULL);
        char label[32];
        for (int i = 0; i <= PD_MARKER_DEAL_IDS_MAX; i++) {
                step_t s = {STEP(OP_SALE, NULL, AT(i))};
                snprintf(label, sizeof(label), "w%d", i);
                s.label = label;
                s.deal = pd_arena_printf(&ctx->arena, "D-W%d", i);
                pd_event_t ev;
                char err[256];
                ctx->now = when(ctx, s.at);
                make_event(ctx, &s, &ev);
                memset(&ctx->out, 0, sizeof(ctx->out));
                assert_int_equal(pd_engine_apply(&ctx->eng, &ctx->m, &ctx->ps,
                                                 &ev, &ctx->arena, &ctx->out,
                                                 &ctx->result, err,
                                                 sizeof(err)),
                                 PD_OK);
                assert_int_equal(ctx->result, PD_APPLY_CHANGED);
        }
        assert_int_equal(ctx->m.n_deal_ids, PD_MARKER_DEAL_IDS_MAX);
        assert_string_equal(ctx->m.deal_ids[0], "D-W1");
        assert_string_equal(
            ctx->m.deal_ids[PD_MARKER_DEAL_IDS_MAX - 1],
            pd_arena_printf(&ctx->arena, "D-W%d", PD_MARKER_DEAL_IDS_MAX));
        assert_int_equal(ctx->m.deals, PD_MARKER_DEAL_IDS_MAX + 1);
        pd_arena_term(&ctx->arena);
        free(ctx);
}

static void test_determinism(void **state)
{
        ctx_t *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
        assert_non_null(a);
        assert_non_null(b);
        for (size_t i = 0; i < sizeof(lifecycles) / sizeof(lifecycles[0]);
             i++) {
                run_lifecycle(a, &lifecycles[i]);
                run_lifecycle(b, &lifecycles[i]);
                assert_true(a->n_ids > 0);
                assert_int_equal(a->n_ids, b->n_ids);
                for (size_t j = 0; j < a->n_ids; j++)
                        assert_string_equal(a->ids[j], b->ids[j]);
                assert_int_equal(a->m.events, b->m.events);
                assert_int_equal(a->m.next_survey_at, b->m.next_survey_at);
                pd_arena_term(&a->arena);
                pd_arena_term(&b->arena);
        }
        free(a);
        free(b);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_lifecycles),
            cmocka_unit_test(test_detractor_table),
            cmocka_unit_test(test_referral_by_persona),
            cmocka_unit_test(test_persona_change),
            cmocka_unit_test(test_rescore),
            cmocka_unit_test(test_invalid_event),
            cmocka_unit_test(test_determinism),
            cmocka_unit_test(test_deal_window),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
