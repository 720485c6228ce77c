/* The TLS arena under many concurrent handshakes (make bench): the engine's
 * two-level segregated fit (firmware/lib/arena.c) against the first fit it
 * replaced (arena_firstfit.c, renamed ff_arena_*), on the same seeded
 * workload: SESS sessions in a 1 MiB arena, each handshake allocating a run
 * of blocks of the sizes wolfSSL asks for (record buffers, key shares,
 * certificates), freeing the temporaries as it goes and keeping a few blocks
 * for the session; handshakes end and sessions close in another order than
 * they began. Prints, per allocator: ns per operation (alloc or free), the
 * requests refused, and the largest free block while the arena is at its
 * fullest (fragmentation). Usage: arena_bench [SESSIONS] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "lib/arena.h"

void ff_arena_init(struct xs2s_arena *a, void *mem, size_t size, const char *name);
void *ff_arena_alloc(struct xs2s_arena *a, size_t n);
void ff_arena_free(struct xs2s_arena *a, void *p);
uint8_t ff_arena_set_owner(struct xs2s_arena *a, uint8_t owner);
size_t ff_arena_largest_free(const struct xs2s_arena *a);

struct allocator {
	const char *name;
	void (*init)(struct xs2s_arena *, void *, size_t, const char *);
	void *(*alloc)(struct xs2s_arena *, size_t);
	void (*free)(struct xs2s_arena *, void *);
	uint8_t (*owner)(struct xs2s_arena *, uint8_t);
	size_t (*largest)(const struct xs2s_arena *);
};

static const struct allocator allocators[] = {
	{ "tlsf", xs2s_arena_init, xs2s_arena_alloc, xs2s_arena_free, xs2s_arena_set_owner, xs2s_arena_largest_free },
	{ "first_fit", ff_arena_init, ff_arena_alloc, ff_arena_free, ff_arena_set_owner, ff_arena_largest_free },
};

#define SESS_MAX 64
#define ROUNDS 400
static const uint16_t sizes[] = { 1200, 64, 312, 2048, 96, 540, 4200, 32, 160, 760, 24, 1800, 420, 48 };
enum { PER = sizeof sizes / sizeof sizes[0] };
static _Alignas(16) uint8_t mem[1024 * 1024];
static void *blk[SESS_MAX][PER];
static uint32_t rng_state;

static uint32_t rng(void)
{
	uint32_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	return rng_state = x;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void run(const struct allocator *al, int sess)
{
	struct xs2s_arena a;
	unsigned long ops = 0;
	size_t largest_at_high = 0, high = 0;
	double t0;

	memset(blk, 0, sizeof blk);
	rng_state = 0xC0FFEEu;
	al->init(&a, mem, sizeof mem, al->name);
	t0 = now_ns();
	for (int round = 0; round < ROUNDS; round++) {
		for (int st = 0; st < PER; st++)
			for (int k = 0; k < sess; k++) {
				int i = (k + round) % sess;

				al->owner(&a, (uint8_t)(1 + i % (XS2S_ARENA_OWNERS - 1)));
				if (!blk[i][st]) {
					blk[i][st] = al->alloc(&a, sizes[(st + i) % PER] + (rng() % 64));
					ops++;
				}
				if (st > 2 && (rng() & 1)) { /* handshake temporaries come and go */
					al->free(&a, blk[i][st - 1]);
					blk[i][st - 1] = NULL;
					ops++;
				}
			}
		if (a.used > high) { /* outside the timing would skew it; it is O(blocks) for both */
			high = a.used;
			largest_at_high = al->largest(&a);
		}
		for (int k = 0; k < sess; k++) { /* handshakes end: the session's state stays */
			int i = (int)(rng() % (uint32_t)sess);

			for (int st = 3; st < PER; st++) {
				if (blk[i][st]) {
					al->free(&a, blk[i][st]);
					ops++;
				}
				blk[i][st] = NULL;
			}
		}
		if (round % 5 == 4) /* some sessions end */
			for (int i = round % 3; i < sess; i += 3)
				for (int st = 0; st < PER; st++) {
					if (blk[i][st]) {
						al->free(&a, blk[i][st]);
						ops++;
					}
					blk[i][st] = NULL;
				}
	}
	printf("arena %-9s sessions=%d ops=%lu ns_per_op=%.1f refused=%u high=%zu largest_free_at_high=%zu\n", al->name,
	       sess, ops, (now_ns() - t0) / (double)ops, a.fails, high, largest_at_high);
}

int main(int argc, char **argv)
{
	int sess = argc > 1 ? atoi(argv[1]) : 48;

	if (sess < 1 || sess > SESS_MAX) {
		fprintf(stderr, "usage: arena_bench [SESSIONS <= %d]\n", SESS_MAX);
		return 2;
	}
	for (unsigned i = 0; i < sizeof allocators / sizeof allocators[0]; i++)
		run(&allocators[i], sess);
	return 0;
}
