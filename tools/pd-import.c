/* pd-import: CRM and support CSV exports (or a generated sample) ->
 * LifecycleEvent Avro records on the input topic, keyed by customer id, in
 * event-time order.
 *
 * Every row read is accounted for: an event, skipped with a reason, or
 * rejected with "file:line: field: reason" on stderr.  Exits non-zero when
 * an event could not be encoded or delivered. */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "buf.h"
#include "codec.h"
#include "import.h"
#include "kafka.h"

typedef struct opts_s {
        const char *bootstrap;
        const char *topic;
        const char *data_dir;
        const char *datasets;
        const char *summary_json;
        long sample; /* customers; 0 = import the data folder */
        unsigned long long seed;
        bool dry_run;
        pd_kvs_t kafka; /* -X properties */
} opts_t;

typedef struct totals_s {
        size_t invalid; /* failed the event contract or encoding */
        size_t produced;
        int64_t delivered;
        bool delivery_failed;
        char delivery_error[512];
} totals_t;

static void usage(FILE *fp)
{
        fprintf(fp,
                "usage: pd-import [-b bootstrap] [-t topic] [--data DIR]\n"
                "                 [--datasets LIST] [--sample N [--seed S]]\n"
                "                 [--dry-run] [--summary-json FILE]\n"
                "                 [-X kafka.prop=value]...\n"
                "  -b B            bootstrap servers (default localhost:9092)\n"
                "  -t T            input topic (default customer.lifecycle)\n"
                "  --data DIR      data folder (default $PD_DATA_DIR)\n"
                "  --datasets L    comma list of %s\n"
                "                  (default: every folder present)\n"
                "  --sample N      generate N customers instead of reading "
                "data\n"
                "  --seed S        sample seed (default 1)\n"
                "  --dry-run       map, check and encode, produce nothing\n"
                "  --summary-json F  write the summary as JSON to F\n"
                "  -X k=v          librdkafka property (a kafka. prefix is "
                "dropped)\n",
                PD_IMPORT_DATASETS);
}

static int parse_x(opts_t *o, pd_arena_t *arena, const char *arg)
{
        const char *eq = strchr(arg, '=');
        if (!eq || eq == arg)
                return -1;
        char *key = pd_arena_strndup(arena, arg, (size_t)(eq - arg));
        if (!key)
                return -1;
        if (!strncmp(key, "kafka.", 6))
                key += 6;
        return pd_kvs_add(&o->kafka, arena, key, eq + 1);
}

/* Returns 0, or 2 for a usage error (message printed). */
static int parse_args(int argc, char **argv, opts_t *o, pd_arena_t *arena)
{
        enum { O_DATA = 256, O_DATASETS, O_SAMPLE, O_SEED, O_DRY, O_JSON };
        static const struct option lopts[] = {
            {"data", required_argument, NULL, O_DATA},
            {"datasets", required_argument, NULL, O_DATASETS},
            {"sample", required_argument, NULL, O_SAMPLE},
            {"seed", required_argument, NULL, O_SEED},
            {"dry-run", no_argument, NULL, O_DRY},
            {"summary-json", required_argument, NULL, O_JSON},
            {"help", no_argument, NULL, 'h'},
            {NULL, 0, NULL, 0}};
        int c;
        while ((c = getopt_long(argc, argv, "b:t:X:h", lopts, NULL)) != -1) {
                switch (c) {
                case 'b':
                        o->bootstrap = optarg;
                        break;
                case 't':
                        o->topic = optarg;
                        break;
                case 'X':
                        if (parse_x(o, arena, optarg)) {
                                fprintf(stderr,
                                        "pd-import: -X %s: want "
                                        "key=value\n",
                                        optarg);
                                return 2;
                        }
                        break;
                case O_DATA:
                        o->data_dir = optarg;
                        break;
                case O_DATASETS:
                        o->datasets = optarg;
                        break;
                case O_SAMPLE:
                        o->sample = strtol(optarg, NULL, 10);
                        break;
                case O_SEED:
                        o->seed = strtoull(optarg, NULL, 10);
                        break;
                case O_DRY:
                        o->dry_run = true;
                        break;
                case O_JSON:
                        o->summary_json = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        exit(0);
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (optind != argc || o->sample < 0) {
                usage(stderr);
                return 2;
        }
        return 0;
}

/* A generated sample when asked, or when there is no data folder. */
static pd_err_t load(const opts_t *o, pd_arena_t *arena,
                     pd_import_result_t *res, char *errstr, size_t size)
{
        struct stat st;
        bool have_data =
            o->data_dir && !stat(o->data_dir, &st) && S_ISDIR(st.st_mode);
        if (!o->sample && have_data)
                return pd_import_dir(o->data_dir, o->datasets, arena, res,
                                     errstr, size);
        long n = o->sample ? o->sample : 50;
        if (!o->sample)
                fprintf(stderr,
                        "pd-import: no data folder (%s): generating "
                        "a sample of %ld customers\n",
                        o->data_dir ? o->data_dir : "--data, PD_DATA_DIR unset",
                        n);
        pd_err_t err =
            pd_import_generate_sample(o->seed, (size_t)n, arena, res);
        if (err)
                snprintf(errstr, size, "sample: %s", pd_err_name(err));
        return err;
}

/* Checks, encodes and (unless dry_run) produces one event. */
static void send_event(const opts_t *o, pd_codec_t *codec,
                       pd_kafka_producer_t *producer, const pd_event_t *ev,
                       pd_buf_t *buf, totals_t *t)
{
        char errstr[256];
        pd_err_t err = pd_event_validate(ev, errstr, sizeof(errstr));
        if (!err && (err = pd_codec_event_encode(codec, ev, buf)))
                snprintf(errstr, sizeof(errstr), "encode: %s",
                         pd_err_name(err));
        if (err) {
                if (t->invalid++ < 10)
                        fprintf(stderr, "pd-import: event %s (%s of %s): %s\n",
                                ev->event_id, pd_event_kind_name(ev->kind),
                                ev->customer_id, errstr);
                return;
        }
        if (o->dry_run)
                return;
        err = pd_kafka_produce(producer, o->topic, -1, ev->customer_id,
                               strlen(ev->customer_id), buf->data, buf->len);
        if (err)
                t->delivery_failed = true;
        else
                t->produced++;
}

static pd_err_t send_all(const opts_t *o, const pd_import_result_t *res,
                         totals_t *t, char *errstr, size_t size)
{
        pd_codec_t *codec = NULL;
        pd_kafka_producer_t *producer = NULL;
        pd_buf_t buf;
        pd_buf_init(&buf);
        pd_err_t err = pd_codec_new(NULL, &codec, errstr, size);
        if (!err && !o->dry_run)
                err = pd_kafka_producer_new(o->bootstrap, &o->kafka, &producer,
                                            errstr, size);
        if (err)
                goto out;
        for (size_t i = 0; i < res->n_events; i++)
                send_event(o, codec, producer, &res->events[i], &buf, t);
        if (producer) {
                if (pd_kafka_producer_flush(producer, 60000, t->delivery_error,
                                            sizeof(t->delivery_error)))
                        t->delivery_failed = true;
                t->delivered = pd_kafka_producer_delivered(producer);
        }
out:
        pd_kafka_producer_destroy(producer);
        pd_codec_destroy(codec);
        pd_buf_term(&buf);
        return err;
}

static json_t *reasons_json(const pd_import_reason_t *v, size_t n)
{
        json_t *a = json_array();
        for (size_t i = 0; i < n; i++)
                json_array_append_new(
                    a, json_pack("{s:s, s:s, s:I, s:s}", "dataset",
                                 v[i].dataset, "reason", v[i].reason, "count",
                                 (json_int_t)v[i].n, "example", v[i].example));
        return a;
}

static json_t *datasets_json(const pd_import_result_t *res)
{
        json_t *a = json_array();
        for (size_t i = 0; i < res->n_datasets; i++) {
                const pd_import_dataset_t *ds = &res->datasets[i];
                json_t *ev = json_object();
                for (int k = 0; k < PD_EV__CNT; k++)
                        json_object_set_new(
                            ev, pd_event_kind_name(k),
                            json_integer((json_int_t)ds->events[k]));
                json_array_append_new(
                    a, json_pack("{s:s, s:b, s:I, s:I, s:I, s:o, s:I, s:I, "
                                 "s:s?}",
                                 "name", ds->name, "present", ds->present,
                                 "rows", (json_int_t)ds->rows, "skipped",
                                 (json_int_t)ds->skipped, "rejected",
                                 (json_int_t)ds->rejected, "events", ev, "nps",
                                 (json_int_t)ds->surveys[PD_SURVEY_NPS], "csat",
                                 (json_int_t)ds->surveys[PD_SURVEY_CSAT],
                                 "note", ds->note));
        }
        return a;
}

static int write_json(const opts_t *o, const pd_import_result_t *res,
                      const totals_t *t)
{
        json_t *by_type = json_object();
        for (int k = 0; k < PD_EV__CNT; k++)
                json_object_set_new(
                    by_type, pd_event_kind_name(k),
                    json_integer((json_int_t)pd_import_count(res, k)));
        json_t *root = json_pack(
            "{s:I, s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:b, s:b, s:s?}",
            "events", (json_int_t)res->n_events, "events_by_type", by_type,
            "datasets", datasets_json(res), "skipped_by_reason",
            reasons_json(res->skips, res->n_skips), "rejected_by_reason",
            reasons_json(res->rejects, res->n_rejects), "invalid",
            (json_int_t)t->invalid, "produced", (json_int_t)t->produced,
            "delivered", (json_int_t)t->delivered, "dry_run", o->dry_run,
            "delivery_failed", t->delivery_failed, "delivery_error",
            *t->delivery_error ? t->delivery_error : NULL);
        int rc = !root || json_dump_file(root, o->summary_json,
                                         JSON_INDENT(2) | JSON_SORT_KEYS);
        if (rc)
                fprintf(stderr, "pd-import: %s: cannot write summary\n",
                        o->summary_json);
        json_decref(root);
        return rc;
}

static void print_totals(const opts_t *o, const pd_import_result_t *res,
                         const totals_t *t)
{
        pd_import_report_print(stdout, res);
        printf("invalid events (not sent): %zu\n", t->invalid);
        if (o->dry_run)
                printf("dry run: nothing produced\n");
        else
                printf("produced: %zu, delivered: %lld to %s\n", t->produced,
                       (long long)t->delivered, o->topic);
        if (t->delivery_failed)
                printf("DELIVERY FAILED: %s\n", *t->delivery_error
                                                    ? t->delivery_error
                                                    : "produce error");
}

int main(int argc, char **argv)
{
        pd_arena_t arena;
        pd_import_result_t res;
        totals_t t = {0};
        opts_t o = {.bootstrap = "localhost:9092",
                    .topic = "customer.lifecycle",
                    .data_dir = getenv("PD_DATA_DIR"),
                    .seed = 1};
        char errstr[512] = "";
        int rc;

        pd_arena_init(&arena);
        pd_import_result_init(&res);
        res.log = stderr;
        if ((rc = parse_args(argc, argv, &o, &arena)))
                goto out;
        rc = 1;
        if (load(&o, &arena, &res, errstr, sizeof(errstr)) ||
            send_all(&o, &res, &t, errstr, sizeof(errstr))) {
                fprintf(stderr, "pd-import: %s\n", errstr);
                goto out;
        }
        print_totals(&o, &res, &t);
        rc = t.delivery_failed || t.invalid ? 1 : 0;
        if (o.summary_json && write_json(&o, &res, &t))
                rc = 1;
out:
        pd_arena_term(&arena);
        return rc;
}
