/* The transport layer: one s2s connection — its socket, TLS session, framer
 * and stream negotiation — up to the point where the stream is ready for
 * authentication, and while it carries authenticated traffic. The same
 * transport carries an XEP-0114 component's stream (kind COMPONENT): its
 * own header (jabber:component:accept), no STARTTLS, no features; the
 * <handshake/> goes up like any element.
 *
 * Who calls: the engine only (and route.c, to write stanzas on a link it was
 * handed). Owns: its socket, the rx/tx/out byte queues (their buffers on
 * loan from the engine's pools while it receives or sends: link/bufs.h),
 * the TLS session, the framer and stanza buffer, the stream's facts. Never touches: routes,
 * authentication state, other links, local delivery. What the layers above
 * must learn from a link comes back from xs2s_link_pump() (a stream to
 * authenticate, an element) or is posted as an event (XS2S_EV_LINK_DOWN when
 * the link stops carrying traffic, once).
 *
 * Fields marked "read-only above" may be read by the engine, authentication
 * and status; only link.c writes any field.
 */
#ifndef XS2S_LINK_H
#define XS2S_LINK_H

#include <stdbool.h>
#include <stdint.h>
#include "port.h"
#include "lib/bq.h"
#include "lib/env.h"
#include "lib/types.h"
#include "link/bufs.h"
#include "link/tls.h"
#include "resolve/resolve.h"
#include "xml/framer.h"
#include "xml/xml.h"

#define XS2S_TLS_READ_CHUNK 2048 /* plaintext looked at per TLS read */
/* Bytes of out kept free for a stream error and </stream:stream>, so that a
 * stream always ends with them, however full its output. */
#define XS2S_LINK_CLOSE_RESERVE 128
/* After a stream error and our end tag the write side is shut and the
 * peer's input is thrown away until it closes, for at most this long and
 * this many bytes, before the socket is closed (closing with input unread
 * resets the connection, which can destroy the error in flight). */
#define XS2S_LINK_DRAIN_MS 2000
#define XS2S_LINK_DRAIN_BYTES 65536

/* Link states (status "state"); only link.c's link_set_state() writes one.
 * Outbound: RESOLVE -> CONNECT -> HEADER -> FEATURES -> STARTTLS -> TLS ->
 * HEADER -> FEATURES -> AUTH -> OPEN (with SASL EXTERNAL: AUTH -> HEADER ->
 * FEATURES -> OPEN), and CLOSING from anywhere.
 * Inbound: HEADER -> FEATURES -> TLS -> HEADER -> FEATURES -> (AUTH) ->
 * OPEN (after SASL: HEADER -> OPEN), and CLOSING from anywhere.
 * Direct TLS (XEP-0368): outbound CONNECT -> TLS -> HEADER -> ..., inbound
 * TLS -> HEADER -> ...: no stream header before TLS, no STARTTLS.
 * Component (XEP-0114): HEADER -> AUTH (waiting for the handshake) -> OPEN,
 * and CLOSING from anywhere. */
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

/* What a link's stream is (status "direction" comp for a component). */
enum xs2s_link_kind {
	XS2S_KIND_S2S = 0,        /* a server-to-server stream, inbound or outbound */
	XS2S_KIND_COMPONENT,      /* an XEP-0114 component's stream (accepted, dir IN) */
};

/* How a closing link ends. */
enum xs2s_close_mode {
	XS2S_CLOSE_NONE = 0,  /* not closing */
	XS2S_CLOSE_GRACEFUL,  /* our </stream:stream> is out: wait for the peer's (or the close timeout) */
	XS2S_CLOSE_FLUSH,     /* a last element is out (stream error, end tag): close once it is sent */
	XS2S_CLOSE_NOW,       /* nothing more can be sent: close at once */
};

/* Why a link ends: each reason fixes the stream error sent (RFC 6120 4.9.3),
 * the condition queued stanzas are bounced with (RFC 6120 8.3.3) and the
 * close mode. The first reason sticks. The table is in link.c. */
enum xs2s_why {
	XS2S_WHY_NONE = 0,
	/* local and transport reasons: no stream error */
	XS2S_WHY_NO_ADDRESS,          /* the peer's domain did not resolve */
	XS2S_WHY_CONNECT_FAILED,      /* every candidate refused or failed */
	XS2S_WHY_CONNECT_TIMEOUT,     /* the connect did not complete in time */
	XS2S_WHY_NO_ROOM,             /* no room for our stream header before the stream began */
	XS2S_WHY_TLS_FAILED,          /* the TLS session could not start, or its handshake or records failed */
	XS2S_WHY_TLS_NO_MEMORY,       /* the TLS arena is exhausted */
	XS2S_WHY_TLS_REFUSED,         /* the peer answered <starttls/> with <failure/> */
	XS2S_WHY_LOST,                /* the connection broke (reset, closed mid-stream) */
	XS2S_WHY_PEER_STREAM_ERROR,   /* the peer sent a stream error: our end tag, then close */
	XS2S_WHY_PEER_CLOSED,         /* the peer sent </stream:stream>: ours, then close */
	XS2S_WHY_IDLE,                /* idle timeout: graceful close */
	XS2S_WHY_SHUTDOWN,            /* the engine stops: graceful close */
	XS2S_WHY_AUTH_FAILED,         /* authentication refused and no fallback: end tag, close */
	XS2S_WHY_CUT,                 /* the engine is finished: cut without a goodbye */
	/* the stream error each of these sends */
	XS2S_WHY_SETUP_TIMEOUT,       /* connection-timeout */
	XS2S_WHY_TLS_REQUIRED,        /* policy-violation: STARTTLS required but not possible */
	XS2S_WHY_SECURE_AUTH,         /* policy-violation: no valid certificate under secure auth */
	XS2S_WHY_NO_AUTH_METHOD,      /* unsupported-feature: no common authentication method */
	XS2S_WHY_RESOURCE,            /* resource-constraint: a buffer, pool or arena is full */
	XS2S_WHY_BAD_FORMAT,          /* bad-format */
	XS2S_WHY_BAD_NS_PREFIX,       /* bad-namespace-prefix */
	XS2S_WHY_CONFLICT,            /* conflict */
	XS2S_WHY_HOST_UNKNOWN,        /* host-unknown */
	XS2S_WHY_IMPROPER_ADDRESSING, /* improper-addressing */
	XS2S_WHY_INVALID_FROM,        /* invalid-from */
	XS2S_WHY_INVALID_NAMESPACE,   /* invalid-namespace */
	XS2S_WHY_INVALID_XML,         /* invalid-xml */
	XS2S_WHY_NOT_AUTHORIZED,      /* not-authorized */
	XS2S_WHY_NOT_WELL_FORMED,     /* not-well-formed */
	XS2S_WHY_POLICY_VIOLATION,    /* policy-violation */
	XS2S_WHY_RESTRICTED_XML,      /* restricted-xml */
	XS2S_WHY_UNDEFINED_CONDITION, /* undefined-condition */
	XS2S_WHY_UNSUPPORTED_ENCODING,/* unsupported-encoding */
	XS2S_WHY_UNSUPPORTED_FEATURE, /* unsupported-feature */
	XS2S_WHY_UNSUPPORTED_STANZA_TYPE, /* unsupported-stanza-type */
	XS2S_WHY_UNSUPPORTED_VERSION, /* unsupported-version */
	XS2S_WHY_DEAD_PEER,           /* connection-timeout: no answer to our XEP-0199 ping (engine/live.c);
				       * its stanzas bounce with remote-server-timeout */
	XS2S_WHY_SM_H_TOO_HIGH,       /* undefined-condition with XEP-0198's <handled-count-too-high/> (6): the
				       * error is written by route/sm.c (it does not fit the close reserve) */
	XS2S_WHY__COUNT
};

/* The version a peer's stream header states (RFC 6120 4.7.5). */
enum xs2s_version {
	XS2S_VERSION_UNREAD = 0, /* no header read yet (ours says 1.0) */
	XS2S_VERSION_NONE,     /* no version attribute: "0.9", answered without one */
	XS2S_VERSION_OLD,      /* below 1.0: echoed in our response */
	XS2S_VERSION_1,        /* 1.0 or higher: spoken as 1.0 */
	XS2S_VERSION_BAD,      /* not "major.minor": unsupported-version */
};

/* What xs2s_link_pump() hands up. */
enum xs2s_link_ev {
	XS2S_LINK_IDLE = 0,   /* nothing more for now (or the link is closing) */
	XS2S_LINK_HEADER,     /* inbound: the peer opened a stream and our header went out; the
			       * caller answers with xs2s_link_send_features() (version 1.0 peers) */
	XS2S_LINK_FEATURES,   /* outbound: the stream is ready for authentication; *el holds the
			       * <stream:features/> (no element for a pre-1.0 peer) */
	XS2S_LINK_ELEMENT,    /* *el: an element for the layers above (SASL, dialback, a stanza) */
};

struct xs2s_link {
	enum xs2s_link_state state;   /* read-only above */
	enum xs2s_dir dir;            /* read-only above */
	enum xs2s_link_kind kind;     /* read-only above */
	enum xs2s_close_mode close;   /* read-only above */
	enum xs2s_why why;            /* first reason the link ends, read-only above */
	uint8_t peer_se;              /* WHY_PEER_STREAM_ERROR: its condition (enum xs2s_stream_err), read-only above */
	unsigned id;                  /* shown in logs and status, never reused; read-only above */
	uint8_t slot;                 /* the engine's slot index */
	bool posted_down;             /* XS2S_EV_LINK_DOWN is out */
	bool peer_closed;             /* the peer ended its stream (end tag or close_notify) */
	bool eof;                     /* the socket reported close or error */
	bool more;                    /* input may be left after the last element handed up */
	bool starved;                 /* it could not borrow buffers to read: it waits for them */
	bool close_pending;           /* its closing elements wait for an out buffer */
	bool drain, drained;          /* closing after an error: write side shut, input thrown away; done */
	uint32_t drain_bytes;         /* thrown away so far */
	bool direct_tls;              /* XEP-0368: TLS from the first byte (no STARTTLS), read-only above */
	bool hold_in;                 /* set above: an open stream's input is neither read nor handed up
				       * (what it asks would find no room to be answered) */
	const struct xs2s_env *env;
	struct xs2s_resolver *res;
	xs2s_sock sock;
	uint32_t created_ms;          /* read-only above */
	uint32_t deadline_ms;         /* of the current state */
	uint32_t last_io_ms;
	/* the stream, read-only above */
	struct {
		bool header_sent;     /* our header for the current stream */
		bool version1;        /* the peer's header said version='1.0' or higher */
		uint8_t version;      /* enum xs2s_version: what the peer's header said */
		uint16_t ver_major, ver_minor; /* its version (0.9 when it stated none) */
		bool hdr_dialback;    /* the peer's header declared xmlns:db */
	} st;
	char stream_id[XS2S_STREAM_ID_MAX + 1];  /* ours (in) or the peer's (out) */
	char peer_domain[XS2S_DOMAIN_MAX + 1];   /* out: target; in: header 'from'; component: header 'to' */
	char local_domain[XS2S_DOMAIN_MAX + 1];  /* out: first local; in: header 'to'; component: primary */
	char addr[XS2S_ADDR_MAX];                /* peer address, read-only above */
	uint16_t port;
	struct xs2s_ns_ctx ns;                   /* namespaces from the peer's header */
	enum xs2s_cert_verdict cert;             /* the peer's certificate for peer_domain, read-only above */
	char reason[160];                        /* first failure, for logs and bounces (a peer's stream error
						  * and its text, control characters replaced) */
	uint32_t stanzas_in, stanzas_out;        /* read-only above */
	uint64_t bytes_in, bytes_out;
	/* outbound connect */
	int resolve_h;                           /* running lookup, -1 if none */
	uint8_t ncand, cand_next;                /* candidates and the next one to try */
	struct xs2s_target cand[CONFIG_XS2S_RESOLVE_TARGETS];
	struct xs2s_tls_sess tls;                /* tls.ssl NULL: no TLS (yet) */
	struct xs2s_framer fr;
	/* socket -> rx -> [TLS] -> framer; out -> [TLS] -> tx -> socket. The
	 * buffers (and the framer's) are on loan (link/bufs.h): NULL when not
	 * held; a link in use holds none, out + tx, or all four. */
	struct xs2s_bq rx, tx, out;
};

/* Outbound link from local to remote: resolves, connects, negotiates. */
void xs2s_link_open_out(struct xs2s_link *l, const struct xs2s_env *env, struct xs2s_resolver *res, uint8_t slot,
			unsigned id, const char *local, const char *remote);
/* Inbound link on an accepted socket from peer address addr. */
void xs2s_link_open_in(struct xs2s_link *l, const struct xs2s_env *env, uint8_t slot, unsigned id, xs2s_sock sock,
		       const char *addr);

#if CONFIG_XS2S_DIRECT_TLS
/* Inbound link on a socket accepted on the direct TLS listener (XEP-0368):
 * the TLS handshake starts at once (server side, ALPN xmpp-server accepted,
 * never required); the stream header comes after it. The engine calls it
 * only when it has a certificate (env->tls->ready). */
void xs2s_link_open_in_tls(struct xs2s_link *l, const struct xs2s_env *env, uint8_t slot, unsigned id,
			   xs2s_sock sock, const char *addr);
#endif

/* Inbound XEP-0114 component stream on an accepted socket (the component
 * listener): HEADER hands up the name it asks for (peer_domain); our header
 * (from = that name, a fresh id) is already out. */
#if CONFIG_XS2S_COMPONENTS
void xs2s_link_open_comp(struct xs2s_link *l, const struct xs2s_env *env, uint8_t slot, unsigned id, xs2s_sock sock,
			 const char *addr);
#endif

/* Make progress: flush, read, decrypt, frame. Returns the next thing for the
 * layers above (see enum xs2s_link_ev), with *el set for FEATURES (may be
 * empty) and ELEMENT. The caller MUST free *el with xs2s_xml_free before it
 * pumps again; got is the port's readiness (0 when not polled). */
enum xs2s_link_ev xs2s_link_pump(struct xs2s_link *l, uint8_t got, struct xs2s_el *el);

/* Append a complete element to the output: XS2S_OK, or XS2S_ENOMEM (nothing
 * written) when it does not fit (XS2S_LINK_CLOSE_RESERVE bytes stay free)
 * or the link no longer sends. */
int xs2s_link_write(struct xs2s_link *l, const char *xml, size_t len);
/* The same for a stanza (counted in stanzas_out). */
int xs2s_link_write_stanza(struct xs2s_link *l, const char *xml, size_t len);
/* The text of the element the last pump handed up, to pass it on as it
 * came: valid until the next pump. An explicit default namespace on its
 * top-level start tag equal to the stream's content namespace
 * (jabber:server, jabber:component:accept) is removed (in place), so that
 * the stanza takes the content namespace of the stream it is written to. */
const char *xs2s_link_element_text(struct xs2s_link *l, size_t *len);
/* Send what is waiting now (no reading): room in out for what comes next. */
void xs2s_link_flush(struct xs2s_link *l);
/* "in", "out" or "comp" (logs, status). */
const char *xs2s_link_dir_name(const struct xs2s_link *l);
/* Count a stanza received on the link (the engine accepted it). */
void xs2s_link_stanza_in(struct xs2s_link *l);
/* Room for len more bytes of output (in the out buffer it holds, or one it
 * could borrow now). */
bool xs2s_link_can_write(const struct xs2s_link *l, size_t len);
/* Bytes of RAM the link holds: its slot's state, the buffers it has on loan
 * and its TLS session's arena bytes (tls_bytes, the caller's to read). */
size_t xs2s_link_ram(const struct xs2s_link *l, size_t tls_bytes);
/* Inbound: answer the peer's header with <stream:features/>: STARTTLS when
 * TLS is not up yet, then auth_xml (the authentication offers) when TLS is
 * up or not required. */
void xs2s_link_send_features(struct xs2s_link *l, const char *auth_xml);
/* A new stream on the same connection (after SASL success): the framer
 * expects a new header; outbound sends a fresh one. */
void xs2s_link_restart(struct xs2s_link *l);
/* Authentication started (FEATURES -> AUTH) / a pair is valid (-> OPEN). */
void xs2s_link_authenticating(struct xs2s_link *l);
void xs2s_link_authenticated(struct xs2s_link *l);
/* TLS may be skipped only under the optional policy, and never silently;
 * a component's stream (XEP-0114) has no TLS at all. */
bool xs2s_link_plain_allowed(const struct xs2s_link *l);
static inline bool xs2s_link_tls_up(const struct xs2s_link *l) { return l->tls.ssl != NULL; }
/* Carrying traffic: not free and not closing. */
static inline bool xs2s_link_live(const struct xs2s_link *l)
{
	return l->state != XS2S_LS_FREE && l->state != XS2S_LS_CLOSING;
}

/* End the link for why (see enum xs2s_why); fmt says what happened. The
 * first reason sticks; a link already closing is not written to again. */
void xs2s_link_abort(struct xs2s_link *l, enum xs2s_why why, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The stanza condition queued stanzas of this link are bounced with. */
enum xs2s_stanza_err xs2s_link_bounce_cond(const struct xs2s_link *l);

/* Deadlines: call with the current time every round. */
void xs2s_link_timer(struct xs2s_link *l, uint32_t now);
/* Poll set wishes, and whether the link can progress without the socket. */
uint8_t xs2s_link_poll_want(const struct xs2s_link *l);
bool xs2s_link_has_work(const struct xs2s_link *l);
/* Closed and flushed: the engine may release the slot. */
bool xs2s_link_done(const struct xs2s_link *l);
/* Release the TLS session and the socket and log the link's summary.
 * tls_peak: the link's TLS arena high-water mark. */
void xs2s_link_release(struct xs2s_link *l, size_t tls_peak);

#endif
