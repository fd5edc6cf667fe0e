/* persona-dna integration test harness (see harness.h). */
#include "harness.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

#define CHILDREN_MAX 64

static pid_t children[CHILDREN_MAX];
static void broker_forget(pid_t pid);
static char tmp_root[512];
static bool inited;

/* ---- processes ---------------------------------------------------------- */

static void forget(pid_t pid)
{
        for (int i = 0; i < CHILDREN_MAX; i++)
                if (children[i] == pid)
                        children[i] = 0;
}

static void remember(pid_t pid)
{
        for (int i = 0; i < CHILDREN_MAX; i++)
                if (!children[i]) {
                        children[i] = pid;
                        return;
                }
        /* More children than slots: do not leave it running untracked. */
        kill(pid, SIGKILL);
}

void it_sleep_ms(int ms)
{
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) && errno == EINTR)
                ;
}

void it_kill_all(void)
{
        bool any = false;
        for (int i = 0; i < CHILDREN_MAX; i++)
                if (children[i] > 0) {
                        kill(children[i], SIGTERM);
                        any = true;
                }
        for (int t = 0; any && t < 150; t++) {
                any = false;
                for (int i = 0; i < CHILDREN_MAX; i++) {
                        if (children[i] <= 0)
                                continue;
                        if (waitpid(children[i], NULL, WNOHANG) ==
                            children[i]) {
                                broker_forget(children[i]);
                                children[i] = 0;
                        } else
                                any = true;
                }
                if (any)
                        it_sleep_ms(20);
        }
        for (int i = 0; i < CHILDREN_MAX; i++)
                if (children[i] > 0) {
                        kill(children[i], SIGKILL);
                        waitpid(children[i], NULL, 0);
                        broker_forget(children[i]);
                        children[i] = 0;
                }
}

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        remove(path);
        return 0;
}

static void at_exit(void)
{
        it_kill_all();
        if (tmp_root[0] && !getenv("IT_KEEP"))
                nftw(tmp_root, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int it_init(void)
{
        if (!getenv("PD_BIN_DIR")) {
                fprintf(stderr, "it: PD_BIN_DIR is not set\n");
                return -1;
        }
        if (inited)
                return 0;
        inited = true;
        snprintf(tmp_root, sizeof(tmp_root), "/tmp/pd-it-XXXXXX");
        if (!mkdtemp(tmp_root)) {
                perror("it: mkdtemp");
                tmp_root[0] = '\0';
                return -1;
        }
        signal(SIGPIPE, SIG_IGN);
        atexit(at_exit);
        return 0;
}

const char *it_bin(const char *name, char *out, size_t size)
{
        const char *dir = getenv("PD_BIN_DIR");
        snprintf(out, size, "%s/%s", dir ? dir : ".", name);
        return out;
}

void it_mkdtemp(const char *tag, char *out, size_t size)
{
        snprintf(out, size, "%s/%s-XXXXXX", tmp_root, tag);
        if (!mkdtemp(out)) {
                perror("it: mkdtemp");
                out[0] = '\0';
        }
}

/* fork/exec argv with stdout to out_fd (or the log), stdin from in_fd. */
static pid_t spawn(char *const argv[], int in_fd, int out_fd, const char *log)
{
        pid_t parent = getpid();
        pid_t pid = fork();
        if (pid < 0)
                return -1;
        if (pid == 0) {
                /* Dies with the test process, whatever happens to it. */
                prctl(PR_SET_PDEATHSIG, SIGKILL);
                if (getppid() != parent)
                        _exit(127);
                int lfd =
                    log ? open(log, O_WRONLY | O_CREAT | O_APPEND, 0644) : -1;
                if (in_fd >= 0)
                        dup2(in_fd, 0);
                if (out_fd >= 0)
                        dup2(out_fd, 1);
                else if (lfd >= 0)
                        dup2(lfd, 1);
                if (lfd >= 0)
                        dup2(lfd, 2);
                execv(argv[0], argv);
                _exit(127);
        }
        remember(pid);
        return pid;
}

pid_t it_spawn(char *const argv[], const char *log)
{
        return spawn(argv, -1, -1, log);
}

/* The fault pipes of the brokers started (stdin write end, stdout). */
static struct broker_s {
        pid_t pid;
        int in;
        FILE *out;
} brokers[8];

static struct broker_s *broker_slot(pid_t pid)
{
        for (int i = 0; i < 8; i++)
                if (brokers[i].pid == pid)
                        return &brokers[i];
        return NULL;
}

static void broker_forget(pid_t pid)
{
        struct broker_s *b = pid > 0 ? broker_slot(pid) : NULL;
        if (!b)
                return;
        close(b->in);
        fclose(b->out);
        memset(b, 0, sizeof(*b));
}

pid_t it_broker_start_n(int n_brokers, int partitions, char *bootstrap,
                        size_t size)
{
        char bin[512], parts[16], nb[16], log[600], line[512];
        int out[2], in[2];
        snprintf(parts, sizeof(parts), "%d", partitions);
        snprintf(nb, sizeof(nb), "%d", n_brokers);
        snprintf(log, sizeof(log), "%s/broker.log", tmp_root);
        char *argv[] = {(char *)it_bin("pd-broker", bin, sizeof(bin)),
                        "--default-topics",
                        "-p",
                        parts,
                        "-b",
                        nb,
                        NULL};
        if (pipe(out) || pipe(in))
                return -1;
        /* Only the broker holds these ends; later children must not. */
        fcntl(in[1], F_SETFD, FD_CLOEXEC);
        fcntl(out[0], F_SETFD, FD_CLOEXEC);
        pid_t pid = spawn(argv, in[0], out[1], log);
        close(out[1]);
        close(in[0]);
        FILE *fp = fdopen(out[0], "r");
        bootstrap[0] = '\0';
        while (pid > 0 && fp && fgets(line, sizeof(line), fp))
                if (!strncmp(line, "bootstrap.servers=", 18)) {
                        line[strcspn(line, "\r\n")] = '\0';
                        snprintf(bootstrap, size, "%s", line + 18);
                        break;
                }
        struct broker_s *b = broker_slot(0);
        if (!bootstrap[0] || !b) {
                fprintf(stderr, "it: pd-broker did not start\n");
                if (fp)
                        fclose(fp);
                close(in[1]);
                if (pid > 0)
                        it_wait(pid, 0);
                return -1;
        }
        /* The broker reads fault commands until its stdin closes, and
         * answers each on stdout. */
        b->pid = pid;
        b->in = in[1];
        b->out = fp;
        return pid;
}

pid_t it_broker_start(int partitions, char *bootstrap, size_t size)
{
        return it_broker_start_n(1, partitions, bootstrap, size);
}

int it_setup(int partitions, char *bootstrap, size_t size, pd_arena_t *arena,
             pd_codec_t **codec)
{
        char errstr[512];
        if (it_init())
                return -1;
        if (bootstrap && it_broker_start(partitions, bootstrap, size) < 0)
                return -1;
        pd_arena_init(arena);
        if (pd_codec_new(NULL, codec, errstr, sizeof(errstr))) {
                fprintf(stderr, "it: codec: %s\n", errstr);
                return -1;
        }
        return 0;
}

void it_teardown(pd_arena_t *arena, pd_codec_t *codec)
{
        it_kill_all();
        pd_codec_destroy(codec);
        pd_arena_term(arena);
}

int it_broker_fault(pid_t broker, const char *cmd, char *reply,
                    size_t reply_size)
{
        struct broker_s *b = broker > 0 ? broker_slot(broker) : NULL;
        char line[512];
        reply[0] = '\0';
        if (!b) {
                fprintf(stderr, "it: fault \"%s\": no such broker\n", cmd);
                return -1;
        }
        snprintf(line, sizeof(line), "%s\n", cmd);
        size_t len = strlen(line);
        if (write(b->in, line, len) != (ssize_t)len ||
            !fgets(reply, (int)reply_size, b->out)) {
                fprintf(stderr, "it: fault \"%s\": broker gone\n", cmd);
                return -1;
        }
        reply[strcspn(reply, "\r\n")] = '\0';
        if (strcmp(reply, "ok")) {
                fprintf(stderr, "it: fault \"%s\": %s\n", cmd, reply);
                return -1;
        }
        return 0;
}

pid_t it_worker_start(const it_worker_t *w)
{
        char bin[512], opts[20][600], wrap[512];
        char *argv[64], *save = NULL;
        int n = 0, k = 0;
        /* IT_WORKER_WRAP="valgrind --leak-check=full ...": the worker runs
         * under that command (words split on blanks, at most 16). */
        snprintf(wrap, sizeof(wrap), "%s",
                 getenv("IT_WORKER_WRAP") ? getenv("IT_WORKER_WRAP") : "");
        for (char *t = strtok_r(wrap, " ", &save); t && n < 16;
             t = strtok_r(NULL, " ", &save))
                argv[n++] = t;
        argv[n++] = (char *)it_bin("persona-dna", bin, sizeof(bin));
#define OPT(...)                                                               \
        do {                                                                   \
                snprintf(opts[k], sizeof(opts[k]), __VA_ARGS__);               \
                argv[n++] = "-X";                                              \
                argv[n++] = opts[k++];                                         \
        } while (0)
        OPT("bootstrap.servers=%s", w->bootstrap);
        OPT("group.id=%s", w->group);
        OPT("instance.id=%s", w->instance);
        OPT("store.path=%s", w->store);
        OPT("clock=event");
        OPT("restore.skip.unfinished=true"); /* the embedded broker */
        OPT("batch.max.ms=100");
        OPT("exit.when.idle.ms=%d", w->idle_exit_ms);
        if (w->metrics)
                OPT("metrics.path=%s", w->metrics);
#undef OPT
        for (int i = 0; w->extra[i] && i < 12; i++) {
                argv[n++] = "-X";
                argv[n++] = (char *)w->extra[i];
        }
        argv[n] = NULL;
        return spawn(argv, -1, -1, w->log);
}

int it_worker_run(const it_worker_t *w, int timeout_ms)
{
        pid_t pid = it_worker_start(w);
        if (pid <= 0)
                return -1;
        int rc = it_wait(pid, timeout_ms);
        if (rc && w->log)
                it_dump_log(w->log, 40);
        return rc;
}

int it_wait(pid_t pid, int timeout_ms)
{
        int status = 0;
        for (int waited = 0;; waited += 20) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        break;
                if (r < 0) {
                        forget(pid);
                        broker_forget(pid);
                        return -1;
                }
                if (waited >= timeout_ms) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        forget(pid);
                        broker_forget(pid);
                        return -1;
                }
                it_sleep_ms(20);
        }
        forget(pid);
        broker_forget(pid);
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

int it_poll(pid_t pid)
{
        int status = 0;
        if (waitpid(pid, &status, WNOHANG) != pid)
                return -1;
        forget(pid);
        broker_forget(pid);
        if (WIFEXITED(status))
                return WEXITSTATUS(status);
        return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : -1;
}

void it_signal(pid_t pid, int sig)
{
        if (pid > 0)
                kill(pid, sig);
}

long it_file_size(const char *path)
{
        struct stat st;
        return stat(path, &st) ? 0 : (long)st.st_size;
}

int it_wait_log(const char *path, long from, const char *needle, int timeout_ms)
{
        char line[4096];
        for (int waited = 0; waited <= timeout_ms; waited += 100) {
                FILE *fp = fopen(path, "r");
                bool found = false;
                if (fp && !fseek(fp, from, SEEK_SET))
                        while (!found && fgets(line, sizeof(line), fp))
                                found = strstr(line, needle) != NULL;
                if (fp)
                        fclose(fp);
                if (found)
                        return 0;
                it_sleep_ms(100);
        }
        return -1;
}

void it_dump_log(const char *path, int lines)
{
        char cmd[1024];
        snprintf(cmd, sizeof(cmd), "tail -n %d '%s' >&2", lines, path);
        if (system(cmd) == -1)
                fprintf(stderr, "it: cannot show %s\n", path);
}

static int cmp_cstr(const void *a, const void *b)
{
        return strcmp(*(const char *const *)a, *(const char *const *)b);
}

size_t it_log_values(const char *path, const char *needle, pd_arena_t *arena,
                     const char ***valsp)
{
        char line[4096];
        size_t n = 0, cap = 0;
        const char **v = NULL;
        FILE *fp = fopen(path, "r");
        while (fp && fgets(line, sizeof(line), fp)) {
                const char *at = strstr(line, needle);
                if (!at)
                        continue;
                at += strlen(needle);
                size_t len = strcspn(at, " \t\r\n");
                if (n == cap) {
                        size_t ncap = cap ? cap * 2 : 256;
                        const char **nv =
                            pd_arena_alloc(arena, ncap * sizeof(*nv));
                        if (!nv)
                                break;
                        if (n)
                                memcpy(nv, v, n * sizeof(*nv));
                        v = nv;
                        cap = ncap;
                }
                v[n++] = pd_arena_strndup(arena, at, len);
        }
        if (fp)
                fclose(fp);
        if (n)
                qsort(v, n, sizeof(*v), cmp_cstr);
        *valsp = v;
        return n;
}

int it_logs_values(const char *const *logs, size_t n_logs, const char *needle,
                   pd_arena_t *arena, const char ***valsp, size_t *np)
{
        const char **all = NULL;
        size_t n = 0;
        for (size_t i = 0; i < n_logs; i++) {
                const char **v;
                size_t k = it_log_values(logs[i], needle, arena, &v);
                const char **m =
                    pd_arena_alloc(arena, (n + k + 1) * sizeof(*m));
                if (!m)
                        return -1;
                if (n)
                        memcpy(m, all, n * sizeof(*m));
                if (k)
                        memcpy(m + n, v, k * sizeof(*m));
                all = m;
                n += k;
        }
        if (n)
                qsort(all, n, sizeof(*all), cmp_cstr);
        *valsp = all;
        *np = n;
        return 0;
}

/* ---- producing ---------------------------------------------------------- */

int it_produce_event(pd_kafka_producer_t *producer, pd_codec_t *codec,
                     const char *topic, int32_t partition, const pd_event_t *ev)
{
        pd_buf_t buf;
        pd_buf_init(&buf);
        int rc = pd_codec_event_encode(codec, ev, &buf) ||
                         pd_kafka_produce(
                             producer, topic, partition, ev->customer_id,
                             strlen(ev->customer_id), buf.data, buf.len)
                     ? -1
                     : 0;
        pd_buf_term(&buf);
        return rc;
}

/* ---- reading back ------------------------------------------------------- */

static int collect(void *opaque, const pd_kafka_record_t *rec)
{
        it_records_t *recs = opaque;
        if (recs->n == recs->cap) {
                size_t cap = recs->cap ? recs->cap * 2 : 256;
                it_record_t *v = realloc(recs->v, cap * sizeof(*v));
                if (!v)
                        return -1;
                recs->v = v;
                recs->cap = cap;
        }
        it_record_t *r = &recs->v[recs->n++];
        memset(r, 0, sizeof(*r));
        r->partition = rec->partition;
        r->offset = rec->offset;
        if (rec->key) {
                r->key = pd_arena_strndup(&recs->arena, rec->key, rec->key_len);
                r->key_len = rec->key_len;
        }
        if (rec->value) {
                unsigned char *v =
                    pd_arena_alloc(&recs->arena, rec->len ? rec->len : 1);
                if (!v)
                        return -1;
                memcpy(v, rec->value, rec->len);
                r->value = v;
                r->len = rec->len;
        }
        for (size_t i = 0; i < rec->headers->n; i++)
                pd_kvs_add(&r->headers, &recs->arena, rec->headers->v[i].key,
                           rec->headers->v[i].value);
        return 0;
}

int it_read(const char *bootstrap, const char *topic, it_records_t *recs)
{
        char errstr[512];
        memset(recs, 0, sizeof(*recs));
        pd_arena_init(&recs->arena);
        if (pd_kafka_read_topic(bootstrap, topic, collect, recs, errstr,
                                sizeof(errstr))) {
                fprintf(stderr, "it: %s\n", errstr);
                return -1;
        }
        return 0;
}

void it_records_free(it_records_t *recs)
{
        free(recs->v);
        pd_arena_term(&recs->arena);
        memset(recs, 0, sizeof(*recs));
}

static int decode_outputs(it_outputs_t *out, pd_codec_t *codec)
{
        char why[512];
        out->plans = calloc(out->plans_raw.n + 1, sizeof(*out->plans));
        out->actions = calloc(out->actions_raw.n + 1, sizeof(*out->actions));
        if (!out->plans || !out->actions)
                return -1;
        for (size_t i = 0; i < out->plans_raw.n; i++) {
                const it_record_t *r = &out->plans_raw.v[i];
                if (pd_codec_plan_decode(codec, r->value, r->len, &out->arena,
                                         &out->plans[out->n_plans++], why,
                                         sizeof(why))) {
                        fprintf(stderr, "it: plan record: %s\n", why);
                        return -1;
                }
        }
        for (size_t i = 0; i < out->actions_raw.n; i++) {
                const it_record_t *r = &out->actions_raw.v[i];
                if (pd_codec_action_decode(codec, r->value, r->len, &out->arena,
                                           &out->actions[out->n_actions++], why,
                                           sizeof(why))) {
                        fprintf(stderr, "it: action record: %s\n", why);
                        return -1;
                }
        }
        return 0;
}

/* The latest changelog record per key (records of one key share a
 * partition, read in order, so the last seen is the latest). */
static int latest_markers(it_outputs_t *out)
{
        const it_records_t *p = &out->persona;
        out->latest = calloc(p->n + 1, sizeof(*out->latest));
        if (!out->latest)
                return -1;
        for (size_t i = 0; i < p->n; i++) {
                const it_record_t *r = &p->v[i];
                size_t j;
                if (!r->key)
                        continue;
                for (j = 0; j < out->n_latest; j++)
                        if (!strcmp(out->latest[j]->key, r->key))
                                break;
                out->latest[j] = r;
                if (j == out->n_latest)
                        out->n_latest++;
        }
        return 0;
}

int it_outputs_read(const char *bootstrap, pd_codec_t *codec, it_outputs_t *out)
{
        memset(out, 0, sizeof(*out));
        pd_arena_init(&out->arena);
        if (it_read(bootstrap, "customer.persona", &out->persona) ||
            it_read(bootstrap, "customer.plans", &out->plans_raw) ||
            it_read(bootstrap, "customer.actions", &out->actions_raw))
                return -1;
        return decode_outputs(out, codec) || latest_markers(out) ? -1 : 0;
}

void it_outputs_free(it_outputs_t *out)
{
        it_records_free(&out->persona);
        it_records_free(&out->plans_raw);
        it_records_free(&out->actions_raw);
        free(out->plans);
        free(out->actions);
        free(out->latest);
        pd_arena_term(&out->arena);
        memset(out, 0, sizeof(*out));
}

const it_record_t *it_outputs_marker(const it_outputs_t *out,
                                     const char *customer)
{
        for (size_t i = 0; i < out->n_latest; i++)
                if (!strcmp(out->latest[i]->key, customer))
                        return out->latest[i];
        return NULL;
}

size_t it_outputs_ids(const it_outputs_t *out, pd_arena_t *arena,
                      const char ***idsp)
{
        size_t n = 0;
        const char **ids = pd_arena_alloc(
            arena, (out->n_plans + out->n_actions + 1) * sizeof(*ids));
        for (size_t i = 0; ids && i < out->n_plans; i++)
                ids[n++] = out->plans[i].plan_id;
        for (size_t i = 0; ids && i < out->n_actions; i++)
                ids[n++] = out->actions[i].action_id;
        if (ids)
                qsort(ids, n, sizeof(*ids), cmp_cstr);
        *idsp = ids;
        return n;
}

/* ---- metrics ------------------------------------------------------------ */

long long it_metric(const char *path, const char *key)
{
        char buf[256];
        long long v = -1;
        json_t *root = json_load_file(path, 0, NULL);
        json_t *node = root;
        snprintf(buf, sizeof(buf), "%s", key);
        for (char *save = NULL, *tok = strtok_r(buf, ".", &save); tok && node;
             tok = strtok_r(NULL, ".", &save))
                node = json_object_get(node, tok);
        if (node && json_is_integer(node))
                v = (long long)json_integer_value(node);
        json_decref(root);
        return v;
}

json_t *it_inspect_summary(const char *store, const char *as_of,
                           const char *dir)
{
        char bin[512], out[700];
        json_error_t err;
        snprintf(out, sizeof(out), "%s/inspect-%s.json", dir,
                 as_of ? as_of : "latest");
        char *argv[] = {(char *)it_bin("pd-inspect", bin, sizeof(bin)),
                        "--store",
                        (char *)store,
                        "summary",
                        "--json",
                        as_of ? "--as-of" : NULL,
                        (char *)as_of,
                        NULL};
        pid_t pid = it_spawn(argv, out);
        if (pid <= 0)
                return NULL;
        int rc = it_wait(pid, 60000);
        if (rc) {
                fprintf(stderr, "it: pd-inspect on %s exited %d\n", store, rc);
                return NULL;
        }
        json_t *root = json_load_file(out, 0, &err);
        if (!root)
                fprintf(stderr, "it: %s: %s\n", out, err.text);
        return root;
}

/* ---- time --------------------------------------------------------------- */

int64_t it_ms(int y, int mo, int d, int h, int mi)
{
        struct tm tm = {0};
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        return (int64_t)timegm(&tm) * 1000;
}

/* ---- the pass rule ------------------------------------------------------- */

static int cmp_copy(const void *a, const void *b)
{
        const it_copy_t *x = a, *y = b;
        int c = strcmp(x->id, y->id);
        return c ? c : strcmp(x->txn, y->txn);
}

static bool committed(const it_check_t *c, const char *txn)
{
        return bsearch(&txn, c->txns, c->n_txns, sizeof(*c->txns), cmp_cstr) !=
               NULL;
}

/* The transactions every incarnation logged as committed.  A kill between
 * a commit and its log line makes that transaction look uncommitted: the
 * rule is then lenient, never wrongly strict. */
static int read_txns(const char *const *logs, size_t n_logs, pd_arena_t *arena,
                     it_check_t *c)
{
        size_t n;
        if (it_logs_values(logs, n_logs, "committed txn=", arena, &c->txns, &n))
                return -1;
        c->n_txns = n;
        /* Without commit lines every copy would look uncommitted and any
         * duplicate would be excused: the logs must be parsed. */
        if (!n) {
                fprintf(stderr,
                        "check: no 'committed txn=' line in any of "
                        "%zu worker logs (log.level=debug?)\n",
                        n_logs);
                return -1;
        }
        return 0;
}

static int add_copies(it_check_t *c, const it_records_t *raw, const char *topic,
                      bool plans, const it_outputs_t *out)
{
        for (size_t i = 0; i < raw->n; i++) {
                const it_record_t *rec = &raw->v[i];
                const char *txn = pd_kvs_get(&rec->headers, "pd.txn");
                if (!txn || !*txn) {
                        fprintf(stderr,
                                "check: %s record at partition %d offset %lld "
                                "has no pd.txn header\n",
                                topic, rec->partition, (long long)rec->offset);
                        return -1;
                }
                it_copy_t *k = &c->copies[c->n_copies++];
                k->id =
                    plans ? out->plans[i].plan_id : out->actions[i].action_id;
                k->txn = txn;
                k->topic = topic;
                k->partition = rec->partition;
                k->offset = rec->offset;
        }
        return 0;
}

static void show_copies(const it_check_t *c, size_t from, size_t to)
{
        for (size_t i = from; i < to; i++)
                fprintf(stderr,
                        "check:   %s %s partition=%d offset=%lld pd.txn=%s "
                        "(%s)\n",
                        c->copies[i].id, c->copies[i].topic,
                        c->copies[i].partition, (long long)c->copies[i].offset,
                        c->copies[i].txn,
                        committed(c, c->copies[i].txn) ? "committed"
                                                       : "never committed");
}

/* Counts the copies of id group [i, j) and says what is wrong, or NULL. */
static const char *judge_id(const it_check_t *c, size_t i, size_t j,
                            bool lenient, size_t *n_committed)
{
        *n_committed = 0;
        for (size_t k = i; k < j; k++)
                *n_committed += committed(c, c->copies[k].txn);
        if (*n_committed > 1)
                return "written by more than one committed transaction (a "
                       "real duplicate)";
        if (!lenient && j - i > 1)
                return "written twice without any kill or abort";
        if (!lenient && *n_committed < j - i)
                return "written by a transaction that did not commit without "
                       "any kill or abort";
        return NULL;
}

int it_check_copies(const char *const *logs, size_t n_logs,
                    const it_outputs_t *out, bool lenient, pd_arena_t *arena,
                    it_check_t *c)
{
        memset(c, 0, sizeof(*c));
        if (read_txns(logs, n_logs, arena, c))
                return -1;
        size_t n = out->n_plans + out->n_actions;
        c->copies = pd_arena_alloc(arena, (n + 1) * sizeof(*c->copies));
        c->ids = pd_arena_alloc(arena, (n + 1) * sizeof(*c->ids));
        if (!c->copies || !c->ids ||
            add_copies(c, &out->plans_raw, "customer.plans", true, out) ||
            add_copies(c, &out->actions_raw, "customer.actions", false, out))
                return -1;
        qsort(c->copies, c->n_copies, sizeof(*c->copies), cmp_copy);
        for (size_t i = 0, j; i < c->n_copies; i = j) {
                size_t n_committed;
                for (j = i; j < c->n_copies &&
                            !strcmp(c->copies[j].id, c->copies[i].id);
                     j++)
                        ;
                c->ids[c->n_ids++] = c->copies[i].id;
                const char *why = judge_id(c, i, j, lenient, &n_committed);
                if (j - i > 1)
                        c->extra_copies += j - i - 1;
                else if (!n_committed)
                        c->uncommitted_single++;
                if (why) {
                        if (c->bad_ids++ < 10) {
                                fprintf(stderr, "check: output id %s %s:\n",
                                        c->copies[i].id, why);
                                show_copies(c, i, j);
                        }
                }
        }
        return c->bad_ids ? -1 : 0;
}

/* One line per marker field of rec (decoded), into buf. */
static void describe_marker(pd_codec_t *codec, pd_arena_t *arena,
                            const it_record_t *rec, char *buf, size_t size)
{
        char why[256];
        pd_marker_t m;
        size_t o = 0;
#define OUT(...)                                                               \
        do {                                                                   \
                if (o < size)                                                  \
                        o += (size_t)snprintf(buf + o, size - o, __VA_ARGS__); \
        } while (0)
        buf[0] = '\0';
        if (!rec || !rec->value) {
                OUT("%s\n", rec ? "tombstone" : "absent");
                return;
        }
        if (pd_codec_marker_decode(codec, rec->value, rec->len, arena, &m, why,
                                   sizeof(why))) {
                OUT("undecodable: %s\n", why);
                return;
        }
        const char *txn = pd_kvs_get(&rec->headers, "pd.txn");
        OUT("partition %d offset %lld len %zu pd.txn %s\n", rec->partition,
            (long long)rec->offset, rec->len, txn ? txn : "-");
        for (int a = 0; a < PD_AXIS__CNT; a++)
                OUT("axis.%s %.6f\n", pd_axis_name((pd_axis_t)a), m.axis[a]);
        OUT("dominant %s margin %.6f stage %s\n", pd_axis_name(m.dominant),
            m.margin, pd_stage_name(m.stage));
        for (size_t i = 0; i < m.n_evidence; i++)
                OUT("evidence.%zu %s %s %.6f %lld\n", i, m.evidence[i].signal,
                    pd_axis_name(m.evidence[i].axis), m.evidence[i].weight,
                    (long long)m.evidence[i].at);
        OUT("plan %s %s pm %s started %lld\n", m.plan_id ? m.plan_id : "-",
            m.plan_template ? m.plan_template : "-",
            m.project_manager ? m.project_manager : "-",
            (long long)m.plan_started_at);
        for (size_t i = 0; i < m.n_milestones; i++)
                OUT("milestone.%zu due %lld fired %d\n", i,
                    (long long)m.milestones[i].due_at, m.milestones[i].fired);
        OUT("close_at %lld next_slot %d next_survey_at %lld last_survey_at "
            "%lld surveys_sent %d n_surveys %zu\n",
            (long long)m.close_at, m.next_slot, (long long)m.next_survey_at,
            (long long)m.last_survey_at, m.surveys_sent, m.n_surveys);
        for (size_t i = 0; i < m.n_renewals; i++)
                OUT("renewal.%zu %s %lld leads_fired %d\n", i,
                    m.renewals[i].contract_id,
                    (long long)m.renewals[i].renewal_date,
                    m.renewals[i].leads_fired);
        OUT("events %d deals %d tickets %d n_event_ids %zu created %lld "
            "updated %lld\n",
            m.events, m.deals, m.tickets, m.n_event_ids,
            (long long)m.created_at, (long long)m.updated_at);
#undef OUT
}

/* Prints the fields in which the final marker got differs from want. */
static void show_marker_diff(pd_codec_t *codec, pd_arena_t *arena,
                             const it_record_t *want, const it_record_t *got)
{
        static char a[16384], b[16384];
        describe_marker(codec, arena, want, a, sizeof(a));
        describe_marker(codec, arena, got, b, sizeof(b));
        fprintf(stderr, "check: marker of %s differs (- reference, + run):\n",
                want->key);
        char *sa = NULL, *sb = NULL;
        char *la = strtok_r(a, "\n", &sa), *lb = strtok_r(b, "\n", &sb);
        for (; la || lb;
             la = strtok_r(NULL, "\n", &sa), lb = strtok_r(NULL, "\n", &sb)) {
                if (la && lb && !strcmp(la, lb))
                        continue;
                fprintf(stderr, "check:   - %s\n", la ? la : "");
                fprintf(stderr, "check:   + %s\n", lb ? lb : "");
        }
}

/* One output action as a line: kind, due, cause, params. */
static void show_action(const char *tag, const pd_action_t *a,
                        const char *where)
{
        fprintf(stderr, "check:   %s %s %s due=%lld created=%lld cause=%s%s",
                tag, a->action_id, pd_action_kind_name(a->kind),
                (long long)a->due_at, (long long)a->created_at,
                a->caused_by ? a->caused_by : "-", where ? where : "");
        for (size_t i = 0; i < a->params.n; i++)
                if (strcmp(a->params.v[i].key, "margin"))
                        fprintf(stderr, " %s=%s", a->params.v[i].key,
                                a->params.v[i].value);
        fputc('\n', stderr);
}

/* An output id the reference lacks: what it is, and every action of its
 * customer in both runs (the run's with their transactions), in order. */
static void explain_unexpected(const it_check_t *c, const it_outputs_t *ref,
                               const it_outputs_t *out, const char *id)
{
        char where[256];
        const char *customer = NULL;
        for (size_t i = 0; i < out->n_plans && !customer; i++)
                if (!strcmp(out->plans[i].plan_id, id)) {
                        customer = out->plans[i].customer_id;
                        fprintf(stderr,
                                "check:   plan of %s caused by %s template "
                                "%s pm %s\n",
                                customer, out->plans[i].caused_by,
                                out->plans[i].template_id,
                                out->plans[i].project_manager);
                }
        for (size_t i = 0; i < out->n_actions && !customer; i++)
                if (!strcmp(out->actions[i].action_id, id))
                        customer = out->actions[i].customer_id;
        if (!customer)
                return;
        for (size_t i = 0; ref && i < ref->n_actions; i++)
                if (!strcmp(ref->actions[i].customer_id, customer))
                        show_action("ref", &ref->actions[i], NULL);
        for (size_t i = 0; i < out->n_actions; i++) {
                const it_record_t *rec = &out->actions_raw.v[i];
                const char *txn = pd_kvs_get(&rec->headers, "pd.txn");
                if (strcmp(out->actions[i].customer_id, customer))
                        continue;
                snprintf(where, sizeof(where), " @%d/%lld txn=%s %s",
                         rec->partition, (long long)rec->offset,
                         txn ? txn : "-",
                         txn && committed(c, txn) ? "committed"
                                                  : "uncommitted");
                show_action("run", &out->actions[i], where);
        }
}

/* Distinct ids of the run against the reference's. */
static void compare_ids(const it_check_t *c, const char *const *ref_ids,
                        size_t n_ref_ids, const it_outputs_t *ref,
                        const it_outputs_t *out, it_verdict_t *v)
{
        for (size_t i = 0, j = 0; i < c->n_ids || j < n_ref_ids;) {
                int cmp = i == c->n_ids    ? 1
                          : j == n_ref_ids ? -1
                                           : strcmp(c->ids[i], ref_ids[j]);
                if (cmp < 0 && v->unexpected++ < 10) {
                        fprintf(stderr,
                                "check: output id %s not in the reference\n",
                                c->ids[i]);
                        /* Where it came from: on the mock a transaction
                         * that never committed stays visible. */
                        for (size_t k = 0; k < c->n_copies; k++)
                                if (!strcmp(c->copies[k].id, c->ids[i]))
                                        fprintf(stderr,
                                                "check:   copy %s/%d@%lld "
                                                "txn=%s %s\n",
                                                c->copies[k].topic,
                                                c->copies[k].partition,
                                                (long long)c->copies[k].offset,
                                                c->copies[k].txn,
                                                committed(c, c->copies[k].txn)
                                                    ? "committed"
                                                    : "uncommitted");
                        if (v->unexpected <= 3)
                                explain_unexpected(c, ref, out, c->ids[i]);
                }
                if (cmp > 0 && v->missing++ < 10)
                        fprintf(stderr, "check: output id %s missing\n",
                                ref_ids[j]);
                i += cmp <= 0;
                j += cmp >= 0;
        }
}

/* Torn transactions: changelog records of a transaction that never
 * committed.  On a real broker they are invisible; the mock shows them,
 * and a restore skips those of transactions that did not write their
 * partition's state (worker.c restore()).  Counted for the report; the
 * final markers must equal the reference's all the same.  Returns -1 when
 * a record lacks pd.txn. */
static int torn_records(const it_check_t *c, const it_outputs_t *out,
                        it_verdict_t *v)
{
        for (size_t i = 0; i < out->persona.n; i++) {
                const it_record_t *rec = &out->persona.v[i];
                const char *txn = pd_kvs_get(&rec->headers, "pd.txn");
                if (!txn) {
                        fprintf(stderr,
                                "check: customer.persona record at partition "
                                "%d offset %lld has no pd.txn header\n",
                                rec->partition, (long long)rec->offset);
                        return -1;
                }
                if (!committed(c, txn))
                        v->torn_records++;
        }
        return 0;
}

static void compare_markers(pd_codec_t *codec, pd_arena_t *arena,
                            const it_outputs_t *ref, const it_outputs_t *out,
                            it_verdict_t *v)
{
        for (size_t i = 0; i < ref->n_latest; i++) {
                const it_record_t *want = ref->latest[i];
                const it_record_t *got = it_outputs_marker(out, want->key);
                if (got && got->partition == want->partition &&
                    got->len == want->len &&
                    (!want->len || !memcmp(got->value, want->value, want->len)))
                        continue;
                if (v->markers_differ++ < 5)
                        show_marker_diff(codec, arena, want, got);
        }
}

int it_compare(pd_codec_t *codec, const it_outputs_t *ref,
               const char *const *ref_ids, size_t n_ref_ids,
               const it_outputs_t *out, const char *const *logs, size_t n_logs,
               bool lenient, pd_arena_t *arena, it_verdict_t *v)
{
        it_check_t c;
        memset(v, 0, sizeof(*v));
        int rc = it_check_copies(logs, n_logs, out, lenient, arena, &c);
        v->records = c.n_copies;
        v->distinct_ids = c.n_ids;
        v->duplicates = c.extra_copies;
        v->bad_ids = c.bad_ids;
        v->uncommitted_single = c.uncommitted_single;
        v->committed_txns = c.n_txns;
        v->markers = out->n_latest;
        v->ref_markers = ref->n_latest;
        v->changelog_records = out->persona.n;
        if (!c.n_txns)
                return -1;
        compare_ids(&c, ref_ids, n_ref_ids, ref, out, v);
        if (torn_records(&c, out, v))
                rc = -1;
        if (!lenient && v->torn_records) {
                fprintf(stderr,
                        "check: %zu changelog records of uncommitted "
                        "transactions without any kill or abort\n",
                        v->torn_records);
                rc = -1;
        }
        compare_markers(codec, arena, ref, out, v);
        if (v->missing || v->unexpected || v->markers_differ ||
            v->markers != v->ref_markers)
                rc = -1;
        return rc;
}

void it_verdict_print(FILE *fp, const char *tag, const it_verdict_t *v)
{
        fprintf(fp,
                "%s: records=%zu distinct_ids=%zu missing=%zu unexpected=%zu "
                "duplicates=%zu (excused: copies of transactions that never "
                "committed, visible on the mock) committed_duplicates=%zu "
                "single_uncommitted=%zu committed_txns=%zu markers=%zu/%zu "
                "markers_differing=%zu changelog_records=%zu "
                "torn_changelog_records=%zu\n",
                tag, v->records, v->distinct_ids, v->missing, v->unexpected,
                v->duplicates, v->bad_ids, v->uncommitted_single,
                v->committed_txns, v->markers, v->ref_markers,
                v->markers_differ, v->changelog_records,
                v->torn_records);
}
