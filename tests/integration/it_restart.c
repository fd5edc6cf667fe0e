/* Integration: a worker stopped (SIGTERM), killed (SIGKILL) or stripped of
 * its store mid-stream and restarted ends with exactly the outputs and
 * markers of an uninterrupted run of the same input (the pass rule lives
 * in harness.c, shared with pd-chaos).
 *
 * The embedded broker (librdkafka's mock cluster) has no transaction
 * semantics: an uncommitted transaction's records stay visible to
 * read_committed consumers and no abort marker hides them.  After a
 * SIGKILL a replay can therefore re-emit outputs whose first copies a real
 * broker would never show.  The pass rule tells those apart exactly: every
 * plan and action carries pd.txn = "<incarnation>/<batch>", and every
 * worker incarnation logs (at debug level, into its own file) each
 * transaction it committed.  So:
 *  - the set of distinct output ids equals the reference run's;
 *  - every output record carries pd.txn;
 *  - of the copies of one id, at most one comes from a committed
 *    transaction (the others are leftovers of killed transactions);
 *  - after a SIGTERM (clean stop) nothing is written twice at all;
 *  - the latest changelog record of every customer equals the reference.
 *
 * Each scenario gets its own broker process, so the runs cannot see each
 * other's outputs; the input is pd-import's deterministic sample. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <librdkafka/rdkafka.h>

#include "buf.h"
#include "harness.h"

#define PARTITIONS 4
#define SAMPLE     "300" /* customers: 2334 events with seed 7 (--dry-run) */
#define SEED       "7"
/* Small batches (about 120 transactions for the sample, 2-3 s of work)
 * so that every kill lands mid-stream, inside some batch; the reference
 * uses the same, batch boundaries must not matter anyway. */
#define BATCH "batch.max.messages=20"

#define STARTS_MAX 8

typedef struct run_s {
        char bootstrap[256];
        pid_t broker;
        char store[512];
        char log[600]; /* the importer's log is <log>.import */
        char metrics[600];
        int n;                      /* worker starts */
        char logs[STARTS_MAX][640]; /* one log per worker incarnation */
} run_t;

static struct {
        pd_codec_t *codec;
        pd_arena_t arena;
        run_t ref;
        it_outputs_t ref_out;
        const char **ref_ids;
        size_t n_ref_ids;
        unsigned seed;
} g;

static void import_sample(const run_t *r)
{
        char bin[512], log[700];
        const char *bootstrap = r->bootstrap;
        snprintf(log, sizeof(log), "%s.import", r->log);
        char *argv[] = {(char *)it_bin("pd-import", bin, sizeof(bin)),
                        "-b",
                        (char *)bootstrap,
                        "--sample",
                        SAMPLE,
                        "--seed",
                        SEED,
                        NULL};
        pid_t pid = it_spawn(argv, log);
        assert_true(pid > 0);
        assert_int_equal(it_wait(pid, 120000), 0);
}

static void run_init(run_t *r, const char *tag)
{
        memset(r, 0, sizeof(*r));
        r->broker =
            it_broker_start(PARTITIONS, r->bootstrap, sizeof(r->bootstrap));
        assert_true(r->broker > 0);
        it_mkdtemp(tag, r->store, sizeof(r->store));
        snprintf(r->log, sizeof(r->log), "%s.log", r->store);
        snprintf(r->metrics, sizeof(r->metrics), "%s.metrics.json", r->store);
        import_sample(r);
}

static void run_term(run_t *r)
{
        it_signal(r->broker, SIGTERM);
        it_wait(r->broker, 10000);
        r->broker = 0;
}

/* The log of the worker incarnation started last. */
static const char *last_log(const run_t *r)
{
        return r->logs[r->n - 1];
}

/* Waits up to timeout_ms until the log at path holds n commit lines. */
static int wait_commits(const char *path, int n, int timeout_ms)
{
        pd_arena_t a;
        int rc = -1;
        pd_arena_init(&a);
        for (int waited = 0; rc && waited <= timeout_ms; waited += 5) {
                const char **v;
                pd_arena_reset(&a);
                if (it_log_values(path, "committed txn=", &a, &v) >= (size_t)n)
                        rc = 0;
                else
                        it_sleep_ms(5);
        }
        pd_arena_term(&a);
        return rc;
}

/* Short session timeout: a SIGKILLed member leaves the group in seconds
 * rather than librdkafka's default 45 s.  Debug level: the worker logs
 * "committed txn=<incarnation>/<batch>" for every commit. */
static pid_t worker_start(run_t *r, int idle_exit_ms)
{
        assert_true(r->n < STARTS_MAX);
        snprintf(r->logs[r->n], sizeof(r->logs[r->n]), "%s.w%d.log", r->store,
                 r->n);
        it_worker_t w = {.bootstrap = r->bootstrap,
                         .group = "it-restart",
                         .instance = "w1",
                         .store = r->store,
                         .metrics = r->metrics,
                         .log = r->logs[r->n],
                         .idle_exit_ms = idle_exit_ms,
                         .extra = {"kafka.session.timeout.ms=6000",
                                   "kafka.heartbeat.interval.ms=500",
                                   "log.level=debug", BATCH}};
        r->n++;
        pid_t pid = it_worker_start(&w);
        assert_true(pid > 0);
        return pid;
}

/* Runs the worker until it is idle and exits 0.  Rejoining after a kill
 * can take 10 s (the old member's session must expire), but idleness
 * counts from the assignment, so the idle limit only covers fetching. */
static void worker_finish(run_t *r)
{
        int rc = it_wait(worker_start(r, IT_IDLE_MS), 240000);
        if (rc)
                it_dump_log(last_log(r), 60);
        assert_int_equal(rc, 0);
}

static int setup(void **state)
{
        (void)state;
        if (it_setup(0, NULL, 0, &g.arena, &g.codec))
                return -1;
        g.seed = getenv("IT_SEED") ? (unsigned)atoi(getenv("IT_SEED"))
                                   : (unsigned)time(NULL);
        fprintf(stderr, "it_restart: IT_SEED=%u\n", g.seed);
        srand(g.seed);
        return 0;
}

static int teardown(void **state)
{
        (void)state;
        if (g.ref_out.persona.v)
                it_outputs_free(&g.ref_out);
        it_teardown(&g.arena, g.codec);
        return 0;
}

/* The pass rule of harness.h: distinct ids equal the reference's, at
 * most one committed copy per id (lenient: r had SIGKILLed incarnations)
 * or none repeated at all, final markers equal the reference's. */
static void compare_with_reference(const run_t *r, const char *tag, bool kills)
{
        it_outputs_t out;
        it_verdict_t v;
        const char *logs[STARTS_MAX];
        char line[64];
        assert_non_null(g.ref_ids);
        assert_int_equal(it_outputs_read(r->bootstrap, g.codec, &out), 0);
        for (int i = 0; i < r->n; i++)
                logs[i] = r->logs[i];
        int rc =
            it_compare(g.codec, &g.ref_out, g.ref_ids, g.n_ref_ids, &out, logs,
                       (size_t)r->n, kills, &g.arena, &v);
        snprintf(line, sizeof(line), "it_restart: %s (incarnations=%d)", tag,
                 r->n);
        it_verdict_print(stderr, line, &v);
        it_outputs_free(&out);
        if (rc)
                fail_msg("%s: the pass rule is broken (see above)", tag);
}

/* The uninterrupted run everything else is compared with. */
static void test_reference(void **state)
{
        struct timespec t0, t1;
        (void)state;
        run_init(&g.ref, "ref");
        clock_gettime(CLOCK_MONOTONIC, &t0);
        worker_finish(&g.ref);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        fprintf(stderr, "it_restart: reference run %.1f s\n",
                (double)(t1.tv_sec - t0.tv_sec) +
                    (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
        assert_int_equal(it_metric(g.ref.metrics, "consumed"), 2334);
        assert_int_equal(it_metric(g.ref.metrics, "dead_lettered"), 0);
        assert_int_equal(it_outputs_read(g.ref.bootstrap, g.codec, &g.ref_out),
                         0);
        /* Strict: every copy committed (this also proves the commit lines
         * and the pd.txn headers are read), no id twice. */
        it_check_t c;
        const char *logs[STARTS_MAX];
        for (int i = 0; i < g.ref.n; i++)
                logs[i] = g.ref.logs[i];
        assert_int_equal(it_check_copies(logs, (size_t)g.ref.n, &g.ref_out,
                                         false, &g.arena, &c),
                         0);
        assert_int_equal(c.n_ids, c.n_copies);
        g.ref_ids = c.ids;
        g.n_ref_ids = c.n_ids;
        assert_true(g.n_ref_ids > 2334);
        fprintf(stderr,
                "it_restart: reference: records=%zu committed_txns=%zu "
                "markers=%zu\n",
                c.n_copies, c.n_txns, g.ref_out.n_latest);
        run_term(&g.ref);
}

static void test_sigterm_restart(void **state)
{
        run_t r;
        (void)state;
        run_init(&r, "sigterm");
        pid_t pid = worker_start(&r, 0);
        assert_int_equal(it_wait_log(last_log(&r), 0, "ready=true", 60000), 0);
        it_sleep_ms(300 + rand() % 1500);
        it_signal(pid, SIGTERM);
        int rc = it_wait(pid, 30000);
        if (rc)
                it_dump_log(last_log(&r), 40);
        assert_int_equal(rc, 0); /* SIGTERM: clean exit */
        worker_finish(&r);
        compare_with_reference(&r, "sigterm", false);
        run_term(&r);
}

/* Three SIGKILLs at random points, then a run to the end; the store is
 * kept (lose_store false) or deleted (true) after each kill. */
static void kill_and_restart(const char *tag, bool lose_store)
{
        run_t r;
        char cmd[700];
        run_init(&r, tag);
        for (int i = 0; i < 3; i++) {
                pid_t pid = worker_start(&r, 0);
                /* Mid-stream: after 1-4 commits of this incarnation and
                 * a random part of a batch. */
                assert_int_equal(
                    it_wait_log(last_log(&r), 0, "ready=true", 60000), 0);
                int commits = 1 + rand() % 4, pause = rand() % 40;
                assert_int_equal(wait_commits(last_log(&r), commits, 60000), 0);
                it_sleep_ms(pause);
                it_signal(pid, SIGKILL);
                assert_int_equal(it_wait(pid, 10000), 128 + SIGKILL);
                if (lose_store) {
                        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", r.store);
                        assert_int_equal(system(cmd), 0);
                }
        }
        worker_finish(&r);
        /* The kills were mid-stream: the last run still had input. */
        const char **v;
        assert_true(
            it_log_values(last_log(&r), "committed txn=", &g.arena, &v) > 0);
        compare_with_reference(&r, tag, true);
        run_term(&r);
}

static void test_kill9_restart(void **state)
{
        (void)state;
        kill_and_restart("kill9", false);
}

static void test_kill9_store_lost(void **state)
{
        (void)state;
        kill_and_restart("kill9-nostore", true);
}

/* Produces one record to topic/partition with header pd.txn = txn. */
static void produce_forged(rd_kafka_t *rk, const char *topic, int32_t p,
                           const char *key, const void *value, size_t len,
                           const char *txn)
{
        rd_kafka_headers_t *h = rd_kafka_headers_new(1);
        rd_kafka_header_add(h, "pd.txn", -1, txn, -1);
        assert_int_equal(
            rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
                              RD_KAFKA_V_PARTITION(p),
                              RD_KAFKA_V_KEY(key, strlen(key)),
                              RD_KAFKA_V_VALUE((void *)value, len),
                              RD_KAFKA_V_HEADERS(h),
                              RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END),
            0);
}

/* True when `pd-inspect --store DIR list` names customer. */
static bool store_has(const run_t *r, const char *customer)
{
        char bin[512], out[700], line[512];
        bool found = false;
        snprintf(out, sizeof(out), "%s.list", r->store);
        remove(out);
        char *argv[] = {(char *)it_bin("pd-inspect", bin, sizeof(bin)),
                        "--store", (char *)r->store, "list", NULL};
        pid_t pid = it_spawn(argv, out);
        assert_true(pid > 0);
        assert_int_equal(it_wait(pid, 30000), 0);
        FILE *fp = fopen(out, "r");
        assert_non_null(fp);
        while (!found && fgets(line, sizeof(line), fp))
                found = !strncmp(line, customer, strlen(customer)) &&
                        (line[strlen(customer)] == '\n' ||
                         line[strlen(customer)] == ' ' ||
                         line[strlen(customer)] == '\t');
        fclose(fp);
        return found;
}

/* A worker killed between its marker records and its partition state
 * leaves records of a transaction that never finished; the embedded
 * broker shows them.  A store restored from the changelog skips marker
 * records whose transaction wrote no partition state on their partition
 * (here a forged tombstone and a forged marker of a customer that never
 * was) and applies those of a transaction that did (a second tombstone,
 * with a partition-state record of the same transaction). */
static void test_unfinished_transaction_skipped(void **state)
{
        run_t r;
        char errstr[512], cmd[700];
        it_records_t personas = {0}, pstates = {0};
        (void)state;
        run_init(&r, "unfinished");
        worker_finish(&r);
        assert_int_equal(it_read(r.bootstrap, "customer.persona", &personas),
                         0);
        assert_int_equal(it_read(r.bootstrap, "persona-dna.partition-state",
                                 &pstates),
                         0);
        /* Two live customers of one partition, and that partition's last
         * state. */
        const it_record_t *a = NULL, *b = NULL, *ps = NULL;
        for (size_t i = personas.n; i-- > 0 && !b;) {
                const it_record_t *m = &personas.v[i];
                const it_record_t *latest =
                    it_outputs_marker(&g.ref_out, m->key);
                if (!m->value || !latest || !latest->value ||
                    (a && (a->partition != m->partition ||
                           !strcmp(a->key, m->key))))
                        continue;
                if (!a)
                        a = m;
                else
                        b = m;
        }
        assert_non_null(b);
        for (size_t i = 0; i < pstates.n; i++)
                if (pstates.v[i].partition == a->partition &&
                    pstates.v[i].value)
                        ps = &pstates.v[i];
        assert_non_null(ps);
        assert_true(store_has(&r, a->key));
        assert_true(store_has(&r, b->key));

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        assert_int_equal(rd_kafka_conf_set(conf, "bootstrap.servers",
                                           r.bootstrap, errstr,
                                           sizeof(errstr)),
                         RD_KAFKA_CONF_OK);
        rd_kafka_t *rk =
            rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
        assert_non_null(rk);
        /* Unfinished: markers only. */
        produce_forged(rk, "customer.persona", a->partition, a->key, NULL, 0,
                       "forged-incarnation/1");
        produce_forged(rk, "customer.persona", a->partition, "never-was",
                       a->value, a->len, "forged-incarnation/1");
        /* Finished: its partition state follows its marker. */
        produce_forged(rk, "customer.persona", b->partition, b->key, NULL, 0,
                       "forged-incarnation/2");
        produce_forged(rk, "persona-dna.partition-state", ps->partition,
                       ps->key, ps->value, ps->len, "forged-incarnation/2");
        assert_int_equal(rd_kafka_flush(rk, 30000), 0);
        rd_kafka_destroy(rk);

        /* The store lost: everything comes from the changelogs. */
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'/*", r.store);
        assert_int_equal(system(cmd), 0);
        worker_finish(&r);
        const char **v;
        size_t n = it_log_values(last_log(&r), "skipped_unfinished=",
                                 &g.arena, &v);
        long skipped = 0;
        for (size_t i = 0; i < n; i++)
                skipped += atol(v[i]);
        assert_int_equal(skipped, 2);
        assert_true(store_has(&r, a->key));     /* its tombstone skipped */
        assert_false(store_has(&r, "never-was")); /* never applied */
        assert_false(store_has(&r, b->key));    /* finished: erased */
        it_records_free(&personas);
        it_records_free(&pstates);
        run_term(&r);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_reference),
            cmocka_unit_test(test_sigterm_restart),
            cmocka_unit_test(test_kill9_restart),
            cmocka_unit_test(test_kill9_store_lost),
            cmocka_unit_test(test_unfinished_transaction_skipped),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
