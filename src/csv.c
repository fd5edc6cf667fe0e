#include "csv.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

#define CSV_EOF (-1)

struct pd_csv_s {
        char *name;
        FILE *fp; /* NULL: reading from mem */
        const unsigned char *mem;
        size_t mem_len, mem_pos;
        int back[4]; /* pushed-back characters, LIFO */
        int nback;
        bool started; /* BOM check done */
        bool failed;  /* read error seen */
        long line;    /* physical line of the next character */

        pd_buf_t text; /* the current record's field bytes */
        size_t *offs;  /* field start offsets into text */
        size_t *lens;
        const char **fields;
        size_t nfields, cap;
};

static int get(pd_csv_t *csv)
{
        if (csv->nback)
                return csv->back[--csv->nback];
        if (!csv->fp)
                return csv->mem_pos < csv->mem_len ? csv->mem[csv->mem_pos++]
                                                   : CSV_EOF;
        int c = getc_unlocked(csv->fp);
        if (c == EOF) {
                if (ferror(csv->fp))
                        csv->failed = true;
                return CSV_EOF;
        }
        return c;
}

static void unget(pd_csv_t *csv, int c)
{
        if (c != CSV_EOF)
                csv->back[csv->nback++] = c;
}

/* Excel and many CRM exports start with a UTF-8 byte-order mark; it is not
 * part of the first header name. */
static void skip_bom(pd_csv_t *csv)
{
        int c1 = get(csv);
        if (c1 != 0xEF) {
                unget(csv, c1);
                return;
        }
        int c2 = get(csv);
        int c3 = c2 == 0xBB ? get(csv) : CSV_EOF;
        if (c2 == 0xBB && c3 == 0xBF)
                return;
        unget(csv, c3);
        unget(csv, c2);
        unget(csv, c1);
}

static pd_csv_t *csv_new(const char *name)
{
        pd_csv_t *csv = calloc(1, sizeof(*csv));
        if (!csv)
                return NULL;
        csv->name = strdup(name);
        if (!csv->name) {
                free(csv);
                return NULL;
        }
        csv->line = 1;
        pd_buf_init(&csv->text);
        return csv;
}

pd_err_t pd_csv_open(const char *path, pd_csv_t **csvp, char *errstr,
                     size_t errstr_size)
{
        pd_err_t err = PD_OK;
        pd_csv_t *csv = csv_new(path);
        if (!csv) {
                err = PD_ERR_NOMEM;
                snprintf(errstr, errstr_size, "%s: out of memory", path);
                goto out;
        }
        csv->fp = fopen(path, "rb");
        if (!csv->fp) {
                err = PD_ERR_IO;
                snprintf(errstr, errstr_size, "%s: %s", path, strerror(errno));
                pd_csv_close(csv);
                csv = NULL;
        }
out:
        *csvp = csv;
        return err;
}

pd_err_t pd_csv_open_mem(const char *name, const char *data, size_t len,
                         pd_csv_t **csvp, char *errstr, size_t errstr_size)
{
        pd_csv_t *csv = csv_new(name);
        *csvp = csv;
        if (!csv) {
                snprintf(errstr, errstr_size, "%s: out of memory", name);
                return PD_ERR_NOMEM;
        }
        csv->mem = (const unsigned char *)data;
        csv->mem_len = len;
        return PD_OK;
}

void pd_csv_close(pd_csv_t *csv)
{
        if (!csv)
                return;
        if (csv->fp)
                fclose(csv->fp);
        pd_buf_term(&csv->text);
        free(csv->offs);
        free(csv->lens);
        free(csv->fields);
        free(csv->name);
        free(csv);
}

const char *pd_csv_name(const pd_csv_t *csv)
{
        return csv->name;
}

static int put(pd_csv_t *csv, int c)
{
        char ch = (char)c;
        return pd_buf_append(&csv->text, &ch, 1);
}

/* Ends the current field: NUL-terminates it and records where it starts. */
static int field_end(pd_csv_t *csv, size_t start)
{
        if (csv->nfields == csv->cap) {
                size_t ncap = csv->cap ? csv->cap * 2 : 16;
                size_t *o = realloc(csv->offs, ncap * sizeof(*o));
                if (!o)
                        return -1;
                csv->offs = o;
                size_t *l = realloc(csv->lens, ncap * sizeof(*l));
                if (!l)
                        return -1;
                csv->lens = l;
                const char **f = realloc(csv->fields, ncap * sizeof(*f));
                if (!f)
                        return -1;
                csv->fields = f;
                csv->cap = ncap;
        }
        csv->offs[csv->nfields] = start;
        csv->lens[csv->nfields] = csv->text.len - start;
        csv->nfields++;
        return put(csv, '\0');
}

/* Consumes the LF of a CRLF pair; counts one physical line. */
static void line_end(pd_csv_t *csv, int c)
{
        if (c == '\r') {
                int n = get(csv);
                if (n != '\n')
                        unget(csv, n);
        }
        csv->line++;
}

/* Reads a quoted field's body up to its closing quote.  Returns 0, 1 at EOF
 * (unterminated), -1 OOM. */
static int read_quoted(pd_csv_t *csv)
{
        for (;;) {
                int c = get(csv);
                if (c == CSV_EOF)
                        return 1;
                if (c == '"') {
                        int n = get(csv);
                        if (n != '"') {
                                unget(csv, n);
                                return 0;
                        }
                } else if (c == '\r') {
                        /* Kept byte for byte; CRLF is one line. */
                        int n = get(csv);
                        if (n == '\n' && put(csv, c))
                                return -1;
                        c = n == '\n' ? n : c;
                        if (n != '\n')
                                unget(csv, n);
                        csv->line++;
                } else if (c == '\n') {
                        csv->line++;
                }
                if (put(csv, c))
                        return -1;
        }
}

typedef enum field_end_e {
        END_FIELD,  /* a comma: another field follows */
        END_RECORD, /* a line end */
        END_EOF,    /* end of input */
        END_OPEN,   /* end of input inside quotes */
        END_NOMEM,
} field_end_t;

/* Reads one field into text; says what ended it. */
static field_end_t read_field(pd_csv_t *csv)
{
        int c = get(csv);
        if (c == '"') {
                int r = read_quoted(csv);
                if (r)
                        return r > 0 ? END_OPEN : END_NOMEM;
                c = get(csv);
        }
        for (;; c = get(csv)) {
                if (c == ',')
                        return END_FIELD;
                if (c == CSV_EOF)
                        return END_EOF;
                if (c == '\r' || c == '\n') {
                        line_end(csv, c);
                        return END_RECORD;
                }
                if (put(csv, c))
                        return END_NOMEM;
        }
}

/* Skips wholly empty lines; returns false at end of input. */
static bool skip_blank_lines(pd_csv_t *csv)
{
        for (;;) {
                int c = get(csv);
                if (c == CSV_EOF)
                        return false;
                if (c != '\r' && c != '\n') {
                        unget(csv, c);
                        return true;
                }
                line_end(csv, c);
        }
}

static void fill_record(pd_csv_t *csv, pd_csv_record_t *rec)
{
        for (size_t i = 0; i < csv->nfields; i++)
                csv->fields[i] = csv->text.data + csv->offs[i];
        rec->fields = csv->fields;
        rec->lens = csv->lens;
        rec->n = csv->nfields;
}

pd_err_t pd_csv_next(pd_csv_t *csv, pd_csv_record_t *rec, char *errstr,
                     size_t errstr_size)
{
        pd_err_t err = PD_OK;
        field_end_t end;

        memset(rec, 0, sizeof(*rec));
        pd_buf_reset(&csv->text);
        csv->nfields = 0;
        if (!csv->started) {
                skip_bom(csv);
                csv->started = true;
        }
        if (!skip_blank_lines(csv)) {
                err = csv->failed ? PD_ERR_IO : PD_ERR_NOT_FOUND;
                goto out;
        }
        rec->line = csv->line;
        do {
                size_t start = csv->text.len;
                end = read_field(csv);
                if (end == END_OPEN || end == END_NOMEM)
                        break;
                if (field_end(csv, start)) {
                        end = END_NOMEM;
                        break;
                }
        } while (end == END_FIELD);

        if (csv->failed)
                err = PD_ERR_IO;
        else if (end == END_NOMEM)
                err = PD_ERR_NOMEM;
        else if (end == END_OPEN)
                err = PD_ERR_INVALID;
        if (err)
                goto out;
        fill_record(csv, rec);
        rec->terminated = end == END_RECORD;
out:
        if (err == PD_ERR_IO)
                snprintf(errstr, errstr_size, "%s:%ld: read error", csv->name,
                         csv->line);
        else if (err == PD_ERR_NOMEM)
                snprintf(errstr, errstr_size, "%s:%ld: out of memory",
                         csv->name, rec->line);
        else if (err == PD_ERR_INVALID)
                snprintf(errstr, errstr_size,
                         "%s:%ld: unterminated quoted field at end of file",
                         csv->name, rec->line);
        return err;
}
