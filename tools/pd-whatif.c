/* pd-whatif: what would a candidate persona model change?  Replays the
 * history under the current model and the candidate, in process, and
 * reports how many customers would end with another dominant persona, from
 * what to what, with examples and the evidence that differs.  Nothing live
 * is touched: no producer, no consumer group, no store.
 *
 *   pd-whatif --candidate FILE [--model FILE] [--examples N] [--json]
 *             (--data DIR [--datasets LIST] | --sample N |
 *              -b BOOTSTRAP [--topic customer.lifecycle])
 *
 * The history is either the input topic, read from the beginning with
 * read_committed by a group-less consumer (partition order, which is each
 * customer's order), or an import of the CSV exports with the importer's
 * mapping (event-time order). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "import.h"
#include "kafka.h"
#include "whatif.h"

typedef struct opts_s {
        const char *model, *candidate, *data, *datasets, *bootstrap, *topic;
        size_t sample, examples;
        int json;
} opts_t;

static const char *col_name(int i)
{
        return i == PD_WHATIF_NONE ? "none" : pd_axis_name((pd_axis_t)i);
}

static int usage(FILE *fp, int ret)
{
        fprintf(fp,
                "usage: pd-whatif --candidate FILE [--model FILE] "
                "[--examples N] [--json]\n"
                "                 (--data DIR [--datasets LIST] | --sample N "
                "| -b BOOTSTRAP [--topic T])\n");
        return ret;
}

static int parse(int argc, char **argv, opts_t *o)
{
        o->model = PD_SOURCE_DIR "/model/persona-model.json";
        o->topic = "customer.lifecycle";
        o->examples = 5;
        for (int i = 1; i < argc; i++) {
                const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
                if (!strcmp(a, "--json")) {
                        o->json = 1;
                        continue;
                }
                if (!v)
                        return -1;
                i++;
                if (!strcmp(a, "--candidate"))
                        o->candidate = v;
                else if (!strcmp(a, "--model"))
                        o->model = v;
                else if (!strcmp(a, "--data"))
                        o->data = v;
                else if (!strcmp(a, "--datasets"))
                        o->datasets = v;
                else if (!strcmp(a, "--sample"))
                        o->sample = strtoul(v, NULL, 10);
                else if (!strcmp(a, "-b") || !strcmp(a, "--bootstrap"))
                        o->bootstrap = v;
                else if (!strcmp(a, "--topic"))
                        o->topic = v;
                else if (!strcmp(a, "--examples"))
                        o->examples = strtoul(v, NULL, 10);
                else
                        return -1;
        }
        return o->candidate && (!!o->data + !!o->sample + !!o->bootstrap) == 1
                   ? 0
                   : -1;
}

/* ---- sources ------------------------------------------------------------- */

typedef struct topic_ctx_s {
        pd_whatif_t *whatif;
        pd_codec_t *codec;
        pd_arena_t arena;
        size_t undecodable;
        pd_err_t err;
} topic_ctx_t;

static int on_event(void *opaque, const pd_kafka_record_t *rec)
{
        topic_ctx_t *t = opaque;
        pd_event_t ev;
        pd_arena_reset(&t->arena);
        /* What the worker would dead-letter never reaches a marker. */
        if (!rec->value || pd_codec_event_decode(t->codec, rec->value, rec->len,
                                                 &t->arena, &ev, NULL, 0)) {
                t->undecodable++;
                return 0;
        }
        t->err = pd_whatif_apply(t->whatif, &ev);
        if (t->err == PD_ERR_INVALID) {
                t->undecodable++;
                t->err = PD_OK;
        }
        return t->err != PD_OK;
}

static int replay_topic(const opts_t *o, pd_whatif_t *w, size_t *undecodable)
{
        topic_ctx_t t = {.whatif = w};
        char errstr[512];
        int ret = -1;
        pd_arena_init(&t.arena);
        if (pd_codec_new(NULL, &t.codec, errstr, sizeof(errstr)) ||
            pd_kafka_read_topic(o->bootstrap, o->topic, on_event, &t, errstr,
                                sizeof(errstr)))
                fprintf(stderr, "pd-whatif: %s%s\n", errstr,
                        t.err ? " (replay failed)" : "");
        else
                ret = 0;
        *undecodable = t.undecodable;
        pd_codec_destroy(t.codec);
        pd_arena_term(&t.arena);
        return ret;
}

static int replay_import(const opts_t *o, pd_whatif_t *w)
{
        pd_import_result_t res;
        pd_arena_t arena;
        char errstr[512];
        int ret = -1;
        pd_arena_init(&arena);
        pd_import_result_init(&res);
        if (o->sample ? pd_import_generate_sample(1, o->sample, &arena, &res)
                      : pd_import_dir(o->data, o->datasets, &arena, &res,
                                      errstr, sizeof(errstr))) {
                fprintf(stderr, "pd-whatif: %s\n",
                        o->sample ? "sample failed" : errstr);
                goto out;
        }
        for (size_t i = 0; i < res.n_events; i++)
                if (pd_whatif_apply(w, &res.events[i])) {
                        fprintf(stderr, "pd-whatif: out of memory\n");
                        goto out;
                }
        ret = 0;
out:
        pd_arena_term(&arena);
        return ret;
}

/* ---- report -------------------------------------------------------------- */

typedef struct ex_ctx_s {
        json_t *examples;
        size_t left;
} ex_ctx_t;

static int on_changed(void *opaque, const char *customer,
                      const pd_marker_t *cur, const pd_marker_t *cand)
{
        ex_ctx_t *x = opaque;
        pd_whatif_diff_t d[6];
        size_t n;
        json_t *diffs;
        if (!x->left--)
                return 1;
        diffs = json_array();
        n = pd_whatif_evidence_diff(cur, cand, d, 6);
        for (size_t i = 0; i < n && i < 6; i++)
                json_array_append_new(
                    diffs,
                    json_pack("{s:s, s:s, s:f, s:f}", "signal", d[i].signal,
                              "axis", pd_axis_name(d[i].axis), "current",
                              d[i].current, "candidate", d[i].candidate));
        json_array_append_new(
            x->examples,
            json_pack("{s:s, s:s, s:s, s:f, s:f, s:I, s:o}", "customer_id",
                      customer, "current", col_name(pd_whatif_dominant(cur)),
                      "candidate", col_name(pd_whatif_dominant(cand)),
                      "current_margin", cur->margin, "candidate_margin",
                      cand->margin, "evidence_differing", (json_int_t)n,
                      "evidence", diffs));
        return 0;
}

static json_t *report_json(const opts_t *o, const pd_whatif_t *w,
                           const pd_model_t *cur, const pd_model_t *cand,
                           size_t undecodable)
{
        pd_whatif_report_t r;
        json_t *matrix = json_object();
        ex_ctx_t x = {.examples = json_array(), .left = o->examples};
        pd_whatif_report(w, &r);
        for (int a = 0; a <= PD_WHATIF_NONE; a++) {
                json_t *row = json_object();
                for (int b = 0; b <= PD_WHATIF_NONE; b++)
                        if (r.matrix[a][b])
                                json_object_set_new(
                                    row, col_name(b),
                                    json_integer((json_int_t)r.matrix[a][b]));
                if (json_object_size(row))
                        json_object_set_new(matrix, col_name(a), row);
                else
                        json_decref(row);
        }
        pd_whatif_foreach_changed(w, on_changed, &x);
        return json_pack(
            "{s:{s:s, s:i}, s:{s:s, s:i}, s:s, s:I, s:I, s:I, s:I, s:I, "
            "s:{s:I, s:I}, s:o, s:o}",
            "current", "path", o->model, "version", pd_model_version(cur),
            "candidate", "path", o->candidate, "version",
            pd_model_version(cand), "history",
            o->bootstrap ? o->topic
            : o->sample  ? "sample"
                         : o->data,
            "events", (json_int_t)r.events, "duplicates",
            (json_int_t)r.duplicates, "undecodable", (json_int_t)undecodable,
            "customers", (json_int_t)r.customers, "changed",
            (json_int_t)r.changed, "persona_changes_during_replay", "current",
            (json_int_t)r.flips[0], "candidate", (json_int_t)r.flips[1],
            "matrix_current_to_candidate", matrix, "examples", x.examples);
}

static void print_text(const json_t *o)
{
        const json_t *m = json_object_get(o, "matrix_current_to_candidate");
        const json_t *ex = json_object_get(o, "examples"), *e;
        size_t i, j;
        long long customers =
            json_integer_value(json_object_get(o, "customers"));
        long long changed = json_integer_value(json_object_get(o, "changed"));
        printf("current model:   v%lld %s\n",
               json_integer_value(
                   json_object_get(json_object_get(o, "current"), "version")),
               json_string_value(
                   json_object_get(json_object_get(o, "current"), "path")));
        printf("candidate model: v%lld %s\n",
               json_integer_value(
                   json_object_get(json_object_get(o, "candidate"), "version")),
               json_string_value(
                   json_object_get(json_object_get(o, "candidate"), "path")));
        printf("history: %s: %lld events (%lld duplicates, %lld undecodable), "
               "%lld customers\n",
               json_string_value(json_object_get(o, "history")),
               json_integer_value(json_object_get(o, "events")),
               json_integer_value(json_object_get(o, "duplicates")),
               json_integer_value(json_object_get(o, "undecodable")),
               customers);
        printf("would change dominant persona: %lld of %lld customers "
               "(%.1f%%)\n",
               changed, customers,
               customers ? 100.0 * (double)changed / (double)customers : 0.0);
        printf("persona changes during the replay: current %lld, candidate "
               "%lld\n",
               json_integer_value(json_object_get(
                   json_object_get(o, "persona_changes_during_replay"),
                   "current")),
               json_integer_value(json_object_get(
                   json_object_get(o, "persona_changes_during_replay"),
                   "candidate")));
        printf("\ncustomers by dominant persona (rows: current, columns: "
               "candidate)\n%-12s",
               "");
        for (int b = 0; b <= PD_WHATIF_NONE; b++)
                printf(" %11s", col_name(b));
        printf("\n");
        for (int a = 0; a <= PD_WHATIF_NONE; a++) {
                const json_t *row = json_object_get(m, col_name(a));
                printf("%-12s", col_name(a));
                for (int b = 0; b <= PD_WHATIF_NONE; b++)
                        printf(" %11lld", json_integer_value(json_object_get(
                                              row, col_name(b))));
                printf("\n");
        }
        if (json_array_size(ex))
                printf("\nexamples (the evidence that differs, weight "
                       "current -> candidate):\n");
        json_array_foreach(ex, i, e)
        {
                const json_t *d, *ev = json_object_get(e, "evidence");
                printf("  %s: %s (margin %.2f) -> %s (margin %.2f)\n",
                       json_string_value(json_object_get(e, "customer_id")),
                       json_string_value(json_object_get(e, "current")),
                       json_real_value(json_object_get(e, "current_margin")),
                       json_string_value(json_object_get(e, "candidate")),
                       json_real_value(json_object_get(e, "candidate_margin")));
                json_array_foreach(ev, j, d)
                    printf("      %-40s %-10s %7.3f -> %7.3f\n",
                           json_string_value(json_object_get(d, "signal")),
                           json_string_value(json_object_get(d, "axis")),
                           json_real_value(json_object_get(d, "current")),
                           json_real_value(json_object_get(d, "candidate")));
        }
}

int main(int argc, char **argv)
{
        opts_t o = {0};
        pd_model_t *cur = NULL, *cand = NULL;
        pd_whatif_t *w = NULL;
        char errstr[1024];
        size_t undecodable = 0;
        int ret = 1;
        if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")))
                return usage(stdout, 0);
        if (parse(argc, argv, &o))
                return usage(stderr, 2);
        if (pd_model_load(o.model, &cur, errstr, sizeof(errstr)) ||
            pd_model_load(o.candidate, &cand, errstr, sizeof(errstr))) {
                fprintf(stderr, "pd-whatif: %s\n", errstr);
                goto out;
        }
        if (pd_whatif_new(cur, cand, &w)) {
                fprintf(stderr, "pd-whatif: out of memory\n");
                goto out;
        }
        if (o.bootstrap ? replay_topic(&o, w, &undecodable)
                        : replay_import(&o, w))
                goto out;
        json_t *rep = report_json(&o, w, cur, cand, undecodable);
        if (o.json) {
                json_dumpf(rep, stdout, JSON_INDENT(2));
                printf("\n");
        } else {
                print_text(rep);
        }
        json_decref(rep);
        ret = 0;
out:
        pd_whatif_destroy(w);
        pd_model_destroy(cand);
        pd_model_destroy(cur);
        return ret;
}
