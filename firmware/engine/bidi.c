/* XEP-0288 bidirectional server-to-server streams: the action points are in
 * bidi.h. Built with CONFIG_XS2S_BIDI. */
#include <string.h>
#include "xs2s_config.h"
#include "xs2s_log.h"
#include "engine/engine.h"

bool xs2s_bidi_on(const struct xs2s_slot *s)
{
	return s->auth.bidi == XS2S_BIDI_ON;
}

const char *xs2s_bidi_dir_name(const struct xs2s_slot *s)
{
	return xs2s_bidi_on(s) ? "bidi" : xs2s_link_dir_name(&s->link);
}

/* XEP-0288 2.1: the feature goes with the features before authentication;
 * a stream restarted after SASL success is authenticated: not again. */
void xs2s_bidi_header(struct xs2s_core *c, struct xs2s_slot *s, bool authenticated)
{
	struct xs2s_auth_state *a = &s->auth;

	if (authenticated) {
		if (a->bidi == XS2S_BIDI_OFFERED)
			a->bidi = XS2S_BIDI_NONE;
		return;
	}
	/* A link of one pair (XS2S_MAX_PAIRS) has no room for the reverse direction. */
	if (c->env.bidi && CONFIG_XS2S_MAX_PAIRS >= 2 && s->link.dir == XS2S_DIR_IN && s->link.kind == XS2S_KIND_S2S &&
	    a->bidi == XS2S_BIDI_NONE)
		a->bidi = XS2S_BIDI_OFFERED;
}

/* XEP-0288 2.2: the initiating server asks with <bidi xmlns='urn:xmpp:bidi'/>
 * after the features that offered it, before authenticating. Anything else
 * (not offered, already authenticated, on our own stream, before TLS when
 * TLS is required) is an element we do not support here. */
void xs2s_bidi_request_in(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *el)
{
	struct xs2s_link *l = &s->link;

	(void)el;
	if (s->auth.bidi == XS2S_BIDI_ON && l->dir == XS2S_DIR_IN) {
		XS2S_LOGD(l->id, "XEP-0288: <bidi/> again, ignored");
		return;
	}
	if (l->dir != XS2S_DIR_IN || s->auth.bidi != XS2S_BIDI_OFFERED || l->state == XS2S_LS_HEADER ||
	    !(xs2s_link_tls_up(l) || xs2s_link_plain_allowed(l)) || xs2s_route_any_valid(&c->routes, l->id) ||
	    s->auth.sasl == XS2S_SASL_DONE) {
		/* RFC 6120 4.9.3.24 */
		xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "<bidi/> that was not offered on this stream");
		return;
	}
	s->auth.bidi = XS2S_BIDI_ON;
	XS2S_LOGI(l->id, "XEP-0288: %s asked for a bidirectional stream: once it authenticates here, stanzas to it "
			 "go on this stream", l->peer_domain);
}

/* XEP-0288 2.2: <bidi/> before SASL or dialback. Only when the reverse
 * direction can be authenticated: SASL EXTERNAL authenticates us, and the
 * peer only by its certificate (the stream's 'to', 2.2); dialback
 * authenticates the inverse pair. */
void xs2s_bidi_request_out(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *features, bool own)
{
	struct xs2s_link *l = &s->link;
	struct xs2s_el x;
	bool sasl;

	if (!c->env.bidi || s->auth.bidi != XS2S_BIDI_NONE || l->dir != XS2S_DIR_OUT || !own || !features ||
	    !features->node || !xs2s_el_child(features, XS2S_NS_BIDI_FEATURE, "bidi", &x))
		return;
	if (CONFIG_XS2S_MAX_PAIRS < 2) {
		XS2S_LOGI(l->id, "XEP-0288: %s offers bidi; not asked: a link carries one pair (XS2S_MAX_PAIRS)",
			  l->peer_domain);
		return;
	}
	sasl = xs2s_auth_sasl_enabled(&c->env) && xs2s_el_child(features, XS2S_NS_SASL, "mechanisms", &x);
	if (sasl && l->cert != XS2S_CERT_VALID) {
		XS2S_LOGI(l->id, "XEP-0288: %s offers bidi; not asked: its certificate is %s, so SASL EXTERNAL would "
				 "leave the reverse direction unauthenticated", l->peer_domain, xs2s_cert_verdict_name(l->cert));
		return;
	}
	if (xs2s_link_write(l, XS2S_BIDI_REQUEST, sizeof XS2S_BIDI_REQUEST - 1) != XS2S_OK)
		return; /* no room: the stream stays one-way */
	s->auth.bidi = XS2S_BIDI_ON;
	XS2S_LOGI(l->id, "XEP-0288: bidirectional stream requested from %s", l->peer_domain);
}

/* Our pair (local, remote) is valid on our outbound stream s: XEP-0288 2.2
 * lets the peer send remote -> local here, after SASL EXTERNAL when its
 * certificate proved remote (we checked it for the stream's 'to'), after
 * dialback for the inverse of the pair. */
void xs2s_bidi_pair_valid(struct xs2s_core *c, struct xs2s_slot *s, const char *local, const char *remote,
			  enum xs2s_auth_method method)
{
	struct xs2s_link *l = &s->link;
	int r;

	if (!xs2s_bidi_on(s) || l->dir != XS2S_DIR_OUT || strcmp(remote, l->peer_domain))
		return;
	if (method == XS2S_AUTH_SASL_EXTERNAL && l->cert != XS2S_CERT_VALID) {
		XS2S_LOGW(l->id, "XEP-0288: %s's certificate is %s: its stanzas are not accepted on this stream", remote,
			  xs2s_cert_verdict_name(l->cert));
		return;
	}
	r = xs2s_route_on_link(&c->routes, XS2S_DIR_IN, local, remote, l->id);
	if (r != XS2S_ROUTE_NONE && c->routes.r[r].state == XS2S_RT_VALID)
		return;
	if (r == XS2S_ROUTE_NONE)
		r = xs2s_route_add(&c->routes, XS2S_DIR_IN, local, remote, l->slot, l->id);
	if (r < 0) {
		XS2S_LOGW(l->id, "XEP-0288: no route left for %s -> %s: its stanzas are not accepted on this stream",
			  remote, local);
		return;
	}
	xs2s_route_set(&c->routes, r, XS2S_RT_VALID, method, XS2S_STE_NONE);
	XS2S_LOGI(l->id, "XEP-0288: %s -> %s accepted on this stream (%s)", remote, local, xs2s_auth_method_name(method));
}

int xs2s_bidi_out_route(struct xs2s_core *c, const char *local, const char *remote)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_slot *s = &c->slot[i];
		struct xs2s_link *l = &s->link;
		int in, r;

		if (!xs2s_bidi_on(s) || l->dir != XS2S_DIR_IN || !xs2s_link_live(l))
			continue;
		/* XEP-0288 2.2: only what the peer authenticated here, reversed. */
		in = xs2s_route_on_link(&c->routes, XS2S_DIR_IN, local, remote, l->id);
		if (in == XS2S_ROUTE_NONE || c->routes.r[in].state != XS2S_RT_VALID)
			continue;
		r = xs2s_route_on_link(&c->routes, XS2S_DIR_OUT, local, remote, l->id);
		if (r != XS2S_ROUTE_NONE) {
			if (c->routes.r[r].state == XS2S_RT_VALID)
				return r;
			continue;
		}
		r = xs2s_route_add(&c->routes, XS2S_DIR_OUT, local, remote, (uint8_t)i, l->id);
		if (r < 0)
			continue;
		xs2s_route_set(&c->routes, r, XS2S_RT_VALID, (enum xs2s_auth_method)c->routes.r[in].method, XS2S_STE_NONE);
		XS2S_LOGI(l->id, "XEP-0288: %s -> %s goes on this bidirectional stream", local, remote);
		return r;
	}
	return XS2S_ROUTE_NONE;
}
