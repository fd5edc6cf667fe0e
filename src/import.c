#include "import.h"
#include "schedule.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"

#define MS_PER_DAY  86400000LL
#define MS_PER_HOUR 3600000LL
/* A date without a time of day is taken as 12:00 UTC: the calendar date is
 * then the same in every customer zone from UTC-11 to UTC+11, so schedules
 * computed in local time start on the day the source says. */
#define DATE_HOUR 12

/* ---- import context ------------------------------------------------------ */

typedef struct ctx_s {
        pd_arena_t *arena;
        pd_import_result_t *res;
        pd_import_dataset_t *ds;
        char dir[4096]; /* <data_dir>/<dataset> */
        char *errstr;
        size_t errstr_size;
} ctx_t;

typedef struct row_s {
        const char **f;
        long line;
} row_t;

/* One CSV file loaded whole: rows have exactly the header's columns. */
typedef struct table_s {
        const char *file;
        size_t ncols;
        const char **hdr;
        row_t *rows;
        size_t nrows, cap;
} table_t;

void pd_import_result_init(pd_import_result_t *res)
{
        memset(res, 0, sizeof(*res));
        res->log_max = 10;
}

/* ---- skipped and rejected rows --------------------------------------- */

static pd_import_reason_t *reason_find(ctx_t *ctx, pd_import_reason_t **v,
                                       size_t *n, size_t *cap, const char *key,
                                       const char *example)
{
        for (size_t i = 0; i < *n; i++)
                if (!strcmp((*v)[i].dataset, ctx->ds->name) &&
                    !strcmp((*v)[i].reason, key))
                        return &(*v)[i];
        pd_import_reason_t *nv =
            pd_arena_grow(ctx->arena, *v, *n, cap, sizeof(**v));
        if (!nv)
                return NULL;
        *v = nv;
        pd_import_reason_t *r = &nv[(*n)++];
        r->dataset = ctx->ds->name;
        r->reason = pd_arena_strdup(ctx->arena, key);
        r->example = pd_arena_strdup(ctx->arena, example);
        return r;
}

/* Rows that should have been events but are broken: counted per reason and
 * logged "dataset/file:line: field: reason (value)", capped per reason. */
static int reject(ctx_t *ctx, const char *file, long line, const char *field,
                  const char *reason, const char *value)
{
        pd_import_result_t *res = ctx->res;
        char key[512], msg[1024];
        snprintf(key, sizeof(key), "%s: %s: %s", file, field, reason);
        snprintf(msg, sizeof(msg), "%s/%s:%ld: %s: %s%s%.80s%s", ctx->ds->name,
                 file, line, field, reason, value ? " ('" : "",
                 value ? value : "", value ? "')" : "");
        pd_import_reason_t *r = reason_find(ctx, &res->rejects, &res->n_rejects,
                                            &res->cap_rejects, key, msg);
        if (!r)
                return -1;
        r->n++;
        ctx->ds->rejected++;
        if (res->log && r->n <= res->log_max)
                fprintf(res->log, "%s\n", msg);
        else if (res->log && r->n == res->log_max + 1)
                fprintf(res->log, "%s/%s: %s: %s: further rows only counted\n",
                        ctx->ds->name, file, field, reason);
        return 0;
}

/* Rows that are not events by design (a lost deal, a CES answer). */
static int skip(ctx_t *ctx, const char *file, long line, const char *reason)
{
        pd_import_result_t *res = ctx->res;
        char key[512], msg[1024];
        snprintf(key, sizeof(key), "%s: %s", file, reason);
        snprintf(msg, sizeof(msg), "%s/%s:%ld: %s", ctx->ds->name, file, line,
                 reason);
        pd_import_reason_t *r = reason_find(ctx, &res->skips, &res->n_skips,
                                            &res->cap_skips, key, msg);
        if (!r)
                return -1;
        r->n++;
        ctx->ds->skipped++;
        return 0;
}

static pd_err_t nomem(ctx_t *ctx)
{
        snprintf(ctx->errstr, ctx->errstr_size, "%s: out of memory",
                 ctx->ds->name);
        return PD_ERR_NOMEM;
}

/* ---- loading a CSV file ------------------------------------------------ */

static size_t col(const table_t *t, const char *name)
{
        for (size_t i = 0; i < t->ncols; i++)
                if (!strcmp(t->hdr[i], name))
                        return i;
        return (size_t)-1;
}

/* Field `name` of row r ("" when the column is absent). */
static const char *fld(const table_t *t, size_t r, const char *name)
{
        size_t c = col(t, name);
        return c == (size_t)-1 ? "" : t->rows[r].f[c];
}

static const char **copy_fields(pd_arena_t *arena, const pd_csv_record_t *rec)
{
        const char **v = pd_arena_alloc(arena, rec->n * sizeof(*v));
        for (size_t i = 0; v && i < rec->n; i++) {
                v[i] = pd_arena_strndup(arena, rec->fields[i], rec->lens[i]);
                if (!v[i])
                        v = NULL;
        }
        return v;
}

static pd_err_t read_header(ctx_t *ctx, pd_csv_t *csv, table_t *t,
                            const char *const *required)
{
        pd_csv_record_t rec;
        pd_err_t err = pd_csv_next(csv, &rec, ctx->errstr, ctx->errstr_size);
        if (err == PD_ERR_NOT_FOUND) {
                snprintf(ctx->errstr, ctx->errstr_size,
                         "%s/%s:1: header: empty file", ctx->ds->name, t->file);
                return PD_ERR_CONFIG;
        }
        if (err)
                return err;
        t->ncols = rec.n;
        t->hdr = copy_fields(ctx->arena, &rec);
        if (!t->hdr)
                return nomem(ctx);
        for (; *required; required++) {
                if (col(t, *required) != (size_t)-1)
                        continue;
                snprintf(ctx->errstr, ctx->errstr_size,
                         "%s/%s:%ld: header: no column '%s'", ctx->ds->name,
                         t->file, rec.line, *required);
                return PD_ERR_CONFIG;
        }
        return PD_OK;
}

/* A record with the wrong number of fields is rejected; when it is the
 * last one and has no line end the export was cut short. */
static int reject_short(ctx_t *ctx, table_t *t, const pd_csv_record_t *rec)
{
        char why[160];
        if (!rec->terminated)
                snprintf(why, sizeof(why),
                         "truncated final record: %zu of %zu fields and no "
                         "line end at end of file",
                         rec->n, t->ncols);
        else
                snprintf(why, sizeof(why), "%zu fields, header has %zu", rec->n,
                         t->ncols);
        return reject(ctx, t->file, rec->line, "record", why,
                      rec->n ? rec->fields[0] : NULL);
}

static pd_err_t add_row(ctx_t *ctx, table_t *t, const pd_csv_record_t *rec)
{
        row_t *rows = pd_arena_grow(ctx->arena, t->rows, t->nrows, &t->cap,
                                    sizeof(*rows));
        if (!rows)
                return nomem(ctx);
        t->rows = rows;
        t->rows[t->nrows].f = copy_fields(ctx->arena, rec);
        t->rows[t->nrows].line = rec->line;
        if (!t->rows[t->nrows].f)
                return nomem(ctx);
        t->nrows++;
        return PD_OK;
}

static pd_err_t read_rows(ctx_t *ctx, pd_csv_t *csv, table_t *t)
{
        pd_err_t err = PD_OK;
        pd_csv_record_t rec;
        while (!(err = pd_csv_next(csv, &rec, ctx->errstr, ctx->errstr_size))) {
                ctx->ds->rows++;
                if (rec.n != t->ncols)
                        err = reject_short(ctx, t, &rec) ? nomem(ctx) : PD_OK;
                else
                        err = add_row(ctx, t, &rec);
                if (err)
                        return err;
        }
        if (err == PD_ERR_INVALID) {
                /* An open quote at end of file: the record is cut short. */
                ctx->ds->rows++;
                err = reject(ctx, t->file, rec.line, "record",
                             "truncated final record: unterminated quoted "
                             "field at end of file",
                             NULL)
                          ? nomem(ctx)
                          : PD_OK;
        }
        return err == PD_ERR_NOT_FOUND ? PD_OK : err;
}

static pd_err_t load_table(ctx_t *ctx, const char *file,
                           const char *const *required, table_t *t)
{
        char path[4400];
        pd_csv_t *csv = NULL;
        pd_err_t err;

        memset(t, 0, sizeof(*t));
        t->file = file;
        snprintf(path, sizeof(path), "%s/%s", ctx->dir, file);
        err = pd_csv_open(path, &csv, ctx->errstr, ctx->errstr_size);
        if (err)
                goto out;
        err = read_header(ctx, csv, t, required);
        if (err)
                goto out;
        err = read_rows(ctx, csv, t);
out:
        pd_csv_close(csv);
        return err;
}

/* ---- field parsing ------------------------------------------------------- */

/* Reads exactly `width` digits. */
static bool digits(const char **sp, int width, int *out)
{
        int v = 0;
        for (int i = 0; i < width; i++, (*sp)++) {
                if (!isdigit((unsigned char)**sp))
                        return false;
                v = v * 10 + (**sp - '0');
        }
        *out = v;
        return true;
}

/* "YYYY-MM-DD" at DATE_HOUR UTC; with hour >= 0, "YYYY-MM-DD H:MM" (one or
 * two hour digits, optional ":SS"; a 'T' may separate). */
static bool parse_time(const char *s, bool with_time, int64_t *ms)
{
        int y, mo, d, h = DATE_HOUR, mi = 0, sec = 0;
        if (!digits(&s, 4, &y) || *s++ != '-' || !digits(&s, 2, &mo) ||
            *s++ != '-' || !digits(&s, 2, &d))
                return false;
        if (mo < 1 || mo > 12 || d < 1 || d > pd_schedule_days_in_month(y, mo))
                return false;
        if (with_time) {
                if (*s != ' ' && *s != 'T')
                        return false;
                s++;
                int w = isdigit((unsigned char)s[1]) ? 2 : 1;
                if (!digits(&s, w, &h) || *s++ != ':' || !digits(&s, 2, &mi))
                        return false;
                if (*s == ':' && (s++, !digits(&s, 2, &sec)))
                        return false;
                if (h > 23 || mi > 59 || sec > 59)
                        return false;
        }
        if (*s)
                return false;
        *ms = pd_schedule_days_from_civil(y, mo, d) * MS_PER_DAY +
              h * MS_PER_HOUR + (mi * 60 + sec) * 1000LL;
        return true;
}

static bool parse_double(const char *s, double *v)
{
        char *end;
        if (!*s || isspace((unsigned char)*s))
                return false;
        errno = 0;
        *v = strtod(s, &end);
        return !*end && !errno && isfinite(*v);
}

static bool parse_int(const char *s, long long *v)
{
        char *end;
        if (!*s || isspace((unsigned char)*s))
                return false;
        errno = 0;
        *v = strtoll(s, &end, 10);
        return !*end && !errno;
}

static bool parse_bool(const char *s, bool *v)
{
        if (!strcasecmp(s, "true") || !strcmp(s, "1") ||
            !strcasecmp(s, "yes")) {
                *v = true;
                return true;
        }
        if (!strcasecmp(s, "false") || !strcmp(s, "0") ||
            !strcasecmp(s, "no")) {
                *v = false;
                return true;
        }
        return false;
}

/* ---- normalisation tables ------------------------------------------------ */

typedef struct country_s {
        const char *iso;
        const char *names; /* '|'-separated spellings seen in exports */
        const char *tz;    /* the zone most of its businesses are in */
        const char *lang;
} country_t;

static const country_t countries[] = {
    {"US", "United States|USA|United States of America", "America/New_York",
     "en"},
    {"GB", "United Kingdom|UK|Great Britain", "Europe/London", "en"},
    {"IN", "India", "Asia/Kolkata", "en"},
    {"AU", "Australia", "Australia/Sydney", "en"},
    {"CA", "Canada", "America/Toronto", "en"},
    {"DE", "Germany|Deutschland", "Europe/Berlin", "de"},
    {"FR", "France", "Europe/Paris", "fr"},
    {"ES", "Spain|España", "Europe/Madrid", "es"},
    {"IT", "Italy|Italia", "Europe/Rome", "it"},
    {"PT", "Portugal", "Europe/Lisbon", "pt"},
    {"BR", "Brazil|Brasil", "America/Sao_Paulo", "pt"},
    {"MX", "Mexico|México", "America/Mexico_City", "es"},
    {"KE", "Kenya", "Africa/Nairobi", "en"},
    {"PH", "Philippines|Philipines", "Asia/Manila", "en"},
    {"JP", "Japan", "Asia/Tokyo", "ja"},
    {"NO", "Norway", "Europe/Oslo", "no"},
    {"KR", "Korea|South Korea|Republic of Korea", "Asia/Seoul", "ko"},
    {"JO", "Jordan", "Asia/Amman", "ar"},
    {"PA", "Panama", "America/Panama", "es"},
    {"BE", "Belgium", "Europe/Brussels", "fr"},
    {"RO", "Romania", "Europe/Bucharest", "ro"},
    {"PL", "Poland", "Europe/Warsaw", "pl"},
    {"CN", "China", "Asia/Shanghai", "zh"},
    {"NL", "Netherlands", "Europe/Amsterdam", "nl"},
};

/* Whether s is one of the ','- or '|'-separated items of list. */
static bool in_list(const char *list, const char *s)
{
        size_t n = strlen(s);
        while (n && *list) {
                size_t len = strcspn(list, ",|");
                if (len == n && !strncasecmp(list, s, n))
                        return true;
                list += len + (list[len] != '\0');
        }
        return false;
}

/* By ISO code or any known spelling (typos included); NULL if unknown. */
static const country_t *country_find(const char *s)
{
        for (size_t i = 0; i < sizeof(countries) / sizeof(*countries); i++)
                if (!strcasecmp(countries[i].iso, s) ||
                    in_list(countries[i].names, s))
                        return &countries[i];
        return NULL;
}

/* The US offices of the Maven sales teams, by regional_office. */
static const char *us_region_tz(const char *region)
{
        if (!strcasecmp(region, "Central"))
                return "America/Chicago";
        if (!strcasecmp(region, "East"))
                return "America/New_York";
        if (!strcasecmp(region, "West"))
                return "America/Los_Angeles";
        return NULL;
}

/* Known misspellings in the exports; everything else is kept, lower case. */
static const char *sector_fix(pd_arena_t *arena, const char *s, bool *fixed)
{
        static const char *const typos[][2] = {{"technolgy", "technology"}};
        *fixed = false;
        for (size_t i = 0; i < sizeof(typos) / sizeof(*typos); i++)
                if (!strcasecmp(s, typos[i][0])) {
                        *fixed = true;
                        return typos[i][1];
                }
        char *out = pd_arena_strdup(arena, s);
        for (char *p = out; p && *p; p++)
                *p = (char)tolower((unsigned char)*p);
        return out;
}

/* Product names compare ignoring spaces and case ("GTXPro" = "GTX Pro"). */
static bool same_product(const char *a, const char *b)
{
        for (;;) {
                while (*a == ' ')
                        a++;
                while (*b == ' ')
                        b++;
                if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
                        return false;
                if (!*a)
                        return true;
                a++, b++;
        }
}

/* Row of t whose column c equals key; -1 if none. */
static long lookup(const table_t *t, const char *column, const char *key)
{
        size_t c = col(t, column);
        for (size_t r = 0; c != (size_t)-1 && r < t->nrows; r++)
                if (!strcmp(t->rows[r].f[c], key))
                        return (long)r;
        return -1;
}

static const char *nonempty(const char *s)
{
        return s && *s ? s : NULL;
}

static const char *lower_bool(bool b)
{
        return b ? "true" : "false";
}

/* ---- events -------------------------------------------------------------- */

/* Appends an event; its id is UUID v5 of "<dataset>/<file>/<key>/<kind>". */
static pd_event_t *new_event(ctx_t *ctx, pd_event_kind_t kind,
                             const char *customer_id, int64_t at,
                             const char *file, const char *key)
{
        pd_import_result_t *res = ctx->res;
        pd_event_t *v = pd_arena_grow(ctx->arena, res->events, res->n_events,
                                      &res->cap_events, sizeof(*v));
        if (!v)
                return NULL;
        res->events = v;
        pd_event_t *ev = &v[res->n_events];
        memset(ev, 0, sizeof(*ev));
        ev->event_id = pd_uuid5_printf(ctx->arena, "%s/%s/%s/%s", ctx->ds->name,
                                       file, key, pd_event_kind_name(kind));
        ev->customer_id = pd_arena_strdup(ctx->arena, customer_id);
        ev->occurred_at = at;
        ev->source = ctx->ds->name;
        ev->kind = kind;
        if (!ev->event_id || !ev->customer_id)
                return NULL;
        res->n_events++;
        ctx->ds->events[kind]++;
        return ev;
}

static int kv(pd_kvs_t *kvs, pd_arena_t *arena, const char *k, const char *v)
{
        if (!v || !*v)
                return 0;
        return pd_kvs_add(kvs, arena, k, v);
}

static int kv_printf(pd_kvs_t *kvs, pd_arena_t *arena, const char *k,
                     const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int kv_printf(pd_kvs_t *kvs, pd_arena_t *arena, const char *k,
                     const char *fmt, ...)
{
        char v[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(v, sizeof(v), fmt, ap);
        va_end(ap);
        return pd_kvs_add(kvs, arena, k, v);
}

/* The deal size bands of checkpoint "deal_size_band" (USD). */
static const char *deal_size_band(double value)
{
        if (value < 1000)
                return "small";
        if (value < 5000)
                return "medium";
        if (value < 20000)
                return "large";
        return "enterprise";
}

/* ---- maven-crm ----------------------------------------------------------- */

typedef struct maven_s {
        table_t accounts, products, teams, pipeline;
        size_t product_fixed, sector_fixed, country_fixed;
} maven_t;

/* Firmographics from accounts.csv and region/zone from sales_teams.csv. */
static int maven_firmo(ctx_t *ctx, maven_t *m, size_t r, pd_sale_closed_t *s)
{
        const table_t *p = &m->pipeline;
        long a = lookup(&m->accounts, "account", fld(p, r, "account"));
        long t = lookup(&m->teams, "sales_agent", fld(p, r, "sales_agent"));
        const char *office = t >= 0 ? fld(&m->teams, t, "regional_office") : "";
        long long emp;
        bool fixed = false;

        s->employees = -1;
        s->revenue = -1;
        s->region = nonempty(office);
        if (a < 0)
                return 0; /* a deal with an account we know nothing of */
        const char *sector = fld(&m->accounts, a, "sector");
        s->sector = *sector ? sector_fix(ctx->arena, sector, &fixed) : NULL;
        m->sector_fixed += fixed;
        if (parse_int(fld(&m->accounts, a, "employees"), &emp) && emp >= 0)
                s->employees = emp;
        if (!parse_double(fld(&m->accounts, a, "revenue"), &s->revenue))
                s->revenue = -1;
        const char *loc = fld(&m->accounts, a, "office_location");
        const country_t *cty = country_find(loc);
        s->country = cty ? cty->iso : nonempty(loc);
        m->country_fixed += cty && !strcasecmp(loc, "Philipines");
        if (cty && !strcmp(cty->iso, "US"))
                s->time_zone = us_region_tz(office);
        if (cty && !s->time_zone)
                s->time_zone = cty->tz;
        return 0;
}

/* Checkpoints derived from the CRM: year_established, subsidiary_of,
 * series and list_price of the product, deal_size_band, discount_pct
 * (list price vs. close value), sales_cycle_days (engage to close),
 * sales_manager. */
static int maven_checkpoints(ctx_t *ctx, maven_t *m, size_t r, long prod,
                             int64_t close_at, pd_sale_closed_t *s)
{
        const table_t *p = &m->pipeline;
        long a = lookup(&m->accounts, "account", fld(p, r, "account"));
        long t = lookup(&m->teams, "sales_agent", fld(p, r, "sales_agent"));
        pd_kvs_t *c = &s->checkpoints;
        pd_arena_t *ar = ctx->arena;
        int64_t engage_at;
        double list;
        int err = 0;

        if (a >= 0) {
                err |= kv(c, ar, "year_established",
                          fld(&m->accounts, a, "year_established"));
                err |= kv(c, ar, "subsidiary_of",
                          fld(&m->accounts, a, "subsidiary_of"));
        }
        err |= kv(c, ar, "series", fld(&m->products, prod, "series"));
        err |= kv(c, ar, "deal_size_band", deal_size_band(s->deal_value));
        if (parse_double(fld(&m->products, prod, "sales_price"), &list) &&
            list > 0) {
                err |= kv_printf(c, ar, "list_price", "%.0f", list);
                err |= kv_printf(c, ar, "discount_pct", "%.0f",
                                 100.0 * (list - s->deal_value) / list);
        }
        if (parse_time(fld(p, r, "engage_date"), false, &engage_at))
                err |=
                    kv_printf(c, ar, "sales_cycle_days", "%lld",
                              (long long)((close_at - engage_at) / MS_PER_DAY));
        if (t >= 0)
                err |= kv(c, ar, "sales_manager", fld(&m->teams, t, "manager"));
        return err;
}

/* Says which field of a won deal is unusable and why; NULL if none. */
static const char *maven_fault(maven_t *m, size_t r, long *prod, int64_t *at,
                               double *value, const char **why)
{
        static const char *const need[] = {"opportunity_id", "account",
                                           "product", "close_date",
                                           "close_value"};
        const table_t *p = &m->pipeline;
        *why = "empty on a won deal";
        for (size_t i = 0; i < sizeof(need) / sizeof(*need); i++)
                if (!*fld(p, r, need[i]))
                        return need[i];
        *prod = -1;
        for (size_t i = 0; *prod < 0 && i < m->products.nrows; i++)
                if (same_product(fld(p, r, "product"),
                                 fld(&m->products, i, "product")))
                        *prod = (long)i;
        *why = "not in products.csv";
        if (*prod < 0)
                return "product";
        *why = "not a date (YYYY-MM-DD)";
        if (!parse_time(fld(p, r, "close_date"), false, at))
                return "close_date";
        *why = "not a non-negative number";
        if (!parse_double(fld(p, r, "close_value"), value) || *value < 0)
                return "close_value";
        return NULL;
}

static pd_err_t maven_row(ctx_t *ctx, maven_t *m, size_t r)
{
        const table_t *p = &m->pipeline;
        char customer[512];
        long prod = -1;
        int64_t at = 0;
        double value = 0;

        if (strcmp(fld(p, r, "deal_stage"), "Won"))
                return skip(ctx, p->file, p->rows[r].line, "not won")
                           ? nomem(ctx)
                           : PD_OK;
        const char *why, *field = maven_fault(m, r, &prod, &at, &value, &why);
        if (field)
                return reject(ctx, p->file, p->rows[r].line, field, why,
                              nonempty(fld(p, r, field)))
                           ? nomem(ctx)
                           : PD_OK;
        snprintf(customer, sizeof(customer), "maven-crm:%s",
                 fld(p, r, "account"));
        pd_event_t *ev = new_event(ctx, PD_EV_SALE_CLOSED, customer, at,
                                   p->file, fld(p, r, "opportunity_id"));
        if (!ev)
                return nomem(ctx);
        pd_sale_closed_t *s = &ev->u.sale;
        const char *name = fld(&m->products, prod, "product");
        m->product_fixed += strcmp(name, fld(p, r, "product")) != 0;
        s->deal_id = fld(p, r, "opportunity_id");
        s->products.v = pd_arena_alloc(ctx->arena, sizeof(char *));
        if (!s->products.v)
                return nomem(ctx);
        s->products.v[0] = name;
        s->products.n = 1;
        s->deal_value = value;
        s->currency = "USD";
        s->sales_owner = nonempty(fld(p, r, "sales_agent"));
        if (maven_firmo(ctx, m, r, s) ||
            maven_checkpoints(ctx, m, r, prod, at, s))
                return nomem(ctx);
        return PD_OK;
}

static pd_err_t maven_load(ctx_t *ctx, maven_t *m)
{
        static const char *const acc[] = {
            "account",   "sector",          "year_established", "revenue",
            "employees", "office_location", "subsidiary_of",    NULL};
        static const char *const prod[] = {"product", "series", "sales_price",
                                           NULL};
        static const char *const team[] = {"sales_agent", "manager",
                                           "regional_office", NULL};
        static const char *const pipe[] = {
            "opportunity_id", "sales_agent", "product",
            "account",        "deal_stage",  "engage_date",
            "close_date",     "close_value", NULL};
        pd_err_t err = load_table(ctx, "accounts.csv", acc, &m->accounts);
        if (!err)
                err = load_table(ctx, "products.csv", prod, &m->products);
        if (!err)
                err = load_table(ctx, "sales_teams.csv", team, &m->teams);
        if (!err)
                err = load_table(ctx, "sales_pipeline.csv", pipe, &m->pipeline);
        return err;
}

static pd_err_t import_maven(ctx_t *ctx)
{
        maven_t m;
        memset(&m, 0, sizeof(m));
        pd_err_t err = maven_load(ctx, &m);
        for (size_t r = 0; !err && r < m.pipeline.nrows; r++)
                err = maven_row(ctx, &m, r);
        if (!err)
                ctx->ds->note = pd_arena_printf(
                    ctx->arena,
                    "won deals only; product names normalised to "
                    "products.csv on %zu deals (GTXPro -> GTX Pro), sector "
                    "typo fixed on %zu (technolgy -> technology), country "
                    "typo fixed on %zu (Philipines -> PH)",
                    m.product_fixed, m.sector_fixed, m.country_fixed);
        return err;
}

/* ---- it-tickets-bueck and ravenstack-saas ------------------------------ */

#define BUECK_FILE "aa_dataset-tickets-multi-lang-5-2-50-version.csv"

/* The Bueck export writes line breaks inside a body as the two characters
 * '\' 'n'; the text signals want real ones. */
static const char *unescape_newlines(pd_arena_t *arena, const char *s)
{
        if (!strstr(s, "\\n"))
                return s;
        char *out = pd_arena_strdup(arena, s);
        char *w = out;
        for (const char *p = s; out && *p; p++) {
                if (p[0] == '\\' && p[1] == 'n') {
                        *w++ = '\n';
                        p++;
                } else {
                        *w++ = *p;
                }
        }
        if (out)
                *w = '\0';
        return out;
}

static pd_err_t import_bueck(ctx_t *ctx, table_t *bueck)
{
        static const char *const cols[] = {
            "subject", "body", "type", "queue", "priority", "language", NULL};
        return load_table(ctx, BUECK_FILE, cols, bueck);
}

typedef struct raven_s {
        table_t accounts, subs, tickets, churn;
        const table_t *bueck; /* NULL: no ticket text */
        size_t with_text;
} raven_t;

static void raven_firmo(raven_t *rv, const char *account_id,
                        pd_sale_closed_t *s)
{
        long a = lookup(&rv->accounts, "account_id", account_id);
        s->employees = -1; /* seats are not employees: see checkpoints */
        s->revenue = -1;
        if (a < 0)
                return;
        const char *cty = fld(&rv->accounts, a, "country");
        const country_t *c = country_find(cty);
        s->sector = nonempty(fld(&rv->accounts, a, "industry"));
        s->country = c ? c->iso : nonempty(cty);
        s->time_zone = c ? c->tz : NULL;
}

/* Checkpoints of a subscription: seats, referral_source (from the
 * account), is_trial, billing_frequency, upgrade, downgrade. */
static int raven_checkpoints(ctx_t *ctx, raven_t *rv, size_t r,
                             pd_sale_closed_t *s)
{
        const table_t *t = &rv->subs;
        pd_kvs_t *c = &s->checkpoints;
        long a = lookup(&rv->accounts, "account_id", fld(t, r, "account_id"));
        bool b;
        int err = kv(c, ctx->arena, "seats", fld(t, r, "seats"));
        if (a >= 0)
                err |= kv(c, ctx->arena, "referral_source",
                          fld(&rv->accounts, a, "referral_source"));
        static const char *const flags[][2] = {{"is_trial", "is_trial"},
                                               {"upgrade_flag", "upgrade"},
                                               {"downgrade_flag", "downgrade"}};
        for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++)
                if (parse_bool(fld(t, r, flags[i][0]), &b))
                        err |= kv(c, ctx->arena, flags[i][1], lower_bool(b));
        err |= kv(c, ctx->arena, "billing_frequency",
                  fld(t, r, "billing_frequency"));
        return err;
}

/* Renewal rule: annual contracts renew at start + 12 months, monthly ones
 * at start + 1 month (day clamped to the month's end); 0 = unknown. */
static int renewal_months(const char *billing_frequency)
{
        if (!strcasecmp(billing_frequency, "annual"))
                return 12;
        if (!strcasecmp(billing_frequency, "monthly"))
                return 1;
        return 0;
}

/* Says which field of a subscription is unusable and why; NULL if none. */
static const char *raven_sub_fault(const table_t *t, size_t r, int64_t *at,
                                   double *arr, bool *auto_renew,
                                   const char **why)
{
        *why = "empty";
        if (!*fld(t, r, "subscription_id"))
                return "subscription_id";
        if (!*fld(t, r, "account_id"))
                return "account_id";
        *why = "not a date (YYYY-MM-DD)";
        if (!parse_time(fld(t, r, "start_date"), false, at))
                return "start_date";
        *why = "not a non-negative number";
        if (!parse_double(fld(t, r, "arr_amount"), arr) || *arr < 0)
                return "arr_amount";
        *why = "neither monthly nor annual";
        if (!renewal_months(fld(t, r, "billing_frequency")))
                return "billing_frequency";
        *why = "not TRUE/FALSE";
        if (!parse_bool(fld(t, r, "auto_renew_flag"), auto_renew))
                return "auto_renew_flag";
        return NULL;
}

/* A subscription is a sale at its start date and a renewal due date known
 * from that day on. */
static pd_err_t raven_sub(ctx_t *ctx, raven_t *rv, size_t r)
{
        const table_t *t = &rv->subs;
        char customer[512];
        int64_t at = 0;
        double arr = 0;
        bool auto_renew = false;

        const char *why,
            *field = raven_sub_fault(t, r, &at, &arr, &auto_renew, &why);
        if (field)
                return reject(ctx, t->file, t->rows[r].line, field, why,
                              nonempty(fld(t, r, field)))
                           ? nomem(ctx)
                           : PD_OK;
        const char *sub_id = fld(t, r, "subscription_id");
        snprintf(customer, sizeof(customer), "ravenstack:%s",
                 fld(t, r, "account_id"));
        pd_event_t *ev =
            new_event(ctx, PD_EV_SALE_CLOSED, customer, at, t->file, sub_id);
        const char **products = pd_arena_alloc(ctx->arena, sizeof(char *));
        if (!ev || !products)
                return nomem(ctx);
        pd_sale_closed_t *s = &ev->u.sale;
        products[0] = fld(t, r, "plan_tier");
        s->deal_id = sub_id;
        s->products.v = products;
        s->products.n = 1;
        s->deal_value = arr;
        s->currency = "USD";
        raven_firmo(rv, fld(t, r, "account_id"), s);
        if (raven_checkpoints(ctx, rv, r, s))
                return nomem(ctx);

        ev = new_event(ctx, PD_EV_RENEWAL_DUE, customer, at, t->file, sub_id);
        if (!ev)
                return nomem(ctx);
        ev->u.renewal.contract_id = sub_id;
        ev->u.renewal.renewal_date = pd_schedule_add_months_utc(
            at, renewal_months(fld(t, r, "billing_frequency")));
        ev->u.renewal.annual_value = arr;
        ev->u.renewal.auto_renew = auto_renew;
        return PD_OK;
}

/* The n-th ticket takes subject, text, queue, priority and language of the
 * n-th complete Bueck row; beyond them a ticket has no text. */
static void raven_ticket_text(ctx_t *ctx, raven_t *rv, size_t r,
                              pd_ticket_opened_t *tk)
{
        const table_t *b = rv->bueck;
        tk->priority = nonempty(fld(&rv->tickets, r, "priority"));
        if (!b || r >= b->nrows)
                return;
        rv->with_text++;
        tk->subject =
            nonempty(unescape_newlines(ctx->arena, fld(b, r, "subject")));
        tk->text = nonempty(unescape_newlines(ctx->arena, fld(b, r, "body")));
        tk->category = nonempty(fld(b, r, "queue"));
        if (*fld(b, r, "priority"))
                tk->priority = fld(b, r, "priority");
        tk->language = nonempty(fld(b, r, "language"));
}

/* A satisfaction score on a ticket is a CSAT survey returned when the
 * ticket closed; its survey id is the ticket id, so the engine records it
 * as that ticket's CSAT, apart from the relationship NPS. */
static pd_err_t raven_csat(ctx_t *ctx, raven_t *rv, size_t r,
                           const char *customer)
{
        const table_t *t = &rv->tickets;
        const char *score = fld(t, r, "satisfaction_score");
        long line = t->rows[r].line;
        long long v = 0;
        int64_t at = 0;

        if (!*score)
                return PD_OK;
        if (!parse_int(score, &v) || v < 1 || v > 5)
                return reject(ctx, t->file, line, "satisfaction_score",
                              "not an integer 1-5", score)
                           ? nomem(ctx)
                           : PD_OK;
        if (!parse_time(fld(t, r, "closed_at"), true, &at))
                return reject(ctx, t->file, line, "closed_at",
                              "not a date-time (YYYY-MM-DD H:MM)",
                              fld(t, r, "closed_at"))
                           ? nomem(ctx)
                           : PD_OK;
        pd_event_t *ev = new_event(ctx, PD_EV_SURVEY_RETURNED, customer, at,
                                   t->file, fld(t, r, "ticket_id"));
        if (!ev)
                return nomem(ctx);
        ev->u.survey.survey_id = fld(t, r, "ticket_id");
        ev->u.survey.kind = PD_SURVEY_CSAT;
        ev->u.survey.score = (int32_t)v;
        ctx->ds->surveys[PD_SURVEY_CSAT]++;
        return PD_OK;
}

static pd_err_t raven_ticket(ctx_t *ctx, raven_t *rv, size_t r)
{
        const table_t *t = &rv->tickets;
        long line = t->rows[r].line;
        char customer[512];
        int64_t at = 0;

        static const char *const need[] = {"ticket_id", "account_id"};
        for (size_t i = 0; i < 2; i++)
                if (!*fld(t, r, need[i]))
                        return reject(ctx, t->file, line, need[i], "empty",
                                      NULL)
                                   ? nomem(ctx)
                                   : PD_OK;
        /* Date only, at 00:00 UTC: resolution_time_hours counts from
         * midnight of submitted_at to closed_at. */
        if (!parse_time(fld(t, r, "submitted_at"), false, &at))
                return reject(ctx, t->file, line, "submitted_at",
                              "not a date (YYYY-MM-DD)",
                              fld(t, r, "submitted_at"))
                           ? nomem(ctx)
                           : PD_OK;
        at -= DATE_HOUR * MS_PER_HOUR;
        snprintf(customer, sizeof(customer), "ravenstack:%s",
                 fld(t, r, "account_id"));
        pd_event_t *ev = new_event(ctx, PD_EV_TICKET_OPENED, customer, at,
                                   t->file, fld(t, r, "ticket_id"));
        if (!ev)
                return nomem(ctx);
        ev->u.ticket.ticket_id = fld(t, r, "ticket_id");
        raven_ticket_text(ctx, rv, r, &ev->u.ticket);
        return raven_csat(ctx, rv, r, customer);
}

/* A churn is further checkpoints on the customer: churned, churn_reason,
 * feedback, churn_refund_usd, churn_after_upgrade, churn_after_downgrade,
 * churn_is_reactivation. */
static pd_err_t raven_churn(ctx_t *ctx, raven_t *rv, size_t r)
{
        const table_t *t = &rv->churn;
        long line = t->rows[r].line;
        char customer[512];
        int64_t at = 0;
        bool b;

        if (!*fld(t, r, "churn_event_id") || !*fld(t, r, "account_id"))
                return reject(ctx, t->file, line,
                              *fld(t, r, "account_id") ? "churn_event_id"
                                                       : "account_id",
                              "empty", NULL)
                           ? nomem(ctx)
                           : PD_OK;
        if (!parse_time(fld(t, r, "churn_date"), false, &at))
                return reject(ctx, t->file, line, "churn_date",
                              "not a date (YYYY-MM-DD)",
                              fld(t, r, "churn_date"))
                           ? nomem(ctx)
                           : PD_OK;
        snprintf(customer, sizeof(customer), "ravenstack:%s",
                 fld(t, r, "account_id"));
        pd_event_t *ev = new_event(ctx, PD_EV_CHECKPOINTS_RECORDED, customer,
                                   at, t->file, fld(t, r, "churn_event_id"));
        if (!ev)
                return nomem(ctx);
        pd_kvs_t *c = &ev->u.checkpoints;
        int err = kv(c, ctx->arena, "churned", "true");
        err |= kv(c, ctx->arena, "churn_reason", fld(t, r, "reason_code"));
        err |= kv(c, ctx->arena, "feedback", fld(t, r, "feedback_text"));
        err |= kv(c, ctx->arena, "churn_refund_usd",
                  fld(t, r, "refund_amount_usd"));
        static const char *const flags[][2] = {
            {"preceding_upgrade_flag", "churn_after_upgrade"},
            {"preceding_downgrade_flag", "churn_after_downgrade"},
            {"is_reactivation", "churn_is_reactivation"}};
        for (size_t i = 0; i < sizeof(flags) / sizeof(*flags); i++)
                if (parse_bool(fld(t, r, flags[i][0]), &b))
                        err |= kv(c, ctx->arena, flags[i][1], lower_bool(b));
        return err ? nomem(ctx) : PD_OK;
}

static pd_err_t raven_load(ctx_t *ctx, raven_t *rv)
{
        static const char *const acc[] = {"account_id", "industry", "country",
                                          "referral_source", NULL};
        static const char *const subs[] = {
            "subscription_id", "account_id", "start_date", "plan_tier",
            "seats",           "arr_amount", "is_trial",   "billing_frequency",
            "auto_renew_flag", NULL};
        static const char *const tick[] = {
            "ticket_id", "account_id", "submitted_at",
            "closed_at", "priority",   "satisfaction_score",
            NULL};
        static const char *const churn[] = {"churn_event_id", "account_id",
                                            "churn_date",     "reason_code",
                                            "feedback_text",  NULL};
        pd_err_t err =
            load_table(ctx, "ravenstack_accounts.csv", acc, &rv->accounts);
        if (!err)
                err = load_table(ctx, "ravenstack_subscriptions.csv", subs,
                                 &rv->subs);
        if (!err)
                err = load_table(ctx, "ravenstack_support_tickets.csv", tick,
                                 &rv->tickets);
        if (!err)
                err = load_table(ctx, "ravenstack_churn_events.csv", churn,
                                 &rv->churn);
        return err;
}

static pd_err_t import_raven(ctx_t *ctx, const table_t *bueck)
{
        raven_t rv;
        memset(&rv, 0, sizeof(rv));
        rv.bueck = bueck;
        pd_err_t err = raven_load(ctx, &rv);
        for (size_t r = 0; !err && r < rv.subs.nrows; r++)
                err = raven_sub(ctx, &rv, r);
        for (size_t r = 0; !err && r < rv.tickets.nrows; r++)
                err = raven_ticket(ctx, &rv, r);
        for (size_t r = 0; !err && r < rv.churn.nrows; r++)
                err = raven_churn(ctx, &rv, r);
        if (!err)
                ctx->ds->note = pd_arena_printf(
                    ctx->arena,
                    "%zu of %zu tickets carry it-tickets-bueck text, the "
                    "rest none; renewal at start + 12 months (annual) or "
                    "+ 1 month (monthly)",
                    rv.with_text, rv.tickets.nrows);
        return err;
}

/* ---- nps-csat-mock ----------------------------------------------------- */

/* Says which field of a survey row is unusable and why; NULL if none. */
static const char *survey_fault(const table_t *t, size_t r,
                                pd_survey_kind_t kind, long long *score,
                                int64_t *at, const char **why)
{
        *why = "empty";
        if (!*fld(t, r, "response_id"))
                return "response_id";
        if (!*fld(t, r, "customer_id"))
                return "customer_id";
        *why = kind == PD_SURVEY_NPS ? "not an integer 0-10"
                                     : "not an integer 1-5";
        if (!parse_int(fld(t, r, "score"), score) || *score < 0 ||
            *score > (kind == PD_SURVEY_NPS ? 10 : 5) ||
            (kind == PD_SURVEY_CSAT && *score < 1))
                return "score";
        *why = "not a date (YYYY-MM-DD)";
        if (!parse_time(fld(t, r, "date"), false, at))
                return "date";
        return NULL;
}

static pd_err_t survey_row(ctx_t *ctx, const table_t *t, size_t r,
                           pd_survey_kind_t kind)
{
        char customer[512];
        const char *why;
        long long score = 0;
        int64_t at = 0;

        const char *field = survey_fault(t, r, kind, &score, &at, &why);
        if (field)
                return reject(ctx, t->file, t->rows[r].line, field, why,
                              nonempty(fld(t, r, field)))
                           ? nomem(ctx)
                           : PD_OK;
        snprintf(customer, sizeof(customer), "nps-csat-mock:%s",
                 fld(t, r, "customer_id"));
        pd_event_t *ev = new_event(ctx, PD_EV_SURVEY_RETURNED, customer, at,
                                   t->file, fld(t, r, "response_id"));
        if (!ev)
                return nomem(ctx);
        ev->u.survey.kind = kind;
        ev->u.survey.score = (int32_t)score;
        ev->u.survey.comment = nonempty(fld(t, r, "feedback"));
        ctx->ds->surveys[kind]++;
        return PD_OK;
}

static pd_err_t import_surveys(ctx_t *ctx)
{
        static const char *const cols[] = {"response_id", "date", "customer_id",
                                           "score", NULL};
        table_t nps, csat, ces;
        pd_err_t err = load_table(ctx, "nps_responses.csv", cols, &nps);
        if (!err)
                err = load_table(ctx, "csat_responses.csv", cols, &csat);
        if (!err)
                err = load_table(ctx, "ces_responses.csv", cols, &ces);
        for (size_t r = 0; !err && r < nps.nrows; r++)
                err = survey_row(ctx, &nps, r, PD_SURVEY_NPS);
        for (size_t r = 0; !err && r < csat.nrows; r++)
                err = survey_row(ctx, &csat, r, PD_SURVEY_CSAT);
        /* Customer effort is neither NPS nor CSAT: the schema has no kind
         * for it. */
        for (size_t r = 0; !err && r < ces.nrows; r++)
                if (skip(ctx, ces.file, ces.rows[r].line,
                         "CES is not imported"))
                        err = nomem(ctx);
        return err;
}

/* ---- datasets, ordering, entry points ---------------------------------- */

static bool selected(const char *list, const char *name)
{
        return !list || in_list(list, name);
}

/* Names in list that are not datasets are the caller's mistake. */
static pd_err_t check_names(const char *list, char *errstr, size_t errstr_size)
{
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", list ? list : "");
        for (char *save = NULL, *n = strtok_r(buf, ",|", &save); n;
             n = strtok_r(NULL, ",|", &save)) {
                if (in_list("maven-crm|ravenstack-saas|it-tickets-bueck|"
                            "nps-csat-mock",
                            n))
                        continue;
                snprintf(errstr, errstr_size,
                         "datasets: unknown dataset '%s' (known: %s)", n,
                         PD_IMPORT_DATASETS);
                return PD_ERR_INVALID;
        }
        return PD_OK;
}

static pd_import_dataset_t *dataset_add(pd_import_result_t *res,
                                        const char *name)
{
        if (res->n_datasets == PD_IMPORT_DATASETS_MAX)
                return NULL;
        pd_import_dataset_t *ds = &res->datasets[res->n_datasets++];
        memset(ds, 0, sizeof(*ds));
        ds->name = name;
        return ds;
}

/* Opens dataset `name` for reading: false (with a note) when its folder
 * is absent. */
static bool dataset_open(ctx_t *ctx, const char *data_dir, const char *name)
{
        struct stat st;
        ctx->ds = dataset_add(ctx->res, name);
        if (!ctx->ds)
                return false;
        snprintf(ctx->dir, sizeof(ctx->dir), "%s/%s", data_dir, name);
        ctx->ds->present = !stat(ctx->dir, &st) && S_ISDIR(st.st_mode);
        if (!ctx->ds->present)
                ctx->ds->note = pd_arena_printf(
                    ctx->arena, "skipped: no folder %s", ctx->dir);
        return ctx->ds->present;
}

typedef struct sortable_s {
        pd_event_t ev;
        size_t seq;
} sortable_t;

static int by_time(const void *a, const void *b)
{
        const sortable_t *x = a, *y = b;
        if (x->ev.occurred_at != y->ev.occurred_at)
                return x->ev.occurred_at < y->ev.occurred_at ? -1 : 1;
        return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Event time order; equal times keep dataset, file and row order. */
static int sort_events(pd_import_result_t *res)
{
        sortable_t *v =
            malloc((res->n_events ? res->n_events : 1) * sizeof(*v));
        if (!v)
                return -1;
        for (size_t i = 0; i < res->n_events; i++) {
                v[i].ev = res->events[i];
                v[i].seq = i;
        }
        qsort(v, res->n_events, sizeof(*v), by_time);
        for (size_t i = 0; i < res->n_events; i++)
                res->events[i] = v[i].ev;
        free(v);
        return 0;
}

static pd_err_t import_selected(ctx_t *ctx, const char *data_dir,
                                const char *datasets)
{
        pd_err_t err = PD_OK;
        table_t bueck = {0};
        pd_import_dataset_t *bueck_ds = NULL;
        bool raven = false;

        if (selected(datasets, "maven-crm") &&
            dataset_open(ctx, data_dir, "maven-crm"))
                err = import_maven(ctx);
        /* Bueck only supplies ticket text: read before the tickets. */
        if (!err && selected(datasets, "it-tickets-bueck") &&
            dataset_open(ctx, data_dir, "it-tickets-bueck")) {
                bueck_ds = ctx->ds;
                err = import_bueck(ctx, &bueck);
        }
        if (!err && selected(datasets, "ravenstack-saas") &&
            dataset_open(ctx, data_dir, "ravenstack-saas")) {
                raven = true;
                err = import_raven(ctx, bueck_ds ? &bueck : NULL);
        }
        if (!err && bueck_ds)
                bueck_ds->note = pd_arena_printf(
                    ctx->arena,
                    "%zu complete rows; supplies the text of "
                    "ravenstack-saas tickets, no events of its own%s",
                    bueck.nrows, raven ? "" : " (ravenstack-saas not read)");
        if (!err && selected(datasets, "nps-csat-mock") &&
            dataset_open(ctx, data_dir, "nps-csat-mock"))
                err = import_surveys(ctx);
        return err;
}

pd_err_t pd_import_dir(const char *data_dir, const char *datasets,
                       pd_arena_t *arena, pd_import_result_t *res, char *errstr,
                       size_t errstr_size)
{
        ctx_t ctx = {.arena = arena,
                     .res = res,
                     .errstr = errstr,
                     .errstr_size = errstr_size};
        pd_err_t err = check_names(datasets, errstr, errstr_size);
        if (err)
                goto out;
        if (res->n_datasets + 4 > PD_IMPORT_DATASETS_MAX) {
                snprintf(errstr, errstr_size,
                         "import result already holds %zu datasets",
                         res->n_datasets);
                err = PD_ERR_INVALID;
                goto out;
        }
        err = import_selected(&ctx, data_dir, datasets);
        if (err)
                goto out;
        if (sort_events(res)) {
                snprintf(errstr, errstr_size, "sorting events: out of memory");
                err = PD_ERR_NOMEM;
        }
out:
        return err;
}

size_t pd_import_count(const pd_import_result_t *res, pd_event_kind_t kind)
{
        size_t n = 0;
        for (size_t i = 0; i < res->n_datasets; i++)
                n += res->datasets[i].events[kind];
        return n;
}

static void print_reasons(FILE *fp, const char *title,
                          const pd_import_reason_t *v, size_t n)
{
        size_t total = 0;
        for (size_t i = 0; i < n; i++)
                total += v[i].n;
        fprintf(fp, "rows %s: %zu\n", title, total);
        for (size_t i = 0; i < n; i++)
                fprintf(fp, "  %8zu  %s/%s\n            e.g. %s\n", v[i].n,
                        v[i].dataset, v[i].reason, v[i].example);
}

void pd_import_report_print(FILE *fp, const pd_import_result_t *res)
{
        for (size_t i = 0; i < res->n_datasets; i++) {
                const pd_import_dataset_t *ds = &res->datasets[i];
                fprintf(fp, "%s: %s", ds->name, ds->present ? "" : "absent");
                if (ds->present)
                        fprintf(fp,
                                "%zu rows read (all files), %zu skipped, %zu "
                                "rejected",
                                ds->rows, ds->skipped, ds->rejected);
                fprintf(fp, "\n");
                for (int k = 0; k < PD_EV__CNT; k++)
                        if (ds->events[k])
                                fprintf(fp, "  %-22s %8zu\n",
                                        pd_event_kind_name(k), ds->events[k]);
                if (ds->surveys[PD_SURVEY_NPS] || ds->surveys[PD_SURVEY_CSAT])
                        fprintf(fp, "    (NPS %zu, CSAT %zu)\n",
                                ds->surveys[PD_SURVEY_NPS],
                                ds->surveys[PD_SURVEY_CSAT]);
                if (ds->note)
                        fprintf(fp, "  note: %s\n", ds->note);
        }
        fprintf(fp, "events: %zu\n", res->n_events);
        for (int k = 0; k < PD_EV__CNT; k++)
                fprintf(fp, "  %-22s %8zu\n", pd_event_kind_name(k),
                        pd_import_count(res, k));
        print_reasons(fp, "skipped", res->skips, res->n_skips);
        print_reasons(fp, "rejected", res->rejects, res->n_rejects);
}

/* ---- the sample generator ------------------------------------------------ */

static uint64_t rnd(uint64_t *state) /* splitmix64 */
{
        uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        return z ^ (z >> 31);
}

static int rnd_in(uint64_t *state, int lo, int hi)
{
        return lo + (int)(rnd(state) % (uint64_t)(hi - lo + 1));
}

typedef struct persona_profile_s {
        const char *products[2];
        const char *sector;
        double value;   /* typical annual deal value, USD */
        int close_days; /* typical days from sale to implementation close */
        const char *category; /* the ticket category it leans to */
        const char *checkpoints[6][2];
} persona_profile_t;

/* Indexed by pd_axis_t: answers that lean to each persona. */
static const persona_profile_t profiles[PD_AXIS__CNT] = {
    {{"Starter Suite", NULL},
     "retail",
     12000,
     35,
     "how-to",
     {{"migrating_from", "spreadsheets and files"},
      {"main_goal", "go live fast with out-of-the-box features"},
      {"why_chose_us", "ease of use and quick setup"},
      {"used_competitor", "no"},
      {"problems_solving", "manual registration in spreadsheets"},
      {"implementation_deadline", "30 days"}}},
    {{"Experience Cloud", "Design Studio"},
     "marketing",
     30000,
     60,
     "design",
     {{"main_goal", "a consistent brand and attendee experience"},
      {"why_chose_us", "look and feel of the screens"},
      {"design_review", "required"},
      {"used_competitor", "yes"},
      {"problems_solving", "web pages, buttons and colours off-brand"},
      {"stakeholders", "marketing and design team"}}},
    {{"Platform API", "Workflow Automation"},
     "software",
     45000,
     90,
     "integration",
     {{"main_goal", "integrate with our CRM and automate workflows"},
      {"why_chose_us", "open API and webhooks"},
      {"integrations", "salesforce,sap,slack"},
      {"used_competitor", "yes"},
      {"problems_solving", "segmentation and notifications"},
      {"custom_development", "yes"}}},
    {{"Enterprise Suite", "Advisory Services"},
     "finance",
     80000,
     75,
     "best-practice",
     {{"main_goal", "best practices and benchmarking against peers"},
      {"why_chose_us", "expertise and references"},
      {"wants_benchmarking", "yes"},
      {"used_competitor", "yes"},
      {"problems_solving", "how do others run registration?"},
      {"stakeholders", "leadership team"}}},
};

typedef struct sample_locale_s {
        const char *country, *region, *tz, *lang;
        const char *subject[PD_AXIS__CNT];
        const char *text[PD_AXIS__CNT];
        const char *praise, *complaint;
} sample_locale_t;

static const sample_locale_t locales[] = {
    {"US",
     "North America",
     "America/Chicago",
     "en",
     {"How do I set up registration quickly?",
      "Button colours on the landing page",
      "Webhook for new registrations fails",
      "How do other customers run onboarding?"},
     {"We need this running by next week. Is there a template we can use out "
      "of the box?",
      "The buttons and the header colour do not match our brand guide. Can the "
      "design of these screens be changed?",
      "Our integration with the CRM API returns 401 on the webhook; we need "
      "automation of this workflow and notifications.",
      "What are the best practices here? How do your other clients handle "
      "this; is there a benchmark?"},
     "Great team, fast and helpful.",
     "Too slow, we expected more."},
    {"DE",
     "EMEA",
     "Europe/Berlin",
     "de",
     {"Schnelle Einrichtung der Anmeldung", "Farben der Schaltflächen",
      "Webhook-Integration schlägt fehl", "Wie machen es andere Kunden?"},
     {"Wir müssen nächste Woche live gehen. Gibt es eine Vorlage, die sofort "
      "funktioniert?",
      "Die Schaltflächen und Farben passen nicht zu unserem Design. Können wir "
      "das Layout der Seiten anpassen?",
      "Die API-Schnittstelle liefert einen Fehler beim Webhook; wir brauchen "
      "die Automatisierung des Workflows und Benachrichtigungen.",
      "Welche Best Practices empfehlen Sie? Wie lösen andere Kunden das, gibt "
      "es einen Vergleich?"},
     "Sehr gutes Team, schnell und hilfsbereit.",
     "Zu langsam, wir hatten mehr erwartet."},
    {"ES",
     "EMEA",
     "Europe/Madrid",
     "es",
     {"Configurar el registro rápidamente", "Colores de los botones",
      "Falla la integración del webhook", "¿Cómo lo hacen otros clientes?"},
     {"Necesitamos estar en marcha la próxima semana. ¿Hay una plantilla lista "
      "para usar?",
      "Los botones y los colores no coinciden con nuestro diseño. ¿Podemos "
      "cambiar la apariencia de las pantallas?",
      "La API devuelve un error en el webhook; necesitamos automatizar el "
      "flujo de trabajo y las notificaciones.",
      "¿Cuáles son las mejores prácticas? ¿Cómo lo hacen otros clientes? ¿Hay "
      "una comparativa?"},
     "Excelente equipo, rápido y atento.",
     "Demasiado lento, esperábamos más."},
    {"FR",
     "EMEA",
     "Europe/Paris",
     "fr",
     {"Mettre en place l'inscription rapidement", "Couleurs des boutons",
      "Échec de l'intégration du webhook", "Comment font les autres clients ?"},
     {"Nous devons être en ligne la semaine prochaine. Existe-t-il un modèle "
      "prêt à l'emploi ?",
      "Les boutons et les couleurs ne respectent pas notre charte graphique. "
      "Peut-on modifier le design des écrans ?",
      "L'API renvoie une erreur sur le webhook ; nous avons besoin "
      "d'automatiser le flux de travail et les notifications.",
      "Quelles sont les bonnes pratiques ? Comment font vos autres clients, "
      "avez-vous un comparatif ?"},
     "Très bonne équipe, rapide et à l'écoute.",
     "Trop lent, nous attendions mieux."},
    {"IT",
     "EMEA",
     "Europe/Rome",
     "it",
     {"Configurare la registrazione velocemente", "Colori dei pulsanti",
      "Integrazione webhook non funziona", "Come fanno gli altri clienti?"},
     {"Dobbiamo partire la prossima settimana. C'è un modello pronto all'uso?",
      "I pulsanti e i colori non rispettano il nostro design. Possiamo "
      "cambiare l'aspetto delle schermate?",
      "L'API restituisce un errore sul webhook; ci serve automatizzare il "
      "flusso di lavoro e le notifiche.",
      "Quali sono le migliori pratiche? Come fanno gli altri clienti, esiste "
      "un confronto?"},
     "Ottimo team, veloce e disponibile.",
     "Troppo lento, ci aspettavamo di più."},
    {"BR",
     "LATAM",
     "America/Sao_Paulo",
     "pt",
     {"Configurar o cadastro rapidamente", "Cores dos botões",
      "Falha na integração do webhook", "Como os outros clientes fazem?"},
     {"Precisamos entrar no ar na próxima semana. Existe um modelo pronto para "
      "usar?",
      "Os botões e as cores não seguem o nosso design. Podemos mudar a "
      "aparência das telas?",
      "A API retorna erro no webhook; precisamos automatizar o fluxo de "
      "trabalho e as notificações.",
      "Quais são as melhores práticas? Como os outros clientes fazem, existe "
      "um comparativo?"},
     "Equipe excelente, rápida e atenciosa.",
     "Muito lento, esperávamos mais."},
};

#define N_LOCALES    (sizeof(locales) / sizeof(*locales))
#define SAMPLE_EPOCH 1704067200000LL /* 2024-01-01T00:00:00Z */

typedef struct sample_s {
        ctx_t *ctx;
        uint64_t rng;
        char file[32]; /* "seed-<seed>": part of every event id */
        char customer[64];
        int serial; /* per customer, part of the event id */
        pd_axis_t persona;
        const sample_locale_t *loc;
} sample_t;

static pd_event_t *sample_event(sample_t *sm, pd_event_kind_t kind, int64_t at)
{
        char key[96];
        snprintf(key, sizeof(key), "%s/%d", sm->customer, sm->serial++);
        return new_event(sm->ctx, kind, sm->customer, at, sm->file, key);
}

static int sample_sale(sample_t *sm, int64_t at, double value)
{
        static const char *const owners[] = {"Ana Ruiz", "Ben Okafor",
                                             "Chloé Martin", "Dieter Vogel"};
        const persona_profile_t *pp = &profiles[sm->persona];
        pd_arena_t *ar = sm->ctx->arena;
        pd_event_t *ev = sample_event(sm, PD_EV_SALE_CLOSED, at);
        const char **products = pd_arena_alloc(ar, 2 * sizeof(char *));
        if (!ev || !products)
                return -1;
        pd_sale_closed_t *s = &ev->u.sale;
        products[0] = pp->products[0];
        products[1] = pp->products[1];
        s->products.v = products;
        s->products.n = pp->products[1] ? 2 : 1;
        s->deal_id = pd_arena_printf(ar, "%s-deal", sm->customer);
        s->deal_value = value;
        s->currency = "USD";
        s->sector = pp->sector;
        s->employees = rnd_in(&sm->rng, 20, 5000);
        s->revenue = (double)rnd_in(&sm->rng, 2, 900);
        s->country = sm->loc->country;
        s->region = sm->loc->region;
        s->time_zone = sm->loc->tz;
        s->sales_owner = owners[rnd_in(&sm->rng, 0, 3)];
        int err = 0;
        for (size_t i = 0; i < 6; i++)
                err |= kv(&s->checkpoints, ar, pp->checkpoints[i][0],
                          pp->checkpoints[i][1]);
        return err | kv(&s->checkpoints, ar, "source", "sample");
}

static int sample_renewal(sample_t *sm, int64_t at, double value)
{
        pd_event_t *ev = sample_event(sm, PD_EV_RENEWAL_DUE, at);
        if (!ev)
                return -1;
        ev->u.renewal.contract_id =
            pd_arena_printf(sm->ctx->arena, "%s-contract", sm->customer);
        ev->u.renewal.renewal_date = pd_schedule_add_months_utc(at, 12);
        ev->u.renewal.annual_value = value;
        ev->u.renewal.auto_renew = rnd_in(&sm->rng, 0, 3) != 0;
        return ev->u.renewal.contract_id ? 0 : -1;
}

static int sample_survey(sample_t *sm, int64_t at, pd_survey_kind_t kind)
{
        pd_event_t *ev = sample_event(sm, PD_EV_SURVEY_RETURNED, at);
        if (!ev)
                return -1;
        int hi = kind == PD_SURVEY_NPS ? 10 : 5;
        /* Mostly happy customers, a tail of detractors. */
        int score = rnd_in(&sm->rng, 0, 9) < 7 ? hi - rnd_in(&sm->rng, 0, 2)
                                               : rnd_in(&sm->rng, 0, hi / 2);
        if (kind == PD_SURVEY_CSAT && score < 1)
                score = 1;
        ev->u.survey.kind = kind;
        ev->u.survey.score = score;
        ev->u.survey.comment =
            score * 10 >= hi * 7 ? sm->loc->praise : sm->loc->complaint;
        sm->ctx->ds->surveys[kind]++;
        return 0;
}

static int sample_ticket(sample_t *sm, int64_t at)
{
        static const char *const prio[] = {"low", "medium", "high", "urgent"};
        static const char *const chan[] = {"email", "portal", "phone"};
        pd_event_t *ev = sample_event(sm, PD_EV_TICKET_OPENED, at);
        if (!ev)
                return -1;
        /* Most tickets speak to the customer's persona, some do not. */
        pd_axis_t topic = rnd_in(&sm->rng, 0, 4)
                              ? sm->persona
                              : (pd_axis_t)rnd_in(&sm->rng, 0, 3);
        pd_ticket_opened_t *tk = &ev->u.ticket;
        tk->ticket_id =
            pd_arena_printf(sm->ctx->arena, "%s-t%d", sm->customer, sm->serial);
        tk->category = profiles[topic].category;
        tk->subject = sm->loc->subject[topic];
        tk->text = sm->loc->text[topic];
        tk->priority = prio[rnd_in(&sm->rng, 0, 3)];
        tk->channel = chan[rnd_in(&sm->rng, 0, 2)];
        tk->language = sm->loc->lang;
        if (rnd_in(&sm->rng, 0, 1))
                return sample_survey(sm,
                                     at + rnd_in(&sm->rng, 1, 72) * MS_PER_HOUR,
                                     PD_SURVEY_CSAT);
        return tk->ticket_id ? 0 : -1;
}

static int sample_customer(sample_t *sm, size_t i)
{
        const persona_profile_t *pp = &profiles[sm->persona];
        int64_t sale = SAMPLE_EPOCH + rnd_in(&sm->rng, 0, 364) * MS_PER_DAY +
                       rnd_in(&sm->rng, 8, 17) * MS_PER_HOUR;
        double value = pp->value * rnd_in(&sm->rng, 60, 160) / 100.0;
        int64_t close =
            sale + (pp->close_days + rnd_in(&sm->rng, -10, 20)) * MS_PER_DAY;
        int err = sample_sale(sm, sale, value);
        err |= sample_renewal(sm, sale, value);
        pd_event_t *ev = sample_event(sm, PD_EV_CHECKPOINTS_RECORDED,
                                      sale + 14 * MS_PER_DAY);
        err |= !ev || kv(&ev->u.checkpoints, sm->ctx->arena, "kickoff_focus",
                         pp->checkpoints[0][1]);
        for (int t = rnd_in(&sm->rng, 1, 3); !err && t > 0; t--)
                err |= sample_ticket(sm, sale + rnd_in(&sm->rng, 3, 150) *
                                                    MS_PER_DAY);
        /* One in ten never reports a close: the worker falls back to the
         * plan's last milestone. */
        if (!err && rnd_in(&sm->rng, 0, 9)) {
                err |= !sample_event(sm, PD_EV_IMPLEMENTATION_CLOSED, close);
                err |= sample_survey(
                    sm, close + rnd_in(&sm->rng, 2, 10) * MS_PER_DAY,
                    PD_SURVEY_NPS);
        }
        if (!err && i % 20 == 7) /* the right to be forgotten, late on */
                err |= !sample_event(sm, PD_EV_CUSTOMER_ERASED,
                                     sale + 400 * MS_PER_DAY);
        return err;
}

pd_err_t pd_import_generate_sample(uint64_t seed, size_t n_customers,
                                   pd_arena_t *arena, pd_import_result_t *res)
{
        pd_err_t err = PD_OK;
        char errstr[128];
        ctx_t ctx = {.arena = arena,
                     .res = res,
                     .errstr = errstr,
                     .errstr_size = sizeof(errstr)};
        sample_t sm = {.ctx = &ctx, .rng = seed};

        ctx.ds = dataset_add(res, "sample");
        if (!ctx.ds) {
                err = PD_ERR_INVALID;
                goto out;
        }
        ctx.ds->present = true;
        ctx.ds->note = pd_arena_printf(arena,
                                       "generated: seed %llu, %zu "
                                       "customers",
                                       (unsigned long long)seed, n_customers);
        snprintf(sm.file, sizeof(sm.file), "seed-%llu",
                 (unsigned long long)seed);
        for (size_t i = 0; !err && i < n_customers; i++) {
                snprintf(sm.customer, sizeof(sm.customer), "sample:cust-%04zu",
                         i);
                sm.serial = 0;
                sm.persona = (pd_axis_t)(i % PD_AXIS__CNT);
                sm.loc = &locales[i % N_LOCALES];
                ctx.ds->rows++;
                if (sample_customer(&sm, i))
                        err = PD_ERR_NOMEM;
        }
        if (!err && sort_events(res))
                err = PD_ERR_NOMEM;
out:
        return err;
}
