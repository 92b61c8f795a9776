/* A growable array of integers. */
#include <stdio.h>
#include <stdlib.h>

typedef struct {
    int *data;
    size_t len;
    size_t cap;
} IntVec;

static int vec_push(IntVec *v, int x) {
    if (v->len == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 8;
        int *data = realloc(v->data, cap * sizeof *data);
        if (!data) return -1;
        v->data = data;
        v->cap = cap;
    }
    v->data[v->len++] = x;
    return 0;
}

static long vec_sum(const IntVec *v) {
    long sum = 0;
    for (size_t i = 0; i < v->len; i++) {
        sum += v->data[i];
    }
    return sum;
}


