/* persona-dna: NPS and CSAT arithmetic (DESIGN §6).  Pure. */
#ifndef PD_NPS_H
#define PD_NPS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct pd_nps_s {
        int64_t promoters;  /* 9-10 */
        int64_t passives;   /* 7-8 */
        int64_t detractors; /* 0-6 */
} pd_nps_t;

typedef struct pd_csat_s {
        int64_t satisfied; /* 4-5 */
        int64_t responses; /* 1-5 */
} pd_csat_t;

/* Returns false (and counts nothing) when score is not 0-10. */
bool pd_nps_add(pd_nps_t *nps, int32_t score);
/* NPS = 100 * (promoters - detractors) / responses, rounded once, half away
 * from zero.  Returns false when there are no responses (no score). */
bool pd_nps_score(const pd_nps_t *nps, int32_t *score);
/* Returns false when score is not 1-5. */
bool pd_csat_add(pd_csat_t *csat, int32_t score);
/* Share of 4-5 in percent, rounded once; false when no responses. */
bool pd_csat_score(const pd_csat_t *csat, int32_t *percent);
/* 0-6 */
bool pd_nps_is_detractor(int32_t score);
/* 9-10 */
bool pd_nps_is_promoter(int32_t score);

/* ---- rolling windows ---------------------------------------------------- */

#define PD_ROLLING_DAYS 90

/* True when an answer given at `at` (ms) falls in the window of `days`
 * days ending at as_of: as_of - days < at <= as_of.  An answer exactly
 * `days` days old has left the window; one after as_of has not happened
 * yet. */
bool pd_window_contains(int64_t as_of, int32_t days, int64_t at);

/* NPS and CSAT over one window. */
typedef struct pd_rolling_s {
        pd_nps_t nps;
        pd_csat_t csat;
} pd_rolling_t;

/* Counts one answer (csat: a 1-5 CSAT score, else a 0-10 NPS score) when
 * it is in the window ending at as_of and its score is on its scale.
 * Returns true when it counted. */
bool pd_rolling_add(pd_rolling_t *r, int64_t as_of, int32_t days, int64_t at,
                    bool csat, int32_t score);

#endif
