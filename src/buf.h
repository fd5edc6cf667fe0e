/* persona-dna: a growable byte buffer (malloc-owned). */
#ifndef PD_BUF_H
#define PD_BUF_H

#include <stddef.h>

typedef struct pd_buf_s {
        char *data;
        size_t len;
        size_t cap;
} pd_buf_t;

void pd_buf_init(pd_buf_t *buf);
void pd_buf_term(pd_buf_t *buf);
void pd_buf_reset(pd_buf_t *buf);
/* Returns 0, or -1 on OOM (buf unchanged). */
int pd_buf_append(pd_buf_t *buf, const void *data, size_t len);
/* Makes room for len more bytes and returns where they go; NULL on OOM. */
char *pd_buf_reserve(pd_buf_t *buf, size_t len);

#endif
