/* The importer on the real exports (PD_DATA_DIR; skipped when absent), on
 * small broken datasets written to a temporary folder, and the sample
 * generator.  The pinned counts were computed independently with Python's
 * csv module (see the README's importer section). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "codec.h"
#include "import.h"

#define BUECK "aa_dataset-tickets-multi-lang-5-2-50-version.csv"

static const char *data_dir(void)
{
        const char *d = getenv("PD_DATA_DIR");
        struct stat st;
        if (!d || stat(d, &st) || !S_ISDIR(st.st_mode))
                return NULL;
        return d;
}

/* One import of the real data shared by the tests that only read it. */
static pd_arena_t real_arena;
static pd_import_result_t real;
static bool have_real;

static int group_setup(void **state)
{
        char err[512] = "";
        pd_arena_init(&real_arena);
        pd_import_result_init(&real);
        if (!data_dir())
                return 0;
        if (pd_import_dir(data_dir(), NULL, &real_arena, &real, err,
                          sizeof(err))) {
                fprintf(stderr, "import: %s\n", err);
                return -1;
        }
        have_real = true;
        return 0;
}

static int group_teardown(void **state)
{
        pd_arena_term(&real_arena);
        return 0;
}

#define NEED_REAL()                                                            \
        do {                                                                   \
                if (!have_real)                                                \
                        skip();                                                \
        } while (0)

static const pd_import_dataset_t *ds(const pd_import_result_t *res,
                                     const char *name)
{
        for (size_t i = 0; i < res->n_datasets; i++)
                if (!strcmp(res->datasets[i].name, name))
                        return &res->datasets[i];
        fail_msg("no dataset %s", name);
        return NULL;
}

static const pd_import_reason_t *reason(const pd_import_reason_t *v, size_t n,
                                        const char *dataset, const char *text)
{
        for (size_t i = 0; i < n; i++)
                if (!strcmp(v[i].dataset, dataset) && strstr(v[i].reason, text))
                        return &v[i];
        return NULL;
}

/* The event of kind whose id-giving key is deal/ticket/contract id. */
static const pd_event_t *find(const pd_import_result_t *res,
                              pd_event_kind_t kind, const char *id)
{
        for (size_t i = 0; i < res->n_events; i++) {
                const pd_event_t *ev = &res->events[i];
                const char *k = NULL;
                if (ev->kind != kind)
                        continue;
                if (kind == PD_EV_SALE_CLOSED)
                        k = ev->u.sale.deal_id;
                else if (kind == PD_EV_TICKET_OPENED)
                        k = ev->u.ticket.ticket_id;
                else if (kind == PD_EV_RENEWAL_DUE)
                        k = ev->u.renewal.contract_id;
                if (k && !strcmp(k, id))
                        return ev;
        }
        fail_msg("no %s %s", pd_event_kind_name(kind), id);
        return NULL;
}

static int64_t ts(int y, int m, int d, int h)
{
        struct tm tm = {
            .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = h};
        return (int64_t)timegm(&tm) * 1000;
}

/* ---- the real exports --------------------------------------------------- */

static void test_counts(void **state)
{
        NEED_REAL();
        static const struct {
                const char *ds;
                size_t ev[PD_EV__CNT], nps, csat, skipped, rejected;
        } want[] = {
            {"maven-crm", {4238, 0, 0, 0, 0, 0, 0}, 0, 0, 4562, 0},
            {"it-tickets-bueck", {0}, 0, 0, 0, 1},
            {"ravenstack-saas",
             {5000, 0, 2000, 1175, 5000, 600, 0},
             0,
             1175,
             0,
             0},
            {"nps-csat-mock", {0, 0, 0, 200, 0, 0, 0}, 100, 100, 100, 0},
        };
        for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
                const pd_import_dataset_t *d = ds(&real, want[i].ds);
                assert_true(d->present);
                for (int k = 0; k < PD_EV__CNT; k++)
                        if (d->events[k] != want[i].ev[k])
                                fail_msg("%s %s: %zu, want %zu", want[i].ds,
                                         pd_event_kind_name(k), d->events[k],
                                         want[i].ev[k]);
                assert_int_equal(d->surveys[PD_SURVEY_NPS], want[i].nps);
                assert_int_equal(d->surveys[PD_SURVEY_CSAT], want[i].csat);
                assert_int_equal(d->skipped, want[i].skipped);
                assert_int_equal(d->rejected, want[i].rejected);
        }
        assert_int_equal(real.n_events, 18213);
        assert_int_equal(pd_import_count(&real, PD_EV_SALE_CLOSED), 9238);
}

/* Every event meets the contract the worker checks on input. */
static void test_events_valid(void **state)
{
        NEED_REAL();
        char err[256];
        for (size_t i = 0; i < real.n_events; i++)
                if (pd_event_validate(&real.events[i], err, sizeof(err)))
                        fail_msg("event %zu (%s): %s", i,
                                 real.events[i].customer_id, err);
}

static void test_gtxpro_normalised(void **state)
{
        NEED_REAL();
        /* sales_pipeline.csv line 3: Z063OYW0,Darcel Schlecht,GTXPro,... */
        const pd_event_t *ev = find(&real, PD_EV_SALE_CLOSED, "Z063OYW0");
        assert_string_equal(ev->u.sale.products.v[0], "GTX Pro");
        assert_string_equal(pd_kvs_get(&ev->u.sale.checkpoints, "series"),
                            "GTX");
        size_t gtx_pro = 0;
        for (size_t i = 0; i < real.n_events; i++) {
                const pd_sale_closed_t *s = &real.events[i].u.sale;
                if (real.events[i].kind != PD_EV_SALE_CLOSED)
                        continue;
                assert_string_not_equal(s->products.v[0], "GTXPro");
                gtx_pro += !strcmp(s->products.v[0], "GTX Pro");
        }
        assert_int_equal(gtx_pro, 729);
}

static void test_maven_sale_mapping(void **state)
{
        NEED_REAL();
        const pd_event_t *ev = find(&real, PD_EV_SALE_CLOSED, "Z063OYW0");
        const pd_sale_closed_t *s = &ev->u.sale;
        assert_string_equal(ev->customer_id, "maven-crm:Isdom");
        assert_string_equal(ev->source, "maven-crm");
        assert_int_equal(ev->occurred_at, ts(2017, 3, 11, 12));
        assert_true(s->deal_value == 4514);
        assert_string_equal(s->currency, "USD");
        assert_string_equal(s->sales_owner, "Darcel Schlecht");
        assert_string_equal(s->region, "Central");
        assert_string_equal(s->country, "US");
        assert_string_equal(s->time_zone, "America/Chicago");
        assert_string_equal(pd_kvs_get(&s->checkpoints, "deal_size_band"),
                            "medium");
        assert_string_equal(pd_kvs_get(&s->checkpoints, "sales_manager"),
                            "Melvin Marxen");
        assert_non_null(pd_kvs_get(&s->checkpoints, "year_established"));
        assert_non_null(pd_kvs_get(&s->checkpoints, "sales_cycle_days"));
}

static void test_sector_and_country_typos(void **state)
{
        NEED_REAL();
        size_t technology = 0, ph = 0;
        for (size_t i = 0; i < real.n_events; i++) {
                const pd_sale_closed_t *s = &real.events[i].u.sale;
                if (real.events[i].kind != PD_EV_SALE_CLOSED || !s->sector)
                        continue;
                assert_string_not_equal(s->sector, "technolgy");
                technology += !strcmp(s->sector, "technology");
                if (s->country && !strcmp(s->country, "PH")) {
                        ph++;
                        assert_string_equal(s->time_zone, "Asia/Manila");
                }
        }
        /* the 12 "technolgy" accounts won 671 deals; Bioholding
         * ("Philipines") won 50 */
        assert_int_equal(technology, 671);
        assert_int_equal(ph, 50);
        const pd_event_t *ev = find(&real, PD_EV_SALE_CLOSED, "1C1I7A6R");
        assert_string_equal(ev->customer_id, "maven-crm:Cancity");
}

static void test_truncated_bueck_row_rejected(void **state)
{
        NEED_REAL();
        const pd_import_reason_t *r =
            reason(real.rejects, real.n_rejects, "it-tickets-bueck",
                   "truncated final record");
        assert_non_null(r);
        assert_int_equal(r->n, 1);
        assert_non_null(strstr(r->example, BUECK ":1874: record: truncated "
                                                 "final record"));
        assert_non_null(strstr(r->example, "Issue with Investment D"));
        assert_int_equal(real.n_rejects, 1);
}

/* Engaging/Prospecting rows with no account are not deals: skipped, not
 * errors. */
static void test_empty_account_not_won_is_skip(void **state)
{
        NEED_REAL();
        const pd_import_reason_t *r =
            reason(real.skips, real.n_skips, "maven-crm", "not won");
        assert_non_null(r);
        assert_int_equal(r->n, 4562); /* includes the 1425 without account */
        assert_null(reason(real.rejects, real.n_rejects, "maven-crm", ""));
}

static void test_ces_skipped(void **state)
{
        NEED_REAL();
        const pd_import_reason_t *r = reason(
            real.skips, real.n_skips, "nps-csat-mock", "CES is not imported");
        assert_non_null(r);
        assert_int_equal(r->n, 100);
        assert_string_equal(r->reason,
                            "ces_responses.csv: CES is not imported");
}

static void test_ticket_text_from_bueck(void **state)
{
        NEED_REAL();
        const pd_ticket_opened_t *t =
            &find(&real, PD_EV_TICKET_OPENED, "T-0024de")->u.ticket;
        assert_string_equal(t->subject, "Wesentlicher Sicherheitsvorfall");
        assert_string_equal(t->category, "Technical Support");
        assert_string_equal(t->priority, "high");
        assert_string_equal(t->language, "de");
        assert_non_null(strstr(t->text, "Support-Team,\n\nich"));
        assert_null(strstr(t->text, "\\n"));
        /* ticket 1872 is the last with a complete Bueck row */
        t = &find(&real, PD_EV_TICKET_OPENED, "T-d82e4d")->u.ticket;
        assert_string_equal(t->subject, "Reported Website Outage Problem");
        /* ticket 1873 has no Bueck text: its own priority, nothing else */
        const pd_event_t *ev = find(&real, PD_EV_TICKET_OPENED, "T-e5a027");
        assert_string_equal(ev->customer_id, "ravenstack:A-40a557");
        assert_null(ev->u.ticket.text);
        assert_null(ev->u.ticket.subject);
        assert_null(ev->u.ticket.language);
        assert_string_equal(ev->u.ticket.priority, "urgent");
}

static void test_renewal_rule(void **state)
{
        NEED_REAL();
        const struct {
                const char *sub;
                int64_t start, renewal;
        } want[] = {
            {"S-8cec59", ts(2023, 12, 23, 12), ts(2024, 1, 23, 12)},
            {"S-51c0d1", ts(2024, 11, 25, 12), ts(2025, 11, 25, 12)},
            {"S-c27134", ts(2024, 3, 31, 12), ts(2024, 4, 30, 12)},
            {"S-e81358", ts(2024, 2, 29, 12), ts(2025, 2, 28, 12)},
        };
        for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
                const pd_event_t *ev =
                    find(&real, PD_EV_RENEWAL_DUE, want[i].sub);
                assert_int_equal(ev->occurred_at, want[i].start);
                assert_int_equal(ev->u.renewal.renewal_date, want[i].renewal);
        }
        const pd_event_t *ev = find(&real, PD_EV_RENEWAL_DUE, "S-8cec59");
        assert_true(ev->u.renewal.auto_renew);
        assert_true(ev->u.renewal.annual_value == 33432);
        const pd_sale_closed_t *s =
            &find(&real, PD_EV_SALE_CLOSED, "S-8cec59")->u.sale;
        assert_int_equal(s->employees, -1);
        assert_string_equal(pd_kvs_get(&s->checkpoints, "seats"), "14");
        assert_string_equal(pd_kvs_get(&s->checkpoints, "billing_frequency"),
                            "monthly");
        assert_string_equal(pd_kvs_get(&s->checkpoints, "is_trial"), "false");
        assert_non_null(pd_kvs_get(&s->checkpoints, "referral_source"));
}

static void test_churn_and_surveys(void **state)
{
        NEED_REAL();
        size_t churn = 0, with_feedback = 0;
        for (size_t i = 0; i < real.n_events; i++) {
                const pd_event_t *ev = &real.events[i];
                if (ev->kind != PD_EV_CHECKPOINTS_RECORDED)
                        continue;
                churn++;
                assert_string_equal(pd_kvs_get(&ev->u.checkpoints, "churned"),
                                    "true");
                assert_non_null(pd_kvs_get(&ev->u.checkpoints, "churn_reason"));
                with_feedback +=
                    pd_kvs_get(&ev->u.checkpoints, "feedback") != NULL;
        }
        assert_int_equal(churn, 600);
        assert_int_equal(with_feedback, 600 - 148);

        const pd_event_t *nps = &real.events[real.n_events - 1];
        for (size_t i = 0; i < real.n_events; i++)
                if (!strcmp(real.events[i].customer_id,
                            "nps-csat-mock:C10045") &&
                    real.events[i].u.survey.kind == PD_SURVEY_NPS)
                        nps = &real.events[i];
        assert_int_equal(nps->kind, PD_EV_SURVEY_RETURNED);
        assert_int_equal(nps->u.survey.score, 9);
        assert_string_equal(nps->u.survey.comment,
                            "Great product, very intuitive interface!");
        assert_int_equal(nps->occurred_at, ts(2025, 4, 7, 12));
}

static void test_event_time_order(void **state)
{
        NEED_REAL();
        size_t sale = 0, renewal = 0;
        for (size_t i = 1; i < real.n_events; i++)
                if (real.events[i].occurred_at < real.events[i - 1].occurred_at)
                        fail_msg("event %zu earlier than %zu", i, i - 1);
        /* equal times keep file order: a subscription's sale precedes its
         * renewal */
        for (size_t i = 0; i < real.n_events; i++) {
                const pd_event_t *ev = &real.events[i];
                if (ev->kind == PD_EV_SALE_CLOSED && ev->u.sale.deal_id &&
                    !strcmp(ev->u.sale.deal_id, "S-8cec59"))
                        sale = i;
                if (ev->kind == PD_EV_RENEWAL_DUE &&
                    !strcmp(ev->u.renewal.contract_id, "S-8cec59"))
                        renewal = i;
        }
        assert_true(sale < renewal);
        assert_true(renewal == sale + 1 ||
                    real.events[sale].occurred_at ==
                        real.events[renewal].occurred_at);
}

static void test_deterministic_ids(void **state)
{
        NEED_REAL();
        pd_arena_t arena;
        pd_import_result_t again;
        char err[256], want[37];
        pd_arena_init(&arena);
        pd_import_result_init(&again);
        assert_int_equal(
            pd_import_dir(data_dir(), NULL, &arena, &again, err, sizeof(err)),
            PD_OK);
        assert_int_equal(again.n_events, real.n_events);
        for (size_t i = 0; i < real.n_events; i++)
                assert_string_equal(again.events[i].event_id,
                                    real.events[i].event_id);
        pd_uuid5("maven-crm/sales_pipeline.csv/1C1I7A6R/SaleClosed", want);
        assert_string_equal(
            find(&real, PD_EV_SALE_CLOSED, "1C1I7A6R")->event_id, want);
        /* ids are unique */
        for (size_t i = 0; i < 2000; i++)
                for (size_t j = i + 1; j < real.n_events; j++)
                        if (!strcmp(real.events[i].event_id,
                                    real.events[j].event_id))
                                fail_msg("duplicate id at %zu, %zu", i, j);
        pd_arena_term(&arena);
}

static void test_dataset_selection(void **state)
{
        NEED_REAL();
        pd_arena_t arena;
        pd_import_result_t res;
        char err[256];
        pd_arena_init(&arena);
        pd_import_result_init(&res);
        assert_int_equal(pd_import_dir(data_dir(), "nps-csat-mock,maven-crm",
                                       &arena, &res, err, sizeof(err)),
                         PD_OK);
        assert_int_equal(res.n_datasets, 2);
        assert_int_equal(res.n_events, 4238 + 200);
        pd_import_result_init(&res);
        assert_int_equal(pd_import_dir(data_dir(), "maven-crm,nope", &arena,
                                       &res, err, sizeof(err)),
                         PD_ERR_INVALID);
        assert_non_null(strstr(err, "unknown dataset 'nope'"));
        pd_arena_term(&arena);
}

/* ---- small broken exports ---------------------------------------------- */

static char tmp_root[64];

static void write_file(const char *dataset, const char *file, const char *text)
{
        char path[256];
        snprintf(path, sizeof(path), "%s/%s", tmp_root, dataset);
        mkdir(path, 0700);
        snprintf(path, sizeof(path), "%s/%s/%s", tmp_root, dataset, file);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(text, fp);
        fclose(fp);
}

static void remove_tree(void)
{
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp_root);
        assert_int_equal(system(cmd), 0);
}

static void write_broken_data(void)
{
        snprintf(tmp_root, sizeof(tmp_root), "/tmp/test_import_XXXXXX");
        assert_non_null(mkdtemp(tmp_root));
        write_file("nps-csat-mock", "nps_responses.csv",
                   "response_id,date,customer_id,score,feedback\n"
                   "1,2025-04-07,C1,11,too high\n"
                   "2,2025-04-07,C2,7.5,not an integer\n"
                   "3,2025-04-07,C3,,empty\n"
                   "4,2025-02-30,C4,8,bad date\n"
                   "5,2025-04-07,C5,0,\"fine, \"\"zero\"\"\"\n");
        write_file("nps-csat-mock", "csat_responses.csv",
                   "response_id,date,customer_id,score,feedback\n"
                   "1,2025-04-07,C1,0,below scale\n"
                   "2,2025-04-07,C2,5,ok\n");
        write_file("nps-csat-mock", "ces_responses.csv",
                   "response_id,date,customer_id,score\n1,2025-04-07,C1,3\n");
        write_file("maven-crm", "accounts.csv",
                   "account,sector,year_established,revenue,employees,"
                   "office_location,subsidiary_of\n"
                   "Acme,technolgy,1990,10.5,100,Philipines,\n");
        write_file("maven-crm", "products.csv",
                   "product,series,sales_price\nGTX Pro,GTX,4821\n");
        write_file("maven-crm", "sales_teams.csv",
                   "sales_agent,manager,regional_office\nAl,Bo,West\n");
        write_file("maven-crm", "sales_pipeline.csv",
                   "opportunity_id,sales_agent,product,account,deal_stage,"
                   "engage_date,close_date,close_value\r\n"
                   "A1,Al,GTXPro,,Won,2017-01-01,2017-02-01,100\r\n"
                   "A2,Al,,Acme,Won,2017-01-01,2017-02-01,100\r\n"
                   "A3,Al,GTXPro,Acme,Won,2017-01-01,,100\r\n"
                   "A4,Al,GTX Ultra,Acme,Won,2017-01-01,2017-02-01,100\r\n"
                   "A5,Al,GTXPro,,Engaging,2017-01-01,,\r\n"
                   "A6,Al,gtx  pro,Acme,Won,2017-01-01,2017-02-01,4000\r\n"
                   "A7,Al,GTXPro,Acme,Won,2017-01-01,2017-02-01,\r\n");
}

static void test_broken_rows_rejected_with_line(void **state)
{
        pd_arena_t arena;
        pd_import_result_t res;
        char err[256], *log = NULL;
        size_t log_len = 0;
        write_broken_data();
        pd_arena_init(&arena);
        pd_import_result_init(&res);
        res.log = open_memstream(&log, &log_len);
        res.log_max = 2;
        assert_int_equal(
            pd_import_dir(tmp_root, NULL, &arena, &res, err, sizeof(err)),
            PD_OK);
        fclose(res.log);

        static const char *const lines[] = {
            "nps_responses.csv:2: score: not an integer 0-10 ('11')",
            "nps_responses.csv:3: score: not an integer 0-10 ('7.5')",
            "nps-csat-mock/nps_responses.csv: score: not an integer 0-10: "
            "further rows only counted",
            "nps_responses.csv:5: date: not a date (YYYY-MM-DD) "
            "('2025-02-30')",
            "csat_responses.csv:2: score: not an integer 1-5 ('0')",
            "sales_pipeline.csv:2: account: empty on a won deal",
            "sales_pipeline.csv:3: product: empty on a won deal",
            "sales_pipeline.csv:4: close_date: empty on a won deal",
            "sales_pipeline.csv:5: product: not in products.csv ('GTX Ultra')",
            "sales_pipeline.csv:8: close_value: empty on a won deal",
        };
        for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
                if (!strstr(log, lines[i]))
                        fail_msg("log lacks \"%s\":\n%s", lines[i], log);
        assert_null(strstr(log, ":4: score")); /* capped at 2 per reason */
        const pd_import_reason_t *r =
            reason(res.rejects, res.n_rejects, "nps-csat-mock",
                   "score: not an integer 0-10");
        assert_int_equal(r->n, 3); /* 11, 7.5 and empty all counted */
        assert_int_equal(ds(&res, "nps-csat-mock")->rejected, 5);
        assert_int_equal(ds(&res, "nps-csat-mock")->surveys[PD_SURVEY_NPS], 1);
        assert_int_equal(ds(&res, "nps-csat-mock")->surveys[PD_SURVEY_CSAT], 1);
        assert_int_equal(ds(&res, "nps-csat-mock")->skipped, 1);
        assert_int_equal(ds(&res, "maven-crm")->rejected, 5);
        assert_int_equal(ds(&res, "maven-crm")->skipped, 1);
        assert_int_equal(ds(&res, "maven-crm")->events[PD_EV_SALE_CLOSED], 1);

        const pd_event_t *ev = find(&res, PD_EV_SALE_CLOSED, "A6");
        assert_string_equal(ev->u.sale.products.v[0], "GTX Pro");
        assert_string_equal(ev->u.sale.sector, "technology");
        assert_string_equal(ev->u.sale.country, "PH");
        assert_string_equal(ev->u.sale.time_zone, "Asia/Manila");
        assert_string_equal(ev->u.sale.region, "West");
        assert_true(ev->u.sale.revenue == 10.5);
        assert_int_equal(ev->u.sale.employees, 100);
        /* absent folders are noted, not errors */
        assert_false(ds(&res, "ravenstack-saas")->present);
        assert_non_null(strstr(ds(&res, "ravenstack-saas")->note, "no folder"));
        assert_false(ds(&res, "it-tickets-bueck")->present);
        free(log);
        pd_arena_term(&arena);
        remove_tree();
}

static void test_missing_column_is_config_error(void **state)
{
        pd_arena_t arena;
        pd_import_result_t res;
        char err[256] = "";
        snprintf(tmp_root, sizeof(tmp_root), "/tmp/test_import_XXXXXX");
        assert_non_null(mkdtemp(tmp_root));
        write_file("nps-csat-mock", "nps_responses.csv",
                   "response_id,date,customer,score\n1,2025-04-07,C1,9\n");
        pd_arena_init(&arena);
        pd_import_result_init(&res);
        assert_int_equal(pd_import_dir(tmp_root, "nps-csat-mock", &arena, &res,
                                       err, sizeof(err)),
                         PD_ERR_CONFIG);
        assert_non_null(strstr(err, "nps-csat-mock/nps_responses.csv:1: "
                                    "header: no column 'customer_id'"));
        pd_arena_term(&arena);
        remove_tree();
}

/* ---- the sample generator ---------------------------------------------- */

static void test_sample(void **state)
{
        pd_arena_t arena;
        pd_import_result_t a, b, c;
        char err[256];
        pd_arena_init(&arena);
        pd_import_result_init(&a);
        pd_import_result_init(&b);
        pd_import_result_init(&c);
        assert_int_equal(pd_import_generate_sample(7, 40, &arena, &a), PD_OK);
        assert_int_equal(pd_import_generate_sample(7, 40, &arena, &b), PD_OK);
        assert_int_equal(pd_import_generate_sample(8, 40, &arena, &c), PD_OK);

        for (int k = 0; k < PD_EV__CNT; k++)
                if (!pd_import_count(&a, k))
                        fail_msg("no %s in the sample", pd_event_kind_name(k));
        assert_int_equal(a.n_events, b.n_events);
        for (size_t i = 0; i < a.n_events; i++) {
                assert_string_equal(a.events[i].event_id, b.events[i].event_id);
                assert_int_equal(a.events[i].occurred_at,
                                 b.events[i].occurred_at);
                if (pd_event_validate(&a.events[i], err, sizeof(err)))
                        fail_msg("sample event %zu: %s", i, err);
                if (i)
                        assert_true(a.events[i].occurred_at >=
                                    a.events[i - 1].occurred_at);
        }
        assert_string_not_equal(a.events[0].event_id, c.events[0].event_id);

        const char *langs[] = {"en", "de", "es", "fr", "it", "pt"};
        for (size_t l = 0; l < 6; l++) {
                bool seen = false;
                for (size_t i = 0; i < a.n_events; i++)
                        seen |=
                            a.events[i].kind == PD_EV_TICKET_OPENED &&
                            !strcmp(a.events[i].u.ticket.language, langs[l]);
                if (!seen)
                        fail_msg("no ticket in %s", langs[l]);
        }
        /* sales lean to each of the four personas */
        const char *goals[] = {"out-of-the-box", "brand", "integrate",
                               "benchmarking"};
        for (size_t g = 0; g < 4; g++) {
                bool seen = false;
                for (size_t i = 0; i < a.n_events; i++) {
                        const pd_event_t *ev = &a.events[i];
                        const char *goal =
                            ev->kind == PD_EV_SALE_CLOSED
                                ? pd_kvs_get(&ev->u.sale.checkpoints,
                                             "main_goal")
                                : NULL;
                        seen |= goal && strstr(goal, goals[g]);
                }
                if (!seen)
                        fail_msg("no sale leaning to \"%s\"", goals[g]);
        }
        assert_int_equal(a.datasets[0].events[PD_EV_SALE_CLOSED], 40);
        pd_arena_term(&arena);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_counts),
            cmocka_unit_test(test_events_valid),
            cmocka_unit_test(test_gtxpro_normalised),
            cmocka_unit_test(test_maven_sale_mapping),
            cmocka_unit_test(test_sector_and_country_typos),
            cmocka_unit_test(test_truncated_bueck_row_rejected),
            cmocka_unit_test(test_empty_account_not_won_is_skip),
            cmocka_unit_test(test_ces_skipped),
            cmocka_unit_test(test_ticket_text_from_bueck),
            cmocka_unit_test(test_renewal_rule),
            cmocka_unit_test(test_churn_and_surveys),
            cmocka_unit_test(test_event_time_order),
            cmocka_unit_test(test_deterministic_ids),
            cmocka_unit_test(test_dataset_selection),
            cmocka_unit_test(test_broken_rows_rejected_with_line),
            cmocka_unit_test(test_missing_column_is_config_error),
            cmocka_unit_test(test_sample),
        };
        return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
