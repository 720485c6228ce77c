/* XEP-0198 stream management on s2s streams; the action points are in
 * route/sm.h. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "route/route.h"

static const char *const sm_state_names[] = {
	[XS2S_SM_OFF] = "off", [XS2S_SM_OFFERED] = "offered", [XS2S_SM_REQUESTED] = "requested",
	[XS2S_SM_ON] = "on",
};

const char *xs2s_sm_state_name(const struct xs2s_sm *sm)
{
	return sm && sm->state <= XS2S_SM_ON ? sm_state_names[sm->state] : "off";
}

void xs2s_sm_init(struct xs2s_routes *rt)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		memset(&rt->sm[i], 0, sizeof rt->sm[i]);
		rt->sm[i].uhead = rt->sm[i].utail = XS2S_QNIL;
	}
	rt->unacked = rt->unacked_high = rt->sm_acked = rt->sm_resent = rt->sm_enabled = 0;
	rt->sm_on = true;
}

const struct xs2s_sm *xs2s_sm_of(const struct xs2s_routes *rt, const struct xs2s_link *l)
{
	const struct xs2s_sm *sm = &rt->sm[l->slot];

	return sm->link == l->id ? sm : NULL;
}

/* Slot l's state, taken over for l when it held another (finished) link's. */
static struct xs2s_sm *sm_get(struct xs2s_routes *rt, const struct xs2s_link *l)
{
	struct xs2s_sm *sm = &rt->sm[l->slot];

	if (sm->link != l->id) {
		if (sm->unacked)
			xs2s_sm_link_down(rt, l->slot, sm->link); /* never left behind: see xs2s_route_link_down */
		memset(sm, 0, sizeof *sm);
		sm->uhead = sm->utail = XS2S_QNIL;
		sm->link = l->id;
	}
	return sm;
}

bool xs2s_sm_tracking(const struct xs2s_routes *rt, const struct xs2s_link *l)
{
	const struct xs2s_sm *sm = xs2s_sm_of(rt, l);

	/* Ours, from <enable/> on; or the peer's, once enabled: on a peer's
	 * stream made bidirectional (XEP-0288) we write stanzas too, and
	 * XEP-0198 4 lets either side ask for acks. */
	return sm && ((l->dir == XS2S_DIR_OUT && sm->state == XS2S_SM_REQUESTED) || sm->state == XS2S_SM_ON);
}

bool xs2s_sm_counts_ours(const struct xs2s_routes *rt, const struct xs2s_link *l)
{
	const struct xs2s_sm *sm = xs2s_sm_of(rt, l);

	return sm && sm->state == XS2S_SM_ON;
}

bool xs2s_sm_room(const struct xs2s_routes *rt, const struct xs2s_link *l, size_t len)
{
	const struct xs2s_sm *sm = xs2s_sm_of(rt, l);

	if (!xs2s_sm_tracking(rt, l))
		return true;
	/* One stanza always fits an empty list, however long. */
	return !sm->unacked || (sm->unacked < CONFIG_XS2S_SM_UNACKED &&
				sm->ubytes + len <= (size_t)CONFIG_XS2S_SM_UNACKED_BYTES);
}

void xs2s_sm_push(struct xs2s_routes *rt, struct xs2s_link *l, uint16_t q)
{
	struct xs2s_sm *sm = sm_get(rt, l);

	rt->q[q].next = XS2S_QNIL;
	if (sm->utail == XS2S_QNIL)
		sm->uhead = q;
	else
		rt->q[sm->utail].next = q;
	sm->utail = q;
	sm->unacked++;
	sm->ubytes += rt->q[q].len;
	sm->sent++; /* XEP-0198 4: counted from <enable/> on, mod 2^32 */
	sm->since_r++;
	if (++rt->unacked > rt->unacked_high)
		rt->unacked_high = rt->unacked;
}

/* <r/> (XEP-0198 4): at most one outstanding. */
static void sm_request(struct xs2s_sm *sm, struct xs2s_link *l)
{
	static const char r[] = "<r xmlns='" XS2S_NS_SM "'/>";

	if (sm->r_out || !sm->unacked) {
		sm->r_timer = false; /* nothing to ask for (all acked, or <failed/>) */
		return;
	}
	if (xs2s_link_write(l, r, sizeof r - 1) != XS2S_OK) {
		sm->r_timer = true; /* no room: the timer tries again */
		sm->r_due_ms = xs2s_port_now_ms() + CONFIG_XS2S_SM_ACK_MS;
		return;
	}
	sm->r_out = true;
	sm->r_timer = false;
	sm->since_r = 0;
}

unsigned xs2s_sm_unacked(const struct xs2s_routes *rt, const struct xs2s_link *l)
{
	const struct xs2s_sm *sm = xs2s_sm_of(rt, l);

	return sm && xs2s_sm_tracking(rt, l) ? sm->unacked : 0;
}

void xs2s_sm_request_now(struct xs2s_routes *rt, struct xs2s_link *l)
{
	if (xs2s_sm_unacked(rt, l))
		sm_request(sm_get(rt, l), l);
}

bool xs2s_sm_probe(struct xs2s_routes *rt, struct xs2s_link *l)
{
	static const char r[] = "<r xmlns='" XS2S_NS_SM "'/>";
	struct xs2s_sm *sm;

	if (!xs2s_sm_counts_ours(rt, l))
		return false;
	sm = sm_get(rt, l);
	if (!sm->r_out && xs2s_link_write(l, r, sizeof r - 1) != XS2S_OK)
		return false;
	sm->r_out = true; /* one <r/> outstanding at most: the peer's <a/> answers both */
	sm->r_timer = false;
	sm->since_r = 0;
	return true;
}

void xs2s_sm_after_write(struct xs2s_routes *rt, struct xs2s_link *l, uint32_t now)
{
	struct xs2s_sm *sm;

	if (!xs2s_sm_tracking(rt, l))
		return;
	sm = sm_get(rt, l);
	if (sm->since_r >= CONFIG_XS2S_SM_ACK_EVERY || !xs2s_sm_room(rt, l, 1))
		sm_request(sm, l);
	if (sm->unacked && !sm->r_out && !sm->r_timer) {
		sm->r_timer = true;
		sm->r_due_ms = now + CONFIG_XS2S_SM_ACK_MS;
	}
}

void xs2s_sm_note_features(struct xs2s_routes *rt, const struct xs2s_link *l, const struct xs2s_el *features)
{
	struct xs2s_sm *sm = sm_get(rt, l);
	struct xs2s_el child;
	bool offered = features && xs2s_el_child(features, XS2S_NS_SM, "sm", &child);

	/* The latest features count (after SASL, a fresh set). */
	if (sm->state <= XS2S_SM_OFFERED)
		sm->state = offered && rt->sm_on ? XS2S_SM_OFFERED : XS2S_SM_OFF;
}

void xs2s_sm_start(struct xs2s_routes *rt, struct xs2s_link *l)
{
	static const char en[] = "<enable xmlns='" XS2S_NS_SM "'/>";
	struct xs2s_sm *sm = sm_get(rt, l);

	/* XEP-0198 3: only after authentication (the caller's pair is valid). */
	if (sm->state != XS2S_SM_OFFERED || !xs2s_link_live(l))
		return;
	if (xs2s_link_write(l, en, sizeof en - 1) != XS2S_OK) {
		XS2S_LOGW(l->id, "no room for <enable/>: stream management stays off on this link");
		sm->state = XS2S_SM_OFF;
		return;
	}
	sm->state = XS2S_SM_REQUESTED;
	sm->sent = sm->acked = 0; /* XEP-0198 4: our count starts at <enable/> */
	XS2S_LOGI(l->id, "stream management: <enable/> sent to %s", l->peer_domain);
}

/* Acknowledged: the head entry leaves the list; its completion fires. */
static void sm_ack_one(struct xs2s_routes *rt, struct xs2s_sm *sm)
{
	uint16_t q = sm->uhead;
	struct xs2s_qent *e = &rt->q[q];

	sm->uhead = e->next;
	if (sm->uhead == XS2S_QNIL)
		sm->utail = XS2S_QNIL;
	sm->unacked--;
	sm->ubytes -= e->len;
	rt->unacked--;
	rt->queued--;
	if (e->meta.track)
		xs2s_evq_post(rt->evq, XS2S_EV_SENT, e->meta.track, 0, 0, 0);
	xs2s_arena_free(&rt->pool, e->data);
	e->data = NULL;
	e->next = XS2S_QNIL;
}

/* A decimal h in 0 .. 2^32 - 1 (XEP-0198 4; its schema, 12: xs:unsignedInt). */
static bool sm_parse_h(const char *s, uint32_t *h)
{
	uint64_t v = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (uint64_t)(*s - '0');
		if (v > UINT32_MAX)
			return false;
	}
	*h = (uint32_t)v;
	return true;
}

static void sm_on_a(struct xs2s_routes *rt, struct xs2s_link *l, struct xs2s_sm *sm, const struct xs2s_el *el)
{
	uint32_t h, n;

	if (!xs2s_sm_tracking(rt, l)) {
		XS2S_LOGD(l->id, "<a/> ignored: we did not enable stream management here");
		return;
	}
	if (!sm_parse_h(xs2s_el_attr(el, "h"), &h)) {
		xs2s_link_abort(l, XS2S_WHY_INVALID_XML, "<a/> without a valid h (XEP-0198 4)");
		return;
	}
	n = h - sm->acked; /* newly acknowledged, mod 2^32 (XEP-0198 4) */
	if (n > sm->unacked) {
		/* XEP-0198 6: an h above what was sent: undefined-condition with
		 * <handled-count-too-high h send-count/>, and the stream closes. */
		char err[256];
		int len = snprintf(err, sizeof err, "<stream:error><undefined-condition xmlns='" XS2S_NS_STREAM_ERR
				   "'/><handled-count-too-high xmlns='" XS2S_NS_SM "' h='%lu' send-count='%lu'/>"
				   "</stream:error>", (unsigned long)h, (unsigned long)sm->sent);

		xs2s_link_abort(l, len > 0 && (size_t)len < sizeof err && xs2s_link_write(l, err, (size_t)len) == XS2S_OK
					   ? XS2S_WHY_SM_H_TOO_HIGH : XS2S_WHY_UNDEFINED_CONDITION,
				"handled-count-too-high: <a h='%lu'/> but %lu stanza(s) sent (XEP-0198 6)",
				(unsigned long)h, (unsigned long)sm->sent);
		return;
	}
	sm->acked = h;
	sm->r_out = false;
	while (n--) {
		sm_ack_one(rt, sm);
		rt->sm_acked++;
	}
	if (sm->unacked && !sm->r_timer) {
		sm->r_timer = true;
		sm->r_due_ms = xs2s_port_now_ms() + CONFIG_XS2S_SM_ACK_MS;
	}
}

/* <a h/> with the stanzas handled since enable/enabled was received. */
static void sm_answer(struct xs2s_sm *sm, struct xs2s_link *l)
{
	char a[64];
	int n = snprintf(a, sizeof a, "<a xmlns='" XS2S_NS_SM "' h='%lu'/>", (unsigned long)sm->h_in);

	sm->a_due = xs2s_link_write(l, a, (size_t)n) != XS2S_OK;
}

void xs2s_sm_element(struct xs2s_routes *rt, struct xs2s_link *l, const struct xs2s_el *el, bool authenticated)
{
	static const char failed[] = "<failed xmlns='" XS2S_NS_SM "'><unexpected-request xmlns='"
				     XS2S_NS_STANZA_ERR "'/></failed>";
	static const char enabled[] = "<enabled xmlns='" XS2S_NS_SM "'/>";
	struct xs2s_sm *sm = sm_get(rt, l);
	const char *name = xs2s_el_name(el);

	if (!strcmp(name, "enable")) {
		/* XEP-0198 3: not before authentication, not twice; no
		 * resumption (a 'resume' request is ignored: 5). */
		if (l->dir != XS2S_DIR_IN || !authenticated || sm->state != XS2S_SM_OFF || !rt->sm_on) {
			XS2S_LOGW(l->id, "<enable/> %s: <failed/>", !authenticated ? "before authentication" : "again");
			if (xs2s_link_write(l, failed, sizeof failed - 1) != XS2S_OK)
				xs2s_link_abort(l, XS2S_WHY_RESOURCE, "no room for <failed/>");
			return;
		}
		if (xs2s_link_write(l, enabled, sizeof enabled - 1) != XS2S_OK) {
			xs2s_link_abort(l, XS2S_WHY_RESOURCE, "no room for <enabled/>");
			return;
		}
		sm->state = XS2S_SM_ON;
		sm->h_in = 0; /* XEP-0198 4: counted from <enable/> received */
		sm->sent = sm->acked = 0;
		rt->sm_enabled++;
		XS2S_LOGI(l->id, "stream management enabled by %s (no resumption)", l->peer_domain);
	} else if (!strcmp(name, "enabled")) {
		if (sm->state != XS2S_SM_REQUESTED) {
			xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "unsolicited <enabled/>");
			return;
		}
		sm->state = XS2S_SM_ON;
		sm->h_in = 0;
		rt->sm_enabled++;
		XS2S_LOGI(l->id, "stream management on with %s (%s)", l->peer_domain,
			  xs2s_el_attr(el, "resume") ? "resumption offered, not used" : "no resumption");
	} else if (!strcmp(name, "failed")) {
		if (sm->state != XS2S_SM_REQUESTED) {
			XS2S_LOGD(l->id, "<failed/> ignored: nothing was asked");
			return;
		}
		/* Off: what went out meanwhile counts as written, as without SM. */
		XS2S_LOGW(l->id, "%s refused stream management: off on this link", l->peer_domain);
		while (sm->unacked)
			sm_ack_one(rt, sm);
		sm->state = XS2S_SM_OFF;
		sm->r_timer = sm->r_out = false;
	} else if (!strcmp(name, "r")) {
		if (sm->state != XS2S_SM_ON && sm->state != XS2S_SM_REQUESTED) {
			XS2S_LOGD(l->id, "<r/> ignored: stream management is off");
			return;
		}
		sm_answer(sm, l);
	} else if (!strcmp(name, "a")) {
		sm_on_a(rt, l, sm, el);
	} else {
		xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "unsupported stream management element <%s/>", name);
	}
}

void xs2s_sm_handled(struct xs2s_routes *rt, const struct xs2s_link *l)
{
	struct xs2s_sm *sm = &rt->sm[l->slot];

	if (sm->link == l->id && sm->state == XS2S_SM_ON)
		sm->h_in++; /* mod 2^32 (XEP-0198 4) */
}

void xs2s_sm_timer(struct xs2s_routes *rt, struct xs2s_link *l, uint32_t now)
{
	struct xs2s_sm *sm = &rt->sm[l->slot];

	if (sm->link != l->id || !xs2s_link_live(l))
		return;
	if (sm->a_due)
		sm_answer(sm, l);
	if (sm->r_timer && XS2S_TIME_REACHED(now, sm->r_due_ms))
		sm_request(sm, l);
}

uint32_t xs2s_sm_next_ms(const struct xs2s_routes *rt, const struct xs2s_link *l, uint32_t now)
{
	const struct xs2s_sm *sm = &rt->sm[l->slot];

	if (sm->link != l->id || !xs2s_link_live(l))
		return UINT32_MAX;
	if (sm->a_due)
		return CONFIG_XS2S_SM_ACK_MS; /* the <a/> waits for room in the output */
	if (!sm->r_timer)
		return UINT32_MAX;
	return XS2S_TIME_REACHED(now, sm->r_due_ms) ? 0 : sm->r_due_ms - now;
}

void xs2s_sm_link_down(struct xs2s_routes *rt, uint8_t slot, unsigned link)
{
	struct xs2s_sm *sm = &rt->sm[slot];

	if (sm->link != link)
		return;
	/* Each route's entries, in the order written, go before what its
	 * queue holds: the oldest first again. */
	while (sm->uhead != XS2S_QNIL) {
		uint16_t ri = rt->q[sm->uhead].route, chead = XS2S_QNIL, ctail = XS2S_QNIL, q, prev = XS2S_QNIL;
		struct xs2s_route *r = &rt->r[ri];
		unsigned n = 0;

		for (q = sm->uhead; q != XS2S_QNIL;) {
			uint16_t next = rt->q[q].next;

			if (rt->q[q].route != ri) {
				prev = q;
				q = next;
				continue;
			}
			if (prev == XS2S_QNIL)
				sm->uhead = next;
			else
				rt->q[prev].next = next;
			if (sm->utail == q)
				sm->utail = prev;
			rt->q[q].next = XS2S_QNIL;
			if (ctail == XS2S_QNIL)
				chead = q;
			else
				rt->q[ctail].next = q;
			ctail = q;
			n++;
			q = next;
		}
		rt->q[ctail].next = r->qhead;
		r->qhead = chead;
		if (r->qtail == XS2S_QNIL)
			r->qtail = ctail;
		r->queued = (uint16_t)(r->queued + n);
		rt->unacked -= n;
		rt->sm_resent += n;
		XS2S_LOGI(link, "stream management: %u unacknowledged stanza(s) of %s -> %s back to their queue", n,
			  r->local, r->remote);
	}
	memset(sm, 0, sizeof *sm);
	sm->uhead = sm->utail = XS2S_QNIL;
}
