/* JID helpers; see jid.h. */
#include <string.h>
#include "xs2s_err.h"
#include "lib/jid.h"

/* The code point of the UTF-8 sequence at p (n bytes left) and its length
 * in *len; -1 when it is not well-formed (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
static long jid_utf8(const unsigned char *p, size_t n, size_t *len)
{
	unsigned char c = p[0];
	long cp, min;
	size_t k, i;

	if (c < 0x80) {
		*len = 1;
		return c;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		k = 2, cp = c & 0x1f, min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		k = 3, cp = c & 0x0f, min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4, cp = c & 0x07, min = 0x10000;
	} else {
		return -1;
	}
	if (n < k)
		return -1;
	for (i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return -1;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = k;
	return cp;
}

/* Control characters (Unicode Cc): refused in every part. */
static bool jid_control(long cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f);
}

/* Space separators (Unicode Zs): not in the IdentifierClass (localparts). */
static bool jid_space(long cp)
{
	return cp == 0x20 || cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x202f ||
	       cp == 0x205f || cp == 0x3000;
}

bool xs2s_domain_valid(const char *d)
{
	size_t n = strlen(d), i, label = 0;
	bool ascii = true;

	if (n == 0 || n > XS2S_DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.' || strstr(d, ".."))
		return false; /* RFC 7622 3.2: a DNS domain name has no empty label */
	for (i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)d[i];

		if (c == '.' || c == '\0') {
			if (ascii && label > XS2S_LABEL_MAX)
				return false;
			label = 0;
			ascii = true;
			continue;
		}
		if (c <= ' ' || c == '@' || c == '/' || c == '\'' || c == '"' || c == '<' || c == '>' || c == '&' ||
		    c == ':' || c == 0x7f)
			return false;
		if (c >= 0x80) {
			size_t len;

			if (jid_utf8((const unsigned char *)d + i, n - i, &len) < 0)
				return false; /* RFC 7622 3.1: UTF-8 */
			i += len - 1;
			label += len;
			ascii = false;
			continue;
		}
		label++;
	}
	return true;
}

int xs2s_jid_domain(const char *jid, char *out, size_t cap)
{
	const char *at = strchr(jid, '@'), *d = at ? at + 1 : jid, *slash;
	size_t n;

	slash = strchr(d, '/');
	n = slash ? (size_t)(slash - d) : strlen(d);
	if (at && at == jid)
		return XS2S_EINVAL;
	if (n == 0 || n >= cap)
		return XS2S_EINVAL;
	memcpy(out, d, n);
	out[n] = '\0';
	return xs2s_domain_valid(out) ? XS2S_OK : XS2S_EINVAL;
}

bool xs2s_domain_eq(const char *a, const char *b)
{
	for (;; a++, b++) {
		char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
		char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

		if (x != y)
			return false;
		if (!x)
			return true;
	}
}

/* Check part p[0..n) as a localpart (local) or a resourcepart: the fault
 * of that part, XS2S_JID_ENCODING, or XS2S_JID_OK. */
static enum xs2s_jid_fault jid_part(const char *p, size_t n, bool local)
{
	enum xs2s_jid_fault bad = local ? XS2S_JID_LOCAL : XS2S_JID_RESOURCE;
	size_t i, len;

	if (n == 0 || n > XS2S_JID_PART_MAX)
		return bad;
	for (i = 0; i < n; i += len) {
		long cp = jid_utf8((const unsigned char *)p + i, n - i, &len);

		if (cp < 0)
			return XS2S_JID_ENCODING;
		if (jid_control(cp))
			return bad;
		/* RFC 7622 3.3.1: characters a localpart never has. */
		if (local && (jid_space(cp) || (cp < 0x80 && strchr("\"&'/:<>@", (int)cp))))
			return bad;
	}
	return XS2S_JID_OK;
}

enum xs2s_jid_fault xs2s_jid_check(const char *jid, const char **dom, size_t *dom_len)
{
	const char *slash, *at, *d;
	char buf[XS2S_DOMAIN_MAX + 1];
	size_t dn;
	enum xs2s_jid_fault f;

	if (dom)
		*dom = NULL;
	if (dom_len)
		*dom_len = 0;
	if (!jid || !jid[0])
		return XS2S_JID_EMPTY;
	/* RFC 7622 3.1: the first '/' starts the resourcepart; an '@' before it
	 * ends the localpart. */
	slash = strchr(jid, '/');
	at = memchr(jid, '@', slash ? (size_t)(slash - jid) : strlen(jid));
	d = at ? at + 1 : jid;
	dn = slash ? (size_t)(slash - d) : strlen(d);
	if (dn == 0 || dn > XS2S_DOMAIN_MAX)
		return XS2S_JID_DOMAIN;
	memcpy(buf, d, dn);
	buf[dn] = '\0';
	if (!xs2s_domain_valid(buf))
		return XS2S_JID_DOMAIN;
	if (dom)
		*dom = d;
	if (dom_len)
		*dom_len = dn;
	if (at && (f = jid_part(jid, (size_t)(at - jid), true)) != XS2S_JID_OK)
		return f;
	if (slash && (f = jid_part(slash + 1, strlen(slash + 1), false)) != XS2S_JID_OK)
		return f;
	return XS2S_JID_OK;
}

bool xs2s_jid_valid(const char *jid)
{
	return xs2s_jid_check(jid, NULL, NULL) == XS2S_JID_OK;
}

const char *xs2s_jid_fault_name(enum xs2s_jid_fault f)
{
	static const char *const names[] = {
		[XS2S_JID_OK] = "ok",         [XS2S_JID_EMPTY] = "empty",       [XS2S_JID_LOCAL] = "localpart",
		[XS2S_JID_DOMAIN] = "domainpart", [XS2S_JID_RESOURCE] = "resourcepart", [XS2S_JID_ENCODING] = "encoding",
	};

	return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "?";
}
