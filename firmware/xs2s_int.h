/* Engine internals shared by the firmware modules. Not a public API. */
#ifndef XS2S_INT_H
#define XS2S_INT_H

#include <stdbool.h>
#include <stdint.h>
#include "xs2s.h"
#include "xs2s_config.h"
#include "framer.h"
#include "arena.h"
#include "port.h"
#include "log.h"
#include "resolve.h"

/* Wrap-safe deadline test (STYLE.md). */
#define XS2S_TIME_REACHED(now, t) ((int32_t)((uint32_t)(now) - (uint32_t)(t)) >= 0)

enum xs2s_dir { XS2S_DIR_IN = 0, XS2S_DIR_OUT };

/* Link states. Outbound: RESOLVE -> CONNECT -> HEADER -> FEATURES ->
 * STARTTLS -> TLS -> HEADER -> FEATURES -> AUTH -> OPEN -> CLOSING.
 * Inbound: HEADER -> FEATURES -> TLS -> HEADER -> FEATURES -> OPEN -> CLOSING
 * (an inbound stream is OPEN once a first domain pair is valid; before that
 * it stays in FEATURES, or AUTH while a db:result is being verified). */
enum xs2s_link_state {
	XS2S_LS_FREE = 0,
	XS2S_LS_RESOLVE,
	XS2S_LS_CONNECT,
	XS2S_LS_HEADER,
	XS2S_LS_FEATURES,
	XS2S_LS_STARTTLS,
	XS2S_LS_TLS,
	XS2S_LS_AUTH,
	XS2S_LS_OPEN,
	XS2S_LS_CLOSING,
	XS2S_LS__COUNT
};
const char *xs2s_link_state_name(enum xs2s_link_state s);

enum xs2s_cert_verdict {
	XS2S_CERT_NONE = 0,       /* no certificate presented (or no TLS) */
	XS2S_CERT_VALID,          /* chain to a trusted CA, in date, name matches */
	XS2S_CERT_UNTRUSTED,      /* chain does not end at a trusted CA */
	XS2S_CERT_EXPIRED,        /* outside its validity period */
	XS2S_CERT_NAME_MISMATCH,  /* trusted, but not for the peer's domain */
};
const char *xs2s_cert_verdict_name(enum xs2s_cert_verdict v);

/* A (local, remote) domain pair carried by a link, with its dialback state. */
enum xs2s_pair_state {
	XS2S_PAIR_FREE = 0,
	XS2S_PAIR_PENDING,   /* out: db:result not yet sent; in: received, verifying */
	XS2S_PAIR_SENT,      /* out: db:result sent, waiting for the verdict */
	XS2S_PAIR_VALID,     /* authenticated: stanzas may flow */
	XS2S_PAIR_FAILED,    /* refused; stanzas for it are bounced */
};

#define XS2S_DB_KEY_MAX 128  /* longest dialback key accepted (hex) */

/* How a pair was authenticated (status "auth"). */
enum xs2s_auth_method {
	XS2S_AUTH_NONE = 0,
	XS2S_AUTH_DIALBACK,       /* XEP-0220 with a db:verify round trip */
	XS2S_AUTH_DIALBACK_CERT,  /* XEP-0344: db:result accepted on a valid certificate */
	XS2S_AUTH_SASL_EXTERNAL,  /* XEP-0178 */
};
const char *xs2s_auth_method_name(enum xs2s_auth_method m);

struct xs2s_pair {
	enum xs2s_pair_state state;
	enum xs2s_auth_method method;
	char local[XS2S_DOMAIN_MAX + 1];
	char remote[XS2S_DOMAIN_MAX + 1];
	char key[XS2S_DB_KEY_MAX + 1];   /* in: the key to verify; never logged */
	uint8_t queued;                   /* out: stanzas waiting in the queue pool */
};

/* A db:verify this (outbound) link must ask for an inbound link. */
struct xs2s_verify_req {
	bool used;
	bool sent;
	uint8_t in_slot;     /* inbound link slot that waits for the answer */
	uint32_t in_gen;     /* its generation, to ignore answers for a reused slot */
	uint8_t pair;        /* pair index on the inbound link */
};

struct xs2s_link {
	enum xs2s_link_state state;
	enum xs2s_dir dir;
	unsigned id;                  /* shown in logs and status, never reused */
	uint32_t gen;                 /* bumped when the slot is freed */
	xs2s_sock sock;
	bool closing_done;            /* marked for freeing by the engine */
	bool tls_active;              /* every byte now goes through TLS */
	bool peer_closed;             /* peer sent </stream:stream> */
	bool header_sent;             /* our stream header for the current stream */
	bool peer_version1;           /* peer's header said version='1.0' */
	bool peer_db_errors;          /* peer advertised dialback errors */
	bool tls_required_fail;       /* failed because TLS was required */
	bool want_write;              /* TLS or socket waits for writability */
	bool more;                    /* input left over after the step's budget */
	bool eof;                     /* the socket reported close or error */
	bool hard_close;              /* close as soon as the output is flushed */
	bool sasl_done;               /* SASL succeeded: never offered or tried again */
	bool sasl_failed;             /* out: EXTERNAL refused, fall back to dialback */
	bool peer_dialback;           /* out: the peer offers dialback (feature or xmlns:db) */
	bool peer_hdr_db;             /* the peer's header declares xmlns:db */
	bool sasl_inflight;           /* out: <auth/> sent, no answer yet */
	uint32_t created_ms;
	uint32_t deadline_ms;         /* of the current state */
	uint32_t last_io_ms;
	char stream_id[XS2S_STREAM_ID_MAX + 1]; /* ours (in) or the peer's (out) */
	char peer_domain[XS2S_DOMAIN_MAX + 1];  /* out: target; in: header 'from' */
	char local_domain[XS2S_DOMAIN_MAX + 1]; /* out: first local; in: header 'to' */
	char addr[XS2S_ADDR_MAX];
	uint16_t port;
	int resolve_h;                /* out: running lookup, -1 if none */
	uint8_t ncand, cand_next;     /* out: candidates and the next one to try */
	struct xs2s_target cand[CONFIG_XS2S_RESOLVE_TARGETS];
	struct xs2s_ns_ctx ns;        /* namespaces from the peer's header */
	struct xs2s_pair pairs[CONFIG_XS2S_MAX_PAIRS];
	struct xs2s_verify_req vreq[CONFIG_XS2S_MAX_PAIRS];
	void *ssl;                    /* WOLFSSL *, NULL when not encrypted */
	enum xs2s_cert_verdict cert;
	int cert_err;                 /* wolfSSL verify error, 0 if none */
	char tls_version[12];
	char cipher[48];
	enum xs2s_stream_err err;     /* sticky first stream error (sent or received) */
	enum xs2s_stanza_err bounce;  /* condition for bouncing queued stanzas */
	char reason[96];              /* first failure, for logs */
	uint32_t stanzas_in, stanzas_out;
	uint64_t bytes_in, bytes_out;
	struct xs2s_framer fr;
	size_t rx_len;                /* bytes in rx */
	size_t tx_len;                /* bytes in tx */
	size_t out_len;               /* bytes in out */
	int tls_wpending;             /* size of a wolfSSL_write to repeat, 0 if none */
	uint8_t rx[CONFIG_XS2S_RX_BUF];
	uint8_t tx[CONFIG_XS2S_TX_BUF];
	char out[CONFIG_XS2S_OUT_BUF];
	char stanza[CONFIG_XS2S_MAX_STANZA + 2];
};

struct xs2s_engine {
	bool started;
	bool stopping;
	unsigned next_id;
	char domains[CONFIG_XS2S_MAX_DOMAINS][XS2S_DOMAIN_MAX + 1];
	unsigned ndomains;
	uint8_t db_secret_hash[32];   /* SHA-256 of the dialback secret */
	enum xs2s_tls_policy tls_policy;
	bool tls_ready;               /* we have a certificate: STARTTLS offered/used */
	xs2s_sock listener;
	struct xs2s_link links[CONFIG_XS2S_MAX_LINKS];
	unsigned links_used, links_high;
	unsigned links_refused;       /* accepts/creates refused for lack of a slot */
};

extern struct xs2s_engine xs2s_g;

/* engine.c */
struct xs2s_link *xs2s_link_alloc(enum xs2s_dir dir);
bool xs2s_is_local_domain(const char *d);
struct xs2s_link *xs2s_link_by_slot(unsigned slot, uint32_t gen);
static inline unsigned xs2s_link_slot(const struct xs2s_link *l) { return (unsigned)(l - xs2s_g.links); }

/* link.c: the state machine */
void xs2s_link_set_state(struct xs2s_link *l, enum xs2s_link_state s);
void xs2s_link_step(struct xs2s_link *l, uint8_t got);
void xs2s_link_timer(struct xs2s_link *l, uint32_t now);
bool xs2s_link_has_work(const struct xs2s_link *l);
uint8_t xs2s_link_poll_want(const struct xs2s_link *l);
/* Fail the link: remember the first reason, send a stream error if cond is
 * not NONE and the stream is up, then close. */
void xs2s_link_fail(struct xs2s_link *l, enum xs2s_stream_err cond, enum xs2s_stanza_err bounce,
		    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Graceful close: </stream:stream>, then wait for the peer's. */
void xs2s_link_close(struct xs2s_link *l, const char *why);
/* Append a complete element to the link's output; XS2S_ENOMEM if no room,
 * XS2S_EIO once the link is closing (nothing follows our closing tag). */
int xs2s_link_write(struct xs2s_link *l, const char *xml, size_t len);
void xs2s_link_start_out(struct xs2s_link *l);
/* New stream on the same connection (after TLS or SASL): framer reset; the
 * initiator sends a fresh header. */
void xs2s_link_restart_stream(struct xs2s_link *l);
void xs2s_link_accepted(struct xs2s_link *l);
/* Called once before the slot is freed. */
void xs2s_link_release(struct xs2s_link *l);
/* Cleanly cut the TLS session off without a close_notify. */

/* dialback.c */
void xs2s_db_key(const char *recv, const char *orig, const char *id, char out[65]);
int xs2s_db_handle(struct xs2s_link *l, mxml_node_t *el, bool is_result);
void xs2s_db_send_pending(struct xs2s_link *l);
void xs2s_db_link_gone(struct xs2s_link *l);
int xs2s_db_request_verify(struct xs2s_link *in, unsigned pair);
struct xs2s_pair *xs2s_pair_find(struct xs2s_link *l, const char *local, const char *remote);
struct xs2s_pair *xs2s_pair_add(struct xs2s_link *l, const char *local, const char *remote);

/* router.c */
void xs2s_router_init(void);
/* Route an outgoing stanza (complete XML) from a local domain to a remote one. */
int xs2s_router_send(const char *local, const char *remote, const char *xml, size_t len);
/* A pair on an outbound link became valid: flush its queue. */
void xs2s_router_pair_ready(struct xs2s_link *l, unsigned pair);
/* A pair (or the whole link) failed: bounce its queue with cond. */
void xs2s_router_pair_failed(struct xs2s_link *l, unsigned pair, enum xs2s_stanza_err cond);
/* Let a link whose output drained take more of its queued stanzas. */
void xs2s_router_kick(struct xs2s_link *l);
/* Outbound link to remote carrying (or able to carry) local; creates one. */
struct xs2s_link *xs2s_router_out_link(const char *local, const char *remote, bool create);
struct xs2s_arena *xs2s_queue_arena(void);
unsigned xs2s_queue_count(void);

/* local.c: stanzas for the local domains */
void xs2s_local_init(void);
int xs2s_local_deliver(struct xs2s_link *l, mxml_node_t *st, const char *name);
int xs2s_inbox_put(const char *from, const char *to, const char *type, const char *error, const char *body);
void xs2s_inbox_stats(size_t *used, size_t *high, size_t *size, unsigned *count);
/* Bounce a stanza we could not deliver back to its local sender's inbox. */
void xs2s_local_bounce(const char *xml, size_t len, enum xs2s_stanza_err cond);

/* hostmap.c: non-blocking resolution (static map now, DNS later) */
int xs2s_resolve(const char *domain, char addr[XS2S_ADDR_MAX], uint16_t *port);

/* jid helpers (local.c) */
/* Copy the domainpart of jid into out; XS2S_EINVAL when malformed. */
int xs2s_jid_domain(const char *jid, char *out, size_t cap);
bool xs2s_domain_valid(const char *d);

/* Random hex id of n chars into out (n+1 bytes). */
void xs2s_random_hex(char *out, size_t n);

#endif
