/* Certificate identities: a bounded walk of an X.509 certificate's DER for
 * the names XMPP server authentication uses, and the RFC 6125 / RFC 9525
 * matching rules of RFC 6120 13.7.1.2 and XEP-0178.
 *
 * The walk follows RFC 5280 4.1 with one cursor per structure: no recursion,
 * so the depth is fixed by the code (certificate, TBSCertificate,
 * extensions, extension, GeneralNames, otherName, its value). Every element
 * is read through certid_tlv(), the only function that decodes a header; it
 * checks the length against what is left of the enclosing element, so no
 * read can leave der[0..len).
 */
#include <string.h>
#include "link/certid.h"

/* DER identifier octets (X.690 8.1.2) used here. */
#define TAG_BOOLEAN      0x01u
#define TAG_INTEGER      0x02u
#define TAG_BIT_STRING   0x03u
#define TAG_OCTET_STRING 0x04u
#define TAG_OID          0x06u
#define TAG_UTF8STRING   0x0Cu
#define TAG_PRINTABLE    0x13u
#define TAG_TELETEX      0x14u
#define TAG_IA5STRING    0x16u
#define TAG_SEQUENCE     0x30u
#define TAG_SET          0x31u
#define TAG_VERSION      0xA0u /* TBSCertificate [0] EXPLICIT version */
#define TAG_ISSUER_UID   0x81u /* TBSCertificate [1] IMPLICIT BIT STRING */
#define TAG_SUBJECT_UID  0x82u /* TBSCertificate [2] IMPLICIT BIT STRING */
#define TAG_EXTENSIONS   0xA3u /* TBSCertificate [3] EXPLICIT Extensions */
#define TAG_GN_OTHERNAME 0xA0u /* GeneralName [0] IMPLICIT OtherName */
#define TAG_GN_DNSNAME   0x82u /* GeneralName [2] IMPLICIT IA5String */
#define TAG_OTHER_VALUE  0xA0u /* OtherName value [0] EXPLICIT */
#define TAG_CLASS_MASK   0xC0u
#define TAG_CLASS_CTX    0x80u /* context-specific: every GeneralName form */
#define TAG_NUMBER_MASK  0x1Fu /* all ones: high tag number form, never in a certificate */
#define LEN_LONG         0x80u /* long form flag; alone it is the (BER-only) indefinite length */
#define LEN_BYTES_MAX    4u    /* longest long-form length accepted (4 GB) */
#define BYTE_BITS        8u

/* OID contents octets (X.690 8.19). */
static const uint8_t certid_oid_cn[] = { 0x55, 0x04, 0x03 };          /* 2.5.4.3 id-at-commonName */
static const uint8_t certid_oid_san[] = { 0x55, 0x1D, 0x11 };         /* 2.5.29.17 id-ce-subjectAltName */
static const uint8_t certid_oid_xmppaddr[] = { 0x2B, 0x06, 0x01, 0x05,
					       0x05, 0x07, 0x08, 0x05 }; /* 1.3.6.1.5.5.7.8.5 id-on-xmppAddr */
static const uint8_t certid_oid_srvname[] = { 0x2B, 0x06, 0x01, 0x05,
					      0x05, 0x07, 0x08, 0x07 };  /* 1.3.6.1.5.5.7.8.7 id-on-dnsSRV */

/* Characters allowed in DNS, SRV and CN names: printable ASCII, no space. */
#define ASCII_NAME_FIRST 0x21u
#define ASCII_NAME_LAST  0x7Eu
#define ASCII_MAX        0x7Fu
/* UTF-8 (RFC 3629): code points refused in an XmppAddr. */
#define CP_C0_END        0x20u   /* C0 controls are below */
#define CP_DEL           0x7Fu   /* DEL and the C1 controls up to ... */
#define CP_C1_LAST       0x9Fu
#define CP_SURROGATE_FIRST 0xD800u
#define CP_SURROGATE_LAST  0xDFFFu
#define CP_MAX           0x10FFFFu
#define CP_BAD           UINT32_MAX
#define UTF8_CONT_MASK   0xC0u
#define UTF8_CONT        0x80u
#define UTF8_CONT_BITS   6u
#define UTF8_CONT_PAYLOAD 0x3Fu

/* One multi-byte UTF-8 form: lead byte & mask == lead, payload bits, shortest code point. */
static const struct { uint8_t mask, lead, payload; uint32_t min; } certid_utf8_forms[] = {
	{ 0xE0, 0xC0, 0x1F, 0x80 },    /* 2 bytes */
	{ 0xF0, 0xE0, 0x0F, 0x800 },   /* 3 bytes */
	{ 0xF8, 0xF0, 0x07, 0x10000 }, /* 4 bytes */
};
#define UTF8_FORMS (sizeof(certid_utf8_forms) / sizeof(certid_utf8_forms[0]))

/* Punycode parameters (RFC 3492 5) and the ACE prefix (RFC 5890 2.3.2.5). */
#define PUNY_BASE   36u
#define PUNY_TMIN   1u
#define PUNY_TMAX   26u
#define PUNY_SKEW   38u
#define PUNY_DAMP   700u
#define PUNY_BIAS   72u
#define PUNY_N      0x80u /* initial_n: the first non-basic code point */
#define PUNY_LETTERS 26u  /* digit values 0..25 are a..z, 26..35 are 0..9 */
#define ACE_PREFIX  "xn--"
#define SRV_PREFIX  "_xmpp-server."
#define STRLEN(s)   (sizeof(s) - 1)

/* Every walk below chains reads with ||: a failed read is non-zero. */
_Static_assert(XS2S_OK == 0, "XS2S_OK must be 0");

/* A cursor over the unread part of one DER element's contents. */
struct certid_rd {
	const uint8_t *p;
	size_t left;
};

/* A bounded name writer: chars past XS2S_CERTID_NAME_MAX set over. */
struct certid_w {
	char *buf;
	size_t len;
	bool over;
};

/* Read one element from r into (*tag, *val) and step r past it. */
static int certid_tlv(struct certid_rd *r, uint8_t *tag, struct certid_rd *val)
{
	size_t hdr = 2, n, nb, i;

	if (r->left < hdr)
		return XS2S_EPROTO;
	*tag = r->p[0];
	n = r->p[1];
	if ((*tag & TAG_NUMBER_MASK) == TAG_NUMBER_MASK)
		return XS2S_EPROTO;
	if (n & LEN_LONG) {
		nb = n & ~(size_t)LEN_LONG;
		if (nb == 0 || nb > LEN_BYTES_MAX || r->left - hdr < nb)
			return XS2S_EPROTO;
		for (n = 0, i = 0; i < nb; i++)
			n = (n << BYTE_BITS) | r->p[hdr + i];
		hdr += nb;
	}
	if (n > r->left - hdr)
		return XS2S_EPROTO;
	val->p = r->p + hdr;
	val->left = n;
	r->p += hdr + n;
	r->left -= hdr + n;
	return XS2S_OK;
}

/* Read one element that must have this tag. */
static int certid_expect(struct certid_rd *r, uint8_t tag, struct certid_rd *val)
{
	uint8_t t;

	if (certid_tlv(r, &t, val) != XS2S_OK || t != tag)
		return XS2S_EPROTO;
	return XS2S_OK;
}

/* Read an OPTIONAL element; val->p is NULL when it is absent. */
static int certid_opt(struct certid_rd *r, uint8_t tag, struct certid_rd *val)
{
	val->p = NULL;
	val->left = 0;
	return r->left > 0 && r->p[0] == tag ? certid_expect(r, tag, val) : XS2S_OK;
}

static bool certid_oid_is(const struct certid_rd *v, const uint8_t *oid, size_t n)
{
	return v->left == n && memcmp(v->p, oid, n) == 0;
}

static char certid_lower(uint32_t c)
{
	return (char)(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
}

static void certid_put(struct certid_w *w, char c)
{
	if (w->len < XS2S_CERTID_NAME_MAX)
		w->buf[w->len++] = c;
	else
		w->over = true;
}

/* Decode the code point at s[*i] (i < n) and step past it; CP_BAD for
 * anything but shortest-form UTF-8 of a scalar value. */
static uint32_t certid_utf8_next(const uint8_t *s, size_t n, size_t *i)
{
	uint32_t cp;
	size_t f, k;

	if (s[*i] <= ASCII_MAX)
		return s[(*i)++];
	for (f = 0; f < UTF8_FORMS; f++)
		if ((s[*i] & certid_utf8_forms[f].mask) == certid_utf8_forms[f].lead)
			break;
	if (f == UTF8_FORMS || n - *i <= f + 1)
		return CP_BAD;
	cp = s[*i] & certid_utf8_forms[f].payload;
	for (k = 1; k <= f + 1; k++) {
		if ((s[*i + k] & UTF8_CONT_MASK) != UTF8_CONT)
			return CP_BAD;
		cp = (cp << UTF8_CONT_BITS) | (s[*i + k] & UTF8_CONT_PAYLOAD);
	}
	if (cp < certid_utf8_forms[f].min || cp > CP_MAX ||
	    (cp >= CP_SURROGATE_FIRST && cp <= CP_SURROGATE_LAST))
		return CP_BAD;
	*i += f + 2;
	return cp;
}

/* An XmppAddr: UTF-8 without C0, DEL or C1 controls; others: printable ASCII. */
static bool certid_valid(enum xs2s_certid_type type, const uint8_t *s, size_t n)
{
	size_t i = 0;
	uint32_t c;

	while (i < n) {
		c = type == XS2S_CERTID_XMPPADDR ? certid_utf8_next(s, n, &i) : s[i++];
		if (type != XS2S_CERTID_XMPPADDR && (c < ASCII_NAME_FIRST || c > ASCII_NAME_LAST))
			return false;
		if (c == CP_BAD || c < CP_C0_END || (c >= CP_DEL && c <= CP_C1_LAST))
			return false;
	}
	return n > 0;
}

static char certid_puny_digit(uint32_t d)
{
	return (char)(d < PUNY_LETTERS ? 'a' + d : '0' + (d - PUNY_LETTERS));
}

/* RFC 3492 6.1 bias adaptation. */
static uint32_t certid_puny_adapt(uint32_t delta, uint32_t points, bool first)
{
	uint32_t k = 0;

	delta = first ? delta / PUNY_DAMP : delta / 2;
	delta += delta / points;
	while (delta > ((PUNY_BASE - PUNY_TMIN) * PUNY_TMAX) / 2) {
		delta /= PUNY_BASE - PUNY_TMIN;
		k += PUNY_BASE;
	}
	return k + (PUNY_BASE - PUNY_TMIN + 1) * delta / (delta + PUNY_SKEW);
}

/* RFC 3492 6.3 encoding of one valid UTF-8 label s[0..n), ASCII lower-cased.
 * The code-point count is checked first: each code point yields at least one
 * output character, and the bound keeps delta far below 2^32. */
static void certid_puny(struct certid_w *w, const uint8_t *s, size_t n)
{
	uint32_t c, m, q, t, k, code = PUNY_N, delta = 0, bias = PUNY_BIAS, h, b = 0, total = 0;
	size_t i;

	for (i = 0; i < n; total++)
		if ((c = certid_utf8_next(s, n, &i)) < PUNY_N) {
			certid_put(w, certid_lower(c));
			b++;
		}
	if (total > XS2S_CERTID_NAME_MAX) {
		w->over = true;
		return;
	}
	if (b > 0)
		certid_put(w, '-');
	for (h = b; h < total && !w->over; delta++, code++) {
		for (m = CP_MAX, i = 0; i < n;)
			if ((c = certid_utf8_next(s, n, &i)) >= code && c < m)
				m = c;
		delta += (m - code) * (h + 1);
		code = m;
		for (i = 0; i < n;) {
			c = certid_utf8_next(s, n, &i);
			if (c < code)
				delta++;
			if (c != code)
				continue;
			for (q = delta, k = PUNY_BASE;; k += PUNY_BASE) {
				t = k <= bias ? PUNY_TMIN : k >= bias + PUNY_TMAX ? PUNY_TMAX : k - bias;
				if (q < t)
					break;
				certid_put(w, certid_puny_digit(t + (q - t) % (PUNY_BASE - t)));
				q = (q - t) / (PUNY_BASE - t);
			}
			certid_put(w, certid_puny_digit(q));
			bias = certid_puny_adapt(delta, h + 1, h == b);
			delta = 0;
			h++;
		}
	}
}

/* A bare domain, label by label: ASCII labels lower-cased, others as A-labels. */
static void certid_alabels(struct certid_w *w, const uint8_t *s, size_t n)
{
	size_t start = 0, end, i;
	bool ascii;

	while (start <= n && !w->over) {
		for (end = start, ascii = true; end < n && s[end] != '.'; end++)
			ascii = ascii && s[end] <= ASCII_MAX;
		if (start > 0)
			certid_put(w, '.');
		if (ascii) {
			for (i = start; i < end; i++)
				certid_put(w, certid_lower(s[i]));
		} else {
			for (i = 0; i < STRLEN(ACE_PREFIX); i++)
				certid_put(w, ACE_PREFIX[i]);
			certid_puny(w, s + start, end - start);
		}
		start = end + 1;
	}
}

/* Store one identity, or skip it (see certid.h for which). */
static void certid_add(struct xs2s_certids *out, enum xs2s_certid_type type, const uint8_t *s, size_t n)
{
	struct certid_w w;
	size_t i;

	if (!certid_valid(type, s, n))
		return;
	if (out->n == XS2S_CERTID_MAX) {
		out->truncated = true;
		return;
	}
	w = (struct certid_w){ out->id[out->n].name, 0, false };
	if (type == XS2S_CERTID_XMPPADDR && !memchr(s, '@', n) && !memchr(s, '/', n)) {
		certid_alabels(&w, s, n);
	} else {
		for (i = 0; i < n; i++)
			certid_put(&w, certid_lower(s[i]));
	}
	if (w.over) {
		w.buf[0] = '\0';
		out->truncated = true;
		return;
	}
	w.buf[w.len] = '\0';
	out->id[out->n++].type = type;
}

/* GeneralNames (RFC 5280 4.2.1.6) inside the extension's OCTET STRING. */
static int certid_san(struct certid_rd *octets, struct xs2s_certids *out)
{
	struct certid_rd names, gn, oid, val, str;
	enum xs2s_certid_type type;
	uint8_t tag, str_tag;

	if (certid_expect(octets, TAG_SEQUENCE, &names) || octets->left)
		return XS2S_EPROTO;
	while (names.left) {
		if (certid_tlv(&names, &tag, &gn) || (tag & TAG_CLASS_MASK) != TAG_CLASS_CTX)
			return XS2S_EPROTO;
		if (tag == TAG_GN_DNSNAME)
			certid_add(out, XS2S_CERTID_DNS, gn.p, gn.left);
		if (tag != TAG_GN_OTHERNAME)
			continue; /* rfc822Name, URI, iPAddress, ...: not XMPP identities */
		if (certid_expect(&gn, TAG_OID, &oid) || certid_expect(&gn, TAG_OTHER_VALUE, &val) || gn.left)
			return XS2S_EPROTO;
		if (certid_oid_is(&oid, certid_oid_xmppaddr, sizeof(certid_oid_xmppaddr))) {
			type = XS2S_CERTID_XMPPADDR;
			str_tag = TAG_UTF8STRING;
		} else if (certid_oid_is(&oid, certid_oid_srvname, sizeof(certid_oid_srvname))) {
			type = XS2S_CERTID_SRV;
			str_tag = TAG_IA5STRING;
		} else {
			continue;
		}
		if (certid_expect(&val, str_tag, &str) || val.left)
			return XS2S_EPROTO;
		certid_add(out, type, str.p, str.left);
	}
	return XS2S_OK;
}

/* Extensions (RFC 5280 4.1.2.9): only subjectAltName is opened. */
static int certid_extensions(struct certid_rd *ext3, struct xs2s_certids *out)
{
	struct certid_rd exts, ext, oid, v;

	if (certid_expect(ext3, TAG_SEQUENCE, &exts) || ext3->left)
		return XS2S_EPROTO;
	while (exts.left) {
		if (certid_expect(&exts, TAG_SEQUENCE, &ext) || certid_expect(&ext, TAG_OID, &oid) ||
		    certid_opt(&ext, TAG_BOOLEAN, &v) || (v.p != NULL && v.left != 1) || /* critical */
		    certid_expect(&ext, TAG_OCTET_STRING, &v) || ext.left)
			return XS2S_EPROTO;
		if (!certid_oid_is(&oid, certid_oid_san, sizeof(certid_oid_san)))
			continue;
		if (out->has_san) /* RFC 5280 4.2: at most one instance */
			return XS2S_EPROTO;
		out->has_san = true;
		if (certid_san(&v, out))
			return XS2S_EPROTO;
	}
	return XS2S_OK;
}

/* The subject Name: SEQUENCE OF SET OF { type OID, value ANY }. */
static int certid_subject(struct certid_rd *name, struct xs2s_certids *out)
{
	struct certid_rd rdn, atv, oid, val;
	uint8_t tag;

	while (name->left) {
		if (certid_expect(name, TAG_SET, &rdn))
			return XS2S_EPROTO;
		while (rdn.left) {
			if (certid_expect(&rdn, TAG_SEQUENCE, &atv) || certid_expect(&atv, TAG_OID, &oid) ||
			    certid_tlv(&atv, &tag, &val) || atv.left)
				return XS2S_EPROTO;
			if (certid_oid_is(&oid, certid_oid_cn, sizeof(certid_oid_cn)) &&
			    (tag == TAG_UTF8STRING || tag == TAG_PRINTABLE || tag == TAG_IA5STRING ||
			     tag == TAG_TELETEX))
				certid_add(out, XS2S_CERTID_CN, val.p, val.left);
		}
	}
	return XS2S_OK;
}

/* Certificate and TBSCertificate (RFC 5280 4.1). */
static int certid_walk(struct certid_rd *all, struct xs2s_certids *out)
{
	struct certid_rd cert, tbs, subject, ver, v;

	if (certid_expect(all, TAG_SEQUENCE, &cert) || all->left ||
	    certid_expect(&cert, TAG_SEQUENCE, &tbs) ||
	    certid_expect(&cert, TAG_SEQUENCE, &v) ||          /* signatureAlgorithm */
	    certid_expect(&cert, TAG_BIT_STRING, &v) || cert.left ||
	    certid_opt(&tbs, TAG_VERSION, &ver) ||
	    (ver.p != NULL && (certid_expect(&ver, TAG_INTEGER, &v) || ver.left)) ||
	    certid_expect(&tbs, TAG_INTEGER, &v) ||            /* serialNumber */
	    certid_expect(&tbs, TAG_SEQUENCE, &v) ||           /* signature */
	    certid_expect(&tbs, TAG_SEQUENCE, &v) ||           /* issuer */
	    certid_expect(&tbs, TAG_SEQUENCE, &v) ||           /* validity */
	    certid_expect(&tbs, TAG_SEQUENCE, &subject) ||
	    certid_expect(&tbs, TAG_SEQUENCE, &v) ||           /* subjectPublicKeyInfo */
	    certid_opt(&tbs, TAG_ISSUER_UID, &v) || certid_opt(&tbs, TAG_SUBJECT_UID, &v) ||
	    certid_opt(&tbs, TAG_EXTENSIONS, &v) || (v.p != NULL && certid_extensions(&v, out)) ||
	    tbs.left)
		return XS2S_EPROTO;
	/* The subject last, so that CNs never take the place of subjectAltNames. */
	return certid_subject(&subject, out);
}

int xs2s_certid_parse(const uint8_t *der, size_t len, struct xs2s_certids *out)
{
	struct certid_rd all = { der, len };
	int rc;

	if (out == NULL)
		return XS2S_EINVAL;
	memset(out, 0, sizeof(*out));
	if (der == NULL)
		return XS2S_EINVAL;
	rc = certid_walk(&all, out);
	if (rc != XS2S_OK)
		memset(out, 0, sizeof(*out));
	return rc;
}

/* Matching. Stored names are lower-case; the domain is compared with
 * certid_lower(). Lengths below exclude one trailing dot. */
static size_t certid_trim(const char *s, size_t n)
{
	return n > 0 && s[n - 1] == '.' ? n - 1 : n;
}

static bool certid_eq(const char *a, size_t an, const char *b, size_t bn)
{
	size_t i;

	if (an != bn)
		return false;
	for (i = 0; i < an; i++)
		if (certid_lower((uint8_t)a[i]) != certid_lower((uint8_t)b[i]))
			return false;
	return true;
}

/* "*.rest" with rest of at least two non-empty labels, no other '*'; the
 * '*' takes the domain's whole first label, which must not be empty. */
static bool certid_wild(const char *pat, size_t pn, const char *dom, size_t dn)
{
	const char *rest = pat + STRLEN("*."), *dot;
	size_t rn = pn - STRLEN("*."), i, labels = 1;

	if (pn <= STRLEN("*.") || pat[0] != '*' || pat[1] != '.' || rest[0] == '.' || rest[rn - 1] == '.')
		return false;
	for (i = 0; i < rn; i++) {
		if (rest[i] == '*' || (rest[i] == '.' && rest[i + 1] == '.'))
			return false;
		labels += rest[i] == '.';
	}
	dot = memchr(dom, '.', dn);
	return labels >= 2 && dot != NULL && dot != dom &&
	       certid_eq(dot + 1, dn - (size_t)(dot + 1 - dom), rest, rn);
}

static bool certid_id_match(const struct xs2s_certid *id, const char *dom, size_t dn)
{
	const char *nul = memchr(id->name, '\0', sizeof(id->name));
	size_t n = certid_trim(id->name, nul != NULL ? (size_t)(nul - id->name) : sizeof(id->name));

	switch (id->type) {
	case XS2S_CERTID_SRV:
		return n > STRLEN(SRV_PREFIX) && certid_eq(id->name, STRLEN(SRV_PREFIX), SRV_PREFIX, STRLEN(SRV_PREFIX)) &&
		       certid_eq(id->name + STRLEN(SRV_PREFIX), n - STRLEN(SRV_PREFIX), dom, dn);
	case XS2S_CERTID_XMPPADDR:
		return !memchr(id->name, '@', n) && !memchr(id->name, '/', n) &&
		       certid_eq(id->name, n, dom, dn);
	case XS2S_CERTID_DNS:
	case XS2S_CERTID_CN:
		return certid_eq(id->name, n, dom, dn) || certid_wild(id->name, n, dom, dn);
	}
	return false;
}

bool xs2s_certid_match(const struct xs2s_certids *ids, const char *domain, enum xs2s_certid_type *how)
{
	static const enum xs2s_certid_type pref[] = {
		XS2S_CERTID_SRV, XS2S_CERTID_XMPPADDR, XS2S_CERTID_DNS, XS2S_CERTID_CN,
	};
	size_t dn, p;
	unsigned i, n;

	if (ids == NULL || domain == NULL)
		return false;
	for (dn = 0; domain[dn] != '\0'; dn++)
		if (dn > XS2S_CERTID_NAME_MAX || (uint8_t)domain[dn] < ASCII_NAME_FIRST ||
		    (uint8_t)domain[dn] > ASCII_NAME_LAST || domain[dn] == '*')
			return false;
	dn = certid_trim(domain, dn);
	if (dn == 0)
		return false;
	n = ids->n < XS2S_CERTID_MAX ? ids->n : XS2S_CERTID_MAX;
	for (p = 0; p < sizeof(pref) / sizeof(pref[0]); p++) {
		if (pref[p] == XS2S_CERTID_CN && ids->has_san)
			continue; /* RFC 6125 6.4.4: CN only without any subjectAltName */
		for (i = 0; i < n; i++) {
			if (ids->id[i].type != pref[p] || !certid_id_match(&ids->id[i], domain, dn))
				continue;
			if (how != NULL)
				*how = pref[p];
			return true;
		}
	}
	return false;
}

const char *xs2s_certid_type_name(enum xs2s_certid_type t)
{
	switch (t) {
	case XS2S_CERTID_DNS: return "DNS-ID";
	case XS2S_CERTID_SRV: return "SRV-ID";
	case XS2S_CERTID_XMPPADDR: return "XmppAddr";
	case XS2S_CERTID_CN: return "CN";
	}
	return "?";
}
