/* The event queue; see evq.h. */
#include <string.h>
#include "xs2s_log.h"
#include "lib/evq.h"

_Static_assert(XS2S_EVQ_LEN <= UINT16_MAX, "event queue indexed by uint16_t");

void xs2s_evq_init(struct xs2s_evq *q)
{
	memset(q, 0, sizeof *q);
}

void xs2s_evq_post(struct xs2s_evq *q, enum xs2s_ev_type type, unsigned idx, uint32_t id, unsigned cond,
		   unsigned verdict)
{
	struct xs2s_ev *e;

	if (q->n == XS2S_EVQ_LEN) {
		q->lost++;
		XS2S_LOGE(0, "event queue full: event %d for %u lost (a bug: XS2S_EVQ_LEN)", (int)type, idx);
		return;
	}
	e = &q->ev[(q->head + q->n) % XS2S_EVQ_LEN];
	e->type = (uint8_t)type;
	e->idx = (uint16_t)idx;
	e->id = id;
	e->cond = (uint8_t)cond;
	e->verdict = (uint8_t)verdict;
	if (++q->n > q->high)
		q->high = q->n;
}

bool xs2s_evq_pop(struct xs2s_evq *q, struct xs2s_ev *e)
{
	if (!q->n)
		return false;
	*e = q->ev[q->head];
	q->head = (uint16_t)((q->head + 1) % XS2S_EVQ_LEN);
	q->n--;
	return true;
}
