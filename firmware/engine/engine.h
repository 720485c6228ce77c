/* The engine: the top of the layers, and the caller-owned object of xs2s.h.
 *
 *   engine.c  the public API: life cycle, the poll round, accepting, the
 *             event drain
 *   slots.c   link slots: taking one, and the one place where links are freed
 *   s2s.c     the action points: what each link event, element and route
 *             event does, calling down into local, route, auth and link;
 *             XEP-0114 components (the component table, component/) too
 *   status.c  the operator's view
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
#if CONFIG_XS2S_COMPONENTS
#include "component/component.h"
#endif

#define XS2S_CORE_MAGIC 0x78733273u /* "xs2s": set by start, cleared by fini */
#define XS2S_STEP_ELEMENTS 64       /* elements per link per round: fairness */

/* One link slot: the transport and its stream's authentication state. */
struct xs2s_slot {
	struct xs2s_link link;
	struct xs2s_auth_state auth;
};

struct xs2s_core {
	uint32_t magic;
	bool stopping;
	bool bounce_wait;                 /* a failed route's bounces wait for room in the local queue */
	unsigned next_id;                 /* link ids: never reused */
	unsigned links_used, links_high;  /* slots in use, high-water */
	unsigned links_refused;           /* accepts and creates refused for lack of a slot */
	xs2s_sock listener;
	xs2s_sock comp_listener;          /* XEP-0114 components; XS2S_SOCK_NONE: none */
	struct xs2s_env env;
	struct xs2s_evq evq;
	struct xs2s_routes routes;
	struct xs2s_app app;
	struct xs2s_resolver res;
	struct xs2s_xml xml;
	struct xs2s_tls tls;
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
/* Give links with room in their output their routes' queued stanzas. */
void xs2s_s2s_kick(struct xs2s_core *c, struct xs2s_slot *s);

#endif
