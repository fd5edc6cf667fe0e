/* persona-dna: the lifecycle engine.  Pure: takes a marker, an event (or the
 * clock) and returns the new marker and the outputs (DESIGN §3-§6).
 *
 * The engine owns the business rules: de-duplication by event id, plans,
 * routing, survey schedule and timers, renewals, escalations.  The main loop
 * only moves bytes between Kafka, LMDB and these functions. */
#ifndef PD_ENGINE_H
#define PD_ENGINE_H

#include "domain.h"
#include "err.h"
#include "persona.h"
#include "planner.h"

typedef struct pd_engine_conf_s {
        int32_t survey_local_minute;    /* local time of day for surveys */
        int32_t survey_interval_months; /* 6 */
        bool close_on_last_milestone;   /* close survey at plan end fallback */
        int32_t survey_min_gap_days;    /* contact gap; 0 = none */
        int32_t renewal_lead_days[4];   /* e.g. 90, 30; 0 terminates */
        int32_t partitions;             /* input partition count */
} pd_engine_conf_t;

typedef struct pd_engine_s {
        const pd_engine_conf_t *conf;
        const pd_model_t *model;
        const pd_catalog_t *catalog;
} pd_engine_t;

/* Result of applying one event. */
typedef enum pd_apply_result_e {
        PD_APPLY_CHANGED = 0,    /* marker changed: changelog it */
        PD_APPLY_DUPLICATE,      /* event id already applied: nothing changes */
        PD_APPLY_ERASED,         /* customer erased: tombstone */
        PD_APPLY_DUPLICATE_DEAL, /* SaleClosed of a deal already applied,
                                    under another event id: nothing
                                    changes */
} pd_apply_result_t;

/* Applies ev to *marker (which is zeroed with customer_id NULL when the
 * customer is new).  Fills out; updates pstate (stream time, load).
 * Returns PD_ERR_INVALID with errstr naming the field for an event that
 * passed decoding but breaks a rule (score out of scale, empty customer
 * id): the caller dead-letters it. */
pd_err_t pd_engine_apply(const pd_engine_t *eng, pd_marker_t *marker,
                         pd_pstate_t *pstate, const pd_event_t *ev,
                         pd_arena_t *arena, pd_outputs_t *out,
                         pd_apply_result_t *result, char *errstr,
                         size_t errstr_size);

/* Whether event_id is in marker's window of recent event ids (the
 * de-duplication window, PD_MARKER_EVENT_IDS_MAX). */
bool pd_engine_event_seen(const pd_marker_t *marker, const char *event_id);
/* Adds event_id to that window, dropping the oldest when full (the id is
 * not copied: it must live as long as the marker). */
void pd_engine_event_remember(pd_marker_t *marker, const char *event_id);

/* The earliest time any timer of marker is due; 0 when none. */
int64_t pd_engine_next_timer(const pd_engine_t *eng, const pd_marker_t *marker);

/* Fires every timer of marker due at or before now (surveys: at most one
 * catch-up, then the schedule continues from the next future slot;
 * milestones; renewal leads; close fallback).  Returns true when the marker
 * changed. */
bool pd_engine_fire(const pd_engine_t *eng, pd_marker_t *marker,
                    pd_pstate_t *pstate, int64_t now, pd_arena_t *arena,
                    pd_outputs_t *out);

/* Re-scores marker under the engine's model when its model_version
 * differs (pd_persona_rescore) and, when the dominant persona changes,
 * adds a persona_changed action caused by "<customer>/rescore/<version>"
 * (so its id is the same however often a crash repeats it), at the
 * marker's event time.  Sets *rescored when the marker changed. */
pd_err_t pd_engine_rescore(const pd_engine_t *eng, pd_marker_t *marker,
                           pd_arena_t *arena, pd_outputs_t *out,
                           bool *rescored);

#endif
