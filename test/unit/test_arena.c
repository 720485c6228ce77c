/* Unit tests for the bounded two-level segregated-fit arena (firmware/lib/arena.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "lib/arena.h"

#define MEM_SIZE 8192u
#define ALIGN 16u
/* A fully free arena keeps its control record (the free lists) and one block
 * header: at most this much. */
#define OVERHEAD 1024u
#define TORTURE_SLOTS 64
#define TORTURE_OPS 200000
#define TORTURE_MAX_REQ 700u
#define TORTURE_MEM 16384u

static _Alignas(16) uint8_t mem[MEM_SIZE + ALIGN];
static _Alignas(16) uint8_t torture_mem[TORTURE_MEM];

/* Largest request a completely free arena can satisfy. */
static size_t max_request(const struct xs2s_arena *a)
{
	size_t n = xs2s_arena_largest_free(a);

	assert_true(n + OVERHEAD >= a->size);
	return n;
}

static void assert_empty(struct xs2s_arena *a)
{
	void *p;
	size_t sum = 0;

	assert_int_equal(xs2s_arena_check(a), 0);
	assert_int_equal(a->used, 0);
	assert_int_equal(a->blocks, 0);
	for (unsigned i = 0; i < XS2S_ARENA_OWNERS; i++)
		sum += a->owner_used[i];
	assert_int_equal(sum, 0);
	/* One free block again: the largest request fits, one byte more does not. */
	p = xs2s_arena_alloc(a, max_request(a));
	assert_non_null(p);
	assert_null(xs2s_arena_alloc(a, 1));
	xs2s_arena_free(a, p);
	assert_null(xs2s_arena_alloc(a, max_request(a) + 1));
	assert_int_equal(a->used, 0);
}

static void test_init_alignment(void **state)
{
	struct xs2s_arena a;
	(void)state;

	xs2s_arena_init(&a, mem + 3, MEM_SIZE, "t");
	assert_string_equal(a.name, "t");
	assert_int_equal((uintptr_t)a.base % ALIGN, 0);
	assert_int_equal(a.size % ALIGN, 0);
	assert_true(a.size <= MEM_SIZE - 3);
	for (size_t n = 1; n < 100; n++) {
		uint8_t *p = xs2s_arena_alloc(&a, n);
		assert_non_null(p);
		assert_int_equal((uintptr_t)p % ALIGN, 0);
		assert_true(xs2s_arena_owns(&a, p));
		assert_true(xs2s_arena_owns(&a, p + n - 1));
		memset(p, 0xA5, n);
	}
	assert_int_equal(a.blocks, 99);
	assert_false(xs2s_arena_owns(&a, a.base + a.size));
	assert_false(xs2s_arena_owns(&a, a.base - 1));
}

static void test_too_small(void **state)
{
	struct xs2s_arena a;
	(void)state;

	xs2s_arena_init(&a, mem, 20, "tiny");
	assert_null(xs2s_arena_alloc(&a, 1));
	assert_int_equal(a.fails, 1);
	xs2s_arena_free(&a, mem); /* not a block: ignored */
	assert_int_equal(a.used, 0);
}

static void test_alloc_free_coalesce(void **state)
{
	struct xs2s_arena a;
	enum { N = 40 };
	void *p[N];
	(void)state;

	xs2s_arena_init(&a, mem, MEM_SIZE, "t");
	assert_empty(&a);
	/* Free odd blocks, then even ones: each even free merges with both sides. */
	for (int i = 0; i < N; i++) {
		p[i] = xs2s_arena_alloc(&a, 50 + (size_t)i);
		assert_non_null(p[i]);
	}
	assert_int_equal(a.blocks, N);
	assert_true(a.used >= N * 50);
	for (int i = 1; i < N; i += 2)
		xs2s_arena_free(&a, p[i]);
	assert_int_equal(a.blocks, N / 2);
	for (int i = 0; i < N; i += 2)
		xs2s_arena_free(&a, p[i]);
	assert_empty(&a);

	/* Reverse order, then middle-out. */
	for (int i = 0; i < N; i++)
		p[i] = xs2s_arena_alloc(&a, 100);
	for (int i = N - 1; i >= 0; i--)
		xs2s_arena_free(&a, p[i]);
	assert_empty(&a);
	for (int i = 0; i < N; i++)
		p[i] = xs2s_arena_alloc(&a, 33);
	for (int i = 0; i < N / 2; i++) {
		xs2s_arena_free(&a, p[N / 2 + i]);
		xs2s_arena_free(&a, p[N / 2 - 1 - i]);
	}
	assert_empty(&a);

	/* A freed hole of the right size is reused. */
	p[0] = xs2s_arena_alloc(&a, 64);
	p[1] = xs2s_arena_alloc(&a, 64);
	p[2] = xs2s_arena_alloc(&a, 64);
	xs2s_arena_free(&a, p[1]);
	p[3] = xs2s_arena_alloc(&a, 60);
	assert_ptr_equal(p[3], p[1]);
	xs2s_arena_free(&a, p[0]);
	xs2s_arena_free(&a, p[2]);
	xs2s_arena_free(&a, p[3]);
	assert_empty(&a);
	assert_true(a.high > 0);
}

static void test_exhaustion(void **state)
{
	struct xs2s_arena a;
	void *p[MEM_SIZE / 32];
	int n = 0;
	(void)state;

	xs2s_arena_init(&a, mem, MEM_SIZE, "t");
	assert_null(xs2s_arena_alloc(&a, 0));
	assert_int_equal(a.fails, 0);
	while ((p[n] = xs2s_arena_alloc(&a, 100)) != NULL)
		n++;
	assert_int_equal(a.fails, 1);
	assert_true(n > 0);
	assert_int_equal(a.blocks, (uint32_t)n);
	assert_null(xs2s_arena_alloc(&a, 100));
	assert_int_equal(a.fails, 2);
	assert_null(xs2s_arena_alloc(&a, SIZE_MAX));
	assert_null(xs2s_arena_calloc(&a, SIZE_MAX / 2, 3));
	assert_null(xs2s_arena_realloc(&a, p[0], SIZE_MAX - 8));
	assert_int_equal(a.fails, 5);
	assert_int_equal(a.high, a.used);
	while (n--)
		xs2s_arena_free(&a, p[n]);
	assert_empty(&a);
}

static void test_realloc_contents(void **state)
{
	struct xs2s_arena a;
	uint8_t *p, *q, *r, *s, *head;
	(void)state;

	xs2s_arena_init(&a, mem, MEM_SIZE, "t");
	p = xs2s_arena_realloc(&a, NULL, 40); /* NULL allocates */
	assert_non_null(p);
	head = p;
	for (int i = 0; i < 40; i++)
		p[i] = (uint8_t)i;
	/* Grows in place: the next block is free. */
	q = xs2s_arena_realloc(&a, p, 500);
	assert_ptr_equal(q, p);
	for (int i = 0; i < 40; i++)
		assert_int_equal(q[i], i);
	for (int i = 0; i < 500; i++)
		q[i] = (uint8_t)(i * 7);
	/* Blocked by a neighbour in use: moves, keeps contents, frees the old. */
	r = xs2s_arena_alloc(&a, 16);
	assert_non_null(r);
	size_t used = a.used;
	s = xs2s_arena_realloc(&a, q, 1000);
	assert_non_null(s);
	assert_ptr_not_equal(s, q);
	for (int i = 0; i < 500; i++)
		assert_int_equal(s[i], (uint8_t)(i * 7));
	assert_int_equal(a.blocks, 2);
	assert_true(a.used > used);
	/* Shrink keeps the pointer and the leading bytes, and gives bytes back. */
	used = a.used;
	p = xs2s_arena_realloc(&a, s, 100);
	assert_ptr_equal(p, s);
	for (int i = 0; i < 100; i++)
		assert_int_equal(p[i], (uint8_t)(i * 7));
	assert_true(a.used < used);
	/* The freed head (old q) is reused, and grows into the tail it split off. */
	q = xs2s_arena_alloc(&a, 200);
	assert_ptr_equal(q, head); /* the smallest class that fits: the hole, not the tail */
	/* Failure keeps the old block. */
	uint32_t fails = a.fails;
	assert_null(xs2s_arena_realloc(&a, p, MEM_SIZE));
	assert_int_equal(a.fails, fails + 1);
	for (int i = 0; i < 100; i++)
		assert_int_equal(p[i], (uint8_t)(i * 7));
	/* n == 0 frees. */
	assert_null(xs2s_arena_realloc(&a, p, 0));
	xs2s_arena_free(&a, q);
	xs2s_arena_free(&a, r);
	assert_empty(&a);
}

static void test_realloc_grow_partial(void **state)
{
	struct xs2s_arena a;
	uint8_t *p, *q, *r;
	(void)state;

	/* Grow into a free neighbour that is larger than needed: it is split. */
	xs2s_arena_init(&a, mem, MEM_SIZE, "t");
	p = xs2s_arena_alloc(&a, 32);
	q = xs2s_arena_alloc(&a, 1000);
	r = xs2s_arena_alloc(&a, 32);
	memset(p, 0x11, 32);
	xs2s_arena_free(&a, q);
	q = xs2s_arena_realloc(&a, p, 300);
	assert_ptr_equal(q, p);
	for (int i = 0; i < 32; i++)
		assert_int_equal(q[i], 0x11);
	/* The rest of the hole is still free and used before the tail. */
	p = xs2s_arena_alloc(&a, 500);
	assert_true(p > q && p < r);
	xs2s_arena_free(&a, p);
	xs2s_arena_free(&a, q);
	xs2s_arena_free(&a, r);
	assert_empty(&a);
}

static void test_calloc_zeroes(void **state)
{
	struct xs2s_arena a;
	uint8_t *p;
	(void)state;

	xs2s_arena_init(&a, mem, MEM_SIZE, "t");
	p = xs2s_arena_alloc(&a, 1000);
	memset(p, 0xFF, 1000);
	xs2s_arena_free(&a, p);
	p = xs2s_arena_calloc(&a, 10, 100);
	assert_non_null(p);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(p[i], 0);
	assert_null(xs2s_arena_calloc(&a, 0, 10));
	xs2s_arena_free(&a, p);
	assert_empty(&a);
}

static void test_owner_accounting(void **state)
{
	struct xs2s_arena a;
	void *e, *l1, *l2, *m;
	(void)state;

	xs2s_arena_init(&a, mem, MEM_SIZE, "t");
	assert_int_equal(xs2s_arena_set_owner(&a, 0), 0);
	e = xs2s_arena_alloc(&a, 100);
	assert_int_equal(xs2s_arena_set_owner(&a, 1), 0);
	l1 = xs2s_arena_alloc(&a, 300);
	assert_int_equal(xs2s_arena_set_owner(&a, 2), 1);
	l2 = xs2s_arena_alloc(&a, 50);
	assert_int_equal(a.owner_used[0] + a.owner_used[1] + a.owner_used[2], a.used);
	assert_true(a.owner_used[1] >= 300 && a.owner_used[2] >= 50 && a.owner_used[0] >= 100);
	size_t high1 = a.owner_high[1];
	assert_int_equal(high1, a.owner_used[1]);

	/* Freeing a block credits its owner, whoever is current. */
	xs2s_arena_free(&a, l1);
	assert_int_equal(a.owner_used[1], 0);
	assert_int_equal(a.owner_high[1], high1);
	xs2s_arena_reset_owner_high(&a, 1);
	assert_int_equal(a.owner_high[1], 0);

	/* realloc keeps the block's owner, in place and when moving. */
	m = xs2s_arena_realloc(&a, e, 2000);
	assert_non_null(m);
	assert_int_equal(a.owner_used[2] + a.owner_used[0], a.used);
	assert_true(a.owner_used[0] >= 2000);
	assert_int_equal(a.owner_used[1], 0);

	/* An owner out of range is charged to the engine. */
	xs2s_arena_set_owner(&a, (uint8_t)(XS2S_ARENA_OWNERS + 1));
	assert_int_equal(a.owner, 0);
	xs2s_arena_free(&a, m);
	xs2s_arena_free(&a, l2);
	assert_int_equal(a.owner_used[2], 0);
	assert_true(a.owner_high[2] >= 50);
	assert_true(a.high >= a.owner_high[0]);
	assert_empty(&a);
}

static void test_foreign_pointers(void **state)
{
	struct xs2s_arena a, b;
	uint8_t local[32];
	uint8_t *p, *q, *o;
	(void)state;

	xs2s_arena_init(&a, mem, MEM_SIZE / 2, "a");
	xs2s_arena_init(&b, mem + MEM_SIZE / 2, MEM_SIZE / 2, "b");
	p = xs2s_arena_alloc(&a, 100);
	q = xs2s_arena_alloc(&a, 100);
	o = xs2s_arena_alloc(&b, 100);
	size_t used = a.used;

	xs2s_arena_free(&a, NULL);
	xs2s_arena_free(&a, local);
	xs2s_arena_free(&a, o);          /* another arena's block */
	xs2s_arena_free(&a, p + 16);     /* interior pointer */
	xs2s_arena_free(&a, p + 1);
	xs2s_arena_free(&a, a.base);     /* control record */
	assert_null(xs2s_arena_realloc(&a, local, 10));
	assert_null(xs2s_arena_realloc(&a, p + 32, 10));
	assert_int_equal(a.used, used);
	assert_int_equal(a.blocks, 2);

	/* Double free, also after the block merged with a free neighbour. */
	xs2s_arena_free(&a, q);
	xs2s_arena_free(&a, q);
	assert_int_equal(a.blocks, 1);
	xs2s_arena_free(&a, p);
	xs2s_arena_free(&a, p);
	xs2s_arena_free(&a, q);
	assert_empty(&a);
	xs2s_arena_free(&b, o);
	assert_empty(&b);
}

/* Deterministic xorshift32. */
static uint32_t rng_state;

static uint32_t rng(void)
{
	uint32_t x = rng_state;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	rng_state = x;
	return x;
}

struct slot {
	uint8_t *p;
	size_t n;
	uint8_t seed;
	uint8_t owner;
};

static void fill(struct slot *s, size_t from)
{
	for (size_t i = from; i < s->n; i++)
		s->p[i] = (uint8_t)(s->seed + i * 31u);
}

static void check(const struct slot *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s->p[i] != (uint8_t)(s->seed + i * 31u))
			fail_msg("pattern broken at %zu of %zu", i, n);
}

static void test_torture(void **state)
{
	struct xs2s_arena a;
	struct slot s[TORTURE_SLOTS];
	size_t owner_bytes[XS2S_ARENA_OWNERS];
	unsigned live = 0, moves = 0, refusals = 0;
	(void)state;

	memset(s, 0, sizeof(s));
	rng_state = 0x12345678u;
	xs2s_arena_init(&a, torture_mem, sizeof(torture_mem), "torture");
	for (int op = 0; op < TORTURE_OPS; op++) {
		struct slot *t = &s[rng() % TORTURE_SLOTS];
		uint32_t r = rng();
		size_t n = 1 + (r >> 8) % (r & 1 ? TORTURE_MAX_REQ : TORTURE_MAX_REQ / 8);

		if (!t->p) {
			uint8_t owner = (uint8_t)(rng() % XS2S_ARENA_OWNERS);
			xs2s_arena_set_owner(&a, owner);
			t->p = (r & 2) ? xs2s_arena_calloc(&a, 1, n) : xs2s_arena_alloc(&a, n);
			if (!t->p) {
				refusals++;
				continue;
			}
			assert_int_equal((uintptr_t)t->p % ALIGN, 0);
			if (r & 2)
				for (size_t i = 0; i < n; i++)
					assert_int_equal(t->p[i], 0);
			t->n = n;
			t->seed = (uint8_t)op;
			t->owner = owner;
			fill(t, 0);
			live++;
		} else if ((r & 6) == 0) {
			check(t, t->n);
			xs2s_arena_free(&a, t->p);
			t->p = NULL;
			live--;
		} else {
			uint8_t *q = xs2s_arena_realloc(&a, t->p, n);
			if (!q) {
				refusals++;
				check(t, t->n);
				continue;
			}
			moves += q != t->p;
			t->p = q;
			check(t, n < t->n ? n : t->n);
			size_t old = t->n;
			t->n = n;
			if (n > old)
				fill(t, old);
		}
		assert_int_equal(a.blocks, live);
		if (op % 64 == 0)
			assert_int_equal(xs2s_arena_check(&a), 0);
		if (op % 1024 == 0) {
			size_t sum = 0;
			memset(owner_bytes, 0, sizeof(owner_bytes));
			for (int i = 0; i < TORTURE_SLOTS; i++)
				if (s[i].p) {
					check(&s[i], s[i].n);
					owner_bytes[s[i].owner] += s[i].n;
				}
			for (unsigned o = 0; o < XS2S_ARENA_OWNERS; o++) {
				assert_true(a.owner_used[o] >= owner_bytes[o]);
				assert_true(a.owner_high[o] >= a.owner_used[o]);
				sum += a.owner_used[o];
			}
			assert_int_equal(sum, a.used);
			assert_true(a.high >= a.used);
		}
	}
	print_message("torture: %u refusals, %u moves, high %zu of %zu\n", refusals, moves, a.high, a.size);
	assert_true(refusals > 0);
	assert_true(moves > 0);
	assert_int_equal(a.fails, refusals);
	for (int i = 0; i < TORTURE_SLOTS; i++)
		if (s[i].p) {
			check(&s[i], s[i].n);
			xs2s_arena_free(&a, s[i].p);
		}
	assert_empty(&a);
}

/* Good fit: a block is the request, its header and alignment, never more
 * than a minimum block beyond (the split remainder it could not cut off). */
static void test_good_fit_bound(void **state)
{
	struct xs2s_arena a;
	(void)state;

	xs2s_arena_init(&a, torture_mem, sizeof(torture_mem), "fit");
	for (size_t n = 1; n < 6000; n += 37) {
		size_t before = a.used, block;
		void *p = xs2s_arena_alloc(&a, n);

		assert_non_null(p);
		block = a.used - before;
		assert_true(block >= n + 16);
		assert_true(block <= ((n + 16 + 15) & ~(size_t)15) + 32);
		xs2s_arena_free(&a, p);
		assert_int_equal(xs2s_arena_check(&a), 0);
	}
	assert_empty(&a);
}

/* Many concurrent "handshakes": each session allocates a run of blocks of
 * the sizes wolfSSL asks for (record buffers, key shares, certificates),
 * frees most of them when its handshake ends and keeps a few for the
 * session; sessions end in another order than they began. After every
 * session ended the arena is one free block again, and meanwhile the
 * invariants hold and requests keep fitting. */
static void test_concurrent_handshakes(void **state)
{
	static const uint16_t sizes[] = { 1200, 64, 312, 2048, 96, 540, 4200, 32, 160, 760, 24, 1800, 420, 48 };
	enum { SESS = 24, PER = sizeof sizes / sizeof sizes[0] };
	static _Alignas(16) uint8_t big[256 * 1024];
	void *blk[SESS][PER];
	struct xs2s_arena a;
	(void)state;

	memset(blk, 0, sizeof blk);
	rng_state = 0xC0FFEEu;
	xs2s_arena_init(&a, big, sizeof big, "hs");
	for (int round = 0; round < 50; round++) {
		for (int st = 0; st < PER; st++)
			for (int k = 0; k < SESS; k++) {
				int i = (k + round) % SESS;

				xs2s_arena_set_owner(&a, (uint8_t)(1 + i % (XS2S_ARENA_OWNERS - 1)));
				if (!blk[i][st])
					blk[i][st] = xs2s_arena_alloc(&a, sizes[(st + i) % PER] + (rng() % 64));
				assert_non_null(blk[i][st]);
				if (st > 2 && (rng() & 1)) { /* handshake temporaries come and go */
					xs2s_arena_free(&a, blk[i][st - 1]);
					blk[i][st - 1] = NULL;
				}
			}
		assert_int_equal(xs2s_arena_check(&a), 0);
		for (int k = 0; k < SESS; k++) { /* handshakes end: the session's state stays */
			int i = (int)(rng() % SESS);

			for (int st = 3; st < PER; st++) {
				xs2s_arena_free(&a, blk[i][st]);
				blk[i][st] = NULL;
			}
		}
		assert_int_equal(xs2s_arena_check(&a), 0);
		if (round % 5 == 4) /* some sessions end */
			for (int i = round % 3; i < SESS; i += 3)
				for (int st = 0; st < PER; st++) {
					xs2s_arena_free(&a, blk[i][st]);
					blk[i][st] = NULL;
				}
	}
	assert_int_equal(a.fails, 0);
	for (int i = 0; i < SESS; i++)
		for (int st = 0; st < PER; st++)
			xs2s_arena_free(&a, blk[i][st]);
	assert_empty(&a);
}

/* The invariant check itself notices a broken arena. */
static void test_check_detects(void **state)
{
	struct xs2s_arena a;
	uint8_t *p, *q;
	(void)state;

	xs2s_arena_init(&a, mem, MEM_SIZE, "c");
	p = xs2s_arena_alloc(&a, 100);
	q = xs2s_arena_alloc(&a, 100);
	assert_int_equal(xs2s_arena_check(&a), 0);
	a.used += 16;
	assert_int_not_equal(xs2s_arena_check(&a), 0);
	a.used -= 16;
	((uint32_t *)(void *)(q - 16))[1] += 16; /* q's header: the size of the block before */
	assert_int_not_equal(xs2s_arena_check(&a), 0);
	((uint32_t *)(void *)(q - 16))[1] -= 16;
	assert_int_equal(xs2s_arena_check(&a), 0);
	xs2s_arena_free(&a, p);
	xs2s_arena_free(&a, q);
	assert_empty(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_alignment),
		cmocka_unit_test(test_too_small),
		cmocka_unit_test(test_alloc_free_coalesce),
		cmocka_unit_test(test_exhaustion),
		cmocka_unit_test(test_realloc_contents),
		cmocka_unit_test(test_realloc_grow_partial),
		cmocka_unit_test(test_calloc_zeroes),
		cmocka_unit_test(test_owner_accounting),
		cmocka_unit_test(test_foreign_pointers),
		cmocka_unit_test(test_torture),
		cmocka_unit_test(test_good_fit_bound),
		cmocka_unit_test(test_concurrent_handshakes),
		cmocka_unit_test(test_check_detects),
	};

	return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
