/* persona-dna: the domain types shared by the pure modules (persona, planner,
 * schedule, nps, engine), the Avro codec and the importer.
 *
 * Plain C structs, no Kafka, LMDB or Avro.  Every pointer inside an event, a
 * marker or an output is owned by a pd_arena_t (see arena.h): a struct is
 * valid until its arena is reset.  Times are milliseconds since the Unix
 * epoch, UTC (Avro timestamp-millis); 0 means "not set". */
#ifndef PD_DOMAIN_H
#define PD_DOMAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"

/* ---- persona axes ---------------------------------------------------- */

typedef enum pd_axis_e {
        PD_AXIS_SIMPLICITY = 0,
        PD_AXIS_MARKETING,
        PD_AXIS_TECHNICAL,
        PD_AXIS_CONSULTING,
        PD_AXIS__CNT
} pd_axis_t;

/* "simplicity", ... ; NULL for an invalid axis. */
const char *pd_axis_name(pd_axis_t axis);
/* Returns PD_AXIS__CNT when name is not an axis. */
pd_axis_t pd_axis_parse(const char *name);

/* ---- key/value pairs (checkpoint answers, parameters) ----------------- */

typedef struct pd_kv_s {
        const char *key;
        const char *value;
} pd_kv_t;

typedef struct pd_kvs_s {
        pd_kv_t *v;
        size_t n;
} pd_kvs_t;

typedef struct pd_strs_s {
        const char **v;
        size_t n;
} pd_strs_t;

/* ---- input events (schemas/LifecycleEvent.avsc) ----------------------- */

typedef enum pd_event_kind_e {
        PD_EV_SALE_CLOSED = 0,
        PD_EV_IMPLEMENTATION_CLOSED,
        PD_EV_TICKET_OPENED,
        PD_EV_SURVEY_RETURNED,
        PD_EV_RENEWAL_DUE,
        PD_EV_CHECKPOINTS_RECORDED,
        PD_EV_CUSTOMER_ERASED,
        PD_EV__CNT
} pd_event_kind_t;

/* "SaleClosed", ... (the Avro record names). */
const char *pd_event_kind_name(pd_event_kind_t kind);

typedef enum pd_survey_kind_e {
        PD_SURVEY_NPS = 0, /* integer 0-10 */
        PD_SURVEY_CSAT,    /* integer 1-5 */
} pd_survey_kind_t;

typedef struct pd_sale_closed_s {
        const char *deal_id;
        pd_strs_t products;
        double deal_value;
        const char *currency;
        const char *sector;
        int64_t employees; /* -1 unknown */
        double revenue;    /* millions, <0 unknown */
        const char *country;
        const char *region;
        const char *time_zone; /* IANA, may be NULL (then UTC) */
        const char *sales_owner;
        pd_kvs_t checkpoints; /* checkpoint id -> answer */
} pd_sale_closed_t;

typedef struct pd_impl_closed_s {
        const char *plan_id; /* may be NULL */
} pd_impl_closed_t;

typedef struct pd_ticket_opened_s {
        const char *ticket_id;
        const char *category;
        const char *subject;
        const char *text;
        const char *priority; /* low, medium, high, urgent */
        const char *channel;
        const char *language; /* ISO 639-1, may be NULL */
} pd_ticket_opened_t;

typedef struct pd_survey_returned_s {
        const char *survey_id; /* may be NULL (survey not issued by us) */
        pd_survey_kind_t kind;
        int32_t score;
        const char *comment;
} pd_survey_returned_t;

typedef struct pd_renewal_due_s {
        const char *contract_id;
        int64_t renewal_date; /* ms */
        double annual_value;
        bool auto_renew;
} pd_renewal_due_t;

typedef struct pd_event_s {
        const char *event_id; /* UUID string */
        const char *customer_id;
        int64_t occurred_at;
        const char *source;
        pd_event_kind_t kind;
        union {
                pd_sale_closed_t sale;
                pd_impl_closed_t impl;
                pd_ticket_opened_t ticket;
                pd_survey_returned_t survey;
                pd_renewal_due_t renewal;
                pd_kvs_t checkpoints; /* PD_EV_CHECKPOINTS_RECORDED */
        } u;
} pd_event_t;

/* ---- the persona DNA marker (schemas/PersonaMarker.avsc) -------------- */

#define PD_MARKER_EVIDENCE_MAX   12
#define PD_MARKER_SURVEYS_MAX    8
#define PD_MARKER_EVENT_IDS_MAX  64
#define PD_MARKER_DEAL_IDS_MAX   32
#define PD_MARKER_RENEWALS_MAX   8
#define PD_MARKER_MILESTONES_MAX 16
#define PD_MARKER_TICKETS_MAX    16
#define PD_MARKER_HISTORY_MAX    8
#define PD_MARKER_SIGNALS_MAX    32

typedef struct pd_evidence_s {
        const char *signal; /* e.g. "checkpoint:migrating_from=spreadsheets" */
        pd_axis_t axis;
        double weight;        /* contribution at `at`, before decay */
        const char *event_id; /* event that produced it */
        int64_t at;           /* event time */
} pd_evidence_t;

/* One change of the dominant persona (the marker keeps the latest
 * PD_MARKER_HISTORY_MAX, oldest first). */
typedef struct pd_persona_change_s {
        pd_axis_t from, to;
        int64_t at;           /* event time of the change */
        const char *event_id; /* the event (or re-score cause) that moved it */
        double margin;        /* the new dominant's lead at the change */
} pd_persona_change_t;

/* A raw signal kept for re-scoring under another model: its contribution
 * at `at` is unit * mass, where unit is the model's weight of (signal,
 * axis) and mass the decayed number of occurrences (text scaled by the
 * per-event cap it was scored with). */
typedef struct pd_signal_s {
        const char *signal;
        pd_axis_t axis;
        double unit;
        double mass;
        int64_t at;
} pd_signal_t;

typedef struct pd_survey_result_s {
        const char *survey_id;
        pd_survey_kind_t kind;
        int32_t score;
        int64_t at;
        /* A CSAT answer to a ticket the customer opened (survey_id equal to
         * a recent ticket id): that ticket; NULL for relationship surveys. */
        const char *ticket_id;
} pd_survey_result_t;

typedef struct pd_milestone_s {
        const char *name;
        const char *owner_role;
        int64_t due_at;
        bool fired; /* reminder already raised */
} pd_milestone_t;

typedef struct pd_renewal_s {
        const char *contract_id;
        int64_t renewal_date;
        double annual_value;
        bool auto_renew;
        int32_t leads_fired; /* how many lead times already raised */
} pd_renewal_t;

typedef enum pd_stage_e {
        PD_STAGE_PROSPECT = 0, /* known only from tickets or surveys */
        PD_STAGE_IMPLEMENTING,
        PD_STAGE_LIVE,
        PD_STAGE_CHURNED,
        PD_STAGE__CNT
} pd_stage_t;

const char *pd_stage_name(pd_stage_t stage);

typedef struct pd_marker_s {
        const char *customer_id;
        int32_t model_version;
        double axis[PD_AXIS__CNT]; /* current scores (decayed to updated_at) */
        pd_axis_t dominant;
        double margin; /* dominant minus second */
        pd_evidence_t evidence[PD_MARKER_EVIDENCE_MAX];
        size_t n_evidence;
        pd_stage_t stage;

        /* firmographics remembered for routing and scheduling */
        const char *time_zone; /* IANA; NULL = UTC */
        const char *region;
        const char *country;
        const char *language;
        const char *sector;

        /* current plan */
        const char *plan_id;
        const char *plan_template;
        const char *project_manager;
        int64_t plan_started_at;
        pd_milestone_t milestones[PD_MARKER_MILESTONES_MAX];
        size_t n_milestones;

        /* survey schedule */
        int64_t close_at;       /* implementation close: schedule anchor */
        int32_t next_slot;      /* next six-monthly slot k (>= 1) */
        int64_t next_survey_at; /* due time of next_slot; 0 = none */
        int64_t last_survey_at; /* when the last survey was requested */
        int32_t surveys_sent;
        pd_survey_result_t surveys[PD_MARKER_SURVEYS_MAX]; /* newest last */
        size_t n_surveys;
        /* Contact governance: next_slot was deferred by the minimum gap
         * from this original due time (next_survey_at is the end of the
         * gap); 0 = not deferred.  surveys_deferred counts every survey the
         * gap ever deferred. */
        int64_t survey_deferred_from;
        int32_t surveys_deferred;

        pd_renewal_t renewals[PD_MARKER_RENEWALS_MAX];
        size_t n_renewals;

        /* counters */
        int32_t events;
        int32_t deals;
        int32_t tickets;

        /* de-duplication: the most recent event ids applied (ring, oldest
         * first) */
        const char *event_ids[PD_MARKER_EVENT_IDS_MAX];
        size_t n_event_ids;

        /* the most recent ticket ids opened (oldest first): a CSAT answer
         * naming one is that ticket's satisfaction */
        const char *ticket_ids[PD_MARKER_TICKETS_MAX];
        size_t n_ticket_ids;

        int64_t created_at;
        int64_t updated_at; /* max occurred_at applied */

        /* the most recent deal ids applied (ring, oldest first): a CRM
         * re-sending a sale under a new event id is still one deal */
        const char *deal_ids[PD_MARKER_DEAL_IDS_MAX];
        size_t n_deal_ids;
        /* changes of the dominant persona, oldest first */
        pd_persona_change_t history[PD_MARKER_HISTORY_MAX];
        size_t n_history;

        /* the largest raw signals, for re-scoring under a new model */
        pd_signal_t signals[PD_MARKER_SIGNALS_MAX];
        size_t n_signals;

        /* input (and changelog) partition the marker was last written
         * for; -1 unknown */
        int32_t partition;
} pd_marker_t;

/* ---- outputs ---------------------------------------------------------- */

typedef struct pd_team_member_s {
        const char *role;
        const char *name;
} pd_team_member_t;

typedef struct pd_plan_s {   /* schemas/PlanAssigned.avsc */
        const char *plan_id; /* UUID v5 */
        const char *customer_id;
        pd_axis_t persona;
        const char *template_id;
        const char *project_manager;
        pd_team_member_t *team;
        size_t n_team;
        pd_milestone_t *milestones;
        size_t n_milestones;
        pd_strs_t attendees;
        const char *reason;
        const char *caused_by; /* event id */
        int64_t assigned_at;   /* event time */
        bool extends;          /* true: an active plan was extended */
} pd_plan_t;

typedef enum pd_action_kind_e {
        PD_ACT_SEND_SURVEY = 0,
        PD_ACT_ROUTE_TICKET,
        PD_ACT_ADD_ATTENDEES,
        PD_ACT_PREPARE_RENEWAL,
        PD_ACT_NOTIFY_LEADER,
        PD_ACT_PERSONA_CHANGED,
        PD_ACT_MILESTONE_DUE,
        PD_ACT__CNT
} pd_action_kind_t;

/* "send_survey", ... */
const char *pd_action_kind_name(pd_action_kind_t kind);

typedef struct pd_action_s {   /* schemas/ActionRequested.avsc */
        const char *action_id; /* UUID v5 */
        const char *customer_id;
        pd_action_kind_t kind;
        int64_t due_at;
        pd_kvs_t params;
        const char *reason;
        const char *caused_by; /* event id or timer slot name */
        int64_t created_at;    /* event/clock time it was decided */
} pd_action_t;

/* What applying one event or one timer produced. */
typedef struct pd_outputs_s {
        pd_plan_t *plans;
        size_t n_plans;
        pd_action_t *actions;
        size_t n_actions;
        size_t cap_plans, cap_actions;
} pd_outputs_t;

/* Appends a zeroed plan/action to out (arena-owned); NULL on OOM. */
pd_plan_t *pd_outputs_add_plan(pd_outputs_t *out, pd_arena_t *arena);
pd_action_t *pd_outputs_add_action(pd_outputs_t *out, pd_arena_t *arena);

/* Appends key=value to kvs (both copied into the arena).  Only for a kvs
 * that is empty or was built by pd_kvs_add (capacity is implicit). */
int pd_kvs_add(pd_kvs_t *kvs, pd_arena_t *arena, const char *key,
               const char *value);
/* Returns the value of key or NULL. */
const char *pd_kvs_get(const pd_kvs_t *kvs, const char *key);

/* Fills out[37] with the deterministic UUID v5 of (name) in the
 * persona-dna namespace.  name is e.g. "<event_id>/plan" or
 * "<customer>/survey/3". */
void pd_uuid5(const char *name, char out[37]);
/* Returns a new arena string holding pd_uuid5(printf(fmt, ...)). */
char *pd_uuid5_printf(pd_arena_t *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Deep-copies src into dst with every pointer re-owned by arena. */
int pd_marker_copy(pd_marker_t *dst, const pd_marker_t *src, pd_arena_t *arena);

#endif
