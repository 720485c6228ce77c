/* Fuzz harness for the whole engine path through STARTTLS and SASL EXTERNAL,
 * over the fake port, with the TLS shim (tls_shim.h) in place of wolfSSL.
 *
 * The engine has a certificate, offers STARTTLS, SASL EXTERNAL and dialback
 * (per the input's switches), and every record it writes after the switch
 * is decoded here, so that its plaintext is checked as fuzz_engine checks
 * it: a header first (again after each stream restart), well-formed
 * top-level framing, nothing after </stream:stream>.
 *
 * Input
 *   byte 0  bits 0-1 delivery of the fake port (whole, byte, split; 3 =
 *           whole); bit 2: 0 = the bytes are a peer's inbound stream from
 *           its first byte, 1 = they are b.test's answer to our outbound
 *           stream; bit 3 TLS required; bit 4 secure auth (valid
 *           certificates only, no dialback fallback); bit 5 no dialback;
 *           bits 6-7 split seed
 *   byte 1  the peer's TLS: bits 0-1 the chain verdict it gets
 *           (TLS_SHIM_CHAIN_*); bits 2-3 its certificate (b.test, c.test,
 *           XmppAddr b.test, none); bit 4 raw: the TLS part is written as
 *           is (the input crafts the records, HELLO included), otherwise
 *           the harness sends the HELLO and cuts the TLS part into DATA
 *           records; bits 5-7 their sizes (1, 2, 7, 64, 511, 4096, seeded
 *           random, one record)
 *   rest    the plaintext part, then "|TLS|" and the TLS part. The TLS part
 *           goes when TLS starts: inbound after the engine's <proceed/>,
 *           outbound after the engine's HELLO; if TLS never starts it is
 *           not sent.
 * Every other connection the engine opens to b.test or c.test is answered
 * by an automatic server that speaks the shim: features with <starttls/>,
 * <proceed/>, a HELLO with a verified certificate of its domain, then
 * SASL EXTERNAL (<success/>) and dialback (type='valid').
 * Each input: a fresh engine, run until quiet, the clock moved through every
 * deadline, stop, and the leak gate (every pool and arena empty, the TLS
 * arena included, every fake socket closed, no port contract violation).
 *
 * Build with libFuzzer: see test/fuzz/README.md (mk/fuzz.mk links the shim
 * instead of firmware/link/tls.c). Linked with replay.c instead, it replays
 * the files named on the command line.
 */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_attr.h"
#include "runner.h"
#include "shim_certs.h"
#include "tls_shim.h"
#include "xs2s_err.h"

#define FZ_MAX_INPUT 24576
#define FZ_ROUNDS 64
#define FZ_JUMPS 48
#define FZ_BUF 65536        /* raw and decoded engine output per peer */
#define FZ_PI 0             /* the fuzzed inbound peer */
#define FZ_PO 1             /* the fuzzed outbound peer (b.test's server) */
#define FZ_SEP "|TLS|"
#define FZ_SEP_LEN 5
#define FZ_CRED "shim" /* certificate and key: the shim reads neither */

#define FZ_CHECK(cond)                                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			sc_report(stderr);                                               \
			abort();                                                         \
		}                                                                        \
	} while (0)

#define NS_ATTRS "xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'"
#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define DIALBACK_FEATURE "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"

enum fz_mode {
	FZ_PLAIN = 0,  /* engine output is plaintext */
	FZ_SWITCH,     /* after <proceed/> or <starttls/>: the next byte tells */
	FZ_RECORDS,    /* engine output is shim records */
};

/* One peer: what the engine sent, decoded and checked. */
struct fz_peer {
	uint8_t mode;      /* enum fz_mode */
	bool header;       /* the engine's header was seen (on this stream) */
	bool restart_ok;   /* a new header may come (after proceed, success, auth, starttls) */
	bool closed;       /* </stream:stream> was seen */
	unsigned depth;
	bool fuzzed;       /* played by the input, not automatic */
	bool answered;     /* automatic: answered the engine's current header */
	bool tls;          /* our side speaks records */
	bool hello_in;     /* the engine's HELLO arrived */
	bool sasl_done;    /* automatic: <success/> sent */
	bool alert_in;     /* the engine's close_notify arrived */
	uint8_t dom;       /* automatic: 0 = b.test, 1 = c.test */
	unsigned n;
	size_t raw_len, plain_len;
	uint8_t raw[FZ_BUF];
	char plain[FZ_BUF];
};

static struct fz_peer fz_p[SC_PEERS];
static char fz_el[FZ_MAX_INPUT + 4096];
static uint8_t fz_rec[FZ_MAX_INPUT + 8192];

/* The fuzzed peer's TLS part and how to send it. */
static struct {
	const uint8_t *data;
	size_t len;
	bool sent;
	bool raw;
	uint8_t chain, cert, sizes;
	uint64_t seed;
} fz_tls;

static const struct sc_step fz_app[] = {
	HANDLER(NULL, NULL, NULL, 0),
	HANDLER("bot@a.test", "message", NULL, 1),
	APP_IQ("dev@a.test", "b.test", "get", "fz1", "<ping xmlns='urn:xmpp:ping'/>", 60000, XS2S_OK),
	END(),
};

static const struct sc_step fz_in_preamble[] = {
	INCLUDE(fz_app),
	CONNECT(FZ_PI),
	END(),
};

static const struct sc_step fz_out_preamble[] = {
	INCLUDE(fz_app),
	APP_SEND("u@a.test", "x@b.test", "fuzz", XS2S_OK),
	ACCEPT(FZ_PO, "b.test"),
	END(),
};

/* Engine configurations by the input's switches (bits 3-5). */
#define FZ_SC(i) { "fuzz_starttls", NULL, ((i) & 1 ? SC_TLS_REQUIRED : 0) | ((i) & 2 ? SC_SECURE_AUTH : 0) | \
		   ((i) & 4 ? SC_NO_DIALBACK : 0), NULL, NULL }
static const struct sc_scenario fz_sc[8] = { FZ_SC(0), FZ_SC(1), FZ_SC(2), FZ_SC(3),
					     FZ_SC(4), FZ_SC(5), FZ_SC(6), FZ_SC(7) };

static uint64_t fz_next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* ---- records to the engine ---- */

static void fz_write(int peer, const void *p, size_t n)
{
	if (sc_peer_connected(peer) && !sc_peer_eof(peer))
		sc_peer_write(peer, p, n);
}

static void fz_record(int peer, uint8_t type, const void *p, size_t n)
{
	uint8_t h[3] = { type, (uint8_t)(n >> 8), (uint8_t)n };

	fz_write(peer, h, 3);
	if (n)
		fz_write(peer, p, n);
}

static void fz_hello(int peer, uint8_t chain, const unsigned char *der, size_t der_len)
{
	fz_rec[0] = chain;
	if (der_len)
		memcpy(fz_rec + 1, der, der_len);
	fz_record(peer, TLS_SHIM_HELLO, fz_rec, der_len + 1);
}

/* Text from an automatic server: plaintext or one DATA record. */
static void fz_send(int peer, const char *text)
{
	if (fz_p[peer].tls)
		fz_record(peer, TLS_SHIM_DATA, text, strlen(text));
	else
		fz_write(peer, text, strlen(text));
}

/* The fuzzed peer's TLS part, once TLS has started. */
static void fz_send_tls_part(int peer)
{
	static const size_t sizes[] = { 1, 2, 7, 64, 511, TLS_SHIM_RECORD_MAX, 0, 0 };
	size_t off = 0;

	if (fz_tls.sent)
		return;
	fz_tls.sent = true;
	fz_p[peer].tls = true;
	if (fz_tls.raw) {
		if (fz_tls.len)
			fz_write(peer, fz_tls.data, fz_tls.len);
		return;
	}
	switch (fz_tls.cert) {
	case 0: fz_hello(peer, fz_tls.chain, cert_b_test, cert_b_test_len); break;
	case 1: fz_hello(peer, fz_tls.chain, cert_c_test, cert_c_test_len); break;
	case 2: fz_hello(peer, fz_tls.chain, cert_xmpp_b_test, cert_xmpp_b_test_len); break;
	default: fz_hello(peer, TLS_SHIM_CHAIN_NONE, NULL, 0); break;
	}
	while (off < fz_tls.len) {
		size_t n = sizes[fz_tls.sizes];

		if (fz_tls.sizes == 6)
			n = 1 + fz_next(&fz_tls.seed) % 700;
		else if (fz_tls.sizes == 7)
			n = TLS_SHIM_RECORD_MAX;
		if (n > fz_tls.len - off)
			n = fz_tls.len - off;
		fz_record(peer, TLS_SHIM_DATA, fz_tls.data + off, n);
		off += n;
	}
}

/* ---- automatic servers ---- */

static void fz_answer(int peer, struct fz_peer *w, const char *el, size_t len)
{
	char from[FZ_ATTR], to[FZ_ATTR], id[FZ_ATTR], type[FZ_ATTR], *buf = fz_el;

	fz_attr(el, len, "from", from);
	fz_attr(el, len, "to", to);
	fz_attr(el, len, "id", id);
	fz_attr(el, len, "type", type);
	if (len > 15 && !memcmp(el, "<stream:stream ", 15)) {
		if (w->answered)
			return;
		w->answered = true;
		snprintf(buf, sizeof fz_el, "<?xml version='1.0'?><stream:stream " NS_ATTRS
			 " from='%s' to='%s' id='auto-%d-%u' version='1.0'><stream:features>%s%s%s</stream:features>",
			 to, from, peer, ++w->n, w->tls ? "" : "<starttls xmlns='" NS_TLS "'><required/></starttls>",
			 w->tls && !w->sasl_done ? "<mechanisms xmlns='" NS_SASL "'><mechanism>EXTERNAL</mechanism></mechanisms>"
						 : "",
			 w->tls ? DIALBACK_FEATURE : "");
		fz_send(peer, buf);
	} else if (len > 10 && !memcmp(el, "<starttls ", 10) && !w->tls) {
		fz_send(peer, "<proceed xmlns='" NS_TLS "'/>");
		w->tls = true; /* the engine's next bytes are its HELLO */
		w->answered = false;
	} else if (len > 6 && !memcmp(el, "<auth ", 6) && w->tls && !w->sasl_done) {
		fz_send(peer, "<success xmlns='" NS_SASL "'/>");
		w->sasl_done = true;
		w->answered = false;
	} else if (len > 11 && !memcmp(el, "<db:result ", 11) && !type[0]) {
		snprintf(buf, sizeof fz_el, "<db:result from='%s' to='%s' type='valid'/>", to, from);
		fz_send(peer, buf);
	} else if (len > 11 && !memcmp(el, "<db:verify ", 11) && !type[0]) {
		snprintf(buf, sizeof fz_el, "<db:verify from='%s' to='%s' id='%s' type='valid'/>", to, from, id);
		fz_send(peer, buf);
	} else if (len == 16 && !memcmp(el, "</stream:stream>", 16)) {
		fz_send(peer, "</stream:stream>");
	}
}

/* The engine's HELLO arrived on peer: our side of the handshake. */
static void fz_on_engine_hello(int peer, struct fz_peer *w)
{
	if (w->fuzzed) {
		if (peer == FZ_PO)
			fz_send_tls_part(peer); /* b.test's server answers the client's HELLO */
		return;
	}
	fz_hello(peer, TLS_SHIM_CHAIN_OK, w->dom ? cert_c_test : cert_b_test, w->dom ? cert_c_test_len : cert_b_test_len);
}

/* ---- checking what the engine sent ---- */

/* Top-level elements after which the engine may start a new stream. */
static bool fz_restarts(const char *el, size_t len)
{
	return (len > 9 && !memcmp(el, "<proceed ", 9)) || (len > 9 && !memcmp(el, "<success ", 9)) ||
	       (len > 6 && !memcmp(el, "<auth ", 6)) || (len > 10 && !memcmp(el, "<starttls ", 10));
}

/* Elements after which the engine's output may turn into records. */
static bool fz_switches(const char *el, size_t len)
{
	return (len > 9 && !memcmp(el, "<proceed ", 9)) || (len > 10 && !memcmp(el, "<starttls ", 10));
}

/* Scan the decoded output of peer; returns the bytes consumed. A switch
 * element stops the scan right after it (the rest is records). */
static size_t fz_scan(int peer, struct fz_peer *w, bool *switched)
{
	const char *p = w->plain;
	size_t len = w->plain_len, i = 0, start = 0;
	bool automatic = !w->fuzzed;

	*switched = false;
	while (i < len) {
		size_t j;

		if (p[i] != '<') {
			FZ_CHECK(!w->closed);
			FZ_CHECK(w->depth > 0 || p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r');
			i++;
			continue;
		}
		j = i + 1;
		while (j < len && p[j] != '>')
			j++;
		if (j == len)
			break;
		FZ_CHECK(!w->closed);
		if (w->depth == 0)
			start = i;
		if (p[i + 1] == '?') {
			FZ_CHECK(!w->header || w->restart_ok);
		} else if (p[i + 1] == '/') {
			if (w->depth == 0) {
				FZ_CHECK(j - i + 1 == 16 && !memcmp(p + i, "</stream:stream>", 16));
				FZ_CHECK(w->header);
				w->closed = true;
				if (automatic)
					fz_answer(peer, w, p + i, 16);
			} else if (--w->depth == 0) {
				if (fz_restarts(p + start, j + 1 - start))
					w->restart_ok = true;
				if (automatic)
					fz_answer(peer, w, p + start, j + 1 - start);
				if (fz_switches(p + start, j + 1 - start)) {
					*switched = true;
					return j + 1;
				}
			}
		} else if (w->depth == 0 && j - i > 15 && !memcmp(p + i, "<stream:stream ", 15)) {
			FZ_CHECK(!w->header || w->restart_ok);
			w->header = true;
			w->restart_ok = false;
			if (automatic)
				fz_answer(peer, w, p + i, j + 1 - i);
		} else {
			FZ_CHECK(w->header);
			if (p[j - 1] != '/') {
				w->depth++;
			} else if (w->depth == 0) {
				bool sw = fz_switches(p + i, j + 1 - i);

				if (fz_restarts(p + i, j + 1 - i))
					w->restart_ok = true;
				if (automatic)
					fz_answer(peer, w, p + i, j + 1 - i);
				if (sw) {
					*switched = true;
					return j + 1;
				}
			}
		}
		i = j + 1;
	}
	if (w->depth > 0) {
		i = start;
		w->depth = 0;
	}
	return i;
}

/* Decode raw engine bytes of peer into plaintext and check it. */
static void fz_watch_peer(int peer)
{
	struct fz_peer *w = &fz_p[peer];
	size_t len, used;
	const char *p = sc_peer_unread(peer, &len);
	bool switched;

	FZ_CHECK(w->raw_len + len <= FZ_BUF);
	memcpy(w->raw + w->raw_len, p, len);
	w->raw_len += len;
	sc_peer_consume(peer, len);
	for (;;) {
		if (w->mode == FZ_PLAIN) {
			size_t n = w->raw_len;

			FZ_CHECK(w->plain_len + n <= FZ_BUF);
			memcpy(w->plain + w->plain_len, w->raw, n);
			w->plain_len += n;
			w->raw_len = 0;
			used = fz_scan(peer, w, &switched);
			if (switched) {
				/* What follows the switch element is not plaintext. */
				size_t rest = w->plain_len - used;

				memcpy(w->raw, w->plain + used, rest);
				w->raw_len = rest;
				w->plain_len = 0;
				w->mode = FZ_SWITCH;
				if (peer == FZ_PI && w->fuzzed)
					fz_send_tls_part(peer); /* the engine said <proceed/>: the client begins */
				continue;
			}
			memmove(w->plain, w->plain + used, w->plain_len - used);
			w->plain_len -= used;
			return;
		}
		if (w->mode == FZ_SWITCH) {
			if (!w->raw_len)
				return;
			if (w->raw[0] == TLS_SHIM_HELLO || w->raw[0] == TLS_SHIM_DATA || w->raw[0] == TLS_SHIM_ALERT) {
				w->mode = FZ_RECORDS;
				w->header = false;
				w->closed = false;
				w->depth = 0;
			} else {
				w->mode = FZ_PLAIN; /* no TLS after all (a refusal, an error) */
			}
			continue;
		}
		/* Records: whole ones only; the engine's are always well-formed. */
		while (w->raw_len >= 3) {
			size_t n = (size_t)w->raw[1] << 8 | w->raw[2];
			uint8_t type = w->raw[0];

			FZ_CHECK(type == TLS_SHIM_HELLO || type == TLS_SHIM_DATA || type == TLS_SHIM_ALERT);
			FZ_CHECK(n <= TLS_SHIM_RECORD_MAX);
			if (w->raw_len < 3 + n)
				break;
			FZ_CHECK(!w->alert_in); /* nothing after close_notify */
			if (type == TLS_SHIM_HELLO) {
				FZ_CHECK(!w->hello_in);
				w->hello_in = true;
				fz_on_engine_hello(peer, w);
			} else if (type == TLS_SHIM_ALERT) {
				FZ_CHECK(n == 1 && w->raw[3] == 0);
				w->alert_in = true;
			} else {
				FZ_CHECK(w->hello_in);
				FZ_CHECK(w->plain_len + n <= FZ_BUF);
				memcpy(w->plain + w->plain_len, w->raw + 3, n);
				w->plain_len += n;
			}
			memmove(w->raw, w->raw + 3 + n, w->raw_len - 3 - n);
			w->raw_len -= 3 + n;
		}
		used = fz_scan(peer, w, &switched);
		FZ_CHECK(!switched); /* no STARTTLS inside TLS */
		memmove(w->plain, w->plain + used, w->plain_len - used);
		w->plain_len -= used;
		return;
	}
}

static bool fz_round(void)
{
	static const char *const domains[] = { "b.test", "c.test" };
	unsigned long before = fake_activity();
	int peer;
	unsigned d;

	for (d = 0; d < 2; d++)
		for (peer = FZ_PO + 1; peer < SC_PEERS; peer++) {
			if (sc_peer_connected(peer) || sc_peer_eof(peer))
				continue;
			if (sc_accept(peer, domains[d]) != 1)
				break;
			fz_p[peer].dom = (uint8_t)d;
		}
	for (peer = 0; peer < SC_PEERS; peer++)
		if (sc_peer_connected(peer) || sc_peer_eof(peer))
			fz_watch_peer(peer);
	sc_settle();
	return fake_activity() != before;
}

static void fz_run(void)
{
	unsigned i;

	for (i = 0; i < FZ_ROUNDS && fz_round(); i++)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	enum fake_delivery mode;
	const uint8_t *sep;
	size_t plain_len;
	bool outbound;
	unsigned i;
	int peer;

	if (len < 2)
		return 0;
	mode = (enum fake_delivery)(data[0] & 3);
	if (mode >= FAKE_DELIVERY__COUNT)
		mode = FAKE_WHOLE;
	outbound = data[0] & 4;
	memset(&fz_tls, 0, sizeof fz_tls);
	fz_tls.chain = data[1] & 3;
	fz_tls.cert = (data[1] >> 2) & 3;
	fz_tls.raw = data[1] & 0x10;
	fz_tls.sizes = data[1] >> 5;
	fz_tls.seed = 0x9e3779b97f4a7c15ull ^ data[0] ^ (uint64_t)data[1] << 8;
	peer = outbound ? FZ_PO : FZ_PI;
	data += 2;
	len -= 2;
	if (len > FZ_MAX_INPUT)
		len = FZ_MAX_INPUT;
	sep = memmem(data, len, FZ_SEP, FZ_SEP_LEN);
	plain_len = sep ? (size_t)(sep - data) : len;
	if (sep) {
		fz_tls.data = sep + FZ_SEP_LEN;
		fz_tls.len = len - plain_len - FZ_SEP_LEN;
	}
	for (i = 0; i < SC_PEERS; i++) {
		fz_p[i].mode = FZ_PLAIN;
		fz_p[i].header = fz_p[i].restart_ok = fz_p[i].closed = fz_p[i].answered = false;
		fz_p[i].tls = fz_p[i].hello_in = fz_p[i].sasl_done = fz_p[i].alert_in = false;
		fz_p[i].fuzzed = false;
		fz_p[i].depth = fz_p[i].n = 0;
		fz_p[i].raw_len = fz_p[i].plain_len = 0;
	}
	fz_p[peer].fuzzed = true;
	sc_set_credentials(FZ_CRED, sizeof FZ_CRED, FZ_CRED, sizeof FZ_CRED);
	FUZZ_CHECK(sc_begin(&fz_sc[(data[-2] >> 3) & 7], mode, (uint64_t)(data[-2] >> 6) + 1) == 0);
	if (outbound) {
		FUZZ_CHECK(sc_exec(fz_out_preamble) == 0);
		fz_run();
	} else {
		FUZZ_CHECK(sc_exec(fz_in_preamble) == 0);
	}
	if (plain_len)
		sc_peer_write(peer, data, plain_len);
	fz_run();
	for (i = 0; i < FZ_JUMPS && fake_poll_timeout() < 3600000u; i++) {
		fake_advance(fake_poll_timeout());
		sc_settle();
		fz_run();
	}
	if (getenv("FUZZ_ENGINE_REPORT"))
		sc_report(stderr);
	if (sc_finish(false, NULL) != 0) {
		sc_report(stderr);
		FUZZ_CHECK(!"teardown or leak gate failed");
	}
	return 0;
}
