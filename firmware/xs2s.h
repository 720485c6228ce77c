/* xs2s public API: one static engine per process.
 *
 * Life cycle: fill a struct xs2s_config, call xs2s_engine_start() once, then
 * call xs2s_engine_poll() forever from one thread; xs2s_engine_stop() closes
 * every stream gracefully. All memory is reserved at build time (Kconfig);
 * after start nothing is allocated outside the engine's bounded pools.
 */
#ifndef XS2S_H
#define XS2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xs2s_err.h"
#include "xml.h"

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
	const char *dialback_secret;   /* NULL or "": random at start; copied, never logged */
	enum xs2s_tls_policy tls_policy;
	bool auth_sasl_external;       /* offer and use SASL EXTERNAL */
	bool auth_dialback;            /* offer and use dialback */
	bool secure_auth;              /* refuse peers without a valid certificate */
	const char *secure_auth_exceptions; /* space-separated domains exempt from it; copied */
};
/* The engine copies what it keeps; the PEM buffers may be freed after start. */

/* Fill cfg with the Kconfig defaults (no certificate buffers). */
void xs2s_config_defaults(struct xs2s_config *cfg);
/* Add "domain=addr:port" to the static host map (before or after start). */
int xs2s_hostmap_add(const char *entry);

int xs2s_engine_start(const struct xs2s_config *cfg);
/* Run one round: wait at most timeout_ms for sockets, step ready links, fire
 * timers, close finished links. Returns XS2S_OK. */
int xs2s_engine_poll(uint32_t timeout_ms);
/* Begin a graceful shutdown: every link sends </stream:stream>. Keep polling
 * until xs2s_engine_idle() is true (or a deadline of your own passes). */
void xs2s_engine_stop(void);
int xs2s_engine_idle(void);

/* Replace the certificate chain, key and trusted CAs (cfg's cert_pem,
 * key_pem, ca_pem; nothing else of cfg is read) for links set up from now
 * on; open links keep the credentials they started with. The TLS arena must
 * hold the new contexts next to the old ones (with a system CA bundle, about
 * as much again as at start). The buffers may be freed on return. XS2S_OK;
 * XS2S_EINVAL without cert or key; XS2S_ETLS (bad PEM, key does not match)
 * or XS2S_ENOMEM (TLS arena): the old credentials stay in use. Only between
 * xs2s_engine_poll() calls. (tls.c; issue 11) */
int xs2s_engine_reload_credentials(const struct xs2s_config *cfg);

/* Send a chat message from a local JID to any JID. Local recipients get it in
 * the inbox; remote ones through the router (queued while the link is set up,
 * bounced to the inbox on failure). XS2S_OK when accepted, XS2S_EINVAL for a
 * bad JID or a non-local sender, XS2S_ENOMEM when no queue room is left. */
int xs2s_send_message(const char *from, const char *to, const char *body);

/* Inbox: messages received for local JIDs and bounces of our own stanzas.
 * Strings point into the inbox and stay valid until xs2s_inbox_pop(). */
struct xs2s_inbox_msg {
	const char *from, *to, *type, *error, *body;
};
/* XS2S_OK and the oldest message, or XS2S_ENOTFOUND when empty. */
int xs2s_inbox_peek(struct xs2s_inbox_msg *m);
void xs2s_inbox_pop(void);

/* Status as text (the operator's table) or as one JSON object. */
void xs2s_status_text(struct xs2s_wbuf *w);
void xs2s_status_json(struct xs2s_wbuf *w);

#endif
