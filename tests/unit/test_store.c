/* Tests of the LMDB state store (src/store.c) in a fresh mkdtemp directory:
 * markers, the timer index (ordering, partitions, moving and clearing a
 * customer's timer), partition state, changelog offsets, abort, read-only
 * snapshots, persistence across reopen, iteration, growing the map and
 * clearing the readers of killed processes. */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "store.h"

#define MAP_SIZE (4LL * 1024 * 1024)

typedef struct fixture_s {
        char dir[256];
        pd_store_t *store;
} fixture_t;

static void rm_rf(const char *dir)
{
        char path[512];
        const char *files[] = {"data.mdb", "lock.mdb"};
        for (size_t i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "%s/%s", dir, files[i]);
                unlink(path);
        }
        rmdir(dir);
}

static int setup(void **state)
{
        char err[256] = "";
        fixture_t *f = calloc(1, sizeof(*f));
        if (!f)
                return -1;
        snprintf(f->dir, sizeof(f->dir), "/tmp/pd-test-store-XXXXXX");
        if (!mkdtemp(f->dir) ||
            pd_store_open(f->dir, MAP_SIZE, &f->store, err, sizeof(err))) {
                fprintf(stderr, "store: %s\n", err);
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int teardown(void **state)
{
        fixture_t *f = *state;
        pd_store_close(f->store);
        rm_rf(f->dir);
        free(f);
        return 0;
}

static pd_store_txn_t *begin(fixture_t *f, int read_only)
{
        pd_store_txn_t *txn = NULL;
        assert_int_equal(pd_store_txn_begin(f->store, read_only, &txn), PD_OK);
        assert_non_null(txn);
        return txn;
}

static void put(pd_store_txn_t *txn, const char *customer, const char *bytes,
                int32_t partition, int64_t due)
{
        assert_int_equal(pd_store_marker_put(txn, customer, bytes,
                                             strlen(bytes), partition, due),
                         PD_OK);
}

static void expect_marker(pd_store_txn_t *txn, const char *customer,
                          const char *want)
{
        pd_buf_t buf;
        pd_buf_init(&buf);
        pd_err_t e = pd_store_marker_get(txn, customer, &buf);
        if (!want) {
                assert_int_equal(e, PD_ERR_NOT_FOUND);
        } else {
                assert_int_equal(e, PD_OK);
                assert_int_equal(buf.len, strlen(want));
                assert_memory_equal(buf.data, want, buf.len);
        }
        pd_buf_term(&buf);
}

/* ---- markers ----------------------------------------------------------- */

static void test_marker_put_get_del(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        char binary[] = {'\0', 'a', '\xff', '\0', 'b'};
        pd_buf_t buf;
        pd_buf_init(&buf);
        expect_marker(txn, "alice", NULL);
        put(txn, "alice", "v1", 0, 0);
        expect_marker(txn, "alice", "v1"); /* reads its own writes */
        put(txn, "alice", "version-2", 0, 0);
        expect_marker(txn, "alice", "version-2");
        assert_int_equal(
            pd_store_marker_put(txn, "bin", binary, sizeof(binary), 0, 0),
            PD_OK);
        assert_int_equal(pd_store_marker_get(txn, "bin", &buf), PD_OK);
        assert_int_equal(buf.len, sizeof(binary));
        assert_memory_equal(buf.data, binary, sizeof(binary));
        assert_int_equal(pd_store_marker_del(txn, "alice"), PD_OK);
        expect_marker(txn, "alice", NULL);
        /* Deleting what is not there is not an error. */
        assert_int_equal(pd_store_marker_del(txn, "alice"), PD_OK);
        assert_int_equal(pd_store_marker_del(txn, "nobody"), PD_OK);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);
        txn = begin(f, 1);
        expect_marker(txn, "alice", NULL);
        assert_int_equal(pd_store_marker_get(txn, "bin", &buf), PD_OK);
        assert_memory_equal(buf.data, binary, sizeof(binary));
        pd_store_txn_abort(txn);
        pd_buf_term(&buf);
}

static void test_marker_bad_keys(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        char big[600];
        memset(big, 'k', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(pd_store_marker_put(txn, "", "x", 1, 0, 0),
                         PD_ERR_INVALID);
        assert_int_equal(pd_store_marker_put(txn, big, "x", 1, 0, 0),
                         PD_ERR_INVALID);
        expect_marker(txn, "", NULL);
        expect_marker(txn, big, NULL);
        assert_int_equal(pd_store_marker_del(txn, ""), PD_ERR_INVALID);
        /* The longest accepted key (480 bytes) round-trips. */
        big[480] = '\0';
        put(txn, big, "long", 3, 1000);
        expect_marker(txn, big, "long");
        assert_int_equal(pd_store_timer_next(txn, 3), 1000);
        pd_store_txn_abort(txn);
}

/* ---- timers ------------------------------------------------------------ */

typedef struct seen_s {
        char customer[8][32];
        int64_t due[8];
        size_t n;
        int stop_after; /* cb returns non-zero after this many; 0 never */
} seen_t;

static int collect(const char *customer, int64_t due, void *opaque)
{
        seen_t *s = opaque;
        if (s->n < 8) {
                snprintf(s->customer[s->n], sizeof(s->customer[0]), "%s",
                         customer);
                s->due[s->n] = due;
        }
        s->n++;
        return s->stop_after && (int)s->n >= s->stop_after;
}

static size_t due_at(pd_store_txn_t *txn, int32_t partition, int64_t now,
                     size_t max, seen_t *s)
{
        size_t n = 0;
        memset(s, 0, sizeof(*s));
        assert_int_equal(
            pd_store_timers_due(txn, partition, now, max, collect, s, &n),
            PD_OK);
        assert_int_equal(n, s->n);
        return n;
}

struct timer_case {
        const char *customer;
        int32_t partition;
        int64_t due;
};

/* Inserted out of order, across partitions. */
static const struct timer_case timer_cases[] = {
    {"c-late", 1, 5000},  {"c-early", 1, 1000},
    {"c-mid-b", 1, 3000}, {"c-mid-a", 1, 3000},
    {"c-none", 1, 0},     {"p2-only", 2, 500},
    {"p0-first", 0, 100}, {"big-due", 1, (int64_t)1 << 50},
};

static void test_timers_due_ordering(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        seen_t s;
        for (size_t i = 0; i < sizeof(timer_cases) / sizeof(timer_cases[0]);
             i++)
                put(txn, timer_cases[i].customer, "m", timer_cases[i].partition,
                    timer_cases[i].due);
        assert_int_equal(pd_store_timer_next(txn, 0), 100);
        assert_int_equal(pd_store_timer_next(txn, 1), 1000);
        assert_int_equal(pd_store_timer_next(txn, 2), 500);
        assert_int_equal(pd_store_timer_next(txn, 3), 0);
        /* Nothing due before the first. */
        assert_int_equal(due_at(txn, 1, 999, 10, &s), 0);
        /* Earliest first; equal due times by customer id; limit by now. */
        assert_int_equal(due_at(txn, 1, 3000, 10, &s), 3);
        assert_string_equal(s.customer[0], "c-early");
        assert_int_equal(s.due[0], 1000);
        assert_string_equal(s.customer[1], "c-mid-a");
        assert_string_equal(s.customer[2], "c-mid-b");
        assert_int_equal(s.due[2], 3000);
        /* max bounds the batch. */
        assert_int_equal(due_at(txn, 1, 10000, 2, &s), 2);
        assert_string_equal(s.customer[1], "c-mid-a");
        assert_int_equal(due_at(txn, 1, 10000, 0, &s), 0);
        /* Everything up to a far future, never another partition's. */
        assert_int_equal(due_at(txn, 1, INT64_MAX, 100, &s), 5);
        assert_string_equal(s.customer[3], "c-late");
        assert_string_equal(s.customer[4], "big-due");
        assert_int_equal(s.due[4], (int64_t)1 << 50);
        assert_int_equal(due_at(txn, 0, INT64_MAX, 100, &s), 1);
        assert_string_equal(s.customer[0], "p0-first");
        assert_int_equal(due_at(txn, 2, INT64_MAX, 100, &s), 1);
        assert_string_equal(s.customer[0], "p2-only");
        assert_int_equal(due_at(txn, 7, INT64_MAX, 100, &s), 0);
        pd_store_txn_abort(txn);
}

static void test_timer_move_and_clear(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        seen_t s;
        put(txn, "cust", "m1", 4, 1000);
        put(txn, "other", "m", 4, 2000);
        assert_int_equal(pd_store_timer_next(txn, 4), 1000);
        /* Moving the timer later removes the old entry. */
        put(txn, "cust", "m2", 4, 3000);
        assert_int_equal(pd_store_timer_next(txn, 4), 2000);
        assert_int_equal(due_at(txn, 4, INT64_MAX, 10, &s), 2);
        assert_string_equal(s.customer[0], "other");
        assert_string_equal(s.customer[1], "cust");
        assert_int_equal(s.due[1], 3000);
        /* Moving it to another partition (the partition changed). */
        put(txn, "cust", "m3", 5, 1500);
        assert_int_equal(due_at(txn, 4, INT64_MAX, 10, &s), 1);
        assert_string_equal(s.customer[0], "other");
        assert_int_equal(pd_store_timer_next(txn, 5), 1500);
        /* due 0 clears it. */
        put(txn, "cust", "m4", 5, 0);
        assert_int_equal(pd_store_timer_next(txn, 5), 0);
        expect_marker(txn, "cust", "m4");
        /* Deleting the marker clears its timer. */
        assert_int_equal(pd_store_marker_del(txn, "other"), PD_OK);
        assert_int_equal(pd_store_timer_next(txn, 4), 0);
        assert_int_equal(due_at(txn, 4, INT64_MAX, 10, &s), 0);
        /* Committed and reread, the index is still consistent. */
        put(txn, "cust", "m5", 4, 700);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);
        txn = begin(f, 1);
        assert_int_equal(pd_store_timer_next(txn, 4), 700);
        assert_int_equal(due_at(txn, 4, INT64_MAX, 10, &s), 1);
        assert_string_equal(s.customer[0], "cust");
        pd_store_txn_abort(txn);
}

/* The callback may rewrite the customer's marker and timer (as the worker
 * does while firing), and a non-zero return stops the walk. */
typedef struct refire_s {
        pd_store_txn_t *txn;
        size_t calls;
} refire_t;

static int refire(const char *customer, int64_t due, void *opaque)
{
        refire_t *r = opaque;
        r->calls++;
        return pd_store_marker_put(r->txn, customer, "fired", 5, 0,
                                   due + 10000) != PD_OK;
}

static void test_timers_due_callback_writes(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        refire_t r = {txn, 0};
        seen_t s;
        size_t n = 0;
        char name[16];
        for (int i = 0; i < 20; i++) {
                snprintf(name, sizeof(name), "c%02d", i);
                put(txn, name, "m", 0, 100 + i);
        }
        assert_int_equal(pd_store_timers_due(txn, 0, 1000, 100, refire, &r, &n),
                         PD_OK);
        assert_int_equal(n, 20);
        assert_int_equal(r.calls, 20);
        assert_int_equal(pd_store_timer_next(txn, 0), 10100);
        assert_int_equal(due_at(txn, 0, 1000, 100, &s), 0);
        expect_marker(txn, "c07", "fired");
        /* Stop early. */
        memset(&s, 0, sizeof(s));
        s.stop_after = 3;
        assert_int_equal(
            pd_store_timers_due(txn, 0, INT64_MAX, 100, collect, &s, &n),
            PD_ERR_ABORT);
        assert_int_equal(s.n, 3);
        pd_store_txn_abort(txn);
}

/* ---- pstate and offsets ------------------------------------------------ */

static void test_pstate(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        pd_buf_t buf;
        pd_buf_init(&buf);
        assert_int_equal(pd_store_pstate_get(txn, 0, &buf), PD_ERR_NOT_FOUND);
        assert_int_equal(pd_store_pstate_put(txn, 0, "zero", 4), PD_OK);
        assert_int_equal(pd_store_pstate_put(txn, 255, "p255", 4), PD_OK);
        assert_int_equal(pd_store_pstate_put(txn, 256, "p256!", 5), PD_OK);
        assert_int_equal(pd_store_pstate_get(txn, 255, &buf), PD_OK);
        assert_int_equal(buf.len, 4);
        assert_memory_equal(buf.data, "p255", 4);
        assert_int_equal(pd_store_pstate_get(txn, 256, &buf), PD_OK);
        assert_int_equal(buf.len, 5);
        assert_int_equal(pd_store_pstate_put(txn, 0, "zero-2", 6), PD_OK);
        assert_int_equal(pd_store_pstate_get(txn, 0, &buf), PD_OK);
        assert_int_equal(buf.len, 6);
        assert_memory_equal(buf.data, "zero-2", 6);
        assert_int_equal(pd_store_pstate_get(txn, 1, &buf), PD_ERR_NOT_FOUND);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);
        pd_buf_term(&buf);
}

struct offset_case {
        const char *topic;
        int32_t partition;
        int64_t offset;
};

static const struct offset_case offset_cases[] = {
    {"customer.persona", 0, 0},          {"customer.persona", 1, 42},
    {"customer.persona", 15, INT64_MAX}, {"persona-dna.partition-state", 1, 7},
    {"customer.persona.v2", 1, 99},
};

static void test_offsets(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        size_t n = sizeof(offset_cases) / sizeof(offset_cases[0]);
        char big[400];
        memset(big, 't', sizeof(big) - 1);
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(pd_store_offset_get(txn, "customer.persona", 0), -1);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(pd_store_offset_put(txn, offset_cases[i].topic,
                                                     offset_cases[i].partition,
                                                     offset_cases[i].offset),
                                 PD_OK);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(pd_store_offset_get(txn, offset_cases[i].topic,
                                                     offset_cases[i].partition),
                                 offset_cases[i].offset);
        assert_int_equal(pd_store_offset_get(txn, "customer.persona", 2), -1);
        assert_int_equal(pd_store_offset_get(txn, "customer.plans", 1), -1);
        /* Overwrite. */
        assert_int_equal(pd_store_offset_put(txn, "customer.persona", 1, 43),
                         PD_OK);
        assert_int_equal(pd_store_offset_get(txn, "customer.persona", 1), 43);
        /* A topic name too long for the key is refused, not truncated. */
        assert_int_equal(pd_store_offset_put(txn, big, 0, 1), PD_ERR_INVALID);
        assert_int_equal(pd_store_offset_get(txn, big, 0), -1);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);
}

/* ---- transactions ------------------------------------------------------ */

static void test_abort_discards(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        put(txn, "keep", "k", 0, 100);
        assert_int_equal(pd_store_offset_put(txn, "t", 0, 5), PD_OK);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);

        txn = begin(f, 0);
        put(txn, "keep", "changed", 0, 50);
        put(txn, "lost", "l", 0, 10);
        assert_int_equal(pd_store_pstate_put(txn, 0, "ps", 2), PD_OK);
        assert_int_equal(pd_store_offset_put(txn, "t", 0, 9), PD_OK);
        assert_int_equal(pd_store_marker_del(txn, "keep"), PD_OK);
        pd_store_txn_abort(txn);
        pd_store_txn_abort(NULL); /* no-op */

        txn = begin(f, 1);
        expect_marker(txn, "keep", "k");
        expect_marker(txn, "lost", NULL);
        assert_int_equal(pd_store_timer_next(txn, 0), 100);
        assert_int_equal(pd_store_offset_get(txn, "t", 0), 5);
        pd_buf_t buf;
        pd_buf_init(&buf);
        assert_int_equal(pd_store_pstate_get(txn, 0, &buf), PD_ERR_NOT_FOUND);
        pd_buf_term(&buf);
        pd_store_txn_abort(txn);
}

static void test_read_only(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        put(txn, "a", "1", 0, 0);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);

        /* A snapshot does not see later commits. */
        pd_store_txn_t *ro = begin(f, 1);
        txn = begin(f, 0);
        put(txn, "a", "2", 0, 0);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);
        expect_marker(ro, "a", "1");
        /* Writes in a read-only transaction fail cleanly. */
        assert_int_not_equal(pd_store_marker_put(ro, "b", "x", 1, 0, 0), PD_OK);
        assert_int_not_equal(pd_store_offset_put(ro, "t", 0, 1), PD_OK);
        assert_int_not_equal(pd_store_pstate_put(ro, 0, "x", 1), PD_OK);
        pd_store_txn_abort(ro);
        ro = begin(f, 1);
        expect_marker(ro, "a", "2");
        expect_marker(ro, "b", NULL);
        /* Committing a read-only transaction is allowed. */
        assert_int_equal(pd_store_txn_commit(ro), PD_OK);
}

static void test_reopen_persists(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        char err[256] = "";
        pd_buf_t buf;
        pd_buf_init(&buf);
        put(txn, "durable", "marker-bytes", 3, 12345);
        assert_int_equal(pd_store_pstate_put(txn, 3, "pstate", 6), PD_OK);
        assert_int_equal(pd_store_offset_put(txn, "customer.persona", 3, 77),
                         PD_OK);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);
        pd_store_close(f->store);
        f->store = NULL;
        assert_int_equal(
            pd_store_open(f->dir, MAP_SIZE, &f->store, err, sizeof(err)),
            PD_OK);
        txn = begin(f, 1);
        expect_marker(txn, "durable", "marker-bytes");
        assert_int_equal(pd_store_timer_next(txn, 3), 12345);
        assert_int_equal(pd_store_pstate_get(txn, 3, &buf), PD_OK);
        assert_memory_equal(buf.data, "pstate", 6);
        assert_int_equal(pd_store_offset_get(txn, "customer.persona", 3), 77);
        pd_store_txn_abort(txn);
        pd_buf_term(&buf);
        pd_store_close(NULL); /* no-op */
}

static void test_open_errors(void **state)
{
        pd_store_t *store = (pd_store_t *)1;
        char err[256] = "";
        assert_int_equal(pd_store_open("/proc/no/such/dir/store", MAP_SIZE,
                                       &store, err, sizeof(err)),
                         PD_ERR_STORE);
        assert_null(store);
        assert_non_null(strstr(err, "/proc/no/such/dir/store"));
}

/* ---- iteration and growth ---------------------------------------------- */

typedef struct each_s {
        char names[16][16];
        size_t n;
        size_t stop_at;
} each_t;

static int each(const char *customer, const void *bytes, size_t len,
                void *opaque)
{
        each_t *e = opaque;
        if (e->n < 16)
                snprintf(e->names[e->n], sizeof(e->names[0]), "%s", customer);
        assert_int_equal(len, strlen(customer) + 2);
        assert_memory_equal(bytes, "m:", 2);
        e->n++;
        return e->stop_at && e->n >= e->stop_at;
}

static void test_markers_foreach(void **state)
{
        fixture_t *f = *state;
        pd_store_txn_t *txn = begin(f, 0);
        const char *names[] = {"zed", "amy", "bob", "carl"};
        char val[32];
        each_t e = {0};
        assert_int_equal(pd_store_markers_foreach(txn, each, &e), PD_OK);
        assert_int_equal(e.n, 0);
        for (size_t i = 0; i < 4; i++) {
                snprintf(val, sizeof(val), "m:%s", names[i]);
                put(txn, names[i], val, 0, (int64_t)i + 1);
        }
        assert_int_equal(pd_store_markers_foreach(txn, each, &e), PD_OK);
        assert_int_equal(e.n, 4);
        assert_string_equal(e.names[0], "amy"); /* key order */
        assert_string_equal(e.names[3], "zed");
        memset(&e, 0, sizeof(e));
        e.stop_at = 2;
        assert_int_equal(pd_store_markers_foreach(txn, each, &e), PD_OK);
        assert_int_equal(e.n, 2);
        pd_store_txn_abort(txn);
}

/* Fill the 4 MiB map until it is full, grow, and carry on. */
static void test_grow(void **state)
{
        fixture_t *f = *state;
        char name[32], err[256] = "";
        char *blob = calloc(1, 64 * 1024);
        pd_err_t e = PD_OK;
        int i;
        assert_non_null(blob);
        pd_store_txn_t *txn = begin(f, 0);
        for (i = 0; i < 200 && !e; i++) {
                snprintf(name, sizeof(name), "blob-%03d", i);
                e = pd_store_marker_put(txn, name, blob, 64 * 1024, 0, 0);
        }
        assert_int_equal(e, PD_ERR_STORE_FULL);
        pd_store_txn_abort(txn);
        assert_int_equal(pd_store_grow(f->store, err, sizeof(err)), PD_OK);
        assert_int_equal(pd_store_grow(f->store, err, sizeof(err)), PD_OK);
        txn = begin(f, 0);
        for (int j = 0; j < i; j++) {
                snprintf(name, sizeof(name), "blob-%03d", j);
                assert_int_equal(
                    pd_store_marker_put(txn, name, blob, 64 * 1024, 0, 0),
                    PD_OK);
        }
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);
        pd_buf_t buf;
        pd_buf_init(&buf);
        txn = begin(f, 1);
        snprintf(name, sizeof(name), "blob-%03d", i - 1);
        assert_int_equal(pd_store_marker_get(txn, name, &buf), PD_OK);
        assert_int_equal(buf.len, 64 * 1024);
        pd_store_txn_abort(txn);
        pd_buf_term(&buf);
        free(blob);
}

/* A child that opens the store, with a read transaction open when txn,
 * and waits to be killed (SIGKILL: LMDB never hears of it).  Returns its
 * pid once the store (and transaction) is open. */
static pid_t store_child(const char *dir, bool txn)
{
        int fds[2];
        char c;
        assert_int_equal(pipe(fds), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char err[256];
                pd_store_t *store;
                pd_store_txn_t *rtxn;
                close(fds[0]);
                if (pd_store_open(dir, MAP_SIZE, &store, err, sizeof(err)) ||
                    (txn && pd_store_txn_begin(store, 1, &rtxn)) ||
                    write(fds[1], "r", 1) != 1)
                        _exit(1);
                for (;;)
                        pause();
        }
        close(fds[1]);
        assert_int_equal(read(fds[0], &c, 1), 1);
        close(fds[0]);
        return pid;
}

static void kill_child(pid_t pid)
{
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* pd_store_open with stderr (the log) captured into out. */
static pd_err_t open_logged(fixture_t *f, char *out, size_t size)
{
        char err[256] = "", path[300];
        snprintf(path, sizeof(path), "%s.log", f->dir);
        fflush(stderr);
        int saved = dup(2);
        int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
        assert_true(saved >= 0 && fd >= 0);
        dup2(fd, 2);
        close(fd);
        pd_err_t e =
            pd_store_open(f->dir, MAP_SIZE, &f->store, err, sizeof(err));
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        FILE *fp = fopen(path, "r");
        assert_non_null(fp);
        size_t n = fread(out, 1, size - 1, fp);
        out[n] = '\0';
        fclose(fp);
        unlink(path);
        return e;
}

static void reopen_logged(fixture_t *f, char *out, size_t size)
{
        pd_store_close(f->store);
        f->store = NULL;
        assert_int_equal(open_logged(f, out, size), PD_OK);
}

/* A read transaction of a process killed with -9 pins its snapshot's
 * pages (the map only grows) for as long as any process keeps the store
 * open (the last one out resets the reader table anyway): here a second
 * child holds it open.  Opening the store clears the dead reader and logs
 * the count; a live reader is not touched. */
static void test_stale_readers(void **state)
{
        fixture_t *f = *state;
        char log[4096];
        pd_store_close(f->store);
        f->store = NULL;
        pid_t holder = store_child(f->dir, false);
        pid_t reader = store_child(f->dir, true);
        reopen_logged(f, log, sizeof(log));
        assert_int_equal(pd_store_stale_readers(f->store), 0); /* alive */
        assert_null(strstr(log, "stale_readers_cleared"));

        kill_child(reader);
        reopen_logged(f, log, sizeof(log));
        assert_int_equal(pd_store_stale_readers(f->store), 1);
        if (!strstr(log, "stale_readers_cleared=1"))
                fail_msg("no stale_readers_cleared=1 in the log: %s", log);
        /* The store works, and the next open finds nothing to clear. */
        pd_store_txn_t *txn = begin(f, 0);
        assert_int_equal(pd_store_marker_put(txn, "amy", "x", 1, 0, 0), PD_OK);
        assert_int_equal(pd_store_txn_commit(txn), PD_OK);
        reopen_logged(f, log, sizeof(log));
        assert_int_equal(pd_store_stale_readers(f->store), 0);
        kill_child(holder);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test_setup_teardown(test_marker_put_get_del, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_marker_bad_keys, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_timers_due_ordering, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_timer_move_and_clear, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_timers_due_callback_writes,
                                            setup, teardown),
            cmocka_unit_test_setup_teardown(test_pstate, setup, teardown),
            cmocka_unit_test_setup_teardown(test_offsets, setup, teardown),
            cmocka_unit_test_setup_teardown(test_abort_discards, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_read_only, setup, teardown),
            cmocka_unit_test_setup_teardown(test_reopen_persists, setup,
                                            teardown),
            cmocka_unit_test(test_open_errors),
            cmocka_unit_test_setup_teardown(test_markers_foreach, setup,
                                            teardown),
            cmocka_unit_test_setup_teardown(test_grow, setup, teardown),
            cmocka_unit_test_setup_teardown(test_stale_readers, setup,
                                            teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
