/* Local delivery: stanzas for the engine's own domains (the inbox, iq
 * answers), bounces of our own stanzas, and the stanzas the device's
 * applications send.
 *
 * Action points (inbound stanzas arrive authenticated: the engine checked
 * them against the route table)
 *   message: into the inbox; inbox full -> error resource-constraint back.
 *   iq get/set to the bare domain: urn:xmpp:ping -> result; disco#info ->
 *     identity and features; anything else, or to a user JID ->
 *     service-unavailable (RFC 6120 8.4). iq result/error: nothing waits for
 *     them, dropped with a debug line.
 *   presence: no presence service here, dropped with a debug line.
 *   bounce: a message we could not deliver goes back to its sender's inbox
 *     as an error; errors and replies are never bounced (RFC 6120 8.3.1).
 *
 * Who calls: the engine. Owns: the inbox and the outgoing-stanza scratch
 * buffer. Never touches: links, routes: a stanza to send (a reply, an
 * application's message) is handed back in struct xs2s_outgoing and the
 * engine routes it.
 */
#ifndef XS2S_LOCAL_H
#define XS2S_LOCAL_H

#include <stddef.h>
#include "lib/env.h"
#include "lib/stanza.h"
#include "xml/xml.h"

/* A stanza built here for the engine to route (len 0: nothing to send). */
struct xs2s_outgoing {
	const char *xml;                  /* in the scratch buffer, until the next call */
	size_t len;
	struct xs2s_stanza_meta meta;
	char from[XS2S_DOMAIN_MAX + 1];   /* the local domain it leaves */
	char to[XS2S_DOMAIN_MAX + 1];     /* the domain it goes to */
	const char *what;                 /* for logs: "iq result", "service-unavailable error", ... */
};

struct xs2s_local {
	const struct xs2s_env *env;
	size_t inbox_used, inbox_high;    /* bytes */
	unsigned inbox_count;             /* messages */
	size_t scratch_high;              /* largest stanza built */
	char inbox[CONFIG_XS2S_INBOX_BYTES];
	char scratch[CONFIG_XS2S_MAX_STANZA];
};

void xs2s_local_init(struct xs2s_local *loc, const struct xs2s_env *env);

/* An authenticated stanza (message, presence, iq) for a local domain that
 * arrived on link_id; a reply to send comes back in *out. */
void xs2s_local_deliver(struct xs2s_local *loc, unsigned link_id, const struct xs2s_el *st, struct xs2s_outgoing *out);
/* The device sends a chat message: XS2S_OK with *out to route (out->len 0
 * when it went to the local inbox), XS2S_EINVAL for a bad JID or a sender
 * not ours, XS2S_ERANGE when it does not fit in one stanza, XS2S_ENOMEM when
 * the local inbox is full. */
int xs2s_local_message(struct xs2s_local *loc, const char *from, const char *to, const char *body,
		       struct xs2s_outgoing *out);
/* A stanza of ours that cannot be delivered (cond says why). */
void xs2s_local_bounce(struct xs2s_local *loc, const char *xml, size_t len, const struct xs2s_stanza_meta *m,
		       enum xs2s_stanza_err cond);

/* The inbox (xs2s.h). */
int xs2s_local_inbox_peek(struct xs2s_local *loc, const char **fields);
void xs2s_local_inbox_pop(struct xs2s_local *loc);

#endif
