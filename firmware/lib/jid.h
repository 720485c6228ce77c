/* JID helpers (RFC 7622): the domainpart of a JID, what a domain may be,
 * and whether a whole JID is well-formed. Pure functions; owns nothing. */
#ifndef XS2S_JID_H
#define XS2S_JID_H

#include <stdbool.h>
#include <stddef.h>

#define XS2S_DOMAIN_MAX 255    /* longest domain (RFC 7622: 1023 bytes; we cap) */
#define XS2S_STREAM_ID_MAX 64  /* longest stream id accepted */
#define XS2S_JID_PART_MAX 1023 /* RFC 7622 3.3.1, 3.4.1: longest localpart and resourcepart */
#define XS2S_LABEL_MAX 63      /* RFC 1035 2.3.4: longest DNS label (ASCII labels) */

/* A domain xs2s accepts: 1..XS2S_DOMAIN_MAX bytes, no empty label (no dot
 * at either end, no two in a row), no ASCII label longer than 63 bytes, no
 * whitespace, control or XML-special characters, no '@', '/' or ':'. */
bool xs2s_domain_valid(const char *d);
/* Domains are equal ignoring ASCII case (RFC 7622 3.2: a domainpart is
 * case-insensitive; international labels are compared as written). */
bool xs2s_domain_eq(const char *a, const char *b);
/* Copy the domainpart of jid into out[cap]: XS2S_OK, or XS2S_EINVAL when
 * the JID is malformed or the domain is not valid. */
int xs2s_jid_domain(const char *jid, char *out, size_t cap);

/* What is wrong with a JID (RFC 7622 3), the first fault found. */
enum xs2s_jid_fault {
	XS2S_JID_OK = 0,
	XS2S_JID_EMPTY,     /* no JID at all (RFC 6120 4.9.3.14: the attribute "has no value") */
	XS2S_JID_LOCAL,     /* localpart empty ("@d"), over 1023 bytes, or a forbidden character (3.3) */
	XS2S_JID_DOMAIN,    /* domainpart not a valid domain (3.2) */
	XS2S_JID_RESOURCE,  /* resourcepart empty ("d/"), over 1023 bytes, or a control character (3.4) */
	XS2S_JID_ENCODING,  /* not well-formed UTF-8 (3.1) */
};
/* Check the JID jid (NUL-terminated): [localpart "@"] domainpart ["/"
 * resourcepart]. The first '@' before the first '/' ends the localpart;
 * the first '/' starts the resourcepart (which may hold '@' and '/').
 *   localpart: 1..1023 bytes of UTF-8; not the characters RFC 7622 3.3.1
 *     forbids (" & ' / : < > @), nor spaces or control characters (the
 *     PRECIS IdentifierClass has neither; C1 controls and the Unicode
 *     space separators are refused too). Other code points are accepted
 *     as written: xs2s does not carry the Unicode tables of PRECIS.
 *   domainpart: xs2s_domain_valid.
 *   resourcepart: 1..1023 bytes of UTF-8 without control characters (the
 *     OpaqueString profile allows spaces).
 * If dom is not NULL, the domainpart's extent is stored there (*dom,
 * *dom_len), also when another part is at fault and the domain is valid:
 * an error can still come from it. */
enum xs2s_jid_fault xs2s_jid_check(const char *jid, const char **dom, size_t *dom_len);
/* xs2s_jid_check(jid, NULL, NULL) == XS2S_JID_OK. */
bool xs2s_jid_valid(const char *jid);
/* The fault's name for logs ("ok", "empty", "localpart", ...). */
const char *xs2s_jid_fault_name(enum xs2s_jid_fault f);

#endif
