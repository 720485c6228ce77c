/* Unit tests for the JID helpers (firmware/lib/jid.c): RFC 7622 address
 * checks part by part (empty and over-long parts, the characters each part
 * may not hold, UTF-8), where the domainpart is, and the domain rules. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "xs2s_err.h"
#include "lib/jid.h"

static char big[4 * XS2S_JID_PART_MAX];

/* prefix + c x n + suffix in big. */
static const char *rep(const char *prefix, char c, size_t n, const char *suffix)
{
	size_t p = strlen(prefix);

	assert_true(p + n + strlen(suffix) < sizeof big);
	memcpy(big, prefix, p);
	memset(big + p, c, n);
	strcpy(big + p + n, suffix);
	return big;
}

static void check(const char *jid, enum xs2s_jid_fault want)
{
	enum xs2s_jid_fault got = xs2s_jid_check(jid, NULL, NULL);

	if (got != want)
		fail_msg("'%.60s': %s, expected %s", jid ? jid : "(null)", xs2s_jid_fault_name(got),
			 xs2s_jid_fault_name(want));
	assert_int_equal(xs2s_jid_valid(jid), want == XS2S_JID_OK);
}

static void test_valid(void **state)
{
	(void)state;
	check("a.test", XS2S_JID_OK);
	check("u@a.test", XS2S_JID_OK);
	check("u@a.test/r", XS2S_JID_OK);
	check("a.test/r", XS2S_JID_OK);
	/* The first '/' starts the resourcepart, which may hold '@' and '/' (RFC 7622 3.1). */
	check("u@a.test/r@x/y", XS2S_JID_OK);
	check("a.test/u@b.test", XS2S_JID_OK);
	/* A resourcepart may hold spaces and symbols (OpaqueString). */
	check("u@a.test/my phone 'x' & <y>", XS2S_JID_OK);
	/* UTF-8 in every part. */
	check("j\xc3\xbcrgen@m\xc3\xbcnchen.test/\xe2\x9c\x93", XS2S_JID_OK);
	/* The limits themselves. */
	check(rep("", 'l', XS2S_JID_PART_MAX, "@a.test"), XS2S_JID_OK);
	check(rep("u@a.test/", 'r', XS2S_JID_PART_MAX, ""), XS2S_JID_OK);
	check(rep("u@", 'd', XS2S_LABEL_MAX, ".test"), XS2S_JID_OK);
}

/* RFC 6120 4.9.3.14: an address with no value. */
static void test_empty(void **state)
{
	(void)state;
	check(NULL, XS2S_JID_EMPTY);
	check("", XS2S_JID_EMPTY);
}

/* RFC 7622 3.3: a localpart is 1..1023 bytes without " & ' / : < > @,
 * spaces or controls. */
static void test_localpart(void **state)
{
	static const char *const bad[] = {
		"@a.test", "@a.test/r", "a b@a.test", "a\"b@a.test", "a&b@a.test", "a'b@a.test", "a:b@a.test",
		"a<b@a.test", "a>b@a.test", "a\x01@a.test", "a\x7f@a.test", "a\xc2\x85@a.test" /* NEL, C1 */,
		"a\xc2\xa0" "b@a.test" /* no-break space */, "a\xe3\x80\x80" "b@a.test" /* ideographic space */,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check(bad[i], XS2S_JID_LOCAL);
	check(rep("", 'l', XS2S_JID_PART_MAX + 1, "@a.test"), XS2S_JID_LOCAL);
	/* Two '@' before the '/': the second is in the domainpart. */
	check("a@b@a.test", XS2S_JID_DOMAIN);
}

/* RFC 7622 3.2: the domainpart. */
static void test_domainpart(void **state)
{
	static const char *const bad[] = {
		"u@", "u@/r", "/r", "u@.a.test", "u@a.test.", "u@a..test", "u@a test", "u@a:5269", "u@[::1]",
		"u@a'b.test", "u@a<b.test", "u@a&b.test", "u@a\x01.test", "u@a\xc3.test" /* cut UTF-8 */,
		"u@a\xc0\xae.test" /* overlong */, "u@a\xed\xa0\x80.test" /* surrogate */,
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
		check(bad[i], XS2S_JID_DOMAIN);
	check(rep("u@", 'd', XS2S_LABEL_MAX + 1, ".test"), XS2S_JID_DOMAIN);
	check(rep("u@", 'd', XS2S_DOMAIN_MAX + 1, ""), XS2S_JID_DOMAIN);
	/* Every label may be up to 63 bytes, the whole up to XS2S_DOMAIN_MAX. */
	{
		char d[XS2S_DOMAIN_MAX + 2];

		memset(d, 'x', XS2S_DOMAIN_MAX);
		for (i = 60; i < XS2S_DOMAIN_MAX; i += 61)
			d[i] = '.';
		d[XS2S_DOMAIN_MAX] = '\0';
		assert_true(xs2s_domain_valid(d));
		d[XS2S_DOMAIN_MAX] = 'x';
		d[XS2S_DOMAIN_MAX + 1] = '\0';
		assert_false(xs2s_domain_valid(d));
	}
}

/* RFC 7622 3.4: a resourcepart is 1..1023 bytes without controls. */
static void test_resourcepart(void **state)
{
	(void)state;
	check("a.test/", XS2S_JID_RESOURCE);
	check("u@a.test/", XS2S_JID_RESOURCE);
	check("u@a.test/r\x0a", XS2S_JID_RESOURCE);
	check("u@a.test/r\x7f", XS2S_JID_RESOURCE);
	check("u@a.test/r\xc2\x9f", XS2S_JID_RESOURCE);
	check(rep("u@a.test/", 'r', XS2S_JID_PART_MAX + 1, ""), XS2S_JID_RESOURCE);
}

/* RFC 7622 3.1: UTF-8 only. */
static void test_encoding(void **state)
{
	(void)state;
	check("\xff@a.test", XS2S_JID_ENCODING);
	check("a\xe2\x82@a.test", XS2S_JID_ENCODING);
	check("u@a.test/\xf5\x80\x80\x80", XS2S_JID_ENCODING);
	check("u@a.test/\xc1\xbf", XS2S_JID_ENCODING);
}

/* The domainpart's extent, also when the localpart or resourcepart is at
 * fault (an error can come from the domain). */
static void test_domain_extent(void **state)
{
	const char *d;
	size_t n;

	(void)state;
	assert_int_equal(xs2s_jid_check("u@a.test/r", &d, &n), XS2S_JID_OK);
	assert_int_equal(n, 6);
	assert_memory_equal(d, "a.test", 6);
	assert_int_equal(xs2s_jid_check("a.test/", &d, &n), XS2S_JID_RESOURCE);
	assert_int_equal(n, 6);
	assert_memory_equal(d, "a.test", 6);
	assert_int_equal(xs2s_jid_check("a b@c.test", &d, &n), XS2S_JID_LOCAL);
	assert_int_equal(n, 6);
	assert_memory_equal(d, "c.test", 6);
	assert_int_equal(xs2s_jid_check("u@a..b", &d, &n), XS2S_JID_DOMAIN);
	assert_null(d);
	assert_int_equal(n, 0);
}

static void test_jid_domain(void **state)
{
	char out[XS2S_DOMAIN_MAX + 1];

	(void)state;
	assert_int_equal(xs2s_jid_domain("u@a.test/r", out, sizeof out), XS2S_OK);
	assert_string_equal(out, "a.test");
	assert_int_equal(xs2s_jid_domain("@a.test", out, sizeof out), XS2S_EINVAL);
	assert_int_equal(xs2s_jid_domain("u@a.test", out, 4), XS2S_EINVAL);
	assert_true(xs2s_domain_eq("A.Test", "a.tEST"));
	assert_false(xs2s_domain_eq("a.test", "a.test."));
	assert_string_equal(xs2s_jid_fault_name(XS2S_JID_RESOURCE), "resourcepart");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),          cmocka_unit_test(test_empty),
		cmocka_unit_test(test_localpart),      cmocka_unit_test(test_domainpart),
		cmocka_unit_test(test_resourcepart),   cmocka_unit_test(test_encoding),
		cmocka_unit_test(test_domain_extent),  cmocka_unit_test(test_jid_domain),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
