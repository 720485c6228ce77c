/* Device accounts (app/account.h): presence subscriptions by policy (allow
 * list, accept-all, ask with a later answer), probes, unsubscribe, presence
 * changes, presence when the route to a subscriber's domain comes up (once
 * at start, again after the route was down), unavailable at stop, a full
 * table, and the store (saved after each change, reloaded at start). The
 * account is sensor@a.test; b.test's subscribers speak on PI, the engine
 * answers on its own outbound stream PA (RFC 6120 2.1). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "scenarios.h"
#include "engine_drv.h"
#include "xs2s_app.h"
#include "xs2s_err.h"

#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE

#define ACCT "sensor@a.test"
#define FROM_ACCT "from='" ACCT "'"
/* What the account sends, ids captured (each variable once per script). */
#define SUBSCRIBED(to, id) "<presence type='subscribed' " FROM_ACCT " to='" to "' id='${" id "}'/>"
#define UNSUBSCRIBED(to, id) "<presence type='unsubscribed' " FROM_ACCT " to='" to "' id='${" id "}'/>"
#define UNAVAILABLE(to, id) "<presence type='unavailable' " FROM_ACCT " to='" to "' id='${" id "}'/>"
#define AVAILABLE(to, id) "<presence " FROM_ACCT " to='" to "' id='${" id "}'/>"
/* What b.test's users send. */
#define PRES_IN(from, type, id) "<presence from='" from "' to='" ACCT "' type='" type "' id='" id "'/>"

static const struct sc_accounts allow_b = { ACCT, XS2S_SUB_ALLOW_LIST, "b.test", false, true, NULL };
static const struct sc_accounts allow_some = { ACCT, XS2S_SUB_ALLOW_LIST, "c.test y@b.test", false, true, NULL };
static const struct sc_accounts accept_all = { ACCT, XS2S_SUB_ACCEPT_ALL, NULL, false, true, NULL };
static const struct sc_accounts ask = { ACCT, XS2S_SUB_ASK, NULL, true, true, NULL };
/* A restart: the store holds a subscriber and a request still waiting. */
#define SAVED_X "sensor@a.test x@b.test subscribed\n"
static const struct sc_accounts restart = { ACCT, XS2S_SUB_ASK, NULL, true, true,
					    SAVED_X "sensor@a.test y@b.test pending\n" };
static const struct sc_accounts restart_no_ask = { ACCT, XS2S_SUB_ACCEPT_ALL, NULL, false, true, SAVED_X };

/* A second outbound stream to b.test on PA2, from scratch. */
static const struct sc_step out_open_b_again[] = {
	ACCEPT(PA2, "b.test"),
	EXPECT(PA2, HDR("a.test", "b.test")),
	SEND(PA2, HDR_ID("b.test", "a.test", "out-2") FEATURES_DB),
	DBKEY("kb2", "b.test", "a.test", "out-2"),
	EXPECT(PA2, "<db:result from='a.test' to='b.test'>${kb2}</db:result>"),
	SEND(PA2, "<db:result from='b.test' to='a.test' type='valid'/>"),
	END(),
};

/* RFC 6121 3.1.3 (allowed by the configuration), 3.1.5: subscribed, then
 * the presence; saved once. Asked again: subscribed again (3.1.3), and the
 * presence; nothing to save. */
static const struct sc_step sub_accepted[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, PRES_IN("x@b.test/r", "subscribe", "s1")),
	EXPECT(PA, SUBSCRIBED("x@b.test", "i1") AVAILABLE("x@b.test", "i2")),
	STORE_IS_N(SAVED_X, 1),
	LOG_HAS("account sensor@a.test: subscription request from x@b.test accepted (allow list)"),
	JSON_HAS("\"accounts\":{\"used\":1,\"high\":1,"),
	JSON_HAS("\"subscriptions\":{\"used\":1,\"high\":1,"),
	STATUS_HAS("  subscriptions               1 /"),
	/* The localpart is case-folded, the resource dropped. */
	SEND(PI, "<presence from='X@b.test/other' to='sensor@a.test/any' type='subscribe'/>"),
	EXPECT(PA, SUBSCRIBED("x@b.test", "i3") AVAILABLE("x@b.test", "i4")),
	STORE_IS_N(SAVED_X, 1),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST_ACCT(sub_accepted, 0, &allow_b)

/* The allow list names JIDs and domains; anyone else is refused with
 * unsubscribed (3.1.4) and nothing is kept. Presence that is not
 * subscription management is ignored, and so is a subscription request to a
 * local JID that is no account (RFC 6121 8.5.1). */
static const struct sc_step sub_refused[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, PRES_IN("x@b.test", "subscribe", "s1")),
	EXPECT(PA, UNSUBSCRIBED("x@b.test", "i1")),
	STORE_IS_N("", 0),
	LOG_HAS("subscription request from x@b.test refused (not in the allow list)"),
	SEND(PI, PRES_IN("y@b.test/r", "subscribe", "s2")),
	EXPECT(PA, SUBSCRIBED("y@b.test", "i2") AVAILABLE("y@b.test", "i3")),
	STORE_IS_N("sensor@a.test y@b.test subscribed\n", 1),
	SEND(PI, "<presence from='x@b.test/r' to='sensor@a.test'/>"
		 "<presence from='x@b.test/r' to='sensor@a.test' type='unavailable'/>"
		 "<presence from='x@b.test/r' to='sensor@a.test' type='subscribed'/>"
		 "<presence from='x@b.test/r' to='sensor@a.test' type='unsubscribed'/>"
		 "<presence from='x@b.test/r' to='u@a.test' type='subscribe'/>"),
	EXPECT_NOTHING(PA),
	EXPECT_NOTHING(PI),
	INBOX_EMPTY(),
	END(),
};
SC_TEST_ACCT(sub_refused, 0, &allow_some)

/* Policy ask: the request waits in the table (saved: pending) and the
 * callback is called once; the application answers later: accept
 * (subscribed + presence), refuse (unsubscribed). A request withdrawn by
 * unsubscribe is forgotten (3.3.3); refusing a subscriber cancels its
 * subscription (3.2.2: unavailable, then unsubscribed). */
static const struct sc_step sub_ask[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, PRES_IN("x@b.test/r", "subscribe", "s1")),
	ASKED(ACCT, "x@b.test"),
	STORE_IS_N("sensor@a.test x@b.test pending\n", 1),
	SEND(PI, PRES_IN("x@b.test/r", "subscribe", "s2")),
	SEND(PI, PRES_IN("y@b.test", "subscribe", "s3")),
	ASKED(ACCT, "y@b.test"),
	EXPECT_NOTHING(PA),
	/* A probe from who only asked: not subscribed (4.3.2). */
	SEND(PI, PRES_IN("x@b.test/r", "probe", "p1")),
	EXPECT(PA, UNSUBSCRIBED("x@b.test", "i0")),
	ACCT_ANSWER(ACCT, "x@b.test", true, XS2S_OK),
	EXPECT(PA, SUBSCRIBED("x@b.test", "i1") AVAILABLE("x@b.test", "i2")),
	ACCT_ANSWER(ACCT, "Y@b.test/r", false, XS2S_OK),
	EXPECT(PA, UNSUBSCRIBED("y@b.test", "i3")),
	STORE_IS_N(SAVED_X, 4),
	ACCT_ANSWER(ACCT, "y@b.test", true, XS2S_ENOTFOUND),
	ACCT_ANSWER("nobody@a.test", "x@b.test", true, XS2S_ENOTFOUND),
	ACCT_ANSWER(ACCT, "x@b.test", true, XS2S_OK), /* subscribed already */
	SEND(PI, PRES_IN("z@b.test", "subscribe", "s4")),
	ASKED(ACCT, "z@b.test"),
	SEND(PI, PRES_IN("z@b.test", "unsubscribe", "u1")),
	STORE_IS_N(SAVED_X, 6),
	ACCT_ANSWER(ACCT, "z@b.test", true, XS2S_ENOTFOUND),
	ACCT_ANSWER(ACCT, "x@b.test", false, XS2S_OK),
	EXPECT(PA, UNAVAILABLE("x@b.test", "i4") UNSUBSCRIBED("x@b.test", "i5")),
	STORE_IS_N("", 7),
	EXPECT_NOTHING(PA),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST_ACCT(sub_ask, 0, &ask)

/* RFC 6121 4.3.2: a subscriber's probe gets the current presence (to the
 * JID that probed); anyone else gets unsubscribed. Presence changes go to
 * every subscriber; unavailable with its status, also as a probe's answer. */
static const struct sc_step probe_and_changes[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, PRES_IN("x@b.test/r", "subscribe", "s1")),
	EXPECT(PA, SUBSCRIBED("x@b.test", "i1") AVAILABLE("x@b.test", "i2")),
	SEND(PI, PRES_IN("x@b.test/r", "probe", "p1")),
	EXPECT(PA, AVAILABLE("x@b.test/r", "i3")),
	SEND(PI, PRES_IN("y@b.test/r", "probe", "p2")),
	EXPECT(PA, UNSUBSCRIBED("y@b.test", "i4")),
	ACCT_PRESENCE(ACCT, 1, "away", "charging & <ok>", XS2S_OK),
	EXPECT(PA, "<presence " FROM_ACCT " to='x@b.test' id='${i5}'><show>away</show>"
		   "<status>charging &amp; &lt;ok&gt;</status></presence>"),
	SEND(PI, PRES_IN("x@b.test", "probe", "p3")),
	EXPECT(PA, "<presence " FROM_ACCT " to='x@b.test' id='${i6}'><show>away</show>"
		   "<status>charging &amp; &lt;ok&gt;</status></presence>"),
	ACCT_PRESENCE(ACCT, 0, "dnd", "off for the night", XS2S_OK),
	EXPECT(PA, "<presence type='unavailable' " FROM_ACCT " to='x@b.test' id='${i7}'>"
		   "<status>off for the night</status></presence>"),
	SEND(PI, PRES_IN("x@b.test/r", "probe", "p4")),
	EXPECT(PA, "<presence type='unavailable' " FROM_ACCT " to='x@b.test/r' id='${i8}'>"
		   "<status>off for the night</status></presence>"),
	ACCT_PRESENCE(ACCT, 1, "bogus", NULL, XS2S_EINVAL),
	ACCT_PRESENCE("nobody@a.test", 1, NULL, NULL, XS2S_ENOTFOUND),
	ACCT_PRESENCE(ACCT, 1, NULL, NULL, XS2S_OK),
	EXPECT(PA, AVAILABLE("x@b.test", "i9")),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST_ACCT(probe_and_changes, 0, &accept_all)

/* RFC 6121 3.3.3: unsubscribe removes the subscriber, who gets unavailable
 * presence; a probe then gets unsubscribed; a repeated unsubscribe is
 * ignored. */
static const struct sc_step unsubscribe[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, PRES_IN("x@b.test/r", "subscribe", "s1")),
	EXPECT(PA, SUBSCRIBED("x@b.test", "i1") AVAILABLE("x@b.test", "i2")),
	STORE_IS_N(SAVED_X, 1),
	SEND(PI, PRES_IN("x@b.test", "unsubscribe", "u1")),
	EXPECT(PA, UNAVAILABLE("x@b.test", "i3")),
	STORE_IS_N("", 2),
	LOG_HAS("account sensor@a.test: x@b.test unsubscribed"),
	SEND(PI, PRES_IN("x@b.test/r", "probe", "p1")),
	EXPECT(PA, UNSUBSCRIBED("x@b.test", "i4")),
	SEND(PI, PRES_IN("x@b.test", "unsubscribe", "u2")),
	EXPECT_NOTHING(PA),
	JSON_HAS("\"subscriptions\":{\"used\":0,\"high\":1,"),
	END(),
};
SC_TEST_ACCT(unsubscribe, 0, &accept_all)

/* A restart: the store's subscriber gets the presence once the route to
 * b.test is up (it waited in the route's queue: the route coming up does
 * not send it twice); the waiting request is asked again (3.1.3); nothing
 * is saved by loading. The route goes down and comes up again: the
 * presence goes again, after what opened it. */
static const struct sc_step restart_route_up[] = {
	ASKED(ACCT, "y@b.test"),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, AVAILABLE("x@b.test", "p1")),
	EXPECT_NOTHING(PA),
	STORE_IS_N("", 0),
	JSON_HAS("\"subscriptions\":{\"used\":2,\"high\":2,"),
	LOG_HAS("accounts: 1 declared, 2 subscriptions loaded, policy ask"),
	SEND(PA, STREAM_CLOSE),
	EXPECT(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	INCLUDE(out_open_b_again),
	EXPECT(PA2, APP_MSG("u@a.test", "x@b.test", "m1", "hello") AVAILABLE("x@b.test", "p2")),
	EXPECT_NOTHING(PA2),
	END(),
};
SC_TEST_ACCT(restart_route_up, 0, &restart)

/* The presence of the start cannot be delivered (the route fails before it
 * is authenticated): it is not lost for good; it goes when the route comes
 * up later. */
static const struct sc_step route_failed_then_up[] = {
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	ABORT(PA),
	LOG_HAS("bounced presence from sensor@a.test to x@b.test: remote-server-not-found"),
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	INCLUDE(out_open_b_again),
	EXPECT(PA2, APP_MSG("u@a.test", "x@b.test", "m1", "hello") AVAILABLE("x@b.test", "p2")),
	EXPECT_NOTHING(PA2),
	INBOX_EMPTY(),
	END(),
};
SC_TEST_ACCT(route_failed_then_up, 0, &restart_no_ask)

/* RFC 6121 4.5.2: at stop, the subscribers that had the presence get
 * unavailable before the stream closes. */
static const struct sc_step stop_unavailable[] = {
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, AVAILABLE("x@b.test", "p1")),
	STOP(),
	EXPECT(PA, UNAVAILABLE("x@b.test", "p2") STREAM_CLOSE),
	SEND(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	IDLE(),
	END(),
};
SC_TEST_ACCT(stop_unavailable, 0, &restart_no_ask)

/* Accounts declared after start: one the store kept gets its subscribers
 * back (and sends its presence); a JID that is no bare JID of ours is
 * refused. */
static const struct sc_accounts kept = { NULL, XS2S_SUB_ACCEPT_ALL, NULL, false, true, SAVED_X };
static const struct sc_step add_later[] = {
	NO_CONNECT("b.test"),
	LOG_HAS("the store holds subscriptions of sensor@a.test, which is not declared as an account: kept"),
	ACCT_ADD("sensor@b.test", XS2S_EINVAL),
	ACCT_ADD("sensor@a.test/res", XS2S_EINVAL),
	ACCT_ADD("a.test", XS2S_EINVAL),
	ACCT_ADD(ACCT, XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, AVAILABLE("x@b.test", "p1")),
	ACCT_ADD(ACCT, XS2S_OK),
	EXPECT_NOTHING(PA),
	END(),
};

/* The table is full: a new request gets resource-constraint (RFC 6120
 * 8.3.3.18, type wait: its server may ask again), logged and counted; once
 * a row is free, the request succeeds. The store holds
 * CONFIG_XS2S_APP_SUBSCRIPTIONS waiting requests (no ask callback). */
static char full_store[CONFIG_XS2S_APP_SUBSCRIPTIONS * 48 + 1];
static char full_json[96];
static const struct sc_accounts full = { ACCT, XS2S_SUB_ACCEPT_ALL, NULL, false, true, full_store };
static const struct sc_step table_full[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, PRES_IN("x@b.test/r", "subscribe", "f1")),
	EXPECT(PA, "<presence type='error' from='sensor@a.test' to='x@b.test/r' id='f1'><error type='wait'>"
		   "<resource-constraint xmlns='" NS_STANZA_ERR "'/><text xmlns='" NS_STANZA_ERR "'>"
		   "subscription table full</text></error></presence>"),
	LOG_HAS("subscription request from x@b.test refused: the subscription table is full"),
	JSON_HAS(full_json),
	ACCT_ANSWER(ACCT, "c0@b.test", false, XS2S_OK),
	EXPECT(PA, UNSUBSCRIBED("c0@b.test", "i1")),
	SEND(PI, PRES_IN("x@b.test/r", "subscribe", "f2")),
	EXPECT(PA, SUBSCRIBED("x@b.test", "i2") AVAILABLE("x@b.test", "i3")),
	EXPECT_NOTHING(PA),
	END(),
};

static void test_table_full(void **state)
{
	static const struct sc_scenario sc = { "table_full", table_full, 0, NULL, &full };
	size_t n = 0;
	unsigned i;

	(void)state;
	for (i = 0; i < CONFIG_XS2S_APP_SUBSCRIPTIONS; i++)
		n += (size_t)snprintf(full_store + n, sizeof full_store - n, "sensor@a.test c%u@b.test pending\n", i);
	snprintf(full_json, sizeof full_json, "\"subscriptions\":{\"used\":%d,\"high\":%d,\"size\":%d,\"fails\":1}",
		 CONFIG_XS2S_APP_SUBSCRIPTIONS, CONFIG_XS2S_APP_SUBSCRIPTIONS, CONFIG_XS2S_APP_SUBSCRIPTIONS);
	assert_int_equal(sc_run_all(&sc), 0);
}

static void test_add_later(void **state)
{
	static const struct sc_scenario sc = { "add_later", add_later, 0, NULL, &kept };

	(void)state;
	assert_int_equal(sc_run_all(&sc), 0);
}

/* A store that cannot be read, or holds more than the table: the engine
 * does not start (nothing would be saved over it). */
static void test_store_errors(void **state)
{
	static char big[(CONFIG_XS2S_APP_SUBSCRIPTIONS + 1) * 48 + 1];
	struct drv_config c = { .domains = { "a.test" }, .secret = SC_SECRET, .dialback = true, .accounts = ACCT,
				.store = true, .store_initial = "bad" };
	size_t n = 0;
	unsigned i;

	(void)state;
	fake_reset(1, FAKE_WHOLE, 1);
	assert_int_equal(drv_start(&c), XS2S_EINVAL);
	assert_true(fake_log_has("cannot load the subscriptions"));
	for (i = 0; i <= CONFIG_XS2S_APP_SUBSCRIPTIONS; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "sensor@a.test c%u@b.test subscribed\n", i);
	c.store_initial = big;
	assert_int_equal(drv_start(&c), XS2S_ENOMEM);
	assert_true(fake_log_has("more subscriptions than CONFIG_XS2S_APP_SUBSCRIPTIONS"));
	c.store_initial = "";
	c.accounts = "sensor@elsewhere.test";
	assert_int_equal(drv_start(&c), XS2S_EINVAL);
	assert_true(fake_log_has("accounts: 'sensor@elsewhere.test' refused"));
	c.accounts = ACCT;
	c.sub_allow = "bad/entry";
	assert_int_equal(drv_start(&c), XS2S_EINVAL);
	assert_int_equal(fake_open_engine(), 0);
	fake_close_test_sockets();
	assert_int_equal(fake_violations(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sub_accepted),
		cmocka_unit_test(test_sub_refused),
		cmocka_unit_test(test_sub_ask),
		cmocka_unit_test(test_probe_and_changes),
		cmocka_unit_test(test_unsubscribe),
		cmocka_unit_test(test_restart_route_up),
		cmocka_unit_test(test_route_failed_then_up),
		cmocka_unit_test(test_stop_unavailable),
		cmocka_unit_test(test_add_later),
		cmocka_unit_test(test_table_full),
		cmocka_unit_test(test_store_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
	return 0; /* no accounts in this build (CONFIG_XS2S_ACCOUNTS_PRESENCE) */
}

#endif
