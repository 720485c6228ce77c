/* Bounded two-level segregated-fit allocator (TLSF, Masmano et al. 2004) over
 * a caller-provided static block.
 *
 * Layout: a control record at the aligned start of the block (two bitmaps and
 * the heads of the free lists, sized by the block: 8 bytes + 66 bytes per
 * power of two up to the block's size, e.g. 800 bytes for 256 KiB), then a
 * contiguous chain of blocks that covers the rest exactly. Every block starts
 * with a 16-byte header (size, size of the block before, bytes requested,
 * tag, free flag, owner), so payloads are 16-byte aligned and both
 * neighbours of a block are found in O(1) for coalescing. A free block keeps
 * the offsets of the next and previous block of its list in its first 8
 * payload bytes.
 *
 * Size classes: sizes below 256 bytes in steps of 16 (first level 0); above,
 * first level f = floor(log2(size)) - 7 and 16 second-level classes of equal
 * width inside [2^(f+7), 2^(f+8)). A request looks in the class above its
 * own rounded up, where every block fits, then higher through the bitmaps
 * (two find-first-set operations); when none is left there, the first few
 * blocks of its own class are tried. Every operation takes a bounded number
 * of steps.
 *
 * Invariants (xs2s_arena_check):
 *   - no two free blocks are adjacent (free coalesces with both neighbours);
 *   - every free block is in the list of its class, and only there; a class's
 *     bitmap bit is set exactly when its list is not empty;
 *   - used/blocks/owner_used count only blocks in use, headers included.
 * A pointer handed to free/realloc is accepted only if it carries a valid
 * header (tag bound to its offset, sizes consistent with both neighbours);
 * anything else, including a double free, is ignored and changes nothing.
 *
 * Under AddressSanitizer the payload of free blocks (but their list links)
 * and the slack after the requested bytes of a block in use are poisoned.
 */
#include <stdbool.h>
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
#define ARENA_MAX_SIZE (UINT32_MAX & ~(uint32_t)(ARENA_ALIGN - 1u))
#define ARENA_TAG 0xA53Cu                       /* header tag, mixed with the offset */
#define ARENA_OWNER_ENGINE 0u
#define ARENA_SL_LOG2 4u                        /* 16 second-level classes per power of two */
#define ARENA_SL (1u << ARENA_SL_LOG2)
#define ARENA_FL_SHIFT (ARENA_SL_LOG2 + 4u)     /* sizes below 2^8 = 16 x 16: first level 0 */
#define ARENA_LINEAR (1u << ARENA_FL_SHIFT)
#define ARENA_FL_MAX 25u                        /* first levels for 4 GiB */
#define ARENA_SCAN 4u                           /* blocks of the request's own class tried last */
#define ARENA_NIL 0u                            /* list end: offset 0 is the control record */

struct arena_hdr {
	uint32_t size;   /* whole block, header included, multiple of ARENA_ALIGN */
	uint32_t prev;   /* size of the block before, 0 for the first block */
	uint32_t req;    /* bytes requested by the caller, 0 when free */
	uint16_t tag;    /* arena_tag(offset): marks a real header */
	uint8_t free;    /* non-zero when the block is free */
	uint8_t owner;   /* owner charged for the block */
};

/* A free block's list links, at the start of its payload. */
struct arena_links {
	uint32_t next, prev; /* offsets of the neighbours in the class list, ARENA_NIL at the ends */
};

/* The control record: nfl first levels, their bitmaps, then nfl x ARENA_SL
 * list heads (uint32_t offsets) right after it. */
struct arena_ctl {
	uint32_t fl_map;           /* bit f: some list of first level f is not empty */
	uint16_t nfl;              /* first levels this block needs */
	uint16_t first;            /* offset of the first block (the control record's size) */
	uint16_t sl_map[ARENA_FL_MAX]; /* bit s of [f]: list (f, s) is not empty */
};

#define ARENA_HDR ((uint32_t)sizeof(struct arena_hdr))
/* Smallest block: a header and room for the list links, aligned. */
#define ARENA_MIN_BLOCK (ARENA_HDR + ARENA_ALIGN)

_Static_assert(sizeof(struct arena_hdr) == ARENA_ALIGN, "header must keep payloads aligned");
_Static_assert(sizeof(struct arena_links) <= ARENA_ALIGN, "list links fit the smallest payload");
_Static_assert(XS2S_ARENA_OWNERS <= UINT8_MAX + 1, "owner index must fit the header");
_Static_assert(ARENA_LINEAR == ARENA_SL * ARENA_ALIGN, "first level 0 holds 16-byte steps");

static uint16_t arena_tag(uint32_t off)
{
	return (uint16_t)(ARENA_TAG ^ (off / ARENA_ALIGN));
}

static unsigned arena_log2(uint32_t x)
{
	return 31u - (unsigned)__builtin_clz(x);
}

static struct arena_ctl *arena_ctl(const struct xs2s_arena *a)
{
	return (struct arena_ctl *)(void *)a->base;
}

static uint32_t *arena_heads(const struct xs2s_arena *a)
{
	return (uint32_t *)(void *)(a->base + sizeof(struct arena_ctl));
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

static struct arena_links *arena_links(struct arena_hdr *h)
{
	return (struct arena_links *)(void *)arena_payload(h);
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

/* The class of a block of size bytes. */
static void arena_class(uint32_t size, unsigned *fl, unsigned *sl)
{
	unsigned f;

	if (size < ARENA_LINEAR) {
		*fl = 0;
		*sl = size / ARENA_ALIGN;
		return;
	}
	f = arena_log2(size);
	*fl = f - (ARENA_FL_SHIFT - 1u);
	*sl = (size >> (f - ARENA_SL_LOG2)) - ARENA_SL;
}

/* The smallest class whose every block holds size bytes. */
static void arena_class_up(uint32_t size, unsigned *fl, unsigned *sl)
{
	if (size >= ARENA_LINEAR) {
		uint32_t round = (1u << (arena_log2(size) - ARENA_SL_LOG2)) - 1u;

		size = size > UINT32_MAX - round ? UINT32_MAX : size + round;
	}
	arena_class(size, fl, sl);
}

static uint32_t *arena_head(const struct xs2s_arena *a, unsigned fl, unsigned sl)
{
	return &arena_heads(a)[fl * ARENA_SL + sl];
}

/* Put free block h into its class list (its links become addressable, the
 * rest of its payload is poisoned). */
static void arena_list_add(struct xs2s_arena *a, struct arena_hdr *h)
{
	struct arena_ctl *c = arena_ctl(a);
	uint32_t off = arena_off(a, h), *head;
	struct arena_links *ln = arena_links(h);
	unsigned fl, sl;

	arena_class(h->size, &fl, &sl);
	head = arena_head(a, fl, sl);
	ARENA_UNPOISON(ln, sizeof *ln);
	ARENA_POISON(arena_payload(h) + sizeof *ln, h->size - ARENA_HDR - sizeof *ln);
	ln->prev = ARENA_NIL;
	ln->next = *head;
	if (*head != ARENA_NIL)
		arena_links(arena_at(a, *head))->prev = off;
	*head = off;
	c->sl_map[fl] |= (uint16_t)(1u << sl);
	c->fl_map |= 1u << fl;
}

static void arena_list_remove(struct xs2s_arena *a, struct arena_hdr *h)
{
	struct arena_ctl *c = arena_ctl(a);
	struct arena_links *ln = arena_links(h);
	unsigned fl, sl;

	arena_class(h->size, &fl, &sl);
	if (ln->prev != ARENA_NIL)
		arena_links(arena_at(a, ln->prev))->next = ln->next;
	else
		*arena_head(a, fl, sl) = ln->next;
	if (ln->next != ARENA_NIL)
		arena_links(arena_at(a, ln->next))->prev = ln->prev;
	if (*arena_head(a, fl, sl) == ARENA_NIL) {
		c->sl_map[fl] &= (uint16_t)~(1u << sl);
		if (!c->sl_map[fl])
			c->fl_map &= ~(1u << fl);
	}
}

/* A free block of at least need bytes, taken off its list; NULL if none. */
static struct arena_hdr *arena_find(struct xs2s_arena *a, uint32_t need)
{
	const struct arena_ctl *c = arena_ctl(a);
	unsigned fl, sl, i;
	uint32_t map, off;
	struct arena_hdr *h;

	arena_class_up(need, &fl, &sl);
	if (fl < c->nfl) {
		map = c->sl_map[fl] & (uint32_t)(~0u << sl);
		if (!map) {
			map = fl + 1u < 32u ? c->fl_map & (~0u << (fl + 1u)) : 0;
			if (map) {
				fl = (unsigned)__builtin_ctz(map);
				map = c->sl_map[fl];
			}
		}
		if (map) {
			sl = (unsigned)__builtin_ctz(map);
			h = arena_at(a, *arena_head(a, fl, sl));
			arena_list_remove(a, h);
			return h;
		}
	}
	/* Nothing in the classes above: the first blocks of its own class. */
	arena_class(need, &fl, &sl);
	if (fl >= c->nfl)
		return NULL;
	for (off = *arena_head(a, fl, sl), i = 0; off != ARENA_NIL && i < ARENA_SCAN; i++) {
		h = arena_at(a, off);
		if (h->size >= need) {
			arena_list_remove(a, h);
			return h;
		}
		off = arena_links(h)->next;
	}
	return NULL;
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

/* Forget a header (and list links) that became payload of a merged block. */
static void arena_kill(struct arena_hdr *h)
{
	h->tag = 0;
	ARENA_POISON(h, ARENA_HDR + sizeof(struct arena_links));
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

static uint32_t arena_first(const struct xs2s_arena *a)
{
	return arena_ctl(a)->first;
}

/* Block size for a request of n bytes, 0 when it can never fit. */
static uint32_t arena_need(const struct xs2s_arena *a, size_t n)
{
	if (n == 0 || !a->size || n > a->size - arena_first(a) - ARENA_HDR)
		return 0;
	n = (n + ARENA_HDR + ARENA_ALIGN - 1u) & ~(size_t)(ARENA_ALIGN - 1u);
	return n < ARENA_MIN_BLOCK ? ARENA_MIN_BLOCK : (uint32_t)n;
}

/* Poison what lies after the requested bytes of a block in use. */
static void arena_poison_slack(struct arena_hdr *h)
{
	ARENA_POISON(arena_payload(h) + h->req, h->size - ARENA_HDR - h->req);
}

/* Non-zero when off may hold a header: aligned, inside, not poisoned. */
static int arena_header_at(const struct xs2s_arena *a, uint32_t off)
{
	return off >= arena_first(a) && off % ARENA_ALIGN == 0 && off <= a->size - ARENA_MIN_BLOCK &&
	       !ARENA_POISONED(a->base + off, ARENA_HDR);
}

/* Header of the block in use whose payload is p, or NULL if p is not one. */
static struct arena_hdr *arena_lookup(const struct xs2s_arena *a, const void *p)
{
	const uint8_t *q = p;
	struct arena_hdr *h, *n, *pv;
	uint32_t off;

	if (!xs2s_arena_owns(a, p) || (size_t)(q - a->base) < (size_t)arena_first(a) + ARENA_HDR)
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
		if (h->prev > off - arena_first(a) || !arena_header_at(a, off - h->prev))
			return NULL;
		pv = arena_prev(a, h);
		if (pv->size != h->prev || pv->tag != arena_tag(off - h->prev))
			return NULL;
	} else if (off != arena_first(a)) {
		return NULL;
	}
	return h;
}

/* Cut h (in use, off every list) down to size bytes when the rest makes a
 * block; the rest becomes free, merged with a free block after it. */
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
		arena_list_remove(a, n);
		r->size += n->size;
		arena_kill(n);
	}
	arena_link_next(a, r);
	arena_list_add(a, r);
}

void xs2s_arena_init(struct xs2s_arena *a, void *mem, size_t size, const char *name)
{
	uintptr_t addr = (uintptr_t)mem;
	size_t skip = (size_t)(-addr & (ARENA_ALIGN - 1u));
	struct arena_ctl *c;
	unsigned nfl;
	uint32_t first;

	memset(a, 0, sizeof(*a));
	a->name = name;
	a->base = mem;
	if (!mem || size < skip + sizeof(struct arena_ctl) + ARENA_MIN_BLOCK)
		return; /* too small: every request fails */
	size -= skip;
	if (size > ARENA_MAX_SIZE)
		size = ARENA_MAX_SIZE;
	size &= ~(size_t)(ARENA_ALIGN - 1u);
	nfl = size < ARENA_LINEAR ? 1u : arena_log2((uint32_t)size) - (ARENA_FL_SHIFT - 1u) + 1u;
	first = (uint32_t)((sizeof(struct arena_ctl) + nfl * ARENA_SL * sizeof(uint32_t) + ARENA_ALIGN - 1u) &
			   ~(size_t)(ARENA_ALIGN - 1u));
	if (size < first + ARENA_MIN_BLOCK)
		return;
	a->base = (uint8_t *)mem + skip;
	a->size = size;
	ARENA_UNPOISON(a->base, size);
	memset(a->base, 0, first);
	c = arena_ctl(a);
	c->nfl = (uint16_t)nfl;
	c->first = (uint16_t)first;
	arena_list_add(a, arena_put(a, first, (uint32_t)size - first, 0));
}

void *xs2s_arena_alloc(struct xs2s_arena *a, size_t n)
{
	uint32_t need = arena_need(a, n);
	struct arena_hdr *h;
	uint8_t owner = a->owner < XS2S_ARENA_OWNERS ? a->owner : ARENA_OWNER_ENGINE;

	if (n == 0)
		return NULL;
	h = need ? arena_find(a, need) : NULL;
	if (!h) {
		a->fails++;
		return NULL;
	}
	h->free = 0;
	arena_split(a, h, need);
	h->owner = owner;
	h->req = (uint32_t)n;
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
		arena_list_remove(a, n);
		h->size += n->size;
		arena_kill(n);
	}
	pv = arena_prev(a, h);
	if (pv && pv->free) {
		arena_list_remove(a, pv);
		pv->size += h->size;
		arena_kill(h);
		h = pv;
	}
	arena_link_next(a, h);
	arena_list_add(a, h);
}

/* Grow h in place by taking (part of) the free block after it. */
static int arena_grow(struct xs2s_arena *a, struct arena_hdr *h, uint32_t need)
{
	struct arena_hdr *n = arena_next(a, h);
	uint32_t old = h->size;

	if (!n || !n->free || (uint64_t)h->size + n->size < need)
		return 0;
	arena_list_remove(a, n);
	h->size += n->size;
	arena_kill(n);
	arena_link_next(a, h);
	arena_split(a, h, need);
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

	return a->base && a->size && q >= a->base && q < a->base + a->size;
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

size_t xs2s_arena_largest_free(const struct xs2s_arena *a)
{
	uint32_t off, best = 0;

	if (!a->size)
		return 0;
	for (off = arena_first(a); off < a->size; off += arena_at(a, off)->size) {
		const struct arena_hdr *h = arena_at(a, off);

		if (h->free && h->size > best)
			best = h->size;
	}
	return best > ARENA_HDR ? best - ARENA_HDR : 0;
}

int xs2s_arena_check(const struct xs2s_arena *a)
{
	const struct arena_ctl *c;
	uint32_t off, prev = 0, nfree = 0, blocks = 0, inlists = 0;
	size_t used = 0, owners = 0;
	bool last_free = false;
	unsigned fl, sl, i;

	if (!a->size)
		return a->used || a->blocks ? -1 : 0;
	c = arena_ctl(a);
	for (off = arena_first(a); off < a->size; off += arena_at(a, off)->size) {
		const struct arena_hdr *h = arena_at(a, off);

		if (h->tag != arena_tag(off) || h->size < ARENA_MIN_BLOCK || h->size % ARENA_ALIGN ||
		    h->size > a->size - off || h->prev != prev)
			return -2; /* a broken header or chain */
		if (h->free && last_free)
			return -3; /* two free neighbours */
		if (h->free) {
			nfree++;
		} else {
			if (!h->req || h->req > h->size - ARENA_HDR || h->owner >= XS2S_ARENA_OWNERS)
				return -4;
			blocks++;
			used += h->size;
		}
		last_free = h->free;
		prev = h->size;
	}
	if (off != a->size)
		return -5; /* the chain does not end at the end */
	if (used != a->used || blocks != a->blocks)
		return -6;
	for (i = 0; i < XS2S_ARENA_OWNERS; i++)
		owners += a->owner_used[i];
	if (owners != a->used)
		return -7;
	for (fl = 0; fl < ARENA_FL_MAX; fl++) {
		if (fl >= c->nfl) {
			if (c->sl_map[fl] || (c->fl_map >> fl & 1u))
				return -8;
			continue;
		}
		if (!!c->sl_map[fl] != (c->fl_map >> fl & 1u))
			return -8; /* first-level bit without second-level bits, or the reverse */
		for (sl = 0; sl < ARENA_SL; sl++) {
			uint32_t p = ARENA_NIL, o = *arena_head(a, fl, sl);

			if ((o != ARENA_NIL) != (c->sl_map[fl] >> sl & 1u))
				return -9;
			for (; o != ARENA_NIL; o = arena_links(arena_at(a, o))->next) {
				struct arena_hdr *h = arena_at(a, o);
				unsigned f2, s2;

				if (o < arena_first(a) || o >= a->size || !h->free || h->tag != arena_tag(o) ||
				    arena_links(h)->prev != p || ++inlists > nfree)
					return -10; /* a list entry that is not a free block, or a loop */
				arena_class(h->size, &f2, &s2);
				if (f2 != fl || s2 != sl)
					return -11; /* in the wrong class */
				p = o;
			}
		}
	}
	return inlists == nfree ? 0 : -12; /* a free block on no list */
}
