#include "domain.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <uuid/uuid.h>

static const char *axis_names[PD_AXIS__CNT] = {"simplicity", "marketing",
                                               "technical", "consulting"};

const char *pd_axis_name(pd_axis_t axis)
{
        return (unsigned)axis < PD_AXIS__CNT ? axis_names[axis] : NULL;
}

pd_axis_t pd_axis_parse(const char *name)
{
        for (int i = 0; name && i < PD_AXIS__CNT; i++)
                if (!strcmp(name, axis_names[i]))
                        return (pd_axis_t)i;
        return PD_AXIS__CNT;
}

static const char *event_kind_names[PD_EV__CNT] = {
    "SaleClosed", "ImplementationClosed", "TicketOpened",  "SurveyReturned",
    "RenewalDue", "CheckpointsRecorded",  "CustomerErased"};

const char *pd_event_kind_name(pd_event_kind_t kind)
{
        return (unsigned)kind < PD_EV__CNT ? event_kind_names[kind] : "?";
}

static const char *stage_names[PD_STAGE__CNT] = {"prospect", "implementing",
                                                 "live", "churned"};

const char *pd_stage_name(pd_stage_t stage)
{
        return (unsigned)stage < PD_STAGE__CNT ? stage_names[stage] : "?";
}

static const char *action_kind_names[PD_ACT__CNT] = {
    "send_survey",   "route_ticket",    "add_attendees", "prepare_renewal",
    "notify_leader", "persona_changed", "milestone_due"};

const char *pd_action_kind_name(pd_action_kind_t kind)
{
        return (unsigned)kind < PD_ACT__CNT ? action_kind_names[kind] : "?";
}

pd_plan_t *pd_outputs_add_plan(pd_outputs_t *out, pd_arena_t *arena)
{
        pd_plan_t *p = pd_arena_grow(arena, out->plans, out->n_plans,
                                     &out->cap_plans, sizeof(*p));
        if (!p)
                return NULL;
        out->plans = p;
        return &out->plans[out->n_plans++];
}

pd_action_t *pd_outputs_add_action(pd_outputs_t *out, pd_arena_t *arena)
{
        pd_action_t *a = pd_arena_grow(arena, out->actions, out->n_actions,
                                       &out->cap_actions, sizeof(*a));
        if (!a)
                return NULL;
        out->actions = a;
        return &out->actions[out->n_actions++];
}

int pd_kvs_add(pd_kvs_t *kvs, pd_arena_t *arena, const char *key,
               const char *value)
{
        /* Capacity is implicit: powers of two from 8. */
        size_t cap = 0;
        if (kvs->n) {
                cap = 8;
                while (cap < kvs->n)
                        cap *= 2;
        }
        pd_kv_t *v = pd_arena_grow(arena, kvs->v, kvs->n, &cap, sizeof(*v));
        if (!v)
                return -1;
        kvs->v = v;
        kvs->v[kvs->n].key = pd_arena_strdup(arena, key);
        kvs->v[kvs->n].value = pd_arena_strdup(arena, value ? value : "");
        kvs->n++;
        return 0;
}

const char *pd_kvs_get(const pd_kvs_t *kvs, const char *key)
{
        for (size_t i = 0; i < kvs->n; i++)
                if (!strcmp(kvs->v[i].key, key))
                        return kvs->v[i].value;
        return NULL;
}

/* The persona-dna namespace: uuid5(DNS namespace, "persona-dna"). */
static void pd_namespace(uuid_t ns)
{
        static uuid_t cached;
        static int have;
        if (!have) {
                uuid_t dns;
                uuid_parse("6ba7b810-9dad-11d1-80b4-00c04fd430c8", dns);
                uuid_generate_sha1(cached, dns, "persona-dna",
                                   strlen("persona-dna"));
                have = 1;
        }
        uuid_copy(ns, cached);
}

void pd_uuid5(const char *name, char out[37])
{
        uuid_t ns, u;
        pd_namespace(ns);
        uuid_generate_sha1(u, ns, name, strlen(name));
        uuid_unparse_lower(u, out);
}

char *pd_uuid5_printf(pd_arena_t *arena, const char *fmt, ...)
{
        char name[1024];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(name, sizeof(name), fmt, ap);
        va_end(ap);
        char id[37];
        pd_uuid5(name, id);
        return pd_arena_strdup(arena, id);
}

#define DUP(f) dst->f = pd_arena_strdup(arena, src->f)

int pd_marker_copy(pd_marker_t *dst, const pd_marker_t *src, pd_arena_t *arena)
{
        *dst = *src;
        DUP(customer_id);
        DUP(time_zone);
        DUP(region);
        DUP(country);
        DUP(language);
        DUP(sector);
        DUP(plan_id);
        DUP(plan_template);
        DUP(project_manager);
        for (size_t i = 0; i < src->n_evidence; i++) {
                dst->evidence[i].signal =
                    pd_arena_strdup(arena, src->evidence[i].signal);
                dst->evidence[i].event_id =
                    pd_arena_strdup(arena, src->evidence[i].event_id);
        }
        for (size_t i = 0; i < src->n_milestones; i++) {
                dst->milestones[i].name =
                    pd_arena_strdup(arena, src->milestones[i].name);
                dst->milestones[i].owner_role =
                    pd_arena_strdup(arena, src->milestones[i].owner_role);
        }
        for (size_t i = 0; i < src->n_surveys; i++) {
                dst->surveys[i].survey_id =
                    pd_arena_strdup(arena, src->surveys[i].survey_id);
                dst->surveys[i].ticket_id =
                    pd_arena_strdup(arena, src->surveys[i].ticket_id);
        }
        for (size_t i = 0; i < src->n_renewals; i++)
                dst->renewals[i].contract_id =
                    pd_arena_strdup(arena, src->renewals[i].contract_id);
        for (size_t i = 0; i < src->n_event_ids; i++)
                dst->event_ids[i] = pd_arena_strdup(arena, src->event_ids[i]);
        for (size_t i = 0; i < src->n_ticket_ids; i++)
                dst->ticket_ids[i] = pd_arena_strdup(arena, src->ticket_ids[i]);
        for (size_t i = 0; i < src->n_deal_ids; i++)
                dst->deal_ids[i] = pd_arena_strdup(arena, src->deal_ids[i]);
        for (size_t i = 0; i < src->n_history; i++)
                dst->history[i].event_id =
                    pd_arena_strdup(arena, src->history[i].event_id);
        for (size_t i = 0; i < src->n_signals; i++)
                dst->signals[i].signal =
                    pd_arena_strdup(arena, src->signals[i].signal);
        return 0;
}
