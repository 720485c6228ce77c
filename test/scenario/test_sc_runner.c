/* The runner itself: scripts that MUST fail do fail (a test that cannot fail
 * is a defect), and the fake port keeps its contract. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

static int must_fail(const struct sc_step *steps, const char *why)
{
	struct sc_scenario s = { "must-fail", steps, 0, NULL, NULL };
	int rc;

	sc_set_quiet(true);
	rc = sc_run(&s, FAKE_WHOLE, 1, NULL);
	sc_set_quiet(false);
	if (rc == 0)
		return 0;
	if (!strstr(sc_error(), why)) {
		print_error("failed for another reason: %s (expected '%s')\n", sc_error(), why);
		return 0;
	}
	return 1;
}

static const struct sc_step open_in[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	END(),
};

/* A wrong byte in a pattern. */
static const struct sc_step wrong_expect[] = {
	INCLUDE(open_in),
	EXPECT(PI, HDR_ID("a.test", "c.test", "${id}")),
	END(),
};
/* A bound variable with another value. */
static const struct sc_step wrong_variable[] = {
	INCLUDE(open_in),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${id}")),
	CONNECT(PI2),
	SEND(PI2, HDR("b.test", "a.test")),
	EXPECT(PI2, HDR_ID("a.test", "b.test", "${id}") FEATURES_IN),
	END(),
};
/* Output no step EXPECTed (the features). */
static const struct sc_step unconsumed[] = {
	INCLUDE(open_in),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${id}")),
	END(),
};
static const struct sc_step not_nothing[] = {
	INCLUDE(open_in),
	EXPECT_NOTHING(PI),
	END(),
};
static const struct sc_step not_closed[] = {
	INCLUDE(open_in),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${id}") FEATURES_IN),
	EXPECT_CLOSED(PI),
	END(),
};
/* A connection the engine opened that no step accepted. */
static const struct sc_step unaccepted[] = {
	APP_SEND("u@a.test", "x@b.test", "x", XS2S_OK),
	END(),
};
/* An inbox entry no step took, and a wrong one. */
static const struct sc_step inbox_left[] = {
	APP_SEND("u@a.test", "v@alias.test", "x", XS2S_OK),
	END(),
};
static const struct sc_step inbox_wrong[] = {
	APP_SEND("u@a.test", "v@alias.test", "x", XS2S_OK),
	INBOX("u@a.test", "v@alias.test", "chat", "", "y"),
	END(),
};
static const struct sc_step send_rc[] = {
	APP_SEND("u@a.test", "x@b.test", "x", XS2S_EINVAL),
	END(),
};
static const struct sc_step log_missing[] = {
	LOG_HAS("no such line"),
	END(),
};
static const struct sc_step unbound[] = {
	CONNECT(PI),
	SEND(PI, "${nothing}"),
	END(),
};

static void test_runner_fails_when_it_must(void **state)
{
	(void)state;
	assert_true(must_fail(wrong_expect, "output differs"));
	assert_true(must_fail(wrong_variable, "output differs"));
	assert_true(must_fail(unconsumed, "no step EXPECTed"));
	assert_true(must_fail(not_nothing, "more bytes"));
	assert_true(must_fail(not_closed, "did not close"));
	assert_true(must_fail(unaccepted, "no step ACCEPTed"));
	assert_true(must_fail(inbox_left, "unexpected inbox entry"));
	assert_true(must_fail(inbox_wrong, "inbox body"));
	assert_true(must_fail(send_rc, "expected EINVAL"));
	assert_true(must_fail(log_missing, "no log line"));
	assert_true(must_fail(unbound, "not bound"));
}

/* XEP-0185 section 3's example, through the runner's own key function. */
static void test_dbkey_vector(void **state)
{
	char key[65];

	(void)state;
	sc_dbkey("s3cr3tf0rd14lb4ck", "xmpp.example.com", "example.org", "D60000229F", key);
	assert_string_equal(key, "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643");
}

/* The fake port: delivery modes, capacity, EOF, reset, refused, handles. */
static void test_fake_port_contract(void **state)
{
	static const enum fake_delivery modes[] = { FAKE_WHOLE, FAKE_BYTE, FAKE_SPLIT };
	unsigned m;

	(void)state;
	for (m = 0; m < 3; m++) {
		xs2s_sock el, l, e, t, c;
		struct xs2s_pollfd pf;
		char buf[64];
		int n, got = 0;
		const char *first;

		fake_reset(1, modes[m], 2);
		assert_int_equal(xs2s_port_listen("192.0.2.1", 5269, &el), XS2S_OK);
		l = el;
		assert_int_equal(xs2s_port_listen("192.0.2.1", 5269, &e), XS2S_EIO); /* in use */
		assert_int_equal(fake_tcp_connect("192.0.2.1:5269", "198.51.100.7:1234", &t), XS2S_OK);
		pf.sock = l;
		pf.want = XS2S_POLL_IN;
		assert_int_equal(xs2s_port_poll(&pf, 1, 500), 1);
		assert_int_equal(fake_poll_timeout(), 500);
		assert_int_equal(xs2s_port_accept(l, &e, buf), XS2S_OK);
		assert_string_equal(buf, "198.51.100.7:1234");
		fake_set_capacity(8);
		assert_int_equal(fake_tcp_write(t, "0123456789abcdef", 16), 16); /* capacity applies to new connections */
		while (got < 16) {
			n = xs2s_port_recv(e, buf + got, sizeof buf - (size_t)got);
			if (n == XS2S_EWANTREAD && modes[m] != FAKE_WHOLE) {
				/* One segment per poll round. */
				pf.sock = e;
				pf.want = XS2S_POLL_IN;
				assert_int_equal(xs2s_port_poll(&pf, 1, 0), 1);
				continue;
			}
			assert_true(n > 0);
			if (modes[m] == FAKE_BYTE)
				assert_int_equal(n, 1);
			got += n;
		}
		assert_memory_equal(buf, "0123456789abcdef", 16);
		assert_int_equal(xs2s_port_recv(e, buf, sizeof buf), XS2S_EWANTREAD);
		fake_tcp_close(t);
		assert_int_equal(xs2s_port_recv(e, buf, sizeof buf), XS2S_EIO); /* EOF */
		assert_int_equal(xs2s_port_send(e, "x", 1), XS2S_EIO);
		xs2s_port_close(e);
		/* A small pipe: EWANTWRITE, never a loss. */
		assert_int_equal(fake_tcp_listen("192.0.2.2:5269", &l), XS2S_OK);
		assert_int_equal(xs2s_port_connect("192.0.2.2", 5269, &c), XS2S_OK);
		assert_int_equal(xs2s_port_connect_done(c), XS2S_EAGAIN);
		pf.sock = c;
		pf.want = XS2S_POLL_OUT;
		assert_int_equal(xs2s_port_poll(&pf, 1, 0), 1);
		assert_int_equal(xs2s_port_connect_done(c), XS2S_OK);
		assert_int_equal(fake_tcp_accept(l, &t), XS2S_OK);
		for (got = 0; got < 8;) {
			n = xs2s_port_send(c, "abcdefghij", 10 - (size_t)got);
			if (n == XS2S_EWANTWRITE && modes[m] != FAKE_WHOLE) {
				assert_int_equal(xs2s_port_poll(&pf, 1, 0), 1);
				continue;
			}
			assert_true(n > 0);
			got += n;
		}
		xs2s_port_poll(&pf, 1, 0);
		assert_int_equal(xs2s_port_send(c, "z", 1), XS2S_EWANTWRITE); /* full */
		assert_int_equal(fake_tcp_read(t, buf, sizeof buf) > 0, 1);
		fake_tcp_abort(t);
		assert_int_equal(xs2s_port_recv(c, buf, sizeof buf), XS2S_EIO);
		xs2s_port_close(c);
		/* Refused and black-holed connects. */
		assert_int_equal(xs2s_port_connect("192.0.2.9", 1, &c), XS2S_OK);
		pf.sock = c;
		assert_int_equal(xs2s_port_poll(&pf, 1, 0), 1);
		assert_true(pf.got & XS2S_POLL_ERR);
		assert_int_equal(xs2s_port_connect_done(c), XS2S_EIO);
		xs2s_port_close(c);
		assert_int_equal(fake_tcp_blackhole("192.0.2.10:1"), XS2S_OK);
		assert_int_equal(xs2s_port_connect("192.0.2.10", 1, &c), XS2S_OK);
		pf.sock = c;
		assert_int_equal(xs2s_port_poll(&pf, 1, 0), 0);
		xs2s_port_close(c);
		/* UDP to nobody: port unreachable. */
		assert_int_equal(xs2s_port_udp_open("192.0.2.53", 53, &c), XS2S_OK);
		assert_int_equal(xs2s_port_udp_send(c, "q", 1), XS2S_OK);
		assert_int_equal(xs2s_port_udp_recv(c, buf, sizeof buf), XS2S_EIO);
		assert_int_equal(xs2s_port_udp_recv(c, buf, sizeof buf), XS2S_EWANTREAD);
		xs2s_port_close(c);
		/* Stale handles and the wrong side are violations, not crashes. */
		assert_int_equal(fake_violations(NULL), 0);
		xs2s_port_close(c);
		assert_int_equal(xs2s_port_recv(l, buf, sizeof buf), XS2S_EIO);
		assert_int_equal(fake_violations(&first), 2);
		assert_non_null(strstr(first, "closed"));
		assert_int_equal(fake_open_engine(), 1); /* the listener */
		xs2s_port_close(el);
		assert_int_equal(fake_open_engine(), 0);
		assert_int_equal(fake_open_test(), 1);
		fake_close_test_sockets();
		assert_int_equal(fake_open_test(), 0);
		assert_int_equal(fake_violations(NULL), 2);
		/* The clock moves only when told; entropy repeats per seed. */
		assert_int_equal(fake_now(), FAKE_CLOCK_START);
		fake_advance(200000);
		assert_int_equal(fake_now(), (uint32_t)(FAKE_CLOCK_START + 200000u)); /* wrapped */
		{
			uint8_t r1[16], r2[16];

			fake_reset(7, modes[m], 99);
			xs2s_port_random(r1, sizeof r1);
			fake_reset(7, FAKE_WHOLE, 1);
			xs2s_port_random(r2, sizeof r2);
			assert_memory_equal(r1, r2, sizeof r1);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runner_fails_when_it_must),
		cmocka_unit_test(test_dbkey_vector),
		cmocka_unit_test(test_fake_port_contract),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
