/* The lifecycle engine: the business rules of DESIGN §3-§6 as a pure
 * function of (marker, partition state, event or clock). */
#include "engine.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "nps.h"
#include "schedule.h"

#define MS_PER_DAY (86400LL * 1000)

/* ---- helpers ----------------------------------------------------------- */

/* Appends an action whose id is uuid5("<cause>/<kind>"). */
static pd_action_t *action_new(pd_outputs_t *out, pd_arena_t *arena,
                               const pd_marker_t *m, pd_action_kind_t kind,
                               const char *cause, int64_t due, int64_t at)
{
        pd_action_t *a = pd_outputs_add_action(out, arena);
        if (!a)
                return NULL;
        a->action_id =
            pd_uuid5_printf(arena, "%s/%s", cause, pd_action_kind_name(kind));
        a->customer_id = m->customer_id;
        a->kind = kind;
        a->caused_by = pd_arena_strdup(arena, cause);
        a->due_at = due;
        a->created_at = at;
        a->reason = "";
        return a;
}

static void param(pd_action_t *a, pd_arena_t *arena, const char *k,
                  const char *v)
{
        if (a && v)
                pd_kvs_add(&a->params, arena, k, v);
}

static void param_persona(pd_action_t *a, pd_arena_t *arena,
                          const pd_marker_t *m)
{
        char buf[32];
        param(a, arena, "persona", pd_axis_name(m->dominant));
        snprintf(buf, sizeof(buf), "%.2f", m->margin);
        param(a, arena, "margin", buf);
        param(a, arena, "stage", pd_stage_name(m->stage));
        param(a, arena, "project_manager", m->project_manager);
}

/* The deal of a SaleClosed is in the marker's recent deal ids. */
static bool deal_seen(const pd_marker_t *m, const pd_event_t *ev)
{
        const char *deal = ev->u.sale.deal_id;
        for (size_t i = 0; deal && i < m->n_deal_ids; i++)
                if (!strcmp(m->deal_ids[i], deal))
                        return true;
        return false;
}

static void remember_deal(pd_marker_t *m, const char *deal_id)
{
        if (m->n_deal_ids == PD_MARKER_DEAL_IDS_MAX) {
                memmove(&m->deal_ids[0], &m->deal_ids[1],
                        (PD_MARKER_DEAL_IDS_MAX - 1) * sizeof(m->deal_ids[0]));
                m->n_deal_ids--;
        }
        m->deal_ids[m->n_deal_ids++] = deal_id;
}

bool pd_engine_event_seen(const pd_marker_t *m, const char *event_id)
{
        for (size_t i = 0; i < m->n_event_ids; i++)
                if (!strcmp(m->event_ids[i], event_id))
                        return true;
        return false;
}

void pd_engine_event_remember(pd_marker_t *m, const char *event_id)
{
        if (m->n_event_ids == PD_MARKER_EVENT_IDS_MAX) {
                memmove(&m->event_ids[0], &m->event_ids[1],
                        (PD_MARKER_EVENT_IDS_MAX - 1) * sizeof(char *));
                m->n_event_ids--;
        }
        m->event_ids[m->n_event_ids++] = event_id;
}

static int64_t slot_at(const pd_engine_t *eng, const pd_marker_t *m, int32_t k)
{
        return pd_schedule_slot_at(m->close_at, m->time_zone, k,
                                   eng->conf->survey_interval_months,
                                   eng->conf->survey_local_minute);
}

/* ---- implementation close and surveys --------------------------------- */

/* Contact governance: the end of the minimum gap after the last survey
 * requested; 0 when no gap applies. */
static int64_t gap_end(const pd_engine_t *eng, const pd_marker_t *m)
{
        if (eng->conf->survey_min_gap_days <= 0 || !m->last_survey_at)
                return 0;
        return pd_schedule_add_days(m->last_survey_at,
                                    eng->conf->survey_min_gap_days);
}

static void send_survey(const pd_engine_t *eng, pd_marker_t *m,
                        pd_arena_t *arena, pd_outputs_t *out, int32_t slot,
                        int64_t due, int64_t deferred_from, const char *why)
{
        char cause[512], buf[32], prev[32];
        snprintf(cause, sizeof(cause), "%s/survey/%lld/%d", m->customer_id,
                 (long long)m->close_at, slot);
        pd_action_t *a =
            action_new(out, arena, m, PD_ACT_SEND_SURVEY, cause, due, due);
        if (!a)
                return;
        const char *survey_id = pd_uuid5_printf(arena, "%s", cause);
        param(a, arena, "survey_id", survey_id);
        param(a, arena, "survey_kind", "NPS");
        snprintf(buf, sizeof(buf), "%d", slot);
        param(a, arena, "slot", buf);
        param(a, arena, "time_zone", m->time_zone ? m->time_zone : "UTC");
        param_persona(a, arena, m);
        a->reason = why;
        if (deferred_from) {
                /* The survey keeps its slot and id; only its time moved, and
                 * the action says from when and why. */
                pd_schedule_format(deferred_from, buf, sizeof(buf));
                pd_schedule_format(m->last_survey_at, prev, sizeof(prev));
                param(a, arena, "deferred_from", buf);
                param(a, arena, "deferral_reason", "min_gap");
                param(a, arena, "previous_survey_at", prev);
                a->reason = pd_arena_printf(
                    arena,
                    "%s; deferred from %s to the end of the %d-day contact "
                    "gap after the previous survey at %s",
                    why, buf, eng->conf->survey_min_gap_days, prev);
        }
        m->surveys_sent++;
        m->last_survey_at = due;
}

/* Requests survey `slot`, due at `due`, unless it falls inside the contact
 * gap: then it is deferred to the end of the gap (recorded in the marker
 * and, when sent, on the action), never dropped.  deferred_from: the slot
 * was deferred earlier from that time (0: not yet).  Either way the
 * schedule stays anchored: the next slot is computed from close_at. */
static void request_survey(const pd_engine_t *eng, pd_marker_t *m,
                           pd_arena_t *arena, pd_outputs_t *out, int32_t slot,
                           int64_t due, int64_t deferred_from, int64_t now,
                           const char *why)
{
        int64_t end = gap_end(eng, m);
        if (end && due < end) {
                if (!deferred_from) {
                        deferred_from = due;
                        m->surveys_deferred++;
                }
                due = end;
        }
        if (due > now) {
                m->next_slot = slot;
                m->next_survey_at = due;
                m->survey_deferred_from = deferred_from;
                return;
        }
        send_survey(eng, m, arena, out, slot, due, deferred_from, why);
        m->survey_deferred_from = 0;
        m->next_slot = slot + 1;
        m->next_survey_at = slot_at(eng, m, slot + 1);
}

/* The implementation is done at `at`: close survey now, six-monthly slots
 * anchored on `at` from then on. */
static void close_implementation(const pd_engine_t *eng, pd_marker_t *m,
                                 pd_pstate_t *ps, int64_t at, pd_arena_t *arena,
                                 pd_outputs_t *out, const char *why)
{
        if (m->stage == PD_STAGE_IMPLEMENTING && m->project_manager)
                pd_planner_release(ps, m->project_manager);
        if (m->stage != PD_STAGE_CHURNED)
                m->stage = PD_STAGE_LIVE;
        /* The plan is done: its open milestones need no more reminders. */
        for (size_t i = 0; i < m->n_milestones; i++)
                m->milestones[i].fired = true;
        m->close_at = at;
        m->survey_deferred_from = 0; /* a new anchor: old slots are gone */
        request_survey(eng, m, arena, out, 0, at, 0, at, why);
}

static const char *close_why = "NPS at implementation close";

static void fire_survey(const pd_engine_t *eng, pd_marker_t *m, int64_t now,
                        pd_arena_t *arena, pd_outputs_t *out)
{
        if (!m->next_survey_at || m->next_survey_at > now)
                return;
        /* A worker down across several slots sends one catch-up survey:
         * the latest slot already due.  A slot deferred by the contact gap
         * is due at next_survey_at; a later slot due by now supersedes
         * it. */
        int32_t k = m->next_slot;
        while (slot_at(eng, m, k + 1) <= now)
                k++;
        bool pending = m->survey_deferred_from && k == m->next_slot;
        int64_t due = pending ? m->next_survey_at : slot_at(eng, m, k);
        int64_t from = pending ? m->survey_deferred_from : 0;
        const char *why =
            k == 0 ? close_why
            : k > m->next_slot
                ? "six-monthly NPS survey (catch-up: earlier slots were "
                  "missed)"
                : "six-monthly NPS survey";
        m->survey_deferred_from = 0;
        request_survey(eng, m, arena, out, k, due, from, now, why);
}

/* ---- milestones and renewals ------------------------------------------ */

static int64_t plan_end(const pd_marker_t *m)
{
        int64_t end = 0;
        for (size_t i = 0; i < m->n_milestones; i++)
                if (m->milestones[i].due_at > end)
                        end = m->milestones[i].due_at;
        return end;
}

/* The leader's view of the plan's progress when a milestone comes due (the
 * "feedback to leaders on progress"): done/total, what is next, who runs
 * it.  Its id derives from the milestone's slot like the reminder's. */
static void progress_summary(pd_marker_t *m, size_t i, const char *cause,
                             pd_arena_t *arena, pd_outputs_t *out)
{
        const pd_milestone_t *ms = &m->milestones[i];
        const pd_milestone_t *next = NULL;
        size_t done = 0;
        char buf[32];
        for (size_t j = 0; j < m->n_milestones; j++) {
                const pd_milestone_t *o = &m->milestones[j];
                if (o->fired)
                        done++;
                else if (!next || o->due_at < next->due_at)
                        next = o;
        }
        pd_action_t *a = action_new(out, arena, m, PD_ACT_NOTIFY_LEADER, cause,
                                    ms->due_at, ms->due_at);
        if (!a)
                return;
        param(a, arena, "topic", "milestone_progress");
        param(a, arena, "milestone", ms->name);
        snprintf(buf, sizeof(buf), "%zu", done);
        param(a, arena, "milestones_done", buf);
        snprintf(buf, sizeof(buf), "%zu", m->n_milestones);
        param(a, arena, "milestones_total", buf);
        param(a, arena, "progress",
              pd_arena_printf(arena, "%zu/%zu", done, m->n_milestones));
        if (next) {
                param(a, arena, "next_milestone", next->name);
                pd_schedule_format(next->due_at, buf, sizeof(buf));
                param(a, arena, "next_due_at", buf);
        }
        param(a, arena, "plan_id", m->plan_id);
        param(a, arena, "plan_template", m->plan_template);
        param_persona(a, arena, m);
        a->reason = pd_arena_printf(
            arena,
            "plan progress for the leader: milestone %s due, %zu of %zu "
            "milestones reached, project manager %s",
            ms->name, done, m->n_milestones,
            m->project_manager ? m->project_manager : "none");
}

static void fire_milestones(pd_marker_t *m, int64_t now, pd_arena_t *arena,
                            pd_outputs_t *out)
{
        char cause[512];
        for (size_t i = 0; i < m->n_milestones; i++) {
                pd_milestone_t *ms = &m->milestones[i];
                if (ms->fired || ms->due_at > now)
                        continue;
                ms->fired = true;
                snprintf(cause, sizeof(cause), "%s/plan/%s/milestone/%zu",
                         m->customer_id, m->plan_id, i);
                pd_action_t *a = action_new(out, arena, m, PD_ACT_MILESTONE_DUE,
                                            cause, ms->due_at, ms->due_at);
                param(a, arena, "milestone", ms->name);
                param(a, arena, "owner_role", ms->owner_role);
                param(a, arena, "plan_id", m->plan_id);
                param(a, arena, "plan_template", m->plan_template);
                param_persona(a, arena, m);
                if (a)
                        a->reason = "plan milestone due: reminder to the "
                                    "project manager";
                progress_summary(m, i, cause, arena, out);
        }
}

static int n_leads(const pd_engine_t *eng)
{
        int n = 0;
        while (n < 4 && eng->conf->renewal_lead_days[n] > 0)
                n++;
        return n;
}

/* Lead i is due renewal_date - lead_days[i]; leads are given longest
 * first, so they come due in order. */
static int64_t lead_due(const pd_engine_t *eng, const pd_renewal_t *r, int i)
{
        return pd_schedule_add_days(r->renewal_date,
                                    -eng->conf->renewal_lead_days[i]);
}

static void fire_renewal(const pd_engine_t *eng, pd_marker_t *m,
                         pd_renewal_t *r, int64_t now, pd_arena_t *arena,
                         pd_outputs_t *out)
{
        char cause[512], buf[64];
        int n = n_leads(eng);
        if (r->leads_fired >= n || lead_due(eng, r, r->leads_fired) > now)
                return;
        if (now >= r->renewal_date) { /* too late to prepare anything */
                r->leads_fired = n;
                return;
        }
        int i = r->leads_fired; /* catch-up: only the latest due lead */
        while (i + 1 < n && lead_due(eng, r, i + 1) <= now)
                i++;
        r->leads_fired = i + 1;
        snprintf(cause, sizeof(cause), "%s/renewal/%s/%lld/%d", m->customer_id,
                 r->contract_id, (long long)r->renewal_date,
                 eng->conf->renewal_lead_days[i]);
        int64_t due = lead_due(eng, r, i);
        pd_action_t *a =
            action_new(out, arena, m, PD_ACT_PREPARE_RENEWAL, cause, due, due);
        param(a, arena, "contract_id", r->contract_id);
        pd_schedule_format(r->renewal_date, buf, sizeof(buf));
        param(a, arena, "renewal_date", buf);
        snprintf(buf, sizeof(buf), "%d", eng->conf->renewal_lead_days[i]);
        param(a, arena, "lead_days", buf);
        snprintf(buf, sizeof(buf), "%.2f", r->annual_value);
        param(a, arena, "annual_value", buf);
        param(a, arena, "auto_renew", r->auto_renew ? "true" : "false");
        param(a, arena, "play",
              m->dominant == PD_AXIS_TECHNICAL
                  ? "technical roadmap and integration review"
              : m->dominant == PD_AXIS_MARKETING
                  ? "design and experience showcase"
              : m->dominant == PD_AXIS_CONSULTING
                  ? "benchmark and best-practice review"
                  : "time-to-value recap and quick wins");
        param_persona(a, arena, m);
        if (a)
                a->reason = "renewal preparation ahead of the renewal date, "
                            "play chosen by persona";
}

int64_t pd_engine_next_timer(const pd_engine_t *eng, const pd_marker_t *m)
{
        int64_t next = 0;
#define CONSIDER(t)                                                            \
        do {                                                                   \
                int64_t t_ = (t);                                              \
                if (t_ > 0 && (!next || t_ < next))                            \
                        next = t_;                                             \
        } while (0)
        if (m->stage != PD_STAGE_CHURNED)
                CONSIDER(m->next_survey_at);
        for (size_t i = 0; i < m->n_milestones; i++)
                if (!m->milestones[i].fired)
                        CONSIDER(m->milestones[i].due_at);
        if (m->stage == PD_STAGE_IMPLEMENTING &&
            eng->conf->close_on_last_milestone)
                CONSIDER(plan_end(m));
        int n = n_leads(eng);
        for (size_t i = 0; i < m->n_renewals; i++)
                if (m->renewals[i].leads_fired < n)
                        CONSIDER(lead_due(eng, &m->renewals[i],
                                          m->renewals[i].leads_fired));
#undef CONSIDER
        return next;
}

bool pd_engine_fire(const pd_engine_t *eng, pd_marker_t *m, pd_pstate_t *ps,
                    int64_t now, pd_arena_t *arena, pd_outputs_t *out)
{
        size_t before = out->n_actions + out->n_plans;
        int64_t t0 = pd_engine_next_timer(eng, m);
        if (!t0 || t0 > now)
                return false;
        fire_milestones(m, now, arena, out);
        int64_t end = plan_end(m);
        if (m->stage == PD_STAGE_IMPLEMENTING &&
            eng->conf->close_on_last_milestone && end && end <= now)
                close_implementation(eng, m, ps, end, arena, out,
                                     "NPS at implementation close (the "
                                     "plan's last milestone passed without "
                                     "an ImplementationClosed event)");
        if (m->stage != PD_STAGE_CHURNED)
                fire_survey(eng, m, now, arena, out);
        for (size_t i = 0; i < m->n_renewals; i++)
                fire_renewal(eng, m, &m->renewals[i], now, arena, out);
        return out->n_actions + out->n_plans != before ||
               pd_engine_next_timer(eng, m) != t0;
}

/* ---- events ------------------------------------------------------------ */

static void copy_plan_to_marker(pd_marker_t *m, const pd_plan_t *plan)
{
        m->plan_id = plan->plan_id;
        m->plan_template = plan->template_id;
        m->project_manager = plan->project_manager;
        m->plan_started_at = plan->assigned_at;
        m->n_milestones = 0;
        /* fired comes from the plan: false for a new plan, the marker's own
         * history for an extension (pd_planner_extend keeps it), so a
         * reminder already raised is not raised again under the new plan
         * id. */
        for (size_t i = 0;
             i < plan->n_milestones && i < PD_MARKER_MILESTONES_MAX; i++)
                m->milestones[m->n_milestones++] = plan->milestones[i];
}

/* The person who fills role in the plan's team (the role when none). */
static const char *team_member(const pd_plan_t *plan, const char *role)
{
        for (size_t i = 0; i < plan->n_team; i++)
                if (!strcmp(plan->team[i].role, role))
                        return plan->team[i].name;
        return role;
}

static pd_err_t on_sale(const pd_engine_t *eng, pd_marker_t *m, pd_pstate_t *ps,
                        const pd_event_t *ev, pd_arena_t *arena,
                        pd_outputs_t *out)
{
        const pd_sale_closed_t *s = &ev->u.sale;
        bool active = m->stage == PD_STAGE_IMPLEMENTING && m->plan_id;
        const char *previous = m->plan_id;
        m->deals++;
        if (s->deal_id)
                remember_deal(m, s->deal_id);
        if (s->time_zone)
                m->time_zone = s->time_zone;
        if (s->region)
                m->region = s->region;
        if (s->country)
                m->country = s->country;
        if (s->sector)
                m->sector = s->sector;
        pd_plan_t *plan = pd_outputs_add_plan(out, arena);
        if (!plan)
                return PD_ERR_NOMEM;
        pd_err_t err =
            active ? pd_planner_extend(eng->catalog, m, ev, arena, plan)
                   : pd_planner_assign(eng->catalog, m, ev, ps,
                                       eng->conf->partitions, arena, plan);
        if (err)
                return err;
        plan->plan_id = pd_uuid5_printf(arena, "%s/plan", ev->event_id);
        plan->customer_id = m->customer_id;
        plan->caused_by = ev->event_id;
        plan->extends = active;
        if (active)
                plan->reason = pd_arena_printf(
                    arena, "further deal %s during active plan %s: %s",
                    s->deal_id, previous, plan->reason ? plan->reason : "");
        copy_plan_to_marker(m, plan);
        m->stage = PD_STAGE_IMPLEMENTING;

        pd_action_t *a =
            action_new(out, arena, m, PD_ACT_ADD_ATTENDEES, ev->event_id,
                       ev->occurred_at, ev->occurred_at);
        if (a) {
                for (size_t i = 0; i < plan->attendees.n; i++)
                        param(a, arena,
                              pd_arena_printf(arena, "attendee.%s",
                                              plan->attendees.v[i]),
                              team_member(plan, plan->attendees.v[i]));
                param(a, arena, "plan_id", plan->plan_id);
                param_persona(a, arena, m);
                a->reason = "calendar invites of the plan get the persona's "
                            "attendees";
        }
        return PD_OK;
}

/* Keeps the last PD_MARKER_TICKETS_MAX ticket ids, so a CSAT answer that
 * names one can be linked to it. */
static void remember_ticket(pd_marker_t *m, const char *ticket_id)
{
        if (!ticket_id || !*ticket_id)
                return;
        for (size_t i = 0; i < m->n_ticket_ids; i++)
                if (!strcmp(m->ticket_ids[i], ticket_id))
                        return;
        if (m->n_ticket_ids == PD_MARKER_TICKETS_MAX) {
                memmove(&m->ticket_ids[0], &m->ticket_ids[1],
                        (PD_MARKER_TICKETS_MAX - 1) * sizeof(char *));
                m->n_ticket_ids--;
        }
        m->ticket_ids[m->n_ticket_ids++] = ticket_id;
}

static const char *known_ticket(const pd_marker_t *m, const char *id)
{
        for (size_t i = 0; id && i < m->n_ticket_ids; i++)
                if (!strcmp(m->ticket_ids[i], id))
                        return m->ticket_ids[i];
        return NULL;
}

static void on_ticket(const pd_engine_t *eng, pd_marker_t *m,
                      const pd_event_t *ev, pd_arena_t *arena,
                      pd_outputs_t *out)
{
        const pd_ticket_opened_t *t = &ev->u.ticket;
        const char *why = NULL;
        m->tickets++;
        remember_ticket(m, t->ticket_id);
        if (t->language)
                m->language = t->language;
        const char *queue =
            pd_persona_route_ticket(eng->model, m, t, arena, &why);
        pd_action_t *a =
            action_new(out, arena, m, PD_ACT_ROUTE_TICKET, ev->event_id,
                       ev->occurred_at, ev->occurred_at);
        param(a, arena, "ticket_id", t->ticket_id);
        param(a, arena, "queue", queue);
        param(a, arena, "priority", t->priority);
        param(a, arena, "category", t->category);
        param(a, arena, "language", t->language);
        param_persona(a, arena, m);
        if (a)
                a->reason = why ? why : "routed by persona";
}

/* Returns false when the answer is older than the one already recorded for
 * the same survey: it does not count, so it raises no follow-up. */
static bool record_survey(pd_marker_t *m, const pd_event_t *ev)
{
        const pd_survey_returned_t *s = &ev->u.survey;
        const char *id = s->survey_id ? s->survey_id : ev->event_id;
        for (size_t i = 0; i < m->n_surveys; i++) {
                if (strcmp(m->surveys[i].survey_id, id) ||
                    m->surveys[i].kind != s->kind)
                        continue;
                /* The same survey answered twice: the later answer by
                 * occurred_at counts. */
                if (ev->occurred_at < m->surveys[i].at)
                        return false;
                m->surveys[i].score = s->score;
                m->surveys[i].at = ev->occurred_at;
                return true;
        }
        if (m->n_surveys == PD_MARKER_SURVEYS_MAX) {
                memmove(&m->surveys[0], &m->surveys[1],
                        (PD_MARKER_SURVEYS_MAX - 1) * sizeof(m->surveys[0]));
                m->n_surveys--;
        }
        pd_survey_result_t *r = &m->surveys[m->n_surveys++];
        r->survey_id = id;
        r->kind = s->kind;
        r->score = s->score;
        r->at = ev->occurred_at;
        /* A CSAT naming a ticket of this customer is that ticket's
         * satisfaction, kept apart from the relationship NPS. */
        r->ticket_id =
            s->kind == PD_SURVEY_CSAT ? known_ticket(m, s->survey_id) : NULL;
        return true;
}

/* What a leader asks a promoter for, by persona: the reference a peer of
 * the same kind would trust. */
static const char *referral_ask(pd_axis_t persona)
{
        switch (persona) {
        case PD_AXIS_TECHNICAL:
                return "ask for a technical reference: an integration case "
                       "study or a call with a peer engineering team";
        case PD_AXIS_MARKETING:
                return "ask for a showcase: a design testimonial or a "
                       "featured customer story";
        case PD_AXIS_CONSULTING:
                return "ask for an introduction to a peer organisation and a "
                       "benchmark-panel seat";
        default:
                return "ask for a short review and a referral to a colleague "
                       "who wants quick results";
        }
}

static void on_survey(const pd_engine_t *eng, pd_marker_t *m,
                      const pd_event_t *ev, pd_arena_t *arena,
                      pd_outputs_t *out)
{
        const pd_survey_returned_t *s = &ev->u.survey;
        char buf[16];
        if (!record_survey(m, ev) || s->kind != PD_SURVEY_NPS)
                return;
        bool detractor = pd_nps_is_detractor(s->score);
        if (!detractor && !pd_nps_is_promoter(s->score))
                return;
        /* One event is either a detractor or a promoter, so the id
         * uuid5("<event_id>/notify_leader") names one follow-up. */
        pd_action_t *a =
            action_new(out, arena, m, PD_ACT_NOTIFY_LEADER, ev->event_id,
                       ev->occurred_at, ev->occurred_at);
        snprintf(buf, sizeof(buf), "%d", s->score);
        if (detractor) {
                param(a, arena, "topic", "detractor_escalation");
                param(a, arena, "escalation", "detractor");
        } else {
                param(a, arena, "topic", "referral_ask");
                param(a, arena, "ask", referral_ask(m->dominant));
        }
        param(a, arena, "score", buf);
        param(a, arena, "survey_id", s->survey_id);
        param(a, arena, "comment", s->comment);
        param_persona(a, arena, m);
        for (size_t i = 0; a && i < m->n_evidence && i < 3; i++)
                param(a, arena, pd_arena_printf(arena, "evidence.%zu", i),
                      m->evidence[i].signal);
        if (a)
                a->reason = detractor
                                ? "NPS detractor (0-6): leader escalation "
                                  "with the persona context"
                                : "NPS promoter (9-10): referral ask worded "
                                  "for the persona";
}

static void on_renewal(const pd_engine_t *eng, pd_marker_t *m,
                       const pd_event_t *ev)
{
        const pd_renewal_due_t *r = &ev->u.renewal;
        pd_renewal_t *slot = NULL;
        for (size_t i = 0; i < m->n_renewals && !slot; i++)
                if (!strcmp(m->renewals[i].contract_id, r->contract_id))
                        slot = &m->renewals[i];
        if (!slot) {
                if (m->n_renewals == PD_MARKER_RENEWALS_MAX) {
                        /* Forget the earliest renewal. */
                        memmove(&m->renewals[0], &m->renewals[1],
                                (PD_MARKER_RENEWALS_MAX - 1) *
                                    sizeof(m->renewals[0]));
                        m->n_renewals--;
                }
                slot = &m->renewals[m->n_renewals++];
                memset(slot, 0, sizeof(*slot));
                slot->contract_id = r->contract_id;
        }
        if (slot->renewal_date != r->renewal_date)
                slot->leads_fired = 0; /* moved: prepare again */
        slot->renewal_date = r->renewal_date;
        slot->annual_value = r->annual_value;
        slot->auto_renew = r->auto_renew;
}

static void on_checkpoints(pd_marker_t *m, pd_pstate_t *ps,
                           const pd_event_t *ev)
{
        const char *churned = pd_kvs_get(&ev->u.checkpoints, "churned");
        if (!churned || strcmp(churned, "true"))
                return;
        if (m->stage == PD_STAGE_IMPLEMENTING && m->project_manager)
                pd_planner_release(ps, m->project_manager);
        m->stage = PD_STAGE_CHURNED;
        m->next_survey_at = 0;
        m->survey_deferred_from = 0;
        for (size_t i = 0; i < m->n_milestones; i++)
                m->milestones[i].fired = true;
}

static void persona_changed(pd_marker_t *m, pd_axis_t before, const char *cause,
                            int64_t at, pd_arena_t *arena, pd_outputs_t *out)
{
        pd_action_t *a =
            action_new(out, arena, m, PD_ACT_PERSONA_CHANGED, cause, at, at);
        param(a, arena, "before", pd_axis_name(before));
        param(a, arena, "after", pd_axis_name(m->dominant));
        param_persona(a, arena, m);
        for (size_t i = 0; a && i < m->n_evidence && i < 3; i++)
                param(a, arena, pd_arena_printf(arena, "evidence.%zu", i),
                      pd_arena_printf(arena, "%s %s %+.2f",
                                      m->evidence[i].signal,
                                      pd_axis_name(m->evidence[i].axis),
                                      m->evidence[i].weight));
        if (a)
                a->reason = pd_arena_printf(
                    arena,
                    "dominant persona changed from %s to %s (margin %.2f); "
                    "routing and plan suggestions follow the new persona",
                    pd_axis_name(before), pd_axis_name(m->dominant), m->margin);
}

static pd_err_t dispatch(const pd_engine_t *eng, pd_marker_t *m,
                         pd_pstate_t *ps, const pd_event_t *ev,
                         pd_arena_t *arena, pd_outputs_t *out)
{
        switch (ev->kind) {
        case PD_EV_SALE_CLOSED:
                return on_sale(eng, m, ps, ev, arena, out);
        case PD_EV_IMPLEMENTATION_CLOSED:
                /* A repeated close of the same implementation changes
                 * nothing; a close without a plan still starts the survey
                 * schedule. */
                if (m->stage == PD_STAGE_IMPLEMENTING || !m->close_at)
                        close_implementation(eng, m, ps, ev->occurred_at, arena,
                                             out,
                                             "NPS at implementation close");
                return PD_OK;
        case PD_EV_TICKET_OPENED:
                on_ticket(eng, m, ev, arena, out);
                return PD_OK;
        case PD_EV_SURVEY_RETURNED:
                on_survey(eng, m, ev, arena, out);
                return PD_OK;
        case PD_EV_RENEWAL_DUE:
                on_renewal(eng, m, ev);
                return PD_OK;
        case PD_EV_CHECKPOINTS_RECORDED:
                on_checkpoints(m, ps, ev);
                return PD_OK;
        default:
                return PD_OK;
        }
}

pd_err_t pd_engine_apply(const pd_engine_t *eng, pd_marker_t *m,
                         pd_pstate_t *ps, const pd_event_t *ev,
                         pd_arena_t *arena, pd_outputs_t *out,
                         pd_apply_result_t *result, char *errstr,
                         size_t errstr_size)
{
        bool changed = false;
        pd_axis_t before = m->dominant;
        pd_err_t err = PD_OK;
        if (!ev->customer_id || !*ev->customer_id || !ev->event_id) {
                snprintf(errstr, errstr_size, "customer_id: empty");
                return PD_ERR_INVALID;
        }
        if (ev->occurred_at > ps->stream_time)
                ps->stream_time = ev->occurred_at;
        if (!m->customer_id) {
                m->customer_id = ev->customer_id;
                m->created_at = ev->occurred_at;
                m->updated_at = ev->occurred_at;
                m->stage = PD_STAGE_PROSPECT;
                m->next_slot = 1;
        } else if (pd_engine_event_seen(m, ev->event_id)) {
                *result = PD_APPLY_DUPLICATE;
                return PD_OK;
        } else if (ev->kind == PD_EV_SALE_CLOSED && deal_seen(m, ev)) {
                /* Re-sent by the CRM under a new event id: scoring it
                 * again would count its checkpoints twice, and the plan
                 * would be extended by a deal it already has. */
                *result = PD_APPLY_DUPLICATE_DEAL;
                return PD_OK;
        }
        if (ev->kind == PD_EV_CUSTOMER_ERASED) {
                if (m->stage == PD_STAGE_IMPLEMENTING && m->project_manager)
                        pd_planner_release(ps, m->project_manager);
                *result = PD_APPLY_ERASED;
                return PD_OK;
        }
        err = pd_persona_apply(eng->model, m, ev, arena, &changed, &before);
        if (!err && changed)
                persona_changed(m, before, ev->event_id, ev->occurred_at, arena,
                                out);
        if (!err)
                err = dispatch(eng, m, ps, ev, arena, out);
        if (err)
                return err;
        pd_engine_event_remember(m, ev->event_id);
        m->events++;
        if (ev->occurred_at > m->updated_at)
                m->updated_at = ev->occurred_at;
        *result = PD_APPLY_CHANGED;
        return PD_OK;
}

pd_err_t pd_engine_rescore(const pd_engine_t *eng, pd_marker_t *m,
                           pd_arena_t *arena, pd_outputs_t *out, bool *rescored)
{
        int32_t version = pd_model_version(eng->model);
        bool changed = false;
        pd_axis_t before;
        char *cause;
        pd_err_t err;
        *rescored = false;
        if (!m->customer_id || m->model_version == version)
                return PD_OK;
        cause = pd_arena_printf(arena, "%s/rescore/%d", m->customer_id,
                                (int)version);
        if (!cause)
                return PD_ERR_NOMEM;
        err =
            pd_persona_rescore(eng->model, m, cause, arena, &changed, &before);
        if (err)
                return err;
        if (changed)
                persona_changed(m, before, cause, m->updated_at, arena, out);
        *rescored = true;
        return PD_OK;
}
