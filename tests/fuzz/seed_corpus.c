/* Writes a seed corpus for the fuzz targets: every generated sample event,
 * and the markers, plans and actions the engine makes of them, each as the
 * fuzz_decode input format (schema selector byte + Avro body), plus a few
 * CSV files cut from the real exports' shapes.
 *
 *   seed_corpus DECODE_DIR CSV_DIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "import.h"

static int write_seed(const char *dir, int n, pd_schema_t which,
                      const pd_buf_t *buf)
{
        char path[1024];
        snprintf(path, sizeof(path), "%s/seed-%d-%06d", dir, (int)which, n);
        FILE *fp = fopen(path, "wb");
        if (!fp)
                return -1;
        unsigned char sel = (unsigned char)which;
        fwrite(&sel, 1, 1, fp);
        fwrite(buf->data + 5, 1, buf->len - 5, fp); /* without the frame */
        return fclose(fp);
}

static const char *csv_seeds[] = {
    "a,b,c\n1,2,3\n",
    "subject,body\n\"quoted, with comma\",\"line\nbreak\"\r\nx,\"\"\"q\"\"\"\n",
    "opportunity_id,sales_agent,product\n1C1I7A6R,Moses Frase,GTXPro\n",
    "k,v\n\"unterminated,1\n",
    ",,\n,,\n",
};

int main(int argc, char **argv)
{
        char errstr[512];
        pd_codec_t *codec;
        pd_arena_t arena;
        pd_import_result_t res;
        pd_buf_t buf;
        if (argc != 3) {
                fprintf(stderr, "usage: seed_corpus DECODE_DIR CSV_DIR\n");
                return 2;
        }
        if (pd_codec_new(NULL, &codec, errstr, sizeof(errstr)))
                return 1;
        pd_arena_init(&arena);
        pd_buf_init(&buf);
        pd_import_result_init(&res);
        if (pd_import_generate_sample(7, 40, &arena, &res))
                return 1;
        int n = 0;
        for (size_t i = 0; i < res.n_events && n < 400; i++)
                if (!pd_codec_event_encode(codec, &res.events[i], &buf))
                        write_seed(argv[1], n++, PD_SCHEMA_LIFECYCLE, &buf);
        /* One of each output schema, so the fuzzer starts inside them. */
        pd_marker_t m = {.customer_id = "c-1",
                         .model_version = 1,
                         .axis = {1, 2, 3, 4},
                         .dominant = PD_AXIS_CONSULTING,
                         .n_evidence = 1,
                         .next_slot = 1,
                         .n_event_ids = 1};
        m.evidence[0] = (pd_evidence_t){"sector:software", PD_AXIS_TECHNICAL,
                                        1.5, "e-1", 1000};
        m.event_ids[0] = "e-1";
        m.plan_id = m.plan_template = m.project_manager = "p";
        m.n_milestones = 1;
        m.milestones[0] = (pd_milestone_t){"kickoff", "project_manager", 5, 0};
        m.n_surveys = 1;
        m.surveys[0] = (pd_survey_result_t){
            .survey_id = "s-1", .kind = PD_SURVEY_NPS, .score = 9, .at = 7};
        if (!pd_codec_marker_encode(codec, &m, &buf))
                write_seed(argv[1], n++, PD_SCHEMA_MARKER, &buf);
        pd_kv_t kv = {"queue", "technical-l2"};
        pd_action_t a = {.action_id = "a",
                         .customer_id = "c-1",
                         .kind = PD_ACT_ROUTE_TICKET,
                         .params = {&kv, 1},
                         .reason = "r",
                         .caused_by = "e-1"};
        if (!pd_codec_action_encode(codec, &a, &buf))
                write_seed(argv[1], n++, PD_SCHEMA_ACTION, &buf);
        pd_team_member_t tm = {"project_manager", "Ana"};
        pd_plan_t plan = {.plan_id = "p",
                          .customer_id = "c-1",
                          .template_id = "t",
                          .project_manager = "Ana",
                          .team = &tm,
                          .n_team = 1,
                          .milestones = &m.milestones[0],
                          .n_milestones = 1,
                          .reason = "r",
                          .caused_by = "e-1"};
        if (!pd_codec_plan_encode(codec, &plan, &buf))
                write_seed(argv[1], n++, PD_SCHEMA_PLAN, &buf);
        pd_pm_load_t load = {"Ana", 3};
        pd_pstate_t ps = {.partition = 1,
                          .stream_time = 5,
                          .loads = &load,
                          .n_loads = 1,
                          .input_offset = 9};
        if (!pd_codec_pstate_encode(codec, &ps, &buf))
                write_seed(argv[1], n++, PD_SCHEMA_PSTATE, &buf);
        for (size_t i = 0; i < sizeof(csv_seeds) / sizeof(csv_seeds[0]); i++) {
                char path[1024];
                snprintf(path, sizeof(path), "%s/seed-%zu.csv", argv[2], i);
                FILE *fp = fopen(path, "wb");
                if (fp) {
                        fputs(csv_seeds[i], fp);
                        fclose(fp);
                }
        }
        printf("seed_corpus: %d decode seeds, %zu csv seeds\n", n,
               sizeof(csv_seeds) / sizeof(csv_seeds[0]));
        pd_buf_term(&buf);
        pd_arena_term(&arena);
        pd_codec_destroy(codec);
        return 0;
}
