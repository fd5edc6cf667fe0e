/* persona-dna: Kafka I/O (the only module that includes rdkafka.h).
 *
 * Two parts: a plain idempotent producer for tools (the importer), and the
 * worker's exactly-once session (pd_kafka_session_*, in kafka_session.h). */
#ifndef PD_KAFKA_H
#define PD_KAFKA_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain.h"
#include "err.h"

typedef struct pd_kafka_producer_s pd_kafka_producer_t;

/* Creates an idempotent producer (acks=all, murmur2_random partitioner, as
 * Java clients partition keys).  extra: librdkafka properties passed as is.
 * Returns new. */
pd_err_t pd_kafka_producer_new(const char *bootstrap, const pd_kvs_t *extra,
                               pd_kafka_producer_t **producerp, char *errstr,
                               size_t errstr_size);
/* Copies key and value; partition -1 = by key.  Retries a full queue. */
pd_err_t pd_kafka_produce(pd_kafka_producer_t *producer, const char *topic,
                          int32_t partition, const void *key, size_t key_len,
                          const void *value, size_t value_len);
/* Waits for every delivery; PD_ERR_KAFKA with the first failure in errstr
 * when any message was not delivered. */
pd_err_t pd_kafka_producer_flush(pd_kafka_producer_t *producer,
                                 int timeout_ms, char *errstr,
                                 size_t errstr_size);
/* Number of messages delivered so far. */
int64_t pd_kafka_producer_delivered(const pd_kafka_producer_t *producer);
void pd_kafka_producer_destroy(pd_kafka_producer_t *producer);



/* ---- the worker's exactly-once session ---------------------------------
 * One consumer-group member (read_committed, no auto commit) and one
 * transactional producer (transactional.id = <group.id>-<instance.id>).
 * Input offsets are committed with send_offsets_to_transaction. */

struct pd_config_s;

typedef struct pd_session_s pd_session_t;

typedef struct pd_msg_s {
        const char *topic;
        int32_t partition;
        int64_t offset;
        int64_t timestamp; /* ms, -1 unknown */
        const void *key;
        size_t key_len;
        const void *value;
        size_t len;
        void *rkm; /* private */
} pd_msg_t;

typedef struct pd_session_cbs_s {
        void *opaque;
        /* Input partitions were assigned: restore them before returning,
         * and fill offsets[i] with the input offset partition i's state
         * ends at (-1: the group's committed offset).  Called from inside
         * pd_session_poll(), before the partitions are fetched. */
        pd_err_t (*on_assign)(void *opaque, const int32_t *partitions,
                              size_t n, int64_t *offsets);
        /* Input partitions are being revoked (lost: taken away, e.g. after
         * a session timeout, rather than handed over).  Called before they
         * are unassigned: commit the open batch (handed over) or abort it
         * (lost), then drop any state of those partitions.  Whatever
         * transaction is still open on return is aborted, so no output of
         * a revoked partition commits after the revoke.  PD_ERR_FATAL
         * stops the worker. */
        pd_err_t (*on_revoke)(void *opaque, const int32_t *partitions, size_t n,
                              bool lost);
        /* The input offset partition's committed state ends at (-1:
         * unknown): where an aborted batch is consumed again.  The group's
         * committed offset is used only when this is unknown. */
        int64_t (*resume_offset)(void *opaque, int32_t partition);
} pd_session_cbs_t;

/* Checks that librdkafka accepts bootstrap.servers and every kafka.*
 * property of conf (names and values), without connecting. */
pd_err_t pd_kafka_check_conf(const struct pd_config_s *conf, char *errstr,
                             size_t errstr_size);

/* Creates the producer (init_transactions) and the consumer (subscribed
 * to topic.input).  Checks every changelog topic has as many partitions as
 * the input.  Returns new. */
pd_err_t pd_session_new(const struct pd_config_s *conf,
                        const pd_session_cbs_t *cbs, pd_session_t **sessionp,
                        char *errstr, size_t errstr_size);
/* Leaves the group and destroys both clients; NULL is a no-op. */
void pd_session_destroy(pd_session_t *session);
int32_t pd_session_partition_cnt(const pd_session_t *session);
/* Borrows stop (the SIGTERM flag) until destroy: a restore in progress
 * checks it and gives up, leaving the partitions it was restoring paused,
 * so the worker can exit promptly. */
void pd_session_set_stop(pd_session_t *session, volatile sig_atomic_t *stop);

/* Waits up to timeout_ms for one input message.  PD_OK fills msg (release
 * it with pd_session_msg_release); PD_ERR_NOT_FOUND on timeout;
 * PD_ERR_FATAL when the client hit a fatal error. */
pd_err_t pd_session_poll(pd_session_t *session, int timeout_ms, pd_msg_t *msg,
                         char *errstr, size_t errstr_size);
void pd_session_msg_release(pd_msg_t *msg);

/* Transaction control.  begin is a no-op when one is open. */
pd_err_t pd_session_begin(pd_session_t *session, char *errstr,
                          size_t errstr_size);
bool pd_session_in_txn(const pd_session_t *session);
/* Produces inside the open transaction. partition -1 = by key.  headers:
 * NULL or key/value pairs. */
pd_err_t pd_session_produce(pd_session_t *session, const char *topic,
                            int32_t partition, const void *key,
                            size_t key_len, const void *value, size_t len,
                            const pd_kvs_t *headers, char *errstr,
                            size_t errstr_size);
/* Waits until everything produced so far is delivered (inside the open
 * transaction); PD_ERR_ABORT when a delivery failed. */
pd_err_t pd_session_flush(pd_session_t *session, char *errstr,
                          size_t errstr_size);
/* Sends the consumed positions and commits.  PD_ERR_ABORT: the
 * transaction was aborted and the consumer rewound to the committed
 * offsets; PD_ERR_FATAL: stop. */
pd_err_t pd_session_commit(pd_session_t *session, char *errstr,
                           size_t errstr_size);
/* Aborts the open transaction (if any) and rewinds the consumer. */
pd_err_t pd_session_abort(pd_session_t *session, char *errstr,
                          size_t errstr_size);
/* After a commit: the next offset following the last record this
 * transaction wrote to topic/partition, or -1 if it wrote none. */
int64_t pd_session_written_offset(const pd_session_t *session,
                                  const char *topic, int32_t partition);

/* Reads the given partitions of the given topics (offsets[t * n_parts + i]
 * for topics[t], parts[i]; -1 = beginning) to their current end
 * (read_committed) with one separate, group-less consumer, one topic after
 * the other in the given order, calling cb for every record (value NULL
 * for a tombstone; txn the record's pd.txn header, NULL without one).
 * Fills next_offsets (same layout) with the offset after the last record
 * read.  PD_ERR_STOPPED when the stop flag (pd_session_set_stop) was
 * raised before the end.  Logs progress every 5 s. */
typedef pd_err_t(pd_session_read_cb_t)(void *opaque, size_t topic_idx,
                                       int32_t partition, const void *key,
                                       size_t key_len, const void *value,
                                       size_t len, int64_t offset,
                                       const char *txn);
pd_err_t pd_session_read_partitions(pd_session_t *session,
                                    const char *const *topics,
                                    size_t n_topics, const int32_t *parts,
                                    size_t n_parts, const int64_t *offsets,
                                    pd_session_read_cb_t *cb, void *opaque,
                                    int64_t *next_offsets, char *errstr,
                                    size_t errstr_size);
/* ---- reading a whole topic (tests, tools) ------------------------------
 * One record of pd_kafka_read_topic(); everything is borrowed until the
 * callback returns.  value is NULL for a tombstone; header values are
 * NUL-terminated copies (a NULL header value becomes ""). */
typedef struct pd_kafka_record_s {
        const char *topic;
        int32_t partition;
        int64_t offset;
        const void *key; /* NULL: no key */
        size_t key_len;
        const void *value;
        size_t len;
        const pd_kvs_t *headers;
} pd_kafka_record_t;

/* Returns 0 to go on, non-zero to stop the read (returned as
 * PD_ERR_INVALID). */
typedef int(pd_kafka_record_cb_t)(void *opaque, const pd_kafka_record_t *rec);

/* Reads every partition of topic from the beginning to its current end
 * with a separate, group-less consumer (isolation.level=read_committed:
 * records of open or aborted transactions are never seen), calling cb for
 * each record in partition order.  PD_ERR_KAFKA with errstr when the topic
 * is unknown or a partition makes no progress for 30 s. */
pd_err_t pd_kafka_read_topic(const char *bootstrap, const char *topic,
                             pd_kafka_record_cb_t *cb, void *opaque,
                             char *errstr, size_t errstr_size);

#endif
