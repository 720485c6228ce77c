/* Peer resolution (RFC 6120 3.2): the static host map, then DNS.
 *
 * A lookup runs in a slot of the engine's resolver (CONFIG_XS2S_DNS_QUERIES)
 * and never blocks: the engine adds the resolver's sockets to its poll set,
 * calls xs2s_resolve_step() every round and bounds its poll timeout with
 * xs2s_resolve_next_ms().
 *
 * Order of a lookup for domain D:
 *   1. the static host map (CONFIG_XS2S_HOST_MAP, then the config's and
 *      xs2s_resolve_map_add's entries): one candidate, ready at once;
 *   2. SRV _xmpp-server._tcp.D and, with CONFIG_XS2S_DIRECT_TLS, SRV
 *      _xmpps-server._tcp.D (XEP-0368), both at once. Each answer is ordered
 *      per RFC 2782 (priority, then weighted random); the two are merged
 *      into one list by priority (XEP-0368 3 rule 1: one record set as far
 *      as priorities go), and at equal priority the direct TLS targets come
 *      first (rule 1: "clients MAY choose to prefer one type of connection
 *      over the other"); each target carries its transport. A single record
 *      with target "." means D offers that service not at all: for
 *      _xmpp-server, no STARTTLS service; for _xmpps-server, no direct TLS
 *      (XEP-0368 5: use the _xmpp-server records, and no A/AAAA fallback).
 *      No usable record of either (NXDOMAIN, NODATA, a server error) falls
 *      back to D itself, port 5269, STARTTLS (RFC 6120 3.2.2); the
 *      _xmpp-server query timing out with no direct TLS record ends the
 *      lookup (XS2S_ETIMEDOUT);
 *   3. AAAA and A of every kept target (the first CONFIG_XS2S_RESOLVE_TARGETS
 *      of the order), all in parallel; each target's addresses alternate
 *      IPv6, IPv4 (RFC 8305 4), targets in SRV order, the list cut at
 *      CONFIG_XS2S_RESOLVE_TARGETS.
 * Each query is sent up to 1 + CONFIG_XS2S_DNS_RETRIES times, waiting
 * CONFIG_XS2S_DNS_TIMEOUT_MS for each try. The list is ready as soon as its
 * head is settled: every target before the cut has answered or failed.
 * Records in additional sections are not used (no glue is trusted), and no
 * TCP fallback exists for truncated answers (see dns.h). Without
 * CONFIG_XS2S_DNS only the host map answers (no DNS code is built).
 *
 * Who calls: the link (lookups) and the engine (init, poll set, step). Owns:
 * its slots, their UDP sockets, the host map. Never touches: links.
 */
#ifndef XS2S_RESOLVE_H
#define XS2S_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include "port.h"
#include "lib/jid.h"
#include "resolve/dns.h"

#define XS2S_XMPP_SERVER_PORT 5269 /* RFC 6120 3.2.2 fallback port */
#define XS2S_HOSTMAP_ENTRIES 16

/* Poll set entries the resolver may add (one socket per active lookup). */
#if CONFIG_XS2S_DNS
#define XS2S_RESOLVE_SLOTS CONFIG_XS2S_DNS_QUERIES
#define XS2S_RESOLVE_POLLFDS CONFIG_XS2S_DNS_QUERIES
#else
#define XS2S_RESOLVE_SLOTS 4 /* host-map answers only: picked up at once */
#define XS2S_RESOLVE_POLLFDS 0
#endif
#define XS2S_RESOLVE_SRV_MAX 16 /* SRV records weighed from one answer (the best priorities kept) */

struct xs2s_target {
	char addr[XS2S_ADDR_MAX];
	uint16_t port;
	bool direct_tls;     /* XEP-0368: TLS from the first byte (an _xmpps-server
			      * target, or a host map entry ending in "/tls"); else STARTTLS */
};

/* One query of a lookup. */
struct xs2s_resolve_query {
	uint32_t deadline;   /* of the current try */
	uint16_t id;
	uint16_t type;       /* XS2S_DNS_TYPE_SRV, _AAAA or _A */
	uint8_t state;       /* resolve.c's enum resolve_qstate */
	uint8_t tries;       /* sends so far */
	uint8_t target;      /* AAAA/A: index into targets */
	uint8_t no_edns;     /* the server refused EDNS(0) (FORMERR): ask without */
	uint8_t naddr;
	uint8_t addr[CONFIG_XS2S_RESOLVE_TARGETS][16];
};

/* One lookup. */
struct xs2s_resolve_slot {
	uint8_t phase;       /* resolve.c's enum resolve_phase */
	uint16_t gen;        /* bumped on every start: stale handles are refused */
	int result;          /* when done: XS2S_OK, XS2S_ENOTFOUND, XS2S_ETIMEDOUT */
	unsigned ncand;
	struct xs2s_target cand[CONFIG_XS2S_RESOLVE_TARGETS];
#if CONFIG_XS2S_DNS
	xs2s_sock sock;
	uint32_t started_ms;
	char domain[XS2S_DNS_NAME_MAX + 1];
	unsigned ntargets;
	struct xs2s_resolve_name {
		char name[XS2S_DNS_NAME_MAX + 1];
		uint16_t port;
		uint16_t prio;       /* its SRV priority (the merge of the two services) */
		bool direct_tls;     /* an _xmpps-server target (XEP-0368) */
	} targets[CONFIG_XS2S_RESOLVE_TARGETS];
	uint8_t srv_none;    /* SRV phase: bit per service whose only record is "." */
	uint8_t srv_unusable; /* SRV phase: bit per service with records, none usable */
	unsigned nq;
	/* SRV phase: q[0] _xmpp-server, q[1] _xmpps-server (target 0 and 1) */
	struct xs2s_resolve_query q[2 * CONFIG_XS2S_RESOLVE_TARGETS];
#endif
};

/* An engine's resolver. */
struct xs2s_resolver {
	struct xs2s_resolve_slot slots[XS2S_RESOLVE_SLOTS];
	unsigned nmap;
	struct {
		char domain[XS2S_DOMAIN_MAX + 1];
		char addr[XS2S_ADDR_MAX];
		uint16_t port;
		bool direct_tls;
	} map[XS2S_HOSTMAP_ENTRIES];
#if CONFIG_XS2S_DNS
	bool server_ok;      /* a DNS server is known */
	char server_addr[XS2S_ADDR_MAX];
	uint16_t server_port;
	uint8_t buf[XS2S_DNS_UDP_MAX];   /* one datagram at a time */
	uint8_t qbuf[XS2S_DNS_QUERY_MAX];
	char qname[sizeof "_xmpps-server._tcp." + XS2S_DNS_NAME_MAX];
	struct xs2s_dns_srv srv[XS2S_RESOLVE_SRV_MAX];
#endif
};

/* Prepare r: the host map from CONFIG_XS2S_HOST_MAP and host_map (space-
 * separated "domain=addr:port", "domain=addr:port/tls" for a peer that
 * speaks direct TLS there (XEP-0368; CONFIG_XS2S_DIRECT_TLS builds only);
 * NULL for none), and the DNS server: dns_server
 * ("ADDR", "ADDR:PORT", "[V6]:PORT"; port 53 by default), else
 * CONFIG_XS2S_DNS_SERVER, else the port's (xs2s_port_dns_server).
 * XS2S_EINVAL (logged) for a bad entry or server string. */
int xs2s_resolve_init(struct xs2s_resolver *r, const char *host_map, const char *dns_server);
/* Add "domain=addr:port[/tls]" to the host map: XS2S_OK or XS2S_EINVAL. */
int xs2s_resolve_map_add(struct xs2s_resolver *r, const char *entry);
/* Whether entry would be accepted by xs2s_resolve_map_add (map room aside). */
bool xs2s_resolve_map_entry_valid(const char *entry);

/* Start resolving domain; returns a handle >= 0, XS2S_ENOMEM when all query
 * slots are busy (try again later), or XS2S_EINVAL when domain is not a valid
 * DNS name. The host map answers at once (the result is ready on the first
 * xs2s_resolve_result call). */
int xs2s_resolve_start(struct xs2s_resolver *r, const char *domain);
/* XS2S_EAGAIN while in progress; XS2S_OK with up to *n candidates in order
 * (*n in: room in t, out: how many); XS2S_ENOTFOUND (no such service or
 * host); XS2S_ETIMEDOUT (the DNS server did not answer); XS2S_EINVAL for a
 * handle that is not running. Ends the lookup (the handle is free again) on
 * any result other than EAGAIN. */
int xs2s_resolve_result(struct xs2s_resolver *r, int h, struct xs2s_target *t, unsigned *n);
/* True when a lookup slot is free (xs2s_resolve_start would not answer
 * XS2S_ENOMEM). */
bool xs2s_resolve_can_start(const struct xs2s_resolver *r);
/* True when xs2s_resolve_result(h) would not return XS2S_EAGAIN. */
bool xs2s_resolve_done(const struct xs2s_resolver *r, int h);
/* Abandon a lookup (a link gone before its result); stale handles are ignored. */
void xs2s_resolve_cancel(struct xs2s_resolver *r, int h);
/* Lookups in flight (status and the leak gate of the tests). */
unsigned xs2s_resolve_busy(const struct xs2s_resolver *r);

/* Engine hooks: add the resolver's sockets to the poll set (returns how many
 * were added, at most max), then let it read answers and fire
 * retransmissions/timeouts. */
unsigned xs2s_resolve_pollfds(const struct xs2s_resolver *r, struct xs2s_pollfd *fds, unsigned max);
void xs2s_resolve_step(struct xs2s_resolver *r, uint32_t now_ms);
/* Milliseconds until the resolver's next deadline (UINT32_MAX if none). */
uint32_t xs2s_resolve_next_ms(const struct xs2s_resolver *r, uint32_t now_ms);

/* "ADDR", "ADDR:PORT" or "[V6]:PORT" into addr and *port (def_port when
 * none is given): XS2S_OK or XS2S_EINVAL. */
int xs2s_addr_port_parse(const char *s, uint16_t def_port, char addr[XS2S_ADDR_MAX], uint16_t *port);

#endif
