/* In-process self-test of the lwIP port (`make test` runs it):
 *   make -f Makefile -f port/lwip/lwip.mk O=... lwip-selftest
 * lwIP runs in this process on its loopback interface. One xs2s engine
 * listens on 127.0.0.1:5269 of lwIP's loopif; a raw lwIP client socket
 * connects, sends an initiating stream header and reads the engine's
 * response header and features. Then the port functions are checked one by
 * one: a full send buffer is "try again", a refused connect fails, UDP
 * round trip and truncation, the DNS server from Kconfig. Exit status 0 on
 * success. */
#include <stdio.h>
#include <string.h>
#include "lwip/opt.h"
#include "lwip/sockets.h"
#include "lwip/sys.h"
#include "xs2s.h"
#include "port.h"
#include "port_lwip.h"

#define ST_PORT 5269
#define ST_DEADLINE_MS 5000

static int failures;
static struct xs2s_engine st_eng; /* the engine, in our memory */

#define CHECK(cond, ...) do { \
	if (cond) { printf("ok   "); } else { printf("FAIL "); failures++; } \
	printf(__VA_ARGS__); printf("\n"); } while (0)

static const char st_header[] =
	"<?xml version='1.0'?><stream:stream xmlns='jabber:server' "
	"xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback' "
	"from='b.test' to='a.test' version='1.0'>";

/* The engine end to end: connect, send a header, read the answer. */
static void st_engine(void)
{
	struct xs2s_config cfg;
	struct sockaddr_in sa = { .sin_len = sizeof sa, .sin_family = AF_INET, .sin_port = PP_HTONS(ST_PORT) };
	char buf[2048];
	size_t got = 0;
	int c, sent = 0, connected = 0, r;
	uint32_t start;

	xs2s_config_defaults(&cfg);
	cfg.domains[0] = "a.test";
	cfg.domains[1] = NULL;
	cfg.listen_addr = "127.0.0.1";
	cfg.listen_port = ST_PORT;
	cfg.tls_policy = XS2S_TLS_POLICY_OPTIONAL_INSECURE; /* no certificate in this test */
	CHECK(xs2s_engine_start(&st_eng, &cfg) == XS2S_OK, "engine listens on lwIP 127.0.0.1:%d", ST_PORT);

	c = lwip_socket(AF_INET, SOCK_STREAM, 0);
	lwip_fcntl(c, F_SETFL, O_NONBLOCK);
	lwip_inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	r = lwip_connect(c, (struct sockaddr *)&sa, sizeof sa);
	CHECK(c >= 0 && (r == 0 || errno == EINPROGRESS), "raw lwIP client socket %d: non-blocking connect started", c);

	start = sys_now();
	while (sys_now() - start < ST_DEADLINE_MS) {
		xs2s_engine_poll(&st_eng, 10);
		if (!connected) {
			struct pollfd p = { .fd = c, .events = POLLOUT };
			if (lwip_poll(&p, 1, 0) == 1 && (p.revents & POLLOUT))
				connected = 1;
			continue;
		}
		if (!sent) {
			sent = lwip_send(c, st_header, sizeof st_header - 1, 0) == (ssize_t)(sizeof st_header - 1);
			printf("     client -> %s\n", st_header);
		}
		r = lwip_recv(c, buf + got, sizeof buf - 1 - got, MSG_DONTWAIT);
		if (r > 0) {
			got += (size_t)r;
			buf[got] = 0;
			if (strstr(buf, "</stream:features>"))
				break;
		}
	}
	buf[got] = 0;
	printf("     client <- %s\n", got ? buf : "(nothing)");
	CHECK(connected && sent, "client connected and sent its stream header");
	CHECK(strstr(buf, "<stream:stream") && strstr(buf, "from='a.test'") != NULL,
	      "engine answered with its stream header (from='a.test')");
	CHECK(strstr(buf, "</stream:features>") != NULL, "engine sent its stream features");

	lwip_close(c);
	xs2s_engine_stop(&st_eng);
	start = sys_now();
	while (!xs2s_engine_idle(&st_eng) && sys_now() - start < ST_DEADLINE_MS)
		xs2s_engine_poll(&st_eng, 10);
	CHECK(xs2s_engine_idle(&st_eng), "engine idle after stop");
	xs2s_engine_fini(&st_eng);
}

/* The TCP functions of port.h directly: a full send buffer, a refused connect. */
static void st_tcp(void)
{
	static char chunk[4096];
	xs2s_sock l = XS2S_SOCK_NONE, a = XS2S_SOCK_NONE, c = XS2S_SOCK_NONE;
	struct xs2s_pollfd p;
	char peer[XS2S_ADDR_MAX] = "";
	long total = 0;
	int r = 0, i, done = XS2S_EAGAIN;
	uint32_t start;

	CHECK(xs2s_port_listen("127.0.0.1", 6000, &l) == XS2S_OK, "xs2s_port_listen 127.0.0.1:6000");
	CHECK(xs2s_port_accept(l, &a, peer) == XS2S_EAGAIN, "accept with nothing pending: XS2S_EAGAIN");
	CHECK(xs2s_port_connect("127.0.0.1", 6000, &c) == XS2S_OK, "xs2s_port_connect started");
	start = sys_now();
	while (sys_now() - start < ST_DEADLINE_MS) {
		p = (struct xs2s_pollfd){ .sock = c, .want = XS2S_POLL_OUT };
		xs2s_port_poll(&p, 1, 50);
		if ((done = xs2s_port_connect_done(c)) != XS2S_EAGAIN)
			break;
	}
	CHECK(done == XS2S_OK, "connect_done: XS2S_OK");
	for (i = 0; i < 100 && a == XS2S_SOCK_NONE; i++) {
		p = (struct xs2s_pollfd){ .sock = l, .want = XS2S_POLL_IN };
		xs2s_port_poll(&p, 1, 50);
		if (xs2s_port_accept(l, &a, peer) != XS2S_OK)
			a = XS2S_SOCK_NONE;
	}
	CHECK(a != XS2S_SOCK_NONE, "accepted from %s", peer);
	/* Nobody reads a: sends must end in "try again", never an error. */
	for (i = 0; i < 1000; i++) {
		r = xs2s_port_send(c, chunk, sizeof chunk);
		if (r < 0)
			break;
		total += r;
	}
	CHECK(r == XS2S_EWANTWRITE, "send buffer full after %ld bytes: XS2S_EWANTWRITE (%d)", total, r);
	p = (struct xs2s_pollfd){ .sock = a, .want = XS2S_POLL_IN };
	xs2s_port_poll(&p, 1, 1000); /* the segments cross the tcpip thread first */
	r = xs2s_port_recv(a, chunk, sizeof chunk);
	CHECK(r > 0, "receiver reads %d bytes", r);
	xs2s_port_close(a);
	xs2s_port_close(c);
	xs2s_port_close(l);

	/* Nothing listens on port 1: the connect is refused (RST over loopif). */
	CHECK(xs2s_port_connect("127.0.0.1", 1, &c) == XS2S_OK, "connect to 127.0.0.1:1 started");
	start = sys_now();
	done = XS2S_EAGAIN;
	while (sys_now() - start < ST_DEADLINE_MS) {
		p = (struct xs2s_pollfd){ .sock = c, .want = XS2S_POLL_OUT };
		xs2s_port_poll(&p, 1, 50);
		if ((done = xs2s_port_connect_done(c)) != XS2S_EAGAIN)
			break;
	}
	CHECK(done == XS2S_EIO, "refused connect: connect_done XS2S_EIO (%d)", done);
	xs2s_port_close(c);

#if LWIP_IPV6
	/* IPv6 over the loopif's ::1. */
	a = XS2S_SOCK_NONE;
	CHECK(xs2s_port_listen("::1", 6001, &l) == XS2S_OK && xs2s_port_connect("::1", 6001, &c) == XS2S_OK,
	      "IPv6: listen and connect on [::1]:6001");
	for (i = 0; i < 100 && a == XS2S_SOCK_NONE; i++) {
		p = (struct xs2s_pollfd){ .sock = l, .want = XS2S_POLL_IN };
		xs2s_port_poll(&p, 1, 50);
		if (xs2s_port_accept(l, &a, peer) != XS2S_OK)
			a = XS2S_SOCK_NONE;
	}
	CHECK(a != XS2S_SOCK_NONE && xs2s_port_connect_done(c) == XS2S_OK, "IPv6: accepted from %s", peer);
	xs2s_port_close(a);
	xs2s_port_close(c);
	xs2s_port_close(l);
#endif
}

/* UDP as the resolver uses it, against a raw lwIP "DNS server". */
static void st_udp(void)
{
	struct sockaddr_in sa = { .sin_len = sizeof sa, .sin_family = AF_INET, .sin_port = PP_HTONS(5353) };
	struct sockaddr_storage from;
	socklen_t flen = sizeof from;
	struct xs2s_pollfd p;
	char addr[XS2S_ADDR_MAX], buf[64], big[200];
	uint16_t port = 0;
	int srv, r;
	xs2s_sock u;

	srv = lwip_socket(AF_INET, SOCK_DGRAM, 0);
	lwip_inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	lwip_bind(srv, (struct sockaddr *)&sa, sizeof sa);
	CHECK(xs2s_port_udp_open("127.0.0.1", 5353, &u) == XS2S_OK, "xs2s_port_udp_open 127.0.0.1:5353");
	CHECK(xs2s_port_udp_recv(u, buf, sizeof buf) == XS2S_EWANTREAD, "udp_recv with nothing: XS2S_EWANTREAD");
	CHECK(xs2s_port_udp_send(u, "query", 5) == XS2S_OK, "udp_send");
	r = lwip_recvfrom(srv, buf, sizeof buf, 0, (struct sockaddr *)&from, &flen);
	CHECK(r == 5, "server got the query (%d bytes)", r);
	lwip_sendto(srv, "answer", 6, 0, (struct sockaddr *)&from, flen);
	p = (struct xs2s_pollfd){ .sock = u, .want = XS2S_POLL_IN };
	xs2s_port_poll(&p, 1, 1000);
	r = xs2s_port_udp_recv(u, buf, sizeof buf);
	CHECK(r == 6 && !memcmp(buf, "answer", 6), "udp_recv the answer (%d)", r);
	memset(big, 'x', sizeof big);
	lwip_sendto(srv, big, sizeof big, 0, (struct sockaddr *)&from, flen);
	p = (struct xs2s_pollfd){ .sock = u, .want = XS2S_POLL_IN };
	xs2s_port_poll(&p, 1, 1000);
	r = xs2s_port_udp_recv(u, buf, sizeof buf);
	CHECK(r == XS2S_ERANGE, "longer datagram: XS2S_ERANGE (%d)", r);
	CHECK(xs2s_port_udp_recv(u, buf, sizeof buf) == XS2S_EWANTREAD, "and it was consumed");
	xs2s_port_close(u);
	lwip_close(srv);

	r = xs2s_port_dns_server(addr, &port);
	CHECK(r == XS2S_OK && !strcmp(addr, CONFIG_XS2S_LWIP_DNS_SERVER) && port == 53,
	      "dns_server from Kconfig: %s port %u", r == XS2S_OK ? addr : "(none)", port);
}

int main(void)
{
	uint8_t rnd[16];

	setvbuf(stdout, NULL, _IONBF, 0);
	CHECK(xs2s_lwip_init() == XS2S_OK, "lwIP up (tcpip thread, loopif 127.0.0.1 and ::1)");
	CHECK(xs2s_port_random(rnd, sizeof rnd) == XS2S_OK, "xs2s_port_random");
	st_engine();
	st_tcp();
	st_udp();
	printf("%s: %d failure(s)\n", failures ? "FAILED" : "PASSED", failures);
	return failures ? 1 : 0;
}
