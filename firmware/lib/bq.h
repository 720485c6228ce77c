/* Byte queue: a ring over caller storage with buf/ack access (as BearSSL's
 * engine exposes its records).
 *
 * The writer asks where it may write (one contiguous span) and then says how
 * many bytes it wrote; the reader asks what it may read and then says how many
 * it used. No byte is ever moved: a span stops at the wrap and the next call
 * returns the rest. When the queue empties, both ends go back to the start so
 * that the next span is as long as possible.
 *
 * Who calls: the link (rx, tx, out) and the TLS glue (rx, tx). Owns nothing:
 * the storage is the caller's and outlives the queue.
 */
#ifndef XS2S_BQ_H
#define XS2S_BQ_H

#include <stddef.h>
#include <stdint.h>

struct xs2s_bq {
	uint8_t *buf;   /* caller's storage */
	size_t cap;     /* its size */
	size_t head;    /* offset of the oldest byte */
	size_t len;     /* bytes queued */
};

void xs2s_bq_init(struct xs2s_bq *q, void *buf, size_t cap);
void xs2s_bq_clear(struct xs2s_bq *q);
static inline size_t xs2s_bq_len(const struct xs2s_bq *q) { return q->len; }
static inline size_t xs2s_bq_room(const struct xs2s_bq *q) { return q->cap - q->len; }

/* Writer: the free span after the newest byte (*n = 0 when full), then
 * xs2s_bq_wack(q, used) with used <= *n. */
uint8_t *xs2s_bq_wbuf(struct xs2s_bq *q, size_t *n);
void xs2s_bq_wack(struct xs2s_bq *q, size_t n);
/* Reader: the queued span from the oldest byte (*n = 0 when empty), then
 * xs2s_bq_rack(q, used) with used <= *n. */
const uint8_t *xs2s_bq_rbuf(const struct xs2s_bq *q, size_t *n);
void xs2s_bq_rack(struct xs2s_bq *q, size_t n);

/* Append all n bytes or none: XS2S_OK, or XS2S_ENOMEM without change. */
int xs2s_bq_put(struct xs2s_bq *q, const void *p, size_t n);
/* Append as much of n bytes as fits; the count appended. */
size_t xs2s_bq_put_some(struct xs2s_bq *q, const void *p, size_t n);
/* Move up to n of the oldest bytes into p; the count moved. */
size_t xs2s_bq_get(struct xs2s_bq *q, void *p, size_t n);

#endif
