/* Fuzz harness for the DNS codec (firmware/dns.c).
 *
 * Each input is a response datagram. Its first byte picks the question it
 * is checked against (SRV, A or AAAA of fixed names); the id is taken from
 * the input itself so the fuzzer gets past the id check. The datagram is
 * parsed from an exact-size copy (ASan sees any over-read), and then:
 *   - the result is one of the documented codes; a complete message with
 *     one trailing byte more gives the same result (trailing data is
 *     ignored);
 *   - on XS2S_OK, xs2s_dns_next yields exactly m.count answers of the asked
 *     type, SRV targets decode into a name buffer (or are refused) and
 *     addresses format; the usable SRV records are ordered and must come
 *     out a permutation with priorities ascending;
 *   - every shorter prefix of the input parses without crashing and never
 *     gives XS2S_OK with more answers than the whole message.
 *
 * Build with libFuzzer: see test/fuzz/README.md.
 * Linked with replay.c instead, it replays the files named on the command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

#include "resolve/dns.h"

#define FUZZ_SRV_MAX 64       /* SRV answers ordered per input */
#define FUZZ_PREFIX_STEP 7    /* prefixes checked: every 7th length */


static const struct {
	const char *name;
	uint16_t type;
} fuzz_questions[] = {
	{ "_xmpp-server._tcp.example.net", XS2S_DNS_TYPE_SRV },
	{ "xmpp.example.net", XS2S_DNS_TYPE_A },
	{ "xmpp.example.net", XS2S_DNS_TYPE_AAAA },
};
#define FUZZ_NQ (sizeof fuzz_questions / sizeof fuzz_questions[0])

static uint32_t fuzz_rng(void *ctx)
{
	uint32_t *s = ctx;

	*s = *s * 1664525u + 1013904223u;
	return *s;
}

/* Parse len bytes of data from an exact-size copy. */
static int fuzz_parse(const uint8_t *data, size_t len, uint16_t id, unsigned qi, struct xs2s_dns_msg *m,
		      uint8_t **copy)
{
	*copy = malloc(len ? len : 1);
	FUZZ_CHECK(*copy != NULL);
	memcpy(*copy, data, len);
	return xs2s_dns_parse(m, *copy, len, id, fuzz_questions[qi].name, fuzz_questions[qi].type);
}

static void fuzz_answers(struct xs2s_dns_msg *m, uint16_t type)
{
	static struct xs2s_dns_srv v[FUZZ_SRV_MAX];
	struct xs2s_dns_rr rr;
	char name[XS2S_DNS_NAME_MAX + 1], addr[XS2S_ADDR_MAX];
	unsigned n = 0, nsrv = 0, i, seen = 0;
	uint32_t seed = m->count;

	while (xs2s_dns_next(m, &rr)) {
		FUZZ_CHECK(rr.type == type);
		n++;
		if (type == XS2S_DNS_TYPE_SRV) {
			int rc = xs2s_dns_name(m, rr.target, name, sizeof name);

			FUZZ_CHECK(rc == XS2S_OK || rc == XS2S_EINVAL);
			if (rc == XS2S_OK) {
				FUZZ_CHECK(strlen(name) <= XS2S_DNS_NAME_MAX);
				FUZZ_CHECK(xs2s_dns_name(m, rr.target, name, 1) == (name[0] ? XS2S_ERANGE : XS2S_OK));
			}
			if (nsrv < FUZZ_SRV_MAX) {
				v[nsrv].prio = rr.prio;
				v[nsrv].weight = rr.weight;
				v[nsrv].port = rr.port;
				v[nsrv].ref = (uint16_t)nsrv;
				nsrv++;
			}
		} else {
			xs2s_dns_addr_text(rr.addr, type == XS2S_DNS_TYPE_A ? 4 : 16, addr);
			FUZZ_CHECK(addr[0] && strlen(addr) < XS2S_ADDR_MAX);
		}
	}
	FUZZ_CHECK(n == m->count);
	FUZZ_CHECK(xs2s_dns_next(m, &rr) == 0);
	xs2s_dns_srv_order(v, nsrv, fuzz_rng, &seed);
	for (i = 0; i < nsrv; i++) {
		FUZZ_CHECK(v[i].ref < nsrv);
		FUZZ_CHECK(i == 0 || v[i - 1].prio <= v[i].prio);
		if (v[i].ref < 32)
			seen ^= 1u << v[i].ref;
	}
	FUZZ_CHECK(seen == (nsrv >= 32 ? 0xffffffffu : (1u << nsrv) - 1));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct xs2s_dns_msg m, m2;
	uint8_t *copy, *copy2, *longer;
	unsigned qi;
	uint16_t id;
	size_t k;
	int rc, rc2;

	if (len < 1)
		return 0;
	qi = data[0] % FUZZ_NQ;
	data++;
	len--;
	id = len >= 2 ? (uint16_t)(data[0] << 8 | data[1]) : 0;
	rc = fuzz_parse(data, len, id, qi, &m, &copy);
	FUZZ_CHECK(rc == XS2S_OK || rc == XS2S_ENOTFOUND || rc == XS2S_EAGAIN || rc == XS2S_ERANGE ||
		   rc == XS2S_EIO || rc == XS2S_EPROTO);
	if (rc == XS2S_OK)
		fuzz_answers(&m, fuzz_questions[qi].type);

	/* One trailing byte changes nothing in a complete message (it may
	 * complete a short one: no check after EAGAIN or EPROTO). */
	longer = malloc(len + 1);
	FUZZ_CHECK(longer != NULL);
	memcpy(longer, data, len);
	longer[len] = 0xa5;
	rc2 = xs2s_dns_parse(&m2, longer, len + 1, id, fuzz_questions[qi].name, fuzz_questions[qi].type);
	FUZZ_CHECK(rc2 == rc || rc == XS2S_EAGAIN || rc == XS2S_EPROTO);
	FUZZ_CHECK(rc != XS2S_OK || m2.count == m.count);
	free(longer);

	/* Prefixes: no crash, no more answers than the whole. */
	for (k = 0; k < len; k += FUZZ_PREFIX_STEP) {
		rc2 = fuzz_parse(data, k, id, qi, &m2, &copy2);
		FUZZ_CHECK(rc2 != XS2S_OK || rc == XS2S_OK);
		free(copy2);
	}
	free(copy);
	return 0;
}
