/* XEP-0288 bidirectional server-to-server streams with scripted peers
 * (plaintext, dialback; SASL EXTERNAL needs TLS: the two-engine cases are
 * in test_sc_federation.c). Both roles: the feature offered and asked for,
 * stanzas both ways over one connection and no second one opened (only the
 * db:verify connection, which XEP-0288 2.2 requires and which closes once
 * answered), the reverse direction only for what was authenticated there
 * (RFC 6120 4.9.3.9 invalid-from otherwise), and a peer without bidi, or
 * bidi off here: the two connections of RFC 6120. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

#if CONFIG_XS2S_BIDI && CONFIG_XS2S_AUTH_DIALBACK
/* XEP-0288 2.1: what we offer an unauthenticated inbound stream. */
#define FEATURES_DB_BIDI                                                                                               \
	"<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"                          \
	"<bidi xmlns='urn:xmpp:features:bidi'/>" SM_OFFER "</stream:features>"
/* What a peer that supports it offers us. */
#define PEER_FEATURES_DB_BIDI                                                                                          \
	"<stream:features><bidi xmlns='urn:xmpp:features:bidi'/>"                                                      \
	"<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>"
/* XEP-0288 2.2: the request. */
#define BIDI "<bidi xmlns='urn:xmpp:bidi'/>"
#define MSG_FROM_B(from, body) "<message from='" from "' to='u@a.test' type='chat' id='r1'><body>" body "</body></message>"
#define MS(s) ((s) * 1000)

/* ---- receiving role ---- */

/* b.test connects, asks for bidi and authenticates by dialback; the
 * db:verify goes on a connection of its own (XEP-0288 2.2: never on the
 * stream that asked), which closes once answered. */
static const struct sc_step in_bidi_auth[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_DB_BIDI),
	SEND(PI, BIDI "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	/* No db:result: that connection carries no pair of ours. */
	EXPECT(PA, "<db:verify from='a.test' to='b.test' id='${in_id}'>" PEERKEY "</db:verify>"),
	EXPECT_NOTHING(PI),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='valid'/>"),
	EXPECT(PA, STREAM_CLOSE),
	SEND(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	END(),
};

/* Stanzas both ways over b.test's stream; nothing opens to b.test. */
static const struct sc_step in_bidi_dialback[] = {
	INCLUDE(in_bidi_auth),
	SEND(PI, MSG_FROM_B("x@b.test/r", "over there")),
	INBOX("x@b.test/r", "u@a.test", "chat", "", "over there"),
	APP_SEND("u@a.test", "x@b.test", "and back", XS2S_OK),
	EXPECT(PI, APP_MSG("u@a.test", "x@b.test", "m1", "and back")),
	NO_CONNECT("b.test"),
	STATUS_HAS("bidi a.test           b.test           open     plain"),
	JSON_HAS("\"direction\":\"bidi\",\"local\":\"a.test\",\"remote\":\"b.test\",\"state\":\"open\""),
	JSON_HAS("\"pairs\":[{\"local\":\"a.test\",\"remote\":\"b.test\",\"state\":\"valid\",\"auth\":\"dialback\","
		 "\"dir\":\"in\"},{\"local\":\"a.test\",\"remote\":\"b.test\",\"state\":\"valid\",\"auth\":\"dialback\","
		 "\"dir\":\"out\"}]"),
	LOG_HAS("XEP-0288: a.test -> b.test goes on this bidirectional stream"),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_bidi_dialback, SC_BIDI)

/* XEP-0199 on b.test's bidirectional stream: it carries our stanzas, so
 * it is pinged like an outbound stream (live.c), from the pair we send on;
 * the answer on the same stream keeps it; no answer: a dead peer, whose
 * stream ends with connection-timeout (RFC 6120 4.9.3.4). */
#define IN_PING "<iq type='get' from='a.test' to='b.test' id='xs2s-ping-${lid}-1'><ping xmlns='urn:xmpp:ping'/></iq>"
static const struct sc_step in_bidi_pinged[] = {
	INCLUDE(in_bidi_dialback),
	ADVANCE(MS(SC_PING_IDLE_S)),
	EXPECT(PI, IN_PING),
	SEND(PI, "<iq type='result' from='b.test' to='a.test' id='xs2s-ping-${lid}-1'/>"),
	JSON_HAS("\"pings_sent\":1,\"pings_answered\":1,\"dead_peers\":0"),
	ADVANCE(MS(SC_PING_TIMEOUT_S)),
	EXPECT_NOTHING(PI),
	INBOX_EMPTY(),
	STATUS_HAS("bidi a.test           b.test           open"),
	END(),
};
SC_TEST(in_bidi_pinged, SC_BIDI | SC_PING)

static const struct sc_step in_bidi_dead_peer[] = {
	INCLUDE(in_bidi_dialback),
	ADVANCE(MS(SC_PING_IDLE_S)),
	EXPECT(PI, IN_PING),
	ADVANCE(MS(SC_PING_TIMEOUT_S) - 1),
	EXPECT_NOTHING(PI),
	ADVANCE(1),
	EXPECT(PI, STREAM_ERROR("connection-timeout")),
	LOG_HAS("dead peer: b.test has not answered our ping (XEP-0199) for 20 s"),
	JSON_HAS("\"pings_sent\":1,\"pings_answered\":0,\"dead_peers\":1"),
	END(),
};
SC_TEST(in_bidi_dead_peer, SC_BIDI | SC_PING)

#if CONFIG_XS2S_SM
#define SM_NS "urn:xmpp:sm:3"
/* XEP-0198 on b.test's bidirectional stream, enabled by b.test: what we
 * write there is ours to count too (XEP-0198 4: either side may ask), so
 * our stanzas wait in the unacknowledged list for b.test's <a h/>, and a
 * cut takes them back to their queue instead of losing them. */
static const struct sc_step in_bidi_sm_ours_counted[] = {
	INCLUDE(in_bidi_dialback),
	SEND(PI, "<enable xmlns='" SM_NS "'/>"),
	EXPECT(PI, "<enabled xmlns='" SM_NS "'/>"),
	APP_SEND("u@a.test", "x@b.test", "counted", XS2S_OK),
	EXPECT(PI, APP_MSG("u@a.test", "x@b.test", "m2", "counted")),
	JSON_HAS("\"sm\":\"on\",\"unacked\":1"),
	ADVANCE(CONFIG_XS2S_SM_ACK_MS),
	EXPECT(PI, "<r xmlns='" SM_NS "'/>"),
	SEND(PI, "<a xmlns='" SM_NS "' h='1'/>"),
	JSON_HAS("\"sm\":\"on\",\"unacked\":0"),
	APP_SEND("u@a.test", "x@b.test", "in the cut", XS2S_OK),
	EXPECT(PI, APP_MSG("u@a.test", "x@b.test", "m3", "in the cut")),
	CLOSE(PI),
	LOG_HAS("stream management: 1 unacknowledged stanza(s) of a.test -> b.test back to their queue"),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "in the cut"),
	END(),
};
SC_TEST(in_bidi_sm_ours_counted, SC_BIDI)
#endif

/* The reverse direction is only (a.test, b.test): alias.test never had
 * b.test authenticated for it, so a stanza from alias.test to b.test goes
 * on a stream of its own. */
static const struct sc_step in_bidi_other_pair_own_stream[] = {
	INCLUDE(in_bidi_auth),
	APP_SEND("v@alias.test", "x@b.test", "alias", XS2S_OK),
	ACCEPT(PA2, "b.test"),
	EXPECT(PA2, HDR("alias.test", "b.test")),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_bidi_other_pair_own_stream, SC_BIDI)

/* A stanza from a domain not authenticated on the stream: invalid-from
 * (RFC 6120 4.9.3.9), on a bidirectional stream as on any other. */
static const struct sc_step in_bidi_invalid_from[] = {
	INCLUDE(in_bidi_auth),
	SEND(PI, MSG_FROM_B("y@c.test", "spoofed")),
	EXPECT(PI, STREAM_ERROR("invalid-from")),
	EXPECT_CLOSED(PI),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(in_bidi_invalid_from, SC_BIDI)

/* Nothing goes to b.test on its stream before it authenticated there
 * (XEP-0288 2.2): a stanza for it while its dialback is being verified
 * opens our own stream. */
static const struct sc_step in_bidi_not_before_auth[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_DB_BIDI),
	SEND(PI, BIDI "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	APP_SEND("u@a.test", "x@b.test", "early", XS2S_OK),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	/* The verification's connection now carries our pair too (piggybacked). */
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"
		   "<db:verify from='a.test' to='b.test' id='${in_id}'>" PEERKEY "</db:verify>"),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_bidi_not_before_auth, SC_BIDI)

/* <bidi/> when it was not offered (bidi off here): unsupported-stanza-type
 * (RFC 6120 4.9.3.24). */
static const struct sc_step in_bidi_not_offered[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_IN),
	SEND(PI, BIDI),
	EXPECT(PI, STREAM_ERROR("unsupported-stanza-type")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(in_bidi_not_offered, 0)

/* ... and after authentication (XEP-0288 2.2: before SASL or dialback). */
static const struct sc_step in_bidi_after_auth[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_DB_BIDI),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"
		   "<db:verify from='a.test' to='b.test' id='${in_id}'>" PEERKEY "</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='valid'/>"),
	SEND(PI, BIDI),
	EXPECT(PI, STREAM_ERROR("unsupported-stanza-type")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(in_bidi_after_auth, SC_BIDI)

/* A peer that does not ask for bidi (though offered): today's two streams,
 * the answer on our own outbound one. */
static const struct sc_step in_no_bidi_two_streams[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_DB_BIDI),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"
		   "<db:verify from='a.test' to='b.test' id='${in_id}'>" PEERKEY "</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='valid'/>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	SEND(PI, MSG_FROM_B("x@b.test", "one way")),
	INBOX("x@b.test", "u@a.test", "chat", "", "one way"),
	APP_SEND("u@a.test", "x@b.test", "the other", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "m1", "the other")),
	STATUS_HAS("in   a.test           b.test           open     plain"),
	STATUS_HAS("out  a.test           b.test           open     plain"),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_no_bidi_two_streams, SC_BIDI)

/* ---- initiating role ---- */

/* b.test offers bidi: <bidi/> before dialback (XEP-0288 2.2); our pair
 * valid, b.test may send to a.test on our stream (the inverse pair). */
static const struct sc_step out_bidi_auth[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") PEER_FEATURES_DB_BIDI),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, BIDI "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "m1", "hello")),
	END(),
};

/* Stanzas both ways over our stream; no connection accepted or opened. */
static const struct sc_step out_bidi_dialback[] = {
	INCLUDE(out_bidi_auth),
	SEND(PA, MSG_FROM_B("x@b.test/r", "answer on your stream")),
	INBOX("x@b.test/r", "u@a.test", "chat", "", "answer on your stream"),
	APP_SEND("u@a.test", "x@b.test/r", "again", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test/r", "m2", "again")),
	NO_CONNECT("b.test"),
	STATUS_HAS("bidi a.test           b.test           open     plain"),
	JSON_HAS("\"pairs\":[{\"local\":\"a.test\",\"remote\":\"b.test\",\"state\":\"valid\",\"auth\":\"dialback\","
		 "\"dir\":\"out\"},{\"local\":\"a.test\",\"remote\":\"b.test\",\"state\":\"valid\",\"auth\":\"dialback\","
		 "\"dir\":\"in\"}]"),
	LOG_HAS("XEP-0288: b.test -> a.test accepted on this stream (dialback)"),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(out_bidi_dialback, SC_BIDI)

/* The reverse direction on our stream is only b.test -> a.test: from
 * c.test it is invalid-from (RFC 6120 4.9.3.9). */
static const struct sc_step out_bidi_invalid_from[] = {
	INCLUDE(out_bidi_auth),
	SEND(PA, MSG_FROM_B("y@c.test", "spoofed")),
	EXPECT(PA, STREAM_ERROR("invalid-from")),
	EXPECT_CLOSED(PA),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(out_bidi_invalid_from, SC_BIDI)

/* ... and b.test -> alias.test was never authenticated: invalid-from too. */
static const struct sc_step out_bidi_other_local[] = {
	INCLUDE(out_bidi_auth),
	SEND(PA, "<message from='x@b.test' to='v@alias.test'><body>not for you</body></message>"),
	EXPECT(PA, STREAM_ERROR("invalid-from")),
	EXPECT_CLOSED(PA),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(out_bidi_other_local, SC_BIDI)

/* A stanza on our stream before our pair is valid: not-authorized (RFC
 * 6120 4.9.3.12): nothing is accepted there before authentication. */
static const struct sc_step out_bidi_before_auth[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") PEER_FEATURES_DB_BIDI),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, BIDI "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, MSG_FROM_B("x@b.test", "too early")),
	EXPECT(PA, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(out_bidi_before_auth, SC_BIDI)

/* The pair refused: nothing is accepted from b.test on our stream. */
static const struct sc_step out_bidi_refused[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") PEER_FEATURES_DB_BIDI),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, BIDI "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='invalid'/>"),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	SEND(PA, MSG_FROM_B("x@b.test", "let me in")),
	EXPECT(PA, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PA),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(out_bidi_refused, SC_BIDI)

/* Bidi off here: the peer's offer is not taken up, and its stanzas on our
 * stream are refused as before (not-authorized: RFC 6120 2.1, one way). */
static const struct sc_step out_bidi_off[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") PEER_FEATURES_DB_BIDI),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "m1", "hello")),
	STATUS_HAS("out  a.test           b.test           open     plain"),
	SEND(PA, MSG_FROM_B("x@b.test", "one way only")),
	EXPECT(PA, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PA),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(out_bidi_off, 0)

/* A peer without the feature: no <bidi/>, our stream stays one-way. */
static const struct sc_step out_peer_without_bidi[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "m1", "hello")),
	STATUS_HAS("out  a.test           b.test           open     plain"),
	SEND(PA, MSG_FROM_B("x@b.test", "one way only")),
	EXPECT(PA, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PA),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(out_peer_without_bidi, SC_BIDI)

#else
/* A build without XEP-0288 or without dialback has nothing here to run. */
static void test_bidi_not_built(void **state)
{
	(void)state;
	skip();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#if CONFIG_XS2S_BIDI && CONFIG_XS2S_AUTH_DIALBACK
		cmocka_unit_test(test_in_bidi_dialback),
		cmocka_unit_test(test_in_bidi_pinged),
		cmocka_unit_test(test_in_bidi_dead_peer),
#if CONFIG_XS2S_SM
		cmocka_unit_test(test_in_bidi_sm_ours_counted),
#endif
		cmocka_unit_test(test_in_bidi_other_pair_own_stream),
		cmocka_unit_test(test_in_bidi_invalid_from),
		cmocka_unit_test(test_in_bidi_not_before_auth),
		cmocka_unit_test(test_in_bidi_not_offered),
		cmocka_unit_test(test_in_bidi_after_auth),
		cmocka_unit_test(test_in_no_bidi_two_streams),
		cmocka_unit_test(test_out_bidi_dialback),
		cmocka_unit_test(test_out_bidi_invalid_from),
		cmocka_unit_test(test_out_bidi_other_local),
		cmocka_unit_test(test_out_bidi_before_auth),
		cmocka_unit_test(test_out_bidi_refused),
		cmocka_unit_test(test_out_bidi_off),
		cmocka_unit_test(test_out_peer_without_bidi),
#else
		cmocka_unit_test(test_bidi_not_built),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
