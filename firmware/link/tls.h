/* TLS glue over wolfSSL: the engine's contexts and arena, and one session
 * per link that reads ciphertext from the link's rx queue and writes it to
 * its tx queue through wolfSSL's I/O callbacks. It never touches a socket.
 *
 * Policy, enforced here for every session: TLS 1.2 minimum (1.3 preferred),
 * forward-secret AEAD suites only, X25519/P-256/P-384, no renegotiation, no
 * compression, peer certificate always requested and verified. The verdict
 * is the caller's to judge: an untrusted certificate does not end the
 * session by itself (dialback may still authenticate the peer).
 *
 * Memory: every wolfSSL allocation made during a call of this module comes
 * from the calling engine's arena, charged to the session's owner (its link
 * slot + 1; 0 for the contexts). wolfSSL's allocator hooks are
 * process-wide; the arena is chosen per call, so engines never share bytes.
 *
 * Who calls: the link (sessions) and the engine (init, fini). Owns: the
 * contexts, the sessions, the arena. Never touches: links, routes.
 */
#ifndef XS2S_TLS_H
#define XS2S_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xs2s.h"
#include "lib/arena.h"
#include "lib/bq.h"
#include "lib/types.h"
#include "link/certid.h"

#define XS2S_TLS_WRITE_CHUNK 4096 /* plaintext encrypted per write */
/* wolfSSL's session cache, in sessions (status pool tls_sessions): off
 * unless configured (CONFIG_XS2S_TLS_SESSION_CACHE). */
#if defined(CONFIG_XS2S_TLS_SESSION_CACHE_SMALL)
#define XS2S_TLS_SESSION_CACHE_SIZE 6
#elif defined(CONFIG_XS2S_TLS_SESSION_CACHE_MEDIUM)
#define XS2S_TLS_SESSION_CACHE_SIZE 1055
#else
#define XS2S_TLS_SESSION_CACHE_SIZE 0
#endif

/* An engine's TLS: contexts and arena. */
struct xs2s_tls {
	void *client_ctx;            /* WOLFSSL_CTX for outbound links */
	void *server_ctx;            /* WOLFSSL_CTX for inbound links */
	bool ready;                  /* we have a certificate: STARTTLS offered and used */
	struct xs2s_certids ids;     /* scratch for certificate names (one verdict at a time) */
	struct xs2s_arena arena;
	_Alignas(16) unsigned char mem[CONFIG_XS2S_TLS_ARENA];
};

/* One link's session. */
struct xs2s_tls_sess {
	void *ssl;                   /* WOLFSSL, NULL when none */
	struct xs2s_tls *tls;
	struct xs2s_bq *rx, *tx;     /* ciphertext from and to the socket */
	uint8_t owner;               /* arena owner: link slot + 1 */
	bool client;                 /* outbound link */
	bool want_write;             /* wolfSSL waits for room in tx */
	bool eof;                    /* the socket is closed: no more ciphertext */
	bool hello_checked;          /* server: the ClientHello's groups were looked at */
	int cert_err;                /* first chain verification error, 0 if none */
	int wpending;                /* size of a wolfSSL_write to repeat, 0 if none */
	bool alpn_sent;              /* XEP-0368: ALPN "xmpp-server" offered (client) or accepted (server) */
	char alpn[16];               /* the protocol ALPN agreed once established, "" when none */
	char version[12];            /* "TLSv1.3" once established */
	char cipher[48];
	char err[96];                /* first failure, for the link's reason */
};

/* Route wolfSSL's allocator (once per process) and build the engine's
 * client and server contexts from cfg's PEM chain, key and CA list.
 * No certificate: no contexts, t->ready false (STARTTLS neither offered
 * nor used). XS2S_ETLS when the certificate or key cannot be used. */
int xs2s_tls_init(struct xs2s_tls *t, const struct xs2s_config *cfg);
/* Free the contexts. Sessions must have ended. */
void xs2s_tls_fini(struct xs2s_tls *t);
/* New contexts from cfg's PEM buffers in place of the current ones; open
 * sessions keep theirs (wolfSSL counts a context's references: each session
 * holds one, so an old context goes with its last session). XS2S_EINVAL
 * (no certificate or key), XS2S_ETLS, XS2S_ENOMEM (the arena refused
 * memory meanwhile: wolfSSL may have dropped a CA and said nothing); on any
 * error nothing changes. */
int xs2s_tls_reload(struct xs2s_tls *t, const struct xs2s_config *cfg);

#if CONFIG_XS2S_COMPONENTS
/* Does our certificate (the first one of cfg's PEM chain) name domain
 * (RFC 6125, as certid.h matches)? Then SASL EXTERNAL can authenticate it
 * (a component's domain: engine start and reload). False without one. */
bool xs2s_tls_cert_names(struct xs2s_tls *t, const struct xs2s_config *cfg, const char *domain);
#endif

/* Create the session of a link: client (SNI = sni) or server. */
int xs2s_tls_start(struct xs2s_tls *t, struct xs2s_tls_sess *s, bool client, const char *sni, uint8_t owner,
		   struct xs2s_bq *rx, struct xs2s_bq *tx);
#if CONFIG_XS2S_DIRECT_TLS
/* XEP-0368 3 rules 7, 9: a direct TLS session (just started) offers ALPN
 * "xmpp-server" (client) or accepts it when offered (server); a peer that
 * offers none or another one is not refused (continue on mismatch: Prosody
 * 0.12 offers none). XS2S_OK, XS2S_ENOMEM, or XS2S_ETLS for a wolfSSL
 * build without HAVE_ALPN (logged). */
int xs2s_tls_alpn(struct xs2s_tls_sess *s);
#endif
/* Drive the handshake: XS2S_OK when done, XS2S_EWANTREAD/EWANTWRITE, or
 * XS2S_ETLS / XS2S_ENOMEM with s->err set. On success version and cipher
 * are recorded. */
int xs2s_tls_handshake(struct xs2s_tls_sess *s);
/* Decrypted bytes without consuming them: a count (> 0), XS2S_EWANTREAD,
 * XS2S_EWANTWRITE, XS2S_EIO on close_notify, XS2S_ETLS / XS2S_ENOMEM. */
int xs2s_tls_peek(struct xs2s_tls_sess *s, void *p, size_t n);
/* Consume n bytes a peek returned (tmp: scratch of n bytes). */
void xs2s_tls_consume(struct xs2s_tls_sess *s, void *tmp, size_t n);
/* Encrypt from out into tx: XS2S_OK when out is empty, XS2S_EWANTWRITE when
 * tx is full, XS2S_ETLS / XS2S_ENOMEM on error. */
int xs2s_tls_flush(struct xs2s_tls_sess *s, struct xs2s_bq *out);
/* Decrypted bytes buffered inside wolfSSL. */
int xs2s_tls_pending(const struct xs2s_tls_sess *s);
/* Verdict of the peer's certificate for domain: the chain result from the
 * handshake, then an RFC 6125 match (DNS-ID, SRV-ID, XmppAddr; see certid.h)
 * against the certificate's own DER. XS2S_CERT_NONE without a certificate. */
enum xs2s_cert_verdict xs2s_tls_verdict(struct xs2s_tls_sess *s, const char *domain);
/* Queue a close_notify into tx (best effort) when notify, and free the session. */
void xs2s_tls_end(struct xs2s_tls_sess *s, bool notify);

#endif
