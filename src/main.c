/* persona-dna: the worker binary. */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "worker.h"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
        (void)sig;
        stop = 1;
}

static void usage(FILE *fp)
{
        fprintf(fp,
                "persona-dna %s: keeps a persona DNA marker per customer and "
                "turns lifecycle\nevents into plans and actions, exactly once, "
                "Kafka to Kafka.\n\n"
                "usage: persona-dna [-c FILE] [-X key=value]... [--check] "
                "[--help] [--help-markdown]\n"
                "  -c FILE   Java-properties configuration file\n"
                "  -X k=v    set one property (after -c; repeatable)\n"
                "  --check   check the configuration, the model, templates "
                "and roster\n"
                "            without connecting to Kafka or opening the "
                "store; exit 0 when\n"
                "            all is well, 2 with the reason otherwise\n\n"
                "properties:\n",
                PD_VERSION);
        pd_config_print_help(fp, false);
}

static int configure(pd_config_t *conf, int argc, char **argv, bool *check)
{
        char errstr[1024];
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i];
                if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
                        usage(stdout);
                        return 0;
                }
                if (!strcmp(a, "--check")) {
                        *check = true;
                        continue;
                }
                if (!strcmp(a, "--help-markdown")) {
                        pd_config_print_help(stdout, true);
                        return 0;
                }
                if ((!strcmp(a, "-c") || !strcmp(a, "-X")) && i + 1 < argc) {
                        const char *v = argv[++i];
                        pd_err_t err;
                        if (a[1] == 'c')
                                err = pd_config_read_file(conf, v, errstr,
                                                          sizeof(errstr));
                        else {
                                const char *eq = strchr(v, '=');
                                char key[256];
                                if (!eq || eq == v ||
                                    (size_t)(eq - v) >= sizeof(key)) {
                                        fprintf(stderr,
                                                "persona-dna: -X %s: want "
                                                "key=value\n",
                                                v);
                                        return 2;
                                }
                                memcpy(key, v, (size_t)(eq - v));
                                key[eq - v] = '\0';
                                err = pd_config_set(conf, key, eq + 1, errstr,
                                                    sizeof(errstr));
                        }
                        if (err) {
                                fprintf(stderr, "persona-dna: %s\n", errstr);
                                return 2;
                        }
                        continue;
                }
                usage(stderr);
                return 2;
        }
        if (pd_config_validate(conf, errstr, sizeof(errstr))) {
                fprintf(stderr, "persona-dna: %s\n", errstr);
                return 2;
        }
        return -1;
}

int main(int argc, char **argv)
{
        pd_config_t conf;
        pd_worker_t *worker = NULL;
        char errstr[1024], host[128];
        bool check = false;
        int ret;
        if (pd_config_init(&conf)) {
                fprintf(stderr, "persona-dna: out of memory\n");
                return 1;
        }
        if ((ret = configure(&conf, argc, argv, &check)) >= 0)
                goto out;
        if (check) {
                ret = 0;
                if (pd_worker_check(&conf, stdout, errstr, sizeof(errstr))) {
                        fprintf(stderr, "persona-dna: %s\n", errstr);
                        ret = 2;
                }
                goto out;
        }
        pd_log_level = pd_log_level_parse(conf.log_level);
        if (!*conf.instance_id) {
                /* Stable across restarts of the same host, so a restarted
                 * worker fences its previous incarnation. */
                if (gethostname(host, sizeof(host)))
                        snprintf(host, sizeof(host), "worker");
                host[sizeof(host) - 1] = '\0';
                pd_config_set(&conf, "instance.id", host, errstr,
                              sizeof(errstr));
        }
        signal(SIGTERM, on_signal);
        signal(SIGINT, on_signal);
        signal(SIGPIPE, SIG_IGN);
        ret = 1;
        if (pd_worker_new(&conf, &worker, errstr, sizeof(errstr))) {
                pd_log_error("main", "start_failed=true error=\"%s\"", errstr);
                goto out;
        }
        if (pd_worker_run(worker, &stop, errstr, sizeof(errstr))) {
                pd_log_error("main", "fatal=true error=\"%s\"", errstr);
                goto out;
        }
        ret = 0;
out:
        pd_worker_destroy(worker);
        pd_config_term(&conf);
        return ret;
}
