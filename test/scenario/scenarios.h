/* Wire text and shared step tables of the scenarios (plaintext streams:
 * TLS optional without a certificate, so scripted peers can speak). */
#ifndef XS2S_SC_SCENARIOS_H
#define XS2S_SC_SCENARIOS_H

#include "runner.h"

/* Peers by role. */
enum {
	PI = 0,  /* b.test's server, connecting to us (originating; in) */
	PA = 1,  /* b.test's server, accepting our connection (receiving, authoritative) */
	PI2 = 2, /* a second inbound connection */
	PC = 3,  /* c.test's server, accepting our connection */
	PA2 = 4, /* b.test's server, a second accepted connection */
	PX = 5,  /* any further peer */
};

/* How long an inbound stream has to authenticate (XEP-0205: the shorter of
 * PREAUTH_TIMEOUT_S and SETUP_TIMEOUT_S). */
#define IN_SETUP_S                                                                                                     \
	(CONFIG_XS2S_PREAUTH_TIMEOUT_S < CONFIG_XS2S_SETUP_TIMEOUT_S ? CONFIG_XS2S_PREAUTH_TIMEOUT_S                    \
								     : CONFIG_XS2S_SETUP_TIMEOUT_S)

#define NS_STREAMS_ATTRS \
	"xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'"
/* RFC 6120 4.7: the initiating entity's header (ours, and a peer's). */
#define HDR(from, to) "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " from='" from "' to='" to "' version='1.0'>"
/* The responding entity's header, with the stream id (a value or ${var}). */
#define HDR_ID(from, to, id) \
	"<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS " from='" from "' to='" to "' id='" id "' version='1.0'>"
/* XEP-0220 2.1: dialback offered, with dialback errors (8). */
#define FEATURES_DB "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>"
#define FEATURES_NONE "<stream:features/>"
/* What the engine offers an inbound stream: dialback, and XEP-0198 stream
 * management when it is built in (firmware/Kconfig.sm). */
#if CONFIG_XS2S_SM
#define SM_OFFER "<sm xmlns='urn:xmpp:sm:3'/>"
#else
#define SM_OFFER ""
#endif
#define FEATURES_IN "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>" SM_OFFER \
		    "</stream:features>"
#define NS_STREAM_ERR "urn:ietf:params:xml:ns:xmpp-streams"
#define NS_STANZA_ERR "urn:ietf:params:xml:ns:xmpp-stanzas"
/* RFC 6120 4.9: the error element, then the closing tag, in one write. */
#define STREAM_ERROR(cond) "<stream:error><" cond " xmlns='" NS_STREAM_ERR "'/></stream:error></stream:stream>"
#define STREAM_CLOSE "</stream:stream>"
/* XEP-0220 2.4: a dialback error reply. */
#define DB_ERROR(cond, type) "<error type='" type "'><" cond " xmlns='" NS_STANZA_ERR "'/></error>"

/* The message the application sends (local.c), with its random id captured. */
#define APP_MSG(from, to, idvar, body) \
	"<message type='chat' from='" from "' to='" to "' id='${" idvar "}'><body>" body "</body></message>"

/* After the app sent to b.test: PA accepts our connection and our pair
 * (a.test, b.test) becomes valid by dialback (XEP-0220 2.1, 2.4). Binds
 * ${out_id} (PA's stream id) and ${kb} (our key). */
extern const struct sc_step SC_OUT_OPEN_B[];
/* PI connects as b.test and asks for (a.test, b.test) with key PEERKEY; the
 * engine, as receiving server, opens PA to b.test's authoritative server and
 * sends its db:verify there (XEP-0220 2.3), unanswered. Binds ${in_id},
 * ${kb}. */
extern const struct sc_step SC_IN_UNTIL_VERIFY[];
/* SC_IN_UNTIL_VERIFY, then: PA answers valid (accepted; our own pair is authenticated on
 * the same stream); both pairs end valid. Binds ${in_id} (our stream id on
 * PI), ${out_id}, ${kb}. */
extern const struct sc_step SC_IN_AUTH_B[];
#define PEERKEY "7a2b8ac1de7e4e0b9f4c1d2e3f405162738495a6b7c8d9e0f1a2b3c4d5e6f708"

/* A cmocka test that runs the steps ID (engine switches flags, secure
 * auth exceptions exc) in every delivery mode. */
#define SC_TEST_EX(id, flags_, exc)                                                  \
	static const struct sc_scenario id##_sc = { #id, id, flags_, exc, NULL };          \
	static void test_##id(void **state)                                          \
	{                                                                            \
		(void)state;                                                         \
		assert_int_equal(sc_run_all(&id##_sc), 0);                           \
	}
#define SC_TEST(id, flags_) SC_TEST_EX(id, flags_, NULL)
/* ... with device accounts (struct sc_accounts, runner.h). */
#define SC_TEST_ACCT(id, flags_, acct)                                               \
	static const struct sc_scenario id##_sc = { #id, id, flags_, NULL, acct };   \
	static void test_##id(void **state)                                          \
	{                                                                            \
		(void)state;                                                         \
		assert_int_equal(sc_run_all(&id##_sc), 0);                           \
	}

#endif
