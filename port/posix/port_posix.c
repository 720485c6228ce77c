/* The POSIX port: non-blocking BSD sockets (TCP, and UDP for DNS), poll(),
 * CLOCK_MONOTONIC, getrandom(), /etc/resolv.conf, and the host log sink. It
 * also lets the host daemon watch its own descriptors (the admin socket) in
 * the engine's single poll. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>
#include "port.h"
#include "hostwatch.h"
#include "hostlog.h"
#include "hostrand.h"
#include "xs2s_err.h"

/* The most the engine asks for: every link, the listener, the resolver's sockets. */
#define POSIX_ENGINE_FDS XS2S_POLL_MAX
#define POSIX_BACKLOG 16
#define POSIX_RESOLV_CONF "/etc/resolv.conf"
#define POSIX_RESOLV_LINE 512
#define POSIX_RESOLV_KEY "nameserver"
#define POSIX_DNS_PORT 53
#define POSIX_DNS_LOCAL "127.0.0.1" /* resolv.conf(5): no nameserver line means this machine */

static int posix_nonblock(int fd)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -1;
	fcntl(fd, F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Parse a textual address; *len 0 on failure. */
static void posix_sockaddr(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof *ss);
	*len = 0;
	if (inet_pton(AF_INET, addr, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		*len = sizeof *a4;
	} else if (inet_pton(AF_INET6, addr, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		*len = sizeof *a6;
	}
}

/* A TCP socket for addr: the descriptor, or an XS2S_E* code. */
static int posix_tcp_socket(const char *addr, uint16_t port, struct sockaddr_storage *ss, socklen_t *len)
{
	int fd;

	posix_sockaddr(addr, port, ss, len);
	if (!*len)
		return XS2S_EINVAL;
	fd = socket(ss->ss_family, SOCK_STREAM, 0);
	return fd < 0 ? XS2S_EIO : fd;
}

int xs2s_port_listen(const char *addr, uint16_t port, xs2s_sock *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = posix_tcp_socket(addr, port, &ss, &len), one = 1;

	if (fd < 0)
		return fd;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, POSIX_BACKLOG) < 0 || posix_nonblock(fd) < 0) {
		close(fd);
		return XS2S_EIO;
	}
	*out = fd;
	return XS2S_OK;
}

int xs2s_port_accept(xs2s_sock l, xs2s_sock *out, char *peer)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	int fd = accept(l, (struct sockaddr *)&ss, &len);
	uint16_t port = 0;
	char ip[INET6_ADDRSTRLEN] = "?";
	_Static_assert(XS2S_ADDR_MAX >= INET6_ADDRSTRLEN + 7, "room for [addr]:port");

	if (fd < 0)
		return XS2S_EAGAIN;
	if (posix_nonblock(fd) < 0) {
		close(fd);
		return XS2S_EAGAIN;
	}
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip, sizeof ip);
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip, sizeof ip);
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	}
	snprintf(peer, XS2S_ADDR_MAX, "%s:%u", ip, port);
	*out = fd;
	return XS2S_OK;
}

int xs2s_port_connect(const char *addr, uint16_t port, xs2s_sock *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd = posix_tcp_socket(addr, port, &ss, &len), one = 1;

	if (fd < 0)
		return fd;
	if (posix_nonblock(fd) < 0) {
		close(fd);
		return XS2S_EIO;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(fd, (struct sockaddr *)&ss, len) < 0 && errno != EINPROGRESS) {
		close(fd);
		return XS2S_EIO;
	}
	*out = fd;
	return XS2S_OK;
}

int xs2s_port_connect_done(xs2s_sock s)
{
	int err = 0;
	socklen_t len = sizeof err;

	if (getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		return XS2S_EIO;
	if (err == EINPROGRESS || err == EALREADY)
		return XS2S_EAGAIN;
	return err ? XS2S_EIO : XS2S_OK;
}

int xs2s_port_send(xs2s_sock s, const void *p, size_t n)
{
	ssize_t r = send(s, p, n, MSG_NOSIGNAL);

	if (r >= 0)
		return (int)r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return XS2S_EWANTWRITE;
	return XS2S_EIO;
}

int xs2s_port_recv(xs2s_sock s, void *p, size_t n)
{
	ssize_t r = recv(s, p, n, 0);

	if (r > 0)
		return (int)r;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return XS2S_EWANTREAD;
	return XS2S_EIO;
}

void xs2s_port_close(xs2s_sock s)
{
	if (s >= 0)
		close(s);
}

void xs2s_port_shutdown_write(xs2s_sock s)
{
	if (s >= 0)
		shutdown(s, SHUT_WR);
}

int xs2s_port_udp_open(const char *server_addr, uint16_t port, xs2s_sock *out)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd;

	posix_sockaddr(server_addr, port, &ss, &len);
	if (!len)
		return XS2S_EINVAL;
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	if (fd < 0)
		return XS2S_EIO;
	/* Connecting a UDP socket only sets its peer: it returns at once. */
	if (posix_nonblock(fd) < 0 || connect(fd, (struct sockaddr *)&ss, len) < 0) {
		close(fd);
		return XS2S_EIO;
	}
	*out = fd;
	return XS2S_OK;
}

int xs2s_port_udp_send(xs2s_sock s, const void *p, size_t n)
{
	ssize_t r = send(s, p, n, MSG_NOSIGNAL);

	if (r == (ssize_t)n)
		return XS2S_OK;
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS))
		return XS2S_EWANTWRITE;
	return XS2S_EIO;
}

int xs2s_port_udp_recv(xs2s_sock s, void *p, size_t n)
{
	struct iovec iov = { .iov_base = p, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	ssize_t r = recvmsg(s, &mh, 0);

	if (r >= 0)
		return (mh.msg_flags & MSG_TRUNC) ? XS2S_ERANGE : (int)r;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return XS2S_EWANTREAD;
	return XS2S_EIO;
}

/* The first usable "nameserver ADDR" line of /etc/resolv.conf, else this
 * machine (as the resolver library does). Scoped IPv6 addresses (fe80::1%eth0)
 * are skipped. */
static void posix_read_resolv_conf(char addr[XS2S_ADDR_MAX])
{
	FILE *f = fopen(POSIX_RESOLV_CONF, "r");
	char line[POSIX_RESOLV_LINE];

	snprintf(addr, XS2S_ADDR_MAX, "%s", POSIX_DNS_LOCAL);
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		char *save = NULL, *key = strtok_r(line, " \t\r\n", &save), *val;
		struct sockaddr_storage ss;
		socklen_t len;

		if (!key || strcmp(key, POSIX_RESOLV_KEY) || !(val = strtok_r(NULL, " \t\r\n", &save)))
			continue;
		if (strlen(val) >= XS2S_ADDR_MAX)
			continue;
		posix_sockaddr(val, POSIX_DNS_PORT, &ss, &len);
		if (len) {
			snprintf(addr, XS2S_ADDR_MAX, "%s", val);
			break;
		}
	}
	fclose(f);
}

int xs2s_port_dns_server(char addr[XS2S_ADDR_MAX], uint16_t *port)
{
	static char server[XS2S_ADDR_MAX];

	if (!server[0])
		posix_read_resolv_conf(server); /* once */
	memcpy(addr, server, XS2S_ADDR_MAX);
	*port = POSIX_DNS_PORT;
	return XS2S_OK;
}

int xs2s_port_poll(struct xs2s_pollfd *fds, unsigned n, uint32_t timeout_ms)
{
	struct pollfd p[POSIX_ENGINE_FDS + XS2S_HOST_WATCH_MAX];
	struct xs2s_host_watch_set set;
	unsigned i, nw;
	int r, ready = 0;

	if (n > POSIX_ENGINE_FDS)
		return XS2S_EINVAL; /* more than the engine can ask for: a bug, never truncate */
	for (i = 0; i < n; i++) {
		p[i].fd = fds[i].sock;
		p[i].events = (short)(((fds[i].want & XS2S_POLL_IN) ? POLLIN : 0) |
				      ((fds[i].want & XS2S_POLL_OUT) ? POLLOUT : 0));
		p[i].revents = 0;
	}
	nw = xs2s_host_watch_fill(p + n, &set);
	r = poll(p, n + nw, (int)timeout_ms);
	if (r < 0)
		return errno == EINTR ? 0 : XS2S_EIO;
	for (i = 0; i < n; i++) {
		short re = p[i].revents;
		fds[i].got = (uint8_t)(((re & POLLIN) ? XS2S_POLL_IN : 0) | ((re & POLLOUT) ? XS2S_POLL_OUT : 0) |
				       ((re & (POLLERR | POLLHUP | POLLNVAL)) ? XS2S_POLL_ERR | XS2S_POLL_IN : 0));
		if (fds[i].got)
			ready++;
	}
	xs2s_host_watch_dispatch(p + n, &set);
	return ready;
}

uint32_t xs2s_port_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)((uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

int xs2s_port_random(void *p, size_t n)
{
	return xs2s_host_random(p, n);
}

/* stderr with a UTC timestamp, or syslog (port/hostlog.c). */
void xs2s_port_log(int level, const char *line)
{
	xs2s_host_log(level, line);
}

/* The kernel's socket buffers are not ours to count: no pools here. */
void xs2s_port_pools(xs2s_pool_fn add, void *ctx)
{
	(void)add;
	(void)ctx;
}
