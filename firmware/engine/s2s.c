/* The action points: what the engine does with what a link hands up and
 * with each event, by calling down into local delivery, the route table,
 * authentication and links.
 *
 * Link events
 *   HEADER (in)       features: STARTTLS (link) + our authentication offers;
 *                     a stream restarted after SASL success is open at once.
 *   FEATURES (out)    secure auth check; SASL EXTERNAL for the stream's own
 *                     pair when offered; otherwise (or after SASL) dialback
 *                     for every pair waiting on the link, and the db:verify
 *                     requests bound to it; no common method: unsupported-feature.
 *   ELEMENT           SASL (after TLS), dialback (after negotiation), a
 *                     stanza (inbound, from a domain authenticated on that
 *                     stream, to one of ours); anything else:
 *                     unsupported-stanza-type.
 * Sending (L, R)      the outbound route (L, R), else the peer's own
 *                     bidirectional stream where it authenticated R for L
 *                     (XEP-0288, engine/bidi.h), else a piggyback onto a live
 *                     outbound link to R that can do dialback, else a new
 *                     link; the route table writes or queues.
 * XEP-0288            <bidi/> offered and asked for, the reverse direction's
 *                     routes on a bidirectional link, its db:verify never on
 *                     the stream that asked: engine/bidi.h.
 * Components (XEP-0114; a component's link is kind COMPONENT)
 *   HEADER            the name it asks for must be configured, else
 *                     host-unknown (XEP-0114 3).
 *   <handshake>       hex SHA-1(stream id + secret), else not-authorized
 *                     (XEP-0114 3); right while another link serves the
 *                     name: conflict, and the NEW link is refused (XEP-0114 3:
 *                     a server that will not service a name returns e.g.
 *                     <conflict/>; checked after the handshake, as Prosody's
 *                     default kick_new does, so that only a holder of the
 *                     secret learns that the name is busy; a working
 *                     component is never displaced, and two instances cannot
 *                     take the name from each other in turn); right:
 *                     <handshake/>, the name is bound to the link, OPEN.
 *   stanza            from its own domain only (XEP-0114 3; else
 *                     invalid-from, RFC 6120 4.9.3.9), with a valid 'to'
 *                     (else improper-addressing, RFC 6120 4.9.3.14):
 *                     to a local domain: local delivery; to a component (this
 *                     one too): its stream; to any other domain: the route
 *                     table, with the component's domain as the local side.
 *   a stanza for it   (from a remote peer, a local application or reply,
 *                     another component) goes to its stream as it came;
 *                     not connected: bounced with service-unavailable (RFC
 *                     6120 8.3.3.19); its output full: resource-constraint.
 *   its domain        federates like a local domain (env->hosted): remote
 *                     streams to it, dialback for it (our secret, we are its
 *                     authoritative server), SASL EXTERNAL for it on our
 *                     outbound links only when our certificate names it
 *                     (auth: xs2s_env_cert_names).
 *   bounces           an error goes back to the sender (RFC 6120 8.3.1): a
 *                     local sender's inbox, or an error stanza from the
 *                     recipient to a component or a remote sender.
 * Stream management (XEP-0198, route/sm.h)
 *   features          in: <sm/> offered with the authentication offers
 *                     (once TLS is up) and after SASL; out: noted.
 *   urn:xmpp:sm:3     enable/enabled/failed/r/a go to route/sm.c; a
 *                     stanza handled on an inbound stream is counted.
 * Retry before bouncing (route.h)
 *   a link goes down  retryable reasons (connect refused or timed out, TLS
 *                     failed, connection lost, a dead peer (XEP-0199),
 *                     setup timeout, resource,
 *                     the peer's transient stream errors) keep the queues
 *                     of its routes (RETRY); the poll round opens a new
 *                     link when one is due; past its deadline (or when
 *                     stopping) the queue is bounced.
 * Events
 *   LINK_DOWN         the route table takes back the link's unacknowledged
 *                     stanzas, retries or fails its outbound routes and
 *                     fails the verifications it carried; a component's
 *                     name is free again.
 *   ROUTE_READY (out) the link is open; <enable/> when the peer offered
 *                     stream management; its queue goes out.
 *   ROUTE_FAILED      its queue is bounced in order (with the failed link's
 *                     reason); then it is released.
 *   SENT              the application's completion: handed to a stream.
 *   DB_VERDICT        the inbound link gets <db:result type=valid|invalid|error/>.
 * Policy (XEP-0205, policy.h) and liveness (XEP-0199, live.c)
 *   a remote domain that may not federate: its stream ends with
 *                     policy-violation when its header names it or it
 *                     authenticates as it; a stanza to it bounces with
 *                     not-allowed and opens nothing.
 *   inbound stanza    takes a token of its stream's rate (an empty bucket
 *                     holds the stream's input); is a sign of life of its
 *                     domain's outbound stream; the answer to one of our
 *                     pings stops here.
 */
#include <stdio.h>
#include <string.h>
#include "xs2s_config.h"
#include "xs2s_log.h"
#include "engine/engine.h"

#define S2S_STANZA(n) (!strcmp((n), "message") || !strcmp((n), "presence") || !strcmp((n), "iq"))

static int s2s_bounce(struct xs2s_core *c, const char *from, const char *to, const char *xml, size_t len,
		      const struct xs2s_stanza_meta *meta, enum xs2s_stanza_err cond, const char *why);
#if CONFIG_XS2S_COMPONENTS
static void s2s_comp_deliver(struct xs2s_core *c, int k, const char *from, const char *xml, size_t len,
			     const struct xs2s_stanza_meta *meta);
static int s2s_comp_take(struct xs2s_core *c, int k, const char *from, const char *xml, size_t len,
			 const struct xs2s_stanza_meta *meta);
#endif

static void s2s_retry_route(struct xs2s_core *c, int idx, uint32_t now);

static struct xs2s_slot *s2s_slot_of(struct xs2s_core *c, const struct xs2s_route *r)
{
	struct xs2s_slot *s = &c->slot[r->slot];

	return r->link && s->link.id == r->link && s->link.state != XS2S_LS_FREE ? s : NULL;
}

/* Dialback messages may go out on s now: authentication began (or the
 * stream is open) and no SASL exchange is in flight. */
static bool s2s_db_ready(const struct xs2s_slot *s)
{
	return xs2s_link_live(&s->link) && (s->link.state == XS2S_LS_AUTH || s->link.state == XS2S_LS_OPEN) &&
	       s->auth.sasl != XS2S_SASL_SENT;
}

/* Originating dialback on outbound link s: <db:result> for every route
 * waiting on it, and the <db:verify> requests bound to it (XEP-0220 2.1,
 * 2.3). When the peer cannot do dialback, they fail. */
static void s2s_dialback_out(struct xs2s_core *c, struct xs2s_slot *s)
{
	struct xs2s_link *l = &s->link;
	bool usable = s->auth.peer_dialback && xs2s_auth_dialback_enabled(&c->env);
	unsigned i;

	if (s->auth.sasl == XS2S_SASL_SENT)
		return; /* nothing else may go out during the SASL exchange */
	for (i = 0; xs2s_link_live(l) && xs2s_route_next_on(&c->routes, l->id, XS2S_RT_WAIT, &i); i++) {
		struct xs2s_route *r = &c->routes.r[i];

		if (r->dir != XS2S_DIR_OUT)
			continue;
		if (!usable) {
			snprintf(s->refusal, sizeof s->refusal, "%s cannot authenticate %s: the peer does not offer dialback",
				 r->remote, r->local);
			XS2S_LOGW(l->id, "%s", s->refusal);
			xs2s_route_set(&c->routes, (int)i, XS2S_RT_FAILED, XS2S_AUTH_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
		} else if (xs2s_db_send_result(&c->env, l, r->local, r->remote) == XS2S_OK) {
			xs2s_route_set(&c->routes, (int)i, XS2S_RT_ASKED, XS2S_AUTH_NONE, XS2S_STE_NONE);
		} else {
			break; /* the output is full: the rest waits for the next round (xs2s_s2s_kick) */
		}
	}
	for (i = 0; xs2s_link_live(l) && xs2s_route_next_verify(&c->routes, l->id, &i); i++) {
		struct xs2s_route *r = &c->routes.r[i];

		if (!usable)
			xs2s_route_verify_fail(&c->routes, (int)i, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
		else if (xs2s_db_send_verify(l, r->local, r->remote, r->sid, r->key) == XS2S_OK)
			xs2s_route_verify_sent(&c->routes, (int)i);
		else
			break; /* as above */
	}
	if (usable)
		xs2s_link_authenticating(l);
}

/* The outbound route (local, remote), bound to a link: found, piggybacked
 * onto a live link to remote, or on a new link. XS2S_ENOMEM when no route or
 * link slot is left. */
static int s2s_out_route(struct xs2s_core *c, const char *local, const char *remote, bool need_link)
{
	struct xs2s_slot *s;
	unsigned i;
	int r = xs2s_route_find(&c->routes, XS2S_DIR_OUT, local, remote, 0);

	if (r != XS2S_ROUTE_NONE && c->routes.r[r].state == XS2S_RT_RETRY && need_link) {
		/* Waiting to retry, but a db:verify must go out now: try now. */
		s2s_retry_route(c, r, xs2s_port_now_ms());
		return c->routes.r[r].state == XS2S_RT_WAIT ? r : XS2S_ENOMEM;
	}
	if (r != XS2S_ROUTE_NONE)
		return r;
	/* XEP-0288: the peer's own bidirectional stream, where it authenticated
	 * (remote, local). */
	r = xs2s_bidi_out_route(c, local, remote);
	if (r != XS2S_ROUTE_NONE)
		return r;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &c->slot[i].link;

		/* Piggyback (XEP-0220 2.5): one more domain pair on a stream to the
		 * same peer, as long as dialback can authenticate it there. */
		if (l->dir != XS2S_DIR_OUT || !xs2s_link_live(l) || strcmp(l->peer_domain, remote) ||
		    !xs2s_auth_dialback_enabled(&c->env) ||
		    (l->state >= XS2S_LS_AUTH && !c->slot[i].auth.peer_dialback) ||
		    xs2s_route_on_link(&c->routes, XS2S_DIR_OUT, local, remote, l->id) != XS2S_ROUTE_NONE)
			continue;
		r = xs2s_route_add(&c->routes, XS2S_DIR_OUT, local, remote, (uint8_t)i, l->id);
		if (r < 0)
			continue;
		XS2S_LOGI(l->id, "piggybacking %s -> %s on this stream", local, remote);
		if (s2s_db_ready(&c->slot[i]))
			s2s_dialback_out(c, &c->slot[i]);
		return r;
	}
	s = xs2s_admit_outbound(c, remote);
	if (!s)
		return XS2S_ENOMEM;
	xs2s_link_open_out(&s->link, &c->env, &c->res, (uint8_t)(s - c->slot), ++c->next_id, local, remote);
	r = xs2s_route_add(&c->routes, XS2S_DIR_OUT, local, remote, (uint8_t)(s - c->slot), s->link.id);
	if (r < 0)
		xs2s_link_abort(&s->link, XS2S_WHY_NO_ROOM, "no free route (CONFIG_XS2S_MAX_PAIRS)");
	return r;
}

int xs2s_s2s_send(void *core, const char *from, const char *to, const char *xml, size_t len,
		  const struct xs2s_stanza_meta *meta)
{
	struct xs2s_core *c = core;
	int r;

	if (c->stopping)
		return XS2S_EIO; /* stopping: no new stanza for a peer (the queued ones are bounced) */
#if CONFIG_XS2S_COMPONENTS
	r = xs2s_comps_find(&c->comps, to);
	if (r != XS2S_COMP_NONE)
		return s2s_comp_take(c, r, from, xml, len, meta);
#endif
	if (!xs2s_policy_allowed(&c->policy, to)) {
		/* RFC 6120 8.3.3.10: not-allowed ("sending to entities at a
		 * blacklisted domain"); no route, no connection. */
		char why[XS2S_REFUSAL_MAX];

		snprintf(why, sizeof why, "%s may not federate with this server (%s, XEP-0205)", to,
			 xs2s_policy_why(&c->policy, to));
		c->policy.denied_out++;
		XS2S_LOGI(0, "stanza from %s to %s refused: %s", from, to, why);
		return s2s_bounce(c, from, to, xml, len, meta, XS2S_STE_NOT_ALLOWED, why);
	}
	r = s2s_out_route(c, from, to, false);

	if (r < 0)
		return r;
	if (meta->bounce) /* an application's stanza, not a reply: the stream is in use (live.c) */
		xs2s_live_app_sent(&c->slot[c->routes.r[r].slot], xs2s_port_now_ms());
	return xs2s_route_send(&c->routes, r, &c->slot[c->routes.r[r].slot].link, xml, len, meta);
}

void xs2s_s2s_kick(struct xs2s_core *c, struct xs2s_slot *s)
{
	unsigned i;

	if (s->link.dir != XS2S_DIR_OUT && !xs2s_bidi_on(s))
		return;
	/* Dialback requests that found the output full go first. */
	if (s->link.dir == XS2S_DIR_OUT && s2s_db_ready(s))
		s2s_dialback_out(c, s);
	if (!c->routes.queued || s->link.state != XS2S_LS_OPEN)
		return;
	for (i = 0; xs2s_route_next_on(&c->routes, s->link.id, XS2S_RT_VALID, &i); i++)
		if (c->routes.r[i].queued)
			xs2s_route_flush(&c->routes, (int)i, &s->link);
}

/* An inbound stream's stanzas are answered on the outbound routes back to
 * its senders (each pair (L, R) it carries: the route (L, R) out). While
 * one of those has a full queue, or the queue pool is nearly full
 * (XS2S_HOLD_POOL_ROOM), this stream is read no further, so that no answer
 * is lost for want of room (TCP pushes back on the sender): up to
 * XS2S_FLOW_HOLD_MS when the route flows (VALID: its link's output backs
 * up; bounded, since two servers flooding each other would wait for each
 * other for ever), up to XS2S_SETUP_HOLD_MS while it is being set up (its
 * dialback may need a db:verify behind the stanzas on this very stream).
 * What finds no room after that is answered where possible or counted
 * (answers_lost). */
uint32_t xs2s_s2s_hold_limit(const struct xs2s_slot *s)
{
	return s->wait == 1 ? XS2S_SETUP_HOLD_MS : XS2S_FLOW_HOLD_MS;
}

bool xs2s_s2s_hold_input(struct xs2s_core *c, struct xs2s_slot *s)
{
	const struct xs2s_link *l = &s->link;
	uint32_t now = xs2s_port_now_ms();
	unsigned i;
	bool flowing = false, setup = false, hold;

	if (l->dir != XS2S_DIR_IN || l->state != XS2S_LS_OPEN)
		return false;
	if (l->kind == XS2S_KIND_S2S && xs2s_policy_rate_hold(&c->policy, &s->rate, now))
		return true; /* XEP-0205: no token left; TCP pushes back on the peer */
	for (i = 0; xs2s_route_next_on(&c->routes, l->id, XS2S_RT_VALID, &i); i++) {
		const struct xs2s_route *in = &c->routes.r[i];
		int r = xs2s_route_find(&c->routes, XS2S_DIR_OUT, in->local, in->remote, 0);

		if (r == XS2S_ROUTE_NONE || c->routes.r[r].queued < CONFIG_XS2S_ROUTE_QUEUE)
			continue;
		if (c->routes.r[r].state == XS2S_RT_VALID)
			flowing = true;
		else
			setup = true;
	}
	/* The queue pool nearly full (or no entry left): the longer bound when
	 * every route with stanzas queued flows, the shorter otherwise (one
	 * being set up may need this stream to get going). */
	if (c->routes.queued >= XS2S_QUEUE_ENTRIES || c->routes.pool.size - c->routes.pool.used < XS2S_HOLD_POOL_ROOM) {
		bool all_flow = true;

		for (i = 0; i < XS2S_ROUTES; i++)
			if (c->routes.r[i].queued && c->routes.r[i].state != XS2S_RT_VALID)
				all_flow = false;
		if (all_flow)
			flowing = true;
		else
			setup = true;
	}
	if (!flowing && !setup) {
		s->wait = 0;
		return false;
	}
	if (!s->wait)
		s->wait_ms = now;
	s->wait = setup ? 1 : 2; /* a route in setup: the shorter bound */
	hold = now - s->wait_ms < xs2s_s2s_hold_limit(s);
	if (hold && !l->hold_in)
		c->inputs_held++;
	return hold;
}

/* ---- link events ---- */

/* XEP-0205: may domain, which inbound stream l names or authenticates
 * as, federate with us? Otherwise the stream ends with policy-violation
 * (RFC 6120 4.9.3.14; policy.h says why not host-unknown or
 * not-authorized). */
static bool s2s_policy_in(struct xs2s_core *c, struct xs2s_link *l, const char *domain)
{
	if (xs2s_policy_allowed(&c->policy, domain))
		return true;
	c->policy.denied_in++;
	xs2s_link_abort(l, XS2S_WHY_POLICY_VIOLATION, "%s may not federate with this server (%s, XEP-0205)", domain,
			xs2s_policy_why(&c->policy, domain));
	return false;
}

/* Inbound: the peer opened a stream. */
static void s2s_in_header(struct xs2s_core *c, struct xs2s_slot *s)
{
	struct xs2s_link *l = &s->link;
	bool authenticated = xs2s_route_any_valid(&c->routes, l->id); /* a stream restarted after SASL */

	if (l->peer_domain[0] && !s2s_policy_in(c, l, l->peer_domain))
		return;
	xs2s_bidi_header(c, s, authenticated);
	if (l->st.version1) {
#if CONFIG_XS2S_SM
		/* XEP-0198 2: <sm/> among the features; enabling waits for
		 * authentication (3), before or after a SASL restart. */
		char feat[512];
		const char *auth = xs2s_auth_offers(&c->env, l, &s->auth);
		int n = snprintf(feat, sizeof feat, "%s%s", auth, c->routes.sm_on ? XS2S_SM_FEATURE : "");

		xs2s_link_send_features(l, n > 0 && (size_t)n < sizeof feat ? feat : auth);
#else
		xs2s_link_send_features(l, xs2s_auth_offers(&c->env, l, &s->auth));
#endif
	}
	if (authenticated)
		xs2s_link_authenticated(l);
}

/* Outbound: the stream is ready for authentication. */
static void s2s_out_features(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *features)
{
	struct xs2s_link *l = &s->link;
	int own = xs2s_route_on_link(&c->routes, XS2S_DIR_OUT, l->local_domain, l->peer_domain, l->id);

	xs2s_auth_note_features(&s->auth, l, features);
#if CONFIG_XS2S_SM
	xs2s_sm_note_features(&c->routes, l, features);
#endif
	if (s->auth.sasl == XS2S_SASL_DONE) {
		/* The features after SASL success: the stream's own pair is valid. */
		if (own != XS2S_ROUTE_NONE && c->routes.r[own].state == XS2S_RT_ASKED) {
			xs2s_route_set(&c->routes, own, XS2S_RT_VALID, XS2S_AUTH_SASL_EXTERNAL, XS2S_STE_NONE);
			xs2s_bidi_pair_valid(c, s, l->local_domain, l->peer_domain, XS2S_AUTH_SASL_EXTERNAL);
		}
		s2s_dialback_out(c, s);
		return;
	}
	if (xs2s_auth_secure_for(&c->env, l->peer_domain) && l->cert != XS2S_CERT_VALID) {
		xs2s_link_abort(l, XS2S_WHY_SECURE_AUTH, "secure auth: %s's certificate is %s", l->peer_domain,
				xs2s_cert_verdict_name(l->cert));
		return;
	}
	xs2s_bidi_request_out(c, s, features, own != XS2S_ROUTE_NONE);
	if (own != XS2S_ROUTE_NONE && c->routes.r[own].state == XS2S_RT_WAIT &&
	    xs2s_sasl_start(&c->env, l, &s->auth, features)) {
		xs2s_route_set(&c->routes, own, XS2S_RT_ASKED, XS2S_AUTH_NONE, XS2S_STE_NONE);
		return;
	}
	if (!s->auth.peer_dialback || !xs2s_auth_dialback_enabled(&c->env)) {
		xs2s_link_abort(l, XS2S_WHY_NO_AUTH_METHOD, "no common authentication method with %s (we: %s%s)",
				l->peer_domain, xs2s_auth_sasl_enabled(&c->env) ? "sasl-external " : "",
				xs2s_auth_dialback_enabled(&c->env) ? "dialback" : "");
		return;
	}
	s2s_dialback_out(c, s);
}

/* Receiving SASL: <auth/>. */
static void s2s_sasl_auth(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *el)
{
	struct xs2s_link *l = &s->link;
	int r;

	if (!s2s_policy_in(c, l, l->peer_domain))
		return;
	if (xs2s_sasl_on_auth(&c->env, l, &s->auth, el) != XS2S_SASL_OK)
		return;
	r = xs2s_route_on_link(&c->routes, XS2S_DIR_IN, l->local_domain, l->peer_domain, l->id);
	if (r == XS2S_ROUTE_NONE)
		r = xs2s_route_add(&c->routes, XS2S_DIR_IN, l->local_domain, l->peer_domain, l->slot, l->id);
	if (r < 0) {
		xs2s_sasl_refuse(&c->env, l, "temporary-auth-failure", "no free domain pair");
		return;
	}
	xs2s_route_set(&c->routes, r, XS2S_RT_VALID, XS2S_AUTH_SASL_EXTERNAL, XS2S_STE_NONE);
	xs2s_sasl_accept(l, &s->auth);
}

/* Initiating SASL: <success/> or <failure/>. */
static void s2s_sasl_result(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *el)
{
	struct xs2s_link *l = &s->link;
	int own = xs2s_route_on_link(&c->routes, XS2S_DIR_OUT, l->local_domain, l->peer_domain, l->id);

	if (xs2s_sasl_on_result(&c->env, l, &s->auth, el) != XS2S_SASL_FALLBACK)
		return; /* success: valid with the next features; fatal: the link is ending */
	if (own != XS2S_ROUTE_NONE && c->routes.r[own].state == XS2S_RT_ASKED)
		xs2s_route_set(&c->routes, own, XS2S_RT_WAIT, XS2S_AUTH_NONE, XS2S_STE_NONE);
	s2s_dialback_out(c, s);
}

/* The outbound link a db:verify to remote's authoritative server goes on
 * when the request came on a bidirectional stream (XEP-0288 2.2: never that
 * stream): a live outbound link to remote that can do dialback, else one
 * opened for the verification alone (no pair of its own: it closes once
 * its verifications are answered, s2s_verify_done). NULL when no slot. */
static struct xs2s_slot *s2s_verify_slot(struct xs2s_core *c, const char *local, const char *remote)
{
	struct xs2s_slot *s;
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &c->slot[i].link;

		if (l->dir == XS2S_DIR_OUT && l->kind == XS2S_KIND_S2S && xs2s_link_live(l) &&
		    !strcmp(l->peer_domain, remote) && !(l->state >= XS2S_LS_AUTH && !c->slot[i].auth.peer_dialback))
			return &c->slot[i];
	}
	s = xs2s_admit_outbound(c, remote);
	if (!s)
		return NULL;
	xs2s_link_open_out(&s->link, &c->env, &c->res, (uint8_t)(s - c->slot), ++c->next_id, local, remote);
	XS2S_LOGI(s->link.id, "a connection to %s for the db:verify alone (XEP-0288 2.2)", remote);
	return s;
}

/* An outbound link opened for db:verify alone (no pair of its own) whose
 * verifications are all answered has nothing left to do: closed. */
static void s2s_verify_done(struct xs2s_core *c, struct xs2s_slot *s)
{
	unsigned i = 0;

	if (xs2s_route_next_on(&c->routes, s->link.id, XS2S_RT_FREE, &i))
		return; /* it carries a pair */
	for (i = 0; i < XS2S_ROUTES; i++) {
		const struct xs2s_route *r = &c->routes.r[i];

		if (r->state == XS2S_RT_ASKED && r->dir == XS2S_DIR_IN && r->vstate != XS2S_VF_NONE &&
		    r->vlink == s->link.id)
			return; /* another verification waits for its answer */
	}
	xs2s_link_abort(&s->link, XS2S_WHY_IDLE, "its verifications are answered");
}

/* Receiving dialback: verify a db:result with the authoritative server. */
static void s2s_db_request(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_db_msg *m)
{
	struct xs2s_link *l = &s->link;
	struct xs2s_slot *vs;
	enum xs2s_cert_verdict verdict;
	int r = xs2s_route_on_link(&c->routes, XS2S_DIR_IN, m->local, m->remote, l->id), out;

	if (!s2s_policy_in(c, l, m->remote))
		return;
	if (r != XS2S_ROUTE_NONE && c->routes.r[r].state == XS2S_RT_VALID) {
		xs2s_db_send_verdict(l, m->local, m->remote, XS2S_DB_VALID, XS2S_STE_NONE);
		return;
	}
	if (r != XS2S_ROUTE_NONE && c->routes.r[r].state == XS2S_RT_ASKED)
		return; /* a verification is already running */
	if (r == XS2S_ROUTE_NONE)
		r = xs2s_route_add(&c->routes, XS2S_DIR_IN, m->local, m->remote, l->slot, l->id);
	if (r < 0) {
		xs2s_db_send_verdict(l, m->local, m->remote, XS2S_DB_ERROR, XS2S_STE_RESOURCE_CONSTRAINT);
		return;
	}
	verdict = xs2s_tls_verdict(&l->tls, m->remote);
	if (xs2s_auth_secure_for(&c->env, m->remote) && verdict != XS2S_CERT_VALID) {
		xs2s_link_abort(l, XS2S_WHY_SECURE_AUTH, "secure auth: %s's certificate is %s, dialback alone is not enough",
				m->remote, xs2s_cert_verdict_name(verdict));
		return;
	}
	xs2s_link_authenticating(l);
#if CONFIG_XS2S_DIALBACK_CERT_SHORTCUT
	if (verdict == XS2S_CERT_VALID) {
		/* XEP-0344: the certificate already proves the domain. */
		XS2S_LOGI(l->id, "dialback: %s has a valid certificate, accepted without db:verify (XEP-0344)", m->remote);
		xs2s_route_set(&c->routes, r, XS2S_RT_VALID, XS2S_AUTH_DIALBACK_CERT, XS2S_STE_NONE);
		xs2s_db_send_verdict(l, m->local, m->remote, XS2S_DB_VALID, XS2S_STE_NONE);
		xs2s_link_authenticated(l);
		return;
	}
#endif
	XS2S_LOGI(l->id, "dialback: %s claims to be %s, verifying with its authoritative server", m->remote, m->remote);
	if (xs2s_bidi_on(s)) {
		/* XEP-0288 2.2: never on the stream that asked. */
		vs = s2s_verify_slot(c, m->local, m->remote);
	} else {
		out = s2s_out_route(c, m->local, m->remote, true);
		vs = out < 0 ? NULL : &c->slot[c->routes.r[out].slot];
	}
	if (!vs) {
		xs2s_route_set(&c->routes, r, XS2S_RT_FAILED, XS2S_AUTH_NONE, XS2S_STE_NONE);
		xs2s_db_send_verdict(l, m->local, m->remote, XS2S_DB_ERROR, XS2S_STE_RESOURCE_CONSTRAINT);
		return;
	}
	xs2s_route_verify_begin(&c->routes, r, m->key, l->stream_id, vs->link.id);
	if (s2s_db_ready(vs))
		s2s_dialback_out(c, vs);
}

/* Originating dialback: the verdict on our db:result. */
static void s2s_db_result_verdict(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_db_msg *m)
{
	struct xs2s_link *l = &s->link;
	int r = xs2s_route_on_link(&c->routes, XS2S_DIR_OUT, m->local, m->remote, l->id);

	if (r == XS2S_ROUTE_NONE || c->routes.r[r].state != XS2S_RT_ASKED) {
		xs2s_link_abort(l, XS2S_WHY_NOT_AUTHORIZED, "unsolicited db:result verdict");
		return;
	}
	if (!strcmp(m->type, "valid")) {
		XS2S_LOGI(l->id, "dialback: %s accepted us as %s", m->remote, m->local);
		xs2s_route_set(&c->routes, r, XS2S_RT_VALID, XS2S_AUTH_DIALBACK, XS2S_STE_NONE);
		xs2s_bidi_pair_valid(c, s, m->local, m->remote, XS2S_AUTH_DIALBACK);
		return;
	}
	/* XEP-0220 2.4: the bounces say why (s2s_bounce_queue). */
	if (!strcmp(m->type, "error"))
		snprintf(s->refusal, sizeof s->refusal, "%s could not verify our dialback key for %s (XEP-0220 2.4, "
			 "type=error)", m->remote, m->local);
	else /* the peer's type is not repeated: it may be anything */
		snprintf(s->refusal, sizeof s->refusal, "%s refused our dialback key for %s (XEP-0220 2.4, type=%s)",
			 m->remote, m->local, !strcmp(m->type, "invalid") ? "invalid" : "not valid");
	XS2S_LOGW(l->id, "dialback: %s", s->refusal);
	xs2s_route_set(&c->routes, r, XS2S_RT_FAILED, XS2S_AUTH_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
}

static void s2s_dialback_in(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *el)
{
	struct xs2s_db_msg m;

	switch (xs2s_db_read(&c->env, &s->link, el, &m)) {
	case XS2S_DB_REQUEST:
		s2s_db_request(c, s, &m);
		break;
	case XS2S_DB_RESULT_VERDICT:
		s2s_db_result_verdict(c, s, &m);
		break;
	case XS2S_DB_VERIFY_VERDICT:
		if (xs2s_route_verify_answer(&c->routes, s->link.id, m.local, m.remote, m.id, m.type) != XS2S_OK)
			xs2s_link_abort(&s->link, XS2S_WHY_NOT_AUTHORIZED, "unsolicited db:verify verdict");
		else if (IS_ENABLED_XS2S(CONFIG_XS2S_BIDI) && s->link.dir == XS2S_DIR_OUT)
			s2s_verify_done(c, s);
		break;
	default:
		break;
	}
	memset(m.key, 0, sizeof m.key);
}

/* RFC 7622 on a stanza address: its fault, and its domainpart into
 * dom[XS2S_DOMAIN_MAX + 1] (also when another part is at fault: an error can
 * still come from that domain). XS2S_OK when the domainpart is valid. */
static int s2s_jid(const char *jid, enum xs2s_jid_fault *fault, char *dom)
{
	const char *d = NULL;
	size_t n = 0;

	*fault = xs2s_jid_check(jid, &d, &n);
	if (!d || n == 0 || n > XS2S_DOMAIN_MAX)
		return XS2S_EINVAL;
	memcpy(dom, d, n);
	dom[n] = '\0';
	return XS2S_OK;
}

/* A message, presence or iq: only inbound (or on our bidirectional stream,
 * XEP-0288), from a domain authenticated on this stream for that direction,
 * to one of ours (RFC 6120 4.9.3.9, 4.9.3.4, 4.9.3.6). */
static void s2s_stanza(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *st)
{
	struct xs2s_link *l = &s->link;
	const char *name = xs2s_el_name(st), *from = xs2s_el_attr(st, "from"), *to = xs2s_el_attr(st, "to");
	char fd[XS2S_DOMAIN_MAX + 1], td[XS2S_DOMAIN_MAX + 1];
	enum xs2s_jid_fault ff = XS2S_JID_OK, tf = XS2S_JID_OK;
	int r;

	if ((l->dir != XS2S_DIR_IN && !xs2s_bidi_on(s)) || !xs2s_route_any_valid(&c->routes, l->id)) {
		xs2s_link_abort(l, XS2S_WHY_NOT_AUTHORIZED, "%s before authentication", name);
		return;
	}
	/* RFC 6120 4.9.3.14: no 'from' or 'to', one without a value, or one
	 * that breaks RFC 7622 (only a domain of ours could answer, and only
	 * for 'to': that is jid-malformed below). */
	if (s2s_jid(from, &ff, fd) || s2s_jid(to, &tf, td) || ff != XS2S_JID_OK || tf == XS2S_JID_ENCODING) {
		xs2s_link_abort(l, XS2S_WHY_IMPROPER_ADDRESSING, "%s with %s %s", name,
				ff != XS2S_JID_OK ? "a malformed 'from':" : "a malformed 'to':",
				xs2s_jid_fault_name(ff != XS2S_JID_OK ? ff : tf));
		return;
	}
	if (!xs2s_env_served(&c->env, td)) {
		xs2s_link_abort(l, XS2S_WHY_HOST_UNKNOWN, "%s to %s, which is not served here", name, td);
		return;
	}
	r = xs2s_route_on_link(&c->routes, XS2S_DIR_IN, td, fd, l->id);
	if (r == XS2S_ROUTE_NONE || c->routes.r[r].state != XS2S_RT_VALID) {
		xs2s_link_abort(l, XS2S_WHY_INVALID_FROM, "%s from %s, not authenticated on this stream", name, fd);
		return;
	}
	xs2s_link_stanza_in(l);
#if CONFIG_XS2S_SM
	xs2s_sm_handled(&c->routes, l); /* XEP-0198 4: handled, whatever the answer */
#endif
	xs2s_policy_rate_take(&c->policy, &s->rate, xs2s_port_now_ms());
	xs2s_live_from(c, fd, xs2s_port_now_ms()); /* its domain is alive */
	if (xs2s_live_is_answer(st)) {
		XS2S_LOGD(l->id, "%s answered our ping (%s)", fd, xs2s_el_attr(st, "type"));
		return; /* ours (live.c): never delivered */
	}
	if (tf != XS2S_JID_OK) {
		/* RFC 6120 8.3.3.8: a 'to' whose localpart or resourcepart breaks
		 * RFC 7622, for a domain of ours: jid-malformed, from that domain. */
		size_t n;
		const char *raw = xs2s_link_element_text(l, &n);

		xs2s_app_refuse(&c->app, l->id, st, raw, n, XS2S_STE_JID_MALFORMED, td);
		return;
	}
#if CONFIG_XS2S_COMPONENTS
	r = xs2s_comps_find(&c->comps, td);
	if (r != XS2S_COMP_NONE) {
		struct xs2s_stanza_meta m;
		size_t n;
		const char *raw = xs2s_link_element_text(l, &n);

		xs2s_comps_stanza_meta(raw, n, &m);
		s2s_comp_deliver(c, r, fd, raw, n, &m);
		return;
	}
#endif
	{
		size_t n;
		const char *raw = xs2s_link_element_text(l, &n);

		xs2s_app_deliver(&c->app, l->id, st, raw, n);
	}
}

static void s2s_element(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *el)
{
	struct xs2s_link *l = &s->link;
	const char *ns = xs2s_el_nsuri(el), *name = xs2s_el_name(el);

	if (!strcmp(ns, XS2S_NS_SERVER) && S2S_STANZA(name)) {
		s2s_stanza(c, s, el);
	} else if (!xs2s_link_live(l)) {
		XS2S_LOGD(l->id, "<%s/> ignored: the link is closing", name);
	} else if (!strcmp(ns, XS2S_NS_SASL) && xs2s_link_tls_up(l) && l->state != XS2S_LS_HEADER) {
		if (!strcmp(name, "auth"))
			s2s_sasl_auth(c, s, el);
		else if (!strcmp(name, "success") || !strcmp(name, "failure"))
			s2s_sasl_result(c, s, el);
		else
			xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "unsupported SASL element <%s/>", name);
	} else if (IS_ENABLED_XS2S(CONFIG_XS2S_BIDI) && !strcmp(ns, XS2S_NS_BIDI) && !strcmp(name, "bidi")) {
		xs2s_bidi_request_in(c, s, el);
#if CONFIG_XS2S_SM
	} else if (!strcmp(ns, XS2S_NS_SM) && l->state != XS2S_LS_HEADER) {
		xs2s_sm_element(&c->routes, l, el, xs2s_route_any_valid(&c->routes, l->id));
#endif
	} else if (!strcmp(ns, XS2S_NS_DIALBACK) && (!strcmp(name, "result") || !strcmp(name, "verify"))) {
		if (l->state == XS2S_LS_HEADER || (l->dir == XS2S_DIR_OUT && l->state < XS2S_LS_AUTH))
			xs2s_link_abort(l, XS2S_WHY_NOT_AUTHORIZED, "dialback before stream negotiation");
		else
			s2s_dialback_in(c, s, el);
	} else {
		xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "unsupported element <%s/>", name);
	}
}

/* ---- bounces ---- */

/* A stanza from domain `from` to domain `to` cannot be delivered (cond,
 * why): the error goes back to its sender (RFC 6120 8.3.1): through the
 * application layer for a local sender (its completion, or an error stanza
 * to handlers and the inbox), as an error stanza from the recipient to a
 * component or a remote server. Errors and replies are never bounced.
 * XS2S_ENOMEM when the local queue has no room for a local sender's error
 * now (the caller keeps the stanza and bounces it again later). */
static int s2s_bounce(struct xs2s_core *c, const char *from, const char *to, const char *xml, size_t len,
		      const struct xs2s_stanza_meta *meta, enum xs2s_stanza_err cond, const char *why)
{
#if CONFIG_XS2S_COMPONENTS
	struct xs2s_stanza_meta rmeta;
	const char *reply;
	size_t rlen;
	int rc;

	if (!xs2s_env_local(&c->env, from)) {
		if (!meta->bounce) {
			c->app.counts.not_bounced++; /* RFC 6120 8.3.1 */
			XS2S_LOGI(0, "undeliverable stanza from %s to %s dropped: %s (errors and replies are not bounced)",
				  from, to, xs2s_stanza_err_name(cond));
			return XS2S_OK;
		}
		if (xs2s_comps_error(&c->comps, xml, meta, cond, &reply, &rlen, &rmeta) != XS2S_OK) {
			c->app.counts.answers_lost++;
			XS2S_LOGE(0, "undeliverable stanza from %s to %s dropped: %s (its error reply does not fit)", from,
				  to, xs2s_stanza_err_name(cond));
			return XS2S_OK;
		}
		XS2S_LOGI(0, "bounced stanza from %s to %s: %s", from, to, xs2s_stanza_err_name(cond));
		rc = xs2s_s2s_send(c, to, from, reply, rlen, &rmeta);
		if (rc != XS2S_OK) {
			c->app.counts.answers_lost++;
			XS2S_LOGE(0, "cannot send the %s error to %s: %s", xs2s_stanza_err_name(cond), from,
				  xs2s_err_name(rc));
		}
		return XS2S_OK;
	}
#else
	(void)from, (void)to;
#endif
	return xs2s_app_bounce(&c->app, xml, len, meta, cond, why);
}

#if CONFIG_XS2S_COMPONENTS
/* ---- components (XEP-0114) ---- */

/* The live link serving component k, or NULL. */
static struct xs2s_slot *s2s_comp_slot(struct xs2s_core *c, int k)
{
	const struct xs2s_comp *comp = &c->comps.c[k];
	struct xs2s_slot *s = &c->slot[comp->slot];

	return comp->link && s->link.id == comp->link && xs2s_link_live(&s->link) ? s : NULL;
}

/* A stanza from domain `from` for component k goes to its stream as it came. */
static void s2s_comp_deliver(struct xs2s_core *c, int k, const char *from, const char *xml, size_t len,
			     const struct xs2s_stanza_meta *meta)
{
	const char *name = c->comps.names.name[k];
	struct xs2s_slot *s = s2s_comp_slot(c, k);

	if (!s) {
		XS2S_LOGI(0, "component %s is not connected: stanza from %s bounced (service-unavailable)", name, from);
		s2s_bounce(c, from, name, xml, len, meta, XS2S_STE_SERVICE_UNAVAILABLE, "component not connected");
		return;
	}
	if (!xs2s_link_can_write(&s->link, len))
		xs2s_link_flush(&s->link); /* room, if the component reads */
	if (xs2s_link_write_stanza(&s->link, xml, len) != XS2S_OK) {
		XS2S_LOGW(s->link.id, "component %s reads too slowly: stanza from %s bounced (resource-constraint)", name,
			  from);
		s2s_bounce(c, from, name, xml, len, meta, XS2S_STE_RESOURCE_CONSTRAINT, "component reads too slowly");
	}
}

/* The application layer's stanza for component k, from local domain from
 * (xml is its scratch buffer: the bounce is written elsewhere, into the
 * local queue): onto the component's stream, or bounced to its sender
 * (service-unavailable when it is not connected). XS2S_ENOMEM, nothing sent,
 * when the component reads too slowly or the bounce finds no room. */
static int s2s_comp_take(struct xs2s_core *c, int k, const char *from, const char *xml, size_t len,
			 const struct xs2s_stanza_meta *meta)
{
	const char *name = c->comps.names.name[k];
	struct xs2s_slot *s = s2s_comp_slot(c, k);

	if (!s) {
		XS2S_LOGI(0, "component %s is not connected: stanza from %s bounced (service-unavailable)", name, from);
		return s2s_bounce(c, from, name, xml, len, meta, XS2S_STE_SERVICE_UNAVAILABLE, "component not connected");
	}
	if (!xs2s_link_can_write(&s->link, len))
		xs2s_link_flush(&s->link);
	if (xs2s_link_write_stanza(&s->link, xml, len) != XS2S_OK) {
		XS2S_LOGW(s->link.id, "component %s reads too slowly: stanza from %s refused", name, from);
		return XS2S_ENOMEM;
	}
	if (meta->track)
		xs2s_evq_post(&c->evq, XS2S_EV_SENT, meta->track, 0, 0, 0); /* on the component's stream */
	return XS2S_OK;
}

/* XEP-0114 3: the handshake proves the secret for the name the header asked for. */
static void s2s_comp_handshake(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *el)
{
	static const char done[] = "<handshake/>";
	struct xs2s_link *l = &s->link;
	int k = xs2s_comps_find(&c->comps, l->peer_domain);
	char digest[XS2S_COMP_DIGEST_MAX + 1];
	struct xs2s_el child;

	if (xs2s_comps_of_link(&c->comps, l->id) != XS2S_COMP_NONE || k == XS2S_COMP_NONE) {
		xs2s_link_abort(l, XS2S_WHY_POLICY_VIOLATION, "component %s: unexpected handshake", l->peer_domain);
		return;
	}
	if (xs2s_el_child(el, NULL, NULL, &child) || xs2s_el_text(el, digest, sizeof digest) < 0 ||
	    !xs2s_comps_handshake_ok(&c->comps, k, l->stream_id, digest)) {
		xs2s_comps_refuse(&c->comps);
		xs2s_link_abort(l, XS2S_WHY_NOT_AUTHORIZED, "component %s: wrong secret (handshake does not match)",
				l->peer_domain);
		return;
	}
	if (c->comps.c[k].link) {
		/* XEP-0114 3: a name the server will not service gets a stream
		 * error such as <conflict/>: the new link; the connected component
		 * keeps its name (Prosody's default, component_conflict_resolve =
		 * kick_new; see the action points). */
		xs2s_comps_refuse(&c->comps);
		xs2s_link_abort(l, XS2S_WHY_CONFLICT, "component %s is already connected (link %u): this connection is "
				"refused", l->peer_domain, c->comps.c[k].link);
		return;
	}
	if (xs2s_link_write(l, done, sizeof done - 1) != XS2S_OK) {
		xs2s_link_abort(l, XS2S_WHY_RESOURCE, "no room for <handshake/>");
		return;
	}
	xs2s_comps_bind(&c->comps, k, l->slot, l->id);
	xs2s_link_authenticated(l);
	XS2S_LOGI(l->id, "component %s connected (XEP-0114 handshake from %s)", l->peer_domain, l->addr);
}

/* A stanza of component k: from its own domain, to any domain. */
static void s2s_comp_stanza(struct xs2s_core *c, struct xs2s_slot *s, int k, const struct xs2s_el *st)
{
	struct xs2s_link *l = &s->link;
	const char *name = xs2s_el_name(st), *from = xs2s_el_attr(st, "from"), *to = xs2s_el_attr(st, "to");
	const char *comp = c->comps.names.name[k], *raw;
	char fd[XS2S_DOMAIN_MAX + 1], td[XS2S_DOMAIN_MAX + 1];
	struct xs2s_stanza_meta m;
	size_t n;
	int rc;

	enum xs2s_jid_fault ff = XS2S_JID_OK, tf = XS2S_JID_OK;

	if (s2s_jid(from, &ff, fd) || strcmp(fd, comp)) {
		xs2s_link_abort(l, XS2S_WHY_INVALID_FROM, "component %s sent a %s from '%s', not from its own domain", comp,
				name, from ? from : "");
		return;
	}
	if (ff != XS2S_JID_OK || s2s_jid(to, &tf, td) || tf == XS2S_JID_ENCODING) {
		/* RFC 6120 4.9.3.14 */
		xs2s_link_abort(l, XS2S_WHY_IMPROPER_ADDRESSING, "component %s sent a %s with a malformed %s", comp,
				name, ff == XS2S_JID_OK ? "'to'" : "'from'");
		return;
	}
	xs2s_link_stanza_in(l);
	raw = xs2s_link_element_text(l, &n);
	if (tf != XS2S_JID_OK) {
		/* RFC 6120 8.3.3.8: jid-malformed, back to the component (from the
		 * domain when it is one of ours). */
		if (xs2s_env_local(&c->env, td)) {
			xs2s_app_refuse(&c->app, l->id, st, raw, n, XS2S_STE_JID_MALFORMED, td);
			return;
		}
		c->app.counts.jid_malformed++;
		XS2S_LOGI(l->id, "component %s sent a %s to '%.80s': jid-malformed (%s)", comp, name, to,
			  xs2s_jid_fault_name(tf));
		xs2s_comps_stanza_meta(raw, n, &m);
		s2s_bounce(c, fd, td, raw, n, &m, XS2S_STE_JID_MALFORMED, "");
		return;
	}
	if (xs2s_env_local(&c->env, td)) {
		xs2s_app_deliver(&c->app, l->id, st, raw, n);
		return;
	}
	xs2s_comps_stanza_meta(raw, n, &m);
	rc = xs2s_s2s_send(c, fd, td, raw, n, &m);
	if (rc != XS2S_OK) {
		XS2S_LOGW(l->id, "cannot route %s from %s to %s: %s", name, comp, td, xs2s_err_name(rc));
		s2s_bounce(c, fd, td, raw, n, &m,
			   rc == XS2S_ENOMEM ? XS2S_STE_RESOURCE_CONSTRAINT : XS2S_STE_REMOTE_SERVER_NOT_FOUND, "");
	}
}

/* What a component's link hands up. */
static void s2s_comp_event(struct xs2s_core *c, struct xs2s_slot *s, enum xs2s_link_ev ev, const struct xs2s_el *el)
{
	struct xs2s_link *l = &s->link;
	const char *ns, *name;
	int k;

	if (ev == XS2S_LINK_HEADER) {
		if (xs2s_comps_find(&c->comps, l->peer_domain) == XS2S_COMP_NONE) {
			xs2s_comps_refuse(&c->comps);
			xs2s_link_abort(l, XS2S_WHY_HOST_UNKNOWN, "component %s is not configured here", l->peer_domain);
			return;
		}
		XS2S_LOGI(l->id, "component %s: stream opened, waiting for its handshake", l->peer_domain);
		return;
	}
	if (ev != XS2S_LINK_ELEMENT)
		return;
	ns = xs2s_el_nsuri(el);
	name = xs2s_el_name(el);
	if (!xs2s_link_live(l)) {
		XS2S_LOGD(l->id, "<%s/> ignored: the component's link is closing", name);
	} else if (strcmp(ns, XS2S_NS_COMPONENT)) {
		xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "component %s sent <%s xmlns='%s'/>", l->peer_domain,
				name, ns);
	} else if (!strcmp(name, "handshake")) {
		s2s_comp_handshake(c, s, el);
	} else if (!S2S_STANZA(name)) {
		xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "component %s sent <%s/>", l->peer_domain, name);
	} else if ((k = xs2s_comps_of_link(&c->comps, l->id)) == XS2S_COMP_NONE) {
		xs2s_link_abort(l, XS2S_WHY_NOT_AUTHORIZED, "component %s sent a %s before its handshake", l->peer_domain,
				name);
	} else {
		s2s_comp_stanza(c, s, k, el);
	}
}

/* A link went down: a component's name is free again; a component link
 * that timed out before its handshake counts as refused. */
static void s2s_comp_down(struct xs2s_core *c, const struct xs2s_ev *e)
{
	const struct xs2s_link *l = &c->slot[e->idx].link;
	int k = xs2s_comps_link_down(&c->comps, e->id);

	if (k != XS2S_COMP_NONE)
		XS2S_LOGI(e->id, "component %s disconnected: stanzas for it are bounced (service-unavailable) until it "
				 "connects again", c->comps.names.name[k]);
	else if (l->id == e->id && l->kind == XS2S_KIND_COMPONENT && l->why == XS2S_WHY_SETUP_TIMEOUT)
		xs2s_comps_refuse(&c->comps);
}
#endif

void xs2s_s2s_link_event(struct xs2s_core *c, struct xs2s_slot *s, enum xs2s_link_ev ev, const struct xs2s_el *el)
{
#if CONFIG_XS2S_COMPONENTS
	if (s->link.kind == XS2S_KIND_COMPONENT) {
		s2s_comp_event(c, s, ev, el);
		return;
	}
#endif
	switch (ev) {
	case XS2S_LINK_HEADER:
		s2s_in_header(c, s);
		break;
	case XS2S_LINK_FEATURES:
		s2s_out_features(c, s, el);
		break;
	case XS2S_LINK_ELEMENT:
		s2s_element(c, s, el);
		break;
	default:
		break;
	}
}

/* ---- events ---- */

/* Bounce failed route idx's queue in order (with the reason of the link
 * that failed it, while its slot is not reused), then release the route.
 * When the local queue has no room for the next bounce, the rest waits for
 * xs2s_s2s_bounce_retry (after the application's next turn): never lost. */
static void s2s_bounce_queue(struct xs2s_core *c, int idx)
{
	struct xs2s_route *r = &c->routes.r[idx];
	const struct xs2s_slot *s = &c->slot[r->slot];
	/* The reason of the link whose end failed it, or why its pair was
	 * refused on a link that lives on (dialback). */
	const char *why = r->failed_link && s->link.id == r->failed_link ? s->link.reason
			  : !r->failed_link && r->link && s->link.id == r->link ? s->refusal : "";
	const struct xs2s_qent *q;

	while ((q = xs2s_route_head(&c->routes, idx)) != NULL) {
		if (s2s_bounce(c, r->local, r->remote, q->data, q->len, &q->meta, (enum xs2s_stanza_err)r->fail_cond,
			       why) == XS2S_ENOMEM) {
			c->bounce_wait = true;
			return;
		}
		xs2s_route_drop_head(&c->routes, idx);
	}
	xs2s_route_release(&c->routes, idx);
}

void xs2s_s2s_bounce_retry(struct xs2s_core *c)
{
	unsigned i;

	c->bounce_wait = false;
	for (i = 0; i < XS2S_ROUTES && !c->bounce_wait; i++)
		if (c->routes.r[i].state == XS2S_RT_FAILED && c->routes.r[i].queued)
			s2s_bounce_queue(c, (int)i);
}

/* ---- retry before bouncing ---- */

/* Whether what ended link l may go differently on a new attempt: transport
 * and setup failures and the peer's transient stream errors (RFC 6120
 * 4.9.3: connection-timeout, internal-server-error,
 * remote-connection-failed, reset, resource-constraint, system-shutdown);
 * not refusals (not-authorized, host-unknown, policy-violation, ...), an
 * unresolvable name, or our own stop. */
static bool s2s_retryable(const struct xs2s_link *l)
{
	switch (l->why) {
	case XS2S_WHY_CONNECT_FAILED:
	case XS2S_WHY_CONNECT_TIMEOUT:
	case XS2S_WHY_NO_ROOM:
	case XS2S_WHY_TLS_FAILED:
	case XS2S_WHY_TLS_NO_MEMORY:
	case XS2S_WHY_LOST:
	case XS2S_WHY_DEAD_PEER: /* no answer to our ping (live.c): a new connection may get one */
	case XS2S_WHY_PEER_CLOSED:
	case XS2S_WHY_IDLE:
	case XS2S_WHY_SETUP_TIMEOUT:
	case XS2S_WHY_RESOURCE:
		return true;
	case XS2S_WHY_PEER_STREAM_ERROR:
		switch (l->peer_se) {
		case XS2S_SE_CONNECTION_TIMEOUT:
		case XS2S_SE_INTERNAL_SERVER_ERROR:
		case XS2S_SE_REMOTE_CONNECTION_FAILED:
		case XS2S_SE_RESET:
		case XS2S_SE_RESOURCE_CONSTRAINT:
		case XS2S_SE_SYSTEM_SHUTDOWN:
			return true;
		default:
			return false;
		}
	default:
		return false;
	}
}

/* Route idx (RETRY) tries again on a new link, or waits longer when no
 * slot is free; past its deadline, or when stopping, it fails. */
static void s2s_retry_route(struct xs2s_core *c, int idx, uint32_t now)
{
	struct xs2s_route *r = &c->routes.r[idx];
	struct xs2s_slot *s;

	if (c->stopping || xs2s_route_expired(&c->routes, idx, now)) {
		xs2s_route_retry_fail(&c->routes, idx);
		return;
	}
	s = xs2s_admit_outbound(c, r->remote);
	if (!s) {
		xs2s_route_retry_later(&c->routes, idx, now);
		return;
	}
	xs2s_link_open_out(&s->link, &c->env, &c->res, (uint8_t)(s - c->slot), ++c->next_id, r->local, r->remote);
	xs2s_route_rebind(&c->routes, idx, (uint8_t)(s - c->slot), s->link.id);
}

void xs2s_s2s_retry(struct xs2s_core *c, uint32_t now)
{
	unsigned i;

	for (i = 0; xs2s_route_next_due(&c->routes, now, &i); i++)
		s2s_retry_route(c, (int)i, now);
}

void xs2s_s2s_retry_cancel(struct xs2s_core *c)
{
	unsigned i;

	for (i = 0; c->routes.retrying && i < XS2S_ROUTES; i++)
		xs2s_route_retry_fail(&c->routes, (int)i);
}

/* The route an event names, or NULL when it has been freed since. */
static struct xs2s_route *s2s_route_of(struct xs2s_core *c, const struct xs2s_ev *e)
{
	struct xs2s_route *r = &c->routes.r[e->idx];

	return r->state != XS2S_RT_FREE && r->gen == (uint16_t)e->id ? r : NULL;
}

void xs2s_s2s_event(struct xs2s_core *c, const struct xs2s_ev *e)
{
	struct xs2s_route *r;
	struct xs2s_slot *s;

	switch (e->type) {
	case XS2S_EV_LINK_DOWN:
		xs2s_route_link_down(&c->routes, (uint8_t)e->idx, e->id, (enum xs2s_stanza_err)e->cond,
				     !c->stopping && c->slot[e->idx].link.id == e->id && s2s_retryable(&c->slot[e->idx].link),
				     xs2s_port_now_ms());
#if CONFIG_XS2S_COMPONENTS
		s2s_comp_down(c, e);
#endif
		break;
	case XS2S_EV_ROUTE_READY:
		if (!(r = s2s_route_of(c, e)) || r->dir != XS2S_DIR_OUT || !(s = s2s_slot_of(c, r)))
			break;
		xs2s_link_authenticated(&s->link);
#if CONFIG_XS2S_SM
		xs2s_sm_start(&c->routes, &s->link); /* XEP-0198 3: after authentication, before the stanzas */
#endif
		xs2s_route_flush(&c->routes, e->idx, &s->link);
		/* After the queue: accounts send their presence to subscribers there (app/account.h). */
		xs2s_app_acct_route_ready(&c->app, r->local, r->remote);
		break;
	case XS2S_EV_ROUTE_FAILED:
		if (!(r = s2s_route_of(c, e)))
			break;
		s2s_bounce_queue(c, e->idx);
		break;
	case XS2S_EV_SENT:
		xs2s_app_sent(&c->app, e->idx);
		break;
	case XS2S_EV_DB_VERDICT:
		if (!(r = s2s_route_of(c, e)) || !(s = s2s_slot_of(c, r)))
			break;
		xs2s_db_send_verdict(&s->link, r->local, r->remote, (enum xs2s_db_verdict)e->verdict,
				     (enum xs2s_stanza_err)e->cond);
		if (e->verdict == XS2S_DB_VALID)
			xs2s_link_authenticated(&s->link);
		break;
	default:
		break;
	}
}
