/* JID helpers; see jid.h. */
#include <string.h>
#include "xs2s_err.h"
#include "lib/jid.h"

bool xs2s_domain_valid(const char *d)
{
	size_t n = strlen(d), i;

	if (n == 0 || n > XS2S_DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.' || strstr(d, ".."))
		return false; /* RFC 7622 3.2: a DNS domain name has no empty label */
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c <= ' ' || c == '@' || c == '/' || c == '\'' || c == '"' || c == '<' || c == '>' || c == '&' ||
		    c == ':' || c == 0x7f)
			return false;
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
