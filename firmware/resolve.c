/* Peer resolution: the static host map first, then DNS over the port's UDP
 * (SRV per RFC 6120 3.2 and RFC 2782, then AAAA and A). See resolve.h for
 * the order of a lookup and the API; dns.c is the message codec.
 *
 * Every lookup lives in a slot of a static table and owns one connected UDP
 * socket while it has queries out. A query keeps its random id across
 * retransmissions, so a late answer to an earlier try still counts; answers
 * are matched to queries by id and checked against the question by the
 * codec. Nothing here blocks: sends that would block are simply lost and
 * retried on the query's timer.
 */
#include <stdio.h>
#include <string.h>
#include "xs2s_int.h"
#include "resolve.h"
#include "dns.h"

#define RESOLVE_SLOT_BITS 4
#define RESOLVE_SLOT_MASK ((1u << RESOLVE_SLOT_BITS) - 1)
#define RESOLVE_GEN_MASK 0x7fffu /* handle = gen << RESOLVE_SLOT_BITS | slot, always >= 0 */
#define RESOLVE_NONE (-1)

#if CONFIG_XS2S_DNS
#define RESOLVE_SLOTS CONFIG_XS2S_DNS_QUERIES
#else
#define RESOLVE_SLOTS 4 /* host-map answers only: picked up at once */
#endif
_Static_assert(RESOLVE_SLOTS <= (1 << RESOLVE_SLOT_BITS), "slot index fits the handle");

#define RESOLVE_CANDS CONFIG_XS2S_RESOLVE_TARGETS

enum resolve_phase {
	RESOLVE_FREE = 0,
	RESOLVE_SRV,   /* the SRV query is out */
	RESOLVE_ADDR,  /* AAAA and A queries of the targets are out */
	RESOLVE_DONE,  /* result and candidates wait for xs2s_resolve_result */
};

#if CONFIG_XS2S_DNS
#define RESOLVE_SRV_PREFIX "_xmpp-server._tcp."
#define RESOLVE_SRV_MAX 16          /* SRV records weighed from one answer (the best priorities kept) */
#define RESOLVE_QUERIES (2 * RESOLVE_CANDS) /* AAAA and A per target */
#define RESOLVE_STEP_READS 8        /* datagrams read per lookup per step: fairness */
#define RESOLVE_ID_TRIES 8          /* draws for a query id unused in its lookup */
#define RESOLVE_TRIES (1 + CONFIG_XS2S_DNS_RETRIES)
#define RESOLVE_ADDR_BYTES 16

enum resolve_qstate {
	RESOLVE_Q_IDLE = 0,
	RESOLVE_Q_WAIT,      /* sent, no answer yet */
	RESOLVE_Q_ANSWERED,  /* answered (possibly with no address: NXDOMAIN, NODATA) */
	RESOLVE_Q_FAILED,    /* server error, truncated or malformed answer */
	RESOLVE_Q_TIMEDOUT,  /* no answer after the last try */
};

struct resolve_query {
	uint32_t deadline;   /* of the current try */
	uint16_t id;
	uint16_t type;       /* XS2S_DNS_TYPE_SRV, _AAAA or _A */
	uint8_t state;       /* enum resolve_qstate */
	uint8_t tries;       /* sends so far */
	uint8_t target;      /* AAAA/A: index into targets */
	uint8_t no_edns;     /* the server refused EDNS(0) (FORMERR): ask without */
	uint8_t naddr;
	uint8_t addr[RESOLVE_CANDS][RESOLVE_ADDR_BYTES];
};

struct resolve_name {
	char name[XS2S_DNS_NAME_MAX + 1];
	uint16_t port;
};
#endif

struct resolve_slot {
	uint8_t phase;       /* enum resolve_phase */
	uint16_t gen;        /* bumped on every start: stale handles are refused */
	int result;          /* RESOLVE_DONE: XS2S_OK, XS2S_ENOTFOUND, XS2S_ETIMEDOUT */
	unsigned ncand;
	struct xs2s_target cand[RESOLVE_CANDS];
#if CONFIG_XS2S_DNS
	xs2s_sock sock;
	uint32_t started_ms;
	char domain[XS2S_DNS_NAME_MAX + 1];
	unsigned ntargets;
	struct resolve_name targets[RESOLVE_CANDS];
	unsigned nq;
	struct resolve_query q[RESOLVE_QUERIES]; /* RESOLVE_SRV: q[0] only */
#endif
};

static struct resolve_slot resolve_slots[RESOLVE_SLOTS];

static int resolve_handle(const struct resolve_slot *s)
{
	return (int)((unsigned)s->gen << RESOLVE_SLOT_BITS | (unsigned)(s - resolve_slots));
}

static struct resolve_slot *resolve_slot_of(int h)
{
	struct resolve_slot *s;

	if (h < 0 || ((unsigned)h & RESOLVE_SLOT_MASK) >= RESOLVE_SLOTS)
		return NULL;
	s = &resolve_slots[(unsigned)h & RESOLVE_SLOT_MASK];
	if (s->phase == RESOLVE_FREE || s->gen != ((unsigned)h >> RESOLVE_SLOT_BITS))
		return NULL;
	return s;
}

static void resolve_done(struct resolve_slot *s, int result)
{
#if CONFIG_XS2S_DNS
	if (s->sock != XS2S_SOCK_NONE)
		xs2s_port_close(s->sock);
	s->sock = XS2S_SOCK_NONE;
#endif
	s->result = result;
	s->phase = RESOLVE_DONE;
}

#if CONFIG_XS2S_DNS

static struct {
	bool inited;
	bool set;            /* by xs2s_dns_set_server: wins over the rest */
	bool ok;             /* a server is known */
	char addr[XS2S_ADDR_MAX];
	uint16_t port;
} resolve_server;

static uint8_t resolve_buf[XS2S_DNS_UDP_MAX];    /* one datagram at a time, shared */
static uint8_t resolve_qbuf[XS2S_DNS_QUERY_MAX];
static char resolve_qname[sizeof RESOLVE_SRV_PREFIX + XS2S_DNS_NAME_MAX];

static const char *resolve_type_name(uint16_t type)
{
	return type == XS2S_DNS_TYPE_SRV ? "SRV" : type == XS2S_DNS_TYPE_AAAA ? "AAAA" : "A";
}

static uint32_t resolve_rng(void *ctx)
{
	uint32_t r = 0;

	(void)ctx;
	xs2s_port_random(&r, sizeof r);
	return r;
}

/* The name a query asks about (valid until the next call). */
static const char *resolve_query_name(const struct resolve_slot *s, const struct resolve_query *q)
{
	if (q->type != XS2S_DNS_TYPE_SRV)
		return s->targets[q->target].name;
	snprintf(resolve_qname, sizeof resolve_qname, "%s%s", RESOLVE_SRV_PREFIX, s->domain);
	return resolve_qname;
}

/* A random id no other query of this lookup waits with. */
static uint16_t resolve_new_id(const struct resolve_slot *s)
{
	uint16_t id = 0;
	unsigned tries, i;

	for (tries = 0; tries < RESOLVE_ID_TRIES; tries++) {
		xs2s_port_random(&id, sizeof id);
		for (i = 0; i < s->nq; i++)
			if (s->q[i].state == RESOLVE_Q_WAIT && s->q[i].id == id)
				break;
		if (i == s->nq)
			break;
	}
	return id;
}

/* Send (or send again) q; a send that fails is a lost datagram. */
static void resolve_send(struct resolve_slot *s, struct resolve_query *q, uint32_t now)
{
	const char *name = resolve_query_name(s, q);
	int len = xs2s_dns_query(resolve_qbuf, sizeof resolve_qbuf, q->id, name, q->type,
				 q->no_edns ? 0 : XS2S_DNS_UDP_MAX);

	q->state = RESOLVE_Q_WAIT;
	q->tries++;
	q->deadline = now + CONFIG_XS2S_DNS_TIMEOUT_MS;
	if (len < 0) {
		q->state = RESOLVE_Q_FAILED; /* a name the codec refuses: cannot exist in DNS */
		return;
	}
	XS2S_LOGD(0, "dns: %s %s? (id %04x, try %u)", resolve_type_name(q->type), name, q->id, q->tries);
	if (xs2s_port_udp_send(s->sock, resolve_qbuf, (size_t)len) < 0)
		XS2S_LOGD(0, "dns: send to %s:%u failed (retried on timeout)", resolve_server.addr,
			  resolve_server.port);
}

static void resolve_query_start(struct resolve_slot *s, uint16_t type, unsigned target, uint32_t now)
{
	struct resolve_query *q = &s->q[s->nq];

	memset(q, 0, sizeof *q);
	q->type = type;
	q->target = (uint8_t)target;
	q->id = resolve_new_id(s);
	s->nq++;
	resolve_send(s, q, now);
}

/* Look up AAAA and A of every target. */
static void resolve_addr_phase(struct resolve_slot *s, uint32_t now)
{
	unsigned t;

	s->phase = RESOLVE_ADDR;
	s->nq = 0;
	for (t = 0; t < s->ntargets; t++) {
		resolve_query_start(s, XS2S_DNS_TYPE_AAAA, t, now);
		resolve_query_start(s, XS2S_DNS_TYPE_A, t, now);
	}
}

/* No usable SRV records: the domain itself on the XMPP server port. */
static void resolve_fallback(struct resolve_slot *s, const char *why, uint32_t now)
{
	XS2S_LOGD(0, "dns: %s: %s, falling back to its address records", s->domain, why);
	memcpy(s->targets[0].name, s->domain, sizeof s->domain);
	s->targets[0].port = XS2S_XMPP_SERVER_PORT;
	s->ntargets = 1;
	resolve_addr_phase(s, now);
}

/* A SRV answer with records: order them and keep the first targets. */
static void resolve_srv_answer(struct resolve_slot *s, struct xs2s_dns_msg *m, uint32_t now)
{
	static struct xs2s_dns_srv v[RESOLVE_SRV_MAX];
	struct xs2s_dns_rr rr;
	unsigned n = 0, i, worst;

	while (xs2s_dns_next(m, &rr)) {
		struct xs2s_dns_srv e = { rr.prio, rr.weight, rr.port, rr.target };

		if (n < RESOLVE_SRV_MAX) {
			v[n++] = e;
			continue;
		}
		/* Full: the record replaces the worst priority kept, if better. */
		worst = 0;
		for (i = 1; i < RESOLVE_SRV_MAX; i++)
			if (v[i].prio > v[worst].prio)
				worst = i;
		if (e.prio < v[worst].prio)
			v[worst] = e;
	}
	if (m->count == 1 && xs2s_dns_name(m, v[0].ref, s->targets[0].name, sizeof s->targets[0].name) == XS2S_OK &&
	    !s->targets[0].name[0]) {
		XS2S_LOGI(0, "dns: %s: SRV target \".\": no XMPP server service", s->domain);
		resolve_done(s, XS2S_ENOTFOUND);
		return;
	}
	xs2s_dns_srv_order(v, n, resolve_rng, NULL);
	s->ntargets = 0;
	for (i = 0; i < n && s->ntargets < RESOLVE_CANDS; i++) {
		struct resolve_name *t = &s->targets[s->ntargets];

		if (v[i].port == 0 || xs2s_dns_name(m, v[i].ref, t->name, sizeof t->name) != XS2S_OK || !t->name[0])
			continue; /* unusable record: "." among others, port 0, not a host name */
		t->port = v[i].port;
		XS2S_LOGD(0, "dns: %s: SRV %u %u %u %s", s->domain, v[i].prio, v[i].weight, t->port, t->name);
		s->ntargets++;
	}
	if (!s->ntargets) {
		XS2S_LOGI(0, "dns: %s: no usable SRV target", s->domain);
		resolve_done(s, XS2S_ENOTFOUND);
		return;
	}
	resolve_addr_phase(s, now);
}

/* Append (addr, port) unless already listed. */
static void resolve_cand_add(struct resolve_slot *s, const uint8_t *a, unsigned len, uint16_t port)
{
	struct xs2s_target *c = &s->cand[s->ncand];
	unsigned i;

	xs2s_dns_addr_text(a, len, c->addr);
	c->port = port;
	for (i = 0; i < s->ncand; i++)
		if (s->cand[i].port == port && !strcmp(s->cand[i].addr, c->addr))
			return;
	s->ncand++;
}

/* The list is ready when every target before the cut has settled. */
static void resolve_addr_check(struct resolve_slot *s)
{
	unsigned t, found = 0, i;
	bool timedout = false;

	for (t = 0; t < s->ntargets && found < RESOLVE_CANDS; t++) {
		const struct resolve_query *q6 = &s->q[2 * t], *q4 = &s->q[2 * t + 1];

		if (q6->state == RESOLVE_Q_WAIT || q4->state == RESOLVE_Q_WAIT)
			return;
		found += q6->naddr + q4->naddr;
		timedout |= q6->state == RESOLVE_Q_TIMEDOUT || q4->state == RESOLVE_Q_TIMEDOUT;
	}
	s->ncand = 0;
	for (t = 0; t < s->ntargets && s->ncand < RESOLVE_CANDS; t++) {
		const struct resolve_query *q6 = &s->q[2 * t], *q4 = &s->q[2 * t + 1];

		/* RFC 8305 4: alternate the families, IPv6 first. */
		for (i = 0; (i < q6->naddr || i < q4->naddr) && s->ncand < RESOLVE_CANDS; i++) {
			if (i < q6->naddr)
				resolve_cand_add(s, q6->addr[i], RESOLVE_ADDR_BYTES, s->targets[t].port);
			if (i < q4->naddr && s->ncand < RESOLVE_CANDS)
				resolve_cand_add(s, q4->addr[i], 4, s->targets[t].port);
		}
	}
	if (s->ncand) {
		XS2S_LOGI(0, "dns: %s: %u candidate(s), first %s:%u (%u ms)", s->domain, s->ncand, s->cand[0].addr,
			  s->cand[0].port, (unsigned)(xs2s_port_now_ms() - s->started_ms));
		resolve_done(s, XS2S_OK);
	} else {
		XS2S_LOGI(0, "dns: %s: no address%s", s->domain, timedout ? " (server timed out)" : "");
		resolve_done(s, timedout ? XS2S_ETIMEDOUT : XS2S_ENOTFOUND);
	}
}

/* One datagram for lookup s. */
static void resolve_datagram(struct resolve_slot *s, size_t len, uint32_t now)
{
	struct xs2s_dns_msg m;
	struct xs2s_dns_rr rr;
	struct resolve_query *q = NULL;
	uint16_t id;
	unsigned i;
	int rc;

	if (len < 2)
		return;
	id = (uint16_t)(resolve_buf[0] << 8 | resolve_buf[1]);
	for (i = 0; i < s->nq; i++)
		if (s->q[i].state == RESOLVE_Q_WAIT && s->q[i].id == id)
			q = &s->q[i];
	if (!q)
		return; /* late duplicate, or not ours */
	rc = xs2s_dns_parse(&m, resolve_buf, len, id, resolve_query_name(s, q), q->type);
	if (rc == XS2S_EAGAIN) {
		XS2S_LOGD(0, "dns: ignoring a datagram that does not answer %s %s", resolve_type_name(q->type),
			  resolve_query_name(s, q));
		return;
	}
	if (rc == XS2S_EIO && m.rcode == XS2S_DNS_RCODE_FORMERR && !q->no_edns) {
		q->no_edns = 1; /* RFC 6891 7: ask again without EDNS(0) */
		q->tries = 0;
		resolve_send(s, q, now);
		return;
	}
	XS2S_LOGD(0, "dns: %s %s: %s, %u answer(s)", resolve_type_name(q->type), resolve_query_name(s, q),
		  rc == XS2S_OK ? "ok" : rc == XS2S_ENOTFOUND ? "NXDOMAIN" : xs2s_err_name(rc), rc == XS2S_OK ? m.count : 0);
	if (q->type == XS2S_DNS_TYPE_SRV) {
		q->state = RESOLVE_Q_ANSWERED;
		if (rc == XS2S_OK && m.count)
			resolve_srv_answer(s, &m, now);
		else
			resolve_fallback(s, rc == XS2S_OK ? "no SRV records" : rc == XS2S_ENOTFOUND ? "NXDOMAIN" :
					 rc == XS2S_ERANGE ? "truncated SRV answer" : "SRV query failed", now);
		return;
	}
	if (rc != XS2S_OK && rc != XS2S_ENOTFOUND) {
		q->state = RESOLVE_Q_FAILED;
		XS2S_LOGW(0, "dns: %s %s failed: %s (rcode %u)", resolve_type_name(q->type), resolve_query_name(s, q),
			  xs2s_err_name(rc), m.rcode);
	} else {
		q->state = RESOLVE_Q_ANSWERED;
		while (rc == XS2S_OK && xs2s_dns_next(&m, &rr))
			if (q->naddr < RESOLVE_CANDS)
				memcpy(q->addr[q->naddr++], rr.addr, RESOLVE_ADDR_BYTES);
	}
	resolve_addr_check(s);
}

/* The socket reported an error (an ICMP port unreachable: nothing serves
 * DNS there): the current try of every waiting query ends now, so a dead
 * server costs the retries but not their timeouts. */
static void resolve_refused(struct resolve_slot *s, uint32_t now)
{
	unsigned i;

	XS2S_LOGD(0, "dns: %s: %s:%u refused", s->domain, resolve_server.addr, resolve_server.port);
	for (i = 0; i < s->nq; i++)
		if (s->q[i].state == RESOLVE_Q_WAIT)
			s->q[i].deadline = now;
}

/* Retransmit or give up the queries whose try timed out. */
static void resolve_timers(struct resolve_slot *s, uint32_t now)
{
	unsigned i;

	for (i = 0; i < s->nq && (s->phase == RESOLVE_SRV || s->phase == RESOLVE_ADDR); i++) {
		struct resolve_query *q = &s->q[i];

		if (q->state != RESOLVE_Q_WAIT || !XS2S_TIME_REACHED(now, q->deadline))
			continue;
		if (q->tries < RESOLVE_TRIES) {
			resolve_send(s, q, now);
		} else {
			q->state = RESOLVE_Q_TIMEDOUT;
			XS2S_LOGW(0, "dns: %s %s: no answer from %s:%u after %u tries", resolve_type_name(q->type),
				  resolve_query_name(s, q), resolve_server.addr, resolve_server.port, q->tries);
			if (s->phase == RESOLVE_SRV) {
				resolve_done(s, XS2S_ETIMEDOUT);
				return;
			}
		}
	}
	if (s->phase == RESOLVE_ADDR)
		resolve_addr_check(s);
}

/* Start the DNS part of a lookup of a domain not in the host map. */
static void resolve_dns_start(struct resolve_slot *s, const char *domain, uint32_t now)
{
	xs2s_resolve_init();
	s->started_ms = now;
	s->nq = 0;
	s->ntargets = 0;
	snprintf(s->domain, sizeof s->domain, "%s", domain);
	if (!resolve_server.ok) {
		XS2S_LOGW(0, "dns: %s: no DNS server known (set CONFIG_XS2S_DNS_SERVER or --dns-server)", domain);
		resolve_done(s, XS2S_ENOTFOUND);
		return;
	}
	if (xs2s_port_udp_open(resolve_server.addr, resolve_server.port, &s->sock) != XS2S_OK) {
		XS2S_LOGW(0, "dns: %s: cannot open a UDP socket to %s:%u", domain, resolve_server.addr,
			  resolve_server.port);
		s->sock = XS2S_SOCK_NONE;
		resolve_done(s, XS2S_ENOTFOUND);
		return;
	}
	s->phase = RESOLVE_SRV;
	resolve_query_start(s, XS2S_DNS_TYPE_SRV, 0, now);
	if (s->q[0].state == RESOLVE_Q_FAILED)
		resolve_fallback(s, "SRV name too long", now);
}

void xs2s_resolve_init(void)
{
	const char *from = "--dns-server";

	if (resolve_server.inited)
		return;
	resolve_server.inited = true;
	if (!resolve_server.set && CONFIG_XS2S_DNS_SERVER[0]) {
		from = "CONFIG_XS2S_DNS_SERVER";
		resolve_server.ok = xs2s_addr_port_parse(CONFIG_XS2S_DNS_SERVER, XS2S_DNS_PORT, resolve_server.addr,
							 &resolve_server.port) == XS2S_OK;
		if (!resolve_server.ok)
			XS2S_LOGW(0, "dns: ignoring bad CONFIG_XS2S_DNS_SERVER '%s'", CONFIG_XS2S_DNS_SERVER);
	} else if (!resolve_server.set) {
		from = "the port";
		resolve_server.ok = xs2s_port_dns_server(resolve_server.addr, &resolve_server.port) == XS2S_OK;
	}
	if (resolve_server.ok)
		XS2S_LOGI(0, "dns: server %s:%u (from %s)", resolve_server.addr, resolve_server.port, from);
	else
		XS2S_LOGW(0, "dns: no server: peers resolve through the host map only");
}

int xs2s_dns_set_server(const char *addr_port)
{
	char addr[XS2S_ADDR_MAX];
	uint16_t port;

	if (!addr_port || xs2s_addr_port_parse(addr_port, XS2S_DNS_PORT, addr, &port) != XS2S_OK)
		return XS2S_EINVAL;
	memcpy(resolve_server.addr, addr, sizeof addr);
	resolve_server.port = port;
	resolve_server.set = true;
	resolve_server.ok = true;
	return XS2S_OK;
}

#else /* !CONFIG_XS2S_DNS */

void xs2s_resolve_init(void)
{
}

int xs2s_dns_set_server(const char *addr_port)
{
	(void)addr_port;
	return XS2S_EINVAL;
}

#endif

int xs2s_resolve_start(const char *domain)
{
	struct resolve_slot *s = NULL;
	char addr[XS2S_ADDR_MAX];
	uint16_t port;
	unsigned i;

	if (!domain || !domain[0])
		return XS2S_EINVAL;
	for (i = 0; i < RESOLVE_SLOTS && !s; i++)
		if (resolve_slots[i].phase == RESOLVE_FREE)
			s = &resolve_slots[i];
	if (!s)
		return XS2S_ENOMEM;
	s->gen = (uint16_t)((s->gen + 1) & RESOLVE_GEN_MASK);
	s->ncand = 0;
#if CONFIG_XS2S_DNS
	s->sock = XS2S_SOCK_NONE;
#endif
	if (xs2s_resolve(domain, addr, &port) == XS2S_OK) {
		memcpy(s->cand[0].addr, addr, sizeof addr);
		s->cand[0].port = port;
		s->ncand = 1;
		resolve_done(s, XS2S_OK);
		return resolve_handle(s);
	}
#if CONFIG_XS2S_DNS
	{
		/* Refuse what can never be a DNS name before taking the slot. */
		int rc = xs2s_dns_query(resolve_qbuf, sizeof resolve_qbuf, 0, domain, XS2S_DNS_TYPE_A, 0);

		if (rc < 0)
			return XS2S_EINVAL;
	}
	resolve_dns_start(s, domain, xs2s_port_now_ms());
#else
	resolve_done(s, XS2S_ENOTFOUND);
#endif
	return resolve_handle(s);
}

int xs2s_resolve_result(int h, struct xs2s_target *t, unsigned *n)
{
	struct resolve_slot *s = resolve_slot_of(h);
	unsigned k;
	int rc;

	if (!s)
		return XS2S_EINVAL;
	if (s->phase != RESOLVE_DONE)
		return XS2S_EAGAIN;
	rc = s->result;
	k = rc == XS2S_OK && s->ncand < *n ? s->ncand : rc == XS2S_OK ? *n : 0;
	memcpy(t, s->cand, k * sizeof *t);
	*n = k;
	s->phase = RESOLVE_FREE;
	return rc;
}

bool xs2s_resolve_can_start(void)
{
	unsigned i;

	for (i = 0; i < RESOLVE_SLOTS; i++)
		if (resolve_slots[i].phase == RESOLVE_FREE)
			return true;
	return false;
}

bool xs2s_resolve_done(int h)
{
	const struct resolve_slot *s = resolve_slot_of(h);

	return !s || s->phase == RESOLVE_DONE;
}

void xs2s_resolve_cancel(int h)
{
	struct resolve_slot *s = resolve_slot_of(h);

	if (!s)
		return;
	resolve_done(s, XS2S_ENOTFOUND); /* closes the socket */
	s->phase = RESOLVE_FREE;
}

unsigned xs2s_resolve_pollfds(struct xs2s_pollfd *fds, unsigned max)
{
	unsigned n = 0;
#if CONFIG_XS2S_DNS
	unsigned i;

	for (i = 0; i < RESOLVE_SLOTS && n < max; i++) {
		const struct resolve_slot *s = &resolve_slots[i];

		if ((s->phase == RESOLVE_SRV || s->phase == RESOLVE_ADDR) && s->sock != XS2S_SOCK_NONE) {
			fds[n].sock = s->sock;
			fds[n].want = XS2S_POLL_IN;
			fds[n].got = 0;
			n++;
		}
	}
#else
	(void)fds;
	(void)max;
#endif
	return n;
}

void xs2s_resolve_step(uint32_t now_ms)
{
#if CONFIG_XS2S_DNS
	unsigned i, r;

	for (i = 0; i < RESOLVE_SLOTS; i++) {
		struct resolve_slot *s = &resolve_slots[i];

		for (r = 0; r < RESOLVE_STEP_READS && (s->phase == RESOLVE_SRV || s->phase == RESOLVE_ADDR); r++) {
			int n = xs2s_port_udp_recv(s->sock, resolve_buf, sizeof resolve_buf);

			if (n == XS2S_EWANTREAD)
				break;
			if (n >= 0)
				resolve_datagram(s, (size_t)n, now_ms);
			else if (n == XS2S_EIO)
				resolve_refused(s, now_ms);
			/* else: an oversized datagram, dropped */
		}
		if (s->phase == RESOLVE_SRV || s->phase == RESOLVE_ADDR)
			resolve_timers(s, now_ms);
	}
#else
	(void)now_ms;
#endif
}

uint32_t xs2s_resolve_next_ms(uint32_t now_ms)
{
	uint32_t best = UINT32_MAX;
#if CONFIG_XS2S_DNS
	unsigned i, j;

	for (i = 0; i < RESOLVE_SLOTS; i++) {
		const struct resolve_slot *s = &resolve_slots[i];

		if (s->phase != RESOLVE_SRV && s->phase != RESOLVE_ADDR)
			continue;
		for (j = 0; j < s->nq; j++) {
			const struct resolve_query *q = &s->q[j];
			uint32_t left;

			if (q->state != RESOLVE_Q_WAIT)
				continue;
			left = XS2S_TIME_REACHED(now_ms, q->deadline) ? 0 : q->deadline - now_ms;
			if (left < best)
				best = left;
		}
	}
#else
	(void)now_ms;
#endif
	return best;
}
