/* Extras of the lwIP port (port/lwip/port_lwip.c) for the application that
 * runs the engine on lwIP. */
#ifndef XS2S_PORT_LWIP_H
#define XS2S_PORT_LWIP_H

#include <stddef.h>
#include <stdint.h>

/* Start lwIP. Host simulation (unix_sys.c): tcpip_init() (the tcpip thread)
 * and wait until it runs; the loopback interface (127.0.0.1, ::1) comes up
 * with it (LWIP_HAVE_LOOPIF), which is all the in-process mode needs; seeds
 * LWIP_RAND from the port's entropy. A board without threads: lwip_init()
 * and its network interface (port/mps2/main.c). Call once, before
 * xs2s_engine_start(). XS2S_OK or XS2S_EIO. */
int xs2s_lwip_init(void);

/* Set the DNS server xs2s_port_dns_server() reports ("192.0.2.53",
 * "2001:db8::53"; port 53), e.g. from a DHCP client, before the engine starts.
 * Default: CONFIG_XS2S_LWIP_DNS_SERVER. XS2S_OK or XS2S_EINVAL. */
int xs2s_lwip_set_dns_server(const char *addr);

/* Before the process (or device) stops, after xs2s_engine_stop() and the
 * engine went idle: wait at most max_ms until lwIP has finished every TCP
 * close (our FIN acknowledged, the peer's FIN received), so peers are not
 * left half-closed. XS2S_OK, or XS2S_EAGAIN when some close is still going. */
int xs2s_lwip_quiesce(uint32_t max_ms);

/* What the system under lwIP supplies with xs2s_lwip_init(): the entropy
 * source behind xs2s_port_random() and the log sink behind xs2s_port_log()
 * (host simulation, unix_sys.c: getrandom() and stderr; a board: its TRNG
 * and UART, port/mps2/main.c). */
int xs2s_lwip_entropy(void *p, size_t n);
void xs2s_lwip_log_sink(int level, const char *line);

/* Host simulation only (port/lwip/hostsim.c, linked into xs2sd):
 * serve hostwatch.h's host descriptors (the admin socket) between slices of
 * lwIP's poll, and attach lwIP to a TAP device the caller created (ifname,
 * IPv4 "ADDR/PREFIX", gateway, optional static IPv6 address or NULL).
 * Call after xs2s_lwip_init(). XS2S_OK, XS2S_EINVAL or XS2S_EIO. */
void xs2s_lwip_hostsim_serve_host_fds(void);
int xs2s_lwip_hostsim_tap(const char *ifname, const char *ip4_cidr, const char *gw4, const char *ip6);

/* For hostsim.c: fn runs between slices of xs2s_port_poll()'s wait and
 * returns how many host descriptors it served (NULL: one lwIP poll). */
void xs2s_lwip_set_host_poll(int (*fn)(void));

#endif
