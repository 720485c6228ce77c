/* TLS glue over wolfSSL. The TLS layer reads the link's rx buffer and writes
 * its tx buffer through wolfSSL I/O callbacks; it never touches a socket.
 *
 * Policy, enforced here for every session: TLS 1.2 minimum (1.3 preferred),
 * forward-secret AEAD suites only, X25519/P-256/P-384, no renegotiation, no
 * compression, peer certificate always requested and verified. The verdict
 * is recorded on the link; an untrusted certificate does not end the link
 * by itself (dialback may still authenticate the peer).
 */
#ifndef XS2S_TLS_H
#define XS2S_TLS_H

#include "xs2s_int.h"

/* Route wolfSSL's allocator to the TLS arena and initialise the library.
 * Then build the client and server contexts from our PEM chain, key and CA
 * list. cert NULL: no contexts (STARTTLS neither offered nor used). */
int xs2s_tls_init(const struct xs2s_config *cfg);
struct xs2s_arena *xs2s_tls_arena(void);

/* Create the session for l (client when l->dir is OUT, SNI = peer domain). */
int xs2s_tls_start(struct xs2s_link *l);
/* Drive the handshake: XS2S_OK when done, XS2S_EWANTREAD/EWANTWRITE, or
 * XS2S_ETLS / XS2S_ENOMEM with l->reason set. On success the verdict,
 * version and cipher are recorded on the link. */
int xs2s_tls_handshake(struct xs2s_link *l);
/* Decrypt up to n bytes: count, XS2S_EWANTREAD, XS2S_EIO on close_notify,
 * XS2S_ETLS on error. */
int xs2s_tls_read(struct xs2s_link *l, void *p, size_t n);
/* Encrypt from l->out into l->tx: XS2S_OK when out is empty, XS2S_EWANTWRITE
 * when tx is full, XS2S_ETLS on error. */
int xs2s_tls_flush(struct xs2s_link *l);
/* Verdict of the peer's certificate for domain: the chain result from the
 * handshake, then an RFC 6125 match (DNS-ID, SRV-ID, XmppAddr; see certid.h)
 * against the certificate's own DER. XS2S_CERT_NONE without TLS or cert. */
enum xs2s_cert_verdict xs2s_tls_verdict(struct xs2s_link *l, const char *domain);
/* Decrypted bytes buffered inside wolfSSL. */
int xs2s_tls_pending(struct xs2s_link *l);
/* Queue a close_notify (best effort) and free the session. */
void xs2s_tls_end(struct xs2s_link *l, bool notify);

#endif
