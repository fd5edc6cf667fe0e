#include "schedule.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MS_PER_SEC  1000LL
#define SEC_PER_DAY 86400LL
#define MS_PER_DAY  (SEC_PER_DAY * MS_PER_SEC)

/* ---- proleptic Gregorian calendar (H. Hinnant's algorithms) ---------- */

static int64_t floor_div(int64_t a, int64_t b)
{
        int64_t q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0)))
                q--;
        return q;
}

int64_t pd_schedule_days_from_civil(int64_t y, int64_t m, int64_t d)
{
        y -= m <= 2;
        int64_t era = floor_div(y, 400);
        int64_t yoe = y - era * 400;
        int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
        int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return era * 146097 + doe - 719468;
}

void pd_schedule_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d)
{
        z += 719468;
        int64_t era = floor_div(z, 146097);
        int64_t doe = z - era * 146097;
        int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
        int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        int64_t mp = (5 * doy + 2) / 153;
        *d = doy - (153 * mp + 2) / 5 + 1;
        *m = mp < 10 ? mp + 3 : mp - 9;
        *y = yoe + era * 400 + (*m <= 2);
}

static bool is_leap(int64_t y)
{
        return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int64_t pd_schedule_days_in_month(int64_t y, int64_t m)
{
        static const int8_t dim[12] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
        return m == 2 && is_leap(y) ? 29 : dim[m - 1];
}

/* ---- the zone ----------------------------------------------------------
 * A zone is either UTC (pure arithmetic) or the process TZ switched to an
 * IANA name for the duration of one call. */

typedef struct zone_s {
        bool zoned;
        char *saved_tz; /* TZ before the switch; NULL = was unset */
        bool had_tz;
} zone_t;

static bool name_safe(const char *tz)
{
        if (!tz || !*tz || *tz == '/' || *tz == ':' || strstr(tz, ".."))
                return false;
        for (const char *p = tz; *p; p++) {
                char c = *p;
                bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || strchr("/_+-", c);
                if (!ok)
                        return false;
        }
        return true;
}

/* The directory files such as zone.tab also live in, so a name is a zone
 * only when its file carries the TZif magic. */
static bool tz_file_valid(const char *tz)
{
        bool valid = false;
        char path[512];
        char magic[4];
        FILE *f = NULL;
        if (!name_safe(tz))
                goto out;
        const char *dir = getenv("TZDIR");
        if (!dir || !*dir)
                dir = "/usr/share/zoneinfo";
        int n = snprintf(path, sizeof(path), "%s/%s", dir, tz);
        if (n < 0 || (size_t)n >= sizeof(path))
                goto out;
        f = fopen(path, "rb");
        if (!f)
                goto out;
        valid = fread(magic, 1, sizeof(magic), f) == sizeof(magic) &&
                !memcmp(magic, "TZif", 4);
out:
        if (f)
                fclose(f);
        return valid;
}

/* Every event names its zone: remember the answers (a few hundred zones
 * exist) instead of opening the file each time. */
#define TZ_CACHE 128

bool pd_schedule_tz_valid(const char *tz)
{
        static struct {
                char name[64];
                bool valid;
        } cache[TZ_CACHE];
        static size_t n_cache;
        if (!tz || strlen(tz) >= sizeof(cache[0].name))
                return tz_file_valid(tz);
        for (size_t i = 0; i < n_cache; i++)
                if (!strcmp(cache[i].name, tz))
                        return cache[i].valid;
        bool valid = tz_file_valid(tz);
        if (n_cache < TZ_CACHE) {
                strcpy(cache[n_cache].name, tz);
                cache[n_cache++].valid = valid;
        }
        return valid;
}

static void zone_enter(zone_t *zone, const char *tz)
{
        memset(zone, 0, sizeof(*zone));
        if (!tz || !strcmp(tz, "UTC") || !pd_schedule_tz_valid(tz))
                return;
        const char *old = getenv("TZ");
        zone->had_tz = old != NULL;
        zone->saved_tz = old ? strdup(old) : NULL;
        if (old && !zone->saved_tz)
                return; /* cannot restore it: stay in UTC */
        zone->zoned = setenv("TZ", tz, 1) == 0;
        tzset();
}

static void zone_leave(zone_t *zone)
{
        if (!zone->zoned && !zone->saved_tz)
                return;
        if (zone->had_tz)
                setenv("TZ", zone->saved_tz, 1);
        else
                unsetenv("TZ");
        tzset();
        free(zone->saved_tz);
        zone->saved_tz = NULL;
}

/* Local wall-clock seconds ("local time written as if it were UTC") of the
 * instant t. */
static int64_t wall_of(const zone_t *zone, int64_t t)
{
        struct tm tm;
        time_t tt = (time_t)t;
        if (!zone->zoned || !localtime_r(&tt, &tm))
                return t;
        return pd_schedule_days_from_civil(tm.tm_year + 1900LL, tm.tm_mon + 1LL,
                                           tm.tm_mday) *
                   SEC_PER_DAY +
               tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec;
}

static int64_t offset_at(const zone_t *zone, int64_t t)
{
        return wall_of(zone, t) - t;
}

/* Start of the gap that swallows wall time: the first instant in (lo, hi]
 * whose offset differs from lo's.  At that instant the clock jumps past
 * the gap, so it is the next valid instant. */
static int64_t gap_end(const zone_t *zone, int64_t lo, int64_t hi)
{
        int64_t off_lo = offset_at(zone, lo);
        while (hi - lo > 1) {
                int64_t mid = lo + (hi - lo) / 2;
                if (offset_at(zone, mid) == off_lo)
                        lo = mid;
                else
                        hi = mid;
        }
        return hi;
}

/* The UTC instant (s) of a local wall time.  mktime's tm_isdst=-1 guesses
 * differ between C libraries in gaps and overlaps, so the candidates are
 * taken explicitly from the offsets a day either side (no zone moves its
 * offset by more than a day) and verified by round trip. */
static int64_t resolve_wall(const zone_t *zone, int64_t wall)
{
        int64_t off_before = offset_at(zone, wall - SEC_PER_DAY);
        int64_t off_after = offset_at(zone, wall + SEC_PER_DAY);
        int64_t early = wall - off_before;
        int64_t late = wall - off_after;
        bool early_ok = wall_of(zone, early) == wall;
        bool late_ok = wall_of(zone, late) == wall;
        int64_t t;
        if (early_ok && late_ok)
                t = early < late ? early : late; /* repeated: the first */
        else if (early_ok)
                t = early;
        else if (late_ok)
                t = late;
        else if (off_after > off_before)
                t = gap_end(zone, late, early);
        else
                t = early; /* no consistent reading: keep the old offset */
        return t;
}

int64_t pd_schedule_slot_at(int64_t close_at, const char *tz, int32_t k,
                            int32_t months_per_slot, int32_t local_minute)
{
        zone_t zone;
        int64_t y, m, d;
        if (local_minute < 0)
                local_minute = 0;
        if (local_minute > 24 * 60 - 1)
                local_minute = 24 * 60 - 1;
        zone_enter(&zone, tz);
        int64_t anchor = wall_of(&zone, floor_div(close_at, MS_PER_SEC));
        pd_schedule_civil_from_days(floor_div(anchor, SEC_PER_DAY), &y, &m, &d);
        int64_t months = y * 12 + (m - 1) + (int64_t)months_per_slot * k;
        y = floor_div(months, 12);
        m = months - y * 12 + 1;
        if (d > pd_schedule_days_in_month(y, m))
                d = pd_schedule_days_in_month(y, m);
        int64_t wall = pd_schedule_days_from_civil(y, m, d) * SEC_PER_DAY +
                       local_minute * 60LL;
        int64_t t = resolve_wall(&zone, wall);
        zone_leave(&zone);
        return t * MS_PER_SEC;
}

int64_t pd_schedule_add_months_utc(int64_t at, int32_t months)
{
        int64_t y, m, d;
        int64_t day = floor_div(at, MS_PER_SEC * SEC_PER_DAY);
        int64_t tod = at - day * MS_PER_SEC * SEC_PER_DAY;
        pd_schedule_civil_from_days(day, &y, &m, &d);
        int64_t idx = (m - 1) + months;
        y += floor_div(idx, 12);
        m = idx - floor_div(idx, 12) * 12 + 1;
        if (d > pd_schedule_days_in_month(y, m))
                d = pd_schedule_days_in_month(y, m);
        return pd_schedule_days_from_civil(y, m, d) * MS_PER_SEC * SEC_PER_DAY +
               tod;
}

int64_t pd_schedule_add_days(int64_t at, int32_t days)
{
        return at + (int64_t)days * MS_PER_DAY;
}

void pd_schedule_format(int64_t at, char *buf, size_t buf_size)
{
        int64_t y, mo, d;
        int64_t secs = floor_div(at, MS_PER_SEC);
        int64_t days = floor_div(secs, SEC_PER_DAY);
        int64_t sod = secs - days * SEC_PER_DAY;
        if (!buf || buf_size == 0)
                return;
        pd_schedule_civil_from_days(days, &y, &mo, &d);
        snprintf(buf, buf_size, "%04lld-%02lld-%02lldT%02lld:%02lld:%02lldZ",
                 (long long)y, (long long)mo, (long long)d,
                 (long long)(sod / 3600), (long long)(sod / 60 % 60),
                 (long long)(sod % 60));
}

/* Reads exactly n digits. */
static bool digits(const char **sp, int n, int64_t *v)
{
        int64_t x = 0;
        for (int i = 0; i < n; i++) {
                char c = (*sp)[i];
                if (c < '0' || c > '9')
                        return false;
                x = x * 10 + (c - '0');
        }
        *sp += n;
        *v = x;
        return true;
}

static bool lit(const char **sp, char c)
{
        if (**sp != c)
                return false;
        (*sp)++;
        return true;
}

/* "HH:MM[:SS][Z]" after the date's separator. */
static bool parse_time(const char *s, int64_t *sod)
{
        int64_t h, mi, sec = 0;
        if (!digits(&s, 2, &h) || !lit(&s, ':') || !digits(&s, 2, &mi))
                return false;
        if (lit(&s, ':') && !digits(&s, 2, &sec))
                return false;
        lit(&s, 'Z');
        if (*s || h > 23 || mi > 59 || sec > 59)
                return false;
        *sod = h * 3600 + mi * 60 + sec;
        return true;
}

bool pd_schedule_parse(const char *s, int64_t *at)
{
        int64_t y, m, d, sod = 0;
        bool ok = false;
        if (!s || !digits(&s, 4, &y) || !lit(&s, '-') || !digits(&s, 2, &m) ||
            !lit(&s, '-') || !digits(&s, 2, &d))
                goto out;
        if (m < 1 || m > 12 || d < 1 || d > pd_schedule_days_in_month(y, m))
                goto out;
        if (*s && !((lit(&s, 'T') || lit(&s, ' ')) && parse_time(s, &sod)))
                goto out;
        *at = (pd_schedule_days_from_civil(y, m, d) * SEC_PER_DAY + sod) *
              MS_PER_SEC;
        ok = true;
out:
        return ok;
}
