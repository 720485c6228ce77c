/* Unit tests for the bounded text writer (firmware/lib/wbuf.c): escaping and
 * unescaping (round trips, lengths), overflow (a piece that does not fit is
 * not written and every later call is a no-op), JSON strings. The writer
 * owns nothing; every test checks that no byte lands beyond the buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xs2s_wbuf.h"

#define GUARD 'G'
#define RANDOM_ROUNDS 2000
#define RANDOM_MAX 64

/* A buffer of cap bytes followed by guard bytes that must stay untouched. */
static char area[512 + 16];

static char *guarded(size_t cap)
{
	assert_true(cap + 16 <= sizeof area);
	memset(area, GUARD, sizeof area);
	return area;
}

static void assert_guard(size_t cap)
{
	for (size_t i = cap; i < cap + 16; i++)
		if (area[i] != GUARD)
			fail_msg("byte %zu beyond a %zu-byte buffer written", i, cap);
}

/* The writer's invariant: len < cap, p[len] == NUL. */
static void assert_sane(const struct xs2s_wbuf *w)
{
	if (!w->cap)
		return;
	assert_true(w->len < w->cap);
	assert_int_equal(w->p[w->len], '\0');
	assert_int_equal(strlen(w->p), w->len);
}

/* Moved from test_xml.c with the writer (it left xml.h for lib/wbuf.h). */
static void test_writer(void **state)
{
	struct xs2s_wbuf w;
	char buf[32], wide[64];
	(void)state;

	xs2s_w_init(&w, wide, sizeof(wide));
	assert_string_equal(wide, "");
	xs2s_w_raw(&w, "<a x='");
	xs2s_w_esc(&w, "1&2<3>'\"");
	xs2s_w_raw(&w, "'>");
	assert_false(w.overflow);
	assert_string_equal(wide, "<a x='1&amp;2&lt;3&gt;&apos;&quot;'>");
	assert_int_equal(w.len, strlen(wide));
	/* Too long for the rest: nothing of it is written, and it sticks. */
	xs2s_w_init(&w, buf, sizeof(buf));
	xs2s_w_fmt(&w, "<%s n='%d'>", "iq", 12);
	assert_string_equal(buf, "<iq n='12'>");
	assert_int_equal(w.len, 11);
	xs2s_w_esc(&w, "&&&&&"); /* 25 bytes: 11 + 25 does not fit 31 */
	assert_true(w.overflow);
	assert_string_equal(buf, "<iq n='12'>");
	assert_int_equal(w.len, 11);
	xs2s_w_raw(&w, "x");
	xs2s_w_fmt(&w, "%d", 1);
	assert_int_equal(w.len, 11);
	assert_string_equal(buf, "<iq n='12'>");

	/* Exactly full (31 + NUL), then one more byte overflows. */
	xs2s_w_init(&w, buf, sizeof(buf));
	xs2s_w_raw(&w, "0123456789012345678901234567890");
	assert_false(w.overflow);
	assert_int_equal(w.len, sizeof(buf) - 1);
	xs2s_w_esc(&w, "");
	assert_false(w.overflow);
	xs2s_w_raw(&w, "x");
	assert_true(w.overflow);
	assert_int_equal(strlen(buf), sizeof(buf) - 1);

	xs2s_w_init(&w, buf, sizeof(buf));
	xs2s_w_fmt(&w, "%040d", 1);
	assert_true(w.overflow);
	assert_string_equal(buf, "");

	xs2s_w_init(&w, buf, 0);
	assert_true(w.overflow);
	xs2s_w_raw(&w, "");
}

static void test_bytes_and_raw(void **state)
{
	struct xs2s_wbuf w;
	char *p = guarded(8);
	(void)state;

	xs2s_w_init(&w, p, 8);
	xs2s_w_bytes(&w, "ab\0cd", 5); /* bytes, NULs included */
	assert_false(w.overflow);
	assert_int_equal(w.len, 5);
	assert_memory_equal(p, "ab\0cd", 6);
	xs2s_w_bytes(&w, "", 0);
	xs2s_w_raw(&w, NULL); /* nothing */
	assert_int_equal(w.len, 5);
	xs2s_w_bytes(&w, "xyz", 3); /* 5 + 3 leaves no room for the NUL */
	assert_true(w.overflow);
	assert_int_equal(w.len, 5);
	assert_memory_equal(p, "ab\0cd", 6);
	xs2s_w_bytes(&w, "x", 1); /* sticky, though it would fit */
	assert_int_equal(w.len, 5);
	assert_guard(8);

	/* Exactly up to cap - 1. */
	p = guarded(8);
	xs2s_w_init(&w, p, 8);
	xs2s_w_raw(&w, "1234567");
	assert_false(w.overflow);
	assert_sane(&w);
	assert_guard(8);

	/* No buffer at all. */
	xs2s_w_init(&w, NULL, 8);
	assert_true(w.overflow);
	assert_int_equal(w.cap, 0);
	xs2s_w_raw(&w, "x");
	xs2s_w_esc(&w, "x");
	xs2s_w_fmt(&w, "%d", 1);
	xs2s_w_unesc(&w, "x", 1);
	assert_int_equal(w.len, 0);
}

static void test_fmt_whole_or_nothing(void **state)
{
	struct xs2s_wbuf w;
	char *p = guarded(16);
	(void)state;

	xs2s_w_init(&w, p, 16);
	xs2s_w_fmt(&w, "%s", "0123456789");
	xs2s_w_fmt(&w, "%05d", 42); /* exactly fills: 15 + NUL */
	assert_false(w.overflow);
	assert_string_equal(p, "012345678900042");
	xs2s_w_init(&w, p, 16);
	xs2s_w_fmt(&w, "%s", "0123456789");
	xs2s_w_fmt(&w, "%06d", 42); /* one too many: none of it stays */
	assert_true(w.overflow);
	assert_string_equal(p, "0123456789");
	assert_int_equal(w.len, 10);
	assert_guard(16);
}

static void test_esc_whole_or_nothing(void **state)
{
	struct xs2s_wbuf w;
	char *p;
	(void)state;

	/* For every capacity, an escaped piece is either all there or not at all. */
	static const char text[] = "a<b>&'\"z";
	static const char esc[] = "a&lt;b&gt;&amp;&apos;&quot;z";
	for (size_t cap = 1; cap < sizeof esc + 4; cap++) {
		p = guarded(cap);
		xs2s_w_init(&w, p, cap);
		xs2s_w_raw(&w, "<");
		size_t before = w.len;
		xs2s_w_esc(&w, text);
		if (cap > sizeof esc) {
			assert_false(w.overflow);
			assert_string_equal(p, "<a&lt;b&gt;&amp;&apos;&quot;z");
		} else {
			assert_true(w.overflow);
			assert_int_equal(w.len, before);
			assert_string_equal(p, before ? "<" : "");
		}
		assert_sane(&w);
		assert_guard(cap);
	}
	/* Nothing to escape, and NULL. */
	p = guarded(16);
	xs2s_w_init(&w, p, 16);
	xs2s_w_esc(&w, "plain text");
	xs2s_w_esc(&w, NULL);
	assert_string_equal(p, "plain text");
	assert_false(w.overflow);
}

static void test_unesc(void **state)
{
	struct xs2s_wbuf w;
	char buf[64];
	static const char in[] = "a&amp;b&lt;c&gt;d&apos;e&quot;f";
	(void)state;

	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_unesc(&w, in, strlen(in));
	assert_false(w.overflow);
	assert_string_equal(buf, "a&b<c>d'e\"f");
	assert_int_equal(xs2s_unesc_len(in, strlen(in)), strlen("a&b<c>d'e\"f"));
	/* Only the five predefined entities: anything else stays as written. */
	static const char other[] = "&#65; &foo; &amp &ampx; & &;&lt";
	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_unesc(&w, other, strlen(other));
	assert_string_equal(buf, other);
	assert_int_equal(xs2s_unesc_len(other, strlen(other)), strlen(buf));
	/* Only n bytes are read: an entity cut by the span is not one. */
	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_unesc(&w, "x&amp;y", 4);
	assert_string_equal(buf, "x&am");
	assert_int_equal(xs2s_unesc_len("x&amp;y", 4), 4);
	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_unesc(&w, "x&amp;y", 6);
	assert_string_equal(buf, "x&");
	assert_int_equal(xs2s_unesc_len("x&amp;y", 6), 2);
	/* Empty span. */
	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_unesc(&w, "&amp;", 0);
	assert_string_equal(buf, "");
	assert_int_equal(xs2s_unesc_len("&amp;", 0), 0);
	/* An entity becomes one byte: a buffer of exactly the unescaped size is enough. */
	char small[4];
	xs2s_w_init(&w, small, sizeof small);
	xs2s_w_unesc(&w, "&lt;&amp;&gt;", 13);
	assert_false(w.overflow);
	assert_string_equal(small, "<&>");
}

static void test_unesc_overflow(void **state)
{
	struct xs2s_wbuf w;
	char *p;
	static const char in[] = "ab&amp;cd&lt;ef";
	size_t need = xs2s_unesc_len(in, strlen(in)); /* "ab&cd<ef": 8 */
	(void)state;

	assert_int_equal(need, 8);
	for (size_t cap = 1; cap <= need + 2; cap++) {
		p = guarded(cap);
		xs2s_w_init(&w, p, cap);
		xs2s_w_unesc(&w, in, strlen(in));
		/* Fits iff the unescaped text and its NUL do. */
		assert_int_equal(w.overflow, cap <= need);
		if (!w.overflow)
			assert_string_equal(p, "ab&cd<ef");
		assert_sane(&w);
		/* Sticky: once set, nothing more goes in, not even what would fit. */
		if (w.overflow) {
			size_t len = w.len;

			xs2s_w_unesc(&w, "", 0);
			xs2s_w_bytes(&w, "", 0);
			assert_int_equal(w.len, len);
			assert_true(w.overflow);
		}
		assert_guard(cap);
	}
}

/* Random text of every byte but NUL: escaping then unescaping gives it back,
 * and xs2s_unesc_len is the length of what xs2s_w_unesc writes. */
static void test_round_trip_random(void **state)
{
	char text[RANDOM_MAX + 1], esc[6 * RANDOM_MAX + 1], back[RANDOM_MAX + 1];
	struct xs2s_wbuf w;
	(void)state;

	srand(20261205);
	for (int round = 0; round < RANDOM_ROUNDS; round++) {
		size_t n = (size_t)rand() % (RANDOM_MAX + 1);

		for (size_t i = 0; i < n; i++) {
			/* Half of the bytes from the special characters and '&' look-alikes. */
			static const char special[] = "&<>'\";ampltgquos#";
			text[i] = rand() % 2 ? special[rand() % (int)(sizeof special - 1)] : (char)(1 + rand() % 255);
		}
		text[n] = '\0';
		xs2s_w_init(&w, esc, sizeof esc);
		xs2s_w_esc(&w, text);
		assert_false(w.overflow);
		assert_null(strpbrk(esc, "<>'\""));
		assert_int_equal(xs2s_unesc_len(esc, w.len), n);
		xs2s_w_init(&w, back, sizeof back);
		xs2s_w_unesc(&w, esc, strlen(esc));
		assert_false(w.overflow);
		assert_int_equal(w.len, n);
		assert_memory_equal(back, text, n + 1);
		/* Unescaping arbitrary text: the length function agrees with the writer. */
		char any[RANDOM_MAX + 1];
		xs2s_w_init(&w, any, sizeof any);
		xs2s_w_unesc(&w, text, n);
		assert_false(w.overflow);
		assert_int_equal(xs2s_unesc_len(text, n), w.len);
	}
}

static void test_json(void **state)
{
	struct xs2s_wbuf w;
	char buf[128];
	char *p;
	(void)state;

	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_json(&w, "plain");
	xs2s_w_raw(&w, ",");
	xs2s_w_json(&w, "q\"b\\s/");
	xs2s_w_raw(&w, ",");
	xs2s_w_json(&w, "\x01\n\t\x1f\x7f");
	xs2s_w_raw(&w, ",");
	xs2s_w_json(&w, "");
	xs2s_w_raw(&w, ",");
	xs2s_w_json(&w, "caf\xc3\xa9 <&>'"); /* UTF-8 and XML specials pass as they are */
	assert_false(w.overflow);
	assert_string_equal(buf, "\"plain\",\"q\\\"b\\\\s/\",\"\\u0001\\u000a\\u0009\\u001f\x7f\",\"\","
				 "\"caf\xc3\xa9 <&>'\"");
	/* Too small: overflow, still NUL-terminated inside the buffer, sticky. */
	for (size_t cap = 1; cap < 12; cap++) {
		p = guarded(cap);
		xs2s_w_init(&w, p, cap);
		xs2s_w_json(&w, "ab\"\x01");  /* "ab\"\u0001": 12 bytes */
		assert_true(w.overflow);
		assert_sane(&w);
		assert_guard(cap);
	}
	p = guarded(13);
	xs2s_w_init(&w, p, 13);
	xs2s_w_json(&w, "ab\"\x01");
	assert_false(w.overflow);
	assert_string_equal(p, "\"ab\\\"\\u0001\"");
	assert_guard(13);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer),
		cmocka_unit_test(test_bytes_and_raw),
		cmocka_unit_test(test_fmt_whole_or_nothing),
		cmocka_unit_test(test_esc_whole_or_nothing),
		cmocka_unit_test(test_unesc),
		cmocka_unit_test(test_unesc_overflow),
		cmocka_unit_test(test_round_trip_random),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests_name("wbuf", tests, NULL, NULL);
}
