/* pd-inspect: reads the worker's LMDB store (a read-only snapshot, safe
 * while the worker runs) and prints a summary of all customers, one
 * customer's marker explained (from the store, or the latest committed
 * record of the persona topic), or which signals drive which axis.
 *
 *   pd-inspect --store DIR summary [--json] [--as-of DATE] [--window-days N]
 *   pd-inspect --store DIR show CUSTOMER_ID [--json]
 *   pd-inspect --bootstrap BROKERS [--topic T] show CUSTOMER_ID [--json]
 *   pd-inspect --store DIR signals [--json]
 *   pd-inspect --store DIR list */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "kafka.h"
#include "nps.h"
#include "schedule.h"
#include "store.h"

#define MAX_KEYS 256

typedef struct counter_s {
        char *key[MAX_KEYS];
        int64_t n[MAX_KEYS];
        size_t cnt;
} counter_t;

static void count(counter_t *c, const char *key, int64_t by)
{
        key = key ? key : "(none)";
        for (size_t i = 0; i < c->cnt; i++)
                if (!strcmp(c->key[i], key)) {
                        c->n[i] += by;
                        return;
                }
        if (c->cnt == MAX_KEYS)
                return;
        c->key[c->cnt] = strdup(key);
        c->n[c->cnt++] = by;
}

static void counter_free(counter_t *c)
{
        for (size_t i = 0; i < c->cnt; i++)
                free(c->key[i]);
}

static json_t *counter_json(const counter_t *c)
{
        json_t *o = json_object();
        for (size_t i = 0; i < c->cnt; i++)
                json_object_set_new(o, c->key[i], json_integer(c->n[i]));
        return o;
}

/* One survey answer, kept for the rolling windows (computed once the as-of
 * time is known: by default the latest answer in the store). */
typedef struct answer_s {
        int64_t at;
        bool csat;
        bool ticket; /* a ticket's CSAT */
        int32_t score;
        pd_axis_t persona;
        char *pm; /* the customer's project manager, "(none)" */
} answer_t;

/* Rolling NPS and CSAT per key (persona or project manager). */
typedef struct rolling_by_s {
        char *key[MAX_KEYS];
        pd_rolling_t r[MAX_KEYS];
        size_t cnt;
} rolling_by_t;

static pd_rolling_t *rolling_of(rolling_by_t *b, const char *key)
{
        for (size_t i = 0; i < b->cnt; i++)
                if (!strcmp(b->key[i], key))
                        return &b->r[i];
        if (b->cnt == MAX_KEYS)
                return NULL;
        b->key[b->cnt] = strdup(key);
        memset(&b->r[b->cnt], 0, sizeof(b->r[0]));
        return b->key[b->cnt] ? &b->r[b->cnt++] : NULL;
}

typedef struct summary_s {
        pd_codec_t *codec;
        answer_t *answers;
        size_t n_answers, cap_answers;
        int64_t latest_answer, ticket_csat;
        pd_arena_t arena;
        int64_t customers, corrupt, closed, surveys_sent, surveys_deferred;
        int64_t deferred_pending;
        counter_t persona, stage, plans, load, tmpl;
        pd_nps_t nps;
        pd_csat_t csat;
        counter_t nps_by_persona_p, nps_by_persona_d, nps_by_persona_n;
} summary_t;

static int summarise(const char *customer, const void *bytes, size_t len,
                     void *opaque)
{
        summary_t *s = opaque;
        pd_marker_t m;
        pd_arena_reset(&s->arena);
        if (pd_codec_marker_decode(s->codec, bytes, len, &s->arena, &m, NULL,
                                   0)) {
                s->corrupt++;
                return 0;
        }
        const char *persona = pd_axis_name(m.dominant);
        s->customers++;
        count(&s->persona, persona, 1);
        count(&s->stage, pd_stage_name(m.stage), 1);
        if (m.plan_id) {
                char key[256];
                snprintf(key, sizeof(key), "%s / %s", persona, m.plan_template);
                count(&s->plans, key, 1);
                count(&s->tmpl, m.plan_template, 1);
                if (m.stage == PD_STAGE_IMPLEMENTING)
                        count(&s->load, m.project_manager, 1);
        }
        if (m.close_at)
                s->closed++;
        s->surveys_sent += m.surveys_sent;
        s->surveys_deferred += m.surveys_deferred;
        s->deferred_pending += m.survey_deferred_from != 0;
        for (size_t i = 0; i < m.n_surveys; i++) {
                const pd_survey_result_t *r = &m.surveys[i];
                if (s->n_answers == s->cap_answers) {
                        size_t cap = s->cap_answers ? 2 * s->cap_answers : 256;
                        answer_t *a = realloc(s->answers, cap * sizeof(*a));
                        if (!a)
                                return -1;
                        s->answers = a;
                        s->cap_answers = cap;
                }
                answer_t *a = &s->answers[s->n_answers];
                a->pm =
                    strdup(m.project_manager ? m.project_manager : "(none)");
                if (!a->pm)
                        return -1;
                s->n_answers++;
                a->at = r->at;
                a->csat = r->kind == PD_SURVEY_CSAT;
                a->ticket = r->ticket_id != NULL;
                a->score = r->score;
                a->persona = m.dominant;
                if (r->at > s->latest_answer)
                        s->latest_answer = r->at;
                if (a->ticket)
                        s->ticket_csat++;
                if (r->kind == PD_SURVEY_CSAT) {
                        pd_csat_add(&s->csat, r->score);
                        continue;
                }
                pd_nps_add(&s->nps, r->score);
                count(&s->nps_by_persona_n, persona, 1);
                if (r->score >= 9)
                        count(&s->nps_by_persona_p, persona, 1);
                if (r->score <= 6)
                        count(&s->nps_by_persona_d, persona, 1);
        }
        return 0;
}

static json_t *nps_by_persona(const summary_t *s)
{
        json_t *o = json_object();
        for (size_t i = 0; i < s->nps_by_persona_n.cnt; i++) {
                const char *p = s->nps_by_persona_n.key[i];
                pd_nps_t n = {0};
                for (size_t j = 0; j < s->nps_by_persona_p.cnt; j++)
                        if (!strcmp(s->nps_by_persona_p.key[j], p))
                                n.promoters = s->nps_by_persona_p.n[j];
                for (size_t j = 0; j < s->nps_by_persona_d.cnt; j++)
                        if (!strcmp(s->nps_by_persona_d.key[j], p))
                                n.detractors = s->nps_by_persona_d.n[j];
                n.passives =
                    s->nps_by_persona_n.n[i] - n.promoters - n.detractors;
                int32_t score;
                json_object_set_new(o, p,
                                    pd_nps_score(&n, &score)
                                        ? json_integer(score)
                                        : json_null());
        }
        return o;
}

static json_t *time_json(int64_t at)
{
        char buf[32];
        if (!at)
                return json_null();
        pd_schedule_format(at, buf, sizeof(buf));
        return json_string(buf);
}

static json_t *rolling_json(const pd_rolling_t *r)
{
        int32_t score;
        json_t *o = json_object();
        json_object_set_new(o, "nps",
                            pd_nps_score(&r->nps, &score) ? json_integer(score)
                                                          : json_null());
        json_object_set_new(o, "nps_responses",
                            json_integer(r->nps.promoters + r->nps.passives +
                                         r->nps.detractors));
        json_object_set_new(o, "csat_percent",
                            pd_csat_score(&r->csat, &score)
                                ? json_integer(score)
                                : json_null());
        json_object_set_new(o, "csat_responses",
                            json_integer(r->csat.responses));
        return o;
}

static json_t *rolling_by_json(rolling_by_t *b)
{
        json_t *o = json_object();
        for (size_t i = 0; i < b->cnt; i++) {
                json_object_set_new(o, b->key[i], rolling_json(&b->r[i]));
                free(b->key[i]);
        }
        return o;
}

/* Rolling NPS and CSAT over the `days` days ending at as_of (0: the
 * latest answer in the store, so a replay of old data still shows its
 * numbers), overall, per persona and per project manager. */
static json_t *rolling_section(const summary_t *s, int64_t as_of, int32_t days)
{
        pd_rolling_t all = {0}, tickets = {0};
        rolling_by_t *persona = calloc(1, sizeof(*persona));
        rolling_by_t *pm = calloc(1, sizeof(*pm));
        json_t *o = json_object();
        if (!as_of)
                as_of = s->latest_answer;
        for (size_t i = 0; persona && pm && i < s->n_answers; i++) {
                const answer_t *a = &s->answers[i];
                if (!pd_rolling_add(&all, as_of, days, a->at, a->csat,
                                    a->score))
                        continue;
                if (a->ticket)
                        pd_rolling_add(&tickets, as_of, days, a->at, true,
                                       a->score);
                pd_rolling_t *r = rolling_of(persona, pd_axis_name(a->persona));
                if (r)
                        pd_rolling_add(r, as_of, days, a->at, a->csat,
                                       a->score);
                if ((r = rolling_of(pm, a->pm)))
                        pd_rolling_add(r, as_of, days, a->at, a->csat,
                                       a->score);
        }
        json_object_set_new(o, "as_of", time_json(as_of));
        json_object_set_new(o, "window_days", json_integer(days));
        json_object_set_new(o, "overall", rolling_json(&all));
        json_object_set_new(o, "ticket_csat", rolling_json(&tickets));
        if (persona)
                json_object_set_new(o, "by_persona", rolling_by_json(persona));
        if (pm)
                json_object_set_new(o, "by_project_manager",
                                    rolling_by_json(pm));
        free(persona);
        free(pm);
        return o;
}

static json_t *summary_json(summary_t *s)
{
        int32_t score;
        json_t *o = json_object();
        json_object_set_new(o, "customers", json_integer(s->customers));
        json_object_set_new(o, "corrupt_markers", json_integer(s->corrupt));
        json_object_set_new(o, "persona", counter_json(&s->persona));
        json_object_set_new(o, "stage", counter_json(&s->stage));
        json_object_set_new(o, "current_plans_by_persona_template",
                            counter_json(&s->plans));
        json_object_set_new(o, "active_plans_by_project_manager",
                            counter_json(&s->load));
        json_object_set_new(o, "customers_closed", json_integer(s->closed));
        json_object_set_new(o, "surveys_sent", json_integer(s->surveys_sent));
        json_object_set_new(o, "surveys_deferred_by_gap",
                            json_integer(s->surveys_deferred));
        json_object_set_new(o, "surveys_deferred_pending",
                            json_integer(s->deferred_pending));
        json_object_set_new(o, "nps_responses",
                            json_integer(s->nps.promoters + s->nps.passives +
                                         s->nps.detractors));
        json_object_set_new(o, "nps",
                            pd_nps_score(&s->nps, &score) ? json_integer(score)
                                                          : json_null());
        json_object_set_new(o, "nps_by_persona", nps_by_persona(s));
        json_object_set_new(o, "csat_responses",
                            json_integer(s->csat.responses));
        json_object_set_new(o, "csat_percent",
                            pd_csat_score(&s->csat, &score)
                                ? json_integer(score)
                                : json_null());
        json_object_set_new(o, "ticket_csat_responses",
                            json_integer(s->ticket_csat));
        return o;
}

/* The changes of the dominant persona, oldest first. */
static json_t *history_json(const pd_marker_t *m)
{
        json_t *a = json_array();
        for (size_t i = 0; i < m->n_history; i++) {
                const pd_persona_change_t *h = &m->history[i];
                json_array_append_new(
                    a, json_pack("{s:s, s:s, s:o, s:s, s:f}", "from",
                                 pd_axis_name(h->from), "to",
                                 pd_axis_name(h->to), "at", time_json(h->at),
                                 "event_id", h->event_id ? h->event_id : "",
                                 "margin", h->margin));
        }
        return a;
}

static json_t *marker_json(const pd_marker_t *m)
{
        json_t *o = json_object(), *scores = json_object(), *ev = json_array();
        json_t *plan = json_null(), *surveys = json_array(),
               *ren = json_array();
        for (int i = 0; i < PD_AXIS__CNT; i++)
                json_object_set_new(scores, pd_axis_name((pd_axis_t)i),
                                    json_real(m->axis[i]));
        for (size_t i = 0; i < m->n_evidence; i++)
                json_array_append_new(
                    ev, json_pack("{s:s, s:s, s:f, s:s, s:o}", "signal",
                                  m->evidence[i].signal, "axis",
                                  pd_axis_name(m->evidence[i].axis), "weight",
                                  m->evidence[i].weight, "event_id",
                                  m->evidence[i].event_id, "at",
                                  time_json(m->evidence[i].at)));
        if (m->plan_id) {
                json_t *ms = json_array();
                for (size_t i = 0; i < m->n_milestones; i++)
                        json_array_append_new(
                            ms, json_pack("{s:s, s:s, s:o, s:b}", "name",
                                          m->milestones[i].name, "owner_role",
                                          m->milestones[i].owner_role, "due_at",
                                          time_json(m->milestones[i].due_at),
                                          "fired", m->milestones[i].fired));
                plan = json_pack("{s:s, s:s, s:s, s:o, s:o}", "plan_id",
                                 m->plan_id, "template", m->plan_template,
                                 "project_manager", m->project_manager,
                                 "started_at", time_json(m->plan_started_at),
                                 "milestones", ms);
        }
        for (size_t i = 0; i < m->n_surveys; i++)
                json_array_append_new(
                    surveys,
                    json_pack("{s:s, s:s, s:i, s:o}", "survey_id",
                              m->surveys[i].survey_id, "kind",
                              m->surveys[i].kind == PD_SURVEY_CSAT ? "CSAT"
                                                                   : "NPS",
                              "score", m->surveys[i].score, "at",
                              time_json(m->surveys[i].at)));
        for (size_t i = 0; i < m->n_renewals; i++)
                json_array_append_new(
                    ren, json_pack("{s:s, s:o, s:f, s:b, s:i}", "contract_id",
                                   m->renewals[i].contract_id, "renewal_date",
                                   time_json(m->renewals[i].renewal_date),
                                   "annual_value", m->renewals[i].annual_value,
                                   "auto_renew", m->renewals[i].auto_renew,
                                   "leads_fired", m->renewals[i].leads_fired));
        json_object_set_new(o, "customer_id", json_string(m->customer_id));
        json_object_set_new(o, "model_version", json_integer(m->model_version));
        json_object_set_new(o, "dominant",
                            json_string(pd_axis_name(m->dominant)));
        json_object_set_new(o, "margin", json_real(m->margin));
        json_object_set_new(o, "scores", scores);
        json_object_set_new(o, "evidence", ev);
        json_object_set_new(o, "stage", json_string(pd_stage_name(m->stage)));
        json_object_set_new(o, "time_zone",
                            m->time_zone ? json_string(m->time_zone)
                                         : json_null());
        json_object_set_new(o, "plan", plan);
        json_object_set_new(o, "close_at", time_json(m->close_at));
        json_object_set_new(o, "next_survey_slot", json_integer(m->next_slot));
        json_object_set_new(o, "next_survey_at", time_json(m->next_survey_at));
        json_object_set_new(o, "surveys_sent", json_integer(m->surveys_sent));
        json_object_set_new(o, "survey_results", surveys);
        json_object_set_new(o, "renewals", ren);
        json_object_set_new(o, "events", json_integer(m->events));
        json_object_set_new(o, "deals", json_integer(m->deals));
        json_object_set_new(o, "tickets", json_integer(m->tickets));
        json_object_set_new(o, "updated_at", time_json(m->updated_at));
        json_object_set_new(o, "persona_history", history_json(m));
        return o;
}

/* Text form: one "key: value" line per scalar, nested objects indented. */
static void print_text(FILE *fp, json_t *v, int depth)
{
        const char *key;
        json_t *val;
        size_t i;
        json_object_foreach(v, key, val)
        {
                fprintf(fp, "%*s%s:", depth * 2, "", key);
                if (json_is_object(val)) {
                        fprintf(fp, "\n");
                        print_text(fp, val, depth + 1);
                } else if (json_is_array(val)) {
                        fprintf(fp, "\n");
                        json_t *e;
                        json_array_foreach(val, i, e)
                        {
                                char *s = json_dumps(e, JSON_COMPACT |
                                                            JSON_ENCODE_ANY);
                                fprintf(fp, "%*s- %s\n", depth * 2 + 2, "", s);
                                free(s);
                        }
                } else {
                        char *s = json_dumps(val, JSON_ENCODE_ANY);
                        fprintf(fp, " %s\n", s);
                        free(s);
                }
        }
}

static void emit(json_t *o, int as_json)
{
        if (as_json)
                json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
        else
                print_text(stdout, o, 0);
        if (as_json)
                printf("\n");
}

static int list_one(const char *customer, const void *bytes, size_t len,
                    void *opaque)
{
        printf("%s\n", customer);
        return 0;
}

static int show(pd_store_txn_t *txn, pd_codec_t *codec, const char *customer,
                int as_json)
{
        pd_buf_t buf;
        pd_arena_t arena;
        pd_marker_t m;
        char why[256];
        int ret = 1;
        pd_buf_init(&buf);
        pd_arena_init(&arena);
        if (pd_store_marker_get(txn, customer, &buf))
                fprintf(stderr, "pd-inspect: no customer \"%s\"\n", customer);
        else if (pd_codec_marker_decode(codec, buf.data, buf.len, &arena, &m,
                                        why, sizeof(why)))
                fprintf(stderr, "pd-inspect: marker corrupt: %s\n", why);
        else {
                json_t *o = marker_json(&m);
                emit(o, as_json);
                json_decref(o);
                ret = 0;
        }
        pd_buf_term(&buf);
        pd_arena_term(&arena);
        return ret;
}

/* ---- show from the persona topic ---------------------------------------- */

typedef struct latest_s {
        const char *customer;
        pd_buf_t value; /* the latest record of the key */
        bool found, tombstone;
        int64_t partition, offset;
} latest_t;

static int keep_latest(void *opaque, const pd_kafka_record_t *rec)
{
        latest_t *l = opaque;
        size_t n = strlen(l->customer);
        if (!rec->key || rec->key_len != n || memcmp(rec->key, l->customer, n))
                return 0;
        /* One key lives in one partition, read in offset order: the last
         * record seen is the latest. */
        l->found = true;
        l->tombstone = rec->value == NULL;
        l->partition = rec->partition;
        l->offset = rec->offset;
        pd_buf_reset(&l->value);
        if (rec->value && pd_buf_append(&l->value, rec->value, rec->len))
                return 1;
        return 0;
}

static int show_topic(const char *bootstrap, const char *topic,
                      const char *customer, int as_json)
{
        latest_t l = {.customer = customer};
        pd_codec_t *codec = NULL;
        pd_arena_t arena;
        pd_marker_t m;
        char errstr[512];
        int ret = 1;
        pd_buf_init(&l.value);
        pd_arena_init(&arena);
        if (pd_codec_new(NULL, &codec, errstr, sizeof(errstr)) ||
            pd_kafka_read_topic(bootstrap, topic, keep_latest, &l, errstr,
                                sizeof(errstr)))
                fprintf(stderr, "pd-inspect: %s\n", errstr);
        else if (!l.found)
                fprintf(stderr, "pd-inspect: no customer \"%s\" in %s\n",
                        customer, topic);
        else if (l.tombstone)
                fprintf(stderr,
                        "pd-inspect: customer \"%s\" erased (tombstone at "
                        "%s [%lld] @%lld)\n",
                        customer, topic, (long long)l.partition,
                        (long long)l.offset);
        else if (pd_codec_marker_decode(codec, l.value.data, l.value.len,
                                        &arena, &m, errstr, sizeof(errstr)))
                fprintf(stderr, "pd-inspect: marker corrupt: %s\n", errstr);
        else {
                json_t *o = marker_json(&m);
                json_object_set_new(o, "source",
                                    json_pack("{s:s, s:I, s:I}", "topic", topic,
                                              "partition",
                                              (json_int_t)l.partition, "offset",
                                              (json_int_t)l.offset));
                emit(o, as_json);
                json_decref(o);
                ret = 0;
        }
        pd_codec_destroy(codec);
        pd_buf_term(&l.value);
        pd_arena_term(&arena);
        return ret;
}

/* ---- signals: which signals drive which axis ---------------------------- */

typedef struct signals_s {
        pd_codec_t *codec;
        pd_arena_t arena;
        json_t *by_axis;   /* axis -> family -> {evidence, weight} */
        json_t *top;       /* dominant -> family of its top evidence -> n */
        json_t *customers; /* dominant -> n */
} signals_t;

/* "checkpoint:why_chose_us=integrations" -> "checkpoint:why_chose_us";
 * "checkpoint:feedback~text.en:api" -> "checkpoint:feedback~text";
 * "text.de:farbe" -> "text.de"; "product:GTX Pro" -> "product". */
static void family(const char *signal, char *out, size_t size)
{
        size_t n;
        if (!strncmp(signal, "checkpoint:", 11)) {
                n = 11 + strcspn(signal + 11, "=~");
                if (signal[n] == '~')
                        n += 1 + strcspn(signal + n + 1, ".:");
        } else {
                n = strcspn(signal, ":");
        }
        snprintf(out, size, "%.*s", (int)n, signal);
}

static void add_to(json_t *o, const char *k1, const char *k2, double w)
{
        json_t *a = json_object_get(o, k1), *b;
        if (!a)
                json_object_set_new(o, k1, a = json_object());
        if (!(b = json_object_get(a, k2)))
                json_object_set_new(
                    a, k2,
                    b = json_pack("{s:i, s:f}", "evidence", 0, "weight", 0.0));
        json_object_set_new(
            b, "evidence",
            json_integer(json_integer_value(json_object_get(b, "evidence")) +
                         1));
        json_object_set_new(
            b, "weight",
            json_real(json_real_value(json_object_get(b, "weight")) + w));
}

static int signals_one(const char *customer, const void *bytes, size_t len,
                       void *opaque)
{
        signals_t *s = opaque;
        pd_marker_t m;
        char fam[128];
        pd_arena_reset(&s->arena);
        if (pd_codec_marker_decode(s->codec, bytes, len, &s->arena, &m, NULL,
                                   0) ||
            !m.n_evidence)
                return 0;
        const char *dom = pd_axis_name(m.dominant);
        json_t *c = json_object_get(s->customers, dom);
        json_object_set_new(s->customers, dom,
                            json_integer(c ? json_integer_value(c) + 1 : 1));
        for (size_t i = 0; i < m.n_evidence; i++) {
                family(m.evidence[i].signal, fam, sizeof(fam));
                add_to(s->by_axis, pd_axis_name(m.evidence[i].axis), fam,
                       m.evidence[i].weight);
        }
        family(m.evidence[0].signal, fam, sizeof(fam));
        add_to(s->top, dom, fam, m.evidence[0].weight);
        return 0;
}

static int signals(pd_store_txn_t *txn, pd_codec_t *codec, int as_json)
{
        signals_t s = {.codec = codec,
                       .by_axis = json_object(),
                       .top = json_object(),
                       .customers = json_object()};
        int ret;
        pd_arena_init(&s.arena);
        ret = pd_store_markers_foreach(txn, signals_one, &s) != 0;
        if (!ret) {
                json_t *o =
                    json_pack("{s:O, s:O, s:O}", "customers_by_persona",
                              s.customers, "evidence_by_axis_and_signal",
                              s.by_axis, "top_evidence_by_persona", s.top);
                emit(o, as_json);
                json_decref(o);
        }
        json_decref(s.by_axis);
        json_decref(s.top);
        json_decref(s.customers);
        pd_arena_term(&s.arena);
        return ret;
}

int main(int argc, char **argv)
{
        const char *store_path = NULL, *cmd = NULL, *arg = NULL;
        const char *bootstrap = NULL, *topic = "customer.persona";
        int as_json = 0, ret = 1;
        int64_t as_of = 0;
        long window = PD_ROLLING_DAYS;
        char *end;
        char errstr[512];
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--store") && i + 1 < argc)
                        store_path = argv[++i];
                else if ((!strcmp(argv[i], "--bootstrap") ||
                          !strcmp(argv[i], "-b")) &&
                         i + 1 < argc)
                        bootstrap = argv[++i];
                else if (!strcmp(argv[i], "--topic") && i + 1 < argc)
                        topic = argv[++i];
                else if (!strcmp(argv[i], "--json"))
                        as_json = 1;
                else if (!strcmp(argv[i], "--as-of") && i + 1 < argc) {
                        if (!pd_schedule_parse(argv[++i], &as_of)) {
                                fprintf(stderr,
                                        "pd-inspect: --as-of: not a "
                                        "date: %s\n",
                                        argv[i]);
                                return 2;
                        }
                } else if (!strcmp(argv[i], "--window-days") && i + 1 < argc) {
                        window = strtol(argv[++i], &end, 10);
                        if (*end || window < 1 || window > 3650) {
                                fprintf(stderr, "pd-inspect: --window-days: "
                                                "1-3650\n");
                                return 2;
                        }
                } else if (!cmd)
                        cmd = argv[i];
                else if (!arg)
                        arg = argv[i];
        }
        if (bootstrap && !store_path && cmd && !strcmp(cmd, "show") && arg)
                return show_topic(bootstrap, topic, arg, as_json);
        if (!store_path || !cmd ||
            (strcmp(cmd, "summary") && strcmp(cmd, "list") &&
             strcmp(cmd, "signals") && (strcmp(cmd, "show") || !arg))) {
                fprintf(stderr,
                        "usage: pd-inspect --store DIR summary [--json] "
                        "[--as-of DATE] [--window-days N]\n"
                        "       pd-inspect --store DIR show CUSTOMER [--json]\n"
                        "       pd-inspect --bootstrap BROKERS [--topic T] "
                        "show CUSTOMER [--json]\n"
                        "       pd-inspect --store DIR signals [--json]\n"
                        "       pd-inspect --store DIR list\n");
                return 2;
        }
        pd_store_t *store;
        pd_store_txn_t *txn;
        summary_t s = {0};
        if (pd_store_open(store_path, 1LL << 30, &store, errstr,
                          sizeof(errstr)) ||
            pd_codec_new(NULL, &s.codec, errstr, sizeof(errstr))) {
                fprintf(stderr, "pd-inspect: %s\n", errstr);
                return 1;
        }
        pd_arena_init(&s.arena);
        if (!pd_store_txn_begin(store, 1, &txn)) {
                if (!strcmp(cmd, "show"))
                        ret = show(txn, s.codec, arg, as_json);
                else if (!strcmp(cmd, "list"))
                        ret =
                            pd_store_markers_foreach(txn, list_one, NULL) != 0;
                else if (!strcmp(cmd, "signals"))
                        ret = signals(txn, s.codec, as_json);
                else if (!pd_store_markers_foreach(txn, summarise, &s)) {
                        json_t *o = summary_json(&s);
                        json_object_set_new(
                            o, "rolling",
                            rolling_section(&s, as_of, (int32_t)window));
                        emit(o, as_json);
                        json_decref(o);
                        ret = 0;
                }
                pd_store_txn_abort(txn);
        }
        counter_t *cs[] = {&s.persona,
                           &s.stage,
                           &s.plans,
                           &s.load,
                           &s.tmpl,
                           &s.nps_by_persona_p,
                           &s.nps_by_persona_d,
                           &s.nps_by_persona_n};
        for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
                counter_free(cs[i]);
        for (size_t i = 0; i < s.n_answers; i++)
                free(s.answers[i].pm);
        free(s.answers);
        pd_arena_term(&s.arena);
        pd_codec_destroy(s.codec);
        pd_store_close(store);
        return ret;
}
