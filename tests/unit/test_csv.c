/* Table-driven tests of the RFC 4180 reader: each case is an input and the
 * records (fields and starting line) or the error it must give. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "csv.h"

#define MAX_RECS   6
#define MAX_FIELDS 5

typedef struct rec_want_s {
        long line;
        const char *f[MAX_FIELDS]; /* NULL ends the fields */
        int unterminated;          /* 1: last record without a line end */
} rec_want_t;

typedef struct csv_case_s {
        const char *name;
        const char *in;
        rec_want_t recs[MAX_RECS]; /* line 0 ends the records */
        pd_err_t end;              /* what follows the last record */
        const char *errstr;        /* substring of the message, if any */
} csv_case_t;

static const csv_case_t cases[] = {
    {"plain",
     "a,b,c\n1,2,3\n",
     {{1, {"a", "b", "c"}, 0}, {2, {"1", "2", "3"}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"empty fields",
     "a,,c\n,,\n,x,\n",
     {{1, {"a", "", "c"}, 0}, {2, {"", "", ""}, 0}, {3, {"", "x", ""}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"quoted comma and doubled quote",
     "\"a,b\",\"say \"\"hi\"\"\",\"\"\n",
     {{1, {"a,b", "say \"hi\"", ""}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"embedded newline moves line numbers",
     "id,text\n1,\"two\nlines\"\n2,\"three\n\nlines\"\n3,x\n",
     {{1, {"id", "text"}, 0},
      {2, {"1", "two\nlines"}, 0},
      {4, {"2", "three\n\nlines"}, 0},
      {7, {"3", "x"}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"CRLF line ends, CRLF kept inside quotes",
     "a,b\r\n\"x\r\ny\",z\r\nlast,1\r\n",
     {{1, {"a", "b"}, 0}, {2, {"x\r\ny", "z"}, 0}, {4, {"last", "1"}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"last record without line end",
     "a,b\nc,d",
     {{1, {"a", "b"}, 0}, {2, {"c", "d"}, 1}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"truncated final record: unterminated quote",
     "h1,h2\nok,1\ncut,\"half a\nfield",
     {{1, {"h1", "h2"}, 0}, {2, {"ok", "1"}, 0}},
     PD_ERR_INVALID,
     "t.csv:3: unterminated quoted field at end of file"},
    {"blank lines skipped, numbering kept",
     "a\n\n\r\nb\n",
     {{1, {"a"}, 0}, {4, {"b"}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"UTF-8 byte-order mark dropped",
     "\xEF\xBB\xBFid,name\n1,Zoë\n",
     {{1, {"id", "name"}, 0}, {2, {"1", "Zoë"}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"stray quotes kept literally",
     "ab\"c,\"q\"x\n",
     {{1, {"ab\"c", "qx"}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"lone CR line ends",
     "a\rb\r",
     {{1, {"a"}, 0}, {2, {"b"}, 0}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"trailing comma at EOF",
     "a,b,",
     {{1, {"a", "b", ""}, 1}},
     PD_ERR_NOT_FOUND,
     NULL},
    {"empty input", "", {{0}}, PD_ERR_NOT_FOUND, NULL},
};

static void check_record(const csv_case_t *c, const rec_want_t *w,
                         const pd_csv_record_t *rec)
{
        size_t n = 0;
        while (n < MAX_FIELDS && w->f[n])
                n++;
        if (rec->n != n || rec->line != w->line)
                fail_msg("%s: record at line %ld with %zu fields, want line "
                         "%ld with %zu",
                         c->name, rec->line, rec->n, w->line, n);
        for (size_t i = 0; i < n; i++) {
                assert_string_equal(rec->fields[i], w->f[i]);
                assert_int_equal(rec->lens[i], strlen(w->f[i]));
        }
        assert_int_equal(rec->terminated, !w->unterminated);
}

static void run_case(const csv_case_t *c)
{
        pd_csv_t *csv;
        pd_csv_record_t rec;
        char err[256] = "";
        size_t i = 0;
        pd_err_t r;

        assert_int_equal(pd_csv_open_mem("t.csv", c->in, strlen(c->in), &csv,
                                         err, sizeof(err)),
                         PD_OK);
        while ((r = pd_csv_next(csv, &rec, err, sizeof(err))) == PD_OK) {
                if (i >= MAX_RECS || !c->recs[i].line)
                        fail_msg("%s: unexpected record at line %ld", c->name,
                                 rec.line);
                check_record(c, &c->recs[i++], &rec);
        }
        if (i < MAX_RECS && c->recs[i].line)
                fail_msg("%s: %zu records, want more", c->name, i);
        if (r != c->end)
                fail_msg("%s: ended with %s, want %s (%s)", c->name,
                         pd_err_name(r), pd_err_name(c->end), err);
        if (c->errstr && !strstr(err, c->errstr))
                fail_msg("%s: error \"%s\", want \"%s\"", c->name, err,
                         c->errstr);
        /* After the end or an error the reader stays at the end. */
        assert_int_equal(pd_csv_next(csv, &rec, err, sizeof(err)),
                         PD_ERR_NOT_FOUND);
        pd_csv_close(csv);
}

static void test_cases(void **state)
{
        for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++)
                run_case(&cases[i]);
}

static void test_open_missing_file(void **state)
{
        pd_csv_t *csv = (pd_csv_t *)1;
        char err[256] = "";
        assert_int_equal(
            pd_csv_open("/nonexistent/x.csv", &csv, err, sizeof(err)),
            PD_ERR_IO);
        assert_null(csv);
        assert_non_null(strstr(err, "/nonexistent/x.csv: "));
        pd_csv_close(NULL);
}

/* A file read through stdio gives the same records and lines as memory. */
static void test_file_matches_mem(void **state)
{
        const char *in = "k,v\r\n1,\"a\r\nb\"\r\n2,\"c\"\"\"\r\n";
        char path[] = "/tmp/test_csv_XXXXXX";
        int fd = mkstemp(path);
        assert_true(fd >= 0);
        FILE *fp = fdopen(fd, "w");
        fputs(in, fp);
        fclose(fp);

        pd_csv_t *a, *b;
        pd_csv_record_t ra, rb;
        char err[256];
        assert_int_equal(pd_csv_open(path, &a, err, sizeof(err)), PD_OK);
        assert_string_equal(pd_csv_name(a), path);
        assert_int_equal(
            pd_csv_open_mem("m", in, strlen(in), &b, err, sizeof(err)), PD_OK);
        int n = 0;
        while (pd_csv_next(a, &ra, err, sizeof(err)) == PD_OK) {
                assert_int_equal(pd_csv_next(b, &rb, err, sizeof(err)), PD_OK);
                assert_int_equal(ra.line, rb.line);
                assert_int_equal(ra.n, rb.n);
                for (size_t i = 0; i < ra.n; i++)
                        assert_string_equal(ra.fields[i], rb.fields[i]);
                n++;
        }
        assert_int_equal(n, 3);
        assert_int_equal(pd_csv_next(b, &rb, err, sizeof(err)),
                         PD_ERR_NOT_FOUND);
        pd_csv_close(a);
        pd_csv_close(b);
        unlink(path);
}

/* Long fields and many fields grow the buffers. */
static void test_large_record(void **state)
{
        size_t n = 200000;
        char *in = malloc(n + 64);
        size_t k = 0;
        in[k++] = '"';
        for (size_t i = 0; i < n; i++)
                in[k++] = i % 1000 == 999 ? '\n' : 'x';
        k += (size_t)sprintf(in + k, "\"");
        for (int i = 0; i < 40; i++)
                in[k++] = ',';
        in[k++] = '\n';
        pd_csv_t *csv;
        pd_csv_record_t rec;
        char err[256];
        assert_int_equal(pd_csv_open_mem("big", in, k, &csv, err, sizeof(err)),
                         PD_OK);
        assert_int_equal(pd_csv_next(csv, &rec, err, sizeof(err)), PD_OK);
        assert_int_equal(rec.n, 41);
        assert_int_equal(rec.lens[0], n);
        assert_int_equal(rec.line, 1);
        pd_csv_close(csv);
        free(in);
}

int main(void)
{
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cases),
            cmocka_unit_test(test_open_missing_file),
            cmocka_unit_test(test_file_matches_mem),
            cmocka_unit_test(test_large_record),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
