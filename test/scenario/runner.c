/* Scenario runner: see runner.h. Static memory only. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha.h>
#include "runner.h"
#include "engine_drv.h"
#include "dns_zone.h"
#include "xs2s_err.h"

#define SC_TRANSCRIPT 65536     /* engine output kept per peer */
#define SC_OUTBOX 32768         /* peer output not yet taken by the pipe */
#define SC_TEXT 32768           /* one SEND or EXPECT after expansion */
#define SC_VAR_NAME 24
#define SC_VAR_VALUE 160
#define SC_MAX_ROUNDS 400000    /* polls without quiet: a livelock (byte delivery of 64 KiB: 64 Ki rounds) */
#define SC_QUIET_ROUNDS 2       /* rounds without activity that make quiet */
#define SC_POLL_MAX_MS 3600000u /* what the runner lets the engine wait */
#define SC_TIMER_JUMPS 64       /* deadline jumps of a teardown */
#define SC_INCLUDE_DEPTH 4
#define SC_ERR 512
#define SC_READ_CHUNK 4096

struct sc_peer {
	xs2s_sock sock;          /* XS2S_SOCK_NONE when not connected */
	bool used;               /* connected at some point */
	bool eof;                /* the engine closed its end */
	bool hold;               /* not reading (HOLD) */
	size_t out_len;
	size_t in_len;           /* engine output received */
	size_t pos;              /* of it, EXPECTed so far */
	char out[SC_OUTBOX];
	char in[SC_TRANSCRIPT];
};

struct sc_listener {
	const char *domain;
	const char *addr;
	xs2s_sock sock;
};

struct sc_var {
	char name[SC_VAR_NAME];
	char value[SC_VAR_VALUE];
};

static struct sc_peer sc_peers[SC_PEERS];
static struct sc_listener sc_listeners[] = {
	{ "b.test", "192.0.2.2:5269", XS2S_SOCK_NONE },
	{ "c.test", "192.0.2.3:5269", XS2S_SOCK_NONE },
};
#define SC_NLISTENERS (sizeof sc_listeners / sizeof sc_listeners[0])
static const char *const sc_host_map[] = {
	"b.test=192.0.2.2:5269", "c.test=192.0.2.3:5269", "refused.test=192.0.2.9:5269", "hole.test=192.0.2.10:5269",
	NULL,
};
#define SC_HOLE_ADDR "192.0.2.10:5269"

static struct sc_var sc_vars[SC_VARS];
static unsigned sc_nvars;
static const struct sc_scenario *sc_cur;
static enum fake_delivery sc_mode;
static uint64_t sc_split_seed;
static struct drv_pools sc_base;
static uint64_t sc_h_app;
static unsigned sc_stepno;
static const struct sc_step *sc_failed_step;
static int sc_failed_peer = -1;
static char sc_err[SC_ERR];
static char sc_text[SC_TEXT], sc_pat[SC_TEXT];
static struct drv_msg sc_msg;
static const char *sc_log_from_start(void);
static bool sc_quiet;
static struct {
	const void *cert, *key;
	size_t cert_len, key_len;
} sc_cred;

void sc_set_quiet(bool quiet) { sc_quiet = quiet; }

void sc_set_credentials(const void *cert, size_t cert_len, const void *key, size_t key_len)
{
	sc_cred.cert = cert;
	sc_cred.cert_len = cert_len;
	sc_cred.key = key;
	sc_cred.key_len = key_len;
}

static const char *const sc_op_names[] = {
	[SC_END] = "END", [SC_INCLUDE] = "INCLUDE", [SC_CONNECT] = "CONNECT", [SC_ACCEPT] = "ACCEPT",
	[SC_NO_CONNECT] = "NO_CONNECT", [SC_SEND] = "SEND", [SC_EXPECT] = "EXPECT",
	[SC_EXPECT_NOTHING] = "EXPECT_NOTHING", [SC_EXPECT_CLOSED] = "EXPECT_CLOSED", [SC_CLOSE] = "CLOSE",
	[SC_ABORT] = "ABORT", [SC_ADVANCE] = "ADVANCE", [SC_DBKEY] = "DBKEY", [SC_APP_SEND] = "APP_SEND",
	[SC_APP_SEND_MANY] = "APP_SEND_MANY", [SC_INBOX] = "INBOX", [SC_INBOX_MANY] = "INBOX_MANY",
	[SC_INBOX_EMPTY] = "INBOX_EMPTY", [SC_STOP] = "STOP", [SC_IDLE] = "IDLE", [SC_LOG_HAS] = "LOG_HAS",
	[SC_STATUS_HAS] = "STATUS_HAS", [SC_CAPACITY] = "CAPACITY", [SC_HOLD] = "HOLD", [SC_RELEASE] = "RELEASE",
	[SC_APP_RAW] = "APP_RAW", [SC_APP_IQ] = "APP_IQ", [SC_HANDLER] = "HANDLER", [SC_APP_EVENT] = "APP_EVENT",
	[SC_APP_EVENT_NONE] = "APP_EVENT_NONE",
	[SC_ACCT_ADD] = "ACCT_ADD", [SC_ACCT_ANSWER] = "ACCT_ANSWER", [SC_ACCT_PRESENCE] = "ACCT_PRESENCE",
	[SC_ASKED] = "ASKED", [SC_STORE_IS] = "STORE_IS", [SC_BUFS] = "BUFS",
	[SC_COMP_CONNECT] = "COMP_CONNECT", [SC_HANDSHAKE] = "HANDSHAKE", [SC_INBOX_WHY] = "INBOX_WHY",
};

static int sc_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sc_fail(const char *fmt, ...)
{
	va_list ap;

	if (sc_err[0])
		return -1; /* keep the first failure */
	va_start(ap, fmt);
	vsnprintf(sc_err, sizeof sc_err, fmt, ap);
	va_end(ap);
	return -1;
}

const char *sc_error(void) { return sc_err; }

/* FNV-1a, for comparing outcomes across delivery modes. */
static uint64_t sc_hash(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n--) {
		h ^= *b++;
		h *= 0x100000001b3ull;
	}
	return h;
}
#define SC_HASH_INIT 0xcbf29ce484222325ull

static uint64_t sc_hash_str(uint64_t h, const char *s)
{
	return sc_hash(h, s, strlen(s) + 1);
}

/* The log as compared across delivery modes: from the start line on (the
 * lines before it come once per process), without the figure after
 * "bytes in " (what a failing link had read when it failed depends on how
 * its input arrived). */
static uint64_t sc_hash_log(const char *lg)
{
	static const char skip[] = "bytes in ";
	uint64_t h = SC_HASH_INIT;
	const char *p;

	while ((p = strstr(lg, skip)) != NULL) {
		h = sc_hash(h, lg, (size_t)(p - lg) + sizeof skip - 1);
		lg = p + sizeof skip - 1;
		lg += strspn(lg, "0123456789");
	}
	return sc_hash_str(h, lg);
}

/* ---- XEP-0185 keys, independent of the engine's code ---- */

void sc_dbkey(const char *secret, const char *recv, const char *orig, const char *id, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	uint8_t digest[WC_SHA256_DIGEST_SIZE], mac[WC_SHA256_DIGEST_SIZE];
	char hexkey[2 * WC_SHA256_DIGEST_SIZE];
	Hmac h;
	unsigned i;

	memset(mac, 0, sizeof mac);
	wc_Sha256Hash((const byte *)secret, (word32)strlen(secret), digest);
	for (i = 0; i < sizeof digest; i++) {
		hexkey[2 * i] = hex[digest[i] >> 4];
		hexkey[2 * i + 1] = hex[digest[i] & 15];
	}
	if (wc_HmacInit(&h, NULL, INVALID_DEVID) == 0) {
		if (wc_HmacSetKey(&h, WC_SHA256, (const byte *)hexkey, sizeof hexkey) == 0) {
			wc_HmacUpdate(&h, (const byte *)recv, (word32)strlen(recv));
			wc_HmacUpdate(&h, (const byte *)" ", 1);
			wc_HmacUpdate(&h, (const byte *)orig, (word32)strlen(orig));
			wc_HmacUpdate(&h, (const byte *)" ", 1);
			wc_HmacUpdate(&h, (const byte *)id, (word32)strlen(id));
			wc_HmacFinal(&h, mac);
		}
		wc_HmacFree(&h);
	}
	for (i = 0; i < sizeof mac; i++) {
		out[2 * i] = hex[mac[i] >> 4];
		out[2 * i + 1] = hex[mac[i] & 15];
	}
	out[64] = '\0';
}

/* XEP-0114 3, independent of the engine's code. */
void sc_handshake(const char *id, const char *secret, bool upper, char out[41])
{
	const char *hex = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	uint8_t digest[WC_SHA_DIGEST_SIZE];
	char buf[2 * SC_VAR_VALUE];
	unsigned i;

	snprintf(buf, sizeof buf, "%s%s", id, secret);
	memset(digest, 0, sizeof digest);
	wc_ShaHash((const byte *)buf, (word32)strlen(buf), digest);
	for (i = 0; i < sizeof digest; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[40] = '\0';
}

/* ---- variables and text ---- */

static struct sc_var *sc_var_find(const char *name, size_t n)
{
	unsigned i;

	for (i = 0; i < sc_nvars; i++)
		if (strlen(sc_vars[i].name) == n && !strncmp(sc_vars[i].name, name, n))
			return &sc_vars[i];
	return NULL;
}

static int sc_var_set(const char *name, size_t n, const char *value, size_t vlen)
{
	struct sc_var *v = sc_var_find(name, n);

	if (!v) {
		if (sc_nvars >= SC_VARS || n >= SC_VAR_NAME)
			return sc_fail("too many variables, or name too long");
		v = &sc_vars[sc_nvars++];
		memcpy(v->name, name, n);
		v->name[n] = '\0';
	}
	if (vlen >= SC_VAR_VALUE)
		return sc_fail("value of ${%s} too long (%zu bytes)", v->name, vlen);
	memcpy(v->value, value, vlen);
	v->value[vlen] = '\0';
	return 0;
}

/* a + b x n + c into dst. */
static int sc_compose(char *dst, size_t cap, const char *a, const char *b, int n, const char *c)
{
	size_t len = 0;
	int i;

#define SC_PUT(s)                                                   \
	do {                                                        \
		size_t k_ = strlen(s);                              \
		if (len + k_ >= cap)                                \
			return sc_fail("text longer than %zu bytes", cap); \
		memcpy(dst + len, (s), k_);                         \
		len += k_;                                          \
	} while (0)
	if (a)
		SC_PUT(a);
	for (i = 0; b && i < n; i++)
		SC_PUT(b);
	if (c)
		SC_PUT(c);
#undef SC_PUT
	dst[len] = '\0';
	return 0;
}

/* Replace ${name} by its value, in place (src and dst differ). */
static int sc_expand(char *dst, size_t cap, const char *src)
{
	size_t len = 0;

	while (*src) {
		const char *end;
		size_t k;
		const char *val;

		if (src[0] != '$' || src[1] != '{') {
			if (len + 1 >= cap)
				return sc_fail("expanded text too long");
			dst[len++] = *src++;
			continue;
		}
		end = strchr(src, '}');
		if (!end)
			return sc_fail("unterminated ${ in text");
		{
			struct sc_var *v = sc_var_find(src + 2, (size_t)(end - src - 2));
			if (!v)
				return sc_fail("variable ${%.*s} is not bound", (int)(end - src - 2), src + 2);
			val = v->value;
		}
		k = strlen(val);
		if (len + k >= cap)
			return sc_fail("expanded text too long");
		memcpy(dst + len, val, k);
		len += k;
		src = end + 1;
	}
	dst[len] = '\0';
	return 0;
}

enum { SC_M_OK, SC_M_SHORT, SC_M_DIFF };

#define SC_CAPTURES 8

/* Match pattern p against the start of data; *used on success, *at the
 * offset of the first difference otherwise. Captures bind only on success. */
static int sc_match(const char *p, const char *data, size_t len, size_t *used, size_t *at)
{
	struct { const char *name; size_t nlen, start, end; } cap[SC_CAPTURES];
	unsigned ncap = 0, i;
	size_t d = 0;

	while (*p) {
		if (p[0] == '$' && p[1] == '{') {
			const char *end = strchr(p, '}');
			const char *name = p + 2;
			size_t nlen = end ? (size_t)(end - name) : 0;
			struct sc_var *v;
			const char *bound;
			size_t blen;
			char stop;
			size_t s = d;

			if (!end) {
				sc_fail("unterminated ${ in pattern");
				return SC_M_DIFF;
			}
			p = end + 1;
			v = sc_var_find(name, nlen);
			bound = v ? v->value : NULL;
			blen = bound ? strlen(bound) : 0;
			for (i = 0; i < ncap; i++) {
				if (cap[i].nlen == nlen && !strncmp(cap[i].name, name, nlen)) {
					bound = data + cap[i].start; /* captured earlier in this pattern */
					blen = cap[i].end - cap[i].start;
				}
			}
			if (bound) {
				size_t k;
				for (k = 0; k < blen; k++, d++) {
					if (d == len) {
						*at = d;
						return SC_M_SHORT;
					}
					if (data[d] != bound[k]) {
						*at = d;
						return SC_M_DIFF;
					}
				}
				continue;
			}
			stop = *p;
			if (!stop || (stop == '$' && p[1] == '{')) {
				sc_fail("a capture must be followed by a literal character");
				return SC_M_DIFF;
			}
			while (d < len && data[d] != stop && data[d] != '<' && data[d] != '>')
				d++;
			if (d == len) {
				*at = d;
				return SC_M_SHORT;
			}
			if (data[d] != stop) {
				*at = d;
				return SC_M_DIFF;
			}
			if (!(nlen == 1 && name[0] == '*')) {
				if (ncap == SC_CAPTURES) {
					sc_fail("too many captures in one pattern");
					return SC_M_DIFF;
				}
				cap[ncap].name = name;
				cap[ncap].nlen = nlen;
				cap[ncap].start = s;
				cap[ncap].end = d;
				ncap++;
			}
			continue;
		}
		if (d == len) {
			*at = d;
			return SC_M_SHORT;
		}
		if (data[d] != *p) {
			*at = d;
			return SC_M_DIFF;
		}
		d++;
		p++;
	}
	for (i = 0; i < ncap; i++)
		if (sc_var_set(cap[i].name, cap[i].nlen, data + cap[i].start, cap[i].end - cap[i].start))
			return SC_M_DIFF;
	*used = d;
	return SC_M_OK;
}

/* ---- peers ---- */

static struct sc_peer *sc_peer(int i)
{
	return i >= 0 && i < SC_PEERS ? &sc_peers[i] : NULL;
}

static void sc_peer_close_sock(struct sc_peer *p, bool reset)
{
	if (p->sock == XS2S_SOCK_NONE)
		return;
	if (reset)
		fake_tcp_abort(p->sock);
	else
		fake_tcp_close(p->sock);
	p->sock = XS2S_SOCK_NONE;
	p->out_len = 0;
}

/* Move bytes both ways for every connected peer. */
static void sc_pump(void)
{
	unsigned i;

	for (i = 0; i < SC_PEERS; i++) {
		struct sc_peer *p = &sc_peers[i];

		if (p->sock == XS2S_SOCK_NONE)
			continue;
		if (p->out_len) {
			int n = fake_tcp_write(p->sock, p->out, p->out_len);

			if (n > 0) {
				memmove(p->out, p->out + n, p->out_len - (size_t)n);
				p->out_len -= (size_t)n;
			} else if (n < 0) {
				p->out_len = 0; /* the engine's end is gone: what is left is lost */
			}
		}
		while (!p->eof && !p->hold) {
			char buf[SC_READ_CHUNK];
			int n = fake_tcp_read(p->sock, buf, sizeof buf);

			if (n == XS2S_EWANTREAD)
				break;
			if (n <= 0) {
				p->eof = true;
				break;
			}
			if (p->in_len + (size_t)n > sizeof p->in) {
				sc_fail("peer %u: more than %zu bytes of engine output", i, sizeof p->in);
				p->eof = true;
				break;
			}
			memcpy(p->in + p->in_len, buf, (size_t)n);
			p->in_len += (size_t)n;
		}
	}
}

int sc_settle(void)
{
	unsigned rounds, quiet = 0;

	for (rounds = 0; rounds < SC_MAX_ROUNDS; rounds++) {
		unsigned long before = fake_activity();

		sc_pump();
		drv_poll(SC_POLL_MAX_MS);
		sc_pump();
		if (fake_activity() == before && fake_poll_timeout() > 0) {
			if (++quiet >= SC_QUIET_ROUNDS)
				return 0;
		} else {
			quiet = 0;
		}
	}
	return sc_fail("the engine never went quiet in %u rounds (busy loop without progress)", SC_MAX_ROUNDS);
}

/* Advance the clock by ms, stopping at every deadline the engine names. */
static int sc_advance(uint32_t ms)
{
	if (sc_settle())
		return -1;
	while (ms) {
		uint32_t next = fake_poll_timeout();
		uint32_t step = next < ms ? next : ms;

		fake_advance(step);
		ms -= step;
		if (sc_settle())
			return -1;
	}
	return 0;
}

int sc_run_timers(unsigned limit)
{
	unsigned i;

	if (sc_settle())
		return -1;
	for (i = 0; i < limit && fake_poll_timeout() < SC_POLL_MAX_MS; i++) {
		fake_advance(fake_poll_timeout());
		if (sc_settle())
			return -1;
	}
	return 0;
}

const char *sc_peer_unread(int i, size_t *len)
{
	struct sc_peer *p = sc_peer(i);

	*len = p ? p->in_len - p->pos : 0;
	return p ? p->in + p->pos : "";
}

void sc_peer_consume(int i, size_t n)
{
	struct sc_peer *p = sc_peer(i);

	if (p)
		p->pos += n < p->in_len - p->pos ? n : p->in_len - p->pos;
}

bool sc_peer_connected(int i)
{
	struct sc_peer *p = sc_peer(i);

	return p && p->sock != XS2S_SOCK_NONE;
}

bool sc_peer_eof(int i)
{
	struct sc_peer *p = sc_peer(i);

	return p && p->eof;
}

int sc_peer_write(int i, const void *data, size_t n)
{
	struct sc_peer *p = sc_peer(i);

	if (!p || p->sock == XS2S_SOCK_NONE)
		return sc_fail("peer %d is not connected", i);
	if (p->out_len + n > sizeof p->out)
		return sc_fail("peer %d: more than %zu bytes waiting to be sent", i, sizeof p->out);
	memcpy(p->out + p->out_len, data, n);
	p->out_len += n;
	sc_pump();
	return 0;
}

static void sc_peer_attach(struct sc_peer *p, xs2s_sock s)
{
	p->sock = s;
	p->used = true;
	p->eof = p->hold = false;
	p->out_len = p->in_len = p->pos = 0;
}

static struct sc_listener *sc_listener(const char *domain)
{
	unsigned i;

	for (i = 0; i < SC_NLISTENERS; i++)
		if (!strcmp(sc_listeners[i].domain, domain))
			return &sc_listeners[i];
	return NULL;
}

int sc_accept(int i, const char *domain)
{
	struct sc_peer *p = sc_peer(i);
	struct sc_listener *l = sc_listener(domain);
	xs2s_sock s;

	if (!p || !l)
		return sc_fail("no peer %d or no listener for %s", i, domain);
	if (p->sock != XS2S_SOCK_NONE)
		return sc_fail("peer %d is already connected", i);
	if (fake_tcp_accept(l->sock, &s) != XS2S_OK)
		return 0;
	sc_peer_attach(p, s);
	return 1;
}

/* ---- steps ---- */

static int sc_step_expect(const struct sc_step *st, struct sc_peer *p)
{
	size_t used = 0, at = 0;
	int rc;

	if (sc_compose(sc_pat, sizeof sc_pat, st->a, st->b, st->n, st->c))
		return -1;
	rc = sc_match(sc_pat, p->in + p->pos, p->in_len - p->pos, &used, &at);
	if (sc_err[0])
		return -1;
	if (rc == SC_M_OK) {
		p->pos += used;
		return 0;
	}
	return sc_fail("%s at byte %zu of the unread output: %s", rc == SC_M_SHORT ? "output ends" : "output differs",
		       at, p->eof ? "(the engine closed the connection)" : "(connection open)");
}

static int sc_inbox_one(const char *from, const char *to, const char *type, const char *err, const char *body)
{
	if (!drv_inbox_take(&sc_msg))
		return sc_fail("the inbox is empty");
	sc_h_app = sc_hash_str(sc_h_app, sc_msg.from);
	sc_h_app = sc_hash_str(sc_h_app, sc_msg.to);
	sc_h_app = sc_hash_str(sc_h_app, sc_msg.type);
	sc_h_app = sc_hash_str(sc_h_app, sc_msg.error);
	sc_h_app = sc_hash_str(sc_h_app, sc_msg.error_text);
	sc_h_app = sc_hash_str(sc_h_app, sc_msg.body);
	if (strcmp(sc_msg.from, from) || strcmp(sc_msg.to, to) || strcmp(sc_msg.type, type) || strcmp(sc_msg.error, err))
		return sc_fail("inbox entry from='%s' to='%s' type='%s' error='%s' (body '%.60s'), expected from='%s' to='%s' "
			       "type='%s' error='%s'", sc_msg.from, sc_msg.to, sc_msg.type, sc_msg.error, sc_msg.body, from,
			       to, type, err);
	if (strcmp(sc_msg.body, body))
		return sc_fail("inbox body '%.80s' (%zu bytes), expected '%.80s' (%zu bytes)", sc_msg.body,
			       strlen(sc_msg.body), body, strlen(body));
	return 0;
}

static int sc_app_rc(const char *what, int rc, int want)
{
	sc_h_app = sc_hash(sc_h_app, &rc, sizeof rc);
	if (rc != want)
		return sc_fail("%s returned %s, expected %s", what, drv_err_name(rc), drv_err_name(want));
	return 0;
}

static int sc_app_send(const char *from, const char *to, const char *body, int want)
{
	int rc = drv_send(from, to, body);

	sc_h_app = sc_hash(sc_h_app, &rc, sizeof rc);
	if (rc != want)
		return sc_fail("send from %s to %s returned %s, expected %s", from, to, drv_err_name(rc),
			       drv_err_name(want));
	return 0;
}

/* The result of an account call: hashed (part of the app outcome), checked. */
static int sc_acct_rc(const char *what, const char *a, int rc, int want)
{
	sc_h_app = sc_hash(sc_h_app, &rc, sizeof rc);
	if (rc != want)
		return sc_fail("%s %s returned %s, expected %s", what, a, drv_err_name(rc), drv_err_name(want));
	return 0;
}

static int sc_step(const struct sc_step *st);

static int sc_steps(const struct sc_step *steps, unsigned depth)
{
	const struct sc_step *st;

	if (depth > SC_INCLUDE_DEPTH)
		return sc_fail("INCLUDE nested deeper than %d", SC_INCLUDE_DEPTH);
	for (st = steps; st->op != SC_END; st++) {
		if (st->op == SC_INCLUDE) {
			if (sc_steps(st->sub, depth + 1))
				return -1;
			continue;
		}
		sc_stepno++;
		sc_failed_step = st;
		sc_failed_peer = -1;
		if (sc_step(st))
			return -1;
	}
	sc_failed_step = NULL;
	return 0;
}

int sc_exec(const struct sc_step *steps)
{
	return sc_steps(steps, 0);
}

static int sc_step(const struct sc_step *st)
{
	struct sc_peer *p = sc_peer(st->peer);
	char num[16];
	int i;

	if (!p)
		return sc_fail("no peer %u (SC_PEERS is %d)", st->peer, SC_PEERS);
	if (sc_settle())
		return -1;
	switch (st->op) {
	case SC_CONNECT:
	case SC_COMP_CONNECT: {
		char addr[64], from[64];
		xs2s_sock s;

		sc_failed_peer = st->peer;
		if (p->sock != XS2S_SOCK_NONE)
			return sc_fail("peer %u is already connected", st->peer);
		snprintf(addr, sizeof addr, "%s:%u", SC_ENGINE_ADDR, st->op == SC_CONNECT ? SC_ENGINE_PORT : SC_COMP_PORT);
		/* Each peer from its own address (peer 0: 198.51.100.2), unless the
		 * step names one (CONNECT_FROM). */
		snprintf(from, sizeof from, "198.51.100.%u:50000", 2 + st->peer);
		if (fake_tcp_connect(addr, st->a ? st->a : from, &s) != XS2S_OK)
			return sc_fail("cannot connect to the engine at %s", addr);
		sc_peer_attach(p, s);
		return 0;
	}
	case SC_ACCEPT:
		sc_failed_peer = st->peer;
		i = sc_accept(st->peer, st->a);
		if (i < 0)
			return -1;
		return i ? 0 : sc_fail("the engine did not connect to %s", st->a);
	case SC_NO_CONNECT: {
		struct sc_listener *l = sc_listener(st->a);

		if (!l)
			return sc_fail("no listener for %s", st->a);
		return fake_tcp_pending(l->sock) ? sc_fail("the engine connected to %s", st->a) : 0;
	}
	case SC_SEND:
		sc_failed_peer = st->peer;
		if (sc_compose(sc_pat, sizeof sc_pat, st->a, st->b, st->n, st->c) ||
		    sc_expand(sc_text, sizeof sc_text, sc_pat))
			return -1;
		return sc_peer_write(st->peer, sc_text, strlen(sc_text));
	case SC_EXPECT:
		sc_failed_peer = st->peer;
		if (!p->used)
			return sc_fail("peer %u never connected", st->peer);
		return sc_step_expect(st, p);
	case SC_EXPECT_NOTHING:
		sc_failed_peer = st->peer;
		if (p->in_len != p->pos)
			return sc_fail("the engine sent %zu more bytes", p->in_len - p->pos);
		if (p->eof || p->sock == XS2S_SOCK_NONE)
			return sc_fail("the connection is closed");
		return 0;
	case SC_EXPECT_CLOSED:
		sc_failed_peer = st->peer;
		if (p->in_len != p->pos)
			return sc_fail("the engine sent %zu more bytes", p->in_len - p->pos);
		if (!p->eof)
			return sc_fail("the engine did not close the connection");
		sc_peer_close_sock(p, false);
		return 0;
	case SC_CLOSE:
	case SC_ABORT:
		sc_failed_peer = st->peer;
		if (p->sock == XS2S_SOCK_NONE)
			return sc_fail("peer %u is not connected", st->peer);
		sc_peer_close_sock(p, st->op == SC_ABORT);
		return 0;
	case SC_ADVANCE:
		return sc_advance((uint32_t)st->n);
	case SC_DBKEY: {
		char recv[SC_VAR_VALUE], orig[SC_VAR_VALUE], id[SC_VAR_VALUE], key[65];

		if (sc_expand(recv, sizeof recv, st->b) || sc_expand(orig, sizeof orig, st->c) ||
		    sc_expand(id, sizeof id, st->d))
			return -1;
		sc_dbkey(SC_SECRET, recv, orig, id, key);
		return sc_var_set(st->a, strlen(st->a), key, strlen(key));
	}
	case SC_HANDSHAKE: {
		char id[SC_VAR_VALUE], secret[SC_VAR_VALUE], hs[41];

		if (sc_expand(id, sizeof id, st->b) || sc_expand(secret, sizeof secret, st->c))
			return -1;
		sc_handshake(id, secret, st->n != 0, hs);
		return sc_var_set(st->a, strlen(st->a), hs, strlen(hs));
	}
	case SC_APP_SEND:
		if (sc_compose(sc_pat, sizeof sc_pat, st->n ? NULL : st->c, st->n ? st->c : NULL, st->n, NULL) ||
		    sc_expand(sc_text, sizeof sc_text, sc_pat))
			return -1;
		return sc_app_send(st->a, st->b, sc_text, st->m);
	case SC_APP_RAW:
		if (sc_expand(sc_text, sizeof sc_text, st->a))
			return -1;
		i = drv_send_raw(sc_text, st->n != 0);
		return sc_app_rc("send_raw", i, st->m);
	case SC_APP_IQ:
		i = drv_iq(st->a, st->b, st->c, st->d, st->e, (uint32_t)st->n);
		return sc_app_rc("iq_request", i, st->m);
	case SC_HANDLER:
		i = drv_handler(st->a, st->b, st->c, st->n != 0);
		return sc_app_rc("handler_add", i > 0 ? XS2S_OK : i, XS2S_OK);
	case SC_APP_EVENT: {
		char line[DRV_EVENT];

		if (sc_expand(sc_pat, sizeof sc_pat, st->a))
			return -1;
		if (!drv_event_take(line, sizeof line))
			return sc_fail("the application saw nothing; expected '%s'", sc_pat);
		sc_h_app = sc_hash_str(sc_h_app, line);
		return strcmp(line, sc_pat) ? sc_fail("the application saw '%s', expected '%s'", line, sc_pat) : 0;
	}
	case SC_APP_EVENT_NONE: {
		char line[DRV_EVENT];

		return drv_event_take(line, sizeof line) ? sc_fail("the application saw '%s'", line) : 0;
	}
	case SC_APP_SEND_MANY:
		for (i = 0; i < st->n; i++) {
			snprintf(num, sizeof num, "%d", i);
			if (sc_compose(sc_text, sizeof sc_text, st->c, NULL, 0, num) ||
			    sc_app_send(st->a, st->b, sc_text, i < st->m ? XS2S_OK : XS2S_ENOMEM))
				return -1;
		}
		return 0;
	case SC_INBOX:
		if (sc_compose(sc_pat, sizeof sc_pat, st->n ? NULL : st->e, st->n ? st->e : NULL, st->n, NULL))
			return -1;
		return sc_inbox_one(st->a, st->b, st->c, st->d, sc_pat);
	case SC_INBOX_MANY:
		for (i = 0; i < st->n; i++) {
			snprintf(num, sizeof num, "%d", i);
			if (sc_compose(sc_text, sizeof sc_text, st->e, NULL, 0, num) ||
			    sc_inbox_one(st->a, st->b, st->c, st->d, sc_text))
				return -1;
		}
		return 0;
	case SC_INBOX_WHY:
		return strcmp(sc_msg.error_text, st->a) ? sc_fail("inbox error text '%s', expected '%s'", sc_msg.error_text,
								  st->a) : 0;
	case SC_INBOX_EMPTY:
		if (drv_inbox_take(&sc_msg))
			return sc_fail("the inbox holds from='%s' to='%s' type='%s' error='%s' body='%.60s'", sc_msg.from,
				       sc_msg.to, sc_msg.type, sc_msg.error, sc_msg.body);
		return 0;
	case SC_STOP:
		drv_stop();
		return 0;
	case SC_IDLE:
		return drv_idle() ? 0 : sc_fail("the engine still has links");
	case SC_LOG_HAS:
		return fake_log_has(st->a) ? 0 : sc_fail("no log line contains '%s'", st->a);
	case SC_STATUS_HAS:
		if (st->b)
			drv_status_json(sc_text, sizeof sc_text);
		else
			drv_status_text(sc_text, sizeof sc_text);
		return strstr(sc_text, st->a) ? 0 : sc_fail("status does not contain '%s':\n%s", st->a, sc_text);
	case SC_CAPACITY:
		fake_set_capacity((size_t)st->n);
		return 0;
	case SC_BUFS: {
		struct drv_pools b;

		drv_pools(&b);
		return b.link_bufs == (unsigned)st->n ? 0 : sc_fail("links hold %u buffers on loan, not %d", b.link_bufs, st->n);
	}
	case SC_HOLD:
	case SC_RELEASE:
		sc_failed_peer = st->peer;
		p->hold = st->op == SC_HOLD;
		return 0;
	case SC_ACCT_ADD:
		return sc_acct_rc("account add", st->a, drv_account_add(st->a), st->m);
	case SC_ACCT_ANSWER:
		return sc_acct_rc("account answer", st->b, drv_account_answer(st->a, st->b, st->n != 0), st->m);
	case SC_ACCT_PRESENCE:
		return sc_acct_rc("account presence", st->a, drv_account_presence(st->a, st->n != 0, st->b, st->c), st->m);
	case SC_ASKED: {
		char acct[DRV_FIELD], contact[DRV_FIELD];

		if (!drv_ask_take(acct, contact))
			return sc_fail("the ask callback was not called");
		sc_h_app = sc_hash_str(sc_h_app, acct);
		sc_h_app = sc_hash_str(sc_h_app, contact);
		if (strcmp(acct, st->a) || strcmp(contact, st->b))
			return sc_fail("the ask callback was called for %s from %s, expected %s from %s", acct, contact,
				       st->a, st->b);
		return 0;
	}
	case SC_STORE_IS:
		sc_h_app = sc_hash_str(sc_h_app, drv_store_text());
		if (strcmp(drv_store_text(), st->a))
			return sc_fail("the store holds:\n%s(%u saves), expected:\n%s", drv_store_text(), drv_store_saves(),
				       st->a);
		if (st->n && drv_store_saves() != (unsigned)st->n)
			return sc_fail("the store was saved %u times, expected %d", drv_store_saves(), st->n);
		return 0;
	default:
		return sc_fail("unknown step op %u", st->op);
	}
}

/* ---- a run ---- */

int sc_begin(const struct sc_scenario *s, enum fake_delivery mode, uint64_t split_seed)
{
	struct drv_config c;
	unsigned i;
	int rc;

	sc_cur = s;
	sc_mode = mode;
	sc_split_seed = split_seed;
	sc_err[0] = '\0';
	sc_stepno = 0;
	sc_failed_step = NULL;
	sc_failed_peer = -1;
	sc_nvars = 0;
	sc_h_app = SC_HASH_INIT;
	for (i = 0; i < SC_PEERS; i++) {
		sc_peers[i].sock = XS2S_SOCK_NONE;
		sc_peers[i].used = sc_peers[i].eof = sc_peers[i].hold = false;
		sc_peers[i].out_len = sc_peers[i].in_len = sc_peers[i].pos = 0;
	}
	fake_reset(0x5c3a1e0f00d5eedull, mode, split_seed);
	for (i = 0; i < SC_NLISTENERS; i++)
		if (fake_tcp_listen(sc_listeners[i].addr, &sc_listeners[i].sock) != XS2S_OK)
			return sc_fail("cannot register the listener of %s", sc_listeners[i].domain);
	fake_tcp_blackhole(SC_HOLE_ADDR);
	if ((s->flags & SC_DNS) && fake_udp_serve(SC_DNS_SERVER, sc_dns_zone, NULL) != XS2S_OK)
		return sc_fail("cannot register the DNS server");
	memset(&c, 0, sizeof c);
	c.domains[0] = "a.test";
	c.domains[1] = (s->flags & SC_ONE_DOMAIN) ? NULL : "alias.test";
	c.listen_addr = (s->flags & SC_NO_LISTEN) ? NULL : SC_ENGINE_ADDR;
	c.listen_port = SC_ENGINE_PORT;
	c.secret = SC_SECRET;
	c.tls_required = (s->flags & SC_TLS_REQUIRED) != 0;
	c.dialback = !(s->flags & SC_NO_DIALBACK);
	c.sasl_external = true;
	c.secure_auth = (s->flags & SC_SECURE_AUTH) != 0;
	c.bidi = (s->flags & SC_BIDI) != 0;
	c.secure_auth_exceptions = s->secure_auth_exceptions;
	c.dns_server = SC_DNS_SERVER;
	if (s->flags & SC_PING) {
		c.ping_idle_s = SC_PING_IDLE_S;
		c.ping_timeout_s = SC_PING_TIMEOUT_S;
	}
	c.deny = (s->flags & SC_DENY_B) ? "b.test" : NULL;
	c.allow = (s->flags & SC_ALLOW_BC) ? "b.test c.test" : NULL;
	if (s->flags & SC_RATE) {
		c.rate = SC_RATE_PER_S;
		c.rate_burst = SC_RATE_BURST;
		c.rate_hard_s = SC_RATE_HARD_S;
	}
	c.route_deadline_s = (s->flags & SC_RETRY) ? SC_RETRY_S : 0;
	if (s->flags & SC_COMPONENTS) {
		c.components = SC_COMP "=" SC_COMP_SECRET " " SC_COMP2 "=" SC_COMP2_SECRET;
		c.component_listen = SC_ENGINE_ADDR ":5347";
	}
	for (i = 0; sc_host_map[i]; i++)
		c.host_map[i] = sc_host_map[i];
	c.cert_pem = sc_cred.cert;
	c.cert_len = sc_cred.cert_len;
	c.key_pem = sc_cred.key;
	c.key_len = sc_cred.key_len;
	if (s->accounts) {
		c.accounts = s->accounts->accounts;
		c.sub_policy = s->accounts->policy;
		c.sub_allow = s->accounts->allow;
		c.ask = s->accounts->ask;
		c.store = s->accounts->store;
		c.store_initial = s->accounts->store_initial;
	}
	rc = drv_start(&c);
	if (rc != XS2S_OK)
		return sc_fail("the engine did not start: %s", drv_err_name(rc));
	drv_pools(&sc_base);
	return 0;
}

static int sc_leak_gate(void)
{
	struct drv_pools p;
	const char *first;

	/* After xs2s_engine_fini every pool and arena is empty, the TLS
	 * contexts included, and the listener is closed. */
	drv_pools(&p);
	if (p.links)
		return sc_fail("leak: %u link slot(s) in use", p.links);
	if (p.queued || p.queue_bytes)
		return sc_fail("leak: %u queued stanza(s), %zu queue bytes", p.queued, p.queue_bytes);
	if (p.routes || p.events)
		return sc_fail("leak: %u route(s) in the table, %u event(s) waiting or lost", p.routes, p.events);
	if (p.inbox_msgs || p.inbox_bytes)
		return sc_fail("leak: inbox holds %u entries, %zu bytes after draining", p.inbox_msgs, p.inbox_bytes);
	if (p.completions || p.iq_requests || p.local_queue)
		return sc_fail("leak: %u completion(s), %u iq request(s), %zu local queue bytes after fini", p.completions,
			       p.iq_requests, p.local_queue);
	if (p.xml_bytes)
		return sc_fail("leak: XML arena at %zu bytes (%zu after start)", p.xml_bytes, sc_base.xml_bytes);
	if (p.tls_link_bytes || p.tls_bytes)
		return sc_fail("leak: TLS arena at %zu bytes (%zu charged to links) after fini", p.tls_bytes,
			       p.tls_link_bytes);
	if (p.resolver_busy)
		return sc_fail("leak: %u resolver slot(s) busy", p.resolver_busy);
	if (p.link_bufs)
		return sc_fail("leak: %u link buffer(s) still on loan", p.link_bufs);
	if (p.accounts || p.subscriptions)
		return sc_fail("leak: %u account(s), %u subscription(s) after fini", p.accounts, p.subscriptions);
	if (p.comp_links || p.comp_used)
		return sc_fail("leak: %u component link(s), %u component name(s) bound", p.comp_links, p.comp_used);
	if (fake_open_engine())
		return sc_fail("leak: the engine left %u fake socket(s) open", fake_open_engine());
	if (fake_violations(&first))
		return sc_fail("port contract: %u violation(s), first: %s", fake_violations(NULL), first);
	return 0;
}

int sc_finish(bool strict, struct sc_outcome *o)
{
	unsigned i;
	bool ok = !sc_err[0];

	if (ok)
		sc_failed_step = NULL; /* what fails from here is not a step's */
	if (ok && strict) {
		if (sc_settle())
			ok = false;
		for (i = 0; ok && i < SC_PEERS; i++) {
			if (sc_peers[i].in_len != sc_peers[i].pos) {
				sc_failed_peer = (int)i;
				ok = !sc_fail("end of script: peer %u has %zu bytes of engine output no step EXPECTed", i,
					      sc_peers[i].in_len - sc_peers[i].pos);
			}
		}
		for (i = 0; ok && i < SC_NLISTENERS; i++)
			if (fake_tcp_pending(sc_listeners[i].sock))
				ok = !sc_fail("end of script: the engine connected to %s and no step ACCEPTed it",
					      sc_listeners[i].domain);
		if (ok && drv_inbox_take(&sc_msg))
			ok = !sc_fail("end of script: unexpected inbox entry from='%s' to='%s' type='%s' error='%s' "
				      "body='%.60s'", sc_msg.from, sc_msg.to, sc_msg.type, sc_msg.error, sc_msg.body);
		if (ok) {
			char line[DRV_EVENT], acct[DRV_FIELD], contact[DRV_FIELD];

			if (drv_event_take(line, sizeof line))
				ok = !sc_fail("end of script: the application saw '%s' and no step expected it", line);
			else if (drv_ask_take(acct, contact))
				ok = !sc_fail("end of script: the ask callback was called for %s from %s and no step "
					      "took it (ASKED)", acct, contact);
		}
	}
	if (o) {
		o->wire = SC_HASH_INIT;
		for (i = 0; i < SC_PEERS; i++) {
			o->wire = sc_hash(o->wire, sc_peers[i].in, sc_peers[i].in_len);
			o->wire = sc_hash(o->wire, &sc_peers[i].eof, sizeof sc_peers[i].eof);
		}
		o->app = sc_h_app;
		o->log = sc_hash_log(sc_log_from_start());
	}
	/* Teardown: stop, every peer closes, deadlines run out. */
	drv_stop();
	sc_settle();
	for (i = 0; i < SC_PEERS; i++)
		sc_peer_close_sock(&sc_peers[i], false);
	for (i = 0; i < SC_NLISTENERS; i++) {
		xs2s_sock s;

		while (fake_tcp_accept(sc_listeners[i].sock, &s) == XS2S_OK)
			fake_tcp_close(s);
	}
	sc_run_timers(SC_TIMER_JUMPS);
	if (!drv_idle())
		sc_fail("teardown: the engine is not idle after stop and %d deadline jumps", SC_TIMER_JUMPS);
	while (drv_inbox_take(&sc_msg))
		; /* bounces of the shutdown */
	drv_fini();
	if (!sc_err[0])
		sc_leak_gate();
	fake_close_test_sockets();
	for (i = 0; i < SC_NLISTENERS; i++)
		sc_listeners[i].sock = XS2S_SOCK_NONE;
	return sc_err[0] ? -1 : 0;
}

static void sc_print_text(FILE *f, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\n' || (c >= 0x20 && c < 0x7f))
			fputc(c, f);
		else
			fprintf(f, "\\x%02x", c);
	}
}

void sc_report(FILE *f)
{
	unsigned i;
	const struct sc_step *st = sc_failed_step;

	fprintf(f, "\n=== scenario '%s' failed (%s delivery, split seed %llu)\n", sc_cur ? sc_cur->name : "?",
		fake_delivery_name(sc_mode), (unsigned long long)sc_split_seed);
	if (st) {
		bool peer_op = st->op == SC_CONNECT || st->op == SC_COMP_CONNECT || st->op == SC_ACCEPT || st->op == SC_SEND || st->op == SC_EXPECT ||
			       st->op == SC_EXPECT_NOTHING || st->op == SC_EXPECT_CLOSED || st->op == SC_CLOSE ||
			       st->op == SC_ABORT;

		fprintf(f, "at step %u: %s", sc_stepno,
			st->op < sizeof sc_op_names / sizeof sc_op_names[0] ? sc_op_names[st->op] : "?");
		if (peer_op)
			fprintf(f, " peer %u", st->peer);
		if (st->a)
			fprintf(f, " '%s'", st->a);
		if (st->b)
			fprintf(f, " '%s'", st->b);
		if (st->n)
			fprintf(f, " n=%d", st->n);
		fputc('\n', f);
	} else {
		fprintf(f, "after the steps (%u run)\n", sc_stepno);
	}
	fprintf(f, "why: %s\n", sc_err);
	if (st && st->op == SC_EXPECT)
		fprintf(f, "expected: %s\n", sc_pat);
	for (i = 0; i < SC_PEERS; i++) {
		const struct sc_peer *p = &sc_peers[i];

		if (!p->used)
			continue;
		fprintf(f, "--- peer %u%s: %zu bytes from the engine, %zu EXPECTed%s\n", i,
			(int)i == sc_failed_peer ? " (this step's)" : "", p->in_len, p->pos, p->eof ? ", then EOF" : "");
		fputs("    EXPECTed: ", f);
		sc_print_text(f, p->in, p->pos);
		fputs("\n    not yet:  ", f);
		sc_print_text(f, p->in + p->pos, p->in_len - p->pos);
		fputc('\n', f);
	}
	fputs("--- engine log:\n", f);
	fake_log_dump(f);
	fputs("=== end of report\n", f);
}

int sc_run(const struct sc_scenario *s, enum fake_delivery mode, uint64_t split_seed, struct sc_outcome *o)
{
	int rc = sc_begin(s, mode, split_seed);

	if (rc == 0)
		rc = sc_exec(s->steps);
	if (sc_finish(true, o) || rc) {
		if (!sc_quiet)
			sc_report(stderr);
		return -1;
	}
	if (getenv("XS2S_SCENARIO_LOG"))
		fake_log_dump(stderr);
	return 0;
}

/* The first line where two logs differ, for the report. */
static void sc_log_diff(FILE *f, const char *a, const char *b)
{
	while (*a && *a == *b) {
		a++;
		b++;
	}
	while (*a && a[-1] != '\n')
		a--;
	while (*b && b[-1] != '\n')
		b--;
	fprintf(f, "first difference:\n  whole: %.*s\n  this:  %.*s\n", (int)strcspn(a, "\n"), a,
		(int)strcspn(b, "\n"), b);
}

static const char *sc_log_from_start(void)
{
	const char *lg = strstr(fake_log_text(), "xs2s started");

	return lg ? lg : fake_log_text();
}

int sc_run_all(const struct sc_scenario *s)
{
	static char ref_log[FAKE_LOG_BYTES];
	static const enum fake_delivery modes[] = { FAKE_WHOLE, FAKE_BYTE, FAKE_SPLIT };
	struct sc_outcome ref, o;
	unsigned i;

	for (i = 0; i < sizeof modes / sizeof modes[0]; i++) {
		if (sc_run(s, modes[i], 0x51e7ull + i, i ? &o : &ref))
			return -1;
		if (!i)
			snprintf(ref_log, sizeof ref_log, "%s", sc_log_from_start());
		if (i && (o.wire != ref.wire || o.app != ref.app || o.log != ref.log)) {
			if (sc_quiet)
				return -1;
			fprintf(stderr, "\n=== scenario '%s': %s delivery differs from whole delivery:%s%s%s\n", s->name,
				fake_delivery_name(modes[i]), o.wire != ref.wire ? " wire" : "",
				o.app != ref.app ? " app" : "", o.log != ref.log ? " log" : "");
			if (o.log != ref.log)
				sc_log_diff(stderr, ref_log, sc_log_from_start());
			else
				fake_log_dump(stderr);
			return -1;
		}
	}
	return 0;
}
