/* Buffers on loan (link/bufs.h): an idle link holds none, a stanza being
 * received keeps its buffers however many reads it takes, and a link that
 * finds a pool empty stops reading until a buffer comes back, then goes on
 * where it stopped: nothing fails, is dropped or corrupted. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

/* RFC 6120 4.7: a peer's header cut after its namespaces, and the rest. */
#define HDR_HEAD "<?xml version='1.0'?><stream:stream " NS_STREAMS_ATTRS
#define HDR_TAIL " from='b.test' to='a.test' version='1.0'>"

/* Authenticated both ways and idle: no link holds a buffer, and what each
 * holds (its state, no TLS here) is in the status. A stanza borrows and
 * gives back. */
static const struct sc_step bufs_idle_link_holds_none[] = {
	INCLUDE(SC_IN_AUTH_B),
	BUFS(0),
	STATUS_HAS("BYTES_OUT     RAM"),
	JSON_HAS("\"ram_bytes\":"),
	JSON_HAS("\"stanza_bufs\":{\"used\":0,"),
	SEND(PI, "<message from='x@b.test/r' to='u@a.test' type='chat' id='m1'><body>hi</body></message>"),
	INBOX("x@b.test/r", "u@a.test", "chat", "", "hi"),
	BUFS(0),
	JSON_HAS("\"stanza_bufs\":{\"used\":0,\"high\":1,"),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(bufs_idle_link_holds_none, 0)

/* A 9000-byte stanza arrives in many reads (one byte per read in the
 * byte-by-byte run): the link keeps its four buffers while the stanza is
 * incomplete, delivers it whole, then holds none. */
static const struct sc_step bufs_large_stanza[] = {
	INCLUDE(SC_IN_AUTH_B),
	SEND(PI, "<message from='x@b.test' to='u@a.test'><body>"),
	SEND_LONG(PI, "", "y", 4000, ""),
	BUFS(4),
	INBOX_EMPTY(),
	SEND_LONG(PI, "", "y", 5000, "</body></message>"),
	INBOX_LONG("x@b.test", "u@a.test", "normal", "", "y", 9000),
	BUFS(0),
	EXPECT_NOTHING(PI),
	END(),
};
SC_TEST(bufs_large_stanza, 0)

#if CONFIG_XS2S_RX_BUFS == 4 && CONFIG_XS2S_TX_BUFS == 4 && CONFIG_XS2S_OUT_BUFS == 4 && \
	CONFIG_XS2S_STANZA_BUFS == 4 && CONFIG_XS2S_MAX_LINKS >= 5
/* Four peers stop half-way through their headers: they hold every buffer.
 * A fifth peer's whole header is not read (backpressure, not an error);
 * when the first peer's header completes and its answer is out, its
 * buffers come back and the fifth peer is answered. */
static const struct sc_step bufs_exhausted_backpressure[] = {
	CONNECT(5),
	SEND(5, HDR_HEAD),
	CONNECT(6),
	SEND(6, HDR_HEAD),
	CONNECT(7),
	SEND(7, HDR_HEAD),
	CONNECT(8),
	SEND(8, HDR_HEAD),
	BUFS(16),
	JSON_HAS("\"stanza_bufs\":{\"used\":4,\"high\":4,\"size\":4,\"fails\":0}"),
	CONNECT(9),
	SEND(9, HDR("b.test", "a.test")),
	EXPECT_NOTHING(9),
	BUFS(16),
	SEND(5, HDR_TAIL),
	EXPECT(5, HDR_ID("a.test", "b.test", "${id5}") FEATURES_IN),
	EXPECT(9, HDR_ID("a.test", "b.test", "${id9}") FEATURES_IN),
	BUFS(12),
	SEND(6, HDR_TAIL),
	EXPECT(6, HDR_ID("a.test", "b.test", "${id6}") FEATURES_IN),
	SEND(7, HDR_TAIL),
	EXPECT(7, HDR_ID("a.test", "b.test", "${id7}") FEATURES_IN),
	SEND(8, HDR_TAIL),
	EXPECT(8, HDR_ID("a.test", "b.test", "${id8}") FEATURES_IN),
	BUFS(0),
	EXPECT_NOTHING(5),
	EXPECT_NOTHING(9),
	END(),
};
SC_TEST(bufs_exhausted_backpressure, 0)

#if CONFIG_XS2S_COMPONENTS
/* The same four half-read headers; the application sends to b.test: the
 * engine connects and sends its header (out and tx are left: the pools hold
 * MAX_COMPONENTS more of them), but b.test's answer is not read (no rx or
 * stanza buffer) until one comes back; then the stream goes on and the
 * message is delivered. */
static const struct sc_step bufs_exhausted_outbound_waits[] = {
	CONNECT(5),
	SEND(5, HDR_HEAD),
	CONNECT(6),
	SEND(6, HDR_HEAD),
	CONNECT(7),
	SEND(7, HDR_HEAD),
	CONNECT(8),
	SEND(8, HDR_HEAD),
	BUFS(16),
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	EXPECT_NOTHING(PA),
	BUFS(16),
	SEND(5, HDR_TAIL),
	EXPECT(5, HDR_ID("a.test", "b.test", "${id5}") FEATURES_IN),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PA, APP_MSG("u@a.test", "x@b.test", "id1", "one")),
	SEND(6, HDR_TAIL),
	EXPECT(6, HDR_ID("a.test", "b.test", "${id6}") FEATURES_IN),
	SEND(7, HDR_TAIL),
	EXPECT(7, HDR_ID("a.test", "b.test", "${id7}") FEATURES_IN),
	SEND(8, HDR_TAIL),
	EXPECT(8, HDR_ID("a.test", "b.test", "${id8}") FEATURES_IN),
	BUFS(0),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(bufs_exhausted_outbound_waits, 0)
#endif
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bufs_idle_link_holds_none),
		cmocka_unit_test(test_bufs_large_stanza),
#if CONFIG_XS2S_RX_BUFS == 4 && CONFIG_XS2S_TX_BUFS == 4 && CONFIG_XS2S_OUT_BUFS == 4 && \
	CONFIG_XS2S_STANZA_BUFS == 4 && CONFIG_XS2S_MAX_LINKS >= 5
		cmocka_unit_test(test_bufs_exhausted_backpressure),
#if CONFIG_XS2S_COMPONENTS
		cmocka_unit_test(test_bufs_exhausted_outbound_waits),
#endif
#endif
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
