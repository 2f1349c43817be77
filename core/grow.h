/* grow: the one growth rule of the project's arrays and ring queues: room for one more item, doubling when full
 * (the first allocation holds `first` items), with the size checked against overflow. */
#ifndef PORTIER_GROW_H
#define PORTIER_GROW_H

#include <stddef.h>

/* items holds n used of *cap items of size bytes. Returns items when n < *cap; otherwise the array reallocated
 * to twice *cap (or first when *cap is 0) with *cap updated. NULL when out of memory or the size would
 * overflow: items is then unchanged and still the caller's, and so is *cap. */
void *grow_array(void *items, size_t n, size_t *cap, size_t size, size_t first);

/* The same rule for room for need items at once (a buffer that takes a run of bytes): items when need <= *cap;
 * otherwise reallocated to the first capacity of first, 2 * first, ... (or *cap doubled, and again) that holds
 * need, with *cap updated. NULL when out of memory or the size would overflow: items and *cap unchanged. */
void *grow_to(void *items, size_t need, size_t *cap, size_t size, size_t first);

/* The same rule for a ring (a queue read at *head, wrapping at *cap) holding n items: ring when n < *cap;
 * otherwise a new array of twice *cap (or first) holding the n items in order from index 0, *head 0 and *cap
 * updated, and ring freed. NULL when out of memory or the size would overflow: ring, *head and *cap unchanged. */
void *grow_ring(void *ring, size_t n, size_t *head, size_t *cap, size_t size, size_t first);

#endif
