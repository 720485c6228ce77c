/* Fuzz harness for the resolver's state machine (firmware/resolve/resolve.c)
 * over the fake port: lookups in flight, hostile UDP answers, timeouts and
 * retransmissions by the fake clock, cancels.
 *
 * The input is a script. Byte 0 seeds the fake port's entropy (query ids,
 * SRV weights) and sets the DNS server's first behaviour; then each
 * operation is one byte (low 3 bits) and its arguments:
 *   0 start    a lookup of one of a fixed set of names (host map, plain,
 *              long, invalid, ...)
 *   1 answer   one of the questions asked so far gets a datagram, built
 *              from the question (its id and question section, QR set, an
 *              rcode, TC, EDNS FORMERR...) with answer records made by the
 *              harness (SRV to a set of targets, A, AAAA, CNAME, an owner
 *              elsewhere, "." targets) or raw bytes from the input after it;
 *              ids may be wrong, datagrams duplicated, or sent after the
 *              lookup ended (then they are lost with its socket)
 *   2 advance  the clock by 1..65535 ms (stopping at every deadline of the
 *              resolver, as the engine's poll does), or to the next deadline
 *   3 result   take a lookup's result (with room for 0..4 candidates)
 *   4 cancel   abandon a lookup
 *   5 server   the server's behaviour from now on: silent (answers come only
 *              from `answer'), or answering every query at once with a
 *              well-formed answer (SRV, addresses)
 *   6 step     a few resolver rounds without anything else
 *   7 again    the last datagram once more, on the same socket
 * After every operation the resolver runs a round (poll set, poll, step).
 * Checked throughout: every result is one the API documents and comes from a
 * lookup that is done; candidates are addresses with a port, none twice;
 * the resolver's next deadline is within one query timeout while a query
 * waits; no lookup stays in flight longer than its retries can take; at the
 * end (the clock run out, every result taken) every UDP socket is closed and
 * the fake port saw no contract violation.
 *
 * Build with libFuzzer: see test/fuzz/README.md. Linked with replay.c
 * instead, it replays the files named on the command line.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fake_port.h"
#include "resolve/resolve.h"
#include "xs2s_err.h"

#if CONFIG_XS2S_DNS

#define FR_SERVER "192.0.2.53"
#define FR_SERVER_PORT "192.0.2.53:53"
#define FR_HANDLES 16
#define FR_QUESTIONS 64
#define FR_OPS 400
#define FR_TRIES (1 + CONFIG_XS2S_DNS_RETRIES)
/* The longest a lookup may run: two phases, each query sent FR_TRIES times
 * and once more after a FORMERR without EDNS, a timeout per try. */
#define FR_LIFETIME_MS (2u * 2u * FR_TRIES * CONFIG_XS2S_DNS_TIMEOUT_MS + 1000u)

static const char *const fr_names[] = {
	"example.net", "b.test", "xmpp.example.net", "x.example.net", "Example.NET.",
	"a123456789012345678901234567890123456789012345678901234567890ab.example.net",
	"xn--bcher-kva.example", "bad..name", "", "_srv.example.net", "localhost",
	"a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q.r.s.t.u.v.w.x.y.z.example.net",
};
#define FR_NNAMES (sizeof fr_names / sizeof fr_names[0])

/* SRV targets the answers may name (wire form made by fr_name). */
static const char *const fr_targets[] = {
	"xmpp.example.net", ".", "b.test", "x.example.net", "example.net", "alt.example.net", "bad-.example",
};
#define FR_NTARGETS (sizeof fr_targets / sizeof fr_targets[0])

struct fr_question {
	xs2s_sock sock;      /* the lookup's socket that asked */
	size_t qlen;         /* header and question section */
	uint8_t q[XS2S_DNS_QUERY_MAX];
	uint16_t type;
};

struct fr_handle {
	int h;               /* resolver handle, -1 when none */
	uint32_t started;
};

static struct xs2s_resolver fr_r;
static struct fr_question fr_q[FR_QUESTIONS];
static unsigned fr_nq, fr_qnext;
static struct fr_handle fr_h[FR_HANDLES];
static bool fr_answering;
static uint8_t fr_last[FAKE_UDP_DGRAM_MAX];
static size_t fr_last_len;
static xs2s_sock fr_last_sock = XS2S_SOCK_NONE;

/* The input, read byte by byte (zeros after its end). */
static const uint8_t *fr_in;
static size_t fr_in_len, fr_pos;

static uint8_t fr_byte(void)
{
	return fr_pos < fr_in_len ? fr_in[fr_pos++] : 0;
}

static bool fr_more(void)
{
	return fr_pos < fr_in_len;
}

/* Length of the header and question section of query q (n bytes), 0 if odd. */
static size_t fr_question_len(const uint8_t *q, size_t n, uint16_t *type)
{
	size_t i = XS2S_DNS_HDR_LEN;

	while (i < n && q[i])
		i += 1u + q[i];
	if (i + 5 > n)
		return 0;
	*type = (uint16_t)(q[i + 1] << 8 | q[i + 2]);
	return i + 5;
}

static void fr_put16(uint8_t *p, unsigned v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* name in wire form at p (cap bytes): its length, 0 if it does not fit. */
static size_t fr_name(uint8_t *p, size_t cap, const char *name)
{
	size_t o = 0;

	while (*name && strcmp(name, ".")) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		if (o + 1 + n + 1 > cap)
			return 0;
		p[o++] = (uint8_t)n;
		memcpy(p + o, name, n);
		o += n;
		name += n + (dot ? 1 : 0);
	}
	if (o + 1 > cap)
		return 0;
	p[o++] = 0;
	return o;
}

/* A well-formed answer to question q into out: its length. */
static size_t fr_build(const struct fr_question *q, uint8_t *out, size_t cap, uint8_t rcode, uint8_t flags,
		       unsigned nrec, bool structured)
{
	size_t o = q->qlen, an = 0;
	unsigned i;

	memcpy(out, q->q, q->qlen);
	out[2] = (uint8_t)(0x80 | 0x01 | (flags & 0x02 ? 0x02 : 0)); /* QR, RD, TC from the input */
	out[3] = (uint8_t)(0x80 | (rcode & 0x0f));                  /* RA, rcode */
	fr_put16(out + 6, 0);
	fr_put16(out + 8, 0);
	fr_put16(out + 10, 0);
	if (!structured) {
		/* Raw answer section from the input, with a count from it. */
		size_t n = fr_byte();

		fr_put16(out + 6, nrec);
		for (i = 0; i < n && o < cap && fr_more(); i++)
			out[o++] = fr_byte();
		return o;
	}
	for (i = 0; i < nrec; i++) {
		uint8_t kind = fr_byte();
		uint16_t type = q->type;
		size_t rd;

		if (o + 12 + 300 > cap)
			break;
		/* Owner: the question name (a pointer), or a target's name. */
		if (kind & 0x80) {
			size_t n = fr_name(out + o, cap - o, fr_targets[kind % FR_NTARGETS]);

			if (!n)
				break;
			o += n;
		} else {
			fr_put16(out + o, 0xc000 | XS2S_DNS_HDR_LEN);
			o += 2;
		}
		if (kind & 0x40)
			type = XS2S_DNS_TYPE_CNAME;
		else if ((kind & 0x30) == 0x30)
			type = (uint16_t)(fr_byte() | 1); /* some other type */
		fr_put16(out + o, type);
		fr_put16(out + o + 2, (kind & 0x08) ? 3 : XS2S_DNS_CLASS_IN);
		out[o + 4] = out[o + 5] = 0;
		out[o + 6] = 0x0e;
		out[o + 7] = 0x10;
		o += 10; /* rdlength at o - 2 */
		rd = o;
		if (type == XS2S_DNS_TYPE_SRV) {
			out[o++] = 0;
			out[o++] = fr_byte() & 3;  /* priority */
			out[o++] = 0;
			out[o++] = fr_byte();      /* weight */
			fr_put16(out + o, fr_byte() & 1 ? 0 : 5269);
			o += 2;
			o += fr_name(out + o, cap - o, fr_targets[fr_byte() % FR_NTARGETS]);
		} else if (type == XS2S_DNS_TYPE_CNAME) {
			o += fr_name(out + o, cap - o, fr_targets[fr_byte() % FR_NTARGETS]);
		} else if (type == XS2S_DNS_TYPE_A) {
			unsigned k;

			for (k = 0; k < 4; k++)
				out[o++] = fr_byte();
		} else if (type == XS2S_DNS_TYPE_AAAA) {
			unsigned k;

			for (k = 0; k < 16; k++)
				out[o++] = fr_byte();
		} else {
			unsigned k, n = fr_byte() & 15;

			for (k = 0; k < n; k++)
				out[o++] = fr_byte();
		}
		fr_put16(out + rd - 2, (unsigned)(o - rd));
		an++;
	}
	fr_put16(out + 6, (unsigned)an);
	return o;
}

/* The DNS server: records every question; answers at once when told to. */
static int fr_server(void *arg, const uint8_t *req, size_t n, uint8_t *resp, size_t cap)
{
	struct fr_question *q = &fr_q[fr_qnext];
	uint16_t type = 0;
	size_t qlen = fr_question_len(req, n, &type);

	(void)arg;
	FUZZ_CHECK(qlen > 0); /* the resolver's queries are well-formed */
	q->sock = fake_udp_requester();
	q->qlen = qlen;
	q->type = type;
	memcpy(q->q, req, qlen);
	fr_qnext = (fr_qnext + 1) % FR_QUESTIONS;
	if (fr_nq < FR_QUESTIONS)
		fr_nq++;
	if (!fr_answering)
		return -1;
	/* A plain good answer: two SRV targets, or one address. */
	{
		size_t o = qlen;

		memcpy(resp, req, qlen);
		resp[2] = 0x81;
		resp[3] = 0x80;
		fr_put16(resp + 8, 0);
		fr_put16(resp + 10, 0);
		if (type == XS2S_DNS_TYPE_SRV) {
			static const char *const t[] = { "xmpp.example.net", "alt.example.net" };
			unsigned i;

			for (i = 0; i < 2; i++) {
				size_t rd;

				fr_put16(resp + o, 0xc000 | XS2S_DNS_HDR_LEN);
				fr_put16(resp + o + 2, XS2S_DNS_TYPE_SRV);
				fr_put16(resp + o + 4, XS2S_DNS_CLASS_IN);
				memset(resp + o + 6, 0, 4);
				o += 12;
				rd = o;
				fr_put16(resp + o, i);
				fr_put16(resp + o + 2, 10);
				fr_put16(resp + o + 4, 5269);
				o += 6;
				o += fr_name(resp + o, cap - o, t[i]);
				fr_put16(resp + rd - 2, (unsigned)(o - rd));
			}
			fr_put16(resp + 6, 2);
		} else {
			unsigned alen = type == XS2S_DNS_TYPE_AAAA ? 16 : 4;

			fr_put16(resp + o, 0xc000 | XS2S_DNS_HDR_LEN);
			fr_put16(resp + o + 2, type);
			fr_put16(resp + o + 4, XS2S_DNS_CLASS_IN);
			memset(resp + o + 6, 0, 4);
			fr_put16(resp + o + 10, alen);
			o += 12;
			memset(resp + o, 0, alen);
			resp[o] = alen == 4 ? 192 : 0x20;
			resp[o + 1] = alen == 4 ? 0 : 0x01;
			resp[o + alen - 1] = (uint8_t)(1 + fr_qnext);
			o += alen;
			fr_put16(resp + 6, 1);
		}
		return (int)o;
	}
}

static void fr_round(void)
{
	struct xs2s_pollfd fds[XS2S_RESOLVE_POLLFDS + 1];
	unsigned n = xs2s_resolve_pollfds(&fr_r, fds, XS2S_RESOLVE_POLLFDS);
	uint32_t now = xs2s_port_now_ms(), next;
	unsigned i;

	FUZZ_CHECK(n <= xs2s_resolve_busy(&fr_r));
	xs2s_port_poll(fds, n, 0);
	xs2s_resolve_step(&fr_r, now);
	/* A waiting query has its deadline within one try's timeout. */
	next = xs2s_resolve_next_ms(&fr_r, now);
	FUZZ_CHECK(next == UINT32_MAX || next <= CONFIG_XS2S_DNS_TIMEOUT_MS);
	FUZZ_CHECK(xs2s_resolve_busy(&fr_r) <= XS2S_RESOLVE_SLOTS);
	for (i = 0; i < FR_HANDLES; i++) {
		struct fr_handle *h = &fr_h[i];

		if (h->h < 0)
			continue;
		/* No lookup runs longer than its tries can take. */
		FUZZ_CHECK(xs2s_resolve_done(&fr_r, h->h) || now - h->started <= FR_LIFETIME_MS);
	}
}

/* The clock forward by ms, stopping at every deadline of the resolver (as
 * the engine's poll timeout does). */
static void fr_advance(uint32_t ms)
{
	while (ms) {
		uint32_t next = xs2s_resolve_next_ms(&fr_r, xs2s_port_now_ms());
		uint32_t step = next && next < ms ? next : ms;

		fake_advance(step);
		ms -= step;
		fr_round();
	}
}

static struct fr_handle *fr_pick(void)
{
	return &fr_h[fr_byte() % FR_HANDLES];
}

static void fr_result(struct fr_handle *h, unsigned room)
{
	struct xs2s_target t[CONFIG_XS2S_RESOLVE_TARGETS + 1];
	unsigned n = room, i, j;
	bool done;
	int rc;

	if (h->h < 0)
		return;
	done = xs2s_resolve_done(&fr_r, h->h);
	rc = xs2s_resolve_result(&fr_r, h->h, t, &n);
	FUZZ_CHECK(done == (rc != XS2S_EAGAIN));
	FUZZ_CHECK(rc == XS2S_EAGAIN || rc == XS2S_OK || rc == XS2S_ENOTFOUND || rc == XS2S_ETIMEDOUT);
	if (rc == XS2S_EAGAIN)
		return;
	h->h = -1;
	FUZZ_CHECK(n <= room);
	FUZZ_CHECK(rc == XS2S_OK || n == 0);
	FUZZ_CHECK(rc != XS2S_OK || room == 0 || n > 0);
	for (i = 0; i < n; i++) {
		size_t len = strnlen(t[i].addr, XS2S_ADDR_MAX);

		FUZZ_CHECK(len > 0 && len < XS2S_ADDR_MAX);
		FUZZ_CHECK(strchr(t[i].addr, '.') || strchr(t[i].addr, ':'));
		FUZZ_CHECK(t[i].port != 0);
		for (j = 0; j < i; j++)
			FUZZ_CHECK(t[j].port != t[i].port || strcmp(t[j].addr, t[i].addr));
	}
}

static void fr_answer(void)
{
	static uint8_t d[FAKE_UDP_DGRAM_MAX];
	const struct fr_question *q;
	uint8_t which = fr_byte(), flags = fr_byte(), nrec = fr_byte();
	size_t n;

	if (!fr_nq)
		return;
	q = &fr_q[(fr_qnext + FR_QUESTIONS - 1 - which % fr_nq) % FR_QUESTIONS];
	/* flags: bits 0 raw section, 1 TC, 2 wrong id, 3 not a response,
	 * 4-7 rcode (FORMERR, SERVFAIL, NXDOMAIN... as the input says). */
	n = fr_build(q, d, sizeof d - 64, (uint8_t)(flags >> 4 & 0x0f), flags, nrec & 7, !(flags & 1));
	if (flags & 4)
		d[1] ^= 0x5a;
	if (flags & 8)
		d[2] &= 0x7f;
	memcpy(fr_last, d, n);
	fr_last_len = n;
	fr_last_sock = q->sock;
	(void)fake_udp_inject(q->sock, d, n); /* lost when the lookup's socket is gone */
}

static void fr_start(void)
{
	struct fr_handle *h = fr_pick();
	const char *name = fr_names[fr_byte() % FR_NNAMES];
	int rc;

	if (h->h >= 0)
		fr_result(h, CONFIG_XS2S_RESOLVE_TARGETS);
	if (h->h >= 0)
		return; /* still running: keep it */
	rc = xs2s_resolve_start(&fr_r, name);
	FUZZ_CHECK(rc >= 0 || rc == XS2S_ENOMEM || rc == XS2S_EINVAL);
	FUZZ_CHECK(rc != XS2S_ENOMEM || xs2s_resolve_busy(&fr_r) == XS2S_RESOLVE_SLOTS);
	FUZZ_CHECK(rc != XS2S_EINVAL || !name[0] || strstr(name, ".."));
	if (rc >= 0) {
		h->h = rc;
		h->started = xs2s_port_now_ms();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	unsigned i, ops;

	if (len < 1)
		return 0;
	fr_in = data + 1;
	fr_in_len = len - 1;
	fr_pos = 0;
	fr_nq = fr_qnext = 0;
	fr_last_len = 0;
	fr_last_sock = XS2S_SOCK_NONE;
	fr_answering = data[0] & 1;
	for (i = 0; i < FR_HANDLES; i++)
		fr_h[i].h = -1;
	fake_reset(0x1234u + data[0], FAKE_WHOLE, 1);
	FUZZ_CHECK(fake_udp_serve(FR_SERVER_PORT, fr_server, NULL) == XS2S_OK);
	FUZZ_CHECK(xs2s_resolve_init(&fr_r, "b.test=192.0.2.2:5269", FR_SERVER) == XS2S_OK);
	for (ops = 0; ops < FR_OPS && fr_more(); ops++) {
		uint8_t op = fr_byte();

		switch (op & 7) {
		case 0:
			fr_start();
			break;
		case 1:
			fr_answer();
			break;
		case 2: {
			uint32_t ms = (uint32_t)fr_byte() << 8 | fr_byte();
			uint32_t next = xs2s_resolve_next_ms(&fr_r, xs2s_port_now_ms());

			fr_advance(ms ? ms : next == UINT32_MAX ? 1 : next);
			break;
		}
		case 3:
			fr_result(fr_pick(), fr_byte() % (CONFIG_XS2S_RESOLVE_TARGETS + 1));
			break;
		case 4: {
			struct fr_handle *h = fr_pick();

			if (h->h >= 0) {
				xs2s_resolve_cancel(&fr_r, h->h);
				FUZZ_CHECK(xs2s_resolve_done(&fr_r, h->h)); /* a stale handle */
				h->h = -1;
			}
			break;
		}
		case 5:
			fr_answering = fr_byte() & 1;
			break;
		case 6:
			fr_round();
			fr_round();
			break;
		case 7:
			if (fr_last_len)
				(void)fake_udp_inject(fr_last_sock, fr_last, fr_last_len);
			break;
		}
		fr_round();
	}
	/* The end: the clock runs out every lookup, then every result is taken. */
	fr_answering = false;
	for (i = 0; i < 64 && xs2s_resolve_next_ms(&fr_r, xs2s_port_now_ms()) != UINT32_MAX; i++) {
		fake_advance(xs2s_resolve_next_ms(&fr_r, xs2s_port_now_ms()));
		fr_round();
	}
	for (i = 0; i < FR_HANDLES; i++) {
		if (fr_h[i].h >= 0)
			FUZZ_CHECK(xs2s_resolve_done(&fr_r, fr_h[i].h));
		fr_result(&fr_h[i], CONFIG_XS2S_RESOLVE_TARGETS);
	}
	FUZZ_CHECK(xs2s_resolve_busy(&fr_r) == 0);
	FUZZ_CHECK(fake_open_engine() == 0);
	FUZZ_CHECK(fake_violations(NULL) == 0);
	return 0;
}

#else /* !CONFIG_XS2S_DNS: nothing to fuzz in this build */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	(void)data;
	(void)len;
	return 0;
}

#endif
