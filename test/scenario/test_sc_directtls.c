/* XEP-0368 direct TLS between two engines in one process, over the fake
 * port, with real TLS (wolfSSL) and the certificates of test/tools/mkcerts.sh
 * (XS2S_SC_PKI): a.test and b.test each listen for STARTTLS on :5269 and for
 * direct TLS on :5270.
 *
 *   - a direct TLS link each way (the host map's "/tls" entries), SASL
 *     EXTERNAL or dialback over it, exactly as over STARTTLS; the status
 *     says transport "directtls" and ALPN "xmpp-server" on both ends;
 *   - SRV: _xmpps-server and _xmpp-server of b.test at the same priority:
 *     the direct TLS target is tried first; its first bytes are a TLS
 *     ClientHello (no stream header before TLS) carrying SNI b.test and ALPN
 *     xmpp-server; it answers like a STARTTLS port would (a stream header),
 *     the handshake fails and the STARTTLS candidate (b.test's engine) is
 *     used: the message arrives, the link's transport is starttls;
 *   - a client that offers no ALPN (xs2s's own TLS glue without ALPN, as
 *     Prosody 0.12 connects) is accepted on the direct TLS listener: the
 *     stream's features carry no <starttls/> (XEP-0368 3 rule 5).
 *
 * Every two-engine scenario runs whole, one byte at a time and split at
 * seeded points and must give the same outcome; at the end both engines
 * stop and finish, and every pool and arena of both is empty and every fake
 * socket closed. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fake_port.h"
#include "xs2s.h"
#include "xs2s_log.h"
#include "engine/engine.h"
#include "link/tls.h"
#include "dns_zone.h"
#include "duo.h"
#include "runner.h"

#if !CONFIG_XS2S_DIRECT_TLS
int main(void)
{
	puts("test_sc_directtls: skipped, this configuration has no XEP-0368 (CONFIG_XS2S_DIRECT_TLS)");
	return 0;
}
#else

#ifndef XS2S_SC_PKI
#error "XS2S_SC_PKI: the directory of the test certificates (test/scenario/scenario.mk)"
#endif

#define ADDR_A "192.0.2.1"
#define ADDR_B "192.0.2.2"
#define ADDR_DT "192.0.2.9"     /* b.test's direct TLS target in DNS: owned by the test */
#define DNS_SERVER "192.0.2.53"
#define PORT 5269
#define PORT_TLS 5270

#define TEXT_MAX 16384

struct side {
	const char *domain;
	const char *cert;        /* name in XS2S_SC_PKI */
	bool sasl, dialback, trust;
	const char *host_map;
	const char *dns_server;
};

static struct xs2s_engine ea, eb;
static char text[TEXT_MAX];

/* A file of the test PKI (duo.h); the test fails when it cannot be read. */
static uint8_t *pki_read(const char *name, size_t *len)
{
	uint8_t *b = sc_pki_read(name, len);

	assert_non_null(b);
	return b;
}

/* cfg's certificate, key and CA from the PKI (the caller frees *mem). */
static void pki_config(struct xs2s_config *cfg, const char *cert, bool trust, uint8_t *mem[3])
{
	char name[64];

	snprintf(name, sizeof name, "%s.chain.pem", cert);
	mem[0] = pki_read(name, &cfg->cert_len);
	snprintf(name, sizeof name, "%s.key", cert);
	mem[1] = pki_read(name, &cfg->key_len);
	cfg->cert_pem = mem[0];
	cfg->key_pem = mem[1];
	mem[2] = trust ? pki_read("ca.pem", &cfg->ca_len) : NULL;
	cfg->ca_pem = mem[2];
}

static void start(struct xs2s_engine *e, const struct side *s, const char *addr)
{
	static char listen_tls[2][32];
	struct xs2s_config cfg;
	uint8_t *mem[3];
	char *lt = listen_tls[e == &eb];

	xs2s_config_defaults(&cfg);
	cfg.domains[0] = s->domain;
	cfg.listen_addr = addr;
	cfg.listen_port = PORT;
	snprintf(lt, sizeof listen_tls[0], "%s:%u", addr, PORT_TLS);
	cfg.listen_tls = lt;
	cfg.dialback_secret = NULL;
	cfg.tls_policy = XS2S_TLS_POLICY_REQUIRED;
	cfg.auth_sasl_external = s->sasl;
	cfg.auth_dialback = s->dialback;
	cfg.secure_auth = false;
	cfg.secure_auth_exceptions = "";
	cfg.host_map = s->host_map;
	cfg.dns_server = s->dns_server;
	cfg.components = NULL;
	cfg.bidi = false; /* one link per direction, as the checks expect (test_sc_bidi.c, test_sc_federation.c: XEP-0288) */
	pki_config(&cfg, s->cert, s->trust, mem);
	assert_int_equal(xs2s_engine_start(e, &cfg), XS2S_OK);
	free(mem[0]);
	free(mem[1]);
	free(mem[2]);
}

/* Poll both engines until nothing moves and neither has work. */
static void settle(void)
{
	assert_true(sc_duo_settle(&ea, &eb));
}

static void run_timers(void)
{
	assert_true(sc_duo_run_timers(&ea, &eb));
}

static const char *status(struct xs2s_engine *e)
{
	assert_true(xs2s_status_json(e, text, sizeof text) > 0);
	return text;
}

/* The JSON string field key of e's first link in direction dir, into out;
 * the test fails when there is no such link or field. */
static void link_field(struct xs2s_engine *e, const char *dir, const char *key, char *out, size_t cap)
{
	char needle[64], k[40];
	const char *p, *a;

	snprintf(needle, sizeof needle, "\"direction\":\"%s\"", dir);
	snprintf(k, sizeof k, "\"%s\":\"", key);
	p = strstr(status(e), needle);
	if (!p || !(a = strstr(p, k)))
		fail_msg("no %s link with a field %s in %s", dir, key, text);
	a += strlen(k);
	snprintf(out, cap, "%.*s", (int)strcspn(a, "\""), a);
}

static bool take(struct xs2s_engine *e, char *line, size_t cap)
{
	return sc_duo_take(e, line, cap);
}

/* Every pool and arena of e empty, after fini. */
static void assert_empty(struct xs2s_engine *e)
{
	const char *what = sc_duo_leftover(e);

	if (what)
		fail_msg("after fini: %s not empty", what);
}

/* Both engines stop, bounce what is queued, finish; every pool empty. */
static void finish(void)
{
	char line[512];
	const char *first;

	xs2s_engine_stop(&ea);
	xs2s_engine_stop(&eb);
	settle();
	run_timers();
	assert_true(xs2s_engine_idle(&ea));
	assert_true(xs2s_engine_idle(&eb));
	while (take(&ea, line, sizeof line) || take(&eb, line, sizeof line))
		;
	xs2s_engine_fini(&ea);
	xs2s_engine_fini(&eb);
	assert_empty(&ea);
	assert_empty(&eb);
	fake_close_test_sockets();
	assert_int_equal(fake_open_engine(), 0);
	if (fake_violations(&first))
		fail_msg("port contract: %s", first);
}

/* ---- b.test's DNS: _xmpps-server and _xmpp-server at the same priority ---- */

/*   _xmpps-server._tcp.b.test  SRV 0 0 5270 dt.b.test     dt.b.test A 192.0.2.9 (the test's)
 *   _xmpp-server._tcp.b.test   SRV 0 0 5269 st.b.test     st.b.test A 192.0.2.2 (b.test's engine)
 *   a.test's names: NXDOMAIN (b.test reaches a.test through its host map) */
static int zone(void *arg, const uint8_t *q, size_t n, uint8_t *r, size_t cap)
{
	char name[256];
	uint8_t rd[64];
	uint16_t type = 0;
	unsigned rcode = 0;
	size_t qend = sc_dns_question(q, n, name, sizeof name, &type), rl = 0, off;
	const char *target = NULL;
	unsigned port = 0;

	(void)arg;
	if (!qend || qend + 128 > cap)
		return -1;
	if (type == 33 && !strcmp(name, "_xmpps-server._tcp.b.test"))
		target = "\002dt\001b\004test", port = PORT_TLS;
	else if (type == 33 && !strcmp(name, "_xmpp-server._tcp.b.test"))
		target = "\002st\001b\004test", port = PORT;
	if (target) {
		rl = sc_dns_put16(rd, 0, 0);
		rl = sc_dns_put16(rd, rl, 0);
		rl = sc_dns_put16(rd, rl, port);
		memcpy(rd + rl, target, strlen(target) + 1);
		rl += strlen(target) + 1;
	} else if (type == 1 && !strcmp(name, "dt.b.test")) {
		static const uint8_t a[] = { 192, 0, 2, 9 };
		memcpy(rd, a, rl = sizeof a);
	} else if (type == 1 && !strcmp(name, "st.b.test")) {
		static const uint8_t a[] = { 192, 0, 2, 2 };
		memcpy(rd, a, rl = sizeof a);
	} else if (strcmp(name, "dt.b.test") && strcmp(name, "st.b.test")) {
		rcode = 3; /* NXDOMAIN */
	}
	memcpy(r, q, qend);
	r[2] = 0x84 | (q[2] & 0x01);
	r[3] = (uint8_t)(0x80 | rcode);
	sc_dns_put16(r, 6, rl ? 1 : 0);
	sc_dns_put16(r, 8, 0);
	sc_dns_put16(r, 10, 0);
	off = qend;
	if (rl) {
		off = sc_dns_put16(r, off, 0xc00c);
		off = sc_dns_put16(r, off, type);
		off = sc_dns_put16(r, off, 1);
		off = sc_dns_put16(r, off, 0);
		off = sc_dns_put16(r, off, 300);
		off = sc_dns_put16(r, off, (unsigned)rl);
		memcpy(r + off, rd, rl);
		off += rl;
	}
	return (int)off;
}

/* ---- a direct TLS link each way ---- */

#define MAP_A "b.test=" ADDR_B ":5270/tls"
#define MAP_B "a.test=" ADDR_A ":5270/tls"

struct dt_case {
	const char *name;
	bool sasl, trust;
	const char *want_auth_out, *want_auth_in;
};

static void both_ways_run(const struct dt_case *k, enum fake_delivery mode, char *out, size_t cap)
{
	const struct side a = { "a.test", "a.test", k->sasl, true, k->trust, MAP_A, NULL };
	const struct side b = { "b.test", "b.test", k->sasl, true, k->trust, MAP_B, NULL };
	char line[512], v[40];
	size_t n = 0;

	fake_reset(7, mode, 11);
	start(&ea, &a, ADDR_A);
	start(&eb, &b, ADDR_B);
	assert_int_equal(xs2s_send_message(&ea, "alice@a.test", "bob@b.test", "over direct TLS <&>"), XS2S_OK);
	settle();
	assert_int_equal(xs2s_send_message(&eb, "bob@b.test", "alice@a.test", "and back"), XS2S_OK);
	settle();
	/* a.test's outbound and b.test's inbound link: direct TLS, ALPN agreed. */
	link_field(&ea, "out", "transport", v, sizeof v);
	assert_string_equal(v, "directtls");
	link_field(&ea, "out", "alpn", v, sizeof v);
	assert_string_equal(v, "xmpp-server");
	link_field(&ea, "out", "auth", v, sizeof v);
	assert_string_equal(v, k->want_auth_out);
	n += (size_t)snprintf(out + n, cap - n, "a.out=%s;", v);
	link_field(&ea, "out", "cert", v, sizeof v);
	assert_string_equal(v, k->trust ? "valid" : "untrusted"); /* verified as after STARTTLS */
	link_field(&eb, "in", "transport", v, sizeof v);
	assert_string_equal(v, "directtls");
	link_field(&eb, "in", "alpn", v, sizeof v);
	assert_string_equal(v, "xmpp-server");
	link_field(&eb, "in", "auth", v, sizeof v);
	assert_string_equal(v, k->want_auth_in);
	n += (size_t)snprintf(out + n, cap - n, "b.in=%s;", v);
	assert_non_null(strstr(status(&eb), "\"starttls\":0,\"directtls\":"));
	assert_true(fake_log_has("direct TLS (XEP-0368): listening on 192.0.2.2 port 5270"));
	assert_true(fake_log_has("TLS established (direct TLS, XEP-0368; ALPN xmpp-server)"));
	while (take(&eb, line, sizeof line))
		n += (size_t)snprintf(out + n, cap - n, "b<%s;", line);
	while (take(&ea, line, sizeof line))
		n += (size_t)snprintf(out + n, cap - n, "a<%s;", line);
	finish();
}

static void both_ways(const struct dt_case *k)
{
	static char outcome[FAKE_DELIVERY__COUNT][2048];
	unsigned m;

	for (m = 0; m < FAKE_DELIVERY__COUNT; m++) {
		both_ways_run(k, (enum fake_delivery)m, outcome[m], sizeof outcome[m]);
		if (m && strcmp(outcome[m], outcome[0]))
			fail_msg("%s: %s delivery gave\n  %s\nwhole delivery gave\n  %s", k->name,
				 fake_delivery_name((enum fake_delivery)m), outcome[m], outcome[0]);
	}
	if (!strstr(outcome[0], "b<alice@a.test>bob@b.test|chat||over direct TLS <&>;") ||
	    !strstr(outcome[0], "a<bob@b.test>alice@a.test|chat||and back;"))
		fail_msg("%s: %s", k->name, outcome[0]);
}

/* SASL EXTERNAL over direct TLS both ways (XEP-0178 after XEP-0368). */
static void test_directtls_sasl_both_ways(void **state)
{
	static const struct dt_case k = { "directtls_sasl_both_ways", true, true, "sasl-external", "sasl-external" };

	(void)state;
	both_ways(&k);
}

/* Untrusted certificates: dialback with its verify connection, itself over
 * direct TLS (the host map), as over STARTTLS. */
static void test_directtls_dialback_untrusted(void **state)
{
	static const struct dt_case k = { "directtls_dialback_untrusted", true, false, "dialback", "dialback" };

	(void)state;
	both_ways(&k);
}

/* ---- SRV order, no stream header before TLS, ALPN and SNI, fallback ---- */

/* hang: the direct TLS target accepts and never answers (its handshake
 * times out after the connect timeout) instead of answering in XML. */
static void fallback_run(bool hang, enum fake_delivery mode, char *out, size_t cap)
{
	const struct side a = { "a.test", "a.test", true, true, true, NULL, DNS_SERVER ":53" };
	const struct side b = { "b.test", "b.test", true, true, true, "a.test=" ADDR_A ":5269", NULL };
	static uint8_t hello[8192];
	static const char sni[] = "b.test", alpn[] = "xmpp-server";
	char line[512], v[40];
	size_t n = 0, h = 0;
	xs2s_sock l, k;
	int r;

	fake_reset(7, mode, 11);
	assert_int_equal(fake_udp_serve(DNS_SERVER ":53", zone, NULL), XS2S_OK);
	assert_int_equal(fake_tcp_listen(ADDR_DT ":5270", &l), XS2S_OK);
	start(&ea, &a, ADDR_A);
	start(&eb, &b, ADDR_B);
	assert_int_equal(xs2s_send_message(&ea, "alice@a.test", "bob@b.test", "via the second candidate"), XS2S_OK);
	settle();
	/* The direct TLS target came first (same priority: XEP-0368 3 rule 1, direct TLS preferred). */
	assert_int_equal(fake_tcp_accept(l, &k), XS2S_OK);
	settle();
	while (h < sizeof hello && (r = fake_tcp_read(k, hello + h, sizeof hello - h)) > 0)
		h += (size_t)r;
	/* A TLS handshake record first: no stream header, no XML before TLS. */
	assert_true(h > 5);
	assert_int_equal(hello[0], 22);   /* handshake */
	assert_int_equal(hello[5], 1);    /* ClientHello */
	assert_null(memmem(hello, h, "<?xml", 5));
	assert_null(memmem(hello, h, "stream", 6));
	/* SNI = the peer's domain (rule 6), ALPN xmpp-server offered (rules 7, 9). */
	assert_non_null(memmem(hello, h, sni, sizeof sni - 1));
	assert_non_null(memmem(hello, h, alpn, sizeof alpn - 1));
	n += (size_t)snprintf(out + n, cap - n, "hello=%u;", (unsigned)(h > 0));
	if (hang) {
		/* No ServerHello: after the connect timeout the next candidate. */
		assert_false(fake_log_has("direct TLS to 192.0.2.9:5270 failed"));
		fake_advance(CONFIG_XS2S_CONNECT_TIMEOUT_S * 1000 - 1);
		settle();
		assert_false(fake_log_has("direct TLS to 192.0.2.9:5270 failed"));
		fake_advance(2);
		settle();
		assert_true(fake_log_has("direct TLS to 192.0.2.9:5270 failed (no handshake in time)"));
	} else {
		/* It answers as a STARTTLS port would: the handshake fails, the
		 * next candidate (STARTTLS, b.test's engine) is tried. */
		assert_true(fake_tcp_write(k, "<?xml version='1.0'?><stream:stream xmlns='jabber:server'>", 57) > 0);
		settle();
	}
	fake_tcp_close(k);
	settle();
	link_field(&ea, "out", "transport", v, sizeof v);
	assert_string_equal(v, "starttls");
	n += (size_t)snprintf(out + n, cap - n, "a.out=%s;", v);
	link_field(&ea, "out", "auth", v, sizeof v);
	n += (size_t)snprintf(out + n, cap - n, "auth=%s;", v);
	assert_true(fake_log_has("direct TLS to 192.0.2.9:5270 failed"));
	assert_true(fake_log_has("connecting to 192.0.2.2:5269 (STARTTLS)"));
	assert_true(fake_log_has("dns: b.test: 2 candidate(s), first 192.0.2.9:5270 direct TLS"));
	while (take(&eb, line, sizeof line))
		n += (size_t)snprintf(out + n, cap - n, "b<%s;", line);
	while (take(&ea, line, sizeof line))
		n += (size_t)snprintf(out + n, cap - n, "a<%s;", line);
	fake_tcp_close(l);
	finish();
}

static void fallback_all(bool hang)
{
	static char outcome[FAKE_DELIVERY__COUNT][2048];
	unsigned m;

	for (m = 0; m < FAKE_DELIVERY__COUNT; m++) {
		fallback_run(hang, (enum fake_delivery)m, outcome[m], sizeof outcome[m]);
		if (m && strcmp(outcome[m], outcome[0]))
			fail_msg("fallback: %s delivery gave\n  %s\nwhole delivery gave\n  %s",
				 fake_delivery_name((enum fake_delivery)m), outcome[m], outcome[0]);
	}
	if (!strstr(outcome[0], "a.out=starttls;auth=sasl-external;b<alice@a.test>bob@b.test|chat||via the second candidate;"))
		fail_msg("fallback: %s", outcome[0]);
}

/* The direct TLS target answers like a STARTTLS port: the handshake fails. */
static void test_directtls_srv_first_then_starttls(void **state)
{
	(void)state;
	fallback_all(false);
}

/* The direct TLS target accepts and stays silent: its handshake gives way to
 * the next candidate after CONFIG_XS2S_CONNECT_TIMEOUT_S, not before. */
static void test_directtls_handshake_timeout_next(void **state)
{
	(void)state;
	fallback_all(true);
}

/* ---- ALPN accepted, never required ---- */

/* A TLS client of the test's own: xs2s's TLS glue (link/tls.h) in a struct
 * of its own, a.test's certificate, no ALPN (xs2s_tls_alpn not called), as
 * Prosody 0.12 connects to a direct TLS port. */
static struct xs2s_tls tc;
static uint8_t tc_rxb[16384], tc_txb[16384];

/* Move ciphertext between the client's queues and its socket k. */
static void tc_shuttle(xs2s_sock k, struct xs2s_bq *rx, struct xs2s_bq *tx)
{
	size_t avail, room;
	const uint8_t *p;
	uint8_t *w;
	int r;

	while ((p = xs2s_bq_rbuf(tx, &avail)), avail) {
		r = fake_tcp_write(k, p, avail);
		assert_true(r >= 0);
		if (!r)
			break;
		xs2s_bq_rack(tx, (size_t)r);
	}
	while ((w = xs2s_bq_wbuf(rx, &room)), room && (r = fake_tcp_read(k, w, room)) > 0)
		xs2s_bq_wack(rx, (size_t)r);
}

static void test_directtls_alpn_not_required(void **state)
{
	const struct side b = { "b.test", "b.test", true, true, true, "a.test=" ADDR_A ":5269", NULL };
	struct xs2s_config cfg;
	struct xs2s_tls_sess s;
	struct xs2s_bq rx, tx, out;
	static uint8_t outb[1024];
	static char got[4096];
	uint8_t *mem[3];
	uint8_t tmp[2048];
	size_t g = 0;
	unsigned i;
	int rc = XS2S_EWANTREAD;
	xs2s_sock k;
	char v[40];
	const char *first;
	static const char hdr[] = "<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
				  "xmlns:stream='http://etherx.jabber.org/streams' from='a.test' to='b.test' version='1.0'>";

	(void)state;
	fake_reset(7, FAKE_WHOLE, 11);
	start(&eb, &b, ADDR_B);
	xs2s_config_defaults(&cfg);
	pki_config(&cfg, "a.test", true, mem);
	assert_int_equal(xs2s_tls_init(&tc, &cfg), XS2S_OK);
	free(mem[0]);
	free(mem[1]);
	free(mem[2]);
	xs2s_bq_init(&rx, tc_rxb, sizeof tc_rxb);
	xs2s_bq_init(&tx, tc_txb, sizeof tc_txb);
	xs2s_bq_init(&out, outb, sizeof outb);
	assert_int_equal(fake_tcp_connect(ADDR_B ":5270", ADDR_A, &k), XS2S_OK);
	assert_int_equal(xs2s_tls_start(&tc, &s, true, "b.test", 1, &rx, &tx), XS2S_OK);
	assert_false(s.alpn_sent);
	for (i = 0; i < 200 && rc != XS2S_OK; i++) {
		rc = xs2s_tls_handshake(&s);
		assert_true(rc == XS2S_OK || rc == XS2S_EWANTREAD || rc == XS2S_EWANTWRITE);
		tc_shuttle(k, &rx, &tx);
		xs2s_engine_poll(&eb, 0);
		tc_shuttle(k, &rx, &tx);
	}
	assert_int_equal(rc, XS2S_OK);
	assert_string_equal(s.alpn, "");
	/* The stream, encrypted: b.test answers with its header and features. */
	assert_int_equal(xs2s_bq_put(&out, hdr, sizeof hdr - 1), XS2S_OK);
	for (i = 0; i < 200 && !strstr(got, "</stream:features>"); i++) {
		int r;

		assert_int_equal(xs2s_tls_flush(&s, &out), XS2S_OK);
		tc_shuttle(k, &rx, &tx);
		xs2s_engine_poll(&eb, 0);
		tc_shuttle(k, &rx, &tx);
		while ((r = xs2s_tls_peek(&s, tmp, sizeof tmp)) > 0 && g + (size_t)r < sizeof got) {
			memcpy(got + g, tmp, (size_t)r);
			g += (size_t)r;
			got[g] = '\0';
			xs2s_tls_consume(&s, tmp, (size_t)r);
		}
	}
	assert_non_null(strstr(got, "<stream:stream"));
	assert_non_null(strstr(got, "</stream:features>"));
	/* XEP-0368 3 rule 5: no STARTTLS over direct TLS; authentication is offered. */
	assert_null(strstr(got, "starttls"));
	assert_non_null(strstr(got, "<mechanism>EXTERNAL</mechanism>"));
	link_field(&eb, "in", "transport", v, sizeof v);
	assert_string_equal(v, "directtls");
	link_field(&eb, "in", "alpn", v, sizeof v);
	assert_string_equal(v, "");
	assert_true(fake_log_has("TLS established (direct TLS, XEP-0368; ALPN none)"));
	/* The client goes away: b.test's link ends, every pool is empty. */
	xs2s_tls_end(&s, false);
	fake_tcp_close(k);
	xs2s_tls_fini(&tc);
	assert_int_equal(tc.arena.used, 0);
	xs2s_engine_stop(&eb);
	for (i = 0; i < SC_DUO_TIMER_JUMPS && !xs2s_engine_idle(&eb); i++) {
		xs2s_engine_poll(&eb, 1000000);
		fake_advance(fake_poll_timeout() + 1);
	}
	assert_true(xs2s_engine_idle(&eb));
	xs2s_engine_fini(&eb);
	assert_empty(&eb);
	fake_close_test_sockets();
	assert_int_equal(fake_open_engine(), 0);
	if (fake_violations(&first))
		fail_msg("port contract: %s", first);
}

/* A direct TLS listener needs a certificate: the start is refused. */
static void test_directtls_listener_needs_cert(void **state)
{
	struct xs2s_config cfg;

	(void)state;
	fake_reset(7, FAKE_WHOLE, 11);
	xs2s_config_defaults(&cfg);
	cfg.domains[0] = "b.test";
	cfg.listen_addr = ADDR_B;
	cfg.listen_port = PORT;
	cfg.listen_tls = ADDR_B ":5270";
	cfg.dns_server = NULL;
	cfg.components = NULL;
	assert_int_equal(xs2s_engine_start(&eb, &cfg), XS2S_EINVAL);
	assert_true(fake_log_has("a direct TLS listener (192.0.2.2:5270) needs a certificate and key"));
	cfg.listen_tls = "192.0.2.2:x";
	assert_int_equal(xs2s_engine_start(&eb, &cfg), XS2S_EINVAL);
	assert_int_equal(fake_open_engine(), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directtls_sasl_both_ways),
		cmocka_unit_test(test_directtls_dialback_untrusted),
		cmocka_unit_test(test_directtls_srv_first_then_starttls),
		cmocka_unit_test(test_directtls_handshake_timeout_next),
		cmocka_unit_test(test_directtls_alpn_not_required),
		cmocka_unit_test(test_directtls_listener_needs_cert),
	};

	xs2s_log_level = getenv("XS2S_FAKE_LOG") ? XS2S_LOG_DEBUG : XS2S_LOG_INFO; /* the checks read info lines */
	return cmocka_run_group_tests(tests, NULL, NULL);
}
#endif
