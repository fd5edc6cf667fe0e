/* persona-dna: Kafka I/O (the only module that includes rdkafka.h).
 *
 * Two parts: a plain idempotent producer for tools (the importer), and the
 * worker's exactly-once session (pd_kafka_session_*, in kafka_session.h). */
#ifndef PD_KAFKA_H
#define PD_KAFKA_H

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

#endif
