/* Liveness (XEP-0199 4.3, engine/live.c): an open outbound stream without
 * a sign of life for SC_PING_IDLE_S gets a ping; any input from its peer's
 * domain (the result, an error reply, any stanza on its inbound stream)
 * keeps it; silence for SC_PING_TIMEOUT_S after the ping declares the peer
 * dead: connection-timeout (RFC 6120 4.9.3.4) and what the stream carried
 * bounces with remote-server-timeout (RFC 6120 8.3.3.17) and the reason.
 * Pings never keep a stream open that no application uses: the idle
 * timeout still ends it. And the reasons bounces carry (bounces with
 * reasons): the peer's stream error and its text. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

#define MS(s) ((s) * 1000)
#define PING_MS MS(SC_PING_IDLE_S)
#define DEAD_MS MS(SC_PING_TIMEOUT_S)
#define PING(n) "<iq type='get' from='a.test' to='b.test' id='xs2s-ping-${lid}-" n "'><ping xmlns='urn:xmpp:ping'/></iq>"
#define PONG(n) "<iq type='result' from='b.test' to='a.test' id='xs2s-ping-${lid}-" n "'/>"

/* Both streams with b.test authenticated (PI in, PA out), and a message
 * on PA: the stream is in use. */
static const struct sc_step live_open[] = {
	INCLUDE(SC_IN_AUTH_B),
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	END(),
};

/* Not a millisecond early; the answer on b.test's own stream (PI) keeps
 * PA, is consumed (nothing reaches the application) and counted. */
static const struct sc_step live_ping_answered[] = {
	INCLUDE(live_open),
	ADVANCE(PING_MS - 1),
	EXPECT_NOTHING(PA),
	ADVANCE(1),
	EXPECT(PA, PING("1")),
	LOG_HAS("no input from b.test for 60 s: ping (XEP-0199), dead if nothing comes within 20 s"),
	JSON_HAS("\"pings_sent\":1,\"pings_answered\":0,\"dead_peers\":0"),
	SEND(PI, PONG("1")),
	JSON_HAS("\"pings_sent\":1,\"pings_answered\":1,\"dead_peers\":0"),
	ADVANCE(DEAD_MS),
	EXPECT_NOTHING(PA),
	EXPECT_NOTHING(PI),
	APP_EVENT_NONE(),
	INBOX_EMPTY(),
	STATUS_HAS("out  a.test           b.test           open"),
	/* the stream still works */
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i2", "two")),
	END(),
};
SC_TEST(live_ping_answered, SC_PING)

/* A peer without XEP-0199 answers service-unavailable (RFC 6120 8.4): an
 * answer all the same; it reaches neither the inbox nor a handler. */
static const struct sc_step live_error_reply_alive[] = {
	INCLUDE(live_open),
	HANDLER(NULL, "iq", NULL, 0),
	ADVANCE(PING_MS),
	EXPECT(PA, PING("1")),
	SEND(PI, "<iq type='error' from='b.test' to='a.test' id='xs2s-ping-${lid}-1'><error type='cancel'>"
		 "<service-unavailable xmlns='" NS_STANZA_ERR "'/></error></iq>"),
	ADVANCE(DEAD_MS),
	EXPECT_NOTHING(PA),
	APP_EVENT_NONE(),
	INBOX_EMPTY(),
	JSON_HAS("\"pings_sent\":1,\"pings_answered\":1,\"dead_peers\":0"),
	END(),
};
SC_TEST(live_error_reply_alive, SC_PING)

/* Any stanza from b.test counts (it is delivered as usual), and so does
 * any byte on the outbound stream itself (a whitespace keepalive, RFC
 * 6120 4.6.1): the next ping waits SC_PING_IDLE_S from there. */
static const struct sc_step live_any_input_alive[] = {
	INCLUDE(live_open),
	ADVANCE(PING_MS),
	EXPECT(PA, PING("1")),
	SEND(PI, "<message from='x@b.test' to='u@a.test' type='chat'><body>still here</body></message>"),
	INBOX("x@b.test", "u@a.test", "chat", "", "still here"),
	ADVANCE(DEAD_MS),
	EXPECT_NOTHING(PA),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i2", "two")),
	ADVANCE(PING_MS - DEAD_MS - MS(10)),
	SEND(PA, " "),
	ADVANCE(MS(10)),
	EXPECT_NOTHING(PA), /* the keepalive moved it */
	ADVANCE(PING_MS - MS(10)),
	EXPECT(PA, PING("2")),
	SEND(PA, "\n"),
	ADVANCE(DEAD_MS),
	EXPECT_NOTHING(PA),
	JSON_HAS("\"pings_sent\":2,\"pings_answered\":2,\"dead_peers\":0"),
	END(),
};
SC_TEST(live_any_input_alive, SC_PING)

/* No sign of life: at the deadline the peer is dead; the stream ends with
 * connection-timeout; a stanza the route still held (alias.test's pair,
 * waiting for its dialback answer on that stream) bounces with
 * remote-server-timeout and the reason; the next stanza opens a new
 * stream. */
static const struct sc_step live_dead_peer[] = {
	INCLUDE(live_open),
	ADVANCE(PING_MS),
	EXPECT(PA, PING("1")),
	APP_RAW_TRACKED("<message from='v@alias.test' to='y@b.test' id='m2'><body>two</body></message>", XS2S_OK),
	DBKEY("ka", "b.test", "alias.test", "out-1"),
	EXPECT(PA, "<db:result from='alias.test' to='b.test'>${ka}</db:result>"),
	APP_SEND("v@alias.test", "y@b.test", "three", XS2S_OK),
	ADVANCE(DEAD_MS - 1),
	EXPECT_NOTHING(PA),
	APP_EVENT_NONE(),
	ADVANCE(1),
	EXPECT(PA, STREAM_ERROR("connection-timeout")),
	EXPECT_CLOSED(PA),
	APP_EVENT("done m2 bounced remote-server-timeout peer b.test is dead: no answer to our ping within 20 s"),
	INBOX("y@b.test", "v@alias.test", "error", "remote-server-timeout", "three"),
	INBOX_WHY("peer b.test is dead: no answer to our ping within 20 s"),
	LOG_HAS("dead peer: b.test has not answered our ping (XEP-0199) for 20 s"),
	JSON_HAS("\"pings_sent\":1,\"pings_answered\":0,\"dead_peers\":1"),
	STATUS_HAS("dead_peers 1\n"),
	/* b.test's own stream to us is not ours to judge: it stays */
	EXPECT_NOTHING(PI),
	APP_SEND("u@a.test", "x@b.test", "four", XS2S_OK),
	ACCEPT(PA2, "b.test"),
	EXPECT(PA2, HDR("a.test", "b.test")),
	END(),
};
SC_TEST(live_dead_peer, SC_PING)

/* The idle timeout stays in charge: pings go out only while the stream
 * carried an application stanza in the last CONFIG_XS2S_IDLE_TIMEOUT_S;
 * answered every time, they stop after that, and the stream closes
 * IDLE_TIMEOUT_S after the last one (the ping was its last traffic). */
#define PING_PONG(n) ADVANCE(PING_MS), EXPECT(PA, PING(n)), SEND(PI, PONG(n))
static const struct sc_step live_idle_still_closes[] = {
	INCLUDE(live_open),
	PING_PONG("1"), PING_PONG("2"), PING_PONG("3"), PING_PONG("4"), PING_PONG("5"),
	PING_PONG("6"), PING_PONG("7"), PING_PONG("8"), PING_PONG("9"),
	/* 540 s after the message: no tenth ping at 600 s */
	ADVANCE(MS(CONFIG_XS2S_IDLE_TIMEOUT_S) - 1),
	EXPECT_NOTHING(PA),
	ADVANCE(1),
	EXPECT(PA, STREAM_CLOSE),
	EXPECT(PI, STREAM_CLOSE),
	LOG_HAS("closing: idle timeout"),
	SEND(PA, STREAM_CLOSE),
	SEND(PI, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	EXPECT_CLOSED(PI),
	JSON_HAS("\"pings_sent\":9,\"pings_answered\":9,\"dead_peers\":0"),
	END(),
};
#if CONFIG_XS2S_IDLE_TIMEOUT_S == 600
SC_TEST(live_idle_still_closes, SC_PING)
#endif

/* Without SC_PING (ping_idle_s 0) nothing is ever pinged. */
static const struct sc_step live_off[] = {
	INCLUDE(live_open),
	ADVANCE(MS(CONFIG_XS2S_IDLE_TIMEOUT_S) - 1),
	EXPECT_NOTHING(PA),
	JSON_HAS("\"pings_sent\":0"),
	END(),
};
SC_TEST(live_off, 0)

/* ---- bounces with reasons ---- */

/* RFC 6120 4.9.2: the peer's condition and its <text/> reach the log and
 * the bounce; markup in the text stays text (escaped where it is
 * written), control characters do not split the log line. */
static const struct sc_step reason_peer_stream_error[] = {
	APP_RAW_TRACKED("<message from='u@a.test' to='x@b.test' id='m1'><body>one</body></message>", XS2S_OK),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") "<stream:error><policy-violation xmlns='" NS_STREAM_ERR "'/>"
		 "<text xmlns='" NS_STREAM_ERR "'>Communication with this domain is &lt;restricted&gt;\nbye</text>"
		 "</stream:error>" STREAM_CLOSE),
	EXPECT(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	APP_EVENT("done m1 bounced remote-server-not-found peer b.test sent stream error <policy-violation/>: "
		  "'Communication with this domain is <restricted> bye'"),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "two"),
	INBOX_WHY("peer b.test sent stream error <policy-violation/>: 'Communication with this domain is <restricted> bye'"),
	LOG_HAS("peer b.test sent stream error <policy-violation/>: 'Communication with this domain is <restricted> bye'"),
	END(),
};
SC_TEST(reason_peer_stream_error, 0)

/* XEP-0220 2.4: a refusal of our key (type=invalid) and an error answer
 * both say so in the bounce. */
static const struct sc_step reason_dialback[] = {
	APP_RAW_TRACKED("<message from='u@a.test' to='x@b.test' id='m1'><body>one</body></message>", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, "<message from='u@a.test' to='x@b.test' id='m1'><body>one</body></message>"),
	APP_EVENT("done m1 sent"),
	APP_RAW_TRACKED("<message from='v@alias.test' to='y@b.test' id='m2'><body>two</body></message>", XS2S_OK),
	DBKEY("ka", "b.test", "alias.test", "out-1"),
	EXPECT(PA, "<db:result from='alias.test' to='b.test'>${ka}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='alias.test' type='error'>" DB_ERROR("item-not-found", "cancel")
		 "</db:result>"),
	APP_EVENT("done m2 bounced remote-server-not-found b.test could not verify our dialback key for alias.test "
		  "(XEP-0220 2.4, type=error)"),
	LOG_HAS("dialback: b.test could not verify our dialback key for alias.test"),
	END(),
};
SC_TEST(reason_dialback, 0)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_live_ping_answered),
		cmocka_unit_test(test_live_error_reply_alive),
		cmocka_unit_test(test_live_any_input_alive),
		cmocka_unit_test(test_live_dead_peer),
#if CONFIG_XS2S_IDLE_TIMEOUT_S == 600
		cmocka_unit_test(test_live_idle_still_closes),
#endif
		cmocka_unit_test(test_live_off),
		cmocka_unit_test(test_reason_peer_stream_error),
		cmocka_unit_test(test_reason_dialback),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
