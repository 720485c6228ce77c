/* The router: (local, remote) domain pairs to outbound links, with a bounded
 * queue per route while its link is set up.
 *
 * Action points
 *   send(L, R, stanza): the outbound link to R carrying pair (L, R) — found,
 *     piggybacked onto an open link to R (a new db:result for L), or created.
 *     Pair VALID and nothing queued: write straight to the link. Otherwise
 *     queue it (at most CONFIG_XS2S_ROUTE_QUEUE per pair, bytes from the
 *     queue pool); no room: XS2S_ENOMEM to the caller, nothing half-done.
 *   pair valid: write the queue out in order (what does not fit waits for
 *     the next round: xs2s_router_kick).
 *   pair or link failed: bounce every queued stanza to its local sender.
 * Inbound stanzas never pass here: the receiving side checks them against
 * the pairs authenticated on their own stream (link.c).
 */
#include <string.h>
#include "xs2s_int.h"

#define ROUTER_QSLOTS (CONFIG_XS2S_MAX_LINKS * CONFIG_XS2S_ROUTE_QUEUE)

struct router_qent {
	bool used;
	uint8_t slot;     /* link slot */
	uint8_t pair;     /* pair index on it */
	uint32_t gen;     /* link generation */
	uint32_t seq;     /* order of arrival */
	uint16_t len;
	char *data;       /* from the queue arena */
};

static struct router_qent router_q[ROUTER_QSLOTS];
static _Alignas(16) uint8_t router_mem[CONFIG_XS2S_QUEUE_POOL];
static struct xs2s_arena router_arena;
static uint32_t router_seq;
static unsigned router_count;

struct xs2s_arena *xs2s_queue_arena(void) { return &router_arena; }
unsigned xs2s_queue_count(void) { return router_count; }

void xs2s_router_init(void)
{
	memset(router_q, 0, sizeof router_q);
	xs2s_arena_init(&router_arena, router_mem, sizeof router_mem, "queue");
	router_seq = 0;
	router_count = 0;
}

static void router_drop(struct router_qent *q, struct xs2s_link *l)
{
	xs2s_arena_free(&router_arena, q->data);
	q->used = false;
	router_count--;
	if (l && l->pairs[q->pair].queued)
		l->pairs[q->pair].queued--;
}

/* The oldest queued entry of (link, pair), or NULL. */
static struct router_qent *router_oldest(struct xs2s_link *l, unsigned pair)
{
	struct router_qent *best = NULL;
	unsigned i, slot = xs2s_link_slot(l);

	for (i = 0; i < ROUTER_QSLOTS; i++) {
		struct router_qent *q = &router_q[i];
		if (q->used && q->slot == slot && q->gen == l->gen && q->pair == pair &&
		    (!best || (int32_t)(q->seq - best->seq) < 0))
			best = q;
	}
	return best;
}

static int router_enqueue(struct xs2s_link *l, unsigned pair, const char *xml, size_t len)
{
	unsigned i;

	if (l->pairs[pair].queued >= CONFIG_XS2S_ROUTE_QUEUE || len > UINT16_MAX)
		return XS2S_ENOMEM;
	for (i = 0; i < ROUTER_QSLOTS; i++) {
		struct router_qent *q = &router_q[i];
		if (q->used)
			continue;
		q->data = xs2s_arena_alloc(&router_arena, len);
		if (!q->data)
			return XS2S_ENOMEM;
		memcpy(q->data, xml, len);
		q->used = true;
		q->slot = (uint8_t)xs2s_link_slot(l);
		q->gen = l->gen;
		q->pair = (uint8_t)pair;
		q->seq = router_seq++;
		q->len = (uint16_t)len;
		l->pairs[pair].queued++;
		router_count++;
		return XS2S_OK;
	}
	return XS2S_ENOMEM;
}

struct xs2s_link *xs2s_router_out_link(const char *local, const char *remote, bool create)
{
	struct xs2s_link *l;
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_pair *p;

		l = &xs2s_g.links[i];
		if (l->state == XS2S_LS_FREE || l->state == XS2S_LS_CLOSING || l->closing_done ||
		    l->dir != XS2S_DIR_OUT || strcmp(l->peer_domain, remote))
			continue;
		p = xs2s_pair_find(l, local, remote);
		if (p && p->state != XS2S_PAIR_FAILED)
			return l;
		if (p)
			continue;
		/* Piggyback: one more domain pair on a stream to the same peer. */
		p = xs2s_pair_add(l, local, remote);
		if (!p)
			continue;
		XS2S_LOGI(l->id, "piggybacking %s -> %s on this stream", local, remote);
		if (l->state == XS2S_LS_AUTH || l->state == XS2S_LS_OPEN)
			xs2s_db_send_pending(l);
		return l;
	}
	if (!create)
		return NULL;
	l = xs2s_link_alloc(XS2S_DIR_OUT);
	if (!l)
		return NULL;
	snprintf(l->peer_domain, sizeof l->peer_domain, "%s", remote);
	snprintf(l->local_domain, sizeof l->local_domain, "%s", local);
	xs2s_pair_add(l, local, remote);
	xs2s_link_start_out(l);
	return l;
}

int xs2s_router_send(const char *local, const char *remote, const char *xml, size_t len)
{
	struct xs2s_link *l = xs2s_router_out_link(local, remote, true);
	struct xs2s_pair *p;
	unsigned pi;

	if (!l)
		return XS2S_ENOMEM;
	p = xs2s_pair_find(l, local, remote);
	if (!p)
		return XS2S_ENOMEM;
	pi = (unsigned)(p - l->pairs);
	if (p->state == XS2S_PAIR_VALID && !p->queued && xs2s_link_write(l, xml, len) == XS2S_OK) {
		l->stanzas_out++;
		return XS2S_OK;
	}
	if (l->closing_done) {
		/* Failed while being created (no address, no connect): bounce now. */
		xs2s_local_bounce(xml, len, l->bounce != XS2S_STE_NONE ? l->bounce : XS2S_STE_REMOTE_SERVER_NOT_FOUND);
		return XS2S_OK;
	}
	return router_enqueue(l, pi, xml, len);
}

void xs2s_router_pair_ready(struct xs2s_link *l, unsigned pair)
{
	struct router_qent *q;

	while ((q = router_oldest(l, pair)) != NULL) {
		if (xs2s_link_write(l, q->data, q->len) != XS2S_OK)
			return; /* the output is full: the rest goes next round */
		l->stanzas_out++;
		router_drop(q, l);
	}
}

void xs2s_router_pair_failed(struct xs2s_link *l, unsigned pair, enum xs2s_stanza_err cond)
{
	struct router_qent *q;

	while ((q = router_oldest(l, pair)) != NULL) {
		xs2s_local_bounce(q->data, q->len, cond);
		router_drop(q, l);
	}
}

/* Give links whose output drained a chance to take more of their queue. */
void xs2s_router_kick(struct xs2s_link *l)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++)
		if (l->pairs[i].state == XS2S_PAIR_VALID && l->pairs[i].queued)
			xs2s_router_pair_ready(l, i);
}
