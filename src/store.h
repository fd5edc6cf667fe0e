/* persona-dna: the LMDB state store (the only module that includes lmdb.h).
 *
 * A cache of the changelog topics on local disk.  Databases:
 *   markers   customer id -> PersonaMarker bytes (as on the changelog)
 *   timers    partition(4, BE) | due(8, BE) | customer id -> ""
 *   timer_of  customer id -> partition(4, BE) | due(8, BE)
 *   pstate    partition(4, BE) -> PartitionState bytes
 *   offsets   "<topic>/<partition>" -> next changelog offset to apply (8, BE)
 *
 * All work of one batch happens in one write transaction (pd_store_txn_t),
 * which is the batch's view of state: it reads its own writes.  The worker
 * commits it only after the Kafka transaction committed, and aborts it
 * otherwise. */
#ifndef PD_STORE_H
#define PD_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "err.h"

typedef struct pd_store_s pd_store_t;
typedef struct pd_store_txn_s pd_store_txn_t;

/* Opens (creating) the store directory, clears stale readers left by
 * crashed processes.  Returns new. */
pd_err_t pd_store_open(const char *path, int64_t map_size,
                       pd_store_t **storep, char *errstr, size_t errstr_size);
void pd_store_close(pd_store_t *store);
/* Doubles the map size; no transaction may be open. */
pd_err_t pd_store_grow(pd_store_t *store, char *errstr, size_t errstr_size);
/* The current map size in bytes. */
int64_t pd_store_map_size(const pd_store_t *store);
/* How many reader slots of dead processes pd_store_open cleared. */
int pd_store_stale_readers(const pd_store_t *store);

/* read_only: a snapshot for tools.  Returns new. */
pd_err_t pd_store_txn_begin(pd_store_t *store, int read_only,
                            pd_store_txn_t **txnp);
pd_err_t pd_store_txn_commit(pd_store_txn_t *txn);
void pd_store_txn_abort(pd_store_txn_t *txn);

/* Fills out (copied: LMDB memory dies with the transaction).
 * PD_ERR_NOT_FOUND when absent. */
pd_err_t pd_store_marker_get(pd_store_txn_t *txn, const char *customer,
                             pd_buf_t *out);
/* Stores marker bytes and moves the customer's timer to (partition, due);
 * due 0 = no timer. */
pd_err_t pd_store_marker_put(pd_store_txn_t *txn, const char *customer,
                             const void *bytes, size_t len, int32_t partition,
                             int64_t due);
pd_err_t pd_store_marker_del(pd_store_txn_t *txn, const char *customer);
/* Moves only the customer's timer to (partition, due); due 0 = none. */
pd_err_t pd_store_timer_move(pd_store_txn_t *txn, const char *customer,
                             int32_t partition, int64_t due);

/* Calls cb for up to max customers of partition whose timer is due at or
 * before now, earliest first.  The customer string is borrowed for the
 * call.  Returns the number visited in *n. */
typedef int(pd_store_timer_cb_t)(const char *customer, int64_t due,
                                 void *opaque);
pd_err_t pd_store_timers_due(pd_store_txn_t *txn, int32_t partition,
                             int64_t now, size_t max, pd_store_timer_cb_t *cb,
                             void *opaque, size_t *n);
/* Earliest timer of partition, 0 when none. */
int64_t pd_store_timer_next(pd_store_txn_t *txn, int32_t partition);

pd_err_t pd_store_pstate_get(pd_store_txn_t *txn, int32_t partition,
                             pd_buf_t *out);
pd_err_t pd_store_pstate_put(pd_store_txn_t *txn, int32_t partition,
                             const void *bytes, size_t len);

/* Next changelog offset to apply for topic/partition; -1 when unknown. */
int64_t pd_store_offset_get(pd_store_txn_t *txn, const char *topic,
                            int32_t partition);
pd_err_t pd_store_offset_put(pd_store_txn_t *txn, const char *topic,
                             int32_t partition, int64_t offset);

/* Iterates all markers (tools): cb(customer, bytes, len). */
typedef int(pd_store_marker_cb_t)(const char *customer, const void *bytes,
                                  size_t len, void *opaque);
pd_err_t pd_store_markers_foreach(pd_store_txn_t *txn,
                                  pd_store_marker_cb_t *cb, void *opaque);

#endif
