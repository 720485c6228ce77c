/* wolfSSL glue: bounded arena allocator, policy, buffer I/O, verdicts. */
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <wolfssl/wolfcrypt/memory.h>
#include <wolfssl/error-ssl.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include "tls.h"
#include "certid.h"

#define TLS_CIPHERS \
	"TLS13-AES128-GCM-SHA256:TLS13-AES256-GCM-SHA384:TLS13-CHACHA20-POLY1305-SHA256:" \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"

static _Alignas(16) uint8_t tls_mem[CONFIG_XS2S_TLS_ARENA];
static struct xs2s_arena tls_arena;
static WOLFSSL_CTX *tls_client_ctx, *tls_server_ctx;

struct xs2s_arena *xs2s_tls_arena(void) { return &tls_arena; }

/* wolfSSL's allocator hooks. A pointer from before the hooks were installed
 * (none is expected) is refused rather than handed to the arena. */
static void *tls_malloc(size_t n) { return xs2s_arena_alloc(&tls_arena, n); }
static void tls_free(void *p)
{
	if (p && xs2s_arena_owns(&tls_arena, p))
		xs2s_arena_free(&tls_arena, p);
}
static void *tls_realloc(void *p, size_t n)
{
	if (p && !xs2s_arena_owns(&tls_arena, p))
		return NULL;
	return xs2s_arena_realloc(&tls_arena, p, n);
}

/* I/O callbacks: ciphertext comes from l->rx, goes to l->tx. */
static int tls_io_recv(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct xs2s_link *l = ctx;
	size_t n;

	(void)ssl;
	if (l->rx_len == 0)
		return l->peer_closed ? WOLFSSL_CBIO_ERR_CONN_CLOSE : WOLFSSL_CBIO_ERR_WANT_READ;
	n = l->rx_len < (size_t)sz ? l->rx_len : (size_t)sz;
	memcpy(buf, l->rx, n);
	memmove(l->rx, l->rx + n, l->rx_len - n);
	l->rx_len -= n;
	return (int)n;
}

static int tls_io_send(WOLFSSL *ssl, char *buf, int sz, void *ctx)
{
	struct xs2s_link *l = ctx;
	size_t room = sizeof l->tx - l->tx_len;
	size_t n = (size_t)sz < room ? (size_t)sz : room;

	(void)ssl;
	if (n == 0) {
		l->want_write = true;
		return WOLFSSL_CBIO_ERR_WANT_WRITE;
	}
	memcpy(l->tx + l->tx_len, buf, n);
	l->tx_len += n;
	return (int)n;
}

/* A client certificate whose extended key usage names serverAuth but not
 * clientAuth: XMPP servers use one certificate for both roles and public
 * CAs no longer issue clientAuth, so s2s accepts it (docs/architecture.md). */
#define TLS_XKU_SERVER_AUTH 0x1u /* wolfSSL_X509_get_extended_key_usage() bit (XKU_SSL_SERVER) */

static bool tls_server_cert_as_client(struct xs2s_link *l, WOLFSSL_X509_STORE_CTX *store, int err)
{
	WOLFSSL_X509 *x = wolfSSL_X509_STORE_CTX_get_current_cert(store);

	return l->dir == XS2S_DIR_IN && err == EXTKEYUSE_AUTH_E && x &&
	       (wolfSSL_X509_get_extended_key_usage(x) & TLS_XKU_SERVER_AUTH);
}

/* Record the first verification error of the chain; never abort here: the
 * verdict is the link's to judge (dialback may still authenticate it). */
static int tls_verify_cb(int preverify, WOLFSSL_X509_STORE_CTX *store)
{
	struct xs2s_link *l = store->userCtx;
	int err = wolfSSL_X509_STORE_CTX_get_error(store);

	if (l && !preverify && err && !l->cert_err && !tls_server_cert_as_client(l, store, err))
		l->cert_err = err;
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

int xs2s_tls_init(const struct xs2s_config *cfg)
{
	static bool lib_ready;

	/* Once per process: the arena outlives engine restarts (tests). */
	if (!lib_ready) {
		xs2s_arena_init(&tls_arena, tls_mem, sizeof tls_mem, "tls");
		if (wolfSSL_SetAllocators(tls_malloc, tls_free, tls_realloc) != 0)
			return XS2S_ETLS;
		if (wolfSSL_Init() != WOLFSSL_SUCCESS)
			return XS2S_ETLS;
		lib_ready = true;
	}
	wolfSSL_CTX_free(tls_client_ctx);
	wolfSSL_CTX_free(tls_server_ctx);
	tls_client_ctx = tls_server_ctx = NULL;
	if (!cfg->cert_pem || !cfg->key_pem)
		return XS2S_OK;
	tls_client_ctx = tls_ctx_new(wolfSSLv23_client_method(), cfg);
	tls_server_ctx = tls_ctx_new(wolfSSLv23_server_method(), cfg);
	if (!tls_client_ctx || !tls_server_ctx) {
		XS2S_LOGE(0, "tls: cannot use the certificate/key (PEM expected, key must match)");
		return XS2S_ETLS;
	}
	xs2s_g.tls_ready = true;
	XS2S_LOGI(0, "tls: ready, TLS >= 1.2, AEAD+ECDHE suites only, arena %u bytes (%zu used)",
		  (unsigned)sizeof tls_mem, tls_arena.used);
	return XS2S_OK;
}

/* ---- Credential reload (xs2sd's SIGHUP; issue 11) ----
 * Self-contained for porting onto another engine: it needs only tls_ctx_new,
 * the two context pointers and tls_ready. New client and server contexts are
 * built from cfg's PEM buffers and replace the old ones; nothing changes when
 * either cannot be built. Open sessions keep the context they were made from:
 * wolfSSL counts a context's references (wolfSSL_new takes one, wolfSSL_free
 * drops it), so wolfSSL_CTX_free here drops only the engine's, and an old
 * context goes with its last session. Until then the TLS arena holds both
 * generations of contexts. A context built while the arena refused anything
 * is refused too: wolfSSL skips a CA it has no memory for and still reports
 * success, so it could hold part of the CA list. */
int xs2s_engine_reload_credentials(const struct xs2s_config *cfg)
{
	uint32_t fails0 = tls_arena.fails;
	WOLFSSL_CTX *client, *server = NULL;

	if (!cfg->cert_pem || !cfg->key_pem)
		return XS2S_EINVAL;
	client = tls_ctx_new(wolfSSLv23_client_method(), cfg);
	if (client)
		server = tls_ctx_new(wolfSSLv23_server_method(), cfg);
	if (!server || tls_arena.fails != fails0) {
		wolfSSL_CTX_free(client);
		wolfSSL_CTX_free(server);
		if (tls_arena.fails != fails0)
			XS2S_LOGE(0, "tls: reload: TLS arena exhausted (a reload needs room for a second set of contexts "
				  "while the old ones are in use: CONFIG_XS2S_TLS_ARENA); the old credentials stay in use");
		else
			XS2S_LOGE(0, "tls: reload: cannot use the new certificate/key (PEM expected, key must match); "
				  "the old ones stay in use");
		return tls_arena.fails != fails0 ? XS2S_ENOMEM : XS2S_ETLS;
	}
	wolfSSL_CTX_free(tls_client_ctx);
	wolfSSL_CTX_free(tls_server_ctx);
	tls_client_ctx = client;
	tls_server_ctx = server;
	xs2s_g.tls_ready = true;
	XS2S_LOGI(0, "tls: reloaded certificate, key and CAs: new links use them, open links keep theirs "
		  "(arena %zu bytes used)", tls_arena.used);
	return XS2S_OK;
}

static void tls_errtext(struct xs2s_link *l, const char *what, int err)
{
	char buf[80];

	wolfSSL_ERR_error_string_n((unsigned long)err, buf, sizeof buf);
	if (!l->reason[0])
		snprintf(l->reason, sizeof l->reason, "%s: %s (%d)", what, buf, err);
}

static uint8_t tls_owner(struct xs2s_link *l)
{
	return xs2s_arena_set_owner(&tls_arena, (uint8_t)(xs2s_link_slot(l) + 1));
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

int xs2s_tls_start(struct xs2s_link *l)
{
	uint8_t prev = tls_owner(l);
	WOLFSSL *ssl = wolfSSL_new(l->dir == XS2S_DIR_OUT ? tls_client_ctx : tls_server_ctx);
	int rc = XS2S_OK;

	if (!ssl) {
		rc = tls_arena.fails ? XS2S_ENOMEM : XS2S_ETLS;
		goto out;
	}
	wolfSSL_SSLSetIORecv(ssl, tls_io_recv);
	wolfSSL_SSLSetIOSend(ssl, tls_io_send);
	wolfSSL_SetIOReadCtx(ssl, l);
	wolfSSL_SetIOWriteCtx(ssl, l);
	wolfSSL_SetCertCbCtx(ssl, l);
	if (l->dir == XS2S_DIR_OUT &&
	    wolfSSL_UseSNI(ssl, WOLFSSL_SNI_HOST_NAME, l->peer_domain,
			   (unsigned short)strlen(l->peer_domain)) != WOLFSSL_SUCCESS) {
		wolfSSL_free(ssl);
		rc = XS2S_ENOMEM;
		goto out;
	}
	l->ssl = ssl;
	l->tls_active = true;
	l->cert = XS2S_CERT_NONE;
	l->cert_err = 0;
out:
	xs2s_arena_set_owner(&tls_arena, prev);
	return rc;
}

/* Classify a failed wolfSSL call; fails0 is the arena's refusal count
 * before it, so exhaustion is reported as such whatever wolfSSL says. */
static int tls_want(struct xs2s_link *l, int ret, const char *what, uint32_t fails0)
{
	int err = wolfSSL_get_error(l->ssl, ret);

	if (tls_arena.fails != fails0) {
		if (!l->reason[0])
			snprintf(l->reason, sizeof l->reason, "%s: TLS arena exhausted (CONFIG_XS2S_TLS_ARENA)", what);
		return XS2S_ENOMEM;
	}
	if (err == WOLFSSL_ERROR_WANT_READ)
		return l->want_write ? XS2S_EWANTWRITE : XS2S_EWANTREAD;
	if (err == WOLFSSL_ERROR_WANT_WRITE)
		return XS2S_EWANTWRITE;
	if (err == MEMORY_E || err == MEMORY_ERROR) {
		tls_errtext(l, what, err);
		return XS2S_ENOMEM;
	}
	if (err == WOLFSSL_ERROR_ZERO_RETURN || err == SOCKET_PEER_CLOSED_E)
		return XS2S_EIO;
	tls_errtext(l, what, err);
	return XS2S_ETLS;
}

enum xs2s_cert_verdict xs2s_tls_verdict(struct xs2s_link *l, const char *domain)
{
	static struct xs2s_certids ids; /* static: 4 KiB off the stack, single-threaded */
	WOLFSSL_X509 *x = l->ssl ? wolfSSL_get_peer_certificate(l->ssl) : NULL;
	const unsigned char *der;
	int len = 0;
	enum xs2s_cert_verdict v;

	if (!x)
		return XS2S_CERT_NONE;
	der = wolfSSL_X509_get_der(x, &len);
	if (tls_err_is_date(l->cert_err))
		v = XS2S_CERT_EXPIRED;
	else if (l->cert_err)
		v = XS2S_CERT_UNTRUSTED;
	else if (!der || len <= 0 || !domain[0] || xs2s_certid_parse(der, (size_t)len, &ids) != XS2S_OK ||
		 !xs2s_certid_match(&ids, domain, NULL))
		v = XS2S_CERT_NAME_MISMATCH;
	else
		v = XS2S_CERT_VALID;
	wolfSSL_X509_free(x);
	return v;
}

int xs2s_tls_handshake(struct xs2s_link *l)
{
	uint8_t prev = tls_owner(l);
	int ret, rc = XS2S_OK;
	const char *v, *c;
	uint32_t fails0 = tls_arena.fails;

	l->want_write = false;
	ret = l->dir == XS2S_DIR_OUT ? wolfSSL_connect(l->ssl) : wolfSSL_accept(l->ssl);
	if (ret != WOLFSSL_SUCCESS) {
		rc = tls_want(l, ret, "TLS handshake", fails0);
		goto out;
	}
	v = wolfSSL_get_version(l->ssl);
	c = wolfSSL_get_cipher_name(l->ssl);
	snprintf(l->tls_version, sizeof l->tls_version, "%s", v ? v : "?");
	snprintf(l->cipher, sizeof l->cipher, "%s", c ? c : "?");
	l->cert = xs2s_tls_verdict(l, l->peer_domain);
	tls_drop_ecc_cache();
out:
	xs2s_arena_set_owner(&tls_arena, prev);
	return rc;
}

int xs2s_tls_read(struct xs2s_link *l, void *p, size_t n)
{
	uint8_t prev = tls_owner(l);
	int ret;
	uint32_t fails0 = tls_arena.fails;

	l->want_write = false;
	ret = wolfSSL_read(l->ssl, p, (int)n);
	if (ret <= 0)
		ret = tls_want(l, ret, "TLS read", fails0);
	xs2s_arena_set_owner(&tls_arena, prev);
	return ret;
}

int xs2s_tls_flush(struct xs2s_link *l)
{
	uint8_t prev = tls_owner(l);
	int rc = XS2S_OK;

	while (l->out_len) {
		int n = l->tls_wpending ? l->tls_wpending
			: (int)(l->out_len < XS2S_TLS_WRITE_CHUNK ? l->out_len : XS2S_TLS_WRITE_CHUNK);
		int ret;
		uint32_t fails0 = tls_arena.fails;

		l->want_write = false;
		ret = wolfSSL_write(l->ssl, l->out, n);
		if (ret <= 0) {
			rc = tls_want(l, ret, "TLS write", fails0);
			if (rc == XS2S_EWANTREAD || rc == XS2S_EWANTWRITE) {
				l->tls_wpending = n; /* wolfSSL needs the same call again */
				rc = XS2S_EWANTWRITE;
			}
			break;
		}
		l->tls_wpending = 0;
		memmove(l->out, l->out + ret, l->out_len - (size_t)ret);
		l->out_len -= (size_t)ret;
	}
	xs2s_arena_set_owner(&tls_arena, prev);
	return rc;
}

int xs2s_tls_pending(struct xs2s_link *l)
{
	return l->ssl ? wolfSSL_pending(l->ssl) : 0;
}

void xs2s_tls_end(struct xs2s_link *l, bool notify)
{
	uint8_t prev;

	if (!l->ssl)
		return;
	prev = tls_owner(l);
	if (notify)
		wolfSSL_shutdown(l->ssl);
	wolfSSL_free(l->ssl);
	l->ssl = NULL;
	xs2s_arena_set_owner(&tls_arena, prev);
}
