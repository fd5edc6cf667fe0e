/* persona-dna: a streaming RFC 4180 CSV reader.
 *
 * Generic: knows nothing of the datasets.  Accepts what real exports
 * contain: quoted fields with doubled quotes, commas and line ends inside
 * quotes, LF, CRLF or lone CR line ends, a UTF-8 byte-order mark, and a last
 * record without a line end.  Lenient where RFC 4180 is strict and the
 * intent is plain: a quote inside an unquoted field, or text after a
 * closing quote, is kept as a literal character.  Wholly empty lines are
 * skipped (as Python's csv module does).
 *
 * Each record carries the 1-based physical line on which it starts, so a
 * caller can say "file:line: ..." about any row.  A quoted field still open
 * at end of file (a truncated export) is an error naming that line, never a
 * silently shortened record. */
#ifndef PD_CSV_H
#define PD_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

typedef struct pd_csv_s pd_csv_t;

typedef struct pd_csv_record_s {
        const char **fields; /* n NUL-terminated fields */
        const size_t *lens;  /* byte length of each field */
        size_t n;
        long line;       /* 1-based physical line where the record starts */
        bool terminated; /* false: the file ended without a line end */
} pd_csv_record_t;

/* Opens path for reading.  Returns new (pd_csv_close()); PD_ERR_IO with
 * "path: reason" in errstr. */
pd_err_t pd_csv_open(const char *path, pd_csv_t **csvp, char *errstr,
                     size_t errstr_size);

/* Reads from data[0..len) (borrowed: valid until pd_csv_close()); name is
 * what error messages call it.  Returns new. */
pd_err_t pd_csv_open_mem(const char *name, const char *data, size_t len,
                         pd_csv_t **csvp, char *errstr, size_t errstr_size);

/* NULL is a no-op. */
void pd_csv_close(pd_csv_t *csv);

/* The name given at open (borrowed, valid until pd_csv_close()). */
const char *pd_csv_name(const pd_csv_t *csv);

/* Fills rec with the next record; its strings are borrowed until the next
 * call or pd_csv_close().  Returns PD_OK, PD_ERR_NOT_FOUND at end of input,
 * PD_ERR_INVALID for a quoted field unterminated at end of file
 * ("name:line: unterminated quoted field at end of file", the line being
 * where the record starts; rec->line is set too), PD_ERR_IO on a read error
 * or PD_ERR_NOMEM.  After PD_ERR_INVALID the reader is at end of input. */
pd_err_t pd_csv_next(pd_csv_t *csv, pd_csv_record_t *rec, char *errstr,
                     size_t errstr_size);

#endif
