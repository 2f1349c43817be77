/* grow: doubling growth of arrays. */
#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The doubled capacity of a full array of cap items, or 0 when it would overflow. */
static size_t doubled(size_t cap, size_t size, size_t first)
{
    size_t nc = cap ? cap * 2 : (first ? first : 1);
    return nc < cap || size == 0 || nc > SIZE_MAX / size ? 0 : nc;
}

void *grow_to(void *items, size_t need, size_t *cap, size_t size, size_t first)
{
    if (need <= *cap)
        return items;
    size_t nc = *cap;
    do
        nc = doubled(nc, size, first);
    while (nc && nc < need);
    if (!nc)
        return NULL;
    void *p = realloc(items, nc * size);
    if (!p)
        return NULL;
    *cap = nc;
    return p;
}

void *grow_array(void *items, size_t n, size_t *cap, size_t size, size_t first)
{
    return n < *cap ? items : n == SIZE_MAX ? NULL : grow_to(items, n + 1, cap, size, first);
}

void *grow_ring(void *ring, size_t n, size_t *head, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return ring;
    size_t nc = doubled(*cap, size, first);
    char *p = nc ? malloc(nc * size) : NULL;
    if (!p)
        return NULL;
    if (n) {
        size_t h = *head % *cap, part = n < *cap - h ? n : *cap - h;
        memcpy(p, (const char *)ring + h * size, part * size);
        memcpy(p + part * size, ring, (n - part) * size);
    }
    free(ring);
    *head = 0;
    *cap = nc;
    return p;
}
