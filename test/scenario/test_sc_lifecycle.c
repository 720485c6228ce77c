/* Stream life cycle: idle timeout, graceful close both ways, shutdown with
 * its close timeout, link slots running out. Timeouts come from moving the
 * fake clock (which crosses the 32-bit wrap on the way). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "engine_drv.h"
#include "xs2s_err.h"

#define MS(s) ((s) * 1000)
#define IDLE_MS MS(CONFIG_XS2S_IDLE_TIMEOUT_S)
#define CLOSE_MS MS(CONFIG_XS2S_CLOSE_TIMEOUT_S)

/* A second outbound stream to b.test on PA2, from scratch (new stream id,
 * new key). */
static const struct sc_step out_open_b_again[] = {
	ACCEPT(PA2, "b.test"),
	EXPECT(PA2, HDR("a.test", "b.test")),
	SEND(PA2, HDR_ID("b.test", "a.test", "out-2") FEATURES_DB),
	DBKEY("kb2", "b.test", "a.test", "out-2"),
	EXPECT(PA2, "<db:result from='a.test' to='b.test'>${kb2}</db:result>"),
	SEND(PA2, "<db:result from='b.test' to='a.test' type='valid'/>"),
	END(),
};

/* Kconfig XS2S_IDLE_TIMEOUT_S: an open stream without traffic is closed
 * gracefully (RFC 6120 4.4) and set up again on demand. */
static const struct sc_step idle_timeout_out[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	ADVANCE(IDLE_MS - 1),
	EXPECT_NOTHING(PA),
	ADVANCE(1),
	EXPECT(PA, STREAM_CLOSE),
	SEND(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	LOG_HAS("closing: idle timeout"),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	INCLUDE(out_open_b_again),
	EXPECT(PA2, APP_MSG("u@a.test", "x@b.test", "i2", "two")),
	END(),
};
SC_TEST(idle_timeout_out, 0)

/* Traffic in either direction keeps a stream open (Kconfig help text of
 * XS2S_IDLE_TIMEOUT_S): whitespace keepalives from the peer... */
static const struct sc_step idle_keepalive_in[] = {
	INCLUDE(SC_IN_AUTH_B),
	ADVANCE(IDLE_MS - MS(100)),
	SEND(PI, " "),
	SEND(PA, "\n"),
	ADVANCE(IDLE_MS - MS(100)),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PA),
	ADVANCE(MS(100)),
	EXPECT(PI, STREAM_CLOSE),
	EXPECT(PA, STREAM_CLOSE),
	SEND(PI, STREAM_CLOSE),
	SEND(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PI),
	EXPECT_CLOSED(PA),
	IDLE(),
	END(),
};
SC_TEST(idle_keepalive_in, 0)

/* ...and our own stanzas on an outbound stream the peer never writes to. */
static const struct sc_step idle_sending_keeps_open[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	ADVANCE(IDLE_MS - MS(100)),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i2", "two")),
	ADVANCE(MS(200)),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(idle_sending_keeps_open, 0)

/* The peer closes an open stream: we answer with our closing tag
 * (RFC 6120 4.4) and the next stanza opens a new stream. */
static const struct sc_step peer_closes_open_stream[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	SEND(PA, STREAM_CLOSE),
	EXPECT(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	INCLUDE(out_open_b_again),
	EXPECT(PA2, APP_MSG("u@a.test", "x@b.test", "i2", "two")),
	END(),
};
SC_TEST(peer_closes_open_stream, 0)

/* An inbound stream closed by its peer; a later connection works again. */
static const struct sc_step peer_closes_inbound[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, STREAM_CLOSE),
	EXPECT(PI, STREAM_CLOSE),
	EXPECT_CLOSED(PI),
	EXPECT_NOTHING(PA),
	STATUS_HAS("xs2s a.test: 1 link\n"),
	END(),
};
SC_TEST(peer_closes_inbound, 0)

/* The TCP connection drops without a closing tag. */
static const struct sc_step peer_drops_open_stream[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	ABORT(PA),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	INCLUDE(out_open_b_again),
	EXPECT(PA2, APP_MSG("u@a.test", "x@b.test", "i2", "two")),
	END(),
};
SC_TEST(peer_drops_open_stream, 0)

/* Shutdown: every stream gets our closing tag; the peers answer; idle. */
static const struct sc_step stop_graceful[] = {
	INCLUDE(SC_IN_AUTH_B),
	STOP(),
	EXPECT(PI, STREAM_CLOSE),
	EXPECT(PA, STREAM_CLOSE),
	SEND(PI, STREAM_CLOSE),
	SEND(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PI),
	EXPECT_CLOSED(PA),
	IDLE(),
	LOG_HAS("closing: shutting down"),
	/* Stopped: no new streams either way; a send is refused (EIO). */
	APP_SEND("u@a.test", "x@b.test", "late", XS2S_EIO),
	END(),
};
SC_TEST(stop_graceful, 0)

/* RFC 6120 4.4: after our closing tag we still receive; a stanza and the
 * peer's closing tag in one segment are both read: the message reaches the
 * inbox and the stream ends at once, not at the close timeout. */
static const struct sc_step stop_peer_sends_then_closes[] = {
	INCLUDE(SC_IN_AUTH_B),
	STOP(),
	EXPECT(PI, STREAM_CLOSE),
	EXPECT(PA, STREAM_CLOSE),
	SEND(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>last words</body></message>" STREAM_CLOSE),
	INBOX("x@b.test", "u@a.test", "normal", "", "last words"),
	EXPECT_CLOSED(PI),
	IDLE(),
	END(),
};
SC_TEST(stop_peer_sends_then_closes, 0)

/* A peer that never answers our closing tag: cut after
 * CONFIG_XS2S_CLOSE_TIMEOUT_S. */
static const struct sc_step stop_close_timeout[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	STOP(),
	EXPECT(PA, STREAM_CLOSE),
	ADVANCE(CLOSE_MS - 1),
	EXPECT_NOTHING(PA),
	ADVANCE(1),
	EXPECT_CLOSED(PA),
	IDLE(),
	END(),
};
SC_TEST(stop_close_timeout, 0)

/* Shutdown while our output is full (the peer reads slowly): the closing tag
 * must still follow what was written, and what waits in the queue is
 * bounced. Stanzas fill out up to the XS2S_LINK_CLOSE_RESERVE (128) bytes
 * kept for the stream's last elements, 10 bytes short of that limit: too
 * little for the end tag without the reserve (it was lost, and the link
 * waited for the close timeout). */
#define BIG 6000
#define ENVELOPE 100 /* <message type='chat' from='u@a.test' to='x@b.test' id='xs2s-16 hex'><body></body></message> */
/* With the peer not reading: 256 bytes in the pipe, CONFIG_XS2S_TX_BUF in tx,
 * the rest in out; FILL leaves out 10 bytes short of its writable limit. */
#define FILL (CONFIG_XS2S_OUT_BUF - (2 * (BIG + ENVELOPE) - 256 - CONFIG_XS2S_TX_BUF) - 10 - ENVELOPE - 128)
static const struct sc_step stop_with_full_output[] = {
	CAPACITY(256),
	APP_SEND("u@a.test", "x@b.test", "first", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i0", "first")),
	HOLD(PA),
	APP_SEND_LONG("u@a.test", "x@b.test", "p", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "q", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "r", FILL, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "s", 100, XS2S_OK),
	STOP(),
	RELEASE(PA),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i1}'><body>", "p", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i2}'><body>", "q", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i3}'><body>", "r", FILL,
		    "</body></message>"),
	EXPECT(PA, STREAM_CLOSE),
	SEND(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	INBOX_LONG("x@b.test", "u@a.test", "error", "remote-server-not-found", "s", 100),
	IDLE(),
	END(),
};
SC_TEST(stop_with_full_output, 0)

/* Shutdown during setup: what waits is bounced, in order. */
static const struct sc_step stop_bounces_queue[] = {
	APP_SEND_MANY("u@a.test", "x@b.test", "m", 3, 3),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	STOP(),
	EXPECT(PA, STREAM_CLOSE),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	INBOX_MANY("x@b.test", "u@a.test", "error", "remote-server-not-found", "m", 3),
	IDLE(),
	END(),
};
SC_TEST(stop_bounces_queue, 0)

/* XEP-0205, admission control. Connections that never speak hold at most
 * MAX_LINKS - PREAUTH_RESERVE slots (6 of 8): the next one evicts the least
 * advanced and oldest of them (cut); an honest peer still
 * gets in and authenticates; and when every slot is taken an outbound
 * stream evicts one of the silent ones. (It used to be: 8 silent
 * connections refused every peer and every send.) */
static const struct sc_step preauth_evicted[] = {
	CONNECT(PI2), CONNECT(PA2), CONNECT(PX), CONNECT(6), CONNECT(7), CONNECT(8),
	CONNECT(9),
	EXPECT_CLOSED(PI2),
	INCLUDE(SC_IN_AUTH_B), /* its connection evicts PA2 */
	EXPECT_CLOSED(PA2),
	CONNECT(PI2), /* 5 silent, PI and PA: the last free slot */
	JSON_HAS("\"links\":{\"used\":8,\"high\":8,\"size\":8,\"fails\":0}"),
	APP_SEND("u@a.test", "x@c.test", "a slot for me", XS2S_OK), /* evicts PX */
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR("a.test", "c.test")),
	EXPECT_CLOSED(PX),
	STATUS_HAS("admit_evicted 3"),
	LOG_HAS("evicted to admit c.test"),
	END(),
};
#if CONFIG_XS2S_MAX_LINKS == 8 && CONFIG_XS2S_PREAUTH_RESERVE == 2
SC_TEST(preauth_evicted, 0)
#endif

/* XEP-0205: at most PREAUTH_PER_ADDR unauthenticated connections from one
 * address; more are closed at accept, and other peers are not affected. */
static const struct sc_step preauth_per_addr[] = {
	CONNECT_FROM(PI2, "203.0.113.9:40001"), CONNECT_FROM(PA2, "203.0.113.9:40002"),
	CONNECT_FROM(PX, "203.0.113.9:40003"), CONNECT_FROM(6, "203.0.113.9:40004"),
	CONNECT_FROM(7, "203.0.113.9:40005"), CONNECT_FROM(8, "203.0.113.9:40006"),
	CONNECT_FROM(9, "203.0.113.9:40007"),
	EXPECT_CLOSED(6), EXPECT_CLOSED(7), EXPECT_CLOSED(8), EXPECT_CLOSED(9),
	EXPECT_NOTHING(PI2), EXPECT_NOTHING(PA2), EXPECT_NOTHING(PX),
	LOG_HAS("refusing connection from 203.0.113.9:40004: 3 unauthenticated streams from that address already"),
	INCLUDE(SC_IN_AUTH_B),
	APP_SEND("u@a.test", "x@b.test", "hi", XS2S_OK),
	EXPECT(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i}'><body>hi</body></message>"),
	STATUS_HAS("admit_per_addr 4"),
	END(),
};
#if CONFIG_XS2S_PREAUTH_PER_ADDR == 3
SC_TEST(preauth_per_addr, 0)
#endif

/* XEP-0205: an inbound stream that has not authenticated after
 * PREAUTH_TIMEOUT_S (or SETUP_TIMEOUT_S when shorter: IN_SETUP_S) gets
 * connection-timeout, whatever it sent. */
static const struct sc_step preauth_timeout[] = {
	CONNECT(PI2),
	SEND(PI2, HDR("b.test", "a.test")),
	EXPECT(PI2, HDR_ID("a.test", "b.test", "${id}") FEATURES_IN),
	ADVANCE(IN_SETUP_S * 1000 - 100),
	EXPECT_NOTHING(PI2),
	ADVANCE(200),
	EXPECT(PI2, STREAM_ERROR("connection-timeout")),
	SEND(PI2, STREAM_CLOSE),
	EXPECT_CLOSED(PI2),
	STATUS_HAS("admit_timeouts 1"),
	END(),
};
SC_TEST(preauth_timeout, 0)

/* A configuration the engine refuses: nothing left open. */
static void test_start_errors(void **state)
{
	struct drv_config c = { .domains = { "bad domain" }, .secret = SC_SECRET, .dialback = true,
				.listen_addr = SC_ENGINE_ADDR, .listen_port = SC_ENGINE_PORT };
	xs2s_sock taken;

	(void)state;
	fake_reset(1, FAKE_WHOLE, 1);
	assert_int_equal(drv_start(&c), XS2S_EINVAL);
	c.domains[0] = NULL;
	assert_int_equal(drv_start(&c), XS2S_EINVAL);
	/* The listening address is taken. */
	c.domains[0] = "a.test";
	assert_int_equal(fake_tcp_listen("192.0.2.1:5269", &taken), XS2S_OK);
	assert_int_equal(drv_start(&c), XS2S_EIO);
	assert_true(fake_log_has("cannot listen on 192.0.2.1 port 5269"));
	assert_int_equal(fake_open_engine(), 0);
	fake_close_test_sockets();
	assert_int_equal(fake_violations(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_errors),
		cmocka_unit_test(test_idle_timeout_out),
		cmocka_unit_test(test_idle_keepalive_in),
		cmocka_unit_test(test_idle_sending_keeps_open),
		cmocka_unit_test(test_peer_closes_open_stream),
		cmocka_unit_test(test_peer_closes_inbound),
		cmocka_unit_test(test_peer_drops_open_stream),
		cmocka_unit_test(test_stop_graceful),
		cmocka_unit_test(test_stop_peer_sends_then_closes),
		cmocka_unit_test(test_stop_close_timeout),
		cmocka_unit_test(test_stop_bounces_queue),
		cmocka_unit_test(test_stop_with_full_output),
#if CONFIG_XS2S_MAX_LINKS == 8 && CONFIG_XS2S_PREAUTH_RESERVE == 2
		cmocka_unit_test(test_preauth_evicted),
#endif
#if CONFIG_XS2S_PREAUTH_PER_ADDR == 3
		cmocka_unit_test(test_preauth_per_addr),
#endif
		cmocka_unit_test(test_preauth_timeout),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
