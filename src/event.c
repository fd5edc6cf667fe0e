/* Contract checks on a decoded event: what the schema cannot say. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "schedule.h"

#define ID_MAX 256

static pd_err_t bad(char *errstr, size_t errstr_size, const char *f, ...)
    __attribute__((format(printf, 3, 4)));
static pd_err_t bad(char *errstr, size_t errstr_size, const char *f, ...)
{
        va_list ap;
        va_start(ap, f);
        if (errstr && errstr_size)
                vsnprintf(errstr, errstr_size, f, ap);
        va_end(ap);
        return PD_ERR_INVALID;
}

static bool is_uuid(const char *s)
{
        if (!s || strlen(s) != 36)
                return false;
        for (int i = 0; i < 36; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;
                if (dash ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
                        return false;
        }
        return true;
}

static pd_err_t check_id(const char *field, const char *v, char *errstr,
                         size_t errstr_size)
{
        if (!v || !*v)
                return bad(errstr, errstr_size, "%s: empty", field);
        size_t n = strlen(v);
        if (n > ID_MAX)
                return bad(errstr, errstr_size, "%s: %zu bytes, limit %d",
                           field, n, ID_MAX);
        return PD_OK;
}

static pd_err_t check_payload(const pd_event_t *ev, char *errstr,
                              size_t errstr_size)
{
        const pd_survey_returned_t *s = &ev->u.survey;
        switch (ev->kind) {
        case PD_EV_SALE_CLOSED:
                if (ev->u.sale.time_zone &&
                    !pd_schedule_tz_valid(ev->u.sale.time_zone))
                        return bad(errstr, errstr_size,
                                   "payload.SaleClosed.time_zone: unknown "
                                   "IANA zone \"%.64s\"",
                                   ev->u.sale.time_zone);
                return check_id("payload.SaleClosed.deal_id",
                                ev->u.sale.deal_id, errstr, errstr_size);
        case PD_EV_TICKET_OPENED:
                return check_id("payload.TicketOpened.ticket_id",
                                ev->u.ticket.ticket_id, errstr, errstr_size);
        case PD_EV_SURVEY_RETURNED:
                if (s->kind == PD_SURVEY_NPS && (s->score < 0 || s->score > 10))
                        return bad(errstr, errstr_size,
                                   "payload.SurveyReturned.score: %d outside "
                                   "NPS scale 0-10",
                                   s->score);
                if (s->kind == PD_SURVEY_CSAT && (s->score < 1 || s->score > 5))
                        return bad(errstr, errstr_size,
                                   "payload.SurveyReturned.score: %d outside "
                                   "CSAT scale 1-5",
                                   s->score);
                return PD_OK;
        case PD_EV_RENEWAL_DUE:
                if (ev->u.renewal.renewal_date <= 0)
                        return bad(errstr, errstr_size,
                                   "payload.RenewalDue.renewal_date: not set");
                return check_id("payload.RenewalDue.contract_id",
                                ev->u.renewal.contract_id, errstr,
                                errstr_size);
        default:
                return PD_OK;
        }
}

pd_err_t pd_event_validate(const pd_event_t *ev, char *errstr,
                           size_t errstr_size)
{
        pd_err_t err;
        if (!is_uuid(ev->event_id))
                return bad(errstr, errstr_size, "event_id: not a UUID");
        if ((err = check_id("customer_id", ev->customer_id, errstr,
                            errstr_size)))
                return err;
        if (ev->occurred_at <= 0)
                return bad(errstr, errstr_size,
                           "occurred_at: %lld is not a time",
                           (long long)ev->occurred_at);
        return check_payload(ev, errstr, errstr_size);
}
