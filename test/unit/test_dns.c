/* Unit tests for the DNS codec (firmware/resolve/dns.c): query bytes, response
 * checks (question echo, id, TC, RCODE), answers (SRV, A, AAAA, CNAME
 * aliases), compression pointers, truncation at every byte, RFC 2782
 * ordering with an injected deterministic RNG, and address text.
 *
 * Responses are built by hand with the mb_* helpers below; every parse runs
 * on an exact-size heap copy so the sanitizers see any over-read.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "resolve/dns.h"

#define ID 0x4a7e
#define MB_CAP 2048
#define TTL 300
#define FLAGS_RESP 0x8180u   /* QR, RD, RA, NOERROR */
#define FLAG_TC 0x0200u
#define RCODE_NXDOMAIN 3
#define RCODE_SERVFAIL 2
#define RCODE_REFUSED 5
#define RCODE_FORMERR 1
#define SRV_NAME "_xmpp-server._tcp.example.net"
#define ORDER_RUNS 200000
#define ORDER_TOLERANCE 0.004 /* about 6 standard deviations at ORDER_RUNS */

/* ---- a message builder ---- */

struct mb {
	uint8_t b[MB_CAP];
	size_t len;
};

static void mb_u8(struct mb *m, unsigned v)
{
	assert_true(m->len < MB_CAP);
	m->b[m->len++] = (uint8_t)v;
}

static void mb_u16(struct mb *m, unsigned v)
{
	mb_u8(m, v >> 8);
	mb_u8(m, v & 0xff);
}

static void mb_u32(struct mb *m, uint32_t v)
{
	mb_u16(m, v >> 16);
	mb_u16(m, v & 0xffff);
}

static void mb_hdr(struct mb *m, uint16_t id, unsigned flags, unsigned qd, unsigned an, unsigned ns, unsigned ar)
{
	m->len = 0;
	mb_u16(m, id);
	mb_u16(m, flags);
	mb_u16(m, qd);
	mb_u16(m, an);
	mb_u16(m, ns);
	mb_u16(m, ar);
}

/* Uncompressed labels of a dotted name, without the root ("" writes none). */
static void mb_labels(struct mb *m, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t n = dot ? (size_t)(dot - name) : strlen(name);

		mb_u8(m, (unsigned)n);
		memcpy(m->b + m->len, name, n);
		m->len += n;
		name += n + (dot ? 1 : 0);
	}
}

static void mb_name(struct mb *m, const char *name)
{
	mb_labels(m, name);
	mb_u8(m, 0);
}

static void mb_ptr(struct mb *m, unsigned off)
{
	mb_u16(m, 0xc000u | off);
}

static void mb_question(struct mb *m, const char *name, unsigned type)
{
	mb_name(m, name);
	mb_u16(m, type);
	mb_u16(m, XS2S_DNS_CLASS_IN);
}

/* Type, class IN, TTL after an owner name already written; returns the
 * offset of RDLENGTH, to be set by mb_rdlen once the data is written. */
static size_t mb_rr_head(struct mb *m, unsigned type)
{
	size_t at;

	mb_u16(m, type);
	mb_u16(m, XS2S_DNS_CLASS_IN);
	mb_u32(m, TTL);
	at = m->len;
	mb_u16(m, 0);
	return at;
}

static void mb_rdlen(struct mb *m, size_t at)
{
	size_t n = m->len - at - 2;

	m->b[at] = (uint8_t)(n >> 8);
	m->b[at + 1] = (uint8_t)n;
}

static void mb_a(struct mb *m, const char *owner, uint8_t a, uint8_t b, uint8_t c, uint8_t d)
{
	size_t at;

	mb_name(m, owner);
	at = mb_rr_head(m, XS2S_DNS_TYPE_A);
	mb_u8(m, a);
	mb_u8(m, b);
	mb_u8(m, c);
	mb_u8(m, d);
	mb_rdlen(m, at);
}

/* A SRV record owned by the question name; returns its RDLENGTH offset. */
static size_t mb_srv(struct mb *m, unsigned prio, unsigned weight, unsigned port, const char *target)
{
	size_t at;

	mb_ptr(m, XS2S_DNS_HDR_LEN); /* owner: the question name */
	at = mb_rr_head(m, XS2S_DNS_TYPE_SRV);
	mb_u16(m, prio);
	mb_u16(m, weight);
	mb_u16(m, port);
	mb_name(m, target);
	mb_rdlen(m, at);
	return at;
}

/* An SOA in the authority section, as NXDOMAIN/NODATA answers carry. */
static void mb_soa(struct mb *m, const char *zone)
{
	size_t at;

	mb_name(m, zone);
	at = mb_rr_head(m, 6);
	mb_name(m, "ns.example.net");
	mb_name(m, "hostmaster.example.net");
	mb_u32(m, 1);
	mb_u32(m, 2);
	mb_u32(m, 3);
	mb_u32(m, 4);
	mb_u32(m, 5);
	mb_rdlen(m, at);
}

static void mb_opt(struct mb *m)
{
	mb_u8(m, 0);
	mb_u16(m, XS2S_DNS_TYPE_OPT);
	mb_u16(m, XS2S_DNS_UDP_MAX);
	mb_u32(m, 0);
	mb_u16(m, 0);
}

/* Parse an exact-size copy of len bytes of m (the copy is kept for the
 * answers: free it with parse_end). */
static uint8_t *parse_copy;

static int parse(struct xs2s_dns_msg *d, const struct mb *m, size_t len, const char *qname, uint16_t qtype)
{
	free(parse_copy);
	parse_copy = malloc(len ? len : 1);
	assert_non_null(parse_copy);
	memcpy(parse_copy, m->b, len);
	return xs2s_dns_parse(d, parse_copy, len, ID, qname, qtype);
}

static int parse_all(struct xs2s_dns_msg *d, const struct mb *m, const char *qname, uint16_t qtype)
{
	return parse(d, m, m->len, qname, qtype);
}

static int teardown(void **state)
{
	(void)state;
	free(parse_copy);
	parse_copy = NULL;
	return 0;
}

/* The SRV response used by several tests: four records over three
 * priorities, an SOA, and an OPT record. */
static void srv_response(struct mb *m)
{
	mb_hdr(m, ID, FLAGS_RESP, 1, 4, 1, 1);
	mb_question(m, SRV_NAME, XS2S_DNS_TYPE_SRV);
	mb_srv(m, 20, 0, 5270, "c.example.net");
	mb_srv(m, 10, 60, 5269, "a.example.net");
	mb_srv(m, 10, 40, 5269, "b.example.net");
	mb_srv(m, 30, 5, 5271, "d.example.org");
	mb_soa(m, "example.net");
	mb_opt(m);
}

/* ---- queries ---- */

static void test_query_bytes(void **state)
{
	static const uint8_t want[] = {
		0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* id, RD, QD=1 */
		7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'n', 'e', 't', 0,
		0x00, 0x01, 0x00, 0x01, /* A, IN */
	};
	static const uint8_t opt[] = { 0x00, 0x00, 0x29, 0x04, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00 };
	uint8_t buf[XS2S_DNS_QUERY_MAX];
	int n;

	(void)state;
	n = xs2s_dns_query(buf, sizeof buf, 0x1234, "example.net", XS2S_DNS_TYPE_A, 0);
	assert_int_equal(n, sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	/* A trailing dot is the same name. */
	n = xs2s_dns_query(buf, sizeof buf, 0x1234, "example.net.", XS2S_DNS_TYPE_A, 0);
	assert_int_equal(n, sizeof want);
	assert_memory_equal(buf, want, sizeof want);
	/* With EDNS(0): ARCOUNT 1 and an OPT record advertising 1232 bytes. */
	n = xs2s_dns_query(buf, sizeof buf, 0x1234, "example.net", XS2S_DNS_TYPE_A, XS2S_DNS_UDP_MAX);
	assert_int_equal(n, sizeof want + sizeof opt);
	assert_int_equal(buf[11], 1);
	assert_memory_equal(buf + 12, want + 12, sizeof want - 12);
	assert_memory_equal(buf + sizeof want, opt, sizeof opt);
	/* SRV type and the service labels. */
	n = xs2s_dns_query(buf, sizeof buf, 0xbeef, SRV_NAME, XS2S_DNS_TYPE_SRV, 0);
	assert_int_equal(n, 12 + 31 + 4);
	assert_int_equal(buf[0], 0xbe);
	assert_int_equal(buf[1], 0xef);
	assert_memory_equal(buf + 12, "\x0c_xmpp-server\x04_tcp\x07" "example\x03net", 30);
	assert_int_equal(buf[12 + 31 + 1], XS2S_DNS_TYPE_SRV);
	/* Too small a buffer. */
	assert_int_equal(xs2s_dns_query(buf, sizeof want - 1, 1, "example.net", XS2S_DNS_TYPE_A, 0), XS2S_ERANGE);
}

static void test_query_bad_names(void **state)
{
	uint8_t buf[XS2S_DNS_QUERY_MAX];
	char name[400];

	(void)state;
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, "", 1, 0), XS2S_EINVAL);
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, ".", 1, 0), XS2S_EINVAL);
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, "a..b", 1, 0), XS2S_EINVAL);
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, ".a", 1, 0), XS2S_EINVAL);
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, "a..", 1, 0), XS2S_EINVAL);
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, "a b.net", 1, 0), XS2S_EINVAL);
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, "caf\xc3\xa9.net", 1, 0), XS2S_EINVAL);
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, "a\\.b", 1, 0), XS2S_EINVAL);
	/* 63-octet labels pass, 64 do not. */
	memset(name, 'x', 63);
	strcpy(name + 63, ".net");
	assert_true(xs2s_dns_query(buf, sizeof buf, 1, name, 1, 0) > 0);
	memset(name, 'x', 64);
	strcpy(name + 64, ".net");
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, name, 1, 0), XS2S_EINVAL);
	/* 253 characters (255 octets on the wire) pass, 254 do not. */
	for (int i = 0; i < 253; i++)
		name[i] = i % 2 ? '.' : 'a';
	name[253] = '\0';
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, name, 1, 0), 12 + 255 + 4);
	strcpy(name + 252, "ab");
	assert_int_equal(xs2s_dns_query(buf, sizeof buf, 1, name, 1, 0), XS2S_EINVAL);
}

/* ---- responses ---- */

static void test_srv_set(void **state)
{
	static const struct {
		unsigned prio, weight, port;
		const char *target;
	} want[] = {
		{ 20, 0, 5270, "c.example.net" },
		{ 10, 60, 5269, "a.example.net" },
		{ 10, 40, 5269, "b.example.net" },
		{ 30, 5, 5271, "d.example.org" },
	};
	struct xs2s_dns_msg d;
	struct xs2s_dns_rr rr;
	struct mb m;
	char name[XS2S_DNS_NAME_MAX + 1];
	unsigned i;

	(void)state;
	srv_response(&m);
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_OK);
	assert_int_equal(d.count, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(xs2s_dns_next(&d, &rr), 1);
		assert_int_equal(rr.type, XS2S_DNS_TYPE_SRV);
		assert_int_equal(rr.ttl, TTL);
		assert_int_equal(rr.prio, want[i].prio);
		assert_int_equal(rr.weight, want[i].weight);
		assert_int_equal(rr.port, want[i].port);
		assert_int_equal(xs2s_dns_name(&d, rr.target, name, sizeof name), XS2S_OK);
		assert_string_equal(name, want[i].target);
	}
	assert_int_equal(xs2s_dns_next(&d, &rr), 0);
	assert_int_equal(xs2s_dns_next(&d, &rr), 0);
	/* The question name may come back in another case (0x20). */
	m.b[XS2S_DNS_HDR_LEN + 2] = 'X';
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_OK);
	assert_int_equal(d.count, 4);
}

static void test_srv_root_target(void **state)
{
	struct xs2s_dns_msg d;
	struct xs2s_dns_rr rr;
	struct mb m;
	char name[8];

	(void)state;
	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, SRV_NAME, XS2S_DNS_TYPE_SRV);
	mb_srv(&m, 0, 0, 0, "");
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_OK);
	assert_int_equal(d.count, 1);
	assert_int_equal(xs2s_dns_next(&d, &rr), 1);
	assert_int_equal(xs2s_dns_name(&d, rr.target, name, sizeof name), XS2S_OK);
	assert_string_equal(name, "");
}

static void test_nxdomain_nodata(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;

	(void)state;
	mb_hdr(&m, ID, FLAGS_RESP | RCODE_NXDOMAIN, 1, 0, 1, 0);
	mb_question(&m, SRV_NAME, XS2S_DNS_TYPE_SRV);
	mb_soa(&m, "example.net");
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_ENOTFOUND);
	assert_int_equal(d.rcode, RCODE_NXDOMAIN);

	mb_hdr(&m, ID, FLAGS_RESP, 1, 0, 1, 0);
	mb_question(&m, SRV_NAME, XS2S_DNS_TYPE_SRV);
	mb_soa(&m, "example.net");
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_OK);
	assert_int_equal(d.count, 0);

	/* Records of another type only: NODATA for ours. */
	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_AAAA);
	mb_a(&m, "h.example.net", 192, 0, 2, 1);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_AAAA), XS2S_OK);
	assert_int_equal(d.count, 0);
}

static void test_rcodes(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;

	(void)state;
	mb_hdr(&m, ID, FLAGS_RESP | RCODE_SERVFAIL, 1, 0, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EIO);
	assert_int_equal(d.rcode, RCODE_SERVFAIL);
	mb_hdr(&m, ID, FLAGS_RESP | RCODE_REFUSED, 1, 0, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EIO);
	assert_int_equal(d.rcode, RCODE_REFUSED);
	/* FORMERR without the question (a server refusing EDNS). */
	mb_hdr(&m, ID, FLAGS_RESP | RCODE_FORMERR, 0, 0, 0, 0);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EIO);
	assert_int_equal(d.rcode, RCODE_FORMERR);
	/* Any other question-less answer is not ours. */
	mb_hdr(&m, ID, FLAGS_RESP | RCODE_SERVFAIL, 0, 0, 0, 0);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EAGAIN);
}

static void test_addresses(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	struct xs2s_dns_msg d;
	struct xs2s_dns_rr rr;
	struct mb m;
	size_t at;

	(void)state;
	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_AAAA);
	mb_ptr(&m, XS2S_DNS_HDR_LEN);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_AAAA);
	memcpy(m.b + m.len, v6, sizeof v6);
	m.len += sizeof v6;
	mb_rdlen(&m, at);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_AAAA), XS2S_OK);
	assert_int_equal(d.count, 1);
	assert_int_equal(xs2s_dns_next(&d, &rr), 1);
	assert_memory_equal(rr.addr, v6, sizeof v6);
	/* An AAAA record with 15 bytes of data is malformed. */
	m.b[at + 1] = 15;
	m.len--;
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_AAAA), XS2S_EPROTO);

	mb_hdr(&m, ID, FLAGS_RESP, 1, 2, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	mb_a(&m, "h.example.net", 192, 0, 2, 1);
	mb_a(&m, "H.Example.NET", 192, 0, 2, 2);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_OK);
	assert_int_equal(d.count, 2);
	assert_int_equal(xs2s_dns_next(&d, &rr), 1);
	assert_memory_equal(rr.addr, "\xc0\x00\x02\x01", 4);
	assert_int_equal(xs2s_dns_next(&d, &rr), 1);
	assert_memory_equal(rr.addr, "\xc0\x00\x02\x02", 4);
}

static void test_cname(void **state)
{
	struct xs2s_dns_msg d;
	struct xs2s_dns_rr rr;
	struct mb m;
	size_t at, alias;

	(void)state;
	/* www -> h (compressed into the question name), A of h, an A of the
	 * question name itself (not usable next to a CNAME) and of a stranger. */
	mb_hdr(&m, ID, FLAGS_RESP, 1, 4, 0, 0);
	mb_question(&m, "www.example.net", XS2S_DNS_TYPE_A);
	mb_a(&m, "other.example.org", 198, 51, 100, 9);
	mb_ptr(&m, XS2S_DNS_HDR_LEN);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_CNAME);
	alias = m.len;
	mb_u8(&m, 1);
	mb_u8(&m, 'h');
	mb_ptr(&m, XS2S_DNS_HDR_LEN + 4); /* "example.net" of the question */
	mb_rdlen(&m, at);
	mb_ptr(&m, alias);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_A);
	mb_u32(&m, 0xc0000205);
	mb_rdlen(&m, at);
	mb_a(&m, "www.example.net", 203, 0, 113, 1);
	assert_int_equal(parse_all(&d, &m, "www.example.net", XS2S_DNS_TYPE_A), XS2S_OK);
	assert_int_equal(d.count, 1);
	assert_int_equal(xs2s_dns_next(&d, &rr), 1);
	assert_memory_equal(rr.addr, "\xc0\x00\x02\x05", 4);
	assert_int_equal(xs2s_dns_next(&d, &rr), 0);

	/* A CNAME whose data does not end where RDLENGTH says. */
	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, "www.example.net", XS2S_DNS_TYPE_A);
	mb_ptr(&m, XS2S_DNS_HDR_LEN);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_CNAME);
	mb_name(&m, "h.example.net");
	mb_u8(&m, 0);
	mb_rdlen(&m, at);
	assert_int_equal(parse_all(&d, &m, "www.example.net", XS2S_DNS_TYPE_A), XS2S_EPROTO);
}

/* A chain of n CNAMEs n0 -> n1 -> ... -> nn from the question name, then an
 * A of the last name; loop: the last CNAME points back to the question. */
static void cname_chain(struct mb *m, unsigned n, int loop)
{
	char owner[16], target[16];
	unsigned i;
	size_t at;

	mb_hdr(m, ID, FLAGS_RESP, 1, n + 1, 0, 0);
	mb_question(m, "n0.test", XS2S_DNS_TYPE_A);
	for (i = 0; i < n; i++) {
		snprintf(owner, sizeof owner, "n%u.test", i);
		snprintf(target, sizeof target, "n%u.test", loop && i + 1 == n ? 0 : i + 1);
		mb_name(m, owner);
		at = mb_rr_head(m, XS2S_DNS_TYPE_CNAME);
		mb_name(m, target);
		mb_rdlen(m, at);
	}
	snprintf(owner, sizeof owner, "n%u.test", n);
	mb_a(m, owner, 192, 0, 2, 7);
}

static void test_cname_chain_limits(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;

	(void)state;
	cname_chain(&m, XS2S_DNS_CNAME_MAX, 0);
	assert_int_equal(parse_all(&d, &m, "n0.test", XS2S_DNS_TYPE_A), XS2S_OK);
	assert_int_equal(d.count, 1);
	cname_chain(&m, XS2S_DNS_CNAME_MAX + 1, 0);
	assert_int_equal(parse_all(&d, &m, "n0.test", XS2S_DNS_TYPE_A), XS2S_EPROTO);
	cname_chain(&m, 2, 1);
	assert_int_equal(parse_all(&d, &m, "n0.test", XS2S_DNS_TYPE_A), XS2S_EPROTO);
	cname_chain(&m, 1, 1); /* a name that is its own alias */
	assert_int_equal(parse_all(&d, &m, "n0.test", XS2S_DNS_TYPE_A), XS2S_EPROTO);
}

/* A response to "h.example.net A" whose one answer has the owner name
 * written by put(). */
static int owner_case(void (*put)(struct mb *))
{
	struct xs2s_dns_msg d;
	struct mb m;
	size_t at;
	int rc;

	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	put(&m);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_A);
	mb_u32(&m, 0xc0000201);
	mb_rdlen(&m, at);
	rc = parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A);
	return rc == XS2S_OK ? (int)d.count : rc;
}

static void put_ptr_question(struct mb *m) { mb_ptr(m, XS2S_DNS_HDR_LEN); }
static void put_ptr_suffix(struct mb *m) { mb_u8(m, 1); mb_u8(m, 'h'); mb_ptr(m, XS2S_DNS_HDR_LEN + 2); }
static void put_ptr_self(struct mb *m) { mb_ptr(m, m->len); }
static void put_ptr_forward(struct mb *m) { mb_ptr(m, m->len + 2); mb_name(m, "h.example.net"); }
static void put_ptr_out(struct mb *m) { mb_ptr(m, 0x3fff); }
static void put_ptr_into_header(struct mb *m) { mb_ptr(m, 2); }
static void put_ext_label(struct mb *m) { mb_u8(m, 0x41); mb_u8(m, 0); }
/* 0xc0 then the type's 0x00: a pointer to the id, which reads as a bad label. */
static void put_ptr_to_id(struct mb *m) { mb_u8(m, 0xc0); }

static void test_compression(void **state)
{
	(void)state;
	assert_int_equal(owner_case(put_ptr_question), 1);
	assert_int_equal(owner_case(put_ptr_suffix), 1);
	assert_int_equal(owner_case(put_ptr_self), XS2S_EPROTO);
	assert_int_equal(owner_case(put_ptr_forward), XS2S_EPROTO);
	assert_int_equal(owner_case(put_ptr_out), XS2S_EPROTO);
	assert_int_equal(owner_case(put_ptr_into_header), XS2S_EPROTO);
	assert_int_equal(owner_case(put_ext_label), XS2S_EPROTO);
	assert_int_equal(owner_case(put_ptr_to_id), XS2S_EPROTO);
}

/* A well-formed name reached by a forward pointer (into a later record's
 * data), and two names pointing at each other: both refused. */
static void test_pointer_direction(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;
	size_t at, ptr, x, y;

	(void)state;
	mb_hdr(&m, ID, FLAGS_RESP, 1, 2, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	ptr = m.len;
	mb_ptr(&m, 0); /* set below */
	at = mb_rr_head(&m, XS2S_DNS_TYPE_A);
	mb_u32(&m, 0xc0000201);
	mb_rdlen(&m, at);
	mb_ptr(&m, XS2S_DNS_HDR_LEN);
	at = mb_rr_head(&m, 99);
	x = m.len;
	mb_name(&m, "h.example.net");
	mb_rdlen(&m, at);
	m.b[ptr] = (uint8_t)(0xc0 | x >> 8);
	m.b[ptr + 1] = (uint8_t)x;
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EPROTO);
	/* The same record pointing backwards is fine. */
	m.b[ptr] = 0xc0;
	m.b[ptr + 1] = XS2S_DNS_HDR_LEN;
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_OK);
	assert_int_equal(d.count, 1);

	/* x: "a" -> y, y: "b" -> x (y after x). */
	mb_hdr(&m, ID, FLAGS_RESP, 1, 2, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	mb_ptr(&m, XS2S_DNS_HDR_LEN);
	at = mb_rr_head(&m, 99);
	x = m.len;
	mb_u8(&m, 1);
	mb_u8(&m, 'a');
	ptr = m.len;
	mb_ptr(&m, 0); /* to y, set below */
	y = m.len;
	mb_u8(&m, 1);
	mb_u8(&m, 'b');
	mb_ptr(&m, x);
	mb_rdlen(&m, at);
	m.b[ptr] = (uint8_t)(0xc0 | y >> 8);
	m.b[ptr + 1] = (uint8_t)y;
	mb_ptr(&m, y);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_A);
	mb_u32(&m, 0xc0000201);
	mb_rdlen(&m, at);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EPROTO);
}

/* The pointer-hop limit, on names reached through a chain of pointers
 * stored in earlier records' data. */
static void test_pointer_hops(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;
	unsigned hops;

	(void)state;
	for (hops = 1; hops <= XS2S_DNS_PTR_HOPS_MAX + 1; hops++) {
		size_t prev = XS2S_DNS_HDR_LEN, at;
		unsigned i;

		/* An unknown-type record holds hops - 1 pointers, each to the one before. */
		mb_hdr(&m, ID, FLAGS_RESP, 1, 2, 0, 0);
		mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
		mb_ptr(&m, XS2S_DNS_HDR_LEN);
		at = mb_rr_head(&m, 99);
		for (i = 0; i + 1 < hops; i++) {
			size_t here = m.len;
			mb_ptr(&m, prev);
			prev = here;
		}
		mb_rdlen(&m, at);
		mb_ptr(&m, prev); /* the owner: one more hop */
		at = mb_rr_head(&m, XS2S_DNS_TYPE_A);
		mb_u32(&m, 0xc0000201);
		mb_rdlen(&m, at);
		if (hops <= XS2S_DNS_PTR_HOPS_MAX) {
			assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_OK);
			assert_int_equal(d.count, 1);
		} else {
			assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EPROTO);
		}
	}
}

/* Pointers can make a name longer than 255 octets: refused. */
static void test_name_too_long(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;
	size_t at, prev;
	unsigned i;

	(void)state;
	mb_hdr(&m, ID, FLAGS_RESP, 1, 5, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	/* Four records whose data are 63-octet labels each ending with a
	 * pointer to the previous: the last names 4 * 64 + 15 octets. */
	prev = XS2S_DNS_HDR_LEN;
	for (i = 0; i < 4; i++) {
		size_t here;

		mb_ptr(&m, XS2S_DNS_HDR_LEN);
		at = mb_rr_head(&m, 99);
		here = m.len;
		mb_u8(&m, 63);
		memset(m.b + m.len, 'a' + i, 63);
		m.len += 63;
		mb_ptr(&m, prev);
		mb_rdlen(&m, at);
		prev = here;
	}
	mb_ptr(&m, prev);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_A);
	mb_u32(&m, 0xc0000201);
	mb_rdlen(&m, at);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EPROTO);
}

static void test_truncated_every_byte(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;
	size_t k;

	(void)state;
	srv_response(&m);
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_OK);
	for (k = 0; k < m.len; k++) {
		int rc = parse(&d, &m, k, SRV_NAME, XS2S_DNS_TYPE_SRV);

		assert_true(rc < 0);
		assert_true(rc == XS2S_EAGAIN || rc == XS2S_EPROTO);
	}
}

static void test_not_ours(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;

	(void)state;
	srv_response(&m);
	assert_int_equal(xs2s_dns_parse(&d, m.b, m.len, ID ^ 1, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_EAGAIN);
	/* Other name, type, class. */
	assert_int_equal(parse_all(&d, &m, "_xmpp-server._tcp.example.org", XS2S_DNS_TYPE_SRV), XS2S_EAGAIN);
	assert_int_equal(parse_all(&d, &m, "_xmpp-server._tcp.example.net.x", XS2S_DNS_TYPE_SRV), XS2S_EAGAIN);
	assert_int_equal(parse_all(&d, &m, "example.net", XS2S_DNS_TYPE_SRV), XS2S_EAGAIN);
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_A), XS2S_EAGAIN);
	m.b[XS2S_DNS_HDR_LEN + 31 + 3] = 3; /* class CH */
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_EAGAIN);
	/* A query, not a response; another opcode; two questions. */
	srv_response(&m);
	m.b[2] &= 0x7f;
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_EAGAIN);
	srv_response(&m);
	m.b[2] |= 0x10; /* opcode 2 */
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_EAGAIN);
	srv_response(&m);
	m.b[5] = 2;
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_EAGAIN);
	/* A bad name asked for. */
	srv_response(&m);
	assert_int_equal(parse_all(&d, &m, "a..b", XS2S_DNS_TYPE_SRV), XS2S_EINVAL);
}

static void test_tc_bit(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;

	(void)state;
	srv_response(&m);
	m.b[2] |= FLAG_TC >> 8;
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_ERANGE);
	/* Truncated servers cut the records off: still ERANGE, never EPROTO. */
	mb_hdr(&m, ID, FLAGS_RESP | FLAG_TC, 1, 9, 0, 0);
	mb_question(&m, SRV_NAME, XS2S_DNS_TYPE_SRV);
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_ERANGE);
}

static void test_bad_records(void **state)
{
	struct xs2s_dns_msg d;
	struct mb m;
	size_t at;

	(void)state;
	/* RDLENGTH past the end. */
	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	mb_a(&m, "h.example.net", 192, 0, 2, 1);
	m.b[m.len - 5] = 5;
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EPROTO);
	/* An A record with 5 bytes. */
	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, "h.example.net", XS2S_DNS_TYPE_A);
	mb_ptr(&m, XS2S_DNS_HDR_LEN);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_A);
	mb_u32(&m, 0xc0000201);
	mb_u8(&m, 0);
	mb_rdlen(&m, at);
	assert_int_equal(parse_all(&d, &m, "h.example.net", XS2S_DNS_TYPE_A), XS2S_EPROTO);
	/* A SRV target that does not end at RDLENGTH, or has no target. */
	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, SRV_NAME, XS2S_DNS_TYPE_SRV);
	at = mb_srv(&m, 1, 1, 5269, "a.example.net");
	m.b[at + 1] += 1; /* RDLENGTH one more */
	mb_u8(&m, 0);
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_EPROTO);
	mb_hdr(&m, ID, FLAGS_RESP, 1, 1, 0, 0);
	mb_question(&m, SRV_NAME, XS2S_DNS_TYPE_SRV);
	mb_ptr(&m, XS2S_DNS_HDR_LEN);
	at = mb_rr_head(&m, XS2S_DNS_TYPE_SRV);
	mb_u16(&m, 1);
	mb_u16(&m, 1);
	mb_u16(&m, 5269);
	mb_rdlen(&m, at);
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_EPROTO);
	/* Fewer records than the header counts. */
	srv_response(&m);
	m.b[11] = 2;
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_EPROTO);
	/* Trailing bytes after the last record are ignored. */
	srv_response(&m);
	mb_u8(&m, 0xff);
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_OK);
}

static void test_name_text(void **state)
{
	struct xs2s_dns_msg d;
	struct xs2s_dns_rr rr;
	struct mb m;
	char name[XS2S_DNS_NAME_MAX + 1];

	(void)state;
	mb_hdr(&m, ID, FLAGS_RESP, 1, 2, 0, 0);
	mb_question(&m, SRV_NAME, XS2S_DNS_TYPE_SRV);
	mb_srv(&m, 1, 1, 5269, "XMPP.Example.NET");
	mb_srv(&m, 1, 1, 5269, "bad name.example.net");
	assert_int_equal(parse_all(&d, &m, SRV_NAME, XS2S_DNS_TYPE_SRV), XS2S_OK);
	assert_int_equal(xs2s_dns_next(&d, &rr), 1);
	assert_int_equal(xs2s_dns_name(&d, rr.target, name, sizeof name), XS2S_OK);
	assert_string_equal(name, "xmpp.example.net");
	assert_int_equal(xs2s_dns_name(&d, rr.target, name, 16), XS2S_ERANGE);
	assert_int_equal(xs2s_dns_name(&d, rr.target, name, 17), XS2S_OK);
	assert_int_equal(xs2s_dns_next(&d, &rr), 1);
	assert_int_equal(xs2s_dns_name(&d, rr.target, name, sizeof name), XS2S_EINVAL);
}

/* ---- RFC 2782 ordering ---- */

static uint32_t xorshift(void *ctx)
{
	uint32_t *s = ctx;

	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

static void test_srv_order_priorities(void **state)
{
	struct xs2s_dns_srv v[12];
	uint32_t seed = 12345;
	unsigned run, i;

	(void)state;
	for (run = 0; run < 500; run++) {
		unsigned seen = 0;

		for (i = 0; i < 12; i++) {
			v[i].prio = (uint16_t)(xorshift(&seed) % 4);
			v[i].weight = (uint16_t)(xorshift(&seed) % 3 ? xorshift(&seed) % 100 : 0);
			v[i].port = (uint16_t)i;
			v[i].ref = (uint16_t)i;
		}
		xs2s_dns_srv_order(v, 12, xorshift, &seed);
		for (i = 0; i < 12; i++) {
			if (i)
				assert_true(v[i - 1].prio <= v[i].prio);
			seen |= 1u << v[i].ref;
		}
		assert_int_equal(seen, 0xfff); /* a permutation */
	}
	xs2s_dns_srv_order(v, 0, xorshift, &seed);
	xs2s_dns_srv_order(v, 1, xorshift, &seed);
}

/* Frequency of ref being ordered first among v (same priority). */
static double first_freq(const struct xs2s_dns_srv *in, unsigned n, uint16_t ref, uint32_t seed)
{
	struct xs2s_dns_srv v[8];
	unsigned run, hits = 0;

	for (run = 0; run < ORDER_RUNS; run++) {
		memcpy(v, in, n * sizeof *v);
		xs2s_dns_srv_order(v, n, xorshift, &seed);
		hits += v[0].ref == ref;
	}
	return (double)hits / ORDER_RUNS;
}

static void test_srv_order_weights(void **state)
{
	/* One priority, weights 10, 20, 70: the draw in [0, 100] picks the
	 * first record whose running sum reaches it. */
	static const struct xs2s_dns_srv w[] = {
		{ 5, 10, 1, 0 }, { 5, 20, 2, 1 }, { 5, 70, 3, 2 }, { 1, 1, 9, 3 },
	};
	static const struct xs2s_dns_srv z[] = { { 0, 10, 1, 0 }, { 0, 0, 2, 1 } };
	static const struct xs2s_dns_srv allzero[] = { { 0, 0, 1, 0 }, { 0, 0, 2, 1 }, { 0, 0, 3, 2 } };
	struct xs2s_dns_srv v[4];
	uint32_t seed = 99;
	unsigned run, second_hits = 0;

	(void)state;
	/* w[3] has the lowest priority number: always first. */
	assert_true(first_freq(w, 4, 3, 7) == 1.0);
	/* Among priority 5 (second place): 11/101, 20/101, 70/101. */
	for (run = 0; run < ORDER_RUNS; run++) {
		memcpy(v, w, sizeof w);
		xs2s_dns_srv_order(v, 4, xorshift, &seed);
		assert_int_equal(v[0].ref, 3);
		second_hits += v[1].ref == 2;
	}
	assert_true((double)second_hits / ORDER_RUNS > 70.0 / 101 - ORDER_TOLERANCE);
	assert_true((double)second_hits / ORDER_RUNS < 70.0 / 101 + ORDER_TOLERANCE);
	assert_true(fabs(first_freq(w, 3, 0, 1) - 11.0 / 101) < ORDER_TOLERANCE);
	assert_true(fabs(first_freq(w, 3, 1, 2) - 20.0 / 101) < ORDER_TOLERANCE);
	/* Weight 0 next to weight 10: first only when the draw is 0 (1/11). */
	assert_true(fabs(first_freq(z, 2, 1, 3) - 1.0 / 11) < ORDER_TOLERANCE);
	/* All weights 0: every draw is 0, the records keep their order. */
	assert_true(first_freq(allzero, 3, 0, 4) == 1.0);
	memcpy(v, allzero, sizeof allzero);
	xs2s_dns_srv_order(v, 3, xorshift, &seed);
	assert_int_equal(v[1].ref, 1);
	assert_int_equal(v[2].ref, 2);
}

/* ---- address text ---- */

static void test_addr_text(void **state)
{
	static const struct {
		uint8_t a[16];
		unsigned len;
		const char *want;
	} cases[] = {
		{ { 192, 0, 2, 1 }, 4, "192.0.2.1" },
		{ { 0 }, 4, "0.0.0.0" },
		{ { 255, 255, 255, 255 }, 4, "255.255.255.255" },
		{ { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }, 16, "2001:db8::1" },
		{ { 0 }, 16, "::" },
		{ { [15] = 1 }, 16, "::1" },
		{ { 0xfe, 0x80 }, 16, "fe80::" },
		{ { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 1 }, 16, "2001:db8::1:0:0:1" },
		{ { 0x20, 0x01, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1 }, 16, "2001:0:0:1::1" },
		{ { 0, 1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1 }, 16, "1:0:1:1:1:1:1:1" },
		{ { 0x20, 0x01, 0x0d, 0xb8, 0xab, 0xcd, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0xff, 0xff },
		  16, "2001:db8:abcd:1234:5678:9abc:def0:ffff" },
	};
	char out[XS2S_ADDR_MAX];
	unsigned i;

	(void)state;
	for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		xs2s_dns_addr_text(cases[i].a, cases[i].len, out);
		assert_string_equal(out, cases[i].want);
	}
	xs2s_dns_addr_text(cases[0].a, 5, out);
	assert_string_equal(out, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_query_bytes),
		cmocka_unit_test(test_query_bad_names),
		cmocka_unit_test_teardown(test_srv_set, teardown),
		cmocka_unit_test_teardown(test_srv_root_target, teardown),
		cmocka_unit_test_teardown(test_nxdomain_nodata, teardown),
		cmocka_unit_test_teardown(test_rcodes, teardown),
		cmocka_unit_test_teardown(test_addresses, teardown),
		cmocka_unit_test_teardown(test_cname, teardown),
		cmocka_unit_test_teardown(test_cname_chain_limits, teardown),
		cmocka_unit_test_teardown(test_compression, teardown),
		cmocka_unit_test_teardown(test_pointer_direction, teardown),
		cmocka_unit_test_teardown(test_pointer_hops, teardown),
		cmocka_unit_test_teardown(test_name_too_long, teardown),
		cmocka_unit_test_teardown(test_truncated_every_byte, teardown),
		cmocka_unit_test_teardown(test_not_ours, teardown),
		cmocka_unit_test_teardown(test_tc_bit, teardown),
		cmocka_unit_test_teardown(test_bad_records, teardown),
		cmocka_unit_test_teardown(test_name_text, teardown),
		cmocka_unit_test(test_srv_order_priorities),
		cmocka_unit_test(test_srv_order_weights),
		cmocka_unit_test(test_addr_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
