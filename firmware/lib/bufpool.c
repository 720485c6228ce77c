/* Fixed-size buffer pool; see bufpool.h. */
#include "lib/bufpool.h"

void xs2s_bufpool_init(struct xs2s_bufpool *p, void *mem, size_t size, unsigned n)
{
	p->mem = mem;
	p->size = size;
	p->n = (uint8_t)(n < XS2S_BUFPOOL_MAX ? n : XS2S_BUFPOOL_MAX);
	p->used = p->high = 0;
	p->waits = 0;
	p->busy = 0;
}

void *xs2s_bufpool_get(struct xs2s_bufpool *p)
{
	unsigned i;

	if (p->used >= p->n) {
		p->waits++;
		return NULL;
	}
	i = (unsigned)__builtin_ctzll(~p->busy);
	p->busy |= 1ull << i;
	if (++p->used > p->high)
		p->high = p->used;
	return p->mem + i * p->size;
}

void xs2s_bufpool_put(struct xs2s_bufpool *p, void *b)
{
	size_t i;

	if (!b)
		return;
	i = (size_t)((uint8_t *)b - p->mem) / p->size;
	if (i >= p->n || !(p->busy >> i & 1u))
		return; /* not one of ours, or given back twice */
	p->busy &= ~(1ull << i);
	p->used--;
}
