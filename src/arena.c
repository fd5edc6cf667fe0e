#include "arena.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ARENA_BLOCK_MIN (64 * 1024)

struct pd_arena_block_s {
        pd_arena_block_t *next;
        size_t size;
        size_t used;
        max_align_t data[];
};

void pd_arena_init(pd_arena_t *arena)
{
        arena->head       = NULL;
        arena->used_total = 0;
}

void pd_arena_term(pd_arena_t *arena)
{
        pd_arena_block_t *b = arena->head;
        while (b) {
                pd_arena_block_t *next = b->next;
                free(b);
                b = next;
        }
        arena->head       = NULL;
        arena->used_total = 0;
}

void pd_arena_reset(pd_arena_t *arena)
{
        pd_arena_block_t *keep = arena->head;
        if (!keep)
                return;
        /* Keep the newest (largest) block, free the rest. */
        pd_arena_block_t *b = keep->next;
        while (b) {
                pd_arena_block_t *next = b->next;
                free(b);
                b = next;
        }
        keep->next        = NULL;
        keep->used        = 0;
        arena->used_total = 0;
}

void *pd_arena_alloc(pd_arena_t *arena, size_t size)
{
        const size_t align = sizeof(max_align_t);
        size                = (size + align - 1) & ~(align - 1);
        if (size == 0)
                size = align;
        pd_arena_block_t *b = arena->head;
        if (!b || b->size - b->used < size) {
                size_t bsize = size > ARENA_BLOCK_MIN ? size : ARENA_BLOCK_MIN;
                if (b && b->size * 2 > bsize && b->size < 64 * 1024 * 1024)
                        bsize = b->size * 2 > size ? b->size * 2 : size;
                b = malloc(sizeof(*b) + bsize);
                if (!b)
                        return NULL;
                b->size     = bsize;
                b->used     = 0;
                b->next     = arena->head;
                arena->head = b;
        }
        void *p = (char *)b->data + b->used;
        b->used += size;
        arena->used_total += size;
        memset(p, 0, size);
        return p;
}

char *pd_arena_strndup(pd_arena_t *arena, const char *s, size_t len)
{
        if (!s)
                return NULL;
        char *d = pd_arena_alloc(arena, len + 1);
        if (!d)
                return NULL;
        memcpy(d, s, len);
        d[len] = '\0';
        return d;
}

char *pd_arena_strdup(pd_arena_t *arena, const char *s)
{
        return s ? pd_arena_strndup(arena, s, strlen(s)) : NULL;
}

char *pd_arena_printf(pd_arena_t *arena, const char *fmt, ...)
{
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(NULL, 0, fmt, ap);
        va_end(ap);
        if (n < 0)
                return NULL;
        char *d = pd_arena_alloc(arena, (size_t)n + 1);
        if (!d)
                return NULL;
        va_start(ap, fmt);
        vsnprintf(d, (size_t)n + 1, fmt, ap);
        va_end(ap);
        return d;
}

void *pd_arena_grow(pd_arena_t *arena, void *old, size_t n, size_t *cap,
                    size_t elem)
{
        if (n < *cap)
                return old;
        size_t ncap = *cap ? *cap * 2 : 8;
        void *p = pd_arena_alloc(arena, ncap * elem);
        if (!p)
                return NULL;
        if (old)
                memcpy(p, old, n * elem);
        *cap = ncap;
        return p;
}
