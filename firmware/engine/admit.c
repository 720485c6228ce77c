/* Admission control for inbound streams (XEP-0205): how many streams that
 * have not authenticated yet may hold link slots, from one address and in
 * all, and which one gives way when a slot is needed.
 *
 * - From one source address, at most CONFIG_XS2S_PREAUTH_PER_ADDR inbound
 *   streams are unauthenticated at a time; one more is closed at accept.
 * - Unauthenticated inbound streams never hold more than MAX_LINKS -
 *   CONFIG_XS2S_PREAUTH_RESERVE slots; when they do, or no slot is free, the
 *   least advanced of them (the lowest state; of those, the oldest) is
 *   evicted (its connection cut) to admit the new one.
 * - An outbound stream finds a slot while any unauthenticated inbound one
 *   holds a slot: that one is evicted.
 * - The deadline to authenticate is CONFIG_XS2S_PREAUTH_TIMEOUT_S (the link
 *   layer's setup deadline for inbound streams: connection-timeout).
 * Components (XEP-0114) have their own listener and limit and are not
 * counted here. */
#include <string.h>
#include "xs2s_log.h"
#include "engine/engine.h"

_Static_assert(CONFIG_XS2S_PREAUTH_RESERVE < CONFIG_XS2S_MAX_LINKS,
	       "Kconfig: XS2S_PREAUTH_RESERVE must leave unauthenticated inbound streams at least one slot");

/* An inbound s2s stream that has not authenticated yet and is not ending
 * (one restarting after SASL success already has a valid pair). */
static bool admit_preauth(const struct xs2s_core *c, const struct xs2s_link *l)
{
	return l->state != XS2S_LS_FREE && l->state < XS2S_LS_OPEN && l->dir == XS2S_DIR_IN &&
	       l->kind != XS2S_KIND_COMPONENT && !xs2s_route_any_valid(&c->routes, l->id);
}

/* The host part of "host:port" (an IPv6 host is bracketed): its length. */
static size_t admit_host_len(const char *addr)
{
	const char *colon = strrchr(addr, ':');

	return colon ? (size_t)(colon - addr) : strlen(addr);
}

static bool admit_same_host(const char *a, const char *b)
{
	size_t n = admit_host_len(a);

	return n == admit_host_len(b) && !strncmp(a, b, n);
}

/* The least advanced unauthenticated inbound stream, the oldest of those. */
static struct xs2s_slot *admit_victim(struct xs2s_core *c)
{
	struct xs2s_slot *v = NULL;
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_slot *s = &c->slot[i];

		if (!admit_preauth(c, &s->link))
			continue;
		if (!v || s->link.state < v->link.state || (s->link.state == v->link.state && s->link.id < v->link.id))
			v = s; /* ids grow with every link: the smaller is the older */
	}
	return v;
}

/* End v's stream at once and free its slot. The connection is cut: a
 * stream error would need the slot until it is flushed, and the slot is
 * needed now (XEP-0205 allows closing such connections). */
static void admit_evict(struct xs2s_core *c, struct xs2s_slot *v, const char *for_whom)
{
	struct xs2s_link *l = &v->link;

	c->admit.evicted++;
	xs2s_link_abort(l, XS2S_WHY_CUT, "not authenticated after %u s, in state %s: evicted to admit %s",
			(unsigned)((xs2s_port_now_ms() - l->created_ms) / XS2S_MS_PER_S), xs2s_link_state_name(l->state),
			for_whom);
	xs2s_slot_free(c, v);
}

struct xs2s_slot *xs2s_admit_inbound(struct xs2s_core *c, const char *peer)
{
	unsigned i, preauth = 0, same = 0;
	struct xs2s_slot *s;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &c->slot[i].link;

		if (!admit_preauth(c, l))
			continue;
		preauth++;
		same += admit_same_host(l->addr, peer);
	}
	if (same >= CONFIG_XS2S_PREAUTH_PER_ADDR) {
		c->admit.per_addr++;
		XS2S_LOGW(0, "refusing connection from %s: %u unauthenticated streams from that address already "
			     "(CONFIG_XS2S_PREAUTH_PER_ADDR)", peer, same);
		return NULL;
	}
	if (preauth >= CONFIG_XS2S_MAX_LINKS - CONFIG_XS2S_PREAUTH_RESERVE || c->links_used >= CONFIG_XS2S_MAX_LINKS) {
		struct xs2s_slot *v = admit_victim(c);

		if (v)
			admit_evict(c, v, peer);
	}
	s = xs2s_slot_alloc(c);
	if (!s)
		XS2S_LOGW(0, "refusing connection from %s: no free link slot", peer);
	return s;
}

struct xs2s_slot *xs2s_admit_outbound(struct xs2s_core *c, const char *remote)
{
	if (c->links_used >= CONFIG_XS2S_MAX_LINKS && !c->stopping) {
		struct xs2s_slot *v = admit_victim(c);

		if (v)
			admit_evict(c, v, remote);
	}
	return xs2s_slot_alloc(c);
}
