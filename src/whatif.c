/* persona-dna: what-if replay of the persona model (see whatif.h). */
#include "whatif.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"

/* Events per customer between two compactions of its arena: every apply
 * allocates its candidates in the arena, so a long history is copied into
 * a fresh one now and then. */
#define COMPACT_EVERY 32

typedef struct entry_s {
        char *id;
        pd_marker_t m[2]; /* current, candidate */
        pd_arena_t arena;
        unsigned since_compact;
        bool erased;
} entry_t;

struct pd_whatif_s {
        const pd_model_t *model[2];
        entry_t **slots; /* open addressing, power of two */
        size_t cap, n;
        size_t events, duplicates, flips[2];
};

static uint64_t hash(const char *s)
{
        uint64_t h = 1469598103934665603ULL; /* FNV-1a */
        for (; *s; s++)
                h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        return h;
}

pd_err_t pd_whatif_new(const pd_model_t *current, const pd_model_t *candidate,
                       pd_whatif_t **whatifp)
{
        pd_whatif_t *w = calloc(1, sizeof(*w));
        *whatifp = NULL;
        if (!w || !(w->slots = calloc(1024, sizeof(*w->slots)))) {
                free(w);
                return PD_ERR_NOMEM;
        }
        w->cap = 1024;
        w->model[0] = current;
        w->model[1] = candidate;
        *whatifp = w;
        return PD_OK;
}

static void entry_free(entry_t *e)
{
        if (!e)
                return;
        pd_arena_term(&e->arena);
        free(e->id);
        free(e);
}

void pd_whatif_destroy(pd_whatif_t *w)
{
        if (!w)
                return;
        for (size_t i = 0; i < w->cap; i++)
                entry_free(w->slots[i]);
        free(w->slots);
        free(w);
}

static entry_t **find_slot(entry_t **slots, size_t cap, const char *id)
{
        size_t i = hash(id) & (cap - 1);
        while (slots[i] && strcmp(slots[i]->id, id))
                i = (i + 1) & (cap - 1);
        return &slots[i];
}

static pd_err_t grow(pd_whatif_t *w)
{
        size_t cap = w->cap * 2;
        entry_t **slots = calloc(cap, sizeof(*slots));
        if (!slots)
                return PD_ERR_NOMEM;
        for (size_t i = 0; i < w->cap; i++)
                if (w->slots[i])
                        *find_slot(slots, cap, w->slots[i]->id) = w->slots[i];
        free(w->slots);
        w->slots = slots;
        w->cap = cap;
        return PD_OK;
}

static entry_t *lookup(pd_whatif_t *w, const char *id)
{
        entry_t **slot;
        if (2 * (w->n + 1) > w->cap && grow(w))
                return NULL;
        slot = find_slot(w->slots, w->cap, id);
        if (!*slot) {
                entry_t *e = calloc(1, sizeof(*e));
                if (!e || !(e->id = strdup(id))) {
                        free(e);
                        return NULL;
                }
                pd_arena_init(&e->arena);
                e->erased = true; /* not started */
                *slot = e;
                w->n++;
        }
        return *slot;
}

static pd_err_t compact(entry_t *e)
{
        pd_arena_t fresh;
        pd_marker_t m[2];
        pd_arena_init(&fresh);
        for (int k = 0; k < 2; k++)
                if (pd_marker_copy(&m[k], &e->m[k], &fresh)) {
                        pd_arena_term(&fresh);
                        return PD_ERR_NOMEM;
                }
        pd_arena_term(&e->arena);
        e->arena = fresh;
        memcpy(e->m, m, sizeof(m));
        e->since_compact = 0;
        return PD_OK;
}

/* As the engine starts a new marker. */
static void start(entry_t *e, const pd_event_t *ev)
{
        pd_arena_reset(&e->arena);
        memset(e->m, 0, sizeof(e->m));
        for (int k = 0; k < 2; k++) {
                e->m[k].customer_id = e->id;
                e->m[k].created_at = ev->occurred_at;
                e->m[k].updated_at = ev->occurred_at;
                e->m[k].next_slot = 1;
        }
        e->erased = false;
}

pd_err_t pd_whatif_apply(pd_whatif_t *w, const pd_event_t *ev)
{
        entry_t *e;
        const char *event_id;
        pd_err_t err = PD_OK;
        if (!ev->customer_id || !*ev->customer_id || !ev->event_id)
                return PD_ERR_INVALID;
        if (!(e = lookup(w, ev->customer_id)))
                return PD_ERR_NOMEM;
        if (e->erased)
                start(e, ev);
        else if (pd_engine_event_seen(&e->m[0], ev->event_id)) {
                w->duplicates++;
                return PD_OK;
        }
        if (ev->kind == PD_EV_CUSTOMER_ERASED) {
                e->erased = true;
                w->events++;
                return PD_OK;
        }
        if (!(event_id = pd_arena_strdup(&e->arena, ev->event_id)))
                return PD_ERR_NOMEM;
        for (int k = 0; k < 2 && !err; k++) {
                bool changed = false;
                err = pd_persona_apply(w->model[k], &e->m[k], ev, &e->arena,
                                       &changed, NULL);
                w->flips[k] += changed;
                /* The same window as the engine's de-duplication. */
                pd_engine_event_remember(&e->m[k], event_id);
                if (ev->occurred_at > e->m[k].updated_at)
                        e->m[k].updated_at = ev->occurred_at;
        }
        w->events++;
        if (!err && ++e->since_compact >= COMPACT_EVERY)
                err = compact(e);
        return err;
}

int pd_whatif_dominant(const pd_marker_t *m)
{
        return m->n_evidence && (unsigned)m->dominant < PD_AXIS__CNT
                   ? (int)m->dominant
                   : PD_WHATIF_NONE;
}

void pd_whatif_report(const pd_whatif_t *w, pd_whatif_report_t *rep)
{
        memset(rep, 0, sizeof(*rep));
        rep->events = w->events;
        rep->duplicates = w->duplicates;
        rep->flips[0] = w->flips[0];
        rep->flips[1] = w->flips[1];
        for (size_t i = 0; i < w->cap; i++) {
                const entry_t *e = w->slots[i];
                if (!e || e->erased)
                        continue;
                int a = pd_whatif_dominant(&e->m[0]);
                int b = pd_whatif_dominant(&e->m[1]);
                rep->customers++;
                rep->changed += a != b;
                rep->matrix[a][b]++;
        }
}

static int entry_cmp(const void *a, const void *b)
{
        return strcmp((*(entry_t *const *)a)->id, (*(entry_t *const *)b)->id);
}

int pd_whatif_foreach_changed(const pd_whatif_t *w, pd_whatif_cb_t *cb,
                              void *opaque)
{
        entry_t **v = malloc((w->n + 1) * sizeof(*v));
        size_t n = 0;
        int rc = 0;
        if (!v)
                return -1;
        for (size_t i = 0; i < w->cap; i++) {
                entry_t *e = w->slots[i];
                if (e && !e->erased &&
                    pd_whatif_dominant(&e->m[0]) !=
                        pd_whatif_dominant(&e->m[1]))
                        v[n++] = e;
        }
        qsort(v, n, sizeof(*v), entry_cmp);
        for (size_t i = 0; i < n && !rc; i++)
                rc = cb(opaque, v[i]->id, &v[i]->m[0], &v[i]->m[1]);
        free(v);
        return rc;
}

static const pd_evidence_t *find(const pd_marker_t *m, const pd_evidence_t *e)
{
        for (size_t i = 0; i < m->n_evidence; i++)
                if (m->evidence[i].axis == e->axis &&
                    !strcmp(m->evidence[i].signal, e->signal))
                        return &m->evidence[i];
        return NULL;
}

static int diff_cmp(const void *a, const void *b)
{
        const pd_whatif_diff_t *x = a, *y = b;
        double dx = fabs(x->candidate - x->current);
        double dy = fabs(y->candidate - y->current);
        int c;
        if (dx != dy)
                return dx > dy ? -1 : 1;
        if ((c = strcmp(x->signal, y->signal)))
                return c;
        return (int)x->axis - (int)y->axis;
}

size_t pd_whatif_evidence_diff(const pd_marker_t *current,
                               const pd_marker_t *candidate,
                               pd_whatif_diff_t *out, size_t max)
{
        pd_whatif_diff_t all[2 * PD_MARKER_EVIDENCE_MAX];
        size_t n = 0;
        const pd_marker_t *m[2] = {current, candidate};
        for (int k = 0; k < 2; k++)
                for (size_t i = 0; i < m[k]->n_evidence; i++) {
                        const pd_evidence_t *e = &m[k]->evidence[i];
                        const pd_evidence_t *o = find(m[1 - k], e);
                        if (k == 1 && o)
                                continue; /* counted from current */
                        double w[2];
                        w[k] = e->weight;
                        w[1 - k] = o ? o->weight : 0;
                        if (fabs(w[0] - w[1]) > 1e-9)
                                all[n++] = (pd_whatif_diff_t){
                                    e->signal, e->axis, w[0], w[1]};
                }
        qsort(all, n, sizeof(*all), diff_cmp);
        for (size_t i = 0; i < n && i < max; i++)
                out[i] = all[i];
        return n;
}
