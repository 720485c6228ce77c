/* Per-peer policy (XEP-0205, engine/policy.c): the deny and allow lists
 * inbound (the stream error policy-violation, RFC 6120 4.9.3.14) and
 * outbound (a not-allowed bounce, RFC 6120 8.3.3.10, no connection), and
 * the stanza rate of an inbound stream: a token bucket whose excess waits
 * unread (TCP pushes back) and which, held for SC_RATE_HARD_S without a
 * break, ends the stream with policy-violation. Counters in status. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

#define MS(s) ((s) * 1000)
#define TOKEN_MS (1000 / SC_RATE_PER_S)

#if CONFIG_XS2S_POLICY

/* A stanza to a denied domain bounces with not-allowed and its reason; no
 * lookup, no connection; other domains are not affected. */
static const struct sc_step deny_outbound[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INBOX("x@b.test", "u@a.test", "error", "not-allowed", "one"),
	INBOX_WHY("b.test may not federate with this server (on the deny list, XEP-0205)"),
	APP_RAW_TRACKED("<message from='u@a.test' to='x@b.test/r' id='m2'><body>two</body></message>", XS2S_OK),
	APP_EVENT("done m2 bounced not-allowed b.test may not federate with this server (on the deny list, XEP-0205)"),
	NO_CONNECT("b.test"),
	LOG_HAS("stanza from a.test to b.test refused: b.test may not federate with this server (on the deny list"),
	JSON_HAS("\"policy_denied_in\":0,\"policy_denied_out\":2"),
	STATUS_HAS("policy_denied_out 2\n"),
	APP_SEND("u@a.test", "x@c.test", "three", XS2S_OK),
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR("a.test", "c.test")),
	END(),
};
SC_TEST(deny_outbound, SC_DENY_B)

/* A stream whose header names a denied domain: policy-violation at once. */
static const struct sc_step deny_inbound_header[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI),
	LOG_HAS("b.test may not federate with this server (on the deny list, XEP-0205); stream error: policy-violation"),
	JSON_HAS("\"policy_denied_in\":1,\"policy_denied_out\":0"),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(deny_inbound_header, SC_DENY_B)

/* ... or that asks to authenticate as one by dialback (XEP-0220 2.1)
 * on a stream opened for another: refused before any verification. */
static const struct sc_step deny_inbound_dialback[] = {
	CONNECT(PI),
	SEND(PI, HDR("c.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "c.test", "${in_id}") FEATURES_IN),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	EXPECT(PI, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI),
	NO_CONNECT("b.test"),
	JSON_HAS("\"policy_denied_in\":1"),
	END(),
};
SC_TEST(deny_inbound_dialback, SC_DENY_B)

/* With an allow list only its domains federate: nowhere.test is refused
 * before any lookup (without the list: remote-server-not-found after it,
 * test_sc_outbound's out_no_address), b.test works both ways. */
static const struct sc_step allow_list[] = {
	APP_SEND("u@a.test", "x@nowhere.test", "one", XS2S_OK),
	INBOX("x@nowhere.test", "u@a.test", "error", "not-allowed", "one"),
	LOG_HAS("nowhere.test may not federate with this server (not on the allow list, XEP-0205)"),
	INCLUDE(SC_IN_AUTH_B),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i2", "two")),
	CONNECT(PI2),
	SEND(PI2, HDR("refused.test", "a.test")),
	EXPECT(PI2, HDR_ID("a.test", "refused.test", "${id2}") STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI2),
	JSON_HAS("\"policy_denied_in\":1,\"policy_denied_out\":1"),
	END(),
};
SC_TEST(allow_list, SC_ALLOW_BC)

/* The deny list wins over the allow list. */
static const struct sc_step deny_wins[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INBOX("x@b.test", "u@a.test", "error", "not-allowed", "one"),
	LOG_HAS("b.test may not federate with this server (on the deny list, XEP-0205)"),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(deny_wins, SC_ALLOW_BC | SC_DENY_B)

/* ---- the stanza rate (SC_RATE_PER_S, bursts of SC_RATE_BURST) ---- */

#define FL(p, n) "<message from='x@b.test' to='u@a.test'><body>" p #n "</body></message>"

/* A burst goes through; the rest waits, unread, one token each; a pause
 * ends the episode (no cut). */
static const struct sc_step rate_delays[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, FL("a", 0) FL("a", 1) FL("a", 2) FL("b", 0) FL("b", 1)),
	INBOX_MANY("x@b.test", "u@a.test", "normal", "", "a", SC_RATE_BURST),
	INBOX_EMPTY(),
	ADVANCE(TOKEN_MS - 1),
	INBOX_EMPTY(),
	ADVANCE(1),
	INBOX("x@b.test", "u@a.test", "normal", "", "b0"),
	INBOX_EMPTY(),
	ADVANCE(TOKEN_MS),
	INBOX("x@b.test", "u@a.test", "normal", "", "b1"),
	ADVANCE(MS(SC_RATE_HARD_S) * 2),
	EXPECT_NOTHING(PI),
	JSON_HAS("\"rate_delayed\":3,\"rate_cut\":0"),
	STATUS_HAS("in   a.test           b.test           open"),
	END(),
};
SC_TEST(rate_delays, SC_RATE)

/* A peer that keeps more waiting than its rate lets through for
 * SC_RATE_HARD_S: policy-violation; what it had delivered until then
 * was delivered in order. */
#define FL10(p) FL(p, 0) FL(p, 1) FL(p, 2) FL(p, 3) FL(p, 4) FL(p, 5) FL(p, 6) FL(p, 7) FL(p, 8) FL(p, 9)
static const struct sc_step rate_hard_limit[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, FL("a", 0) FL("a", 1) FL("a", 2) FL10("b") FL10("c")),
	INBOX_MANY("x@b.test", "u@a.test", "normal", "", "a", SC_RATE_BURST),
	ADVANCE(MS(SC_RATE_HARD_S) - 1),
	INBOX_MANY("x@b.test", "u@a.test", "normal", "", "b", SC_RATE_HARD_S * SC_RATE_PER_S - 1),
	INBOX_EMPTY(),
	EXPECT_NOTHING(PI),
	ADVANCE(1),
	INBOX("x@b.test", "u@a.test", "normal", "", "b9"),
	EXPECT(PI, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI),
	LOG_HAS("b.test kept sending faster than 2 stanzas/s for 5 s (XEP-0205); stream error: policy-violation"),
	JSON_HAS("\"rate_cut\":1"),
	INBOX_EMPTY(),
	END(),
};
#if SC_RATE_HARD_S * SC_RATE_PER_S == 10
SC_TEST(rate_hard_limit, SC_RATE)
#endif

/* Without a rate nothing waits. */
static const struct sc_step rate_off[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, FL("a", 0) FL("a", 1) FL("a", 2) FL10("b")),
	INBOX_MANY("x@b.test", "u@a.test", "normal", "", "a", 3),
	INBOX_MANY("x@b.test", "u@a.test", "normal", "", "b", 10),
	JSON_HAS("\"rate_delayed\":0,\"rate_cut\":0"),
	END(),
};
SC_TEST(rate_off, 0)

#endif /* CONFIG_XS2S_POLICY */

int main(void)
{
#if !CONFIG_XS2S_POLICY
	/* Built without per-peer policy: every domain federates, nothing is
	 * rate limited; rate_off (and every other scenario) covers that. */
	return 0;
#else
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_deny_outbound),
		cmocka_unit_test(test_deny_inbound_header),
		cmocka_unit_test(test_deny_inbound_dialback),
		cmocka_unit_test(test_allow_list),
		cmocka_unit_test(test_deny_wins),
		cmocka_unit_test(test_rate_delays),
#if SC_RATE_HARD_S * SC_RATE_PER_S == 10
		cmocka_unit_test(test_rate_hard_limit),
#endif
		cmocka_unit_test(test_rate_off),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
#endif
}
