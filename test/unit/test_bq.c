/* Unit tests for the byte queue (firmware/lib/bq.c): buf/ack spans that stop
 * at the wrap, put all-or-nothing, put_some, get, and both ends going back
 * to the start when the queue empties. A model (a plain FIFO) is checked
 * against random operations. The queue owns nothing: guard bytes around its
 * storage must never change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xs2s_err.h"
#include "lib/bq.h"

#define CAP 16
#define GUARD 0xa5
#define RANDOM_OPS 200000
#define MODEL_MAX 4096

static uint8_t mem[CAP + 32];
#define STORE (mem + 16)   /* the queue's storage, with 16 guard bytes either side */

static int setup(void **state)
{
	(void)state;
	memset(mem, GUARD, sizeof mem);
	return 0;
}

static int check_guards(void **state)
{
	(void)state;
	for (size_t i = 0; i < 16; i++)
		if (mem[i] != GUARD || mem[16 + CAP + i] != GUARD) {
			print_error("guard byte %zu overwritten\n", i);
			return -1;
		}
	return 0;
}

static void test_empty_and_full(void **state)
{
	struct xs2s_bq q;
	size_t n;
	uint8_t *w;
	(void)state;

	xs2s_bq_init(&q, STORE, CAP);
	assert_int_equal(xs2s_bq_len(&q), 0);
	assert_int_equal(xs2s_bq_room(&q), CAP);
	xs2s_bq_rbuf(&q, &n);
	assert_int_equal(n, 0);
	w = xs2s_bq_wbuf(&q, &n);
	assert_ptr_equal(w, STORE);
	assert_int_equal(n, CAP);
	/* Fill it through the span. */
	memset(w, 'x', CAP);
	xs2s_bq_wack(&q, CAP);
	assert_int_equal(xs2s_bq_len(&q), CAP);
	assert_int_equal(xs2s_bq_room(&q), 0);
	xs2s_bq_wbuf(&q, &n);
	assert_int_equal(n, 0);
	assert_int_equal(xs2s_bq_put(&q, "y", 1), XS2S_ENOMEM);
	assert_int_equal(xs2s_bq_put_some(&q, "y", 1), 0);
	assert_int_equal(xs2s_bq_put(&q, "", 0), XS2S_OK);
	/* Read it all: both ends go back to the start. */
	assert_ptr_equal(xs2s_bq_rbuf(&q, &n), STORE);
	assert_int_equal(n, CAP);
	xs2s_bq_rack(&q, CAP);
	assert_int_equal(xs2s_bq_len(&q), 0);
	assert_int_equal(q.head, 0);
	assert_ptr_equal(xs2s_bq_wbuf(&q, &n), STORE);
	assert_int_equal(n, CAP);
}

static void test_wrap_spans(void **state)
{
	struct xs2s_bq q;
	uint8_t out[CAP];
	const uint8_t *r;
	uint8_t *w;
	size_t n;
	(void)state;

	xs2s_bq_init(&q, STORE, CAP);
	/* 12 in, 10 out: head at 10, 2 bytes queued. */
	assert_int_equal(xs2s_bq_put(&q, "abcdefghijkl", 12), XS2S_OK);
	assert_int_equal(xs2s_bq_get(&q, out, 10), 10);
	assert_memory_equal(out, "abcdefghij", 10);
	assert_int_equal(q.head, 10);
	/* The free span runs to the end of the storage, not past it. */
	w = xs2s_bq_wbuf(&q, &n);
	assert_ptr_equal(w, STORE + 12);
	assert_int_equal(n, 4);
	/* A put of 10 wraps: 4 at the end, 6 at the start. */
	assert_int_equal(xs2s_bq_put(&q, "0123456789", 10), XS2S_OK);
	assert_int_equal(xs2s_bq_len(&q), 12);
	assert_memory_equal(STORE + 12, "0123", 4);
	assert_memory_equal(STORE, "456789", 6);
	/* Now the free span is between the wrapped tail and the head. */
	w = xs2s_bq_wbuf(&q, &n);
	assert_ptr_equal(w, STORE + 6);
	assert_int_equal(n, 4);
	assert_int_equal(xs2s_bq_room(&q), 4);
	/* The read span stops at the wrap; the next one is the rest. */
	r = xs2s_bq_rbuf(&q, &n);
	assert_ptr_equal(r, STORE + 10);
	assert_int_equal(n, 6);
	assert_memory_equal(r, "kl0123", 6);
	xs2s_bq_rack(&q, 6);
	assert_int_equal(q.head, 0);
	r = xs2s_bq_rbuf(&q, &n);
	assert_ptr_equal(r, STORE);
	assert_int_equal(n, 6);
	assert_memory_equal(r, "456789", 6);
	/* A partial ack moves the head, the rest stays. */
	xs2s_bq_rack(&q, 2);
	r = xs2s_bq_rbuf(&q, &n);
	assert_ptr_equal(r, STORE + 2);
	assert_int_equal(n, 4);
	xs2s_bq_rack(&q, 4);
	assert_int_equal(xs2s_bq_len(&q), 0);
	assert_int_equal(q.head, 0); /* empty: back to the start */
}

static void test_wrap_exactly_at_end(void **state)
{
	struct xs2s_bq q;
	uint8_t out[CAP];
	size_t n;
	uint8_t *w;
	(void)state;

	xs2s_bq_init(&q, STORE, CAP);
	assert_int_equal(xs2s_bq_put(&q, "0123456789abcdef", CAP), XS2S_OK);
	assert_int_equal(xs2s_bq_get(&q, out, 4), 4);
	/* Tail exactly at cap: the free span is at the start. */
	w = xs2s_bq_wbuf(&q, &n);
	assert_ptr_equal(w, STORE);
	assert_int_equal(n, 4);
	assert_int_equal(xs2s_bq_put(&q, "WXYZ", 4), XS2S_OK);
	assert_int_equal(xs2s_bq_room(&q), 0);
	assert_int_equal(xs2s_bq_get(&q, out, sizeof out), CAP);
	assert_memory_equal(out, "456789abcdefWXYZ", CAP);
	assert_int_equal(q.head, 0);
}

static void test_put_all_or_nothing(void **state)
{
	struct xs2s_bq q;
	uint8_t out[CAP];
	(void)state;

	xs2s_bq_init(&q, STORE, CAP);
	assert_int_equal(xs2s_bq_put(&q, "0123456789", 10), XS2S_OK);
	memcpy(out, STORE, CAP);
	/* 7 do not fit in 6: nothing changes, not even the storage. */
	assert_int_equal(xs2s_bq_put(&q, "ABCDEFG", 7), XS2S_ENOMEM);
	assert_int_equal(xs2s_bq_len(&q), 10);
	assert_memory_equal(STORE, out, CAP);
	/* 6 do. */
	assert_int_equal(xs2s_bq_put(&q, "ABCDEF", 6), XS2S_OK);
	assert_int_equal(xs2s_bq_len(&q), CAP);
	assert_int_equal(xs2s_bq_get(&q, out, sizeof out), CAP);
	assert_memory_equal(out, "0123456789ABCDEF", CAP);
}

static void test_put_some_and_get(void **state)
{
	struct xs2s_bq q;
	uint8_t out[CAP + 4];
	(void)state;

	xs2s_bq_init(&q, STORE, CAP);
	assert_int_equal(xs2s_bq_put(&q, "0123456789", 10), XS2S_OK);
	assert_int_equal(xs2s_bq_get(&q, out, 8), 8);
	/* head 8, 2 queued; put_some of 20 takes 14, across the wrap. */
	assert_int_equal(xs2s_bq_put_some(&q, "abcdefghijklmnopqrst", 20), 14);
	assert_int_equal(xs2s_bq_len(&q), CAP);
	assert_int_equal(xs2s_bq_put_some(&q, "z", 1), 0);
	/* get asks for more than there is: what there is, across the wrap. */
	memset(out, 0, sizeof out);
	assert_int_equal(xs2s_bq_get(&q, out, sizeof out), CAP);
	assert_memory_equal(out, "89abcdefghijklmn", CAP);
	assert_int_equal(xs2s_bq_get(&q, out, sizeof out), 0);
	assert_int_equal(q.head, 0);
	/* get of zero bytes, put_some of zero bytes. */
	assert_int_equal(xs2s_bq_put_some(&q, "a", 0), 0);
	assert_int_equal(xs2s_bq_get(&q, out, 0), 0);
	/* clear drops everything and starts over. */
	assert_int_equal(xs2s_bq_put(&q, "abc", 3), XS2S_OK);
	assert_int_equal(xs2s_bq_get(&q, out, 1), 1);
	xs2s_bq_clear(&q);
	assert_int_equal(xs2s_bq_len(&q), 0);
	assert_int_equal(q.head, 0);
	assert_int_equal(xs2s_bq_room(&q), CAP);
}

/* Random puts, put_somes, span writes, gets and span reads against a model. */
static void test_random_against_model(void **state)
{
	static uint8_t model[MODEL_MAX];
	size_t mhead = 0, mlen = 0;
	struct xs2s_bq q;
	uint8_t seq = 0, buf[CAP + 8];
	(void)state;

	srand(4242);
	xs2s_bq_init(&q, STORE, CAP);
	for (int op = 0; op < RANDOM_OPS; op++) {
		size_t k = (size_t)rand() % (CAP + 4), n, i;
		int kind = rand() % 6;

		if (mhead + mlen + CAP + 8 > MODEL_MAX) {
			memmove(model, model + mhead, mlen);
			mhead = 0;
		}
		for (i = 0; i < k; i++)
			buf[i] = seq++;
		switch (kind) {
		case 0: /* put */
			if (k <= CAP - mlen) {
				assert_int_equal(xs2s_bq_put(&q, buf, k), XS2S_OK);
				memcpy(model + mhead + mlen, buf, k);
				mlen += k;
			} else {
				assert_int_equal(xs2s_bq_put(&q, buf, k), XS2S_ENOMEM);
				seq = (uint8_t)(seq - k);
			}
			break;
		case 1: /* put_some */
			n = xs2s_bq_put_some(&q, buf, k);
			assert_int_equal(n, k < CAP - mlen ? k : CAP - mlen);
			memcpy(model + mhead + mlen, buf, n);
			mlen += n;
			seq = (uint8_t)(seq - (k - n));
			break;
		case 2: { /* span write */
			uint8_t *w = xs2s_bq_wbuf(&q, &n);

			assert_true(n <= CAP - mlen);
			assert_true(w >= STORE && w + n <= STORE + CAP);
			if (mlen < CAP)
				assert_true(n > 0);
			n = k < n ? k : n;
			memcpy(w, buf, n);
			xs2s_bq_wack(&q, n);
			memcpy(model + mhead + mlen, buf, n);
			mlen += n;
			seq = (uint8_t)(seq - (k - n));
			break;
		}
		case 3: /* get */
			seq = (uint8_t)(seq - k);
			n = xs2s_bq_get(&q, buf, k);
			assert_int_equal(n, k < mlen ? k : mlen);
			assert_memory_equal(buf, model + mhead, n);
			mhead += n;
			mlen -= n;
			break;
		default: { /* span read */
			const uint8_t *r = xs2s_bq_rbuf(&q, &n);

			seq = (uint8_t)(seq - k);
			assert_true(n <= mlen);
			assert_true(r >= STORE && r + n <= STORE + CAP);
			if (mlen)
				assert_true(n > 0);
			n = k < n ? k : n;
			assert_memory_equal(r, model + mhead, n);
			xs2s_bq_rack(&q, n);
			mhead += n;
			mlen -= n;
			break;
		}
		}
		assert_int_equal(xs2s_bq_len(&q), mlen);
		assert_int_equal(xs2s_bq_room(&q), CAP - mlen);
		if (!mlen)
			assert_int_equal(q.head, 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_empty_and_full, setup, check_guards),
		cmocka_unit_test_setup_teardown(test_wrap_spans, setup, check_guards),
		cmocka_unit_test_setup_teardown(test_wrap_exactly_at_end, setup, check_guards),
		cmocka_unit_test_setup_teardown(test_put_all_or_nothing, setup, check_guards),
		cmocka_unit_test_setup_teardown(test_put_some_and_get, setup, check_guards),
		cmocka_unit_test_setup_teardown(test_random_against_model, setup, check_guards),
	};

	return cmocka_run_group_tests_name("bq", tests, NULL, NULL);
}
