/* DNS message codec (RFC 1035, RFC 2782 SRV, RFC 3596 AAAA, RFC 6891 OPT).
 *
 * Pure: no I/O, no allocation, no global state; the caller supplies buffers,
 * query ids and random numbers. Every read of a response is bounds-checked
 * against its length; names are walked with a hard limit on compression
 * pointer hops, pointers MUST point strictly backwards (so they cannot loop)
 * and a decoded name never exceeds 255 octets (RFC 1035 2.3.4).
 *
 * What a response must be to be accepted (xs2s_dns_parse):
 *   - a response (QR) to a standard query with our id, exactly one question
 *     equal to ours (name case-insensitively, type, class IN); anything else
 *     is "not our answer" and is ignored (XS2S_EAGAIN), as RFC 5452 9.1 asks;
 *   - not truncated: TC set is a failure (XS2S_ERANGE). There is no TCP
 *     fallback: the query advertises an EDNS(0) UDP payload of
 *     XS2S_DNS_UDP_MAX bytes, which holds any sane SRV or address set;
 *   - every resource record of every section well-formed (XS2S_EPROTO).
 * Usable answers are the records of the asked type and class IN owned by the
 * question name or by the end of a CNAME chain that starts at it inside the
 * answer section (at most XS2S_DNS_CNAME_MAX links). No new query is made for
 * an alias, and records in the authority and additional sections are never
 * used (they are only checked for well-formedness).
 */
#ifndef XS2S_DNS_H
#define XS2S_DNS_H

#include <stddef.h>
#include <stdint.h>
#include "xs2s_err.h"
#include "port.h"

#define XS2S_DNS_PORT 53
#define XS2S_DNS_HDR_LEN 12
#define XS2S_DNS_WIRE_NAME_MAX 255 /* RFC 1035 2.3.4: octets of a name on the wire */
#define XS2S_DNS_LABEL_MAX 63      /* RFC 1035 2.3.4 */
#define XS2S_DNS_NAME_MAX 253      /* longest name in text form, no trailing dot */
#define XS2S_DNS_PTR_HOPS_MAX 16   /* compression pointers followed in one name */
#define XS2S_DNS_CNAME_MAX 8       /* CNAME links followed in one answer section */
#define XS2S_DNS_UDP_MAX 1232      /* EDNS(0) payload advertised, largest answer read */
#define XS2S_DNS_OPT_LEN 11        /* an OPT record without options */
/* Largest query: header, name, type and class, OPT record. */
#define XS2S_DNS_QUERY_MAX (XS2S_DNS_HDR_LEN + XS2S_DNS_WIRE_NAME_MAX + 4 + XS2S_DNS_OPT_LEN)

#define XS2S_DNS_TYPE_A 1
#define XS2S_DNS_TYPE_CNAME 5
#define XS2S_DNS_TYPE_AAAA 28
#define XS2S_DNS_TYPE_SRV 33
#define XS2S_DNS_TYPE_OPT 41
#define XS2S_DNS_CLASS_IN 1

/* RCODEs (RFC 1035 4.1.1) the resolver tells apart. */
#define XS2S_DNS_RCODE_NOERROR 0
#define XS2S_DNS_RCODE_FORMERR 1
#define XS2S_DNS_RCODE_SERVFAIL 2
#define XS2S_DNS_RCODE_NXDOMAIN 3

/* Build a recursive query (RD set) for name ("example.net", one trailing dot
 * allowed) of type into buf. edns_payload > 0 appends an OPT record
 * advertising that UDP payload size. Returns the length, XS2S_EINVAL for a
 * name that is empty, has an empty or over-long label, is longer than 255
 * octets on the wire, or holds a byte that is not printable ASCII (IDNs must
 * be converted to A-labels first), or XS2S_ERANGE when cap is too small. */
int xs2s_dns_query(uint8_t *buf, size_t cap, uint16_t id, const char *name, uint16_t type,
		   uint16_t edns_payload);

/* A parsed response. The message is not copied: it must stay unchanged
 * while the answers are read. */
struct xs2s_dns_msg {
	const uint8_t *p;
	size_t len;
	uint8_t rcode;     /* RCODE of the header, also when parsing failed after the question */
	uint16_t qtype;
	uint16_t count;    /* usable answers (0 with XS2S_OK: NODATA) */
	/* Iteration state: private. */
	uint16_t owner;    /* offset of the name usable answers are owned by */
	uint16_t next;     /* offset of the next answer record to look at */
	uint16_t left;     /* answer records not yet looked at */
};

/* One usable answer. */
struct xs2s_dns_rr {
	uint16_t type;
	uint32_t ttl;
	uint8_t addr[16];  /* A: 4 bytes, AAAA: 16 bytes */
	uint16_t prio, weight, port; /* SRV */
	uint16_t target;   /* SRV: offset of the target name, for xs2s_dns_name() */
};

/* Check msg (len bytes) as the answer to the query (id, qname, qtype):
 *   XS2S_OK        answers follow (m->count of them; 0 means NODATA);
 *   XS2S_ENOTFOUND NXDOMAIN;
 *   XS2S_EAGAIN    not an answer to this query (wrong id, not a response,
 *                  other question, too short to tell): ignore it;
 *   XS2S_ERANGE    truncated (TC): a failure, see above;
 *   XS2S_EIO       the server reported an error (m->rcode says which);
 *   XS2S_EPROTO    malformed after the question. */
int xs2s_dns_parse(struct xs2s_dns_msg *m, const uint8_t *msg, size_t len, uint16_t id, const char *qname,
		   uint16_t qtype);

/* The next usable answer of a message parse accepted: 1 and *rr, or 0 when
 * there are no more. Never fails: parse checked every record. */
int xs2s_dns_next(struct xs2s_dns_msg *m, struct xs2s_dns_rr *rr);

/* The name at off (a SRV target) in text form, lower case, without a
 * trailing dot; the root name gives "". XS2S_OK, XS2S_ERANGE when it does
 * not fit in cap bytes (NUL included), XS2S_EINVAL when a label holds a
 * byte that cannot appear in a host name's text form ('.', space, control,
 * non-ASCII). */
int xs2s_dns_name(const struct xs2s_dns_msg *m, uint16_t off, char *out, size_t cap);

/* RFC 2782 ordering of SRV records. */
struct xs2s_dns_srv {
	uint16_t prio, weight, port;
	uint16_t ref; /* the caller's index, carried along */
};
/* A source of 32-bit random numbers (tests inject a deterministic one). */
typedef uint32_t (*xs2s_dns_rng)(void *ctx);
/* Order v[0..n) in place: priorities ascending; within a priority, repeated
 * weighted random selection (weight-0 records first in the running sum, so
 * they are picked only when the draw is 0, or in turn when all are 0). */
void xs2s_dns_srv_order(struct xs2s_dns_srv *v, unsigned n, xs2s_dns_rng rng, void *ctx);

/* Address bytes (4 or 16) as text: dotted quad, or RFC 5952 IPv6. */
void xs2s_dns_addr_text(const uint8_t *a, unsigned len, char out[XS2S_ADDR_MAX]);

#endif
