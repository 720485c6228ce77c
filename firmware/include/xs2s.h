/* xs2s public API: one engine object in caller memory.
 *
 * Life cycle:
 *   static struct xs2s_engine eng;         // XS2S_ENGINE_SIZE bytes: every pool,
 *                                          // arena and link slot, sized by Kconfig
 *   struct xs2s_config cfg;
 *   xs2s_config_defaults(&cfg); ...        // fill in domains, certificate, ...
 *   xs2s_engine_start(&eng, &cfg);
 *   for (;;) xs2s_engine_poll(&eng, 1000); // from one thread only
 *   xs2s_engine_stop(&eng);                // graceful: keep polling until
 *   while (!xs2s_engine_idle(&eng)) ...    // idle (or a deadline of yours)
 *   xs2s_engine_fini(&eng);                // listener and TLS contexts released
 *
 * After start nothing is allocated: the engine lives entirely inside `eng`.
 * Several engines may run in one process (each with its own domains); every
 * call takes the engine it acts on. The engine keeps no pointer into the
 * caller's config or buffers after a call returns, but for the
 * configuration's store (struct xs2s_store) and callback argument, which
 * must live as long as the engine.
 *
 * This header is self-contained: it names no internal type. The layout of
 * struct xs2s_engine is private (XS2S_ENGINE_SIZE comes from the build's
 * generated xs2s_sizes.h, computed from the configuration).
 */
#ifndef XS2S_H
#define XS2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xs2s_err.h"
#include "xs2s_app.h"      /* the application interface: send, handlers, iq, views, builder */
#ifndef XS2S_GEN_SIZES
#include "xs2s_sizes.h" /* generated: XS2S_ENGINE_SIZE, XS2S_ENGINE_ALIGN */
#endif

enum xs2s_tls_policy {
	XS2S_TLS_POLICY_REQUIRED = 0,   /* refuse peers without STARTTLS (default) */
	XS2S_TLS_POLICY_OPTIONAL_INSECURE, /* plaintext when the peer offers no STARTTLS, logged */
};

struct xs2s_config {
	const char *domains[CONFIG_XS2S_MAX_DOMAINS]; /* [0] primary; NULL-terminated when fewer */
	const char *listen_addr;       /* "0.0.0.0", "::1"; NULL: no listener */
	uint16_t listen_port;          /* 5269 */
	const uint8_t *cert_pem;       /* our certificate chain, PEM; NULL: no TLS offered */
	size_t cert_len;
	const uint8_t *key_pem;        /* our private key, PEM */
	size_t key_len;
	const uint8_t *ca_pem;         /* trusted CAs, PEM; NULL: every peer cert is untrusted */
	size_t ca_len;
	const char *dialback_secret;   /* NULL or "": random at start; never logged */
	enum xs2s_tls_policy tls_policy;
	bool auth_sasl_external;       /* offer and use SASL EXTERNAL */
	bool auth_dialback;            /* offer and use dialback */
	bool bidi;                     /* XEP-0288 bidirectional streams (CONFIG_XS2S_BIDI builds; else ignored) */
	bool secure_auth;              /* refuse peers without a valid certificate */
	const char *secure_auth_exceptions; /* space-separated domains exempt from it */
	const char *host_map;          /* space-separated "domain=addr:port" entries, after CONFIG_XS2S_HOST_MAP */
	const char *dns_server;        /* "ADDR[:PORT]"; NULL: CONFIG_XS2S_DNS_SERVER, then the port's */
	bool stream_management;        /* XEP-0198 on s2s streams (CONFIG_XS2S_SM builds; default on) */
	uint32_t route_deadline_s;     /* a failed route retries while its oldest stanza is younger than this
					* (CONFIG_XS2S_ROUTE_DEADLINE_S); 0: bounce on the first failure */
	/* Device accounts (xs2s_app.h; CONFIG_XS2S_ACCOUNTS_PRESENCE, else accounts must be NULL or "") */
	const char *accounts;          /* space-separated bare JIDs declared at start (CONFIG_XS2S_ACCOUNTS) */
	enum xs2s_sub_policy sub_policy; /* how they answer subscription requests */
	const char *sub_allow;         /* space-separated allow-list JIDs and domains (CONFIG_XS2S_SUB_ALLOW) */
	xs2s_sub_fn sub_ask;           /* XS2S_SUB_ASK: called per request; NULL: requests just wait */
	void *sub_ask_arg;
	const struct xs2s_store *store; /* loads and saves the subscription table; NULL: RAM only */
	/* XEP-0114 components (CONFIG_XS2S_COMPONENTS builds; elsewhere they
	 * must stay NULL or ""): */
	const char *components;        /* space-separated "name=secret"; NULL or "": none; never logged */
	const char *component_listen;  /* "ADDR:PORT" of their listener, opened when there are components;
					* NULL or "": none (default CONFIG_XS2S_COMPONENT_LISTEN) */
	/* Liveness (XEP-0199) and per-peer policy (XEP-0205), firmware/Kconfig.policy: */
	unsigned ping_idle_s;          /* ping an open outbound stream this long without input; 0: never */
	unsigned ping_timeout_s;       /* no sign of life this long after the ping: the peer is dead */
	const char *allow_domains;     /* space-separated; NULL or "": every domain may federate */
	const char *deny_domains;      /* space-separated; never federate (wins over the allow list) */
	unsigned rate;                 /* stanzas per second per inbound stream; 0: no limit */
	unsigned rate_burst;           /* the bucket: stanzas at once */
	unsigned rate_hard_s;          /* held at its rate this long without a break: policy-violation; 0: never */
	/* XEP-0368 direct TLS (CONFIG_XS2S_DIRECT_TLS builds; elsewhere NULL or ""): */
	const char *listen_tls;        /* "ADDR:PORT" of the direct TLS listener (conventionally port 5270),
					* needs a certificate; NULL or "": none (default
					* CONFIG_XS2S_DIRECT_TLS_LISTEN) */
};
/* The engine copies what it keeps; the PEM buffers may be freed after start. */

#ifndef XS2S_GEN_SIZES
/* One engine. Its bytes are the engine's; never read or write them. */
struct xs2s_engine {
	_Alignas(XS2S_ENGINE_ALIGN) unsigned char opaque[XS2S_ENGINE_SIZE];
};
#endif
struct xs2s_engine;

/* Fill cfg with the Kconfig defaults (no certificate buffers). */
void xs2s_config_defaults(struct xs2s_config *cfg);

/* Initialise eng from cfg and open the listeners. XS2S_EINVAL for a bad
 * domain, host-map entry, DNS server, component entry or component listen
 * address (logged; secrets never), XS2S_ETLS when the certificate or key
 * cannot be used, XS2S_EIO when a listener cannot be opened. On failure eng
 * holds nothing that needs xs2s_engine_fini. */
int xs2s_engine_start(struct xs2s_engine *eng, const struct xs2s_config *cfg);
/* Run one round: wait at most timeout_ms for the engine's sockets, step
 * ready links, fire timers, close finished links. Returns XS2S_OK. */
int xs2s_engine_poll(struct xs2s_engine *eng, uint32_t timeout_ms);
/* Begin a graceful shutdown: every link sends </stream:stream> and queued
 * stanzas are bounced. Keep polling until xs2s_engine_idle(). */
void xs2s_engine_stop(struct xs2s_engine *eng);
bool xs2s_engine_idle(struct xs2s_engine *eng);
/* Release what start acquired (listener, TLS contexts). Links still open are
 * cut without a goodbye. eng may then be started again or reused. */
void xs2s_engine_fini(struct xs2s_engine *eng);

/* Add "domain=addr:port" to the engine's static host map. XS2S_EINVAL for
 * a malformed entry or a full map. */
int xs2s_hostmap_add(struct xs2s_engine *eng, const char *entry);
/* Checks for the configuration's strings, before any engine exists: a host
 * map entry "domain=addr:port" ([v6]:port; the port defaults to 5269), a
 * DNS server "ADDR[:PORT]" (CONFIG_XS2S_DNS builds only) and a component
 * (CONFIG_XS2S_COMPONENTS builds only) as xs2s_engine_start would take them. */
bool xs2s_hostmap_entry_valid(const char *entry);
#ifdef CONFIG_XS2S_DNS
bool xs2s_dns_server_valid(const char *addr_port);
#endif
#ifdef CONFIG_XS2S_COMPONENTS
/* One component entry "NAME=SECRET" as xs2s_engine_start takes it: NAME a
 * domain, SECRET 1..128 printable characters without spaces. */
bool xs2s_component_entry_valid(const char *entry);
#endif

/* New certificate, key and CAs from cfg's PEM buffers (the rest of cfg is
 * not read): new links use them, open links keep theirs (certificates are
 * renewed every 60-90 days; xs2sd does it on SIGHUP). XS2S_OK; XS2S_EINVAL
 * without a certificate and key; XS2S_ETLS when they cannot be used;
 * XS2S_ENOMEM when the TLS arena has no room for a second set of contexts
 * while the old ones are in use. On any error the old credentials stay. */
int xs2s_engine_reload_credentials(struct xs2s_engine *eng, const struct xs2s_config *cfg);

/* Send a chat message from a local JID to any JID: xs2s_send of a message
 * of type chat without a completion (a bounce comes back to the sender:
 * handlers, then the inbox). */
int xs2s_send_message(struct xs2s_engine *eng, const char *from, const char *to, const char *body);

/* Inbox: messages for local JIDs that no handler claimed, and bounces of
 * stanzas sent without a completion. Strings point into the inbox and stay
 * valid until xs2s_inbox_pop(). */
struct xs2s_inbox_msg {
	const char *from, *to, *type, *error, *body;
	const char *error_text;  /* an error's <text/> (RFC 6120 8.3.2: a bounce's reason), or "" */
};
/* XS2S_OK and the oldest message, or XS2S_ENOTFOUND when empty. Also
 * after xs2s_engine_fini (what is left unread), until the next start. */
int xs2s_inbox_peek(struct xs2s_engine *eng, struct xs2s_inbox_msg *m);
void xs2s_inbox_pop(struct xs2s_engine *eng);

/* Status as text (the operator's table) or as one JSON object, into
 * buf[cap], NUL-terminated: its length, or XS2S_ERANGE when it did not fit
 * (buf then holds what fitted, cut at a line). */
int xs2s_status_text(struct xs2s_engine *eng, char *buf, size_t cap);
int xs2s_status_json(struct xs2s_engine *eng, char *buf, size_t cap);
/* The engine's pools as the status shows them, without formatting (an
 * application answering "status" in a few lines): add is called once per
 * pool, in the status's order, with its name ("links", "queue", ...), unit
 * ("bytes" or "items"), use, high-water mark, size and refusals. The
 * port's own pools are not included. */
void xs2s_status_pools(struct xs2s_engine *eng,
		       void (*add)(void *ctx, const char *name, const char *unit, size_t used, size_t high,
				   size_t size, unsigned fails),
		       void *ctx);

#endif
