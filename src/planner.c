#include "planner.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "schedule.h"

#define PM_ROLE    "project_manager"
#define MS_PER_DAY (86400LL * 1000)

/* ---- the catalog ------------------------------------------------------ */

typedef struct tmpl_ms_s {
        const char *name;
        const char *owner;
        int32_t day;
} tmpl_ms_t;

typedef struct tmpl_s {
        const char *id;
        pd_axis_t persona;
        tmpl_ms_t *ms;
        size_t n_ms;
        pd_strs_t team_roles;
        pd_strs_t attendees;
} tmpl_t;

typedef struct pool_s {
        const char *role;
        pd_strs_t names;
} pool_t;

typedef struct pm_s {
        const char *name;
        double skill[PD_AXIS__CNT];
        pd_strs_t products;
        pd_strs_t regions;
        pd_strs_t languages;
        pd_strs_t time_zones;
        int32_t capacity;
        pd_kvs_t team; /* role -> the manager's own person for it */
} pm_t;

typedef struct weights_s {
        double persona, product, region, language, time_zone, tolerance;
} weights_t;

struct pd_catalog_s {
        pd_arena_t arena; /* owns every string and array below */
        tmpl_t *tmpls;
        size_t n_tmpls;
        pool_t *pools;
        size_t n_pools;
        pm_t *pms;
        size_t n_pms;
        weights_t w;
};

/* ---- locating a key in the source text --------------------------------
 * jansson keeps no positions for values, so a semantic error is placed by
 * walking the (already valid) text along the key path. */

typedef struct loc_s {
        const struct loc_s *up;
        const char *key; /* NULL: array element `index` */
        size_t index;
} loc_t;

typedef struct scan_s {
        const char *p;
        int line;
} scan_t;

static void scan_ws(scan_t *s)
{
        while (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' ||
               *s->p == '\r') {
                if (*s->p == '\n')
                        s->line++;
                s->p++;
        }
}

static void scan_string(scan_t *s)
{
        s->p++;
        while (*s->p && *s->p != '"') {
                if (*s->p == '\\' && s->p[1])
                        s->p++;
                s->p++;
        }
        if (*s->p)
                s->p++;
}

static void scan_value(scan_t *s)
{
        int depth = 0;
        scan_ws(s);
        do {
                if (*s->p == '"') {
                        scan_string(s);
                        continue;
                }
                if (*s->p == '{' || *s->p == '[')
                        depth++;
                else if (*s->p == '}' || *s->p == ']')
                        depth--;
                else if (depth == 0 && (*s->p == ',' || *s->p == '\n'))
                        break;
                if (*s->p == '\n')
                        s->line++;
                s->p++;
        } while (*s->p && depth > 0);
        if (depth == 0)
                while (*s->p && !strchr(",}] \t\r\n", *s->p))
                        s->p++;
}

/* Moves s to the value of member key (or element index) of the object or
 * array at s; false when there is none. */
static bool scan_into(scan_t *s, const loc_t *seg)
{
        bool found = false;
        char close = seg->key ? '}' : ']';
        s->p++;
        for (size_t i = 0; !found; i++) {
                scan_ws(s);
                if (!*s->p || *s->p == close)
                        break;
                if (seg->key) {
                        const char *k = s->p + 1;
                        scan_string(s);
                        size_t len = (size_t)(s->p - k) - 1;
                        scan_ws(s);
                        s->p++; /* ':' */
                        scan_ws(s);
                        found = len == strlen(seg->key) &&
                                !memcmp(k, seg->key, len);
                } else {
                        found = i == seg->index;
                }
                if (found)
                        break;
                scan_value(s);
                scan_ws(s);
                if (*s->p == ',')
                        s->p++;
        }
        return found;
}

/* Line of the deepest part of the path that exists in text. */
static int locate(const char *text, const loc_t *loc)
{
        const loc_t *segs[16];
        size_t n = 0;
        for (; loc && loc->up && n < 16; loc = loc->up)
                segs[n++] = loc;
        scan_t s = {text, 1};
        scan_ws(&s);
        int line = s.line;
        while (n > 0) {
                const loc_t *seg = segs[--n];
                if (*s.p != (seg->key ? '{' : '['))
                        break;
                if (!scan_into(&s, seg))
                        break;
                line = s.line;
        }
        return line;
}

/* "project_managers[3].capacity"; truncated to size. */
static void loc_render(const loc_t *loc, char *buf, size_t size)
{
        const loc_t *segs[16];
        size_t n = 0, len = 0;
        for (; loc && loc->up && n < 16; loc = loc->up)
                segs[n++] = loc;
        snprintf(buf, size, "%s", n ? "" : "(top)");
        while (n > 0 && len < size) {
                const loc_t *seg = segs[--n];
                int w = seg->key ? snprintf(buf + len, size - len, "%s%s",
                                            len ? "." : "", seg->key)
                                 : snprintf(buf + len, size - len, "[%zu]",
                                            seg->index);
                len += w > 0 ? (size_t)w : 0;
        }
}

/* ---- loader ------------------------------------------------------------ */

typedef struct ctx_s {
        const char *path;
        char *text;
        pd_arena_t *arena;
        char *errstr;
        size_t errstr_size;
} ctx_t;

static pd_err_t fail(const ctx_t *ctx, const loc_t *loc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static pd_err_t fail(const ctx_t *ctx, const loc_t *loc, const char *fmt, ...)
{
        char key[256], reason[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        loc_render(loc, key, sizeof(key));
        if (ctx->errstr && ctx->errstr_size)
                snprintf(ctx->errstr, ctx->errstr_size, "%s:%d: %s: %s",
                         ctx->path, locate(ctx->text, loc), key, reason);
        return PD_ERR_CONFIG;
}

static pd_err_t read_text(ctx_t *ctx)
{
        pd_err_t err = PD_OK;
        FILE *f = fopen(ctx->path, "rb");
        size_t cap = 0, len = 0;
        if (!f) {
                snprintf(ctx->errstr, ctx->errstr_size, "%s: cannot open: %s",
                         ctx->path, strerror(errno));
                err = PD_ERR_CONFIG;
                goto out;
        }
        for (;;) {
                if (len + 4096 + 1 > cap) {
                        cap = cap ? cap * 2 : 16384;
                        char *txt = realloc(ctx->text, cap);
                        if (!txt) {
                                err = PD_ERR_NOMEM;
                                goto out;
                        }
                        ctx->text = txt;
                }
                size_t got = fread(ctx->text + len, 1, 4096, f);
                len += got;
                if (got < 4096)
                        break;
        }
        ctx->text[len] = '\0';
        if (ferror(f)) {
                snprintf(ctx->errstr, ctx->errstr_size, "%s: read error",
                         ctx->path);
                err = PD_ERR_CONFIG;
        }
out:
        if (f)
                fclose(f);
        return err;
}

/* Reads and parses ctx->path; the root must be an object. */
static pd_err_t load_json(ctx_t *ctx, json_t **rootp)
{
        json_error_t jerr;
        loc_t top = {NULL, NULL, 0};
        pd_err_t err = read_text(ctx);
        if (err)
                goto out;
        *rootp = json_loads(ctx->text, JSON_REJECT_DUPLICATES, &jerr);
        if (!*rootp) {
                snprintf(ctx->errstr, ctx->errstr_size, "%s:%d: syntax: %s",
                         ctx->path, jerr.line, jerr.text);
                err = PD_ERR_CONFIG;
                goto out;
        }
        if (!json_is_object(*rootp))
                err = fail(ctx, &top, "must be an object");
out:
        return err;
}

static pd_err_t check_keys(const ctx_t *ctx, const loc_t *at, json_t *obj,
                           const char *const *allowed)
{
        const char *key;
        json_t *v;
        pd_err_t err = PD_OK;
        json_object_foreach(obj, key, v)
        {
                size_t i = 0;
                while (allowed[i] && strcmp(allowed[i], key))
                        i++;
                loc_t kl = {at, key, 0};
                if (!allowed[i] && !err)
                        err = fail(ctx, &kl, "unknown key");
        }
        return err;
}

static pd_err_t get_object(const ctx_t *ctx, const loc_t *at, json_t *v)
{
        pd_err_t err = PD_OK;
        if (!v)
                err = fail(ctx, at, "missing");
        else if (!json_is_object(v))
                err = fail(ctx, at, "must be an object");
        return err;
}

static pd_err_t get_string(const ctx_t *ctx, const loc_t *at, json_t *v,
                           const char **out)
{
        pd_err_t err = PD_OK;
        if (!v)
                err = fail(ctx, at, "missing");
        else if (!json_is_string(v) || !*json_string_value(v))
                err = fail(ctx, at, "must be a non-empty string");
        else if (!(*out = pd_arena_strdup(ctx->arena, json_string_value(v))))
                err = PD_ERR_NOMEM;
        return err;
}

static pd_err_t get_int(const ctx_t *ctx, const loc_t *at, json_t *v,
                        int32_t min, int32_t max, int32_t *out)
{
        pd_err_t err = PD_OK;
        if (!v)
                err = fail(ctx, at, "missing");
        else if (!json_is_integer(v) || json_integer_value(v) < min ||
                 json_integer_value(v) > max)
                err =
                    fail(ctx, at, "must be an integer from %d to %d", min, max);
        else
                *out = (int32_t)json_integer_value(v);
        return err;
}

static pd_err_t get_number(const ctx_t *ctx, const loc_t *at, json_t *v,
                           double min, double max, double *out)
{
        pd_err_t err = PD_OK;
        if (!v)
                err = fail(ctx, at, "missing");
        else if (!json_is_number(v) || json_number_value(v) < min ||
                 json_number_value(v) > max)
                err = fail(ctx, at, "must be a number from %g to %g", min, max);
        else
                *out = json_number_value(v);
        return err;
}

/* An array of non-empty strings; min_n is the least count allowed. */
static pd_err_t get_strings(const ctx_t *ctx, const loc_t *at, json_t *v,
                            size_t min_n, pd_strs_t *out)
{
        pd_err_t err = PD_OK;
        if (!v || !json_is_array(v) || json_array_size(v) < min_n) {
                err = fail(ctx, at, "must be %s array of non-empty strings",
                           min_n ? "a non-empty" : "an");
                goto out;
        }
        out->n = json_array_size(v);
        out->v = pd_arena_alloc(ctx->arena, (out->n + 1) * sizeof(*out->v));
        if (!out->v) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        for (size_t i = 0; i < out->n && !err; i++) {
                loc_t el = {at, NULL, i};
                err = get_string(ctx, &el, json_array_get(v, i), &out->v[i]);
        }
out:
        return err;
}

static bool strs_has(const pd_strs_t *strs, const char *s)
{
        for (size_t i = 0; i < strs->n; i++)
                if (!strcmp(strs->v[i], s))
                        return true;
        return false;
}

/* Every role a template names must be one of its team roles. */
static pd_err_t check_roles(const ctx_t *ctx, const loc_t *at, const tmpl_t *t,
                            const pd_strs_t *roles)
{
        pd_err_t err = PD_OK;
        for (size_t i = 0; i < roles->n && !err; i++) {
                loc_t el = {at, NULL, i};
                if (!strs_has(&t->team_roles, roles->v[i]) &&
                    strcmp(roles->v[i], PM_ROLE))
                        err = fail(ctx, &el, "role '%s' is not in team_roles",
                                   roles->v[i]);
        }
        return err;
}

static pd_err_t load_milestone(const ctx_t *ctx, const loc_t *at, json_t *v,
                               const tmpl_t *t, tmpl_ms_t *ms)
{
        static const char *const keys[] = {"name", "day", "owner", NULL};
        loc_t ln = {at, "name", 0}, ld = {at, "day", 0}, lo = {at, "owner", 0};
        pd_err_t err = get_object(ctx, at, v);
        if (!err)
                err = check_keys(ctx, at, v, keys);
        if (!err)
                err =
                    get_string(ctx, &ln, json_object_get(v, "name"), &ms->name);
        if (!err)
                err = get_int(ctx, &ld, json_object_get(v, "day"), 0, 3650,
                              &ms->day);
        if (!err)
                err = get_string(ctx, &lo, json_object_get(v, "owner"),
                                 &ms->owner);
        if (!err && !strs_has(&t->team_roles, ms->owner) &&
            strcmp(ms->owner, PM_ROLE))
                err =
                    fail(ctx, &lo, "role '%s' is not in team_roles", ms->owner);
        return err;
}

static pd_err_t load_milestones(const ctx_t *ctx, const loc_t *at, json_t *v,
                                tmpl_t *t)
{
        pd_err_t err = PD_OK;
        if (!v || !json_is_array(v) || json_array_size(v) == 0 ||
            json_array_size(v) > PD_MARKER_MILESTONES_MAX) {
                err = fail(ctx, at, "must be an array of 1 to %d milestones",
                           PD_MARKER_MILESTONES_MAX);
                goto out;
        }
        t->n_ms = json_array_size(v);
        t->ms = pd_arena_alloc(ctx->arena, t->n_ms * sizeof(*t->ms));
        if (!t->ms) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        for (size_t i = 0; i < t->n_ms && !err; i++) {
                loc_t el = {at, NULL, i};
                err = load_milestone(ctx, &el, json_array_get(v, i), t,
                                     &t->ms[i]);
        }
out:
        return err;
}

static pd_err_t load_template(const ctx_t *ctx, const loc_t *at, json_t *v,
                              tmpl_t *t)
{
        static const char *const keys[] = {
            "id",        "persona",    "description", "team_roles",
            "attendees", "milestones", NULL};
        loc_t li = {at, "id", 0}, lp = {at, "persona", 0};
        loc_t lt = {at, "team_roles", 0}, la = {at, "attendees", 0};
        loc_t lm = {at, "milestones", 0};
        const char *axis = NULL;
        pd_err_t err = get_object(ctx, at, v);
        if (!err)
                err = check_keys(ctx, at, v, keys);
        if (!err)
                err = get_string(ctx, &li, json_object_get(v, "id"), &t->id);
        if (!err)
                err =
                    get_string(ctx, &lp, json_object_get(v, "persona"), &axis);
        if (!err && (t->persona = pd_axis_parse(axis)) == PD_AXIS__CNT)
                err = fail(ctx, &lp, "'%s' is not a persona axis", axis);
        if (!err)
                err = get_strings(ctx, &lt, json_object_get(v, "team_roles"), 1,
                                  &t->team_roles);
        if (!err)
                err = get_strings(ctx, &la, json_object_get(v, "attendees"), 0,
                                  &t->attendees);
        if (!err)
                err = check_roles(ctx, &la, t, &t->attendees);
        if (!err)
                err = load_milestones(ctx, &lm,
                                      json_object_get(v, "milestones"), t);
        return err;
}

static const tmpl_t *tmpl_for(const pd_catalog_t *cat, pd_axis_t persona)
{
        for (size_t i = 0; i < cat->n_tmpls; i++)
                if (cat->tmpls[i].persona == persona)
                        return &cat->tmpls[i];
        return NULL;
}

static const tmpl_t *tmpl_by_id(const pd_catalog_t *cat, const char *id)
{
        for (size_t i = 0; id && i < cat->n_tmpls; i++)
                if (!strcmp(cat->tmpls[i].id, id))
                        return &cat->tmpls[i];
        return NULL;
}

/* One template per persona: assignment needs one for every dominant axis
 * and must never have to choose between two. */
static pd_err_t check_templates(const ctx_t *ctx, const loc_t *at,
                                const pd_catalog_t *cat)
{
        pd_err_t err = PD_OK;
        for (size_t i = 0; i < cat->n_tmpls && !err; i++) {
                const tmpl_t *t = &cat->tmpls[i];
                loc_t el = {at, NULL, i};
                loc_t lp = {&el, "persona", 0}, li = {&el, "id", 0};
                if (tmpl_for(cat, t->persona) != t)
                        err = fail(ctx, &lp, "second template for persona %s",
                                   pd_axis_name(t->persona));
                else if (tmpl_by_id(cat, t->id) != t)
                        err = fail(ctx, &li, "duplicate id '%s'", t->id);
        }
        for (int a = 0; a < PD_AXIS__CNT && !err; a++)
                if (!tmpl_for(cat, (pd_axis_t)a))
                        err = fail(ctx, at, "no template for persona %s",
                                   pd_axis_name((pd_axis_t)a));
        return err;
}

static pd_err_t load_templates(ctx_t *ctx, pd_catalog_t *cat)
{
        static const char *const keys[] = {"version", "templates", NULL};
        json_t *root = NULL;
        loc_t top = {NULL, NULL, 0}, lt = {&top, "templates", 0};
        pd_err_t err = load_json(ctx, &root);
        if (!err)
                err = check_keys(ctx, &top, root, keys);
        if (err)
                goto out;
        json_t *arr = json_object_get(root, "templates");
        if (!json_is_array(arr) || json_array_size(arr) == 0) {
                err = fail(ctx, &lt, "must be a non-empty array");
                goto out;
        }
        cat->n_tmpls = json_array_size(arr);
        cat->tmpls = pd_arena_alloc(ctx->arena, cat->n_tmpls * sizeof(tmpl_t));
        if (!cat->tmpls) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        for (size_t i = 0; i < cat->n_tmpls && !err; i++) {
                loc_t el = {&lt, NULL, i};
                err = load_template(ctx, &el, json_array_get(arr, i),
                                    &cat->tmpls[i]);
        }
        if (!err)
                err = check_templates(ctx, &lt, cat);
out:
        json_decref(root);
        return err;
}

static pd_err_t load_weights(const ctx_t *ctx, const loc_t *at, json_t *v,
                             weights_t *w)
{
        static const char *const keys[] = {"persona",  "product",   "region",
                                           "language", "time_zone", "tolerance",
                                           NULL};
        double *dst[] = {&w->persona,  &w->product,   &w->region,
                         &w->language, &w->time_zone, &w->tolerance};
        pd_err_t err = PD_OK;
        *w = (weights_t){4.0, 2.0, 1.5, 1.0, 0.5, 0.5};
        if (!v)
                goto out; /* the defaults */
        err = get_object(ctx, at, v);
        if (!err)
                err = check_keys(ctx, at, v, keys);
        for (size_t i = 0; keys[i] && !err; i++) {
                loc_t lk = {at, keys[i], 0};
                json_t *val = json_object_get(v, keys[i]);
                if (val)
                        err = get_number(ctx, &lk, val, 0, 100, dst[i]);
        }
out:
        return err;
}

static pd_err_t load_pools(const ctx_t *ctx, const loc_t *at, json_t *v,
                           pd_catalog_t *cat)
{
        const char *role;
        json_t *names;
        pd_err_t err = v ? get_object(ctx, at, v) : PD_OK;
        if (err || !v)
                goto out;
        cat->pools = pd_arena_alloc(ctx->arena,
                                    (json_object_size(v) + 1) * sizeof(pool_t));
        if (!cat->pools) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        json_object_foreach(v, role, names)
        {
                pool_t *pool = &cat->pools[cat->n_pools++];
                loc_t lr = {at, role, 0};
                pool->role = pd_arena_strdup(ctx->arena, role);
                err = get_strings(ctx, &lr, names, 1, &pool->names);
                if (err || !pool->role)
                        break;
        }
out:
        return err;
}

static pd_err_t load_skills(const ctx_t *ctx, const loc_t *at, json_t *v,
                            pm_t *pm)
{
        static const char *const keys[] = {"simplicity", "marketing",
                                           "technical", "consulting", NULL};
        pd_err_t err = get_object(ctx, at, v);
        if (!err)
                err = check_keys(ctx, at, v, keys);
        for (int a = 0; a < PD_AXIS__CNT && !err; a++) {
                const char *name = pd_axis_name((pd_axis_t)a);
                loc_t la = {at, name, 0};
                err = get_number(ctx, &la, json_object_get(v, name), 0, 1,
                                 &pm->skill[a]);
        }
        return err;
}

static pd_err_t load_pm_team(const ctx_t *ctx, const loc_t *at, json_t *v,
                             pm_t *pm)
{
        const char *role;
        json_t *name;
        pd_err_t err = v ? get_object(ctx, at, v) : PD_OK;
        if (err || !v)
                goto out;
        json_object_foreach(v, role, name)
        {
                loc_t lr = {at, role, 0};
                const char *s = NULL;
                err = get_string(ctx, &lr, name, &s);
                if (!err && pd_kvs_add(&pm->team, ctx->arena, role, s))
                        err = PD_ERR_NOMEM;
                if (err)
                        break;
        }
out:
        return err;
}

static pd_err_t check_time_zones(const ctx_t *ctx, const loc_t *at,
                                 const pd_strs_t *tzs)
{
        pd_err_t err = PD_OK;
        for (size_t i = 0; i < tzs->n && !err; i++) {
                loc_t el = {at, NULL, i};
                if (!pd_schedule_tz_valid(tzs->v[i]))
                        err =
                            fail(ctx, &el, "unknown time zone '%s'", tzs->v[i]);
        }
        return err;
}

static pd_err_t load_pm(const ctx_t *ctx, const loc_t *at, json_t *v, pm_t *pm)
{
        static const char *const keys[] = {
            "name",       "skills",   "products", "regions", "languages",
            "time_zones", "capacity", "team",     NULL};
        loc_t l[8];
        for (int i = 0; i < 8; i++)
                l[i] = (loc_t){at, keys[i], 0};
        pd_err_t err = get_object(ctx, at, v);
        if (!err)
                err = check_keys(ctx, at, v, keys);
        if (!err)
                err = get_string(ctx, &l[0], json_object_get(v, keys[0]),
                                 &pm->name);
        if (!err)
                err = load_skills(ctx, &l[1], json_object_get(v, keys[1]), pm);
        pd_strs_t *lists[] = {&pm->products, &pm->regions, &pm->languages,
                              &pm->time_zones};
        for (int i = 0; i < 4 && !err; i++)
                err = get_strings(ctx, &l[2 + i],
                                  json_object_get(v, keys[2 + i]), 0, lists[i]);
        if (!err)
                err = check_time_zones(ctx, &l[5], &pm->time_zones);
        if (!err)
                err = get_int(ctx, &l[6], json_object_get(v, keys[6]), 1,
                              100000, &pm->capacity);
        if (!err)
                err = load_pm_team(ctx, &l[7], json_object_get(v, keys[7]), pm);
        return err;
}

static const pool_t *pool_for(const pd_catalog_t *cat, const char *role)
{
        for (size_t i = 0; i < cat->n_pools; i++)
                if (!strcmp(cat->pools[i].role, role))
                        return &cat->pools[i];
        return NULL;
}

static const pm_t *pm_by_name(const pd_catalog_t *cat, const char *name)
{
        for (size_t i = 0; name && i < cat->n_pms; i++)
                if (!strcmp(cat->pms[i].name, name))
                        return &cat->pms[i];
        return NULL;
}

static bool staffed(const pd_catalog_t *cat, const char *role)
{
        bool pooled = !strcmp(role, PM_ROLE) || pool_for(cat, role);
        bool own = cat->n_pms > 0; /* every manager brings their own */
        for (size_t p = 0; !pooled && p < cat->n_pms; p++)
                own = own && pd_kvs_get(&cat->pms[p].team, role);
        return pooled || own;
}

/* Every team role of every template must be staffable for every manager:
 * from the manager's own team or from a pool. */
static pd_err_t check_staffing(const ctx_t *ctx, const loc_t *at,
                               const pd_catalog_t *cat)
{
        pd_err_t err = PD_OK;
        for (size_t t = 0; t < cat->n_tmpls && !err; t++) {
                const pd_strs_t *roles = &cat->tmpls[t].team_roles;
                for (size_t r = 0; r < roles->n && !err; r++)
                        if (!staffed(cat, roles->v[r]))
                                err = fail(ctx, at,
                                           "no pool for role '%s' of "
                                           "template '%s'",
                                           roles->v[r], cat->tmpls[t].id);
        }
        return err;
}

static pd_err_t load_pms(const ctx_t *ctx, const loc_t *at, json_t *arr,
                         pd_catalog_t *cat)
{
        pd_err_t err = PD_OK;
        if (!json_is_array(arr) || json_array_size(arr) == 0) {
                err = fail(ctx, at, "must be a non-empty array");
                goto out;
        }
        cat->n_pms = json_array_size(arr);
        cat->pms = pd_arena_alloc(ctx->arena, cat->n_pms * sizeof(pm_t));
        if (!cat->pms) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        for (size_t i = 0; i < cat->n_pms && !err; i++) {
                loc_t el = {at, NULL, i};
                loc_t ln = {&el, "name", 0};
                err = load_pm(ctx, &el, json_array_get(arr, i), &cat->pms[i]);
                if (!err && pm_by_name(cat, cat->pms[i].name) != &cat->pms[i])
                        err = fail(ctx, &ln, "duplicate name '%s'",
                                   cat->pms[i].name);
        }
out:
        return err;
}

static pd_err_t load_roster(ctx_t *ctx, pd_catalog_t *cat)
{
        static const char *const keys[] = {"version", "weights", "pools",
                                           "project_managers", NULL};
        json_t *root = NULL;
        loc_t top = {NULL, NULL, 0};
        loc_t lw = {&top, "weights", 0}, lp = {&top, "pools", 0};
        loc_t lm = {&top, "project_managers", 0};
        pd_err_t err = load_json(ctx, &root);
        if (!err)
                err = check_keys(ctx, &top, root, keys);
        if (!err)
                err = load_weights(ctx, &lw, json_object_get(root, "weights"),
                                   &cat->w);
        if (!err)
                err = load_pools(ctx, &lp, json_object_get(root, "pools"), cat);
        if (!err)
                err = load_pms(ctx, &lm,
                               json_object_get(root, "project_managers"), cat);
        if (!err)
                err = check_staffing(ctx, &lp, cat);
        json_decref(root);
        return err;
}

pd_err_t pd_catalog_load(const char *templates_path, const char *roster_path,
                         pd_catalog_t **catp, char *errstr, size_t errstr_size)
{
        pd_err_t err;
        pd_catalog_t *cat = calloc(1, sizeof(*cat));
        ctx_t ctx = {templates_path, NULL, NULL, errstr, errstr_size};
        *catp = NULL;
        if (!cat) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        pd_arena_init(&cat->arena);
        ctx.arena = &cat->arena;
        err = load_templates(&ctx, cat);
        if (err)
                goto out;
        free(ctx.text);
        ctx.text = NULL;
        ctx.path = roster_path;
        err = load_roster(&ctx, cat);
out:
        if (err == PD_ERR_NOMEM && errstr && errstr_size)
                snprintf(errstr, errstr_size, "%s: out of memory", ctx.path);
        free(ctx.text);
        if (err)
                pd_catalog_destroy(cat);
        else
                *catp = cat;
        return err;
}

void pd_catalog_destroy(pd_catalog_t *cat)
{
        if (cat)
                pd_arena_term(&cat->arena);
        free(cat);
}

/* ---- fit ---------------------------------------------------------------- */

static bool alnum(char c)
{
        return ((c | 32) >= 'a' && (c | 32) <= 'z') || (c >= '0' && c <= '9');
}

/* Case, space and punctuation blind: CRM exports write "GTXPro" for
 * "GTX Pro". */
static bool same_name(const char *a, const char *b)
{
        for (;;) {
                while (*a && !alnum(*a))
                        a++;
                while (*b && !alnum(*b))
                        b++;
                if (!*a || !*b || (*a | 32) != (*b | 32))
                        break;
                a++;
                b++;
        }
        return !*a && !*b;
}

static bool strs_match(const pd_strs_t *strs, const char *s)
{
        for (size_t i = 0; s && i < strs->n; i++)
                if (same_name(strs->v[i], s))
                        return true;
        return false;
}

/* The customer's language when no ticket has told us yet. */
static const char *country_language(const char *country)
{
        static const char *const map[][2] = {
            {"US", "en"}, {"UK", "en"}, {"GB", "en"}, {"IE", "en"},
            {"AU", "en"}, {"NZ", "en"}, {"CA", "en"}, {"IN", "en"},
            {"DE", "de"}, {"AT", "de"}, {"CH", "de"}, {"FR", "fr"},
            {"BE", "fr"}, {"ES", "es"}, {"MX", "es"}, {"AR", "es"},
            {"IT", "it"}, {"PT", "pt"}, {"BR", "pt"}};
        const char *lang = NULL;
        for (size_t i = 0; country && !lang && i < sizeof(map) / sizeof(map[0]);
             i++)
                if (!strcmp(map[i][0], country))
                        lang = map[i][1];
        return lang;
}

typedef struct fit_s {
        const pm_t *pm;
        int64_t score; /* milli-points: exact comparisons, no float ties */
        int32_t load, cap;
        size_t products_hit, products_n;
        const char *region;   /* matched region or country */
        const char *language; /* matched language */
        int tz;               /* 2 same zone, 1 same area, 0 none */
        const char *tz_name;  /* the customer's zone */
} fit_t;

typedef struct want_s { /* what the customer needs from a manager */
        pd_axis_t persona;
        const pd_strs_t *products;
        const char *region, *country, *language, *tz;
} want_t;

static void want_of(const pd_marker_t *marker, const pd_event_t *sale,
                    want_t *want)
{
        const pd_sale_closed_t *s = &sale->u.sale;
        want->persona = marker->dominant;
        want->products = &s->products;
        want->region = s->region ? s->region : marker->region;
        want->country = s->country ? s->country : marker->country;
        want->language = marker->language ? marker->language
                                          : country_language(want->country);
        want->tz = s->time_zone ? s->time_zone : marker->time_zone;
}

static int tz_match(const pd_strs_t *tzs, const char *tz)
{
        int best = 0;
        for (size_t i = 0; tz && i < tzs->n; i++) {
                const char *slash = strchr(tz, '/');
                size_t area = slash ? (size_t)(slash - tz) : 0;
                if (!strcmp(tzs->v[i], tz))
                        best = 2;
                else if (area && !strncmp(tzs->v[i], tz, area + 1) && best < 1)
                        best = 1;
        }
        return best;
}

static int32_t load_of(const pd_pstate_t *pstate, const char *pm)
{
        for (size_t i = 0; pstate && i < pstate->n_loads; i++)
                if (pstate->loads[i].pm && !strcmp(pstate->loads[i].pm, pm))
                        return pstate->loads[i].active;
        return 0;
}

static void fit_compute(const pd_catalog_t *cat, const pm_t *pm,
                        const want_t *want, const pd_pstate_t *pstate,
                        int32_t partitions, fit_t *f)
{
        const weights_t *w = &cat->w;
        memset(f, 0, sizeof(*f));
        f->pm = pm;
        f->load = load_of(pstate, pm->name);
        f->cap =
            (int32_t)(((int64_t)pm->capacity + partitions - 1) / partitions);
        f->products_n = want->products->n;
        for (size_t i = 0; i < want->products->n; i++)
                f->products_hit +=
                    strs_match(&pm->products, want->products->v[i]);
        if (strs_match(&pm->regions, want->region))
                f->region = want->region;
        else if (strs_match(&pm->regions, want->country))
                f->region = want->country;
        if (strs_match(&pm->languages, want->language))
                f->language = want->language;
        f->tz = tz_match(&pm->time_zones, want->tz);
        f->tz_name = want->tz;
        double s = w->persona * pm->skill[want->persona];
        if (f->products_n)
                s += w->product * (double)f->products_hit /
                     (double)f->products_n;
        s += f->region ? w->region : 0;
        s += f->language ? w->language : 0;
        s += w->time_zone * f->tz / 2.0;
        f->score = llround(s * 1000);
}

/* a is less loaded than b: compare load/cap without division. */
static int load_cmp(const fit_t *a, const fit_t *b)
{
        int64_t l = (int64_t)a->load * b->cap, r = (int64_t)b->load * a->cap;
        return l < r ? -1 : l > r;
}

/* Under capacity: the least loaded among those within tolerance of the
 * best fit, then the better fit, then the name.  Everyone full: the least
 * over-loaded, then the better fit, then the name. */
static bool better(const fit_t *a, const fit_t *b, int64_t floor, bool full)
{
        bool result;
        int64_t over_a = a->load - a->cap, over_b = b->load - b->cap;
        bool near_a = a->score >= floor, near_b = b->score >= floor;
        int c = load_cmp(a, b);
        if (full && over_a != over_b)
                result = over_a < over_b;
        else if (!full && near_a != near_b)
                result = near_a;
        else if (!full && c)
                result = c < 0;
        else if (a->score != b->score)
                result = a->score > b->score;
        else
                result = strcmp(a->pm->name, b->pm->name) < 0;
        return result;
}

/* Picks from fits; sets *n_near to how many were close to the best. */
static const fit_t *choose(const fit_t *fits, size_t n, int64_t tolerance,
                           bool *full, size_t *n_near)
{
        int64_t best_score = INT64_MIN;
        const fit_t *pick = NULL;
        *full = true;
        *n_near = 0;
        for (size_t i = 0; i < n; i++)
                if (fits[i].load < fits[i].cap) {
                        *full = false;
                        if (fits[i].score > best_score)
                                best_score = fits[i].score;
                }
        int64_t floor = *full ? INT64_MIN : best_score - tolerance;
        for (size_t i = 0; i < n; i++) {
                if (*full || fits[i].load >= fits[i].cap)
                        continue;
                *n_near += fits[i].score >= floor;
        }
        for (size_t i = 0; i < n; i++) {
                if (!*full && fits[i].load >= fits[i].cap)
                        continue;
                if (!pick || better(&fits[i], pick, floor, *full))
                        pick = &fits[i];
        }
        return pick;
}

/* ---- the plan ----------------------------------------------------------- */

/* FNV-1a: a stable spread of customers over a pool, the same on every
 * platform and in every run. */
static uint32_t fnv1a(const char *a, const char *b)
{
        uint32_t h = 2166136261u;
        for (const char *p = a ? a : ""; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        h = (h ^ '/') * 16777619u;
        for (const char *p = b; *p; p++)
                h = (h ^ (uint8_t)*p) * 16777619u;
        return h;
}

/* The person for role: the manager, the manager's own team, else a pool
 * member chosen by customer so the same customer keeps the same people. */
static const char *member_for(const pd_catalog_t *cat, const char *pm_name,
                              const char *role, const char *customer_id)
{
        const pm_t *pm = pm_by_name(cat, pm_name);
        const pool_t *pool = pool_for(cat, role);
        const char *name = NULL;
        if (!strcmp(role, PM_ROLE))
                name = pm_name;
        else if (pm && pd_kvs_get(&pm->team, role))
                name = pd_kvs_get(&pm->team, role);
        else if (pool)
                name = pool->names.v[fnv1a(customer_id, role) % pool->names.n];
        return name;
}

static pd_err_t fill_team(const pd_catalog_t *cat, const tmpl_t *t,
                          const char *pm_name, const char *customer_id,
                          pd_arena_t *arena, pd_plan_t *plan)
{
        pd_err_t err = PD_OK;
        plan->team =
            pd_arena_alloc(arena, (t->team_roles.n + 1) * sizeof(*plan->team));
        if (!plan->team) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        /* The manager leads the team whether or not the template lists it. */
        plan->team[0].role = PM_ROLE;
        plan->team[0].name = pd_arena_strdup(arena, pm_name);
        plan->n_team = 1;
        for (size_t i = 0; i < t->team_roles.n; i++) {
                const char *role = t->team_roles.v[i];
                const char *name = member_for(cat, pm_name, role, customer_id);
                if (!strcmp(role, PM_ROLE) || !name)
                        continue;
                pd_team_member_t *m = &plan->team[plan->n_team++];
                m->role = pd_arena_strdup(arena, role);
                m->name = pd_arena_strdup(arena, name);
                if (!m->role || !m->name)
                        err = PD_ERR_NOMEM;
        }
        if (!plan->team[0].name)
                err = PD_ERR_NOMEM;
out:
        return err;
}

static pd_err_t copy_strs(pd_arena_t *arena, const pd_strs_t *src,
                          pd_strs_t *dst)
{
        pd_err_t err = PD_OK;
        dst->n = 0;
        dst->v = pd_arena_alloc(arena, (src->n + 1) * sizeof(*dst->v));
        if (!dst->v) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        for (size_t i = 0; i < src->n && !err; i++) {
                dst->v[dst->n] = pd_arena_strdup(arena, src->v[i]);
                if (!dst->v[dst->n++])
                        err = PD_ERR_NOMEM;
        }
out:
        return err;
}

static pd_err_t fill_milestones(const tmpl_t *t, int64_t start,
                                pd_arena_t *arena, pd_plan_t *plan)
{
        pd_err_t err = PD_OK;
        plan->milestones =
            pd_arena_alloc(arena, t->n_ms * sizeof(pd_milestone_t));
        if (!plan->milestones) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        for (size_t i = 0; i < t->n_ms; i++) {
                pd_milestone_t *m = &plan->milestones[i];
                m->name = pd_arena_strdup(arena, t->ms[i].name);
                m->owner_role = pd_arena_strdup(arena, t->ms[i].owner);
                m->due_at = pd_schedule_add_days(start, t->ms[i].day);
                if (!m->name || !m->owner_role)
                        err = PD_ERR_NOMEM;
        }
        plan->n_milestones = t->n_ms;
out:
        return err;
}

/* Fills everything but the reason from template t and manager pm_name. */
static pd_err_t fill_plan(const pd_catalog_t *cat, const tmpl_t *t,
                          const char *template_id, const char *pm_name,
                          const pd_marker_t *marker, const pd_event_t *sale,
                          pd_arena_t *arena, pd_plan_t *plan)
{
        const char *customer =
            marker->customer_id ? marker->customer_id : sale->customer_id;
        pd_err_t err;
        plan->customer_id = pd_arena_strdup(arena, customer);
        plan->persona = marker->dominant;
        plan->template_id = pd_arena_strdup(arena, template_id);
        plan->project_manager = pd_arena_strdup(arena, pm_name);
        plan->assigned_at = sale->occurred_at;
        err = fill_team(cat, t, pm_name, customer, arena, plan);
        if (!err)
                err = copy_strs(arena, &t->attendees, &plan->attendees);
        if (!err && (!plan->template_id || !plan->project_manager ||
                     (customer && !plan->customer_id)))
                err = PD_ERR_NOMEM;
        return err;
}

/* Counts one more plan for pm in a new arena array: the old array may be
 * owned by whoever decoded the partition state. */
static pd_err_t load_add(pd_pstate_t *pstate, const char *pm, pd_arena_t *arena)
{
        pd_err_t err = PD_OK;
        size_t n = pstate->n_loads, at = n;
        for (size_t i = 0; i < n; i++)
                if (pstate->loads[i].pm && !strcmp(pstate->loads[i].pm, pm))
                        at = i;
        pd_pm_load_t *loads = pd_arena_alloc(arena, (n + 1) * sizeof(*loads));
        if (!loads) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        if (n)
                memcpy(loads, pstate->loads, n * sizeof(*loads));
        if (at == n) {
                loads[n].pm = pd_arena_strdup(arena, pm);
                if (!loads[n].pm) {
                        err = PD_ERR_NOMEM;
                        goto out;
                }
                n++;
        }
        loads[at].active++;
        pstate->loads = loads;
        pstate->n_loads = n;
out:
        return err;
}

static char *assign_reason(const pd_catalog_t *cat, const pd_marker_t *marker,
                           const tmpl_t *t, const fit_t *f, bool full,
                           size_t n_near, const pd_pstate_t *pstate,
                           int32_t partitions, pd_arena_t *arena)
{
        char why[160];
        if (full)
                snprintf(why, sizeof(why),
                         "every manager at capacity: over capacity, the "
                         "least over-loaded best fit chosen");
        else if (n_near > 1)
                snprintf(why, sizeof(why),
                         "%zu managers within %.2f of the best fit, the "
                         "least loaded chosen",
                         n_near, cat->w.tolerance);
        else
                snprintf(why, sizeof(why), "best fit under capacity");
        return pd_arena_printf(
            arena,
            "persona %s (margin %.2f) -> template %s; project manager %s: "
            "fit %.2f (persona skill %.2f, products %zu/%zu, region %s, "
            "language %s, time zone %s%s); load %d/%d on partition %d "
            "(capacity %d over %d partitions); %s",
            pd_axis_name(t->persona), marker->margin, t->id, f->pm->name,
            (double)f->score / 1000.0, f->pm->skill[t->persona],
            f->products_hit, f->products_n, f->region ? f->region : "-",
            f->language ? f->language : "-",
            f->tz == 2   ? ""
            : f->tz == 1 ? "near "
                         : "-",
            f->tz ? f->tz_name : "", f->load + 1, f->cap, pstate->partition,
            f->pm->capacity, partitions, why);
}

static pd_err_t check_sale(const pd_marker_t *marker, const pd_event_t *sale)
{
        pd_err_t err = PD_OK;
        if (!sale || sale->kind != PD_EV_SALE_CLOSED ||
            (unsigned)marker->dominant >= PD_AXIS__CNT)
                err = PD_ERR_INVALID;
        return err;
}

pd_err_t pd_planner_assign(const pd_catalog_t *cat, const pd_marker_t *marker,
                           const pd_event_t *sale, pd_pstate_t *pstate,
                           int32_t partitions, pd_arena_t *arena,
                           pd_plan_t *plan)
{
        fit_t *fits = NULL;
        want_t want;
        bool full;
        size_t n_near;
        pd_err_t err = check_sale(marker, sale);
        if (err)
                goto out;
        partitions = partitions > 0 ? partitions : 1;
        const tmpl_t *t = tmpl_for(cat, marker->dominant);
        fits = malloc(cat->n_pms * sizeof(*fits));
        if (!fits) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        want_of(marker, sale, &want);
        for (size_t i = 0; i < cat->n_pms; i++)
                fit_compute(cat, &cat->pms[i], &want, pstate, partitions,
                            &fits[i]);
        const fit_t *f = choose(
            fits, cat->n_pms, llround(cat->w.tolerance * 1000), &full, &n_near);
        err = fill_plan(cat, t, t->id, f->pm->name, marker, sale, arena, plan);
        if (!err)
                err = fill_milestones(t, sale->occurred_at, arena, plan);
        if (!err)
                plan->reason = assign_reason(cat, marker, t, f, full, n_near,
                                             pstate, partitions, arena);
        if (!err && !plan->reason)
                err = PD_ERR_NOMEM;
        if (!err)
                err = load_add(pstate, f->pm->name, arena);
out:
        free(fits);
        return err;
}

static int32_t tmpl_day(const tmpl_t *t, const char *name, bool *found)
{
        int32_t day = 0;
        *found = false;
        for (size_t i = 0; name && i < t->n_ms && !*found; i++)
                if (!strcmp(t->ms[i].name, name)) {
                        day = t->ms[i].day;
                        *found = true;
                }
        return day;
}

/* Milestones still ahead are moved to the same day offset from the new
 * sale; those already passed or fired stay as history. */
static pd_err_t redate_milestones(const tmpl_t *t, const pd_marker_t *marker,
                                  int64_t sale_at, pd_arena_t *arena,
                                  pd_plan_t *plan, size_t *n_moved)
{
        pd_err_t err = PD_OK;
        size_t n = marker->n_milestones;
        *n_moved = 0;
        plan->milestones =
            pd_arena_alloc(arena, (n + 1) * sizeof(pd_milestone_t));
        if (!plan->milestones) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        for (size_t i = 0; i < n && !err; i++) {
                const pd_milestone_t *old = &marker->milestones[i];
                pd_milestone_t *m = &plan->milestones[i];
                bool found;
                int32_t day = tmpl_day(t, old->name, &found);
                *m = *old;
                m->name = pd_arena_strdup(arena, old->name);
                m->owner_role = pd_arena_strdup(arena, old->owner_role);
                if ((old->name && !m->name) ||
                    (old->owner_role && !m->owner_role))
                        err = PD_ERR_NOMEM;
                if (old->fired || old->due_at <= sale_at)
                        continue;
                if (found)
                        m->due_at = pd_schedule_add_days(sale_at, day);
                else if (marker->plan_started_at)
                        m->due_at += sale_at - marker->plan_started_at;
                *n_moved += m->due_at != old->due_at;
        }
        plan->n_milestones = n;
out:
        return err;
}

pd_err_t pd_planner_extend(const pd_catalog_t *cat, const pd_marker_t *marker,
                           const pd_event_t *sale, pd_arena_t *arena,
                           pd_plan_t *plan)
{
        size_t n_moved = 0;
        pd_err_t err = check_sale(marker, sale);
        if (!err && (!marker->project_manager || !marker->plan_template))
                err = PD_ERR_INVALID;
        if (err)
                goto out;
        /* A template renamed since the plan began: staff it like the
         * persona's current template, keep the plan's own name. */
        const tmpl_t *t = tmpl_by_id(cat, marker->plan_template);
        bool known = t != NULL;
        if (!t)
                t = tmpl_for(cat, marker->dominant);
        err = fill_plan(cat, t, marker->plan_template, marker->project_manager,
                        marker, sale, arena, plan);
        if (!err && marker->n_milestones)
                err = redate_milestones(t, marker, sale->occurred_at, arena,
                                        plan, &n_moved);
        else if (!err)
                err = fill_milestones(t, sale->occurred_at, arena, plan);
        if (err)
                goto out;
        plan->extends = true;
        plan->reason = pd_arena_printf(
            arena,
            "active plan extended: template %s%s and project manager %s "
            "kept; %zu open milestones re-dated from the sale",
            marker->plan_template, known ? "" : " (no longer in the catalog)",
            marker->project_manager,
            marker->n_milestones ? n_moved : plan->n_milestones);
        if (!plan->reason)
                err = PD_ERR_NOMEM;
out:
        return err;
}

void pd_planner_release(pd_pstate_t *pstate, const char *pm)
{
        for (size_t i = 0; pstate && pm && i < pstate->n_loads; i++)
                if (pstate->loads[i].pm && !strcmp(pstate->loads[i].pm, pm) &&
                    pstate->loads[i].active > 0)
                        pstate->loads[i].active--;
}

pd_strs_t pd_planner_attendees(const pd_catalog_t *cat, pd_axis_t persona)
{
        const tmpl_t *t = cat ? tmpl_for(cat, persona) : NULL;
        pd_strs_t result = {NULL, 0};
        if (t)
                result = t->attendees;
        return result;
}
