/* SPDX-License-Identifier: MIT
 * The three certificate accessors firmware/tls.c uses, for a lean wolfSSL
 * built without OPENSSL_EXTRA (wolfSSL 5.5.4 compiles them only with it).
 * Needs OPENSSL_EXTRA_X509_SMALL (wolfSSL then fills store->current_cert) and
 * KEEP_PEER_CERT. Built only when user_settings.h has no OPENSSL_EXTRA. */
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/ssl.h>
#include <wolfssl/internal.h>

#if !defined(OPENSSL_EXTRA) && defined(OPENSSL_EXTRA_X509_SMALL)
/* wolfssl/openssl/ssl.h's values (OpenSSL's), not visible without OPENSSL_EXTRA */
#ifndef XKU_SSL_SERVER
#define XKU_SSL_SERVER 0x1
#define XKU_SSL_CLIENT 0x2
#define XKU_ANYEKU 0x100
#endif

WOLFSSL_X509 *wolfSSL_X509_STORE_CTX_get_current_cert(WOLFSSL_X509_STORE_CTX *ctx)
{
	return ctx ? ctx->current_cert : NULL;
}

int wolfSSL_X509_STORE_CTX_get_error(WOLFSSL_X509_STORE_CTX *ctx)
{
	return ctx ? ctx->error : 0;
}

/* Same bits as wolfSSL's own (XKU_*), for the usages tls.c looks at. */
unsigned int wolfSSL_X509_get_extended_key_usage(WOLFSSL_X509 *x509)
{
	unsigned int r = 0;

	if (!x509)
		return 0;
	if (x509->extKeyUsage & EXTKEYUSE_SERVER_AUTH)
		r |= XKU_SSL_SERVER;
	if (x509->extKeyUsage & EXTKEYUSE_CLIENT_AUTH)
		r |= XKU_SSL_CLIENT;
	if (x509->extKeyUsage & EXTKEYUSE_ANY)
		r |= XKU_ANYEKU;
	return r;
}
#endif
