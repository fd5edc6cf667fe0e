/* Table-driven tests of the configuration table (src/config.c): defaults,
 * -X key=value for every property type with errors naming the key, kafka.*
 * pass-through, unknown keys, and properties files whose errors read
 * "path:line: key: reason". */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"

static void contains(const char *haystack, const char *needle)
{
        if (!strstr(haystack, needle))
                fail_msg("\"%s\" does not contain \"%s\"", haystack, needle);
}

static void test_defaults(void **state)
{
        pd_config_t conf;
        char err[256] = "";
        assert_int_equal(pd_config_init(&conf), PD_OK);
        assert_string_equal(conf.bootstrap_servers, "localhost:9092");
        assert_string_equal(conf.group_id, "persona-dna");
        assert_string_equal(conf.instance_id, "");
        assert_false(conf.static_membership);
        assert_string_equal(conf.topic_input, "customer.lifecycle");
        assert_string_equal(conf.topic_persona, "customer.persona");
        assert_string_equal(conf.topic_plans, "customer.plans");
        assert_string_equal(conf.topic_actions, "customer.actions");
        assert_string_equal(conf.topic_dlq, "customer.lifecycle.dlq");
        assert_string_equal(conf.topic_pstate, "persona-dna.partition-state");
        assert_string_equal(conf.store_path, "./persona-dna-store");
        assert_int_equal(conf.store_map_size, 1073741824LL);
        contains(conf.model_path, "model/persona-model.json");
        contains(conf.templates_path, "model/plan-templates.json");
        contains(conf.roster_path, "model/roster.json");
        assert_int_equal(conf.batch_max_messages, 500);
        assert_int_equal(conf.batch_max_ms, 200);
        assert_int_equal(conf.timer_batch_max, 500);
        assert_int_equal(conf.clock, PD_CLOCK_WALL);
        assert_int_equal(conf.survey_local_minute, 600);
        assert_int_equal(conf.survey_interval_months, 6);
        assert_true(conf.close_on_last_milestone);
        assert_int_equal(conf.renewal_lead_days[0], 90);
        assert_int_equal(conf.renewal_lead_days[1], 30);
        assert_int_equal(conf.renewal_lead_days[2], 0);
        assert_int_equal(conf.renewal_lead_days[3], 0);
        assert_int_equal(conf.max_message_bytes, 1000000);
        assert_int_equal(conf.exit_when_idle_ms, 0);
        assert_string_equal(conf.log_level, "info");
        assert_string_equal(conf.metrics_path, "");
        for (int i = 0; i < 5; i++)
                assert_int_equal(conf.schema_ids[i], i + 1);
        assert_int_equal(conf.kafka.n, 0);
        assert_int_equal(pd_config_validate(&conf, err, sizeof(err)), PD_OK);
        pd_config_term(&conf);
}

/* ---- accepted values --------------------------------------------------- */

#define GET(field) offsetof(pd_config_t, field)

typedef enum want_type_e { W_STR, W_I32, W_I64, W_BOOL, W_CLOCK } want_type_t;

struct set_ok_case {
        const char *key, *value;
        size_t offset;
        want_type_t type;
        int64_t want_int;
        const char *want_str;
};

static const struct set_ok_case set_ok_cases[] = {
    {"bootstrap.servers", "k1:9092,k2:9092", GET(bootstrap_servers), W_STR, 0,
     "k1:9092,k2:9092"},
    {"group.id", "g", GET(group_id), W_STR, 0, "g"},
    {"instance.id", "pod-7", GET(instance_id), W_STR, 0, "pod-7"},
    {"topic.input", "in", GET(topic_input), W_STR, 0, "in"},
    {"store.path", "", GET(store_path), W_STR, 0, ""},
    {"log.level", "debug", GET(log_level), W_STR, 0, "debug"},
    {"batch.max.messages", "1", GET(batch_max_messages), W_I32, 1, NULL},
    {"batch.max.messages", "100000", GET(batch_max_messages), W_I32, 100000,
     NULL},
    {"batch.max.ms", "60000", GET(batch_max_ms), W_I32, 60000, NULL},
    {"timers.batch.max", "7", GET(timer_batch_max), W_I32, 7, NULL},
    {"survey.interval.months", "12", GET(survey_interval_months), W_I32, 12,
     NULL},
    {"message.max.bytes", "1024", GET(max_message_bytes), W_I32, 1024, NULL},
    {"exit.when.idle.ms", "2147483647", GET(exit_when_idle_ms), W_I32,
     2147483647, NULL},
    {"schema.id.lifecycle", "0", GET(schema_ids[0]), W_I32, 0, NULL},
    {"schema.id.partition.state", "2147483647", GET(schema_ids[4]), W_I32,
     2147483647, NULL},
    {"store.map.size", "1048576", GET(store_map_size), W_I64, 1048576, NULL},
    {"store.map.size", "1099511627776", GET(store_map_size), W_I64,
     1099511627776LL, NULL},
    {"static.membership", "true", GET(static_membership), W_BOOL, 1, NULL},
    {"survey.close.on.last.milestone", "false", GET(close_on_last_milestone),
     W_BOOL, 0, NULL},
    {"clock", "event", GET(clock), W_CLOCK, PD_CLOCK_EVENT, NULL},
    {"clock", "wall", GET(clock), W_CLOCK, PD_CLOCK_WALL, NULL},
    {"survey.local.time", "00:00", GET(survey_local_minute), W_I32, 0, NULL},
    {"survey.local.time", "23:59", GET(survey_local_minute), W_I32, 1439, NULL},
    {"survey.local.time", "09:30", GET(survey_local_minute), W_I32, 570, NULL},
};

static void test_set_ok(void **state)
{
        for (size_t i = 0; i < sizeof(set_ok_cases) / sizeof(set_ok_cases[0]);
             i++) {
                const struct set_ok_case *c = &set_ok_cases[i];
                pd_config_t conf;
                char err[256] = "";
                assert_int_equal(pd_config_init(&conf), PD_OK);
                print_message("set %s=%s\n", c->key, c->value);
                if (pd_config_set(&conf, c->key, c->value, err, sizeof(err)))
                        fail_msg("%s=%s: %s", c->key, c->value, err);
                const char *field = (const char *)&conf + c->offset;
                switch (c->type) {
                case W_STR:
                        assert_string_equal(*(char *const *)field, c->want_str);
                        break;
                case W_I32:
                        assert_int_equal(*(const int32_t *)field, c->want_int);
                        break;
                case W_I64:
                        assert_int_equal(*(const int64_t *)field, c->want_int);
                        break;
                case W_BOOL:
                        assert_int_equal(*(const bool *)field, c->want_int);
                        break;
                case W_CLOCK:
                        assert_int_equal(*(const pd_clock_t *)field,
                                         c->want_int);
                        break;
                }
                pd_config_term(&conf);
        }
}

struct days_case {
        const char *value;
        int32_t want[4];
};

static const struct days_case days_ok_cases[] = {
    {"90,30", {90, 30, 0, 0}},
    {"120,60,30,7", {120, 60, 30, 7}},
    {"1", {1, 0, 0, 0}},
    {"3650", {3650, 0, 0, 0}},
};

static void test_days_list_ok(void **state)
{
        for (size_t i = 0; i < sizeof(days_ok_cases) / sizeof(days_ok_cases[0]);
             i++) {
                pd_config_t conf;
                char err[256] = "";
                assert_int_equal(pd_config_init(&conf), PD_OK);
                if (pd_config_set(&conf, "renewal.lead.days",
                                  days_ok_cases[i].value, err, sizeof(err)))
                        fail_msg("%s: %s", days_ok_cases[i].value, err);
                for (int j = 0; j < 4; j++)
                        assert_int_equal(conf.renewal_lead_days[j],
                                         days_ok_cases[i].want[j]);
                pd_config_term(&conf);
        }
}

/* ---- refused values ---------------------------------------------------- */

struct set_bad_case {
        const char *key, *value;
        const char *why[2]; /* errstr substrings besides the key */
};

static const struct set_bad_case set_bad_cases[] = {
    {"batch.max.messages", "0", {"0 outside 1..100000"}},
    {"batch.max.messages", "100001", {"100001 outside 1..100000"}},
    {"batch.max.messages", "-5", {"outside"}},
    {"batch.max.messages", "ten", {"not an integer"}},
    {"batch.max.messages", "10x", {"not an integer"}},
    {"batch.max.messages", "", {"not an integer"}},
    {"batch.max.messages", "99999999999999999999", {"not an integer"}},
    {"survey.interval.months", "25", {"outside 1..24"}},
    {"message.max.bytes", "1023", {"outside 1024..100000000"}},
    {"exit.when.idle.ms", "-1", {"outside"}},
    {"exit.when.idle.ms", "2147483648", {"outside"}},
    {"schema.id.marker", "-1", {"outside"}},
    {"schema.id.marker", "2147483648", {"outside"}},
    {"store.map.size", "1048575", {"outside"}},
    {"static.membership", "yes", {"true or false"}},
    {"static.membership", "TRUE", {"true or false"}},
    {"static.membership", "1", {"true or false"}},
    {"clock", "stream", {"wall or event"}},
    {"clock", "", {"wall or event"}},
    {"survey.local.time", "24:00", {"HH:MM"}},
    {"survey.local.time", "10:60", {"HH:MM"}},
    {"survey.local.time", "10", {"HH:MM"}},
    {"survey.local.time", "10:00pm", {"HH:MM"}},
    {"survey.local.time", "-1:00", {"HH:MM"}},
    {"survey.local.time", "", {"HH:MM"}},
    {"renewal.lead.days", "90,0", {"1-3650"}},
    {"renewal.lead.days", "-30", {"1-3650"}},
    {"renewal.lead.days", "3651", {"1-3650"}},
    {"renewal.lead.days", "90,,30", {"1-3650"}},
    {"renewal.lead.days", "90;30", {"comma-separated"}},
    {"renewal.lead.days", "5,4,3,2,1", {"up to 4"}},
    {"renewal.lead.days", "ninety", {"1-3650"}},
    {"no.such.property", "1", {"unknown property"}},
    {"batch.max", "1", {"unknown property"}},
    {"kafka.", "1", {"empty key"}},
};

static void test_set_bad(void **state)
{
        for (size_t i = 0; i < sizeof(set_bad_cases) / sizeof(set_bad_cases[0]);
             i++) {
                const struct set_bad_case *c = &set_bad_cases[i];
                pd_config_t conf, before;
                char err[256] = "";
                assert_int_equal(pd_config_init(&conf), PD_OK);
                assert_int_equal(pd_config_init(&before), PD_OK);
                print_message("set %s=%s\n", c->key, c->value);
                pd_err_t e =
                    pd_config_set(&conf, c->key, c->value, err, sizeof(err));
                if (e != PD_ERR_CONFIG)
                        fail_msg("%s=%s: want PD_ERR_CONFIG, got %s", c->key,
                                 c->value, pd_err_name(e));
                /* "<key>: <reason>" */
                assert_int_equal(strncmp(err, c->key, strlen(c->key)), 0);
                assert_int_equal(err[strlen(c->key)], ':');
                for (size_t j = 0; j < 2 && c->why[j]; j++)
                        contains(err, c->why[j]);
                /* A refused value leaves the previous one in place. */
                assert_int_equal(conf.batch_max_messages,
                                 before.batch_max_messages);
                assert_int_equal(conf.survey_local_minute,
                                 before.survey_local_minute);
                assert_memory_equal(conf.renewal_lead_days,
                                    before.renewal_lead_days,
                                    sizeof(conf.renewal_lead_days));
                assert_int_equal(conf.schema_ids[1], before.schema_ids[1]);
                assert_int_equal(conf.static_membership,
                                 before.static_membership);
                pd_config_term(&conf);
                pd_config_term(&before);
        }
}

static void test_kafka_passthrough(void **state)
{
        pd_config_t conf;
        char err[256] = "";
        assert_int_equal(pd_config_init(&conf), PD_OK);
        assert_int_equal(pd_config_set(&conf, "kafka.security.protocol",
                                       "SASL_SSL", err, sizeof(err)),
                         PD_OK);
        assert_int_equal(pd_config_set(&conf, "kafka.sasl.mechanisms", "PLAIN",
                                       err, sizeof(err)),
                         PD_OK);
        /* librdkafka validates its own properties; we pass them through. */
        assert_int_equal(
            pd_config_set(&conf, "kafka.anything.at.all", "", err, sizeof(err)),
            PD_OK);
        assert_int_equal(conf.kafka.n, 3);
        assert_string_equal(pd_kvs_get(&conf.kafka, "security.protocol"),
                            "SASL_SSL");
        assert_string_equal(pd_kvs_get(&conf.kafka, "sasl.mechanisms"),
                            "PLAIN");
        assert_string_equal(pd_kvs_get(&conf.kafka, "anything.at.all"), "");
        assert_null(pd_kvs_get(&conf.kafka, "kafka.security.protocol"));
        /* Many of them (the kvs grows). */
        for (int i = 0; i < 40; i++) {
                char key[32];
                snprintf(key, sizeof(key), "kafka.k%d", i);
                assert_int_equal(
                    pd_config_set(&conf, key, "v", err, sizeof(err)), PD_OK);
        }
        assert_int_equal(conf.kafka.n, 43);
        assert_string_equal(pd_kvs_get(&conf.kafka, "k39"), "v");
        assert_string_equal(pd_kvs_get(&conf.kafka, "security.protocol"),
                            "SASL_SSL");
        pd_config_term(&conf);
}

static void test_validate(void **state)
{
        pd_config_t conf;
        char err[256] = "";
        assert_int_equal(pd_config_init(&conf), PD_OK);
        assert_int_equal(
            pd_config_set(&conf, "log.level", "verbose", err, sizeof(err)),
            PD_OK);
        assert_int_equal(pd_config_validate(&conf, err, sizeof(err)),
                         PD_ERR_CONFIG);
        contains(err, "log.level");
        pd_config_term(&conf);
}

/* ---- properties files -------------------------------------------------- */

static void write_file(const char *path, const char *text)
{
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
}

struct file_case {
        const char *name;
        const char *text;
        pd_err_t want;
        const char *why; /* after "path:" */
};

static const struct file_case file_cases[] = {
    {"good",
     "# persona-dna\n"
     "! also a comment\n"
     "\n"
     "   \n"
     "bootstrap.servers = broker:9092\n"
     "  group.id=workers  \n"
     "batch.max.messages: 50\n"
     "clock=event\n"
     "survey.local.time=08:15\n"
     "renewal.lead.days=60,14\n"
     "kafka.client.id=pd-1\n"
     "store.path=/var/lib/pd=store\n",
     PD_OK, NULL},
    {"bad int on line 3",
     "# header\n"
     "group.id=g\n"
     "batch.max.messages=0\n"
     "clock=event\n",
     PD_ERR_CONFIG, "3: batch.max.messages: 0 outside 1..100000"},
    {"unknown key on line 2", "\nnope=1\n", PD_ERR_CONFIG,
     "2: nope: unknown property"},
    {"line without =", "group.id=g\njust words\n", PD_ERR_CONFIG,
     "2: just words: expected key=value"},
    {"bad bool", "static.membership=on\n", PD_ERR_CONFIG,
     "1: static.membership: want true or false"},
    {"bad time", "# c\n# c\n# c\nsurvey.local.time=7pm\n", PD_ERR_CONFIG,
     "4: survey.local.time: want HH:MM"},
};

static void test_read_file(void **state)
{
        char dir[] = "/tmp/pd-test-config-XXXXXX";
        char path[512], err[512];
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/persona-dna.properties", dir);
        for (size_t i = 0; i < sizeof(file_cases) / sizeof(file_cases[0]);
             i++) {
                const struct file_case *c = &file_cases[i];
                pd_config_t conf;
                char want[768];
                err[0] = '\0';
                print_message("file case: %s\n", c->name);
                write_file(path, c->text);
                assert_int_equal(pd_config_init(&conf), PD_OK);
                pd_err_t e = pd_config_read_file(&conf, path, err, sizeof(err));
                if (e != c->want)
                        fail_msg("%s: got %s (%s)", c->name, pd_err_name(e),
                                 err);
                if (c->why) {
                        snprintf(want, sizeof(want), "%s:%s", path, c->why);
                        assert_int_equal(strncmp(err, want, strlen(want)), 0);
                }
                if (e == PD_OK) {
                        assert_string_equal(conf.bootstrap_servers,
                                            "broker:9092");
                        assert_string_equal(conf.group_id, "workers");
                        assert_int_equal(conf.batch_max_messages, 50);
                        assert_int_equal(conf.clock, PD_CLOCK_EVENT);
                        assert_int_equal(conf.survey_local_minute, 495);
                        assert_int_equal(conf.renewal_lead_days[0], 60);
                        assert_int_equal(conf.renewal_lead_days[1], 14);
                        assert_int_equal(conf.renewal_lead_days[2], 0);
                        assert_string_equal(
                            pd_kvs_get(&conf.kafka, "client.id"), "pd-1");
                        /* Only the first separator splits. */
                        assert_string_equal(conf.store_path,
                                            "/var/lib/pd=store");
                        /* Untouched keys keep their defaults. */
                        assert_int_equal(conf.batch_max_ms, 200);
                }
                pd_config_term(&conf);
        }
        unlink(path);
        /* A missing file names the path. */
        pd_config_t conf;
        assert_int_equal(pd_config_init(&conf), PD_OK);
        assert_int_equal(pd_config_read_file(&conf, path, err, sizeof(err)),
                         PD_ERR_CONFIG);
        assert_int_equal(strncmp(err, path, strlen(path)), 0);
        contains(err, "No such file");
        pd_config_term(&conf);
        rmdir(dir);
}

/* -X after the file wins (later source wins). */
static void test_later_source_wins(void **state)
{
        char dir[] = "/tmp/pd-test-config-XXXXXX";
        char path[512], err[256] = "";
        pd_config_t conf;
        assert_non_null(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/p.properties", dir);
        write_file(path, "batch.max.ms=10\nbatch.max.ms=20\n");
        assert_int_equal(pd_config_init(&conf), PD_OK);
        assert_int_equal(pd_config_read_file(&conf, path, err, sizeof(err)),
                         PD_OK);
        assert_int_equal(conf.batch_max_ms, 20);
        assert_int_equal(
            pd_config_set(&conf, "batch.max.ms", "30", err, sizeof(err)),
            PD_OK);
        assert_int_equal(conf.batch_max_ms, 30);
        pd_config_term(&conf);
        unlink(path);
        rmdir(dir);
}

static void test_help(void **state)
{
        char *text = NULL;
        size_t size = 0;
        FILE *fp = open_memstream(&text, &size);
        assert_non_null(fp);
        pd_config_print_help(fp, true);
        fclose(fp);
        contains(text, "| `renewal.lead.days` | `90,30` |");
        contains(text, "| `survey.local.time` | `10:00` |");
        contains(text, "`kafka.*`");
        free(text);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_defaults),
            cmocka_unit_test(test_set_ok),
            cmocka_unit_test(test_days_list_ok),
            cmocka_unit_test(test_set_bad),
            cmocka_unit_test(test_kafka_passthrough),
            cmocka_unit_test(test_validate),
            cmocka_unit_test(test_read_file),
            cmocka_unit_test(test_later_source_wins),
            cmocka_unit_test(test_help),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
