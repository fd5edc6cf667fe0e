/* pd-report: what the worker published, read back from the output topics
 * with isolation.level=read_committed.
 *
 *   pd-report -b BOOTSTRAP [--json] [-X topic.plans=...]
 *
 * Plans by persona and template (as assigned) and by project manager,
 * actions by kind, surveys by slot kind, escalations, dead letters by
 * class with their reasons, and how many records carried an id already
 * seen (a consumer de-duplicating by id drops those). */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "kafka.h"

typedef struct report_s {
        pd_codec_t *codec;
        pd_arena_t arena;
        json_t *plans_by_template, *plans_by_pm, *actions, *surveys, *dlq,
            *dlq_reasons, *queues, *leader;
        json_t *seen; /* output id -> true */
        int64_t records, repeated, undecodable, extends;
} report_t;

static void bump(json_t *o, const char *key)
{
        json_t *v = json_object_get(o, key);
        json_object_set_new(o, key,
                            json_integer(v ? json_integer_value(v) + 1 : 1));
}

static void seen_id(report_t *r, const char *id)
{
        r->records++;
        if (json_object_get(r->seen, id))
                r->repeated++;
        else
                json_object_set_new(r->seen, id, json_true());
}

static int on_plan(void *opaque, const pd_kafka_record_t *rec)
{
        report_t *r = opaque;
        pd_plan_t plan;
        char key[512];
        pd_arena_reset(&r->arena);
        if (!rec->value || pd_codec_plan_decode(r->codec, rec->value, rec->len,
                                                &r->arena, &plan, NULL, 0)) {
                r->undecodable++;
                return 0;
        }
        seen_id(r, plan.plan_id);
        if (plan.extends) { /* same manager and template as before */
                r->extends++;
                return 0;
        }
        snprintf(key, sizeof(key), "%s / %s", pd_axis_name(plan.persona),
                 plan.template_id);
        bump(r->plans_by_template, key);
        bump(r->plans_by_pm, plan.project_manager);
        return 0;
}

static int on_action(void *opaque, const pd_kafka_record_t *rec)
{
        report_t *r = opaque;
        pd_action_t a;
        pd_arena_reset(&r->arena);
        if (!rec->value ||
            pd_codec_action_decode(r->codec, rec->value, rec->len, &r->arena,
                                   &a, NULL, 0)) {
                r->undecodable++;
                return 0;
        }
        seen_id(r, a.action_id);
        bump(r->actions, pd_action_kind_name(a.kind));
        if (a.kind == PD_ACT_SEND_SURVEY) {
                const char *slot = pd_kvs_get(&a.params, "slot");
                bump(r->surveys, slot && !strcmp(slot, "0")
                                     ? "at implementation close"
                                     : "six-monthly");
                if (pd_kvs_get(&a.params, "deferred_from"))
                        bump(r->surveys, "of which deferred by the gap");
        }
        if (a.kind == PD_ACT_NOTIFY_LEADER) {
                const char *t = pd_kvs_get(&a.params, "topic");
                bump(r->leader, t ? t : "(none)");
        }
        if (a.kind == PD_ACT_ROUTE_TICKET) {
                const char *q = pd_kvs_get(&a.params, "queue");
                bump(r->queues, q ? q : "(none)");
        }
        return 0;
}

static int on_dlq(void *opaque, const pd_kafka_record_t *rec)
{
        report_t *r = opaque;
        const char *cls =
            pd_kvs_get(rec->headers, "__connect.errors.exception.class.name");
        const char *msg =
            pd_kvs_get(rec->headers, "__connect.errors.exception.message");
        bump(r->dlq, cls ? cls : "(no header)");
        if (msg && json_object_size(r->dlq_reasons) < 20)
                bump(r->dlq_reasons, msg);
        return 0;
}

static void print_counts(const char *title, json_t *o)
{
        const char *k;
        json_t *v;
        printf("%s:\n", title);
        if (!json_object_size(o))
                printf("  (none)\n");
        json_object_foreach(o, k, v)
            printf("  %-48s %lld\n", k, (long long)json_integer_value(v));
}

static void print_text(report_t *r)
{
        print_counts("new plans by persona / template (at assignment)",
                     r->plans_by_template);
        printf("further deals that extended an active plan: %lld\n",
               (long long)r->extends);
        print_counts("new plans by project manager", r->plans_by_pm);
        print_counts("actions by kind", r->actions);
        print_counts("surveys requested", r->surveys);
        print_counts("leader notifications by topic", r->leader);
        print_counts("tickets by queue", r->queues);
        print_counts("dead letters by class", r->dlq);
        print_counts("dead-letter reasons (up to 20 distinct)", r->dlq_reasons);
        printf("output records: %lld, repeated ids: %lld, undecodable: %lld\n",
               (long long)r->records, (long long)r->repeated,
               (long long)r->undecodable);
}

static json_t *as_json(report_t *r)
{
        return json_pack(
            "{s:O, s:I, s:O, s:O, s:O, s:O, s:O, s:O, s:O, s:I, s:I, s:I}",
            "plans_by_persona_template", r->plans_by_template,
            "plan_extensions", (json_int_t)r->extends,
            "plans_by_project_manager", r->plans_by_pm, "actions_by_kind",
            r->actions, "surveys", r->surveys, "leader_by_topic", r->leader,
            "tickets_by_queue", r->queues, "dead_letters_by_class", r->dlq,
            "dead_letter_reasons", r->dlq_reasons, "output_records",
            (json_int_t)r->records, "repeated_ids", (json_int_t)r->repeated,
            "undecodable", (json_int_t)r->undecodable);
}

int main(int argc, char **argv)
{
        const char *bs = NULL;
        const char *topics[3] = {"customer.plans", "customer.actions",
                                 "customer.lifecycle.dlq"};
        pd_kafka_record_cb_t *cbs[3] = {on_plan, on_action, on_dlq};
        int as_json_out = 0, ret = 1;
        char errstr[512];
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
                        printf("usage: pd-report -b BOOTSTRAP [--json] "
                               "[--plans T] [--actions T] [--dlq T]\n");
                        return 0;
                }
                if (!strcmp(argv[i], "-b") && i + 1 < argc)
                        bs = argv[++i];
                else if (!strcmp(argv[i], "--json"))
                        as_json_out = 1;
                else if (!strcmp(argv[i], "--plans") && i + 1 < argc)
                        topics[0] = argv[++i];
                else if (!strcmp(argv[i], "--actions") && i + 1 < argc)
                        topics[1] = argv[++i];
                else if (!strcmp(argv[i], "--dlq") && i + 1 < argc)
                        topics[2] = argv[++i];
                else
                        bs = NULL, i = argc;
        }
        if (!bs) {
                fprintf(stderr, "usage: pd-report -b BOOTSTRAP [--json] "
                                "[--plans T] [--actions T] [--dlq T]\n");
                return 2;
        }
        report_t r = {0};
        pd_arena_init(&r.arena);
        json_t **objs[] = {&r.plans_by_template,
                           &r.plans_by_pm,
                           &r.actions,
                           &r.surveys,
                           &r.dlq,
                           &r.dlq_reasons,
                           &r.queues,
                           &r.seen,
                           &r.leader};
        for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
                *objs[i] = json_object();
        if (pd_codec_new(NULL, &r.codec, errstr, sizeof(errstr))) {
                fprintf(stderr, "pd-report: %s\n", errstr);
                goto out;
        }
        for (int t = 0; t < 3; t++)
                if (pd_kafka_read_topic(bs, topics[t], cbs[t], &r, errstr,
                                        sizeof(errstr))) {
                        fprintf(stderr, "pd-report: %s: %s\n", topics[t],
                                errstr);
                        goto out;
                }
        if (as_json_out) {
                json_t *o = as_json(&r);
                json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
                printf("\n");
                json_decref(o);
        } else {
                print_text(&r);
        }
        ret = 0;
out:
        for (size_t i = 0; i < sizeof(objs) / sizeof(objs[0]); i++)
                json_decref(*objs[i]);
        pd_codec_destroy(r.codec);
        pd_arena_term(&r.arena);
        return ret;
}
