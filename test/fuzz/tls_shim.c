/* The fuzz build's TLS (see tls_shim.h): firmware/link/tls.h over plain
 * records, for fuzz_starttls. Same contract as tls.c, call by call; the
 * session's state lives in the engine's TLS arena, charged to the link. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "link/tls.h"
#include "tls_shim.h"

#define SHIM_HDR 3
#define SHIM_CTX_BYTES 256 /* what "the contexts" hold in the arena */

/* A session's state (s->ssl points here). */
struct shim_sess {
	bool hello_sent, hello_got;
	bool done;                      /* handshake complete */
	bool closed;                    /* close_notify received */
	uint8_t chain;                  /* enum tls_shim_chain of the peer's HELLO */
	size_t der_len;
	uint8_t der[TLS_SHIM_CERT_MAX];
	size_t plain_off, plain_len;    /* the current DATA record's plaintext */
	uint8_t plain[TLS_SHIM_RECORD_MAX];
};

static void *shim_alloc(struct xs2s_tls *t, uint8_t owner, size_t n)
{
	uint8_t prev = xs2s_arena_set_owner(&t->arena, owner);
	void *p = xs2s_arena_alloc(&t->arena, n);

	xs2s_arena_set_owner(&t->arena, prev);
	return p;
}

static void shim_fail(struct xs2s_tls_sess *s, const char *fmt, const char *what, unsigned v)
{
	if (!s->err[0])
		snprintf(s->err, sizeof s->err, fmt, what, v);
}

/* ---- contexts ---- */

int xs2s_tls_init(struct xs2s_tls *t, const struct xs2s_config *cfg)
{
	xs2s_arena_init(&t->arena, t->mem, sizeof t->mem, "tls");
	t->client_ctx = t->server_ctx = NULL;
	t->ready = false;
	if (!cfg->cert_pem || !cfg->key_pem)
		return XS2S_OK;
	t->client_ctx = shim_alloc(t, 0, SHIM_CTX_BYTES);
	t->server_ctx = shim_alloc(t, 0, SHIM_CTX_BYTES);
	if (!t->client_ctx || !t->server_ctx)
		return XS2S_ENOMEM;
	t->ready = true;
	XS2S_LOGI(0, "tls: ready (the fuzz build's TLS shim: no cryptography)");
	return XS2S_OK;
}

void xs2s_tls_fini(struct xs2s_tls *t)
{
	xs2s_arena_free(&t->arena, t->client_ctx);
	xs2s_arena_free(&t->arena, t->server_ctx);
	t->client_ctx = t->server_ctx = NULL;
	t->ready = false;
}

int xs2s_tls_reload(struct xs2s_tls *t, const struct xs2s_config *cfg)
{
	if (!cfg->cert_pem || !cfg->key_pem)
		return XS2S_EINVAL;
	t->ready = t->client_ctx != NULL;
	return t->ready ? XS2S_OK : XS2S_ETLS;
}

#if CONFIG_XS2S_COMPONENTS
/* The fuzz build's own certificate is a placeholder (no DER, no names): it
 * names no component's domain, as a real one that does not name it. */
bool xs2s_tls_cert_names(struct xs2s_tls *t, const struct xs2s_config *cfg, const char *domain)
{
	(void)t;
	(void)cfg;
	(void)domain;
	return false;
}
#endif

/* ---- sessions ---- */

#if CONFIG_XS2S_DIRECT_TLS
/* The shim has no extensions: ALPN is "offered" and never agreed. */
int xs2s_tls_alpn(struct xs2s_tls_sess *s)
{
	s->alpn_sent = true;
	return XS2S_OK;
}
#endif

int xs2s_tls_start(struct xs2s_tls *t, struct xs2s_tls_sess *s, bool client, const char *sni, uint8_t owner,
		   struct xs2s_bq *rx, struct xs2s_bq *tx)
{
	struct shim_sess *x;

	(void)sni;
	memset(s, 0, sizeof *s);
	s->tls = t;
	s->rx = rx;
	s->tx = tx;
	s->owner = owner;
	s->client = client;
	if (!t->ready)
		return XS2S_ETLS;
	x = shim_alloc(t, owner, sizeof *x);
	if (!x)
		return XS2S_ENOMEM;
	memset(x, 0, sizeof *x);
	s->ssl = x;
	return XS2S_OK;
}

/* Copy n queued bytes from offset off without consuming them. */
static void shim_bq_peek(const struct xs2s_bq *q, size_t off, void *p, size_t n)
{
	uint8_t *o = p;
	size_t i;

	for (i = 0; i < n; i++)
		o[i] = q->buf[(q->head + off + i) % q->cap];
}

static void shim_bq_drop(struct xs2s_bq *q, size_t n)
{
	while (n) {
		size_t avail;

		xs2s_bq_rbuf(q, &avail);
		if (avail > n)
			avail = n;
		xs2s_bq_rack(q, avail);
		n -= avail;
	}
}

/* The next whole record: XS2S_OK with its type and length (the header is
 * consumed, the payload is not), XS2S_EWANTREAD, XS2S_EIO (the peer closed
 * mid-record) or XS2S_ETLS. */
static int shim_record(struct xs2s_tls_sess *s, uint8_t *type, size_t *len)
{
	uint8_t h[SHIM_HDR];

	if (xs2s_bq_len(s->rx) < SHIM_HDR)
		return s->eof ? XS2S_EIO : XS2S_EWANTREAD;
	shim_bq_peek(s->rx, 0, h, SHIM_HDR);
	*type = h[0];
	*len = (size_t)h[1] << 8 | h[2];
	if (*len > TLS_SHIM_RECORD_MAX) {
		shim_fail(s, "%s: record overflow (%u bytes)", "TLS read", (unsigned)*len);
		return XS2S_ETLS;
	}
	if (xs2s_bq_len(s->rx) < SHIM_HDR + *len)
		return s->eof ? XS2S_EIO : XS2S_EWANTREAD;
	shim_bq_drop(s->rx, SHIM_HDR);
	return XS2S_OK;
}

/* A whole record into tx, or XS2S_EWANTWRITE (nothing written). */
static int shim_put(struct xs2s_tls_sess *s, uint8_t type, const void *p, size_t n)
{
	uint8_t h[SHIM_HDR] = { type, (uint8_t)(n >> 8), (uint8_t)n };

	if (xs2s_bq_room(s->tx) < SHIM_HDR + n) {
		s->want_write = true;
		return XS2S_EWANTWRITE;
	}
	xs2s_bq_put(s->tx, h, SHIM_HDR);
	xs2s_bq_put(s->tx, p, n);
	return XS2S_OK;
}

static int shim_hello_in(struct xs2s_tls_sess *s, struct shim_sess *x, size_t len)
{
	uint8_t flags = 0;

	if (len)
		shim_bq_peek(s->rx, 0, &flags, 1);
	if (!len || len - 1 > TLS_SHIM_CERT_MAX) {
		shim_bq_drop(s->rx, len);
		shim_fail(s, "%s: bad hello (%u bytes)", "TLS handshake", (unsigned)len);
		return XS2S_ETLS;
	}
	x->chain = flags & 3u;
	x->der_len = len - 1;
	shim_bq_peek(s->rx, 1, x->der, x->der_len);
	shim_bq_drop(s->rx, len);
	x->hello_got = true;
	return XS2S_OK;
}

int xs2s_tls_handshake(struct xs2s_tls_sess *s)
{
	static const uint8_t hello[] = { TLS_SHIM_CHAIN_NONE };
	struct shim_sess *x = s->ssl;
	uint8_t type;
	size_t len;
	int rc;

	s->want_write = false;
	if (x->done)
		return XS2S_OK;
	if (s->client && !x->hello_sent) {
		if (shim_put(s, TLS_SHIM_HELLO, hello, sizeof hello) != XS2S_OK)
			return XS2S_EWANTWRITE;
		x->hello_sent = true;
	}
	if (!x->hello_got) {
		rc = shim_record(s, &type, &len);
		if (rc == XS2S_EIO) {
			shim_fail(s, "%s: the peer closed (%u)", "TLS handshake", 0);
			return XS2S_ETLS;
		}
		if (rc != XS2S_OK)
			return rc;
		if (type == TLS_SHIM_ALERT) {
			uint8_t a = 0;

			if (len)
				shim_bq_peek(s->rx, 0, &a, 1);
			shim_bq_drop(s->rx, len);
			shim_fail(s, "%s: alert %u", "TLS handshake", a);
			return XS2S_ETLS;
		}
		if (type != TLS_SHIM_HELLO) {
			shim_bq_drop(s->rx, len);
			shim_fail(s, "%s: unexpected record type %u", "TLS handshake", type);
			return XS2S_ETLS;
		}
		if ((rc = shim_hello_in(s, x, len)) != XS2S_OK)
			return rc;
	}
	if (!x->hello_sent) {
		if (shim_put(s, TLS_SHIM_HELLO, hello, sizeof hello) != XS2S_OK)
			return XS2S_EWANTWRITE;
		x->hello_sent = true;
	}
	x->done = true;
	snprintf(s->version, sizeof s->version, "SHIMv1");
	snprintf(s->cipher, sizeof s->cipher, "SHIM-NULL");
	return XS2S_OK;
}

int xs2s_tls_peek(struct xs2s_tls_sess *s, void *p, size_t n)
{
	struct shim_sess *x = s->ssl;

	s->want_write = false;
	while (x->plain_off == x->plain_len) {
		uint8_t type;
		size_t len;
		int rc;

		if (x->closed)
			return XS2S_EIO;
		rc = shim_record(s, &type, &len);
		if (rc != XS2S_OK)
			return rc;
		if (type == TLS_SHIM_DATA) {
			shim_bq_peek(s->rx, 0, x->plain, len);
			shim_bq_drop(s->rx, len);
			x->plain_off = 0;
			x->plain_len = len;
		} else if (type == TLS_SHIM_ALERT) {
			uint8_t a = 0;

			if (len)
				shim_bq_peek(s->rx, 0, &a, 1);
			shim_bq_drop(s->rx, len);
			if (a == 0) {
				x->closed = true;
				return XS2S_EIO;
			}
			shim_fail(s, "%s: fatal alert %u", "TLS read", a);
			return XS2S_ETLS;
		} else if (type == TLS_SHIM_HELLO) {
			uint8_t flags = 0;

			if (len)
				shim_bq_peek(s->rx, 0, &flags, 1);
			shim_bq_drop(s->rx, len);
			if (!(flags & TLS_SHIM_TICKET)) {
				shim_fail(s, "%s: renegotiation refused (%u)", "TLS read", flags);
				return XS2S_ETLS;
			}
			return XS2S_EWANTREAD; /* as wolfSSL after a session ticket */
		} else {
			shim_bq_drop(s->rx, len);
			shim_fail(s, "%s: unexpected record type %u", "TLS read", type);
			return XS2S_ETLS;
		}
	}
	if (n > x->plain_len - x->plain_off)
		n = x->plain_len - x->plain_off;
	memcpy(p, x->plain + x->plain_off, n);
	return (int)n;
}

void xs2s_tls_consume(struct xs2s_tls_sess *s, void *tmp, size_t n)
{
	struct shim_sess *x = s->ssl;

	(void)tmp;
	if (n > x->plain_len - x->plain_off)
		n = x->plain_len - x->plain_off;
	x->plain_off += n;
}

int xs2s_tls_flush(struct xs2s_tls_sess *s, struct xs2s_bq *out)
{
	s->want_write = false;
	while (xs2s_bq_len(out)) {
		size_t avail, room = xs2s_bq_room(s->tx);
		const uint8_t *p = xs2s_bq_rbuf(out, &avail);

		if (room <= SHIM_HDR) {
			s->want_write = true;
			return XS2S_EWANTWRITE;
		}
		if (avail > room - SHIM_HDR)
			avail = room - SHIM_HDR;
		if (avail > TLS_SHIM_RECORD_MAX)
			avail = TLS_SHIM_RECORD_MAX;
		shim_put(s, TLS_SHIM_DATA, p, avail);
		xs2s_bq_rack(out, avail);
	}
	return XS2S_OK;
}

int xs2s_tls_pending(const struct xs2s_tls_sess *s)
{
	const struct shim_sess *x = s->ssl;

	return x ? (int)(x->plain_len - x->plain_off) : 0;
}

/* As tls.c: the chain's verdict first, then the RFC 6125 match of the DER. */
enum xs2s_cert_verdict xs2s_tls_verdict(struct xs2s_tls_sess *s, const char *domain)
{
	struct shim_sess *x = s->ssl;

	if (!x || !x->hello_got || x->chain == TLS_SHIM_CHAIN_NONE)
		return XS2S_CERT_NONE;
	if (x->chain == TLS_SHIM_CHAIN_EXPIRED)
		return XS2S_CERT_EXPIRED;
	if (x->chain == TLS_SHIM_CHAIN_UNTRUSTED)
		return XS2S_CERT_UNTRUSTED;
	if (!x->der_len || !domain[0] || xs2s_certid_parse(x->der, x->der_len, &s->tls->ids) != XS2S_OK ||
	    !xs2s_certid_match(&s->tls->ids, domain, NULL))
		return XS2S_CERT_NAME_MISMATCH;
	return XS2S_CERT_VALID;
}

void xs2s_tls_end(struct xs2s_tls_sess *s, bool notify)
{
	static const uint8_t close_notify[] = { 0 };

	if (!s->ssl)
		return;
	if (notify && ((struct shim_sess *)s->ssl)->done)
		shim_put(s, TLS_SHIM_ALERT, close_notify, sizeof close_notify);
	xs2s_arena_free(&s->tls->arena, s->ssl);
	s->ssl = NULL;
}
