/* persona-dna: configuration.  One table of properties (name, type,
 * default, range, description) drives parsing, validation, --help and the
 * generated CONFIGURATION.md.  Sources, later wins: the defaults, a
 * Java-properties file (-c FILE), then -X key=value.  Keys starting with
 * "kafka." go to librdkafka without the prefix.  Parsed once, then passed
 * as const to every module. */
#ifndef PD_CONFIG_H
#define PD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "domain.h"
#include "err.h"

typedef enum pd_clock_e {
        PD_CLOCK_WALL = 0,  /* timers fire by the wall clock (live) */
        PD_CLOCK_EVENT,     /* timers fire by the partition's stream time */
} pd_clock_t;

typedef struct pd_config_s {
        char *bootstrap_servers;
        char *group_id;
        char *instance_id; /* transactional.id suffix; static membership */
        bool static_membership;
        bool restore_skip_unfinished;
        char *topic_input;
        char *topic_persona;
        char *topic_plans;
        char *topic_actions;
        char *topic_dlq;
        char *topic_pstate;
        char *store_path;
        int64_t store_map_size;
        int64_t store_map_max; /* 0: no bound */
        char *model_path;
        bool model_rescore; /* re-score markers of older model versions */
        char *templates_path;
        char *roster_path;
        int32_t batch_max_messages;
        int32_t batch_max_ms;
        int32_t timer_batch_max;
        pd_clock_t clock;
        int32_t survey_local_minute;
        int32_t survey_interval_months;
        bool close_on_last_milestone;
        int32_t survey_min_gap_days; /* 0 = no contact gap */
        int32_t renewal_lead_days[4];
        int32_t max_message_bytes;
        int32_t exit_when_idle_ms; /* 0 = run until signalled */
        char *log_level;
        char *metrics_path; /* JSON metrics written on exit; "" = none */
        int32_t schema_ids[5];
        pd_kvs_t kafka;     /* kafka.* pass-through, prefix stripped */
        pd_arena_t arena;   /* owns every string above */
} pd_config_t;

/* Fills conf with the defaults.  Returns 0 or PD_ERR_NOMEM. */
pd_err_t pd_config_init(pd_config_t *conf);
void pd_config_term(pd_config_t *conf);

/* Sets one property; errstr names the key and the problem. */
pd_err_t pd_config_set(pd_config_t *conf, const char *key, const char *value,
                       char *errstr, size_t errstr_size);
/* Reads a Java-properties file; errors name "path:line: key: reason". */
pd_err_t pd_config_read_file(pd_config_t *conf, const char *path,
                             char *errstr, size_t errstr_size);
/* Cross-property checks after all sources are applied. */
pd_err_t pd_config_validate(const pd_config_t *conf, char *errstr,
                            size_t errstr_size);

/* Prints every property (for --help). markdown: CONFIGURATION.md. */
void pd_config_print_help(FILE *fp, bool markdown);

#endif
