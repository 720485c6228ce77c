/* Unit tests for the error name tables (firmware/lib/errnames.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "xs2s_err.h"

static void test_err_names(void **state)
{
	(void)state;
	assert_string_equal(xs2s_err_name(XS2S_OK), "OK");
	assert_string_equal(xs2s_err_name(7), "OK"); /* a count is success */
	assert_string_equal(xs2s_err_name(XS2S_EAGAIN), "EAGAIN");
	assert_string_equal(xs2s_err_name(XS2S_EWANTWRITE), "EWANTWRITE");
	assert_string_equal(xs2s_err_name(XS2S_ENOMEM), "ENOMEM");
	assert_string_equal(xs2s_err_name(XS2S_ERANGE), "ERANGE");
	assert_string_equal(xs2s_err_name(XS2S_ERANGE - 1), "E?");
	for (int e = XS2S_OK; e >= XS2S_ERANGE; e--)
		assert_true(strlen(xs2s_err_name(e)) > 1);
}

static void test_stream_err_names(void **state)
{
	(void)state;
	assert_string_equal(xs2s_stream_err_name(XS2S_SE_NONE), "none");
	assert_string_equal(xs2s_stream_err_name(XS2S_SE_NOT_WELL_FORMED), "not-well-formed");
	assert_string_equal(xs2s_stream_err_name(XS2S_SE_BAD_NAMESPACE_PREFIX), "bad-namespace-prefix");
	assert_string_equal(xs2s_stream_err_name(XS2S_SE_RESOURCE_CONSTRAINT), "resource-constraint");
	assert_string_equal(xs2s_stream_err_name(XS2S_SE_UNSUPPORTED_VERSION), "unsupported-version");
	assert_string_equal(xs2s_stream_err_name(XS2S_SE__COUNT), "undefined-condition");
	assert_string_equal(xs2s_stream_err_name((enum xs2s_stream_err)-1), "undefined-condition");
	/* Every entry is set, and names are distinct. */
	for (int i = 0; i < XS2S_SE__COUNT; i++)
		for (int j = 0; j < i; j++)
			assert_string_not_equal(xs2s_stream_err_name(i), xs2s_stream_err_name(j));
}

static void test_stanza_errs(void **state)
{
	static const char *const types[] = { "auth", "cancel", "continue", "modify", "wait" };
	(void)state;

	assert_string_equal(xs2s_stanza_err_name(XS2S_STE_REMOTE_SERVER_NOT_FOUND), "remote-server-not-found");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_REMOTE_SERVER_NOT_FOUND), "cancel");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_REMOTE_SERVER_TIMEOUT), "wait");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_RESOURCE_CONSTRAINT), "wait");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_SERVICE_UNAVAILABLE), "cancel");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_BAD_REQUEST), "modify");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_JID_MALFORMED), "modify");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_POLICY_VIOLATION), "modify");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_RECIPIENT_UNAVAILABLE), "wait");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE_INTERNAL_SERVER_ERROR), "cancel");
	assert_string_equal(xs2s_stanza_err_name(XS2S_STE_UNDEFINED_CONDITION), "undefined-condition");
	assert_string_equal(xs2s_stanza_err_name(XS2S_STE__COUNT), "undefined-condition");
	assert_string_equal(xs2s_stanza_err_type(XS2S_STE__COUNT), "cancel");
	for (int i = 0; i < XS2S_STE__COUNT; i++) {
		int known = 0;
		for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
			known |= !strcmp(xs2s_stanza_err_type(i), types[t]);
		assert_true(known);
		for (int j = 0; j < i; j++)
			assert_string_not_equal(xs2s_stanza_err_name(i), xs2s_stanza_err_name(j));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_err_names),
		cmocka_unit_test(test_stream_err_names),
		cmocka_unit_test(test_stanza_errs),
	};

	return cmocka_run_group_tests_name("errnames", tests, NULL, NULL);
}
