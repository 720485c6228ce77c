/* The resolver state machine (firmware/resolve/resolve.c) against a fake DNS server
 * run inside the test on a loopback UDP socket. Time is virtual: the test
 * passes its own clock to xs2s_resolve_step(), so retransmissions and
 * timeouts are exercised without waiting for them.
 *
 * A round is: the resolver steps (reads answers, fires timers), then the
 * fake server answers every query waiting for it (loopback UDP delivers at
 * once), then the clock moves on by the round's advance.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "resolve/resolve.h"
#include "resolve/dns.h"

#define MAX_ROUNDS 64
#define QNAME_MAX 300
#define FLAGS_RESP 0x8180u
#define RCODE_FORMERR 1
#define RCODE_SERVFAIL 2
#define RCODE_NXDOMAIN 3
#define FLAG_TC 0x0200u
#define TRIES (1 + CONFIG_XS2S_DNS_RETRIES)
#define K CONFIG_XS2S_RESOLVE_TARGETS
#define LOG_MAX 64
/* SRV queries a lookup sends: _xmpp-server, and _xmpps-server with XEP-0368. */
#if CONFIG_XS2S_DIRECT_TLS
#define SRV_QUERIES 2
#else
#define SRV_QUERIES 1
#endif

/* ---- the fake server ---- */

struct fq {                 /* one query as the fake server saw it */
	uint16_t id;
	char name[QNAME_MAX];
	uint16_t type;
	int edns;               /* carried an OPT record */
	const uint8_t *question; /* the question bytes, to echo */
	size_t qlen;
};

struct mb {
	uint8_t b[XS2S_DNS_UDP_MAX];
	size_t len;
};

/* Fill r with the answer to q and return 1, or return 0 to drop q. */
typedef int (*zone_fn)(const struct fq *q, struct mb *r);

static struct xs2s_resolver res; /* the resolver under test, set up per test */
static int fake_fd = -1;
static zone_fn fake_zone;
static struct {             /* every query received, in order */
	char name[QNAME_MAX];
	uint16_t type;
	uint16_t id;
	int edns;
} fake_log[LOG_MAX];
static unsigned fake_nlog;

static void mb_u8(struct mb *m, unsigned v)
{
	assert_true(m->len < sizeof m->b);
	m->b[m->len++] = (uint8_t)v;
}

static void mb_u16(struct mb *m, unsigned v)
{
	mb_u8(m, v >> 8);
	mb_u8(m, v & 0xff);
}

static void mb_name(struct mb *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		mb_u8(m, (unsigned)n);
		memcpy(m->b + m->len, name, n);
		m->len += n;
		name += n + (dot ? 1 : 0);
	}
	mb_u8(m, 0);
}

/* Header and echoed question of an answer to q with ancount records. */
static void answer(struct mb *r, const struct fq *q, unsigned flags, unsigned ancount)
{
	r->len = 0;
	mb_u16(r, q->id);
	mb_u16(r, FLAGS_RESP | flags);
	mb_u16(r, 1);
	mb_u16(r, ancount);
	mb_u16(r, 0);
	mb_u16(r, 0);
	memcpy(r->b + r->len, q->question, q->qlen);
	r->len += q->qlen;
}

/* A record owned by the question name: its data comes next. */
static size_t rr_head(struct mb *r, unsigned type)
{
	size_t at;

	mb_u16(r, 0xc000u | XS2S_DNS_HDR_LEN);
	mb_u16(r, type);
	mb_u16(r, XS2S_DNS_CLASS_IN);
	mb_u16(r, 0);
	mb_u16(r, 60);
	at = r->len;
	mb_u16(r, 0);
	return at;
}

static void rr_end(struct mb *r, size_t at)
{
	size_t n = r->len - at - 2;

	r->b[at] = (uint8_t)(n >> 8);
	r->b[at + 1] = (uint8_t)n;
}

static void add_a(struct mb *r, const char *text)
{
	size_t at = rr_head(r, XS2S_DNS_TYPE_A);

	assert_int_equal(inet_pton(AF_INET, text, r->b + r->len), 1);
	r->len += 4;
	rr_end(r, at);
}

static void add_aaaa(struct mb *r, const char *text)
{
	size_t at = rr_head(r, XS2S_DNS_TYPE_AAAA);

	assert_int_equal(inet_pton(AF_INET6, text, r->b + r->len), 1);
	r->len += 16;
	rr_end(r, at);
}

static void add_srv(struct mb *r, unsigned prio, unsigned weight, unsigned port, const char *target)
{
	size_t at = rr_head(r, XS2S_DNS_TYPE_SRV);

	mb_u16(r, prio);
	mb_u16(r, weight);
	mb_u16(r, port);
	mb_name(r, target);
	rr_end(r, at);
}

/* Parse a query datagram (the resolver's own: trusted to be well-formed). */
static void fake_parse(const uint8_t *p, size_t n, struct fq *q)
{
	size_t o = XS2S_DNS_HDR_LEN, t = 0;

	assert_true(n > XS2S_DNS_HDR_LEN);
	q->id = (uint16_t)(p[0] << 8 | p[1]);
	assert_int_equal(p[2] & 0x80, 0);              /* a query */
	assert_int_equal(p[4] << 8 | p[5], 1);         /* one question */
	while (p[o]) {
		if (t)
			q->name[t++] = '.';
		memcpy(q->name + t, p + o + 1, p[o]);
		t += p[o];
		o += 1u + p[o];
	}
	q->name[t] = '\0';
	o++;
	q->type = (uint16_t)(p[o] << 8 | p[o + 1]);
	assert_int_equal(p[o + 2] << 8 | p[o + 3], XS2S_DNS_CLASS_IN);
	q->question = p + XS2S_DNS_HDR_LEN;
	q->qlen = o + 4 - XS2S_DNS_HDR_LEN;
	q->edns = (p[10] << 8 | p[11]) == 1;
	assert_int_equal(n, o + 4 + (q->edns ? XS2S_DNS_OPT_LEN : 0));
}

/* Answer every waiting query per the zone. */
static void fake_serve(void)
{
	uint8_t buf[XS2S_DNS_QUERY_MAX + 16];
	struct sockaddr_storage from;
	socklen_t flen = sizeof from;
	ssize_t n;

	while ((n = recvfrom(fake_fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &flen)) > 0) {
		static struct mb r;
		struct fq q;

		fake_parse(buf, (size_t)n, &q);
		assert_true(fake_nlog < LOG_MAX);
		snprintf(fake_log[fake_nlog].name, QNAME_MAX, "%s", q.name);
		fake_log[fake_nlog].type = q.type;
		fake_log[fake_nlog].id = q.id;
		fake_log[fake_nlog].edns = q.edns;
		fake_nlog++;
		if (fake_zone && fake_zone(&q, &r))
			assert_int_equal(sendto(fake_fd, r.b, r.len, 0, (struct sockaddr *)&from, flen), (ssize_t)r.len);
		flen = sizeof from;
	}
}

/* Queries of (name, type) the fake server received. */
static unsigned fake_seen(const char *name, uint16_t type)
{
	unsigned i, n = 0;

	for (i = 0; i < fake_nlog; i++)
		n += !strcmp(fake_log[i].name, name) && fake_log[i].type == type;
	return n;
}

/* Index in the log of the k-th query (from 0) of (name, type); fails when there is none. */
static unsigned fake_nth(const char *name, uint16_t type, unsigned k)
{
	unsigned i;

	for (i = 0; i < fake_nlog; i++)
		if (!strcmp(fake_log[i].name, name) && fake_log[i].type == type && !k--)
			return i;
	fail_msg("no query %s type %u number %u", name, type, k);
	return 0;
}

static int setup(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	char server[32];

	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fake_fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(fake_fd >= 0);
	assert_int_equal(bind(fake_fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(getsockname(fake_fd, (struct sockaddr *)&a, &len), 0);
	snprintf(server, sizeof server, "127.0.0.1:%u", ntohs(a.sin_port));
	assert_int_equal(xs2s_resolve_init(&res, NULL, server), XS2S_OK);
	fake_zone = NULL;
	fake_nlog = 0;
	return 0;
}

/* Leak gate: no lookup left running (each holds a slot and a socket). */
static int teardown(void **state)
{
	unsigned busy = xs2s_resolve_busy(&res);
	struct xs2s_pollfd fds[XS2S_RESOLVE_POLLFDS + 1];

	(void)state;
	close(fake_fd);
	fake_fd = -1;
	if (busy || xs2s_resolve_pollfds(&res, fds, XS2S_RESOLVE_POLLFDS + 1)) {
		print_error("%u lookups left running\n", busy);
		return -1;
	}
	return 0;
}

/* ---- driving the resolver ---- */

static uint32_t vnow; /* the virtual clock */

/* Run rounds until h has a result (or MAX_ROUNDS pass): the result. */
static int pump(int h, struct xs2s_target *t, unsigned *n, uint32_t advance)
{
	unsigned round;
	unsigned cap = *n;

	for (round = 0; round < MAX_ROUNDS; round++) {
		int rc;

		xs2s_resolve_step(&res, vnow);
		*n = cap;
		rc = xs2s_resolve_result(&res, h, t, n);
		if (rc != XS2S_EAGAIN)
			return rc;
		fake_serve();
		vnow += advance;
	}
	fail_msg("no result after %u rounds", MAX_ROUNDS);
	return XS2S_EAGAIN;
}

/* Start a lookup of domain and run it to its result. */
static int lookup(const char *domain, struct xs2s_target *t, unsigned *n, uint32_t advance)
{
	int h;

	vnow = xs2s_port_now_ms();
	h = xs2s_resolve_start(&res, domain);
	assert_true(h >= 0);
	return pump(h, t, n, advance);
}

static void assert_target(const struct xs2s_target *t, const char *addr, uint16_t port)
{
	assert_string_equal(t->addr, addr);
	assert_int_equal(t->port, port);
}

/* ---- zones ---- */

/* _xmpp-server._tcp.srv.example: near (priority 5) and far (priority 10). */
static int zone_srv(const struct fq *q, struct mb *r)
{
	if (!strcmp(q->name, "_xmpp-server._tcp.srv.example") && q->type == XS2S_DNS_TYPE_SRV) {
		answer(r, q, 0, 2);
		add_srv(r, 10, 0, 5270, "far.srv.example");
		add_srv(r, 5, 0, 5269, "near.srv.example");
	} else if (!strcmp(q->name, "near.srv.example") && q->type == XS2S_DNS_TYPE_AAAA) {
		answer(r, q, 0, 1);
		add_aaaa(r, "2001:db8::1");
	} else if (!strcmp(q->name, "near.srv.example") && q->type == XS2S_DNS_TYPE_A) {
		answer(r, q, 0, 2);
		add_a(r, "192.0.2.1");
		add_a(r, "192.0.2.2");
	} else if (!strcmp(q->name, "far.srv.example") && q->type == XS2S_DNS_TYPE_A) {
		answer(r, q, 0, 2);
		add_a(r, "192.0.2.3");
		add_a(r, "192.0.2.4");
	} else {
		answer(r, q, 0, 0); /* NODATA */
	}
	return 1;
}

/* plain.test: no SRV (NXDOMAIN, NODATA or SERVFAIL per plain_srv_flags),
 * one A record. */
static unsigned plain_srv_flags;
static int zone_plain(const struct fq *q, struct mb *r)
{
	if (q->type == XS2S_DNS_TYPE_SRV) {
		answer(r, q, plain_srv_flags, 0);
	} else if (!strcmp(q->name, "plain.test") && q->type == XS2S_DNS_TYPE_A) {
		answer(r, q, 0, 1);
		add_a(r, "192.0.2.7");
	} else {
		answer(r, q, 0, 0);
	}
	return 1;
}

/* ---- tests ---- */

static void test_hostmap_answers_first(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;
	int h;

	(void)state;
	fake_zone = zone_srv;
	assert_int_equal(xs2s_resolve_map_add(&res, "mapped.test=192.0.2.99:5999"), XS2S_OK);
	h = xs2s_resolve_start(&res, "mapped.test");
	assert_true(h >= 0);
	assert_true(xs2s_resolve_done(&res, h));
	assert_int_equal(xs2s_resolve_result(&res, h, t, &n), XS2S_OK);
	assert_int_equal(n, 1);
	assert_target(&t[0], "192.0.2.99", 5999);
	assert_int_equal(xs2s_resolve_result(&res, h, t, &n), XS2S_EINVAL); /* the handle is free again */
	fake_serve();
	assert_int_equal(fake_nlog, 0); /* nothing asked */
	/* The map answers again (the blocking xs2s_resolve() is gone: every
	 * lookup goes through a slot, the map answering on the first result). */
	n = K;
	h = xs2s_resolve_start(&res, "mapped.test");
	assert_true(h >= 0);
	assert_int_equal(xs2s_resolve_busy(&res), 1);
	assert_int_equal(xs2s_resolve_result(&res, h, t, &n), XS2S_OK);
	assert_int_equal(n, 1);
	assert_target(&t[0], "192.0.2.99", 5999);
	assert_int_equal(xs2s_resolve_busy(&res), 0);
	fake_serve();
	assert_int_equal(fake_nlog, 0);
}

/* The map as the engine's configuration gives it (host_map), after
 * CONFIG_XS2S_HOST_MAP; the port defaults to 5269. */
static void test_hostmap_from_config(void **state)
{
	static struct xs2s_resolver r2;
	struct xs2s_target t[K];
	char entry[XS2S_DOMAIN_MAX + 32], dom[XS2S_DOMAIN_MAX + 2];
	unsigned n = K, i;
	int h;

	(void)state;
	assert_int_equal(xs2s_resolve_init(&r2, "  one.test=192.0.2.1:1111\ttwo.test=[2001:db8::2]:2222 "
					   "three.test=192.0.2.3 ", "127.0.0.1:9"), XS2S_OK);
	h = xs2s_resolve_start(&r2, "two.test");
	assert_int_equal(xs2s_resolve_result(&r2, h, t, &n), XS2S_OK);
	assert_target(&t[0], "2001:db8::2", 2222);
	n = K;
	h = xs2s_resolve_start(&r2, "three.test");
	assert_int_equal(xs2s_resolve_result(&r2, h, t, &n), XS2S_OK);
	assert_target(&t[0], "192.0.2.3", XS2S_XMPP_SERVER_PORT);
	n = K;
	h = xs2s_resolve_start(&r2, "one.test");
	assert_int_equal(xs2s_resolve_result(&r2, h, t, &n), XS2S_OK);
	assert_target(&t[0], "192.0.2.1", 1111);
	/* No room asked for: OK with no candidate. */
	n = 0;
	h = xs2s_resolve_start(&r2, "one.test");
	assert_int_equal(xs2s_resolve_result(&r2, h, t, &n), XS2S_OK);
	assert_int_equal(n, 0);
	/* Bad entries refuse the whole configuration. */
	assert_int_equal(xs2s_resolve_init(&r2, "one.test", NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_init(&r2, "=192.0.2.1:1", NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_init(&r2, "a@b=192.0.2.1:1", NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_init(&r2, "ok.test=192.0.2.1:1 bad.test=192.0.2.1:0", NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_map_add(&r2, "x.test=[2001:db8::1"), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_map_add(&r2, "x.test=[2001:db8::1]5269"), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_map_add(&r2, "x.test=192.0.2.1:65536"), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_map_add(&r2, "x.test=192.0.2.1:12x"), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_map_add(&r2, "x.test="), XS2S_EINVAL);
	memset(dom, 'a', XS2S_DOMAIN_MAX + 1);
	dom[XS2S_DOMAIN_MAX + 1] = '\0';
	snprintf(entry, sizeof entry, "%s=192.0.2.1:1", dom);
	assert_int_equal(xs2s_resolve_map_add(&r2, entry), XS2S_EINVAL);
	/* The map is bounded. */
	assert_int_equal(xs2s_resolve_init(&r2, NULL, NULL), XS2S_OK);
	for (i = r2.nmap; i < XS2S_HOSTMAP_ENTRIES; i++) {
		snprintf(entry, sizeof entry, "h%u.test=192.0.2.%u:5269", i, i + 1);
		assert_int_equal(xs2s_resolve_map_add(&r2, entry), XS2S_OK);
	}
	assert_int_equal(xs2s_resolve_map_add(&r2, "more.test=192.0.2.200:1"), XS2S_EINVAL);
	assert_int_equal(r2.nmap, XS2S_HOSTMAP_ENTRIES);
	assert_int_equal(xs2s_resolve_busy(&r2), 0);
}

static void test_nodata_everywhere(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;

	(void)state;
	fake_zone = zone_srv; /* NODATA for any other name */
	assert_int_equal(lookup("empty.example", t, &n, 0), XS2S_ENOTFOUND);
	assert_int_equal(n, 0);
	assert_int_equal(fake_seen("_xmpp-server._tcp.empty.example", XS2S_DNS_TYPE_SRV), 1);
	assert_int_equal(fake_seen("empty.example", XS2S_DNS_TYPE_A), 1);
	assert_int_equal(fake_seen("empty.example", XS2S_DNS_TYPE_AAAA), 1);
}

static void test_srv_order_and_interleave(void **state)
{
	struct xs2s_target t[K + 2];
	unsigned n = K + 2;

	(void)state;
	fake_zone = zone_srv;
	assert_int_equal(lookup("srv.example", t, &n, 0), XS2S_OK);
	/* near (priority 5) first, IPv6 then IPv4 alternating; far after; cut at K. */
	assert_int_equal(n, K);
	assert_target(&t[0], "2001:db8::1", 5269);
	assert_target(&t[1], "192.0.2.1", 5269);
	assert_target(&t[2], "192.0.2.2", 5269);
	assert_target(&t[3], "192.0.2.3", 5270);
	assert_int_equal(fake_seen("_xmpp-server._tcp.srv.example", XS2S_DNS_TYPE_SRV), 1);
	assert_int_equal(fake_seen("near.srv.example", XS2S_DNS_TYPE_AAAA), 1);
	assert_int_equal(fake_seen("near.srv.example", XS2S_DNS_TYPE_A), 1);
	assert_int_equal(fake_seen("far.srv.example", XS2S_DNS_TYPE_A), 1);
	assert_int_equal(fake_seen("far.srv.example", XS2S_DNS_TYPE_AAAA), 1);
	/* Every query asks with EDNS(0) and its own id. */
	for (unsigned i = 0; i < fake_nlog; i++) {
		assert_true(fake_log[i].edns);
		for (unsigned j = 0; j < i; j++)
			if (fake_log[j].id == fake_log[i].id)
				fail_msg("query %u reuses the id of query %u", i, j);
	}
	/* A smaller list: the head of the same order. */
	fake_nlog = 0;
	n = 2;
	assert_int_equal(lookup("srv.example", t, &n, 0), XS2S_OK);
	assert_int_equal(n, 2);
	assert_target(&t[0], "2001:db8::1", 5269);
	assert_target(&t[1], "192.0.2.1", 5269);
}

static void test_fallback_without_srv(void **state)
{
	static const unsigned srv_flags[] = { RCODE_NXDOMAIN, 0, RCODE_SERVFAIL, FLAG_TC };
	struct xs2s_target t[K];
	unsigned i, n;

	(void)state;
	fake_zone = zone_plain;
	for (i = 0; i < sizeof srv_flags / sizeof srv_flags[0]; i++) {
		plain_srv_flags = srv_flags[i];
		fake_nlog = 0;
		n = K;
		assert_int_equal(lookup("plain.test", t, &n, 0), XS2S_OK);
		assert_int_equal(n, 1);
		assert_target(&t[0], "192.0.2.7", XS2S_XMPP_SERVER_PORT);
		assert_false(t[0].direct_tls); /* RFC 6120 3.2.2: the fallback is STARTTLS on 5269 */
		assert_int_equal(fake_seen("plain.test", XS2S_DNS_TYPE_A), 1);
		assert_int_equal(fake_seen("plain.test", XS2S_DNS_TYPE_AAAA), 1);
	}
	/* Nothing at all: not found. */
	n = K;
	plain_srv_flags = RCODE_NXDOMAIN;
	assert_int_equal(lookup("nothing.test", t, &n, 0), XS2S_ENOTFOUND);
	assert_int_equal(n, 0);
}

static int zone_root_target(const struct fq *q, struct mb *r)
{
	if (q->type == XS2S_DNS_TYPE_SRV) {
		answer(r, q, 0, 1);
		add_srv(r, 0, 0, 0, "");
	} else {
		answer(r, q, 0, 1);
		add_a(r, "192.0.2.8");
	}
	return 1;
}

static void test_root_target_no_service(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;

	(void)state;
	fake_zone = zone_root_target;
	assert_int_equal(lookup("noxmpp.test", t, &n, 0), XS2S_ENOTFOUND);
	/* The SRV queries only (_xmpp-server, and _xmpps-server with XEP-0368):
	 * no fallback to the address records. */
	assert_int_equal(fake_nlog, SRV_QUERIES);
	assert_int_equal(fake_seen("_xmpp-server._tcp.noxmpp.test", XS2S_DNS_TYPE_SRV), 1);
	assert_int_equal(fake_seen("noxmpp.test", XS2S_DNS_TYPE_A), 0);
}

/* Drops the first datagram it receives, answers the rest like zone_plain. */
static int zone_lose_first(const struct fq *q, struct mb *r)
{
	return fake_nlog == 1 ? 0 : zone_plain(q, r);
}

static void test_lost_packet_retried(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;
	uint32_t start;

	(void)state;
	fake_zone = zone_lose_first;
	plain_srv_flags = RCODE_NXDOMAIN;
	start = xs2s_port_now_ms();
	assert_int_equal(lookup("plain.test", t, &n, CONFIG_XS2S_DNS_TIMEOUT_MS), XS2S_OK);
	assert_int_equal(n, 1);
	assert_target(&t[0], "192.0.2.7", XS2S_XMPP_SERVER_PORT);
	assert_int_equal(fake_seen("_xmpp-server._tcp.plain.test", XS2S_DNS_TYPE_SRV), 2);
	assert_int_equal(fake_nth("_xmpp-server._tcp.plain.test", XS2S_DNS_TYPE_SRV, 0), 0); /* the one lost */
	assert_int_equal(fake_log[0].id, fake_log[fake_nth("_xmpp-server._tcp.plain.test", XS2S_DNS_TYPE_SRV, 1)].id);
	assert_true(vnow - start >= CONFIG_XS2S_DNS_TIMEOUT_MS);
}

static void test_timeout(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;
	uint32_t start;
	struct xs2s_pollfd fds[XS2S_RESOLVE_POLLFDS];
	int h;

	(void)state;
	fake_zone = NULL; /* a server that never answers */
	vnow = start = xs2s_port_now_ms();
	h = xs2s_resolve_start(&res, "silent.test");
	assert_true(h >= 0);
	assert_false(xs2s_resolve_done(&res, h));
	/* The engine hooks: one socket to watch, a deadline one timeout away. */
	assert_int_equal(xs2s_resolve_pollfds(&res, fds, XS2S_RESOLVE_POLLFDS), 1);
	assert_int_equal(fds[0].want, XS2S_POLL_IN);
	assert_int_equal(xs2s_resolve_pollfds(&res, fds, 0), 0);
	assert_true(xs2s_resolve_next_ms(&res, vnow) <= CONFIG_XS2S_DNS_TIMEOUT_MS);
	assert_true(xs2s_resolve_next_ms(&res, vnow) > CONFIG_XS2S_DNS_TIMEOUT_MS / 2);
	assert_int_equal(xs2s_resolve_next_ms(&res, vnow + CONFIG_XS2S_DNS_TIMEOUT_MS), 0);
	assert_int_equal(pump(h, t, &n, CONFIG_XS2S_DNS_TIMEOUT_MS), XS2S_ETIMEDOUT);
	assert_int_equal(n, 0);
	assert_int_equal(fake_seen("_xmpp-server._tcp.silent.test", XS2S_DNS_TYPE_SRV), TRIES);
	assert_int_equal(fake_nlog, TRIES * SRV_QUERIES); /* both services asked TRIES times, nothing else */
	assert_true(vnow - start >= (uint32_t)TRIES * CONFIG_XS2S_DNS_TIMEOUT_MS);
	/* Done: nothing left to watch or wait for. */
	assert_int_equal(xs2s_resolve_pollfds(&res, fds, XS2S_RESOLVE_POLLFDS), 0);
	assert_int_equal(xs2s_resolve_next_ms(&res, vnow), UINT32_MAX);
}

/* Nothing listens on the server's port: ICMP errors end each try at once,
 * the lookup times out without waiting for the timers. */
static void test_refused_server(void **state)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	socklen_t len = sizeof a;
	struct xs2s_target t[K];
	unsigned n = K;
	char server[32];
	uint32_t start;

	(void)state;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(getsockname(fake_fd, (struct sockaddr *)&a, &len), 0);
	close(fake_fd); /* the port is now closed */
	fake_fd = socket(AF_INET, SOCK_DGRAM, 0);
	snprintf(server, sizeof server, "127.0.0.1:%u", ntohs(a.sin_port));
	assert_int_equal(xs2s_resolve_init(&res, NULL, server), XS2S_OK);
	start = xs2s_port_now_ms();
	assert_int_equal(lookup("refused.test", t, &n, 0), XS2S_ETIMEDOUT);
	assert_int_equal(n, 0);
	assert_true(vnow - start < CONFIG_XS2S_DNS_TIMEOUT_MS); /* the virtual clock did not move */
}

/* AAAA queries are never answered; A ones are. */
static int zone_no_aaaa(const struct fq *q, struct mb *r)
{
	return q->type == XS2S_DNS_TYPE_AAAA ? 0 : zone_plain(q, r);
}

static void test_partial_timeout_keeps_addresses(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;

	(void)state;
	fake_zone = zone_no_aaaa;
	plain_srv_flags = RCODE_NXDOMAIN;
	assert_int_equal(lookup("plain.test", t, &n, CONFIG_XS2S_DNS_TIMEOUT_MS), XS2S_OK);
	assert_int_equal(n, 1);
	assert_target(&t[0], "192.0.2.7", XS2S_XMPP_SERVER_PORT);
	assert_int_equal(fake_seen("plain.test", XS2S_DNS_TYPE_AAAA), TRIES);
}

/* Answers that are not the answer: from a stranger's port (the connected
 * socket drops it), with a wrong id, for another question, garbage. */
static void test_wrong_answers_ignored(void **state)
{
	struct xs2s_target t[K];
	struct xs2s_pollfd fds[XS2S_RESOLVE_POLLFDS];
	struct sockaddr_in me;
	socklen_t len = sizeof me;
	unsigned n = K;
	int h, round, spoof_fd;
	struct mb r;
	struct fq q;
	uint8_t buf[XS2S_DNS_QUERY_MAX + 16];
	struct sockaddr_storage from;
	socklen_t flen = sizeof from;
	ssize_t got;

	(void)state;
	vnow = xs2s_port_now_ms();
	h = xs2s_resolve_start(&res, "plain.test");
	assert_true(h >= 0);
	assert_int_equal(xs2s_resolve_pollfds(&res, fds, XS2S_RESOLVE_POLLFDS), 1);
	assert_int_equal(getsockname(fds[0].sock, (struct sockaddr *)&me, &len), 0);
	got = recvfrom(fake_fd, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	assert_true(got > 0);
	fake_parse(buf, (size_t)got, &q);
	assert_int_equal(q.type, XS2S_DNS_TYPE_SRV);
	/* 1. a stranger (another port) answers correctly: the connected socket drops it. */
	spoof_fd = socket(AF_INET, SOCK_DGRAM, 0);
	answer(&r, &q, 0, 1);
	add_srv(&r, 0, 0, 5269, "evil.test");
	assert_true(sendto(spoof_fd, r.b, r.len, 0, (struct sockaddr *)&me, sizeof me) > 0);
	/* 2. the server answers with a wrong id, 3. for another question. */
	q.id ^= 0x5a5a;
	answer(&r, &q, 0, 1);
	add_srv(&r, 0, 0, 5269, "evil.test");
	q.id ^= 0x5a5a;
	assert_true(sendto(fake_fd, r.b, r.len, 0, (struct sockaddr *)&from, flen) > 0);
	{
		struct mb w;
		struct fq other = q;
		uint8_t qb[XS2S_DNS_QUERY_MAX];
		int qn = xs2s_dns_query(qb, sizeof qb, q.id, "_xmpp-server._tcp.evil.test", XS2S_DNS_TYPE_SRV, 0);

		other.question = qb + XS2S_DNS_HDR_LEN;
		other.qlen = (size_t)qn - XS2S_DNS_HDR_LEN;
		answer(&w, &other, 0, 1);
		add_srv(&w, 0, 0, 5269, "evil.test");
		assert_true(sendto(fake_fd, w.b, w.len, 0, (struct sockaddr *)&from, flen) > 0);
	}
	/* 4. garbage. */
	assert_true(sendto(fake_fd, "\x01", 1, 0, (struct sockaddr *)&from, flen) > 0);
	for (round = 0; round < 4; round++) {
		xs2s_resolve_step(&res, vnow);
		assert_false(xs2s_resolve_done(&res, h));
	}
	/* The real answer still works. */
	fake_zone = zone_plain;
	plain_srv_flags = RCODE_NXDOMAIN;
	{
		struct mb good;

		answer(&good, &q, RCODE_NXDOMAIN, 0);
		assert_true(sendto(fake_fd, good.b, good.len, 0, (struct sockaddr *)&from, flen) > 0);
	}
	assert_int_equal(pump(h, t, &n, 0), XS2S_OK);
	assert_target(&t[0], "192.0.2.7", XS2S_XMPP_SERVER_PORT);
	assert_int_equal(fake_seen("evil.test", XS2S_DNS_TYPE_A), 0);
	close(spoof_fd);
}

/* Refuses EDNS(0) with a question-less FORMERR, like pre-EDNS servers. */
static int zone_no_edns(const struct fq *q, struct mb *r)
{
	if (q->edns) {
		answer(r, q, RCODE_FORMERR, 0);
		r->b[5] = 0;                   /* QDCOUNT 0 */
		r->len = XS2S_DNS_HDR_LEN;     /* no question */
		return 1;
	}
	return zone_plain(q, r);
}

static void test_formerr_retries_without_edns(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;

	(void)state;
	fake_zone = zone_no_edns;
	plain_srv_flags = RCODE_NXDOMAIN;
	assert_int_equal(lookup("plain.test", t, &n, 0), XS2S_OK);
	assert_target(&t[0], "192.0.2.7", XS2S_XMPP_SERVER_PORT);
	assert_int_equal(fake_seen("_xmpp-server._tcp.plain.test", XS2S_DNS_TYPE_SRV), 2);
	assert_true(fake_log[fake_nth("_xmpp-server._tcp.plain.test", XS2S_DNS_TYPE_SRV, 0)].edns);
	assert_false(fake_log[fake_nth("_xmpp-server._tcp.plain.test", XS2S_DNS_TYPE_SRV, 1)].edns);
}

static void test_slots_and_handles(void **state)
{
	int h[CONFIG_XS2S_DNS_QUERIES], extra, i;
	struct xs2s_pollfd fds[XS2S_RESOLVE_POLLFDS];
	struct xs2s_target t[K];
	unsigned n = K;

	(void)state;
	fake_zone = NULL;
	for (i = 0; i < CONFIG_XS2S_DNS_QUERIES; i++) {
		h[i] = xs2s_resolve_start(&res, "silent.test");
		assert_true(h[i] >= 0);
	}
	assert_int_equal(xs2s_resolve_start(&res, "silent.test"), XS2S_ENOMEM);
	xs2s_resolve_cancel(&res, h[0]);
	assert_int_equal(xs2s_resolve_result(&res, h[0], t, &n), XS2S_EINVAL);
	extra = xs2s_resolve_start(&res, "silent.test");
	assert_true(extra >= 0);
	assert_true(extra != h[0]); /* same slot, new generation */
	xs2s_resolve_cancel(&res, h[0]);  /* stale: must not cancel the new lookup */
	assert_false(xs2s_resolve_done(&res, extra));
	xs2s_resolve_cancel(&res, extra);
	for (i = 1; i < CONFIG_XS2S_DNS_QUERIES; i++)
		xs2s_resolve_cancel(&res, h[i]);
	assert_int_equal(xs2s_resolve_pollfds(&res, fds, XS2S_RESOLVE_POLLFDS), 0);
	/* Bad input. */
	assert_int_equal(xs2s_resolve_start(&res, ""), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_start(&res, "a..b"), XS2S_EINVAL);
	assert_int_equal(xs2s_resolve_result(&res, -1, t, &n), XS2S_EINVAL);
	assert_true(xs2s_resolve_done(&res, -1));
	{
		static struct xs2s_resolver bad;

		assert_int_equal(xs2s_resolve_init(&bad, NULL, "[::1"), XS2S_EINVAL);
		assert_int_equal(xs2s_resolve_init(&bad, NULL, "127.0.0.1:0"), XS2S_EINVAL);
		assert_int_equal(xs2s_resolve_init(&bad, NULL, "127.0.0.1:99999"), XS2S_EINVAL);
	}
}

#if CONFIG_XS2S_DIRECT_TLS
/* ---- XEP-0368: _xmpps-server next to _xmpp-server ---- */

/* mix.test: STARTTLS targets at priorities 5 and 10, direct TLS ones at 5
 * and 20, each host with one address (192.0.2.<n> where the name is h<n>);
 * the behaviour of each service is set per test. */
enum svc_mode { SVC_RECORDS, SVC_NXDOMAIN, SVC_DOT, SVC_SILENT };
static enum svc_mode mix_xmpp, mix_xmpps;

static int zone_mix(const struct fq *q, struct mb *r)
{
	bool direct = !strncmp(q->name, "_xmpps-server.", 14);
	enum svc_mode m = direct ? mix_xmpps : mix_xmpp;

	if (q->type == XS2S_DNS_TYPE_SRV) {
		if (m == SVC_SILENT)
			return 0;
		if (m == SVC_NXDOMAIN) {
			answer(r, q, RCODE_NXDOMAIN, 0);
		} else if (m == SVC_DOT) {
			answer(r, q, 0, 1);
			add_srv(r, 0, 0, 0, "");
		} else if (direct) {
			answer(r, q, 0, 2);
			add_srv(r, 20, 0, 5271, "h4.mix.test");
			add_srv(r, 5, 0, 5270, "h1.mix.test");
		} else {
			answer(r, q, 0, 2);
			add_srv(r, 10, 0, 5269, "h3.mix.test");
			add_srv(r, 5, 0, 5269, "h2.mix.test");
		}
	} else if (q->type == XS2S_DNS_TYPE_A && !strncmp(q->name, "h", 1) && strstr(q->name, ".mix.test")) {
		char a[16];

		snprintf(a, sizeof a, "192.0.2.%c", q->name[1]);
		answer(r, q, 0, 1);
		add_a(r, a);
	} else if (q->type == XS2S_DNS_TYPE_A && !strcmp(q->name, "mix.test")) {
		answer(r, q, 0, 1);
		add_a(r, "192.0.2.9");
	} else {
		answer(r, q, 0, 0);
	}
	return 1;
}

static void assert_cand(const struct xs2s_target *t, const char *addr, uint16_t port, bool direct)
{
	assert_target(t, addr, port);
	assert_int_equal(t->direct_tls, direct);
}

/* XEP-0368 3 rule 1: both services' records form one set ordered by
 * priority; at equal priority xs2s prefers direct TLS ("clients MAY choose
 * to prefer one type"); each candidate keeps its transport. */
static void test_xmpps_merged_by_priority(void **state)
{
	struct xs2s_target t[K + 2];
	unsigned n = K + 2;

	(void)state;
	fake_zone = zone_mix;
	mix_xmpp = mix_xmpps = SVC_RECORDS;
	assert_int_equal(lookup("mix.test", t, &n, 0), XS2S_OK);
	assert_int_equal(fake_seen("_xmpp-server._tcp.mix.test", XS2S_DNS_TYPE_SRV), 1);
	assert_int_equal(fake_seen("_xmpps-server._tcp.mix.test", XS2S_DNS_TYPE_SRV), 1);
	assert_true(K >= 1);
	assert_cand(&t[0], "192.0.2.1", 5270, true);    /* priority 5, direct TLS */
	if (K >= 4) {
		assert_int_equal(n, 4);
		assert_cand(&t[1], "192.0.2.2", 5269, false); /* priority 5, STARTTLS */
		assert_cand(&t[2], "192.0.2.3", 5269, false); /* priority 10 */
		assert_cand(&t[3], "192.0.2.4", 5271, true);  /* priority 20 */
	}
	assert_int_equal(fake_seen("mix.test", XS2S_DNS_TYPE_A), 0); /* SRV found: no fallback */
	/* The cut keeps the head of the merged order: two candidates, the two
	 * of priority 5, whichever answer came first. */
	fake_nlog = 0;
	n = 2;
	assert_int_equal(lookup("mix.test", t, &n, 0), XS2S_OK);
	assert_int_equal(n, 2);
	assert_cand(&t[0], "192.0.2.1", 5270, true);
	assert_cand(&t[1], "192.0.2.2", 5269, false);
}

/* A domain that publishes only _xmpps-server: direct TLS candidates only,
 * no A/AAAA fallback on 5269 (the SRV records exist). */
static void test_xmpps_only(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;

	(void)state;
	fake_zone = zone_mix;
	mix_xmpp = SVC_NXDOMAIN;
	mix_xmpps = SVC_RECORDS;
	assert_int_equal(lookup("mix.test", t, &n, 0), XS2S_OK);
	assert_cand(&t[0], "192.0.2.1", 5270, true);
	if (K >= 2) {
		assert_int_equal(n, 2);
		assert_cand(&t[1], "192.0.2.4", 5271, true);
	}
	assert_int_equal(fake_seen("mix.test", XS2S_DNS_TYPE_A), 0);
	/* _xmpp-server "." (no STARTTLS service) and direct TLS records: those. */
	fake_nlog = 0;
	n = K;
	mix_xmpp = SVC_DOT;
	assert_int_equal(lookup("mix.test", t, &n, 0), XS2S_OK);
	assert_cand(&t[0], "192.0.2.1", 5270, true);
	/* _xmpp-server unanswered (timeout) while direct TLS has records: those. */
	fake_nlog = 0;
	n = K;
	mix_xmpp = SVC_SILENT;
	assert_int_equal(lookup("mix.test", t, &n, CONFIG_XS2S_DNS_TIMEOUT_MS), XS2S_OK);
	assert_cand(&t[0], "192.0.2.1", 5270, true);
}

/* XEP-0368 5: _xmpps-server "." means no direct TLS: the _xmpp-server
 * records are used, and without them there is NO A/AAAA fallback. */
static void test_xmpps_dot(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;

	(void)state;
	fake_zone = zone_mix;
	mix_xmpps = SVC_DOT;
	mix_xmpp = SVC_RECORDS;
	assert_int_equal(lookup("mix.test", t, &n, 0), XS2S_OK);
	assert_cand(&t[0], "192.0.2.2", 5269, false);
	if (K >= 2)
		assert_cand(&t[1], "192.0.2.3", 5269, false);
	fake_nlog = 0;
	n = K;
	mix_xmpp = SVC_NXDOMAIN;
	assert_int_equal(lookup("mix.test", t, &n, 0), XS2S_ENOTFOUND);
	assert_int_equal(n, 0);
	assert_int_equal(fake_seen("mix.test", XS2S_DNS_TYPE_A), 0);
	assert_int_equal(fake_seen("mix.test", XS2S_DNS_TYPE_AAAA), 0);
	/* Without any record of either (NXDOMAIN both): the domain on 5269, STARTTLS. */
	fake_nlog = 0;
	n = K;
	mix_xmpps = SVC_NXDOMAIN;
	assert_int_equal(lookup("mix.test", t, &n, 0), XS2S_OK);
	assert_int_equal(n, 1);
	assert_cand(&t[0], "192.0.2.9", XS2S_XMPP_SERVER_PORT, false);
	/* _xmpps-server never answers: _xmpp-server's records are used once it times out. */
	fake_nlog = 0;
	n = K;
	mix_xmpps = SVC_SILENT;
	mix_xmpp = SVC_RECORDS;
	assert_int_equal(lookup("mix.test", t, &n, CONFIG_XS2S_DNS_TIMEOUT_MS), XS2S_OK);
	assert_cand(&t[0], "192.0.2.2", 5269, false);
	assert_int_equal(fake_seen("_xmpps-server._tcp.mix.test", XS2S_DNS_TYPE_SRV), TRIES);
}

/* The host map names a direct TLS peer with "/tls". */
static void test_hostmap_direct_tls(void **state)
{
	struct xs2s_target t[K];
	unsigned n = K;
	int h;

	(void)state;
	assert_int_equal(xs2s_resolve_map_add(&res, "d.test=192.0.2.5:5270/tls"), XS2S_OK);
	assert_int_equal(xs2s_resolve_map_add(&res, "s.test=[2001:db8::5]:5269"), XS2S_OK);
	assert_int_equal(xs2s_resolve_map_add(&res, "e.test=[2001:db8::6]/tls"), XS2S_OK);
	assert_true(xs2s_resolve_map_entry_valid("x.test=192.0.2.5/tls"));
	assert_false(xs2s_resolve_map_entry_valid("x.test=/tls"));
	assert_false(xs2s_resolve_map_entry_valid("x.test=192.0.2.5:5270/tlsx"));
	assert_false(xs2s_resolve_map_entry_valid("x.test=192.0.2.5:5270/"));
	h = xs2s_resolve_start(&res, "d.test");
	assert_int_equal(xs2s_resolve_result(&res, h, t, &n), XS2S_OK);
	assert_cand(&t[0], "192.0.2.5", 5270, true);
	n = K;
	h = xs2s_resolve_start(&res, "s.test");
	assert_int_equal(xs2s_resolve_result(&res, h, t, &n), XS2S_OK);
	assert_cand(&t[0], "2001:db8::5", 5269, false);
	n = K;
	h = xs2s_resolve_start(&res, "e.test");
	assert_int_equal(xs2s_resolve_result(&res, h, t, &n), XS2S_OK);
	assert_cand(&t[0], "2001:db8::6", XS2S_XMPP_SERVER_PORT, true);
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_hostmap_answers_first, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostmap_from_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_nodata_everywhere, setup, teardown),
		cmocka_unit_test_setup_teardown(test_srv_order_and_interleave, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fallback_without_srv, setup, teardown),
		cmocka_unit_test_setup_teardown(test_root_target_no_service, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lost_packet_retried, setup, teardown),
		cmocka_unit_test_setup_teardown(test_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_server, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_timeout_keeps_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_answers_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_formerr_retries_without_edns, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slots_and_handles, setup, teardown),
#if CONFIG_XS2S_DIRECT_TLS
		cmocka_unit_test_setup_teardown(test_xmpps_merged_by_priority, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xmpps_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_xmpps_dot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_hostmap_direct_tls, setup, teardown),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
