/* Bounded allocator over a static block: the only heap Mini-XML and wolfSSL
 * ever see. Two-level segregated fit (TLSF): free blocks sit in lists by size
 * class (a power of two split into 16), found through two bitmaps, so that
 * alloc, free and realloc take a bounded number of steps whatever the number
 * of blocks; neighbours coalesce at once; 16-byte alignment. A request is
 * served from a class whose every block fits it ("good fit"): the block
 * handed out is at most 1/16 larger than asked (plus the header and the
 * alignment), the remainder is split off.
 *
 * Every block records its owner (a link slot + 1, or 0 for the engine), so use
 * and high-water marks are reported per owner as well as in total. A request
 * that does not fit returns NULL and counts a failure; the caller fails only
 * the link that asked. Not thread-safe: the engine is single-threaded.
 */
#ifndef XS2S_ARENA_H
#define XS2S_ARENA_H

#include <stddef.h>
#include <stdint.h>

#ifndef XS2S_ARENA_OWNERS
#define XS2S_ARENA_OWNERS (CONFIG_XS2S_MAX_LINKS + 1)
#endif

struct xs2s_arena {
	const char *name;                       /* for logs and status */
	uint8_t *base;                          /* the static block */
	size_t size;                            /* its size in bytes */
	size_t used;                            /* bytes in use, headers included */
	size_t high;                            /* high-water mark of used */
	uint32_t blocks;                        /* live allocations */
	uint32_t fails;                         /* refused requests */
	uint8_t owner;                          /* owner charged for new blocks */
	size_t owner_used[XS2S_ARENA_OWNERS];   /* bytes in use per owner */
	size_t owner_high[XS2S_ARENA_OWNERS];   /* high-water per owner (reset by caller) */
};

void xs2s_arena_init(struct xs2s_arena *a, void *mem, size_t size, const char *name);
/* NULL when n == 0 or when no free block is large enough. */
void *xs2s_arena_alloc(struct xs2s_arena *a, size_t n);
void *xs2s_arena_calloc(struct xs2s_arena *a, size_t n, size_t m);
/* realloc semantics: NULL p allocates, n == 0 frees; on failure p is kept. */
void *xs2s_arena_realloc(struct xs2s_arena *a, void *p, size_t n);
/* NULL is ignored. p MUST come from this arena. */
void xs2s_arena_free(struct xs2s_arena *a, void *p);
/* Non-zero when p points into the arena's block. */
int xs2s_arena_owns(const struct xs2s_arena *a, const void *p);
/* Charge new blocks to owner (0 .. XS2S_ARENA_OWNERS-1); returns the previous. */
uint8_t xs2s_arena_set_owner(struct xs2s_arena *a, uint8_t owner);
/* Start a fresh high-water mark for owner (when a link slot is reused). */
void xs2s_arena_reset_owner_high(struct xs2s_arena *a, uint8_t owner);
/* Invariants (tests and benchmarks; walks every block): 0 when the block
 * chain, the free lists, the bitmaps and the counters agree, else a negative
 * number naming the first broken rule. */
int xs2s_arena_check(const struct xs2s_arena *a);
/* The largest request one call could satisfy now (fragmentation; walks every
 * block). */
size_t xs2s_arena_largest_free(const struct xs2s_arena *a);
/* n bytes at mem, which may have held arenas, become plain memory again (for
 * AddressSanitizer, which watches an arena's free bytes; a no-op otherwise). */
void xs2s_arena_forget(void *mem, size_t n);

#endif
