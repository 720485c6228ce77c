/* A tiny authoritative DNS server for the scenarios, answering over the fake
 * port's UDP (RFC 1035 4.1 messages; SRV per RFC 2782). Written from the
 * RFCs, independent of firmware/dns.c, which it tests.
 *
 * Zone:
 *   _xmpp-server._tcp.dns.test    SRV 0 5 5269 host1.dns.test
 *   host1.dns.test                A 192.0.2.2  (AAAA: no data)
 *   _xmpp-server._tcp.two.test    SRV 0 5 5269 dead.two.test, SRV 10 5 5269 host1.dns.test
 *   dead.two.test                 A 192.0.2.9  (nothing listens: refused)
 *   _xmpp-server._tcp.nosrv.test  NXDOMAIN, so nosrv.test itself on 5269:
 *   nosrv.test                    A 192.0.2.3  (AAAA: no data)
 *   _xmpp-server._tcp.dot.test    SRV 0 0 0 .  (no XMPP service)
 *   *.slow.test                   no answer at all
 *   anything else                 NXDOMAIN
 */
#include <string.h>
#include "dns_zone.h"

#define DNS_HDR 12
#define T_A 1
#define T_AAAA 28
#define T_SRV 33
#define RCODE_NXDOMAIN 3
#define TTL 300

size_t sc_dns_question(const uint8_t *q, size_t n, char *out, size_t cap, uint16_t *qtype)
{
	size_t off = DNS_HDR, o = 0;

	while (off < n && q[off]) {
		size_t l = q[off++];

		if (l > 63 || off + l > n || o + l + 2 > cap)
			return 0;
		if (o)
			out[o++] = '.';
		memcpy(out + o, q + off, l);
		o += l;
		off += l;
	}
	out[o] = '\0';
	if (off + 5 > n)
		return 0;
	*qtype = (uint16_t)(q[off + 1] << 8 | q[off + 2]);
	return off + 5;
}

size_t sc_dns_put16(uint8_t *p, size_t off, unsigned v)
{
	p[off] = (uint8_t)(v >> 8);
	p[off + 1] = (uint8_t)v;
	return off + 2;
}

/* One answer record named by a pointer to the question (offset 12). */
static size_t zone_rr(uint8_t *r, size_t off, uint16_t type, const uint8_t *rdata, size_t len)
{
	off = sc_dns_put16(r, off, 0xc000 | DNS_HDR);
	off = sc_dns_put16(r, off, type);
	off = sc_dns_put16(r, off, 1); /* IN */
	off = sc_dns_put16(r, off, TTL >> 16);
	off = sc_dns_put16(r, off, TTL & 0xffff);
	off = sc_dns_put16(r, off, (unsigned)len);
	memcpy(r + off, rdata, len);
	return off + len;
}

/* An SRV record's rdata: priority, weight, port, target in labels. */
static size_t zone_srv(uint8_t *d, unsigned prio, unsigned weight, unsigned port, const char *target)
{
	size_t off = sc_dns_put16(d, 0, prio);

	off = sc_dns_put16(d, off, weight);
	off = sc_dns_put16(d, off, port);
	while (*target) {
		const char *dot = strchr(target, '.');
		size_t l = dot ? (size_t)(dot - target) : strlen(target);

		d[off++] = (uint8_t)l;
		memcpy(d + off, target, l);
		off += l;
		target += l + (dot ? 1 : 0);
	}
	d[off++] = 0;
	return off;
}

int sc_dns_zone(void *arg, const uint8_t *q, size_t n, uint8_t *r, size_t cap)
{
	char name[256];
	uint8_t rdata[300], rdata2[300];
	uint16_t qtype = 0;
	size_t qend = sc_dns_question(q, n, name, sizeof name, &qtype), off, rl = 0, rl2 = 0;
	unsigned ancount = 0, rcode = 0;

	(void)arg;
	if (!qend || qend + 300 > cap)
		return -1;
	if (strlen(name) >= 9 && !strcmp(name + strlen(name) - 9, "slow.test"))
		return -1; /* lost */
	if (qtype == T_SRV && !strcmp(name, "_xmpp-server._tcp.dns.test")) {
		rl = zone_srv(rdata, 0, 5, 5269, "host1.dns.test");
	} else if (qtype == T_SRV && !strcmp(name, "_xmpp-server._tcp.two.test")) {
		rl = zone_srv(rdata, 0, 5, 5269, "dead.two.test");     /* refused */
		rl2 = zone_srv(rdata2, 10, 5, 5269, "host1.dns.test"); /* b.test's listener */
	} else if (qtype == T_A && !strcmp(name, "dead.two.test")) {
		static const uint8_t a[] = { 192, 0, 2, 9 };
		memcpy(rdata, a, rl = sizeof a);
	} else if (qtype == T_SRV && !strcmp(name, "_xmpp-server._tcp.dot.test")) {
		rl = zone_srv(rdata, 0, 0, 0, "");
	} else if (qtype == T_A && !strcmp(name, "host1.dns.test")) {
		static const uint8_t a[] = { 192, 0, 2, 2 };
		memcpy(rdata, a, rl = sizeof a);
	} else if (qtype == T_A && !strcmp(name, "nosrv.test")) {
		static const uint8_t a[] = { 192, 0, 2, 3 };
		memcpy(rdata, a, rl = sizeof a);
	} else if (strcmp(name, "host1.dns.test") && strcmp(name, "nosrv.test") && strcmp(name, "dead.two.test")) {
		rcode = RCODE_NXDOMAIN;
	} /* else: the name exists, no record of that type */
	memcpy(r, q, qend); /* id and question */
	r[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD copied */
	r[3] = (uint8_t)(0x80 | rcode); /* RA */
	if (rl)
		ancount = rl2 ? 2 : 1;
	sc_dns_put16(r, 6, ancount);
	sc_dns_put16(r, 8, 0);
	sc_dns_put16(r, 10, 0); /* no additional records (the query's OPT is not echoed) */
	off = qend;
	if (rl)
		off = zone_rr(r, off, qtype, rdata, rl);
	if (rl2)
		off = zone_rr(r, off, qtype, rdata2, rl2);
	return (int)off;
}
