/* Outbound streams: connection, headers, features, dialback in the
 * originating role, piggybacking, setup failures and their bounces. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

/* RFC 6120 4.7, XEP-0220 2.1: headers, features, db:result with the XEP-0185
 * key; type='valid' releases the queued stanzas in order. */
static const struct sc_step out_dialback_valid[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	APP_SEND("u@a.test", "x@b.test", "two", XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "id1", "one") APP_MSG("u@a.test", "x@b.test", "id2", "two")),
	LOG_HAS("INSECURE: b.test offers no STARTTLS"),
	APP_SEND("u@a.test", "x@b.test/res", "three", XS2S_OK),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test/res", "id3", "three")),
	STATUS_HAS("out a.test           b.test           open     plain"),
	EXPECT_NOTHING(PA),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(out_dialback_valid, 0)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_out_dialback_valid),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
