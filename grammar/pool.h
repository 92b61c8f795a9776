/* Internal: the bytes a wisp_context owns — a list of chunks, so that handed-out pointers never
 * move, freed at once with the context. Used by context extraction (context*.c, names.c, defs.c);
 * calls nothing else of wisp. */
#ifndef WISP_POOL_H
#define WISP_POOL_H

#include <stdbool.h>
#include <stddef.h>

#include "wisp_grammar.h"

typedef struct ctx__chunk ctx__chunk;
typedef struct ctx__pool {
    ctx__chunk *head;
    bool failed;      /* an allocation failed; the pool returns "" from then on */
} ctx__pool;
void *ctx__pool_alloc(ctx__pool *pool, size_t n);              /* 8-byte aligned; NULL on failure */
wisp_str ctx__pool_str(ctx__pool *pool, const char *s, size_t n); /* NUL-terminated copy */
void ctx__pool_free(ctx__pool *pool);

#endif
