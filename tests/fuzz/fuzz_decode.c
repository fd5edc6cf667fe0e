/* libFuzzer target: the Avro decoders.  The first input byte picks the
 * schema; the rest is the Avro body, framed here with the right magic byte
 * and schema id so the fuzzer spends its time inside the datum (a wrong
 * frame is one branch the unit tests already cover).  Any crash, leak,
 * out-of-bounds access or undefined behaviour is a finding; a clean
 * PD_ERR_DECODE/PD_ERR_INVALID is the expected outcome for most inputs. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static pd_codec_t *codec;
static pd_arena_t arena;

/* The codec is made once, before any input: avro-c's schema and value
 * set-up is not what is being fuzzed, and libFuzzer's per-input leak
 * check would otherwise count it against the first input. */
static void cleanup(void)
{
        pd_codec_destroy(codec);
        pd_arena_term(&arena);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
        char errstr[512];
        if (pd_codec_new(NULL, &codec, errstr, sizeof(errstr)))
                abort();
        atexit(cleanup);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        char errstr[512];
        if (size < 1)
                return 0;
        pd_schema_t which = (pd_schema_t)(data[0] % PD_SCHEMA__CNT);
        size_t len        = size - 1 + 5;
        unsigned char *buf = malloc(len);
        if (!buf)
                return 0;
        int32_t id = (int32_t)which + 1; /* pd_codec_new(NULL) ids */
        buf[0]     = 0;
        buf[1]     = (unsigned char)(id >> 24);
        buf[2]     = (unsigned char)(id >> 16);
        buf[3]     = (unsigned char)(id >> 8);
        buf[4]     = (unsigned char)id;
        memcpy(buf + 5, data + 1, size - 1);
        union {
                pd_event_t ev;
                pd_marker_t m;
                pd_plan_t plan;
                pd_action_t action;
                pd_pstate_t ps;
        } out;
        switch (which) {
        case PD_SCHEMA_LIFECYCLE:
                pd_codec_event_decode(codec, buf, len, &arena, &out.ev,
                                      errstr, sizeof(errstr));
                break;
        case PD_SCHEMA_MARKER:
                pd_codec_marker_decode(codec, buf, len, &arena, &out.m,
                                       errstr, sizeof(errstr));
                break;
        case PD_SCHEMA_PLAN:
                pd_codec_plan_decode(codec, buf, len, &arena, &out.plan,
                                     errstr, sizeof(errstr));
                break;
        case PD_SCHEMA_ACTION:
                pd_codec_action_decode(codec, buf, len, &arena, &out.action,
                                       errstr, sizeof(errstr));
                break;
        default:
                pd_codec_pstate_decode(codec, buf, len, &arena, &out.ps,
                                       errstr, sizeof(errstr));
                break;
        }
        pd_arena_reset(&arena);
        free(buf);
        return 0;
}
