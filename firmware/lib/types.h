/* The vocabulary every layer shares: directions, certificate verdicts, how a
 * domain pair was authenticated, and the time helpers. */
#ifndef XS2S_TYPES_H
#define XS2S_TYPES_H

#include <stdint.h>

/* Wrap-safe deadline test (STYLE.md). */
#define XS2S_TIME_REACHED(now, t) ((int32_t)((uint32_t)(now) - (uint32_t)(t)) >= 0)
#define XS2S_MS_PER_S 1000u

enum xs2s_dir { XS2S_DIR_IN = 0, XS2S_DIR_OUT };

enum xs2s_cert_verdict {
	XS2S_CERT_NONE = 0,       /* no certificate presented (or no TLS) */
	XS2S_CERT_VALID,          /* chain to a trusted CA, in date, name matches */
	XS2S_CERT_UNTRUSTED,      /* chain does not end at a trusted CA */
	XS2S_CERT_EXPIRED,        /* outside its validity period */
	XS2S_CERT_NAME_MISMATCH,  /* trusted, but not for the peer's domain */
};
const char *xs2s_cert_verdict_name(enum xs2s_cert_verdict v);

/* A 64-bit counter in decimal, for "%s": small C libraries (newlib-nano)
 * print %llu literally, so no format of the engine uses it (nor %zu: size_t
 * is printed as %lu of an unsigned long, uint32_t as %lu too). Returns out. */
#define XS2S_U64_DEC 21
const char *xs2s_u64_dec(char out[XS2S_U64_DEC], uint64_t v);

/* How a domain pair was authenticated (status "auth"). */
enum xs2s_auth_method {
	XS2S_AUTH_NONE = 0,
	XS2S_AUTH_DIALBACK,       /* XEP-0220 with a db:verify round trip */
	XS2S_AUTH_DIALBACK_CERT,  /* XEP-0344: db:result accepted on a valid certificate */
	XS2S_AUTH_SASL_EXTERNAL,  /* XEP-0178 */
};
const char *xs2s_auth_method_name(enum xs2s_auth_method m);

/* A dialback verdict (XEP-0220 2.4). */
enum xs2s_db_verdict { XS2S_DB_VALID = 1, XS2S_DB_INVALID, XS2S_DB_ERROR };

#endif
