/* Hashing, HMAC and random identifiers: the engine's only crypto outside the
 * TLS glue. crypto.c and link/tls.c are the only files that include wolfSSL.
 *
 * Who calls: dialback (XEP-0185 keys), the engine (the dialback secret), the
 * link (stream ids), the component table (XEP-0114 handshakes). Owns nothing; every call is pure but for the random
 * ones, which draw from the port's entropy (xs2s_port_random).
 */
#ifndef XS2S_CRYPTO_H
#define XS2S_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define XS2S_SHA256_LEN 32
#define XS2S_SHA1_LEN 20

/* SHA-256 of n bytes at p. */
void xs2s_sha256(const void *p, size_t n, uint8_t out[XS2S_SHA256_LEN]);
#if CONFIG_XS2S_COMPONENTS
/* SHA-1 of the concatenation of nparts strings: only for the XEP-0114
 * handshake, which defines it (never for anything new). */
void xs2s_sha1(const char *const parts[], unsigned nparts, uint8_t out[XS2S_SHA1_LEN]);
#endif
/* HMAC-SHA-256 with key over the concatenation of nparts strings. */
void xs2s_hmac_sha256(const void *key, size_t klen, const char *const parts[], unsigned nparts,
		      uint8_t out[XS2S_SHA256_LEN]);
/* Lower-case hex of n bytes into out (2n + 1 bytes, NUL-terminated). */
void xs2s_hex(const uint8_t *p, size_t n, char *out);
/* n random lower-case hex digits into out (n + 1 bytes); n <= 128. */
void xs2s_random_hex(char *out, size_t n);
/* Equal strings, in time independent of where they differ (the length is
 * not secret). */
bool xs2s_ct_streq(const char *a, const char *b);

#endif
