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

static WOLFSSL_CTX *tls_ctx_new(WOLFSSL_METHOD *m, const struct xs2s_config *cfg)
{
	static int groups[] = { WOLFSSL_ECC_X25519, WOLFSSL_ECC_SECP256R1, WOLFSSL_ECC_SECP384R1 };
	WOLFSSL_CTX *ctx = m ? wolfSSL_CTX_new(m) : NULL;

	if (!ctx)
		return NULL;
	if (wolfSSL_CTX_SetMinVersion(ctx, WOLFSSL_TLSV1_2) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_cipher_list(ctx, TLS_CIPHERS) != WOLFSSL_SUCCESS ||
	    wolfSSL_CTX_set_groups(ctx, groups, (int)(sizeof groups / sizeof groups[0])) != WOLFSSL_SUCCESS ||
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
		XS2S_LOGE(0, "tls: the TLS arena (CONFIG_XS2S_TLS_ARENA, %zu bytes) has no room for the certificate, key "
			     "and CA list", t->arena.size);
		return rc;
	}
	if (rc != XS2S_OK) {
		XS2S_LOGE(0, "tls: cannot use the certificate/key (PEM expected, key must match)");
		return rc;
	}
	t->ready = true;
	XS2S_LOGI(0, "tls: ready, TLS >= 1.2, AEAD+ECDHE suites only, arena %u bytes (%zu used)",
		  (unsigned)sizeof t->mem, t->arena.used);
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
		     "(arena %zu bytes used)", t->arena.used);
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

int xs2s_tls_handshake(struct xs2s_tls_sess *s)
{
	struct tls_call prev = tls_enter(s->tls, s->owner);
	uint32_t fails0 = s->tls->arena.fails;
	int ret, rc = XS2S_OK;
	const char *v, *c;

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
