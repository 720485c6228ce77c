/* Authentication policy helpers: base64 for SASL, secure-auth exceptions. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include "auth.h"

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

static void test_secure_auth_exceptions(void **state)
{
	struct xs2s_config cfg;

	(void)state;
	xs2s_config_defaults(&cfg);
	cfg.secure_auth = false;
	xs2s_auth_configure(&cfg);
	assert_false(xs2s_auth_secure_for("b.test"));
	cfg.secure_auth = true;
	cfg.secure_auth_exceptions = "legacy.test  old.example";
	xs2s_auth_configure(&cfg);
	assert_true(xs2s_auth_secure_for("b.test"));
	assert_false(xs2s_auth_secure_for("legacy.test"));
	assert_false(xs2s_auth_secure_for("old.example"));
	assert_true(xs2s_auth_secure_for("test"));          /* a substring is not an exception */
	assert_true(xs2s_auth_secure_for("y.legacy.test"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64_roundtrip),
		cmocka_unit_test(test_base64_rejects),
		cmocka_unit_test(test_secure_auth_exceptions),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
