/* XEP-0185 dialback keys: the XEP's own test vector, and key properties. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/hash.h>
#include "xs2s_int.h"

static void set_secret(const char *s)
{
	wc_Sha256Hash((const byte *)s, (word32)strlen(s), xs2s_g.db_secret_hash);
}

/* XEP-0185 section 3: receiving xmpp.example.com, originating example.org. */
static void test_xep0185_vector(void **state)
{
	char key[65];

	(void)state;
	set_secret("s3cr3tf0rd14lb4ck");
	xs2s_db_key("xmpp.example.com", "example.org", "D60000229F", key);
	assert_string_equal(key, "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643");
}

static void test_key_depends_on_every_input(void **state)
{
	char k0[65], k1[65], k2[65], k3[65], k4[65];

	(void)state;
	set_secret("one secret");
	xs2s_db_key("b.test", "a.test", "id1", k0);
	xs2s_db_key("b.test", "a.test", "id2", k1);
	xs2s_db_key("a.test", "b.test", "id1", k2);
	/* The space separator keeps "ab c" and "a bc" apart. */
	xs2s_db_key("ab", "c", "id1", k3);
	xs2s_db_key("a", "bc", "id1", k4);
	assert_string_not_equal(k0, k1);
	assert_string_not_equal(k0, k2);
	assert_string_not_equal(k3, k4);
	set_secret("another secret");
	xs2s_db_key("b.test", "a.test", "id1", k1);
	assert_string_not_equal(k0, k1);
	assert_int_equal(strlen(k0), 64);
	assert_true(strspn(k0, "0123456789abcdef") == 64);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_xep0185_vector),
		cmocka_unit_test(test_key_depends_on_every_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
