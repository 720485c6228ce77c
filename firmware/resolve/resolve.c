/* Peer resolution: the static host map first, then DNS over the port's UDP
 * (SRV per RFC 6120 3.2 and RFC 2782, then AAAA and A). See resolve.h for
 * the order of a lookup and the API; dns.c is the message codec.
 *
 * Every lookup lives in a slot of the resolver and owns one connected UDP
 * socket while it has queries out. A query keeps its random id across
 * retransmissions, so a late answer to an earlier try still counts; answers
 * are matched to queries by id and checked against the question by the
 * codec. Nothing here blocks: sends that would block are simply lost and
 * retried on the query's timer.
 */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "xs2s_log.h"
#include "lib/types.h"
#include "resolve/resolve.h"

#define RESOLVE_SLOT_BITS 4
#define RESOLVE_SLOT_MASK ((1u << RESOLVE_SLOT_BITS) - 1)
#define RESOLVE_GEN_MASK 0x7fffu /* handle = gen << RESOLVE_SLOT_BITS | slot, always >= 0 */
#define RESOLVE_SLOTS XS2S_RESOLVE_SLOTS
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
#define RESOLVE_SRVS_PREFIX "_xmpps-server._tcp." /* XEP-0368 */
#define RESOLVE_SVC_STARTTLS 0   /* q[0]: _xmpp-server */
#define RESOLVE_SVC_DIRECT 1     /* q[1]: _xmpps-server */
#if CONFIG_XS2S_DIRECT_TLS
#define RESOLVE_SRV_QUERIES 2
#else
#define RESOLVE_SRV_QUERIES 1
#endif
#define RESOLVE_SRV_MAX XS2S_RESOLVE_SRV_MAX
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
#endif

static int resolve_handle(const struct xs2s_resolver *r, const struct xs2s_resolve_slot *s)
{
	return (int)((unsigned)s->gen << RESOLVE_SLOT_BITS | (unsigned)(s - r->slots));
}

static struct xs2s_resolve_slot *resolve_slot_of(const struct xs2s_resolver *r, int h)
{
	struct xs2s_resolve_slot *s;

	if (h < 0 || ((unsigned)h & RESOLVE_SLOT_MASK) >= RESOLVE_SLOTS)
		return NULL;
	s = (struct xs2s_resolve_slot *)&r->slots[(unsigned)h & RESOLVE_SLOT_MASK];
	if (s->phase == RESOLVE_FREE || s->gen != ((unsigned)h >> RESOLVE_SLOT_BITS))
		return NULL;
	return s;
}

static void resolve_done(struct xs2s_resolve_slot *s, int result)
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
static const char *resolve_query_name(struct xs2s_resolver *r, const struct xs2s_resolve_slot *s, const struct xs2s_resolve_query *q)
{
	if (q->type != XS2S_DNS_TYPE_SRV)
		return s->targets[q->target].name;
#if CONFIG_XS2S_DIRECT_TLS
	snprintf(r->qname, sizeof r->qname, "%s%s", q->target == RESOLVE_SVC_DIRECT ? RESOLVE_SRVS_PREFIX :
		 RESOLVE_SRV_PREFIX, s->domain);
#else
	snprintf(r->qname, sizeof r->qname, "%s%s", RESOLVE_SRV_PREFIX, s->domain);
#endif
	return r->qname;
}

/* A random id no other query of this lookup waits with. */
static uint16_t resolve_new_id(const struct xs2s_resolve_slot *s)
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

static void resolve_refused(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, uint32_t now);

/* Send (or send again) q; a send that fails is a lost datagram. */
static void resolve_send(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, struct xs2s_resolve_query *q, uint32_t now)
{
	const char *name = resolve_query_name(r, s, q);
	int len = xs2s_dns_query(r->qbuf, sizeof r->qbuf, q->id, name, q->type,
				 q->no_edns ? 0 : XS2S_DNS_UDP_MAX);

	q->state = RESOLVE_Q_WAIT;
	q->tries++;
	q->deadline = now + CONFIG_XS2S_DNS_TIMEOUT_MS;
	if (len < 0) {
		q->state = RESOLVE_Q_FAILED; /* a name the codec refuses: cannot exist in DNS */
		return;
	}
	XS2S_LOGD(0, "dns: %s %s? (id %04x, try %u)", resolve_type_name(q->type), name, q->id, q->tries);
	len = xs2s_port_udp_send(s->sock, r->qbuf, (size_t)len);
	if (len == XS2S_EIO) {
		/* The socket reported an error (an ICMP port unreachable for an
		 * earlier datagram, consumed by this send): the current try of
		 * every waiting query ends now, as when recv reports it. */
		resolve_refused(r, s, now);
	} else if (len < 0) {
		XS2S_LOGD(0, "dns: send to %s:%u failed (retried on timeout)", r->server_addr,
			  r->server_port);
	}
}

static void resolve_query_start(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, uint16_t type, unsigned target, uint32_t now)
{
	struct xs2s_resolve_query *q = &s->q[s->nq];

	memset(q, 0, sizeof *q);
	q->type = type;
	q->target = (uint8_t)target;
	q->id = resolve_new_id(s);
	s->nq++;
	resolve_send(r, s, q, now);
}

/* Look up AAAA and A of every target. */
static void resolve_addr_phase(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, uint32_t now)
{
	unsigned t;

	s->phase = RESOLVE_ADDR;
	s->nq = 0;
	for (t = 0; t < s->ntargets; t++) {
		resolve_query_start(r, s, XS2S_DNS_TYPE_AAAA, t, now);
		resolve_query_start(r, s, XS2S_DNS_TYPE_A, t, now);
	}
}

/* No usable SRV records: the domain itself on the XMPP server port. */
static void resolve_fallback(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, const char *why, uint32_t now)
{
	XS2S_LOGD(0, "dns: %s: %s, falling back to its address records", s->domain, why);
	memcpy(s->targets[0].name, s->domain, sizeof s->domain);
	s->targets[0].port = XS2S_XMPP_SERVER_PORT;
	s->targets[0].direct_tls = false; /* RFC 6120 3.2.2: the fallback is STARTTLS */
	s->ntargets = 1;
	resolve_addr_phase(r, s, now);
}

/* Insert a SRV target into the slot's list at its place in the merged
 * order: priority ascending (XEP-0368 3 rule 1: both services' records are
 * one set as far as priorities go), at equal priority direct TLS first
 * (rule 1: a client MAY prefer one type), then the order each answer's own
 * RFC 2782 weighing gave. The list keeps the first RESOLVE_CANDS. */
static void resolve_target_insert(struct xs2s_resolve_slot *s, const struct xs2s_dns_msg *m, const struct xs2s_dns_srv *v,
				  bool direct)
{
	unsigned at = s->ntargets;
	struct xs2s_resolve_name t;

	if (v->port == 0 || xs2s_dns_name(m, v->ref, t.name, sizeof t.name) != XS2S_OK || !t.name[0])
		return; /* unusable record: "." among others, port 0, not a host name */
	t.port = v->port;
	t.prio = v->prio;
	t.direct_tls = direct;
	while (at > 0 && (s->targets[at - 1].prio > t.prio ||
			  (s->targets[at - 1].prio == t.prio && !s->targets[at - 1].direct_tls && direct)))
		at--;
	if (at >= RESOLVE_CANDS)
		return;
	if (s->ntargets == RESOLVE_CANDS)
		s->ntargets--; /* the last one drops out */
	memmove(&s->targets[at + 1], &s->targets[at], (s->ntargets - at) * sizeof *s->targets);
	s->targets[at] = t;
	s->ntargets++;
}

/* A SRV answer with records (service svc): order them and merge the
 * first targets into the list. */
static void resolve_srv_answer(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, struct xs2s_dns_msg *m, unsigned svc)
{
	struct xs2s_dns_srv *v = r->srv;
	struct xs2s_dns_rr rr;
	char name[XS2S_DNS_NAME_MAX + 1];
	unsigned n = 0, i, worst, before = s->ntargets;
#if CONFIG_XS2S_DIRECT_TLS
	const char *what = svc == RESOLVE_SVC_DIRECT ? "_xmpps-server" : "_xmpp-server";
#else
	const char *what = "_xmpp-server";
#endif

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
	if (m->count == 1 && xs2s_dns_name(m, v[0].ref, name, sizeof name) == XS2S_OK && !name[0]) {
#if CONFIG_XS2S_DIRECT_TLS
		if (svc == RESOLVE_SVC_DIRECT)
			XS2S_LOGI(0, "dns: %s: _xmpps-server SRV target \".\": no direct TLS service", s->domain);
		else
#endif
			XS2S_LOGI(0, "dns: %s: SRV target \".\": no XMPP server service", s->domain);
		s->srv_none |= (uint8_t)(1u << svc);
		return;
	}
	xs2s_dns_srv_order(v, n, resolve_rng, NULL);
	for (i = 0; i < n; i++) {
		XS2S_LOGD(0, "dns: %s: %s SRV %u %u %u", s->domain, what, v[i].prio, v[i].weight, v[i].port);
		resolve_target_insert(s, m, &v[i], svc == RESOLVE_SVC_DIRECT);
	}
	if (s->ntargets == before && n)
		s->srv_unusable |= (uint8_t)(1u << svc);
}

/* The SRV phase is over when every SRV query has settled: the targets'
 * addresses next, or the fallback, or the end of the lookup. */
static void resolve_srv_check(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, uint32_t now)
{
	unsigned i;

	for (i = 0; i < RESOLVE_SRV_QUERIES; i++)
		if (s->q[i].state == RESOLVE_Q_WAIT)
			return;
	if (s->ntargets) {
		for (i = 0; i < s->ntargets; i++)
			XS2S_LOGD(0, "dns: %s: target %u: %s:%u %s", s->domain, i, s->targets[i].name, s->targets[i].port,
				  s->targets[i].direct_tls ? "direct TLS" : "STARTTLS");
		resolve_addr_phase(r, s, now);
	} else if (s->srv_none & (1u << RESOLVE_SVC_STARTTLS)) {
		resolve_done(s, XS2S_ENOTFOUND); /* RFC 6120 3.2.1: "." is no service; no fallback */
	} else if (s->srv_none & (1u << RESOLVE_SVC_DIRECT)) {
		/* XEP-0368 5: "." for _xmpps-server: no A/AAAA fallback. */
		XS2S_LOGI(0, "dns: %s: no direct TLS and no _xmpp-server records (no fallback, XEP-0368 5)", s->domain);
		resolve_done(s, XS2S_ENOTFOUND);
	} else if (s->q[RESOLVE_SVC_STARTTLS].state == RESOLVE_Q_TIMEDOUT) {
		resolve_done(s, XS2S_ETIMEDOUT);
	} else if (s->srv_unusable) {
		XS2S_LOGI(0, "dns: %s: no usable SRV target", s->domain);
		resolve_done(s, XS2S_ENOTFOUND);
	} else {
		resolve_fallback(r, s, "no SRV records", now);
	}
}

/* Append (addr, port) unless already listed. */
static void resolve_cand_add(struct xs2s_resolve_slot *s, const uint8_t *a, unsigned len,
			     const struct xs2s_resolve_name *t)
{
	struct xs2s_target *c = &s->cand[s->ncand];
	unsigned i;

	xs2s_dns_addr_text(a, len, c->addr);
	c->port = t->port;
	c->direct_tls = t->direct_tls;
	for (i = 0; i < s->ncand; i++)
		if (s->cand[i].port == c->port && s->cand[i].direct_tls == c->direct_tls && !strcmp(s->cand[i].addr, c->addr))
			return;
	s->ncand++;
}

/* The list is ready when every target before the cut has settled. */
static void resolve_addr_check(struct xs2s_resolver *r, struct xs2s_resolve_slot *s)
{
	unsigned t, found = 0, i;
	bool timedout = false;

	for (t = 0; t < s->ntargets && found < RESOLVE_CANDS; t++) {
		const struct xs2s_resolve_query *q6 = &s->q[2 * t], *q4 = &s->q[2 * t + 1];

		if (q6->state == RESOLVE_Q_WAIT || q4->state == RESOLVE_Q_WAIT)
			return;
		found += q6->naddr + q4->naddr;
		timedout |= q6->state == RESOLVE_Q_TIMEDOUT || q4->state == RESOLVE_Q_TIMEDOUT;
	}
	s->ncand = 0;
	for (t = 0; t < s->ntargets && s->ncand < RESOLVE_CANDS; t++) {
		const struct xs2s_resolve_query *q6 = &s->q[2 * t], *q4 = &s->q[2 * t + 1];

		/* RFC 8305 4: alternate the families, IPv6 first. */
		for (i = 0; (i < q6->naddr || i < q4->naddr) && s->ncand < RESOLVE_CANDS; i++) {
			if (i < q6->naddr)
				resolve_cand_add(s, q6->addr[i], RESOLVE_ADDR_BYTES, &s->targets[t]);
			if (i < q4->naddr && s->ncand < RESOLVE_CANDS)
				resolve_cand_add(s, q4->addr[i], 4, &s->targets[t]);
		}
	}
	if (s->ncand) {
		XS2S_LOGI(0, "dns: %s: %u candidate(s), first %s:%u %s (%u ms)", s->domain, s->ncand, s->cand[0].addr,
			  s->cand[0].port, s->cand[0].direct_tls ? "direct TLS" : "STARTTLS",
			  (unsigned)(xs2s_port_now_ms() - s->started_ms));
		resolve_done(s, XS2S_OK);
	} else {
		XS2S_LOGI(0, "dns: %s: no address%s", s->domain, timedout ? " (server timed out)" : "");
		resolve_done(s, timedout ? XS2S_ETIMEDOUT : XS2S_ENOTFOUND);
	}
}

/* One datagram for lookup s. */
static void resolve_datagram(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, size_t len, uint32_t now)
{
	struct xs2s_dns_msg m;
	struct xs2s_dns_rr rr;
	struct xs2s_resolve_query *q = NULL;
	uint16_t id;
	unsigned i;
	int rc;

	if (len < 2)
		return;
	id = (uint16_t)(r->buf[0] << 8 | r->buf[1]);
	for (i = 0; i < s->nq; i++)
		if (s->q[i].state == RESOLVE_Q_WAIT && s->q[i].id == id)
			q = &s->q[i];
	if (!q)
		return; /* late duplicate, or not ours */
	rc = xs2s_dns_parse(&m, r->buf, len, id, resolve_query_name(r, s, q), q->type);
	if (rc == XS2S_EAGAIN) {
		XS2S_LOGD(0, "dns: ignoring a datagram that does not answer %s %s", resolve_type_name(q->type),
			  resolve_query_name(r, s, q));
		return;
	}
	if (rc == XS2S_EIO && m.rcode == XS2S_DNS_RCODE_FORMERR && !q->no_edns) {
		q->no_edns = 1; /* RFC 6891 7: ask again without EDNS(0) */
		q->tries = 0;
		resolve_send(r, s, q, now);
		return;
	}
	XS2S_LOGD(0, "dns: %s %s: %s, %u answer(s)", resolve_type_name(q->type), resolve_query_name(r, s, q),
		  rc == XS2S_OK ? "ok" : rc == XS2S_ENOTFOUND ? "NXDOMAIN" : xs2s_err_name(rc), rc == XS2S_OK ? m.count : 0);
	if (q->type == XS2S_DNS_TYPE_SRV) {
		q->state = RESOLVE_Q_ANSWERED;
		if (rc == XS2S_OK && m.count)
			resolve_srv_answer(r, s, &m, q->target);
		else
			XS2S_LOGD(0, "dns: %s: %s", resolve_query_name(r, s, q), rc == XS2S_OK ? "no SRV records" :
				  rc == XS2S_ENOTFOUND ? "NXDOMAIN" : rc == XS2S_ERANGE ? "truncated SRV answer" :
				  "SRV query failed");
		resolve_srv_check(r, s, now);
		return;
	}
	if (rc != XS2S_OK && rc != XS2S_ENOTFOUND) {
		q->state = RESOLVE_Q_FAILED;
		XS2S_LOGW(0, "dns: %s %s failed: %s (rcode %u)", resolve_type_name(q->type), resolve_query_name(r, s, q),
			  xs2s_err_name(rc), m.rcode);
	} else {
		q->state = RESOLVE_Q_ANSWERED;
		while (rc == XS2S_OK && xs2s_dns_next(&m, &rr))
			if (q->naddr < RESOLVE_CANDS)
				memcpy(q->addr[q->naddr++], rr.addr, RESOLVE_ADDR_BYTES);
	}
	resolve_addr_check(r, s);
}

/* The socket reported an error (an ICMP port unreachable: nothing serves
 * DNS there): the current try of every waiting query ends now, so a dead
 * server costs the retries but not their timeouts. */
static void resolve_refused(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, uint32_t now)
{
	unsigned i;

	XS2S_LOGD(0, "dns: %s: %s:%u refused", s->domain, r->server_addr, r->server_port);
	for (i = 0; i < s->nq; i++)
		if (s->q[i].state == RESOLVE_Q_WAIT)
			s->q[i].deadline = now;
}

/* Retransmit or give up the queries whose try timed out. */
static void resolve_timers(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, uint32_t now)
{
	unsigned i;

	for (i = 0; i < s->nq && (s->phase == RESOLVE_SRV || s->phase == RESOLVE_ADDR); i++) {
		struct xs2s_resolve_query *q = &s->q[i];

		if (q->state != RESOLVE_Q_WAIT || !XS2S_TIME_REACHED(now, q->deadline))
			continue;
		if (q->tries < RESOLVE_TRIES) {
			resolve_send(r, s, q, now);
		} else {
			q->state = RESOLVE_Q_TIMEDOUT;
			XS2S_LOGW(0, "dns: %s %s: no answer from %s:%u after %u tries", resolve_type_name(q->type),
				  resolve_query_name(r, s, q), r->server_addr, r->server_port, q->tries);
			if (s->phase == RESOLVE_SRV) {
				resolve_srv_check(r, s, now);
				if (s->phase != RESOLVE_SRV)
					return;
			}
		}
	}
	if (s->phase == RESOLVE_ADDR)
		resolve_addr_check(r, s);
}

/* Start the DNS part of a lookup of a domain not in the host map. */
static void resolve_dns_start(struct xs2s_resolver *r, struct xs2s_resolve_slot *s, const char *domain, uint32_t now)
{
	s->started_ms = now;
	s->nq = 0;
	s->ntargets = 0;
	s->srv_none = s->srv_unusable = 0;
	snprintf(s->domain, sizeof s->domain, "%s", domain);
	if (!r->server_ok) {
		XS2S_LOGW(0, "dns: %s: no DNS server known (set CONFIG_XS2S_DNS_SERVER or --dns-server)", domain);
		resolve_done(s, XS2S_ENOTFOUND);
		return;
	}
	if (xs2s_port_udp_open(r->server_addr, r->server_port, &s->sock) != XS2S_OK) {
		XS2S_LOGW(0, "dns: %s: cannot open a UDP socket to %s:%u", domain, r->server_addr, r->server_port);
		s->sock = XS2S_SOCK_NONE;
		resolve_done(s, XS2S_ENOTFOUND);
		return;
	}
	s->phase = RESOLVE_SRV;
	resolve_query_start(r, s, XS2S_DNS_TYPE_SRV, RESOLVE_SVC_STARTTLS, now);
#if CONFIG_XS2S_DIRECT_TLS
	resolve_query_start(r, s, XS2S_DNS_TYPE_SRV, RESOLVE_SVC_DIRECT, now); /* XEP-0368 3 */
#endif
	resolve_srv_check(r, s, now); /* both names too long for DNS: the fallback */
}

/* The DNS server: the config's, else Kconfig's, else the port's. */
static int resolve_server_init(struct xs2s_resolver *r, const char *dns_server)
{
	const char *from = "--dns-server";

	if (dns_server && dns_server[0]) {
		if (xs2s_addr_port_parse(dns_server, XS2S_DNS_PORT, r->server_addr, &r->server_port) != XS2S_OK) {
			XS2S_LOGE(0, "dns: bad DNS server '%s' (want ADDR[:PORT])", dns_server);
			return XS2S_EINVAL;
		}
		r->server_ok = true;
	} else if (CONFIG_XS2S_DNS_SERVER[0]) {
		from = "CONFIG_XS2S_DNS_SERVER";
		r->server_ok = xs2s_addr_port_parse(CONFIG_XS2S_DNS_SERVER, XS2S_DNS_PORT, r->server_addr,
						    &r->server_port) == XS2S_OK;
		if (!r->server_ok)
			XS2S_LOGW(0, "dns: ignoring bad CONFIG_XS2S_DNS_SERVER '%s'", CONFIG_XS2S_DNS_SERVER);
	} else {
		from = "the port";
		r->server_ok = xs2s_port_dns_server(r->server_addr, &r->server_port) == XS2S_OK;
	}
	if (r->server_ok)
		XS2S_LOGI(0, "dns: server %s:%u (from %s)", r->server_addr, r->server_port, from);
	else
		XS2S_LOGW(0, "dns: no server: peers resolve through the host map only");
	return XS2S_OK;
}

#else /* !CONFIG_XS2S_DNS */

static int resolve_server_init(struct xs2s_resolver *r, const char *dns_server)
{
	(void)r;
	if (dns_server && dns_server[0]) {
		XS2S_LOGE(0, "dns: a DNS server is set but this build has no DNS (CONFIG_XS2S_DNS)");
		return XS2S_EINVAL;
	}
	return XS2S_OK;
}

#endif

/* ---- the static host map ---- */

int xs2s_addr_port_parse(const char *s, uint16_t def_port, char addr[XS2S_ADDR_MAX], uint16_t *port)
{
	const char *colon;
	size_t n;
	unsigned long p = def_port;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end)
			return XS2S_EINVAL;
		n = (size_t)(end - s - 1);
		if (n == 0 || n >= XS2S_ADDR_MAX)
			return XS2S_EINVAL;
		memcpy(addr, s + 1, n);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return XS2S_EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* bare IPv6 address */
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n == 0 || n >= XS2S_ADDR_MAX)
			return XS2S_EINVAL;
		memcpy(addr, s, n);
	}
	addr[n] = '\0';
	if (colon) {
		char *end;
		p = strtoul(colon + 1, &end, 10);
		if (*end || p == 0 || p > 65535)
			return XS2S_EINVAL;
	}
	*port = (uint16_t)p;
	return XS2S_OK;
}

/* Parse "domain=addr:port[/tls]" into domain, addr, *port and *direct. */
static int resolve_map_parse(const char *entry, char domain[XS2S_DOMAIN_MAX + 1], char addr[XS2S_ADDR_MAX],
			     uint16_t *port, bool *direct)
{
	static const char tls_suffix[] = "/tls";
	const char *eq = strchr(entry, '=');
	char where[XS2S_ADDR_MAX + 8];
	size_t n;

	if (!eq)
		return XS2S_EINVAL;
	n = (size_t)(eq - entry);
	if (n == 0 || n > XS2S_DOMAIN_MAX)
		return XS2S_EINVAL;
	memcpy(domain, entry, n);
	domain[n] = '\0';
	n = strlen(eq + 1);
	if (n >= sizeof where)
		return XS2S_EINVAL;
	memcpy(where, eq + 1, n + 1);
	*direct = n >= sizeof tls_suffix - 1 && !strcmp(where + n - (sizeof tls_suffix - 1), tls_suffix);
	if (*direct) {
#if !CONFIG_XS2S_DIRECT_TLS
		return XS2S_EINVAL; /* a build without XEP-0368 */
#endif
		where[n - (sizeof tls_suffix - 1)] = '\0';
	}
	if (!xs2s_domain_valid(domain) || xs2s_addr_port_parse(where, XS2S_XMPP_SERVER_PORT, addr, port) != XS2S_OK)
		return XS2S_EINVAL;
	return XS2S_OK;
}

bool xs2s_resolve_map_entry_valid(const char *entry)
{
	char domain[XS2S_DOMAIN_MAX + 1], addr[XS2S_ADDR_MAX];
	uint16_t port;
	bool direct;

	return entry && resolve_map_parse(entry, domain, addr, &port, &direct) == XS2S_OK;
}

int xs2s_resolve_map_add(struct xs2s_resolver *r, const char *entry)
{
	if (r->nmap >= XS2S_HOSTMAP_ENTRIES ||
	    resolve_map_parse(entry, r->map[r->nmap].domain, r->map[r->nmap].addr, &r->map[r->nmap].port,
			      &r->map[r->nmap].direct_tls) != XS2S_OK)
		return XS2S_EINVAL;
	r->nmap++;
	return XS2S_OK;
}

/* Space-separated entries of list into the map; XS2S_EINVAL (logged) for a bad one. */
static int resolve_map_list(struct xs2s_resolver *r, const char *list, const char *what)
{
	char entry[XS2S_DOMAIN_MAX + XS2S_ADDR_MAX + 16];

	while (list && *list) {
		size_t n = strcspn(list, " \t");

		if (n >= sizeof entry || (n && (memcpy(entry, list, n), entry[n] = '\0',
						xs2s_resolve_map_add(r, entry) != XS2S_OK))) {
			XS2S_LOGE(0, "bad %s entry '%.*s' (want domain=addr:port[/tls], at most %d entries)", what, (int)n, list,
				  XS2S_HOSTMAP_ENTRIES);
			return XS2S_EINVAL;
		}
		list += n;
		list += strspn(list, " \t");
	}
	return XS2S_OK;
}

/* The host map's answer for domain, or XS2S_ENOTFOUND. */
static int resolve_map_find(const struct xs2s_resolver *r, const char *domain, struct xs2s_target *t)
{
	unsigned i;

	for (i = 0; i < r->nmap; i++)
		if (!strcmp(r->map[i].domain, domain)) {
			memcpy(t->addr, r->map[i].addr, XS2S_ADDR_MAX);
			t->port = r->map[i].port;
			t->direct_tls = r->map[i].direct_tls;
			return XS2S_OK;
		}
	return XS2S_ENOTFOUND;
}

int xs2s_resolve_init(struct xs2s_resolver *r, const char *host_map, const char *dns_server)
{
	unsigned i;

	memset(r, 0, sizeof *r);
	for (i = 0; i < RESOLVE_SLOTS; i++) {
#if CONFIG_XS2S_DNS
		r->slots[i].sock = XS2S_SOCK_NONE;
#endif
	}
	if (resolve_map_list(r, CONFIG_XS2S_HOST_MAP, "CONFIG_XS2S_HOST_MAP") != XS2S_OK ||
	    resolve_map_list(r, host_map, "host map") != XS2S_OK)
		return XS2S_EINVAL;
	return resolve_server_init(r, dns_server);
}

/* ---- lookups ---- */

int xs2s_resolve_start(struct xs2s_resolver *r, const char *domain)
{
	struct xs2s_resolve_slot *s = NULL;
	unsigned i;

	if (!domain || !domain[0])
		return XS2S_EINVAL;
	for (i = 0; i < RESOLVE_SLOTS && !s; i++)
		if (r->slots[i].phase == RESOLVE_FREE)
			s = &r->slots[i];
	if (!s)
		return XS2S_ENOMEM;
	s->gen = (uint16_t)((s->gen + 1) & RESOLVE_GEN_MASK);
	s->ncand = 0;
#if CONFIG_XS2S_DNS
	s->sock = XS2S_SOCK_NONE;
#endif
	if (resolve_map_find(r, domain, &s->cand[0]) == XS2S_OK) {
		s->ncand = 1;
		resolve_done(s, XS2S_OK);
		return resolve_handle(r, s);
	}
#if CONFIG_XS2S_DNS
	/* Refuse what can never be a DNS name before taking the slot. */
	if (xs2s_dns_query(r->qbuf, sizeof r->qbuf, 0, domain, XS2S_DNS_TYPE_A, 0) < 0)
		return XS2S_EINVAL;
	resolve_dns_start(r, s, domain, xs2s_port_now_ms());
#else
	resolve_done(s, XS2S_ENOTFOUND);
#endif
	return resolve_handle(r, s);
}

int xs2s_resolve_result(struct xs2s_resolver *r, int h, struct xs2s_target *t, unsigned *n)
{
	struct xs2s_resolve_slot *s = resolve_slot_of(r, h);
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

bool xs2s_resolve_done(const struct xs2s_resolver *r, int h)
{
	const struct xs2s_resolve_slot *s = resolve_slot_of(r, h);

	return !s || s->phase == RESOLVE_DONE;
}

void xs2s_resolve_cancel(struct xs2s_resolver *r, int h)
{
	struct xs2s_resolve_slot *s = resolve_slot_of(r, h);

	if (!s)
		return;
	resolve_done(s, XS2S_ENOTFOUND); /* closes the socket */
	s->phase = RESOLVE_FREE;
}

bool xs2s_resolve_can_start(const struct xs2s_resolver *r)
{
	return xs2s_resolve_busy(r) < RESOLVE_SLOTS;
}

unsigned xs2s_resolve_busy(const struct xs2s_resolver *r)
{
	unsigned i, n = 0;

	for (i = 0; i < RESOLVE_SLOTS; i++)
		n += r->slots[i].phase != RESOLVE_FREE;
	return n;
}

unsigned xs2s_resolve_pollfds(const struct xs2s_resolver *r, struct xs2s_pollfd *fds, unsigned max)
{
	unsigned n = 0;
#if CONFIG_XS2S_DNS
	unsigned i;

	for (i = 0; i < RESOLVE_SLOTS && n < max; i++) {
		const struct xs2s_resolve_slot *s = &r->slots[i];

		if ((s->phase == RESOLVE_SRV || s->phase == RESOLVE_ADDR) && s->sock != XS2S_SOCK_NONE) {
			fds[n].sock = s->sock;
			fds[n].want = XS2S_POLL_IN;
			fds[n].got = 0;
			n++;
		}
	}
#else
	(void)r;
	(void)fds;
	(void)max;
#endif
	return n;
}

void xs2s_resolve_step(struct xs2s_resolver *r, uint32_t now_ms)
{
#if CONFIG_XS2S_DNS
	unsigned i, k;

	for (i = 0; i < RESOLVE_SLOTS; i++) {
		struct xs2s_resolve_slot *s = &r->slots[i];

		for (k = 0; k < RESOLVE_STEP_READS && (s->phase == RESOLVE_SRV || s->phase == RESOLVE_ADDR); k++) {
			int n = xs2s_port_udp_recv(s->sock, r->buf, sizeof r->buf);

			if (n == XS2S_EWANTREAD)
				break;
			if (n >= 0)
				resolve_datagram(r, s, (size_t)n, now_ms);
			else if (n == XS2S_EIO)
				resolve_refused(r, s, now_ms);
			/* else: an oversized datagram, dropped */
		}
		if (s->phase == RESOLVE_SRV || s->phase == RESOLVE_ADDR)
			resolve_timers(r, s, now_ms);
	}
#else
	(void)r;
	(void)now_ms;
#endif
}

uint32_t xs2s_resolve_next_ms(const struct xs2s_resolver *r, uint32_t now_ms)
{
	uint32_t best = UINT32_MAX;
#if CONFIG_XS2S_DNS
	unsigned i, j;

	for (i = 0; i < RESOLVE_SLOTS; i++) {
		const struct xs2s_resolve_slot *s = &r->slots[i];

		if (s->phase != RESOLVE_SRV && s->phase != RESOLVE_ADDR)
			continue;
		for (j = 0; j < s->nq; j++) {
			const struct xs2s_resolve_query *q = &s->q[j];
			uint32_t left;

			if (q->state != RESOLVE_Q_WAIT)
				continue;
			left = XS2S_TIME_REACHED(now_ms, q->deadline) ? 0 : q->deadline - now_ms;
			if (left < best)
				best = left;
		}
	}
#else
	(void)r;
	(void)now_ms;
#endif
	return best;
}
