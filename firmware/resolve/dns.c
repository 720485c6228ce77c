/* DNS message codec: queries out, responses in. See dns.h for what is
 * accepted. Pure: no I/O, no allocation, no state outside the caller's. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "resolve/dns.h"

#define DNS_MSG_MAX 65535u     /* RFC 1035 4.2.2: a message length fits 16 bits */
#define DNS_QNAME_OFF XS2S_DNS_HDR_LEN
#define DNS_RR_FIXED 10        /* type, class, TTL, RDLENGTH after the owner name */
#define DNS_Q_FIXED 4          /* type, class after the question name */
#define DNS_SRV_FIXED 6        /* priority, weight, port before the target */
#define DNS_A_LEN 4
#define DNS_AAAA_LEN 16

/* Header flags (RFC 1035 4.1.1). */
#define DNS_FLAG_QR 0x8000u
#define DNS_FLAG_TC 0x0200u
#define DNS_FLAG_RD 0x0100u
#define DNS_OPCODE_MASK 0x7800u
#define DNS_RCODE_MASK 0x000fu

/* Label length octet: 11 = pointer, 01/10 = extended types (refused). */
#define DNS_LABEL_KIND 0xc0u
#define DNS_PTR_HIGH 0x3fu

#define DNS_IPV6_GROUPS 8

static uint16_t dns_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t dns_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void dns_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* A byte allowed in a label's text form: printable ASCII but '.' and '\'
 * (no escapes: a name's text form maps to exactly one wire form). */
static bool dns_label_char(uint8_t c)
{
	return c > ' ' && c < 0x7f && c != '.' && c != '\\';
}

static uint8_t dns_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

/* Text name to wire form in out (XS2S_DNS_WIRE_NAME_MAX bytes are enough):
 * the length, or XS2S_EINVAL. */
static int dns_name_encode(uint8_t *out, const char *name)
{
	size_t o = 0, i = 0, n = strlen(name);

	if (n && name[n - 1] == '.')
		n--; /* one trailing dot: the same, fully qualified name */
	if (n == 0)
		return XS2S_EINVAL;
	while (i < n) {
		size_t start = i;

		while (i < n && name[i] != '.') {
			if (!dns_label_char((uint8_t)name[i]))
				return XS2S_EINVAL;
			i++;
		}
		if (i == start || i - start > XS2S_DNS_LABEL_MAX || o + 1 + (i - start) + 1 > XS2S_DNS_WIRE_NAME_MAX)
			return XS2S_EINVAL;
		out[o++] = (uint8_t)(i - start);
		memcpy(out + o, name + start, i - start);
		o += i - start;
		if (i < n)
			i++; /* the dot; an empty label after it is caught above */
		if (i == n && name[n - 1] == '.')
			return XS2S_EINVAL; /* "a..": an empty label before the trailing dot */
	}
	out[o++] = 0;
	return (int)o;
}

/* A cursor over the labels of one name in a message. */
struct dns_cur {
	const uint8_t *p;
	size_t len;
	size_t pos;    /* next length octet */
	size_t floor;  /* a pointer must point below this: jumps strictly decrease */
	size_t end;    /* offset after the name's in-place part; 0 until known */
	size_t wire;   /* octets of the name so far */
	unsigned hops;
};

static void dns_cur_init(struct dns_cur *c, const uint8_t *p, size_t len, size_t off)
{
	c->p = p;
	c->len = len;
	c->pos = off;
	c->floor = off;
	c->end = 0;
	c->wire = 0;
	c->hops = 0;
}

/* The next label: its length (0: the root, the name is complete) and *lab,
 * or -1 when the name is malformed. */
static int dns_cur_label(struct dns_cur *c, const uint8_t **lab)
{
	for (;;) {
		uint8_t b;

		if (c->pos >= c->len)
			return -1;
		b = c->p[c->pos];
		if ((b & DNS_LABEL_KIND) == DNS_LABEL_KIND) {
			size_t to;

			if (c->pos + 1 >= c->len || ++c->hops > XS2S_DNS_PTR_HOPS_MAX)
				return -1;
			to = (size_t)(b & DNS_PTR_HIGH) << 8 | c->p[c->pos + 1];
			if (to >= c->floor)
				return -1; /* forward, self or loop */
			if (!c->end)
				c->end = c->pos + 2;
			c->floor = to;
			c->pos = to;
			continue;
		}
		if (b & DNS_LABEL_KIND)
			return -1; /* extended label types (RFC 6891 5) */
		if (c->pos + 1 + b > c->len)
			return -1;
		c->wire += 1u + b;
		if (c->wire > XS2S_DNS_WIRE_NAME_MAX)
			return -1;
		*lab = c->p + c->pos + 1;
		c->pos += 1u + b;
		if (b == 0 && !c->end)
			c->end = c->pos;
		return b;
	}
}

/* Check the name at off; *end: the offset after its in-place part. */
static int dns_name_skip(const uint8_t *p, size_t len, size_t off, size_t *end)
{
	struct dns_cur c;
	const uint8_t *lab;
	int n;

	dns_cur_init(&c, p, len, off);
	while ((n = dns_cur_label(&c, &lab)) > 0)
		;
	if (n < 0)
		return -1;
	*end = c.end;
	return 0;
}

/* Names a (in pa) and b (in pb) equal, ASCII case-insensitively: 1 or 0;
 * -1 when either is malformed. */
static int dns_name_eq(const uint8_t *pa, size_t la, size_t oa, const uint8_t *pb, size_t lb, size_t ob)
{
	struct dns_cur a, b;

	dns_cur_init(&a, pa, la, oa);
	dns_cur_init(&b, pb, lb, ob);
	for (;;) {
		const uint8_t *x, *y;
		int nx = dns_cur_label(&a, &x), ny = dns_cur_label(&b, &y), i;

		if (nx < 0 || ny < 0)
			return -1;
		if (nx != ny)
			return 0;
		for (i = 0; i < nx; i++)
			if (dns_lower(x[i]) != dns_lower(y[i]))
				return 0;
		if (nx == 0)
			return 1;
	}
}

int xs2s_dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t type,
		   uint16_t edns_payload)
{
	uint8_t wire[XS2S_DNS_WIRE_NAME_MAX];
	int n = dns_name_encode(wire, name);
	size_t len;

	if (n < 0)
		return n;
	len = XS2S_DNS_HDR_LEN + (size_t)n + DNS_Q_FIXED + (edns_payload ? XS2S_DNS_OPT_LEN : 0);
	if (len > cap)
		return XS2S_ERANGE;
	memset(buf, 0, len);
	dns_put16(buf, id);
	dns_put16(buf + 2, DNS_FLAG_RD);
	dns_put16(buf + 4, 1);                   /* QDCOUNT */
	dns_put16(buf + 10, edns_payload ? 1 : 0); /* ARCOUNT */
	memcpy(buf + XS2S_DNS_HDR_LEN, wire, (size_t)n);
	dns_put16(buf + XS2S_DNS_HDR_LEN + n, type);
	dns_put16(buf + XS2S_DNS_HDR_LEN + n + 2, XS2S_DNS_CLASS_IN);
	if (edns_payload) {
		uint8_t *o = buf + XS2S_DNS_HDR_LEN + n + DNS_Q_FIXED;
		/* root owner (0), TYPE OPT, CLASS = payload size, TTL 0 (no DO), RDLENGTH 0 */
		dns_put16(o + 1, XS2S_DNS_TYPE_OPT);
		dns_put16(o + 3, edns_payload);
	}
	return (int)len;
}

/* Check one resource record at *pos and step over it. In the answer
 * section, records of class IN that the resolver may read (the asked type,
 * CNAME) must also have well-formed data. */
static int dns_rr_check(const struct xs2s_dns_msg *m, size_t *pos, bool answer)
{
	size_t end, rd, rdlen;
	uint16_t type, cls;

	if (dns_name_skip(m->p, m->len, *pos, &end) < 0 || end + DNS_RR_FIXED > m->len)
		return -1;
	type = dns_get16(m->p + end);
	cls = dns_get16(m->p + end + 2);
	rdlen = dns_get16(m->p + end + 8);
	rd = end + DNS_RR_FIXED;
	if (rd + rdlen > m->len)
		return -1;
	*pos = rd + rdlen;
	if (!answer || cls != XS2S_DNS_CLASS_IN)
		return 0;
	if (type == XS2S_DNS_TYPE_CNAME)
		return dns_name_skip(m->p, m->len, rd, &end) < 0 || end != rd + rdlen ? -1 : 0;
	if (type != m->qtype)
		return 0;
	switch (type) {
	case XS2S_DNS_TYPE_A:
		return rdlen == DNS_A_LEN ? 0 : -1;
	case XS2S_DNS_TYPE_AAAA:
		return rdlen == DNS_AAAA_LEN ? 0 : -1;
	case XS2S_DNS_TYPE_SRV:
		if (rdlen <= DNS_SRV_FIXED)
			return -1;
		return dns_name_skip(m->p, m->len, rd + DNS_SRV_FIXED, &end) < 0 || end != rd + rdlen ? -1 : 0;
	default:
		return 0;
	}
}

/* Look at the answer record at *pos (checked by parse) and step over it.
 * Returns its type if it is of class IN and owned by owner, else 0; *rd is
 * the offset of its data. */
static uint16_t dns_rr_owned(const struct xs2s_dns_msg *m, size_t *pos, size_t owner, size_t *rd)
{
	size_t end;
	uint16_t type, cls;
	int eq;

	if (dns_name_skip(m->p, m->len, *pos, &end) < 0)
		return 0; /* cannot happen after parse */
	eq = dns_name_eq(m->p, m->len, *pos, m->p, m->len, owner);
	type = dns_get16(m->p + end);
	cls = dns_get16(m->p + end + 2);
	*rd = end + DNS_RR_FIXED;
	*pos = *rd + dns_get16(m->p + end + 8);
	return eq == 1 && cls == XS2S_DNS_CLASS_IN ? type : 0;
}

/* The target of a CNAME owned by owner in the answer section, or 0. */
static size_t dns_find_cname(const struct xs2s_dns_msg *m, size_t an, unsigned count, size_t owner)
{
	size_t pos = an, rd;
	unsigned i;

	for (i = 0; i < count; i++)
		if (dns_rr_owned(m, &pos, owner, &rd) == XS2S_DNS_TYPE_CNAME)
			return rd;
	return 0;
}

int xs2s_dns_parse(struct xs2s_dns_msg *m, const uint8_t *msg, size_t len, uint16_t id, const char *qname,
		   uint16_t qtype)
{
	uint8_t qwire[XS2S_DNS_WIRE_NAME_MAX];
	int qn = dns_name_encode(qwire, qname);
	size_t pos, an, rd;
	unsigned counts, i, ancount;
	uint16_t flags;

	memset(m, 0, sizeof *m);
	m->p = msg;
	m->len = len;
	m->qtype = qtype;
	if (qn < 0 || qtype == XS2S_DNS_TYPE_CNAME)
		return XS2S_EINVAL;
	if (len < XS2S_DNS_HDR_LEN || len > DNS_MSG_MAX || dns_get16(msg) != id)
		return XS2S_EAGAIN;
	flags = dns_get16(msg + 2);
	if (!(flags & DNS_FLAG_QR) || (flags & DNS_OPCODE_MASK))
		return XS2S_EAGAIN;
	m->rcode = (uint8_t)(flags & DNS_RCODE_MASK);
	if (dns_get16(msg + 4) == 0 && m->rcode == XS2S_DNS_RCODE_FORMERR)
		return XS2S_EIO; /* a server that rejects the query may not echo it (EDNS) */
	if (dns_get16(msg + 4) != 1 || dns_name_eq(msg, len, DNS_QNAME_OFF, qwire, (size_t)qn, 0) != 1 ||
	    dns_name_skip(msg, len, DNS_QNAME_OFF, &pos) < 0 || pos + DNS_Q_FIXED > len ||
	    dns_get16(msg + pos) != qtype || dns_get16(msg + pos + 2) != XS2S_DNS_CLASS_IN)
		return XS2S_EAGAIN;
	if (flags & DNS_FLAG_TC)
		return XS2S_ERANGE;
	pos += DNS_Q_FIXED;
	an = pos;
	ancount = dns_get16(msg + 6);
	counts = ancount + dns_get16(msg + 8) + dns_get16(msg + 10);
	for (i = 0; i < counts; i++)
		if (dns_rr_check(m, &pos, i < ancount) < 0)
			return XS2S_EPROTO;
	if (m->rcode == XS2S_DNS_RCODE_NXDOMAIN)
		return XS2S_ENOTFOUND;
	if (m->rcode != XS2S_DNS_RCODE_NOERROR)
		return XS2S_EIO;
	/* Follow the alias chain from the question name. */
	m->owner = DNS_QNAME_OFF;
	for (i = 0;; i++) {
		size_t to = dns_find_cname(m, an, ancount, m->owner);

		if (!to)
			break;
		if (i == XS2S_DNS_CNAME_MAX)
			return XS2S_EPROTO; /* too long, or a loop */
		m->owner = (uint16_t)to;
	}
	pos = an;
	for (i = 0; i < ancount; i++)
		if (dns_rr_owned(m, &pos, m->owner, &rd) == qtype)
			m->count++;
	m->next = (uint16_t)an;
	m->left = (uint16_t)ancount;
	return XS2S_OK;
}

int xs2s_dns_next(struct xs2s_dns_msg *m, struct xs2s_dns_rr *rr)
{
	while (m->left) {
		size_t pos = m->next, rd;
		uint16_t type = dns_rr_owned(m, &pos, m->owner, &rd);

		m->next = (uint16_t)pos;
		m->left--;
		if (type != m->qtype)
			continue;
		memset(rr, 0, sizeof *rr);
		rr->type = type;
		rr->ttl = dns_get32(m->p + rd - 6);
		if (type == XS2S_DNS_TYPE_A)
			memcpy(rr->addr, m->p + rd, DNS_A_LEN);
		else if (type == XS2S_DNS_TYPE_AAAA)
			memcpy(rr->addr, m->p + rd, DNS_AAAA_LEN);
		else if (type == XS2S_DNS_TYPE_SRV) {
			rr->prio = dns_get16(m->p + rd);
			rr->weight = dns_get16(m->p + rd + 2);
			rr->port = dns_get16(m->p + rd + 4);
			rr->target = (uint16_t)(rd + DNS_SRV_FIXED);
		}
		return 1;
	}
	return 0;
}

int xs2s_dns_name(const struct xs2s_dns_msg *m, uint16_t off, char *out, size_t cap)
{
	struct dns_cur c;
	const uint8_t *lab;
	size_t o = 0;
	int n, i;

	if (cap == 0)
		return XS2S_ERANGE;
	dns_cur_init(&c, m->p, m->len, off);
	while ((n = dns_cur_label(&c, &lab)) > 0) {
		if (o + (o ? 1u : 0u) + (size_t)n + 1 > cap)
			return XS2S_ERANGE;
		if (o)
			out[o++] = '.';
		for (i = 0; i < n; i++) {
			if (!dns_label_char(lab[i]))
				return XS2S_EINVAL;
			out[o++] = (char)dns_lower(lab[i]);
		}
	}
	if (n < 0)
		return XS2S_EINVAL;
	out[o] = '\0';
	return XS2S_OK;
}

/* A draw in [0, bound] from a 32-bit random number. */
static uint32_t dns_draw(xs2s_dns_rng rng, void *ctx, uint32_t bound)
{
	return (uint32_t)(((uint64_t)rng(ctx) * ((uint64_t)bound + 1)) >> 32);
}

void xs2s_dns_srv_order(struct xs2s_dns_srv *v, unsigned n, xs2s_dns_rng rng, void *ctx)
{
	unsigned i, j, start;

	/* Stable insertion sort by priority (n is small and bounded). */
	for (i = 1; i < n; i++) {
		struct xs2s_dns_srv x = v[i];

		for (j = i; j > 0 && v[j - 1].prio > x.prio; j--)
			v[j] = v[j - 1];
		v[j] = x;
	}
	for (start = 0; start < n;) {
		unsigned end = start;

		while (end < n && v[end].prio == v[start].prio)
			end++;
		/* RFC 2782 "Weight": fill v[pos] by weighted draws from v[pos..end). */
		for (i = start; i + 1 < end; i++) {
			uint32_t sum = 0, run = 0, r;
			struct xs2s_dns_srv x;
			unsigned k = i;

			/* weight-0 records go first in the running sum (stable). */
			for (j = i; j < end; j++) {
				if (v[j].weight == 0) {
					x = v[j];
					memmove(&v[k + 1], &v[k], (j - k) * sizeof *v);
					v[k++] = x;
				}
			}
			for (j = i; j < end; j++)
				sum += v[j].weight;
			r = dns_draw(rng, ctx, sum);
			for (j = i; j < end; j++) {
				run += v[j].weight;
				if (run >= r)
					break;
			}
			x = v[j];
			memmove(&v[i + 1], &v[i], (j - i) * sizeof *v);
			v[i] = x;
		}
		start = end;
	}
}

void xs2s_dns_addr_text(const uint8_t *a, unsigned len, char out[XS2S_ADDR_MAX])
{
	uint16_t g[DNS_IPV6_GROUPS];
	int best = -1, best_len = 0, i, o = 0;

	if (len == DNS_A_LEN) {
		snprintf(out, XS2S_ADDR_MAX, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
		return;
	}
	if (len != DNS_AAAA_LEN) {
		out[0] = '\0';
		return;
	}
	for (i = 0; i < DNS_IPV6_GROUPS; i++)
		g[i] = dns_get16(a + 2 * i);
	/* RFC 5952 4.2: the longest run of two or more zero groups, the first on a tie. */
	for (i = 0; i < DNS_IPV6_GROUPS;) {
		int j = i;

		while (j < DNS_IPV6_GROUPS && g[j] == 0)
			j++;
		if (j - i > best_len && j - i >= 2) {
			best = i;
			best_len = j - i;
		}
		i = j > i ? j : i + 1;
	}
	for (i = 0; i < DNS_IPV6_GROUPS; i++) {
		if (i == best) {
			o += snprintf(out + o, (size_t)(XS2S_ADDR_MAX - o), "::");
			i += best_len - 1;
			continue;
		}
		o += snprintf(out + o, (size_t)(XS2S_ADDR_MAX - o), "%s%x", o && out[o - 1] != ':' ? ":" : "", g[i]);
	}
}
