/* Kafka I/O: the only module that includes rdkafka.h. */
#include "kafka.h"

#include <librdkafka/rdkafka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "log.h"

#define META_TIMEOUT_MS 10000
#define TXN_TIMEOUT_MS  60000

/* librdkafka's logs join ours, one line each. */
static void log_cb(const rd_kafka_t *rk, int level, const char *fac,
                   const char *buf)
{
        PD_LOG(level <= 3 ? PD_LOG_ERROR : level == 4 ? PD_LOG_WARN
               : level <= 6                          ? PD_LOG_INFO
                                                     : PD_LOG_DEBUG,
               "rdkafka", "client=%s facility=%s msg=\"%s\"",
               rd_kafka_name(rk), fac, buf);
}

static pd_err_t conf_set(rd_kafka_conf_t *rconf, const char *key,
                         const char *value, char *errstr, size_t errstr_size)
{
        char why[256];
        if (rd_kafka_conf_set(rconf, key, value, why, sizeof(why)) ==
            RD_KAFKA_CONF_OK)
                return PD_OK;
        snprintf(errstr, errstr_size, "kafka.%s: %s", key, why);
        return PD_ERR_CONFIG;
}

/* Base settings, then the user's kafka.* pass-through (which wins). */
static rd_kafka_conf_t *conf_new(const char *bootstrap, const pd_kvs_t *extra,
                                 char *errstr, size_t errstr_size)
{
        rd_kafka_conf_t *rconf = rd_kafka_conf_new();
        rd_kafka_conf_set_log_cb(rconf, log_cb);
        if (conf_set(rconf, "bootstrap.servers", bootstrap, errstr,
                     errstr_size))
                goto fail;
        for (size_t i = 0; extra && i < extra->n; i++)
                if (conf_set(rconf, extra->v[i].key, extra->v[i].value, errstr,
                             errstr_size))
                        goto fail;
        return rconf;
fail:
        rd_kafka_conf_destroy(rconf);
        return NULL;
}

pd_err_t pd_kafka_check_conf(const pd_config_t *conf, char *errstr,
                             size_t errstr_size)
{
        rd_kafka_conf_t *rconf = conf_new(conf->bootstrap_servers,
                                          &conf->kafka, errstr, errstr_size);
        if (!rconf)
                return PD_ERR_CONFIG;
        rd_kafka_conf_destroy(rconf);
        return PD_OK;
}

/* ---- plain producer ---------------------------------------------------- */

struct pd_kafka_producer_s {
        rd_kafka_t *rk;
        int64_t delivered;
        int64_t failed;
        char first_error[256];
};

static void producer_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                           void *opaque)
{
        pd_kafka_producer_t *p = opaque;
        if (!rkm->err) {
                p->delivered++;
                return;
        }
        if (!p->failed++)
                snprintf(p->first_error, sizeof(p->first_error),
                         "%s [%d]: %s", rd_kafka_topic_name(rkm->rkt),
                         rkm->partition, rd_kafka_err2str(rkm->err));
}

pd_err_t pd_kafka_producer_new(const char *bootstrap, const pd_kvs_t *extra,
                               pd_kafka_producer_t **producerp, char *errstr,
                               size_t errstr_size)
{
        pd_kafka_producer_t *p = calloc(1, sizeof(*p));
        rd_kafka_conf_t *rconf = NULL;
        *producerp             = NULL;
        if (!p)
                return PD_ERR_NOMEM;
        pd_kvs_t base = {0};
        pd_arena_t arena;
        pd_arena_init(&arena);
        pd_kvs_add(&base, &arena, "enable.idempotence", "true");
        pd_kvs_add(&base, &arena, "partitioner", "murmur2_random");
        pd_kvs_add(&base, &arena, "linger.ms", "20");
        for (size_t i = 0; extra && i < extra->n; i++)
                pd_kvs_add(&base, &arena, extra->v[i].key, extra->v[i].value);
        rconf = conf_new(bootstrap, &base, errstr, errstr_size);
        pd_arena_term(&arena);
        if (!rconf) {
                free(p);
                return PD_ERR_CONFIG;
        }
        rd_kafka_conf_set_dr_msg_cb(rconf, producer_dr_cb);
        rd_kafka_conf_set_opaque(rconf, p);
        p->rk = rd_kafka_new(RD_KAFKA_PRODUCER, rconf, errstr, errstr_size);
        if (!p->rk) {
                rd_kafka_conf_destroy(rconf);
                free(p);
                return PD_ERR_CONFIG;
        }
        *producerp = p;
        return PD_OK;
}

pd_err_t pd_kafka_produce(pd_kafka_producer_t *p, const char *topic,
                          int32_t partition, const void *key, size_t key_len,
                          const void *value, size_t value_len)
{
        for (;;) {
                rd_kafka_resp_err_t err = rd_kafka_producev(
                    p->rk, RD_KAFKA_V_TOPIC(topic),
                    RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA
                                                       : partition),
                    RD_KAFKA_V_KEY(key, key_len),
                    RD_KAFKA_V_VALUE((void *)value, value_len),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (!err) {
                        rd_kafka_poll(p->rk, 0);
                        return PD_OK;
                }
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        pd_log_error("kafka", "produce topic=%s error=\"%s\"",
                                     topic, rd_kafka_err2str(err));
                        return PD_ERR_KAFKA;
                }
                rd_kafka_poll(p->rk, 100);
        }
}

pd_err_t pd_kafka_producer_flush(pd_kafka_producer_t *p, int timeout_ms,
                                 char *errstr, size_t errstr_size)
{
        rd_kafka_resp_err_t err = rd_kafka_flush(p->rk, timeout_ms);
        if (err) {
                snprintf(errstr, errstr_size, "flush: %s",
                         rd_kafka_err2str(err));
                return PD_ERR_KAFKA;
        }
        if (p->failed) {
                snprintf(errstr, errstr_size, "%lld not delivered, first: %s",
                         (long long)p->failed, p->first_error);
                return PD_ERR_KAFKA;
        }
        return PD_OK;
}

int64_t pd_kafka_producer_delivered(const pd_kafka_producer_t *p)
{
        return p->delivered;
}

void pd_kafka_producer_destroy(pd_kafka_producer_t *p)
{
        if (!p)
                return;
        rd_kafka_flush(p->rk, 10000);
        rd_kafka_destroy(p->rk);
        free(p);
}

/* ---- exactly-once session --------------------------------------------- */

#define TRACKED_MAX 2 /* changelog topics whose written offsets we keep */

struct pd_session_s {
        const pd_config_t *conf;
        pd_session_cbs_t cbs;
        rd_kafka_t *consumer;
        rd_kafka_t *producer;
        int32_t partitions;
        bool in_txn;
        const char *tracked[TRACKED_MAX];
        int64_t *written[TRACKED_MAX]; /* [partition] next offset or -1 */
        rd_kafka_resp_err_t dr_err;    /* first delivery failure in txn */
        volatile sig_atomic_t *stop;   /* borrowed SIGTERM flag, or NULL */
        bool assigned_once;            /* an assignment was received */
        bool closing;                  /* in pd_session_destroy */
        char fatal[512];
};

static void session_dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *rkm,
                          void *opaque)
{
        pd_session_t *s = opaque;
        if (rkm->err) {
                if (!s->dr_err)
                        s->dr_err = rkm->err;
                return;
        }
        const char *topic = rd_kafka_topic_name(rkm->rkt);
        for (int i = 0; i < TRACKED_MAX; i++)
                if (s->tracked[i] && !strcmp(s->tracked[i], topic) &&
                    rkm->partition >= 0 && rkm->partition < s->partitions &&
                    rkm->offset + 1 > s->written[i][rkm->partition])
                        s->written[i][rkm->partition] = rkm->offset + 1;
}

static void error_cb(rd_kafka_t *rk, int err, const char *reason,
                     void *opaque)
{
        pd_session_t *s = opaque;
        if (err == RD_KAFKA_RESP_ERR__FATAL) {
                char why[256];
                rd_kafka_resp_err_t orig =
                    rd_kafka_fatal_error(rk, why, sizeof(why));
                snprintf(s->fatal, sizeof(s->fatal), "%s: %s: %s",
                         rd_kafka_name(rk), rd_kafka_err2name(orig), why);
                pd_log_error("kafka", "fatal=true error=\"%s\"", s->fatal);
                return;
        }
        pd_log_warn("kafka", "client=%s error=%s reason=\"%s\"",
                    rd_kafka_name(rk), rd_kafka_err2name(err), reason);
}

static void partitions_of(const rd_kafka_topic_partition_list_t *parts,
                          int32_t *out, size_t *n)
{
        *n = 0;
        for (int i = 0; i < parts->cnt; i++)
                out[(*n)++] = parts->elems[i].partition;
}

static bool cooperative(rd_kafka_t *rk)
{
        const char *proto = rd_kafka_rebalance_protocol(rk);
        return proto && !strcmp(proto, "COOPERATIVE");
}

static void set_fatal(pd_session_t *s, const char *why)
{
        if (!s->fatal[0])
                snprintf(s->fatal, sizeof(s->fatal), "%s", why);
}

/* Applies an assignment (eager: the whole new one; cooperative: only the
 * added partitions). */
static void assign_apply(pd_session_t *s, rd_kafka_t *rk,
                         rd_kafka_topic_partition_list_t *parts, bool coop)
{
        char why[512];
        rd_kafka_error_t *error = NULL;
        rd_kafka_resp_err_t kerr = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (coop)
                error = rd_kafka_incremental_assign(rk, parts);
        else
                kerr = rd_kafka_assign(rk, parts);
        if (error) {
                snprintf(why, sizeof(why), "incremental_assign: %s",
                         rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
                set_fatal(s, why);
        } else if (kerr) {
                snprintf(why, sizeof(why), "assign: %s",
                         rd_kafka_err2str(kerr));
                set_fatal(s, why);
        }
}

static void on_assigned(pd_session_t *s, rd_kafka_t *rk,
                        rd_kafka_topic_partition_list_t *parts,
                        const int32_t *ids, size_t n, bool coop)
{
        int64_t *offsets = calloc(n + 1, sizeof(*offsets));
        pd_err_t err = offsets ? PD_OK : PD_ERR_NOMEM;
        s->assigned_once = true;
        pd_log_info("kafka", "rebalance=assign protocol=%s partitions=%zu",
                    coop ? "cooperative" : "eager", n);
        if (s->closing)
                err = PD_ERR_STOPPED; /* taken only to be given back */
        for (size_t i = 0; i < n; i++)
                pd_log_info("kafka", "partition=%d assigned=true", ids[i]);
        /* Restore before anything is fetched (only the added partitions
         * under the cooperative protocol), then start where the restored
         * state ends. */
        if (!err && s->cbs.on_assign)
                err = s->cbs.on_assign(s->cbs.opaque, ids, n, offsets);
        for (size_t i = 0; !err && i < n; i++)
                if (offsets[i] >= 0)
                        parts->elems[i].offset = offsets[i];
        if (err && err != PD_ERR_STOPPED)
                set_fatal(s, "restore of assigned partitions failed");
        assign_apply(s, rk, parts, coop);
        if (err) {
                /* Not restored: never fetched.  A stop leaves them paused
                 * until the consumer closes; a failure stops the worker. */
                rd_kafka_pause_partitions(rk, parts);
                pd_log_info("kafka", "partitions=%zu paused=true reason=%s", n,
                            pd_err_name(err));
        }
        free(offsets);
}

static void on_revoked(pd_session_t *s, rd_kafka_t *rk,
                       rd_kafka_topic_partition_list_t *parts,
                       const int32_t *ids, size_t n, bool coop, bool lost)
{
        char why[256];
        rd_kafka_error_t *error = NULL;
        pd_log_info("kafka",
                    "rebalance=revoke protocol=%s partitions=%zu lost=%s",
                    coop ? "cooperative" : "eager", n, lost ? "true" : "false");
        for (size_t i = 0; i < n; i++)
                pd_log_info("kafka", "partition=%d revoked=true", ids[i]);
        /* The worker commits its open batch while the partitions are still
         * ours (or aborts it when they are lost); nothing of a revoked
         * partition may commit after this. */
        if (s->cbs.on_revoke &&
            s->cbs.on_revoke(s->cbs.opaque, ids, n, lost) == PD_ERR_FATAL)
                set_fatal(s, "commit or abort at revoke failed");
        if (s->in_txn && pd_session_abort(s, why, sizeof(why)) == PD_ERR_FATAL)
                set_fatal(s, why);
        if (coop)
                error = rd_kafka_incremental_unassign(rk, parts);
        else
                rd_kafka_assign(rk, NULL);
        if (error) {
                pd_log_warn("kafka", "incremental_unassign error=\"%s\"",
                            rd_kafka_error_string(error));
                rd_kafka_error_destroy(error);
        }
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque)
{
        pd_session_t *s = opaque;
        int32_t *ids = calloc((size_t)parts->cnt + 1, sizeof(*ids));
        size_t n = 0;
        bool coop = cooperative(rk);
        if (!ids) {
                set_fatal(s, "rebalance: out of memory");
                return;
        }
        partitions_of(parts, ids, &n);
        if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)
                on_assigned(s, rk, parts, ids, n, coop);
        else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS)
                on_revoked(s, rk, parts, ids, n, coop,
                           rd_kafka_assignment_lost(rk) != 0);
        else {
                /* Whatever went wrong, the partitions are not ours to
                 * commit for any more. */
                pd_log_error("kafka", "rebalance error=\"%s\"",
                             rd_kafka_err2str(err));
                on_revoked(s, rk, parts, ids, n, coop, true);
        }
        free(ids);
}

static int32_t partition_cnt(rd_kafka_t *rk, const char *topic)
{
        const rd_kafka_metadata_t *md;
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
        int32_t cnt           = -1;
        if (rd_kafka_metadata(rk, 0, rkt, &md, META_TIMEOUT_MS) == 0) {
                if (md->topic_cnt == 1 && !md->topics[0].err)
                        cnt = md->topics[0].partition_cnt;
                rd_kafka_metadata_destroy(md);
        }
        rd_kafka_topic_destroy(rkt);
        return cnt;
}

static pd_err_t check_topics(pd_session_t *s, char *errstr,
                             size_t errstr_size)
{
        const pd_config_t *c = s->conf;
        const char *copart[] = {c->topic_persona, c->topic_pstate};
        s->partitions        = partition_cnt(s->producer, c->topic_input);
        if (s->partitions <= 0) {
                snprintf(errstr, errstr_size,
                         "topic.input %s: not found or no partitions (create "
                         "the topics first)",
                         c->topic_input);
                return PD_ERR_CONFIG;
        }
        for (int i = 0; i < 2; i++) {
                int32_t n = partition_cnt(s->producer, copart[i]);
                if (n != s->partitions) {
                        snprintf(errstr, errstr_size,
                                 "changelog topic %s has %d partitions, input "
                                 "%s has %d: they must be equal",
                                 copart[i], n, c->topic_input, s->partitions);
                        return PD_ERR_CONFIG;
                }
        }
        for (int i = 0; i < TRACKED_MAX; i++) {
                s->tracked[i] = copart[i];
                s->written[i] = calloc((size_t)s->partitions, sizeof(int64_t));
                if (!s->written[i])
                        return PD_ERR_NOMEM;
        }
        return PD_OK;
}

static rd_kafka_t *client_new(pd_session_t *s, rd_kafka_type_t type,
                              const char *const *base, char *errstr,
                              size_t errstr_size)
{
        rd_kafka_conf_t *rconf =
            conf_new(s->conf->bootstrap_servers, NULL, errstr, errstr_size);
        if (!rconf)
                return NULL;
        for (int i = 0; base[i]; i += 2)
                if (conf_set(rconf, base[i], base[i + 1], errstr,
                             errstr_size))
                        goto fail;
        for (size_t i = 0; i < s->conf->kafka.n; i++)
                if (conf_set(rconf, s->conf->kafka.v[i].key,
                             s->conf->kafka.v[i].value, errstr, errstr_size))
                        goto fail;
        rd_kafka_conf_set_opaque(rconf, s);
        rd_kafka_conf_set_error_cb(rconf, error_cb);
        if (type == RD_KAFKA_PRODUCER)
                rd_kafka_conf_set_dr_msg_cb(rconf, session_dr_cb);
        else
                rd_kafka_conf_set_rebalance_cb(rconf, rebalance_cb);
        rd_kafka_t *rk = rd_kafka_new(type, rconf, errstr, errstr_size);
        if (rk)
                return rk;
fail:
        rd_kafka_conf_destroy(rconf);
        return NULL;
}

static pd_err_t txn_error(pd_session_t *s, rd_kafka_error_t *error,
                          const char *what, char *errstr, size_t errstr_size)
{
        pd_err_t err = rd_kafka_error_is_fatal(error) ? PD_ERR_FATAL
                       : rd_kafka_error_txn_requires_abort(error) ? PD_ERR_ABORT
                                                                  : PD_ERR_KAFKA;
        snprintf(errstr, errstr_size, "%s: %s: %s", what,
                 rd_kafka_error_name(error), rd_kafka_error_string(error));
        if (err == PD_ERR_FATAL)
                snprintf(s->fatal, sizeof(s->fatal), "%s", errstr);
        rd_kafka_error_destroy(error);
        return err;
}

static pd_err_t clients_new(pd_session_t *s, char *errstr, size_t errstr_size)
{
        const pd_config_t *c = s->conf;
        char txn_id[512];
        snprintf(txn_id, sizeof(txn_id), "%s-%s", c->group_id, c->instance_id);
        const char *pbase[] = {"transactional.id", txn_id,
                               "enable.idempotence", "true",
                               "partitioner", "murmur2_random",
                               "transaction.timeout.ms", "60000",
                               "linger.ms", "5", NULL};
        const char *cbase[] = {"group.id", c->group_id,
                               "enable.auto.commit", "false",
                               "enable.auto.offset.store", "false",
                               "isolation.level", "read_committed",
                               "auto.offset.reset", "earliest",
                               "enable.partition.eof", "false",
                               /* incremental rebalances: partitions that
                                * stay keep being processed and only the
                                * added ones are restored */
                               "partition.assignment.strategy",
                               "cooperative-sticky",
                               "group.instance.id",
                               c->static_membership ? c->instance_id : "",
                               NULL};
        if (!c->static_membership)
                cbase[14] = NULL;
        s->producer = client_new(s, RD_KAFKA_PRODUCER, pbase, errstr,
                                 errstr_size);
        if (!s->producer)
                return PD_ERR_CONFIG;
        pd_err_t err = check_topics(s, errstr, errstr_size);
        if (err)
                return err;
        rd_kafka_error_t *error =
            rd_kafka_init_transactions(s->producer, TXN_TIMEOUT_MS);
        if (error)
                return txn_error(s, error, "init_transactions", errstr,
                                 errstr_size);
        s->consumer = client_new(s, RD_KAFKA_CONSUMER, cbase, errstr,
                                 errstr_size);
        return s->consumer ? PD_OK : PD_ERR_CONFIG;
}

pd_err_t pd_session_new(const pd_config_t *conf, const pd_session_cbs_t *cbs,
                        pd_session_t **sessionp, char *errstr,
                        size_t errstr_size)
{
        pd_err_t err;
        pd_session_t *s = calloc(1, sizeof(*s));
        *sessionp       = NULL;
        if (!s)
                return PD_ERR_NOMEM;
        s->conf = conf;
        s->cbs  = *cbs;
        if ((err = clients_new(s, errstr, errstr_size)))
                goto out;
        rd_kafka_poll_set_consumer(s->consumer);
        rd_kafka_topic_partition_list_t *topics =
            rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(topics, conf->topic_input,
                                          RD_KAFKA_PARTITION_UA);
        rd_kafka_resp_err_t kerr = rd_kafka_subscribe(s->consumer, topics);
        rd_kafka_topic_partition_list_destroy(topics);
        if (kerr) {
                snprintf(errstr, errstr_size, "subscribe %s: %s",
                         conf->topic_input, rd_kafka_err2str(kerr));
                err = PD_ERR_KAFKA;
        }
out:
        if (err) {
                pd_session_destroy(s);
                s = NULL;
        }
        *sessionp = s;
        return err;
}

/* librdkafka before 2.3.0 asserts (abort) when a consumer with the
 * cooperative-sticky assignor that never received an assignment is
 * destroyed (confluentinc/librdkafka#4312, fixed by #4381): a worker
 * SIGTERMed while it (re)joins would die with SIGABRT.  So it waits, at
 * most 30 s, for the first assignment (taken paused and given back). */
static void wait_first_assignment(pd_session_t *s)
{
        char strategy[256];
        size_t size = sizeof(strategy);
        if (s->assigned_once || s->fatal[0] ||
            rd_kafka_version() >= 0x020300ff ||
            rd_kafka_conf_get(rd_kafka_conf(s->consumer),
                              "partition.assignment.strategy", strategy,
                              &size) != RD_KAFKA_CONF_OK ||
            !strstr(strategy, "cooperative-sticky"))
                return;
        pd_log_info("kafka",
                    "close_wait=first_assignment reason=\"librdkafka "
                    "%s asserts on closing before it\"",
                    rd_kafka_version_str());
        for (int t = 0; t < 300 && !s->assigned_once; t++) {
                rd_kafka_message_t *rkm =
                    rd_kafka_consumer_poll(s->consumer, 100);
                if (rkm)
                        rd_kafka_message_destroy(rkm); /* nothing commits */
        }
}

void pd_session_destroy(pd_session_t *s)
{
        char why[256];
        if (!s)
                return;
        if (s->in_txn && !s->fatal[0])
                pd_session_abort(s, why, sizeof(why));
        if (s->consumer) {
                s->closing = true;
                wait_first_assignment(s);
                /* Leaves the group promptly (revoke runs, LeaveGroup). */
                rd_kafka_consumer_close(s->consumer);
                rd_kafka_destroy(s->consumer);
        }
        if (s->producer) {
                rd_kafka_flush(s->producer, 5000);
                rd_kafka_destroy(s->producer);
        }
        for (int i = 0; i < TRACKED_MAX; i++)
                free(s->written[i]);
        free(s);
}

int32_t pd_session_partition_cnt(const pd_session_t *s)
{
        return s->partitions;
}

void pd_session_set_stop(pd_session_t *s, volatile sig_atomic_t *stop)
{
        s->stop = stop;
}

pd_err_t pd_session_poll(pd_session_t *s, int timeout_ms, pd_msg_t *msg,
                         char *errstr, size_t errstr_size)
{
        memset(msg, 0, sizeof(*msg));
        rd_kafka_message_t *rkm = rd_kafka_consumer_poll(s->consumer, timeout_ms);
        rd_kafka_poll(s->producer, 0);
        if (s->fatal[0]) {
                snprintf(errstr, errstr_size, "%s", s->fatal);
                if (rkm)
                        rd_kafka_message_destroy(rkm);
                return PD_ERR_FATAL;
        }
        if (!rkm)
                return PD_ERR_NOT_FOUND;
        if (rkm->err) {
                pd_log_warn("kafka", "consume error=\"%s\"",
                            rd_kafka_message_errstr(rkm));
                rd_kafka_message_destroy(rkm);
                return PD_ERR_NOT_FOUND;
        }
        msg->topic     = rd_kafka_topic_name(rkm->rkt);
        msg->partition = rkm->partition;
        msg->offset    = rkm->offset;
        msg->timestamp = rd_kafka_message_timestamp(rkm, NULL);
        msg->key       = rkm->key;
        msg->key_len   = rkm->key_len;
        msg->value     = rkm->payload;
        msg->len       = rkm->len;
        msg->rkm       = rkm;
        return PD_OK;
}

void pd_session_msg_release(pd_msg_t *msg)
{
        if (msg->rkm)
                rd_kafka_message_destroy(msg->rkm);
        memset(msg, 0, sizeof(*msg));
}

pd_err_t pd_session_begin(pd_session_t *s, char *errstr, size_t errstr_size)
{
        if (s->in_txn)
                return PD_OK;
        rd_kafka_error_t *error = rd_kafka_begin_transaction(s->producer);
        if (error)
                return txn_error(s, error, "begin_transaction", errstr,
                                 errstr_size);
        for (int i = 0; i < TRACKED_MAX; i++)
                for (int32_t p = 0; p < s->partitions; p++)
                        s->written[i][p] = -1;
        s->dr_err = RD_KAFKA_RESP_ERR_NO_ERROR;
        s->in_txn = true;
        return PD_OK;
}

bool pd_session_in_txn(const pd_session_t *s)
{
        return s->in_txn;
}

static rd_kafka_headers_t *headers_of(const pd_kvs_t *kvs)
{
        if (!kvs || !kvs->n)
                return NULL;
        rd_kafka_headers_t *hdrs = rd_kafka_headers_new(kvs->n);
        for (size_t i = 0; i < kvs->n; i++)
                rd_kafka_header_add(hdrs, kvs->v[i].key, -1, kvs->v[i].value,
                                    -1);
        return hdrs;
}

pd_err_t pd_session_produce(pd_session_t *s, const char *topic,
                            int32_t partition, const void *key,
                            size_t key_len, const void *value, size_t len,
                            const pd_kvs_t *headers, char *errstr,
                            size_t errstr_size)
{
        for (;;) {
                rd_kafka_headers_t *hdrs = headers_of(headers);
                rd_kafka_resp_err_t err  = rd_kafka_producev(
                    s->producer, RD_KAFKA_V_TOPIC(topic),
                    RD_KAFKA_V_PARTITION(partition < 0 ? RD_KAFKA_PARTITION_UA
                                                        : partition),
                    RD_KAFKA_V_KEY(key, key_len),
                    RD_KAFKA_V_VALUE((void *)value, len),
                    RD_KAFKA_V_HEADERS(hdrs),
                    RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
                if (!err)
                        return PD_OK;
                if (hdrs)
                        rd_kafka_headers_destroy(hdrs);
                if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
                        snprintf(errstr, errstr_size, "produce to %s: %s",
                                 topic, rd_kafka_err2str(err));
                        return err == RD_KAFKA_RESP_ERR__FATAL ? PD_ERR_FATAL
                                                               : PD_ERR_ABORT;
                }
                rd_kafka_poll(s->producer, 50);
        }
}

/* Seeks every assigned partition back to its committed offset, so an
 * aborted batch is consumed again. */
static pd_err_t rewind_consumer(pd_session_t *s, char *errstr,
                                size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *parts = NULL;
        rd_kafka_resp_err_t err = rd_kafka_assignment(s->consumer, &parts);
        pd_err_t ret            = PD_OK;
        if (!err && parts->cnt > 0)
                err = rd_kafka_committed(s->consumer, parts, TXN_TIMEOUT_MS);
        for (int i = 0; !err && i < parts->cnt; i++) {
                /* The state's offset first: the mock cluster keeps no
                 * transactional offset commits, and with a real broker
                 * the two are equal. */
                int64_t o = s->cbs.resume_offset
                                ? s->cbs.resume_offset(
                                      s->cbs.opaque, parts->elems[i].partition)
                                : -1;
                if (o >= 0)
                        parts->elems[i].offset = o;
                else if (parts->elems[i].offset < 0)
                        parts->elems[i].offset = RD_KAFKA_OFFSET_BEGINNING;
                pd_log_info("kafka", "partition=%d rewound_to=%lld",
                            (int)parts->elems[i].partition,
                            (long long)parts->elems[i].offset);
        }
        if (!err && parts->cnt > 0) {
                rd_kafka_error_t *error =
                    rd_kafka_seek_partitions(s->consumer, parts, -1);
                if (error) {
                        snprintf(errstr, errstr_size, "rewind: %s",
                                 rd_kafka_error_string(error));
                        rd_kafka_error_destroy(error);
                        ret = PD_ERR_KAFKA;
                }
        }
        if (err) {
                snprintf(errstr, errstr_size, "rewind: %s",
                         rd_kafka_err2str(err));
                ret = PD_ERR_KAFKA;
        }
        if (parts)
                rd_kafka_topic_partition_list_destroy(parts);
        return ret;
}

pd_err_t pd_session_abort(pd_session_t *s, char *errstr, size_t errstr_size)
{
        pd_err_t err = PD_OK;
        if (s->in_txn) {
                rd_kafka_error_t *error =
                    rd_kafka_abort_transaction(s->producer, TXN_TIMEOUT_MS);
                s->in_txn = false;
                if (error)
                        err = txn_error(s, error, "abort_transaction", errstr,
                                        errstr_size);
        }
        if (err == PD_ERR_FATAL)
                return err;
        pd_err_t rerr = rewind_consumer(s, errstr, errstr_size);
        return err ? err : rerr;
}

pd_err_t pd_session_flush(pd_session_t *s, char *errstr, size_t errstr_size)
{
        rd_kafka_resp_err_t err = rd_kafka_flush(s->producer, TXN_TIMEOUT_MS);
        if (!err && s->dr_err)
                err = s->dr_err;
        if (!err)
                return PD_OK;
        snprintf(errstr, errstr_size, "delivery: %s", rd_kafka_err2str(err));
        return s->fatal[0] ? PD_ERR_FATAL : PD_ERR_ABORT;
}

static pd_err_t send_offsets(pd_session_t *s, char *errstr,
                             size_t errstr_size)
{
        rd_kafka_topic_partition_list_t *parts = NULL;
        rd_kafka_error_t *error                = NULL;
        rd_kafka_resp_err_t kerr = rd_kafka_assignment(s->consumer, &parts);
        if (!kerr)
                kerr = rd_kafka_position(s->consumer, parts);
        if (kerr) {
                snprintf(errstr, errstr_size, "position: %s",
                         rd_kafka_err2str(kerr));
                if (parts)
                        rd_kafka_topic_partition_list_destroy(parts);
                return PD_ERR_ABORT;
        }
        rd_kafka_consumer_group_metadata_t *cgmd =
            rd_kafka_consumer_group_metadata(s->consumer);
        error = rd_kafka_send_offsets_to_transaction(s->producer, parts, cgmd,
                                                     TXN_TIMEOUT_MS);
        rd_kafka_consumer_group_metadata_destroy(cgmd);
        rd_kafka_topic_partition_list_destroy(parts);
        return error ? txn_error(s, error, "send_offsets_to_transaction",
                                 errstr, errstr_size)
                     : PD_OK;
}

pd_err_t pd_session_commit(pd_session_t *s, char *errstr, size_t errstr_size)
{
        char why[256];
        pd_err_t err = PD_OK;
        if (!s->in_txn)
                return PD_OK;
        for (int attempt = 0;; attempt++) {
                err = send_offsets(s, errstr, errstr_size);
                if (!err) {
                        rd_kafka_error_t *error = rd_kafka_commit_transaction(
                            s->producer, TXN_TIMEOUT_MS);
                        if (error)
                                err = txn_error(s, error,
                                                "commit_transaction", errstr,
                                                errstr_size);
                }
                /* Retriable (timeout, coordinator moving): the same call
                 * may be repeated. */
                if (err != PD_ERR_KAFKA || attempt >= 5)
                        break;
                pd_log_warn("kafka", "commit retry=%d error=\"%s\"",
                            attempt + 1, errstr);
        }
        if (!err) {
                rd_kafka_poll(s->producer, 0); /* serve remaining DRs */
                s->in_txn = false;
                return PD_OK;
        }
        if (err == PD_ERR_FATAL)
                return err;
        pd_log_warn("kafka", "commit failed, aborting error=\"%s\"", errstr);
        pd_err_t aerr = pd_session_abort(s, why, sizeof(why));
        return aerr == PD_ERR_FATAL ? aerr : PD_ERR_ABORT;
}

int64_t pd_session_written_offset(const pd_session_t *s, const char *topic,
                                  int32_t partition)
{
        for (int i = 0; i < TRACKED_MAX; i++)
                if (s->tracked[i] && !strcmp(s->tracked[i], topic) &&
                    partition >= 0 && partition < s->partitions)
                        return s->written[i][partition];
        return -1;
}

static rd_kafka_t *restore_consumer_new(pd_session_t *s, char *errstr,
                                        size_t errstr_size)
{
        char group[512];
        snprintf(group, sizeof(group), "%s-restore", s->conf->group_id);
        rd_kafka_conf_t *rconf =
            conf_new(s->conf->bootstrap_servers, &s->conf->kafka, errstr,
                     errstr_size);
        if (!rconf)
                return NULL;
        const char *base[] = {"group.id", group,
                              "enable.auto.commit", "false",
                              "isolation.level", "read_committed",
                              "enable.partition.eof", "true", NULL};
        for (int i = 0; base[i]; i += 2)
                if (conf_set(rconf, base[i], base[i + 1], errstr,
                             errstr_size)) {
                        rd_kafka_conf_destroy(rconf);
                        return NULL;
                }
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_CONSUMER, rconf, errstr,
                                      errstr_size);
        if (!rk)
                rd_kafka_conf_destroy(rconf);
        return rk;
}

typedef struct read_s {
        const char *const *topics;
        size_t n_topics;
        size_t topic_base; /* index of topics[0] in the caller's layout */
        const int32_t *parts;
        size_t n_parts;
        int64_t *next;
        bool *done;
        size_t n_done;
        volatile sig_atomic_t *stop; /* borrowed, or NULL */
        int64_t records;
} read_t;

/* Index of (topic, partition) in the read's layout, or -1. */
static long read_idx(const read_t *r, const char *topic, int32_t partition)
{
        for (size_t t = 0; t < r->n_topics; t++)
                if (!strcmp(r->topics[t], topic))
                        for (size_t i = 0; i < r->n_parts; i++)
                                if (r->parts[i] == partition)
                                        return (long)(t * r->n_parts + i);
        return -1;
}

/* The record's pd.txn header as a string in buf, or NULL. */
static const char *txn_of(rd_kafka_message_t *rkm, char *buf, size_t size)
{
        rd_kafka_headers_t *hdrs;
        const void *v;
        size_t len;
        if (rd_kafka_message_headers(rkm, &hdrs) ||
            rd_kafka_header_get_last(hdrs, "pd.txn", &v, &len) || !v ||
            len >= size)
                return NULL;
        memcpy(buf, v, len);
        buf[len] = '\0';
        return buf;
}

/* Consumes every assigned partition to its EOF. */
static pd_err_t read_to_eof(rd_kafka_t *rk, read_t *r,
                            pd_session_read_cb_t *cb, void *opaque,
                            char *errstr, size_t errstr_size)
{
        pd_err_t err = PD_OK;
        int idle_ms  = 0;
        size_t total = r->n_topics * r->n_parts;
        time_t t0 = time(NULL), logged = t0;
        while (!err && r->n_done < total) {
                if (r->stop && *r->stop) {
                        snprintf(errstr, errstr_size,
                                 "restore: stopped after %lld records",
                                 (long long)r->records);
                        err = PD_ERR_STOPPED;
                        break;
                }
                if (time(NULL) - logged >= 5) {
                        /* A long restore shows it is moving. */
                        logged = time(NULL);
                        pd_log_info("kafka",
                                    "restoring=true records=%lld seconds=%lld "
                                    "partitions_done=%zu of=%zu",
                                    (long long)r->records,
                                    (long long)(logged - t0), r->n_done, total);
                }
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
                if (!rkm) {
                        if ((idle_ms += 100) >= TXN_TIMEOUT_MS) {
                                snprintf(errstr, errstr_size,
                                         "restore: no progress in %d ms",
                                         idle_ms);
                                err = PD_ERR_KAFKA;
                        }
                        continue;
                }
                idle_ms = 0;
                long x  = rkm->rkt ? read_idx(r, rd_kafka_topic_name(rkm->rkt),
                                             rkm->partition)
                                   : -1;
                if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF && x >= 0) {
                        if (rkm->offset > r->next[x])
                                r->next[x] = rkm->offset;
                        if (!r->done[x]) {
                                r->done[x] = true;
                                r->n_done++;
                        }
                } else if (rkm->err) {
                        snprintf(errstr, errstr_size, "restore: %s",
                                 rd_kafka_message_errstr(rkm));
                        err = PD_ERR_KAFKA;
                } else if (x >= 0) {
                        char txn[128];
                        r->records++;
                        err = cb(opaque, r->topic_base + (size_t)x / r->n_parts,
                                 rkm->partition, rkm->key, rkm->key_len,
                                 rkm->payload, rkm->len, rkm->offset,
                                 txn_of(rkm, txn, sizeof(txn)));
                        r->next[x] = rkm->offset + 1;
                }
                rd_kafka_message_destroy(rkm);
        }
        return err;
}

pd_err_t pd_session_read_partitions(pd_session_t *s,
                                    const char *const *topics,
                                    size_t n_topics, const int32_t *parts,
                                    size_t n_parts, const int64_t *offsets,
                                    pd_session_read_cb_t *cb, void *opaque,
                                    int64_t *next_offsets, char *errstr,
                                    size_t errstr_size)
{
        read_t r = {.n_topics = 1,
                    .parts = parts,
                    .n_parts = n_parts,
                    .done = calloc(n_parts ? n_parts : 1, sizeof(bool)),
                    .stop = s->stop};
        rd_kafka_t *rk = r.done ? restore_consumer_new(s, errstr, errstr_size)
                                : NULL;
        pd_err_t err = PD_OK;
        if (!rk) {
                free(r.done);
                return PD_ERR_CONFIG;
        }
        /* One topic after the other: a caller may need everything of the
         * first before it can judge a record of the second. */
        for (size_t t = 0; !err && t < n_topics; t++) {
                rd_kafka_topic_partition_list_t *list =
                    rd_kafka_topic_partition_list_new((int)n_parts + 1);
                for (size_t i = 0; i < n_parts; i++) {
                        int64_t o = offsets[t * n_parts + i];
                        rd_kafka_topic_partition_list_add(list, topics[t],
                                                          parts[i])
                            ->offset = o >= 0 ? o : RD_KAFKA_OFFSET_BEGINNING;
                        next_offsets[t * n_parts + i] = o >= 0 ? o : 0;
                }
                rd_kafka_resp_err_t kerr = rd_kafka_assign(rk, list);
                rd_kafka_topic_partition_list_destroy(list);
                if (kerr) {
                        snprintf(errstr, errstr_size, "restore assign: %s",
                                 rd_kafka_err2str(kerr));
                        err = PD_ERR_KAFKA;
                        break;
                }
                r.topics = &topics[t];
                r.topic_base = t;
                r.next = &next_offsets[t * n_parts];
                memset(r.done, 0, (n_parts ? n_parts : 1) * sizeof(bool));
                r.n_done = 0;
                if (n_parts)
                        err = read_to_eof(rk, &r, cb, opaque, errstr,
                                          errstr_size);
        }
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        free(r.done);
        return err;
}

/* ---- reading a whole topic --------------------------------------------- */

/* The record's headers as NUL-terminated copies in arena. */
static void headers_copy(rd_kafka_message_t *rkm, pd_arena_t *arena,
                         pd_kvs_t *kvs)
{
        rd_kafka_headers_t *hdrs = NULL;
        const char *name;
        const void *val;
        size_t size;
        if (rd_kafka_message_headers(rkm, &hdrs) || !hdrs)
                return;
        for (size_t i = 0;
             !rd_kafka_header_get_all(hdrs, i, &name, &val, &size); i++)
                pd_kvs_add(kvs, arena, name,
                           val ? pd_arena_strndup(arena, val, size) : "");
}

/* One consumed message: a record for cb, an EOF or an error. */
static pd_err_t read_one(rd_kafka_message_t *rkm, const char *topic,
                         int32_t n, bool *eof, size_t *n_eof,
                         pd_kafka_record_cb_t *cb,
                         void *opaque, char *errstr, size_t errstr_size)
{
        pd_arena_t arena;
        pd_kvs_t headers = {0};
        pd_err_t err     = PD_OK;
        if (rkm->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
                if (rkm->partition >= 0 && rkm->partition < n &&
                    !eof[rkm->partition]) {
                        eof[rkm->partition] = true;
                        (*n_eof)++;
                }
                return PD_OK;
        }
        if (rkm->err) {
                snprintf(errstr, errstr_size, "read %s: %s", topic,
                         rd_kafka_message_errstr(rkm));
                return PD_ERR_KAFKA;
        }
        pd_arena_init(&arena);
        headers_copy(rkm, &arena, &headers);
        pd_kafka_record_t rec = {topic,        rkm->partition, rkm->offset,
                                 rkm->key,     rkm->key_len,   rkm->payload,
                                 rkm->len,     &headers};
        if (cb(opaque, &rec)) {
                snprintf(errstr, errstr_size, "read %s: stopped by caller",
                         topic);
                err = PD_ERR_INVALID;
        }
        pd_arena_term(&arena);
        return err;
}

pd_err_t pd_kafka_read_topic(const char *bootstrap, const char *topic,
                             pd_kafka_record_cb_t *cb, void *opaque,
                             char *errstr, size_t errstr_size)
{
        /* librdkafka wants a group.id even for assign(); this one never
         * joins (no subscribe) and never commits, so it is group-less in
         * effect and any name will do. */
        const char *base[] = {"group.id", "pd-read-topic",
                              "enable.auto.commit", "false",
                              "isolation.level", "read_committed",
                              "enable.partition.eof", "true", NULL};
        pd_err_t err = PD_OK;
        bool *eof    = NULL;
        size_t n_eof = 0;
        int idle_ms  = 0;
        rd_kafka_t *rk = NULL;
        rd_kafka_conf_t *rconf = conf_new(bootstrap, NULL, errstr, errstr_size);
        for (int i = 0; rconf && base[i]; i += 2)
                if (conf_set(rconf, base[i], base[i + 1], errstr,
                             errstr_size)) {
                        rd_kafka_conf_destroy(rconf);
                        rconf = NULL;
                }
        if (!rconf)
                return PD_ERR_CONFIG;
        if (!(rk = rd_kafka_new(RD_KAFKA_CONSUMER, rconf, errstr,
                                errstr_size))) {
                rd_kafka_conf_destroy(rconf);
                return PD_ERR_CONFIG;
        }
        int32_t n = partition_cnt(rk, topic);
        if (n <= 0 || !(eof = calloc((size_t)n, sizeof(bool)))) {
                snprintf(errstr, errstr_size, "read %s: unknown topic", topic);
                err = PD_ERR_KAFKA;
                goto out;
        }
        rd_kafka_topic_partition_list_t *list =
            rd_kafka_topic_partition_list_new(n);
        for (int32_t p = 0; p < n; p++)
                rd_kafka_topic_partition_list_add(list, topic, p)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
        rd_kafka_resp_err_t kerr = rd_kafka_assign(rk, list);
        rd_kafka_topic_partition_list_destroy(list);
        if (kerr) {
                snprintf(errstr, errstr_size, "read %s: assign: %s", topic,
                         rd_kafka_err2str(kerr));
                err = PD_ERR_KAFKA;
        }
        while (!err && n_eof < (size_t)n) {
                rd_kafka_message_t *rkm = rd_kafka_consumer_poll(rk, 100);
                if (!rkm) {
                        if ((idle_ms += 100) >= 30000) {
                                snprintf(errstr, errstr_size,
                                         "read %s: no progress in 30 s",
                                         topic);
                                err = PD_ERR_KAFKA;
                        }
                        continue;
                }
                idle_ms = 0;
                err = read_one(rkm, topic, n, eof, &n_eof, cb, opaque, errstr,
                               errstr_size);
                rd_kafka_message_destroy(rkm);
        }
out:
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
        free(eof);
        return err;
}
