/* Extras of the lwIP port (port/lwip/port_lwip.c) for the application that
 * runs the engine on lwIP. */
#ifndef XS2S_PORT_LWIP_H
#define XS2S_PORT_LWIP_H

#include <stddef.h>

/* Start lwIP: tcpip_init() (the tcpip thread) and wait until it runs; the
 * loopback interface (127.0.0.1, ::1) comes up with it (LWIP_HAVE_LOOPIF),
 * which is all the in-process mode needs. Seeds LWIP_RAND from the port's
 * entropy. Call once, before xs2s_engine_start(). XS2S_OK or XS2S_EIO. */
int xs2s_lwip_init(void);

/* Set the DNS server xs2s_port_dns_server() reports ("192.0.2.53",
 * "2001:db8::53"; port 53), e.g. from a DHCP client, before the engine starts.
 * Default: CONFIG_XS2S_LWIP_DNS_SERVER. XS2S_OK or XS2S_EINVAL. */
int xs2s_lwip_set_dns_server(const char *addr);

/* What a device port replaces (both are weak definitions here):
 * the entropy source behind xs2s_port_random() (host simulation: getrandom()),
 * and the log sink behind xs2s_port_log() (host simulation: stderr). */
int xs2s_lwip_entropy(void *p, size_t n);
void xs2s_lwip_log_sink(int level, const char *line);

#endif
