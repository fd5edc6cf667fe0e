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
                        if (waitpid(children[i], NULL, WNOHANG) == children[i])
                                children[i] = 0;
                        else
                                any = true;
                }
                if (any)
                        it_sleep_ms(20);
        }
        for (int i = 0; i < CHILDREN_MAX; i++)
                if (children[i] > 0) {
                        kill(children[i], SIGKILL);
                        waitpid(children[i], NULL, 0);
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

pid_t it_broker_start(int partitions, char *bootstrap, size_t size)
{
        char bin[512], parts[16], log[600], line[512];
        int out[2], in[2];
        snprintf(parts, sizeof(parts), "%d", partitions);
        snprintf(log, sizeof(log), "%s/broker.log", tmp_root);
        char *argv[] = {(char *)it_bin("pd-broker", bin, sizeof(bin)),
                        "--default-topics", "-p", parts, NULL};
        if (pipe(out) || pipe(in))
                return -1;
        pid_t pid = spawn(argv, in[0], out[1], log);
        close(out[1]);
        close(in[0]);
        /* in[1] stays open (and leaks into later children harmlessly):
         * the broker reads fault commands until it is closed. */
        fcntl(in[1], F_SETFD, FD_CLOEXEC);
        FILE *fp = fdopen(out[0], "r");
        bootstrap[0] = '\0';
        while (pid > 0 && fp && fgets(line, sizeof(line), fp))
                if (!strncmp(line, "bootstrap.servers=", 18)) {
                        line[strcspn(line, "\r\n")] = '\0';
                        snprintf(bootstrap, size, "%s", line + 18);
                        break;
                }
        if (fp)
                fclose(fp);
        if (!bootstrap[0]) {
                fprintf(stderr, "it: pd-broker did not start\n");
                if (pid > 0)
                        it_wait(pid, 0);
                return -1;
        }
        return pid;
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

int it_wait(pid_t pid, int timeout_ms)
{
        int status = 0;
        for (int waited = 0;; waited += 20) {
                pid_t r = waitpid(pid, &status, WNOHANG);
                if (r == pid)
                        break;
                if (r < 0) {
                        forget(pid);
                        return -1;
                }
                if (waited >= timeout_ms) {
                        kill(pid, SIGKILL);
                        waitpid(pid, NULL, 0);
                        forget(pid);
                        return -1;
                }
                it_sleep_ms(20);
        }
        forget(pid);
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
