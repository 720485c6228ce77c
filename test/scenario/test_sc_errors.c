/* Every stream error the engine sends (RFC 6120 4.9.3), each from the input
 * that causes it: the error element, then </stream:stream>, then the close
 * (RFC 6120 4.9.1.1); a header first when the peer's had not been answered
 * (4.9.1.3). Other streams are unaffected. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

#define MS(s) ((s) * 1000)

/* PI opens a stream to a.test (not authenticated). */
static const struct sc_step in_open[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_IN),
	END(),
};

/* After the opening of in_open, input fails PI's stream with cond. */
#define IN_ERROR(name, input, cond)                                   \
	static const struct sc_step name[] = {                         \
		INCLUDE(in_open),                                      \
		SEND(PI, input),                                       \
		EXPECT(PI, STREAM_ERROR(cond)),                        \
		EXPECT_CLOSED(PI),                                     \
		INBOX_EMPTY(),                                         \
		END(),                                                 \
	};                                                             \
	SC_TEST(name, 0)

/* After SC_IN_AUTH_B (both directions authenticated), input fails PI's
 * stream with cond; our outbound stream PA stays up and usable. */
#define AUTH_ERROR(name, input, cond)                                          \
	static const struct sc_step name[] = {                                  \
		INCLUDE(SC_IN_AUTH_B),                                          \
		SEND(PI, input),                                                \
		EXPECT(PI, STREAM_ERROR(cond)),                                 \
		EXPECT_CLOSED(PI),                                              \
		INBOX_EMPTY(),                                                  \
		APP_SEND("u@a.test", "x@b.test", "still here", XS2S_OK),        \
		EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "id", "still here")), \
		END(),                                                          \
	};                                                                      \
	SC_TEST(name, 0)

/* ---- not-well-formed (4.9.3.13) ---- */
IN_ERROR(err_text_between_stanzas, "hello", "not-well-formed")
IN_ERROR(err_mismatched_tags, "<message from='x@b.test' to='u@a.test'><body>a</message></body>", "not-well-formed")
IN_ERROR(err_control_char, "<message from='x@b.test' to='u@a.test'><body>\x01</body></message>", "not-well-formed")
IN_ERROR(err_unquoted_attr, "<message from=x to='u@a.test'/>", "not-well-formed")

/* A header that is not well-formed: we answer with a header of our own
 * first (4.9.1.3), naming no domain since none was read. */
static const struct sc_step err_bad_header[] = {
	CONNECT(PI),
	SEND(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " from='b.test' to=a.test>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " id='${id}' version='1.0'>"
		   STREAM_ERROR("not-well-formed")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_bad_header, 0)

/* ---- restricted-xml (4.9.3.18, RFC 6120 11.1) ---- */
IN_ERROR(err_comment, "<!-- a comment -->", "restricted-xml")
IN_ERROR(err_processing_instruction, "<?pi data?>", "restricted-xml")
IN_ERROR(err_doctype_inside, "<message from='x@b.test' to='u@a.test'><!DOCTYPE x></message>", "restricted-xml")
IN_ERROR(err_entity, "<message from='x@b.test' to='u@a.test'><body>&custom;</body></message>", "restricted-xml")

static const struct sc_step err_doctype_header[] = {
	CONNECT(PI),
	SEND(PI, "<?xml version='1.0'?><!DOCTYPE stream:stream>" HDR("b.test", "a.test")),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " id='${id}' version='1.0'>"
		   STREAM_ERROR("restricted-xml")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_doctype_header, 0)

/* ---- unsupported-encoding (4.9.3.22): not UTF-8 ---- */
IN_ERROR(err_bad_utf8, "<message from='x@b.test' to='u@a.test'><body>\xc3\x28</body></message>", "unsupported-encoding")
IN_ERROR(err_overlong_utf8, "<message from='x@b.test' to='u@a.test'><body>\xc0\xaf</body></message>",
	 "unsupported-encoding")

/* ---- policy-violation (4.9.3.14) ---- */
/* A stanza over CONFIG_XS2S_MAX_STANZA (RFC 6120 13.12). */
static const struct sc_step err_oversized_stanza[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND_LONG(PI, "<message from='x@b.test' to='u@a.test'><body>", "x", CONFIG_XS2S_MAX_STANZA, "</body></message>"),
	EXPECT(PI, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(err_oversized_stanza, 0)

/* ...while one of exactly CONFIG_XS2S_MAX_STANZA bytes is delivered. */
#define MSG_OVERHEAD (sizeof "<message from='x@b.test' to='u@a.test'><body></body></message>" - 1)
static const struct sc_step max_stanza_accepted[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND_LONG(PI, "<message from='x@b.test' to='u@a.test'><body>", "y", CONFIG_XS2S_MAX_STANZA - (int)MSG_OVERHEAD,
		  "</body></message>"),
	INBOX_LONG("x@b.test", "u@a.test", "normal", "", "y", CONFIG_XS2S_MAX_STANZA - (int)MSG_OVERHEAD),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(max_stanza_accepted, 0)

IN_ERROR(err_db_key_empty, "<db:result from='b.test' to='a.test'/>", "policy-violation")
static const struct sc_step err_db_key_long[] = {
	INCLUDE(in_open),
	SEND_LONG(PI, "<db:result from='b.test' to='a.test'>", "0", 129, "</db:result>"),
	EXPECT(PI, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(err_db_key_long, 0)
IN_ERROR(err_features_inbound, FEATURES_DB, "policy-violation")
IN_ERROR(err_starttls_without_cert, "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>", "policy-violation")

/* TLS required (RFC 6120 5.3.1): no authentication before STARTTLS, and no
 * feature but STARTTLS (none at all, as we have no certificate). */
static const struct sc_step err_tls_required_inbound[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") "<stream:features></stream:features>"),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	EXPECT(PI, STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(err_tls_required_inbound, SC_TLS_REQUIRED)

/* ---- unsupported-version (4.9.3.25) ---- */
/* A header without version is XMPP 0.9 (RFC 6120 4.7.5 rule 4): the
 * response states none; without features there is no STARTTLS, so under
 * the required TLS policy xs2s will not speak it: unsupported-version (was
 * version='1.0' and then policy-violation, which rule 2 forbids). */
#define HDR_V(from, to, id, ver) \
	"<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " from='" from "' to='" to "' id='" id "'" ver ">"
static const struct sc_step err_tls_required_pre_1_0_inbound[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test'>"),
	EXPECT(PI, HDR_V("a.test", "b.test", "${in_id}", "") STREAM_ERROR("unsupported-version")),
	EXPECT_CLOSED(PI),
	LOG_HAS("peer speaks XMPP 0.9 (no version), and TLS is required (no STARTTLS before 1.0)"),
	END(),
};
SC_TEST(err_tls_required_pre_1_0_inbound, SC_TLS_REQUIRED)

/* Below 1.0 the response states the peer's version (rule 2); without
 * dialback nothing could authenticate the stream (SASL needs features). */
static const struct sc_step err_pre_1_0_without_dialback[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' version='0.9'>"),
	EXPECT(PI, HDR_V("a.test", "b.test", "${in_id}", " version='0.9'") STREAM_ERROR("unsupported-version")),
	EXPECT_CLOSED(PI),
	LOG_HAS("dialback is off (SASL needs stream features)"),
	END(),
};
SC_TEST(err_pre_1_0_without_dialback, SC_NO_DIALBACK)

/* A version that is not "major.minor" cannot be compared (rule 2: numeric). */
static const struct sc_step err_header_bad_version[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' version='one'>"),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") STREAM_ERROR("unsupported-version")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_header_bad_version, 0)

/* ---- improper-addressing (4.9.3.14): RFC 6120 4.7.2, an s2s initial
 * header MUST carry 'to' (it used to get the primary domain's stream) ---- */
static const struct sc_step err_header_without_to[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' version='1.0'>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " to='b.test' id='${id}' version='1.0'>"
		   STREAM_ERROR("improper-addressing")),
	EXPECT_CLOSED(PI),
	LOG_HAS("stream header without 'to'"),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(err_header_without_to, 0)

/* ... and 'to' is a domainpart: neither empty nor a JID with a localpart
 * (the response does not name it). */
static const struct sc_step err_header_to_not_domain[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='u@a.test' version='1.0'>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " to='b.test' id='${id}' version='1.0'>"
		   STREAM_ERROR("improper-addressing")),
	EXPECT_CLOSED(PI),
	CONNECT(PI2),
	SEND(PI2, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='' version='1.0'>"),
	EXPECT(PI2, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " to='b.test' id='${id2}' version='1.0'>"
		    STREAM_ERROR("improper-addressing")),
	EXPECT_CLOSED(PI2),
	END(),
};
SC_TEST(err_header_to_not_domain, 0)

/* A header value longer than its field. */
static const struct sc_step err_header_too_long[] = {
	CONNECT(PI),
	SEND_LONG(PI, "<stream:stream " NS_STREAMS_ATTRS " from='b.test' to='a.test' version='1.0' id='", "i", 80, "'>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " id='${id}' version='1.0'>"
		   STREAM_ERROR("policy-violation")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_header_too_long, 0)

/* ---- bad-namespace-prefix (4.9.3.2) ---- */
IN_ERROR(err_undeclared_prefix, "<foo:message from='x@b.test' to='u@a.test'/>", "bad-namespace-prefix")
static const struct sc_step err_header_prefix[] = {
	CONNECT(PI),
	SEND(PI, "<x:stream xmlns='jabber:server' from='b.test' to='a.test' version='1.0'>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " id='${id}' version='1.0'>"
		   STREAM_ERROR("bad-namespace-prefix")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_header_prefix, 0)

/* ---- invalid-namespace (4.9.3.10) ---- */
static const struct sc_step err_client_namespace[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' from='b.test' "
		 "to='a.test' version='1.0'>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " id='${id}' version='1.0'>"
		   STREAM_ERROR("invalid-namespace")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_client_namespace, 0)

static const struct sc_step err_streams_namespace[] = {
	CONNECT(PI),
	SEND(PI, "<stream:stream xmlns='jabber:server' xmlns:stream='urn:not-streams' from='b.test' to='a.test' "
		 "version='1.0'>"),
	EXPECT(PI, "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " id='${id}' version='1.0'>"
		   STREAM_ERROR("invalid-namespace")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_streams_namespace, 0)

/* ---- invalid-xml (4.9.3.11): the receiving server's header has no id ---- */
static const struct sc_step err_header_without_id[] = {
	APP_SEND("u@a.test", "x@b.test", "hello", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR("b.test", "a.test") FEATURES_DB),
	EXPECT(PA, STREAM_ERROR("invalid-xml")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "hello"),
	END(),
};
SC_TEST(err_header_without_id, 0)

/* ---- host-unknown (4.9.3.6) ---- */
/* The stream is to a domain not served here. (Our header names that
 * domain as 'from': see the report.) */
static const struct sc_step err_stream_to_unknown_host[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "other.test")),
	EXPECT(PI, HDR_ID("other.test", "b.test", "${id}") STREAM_ERROR("host-unknown")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_stream_to_unknown_host, 0)
AUTH_ERROR(err_stanza_to_unknown_host, "<message from='x@b.test' to='u@other.test'><body>x</body></message>",
	   "host-unknown")

/* ---- invalid-from (4.9.3.9) ---- */
IN_ERROR(err_db_from_malformed, "<db:result from='b@test' to='a.test'>" PEERKEY "</db:result>", "invalid-from")
/* A from not authenticated on this stream (RFC 6120 13.9.3). */
AUTH_ERROR(err_spoofed_from, "<message from='x@evil.test' to='u@a.test'><body>spoof</body></message>", "invalid-from")
/* A pair for another local domain that was never authenticated. */
AUTH_ERROR(err_unauthenticated_local, "<message from='x@b.test' to='v@alias.test'><body>x</body></message>",
	   "invalid-from")

/* ---- not-authorized (4.9.3.12) ---- */
/* A stanza before authentication (RFC 6120 8.1.1.2). */
IN_ERROR(err_stanza_before_auth, "<message from='x@b.test' to='u@a.test'><body>early</body></message>",
	 "not-authorized")
/* Unsolicited dialback: verdicts nobody asked for (XEP-0220 2.4). */
IN_ERROR(err_unsolicited_result_verdict, "<db:result from='b.test' to='a.test' type='valid'/>", "not-authorized")
IN_ERROR(err_unsolicited_verify_verdict, "<db:verify from='b.test' to='a.test' id='x' type='valid'/>",
	 "not-authorized")

/* On our outbound stream: a verdict for a pair we never asked for, a
 * request that belongs to an inbound stream, dialback before features. */
#define OUT_ERROR(name, input, cond)                                                     \
	static const struct sc_step name[] = {                                            \
		APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),                          \
		INCLUDE(SC_OUT_OPEN_B),                                                   \
		EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "i1", "one")),                  \
		SEND(PA, input),                                                          \
		EXPECT(PA, STREAM_ERROR(cond)),                                           \
		EXPECT_CLOSED(PA),                                                        \
		END(),                                                                    \
	};                                                                                \
	SC_TEST(name, 0)
OUT_ERROR(err_out_unsolicited_verdict, "<db:result from='c.test' to='a.test' type='valid'/>", "not-authorized")
OUT_ERROR(err_out_result_request, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>", "not-authorized")
OUT_ERROR(err_out_verify_request, "<db:verify from='b.test' to='a.test' id='x'>" PEERKEY "</db:verify>",
	  "not-authorized")
OUT_ERROR(err_out_unknown_verify_verdict, "<db:verify from='b.test' to='a.test' id='nope' type='valid'/>",
	  "not-authorized")

static const struct sc_step err_out_dialback_before_features[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PA, STREAM_ERROR("not-authorized")),
	EXPECT_CLOSED(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "one"),
	END(),
};
SC_TEST(err_out_dialback_before_features, 0)

/* ---- improper-addressing (4.9.3.7) ---- */
AUTH_ERROR(err_stanza_without_to, "<message from='x@b.test'><body>x</body></message>", "improper-addressing")
AUTH_ERROR(err_stanza_without_from, "<iq type='get' to='a.test' id='1'><ping xmlns='urn:xmpp:ping'/></iq>",
	   "improper-addressing")
IN_ERROR(err_db_without_from, "<db:result to='a.test'>" PEERKEY "</db:result>", "improper-addressing")

/* ---- unsupported-stanza-type (4.9.3.23) ---- */
AUTH_ERROR(err_unknown_element, "<foo from='x@b.test' to='u@a.test'/>", "unsupported-stanza-type")
IN_ERROR(err_db_unknown_element, "<db:foo from='b.test' to='a.test'/>", "unsupported-stanza-type")
/* SASL without TLS is not SASL here (RFC 6120 6.4.1: after TLS). */
IN_ERROR(err_sasl_in_plaintext, "<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='EXTERNAL'>=</auth>",
	 "unsupported-stanza-type")

/* ---- resource-constraint (4.9.3.17): the XML arena runs out ---- */
/* A dense stanza under the size limit whose tree does not fit the arena
 * (about 144 bytes per node, CONFIG_XS2S_XML_ARENA): this link fails, the
 * others carry on, and the arena is whole again (teardown's leak gate). */
#define NODES 2400
static const struct sc_step err_xml_arena_exhausted[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND_LONG(PI, "<message from='x@b.test' to='u@a.test'>", "<a/>", NODES, "</message>"),
	EXPECT(PI, STREAM_ERROR("resource-constraint")),
	EXPECT_CLOSED(PI),
	INBOX_EMPTY(),
	LOG_HAS("XML arena exhausted"),
	APP_SEND("u@a.test", "x@b.test", "still here", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "id", "still here")),
	/* A new stream from b.test authenticates again and is served. */
	CONNECT(PI2),
	SEND(PI2, HDR("b.test", "a.test")),
	EXPECT(PI2, HDR_ID("a.test", "b.test", "${id2}") FEATURES_IN),
	SEND(PI2, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	EXPECT(PA, "<db:verify from='a.test' to='b.test' id='${id2}'>" PEERKEY "</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${id2}' type='valid'/>"),
	EXPECT(PI2, "<db:result from='a.test' to='b.test' type='valid'/>"),
	SEND(PI2, "<message from='x@b.test' to='u@a.test'><body>ok</body></message>"),
	INBOX("x@b.test", "u@a.test", "normal", "", "ok"),
	END(),
};
#if CONFIG_XS2S_XML_ARENA * 10 < NODES * 1440 && CONFIG_XS2S_MAX_STANZA > NODES * 4 + 64
SC_TEST(err_xml_arena_exhausted, 0)
#define HAVE_ARENA_TEST 1
#endif

/* ---- connection-timeout (4.9.3.4): setup not done in time ---- */
static const struct sc_step err_inbound_setup_timeout[] = {
	INCLUDE(in_open),
	ADVANCE(MS(IN_SETUP_S) - 1),
	EXPECT_NOTHING(PI),
	ADVANCE(1),
	EXPECT(PI, STREAM_ERROR("connection-timeout")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_inbound_setup_timeout, 0)

/* ...also while a dialback verification is still running. */
static const struct sc_step err_setup_timeout_during_verify[] = {
	CONNECT(PI),
	SEND(PI, HDR("hole.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "hole.test", "${in_id}") FEATURES_IN),
	ADVANCE(MS(IN_SETUP_S) - MS(1)),
	SEND(PI, "<db:result from='hole.test' to='a.test'>" PEERKEY "</db:result>"),
	ADVANCE(MS(1)),
	EXPECT(PI, STREAM_ERROR("connection-timeout")),
	EXPECT_CLOSED(PI),
	END(),
};
SC_TEST(err_setup_timeout_during_verify, 0)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_text_between_stanzas),
		cmocka_unit_test(test_err_mismatched_tags),
		cmocka_unit_test(test_err_control_char),
		cmocka_unit_test(test_err_unquoted_attr),
		cmocka_unit_test(test_err_bad_header),
		cmocka_unit_test(test_err_comment),
		cmocka_unit_test(test_err_processing_instruction),
		cmocka_unit_test(test_err_doctype_inside),
		cmocka_unit_test(test_err_entity),
		cmocka_unit_test(test_err_doctype_header),
		cmocka_unit_test(test_err_bad_utf8),
		cmocka_unit_test(test_err_overlong_utf8),
		cmocka_unit_test(test_err_oversized_stanza),
		cmocka_unit_test(test_max_stanza_accepted),
		cmocka_unit_test(test_err_db_key_empty),
		cmocka_unit_test(test_err_db_key_long),
		cmocka_unit_test(test_err_features_inbound),
		cmocka_unit_test(test_err_starttls_without_cert),
		cmocka_unit_test(test_err_tls_required_inbound),
		cmocka_unit_test(test_err_tls_required_pre_1_0_inbound),
		cmocka_unit_test(test_err_pre_1_0_without_dialback),
		cmocka_unit_test(test_err_header_bad_version),
		cmocka_unit_test(test_err_header_without_to),
		cmocka_unit_test(test_err_header_to_not_domain),
		cmocka_unit_test(test_err_header_too_long),
		cmocka_unit_test(test_err_undeclared_prefix),
		cmocka_unit_test(test_err_header_prefix),
		cmocka_unit_test(test_err_client_namespace),
		cmocka_unit_test(test_err_streams_namespace),
		cmocka_unit_test(test_err_header_without_id),
		cmocka_unit_test(test_err_stream_to_unknown_host),
		cmocka_unit_test(test_err_stanza_to_unknown_host),
		cmocka_unit_test(test_err_db_from_malformed),
		cmocka_unit_test(test_err_spoofed_from),
		cmocka_unit_test(test_err_unauthenticated_local),
		cmocka_unit_test(test_err_stanza_before_auth),
		cmocka_unit_test(test_err_unsolicited_result_verdict),
		cmocka_unit_test(test_err_unsolicited_verify_verdict),
		cmocka_unit_test(test_err_out_unsolicited_verdict),
		cmocka_unit_test(test_err_out_result_request),
		cmocka_unit_test(test_err_out_verify_request),
		cmocka_unit_test(test_err_out_unknown_verify_verdict),
		cmocka_unit_test(test_err_out_dialback_before_features),
		cmocka_unit_test(test_err_stanza_without_to),
		cmocka_unit_test(test_err_stanza_without_from),
		cmocka_unit_test(test_err_db_without_from),
		cmocka_unit_test(test_err_unknown_element),
		cmocka_unit_test(test_err_db_unknown_element),
		cmocka_unit_test(test_err_sasl_in_plaintext),
#ifdef HAVE_ARENA_TEST
		cmocka_unit_test(test_err_xml_arena_exhausted),
#endif
		cmocka_unit_test(test_err_inbound_setup_timeout),
		cmocka_unit_test(test_err_setup_timeout_during_verify),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
