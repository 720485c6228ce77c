/* XEP-0288 bidirectional server-to-server streams: one connection carries
 * stanzas both ways.
 *
 * Action points (XEP-0288 1.0.1)
 *   in, HEADER        a stream not yet authenticated is offered
 *                     <bidi xmlns='urn:xmpp:features:bidi'/> with the
 *                     authentication offers (2.1: the features before
 *                     authentication; after TLS when TLS is required).
 *   in, <bidi/>       (urn:xmpp:bidi) after we offered it and before any
 *                     pair is authenticated on the stream: the stream is
 *                     bidirectional (2.2); otherwise unsupported-stanza-type
 *                     (RFC 6120 4.9.3.24).
 *   in, sending L->R  only over a pair the peer authenticated on this
 *                     stream (2.2: "MUST NOT send stanzas to the peer before
 *                     it has authenticated"; "MUST only send stanzas for
 *                     which it has been authenticated": after SASL
 *                     EXTERNAL the stream's 'to', the initiator having
 *                     checked our certificate in TLS; after dialback the
 *                     inverse of each verified pair): the inbound route
 *                     (L, R) VALID here gives the outbound route (L, R) on
 *                     the same link, created when a stanza for R leaves L.
 *   in, dialback      the db:verify for a request on a bidirectional stream
 *                     never goes on that stream (2.2: "MUST NOT attempt to
 *                     verify a dialback key on the same connection"): on
 *                     another outbound link to R, or on one opened for it
 *                     alone, which closes once its verifications are
 *                     answered.
 *   out, FEATURES     the peer offers the feature: <bidi xmlns='urn:xmpp:bidi'/>
 *                     before SASL or dialback (2.2: SHOULD come before
 *                     either), when the stream carries our own pair and the
 *                     reverse direction can be authenticated: the peer's
 *                     certificate is valid for its domain, or dialback (not
 *                     SASL EXTERNAL) will authenticate us.
 *   out, pair valid   SASL EXTERNAL with the peer's certificate valid for R,
 *                     or dialback (the inverse pair, 2.2): the inbound route
 *                     (L, R) on our link, VALID; stanzas from R to L are
 *                     then accepted on it, from any other domain they are
 *                     invalid-from (RFC 6120 4.9.3.9), as on an inbound
 *                     stream.
 *   status            a bidirectional link is one row, direction "bidi".
 *
 * Not done: the peer piggybacking further pairs of its own on our outbound
 * link (dialback requests on an outbound stream are refused as before), and
 * our piggybacking on its inbound one: a further pair gets its own stream.
 *
 * Who calls: the engine (s2s.c, status.c). Calls down: the route table
 * (reverse routes on a bidirectional link), the link (writing <bidi/>).
 * Owns: the bidi phase in each slot's authentication state. Never touches:
 * link state, route state other than through xs2s_route_set, other links'
 * streams.
 */
#ifndef XS2S_ENGINE_BIDI_H
#define XS2S_ENGINE_BIDI_H

#include <stdbool.h>
#include "xs2s_config.h"
#include "auth/auth.h"
#include "route/route.h"
#include "xml/xml.h"

struct xs2s_core;
struct xs2s_slot;

#if CONFIG_XS2S_BIDI
/* Slot s's stream carries both directions. */
bool xs2s_bidi_on(const struct xs2s_slot *s);
/* Inbound, before its features: offer <bidi/> while the stream is not
 * authenticated (authenticated: a stream restarted after SASL). */
void xs2s_bidi_header(struct xs2s_core *c, struct xs2s_slot *s, bool authenticated);
/* Inbound: the peer's <bidi xmlns='urn:xmpp:bidi'/>. */
void xs2s_bidi_request_in(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *el);
/* Outbound, on the features before authentication: send <bidi/> when
 * offered and the reverse direction can be authenticated (own: the stream
 * carries our own pair). */
void xs2s_bidi_request_out(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *features, bool own);
/* Outbound: pair (local, remote) became valid on s by method: the reverse
 * direction (remote to local) is accepted on s when XEP-0288 2.2 allows. */
void xs2s_bidi_pair_valid(struct xs2s_core *c, struct xs2s_slot *s, const char *local, const char *remote,
			  enum xs2s_auth_method method);
/* The outbound route (local, remote) on a bidirectional inbound link where
 * the peer authenticated remote for local: found or added (VALID);
 * XS2S_ROUTE_NONE when no such link. */
int xs2s_bidi_out_route(struct xs2s_core *c, const char *local, const char *remote);
/* Status "direction" of slot s: "bidi", else the link's own. */
const char *xs2s_bidi_dir_name(const struct xs2s_slot *s);
#else
static inline bool xs2s_bidi_on(const struct xs2s_slot *s)
{
	(void)s;
	return false;
}
static inline void xs2s_bidi_header(struct xs2s_core *c, struct xs2s_slot *s, bool authenticated)
{
	(void)c, (void)s, (void)authenticated;
}
static inline void xs2s_bidi_request_in(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *el)
{
	(void)c, (void)s, (void)el; /* not called: s2s.c tests IS_ENABLED_XS2S(CONFIG_XS2S_BIDI) first */
}
static inline void xs2s_bidi_request_out(struct xs2s_core *c, struct xs2s_slot *s, const struct xs2s_el *features,
					 bool own)
{
	(void)c, (void)s, (void)features, (void)own;
}
static inline void xs2s_bidi_pair_valid(struct xs2s_core *c, struct xs2s_slot *s, const char *local,
					const char *remote, enum xs2s_auth_method method)
{
	(void)c, (void)s, (void)local, (void)remote, (void)method;
}
static inline int xs2s_bidi_out_route(struct xs2s_core *c, const char *local, const char *remote)
{
	(void)c, (void)local, (void)remote;
	return XS2S_ROUTE_NONE;
}
#define xs2s_bidi_dir_name(s) xs2s_link_dir_name(&(s)->link)
#endif

#endif
