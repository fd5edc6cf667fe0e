/* persona-dna: the worker's main loop (DESIGN §3).
 *
 * consume -> decode -> apply -> produce, one Kafka transaction per batch
 * (bounded by count and time) holding the outputs, the changelog records
 * (same partition number as the input) and the consumed offsets; after the
 * Kafka commit, one LMDB transaction with the markers and the changelog
 * offsets they reflect.  Assigned partitions are restored from the
 * changelog before their input is processed. */
#ifndef PD_WORKER_H
#define PD_WORKER_H

#include <signal.h>
#include <stdio.h>

#include "config.h"
#include "err.h"

typedef struct pd_worker_s pd_worker_t;

/* Loads the model, templates and roster, opens the store, connects.
 * Returns new. */
pd_err_t pd_worker_new(const pd_config_t *conf, pd_worker_t **workerp,
                       char *errstr, size_t errstr_size);
/* Checks a configuration without touching Kafka or the store: the
 * properties librdkafka gets, the persona model, the plan templates and
 * roster, the schemas.  Prints one line per check to out; returns the
 * first error with errstr naming the file, line and key. */
pd_err_t pd_worker_check(const pd_config_t *conf, FILE *out, char *errstr,
                         size_t errstr_size);
/* Runs until *stop is set (SIGTERM), the configured idle time passed, or a
 * fatal error.  PD_OK on a clean stop; PD_ERR_FATAL with errstr saying why. */
pd_err_t pd_worker_run(pd_worker_t *worker, volatile sig_atomic_t *stop,
                       char *errstr, size_t errstr_size);
/* Finishes or aborts the open transaction, leaves the group, closes the
 * store; NULL is a no-op. */
void pd_worker_destroy(pd_worker_t *worker);

#endif
