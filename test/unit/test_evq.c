/* Unit tests for the event queue (firmware/lib/evq.c): FIFO order with every
 * field kept, the bound XS2S_EVQ_LEN, the high-water mark, and the lost
 * counter for posts that do not fit (a bug in the engine if it ever moves).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "xs2s_err.h"
#include "xs2s_log.h"
#include "lib/evq.h"

static struct xs2s_evq q;

static int setup(void **state)
{
	(void)state;
	memset(&q, 0xee, sizeof q); /* init must not rely on zeroed memory */
	xs2s_evq_init(&q);
	return 0;
}

static void test_empty(void **state)
{
	struct xs2s_ev e;
	(void)state;

	assert_int_equal(q.n, 0);
	assert_int_equal(q.high, 0);
	assert_int_equal(q.lost, 0);
	assert_false(xs2s_evq_pop(&q, &e));
	assert_false(xs2s_evq_pop(&q, &e));
}

static void test_fields_and_order(void **state)
{
	struct xs2s_ev e;
	(void)state;

	xs2s_evq_post(&q, XS2S_EV_LINK_DOWN, 3, 77, XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	xs2s_evq_post(&q, XS2S_EV_ROUTE_READY, 31, 0xfffeu, 0, 0);
	xs2s_evq_post(&q, XS2S_EV_DB_VERDICT, 0, 0xffffffffu, XS2S_STE_RESOURCE_CONSTRAINT, XS2S_DB_ERROR);
	assert_int_equal(q.n, 3);

	assert_true(xs2s_evq_pop(&q, &e));
	assert_int_equal(e.type, XS2S_EV_LINK_DOWN);
	assert_int_equal(e.idx, 3);
	assert_int_equal(e.id, 77);
	assert_int_equal(e.cond, XS2S_STE_REMOTE_SERVER_TIMEOUT);
	assert_int_equal(e.verdict, 0);

	/* Posting between pops keeps the order. */
	xs2s_evq_post(&q, XS2S_EV_ROUTE_FAILED, 5, 9, XS2S_STE_REMOTE_SERVER_NOT_FOUND, 0);

	assert_true(xs2s_evq_pop(&q, &e));
	assert_int_equal(e.type, XS2S_EV_ROUTE_READY);
	assert_int_equal(e.idx, 31);
	assert_int_equal(e.id, 0xfffeu);
	assert_true(xs2s_evq_pop(&q, &e));
	assert_int_equal(e.type, XS2S_EV_DB_VERDICT);
	assert_int_equal(e.id, 0xffffffffu);
	assert_int_equal(e.cond, XS2S_STE_RESOURCE_CONSTRAINT);
	assert_int_equal(e.verdict, XS2S_DB_ERROR);
	assert_true(xs2s_evq_pop(&q, &e));
	assert_int_equal(e.type, XS2S_EV_ROUTE_FAILED);
	assert_int_equal(e.idx, 5);
	assert_int_equal(e.cond, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	assert_false(xs2s_evq_pop(&q, &e));
	assert_int_equal(q.high, 3);
	assert_int_equal(q.lost, 0);
}

static void test_bound_and_lost(void **state)
{
	struct xs2s_ev e;
	unsigned i;
	(void)state;

	/* The queue holds the worst case of one action: a link going down
	 * with every route of the table failing or verifying on it. */
	assert_true(XS2S_EVQ_LEN >= CONFIG_XS2S_MAX_LINKS + 2 * XS2S_ROUTES);
	for (i = 0; i < XS2S_EVQ_LEN; i++)
		xs2s_evq_post(&q, XS2S_EV_ROUTE_FAILED, i, i * 7u, 0, 0);
	assert_int_equal(q.n, XS2S_EVQ_LEN);
	assert_int_equal(q.lost, 0);
	/* One more does not fit: counted, the queue unchanged. */
	xs2s_evq_post(&q, XS2S_EV_LINK_DOWN, 999, 1, 0, 0);
	xs2s_evq_post(&q, XS2S_EV_LINK_DOWN, 998, 2, 0, 0);
	assert_int_equal(q.lost, 2);
	assert_int_equal(q.n, XS2S_EVQ_LEN);
	assert_int_equal(q.high, XS2S_EVQ_LEN);
	for (i = 0; i < XS2S_EVQ_LEN; i++) {
		assert_true(xs2s_evq_pop(&q, &e));
		assert_int_equal(e.type, XS2S_EV_ROUTE_FAILED);
		assert_int_equal(e.idx, i);
		assert_int_equal(e.id, i * 7u);
	}
	assert_false(xs2s_evq_pop(&q, &e));
	/* Room again; lost and high-water keep their history. */
	xs2s_evq_post(&q, XS2S_EV_LINK_DOWN, 1, 1, 0, 0);
	assert_int_equal(q.n, 1);
	assert_int_equal(q.lost, 2);
	assert_int_equal(q.high, XS2S_EVQ_LEN);
}

static void test_wraps_around(void **state)
{
	struct xs2s_ev e;
	unsigned i, posted = 0, popped = 0;
	(void)state;

	/* Keep 5 waiting while the ring turns several times. */
	for (i = 0; i < 5; i++)
		xs2s_evq_post(&q, XS2S_EV_ROUTE_READY, posted % 1000u, posted, 0, 0), posted++;
	for (i = 0; i < 4 * XS2S_EVQ_LEN + 3; i++) {
		xs2s_evq_post(&q, XS2S_EV_ROUTE_READY, posted % 1000u, posted, 0, 0);
		posted++;
		assert_true(xs2s_evq_pop(&q, &e));
		assert_int_equal(e.id, popped);
		assert_int_equal(e.idx, popped % 1000u);
		popped++;
	}
	while (xs2s_evq_pop(&q, &e)) {
		assert_int_equal(e.id, popped);
		popped++;
	}
	assert_int_equal(popped, posted);
	assert_int_equal(q.high, 6);
	assert_int_equal(q.lost, 0);
}

static void test_high_water(void **state)
{
	struct xs2s_ev e;
	(void)state;

	xs2s_evq_post(&q, XS2S_EV_ROUTE_READY, 0, 0, 0, 0);
	xs2s_evq_post(&q, XS2S_EV_ROUTE_READY, 0, 0, 0, 0);
	assert_int_equal(q.high, 2);
	assert_true(xs2s_evq_pop(&q, &e));
	assert_true(xs2s_evq_pop(&q, &e));
	xs2s_evq_post(&q, XS2S_EV_ROUTE_READY, 0, 0, 0, 0);
	assert_int_equal(q.high, 2); /* the most ever waiting, not now */
	xs2s_evq_post(&q, XS2S_EV_ROUTE_READY, 0, 0, 0, 0);
	xs2s_evq_post(&q, XS2S_EV_ROUTE_READY, 0, 0, 0, 0);
	assert_int_equal(q.high, 3);
	/* init starts over. */
	xs2s_evq_init(&q);
	assert_int_equal(q.high, 0);
	assert_int_equal(q.n, 0);
	assert_false(xs2s_evq_pop(&q, &e));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_empty, setup),
		cmocka_unit_test_setup(test_fields_and_order, setup),
		cmocka_unit_test_setup(test_bound_and_lost, setup),
		cmocka_unit_test_setup(test_wraps_around, setup),
		cmocka_unit_test_setup(test_high_water, setup),
	};

	xs2s_log_level = 0; /* the lost-event error line is expected here */
	return cmocka_run_group_tests_name("evq", tests, NULL, NULL);
}
