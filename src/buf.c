#include "buf.h"

#include <stdlib.h>
#include <string.h>

void pd_buf_init(pd_buf_t *buf)
{
        buf->data = NULL;
        buf->len  = 0;
        buf->cap  = 0;
}

void pd_buf_term(pd_buf_t *buf)
{
        free(buf->data);
        pd_buf_init(buf);
}

void pd_buf_reset(pd_buf_t *buf)
{
        buf->len = 0;
}

char *pd_buf_reserve(pd_buf_t *buf, size_t len)
{
        if (buf->cap - buf->len < len) {
                size_t ncap = buf->cap ? buf->cap : 256;
                while (ncap - buf->len < len)
                        ncap *= 2;
                char *d = realloc(buf->data, ncap);
                if (!d)
                        return NULL;
                buf->data = d;
                buf->cap  = ncap;
        }
        return buf->data + buf->len;
}

int pd_buf_append(pd_buf_t *buf, const void *data, size_t len)
{
        char *p = pd_buf_reserve(buf, len);
        if (!p)
                return -1;
        memcpy(p, data, len);
        buf->len += len;
        return 0;
}
