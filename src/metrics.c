#include "metrics.h"

#include <jansson.h>
#include <stdio.h>

static const char *dlq_names[] = {"oversized", "decode", "invalid", "key"};

const char *pd_dlq_class_name(pd_dlq_class_t cls)
{
        return (unsigned)cls < 4 ? dlq_names[cls] : "?";
}

pd_err_t pd_metrics_write(const pd_metrics_t *m, const char *path)
{
        char tmp[4096];
        json_t *o = json_object(), *acts = json_object(), *evs = json_object();
        json_t *dlq = json_object();
        for (int i = 0; i < PD_ACT__CNT; i++)
                json_object_set_new(acts, pd_action_kind_name((pd_action_kind_t)i),
                                    json_integer(m->actions[i]));
        for (int i = 0; i < PD_EV__CNT; i++)
                json_object_set_new(evs, pd_event_kind_name((pd_event_kind_t)i),
                                    json_integer(m->events_by_kind[i]));
        for (int i = 0; i < 4; i++)
                json_object_set_new(dlq, dlq_names[i],
                                    json_integer(m->dlq_by_class[i]));
        json_object_set_new(o, "consumed", json_integer(m->consumed));
        json_object_set_new(o, "applied", json_integer(m->applied));
        json_object_set_new(o, "duplicates", json_integer(m->duplicates));
        json_object_set_new(o, "duplicate_deals",
                            json_integer(m->duplicate_deals));
        json_object_set_new(o, "dead_lettered", json_integer(m->dead_lettered));
        json_object_set_new(o, "erased", json_integer(m->erased));
        json_object_set_new(o, "rescored", json_integer(m->rescored));
        json_object_set_new(o, "plans", json_integer(m->plans));
        json_object_set_new(o, "markers_written",
                            json_integer(m->markers_written));
        json_object_set_new(o, "timers_fired", json_integer(m->timers_fired));
        json_object_set_new(o, "surveys_close", json_integer(m->surveys_close));
        json_object_set_new(o, "surveys_six_monthly",
                            json_integer(m->surveys_six_monthly));
        json_object_set_new(o, "surveys_deferred",
                            json_integer(m->surveys_deferred));
        json_object_set_new(o, "commits", json_integer(m->commits));
        json_object_set_new(o, "aborts", json_integer(m->aborts));
        json_object_set_new(o, "restored_records",
                            json_integer(m->restored_records));
        json_object_set_new(o, "actions", acts);
        json_object_set_new(o, "events_by_kind", evs);
        json_object_set_new(o, "dead_lettered_by_class", dlq);
        snprintf(tmp, sizeof(tmp), "%s.tmp", path);
        int rc = json_dump_file(o, tmp, JSON_INDENT(2) | JSON_SORT_KEYS);
        json_decref(o);
        if (rc || rename(tmp, path))
                return PD_ERR_IO;
        return PD_OK;
}
