/* pd-broker: the embedded development Kafka broker.
 *
 * librdkafka's mock cluster speaks the real Kafka protocol on loopback
 * (produce, fetch, consumer groups, transactions); this process hosts it,
 * creates the topics, prints the bootstrap servers and runs until SIGTERM.
 * It keeps about 5 MiB of log per partition in memory: it is not storage.
 *
 * Faults (for tests and the fault harness) are read as lines on stdin:
 *   down <broker> | up <broker> | rtt <broker> <ms> |
 *   leader <topic> <partition> <broker> |
 *   error <apikey> <kafka-error-code> <count>   (push request errors)
 *   coordinator <txn|group> <key> <broker> */
#include <errno.h>
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static void usage(FILE *fp)
{
        fprintf(fp,
                "usage: pd-broker [-b brokers] [-p partitions] [-t topic[:partitions]]...\n"
                "                 [-f bootstrap-file] [--default-topics]\n"
                "  -b N   brokers in the cluster (default 1)\n"
                "  -p N   partitions of topics given without a count (default 12)\n"
                "  -t T   create topic T (repeatable); T:N gives its partitions\n"
                "  --default-topics  create persona-dna's six topics\n"
                "  -f F   also write bootstrap.servers to file F\n"
                "Prints \"bootstrap.servers=HOST:PORT,...\" and runs until SIGTERM.\n"
                "Fault commands on stdin: down B | up B | rtt B MS |\n"
                "  leader TOPIC PART B | error APIKEY ERRCODE COUNT |\n"
                "  coordinator txn|group KEY B\n");
}

static const char *default_topics[] = {
    "customer.lifecycle",    "customer.persona",
    "customer.plans",        "customer.actions",
    "customer.lifecycle.dlq", "persona-dna.partition-state", NULL};

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec,
                        int dflt_parts, int brokers)
{
        char name[256];
        int parts        = dflt_parts;
        const char *colon = strrchr(spec, ':');
        size_t n          = colon ? (size_t)(colon - spec) : strlen(spec);
        if (n == 0 || n >= sizeof(name))
                return -1;
        memcpy(name, spec, n);
        name[n] = '\0';
        if (colon && (parts = atoi(colon + 1)) <= 0)
                return -1;
        rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
            mc, name, parts, brokers < 3 ? brokers : 3);
        if (err) {
                fprintf(stderr, "pd-broker: topic %s: %s\n", name,
                        rd_kafka_err2str(err));
                return -1;
        }
        return 0;
}

/* One fault command; returns a reply for stdout. */
static const char *fault(rd_kafka_mock_cluster_t *mc, char *line)
{
        char a[256], b[256];
        int x, y, z;
        rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
        if (sscanf(line, "down %d", &x) == 1)
                err = rd_kafka_mock_broker_set_down(mc, x);
        else if (sscanf(line, "up %d", &x) == 1)
                err = rd_kafka_mock_broker_set_up(mc, x);
        else if (sscanf(line, "rtt %d %d", &x, &y) == 2)
                err = rd_kafka_mock_broker_set_rtt(mc, x, y);
        else if (sscanf(line, "leader %255s %d %d", a, &x, &y) == 3)
                err = rd_kafka_mock_partition_set_leader(mc, a, x, y);
        else if (sscanf(line, "error %d %d %d", &x, &y, &z) == 3) {
                rd_kafka_resp_err_t *errs = calloc((size_t)z, sizeof(*errs));
                for (int i = 0; errs && i < z; i++)
                        errs[i] = (rd_kafka_resp_err_t)y;
                if (errs)
                        rd_kafka_mock_push_request_errors_array(mc, x, (size_t)z,
                                                                errs);
                free(errs);
        } else if (sscanf(line, "coordinator %255s %255s %d", a, b, &x) == 3)
                err = rd_kafka_mock_coordinator_set(mc, a, b, x);
        else
                return "error unknown command";
        return err ? rd_kafka_err2str(err) : "ok";
}

static void serve(rd_kafka_mock_cluster_t *mc)
{
        char line[512];
        size_t used     = 0;
        int stdin_open  = 1;
        while (!stop) {
                struct pollfd pfd = {.fd = 0, .events = POLLIN};
                int r = stdin_open ? poll(&pfd, 1, 200) : (usleep(200000), 0);
                if (r <= 0)
                        continue;
                ssize_t n = read(0, line + used, sizeof(line) - 1 - used);
                if (n <= 0) {
                        stdin_open = 0;
                        continue;
                }
                used += (size_t)n;
                line[used] = '\0';
                char *nl;
                while ((nl = strchr(line, '\n'))) {
                        *nl = '\0';
                        if (*line)
                                printf("%s\n", fault(mc, line));
                        fflush(stdout);
                        used -= (size_t)(nl + 1 - line);
                        memmove(line, nl + 1, used + 1);
                }
                if (used == sizeof(line) - 1)
                        used = 0;
        }
}

int main(int argc, char **argv)
{
        int brokers = 1, parts = 12, ret = 1, defaults = 0;
        const char *file = NULL;
        const char **topics = calloc((size_t)argc + 1, sizeof(*topics));
        int n_topics        = 0;
        char errstr[512];
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                const char *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
                        usage(stdout);
                        free(topics);
                        return 0;
                } else if (!strcmp(a, "--default-topics"))
                        defaults = 1;
                else if (v && !strcmp(a, "-b") && ++i)
                        brokers = atoi(v);
                else if (v && !strcmp(a, "-p") && ++i)
                        parts = atoi(v);
                else if (v && !strcmp(a, "-t") && ++i)
                        topics[n_topics++] = v;
                else if (v && !strcmp(a, "-f") && ++i)
                        file = v;
                else {
                        usage(stderr);
                        free(topics);
                        return 2;
                }
        }
        if (brokers < 1 || parts < 1) {
                usage(stderr);
                free(topics);
                return 2;
        }
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGPIPE, SIG_IGN);

        rd_kafka_conf_t *conf = rd_kafka_conf_new();
        rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
        rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr,
                                      sizeof(errstr));
        if (!rk) {
                fprintf(stderr, "pd-broker: %s\n", errstr);
                free(topics);
                return 1;
        }
        rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
        if (!mc) {
                fprintf(stderr, "pd-broker: cannot create mock cluster\n");
                goto out;
        }
        for (int i = 0; defaults && default_topics[i]; i++)
                if (create_topic(mc, default_topics[i], parts, brokers))
                        goto out;
        for (int i = 0; i < n_topics; i++)
                if (create_topic(mc, topics[i], parts, brokers)) {
                        fprintf(stderr, "pd-broker: bad topic \"%s\"\n",
                                topics[i]);
                        goto out;
                }
        const char *bs = rd_kafka_mock_cluster_bootstraps(mc);
        if (file) {
                FILE *fp = fopen(file, "w");
                if (!fp || fprintf(fp, "%s\n", bs) < 0 || fclose(fp)) {
                        fprintf(stderr, "pd-broker: %s: %s\n", file,
                                strerror(errno));
                        goto out;
                }
        }
        printf("bootstrap.servers=%s\n", bs);
        fflush(stdout);
        serve(mc);
        ret = 0;
out:
        if (mc)
                rd_kafka_mock_cluster_destroy(mc);
        rd_kafka_destroy(rk);
        free(topics);
        return ret;
}
