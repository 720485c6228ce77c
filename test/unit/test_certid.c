/* Unit tests for certificate identities (firmware/link/certid.c).
 *
 * Real certificates are the .der files in test/unit/data/certid, made by
 * make.sh there (self-signed EC P-256, committed); the path is taken from
 * __FILE__, so run the binary from the repository root (as `make unit` does).
 * Malformed and unusual certificates are built here with a small DER writer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "link/certid.h"

#define DER_MAX 8192          /* largest certificate file read */
#define BUILD_CAP 65536       /* DER writer buffer */
#define DEEP_LEVELS 10000     /* nesting depth of the deep-nesting inputs */
#define DEEP_INNER 2000       /* ... and of those inside a certificate (three fit in BUILD_CAP) */
#define PATH_CAP 512

static const char *const der_files[] = {
	"dns", "wildcard", "srv", "srv-client", "xmppaddr", "xmppaddr-idn", "xmppaddr-jid",
	"wrong", "cn", "cn-ext", "cn-san", "mixed", "many",
};
#define DER_FILES (sizeof(der_files) / sizeof(der_files[0]))

/* ---- helpers ---- */

/* Read data/certid/<name>.der next to this source file into buf. */
static size_t load(const char *name, uint8_t *buf)
{
	const char *slash = strrchr(__FILE__, '/');
	int dir = slash ? (int)(slash - __FILE__ + 1) : 0;
	char path[PATH_CAP];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%.*sdata/certid/%s.der", dir, __FILE__, name);
	fp = fopen(path, "rb");
	if (fp == NULL)
		fail_msg("cannot open %s (run from the repository root)", path);
	n = fread(buf, 1, DER_MAX, fp);
	fclose(fp);
	assert_true(n > 0 && n < DER_MAX);
	return n;
}

/* Every identity is well-formed: known type, non-empty NUL-terminated name. */
static void assert_sane(const struct xs2s_certids *ids)
{
	unsigned i;

	assert_true(ids->n <= XS2S_CERTID_MAX);
	for (i = 0; i < ids->n; i++) {
		assert_true(ids->id[i].type >= XS2S_CERTID_DNS && ids->id[i].type <= XS2S_CERTID_CN);
		assert_non_null(memchr(ids->id[i].name, '\0', sizeof(ids->id[i].name)));
		assert_true(ids->id[i].name[0] != '\0');
	}
}

static void parse_file(const char *name, struct xs2s_certids *ids)
{
	static uint8_t buf[DER_MAX];
	size_t n = load(name, buf);

	assert_int_equal(xs2s_certid_parse(buf, n, ids), XS2S_OK);
	assert_sane(ids);
}

/* Parse an exact-size heap copy, so ASan sees any read past the end. */
static int parse_copy(const uint8_t *der, size_t len, struct xs2s_certids *ids)
{
	uint8_t *p = malloc(len ? len : 1);
	int rc;

	assert_non_null(p);
	memcpy(p, der, len);
	rc = xs2s_certid_parse(p, len, ids);
	free(p);
	assert_true(rc == XS2S_OK || rc == XS2S_EPROTO);
	assert_sane(ids);
	if (rc != XS2S_OK)
		assert_true(ids->n == 0 && !ids->has_san && !ids->truncated);
	return rc;
}

static void assert_id(const struct xs2s_certids *ids, unsigned i, enum xs2s_certid_type t, const char *name)
{
	assert_true(i < ids->n);
	assert_int_equal(ids->id[i].type, t);
	assert_string_equal(ids->id[i].name, name);
}

static void assert_match(const struct xs2s_certids *ids, const char *domain, enum xs2s_certid_type t)
{
	enum xs2s_certid_type how = 0;

	if (!xs2s_certid_match(ids, domain, &how))
		fail_msg("%s does not match", domain);
	assert_int_equal(how, t);
	assert_true(xs2s_certid_match(ids, domain, NULL));
}

static void assert_no_match(const struct xs2s_certids *ids, const char *domain)
{
	enum xs2s_certid_type how = 0;

	if (xs2s_certid_match(ids, domain, &how))
		fail_msg("%s matches (as %s)", domain, xs2s_certid_type_name(how));
	assert_int_equal(how, 0);
}

/* A DER writer: append-only buffers; nested elements are built in their own
 * buffer and then wrapped with put(). */
struct buf {
	uint8_t *d;
	size_t n;
};

static struct buf buf_new(void)
{
	struct buf b = { malloc(BUILD_CAP), 0 };

	assert_non_null(b.d);
	return b;
}

static void raw(struct buf *b, const void *v, size_t n)
{
	assert_true(b->n + n <= BUILD_CAP);
	if (n > 0)
		memcpy(b->d + b->n, v, n);
	b->n += n;
}

/* Tag, definite length (short or long form), contents. */
static void put(struct buf *b, uint8_t tag, const void *v, size_t n)
{
	uint8_t h[6] = { tag };
	size_t hl = 2;

	if (n < 0x80) {
		h[1] = (uint8_t)n;
	} else if (n < 0x100) {
		h[1] = 0x81, h[2] = (uint8_t)n, hl = 3;
	} else {
		assert_true(n < 0x10000);
		h[1] = 0x82, h[2] = (uint8_t)(n >> 8), h[3] = (uint8_t)n, hl = 4;
	}
	raw(b, h, hl);
	raw(b, v, n);
}

/* Wrap everything in b into one element. */
static void wrap(struct buf *b, uint8_t tag)
{
	struct buf t = buf_new();

	put(&t, tag, b->d, b->n);
	free(b->d);
	*b = t;
}

static const uint8_t oid_cn[] = { 0x55, 0x04, 0x03 };
static const uint8_t oid_san[] = { 0x55, 0x1D, 0x11 };
static const uint8_t oid_bc[] = { 0x55, 0x1D, 0x13 }; /* basicConstraints */
static const uint8_t oid_xmpp[] = { 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x05 };
static const uint8_t oid_srv[] = { 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x07 };
static const uint8_t oid_other[] = { 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x08, 0x09 };

/* SET { SEQUENCE { commonName, tag value } } */
static void rdn_cn(struct buf *b, uint8_t tag, const char *v)
{
	struct buf t = buf_new();

	put(&t, 0x06, oid_cn, sizeof(oid_cn));
	put(&t, tag, v, strlen(v));
	wrap(&t, 0x30);
	wrap(&t, 0x31);
	raw(b, t.d, t.n);
	free(t.d);
}

/* Extension { id, [critical], OCTET STRING { value } } */
static void ext(struct buf *b, const uint8_t *oid, size_t oid_len, int critical, const struct buf *value)
{
	static const uint8_t yes[] = { 0xFF };
	struct buf t = buf_new();

	put(&t, 0x06, oid, oid_len);
	if (critical)
		put(&t, 0x01, yes, sizeof(yes));
	put(&t, 0x04, value->d, value->n);
	wrap(&t, 0x30);
	raw(b, t.d, t.n);
	free(t.d);
}

/* subjectAltName extension with the GeneralNames in names. */
static void ext_san(struct buf *b, const struct buf *names)
{
	struct buf t = buf_new();

	put(&t, 0x30, names->d, names->n);
	ext(b, oid_san, sizeof(oid_san), 0, &t);
	free(t.d);
}

/* otherName [0] { type-id, [0] { tag value } } */
static void gn_other(struct buf *b, const uint8_t *oid, size_t oid_len, uint8_t tag, const void *v, size_t n)
{
	struct buf t = buf_new(), val = buf_new();

	put(&val, tag, v, n);
	put(&t, 0x06, oid, oid_len);
	put(&t, 0xA0, val.d, val.n);
	put(b, 0xA0, t.d, t.n);
	free(t.d);
	free(val.d);
}

static void gn_xmpp(struct buf *b, const char *v)
{
	gn_other(b, oid_xmpp, sizeof(oid_xmpp), 0x0C, v, strlen(v));
}

static void gn_dns(struct buf *b, const char *v)
{
	put(b, 0x82, v, strlen(v));
}

/* A certificate around subject (RDNs) and exts (Extension elements, NULL
 * for none); a v1 certificate when both exts and version are absent. */
static struct buf cert(const struct buf *subject, const struct buf *exts)
{
	static const uint8_t v3[] = { 0x02, 0x01, 0x02 }, serial[] = { 0x01 };
	static const uint8_t alg[] = { 0x06, 0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02 };
	static const uint8_t sig[] = { 0x00, 0x30, 0x00 };
	struct buf tbs = buf_new(), c = buf_new();

	if (exts != NULL)
		put(&tbs, 0xA0, v3, sizeof(v3));
	put(&tbs, 0x02, serial, sizeof(serial));
	put(&tbs, 0x30, alg, sizeof(alg));
	put(&tbs, 0x30, NULL, 0);                       /* issuer */
	put(&tbs, 0x30, NULL, 0);                       /* validity: not looked at */
	put(&tbs, 0x30, subject ? subject->d : NULL, subject ? subject->n : 0);
	put(&tbs, 0x30, NULL, 0);                       /* subjectPublicKeyInfo */
	if (exts != NULL) {
		struct buf e = buf_new();

		put(&e, 0x30, exts->d, exts->n);
		put(&tbs, 0xA3, e.d, e.n);
		free(e.d);
	}
	put(&c, 0x30, tbs.d, tbs.n);
	put(&c, 0x30, alg, sizeof(alg));
	put(&c, 0x03, sig, sizeof(sig));
	wrap(&c, 0x30);
	free(tbs.d);
	return c;
}

/* A certificate whose only extension is a SAN of the names in names. */
static struct buf cert_san(const struct buf *names)
{
	struct buf e = buf_new(), c;

	ext_san(&e, names);
	c = cert(NULL, &e);
	free(e.d);
	return c;
}

/* Parse a one-XmppAddr certificate and return the stored name. */
static int parse_xmpp(const char *value, struct xs2s_certids *ids)
{
	struct buf names = buf_new(), c;
	int rc;

	gn_xmpp(&names, value);
	c = cert_san(&names);
	rc = parse_copy(c.d, c.n, ids);
	free(names.d);
	free(c.d);
	return rc;
}

/* ---- certificates made by make.sh ---- */

static void test_dns_only(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("dns", &ids);
	assert_int_equal(ids.n, 1);
	assert_true(ids.has_san);
	assert_false(ids.truncated);
	assert_id(&ids, 0, XS2S_CERTID_DNS, "dns.test");
	assert_match(&ids, "dns.test", XS2S_CERTID_DNS);
	assert_match(&ids, "DNS.Test", XS2S_CERTID_DNS);
	assert_match(&ids, "dns.test.", XS2S_CERTID_DNS);
	assert_no_match(&ids, "x.dns.test");
	assert_no_match(&ids, "dns.test.x");
	assert_no_match(&ids, "ns.test");
	assert_no_match(&ids, "dns.test..");
}

static void test_wildcard(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("wildcard", &ids);
	assert_int_equal(ids.n, 1);
	assert_id(&ids, 0, XS2S_CERTID_DNS, "*.example.test");
	assert_match(&ids, "a.example.test", XS2S_CERTID_DNS);
	assert_match(&ids, "XMPP.Example.Test.", XS2S_CERTID_DNS);
	assert_no_match(&ids, "example.test");
	assert_no_match(&ids, "a.b.example.test");
	assert_no_match(&ids, ".example.test");
	assert_no_match(&ids, "*.example.test");
	assert_no_match(&ids, "a.example.test.x");
}

static void test_srv(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("srv", &ids);
	assert_int_equal(ids.n, 1);
	assert_id(&ids, 0, XS2S_CERTID_SRV, "_xmpp-server.srv.test");
	assert_match(&ids, "srv.test", XS2S_CERTID_SRV);
	assert_match(&ids, "SRV.test.", XS2S_CERTID_SRV);
	assert_no_match(&ids, "_xmpp-server.srv.test");
	assert_no_match(&ids, "a.srv.test");

	parse_file("srv-client", &ids);
	assert_int_equal(ids.n, 1);
	assert_id(&ids, 0, XS2S_CERTID_SRV, "_xmpp-client.srv.test");
	assert_no_match(&ids, "srv.test");
}

static void test_xmppaddr(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("xmppaddr", &ids);
	assert_int_equal(ids.n, 1);
	assert_id(&ids, 0, XS2S_CERTID_XMPPADDR, "xmpp.test");
	assert_match(&ids, "xmpp.test", XS2S_CERTID_XMPPADDR);
	assert_match(&ids, "Xmpp.Test.", XS2S_CERTID_XMPPADDR);
	assert_no_match(&ids, "a.xmpp.test");
}

static void test_xmppaddr_idn(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("xmppaddr-idn", &ids);
	assert_int_equal(ids.n, 1);
	assert_id(&ids, 0, XS2S_CERTID_XMPPADDR, "xn--bcher-kva.test");
	assert_match(&ids, "xn--bcher-kva.test", XS2S_CERTID_XMPPADDR);
	assert_match(&ids, "XN--BCHER-KVA.TEST", XS2S_CERTID_XMPPADDR);
	assert_no_match(&ids, "b\xc3\xbc" "cher.test"); /* domains are A-labels */
	assert_no_match(&ids, "bcher.test");
}

static void test_xmppaddr_jid(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("xmppaddr-jid", &ids);
	assert_int_equal(ids.n, 2);
	assert_id(&ids, 0, XS2S_CERTID_XMPPADDR, "admin@jid.test");
	assert_id(&ids, 1, XS2S_CERTID_XMPPADDR, "jid.test/res");
	assert_no_match(&ids, "jid.test");
	assert_no_match(&ids, "admin@jid.test");
	assert_no_match(&ids, "jid.test/res");
}

static void test_wrong_name(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("wrong", &ids);
	assert_int_equal(ids.n, 4);
	assert_id(&ids, 3, XS2S_CERTID_CN, "xmpp.test");
	assert_no_match(&ids, "xmpp.test"); /* the CN is not used: there is a SAN */
	assert_no_match(&ids, "test");
	assert_match(&ids, "other.test", XS2S_CERTID_SRV);
}

static void test_cn_only(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("cn", &ids);
	assert_int_equal(ids.n, 1);
	assert_false(ids.has_san);
	assert_id(&ids, 0, XS2S_CERTID_CN, "cn.test");
	assert_match(&ids, "cn.test", XS2S_CERTID_CN);
	assert_match(&ids, "CN.TEST.", XS2S_CERTID_CN);
	assert_no_match(&ids, "a.cn.test");

	parse_file("cn-ext", &ids); /* with basicConstraints (critical) and a key id */
	assert_int_equal(ids.n, 1);
	assert_false(ids.has_san);
	assert_match(&ids, "cn.test", XS2S_CERTID_CN);
}

static void test_cn_with_san(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("cn-san", &ids);
	assert_int_equal(ids.n, 2);
	assert_true(ids.has_san);
	assert_id(&ids, 0, XS2S_CERTID_DNS, "san.test");
	assert_id(&ids, 1, XS2S_CERTID_CN, "cn.test");
	assert_no_match(&ids, "cn.test");
	assert_match(&ids, "san.test", XS2S_CERTID_DNS);
}

static void test_mixed(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("mixed", &ids); /* also email, IP and URI names: skipped */
	assert_int_equal(ids.n, 4);
	assert_false(ids.truncated);
	assert_id(&ids, 0, XS2S_CERTID_DNS, "dns.mixed.test");
	assert_id(&ids, 1, XS2S_CERTID_SRV, "_xmpp-server.mixed.test");
	assert_id(&ids, 2, XS2S_CERTID_XMPPADDR, "xmpp.mixed.test");
	assert_id(&ids, 3, XS2S_CERTID_CN, "mixed.test");
	assert_match(&ids, "mixed.test", XS2S_CERTID_SRV);
	assert_match(&ids, "xmpp.mixed.test", XS2S_CERTID_XMPPADDR);
	assert_match(&ids, "dns.mixed.test", XS2S_CERTID_DNS);
	assert_no_match(&ids, "192.0.2.1");
}

static void test_many(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	parse_file("many", &ids);
	assert_int_equal(ids.n, XS2S_CERTID_MAX);
	assert_true(ids.truncated);
	assert_id(&ids, 0, XS2S_CERTID_DNS, "n1.many.test");
	assert_id(&ids, XS2S_CERTID_MAX - 1, XS2S_CERTID_DNS, "n16.many.test");
	assert_match(&ids, "n16.many.test", XS2S_CERTID_DNS);
	assert_no_match(&ids, "n17.many.test");
}

/* ---- malformed DER ---- */

/* Every proper prefix of every certificate is malformed; so is a trailing byte. */
static void test_prefixes(void **state)
{
	static uint8_t buf[DER_MAX];
	struct xs2s_certids ids;
	size_t f, n, len;
	(void)state;

	for (f = 0; f < DER_FILES; f++) {
		len = load(der_files[f], buf);
		for (n = 0; n < len; n++)
			assert_int_equal(parse_copy(buf, n, &ids), XS2S_EPROTO);
		assert_int_equal(parse_copy(buf, len, &ids), XS2S_OK);
		buf[len] = 0;
		assert_int_equal(parse_copy(buf, len + 1, &ids), XS2S_EPROTO);
	}
}

/* Every byte of a real certificate replaced by a few values: no crash, no
 * read past the end, OK or EPROTO. */
static void test_mutations(void **state)
{
	static const uint8_t vals[] = { 0x00, 0x01, 0x7F, 0x80, 0x81, 0x84, 0x85, 0xFF };
	static uint8_t buf[DER_MAX];
	struct xs2s_certids ids;
	size_t len, i, v;
	uint8_t keep;
	(void)state;

	len = load("mixed", buf);
	for (i = 0; i < len; i++) {
		keep = buf[i];
		for (v = 0; v < sizeof(vals); v++) {
			buf[i] = vals[v];
			parse_copy(buf, len, &ids);
			buf[i] = (uint8_t)(keep + v + 1);
			parse_copy(buf, len, &ids);
		}
		buf[i] = keep;
	}
}

static void test_bad_lengths(void **state)
{
	static uint8_t buf[DER_MAX];
	struct xs2s_certids ids;
	size_t len;
	(void)state;

	len = load("dns", buf);
	assert_int_equal(buf[0], 0x30);
	assert_int_equal(buf[1], 0x82); /* a two-byte long-form length */

	buf[1] = 0x80; /* indefinite */
	assert_int_equal(parse_copy(buf, len, &ids), XS2S_EPROTO);
	buf[1] = 0x85; /* five length bytes */
	assert_int_equal(parse_copy(buf, len, &ids), XS2S_EPROTO);
	buf[1] = 0x81; /* length one byte short of the real one */
	assert_int_equal(parse_copy(buf, len, &ids), XS2S_EPROTO);
	buf[1] = 0x82;
	buf[3]++; /* one byte more than there is */
	assert_int_equal(parse_copy(buf, len, &ids), XS2S_EPROTO);
	buf[3] -= 2; /* one byte less: a trailing byte */
	assert_int_equal(parse_copy(buf, len, &ids), XS2S_EPROTO);
	buf[3]++;
	buf[2] = 0xFF; /* far too long */
	assert_int_equal(parse_copy(buf, len, &ids), XS2S_EPROTO);

	{
		static const uint8_t huge[] = { 0x30, 0x84, 0xFF, 0xFF, 0xFF, 0xFF, 0x30, 0x00 };
		static const uint8_t indef[] = { 0x30, 0x80, 0x30, 0x80, 0x00, 0x00, 0x00, 0x00 };
		static const uint8_t high_tag[] = { 0x3F, 0x81, 0x01, 0x00 };
		static const uint8_t empty_seq[] = { 0x30, 0x00 };
		static const uint8_t len_only[] = { 0x30, 0x82, 0x01 };

		assert_int_equal(parse_copy(huge, sizeof(huge), &ids), XS2S_EPROTO);
		assert_int_equal(parse_copy(indef, sizeof(indef), &ids), XS2S_EPROTO);
		assert_int_equal(parse_copy(high_tag, sizeof(high_tag), &ids), XS2S_EPROTO);
		assert_int_equal(parse_copy(empty_seq, sizeof(empty_seq), &ids), XS2S_EPROTO);
		assert_int_equal(parse_copy(len_only, sizeof(len_only), &ids), XS2S_EPROTO);
	}
}

/* levels nested empty-at-the-core elements of tag, written back to front. */
static struct buf deep(uint8_t tag, size_t levels)
{
	struct buf b = buf_new();
	size_t pos = BUILD_CAP, n, i;

	for (i = 0; i < levels; i++) {
		n = BUILD_CAP - pos;
		if (n < 0x80) {
			b.d[--pos] = (uint8_t)n;
		} else if (n < 0x100) {
			b.d[--pos] = (uint8_t)n;
			b.d[--pos] = 0x81;
		} else {
			b.d[--pos] = (uint8_t)n;
			b.d[--pos] = (uint8_t)(n >> 8);
			b.d[--pos] = 0x82;
		}
		b.d[--pos] = tag;
	}
	b.n = BUILD_CAP - pos;
	memmove(b.d, b.d + pos, b.n);
	return b;
}

static void test_deep_nesting(void **state)
{
	static const uint8_t tags[] = { 0x30, 0xA0, 0xA3, 0x31 };
	struct xs2s_certids ids;
	struct buf d, names, exts, c;
	size_t t;
	(void)state;

	for (t = 0; t < sizeof(tags); t++) {
		d = deep(tags[t], DEEP_LEVELS);
		assert_int_equal(parse_copy(d.d, d.n, &ids), XS2S_EPROTO);
		free(d.d);
	}

	/* Deep structures where nothing is looked at: skipped by length. */
	d = deep(0x30, DEEP_INNER);
	names = buf_new();
	gn_other(&names, oid_other, sizeof(oid_other), 0x30, d.d, d.n); /* unknown otherName */
	put(&names, 0xA4, d.d, d.n);                                     /* directoryName */
	gn_dns(&names, "deep.test");
	exts = buf_new();
	ext(&exts, oid_bc, sizeof(oid_bc), 1, &d);                       /* its value, unparsed */
	ext_san(&exts, &names);
	c = cert(NULL, &exts);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_OK);
	assert_int_equal(ids.n, 1);
	assert_match(&ids, "deep.test", XS2S_CERTID_DNS);
	free(c.d);
	free(d.d);
	free(names.d);
	free(exts.d);
}

/* ---- hand-made certificates ---- */

static void test_v1_and_subject(void **state)
{
	struct xs2s_certids ids;
	struct buf subj = buf_new(), c;
	(void)state;

	rdn_cn(&subj, 0x13, "first.test");          /* PrintableString */
	rdn_cn(&subj, 0x0C, "*.wild.test");         /* UTF8String */
	rdn_cn(&subj, 0x1E, "bmp!");                /* BMPString: skipped */
	rdn_cn(&subj, 0x0C, "with space.test");     /* not a DNS name: skipped */
	c = cert(&subj, NULL);                      /* v1: no version, no extensions */
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_OK);
	assert_int_equal(ids.n, 2);
	assert_false(ids.has_san);
	assert_id(&ids, 0, XS2S_CERTID_CN, "first.test");
	assert_id(&ids, 1, XS2S_CERTID_CN, "*.wild.test");
	assert_match(&ids, "first.test", XS2S_CERTID_CN);
	assert_match(&ids, "a.wild.test", XS2S_CERTID_CN); /* CN as a DNS-ID, wildcard too */
	assert_no_match(&ids, "wild.test");
	free(c.d);
	free(subj.d);

	/* A subject that is not SET OF SEQUENCE. */
	subj = buf_new();
	put(&subj, 0x30, NULL, 0);
	c = cert(&subj, NULL);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_EPROTO);
	free(c.d);
	free(subj.d);
}

static void test_bad_structure(void **state)
{
	static const uint8_t nul_name[] = "good.test\0.evil.test";
	static const uint8_t bad_utf8[] = { 'a', 0xC3, '.', 't' };
	struct xs2s_certids ids;
	struct buf names, exts, c, v;
	(void)state;

	/* Two subjectAltName extensions. */
	names = buf_new();
	gn_dns(&names, "a.test");
	exts = buf_new();
	ext_san(&exts, &names);
	ext_san(&exts, &names);
	c = cert(NULL, &exts);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_EPROTO);
	free(c.d);
	free(exts.d);

	/* A GeneralName with a universal tag. */
	put(&names, 0x30, NULL, 0);
	c = cert_san(&names);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_EPROTO);
	free(c.d);
	free(names.d);

	/* XmppAddr as an IA5String, SRVName as a UTF8String. */
	names = buf_new();
	gn_other(&names, oid_xmpp, sizeof(oid_xmpp), 0x16, "x.test", 6);
	c = cert_san(&names);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_EPROTO);
	free(c.d);
	free(names.d);
	names = buf_new();
	gn_other(&names, oid_srv, sizeof(oid_srv), 0x0C, "_xmpp-server.x.test", 19);
	c = cert_san(&names);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_EPROTO);
	free(c.d);
	free(names.d);

	/* otherName without its [0] value. */
	names = buf_new();
	v = buf_new();
	put(&v, 0x06, oid_xmpp, sizeof(oid_xmpp));
	put(&names, 0xA0, v.d, v.n);
	c = cert_san(&names);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_EPROTO);
	free(c.d);
	free(names.d);
	free(v.d);

	/* An extension whose critical flag is not a one-byte BOOLEAN. */
	exts = buf_new();
	v = buf_new();
	put(&v, 0x06, oid_bc, sizeof(oid_bc));
	put(&v, 0x01, "\xFF\xFF", 2);
	put(&v, 0x04, "\x30\x00", 2);
	put(&exts, 0x30, v.d, v.n);
	c = cert(NULL, &exts);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_EPROTO);
	free(c.d);
	free(exts.d);
	free(v.d);

	/* Names skipped, certificate fine: embedded NUL, invalid UTF-8, empty. */
	names = buf_new();
	put(&names, 0x82, nul_name, sizeof(nul_name) - 1);
	gn_other(&names, oid_xmpp, sizeof(oid_xmpp), 0x0C, bad_utf8, sizeof(bad_utf8));
	gn_xmpp(&names, "ctl\x01.test");
	gn_xmpp(&names, "c1\xc2\x85.test");
	gn_dns(&names, "");
	gn_other(&names, oid_srv, sizeof(oid_srv), 0x16, "", 0);
	c = cert_san(&names);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_OK);
	assert_int_equal(ids.n, 0);
	assert_true(ids.has_san);
	assert_false(ids.truncated);
	assert_no_match(&ids, "good.test");
	free(c.d);
	free(names.d);

	/* An empty SAN still disables the CN. */
	names = buf_new();
	exts = buf_new();
	ext_san(&exts, &names);
	v = buf_new();
	rdn_cn(&v, 0x0C, "cn.test");
	c = cert(&v, &exts);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_OK);
	assert_true(ids.has_san);
	assert_int_equal(ids.n, 1);
	assert_no_match(&ids, "cn.test");
	free(c.d);
	free(names.d);
	free(exts.d);
	free(v.d);
}

static void test_long_names(void **state)
{
	char name[XS2S_CERTID_NAME_MAX + 2];
	struct xs2s_certids ids;
	struct buf names = buf_new(), c;
	(void)state;

	memset(name, 'a', sizeof(name));
	name[sizeof(name) - 1] = '\0';             /* 256 characters: too long */
	gn_dns(&names, name);
	name[sizeof(name) - 2] = '\0';             /* 255: fits */
	gn_dns(&names, name);
	c = cert_san(&names);
	assert_int_equal(parse_copy(c.d, c.n, &ids), XS2S_OK);
	assert_true(ids.truncated);
	assert_int_equal(ids.n, 1);
	assert_id(&ids, 0, XS2S_CERTID_DNS, name);
	assert_match(&ids, name, XS2S_CERTID_DNS);
	free(c.d);
	free(names.d);
}

static void test_punycode(void **state)
{
	static const struct { const char *in, *out; } v[] = {
		{ "b\xc3\xbc" "cher.test", "xn--bcher-kva.test" },
		{ "B\xc3\x9c" "CHER.test", "xn--bcher-2pa.test" }, /* no Unicode case mapping */
		{ "\xe4\xb8\xad\xe5\x9b\xbd", "xn--fiqs8s" },
		{ "\xd0\xb8\xd1\x81\xd0\xbf\xd1\x8b\xd1\x82\xd0\xb0\xd0\xbd\xd0\xb8\xd0\xb5.test",
		  "xn--80akhbyknj4f.test" },
		{ "\xe3\x83\x86\xe3\x82\xb9\xe3\x83\x88.Example", "xn--zckzah.example" },
		{ "ma\xc3\xb1" "ana.test", "xn--maana-pta.test" },
		{ "\xc3\xbc.b\xc3\xbc" "cher.test", "xn--tda.xn--bcher-kva.test" },
		{ "m\xc3\xbc" "nchen-stra\xc3\x9f" "e.test", "xn--mnchen-strae-v9a90b.test" },
		{ "\xce\xb4\xce\xbf\xce\xba\xce\xb9\xce\xbc\xce\xae", "xn--jxalpdlp" },
		{ "a\xf0\x9f\x98\x80" "b.test", "xn--ab-no82a.test" },
		{ "xn--bcher-kva.test", "xn--bcher-kva.test" },
		{ "test.", "test." },
	};
	struct xs2s_certids ids;
	char big[4 * XS2S_CERTID_NAME_MAX];
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(parse_xmpp(v[i].in, &ids), XS2S_OK);
		assert_int_equal(ids.n, 1);
		assert_id(&ids, 0, XS2S_CERTID_XMPPADDR, v[i].out);
		assert_match(&ids, v[i].out, XS2S_CERTID_XMPPADDR);
	}

	/* A JID is kept as it is (ASCII lower-cased). */
	assert_int_equal(parse_xmpp("Ren\xc3\xa9@B\xc3\xbc" "cher.test/Res", &ids), XS2S_OK);
	assert_id(&ids, 0, XS2S_CERTID_XMPPADDR, "ren\xc3\xa9@b\xc3\xbc" "cher.test/res");

	/* 60 x U+00FC: an A-label of 66 characters, fine. */
	for (i = 0; i < 60; i++)
		memcpy(big + 2 * i, "\xc3\xbc", 2);
	big[2 * i] = '\0';
	assert_int_equal(parse_xmpp(big, &ids), XS2S_OK);
	assert_int_equal(ids.n, 1);
	assert_int_equal(strlen(ids.id[0].name), 4 + 62);

	/* 300 code points: too long, skipped. */
	for (i = 0; i < 300; i++)
		memcpy(big + 2 * i, "\xc3\xbc", 2);
	big[2 * i] = '\0';
	assert_int_equal(parse_xmpp(big, &ids), XS2S_OK);
	assert_int_equal(ids.n, 0);
	assert_true(ids.truncated);

	/* 250 x U+10FFFF, 4 bytes each: too long as well, and no overflow. */
	for (i = 0; i < 250; i++)
		memcpy(big + 4 * i, "\xf4\x8f\xbf\xbf", 4);
	big[4 * i] = '\0';
	assert_int_equal(parse_xmpp(big, &ids), XS2S_OK);
	assert_int_equal(ids.n, 0);
	assert_true(ids.truncated);
}

/* ---- matching rules on hand-filled identity lists ---- */

static struct xs2s_certids one(enum xs2s_certid_type t, const char *name, bool has_san)
{
	struct xs2s_certids ids;

	memset(&ids, 0, sizeof(ids));
	ids.n = 1;
	ids.has_san = has_san;
	ids.id[0].type = t;
	snprintf(ids.id[0].name, sizeof(ids.id[0].name), "%s", name);
	return ids;
}

static void test_match_rules(void **state)
{
	struct xs2s_certids ids;
	(void)state;

	ids = one(XS2S_CERTID_DNS, "*.com", true);
	assert_no_match(&ids, "a.com");
	ids = one(XS2S_CERTID_DNS, "*.com.", true);
	assert_no_match(&ids, "a.com");
	ids = one(XS2S_CERTID_DNS, "f*o.example.com", true);
	assert_no_match(&ids, "foo.example.com");
	assert_no_match(&ids, "fo.example.com");
	ids = one(XS2S_CERTID_DNS, "*o.example.com", true);
	assert_no_match(&ids, "foo.example.com");
	ids = one(XS2S_CERTID_DNS, "a.*.example.com", true);
	assert_no_match(&ids, "a.b.example.com");
	ids = one(XS2S_CERTID_DNS, "*.*.example.com", true);
	assert_no_match(&ids, "a.b.example.com");
	ids = one(XS2S_CERTID_DNS, "*", true);
	assert_no_match(&ids, "a");
	ids = one(XS2S_CERTID_DNS, "*.", true);
	assert_no_match(&ids, "a");
	ids = one(XS2S_CERTID_DNS, "*.example..com", true);
	assert_no_match(&ids, "a.example..com");
	ids = one(XS2S_CERTID_DNS, "*.example.com.", true);
	assert_match(&ids, "a.example.com", XS2S_CERTID_DNS);
	assert_match(&ids, "a.example.com.", XS2S_CERTID_DNS);
	assert_match(&ids, "xn--bcher-kva.example.com", XS2S_CERTID_DNS);

	ids = one(XS2S_CERTID_SRV, "_xmpp-server.*.test", true);
	assert_no_match(&ids, "a.test");
	ids = one(XS2S_CERTID_SRV, "_xmpp-server.", true);
	assert_no_match(&ids, ".");
	ids = one(XS2S_CERTID_SRV, "_xmpp-server.a.test.", true);
	assert_match(&ids, "a.test", XS2S_CERTID_SRV);

	ids = one(XS2S_CERTID_XMPPADDR, "*.example.com", true);
	assert_no_match(&ids, "a.example.com");

	ids = one(XS2S_CERTID_CN, "cn.test", true);
	assert_no_match(&ids, "cn.test");
	ids = one(XS2S_CERTID_CN, "cn.test", false);
	assert_match(&ids, "cn.test", XS2S_CERTID_CN);

	/* Domains that never match. */
	ids = one(XS2S_CERTID_DNS, "a.test", true);
	assert_no_match(&ids, "");
	assert_no_match(&ids, ".");
	assert_no_match(&ids, "a.test ");
	assert_no_match(&ids, "a.test\x01");
	assert_false(xs2s_certid_match(&ids, NULL, NULL));
	assert_false(xs2s_certid_match(NULL, "a.test", NULL));

	/* An unterminated name in a caller-filled list is read within bounds. */
	memset(ids.id[0].name, 'a', sizeof(ids.id[0].name));
	assert_no_match(&ids, "a.test");
	ids.n = XS2S_CERTID_MAX + 100; /* clamped */
	assert_no_match(&ids, "a.test");
}

static void test_names_and_args(void **state)
{
	struct xs2s_certids ids;
	uint8_t b = 0;
	(void)state;

	assert_string_equal(xs2s_certid_type_name(XS2S_CERTID_DNS), "DNS-ID");
	assert_string_equal(xs2s_certid_type_name(XS2S_CERTID_SRV), "SRV-ID");
	assert_string_equal(xs2s_certid_type_name(XS2S_CERTID_XMPPADDR), "XmppAddr");
	assert_string_equal(xs2s_certid_type_name(XS2S_CERTID_CN), "CN");
	assert_string_equal(xs2s_certid_type_name((enum xs2s_certid_type)0), "?");
	assert_int_equal(xs2s_certid_parse(NULL, 0, &ids), XS2S_EINVAL);
	assert_int_equal(ids.n, 0);
	assert_int_equal(xs2s_certid_parse(&b, 1, NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_certid_parse(&b, 0, &ids), XS2S_EPROTO);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dns_only),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_srv),
		cmocka_unit_test(test_xmppaddr),
		cmocka_unit_test(test_xmppaddr_idn),
		cmocka_unit_test(test_xmppaddr_jid),
		cmocka_unit_test(test_wrong_name),
		cmocka_unit_test(test_cn_only),
		cmocka_unit_test(test_cn_with_san),
		cmocka_unit_test(test_mixed),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_mutations),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_v1_and_subject),
		cmocka_unit_test(test_bad_structure),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_punycode),
		cmocka_unit_test(test_match_rules),
		cmocka_unit_test(test_names_and_args),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
