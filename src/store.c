#include "store.h"

#include <errno.h>
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

#define KEY_MAX 480 /* LMDB's default max key size is 511 */

struct pd_store_s {
        MDB_env *env;
        MDB_dbi markers, timers, timer_of, pstate, offsets;
        int64_t map_size;
        int stale_readers; /* cleared at open */
};

struct pd_store_txn_s {
        pd_store_t *store;
        MDB_txn *txn;
};

/* The one place LMDB codes become ours. */
static pd_err_t xlate(int rc)
{
        switch (rc) {
        case MDB_SUCCESS:
                return PD_OK;
        case MDB_NOTFOUND:
                return PD_ERR_NOT_FOUND;
        case MDB_MAP_FULL:
        case MDB_TXN_FULL:
                return PD_ERR_STORE_FULL;
        case ENOMEM:
                return PD_ERR_NOMEM;
        default:
                return PD_ERR_STORE;
        }
}

static pd_err_t open_dbs(pd_store_t *store, char *errstr, size_t errstr_size)
{
        MDB_txn *txn;
        int rc = mdb_txn_begin(store->env, NULL, 0, &txn);
        if (!rc)
                rc = mdb_dbi_open(txn, "markers", MDB_CREATE, &store->markers);
        if (!rc)
                rc = mdb_dbi_open(txn, "timers", MDB_CREATE, &store->timers);
        if (!rc)
                rc = mdb_dbi_open(txn, "timer_of", MDB_CREATE,
                                  &store->timer_of);
        if (!rc)
                rc = mdb_dbi_open(txn, "pstate", MDB_CREATE, &store->pstate);
        if (!rc)
                rc = mdb_dbi_open(txn, "offsets", MDB_CREATE, &store->offsets);
        if (!rc)
                return xlate(mdb_txn_commit(txn));
        mdb_txn_abort(txn);
        snprintf(errstr, errstr_size, "store: open databases: %s",
                 mdb_strerror(rc));
        return xlate(rc);
}

pd_err_t pd_store_open(const char *path, int64_t map_size,
                       pd_store_t **storep, char *errstr, size_t errstr_size)
{
        pd_err_t err      = PD_OK;
        int rc, dead = 0;
        pd_store_t *store = calloc(1, sizeof(*store));
        if (!store)
                return PD_ERR_NOMEM;
        store->map_size = map_size;
        if (mkdir(path, 0750) && errno != EEXIST) {
                snprintf(errstr, errstr_size, "store: %s: %s", path,
                         strerror(errno));
                err = PD_ERR_STORE;
                goto out;
        }
        if ((rc = mdb_env_create(&store->env)) ||
            (rc = mdb_env_set_maxdbs(store->env, 8)) ||
            (rc = mdb_env_set_mapsize(store->env, (size_t)map_size)) ||
            (rc = mdb_env_open(store->env, path, 0, 0640))) {
                snprintf(errstr, errstr_size, "store: %s: %s", path,
                         mdb_strerror(rc));
                err = PD_ERR_STORE;
                goto out;
        }
        /* Readers of processes killed with -9 pin old pages forever. */
        mdb_reader_check(store->env, &dead);
        store->stale_readers = dead;
        if (dead)
                pd_log_warn("store", "stale_readers_cleared=%d path=%s", dead,
                            path);
        err = open_dbs(store, errstr, errstr_size);
out:
        if (err) {
                pd_store_close(store);
                store = NULL;
        }
        *storep = store;
        return err;
}

void pd_store_close(pd_store_t *store)
{
        if (!store)
                return;
        if (store->env)
                mdb_env_close(store->env);
        free(store);
}

pd_err_t pd_store_grow(pd_store_t *store, char *errstr, size_t errstr_size)
{
        int64_t size = store->map_size * 2;
        int rc       = mdb_env_set_mapsize(store->env, (size_t)size);
        if (rc) {
                snprintf(errstr, errstr_size, "store: grow map to %lld: %s",
                         (long long)size, mdb_strerror(rc));
                return xlate(rc);
        }
        pd_log_info("store", "map_size=%lld grown=true", (long long)size);
        store->map_size = size;
        return PD_OK;
}

int64_t pd_store_map_size(const pd_store_t *store)
{
        return store->map_size;
}

int pd_store_stale_readers(const pd_store_t *store)
{
        return store->stale_readers;
}

pd_err_t pd_store_txn_begin(pd_store_t *store, int read_only,
                            pd_store_txn_t **txnp)
{
        pd_store_txn_t *txn = calloc(1, sizeof(*txn));
        if (!txn)
                return PD_ERR_NOMEM;
        txn->store = store;
        int rc     = mdb_txn_begin(store->env, NULL,
                                   read_only ? MDB_RDONLY : 0, &txn->txn);
        if (rc) {
                pd_log_error("store", "txn_begin error=\"%s\"",
                             mdb_strerror(rc));
                free(txn);
                txn = NULL;
        }
        *txnp = txn;
        return xlate(rc);
}

pd_err_t pd_store_txn_commit(pd_store_txn_t *txn)
{
        int rc = mdb_txn_commit(txn->txn);
        if (rc)
                pd_log_error("store", "txn_commit error=\"%s\"",
                             mdb_strerror(rc));
        free(txn);
        return xlate(rc);
}

void pd_store_txn_abort(pd_store_txn_t *txn)
{
        if (!txn)
                return;
        mdb_txn_abort(txn->txn);
        free(txn);
}

static MDB_val val_of(const void *p, size_t n)
{
        MDB_val v = {.mv_size = n, .mv_data = (void *)p};
        return v;
}

static pd_err_t get_copy(pd_store_txn_t *txn, MDB_dbi dbi, MDB_val *k,
                         pd_buf_t *out)
{
        MDB_val v;
        int rc = mdb_get(txn->txn, dbi, k, &v);
        if (rc)
                return xlate(rc);
        pd_buf_reset(out);
        return pd_buf_append(out, v.mv_data, v.mv_size) ? PD_ERR_NOMEM
                                                         : PD_OK;
}

static void be32(unsigned char *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (unsigned char)(v >> (24 - 8 * i));
}

static void be64(unsigned char *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (unsigned char)(v >> (56 - 8 * i));
}

static uint64_t get_be64(const unsigned char *p)
{
        uint64_t v = 0;
        for (int i = 0; i < 8; i++)
                v = (v << 8) | p[i];
        return v;
}

static pd_err_t customer_key(const char *customer, MDB_val *k)
{
        size_t n = strlen(customer);
        if (n == 0 || n > KEY_MAX)
                return PD_ERR_INVALID;
        *k = val_of(customer, n);
        return PD_OK;
}

pd_err_t pd_store_marker_get(pd_store_txn_t *txn, const char *customer,
                             pd_buf_t *out)
{
        MDB_val k;
        if (customer_key(customer, &k))
                return PD_ERR_NOT_FOUND;
        return get_copy(txn, txn->store->markers, &k, out);
}

/* Removes the customer's timer index entry, if any. */
static pd_err_t timer_clear(pd_store_txn_t *txn, MDB_val *ck)
{
        MDB_val v;
        unsigned char key[12 + KEY_MAX];
        int rc = mdb_get(txn->txn, txn->store->timer_of, ck, &v);
        if (rc == MDB_NOTFOUND)
                return PD_OK;
        if (rc || v.mv_size != 12)
                return rc ? xlate(rc) : PD_ERR_STORE;
        memcpy(key, v.mv_data, 12);
        memcpy(key + 12, ck->mv_data, ck->mv_size);
        MDB_val tk = val_of(key, 12 + ck->mv_size);
        rc         = mdb_del(txn->txn, txn->store->timers, &tk, NULL);
        if (rc && rc != MDB_NOTFOUND)
                return xlate(rc);
        rc = mdb_del(txn->txn, txn->store->timer_of, ck, NULL);
        return rc == MDB_NOTFOUND ? PD_OK : xlate(rc);
}

static pd_err_t timer_set(pd_store_txn_t *txn, MDB_val *ck, int32_t partition,
                          int64_t due)
{
        unsigned char key[12 + KEY_MAX];
        be32(key, (uint32_t)partition);
        be64(key + 4, (uint64_t)due);
        memcpy(key + 12, ck->mv_data, ck->mv_size);
        MDB_val tk = val_of(key, 12 + ck->mv_size), empty = val_of("", 0);
        MDB_val tv = val_of(key, 12);
        int rc     = mdb_put(txn->txn, txn->store->timers, &tk, &empty, 0);
        if (!rc)
                rc = mdb_put(txn->txn, txn->store->timer_of, ck, &tv, 0);
        return xlate(rc);
}

pd_err_t pd_store_marker_put(pd_store_txn_t *txn, const char *customer,
                             const void *bytes, size_t len, int32_t partition,
                             int64_t due)
{
        MDB_val k, v = val_of(bytes, len);
        pd_err_t err = customer_key(customer, &k);
        if (!err)
                err = xlate(mdb_put(txn->txn, txn->store->markers, &k, &v, 0));
        if (!err)
                err = timer_clear(txn, &k);
        if (!err && due > 0)
                err = timer_set(txn, &k, partition, due);
        return err;
}

pd_err_t pd_store_timer_move(pd_store_txn_t *txn, const char *customer,
                             int32_t partition, int64_t due)
{
        MDB_val k;
        pd_err_t err = customer_key(customer, &k);
        if (!err)
                err = timer_clear(txn, &k);
        if (!err && due > 0)
                err = timer_set(txn, &k, partition, due);
        return err;
}

pd_err_t pd_store_marker_del(pd_store_txn_t *txn, const char *customer)
{
        MDB_val k;
        pd_err_t err = customer_key(customer, &k);
        if (err)
                return err;
        int rc = mdb_del(txn->txn, txn->store->markers, &k, NULL);
        if (rc && rc != MDB_NOTFOUND)
                return xlate(rc);
        return timer_clear(txn, &k);
}

pd_err_t pd_store_timers_due(pd_store_txn_t *txn, int32_t partition,
                             int64_t now, size_t max, pd_store_timer_cb_t *cb,
                             void *opaque, size_t *n)
{
        MDB_cursor *cur;
        unsigned char start[4];
        char customer[KEY_MAX + 1];
        *n = 0;
        be32(start, (uint32_t)partition);
        int rc = mdb_cursor_open(txn->txn, txn->store->timers, &cur);
        if (rc)
                return xlate(rc);
        /* Collect first: cb may write to the timers database, which would
         * invalidate the cursor. */
        struct due_s {
                char *customer;
                int64_t due;
        } *list = calloc(max ? max : 1, sizeof(*list));
        size_t cnt = 0;
        MDB_val k = val_of(start, 4), v;
        rc        = list ? mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) : ENOMEM;
        while (!rc && cnt < max && k.mv_size >= 12 &&
               !memcmp(k.mv_data, start, 4)) {
                int64_t due = (int64_t)get_be64((unsigned char *)k.mv_data + 4);
                if (due > now)
                        break;
                size_t clen = k.mv_size - 12;
                memcpy(customer, (char *)k.mv_data + 12, clen);
                customer[clen]       = '\0';
                list[cnt].customer   = strdup(customer);
                list[cnt++].due      = due;
                rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
        pd_err_t err = rc == MDB_NOTFOUND ? PD_OK : xlate(rc);
        for (size_t i = 0; i < cnt; i++) {
                if (!err && list[i].customer &&
                    cb(list[i].customer, list[i].due, opaque))
                        err = PD_ERR_ABORT;
                free(list[i].customer);
        }
        free(list);
        *n = cnt;
        return err;
}

int64_t pd_store_timer_next(pd_store_txn_t *txn, int32_t partition)
{
        MDB_cursor *cur;
        unsigned char start[4];
        int64_t due = 0;
        be32(start, (uint32_t)partition);
        if (mdb_cursor_open(txn->txn, txn->store->timers, &cur))
                return 0;
        MDB_val k = val_of(start, 4), v;
        if (!mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE) && k.mv_size >= 12 &&
            !memcmp(k.mv_data, start, 4))
                due = (int64_t)get_be64((unsigned char *)k.mv_data + 4);
        mdb_cursor_close(cur);
        return due;
}

pd_err_t pd_store_pstate_get(pd_store_txn_t *txn, int32_t partition,
                             pd_buf_t *out)
{
        unsigned char key[4];
        be32(key, (uint32_t)partition);
        MDB_val k = val_of(key, 4);
        return get_copy(txn, txn->store->pstate, &k, out);
}

pd_err_t pd_store_pstate_put(pd_store_txn_t *txn, int32_t partition,
                             const void *bytes, size_t len)
{
        unsigned char key[4];
        be32(key, (uint32_t)partition);
        MDB_val k = val_of(key, 4), v = val_of(bytes, len);
        return xlate(mdb_put(txn->txn, txn->store->pstate, &k, &v, 0));
}

static MDB_val offset_key(char *buf, size_t size, const char *topic,
                          int32_t partition)
{
        int n = snprintf(buf, size, "%s/%d", topic, partition);
        return val_of(buf, n > 0 && (size_t)n < size ? (size_t)n : 0);
}

int64_t pd_store_offset_get(pd_store_txn_t *txn, const char *topic,
                            int32_t partition)
{
        char buf[300];
        MDB_val k = offset_key(buf, sizeof(buf), topic, partition), v;
        if (!k.mv_size || mdb_get(txn->txn, txn->store->offsets, &k, &v) ||
            v.mv_size != 8)
                return -1;
        return (int64_t)get_be64(v.mv_data);
}

pd_err_t pd_store_offset_put(pd_store_txn_t *txn, const char *topic,
                             int32_t partition, int64_t offset)
{
        char buf[300];
        unsigned char val[8];
        be64(val, (uint64_t)offset);
        MDB_val k = offset_key(buf, sizeof(buf), topic, partition);
        MDB_val v = val_of(val, 8);
        if (!k.mv_size)
                return PD_ERR_INVALID;
        return xlate(mdb_put(txn->txn, txn->store->offsets, &k, &v, 0));
}

pd_err_t pd_store_markers_foreach(pd_store_txn_t *txn,
                                  pd_store_marker_cb_t *cb, void *opaque)
{
        MDB_cursor *cur;
        char customer[KEY_MAX + 1];
        int rc = mdb_cursor_open(txn->txn, txn->store->markers, &cur);
        if (rc)
                return xlate(rc);
        MDB_val k, v;
        rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
        while (!rc) {
                size_t n = k.mv_size > KEY_MAX ? KEY_MAX : k.mv_size;
                memcpy(customer, k.mv_data, n);
                customer[n] = '\0';
                if (cb(customer, v.mv_data, v.mv_size, opaque))
                        break;
                rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
        }
        mdb_cursor_close(cur);
        return rc == MDB_NOTFOUND || rc == 0 ? PD_OK : xlate(rc);
}
