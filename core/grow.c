/* grow: doubling growth of arrays. */
#include "core/grow.h"

#include <stdint.h>
#include <stdlib.h>

void *grow_array(void *items, size_t n, size_t *cap, size_t size, size_t first)
{
    if (n < *cap)
        return items;
    size_t nc = *cap ? *cap * 2 : (first ? first : 1);
    if (nc < *cap || size == 0 || nc > SIZE_MAX / size)
        return NULL;
    void *p = realloc(items, nc * size);
    if (!p)
        return NULL;
    *cap = nc;
    return p;
}
