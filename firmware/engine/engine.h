/* The engine: the top of the layers, and the caller-owned object of xs2s.h.
 *
 *   engine.c  the public API: life cycle, the poll round, accepting, the
 *             event drain
 *   slots.c   link slots: taking one, and the one place where links are freed
 *   s2s.c     the action points: what each link event, element and route
 *             event does, calling down into local, route, auth and link;
 *             XEP-0114 components (the component table, component/) too
 *   status.c  the operator's view
 *   admit.c   admission of inbound streams (XEP-0205)
 *   live.c    XEP-0199 pings on idle outbound streams, dead peers
 *   policy.c  XEP-0205 domain lists and stanza rates (policy.h)
 *
 * Layers, top to bottom; calls go down only, events come up (lib/evq.h):
 *   engine (this) -> application interface and local delivery -> route table -> authentication -> link
 *   (transport: TLS, framer, XML) -> port
 * struct xs2s_core is the whole engine; the public struct xs2s_engine is
 * caller memory of exactly its size (generated XS2S_ENGINE_SIZE), which the
 * API functions view as a core (as FreeRTOS's StaticTask_t stands in for
 * its TCB; the firmware is built with -fno-strict-aliasing).
 */
#ifndef XS2S_ENGINE_H
#define XS2S_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include "xs2s.h"
#include "lib/env.h"
#include "lib/evq.h"
#include "auth/auth.h"
#include "link/link.h"
#include "link/tls.h"
#include "app/app.h"
#include "resolve/resolve.h"
#include "route/route.h"
#include "xml/xml.h"
#include "engine/policy.h"
#if CONFIG_XS2S_COMPONENTS
#include "component/component.h"
#endif

/* xs2s_config.h: OUT_BUF >= MAX_STANZA + 256 holds the largest answer and a stream's end. */
_Static_assert(XS2S_REPLY_SLACK + XS2S_LINK_CLOSE_RESERVE <= 256, "xs2s_config.h: the OUT_BUF invariant");

#define XS2S_CORE_MAGIC 0x78733273u /* "xs2s": set by start, cleared by fini */
#define XS2S_STEP_ELEMENTS 64       /* elements per link per round: fairness */
#define XS2S_REFUSAL_MAX 112        /* a refused pair's bounce text (struct xs2s_slot) */
/* The id prefix of our XEP-0199 pings: an answer with it is ours (live.c). */
#define XS2S_PING_ID "xs2s-ping-"

/* One link slot: the transport and its stream's authentication state. */
struct xs2s_slot {
	struct xs2s_link link;
	struct xs2s_auth_state auth;
	uint8_t wait;            /* its input waits for room for answers: 0 no, 1 for a route in setup
				  * (XS2S_SETUP_HOLD_MS at most), 2 for one that flows (XS2S_FLOW_HOLD_MS) ... */
	uint32_t wait_ms;        /* ... since then */
	struct xs2s_live {       /* XEP-0199 liveness of an outbound stream (live.c) */
		uint64_t seen_bytes;     /* the link's bytes_in when last looked at */
		uint32_t seen_ms;        /* the last sign of life from the peer */
		uint32_t ping_ms;        /* when the ping went out (valid while pending) */
		uint32_t app_ms;         /* the last application stanza (not a reply) sent on it */
		uint16_t seq;            /* pings sent on it (their ids) */
		bool on;                 /* watched: the stream is open (seen_* are valid) */
		bool app;                /* app_ms is valid */
		bool pending;            /* a ping waits for a sign of life */
	} live;
	struct xs2s_rate rate;   /* inbound: its stanza rate (policy.c) */
	/* Why a domain pair on this link was refused while the link lives on
	 * (dialback type=invalid/error, no dialback offered): the text its
	 * queued stanzas are bounced with; "" when none. */
	char refusal[XS2S_REFUSAL_MAX];
};

/* How long an inbound stream waits for room for its answers (s2s.c,
 * xs2s_s2s_hold_input): for a route back that is being set up, and for one
 * that flows (bounded too: two servers flooding each other could otherwise
 * wait for each other for ever). */
#define XS2S_SETUP_HOLD_MS 3000
#define XS2S_FLOW_HOLD_MS 30000
/* ... and when less than this is left in the queue pool. */
#define XS2S_HOLD_POOL_ROOM (CONFIG_XS2S_QUEUE_POOL / 4)

struct xs2s_core {
	uint32_t magic;
	bool stopping;
	uint32_t stop_ms;                 /* when stopping began: links with unacknowledged stanzas wait for
					   * their acks until stop_ms + XS2S_SM_STOP_WAIT_MS (route/sm.h) */
	bool bounce_wait;                 /* a failed route's bounces wait for room in the local queue */
	unsigned next_id;                 /* link ids: never reused */
	unsigned links_used, links_high;  /* slots in use, high-water */
	unsigned links_refused;           /* accepts and creates refused for lack of a slot */
	unsigned inputs_held;             /* times an inbound stream waited for room for its answers */
	struct {
		unsigned per_addr;        /* inbound connections refused: too many unauthenticated from that address */
		unsigned evicted;         /* unauthenticated inbound streams evicted for a newer one or an outbound */
		unsigned timeouts;        /* inbound streams cut: not authenticated in CONFIG_XS2S_PREAUTH_TIMEOUT_S */
	} admit;
	struct {
		uint32_t idle_ms, timeout_ms; /* XEP-0199 pings: after this long without input; dead after this */
		unsigned sent;            /* pings sent */
		unsigned answered;        /* pings followed by a sign of life in time */
		unsigned dead;            /* peers declared dead: no sign of life in time */
	} live;
	struct xs2s_policy policy;        /* XEP-0205 lists and rate limits (policy.h) */
	xs2s_sock listener;
	xs2s_sock comp_listener;          /* XEP-0114 components; XS2S_SOCK_NONE: none */
	xs2s_sock tls_listener;           /* XEP-0368 direct TLS; XS2S_SOCK_NONE: none */
	struct xs2s_env env;
	struct xs2s_evq evq;
	struct xs2s_routes routes;
	struct xs2s_app app;
	struct xs2s_resolver res;
	struct xs2s_xml xml;
	struct xs2s_tls tls;
	struct xs2s_link_bufs bufs;       /* the buffers links borrow (link/bufs.h) */
#if CONFIG_XS2S_COMPONENTS
	struct xs2s_comps comps;
#endif
	struct xs2s_slot slot[CONFIG_XS2S_MAX_LINKS];
};

/* The core behind the caller's engine. */
static inline struct xs2s_core *xs2s_core_of(struct xs2s_engine *eng)
{
	return (struct xs2s_core *)(void *)eng;
}

/* engine.c: run the events posted so far (lib/evq.h). */
void xs2s_engine_drain(struct xs2s_core *c);

/* slots.c */
/* Take a free slot for a new link; NULL (logged, counted) when none. The
 * caller opens the link on it at once. */
struct xs2s_slot *xs2s_slot_alloc(struct xs2s_core *c);
/* Release every link that is done: the one place where links are freed. */
void xs2s_slots_free_done(struct xs2s_core *c);
/* Free slot s now (its link is done). */
void xs2s_slot_free(struct xs2s_core *c, struct xs2s_slot *s);
/* A slot for an inbound s2s connection from peer ("host:port") under the
 * admission rules (admit.c), evicting an unauthenticated stream when they
 * say so; NULL: refuse it (counted). */
struct xs2s_slot *xs2s_admit_inbound(struct xs2s_core *c, const char *peer);
/* A slot for an outbound stream to remote: a free one, or one an
 * unauthenticated inbound stream gives up; NULL when every slot carries
 * authenticated traffic. */
struct xs2s_slot *xs2s_admit_outbound(struct xs2s_core *c, const char *remote);

/* live.c: XEP-0199 pings on idle outbound streams. */
/* Look at slot s now: a sign of life (its bytes_in moved), a ping due, a
 * peer dead (the link is aborted: XS2S_WHY_DEAD_PEER). */
void xs2s_live_timer(struct xs2s_core *c, struct xs2s_slot *s, uint32_t now);
/* Milliseconds until slot s's next liveness event (UINT32_MAX: none). */
uint32_t xs2s_live_next_ms(const struct xs2s_core *c, const struct xs2s_slot *s, uint32_t now);
/* A stanza from remote domain `remote` arrived (on any stream): its peer is alive. */
void xs2s_live_from(struct xs2s_core *c, const char *remote, uint32_t now);
/* An application stanza (not a reply) went to slot s's route. */
void xs2s_live_app_sent(struct xs2s_slot *s, uint32_t now);
/* Whether stanza st is the answer to one of our pings (consumed, never delivered). */
bool xs2s_live_is_answer(const struct xs2s_el *st);

/* s2s.c: the action points */
/* What a link's pump handed up. */
void xs2s_s2s_link_event(struct xs2s_core *c, struct xs2s_slot *s, enum xs2s_link_ev ev, const struct xs2s_el *el);
/* One event from the queue. */
void xs2s_s2s_event(struct xs2s_core *c, const struct xs2s_ev *e);
/* Route a stanza from a domain served here to domain `to` (the application
 * layer's output, app/app.h): a component's over its stream, any other
 * through the route table. XS2S_ENOTFOUND when the component is not
 * connected, XS2S_ENOMEM when it (or the route) has no room: the sender
 * decides (nothing was sent). */
int xs2s_s2s_send(void *core, const char *from, const char *to, const char *xml, size_t len,
		  const struct xs2s_stanza_meta *meta);
/* Bounce what failed routes still hold, now that the local queue has room. */
void xs2s_s2s_bounce_retry(struct xs2s_core *c);
/* Routes waiting to retry whose time has come: a new link each (or they
 * fail at their deadline). */
void xs2s_s2s_retry(struct xs2s_core *c, uint32_t now);
/* Every route waiting to retry fails (the engine stops). */
void xs2s_s2s_retry_cancel(struct xs2s_core *c);
/* Give links with room in their output their routes' queued stanzas. */
void xs2s_s2s_kick(struct xs2s_core *c, struct xs2s_slot *s);
/* Whether slot s's inbound stream must wait (hold_in) before it hands up
 * another stanza: the route back to one of its senders is full. */
bool xs2s_s2s_hold_input(struct xs2s_core *c, struct xs2s_slot *s);
/* The longest slot s's input may still wait (its wait's bound, in ms). */
uint32_t xs2s_s2s_hold_limit(const struct xs2s_slot *s);

#include "engine/bidi.h"

#endif
