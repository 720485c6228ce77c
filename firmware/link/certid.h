/* Certificate identities: the names an XMPP server certificate presents, and
 * matching them against an XMPP domain (RFC 6120 13.7.1.2, XEP-0178,
 * RFC 6125 / RFC 9525).
 *
 * wolfSSL's certificate parser drops otherName subjectAltNames (XmppAddr,
 * SRVName), so this module walks the DER itself. It is pure and bounded: no
 * allocation, no I/O, no recursion, no global state; it never reads outside
 * the buffer it is given. It does not verify signatures, validity dates or
 * the chain: feed it only the end-entity certificate of a chain that the TLS
 * layer has verified (or record that it has not).
 *
 * Ownership: the caller owns both the DER buffer and struct xs2s_certids;
 * nothing points into the DER after xs2s_certid_parse() returns, so the
 * buffer may be freed at once. The struct is about 4.2 KB: on small stacks
 * keep it static or in the link's state.
 */
#ifndef XS2S_CERTID_H
#define XS2S_CERTID_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include "xs2s_err.h"

#define XS2S_CERTID_MAX 16          /* identities kept from one certificate */
#define XS2S_CERTID_NAME_MAX 255    /* longest stored name in bytes, without the NUL */

enum xs2s_certid_type {
	XS2S_CERTID_DNS = 1,        /* subjectAltName dNSName (DNS-ID) */
	XS2S_CERTID_SRV,            /* subjectAltName otherName SRVName (SRV-ID) */
	XS2S_CERTID_XMPPADDR,       /* subjectAltName otherName id-on-xmppAddr */
	XS2S_CERTID_CN,             /* subject commonName (CN-ID) */
};

struct xs2s_certid {
	enum xs2s_certid_type type;
	char name[XS2S_CERTID_NAME_MAX + 1]; /* NUL-terminated, never empty */
};

struct xs2s_certids {
	unsigned n;                 /* identities in id[] */
	bool has_san;               /* the certificate has a subjectAltName extension */
	bool truncated;             /* more identities than XS2S_CERTID_MAX (or a name too long) were skipped */
	struct xs2s_certid id[XS2S_CERTID_MAX];
};

/* Walk a DER X.509 certificate, der[0..len), and fill *out with:
 *   - subjectAltName dNSName (IA5String)                      -> XS2S_CERTID_DNS;
 *   - otherName SRVName, 1.3.6.1.5.5.7.8.7 ([0] EXPLICIT IA5String,
 *     e.g. "_xmpp-server.example.com")                        -> XS2S_CERTID_SRV;
 *   - otherName id-on-xmppAddr, 1.3.6.1.5.5.7.8.5 ([0] EXPLICIT UTF8String)
 *                                                             -> XS2S_CERTID_XMPPADDR;
 *   - the subject's commonName(s), 2.5.4.3 (UTF8String, PrintableString,
 *     IA5String or TeletexString)                             -> XS2S_CERTID_CN.
 * id[] holds the subjectAltName entries in certificate order, then the CNs.
 *
 * Names are stored lower-cased (ASCII letters only). DNS, SRV and CN names
 * must be printable ASCII without spaces (0x21..0x7E); other names are
 * skipped silently (so an embedded NUL can never shorten a name). An
 * XmppAddr must be valid UTF-8 without control characters. A bare-domain
 * XmppAddr (no '@', no '/') is converted label by label (labels split at '.'
 * only) to A-labels: "xn--" + RFC 3492 punycode of the label with its ASCII
 * letters lower-cased. This is NOT full IDNA2008: no Unicode case folding,
 * normalisation or validity check, so a U-label must already be in its
 * lower-case NFC form to match. An XmppAddr that is a JID with a localpart
 * or resource is stored as given (ASCII lower-cased); it never matches.
 * A name longer than XS2S_CERTID_NAME_MAX, or beyond XS2S_CERTID_MAX
 * identities, is skipped and sets truncated.
 *
 * Strict DER walk, failing with XS2S_EPROTO on: a truncated tag or length,
 * an indefinite length (0x80), a length over 4 bytes or past its enclosing
 * element, a high tag number, a required element with the wrong tag, bytes
 * left over in a walked structure or after the certificate, a second
 * subjectAltName extension, or a known otherName whose value is not the
 * string type above. Fields not examined (validity, keys, other extensions,
 * unknown GeneralName forms) are skipped by length without looking inside, so
 * nesting depth never matters. Returns XS2S_OK, XS2S_EPROTO or XS2S_EINVAL
 * (a NULL argument); on any error *out is left empty (n = 0, flags false). */
int xs2s_certid_parse(const uint8_t *der, size_t len, struct xs2s_certids *out);

/* Does the certificate name the XMPP server domain `domain`? domain is ASCII
 * (an A-label form), compared case-insensitively; one trailing dot on either
 * side is ignored. An empty domain, or one with '*', a space, a control or a
 * non-ASCII byte, never matches. An identity matches when it is:
 *   - an SRV-ID equal to "_xmpp-server." + domain (no wildcard);
 *   - an XmppAddr equal to domain (a bare domain; never one with '@' or '/');
 *   - a DNS-ID equal to domain, or a DNS-ID whose whole left-most label is
 *     "*" followed by at least two labels (not "*.com", not "f*o.example.com"):
 *     the "*" stands for exactly one non-empty left-most label of domain;
 *   - a CN, ONLY when the certificate has no subjectAltName extension at all
 *     (RFC 6125 6.4.4 compatibility, disallowed by RFC 9525), then as a
 *     DNS-ID, wildcard included.
 * Preference when several match: SRV-ID, XmppAddr, DNS-ID, CN. Returns true
 * on a match and then sets *how (how may be NULL); false for NULL ids or
 * domain. */
bool xs2s_certid_match(const struct xs2s_certids *ids, const char *domain, enum xs2s_certid_type *how);

/* "DNS-ID", "SRV-ID", "XmppAddr", "CN"; "?" for anything else. Static strings. */
const char *xs2s_certid_type_name(enum xs2s_certid_type t);

#endif
