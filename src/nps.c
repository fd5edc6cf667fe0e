#include "nps.h"

/* Integer division of num by den (den > 0, num >= 0) rounded half up: the
 * one rounding step, so an NPS of exactly x.5 never drifts through a float
 * to x.4999. */
static int64_t div_round(uint64_t num, uint64_t den)
{
        uint64_t q = num / den;
        uint64_t r = num % den;
        if (r >= den - r)
                q++;
        return (int64_t)q;
}

/* Counts beyond this would overflow 100 * count; no survey program gets
 * near it, but a corrupt state record could. */
#define COUNT_MAX (INT64_MAX / 100)

static bool count_ok(int64_t n)
{
        return n >= 0 && n <= COUNT_MAX;
}

bool pd_nps_add(pd_nps_t *nps, int32_t score)
{
        if (score < 0 || score > 10)
                return false;
        if (score >= 9)
                nps->promoters++;
        else if (score >= 7)
                nps->passives++;
        else
                nps->detractors++;
        return true;
}

bool pd_nps_score(const pd_nps_t *nps, int32_t *score)
{
        int64_t p = nps->promoters, d = nps->detractors;
        if (!count_ok(p) || !count_ok(d) || !count_ok(nps->passives))
                return false;
        uint64_t n = (uint64_t)p + (uint64_t)d + (uint64_t)nps->passives;
        if (n == 0 || n > COUNT_MAX)
                return false;
        /* Round the magnitude, then apply the sign: half away from zero. */
        uint64_t diff = p >= d ? (uint64_t)(p - d) : (uint64_t)(d - p);
        int64_t mag = div_round(100 * diff, n);
        *score = (int32_t)(p >= d ? mag : -mag);
        return true;
}

bool pd_csat_add(pd_csat_t *csat, int32_t score)
{
        if (score < 1 || score > 5)
                return false;
        if (score >= 4)
                csat->satisfied++;
        csat->responses++;
        return true;
}

bool pd_csat_score(const pd_csat_t *csat, int32_t *percent)
{
        int64_t s = csat->satisfied, n = csat->responses;
        if (n <= 0 || n > COUNT_MAX || s < 0 || s > n)
                return false;
        *percent = (int32_t)div_round(100 * (uint64_t)s, (uint64_t)n);
        return true;
}

bool pd_nps_is_detractor(int32_t score)
{
        return score >= 0 && score <= 6;
}

bool pd_nps_is_promoter(int32_t score)
{
        return score >= 9 && score <= 10;
}

bool pd_window_contains(int64_t as_of, int32_t days, int64_t at)
{
        if (days <= 0 || at > as_of)
                return false;
        /* Compared as a difference so times near the int64 ends do not
         * overflow: both are real timestamps, the gap fits. */
        return (uint64_t)as_of - (uint64_t)at <
               (uint64_t)days * 86400ULL * 1000ULL;
}

bool pd_rolling_add(pd_rolling_t *r, int64_t as_of, int32_t days, int64_t at,
                    bool csat, int32_t score)
{
        if (!pd_window_contains(as_of, days, at))
                return false;
        return csat ? pd_csat_add(&r->csat, score) : pd_nps_add(&r->nps, score);
}
