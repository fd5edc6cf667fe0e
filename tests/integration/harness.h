/* persona-dna integration test harness: real processes, real Kafka.
 *
 * The broker (pd-broker) and the worker (persona-dna) run as their own
 * processes, forked and exec'd from $PD_BIN_DIR.  Every child is recorded
 * and killed (SIGKILL) at exit, by it_kill_all() in a teardown, and by the
 * kernel if the test process itself dies (PR_SET_PDEATHSIG), so no broker
 * outlives a failed test.  Outputs are read back with read_committed
 * consumers (pd_kafka_read_topic) and decoded with the codec. */
#ifndef PD_IT_HARNESS_H
#define PD_IT_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "arena.h"
#include "codec.h"
#include "domain.h"
#include "kafka.h"

/* ---- processes ---------------------------------------------------------- */

/* Registers the atexit cleanup; call once in each test's group setup.
 * Returns 0, or -1 when PD_BIN_DIR is unset. */
int it_init(void);
/* "$PD_BIN_DIR/name" (static buffer per call site: copy it). */
const char *it_bin(const char *name, char *out, size_t size);
/* A new empty directory under the run's temporary root (removed at exit
 * unless IT_KEEP is set).  Fills out. */
void it_mkdtemp(const char *tag, char *out, size_t size);

/* fork/exec argv (argv[0] a path) with stdout and stderr appended to log
 * (NULL: inherited).  Returns the pid (recorded), or -1. */
pid_t it_spawn(char *const argv[], const char *log);

/* Starts pd-broker --default-topics -p partitions and fills bootstrap.
 * Returns its pid, or -1. */
pid_t it_broker_start(int partitions, char *bootstrap, size_t size);
/* The same with -b brokers (topics replicated on up to 3 of them). */
pid_t it_broker_start_n(int brokers, int partitions, char *bootstrap,
                        size_t size);
/* The group setup most tests share: it_init, then (when bootstrap is not
 * NULL) pd-broker with partitions, then arena initialised and a new codec.
 * Returns 0, or -1 (message printed). */
int it_setup(int partitions, char *bootstrap, size_t size, pd_arena_t *arena,
             pd_codec_t **codec);
/* Its teardown: it_kill_all, then the codec and the arena freed. */
void it_teardown(pd_arena_t *arena, pd_codec_t *codec);
/* Sends one fault command line to the broker started as pid (its stdin is
 * kept open for this): "down B", "up B", "rtt B MS", "leader TOPIC P B",
 * "error APIKEY CODE COUNT", "coordinator txn|group KEY B".  Fills reply
 * with the broker's answer ("ok" or an error text).  Returns 0 when the
 * broker answered "ok", -1 otherwise (message printed). */
int it_broker_fault(pid_t broker, const char *cmd, char *reply,
                    size_t reply_size);

/* The worker's command line: the fixed options plus up to 12 extra
 * "key=value" properties (NULL-terminated). */
typedef struct it_worker_s {
        const char *bootstrap;
        const char *group;    /* group.id */
        const char *instance; /* instance.id */
        const char *store;    /* store.path */
        const char *metrics;  /* metrics.path (may be NULL) */
        const char *log;      /* stdout+stderr appended here (may be NULL) */
        int idle_exit_ms;     /* exit.when.idle.ms, 0: run until signalled */
        const char *extra[13];
} it_worker_t;

/* Starts persona-dna with clock=event, batch.max.ms=100 and w's
 * options, under the command in $IT_WORKER_WRAP when set (valgrind).
 * Returns the pid, or -1. */
pid_t it_worker_start(const it_worker_t *w);
/* it_worker_start, then it_wait up to timeout_ms; on a nonzero exit the
 * last 40 lines of w->log go to stderr.  Returns the exit code (as
 * it_wait), or -1 when the worker did not start. */
int it_worker_run(const it_worker_t *w, int timeout_ms);

/* Waits up to timeout_ms for pid.  Returns its exit code, 128+signal when
 * killed by a signal, or -1 on timeout (the child is then SIGKILLed). */
int it_wait(pid_t pid, int timeout_ms);
/* Without waiting: pid's exit code (as it_wait) once it has ended, -1
 * while it runs. */
int it_poll(pid_t pid);
/* Sends sig to pid (a recorded child). */
void it_signal(pid_t pid, int sig);
/* SIGTERM every recorded child, SIGKILL what is left after 3 s. */
void it_kill_all(void);
/* Sleeps ms milliseconds. */
void it_sleep_ms(int ms);
/* Waits up to timeout_ms until the file at path holds needle after byte
 * offset from.  Returns 0, or -1 on timeout. */
int it_wait_log(const char *path, long from, const char *needle,
                int timeout_ms);
/* The size of the file at path (0 when absent). */
long it_file_size(const char *path);
/* Prints the last lines of a log file to stderr (for a failing test). */
void it_dump_log(const char *path, int lines);
/* Every token (up to the next blank) that follows needle in the file at
 * path, one per line holding it, copied into arena and sorted with
 * strcmp.  Returns the count (0 when the file is absent). */
size_t it_log_values(const char *path, const char *needle, pd_arena_t *arena,
                     const char ***valsp);

/* it_log_values over every file of logs, merged and sorted (arena-owned).
 * Returns 0, or -1 when out of memory. */
int it_logs_values(const char *const *logs, size_t n_logs, const char *needle,
                   pd_arena_t *arena, const char ***valsp, size_t *np);

/* ---- producing ---------------------------------------------------------- */

/* Encodes ev and produces it keyed by its customer id (partition -1: by
 * key, as Java clients do).  Returns 0 or -1. */
int it_produce_event(pd_kafka_producer_t *producer, pd_codec_t *codec,
                     const char *topic, int32_t partition,
                     const pd_event_t *ev);

/* ---- reading back ------------------------------------------------------- */

typedef struct it_record_s {
        int32_t partition;
        int64_t offset;
        const char *key; /* NUL-terminated copy; NULL: no key */
        size_t key_len;
        const unsigned char *value; /* NULL: tombstone */
        size_t len;
        pd_kvs_t headers;
} it_record_t;

typedef struct it_records_s {
        it_record_t *v;
        size_t n, cap;
        pd_arena_t arena;
} it_records_t;

/* Reads all of topic (read_committed) into recs (initialised here).
 * Returns 0 or -1 (message printed). */
int it_read(const char *bootstrap, const char *topic, it_records_t *recs);
void it_records_free(it_records_t *recs);

/* Decoded outputs of a run. */
typedef struct it_outputs_s {
        pd_arena_t arena;
        it_records_t persona, plans_raw, actions_raw;
        pd_plan_t *plans;
        size_t n_plans;
        pd_action_t *actions;
        size_t n_actions;
        /* latest changelog record per customer (NULL value: erased) */
        const it_record_t **latest;
        size_t n_latest;
} it_outputs_t;

/* Reads customer.persona, customer.plans and customer.actions and decodes
 * them.  Returns 0 or -1 (an undecodable record is a failure). */
int it_outputs_read(const char *bootstrap, pd_codec_t *codec,
                    it_outputs_t *out);
void it_outputs_free(it_outputs_t *out);

/* The latest marker record of customer, or NULL. */
const it_record_t *it_outputs_marker(const it_outputs_t *out,
                                     const char *customer);

/* Sorted ids of every plan and action (arena-owned).  Returns the count. */
size_t it_outputs_ids(const it_outputs_t *out, pd_arena_t *arena,
                      const char ***idsp);

/* ---- metrics ------------------------------------------------------------ */

/* The integer at a dotted path ("duplicates", "actions.send_survey") of
 * the metrics JSON file, or -1. */
long long it_metric(const char *path, const char *key);

/* ---- pd-inspect ---------------------------------------------------------- */

/* Runs pd-inspect --store store summary --json (with --as-of as_of unless
 * NULL), its output kept in dir/inspect-<as_of or "latest">.json, and
 * parses that.  Returns the JSON (json_decref it), or NULL when pd-inspect
 * failed or its output does not parse (message printed). */
json_t *it_inspect_summary(const char *store, const char *as_of,
                           const char *dir);

/* ---- time --------------------------------------------------------------- */

/* UTC y-m-d h:mi as epoch milliseconds. */
int64_t it_ms(int y, int mo, int d, int h, int mi);

#define IT_DAY (86400LL * 1000)

/* exit.when.idle.ms for runs that should end once caught up.  The worker
 * counts idleness from the later of its last record and its last
 * assignment (after the restore), never before it holds partitions, so the
 * limit only has to cover a pause in fetching, not the group join. */
#define IT_IDLE_MS 3000

/* ---- the pass rule --------------------------------------------------------
 * Every plan and action carries pd.txn = "<incarnation>/<batch>", and
 * every worker incarnation logs (at debug level, into its own file) each
 * transaction it committed.  The embedded broker has no transaction
 * semantics (an aborted or killed transaction's records stay visible), so
 * the rule tells those leftovers apart exactly:
 *  - the distinct output ids equal the reference run's;
 *  - every output record carries pd.txn;
 *  - of the copies of one id, at most one comes from a committed
 *    transaction (lenient: kills or aborts happened) or, strict, every
 *    copy is committed and no id repeats;
 *  - the latest changelog record of every customer equals the reference
 *    (a project-manager-only difference is excused on partitions with
 *    changelog records of uncommitted transactions, see harness.c). */

/* One plan or action record: its id and the transaction that wrote it. */
typedef struct it_copy_s {
        const char *id;
        const char *txn; /* pd.txn */
        const char *topic;
        int32_t partition;
        int64_t offset;
} it_copy_t;

typedef struct it_check_s {
        const char **txns; /* committed transactions, sorted */
        size_t n_txns;
        it_copy_t *copies; /* sorted by id, then txn */
        size_t n_copies;
        const char **ids; /* distinct, sorted */
        size_t n_ids;
        size_t extra_copies;       /* copies beyond the first of an id */
        size_t uncommitted_single; /* ids written once, uncommitted */
        size_t bad_ids;            /* ids breaking the rule */
} it_check_t;

typedef struct it_verdict_s {
        size_t records, distinct_ids, missing, unexpected;
        size_t duplicates; /* excused copies (uncommitted transactions) */
        size_t bad_ids;    /* ids with more than one committed copy, or
                              any repeat when strict */
        size_t uncommitted_single, committed_txns;
        size_t markers, ref_markers, markers_differ;
        size_t changelog_records, torn_records;
} it_verdict_t;

/* Judges the copies of out's output ids by the commit lines of the given
 * worker logs (arena-owned results in c).  Returns 0, or -1 when the rule
 * is broken or the logs hold no commit line (reasons printed). */
int it_check_copies(const char *const *logs, size_t n_logs,
                    const it_outputs_t *out, bool lenient, pd_arena_t *arena,
                    it_check_t *c);
/* The whole pass rule: out (read after the run) against the reference
 * ref with its sorted distinct ids.  Fills v; returns 0 when it passes,
 * -1 otherwise (reasons printed to stderr). */
int it_compare(pd_codec_t *codec, const it_outputs_t *ref,
               const char *const *ref_ids, size_t n_ref_ids,
               const it_outputs_t *out, const char *const *logs, size_t n_logs,
               bool lenient, pd_arena_t *arena, it_verdict_t *v);
/* One line with every figure of v. */
void it_verdict_print(FILE *fp, const char *tag, const it_verdict_t *v);

#endif
