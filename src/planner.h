/* persona-dna: plan templates, the project-manager roster and assignment
 * (DESIGN §5).  Pure: no Kafka, LMDB, Avro.
 *
 * Templates (model/plan-templates.json): per persona, milestones with day
 * offsets and owner roles, team roles and invite attendees.  Roster
 * (model/roster.json): project managers with skills by persona, products,
 * regions, languages, time zones and capacity (active plans).
 *
 * Load is counted per input partition (pd_pstate_t.loads) because each
 * partition's state is owned by exactly one worker at a time; a manager's
 * capacity per partition is ceil(capacity / partitions). */
#ifndef PD_PLANNER_H
#define PD_PLANNER_H

#include "domain.h"
#include "err.h"

typedef struct pd_catalog_s pd_catalog_t;

/* One partition's shared state: stream time and project-manager load. It is
 * changelogged like a marker (schemas/PartitionState.avsc). */
typedef struct pd_pm_load_s {
        const char *pm;
        int32_t active;
} pd_pm_load_t;

typedef struct pd_pstate_s {
        int32_t partition;
        int64_t stream_time; /* max occurred_at seen on the partition */
        pd_pm_load_t *loads;
        size_t n_loads;
        /* The next input offset this state reflects (-1 unknown).  Kept in
         * the changelog with the state, so a restored partition resumes
         * exactly where its state ends even where the broker does not keep
         * transactional offset commits (librdkafka's mock cluster). */
        int64_t input_offset;
} pd_pstate_t;

/* Loads templates and roster.  Errors name "path:line: key: reason".
 * Returns new (caller destroys). */
pd_err_t pd_catalog_load(const char *templates_path, const char *roster_path,
                         pd_catalog_t **catp, char *errstr,
                         size_t errstr_size);
void pd_catalog_destroy(pd_catalog_t *cat);

/* Chooses a template for marker->dominant and a project manager for the
 * sale: best fit (persona skill, products, region, language, time zone),
 * under capacity, then least loaded, ties broken by name; deterministic.
 * Fills plan (milestones dated from sale time, team, attendees, reason)
 * from arena, increments the chosen manager's load in pstate (re-allocating
 * loads in arena).  plan->plan_id and caused_by are set by the caller. */
pd_err_t pd_planner_assign(const pd_catalog_t *cat, const pd_marker_t *marker,
                           const pd_event_t *sale, pd_pstate_t *pstate,
                           int32_t partitions, pd_arena_t *arena,
                           pd_plan_t *plan);

/* Extends an active plan for a further deal: milestones after the sale are
 * re-dated from the sale, the manager is kept.  Fills plan like assign. */
pd_err_t pd_planner_extend(const pd_catalog_t *cat, const pd_marker_t *marker,
                           const pd_event_t *sale, pd_arena_t *arena,
                           pd_plan_t *plan);

/* Releases one unit of pm's load in pstate (plan closed). */
void pd_planner_release(pd_pstate_t *pstate, const char *pm);

/* Invite attendees for the persona (for the add-attendees action). */
pd_strs_t pd_planner_attendees(const pd_catalog_t *cat, pd_axis_t persona);

#endif
