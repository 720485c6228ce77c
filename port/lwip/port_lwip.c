/* The lwIP port: port.h over lwIP's sockets API (lwip_* names, so lwIP's
 * sockets live next to the host's in the host simulation), lwip_poll(),
 * sys_now(), and two functions a device replaces: the entropy source and the
 * log sink. lwIP runs with an OS (NO_SYS=0): its tcpip thread owns the stack,
 * the engine calls the thread-safe sockets API from its own thread.
 *
 * What depends on the system under lwIP (xs2s_lwip_init(), the entropy
 * source, the log sink) is elsewhere: unix_sys.c for the host simulation
 * (lwIP's unix port: sys_arch.c, pthreads, a tcpip thread), the board's
 * folder for a device (port/mps2: a cooperative sys_arch, no threads).
 * No system socket header is included here: lwip/sockets.h defines the types. */
#include <stdio.h>
#include <string.h>
#include "lwip/opt.h"
#include "lwip/sockets.h"
#include "lwip/stats.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"
#include "lwip/priv/tcp_priv.h"
#include "port.h"
#include "port_lwip.h"
#include "xs2s_err.h"

#if !LWIP_SOCKET || LWIP_COMPAT_SOCKETS || NO_SYS
#error "port/lwip needs lwipopts.h from port/lwip/gen_lwipopts.sh (LWIP_SOCKET=1, LWIP_COMPAT_SOCKETS=0, NO_SYS=0)"
#endif

/* The most the engine asks for: every link, the listener, the resolver's sockets. */
#define LWIP_ENGINE_FDS XS2S_POLL_MAX
#define LWIP_BACKLOG 8
#define LWIP_DNS_PORT 53

/* Host simulation: lwip_poll() cannot wait on host descriptors, so the wait
 * is cut into slices of this length and fn serves them in between. */
#define LWIP_HOST_SLICE_MS 10u

static char lwip_dns_server[XS2S_ADDR_MAX] = CONFIG_XS2S_LWIP_DNS_SERVER;
static int (*lwip_host_poll)(void);

void xs2s_lwip_set_host_poll(int (*fn)(void))
{
	lwip_host_poll = fn;
}

static int lwip_nonblock(int s)
{
	int fl = lwip_fcntl(s, F_GETFL, 0);

	if (fl < 0 || lwip_fcntl(s, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	return 0;
}

/* "Try again" errnos: a full send buffer, or lwIP's heap (MEM_SIZE) or
 * segment pool momentarily exhausted, is never fatal. */
static int lwip_errno_again(int e)
{
	return e == EWOULDBLOCK || e == EAGAIN || e == EINTR || e == ENOMEM || e == ENOBUFS;
}

/* Parse a textual address; *len 0 on failure. */
static void lwip_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
#if LWIP_IPV6
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
#endif

	memset(ss, 0, sizeof *ss);
	*len = 0;
	if (lwip_inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_len = sizeof *a4;
		a4->sin_family = AF_INET;
		a4->sin_port = lwip_htons(port);
		*len = sizeof *a4;
	}
#if LWIP_IPV6
	else if (lwip_inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_len = sizeof *a6;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = lwip_htons(port);
		*len = sizeof *a6;
	}
#endif
}

/* A socket of type for addr: the descriptor, or an XS2S_E* code. */
static int lwip_open(const char *addr, uint16_t port, int type, struct sockaddr_storage *ss, socklen_t *len)
{
	int s;

	lwip_sockaddr(addr, port, ss, len);
	if (!*len)
		return XS2S_EINVAL;
	s = lwip_socket(ss->ss_family, type, 0);
	if (s < 0)
		return XS2S_EIO;
	if (lwip_nonblock(s) < 0) {
		lwip_close(s);
		return XS2S_EIO;
	}
	return s;
}

int xs2s_port_listen(const char *addr, uint16_t port, xs2s_sock *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s = lwip_open(addr, port, SOCK_STREAM, &ss, &len), one = 1;

	if (s < 0)
		return s;
	lwip_setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (lwip_bind(s, (struct sockaddr *)&ss, len) < 0 || lwip_listen(s, LWIP_BACKLOG) < 0) {
		lwip_close(s);
		return XS2S_EIO;
	}
	*out = s;
	return XS2S_OK;
}

int xs2s_port_accept(xs2s_sock l, xs2s_sock *out, char *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int s = lwip_accept(l, (struct sockaddr *)&ss, &len), one = 1;
	char ip[48] = "?";
	uint16_t port = 0;
	_Static_assert(XS2S_ADDR_MAX >= sizeof ip + 8, "room for addr:port");

	if (s < 0)
		return XS2S_EAGAIN;
	/* lwIP does not pass O_NONBLOCK on to accepted sockets. */
	if (lwip_nonblock(s) < 0) {
		lwip_close(s);
		return XS2S_EAGAIN;
	}
	lwip_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (ss.ss_family == AF_INET) {
		lwip_inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
		port = lwip_ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
#if LWIP_IPV6
	else if (ss.ss_family == AF_INET6) {
		lwip_inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
		port = lwip_ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
#endif
	snprintf(peer, XS2S_ADDR_MAX, "%s:%u", ip, port);
	*out = s;
	return XS2S_OK;
}

int xs2s_port_connect(const char *addr, uint16_t port, xs2s_sock *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s = lwip_open(addr, port, SOCK_STREAM, &ss, &len), one = 1;

	if (s < 0)
		return s;
	lwip_setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (lwip_connect(s, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		lwip_close(s);
		return XS2S_EIO;
	}
	*out = s;
	return XS2S_OK;
}

/* lwIP's SO_ERROR is the pending error (cleared when read), 0 while a
 * connect is still in progress: writability tells the two apart (a new TCP
 * socket becomes writable only when its connect completes or fails). */
int xs2s_port_connect_done(xs2s_sock s)
{
	struct pollfd p = { .fd = s, .events = POLLOUT };
	int err = 0;
	socklen_t len = sizeof err;

	if (lwip_getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return XS2S_EIO;
	if (err == EINPROGRESS || err == EALREADY)
		return XS2S_EAGAIN;
	if (err)
		return XS2S_EIO;
	if (lwip_poll(&p, 1, 0) < 0 || (p.revents & (POLLERR | POLLNVAL | POLLHUP)))
		return XS2S_EIO;
	return (p.revents & POLLOUT) ? XS2S_OK : XS2S_EAGAIN;
}

int xs2s_port_send(xs2s_sock s, const void *p, size_t n)
{
	ssize_t r = lwip_send(s, p, n, MSG_DONTWAIT);

	if (r >= 0)
		return (int)r;
	return lwip_errno_again(errno) ? XS2S_EWANTWRITE : XS2S_EIO;
}

int xs2s_port_recv(xs2s_sock s, void *p, size_t n)
{
	ssize_t r = lwip_recv(s, p, n, MSG_DONTWAIT);

	if (r > 0)
		return (int)r;
	if (r < 0 && (errno == EWOULDBLOCK || errno == EAGAIN || errno == EINTR))
		return XS2S_EWANTREAD;
	return XS2S_EIO; /* error, or 0: orderly close by the peer */
}

void xs2s_port_close(xs2s_sock s)
{
	if (s >= 0)
		lwip_close(s);
}

void xs2s_port_shutdown_write(xs2s_sock s)
{
	if (s >= 0)
		lwip_shutdown(s, SHUT_WR);
}

int xs2s_port_udp_open(const char *server_addr, uint16_t port, xs2s_sock *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int s = lwip_open(server_addr, port, SOCK_DGRAM, &ss, &len);

	if (s < 0)
		return s;
	/* A connected UDP PCB only takes datagrams from its remote address;
	 * the local port is lwIP's (LWIP_RAND-based) ephemeral choice. */
	if (lwip_connect(s, (struct sockaddr *)&ss, len) < 0) {
		lwip_close(s);
		return XS2S_EIO;
	}
	*out = s;
	return XS2S_OK;
}

int xs2s_port_udp_send(xs2s_sock s, const void *p, size_t n)
{
	ssize_t r = lwip_sendto(s, p, n, MSG_DONTWAIT, NULL, 0);

	if (r == (ssize_t)n)
		return XS2S_OK;
	if (r < 0 && lwip_errno_again(errno))
		return XS2S_EWANTWRITE;
	return XS2S_EIO;
}

int xs2s_port_udp_recv(xs2s_sock s, void *p, size_t n)
{
	struct iovec iov = { .iov_base = p, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = lwip_recvmsg(s, &mh, MSG_DONTWAIT);

	if (r >= 0)
		return (mh.msg_flags & MSG_TRUNC) ? XS2S_ERANGE : (int)r;
	if (errno == EWOULDBLOCK || errno == EAGAIN || errno == EINTR)
		return XS2S_EWANTREAD;
	return XS2S_EIO;
}

int xs2s_lwip_set_dns_server(const char *addr)
{
	struct sockaddr_storage ss;
	socklen_t len;

	if (strlen(addr) >= XS2S_ADDR_MAX)
		return XS2S_EINVAL;
	lwip_sockaddr(addr, LWIP_DNS_PORT, &ss, &len);
	if (!len)
		return XS2S_EINVAL;
	memcpy(lwip_dns_server, addr, strlen(addr) + 1);
	return XS2S_OK;
}

/* A device has no resolv.conf: CONFIG_XS2S_LWIP_DNS_SERVER, or what the
 * application set (DHCP). lwIP's own DNS client is not built (LWIP_DNS=0). */
int xs2s_port_dns_server(char addr[XS2S_ADDR_MAX], uint16_t *port)
{
	if (!lwip_dns_server[0])
		return XS2S_ENOTFOUND;
	memcpy(addr, lwip_dns_server, XS2S_ADDR_MAX);
	*port = LWIP_DNS_PORT;
	return XS2S_OK;
}

int xs2s_port_poll(struct xs2s_pollfd *fds, unsigned n, uint32_t timeout_ms)
{
	struct pollfd p[LWIP_ENGINE_FDS];
	unsigned i;
	int r, ready = 0;

	if (n > LWIP_ENGINE_FDS)
		return XS2S_EINVAL; /* more than the engine can ask for: a bug, never truncate */
	for (i = 0; i < n; i++) {
		p[i].fd = fds[i].sock;
		p[i].events = (short)(((fds[i].want & XS2S_POLL_IN) ? POLLIN : 0) |
				      ((fds[i].want & XS2S_POLL_OUT) ? POLLOUT : 0));
		p[i].revents = 0;
	}
	for (;;) {
		uint32_t slice = lwip_host_poll && timeout_ms > LWIP_HOST_SLICE_MS ? LWIP_HOST_SLICE_MS : timeout_ms;
		int host = 0;

		if (n == 0) {
			if (slice)
				sys_msleep(slice); /* lwip_poll() refuses an empty set */
			r = 0;
		} else {
			r = lwip_poll(p, n, (int)slice);
			if (r < 0)
				return errno == EINTR ? 0 : XS2S_EIO;
		}
		if (lwip_host_poll)
			host = lwip_host_poll();
		timeout_ms -= slice;
		if (r > 0 || host > 0 || timeout_ms == 0)
			break;
	}
	for (i = 0; i < n; i++) {
		short re = p[i].revents;
		fds[i].got = (uint8_t)(((re & POLLIN) ? XS2S_POLL_IN : 0) | ((re & POLLOUT) ? XS2S_POLL_OUT : 0) |
				       ((re & (POLLERR | POLLHUP | POLLNVAL)) ? XS2S_POLL_ERR | XS2S_POLL_IN : 0));
		if (fds[i].got)
			ready++;
	}
	return ready;
}

#if LWIP_STATS && MEM_STATS && MEMP_STATS
/* lwIP's heap (MEM_SIZE) and memp pools, with their high-water marks, in
 * the status table (CONFIG_XS2S_LWIP_STATS). Empty pools are left out. */
void xs2s_port_pools(xs2s_pool_fn add, void *ctx)
{
	char name[24];
	unsigned i;

	SYS_ARCH_DECL_PROTECT(lev);
	add(ctx, "lwip:heap", "bytes", lwip_stats.mem.used, lwip_stats.mem.max, lwip_stats.mem.avail,
	    lwip_stats.mem.err);
	for (i = 0; i < MEMP_MAX; i++) {
		struct stats_mem s;

		SYS_ARCH_PROTECT(lev);
		s = *lwip_stats.memp[i];
		SYS_ARCH_UNPROTECT(lev);
		if (!s.avail)
			continue;
		snprintf(name, sizeof name, "lwip:%s", s.name ? s.name : "?");
		add(ctx, name, "items", s.used, s.max, s.avail, s.err);
	}
}
#endif

uint32_t xs2s_port_now_ms(void)
{
	return sys_now(); /* u32_t milliseconds, wraps */
}

int xs2s_port_random(void *p, size_t n)
{
	return xs2s_lwip_entropy(p, n);
}

void xs2s_port_log(int level, const char *line)
{
	xs2s_lwip_log_sink(level, line);
}

/* Closed sockets leave their TCP connections to lwIP until the peer has
 * acknowledged our FIN and sent its own; a process or a device that stops at
 * once leaves the peer's side hanging (LAST_ACK until it gives up). */
int xs2s_lwip_quiesce(uint32_t max_ms)
{
	uint32_t start = sys_now();
	int busy;

	for (;;) {
		LOCK_TCPIP_CORE();
		busy = tcp_active_pcbs != NULL;
		UNLOCK_TCPIP_CORE();
		if (!busy || sys_now() - start >= max_ms)
			return busy ? XS2S_EAGAIN : XS2S_OK;
		sys_msleep(10);
	}
}
