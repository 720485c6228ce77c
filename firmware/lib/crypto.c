/* Crypto helpers over wolfCrypt; see crypto.h. */
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha256.h>
#if CONFIG_XS2S_COMPONENTS
#include <wolfssl/wolfcrypt/sha.h>
#endif
#include "port.h"
#include "lib/crypto.h"

_Static_assert(XS2S_SHA256_LEN == WC_SHA256_DIGEST_SIZE, "SHA-256 digest length");

static const char crypto_hexdigits[] = "0123456789abcdef";

#if CONFIG_XS2S_COMPONENTS
/* The lean build (port/wolfssl/gen_user_settings.sh) keeps SHA-1: X.509
 * needs it too. */
#ifdef NO_SHA
#error "wolfSSL built without SHA-1 (NO_SHA): XEP-0114 components need it"
#endif
_Static_assert(XS2S_SHA1_LEN == WC_SHA_DIGEST_SIZE, "SHA-1 digest length");

void xs2s_sha1(const char *const parts[], unsigned nparts, uint8_t out[XS2S_SHA1_LEN])
{
	wc_Sha h;
	unsigned i;
	int rc = wc_InitSha(&h);

	for (i = 0; rc == 0 && i < nparts; i++)
		rc = wc_ShaUpdate(&h, (const byte *)parts[i], (word32)strlen(parts[i]));
	if (rc == 0)
		rc = wc_ShaFinal(&h, out);
	if (rc != 0)
		memset(out, 0, XS2S_SHA1_LEN);
	wc_ShaFree(&h);
}
#endif

void xs2s_sha256(const void *p, size_t n, uint8_t out[XS2S_SHA256_LEN])
{
	if (wc_Sha256Hash(p, (word32)n, out) != 0)
		memset(out, 0, XS2S_SHA256_LEN);
}

void xs2s_hmac_sha256(const void *key, size_t klen, const char *const parts[], unsigned nparts,
		      uint8_t out[XS2S_SHA256_LEN])
{
	Hmac h;
	unsigned i;

	memset(out, 0, XS2S_SHA256_LEN);
	if (wc_HmacInit(&h, NULL, INVALID_DEVID) != 0)
		return;
	if (wc_HmacSetKey(&h, WC_SHA256, key, (word32)klen) == 0) {
		for (i = 0; i < nparts; i++)
			wc_HmacUpdate(&h, (const byte *)parts[i], (word32)strlen(parts[i]));
		wc_HmacFinal(&h, out);
	}
	wc_HmacFree(&h);
}

void xs2s_hex(const uint8_t *p, size_t n, char *out)
{
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = crypto_hexdigits[p[i] >> 4];
		out[2 * i + 1] = crypto_hexdigits[p[i] & 15];
	}
	out[2 * n] = '\0';
}

void xs2s_random_hex(char *out, size_t n)
{
	uint8_t r[64];
	size_t i;

	if (n > 2 * sizeof r)
		n = 2 * sizeof r;
	xs2s_port_random(r, (n + 1) / 2);
	for (i = 0; i < n; i++)
		out[i] = crypto_hexdigits[(r[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
	out[n] = '\0';
}

bool xs2s_ct_streq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned diff = 0;

	if (la != lb)
		return false;
	for (i = 0; i < la; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	return diff == 0;
}
