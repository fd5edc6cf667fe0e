/* persona-dna: a bump allocator.
 *
 * Everything decoded from one batch (events, markers, outputs) lives in one
 * arena and dies with pd_arena_reset()/pd_arena_term(): one owner, no
 * per-field frees, no leaks on error paths. */
#ifndef PD_ARENA_H
#define PD_ARENA_H

#include <stddef.h>

typedef struct pd_arena_block_s pd_arena_block_t;

typedef struct pd_arena_s {
        pd_arena_block_t *head;
        size_t used_total;
} pd_arena_t;

void pd_arena_init(pd_arena_t *arena);
/* Frees every block. */
void pd_arena_term(pd_arena_t *arena);
/* Keeps the first block, forgets every allocation. */
void pd_arena_reset(pd_arena_t *arena);
/* Returns new zeroed memory owned by the arena; NULL only on OOM. */
void *pd_arena_alloc(pd_arena_t *arena, size_t size);
/* Returns a new NUL-terminated copy owned by the arena (NULL stays NULL). */
char *pd_arena_strdup(pd_arena_t *arena, const char *s);
char *pd_arena_strndup(pd_arena_t *arena, const char *s, size_t len);
/* Makes room for element n of an array of *cap elements of size elem:
 * returns old when it has room, else a copy twice as large (at least 8)
 * with *cap updated; the old copy is abandoned to the arena.  NULL on
 * OOM. */
void *pd_arena_grow(pd_arena_t *arena, void *old, size_t n, size_t *cap,
                    size_t elem);
/* printf into the arena. */
char *pd_arena_printf(pd_arena_t *arena, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
