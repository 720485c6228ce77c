/* Outbound streams: connection, headers, features, dialback in the
 * originating role, piggybacking, setup failures and their bounces, the
 * route queue's bounds. Every bounce lands in the inbox as type 'error'
 * with the RFC 6120 8.3.3 condition, in the order the stanzas were sent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

#define MS(s) ((s) * 1000)

/* RFC 6120 4.7, XEP-0220 2.1: headers, features, db:result with the XEP-0185
 * key; type='valid' releases the queued stanzas in order (XEP-0220 2.4). */
static const struct sc_step out_dialback_valid[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "id1", "one") APP_MSG("u@a.test", "x@b.test", "id2", "two")),
	LOG_HAS("INSECURE: b.test offers no STARTTLS"),
	APP_SEND("u@a.test", "x@b.test/res", "three", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test/res", "id3", "three")),
	STATUS_HAS("out  a.test           b.test           open     plain"),
	JSON_HAS("\"auth\":\"dialback\""),
	EXPECT_NOTHING(PA),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(out_dialback_valid, 0)

/* XEP-0220 2.4: type='invalid' refuses the pair; its queued stanzas are
 * bounced in order, nothing is sent on the stream. */
static const struct sc_step out_dialback_invalid[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='invalid'/>"),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "one"),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "two"),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(out_dialback_invalid, 0)

/* XEP-0220 2.4, 8: type='error' with a condition: bounced like invalid. */
static const struct sc_step out_dialback_error[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='error'>" DB_ERROR("item-not-found", "cancel")
		 "</db:result>"),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "one"),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(out_dialback_error, 0)

/* XEP-0220 2.6 (piggybacking): a second local domain on the open stream to
 * b.test asks with its own db:result, keyed with the same stream id; the
 * first pair keeps working while the second waits, and its refusal
 * bounces only its own stanzas. */
static const struct sc_step out_piggyback_alias[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	APP_SEND("v@alias.test", "y@b.test", "two", XS2S_OK),
	DBKEY("ka", "b.test", "alias.test", "out-1"),
	EXPECT(PA, "<db:result from='alias.test' to='b.test'>${ka}</db:result>"),
	APP_SEND("u@a.test", "x@b.test", "three", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i3", "three")),
	SEND(PA, "<db:result from='b.test' to='alias.test' type='valid'/>"),
	EXPECT(PA, APP_MSG("v@alias.test", "y@b.test", "i2", "two")),
	NO_CONNECT("b.test"),
	JSON_HAS("\"pairs\":[{\"local\":\"a.test\",\"remote\":\"b.test\",\"state\":\"valid\",\"auth\":\"dialback\"},"
		 "{\"local\":\"alias.test\",\"remote\":\"b.test\",\"state\":\"valid\",\"auth\":\"dialback\"}]"),
	JSON_HAS("\"fake:sockets\":{\"unit\":\"items\""),
	END(),
};
SC_TEST(out_piggyback_alias, 0)

static const struct sc_step out_piggyback_alias_invalid[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	APP_SEND("v@alias.test", "y@b.test", "two", XS2S_OK),
	DBKEY("ka", "b.test", "alias.test", "out-1"),
	EXPECT(PA, "<db:result from='alias.test' to='b.test'>${ka}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='alias.test' type='invalid'/>"),
	INBOX("y@b.test", "v@alias.test", "error", "remote-server-not-found", "two"),
	APP_SEND("u@a.test", "x@b.test", "three", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i3", "three")),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(out_piggyback_alias_invalid, 0)

/* Two remote domains: two streams, each with its own dialback. */
static const struct sc_step out_two_remotes[] = {
	APP_SEND("u@a.test", "x@b.test", "to b", XS2S_OK),
	APP_SEND("u@a.test", "x@c.test", "to c", XS2S_OK),
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR("a.test", "c.test")),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "to b")),
	SEND(PC, HDR_ID("c.test", "a.test", "c-1") FEATURES_DB),
	DBKEY("kc", "c.test", "a.test", "c-1"),
	EXPECT(PC, "<db:result from='a.test' to='c.test'>${kc}</db:result>"),
	SEND(PC, "<db:result from='c.test' to='a.test' type='valid'/>"),
	EXPECT(PC, APP_MSG("u@a.test", "x@c.test", "i2", "to c")),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(out_two_remotes, 0)

/* RFC 6120 4.7.5: a peer without version='1.0' sends no features; under the
 * optional policy dialback starts at once (XEP-0220 2.1), loudly. */
static const struct sc_step out_pre_1_0_peer[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' id='old-1'>"),
	DBKEY("kb", "b.test", "a.test", "old-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	LOG_HAS("INSECURE: peer speaks pre-1.0 XMPP"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),
	END(),
};
SC_TEST(out_pre_1_0_peer, 0)

/* ---- setup failures: every queued stanza bounced, in order ---- */

/* No address: not in the host map, DNS unreachable (RFC 6120 8.3.3.16). */
static const struct sc_step out_no_address[] = {
	APP_SEND_MANY("u@a.test", "x@nowhere.test", "m", 3, 3),
	INBOX_MANY("x@nowhere.test", "u@a.test", "error", "remote-server-not-found", "m", 3),
	LOG_HAS("no address for nowhere.test"),
	END(),
};
SC_TEST(out_no_address, 0)

/* Connection refused. */
static const struct sc_step out_refused[] = {
	APP_SEND_MANY("u@a.test", "x@refused.test", "m", 3, 3),
	INBOX_MANY("x@refused.test", "u@a.test", "error", "remote-server-not-found", "m", 3),
	LOG_HAS("connect to 192.0.2.9:5269 failed"),
	END(),
};
SC_TEST(out_refused, 0)

/* Connect timeout (CONFIG_XS2S_CONNECT_TIMEOUT_S): remote-server-timeout
 * (RFC 6120 8.3.3.17), not a millisecond early. */
static const struct sc_step out_connect_timeout[] = {
	APP_SEND_MANY("u@a.test", "x@hole.test", "m", 2, 2),
	ADVANCE(MS(CONFIG_XS2S_CONNECT_TIMEOUT_S) - 1),
	INBOX_EMPTY(),
	ADVANCE(1),
	INBOX_MANY("x@hole.test", "u@a.test", "error", "remote-server-timeout", "m", 2),
	END(),
};
SC_TEST(out_connect_timeout, 0)

/* Setup timeout (CONFIG_XS2S_SETUP_TIMEOUT_S from the link's creation): the
 * stream error connection-timeout (RFC 6120 4.9.3.4), then the bounces. */
static const struct sc_step out_setup_timeout[] = {
	APP_SEND_MANY("u@a.test", "x@b.test", "m", 2, 2),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	ADVANCE(MS(CONFIG_XS2S_SETUP_TIMEOUT_S) - 1),
	EXPECT_NOTHING(PA),
	INBOX_EMPTY(),
	ADVANCE(1),
	EXPECT(PA, STREAM_ERROR("connection-timeout")),
	EXPECT_CLOSED(PA),
	INBOX_MANY("x@b.test", "u@a.test", "error", "remote-server-timeout", "m", 2),
	END(),
};
SC_TEST(out_setup_timeout, 0)

/* The peer closes (or resets) the connection during setup. */
static const struct sc_step out_peer_closes_in_setup[] = {
	APP_SEND_MANY("u@a.test", "x@b.test", "m", 3, 3),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1")),
	CLOSE(PA),
	INBOX_MANY("x@b.test", "u@a.test", "error", "remote-server-not-found", "m", 3),
	LOG_HAS("connection closed by peer in state features"),
	END(),
};
SC_TEST(out_peer_closes_in_setup, 0)

static const struct sc_step out_peer_resets_in_setup[] = {
	APP_SEND_MANY("u@a.test", "x@b.test", "m", 2, 2),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	ABORT(PA),
	INBOX_MANY("x@b.test", "u@a.test", "error", "remote-server-not-found", "m", 2),
	END(),
};
SC_TEST(out_peer_resets_in_setup, 0)

/* RFC 6120 4.9.1.1: the peer's stream error ends the stream; we close ours
 * (no error of our own) and bounce. */
static const struct sc_step out_peer_stream_error[] = {
	APP_SEND_MANY("u@a.test", "x@b.test", "m", 2, 2),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") "<stream:error><host-unknown xmlns='" NS_STREAM_ERR "'/>"
		 "<text xmlns='" NS_STREAM_ERR "'>no such host here</text></stream:error>" STREAM_CLOSE),
	EXPECT(PA, STREAM_CLOSE),
	EXPECT_CLOSED(PA),
	INBOX_MANY("x@b.test", "u@a.test", "error", "remote-server-not-found", "m", 2),
	INBOX_WHY("peer b.test sent stream error <host-unknown/>: 'no such host here'"),
	LOG_HAS("peer b.test sent stream error <host-unknown/>: 'no such host here'"),
	END(),
};
SC_TEST(out_peer_stream_error, 0)

/* ---- DNS (RFC 6120 3.2) over the fake port's UDP ---- */
#if CONFIG_XS2S_DNS
/* SRV _xmpp-server._tcp.dns.test -> host1.dns.test:5269 -> A 192.0.2.2 (b.test's
 * server answers for dns.test too). */
static const struct sc_step dns_srv[] = {
	APP_SEND("u@a.test", "x@dns.test", "via srv", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "dns.test")),
	SEND(PA, HDR_ID("dns.test", "a.test", "d-1") FEATURES_DB),
	DBKEY("kd", "dns.test", "a.test", "d-1"),
	EXPECT(PA, "<db:result from='a.test' to='dns.test'>${kd}</db:result>"),
	SEND(PA, "<db:result from='dns.test' to='a.test' type='valid'/>"),
	EXPECT(PA, APP_MSG("u@a.test", "x@dns.test", "i1", "via srv")),
	LOG_HAS("dns: dns.test: 1 candidate(s), first 192.0.2.2:5269"),
	END(),
};
SC_TEST(dns_srv, SC_DNS)

/* No SRV record (NXDOMAIN): the domain itself on port 5269 (RFC 6120 3.2.2). */
static const struct sc_step dns_fallback[] = {
	APP_SEND("u@a.test", "x@nosrv.test", "fallback", XS2S_OK),
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR("a.test", "nosrv.test")),
	CLOSE(PC),
	INBOX("x@nosrv.test", "u@a.test", "error", "remote-server-not-found", "fallback"),
	END(),
};
SC_TEST(dns_fallback, SC_DNS)

/* SRV target "." (RFC 2782): no service, no fallback; NXDOMAIN everywhere. */
static const struct sc_step dns_no_service[] = {
	APP_SEND("u@a.test", "x@dot.test", "dot", XS2S_OK),
	APP_SEND("u@a.test", "x@gone.test", "gone", XS2S_OK),
	INBOX("x@dot.test", "u@a.test", "error", "remote-server-not-found", "dot"),
	INBOX("x@gone.test", "u@a.test", "error", "remote-server-not-found", "gone"),
	LOG_HAS("dns: dot.test: SRV target \".\": no XMPP server service"),
	NO_CONNECT("b.test"),
	NO_CONNECT("c.test"),
	END(),
};
SC_TEST(dns_no_service, SC_DNS)

/* A server that never answers: (1 + CONFIG_XS2S_DNS_RETRIES) tries of
 * CONFIG_XS2S_DNS_TIMEOUT_MS, then the bounce. */
#define DNS_GIVE_UP ((1 + CONFIG_XS2S_DNS_RETRIES) * CONFIG_XS2S_DNS_TIMEOUT_MS)
static const struct sc_step dns_timeout[] = {
	APP_SEND("u@a.test", "x@slow.test", "slow", XS2S_OK),
	ADVANCE(DNS_GIVE_UP - 1),
	INBOX_EMPTY(),
	ADVANCE(1),
	INBOX("x@slow.test", "u@a.test", "error", "remote-server-not-found", "slow"),
	LOG_HAS("no answer from 192.0.2.53:53 after"),
	END(),
};
SC_TEST(dns_timeout, SC_DNS)

/* More lookups than resolver slots (CONFIG_XS2S_DNS_QUERIES): the last
 * waits, without spinning, for a slot, then runs its own lookup. */
static const struct sc_step dns_slots_exhausted[] = {
	APP_SEND_MANY("u@a.test", "x@one.slow.test", "a", 1, 1),
	APP_SEND_MANY("u@a.test", "x@two.slow.test", "b", 1, 1),
	APP_SEND_MANY("u@a.test", "x@three.slow.test", "c", 1, 1),
	APP_SEND_MANY("u@a.test", "x@four.slow.test", "d", 1, 1),
	APP_SEND_MANY("u@a.test", "x@five.slow.test", "e", 1, 1),
	ADVANCE(DNS_GIVE_UP),
	INBOX("x@one.slow.test", "u@a.test", "error", "remote-server-not-found", "a0"),
	INBOX("x@two.slow.test", "u@a.test", "error", "remote-server-not-found", "b0"),
	INBOX("x@three.slow.test", "u@a.test", "error", "remote-server-not-found", "c0"),
	INBOX("x@four.slow.test", "u@a.test", "error", "remote-server-not-found", "d0"),
	INBOX_EMPTY(),
	ADVANCE(DNS_GIVE_UP),
	INBOX("x@five.slow.test", "u@a.test", "error", "remote-server-not-found", "e0"),
	END(),
};
#if CONFIG_XS2S_DNS_QUERIES == 4
SC_TEST(dns_slots_exhausted, SC_DNS)
#endif
#endif

/* ---- policies ---- */

/* TLS required, the peer offers no STARTTLS: policy-violation (RFC 6120
 * 5.3.1), no dialback in plaintext, the stanza bounced. */
static const struct sc_step out_tls_required_plain_peer[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	EXPECT(PA, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	LOG_HAS("peer offers no STARTTLS and TLS is required"),
	END(),
};
SC_TEST(out_tls_required_plain_peer, SC_TLS_REQUIRED)

/* TLS required, STARTTLS offered, but we have no certificate. */
static const struct sc_step out_tls_required_no_cert[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1")
		 "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"
		 "</stream:features>"),
	EXPECT(PA, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	LOG_HAS("we have no certificate for STARTTLS and TLS is required"),
	END(),
};
SC_TEST(out_tls_required_no_cert, SC_TLS_REQUIRED)

/* TLS required and a pre-1.0 peer (no STARTTLS possible): RFC 6120 4.7.5
 * rule 3, the initiating entity generates unsupported-version (it sent
 * policy-violation before). */
static const struct sc_step out_tls_required_pre_1_0[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' id='old-1'>"),
	EXPECT(PA, STREAM_ERROR("unsupported-version")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	END(),
};
SC_TEST(out_tls_required_pre_1_0, SC_TLS_REQUIRED)

/* Without dialback a pre-1.0 peer (no features, so no SASL) cannot be
 * authenticated: unsupported-version too (it was unsupported-feature). */
static const struct sc_step out_pre_1_0_without_dialback[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' id='old-1' version='0.9'>"),
	EXPECT(PA, STREAM_ERROR("unsupported-version")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	LOG_HAS("peer speaks XMPP 0.9, and dialback is off"),
	END(),
};
SC_TEST(out_pre_1_0_without_dialback, SC_NO_DIALBACK)

/* Secure auth: a peer without a valid certificate is refused with
 * policy-violation before any dialback (README "Secure auth"). */
static const struct sc_step out_secure_auth_no_cert[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	EXPECT(PA, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	LOG_HAS("secure auth: b.test's certificate is none"),
	END(),
};
SC_TEST(out_secure_auth_no_cert, SC_SECURE_AUTH)

/* ...unless the domain is an exception. */
static const struct sc_step out_secure_auth_exception[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "hello")),
	END(),
};
SC_TEST_EX(out_secure_auth_exception, SC_SECURE_AUTH, "c.test b.test")

/* No dialback offered (no feature, no xmlns:db) and no SASL: nothing in
 * common, unsupported-feature (RFC 6120 4.9.3.22). */
static const struct sc_step out_no_common_method[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, "<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
		 "from='b.test' to='a.test' id='out-1' version='1.0'>" FEATURES_NONE),
	EXPECT(PA, STREAM_ERROR("unsupported-feature")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	END(),
};
SC_TEST(out_no_common_method, 0)

/* ---- the route queue ---- */

/* CONFIG_XS2S_ROUTE_QUEUE stanzas wait per route; the next ones are refused
 * with XS2S_ENOMEM (never dropped); the queued ones bounce in order. */
static const struct sc_step queue_bound_bounced[] = {
	APP_SEND_MANY("u@a.test", "x@b.test", "m", CONFIG_XS2S_ROUTE_QUEUE + 2, CONFIG_XS2S_ROUTE_QUEUE),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	CLOSE(PA),
	INBOX_MANY("x@b.test", "u@a.test", "error", "remote-server-not-found", "m", CONFIG_XS2S_ROUTE_QUEUE),
	END(),
};
SC_TEST(queue_bound_bounced, 0)

/* ...and delivered in order, the refused ones never appearing. */
static const struct sc_step queue_bound_delivered[] = {
	APP_SEND_MANY("u@a.test", "x@b.test", "m", CONFIG_XS2S_ROUTE_QUEUE + 1, CONFIG_XS2S_ROUTE_QUEUE),
	INCLUDE(SC_OUT_OPEN_B),
#if CONFIG_XS2S_ROUTE_QUEUE == 8
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i0", "m0") APP_MSG("u@a.test", "x@b.test", "i1", "m1")
		   APP_MSG("u@a.test", "x@b.test", "i2", "m2") APP_MSG("u@a.test", "x@b.test", "i3", "m3")
		   APP_MSG("u@a.test", "x@b.test", "i4", "m4") APP_MSG("u@a.test", "x@b.test", "i5", "m5")
		   APP_MSG("u@a.test", "x@b.test", "i6", "m6") APP_MSG("u@a.test", "x@b.test", "i7", "m7")),
#else
#error "queue_bound_delivered lists CONFIG_XS2S_ROUTE_QUEUE (8) messages"
#endif
	/* Once the queue drained, the route takes stanzas again. */
	APP_SEND("u@a.test", "x@b.test", "again", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i8", "again")),
	END(),
};
SC_TEST(queue_bound_delivered, 0)

/* The shared queue pool (CONFIG_XS2S_QUEUE_POOL) runs out before the route
 * limit: XS2S_ENOMEM, and the pool takes stanzas again once drained. */
#define BIG 6000 /* 5 such stanzas fit the default 32 KiB pool, 6 do not */
static const struct sc_step queue_pool_full[] = {
	APP_SEND_LONG("u@a.test", "x@b.test", "a", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "b", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "c", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "d", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "e", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "f", BIG, XS2S_ENOMEM),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i1}'><body>", "a", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i2}'><body>", "b", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i3}'><body>", "c", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i4}'><body>", "d", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i5}'><body>", "e", BIG,
		    "</body></message>"),
	APP_SEND_LONG("u@a.test", "x@b.test", "f", BIG, XS2S_OK),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i6}'><body>", "f", BIG,
		    "</body></message>"),
	END(),
};
#if CONFIG_XS2S_QUEUE_POOL == 32768
SC_TEST(queue_pool_full, 0)
#endif

/* Backpressure: a 512-byte pipe makes the engine's sends return
 * XS2S_EWANTWRITE again and again; every byte still arrives, in order. */
static const struct sc_step out_backpressure[] = {
	CAPACITY(512),
	APP_SEND_LONG("u@a.test", "x@b.test", "p", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "q", BIG, XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i1}'><body>", "p", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i2}'><body>", "q", BIG,
		    "</body></message>"),
	END(),
};
SC_TEST(out_backpressure, 0)

/* Backpressure while a piggybacked domain asks: the peer reads slowly, our
 * output buffer is full of stanzas, and a second local domain needs its
 * db:result on the same stream. It waits for room (it failed the whole
 * stream with resource-constraint before), then goes before the queue. */
/* With the peer not reading: 256 bytes in the pipe, CONFIG_XS2S_TX_BUF in tx,
 * the rest in out; FILL leaves out 60 bytes short of full. */
#define ENVELOPE 95 /* <message type='chat' from='u@a.test' to='x@b.test' id='16 hex'><body></body></message> */
/* out keeps XS2S_LINK_CLOSE_RESERVE (128) bytes for the stream's last elements. */
#define FILL (CONFIG_XS2S_OUT_BUF - (2 * (BIG + ENVELOPE) - 256 - CONFIG_XS2S_TX_BUF) - 60 - ENVELOPE - 128)
static const struct sc_step out_piggyback_under_backpressure[] = {
	CAPACITY(256),
	APP_SEND("u@a.test", "x@b.test", "first", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i0", "first")),
	HOLD(PA),
	APP_SEND_LONG("u@a.test", "x@b.test", "p", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "q", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "r", FILL, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "s", 100, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "t", 100, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "u", 100, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "w", 100, XS2S_OK),
	APP_SEND("v@alias.test", "y@b.test", "alias", XS2S_OK),
	RELEASE(PA),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i1}'><body>", "p", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i2}'><body>", "q", BIG,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i3}'><body>", "r", FILL,
		    "</body></message>"),
	DBKEY("ka", "b.test", "alias.test", "out-1"),
	EXPECT(PA, "<db:result from='alias.test' to='b.test'>${ka}</db:result>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i4}'><body>", "s", 100,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i5}'><body>", "t", 100,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i6}'><body>", "u", 100,
		    "</body></message>"),
	EXPECT_LONG(PA, "<message type='chat' from='u@a.test' to='x@b.test' id='${i7}'><body>", "w", 100,
		    "</body></message>"),
	SEND(PA, "<db:result from='b.test' to='alias.test' type='valid'/>"),
	EXPECT(PA, APP_MSG("v@alias.test", "y@b.test", "i8", "alias")),
	END(),
};
SC_TEST(out_piggyback_under_backpressure, 0)

/* The connection resets while our output waits (the peer stopped reading):
 * the stanzas still queued are bounced in order; those already written to
 * the stream are gone with it (no stream management here, XEP-0198). */
static const struct sc_step out_reset_while_sending[] = {
	CAPACITY(256),
	APP_SEND("u@a.test", "x@b.test", "first", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i0", "first")),
	HOLD(PA),
	APP_SEND_LONG("u@a.test", "x@b.test", "p", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "q", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "r", BIG, XS2S_OK),
	APP_SEND_LONG("u@a.test", "x@b.test", "s", BIG, XS2S_OK),
	ABORT(PA),
	INBOX_LONG("x@b.test", "u@a.test", "error", "remote-server-not-found", "r", BIG),
	INBOX_LONG("x@b.test", "u@a.test", "error", "remote-server-not-found", "s", BIG),
	LOG_HAS("connection lost while sending"),
	END(),
};
SC_TEST(out_reset_while_sending, 0)

/* The application's mistakes are refused at once. */
static const struct sc_step app_bad_sends[] = {
	APP_SEND("u@b.test", "x@b.test", "spoof", XS2S_EINVAL),
	APP_SEND("u@a.test", "not a jid@", "x", XS2S_EINVAL),
	APP_SEND("@a.test", "x@b.test", "x", XS2S_EINVAL),
	/* A local recipient goes straight to the inbox. */
	APP_SEND("u@a.test", "v@alias.test", "local", XS2S_OK),
	INBOX("u@a.test", "v@alias.test", "chat", "", "local"),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(app_bad_sends, 0)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_dialback_valid),
		cmocka_unit_test(test_out_dialback_invalid),
		cmocka_unit_test(test_out_dialback_error),
		cmocka_unit_test(test_out_piggyback_alias),
		cmocka_unit_test(test_out_piggyback_alias_invalid),
		cmocka_unit_test(test_out_two_remotes),
		cmocka_unit_test(test_out_pre_1_0_peer),
		cmocka_unit_test(test_out_no_address),
		cmocka_unit_test(test_out_refused),
		cmocka_unit_test(test_out_connect_timeout),
		cmocka_unit_test(test_out_setup_timeout),
		cmocka_unit_test(test_out_peer_closes_in_setup),
		cmocka_unit_test(test_out_peer_resets_in_setup),
		cmocka_unit_test(test_out_peer_stream_error),
#if CONFIG_XS2S_DNS
		cmocka_unit_test(test_dns_srv),
		cmocka_unit_test(test_dns_fallback),
		cmocka_unit_test(test_dns_no_service),
		cmocka_unit_test(test_dns_timeout),
#if CONFIG_XS2S_DNS_QUERIES == 4
		cmocka_unit_test(test_dns_slots_exhausted),
#endif
#endif
		cmocka_unit_test(test_out_tls_required_plain_peer),
		cmocka_unit_test(test_out_tls_required_no_cert),
		cmocka_unit_test(test_out_tls_required_pre_1_0),
		cmocka_unit_test(test_out_pre_1_0_without_dialback),
		cmocka_unit_test(test_out_secure_auth_no_cert),
		cmocka_unit_test(test_out_secure_auth_exception),
		cmocka_unit_test(test_out_no_common_method),
		cmocka_unit_test(test_queue_bound_bounced),
		cmocka_unit_test(test_queue_bound_delivered),
#if CONFIG_XS2S_QUEUE_POOL == 32768
		cmocka_unit_test(test_queue_pool_full),
#endif
		cmocka_unit_test(test_out_backpressure),
		cmocka_unit_test(test_app_bad_sends),
		cmocka_unit_test(test_out_piggyback_under_backpressure),
		cmocka_unit_test(test_out_reset_while_sending),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
