/* The port interface: everything the engine needs from the platform.
 *
 * The engine never calls the OS; it calls these functions, which a port
 * (port/posix, port/lwip, ...) implements. Every call MUST return at once:
 * sockets are non-blocking, connect completes in the background, poll waits
 * at most its timeout. A new port is these functions and nothing else.
 */
#ifndef XS2S_PORT_H
#define XS2S_PORT_H

#include <stddef.h>
#include <stdint.h>

/* A socket handle; XS2S_SOCK_NONE when unused. */
typedef int xs2s_sock;
#define XS2S_SOCK_NONE (-1)

#define XS2S_ADDR_MAX 56 /* textual IPv4/IPv6 address, NUL included */

/* Readiness bits for xs2s_port_poll. */
#define XS2S_POLL_IN  0x1u
#define XS2S_POLL_OUT 0x2u
#define XS2S_POLL_ERR 0x4u /* error or hang-up: the step function finds out which */

/* The most entries one xs2s_port_poll call of an engine carries: every
 * link, the listeners (s2s; XEP-0114 components and XEP-0368 direct TLS
 * when built in: xs2s_port_listen is called once per listener, each a
 * socket of its own), and a socket per DNS lookup. */
#if CONFIG_XS2S_COMPONENTS
#define XS2S_POLL_LISTENER_COMP 1
#else
#define XS2S_POLL_LISTENER_COMP 0
#endif
#if CONFIG_XS2S_DIRECT_TLS
#define XS2S_POLL_LISTENER_TLS 1
#else
#define XS2S_POLL_LISTENER_TLS 0
#endif
#define XS2S_POLL_LISTENERS (1 + XS2S_POLL_LISTENER_COMP + XS2S_POLL_LISTENER_TLS)
#if CONFIG_XS2S_DNS
#define XS2S_POLL_MAX (CONFIG_XS2S_MAX_LINKS + XS2S_POLL_LISTENERS + CONFIG_XS2S_DNS_QUERIES)
#else
#define XS2S_POLL_MAX (CONFIG_XS2S_MAX_LINKS + XS2S_POLL_LISTENERS)
#endif

struct xs2s_pollfd {
	xs2s_sock sock;  /* socket to watch */
	uint8_t want;    /* XS2S_POLL_IN | XS2S_POLL_OUT */
	uint8_t got;     /* set by the port */
};

/* Open a listening TCP socket on addr ("127.0.0.1", "::1") and port. The
 * engine opens up to XS2S_POLL_LISTENERS of them (s2s, components, direct
 * TLS); the port must allow that many at once. */
int xs2s_port_listen(const char *addr, uint16_t port, xs2s_sock *out);
/* Accept one pending connection: XS2S_OK with *out and the peer's address
 * text in peer (XS2S_ADDR_MAX bytes), or XS2S_EAGAIN when none is pending. */
int xs2s_port_accept(xs2s_sock l, xs2s_sock *out, char *peer);
/* Start a non-blocking connect. XS2S_OK when started; completion is signalled
 * by XS2S_POLL_OUT and then checked with xs2s_port_connect_done. */
int xs2s_port_connect(const char *addr, uint16_t port, xs2s_sock *out);
/* XS2S_OK when connected, XS2S_EAGAIN while in progress, XS2S_EIO on failure. */
int xs2s_port_connect_done(xs2s_sock s);
/* Send up to n bytes: the count sent (may be fewer), XS2S_EWANTWRITE when
 * the socket buffer is full (never fatal), XS2S_EIO on error. */
int xs2s_port_send(xs2s_sock s, const void *p, size_t n);
/* Receive up to n bytes: the count (> 0), XS2S_EWANTREAD when nothing is
 * there, XS2S_EIO on error or orderly close by the peer. */
int xs2s_port_recv(xs2s_sock s, void *p, size_t n);
void xs2s_port_close(xs2s_sock s);
/* Half-close a TCP connection: what was sent goes out, then the peer sees
 * the end (FIN); receiving goes on until xs2s_port_close. */
void xs2s_port_shutdown_write(xs2s_sock s);
/* Wait at most timeout_ms (0: just look) for readiness of fds. The port may
 * also serve its own descriptors (an admin socket) in the same wait.
 * Returns the number of fds with got != 0, or a negative error. */
int xs2s_port_poll(struct xs2s_pollfd *fds, unsigned n, uint32_t timeout_ms);

/* UDP, for DNS (needed only with CONFIG_XS2S_DNS). Sockets are closed with
 * xs2s_port_close and polled like TCP ones. */
/* Open a non-blocking UDP socket connected to server_addr ("192.0.2.53",
 * "2001:db8::53") and port: datagrams from any other source are dropped.
 * The local port is the stack's ephemeral choice (it should be random). */
int xs2s_port_udp_open(const char *server_addr, uint16_t port, xs2s_sock *out);
/* Send one datagram of n bytes: XS2S_OK, XS2S_EWANTWRITE when the stack
 * has no room (the datagram is not sent), XS2S_EIO on error. */
int xs2s_port_udp_send(xs2s_sock s, const void *p, size_t n);
/* Receive one datagram into p: its length (0 is a valid empty datagram),
 * XS2S_EWANTREAD when none is waiting, XS2S_ERANGE when it was longer than
 * n (the datagram is consumed), XS2S_EIO on error (e.g. an ICMP port
 * unreachable reported on the socket). */
int xs2s_port_udp_recv(xs2s_sock s, void *p, size_t n);
/* The platform's recursive DNS server: XS2S_OK with its address text and
 * port, or XS2S_ENOTFOUND. The engine asks once, at start; a port reads its
 * configuration (a file, DHCP) once and answers at once. */
int xs2s_port_dns_server(char addr[XS2S_ADDR_MAX], uint16_t *port);

/* The port's own pools for the status table, next to the engine's (the
 * lwIP port: its heap and memp pools): call add once per pool; unit is
 * "bytes" or "items". A port that keeps no pools of its own adds none. */
typedef void (*xs2s_pool_fn)(void *ctx, const char *name, const char *unit, size_t used, size_t high, size_t size,
			     unsigned fails);
void xs2s_port_pools(xs2s_pool_fn add, void *ctx);

/* Monotonic milliseconds; wraps, compare with XS2S_TIME_REACHED. */
uint32_t xs2s_port_now_ms(void);
/* Fill p with n cryptographically secure random bytes; XS2S_OK or error. */
int xs2s_port_random(void *p, size_t n);
/* Write one complete log line (no trailing newline) at level 1..4. */
void xs2s_port_log(int level, const char *line);

#endif
