/* xs2sd's stanza watch (xs2sctl watch): every stanza that reaches a local
 * JID, as one JSON line, queued in a watcher's bounded output buffer.
 *
 *   {"from":"u@b.test/r","to":"x@a.test","kind":"message","type":"chat","id":"m1","xml":"<message ...>"}
 *
 * A watcher that reads too slowly never blocks the engine and never makes
 * memory grow: a line that does not fit whole in the free part of its
 * buffer is dropped and counted, never cut. The next time the watcher has
 * room (before the next line that fits, or as soon as its buffer is
 * empty), a line {"skipped":N} says how many lines it lost since the
 * last one it got.
 *
 * Owns nothing: the buffer is the caller's (xs2sd: the admin client's
 * response buffer) and outlives the struct's use. No allocation, no I/O:
 * the caller writes what xs2s_watch_pending gives and acknowledges it.
 */
#ifndef XS2S_WATCH_H
#define XS2S_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include "xs2s.h"

struct xs2s_watch_out {
	char *buf;                /* the caller's buffer */
	size_t cap;               /* its size */
	size_t off, len;          /* bytes [off, len) wait to be written */
	unsigned long skipped;    /* lines dropped since the last one queued (not yet reported) */
	unsigned long lines;      /* lines queued in all */
	unsigned long dropped;    /* lines dropped in all */
};

void xs2s_watch_init(struct xs2s_watch_out *o, char *buf, size_t cap);
/* Queue st's line (after a {"skipped":N} line when lines were dropped),
 * whole or not at all: true when queued, false when dropped and counted. */
bool xs2s_watch_put(struct xs2s_watch_out *o, const struct xs2s_stanza_in *st);
/* Queue text as it is (e.g. a first line saying what is watched), whole or
 * not at all, without counting: true when queued. */
bool xs2s_watch_put_text(struct xs2s_watch_out *o, const char *text);
/* What waits to be written: its start, and its length in *n (0: nothing). */
const char *xs2s_watch_pending(const struct xs2s_watch_out *o, size_t *n);
/* n bytes of what xs2s_watch_pending gave were written. When that empties
 * the buffer and lines were dropped, the {"skipped":N} line is queued. */
void xs2s_watch_written(struct xs2s_watch_out *o, size_t n);

#endif
