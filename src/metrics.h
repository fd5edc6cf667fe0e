/* persona-dna: the worker's counters, written as JSON (metrics.path) so
 * the demo and operators can read them. */
#ifndef PD_METRICS_H
#define PD_METRICS_H

#include <stdint.h>

#include "domain.h"
#include "err.h"

typedef struct pd_metrics_s {
        int64_t consumed;
        int64_t applied;
        int64_t duplicates;
        int64_t duplicate_deals; /* SaleClosed of a known deal, new id */
        int64_t dead_lettered;
        int64_t erased;
        int64_t plans;
        int64_t actions[PD_ACT__CNT];
        int64_t markers_written;
        int64_t timers_fired;
        int64_t surveys_close;       /* send_survey of slot 0 */
        int64_t surveys_six_monthly; /* send_survey of slots >= 1 */
        int64_t surveys_deferred;    /* sent late by the contact gap */
        int64_t commits;
        int64_t aborts;
        int64_t restored_records;
        int64_t rescored; /* markers re-scored under a new model version */
        int64_t events_by_kind[PD_EV__CNT];
        int64_t dlq_by_class[4]; /* oversized, decode, invalid, key */
} pd_metrics_t;

typedef enum pd_dlq_class_e {
        PD_DLQ_OVERSIZED = 0,
        PD_DLQ_DECODE,
        PD_DLQ_INVALID,
        PD_DLQ_KEY,
} pd_dlq_class_t;

const char *pd_dlq_class_name(pd_dlq_class_t cls);

/* Writes m as JSON to path (atomically: temp file and rename). */
pd_err_t pd_metrics_write(const pd_metrics_t *m, const char *path);

#endif
