/* Today's first-fit arena, kept as the reference the benchmark measures the
 * O(1) arena against (test/bench/arena_bench.c). It is the engine's allocator
 * as it was before the two-level segregated fit (firmware/lib/arena.c), with
 * its functions renamed ff_arena_*: never linked into the engine. */
#define xs2s_arena_init ff_arena_init
#define xs2s_arena_alloc ff_arena_alloc
#define xs2s_arena_calloc ff_arena_calloc
#define xs2s_arena_realloc ff_arena_realloc
#define xs2s_arena_free ff_arena_free
#define xs2s_arena_owns ff_arena_owns
#define xs2s_arena_set_owner ff_arena_set_owner
#define xs2s_arena_reset_owner_high ff_arena_reset_owner_high
#define xs2s_arena_forget ff_arena_forget
#define xs2s_arena_check ff_arena_check
#define xs2s_arena_largest_free ff_arena_largest_free
/* Bounded first-fit allocator over a caller-provided static block.
 *
 * Layout: a 16-byte control record (the search rover) at the aligned start of
 * the block, then a contiguous chain of blocks that covers the rest exactly.
 * Every block starts with a 16-byte header (size, size of the block before,
 * bytes requested, tag, free flag, owner), so payloads are 16-byte aligned and
 * both neighbours of a block are found in O(1) for coalescing.
 *
 * Invariants:
 *   - no two free blocks are adjacent (free coalesces with both neighbours);
 *   - every block before the rover is in use (first fit starts there);
 *   - used/blocks/owner_used count only blocks in use, headers included.
 * A pointer handed to free/realloc is accepted only if it carries a valid
 * header (tag bound to its offset, sizes consistent with both neighbours);
 * anything else, including a double free, is ignored and changes nothing.
 *
 * Under AddressSanitizer the payload of free blocks and the slack after the
 * requested bytes of a block in use are poisoned.
 */
#include <string.h>
#include "lib/arena.h"

#if defined(__SANITIZE_ADDRESS__)
#define ARENA_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ARENA_ASAN 1
#endif
#endif

#ifdef ARENA_ASAN
#include <sanitizer/asan_interface.h>
#define ARENA_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define ARENA_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#define ARENA_POISONED(p, n) (__asan_region_is_poisoned((void *)(p), (n)) != NULL)
#else
#define ARENA_POISON(p, n) ((void)(p), (void)(n))
#define ARENA_UNPOISON(p, n) ((void)(p), (void)(n))
#define ARENA_POISONED(p, n) ((void)(p), (void)(n), 0)
#endif

#define ARENA_ALIGN 16u                         /* payload and block alignment */
#define ARENA_CTL ARENA_ALIGN                   /* control record before the first block */
#define ARENA_MAX_SIZE (UINT32_MAX & ~(uint32_t)(ARENA_ALIGN - 1u))
#define ARENA_TAG 0xA53Cu                       /* header tag, mixed with the offset */
#define ARENA_OWNER_ENGINE 0u

struct arena_hdr {
	uint32_t size;   /* whole block, header included, multiple of ARENA_ALIGN */
	uint32_t prev;   /* size of the block before, 0 for the first block */
	uint32_t req;    /* bytes requested by the caller, 0 when free */
	uint16_t tag;    /* arena_tag(offset): marks a real header */
	uint8_t free;    /* non-zero when the block is free */
	uint8_t owner;   /* owner charged for the block */
};

struct arena_ctl {
	uint32_t rover;  /* offset of the first block that may be free */
	uint32_t pad[3];
};

#define ARENA_HDR ((uint32_t)sizeof(struct arena_hdr))
/* Smallest remainder worth splitting off as a free block of its own. */
#define ARENA_MIN_BLOCK (ARENA_HDR + ARENA_ALIGN)

_Static_assert(sizeof(struct arena_hdr) == ARENA_ALIGN, "header must keep payloads aligned");
_Static_assert(sizeof(struct arena_ctl) == ARENA_CTL, "control record size");
_Static_assert(XS2S_ARENA_OWNERS <= UINT8_MAX + 1, "owner index must fit the header");

static uint16_t arena_tag(uint32_t off)
{
	return (uint16_t)(ARENA_TAG ^ (off / ARENA_ALIGN));
}

static struct arena_ctl *arena_ctl(const struct xs2s_arena *a)
{
	return (struct arena_ctl *)(void *)a->base;
}

static struct arena_hdr *arena_at(const struct xs2s_arena *a, uint32_t off)
{
	return (struct arena_hdr *)(void *)(a->base + off);
}

static uint32_t arena_off(const struct xs2s_arena *a, const struct arena_hdr *h)
{
	return (uint32_t)((const uint8_t *)h - a->base);
}

static uint8_t *arena_payload(struct arena_hdr *h)
{
	return (uint8_t *)h + ARENA_HDR;
}

/* Block after h, or NULL when h is the last one. */
static struct arena_hdr *arena_next(const struct xs2s_arena *a, const struct arena_hdr *h)
{
	uint32_t off = arena_off(a, h) + h->size;

	return off < a->size ? arena_at(a, off) : NULL;
}

static struct arena_hdr *arena_prev(const struct xs2s_arena *a, const struct arena_hdr *h)
{
	return h->prev ? arena_at(a, arena_off(a, h) - h->prev) : NULL;
}

/* Write a header at off (the bytes may be poisoned payload until now). */
static struct arena_hdr *arena_put(struct xs2s_arena *a, uint32_t off, uint32_t size, uint32_t prev)
{
	struct arena_hdr *h = arena_at(a, off);

	ARENA_UNPOISON(h, ARENA_HDR);
	h->size = size;
	h->prev = prev;
	h->req = 0;
	h->tag = arena_tag(off);
	h->free = 1;
	h->owner = ARENA_OWNER_ENGINE;
	return h;
}

/* Tell the block after h that h is now size bytes long. */
static void arena_link_next(struct xs2s_arena *a, struct arena_hdr *h)
{
	struct arena_hdr *n = arena_next(a, h);

	if (n)
		n->prev = h->size;
}

/* Forget a header that became payload of a merged block, then poison it. */
static void arena_kill(struct arena_hdr *h)
{
	h->tag = 0;
	ARENA_POISON(h, ARENA_HDR);
}

static void arena_lower_rover(struct xs2s_arena *a, uint32_t off)
{
	struct arena_ctl *c = arena_ctl(a);

	if (off < c->rover)
		c->rover = off;
}

static void arena_charge(struct xs2s_arena *a, uint8_t owner, size_t bytes)
{
	a->used += bytes;
	if (a->used > a->high)
		a->high = a->used;
	a->owner_used[owner] += bytes;
	if (a->owner_used[owner] > a->owner_high[owner])
		a->owner_high[owner] = a->owner_used[owner];
}

static void arena_uncharge(struct xs2s_arena *a, uint8_t owner, size_t bytes)
{
	a->used -= bytes;
	a->owner_used[owner] -= bytes;
}

/* Block size for a request of n bytes, 0 when it can never fit. */
static uint32_t arena_need(const struct xs2s_arena *a, size_t n)
{
	if (n == 0 || a->size < ARENA_CTL + ARENA_MIN_BLOCK ||
	    n > a->size - ARENA_CTL - ARENA_HDR)
		return 0;
	return (uint32_t)((n + ARENA_HDR + ARENA_ALIGN - 1u) & ~(size_t)(ARENA_ALIGN - 1u));
}

/* Poison what lies after the requested bytes of a block in use. */
static void arena_poison_slack(struct arena_hdr *h)
{
	ARENA_POISON(arena_payload(h) + h->req, h->size - ARENA_HDR - h->req);
}

/* Non-zero when off may hold a header: aligned, inside, not poisoned. */
static int arena_header_at(const struct xs2s_arena *a, uint32_t off)
{
	return off >= ARENA_CTL && off % ARENA_ALIGN == 0 && off <= a->size - ARENA_MIN_BLOCK &&
	       !ARENA_POISONED(a->base + off, ARENA_HDR);
}

/* Header of the block in use whose payload is p, or NULL if p is not one. */
static struct arena_hdr *arena_lookup(const struct xs2s_arena *a, const void *p)
{
	const uint8_t *q = p;
	struct arena_hdr *h, *n, *pv;
	uint32_t off;

	if (!xs2s_arena_owns(a, p) || (size_t)(q - a->base) < ARENA_CTL + ARENA_HDR)
		return NULL;
	off = (uint32_t)(q - a->base) - ARENA_HDR;
	if (!arena_header_at(a, off))
		return NULL;
	h = arena_at(a, off);
	if (h->tag != arena_tag(off) || h->free || h->size < ARENA_MIN_BLOCK ||
	    h->size % ARENA_ALIGN || h->size > a->size - off || h->req == 0 ||
	    h->req > h->size - ARENA_HDR || h->owner >= XS2S_ARENA_OWNERS)
		return NULL;
	if (off + h->size < a->size) {
		if (!arena_header_at(a, off + h->size))
			return NULL;
		n = arena_next(a, h);
		if (n->prev != h->size)
			return NULL;
	}
	if (h->prev) {
		if (h->prev > off - ARENA_CTL || !arena_header_at(a, off - h->prev))
			return NULL;
		pv = arena_prev(a, h);
		if (pv->size != h->prev || pv->tag != arena_tag(off - h->prev))
			return NULL;
	} else if (off != ARENA_CTL) {
		return NULL;
	}
	return h;
}

/* Cut h (free or in use) down to size bytes when the rest makes a block;
 * the rest becomes free and merges with a free block after it. */
static void arena_split(struct xs2s_arena *a, struct arena_hdr *h, uint32_t size)
{
	uint32_t off = arena_off(a, h);
	uint32_t rest = h->size - size;
	struct arena_hdr *r, *n;

	if (rest < ARENA_MIN_BLOCK)
		return;
	n = arena_next(a, h);
	h->size = size;
	r = arena_put(a, off + size, rest, size);
	if (n && n->free) {
		r->size += n->size;
		arena_kill(n);
	}
	arena_link_next(a, r);
	ARENA_POISON(arena_payload(r), r->size - ARENA_HDR);
	arena_lower_rover(a, off + size);
}

void xs2s_arena_init(struct xs2s_arena *a, void *mem, size_t size, const char *name)
{
	uintptr_t addr = (uintptr_t)mem;
	size_t skip = (size_t)(-addr & (ARENA_ALIGN - 1u));

	memset(a, 0, sizeof(*a));
	a->name = name;
	a->base = mem;
	if (!mem || size < skip + ARENA_CTL + ARENA_MIN_BLOCK)
		return; /* too small: every request fails */
	size -= skip;
	if (size > ARENA_MAX_SIZE)
		size = ARENA_MAX_SIZE;
	size &= ~(size_t)(ARENA_ALIGN - 1u);
	a->base = (uint8_t *)mem + skip;
	a->size = size;
	ARENA_UNPOISON(a->base, size);
	memset(arena_ctl(a), 0, sizeof(struct arena_ctl));
	arena_ctl(a)->rover = ARENA_CTL;
	arena_put(a, ARENA_CTL, (uint32_t)size - ARENA_CTL, 0);
	ARENA_POISON(a->base + ARENA_CTL + ARENA_HDR, size - ARENA_CTL - ARENA_HDR);
}

void *xs2s_arena_alloc(struct xs2s_arena *a, size_t n)
{
	uint32_t need = arena_need(a, n);
	uint32_t off, first_free = 0;
	struct arena_ctl *c;
	struct arena_hdr *h = NULL;
	uint8_t owner = a->owner < XS2S_ARENA_OWNERS ? a->owner : ARENA_OWNER_ENGINE;

	if (n == 0)
		return NULL;
	if (need == 0) {
		a->fails++;
		return NULL;
	}
	c = arena_ctl(a);
	for (off = c->rover; off < a->size; off += h->size) {
		h = arena_at(a, off);
		if (!h->free)
			continue;
		if (!first_free)
			first_free = off;
		if (h->size >= need)
			break;
	}
	if (off >= a->size) {
		c->rover = first_free ? first_free : (uint32_t)a->size;
		a->fails++;
		return NULL;
	}
	arena_split(a, h, need);
	h->free = 0;
	h->owner = owner;
	h->req = (uint32_t)n;
	c->rover = off == first_free ? off + h->size : first_free;
	ARENA_UNPOISON(arena_payload(h), n);
	arena_poison_slack(h);
	a->blocks++;
	arena_charge(a, owner, h->size);
	return arena_payload(h);
}

void *xs2s_arena_calloc(struct xs2s_arena *a, size_t n, size_t m)
{
	void *p;

	if (m && n > SIZE_MAX / m) {
		a->fails++;
		return NULL;
	}
	p = xs2s_arena_alloc(a, n * m);
	if (p)
		memset(p, 0, n * m);
	return p;
}

void xs2s_arena_free(struct xs2s_arena *a, void *p)
{
	struct arena_hdr *h, *n, *pv;

	if (!p)
		return;
	h = arena_lookup(a, p);
	if (!h)
		return; /* not a live block of this arena: leave everything alone */
	arena_uncharge(a, h->owner, h->size);
	a->blocks--;
	h->free = 1;
	h->req = 0;
	h->owner = ARENA_OWNER_ENGINE;
	n = arena_next(a, h);
	if (n && n->free) {
		h->size += n->size;
		arena_kill(n);
	}
	pv = arena_prev(a, h);
	if (pv && pv->free) {
		pv->size += h->size;
		arena_kill(h);
		h = pv;
	}
	arena_link_next(a, h);
	ARENA_POISON(arena_payload(h), h->size - ARENA_HDR);
	arena_lower_rover(a, arena_off(a, h));
}

/* Grow h in place by taking (part of) the free block after it. */
static int arena_grow(struct xs2s_arena *a, struct arena_hdr *h, uint32_t need)
{
	struct arena_hdr *n = arena_next(a, h);
	struct arena_ctl *c = arena_ctl(a);
	uint32_t old = h->size;
	uint32_t noff;

	if (!n || !n->free || (uint64_t)h->size + n->size < need)
		return 0;
	noff = arena_off(a, n);
	h->size += n->size;
	arena_kill(n);
	arena_link_next(a, h);
	arena_split(a, h, need);
	if (c->rover == noff)
		c->rover = arena_off(a, h) + h->size;
	arena_charge(a, h->owner, h->size - old);
	return 1;
}

void *xs2s_arena_realloc(struct xs2s_arena *a, void *p, size_t n)
{
	struct arena_hdr *h;
	uint32_t need, old;
	uint8_t prev_owner;
	void *q;

	if (!p)
		return xs2s_arena_alloc(a, n);
	if (n == 0) {
		xs2s_arena_free(a, p);
		return NULL;
	}
	h = arena_lookup(a, p);
	if (!h)
		return NULL;
	need = arena_need(a, n);
	if (need == 0) {
		a->fails++;
		return NULL;
	}
	old = h->size;
	if (need <= h->size || arena_grow(a, h, need)) {
		arena_split(a, h, need);
		if (h->size < old)
			arena_uncharge(a, h->owner, old - h->size);
		ARENA_UNPOISON(arena_payload(h), n);
		h->req = (uint32_t)n;
		arena_poison_slack(h);
		return p;
	}
	/* Move: the new block stays charged to the owner of the old one. */
	prev_owner = xs2s_arena_set_owner(a, h->owner);
	q = xs2s_arena_alloc(a, n);
	xs2s_arena_set_owner(a, prev_owner);
	if (!q)
		return NULL;
	memcpy(q, p, h->req < n ? h->req : n);
	xs2s_arena_free(a, p);
	return q;
}

int xs2s_arena_owns(const struct xs2s_arena *a, const void *p)
{
	const uint8_t *q = p;

	return a->base && q >= a->base && q < a->base + a->size;
}

uint8_t xs2s_arena_set_owner(struct xs2s_arena *a, uint8_t owner)
{
	uint8_t prev = a->owner;

	a->owner = owner < XS2S_ARENA_OWNERS ? owner : ARENA_OWNER_ENGINE;
	return prev;
}

void xs2s_arena_reset_owner_high(struct xs2s_arena *a, uint8_t owner)
{
	if (owner < XS2S_ARENA_OWNERS)
		a->owner_high[owner] = a->owner_used[owner];
}

void xs2s_arena_forget(void *mem, size_t n)
{
	ARENA_UNPOISON(mem, n);
}

/* For the benchmark's fragmentation figure: the largest free payload, by a
 * walk over every block (the first fit keeps no index of free blocks). */
size_t xs2s_arena_largest_free(const struct xs2s_arena *a)
{
	size_t best = 0;

	if (!a->size)
		return 0;
	for (const struct arena_hdr *h = arena_at(a, ARENA_CTL); h; h = arena_next(a, h))
		if (h->free && h->size - ARENA_HDR > best)
			best = h->size - ARENA_HDR;
	return best;
}
