/* Avro codec.  Decoding is two passes: a schema-directed walk over the raw
 * bytes that checks every length, union index and enum symbol against the
 * bytes that remain (so hostile input can neither make avro-c allocate
 * gigabytes nor read past the message), then avro-c's generic reader. */
#include "codec.h"

#include <avro.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct pd_schema_src {
        const char *name;
        const char *json;
};
extern const struct pd_schema_src pd_schema_srcs[];

static const char *schema_names[PD_SCHEMA__CNT] = {
    "LifecycleEvent", "PersonaMarker", "PlanAssigned", "ActionRequested",
    "PartitionState"};

#define WIRE_MAGIC 0x00
#define WIRE_HDR   5
#define MAX_DEPTH  32

#define MAX_OLD 8

struct pd_codec_s {
        int32_t ids[PD_SCHEMA__CNT];
        avro_schema_t schema[PD_SCHEMA__CNT];
        avro_value_iface_t *iface[PD_SCHEMA__CNT];
        avro_value_t value[PD_SCHEMA__CNT];
        /* PersonaMarker as older versions wrote it: the schema without
         * its last 1, 2, ... fields that have defaults (fields are only
         * ever appended with a default), so a store or changelog written
         * before an upgrade still decodes, the missing fields defaulted */
        avro_schema_t old_schema[MAX_OLD];
        avro_value_iface_t *old_iface[MAX_OLD];
        avro_value_t old_value[MAX_OLD];
        int n_old;
};

static void fmt(char *errstr, size_t errstr_size, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static void fmt(char *errstr, size_t errstr_size, const char *f, ...)
{
        if (!errstr || !errstr_size)
                return;
        va_list ap;
        va_start(ap, f);
        vsnprintf(errstr, errstr_size, f, ap);
        va_end(ap);
}

const char *pd_codec_schema_json(pd_schema_t schema)
{
        for (int i = 0; pd_schema_srcs[i].name; i++)
                if ((unsigned)schema < PD_SCHEMA__CNT &&
                    !strcmp(pd_schema_srcs[i].name, schema_names[schema]))
                        return pd_schema_srcs[i].json;
        return NULL;
}

static pd_err_t marker_variants(pd_codec_t *codec)
{
        json_error_t jerr;
        json_t *root =
            json_loads(pd_codec_schema_json(PD_SCHEMA_MARKER), 0, &jerr);
        json_t *fields = root ? json_object_get(root, "fields") : NULL;
        pd_err_t err = json_is_array(fields) ? PD_OK : PD_ERR_CONFIG;
        while (!err && codec->n_old < MAX_OLD && json_array_size(fields) > 1) {
                size_t n = json_array_size(fields);
                int k = codec->n_old;
                char *text = NULL;
                if (!json_object_get(json_array_get(fields, n - 1), "default"))
                        break;
                json_array_remove(fields, n - 1);
                text = json_dumps(root, JSON_COMPACT);
                if (!text ||
                    avro_schema_from_json_length(text, strlen(text),
                                                 &codec->old_schema[k]) ||
                    !(codec->old_iface[k] = avro_generic_class_from_schema(
                          codec->old_schema[k])) ||
                    avro_generic_value_new(codec->old_iface[k],
                                           &codec->old_value[k]))
                        err = PD_ERR_CONFIG;
                else
                        codec->n_old++;
                free(text);
        }
        json_decref(root);
        return err;
}

pd_err_t pd_codec_new(const int32_t *ids, pd_codec_t **codecp, char *errstr,
                      size_t errstr_size)
{
        pd_err_t err = PD_OK;
        pd_codec_t *codec = calloc(1, sizeof(*codec));
        if (!codec)
                return PD_ERR_NOMEM;
        for (int i = 0; i < PD_SCHEMA__CNT; i++) {
                codec->ids[i] = ids ? ids[i] : i + 1;
                const char *json = pd_codec_schema_json((pd_schema_t)i);
                if (!json || avro_schema_from_json_length(json, strlen(json),
                                                          &codec->schema[i])) {
                        fmt(errstr, errstr_size, "schemas/%s.avsc: %s",
                            schema_names[i],
                            json ? avro_strerror() : "not embedded");
                        err = PD_ERR_CONFIG;
                        goto out;
                }
                codec->iface[i] =
                    avro_generic_class_from_schema(codec->schema[i]);
                if (!codec->iface[i] ||
                    avro_generic_value_new(codec->iface[i], &codec->value[i])) {
                        fmt(errstr, errstr_size, "schemas/%s.avsc: %s",
                            schema_names[i], avro_strerror());
                        err = PD_ERR_CONFIG;
                        goto out;
                }
        }
        if ((err = marker_variants(codec)))
                fmt(errstr, errstr_size,
                    "schemas/PersonaMarker.avsc: older versions: %s",
                    avro_strerror());
out:
        if (err) {
                pd_codec_destroy(codec);
                codec = NULL;
        }
        *codecp = codec;
        return err;
}

void pd_codec_destroy(pd_codec_t *codec)
{
        if (!codec)
                return;
        for (int i = 0; i < PD_SCHEMA__CNT; i++) {
                if (codec->iface[i]) {
                        if (codec->value[i].self)
                                avro_value_decref(&codec->value[i]);
                        avro_value_iface_decref(codec->iface[i]);
                }
                if (codec->schema[i])
                        avro_schema_decref(codec->schema[i]);
        }
        for (int i = 0; i < MAX_OLD; i++) {
                if (codec->old_iface[i]) {
                        if (codec->old_value[i].self)
                                avro_value_decref(&codec->old_value[i]);
                        avro_value_iface_decref(codec->old_iface[i]);
                }
                if (codec->old_schema[i])
                        avro_schema_decref(codec->old_schema[i]);
        }
        free(codec);
}

/* ---- pass 1: bounds-checking walk ------------------------------------ */

typedef struct cursor_s {
        const unsigned char *p;
        const unsigned char *end;
        /* Field names down to the current value; joined into a path only
         * when there is an error to report (the walk is on the hot path). */
        const char *names[MAX_DEPTH + 2];
        int depth;
} cursor_t;

static int read_varint(cursor_t *c, int64_t *out)
{
        uint64_t v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
                if (c->p >= c->end)
                        return -1;
                unsigned char b = *c->p++;
                v |= (uint64_t)(b & 0x7f) << shift;
                if (!(b & 0x80)) {
                        *out = (int64_t)((v >> 1) ^ (~(v & 1) + 1));
                        return 0;
                }
        }
        return -1;
}

static int skip(cursor_t *c, int64_t n)
{
        if (n < 0 || n > c->end - c->p)
                return -1;
        c->p += n;
        return 0;
}

static void path_push(cursor_t *c, const char *name)
{
        if (c->depth < MAX_DEPTH + 2)
                c->names[c->depth] = name;
        c->depth++;
}

static void path_pop(cursor_t *c)
{
        c->depth--;
}

/* "payload.SurveyReturned.score", or dflt at the top level. */
static void path_format(const cursor_t *c, char *buf, size_t size,
                        const char *dflt)
{
        size_t n = 0;
        buf[0] = '\0';
        for (int i = 0; i < c->depth && i < MAX_DEPTH + 2 && n < size; i++) {
                int w = snprintf(buf + n, size - n, "%s%s", i ? "." : "",
                                 c->names[i]);
                if (w < 0)
                        break;
                n += (size_t)w;
        }
        if (!buf[0])
                snprintf(buf, size, "%s", dflt);
}

static int walk(cursor_t *c, avro_schema_t s, int depth, char *why,
                size_t why_size);

/* Named-type references resolve to their definition. */
static avro_schema_t target(avro_schema_t s)
{
        return is_avro_link(s) ? avro_schema_link_target(s) : s;
}

static int walk_blocks(cursor_t *c, avro_schema_t items, int is_map, int depth,
                       char *why, size_t why_size)
{
        for (;;) {
                int64_t count;
                if (read_varint(c, &count)) {
                        snprintf(why, why_size, "truncated block count");
                        return -1;
                }
                if (count == 0)
                        return 0;
                if (count < 0) {
                        int64_t bytes;
                        if (count == INT64_MIN || read_varint(c, &bytes) ||
                            bytes < 0 || bytes > c->end - c->p) {
                                snprintf(why, why_size, "bad block size");
                                return -1;
                        }
                        count = -count;
                }
                /* Every item takes at least one byte unless it is null:
                 * bound the count by the bytes left. */
                if (count > c->end - c->p + 1 && !is_avro_null(target(items))) {
                        snprintf(why, why_size,
                                 "item count %lld exceeds message",
                                 (long long)count);
                        return -1;
                }
                if (count > 1000000) {
                        snprintf(why, why_size, "item count %lld too large",
                                 (long long)count);
                        return -1;
                }
                for (int64_t i = 0; i < count; i++) {
                        int64_t klen;
                        if (is_map &&
                            (read_varint(c, &klen) || skip(c, klen))) {
                                snprintf(why, why_size,
                                         "map key length out of range");
                                return -1;
                        }
                        if (walk(c, items, depth + 1, why, why_size))
                                return -1;
                }
        }
}

static int walk_record(cursor_t *c, avro_schema_t s, int depth, char *why,
                       size_t why_size)
{
        size_t n = avro_schema_record_size(s);
        for (size_t i = 0; i < n; i++) {
                path_push(c, avro_schema_record_field_name(s, (int)i));
                if (walk(c, avro_schema_record_field_get_by_index(s, (int)i),
                         depth + 1, why, why_size))
                        return -1;
                path_pop(c);
        }
        return 0;
}

static int walk_union(cursor_t *c, avro_schema_t s, int depth, char *why,
                      size_t why_size)
{
        int64_t idx;
        if (read_varint(c, &idx)) {
                snprintf(why, why_size, "truncated union index");
                return -1;
        }
        if (idx < 0 || (size_t)idx >= avro_schema_union_size(s)) {
                snprintf(why, why_size, "union index %lld out of range",
                         (long long)idx);
                return -1;
        }
        avro_schema_t b = avro_schema_union_branch(s, (int)idx);
        if (is_avro_record(target(b))) {
                path_push(c, avro_schema_type_name(b));
                int r = walk(c, b, depth + 1, why, why_size);
                if (!r)
                        path_pop(c);
                return r;
        }
        return walk(c, b, depth + 1, why, why_size);
}

static int walk(cursor_t *c, avro_schema_t s, int depth, char *why,
                size_t why_size)
{
        int64_t v;
        s = target(s);
        if (depth > MAX_DEPTH) {
                snprintf(why, why_size, "nesting too deep");
                return -1;
        }
        switch (avro_typeof(s)) {
        case AVRO_NULL:
                return 0;
        case AVRO_BOOLEAN:
                if (c->p >= c->end || *c->p > 1) {
                        snprintf(why, why_size, "bad boolean");
                        return -1;
                }
                c->p++;
                return 0;
        case AVRO_INT32:
        case AVRO_INT64:
                if (read_varint(c, &v)) {
                        snprintf(why, why_size, "truncated integer");
                        return -1;
                }
                if (avro_typeof(s) == AVRO_INT32 &&
                    (v < INT32_MIN || v > INT32_MAX)) {
                        snprintf(why, why_size, "int out of range");
                        return -1;
                }
                return 0;
        case AVRO_FLOAT:
                return skip(c, 4)
                           ? (snprintf(why, why_size, "truncated float"), -1)
                           : 0;
        case AVRO_DOUBLE:
                return skip(c, 8)
                           ? (snprintf(why, why_size, "truncated double"), -1)
                           : 0;
        case AVRO_STRING:
        case AVRO_BYTES:
                if (read_varint(c, &v)) {
                        snprintf(why, why_size, "truncated length");
                        return -1;
                }
                if (v < 0 || v > c->end - c->p) {
                        snprintf(why, why_size,
                                 "length %lld outside the %lld bytes left",
                                 (long long)v, (long long)(c->end - c->p));
                        return -1;
                }
                c->p += v;
                return 0;
        case AVRO_FIXED:
                return skip(c, avro_schema_fixed_size(s))
                           ? (snprintf(why, why_size, "truncated fixed"), -1)
                           : 0;
        case AVRO_ENUM:
                if (read_varint(c, &v) || v < 0 ||
                    v >= avro_schema_enum_number_of_symbols(s)) {
                        snprintf(why, why_size, "enum symbol out of range");
                        return -1;
                }
                return 0;
        case AVRO_RECORD:
                return walk_record(c, s, depth, why, why_size);
        case AVRO_UNION:
                return walk_union(c, s, depth, why, why_size);
        case AVRO_ARRAY:
                return walk_blocks(c, avro_schema_array_items(s), 0, depth, why,
                                   why_size);
        case AVRO_MAP:
                return walk_blocks(c, avro_schema_map_values(s), 1, depth, why,
                                   why_size);
        default:
                snprintf(why, why_size, "unsupported schema type");
                return -1;
        }
}

/* Checks framing and structure; on success *value holds the datum. */
static pd_err_t read_framed(pd_codec_t *codec, pd_schema_t which,
                            const void *buf, size_t len, avro_value_t **valuep,
                            char *errstr, size_t errstr_size)
{
        const unsigned char *b = buf;
        if (!buf || len == 0) {
                fmt(errstr, errstr_size, "framing: empty value");
                return PD_ERR_DECODE;
        }
        if (len < WIRE_HDR || b[0] != WIRE_MAGIC) {
                fmt(errstr, errstr_size,
                    "framing: not schema-registry framed Avro (magic byte "
                    "0x%02x, %zu bytes)",
                    b[0], len);
                return PD_ERR_DECODE;
        }
        int32_t id = (int32_t)(((uint32_t)b[1] << 24) | ((uint32_t)b[2] << 16) |
                               ((uint32_t)b[3] << 8) | b[4]);
        if (id != codec->ids[which]) {
                fmt(errstr, errstr_size,
                    "framing: schema id %d is not %s (expected %d)", id,
                    schema_names[which], codec->ids[which]);
                return PD_ERR_DECODE;
        }
        cursor_t c = {.p = b + WIRE_HDR, .end = b + len};
        char why[160], path[256];
        avro_value_t *value = &codec->value[which];
        int bad = walk(&c, codec->schema[which], 0, why, sizeof(why));
        for (int k = 0; (bad || c.p != c.end) && which == PD_SCHEMA_MARKER &&
                        k < codec->n_old;
             k++) {
                /* Written by an older version, without the newest
                 * fields? */
                cursor_t o = {.p = b + WIRE_HDR, .end = b + len};
                char owhy[160];
                if (!walk(&o, codec->old_schema[k], 0, owhy, sizeof(owhy)) &&
                    o.p == o.end) {
                        value = &codec->old_value[k];
                        bad = 0;
                        c = o;
                }
        }
        if (bad) {
                path_format(&c, path, sizeof(path), schema_names[which]);
                fmt(errstr, errstr_size, "avro: %s: %s", path, why);
                return PD_ERR_DECODE;
        }
        if (c.p != c.end) {
                fmt(errstr, errstr_size, "avro: %zu trailing bytes",
                    (size_t)(c.end - c.p));
                return PD_ERR_DECODE;
        }
        avro_value_reset(value);
        avro_reader_t reader = avro_reader_memory((const char *)b + WIRE_HDR,
                                                  (int64_t)(len - WIRE_HDR));
        int rc = avro_value_read(reader, value);
        avro_reader_free(reader);
        if (rc) {
                fmt(errstr, errstr_size, "avro: %s", avro_strerror());
                return PD_ERR_DECODE;
        }
        *valuep = value;
        return PD_OK;
}

static pd_err_t write_framed(pd_codec_t *codec, pd_schema_t which,
                             avro_value_t *value, pd_buf_t *out)
{
        size_t size = 0;
        pd_buf_reset(out);
        if (avro_value_sizeof(value, &size))
                return PD_ERR_INVALID;
        char *p = pd_buf_reserve(out, WIRE_HDR + size);
        if (!p)
                return PD_ERR_NOMEM;
        uint32_t id = (uint32_t)codec->ids[which];
        p[0] = WIRE_MAGIC;
        p[1] = (char)(id >> 24);
        p[2] = (char)(id >> 16);
        p[3] = (char)(id >> 8);
        p[4] = (char)id;
        avro_writer_t w = avro_writer_memory(p + WIRE_HDR, (int64_t)size);
        int rc = avro_value_write(w, value);
        avro_writer_free(w);
        if (rc)
                return PD_ERR_INVALID;
        out->len = WIRE_HDR + size;
        return PD_OK;
}

/* ---- field accessors ---------------------------------------------------
 * After read_framed() the datum matches the schema, so a failing accessor
 * is a programming error; they return neutral values rather than crash. */

static avro_value_t field(avro_value_t *rec, const char *name)
{
        avro_value_t f = {0};
        avro_value_get_by_name(rec, name, &f, NULL);
        return f;
}

static const char *str_of(avro_value_t *v, pd_arena_t *arena)
{
        const char *s = NULL;
        size_t size = 0;
        if (!v->iface || avro_value_get_string(v, &s, &size) || !s)
                return NULL;
        /* size counts the terminating NUL; embedded NULs truncate. */
        return pd_arena_strndup(arena, s, size ? strnlen(s, size - 1) : 0);
}

static const char *get_str(avro_value_t *rec, const char *name,
                           pd_arena_t *arena)
{
        avro_value_t f = field(rec, name);
        return str_of(&f, arena);
}

/* ["null", T]: returns false for null and fills *branch otherwise. */
static bool get_opt(avro_value_t *rec, const char *name, avro_value_t *branch)
{
        avro_value_t u = field(rec, name);
        int disc = 0;
        if (!u.iface || avro_value_get_discriminant(&u, &disc) || disc == 0)
                return false;
        return avro_value_get_current_branch(&u, branch) == 0;
}

static const char *get_opt_str(avro_value_t *rec, const char *name,
                               pd_arena_t *arena)
{
        avro_value_t b;
        return get_opt(rec, name, &b) ? str_of(&b, arena) : NULL;
}

static int64_t get_long(avro_value_t *rec, const char *name)
{
        int64_t v = 0;
        avro_value_t f = field(rec, name);
        if (f.iface)
                avro_value_get_long(&f, &v);
        return v;
}

static int64_t get_opt_long(avro_value_t *rec, const char *name, int64_t dflt)
{
        avro_value_t b;
        int64_t v = dflt;
        if (get_opt(rec, name, &b))
                avro_value_get_long(&b, &v);
        return v;
}

static int32_t get_int(avro_value_t *rec, const char *name)
{
        int32_t v = 0;
        avro_value_t f = field(rec, name);
        if (f.iface)
                avro_value_get_int(&f, &v);
        return v;
}

static double get_double(avro_value_t *rec, const char *name)
{
        double v = 0;
        avro_value_t f = field(rec, name);
        if (f.iface)
                avro_value_get_double(&f, &v);
        return v;
}

static bool get_bool(avro_value_t *rec, const char *name)
{
        int v = 0;
        avro_value_t f = field(rec, name);
        if (f.iface)
                avro_value_get_boolean(&f, &v);
        return v != 0;
}

static int get_enum(avro_value_t *rec, const char *name)
{
        int v = 0;
        avro_value_t f = field(rec, name);
        if (f.iface)
                avro_value_get_enum(&f, &v);
        return v;
}

static size_t size_of(avro_value_t *v)
{
        size_t n = 0;
        if (v->iface)
                avro_value_get_size(v, &n);
        return n;
}

static pd_strs_t get_strs(avro_value_t *rec, const char *name,
                          pd_arena_t *arena)
{
        pd_strs_t out = {0};
        avro_value_t a = field(rec, name);
        size_t n = size_of(&a);
        out.v = pd_arena_alloc(arena, (n ? n : 1) * sizeof(char *));
        for (size_t i = 0; out.v && i < n; i++) {
                avro_value_t e;
                if (!avro_value_get_by_index(&a, i, &e, NULL))
                        out.v[out.n++] = str_of(&e, arena);
        }
        return out;
}

static pd_kvs_t get_map(avro_value_t *rec, const char *name, pd_arena_t *arena)
{
        pd_kvs_t out = {0};
        avro_value_t m = field(rec, name);
        size_t n = size_of(&m);
        out.v = pd_arena_alloc(arena, (n ? n : 1) * sizeof(pd_kv_t));
        for (size_t i = 0; out.v && i < n; i++) {
                avro_value_t e;
                const char *key = NULL;
                if (avro_value_get_by_index(&m, i, &e, &key))
                        continue;
                out.v[out.n].key = pd_arena_strdup(arena, key);
                out.v[out.n].value = str_of(&e, arena);
                out.n++;
        }
        return out;
}

static int set_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t f = field(rec, name);
        return f.iface ? avro_value_set_string(&f, s ? s : "") : -1;
}

static int set_opt(avro_value_t *rec, const char *name, bool present,
                   avro_value_t *branch)
{
        avro_value_t u = field(rec, name);
        avro_value_t b;
        if (!u.iface || avro_value_set_branch(&u, present ? 1 : 0, &b))
                return -1;
        if (!present)
                return avro_value_set_null(&b);
        *branch = b;
        return 0;
}

static int set_opt_str(avro_value_t *rec, const char *name, const char *s)
{
        avro_value_t b;
        if (set_opt(rec, name, s != NULL, &b))
                return -1;
        return s ? avro_value_set_string(&b, s) : 0;
}

static int set_opt_long(avro_value_t *rec, const char *name, bool present,
                        int64_t v)
{
        avro_value_t b;
        if (set_opt(rec, name, present, &b))
                return -1;
        return present ? avro_value_set_long(&b, v) : 0;
}

static int set_long(avro_value_t *rec, const char *name, int64_t v)
{
        avro_value_t f = field(rec, name);
        return f.iface ? avro_value_set_long(&f, v) : -1;
}

static int set_int(avro_value_t *rec, const char *name, int32_t v)
{
        avro_value_t f = field(rec, name);
        return f.iface ? avro_value_set_int(&f, v) : -1;
}

static int set_double(avro_value_t *rec, const char *name, double v)
{
        avro_value_t f = field(rec, name);
        return f.iface ? avro_value_set_double(&f, v) : -1;
}

static int set_bool(avro_value_t *rec, const char *name, bool v)
{
        avro_value_t f = field(rec, name);
        return f.iface ? avro_value_set_boolean(&f, v) : -1;
}

static int set_enum(avro_value_t *rec, const char *name, int v)
{
        avro_value_t f = field(rec, name);
        return f.iface ? avro_value_set_enum(&f, v) : -1;
}

static int set_strs(avro_value_t *rec, const char *name, const pd_strs_t *ss)
{
        int rc = 0;
        avro_value_t a = field(rec, name);
        for (size_t i = 0; a.iface && i < ss->n && !rc; i++) {
                avro_value_t e;
                rc = avro_value_append(&a, &e, NULL) ||
                     avro_value_set_string(&e, ss->v[i] ? ss->v[i] : "");
        }
        return a.iface ? rc : -1;
}

static int set_map(avro_value_t *rec, const char *name, const pd_kvs_t *kvs)
{
        int rc = 0;
        avro_value_t m = field(rec, name);
        for (size_t i = 0; m.iface && i < kvs->n && !rc; i++) {
                avro_value_t e;
                rc = avro_value_add(&m, kvs->v[i].key, &e, NULL, NULL) ||
                     avro_value_set_string(&e, kvs->v[i].value ? kvs->v[i].value
                                                               : "");
        }
        return m.iface ? rc : -1;
}

/* ---- LifecycleEvent ----------------------------------------------------
 * The payload union's branches are in pd_event_kind_t order. */

static void decode_sale(avro_value_t *p, pd_arena_t *arena, pd_sale_closed_t *s)
{
        avro_value_t b;
        s->deal_id = get_str(p, "deal_id", arena);
        s->products = get_strs(p, "products", arena);
        s->deal_value = get_double(p, "deal_value");
        s->currency = get_str(p, "currency", arena);
        s->sector = get_opt_str(p, "sector", arena);
        s->employees = get_opt_long(p, "employees", -1);
        s->revenue = -1;
        if (get_opt(p, "revenue_millions", &b))
                avro_value_get_double(&b, &s->revenue);
        s->country = get_opt_str(p, "country", arena);
        s->region = get_opt_str(p, "region", arena);
        s->time_zone = get_opt_str(p, "time_zone", arena);
        s->sales_owner = get_opt_str(p, "sales_owner", arena);
        s->checkpoints = get_map(p, "checkpoints", arena);
}

static void decode_payload(avro_value_t *p, pd_arena_t *arena, pd_event_t *ev)
{
        switch (ev->kind) {
        case PD_EV_SALE_CLOSED:
                decode_sale(p, arena, &ev->u.sale);
                break;
        case PD_EV_IMPLEMENTATION_CLOSED:
                ev->u.impl.plan_id = get_opt_str(p, "plan_id", arena);
                break;
        case PD_EV_TICKET_OPENED:
                ev->u.ticket.ticket_id = get_str(p, "ticket_id", arena);
                ev->u.ticket.category = get_opt_str(p, "category", arena);
                ev->u.ticket.subject = get_opt_str(p, "subject", arena);
                ev->u.ticket.text = get_opt_str(p, "text", arena);
                ev->u.ticket.priority = get_opt_str(p, "priority", arena);
                ev->u.ticket.channel = get_opt_str(p, "channel", arena);
                ev->u.ticket.language = get_opt_str(p, "language", arena);
                break;
        case PD_EV_SURVEY_RETURNED:
                ev->u.survey.survey_id = get_opt_str(p, "survey_id", arena);
                ev->u.survey.kind = (pd_survey_kind_t)get_enum(p, "kind");
                ev->u.survey.score = get_int(p, "score");
                ev->u.survey.comment = get_opt_str(p, "comment", arena);
                break;
        case PD_EV_RENEWAL_DUE:
                ev->u.renewal.contract_id = get_str(p, "contract_id", arena);
                ev->u.renewal.renewal_date = get_long(p, "renewal_date");
                ev->u.renewal.annual_value = get_double(p, "annual_value");
                ev->u.renewal.auto_renew = get_bool(p, "auto_renew");
                break;
        case PD_EV_CHECKPOINTS_RECORDED:
                ev->u.checkpoints = get_map(p, "checkpoints", arena);
                break;
        case PD_EV_CUSTOMER_ERASED:
        case PD_EV__CNT:
                break;
        }
}

pd_err_t pd_codec_event_decode(pd_codec_t *codec, const void *buf, size_t len,
                               pd_arena_t *arena, pd_event_t *ev, char *errstr,
                               size_t errstr_size)
{
        avro_value_t *v;
        pd_err_t err = read_framed(codec, PD_SCHEMA_LIFECYCLE, buf, len, &v,
                                   errstr, errstr_size);
        if (err)
                return err;
        memset(ev, 0, sizeof(*ev));
        ev->event_id = get_str(v, "event_id", arena);
        ev->customer_id = get_str(v, "customer_id", arena);
        ev->occurred_at = get_long(v, "occurred_at");
        ev->source = get_str(v, "source", arena);
        avro_value_t u = field(v, "payload"), p;
        int disc = 0;
        avro_value_get_discriminant(&u, &disc);
        avro_value_get_current_branch(&u, &p);
        ev->kind = (pd_event_kind_t)disc;
        decode_payload(&p, arena, ev);
        return pd_event_validate(ev, errstr, errstr_size);
}

static int encode_sale(avro_value_t *p, const pd_sale_closed_t *s)
{
        avro_value_t b;
        int rc =
            set_str(p, "deal_id", s->deal_id) ||
            set_strs(p, "products", &s->products) ||
            set_double(p, "deal_value", s->deal_value) ||
            set_str(p, "currency", s->currency ? s->currency : "USD") ||
            set_opt_str(p, "sector", s->sector) ||
            set_opt_long(p, "employees", s->employees >= 0, s->employees) ||
            set_opt_str(p, "country", s->country) ||
            set_opt_str(p, "region", s->region) ||
            set_opt_str(p, "time_zone", s->time_zone) ||
            set_opt_str(p, "sales_owner", s->sales_owner) ||
            set_map(p, "checkpoints", &s->checkpoints);
        if (!rc)
                rc = set_opt(p, "revenue_millions", s->revenue >= 0, &b) ||
                     (s->revenue >= 0 && avro_value_set_double(&b, s->revenue));
        return rc;
}

static int encode_payload(avro_value_t *p, const pd_event_t *ev)
{
        const pd_ticket_opened_t *t = &ev->u.ticket;
        const pd_survey_returned_t *s = &ev->u.survey;
        const pd_renewal_due_t *r = &ev->u.renewal;
        switch (ev->kind) {
        case PD_EV_SALE_CLOSED:
                return encode_sale(p, &ev->u.sale);
        case PD_EV_IMPLEMENTATION_CLOSED:
                return set_opt_str(p, "plan_id", ev->u.impl.plan_id);
        case PD_EV_TICKET_OPENED:
                return set_str(p, "ticket_id", t->ticket_id) ||
                       set_opt_str(p, "category", t->category) ||
                       set_opt_str(p, "subject", t->subject) ||
                       set_opt_str(p, "text", t->text) ||
                       set_opt_str(p, "priority", t->priority) ||
                       set_opt_str(p, "channel", t->channel) ||
                       set_opt_str(p, "language", t->language);
        case PD_EV_SURVEY_RETURNED:
                return set_opt_str(p, "survey_id", s->survey_id) ||
                       set_enum(p, "kind", (int)s->kind) ||
                       set_int(p, "score", s->score) ||
                       set_opt_str(p, "comment", s->comment);
        case PD_EV_RENEWAL_DUE:
                return set_str(p, "contract_id", r->contract_id) ||
                       set_long(p, "renewal_date", r->renewal_date) ||
                       set_double(p, "annual_value", r->annual_value) ||
                       set_bool(p, "auto_renew", r->auto_renew);
        case PD_EV_CHECKPOINTS_RECORDED:
                return set_map(p, "checkpoints", &ev->u.checkpoints);
        case PD_EV_CUSTOMER_ERASED:
                return set_opt_str(p, "reason", NULL);
        default:
                return -1;
        }
}

pd_err_t pd_codec_event_encode(pd_codec_t *codec, const pd_event_t *ev,
                               pd_buf_t *out)
{
        avro_value_t *v = &codec->value[PD_SCHEMA_LIFECYCLE];
        avro_value_reset(v);
        avro_value_t u = field(v, "payload"), p;
        if (set_str(v, "event_id", ev->event_id) ||
            set_str(v, "customer_id", ev->customer_id) ||
            set_long(v, "occurred_at", ev->occurred_at) ||
            set_str(v, "source", ev->source ? ev->source : "") ||
            (unsigned)ev->kind >= PD_EV__CNT ||
            avro_value_set_branch(&u, (int)ev->kind, &p) ||
            encode_payload(&p, ev))
                return PD_ERR_INVALID;
        return write_framed(codec, PD_SCHEMA_LIFECYCLE, v, out);
}

/* ---- PersonaMarker ----------------------------------------------------- */

static const char *survey_kind_names[] = {"NPS", "CSAT"};

static void decode_marker_plan(avro_value_t *v, pd_arena_t *arena,
                               pd_marker_t *m)
{
        avro_value_t p;
        if (!get_opt(v, "plan", &p))
                return;
        m->plan_id = get_str(&p, "plan_id", arena);
        m->plan_template = get_str(&p, "template", arena);
        m->project_manager = get_str(&p, "project_manager", arena);
        m->plan_started_at = get_long(&p, "started_at");
        avro_value_t a = field(&p, "milestones");
        size_t n = size_of(&a);
        for (size_t i = 0; i < n && i < PD_MARKER_MILESTONES_MAX; i++) {
                avro_value_t e;
                avro_value_get_by_index(&a, i, &e, NULL);
                pd_milestone_t *ms = &m->milestones[m->n_milestones++];
                ms->name = get_str(&e, "name", arena);
                ms->owner_role = get_str(&e, "owner_role", arena);
                ms->due_at = get_long(&e, "due_at");
                ms->fired = get_bool(&e, "fired");
        }
}

static void decode_marker_surveys(avro_value_t *v, pd_arena_t *arena,
                                  pd_marker_t *m)
{
        avro_value_t s = field(v, "surveys");
        m->close_at = get_opt_long(&s, "close_at", 0);
        m->next_slot = get_int(&s, "next_slot");
        m->next_survey_at = get_opt_long(&s, "next_survey_at", 0);
        m->last_survey_at = get_opt_long(&s, "last_survey_at", 0);
        m->surveys_sent = get_int(&s, "sent");
        avro_value_t a = field(&s, "results");
        size_t n = size_of(&a);
        for (size_t i = 0; i < n && i < PD_MARKER_SURVEYS_MAX; i++) {
                avro_value_t e;
                avro_value_get_by_index(&a, i, &e, NULL);
                pd_survey_result_t *r = &m->surveys[m->n_surveys++];
                const char *kind = get_str(&e, "kind", arena);
                r->survey_id = get_str(&e, "survey_id", arena);
                r->kind = kind && !strcmp(kind, "CSAT") ? PD_SURVEY_CSAT
                                                        : PD_SURVEY_NPS;
                r->score = get_int(&e, "score");
                r->at = get_long(&e, "at");
                r->ticket_id = get_opt_str(&e, "ticket_id", arena);
        }
        m->survey_deferred_from = get_opt_long(&s, "deferred_from", 0);
        m->surveys_deferred = get_int(&s, "deferred");
}

static void decode_marker_lists(avro_value_t *v, pd_arena_t *arena,
                                pd_marker_t *m)
{
        avro_value_t a = field(v, "evidence");
        size_t n = size_of(&a);
        for (size_t i = 0; i < n && i < PD_MARKER_EVIDENCE_MAX; i++) {
                avro_value_t e;
                avro_value_get_by_index(&a, i, &e, NULL);
                pd_evidence_t *ev = &m->evidence[m->n_evidence++];
                ev->signal = get_str(&e, "signal", arena);
                ev->axis = pd_axis_parse(get_str(&e, "axis", arena));
                if (ev->axis == PD_AXIS__CNT)
                        ev->axis = PD_AXIS_SIMPLICITY;
                ev->weight = get_double(&e, "weight");
                ev->event_id = get_str(&e, "event_id", arena);
                ev->at = get_long(&e, "at");
        }
        a = field(v, "renewals");
        n = size_of(&a);
        for (size_t i = 0; i < n && i < PD_MARKER_RENEWALS_MAX; i++) {
                avro_value_t e;
                avro_value_get_by_index(&a, i, &e, NULL);
                pd_renewal_t *r = &m->renewals[m->n_renewals++];
                r->contract_id = get_str(&e, "contract_id", arena);
                r->renewal_date = get_long(&e, "renewal_date");
                r->annual_value = get_double(&e, "annual_value");
                r->auto_renew = get_bool(&e, "auto_renew");
                r->leads_fired = get_int(&e, "leads_fired");
        }
        pd_strs_t ids = get_strs(v, "recent_event_ids", arena);
        for (size_t i = 0; i < ids.n && i < PD_MARKER_EVENT_IDS_MAX; i++)
                m->event_ids[m->n_event_ids++] = ids.v[i];
        ids = get_strs(v, "recent_ticket_ids", arena);
        for (size_t i = 0; i < ids.n && i < PD_MARKER_TICKETS_MAX; i++)
                m->ticket_ids[m->n_ticket_ids++] = ids.v[i];
}

static pd_axis_t axis_or(const char *name, pd_axis_t dflt)
{
        pd_axis_t axis = pd_axis_parse(name);
        return axis == PD_AXIS__CNT ? dflt : axis;
}

static void decode_marker_history(avro_value_t *v, pd_arena_t *arena,
                                  pd_marker_t *m)
{
        avro_value_t a = field(v, "persona_history");
        size_t n = size_of(&a);
        /* Keep the newest when a writer kept more than we do. */
        size_t from = n > PD_MARKER_HISTORY_MAX ? n - PD_MARKER_HISTORY_MAX : 0;
        for (size_t i = from; i < n; i++) {
                avro_value_t e;
                avro_value_get_by_index(&a, i, &e, NULL);
                pd_persona_change_t *h = &m->history[m->n_history++];
                h->from =
                    axis_or(get_str(&e, "from", arena), PD_AXIS_SIMPLICITY);
                h->to = axis_or(get_str(&e, "to", arena), PD_AXIS_SIMPLICITY);
                h->at = get_long(&e, "at");
                h->event_id = get_str(&e, "event_id", arena);
                h->margin = get_double(&e, "margin");
        }
        a = field(v, "signals");
        n = size_of(&a);
        for (size_t i = 0; i < n && i < PD_MARKER_SIGNALS_MAX; i++) {
                avro_value_t e;
                avro_value_get_by_index(&a, i, &e, NULL);
                pd_signal_t *sg = &m->signals[m->n_signals++];
                sg->signal = get_str(&e, "signal", arena);
                sg->axis =
                    axis_or(get_str(&e, "axis", arena), PD_AXIS_SIMPLICITY);
                sg->unit = get_double(&e, "unit");
                sg->mass = get_double(&e, "mass");
                sg->at = get_long(&e, "at");
        }
}

pd_err_t pd_codec_marker_decode(pd_codec_t *codec, const void *buf, size_t len,
                                pd_arena_t *arena, pd_marker_t *m, char *errstr,
                                size_t errstr_size)
{
        avro_value_t *v;
        pd_err_t err = read_framed(codec, PD_SCHEMA_MARKER, buf, len, &v,
                                   errstr, errstr_size);
        if (err)
                return err;
        memset(m, 0, sizeof(*m));
        m->customer_id = get_str(v, "customer_id", arena);
        m->model_version = get_int(v, "model_version");
        avro_value_t sc = field(v, "scores");
        for (int i = 0; i < PD_AXIS__CNT; i++)
                m->axis[i] = get_double(&sc, pd_axis_name((pd_axis_t)i));
        m->dominant = pd_axis_parse(get_str(v, "dominant", arena));
        if (m->dominant == PD_AXIS__CNT)
                m->dominant = PD_AXIS_SIMPLICITY;
        m->margin = get_double(v, "margin");
        m->stage = (pd_stage_t)get_enum(v, "stage");
        m->time_zone = get_opt_str(v, "time_zone", arena);
        m->region = get_opt_str(v, "region", arena);
        m->country = get_opt_str(v, "country", arena);
        m->language = get_opt_str(v, "language", arena);
        m->sector = get_opt_str(v, "sector", arena);
        decode_marker_plan(v, arena, m);
        decode_marker_surveys(v, arena, m);
        decode_marker_lists(v, arena, m);
        avro_value_t c = field(v, "counters");
        m->events = get_int(&c, "events");
        m->deals = get_int(&c, "deals");
        m->tickets = get_int(&c, "tickets");
        m->created_at = get_long(v, "created_at");
        m->updated_at = get_long(v, "updated_at");
        pd_strs_t deals = get_strs(v, "recent_deal_ids", arena);
        for (size_t i = 0; i < deals.n && i < PD_MARKER_DEAL_IDS_MAX; i++)
                m->deal_ids[m->n_deal_ids++] = deals.v[i];
        decode_marker_history(v, arena, m);
        avro_value_t part = field(v, "partition");
        m->partition = part.iface ? get_int(v, "partition") : -1;
        return PD_OK;
}

static int encode_marker_plan(avro_value_t *v, const pd_marker_t *m)
{
        avro_value_t p, a;
        if (set_opt(v, "plan", m->plan_id != NULL, &p))
                return -1;
        if (!m->plan_id)
                return 0;
        int rc = set_str(&p, "plan_id", m->plan_id) ||
                 set_str(&p, "template", m->plan_template) ||
                 set_str(&p, "project_manager", m->project_manager) ||
                 set_long(&p, "started_at", m->plan_started_at);
        a = field(&p, "milestones");
        for (size_t i = 0; !rc && i < m->n_milestones; i++) {
                const pd_milestone_t *ms = &m->milestones[i];
                avro_value_t e;
                rc = avro_value_append(&a, &e, NULL) ||
                     set_str(&e, "name", ms->name) ||
                     set_str(&e, "owner_role", ms->owner_role) ||
                     set_long(&e, "due_at", ms->due_at) ||
                     set_bool(&e, "fired", ms->fired);
        }
        return rc;
}

static int encode_marker_surveys(avro_value_t *v, const pd_marker_t *m)
{
        avro_value_t s = field(v, "surveys");
        int rc = set_opt_long(&s, "close_at", m->close_at != 0, m->close_at) ||
                 set_int(&s, "next_slot", m->next_slot) ||
                 set_opt_long(&s, "next_survey_at", m->next_survey_at != 0,
                              m->next_survey_at) ||
                 set_opt_long(&s, "last_survey_at", m->last_survey_at != 0,
                              m->last_survey_at) ||
                 set_int(&s, "sent", m->surveys_sent);
        avro_value_t a = field(&s, "results");
        for (size_t i = 0; !rc && i < m->n_surveys; i++) {
                const pd_survey_result_t *r = &m->surveys[i];
                avro_value_t e;
                rc = avro_value_append(&a, &e, NULL) ||
                     set_str(&e, "survey_id", r->survey_id) ||
                     set_str(&e, "kind",
                             survey_kind_names[r->kind == PD_SURVEY_CSAT]) ||
                     set_int(&e, "score", r->score) ||
                     set_long(&e, "at", r->at) ||
                     set_opt_str(&e, "ticket_id", r->ticket_id);
        }
        return rc ||
               set_opt_long(&s, "deferred_from", m->survey_deferred_from != 0,
                            m->survey_deferred_from) ||
               set_int(&s, "deferred", m->surveys_deferred);
}

static int encode_marker_lists(avro_value_t *v, const pd_marker_t *m)
{
        int rc = 0;
        avro_value_t a = field(v, "evidence");
        for (size_t i = 0; !rc && i < m->n_evidence; i++) {
                const pd_evidence_t *ev = &m->evidence[i];
                avro_value_t e;
                rc = avro_value_append(&a, &e, NULL) ||
                     set_str(&e, "signal", ev->signal) ||
                     set_str(&e, "axis", pd_axis_name(ev->axis)) ||
                     set_double(&e, "weight", ev->weight) ||
                     set_str(&e, "event_id", ev->event_id) ||
                     set_long(&e, "at", ev->at);
        }
        a = field(v, "renewals");
        for (size_t i = 0; !rc && i < m->n_renewals; i++) {
                const pd_renewal_t *r = &m->renewals[i];
                avro_value_t e;
                rc = avro_value_append(&a, &e, NULL) ||
                     set_str(&e, "contract_id", r->contract_id) ||
                     set_long(&e, "renewal_date", r->renewal_date) ||
                     set_double(&e, "annual_value", r->annual_value) ||
                     set_bool(&e, "auto_renew", r->auto_renew) ||
                     set_int(&e, "leads_fired", r->leads_fired);
        }
        pd_strs_t ids = {(const char **)m->event_ids, m->n_event_ids};
        return rc || set_strs(v, "recent_event_ids", &ids);
}

static int encode_marker_history(avro_value_t *v, const pd_marker_t *m)
{
        int rc = 0;
        avro_value_t a = field(v, "persona_history");
        for (size_t i = 0; !rc && i < m->n_history; i++) {
                const pd_persona_change_t *h = &m->history[i];
                avro_value_t e;
                rc = avro_value_append(&a, &e, NULL) ||
                     set_str(&e, "from", pd_axis_name(h->from)) ||
                     set_str(&e, "to", pd_axis_name(h->to)) ||
                     set_long(&e, "at", h->at) ||
                     set_str(&e, "event_id", h->event_id ? h->event_id : "") ||
                     set_double(&e, "margin", h->margin);
        }
        a = field(v, "signals");
        for (size_t i = 0; !rc && i < m->n_signals; i++) {
                const pd_signal_t *sg = &m->signals[i];
                avro_value_t e;
                rc = avro_value_append(&a, &e, NULL) ||
                     set_str(&e, "signal", sg->signal ? sg->signal : "") ||
                     set_str(&e, "axis", pd_axis_name(sg->axis)) ||
                     set_double(&e, "unit", sg->unit) ||
                     set_double(&e, "mass", sg->mass) ||
                     set_long(&e, "at", sg->at);
        }
        return rc;
}

pd_err_t pd_codec_marker_encode(pd_codec_t *codec, const pd_marker_t *m,
                                pd_buf_t *out)
{
        avro_value_t *v = &codec->value[PD_SCHEMA_MARKER];
        avro_value_reset(v);
        avro_value_t sc = field(v, "scores");
        avro_value_t c = field(v, "counters");
        int rc = set_str(v, "customer_id", m->customer_id) ||
                 set_int(v, "model_version", m->model_version);
        for (int i = 0; i < PD_AXIS__CNT && !rc; i++)
                rc = set_double(&sc, pd_axis_name((pd_axis_t)i), m->axis[i]);
        rc = rc || set_str(v, "dominant", pd_axis_name(m->dominant)) ||
             set_double(v, "margin", m->margin) ||
             set_enum(v, "stage", (int)m->stage) ||
             set_opt_str(v, "time_zone", m->time_zone) ||
             set_opt_str(v, "region", m->region) ||
             set_opt_str(v, "country", m->country) ||
             set_opt_str(v, "language", m->language) ||
             set_opt_str(v, "sector", m->sector) || encode_marker_plan(v, m) ||
             encode_marker_surveys(v, m) || encode_marker_lists(v, m) ||
             set_int(&c, "events", m->events) ||
             set_int(&c, "deals", m->deals) ||
             set_int(&c, "tickets", m->tickets) ||
             set_long(v, "created_at", m->created_at) ||
             set_long(v, "updated_at", m->updated_at) ||
             encode_marker_history(v, m) ||
             set_int(v, "partition", m->partition);
        pd_strs_t deals = {(const char **)m->deal_ids, m->n_deal_ids};
        pd_strs_t tickets = {(const char **)m->ticket_ids, m->n_ticket_ids};
        rc = rc || set_strs(v, "recent_deal_ids", &deals) ||
             set_strs(v, "recent_ticket_ids", &tickets);
        if (rc)
                return PD_ERR_INVALID;
        return write_framed(codec, PD_SCHEMA_MARKER, v, out);
}

/* ---- PlanAssigned, ActionRequested, PartitionState --------------------- */

pd_err_t pd_codec_plan_encode(pd_codec_t *codec, const pd_plan_t *plan,
                              pd_buf_t *out)
{
        avro_value_t *v = &codec->value[PD_SCHEMA_PLAN];
        avro_value_reset(v);
        int rc = set_str(v, "plan_id", plan->plan_id) ||
                 set_str(v, "customer_id", plan->customer_id) ||
                 set_str(v, "persona", pd_axis_name(plan->persona)) ||
                 set_str(v, "template", plan->template_id) ||
                 set_str(v, "project_manager", plan->project_manager) ||
                 set_strs(v, "attendees", &plan->attendees) ||
                 set_bool(v, "extends_plan", plan->extends) ||
                 set_str(v, "reason", plan->reason) ||
                 set_str(v, "caused_by", plan->caused_by) ||
                 set_long(v, "assigned_at", plan->assigned_at);
        avro_value_t a = field(v, "team");
        for (size_t i = 0; !rc && i < plan->n_team; i++) {
                avro_value_t e;
                rc = avro_value_append(&a, &e, NULL) ||
                     set_str(&e, "role", plan->team[i].role) ||
                     set_str(&e, "name", plan->team[i].name);
        }
        a = field(v, "milestones");
        for (size_t i = 0; !rc && i < plan->n_milestones; i++) {
                avro_value_t e;
                rc =
                    avro_value_append(&a, &e, NULL) ||
                    set_str(&e, "name", plan->milestones[i].name) ||
                    set_str(&e, "owner_role", plan->milestones[i].owner_role) ||
                    set_long(&e, "due_at", plan->milestones[i].due_at);
        }
        if (rc)
                return PD_ERR_INVALID;
        return write_framed(codec, PD_SCHEMA_PLAN, v, out);
}

pd_err_t pd_codec_plan_decode(pd_codec_t *codec, const void *buf, size_t len,
                              pd_arena_t *arena, pd_plan_t *plan, char *errstr,
                              size_t errstr_size)
{
        avro_value_t *v;
        pd_err_t err = read_framed(codec, PD_SCHEMA_PLAN, buf, len, &v, errstr,
                                   errstr_size);
        if (err)
                return err;
        memset(plan, 0, sizeof(*plan));
        plan->plan_id = get_str(v, "plan_id", arena);
        plan->customer_id = get_str(v, "customer_id", arena);
        plan->persona = pd_axis_parse(get_str(v, "persona", arena));
        plan->template_id = get_str(v, "template", arena);
        plan->project_manager = get_str(v, "project_manager", arena);
        plan->attendees = get_strs(v, "attendees", arena);
        plan->extends = get_bool(v, "extends_plan");
        plan->reason = get_str(v, "reason", arena);
        plan->caused_by = get_str(v, "caused_by", arena);
        plan->assigned_at = get_long(v, "assigned_at");
        avro_value_t a = field(v, "team");
        size_t n = size_of(&a);
        plan->team = pd_arena_alloc(arena, (n ? n : 1) * sizeof(*plan->team));
        for (size_t i = 0; plan->team && i < n; i++) {
                avro_value_t e;
                avro_value_get_by_index(&a, i, &e, NULL);
                plan->team[i].role = get_str(&e, "role", arena);
                plan->team[i].name = get_str(&e, "name", arena);
                plan->n_team++;
        }
        a = field(v, "milestones");
        n = size_of(&a);
        plan->milestones =
            pd_arena_alloc(arena, (n ? n : 1) * sizeof(*plan->milestones));
        for (size_t i = 0; plan->milestones && i < n; i++) {
                avro_value_t e;
                avro_value_get_by_index(&a, i, &e, NULL);
                pd_milestone_t *ms = &plan->milestones[plan->n_milestones++];
                ms->name = get_str(&e, "name", arena);
                ms->owner_role = get_str(&e, "owner_role", arena);
                ms->due_at = get_long(&e, "due_at");
        }
        return PD_OK;
}

pd_err_t pd_codec_action_encode(pd_codec_t *codec, const pd_action_t *action,
                                pd_buf_t *out)
{
        avro_value_t *v = &codec->value[PD_SCHEMA_ACTION];
        avro_value_reset(v);
        if (set_str(v, "action_id", action->action_id) ||
            set_str(v, "customer_id", action->customer_id) ||
            set_enum(v, "kind", (int)action->kind) ||
            set_long(v, "due_at", action->due_at) ||
            set_map(v, "params", &action->params) ||
            set_str(v, "reason", action->reason) ||
            set_str(v, "caused_by", action->caused_by) ||
            set_long(v, "created_at", action->created_at))
                return PD_ERR_INVALID;
        return write_framed(codec, PD_SCHEMA_ACTION, v, out);
}

pd_err_t pd_codec_action_decode(pd_codec_t *codec, const void *buf, size_t len,
                                pd_arena_t *arena, pd_action_t *action,
                                char *errstr, size_t errstr_size)
{
        avro_value_t *v;
        pd_err_t err = read_framed(codec, PD_SCHEMA_ACTION, buf, len, &v,
                                   errstr, errstr_size);
        if (err)
                return err;
        memset(action, 0, sizeof(*action));
        action->action_id = get_str(v, "action_id", arena);
        action->customer_id = get_str(v, "customer_id", arena);
        action->kind = (pd_action_kind_t)get_enum(v, "kind");
        action->due_at = get_long(v, "due_at");
        action->params = get_map(v, "params", arena);
        action->reason = get_str(v, "reason", arena);
        action->caused_by = get_str(v, "caused_by", arena);
        action->created_at = get_long(v, "created_at");
        return PD_OK;
}

pd_err_t pd_codec_pstate_encode(pd_codec_t *codec, const pd_pstate_t *ps,
                                pd_buf_t *out)
{
        avro_value_t *v = &codec->value[PD_SCHEMA_PSTATE];
        avro_value_reset(v);
        int rc = set_int(v, "partition", ps->partition) ||
                 set_long(v, "stream_time", ps->stream_time) ||
                 set_long(v, "input_offset", ps->input_offset);
        avro_value_t m = field(v, "loads");
        for (size_t i = 0; !rc && i < ps->n_loads; i++) {
                avro_value_t e;
                rc = avro_value_add(&m, ps->loads[i].pm, &e, NULL, NULL) ||
                     avro_value_set_int(&e, ps->loads[i].active);
        }
        if (rc)
                return PD_ERR_INVALID;
        return write_framed(codec, PD_SCHEMA_PSTATE, v, out);
}

pd_err_t pd_codec_pstate_decode(pd_codec_t *codec, const void *buf, size_t len,
                                pd_arena_t *arena, pd_pstate_t *ps,
                                char *errstr, size_t errstr_size)
{
        avro_value_t *v;
        pd_err_t err = read_framed(codec, PD_SCHEMA_PSTATE, buf, len, &v,
                                   errstr, errstr_size);
        if (err)
                return err;
        memset(ps, 0, sizeof(*ps));
        ps->partition = get_int(v, "partition");
        ps->stream_time = get_long(v, "stream_time");
        ps->input_offset = get_long(v, "input_offset");
        avro_value_t m = field(v, "loads");
        size_t n = size_of(&m);
        ps->loads = pd_arena_alloc(arena, (n ? n : 1) * sizeof(*ps->loads));
        for (size_t i = 0; ps->loads && i < n; i++) {
                avro_value_t e;
                const char *key = NULL;
                avro_value_get_by_index(&m, i, &e, &key);
                ps->loads[ps->n_loads].pm = pd_arena_strdup(arena, key);
                avro_value_get_int(&e, &ps->loads[ps->n_loads].active);
                ps->n_loads++;
        }
        return PD_OK;
}
