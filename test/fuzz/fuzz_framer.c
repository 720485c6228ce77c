/* Fuzz harness for the stream framer.
 *
 * Each input is a raw byte stream, framed four ways: in one call, one byte per
 * call and in chunks of a length derived from the input (all with a large
 * cap), and once more with a small cap in one call and byte by byte. Within
 * each cap, every way must give the same trace (events, offsets, texts,
 * error). Each call is checked against the contract (consumed <= len, buf
 * NUL-terminated, len <= cap, sticky errors), and every stanza/header returned
 * must frame identically again on its own. A CLOSE event that ends at an odd
 * offset resets the framer, so inputs can hold several streams; after any
 * other CLOSE the framer stays closed.
 *
 * Build with libFuzzer: see test/fuzz/README.md.
 * Linked with replay.c instead, it replays the files named on the command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "xml/framer.h"

#define FUZZ_BIG_CAP 4096
#define FUZZ_CHUNK_SPREAD 13  /* chunk lengths 1..13 */
#define FUZZ_TRACE_PER_EV 32  /* trace bytes per event beyond its text */
#define FUZZ_HDR "<s>"


struct fuzz_trace {
	uint8_t *p;
	size_t len, cap;
};

static void trace_put(struct fuzz_trace *t, const void *p, size_t n)
{
	FUZZ_CHECK(t->len + n <= t->cap);
	memcpy(t->p + t->len, p, n);
	t->len += n;
}

/* Frame text (a header or a stanza) alone in a fresh framer: it must give
 * the same event and text, using every byte. */
static void fuzz_reframe(int ev, const char *text, size_t n)
{
	static char buf[FUZZ_BIG_CAP + 1];
	struct xs2s_framer f;
	size_t used;

	xs2s_framer_init(&f, buf, FUZZ_BIG_CAP);
	if (ev == XS2S_FRAME_STANZA)
		FUZZ_CHECK(xs2s_framer_feed(&f, (const uint8_t *)FUZZ_HDR,
					    strlen(FUZZ_HDR), &used) == XS2S_FRAME_HEADER);
	FUZZ_CHECK(xs2s_framer_feed(&f, (const uint8_t *)text, n, &used) == ev);
	FUZZ_CHECK(used == n && f.len == n && memcmp(f.buf, text, n) == 0);
}

/* Feed data with calls of at most chunk bytes; record the trace. */
static void fuzz_run(const uint8_t *data, size_t len, size_t cap, size_t chunk,
		     int reframe, struct fuzz_trace *t)
{
	char *buf = malloc(cap + 1); /* exact size so ASan sees overruns */
	struct xs2s_framer f;
	size_t off = 0;

	FUZZ_CHECK(buf != NULL);
	xs2s_framer_init(&f, buf, cap);
	t->len = 0;
	while (off < len) {
		size_t n = len - off < chunk ? len - off : chunk, used = (size_t)-1;
		int rc = xs2s_framer_feed(&f, data + off, n, &used);

		FUZZ_CHECK(used <= n);
		FUZZ_CHECK(f.len <= f.cap);
		off += used;
		if (rc < 0) {
			enum xs2s_stream_err e = f.err;

			FUZZ_CHECK(rc == XS2S_EPROTO && e != XS2S_SE_NONE);
			FUZZ_CHECK(xs2s_framer_feed(&f, data, len, &used) == XS2S_EPROTO);
			FUZZ_CHECK(used == 0 && f.err == e);
			trace_put(t, &e, sizeof(e));
			trace_put(t, &off, sizeof(off));
			break;
		}
		if (rc == XS2S_FRAME_NONE) {
			FUZZ_CHECK(used == n);
			continue;
		}
		FUZZ_CHECK(rc == XS2S_FRAME_HEADER || rc == XS2S_FRAME_STANZA ||
			   rc == XS2S_FRAME_CLOSE);
		FUZZ_CHECK(used > 0 && f.len > 0 && f.buf[f.len] == '\0');
		FUZZ_CHECK(f.buf[0] == '<' && f.buf[f.len - 1] == '>');
		FUZZ_CHECK(data[off - 1] == '>');
		trace_put(t, &rc, sizeof(rc));
		trace_put(t, &off, sizeof(off));
		trace_put(t, &f.len, sizeof(f.len));
		trace_put(t, f.buf, f.len);
		if (reframe && rc != XS2S_FRAME_CLOSE)
			fuzz_reframe(rc, f.buf, f.len);
		if (rc == XS2S_FRAME_CLOSE && (off & 1))
			xs2s_framer_reset(&f); /* else stay closed */
	}
	free(buf);
}

static void fuzz_trace_init(struct fuzz_trace *t, size_t len)
{
	t->cap = len + (len + 1) * FUZZ_TRACE_PER_EV;
	t->len = 0;
	t->p = malloc(t->cap);
	FUZZ_CHECK(t->p != NULL);
}

static void fuzz_same(const struct fuzz_trace *a, const struct fuzz_trace *b)
{
	FUZZ_CHECK(a->len == b->len && memcmp(a->p, b->p, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct fuzz_trace ref, other;
	size_t small_cap = len / 2;

	fuzz_trace_init(&ref, len);
	fuzz_trace_init(&other, len);

	fuzz_run(data, len, FUZZ_BIG_CAP, SIZE_MAX, 1, &ref);
	fuzz_run(data, len, FUZZ_BIG_CAP, 1, 0, &other);
	fuzz_same(&ref, &other);
	fuzz_run(data, len, FUZZ_BIG_CAP, 1 + len % FUZZ_CHUNK_SPREAD, 0, &other);
	fuzz_same(&ref, &other);

	fuzz_run(data, len, small_cap, SIZE_MAX, 0, &ref);
	fuzz_run(data, len, small_cap, 1, 0, &other);
	fuzz_same(&ref, &other);

	free(ref.p);
	free(other.p);
	return 0;
}
