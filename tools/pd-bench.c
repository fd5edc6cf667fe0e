/* pd-bench: how fast the worker's per-event path is, phase by phase, on the
 * real exports (or a generated sample), in one process so the figures are
 * comparable within one run.
 *
 *   pd-bench [--data DIR | --sample N] [--store DIR] [--rounds R]
 *
 * Phases: CSV import (parse, map, sort), Avro encode of the events, Avro
 * decode, and apply: the worker's store path without Kafka (load the
 * marker from LMDB, decode, engine apply, encode the marker and outputs,
 * store put), committed every 500 events as the worker does.  Prints events
 * per second and each phase's share of the total.  For stable figures on a
 * noisy machine run it under `valgrind --tool=callgrind` and compare
 * instruction counts. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "codec.h"
#include "engine.h"
#include "import.h"
#include "store.h"

#define BATCH 500

static double now_s(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct phase_s {
        const char *name;
        double secs;
        size_t n;
} phase_t;

static int load(const char *data, size_t sample, pd_arena_t *arena,
                pd_import_result_t *res)
{
        char errstr[512];
        pd_import_result_init(res);
        if (sample)
                return pd_import_generate_sample(1, sample, arena, res) ? -1
                                                                       : 0;
        if (pd_import_dir(data, NULL, arena, res, errstr, sizeof(errstr))) {
                fprintf(stderr, "pd-bench: %s\n", errstr);
                return -1;
        }
        return 0;
}

/* The worker's per-event store path, without Kafka. */
static int apply_all(const pd_engine_t *eng, pd_codec_t *codec,
                     pd_store_t *store, pd_buf_t *encoded, size_t n,
                     size_t *outputs)
{
        pd_arena_t arena;
        pd_buf_t buf;
        pd_pstate_t ps = {0};
        pd_store_txn_t *txn = NULL;
        char why[512];
        int ret = 0;
        pd_arena_init(&arena);
        pd_buf_init(&buf);
        ps.input_offset = -1;
        for (size_t i = 0; i < n && !ret; i++) {
                pd_event_t ev;
                pd_marker_t m = {0};
                pd_outputs_t out = {0};
                pd_apply_result_t r;
                if (!txn && pd_store_txn_begin(store, 0, &txn))
                        return -1;
                if (pd_codec_event_decode(codec, encoded[i].data,
                                          encoded[i].len, &arena, &ev, why,
                                          sizeof(why)))
                        continue; /* the worker dead-letters it */
                if (!pd_store_marker_get(txn, ev.customer_id, &buf) &&
                    pd_codec_marker_decode(codec, buf.data, buf.len, &arena,
                                           &m, why, sizeof(why)))
                        ret = -1;
                if (ret || pd_engine_apply(eng, &m, &ps, &ev, &arena, &out, &r,
                                           why, sizeof(why)))
                        continue;
                pd_engine_fire(eng, &m, &ps, ps.stream_time, &arena, &out);
                for (size_t j = 0; j < out.n_plans; j++)
                        pd_codec_plan_encode(codec, &out.plans[j], &buf);
                for (size_t j = 0; j < out.n_actions; j++)
                        pd_codec_action_encode(codec, &out.actions[j], &buf);
                *outputs += out.n_plans + out.n_actions;
                if (r == PD_APPLY_CHANGED &&
                    (pd_codec_marker_encode(codec, &m, &buf) ||
                     pd_store_marker_put(txn, m.customer_id, buf.data,
                                         buf.len, 0,
                                         pd_engine_next_timer(eng, &m))))
                        ret = -1;
                if ((i + 1) % BATCH == 0 || i + 1 == n) {
                        if (pd_store_txn_commit(txn))
                                ret = -1;
                        txn = NULL;
                        pd_arena_reset(&arena);
                        ps.loads   = NULL; /* lived in the arena */
                        ps.n_loads = 0;
                }
        }
        if (txn)
                pd_store_txn_abort(txn);
        pd_arena_term(&arena);
        pd_buf_term(&buf);
        return ret;
}

static void report(const phase_t *ph, size_t n_ph)
{
        double total = 0;
        for (size_t i = 0; i < n_ph; i++)
                total += ph[i].secs;
        printf("%-34s %10s %12s %8s\n", "phase", "events", "events/s",
               "share");
        for (size_t i = 0; i < n_ph; i++)
                printf("%-34s %10zu %12.0f %7.1f%%\n", ph[i].name, ph[i].n,
                       ph[i].secs > 0 ? (double)ph[i].n / ph[i].secs : 0,
                       total > 0 ? 100.0 * ph[i].secs / total : 0);
}

int main(int argc, char **argv)
{
        const char *data = getenv("PD_DATA_DIR"), *store_dir = NULL;
        size_t sample = 0, rounds = 1, outputs = 0;
        char errstr[1024], tmpl[] = "/tmp/pd-bench-XXXXXX";
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--data") && i + 1 < argc)
                        data = argv[++i];
                else if (!strcmp(argv[i], "--sample") && i + 1 < argc)
                        sample = (size_t)atol(argv[++i]);
                else if (!strcmp(argv[i], "--store") && i + 1 < argc)
                        store_dir = argv[++i];
                else if (!strcmp(argv[i], "--rounds") && i + 1 < argc)
                        rounds = (size_t)atol(argv[++i]);
                else {
                        fprintf(stderr, "usage: pd-bench [--data DIR | "
                                        "--sample N] [--store DIR] "
                                        "[--rounds R]\n");
                        return 2;
                }
        }
        if (!data && !sample)
                data = PD_SOURCE_DIR "/../shared/data";
        if (!store_dir && !(store_dir = mkdtemp(tmpl))) {
                perror("pd-bench: mkdtemp");
                return 1;
        }
        pd_model_t *model     = NULL;
        pd_catalog_t *catalog = NULL;
        pd_codec_t *codec     = NULL;
        pd_store_t *store     = NULL;
        pd_engine_conf_t econf = {.survey_local_minute = 600,
                                  .survey_interval_months = 6,
                                  .close_on_last_milestone = true,
                                  .survey_min_gap_days = 30,
                                  .renewal_lead_days = {90, 30},
                                  .partitions = 1};
        if (pd_model_load(PD_SOURCE_DIR "/model/persona-model.json", &model,
                          errstr, sizeof(errstr)) ||
            pd_catalog_load(PD_SOURCE_DIR "/model/plan-templates.json",
                            PD_SOURCE_DIR "/model/roster.json", &catalog,
                            errstr, sizeof(errstr)) ||
            pd_codec_new(NULL, &codec, errstr, sizeof(errstr)) ||
            pd_store_open(store_dir, 4LL << 30, &store, errstr,
                          sizeof(errstr))) {
                fprintf(stderr, "pd-bench: %s\n", errstr);
                return 1;
        }
        pd_engine_t eng = {&econf, model, catalog};
        phase_t ph[4]   = {{"import (CSV parse, map, sort)", 0, 0},
                           {"avro encode LifecycleEvent", 0, 0},
                           {"avro decode + validate", 0, 0},
                           {"apply (store+decode+engine+encode)", 0, 0}};
        int ret = 0;
        for (size_t round = 0; round < rounds && !ret; round++) {
                pd_arena_t arena, scratch;
                pd_import_result_t res;
                pd_arena_init(&arena);
                pd_arena_init(&scratch);
                double t0 = now_s();
                if (load(data, sample, &arena, &res)) {
                        ret = 1;
                        break;
                }
                double t1 = now_s();
                pd_buf_t *enc = calloc(res.n_events + 1, sizeof(*enc));
                for (size_t i = 0; i < res.n_events; i++)
                        pd_codec_event_encode(codec, &res.events[i], &enc[i]);
                double t2 = now_s();
                for (size_t i = 0; i < res.n_events; i++) {
                        pd_event_t ev;
                        pd_codec_event_decode(codec, enc[i].data, enc[i].len,
                                              &scratch, &ev, NULL, 0);
                        if (i % BATCH == 0)
                                pd_arena_reset(&scratch);
                }
                double t3 = now_s();
                if (apply_all(&eng, codec, store, enc, res.n_events,
                              &outputs))
                        ret = 1;
                double t4 = now_s();
                double d[4] = {t1 - t0, t2 - t1, t3 - t2, t4 - t3};
                for (int p = 0; p < 4; p++) {
                        ph[p].secs += d[p];
                        ph[p].n += res.n_events;
                }
                for (size_t i = 0; i < res.n_events; i++)
                        pd_buf_term(&enc[i]);
                free(enc);
                pd_arena_term(&arena);
                pd_arena_term(&scratch);
        }
        printf("pd-bench: %s, %zu round(s), store %s, %zu outputs encoded\n",
               sample ? "generated sample" : data, rounds, store_dir, outputs);
        report(ph, 4);
        pd_store_close(store);
        pd_codec_destroy(codec);
        pd_catalog_destroy(catalog);
        pd_model_destroy(model);
        return ret;
}
