/* Authentication policy (firmware/auth/auth.c) and base64 for SASL
 * (firmware/auth/sasl.c): which methods are on, secure-auth exceptions,
 * what an inbound stream is offered, what the peer's features offer. The
 * policy reads the engine's struct xs2s_env, filled here as engine.c fills
 * it. Leak gate: the XML arena is empty after every test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "auth/auth.h"
#include "link/tls.h"
#include "xml/xml.h"

static struct xs2s_env env;
static struct xs2s_tls tls;   /* only its ready flag is read here */
static struct xs2s_xml xml;
static struct xs2s_link link; /* only its stream facts are read here */

/* The exception list as engine.c writes it: one space around every domain. */
static void set_policy(bool secure, const char *exceptions)
{
	env.secure_auth = secure;
	snprintf(env.exceptions, sizeof env.exceptions, " %s ", exceptions ? exceptions : "");
}

static int setup(void **state)
{
	(void)state;
	memset(&env, 0, sizeof env);
	memset(&link, 0, sizeof link);
	tls.ready = false;
	env.tls = &tls;
	env.xml = &xml;
	xs2s_xml_init(&xml);
	set_policy(false, NULL);
	return 0;
}

static int leak_gate(void **state)
{
	(void)state;
	if (xml.arena.used || xml.arena.blocks) {
		print_error("xml arena leak: used %zu, blocks %u\n", xml.arena.used, (unsigned)xml.arena.blocks);
		return -1;
	}
	return 0;
}

#if CONFIG_XS2S_AUTH_SASL_EXTERNAL
static void test_base64_roundtrip(void **state)
{
	char enc[64];
	uint8_t dec[64];
	static const char *const cases[][2] = {
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" }, { "a.test", "YS50ZXN0" },
	};
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int n = xs2s_base64_encode(cases[i][0], strlen(cases[i][0]), enc, sizeof enc);
		assert_int_equal(n, (int)strlen(cases[i][1]));
		assert_string_equal(enc, cases[i][1]);
		n = xs2s_base64_decode(cases[i][1], dec, sizeof dec);
		assert_int_equal(n, (int)strlen(cases[i][0]));
		assert_memory_equal(dec, cases[i][0], (size_t)n);
	}
	assert_int_equal(xs2s_base64_decode(" YS50\nZXN0 ", dec, sizeof dec), 6); /* XML whitespace */
}

static void test_base64_rejects(void **state)
{
	uint8_t dec[4];
	char enc[4];

	(void)state;
	assert_int_equal(xs2s_base64_decode("YS5", dec, sizeof dec), XS2S_EINVAL);   /* not a multiple of 4 */
	assert_int_equal(xs2s_base64_decode("YS=0", dec, sizeof dec), XS2S_EINVAL);  /* data after padding */
	assert_int_equal(xs2s_base64_decode("Y!50", dec, sizeof dec), XS2S_EINVAL);  /* alphabet */
	assert_int_equal(xs2s_base64_decode("YS50ZXN0", dec, sizeof dec), XS2S_ERANGE);
	assert_int_equal(xs2s_base64_encode("abcd", 4, enc, sizeof enc), XS2S_ERANGE);
}

static void test_base64_bounds(void **state)
{
	uint8_t dec[6];
	char enc[9];

	(void)state;
	/* Exactly fitting output, then one byte short. */
	assert_int_equal(xs2s_base64_encode("a.test", 6, enc, sizeof enc), 8);
	assert_string_equal(enc, "YS50ZXN0");
	assert_int_equal(xs2s_base64_encode("a.test", 6, enc, sizeof enc - 1), XS2S_ERANGE);
	assert_int_equal(xs2s_base64_decode("YS50ZXN0", dec, sizeof dec), 6);
	assert_memory_equal(dec, "a.test", 6);
	assert_int_equal(xs2s_base64_decode("YS50ZXN0", dec, sizeof dec - 1), XS2S_ERANGE);
	/* Three pad characters are never valid. */
	assert_int_equal(xs2s_base64_decode("Y===", dec, sizeof dec), XS2S_EINVAL);
	/* "=" alone: the SASL empty response is not base64 (sasl.c handles it). */
	assert_int_equal(xs2s_base64_decode("=", dec, sizeof dec), XS2S_EINVAL);
}
#else
static void test_base64_roundtrip(void **state)
{
	(void)state;
	skip(); /* SASL EXTERNAL (and its base64) is not built in */
}
#define test_base64_rejects test_base64_roundtrip
#define test_base64_bounds test_base64_roundtrip
#endif

static void test_secure_auth_exceptions(void **state)
{
	(void)state;
	set_policy(false, NULL);
	assert_false(xs2s_auth_secure_for(&env, "b.test"));
	set_policy(true, "legacy.test  old.example");
	assert_true(xs2s_auth_secure_for(&env, "b.test"));
	assert_false(xs2s_auth_secure_for(&env, "legacy.test"));
	assert_false(xs2s_auth_secure_for(&env, "old.example"));
	assert_true(xs2s_auth_secure_for(&env, "test"));          /* a substring is not an exception */
	assert_true(xs2s_auth_secure_for(&env, "y.legacy.test"));
	/* Neither is a prefix or a suffix of a listed domain. */
	assert_true(xs2s_auth_secure_for(&env, "legacy"));
	assert_true(xs2s_auth_secure_for(&env, "old.example.net"));
	/* Exceptions only matter with secure auth on. */
	set_policy(false, "legacy.test");
	assert_false(xs2s_auth_secure_for(&env, "b.test"));
	assert_false(xs2s_auth_secure_for(&env, "legacy.test"));
	/* An empty list exempts nobody; a domain found later in the list counts. */
	set_policy(true, "");
	assert_true(xs2s_auth_secure_for(&env, "b.test"));
	set_policy(true, "xlegacy.test legacy.test");
	assert_false(xs2s_auth_secure_for(&env, "legacy.test"));
	assert_true(xs2s_auth_secure_for(&env, "egacy.test"));
}

static void test_methods_enabled(void **state)
{
	(void)state;
	env.sasl = env.dialback = true;
	tls.ready = true;
	assert_int_equal(xs2s_auth_sasl_enabled(&env), CONFIG_XS2S_AUTH_SASL_EXTERNAL ? true : false);
	assert_int_equal(xs2s_auth_dialback_enabled(&env), CONFIG_XS2S_AUTH_DIALBACK ? true : false);
	/* SASL EXTERNAL needs a certificate of our own. */
	tls.ready = false;
	assert_false(xs2s_auth_sasl_enabled(&env));
	assert_int_equal(xs2s_auth_dialback_enabled(&env), CONFIG_XS2S_AUTH_DIALBACK ? true : false);
	/* Off in the configuration: off. */
	tls.ready = true;
	env.sasl = env.dialback = false;
	assert_false(xs2s_auth_sasl_enabled(&env));
	assert_false(xs2s_auth_dialback_enabled(&env));
}

static void test_offers(void **state)
{
	struct xs2s_auth_state a = { 0 };

	(void)state;
	/* No TLS session on the link: SASL EXTERNAL is never offered. */
	env.sasl = env.dialback = true;
	tls.ready = true;
	link.cert = XS2S_CERT_VALID;
	snprintf(link.peer_domain, sizeof link.peer_domain, "b.test");
	assert_string_equal(xs2s_auth_offers(&env, &link, &a), CONFIG_XS2S_AUTH_DIALBACK ? XS2S_DB_FEATURE : "");
	env.dialback = false;
	assert_string_equal(xs2s_auth_offers(&env, &link, &a), "");
}

/* Parse features (with the stream namespaces of a usual header) and note them. */
static void note(struct xs2s_auth_state *a, const char *features)
{
	static const struct xs2s_ns_ctx ns = {
		.default_ns = XS2S_NS_SERVER,
		.n = 2,
		.decl = { { "stream", XS2S_NS_STREAMS }, { "db", XS2S_NS_DIALBACK } },
	};
	struct xs2s_el el;

	assert_int_equal(xs2s_xml_parse(&xml, features, strlen(features), &ns, &el), XS2S_OK);
	xs2s_auth_note_features(a, &link, &el);
	xs2s_xml_free(&xml, &el);
}

static void test_note_features(void **state)
{
	struct xs2s_auth_state a;
	struct xs2s_el none = { NULL, NULL };

	(void)state;
	/* The dialback feature with errors. */
	memset(&a, 0, sizeof a);
	note(&a, "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>");
	assert_true(a.peer_dialback);
	assert_true(a.peer_db_errors);
	/* Without errors. */
	memset(&a, 0, sizeof a);
	note(&a, "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>");
	assert_true(a.peer_dialback);
	assert_false(a.peer_db_errors);
	/* <errors/> in another namespace does not count. */
	memset(&a, 0, sizeof a);
	note(&a, "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors xmlns='urn:x'/></dialback>"
		 "</stream:features>");
	assert_true(a.peer_dialback);
	assert_false(a.peer_db_errors);
	/* Neither the feature nor xmlns:db on the header: no dialback. */
	memset(&a, 0, sizeof a);
	note(&a, "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>");
	assert_false(a.peer_dialback);
	assert_false(a.peer_db_errors);
	/* xmlns:db on the header is enough (older servers)... */
	link.st.hdr_dialback = true;
	note(&a, "<stream:features/>");
	assert_true(a.peer_dialback);
	/* ...and once known it is kept across restarts. */
	link.st.hdr_dialback = false;
	note(&a, "<stream:features/>");
	assert_true(a.peer_dialback);
	/* A pre-1.0 peer sends no features: dialback is all it knows. */
	memset(&a, 0, sizeof a);
	xs2s_auth_note_features(&a, &link, NULL);
	assert_true(a.peer_dialback);
	assert_false(a.peer_db_errors);
	memset(&a, 0, sizeof a);
	xs2s_auth_note_features(&a, &link, &none);
	assert_true(a.peer_dialback);
}

#if CONFIG_XS2S_AUTH_SASL_EXTERNAL && CONFIG_XS2S_COMPONENTS
/* Initiating SASL EXTERNAL for a stream's local domain: a component's
 * domain (XEP-0114) only when our certificate names it, else dialback
 * (the peer would refuse EXTERNAL); a local domain as before. */
static void test_sasl_start_component_domain(void **state)
{
	static const struct xs2s_ns_ctx ns = {
		.default_ns = XS2S_NS_SERVER, .n = 1, .decl = { { "stream", XS2S_NS_STREAMS } },
	};
	static const char features[] = "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'>"
				       "<mechanism>EXTERNAL</mechanism></mechanisms></stream:features>";
	static struct xs2s_hosted hosted = { .n = 1, .name = { "comp.a.test" }, .cert = { false } };
	static uint8_t out[1024];
	const char *domains[] = { "comp.a.test", "comp.a.test", "a.test" };
	const bool cert[] = { false, true, false };
	unsigned i;

	(void)state;
	env.sasl = true;
	tls.ready = true;
	env.hosted = &hosted;
	for (i = 0; i < 3; i++) {
		struct xs2s_auth_state a = { 0 };
		struct xs2s_el el;
		bool sent;

		memset(&link, 0, sizeof link);
		link.state = XS2S_LS_FEATURES;
		link.tls.ssl = &link; /* a session, as far as xs2s_link_tls_up() can tell */
		xs2s_bq_init(&link.out, out, sizeof out);
		snprintf(link.local_domain, sizeof link.local_domain, "%s", domains[i]);
		snprintf(link.peer_domain, sizeof link.peer_domain, "b.test");
		hosted.cert[0] = cert[i];
		assert_int_equal(xs2s_xml_parse(&xml, features, strlen(features), &ns, &el), XS2S_OK);
		sent = xs2s_sasl_start(&env, &link, &a, &el);
		xs2s_xml_free(&xml, &el);
		assert_int_equal(sent, i != 0);
		assert_int_equal(xs2s_bq_len(&link.out) > 0, i != 0);
		assert_int_equal(a.sasl, i ? XS2S_SASL_SENT : XS2S_SASL_NONE);
	}
	memset(&link, 0, sizeof link);
	env.hosted = NULL;
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_base64_roundtrip, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_base64_rejects, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_base64_bounds, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_secure_auth_exceptions, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_methods_enabled, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_offers, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_note_features, setup, leak_gate),
#if CONFIG_XS2S_AUTH_SASL_EXTERNAL && CONFIG_XS2S_COMPONENTS
		cmocka_unit_test_setup_teardown(test_sasl_start_component_domain, setup, leak_gate),
#endif
	};
	return cmocka_run_group_tests_name("auth", tests, NULL, NULL);
}
