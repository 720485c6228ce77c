/* Unit tests for the per-peer policy (firmware/engine/policy.c, XEP-0205):
 * the domain lists (parsing, refusals, the deny list winning, case), and
 * the token bucket's arithmetic on a clock the test moves: a burst, the
 * wait for the next token, the refill cap, the hard limit's episode (it
 * starts when the bucket runs empty, ends when two tokens are banked). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "xs2s_err.h"
#include "engine/policy.h"

#if CONFIG_XS2S_POLICY
static struct xs2s_policy pol;

static int init(const char *allow, const char *deny, unsigned rate, unsigned burst, unsigned hard)
{
	struct xs2s_config cfg;

	memset(&cfg, 0, sizeof cfg);
	cfg.allow_domains = allow;
	cfg.deny_domains = deny;
	cfg.rate = rate;
	cfg.rate_burst = burst;
	cfg.rate_hard_s = hard;
	return xs2s_policy_init(&pol, &cfg);
}

static void test_lists(void **state)
{
	(void)state;
	assert_int_equal(init(NULL, NULL, 0, 0, 0), XS2S_OK);
	assert_true(xs2s_policy_allowed(&pol, "b.test")); /* no lists: everyone */
	assert_int_equal(init("", "  b.test\tevil.example  ", 0, 0, 0), XS2S_OK);
	assert_false(xs2s_policy_allowed(&pol, "b.test"));
	assert_false(xs2s_policy_allowed(&pol, "EVIL.example")); /* domains compare case-insensitively */
	assert_true(xs2s_policy_allowed(&pol, "c.test"));
	assert_true(xs2s_policy_allowed(&pol, "sub.b.test")); /* whole names only */
	assert_true(xs2s_policy_allowed(&pol, "b.tes"));
	assert_string_equal(xs2s_policy_why(&pol, "b.test"), "on the deny list");
	/* an allow list admits its domains only; the deny list wins */
	assert_int_equal(init("b.test c.test", "c.test", 0, 0, 0), XS2S_OK);
	assert_true(xs2s_policy_allowed(&pol, "b.test"));
	assert_false(xs2s_policy_allowed(&pol, "c.test"));
	assert_string_equal(xs2s_policy_why(&pol, "c.test"), "on the deny list");
	assert_false(xs2s_policy_allowed(&pol, "d.test"));
	assert_string_equal(xs2s_policy_why(&pol, "d.test"), "not on the allow list");
}

static void test_bad_lists(void **state)
{
	static char big[CONFIG_XS2S_POLICY_LIST_BYTES + 64];
	size_t n = 0;

	(void)state;
	assert_int_equal(init("b.test a@b.test", NULL, 0, 0, 0), XS2S_EINVAL); /* not a domain */
	assert_int_equal(init(NULL, "b..test", 0, 0, 0), XS2S_EINVAL);
	while (n + 8 < sizeof big - 1) {
		memcpy(big + n, "x.test ", 7);
		n += 7;
	}
	big[n] = '\0';
	assert_int_equal(init(NULL, big, 0, 0, 0), XS2S_EINVAL); /* does not fit CONFIG_XS2S_POLICY_LIST_BYTES */
}

/* 4 stanzas/s, bursts of 3, cut after 2 s. */
static void test_bucket(void **state)
{
	struct xs2s_rate r;
	uint32_t t = 0xfffff000u; /* crosses the 32-bit wrap */
	int i;

	(void)state;
	assert_int_equal(init(NULL, NULL, 4, 3, 2), XS2S_OK);
	xs2s_policy_rate_reset(&r);
	assert_false(xs2s_policy_rate_hold(&pol, &r, t)); /* not started: never held */
	for (i = 0; i < 3; i++) {
		assert_false(xs2s_policy_rate_hold(&pol, &r, t));
		xs2s_policy_rate_take(&pol, &r, t);
	}
	assert_true(xs2s_policy_rate_hold(&pol, &r, t)); /* the burst is used up */
	assert_int_equal(pol.delayed, 1);
	assert_int_equal(xs2s_policy_rate_wait(&pol, &r, t), 250);
	assert_true(xs2s_policy_rate_hold(&pol, &r, t + 249));
	assert_int_equal(pol.delayed, 1); /* one wait, counted once */
	assert_int_equal(xs2s_policy_rate_wait(&pol, &r, t + 249), 1);
	assert_false(xs2s_policy_rate_hold(&pol, &r, t + 250));
	xs2s_policy_rate_take(&pol, &r, t + 250);
	assert_true(xs2s_policy_rate_hold(&pol, &r, t + 250));
	assert_int_equal(pol.delayed, 2);
	/* kept busy at the rate: the episode started at t; cut after 2 s */
	for (i = 2; i <= 7; i++) {
		assert_false(xs2s_policy_rate_hold(&pol, &r, t + 250u * (uint32_t)i));
		xs2s_policy_rate_take(&pol, &r, t + 250u * (uint32_t)i);
		assert_true(xs2s_policy_rate_hold(&pol, &r, t + 250u * (uint32_t)i));
		assert_false(xs2s_policy_rate_cut(&pol, &r, t + 250u * (uint32_t)i));
	}
	assert_true(xs2s_policy_rate_cut(&pol, &r, t + 2000));
	assert_int_equal(pol.cut, 1);
}

/* A pause of two tokens' time ends the episode: no cut for a peer under its rate. */
static void test_bucket_pause(void **state)
{
	struct xs2s_rate r;
	uint32_t t = 1000;
	int i;

	(void)state;
	assert_int_equal(init(NULL, NULL, 4, 3, 2), XS2S_OK);
	xs2s_policy_rate_reset(&r);
	for (i = 0; i < 3; i++)
		xs2s_policy_rate_take(&pol, &r, t);
	assert_true(xs2s_policy_rate_hold(&pol, &r, t)); /* over since t */
	assert_false(xs2s_policy_rate_hold(&pol, &r, t + 250)); /* one token: still over */
	assert_true(r.over);
	assert_false(xs2s_policy_rate_hold(&pol, &r, t + 500)); /* two banked: the peer paused */
	assert_false(r.over);
	assert_false(xs2s_policy_rate_cut(&pol, &r, t + 5000));
	/* the bucket never holds more than the burst */
	assert_false(xs2s_policy_rate_hold(&pol, &r, t + 60000));
	for (i = 0; i < 3; i++)
		xs2s_policy_rate_take(&pol, &r, t + 60000);
	assert_true(xs2s_policy_rate_hold(&pol, &r, t + 60000));
	/* no rate: nothing is ever held */
	assert_int_equal(init(NULL, NULL, 0, 3, 2), XS2S_OK);
	xs2s_policy_rate_reset(&r);
	for (i = 0; i < 100; i++)
		xs2s_policy_rate_take(&pol, &r, t);
	assert_false(xs2s_policy_rate_hold(&pol, &r, t));
	assert_int_equal(xs2s_policy_rate_wait(&pol, &r, t), UINT32_MAX);
}
#endif

int main(void)
{
#if CONFIG_XS2S_POLICY
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lists),
		cmocka_unit_test(test_bad_lists),
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_bucket_pause),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#else
	return 0; /* built without XS2S_POLICY: nothing to test */
#endif
}
