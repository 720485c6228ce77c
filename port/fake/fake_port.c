/* The fake port: see fake_port.h for the model and the contract. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "fake_port.h"
#include "xs2s_err.h"

#define FAKE_HANDLE_BASE 0x10000 /* handles never look like small descriptors */
#define FAKE_GEN_MASK 0x3fffu
#define FAKE_VIOLATION_TEXT 160
#define FAKE_LOG_LINE 400

enum fake_kind { FK_FREE = 0, FK_LISTEN, FK_TCP, FK_UDP };
enum fake_owner { FO_ENGINE = 0, FO_TEST };
enum fake_tcp_state {
	FT_CONNECTING = 0, /* completes on the next poll (a peer exists) */
	FT_HOLE,           /* never completes */
	FT_REFUSED,        /* nobody listens there */
	FT_OPEN,
};

struct fake_sock {
	uint8_t kind;           /* enum fake_kind */
	uint8_t owner;          /* enum fake_owner */
	uint8_t state;          /* TCP: enum fake_tcp_state */
	bool eof;               /* TCP: the other end closed; read the rest, then EOF */
	bool reset;             /* TCP: reset; every call fails */
	bool unreachable;       /* UDP: the next recv reports port unreachable */
	bool rgate, wgate;      /* BYTE, SPLIT: one recv / one send per poll round */
	bool wshut;             /* TCP, engine's end: xs2s_port_shutdown_write (the far end sees EOF) */
	size_t cut_left;        /* TCP: cut the connection after this many more bytes sent, plus one (0: never) */
	uint16_t gen;           /* bumped when the slot is freed */
	int peer;               /* TCP: index of the other end, -1 when gone */
	int udp_server;         /* UDP: responder index, -1 for none */
	char addr[FAKE_ADDR_TEXT]; /* listener/UDP: the address; TCP: the far end's */
	size_t cap;             /* TCP: capacity of rx */
	size_t len;             /* bytes in rx (UDP: length-prefixed datagrams) */
	unsigned backlog[FAKE_BACKLOG]; /* listener: pending ends, oldest first */
	unsigned nbacklog;
	uint8_t rx[FAKE_PIPE_BYTES];
};

struct fake_udp_server {
	char addr[FAKE_ADDR_TEXT];
	fake_udp_fn fn;
	void *arg;
};

static struct fake_sock fake_socks[FAKE_SOCKS];
static char fake_cut_addr[FAKE_ADDR_TEXT]; /* fake_tcp_cut: "" when none is armed */
static bool fake_cut_acceptor;
static size_t fake_cut_bytes;
static unsigned fake_ncuts;
static unsigned fake_socks_used, fake_socks_high;
static char fake_holes[FAKE_HOLES][FAKE_ADDR_TEXT];
static unsigned fake_nholes;
static struct fake_udp_server fake_udp[FAKE_UDP_SERVERS];
static unsigned fake_nudp;
static char fake_dns_addr[XS2S_ADDR_MAX];
static uint16_t fake_dns_port;
static uint32_t fake_clock = FAKE_CLOCK_START;
static uint32_t fake_last_timeout;
static unsigned long fake_npolls, fake_nactivity;
static uint64_t fake_rng_state = 1, fake_split_state = 1;
static enum fake_delivery fake_mode;
static size_t fake_capacity = FAKE_PIPE_BYTES;
static unsigned fake_nviolations;
static char fake_violation_first[FAKE_VIOLATION_TEXT];
static char fake_log[FAKE_LOG_BYTES];
static size_t fake_log_len;
static int fake_log_echo = -1; /* -1: not read from the environment yet */

static const char *const fake_delivery_names[FAKE_DELIVERY__COUNT] = { "whole", "byte", "split" };

const char *fake_delivery_name(enum fake_delivery d)
{
	return (unsigned)d < FAKE_DELIVERY__COUNT ? fake_delivery_names[d] : "?";
}

static void fake_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fake_violation(const char *fmt, ...)
{
	va_list ap;

	if (!fake_nviolations++) {
		va_start(ap, fmt);
		vsnprintf(fake_violation_first, sizeof fake_violation_first, fmt, ap);
		va_end(ap);
	}
}

/* xorshift64*: a deterministic stream per seed (never 0). */
static uint64_t fake_next(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dull;
}

static uint64_t fake_seed(uint64_t seed)
{
	return seed ? seed : 0x9e3779b97f4a7c15ull;
}

void fake_reset(uint64_t seed, enum fake_delivery mode, uint64_t split_seed)
{
	memset(fake_socks, 0, sizeof fake_socks);
	fake_socks_used = fake_socks_high = 0;
	fake_nholes = fake_nudp = 0;
	fake_dns_addr[0] = '\0';
	fake_dns_port = 0;
	fake_clock = FAKE_CLOCK_START;
	fake_last_timeout = 0;
	fake_npolls = fake_nactivity = 0;
	fake_rng_state = fake_seed(seed);
	fake_split_state = fake_seed(split_seed);
	fake_mode = mode < FAKE_DELIVERY__COUNT ? mode : FAKE_WHOLE;
	fake_capacity = FAKE_PIPE_BYTES;
	fake_nviolations = 0;
	fake_violation_first[0] = '\0';
	fake_log_len = 0;
	fake_log[0] = '\0';
	fake_cut_addr[0] = '\0';
}

/* ---- socket table ---- */

static xs2s_sock fake_handle(unsigned i)
{
	return FAKE_HANDLE_BASE + (int)((fake_socks[i].gen & FAKE_GEN_MASK) * FAKE_SOCKS + i);
}

/* The socket behind handle h, or NULL (and a violation) when h is not an
 * open socket of that side. */
static struct fake_sock *fake_get(xs2s_sock h, enum fake_owner owner, const char *what)
{
	unsigned v, i;
	struct fake_sock *s;

	if (h < FAKE_HANDLE_BASE) {
		fake_violation("%s on handle %d, which the fake port never gave out", what, h);
		return NULL;
	}
	v = (unsigned)(h - FAKE_HANDLE_BASE);
	i = v % FAKE_SOCKS;
	s = &fake_socks[i];
	if (s->kind == FK_FREE || (s->gen & FAKE_GEN_MASK) != v / FAKE_SOCKS) {
		fake_violation("%s on handle %d, which is closed", what, h);
		return NULL;
	}
	if (s->owner != owner) {
		fake_violation("%s by the %s on a %s socket", what, owner == FO_ENGINE ? "engine" : "test",
			       s->owner == FO_ENGINE ? "engine" : "test");
		return NULL;
	}
	return s;
}

static int fake_alloc(enum fake_kind kind, enum fake_owner owner)
{
	unsigned i;

	for (i = 0; i < FAKE_SOCKS; i++) {
		struct fake_sock *s = &fake_socks[i];

		if (s->kind != FK_FREE)
			continue;
		s->kind = (uint8_t)kind;
		s->owner = (uint8_t)owner;
		s->state = FT_OPEN;
		s->eof = s->reset = s->unreachable = s->rgate = s->wgate = s->wshut = false;
		s->peer = -1;
		s->udp_server = -1;
		s->addr[0] = '\0';
		s->cap = fake_capacity;
		s->len = 0;
		s->nbacklog = 0;
		s->cut_left = 0;
		if (++fake_socks_used > fake_socks_high)
			fake_socks_high = fake_socks_used;
		fake_nactivity++;
		return (int)i;
	}
	return -1;
}

static void fake_free(unsigned i)
{
	struct fake_sock *s = &fake_socks[i];

	s->kind = FK_FREE;
	s->gen++;
	fake_socks_used--;
	fake_nactivity++;
}

static int fake_find_listener(const char *addr, enum fake_owner owner)
{
	unsigned i;

	for (i = 0; i < FAKE_SOCKS; i++)
		if (fake_socks[i].kind == FK_LISTEN && fake_socks[i].owner == owner && !strcmp(fake_socks[i].addr, addr))
			return (int)i;
	return -1;
}

/* "addr:port", "[v6]:port" */
static void fake_addr_text(char out[FAKE_ADDR_TEXT], const char *addr, uint16_t port)
{
	if (strchr(addr, ':'))
		snprintf(out, FAKE_ADDR_TEXT, "[%s]:%u", addr, port);
	else
		snprintf(out, FAKE_ADDR_TEXT, "%s:%u", addr, port);
}

/* How much one transfer moves in the current mode (n > 0). */
static size_t fake_chunk(size_t n)
{
	if (fake_mode == FAKE_BYTE)
		return 1;
	if (fake_mode == FAKE_SPLIT)
		return 1 + (size_t)(fake_next(&fake_split_state) % n);
	return n;
}

/* Append to the pipe of socket i (capacity permitting); bytes taken. */
static size_t fake_pipe_put(unsigned i, const void *p, size_t n)
{
	struct fake_sock *d = &fake_socks[i];
	size_t room = d->cap > d->len ? d->cap - d->len : 0;

	if (n > room)
		n = room;
	memcpy(d->rx + d->len, p, n);
	d->len += n;
	if (n)
		fake_nactivity++;
	return n;
}

static size_t fake_pipe_take(struct fake_sock *s, void *p, size_t n)
{
	if (n > s->len)
		n = s->len;
	memcpy(p, s->rx, n);
	memmove(s->rx, s->rx + n, s->len - n);
	s->len -= n;
	if (n)
		fake_nactivity++;
	return n;
}

/* The far end learns that this end went away. */
static void fake_tcp_detach(struct fake_sock *s, bool reset)
{
	if (s->peer >= 0) {
		struct fake_sock *o = &fake_socks[s->peer];

		o->peer = -1;
		if (reset) {
			o->reset = true;
			o->len = 0;
		} else {
			o->eof = true;
		}
		s->peer = -1;
	}
}

/* Pending connections of a listener that is closed are reset. */
static void fake_listener_drop(struct fake_sock *s)
{
	unsigned k;

	for (k = 0; k < s->nbacklog; k++) {
		struct fake_sock *e = &fake_socks[s->backlog[k]];

		fake_tcp_detach(e, true);
		fake_free(s->backlog[k]);
	}
	s->nbacklog = 0;
}

static void fake_sock_close(struct fake_sock *s, bool reset)
{
	if (s->kind == FK_LISTEN)
		fake_listener_drop(s);
	else if (s->kind == FK_TCP)
		fake_tcp_detach(s, reset);
	fake_free((unsigned)(s - fake_socks));
}

/* Both ends of a new connection; the accepting end is queued on listener li. */
static int fake_tcp_pair(unsigned li, enum fake_owner conn_owner, const char *conn_addr, int *conn)
{
	struct fake_sock *l = &fake_socks[li];
	int a, c;

	if (l->nbacklog >= FAKE_BACKLOG)
		return XS2S_ENOMEM;
	c = fake_alloc(FK_TCP, conn_owner);
	if (c < 0)
		return XS2S_ENOMEM;
	a = fake_alloc(FK_TCP, l->owner);
	if (a < 0) {
		fake_free((unsigned)c);
		return XS2S_ENOMEM;
	}
	fake_socks[c].peer = a;
	fake_socks[a].peer = c;
	memcpy(fake_socks[c].addr, l->addr, FAKE_ADDR_TEXT);
	snprintf(fake_socks[a].addr, FAKE_ADDR_TEXT, "%s", conn_addr);
	l->backlog[l->nbacklog++] = (unsigned)a;
	*conn = c;
	if (fake_cut_addr[0] && !strcmp(fake_cut_addr, l->addr)) {
		fake_socks[fake_cut_acceptor ? a : c].cut_left = fake_cut_bytes + 1;
		fake_cut_addr[0] = '\0';
	}
	return XS2S_OK;
}

static int fake_accept_from(struct fake_sock *l, xs2s_sock *out, char *peer)
{
	unsigned a;

	if (!l->nbacklog)
		return XS2S_EAGAIN;
	a = l->backlog[0];
	memmove(l->backlog, l->backlog + 1, (l->nbacklog - 1) * sizeof l->backlog[0]);
	l->nbacklog--;
	fake_nactivity++;
	if (peer)
		snprintf(peer, XS2S_ADDR_MAX, "%s", fake_socks[a].addr);
	*out = fake_handle(a);
	return XS2S_OK;
}

/* ---- the port interface (the engine's side) ---- */

int xs2s_port_listen(const char *addr, uint16_t port, xs2s_sock *out)
{
	char text[FAKE_ADDR_TEXT];
	int i;

	fake_addr_text(text, addr, port);
	if (fake_find_listener(text, FO_ENGINE) >= 0 || fake_find_listener(text, FO_TEST) >= 0)
		return XS2S_EIO; /* address in use */
	i = fake_alloc(FK_LISTEN, FO_ENGINE);
	if (i < 0)
		return XS2S_EIO;
	snprintf(fake_socks[i].addr, FAKE_ADDR_TEXT, "%s", text);
	*out = fake_handle((unsigned)i);
	return XS2S_OK;
}

int xs2s_port_accept(xs2s_sock l, xs2s_sock *out, char *peer)
{
	struct fake_sock *s = fake_get(l, FO_ENGINE, "accept");

	if (!s)
		return XS2S_EIO;
	if (s->kind != FK_LISTEN) {
		fake_violation("accept on a socket that is not a listener");
		return XS2S_EIO;
	}
	return fake_accept_from(s, out, peer);
}

int xs2s_port_connect(const char *addr, uint16_t port, xs2s_sock *out)
{
	char text[FAKE_ADDR_TEXT];
	int li, c;
	unsigned k;

	fake_addr_text(text, addr, port);
	li = fake_find_listener(text, FO_TEST);
	if (li < 0)
		li = fake_find_listener(text, FO_ENGINE); /* another engine of this process */
	if (li >= 0) {
		int rc = fake_tcp_pair((unsigned)li, FO_ENGINE, "198.51.100.1:40000", &c);

		if (rc != XS2S_OK)
			return XS2S_EIO;
		fake_socks[c].state = FT_CONNECTING;
		*out = fake_handle((unsigned)c);
		return XS2S_OK;
	}
	c = fake_alloc(FK_TCP, FO_ENGINE);
	if (c < 0)
		return XS2S_EIO;
	snprintf(fake_socks[c].addr, FAKE_ADDR_TEXT, "%s", text);
	fake_socks[c].state = FT_REFUSED;
	for (k = 0; k < fake_nholes; k++)
		if (!strcmp(fake_holes[k], text))
			fake_socks[c].state = FT_HOLE;
	*out = fake_handle((unsigned)c);
	return XS2S_OK;
}

int xs2s_port_connect_done(xs2s_sock h)
{
	struct fake_sock *s = fake_get(h, FO_ENGINE, "connect_done");

	if (!s || s->kind != FK_TCP)
		return XS2S_EIO;
	if (s->state == FT_CONNECTING || s->state == FT_HOLE)
		return XS2S_EAGAIN;
	return s->state == FT_OPEN ? XS2S_OK : XS2S_EIO;
}

/* fake_tcp_cut: the far end reads what it has, then EOF; s is reset. */
static void fake_tcp_cut_now(struct fake_sock *s)
{
	if (s->peer >= 0) {
		struct fake_sock *o = &fake_socks[s->peer];

		o->peer = -1;
		o->eof = true;
		s->peer = -1;
	}
	s->reset = true;
	s->len = 0;
	s->cut_left = 0;
	fake_ncuts++;
	fake_nactivity++;
}

unsigned fake_tcp_cuts(void)
{
	return fake_ncuts;
}

int xs2s_port_send(xs2s_sock h, const void *p, size_t n)
{
	struct fake_sock *s = fake_get(h, FO_ENGINE, "send");
	size_t took;

	if (!s || s->kind != FK_TCP)
		return XS2S_EIO;
	if (s->state != FT_OPEN) {
		fake_violation("send on a connection that is not established");
		return XS2S_EIO;
	}
	if (s->wshut) {
		fake_violation("send after shutdown_write");
		return XS2S_EIO;
	}
	if (s->reset || s->peer < 0)
		return XS2S_EIO; /* EPIPE / ECONNRESET */
	if (!n)
		return 0;
	if (s->wgate)
		return XS2S_EWANTWRITE; /* this round's segment is gone */
	if (s->cut_left == 1) {
		fake_tcp_cut_now(s);
		return XS2S_EIO;
	}
	if (s->cut_left && n > s->cut_left - 1)
		n = s->cut_left - 1;
	took = fake_pipe_put((unsigned)s->peer, p, fake_chunk(n));
	s->wgate = took && fake_mode != FAKE_WHOLE;
	if (s->cut_left) {
		s->cut_left -= took;
		if (s->cut_left == 1)
			fake_tcp_cut_now(s); /* this send went through; the next one fails */
	}
	return took ? (int)took : XS2S_EWANTWRITE;
}

int xs2s_port_recv(xs2s_sock h, void *p, size_t n)
{
	struct fake_sock *s = fake_get(h, FO_ENGINE, "recv");

	if (!s || s->kind != FK_TCP)
		return XS2S_EIO;
	if (s->state != FT_OPEN) {
		fake_violation("recv on a connection that is not established");
		return XS2S_EIO;
	}
	if (s->reset)
		return XS2S_EIO;
	if (s->len && s->rgate)
		return XS2S_EWANTREAD; /* the next segment comes with the next round */
	if (s->len && n) {
		s->rgate = fake_mode != FAKE_WHOLE;
		return (int)fake_pipe_take(s, p, fake_chunk(n < s->len ? n : s->len));
	}
	return s->eof ? XS2S_EIO : XS2S_EWANTREAD;
}

/* Closing with input unread resets the connection (RFC 1122 4.2.2.13, as
 * stacks do): what the far end had not read yet is lost. */
void xs2s_port_close(xs2s_sock h)
{
	struct fake_sock *s = fake_get(h, FO_ENGINE, "close");

	if (s)
		fake_sock_close(s, s->kind == FK_TCP && s->len > 0);
}

void xs2s_port_shutdown_write(xs2s_sock h)
{
	struct fake_sock *s = fake_get(h, FO_ENGINE, "shutdown");

	if (!s || s->kind != FK_TCP)
		return;
	s->wshut = true;
	if (s->peer >= 0)
		fake_socks[s->peer].eof = true; /* it reads the rest, then EOF */
	fake_nactivity++;
}

static uint8_t fake_readiness(struct fake_sock *s)
{
	uint8_t got = 0;

	if (s->kind == FK_LISTEN)
		return s->nbacklog ? XS2S_POLL_IN : 0;
	if (s->kind == FK_UDP) {
		got = XS2S_POLL_OUT;
		if (s->len)
			got |= XS2S_POLL_IN;
		if (s->unreachable)
			got |= XS2S_POLL_IN | XS2S_POLL_ERR;
		return got;
	}
	switch (s->state) {
	case FT_CONNECTING:
		if (s->peer < 0 && !s->eof && !s->reset)
			return 0;
		s->state = FT_OPEN; /* the handshake completed */
		fake_nactivity++;
		break;
	case FT_HOLE:
		return 0;
	case FT_REFUSED:
		return XS2S_POLL_OUT | XS2S_POLL_ERR;
	default:
		break;
	}
	s->rgate = s->wgate = false; /* a new round: the next segment may move */
	if (s->reset)
		return XS2S_POLL_IN | XS2S_POLL_OUT | XS2S_POLL_ERR;
	if (s->len || s->eof)
		got |= XS2S_POLL_IN;
	if (s->eof && !s->len)
		got |= XS2S_POLL_ERR;
	if (s->peer < 0 || fake_socks[s->peer].len < fake_socks[s->peer].cap)
		got |= XS2S_POLL_OUT;
	return got;
}

int xs2s_port_poll(struct xs2s_pollfd *fds, unsigned n, uint32_t timeout_ms)
{
	unsigned i;
	int ready = 0;

	fake_npolls++;
	fake_last_timeout = timeout_ms;
	for (i = 0; i < n; i++) {
		struct fake_sock *s = fake_get(fds[i].sock, FO_ENGINE, "poll");
		uint8_t got;

		fds[i].got = 0;
		if (!s)
			continue;
		got = fake_readiness(s);
		/* As poll(2): what was asked for, and errors always. */
		fds[i].got = (uint8_t)(got & (fds[i].want | XS2S_POLL_ERR));
		if (got & XS2S_POLL_ERR)
			fds[i].got |= (uint8_t)(got & XS2S_POLL_IN);
		if (fds[i].got)
			ready++;
	}
	return ready;
}

int xs2s_port_udp_open(const char *server_addr, uint16_t port, xs2s_sock *out)
{
	char text[FAKE_ADDR_TEXT];
	unsigned k;
	int i;

	fake_addr_text(text, server_addr, port);
	i = fake_alloc(FK_UDP, FO_ENGINE);
	if (i < 0)
		return XS2S_EIO;
	snprintf(fake_socks[i].addr, FAKE_ADDR_TEXT, "%s", text);
	for (k = 0; k < fake_nudp; k++)
		if (!strcmp(fake_udp[k].addr, text))
			fake_socks[i].udp_server = (int)k;
	*out = fake_handle((unsigned)i);
	return XS2S_OK;
}

static xs2s_sock fake_udp_from = XS2S_SOCK_NONE; /* the requester during a responder's call */

/* Append a datagram to UDP socket s's queue: XS2S_OK or XS2S_ENOMEM. */
static int fake_udp_queue(struct fake_sock *s, const void *p, size_t n)
{
	if (n > FAKE_UDP_DGRAM_MAX || s->len + 2 + n > sizeof s->rx)
		return XS2S_ENOMEM;
	s->rx[s->len] = (uint8_t)(n >> 8);
	s->rx[s->len + 1] = (uint8_t)n;
	if (n)
		memcpy(s->rx + s->len + 2, p, n);
	s->len += 2 + n;
	fake_nactivity++;
	return XS2S_OK;
}

int xs2s_port_udp_send(xs2s_sock h, const void *p, size_t n)
{
	static uint8_t resp[FAKE_UDP_DGRAM_MAX];
	struct fake_sock *s = fake_get(h, FO_ENGINE, "udp_send");
	int r;

	if (!s || s->kind != FK_UDP)
		return XS2S_EIO;
	fake_nactivity++;
	if (s->udp_server < 0) {
		s->unreachable = true; /* ICMP port unreachable, reported on the next recv */
		return XS2S_OK;
	}
	fake_udp_from = h;
	r = fake_udp[s->udp_server].fn(fake_udp[s->udp_server].arg, p, n, resp, sizeof resp);
	fake_udp_from = XS2S_SOCK_NONE;
	if (r < 0)
		return XS2S_OK; /* lost */
	if ((size_t)r > sizeof resp || fake_udp_queue(s, resp, (size_t)r) != XS2S_OK)
		fake_violation("UDP responder answer too large or queue full");
	return XS2S_OK;
}

xs2s_sock fake_udp_requester(void)
{
	return fake_udp_from;
}

int fake_udp_inject(xs2s_sock h, const void *p, size_t n)
{
	unsigned v, i;
	struct fake_sock *s;

	if (h < FAKE_HANDLE_BASE)
		return XS2S_EINVAL;
	v = (unsigned)(h - FAKE_HANDLE_BASE);
	i = v % FAKE_SOCKS;
	s = &fake_socks[i];
	if (s->kind != FK_UDP || s->owner != FO_ENGINE || (s->gen & FAKE_GEN_MASK) != v / FAKE_SOCKS)
		return XS2S_EINVAL;
	return fake_udp_queue(s, p, n);
}

int xs2s_port_udp_recv(xs2s_sock h, void *p, size_t n)
{
	struct fake_sock *s = fake_get(h, FO_ENGINE, "udp_recv");
	size_t dl;

	if (!s || s->kind != FK_UDP)
		return XS2S_EIO;
	if (s->unreachable) {
		s->unreachable = false;
		fake_nactivity++;
		return XS2S_EIO;
	}
	if (!s->len)
		return XS2S_EWANTREAD;
	dl = (size_t)s->rx[0] << 8 | s->rx[1];
	if (dl <= n)
		memcpy(p, s->rx + 2, dl);
	memmove(s->rx, s->rx + 2 + dl, s->len - 2 - dl);
	s->len -= 2 + dl;
	fake_nactivity++;
	return dl <= n ? (int)dl : XS2S_ERANGE;
}

int xs2s_port_dns_server(char addr[XS2S_ADDR_MAX], uint16_t *port)
{
	if (!fake_dns_addr[0])
		return XS2S_ENOTFOUND;
	memcpy(addr, fake_dns_addr, XS2S_ADDR_MAX);
	*port = fake_dns_port;
	return XS2S_OK;
}

void xs2s_port_pools(xs2s_pool_fn add, void *ctx)
{
	add(ctx, "fake:sockets", "items", fake_socks_used, fake_socks_high, FAKE_SOCKS, 0);
}

uint32_t xs2s_port_now_ms(void)
{
	return fake_clock;
}

int xs2s_port_random(void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		uint64_t r = fake_next(&fake_rng_state);
		size_t k = n < sizeof r ? n : sizeof r;

		memcpy(b, &r, k);
		b += k;
		n -= k;
	}
	return XS2S_OK;
}

static void fake_log_append(const char *line, size_t n)
{
	if (n + 1 > sizeof fake_log)
		n = sizeof fake_log - 1;
	while (fake_log_len + n + 1 > sizeof fake_log) {
		/* Drop the oldest line. */
		char *nl = memchr(fake_log, '\n', fake_log_len);
		size_t cut = nl ? (size_t)(nl - fake_log) + 1 : fake_log_len;

		memmove(fake_log, fake_log + cut, fake_log_len - cut);
		fake_log_len -= cut;
	}
	memcpy(fake_log + fake_log_len, line, n);
	fake_log_len += n;
	fake_log[fake_log_len] = '\0';
}

void xs2s_port_log(int level, const char *line)
{
	static const char lv[] = "?EWID";
	char buf[FAKE_LOG_LINE];
	int n;

	if (fake_log_echo < 0) {
		const char *e = getenv("XS2S_FAKE_LOG");
		fake_log_echo = e && e[0] && e[0] != '0';
	}
	n = snprintf(buf, sizeof buf, "%10u %c %s\n", (unsigned)fake_clock, lv[level >= 1 && level <= 4 ? level : 0],
		     line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf) {
		n = (int)sizeof buf - 1;
		buf[n - 1] = '\n';
	}
	fake_log_append(buf, (size_t)n);
	if (fake_log_echo)
		fputs(buf, stderr);
}

/* ---- control: clock ---- */

uint32_t fake_now(void) { return fake_clock; }
void fake_advance(uint32_t ms) { fake_clock += ms; }
uint32_t fake_poll_timeout(void) { return fake_last_timeout; }
unsigned long fake_polls(void) { return fake_npolls; }
unsigned long fake_activity(void) { return fake_nactivity; }

/* ---- control: TCP ---- */

void fake_set_capacity(size_t bytes)
{
	fake_capacity = bytes < 1 ? 1 : bytes > FAKE_PIPE_BYTES ? FAKE_PIPE_BYTES : bytes;
}

int fake_tcp_cut(const char *addr_port, bool from_acceptor, size_t bytes)
{
	snprintf(fake_cut_addr, sizeof fake_cut_addr, "%s", addr_port);
	fake_cut_acceptor = from_acceptor;
	fake_cut_bytes = bytes;
	return XS2S_OK;
}

int fake_tcp_blackhole(const char *addr_port)
{
	if (fake_nholes >= FAKE_HOLES || strlen(addr_port) >= FAKE_ADDR_TEXT)
		return XS2S_EINVAL;
	snprintf(fake_holes[fake_nholes++], FAKE_ADDR_TEXT, "%s", addr_port);
	return XS2S_OK;
}

int fake_tcp_listen(const char *addr_port, xs2s_sock *out)
{
	int i;

	if (strlen(addr_port) >= FAKE_ADDR_TEXT || fake_find_listener(addr_port, FO_TEST) >= 0 ||
	    fake_find_listener(addr_port, FO_ENGINE) >= 0)
		return XS2S_EINVAL;
	i = fake_alloc(FK_LISTEN, FO_TEST);
	if (i < 0)
		return XS2S_EINVAL;
	snprintf(fake_socks[i].addr, FAKE_ADDR_TEXT, "%s", addr_port);
	*out = fake_handle((unsigned)i);
	return XS2S_OK;
}

int fake_tcp_accept(xs2s_sock l, xs2s_sock *out)
{
	struct fake_sock *s = fake_get(l, FO_TEST, "fake_tcp_accept");

	if (!s || s->kind != FK_LISTEN)
		return XS2S_EINVAL;
	return fake_accept_from(s, out, NULL);
}

int fake_tcp_connect(const char *addr_port, const char *from_addr, xs2s_sock *out)
{
	int li = fake_find_listener(addr_port, FO_ENGINE), c, rc;

	if (li < 0)
		return XS2S_ENOTFOUND;
	rc = fake_tcp_pair((unsigned)li, FO_TEST, from_addr ? from_addr : "198.51.100.2:50000", &c);
	if (rc != XS2S_OK)
		return rc;
	*out = fake_handle((unsigned)c);
	return XS2S_OK;
}

int fake_tcp_write(xs2s_sock h, const void *p, size_t n)
{
	struct fake_sock *s = fake_get(h, FO_TEST, "fake_tcp_write");

	if (!s || s->kind != FK_TCP || s->reset || s->peer < 0)
		return XS2S_EIO;
	return (int)fake_pipe_put((unsigned)s->peer, p, n);
}

int fake_tcp_read(xs2s_sock h, void *p, size_t n)
{
	struct fake_sock *s = fake_get(h, FO_TEST, "fake_tcp_read");

	if (!s || s->kind != FK_TCP || s->reset)
		return XS2S_EIO;
	if (s->len && n)
		return (int)fake_pipe_take(s, p, fake_chunk(n < s->len ? n : s->len));
	return s->eof ? 0 : XS2S_EWANTREAD;
}

void fake_tcp_close(xs2s_sock h)
{
	struct fake_sock *s = fake_get(h, FO_TEST, "fake_tcp_close");

	if (s)
		fake_sock_close(s, false);
}

void fake_tcp_abort(xs2s_sock h)
{
	struct fake_sock *s = fake_get(h, FO_TEST, "fake_tcp_abort");

	if (s)
		fake_sock_close(s, true);
}

unsigned fake_tcp_pending(xs2s_sock l)
{
	struct fake_sock *s = fake_get(l, FO_TEST, "fake_tcp_pending");

	return s && s->kind == FK_LISTEN ? s->nbacklog : 0;
}

size_t fake_tcp_unread(xs2s_sock h)
{
	struct fake_sock *s = fake_get(h, FO_TEST, "fake_tcp_unread");

	return s && s->kind == FK_TCP && s->peer >= 0 ? fake_socks[s->peer].len : 0;
}

/* ---- control: UDP, DNS ---- */

int fake_udp_serve(const char *addr_port, fake_udp_fn fn, void *arg)
{
	if (fake_nudp >= FAKE_UDP_SERVERS || strlen(addr_port) >= FAKE_ADDR_TEXT || !fn)
		return XS2S_EINVAL;
	snprintf(fake_udp[fake_nudp].addr, FAKE_ADDR_TEXT, "%s", addr_port);
	fake_udp[fake_nudp].fn = fn;
	fake_udp[fake_nudp].arg = arg;
	fake_nudp++;
	return XS2S_OK;
}

void fake_set_dns_server(const char *addr, uint16_t port)
{
	snprintf(fake_dns_addr, sizeof fake_dns_addr, "%s", addr ? addr : "");
	fake_dns_port = port;
}

/* ---- control: log ---- */

const char *fake_log_text(void) { return fake_log; }
bool fake_log_has(const char *needle) { return strstr(fake_log, needle) != NULL; }

void fake_log_dump(FILE *f)
{
	fputs(fake_log, f);
}

/* ---- control: teardown ---- */

static unsigned fake_open_by(enum fake_owner owner)
{
	unsigned i, n = 0;

	for (i = 0; i < FAKE_SOCKS; i++)
		if (fake_socks[i].kind != FK_FREE && fake_socks[i].owner == owner)
			n++;
	return n;
}

unsigned fake_open_engine(void) { return fake_open_by(FO_ENGINE); }
unsigned fake_open_test(void) { return fake_open_by(FO_TEST); }

void fake_close_test_sockets(void)
{
	unsigned i;

	for (i = 0; i < FAKE_SOCKS; i++)
		if (fake_socks[i].kind != FK_FREE && fake_socks[i].owner == FO_TEST)
			fake_sock_close(&fake_socks[i], false);
}

unsigned fake_violations(const char **first)
{
	if (first)
		*first = fake_violation_first;
	return fake_nviolations;
}
