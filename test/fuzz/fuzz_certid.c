/* Fuzz harness for certificate identities (firmware/certid.c).
 *
 * Each input is a DER certificate. It is parsed twice (same result), and the
 * result is checked against the contract: XS2S_OK or XS2S_EPROTO, an empty
 * list on error, every name non-empty, NUL-terminated, lower-case, printable
 * ASCII except for JID-shaped XmppAddrs. A certificate that parses must span
 * the whole input, so the input minus its last byte must not parse (that copy
 * is exact-size, so ASan sees any read past its end). Then every identity
 * must match the domain it names (DNS-ID, wildcard with "x." prefixed,
 * SRV-ID without "_xmpp-server.", bare XmppAddr, CN only without a SAN), and
 * a domain cut from the input's tail is matched for crashes only.
 *
 * Build with libFuzzer: see test/fuzz/README.md.
 * Linked with replay.c instead, it replays the files named on the command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "link/certid.h"

#define FUZZ_TAIL_DOMAIN 64 /* bytes of the input's tail tried as a domain */
#define FUZZ_SRV_PREFIX "_xmpp-server."


/* Would xs2s_certid_match() accept s as a domain at all? */
static int fuzz_domain_ok(const char *s)
{
	size_t n = strlen(s);

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0)
		return 0;
	for (; *s != '\0'; s++)
		if ((uint8_t)*s < 0x21 || (uint8_t)*s > 0x7E || *s == '*')
			return 0;
	return 1;
}

/* "*." followed by at least two non-empty labels without '*' (one trailing dot allowed). */
static int fuzz_wildcard_ok(const char *s)
{
	size_t n = strlen(s), i, labels = 1;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n < 3 || s[0] != '*' || s[1] != '.' || s[2] == '.' || s[n - 1] == '.')
		return 0;
	for (i = 2; i < n; i++) {
		if (s[i] == '*' || (s[i] == '.' && s[i + 1] == '.'))
			return 0;
		labels += s[i] == '.';
	}
	return labels >= 2 && fuzz_domain_ok(s + 2);
}

static int fuzz_is_jid(const char *s)
{
	return strchr(s, '@') != NULL || strchr(s, '/') != NULL;
}

static void fuzz_check_match(const struct xs2s_certids *ids, const char *domain)
{
	enum xs2s_certid_type how = 0;
	unsigned i;

	if (!xs2s_certid_match(ids, domain, &how))
		return;
	FUZZ_CHECK(fuzz_domain_ok(domain));
	FUZZ_CHECK(how != XS2S_CERTID_CN || !ids->has_san);
	for (i = 0; i < ids->n && ids->id[i].type != how; i++)
		;
	FUZZ_CHECK(i < ids->n);
}

/* Must match: how is not checked, another identity may be preferred. */
static void fuzz_must_match(const struct xs2s_certids *ids, const char *domain)
{
	if (!fuzz_domain_ok(domain))
		return;
	FUZZ_CHECK(xs2s_certid_match(ids, domain, NULL));
	fuzz_check_match(ids, domain);
}

static void fuzz_check_ids(const struct xs2s_certids *ids)
{
	char dom[XS2S_CERTID_NAME_MAX + 3];
	unsigned i;
	size_t k;

	FUZZ_CHECK(ids->n <= XS2S_CERTID_MAX);
	for (i = 0; i < ids->n; i++) {
		const struct xs2s_certid *id = &ids->id[i];
		const char *name = id->name;
		uint8_t lo = id->type == XS2S_CERTID_XMPPADDR ? 0x20 : 0x21;
		int ascii_only = id->type != XS2S_CERTID_XMPPADDR || !fuzz_is_jid(name);

		FUZZ_CHECK(id->type >= XS2S_CERTID_DNS && id->type <= XS2S_CERTID_CN);
		FUZZ_CHECK(memchr(name, '\0', sizeof(id->name)) != NULL && name[0] != '\0');
		for (k = 0; name[k] != '\0'; k++) {
			FUZZ_CHECK(name[k] < 'A' || name[k] > 'Z');
			if (ascii_only)
				FUZZ_CHECK((uint8_t)name[k] >= lo && (uint8_t)name[k] <= 0x7E);
		}
		switch (id->type) {
		case XS2S_CERTID_DNS:
		case XS2S_CERTID_CN:
			if (id->type == XS2S_CERTID_CN && ids->has_san) {
				fuzz_check_match(ids, name); /* never as CN */
				break;
			}
			fuzz_must_match(ids, name);
			if (fuzz_wildcard_ok(name)) {
				snprintf(dom, sizeof(dom), "x%s", name + 1);
				fuzz_must_match(ids, dom);
			}
			break;
		case XS2S_CERTID_SRV:
			if (strncmp(name, FUZZ_SRV_PREFIX, strlen(FUZZ_SRV_PREFIX)) == 0)
				fuzz_must_match(ids, name + strlen(FUZZ_SRV_PREFIX));
			break;
		case XS2S_CERTID_XMPPADDR:
			if (!fuzz_is_jid(name))
				fuzz_must_match(ids, name);
			else
				fuzz_check_match(ids, name);
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	static struct xs2s_certids ids, again;
	char tail[FUZZ_TAIL_DOMAIN + 1];
	size_t t = len < FUZZ_TAIL_DOMAIN ? len : FUZZ_TAIL_DOMAIN;
	int rc;

	rc = xs2s_certid_parse(data, len, &ids);
	FUZZ_CHECK(rc == XS2S_OK || rc == XS2S_EPROTO);
	FUZZ_CHECK(xs2s_certid_parse(data, len, &again) == rc);
	FUZZ_CHECK(memcmp(&ids, &again, sizeof(ids)) == 0);
	if (rc != XS2S_OK) {
		FUZZ_CHECK(ids.n == 0 && !ids.has_san && !ids.truncated);
		return 0;
	}
	if (len > 0) {
		uint8_t *cut = malloc(len - 1 ? len - 1 : 1);

		FUZZ_CHECK(cut != NULL);
		memcpy(cut, data, len - 1);
		FUZZ_CHECK(xs2s_certid_parse(cut, len - 1, &again) == XS2S_EPROTO);
		free(cut);
	}
	fuzz_check_ids(&ids);
	memcpy(tail, data + len - t, t);
	tail[t] = '\0';
	fuzz_check_match(&ids, tail);
	return 0;
}
