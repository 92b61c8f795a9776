/* The context's memory pool (pool.h). */
#include "pool.h"

#include <stdlib.h>
#include <string.h>

struct ctx__chunk {
    ctx__chunk *next;
    size_t used, cap;
    _Alignas(8) char data[];
};

void *ctx__pool_alloc(ctx__pool *pool, size_t n) {
    n = (n + 7) & ~(size_t)7;
    ctx__chunk *c = pool->head;
    if (!c || c->cap - c->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        c = malloc(sizeof *c + cap);
        if (!c) {
            pool->failed = true;
            return NULL;
        }
        c->used = 0;
        c->cap = cap;
        c->next = pool->head;
        pool->head = c;
    }
    void *p = c->data + c->used;
    c->used += n;
    return p;
}

wisp_str ctx__pool_str(ctx__pool *pool, const char *s, size_t n) {
    char *p = ctx__pool_alloc(pool, n + 1);
    if (!p) return (wisp_str){"", 0};
    if (n) memcpy(p, s, n);
    p[n] = '\0';
    return (wisp_str){p, n};
}

void ctx__pool_free(ctx__pool *pool) {
    for (ctx__chunk *c = pool->head, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    pool->head = NULL;
}
