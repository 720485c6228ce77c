/* Scenario runner: scripted peers against the real engine over the fake port.
 *
 * A scenario is a table of steps. Peers (SC_PEERS of them, by index) are the
 * remote servers: a peer either CONNECTs to the engine's listener or ACCEPTs
 * a connection the engine opened to a remote domain of the fixed topology
 * below. Before every step the runner "settles": it moves bytes between the
 * peers and the engine and polls the engine until a round passes with no
 * activity and no work pending. The clock moves only in ADVANCE steps, and
 * then from deadline to deadline, settling at each.
 *
 * Text and patterns
 *   SEND text and EXPECT patterns are a + b x n + c (b repeated n times;
 *   b and c may be NULL). In both, ${name} stands for a variable: in SEND it
 *   is replaced by its value; in a pattern it compares with the value when
 *   the variable is bound, and otherwise captures the text up to the next
 *   literal character of the pattern (never across '<' or '>'), binding it
 *   when the whole pattern matches. ${*} matches such text without binding.
 *   EXPECT matches the start of what the engine sent to that peer since the
 *   last EXPECT and consumes it. DBKEY binds a variable to the XEP-0185 key
 *   the engine's secret gives (computed here, independently of the engine).
 *
 * Strictness: at the end of a script every byte the engine sent must have
 * been EXPECTed, every connection it opened ACCEPTed and every inbox entry
 * taken. Then the engine is stopped, every peer closes, the clock runs
 * through the remaining deadlines, and the leak gate checks that every pool
 * and arena is back to where it was after start and every fake socket is
 * closed. sc_run_all() runs a scenario whole, byte by byte and split at
 * seeded random points, and requires identical outcomes (wire, inbox, log).
 */
#ifndef XS2S_SC_RUNNER_H
#define XS2S_SC_RUNNER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "fake_port.h"

/* Topology: the engine serves a.test (and the alias domain alias.test) at
 * 192.0.2.1:5269; the remote servers of b.test and c.test listen; nobody
 * listens for refused.test; hole.test swallows connects; nowhere.test is
 * not in the host map and DNS (192.0.2.53) is unreachable, unless the
 * scenario asks for the zone of dns_zone.c (SC_DNS). */
#define SC_ENGINE_ADDR "192.0.2.1"
#define SC_ENGINE_PORT 5269
#define SC_SECRET "scenario secret"
/* With SC_COMPONENTS the engine also serves two XEP-0114 components on
 * SC_ENGINE_ADDR:SC_COMP_PORT: comp.a.test and comp2.a.test. */
#define SC_COMP_PORT 5347
#define SC_COMP "comp.a.test"
#define SC_COMP_SECRET "component-secret"
#define SC_COMP2 "comp2.a.test"
#define SC_COMP2_SECRET "second-secret"
#define SC_DNS_SERVER "192.0.2.53:53"

#define SC_PEERS 10
#define SC_VARS 32

enum sc_op {
	SC_END = 0,
	SC_INCLUDE,        /* sub: run these steps here */
	SC_CONNECT,        /* peer: connect to the engine's listener */
	SC_ACCEPT,         /* peer: accept the engine's connection to domain a */
	SC_NO_CONNECT,     /* the engine has no pending connection to domain a */
	SC_SEND,           /* peer: send a + b x n + c */
	SC_EXPECT,         /* peer: the engine's next output matches a + b x n + c */
	SC_EXPECT_NOTHING, /* peer: nothing new from the engine, connection open */
	SC_EXPECT_CLOSED,  /* peer: the engine closed after what was EXPECTed */
	SC_CLOSE,          /* peer: orderly close */
	SC_ABORT,          /* peer: connection reset */
	SC_ADVANCE,        /* clock forward n ms, deadline by deadline */
	SC_DBKEY,          /* a := key(recv b, orig c, id d) with the engine's secret */
	SC_APP_SEND,       /* app: from a to b, body c (c x n when n > 0); result m */
	SC_APP_SEND_MANY,  /* app: n messages a -> b with bodies c0, c1...; the first m accepted, the rest ENOMEM */
	SC_INBOX,          /* app: next inbox entry is from a, to b, type c, error d, body e (x n if n > 0) */
	SC_INBOX_MANY,     /* app: n inbox entries a -> b type c error d with bodies e0, e1... */
	SC_INBOX_EMPTY,    /* app: the inbox is empty */
	SC_STOP,           /* the engine begins its graceful shutdown */
	SC_IDLE,           /* the engine is idle (no link left) */
	SC_LOG_HAS,        /* the engine logged a line containing a */
	SC_STATUS_HAS,     /* the status table (b NULL) or its JSON (b "json") contains a */
	SC_CAPACITY,       /* pipes of connections made from now on hold n bytes */
	SC_HOLD,           /* peer: stop reading (its pipe fills: backpressure on the engine) */
	SC_RELEASE,        /* peer: read again */
	SC_APP_RAW,        /* app: xs2s_send_raw of a (with a completion when n); result m */
	SC_APP_IQ,         /* app: iq request from a to b, type c, id d, payload e, timeout n ms; result m */
	SC_HANDLER,        /* app: handler for JID a (NULL: any), kind b, namespace c, claiming when n */
	SC_APP_EVENT,      /* app: the next thing the application saw is line a (engine_drv.h) */
	SC_APP_EVENT_NONE, /* app: nothing more seen */
	SC_ACCT_ADD,       /* app: declare account a; result m */
	SC_ACCT_ANSWER,    /* app: answer the request of contact b to account a (n: accept); result m */
	SC_ACCT_PRESENCE,  /* app: account a's presence: available n, show b, status c; result m */
	SC_ASKED,          /* app: the ask callback was called next for account a, contact b */
	SC_STORE_IS,       /* the store's last save is exactly a (n > 0: and n saves so far) */
	SC_COMP_CONNECT,   /* peer: connect to the engine's component listener (SC_COMPONENTS) */
	SC_HANDSHAKE,      /* a := hex SHA-1(id b + secret c) (XEP-0114 3), upper case when n */
	SC_BUFS,           /* links hold exactly n buffers on loan, all pools together */
	SC_INBOX_WHY,      /* app: the inbox entry INBOX took last has error text a (its <text/>) */
};

struct sc_step {
	uint8_t op;
	uint8_t peer;
	int n, m;
	const char *a, *b, *c, *d, *e;
	const struct sc_step *sub;
};

#define CONNECT(p)                 { .op = SC_CONNECT, .peer = (p) }
#define CONNECT_FROM(p, addr)      { .op = SC_CONNECT, .peer = (p), .a = (addr) }
#define COMP_CONNECT(p)            { .op = SC_COMP_CONNECT, .peer = (p) }
#define HANDSHAKE(var, id, secret) { .op = SC_HANDSHAKE, .a = (var), .b = (id), .c = (secret) }
#define HANDSHAKE_UPPER(var, id, secret) { .op = SC_HANDSHAKE, .a = (var), .b = (id), .c = (secret), .n = 1 }
#define ACCEPT(p, dom)             { .op = SC_ACCEPT, .peer = (p), .a = (dom) }
#define NO_CONNECT(dom)            { .op = SC_NO_CONNECT, .a = (dom) }
#define SEND(p, text)              { .op = SC_SEND, .peer = (p), .a = (text) }
#define SEND_LONG(p, pre, unit, reps, post) { .op = SC_SEND, .peer = (p), .a = (pre), .b = (unit), .n = (reps), .c = (post) }
#define EXPECT(p, pat)             { .op = SC_EXPECT, .peer = (p), .a = (pat) }
#define EXPECT_LONG(p, pre, unit, reps, post) { .op = SC_EXPECT, .peer = (p), .a = (pre), .b = (unit), .n = (reps), .c = (post) }
#define EXPECT_NOTHING(p)          { .op = SC_EXPECT_NOTHING, .peer = (p) }
#define EXPECT_CLOSED(p)           { .op = SC_EXPECT_CLOSED, .peer = (p) }
#define CLOSE(p)                   { .op = SC_CLOSE, .peer = (p) }
#define ABORT(p)                   { .op = SC_ABORT, .peer = (p) }
#define ADVANCE(ms)                { .op = SC_ADVANCE, .n = (ms) }
#define DBKEY(var, recv, orig, id) { .op = SC_DBKEY, .a = (var), .b = (recv), .c = (orig), .d = (id) }
#define APP_SEND(from, to, body, rc) { .op = SC_APP_SEND, .a = (from), .b = (to), .c = (body), .m = (rc) }
#define APP_SEND_LONG(from, to, unit, reps, rc) { .op = SC_APP_SEND, .a = (from), .b = (to), .c = (unit), .n = (reps), .m = (rc) }
#define APP_SEND_MANY(from, to, prefix, count, ok) { .op = SC_APP_SEND_MANY, .a = (from), .b = (to), .c = (prefix), .n = (count), .m = (ok) }
#define INBOX(from, to, type, err, body) { .op = SC_INBOX, .a = (from), .b = (to), .c = (type), .d = (err), .e = (body) }
#define INBOX_LONG(from, to, type, err, unit, reps) { .op = SC_INBOX, .a = (from), .b = (to), .c = (type), .d = (err), .e = (unit), .n = (reps) }
#define INBOX_MANY(from, to, type, err, prefix, count) { .op = SC_INBOX_MANY, .a = (from), .b = (to), .c = (type), .d = (err), .e = (prefix), .n = (count) }
#define INBOX_EMPTY()              { .op = SC_INBOX_EMPTY }
#define STOP()                     { .op = SC_STOP }
#define IDLE()                     { .op = SC_IDLE }
#define LOG_HAS(text)              { .op = SC_LOG_HAS, .a = (text) }
#define STATUS_HAS(text)           { .op = SC_STATUS_HAS, .a = (text) }
#define JSON_HAS(text)             { .op = SC_STATUS_HAS, .a = (text), .b = "json" }
#define CAPACITY(bytes)            { .op = SC_CAPACITY, .n = (bytes) }
#define HOLD(p)                    { .op = SC_HOLD, .peer = (p) }
#define RELEASE(p)                 { .op = SC_RELEASE, .peer = (p) }
#define ACCT_ADD(acct, rc)         { .op = SC_ACCT_ADD, .a = (acct), .m = (rc) }
#define ACCT_ANSWER(acct, contact, accept, rc) { .op = SC_ACCT_ANSWER, .a = (acct), .b = (contact), .n = (accept), .m = (rc) }
#define ACCT_PRESENCE(acct, avail, show, status, rc) \
	{ .op = SC_ACCT_PRESENCE, .a = (acct), .n = (avail), .b = (show), .c = (status), .m = (rc) }
#define ASKED(acct, contact)       { .op = SC_ASKED, .a = (acct), .b = (contact) }
#define STORE_IS(text)             { .op = SC_STORE_IS, .a = (text) }
#define STORE_IS_N(text, saves)    { .op = SC_STORE_IS, .a = (text), .n = (saves) }
#define INCLUDE(steps)             { .op = SC_INCLUDE, .sub = (steps) }
#define APP_RAW(xml, rc)           { .op = SC_APP_RAW, .a = (xml), .m = (rc) }
#define APP_RAW_TRACKED(xml, rc)   { .op = SC_APP_RAW, .a = (xml), .n = 1, .m = (rc) }
#define APP_IQ(from, to, type, id, payload, ms, rc) \
	{ .op = SC_APP_IQ, .a = (from), .b = (to), .c = (type), .d = (id), .e = (payload), .n = (ms), .m = (rc) }
#define HANDLER(jid, kind, ns, claim) { .op = SC_HANDLER, .a = (jid), .b = (kind), .c = (ns), .n = (claim) }
#define APP_EVENT(line)            { .op = SC_APP_EVENT, .a = (line) }
#define APP_EVENT_NONE()           { .op = SC_APP_EVENT_NONE }
#define BUFS(count)                { .op = SC_BUFS, .n = (count) }
#define INBOX_WHY(text)            { .op = SC_INBOX_WHY, .a = (text) }
#define END()                      { .op = SC_END }

/* Engine configuration switches of a scenario (default: a.test and
 * alias.test, listening, dialback, TLS optional without a certificate). */
#define SC_TLS_REQUIRED 0x1u
#define SC_SECURE_AUTH  0x2u
#define SC_NO_DIALBACK  0x4u
#define SC_ONE_DOMAIN   0x8u
#define SC_NO_LISTEN    0x10u
#define SC_DNS          0x20u  /* SC_DNS_SERVER answers (zone in dns_zone.c) */
#define SC_COMPONENTS   0x40u  /* XEP-0114 components SC_COMP and SC_COMP2 on SC_COMP_PORT */
#define SC_BIDI         0x80u  /* XEP-0288 bidirectional streams (off otherwise, whatever CONFIG_XS2S_BIDI says) */
#define SC_PING         0x100u /* XEP-0199 pings: SC_PING_IDLE_S, SC_PING_TIMEOUT_S (otherwise off) */
#define SC_DENY_B       0x200u /* XEP-0205: b.test on the deny list */
#define SC_ALLOW_BC     0x400u /* XEP-0205: the allow list is b.test and c.test */
#define SC_RATE         0x800u /* XEP-0205: SC_RATE_PER_S stanzas/s per inbound stream, bursts of
				* SC_RATE_BURST, cut after SC_RATE_HARD_S over it */
#define SC_PING_IDLE_S 60
#define SC_PING_TIMEOUT_S 20
#define SC_RATE_PER_S 2
#define SC_RATE_BURST 3
#define SC_RATE_HARD_S 5
#define SC_RETRY        0x1000u /* failed routes retry for SC_RETRY_S (else: bounced at the first failure) */
#define SC_RETRY_S      60

/* Device accounts of a scenario (CONFIG_XS2S_ACCOUNTS_PRESENCE): the
 * engine's configuration (xs2s_config), and a store in the driver's memory
 * that starts with store_initial (engine_drv.h). */
struct sc_accounts {
	const char *accounts;          /* space-separated bare JIDs */
	int policy;                    /* enum xs2s_sub_policy */
	const char *allow;             /* allow list */
	bool ask;                      /* record the ask callback's calls (ASKED steps take them) */
	bool store;                    /* with a store */
	const char *store_initial;     /* what the store holds at start */
};

struct sc_scenario {
	const char *name;
	const struct sc_step *steps;
	unsigned flags;
	const char *secure_auth_exceptions;
	const struct sc_accounts *accounts; /* NULL: none */
};

/* What must be identical in every delivery mode. */
struct sc_outcome {
	uint64_t wire;   /* every byte the engine sent to each peer, and its closes */
	uint64_t app;    /* inbox entries and send results */
	uint64_t log;    /* the engine's log lines */
};

/* Whole, byte by byte, split: 0 when every mode passes with the same outcome;
 * otherwise the failure is printed to stderr and -1 returned. */
int sc_run_all(const struct sc_scenario *s);
/* No failure report on stderr (for tests of the runner itself). */
void sc_set_quiet(bool quiet);
/* One run in one mode. */
int sc_run(const struct sc_scenario *s, enum fake_delivery mode, uint64_t split_seed, struct sc_outcome *o);

/* ---- lower level, for harnesses that drive peers themselves ---- */
/* Reset the fake port, start the engine, set up the topology. */
int sc_begin(const struct sc_scenario *s, enum fake_delivery mode, uint64_t split_seed);
/* The engine's certificate chain and key (PEM) for the runs that begin
 * after this call; NULL (the default): none, so no STARTTLS is offered.
 * The buffers must outlive sc_begin. */
void sc_set_credentials(const void *cert, size_t cert_len, const void *key, size_t key_len);
/* Run steps (NULL-terminated by END); 0 or -1 with sc_error() set. */
int sc_exec(const struct sc_step *steps);
/* Poll until quiet; 0 or -1 (the engine never went quiet). */
int sc_settle(void);
/* Move the clock through every pending deadline (at most limit jumps). */
int sc_run_timers(unsigned limit);
/* A peer's unread engine output (not NUL-terminated) and consuming it. */
const char *sc_peer_unread(int peer, size_t *len);
void sc_peer_consume(int peer, size_t n);
bool sc_peer_connected(int peer);
bool sc_peer_eof(int peer);
/* Queue raw bytes from a peer to the engine. */
int sc_peer_write(int peer, const void *p, size_t n);
/* Accept a pending engine connection to domain into peer: 1, or 0 if none. */
int sc_accept(int peer, const char *domain);
/* Teardown and leak gate; strict also checks that the script consumed
 * every output, connection and inbox entry. 0 or -1. */
int sc_finish(bool strict, struct sc_outcome *o);
const char *sc_error(void);
/* Print the failure report (step, peers' transcripts, engine log). */
void sc_report(FILE *f);

/* XEP-0185: hex HMAC-SHA256(hex(SHA-256(secret)), "recv orig id"). */
void sc_dbkey(const char *secret, const char *recv, const char *orig, const char *id, char out[65]);
/* XEP-0114 3: hex SHA-1(id + secret), lower case (upper when upper). */
void sc_handshake(const char *id, const char *secret, bool upper, char out[41]);

#endif
