/* The fake port: every function of firmware/port.h over in-memory sockets,
 * a manual clock and seeded entropy, for scenario tests and fuzzing.
 *
 * Who calls what
 *   The engine calls the xs2s_port_* functions, exactly as on a real port.
 *   The test (the scenario runner, a fuzz harness) calls the fake_* control
 *   functions below: it plays the remote servers through "test-owned"
 *   sockets, moves the clock and reads the log. Engine-owned and test-owned
 *   sockets live in one bounded table; using a socket from the wrong side,
 *   or a handle that is closed, is a contract violation: it is counted
 *   (fake_violations) and never crashes.
 *
 * Model (what a real stack does, minus time)
 *   - TCP: a listener is registered under its "addr:port" text (IPv6 as
 *     "[addr]:port"). A connect to a registered listener (the test's, or
 *     another engine's: several engines may share the fake port, each using
 *     only its own sockets) creates both ends at once and queues the far end
 *     for accept; the connecting end completes on
 *     the next xs2s_port_poll (XS2S_POLL_OUT, then connect_done = XS2S_OK).
 *     A connect to an address nobody listens on is refused (POLL_OUT|ERR,
 *     connect_done = XS2S_EIO), or never completes when the address was
 *     declared a black hole (fake_tcp_blackhole): connect timeouts.
 *   - Each direction is a byte pipe of bounded capacity (fake_set_capacity):
 *     a full pipe makes xs2s_port_send return XS2S_EWANTWRITE.
 *   - Close is orderly: the other end reads what is left, then EOF (the
 *     engine sees XS2S_EIO, the test sees 0). fake_tcp_abort is a reset: the
 *     other end's data is dropped and every call fails with XS2S_EIO.
 *   - Delivery mode (fake_reset): WHOLE hands over all that is there, BYTE
 *     one byte per recv and per engine send, SPLIT a seeded random amount.
 *     In BYTE and SPLIT a socket moves one such segment per direction and
 *     poll round (later calls: XS2S_EWANTREAD / XS2S_EWANTWRITE until the
 *     next xs2s_port_poll), so the engine really sees its input arrive in
 *     pieces. Scripts MUST give identical results in all three.
 *   - UDP: a socket opened towards a server with a responder
 *     (fake_udp_serve) gets its answers queued as datagrams; towards any
 *     other server every send makes the next recv fail with XS2S_EIO, like
 *     an ICMP port unreachable.
 *   - xs2s_port_poll never sleeps: it computes readiness from the pipes and
 *     records the timeout the engine asked for (fake_poll_timeout), so that
 *     the driver can move the clock to the next deadline when all is quiet.
 *   - The clock moves only through fake_advance; it starts close to the
 *     32-bit wrap so that every long scenario crosses it.
 *   - Log lines go to a bounded buffer (oldest lines dropped first); with
 *     XS2S_FAKE_LOG=1 in the environment they are also printed as they come.
 * Memory: static tables only (FAKE_SOCKS sockets with a FAKE_PIPE_BYTES
 * receive pipe each, FAKE_LOG_BYTES of log). Not thread-safe.
 */
#ifndef XS2S_FAKE_PORT_H
#define XS2S_FAKE_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "port.h"

#define FAKE_SOCKS 64           /* engine and test sockets together */
#define FAKE_PIPE_BYTES 16384   /* largest pipe capacity (per direction) */
#define FAKE_BACKLOG 8          /* pending connections per listener */
#define FAKE_HOLES 8            /* black-hole addresses */
#define FAKE_UDP_SERVERS 4      /* UDP responders */
#define FAKE_UDP_DGRAM_MAX 2048 /* largest datagram a responder may answer */
#define FAKE_LOG_BYTES 65536    /* log lines kept */
#define FAKE_ADDR_TEXT 64       /* "[v6]:port" and its NUL */
#define FAKE_CLOCK_START 0xfffe7960u /* 100 s before the 32-bit wrap */

enum fake_delivery {
	FAKE_WHOLE = 0, /* recv returns all that is there */
	FAKE_BYTE,      /* one byte per recv (and per engine send) */
	FAKE_SPLIT,     /* a seeded random amount per recv and engine send */
	FAKE_DELIVERY__COUNT
};
const char *fake_delivery_name(enum fake_delivery d);

/* Forget every socket, listener, responder and log line; clock back to
 * FAKE_CLOCK_START, entropy from seed, split points from split_seed (kept
 * apart so that the engine's random values are the same in every mode),
 * capacity back to FAKE_PIPE_BYTES. Call before the engine starts. */
void fake_reset(uint64_t seed, enum fake_delivery mode, uint64_t split_seed);

/* ---- clock ---- */
uint32_t fake_now(void);
void fake_advance(uint32_t ms);
/* The timeout of the last xs2s_port_poll call, and how many calls so far. */
uint32_t fake_poll_timeout(void);
unsigned long fake_polls(void);
/* Bumped by every event that changes a socket (bytes moved, connect, accept,
 * close, a connect completing): equal before and after a round = quiet. */
unsigned long fake_activity(void);

/* ---- TCP, the test's side ---- */
/* Pipe capacity (1..FAKE_PIPE_BYTES) of connections made from now on. */
void fake_set_capacity(size_t bytes);
/* The next connection made to listener addr_port is cut once `bytes` bytes
 * went from the connecting end to the accepting end (from_acceptor false)
 * or the other way: the receiving end reads those bytes, then EOF; the
 * sending end is reset (what it had not read is lost). bytes 0: at once,
 * on the first send. One cut armed at a time; XS2S_OK. */
int fake_tcp_cut(const char *addr_port, bool from_acceptor, size_t bytes);
/* Cuts made so far (fake_tcp_cut). */
unsigned fake_tcp_cuts(void);
/* Connects to addr_port will never complete. */
int fake_tcp_blackhole(const char *addr_port);
/* A test-owned listener at addr_port ("192.0.2.2:5269"): XS2S_OK or
 * XS2S_EINVAL (taken, table full). */
int fake_tcp_listen(const char *addr_port, xs2s_sock *out);
/* The next connection the engine made to listener l, or XS2S_EAGAIN. */
int fake_tcp_accept(xs2s_sock l, xs2s_sock *out);
/* Connections waiting on test listener l for fake_tcp_accept. */
unsigned fake_tcp_pending(xs2s_sock l);
/* Connect to an engine listener: XS2S_OK and the test's end (established
 * at once, the engine's end queued for its accept), XS2S_ENOTFOUND when no
 * engine listener has that address, XS2S_ENOMEM when a table is full. */
int fake_tcp_connect(const char *addr_port, const char *from_addr, xs2s_sock *out);
/* Write up to n bytes: the count taken (0 when the pipe is full), XS2S_EIO
 * when the engine's end is gone. */
int fake_tcp_write(xs2s_sock s, const void *p, size_t n);
/* Read up to n bytes: the count, 0 at EOF (the engine closed and all was
 * read), XS2S_EWANTREAD when nothing is there yet. */
int fake_tcp_read(xs2s_sock s, void *p, size_t n);
/* Orderly close, or a reset (the engine's end fails at once). */
void fake_tcp_close(xs2s_sock s);
void fake_tcp_abort(xs2s_sock s);
/* Bytes written by the test that the engine has not read yet. */
size_t fake_tcp_unread(xs2s_sock s);

/* ---- UDP and DNS ---- */
/* Answer datagrams sent to addr_port: fn gets the request and returns the
 * answer's length (<= cap), or -1 for no answer. */
typedef int (*fake_udp_fn)(void *arg, const uint8_t *req, size_t n, uint8_t *resp, size_t cap);
int fake_udp_serve(const char *addr_port, fake_udp_fn fn, void *arg);
/* During a responder's call: the engine's UDP socket that sent the request,
 * so that an answer can come later (fake_udp_inject). */
xs2s_sock fake_udp_requester(void);
/* Queue datagram p (n <= FAKE_UDP_DGRAM_MAX) on the engine's UDP socket s as
 * if its server had sent it now: XS2S_OK, XS2S_EINVAL when s is no longer an
 * open engine UDP socket (the lookup ended: the datagram is lost, as on a
 * real stack), XS2S_ENOMEM when its queue is full. */
int fake_udp_inject(xs2s_sock s, const void *p, size_t n);
/* What xs2s_port_dns_server answers (NULL: XS2S_ENOTFOUND, the default). */
void fake_set_dns_server(const char *addr, uint16_t port);

/* ---- log ---- */
/* All kept lines, '\n'-separated, NUL-terminated. */
const char *fake_log_text(void);
bool fake_log_has(const char *needle);
void fake_log_dump(FILE *f);

/* ---- teardown ---- */
/* Sockets still open, engine-owned and test-owned. */
unsigned fake_open_engine(void);
unsigned fake_open_test(void);
/* Close every test-owned socket (the runner's own teardown). */
void fake_close_test_sockets(void);
/* Contract violations so far and the first one's text ("" when none). */
unsigned fake_violations(const char **first);

#endif
