/* Peer resolution (RFC 6120 3.2): the static host map, then DNS.
 *
 * A lookup runs in a slot of a fixed table (CONFIG_XS2S_DNS_QUERIES) and
 * never blocks: the engine adds the resolver's sockets to its poll set,
 * calls xs2s_resolve_step() every round and bounds its poll timeout with
 * xs2s_resolve_next_ms().
 *
 * Order of a lookup for domain D:
 *   1. the static host map (xs2s_hostmap_add, CONFIG_XS2S_HOST_MAP): one
 *      candidate, ready at once;
 *   2. SRV _xmpp-server._tcp.D: records ordered per RFC 2782 (priority, then
 *      weighted random); a single record with target "." means D offers no
 *      s2s service (XS2S_ENOTFOUND, no fallback); no usable record
 *      (NXDOMAIN, NODATA, a server error) falls back to D itself, port 5269
 *      (RFC 6120 3.2.2); a timeout ends the lookup (XS2S_ETIMEDOUT);
 *   3. AAAA and A of every kept target (the first CONFIG_XS2S_RESOLVE_TARGETS
 *      of the order), all in parallel; each target's addresses alternate
 *      IPv6, IPv4 (RFC 8305 4), targets in SRV order, the list cut at
 *      CONFIG_XS2S_RESOLVE_TARGETS.
 * Each query is sent up to 1 + CONFIG_XS2S_DNS_RETRIES times, waiting
 * CONFIG_XS2S_DNS_TIMEOUT_MS for each try. The list is ready as soon as its
 * head is settled: every target before the cut has answered or failed.
 * Records in additional sections are not used (no glue is trusted), and no
 * TCP fallback exists for truncated answers (see dns.h).
 */
#ifndef XS2S_RESOLVE_H
#define XS2S_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>
#include "port.h"

#define XS2S_XMPP_SERVER_PORT 5269 /* RFC 6120 3.2.2 fallback port */

/* Poll set entries the resolver may add (one socket per active lookup). */
#if CONFIG_XS2S_DNS
#define XS2S_RESOLVE_POLLFDS CONFIG_XS2S_DNS_QUERIES
#else
#define XS2S_RESOLVE_POLLFDS 0
#endif

struct xs2s_target {
	char addr[XS2S_ADDR_MAX];
	uint16_t port;
};

/* Fix the DNS server once, at engine start: xs2s_dns_set_server's, else
 * CONFIG_XS2S_DNS_SERVER, else the port's (xs2s_port_dns_server). Called
 * lazily by the first lookup when the engine did not. */
void xs2s_resolve_init(void);
/* Use this DNS server ("ADDR", "ADDR:PORT", "[V6]:PORT"; port 53 by
 * default) instead of CONFIG_XS2S_DNS_SERVER and the port's: XS2S_OK, or
 * XS2S_EINVAL for a bad string (or when DNS is configured out). Lookups
 * already running keep their server. */
int xs2s_dns_set_server(const char *addr_port);

/* Start resolving domain; returns a handle >= 0, XS2S_ENOMEM when all query
 * slots are busy (try again later), or XS2S_EINVAL when domain is not a valid
 * DNS name. The static host map answers at once (the result is ready on the
 * first xs2s_resolve_result call). */
int xs2s_resolve_start(const char *domain);
/* XS2S_EAGAIN while in progress; XS2S_OK with up to *n candidates in order
 * (*n in: room in t, out: how many); XS2S_ENOTFOUND (no such service or
 * host); XS2S_ETIMEDOUT (the DNS server did not answer); XS2S_EINVAL for a
 * handle that is not running. Ends the lookup (the handle is free again) on
 * any result other than EAGAIN. */
int xs2s_resolve_result(int h, struct xs2s_target *t, unsigned *n);
/* True when a lookup slot is free (xs2s_resolve_start would not answer
 * XS2S_ENOMEM). */
bool xs2s_resolve_can_start(void);
/* True when xs2s_resolve_result(h) would not return XS2S_EAGAIN. */
bool xs2s_resolve_done(int h);
/* Abandon a lookup (a link gone before its result); stale handles are ignored. */
void xs2s_resolve_cancel(int h);

/* Engine hooks: add the resolver's sockets to the poll set (returns how many
 * were added, at most max), then let it read answers and fire
 * retransmissions/timeouts. */
unsigned xs2s_resolve_pollfds(struct xs2s_pollfd *fds, unsigned max);
void xs2s_resolve_step(uint32_t now_ms);
/* Milliseconds until the resolver's next deadline (UINT32_MAX if none). */
uint32_t xs2s_resolve_next_ms(uint32_t now_ms);

/* hostmap.c: "ADDR", "ADDR:PORT" or "[V6]:PORT" into addr and *port
 * (def_port when none is given): XS2S_OK or XS2S_EINVAL. */
int xs2s_addr_port_parse(const char *s, uint16_t def_port, char addr[XS2S_ADDR_MAX], uint16_t *port);

#endif
