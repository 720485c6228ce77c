/* Inbound streams: dialback in the receiving role (with the engine's verify
 * connection to the authoritative server) and the authoritative role,
 * piggybacked pairs, and the stanzas of an authenticated stream: the inbox,
 * XEP-0199 ping, XEP-0030 disco#info, errors (RFC 6120 8.3). Answers leave
 * on the engine's own outbound stream (RFC 6120 2.1: s2s streams carry one
 * direction). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_app.h"
#include "xs2s_err.h"
#include "engine/engine.h" /* XS2S_SETUP_HOLD_MS */

#define MS(s) ((s) * 1000)

/* The receiving role up to the db:verify on PA, before its answer. */
static const struct sc_step in_until_verify[] = {
	INCLUDE(SC_IN_UNTIL_VERIFY),
	EXPECT_NOTHING(PI),
	END(),
};

/* XEP-0220 2.2-2.4: db:result, db:verify with the stream id and the key as
 * received, type='valid' both ways; stanzas then reach the inbox. */
static const struct sc_step in_dialback_valid[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<message from='x@b.test/r' to='u@a.test' type='chat' id='m1'><body>hi there</body></message>"),
	INBOX("x@b.test/r", "u@a.test", "chat", "", "hi there"),
	STATUS_HAS("in   a.test           b.test           open     plain"),
	JSON_HAS("\"direction\":\"in\",\"local\":\"a.test\",\"remote\":\"b.test\",\"state\":\"open\""),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(in_dialback_valid, 0)

/* The authoritative server says invalid: type='invalid' to the originating
 * server; a stanza afterwards is not-authorized (RFC 6120 4.9.3.12). */
static const struct sc_step in_dialback_invalid[] = {
	INCLUDE(in_until_verify),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='invalid'/>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='invalid'/>"),
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>let me in</body></message>"),
	EXPECT(PI, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PI),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(in_dialback_invalid, 0)

/* The authoritative server answers with an error: XEP-0220 2.4 type='error'
 * remote-server-not-found (we could not verify). */
static const struct sc_step in_dialback_verify_error[] = {
	INCLUDE(in_until_verify),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='error'>" DB_ERROR("item-not-found", "cancel")
		 "</db:verify>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='error'>" DB_ERROR("remote-server-not-found", "cancel")
		   "</db:result>"),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_dialback_verify_error, 0)

/* A verdict for another stream id is not an answer to our db:verify
 * (XEP-0220 2.4: id must match): unsolicited, not-authorized; the pending
 * verification then fails instead of passing. */
static const struct sc_step in_verify_wrong_id[] = {
	INCLUDE(in_until_verify),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='not-${in_id}' type='valid'/>"),
	EXPECT(PA, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PA),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='error'>" DB_ERROR("remote-server-not-found", "cancel")
		   "</db:result>"),
	END(),
};
SC_TEST(in_verify_wrong_id, 0)

/* The originating stream fails while its verification runs, and its
 * closing output is still on the way (the peer reads slowly): the late
 * verdict must not be written after our </stream:stream> (RFC 6120 4.4).
 * Found by fuzz_engine (corpus crash_verdict_after_close). */
static const struct sc_step in_verdict_after_failed_stream[] = {
	CAPACITY(64),
	INCLUDE(in_until_verify),
	HOLD(PI),
	SEND(PI, "<!-- fail now -->"),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='valid'/>"),
	RELEASE(PI),
	EXPECT(PI, STREAM_ERROR("restricted-xml")),
	EXPECT_CLOSED(PI),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(in_verdict_after_failed_stream, 0)

/* The authoritative server cannot be reached (refused): type='error'
 * remote-server-not-found (XEP-0220 2.4, 8). */
static const struct sc_step in_auth_unreachable[] = {
	CONNECT(PI),
	SEND(PI, HDR("refused.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "refused.test", "${in_id}") FEATURES_IN),
	SEND(PI, "<db:result from='refused.test' to='a.test'>" PEERKEY "</db:result>"),
	EXPECT(PI, "<db:result from='a.test' to='refused.test' type='error'>"
		   DB_ERROR("remote-server-not-found", "cancel") "</db:result>"),
	/* Still not authenticated. */
	SEND(PI, "<message from='x@refused.test' to='u@a.test'><body>x</body></message>"),
	EXPECT(PI, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(in_auth_unreachable, 0)

/* ...or never answers the connect: remote-server-timeout, after the
 * connect timeout. */
static const struct sc_step in_auth_timeout[] = {
	CONNECT(PI),
	SEND(PI, HDR("hole.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "hole.test", "${in_id}") FEATURES_IN),
	SEND(PI, "<db:result from='hole.test' to='a.test'>" PEERKEY "</db:result>"),
	ADVANCE(MS(CONFIG_XS2S_CONNECT_TIMEOUT_S) - 1),
	EXPECT_NOTHING(PI),
	ADVANCE(1),
	EXPECT(PI, "<db:result from='a.test' to='hole.test' type='error'>"
		   DB_ERROR("remote-server-timeout", "wait") "</db:result>"),
	END(),
};
SC_TEST(in_auth_timeout, 0)

/* ...or closes the verify connection before answering. */
static const struct sc_step in_auth_closes[] = {
	INCLUDE(in_until_verify),
	CLOSE(PA),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='error'>" DB_ERROR("remote-server-not-found", "cancel")
		   "</db:result>"),
	END(),
};
SC_TEST(in_auth_closes, 0)

/* Dialback disabled: the receiving role answers policy-violation. */
static const struct sc_step in_dialback_disabled[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") "<stream:features>" SM_OFFER "</stream:features>"),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='error'>" DB_ERROR("policy-violation", "modify")
		   "</db:result>"),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(in_dialback_disabled, SC_NO_DIALBACK)

/* A db:result for a domain we do not serve: type='error' item-not-found
 * (XEP-0220 2.4), no verify connection. */
static const struct sc_step in_result_not_served[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_IN),
	SEND(PI, "<db:result from='b.test' to='other.test'>" PEERKEY "</db:result>"),
	EXPECT(PI, "<db:result from='other.test' to='b.test' type='error'>" DB_ERROR("item-not-found", "cancel")
		   "</db:result>"),
	NO_CONNECT("b.test"),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_result_not_served, 0)

/* Secure auth: dialback alone is not enough for a peer without a valid
 * certificate (policy-violation), unless the domain is an exception. */
static const struct sc_step in_secure_auth_no_cert[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_IN),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	EXPECT(PI, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI),
	NO_CONNECT("b.test"),
	LOG_HAS("dialback alone is not enough"),
	END(),
};
SC_TEST(in_secure_auth_no_cert, SC_SECURE_AUTH)

static const struct sc_step in_secure_auth_exception[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<message from='x@b.test' to='u@a.test' type='chat'><body>exempt</body></message>"),
	INBOX("x@b.test", "u@a.test", "chat", "", "exempt"),
	END(),
};
SC_TEST_EX(in_secure_auth_exception, SC_SECURE_AUTH, "b.test")

/* ---- the authoritative role (XEP-0220 2.3) ---- */

/* A receiving server asks whether a key for (b.test, a.test, id) is ours. */
static const struct sc_step authoritative_valid[] = {
	CONNECT(PX),
	SEND(PX, HDR("b.test", "a.test")),
	EXPECT(PX, HDR_ID("a.test", "b.test", "${id}") FEATURES_IN),
	DBKEY("k", "b.test", "a.test", "stream-77"),
	SEND(PX, "<db:verify from='b.test' to='a.test' id='stream-77'>${k}</db:verify>"),
	EXPECT(PX, "<db:verify from='a.test' to='b.test' id='stream-77' type='valid'/>"),
	/* The alias domain's keys too. */
	DBKEY("k2", "b.test", "alias.test", "stream-78"),
	SEND(PX, "<db:verify from='b.test' to='alias.test' id='stream-78'>${k2}</db:verify>"),
	EXPECT(PX, "<db:verify from='alias.test' to='b.test' id='stream-78' type='valid'/>"),
	/* A verify-only stream is closed by its initiator (XEP-0220 2.3.2). */
	SEND(PX, STREAM_CLOSE),
	EXPECT(PX, STREAM_CLOSE),
	EXPECT_CLOSED(PX),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(authoritative_valid, 0)

static const struct sc_step authoritative_invalid[] = {
	CONNECT(PX),
	SEND(PX, HDR("b.test", "a.test")),
	EXPECT(PX, HDR_ID("a.test", "b.test", "${id}") FEATURES_IN),
	/* A key for another stream id, for another receiving domain, and none at all. */
	DBKEY("k", "b.test", "a.test", "stream-1"),
	SEND(PX, "<db:verify from='b.test' to='a.test' id='stream-2'>${k}</db:verify>"),
	EXPECT(PX, "<db:verify from='a.test' to='b.test' id='stream-2' type='invalid'/>"),
	DBKEY("k2", "c.test", "a.test", "stream-3"),
	SEND(PX, "<db:verify from='b.test' to='a.test' id='stream-3'>${k2}</db:verify>"),
	EXPECT(PX, "<db:verify from='a.test' to='b.test' id='stream-3' type='invalid'/>"),
	SEND(PX, "<db:verify from='b.test' to='a.test' id='stream-4'/>"),
	EXPECT(PX, "<db:verify from='a.test' to='b.test' id='stream-4' type='invalid'/>"),
	SEND(PX, "<db:verify from='b.test' to='a.test'>${k}</db:verify>"),
	EXPECT(PX, "<db:verify from='a.test' to='b.test' id='' type='invalid'/>"),
	EXPECT_NOTHING(PX),
	END(),
};
SC_TEST(authoritative_invalid, 0)

/* XEP-0220 2.4: a domain not served here: type='error' item-not-found. */
static const struct sc_step authoritative_not_served[] = {
	CONNECT(PX),
	SEND(PX, HDR("b.test", "a.test")),
	EXPECT(PX, HDR_ID("a.test", "b.test", "${id}") FEATURES_IN),
	SEND(PX, "<db:verify from='b.test' to='other.test' id='stream-5'>0123</db:verify>"),
	EXPECT(PX, "<db:verify from='other.test' to='b.test' id='stream-5' type='error'>"
		   DB_ERROR("item-not-found", "cancel") "</db:verify>"),
	EXPECT_NOTHING(PX),
	END(),
};
SC_TEST(authoritative_not_served, 0)

/* ---- piggybacking (XEP-0220 2.6) ---- */

/* A second remote domain (c.test, hosted by b.test's server) on the same
 * inbound stream, verified with c.test's authoritative server. */
static const struct sc_step in_piggyback_remote[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<db:result from='c.test' to='a.test'>c0ffee</db:result>"),
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR("a.test", "c.test")),
	SEND(PC, HDR_ID("c.test", "a.test", "c-1") FEATURES_DB),
	DBKEY("kc", "c.test", "a.test", "c-1"),
	EXPECT(PC, "<db:result from='a.test' to='c.test'>${kc}</db:result>"
		   "<db:verify from='a.test' to='c.test' id='${in_id}'>c0ffee</db:verify>"),
	/* Before the verdict, c.test may not send (RFC 6120 8.1.1.2 / invalid-from). */
	SEND(PC, "<db:verify from='c.test' to='a.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='a.test' to='c.test' type='valid'/>"),
	SEND(PC, "<db:result from='c.test' to='a.test' type='valid'/>"),
	SEND(PI, "<message from='y@c.test' to='u@a.test'><body>from c</body></message>"
		 "<message from='x@b.test' to='u@a.test'><body>from b</body></message>"),
	INBOX("y@c.test", "u@a.test", "normal", "", "from c"),
	INBOX("x@b.test", "u@a.test", "normal", "", "from b"),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PC),
	END(),
};
SC_TEST(in_piggyback_remote, 0)

/* A stanza from a piggybacked domain before its verdict is invalid-from. */
static const struct sc_step in_piggyback_too_early[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<db:result from='c.test' to='a.test'>c0ffee</db:result>"),
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR("a.test", "c.test")),
	SEND(PI, "<message from='y@c.test' to='u@a.test'><body>too early</body></message>"),
	EXPECT(PI, STREAM_ERROR("invalid-from")),
	EXPECT_CLOSED(PI),
	/* The verify connection carries on with our own pair (a.test, c.test). */
	SEND(PC, HDR_ID("c.test", "a.test", "c-1") FEATURES_DB),
	DBKEY("kc", "c.test", "a.test", "c-1"),
	EXPECT(PC, "<db:result from='a.test' to='c.test'>${kc}</db:result>"),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(in_piggyback_too_early, 0)

/* A second local domain (alias.test) on the same inbound stream: the verify
 * rides our existing stream to b.test, piggybacking alias.test there too. */
static const struct sc_step in_piggyback_local[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<db:result from='b.test' to='alias.test'>feedbeef</db:result>"),
	DBKEY("ka", "b.test", "alias.test", "out-1"),
	EXPECT(PA, "<db:result from='alias.test' to='b.test'>${ka}</db:result>"
		   "<db:verify from='alias.test' to='b.test' id='${in_id}'>feedbeef</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='alias.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='alias.test' to='b.test' type='valid'/>"),
	SEND(PA, "<db:result from='b.test' to='alias.test' type='valid'/>"),
	SEND(PI, "<message from='x@b.test' to='v@alias.test' type='chat'><body>alias</body></message>"),
	INBOX("x@b.test", "v@alias.test", "chat", "", "alias"),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(in_piggyback_local, 0)

/* The same db:result again while its verification runs: no second verify. */
static const struct sc_step in_result_while_verifying[] = {
	INCLUDE(in_until_verify),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	EXPECT_NOTHING(PA),
	EXPECT_NOTHING(PI),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='valid'/>"),
	END(),
};
SC_TEST(in_result_while_verifying, 0)

/* CONFIG_XS2S_MAX_PAIRS domain pairs per stream; refused pairs keep their
 * place; one more db:result gets type='error' resource-constraint (wait). */
static const struct sc_step in_pairs_exhausted[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<db:result from='refused.test' to='a.test'>1</db:result>"),
	EXPECT(PI, "<db:result from='a.test' to='refused.test' type='error'>"
		   DB_ERROR("remote-server-not-found", "cancel") "</db:result>"),
	SEND(PI, "<db:result from='nowhere.test' to='a.test'>2</db:result>"),
	EXPECT(PI, "<db:result from='a.test' to='nowhere.test' type='error'>"
		   DB_ERROR("remote-server-not-found", "cancel") "</db:result>"),
	SEND(PI, "<db:result from='refused.test' to='alias.test'>3</db:result>"),
	EXPECT(PI, "<db:result from='alias.test' to='refused.test' type='error'>"
		   DB_ERROR("remote-server-not-found", "cancel") "</db:result>"),
	SEND(PI, "<db:result from='c.test' to='a.test'>4</db:result>"),
	EXPECT(PI, "<db:result from='a.test' to='c.test' type='error'>" DB_ERROR("resource-constraint", "wait")
		   "</db:result>"),
	NO_CONNECT("c.test"),
	/* The stream itself carries on. */
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>still</body></message>"),
	INBOX("x@b.test", "u@a.test", "normal", "", "still"),
	END(),
};
#if CONFIG_XS2S_MAX_PAIRS == 4
SC_TEST(in_pairs_exhausted, 0)
#endif

/* The same db:result again on a valid pair: answered valid at once. */
static const struct sc_step in_result_repeated[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='valid'/>"),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(in_result_repeated, 0)

/* ---- stanzas on an authenticated stream ---- */

/* XEP-0199 ping to the domain: an empty result, on our outbound stream. */
static const struct sc_step in_ping[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<iq type='get' from='x@b.test/r' to='a.test' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PA, "<iq type='result' from='a.test' to='x@b.test/r' id='p1'/>"),
	EXPECT_NOTHING(PI),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(in_ping, 0)

/* XEP-0030 disco#info: identity server/im and its features (disco#info,
 * ping, version; no handler registered another). */
static const struct sc_step in_disco_info[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<iq type='get' from='b.test' to='a.test' id='d1'>"
		 "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
	EXPECT(PA, "<iq type='result' from='a.test' to='b.test' id='d1'>"
		   "<query xmlns='http://jabber.org/protocol/disco#info'><identity category='server' type='im' name='xs2s'/>"
		   "<feature var='http://jabber.org/protocol/disco#info'/><feature var='urn:xmpp:ping'/>"
		   "<feature var='jabber:iq:version'/></query></iq>"),
	END(),
};
SC_TEST(in_disco_info, 0)

/* XEP-0092 software version of the domain: name and version, no OS. */
static const struct sc_step in_version[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<iq type='get' from='x@b.test/r' to='a.test' id='v1'><query xmlns='jabber:iq:version'/></iq>"),
	EXPECT(PA, "<iq type='result' from='a.test' to='x@b.test/r' id='v1'><query xmlns='jabber:iq:version'>"
		   "<name>xs2s</name><version>" XS2S_VERSION "</version></query></iq>"),
	END(),
};
SC_TEST(in_version, 0)

/* RFC 6120 8.3.3.19: an iq nobody serves gets service-unavailable (cancel);
 * to a user JID too; without an id, bad-request (modify). */
static const struct sc_step in_iq_errors[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<iq type='get' from='x@b.test/r' to='a.test' id='v1'><query xmlns='urn:example:nothing'/></iq>"),
	EXPECT(PA, "<iq type='error' from='a.test' to='x@b.test/r' id='v1'>" DB_ERROR("service-unavailable", "cancel")
		   "</iq>"),
	SEND(PI, "<iq type='get' from='x@b.test/r' to='u@a.test' id='v2'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PA, "<iq type='error' from='u@a.test' to='x@b.test/r' id='v2'>" DB_ERROR("service-unavailable", "cancel")
		   "</iq>"),
	SEND(PI, "<iq type='set' from='x@b.test/r' to='a.test' id='v3'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PA, "<iq type='error' from='a.test' to='x@b.test/r' id='v3'>" DB_ERROR("service-unavailable", "cancel")
		   "</iq>"),
	SEND(PI, "<iq type='get' from='x@b.test/r' to='a.test'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PA, "<iq type='error' from='a.test' to='x@b.test/r'>" DB_ERROR("bad-request", "modify") "</iq>"),
	/* RFC 6120 8.2.3: result and error iqs are never answered. */
	SEND(PI, "<iq type='result' from='x@b.test/r' to='a.test' id='r1'/>"
		 "<iq type='error' from='x@b.test/r' to='a.test' id='r2'/>"),
	EXPECT_NOTHING(PA),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_iq_errors, 0)

/* RFC 6120 8.2.3: every iq get/set gets an answer, whatever its id's size
 * within the stanza limit (13.12). A ping with an id that fills the stanza
 * gets its result, the id as sent; a disco#info whose result would not fit a
 * stanza gets resource-constraint (8.3.3.18, wait), the id as sent, although
 * that error is longer than the request (XS2S_REPLY_SLACK). */
#define LONG_ID (CONFIG_XS2S_MAX_STANZA - 120)
static const struct sc_step in_iq_long_id[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND_LONG(PI, "<iq type='get' from='x@b.test/r' to='a.test' id='", "i", LONG_ID,
		  "'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT_LONG(PA, "<iq type='result' from='a.test' to='x@b.test/r' id='", "i", LONG_ID, "'/>"),
	SEND_LONG(PI, "<iq type='get' from='b.test' to='a.test' id='", "d", LONG_ID,
		  "'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"),
	EXPECT_LONG(PA, "<iq type='error' from='a.test' to='b.test' id='", "d", LONG_ID,
		    "'>" DB_ERROR("resource-constraint", "wait") "</iq>"),
	/* An iq nobody serves, its id quoted with '"': the id as received. */
	SEND_LONG(PI, "<iq type='set' from='x@b.test/r' to='a.test' id=\"", "s", LONG_ID,
		  "\"><query xmlns='urn:example:nothing'/></iq>"),
	EXPECT_LONG(PA, "<iq type='error' from='a.test' to='x@b.test/r' id=\"", "s", LONG_ID,
		    "\">" DB_ERROR("service-unavailable", "cancel") "</iq>"),
	STATUS_HAS("answer_errors 1"),
	JSON_HAS("\"answer_errors\":1"),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_iq_long_id, 0)

/* RFC 7622 on every stanza's 'to' and 'from'. A 'to' of ours whose
 * resourcepart is empty or whose localpart holds a forbidden character:
 * jid-malformed (RFC 6120 8.3.3.8, modify), from the domain; the stream
 * carries on. */
static const struct sc_step in_jid_malformed_to[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<iq type='get' from='x@b.test/r' to='a.test/' id='j1'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PA, "<iq type='error' from='a.test' to='x@b.test/r' id='j1'>" DB_ERROR("jid-malformed", "modify")
		   "</iq>"),
	SEND(PI, "<message from='x@b.test/r' to='u&lt;v@a.test' id='j2'><body>hi</body></message>"),
	EXPECT(PA, "<message type='error' from='a.test' to='x@b.test/r' id='j2'>" DB_ERROR("jid-malformed", "modify")
		   "</message>"),
	SEND(PI, "<iq type='get' from='x@b.test/r' to='@a.test' id='j3'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PA, "<iq type='error' from='a.test' to='x@b.test/r' id='j3'>" DB_ERROR("jid-malformed", "modify")
		   "</iq>"),
	/* An error is never answered (8.3.1): counted. */
	SEND(PI, "<message type='error' from='x@b.test/r' to='a.test/' id='j4'/>"),
	SEND(PI, "<iq type='get' from='x@b.test/r' to='a.test' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PA, "<iq type='result' from='a.test' to='x@b.test/r' id='p1'/>"),
	INBOX_EMPTY(),
	STATUS_HAS("jid_malformed 4"),
	END(),
};
SC_TEST(in_jid_malformed_to, 0)

/* RFC 6120 4.9.3.14: between servers, a 'from' that breaks RFC 7622 is the
 * stream error improper-addressing. */
static const struct sc_step in_jid_malformed_from[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<iq type='get' from='x@b.test/' to='a.test' id='j1'><ping xmlns='urn:xmpp:ping'/></iq>"),
	EXPECT(PI, STREAM_ERROR("improper-addressing")),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(in_jid_malformed_from, 0)

/* No answer lost for want of room: 400 pipelined pings while our outbound
 * stream to b.test is not read. Its output and then the route's queue fill
 * up; the inbound stream is then read no further (TCP pushes back) until
 * they drain, and every ping gets its result, in order. */
#define PING "<iq type='get' from='x@b.test/r' to='a.test' id='p'><ping xmlns='urn:xmpp:ping'/></iq>"
#define PONG "<iq type='result' from='a.test' to='x@b.test/r' id='p'/>"
static const struct sc_step in_pings_backpressure[] = {
	CAPACITY(2048),
	INCLUDE(SC_IN_AUTH_B),
	HOLD(PA),
	SEND_LONG(PI, "", PING, 200, ""),
	SEND_LONG(PI, "", PING, 200, ""),
	RELEASE(PA),
	EXPECT_LONG(PA, "", PONG, 400, ""),
	EXPECT_NOTHING(PA),
	STATUS_HAS("answers_lost 0"),
	END(),
};
SC_TEST(in_pings_backpressure, 0)

/* ...and when the route back never drains, the wait ends after
 * XS2S_FLOW_HOLD_MS (two servers flooding each other must not wait for each
 * other for ever): the message behind the pings is delivered, what then
 * finds no room is counted. */
static const struct sc_step in_pings_flow_hold_ends[] = {
	CAPACITY(2048),
	INCLUDE(SC_IN_AUTH_B),
	HOLD(PA),
	SEND_LONG(PI, "", PING, 200, ""),
	SEND_LONG(PI, "", PING, 200, ""),
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>behind</body></message>"),
	ADVANCE(XS2S_FLOW_HOLD_MS - 1),
	INBOX_EMPTY(),
	ADVANCE(1),
	INBOX("x@b.test", "u@a.test", "normal", "", "behind"),
	LOG_HAS("unanswered: the resource-constraint error cannot be sent"),
	STATUS_HAS("answers_lost 66"),
	RELEASE(PA),
	/* What the stream, its buffers and the route's queue held before the
	 * wait ended (the default buffer sizes); the other 66 were lost. */
	EXPECT_LONG(PA, "", PONG, 334, ""),
	END(),
};
#if CONFIG_XS2S_OUT_BUF == 12288 && CONFIG_XS2S_TX_BUF == 4096 && CONFIG_XS2S_ROUTE_QUEUE == 8
SC_TEST(in_pings_flow_hold_ends, 0)
#endif

/* The route back in setup: 30 pings to alias.test while our db:result for
 * alias.test -> b.test is still unanswered. 8 results queue on that route,
 * then the inbound stream waits (at most XS2S_SETUP_HOLD_MS) until the
 * route is valid: every ping gets its result (8 did before). */
#define APING "<iq type='get' from='x@b.test/r' to='alias.test' id='q'><ping xmlns='urn:xmpp:ping'/></iq>"
#define APONG "<iq type='result' from='alias.test' to='x@b.test/r' id='q'/>"
static const struct sc_step in_pings_route_in_setup[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<db:result from='b.test' to='alias.test'>feedbeef</db:result>"),
	DBKEY("ka", "b.test", "alias.test", "out-1"),
	EXPECT(PA, "<db:result from='alias.test' to='b.test'>${ka}</db:result>"
		   "<db:verify from='alias.test' to='b.test' id='${in_id}'>feedbeef</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='alias.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='alias.test' to='b.test' type='valid'/>"),
	SEND_LONG(PI, "", APING, 30, ""),
	EXPECT_NOTHING(PA),
	SEND(PA, "<db:result from='b.test' to='alias.test' type='valid'/>"),
	EXPECT_LONG(PA, "", APONG, 30, ""),
	STATUS_HAS("answers_lost 0"),
	END(),
};
SC_TEST(in_pings_route_in_setup, 0)

/* The queue pool runs low before the route's queue is full: pings with
 * 4100-byte ids (12) while our outbound stream is not read. The inbound stream
 * waits when less than a quarter of the pool is free (XS2S_HOLD_POOL_ROOM):
 * every ping gets its result. */
#define BIG_ID 4100
#define BIG_PING SEND_LONG(PI, "<iq type='get' from='x@b.test/r' to='a.test' id='", "b", BIG_ID, \
			   "'><ping xmlns='urn:xmpp:ping'/></iq>")
#define BIG_PONG EXPECT_LONG(PA, "<iq type='result' from='a.test' to='x@b.test/r' id='", "b", BIG_ID, "'/>")
static const struct sc_step in_big_answers_pool_low[] = {
	CAPACITY(2048),
	INCLUDE(SC_IN_AUTH_B),
	HOLD(PA),
	BIG_PING, BIG_PING, BIG_PING, BIG_PING, BIG_PING, BIG_PING,
	BIG_PING, BIG_PING, BIG_PING, BIG_PING, BIG_PING, BIG_PING,
	RELEASE(PA),
	BIG_PONG, BIG_PONG, BIG_PONG, BIG_PONG, BIG_PONG, BIG_PONG,
	BIG_PONG, BIG_PONG, BIG_PONG, BIG_PONG, BIG_PONG, BIG_PONG,
	EXPECT_NOTHING(PA),
	STATUS_HAS("answers_lost 0"),
	END(),
};
#if CONFIG_XS2S_QUEUE_POOL <= 32768 && CONFIG_XS2S_OUT_BUF <= 12288
SC_TEST(in_big_answers_pool_low, 0)
#endif

/* ...and when the route stays in setup, the wait ends after
 * XS2S_SETUP_HOLD_MS (a db:verify behind the pings must get through): what
 * then finds no room is answered where possible, or counted. */
static const struct sc_step in_pings_setup_hold_ends[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<db:result from='b.test' to='alias.test'>feedbeef</db:result>"),
	DBKEY("ka", "b.test", "alias.test", "out-1"),
	EXPECT(PA, "<db:result from='alias.test' to='b.test'>${ka}</db:result>"
		   "<db:verify from='alias.test' to='b.test' id='${in_id}'>feedbeef</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='alias.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='alias.test' to='b.test' type='valid'/>"),
	SEND_LONG(PI, "", APING, 10, ""),
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>behind</body></message>"),
	ADVANCE(XS2S_SETUP_HOLD_MS - 1),
	INBOX_EMPTY(),
	ADVANCE(1),
	INBOX("x@b.test", "u@a.test", "normal", "", "behind"),
	STATUS_HAS("answers_lost 2"),
	SEND(PA, "<db:result from='b.test' to='alias.test' type='valid'/>"),
	EXPECT_LONG(PA, "", APONG, 8, ""),
	END(),
};
SC_TEST(in_pings_setup_hold_ends, 0)

/* Presence: no presence service here, dropped without an answer. */
static const struct sc_step in_presence_ignored[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<presence from='x@b.test/r' to='u@a.test'/><presence from='x@b.test/r' to='u@a.test' type='subscribe'/>"),
	EXPECT_NOTHING(PA),
	EXPECT_NOTHING(PI),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(in_presence_ignored, 0)

/* Messages: the type defaults to normal; an error message keeps its
 * condition (RFC 6120 8.3.2) and is never answered. */
static const struct sc_step in_messages[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>plain &amp; simple</body></message>"),
	INBOX("x@b.test", "u@a.test", "normal", "", "plain & simple"),
	SEND(PI, "<message from='x@b.test' to='u@a.test' type='error' id='e1'><body>back</body>"
		 "<error type='cancel'><item-not-found xmlns='" NS_STANZA_ERR "'/></error></message>"),
	INBOX("x@b.test", "u@a.test", "error", "item-not-found", "back"),
	/* UTF-8 of two, three and four bytes (cut anywhere by the delivery). */
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>caf\xc3\xa9 \xe2\x98\xba \xf0\x9d\x84\x9e</body></message>"),
	INBOX("x@b.test", "u@a.test", "normal", "", "caf\xc3\xa9 \xe2\x98\xba \xf0\x9d\x84\x9e"),
	SEND(PI, "<message from='x@b.test' to='u@a.test' type='headline'/>"),
	INBOX("x@b.test", "u@a.test", "headline", "", ""),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(in_messages, 0)

/* Inbox full (CONFIG_XS2S_INBOX_BYTES): the message is refused with the
 * stanza error resource-constraint (wait) back to its sender. */
#define INBOX_BODY 4000 /* four fit in the default 16 KiB inbox, five do not */
static const struct sc_step in_inbox_full[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND_LONG(PI, "<message from='x@b.test' to='u@a.test' id='f1'><body>", "1", INBOX_BODY, "</body></message>"),
	SEND_LONG(PI, "<message from='x@b.test' to='u@a.test' id='f2'><body>", "2", INBOX_BODY, "</body></message>"),
	SEND_LONG(PI, "<message from='x@b.test' to='u@a.test' id='f3'><body>", "3", INBOX_BODY, "</body></message>"),
	SEND_LONG(PI, "<message from='x@b.test' to='u@a.test' id='f4'><body>", "4", INBOX_BODY, "</body></message>"),
	SEND_LONG(PI, "<message from='x@b.test' to='u@a.test' id='f5'><body>", "5", INBOX_BODY, "</body></message>"),
	EXPECT(PA, "<message type='error' from='u@a.test' to='x@b.test' id='f5'>"
		   DB_ERROR("resource-constraint", "wait") "</message>"),
	INBOX_LONG("x@b.test", "u@a.test", "normal", "", "1", INBOX_BODY),
	INBOX_LONG("x@b.test", "u@a.test", "normal", "", "2", INBOX_BODY),
	INBOX_LONG("x@b.test", "u@a.test", "normal", "", "3", INBOX_BODY),
	INBOX_LONG("x@b.test", "u@a.test", "normal", "", "4", INBOX_BODY),
	INBOX_EMPTY(),
	/* Drained: room again. */
	SEND(PI, "<message from='x@b.test' to='u@a.test' id='f6'><body>6</body></message>"),
	INBOX("x@b.test", "u@a.test", "normal", "", "6"),
	EXPECT_NOTHING(PI),
	END(),
};
#if CONFIG_XS2S_INBOX_BYTES == 16384
SC_TEST(in_inbox_full, 0)
#endif

/* Streams to the alias domain; one without 'to' is refused (RFC 6120
 * 4.7.2: the initiating server MUST name the domain; it used to get the
 * primary domain's stream) and the other is unaffected. */
static const struct sc_step in_alias_and_missing_to[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "alias.test")),
	EXPECT(PI, HDR_ID("alias.test", "b.test", "${id1}") FEATURES_IN),
	CONNECT(PI2),
	SEND(PI2, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' version='1.0'>"),
	EXPECT(PI2, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " to='b.test' id='${id2}' version='1.0'>"
		    STREAM_ERROR("improper-addressing")),
	EXPECT_CLOSED(PI2),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(in_alias_and_missing_to, 0)

/* RFC 6120 4.7.5: a peer without version is XMPP 0.9 (rule 4): the
 * response states no version and no features follow; under the optional
 * TLS policy xs2s speaks it, with dialback only (XEP-0220 2.1). */
static const struct sc_step in_pre_1_0_dialback[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test'>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " from='a.test' to='b.test' id='${in_id}'>"),
	EXPECT_NOTHING(PI),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"
		   "<db:verify from='a.test' to='b.test' id='${in_id}'>" PEERKEY "</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='valid'/>"),
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>old school</body></message>"),
	INBOX("x@b.test", "u@a.test", "normal", "", "old school"),
	END(),
};
SC_TEST(in_pre_1_0_dialback, 0)

/* Rule 2: the lower of the two versions, compared as numbers: 0.9 is
 * answered 0.9 (without features); 1.10 and 2.0 are answered 1.0. */
static const struct sc_step in_versions[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' version='0.9'>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " from='a.test' to='b.test' id='${id1}' "
		   "version='0.9'>"),
	EXPECT_NOTHING(PI),
	CONNECT(PI2),
	SEND(PI2, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' version='2.0'>"),
	EXPECT(PI2, HDR_ID("a.test", "b.test", "${id2}") FEATURES_IN),
	CONNECT(PX),
	SEND(PX, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' version='1.10'>"),
	EXPECT(PX, HDR_ID("a.test", "b.test", "${id3}") FEATURES_IN),
	END(),
};
SC_TEST(in_versions, 0)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_dialback_valid),
		cmocka_unit_test(test_in_dialback_invalid),
		cmocka_unit_test(test_in_dialback_verify_error),
		cmocka_unit_test(test_in_verify_wrong_id),
		cmocka_unit_test(test_in_verdict_after_failed_stream),
		cmocka_unit_test(test_in_auth_unreachable),
		cmocka_unit_test(test_in_auth_timeout),
		cmocka_unit_test(test_in_auth_closes),
		cmocka_unit_test(test_in_dialback_disabled),
		cmocka_unit_test(test_in_result_not_served),
		cmocka_unit_test(test_in_secure_auth_no_cert),
		cmocka_unit_test(test_in_secure_auth_exception),
		cmocka_unit_test(test_authoritative_valid),
		cmocka_unit_test(test_authoritative_invalid),
		cmocka_unit_test(test_authoritative_not_served),
		cmocka_unit_test(test_in_piggyback_remote),
		cmocka_unit_test(test_in_piggyback_too_early),
		cmocka_unit_test(test_in_piggyback_local),
		cmocka_unit_test(test_in_result_while_verifying),
#if CONFIG_XS2S_MAX_PAIRS == 4
		cmocka_unit_test(test_in_pairs_exhausted),
#endif
		cmocka_unit_test(test_in_result_repeated),
		cmocka_unit_test(test_in_ping),
		cmocka_unit_test(test_in_disco_info),
		cmocka_unit_test(test_in_version),
		cmocka_unit_test(test_in_iq_errors),
		cmocka_unit_test(test_in_iq_long_id),
		cmocka_unit_test(test_in_jid_malformed_to),
		cmocka_unit_test(test_in_jid_malformed_from),
		cmocka_unit_test(test_in_pings_backpressure),
#if CONFIG_XS2S_OUT_BUF == 12288 && CONFIG_XS2S_TX_BUF == 4096 && CONFIG_XS2S_ROUTE_QUEUE == 8
		cmocka_unit_test(test_in_pings_flow_hold_ends),
#endif
		cmocka_unit_test(test_in_pings_route_in_setup),
#if CONFIG_XS2S_QUEUE_POOL <= 32768 && CONFIG_XS2S_OUT_BUF <= 12288
		cmocka_unit_test(test_in_big_answers_pool_low),
#endif
		cmocka_unit_test(test_in_pings_setup_hold_ends),
		cmocka_unit_test(test_in_presence_ignored),
		cmocka_unit_test(test_in_messages),
#if CONFIG_XS2S_INBOX_BYTES == 16384
		cmocka_unit_test(test_in_inbox_full),
#endif
		cmocka_unit_test(test_in_alias_and_missing_to),
		cmocka_unit_test(test_in_pre_1_0_dialback),
		cmocka_unit_test(test_in_versions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
