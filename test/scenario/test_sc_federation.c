/* Two engines in one process federate over the fake port: real STARTTLS
 * (wolfSSL), SASL EXTERNAL (XEP-0178) and dialback (XEP-0220, XEP-0344)
 * between a.test and b.test, each engine in its own caller-owned struct
 * xs2s_engine. Every scenario runs whole, one byte at a time and split at
 * seeded points, and must give the same outcome (what each side's inbox got,
 * how each link was authenticated); at the end both engines stop, finish,
 * and every pool and arena of both is empty and every fake socket closed.
 *
 * The certificates come from test/tools/mkcerts.sh (XS2S_SC_PKI, made by the
 * build): a.test's covers a.test and alias.test, b.test's b.test; both are
 * signed by the same throw-away CA, which both engines trust unless a
 * scenario says otherwise; a-comp's covers a.test, alias.test and the
 * component domain comp.a.test (XEP-0114). */
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
#include "duo.h"
#include "runner.h"

#ifndef XS2S_SC_PKI
#error "XS2S_SC_PKI: the directory of the test certificates (test/scenario/scenario.mk)"
#endif

#define ADDR_A "192.0.2.1"
#define ADDR_B "192.0.2.2"
#define PORT 5269
#define TEXT_MAX 16384

/* How an engine is set up in a scenario. */
struct side {
	const char *domains[3];
	const char *cert;         /* file name in XS2S_SC_PKI (NULL: no certificate) */
	bool sasl, dialback;
	bool trust;               /* load the CA */
	bool secure_auth;
	const char *host_map;
	const char *components;   /* XEP-0114 "name=secret ..." on ADDR:5347 (NULL: none) */
	bool bidi;                /* XEP-0288 (off here: test_sc_bidi.c has the bidirectional cases) */
};

struct fed_scenario {
	const char *name;
	struct side a, b;
	/* The application: a.test's user sends to b.test's, and back; a second
	 * local domain of a.test sends too when a.domains[1] is set. */
	bool a_to_b, b_to_a, alias_to_b;
	/* What must come out. */
	const char *want_auth_a_out;   /* status "auth" of a.test's outbound link */
	const char *want_auth_b_in;    /* of b.test's inbound link */
	const char *want_b_json;       /* a piece of b.test's status JSON once settled */
	bool want_delivered;           /* else bounced back to the sender */
	const char *want_bounce;       /* bounce condition when not delivered */
	/* XEP-0288: each engine's links once settled, their status directions
	 * in slot order ("bidi": one connection carries both ways); NULL: not
	 * checked. With bidi links, the "auth" checked is the bidi link's. */
	const char *want_dirs_a, *want_dirs_b;
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

static void start(struct xs2s_engine *e, const struct side *s, const char *addr)
{
	struct xs2s_config cfg;
	uint8_t *cert = NULL, *key = NULL, *ca = NULL;
	char name[64];
	unsigned i;

	xs2s_config_defaults(&cfg);
	for (i = 0; i < 3 && i < CONFIG_XS2S_MAX_DOMAINS; i++)
		cfg.domains[i] = s->domains[i];
	cfg.listen_addr = addr;
	cfg.listen_port = PORT;
	cfg.dialback_secret = NULL; /* random: the keys come from the fake port's seeded entropy */
	cfg.tls_policy = XS2S_TLS_POLICY_REQUIRED;
	cfg.auth_sasl_external = s->sasl;
	cfg.auth_dialback = s->dialback;
	cfg.secure_auth = s->secure_auth;
	cfg.bidi = s->bidi;
	cfg.secure_auth_exceptions = "";
	cfg.host_map = s->host_map;
	cfg.dns_server = NULL;
	cfg.components = s->components;
	if (s->components) {
		static char listen[64];

		snprintf(listen, sizeof listen, "%s:%u", addr, SC_COMP_PORT);
		cfg.component_listen = listen;
	}
	if (s->cert) {
		snprintf(name, sizeof name, "%s.chain.pem", s->cert);
		cert = pki_read(name, &cfg.cert_len);
		snprintf(name, sizeof name, "%s.key", s->cert);
		key = pki_read(name, &cfg.key_len);
		cfg.cert_pem = cert;
		cfg.key_pem = key;
	}
	if (s->trust) {
		ca = pki_read("ca.pem", &cfg.ca_len);
		cfg.ca_pem = ca;
	}
	assert_int_equal(xs2s_engine_start(e, &cfg), XS2S_OK);
	free(cert); /* the engine keeps no pointer into them */
	free(key);
	free(ca);
}

/* Poll both engines until nothing moves and neither has work; then, when
 * asked, jump the clock to the nearest deadline. */
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

/* The "auth" of e's first link in direction dir ("in"/"out"), into out. */
static void link_auth(struct xs2s_engine *e, const char *dir, char *out, size_t cap)
{
	char needle[64];
	const char *p, *a;

	snprintf(needle, sizeof needle, "\"direction\":\"%s\"", dir);
	p = strstr(status(e), needle);
	out[0] = '\0';
	if (!p || !(a = strstr(p, "\"auth\":\"")))
		return;
	a += 8;
	snprintf(out, cap, "%.*s", (int)strcspn(a, "\""), a);
}

/* The status directions of e's links in slot order, comma-separated. */
static void link_dirs(struct xs2s_engine *e, char *out, size_t cap)
{
	const char *p = status(e);
	size_t n = 0;

	out[0] = '\0';
	while ((p = strstr(p, "\"direction\":\"")) != NULL) {
		p += 13;
		n += (size_t)snprintf(out + n, cap - n, "%s%.*s", n ? "," : "", (int)strcspn(p, "\""), p);
	}
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

/* One run in one delivery mode: the outcome (inboxes and auths) in out. */
static void run(const struct fed_scenario *s, enum fake_delivery mode, char *out, size_t cap)
{
	char line[512], auth[32], dirs[64];
	size_t n = 0;
	const char *first;
	bool bidi_a = s->want_dirs_a && !strcmp(s->want_dirs_a, "bidi");
	bool bidi_b = s->want_dirs_b && !strcmp(s->want_dirs_b, "bidi");

	fake_reset(7, mode, 11);
	start(&ea, &s->a, ADDR_A);
	start(&eb, &s->b, ADDR_B);
	if (s->a_to_b)
		assert_int_equal(xs2s_send_message(&ea, "alice@a.test", "bob@b.test", "hello bob <&>"), XS2S_OK);
	if (s->alias_to_b)
		assert_int_equal(xs2s_send_message(&ea, "carol@alias.test", "bob@b.test", "hello from the alias"), XS2S_OK);
	settle();
	if (s->b_to_a)
		assert_int_equal(xs2s_send_message(&eb, "bob@b.test", "alice@a.test", "hi alice"), XS2S_OK);
	settle();
	link_dirs(&ea, dirs, sizeof dirs);
	n += (size_t)snprintf(out + n, cap - n, "a.links=%s;", dirs);
	if (s->want_dirs_a && strcmp(dirs, s->want_dirs_a))
		fail_msg("%s: a.test's links %s, want %s", s->name, dirs, s->want_dirs_a);
	link_dirs(&eb, dirs, sizeof dirs);
	n += (size_t)snprintf(out + n, cap - n, "b.links=%s;", dirs);
	if (s->want_dirs_b && strcmp(dirs, s->want_dirs_b))
		fail_msg("%s: b.test's links %s, want %s", s->name, dirs, s->want_dirs_b);
	link_auth(&ea, bidi_a ? "bidi" : "out", auth, sizeof auth);
	n += (size_t)snprintf(out + n, cap - n, "a.out=%s;", auth);
	if (s->want_auth_a_out)
		assert_string_equal(auth, s->want_auth_a_out);
	link_auth(&eb, bidi_b ? "bidi" : "in", auth, sizeof auth);
	n += (size_t)snprintf(out + n, cap - n, "b.in=%s;", auth);
	if (s->want_auth_b_in)
		assert_string_equal(auth, s->want_auth_b_in);
	if (s->want_delivered && s->a_to_b)
		assert_non_null(strstr(status(&ea), "\"transport\":\"starttls\",\"tls_version\":\"TLSv1."));
	if (s->want_b_json && !strstr(status(&eb), s->want_b_json))
		fail_msg("%s: b.test's status lacks %s:\n%s", s->name, s->want_b_json, text);
	while (take(&eb, line, sizeof line))
		n += (size_t)snprintf(out + n, cap - n, "b<%s;", line);
	while (take(&ea, line, sizeof line))
		n += (size_t)snprintf(out + n, cap - n, "a<%s;", line);
	/* Both stop; what is queued is bounced; then both finish. */
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
	assert_int_equal(fake_open_engine(), 0);
	if (fake_violations(&first))
		fail_msg("port contract: %s", first);
}

static void run_all(const struct fed_scenario *s, const char *want_b_inbox, const char *want_a_inbox)
{
	static char outcome[FAKE_DELIVERY__COUNT][4096];
	unsigned m;

	for (m = 0; m < FAKE_DELIVERY__COUNT; m++) {
		run(s, (enum fake_delivery)m, outcome[m], sizeof outcome[m]);
		if (m && strcmp(outcome[m], outcome[0]))
			fail_msg("%s: %s delivery gave\n  %s\nwhole delivery gave\n  %s", s->name,
				 fake_delivery_name((enum fake_delivery)m), outcome[m], outcome[0]);
	}
	if (want_b_inbox && !strstr(outcome[0], want_b_inbox))
		fail_msg("%s: b.test's inbox: want %s in %s", s->name, want_b_inbox, outcome[0]);
	if (want_a_inbox && !strstr(outcome[0], want_a_inbox))
		fail_msg("%s: a.test's inbox: want %s in %s", s->name, want_a_inbox, outcome[0]);
}

#define MAP_A "b.test=" ADDR_B ":5269"
#define MAP_B "a.test=" ADDR_A ":5269 alias.test=" ADDR_A ":5269"

/* STARTTLS + SASL EXTERNAL both ways (XEP-0178): each side's certificate is
 * valid for its domain, so EXTERNAL is offered and used. */
static void test_sasl_external_both_ways(void **state)
{
	static const struct fed_scenario s = {
		.name = "sasl_external_both_ways",
		.a = { { "a.test" }, "a.test", true, true, true, false, MAP_A },
		.b = { { "b.test" }, "b.test", true, true, true, false, MAP_B },
		.a_to_b = true, .b_to_a = true,
		.want_auth_a_out = "sasl-external", .want_auth_b_in = "sasl-external", .want_delivered = true,
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;", "a<bob@b.test>alice@a.test|chat||hi alice;");
}

/* Dialback only, over TLS: the receiving side accepts the db:result on the
 * valid certificate without a db:verify round trip (XEP-0344). */
static void test_dialback_over_tls(void **state)
{
	static const struct fed_scenario s = {
		.name = "dialback_over_tls",
		.a = { { "a.test" }, "a.test", false, true, true, false, MAP_A },
		.b = { { "b.test" }, "b.test", false, true, true, false, MAP_B },
		.a_to_b = true, .b_to_a = true,
		.want_auth_a_out = "dialback", .want_auth_b_in = "dialback+cert", .want_delivered = true,
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;", "a<bob@b.test>alice@a.test|chat||hi alice;");
}

/* Untrusted certificates: dialback with the verify connection to the
 * authoritative server (XEP-0220 2.1-2.4), over TLS. */
static void test_dialback_verify_untrusted(void **state)
{
	static const struct fed_scenario s = {
		.name = "dialback_verify_untrusted",
		.a = { { "a.test" }, "a.test", true, true, false, false, MAP_A },
		.b = { { "b.test" }, "b.test", true, true, false, false, MAP_B },
		.a_to_b = true,
		.want_auth_a_out = "dialback", .want_auth_b_in = "dialback", .want_delivered = true,
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;", NULL);
}

/* A second local domain on the same stream: SASL EXTERNAL for the stream's
 * own pair, then dialback piggybacking for alias.test (XEP-0220 2.5),
 * accepted on the certificate that covers it too. */
static void test_piggyback_alias_after_sasl(void **state)
{
	static const struct fed_scenario s = {
		.name = "piggyback_alias_after_sasl",
		.a = { { "a.test", "alias.test" }, "a.test", true, true, true, false, MAP_A },
		.b = { { "b.test" }, "b.test", true, true, true, false, MAP_B },
		.a_to_b = true, .alias_to_b = true,
		.want_auth_a_out = "sasl-external", .want_delivered = true,
		.want_b_json = "\"pairs\":[{\"local\":\"b.test\",\"remote\":\"a.test\",\"state\":\"valid\","
			       "\"auth\":\"sasl-external\"},{\"local\":\"b.test\",\"remote\":\"alias.test\","
			       "\"state\":\"valid\",\"auth\":\"dialback+cert\"}]",
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;b<carol@alias.test>bob@b.test|chat||hello from the alias;",
		NULL);
}

/* Secure auth against a certificate b.test cannot trust: refused with
 * policy-violation, and a.test bounces the message to its sender. */
static void test_secure_auth_refuses_untrusted(void **state)
{
	static const struct fed_scenario s = {
		.name = "secure_auth_refuses_untrusted",
		.a = { { "a.test" }, "a.test", true, true, true, false, MAP_A },
		.b = { { "b.test" }, "b.test", true, true, false, true, MAP_B },
		.a_to_b = true,
	};

	(void)state;
	run_all(&s, NULL, "a<bob@b.test>alice@a.test|error|remote-server-not-found|hello bob <&>;");
}

#if CONFIG_XS2S_BIDI
/* ---- XEP-0288: one connection carries both directions ---- */

/* SASL EXTERNAL: a.test asks for bidi; b.test sends to a.test from the
 * stream's 'to' (XEP-0288 2.2), a.test accepts it on the certificate it
 * checked; one link each side. */
static void test_bidi_sasl_external(void **state)
{
	static const struct fed_scenario s = {
		.name = "bidi_sasl_external",
		.a = { { "a.test" }, "a.test", true, true, true, false, MAP_A, .bidi = true },
		.b = { { "b.test" }, "b.test", true, true, true, false, MAP_B, .bidi = true },
		.a_to_b = true, .b_to_a = true,
		.want_auth_a_out = "sasl-external", .want_auth_b_in = "sasl-external", .want_delivered = true,
		.want_dirs_a = "bidi", .want_dirs_b = "bidi",
		.want_b_json = "\"pairs\":[{\"local\":\"b.test\",\"remote\":\"a.test\",\"state\":\"valid\","
			       "\"auth\":\"sasl-external\",\"dir\":\"in\"},{\"local\":\"b.test\",\"remote\":\"a.test\","
			       "\"state\":\"valid\",\"auth\":\"sasl-external\",\"dir\":\"out\"}]",
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;", "a<bob@b.test>alice@a.test|chat||hi alice;");
}

/* Dialback over TLS, accepted on the certificate (XEP-0344): the reverse
 * direction is the inverse pair (XEP-0288 2.2). */
static void test_bidi_dialback_cert(void **state)
{
	static const struct fed_scenario s = {
		.name = "bidi_dialback_cert",
		.a = { { "a.test" }, "a.test", false, true, true, false, MAP_A, .bidi = true },
		.b = { { "b.test" }, "b.test", false, true, true, false, MAP_B, .bidi = true },
		.a_to_b = true, .b_to_a = true,
		.want_auth_a_out = "dialback", .want_auth_b_in = "dialback+cert", .want_delivered = true,
		.want_dirs_a = "bidi", .want_dirs_b = "bidi",
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;", "a<bob@b.test>alice@a.test|chat||hi alice;");
}

/* Untrusted certificates: dialback with the db:verify on a connection of
 * its own (XEP-0288 2.2: never the stream that asked), closed once
 * answered; then one link each side carries both directions. */
static void test_bidi_dialback_verify(void **state)
{
	static const struct fed_scenario s = {
		.name = "bidi_dialback_verify",
		.a = { { "a.test" }, "a.test", true, true, false, false, MAP_A, .bidi = true },
		.b = { { "b.test" }, "b.test", true, true, false, false, MAP_B, .bidi = true },
		.a_to_b = true, .b_to_a = true,
		.want_auth_a_out = "dialback", .want_auth_b_in = "dialback", .want_delivered = true,
		.want_dirs_a = "bidi", .want_dirs_b = "bidi",
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;", "a<bob@b.test>alice@a.test|chat||hi alice;");
}

/* b.test without bidi: today's two connections. */
static void test_bidi_peer_without(void **state)
{
	static const struct fed_scenario s = {
		.name = "bidi_peer_without",
		.a = { { "a.test" }, "a.test", true, true, true, false, MAP_A, .bidi = true },
		.b = { { "b.test" }, "b.test", true, true, true, false, MAP_B, .bidi = false },
		.a_to_b = true, .b_to_a = true,
		.want_auth_a_out = "sasl-external", .want_auth_b_in = "sasl-external", .want_delivered = true,
		.want_dirs_a = "out,in", .want_dirs_b = "in,out",
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;", "a<bob@b.test>alice@a.test|chat||hi alice;");
}

/* a.test cannot check b.test's certificate but b.test checks a.test's:
 * SASL EXTERNAL would authenticate a.test only, so a.test does not ask
 * for bidi on its stream (nothing from b.test would be authenticated
 * there). b.test's answer needs a stream of its own: b.test asks for bidi
 * there and authenticates by dialback (a.test offers it no EXTERNAL),
 * whose db:verify a.test sends on its own outbound stream (XEP-0288 2.2:
 * not on the one that asked). */
static void test_bidi_not_asked_untrusted_peer(void **state)
{
	static const struct fed_scenario s = {
		.name = "bidi_not_asked_untrusted_peer",
		.a = { { "a.test" }, "a.test", true, true, false, false, MAP_A, .bidi = true },
		.b = { { "b.test" }, "b.test", true, true, true, false, MAP_B, .bidi = true },
		.a_to_b = true, .b_to_a = true,
		.want_auth_a_out = "sasl-external", .want_auth_b_in = "sasl-external", .want_delivered = true,
		.want_dirs_a = "out,bidi", .want_dirs_b = "in,bidi",
		.want_b_json = "\"direction\":\"bidi\",\"local\":\"b.test\",\"remote\":\"a.test\",\"state\":\"open\","
			       "\"transport\":\"starttls\"",
	};

	(void)state;
	run_all(&s, "b<alice@a.test>bob@b.test|chat||hello bob <&>;", "a<bob@b.test>alice@a.test|chat||hi alice;");
}
#endif

#if CONFIG_XS2S_COMPONENTS
/* ---- XEP-0114 components federating over real TLS ---- */

#define COMP_HDR(name) "<?xml version='1.0'?><stream:stream xmlns='jabber:component:accept' " \
		       "xmlns:stream='http://etherx.jabber.org/streams' to='" name "'>"

static void sock_write(xs2s_sock k, const char *t)
{
	assert_int_equal(fake_tcp_write(k, t, strlen(t)), (int)strlen(t));
}

/* What the engine sent to test socket k since the last call, NUL-terminated. */
static const char *sock_read(xs2s_sock k)
{
	static char buf[4096];
	size_t n = 0;
	int r;

	while (n < sizeof buf - 1 && (r = fake_tcp_read(k, buf + n, sizeof buf - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	return buf;
}

/* A component process connects to a.test's engine as name with secret and
 * completes the handshake (XEP-0114 3). */
static xs2s_sock comp_connect(const char *name, const char *secret)
{
	char addr[64], hdr[256], id[80], hs[41], msg[128];
	const char *got, *p;
	xs2s_sock k;

	snprintf(addr, sizeof addr, "%s:%u", ADDR_A, SC_COMP_PORT);
	assert_int_equal(fake_tcp_connect(addr, NULL, &k), XS2S_OK);
	snprintf(hdr, sizeof hdr, COMP_HDR("%s"), name);
	sock_write(k, hdr);
	settle();
	got = sock_read(k);
	p = strstr(got, " id='");
	assert_non_null(p);
	snprintf(id, sizeof id, "%.*s", (int)strcspn(p + 5, "'"), p + 5);
	sc_handshake(id, secret, false, hs);
	snprintf(msg, sizeof msg, "<handshake>%s</handshake>", hs);
	sock_write(k, msg);
	settle();
	assert_string_equal(sock_read(k), "<handshake/>");
	return k;
}

/* The "auth" of the pair (local, remote) in e's status, into out. */
static void pair_auth(struct xs2s_engine *e, const char *local, const char *remote, char *out, size_t cap)
{
	char needle[160];
	const char *p, *a;

	snprintf(needle, sizeof needle, "{\"local\":\"%s\",\"remote\":\"%s\",\"state\":\"valid\",\"auth\":\"", local,
		 remote);
	p = strstr(status(e), needle);
	out[0] = '\0';
	if (p) {
		a = p + strlen(needle);
		snprintf(out, cap, "%.*s", (int)strcspn(a, "\""), a);
	}
}

static void comp_run(enum fake_delivery mode, char *out, size_t cap)
{
	static const struct side a = { { "a.test" }, "a-comp", true, true, true, false, MAP_A,
				       "comp.a.test=s3cret-one comp2.a.test=s3cret-two", false };
	static const struct side b = { { "b.test" }, "b.test", true, true, true, false,
				       MAP_B " comp.a.test=" ADDR_A ":5269 comp2.a.test=" ADDR_A ":5269", NULL, false };
	char line[512], auth[32];
	size_t n = 0;
	xs2s_sock k1, k2;
	const char *first;

	fake_reset(7, mode, 11);
	start(&ea, &a, ADDR_A);
	start(&eb, &b, ADDR_B);
	k1 = comp_connect("comp.a.test", "s3cret-one");
	k2 = comp_connect("comp2.a.test", "s3cret-two");
	sock_write(k1, "<message from='bot@comp.a.test' to='bob@b.test' type='chat'><body>from the bot</body></message>");
	settle();
	sock_write(k2, "<message from='bot@comp2.a.test/x' to='bob@b.test'><body>from the other</body></message>");
	settle();
	assert_int_equal(xs2s_send_message(&eb, "bob@b.test", "bot@comp.a.test", "hi bot"), XS2S_OK);
	settle();
	n += (size_t)snprintf(out + n, cap - n, "k1<%s;", sock_read(k1));
	n += (size_t)snprintf(out + n, cap - n, "k2<%s;", sock_read(k2));
	/* comp.a.test is in a.test's certificate: SASL EXTERNAL; comp2.a.test
	 * is not: dialback with the verify round trip to a.test. */
	pair_auth(&eb, "b.test", "comp.a.test", auth, sizeof auth);
	n += (size_t)snprintf(out + n, cap - n, "b.in(comp)=%s;", auth);
	assert_string_equal(auth, "sasl-external");
	pair_auth(&eb, "b.test", "comp2.a.test", auth, sizeof auth);
	n += (size_t)snprintf(out + n, cap - n, "b.in(comp2)=%s;", auth);
	assert_string_equal(auth, "dialback");
	pair_auth(&ea, "comp.a.test", "b.test", auth, sizeof auth);
	n += (size_t)snprintf(out + n, cap - n, "a.in(comp)=%s;", auth);
	while (take(&eb, line, sizeof line))
		n += (size_t)snprintf(out + n, cap - n, "b<%s;", line);
	xs2s_engine_stop(&ea);
	xs2s_engine_stop(&eb);
	settle();
	fake_tcp_close(k1);
	fake_tcp_close(k2);
	run_timers();
	assert_true(xs2s_engine_idle(&ea));
	assert_true(xs2s_engine_idle(&eb));
	while (take(&ea, line, sizeof line) || take(&eb, line, sizeof line))
		;
	xs2s_engine_fini(&ea);
	xs2s_engine_fini(&eb);
	assert_empty(&ea);
	assert_empty(&eb);
	assert_int_equal(xs2s_core_of(&ea)->comps.links, 0);
	assert_int_equal(xs2s_core_of(&ea)->comps.used, 0);
	fake_close_test_sockets();
	assert_int_equal(fake_open_engine(), 0);
	if (fake_violations(&first))
		fail_msg("port contract: %s", first);
}

/* Components' domains federate like local ones over STARTTLS: the one our
 * certificate names by SASL EXTERNAL, the other by dialback (we are its
 * authoritative server); stanzas both ways; every delivery mode alike. */
static void test_components_federate(void **state)
{
	static char outcome[FAKE_DELIVERY__COUNT][4096];
	unsigned m;

	(void)state;
	for (m = 0; m < FAKE_DELIVERY__COUNT; m++) {
		comp_run((enum fake_delivery)m, outcome[m], sizeof outcome[m]);
		if (m && strcmp(outcome[m], outcome[0]))
			fail_msg("components: %s delivery gave\n  %s\nwhole delivery gave\n  %s",
				 fake_delivery_name((enum fake_delivery)m), outcome[m], outcome[0]);
	}
	if (!strstr(outcome[0], "b<bot@comp.a.test>bob@b.test|chat||from the bot;") ||
	    !strstr(outcome[0], "b<bot@comp2.a.test/x>bob@b.test|normal||from the other;") ||
	    !strstr(outcome[0], "k1<<message type='chat' from='bob@b.test' to='bot@comp.a.test' id='"))
		fail_msg("components: %s", outcome[0]);
	if (getenv("XS2S_SCENARIO_LOG"))
		fprintf(stderr, "components: %s\n", outcome[0]);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sasl_external_both_ways),
		cmocka_unit_test(test_dialback_over_tls),
		cmocka_unit_test(test_dialback_verify_untrusted),
		cmocka_unit_test(test_piggyback_alias_after_sasl),
		cmocka_unit_test(test_secure_auth_refuses_untrusted),
#if CONFIG_XS2S_BIDI
		cmocka_unit_test(test_bidi_sasl_external),
		cmocka_unit_test(test_bidi_dialback_cert),
		cmocka_unit_test(test_bidi_dialback_verify),
		cmocka_unit_test(test_bidi_peer_without),
		cmocka_unit_test(test_bidi_not_asked_untrusted_peer),
#endif
#if CONFIG_XS2S_COMPONENTS
		cmocka_unit_test(test_components_federate),
#endif
	};

	xs2s_log_level = getenv("XS2S_FAKE_LOG") ? XS2S_LOG_DEBUG : XS2S_LOG_ERROR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
