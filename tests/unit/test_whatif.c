/* Unit tests of the what-if replay (src/whatif.c): a small hand-made
 * history under a model and a candidate that changes one weight, with the
 * exact figures the replay must report. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "whatif.h"

#define DAY ((int64_t)86400000)
#define T0  ((int64_t)1700000000000)

#define S PD_AXIS_SIMPLICITY
#define M PD_AXIS_MARKETING
#define T PD_AXIS_TECHNICAL
#define N PD_WHATIF_NONE

/* The candidate differs in one weight: product B marketing 1 -> 3. */
#define MODEL(version, b_weight)                                               \
        "{\"version\": " #version ", \"half_life_days\": 10, "                 \
        "\"hysteresis\": 0.5,\n"                                               \
        " \"products\": {\"A\": {\"technical\": 1}, \"B\": "                   \
        "{\"marketing\": " #b_weight "}}}\n"

static pd_model_t *load(const char *text, char *path)
{
        pd_model_t *model = NULL;
        char errstr[512];
        int fd;
        strcpy(path, "/tmp/test_whatif_XXXXXX");
        fd = mkstemp(path);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
        close(fd);
        if (pd_model_load(path, &model, errstr, sizeof(errstr)))
                fail_msg("%s", errstr);
        unlink(path);
        return model;
}

static const char *prod_a[] = {"A"};
static const char *prod_b[] = {"B"};

static pd_event_t sale(const char *id, const char *customer, int64_t at,
                       const char **product)
{
        pd_event_t ev = {.event_id = id,
                         .customer_id = customer,
                         .occurred_at = at,
                         .kind = PD_EV_SALE_CLOSED,
                         .u.sale = {.employees = -1,
                                    .revenue = -1,
                                    .products = {product, 1}}};
        return ev;
}

typedef struct seen_s {
        const char *customer[4];
        int from[4], to[4];
        size_t n;
        pd_whatif_diff_t diff[4];
        size_t n_diff;
} seen_t;

static int on_changed(void *opaque, const char *customer,
                      const pd_marker_t *cur, const pd_marker_t *cand)
{
        seen_t *s = opaque;
        assert_true(s->n < 4);
        s->customer[s->n] = strdup(customer);
        s->from[s->n] = pd_whatif_dominant(cur);
        s->to[s->n] = pd_whatif_dominant(cand);
        if (s->n++ == 0)
                s->n_diff = pd_whatif_evidence_diff(cur, cand, s->diff, 4);
        return 0;
}

static void test_replay(void **state)
{
        char path[64];
        pd_model_t *cur = load(MODEL(1, 1), path);
        pd_model_t *cand = load(MODEL(2, 3), path);
        pd_whatif_t *w = NULL;
        pd_whatif_report_t r;
        seen_t seen = {0};
        (void)state;
        pd_event_t history[] = {
            /* c1: technical 1, a day later marketing 1 (the technical
             * 2^-0.1 = 0.93 is behind by 0.07, inside the band of 0.5):
             * current stays technical; the candidate's marketing 3 leads
             * by 2.07 and flips it. */
            sale("c1-a", "c1", T0, prod_a),
            sale("c1-b", "c1", T0 + DAY, prod_b),
            /* c2, c3: one product each, the same under both. */
            sale("c2-b", "c2", T0, prod_b),
            sale("c3-a", "c3", T0, prod_a),
            /* c4: erased, so not counted. */
            sale("c4-a", "c4", T0, prod_a),
            {.event_id = "c4-x",
             .customer_id = "c4",
             .occurred_at = T0 + DAY,
             .kind = PD_EV_CUSTOMER_ERASED},
            /* c5: as c1, with the second sale delivered twice. */
            sale("c5-a", "c5", T0, prod_a),
            sale("c5-b", "c5", T0 + DAY, prod_b),
            sale("c5-b", "c5", T0 + DAY, prod_b),
            /* c6: no signal at all. */
            {.event_id = "c6-i",
             .customer_id = "c6",
             .occurred_at = T0,
             .kind = PD_EV_IMPLEMENTATION_CLOSED},
        };
        assert_int_equal(pd_whatif_new(cur, cand, &w), PD_OK);
        for (size_t i = 0; i < sizeof(history) / sizeof(history[0]); i++)
                assert_int_equal(pd_whatif_apply(w, &history[i]), PD_OK);
        pd_whatif_report(w, &r);
        assert_int_equal(r.events, 9);
        assert_int_equal(r.duplicates, 1);
        assert_int_equal(r.customers, 5);
        assert_int_equal(r.changed, 2);
        assert_int_equal(r.flips[0], 0);
        assert_int_equal(r.flips[1], 2);
        for (int a = 0; a <= N; a++)
                for (int b = 0; b <= N; b++) {
                        size_t want = a == T && b == M   ? 2
                                      : a == M && b == M ? 1
                                      : a == T && b == T ? 1
                                      : a == N && b == N ? 1
                                                         : 0;
                        if (r.matrix[a][b] != want)
                                fail_msg("matrix[%d][%d] = %zu, want %zu", a, b,
                                         r.matrix[a][b], want);
                }

        /* The examples, in customer order, with the evidence that moved. */
        assert_int_equal(pd_whatif_foreach_changed(w, on_changed, &seen), 0);
        assert_int_equal(seen.n, 2);
        assert_string_equal(seen.customer[0], "c1");
        assert_string_equal(seen.customer[1], "c5");
        assert_int_equal(seen.from[0], T);
        assert_int_equal(seen.to[0], M);
        assert_int_equal(seen.n_diff, 1);
        assert_string_equal(seen.diff[0].signal, "product:B");
        assert_int_equal(seen.diff[0].axis, M);
        assert_float_equal(seen.diff[0].current, 1.0, 1e-12);
        assert_float_equal(seen.diff[0].candidate, 3.0, 1e-12);
        for (size_t i = 0; i < seen.n; i++)
                free((void *)seen.customer[i]);

        /* The same model twice changes nobody. */
        pd_whatif_destroy(w);
        assert_int_equal(pd_whatif_new(cur, cur, &w), PD_OK);
        for (size_t i = 0; i < sizeof(history) / sizeof(history[0]); i++)
                assert_int_equal(pd_whatif_apply(w, &history[i]), PD_OK);
        pd_whatif_report(w, &r);
        assert_int_equal(r.customers, 5);
        assert_int_equal(r.changed, 0);
        assert_int_equal(r.matrix[T][T], 3);
        pd_whatif_destroy(w);
        pd_model_destroy(cur);
        pd_model_destroy(cand);
}

static int same_as_ref(void *opaque, const char *customer,
                       const pd_marker_t *cur, const pd_marker_t *cand)
{
        const pd_marker_t *ref = opaque;
        const pd_marker_t *m[2] = {cur, cand};
        for (int k = 0; k < 2; k++) {
                for (int a = 0; a < PD_AXIS__CNT; a++)
                        assert_float_equal(m[k]->axis[a], ref[k].axis[a],
                                           1e-12);
                assert_int_equal(m[k]->n_evidence, ref[k].n_evidence);
                assert_int_equal(m[k]->n_history, ref[k].n_history);
                assert_int_equal(m[k]->n_event_ids, PD_MARKER_EVENT_IDS_MAX);
        }
        return 0;
}

/* A long history compacts each customer's arena without changing the
 * result: 200 events of one customer end where a plain replay with
 * pd_persona_apply ends. */
static void test_long_history(void **state)
{
        char path[64];
        pd_model_t *model[2] = {load(MODEL(1, 1), path),
                                load(MODEL(2, 3), path)};
        pd_whatif_t *w = NULL;
        pd_whatif_report_t r;
        pd_marker_t ref[2] = {{0}, {0}};
        pd_arena_t arena;
        char ids[200][16];
        (void)state;
        pd_arena_init(&arena);
        assert_int_equal(pd_whatif_new(model[0], model[1], &w), PD_OK);
        for (int i = 0; i < 200; i++) {
                snprintf(ids[i], sizeof(ids[i]), "e%d", i);
                pd_event_t ev = sale(ids[i], "c", T0 + i * DAY / 3,
                                     i % 3 ? prod_a : prod_b);
                assert_int_equal(pd_whatif_apply(w, &ev), PD_OK);
                for (int k = 0; k < 2; k++) {
                        assert_int_equal(pd_persona_apply(model[k], &ref[k],
                                                          &ev, &arena, NULL,
                                                          NULL),
                                         PD_OK);
                        ref[k].updated_at = ev.occurred_at;
                }
        }
        pd_whatif_report(w, &r);
        assert_int_equal(r.events, 200);
        assert_int_equal(r.customers, 1);
        print_message("current %s, candidate %s\n",
                      pd_axis_name(ref[0].dominant),
                      pd_axis_name(ref[1].dominant));
        assert_int_not_equal(ref[0].dominant, ref[1].dominant);
        assert_int_equal(r.changed, 1);
        assert_int_equal(r.matrix[ref[0].dominant][ref[1].dominant], 1);
        assert_int_equal(pd_whatif_foreach_changed(w, same_as_ref, ref), 0);
        pd_whatif_destroy(w);
        pd_model_destroy(model[0]);
        pd_model_destroy(model[1]);
        pd_arena_term(&arena);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_replay),
            cmocka_unit_test(test_long_history),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
