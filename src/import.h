/* persona-dna: the importer's library part: CRM and support CSV exports ->
 * lifecycle events (pd_event_t), in event-time order.
 *
 * Datasets (folders of the data directory; see the README for the mapping
 * rules): "maven-crm", "ravenstack-saas", "it-tickets-bueck" (supplies the
 * text of RavenStack tickets), "nps-csat-mock".  Every row read ends up in
 * exactly one place: an event (or two), "skipped" with a reason (rows that
 * are not events by design, e.g. deals not won) or "rejected" with a reason
 * (rows that should be events but are broken), each rejected row also logged
 * as "file:line: field: reason".
 *
 * Event ids are UUID v5 of "<dataset>/<file>/<row key>/<event kind>", so a
 * re-import produces the same ids and the worker de-duplicates them. */
#ifndef PD_IMPORT_H
#define PD_IMPORT_H

#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "domain.h"
#include "err.h"

#define PD_IMPORT_DATASETS                                                     \
        "maven-crm,ravenstack-saas,it-tickets-bueck,nps-csat-mock"
#define PD_IMPORT_DATASETS_MAX 5 /* the four above plus "sample" */

/* A reason rows were skipped or rejected, counted. */
typedef struct pd_import_reason_s {
        const char *dataset;
        const char *reason;  /* "file: field: reason", no line number */
        const char *example; /* the first row's "file:line: field: reason" */
        size_t n;
} pd_import_reason_t;

typedef struct pd_import_dataset_s {
        const char *name;
        bool present;     /* folder found and read */
        const char *note; /* why absent, or what it contributed; may be NULL */
        size_t rows;      /* data rows read, all files */
        size_t events[PD_EV__CNT];
        size_t surveys[2]; /* SurveyReturned by pd_survey_kind_t */
        size_t skipped;
        size_t rejected;
} pd_import_dataset_t;

typedef struct pd_import_result_s {
        /* Set by the caller (pd_import_result_init() gives the defaults):
         * where rejected rows are logged (NULL: not logged; the counts and
         * the first example per reason are kept regardless) and how many
         * lines per reason before the rest are only counted. */
        FILE *log;
        size_t log_max;

        /* Filled: every pointer is owned by the arena given to the import. */
        pd_event_t *events; /* sorted by occurred_at, ties in file order */
        size_t n_events;
        pd_import_dataset_t datasets[PD_IMPORT_DATASETS_MAX];
        size_t n_datasets;
        pd_import_reason_t *skips;
        size_t n_skips;
        pd_import_reason_t *rejects;
        size_t n_rejects;

        size_t cap_events, cap_skips, cap_rejects; /* private */
} pd_import_result_t;

/* Zeroes res, log NULL, log_max 10. */
void pd_import_result_init(pd_import_result_t *res);

/* Reads the datasets named in the comma-separated list `datasets` (NULL:
 * every dataset whose folder exists) from data_dir and fills res (which
 * must have been initialised; a second import appends).  Every string and
 * array of res is allocated from arena (borrowed: valid until it is reset).
 * A named dataset whose folder is absent is marked not present with a note,
 * not an error.  Returns PD_ERR_INVALID for an unknown dataset name,
 * PD_ERR_IO for an unreadable file, PD_ERR_CONFIG for a file lacking a
 * required column, with errstr saying which ("file:line: ..."). */
pd_err_t pd_import_dir(const char *data_dir, const char *datasets,
                       pd_arena_t *arena, pd_import_result_t *res, char *errstr,
                       size_t errstr_size);

/* Synthesises a realistic history for n_customers customers of the
 * dataset "sample": sales whose checkpoints lean to each of the four
 * personas, implementation closes, tickets in en/de/es/fr/it/pt, NPS and
 * CSAT surveys, renewals, later checkpoints and an occasional erasure.
 * Deterministic for a seed.  Appends to res like pd_import_dir(). */
pd_err_t pd_import_generate_sample(uint64_t seed, size_t n_customers,
                                   pd_arena_t *arena, pd_import_result_t *res);

/* The figures of res, for people: events by dataset and type, rows skipped
 * and rejected by reason. */
void pd_import_report_print(FILE *fp, const pd_import_result_t *res);

/* Total events of kind over every dataset. */
size_t pd_import_count(const pd_import_result_t *res, pd_event_kind_t kind);

#endif
