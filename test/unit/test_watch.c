/* Unit tests for xs2sd's stanza watch (port/posix/watch.c): the JSON line of
 * a stanza, and the bounded buffer of a slow watcher: lines are queued
 * whole or dropped and counted, never cut; {"skipped":N} reports the drops
 * before the next line that fits, or as soon as the buffer is empty;
 * nothing is written beyond the buffer. No socket: the test plays the
 * watcher's writes with xs2s_watch_pending / xs2s_watch_written.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "watch.h"

#define GUARD 'G'
#define GUARD_LEN 16

static char area[4096 + GUARD_LEN];

static char *guarded(size_t cap)
{
	assert_true(cap + GUARD_LEN <= sizeof area);
	memset(area, GUARD, sizeof area);
	return area;
}

static void assert_guard(size_t cap)
{
	for (size_t i = cap; i < cap + GUARD_LEN; i++)
		if (area[i] != GUARD)
			fail_msg("byte %zu beyond a %zu-byte buffer written", i, cap);
}

/* A message stanza whose xml is `xml` (the view is not used by the watch). */
static struct xs2s_stanza_in stanza(const char *from, const char *id, const char *xml)
{
	struct xs2s_stanza_in st;

	memset(&st, 0, sizeof st);
	st.kind = XS2S_MESSAGE;
	st.from = from;
	st.to = "x@a.test";
	st.type = "chat";
	st.id = id;
	st.xml = xml;
	st.len = strlen(xml);
	return st;
}

/* Everything pending, as a string; then acknowledged. */
static char drained[8192];

static const char *drain(struct xs2s_watch_out *o)
{
	size_t n;
	const char *p = xs2s_watch_pending(o, &n);

	assert_true(n < sizeof drained);
	memcpy(drained, p, n);
	drained[n] = '\0';
	xs2s_watch_written(o, n);
	return drained;
}

static void test_line(void **state)
{
	struct xs2s_watch_out o;
	char *buf = guarded(512);
	struct xs2s_stanza_in st = stanza("u@b.test/r\"1", "m1", "<message a='\"'>\n\t<body>a\\b\x01</body></message>");
	(void)state;

	xs2s_watch_init(&o, buf, 512);
	assert_true(xs2s_watch_put(&o, &st));
	assert_string_equal(drain(&o),
			    "{\"from\":\"u@b.test/r\\\"1\",\"to\":\"x@a.test\",\"kind\":\"message\",\"type\":\"chat\","
			    "\"id\":\"m1\",\"xml\":\"<message a='\\\"'>\\n\\t<body>a\\\\b\\u0001</body></message>\"}\n");
	st.kind = XS2S_IQ;
	st.type = "";
	st.id = "";
	st.xml = "<iq/>";
	st.len = 3; /* only the first bytes count: xml need not end in a NUL */
	assert_true(xs2s_watch_put(&o, &st));
	assert_string_equal(drain(&o), "{\"from\":\"u@b.test/r\\\"1\",\"to\":\"x@a.test\",\"kind\":\"iq\",\"type\":\"\","
				       "\"id\":\"\",\"xml\":\"<iq\"}\n");
	assert_int_equal(o.lines, 2);
	assert_int_equal(o.dropped, 0);
	assert_guard(512);
}

/* A watcher that never reads: lines fill the buffer, the rest is dropped
 * and counted; what waits is whole lines only. */
static void test_slow_watcher_drops_whole_lines(void **state)
{
	struct xs2s_watch_out o;
	char *buf = guarded(1000);
	struct xs2s_stanza_in st = stanza("u@b.test", "p", "<message><body>0123456789012345678901234567890</body></message>");
	unsigned put = 0, i;
	size_t n, line;
	const char *p;
	(void)state;

	xs2s_watch_init(&o, buf, 1000);
	assert_true(xs2s_watch_put(&o, &st));
	xs2s_watch_pending(&o, &line);
	for (i = 0; i < 50; i++) {
		put += xs2s_watch_put(&o, &st);
		assert_true(o.len < o.cap);
	}
	put++;
	assert_int_equal(put, (1000 - 1) / line); /* the buffer keeps one byte for a NUL */
	assert_int_equal(o.dropped, 51 - put);
	assert_int_equal(o.skipped, 51 - put);
	p = xs2s_watch_pending(&o, &n);
	assert_int_equal(n, put * line);
	for (i = 0; i < put; i++)
		assert_int_equal(p[(i + 1) * line - 1], '\n');
	assert_guard(1000);
}

/* The drops are reported once the watcher has caught up, before anything
 * else, and the count restarts. */
static void test_skipped_when_caught_up(void **state)
{
	struct xs2s_watch_out o;
	char *buf = guarded(300);
	struct xs2s_stanza_in st = stanza("u@b.test", "p", "<presence/>");
	unsigned i, put = 0;
	const char *out;
	(void)state;

	xs2s_watch_init(&o, buf, 300);
	for (i = 0; i < 10; i++)
		put += xs2s_watch_put(&o, &st);
	assert_true(put >= 1 && put < 10);
	out = drain(&o); /* the lines that fitted; then the report is queued */
	assert_null(strstr(out, "skipped"));
	assert_int_equal(o.skipped, 0);
	assert_int_equal(o.dropped, 10 - put);
	out = drain(&o);
	{
		char want[40];

		snprintf(want, sizeof want, "{\"skipped\":%u}\n", 10 - put);
		assert_string_equal(out, want);
	}
	assert_true(xs2s_watch_put(&o, &st));
	assert_null(strstr(drain(&o), "skipped"));
	assert_guard(300);
}

/* Drops while the watcher reads part of the buffer: the report goes
 * before the next line that fits, and the partly written line stays whole. */
static void test_skipped_before_next_line(void **state)
{
	struct xs2s_watch_out o;
	char *buf = guarded(400);
	struct xs2s_stanza_in st = stanza("u@b.test", "p", "<presence/>");
	size_t n, line;
	const char *p;
	char first[200];
	(void)state;

	xs2s_watch_init(&o, buf, 400);
	assert_true(xs2s_watch_put(&o, &st));
	xs2s_watch_pending(&o, &line);
	while (xs2s_watch_put(&o, &st))
		;
	assert_false(xs2s_watch_put(&o, &st));
	assert_int_equal(o.skipped, 2);
	/* The watcher reads a line and a half. */
	p = xs2s_watch_pending(&o, &n);
	memcpy(first, p + line, line);
	xs2s_watch_written(&o, line + line / 2);
	/* Now a report and a line fit (after the move of what waits). */
	assert_true(xs2s_watch_put(&o, &st));
	p = xs2s_watch_pending(&o, &n);
	assert_memory_equal(p, first + line / 2, line - line / 2); /* the rest of the cut line, intact */
	assert_true(strstr(p, "{\"skipped\":2}\n{\"from\"") != NULL);
	assert_int_equal(o.skipped, 0);
	assert_int_equal(o.dropped, 2);
	assert_guard(400);
}

/* A line larger than the whole buffer is dropped every time, never cut. */
static void test_line_larger_than_buffer(void **state)
{
	struct xs2s_watch_out o;
	char *buf = guarded(128), big[300];
	struct xs2s_stanza_in st;
	size_t n;
	(void)state;

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = '\0';
	st = stanza("u@b.test", "p", big);
	xs2s_watch_init(&o, buf, 128);
	assert_false(xs2s_watch_put(&o, &st));
	assert_false(xs2s_watch_put(&o, &st));
	xs2s_watch_pending(&o, &n);
	assert_int_equal(n, 0);
	assert_int_equal(o.skipped, 2);
	st = stanza("u@b.test", "p", "<presence/>");
	assert_true(xs2s_watch_put(&o, &st));
	assert_true(strncmp(drain(&o), "{\"skipped\":2}\n{\"from\":\"u@b.test\"", 32) == 0);
	assert_guard(128);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line),
		cmocka_unit_test(test_slow_watcher_drops_whole_lines),
		cmocka_unit_test(test_skipped_when_caught_up),
		cmocka_unit_test(test_skipped_before_next_line),
		cmocka_unit_test(test_line_larger_than_buffer),
	};

	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
