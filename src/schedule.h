/* persona-dna: calendar arithmetic for survey schedules (DESIGN §6).  Pure.
 *
 * Uses the system time zone database (tzdata) through the C library: the
 * zone is selected with TZ and tzset(), so these functions are not
 * thread-safe (the worker is single-threaded). */
#ifndef PD_SCHEDULE_H
#define PD_SCHEDULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Returns true when tz names a zone the system database knows. */
bool pd_schedule_tz_valid(const char *tz);

/* Slot k of the six-monthly schedule anchored on close_at (ms UTC):
 * the local calendar date of close_at in tz, plus months_per_slot*k months,
 * day clamped to the end of the month, at local_minute (minutes after local
 * midnight).  A local time skipped by DST moves to the next valid instant;
 * a repeated one resolves to the first occurrence.  tz NULL or unknown =
 * UTC.  Slot 0 is the anchor date itself at local_minute. */
int64_t pd_schedule_slot_at(int64_t close_at, const char *tz, int32_t k,
                            int32_t months_per_slot, int32_t local_minute);

/* Calendar arithmetic on the proleptic Gregorian calendar (days since
 * 1970-01-01; month 1-12). */
int64_t pd_schedule_days_from_civil(int64_t y, int64_t m, int64_t d);
void pd_schedule_civil_from_days(int64_t z, int64_t *y, int64_t *m, int64_t *d);
int64_t pd_schedule_days_in_month(int64_t y, int64_t m);
/* months calendar months later in UTC, the day clamped to the month's end
 * (31 January + 1 month = 28/29 February); the time of day is kept. */
int64_t pd_schedule_add_months_utc(int64_t at, int32_t months);

/* Adds days to a time (exact 86400 s days). */
int64_t pd_schedule_add_days(int64_t at, int32_t days);

/* Formats ms as "YYYY-MM-DDTHH:MM:SSZ" into buf (>= 21 bytes). */
void pd_schedule_format(int64_t at, char *buf, size_t buf_size);
/* Parses "YYYY-MM-DD", "YYYY-MM-DD HH:MM[:SS]" or "YYYY-MM-DDTHH:MM:SS[Z]"
 * (UTC) into ms; returns false when s is not such a date. */
bool pd_schedule_parse(const char *s, int64_t *at);

#endif
