/* XEP-0114 components: the handshake and its errors (not-authorized,
 * host-unknown, conflict, connection-timeout), stanzas between a component
 * and remote servers (its domain authenticated by dialback both ways), local
 * JIDs (inbox, iq ping, the application's messages) and another component,
 * bounces for a component that is not connected (service-unavailable), and
 * invalid-from for a component that speaks for another domain. The engine
 * serves comp.a.test and comp2.a.test (SC_COMPONENTS). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

#if CONFIG_XS2S_COMPONENTS

#define MS(s) ((s) * 1000)

/* Components by role. */
enum {
	PK = 6,  /* a component process */
	PK2 = 7, /* another one */
	PK3 = 8,
	PK4 = 9,
};

#define NS_COMP_ATTRS "xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'"
/* XEP-0114 3: the component's header, and ours (from = its name, an id). */
#define COMP_HDR(name) "<?xml version='1.0'?><stream:stream " NS_COMP_ATTRS " to='" name "'>"
#define COMP_HDR_ID(name, id) "<?xml version='1.0'?><stream:stream " NS_COMP_ATTRS " from='" name "' id='" id "'>"
#define STANZA_ERROR(cond, type) "<error type='" type "'><" cond " xmlns='" NS_STANZA_ERR "'/></error>"

/* Peer p connects as component name with secret: header, our header with
 * the stream id (bound to ${ID}), the handshake (${ID_hs}), <handshake/>. */
#define COMP_UP(p, name, secret, ID)                                         \
	COMP_CONNECT(p), SEND(p, COMP_HDR(name)), EXPECT(p, COMP_HDR_ID(name, "${" ID "}")), \
	HANDSHAKE(ID "_hs", "${" ID "}", secret), SEND(p, "<handshake>${" ID "_hs}</handshake>"), \
	EXPECT(p, "<handshake/>")

/* PK connects as comp.a.test with the right secret. */
static const struct sc_step comp_up[] = {
	COMP_UP(PK, SC_COMP, SC_COMP_SECRET, "cid"),
	END(),
};

/* PK2 connects as comp2.a.test; the digest in upper case (as Prosody, the
 * comparison ignores the case of the hex digits). */
static const struct sc_step comp2_up[] = {
	COMP_CONNECT(PK2),
	SEND(PK2, COMP_HDR(SC_COMP2)),
	EXPECT(PK2, COMP_HDR_ID(SC_COMP2, "${cid2}")),
	HANDSHAKE_UPPER("hs2", "${cid2}", SC_COMP2_SECRET),
	SEND(PK2, "<handshake>${hs2}</handshake>"),
	EXPECT(PK2, "<handshake/>"),
	END(),
};

/* b.test's server PI opens a stream to comp.a.test and asks for (comp.a.test,
 * b.test) by dialback: we are the component's receiving server and verify
 * with b.test's authoritative server on PA, whose db:result authenticates
 * our own pair (comp.a.test, b.test) on the same stream (XEP-0220 2.1-2.4). */
static const struct sc_step comp_in_auth_b[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", SC_COMP)),
	EXPECT(PI, HDR_ID(SC_COMP, "b.test", "${in_id}") FEATURES_IN),
	SEND(PI, "<db:result from='b.test' to='" SC_COMP "'>" PEERKEY "</db:result>"),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR(SC_COMP, "b.test")),
	SEND(PA, HDR_ID("b.test", SC_COMP, "out-1") FEATURES_DB),
	DBKEY("kc", "b.test", SC_COMP, "out-1"),
	EXPECT(PA, "<db:result from='" SC_COMP "' to='b.test'>${kc}</db:result>"
		   "<db:verify from='" SC_COMP "' to='b.test' id='${in_id}'>" PEERKEY "</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='" SC_COMP "' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='" SC_COMP "' to='b.test' type='valid'/>"),
	SEND(PA, "<db:result from='b.test' to='" SC_COMP "' type='valid'/>"),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PA),
	END(),
};

/* XEP-0114 3: header, our header with an id, the SHA-1 handshake,
 * <handshake/>; the operator sees the component's link and the pool. */
static const struct sc_step comp_handshake[] = {
	INCLUDE(comp_up),
	LOG_HAS("component comp.a.test connected (XEP-0114 handshake"),
	STATUS_HAS("comp a.test           comp.a.test      open     plain"),
	JSON_HAS("\"direction\":\"comp\",\"local\":\"a.test\",\"remote\":\"comp.a.test\",\"state\":\"open\","
		 "\"transport\":\"plain\""),
	JSON_HAS("\"auth\":\"handshake\""),
	JSON_HAS("\"components\":{\"used\":1,\"high\":1,\"size\":4,\"fails\":0}"),
	INCLUDE(comp2_up),
	JSON_HAS("\"components\":{\"used\":2,\"high\":2,\"size\":4,\"fails\":0}"),
	/* A component closes: its name is free, the other one stays. */
	SEND(PK, STREAM_CLOSE),
	EXPECT(PK, STREAM_CLOSE),
	EXPECT_CLOSED(PK),
	LOG_HAS("component comp.a.test disconnected"),
	JSON_HAS("\"components\":{\"used\":1,\"high\":2,\"size\":4,\"fails\":0}"),
	EXPECT_NOTHING(PK2),
	END(),
};
SC_TEST(comp_handshake, SC_COMPONENTS)

/* XEP-0114 3: a handshake that does not match is not-authorized. */
static const struct sc_step comp_wrong_secret[] = {
	COMP_CONNECT(PK),
	SEND(PK, COMP_HDR(SC_COMP)),
	EXPECT(PK, COMP_HDR_ID(SC_COMP, "${cid}")),
	HANDSHAKE("bad", "${cid}", SC_COMP2_SECRET),
	SEND(PK, "<handshake>${bad}</handshake>"),
	EXPECT(PK, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PK),
	LOG_HAS("component comp.a.test: wrong secret (handshake does not match); stream error: not-authorized"),
	JSON_HAS("\"components\":{\"used\":0,\"high\":0,\"size\":4,\"fails\":1}"),
	/* Nor is a handshake with anything but the digest in it. */
	COMP_CONNECT(PK2),
	SEND(PK2, COMP_HDR(SC_COMP)),
	EXPECT(PK2, COMP_HDR_ID(SC_COMP, "${cid2}")),
	HANDSHAKE("hs2", "${cid2}", SC_COMP_SECRET),
	SEND(PK2, "<handshake>${hs2}<x/></handshake>"),
	EXPECT(PK2, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PK2),
	/* The right one still works. */
	COMP_UP(PK3, SC_COMP, SC_COMP_SECRET, "cid3"),
	END(),
};
SC_TEST(comp_wrong_secret, SC_COMPONENTS)

/* XEP-0114 3: a name that is not configured is host-unknown (after our
 * header, as RFC 6120 4.9.1.3 wants), and so is a stanza before the
 * handshake not-authorized. */
static const struct sc_step comp_unknown_name[] = {
	COMP_CONNECT(PK),
	SEND(PK, COMP_HDR("nope.a.test")),
	EXPECT(PK, COMP_HDR_ID("nope.a.test", "${cid}") STREAM_ERROR("host-unknown")),
	EXPECT_CLOSED(PK),
	LOG_HAS("component nope.a.test is not configured here; stream error: host-unknown"),
	/* A local domain is no component name either. */
	COMP_CONNECT(PK2),
	SEND(PK2, COMP_HDR("a.test")),
	EXPECT(PK2, COMP_HDR_ID("a.test", "${cid2}") STREAM_ERROR("host-unknown")),
	EXPECT_CLOSED(PK2),
	/* An s2s header on the component port: invalid-namespace. */
	COMP_CONNECT(PK3),
	SEND(PK3, HDR("b.test", SC_COMP)),
	EXPECT(PK3, "<?xml version='1.0'?><stream:stream " NS_COMP_ATTRS " id='${*}'>" STREAM_ERROR("invalid-namespace")),
	EXPECT_CLOSED(PK3),
	COMP_CONNECT(PK4),
	SEND(PK4, COMP_HDR(SC_COMP)),
	EXPECT(PK4, COMP_HDR_ID(SC_COMP, "${cid4}")),
	SEND(PK4, "<message from='bot@" SC_COMP "' to='u@a.test'><body>early</body></message>"),
	EXPECT(PK4, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PK4),
	INBOX_EMPTY(),
	JSON_HAS("\"components\":{\"used\":0,\"high\":0,\"size\":4,\"fails\":2}"),
	END(),
};
SC_TEST(comp_unknown_name, SC_COMPONENTS)

/* A second connection for a connected name, with the right secret: the new
 * one gets conflict and the connected component keeps working (as Prosody's
 * default, component_conflict_resolve = kick_new). */
static const struct sc_step comp_second_connection[] = {
	INCLUDE(comp_up),
	COMP_CONNECT(PK2),
	SEND(PK2, COMP_HDR(SC_COMP)),
	EXPECT(PK2, COMP_HDR_ID(SC_COMP, "${cid2}")),
	HANDSHAKE("hs2", "${cid2}", SC_COMP_SECRET),
	SEND(PK2, "<handshake>${hs2}</handshake>"),
	EXPECT(PK2, STREAM_ERROR("conflict")),
	EXPECT_CLOSED(PK2),
	LOG_HAS("is already connected (link "),
	EXPECT_NOTHING(PK),
	SEND(PK, "<message from='bot@" SC_COMP "' to='u@a.test' type='chat'><body>still here</body></message>"),
	INBOX("bot@" SC_COMP, "u@a.test", "chat", "", "still here"),
	JSON_HAS("\"components\":{\"used\":1,\"high\":1,\"size\":4,\"fails\":1}"),
	END(),
};
SC_TEST(comp_second_connection, SC_COMPONENTS)

/* No handshake within the setup timeout: connection-timeout (RFC 6120
 * 4.9.3.5); the slot is free again and the component can connect. */
static const struct sc_step comp_handshake_timeout[] = {
	COMP_CONNECT(PK),
	SEND(PK, COMP_HDR(SC_COMP)),
	EXPECT(PK, COMP_HDR_ID(SC_COMP, "${cid}")),
	ADVANCE(MS(CONFIG_XS2S_SETUP_TIMEOUT_S) - 1),
	EXPECT_NOTHING(PK),
	ADVANCE(1),
	EXPECT(PK, STREAM_ERROR("connection-timeout")),
	EXPECT_CLOSED(PK),
	LOG_HAS("comp a.test comp.a.test: component comp.a.test: no handshake within"),
	JSON_HAS("\"components\":{\"used\":0,\"high\":0,\"size\":4,\"fails\":1}"),
	COMP_UP(PK2, SC_COMP, SC_COMP_SECRET, "cid2"),
	END(),
};
SC_TEST(comp_handshake_timeout, SC_COMPONENTS)

/* At most CONFIG_XS2S_MAX_COMPONENTS component connections at once
 * (handshaking or not): one more is closed unserved; s2s keeps its slots. */
static const struct sc_step comp_too_many[] = {
	COMP_CONNECT(PK),
	COMP_CONNECT(PK2),
	COMP_CONNECT(PK3),
	COMP_CONNECT(PK4),
	COMP_CONNECT(PX),
	EXPECT_CLOSED(PX),
	LOG_HAS("refusing component connection from"),
	JSON_HAS("\"components\":{\"used\":0,\"high\":0,\"size\":4,\"fails\":1}"),
	INCLUDE(SC_IN_AUTH_B),
	END(),
};
SC_TEST(comp_too_many, SC_COMPONENTS)

/* A remote server's stanza for the component (its stream authenticated for
 * the component's domain by dialback) reaches the component as it came,
 * without an explicit jabber:server namespace; the component's answer goes
 * back over our own stream, which the same dialback authenticated. */
static const struct sc_step comp_remote_both_ways[] = {
	INCLUDE(comp_up),
	INCLUDE(comp_in_auth_b),
	SEND(PI, "<message from='x@b.test/r' to='bot@" SC_COMP "' type='chat' id='m1'><body>hi bot</body></message>"),
	EXPECT(PK, "<message from='x@b.test/r' to='bot@" SC_COMP "' type='chat' id='m1'><body>hi bot</body></message>"),
	SEND(PI, "<message xmlns='jabber:server' from='x@b.test/r' to='bot@" SC_COMP "' id='m2'><body>2</body></message>"),
	EXPECT(PK, "<message from='x@b.test/r' to='bot@" SC_COMP "' id='m2'><body>2</body></message>"),
	SEND(PK, "<message xmlns='jabber:component:accept' from='bot@" SC_COMP "/b' to='x@b.test/r' type='chat' "
		 "id='r1'><body>hi x</body></message>"),
	EXPECT(PA, "<message from='bot@" SC_COMP "/b' to='x@b.test/r' type='chat' id='r1'><body>hi x</body></message>"),
	JSON_HAS("\"direction\":\"out\",\"local\":\"comp.a.test\",\"remote\":\"b.test\",\"state\":\"open\""),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PK),
	END(),
};
SC_TEST(comp_remote_both_ways, SC_COMPONENTS)

/* The component writes first to a remote domain: we open a stream from the
 * component's domain, authenticate it by dialback (we are its authoritative
 * server: the key is ours), then the stanza goes out. A refused pair
 * bounces the queued stanza back to the component. */
static const struct sc_step comp_to_remote_dialback[] = {
	INCLUDE(comp_up),
	SEND(PK, "<message from='bot@" SC_COMP "' to='x@b.test' type='chat' id='q1'><body>first</body></message>"),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR(SC_COMP, "b.test")),
	SEND(PA, HDR_ID("b.test", SC_COMP, "out-1") FEATURES_DB),
	DBKEY("kc", "b.test", SC_COMP, "out-1"),
	EXPECT(PA, "<db:result from='" SC_COMP "' to='b.test'>${kc}</db:result>"),
	/* b.test checks the key with our authoritative side. */
	CONNECT(PI),
	SEND(PI, HDR("b.test", SC_COMP)),
	EXPECT(PI, HDR_ID(SC_COMP, "b.test", "${vid}") FEATURES_IN),
	SEND(PI, "<db:verify from='b.test' to='" SC_COMP "' id='out-1'>${kc}</db:verify>"),
	EXPECT(PI, "<db:verify from='" SC_COMP "' to='b.test' id='out-1' type='valid'/>"),
	SEND(PA, "<db:result from='b.test' to='" SC_COMP "' type='valid'/>"),
	EXPECT(PA, "<message from='bot@" SC_COMP "' to='x@b.test' type='chat' id='q1'><body>first</body></message>"),
	/* c.test refuses the component's domain: the queued message comes back. */
	SEND(PK, "<message from='bot@" SC_COMP "' to='y@c.test' id='q2'><body>second</body></message>"),
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR(SC_COMP, "c.test")),
	SEND(PC, HDR_ID("c.test", SC_COMP, "out-2") FEATURES_DB),
	DBKEY("kc2", "c.test", SC_COMP, "out-2"),
	EXPECT(PC, "<db:result from='" SC_COMP "' to='c.test'>${kc2}</db:result>"),
	SEND(PC, "<db:result from='c.test' to='" SC_COMP "' type='invalid'/>"),
	EXPECT(PK, "<message type='error' from='y@c.test' to='bot@" SC_COMP "' id='q2'>"
		   STANZA_ERROR("remote-server-not-found", "cancel") "</message>"),
	EXPECT_NOTHING(PK),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(comp_to_remote_dialback, SC_COMPONENTS)

/* Local JIDs: the component's message reaches the inbox, its iq ping to the
 * domain is answered on its stream, and the application's message reaches
 * the component, also after a long quiet time. */
static const struct sc_step comp_local[] = {
	INCLUDE(comp_up),
	SEND(PK, "<message from='bot@" SC_COMP "/b' to='u@a.test' type='chat'><body>from the bot</body></message>"),
	INBOX("bot@" SC_COMP "/b", "u@a.test", "chat", "", "from the bot"),
	SEND(PK, "<iq type='get' id='p1' from='bot@" SC_COMP "' to='a.test'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PK, "<iq type='result' from='a.test' to='bot@" SC_COMP "' id='p1'/>"),
	APP_SEND("u@a.test", "bot@" SC_COMP, "hello bot", XS2S_OK),
	EXPECT(PK, APP_MSG("u@a.test", "bot@" SC_COMP, "id", "hello bot")),
	JSON_HAS("\"stanzas_in\":2,\"stanzas_out\":2"),
	/* A quiet component is never closed for idleness: it decides. */
	ADVANCE(MS(2 * CONFIG_XS2S_IDLE_TIMEOUT_S) + 1),
	EXPECT_NOTHING(PK),
	APP_SEND("u@a.test", "bot@" SC_COMP, "still there?", XS2S_OK),
	EXPECT(PK, APP_MSG("u@a.test", "bot@" SC_COMP, "id2", "still there?")),
	END(),
};
SC_TEST(comp_local, SC_COMPONENTS)

/* Component to component: to comp2.a.test while it is connected, then after
 * it left (service-unavailable back to the sender). */
static const struct sc_step comp_to_comp[] = {
	INCLUDE(comp_up),
	INCLUDE(comp2_up),
	SEND(PK, "<message from='bot@" SC_COMP "' to='echo@" SC_COMP2 "' id='c1'><body>ping</body></message>"),
	EXPECT(PK2, "<message from='bot@" SC_COMP "' to='echo@" SC_COMP2 "' id='c1'><body>ping</body></message>"),
	ABORT(PK2),
	LOG_HAS("component comp2.a.test disconnected"),
	SEND(PK, "<message from='bot@" SC_COMP "' to='echo@" SC_COMP2 "' id='c2'><body>ping</body></message>"),
	EXPECT(PK, "<message type='error' from='echo@" SC_COMP2 "' to='bot@" SC_COMP "' id='c2'>"
		   STANZA_ERROR("service-unavailable", "cancel") "</message>"),
	/* To itself. */
	SEND(PK, "<message from='bot@" SC_COMP "' to='" SC_COMP "' id='c3'><body>me</body></message>"),
	EXPECT(PK, "<message from='bot@" SC_COMP "' to='" SC_COMP "' id='c3'><body>me</body></message>"),
	EXPECT_NOTHING(PK),
	END(),
};
SC_TEST(comp_to_comp, SC_COMPONENTS)

/* RFC 7622 on a component's stanzas: a 'to' with an empty resourcepart is
 * answered jid-malformed (RFC 6120 8.3.3.8), the stream carries on; a
 * malformed 'from' ends the stream with improper-addressing (4.9.3.14). */
static const struct sc_step comp_jid_malformed[] = {
	INCLUDE(comp_up),
	SEND(PK, "<iq type='get' id='j1' from='bot@" SC_COMP "' to='a.test/'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PK, "<iq type='error' from='a.test' to='bot@" SC_COMP "' id='j1'>"
		   STANZA_ERROR("jid-malformed", "modify") "</iq>"),
	SEND(PK, "<iq type='get' id='p1' from='bot@" SC_COMP "' to='a.test'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PK, "<iq type='result' from='a.test' to='bot@" SC_COMP "' id='p1'/>"),
	STATUS_HAS("jid_malformed 1"),
	SEND(PK, "<message from='bot@" SC_COMP "/' to='u@a.test'><body>x</body></message>"),
	EXPECT(PK, STREAM_ERROR("improper-addressing")),
	SEND(PK, STREAM_CLOSE),
	EXPECT_CLOSED(PK),
	END(),
};
SC_TEST(comp_jid_malformed, SC_COMPONENTS)

/* RFC 6120 8.3.3.19: stanzas for a component that is not connected are
 * bounced with service-unavailable: the application's into the inbox, a
 * remote server's back over our stream to it; an error is not bounced. */
static const struct sc_step comp_disconnected_bounce[] = {
	APP_SEND("u@a.test", "bot@" SC_COMP, "anyone there?", XS2S_OK),
	INBOX("bot@" SC_COMP, "u@a.test", "error", "service-unavailable", "anyone there?"),
	INCLUDE(comp_in_auth_b),
	SEND(PI, "<message from='x@b.test/r' to='bot@" SC_COMP "' type='chat' id='m1'><body>hello?</body></message>"),
	EXPECT(PA, "<message type='error' from='bot@" SC_COMP "' to='x@b.test/r' id='m1'>"
		   STANZA_ERROR("service-unavailable", "cancel") "</message>"),
	SEND(PI, "<iq type='get' id='i1' from='x@b.test/r' to='bot@" SC_COMP "'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PA, "<iq type='error' from='bot@" SC_COMP "' to='x@b.test/r' id='i1'>"
		   STANZA_ERROR("service-unavailable", "cancel") "</iq>"),
	SEND(PI, "<message type='error' from='x@b.test/r' to='bot@" SC_COMP "' id='e1'/>"),
	LOG_HAS("undeliverable stanza from b.test to comp.a.test dropped: service-unavailable"),
	/* It connects: stanzas flow; it leaves: bounced again. */
	INCLUDE(comp_up),
	SEND(PI, "<message from='x@b.test/r' to='bot@" SC_COMP "' id='m2'><body>now?</body></message>"),
	EXPECT(PK, "<message from='x@b.test/r' to='bot@" SC_COMP "' id='m2'><body>now?</body></message>"),
	CLOSE(PK),
	SEND(PI, "<message from='x@b.test/r' to='bot@" SC_COMP "' id='m3'><body>gone?</body></message>"),
	EXPECT(PA, "<message type='error' from='bot@" SC_COMP "' to='x@b.test/r' id='m3'>"
		   STANZA_ERROR("service-unavailable", "cancel") "</message>"),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(comp_disconnected_bounce, SC_COMPONENTS)

/* RFC 6120 4.9.3.9: a component speaking for a domain other than its own
 * gets invalid-from; its stanza goes nowhere, other links are unaffected. */
static const struct sc_step comp_foreign_from[] = {
	INCLUDE(comp2_up),
	INCLUDE(comp_up),
	SEND(PK, "<message from='u@a.test' to='x@b.test'><body>spoofed</body></message>"),
	EXPECT(PK, STREAM_ERROR("invalid-from")),
	EXPECT_CLOSED(PK),
	LOG_HAS("component comp.a.test sent a message from 'u@a.test', not from its own domain; stream error: "
		"invalid-from"),
	NO_CONNECT("b.test"),
	SEND(PK2, "<message from='bot@" SC_COMP2 "' to='bot@" SC_COMP "' id='x1'><body>up?</body></message>"),
	EXPECT(PK2, "<message type='error' from='bot@" SC_COMP "' to='bot@" SC_COMP2 "' id='x1'>"
		    STANZA_ERROR("service-unavailable", "cancel") "</message>"),
	/* Another component's domain is foreign too; no 'to' is improper. */
	COMP_UP(PK3, SC_COMP, SC_COMP_SECRET, "cid3"),
	SEND(PK3, "<presence from='bot@" SC_COMP2 "' to='x@b.test'/>"),
	EXPECT(PK3, STREAM_ERROR("invalid-from")),
	EXPECT_CLOSED(PK3),
	COMP_UP(PK4, SC_COMP, SC_COMP_SECRET, "cid4"),
	SEND(PK4, "<message from='bot@" SC_COMP "'><body>to whom?</body></message>"),
	EXPECT(PK4, STREAM_ERROR("improper-addressing")),
	EXPECT_CLOSED(PK4),
	EXPECT_NOTHING(PK2),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(comp_foreign_from, SC_COMPONENTS)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_comp_handshake),
		cmocka_unit_test(test_comp_wrong_secret),
		cmocka_unit_test(test_comp_unknown_name),
		cmocka_unit_test(test_comp_second_connection),
		cmocka_unit_test(test_comp_handshake_timeout),
		cmocka_unit_test(test_comp_too_many),
		cmocka_unit_test(test_comp_remote_both_ways),
		cmocka_unit_test(test_comp_to_remote_dialback),
		cmocka_unit_test(test_comp_local),
		cmocka_unit_test(test_comp_to_comp),
		cmocka_unit_test(test_comp_jid_malformed),
		cmocka_unit_test(test_comp_disconnected_bounce),
		cmocka_unit_test(test_comp_foreign_from),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#else

int main(void)
{
	puts("XEP-0114 components are not built in (CONFIG_XS2S_COMPONENTS): nothing to test");
	return 0;
}

#endif
