/* JID helpers (RFC 7622): the domainpart of a JID and what a domain may be.
 * Pure functions; owns nothing. */
#ifndef XS2S_JID_H
#define XS2S_JID_H

#include <stdbool.h>
#include <stddef.h>

#define XS2S_DOMAIN_MAX 255    /* longest domain (RFC 7622: 1023 bytes; we cap) */
#define XS2S_STREAM_ID_MAX 64  /* longest stream id accepted */

/* A domain xs2s accepts: 1..XS2S_DOMAIN_MAX bytes, no empty label (no dot
 * at either end, no two in a row), no whitespace, control or XML-special
 * characters, no '@', '/' or ':'. */
bool xs2s_domain_valid(const char *d);
/* Domains are equal ignoring ASCII case (RFC 7622 3.2: a domainpart is
 * case-insensitive; international labels are compared as written). */
bool xs2s_domain_eq(const char *a, const char *b);
/* Copy the domainpart of jid into out[cap]: XS2S_OK, or XS2S_EINVAL when
 * the JID is malformed or the domain is not valid. */
int xs2s_jid_domain(const char *jid, char *out, size_t cap);

#endif
