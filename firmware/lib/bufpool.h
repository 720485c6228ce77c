/* A pool of equal fixed-size buffers over caller storage: taken and given
 * back in O(1) (a bitmap of at most 64 buffers), with use, high-water mark
 * and the number of requests that found none free.
 *
 * Who calls: the link layer (link/bufs.c: the buffers links borrow). Owns
 * nothing: the storage is the caller's and outlives the pool. Not
 * thread-safe: the engine is single-threaded.
 */
#ifndef XS2S_BUFPOOL_H
#define XS2S_BUFPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS2S_BUFPOOL_MAX 64

struct xs2s_bufpool {
	uint8_t *mem;        /* n buffers of size bytes, one after the other */
	size_t size;         /* bytes per buffer */
	uint8_t n;           /* buffers */
	uint8_t used, high;  /* taken now, most taken at once */
	uint32_t waits;      /* requests that found none free */
	uint64_t busy;       /* bit i: buffer i is taken */
};

/* n (<= XS2S_BUFPOOL_MAX) buffers of size bytes at mem. */
void xs2s_bufpool_init(struct xs2s_bufpool *p, void *mem, size_t size, unsigned n);
/* A free buffer, or NULL (counted in waits) when all are taken. */
void *xs2s_bufpool_get(struct xs2s_bufpool *p);
/* Give back b, which MUST have come from p; NULL is ignored. */
void xs2s_bufpool_put(struct xs2s_bufpool *p, void *b);
static inline unsigned xs2s_bufpool_free(const struct xs2s_bufpool *p) { return (unsigned)(p->n - p->used); }

#endif
