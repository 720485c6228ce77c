/* The link's negotiation (firmware/link/link.c) on its own, over the fake
 * port: a test socket plays the peer; the test pumps the link and checks
 * what it hands up (HEADER, FEATURES, ELEMENT), what it writes, its state,
 * and how it ends (reason, stream error, bounce condition, close mode, the
 * LINK_DOWN event). Plaintext streams (no certificate: the TLS handshake is
 * covered by the two-engine scenarios). Teardown: the link released, every
 * fake socket closed, the XML arena empty. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "fake_port.h"
#include "xs2s_log.h"
#include "lib/evq.h"
#include "link/link.h"

#define NS_ATTRS "xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'"
#define HDR_B "<?xml version='1.0'?><stream:stream " NS_ATTRS " from='b.test' to='a.test' version='1.0'>"
#define HDR_B_ID "<?xml version='1.0'?><stream:stream " NS_ATTRS " from='b.test' to='a.test' id='peer1' version='1.0'>"
#define FEATURES_DB "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>"
#define DB_RESULT "<db:result from='b.test' to='a.test'>abc</db:result>"
#define END_TAG "</stream:stream>"
#define OUT_MAX 16384

static struct xs2s_env env;
static struct xs2s_evq evq;
static struct xs2s_xml xml;
static struct xs2s_tls tls;
static struct xs2s_resolver res;
static struct xs2s_link link;
static struct xs2s_link_bufs bufs; /* the buffers the link borrows, as the engine's */
static xs2s_sock listener = XS2S_SOCK_NONE, peer = XS2S_SOCK_NONE, peer_l = XS2S_SOCK_NONE;
static char out[OUT_MAX];
static size_t out_len;

static void set_policy(enum xs2s_tls_policy p)
{
	env.tls_policy = p;
}

static int setup(void **state)
{
	struct xs2s_config cfg;

	(void)state;
	fake_reset(1, FAKE_WHOLE, 1);
	memset(&env, 0, sizeof env);
	snprintf(env.domains[0], sizeof env.domains[0], "a.test");
	env.ndomains = 1;
	env.dialback = true;
	set_policy(XS2S_TLS_POLICY_OPTIONAL_INSECURE);
	xs2s_config_defaults(&cfg); /* no certificate: no TLS contexts */
	assert_int_equal(xs2s_tls_init(&tls, &cfg), XS2S_OK);
	assert_false(tls.ready);
	xs2s_xml_init(&xml);
	xs2s_evq_init(&evq);
	env.tls = &tls;
	env.xml = &xml;
	env.evq = &evq;
	env.bufs = &bufs;
	xs2s_link_bufs_init(&bufs);
	assert_int_equal(xs2s_resolve_init(&res, "b.test=192.0.2.2:5269", NULL), XS2S_OK);
	memset(&link, 0, sizeof link);
	out_len = 0;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (link.state != XS2S_LS_FREE)
		xs2s_link_release(&link, 0);
	if (peer != XS2S_SOCK_NONE)
		fake_tcp_close(peer);
	if (listener != XS2S_SOCK_NONE)
		xs2s_port_close(listener);
	fake_close_test_sockets();
	listener = peer = peer_l = XS2S_SOCK_NONE;
	xs2s_tls_fini(&tls);
	assert_int_equal(fake_open_engine(), 0);
	assert_int_equal(fake_violations(NULL), 0);
	assert_int_equal(xml.arena.used, 0);
	assert_int_equal(tls.arena.used, 0);
	return 0;
}

/* An inbound link from b.test on an accepted fake connection. */
static void open_in(void)
{
	xs2s_sock s;
	char addr[XS2S_ADDR_MAX];

	assert_int_equal(xs2s_port_listen("192.0.2.1", 5269, &listener), XS2S_OK);
	assert_int_equal(fake_tcp_connect("192.0.2.1:5269", NULL, &peer), XS2S_OK);
	assert_int_equal(xs2s_port_accept(listener, &s, addr), XS2S_OK);
	xs2s_link_open_in(&link, &env, 0, 1, s, addr);
	assert_int_equal(link.state, XS2S_LS_HEADER);
	assert_int_equal(link.dir, XS2S_DIR_IN);
}

/* Pump until the link hands something up or has nothing more; the port's
 * readiness comes from a real xs2s_port_poll on the link's socket. */
static enum xs2s_link_ev pump(struct xs2s_el *el)
{
	struct xs2s_pollfd p = { link.sock, XS2S_POLL_IN | XS2S_POLL_OUT, 0 };

	if (link.sock != XS2S_SOCK_NONE)
		xs2s_port_poll(&p, 1, 0);
	return xs2s_link_pump(&link, p.got, el);
}

/* Pump to the end; no element may go up. */
static void pump_idle(void)
{
	struct xs2s_el el;

	assert_int_equal(pump(&el), XS2S_LINK_IDLE);
	assert_null(el.node);
}

/* What the link wrote since the last call, NUL-terminated. */
static const char *wrote(void)
{
	int n;

	out_len = 0;
	while ((n = fake_tcp_read(peer, out + out_len, sizeof out - 1 - out_len)) > 0)
		out_len += (size_t)n;
	out[out_len] = '\0';
	return out;
}

static void peer_says(const char *text)
{
	assert_int_equal(fake_tcp_write(peer, text, strlen(text)), (int)strlen(text));
}

/* An inbound link whose peer (b.test) sent its stream header, handed up. */
static void open_in_header(struct xs2s_el *el)
{
	open_in();
	peer_says(HDR_B);
	assert_int_equal(pump(el), XS2S_LINK_HEADER);
}

/* Release the inbound link and close both test sockets (a test that opens
 * a second one). */
static void close_in(void)
{
	xs2s_link_release(&link, 0);
	if (peer != XS2S_SOCK_NONE)
		fake_tcp_close(peer);
	peer = XS2S_SOCK_NONE;
	xs2s_port_close(listener);
	listener = XS2S_SOCK_NONE;
}

/* The one LINK_DOWN event the link posted, with its bounce condition. */
static void expect_down(enum xs2s_stanza_err cond)
{
	struct xs2s_ev e;

	assert_true(xs2s_evq_pop(&evq, &e));
	assert_int_equal(e.type, XS2S_EV_LINK_DOWN);
	assert_int_equal(e.id, link.id);
	assert_int_equal(e.cond, cond);
	assert_false(xs2s_evq_pop(&evq, &e));
}

/* The link failed with stream error cond: written after what it wrote
 * before; then the write side is shut (the test's end reads EOF) and the
 * link is done when the peer closes too. */
static void expect_stream_error(const char *cond, enum xs2s_why why)
{
	char want[256];

	snprintf(want, sizeof want, "<stream:error><%s xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>" END_TAG,
		 cond);
	pump_idle();
	if (!strstr(wrote(), want))
		fail_msg("want %s in: %s (reason %s)", want, out, link.reason);
	assert_int_equal(link.why, why);
	assert_int_equal(link.state, XS2S_LS_CLOSING);
	assert_int_equal(link.close, XS2S_CLOSE_FLUSH);
	assert_true(link.drain);
	assert_false(xs2s_link_done(&link));
	assert_int_equal(fake_tcp_read(peer, out, sizeof out), 0); /* FIN after the error */
	fake_tcp_close(peer);
	peer = XS2S_SOCK_NONE;
	pump_idle();
	assert_true(xs2s_link_done(&link));
	expect_down(xs2s_link_bounce_cond(&link));
}

/* RFC 6120 4.2-4.3: the receiving entity answers the header with its own
 * (fresh id, RFC 6120 4.7.3) and its features; elements then go up. */
static void test_in_negotiation(void **state)
{
	struct xs2s_el el;
	const char *w;

	(void)state;
	open_in_header(&el);
	assert_int_equal(link.state, XS2S_LS_FEATURES);
	assert_string_equal(link.peer_domain, "b.test");
	assert_string_equal(link.local_domain, "a.test");
	assert_int_equal(strlen(link.stream_id), 32);
	assert_true(link.st.version1 && link.st.hdr_dialback);
	xs2s_link_send_features(&link, "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>");
	pump_idle();
	w = wrote();
	assert_non_null(strstr(w, "<stream:stream " NS_ATTRS " from='a.test' to='b.test' id='"));
	assert_non_null(strstr(w, link.stream_id));
	assert_non_null(strstr(w, "version='1.0'>" FEATURES_DB));
	/* A dialback request goes up as an element, with its namespace resolved
	 * through the header's prefix. */
	peer_says(DB_RESULT);
	assert_int_equal(pump(&el), XS2S_LINK_ELEMENT);
	assert_true(xs2s_el_is(&el, XS2S_NS_DIALBACK, "result"));
	xs2s_xml_free(&xml, &el);
	xs2s_link_authenticating(&link);
	assert_int_equal(link.state, XS2S_LS_AUTH);
	xs2s_link_authenticated(&link);
	assert_int_equal(link.state, XS2S_LS_OPEN);
	/* Two stanzas in one segment: one per pump, input kept between. */
	peer_says("<message from='u@b.test' to='v@a.test'><body>1</body></message><iq type='get' id='p' "
		  "from='b.test' to='a.test'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_int_equal(pump(&el), XS2S_LINK_ELEMENT);
	assert_true(xs2s_el_is(&el, XS2S_NS_SERVER, "message"));
	xs2s_xml_free(&xml, &el);
	assert_true(link.more && xs2s_link_has_work(&link));
	assert_int_equal(xs2s_link_pump(&link, 0, &el), XS2S_LINK_ELEMENT);
	assert_true(xs2s_el_is(&el, XS2S_NS_SERVER, "iq"));
	xs2s_xml_free(&xml, &el);
	pump_idle();
	assert_false(link.more);
	/* RFC 6120 4.4: the peer's end tag: ours, then closed once flushed. */
	peer_says(END_TAG);
	pump_idle();
	assert_string_equal(wrote(), END_TAG);
	assert_int_equal(link.why, XS2S_WHY_PEER_CLOSED);
	assert_int_equal(link.close, XS2S_CLOSE_GRACEFUL);
	assert_true(link.peer_closed && xs2s_link_done(&link));
	expect_down(XS2S_STE_REMOTE_SERVER_NOT_FOUND);
}

/* TLS required and no certificate: no STARTTLS and no authentication
 * offered, and anything but STARTTLS is refused (RFC 6120 5.3.1). */
static void test_in_tls_required(void **state)
{
	struct xs2s_el el;

	(void)state;
	set_policy(XS2S_TLS_POLICY_REQUIRED);
	open_in_header(&el);
	xs2s_link_send_features(&link, "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>");
	pump_idle();
	assert_non_null(strstr(wrote(), "version='1.0'><stream:features></stream:features>"));
	peer_says(DB_RESULT);
	expect_stream_error("policy-violation", XS2S_WHY_POLICY_VIOLATION);
	assert_string_equal(link.reason, "<result/> before STARTTLS, TLS is required");
}

/* <starttls/> when we have no certificate: not offered, so refused. */
static void test_in_unexpected_starttls(void **state)
{
	struct xs2s_el el;

	(void)state;
	open_in_header(&el);
	peer_says("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
	expect_stream_error("policy-violation", XS2S_WHY_POLICY_VIOLATION);
	assert_string_equal(link.reason, "unexpected <starttls/>");
}

/* Headers the receiving side refuses (RFC 6120 4.9.3): our header goes out
 * first, then the error. */
static void test_in_header_errors(void **state)
{
	struct xs2s_el el = { NULL, NULL };

	(void)state;
	open_in();
	peer_says("<?xml version='1.0'?><stream:stream " NS_ATTRS " from='b.test' to='nope.test' version='1.0'>");
	expect_stream_error("host-unknown", XS2S_WHY_HOST_UNKNOWN);
	assert_non_null(strstr(out, "from='nope.test' to='b.test'"));
	close_in();

	open_in();
	peer_says("<stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' to='a.test' "
		  "version='1.0'>");
	expect_stream_error("invalid-namespace", XS2S_WHY_INVALID_NAMESPACE);
	close_in();

	/* A header value longer than its field (here the id, 64 bytes at most). */
	open_in();
	peer_says("<stream:stream " NS_ATTRS " from='b.test' to='a.test' version='1.0' "
		  "id='0123456789012345678901234567890123456789012345678901234567890123456789'>");
	expect_stream_error("policy-violation", XS2S_WHY_POLICY_VIOLATION);
	assert_string_equal(link.reason, "bad stream header");
	(void)el;
}

/* An element whose prefix no header declared: bad-namespace-prefix. */
static void test_in_undeclared_prefix(void **state)
{
	struct xs2s_el el;

	(void)state;
	open_in_header(&el);
	peer_says("<x:message/>");
	expect_stream_error("bad-namespace-prefix", XS2S_WHY_BAD_NS_PREFIX);
}

/* The peer's stream error ends the stream: our end tag, then closed. */
static void test_in_peer_stream_error(void **state)
{
	struct xs2s_el el;

	(void)state;
	open_in_header(&el);
	pump_idle();
	wrote();
	peer_says("<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
		  "<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>go away</text></stream:error><message/>");
	pump_idle();
	assert_string_equal(wrote(), END_TAG); /* and nothing about the message after it */
	assert_int_equal(link.why, XS2S_WHY_PEER_STREAM_ERROR);
	assert_string_equal(link.reason, "peer b.test sent stream error <conflict/>: 'go away'");
	assert_true(link.peer_closed && link.drain && !xs2s_link_done(&link)); /* until its TCP closes */
	fake_tcp_close(peer);
	peer = XS2S_SOCK_NONE;
	pump_idle();
	assert_true(xs2s_link_done(&link));
	expect_down(XS2S_STE_REMOTE_SERVER_NOT_FOUND);
}

/* An outbound link to b.test: resolved from the host map, connected to the
 * test's listener; our header goes out first (RFC 6120 4.2). */
static void open_out(void)
{
	struct xs2s_el el;

	assert_int_equal(fake_tcp_listen("192.0.2.2:5269", &peer_l), XS2S_OK);
	xs2s_link_open_out(&link, &env, &res, 0, 2, "a.test", "b.test");
	assert_int_equal(link.state, XS2S_LS_CONNECT);
	assert_int_equal(fake_tcp_accept(peer_l, &peer), XS2S_OK);
	assert_int_equal(pump(&el), XS2S_LINK_IDLE);
	assert_int_equal(link.state, XS2S_LS_HEADER);
	assert_string_equal(wrote(), "<?xml version='1.0'?><stream:stream " NS_ATTRS
				     " from='a.test' to='b.test' version='1.0'>");
}

/* The features after the peer's header go up (no STARTTLS offered and the
 * policy allows plaintext); the stream id is the peer's. */
static void test_out_negotiation(void **state)
{
	struct xs2s_el el;

	(void)state;
	open_out();
	peer_says(HDR_B_ID FEATURES_DB);
	assert_int_equal(pump(&el), XS2S_LINK_FEATURES);
	assert_true(xs2s_el_is(&el, XS2S_NS_STREAMS, "features"));
	xs2s_xml_free(&xml, &el);
	assert_string_equal(link.stream_id, "peer1");
	assert_int_equal(link.state, XS2S_LS_FEATURES);
	assert_true(fake_log_has("INSECURE: b.test offers no STARTTLS; continuing in PLAINTEXT"));
}

/* TLS required and the peer offers no STARTTLS: policy-violation, and what
 * waits for this link bounces with remote-server-not-found. */
static void test_out_no_starttls_required(void **state)
{
	(void)state;
	set_policy(XS2S_TLS_POLICY_REQUIRED);
	open_out();
	peer_says(HDR_B_ID FEATURES_DB);
	expect_stream_error("policy-violation", XS2S_WHY_TLS_REQUIRED);
	assert_string_equal(link.reason, "peer offers no STARTTLS and TLS is required");
	assert_int_equal(xs2s_link_bounce_cond(&link), XS2S_STE_REMOTE_SERVER_NOT_FOUND);
}

/* RFC 6120 4.7.3: the responding entity's header carries an id. */
static void test_out_header_without_id(void **state)
{
	(void)state;
	open_out();
	peer_says(HDR_B);
	expect_stream_error("invalid-xml", XS2S_WHY_INVALID_XML);
}

/* A pre-RFC 6120 peer (no version): no features follow; FEATURES goes up
 * without an element when plaintext and dialback are allowed, else
 * unsupported-version (RFC 6120 4.7.5 rule 3). */
static void test_out_pre_1_0(void **state)
{
	struct xs2s_el el;

	(void)state;
	open_out();
	peer_says("<?xml version='1.0'?><stream:stream " NS_ATTRS " from='b.test' to='a.test' id='old'>");
	assert_int_equal(pump(&el), XS2S_LINK_FEATURES);
	assert_null(el.node);
	assert_false(link.st.version1);
	assert_int_equal(link.st.version, XS2S_VERSION_NONE);
}

/* ... without dialback, nothing can authenticate it: unsupported-version. */
static void test_out_pre_1_0_no_dialback(void **state)
{
	(void)state;
	env.dialback = false;
	open_out();
	peer_says("<?xml version='1.0'?><stream:stream " NS_ATTRS " from='b.test' to='a.test' id='old' "
		  "version='0.9'>");
	expect_stream_error("unsupported-version", XS2S_WHY_UNSUPPORTED_VERSION);
	assert_int_equal(link.st.version, XS2S_VERSION_OLD);
}

/* RFC 6120 4.7.5: versions compare as numbers; "1.10" and "2.0" are spoken
 * as 1.0, anything but "major.minor" is unsupported-version. */
static void test_out_versions(void **state)
{
	struct xs2s_el el;
	static const char *const bad[] = { "1", "1.", ".0", "x.0", "1.0.0", "1.0 " };
	size_t i;

	(void)state;
	open_out();
	peer_says("<?xml version='1.0'?><stream:stream " NS_ATTRS " from='b.test' to='a.test' id='v' version='1.10'>");
	assert_int_equal(pump(&el), XS2S_LINK_IDLE);
	assert_true(link.st.version1);
	assert_int_equal(link.st.ver_minor, 10);
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char hdr[256];

		teardown(state);
		setup(state);
		open_out();
		snprintf(hdr, sizeof hdr, "<stream:stream " NS_ATTRS " from='b.test' to='a.test' id='v' version='%s'>",
			 bad[i]);
		peer_says(hdr);
		expect_stream_error("unsupported-version", XS2S_WHY_UNSUPPORTED_VERSION);
		assert_int_equal(link.st.version, XS2S_VERSION_BAD);
	}
}

/* Refused and timed-out setups end without a stream error, and say with
 * which condition their stanzas bounce (RFC 6120 8.3.3). */
static void test_out_connect_failures(void **state)
{
	(void)state;
	/* Nobody listens: refused on the next poll. */
	xs2s_link_open_out(&link, &env, &res, 0, 3, "a.test", "b.test");
	pump_idle();
	assert_int_equal(link.why, XS2S_WHY_CONNECT_FAILED);
	assert_int_equal(link.close, XS2S_CLOSE_NOW);
	assert_true(xs2s_link_done(&link));
	expect_down(XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	xs2s_link_release(&link, 0);
	/* A black hole: the connect deadline passes. */
	assert_int_equal(fake_tcp_blackhole("192.0.2.2:5269"), XS2S_OK);
	xs2s_link_open_out(&link, &env, &res, 0, 4, "a.test", "b.test");
	pump_idle();
	assert_int_equal(link.state, XS2S_LS_CONNECT);
	fake_advance(CONFIG_XS2S_CONNECT_TIMEOUT_S * 1000u - 1);
	xs2s_link_timer(&link, xs2s_port_now_ms());
	assert_int_equal(link.state, XS2S_LS_CONNECT);
	fake_advance(1);
	xs2s_link_timer(&link, xs2s_port_now_ms());
	assert_int_equal(link.why, XS2S_WHY_CONNECT_TIMEOUT);
	expect_down(XS2S_STE_REMOTE_SERVER_TIMEOUT);
	xs2s_link_release(&link, 0);
	/* Not in the host map and no possible DNS name (a 64-byte label): no address. */
	xs2s_link_open_out(&link, &env, &res, 0, 5, "a.test",
			   "c234567890123456789012345678901234567890123456789012345678901234.test");
	pump_idle();
	assert_int_equal(link.why, XS2S_WHY_NO_ADDRESS);
	expect_down(XS2S_STE_REMOTE_SERVER_NOT_FOUND);
}

/* Deadlines: the setup timeout sends connection-timeout; an open stream
 * closes gracefully when idle; a closing one is cut at its close deadline. */
static void test_timers(void **state)
{
	struct xs2s_el el;

	(void)state;
	open_in();
	fake_advance(CONFIG_XS2S_SETUP_TIMEOUT_S * 1000u);
	xs2s_link_timer(&link, xs2s_port_now_ms());
	expect_stream_error("connection-timeout", XS2S_WHY_SETUP_TIMEOUT);
	assert_int_equal(xs2s_link_bounce_cond(&link), XS2S_STE_REMOTE_SERVER_TIMEOUT);
	close_in();

	open_in_header(&el);
	xs2s_link_authenticated(&link);
	pump_idle();
	wrote();
	fake_advance(CONFIG_XS2S_IDLE_TIMEOUT_S * 1000u);
	xs2s_link_timer(&link, xs2s_port_now_ms());
	pump_idle();
	assert_string_equal(wrote(), END_TAG);
	assert_int_equal(link.why, XS2S_WHY_IDLE);
	assert_int_equal(link.close, XS2S_CLOSE_GRACEFUL);
	assert_false(xs2s_link_done(&link)); /* waits for the peer's end tag */
	expect_down(XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	fake_advance(CONFIG_XS2S_CLOSE_TIMEOUT_S * 1000u);
	xs2s_link_timer(&link, xs2s_port_now_ms());
	assert_true(xs2s_link_done(&link));
}

/* Every link keeps room for the elements that end its stream: however full
 * its output, a shutdown still writes </stream:stream>, and nothing is
 * written after it. */
static void test_close_reserve(void **state)
{
	static char filler[CONFIG_XS2S_OUT_BUF];
	struct xs2s_el el;
	size_t room;

	(void)state;
	open_in_header(&el);
	memset(filler, ' ', sizeof filler);
	room = link.out.buf ? xs2s_bq_room(&link.out) : CONFIG_XS2S_OUT_BUF; /* held, or one to borrow */
	assert_int_equal(xs2s_link_write(&link, filler, room - XS2S_LINK_CLOSE_RESERVE + 1), XS2S_ENOMEM);
	assert_int_equal(xs2s_link_write(&link, filler, room - XS2S_LINK_CLOSE_RESERVE), XS2S_OK);
	assert_false(xs2s_link_can_write(&link, 1));
	xs2s_link_abort(&link, XS2S_WHY_SHUTDOWN, "shutting down");
	assert_int_equal(xs2s_bq_room(&link.out), XS2S_LINK_CLOSE_RESERVE - (sizeof END_TAG - 1));
	assert_int_equal(xs2s_link_write(&link, "<x/>", 4), XS2S_ENOMEM);
	expect_down(XS2S_STE_REMOTE_SERVER_NOT_FOUND);
}

/* The reason table: a protocol fault sends its condition and bounces with
 * remote-server-not-found; local reasons send nothing; the first reason
 * sticks. */
static void test_reasons(void **state)
{
	struct xs2s_el el;

	(void)state;
	open_in_header(&el);
	wrote();
	xs2s_link_abort(&link, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "first %d", 1);
	xs2s_link_abort(&link, XS2S_WHY_RESOURCE, "second");
	assert_int_equal(link.why, XS2S_WHY_UNSUPPORTED_STANZA_TYPE);
	assert_string_equal(link.reason, "first 1");
	expect_stream_error("unsupported-stanza-type", XS2S_WHY_UNSUPPORTED_STANZA_TYPE);
	assert_null(strstr(out, "resource-constraint"));
	assert_int_equal(xs2s_link_bounce_cond(&link), XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	close_in();
	/* Resource exhaustion bounces with resource-constraint (RFC 6120 8.3.3.18). */
	open_in_header(&el);
	wrote();
	xs2s_link_abort(&link, XS2S_WHY_RESOURCE, "full");
	expect_stream_error("resource-constraint", XS2S_WHY_RESOURCE);
	assert_int_equal(xs2s_link_bounce_cond(&link), XS2S_STE_RESOURCE_CONSTRAINT);
}

/* A peer that keeps sending after our stream error still gets the error
 * and the end tag: the write side is shut after them (it reads EOF), what
 * it sends is read and thrown away, and the link ends after
 * XS2S_LINK_DRAIN_BYTES, or XS2S_LINK_DRAIN_MS, however much it sends.
 * (Closing at once with its input unread resets the connection: the fake
 * port, like TCP stacks, then drops what the peer had not read.) */
static void test_error_arrives(void **state)
{
	static char junk[4096];
	struct xs2s_el el;
	size_t sent = 0;
	int n;

	(void)state;
	memset(junk, ' ', sizeof junk);
	open_in_header(&el);
	wrote();
	peer_says("<message from='x@b.test' to='u@a.test'><body>unread</body></message>");
	xs2s_link_abort(&link, XS2S_WHY_POLICY_VIOLATION, "test");
	pump_idle();
	assert_true(link.drain);
	while (!xs2s_link_done(&link)) {
		assert_true(sent <= XS2S_LINK_DRAIN_BYTES);
		n = fake_tcp_write(peer, junk, sizeof junk);
		assert_true(n > 0);
		sent += (size_t)n;
		pump_idle();
	}
	assert_true(sent >= XS2S_LINK_DRAIN_BYTES - sizeof junk);
	{
		static const char tail[] = "<stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>"
					   "</stream:error>" END_TAG;
		const char *w = wrote();

		assert_true(strlen(w) >= sizeof tail - 1);
		assert_string_equal(w + strlen(w) - (sizeof tail - 1), tail); /* our header, the error, the end tag */
	}
	assert_int_equal(fake_tcp_read(peer, out, sizeof out), 0); /* then EOF */
	expect_down(xs2s_link_bounce_cond(&link));
	close_in();

	/* The time bound: a peer that neither closes nor stops. */
	open_in_header(&el);
	wrote();
	xs2s_link_abort(&link, XS2S_WHY_POLICY_VIOLATION, "test");
	pump_idle();
	assert_true(link.drain);
	fake_advance(XS2S_LINK_DRAIN_MS - 1);
	xs2s_link_timer(&link, xs2s_port_now_ms());
	assert_false(xs2s_link_done(&link));
	fake_advance(1);
	xs2s_link_timer(&link, xs2s_port_now_ms());
	assert_true(xs2s_link_done(&link));
	expect_down(xs2s_link_bounce_cond(&link));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_in_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_tls_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_unexpected_starttls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_header_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_undeclared_prefix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_in_peer_stream_error, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_negotiation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_no_starttls_required, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_header_without_id, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_pre_1_0, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_pre_1_0_no_dialback, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_out_connect_failures, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_error_arrives, setup, teardown),
		cmocka_unit_test_setup_teardown(test_close_reserve, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reasons, setup, teardown),
	};

	xs2s_log_level = XS2S_LOG_DEBUG;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
