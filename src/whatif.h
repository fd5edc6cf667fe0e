/* persona-dna: what-if replay of the persona model.  Pure: no Kafka, LMDB,
 * Avro.
 *
 * Replays a history of lifecycle events under two models at once (the
 * current one and a candidate) and says, without touching anything live,
 * which customers would end with another dominant persona.  Each customer
 * gets two markers scored exactly as the worker scores them (the same
 * decay, hysteresis and de-duplication by event id; an erasure forgets the
 * customer), so the answer includes the path dependence of the hysteresis:
 * a persona the candidate flips earlier stays flipped. */
#ifndef PD_WHATIF_H
#define PD_WHATIF_H

#include "domain.h"
#include "err.h"
#include "persona.h"

typedef struct pd_whatif_s pd_whatif_t;

/* Index of "no persona yet" (no evidence) in the matrix. */
#define PD_WHATIF_NONE PD_AXIS__CNT

typedef struct pd_whatif_report_s {
        size_t events;     /* applied */
        size_t duplicates; /* event ids already applied to the customer */
        size_t customers;  /* known at the end (erased ones excluded) */
        size_t changed;    /* customers whose dominant persona differs */
        /* customers by [current dominant][candidate dominant] */
        size_t matrix[PD_AXIS__CNT + 1][PD_AXIS__CNT + 1];
        size_t flips[2]; /* persona changes during the replay: current,
                            candidate */
} pd_whatif_report_t;

/* One (signal, axis) whose evidence weight differs between two markers
 * (0 where a marker does not keep it). */
typedef struct pd_whatif_diff_s {
        const char *signal;
        pd_axis_t axis;
        double current, candidate;
} pd_whatif_diff_t;

/* Borrows both models (they must outlive the replay).  Returns new
 * (caller destroys), or PD_ERR_NOMEM. */
pd_err_t pd_whatif_new(const pd_model_t *current, const pd_model_t *candidate,
                       pd_whatif_t **whatifp);
/* Destroys; NULL is a no-op. */
void pd_whatif_destroy(pd_whatif_t *whatif);

/* Applies ev under both models.  Borrows ev: what the markers keep is
 * copied.  Events of one customer must come in the order the worker would
 * see them (their partition's order). */
pd_err_t pd_whatif_apply(pd_whatif_t *whatif, const pd_event_t *ev);

/* Fills rep with the figures so far. */
void pd_whatif_report(const pd_whatif_t *whatif, pd_whatif_report_t *rep);

/* The dominant persona of m, or PD_WHATIF_NONE when it has no evidence. */
int pd_whatif_dominant(const pd_marker_t *m);

/* Calls cb for every customer whose dominant persona differs, in customer
 * id order, until cb returns non-zero (then returns that).  The markers
 * are borrowed for the call. */
typedef int(pd_whatif_cb_t)(void *opaque, const char *customer,
                            const pd_marker_t *current,
                            const pd_marker_t *candidate);
int pd_whatif_foreach_changed(const pd_whatif_t *whatif, pd_whatif_cb_t *cb,
                              void *opaque);

/* Fills out (up to max) with the evidence entries whose weight differs by
 * more than 1e-9 between current and candidate, largest difference first.
 * Returns how many differ (may exceed max).  Strings are borrowed from the
 * markers. */
size_t pd_whatif_evidence_diff(const pd_marker_t *current,
                               const pd_marker_t *candidate,
                               pd_whatif_diff_t *out, size_t max);

#endif
