/* The event queue: what must travel up or sideways between the layers.
 *
 * Calls go down only (engine -> local -> route -> auth -> link -> port). When
 * a lower layer learns something a higher one must act on (a link went down,
 * a domain pair became valid or failed, a dialback verdict is due on another
 * link), it posts an event here; the engine drains the queue after every
 * step, element and API call, so a handler never runs inside the layer that
 * posted it and no link ever touches another link.
 *
 * Bounded: between two drains at most one action runs, and the worst action
 * (a link going down) posts one event per route it carried or verified for;
 * SENT events are bounded by the application's completions (one each), so
 * XS2S_EVQ_LEN events always fit; a post that does not fit is a bug,
 * counted in `lost` and logged. Who calls: route.c and link.c post, the
 * engine drains. Owns nothing but its array.
 */
#ifndef XS2S_EVQ_H
#define XS2S_EVQ_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/types.h"

#define XS2S_ROUTES (CONFIG_XS2S_MAX_LINKS * CONFIG_XS2S_MAX_PAIRS)
/* + one SENT per completion the application waits for (each posts at most one),
 * and per subscription of the device accounts (at most one tracked presence each). */
#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
#define XS2S_EVQ_ACCOUNTS CONFIG_XS2S_APP_SUBSCRIPTIONS
#else
#define XS2S_EVQ_ACCOUNTS 0
#endif
#define XS2S_EVQ_LEN (CONFIG_XS2S_MAX_LINKS + 2 * XS2S_ROUTES + CONFIG_XS2S_APP_PENDING + XS2S_EVQ_ACCOUNTS + 8)

enum xs2s_ev_type {
	XS2S_EV_LINK_DOWN = 1, /* link (slot, id) stopped carrying traffic; cond: bounce condition */
	XS2S_EV_ROUTE_READY,   /* route (idx, gen) became valid */
	XS2S_EV_ROUTE_FAILED,  /* route (idx, gen) failed; cond: bounce condition */
	XS2S_EV_DB_VERDICT,    /* inbound route (idx, gen) has its dialback verdict: tell the peer */
	XS2S_EV_SENT,          /* a tracked stanza (idx: its meta.track) was handed to an authenticated stream */
};

struct xs2s_ev {
	uint8_t type;     /* enum xs2s_ev_type */
	uint8_t cond;     /* enum xs2s_stanza_err */
	uint8_t verdict;  /* XS2S_EV_DB_VERDICT: enum xs2s_db_verdict */
	uint16_t idx;     /* link slot or route index */
	uint32_t id;      /* link id or route generation */
};

struct xs2s_evq {
	struct xs2s_ev ev[XS2S_EVQ_LEN];
	uint16_t head, n;
	uint16_t high;    /* most events ever waiting */
	uint32_t lost;    /* posts that did not fit (a bug if ever non-zero) */
};

void xs2s_evq_init(struct xs2s_evq *q);
void xs2s_evq_post(struct xs2s_evq *q, enum xs2s_ev_type type, unsigned idx, uint32_t id, unsigned cond,
		   unsigned verdict);
/* The oldest event into *e, removed; false when empty. */
bool xs2s_evq_pop(struct xs2s_evq *q, struct xs2s_ev *e);

#endif
