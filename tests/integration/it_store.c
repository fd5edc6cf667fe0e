/* Integration: the LMDB store under pressure, with the real worker on the
 * embedded broker and pd-import's deterministic sample as input.
 *
 *  - Map full mid-run: with store.map.size=1 MiB the map fills up while the
 *    sample streams.  The batch that meets MDB_MAP_FULL aborts before any
 *    of its changelog or partition-state records (the latter carry the
 *    input offsets) is produced, the map doubles, the input is read again;
 *    the outputs and final markers equal an uninterrupted run's.
 *  - store.map.max: a worker that would have to grow past it stops with
 *    exit code 1 and says so; restarted with a larger bound it resumes and
 *    nothing is lost.
 *  - Stale readers: a process killed with -9 inside a read transaction,
 *    while another keeps the store open; the next worker clears its slot
 *    and logs the count.
 *
 * The pass rule, on the mock cluster (which shows the records of aborted
 * transactions; see it_restart.c): every output record carries pd.txn and
 * comes from a transaction some incarnation logged as committed
 * ("committed txn=", debug level) or as aborted ("batch_abort=true txn=");
 * each output id has exactly one committed copy; the distinct ids equal the
 * reference's; no changelog or partition-state record comes from an
 * aborted transaction; the latest marker of every customer is byte for
 * byte the reference's. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "harness.h"
#include "store.h"

#define PARTITIONS 4
#define SAMPLE     "300" /* customers: 2334 events with seed 7 */
#define SEED       "7"
#define BATCH      "batch.max.messages=20"
#define MAP_MIN    "1048576" /* store.map.size's minimum */
#define STARTS_MAX 4

typedef struct run_s {
        char bootstrap[256];
        pid_t broker;
        char store[512];
        char metrics[600];
        int n;
        char logs[STARTS_MAX][640];
} run_t;

static struct {
        pd_codec_t *codec;
        pd_arena_t arena;
        run_t ref;
        it_outputs_t ref_out;
        const char **ref_ids; /* distinct, sorted */
        size_t n_ref_ids;
} g;

static void run_init(run_t *r, const char *tag)
{
        char bin[512], log[700];
        memset(r, 0, sizeof(*r));
        r->broker =
            it_broker_start(PARTITIONS, r->bootstrap, sizeof(r->bootstrap));
        assert_true(r->broker > 0);
        it_mkdtemp(tag, r->store, sizeof(r->store));
        snprintf(r->metrics, sizeof(r->metrics), "%s.metrics.json", r->store);
        snprintf(log, sizeof(log), "%s.import.log", r->store);
        char *argv[] = {(char *)it_bin("pd-import", bin, sizeof(bin)),
                        "-b",
                        r->bootstrap,
                        "--sample",
                        SAMPLE,
                        "--seed",
                        SEED,
                        NULL};
        pid_t pid = it_spawn(argv, log);
        assert_true(pid > 0);
        assert_int_equal(it_wait(pid, 120000), 0);
}

static void run_term(run_t *r)
{
        it_signal(r->broker, SIGTERM);
        it_wait(r->broker, 10000);
}

/* Runs one worker incarnation to its end (idle exit or a fatal error) with
 * up to two extra properties (NULL: none); returns its exit code.  A short
 * session timeout lets a stopped member's partitions move on quickly. */
static int run_worker(run_t *r, const char *x1, const char *x2)
{
        assert_true(r->n < STARTS_MAX);
        char *log = r->logs[r->n++];
        snprintf(log, sizeof(r->logs[0]), "%s.w%d.log", r->store, r->n - 1);
        it_worker_t w = {.bootstrap = r->bootstrap,
                         .group = "it-store",
                         .instance = "w1",
                         .store = r->store,
                         .metrics = r->metrics,
                         .log = log,
                         .idle_exit_ms = IT_IDLE_MS,
                         .extra = {"log.level=debug", BATCH,
                                   "kafka.session.timeout.ms=6000",
                                   "kafka.heartbeat.interval.ms=500", x1, x2}};
        pid_t pid = it_worker_start(&w);
        assert_true(pid > 0);
        int rc = it_wait(pid, 240000);
        return rc;
}

static int setup(void **state)
{
        (void)state;
        return it_setup(0, NULL, 0, &g.arena, &g.codec);
}

static int teardown(void **state)
{
        (void)state;
        if (g.ref_out.persona.v)
                it_outputs_free(&g.ref_out);
        it_teardown(&g.arena, g.codec);
        return 0;
}

/* ---- the pass rule ------------------------------------------------------ */

typedef struct txns_s {
        const char **committed, **aborted; /* sorted */
        size_t n_committed, n_aborted;
} txns_t;

static int cmp_cstr(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool in(const char **v, size_t n, const char *s)
{
        return bsearch(&s, v, n, sizeof(*v), cmp_cstr) != NULL;
}

/* The incarnations' log paths, as the harness takes them. */
static size_t log_paths(const run_t *r, const char **logs)
{
        for (int i = 0; i < r->n; i++)
                logs[i] = r->logs[i];
        return (size_t)r->n;
}

/* The values after needle in every incarnation's log, sorted. */
static size_t log_values_all(const run_t *r, const char *needle,
                             const char ***vp)
{
        const char *logs[STARTS_MAX];
        size_t n;
        assert_int_equal(
            it_logs_values(logs, log_paths(r, logs), needle, &g.arena, vp, &n),
            0);
        return n;
}

static void read_txns(const run_t *r, txns_t *t)
{
        t->n_committed = log_values_all(r, "committed txn=", &t->committed);
        t->n_aborted = log_values_all(r, "batch_abort=true txn=", &t->aborted);
        if (!t->n_committed)
                fail_msg("no 'committed txn=' line (log.level=debug?)");
        for (size_t i = 0; i < t->n_aborted; i++)
                if (in(t->committed, t->n_committed, t->aborted[i]))
                        fail_msg("txn %s both aborted and committed",
                                 t->aborted[i]);
}

static const char *txn_of(const it_record_t *rec, const char *topic)
{
        const char *txn = pd_kvs_get(&rec->headers, "pd.txn");
        if (!txn || !*txn)
                fail_msg("%s partition %d offset %lld: no pd.txn", topic,
                         rec->partition, (long long)rec->offset);
        return txn;
}

/* Checks r's outputs against the rule above; fills the distinct ids.  The
 * harness's lenient rule (pd.txn on every record, at most one committed
 * copy per id), then this test's stricter one: exactly one committed copy,
 * every other copy from a transaction logged as aborted. */
static size_t check_copies(const run_t *r, const txns_t *t,
                           const it_outputs_t *out, const char ***idsp,
                           size_t *aborted_copies)
{
        const char *logs[STARTS_MAX];
        it_check_t c;
        assert_int_equal(
            it_check_copies(logs, log_paths(r, logs), out, true, &g.arena, &c),
            0);
        *aborted_copies = 0;
        for (size_t i = 0, j; i < c.n_copies; i = j) {
                size_t committed = 0;
                for (j = i;
                     j < c.n_copies && !strcmp(c.copies[j].id, c.copies[i].id);
                     j++) {
                        if (in(t->committed, t->n_committed, c.copies[j].txn))
                                committed++;
                        else if (in(t->aborted, t->n_aborted, c.copies[j].txn))
                                ++*aborted_copies;
                        else
                                fail_msg("output %s from txn %s, neither "
                                         "committed nor aborted",
                                         c.copies[i].id, c.copies[j].txn);
                }
                if (committed != 1)
                        fail_msg("output %s has %zu committed copies",
                                 c.copies[i].id, committed);
        }
        *idsp = c.ids;
        return c.n_ids;
}

/* No record of topic comes from an aborted transaction; each from a
 * committed one. */
static size_t check_changelog(const run_t *r, const txns_t *t,
                              const char *topic)
{
        it_records_t recs;
        assert_int_equal(it_read(r->bootstrap, topic, &recs), 0);
        for (size_t i = 0; i < recs.n; i++) {
                const char *txn = txn_of(&recs.v[i], topic);
                if (!in(t->committed, t->n_committed, txn))
                        fail_msg("%s partition %d offset %lld from txn %s "
                                 "(%s)",
                                 topic, recs.v[i].partition,
                                 (long long)recs.v[i].offset, txn,
                                 in(t->aborted, t->n_aborted, txn)
                                     ? "aborted: written before the store"
                                     : "never committed");
        }
        size_t n = recs.n;
        it_records_free(&recs);
        return n;
}

static void compare_with_reference(const run_t *r, const char *tag)
{
        it_outputs_t out;
        txns_t t;
        const char **ids;
        size_t aborted_copies;
        assert_non_null(g.ref_ids);
        read_txns(r, &t);
        assert_int_equal(it_outputs_read(r->bootstrap, g.codec, &out), 0);
        size_t n_ids = check_copies(r, &t, &out, &ids, &aborted_copies);
        assert_int_equal(n_ids, g.n_ref_ids);
        for (size_t i = 0; i < n_ids; i++)
                if (strcmp(ids[i], g.ref_ids[i]))
                        fail_msg("output ids differ from the reference at "
                                 "%zu: %s vs %s",
                                 i, ids[i], g.ref_ids[i]);
        size_t persona = check_changelog(r, &t, "customer.persona");
        size_t pstate = check_changelog(r, &t, "persona-dna.partition-state");
        assert_int_equal(out.n_latest, g.ref_out.n_latest);
        int differ = 0;
        for (size_t i = 0; i < g.ref_out.n_latest; i++) {
                const it_record_t *want = g.ref_out.latest[i];
                const it_record_t *got = it_outputs_marker(&out, want->key);
                if (!got || got->len != want->len ||
                    (want->len && memcmp(got->value, want->value, want->len)))
                        if (differ++ < 5)
                                fprintf(stderr,
                                        "it_store: marker of %s differs\n",
                                        want->key);
        }
        if (differ)
                fail_msg("%d final markers differ from the reference", differ);
        fprintf(stderr,
                "it_store: %s: distinct_ids=%zu copies_of_aborted_txns=%zu "
                "committed_txns=%zu aborted_txns=%zu changelog=%zu "
                "partition_state=%zu markers=%zu incarnations=%d\n",
                tag, n_ids, aborted_copies, t.n_committed, t.n_aborted, persona,
                pstate, out.n_latest, r->n);
        it_outputs_free(&out);
}

/* Aborted batches of r whose reason was the full map, store commits that
 * found it full after the Kafka commit (the store then restores from the
 * changelogs), and map growths. */
static void count_full(const run_t *r, size_t *aborts, size_t *after,
                       size_t *grown)
{
        const char **v;
        *aborts = *after = *grown = 0;
        for (int i = 0; i < r->n; i++) {
                size_t n = it_log_values(r->logs[i], "reason=", &g.arena, &v);
                for (size_t k = 0; k < n; k++)
                        *aborts += !strcmp(v[k], "\"store");
                *after += it_log_values(
                    r->logs[i], "store_full_after_commit=", &g.arena, &v);
                *grown += it_log_values(r->logs[i], "grown=", &g.arena, &v);
        }
}

/* ---- scenarios ---------------------------------------------------------- */

static void test_reference(void **state)
{
        (void)state;
        run_init(&g.ref, "ref");
        int rc = run_worker(&g.ref, NULL, NULL);
        if (rc)
                it_dump_log(g.ref.logs[0], 40);
        assert_int_equal(rc, 0);
        assert_int_equal(it_metric(g.ref.metrics, "consumed"), 2334);
        assert_int_equal(it_outputs_read(g.ref.bootstrap, g.codec, &g.ref_out),
                         0);
        txns_t t;
        size_t aborted_copies;
        read_txns(&g.ref, &t);
        assert_int_equal(t.n_aborted, 0);
        g.n_ref_ids =
            check_copies(&g.ref, &t, &g.ref_out, &g.ref_ids, &aborted_copies);
        assert_int_equal(g.n_ref_ids, g.ref_out.n_plans + g.ref_out.n_actions);
        assert_true(g.n_ref_ids > 2334);
        /* The broker stays up for test_stale_reader_cleared. */
}

/* A 1 MiB map fills up mid-run: aborts, growths, then the reference. */
static void test_map_full_grows(void **state)
{
        run_t r;
        size_t aborts, after, grown;
        (void)state;
        run_init(&r, "mapfull");
        int rc = run_worker(&r, "store.map.size=" MAP_MIN, NULL);
        if (rc)
                it_dump_log(r.logs[0], 40);
        assert_int_equal(rc, 0);
        count_full(&r, &aborts, &after, &grown);
        fprintf(stderr,
                "it_store: map full: %zu batches aborted, %zu full after the "
                "Kafka commit, %zu growths\n",
                aborts, after, grown);
        assert_true(aborts + after >= 1);
        assert_int_equal(grown, aborts + after);
        assert_int_equal(
            it_wait_log(r.logs[0], 0, "map_size=2097152 grown=true", 0), 0);
        compare_with_reference(&r, "map full");
        run_term(&r);
}

/* store.map.max at the initial size: the first full map stops the
 * worker; a restart with room resumes and loses nothing. */
static void test_map_max_stops(void **state)
{
        run_t r;
        size_t aborts, after, grown;
        (void)state;
        run_init(&r, "mapmax");
        int rc =
            run_worker(&r, "store.map.size=" MAP_MIN, "store.map.max=" MAP_MIN);
        assert_int_equal(rc, 1);
        assert_int_equal(it_wait_log(r.logs[0], 0,
                                     "cannot double within "
                                     "store.map.max=" MAP_MIN,
                                     0),
                         0);
        assert_int_equal(it_wait_log(r.logs[0], 0, "fatal=true", 0), 0);
        count_full(&r, &aborts, &after, &grown);
        assert_int_equal(aborts + after, 1);
        assert_int_equal(grown, 0);
        /* It had committed batches before the map filled: the restart
         * resumes mid-stream. */
        const char **v;
        assert_true(it_log_values(r.logs[0], "committed txn=", &g.arena, &v) >
                    0);
        rc =
            run_worker(&r, "store.map.size=" MAP_MIN, "store.map.max=67108864");
        if (rc)
                it_dump_log(r.logs[1], 40);
        assert_int_equal(rc, 0);
        /* It resumed where the first stopped, not from the start. */
        size_t k = it_log_values(r.logs[1], "resume_offset=", &g.arena, &v);
        bool resumed = false;
        for (size_t i = 0; i < k; i++)
                resumed |= atoll(v[i]) > 0;
        assert_true(resumed);
        compare_with_reference(&r, "map max");
        run_term(&r);
}

/* A child process that opens the store (and a read transaction when txn)
 * and waits to be killed.  Returns its pid once open. */
static pid_t store_child(const char *dir, bool txn)
{
        int fds[2];
        char c;
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char err[256];
                pd_store_t *store;
                pd_store_txn_t *rtxn;
                close(fds[0]);
                if (pd_store_open(dir, 1 << 30, &store, err, sizeof(err)) ||
                    (txn && pd_store_txn_begin(store, 1, &rtxn)) ||
                    write(fds[1], "r", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &c, 1), 1);
        close(fds[0]);
        return pid;
}

/* On the reference's store: a reader killed with -9 while a second
 * process keeps the store open (else LMDB resets the reader table on the
 * next open anyway).  The worker started next clears it and logs it. */
static void test_stale_reader_cleared(void **state)
{
        (void)state;
        assert_true(g.ref.n > 0);
        pid_t holder = store_child(g.ref.store, false);
        pid_t reader = store_child(g.ref.store, true);
        kill(reader, SIGKILL);
        assert_int_equal(waitpid(reader, NULL, 0), reader);
        /* Everything is processed: the worker opens the store, finds
         * nothing new and exits when idle. */
        int rc = run_worker(&g.ref, NULL, NULL);
        kill(holder, SIGKILL);
        waitpid(holder, NULL, 0);
        if (rc)
                it_dump_log(g.ref.logs[g.ref.n - 1], 40);
        assert_int_equal(rc, 0);
        assert_int_equal(it_wait_log(g.ref.logs[g.ref.n - 1], 0,
                                     "stale_readers_cleared=1", 0),
                         0);
        run_term(&g.ref);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_reference),
            cmocka_unit_test(test_stale_reader_cleared),
            cmocka_unit_test(test_map_full_grows),
            cmocka_unit_test(test_map_max_stops),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
