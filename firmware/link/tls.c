/* wolfSSL glue: per-engine arena and contexts, policy, buffer I/O, verdicts; see tls.h. */
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/memory.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include "xs2s_log.h"
#include "link/tls.h"

#define TLS_CIPHERS \
	"TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

/* The documented groups, the faster one first (CONFIG_XS2S_TLS_GROUP_FIRST;
 * XS2S_P256_FAST comes from the lean build's user_settings.h when P-256 runs
 * on SP assembly). */
#if defined(CONFIG_XS2S_TLS_GROUP_P256) || (defined(CONFIG_XS2S_TLS_GROUP_AUTO) && defined(XS2S_P256_FAST))
#define TLS_GROUPS WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP384R1
#define TLS_GROUP_NAMES "P-256:X25519:P-384"
#else
#define TLS_GROUPS WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1
#define TLS_GROUP_NAMES "X25519:P-256:P-384"
#endif
/* Signature algorithms offered (ClientHello, CertificateRequest): no SHA-1,
 * no SHA-224. Builds with TLS < 1.2 compiled in (Debian's) add SHA-1 ones
 * by default. */
#define TLS_SIGALGS \
	"ECDSA+SHA256:ECDSA+SHA384:ECDSA+SHA512:RSA-PSS+SHA256:RSA-PSS+SHA384:RSA-PSS+SHA512:" \
	"RSA+SHA256:RSA+SHA384:RSA+SHA512"
/* The lowest version: 1.2, or 1.3 in a TLS 1.3-only wolfSSL build
 * (WOLFSSL_NO_TLS12; its SetMinVersion refuses 1.2). */
#ifdef WOLFSSL_NO_TLS12
#define TLS_MIN_VERSION WOLFSSL_TLSV1_3
#define TLS_MIN_NAME "1.3"
#else
#define TLS_MIN_VERSION WOLFSSL_TLSV1_2
#define TLS_MIN_NAME "1.2"
#endif

#define TLS_LIB_BYTES 4096 /* what wolfSSL_Init allocates for the process, if anything */

/* Process-wide: wolfSSL's allocator hooks are global; they draw from tls_cur,
 * the arena of the engine whose call is running (the library arena
 * otherwise). */
static _Alignas(16) uint8_t tls_lib_mem[TLS_LIB_BYTES];
static struct xs2s_arena tls_lib;
static struct xs2s_arena *tls_cur = &tls_lib;
static bool tls_lib_ready;
/* The engine whose arena holds wolfSSL's per-thread caches now (FP_ECC). */
static struct xs2s_tls *tls_last;

/* wolfSSL's allocator hooks. A pointer that is not the current arena's is
 * refused rather than handed to it (none is expected). */
static void *tls_malloc(size_t n) { return xs2s_arena_alloc(tls_cur, n); }
static void tls_free(void *p)
{
	if (p && xs2s_arena_owns(tls_cur, p))
		xs2s_arena_free(tls_cur, p);
}
static void *tls_realloc(void *p, size_t n)
{
	if (p && !xs2s_arena_owns(tls_cur, p))
		return NULL;
	return xs2s_arena_realloc(tls_cur, p, n);
}

/* Builds with FP_ECC (Debian's) keep a per-thread table of about 2.6 MB per
 * cached curve point, growing with every new CA or peer key. Drop it after
 * each handshake so the arena holds only live sessions; the cost is a table
 * rebuild (a few ms) in the next handshake that needs it. */
static void tls_drop_ecc_cache(void)
{
#ifdef FP_ECC
	wc_ecc_fp_free();
#endif
}

/* Make t's arena current, charged to owner, until tls_leave. */
struct tls_call {
	struct xs2s_arena *arena;
	uint8_t owner;
};

static struct tls_call tls_enter(struct xs2s_tls *t, uint8_t owner)
{
	struct tls_call prev = { tls_cur, 0 };

	if (tls_last && tls_last != t) {
		/* wolfSSL's per-thread caches live in the arena of the engine that
		 * made them: free them there before another engine's call. */
		tls_cur = &tls_last->arena;
		tls_drop_ecc_cache();
	}
	tls_last = t;
	tls_cur = &t->arena;
	prev.owner = xs2s_arena_set_owner(tls_cur, owner);
	return prev;
}

static void tls_leave(struct xs2s_tls *t, struct tls_call prev)
{
	xs2s_arena_set_owner(&t->arena, prev.owner);
	tls_cur = prev.arena;
}

/* I/O callbacks: ciphertext comes from s->rx and goes to s->tx. */
static int tls_io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct xs2s_tls_sess *s = ctx;
	size_t n;

	(void)ssl;
	n = xs2s_bq_get(s->rx, buf, (size_t)sz);
	if (n == 0)
		return s->eof ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
	return (int)n;
}

static int tls_io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct xs2s_tls_sess *s = ctx;
	size_t n;

	(void)ssl;
	n = xs2s_bq_put_some(s->tx, buf, (size_t)sz);
	if (n == 0) {
		s->want_write = true;
		return WOLFSSL_CBIO_ERR_WANT_WRITE;
	}
	return (int)n;
}

/* A client certificate whose extended key usage names serverAuth but not
 * clientAuth: XMPP servers use one certificate for both roles and public
 * CAs no longer issue clientAuth, so s2s accepts it (docs/architecture.md). */
#define TLS_XKU_SERVER_AUTH 0x1u /* wolfSSL_X509_get_extended_key_usage() bit (XKU_SSL_SERVER) */

static bool tls_server_cert_as_client(const struct xs2s_tls_sess *s, WOLFSSL_X509_STORE_CTX *store, int err)
{
	WOLFSSL_X509 *x = wolfSSL_X509_STORE_CTX_get_current_cert(store);

	return !s->client && err == EXTKEYUSE_AUTH_E && x &&
	       (wolfSSL_X509_get_extended_key_usage(x) & TLS_XKU_SERVER_AUTH);
}

/* Record the first verification error of the chain; never abort here: the
 * verdict is the link's to judge (dialback may still authenticate it). */
static int tls_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	struct xs2s_tls_sess *s = store->userCtx;
	int err = wolfSSL_X509_STORE_CTX_get_error(store);

	if (s && !preverify && err && !s->cert_err && !tls_server_cert_as_client(s, store, err))
		s->cert_err = err;
	return 1;
}

/* Validity-period errors, in wolfSSL's own codes and in its OpenSSL-style ones. */
static bool tls_err_is_date(int err)
{
	return err == ASN_AFTER_DATE_E || err == ASN_BEFORE_DATE_E || err == X509_V_ERR_CERT_NOT_YET_VALID ||
	       err == X509_V_ERR_CERT_HAS_EXPIRED || err == X509_V_ERR_ERROR_IN_CERT_NOT_BEFORE_FIELD ||
	       err == X509_V_ERR_ERROR_IN_CERT_NOT_AFTER_FIELD;
}

/* The documented groups only, in both TLS versions. With the OpenSSL layer
 * (Debian's build) the others are disabled for TLS 1.2's ECDHE too (without
 * it, wolfSSL picks any curve it has from the client's list); the lean
 * build has no other curve compiled in. */
#ifndef OPENSSL_EXTRA
/* Whether this wolfSSL build has group g (wolfSSL_CTX_set_groups refuses a
 * list with one it lacks: a P-256-only build names only that one). */
static bool tls_group_built(int g)
{
	switch (g) {
#ifdef HAVE_CURVE25519
	case WOLFSSL_ECC_X25519:
		return true;
#endif
#if !defined(NO_ECC256) && (defined(HAVE_ECC256) || !defined(ECC_USER_CURVES))
	case WOLFSSL_ECC_SECP256R1:
		return true;
#endif
#if !defined(NO_ECC384) && (defined(HAVE_ECC384) || !defined(ECC_USER_CURVES))
	case WOLFSSL_ECC_SECP384R1:
		return true;
#endif
	default:
		return false;
	}
}
#endif

static int tls_ctx_groups(WOLFSSL_CTX *ctx)
{
#ifdef OPENSSL_EXTRA
	return wolfSSL_CTX_set1_curves_list(ctx, TLS_GROUP_NAMES);
#else
	static const int order[] = { TLS_GROUPS };
	int groups[sizeof order / sizeof order[0]];
	int n = 0;
	size_t i;

	for (i = 0; i < sizeof order / sizeof order[0]; i++)
		if (tls_group_built(order[i]))
			groups[n++] = order[i];
	return wolfSSL_CTX_set_groups(ctx, groups, n);
#endif
}

/* The policy the library's defaults do not give: signature algorithms
 * without SHA-1, and wolfSSL's session cache and tickets off unless
 * configured (CONFIG_XS2S_TLS_SESSION_CACHE). */
static int tls_ctx_policy(WOLFSSL_CTX *ctx)
{
#ifdef OPENSSL_EXTRA
	if (wolfSSL_CTX_set1_sigalgs_list(ctx, TLS_SIGALGS) != WOLFSSL_SUCCESS)
		return WOLFSSL_FAILURE;
#endif
#if defined(CONFIG_XS2S_TLS_SESSION_CACHE_OFF) && !defined(NO_SESSION_CACHE)
	wolfSSL_CTX_set_session_cache_mode(ctx, WOLFSSL_SESS_CACHE_OFF);
#endif
#if defined(CONFIG_XS2S_TLS_SESSION_CACHE_OFF) && defined(HAVE_SESSION_TICKET)
#ifdef WOLFSSL_TLS13
	wolfSSL_CTX_no_ticket_TLSv13(ctx);
#endif
	wolfSSL_CTX_NoTicketTLSv12(ctx);
#endif
	return WOLFSSL_SUCCESS;
}

static WOLFSSL_CTX *tls_ctx_new(WOLFSSL_METHOD *m, const struct xs2s_config *cfg)
{
	WOLFSSL_CTX *ctx = m ? wolfSSL_CTX_new(m) : NULL;

	if (!ctx)
		return NULL;
	if (wolfSSL_CTX_SetMinVersion(ctx, TLS_MIN_VERSION) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_cipher_list(ctx, TLS_CIPHERS) != WOLFSSL_SUCCESS ||
	    tls_ctx_groups(ctx) != WOLFSSL_SUCCESS || tls_ctx_policy(ctx) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_certificate_chain_buffer_format(ctx, cfg->cert_pem, (long)cfg->cert_len,
							     WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_use_PrivateKey_buffer(ctx, cfg->key_pem, (long)cfg->key_len,
					      WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS) {
		wolfSSL_CTX_free(ctx);
		return NULL;
	}
	if (cfg->ca_pem && cfg->ca_len &&
	    wolfSSL_CTX_load_verify_buffer(ctx, cfg->ca_pem, (long)cfg->ca_len,
					   WOLFSSL_FILETYPE_PEM) != WOLFSSL_SUCCESS)
		XS2S_LOGW(0, "tls: some CA certificates could not be loaded");
	/* Always request and verify the peer's certificate; the callback records
	 * the verdict so dialback can still authenticate an untrusted peer. */
	wolfSSL_CTX_set_verify(ctx, WOLFSSL_VERIFY_PEER, tls_verify_cb);
	return ctx;
}

/* Both contexts from cfg, or neither: XS2S_OK, XS2S_ETLS, or XS2S_ENOMEM
 * when the arena refused anything meanwhile (wolfSSL skips a CA it has no
 * memory for and still reports success: the CA list would be partial). */
static int tls_ctx_pair(struct xs2s_tls *t, const struct xs2s_config *cfg, void **client, void **server)
{
	struct tls_call prev = tls_enter(t, 0);
	uint32_t fails0 = t->arena.fails;
	WOLFSSL_CTX *c = tls_ctx_new(wolfSSLv23_client_method(), cfg);
	WOLFSSL_CTX *s = c ? tls_ctx_new(wolfSSLv23_server_method(), cfg) : NULL;
	int rc = !s ? XS2S_ETLS : XS2S_OK;

	if (t->arena.fails != fails0)
		rc = XS2S_ENOMEM;
	if (rc != XS2S_OK) {
		wolfSSL_CTX_free(c);
		wolfSSL_CTX_free(s);
		c = s = NULL;
	}
	tls_leave(t, prev);
	*client = c;
	*server = s;
	return rc;
}

int xs2s_tls_init(struct xs2s_tls *t, const struct xs2s_config *cfg)
{
	int rc;

	/* Once per process: the hooks, and whatever wolfSSL_Init keeps. */
	if (!tls_lib_ready) {
		xs2s_arena_init(&tls_lib, tls_lib_mem, sizeof tls_lib_mem, "tls-lib");
		tls_cur = &tls_lib;
		if (wolfSSL_SetAllocators(tls_malloc, tls_free, tls_realloc) != 0)
			return XS2S_ETLS;
		if (wolfSSL_Init() != WOLFSSL_SUCCESS)
			return XS2S_ETLS;
		tls_lib_ready = true;
	}
	xs2s_arena_init(&t->arena, t->mem, sizeof t->mem, "tls");
	t->client_ctx = t->server_ctx = NULL;
	t->ready = false;
	if (!cfg->cert_pem || !cfg->key_pem)
		return XS2S_OK;
	rc = tls_ctx_pair(t, cfg, &t->client_ctx, &t->server_ctx);
	if (rc == XS2S_ENOMEM) {
		XS2S_LOGE(0, "tls: the TLS arena (CONFIG_XS2S_TLS_ARENA, %lu bytes) has no room for the certificate, key "
			     "and CA list", (unsigned long)t->arena.size);
		return rc;
	}
	if (rc != XS2S_OK) {
		XS2S_LOGE(0, "tls: cannot use the certificate/key (PEM expected, key must match)");
		return rc;
	}
	t->ready = true;
	XS2S_LOGI(0, "tls: ready, TLS >= " TLS_MIN_NAME ", AEAD+ECDHE suites only, arena %u bytes (%lu used)",
		  (unsigned)sizeof t->mem, (unsigned long)t->arena.used);
	return XS2S_OK;
}

int xs2s_tls_reload(struct xs2s_tls *t, const struct xs2s_config *cfg)
{
	struct tls_call prev;
	void *client, *server;
	int rc;

	if (!cfg->cert_pem || !cfg->key_pem)
		return XS2S_EINVAL;
	rc = tls_ctx_pair(t, cfg, &client, &server);
	if (rc == XS2S_ENOMEM) {
		XS2S_LOGE(0, "tls: reload: TLS arena exhausted (a reload needs room for a second set of contexts while "
			     "the old ones are in use: CONFIG_XS2S_TLS_ARENA); the old credentials stay in use");
		return rc;
	}
	if (rc != XS2S_OK) {
		XS2S_LOGE(0, "tls: reload: cannot use the new certificate/key (PEM expected, key must match); the old "
			     "ones stay in use");
		return rc;
	}
	prev = tls_enter(t, 0);
	wolfSSL_CTX_free(t->client_ctx); /* the engine's reference; sessions keep theirs */
	wolfSSL_CTX_free(t->server_ctx);
	tls_leave(t, prev);
	t->client_ctx = client;
	t->server_ctx = server;
	t->ready = true;
	XS2S_LOGI(0, "tls: reloaded certificate, key and CAs: new links use them, open links keep theirs "
		     "(arena %lu bytes used)", (unsigned long)t->arena.used);
	return XS2S_OK;
}

void xs2s_tls_fini(struct xs2s_tls *t)
{
	struct tls_call prev = tls_enter(t, 0);

	wolfSSL_CTX_free(t->client_ctx);
	wolfSSL_CTX_free(t->server_ctx);
	t->client_ctx = t->server_ctx = NULL;
	t->ready = false;
	tls_drop_ecc_cache(); /* nothing of this engine stays in wolfSSL */
	tls_last = NULL;
	tls_leave(t, prev);
}

#if CONFIG_XS2S_COMPONENTS
bool xs2s_tls_cert_names(struct xs2s_tls *t, const struct xs2s_config *cfg, const char *domain)
{
	struct tls_call prev;
	uint8_t *der;
	int len;
	bool named = false;

	if (!cfg->cert_pem || !cfg->cert_len || cfg->cert_len > INT32_MAX)
		return false;
	prev = tls_enter(t, 0);
	der = xs2s_arena_alloc(&t->arena, cfg->cert_len); /* DER is shorter than its PEM */
	if (der) {
		len = wc_CertPemToDer(cfg->cert_pem, (int)cfg->cert_len, der, (int)cfg->cert_len, CERT_TYPE);
		named = len > 0 && xs2s_certid_parse(der, (size_t)len, &t->ids) == XS2S_OK &&
			xs2s_certid_match(&t->ids, domain, NULL);
		xs2s_arena_free(&t->arena, der);
	}
	tls_leave(t, prev);
	return named;
}
#endif

static void tls_errtext(struct xs2s_tls_sess *s, const char *what, int err)
{
	char buf[80];

	wolfSSL_ERR_error_string_n((unsigned long)err, buf, sizeof buf);
	if (!s->err[0])
		snprintf(s->err, sizeof s->err, "%s: %s (%d)", what, buf, err);
}

int xs2s_tls_start(struct xs2s_tls *t, struct xs2s_tls_sess *s, bool client, const char *sni, uint8_t owner,
		   struct xs2s_bq *rx, struct xs2s_bq *tx)
{
	struct tls_call prev;
	WOLFSSL *ssl;
	int rc = XS2S_OK;

	memset(s, 0, sizeof *s);
	s->tls = t;
	s->rx = rx;
	s->tx = tx;
	s->owner = owner;
	s->client = client;
	prev = tls_enter(t, owner);
	ssl = wolfSSL_new(client ? t->client_ctx : t->server_ctx);
	if (!ssl) {
		rc = t->arena.fails ? XS2S_ENOMEM : XS2S_ETLS;
		goto out;
	}
#ifdef OPENSSL_EXTRA
	/* The session's list, as the context's may be rebuilt from the suites. */
	if (wolfSSL_set1_sigalgs_list(ssl, TLS_SIGALGS) != WOLFSSL_SUCCESS) {
		wolfSSL_free(ssl);
		rc = XS2S_ETLS;
		goto out;
	}
#endif
	wolfSSL_SSLSetIORecv(ssl, tls_io_recv);
	wolfSSL_SSLSetIOSend(ssl, tls_io_send);
	wolfSSL_SetIOReadCtx(ssl, s);
	wolfSSL_SetIOWriteCtx(ssl, s);
	wolfSSL_SetCertCbCtx(ssl, s);
	if (client && wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, sni, (unsigned short)strlen(sni)) != WOLFSSL_SUCCESS) {
		wolfSSL_free(ssl);
		rc = XS2S_ENOMEM;
		goto out;
	}
	s->ssl = ssl;
out:
	tls_leave(t, prev);
	return rc;
}

#if CONFIG_XS2S_DIRECT_TLS
#define TLS_ALPN_XMPP_SERVER "xmpp-server" /* XEP-0368 8: the ALPN protocol id of jabber:server */

int xs2s_tls_alpn(struct xs2s_tls_sess *s)
{
#ifdef HAVE_ALPN
	static char proto[] = TLS_ALPN_XMPP_SERVER;
	struct tls_call prev = tls_enter(s->tls, s->owner);
	uint32_t fails0 = s->tls->arena.fails;
	int ret = wolfSSL_UseALPN(s->ssl, proto, sizeof proto - 1, WOLFSSL_ALPN_CONTINUE_ON_MISMATCH);

	tls_leave(s->tls, prev);
	if (ret != WOLFSSL_SUCCESS)
		return s->tls->arena.fails != fails0 || ret == MEMORY_E ? XS2S_ENOMEM : XS2S_ETLS;
	s->alpn_sent = true;
	return XS2S_OK;
#else
	(void)s;
	XS2S_LOGE(0, "tls: this wolfSSL has no ALPN (HAVE_ALPN): direct TLS (XEP-0368) cannot offer xmpp-server");
	return XS2S_ETLS;
#endif
}
#endif

/* Classify a failed wolfSSL call; fails0 is the arena's refusal count
 * before it, so exhaustion is reported as such whatever wolfSSL says. */
static int tls_want(struct xs2s_tls_sess *s, int ret, const char *what, uint32_t fails0)
{
	int err = wolfSSL_get_error(s->ssl, ret);

	if (s->tls->arena.fails != fails0) {
		if (!s->err[0])
			snprintf(s->err, sizeof s->err, "%s: TLS arena exhausted (CONFIG_XS2S_TLS_ARENA)", what);
		return XS2S_ENOMEM;
	}
	if (err == WOLFSSL_ERROR_WANT_READ)
		return s->want_write ? XS2S_EWANTWRITE : XS2S_EWANTREAD;
	if (err == WOLFSSL_ERROR_WANT_WRITE)
		return XS2S_EWANTWRITE;
	if (err == MEMORY_E || err == MEMORY_ERROR) {
		tls_errtext(s, what, err);
		return XS2S_ENOMEM;
	}
	if (err == WOLFSSL_ERROR_ZERO_RETURN || err == SOCKET_PEER_CLOSED_E)
		return XS2S_EIO;
	tls_errtext(s, what, err);
	return XS2S_ETLS;
}

enum xs2s_cert_verdict xs2s_tls_verdict(struct xs2s_tls_sess *s, const char *domain)
{
	struct tls_call prev;
	WOLFSSL_X509 *x;
	const unsigned char *der;
	int len = 0;
	enum xs2s_cert_verdict v;

	if (!s->ssl)
		return XS2S_CERT_NONE;
	prev = tls_enter(s->tls, s->owner);
	x = wolfSSL_get_peer_certificate(s->ssl);
	if (!x) {
		v = XS2S_CERT_NONE;
		goto out;
	}
	der = wolfSSL_X509_get_der(x, &len);
	if (tls_err_is_date(s->cert_err))
		v = XS2S_CERT_EXPIRED;
	else if (s->cert_err)
		v = XS2S_CERT_UNTRUSTED;
	else if (!der || len <= 0 || !domain[0] || xs2s_certid_parse(der, (size_t)len, &s->tls->ids) != XS2S_OK ||
		 !xs2s_certid_match(&s->tls->ids, domain, NULL))
		v = XS2S_CERT_NAME_MISMATCH;
	else
		v = XS2S_CERT_VALID;
	wolfSSL_X509_free(x);
out:
	tls_leave(s->tls, prev);
	return v;
}

/* ---- the ClientHello, before wolfSSL sees it ----
 * A client that offers none of our groups must get a handshake_failure alert
 * (RFC 8446 4.1.1, RFC 8422 5.1); wolfSSL 5.5.4 answers TLS 1.3 with a
 * HelloRetryRequest that names no group and then waits. The first flight is
 * plaintext: the server reads the ClientHello's supported_groups from rx
 * (without consuming it) and ends the handshake itself. */
#define TLS_HELLO_MAX 2048            /* larger ClientHellos are left to wolfSSL */
#define TLS_REC_HANDSHAKE 22
#define TLS_HS_CLIENT_HELLO 1
#define TLS_EXT_SUPPORTED_GROUPS 10
enum tls_hello { TLS_HELLO_MORE, TLS_HELLO_PASS, TLS_HELLO_NO_GROUP };

static uint16_t tls_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

/* Up to max bytes of q from its oldest, without consuming them. */
static size_t tls_rx_copy(const struct xs2s_bq *q, uint8_t *out, size_t max)
{
	size_t n1, n = xs2s_bq_len(q) < max ? xs2s_bq_len(q) : max;
	const uint8_t *p = xs2s_bq_rbuf(q, &n1);

	if (n1 > n)
		n1 = n;
	memcpy(out, p, n1);
	memcpy(out + n1, q->buf, n - n1);
	return n;
}

/* Does the ClientHello's supported_groups name one of ours? */
static enum tls_hello tls_hello_groups(const uint8_t *h, size_t n)
{
	size_t i = 2 + 32, end;

	if (i + 1 > n)
		return TLS_HELLO_PASS;
	i += 1 + h[i];                        /* session id */
	if (i + 2 > n)
		return TLS_HELLO_PASS;
	i += 2 + tls_be16(h + i);             /* cipher suites */
	if (i + 1 > n)
		return TLS_HELLO_PASS;
	i += 1 + h[i];                        /* compression methods */
	if (i + 2 > n)
		return TLS_HELLO_PASS;            /* no extensions: wolfSSL decides */
	end = i + 2 + tls_be16(h + i);
	for (i += 2; i + 4 <= end && end <= n; i += 4 + tls_be16(h + i + 2)) {
		size_t k, len = tls_be16(h + i + 2);

		if (tls_be16(h + i) != TLS_EXT_SUPPORTED_GROUPS)
			continue;
		if (i + 4 + len > n || len < 2)
			return TLS_HELLO_PASS;
		for (k = 2; k + 1 < len && k < 2u + tls_be16(h + i + 4); k += 2) {
			uint16_t g = tls_be16(h + i + 4 + k);

			if (g == WOLFSSL_ECC_X25519 || g == WOLFSSL_ECC_SECP256R1 || g == WOLFSSL_ECC_SECP384R1)
				return TLS_HELLO_PASS;
		}
		return TLS_HELLO_NO_GROUP;
	}
	return TLS_HELLO_PASS;                /* no supported_groups: wolfSSL decides */
}

/* The ClientHello waiting in rx, reassembled from its handshake records. */
static enum tls_hello tls_hello_check(const struct xs2s_bq *rx)
{
	uint8_t raw[TLS_HELLO_MAX + 5], msg[TLS_HELLO_MAX];
	size_t n = tls_rx_copy(rx, raw, sizeof raw), i = 0, m = 0;

	while (i + 5 <= n && raw[i] == TLS_REC_HANDSHAKE) {
		size_t len = tls_be16(raw + i + 3), take = len;

		if (i + 5 + len > n)
			take = n - i - 5;             /* the record is still arriving */
		if (m + take > sizeof msg)
			return TLS_HELLO_PASS;
		memcpy(msg + m, raw + i + 5, take);
		m += take;
		if (m >= 4 && (msg[0] != TLS_HS_CLIENT_HELLO || msg[1]))
			return TLS_HELLO_PASS;        /* not a ClientHello, or over 64 KiB */
		if (m >= 4 && m >= 4u + tls_be16(msg + 2))
			return tls_hello_groups(msg + 4, tls_be16(msg + 2));
		if (take < len)
			break;
		i += 5 + len;
	}
	if (i < n && raw[i] != TLS_REC_HANDSHAKE)
		return TLS_HELLO_PASS;                /* wolfSSL answers what is not a handshake */
	return n >= sizeof raw || !xs2s_bq_room(rx) ? TLS_HELLO_PASS : TLS_HELLO_MORE;
}

int xs2s_tls_handshake(struct xs2s_tls_sess *s)
{
	static const uint8_t alert_no_group[] = { 21, 3, 3, 0, 2, 2, 40 }; /* fatal alert, plaintext */
	struct tls_call prev;
	uint32_t fails0 = s->tls->arena.fails;
	int ret, rc = XS2S_OK;
	const char *v, *c;

	if (!s->client && !s->hello_checked) {
		enum tls_hello h = tls_hello_check(s->rx);

		if (h == TLS_HELLO_MORE)
			return s->eof ? XS2S_ETLS : XS2S_EWANTREAD;
		s->hello_checked = true;
		if (h == TLS_HELLO_NO_GROUP) {
			xs2s_bq_clear(s->rx);
			xs2s_bq_put(s->tx, alert_no_group, sizeof alert_no_group);
			snprintf(s->err, sizeof s->err, "the ClientHello offers none of X25519, P-256, P-384: "
				 "handshake_failure alert");
			return XS2S_ETLS;
		}
	}
	prev = tls_enter(s->tls, s->owner);
	s->want_write = false;
	ret = s->client ? wolfSSL_connect(s->ssl) : wolfSSL_accept(s->ssl);
	if (ret != WOLFSSL_SUCCESS) {
		rc = tls_want(s, ret, "TLS handshake", fails0);
		goto out;
	}
	v = wolfSSL_get_version(s->ssl);
	c = wolfSSL_get_cipher_name(s->ssl);
	snprintf(s->version, sizeof s->version, "%s", v ? v : "?");
	snprintf(s->cipher, sizeof s->cipher, "%s", c ? c : "?");
#if CONFIG_XS2S_DIRECT_TLS && defined(HAVE_ALPN)
	if (s->alpn_sent) {
		char *name = NULL;
		unsigned short len = 0;

		if (wolfSSL_ALPN_GetProtocol(s->ssl, &name, &len) == WOLFSSL_SUCCESS && name && len < sizeof s->alpn) {
			memcpy(s->alpn, name, len);
			s->alpn[len] = '\0';
		}
	}
#endif
	tls_drop_ecc_cache();
out:
	tls_leave(s->tls, prev);
	return rc;
}

int xs2s_tls_peek(struct xs2s_tls_sess *s, void *p, size_t n)
{
	struct tls_call prev = tls_enter(s->tls, s->owner);
	uint32_t fails0 = s->tls->arena.fails;
	int ret;

	s->want_write = false;
	ret = wolfSSL_peek(s->ssl, p, (int)n);
	if (ret <= 0)
		ret = tls_want(s, ret, "TLS read", fails0);
	tls_leave(s->tls, prev);
	return ret;
}

void xs2s_tls_consume(struct xs2s_tls_sess *s, void *tmp, size_t n)
{
	struct tls_call prev = tls_enter(s->tls, s->owner);

	/* The bytes were peeked, so they are decrypted and waiting: this only
	 * advances wolfSSL's read position. */
	while (n) {
		int ret = wolfSSL_read(s->ssl, tmp, (int)n);

		if (ret <= 0)
			break;
		n -= (size_t)ret;
	}
	tls_leave(s->tls, prev);
}

int xs2s_tls_flush(struct xs2s_tls_sess *s, struct xs2s_bq *out)
{
	struct tls_call prev = tls_enter(s->tls, s->owner);
	int rc = XS2S_OK;

	while (xs2s_bq_len(out)) {
		size_t avail;
		const uint8_t *p = xs2s_bq_rbuf(out, &avail);
		int n = s->wpending ? s->wpending : (int)(avail < XS2S_TLS_WRITE_CHUNK ? avail : XS2S_TLS_WRITE_CHUNK);
		uint32_t fails0 = s->tls->arena.fails;
		int ret;

		s->want_write = false;
		ret = wolfSSL_write(s->ssl, p, n);
		if (ret <= 0) {
			rc = tls_want(s, ret, "TLS write", fails0);
			if (rc == XS2S_EWANTREAD || rc == XS2S_EWANTWRITE) {
				s->wpending = n; /* wolfSSL needs the same call again */
				rc = XS2S_EWANTWRITE;
			}
			break;
		}
		s->wpending = 0;
		xs2s_bq_rack(out, (size_t)ret);
	}
	tls_leave(s->tls, prev);
	return rc;
}

int xs2s_tls_pending(const struct xs2s_tls_sess *s)
{
	return s->ssl ? wolfSSL_pending(s->ssl) : 0;
}

void xs2s_tls_end(struct xs2s_tls_sess *s, bool notify)
{
	struct tls_call prev;

	if (!s->ssl)
		return;
	prev = tls_enter(s->tls, s->owner);
	if (notify)
		wolfSSL_shutdown(s->ssl);
	wolfSSL_free(s->ssl);
	s->ssl = NULL;
	tls_leave(s->tls, prev);
}
