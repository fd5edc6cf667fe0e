#include "worker.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uuid/uuid.h>

#include "buf.h"
#include "codec.h"
#include "engine.h"
#include "kafka.h"
#include "log.h"
#include "metrics.h"
#include "store.h"

struct pd_worker_s {
        const pd_config_t *conf;
        pd_codec_t *codec;
        pd_store_t *store;
        pd_session_t *session;
        pd_model_t *model;
        pd_catalog_t *catalog;
        pd_engine_conf_t econf;
        pd_engine_t eng;
        int32_t partitions;
        bool *assigned;
        size_t n_assigned;
        int64_t *resume;     /* [partition] input offset of the committed state,
                                -1 unknown: where an aborted batch restarts */
        int64_t assigned_ms; /* when the last assignment was restored */

        /* the open batch */
        bool open;
        pd_store_txn_t *txn;
        pd_arena_t arena;
        pd_pstate_t **pstates; /* [partition], loaded in this batch */
        bool *pstate_dirty;
        int32_t msgs;
        int64_t started_ms;
        pd_err_t failed; /* first error inside the batch */
        /* customers whose marker changed in the batch: their changelog
         * records are produced at commit, after the outputs */
        struct dirty_s {
                const char *customer;
                uint32_t hash;
                int32_t partition;
                pd_marker_t *marker; /* NULL: erased */
                const void *bytes;   /* encoded at commit (arena) */
                size_t len;
        } * dirty;
        size_t n_dirty, cap_dirty;
        pd_kvs_t headers; /* pd.txn: <incarnation>/<batch> on every record */
        char incarnation[37];
        int64_t batch_seq;

        /* model.rescore: customers (and partitions) whose marker was
         * scored by another model version, found at assignment; next is
         * the next to try, done what committed batches re-scored */
        char **rescore_ids;
        int32_t *rescore_parts;
        size_t n_rescore, rescore_next, rescore_done;

        pd_buf_t buf;
        pd_metrics_t metrics;
        char errstr[512];
};

static int64_t now_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- batch ------------------------------------------------------------- */

static void batch_reset(pd_worker_t *w)
{
        if (w->txn)
                pd_store_txn_abort(w->txn);
        w->txn = NULL;
        w->open = false;
        w->msgs = 0;
        w->rescore_next = w->rescore_done; /* an aborted batch re-does */
        w->failed = PD_OK;
        w->dirty = NULL;
        w->n_dirty = 0;
        w->cap_dirty = 0;
        w->headers.v = NULL;
        w->headers.n = 0;
        for (int32_t p = 0; p < w->partitions; p++) {
                w->pstates[p] = NULL;
                w->pstate_dirty[p] = false;
        }
        pd_arena_reset(&w->arena);
}

static pd_err_t batch_begin(pd_worker_t *w)
{
        char why[256];
        if (w->open)
                return PD_OK;
        pd_err_t err = pd_store_txn_begin(w->store, 0, &w->txn);
        if (!err)
                err = pd_session_begin(w->session, why, sizeof(why));
        if (err) {
                pd_log_error("worker", "batch_begin error=%s reason=\"%s\"",
                             pd_err_name(err),
                             err == PD_ERR_STORE ? "store" : why);
                batch_reset(w);
                return err;
        }
        w->open = true;
        w->started_ms = mono_ms();
        w->batch_seq++;
        pd_kvs_add(&w->headers, &w->arena, "pd.txn",
                   pd_arena_printf(&w->arena, "%s/%lld", w->incarnation,
                                   (long long)w->batch_seq));
        return PD_OK;
}

/* The partition's shared state, loaded once per batch. */
static pd_pstate_t *pstate_of(pd_worker_t *w, int32_t p)
{
        char why[256];
        if (w->pstates[p])
                return w->pstates[p];
        pd_pstate_t *ps = pd_arena_alloc(&w->arena, sizeof(*ps));
        if (!ps)
                return NULL;
        ps->partition = p;
        ps->input_offset = -1;
        if (!pd_store_pstate_get(w->txn, p, &w->buf) &&
            pd_codec_pstate_decode(w->codec, w->buf.data, w->buf.len, &w->arena,
                                   ps, why, sizeof(why))) {
                pd_log_error("worker", "partition=%d pstate_corrupt=\"%s\"", p,
                             why);
                return NULL;
        }
        ps->partition = p;
        w->pstates[p] = ps;
        return ps;
}

static int64_t clock_of(pd_worker_t *w, int32_t p)
{
        if (w->conf->clock == PD_CLOCK_WALL)
                return now_ms();
        pd_pstate_t *ps = pstate_of(w, p);
        return ps ? ps->stream_time : 0;
}

/* ---- producing --------------------------------------------------------- */

static pd_err_t produce(pd_worker_t *w, const char *topic, int32_t p,
                        const char *key, const void *val, size_t len,
                        const pd_kvs_t *headers)
{
        pd_err_t err =
            pd_session_produce(w->session, topic, p, key, key ? strlen(key) : 0,
                               val, len, headers, w->errstr, sizeof(w->errstr));
        if (err && !w->failed)
                w->failed = err;
        return err;
}

/* The input, byte for byte, with Kafka Connect's error headers. */
static void dead_letter(pd_worker_t *w, const pd_msg_t *msg, pd_dlq_class_t cls,
                        const char *why)
{
        char part[16], off[24];
        pd_kvs_t h = {0};
        snprintf(part, sizeof(part), "%d", msg->partition);
        snprintf(off, sizeof(off), "%lld", (long long)msg->offset);
        pd_kvs_add(&h, &w->arena, "__connect.errors.topic", msg->topic);
        pd_kvs_add(&h, &w->arena, "__connect.errors.partition", part);
        pd_kvs_add(&h, &w->arena, "__connect.errors.offset", off);
        pd_kvs_add(&h, &w->arena, "__connect.errors.stage",
                   cls == PD_DLQ_INVALID ? "VALUE_VALIDATION"
                                         : "VALUE_CONVERTER");
        pd_kvs_add(&h, &w->arena, "__connect.errors.exception.class.name",
                   pd_dlq_class_name(cls));
        pd_kvs_add(&h, &w->arena, "__connect.errors.exception.message", why);
        pd_session_produce(w->session, w->conf->topic_dlq, -1, msg->key,
                           msg->key_len, msg->value, msg->len, &h, w->errstr,
                           sizeof(w->errstr));
        w->metrics.dead_lettered++;
        w->metrics.dlq_by_class[cls]++;
        pd_log_warn("worker",
                    "dead_letter=true class=%s partition=%d offset=%lld "
                    "reason=\"%s\"",
                    pd_dlq_class_name(cls), msg->partition,
                    (long long)msg->offset, why);
}

static void count_action(pd_worker_t *w, const pd_action_t *a)
{
        w->metrics.actions[a->kind]++;
        if (a->kind != PD_ACT_SEND_SURVEY)
                return;
        const char *slot = pd_kvs_get(&a->params, "slot");
        if (slot && !strcmp(slot, "0"))
                w->metrics.surveys_close++;
        else
                w->metrics.surveys_six_monthly++;
        if (pd_kvs_get(&a->params, "deferred_from"))
                w->metrics.surveys_deferred++;
}

static void emit_outputs(pd_worker_t *w, const char *customer,
                         const pd_outputs_t *out)
{
        for (size_t i = 0; i < out->n_plans && !w->failed; i++) {
                if (pd_codec_plan_encode(w->codec, &out->plans[i], &w->buf))
                        w->failed = PD_ERR_FATAL;
                else if (!produce(w, w->conf->topic_plans, -1, customer,
                                  w->buf.data, w->buf.len, &w->headers))
                        w->metrics.plans++;
        }
        for (size_t i = 0; i < out->n_actions && !w->failed; i++) {
                if (pd_codec_action_encode(w->codec, &out->actions[i], &w->buf))
                        w->failed = PD_ERR_FATAL;
                else if (!produce(w, w->conf->topic_actions, -1, customer,
                                  w->buf.data, w->buf.len, &w->headers))
                        count_action(w, &out->actions[i]);
        }
}

/* ---- markers of the batch ------------------------------------------------
 * A customer's marker is decoded from the store once per batch, kept
 * decoded while the batch changes it, and encoded once at commit: the real
 * exports have customers with dozens of events per batch. */

static uint32_t hash_of(const char *s)
{
        uint32_t h = 2166136261u; /* FNV-1a */
        while (*s)
                h = (h ^ (unsigned char)*s++) * 16777619u;
        return h;
}

static struct dirty_s *dirty_find(pd_worker_t *w, const char *customer)
{
        uint32_t h = hash_of(customer);
        for (size_t i = 0; i < w->n_dirty; i++)
                if (w->dirty[i].hash == h &&
                    !strcmp(w->dirty[i].customer, customer))
                        return &w->dirty[i];
        return NULL;
}

static struct dirty_s *dirty_add(pd_worker_t *w, int32_t p,
                                 const char *customer)
{
        struct dirty_s *d = dirty_find(w, customer);
        if (d)
                return d;
        d = pd_arena_grow(&w->arena, w->dirty, w->n_dirty, &w->cap_dirty,
                          sizeof(*d));
        if (!d)
                return NULL;
        w->dirty = d;
        d = &w->dirty[w->n_dirty++];
        d->customer = pd_arena_strdup(&w->arena, customer);
        d->hash = hash_of(customer);
        d->partition = p;
        d->marker = NULL;
        d->bytes = NULL;
        d->len = 0;
        return d;
}

/* Keeps m (copied into the batch) as the customer's marker and moves its
 * timer in the store's index now, so timers fired later in the batch see
 * it; the marker bytes reach the store and the changelog at commit. */
static void save_marker(pd_worker_t *w, int32_t p, const pd_marker_t *m)
{
        struct dirty_s *d = dirty_add(w, p, m->customer_id);
        pd_marker_t *copy = d ? d->marker : NULL;
        if (d && !copy)
                copy = pd_arena_alloc(&w->arena, sizeof(*copy));
        if (!copy) {
                w->failed = PD_ERR_NOMEM;
                return;
        }
        *copy = *m;
        copy->partition = p;
        d->marker = copy;
        pd_err_t err = pd_store_timer_move(w->txn, m->customer_id, p,
                                           pd_engine_next_timer(&w->eng, m));
        if (err && !w->failed)
                w->failed = err;
}

static void erase_marker(pd_worker_t *w, int32_t p, const char *customer)
{
        struct dirty_s *d = dirty_add(w, p, customer);
        if (!d) {
                w->failed = PD_ERR_NOMEM;
                return;
        }
        d->marker = NULL;
        pd_err_t err = pd_store_timer_move(w->txn, customer, p, 0);
        if (err && !w->failed)
                w->failed = err;
        w->metrics.erased++;
}

/* Writes every marker changed in the batch to the store, keeping the
 * encoded bytes for its changelog record.  All store writes of a batch
 * happen before any changelog record is produced, so a full map
 * (MDB_MAP_FULL) stops the batch before a single marker or partition
 * state reaches the changelogs, even on a broker that does not hide
 * aborted transactions. */
static void store_markers(pd_worker_t *w)
{
        for (size_t i = 0; i < w->n_dirty && !w->failed; i++) {
                struct dirty_s *d = &w->dirty[i];
                pd_err_t err;
                if (!d->marker) {
                        err = pd_store_marker_del(w->txn, d->customer);
                } else if (pd_codec_marker_encode(w->codec, d->marker,
                                                  &w->buf)) {
                        snprintf(w->errstr, sizeof(w->errstr),
                                 "cannot encode the marker of a customer");
                        err = PD_ERR_FATAL;
                } else {
                        void *copy = pd_arena_alloc(&w->arena, w->buf.len);
                        err = copy ? PD_OK : PD_ERR_NOMEM;
                        if (!err) {
                                memcpy(copy, w->buf.data, w->buf.len);
                                d->bytes = copy;
                                d->len = w->buf.len;
                                err = pd_store_marker_put(
                                    w->txn, d->customer, copy, d->len,
                                    d->partition,
                                    pd_engine_next_timer(&w->eng, d->marker));
                        }
                        w->metrics.markers_written++;
                }
                if (err && !w->failed)
                        w->failed = err;
        }
}

/* One changelog record per customer changed in the batch: its latest
 * marker, or a tombstone when it was erased (the store has the same, see
 * store_markers).  Produced after the outputs are delivered, so that even
 * on a broker that does not hide aborted transactions (the mock cluster)
 * a visible marker implies its outputs are visible: a replay after a
 * crash then finds the event ids applied and emits nothing twice, and no
 * output is missing. */
static void produce_markers(pd_worker_t *w)
{
        for (size_t i = 0; i < w->n_dirty && !w->failed; i++) {
                const struct dirty_s *d = &w->dirty[i];
                produce(w, w->conf->topic_persona, d->partition, d->customer,
                        d->marker ? d->bytes : NULL, d->marker ? d->len : 0,
                        &w->headers);
        }
}

/* Loads the marker (the batch's copy first); *m zeroed when the customer is
 * new or erased. */
static pd_err_t load_marker(pd_worker_t *w, const char *customer,
                            pd_marker_t *m)
{
        char why[256];
        struct dirty_s *d = dirty_find(w, customer);
        memset(m, 0, sizeof(*m));
        if (d) {
                if (d->marker)
                        *m = *d->marker;
                return PD_OK;
        }
        pd_err_t err = pd_store_marker_get(w->txn, customer, &w->buf);
        if (err == PD_ERR_NOT_FOUND)
                return PD_OK;
        if (!err && pd_codec_marker_decode(w->codec, w->buf.data, w->buf.len,
                                           &w->arena, m, why, sizeof(why))) {
                snprintf(w->errstr, sizeof(w->errstr),
                         "store: marker of a customer is corrupt: %s", why);
                err = PD_ERR_STORE;
        }
        return err;
}

/* model.rescore: a marker of another model version is re-scored before
 * anything else touches it, inside the batch (its persona_changed action
 * and its marker commit together).  Sets *rescored. */
static pd_err_t rescore_marker(pd_worker_t *w, pd_marker_t *m,
                               pd_outputs_t *out, bool *rescored)
{
        *rescored = false;
        if (!w->conf->model_rescore || !m->customer_id)
                return PD_OK;
        pd_err_t err = pd_engine_rescore(&w->eng, m, &w->arena, out, rescored);
        if (*rescored)
                w->metrics.rescored++;
        return err;
}

static bool key_matches(const pd_msg_t *msg, const char *customer)
{
        return msg->key && msg->key_len == strlen(customer) &&
               !memcmp(msg->key, customer, msg->key_len);
}

/* ---- input ------------------------------------------------------------- */

/* Returns true when the event reached the engine (which may have moved
 * the partition's stream time), false when it was dead-lettered or the
 * batch failed. */
static size_t fire_partition(pd_worker_t *w, int32_t p, size_t budget);
static pd_err_t grow_store(pd_worker_t *w);
static pd_err_t restore_assigned(pd_worker_t *w);

static bool handle(pd_worker_t *w, const pd_msg_t *msg)
{
        char why[512];
        pd_event_t ev;
        pd_marker_t m;
        pd_outputs_t out = {0};
        pd_apply_result_t r = PD_APPLY_CHANGED;
        int32_t p = msg->partition;
        if (msg->len > (size_t)w->conf->max_message_bytes) {
                snprintf(why, sizeof(why),
                         "oversized: %zu bytes, limit message.max.bytes=%d",
                         msg->len, w->conf->max_message_bytes);
                dead_letter(w, msg, PD_DLQ_OVERSIZED, why);
                return false;
        }
        pd_err_t err = pd_codec_event_decode(w->codec, msg->value, msg->len,
                                             &w->arena, &ev, why, sizeof(why));
        if (err) {
                dead_letter(
                    w, msg,
                    err == PD_ERR_DECODE ? PD_DLQ_DECODE : PD_DLQ_INVALID, why);
                return false;
        }
        if (!key_matches(msg, ev.customer_id)) {
                dead_letter(w, msg, PD_DLQ_KEY,
                            msg->key ? "key: differs from customer_id (events "
                                       "must be keyed by customer_id)"
                                     : "key: missing (events must be keyed "
                                       "by customer_id)");
                return false;
        }
        pd_pstate_t *ps = pstate_of(w, p);
        if (ps && w->conf->clock == PD_CLOCK_EVENT &&
            ev.occurred_at > ps->stream_time) {
                /* Event time: what was due before this event happened
                 * fires before it is applied (a close must not swallow
                 * the milestones that fell due before it). */
                ps->stream_time = ev.occurred_at;
                fire_partition(w, p, (size_t)w->conf->timer_batch_max);
        }
        bool rescored = false;
        if (!ps || (err = load_marker(w, ev.customer_id, &m)) ||
            (err = rescore_marker(w, &m, &out, &rescored))) {
                w->failed = err ? err : PD_ERR_STORE;
                return false;
        }
        err = pd_engine_apply(&w->eng, &m, ps, &ev, &w->arena, &out, &r, why,
                              sizeof(why));
        if (err == PD_ERR_INVALID) {
                dead_letter(w, msg, PD_DLQ_INVALID, why);
                return false;
        }
        if (err) {
                w->failed = err;
                snprintf(w->errstr, sizeof(w->errstr), "apply: %.400s", why);
                return false;
        }
        if (r == PD_APPLY_DUPLICATE) {
                w->metrics.duplicates++;
                if (rescored) {
                        save_marker(w, p, &m);
                        emit_outputs(w, ev.customer_id, &out);
                }
                return true;
        }
        if (r == PD_APPLY_DUPLICATE_DEAL) {
                w->metrics.duplicate_deals++;
                pd_log_info("worker",
                            "duplicate_deal=true partition=%d offset=%lld", p,
                            (long long)msg->offset);
                return true;
        }
        w->metrics.applied++;
        w->metrics.events_by_kind[ev.kind]++;
        if (r == PD_APPLY_ERASED)
                erase_marker(w, p, ev.customer_id);
        else
                save_marker(w, p, &m);
        emit_outputs(w, ev.customer_id, &out);
        return true;
}

/* Every consumed record, whatever its fate, moves its partition's state
 * to the next offset: the state records how far the input is reflected. */
static bool process(pd_worker_t *w, const pd_msg_t *msg)
{
        pd_pstate_t *ps = pstate_of(w, msg->partition);
        if (!ps) {
                w->failed = PD_ERR_STORE;
                return false;
        }
        w->metrics.consumed++;
        bool applied = handle(w, msg);
        ps->input_offset = msg->offset + 1;
        w->pstate_dirty[msg->partition] = true;
        return applied;
}

/* ---- timers ------------------------------------------------------------ */

typedef struct fire_ctx_s {
        pd_worker_t *w;
        int32_t partition;
        int64_t now;
} fire_ctx_t;

static int fire_one(const char *customer, int64_t due, void *opaque)
{
        fire_ctx_t *c = opaque;
        pd_worker_t *w = c->w;
        pd_outputs_t out = {0};
        pd_marker_t m;
        pd_pstate_t *ps = pstate_of(w, c->partition);
        bool rescored = false;
        pd_err_t err = ps ? load_marker(w, customer, &m) : PD_ERR_STORE;
        if (!err)
                err = rescore_marker(w, &m, &out, &rescored);
        if (err || !m.customer_id) {
                w->failed = err ? err : PD_ERR_STORE;
                return -1;
        }
        pd_engine_fire(&w->eng, &m, ps, c->now, &w->arena, &out);
        if (pd_engine_next_timer(&w->eng, &m) &&
            pd_engine_next_timer(&w->eng, &m) <= c->now) {
                /* A rule that does not move its timer would spin forever. */
                pd_log_error("worker", "timer_stuck=true partition=%d due=%lld",
                             c->partition, (long long)due);
                w->failed = PD_ERR_FATAL;
                snprintf(w->errstr, sizeof(w->errstr),
                         "timer of a customer did not advance");
                return -1;
        }
        w->pstate_dirty[c->partition] = true;
        w->metrics.timers_fired++;
        save_marker(w, c->partition, &m);
        emit_outputs(w, customer, &out);
        return w->failed ? -1 : 0;
}

/* Fires up to budget due timers of partition p; returns how many. */
static size_t fire_partition(pd_worker_t *w, int32_t p, size_t budget)
{
        fire_ctx_t c = {w, p, clock_of(w, p)};
        size_t n = 0;
        pd_err_t err =
            pd_store_timers_due(w->txn, p, c.now, budget, fire_one, &c, &n);
        if (err && !w->failed)
                w->failed = err;
        return n;
}

/* Fires due timers of every assigned partition, at most timers.batch.max
 * per batch so a burst cannot starve input. */
static size_t fire_timers(pd_worker_t *w)
{
        size_t budget = (size_t)w->conf->timer_batch_max, total = 0;
        for (int32_t p = 0; p < w->partitions && budget && !w->failed; p++) {
                if (!w->assigned[p])
                        continue;
                size_t n = fire_partition(w, p, budget);
                budget -= n;
                total += n;
        }
        return total;
}

/* Milliseconds until the earliest timer of an assigned partition is due,
 * at most cap; 0 when one is due now (read-only look).  On the event clock
 * a timer in the future waits for a record, not for time: cap. */
static int64_t timer_wait_ms(pd_worker_t *w, int64_t cap)
{
        pd_store_txn_t *txn;
        int64_t wait = cap;
        if (pd_store_txn_begin(w->store, 1, &txn))
                return cap;
        for (int32_t p = 0; p < w->partitions && wait > 0; p++) {
                if (!w->assigned[p])
                        continue;
                int64_t next = pd_store_timer_next(txn, p);
                if (!next)
                        continue;
                int64_t now = now_ms();
                if (w->conf->clock == PD_CLOCK_EVENT) {
                        pd_buf_t b;
                        pd_pstate_t ps = {0};
                        pd_arena_t a;
                        pd_buf_init(&b);
                        pd_arena_init(&a);
                        now = 0;
                        if (!pd_store_pstate_get(txn, p, &b) &&
                            !pd_codec_pstate_decode(w->codec, b.data, b.len, &a,
                                                    &ps, NULL, 0))
                                now = ps.stream_time;
                        pd_buf_term(&b);
                        pd_arena_term(&a);
                }
                if (next <= now)
                        wait = 0;
                else if (w->conf->clock == PD_CLOCK_WALL && next - now < wait)
                        wait = next - now;
        }
        pd_store_txn_abort(txn);
        return wait;
}

/* ---- re-score sweep (model.rescore) ------------------------------------ */

static void rescore_clear(pd_worker_t *w)
{
        for (size_t i = 0; i < w->n_rescore; i++)
                free(w->rescore_ids[i]);
        free(w->rescore_ids);
        free(w->rescore_parts);
        w->rescore_ids = NULL;
        w->rescore_parts = NULL;
        w->n_rescore = w->rescore_next = w->rescore_done = 0;
}

typedef struct scan_ctx_s {
        pd_worker_t *w;
        pd_arena_t arena;
        size_t cap;
        pd_err_t err;
} scan_ctx_t;

static int scan_one(const char *customer, const void *bytes, size_t len,
                    void *opaque)
{
        scan_ctx_t *c = opaque;
        pd_worker_t *w = c->w;
        pd_marker_t m;
        pd_arena_reset(&c->arena);
        if (pd_codec_marker_decode(w->codec, bytes, len, &c->arena, &m, NULL,
                                   0) ||
            m.model_version == pd_model_version(w->model) || m.partition < 0 ||
            m.partition >= w->partitions || !w->assigned[m.partition])
                return 0; /* unknown partition: re-scored when touched */
        if (w->n_rescore == c->cap) {
                size_t cap = c->cap ? 2 * c->cap : 256;
                char **ids = realloc(w->rescore_ids, cap * sizeof(*ids));
                if (ids)
                        w->rescore_ids = ids;
                int32_t *ps = realloc(w->rescore_parts, cap * sizeof(*ps));
                if (ps)
                        w->rescore_parts = ps;
                if (!ids || !ps) {
                        c->err = PD_ERR_NOMEM;
                        return 1;
                }
                c->cap = cap;
        }
        if (!(w->rescore_ids[w->n_rescore] = strdup(customer))) {
                c->err = PD_ERR_NOMEM;
                return 1;
        }
        w->rescore_parts[w->n_rescore++] = m.partition;
        return 0;
}

/* After an assignment: the markers of assigned partitions that another
 * model version scored. */
static pd_err_t rescore_scan(pd_worker_t *w)
{
        scan_ctx_t c = {.w = w};
        pd_store_txn_t *txn;
        pd_err_t err;
        rescore_clear(w);
        if (!w->conf->model_rescore)
                return PD_OK;
        if ((err = pd_store_txn_begin(w->store, 1, &txn)))
                return err;
        pd_arena_init(&c.arena);
        err = pd_store_markers_foreach(txn, scan_one, &c);
        pd_store_txn_abort(txn);
        pd_arena_term(&c.arena);
        if (!err)
                err = c.err;
        pd_log_info("worker", "rescore_pending=%zu model_version=%d",
                    w->n_rescore, (int)pd_model_version(w->model));
        return err;
}

/* Re-scores up to timers.batch.max pending markers in the open batch. */
static void rescore_some(pd_worker_t *w)
{
        size_t budget = (size_t)w->conf->timer_batch_max;
        while (budget && w->rescore_next < w->n_rescore && !w->failed) {
                const char *customer = w->rescore_ids[w->rescore_next];
                int32_t p = w->rescore_parts[w->rescore_next++];
                pd_outputs_t out = {0};
                pd_marker_t m;
                bool rescored = false;
                pd_err_t err;
                if (!w->assigned[p])
                        continue;
                err = load_marker(w, customer, &m);
                if (!err)
                        err = rescore_marker(w, &m, &out, &rescored);
                if (err) {
                        w->failed = err;
                        return;
                }
                if (!rescored)
                        continue; /* erased, or re-scored by its events */
                /* Every transaction writing a marker writes its
                 * partition's state too (restore relies on it). */
                if (!pstate_of(w, p)) {
                        w->failed = PD_ERR_STORE;
                        return;
                }
                w->pstate_dirty[p] = true;
                save_marker(w, p, &m);
                emit_outputs(w, customer, &out);
                w->msgs++;
                budget--;
        }
}

/* ---- commit ------------------------------------------------------------ */

/* Writes (produce_them false) or produces (true) the partition states of
 * the batch; the store side comes first, with the markers. */
static void save_pstates(pd_worker_t *w, bool produce_them)
{
        char key[16];
        for (int32_t p = 0; p < w->partitions && !w->failed; p++) {
                if (!w->pstate_dirty[p] || !w->pstates[p])
                        continue;
                snprintf(key, sizeof(key), "%d", p);
                if (pd_codec_pstate_encode(w->codec, w->pstates[p], &w->buf)) {
                        w->failed = PD_ERR_FATAL;
                        return;
                }
                pd_err_t err =
                    produce_them ? produce(w, w->conf->topic_pstate, p, key,
                                           w->buf.data, w->buf.len, &w->headers)
                                 : pd_store_pstate_put(w->txn, p, w->buf.data,
                                                       w->buf.len);
                if (err && !w->failed)
                        w->failed = err;
        }
}

/* Records how far the changelogs are applied, then commits the store. */
static pd_err_t store_commit(pd_worker_t *w)
{
        const char *topics[] = {w->conf->topic_persona, w->conf->topic_pstate};
        pd_err_t err = PD_OK;
        for (int t = 0; t < 2 && !err; t++)
                for (int32_t p = 0; p < w->partitions && !err; p++) {
                        int64_t off =
                            pd_session_written_offset(w->session, topics[t], p);
                        if (off >= 0)
                                err = pd_store_offset_put(w->txn, topics[t], p,
                                                          off);
                }
        if (!err)
                err = pd_store_txn_commit(w->txn);
        else
                pd_store_txn_abort(w->txn);
        w->txn = NULL;
        return err;
}

/* Doubles the store's map, or stops the worker when that would pass
 * store.map.max.  No transaction may be open. */
static pd_err_t grow_store(pd_worker_t *w)
{
        int64_t size = pd_store_map_size(w->store);
        int64_t max = w->conf->store_map_max;
        if (max && size > max / 2) {
                snprintf(w->errstr, sizeof(w->errstr),
                         "store full: the LMDB map (%lld bytes) cannot double "
                         "within store.map.max=%lld; nothing of the failed "
                         "batch was committed; raise store.map.max and "
                         "restart",
                         (long long)size, (long long)max);
                pd_log_error("worker",
                             "store_full=true map_size=%lld "
                             "store.map.max=%lld",
                             (long long)size, (long long)max);
                return PD_ERR_FATAL;
        }
        return pd_store_grow(w->store, w->errstr, sizeof(w->errstr))
                   ? PD_ERR_FATAL
                   : PD_OK;
}

/* Aborts everything of the batch; the session rewinds the consumer to
 * where each partition's committed state ends (resume_offset: the
 * committed offsets on a real broker; the mock cluster keeps none, and a
 * rewind to the beginning would replay erased customers' events past the
 * de-duplication window). */
static pd_err_t batch_abort(pd_worker_t *w, const char *why)
{
        char aerr[256];
        pd_log_warn("worker",
                    "batch_abort=true txn=%s/%lld messages=%d reason=\"%s\"",
                    w->incarnation, (long long)w->batch_seq, w->msgs, why);
        batch_reset(w);
        pd_err_t err = pd_session_abort(w->session, aerr, sizeof(aerr));
        w->metrics.aborts++;
        if (err == PD_ERR_FATAL)
                snprintf(w->errstr, sizeof(w->errstr), "%s", aerr);
        return err == PD_ERR_FATAL ? err : PD_OK;
}

static pd_err_t batch_commit(pd_worker_t *w)
{
        char why[512];
        if (!w->open)
                return PD_OK;
        fire_timers(w);
        /* The store first (a full map stops the batch here), then the
         * outputs, the markers that record them and the partition states
         * that record the input offsets (see produce_markers). */
        store_markers(w);
        save_pstates(w, false);
        if (w->failed == PD_ERR_STORE_FULL) {
                /* No offset commits for what was not stored. */
                pd_err_t err = batch_abort(w, "store map full");
                return err ? err : grow_store(w);
        }
        if (!w->failed)
                w->failed =
                    pd_session_flush(w->session, w->errstr, sizeof(w->errstr));
        produce_markers(w);
        if (!w->failed)
                w->failed =
                    pd_session_flush(w->session, w->errstr, sizeof(w->errstr));
        save_pstates(w, true);
        if (w->failed) {
                pd_err_class_t cls = pd_err_class(w->failed);
                if (cls == PD_ERR_CLASS_RETRIABLE)
                        return batch_abort(w, w->errstr);
                pd_session_abort(w->session, why, sizeof(why));
                batch_reset(w);
                return PD_ERR_FATAL;
        }
        pd_err_t err = pd_session_commit(w->session, why, sizeof(why));
        if (err == PD_ERR_ABORT || err == PD_ERR_KAFKA) {
                pd_log_warn("worker", "commit_aborted=true reason=\"%s\"", why);
                /* the session aborted and rewound the consumer */
                batch_reset(w);
                w->metrics.aborts++;
                return PD_OK;
        }
        if (err) {
                snprintf(w->errstr, sizeof(w->errstr), "%s", why);
                batch_reset(w);
                return PD_ERR_FATAL;
        }
        w->metrics.commits++;
        pd_log_debug("worker", "committed txn=%s/%lld messages=%d",
                     w->incarnation, (long long)w->batch_seq, w->msgs);
        w->rescore_done = w->rescore_next;
        for (int32_t p = 0; p < w->partitions; p++)
                if (w->pstate_dirty[p] && w->pstates[p])
                        w->resume[p] = w->pstates[p]->input_offset;
        err = store_commit(w);
        batch_reset(w);
        if (err == PD_ERR_STORE_FULL) {
                /* Kafka has the batch: its changelog records bring the
                 * store up to date, as a restart would. */
                pd_log_warn("worker",
                            "store_full_after_commit=true txn=%s/%lld "
                            "restore=true",
                            w->incarnation, (long long)w->batch_seq);
                if ((err = grow_store(w)))
                        return err; /* errstr names store.map.max */
                err = restore_assigned(w);
        }
        if (err) {
                /* Kafka has the batch; the store catches up from the
                 * changelog at the next start. */
                snprintf(w->errstr, sizeof(w->errstr),
                         "store commit failed after the Kafka commit (%s); "
                         "restart restores from the changelog",
                         pd_err_name(err));
                return PD_ERR_FATAL;
        }
        return PD_OK;
}

/* ---- restore ----------------------------------------------------------- */

typedef struct restore_ctx_s {
        pd_worker_t *w;
        pd_store_txn_t *txn;
        int64_t records;
        int64_t unfinished; /* changelog records skipped, see restore() */
        pd_arena_t arena;   /* one marker */
        /* "<partition>/<pd.txn>" of every partition state read: the
         * transactions that produced everything (sorted before the first
         * marker record) */
        pd_arena_t done_arena;
        const char **done;
        size_t n_done, cap_done;
        bool sorted;
} restore_ctx_t;

static int cmp_str(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static pd_err_t finished_add(restore_ctx_t *c, int32_t p, const char *txn)
{
        const char **v = pd_arena_grow(&c->done_arena, c->done, c->n_done,
                                       &c->cap_done, sizeof(*v));
        const char *key = pd_arena_printf(&c->done_arena, "%d/%s", p, txn);
        if (!v || !key)
                return PD_ERR_NOMEM;
        c->done = v;
        c->done[c->n_done++] = key;
        c->sorted = false;
        return PD_OK;
}

/* Transaction txn produced partition p's state (its last record). */
static bool finished(restore_ctx_t *c, int32_t p, const char *txn)
{
        char key[192];
        const char *k = key;
        if (!c->sorted) {
                if (c->n_done)
                        qsort(c->done, c->n_done, sizeof(*c->done), cmp_str);
                c->sorted = true;
        }
        snprintf(key, sizeof(key), "%d/%s", p, txn);
        return c->n_done &&
               bsearch(&k, c->done, c->n_done, sizeof(*c->done), cmp_str);
}

static pd_err_t restore_marker(restore_ctx_t *c, int32_t p,
                               const char *customer, const void *value,
                               size_t len, int64_t offset)
{
        char why[256];
        pd_marker_t m;
        if (!value)
                return pd_store_marker_del(c->txn, customer);
        pd_arena_reset(&c->arena);
        if (pd_codec_marker_decode(c->w->codec, value, len, &c->arena, &m, why,
                                   sizeof(why))) {
                pd_log_error("worker",
                             "restore_skip=true partition=%d offset=%lld "
                             "reason=\"%s\"",
                             p, (long long)offset, why);
                return PD_OK;
        }
        return pd_store_marker_put(c->txn, customer, value, len, p,
                                   pd_engine_next_timer(&c->w->eng, &m));
}

/* topic_idx 0: partition state (read first), 1: the persona changelog. */
static pd_err_t restore_record(void *opaque, size_t topic_idx, int32_t p,
                               const void *key, size_t key_len,
                               const void *value, size_t len, int64_t offset,
                               const char *txn)
{
        restore_ctx_t *c = opaque;
        char customer[512];
        c->records++;
        if (topic_idx == 0) {
                pd_err_t err = txn ? finished_add(c, p, txn) : PD_OK;
                return err     ? err
                       : value ? pd_store_pstate_put(c->txn, p, value, len)
                               : PD_OK;
        }
        if (txn && c->w->conf->restore_skip_unfinished &&
            !finished(c, p, txn)) {
                c->unfinished++;
                return PD_OK;
        }
        if (!key || key_len == 0 || key_len >= sizeof(customer))
                return PD_OK; /* unkeyed: no customer to restore */
        memcpy(customer, key, key_len);
        customer[key_len] = '\0';
        return restore_marker(c, p, customer, value, len, offset);
}

/* Catches the partitions up from their changelogs, from the store's
 * recorded offsets (or the beginning) to the end, in one store
 * transaction, before any of their input is processed.
 *
 * The partition states first: every transaction produces a partition's
 * state last, after all its marker records (see batch_commit), so a
 * marker record whose transaction left no state record on its partition
 * belongs to a transaction that stopped half-way (a worker killed between
 * the two).  A broker hides such records from read_committed readers
 * once the transaction is aborted; the embedded broker (librdkafka's mock
 * cluster) shows them.  Applied, a tombstone of such a transaction would
 * make the replay of its input re-create an erased customer from the
 * events before the erasure, so with restore.skip.unfinished (set for
 * the embedded broker) they are skipped (records without a pd.txn header,
 * written by other tools, are applied).  Kafka needs no such rule, and
 * there it would be wrong: compaction keeps only a partition's latest
 * state, so a full restore would skip finished transactions. */
static pd_err_t restore(pd_worker_t *w, const int32_t *parts, size_t n)
{
        const char *topics[] = {w->conf->topic_pstate, w->conf->topic_persona};
        restore_ctx_t c = {.w = w};
        int64_t t0 = mono_ms();
        int64_t *from = calloc(2 * n + 1, sizeof(int64_t));
        int64_t *next = calloc(2 * n + 1, sizeof(int64_t));
        /* Not ready until this ends: the partitions are not fetched. */
        pd_log_info("worker", "restoring=true partitions=%zu", n);
        pd_err_t err = from && next ? pd_store_txn_begin(w->store, 0, &c.txn)
                                    : PD_ERR_NOMEM;
        pd_arena_init(&c.arena);
        pd_arena_init(&c.done_arena);
        for (size_t t = 0; !err && t < 2; t++)
                for (size_t i = 0; i < n; i++)
                        from[t * n + i] =
                            pd_store_offset_get(c.txn, topics[t], parts[i]);
        if (!err)
                err = pd_session_read_partitions(
                    w->session, topics, 2, parts, n, from, restore_record, &c,
                    next, w->errstr, sizeof(w->errstr));
        for (size_t t = 0; !err && t < 2; t++)
                for (size_t i = 0; !err && i < n; i++)
                        err = pd_store_offset_put(c.txn, topics[t], parts[i],
                                                  next[t * n + i]);
        pd_arena_term(&c.arena);
        pd_arena_term(&c.done_arena);
        if (c.txn)
                err = err ? (pd_store_txn_abort(c.txn), err)
                          : pd_store_txn_commit(c.txn);
        free(from);
        free(next);
        w->metrics.restored_records += c.records;
        pd_log_info("worker",
                    "restored partitions=%zu records=%lld "
                    "skipped_unfinished=%lld seconds=%.3f error=%s",
                    n, (long long)c.records, (long long)c.unfinished,
                    (double)(mono_ms() - t0) / 1000.0, pd_err_name(err));
        return err;
}

/* restore(), growing the map while it is full (within store.map.max). */
static pd_err_t restore_growing(pd_worker_t *w, const int32_t *parts, size_t n)
{
        pd_err_t err;
        while ((err = restore(w, parts, n)) == PD_ERR_STORE_FULL &&
               !(err = grow_store(w)))
                ;
        return err;
}

/* Restores every assigned partition (the store lost a batch that Kafka
 * committed). */
static pd_err_t restore_assigned(pd_worker_t *w)
{
        int32_t *parts = calloc((size_t)w->partitions + 1, sizeof(*parts));
        size_t n = 0;
        if (!parts)
                return PD_ERR_NOMEM;
        for (int32_t p = 0; p < w->partitions; p++)
                if (w->assigned[p])
                        parts[n++] = p;
        pd_err_t err = n ? restore_growing(w, parts, n) : PD_OK;
        free(parts);
        return err;
}

/* The input offset where partition p's restored state ends, -1 unknown;
 * logged with its stream time and earliest timer. */
static int64_t state_offset(pd_worker_t *w, int32_t p)
{
        pd_store_txn_t *txn;
        pd_pstate_t ps = {0};
        pd_arena_t a;
        int64_t off = -1, next = 0;
        pd_arena_init(&a);
        if (!pd_store_txn_begin(w->store, 1, &txn)) {
                if (!pd_store_pstate_get(txn, p, &w->buf) &&
                    !pd_codec_pstate_decode(w->codec, w->buf.data, w->buf.len,
                                            &a, &ps, NULL, 0))
                        off = ps.input_offset;
                next = pd_store_timer_next(txn, p);
                pd_store_txn_abort(txn);
        }
        pd_arena_term(&a);
        pd_log_info("worker",
                    "partition=%d resume_offset=%lld stream_time=%lld "
                    "next_timer=%lld%s",
                    p, (long long)off, (long long)ps.stream_time,
                    (long long)next,
                    w->conf->clock == PD_CLOCK_EVENT && next &&
                            next <= ps.stream_time
                        ? " timer_due_at_restore=true"
                        : "");
        return off;
}

static pd_err_t on_assign(void *opaque, const int32_t *parts, size_t n,
                          int64_t *offsets)
{
        pd_worker_t *w = opaque;
        /* Cooperative protocol: partitions are added while others are
         * processed.  The restore needs the store's write transaction, so
         * the open batch (of partitions we keep) commits first. */
        pd_err_t err = w->open ? batch_commit(w) : PD_OK;
        if (!err)
                err = restore_growing(w, parts, n);
        for (size_t i = 0; i < n && !err; i++) {
                offsets[i] = state_offset(w, parts[i]);
                if (parts[i] >= 0 && parts[i] < w->partitions)
                        w->resume[parts[i]] = offsets[i];
        }
        for (size_t i = 0; i < n && !err; i++)
                if (parts[i] >= 0 && parts[i] < w->partitions &&
                    !w->assigned[parts[i]]) {
                        w->assigned[parts[i]] = true;
                        w->n_assigned++;
                }
        if (!err)
                err = rescore_scan(w);
        pd_log_info("worker", "ready=%s assigned=%zu", err ? "false" : "true",
                    w->n_assigned);
        w->assigned_ms = mono_ms();
        return err;
}

static int64_t resume_offset(void *opaque, int32_t p)
{
        pd_worker_t *w = opaque;
        return p >= 0 && p < w->partitions ? w->resume[p] : -1;
}

/* Handed over: the open batch commits while its partitions are still
 * ours, as Kafka Streams commits on revoke.  Lost (session timeout, a
 * stall): another member may already own them, so it aborts.  Either
 * way nothing of a revoked partition commits after this returns.  The
 * store keeps the partitions' markers with the changelog offsets they
 * reflect: if a partition comes back, its restore starts there. */
static pd_err_t on_revoke(void *opaque, const int32_t *parts, size_t n,
                          bool lost)
{
        pd_worker_t *w = opaque;
        pd_err_t err = PD_OK;
        if (w->open && !lost)
                err = batch_commit(w);
        else if (w->open)
                err = batch_abort(w, "partitions lost");
        batch_reset(w);
        for (size_t i = 0; i < n; i++)
                if (parts[i] >= 0 && parts[i] < w->partitions) {
                        w->resume[parts[i]] = -1;
                        if (w->assigned[parts[i]]) {
                                w->assigned[parts[i]] = false;
                                w->n_assigned--;
                        }
                }
        pd_log_info("worker", "released=%zu lost=%s assigned=%zu error=%s", n,
                    lost ? "true" : "false", w->n_assigned, pd_err_name(err));
        return err;
}

/* ---- lifecycle --------------------------------------------------------- */

static pd_err_t load_data(pd_worker_t *w, char *errstr, size_t errstr_size)
{
        const pd_config_t *c = w->conf;
        pd_err_t err =
            pd_model_load(c->model_path, &w->model, errstr, errstr_size);
        if (!err)
                err = pd_catalog_load(c->templates_path, c->roster_path,
                                      &w->catalog, errstr, errstr_size);
        if (!err)
                err =
                    pd_codec_new(c->schema_ids, &w->codec, errstr, errstr_size);
        return err;
}

pd_err_t pd_worker_check(const pd_config_t *conf, FILE *out, char *errstr,
                         size_t errstr_size)
{
        pd_worker_t *w = calloc(1, sizeof(*w));
        if (!w)
                return PD_ERR_NOMEM;
        w->conf = conf;
        pd_arena_init(&w->arena);
        pd_buf_init(&w->buf);
        pd_err_t err = pd_kafka_check_conf(conf, errstr, errstr_size);
        if (!err) {
                fprintf(out,
                        "ok kafka: bootstrap.servers=%s, %zu kafka.* "
                        "properties accepted by librdkafka\n",
                        conf->bootstrap_servers, conf->kafka.n);
                err = load_data(w, errstr, errstr_size);
        }
        if (!err)
                fprintf(out,
                        "ok model: %s (version %d)\nok templates: %s\n"
                        "ok roster: %s\nok schemas: compiled in\n",
                        conf->model_path, (int)pd_model_version(w->model),
                        conf->templates_path, conf->roster_path);
        pd_worker_destroy(w);
        return err;
}

pd_err_t pd_worker_new(const pd_config_t *conf, pd_worker_t **workerp,
                       char *errstr, size_t errstr_size)
{
        pd_worker_t *w = calloc(1, sizeof(*w));
        pd_err_t err;
        *workerp = NULL;
        if (!w)
                return PD_ERR_NOMEM;
        uuid_t u;
        w->conf = conf;
        uuid_generate(u);
        uuid_unparse_lower(u, w->incarnation);
        pd_arena_init(&w->arena);
        pd_buf_init(&w->buf);
        if ((err = load_data(w, errstr, errstr_size)) ||
            (err = pd_store_open(conf->store_path, conf->store_map_size,
                                 &w->store, errstr, errstr_size)))
                goto out;
        w->econf.survey_local_minute = conf->survey_local_minute;
        w->econf.survey_interval_months = conf->survey_interval_months;
        w->econf.close_on_last_milestone = conf->close_on_last_milestone;
        w->econf.survey_min_gap_days = conf->survey_min_gap_days;
        memcpy(w->econf.renewal_lead_days, conf->renewal_lead_days,
               sizeof(w->econf.renewal_lead_days));
        w->eng.conf = &w->econf;
        w->eng.model = w->model;
        w->eng.catalog = w->catalog;
        pd_session_cbs_t cbs = {w, on_assign, on_revoke, resume_offset};
        if ((err =
                 pd_session_new(conf, &cbs, &w->session, errstr, errstr_size)))
                goto out;
        w->partitions = pd_session_partition_cnt(w->session);
        w->econf.partitions = w->partitions;
        w->assigned = calloc((size_t)w->partitions, sizeof(bool));
        w->pstate_dirty = calloc((size_t)w->partitions, sizeof(bool));
        w->pstates = calloc((size_t)w->partitions, sizeof(void *));
        w->resume = malloc((size_t)w->partitions * sizeof(int64_t));
        if (!w->assigned || !w->pstate_dirty || !w->pstates || !w->resume)
                err = PD_ERR_NOMEM;
        for (int32_t p = 0; !err && p < w->partitions; p++)
                w->resume[p] = -1;
out:
        if (err) {
                pd_worker_destroy(w);
                w = NULL;
        }
        *workerp = w;
        return err;
}

static void write_metrics(pd_worker_t *w)
{
        if (w->conf->metrics_path && *w->conf->metrics_path &&
            pd_metrics_write(&w->metrics, w->conf->metrics_path))
                pd_log_warn("worker", "metrics_write_failed=true path=%s",
                            w->conf->metrics_path);
}

/* One turn of the loop: poll, process, maybe commit. */
static pd_err_t turn(pd_worker_t *w, int64_t *idle_since)
{
        pd_msg_t msg;
        char why[512];
        int timeout = 500;
        /* Idle: sleep until the next message or the next due timer,
         * whichever comes first (bounded, so signals and rebalances are
         * served). */
        if (!w->open && w->n_assigned)
                timeout = (int)timer_wait_ms(w, timeout);
        if (w->open) {
                int64_t left =
                    w->started_ms + w->conf->batch_max_ms - mono_ms();
                timeout = left > 0 ? (int)left : 0;
        }
        pd_err_t err =
            pd_session_poll(w->session, timeout, &msg, why, sizeof(why));
        bool got = err == PD_OK;
        if (err == PD_ERR_FATAL) {
                snprintf(w->errstr, sizeof(w->errstr), "%s", why);
                return err;
        }
        if (!err) {
                *idle_since = mono_ms();
                if (!(err = batch_begin(w))) {
                        /* On the event clock a timer fires as soon as a
                         * record moves its partition's stream time past
                         * it, not at the batch's end: otherwise the batch
                         * boundaries (time-based, different after a
                         * restart) would decide which catch-up survey or
                         * renewal lead fires, and replays would differ. */
                        if (process(w, &msg) && !w->failed &&
                            w->conf->clock == PD_CLOCK_EVENT)
                                fire_partition(
                                    w, msg.partition,
                                    (size_t)w->conf->timer_batch_max);
                        w->msgs++;
                }
                pd_session_msg_release(&msg);
                if (err)
                        return pd_err_class(err) == PD_ERR_CLASS_FATAL ? err
                                                                       : PD_OK;
        } else if (!w->open && w->n_assigned &&
                   (w->rescore_next < w->n_rescore ||
                    timer_wait_ms(w, 1) == 0)) {
                if ((err = batch_begin(w)))
                        return pd_err_class(err) == PD_ERR_CLASS_FATAL ? err
                                                                       : PD_OK;
                *idle_since = mono_ms();
        }
        /* Input first: the sweep re-scores only while the input is
         * quiet (a customer with input is re-scored by its own event). */
        if (!got && w->open && w->rescore_next < w->n_rescore) {
                rescore_some(w);
                *idle_since = mono_ms();
        }
        if (w->open && (w->msgs >= w->conf->batch_max_messages || w->failed ||
                        mono_ms() - w->started_ms >= w->conf->batch_max_ms))
                return batch_commit(w);
        return PD_OK;
}

pd_err_t pd_worker_run(pd_worker_t *w, volatile sig_atomic_t *stop,
                       char *errstr, size_t errstr_size)
{
        pd_err_t err = PD_OK;
        int64_t idle_since = mono_ms(), last_metrics = mono_ms();
        pd_session_set_stop(w->session, stop);
        pd_log_info("worker", "started partitions=%d clock=%s", w->partitions,
                    w->conf->clock == PD_CLOCK_EVENT ? "event" : "wall");
        while (!*stop && !err) {
                err = turn(w, &idle_since);
                if (mono_ms() - last_metrics > 10000) {
                        write_metrics(w);
                        last_metrics = mono_ms();
                }
                /* Idle: nothing consumed since the later of the last record
                 * and the last assignment (fetching starts only then). */
                int64_t since =
                    idle_since > w->assigned_ms ? idle_since : w->assigned_ms;
                if (w->conf->exit_when_idle_ms && !w->open && w->n_assigned &&
                    mono_ms() - since >= w->conf->exit_when_idle_ms) {
                        pd_log_info("worker", "idle_exit=true idle_ms=%d",
                                    w->conf->exit_when_idle_ms);
                        break;
                }
        }
        /* SIGTERM: finish the open transaction (its input is consumed). */
        if (!err && w->open)
                err = batch_commit(w);
        write_metrics(w);
        if (err)
                snprintf(errstr, errstr_size, "%s", w->errstr);
        pd_log_info(
            "worker",
            "stopped consumed=%lld applied=%lld duplicates=%lld "
            "dead_lettered=%lld commits=%lld aborts=%lld",
            (long long)w->metrics.consumed, (long long)w->metrics.applied,
            (long long)w->metrics.duplicates,
            (long long)w->metrics.dead_lettered, (long long)w->metrics.commits,
            (long long)w->metrics.aborts);
        return err ? PD_ERR_FATAL : PD_OK;
}

void pd_worker_destroy(pd_worker_t *w)
{
        if (!w)
                return;
        if (w->txn)
                pd_store_txn_abort(w->txn);
        w->txn = NULL;
        rescore_clear(w);
        w->open = false; /* the revoke at close has no batch to finish */
        pd_session_destroy(w->session);
        pd_store_close(w->store);
        pd_codec_destroy(w->codec);
        pd_catalog_destroy(w->catalog);
        pd_model_destroy(w->model);
        pd_arena_term(&w->arena);
        pd_buf_term(&w->buf);
        free(w->assigned);
        free(w->pstate_dirty);
        free(w->pstates);
        free(w->resume);
        free(w);
}
