#include "config.h"
#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef enum prop_type_e {
        T_STR,
        T_INT,
        T_INT64,
        T_BOOL,
        T_CLOCK,
        T_TIME_OF_DAY,
        T_DAYS_LIST,
        T_SCHEMA_ID,
} prop_type_t;

typedef struct prop_s {
        const char *name;
        prop_type_t type;
        size_t offset;
        const char *dflt;
        int64_t min, max;
        const char *desc;
} prop_t;

#define OFF(f) offsetof(pd_config_t, f)

static const prop_t props[] = {
    {"bootstrap.servers", T_STR, OFF(bootstrap_servers), "localhost:9092", 0, 0,
     "Kafka bootstrap servers (host:port,...)."},
    {"group.id", T_STR, OFF(group_id), "persona-dna", 0, 0,
     "Consumer group of the workers; also the transactional.id prefix."},
    {"instance.id", T_STR, OFF(instance_id), "", 0, 0,
     "This worker's stable identity, distinct per worker (e.g. the pod "
     "name; empty: the host name). transactional.id is "
     "<group.id>-<instance.id>, so a restarted worker fences its previous "
     "incarnation."},
    {"static.membership", T_BOOL, OFF(static_membership), "false", 0, 0,
     "Use instance.id as group.instance.id (KIP-345)."},
    {"restore.skip.unfinished", T_BOOL, OFF(restore_skip_unfinished), "false",
     0, 0,
     "For brokers that show records of aborted or unfinished transactions "
     "to read_committed readers (the embedded broker): a restore skips a "
     "marker record whose transaction wrote no partition state on its "
     "partition. Leave off with Kafka, which hides them (and compaction "
     "removes old partition states)."},
    {"topic.input", T_STR, OFF(topic_input), "customer.lifecycle", 0, 0,
     "Input topic of LifecycleEvent records, keyed by customer id."},
    {"topic.persona", T_STR, OFF(topic_persona), "customer.persona", 0, 0,
     "Compacted changelog of PersonaMarker; same partition count as input."},
    {"topic.plans", T_STR, OFF(topic_plans), "customer.plans", 0, 0,
     "PlanAssigned output topic."},
    {"topic.actions", T_STR, OFF(topic_actions), "customer.actions", 0, 0,
     "ActionRequested output topic."},
    {"topic.dlq", T_STR, OFF(topic_dlq), "customer.lifecycle.dlq", 0, 0,
     "Dead-letter topic: failed input byte for byte, reason in headers."},
    {"topic.partition.state", T_STR, OFF(topic_pstate),
     "persona-dna.partition-state", 0, 0,
     "Compacted changelog of PartitionState (stream time, manager load); "
     "same partition count as input."},
    {"store.path", T_STR, OFF(store_path), "./persona-dna-store", 0, 0,
     "Directory of the LMDB store (a cache of the changelogs)."},
    {"store.map.size", T_INT64, OFF(store_map_size), "1073741824", 1048576,
     INT64_MAX, "LMDB map size in bytes (doubled whenever the map is full)."},
    {"store.map.max", T_INT64, OFF(store_map_max), "0", 0, INT64_MAX,
     "Upper bound of the LMDB map in bytes (0: none): when doubling the "
     "map would pass it, the worker stops with exit code 1, nothing of "
     "the failed batch committed."},
    {"model.path", T_STR, OFF(model_path),
     PD_SOURCE_DIR "/model/persona-model.json", 0, 0,
     "Persona scoring model file."},
    {"model.rescore", T_BOOL, OFF(model_rescore), "false", 0, 0,
     "Re-score every marker whose model_version differs from the loaded "
     "model, in the normal transactions (a persona_changed action where the "
     "dominant changes, cause <customer>/rescore/<version>); off: older "
     "markers keep their scores and new evidence is scored by the new "
     "model."},
    {"templates.path", T_STR, OFF(templates_path),
     PD_SOURCE_DIR "/model/plan-templates.json", 0, 0, "Plan templates file."},
    {"roster.path", T_STR, OFF(roster_path), PD_SOURCE_DIR "/model/roster.json",
     0, 0, "Project-manager roster file."},
    {"batch.max.messages", T_INT, OFF(batch_max_messages), "500", 1, 100000,
     "Input messages per transaction at most."},
    {"batch.max.ms", T_INT, OFF(batch_max_ms), "200", 1, 60000,
     "Time a transaction collects input at most."},
    {"timers.batch.max", T_INT, OFF(timer_batch_max), "500", 1, 100000,
     "Due timers fired per transaction at most (the rest wait a batch)."},
    {"clock", T_CLOCK, OFF(clock), "wall", 0, 0,
     "Timer clock: wall (live) or event (stream time of the partition, for "
     "replays and backfills)."},
    {"survey.local.time", T_TIME_OF_DAY, OFF(survey_local_minute), "10:00", 0,
     0, "Local time of day (customer's zone) surveys are due, HH:MM."},
    {"survey.interval.months", T_INT, OFF(survey_interval_months), "6", 1, 24,
     "Months between surveys after implementation close."},
    {"survey.close.on.last.milestone", T_BOOL, OFF(close_on_last_milestone),
     "true", 0, 0,
     "Without an ImplementationClosed event, treat the plan's last "
     "milestone as the close."},
    {"survey.min.gap.days", T_INT, OFF(survey_min_gap_days), "30", 0, 3650,
     "Contact governance: minimum days between two surveys to one customer; "
     "a survey inside the gap is deferred to its end, never dropped (0: no "
     "gap)."},
    {"renewal.lead.days", T_DAYS_LIST, OFF(renewal_lead_days), "90,30", 0, 0,
     "Days before a renewal date that preparation is requested (up to 4)."},
    {"message.max.bytes", T_INT, OFF(max_message_bytes), "1000000", 1024,
     100000000, "Input larger than this is dead-lettered as oversized."},
    {"exit.when.idle.ms", T_INT, OFF(exit_when_idle_ms), "0", 0, INT_MAX,
     "Exit 0 once caught up and idle this long (0: run until signalled)."},
    {"log.level", T_STR, OFF(log_level), "info", 0, 0,
     "error, warn, info or debug."},
    {"metrics.path", T_STR, OFF(metrics_path), "", 0, 0,
     "Write counters as JSON here at exit (and every 10 s)."},
    {"schema.id.lifecycle", T_SCHEMA_ID, OFF(schema_ids[0]), "1", 0, INT32_MAX,
     "Wire schema id of LifecycleEvent."},
    {"schema.id.marker", T_SCHEMA_ID, OFF(schema_ids[1]), "2", 0, INT32_MAX,
     "Wire schema id of PersonaMarker."},
    {"schema.id.plan", T_SCHEMA_ID, OFF(schema_ids[2]), "3", 0, INT32_MAX,
     "Wire schema id of PlanAssigned."},
    {"schema.id.action", T_SCHEMA_ID, OFF(schema_ids[3]), "4", 0, INT32_MAX,
     "Wire schema id of ActionRequested."},
    {"schema.id.partition.state", T_SCHEMA_ID, OFF(schema_ids[4]), "5", 0,
     INT32_MAX, "Wire schema id of PartitionState."},
};

#define N_PROPS (sizeof(props) / sizeof(props[0]))

static pd_err_t fail(char *errstr, size_t errstr_size, const char *key,
                     const char *why)
{
        snprintf(errstr, errstr_size, "%s: %s", key, why);
        return PD_ERR_CONFIG;
}

static pd_err_t parse_int(const prop_t *p, const char *v, int64_t *out,
                          char *errstr, size_t errstr_size)
{
        char *end;
        errno = 0;
        long long n = strtoll(v, &end, 10);
        if (errno || end == v || *end)
                return fail(errstr, errstr_size, p->name, "not an integer");
        if (n < p->min || n > p->max) {
                snprintf(errstr, errstr_size, "%s: %lld outside %lld..%lld",
                         p->name, n, (long long)p->min, (long long)p->max);
                return PD_ERR_CONFIG;
        }
        *out = n;
        return PD_OK;
}

static pd_err_t parse_days(const prop_t *p, const char *v, int32_t *days,
                           char *errstr, size_t errstr_size)
{
        int32_t tmp[4] = {0};
        int n = 0;
        const char *s = v;
        while (*s) {
                char *end;
                long d = strtol(s, &end, 10);
                if (end == s || d <= 0 || d > 3650 || n == 4)
                        return fail(errstr, errstr_size, p->name,
                                    "want up to 4 comma-separated day counts "
                                    "1-3650");
                tmp[n++] = (int32_t)d;
                s = *end == ',' ? end + 1 : end;
                if (*end && *end != ',')
                        return fail(errstr, errstr_size, p->name,
                                    "want comma-separated integers");
        }
        memcpy(days, tmp, sizeof(tmp));
        return PD_OK;
}

static pd_err_t parse_value(pd_config_t *conf, const prop_t *p, const char *v,
                            char *errstr, size_t errstr_size)
{
        char *field = (char *)conf + p->offset;
        int64_t n = 0;
        int hh, mm, used = 0;
        pd_err_t err;
        switch (p->type) {
        case T_STR:
                *(char **)field = pd_arena_strdup(&conf->arena, v);
                return *(char **)field ? PD_OK : PD_ERR_NOMEM;
        case T_INT:
        case T_SCHEMA_ID:
                if ((err = parse_int(p, v, &n, errstr, errstr_size)))
                        return err;
                *(int32_t *)field = (int32_t)n;
                return PD_OK;
        case T_INT64:
                if ((err = parse_int(p, v, &n, errstr, errstr_size)))
                        return err;
                *(int64_t *)field = n;
                return PD_OK;
        case T_BOOL:
                if (strcmp(v, "true") && strcmp(v, "false"))
                        return fail(errstr, errstr_size, p->name,
                                    "want true or false");
                *(bool *)field = !strcmp(v, "true");
                return PD_OK;
        case T_CLOCK:
                if (strcmp(v, "wall") && strcmp(v, "event"))
                        return fail(errstr, errstr_size, p->name,
                                    "want wall or event");
                *(pd_clock_t *)field =
                    !strcmp(v, "event") ? PD_CLOCK_EVENT : PD_CLOCK_WALL;
                return PD_OK;
        case T_TIME_OF_DAY:
                if (sscanf(v, "%2d:%2d%n", &hh, &mm, &used) != 2 || v[used] ||
                    hh < 0 || hh > 23 || mm < 0 || mm > 59)
                        return fail(errstr, errstr_size, p->name,
                                    "want HH:MM, 00:00-23:59");
                *(int32_t *)field = hh * 60 + mm;
                return PD_OK;
        case T_DAYS_LIST:
                return parse_days(p, v, (int32_t *)field, errstr, errstr_size);
        }
        return PD_ERR_CONFIG;
}

pd_err_t pd_config_set(pd_config_t *conf, const char *key, const char *value,
                       char *errstr, size_t errstr_size)
{
        if (!strncmp(key, "kafka.", 6)) {
                if (!key[6])
                        return fail(errstr, errstr_size, key, "empty key");
                return pd_kvs_add(&conf->kafka, &conf->arena, key + 6, value)
                           ? PD_ERR_NOMEM
                           : PD_OK;
        }
        for (size_t i = 0; i < N_PROPS; i++)
                if (!strcmp(props[i].name, key))
                        return parse_value(conf, &props[i], value, errstr,
                                           errstr_size);
        return fail(errstr, errstr_size, key,
                    "unknown property (see --help; librdkafka properties "
                    "take the kafka. prefix)");
}

pd_err_t pd_config_init(pd_config_t *conf)
{
        char errstr[256];
        memset(conf, 0, sizeof(*conf));
        pd_arena_init(&conf->arena);
        for (size_t i = 0; i < N_PROPS; i++)
                if (parse_value(conf, &props[i], props[i].dflt, errstr,
                                sizeof(errstr)))
                        return PD_ERR_NOMEM;
        return PD_OK;
}

void pd_config_term(pd_config_t *conf)
{
        pd_arena_term(&conf->arena);
        memset(conf, 0, sizeof(*conf));
}

static char *trim(char *s)
{
        while (isspace((unsigned char)*s))
                s++;
        char *e = s + strlen(s);
        while (e > s && isspace((unsigned char)e[-1]))
                *--e = '\0';
        return s;
}

pd_err_t pd_config_read_file(pd_config_t *conf, const char *path, char *errstr,
                             size_t errstr_size)
{
        pd_err_t err = PD_OK;
        char line[4096], why[512];
        int lineno = 0;
        FILE *fp = fopen(path, "r");
        if (!fp) {
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                return PD_ERR_CONFIG;
        }
        while (!err && fgets(line, sizeof(line), fp)) {
                lineno++;
                char *s = trim(line);
                if (!*s || *s == '#' || *s == '!')
                        continue;
                char *eq = strpbrk(s, "=:");
                if (!eq) {
                        snprintf(errstr, errstr_size,
                                 "%s:%d: %s: expected key=value", path, lineno,
                                 s);
                        err = PD_ERR_CONFIG;
                        break;
                }
                *eq = '\0';
                if ((err = pd_config_set(conf, trim(s), trim(eq + 1), why,
                                         sizeof(why))))
                        snprintf(errstr, errstr_size, "%s:%d: %s", path, lineno,
                                 why);
        }
        fclose(fp);
        return err;
}

pd_err_t pd_config_validate(const pd_config_t *conf, char *errstr,
                            size_t errstr_size)
{
        if (conf->store_map_max && conf->store_map_max < conf->store_map_size) {
                snprintf(errstr, errstr_size,
                         "store.map.max: %lld is below store.map.size %lld",
                         (long long)conf->store_map_max,
                         (long long)conf->store_map_size);
                return PD_ERR_CONFIG;
        }
        if (pd_log_level_parse(conf->log_level) >= 0)
                return PD_OK;
        return fail(errstr, errstr_size, "log.level",
                    "want error, warn, info or debug");
}

void pd_config_print_help(FILE *fp, bool markdown)
{
        if (markdown)
                fprintf(fp, "| property | default | description |\n"
                            "|---|---|---|\n");
        const size_t src_len = strlen(PD_SOURCE_DIR);
        for (size_t i = 0; i < N_PROPS; i++) {
                const prop_t *p = &props[i];
                /* Defaults inside the build's source tree print relative to
                 * it, so the generated document is the same for every
                 * clone. */
                bool in_src = !strncmp(p->dflt, PD_SOURCE_DIR, src_len);
                const char *dflt = in_src ? p->dflt + src_len + 1 : p->dflt;
                const char *pre = in_src ? "<source>/" : "";
                if (markdown)
                        fprintf(fp, "| `%s` | `%s%s` | %s |\n", p->name, pre,
                                dflt, p->desc);
                else
                        fprintf(fp, "  %-32s %s\n  %-32s (default: %s%s)\n",
                                p->name, p->desc, "", pre, dflt);
        }
        if (markdown)
                fprintf(fp, "| `kafka.*` | | Passed to librdkafka without "
                            "the prefix (e.g. `kafka.security.protocol`). |\n");
        else
                fprintf(fp, "  %-32s %s\n", "kafka.<property>",
                        "passed to librdkafka without the prefix");
}
