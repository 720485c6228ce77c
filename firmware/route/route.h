/* The route table: every domain pair (local, remote) the engine has on a
 * stream, in either direction, with its authentication state, the link
 * carrying it, its queue of stanzas waiting for that link, and (receiving
 * dialback) the verification it waits for.
 *
 * Action points
 *   out (L, R): created when a stanza for R leaves L or a db:verify must be
 *     sent to R; bound to an outbound link at once (the engine picks it).
 *     WAIT -> ASKED (db:result or SASL <auth/> sent) -> VALID (stanzas
 *     flow: the queue is written out in order) or FAILED (the queue is
 *     bounced in order). While not VALID, or while older stanzas wait,
 *     stanzas queue (at most CONFIG_XS2S_ROUTE_QUEUE per route, bytes from
 *     the queue pool); no room: XS2S_ENOMEM to the caller, nothing half-done.
 *   in (L, R) on link X: created by a db:result request or SASL success on
 *     X. ASKED (verifying: the key waits here until the db:verify goes out on
 *     an outbound link and its answer comes back) -> VALID (R may send
 *     stanzas to L on X) or FAILED (R may ask again).
 *   Both directions on one link (XEP-0288, engine/bidi.h): an out route
 *     on a peer's inbound link, an in route on our outbound link, added
 *     VALID by the engine once that direction is authenticated there; the
 *     table treats them like any other route of their direction.
 *   A link going down abandons the verifications it carried (the inbound
 *   side gets type=error) and keeps its inbound routes until the link is
 *   freed. Its outbound routes first take back what the peer did not
 *   acknowledge (XEP-0198, route/sm.h: to the front of their queues); then
 *   a route with stanzas queued goes to RETRY when the failure is one that
 *   retrying can change (the engine says: connect refused or timed out, TLS
 *   failed, connection lost, setup timeout, ...) and its oldest stanza is
 *   younger than the deadline (CONFIG_XS2S_ROUTE_DEADLINE_S, or the
 *   engine's configuration: deadline_s); any other route FAILS
 *   (bounce, in order). RETRY (unbound, its queue kept, new stanzas
 *   queue too) -> WAIT on a new link when its time comes: at once when its
 *   link had been authenticated (and was not opened in the last
 *   CONFIG_XS2S_RETRY_BACKOFF_MAX_MS), else after CONFIG_XS2S_RETRY_BACKOFF_MS,
 *   doubled per failure up to CONFIG_XS2S_RETRY_BACKOFF_MAX_MS (the link
 *   itself already tried every address the lookup gave, link.c). Past the
 *   deadline, or when the engine stops: FAILED with the last link's
 *   reason. Refusals (dialback invalid, SASL failure with no fallback,
 *   not-authorized, host-unknown, policy) bounce at once.
 *
 * xs2s_route_set() is the only function that changes a route's state. It
 * posts XS2S_EV_ROUTE_READY / XS2S_EV_ROUTE_FAILED; verdicts that another
 * link must deliver are posted as XS2S_EV_DB_VERDICT.
 *
 * Who calls: the engine. Calls down: the link (writing stanzas on the link
 * it is handed). Owns: routes, queue entries, the queue pool. Never touches:
 * link state, authentication, local delivery (bounces go back to the engine
 * through the queue accessors).
 */
#ifndef XS2S_ROUTE_H
#define XS2S_ROUTE_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/arena.h"
#include "lib/evq.h"
#include "lib/jid.h"
#include "lib/stanza.h"
#include "lib/types.h"
#include "auth/auth.h"
#include "link/link.h"
#include "route/sm.h"

#define XS2S_QUEUE_ENTRIES (CONFIG_XS2S_MAX_LINKS * CONFIG_XS2S_ROUTE_QUEUE)
#define XS2S_ROUTE_NONE (-1)
#define XS2S_QNIL 0xffffu

enum xs2s_route_state {
	XS2S_RT_FREE = 0,
	XS2S_RT_WAIT,      /* out: nothing sent yet (the link is being set up, or waits for SASL) */
	XS2S_RT_ASKED,     /* out: db:result or SASL <auth/> sent; in: verifying */
	XS2S_RT_VALID,     /* authenticated: stanzas may flow */
	XS2S_RT_FAILED,    /* refused */
	XS2S_RT_RETRY,     /* out: its link failed; waits for retry_ms to try a new one (queue kept) */
};

/* Where an inbound route's db:verify stands. */
enum xs2s_verify_state {
	XS2S_VF_NONE = 0,
	XS2S_VF_WAIT,      /* to be sent on the outbound link vlink */
	XS2S_VF_SENT,      /* sent, its answer awaited */
};

struct xs2s_route {
	uint8_t state;     /* enum xs2s_route_state: only xs2s_route_set writes it */
	uint8_t dir;       /* enum xs2s_dir */
	uint8_t method;    /* enum xs2s_auth_method, once VALID */
	uint8_t fail_cond; /* enum xs2s_stanza_err its stanzas are bounced with, once FAILED */
	uint8_t slot;      /* slot of the link carrying it */
	unsigned link;     /* that link's id; 0: unbound (its link is gone) */
	unsigned failed_link; /* out: the link whose going down failed it (its reason goes with the bounces) */
	uint16_t gen;      /* bumped when freed: events for an old route are ignored */
	uint16_t queued;   /* stanzas waiting (unacknowledged ones come back here when a link dies) */
	uint8_t tries;     /* out: failed attempts in a row (the backoff doubles with each) */
	uint32_t retry_ms; /* RETRY: when the next attempt is due */
	uint16_t qhead, qtail; /* FIFO of queue entries */
	uint8_t vstate;    /* in: enum xs2s_verify_state */
	unsigned vlink;    /* in: the outbound link id the db:verify goes on */
	char key[XS2S_DB_KEY_MAX + 1];        /* in, verifying: the key to check; never logged */
	char sid[XS2S_STREAM_ID_MAX + 1];     /* in, verifying: the inbound stream's id */
	char local[XS2S_DOMAIN_MAX + 1];
	char remote[XS2S_DOMAIN_MAX + 1];
};

/* A queued stanza: its bytes in the queue pool and what a bounce needs. */
struct xs2s_qent {
	uint16_t next;     /* next entry of the route's FIFO, XS2S_QNIL at the end */
	uint16_t len;
	uint16_t route;    /* the route it belongs to */
	uint32_t t_ms;     /* when it was first queued (CONFIG_XS2S_ROUTE_DEADLINE_S counts from here) */
	char *data;        /* from the queue pool; NULL: the entry is free */
	struct xs2s_stanza_meta meta;
};

struct xs2s_routes {
	struct xs2s_route r[XS2S_ROUTES];
	struct xs2s_qent q[XS2S_QUEUE_ENTRIES];
	struct xs2s_evq *evq;
	unsigned used, high;          /* routes in use, high-water */
	unsigned refused;             /* routes refused: table or link full */
	unsigned queued, queued_high; /* stanzas waiting, high-water */
	unsigned queue_refused;       /* stanzas refused: route queue or pool full */
	uint32_t deadline_s;          /* a failed route retries while its oldest stanza is younger (set by the engine) */
	unsigned retrying;            /* routes in RETRY */
	unsigned retries;             /* attempts made again after a failure */
	unsigned expired;             /* routes failed at their deadline after retrying */
#if CONFIG_XS2S_SM
	bool sm_on;                               /* offered and used (the engine's configuration) */
	struct xs2s_sm sm[CONFIG_XS2S_MAX_LINKS]; /* per link slot (route/sm.h) */
	unsigned unacked, unacked_high;           /* entries awaiting an ack, high-water */
	unsigned sm_acked, sm_resent;             /* stanzas acknowledged; taken back from a dead link */
	unsigned sm_enabled;                      /* streams on which it was enabled */
#endif
	struct xs2s_arena pool;
	_Alignas(16) unsigned char pool_mem[CONFIG_XS2S_QUEUE_POOL];
};

void xs2s_routes_init(struct xs2s_routes *rt, struct xs2s_evq *evq);

/* The route (dir, local, remote) on link (any link when 0), skipping failed
 * ones and ones whose link is gone; XS2S_ROUTE_NONE when none. */
int xs2s_route_find(const struct xs2s_routes *rt, enum xs2s_dir dir, const char *local, const char *remote,
		    unsigned link);
/* Any route (dir, local, remote) on link, whatever its state. */
int xs2s_route_on_link(const struct xs2s_routes *rt, enum xs2s_dir dir, const char *local, const char *remote,
		       unsigned link);
/* Add route (dir, local, remote) carried by link (slot, id), state WAIT:
 * its index, or XS2S_ENOMEM when the table is full or the link already
 * carries CONFIG_XS2S_MAX_PAIRS routes, XS2S_EINVAL for an over-long domain. */
int xs2s_route_add(struct xs2s_routes *rt, enum xs2s_dir dir, const char *local, const char *remote, uint8_t slot,
		   unsigned link);
/* The one place a route changes state (and method, once VALID); cond is the
 * bounce condition when it fails. Posts READY or FAILED. */
void xs2s_route_set(struct xs2s_routes *rt, int idx, enum xs2s_route_state s, enum xs2s_auth_method method,
		    enum xs2s_stanza_err cond);
/* The next route at or after *i carried by link in state s (XS2S_RT_FREE:
 * any state); false when none. Iterate with i = 0, then i + 1. */
bool xs2s_route_next_on(const struct xs2s_routes *rt, unsigned link, enum xs2s_route_state s, unsigned *i);
/* A route of link is VALID. */
bool xs2s_route_any_valid(const struct xs2s_routes *rt, unsigned link);

/* Send a stanza on route idx: written to link l at once when the route is
 * VALID, nothing older waits and it fits; queued otherwise. XS2S_ENOMEM when
 * neither (the route's queue or the pool is full): nothing half-done. A
 * stanza with a completion (meta->track) posts XS2S_EV_SENT when written,
 * here or by xs2s_route_flush. */
int xs2s_route_send(struct xs2s_routes *rt, int idx, struct xs2s_link *l, const char *xml, size_t len,
		    const struct xs2s_stanza_meta *meta);
/* Write route idx's queue to l in order while it fits. */
void xs2s_route_flush(struct xs2s_routes *rt, int idx, struct xs2s_link *l);
/* The oldest stanza queued on route idx (NULL when none), and its removal. */
const struct xs2s_qent *xs2s_route_head(const struct xs2s_routes *rt, int idx);
void xs2s_route_drop_head(struct xs2s_routes *rt, int idx);

/* Link id on slot stopped carrying traffic (bounce condition cond): its
 * unacknowledged stanzas go back to their routes (route/sm.h); its
 * outbound routes with stanzas queued go to RETRY when retry is true and
 * their deadline allows, the others fail; verifications waiting on it get
 * an error verdict; its inbound routes stay until xs2s_route_link_freed. */
void xs2s_route_link_down(struct xs2s_routes *rt, uint8_t slot, unsigned link, enum xs2s_stanza_err cond,
			  bool retry, uint32_t now);
/* The next route in RETRY at or after *i whose attempt is due at now;
 * false when none. */
bool xs2s_route_next_due(const struct xs2s_routes *rt, uint32_t now, unsigned *i);
/* The oldest stanza of route idx is past CONFIG_XS2S_ROUTE_DEADLINE_S at t. */
bool xs2s_route_expired(const struct xs2s_routes *rt, int idx, uint32_t t);
/* Route idx (RETRY) tries again on the new link (slot, id): WAIT. */
void xs2s_route_rebind(struct xs2s_routes *rt, int idx, uint8_t slot, unsigned link);
/* Route idx (RETRY) could not get a link now: the next attempt after the
 * backoff, or FAILED when that is past its deadline. */
void xs2s_route_retry_later(struct xs2s_routes *rt, int idx, uint32_t now);
/* Route idx (RETRY) fails now (deadline, engine stopping). */
void xs2s_route_retry_fail(struct xs2s_routes *rt, int idx);
/* Milliseconds until the next retry is due (UINT32_MAX: none). */
uint32_t xs2s_route_retry_next_ms(const struct xs2s_routes *rt, uint32_t now);
/* Link id's slot is free again: its remaining routes go. */
void xs2s_route_link_freed(struct xs2s_routes *rt, unsigned link);
/* Free a FAILED route whose queue is empty and whose link is gone. */
void xs2s_route_release(struct xs2s_routes *rt, int idx);

/* Receiving dialback: inbound route idx is ASKED and waits for the answer
 * of the authoritative server, asked over outbound link vlink. */
void xs2s_route_verify_begin(struct xs2s_routes *rt, int idx, const char *key, const char *sid, unsigned vlink);
/* The db:verify of route idx went out. */
void xs2s_route_verify_sent(struct xs2s_routes *rt, int idx);
/* The next inbound route at or after *i whose db:verify waits to go out on
 * link vlink; false when none. */
bool xs2s_route_next_verify(const struct xs2s_routes *rt, unsigned vlink, unsigned *i);
/* The verification of route idx cannot complete (the outbound link cannot
 * carry it): the inbound side gets type=error with cond. */
void xs2s_route_verify_fail(struct xs2s_routes *rt, int idx, enum xs2s_stanza_err cond);
/* The authoritative server answered (type "valid", "invalid" or "error") on
 * link vlink: the route verifying (local, remote, id) gets its verdict
 * (posted as XS2S_EV_DB_VERDICT). XS2S_ENOTFOUND when nothing waited for
 * that answer (unsolicited). */
int xs2s_route_verify_answer(struct xs2s_routes *rt, unsigned vlink, const char *local, const char *remote,
			     const char *id, const char *type);

/* Status: the state name of a route ("pending", "sent", "valid", "failed", "retry"). */
const char *xs2s_route_state_name(const struct xs2s_route *r);

#endif
