/* Integration: bad input lands on customer.lifecycle.dlq byte for byte
 * with Kafka Connect error headers naming the field or step, and the good
 * event after it is still processed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "harness.h"

#define PARTITIONS 4
#define INPUT      "customer.lifecycle"
#define BIG_ID     (100 * 1024)
#define MAX_BYTES  200000 /* message.max.bytes of the worker */

typedef struct bad_s {
        const char *name;
        const char *key; /* NULL: no key */
        unsigned char *value;
        size_t len;
        const char *class_name; /* __connect.errors.exception.class.name */
        const char *message;    /* substring of the exception message */
} bad_t;

static struct {
        char bootstrap[256];
        pd_codec_t *codec;
        pd_arena_t arena;
        bad_t bad[32];
        size_t n_bad;
        pd_event_t good;
} g;

static pd_event_t ticket(const char *customer, const char *n)
{
        pd_event_t ev = {0};
        ev.event_id = pd_uuid5_printf(&g.arena, "it-dlq/%s", n);
        ev.customer_id = customer;
        ev.occurred_at = it_ms(2024, 3, 1, 12, 0);
        ev.source = "it";
        ev.kind = PD_EV_TICKET_OPENED;
        ev.u.ticket.ticket_id = "T-1";
        ev.u.ticket.category = "Incident";
        ev.u.ticket.subject = "Subject";
        ev.u.ticket.text = "Text";
        ev.u.ticket.priority = "medium";
        ev.u.ticket.channel = "email";
        return ev;
}

static unsigned char *copy(const void *p, size_t len)
{
        unsigned char *v = pd_arena_alloc(&g.arena, len ? len : 1);
        memcpy(v, p, len);
        return v;
}

static void add(const char *name, const char *key, const void *value,
                size_t len, const char *class_name, const char *message)
{
        bad_t *b = &g.bad[g.n_bad++];
        b->name = name;
        b->key = key;
        b->value = copy(value, len);
        b->len = len;
        b->class_name = class_name;
        b->message = message;
}

static void encode(const pd_event_t *ev, pd_buf_t *buf)
{
        assert_int_equal(pd_codec_event_encode(g.codec, ev, buf), PD_OK);
}

/* Avro zigzag varint of v into p; returns the bytes written. */
static size_t varint(int64_t v, unsigned char *p)
{
        uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
        size_t n = 0;
        do {
                p[n++] = (unsigned char)((z & 0x7f) | (z > 0x7f ? 0x80 : 0));
                z >>= 7;
        } while (z);
        return n;
}

/* Avro string s (length varint, bytes) into p; returns the bytes written. */
static size_t avro_str(const char *s, unsigned char *p)
{
        size_t n = varint((int64_t)strlen(s), p);
        memcpy(p + n, s, strlen(s));
        return n + strlen(s);
}

/* Framing (schema id 1), then the LifecycleEvent fields before payload. */
static size_t event_head(const char *customer, const char *n, unsigned char *p)
{
        size_t k = 0;
        p[k++] = 0, p[k++] = 0, p[k++] = 0, p[k++] = 0, p[k++] = 1;
        k += avro_str(pd_uuid5_printf(&g.arena, "it-dlq/%s", n), p + k);
        k += avro_str(customer, p + k);
        k += varint(it_ms(2024, 3, 1, 12, 0), p + k);
        k += avro_str("it", p + k);
        return k;
}

/* Hand-made Avro that no encoder would write: lengths, unions, records
 * cut short.  Each names the decoding step that refused it. */
static void build_raw_cases(void)
{
        unsigned char raw[256];
        size_t n = 0;
        raw[n++] = 0, raw[n++] = 0, raw[n++] = 0, raw[n++] = 0, raw[n++] = 1;
        n += varint(-5, raw + n); /* event_id of length -5 */
        memcpy(raw + n, "abcdefgh", 8);
        n += 8;
        add("negative length", "c-neg", raw, n, "decode",
            "avro: event_id: length -5");

        n = event_head("c-union", "union", raw);
        n += varint(7, raw + n); /* payload has branches 0-6 */
        n += varint(0, raw + n);
        add("union index 7", "c-union", raw, n, "decode",
            "avro: payload: union index 7 out of range");

        n = event_head("c-union-neg", "union-neg", raw);
        n += varint(-1, raw + n);
        add("union index -1", "c-union-neg", raw, n, "decode",
            "avro: payload: union index -1 out of range");

        /* A SaleClosed that ends after its deal_id: the required fields
         * after it (amount, products, ...) are missing. */
        n = event_head("c-cut", "cut", raw);
        n += varint(PD_EV_SALE_CLOSED, raw + n);
        n += avro_str("D-1", raw + n);
        add("missing fields", "c-cut", raw, n, "decode",
            "avro: payload.SaleClosed.products: truncated");

        /* The event head alone: no payload at all. */
        n = event_head("c-nopayload", "nopayload", raw);
        add("missing payload", "c-nopayload", raw, n, "decode",
            "avro: payload: truncated");
}

static void build_cases(void)
{
        pd_buf_t buf;
        pd_event_t ev;
        unsigned char raw[64];
        size_t n;
        pd_buf_init(&buf);
        const char *json = "{\"event_id\":\"x\",\"customer_id\":\"c-json\"}";
        add("json", "c-json", json, strlen(json), "decode",
            "framing: not schema-registry framed Avro (magic byte 0x7b");
        add("empty", "c-empty", "", 0, "decode", "framing: empty value");

        ev = ticket("c-noframe", "noframe");
        encode(&ev, &buf);
        add("no framing", "c-noframe", buf.data + 5, buf.len - 5, "decode",
            "framing: not schema-registry framed Avro");
        ev = ticket("c-schema", "schema");
        encode(&ev, &buf);
        buf.data[1] = 0, buf.data[2] = 0, buf.data[3] = 0, buf.data[4] = 99;
        add("wrong schema id", "c-schema", buf.data, buf.len, "decode",
            "framing: schema id 99 is not LifecycleEvent");
        ev = ticket("c-trunc", "trunc");
        encode(&ev, &buf);
        add("truncated", "c-trunc", buf.data, buf.len / 2, "decode",
            "avro: occurred_at: truncated");

        /* Framing, then event_id claiming 1 GB of string. */
        n = 0;
        raw[n++] = 0, raw[n++] = 0, raw[n++] = 0, raw[n++] = 0, raw[n++] = 1;
        n += varint(1000000000, raw + n);
        memcpy(raw + n, "abcdef", 6);
        n += 6;
        add("huge string length", "c-huge", raw, n, "decode",
            "avro: event_id: length 1000000000 outside the 6 bytes left");

        ev = (pd_event_t){0};
        ev.event_id = pd_uuid5_printf(&g.arena, "it-dlq/nps11");
        ev.customer_id = "c-nps";
        ev.occurred_at = it_ms(2024, 3, 1, 12, 0);
        ev.source = "it";
        ev.kind = PD_EV_SURVEY_RETURNED;
        ev.u.survey.kind = PD_SURVEY_NPS;
        ev.u.survey.score = 11;
        encode(&ev, &buf);
        add("nps 11", "c-nps", buf.data, buf.len, "invalid",
            "payload.SurveyReturned.score: 11 outside");

        ev = ticket("", "emptycust");
        encode(&ev, &buf);
        add("empty customer id", "", buf.data, buf.len, "invalid",
            "customer_id");
        ev = ticket("c-nullkey", "nullkey");
        encode(&ev, &buf);
        add("null key", NULL, buf.data, buf.len, "key", "key: missing");
        ev = ticket("c-keydiff", "keydiff");
        encode(&ev, &buf);
        add("key != customer_id", "c-other", buf.data, buf.len, "key",
            "key: differs");

        /* Another customer's id as the key: must not touch that
         * customer (c-good, processed last, has exactly one event). */
        ev = ticket("c-keyother", "keyother");
        encode(&ev, &buf);
        add("key of another customer", "c-good", buf.data, buf.len, "key",
            "key: differs");

        /* 100 kB of customer id: within message.max.bytes, so refused by
         * the field's own limit (it would be a store key). */
        char *cid = pd_arena_alloc(&g.arena, BIG_ID + 1);
        memset(cid, 'c', BIG_ID);
        cid[BIG_ID] = '\0';
        ev = ticket(cid, "bigid");
        encode(&ev, &buf);
        assert_true(buf.len < MAX_BYTES);
        add("100 kB customer id", cid, buf.data, buf.len, "invalid",
            "customer_id: 102400 bytes, limit 256");

        ev = ticket("c-big", "big");
        char *text = pd_arena_alloc(&g.arena, 2 * MAX_BYTES + 1);
        memset(text, 'x', 2 * MAX_BYTES);
        text[2 * MAX_BYTES] = '\0';
        ev.u.ticket.text = text;
        encode(&ev, &buf);
        add("oversized", "c-big", buf.data, buf.len, "oversized",
            "limit message.max.bytes=200000");
        build_raw_cases();
        pd_buf_term(&buf);
        g.good = ticket("c-good", "good");
}

static int setup(void **state)
{
        (void)state;
        return it_setup(PARTITIONS, g.bootstrap, sizeof(g.bootstrap), &g.arena,
                        &g.codec);
}

static int teardown(void **state)
{
        (void)state;
        it_teardown(&g.arena, g.codec);
        return 0;
}

static void check_dlq_record(const it_record_t *r, const bad_t *b,
                             int64_t offset)
{
        const char *v;
        if (getenv("IT_VERBOSE"))
                fprintf(stderr, "dlq %s: %s\n", b->name,
                        pd_kvs_get(&r->headers,
                                   "__connect.errors.exception.message"));
        /* Byte for byte: key and value. */
        if (b->key) {
                assert_non_null(r->key);
                assert_int_equal(r->key_len, strlen(b->key));
                assert_memory_equal(r->key, b->key, r->key_len);
        } else {
                assert_null(r->key);
        }
        assert_int_equal(r->len, b->len);
        if (b->len)
                assert_memory_equal(r->value, b->value, b->len);
        assert_string_equal(pd_kvs_get(&r->headers, "__connect.errors.topic"),
                            INPUT);
        assert_string_equal(
            pd_kvs_get(&r->headers, "__connect.errors.partition"), "0");
        v = pd_kvs_get(&r->headers, "__connect.errors.offset");
        assert_non_null(v);
        assert_int_equal(strtoll(v, NULL, 10), offset);
        assert_string_equal(
            pd_kvs_get(&r->headers, "__connect.errors.exception.class.name"),
            b->class_name);
        v = pd_kvs_get(&r->headers, "__connect.errors.exception.message");
        assert_non_null(v);
        assert_true(strlen(v) > 0);
        if (!strstr(v, b->message))
                fail_msg("%s: message \"%s\" lacks \"%s\"", b->name, v,
                         b->message);
}

static void test_dead_letters(void **state)
{
        char errstr[512], store[512], metrics[600], log[600];
        pd_kafka_producer_t *producer = NULL;
        (void)state;
        build_cases();
        assert_int_equal(pd_kafka_producer_new(g.bootstrap, NULL, &producer,
                                               errstr, sizeof(errstr)),
                         PD_OK);
        /* All on partition 0, in order: the i-th bad input is offset i. */
        for (size_t i = 0; i < g.n_bad; i++) {
                const bad_t *b = &g.bad[i];
                assert_int_equal(pd_kafka_produce(producer, INPUT, 0, b->key,
                                                  b->key ? strlen(b->key) : 0,
                                                  b->value, b->len),
                                 PD_OK);
                assert_int_equal(pd_kafka_producer_flush(
                                     producer, 30000, errstr, sizeof(errstr)),
                                 PD_OK);
        }
        assert_int_equal(it_produce_event(producer, g.codec, INPUT, 0, &g.good),
                         0);
        assert_int_equal(
            pd_kafka_producer_flush(producer, 30000, errstr, sizeof(errstr)),
            PD_OK);
        pd_kafka_producer_destroy(producer);

        it_mkdtemp("dlq-store", store, sizeof(store));
        snprintf(metrics, sizeof(metrics), "%s/metrics.json", store);
        snprintf(log, sizeof(log), "%s/worker.log", store);
        it_worker_t w = {.bootstrap = g.bootstrap,
                         .group = "it-dlq",
                         .instance = "w1",
                         .store = store,
                         .metrics = metrics,
                         .log = log,
                         .idle_exit_ms = IT_IDLE_MS,
                         .extra = {"message.max.bytes=200000"}};
        int rc = it_worker_run(&w, 600000); /* valgrind: slow */
        assert_int_equal(rc, 0);
        /* Under valgrind (valgrind.it_dlq): it really ran, and found no
         * error and no leak on any of the error paths above. */
        const char *wrap = getenv("IT_WORKER_WRAP");
        if (wrap && strstr(wrap, "valgrind")) {
                assert_int_equal(it_wait_log(log, 0, "Memcheck", 0), 0);
                assert_int_equal(
                    it_wait_log(log, 0, "ERROR SUMMARY: 0 errors", 0), 0);
        }

        it_records_t dlq;
        assert_int_equal(it_read(g.bootstrap, "customer.lifecycle.dlq", &dlq),
                         0);
        assert_int_equal(dlq.n, g.n_bad);
        /* The DLQ is keyed like the input, so its records spread over
         * its partitions: match them to the inputs by the offset header,
         * each input exactly once. */
        bool seen[32] = {false};
        for (size_t i = 0; i < dlq.n; i++) {
                const char *off =
                    pd_kvs_get(&dlq.v[i].headers, "__connect.errors.offset");
                assert_non_null(off);
                long long o = strtoll(off, NULL, 10);
                assert_true(o >= 0 && o < (long long)g.n_bad);
                assert_false(seen[o]);
                seen[o] = true;
                check_dlq_record(&dlq.v[i], &g.bad[o], o);
        }
        it_records_free(&dlq);

        assert_int_equal(it_metric(metrics, "consumed"),
                         (long long)g.n_bad + 1);
        assert_int_equal(it_metric(metrics, "dead_lettered"),
                         (long long)g.n_bad);
        assert_int_equal(it_metric(metrics, "applied"), 1);

        /* Processing continued: the good ticket was routed. */
        it_outputs_t out;
        assert_int_equal(it_outputs_read(g.bootstrap, g.codec, &out), 0);
        assert_int_equal(out.n_actions, 1);
        assert_int_equal(out.actions[0].kind, PD_ACT_ROUTE_TICKET);
        assert_string_equal(
            out.actions[0].action_id,
            pd_uuid5_printf(&g.arena, "%s/route_ticket", g.good.event_id));
        assert_non_null(it_outputs_marker(&out, "c-good"));
        assert_int_equal(out.n_latest, 1);
        it_outputs_free(&out);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_dead_letters),
        };
        return cmocka_run_group_tests(tests, setup, teardown);
}
