/* XEP-0114 components: the table of the components this engine serves
 * (their names, secrets, and which link serves each name), and the pure
 * helpers the engine's component action points use: the handshake check,
 * where from/to/id sit in a stanza passed on as it came, and the error
 * reply to such a stanza.
 *
 * Action points (the engine calls them; engine/s2s.c wires them)
 *   start:     "name=secret name=secret ..." (xs2s_config.components): every
 *              name a valid domain, neither a local domain nor given twice;
 *              every secret 1..XS2S_COMP_SECRET_MAX printable bytes
 *              without spaces. At most CONFIG_XS2S_MAX_COMPONENTS names.
 *   accept:    a connection on the component listener takes a link slot
 *              only while fewer than CONFIG_XS2S_MAX_COMPONENTS component
 *              links exist (connected or not yet): unauthenticated
 *              connections never crowd out s2s streams.
 *   header:    the name the stream asks for ('to'): its index, or
 *              XS2S_COMP_NONE (the engine answers host-unknown, XEP-0114 3).
 *   handshake: its text must be the hex SHA-1 of stream id + secret
 *              (XEP-0114 3; the secret hashed as configured, as Prosody
 *              and slixmpp do), compared in constant time and without
 *              regard to case (the XEP has the component send lower case;
 *              Prosody accepts either); wrong: not-authorized (XEP-0114 3).
 *              Right while another link serves the name: conflict, and
 *              the NEW link is refused (XEP-0114 3: a name the server will
 *              not service gets a stream error such as <conflict/>;
 *              xs2s_comps_bind is never called for it).
 *   link down: the name is free again; stanzas for it are bounced with
 *              service-unavailable until a component connects again.
 *
 * Who calls: the engine. Owns: the names (struct xs2s_hosted, which the
 * layers below read through env->hosted), the secrets, which link serves
 * each name, the counters of the status row `components`, and the scratch
 * buffer an error reply is built in. Never touches: links, routes, local
 * delivery. Secrets are never logged.
 */
#ifndef XS2S_COMPONENT_H
#define XS2S_COMPONENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xs2s_err.h"
#include "lib/env.h"
#include "lib/jid.h"
#include "lib/stanza.h"

#define XS2S_COMP_NONE (-1)
#define XS2S_COMP_SECRET_MAX 128   /* longest secret accepted */
#define XS2S_COMP_DIGEST_MAX 40    /* the handshake's text: hex SHA-1 */
#define XS2S_COMP_SCRATCH 1024     /* an error reply: three attributes and the condition */

struct xs2s_comp {
	char secret[XS2S_COMP_SECRET_MAX + 1]; /* never logged */
	unsigned link;      /* id of the link serving the name, 0: not connected; read-only above */
	uint8_t slot;       /* its slot; read-only above */
};

struct xs2s_comps {
	struct xs2s_hosted names;        /* [i] is the name of c[i] */
	struct xs2s_comp c[CONFIG_XS2S_MAX_COMPONENTS];
	unsigned links;                  /* component links in any state */
	unsigned used, high;             /* names connected, high-water */
	unsigned refused;                /* connections refused: no room, unknown name, wrong secret, conflict, timeout */
	char scratch[XS2S_COMP_SCRATCH]; /* the last error reply built */
};

/* Parse the configuration (NULL or "": no component). XS2S_EINVAL (logged
 * without the secret) for a malformed entry, a name that is a local domain
 * (env's) or given twice, or more than CONFIG_XS2S_MAX_COMPONENTS names. */
int xs2s_comps_init(struct xs2s_comps *t, const struct xs2s_env *env, const char *config);
/* One entry "NAME=SECRET", n bytes at p, as xs2s_comps_init takes it
 * (whether NAME is a local domain or repeated is not checked here). */
bool xs2s_comps_entry_valid(const char *p, size_t n);
/* Index of the component named name, or XS2S_COMP_NONE. */
int xs2s_comps_find(const struct xs2s_comps *t, const char *name);
/* The component index the link with this id serves, or XS2S_COMP_NONE. */
int xs2s_comps_of_link(const struct xs2s_comps *t, unsigned link);
/* Record whether our certificate names component i's domain (start,
 * reload): SASL EXTERNAL for it only then (names.cert, read by auth). */
void xs2s_comps_set_cert(struct xs2s_comps *t, int i, bool names);

/* A connection on the component listener: true when it may take a link
 * slot (then xs2s_comps_link_freed when that link is freed); false (counted
 * as refused) when CONFIG_XS2S_MAX_COMPONENTS component links exist. */
bool xs2s_comps_link_open(struct xs2s_comps *t);
void xs2s_comps_link_freed(struct xs2s_comps *t);
/* Count a connection turned away (unknown name, wrong secret, conflict, timeout). */
void xs2s_comps_refuse(struct xs2s_comps *t);
/* XEP-0114 3: digest (the handshake's text) is hex SHA-1(stream_id +
 * secret of component i), either case. Constant time in the digest. */
bool xs2s_comps_handshake_ok(const struct xs2s_comps *t, int i, const char *stream_id, const char *digest);
/* Component i is served by link (slot, id) from now on; it must be free. */
void xs2s_comps_bind(struct xs2s_comps *t, int i, uint8_t slot, unsigned link);
/* The link with this id stopped carrying traffic: the name it served (its
 * index, or XS2S_COMP_NONE) is free again. */
int xs2s_comps_link_down(struct xs2s_comps *t, unsigned link);

/* Where from, to and id sit in the top-level start tag of the serialized
 * stanza xml (len bytes, as it came: escaped), its kind (message, presence,
 * iq), and whether it may be bounced: a message or an iq get/set that is
 * not an error (RFC 6120 8.3.1, 10.4.3); presence is never bounced. */
void xs2s_comps_stanza_meta(const char *xml, size_t len, struct xs2s_stanza_meta *m);

/* An error reply (RFC 6120 8.3) to the stanza xml (spans m), built in
 * t->scratch: from its 'to', to its 'from', its id, <error type=...><cond/>.
 * XS2S_OK with *reply, *rlen and *rmeta (spans of the reply, never bounced),
 * or XS2S_ERANGE when it does not fit (very long addresses). */
int xs2s_comps_error(struct xs2s_comps *t, const char *xml, const struct xs2s_stanza_meta *m,
		     enum xs2s_stanza_err cond, const char **reply, size_t *rlen, struct xs2s_stanza_meta *rmeta);

#endif
