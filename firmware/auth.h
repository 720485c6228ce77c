/* Authentication policy and SASL EXTERNAL (XEP-0178).
 *
 * Action points
 *   Receiving (inbound, after TLS): offer EXTERNAL only when the stream's
 *     'from' is covered by a valid client certificate. <auth EXTERNAL> with
 *     authzid empty ("=") or equal to 'from' -> <success/>, pair VALID
 *     (sasl-external), the peer restarts; SASL is never offered again on the
 *     stream. Otherwise <failure> (invalid-authzid / not-authorized); the
 *     peer may still use dialback when that is allowed.
 *   Initiating (outbound, after TLS): EXTERNAL offered and enabled -> send
 *     <auth> with our domain as authzid (for compatibility); <success/> ->
 *     restart, then the pair is VALID; <failure/> -> dialback when enabled
 *     and offered, else the link fails and its queue is bounced.
 *   Secure auth: a peer whose certificate is not valid for its domain is
 *     refused (policy-violation) unless the domain is an exception.
 */
#ifndef XS2S_AUTH_H
#define XS2S_AUTH_H

#include "xs2s_int.h"

/* Methods enabled (from Kconfig; xs2sd --auth can change them before start). */
void xs2s_auth_configure(const struct xs2s_config *cfg);
bool xs2s_auth_sasl_enabled(void);
bool xs2s_auth_dialback_enabled(void);
/* True when secure auth applies to domain (on, and not an exception). */
bool xs2s_auth_secure_for(const char *domain);

/* Receiving role: the <mechanisms/> feature for this stream, or "" if none. */
const char *xs2s_auth_sasl_feature(struct xs2s_link *l);
/* Receiving role: an <auth/> element. */
void xs2s_auth_on_auth(struct xs2s_link *l, mxml_node_t *el);
/* Initiating role: features after TLS name EXTERNAL; returns true if we
 * started SASL (the caller waits for <success/> or <failure/>). */
bool xs2s_auth_try_external(struct xs2s_link *l, mxml_node_t *features);
/* Initiating role: <success/> or <failure/>. */
void xs2s_auth_on_result(struct xs2s_link *l, mxml_node_t *el, bool success);

/* Base64 (RFC 4648) for SASL payloads. Encode returns the length written
 * (NUL-terminated) or XS2S_ERANGE; decode returns the byte count or
 * XS2S_EINVAL / XS2S_ERANGE. */
int xs2s_base64_encode(const void *in, size_t n, char *out, size_t cap);
int xs2s_base64_decode(const char *in, uint8_t *out, size_t cap);

#endif
