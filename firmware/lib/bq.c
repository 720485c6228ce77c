/* Byte queue over a ring; see bq.h. */
#include <string.h>
#include "xs2s_err.h"
#include "lib/bq.h"

void xs2s_bq_init(struct xs2s_bq *q, void *buf, size_t cap)
{
	q->buf = buf;
	q->cap = cap;
	q->head = q->len = 0;
}

void xs2s_bq_clear(struct xs2s_bq *q)
{
	q->head = q->len = 0;
}

uint8_t *xs2s_bq_wbuf(struct xs2s_bq *q, size_t *n)
{
	size_t tail = q->head + q->len;

	if (tail >= q->cap) {
		tail -= q->cap;
		*n = q->head - tail;
	} else {
		*n = q->cap - tail;
	}
	return q->buf + tail;
}

void xs2s_bq_wack(struct xs2s_bq *q, size_t n)
{
	q->len += n;
}

const uint8_t *xs2s_bq_rbuf(const struct xs2s_bq *q, size_t *n)
{
	size_t end = q->cap - q->head;

	*n = q->len < end ? q->len : end;
	return q->buf + q->head;
}

void xs2s_bq_rack(struct xs2s_bq *q, size_t n)
{
	q->len -= n;
	q->head = q->len ? (q->head + n) % q->cap : 0;
}

size_t xs2s_bq_put_some(struct xs2s_bq *q, const void *p, size_t n)
{
	const uint8_t *s = p;
	size_t done = 0;

	while (done < n) {
		size_t room, k;
		uint8_t *w = xs2s_bq_wbuf(q, &room);

		if (!room)
			break;
		k = n - done < room ? n - done : room;
		memcpy(w, s + done, k);
		xs2s_bq_wack(q, k);
		done += k;
	}
	return done;
}

int xs2s_bq_put(struct xs2s_bq *q, const void *p, size_t n)
{
	if (n > xs2s_bq_room(q))
		return XS2S_ENOMEM;
	xs2s_bq_put_some(q, p, n);
	return XS2S_OK;
}

size_t xs2s_bq_get(struct xs2s_bq *q, void *p, size_t n)
{
	uint8_t *d = p;
	size_t done = 0;

	while (done < n) {
		size_t avail, k;
		const uint8_t *r = xs2s_bq_rbuf(q, &avail);

		if (!avail)
			break;
		k = n - done < avail ? n - done : avail;
		memcpy(d + done, r, k);
		xs2s_bq_rack(q, k);
		done += k;
	}
	return done;
}
