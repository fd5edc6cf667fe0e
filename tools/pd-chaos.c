/* pd-chaos: the fault harness.
 *
 * Runs one scenario against the real binaries (pd-broker, pd-import,
 * persona-dna) for a chosen count or time, then checks the pass rule of
 * tests/integration/harness.h against an uninterrupted reference run of
 * the same input, and prints what it checked.  Exit 0: the rule holds.
 *
 *   kill9    one worker, SIGKILLed at random points mid-stream, restarted
 *   multi    several workers in one group (cooperative-sticky), random
 *            ones SIGKILLed and restarted while events flow
 *   faults   broker faults through pd-broker's stdin (3 brokers): added
 *            round-trip time, a broker down and back, leaders moved,
 *            request errors on Produce, AddPartitionsToTxn,
 *            TxnOffsetCommit and EndTxn
 *   stall    one of two workers SIGSTOPped beyond max.poll.interval.ms
 *            and the session timeout, then SIGCONTed
 *   fence    a second worker started with the first one's instance.id
 *   restore  a worker that lost its store gets SIGTERM while restoring */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"
#include "import.h"

#define LOGS_MAX    512
#define WORKERS_MAX 8

typedef struct opts_s {
        const char *scenario;
        int customers, seed, kills, workers, partitions, stall_ms;
        int duration_s;
        unsigned rand_seed;
        int chunk;             /* the hidden "chunk" command */
        const char *bootstrap; /* the hidden "chunk" command */
} opts_t;

typedef struct worker_s {
        char instance[32];
        char store[600];
        pid_t pid;
        int starts;
        const char *log; /* of the latest incarnation */
} worker_t;

/* One run: a broker, its input, the workers and every incarnation's log. */
typedef struct run_s {
        const char *tag;
        char bootstrap[256];
        pid_t broker;
        char dir[512];
        pid_t import;
        int imports;      /* input chunks started */
        int64_t chunk_ms; /* when the last one started */
        worker_t w[WORKERS_MAX];
        int n_workers;
        char *logs[LOGS_MAX];
        size_t n_logs;
        int kills;
} run_t;

static opts_t o = {"multi", 300, 7, -1, 3, 12, 10000, 0, 0, 0, NULL};
static pd_codec_t *codec;
static pd_arena_t arena;

static int64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(FILE *fp)
{
        fprintf(fp,
                "usage: pd-chaos kill9|multi|faults|stall|fence|restore "
                "[options]\n"
                "  --customers N   sample customers (default 300: 2334 "
                "events)\n"
                "  --seed S        sample seed (default 7)\n"
                "  --kills N       kills (kill9 default 3, multi default 6)\n"
                "  --duration S    kill9/multi: keep killing for S seconds "
                "(the\n"
                "                  input is re-imported with a new seed "
                "whenever it\n"
                "                  runs dry)\n"
                "  --workers N     multi: workers in the group (default 3)\n"
                "  --partitions N  partitions per topic (default 12)\n"
                "  --stall-ms MS   stall: how long the worker is stopped "
                "(default 10000)\n"
                "  --random R      seed of the kill points (default: time)\n"
                "Environment: PD_BIN_DIR (default: this program's folder), "
                "IT_KEEP=1\nkeeps the logs and stores.\n");
}

static int parse(int argc, char **argv)
{
        static const struct option longs[] = {
            {"customers", required_argument, NULL, 'c'},
            {"seed", required_argument, NULL, 's'},
            {"kills", required_argument, NULL, 'k'},
            {"duration", required_argument, NULL, 'd'},
            {"workers", required_argument, NULL, 'w'},
            {"partitions", required_argument, NULL, 'p'},
            {"stall-ms", required_argument, NULL, 'S'},
            {"random", required_argument, NULL, 'r'},
            {"chunk", required_argument, NULL, 'K'},
            {"bootstrap", required_argument, NULL, 'b'},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        int c;
        o.rand_seed = (unsigned)time(NULL);
        while ((c = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
                int v = optarg ? atoi(optarg) : 0;
                switch (c) {
                case 'c':
                        o.customers = v;
                        break;
                case 's':
                        o.seed = v;
                        break;
                case 'k':
                        o.kills = v;
                        break;
                case 'd':
                        o.duration_s = v;
                        break;
                case 'w':
                        o.workers = v;
                        break;
                case 'p':
                        o.partitions = v;
                        break;
                case 'S':
                        o.stall_ms = v;
                        break;
                case 'r':
                        o.rand_seed = (unsigned)v;
                        break;
                case 'K':
                        o.chunk = v;
                        break;
                case 'b':
                        o.bootstrap = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        return -1;
                }
        }
        if (optind != argc - 1 || o.customers < 1 || o.partitions < 1 ||
            o.workers < 1 || o.workers > WORKERS_MAX)
                return -1;
        o.scenario = argv[optind];
        if (o.kills < 0)
                o.kills = !strcmp(o.scenario, "multi") ? 6 : 3;
        return 0;
}

/* ---- runs -----------------------------------------------------------------
 */

/* Child process: produces input chunk k, the generated sample with seed
 * o.seed + k and its customer ids prefixed "c<k>:" (the generator's ids
 * do not depend on the seed), so every chunk brings new customers and new
 * events.  Exit code 0 when all were delivered. */
static int produce_chunk(const char *bootstrap, int k)
{
        char errstr[512];
        pd_arena_t a;
        pd_import_result_t res;
        pd_kafka_producer_t *producer = NULL;
        int rc = 1;
        pd_arena_init(&a);
        pd_import_result_init(&res);
        if (pd_import_generate_sample((uint64_t)(o.seed + k),
                                      (size_t)o.customers, &a, &res) ||
            pd_kafka_producer_new(bootstrap, NULL, &producer, errstr,
                                  sizeof(errstr)))
                goto out;
        for (size_t i = 0; i < res.n_events; i++) {
                pd_event_t ev = res.events[i];
                ev.customer_id =
                    pd_arena_printf(&a, "c%d:%s", k, ev.customer_id);
                if (!ev.customer_id ||
                    it_produce_event(producer, codec, "customer.lifecycle", -1,
                                     &ev))
                        goto out;
        }
        rc = pd_kafka_producer_flush(producer, 60000, errstr, sizeof(errstr))
                 ? 1
                 : 0;
        if (!rc)
                printf("chunk %d: %zu events\n", k, res.n_events);
out:
        if (rc)
                fprintf(stderr, "pd-chaos: chunk %d not produced\n", k);
        pd_kafka_producer_destroy(producer);
        pd_arena_term(&a);
        return rc;
}

/* Imports the next chunk of input (a child running produce_chunk); the
 * reference imports the same chunks in the same order. */
static int import_start(run_t *r)
{
        char bin[512], n[16], s[16], k[16], log[600];
        snprintf(n, sizeof(n), "%d", o.customers);
        snprintf(s, sizeof(s), "%d", o.seed);
        snprintf(k, sizeof(k), "%d", r->imports);
        snprintf(log, sizeof(log), "%s/import.log", r->dir);
        char *argv[] = {(char *)it_bin("pd-chaos", bin, sizeof(bin)),
                        "--customers",
                        n,
                        "--seed",
                        s,
                        "--chunk",
                        k,
                        "--bootstrap",
                        r->bootstrap,
                        "chunk",
                        NULL};
        r->import = it_spawn(argv, log);
        r->imports++;
        return r->import > 0 ? 0 : -1;
}

static int import_wait(run_t *r)
{
        int rc = r->import > 0 ? it_wait(r->import, 300000) : 0;
        r->import = 0;
        if (rc)
                fprintf(stderr, "pd-chaos: pd-import exited %d\n", rc);
        return rc ? -1 : 0;
}

static int run_init(run_t *r, const char *tag, int brokers)
{
        memset(r, 0, sizeof(*r));
        r->tag = tag;
        it_mkdtemp(tag, r->dir, sizeof(r->dir));
        r->broker = it_broker_start_n(brokers, o.partitions, r->bootstrap,
                                      sizeof(r->bootstrap));
        return r->dir[0] && r->broker > 0 ? 0 : -1;
}

static void run_term(run_t *r)
{
        for (int i = 0; i < r->n_workers; i++)
                if (r->w[i].pid > 0) {
                        it_signal(r->w[i].pid, SIGKILL);
                        it_wait(r->w[i].pid, 10000);
                }
        if (r->import > 0)
                it_wait(r->import, 0);
        it_signal(r->broker, SIGTERM);
        it_wait(r->broker, 10000);
        for (size_t i = 0; i < r->n_logs; i++)
                free(r->logs[i]);
}

static worker_t *worker_add(run_t *r, const char *instance)
{
        worker_t *w = &r->w[r->n_workers++];
        snprintf(w->instance, sizeof(w->instance), "%s", instance);
        snprintf(w->store, sizeof(w->store), "%s/store-%s-%d", r->dir, instance,
                 r->n_workers);
        return w;
}

static const char *last_log(const run_t *r)
{
        return r->n_logs ? r->logs[r->n_logs - 1] : "";
}

/* The log of w's latest incarnation. */
static const char *last_log_of(const run_t *r, const worker_t *w)
{
        return w->log ? w->log : "";
}

/* Starts an incarnation of w, with its own log.  Short session timeout:
 * a SIGKILLed member leaves the group in seconds.  Debug level: the
 * worker logs "committed txn=<incarnation>/<batch>" for every commit. */
static int worker_start(run_t *r, worker_t *w, int idle_exit_ms,
                        const char *extra)
{
        char log[800];
        if (r->n_logs >= LOGS_MAX)
                return -1;
        snprintf(log, sizeof(log), "%s/%s.%d.%d.log", r->dir, w->instance,
                 (int)(w - r->w), w->starts++);
        r->logs[r->n_logs++] = strdup(log);
        w->log = last_log(r);
        it_worker_t wk = {.bootstrap = r->bootstrap,
                          .group = "pd-chaos",
                          .instance = w->instance,
                          .store = w->store,
                          .log = last_log(r),
                          .idle_exit_ms = idle_exit_ms,
                          .extra = {"kafka.session.timeout.ms=6000",
                                    "kafka.heartbeat.interval.ms=500",
                                    "log.level=debug", "batch.max.messages=20",
                                    extra}};
        w->pid = it_worker_start(&wk);
        return w->pid > 0 ? 0 : -1;
}

/* Number of "committed txn=" lines in the file at path. */
static size_t commits_in(const char *path)
{
        pd_arena_t a;
        const char **v;
        pd_arena_init(&a);
        size_t n = it_log_values(path, "committed txn=", &a, &v);
        pd_arena_term(&a);
        return n;
}

/* Waits until the log holds n more commit lines than `from`.  Returns
 * 0, or -1 on timeout (the input may have run dry). */
static int wait_commits(const char *path, size_t from, size_t n, int timeout_ms)
{
        for (int waited = 0; waited <= timeout_ms; waited += 10) {
                if (commits_in(path) >= from + n)
                        return 0;
                it_sleep_ms(10);
        }
        return -1;
}

/* Runs w (restarted) until it is idle and exits 0. */
static int worker_finish(run_t *r, worker_t *w)
{
        if (worker_start(r, w, IT_IDLE_MS, NULL))
                return -1;
        int rc = it_wait(w->pid, 300000);
        w->pid = 0;
        if (rc) {
                fprintf(stderr, "pd-chaos: %s: finishing worker exited %d\n",
                        r->tag, rc);
                it_dump_log(last_log(r), 40);
        }
        return rc ? -1 : 0;
}

/* SIGTERM, which must end in a clean exit 0. */
static int worker_term(run_t *r, worker_t *w)
{
        if (w->pid <= 0)
                return 0;
        it_signal(w->pid, SIGTERM);
        int rc = it_wait(w->pid, 60000);
        w->pid = 0;
        if (rc) {
                fprintf(stderr, "pd-chaos: %s: %s exited %d after SIGTERM\n",
                        r->tag, w->instance, rc);
                it_dump_log(last_log(r), 30);
        }
        return rc ? -1 : 0;
}

static int worker_kill(run_t *r, worker_t *w)
{
        it_signal(w->pid, SIGKILL);
        int rc = it_wait(w->pid, 10000);
        w->pid = 0;
        r->kills++;
        return rc == 128 + SIGKILL ? 0 : -1;
}

/* ---- the reference and the check --------------------------------------- */

static struct {
        it_outputs_t out;
        const char **ids;
        size_t n_ids;
        long long inputs;
        double seconds;
} ref;

/* One worker, never interrupted, on the same input: the same `imports`
 * chunks, in the same order. */
static int reference(int imports)
{
        run_t r;
        int64_t t0 = mono_ms();
        int rc = run_init(&r, "reference", 1);
        for (int i = 0; !rc && i < imports; i++)
                rc = import_start(&r) || import_wait(&r);
        char metrics[600];
        snprintf(metrics, sizeof(metrics), "%s/metrics.json", r.dir);
        worker_t *w = rc ? NULL : worker_add(&r, "ref");
        if (w) {
                char opt[700];
                snprintf(opt, sizeof(opt), "metrics.path=%s", metrics);
                rc = worker_start(&r, w, IT_IDLE_MS, opt) ||
                     it_wait(w->pid, 300000) != 0;
                w->pid = 0;
        }
        ref.seconds = (double)(mono_ms() - t0) / 1000.0;
        ref.inputs = it_metric(metrics, "consumed");
        it_check_t c;
        if (!rc)
                rc = it_outputs_read(r.bootstrap, codec, &ref.out) ||
                     it_check_copies((const char *const *)r.logs, r.n_logs,
                                     &ref.out, false, &arena, &c) ||
                     c.n_ids != c.n_copies;
        if (!rc) {
                ref.ids = c.ids;
                ref.n_ids = c.n_ids;
                printf("pd-chaos: reference: inputs=%lld outputs=%zu "
                       "markers=%zu committed_txns=%zu seconds=%.1f\n",
                       ref.inputs, c.n_ids, ref.out.n_latest, c.n_txns,
                       ref.seconds);
        } else {
                fprintf(stderr, "pd-chaos: the reference run failed\n");
                if (r.n_logs)
                        it_dump_log(last_log(&r), 40);
        }
        run_term(&r);
        return rc ? -1 : 0;
}

/* Partitions assigned, over the run, to more than one instance. */
static int partitions_moved(const run_t *r)
{
        unsigned owners[1024] = {0};
        int moved = 0;
        char needle[64];
        for (size_t i = 0; i < r->n_logs; i++) {
                /* log names are <dir>/<instance>.<n>.log; instance wN */
                const char *base = strrchr(r->logs[i], '/');
                int inst = base && base[1] == 'w' ? atoi(base + 2) : 0;
                for (int p = 0; p < o.partitions && p < 1024; p++) {
                        snprintf(needle, sizeof(needle),
                                 "partition=%d assigned=true", p);
                        if (!it_wait_log(r->logs[i], 0, needle, 0))
                                owners[p] |= 1u << (inst & 31);
                }
        }
        for (int p = 0; p < o.partitions && p < 1024; p++)
                moved += __builtin_popcount(owners[p]) > 1;
        return moved;
}

static size_t lines_with(const run_t *r, const char *needle)
{
        size_t n = 0;
        for (size_t i = 0; i < r->n_logs; i++) {
                const char **v;
                n += it_log_values(r->logs[i], needle, &arena, &v);
        }
        return n;
}

/* The pass rule against the reference; prints what it checked. */
static int check(run_t *r, bool lenient)
{
        it_outputs_t out;
        it_verdict_t v;
        char tag[128];
        if (it_outputs_read(r->bootstrap, codec, &out))
                return -1;
        int rc = it_compare(codec, &ref.out, ref.ids, ref.n_ids, &out,
                            (const char *const *)r->logs, r->n_logs, lenient,
                            &arena, &v);
        printf("pd-chaos: %s: inputs=%lld incarnations=%zu kills=%d "
               "partitions_moved=%d rebalances=%zu lost_assignments=%zu "
               "aborted_batches=%zu commit_retries=%zu\n",
               r->tag, ref.inputs, r->n_logs, r->kills, partitions_moved(r),
               lines_with(r, "rebalance=assign"), lines_with(r, "lost=true"),
               lines_with(r, "batch_abort=true") +
                   lines_with(r, "commit_aborted=true"),
               lines_with(r, "commit retry="));
        snprintf(tag, sizeof(tag), "pd-chaos: %s", r->tag);
        it_verdict_print(stdout, tag, &v);
        printf("pd-chaos: %s: outputs %s, missing=%zu, committed "
               "duplicates=%zu, markers %s: %s\n",
               r->tag, v.missing || v.unexpected ? "differ" : "equal",
               v.missing, v.bad_ids,
               v.markers_differ || v.markers != v.ref_markers ? "differ"
                                                              : "equal",
               rc ? "FAIL" : "PASS");
        fflush(stdout);
        it_outputs_free(&out);
        return rc;
}

/* ---- scenarios ------------------------------------------------------------
 */

static bool more_kills(const run_t *r, int64_t t0)
{
        if (o.duration_s > 0)
                return mono_ms() - t0 < (int64_t)o.duration_s * 1000;
        return r->kills < o.kills;
}

/* Keeps the input flowing: when the last chunk is in, starts the next.
 * Timed runs spread at most CHUNKS_MAX chunks over the duration: the
 * embedded broker keeps only about 5 MiB per partition, and a changelog
 * that lost its head could not be restored. */
#define CHUNKS_MAX 25
static void keep_flowing(run_t *r)
{
        int64_t gap =
            o.duration_s > 0 ? (int64_t)o.duration_s * 1000 / CHUNKS_MAX : 0;
        if (r->import > 0 && it_poll(r->import) >= 0)
                r->import = 0;
        if (r->import <= 0 && r->imports < CHUNKS_MAX &&
            mono_ms() - r->chunk_ms >= gap) {
                r->chunk_ms = mono_ms();
                import_start(r);
        }
}

static int scenario_kill9(run_t *r)
{
        int64_t t0 = mono_ms();
        worker_t *w = worker_add(r, "w1");
        if (import_start(r))
                return -1;
        while (more_kills(r, t0)) {
                if (worker_start(r, w, 0, NULL) ||
                    it_wait_log(last_log(r), 0, "ready=true", 60000))
                        return -1;
                /* Mid-stream: after 1-4 commits and part of a batch. */
                wait_commits(last_log(r), 0, 1 + (size_t)(rand() % 4), 20000);
                it_sleep_ms(rand() % 40);
                if (worker_kill(r, w))
                        return -1;
                keep_flowing(r);
        }
        return import_wait(r) || worker_finish(r, w);
}

static int start_all(run_t *r, int n, const char *extra)
{
        char inst[16];
        for (int i = 0; i < n; i++) {
                snprintf(inst, sizeof(inst), "w%d", i + 1);
                if (worker_start(r, worker_add(r, inst), 0, extra))
                        return -1;
        }
        return 0;
}

/* Stops every worker cleanly, then one finishes what is left. */
static int finish_all(run_t *r)
{
        int rc = 0;
        for (int i = 0; i < r->n_workers; i++)
                rc |= worker_term(r, &r->w[i]);
        return import_wait(r) || worker_finish(r, &r->w[0]) || rc ? -1 : 0;
}

static int scenario_multi(run_t *r)
{
        int64_t t0 = mono_ms();
        if (start_all(r, o.workers, NULL) || import_start(r))
                return -1;
        if (it_wait_log(last_log(r), 0, "ready=true", 60000))
                return -1;
        while (more_kills(r, t0)) {
                worker_t *w = &r->w[rand() % r->n_workers];
                keep_flowing(r);
                /* Mid-stream: after 1-3 commits of the victim (when it
                 * holds partitions with input) and part of a batch. */
                wait_commits(last_log_of(r, w), commits_in(last_log_of(r, w)),
                             1 + (size_t)(rand() % 3), 5000);
                it_sleep_ms(rand() % 40);
                if (worker_kill(r, w))
                        return -1;
                printf("pd-chaos: multi: kill %d: %s at %.1f s\n", r->kills,
                       w->instance, (double)(mono_ms() - t0) / 1000.0);
                fflush(stdout);
                it_sleep_ms(rand() % 1000);
                if (worker_start(r, w, 0, NULL))
                        return -1;
        }
        it_sleep_ms(3000);
        return finish_all(r);
}

/* A fault command, or -1. */
static int fault(run_t *r, const char *cmd)
{
        char reply[256];
        int rc = it_broker_fault(r->broker, cmd, reply, sizeof(reply));
        printf("pd-chaos: %s: %-40s -> %s\n", r->tag, cmd, reply);
        fflush(stdout);
        return rc;
}

static int scenario_faults(run_t *r)
{
        /* Kafka API keys: Produce 0, AddPartitionsToTxn 24, EndTxn 26,
         * TxnOffsetCommit 28.  Codes: NOT_LEADER_FOR_PARTITION 6,
         * COORDINATOR_NOT_AVAILABLE 15, NOT_COORDINATOR 16,
         * CONCURRENT_TRANSACTIONS 51, REQUEST_TIMED_OUT 7. */
        static const char *steps[][2] = {
            {"rtt 1 150", "rtt 1 0"},
            {"rtt 2 150", "rtt 2 0"},
            {"down 2", "up 2"},
            {"leader customer.lifecycle 0 3", "leader customer.persona 1 2"},
            {"leader customer.actions 2 1", "leader customer.plans 3 2"},
            {"error 0 6 3", NULL},
            {"error 0 7 2", NULL},
            {"error 24 51 3", NULL},
            {"error 28 15 2", NULL},
            {"error 28 16 2", NULL},
            {"error 26 51 2", NULL},
            {"error 26 15 2", NULL},
            {"down 3", "up 3"},
        };
        if (start_all(r, 2, NULL) || import_start(r) ||
            it_wait_log(last_log(r), 0, "ready=true", 60000))
                return -1;
        for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
                keep_flowing(r);
                if (fault(r, steps[i][0]))
                        return -1;
                it_sleep_ms(1500);
                if (steps[i][1] && fault(r, steps[i][1]))
                        return -1;
        }
        it_sleep_ms(3000);
        return finish_all(r);
}

/* max.poll.interval.ms (librdkafka's minimum is the session timeout) so
 * that the stall exceeds both. */
static int scenario_stall(run_t *r)
{
        if (start_all(r, 2, "kafka.max.poll.interval.ms=7000") ||
            import_start(r))
                return -1;
        worker_t *w = &r->w[0];
        const char *log = r->logs[0];
        if (it_wait_log(log, 0, "ready=true", 60000) ||
            wait_commits(log, 0, 2, 30000))
                return -1;
        keep_flowing(r);
        it_signal(w->pid, SIGSTOP);
        printf("pd-chaos: stall: %s stopped for %d ms\n", w->instance,
               o.stall_ms);
        it_sleep_ms(o.stall_ms);
        long from = it_file_size(log);
        it_signal(w->pid, SIGCONT);
        /* It must notice, give up its (lost) partitions and rejoin, or
         * exit non-zero and be restarted. */
        int rejoined = it_wait_log(log, from, "rebalance=assign", 60000);
        int rc = rejoined ? it_wait(w->pid, 0) : -2;
        printf("pd-chaos: stall: after SIGCONT: %s\n",
               !rejoined ? "rejoined the group"
               : rc >= 0 ? "exited (restarted)"
                         : "neither rejoined nor exited");
        if (rejoined && rc < 0)
                return -1;
        if (rejoined && (w->pid = 0, worker_start(r, w, 0, NULL)))
                return -1;
        keep_flowing(r);
        it_sleep_ms(3000);
        return finish_all(r);
}

/* Prints the fatal line of log, if any; returns whether there is one. */
static bool show_fatal(const char *who, const char *log)
{
        char line[1024];
        bool found = false;
        FILE *fp = fopen(log, "r");
        while (fp && fgets(line, sizeof(line), fp))
                if (strstr(line, "fatal=true")) {
                        printf("pd-chaos: fence: %s: %s", who, line);
                        found = true;
                }
        if (fp)
                fclose(fp);
        return found;
}

static int scenario_fence(run_t *r)
{
        if (import_start(r))
                return -1;
        worker_t *a = worker_add(r, "w1");
        if (worker_start(r, a, 0, "static.membership=true") ||
            it_wait_log(last_log(r), 0, "ready=true", 60000) ||
            wait_commits(last_log(r), 0, 2, 30000))
                return -1;
        const char *log_a = last_log(r);
        /* The same instance.id, so the same transactional.id: the
         * newcomer's init_transactions fences the first producer. */
        worker_t *b = worker_add(r, "w1");
        if (worker_start(r, b, 0, "static.membership=true"))
                return -1;
        const char *log_b = last_log(r);
        int rc_a = -1, rc_b = -1;
        for (int t = 0; t < 150 && rc_a < 0 && rc_b < 0; t++) {
                rc_a = it_poll(a->pid);
                rc_b = it_poll(b->pid);
                if (t % 50 == 0)
                        keep_flowing(r); /* both have work to commit */
                it_sleep_ms(100);
        }
        if (rc_a >= 0)
                a->pid = 0;
        if (rc_b >= 0)
                b->pid = 0;
        bool fa = show_fatal("first", log_a), fb = show_fatal("second", log_b);
        printf("pd-chaos: fence: first worker %s, second worker %s\n",
               rc_a < 0    ? "runs on"
               : rc_a == 1 ? "exited 1"
                           : "exited",
               rc_b < 0    ? "runs on"
               : rc_b == 1 ? "exited 1"
                           : "exited");
        fflush(stdout);
        /* A real broker fences the older producer (init_transactions of
         * the same transactional.id bumps its epoch) and the older
         * static member: exactly one exits 1 with the reason logged.
         * librdkafka's mock cluster mints a new producer id for every
         * InitProducerId without a current one, so nobody is fenced and
         * both carry on as two members; the pass rule must hold either
         * way. */
        bool fenced =
            (rc_a == 1 && fa && rc_b < 0) || (rc_b == 1 && fb && rc_a < 0);
        bool both = rc_a < 0 && rc_b < 0;
        printf("pd-chaos: fence: %s\n",
               fenced ? "one fenced (exit 1, reason logged), the other "
                        "carried on"
               : both ? "no fencing: both carried on (the mock cluster does "
                        "not fence a transactional.id)"
                      : "FAIL: a worker died without the other carrying on");
        it_sleep_ms(2000);
        return finish_all(r) || !(fenced || both) ? -1 : 0;
}

static int scenario_restore(run_t *r)
{
        char cmd[700];
        worker_t *w = worker_add(r, "w1");
        if (import_start(r) || import_wait(r) || worker_start(r, w, 0, NULL) ||
            it_wait_log(last_log(r), 0, "ready=true", 60000) ||
            wait_commits(last_log(r), 0, 3, 30000) || worker_kill(r, w))
                return -1;
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->store);
        if (system(cmd) || fault(r, "rtt 1 300"))
                return -1;
        if (worker_start(r, w, 0, NULL) ||
            it_wait_log(last_log(r), 0, "restoring=true", 60000))
                return -1;
        int64_t t0 = mono_ms();
        it_signal(w->pid, SIGTERM);
        int rc = it_wait(w->pid, 30000);
        w->pid = 0;
        int64_t ms = mono_ms() - t0;
        bool stopped = !it_wait_log(last_log(r), 0, "error=STOPPED", 0);
        printf("pd-chaos: restore: SIGTERM while restoring: exit %d after %lld "
               "ms, restore %s\n",
               rc, (long long)ms,
               stopped ? "stopped early" : "had already finished");
        /* A restore that ended before the signal tested nothing. */
        if (rc != 0 || !stopped || fault(r, "rtt 1 0"))
                return -1;
        return worker_finish(r, w);
}

int main(int argc, char **argv)
{
        char errstr[512], self[512];
        run_t r;
        if (parse(argc, argv)) {
                usage(stderr);
                return 2;
        }
        if (!getenv("PD_BIN_DIR")) {
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
                self[n > 0 ? n : 0] = '\0';
                setenv("PD_BIN_DIR", n > 0 ? dirname(self) : ".", 1);
        }
        if (pd_codec_new(NULL, &codec, errstr, sizeof(errstr)))
                return 2;
        if (!strcmp(o.scenario, "chunk")) {
                int crc = o.bootstrap ? produce_chunk(o.bootstrap, o.chunk) : 2;
                pd_codec_destroy(codec);
                return crc;
        }
        if (it_init())
                return 2;
        pd_arena_init(&arena);
        srand(o.rand_seed);
        printf("pd-chaos: scenario=%s customers=%d seed=%d partitions=%d "
               "random=%u\n",
               o.scenario, o.customers, o.seed, o.partitions, o.rand_seed);
        fflush(stdout);
        int rc = -1;
        bool faults = !strcmp(o.scenario, "faults");
        if (run_init(&r, o.scenario, faults ? 3 : 1))
                goto out;
        int (*fn)(run_t *) = !strcmp(o.scenario, "kill9")     ? scenario_kill9
                             : !strcmp(o.scenario, "multi")   ? scenario_multi
                             : faults                         ? scenario_faults
                             : !strcmp(o.scenario, "stall")   ? scenario_stall
                             : !strcmp(o.scenario, "fence")   ? scenario_fence
                             : !strcmp(o.scenario, "restore") ? scenario_restore
                                                              : NULL;
        if (!fn) {
                usage(stderr);
                rc = -2;
        } else if (fn(&r) || reference(r.imports)) {
                fprintf(stderr,
                        "pd-chaos: %s: the scenario did not run "
                        "through (see above)\n",
                        o.scenario);
                if (r.n_logs)
                        it_dump_log(last_log(&r), 30);
        } else {
                rc = check(&r, true);
        }
        run_term(&r);
out:
        it_outputs_free(&ref.out);
        pd_codec_destroy(codec);
        pd_arena_term(&arena);
        return rc == 0 ? 0 : rc == -2 ? 2 : 1;
}
