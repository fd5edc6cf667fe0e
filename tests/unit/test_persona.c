/* Unit tests of the persona model: table-driven, one event in, the expected
 * dominant persona, scores and evidence out.
 *
 * Exact numbers come from a small model written by the test itself, so the
 * shipped model can be tuned without breaking them; the shipped model
 * (PD_SOURCE_DIR/model/persona-model.json) is tested for what it must do:
 * load, speak six languages, route. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "csv.h"
#include "persona.h"

#define DAY ((int64_t)86400000)
#define T0  ((int64_t)1700000000000) /* 2023-11-14T22:13:20Z */
#define EPS 1e-9

#define S PD_AXIS_SIMPLICITY
#define M PD_AXIS_MARKETING
#define T PD_AXIS_TECHNICAL
#define C PD_AXIS_CONSULTING

/* ---- fixtures ----------------------------------------------------------- */

static const char test_model_json[] =
    "{\n"
    "  \"version\": 7,\n"
    "  \"half_life_days\": 10,\n"
    "  \"hysteresis\": 1.0,\n"
    "  \"checkpoints\": {\n"
    "    \"migrating_from\": {\"answers\": {\n"
    "      \"spreadsheets\": {\"simplicity\": 2},\n"
    "      \"competitor\": {\"technical\": 1.5, \"consulting\": 1},\n"
    "      \"*\": {\"consulting\": 0.5}}},\n"
    "    \"why_chose_us\": {\"scan_text\": true, \"answers\": {\n"
    "      \"api\": {\"technical\": 3}, \"*\": {\"consulting\": 0.25}}},\n"
    "    \"problems\": {\"answers\": {\n"
    "      \"manual_work\": {\"technical\": 1.5},\n"
    "      \"poor_ux\": {\"marketing\": 2}}},\n"
    "    \"churn_reason\": {\"answers\": {\n"
    "      \"features\": {\"technical\": 1}, \"support\": {\"consulting\": "
    "1}}},\n"
    "    \"feedback\": {\"scan_text\": true, \"answers\": {\n"
    "      \"too expensive\": {\"simplicity\": 0.5}, \"*\": {}}},\n"
    "    \"deal_size_band\": {\"answers\": {\n"
    "      \"enterprise\": {\"consulting\": 0.5, \"technical\": 0.25}}}\n"
    "  },\n"
    "  \"renewals\": {\n"
    "    \"auto_renew\": {\"true\": {\"simplicity\": 0.5}, \"false\": "
    "{\"consulting\": 0.5}},\n"
    "    \"annual_value\": [\n"
    "      {\"name\": \"small\", \"max\": 5000, \"weights\": "
    "{\"simplicity\": 0.25}},\n"
    "      {\"name\": \"large\", \"min\": 200000, \"weights\": "
    "{\"consulting\": 0.5, \"technical\": 0.25}}]\n"
    "  },\n"
    "  \"firmographics\": {\n"
    "    \"sector\": {\"technology\": {\"technical\": 1}},\n"
    "    \"region\": {\"EMEA\": {\"consulting\": 0.25}},\n"
    "    \"employees\": [\n"
    "      {\"name\": \"small\", \"max\": 249, \"weights\": {\"simplicity\": "
    "0.5}},\n"
    "      {\"name\": \"large\", \"min\": 250, \"weights\": {\"consulting\": "
    "0.5}}],\n"
    "    \"revenue\": [{\"name\": \"big\", \"min\": 100, \"weights\": "
    "{\"consulting\": 0.75}}]\n"
    "  },\n"
    "  \"products\": {\"GTX Pro\": {\"technical\": 1}, \"Basic\": "
    "{\"simplicity\": 1}},\n"
    "  \"tickets\": {\n"
    "    \"category\": {\"Technical Support\": {\"technical\": 0.5},\n"
    "                 \"Change\": {\"technical\": 0.25}},\n"
    "    \"priority\": {\"urgent\": {\"simplicity\": 0.5}}\n"
    "  },\n"
    "  \"surveys\": {\n"
    "    \"NPS\": [{\"name\": \"detractor\", \"min\": 0, \"max\": 6, "
    "\"weights\": {\"consulting\": 0.75}}],\n"
    "    \"CSAT\": [{\"name\": \"unsatisfied\", \"min\": 1, \"max\": 2, "
    "\"weights\": {\"consulting\": 0.5}}]\n"
    "  },\n"
    "  \"text\": {\n"
    "    \"max_per_axis\": 2,\n"
    "    \"stopwords\": {\"en\": [\"the\", \"and\", \"is\"], \"de\": [\"der\", "
    "\"die\", \"und\"]},\n"
    "    \"lexicons\": {\n"
    "      \"en\": {\"technical\": {\"api\": 1, \"integration*\": 1, "
    "\"webhook*\": 1},\n"
    "             \"marketing\": {\"colour\": 1, \"button*\": 1, \"layout\": "
    "1}},\n"
    "      \"de\": {\"technical\": {\"schnittstelle*\": 1}}}\n"
    "  },\n"
    "  \"routing\": {\"default\": \"general\", \"rules\": [\n"
    "    {\"priority\": [\"urgent\", \"critical\"], \"queue\": "
    "\"priority-desk\"},\n"
    "    {\"persona\": \"technical\", \"category\": \"Billing\", \"queue\": "
    "\"tech-billing\"},\n"
    "    {\"persona\": \"technical\", \"queue\": \"technical-l2\"}]}\n"
    "}\n";

typedef struct fixture_s {
        pd_model_t *model;
        pd_arena_t arena;
        char path[64];
} fixture_t;

static void write_file(char *path, size_t size, const char *text)
{
        snprintf(path, size, "/tmp/test_persona_XXXXXX");
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
}

static const char *shipped_model_path(void)
{
        static char path[4096];
        const char *dir = getenv("PD_SOURCE_DIR");
#ifdef PD_SOURCE_DIR
        if (!dir)
                dir = PD_SOURCE_DIR;
#endif
        snprintf(path, sizeof(path), "%s/model/persona-model.json",
                 dir ? dir : ".");
        return path;
}

static int setup_test_model(void **state)
{
        fixture_t *fx = calloc(1, sizeof(*fx));
        char errstr[1024];
        write_file(fx->path, sizeof(fx->path), test_model_json);
        if (pd_model_load(fx->path, &fx->model, errstr, sizeof(errstr))) {
                fprintf(stderr, "%s\n", errstr);
                return -1;
        }
        pd_arena_init(&fx->arena);
        *state = fx;
        return 0;
}

static int setup_shipped_model(void **state)
{
        fixture_t *fx = calloc(1, sizeof(*fx));
        char errstr[4096];
        if (pd_model_load(shipped_model_path(), &fx->model, errstr,
                          sizeof(errstr))) {
                fprintf(stderr, "%s\n", errstr);
                return -1;
        }
        pd_arena_init(&fx->arena);
        *state = fx;
        return 0;
}

static int teardown(void **state)
{
        fixture_t *fx = *state;
        if (fx->path[0])
                unlink(fx->path);
        pd_model_destroy(fx->model);
        pd_arena_term(&fx->arena);
        free(fx);
        return 0;
}

/* Applies ev as the engine does: then moves updated_at forward. */
static void apply(fixture_t *fx, pd_marker_t *marker, const pd_event_t *ev,
                  bool *changed, pd_axis_t *before)
{
        assert_int_equal(pd_persona_apply(fx->model, marker, ev, &fx->arena,
                                          changed, before),
                         PD_OK);
        if (ev->occurred_at > marker->updated_at)
                marker->updated_at = ev->occurred_at;
}

static const pd_evidence_t *find_evidence(const pd_marker_t *marker,
                                          const char *signal)
{
        for (size_t i = 0; i < marker->n_evidence; i++)
                if (!strcmp(marker->evidence[i].signal, signal))
                        return &marker->evidence[i];
        return NULL;
}

static void dump(const pd_marker_t *marker)
{
        fprintf(stderr, "  scores: s=%.4f m=%.4f t=%.4f c=%.4f dominant=%s\n",
                marker->axis[S], marker->axis[M], marker->axis[T],
                marker->axis[C], pd_axis_name(marker->dominant));
        for (size_t i = 0; i < marker->n_evidence; i++)
                fprintf(stderr, "  evidence[%zu] %s %s %.4f\n", i,
                        marker->evidence[i].signal,
                        pd_axis_name(marker->evidence[i].axis),
                        marker->evidence[i].weight);
}

/* ---- events ------------------------------------------------------------- */

static const char *prod_gtxpro[] = {"GTXPro"};
static const char *prod_basic[] = {"basic"};
static pd_kv_t cp_spreadsheets[] = {{"migrating_from", "Spreadsheets"}};
static pd_kv_t cp_competitor[] = {{"migrating_from", "competitor"}};
static pd_kv_t cp_unknown_answer[] = {{"migrating_from", "carrier pigeons"}};
static pd_kv_t cp_free_text[] = {{"why_chose_us", "Your webhook and API docs"}};
static pd_kv_t cp_no_text_hit[] = {{"why_chose_us", "the price"}};
static pd_kv_t cp_multi[] = {{"problems", "manual_work, Poor UX"}};
static pd_kv_t cp_unknown_id[] = {{"favourite_colour", "blue"}};
static pd_kv_t cp_churn_features[] = {{"churned", "true"},
                                      {"churn_reason", "features"},
                                      {"feedback", "missing features"}};
static pd_kv_t cp_churn_support[] = {{"churned", "true"},
                                     {"churn_reason", "support"},
                                     {"feedback", "Too expensive"}};
static pd_kv_t cp_churn_text[] = {{"churn_reason", "pricing"},
                                  {"feedback", "no API, no webhooks"}};
static pd_kv_t cp_churn_silent[] = {{"churned", "true"},
                                    {"feedback", "switched to competitor"}};
static pd_kv_t cp_deal_band[] = {{"deal_size_band", "enterprise"}};

#define SALE_SIZED(emp, rev, ...)                                              \
        {                                                                      \
                .event_id = "e-sale", .occurred_at = T0,                       \
                .kind = PD_EV_SALE_CLOSED, .u.sale = {                         \
                        .employees = emp,                                      \
                        .revenue = rev,                                        \
                        __VA_ARGS__                                            \
                }                                                              \
        }
#define SALE(...) SALE_SIZED(-1, -1, __VA_ARGS__)
#define TICKET(...)                                                            \
        {                                                                      \
                .event_id = "e-ticket", .occurred_at = T0,                     \
                .kind = PD_EV_TICKET_OPENED, .u.ticket = {                     \
                        __VA_ARGS__                                            \
                }                                                              \
        }
#define CHECKPOINTS(a)                                                         \
        {                                                                      \
                .event_id = "e-cp", .occurred_at = T0,                         \
                .kind = PD_EV_CHECKPOINTS_RECORDED, .u.checkpoints = KVS(a)    \
        }
#define RENEWAL(auto, value)                                                   \
        {                                                                      \
                .event_id = "e-renew", .occurred_at = T0,                      \
                .kind = PD_EV_RENEWAL_DUE, .u.renewal = {                      \
                        .contract_id = "c-1",                                  \
                        .renewal_date = T0 + 365 * DAY,                        \
                        .annual_value = value,                                 \
                        .auto_renew = auto                                     \
                }                                                              \
        }
#define KVS(a)                                                                 \
        {                                                                      \
                a, sizeof(a) / sizeof(a[0])                                    \
        }

typedef struct row_s {
        const char *name;
        pd_event_t ev;
        pd_axis_t dominant;
        double score[PD_AXIS__CNT];
        const char *signal; /* the top evidence */
        size_t n_evidence;
} row_t;

static const row_t signal_rows[] = {
    {"product, normalised name",
     SALE(.products = {prod_gtxpro, 1}),
     T,
     {0, 0, 1, 0},
     "product:GTX Pro",
     1},
    {"product, case",
     SALE(.products = {prod_basic, 1}),
     S,
     {1, 0, 0, 0},
     "product:Basic",
     1},
    {"sector",
     SALE(.sector = "Technology"),
     T,
     {0, 0, 1, 0},
     "sector:technology",
     1},
    {"region", SALE(.region = "EMEA"), C, {0, 0, 0, 0.25}, "region:EMEA", 1},
    {"employees band",
     SALE_SIZED(120, -1, .sector = NULL),
     S,
     {0.5, 0, 0, 0},
     "employees:small",
     1},
    {"employees upper band",
     SALE_SIZED(5000, -1, .sector = NULL),
     C,
     {0, 0, 0, 0.5},
     "employees:large",
     1},
    {"revenue band",
     SALE_SIZED(-1, 250, .sector = NULL),
     C,
     {0, 0, 0, 0.75},
     "revenue:big",
     1},
    {"checkpoint answer",
     SALE(.checkpoints = KVS(cp_spreadsheets)),
     S,
     {2, 0, 0, 0},
     "checkpoint:migrating_from=spreadsheets",
     1},
    {"checkpoint on two axes",
     SALE(.checkpoints = KVS(cp_competitor)),
     T,
     {0, 0, 1.5, 1},
     "checkpoint:migrating_from=competitor",
     2},
    {"checkpoint wildcard",
     SALE(.checkpoints = KVS(cp_unknown_answer)),
     C,
     {0, 0, 0, 0.5},
     "checkpoint:migrating_from=*",
     1},
    {"checkpoint free text",
     SALE(.checkpoints = KVS(cp_free_text)),
     T,
     {0, 0, 2, 0},
     "checkpoint:why_chose_us~text.en:api",
     2},
    {"checkpoint free text, no hit",
     SALE(.checkpoints = KVS(cp_no_text_hit)),
     C,
     {0, 0, 0, 0.25},
     "checkpoint:why_chose_us=*",
     1},
    {"checkpoint multi-valued",
     SALE(.checkpoints = KVS(cp_multi)),
     M,
     {0, 2, 1.5, 0},
     "checkpoint:problems=poor_ux",
     2},
    {"checkpoint unknown id",
     SALE(.checkpoints = KVS(cp_unknown_id)),
     S,
     {0, 0, 0, 0},
     NULL,
     0},
    {"checkpoints recorded",
     {.event_id = "e-cp",
      .occurred_at = T0,
      .kind = PD_EV_CHECKPOINTS_RECORDED,
      .u.checkpoints = KVS(cp_multi)},
     M,
     {0, 2, 1.5, 0},
     "checkpoint:problems=poor_ux",
     2},
    {"ticket category",
     TICKET(.category = "Technical Support", .priority = "low"),
     T,
     {0, 0, 0.5, 0},
     "ticket.category:Technical Support",
     1},
    {"ticket category parts",
     TICKET(.category = "Technical Support/Change"),
     T,
     {0, 0, 0.75, 0},
     "ticket.category:Technical Support",
     2},
    {"ticket priority",
     TICKET(.priority = "URGENT"),
     S,
     {0.5, 0, 0, 0},
     "ticket.priority:urgent",
     1},
    {"ticket text capped per axis",
     TICKET(.subject = "Layout", .text = "The button colour and the LAYOUT",
            .language = "en"),
     M,
     {0, 2, 0, 0},
     "text.en:button",
     3},
    {"ticket text, accents and plural",
     TICKET(.subject = "Schnittstellen", .text = "Die Schnittstelle für SAP",
            .language = "DE"),
     T,
     {0, 0, 1, 0},
     "text.de:schnittstelle",
     1},
    {"ticket text, language detected",
     TICKET(.text = "Die API-Schnittstelle und der Export"),
     T,
     {0, 0, 1, 0},
     "text.de:schnittstelle",
     1},
    {"ticket text, whole words only",
     TICKET(.text = "the capital and the apiary", .language = "en"),
     S,
     {0, 0, 0, 0},
     NULL,
     0},
    {"survey NPS band and comment",
     {.event_id = "e-nps",
      .occurred_at = T0,
      .kind = PD_EV_SURVEY_RETURNED,
      .u.survey = {.kind = PD_SURVEY_NPS,
                   .score = 3,
                   .comment = "The API is broken"}},
     T,
     {0, 0, 1, 0.75},
     "text.en:api",
     2},
    {"survey CSAT band",
     {.event_id = "e-csat",
      .occurred_at = T0,
      .kind = PD_EV_SURVEY_RETURNED,
      .u.survey = {.kind = PD_SURVEY_CSAT, .score = 2}},
     C,
     {0, 0, 0, 0.5},
     "survey.CSAT:unsatisfied",
     1},
    {"churn reason; unlisted feedback without lexicon hit falls to an empty *",
     CHECKPOINTS(cp_churn_features),
     T,
     {0, 0, 1, 0},
     "checkpoint:churn_reason=features",
     1},
    {"churn reason and listed feedback answer",
     CHECKPOINTS(cp_churn_support),
     C,
     {0.5, 0, 0, 1},
     "checkpoint:churn_reason=support",
     2},
    {"churn feedback as free text, unlisted reason",
     CHECKPOINTS(cp_churn_text),
     T,
     {0, 0, 2, 0},
     "checkpoint:feedback~text.en:api",
     2},
    {"churned without a reason: no signal",
     CHECKPOINTS(cp_churn_silent),
     S,
     {0, 0, 0, 0},
     NULL,
     0},
    {"deal size band",
     SALE(.checkpoints = KVS(cp_deal_band)),
     C,
     {0, 0, 0.25, 0.5},
     "checkpoint:deal_size_band=enterprise",
     2},
    {"renewal, auto-renew and small value",
     RENEWAL(true, 1200),
     S,
     {0.75, 0, 0, 0},
     "renewal.auto_renew:true",
     2},
    {"renewal, no auto-renew",
     RENEWAL(false, 20000),
     C,
     {0, 0, 0, 0.5},
     "renewal.auto_renew:false",
     1},
    {"renewal, large value band",
     RENEWAL(false, 250000),
     C,
     {0, 0, 0.25, 1},
     "renewal.annual_value:large", /* ties go by signal name */
     3},
    {"no persona signal",
     {.event_id = "e-close",
      .occurred_at = T0,
      .kind = PD_EV_IMPLEMENTATION_CLOSED},
     S,
     {0, 0, 0, 0},
     NULL,
     0},
};

static void test_signals(void **state)
{
        fixture_t *fx = *state;
        for (size_t i = 0; i < sizeof(signal_rows) / sizeof(signal_rows[0]);
             i++) {
                const row_t *row = &signal_rows[i];
                pd_marker_t marker = {0};
                bool changed = true;
                pd_axis_t before;
                fprintf(stderr, "row: %s\n", row->name);
                apply(fx, &marker, &row->ev, &changed, &before);
                dump(&marker);
                assert_false(changed); /* a first evidence is no change */
                assert_int_equal(marker.dominant, row->dominant);
                for (int a = 0; a < PD_AXIS__CNT; a++)
                        assert_float_equal(marker.axis[a], row->score[a], EPS);
                assert_int_equal(marker.n_evidence, row->n_evidence);
                if (row->signal) {
                        assert_string_equal(marker.evidence[0].signal,
                                            row->signal);
                        assert_string_equal(marker.evidence[0].event_id,
                                            row->ev.event_id);
                        assert_true(marker.evidence[0].at == T0);
                }
                assert_int_equal(marker.model_version, 7);
                assert_true(marker.updated_at == T0);
        }
}

/* ---- decay -------------------------------------------------------------- */

static pd_event_t sale_at(const char *id, int64_t at, const char *sector,
                          const char **products, size_t n_products)
{
        pd_event_t ev = {.event_id = id,
                         .occurred_at = at,
                         .kind = PD_EV_SALE_CLOSED,
                         .u.sale = {.employees = -1,
                                    .revenue = -1,
                                    .sector = sector,
                                    .products = {products, n_products}}};
        return ev;
}

static void test_decay(void **state)
{
        fixture_t *fx = *state;
        pd_marker_t marker = {0};
        const pd_evidence_t *e;
        pd_event_t ev;

        /* One half-life later the old evidence counts half. */
        ev = sale_at("a", T0, NULL, prod_gtxpro, 1);
        apply(fx, &marker, &ev, NULL, NULL);
        ev = sale_at("b", T0 + 10 * DAY, "technology", NULL, 0);
        apply(fx, &marker, &ev, NULL, NULL);
        dump(&marker);
        assert_float_equal(marker.axis[T], 0.5 + 1.0, EPS);
        assert_string_equal(marker.evidence[0].signal, "sector:technology");
        assert_string_equal(marker.evidence[1].signal, "product:GTX Pro");
        assert_float_equal(marker.evidence[1].weight, 1.0, EPS); /* undecayed */

        /* An event older than the marker is decayed by its age; the scores
         * are not decayed backwards. */
        ev = sale_at("c", T0, NULL, prod_basic, 1);
        apply(fx, &marker, &ev, NULL, NULL);
        assert_true(marker.updated_at == T0 + 10 * DAY);
        assert_float_equal(marker.axis[T], 1.5, EPS);
        assert_float_equal(marker.axis[S], 0.5, EPS);
        e = find_evidence(&marker, "product:Basic");
        assert_non_null(e);
        assert_true(e->at == T0);

        /* The same signal again folds into one entry at the newer time. */
        ev = sale_at("d", T0 + 20 * DAY, "TECHNOLOGY", NULL, 0);
        apply(fx, &marker, &ev, NULL, NULL);
        dump(&marker);
        assert_float_equal(marker.axis[T], 1.5 * 0.5 + 1.0, EPS);
        assert_float_equal(marker.axis[S], 0.25, EPS);
        e = find_evidence(&marker, "sector:technology");
        assert_non_null(e);
        assert_float_equal(e->weight, 1.0 * 0.5 + 1.0, EPS);
        assert_true(e->at == T0 + 20 * DAY);
        assert_string_equal(e->event_id, "d");
        assert_int_equal(marker.n_evidence, 3);

        /* Two half-lives: a quarter. */
        ev = (pd_event_t){.event_id = "e",
                          .occurred_at = T0 + 40 * DAY,
                          .kind = PD_EV_IMPLEMENTATION_CLOSED};
        apply(fx, &marker, &ev, NULL, NULL);
        assert_float_equal(marker.axis[T], 1.75 * 0.25, EPS);
        assert_float_equal(marker.axis[S], 0.25 * 0.25, EPS);
}

/* ---- hysteresis --------------------------------------------------------- */

static void test_hysteresis(void **state)
{
        fixture_t *fx = *state;
        pd_marker_t marker = {0};
        bool changed;
        pd_axis_t before;
        pd_event_t sale = SALE(.products = {prod_gtxpro, 1},
                               .checkpoints = KVS(cp_competitor));
        pd_event_t design =
            TICKET(.text = "button colour layout", .language = "en");
        pd_event_t button = TICKET(.text = "the button", .language = "en");

        apply(fx, &marker, &sale, &changed, &before);
        assert_false(changed);
        assert_int_equal(marker.dominant, T); /* technical 2.5 */
        assert_float_equal(marker.margin, 1.5, EPS);

        /* One design ticket (marketing capped at 2): no flip. */
        apply(fx, &marker, &design, &changed, &before);
        assert_false(changed);
        assert_int_equal(marker.dominant, T);
        assert_float_equal(marker.margin, 0.5, EPS);

        /* Marketing 3 leads by 0.5, inside the band of 1.0: still no flip,
         * and the margin says the dominant is behind. */
        apply(fx, &marker, &button, &changed, &before);
        dump(&marker);
        assert_false(changed);
        assert_int_equal(marker.dominant, T);
        assert_float_equal(marker.margin, -0.5, EPS);

        /* Marketing 5 leads by 2.5: the persona changes. */
        apply(fx, &marker, &design, &changed, &before);
        assert_true(changed);
        assert_int_equal(before, T);
        assert_int_equal(marker.dominant, M);
        assert_float_equal(marker.margin, 2.5, EPS);

        /* The change is in the marker's history: from, to, when, why. */
        assert_int_equal(marker.n_history, 1);
        assert_int_equal(marker.history[0].from, T);
        assert_int_equal(marker.history[0].to, M);
        assert_true(marker.history[0].at == T0);
        assert_string_equal(marker.history[0].event_id, "e-ticket");
        assert_float_equal(marker.history[0].margin, 2.5, EPS);

        /* The history is bounded: the oldest changes go first. */
        for (int i = 0; i < PD_MARKER_HISTORY_MAX + 2; i++) {
                pd_axis_t from = marker.dominant;
                marker.dominant = (pd_axis_t)((from + 1) % PD_AXIS__CNT);
                pd_persona_history_add(&marker, from, T0 + i, "e-more");
        }
        assert_int_equal(marker.n_history, PD_MARKER_HISTORY_MAX);
        assert_true(marker.history[0].at == T0 + 2);
        assert_true(marker.history[PD_MARKER_HISTORY_MAX - 1].at ==
                    T0 + PD_MARKER_HISTORY_MAX + 1);
}

/* ---- the README's worked example, with the shipped model ---------------- */

static void test_readme_example(void **state)
{
        fixture_t *fx = *state;
        static const char *prods[] = {"GTX Pro"};
        static pd_kv_t cps[] = {{"migrating_from", "spreadsheets"},
                                {"why_chose_us", "integrations"}};
        pd_event_t sale =
            SALE_SIZED(120, -1, .products = {prods, 1}, .sector = "software",
                       .checkpoints = KVS(cps));
        pd_event_t ticket = TICKET(.subject = "Farbe der Schaltfläche",
                                   .category = "Product Support",
                                   .priority = "medium", .language = "de");
        pd_marker_t marker_readme = {0};
        bool changed;
        pd_axis_t before;
        const char *reason = NULL;

        /* 1. simplicity 2.5 + 0.5 = 3.0, technical 1 + 1 + 3 = 5.0. */
        apply(fx, &marker_readme, &sale, &changed, &before);
        dump(&marker_readme);
        assert_float_equal(marker_readme.axis[S], 3.0, EPS);
        assert_float_equal(marker_readme.axis[M], 0.0, EPS);
        assert_float_equal(marker_readme.axis[T], 5.0, EPS);
        assert_float_equal(marker_readme.axis[C], 0.0, EPS);
        assert_int_equal(marker_readme.dominant, T);
        assert_float_equal(marker_readme.margin, 2.0, EPS);

        /* 2. One half-life later: old scores halve, the ticket adds
         * marketing 2.0 and simplicity 0.5; no flip (hysteresis 1.5). */
        ticket.occurred_at = T0 + 180 * DAY;
        apply(fx, &marker_readme, &ticket, &changed, &before);
        dump(&marker_readme);
        assert_false(changed);
        assert_float_equal(marker_readme.axis[S], 2.0, EPS);
        assert_float_equal(marker_readme.axis[M], 2.0, EPS);
        assert_float_equal(marker_readme.axis[T], 2.5, EPS);
        assert_float_equal(marker_readme.axis[C], 0.0, EPS);
        assert_int_equal(marker_readme.dominant, T);
        assert_float_equal(marker_readme.margin, 0.5, EPS);
        assert_non_null(find_evidence(&marker_readme, "text.de:farbe"));
        assert_non_null(find_evidence(&marker_readme, "text.de:schaltflache"));
        assert_int_equal(marker_readme.n_history, 0);

        /* 3. Routed to technical-l2, with its reason. */
        assert_string_equal(pd_persona_route_ticket(fx->model, &marker_readme,
                                                    &ticket.u.ticket,
                                                    &fx->arena, &reason),
                            "technical-l2");
        assert_string_equal(reason, "persona=technical margin=0.50 "
                                    "category=Product Support priority=medium");
}

/* ---- re-scoring under a new model version -------------------------------- */

/* test_model_json with one substring replaced (and version 8). */
static pd_model_t *candidate(const char *from, const char *to)
{
        char text[sizeof(test_model_json) + 256], path[64], errstr[1024];
        const char *at = strstr(test_model_json, from);
        pd_model_t *model = NULL;
        assert_non_null(at);
        snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - test_model_json),
                 test_model_json, to, at + strlen(from));
        at = strstr(text, "\"version\": 7");
        assert_non_null(at);
        text[at - text + 11] = '8';
        write_file(path, sizeof(path), text);
        if (pd_model_load(path, &model, errstr, sizeof(errstr)))
                fail_msg("%s", errstr);
        unlink(path);
        return model;
}

typedef struct rescore_row_s {
        const char *name;
        const char *from, *to; /* the candidate's change */
        pd_axis_t dominant;    /* after the re-score */
        bool changed;
} rescore_row_t;

static const rescore_row_t rescore_rows[] = {
    {"unchanged weights", "\"region\": {\"EMEA\": {\"consulting\": 0.25}}",
     "\"region\": {\"EMEA\": {\"consulting\": 0.25}}", T, false},
    {"product weight moves to marketing past the hysteresis",
     "\"GTX Pro\": {\"technical\": 1}", "\"GTX Pro\": {\"marketing\": 9}", M,
     true},
    {"checkpoint answer moves to consulting past the hysteresis",
     "\"api\": {\"technical\": 3}", "\"api\": {\"consulting\": 9}", C, true},
    {"region entry removed", "\"region\": {\"EMEA\": {\"consulting\": 0.25}}",
     "\"region\": {}", T, false},
    {"lexicon term reweighted, under the text cap",
     "\"en\": {\"technical\": {\"api\": 1,",
     "\"en\": {\"technical\": {\"api\": 0.25,", T, false},
    {"band weight", "\"weights\": {\"simplicity\": 0.5}},",
     "\"weights\": {\"simplicity\": 9}},", S, true},
    {"ticket category removed", "\"Technical Support\": {\"technical\": 0.5},",
     "", T, false},
};

/* A history scored under v7 and re-scored under a candidate v8 ends with
 * the scores a replay under v8 gives (every signal is kept and no text hit
 * the cap); the dominant moves only past the hysteresis, recorded in the
 * history with the re-score's cause. */
static void test_rescore(void **state)
{
        fixture_t *fx = *state;
        static const char *prods[] = {"GTX Pro"};
        static pd_kv_t cps[] = {{"why_chose_us", "API"}};
        pd_event_t evs[] = {
            SALE_SIZED(120, -1, .products = {prods, 1}, .region = "EMEA",
                       .checkpoints = KVS(cps)),
            TICKET(.category = "Technical Support", .text = "the api docs",
                   .language = "en"),
        };
        evs[1].occurred_at = T0 + 5 * DAY;
        for (size_t r = 0; r < sizeof(rescore_rows) / sizeof(rescore_rows[0]);
             r++) {
                const rescore_row_t *row = &rescore_rows[r];
                pd_model_t *cand = candidate(row->from, row->to);
                pd_marker_t m = {0}, ref = {0};
                bool changed;
                pd_axis_t before;
                fprintf(stderr, "row: %s\n", row->name);
                for (size_t i = 0; i < 2; i++) {
                        apply(fx, &m, &evs[i], NULL, NULL);
                        assert_int_equal(pd_persona_apply(cand, &ref, &evs[i],
                                                          &fx->arena, NULL,
                                                          NULL),
                                         PD_OK);
                        ref.updated_at = evs[i].occurred_at;
                }
                assert_int_equal(m.model_version, 7);
                assert_int_equal(m.dominant, T);
                assert_int_equal(pd_persona_rescore(cand, &m, "c/rescore/8",
                                                    &fx->arena, &changed,
                                                    &before),
                                 PD_OK);
                dump(&m);
                assert_int_equal(m.model_version, 8);
                for (int a = 0; a < PD_AXIS__CNT; a++)
                        assert_float_equal(m.axis[a], ref.axis[a], EPS);
                assert_int_equal(m.n_evidence, ref.n_evidence);
                for (size_t i = 0; i < m.n_evidence; i++) {
                        const pd_evidence_t *e =
                            find_evidence(&ref, m.evidence[i].signal);
                        assert_non_null(e);
                        assert_float_equal(m.evidence[i].weight, e->weight,
                                           EPS);
                }
                assert_int_equal(m.dominant, row->dominant);
                assert_int_equal(changed, row->changed);
                assert_int_equal(m.n_history, row->changed ? 1 : 0);
                if (row->changed) {
                        assert_int_equal(before, T);
                        assert_int_equal(m.history[0].from, T);
                        assert_int_equal(m.history[0].to, row->dominant);
                        assert_string_equal(m.history[0].event_id,
                                            "c/rescore/8");
                        assert_true(m.history[0].at == T0 + 5 * DAY);
                }
                /* Again under the same version: nothing moves. */
                double axis[PD_AXIS__CNT];
                memcpy(axis, m.axis, sizeof(axis));
                assert_int_equal(pd_persona_rescore(cand, &m, "c/rescore/8",
                                                    &fx->arena, &changed,
                                                    &before),
                                 PD_OK);
                assert_false(changed);
                for (int a = 0; a < PD_AXIS__CNT; a++)
                        assert_float_equal(m.axis[a], axis[a], EPS);
                pd_model_destroy(cand);
        }
}

/* ---- evidence: cap, order, determinism ---------------------------------- */

static void test_evidence_cap_and_order(void **state)
{
        fixture_t *fx = *state;
        static pd_kv_t cps[] = {
            {"used_competitor", "yes"},
            {"why_chose_us", "integrations"},
            {"migrating_from", "competitor"},
            {"main_goal", "automation"},
            {"problems", "manual_work;poor_ux;no_benchmarks;slow_onboarding"},
            {"needs_customisation", "yes"},
            {"target_go_live", "6_months"},
            {"wants_benchmarking", "yes"}};
        static const char *prods[] = {"GTX Pro", "GTK 500", "MG Advanced",
                                      "Enterprise"};
        pd_event_t ev = SALE_SIZED(2822, 1100.04, .products = {prods, 4},
                                   .sector = "software", .region = "EMEA",
                                   .checkpoints = KVS(cps));
        pd_marker_t a = {0}, b = {0};
        apply(fx, &a, &ev, NULL, NULL);
        apply(fx, &b, &ev, NULL, NULL);
        dump(&a);
        assert_int_equal(a.n_evidence, PD_MARKER_EVIDENCE_MAX);
        for (size_t i = 0; i < a.n_evidence; i++) {
                assert_string_equal(a.evidence[i].signal, b.evidence[i].signal);
                assert_int_equal(a.evidence[i].axis, b.evidence[i].axis);
                if (i)
                        assert_true(a.evidence[i - 1].weight >=
                                    a.evidence[i].weight);
        }
        assert_memory_equal(a.axis, b.axis, sizeof(a.axis));
        assert_string_equal(a.evidence[0].signal,
                            "checkpoint:why_chose_us=integrations");
        assert_int_equal(a.dominant, T);
}

/* ---- load errors -------------------------------------------------------- */

typedef struct load_row_s {
        const char *name;
        const char *json;
        const char *expect[3]; /* substrings after "<path>:" */
} load_row_t;

#define HEAD                                                                   \
        "{\n  \"version\": 1,\n  \"half_life_days\": 30,\n  \"hysteresis\": "  \
        "1,\n"

static const load_row_t load_rows[] = {
    {"broken JSON names the line",
     "{\n  \"version\": 1,\n  \"half_life_days\": 30\n  \"hysteresis\": 1\n}\n",
     {"4: (json): "}},
    {"unknown axis names file, line and key",
     HEAD "  \"products\": {\n    \"GTX Pro\": {\"technical\": 1},\n"
          "    \"GTX Basic\": {\"technicl\": 1}\n  }\n}\n",
     {"7: products.GTX Basic.technicl: unknown axis"}},
    {"missing version",
     "{\n  \"half_life_days\": 30,\n  \"hysteresis\": 1\n}\n",
     {"1: version: required integer >= 1"}},
    {"negative half-life and bad hysteresis, both reported",
     "{\n  \"version\": 1,\n  \"half_life_days\": -3,\n  \"hysteresis\": "
     "\"x\"\n}\n",
     {"3: half_life_days: required number > 0",
      "4: hysteresis: required number >= 0"}},
    {"unknown key",
     HEAD "  \"hysterisis\": 2\n}\n",
     {"5: hysterisis: unknown key"}},
    {"weight not a number",
     HEAD "  \"tickets\": {\"priority\": {\n    \"urgent\": {\"simplicity\": "
          "\"high\"}}}\n}\n",
     {"6: tickets.priority.urgent.simplicity: must be a number"}},
    {"keys equal once normalised",
     HEAD "  \"products\": {\"GTX Pro\": {}, \"GTXPro\": {}}\n}\n",
     {"5: products.GTXPro: same key as \"GTX Pro\""}},
    {"lexicon with unknown axis and bad language",
     HEAD "  \"text\": {\"lexicons\": {\n    \"de\": {\"technisch\": {\"api\": "
          "1}},\n"
          "    \"german\": {}}}\n}\n",
     {"6: text.lexicons.de.technisch: unknown axis",
      "7: text.lexicons.german: language must be"}},
    {"routing rule with unknown persona and no queue",
     HEAD "  \"routing\": {\"default\": \"x\", \"rules\": [\n"
          "    {\"queue\": \"a\"},\n    {\"persona\": \"techy\"}]}\n}\n",
     {"7: routing.rules[1].persona: unknown axis \"techy\"",
      "7: routing.rules[1].queue: required non-empty string"}},
    {"band with min above max",
     HEAD "  \"surveys\": {\"NPS\": [\n    {\"name\": \"x\", \"min\": 9, "
          "\"max\": 2, \"weights\": {}}]}\n}\n",
     {"6: surveys.NPS[0].min: above max"}},
};

static void test_load_errors(void **state)
{
        for (size_t i = 0; i < sizeof(load_rows) / sizeof(load_rows[0]); i++) {
                const load_row_t *row = &load_rows[i];
                char path[64], errstr[2048], want[512];
                pd_model_t *model = (pd_model_t *)1;
                fprintf(stderr, "row: %s\n", row->name);
                write_file(path, sizeof(path), row->json);
                assert_int_equal(
                    pd_model_load(path, &model, errstr, sizeof(errstr)),
                    PD_ERR_CONFIG);
                fprintf(stderr, "  %s\n", errstr);
                assert_null(model);
                for (int k = 0; k < 3 && row->expect[k]; k++) {
                        snprintf(want, sizeof(want), "%s:%s", path,
                                 row->expect[k]);
                        assert_non_null(strstr(errstr, want));
                }
                unlink(path);
        }
}

static void test_load_missing_file(void **state)
{
        char errstr[256];
        pd_model_t *model;
        assert_int_equal(pd_model_load("/nonexistent/model.json", &model,
                                       errstr, sizeof(errstr)),
                         PD_ERR_CONFIG);
        assert_non_null(strstr(errstr, "/nonexistent/model.json:0: "));
        pd_model_destroy(NULL);
}

/* ---- the shipped model -------------------------------------------------- */

typedef struct text_row_s {
        const char *name;
        const char *language; /* NULL: detected */
        const char *category;
        const char *priority;
        const char *subject;
        const char *text;
        pd_axis_t dominant;
        const char *signal; /* must be among the evidence */
} text_row_t;

static const text_row_t text_rows[] = {
    /* Hand-written, one per language. */
    {"en", "en", "Technical Support", "medium", "Webhook for new orders",
     "Can we automate the export with your API and a webhook?", T,
     "text.en:api"},
    {"es", NULL, "Product Support", "low", "Colores del botón",
     "Queremos cambiar el diseño de la pantalla de inicio y los colores de "
     "los botones para que coincidan con nuestra imagen de marca.",
     M, "text.es:diseno"},
    {"fr", "fr", "General Inquiry", "low", "Bonnes pratiques",
     "Comment font les autres clients pour organiser l’inscription ? Nous "
     "aimerions un benchmark et vos recommandations.",
     C, "text.fr:comment font les autres"},
    {"de", "de", "IT Support", "medium", "Schnittstelle zu SAP",
     "Wir möchten die Benachrichtigungen über die API-Schnittstelle "
     "automatisieren.",
     T, "text.de:schnittstelle"},
    {"it", "it", "Customer Service", "low", "Configurazione rapida",
     "Ci serve una soluzione semplice e pronta all'uso, da attivare "
     "rapidamente senza formazione.",
     S, "text.it:pronta all uso"},
    {"pt", NULL, "Technical Support", "medium", "Integração com o ERP",
     "Precisamos de integração com o nosso ERP e notificações automáticas "
     "por webhook.",
     T, "text.pt:integracao"},
    /* Real rows of the Bueck multilingual IT-ticket data set
     * (aa_dataset-tickets-multi-lang-5-2-50-version.csv, rows 8, 98, 47
     * and 31; bodies shortened; the data keeps newlines as "\n"). */
    {"real de 8", "de", "Technical Support", "low",
     "Anfrage nach detaillierten Angaben zur Systemarchitektur der Plattform",
     "Sehr geehrtes Kundensupport-Team,\\n\\nich hoffe, diese Nachricht "
     "trifft Sie wohl. Ich nehme Kontakt auf, um umfassende Informationen "
     "zur Architektur der Plattform zu erfragen. Das Verständnis der "
     "zugrunde liegenden Struktur, Komponenten und deren Zusammenhänge ist "
     "entscheidend, um eine reibungslose Integration zu gewährleisten und "
     "die Nutzung der Dienste zu optimieren.\\n\\nBesonders interessieren "
     "mich Details zu den Kernmodulen der Plattform, Datenströmen, "
     "Sicherheitsmaßnahmen, Skalierbarkeitsmerkmalen sowie verfügbaren APIs "
     "und Schnittstellen zur Anpassung.",
     T, "text.de:schnittstelle"},
    {"real de 98", "de", "Product Support", "high",
     "Benötigte Anleitung zur effektiven bereichsübergreifenden Kollaboration",
     "Sehr geehrtes Support-Team,\\n\\nich bitte um Ihre fachkundige "
     "Beratung zur Optimierung der Zusammenarbeit zwischen Creative Studio "
     "und Performance Marketing Analytics-Teams. Ziel ist es, den "
     "Marketing-ROI zu steigern, indem ein datengesteuerter Ansatz mit einer "
     "zentralisierten Kontoverwaltung umgesetzt wird.\\n\\nKönnten Sie bitte "
     "bewährte Methoden und Strategien bereitstellen, um "
     "bereichsübergreifende Arbeitsprozesse zu verbessern? Besonders "
     "hilfreich wären Einblicke in die Integration von Datenanalysen.",
     C, "text.de:bewahrte methode"},
    {"real en 47", "en", "Customer Service", "high",
     "Revise Marketing Firm Framework",
     "Dear Customer Service Team,\\n\\nI am reaching out to request "
     "modifications to the marketing firm's framework. I wish to incorporate "
     "new technologies to broaden our existing offerings, including "
     "data-centric analytics, video production, and user experience design.",
     M, "text.en:user experience"},
    {"real en 31", "en", "Technical Support", "low",
     "Request for CI/CD Pipeline Documentation",
     "Dear Customer Support Team,\\n\\nI hope this message finds you well. I "
     "am reaching out to request detailed documentation related to the CI/CD "
     "pipeline employed in the current project. Comprehensive information on "
     "setup procedures, configurations, and best practices would be "
     "immensely helpful for our development team to optimize workflows and "
     "ensure seamless deployment processes.\\n\\nIn particular, I am "
     "interested in understanding the steps involved in the pipeline, the "
     "tools and technologies integrated, as well as recommended guidelines "
     "for maintenance and troubleshooting.",
     T, "text.en:best practice"},
};

static void test_languages(void **state)
{
        fixture_t *fx = *state;
        for (size_t i = 0; i < sizeof(text_rows) / sizeof(text_rows[0]); i++) {
                const text_row_t *row = &text_rows[i];
                pd_marker_t marker = {0};
                pd_event_t ev =
                    TICKET(.category = row->category, .priority = row->priority,
                           .subject = row->subject, .text = row->text,
                           .language = row->language);
                fprintf(stderr, "row: %s\n", row->name);
                apply(fx, &marker, &ev, NULL, NULL);
                dump(&marker);
                assert_int_equal(marker.dominant, row->dominant);
                assert_non_null(find_evidence(&marker, row->signal));
                assert_int_equal(marker.model_version, 1);
        }
}

/* The shipped model knows the products and plan tiers of the data sets,
 * including the export quirk "GTXPro". */
static void test_shipped_products(void **state)
{
        fixture_t *fx = *state;
        static const char *names[] = {
            "GTX Basic",    "GTX Pro",        "MG Special", "MG Advanced",
            "GTX Plus Pro", "GTX Plus Basic", "GTK 500",    "Basic",
            "Pro",          "Enterprise",     "GTXPro"};
        for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
                pd_marker_t marker = {0};
                pd_event_t ev = sale_at("s", T0, NULL, &names[i], 1);
                apply(fx, &marker, &ev, NULL, NULL);
                assert_true(marker.n_evidence > 0);
                assert_non_null(strstr(marker.evidence[0].signal, "product:"));
        }
}

/* Every row of the real multilingual ticket set, language withheld: no
 * error, no sanitizer report, a queue for each, and the stop-word detector
 * agrees with the data set's language column where text was scored.
 * Skipped when PD_DATA_DIR does not hold the file. */
/* The RavenStack churn records with the shipped model: every reason code
 * and feedback text in the data lands on the axis this table expects (the
 * model covers the data), "unknown" and empty ones on none. */
static const struct {
        const char *value;
        pd_axis_t axis; /* PD_AXIS__CNT: no signal */
} churn_axes[] = {
    {"features", T},
    {"competitor", T},
    {"pricing", S},
    {"budget", S},
    {"support", C},
    {"unknown", PD_AXIS__CNT},
    {"missing features", T},
    {"too expensive", S},
    {"switched to competitor", C},
    {"", PD_AXIS__CNT},
};

/* Opens PD_DATA_DIR/rel, or skips the test when it is not readable. */
static pd_csv_t *open_data_csv(const char *rel)
{
        const char *dir = getenv("PD_DATA_DIR");
        char path[4096], errstr[512];
        pd_csv_t *csv = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir ? dir : "", rel);
        if (!dir || access(path, R_OK) ||
            pd_csv_open(path, &csv, errstr, sizeof(errstr))) {
                fprintf(stderr, "skipped: %s not readable\n", path);
                skip();
        }
        return csv;
}

static void test_real_churn(void **state)
{
        fixture_t *fx = *state;
        char errstr[512];
        pd_csv_t *csv =
            open_data_csv("ravenstack-saas/ravenstack_churn_events.csv");
        pd_csv_record_t rec;
        size_t rows = 0, signals = 0;
        /* churn_event_id,account_id,churn_date,reason_code,...,feedback_text */
        while (pd_csv_next(csv, &rec, errstr, sizeof(errstr)) == PD_OK) {
                if (rec.line == 1 || rec.n < 9)
                        continue;
                for (int col = 3; col <= 8; col += 5) {
                        const char *v = rec.fields[col];
                        pd_kv_t kv[] = {
                            {"churned", "true"},
                            {col == 3 ? "churn_reason" : "feedback", v}};
                        pd_event_t ev = CHECKPOINTS(kv);
                        pd_marker_t marker = {0};
                        size_t k = 0;
                        while (k < sizeof(churn_axes) / sizeof(churn_axes[0]) &&
                               strcmp(churn_axes[k].value, v))
                                k++;
                        if (k == sizeof(churn_axes) / sizeof(churn_axes[0]))
                                fail_msg("line %ld: churn value \"%s\" not in "
                                         "the table",
                                         rec.line, v);
                        apply(fx, &marker, &ev, NULL, NULL);
                        if (churn_axes[k].axis == PD_AXIS__CNT) {
                                assert_int_equal(marker.n_evidence, 0);
                        } else {
                                assert_true(marker.n_evidence > 0);
                                assert_int_equal(marker.dominant,
                                                 churn_axes[k].axis);
                                assert_non_null(
                                    strstr(marker.evidence[0].signal, v));
                                signals++;
                        }
                        pd_arena_reset(&fx->arena);
                }
                rows++;
        }
        pd_csv_close(csv);
        fprintf(stderr, "churn rows=%zu signals=%zu\n", rows, signals);
        assert_int_equal(rows, 600);
        assert_true(signals > 600);
}

static void test_real_tickets(void **state)
{
        fixture_t *fx = *state;
        char errstr[512];
        pd_csv_t *csv =
            open_data_csv("it-tickets-bueck/"
                          "aa_dataset-tickets-multi-lang-5-2-50-version.csv");
        pd_csv_record_t rec;
        size_t rows = 0, scored = 0, agree = 0;
        /* subject,body,answer,type,queue,priority,language,... */
        while (pd_csv_next(csv, &rec, errstr, sizeof(errstr)) == PD_OK) {
                if (rec.line == 1 || rec.n < 7)
                        continue;
                pd_marker_t marker = {0};
                pd_event_t ev =
                    TICKET(.subject = rec.fields[0], .text = rec.fields[1],
                           .category = rec.fields[4],
                           .priority = rec.fields[5]);
                apply(fx, &marker, &ev, NULL, NULL);
                assert_non_null(pd_persona_route_ticket(
                    fx->model, &marker, &ev.u.ticket, &fx->arena, NULL));
                rows++;
                for (size_t i = 0; i < marker.n_evidence; i++) {
                        const char *sig = marker.evidence[i].signal;
                        if (strncmp(sig, "text.", 5))
                                continue;
                        scored++;
                        agree += !strncmp(sig + 5, rec.fields[6], 2);
                        break;
                }
                pd_arena_reset(&fx->arena);
        }
        pd_csv_close(csv);
        fprintf(stderr, "rows=%zu scored=%zu language agrees=%zu\n", rows,
                scored, agree);
        assert_true(rows > 1800);
        assert_true(scored * 2 > rows);
        /* 928 of 1015 on this file: every one of the 87 others is an
         * English body the data set labels "de" (checked by hand). */
        assert_true(agree * 100 >= scored * 90);
}

/* ---- routing ------------------------------------------------------------ */

typedef struct route_row_s {
        pd_axis_t persona;
        size_t n_evidence;
        double margin;
        const char *category;
        const char *priority;
        const char *queue;
} route_row_t;

static const route_row_t route_rows[] = {
    {T, 1, 3.2, "Technical Support", "high", "technical-l2"},
    {T, 1, 3.2, "Technical Support", "urgent", "priority-desk"},
    {S, 1, 1, "Product Support", "Critical", "priority-desk"},
    {M, 1, 1, "Product Support", "low", "design-desk"},
    {S, 1, 1, "Customer Service", "medium", "onboarding-desk"},
    {C, 1, 1, "General Inquiry", "low", "success-consultants"},
    {T, 1, 1, "Billing and Payments", "low", "billing-desk"},
    {T, 1, 1, "Service Outages and Maintenance", "high", "priority-desk"},
    {T, 1, 1, "Service Outages and Maintenance", "low", "technical-l2"},
    {S, 0, 0, "Technical Support", "low", "general-support"},
};

static void test_routing(void **state)
{
        fixture_t *fx = *state;
        const char *reason;
        for (size_t i = 0; i < sizeof(route_rows) / sizeof(route_rows[0]);
             i++) {
                const route_row_t *row = &route_rows[i];
                pd_marker_t marker = {.dominant = row->persona,
                                      .n_evidence = row->n_evidence,
                                      .margin = row->margin};
                pd_ticket_opened_t ticket = {.category = row->category,
                                             .priority = row->priority};
                const char *queue = pd_persona_route_ticket(
                    fx->model, &marker, &ticket, &fx->arena, &reason);
                fprintf(stderr, "%s <- %s\n", queue, reason);
                assert_string_equal(queue, row->queue);
        }
        pd_marker_t marker = {.dominant = T, .n_evidence = 3, .margin = 3.2};
        pd_ticket_opened_t ticket = {.category = "Technical Support",
                                     .priority = "high"};
        pd_persona_route_ticket(fx->model, &marker, &ticket, &fx->arena,
                                &reason);
        assert_string_equal(reason, "persona=technical margin=3.20 "
                                    "category=Technical Support "
                                    "priority=high");
}

static void test_routing_rule_combines(void **state)
{
        fixture_t *fx = *state;
        pd_marker_t marker = {.dominant = T, .n_evidence = 1};
        pd_ticket_opened_t ticket = {.category = "Sales/Billing"};
        assert_string_equal(pd_persona_route_ticket(fx->model, &marker, &ticket,
                                                    &fx->arena, NULL),
                            "tech-billing");
        marker.dominant = M;
        assert_string_equal(pd_persona_route_ticket(fx->model, &marker, &ticket,
                                                    &fx->arena, NULL),
                            "general");
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_signals, setup_test_model,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_decay, setup_test_model,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_hysteresis, setup_test_model,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_routing_rule_combines,
                                            setup_test_model, teardown),
            cmocka_unit_test_setup_teardown(test_rescore, setup_test_model,
                                            teardown),
            cmocka_unit_test(test_load_errors),
            cmocka_unit_test(test_load_missing_file),
            cmocka_unit_test_setup_teardown(test_evidence_cap_and_order,
                                            setup_shipped_model, teardown),
            cmocka_unit_test_setup_teardown(test_languages, setup_shipped_model,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_shipped_products,
                                            setup_shipped_model, teardown),
            cmocka_unit_test_setup_teardown(test_real_tickets,
                                            setup_shipped_model, teardown),
            cmocka_unit_test_setup_teardown(test_real_churn,
                                            setup_shipped_model, teardown),
            cmocka_unit_test_setup_teardown(test_readme_example,
                                            setup_shipped_model, teardown),
            cmocka_unit_test_setup_teardown(test_routing, setup_shipped_model,
                                            teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
