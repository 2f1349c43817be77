/* grow: the one growth rule of the project's arrays: room for one more item, doubling when full (the first
 * allocation holds `first` items), with the size checked against overflow. */
#ifndef PORTIER_GROW_H
#define PORTIER_GROW_H

#include <stddef.h>

/* items holds n used of *cap items of size bytes. Returns items when n < *cap; otherwise the array reallocated
 * to twice *cap (or first when *cap is 0) with *cap updated. NULL when out of memory or the size would
 * overflow: items is then unchanged and still the caller's, and so is *cap. */
void *grow_array(void *items, size_t n, size_t *cap, size_t size, size_t first);

#endif
