/* Liveness: XEP-0199 server-to-server pings (4.3) on open outbound
 * streams, so that a peer that vanished without closing its connection is
 * noticed in seconds rather than by the idle timeout.
 *
 * Action points
 *   sign of life   any byte on the outbound stream (whitespace keepalives,
 *                  dialback answers), or any stanza from the peer's domain
 *                  on any of our inbound streams (RFC 6120 4.2: its
 *                  answers travel on its own stream to us): the answer to
 *                  our ping, an error reply (a peer without XEP-0199 says
 *                  service-unavailable), anything else.
 *   ping           an open outbound stream without a sign of life for
 *                  ping_idle_s that carried an application stanza (not a
 *                  reply, not a ping) in the last CONFIG_XS2S_IDLE_TIMEOUT_S:
 *                  <iq type='get' from=L to=R id='xs2s-ping-LINK-N'><ping
 *                  xmlns='urn:xmpp:ping'/></iq> for a valid pair (L, R) of
 *                  the stream. A stream no application uses is not pinged,
 *                  so pings never keep it open: the idle timeout ends it.
 *   with XEP-0198  on a stream where stream management counts our stanzas,
 *                  the ping is <r/> instead (the peer MUST answer <a/>,
 *                  XEP-0198 4): a ping stanza would count in the peer's h
 *                  without being in our unacknowledged list.
 *   answer         an iq result or error whose id starts with xs2s-ping-
 *                  is consumed here (counted), never delivered.
 *   dead           no sign of life ping_timeout_s after the ping: the
 *                  stream ends with connection-timeout (RFC 6120 4.9.3.4:
 *                  "reason to believe that the other party has permanently
 *                  lost the ability to communicate over the stream"); its
 *                  routes fail like those of a lost connection, their
 *                  stanzas with remote-server-timeout (RFC 6120 8.3.3.17).
 *   inbound        a peer's stream made bidirectional (XEP-0288) is
 *                  pinged like an outbound one (on a pair we send on); one
 *                  that cannot carry our stanzas is not pinged: the idle
 *                  timeout ends it.
 *
 * Who calls: the engine (engine.c's round, s2s.c). Owns: each slot's
 * struct xs2s_live and the core's live counters. Never touches: link
 * state (it writes a stanza and aborts, through link.h), routes (read).
 */
#include <string.h>
#include "xs2s_config.h"
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "engine/engine.h"

#define LIVE_RETRY_MS 1000 /* a ping that could not be written is tried again this much later */

/* An open stream that carries our stanzas: outbound, or a peer's inbound
 * stream made bidirectional (XEP-0288). */
static bool live_watched(const struct xs2s_core *c, const struct xs2s_slot *s)
{
	const struct xs2s_link *l = &s->link;

	return c->live.idle_ms && l->kind == XS2S_KIND_S2S && l->state == XS2S_LS_OPEN &&
	       (l->dir == XS2S_DIR_OUT || xs2s_bidi_on(s));
}

/* In use: an application stanza went out within the idle timeout. */
static bool live_in_use(const struct xs2s_live *lv, uint32_t now)
{
	return lv->app && now - lv->app_ms < CONFIG_XS2S_IDLE_TIMEOUT_S * XS2S_MS_PER_S;
}

static void live_alive(struct xs2s_core *c, struct xs2s_slot *s, uint32_t now)
{
	struct xs2s_live *lv = &s->live;

	lv->seen_ms = now;
	if (lv->pending) {
		lv->pending = false;
		c->live.answered++;
		XS2S_LOGD(s->link.id, "%s is alive (%lu ms after our ping)", s->link.peer_domain,
			  (unsigned long)(now - lv->ping_ms));
	}
}

/* A ping on s's stream; false when none could be written now (no valid
 * pair, no room in its output). */
static bool live_ping(struct xs2s_core *c, struct xs2s_slot *s, uint32_t now)
{
	struct xs2s_link *l = &s->link;
	struct xs2s_live *lv = &s->live;
	const struct xs2s_route *r;
	char buf[2 * XS2S_DOMAIN_MAX + 160];
	struct xs2s_wbuf w;
	unsigned i = 0;

#if CONFIG_XS2S_SM
	if (xs2s_sm_counts_ours(&c->routes, l)) {
		/* XEP-0198 on the stream: the probe is <r/> (route/sm.h). */
		if (!xs2s_sm_probe(&c->routes, l))
			return false;
		lv->seq++;
		lv->pending = true;
		lv->ping_ms = now;
		c->live.sent++;
		XS2S_LOGI(l->id, "no input from %s for %lu s: <r/> (XEP-0198) as the ping, dead if nothing comes within "
			  "%lu s", l->peer_domain, (unsigned long)((now - lv->seen_ms) / XS2S_MS_PER_S),
			  (unsigned long)(c->live.timeout_ms / XS2S_MS_PER_S));
		return true;
	}
#endif
	for (;; i++) { /* a pair we send on: outbound (a bidi stream carries both) */
		if (!xs2s_route_next_on(&c->routes, l->id, XS2S_RT_VALID, &i))
			return false;
		if (c->routes.r[i].dir == XS2S_DIR_OUT)
			break;
	}
	r = &c->routes.r[i];
	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_raw(&w, "<iq type='get' from='");
	xs2s_w_esc(&w, r->local);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, r->remote);
	xs2s_w_fmt(&w, "' id='" XS2S_PING_ID "%u-%u'><ping xmlns='urn:xmpp:ping'/></iq>", l->id, (unsigned)lv->seq + 1);
	if (w.overflow || xs2s_link_write_stanza(l, buf, w.len) != XS2S_OK)
		return false;
	lv->seq++;
	lv->pending = true;
	lv->ping_ms = now;
	c->live.sent++;
	XS2S_LOGI(l->id, "no input from %s for %lu s: ping (XEP-0199), dead if nothing comes within %lu s", r->remote,
		  (unsigned long)((now - lv->seen_ms) / XS2S_MS_PER_S), (unsigned long)(c->live.timeout_ms / XS2S_MS_PER_S));
	return true;
}

void xs2s_live_timer(struct xs2s_core *c, struct xs2s_slot *s, uint32_t now)
{
	struct xs2s_link *l = &s->link;
	struct xs2s_live *lv = &s->live;

	if (!live_watched(c, s))
		return;
	if (!lv->on) {
		lv->on = true;
		lv->seen_ms = now;
		lv->seen_bytes = l->bytes_in;
	}
	if (l->bytes_in != lv->seen_bytes) {
		lv->seen_bytes = l->bytes_in;
		live_alive(c, s, now);
	}
	if (lv->pending) {
		if (!XS2S_TIME_REACHED(now, lv->ping_ms + c->live.timeout_ms))
			return;
		c->live.dead++;
		XS2S_LOGW(l->id, "dead peer: %s has not answered our ping (XEP-0199) for %lu s", l->peer_domain,
			  (unsigned long)((now - lv->ping_ms) / XS2S_MS_PER_S));
		xs2s_link_abort(l, XS2S_WHY_DEAD_PEER, "peer %s is dead: no answer to our ping within %lu s", l->peer_domain,
				(unsigned long)(c->live.timeout_ms / XS2S_MS_PER_S));
		return;
	}
	if (XS2S_TIME_REACHED(now, lv->seen_ms + c->live.idle_ms) && live_in_use(lv, now) && !live_ping(c, s, now))
		lv->seen_ms = now - c->live.idle_ms + LIVE_RETRY_MS; /* try again then, without spinning */
}

uint32_t xs2s_live_next_ms(const struct xs2s_core *c, const struct xs2s_slot *s, uint32_t now)
{
	const struct xs2s_live *lv = &s->live;
	uint32_t at;

	if (!live_watched(c, s) || !lv->on)
		return UINT32_MAX;
	if (lv->pending)
		at = lv->ping_ms + c->live.timeout_ms;
	else if (live_in_use(lv, now))
		at = lv->seen_ms + c->live.idle_ms;
	else
		return UINT32_MAX;
	return XS2S_TIME_REACHED(now, at) ? 0 : at - now;
}

void xs2s_live_from(struct xs2s_core *c, const char *remote, uint32_t now)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_slot *s = &c->slot[i];

		if (live_watched(c, s) && s->live.on && xs2s_domain_eq(s->link.peer_domain, remote))
			live_alive(c, s, now);
	}
}

void xs2s_live_app_sent(struct xs2s_slot *s, uint32_t now)
{
	s->live.app = true;
	s->live.app_ms = now;
}

bool xs2s_live_is_answer(const struct xs2s_el *st)
{
	const char *type = xs2s_el_attr(st, "type"), *id = xs2s_el_attr(st, "id");

	return !strcmp(xs2s_el_name(st), "iq") && type && (!strcmp(type, "result") || !strcmp(type, "error")) && id &&
	       !strncmp(id, XS2S_PING_ID, sizeof XS2S_PING_ID - 1);
}
