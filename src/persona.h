/* persona-dna: the persona model (DESIGN §4).  Pure: no Kafka, LMDB, Avro.
 *
 * The model is data: a JSON file (model/persona-model.json) mapping checkpoint
 * answers, firmographics, products, ticket categories/priorities and text
 * (lexicons in en, es, fr, de, it, pt) to axis weights.  Scores are kept in
 * the marker as a decayed sum: at each event the old scores decay by
 * 2^(-age/half_life) to the event's time, then the event's contributions are
 * added; the largest contributions are kept as evidence. */
#ifndef PD_PERSONA_H
#define PD_PERSONA_H

#include "domain.h"
#include "err.h"

typedef struct pd_model_s pd_model_t;

/* Loads and validates the model file.  On error fills errstr with
 * "path:line: key: reason" and returns PD_ERR_CONFIG.  Returns new (caller
 * destroys). */
pd_err_t pd_model_load(const char *path, pd_model_t **modelp, char *errstr,
                       size_t errstr_size);
/* Destroys the model; NULL is a no-op. */
void pd_model_destroy(pd_model_t *model);
/* The model's version number (the file's "version"). */
int32_t pd_model_version(const pd_model_t *model);

/* Applies the signals of ev to marker: decays the axis scores to
 * ev->occurred_at (never backwards: an older event adds its weight decayed
 * to the marker's time), adds the event's contributions, updates the
 * evidence list (largest |decayed weight| kept), the dominant persona (only
 * changes past the model's hysteresis margin, recorded in the marker's
 * history) and the margin.  New strings
 * are allocated in arena.  Sets *changed and *before when the dominant
 * persona changed (a marker with no evidence yet is not a change). */
pd_err_t pd_persona_apply(const pd_model_t *model, pd_marker_t *marker,
                          const pd_event_t *ev, pd_arena_t *arena,
                          bool *changed, pd_axis_t *before);

/* Re-scores marker under model (a new version): every kept raw signal's
 * contribution is replaced by the weight model gives it (a signal model
 * no longer lists counts 0), the evidence follows, the dominant changes
 * only past the hysteresis (recorded in the history with event id cause,
 * e.g. "<customer>/rescore/<version>") and model_version becomes model's.
 * What is not kept (signals beyond the PD_MARKER_SIGNALS_MAX largest)
 * keeps the weight it was scored with; a text's per-event cap keeps the
 * scale it had.  Sets *changed and *before as pd_persona_apply. */
pd_err_t pd_persona_rescore(const pd_model_t *model, pd_marker_t *marker,
                            const char *cause, pd_arena_t *arena,
                            bool *changed, pd_axis_t *before);

/* Appends a change from `from` to marker->dominant (margin marker->margin)
 * to the marker's bounded history, dropping the oldest when full.  Borrows
 * event_id: it must live as long as the marker's arena. */
void pd_persona_history_add(pd_marker_t *marker, pd_axis_t from, int64_t at,
                            const char *event_id);

/* Picks the support queue for a ticket given the marker (e.g.
 * "technical-l2", "design-desk", "onboarding-desk", "success-consultants")
 * and fills a short reason.  Returns a string owned by the model or arena. */
const char *pd_persona_route_ticket(const pd_model_t *model,
                                    const pd_marker_t *marker,
                                    const pd_ticket_opened_t *ticket,
                                    pd_arena_t *arena, const char **reason);

#endif
