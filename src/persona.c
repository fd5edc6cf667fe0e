/* persona-dna: the persona model (DESIGN §4).
 *
 * The model file is loaded once into malloc-owned tables whose keys are
 * normalised (folded to ASCII, lowercase, punctuation dropped), so that
 * "GTXPro" in a CRM export still finds "GTX Pro" in the model.  Applying an
 * event never allocates outside the caller's arena and never reads a clock:
 * the same marker, event and model give the same result on every worker. */
#include "persona.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MS_PER_DAY    86400000.0
#define NAX           PD_AXIS__CNT
#define DEFAULT_QUEUE "general-support"

/* ---- model tables ------------------------------------------------------ */

/* The head of every keyed table entry. */
typedef struct named_s {
        char *key;  /* normalised: what events are matched against */
        char *name; /* as written in the file: what signals show */
} named_t;

typedef struct wentry_s {
        named_t id;
        double w[NAX];
} wentry_t;

/* A lookup table "value -> weights", sorted by key; "*" is the fallback. */
typedef struct wtable_s {
        wentry_t *v;
        size_t n;
        bool has_any;
        wentry_t any;
} wtable_t;

typedef struct checkpoint_s {
        named_t id;
        wtable_t answers;
        bool scan_text; /* free-text answers go through the lexicons */
} checkpoint_t;

/* Inclusive [min, max]; the first band in file order that holds a value
 * wins. */
typedef struct band_s {
        char *name;
        double min, max;
        double w[NAX];
} band_t;

typedef struct bands_s {
        band_t *v;
        size_t n;
} bands_t;

typedef struct term_s {
        char *pat;  /* " word " (whole word) or " word" (prefix) */
        char *name; /* normalised term without the '*', for signals */
        pd_axis_t axis;
        double w;
} term_t;

typedef struct lang_s {
        char code[3];
        term_t *terms;
        size_t n_terms;
        char **stop; /* sorted, normalised */
        size_t n_stop;
} lang_t;

typedef struct rule_s {
        pd_axis_t persona; /* PD_AXIS__CNT: any */
        char **cats;       /* normalised keys; none: any */
        size_t n_cats;
        char **prios;
        size_t n_prios;
        char *queue;
} rule_t;

struct pd_model_s {
        int32_t version;
        double half_life_ms;
        double hysteresis;
        char default_lang[3];
        checkpoint_t *cps; /* sorted by key */
        size_t n_cps;
        wtable_t sector, region, products, category, priority, auto_renew;
        bands_t employees, revenue, nps, csat, annual_value;
        double text_cap; /* per axis per event; 0: no cap */
        lang_t *langs;   /* sorted by code */
        size_t n_langs;
        rule_t *rules;
        size_t n_rules;
        char *route_default;
};

/* ---- text normalisation ------------------------------------------------- */

/* Marks a code point that is kept as it is (a letter of another script). */
static const char raw_cp[] = "";

static const char *latin1_fold[64] = {
    "a", "a", "a", "a",  "a",  "a",  "ae", "c", "e", "e", "e",  "e", "i",
    "i", "i", "i", "d",  "n",  "o",  "o",  "o", "o", "o", NULL, "o", "u",
    "u", "u", "u", "y",  "th", "ss", "a",  "a", "a", "a", "a",  "a", "ae",
    "c", "e", "e", "e",  "e",  "i",  "i",  "i", "i", "d", "n",  "o", "o",
    "o", "o", "o", NULL, "o",  "u",  "u",  "u", "u", "y", "th", "y"};

static const struct {
        uint32_t lo, hi;
        const char *fold;
} latin_ext_fold[] = {
    {0x100, 0x105, "a"}, {0x106, 0x10d, "c"},  {0x10e, 0x111, "d"},
    {0x112, 0x11b, "e"}, {0x11c, 0x123, "g"},  {0x124, 0x127, "h"},
    {0x128, 0x131, "i"}, {0x132, 0x133, "ij"}, {0x134, 0x135, "j"},
    {0x136, 0x138, "k"}, {0x139, 0x142, "l"},  {0x143, 0x14b, "n"},
    {0x14c, 0x151, "o"}, {0x152, 0x153, "oe"}, {0x154, 0x159, "r"},
    {0x15a, 0x161, "s"}, {0x162, 0x167, "t"},  {0x168, 0x173, "u"},
    {0x174, 0x175, "w"}, {0x176, 0x178, "y"},  {0x179, 0x17e, "z"},
    {0x17f, 0x17f, "s"}, {0x218, 0x219, "s"},  {0x21a, 0x21b, "t"},
};

/* Decodes one UTF-8 sequence; an invalid byte decodes as U+FFFD, length 1,
 * so that broken input degrades to a word break rather than a failure. */
static size_t utf8_decode(const unsigned char *p, uint32_t *cp)
{
        size_t n = p[0] < 0x80 ? 1 : p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : 2;
        if (p[0] >= 0x80 && p[0] < 0xc2)
                n = 0;
        uint32_t c = n == 1 ? p[0] : n == 2 ? p[0] & 0x1f : p[0] & 0x0f;
        if (n == 4)
                c = p[0] & 0x07;
        for (size_t i = 1; i < n; i++) {
                if ((p[i] & 0xc0) != 0x80) {
                        n = 0;
                        break;
                }
                c = (c << 6) | (p[i] & 0x3f);
        }
        if (n == 0 || p[0] > 0xf4) {
                *cp = 0xfffd;
                return 1;
        }
        *cp = c;
        return n;
}

/* Returns what cp contributes to a word: folded ASCII, raw_cp (keep the
 * bytes) or NULL (a word break). */
static const char *fold_cp(uint32_t cp, char ascii[2])
{
        if (cp < 0x80) {
                if (!((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
                      (cp >= '0' && cp <= '9')))
                        return NULL;
                ascii[0] = (char)(cp >= 'A' && cp <= 'Z' ? cp + 32 : cp);
                ascii[1] = '\0';
                return ascii;
        }
        if (cp >= 0xc0 && cp <= 0xff)
                return latin1_fold[cp - 0xc0];
        for (size_t i = 0;
             i < sizeof(latin_ext_fold) / sizeof(latin_ext_fold[0]); i++)
                if (cp >= latin_ext_fold[i].lo && cp <= latin_ext_fold[i].hi)
                        return latin_ext_fold[i].fold;
        /* Latin-1 punctuation, general punctuation (’ “ — …), CJK
         * punctuation, BOM and U+FFFD separate words. */
        if (cp < 0xc0 || (cp >= 0x2000 && cp <= 0x206f) ||
            (cp >= 0x3000 && cp <= 0x303f) || cp == 0xfeff || cp == 0xfffd)
                return NULL;
        return raw_cp;
}

/* Appends the normalised form of s at out[o]: words of folded lowercase
 * letters and digits, each followed by one space, the whole starting with a
 * space, so " word " finds whole words with strstr.  out needs
 * o + 2 * strlen(s) + 3 bytes.  Returns the new length. */
static size_t norm_append(char *out, size_t o, const char *s)
{
        const unsigned char *p = (const unsigned char *)s;
        if (o == 0)
                out[o++] = ' ';
        while (p && *p) {
                uint32_t cp;
                char ascii[2];
                size_t n = utf8_decode(p, &cp);
                /* CRM exports often carry newlines escaped as "\n". */
                if (p[0] == '\\' && (p[1] == 'n' || p[1] == 'r' || p[1] == 't'))
                        n = 2;
                const char *f =
                    n == 2 && p[0] == '\\' ? NULL : fold_cp(cp, ascii);
                if (f == raw_cp) {
                        memcpy(out + o, p, n);
                        o += n;
                } else if (f) {
                        for (; *f; f++)
                                out[o++] = *f;
                } else if (out[o - 1] != ' ') {
                        out[o++] = ' ';
                }
                p += n;
        }
        if (out[o - 1] != ' ')
                out[o++] = ' ';
        out[o] = '\0';
        return o;
}

/* Fills buf (2 * strlen(s) + 3 bytes) with the lookup key of s: its
 * normalised form without spaces, so "GTXPro" and "GTX Pro" meet. */
static char *norm_key(char *buf, const char *s)
{
        size_t n = norm_append(buf, 0, s), o = 0;
        for (size_t i = 0; i < n; i++)
                if (buf[i] != ' ')
                        buf[o++] = buf[i];
        buf[o] = '\0';
        return buf;
}

static char *norm_key_dup(const char *s)
{
        char *buf = malloc(2 * strlen(s) + 3);
        return buf ? norm_key(buf, s) : NULL;
}

static char *norm_key_arena(pd_arena_t *arena, const char *s)
{
        char *buf = pd_arena_alloc(arena, 2 * strlen(s) + 3);
        return buf ? norm_key(buf, s) : NULL;
}

/* ---- load: error reporting ---------------------------------------------- */

typedef struct loader_s {
        const char *path;
        const char *text;
        size_t len;
        char *errstr;
        size_t errstr_size;
        size_t errlen;
        int nerr;
        bool nomem;
        pd_model_t *model;
} loader_t;

/* jansson gives no positions for a parsed value, so a semantic error is
 * placed at the first `"key":` in the file text at or after the enclosing
 * key's position: exact for a unique key, close enough otherwise. */
static size_t key_pos(const loader_t *ld, size_t from, const char *key)
{
        size_t klen = strlen(key);
        const char *p = ld->text + from, *end = ld->text + ld->len;
        while ((p = memchr(p, '"', (size_t)(end - p))) && p + klen + 2 <= end) {
                const char *q = p + 1 + klen;
                if (!memcmp(p + 1, key, klen) && *q == '"') {
                        for (q++; q < end && strchr(" \t\r\n", *q); q++)
                                ;
                        if (q < end && *q == ':')
                                return (size_t)(p - ld->text);
                }
                p++;
        }
        return from;
}

static int line_at(const loader_t *ld, size_t pos)
{
        int line = 1;
        for (size_t i = 0; i < pos && i < ld->len; i++)
                line += ld->text[i] == '\n';
        return line;
}

/* Appends "path:line: key: reason" to errstr; every problem is reported,
 * one per line, so a model is fixed in one pass. */
__attribute__((format(printf, 4, 5))) static void
report(loader_t *ld, size_t pos, const char *key, const char *fmt, ...)
{
        char reason[512];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(reason, sizeof(reason), fmt, ap);
        va_end(ap);
        ld->nerr++;
        if (ld->errlen >= ld->errstr_size)
                return;
        int n = snprintf(ld->errstr + ld->errlen, ld->errstr_size - ld->errlen,
                         "%s%s:%d: %s: %s", ld->errlen ? "\n" : "", ld->path,
                         line_at(ld, pos), key, reason);
        if (n > 0)
                ld->errlen += (size_t)n;
}

/* Formats a key path for messages; one too long for buf is cut to end in
 * "...", which still names the place. */
__attribute__((format(printf, 3, 4))) static void
key_path(char *buf, size_t size, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(buf, size, fmt, ap);
        va_end(ap);
        if (n >= (int)size && size > 4)
                memcpy(buf + size - 4, "...", 4);
}

static void join(char *buf, size_t size, const char *where, const char *key)
{
        key_path(buf, size, "%s%s%s", where, *where ? "." : "", key);
}

static void check_keys(loader_t *ld, const json_t *obj, const char *where,
                       size_t pos, const char *const *allowed)
{
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)obj, key, val)
        {
                bool ok = key[0] == '_';
                for (size_t i = 0; !ok && allowed[i]; i++)
                        ok = !strcmp(key, allowed[i]);
                if (!ok) {
                        char path[256];
                        join(path, sizeof(path), where, key);
                        report(ld, key_pos(ld, pos, key), path, "unknown key");
                }
        }
}

static bool expect(loader_t *ld, const json_t *j, json_type type,
                   const char *where, size_t pos)
{
        static const char *names[] = {"an object",  "an array", "a string",
                                      "an integer", "a number", "a boolean",
                                      "a boolean",  "null"};
        if (json_typeof(j) == type ||
            (type == JSON_REAL && json_is_number(j)) ||
            (type == JSON_TRUE && json_is_boolean(j)))
                return true;
        report(ld, pos, where, "must be %s", names[type]);
        return false;
}

static char *xstrdup(loader_t *ld, const char *s)
{
        char *d = strdup(s);
        if (!d)
                ld->nomem = true;
        return d;
}

/* ---- load: weights, tables, bands -------------------------------------- */

static void load_weights(loader_t *ld, const json_t *j, const char *where,
                         size_t pos, double w[NAX])
{
        const char *key;
        json_t *val;
        memset(w, 0, sizeof(double) * NAX);
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        json_object_foreach((json_t *)j, key, val)
        {
                char path[256];
                size_t kpos = key_pos(ld, pos, key);
                pd_axis_t axis = pd_axis_parse(key);
                join(path, sizeof(path), where, key);
                if (axis == PD_AXIS__CNT)
                        report(ld, kpos, path,
                               "unknown axis (expected simplicity, "
                               "marketing, technical or consulting)");
                else if (expect(ld, val, JSON_REAL, path, kpos))
                        w[axis] = json_number_value(val);
                if (axis != PD_AXIS__CNT && !isfinite(w[axis]))
                        report(ld, kpos, path, "must be finite");
        }
}

static int named_cmp(const void *a, const void *b)
{
        return strcmp(((const named_t *)a)->key, ((const named_t *)b)->key);
}

static void free_named(named_t *id)
{
        free(id->key);
        free(id->name);
}

static void free_wtable(wtable_t *t)
{
        for (size_t i = 0; i < t->n; i++)
                free_named(&t->v[i].id);
        free(t->v);
        free_named(&t->any.id);
        memset(t, 0, sizeof(*t));
}

/* Sorts entries (each starting with a named_t) for bsearch and rejects two
 * names that normalise alike. */
static void sort_unique(loader_t *ld, void *v, size_t n, size_t size,
                        const char *where, size_t pos)
{
        if (n > 1)
                qsort(v, n, size, named_cmp);
        for (size_t i = 1; i < n; i++) {
                const named_t *a =
                    (const named_t *)((char *)v + (i - 1) * size);
                const named_t *b = (const named_t *)((char *)v + i * size);
                if (!strcmp(a->key, b->key)) {
                        char path[256];
                        join(path, sizeof(path), where, b->name);
                        report(ld, key_pos(ld, pos, b->name), path,
                               "same key as \"%s\" once normalised", a->name);
                }
        }
}

static bool set_key(loader_t *ld, named_t *e, const char *name,
                    const char *path, size_t kpos)
{
        e->name = xstrdup(ld, name);
        e->key = norm_key_dup(name);
        if (!e->name || !e->key) {
                ld->nomem = true;
                return false;
        }
        if (!e->key[0])
                report(ld, kpos, path, "key has no letters or digits");
        return true;
}

static void load_wtable(loader_t *ld, const json_t *j, const char *where,
                        size_t pos, wtable_t *t)
{
        const char *key;
        json_t *val;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        t->v = calloc(json_object_size(j) + 1, sizeof(*t->v));
        if (!t->v) {
                ld->nomem = true;
                return;
        }
        json_object_foreach((json_t *)j, key, val)
        {
                char path[256];
                size_t kpos = key_pos(ld, pos, key);
                join(path, sizeof(path), where, key);
                wentry_t *e = !strcmp(key, "*") ? &t->any : &t->v[t->n++];
                t->has_any |= e == &t->any;
                if (e == &t->any)
                        e->id.name = xstrdup(ld, "*");
                else if (!set_key(ld, &e->id, key, path, kpos))
                        return;
                load_weights(ld, val, path, kpos, e->w);
        }
        sort_unique(ld, t->v, t->n, sizeof(*t->v), where, pos);
}

static void load_band(loader_t *ld, const json_t *j, const char *where,
                      size_t pos, band_t *b)
{
        static const char *const keys[] = {"name", "min", "max", "weights",
                                           NULL};
        static const char *const bounds[] = {"min", "max"};
        const json_t *name = json_object_get(j, "name");
        const json_t *weights = json_object_get(j, "weights");
        char path[256];
        check_keys(ld, j, where, pos, keys);
        join(path, sizeof(path), where, "name");
        if (!name || !json_is_string(name))
                report(ld, pos, path, "required string");
        else
                b->name = xstrdup(ld, json_string_value(name));
        b->min = -INFINITY;
        b->max = INFINITY;
        for (int i = 0; i < 2; i++) {
                const json_t *v = json_object_get(j, bounds[i]);
                size_t kpos = key_pos(ld, pos, bounds[i]);
                join(path, sizeof(path), where, bounds[i]);
                if (v && expect(ld, v, JSON_REAL, path, kpos))
                        *(i ? &b->max : &b->min) = json_number_value(v);
        }
        join(path, sizeof(path), where, "min");
        if (b->min > b->max)
                report(ld, key_pos(ld, pos, "min"), path, "above max");
        join(path, sizeof(path), where, "weights");
        if (weights)
                load_weights(ld, weights, path, key_pos(ld, pos, "weights"),
                             b->w);
        else
                report(ld, pos, path, "required object");
}

/* An array element has no key to find: anchor it at its own first key,
 * searched after the previous element's. */
static size_t elem_pos(loader_t *ld, const json_t *el, size_t *cursor)
{
        const char *first =
            json_object_iter_key(json_object_iter((json_t *)el));
        size_t epos = first ? key_pos(ld, *cursor, first) : *cursor;
        *cursor = epos + 1;
        return epos;
}

static void load_bands(loader_t *ld, const json_t *j, const char *where,
                       size_t pos, bands_t *bands)
{
        size_t cursor = pos;
        if (!expect(ld, j, JSON_ARRAY, where, pos))
                return;
        bands->v = calloc(json_array_size(j) + 1, sizeof(*bands->v));
        if (!bands->v) {
                ld->nomem = true;
                return;
        }
        for (size_t i = 0; i < json_array_size(j); i++) {
                const json_t *el = json_array_get(j, i);
                char path[256];
                key_path(path, sizeof(path), "%s[%zu]", where, i);
                if (!expect(ld, el, JSON_OBJECT, path, cursor))
                        continue;
                size_t epos = elem_pos(ld, el, &cursor);
                load_band(ld, el, path, epos, &bands->v[bands->n++]);
        }
}

static void free_bands(bands_t *b)
{
        for (size_t i = 0; i < b->n; i++)
                free(b->v[i].name);
        free(b->v);
        memset(b, 0, sizeof(*b));
}

/* ---- load: sections ----------------------------------------------------- */

/* Fetches member key of obj with its text position and dotted path. */
typedef struct member_s {
        const json_t *j;
        size_t pos;
        char path[256];
} member_t;

static bool member(loader_t *ld, const json_t *obj, const char *where,
                   size_t pos, const char *key, member_t *m)
{
        m->j = json_object_get(obj, key);
        m->pos = m->j ? key_pos(ld, pos, key) : pos;
        join(m->path, sizeof(m->path), where, key);
        return m->j != NULL;
}

static void load_checkpoint(loader_t *ld, const json_t *j, const char *where,
                            size_t pos, checkpoint_t *cp)
{
        static const char *const keys[] = {"answers", "scan_text", NULL};
        member_t m;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        check_keys(ld, j, where, pos, keys);
        if (member(ld, j, where, pos, "scan_text", &m) &&
            expect(ld, m.j, JSON_TRUE, m.path, m.pos))
                cp->scan_text = json_is_true(m.j);
        if (member(ld, j, where, pos, "answers", &m))
                load_wtable(ld, m.j, m.path, m.pos, &cp->answers);
        else
                report(ld, pos, m.path, "required object");
}

static void load_checkpoints(loader_t *ld, const json_t *j, const char *where,
                             size_t pos)
{
        pd_model_t *model = ld->model;
        const char *key;
        json_t *val;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        model->cps = calloc(json_object_size(j) + 1, sizeof(*model->cps));
        if (!model->cps) {
                ld->nomem = true;
                return;
        }
        json_object_foreach((json_t *)j, key, val)
        {
                char path[256];
                size_t kpos = key_pos(ld, pos, key);
                checkpoint_t *cp = &model->cps[model->n_cps++];
                join(path, sizeof(path), where, key);
                if (!set_key(ld, &cp->id, key, path, kpos))
                        return;
                load_checkpoint(ld, val, path, kpos, cp);
        }
        sort_unique(ld, model->cps, model->n_cps, sizeof(*model->cps), where,
                    pos);
}

static void load_firmographics(loader_t *ld, const json_t *j, const char *where,
                               size_t pos)
{
        static const char *const keys[] = {"sector", "employees", "revenue",
                                           "region", NULL};
        pd_model_t *model = ld->model;
        member_t m;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        check_keys(ld, j, where, pos, keys);
        if (member(ld, j, where, pos, "sector", &m))
                load_wtable(ld, m.j, m.path, m.pos, &model->sector);
        if (member(ld, j, where, pos, "region", &m))
                load_wtable(ld, m.j, m.path, m.pos, &model->region);
        if (member(ld, j, where, pos, "employees", &m))
                load_bands(ld, m.j, m.path, m.pos, &model->employees);
        if (member(ld, j, where, pos, "revenue", &m))
                load_bands(ld, m.j, m.path, m.pos, &model->revenue);
}

static void load_tickets(loader_t *ld, const json_t *j, const char *where,
                         size_t pos)
{
        static const char *const keys[] = {"category", "priority", NULL};
        member_t m;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        check_keys(ld, j, where, pos, keys);
        if (member(ld, j, where, pos, "category", &m))
                load_wtable(ld, m.j, m.path, m.pos, &ld->model->category);
        if (member(ld, j, where, pos, "priority", &m))
                load_wtable(ld, m.j, m.path, m.pos, &ld->model->priority);
}

static void load_surveys(loader_t *ld, const json_t *j, const char *where,
                         size_t pos)
{
        static const char *const keys[] = {"NPS", "CSAT", NULL};
        member_t m;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        check_keys(ld, j, where, pos, keys);
        if (member(ld, j, where, pos, "NPS", &m))
                load_bands(ld, m.j, m.path, m.pos, &ld->model->nps);
        if (member(ld, j, where, pos, "CSAT", &m))
                load_bands(ld, m.j, m.path, m.pos, &ld->model->csat);
}

/* "renewals": {"auto_renew": {"true": w, "false": w}, "annual_value":
 * [bands]}: how a customer renews says something of who they are. */
static void load_renewals(loader_t *ld, const json_t *j, const char *where,
                          size_t pos)
{
        static const char *const keys[] = {"auto_renew", "annual_value", NULL};
        member_t m;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        check_keys(ld, j, where, pos, keys);
        if (member(ld, j, where, pos, "auto_renew", &m))
                load_wtable(ld, m.j, m.path, m.pos, &ld->model->auto_renew);
        if (member(ld, j, where, pos, "annual_value", &m))
                load_bands(ld, m.j, m.path, m.pos, &ld->model->annual_value);
}

/* ---- load: text lexicons ------------------------------------------------ */

static int str_cmp(const void *a, const void *b)
{
        return strcmp(*(char *const *)a, *(char *const *)b);
}

static lang_t *lang_get(loader_t *ld, const char *code, const char *where,
                        size_t pos)
{
        pd_model_t *model = ld->model;
        for (size_t i = 0; i < model->n_langs; i++)
                if (!strcmp(model->langs[i].code, code))
                        return &model->langs[i];
        if (strlen(code) != 2 || code[0] < 'a' || code[0] > 'z' ||
            code[1] < 'a' || code[1] > 'z') {
                report(ld, pos, where,
                       "language must be a lowercase ISO 639-1 code");
                return NULL;
        }
        lang_t *v = realloc(model->langs, (model->n_langs + 1) * sizeof(*v));
        if (!v) {
                ld->nomem = true;
                return NULL;
        }
        model->langs = v;
        memset(&v[model->n_langs], 0, sizeof(*v));
        memcpy(v[model->n_langs].code, code, 3);
        return &v[model->n_langs++];
}

static void load_stopwords(loader_t *ld, const json_t *j, const char *where,
                           size_t pos, lang_t *lang)
{
        if (!expect(ld, j, JSON_ARRAY, where, pos))
                return;
        lang->stop = calloc(json_array_size(j) + 1, sizeof(*lang->stop));
        if (!lang->stop) {
                ld->nomem = true;
                return;
        }
        for (size_t i = 0; i < json_array_size(j); i++) {
                const char *s = json_string_value(json_array_get(j, i));
                char *k = s ? norm_key_dup(s) : NULL;
                char *sp = s ? strpbrk(s, " \t") : NULL;
                if (!s || !k || !k[0] || sp) {
                        report(ld, pos, where, "[%zu] must be a single word",
                               i);
                        free(k);
                        continue;
                }
                lang->stop[lang->n_stop++] = k;
        }
        qsort(lang->stop, lang->n_stop, sizeof(*lang->stop), str_cmp);
}

/* Builds the search pattern of a term: " word " or, for "word*", " word"
 * (any word starting so). */
static bool make_term(loader_t *ld, term_t *t, const char *src,
                      const char *path, size_t pos)
{
        size_t len = strlen(src);
        bool prefix = len && src[len - 1] == '*';
        char *buf = malloc(2 * len + 3);
        if (!buf) {
                ld->nomem = true;
                return false;
        }
        char *copy = strndup(src, prefix ? len - 1 : len);
        size_t n = copy ? norm_append(buf, 0, copy) : 0;
        if (!copy || strchr(copy, '*') || n < 3) {
                report(ld, pos, path,
                       "term needs a letter or digit; '*' only at the end");
                free(buf);
                free(copy);
                return false;
        }
        free(copy);
        if (prefix)
                buf[--n] = '\0';
        t->pat = buf;
        t->name = strndup(buf + 1, prefix ? n - 1 : n - 2);
        if (!t->name) {
                ld->nomem = true;
                free(t->pat);
                t->pat = NULL;
        }
        return t->name != NULL;
}

static void add_terms(loader_t *ld, const json_t *j, const char *where,
                      size_t pos, lang_t *lang, pd_axis_t axis)
{
        const char *key;
        json_t *val;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        term_t *v = realloc(lang->terms,
                            (lang->n_terms + json_object_size(j)) * sizeof(*v) +
                                sizeof(*v));
        if (!v) {
                ld->nomem = true;
                return;
        }
        lang->terms = v;
        json_object_foreach((json_t *)j, key, val)
        {
                char path[256];
                size_t kpos = key_pos(ld, pos, key);
                term_t *t = &lang->terms[lang->n_terms];
                join(path, sizeof(path), where, key);
                memset(t, 0, sizeof(*t));
                if (!make_term(ld, t, key, path, kpos))
                        continue;
                lang->n_terms++;
                t->axis = axis;
                if (expect(ld, val, JSON_REAL, path, kpos))
                        t->w = json_number_value(val);
                for (size_t i = 0; i + 1 < lang->n_terms; i++)
                        if (lang->terms[i].axis == axis &&
                            !strcmp(lang->terms[i].name, t->name))
                                report(ld, kpos, path,
                                       "same term as \"%s\" once normalised",
                                       lang->terms[i].name);
        }
}

static void load_lexicon(loader_t *ld, const json_t *j, const char *where,
                         size_t pos, lang_t *lang)
{
        const char *key;
        json_t *val;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        json_object_foreach((json_t *)j, key, val)
        {
                char path[256];
                size_t kpos = key_pos(ld, pos, key);
                pd_axis_t axis = pd_axis_parse(key);
                join(path, sizeof(path), where, key);
                if (axis == PD_AXIS__CNT)
                        report(ld, kpos, path,
                               "unknown axis (expected simplicity, "
                               "marketing, technical or consulting)");
                else
                        add_terms(ld, val, path, kpos, lang, axis);
        }
}

/* "stopwords" and "lexicons" are both maps of language -> list. */
static void load_per_lang(loader_t *ld, const json_t *j, const char *where,
                          size_t pos, bool stopwords)
{
        const char *key;
        json_t *val;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        json_object_foreach((json_t *)j, key, val)
        {
                char path[256];
                size_t kpos = key_pos(ld, pos, key);
                join(path, sizeof(path), where, key);
                lang_t *lang = lang_get(ld, key, path, kpos);
                if (!lang)
                        continue;
                if (stopwords)
                        load_stopwords(ld, val, path, kpos, lang);
                else
                        load_lexicon(ld, val, path, kpos, lang);
        }
}

static int lang_cmp(const void *a, const void *b)
{
        return strcmp(((const lang_t *)a)->code, ((const lang_t *)b)->code);
}

static void load_text(loader_t *ld, const json_t *j, const char *where,
                      size_t pos)
{
        static const char *const keys[] = {"max_per_axis", "stopwords",
                                           "lexicons", NULL};
        pd_model_t *model = ld->model;
        member_t m;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        check_keys(ld, j, where, pos, keys);
        if (member(ld, j, where, pos, "max_per_axis", &m) &&
            expect(ld, m.j, JSON_REAL, m.path, m.pos)) {
                model->text_cap = json_number_value(m.j);
                if (!(model->text_cap >= 0) || !isfinite(model->text_cap))
                        report(ld, m.pos, m.path, "must be >= 0");
        }
        if (member(ld, j, where, pos, "stopwords", &m))
                load_per_lang(ld, m.j, m.path, m.pos, true);
        if (member(ld, j, where, pos, "lexicons", &m))
                load_per_lang(ld, m.j, m.path, m.pos, false);
        if (model->n_langs > 1)
                qsort(model->langs, model->n_langs, sizeof(*model->langs),
                      lang_cmp);
}

/* ---- load: routing ------------------------------------------------------ */

/* A string or an array of strings, kept as normalised keys. */
static void load_keys(loader_t *ld, const json_t *j, const char *where,
                      size_t pos, char ***keysp, size_t *np)
{
        size_t n = json_is_array(j) ? json_array_size(j) : 1;
        if (!json_is_string(j) && !expect(ld, j, JSON_ARRAY, where, pos))
                return;
        *keysp = calloc(n + 1, sizeof(**keysp));
        if (!*keysp) {
                ld->nomem = true;
                return;
        }
        for (size_t i = 0; i < n; i++) {
                const json_t *el = json_is_array(j) ? json_array_get(j, i) : j;
                char *k = json_is_string(el)
                              ? norm_key_dup(json_string_value(el))
                              : NULL;
                if (!k) {
                        report(ld, pos, where, "[%zu] must be a string", i);
                        continue;
                }
                (*keysp)[(*np)++] = k;
        }
}

static void load_rule(loader_t *ld, const json_t *j, const char *where,
                      size_t pos, rule_t *rule)
{
        static const char *const keys[] = {"persona", "category", "priority",
                                           "queue", NULL};
        member_t m;
        check_keys(ld, j, where, pos, keys);
        rule->persona = PD_AXIS__CNT;
        if (member(ld, j, where, pos, "persona", &m) &&
            expect(ld, m.j, JSON_STRING, m.path, m.pos)) {
                rule->persona = pd_axis_parse(json_string_value(m.j));
                if (rule->persona == PD_AXIS__CNT)
                        report(ld, m.pos, m.path,
                               "unknown axis \"%s\" (expected simplicity, "
                               "marketing, technical or consulting)",
                               json_string_value(m.j));
        }
        if (member(ld, j, where, pos, "category", &m))
                load_keys(ld, m.j, m.path, m.pos, &rule->cats, &rule->n_cats);
        if (member(ld, j, where, pos, "priority", &m))
                load_keys(ld, m.j, m.path, m.pos, &rule->prios, &rule->n_prios);
        if (!member(ld, j, where, pos, "queue", &m) || !json_is_string(m.j) ||
            !json_string_length(m.j))
                report(ld, m.pos, m.path, "required non-empty string");
        else
                rule->queue = xstrdup(ld, json_string_value(m.j));
}

static void load_rules(loader_t *ld, const json_t *j, const char *where,
                       size_t pos)
{
        pd_model_t *model = ld->model;
        size_t cursor = pos;
        if (!expect(ld, j, JSON_ARRAY, where, pos))
                return;
        model->rules = calloc(json_array_size(j) + 1, sizeof(*model->rules));
        if (!model->rules) {
                ld->nomem = true;
                return;
        }
        for (size_t i = 0; i < json_array_size(j); i++) {
                const json_t *el = json_array_get(j, i);
                char path[256];
                key_path(path, sizeof(path), "%s[%zu]", where, i);
                if (!expect(ld, el, JSON_OBJECT, path, cursor))
                        continue;
                size_t epos = elem_pos(ld, el, &cursor);
                load_rule(ld, el, path, epos, &model->rules[model->n_rules++]);
        }
}

static void load_routing(loader_t *ld, const json_t *j, const char *where,
                         size_t pos)
{
        static const char *const keys[] = {"default", "rules", NULL};
        member_t m;
        if (!expect(ld, j, JSON_OBJECT, where, pos))
                return;
        check_keys(ld, j, where, pos, keys);
        if (member(ld, j, where, pos, "default", &m) &&
            expect(ld, m.j, JSON_STRING, m.path, m.pos)) {
                free(ld->model->route_default);
                ld->model->route_default = xstrdup(ld, json_string_value(m.j));
        }
        if (member(ld, j, where, pos, "rules", &m))
                load_rules(ld, m.j, m.path, m.pos);
}

/* ---- load: root --------------------------------------------------------- */

static void load_scalars(loader_t *ld, const json_t *root)
{
        pd_model_t *model = ld->model;
        member_t m;
        if (!member(ld, root, "", 0, "version", &m) || !json_is_integer(m.j) ||
            json_integer_value(m.j) < 1 || json_integer_value(m.j) > INT32_MAX)
                report(ld, m.pos, "version", "required integer >= 1");
        else
                model->version = (int32_t)json_integer_value(m.j);
        if (!member(ld, root, "", 0, "half_life_days", &m) ||
            !json_is_number(m.j) || !(json_number_value(m.j) > 0) ||
            !isfinite(json_number_value(m.j)))
                report(ld, m.pos, "half_life_days", "required number > 0");
        else
                model->half_life_ms = json_number_value(m.j) * MS_PER_DAY;
        if (!member(ld, root, "", 0, "hysteresis", &m) ||
            !json_is_number(m.j) || !(json_number_value(m.j) >= 0) ||
            !isfinite(json_number_value(m.j)))
                report(ld, m.pos, "hysteresis", "required number >= 0");
        else
                model->hysteresis = json_number_value(m.j);
        memcpy(model->default_lang, "en", 3);
        if (member(ld, root, "", 0, "default_language", &m) &&
            (!json_is_string(m.j) || json_string_length(m.j) != 2))
                report(ld, m.pos, m.path, "must be an ISO 639-1 code");
        else if (m.j)
                memcpy(model->default_lang, json_string_value(m.j), 3);
}

static const lang_t *find_lang(const pd_model_t *model, const char *code)
{
        for (size_t i = 0; code && i < model->n_langs; i++)
                if (!strcmp(model->langs[i].code, code))
                        return &model->langs[i];
        return NULL;
}

static void load_root(loader_t *ld, const json_t *root)
{
        static const char *const keys[] = {
            "version",          "description", "half_life_days", "hysteresis",
            "default_language", "checkpoints", "firmographics",  "products",
            "tickets",          "surveys",     "renewals",       "text",
            "routing",          NULL};
        static const struct {
                const char *key;
                void (*load)(loader_t *, const json_t *, const char *, size_t);
        } sections[] = {
            {"checkpoints", load_checkpoints},
            {"firmographics", load_firmographics},
            {"tickets", load_tickets},
            {"surveys", load_surveys},
            {"renewals", load_renewals},
            {"text", load_text},
            {"routing", load_routing},
        };
        member_t m;
        if (!json_is_object(root)) {
                report(ld, 0, "(root)", "must be a JSON object");
                return;
        }
        check_keys(ld, root, "", 0, keys);
        load_scalars(ld, root);
        if (member(ld, root, "", 0, "products", &m))
                load_wtable(ld, m.j, m.path, m.pos, &ld->model->products);
        for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++)
                if (!ld->nomem && member(ld, root, "", 0, sections[i].key, &m))
                        sections[i].load(ld, m.j, m.path, m.pos);
        if (ld->model->n_langs &&
            !find_lang(ld->model, ld->model->default_lang))
                report(ld, key_pos(ld, 0, "default_language"),
                       "default_language", "no lexicon for \"%s\"",
                       ld->model->default_lang);
}

static pd_err_t read_file(const char *path, char **textp, size_t *lenp,
                          char *errstr, size_t errstr_size)
{
        pd_err_t err = PD_ERR_CONFIG;
        char *text = NULL;
        long len = -1;
        FILE *f = fopen(path, "rb");
        if (!f || fseek(f, 0, SEEK_END) || (len = ftell(f)) < 0 ||
            fseek(f, 0, SEEK_SET)) {
                snprintf(errstr, errstr_size, "%s:0: (file): %m", path);
                goto out;
        }
        text = malloc((size_t)len + 1);
        if (!text) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        if (fread(text, 1, (size_t)len, f) != (size_t)len) {
                snprintf(errstr, errstr_size, "%s:0: (file): short read", path);
                goto out;
        }
        text[len] = '\0';
        *textp = text;
        *lenp = (size_t)len;
        text = NULL;
        err = PD_OK;
out:
        free(text);
        if (f)
                fclose(f);
        return err;
}

pd_err_t pd_model_load(const char *path, pd_model_t **modelp, char *errstr,
                       size_t errstr_size)
{
        loader_t ld = {
            .path = path, .errstr = errstr, .errstr_size = errstr_size};
        json_t *root = NULL;
        char *text = NULL;
        json_error_t jerr;
        pd_err_t err;
        *modelp = NULL;
        if (errstr_size)
                errstr[0] = '\0';
        err = read_file(path, &text, &ld.len, errstr, errstr_size);
        if (err)
                goto out;
        ld.text = text;
        root = json_loadb(text, ld.len, JSON_REJECT_DUPLICATES, &jerr);
        if (!root) {
                snprintf(errstr, errstr_size, "%s:%d: (json): %s", path,
                         jerr.line, jerr.text);
                err = PD_ERR_CONFIG;
                goto out;
        }
        ld.model = calloc(1, sizeof(*ld.model));
        if (ld.model)
                load_root(&ld, root);
        if (!ld.model || ld.nomem)
                err = PD_ERR_NOMEM;
        else if (ld.nerr)
                err = PD_ERR_CONFIG;
out:
        if (!err)
                *modelp = ld.model;
        else
                pd_model_destroy(ld.model);
        json_decref(root);
        free(text);
        return err;
}

static void free_strs(char **v, size_t n)
{
        for (size_t i = 0; i < n; i++)
                free(v[i]);
        free(v);
}

void pd_model_destroy(pd_model_t *model)
{
        if (!model)
                return;
        for (size_t i = 0; i < model->n_cps; i++) {
                free_named(&model->cps[i].id);
                free_wtable(&model->cps[i].answers);
        }
        free(model->cps);
        free_wtable(&model->sector);
        free_wtable(&model->region);
        free_wtable(&model->products);
        free_wtable(&model->category);
        free_wtable(&model->priority);
        free_wtable(&model->auto_renew);
        free_bands(&model->annual_value);
        free_bands(&model->employees);
        free_bands(&model->revenue);
        free_bands(&model->nps);
        free_bands(&model->csat);
        for (size_t i = 0; i < model->n_langs; i++) {
                for (size_t t = 0; t < model->langs[i].n_terms; t++) {
                        free(model->langs[i].terms[t].pat);
                        free(model->langs[i].terms[t].name);
                }
                free(model->langs[i].terms);
                free_strs(model->langs[i].stop, model->langs[i].n_stop);
        }
        free(model->langs);
        for (size_t i = 0; i < model->n_rules; i++) {
                free_strs(model->rules[i].cats, model->rules[i].n_cats);
                free_strs(model->rules[i].prios, model->rules[i].n_prios);
                free(model->rules[i].queue);
        }
        free(model->rules);
        free(model->route_default);
        free(model);
}

int32_t pd_model_version(const pd_model_t *model)
{
        return model->version;
}

/* ---- apply: collecting an event's contributions ------------------------- */

typedef struct contrib_s {
        const char *signal;
        pd_axis_t axis;
        double w;    /* at the event's time */
        double unit; /* the model's weight of (signal, axis), before a text
                        cap scales it */
} contrib_t;

typedef struct apply_s {
        const pd_model_t *model;
        const pd_marker_t *marker;
        pd_arena_t *arena;
        contrib_t *v; /* one per (signal, axis) */
        size_t n, cap;
        bool nomem;
} apply_t;

static void push(apply_t *ap, const char *signal, pd_axis_t axis, double w,
                 double unit)
{
        for (size_t i = 0; i < ap->n; i++)
                if (ap->v[i].axis == axis && !strcmp(ap->v[i].signal, signal)) {
                        ap->v[i].w += w;
                        return;
                }
        if (ap->n == ap->cap) {
                size_t cap = ap->cap ? ap->cap * 2 : 32;
                contrib_t *v = pd_arena_alloc(ap->arena, cap * sizeof(*v));
                if (!v) {
                        ap->nomem = true;
                        return;
                }
                if (ap->n)
                        memcpy(v, ap->v, ap->n * sizeof(*v));
                ap->v = v;
                ap->cap = cap;
        }
        ap->v[ap->n++] = (contrib_t){signal, axis, w, unit};
}

/* Adds one contribution per axis that w moves, all under one signal
 * "<prefix><name>". */
static void add_scaled(apply_t *ap, const double w[NAX], double scale,
                       const char *prefix, const char *name)
{
        bool any = false;
        for (int a = 0; a < NAX; a++)
                any |= w[a] != 0;
        if (!any || ap->nomem)
                return;
        char *signal = pd_arena_printf(ap->arena, "%s%s", prefix, name);
        if (!signal) {
                ap->nomem = true;
                return;
        }
        for (int a = 0; a < NAX; a++)
                if (w[a] != 0)
                        push(ap, signal, (pd_axis_t)a, w[a] * scale, w[a]);
}

static void add(apply_t *ap, const double w[NAX], const char *prefix,
                const char *name)
{
        add_scaled(ap, w, 1.0, prefix, name);
}

static const wentry_t *wt_find(apply_t *ap, const wtable_t *t,
                               const char *value)
{
        if (!value || !*value || !t->n)
                return NULL;
        named_t k = {.key = norm_key_arena(ap->arena, value)};
        if (!k.key) {
                ap->nomem = true;
                return NULL;
        }
        return bsearch(&k, t->v, t->n, sizeof(*t->v), named_cmp);
}

/* Adds the entry of value; returns whether there was one. */
static bool add_exact(apply_t *ap, const wtable_t *t, const char *prefix,
                      const char *value)
{
        const wentry_t *e = wt_find(ap, t, value);
        if (e)
                add(ap, e->w, prefix, e->id.name);
        return e != NULL;
}

static void add_any(apply_t *ap, const wtable_t *t, const char *prefix,
                    const char *value)
{
        if (value && *value && t->has_any)
                add(ap, t->any.w, prefix, "*");
}

/* A multi-valued answer or category ("integrations, manual_work",
 * "Technical Support/Incident") matches whole first, else part by part.
 * Returns how many entries matched. */
static int add_parts(apply_t *ap, const wtable_t *t, const char *prefix,
                     const char *value)
{
        static const char seps[] = ",;/|";
        char *copy, *save = NULL;
        int hits = 0;
        if (add_exact(ap, t, prefix, value))
                return 1;
        if (!value || !strpbrk(value, seps))
                return 0;
        copy = pd_arena_strdup(ap->arena, value);
        if (!copy) {
                ap->nomem = true;
                return 0;
        }
        for (char *p = strtok_r(copy, seps, &save); p;
             p = strtok_r(NULL, seps, &save))
                hits += add_exact(ap, t, prefix, p);
        return hits;
}

static void add_band(apply_t *ap, const bands_t *b, const char *prefix,
                     double value)
{
        for (size_t i = 0; i < b->n; i++) {
                if (value >= b->v[i].min && value <= b->v[i].max) {
                        add(ap, b->v[i].w, prefix, b->v[i].name);
                        return;
                }
        }
}

/* ---- apply: text -------------------------------------------------------- */

/* "de", "DE", "de-AT", "de_DE" -> the lexicon for de. */
static const lang_t *lang_of(const pd_model_t *model, const char *code)
{
        char c[3];
        if (!code || !code[0] || !code[1] ||
            (code[2] && code[2] != '-' && code[2] != '_'))
                return NULL;
        c[0] = (char)(code[0] | 0x20);
        c[1] = (char)(code[1] | 0x20);
        c[2] = '\0';
        return find_lang(model, c);
}

static size_t count_stopwords(const lang_t *lang, const char *norm)
{
        size_t hits = 0;
        char word[32];
        for (const char *p = norm; *p;) {
                size_t n = strcspn(p, " ");
                if (n && n < sizeof(word) && lang->n_stop) {
                        const char *w = word;
                        memcpy(word, p, n);
                        word[n] = '\0';
                        hits += bsearch(&w, lang->stop, lang->n_stop,
                                        sizeof(*lang->stop), str_cmp) != NULL;
                }
                p += n + (p[n] == ' ');
        }
        return hits;
}

/* Most stop-word hits wins; a tie goes to the first code alphabetically,
 * which keeps the choice deterministic. */
static const lang_t *detect_lang(const pd_model_t *model, const char *norm)
{
        const lang_t *lang = NULL;
        size_t best = 0;
        for (size_t i = 0; i < model->n_langs; i++) {
                size_t hits = count_stopwords(&model->langs[i], norm);
                if (hits > best) {
                        best = hits;
                        lang = &model->langs[i];
                }
        }
        return lang;
}

static const lang_t *pick_lang(const apply_t *ap, const char *declared,
                               const char *norm)
{
        const pd_model_t *model = ap->model;
        const lang_t *lang = lang_of(model, declared);
        if (!lang)
                lang = detect_lang(model, norm);
        if (!lang)
                lang = lang_of(model, ap->marker->language);
        if (!lang)
                lang = find_lang(model, model->default_lang);
        return lang;
}

static char *normalise(apply_t *ap, const char *const *parts, size_t n)
{
        size_t len = 3, o = 0;
        for (size_t i = 0; i < n; i++)
                len += parts[i] ? 2 * strlen(parts[i]) + 3 : 0;
        char *norm = pd_arena_alloc(ap->arena, len);
        if (!norm) {
                ap->nomem = true;
                return NULL;
        }
        for (size_t i = 0; i < n; i++)
                if (parts[i])
                        o = norm_append(norm, o, parts[i]);
        return norm;
}

/* Scans the text parts with the lexicon of their language; each term
 * counts once per event, and an axis gets at most the model's text cap per
 * event (hits scaled down proportionally) so one long ticket cannot
 * outweigh what the customer said at the sale.  Returns the hit count. */
static int add_text(apply_t *ap, const char *prefix, const char *declared,
                    const char *const *parts, size_t n)
{
        char *norm = normalise(ap, parts, n);
        const lang_t *lang = norm ? pick_lang(ap, declared, norm) : NULL;
        double sum[NAX] = {0}, scale[NAX];
        bool *hit;
        int hits = 0;
        if (!lang || !lang->n_terms)
                return 0;
        hit = pd_arena_alloc(ap->arena, lang->n_terms * sizeof(*hit));
        char *lprefix = pd_arena_printf(ap->arena, "%s%s:", prefix, lang->code);
        if (!hit || !lprefix) {
                ap->nomem = true;
                return 0;
        }
        for (size_t i = 0; i < lang->n_terms; i++) {
                hit[i] = strstr(norm, lang->terms[i].pat) != NULL;
                if (hit[i])
                        sum[lang->terms[i].axis] += fabs(lang->terms[i].w);
        }
        for (int a = 0; a < NAX; a++)
                scale[a] =
                    ap->model->text_cap > 0 && sum[a] > ap->model->text_cap
                        ? ap->model->text_cap / sum[a]
                        : 1.0;
        for (size_t i = 0; i < lang->n_terms; i++) {
                const term_t *t = &lang->terms[i];
                double w[NAX] = {0};
                if (!hit[i])
                        continue;
                w[t->axis] = t->w;
                add_scaled(ap, w, scale[t->axis], lprefix, t->name);
                hits++;
        }
        return hits;
}

/* ---- apply: per event kind ---------------------------------------------- */

static const checkpoint_t *find_checkpoint(apply_t *ap, const char *id)
{
        const pd_model_t *model = ap->model;
        if (!id || !model->n_cps)
                return NULL;
        named_t k = {.key = norm_key_arena(ap->arena, id)};
        if (!k.key) {
                ap->nomem = true;
                return NULL;
        }
        return bsearch(&k, model->cps, model->n_cps, sizeof(*model->cps),
                       named_cmp);
}

/* A listed answer wins; a free-text answer of a scan_text checkpoint goes
 * through the lexicons; anything else gets the checkpoint's "*". */
static void add_checkpoints(apply_t *ap, const pd_kvs_t *kvs)
{
        for (size_t i = 0; i < kvs->n && !ap->nomem; i++) {
                const checkpoint_t *cp = find_checkpoint(ap, kvs->v[i].key);
                const char *answer = kvs->v[i].value;
                if (!cp || !answer || !*answer)
                        continue;
                char *prefix =
                    pd_arena_printf(ap->arena, "checkpoint:%s=", cp->id.name);
                char *tprefix = pd_arena_printf(
                    ap->arena, "checkpoint:%s~text.", cp->id.name);
                if (!prefix || !tprefix) {
                        ap->nomem = true;
                        break;
                }
                if (add_parts(ap, &cp->answers, prefix, answer))
                        continue;
                if (cp->scan_text && add_text(ap, tprefix, NULL, &answer, 1))
                        continue;
                add_any(ap, &cp->answers, prefix, answer);
        }
}

static void add_value(apply_t *ap, const wtable_t *t, const char *prefix,
                      const char *value)
{
        if (!add_exact(ap, t, prefix, value))
                add_any(ap, t, prefix, value);
}

static void collect_sale(apply_t *ap, const pd_sale_closed_t *sale)
{
        const pd_model_t *model = ap->model;
        for (size_t i = 0; i < sale->products.n; i++)
                add_value(ap, &model->products,
                          "product:", sale->products.v[i]);
        add_value(ap, &model->sector, "sector:", sale->sector);
        add_value(ap, &model->region, "region:", sale->region);
        if (sale->employees >= 0)
                add_band(ap, &model->employees,
                         "employees:", (double)sale->employees);
        if (sale->revenue >= 0)
                add_band(ap, &model->revenue, "revenue:", sale->revenue);
        add_checkpoints(ap, &sale->checkpoints);
}

static void collect_ticket(apply_t *ap, const pd_ticket_opened_t *ticket)
{
        const pd_model_t *model = ap->model;
        const char *const text[] = {ticket->subject, ticket->text};
        if (!add_parts(ap, &model->category,
                       "ticket.category:", ticket->category))
                add_any(ap, &model->category,
                        "ticket.category:", ticket->category);
        add_value(ap, &model->priority, "ticket.priority:", ticket->priority);
        add_text(ap, "text.", ticket->language, text, 2);
}

static void collect_survey(apply_t *ap, const pd_survey_returned_t *survey)
{
        bool nps = survey->kind == PD_SURVEY_NPS;
        add_band(ap, nps ? &ap->model->nps : &ap->model->csat,
                 nps ? "survey.NPS:" : "survey.CSAT:", survey->score);
        add_text(ap, "text.", NULL, &survey->comment, 1);
}

static void collect_renewal(apply_t *ap, const pd_renewal_due_t *renewal)
{
        add_value(ap, &ap->model->auto_renew, "renewal.auto_renew:",
                  renewal->auto_renew ? "true" : "false");
        if (renewal->annual_value >= 0)
                add_band(ap, &ap->model->annual_value,
                         "renewal.annual_value:", renewal->annual_value);
}

static void collect(apply_t *ap, const pd_event_t *ev)
{
        switch (ev->kind) {
        case PD_EV_SALE_CLOSED:
                collect_sale(ap, &ev->u.sale);
                break;
        case PD_EV_CHECKPOINTS_RECORDED:
                add_checkpoints(ap, &ev->u.checkpoints);
                break;
        case PD_EV_TICKET_OPENED:
                collect_ticket(ap, &ev->u.ticket);
                break;
        case PD_EV_SURVEY_RETURNED:
                collect_survey(ap, &ev->u.survey);
                break;
        case PD_EV_RENEWAL_DUE:
                collect_renewal(ap, &ev->u.renewal);
                break;
        default: /* carries no persona signal */
                break;
        }
}

/* ---- apply: scores, evidence, dominant ---------------------------------- */

/* 2^(-age/half_life); a negative age counts as zero so nothing is ever
 * boosted. */
static double decay(const pd_model_t *model, int64_t age)
{
        return age > 0 ? exp2(-(double)age / model->half_life_ms) : 1.0;
}

typedef struct cand_s {
        pd_evidence_t e;
        double mag; /* |weight| decayed to the marker's new time */
} cand_t;

static const char *nz(const char *s)
{
        return s ? s : "";
}

/* Largest first; ties by newer, then by signal, axis and event id, so the
 * kept list never depends on input order. */
static int cand_cmp(const void *a, const void *b)
{
        const cand_t *x = a, *y = b;
        int c;
        if (x->mag != y->mag)
                return x->mag > y->mag ? -1 : 1;
        if (x->e.at != y->e.at)
                return x->e.at > y->e.at ? -1 : 1;
        if ((c = strcmp(nz(x->e.signal), nz(y->e.signal))))
                return c;
        if (x->e.axis != y->e.axis)
                return x->e.axis < y->e.axis ? -1 : 1;
        return strcmp(nz(x->e.event_id), nz(y->e.event_id));
}

/* The same signal on the same axis accumulates into one entry, expressed
 * at the newer of the two times. */
static void fold(const pd_model_t *model, pd_evidence_t *old,
                 const pd_evidence_t *add_e)
{
        int64_t at = old->at > add_e->at ? old->at : add_e->at;
        old->weight = old->weight * decay(model, at - old->at) +
                      add_e->weight * decay(model, at - add_e->at);
        if (add_e->at >= old->at)
                old->event_id = add_e->event_id;
        old->at = at;
}

static size_t merge_candidates(const apply_t *ap, const pd_marker_t *marker,
                               const char *event_id, int64_t t_ev, cand_t *c)
{
        size_t n = 0;
        for (size_t i = 0; i < marker->n_evidence; i++)
                c[n++].e = marker->evidence[i];
        for (size_t k = 0; k < ap->n; k++) {
                pd_evidence_t e = {ap->v[k].signal, ap->v[k].axis, ap->v[k].w,
                                   event_id, t_ev};
                size_t j = 0;
                while (j < n && !(c[j].e.axis == e.axis &&
                                  !strcmp(nz(c[j].e.signal), e.signal)))
                        j++;
                if (j < n)
                        fold(ap->model, &c[j].e, &e);
                else
                        c[n++].e = e;
        }
        return n;
}

/* ---- raw signals: what a re-score needs ---------------------------------- */

typedef struct scand_s {
        pd_signal_t s;
        double mag;
} scand_t;

static int scand_cmp(const void *a, const void *b)
{
        const scand_t *x = a, *y = b;
        int c;
        if (x->mag != y->mag)
                return x->mag > y->mag ? -1 : 1;
        if (x->s.at != y->s.at)
                return x->s.at > y->s.at ? -1 : 1;
        if ((c = strcmp(nz(x->s.signal), nz(y->s.signal))))
                return c;
        return (int)x->s.axis - (int)y->s.axis;
}

/* The same (signal, axis) accumulates at the newer time, keeping its
 * contribution and taking the newer unit (the model now scoring). */
static void fold_signal(const pd_model_t *model, pd_signal_t *old,
                        const pd_signal_t *add_s)
{
        int64_t at = old->at > add_s->at ? old->at : add_s->at;
        double w = old->unit * old->mass * decay(model, at - old->at) +
                   add_s->unit * add_s->mass * decay(model, at - add_s->at);
        old->unit = add_s->unit;
        old->mass = add_s->unit != 0 ? w / add_s->unit : 0;
        old->at = at;
}

/* Sorts c[0..n) by decayed contribution at t_now and keeps the largest
 * non-zero ones as the marker's signals. */
static void keep_signals(const pd_model_t *model, pd_marker_t *marker,
                         scand_t *c, size_t n, int64_t t_now)
{
        size_t keep = 0;
        for (size_t i = 0; i < n; i++)
                c[i].mag = fabs(c[i].s.unit * c[i].s.mass) *
                           decay(model, t_now - c[i].s.at);
        qsort(c, n, sizeof(*c), scand_cmp);
        for (size_t i = 0; i < n && keep < PD_MARKER_SIGNALS_MAX; i++)
                if (c[i].mag > 0)
                        marker->signals[keep++] = c[i].s;
        marker->n_signals = keep;
}

/* c has room for marker->n_signals + ap->n entries. */
static void update_signals(const apply_t *ap, pd_marker_t *marker, scand_t *c,
                           int64_t t_ev, int64_t t_now)
{
        size_t n = 0;
        for (size_t i = 0; i < marker->n_signals; i++)
                c[n++].s = marker->signals[i];
        for (size_t k = 0; k < ap->n; k++) {
                const contrib_t *v = &ap->v[k];
                pd_signal_t sg = {v->signal, v->axis, v->unit,
                                  v->unit != 0 ? v->w / v->unit : 0, t_ev};
                size_t j = 0;
                while (j < n && !(c[j].s.axis == sg.axis &&
                                  !strcmp(nz(c[j].s.signal), sg.signal)))
                        j++;
                if (j < n)
                        fold_signal(ap->model, &c[j].s, &sg);
                else
                        c[n++].s = sg;
        }
        keep_signals(ap->model, marker, c, n, t_now);
}

static pd_err_t update_evidence(const apply_t *ap, pd_marker_t *marker,
                                const pd_event_t *ev, int64_t t_ev,
                                int64_t t_now)
{
        pd_err_t err = PD_OK;
        cand_t *c = pd_arena_alloc(ap->arena, (marker->n_evidence + ap->n + 1) *
                                                  sizeof(*c));
        char *event_id = pd_arena_strdup(ap->arena, ev->event_id);
        size_t n, keep = 0;
        if (!c || (ev->event_id && !event_id)) {
                err = PD_ERR_NOMEM;
                goto out;
        }
        n = merge_candidates(ap, marker, event_id, t_ev, c);
        for (size_t i = 0; i < n; i++)
                c[i].mag =
                    fabs(c[i].e.weight) * decay(ap->model, t_now - c[i].e.at);
        qsort(c, n, sizeof(*c), cand_cmp);
        for (size_t i = 0; i < n && keep < PD_MARKER_EVIDENCE_MAX; i++)
                if (c[i].mag > 0)
                        marker->evidence[keep++] = c[i].e;
        marker->n_evidence = keep;
out:
        return err;
}

static pd_axis_t best_other(const pd_marker_t *marker, pd_axis_t skip)
{
        pd_axis_t best = PD_AXIS__CNT;
        for (int a = 0; a < NAX; a++)
                if ((pd_axis_t)a != skip &&
                    (best == PD_AXIS__CNT ||
                     marker->axis[a] > marker->axis[best]))
                        best = (pd_axis_t)a;
        return best;
}

/* The first evidence just sets the dominant; after that a challenger must
 * lead by more than the hysteresis, so one odd ticket does not flip the
 * team a customer works with. */
static void update_dominant(const pd_model_t *model, pd_marker_t *marker,
                            bool had, bool *changed, pd_axis_t *before)
{
        pd_axis_t best = best_other(marker, PD_AXIS__CNT);
        pd_axis_t cur = marker->dominant;
        if (!had) {
                if (marker->n_evidence || (unsigned)cur >= PD_AXIS__CNT)
                        marker->dominant = best;
        } else if (best != cur &&
                   marker->axis[best] - marker->axis[cur] > model->hysteresis) {
                *before = cur;
                *changed = true;
                marker->dominant = best;
        }
        marker->margin = marker->axis[marker->dominant] -
                         marker->axis[best_other(marker, marker->dominant)];
}

/* Decays the scores from updated_at to t_now, then adds the event's
 * contributions decayed by the event's own age at t_now. */
static void move_scores(const apply_t *ap, pd_marker_t *marker, int64_t t_ev,
                        int64_t t_now)
{
        const pd_model_t *model = ap->model;
        double old =
            marker->updated_at ? decay(model, t_now - marker->updated_at) : 1.0;
        for (int a = 0; a < NAX; a++)
                marker->axis[a] *= old;
        for (size_t k = 0; k < ap->n; k++)
                marker->axis[ap->v[k].axis] +=
                    ap->v[k].w * decay(model, t_now - t_ev);
}

void pd_persona_history_add(pd_marker_t *marker, pd_axis_t from, int64_t at,
                            const char *event_id)
{
        if (marker->n_history == PD_MARKER_HISTORY_MAX) {
                memmove(&marker->history[0], &marker->history[1],
                        (PD_MARKER_HISTORY_MAX - 1) *
                            sizeof(marker->history[0]));
                marker->n_history--;
        }
        marker->history[marker->n_history++] =
            (pd_persona_change_t){.from = from,
                                  .to = marker->dominant,
                                  .at = at,
                                  .event_id = event_id,
                                  .margin = marker->margin};
}

pd_err_t pd_persona_apply(const pd_model_t *model, pd_marker_t *marker,
                          const pd_event_t *ev, pd_arena_t *arena,
                          bool *changed, pd_axis_t *before)
{
        apply_t ap = {.model = model, .marker = marker, .arena = arena};
        bool had =
            marker->n_evidence > 0 && (unsigned)marker->dominant < PD_AXIS__CNT;
        bool changed_dummy;
        pd_axis_t before_dummy;
        char *event_id;
        scand_t *sig;
        pd_err_t err;
        /* updated_at is the time the scores are decayed to; an event without
         * a time is taken as happening then. */
        int64_t t_ev = ev->occurred_at ? ev->occurred_at : marker->updated_at;
        int64_t t_now = t_ev > marker->updated_at ? t_ev : marker->updated_at;
        changed = changed ? changed : &changed_dummy;
        before = before ? before : &before_dummy;
        *changed = false;
        *before = marker->dominant;
        collect(&ap, ev);
        /* Every allocation before the marker changes at all. */
        sig = ap.nomem ? NULL
                       : pd_arena_alloc(arena, (marker->n_signals + ap.n + 1) *
                                                   sizeof(*sig));
        event_id = pd_arena_strdup(arena, nz(ev->event_id));
        err = sig && event_id ? PD_OK : PD_ERR_NOMEM;
        if (!err) /* allocates, then writes the evidence */
                err = update_evidence(&ap, marker, ev, t_ev, t_now);
        if (err)
                goto out;
        /* Only now, with every allocation done, does the marker move. */
        update_signals(&ap, marker, sig, t_ev, t_now);
        move_scores(&ap, marker, t_ev, t_now);
        update_dominant(model, marker, had, changed, before);
        if (*changed)
                pd_persona_history_add(marker, *before, t_ev, event_id);
        marker->model_version = model->version;
out:
        return err;
}

/* ---- re-scoring under another model -------------------------------------- */

static double wtable_unit(const wtable_t *t, pd_arena_t *arena,
                          const char *name, pd_axis_t axis, bool *nomem)
{
        named_t k;
        const wentry_t *e;
        if (!strcmp(name, "*"))
                return t->has_any ? t->any.w[axis] : 0;
        if (!t->n)
                return 0;
        if (!(k.key = norm_key_arena(arena, name))) {
                *nomem = true;
                return 0;
        }
        e = bsearch(&k, t->v, t->n, sizeof(*t->v), named_cmp);
        return e ? e->w[axis] : 0;
}

static double band_unit(const bands_t *b, const char *name, pd_axis_t axis)
{
        for (size_t i = 0; i < b->n; i++)
                if (!strcmp(b->v[i].name, name))
                        return b->v[i].w[axis];
        return 0;
}

/* "<lang>:<term>" of a lexicon. */
static double term_unit(const pd_model_t *model, const char *lang_term,
                        pd_axis_t axis)
{
        char code[3] = {0};
        const lang_t *lang;
        if (strlen(lang_term) < 4 || lang_term[2] != ':')
                return 0;
        memcpy(code, lang_term, 2);
        if (!(lang = find_lang(model, code)))
                return 0;
        for (size_t i = 0; i < lang->n_terms; i++)
                if (lang->terms[i].axis == axis &&
                    !strcmp(lang->terms[i].name, lang_term + 3))
                        return lang->terms[i].w;
        return 0;
}

static double checkpoint_unit(const pd_model_t *model, pd_arena_t *arena,
                              const char *rest, pd_axis_t axis, bool *nomem)
{
        size_t n = strcspn(rest, "=~");
        named_t k;
        const checkpoint_t *cp;
        if (!rest[n])
                return 0;
        if (rest[n] == '~')
                return !strncmp(rest + n + 1, "text.", 5)
                           ? term_unit(model, rest + n + 6, axis)
                           : 0;
        if (!(k.key = pd_arena_strndup(arena, rest, n)) ||
            !(k.key = norm_key_arena(arena, k.key))) {
                *nomem = true;
                return 0;
        }
        cp = model->n_cps ? bsearch(&k, model->cps, model->n_cps,
                                    sizeof(*model->cps), named_cmp)
                          : NULL;
        return cp ? wtable_unit(&cp->answers, arena, rest + n + 1, axis, nomem)
                  : 0;
}

/* The weight model gives (signal, axis), as pd_persona_apply names
 * signals; *known is false for a signal of a kind this code does not
 * name (then the caller keeps its old weight). */
static double signal_unit(const pd_model_t *model, pd_arena_t *arena,
                          const char *signal, pd_axis_t axis, bool *known,
                          bool *nomem)
{
        static const struct {
                const char *kind;
                size_t table, bands; /* offsets; 0: none */
        } kinds[] = {
            {"product", offsetof(pd_model_t, products), 0},
            {"sector", offsetof(pd_model_t, sector), 0},
            {"region", offsetof(pd_model_t, region), 0},
            {"ticket.category", offsetof(pd_model_t, category), 0},
            {"ticket.priority", offsetof(pd_model_t, priority), 0},
            {"renewal.auto_renew", offsetof(pd_model_t, auto_renew), 0},
            {"employees", 0, offsetof(pd_model_t, employees)},
            {"revenue", 0, offsetof(pd_model_t, revenue)},
            {"survey.NPS", 0, offsetof(pd_model_t, nps)},
            {"survey.CSAT", 0, offsetof(pd_model_t, csat)},
            {"renewal.annual_value", 0, offsetof(pd_model_t, annual_value)},
        };
        const char *colon = strchr(signal, ':');
        size_t n = colon ? (size_t)(colon - signal) : 0;
        *known = true;
        if (!colon)
                goto unknown;
        if (n == 10 && !strncmp(signal, "checkpoint", n))
                return checkpoint_unit(model, arena, colon + 1, axis, nomem);
        if (n == 7 && !strncmp(signal, "text.", 5))
                return term_unit(model, signal + 5, axis);
        for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
                if (strlen(kinds[i].kind) != n ||
                    strncmp(kinds[i].kind, signal, n))
                        continue;
                if (kinds[i].table)
                        return wtable_unit(
                            (const wtable_t *)((const char *)model +
                                               kinds[i].table),
                            arena, colon + 1, axis, nomem);
                return band_unit(
                    (const bands_t *)((const char *)model + kinds[i].bands),
                    colon + 1, axis);
        }
unknown:
        *known = false;
        return 0;
}

/* The kept signals of one name, re-weighted under model into out (one
 * entry per axis model weights); returns how many.  A name of an unknown
 * kind is copied as it is. */
static size_t reweigh(const pd_model_t *model, pd_arena_t *arena,
                      const pd_signal_t *group, size_t n, pd_signal_t *out,
                      bool *nomem)
{
        bool known = true;
        size_t k = 0;
        for (int b = 0; b < NAX && known; b++) {
                double u = signal_unit(model, arena, group[0].signal,
                                       (pd_axis_t)b, &known, nomem);
                const pd_signal_t *same = &group[0];
                if (u == 0 || !known)
                        continue;
                /* A text keeps the scale of its own axis. */
                for (size_t j = 0; j < n; j++)
                        if (group[j].axis == (pd_axis_t)b)
                                same = &group[j];
                out[k++] = (pd_signal_t){group[0].signal, (pd_axis_t)b, u,
                                         same->mass, same->at};
        }
        if (known)
                return k;
        memcpy(out, group, n * sizeof(*out));
        return n;
}

/* The evidence follows the re-weighted signals: each entry's signal on
 * every axis the model now weights (an entry whose signal is no longer
 * kept stays as it was). */
static bool has_signal(const pd_signal_t *sg, size_t n, const char *signal)
{
        for (size_t i = 0; i < n; i++)
                if (!strcmp(nz(sg[i].signal), nz(signal)))
                        return true;
        return false;
}

static pd_err_t rescore_evidence(const pd_model_t *model, pd_marker_t *marker,
                                 const pd_signal_t *old, size_t n_old,
                                 const pd_signal_t *sg, size_t n_sg,
                                 pd_arena_t *arena)
{
        cand_t *c = pd_arena_alloc(arena, (marker->n_evidence * (NAX + 1) + 1) *
                                              sizeof(*c));
        size_t n = 0, keep = 0;
        if (!c)
                return PD_ERR_NOMEM;
        for (size_t i = 0; i < marker->n_evidence; i++) {
                const pd_evidence_t *e = &marker->evidence[i];
                if (!has_signal(old, n_old, e->signal)) {
                        c[n++].e = *e;
                        continue;
                }
                for (size_t j = 0; j < n_sg; j++) {
                        if (strcmp(nz(sg[j].signal), nz(e->signal)))
                                continue;
                        size_t d = 0;
                        while (d < n && !(c[d].e.axis == sg[j].axis &&
                                          !strcmp(c[d].e.signal, e->signal)))
                                d++;
                        if (d < n)
                                continue;
                        c[n++].e =
                            (pd_evidence_t){e->signal, sg[j].axis,
                                            sg[j].unit * sg[j].mass *
                                                decay(model, e->at - sg[j].at),
                                            e->event_id, e->at};
                }
        }
        for (size_t i = 0; i < n; i++)
                c[i].mag = fabs(c[i].e.weight) *
                           decay(model, marker->updated_at - c[i].e.at);
        qsort(c, n, sizeof(*c), cand_cmp);
        for (size_t i = 0; i < n && keep < PD_MARKER_EVIDENCE_MAX; i++)
                if (c[i].mag > 0)
                        marker->evidence[keep++] = c[i].e;
        marker->n_evidence = keep;
        return PD_OK;
}

pd_err_t pd_persona_rescore(const pd_model_t *model, pd_marker_t *marker,
                            const char *cause, pd_arena_t *arena, bool *changed,
                            pd_axis_t *before)
{
        bool had =
            marker->n_evidence > 0 && (unsigned)marker->dominant < PD_AXIS__CNT;
        bool nomem = false, done[PD_MARKER_SIGNALS_MAX] = {false};
        size_t n_old = marker->n_signals, n_new = 0;
        pd_signal_t *old = pd_arena_alloc(arena, (n_old + 1) * sizeof(*old));
        pd_signal_t *neu =
            pd_arena_alloc(arena, (n_old * NAX + 1) * sizeof(*neu));
        pd_signal_t *group =
            pd_arena_alloc(arena, (n_old + 1) * sizeof(*group));
        scand_t *c = pd_arena_alloc(arena, (n_old * NAX + 1) * sizeof(*c));
        char *cause_copy = pd_arena_strdup(arena, nz(cause));
        pd_err_t err = PD_ERR_NOMEM;
        *changed = false;
        *before = marker->dominant;
        if (!old || !neu || !group || !c || !cause_copy)
                goto out;
        memcpy(old, marker->signals, n_old * sizeof(*old));
        for (size_t i = 0; i < n_old && !nomem; i++) {
                size_t g = 0;
                if (done[i])
                        continue;
                for (size_t j = i; j < n_old; j++)
                        if (!done[j] &&
                            !strcmp(nz(old[j].signal), nz(old[i].signal))) {
                                done[j] = true;
                                group[g++] = old[j];
                        }
                n_new += reweigh(model, arena, group, g, neu + n_new, &nomem);
        }
        if (nomem)
                goto out;
        /* The evidence first: its allocation is the last that can fail. */
        err = rescore_evidence(model, marker, old, n_old, neu, n_new, arena);
        if (err)
                goto out;
        /* Only now do the scores move: the kept signals' contributions are
         * taken out and put back as the new model weighs them. */
        for (size_t i = 0; i < n_old; i++)
                marker->axis[old[i].axis] -=
                    old[i].unit * old[i].mass *
                    decay(model, marker->updated_at - old[i].at);
        for (size_t i = 0; i < n_new; i++) {
                marker->axis[neu[i].axis] +=
                    neu[i].unit * neu[i].mass *
                    decay(model, marker->updated_at - neu[i].at);
                c[i].s = neu[i];
        }
        keep_signals(model, marker, c, n_new, marker->updated_at);
        if (had) {
                update_dominant(model, marker, had, changed, before);
                if (*changed)
                        pd_persona_history_add(marker, *before,
                                               marker->updated_at, cause_copy);
        }
        marker->model_version = model->version;
out:
        return err;
}

/* ---- routing ------------------------------------------------------------ */

static bool key_in(char *const *keys, size_t n, const char *key)
{
        for (size_t i = 0; key && i < n; i++)
                if (!strcmp(keys[i], key))
                        return true;
        return false;
}

/* The category matches whole or by any of its parts, as in scoring. */
static bool category_in(const rule_t *rule, pd_arena_t *arena,
                        const char *category)
{
        static const char seps[] = ",;/|";
        char *copy, *save = NULL;
        bool found;
        if (!rule->n_cats)
                return true;
        if (!category)
                return false;
        found =
            key_in(rule->cats, rule->n_cats, norm_key_arena(arena, category));
        copy = found ? NULL : pd_arena_strdup(arena, category);
        for (char *p = copy ? strtok_r(copy, seps, &save) : NULL; p && !found;
             p = strtok_r(NULL, seps, &save))
                found =
                    key_in(rule->cats, rule->n_cats, norm_key_arena(arena, p));
        return found;
}

static bool rule_matches(const rule_t *rule, const pd_marker_t *marker,
                         const pd_ticket_opened_t *ticket, pd_arena_t *arena)
{
        bool known = marker && marker->n_evidence > 0;
        if (rule->persona != PD_AXIS__CNT &&
            (!known || rule->persona != marker->dominant))
                return false;
        if (rule->n_prios && (!ticket->priority ||
                              !key_in(rule->prios, rule->n_prios,
                                      norm_key_arena(arena, ticket->priority))))
                return false;
        return category_in(rule, arena, ticket->category);
}

const char *pd_persona_route_ticket(const pd_model_t *model,
                                    const pd_marker_t *marker,
                                    const pd_ticket_opened_t *ticket,
                                    pd_arena_t *arena, const char **reason)
{
        const char *queue =
            model->route_default ? model->route_default : DEFAULT_QUEUE;
        bool known = marker && marker->n_evidence > 0;
        for (size_t i = 0; i < model->n_rules; i++) {
                if (rule_matches(&model->rules[i], marker, ticket, arena)) {
                        queue = model->rules[i].queue;
                        break;
                }
        }
        if (reason) {
                *reason = pd_arena_printf(
                    arena, "persona=%s margin=%.2f category=%s priority=%s",
                    known ? pd_axis_name(marker->dominant) : "none",
                    known ? marker->margin : 0.0,
                    ticket->category ? ticket->category : "-",
                    ticket->priority ? ticket->priority : "-");
                if (!*reason)
                        *reason = "";
        }
        return queue;
}
