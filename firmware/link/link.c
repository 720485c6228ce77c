/* The link state machine: one s2s connection, inbound or outbound.
 *
 * Transitions. link_set_state() is the only writer of l->state: it logs
 * the change and sets the state's deadline.
 *
 *   state     what happens                                   next state       dir
 *   RESOLVE   candidates known, connect started              CONNECT          out
 *   CONNECT   connected: our header is sent                  HEADER           out
 *   CONNECT   connected, direct TLS candidate (XEP-0368): the
 *             TLS handshake starts, no header before it      TLS              out
 *   CONNECT   failed: the next candidate, none left: abort   CONNECT          out
 *   TLS       direct TLS candidate failed (handshake, closed,
 *             connect timeout): the next candidate           CONNECT          out
 *   (accept)  direct TLS listener: the handshake starts      TLS              in
 *   HEADER    the peer's header (out: it must carry an id)   FEATURES         both
 *             in: our header goes out, HEADER is handed up (the engine sends features)
 *             out, pre-1.0 peer: FEATURES is handed up without an element
 *   FEATURES  out: <starttls/> offered and we have a certificate: <starttls/>  STARTTLS
 *             out: TLS up, or plaintext allowed: FEATURES is handed up (auth decides)
 *             in: <starttls/>: <proceed/>                    TLS
 *   STARTTLS  <proceed/>                                     TLS              out
 *   TLS       handshake done: the stream restarts            HEADER           both
 *   FEATURES  the engine starts authentication               AUTH
 *   any       the engine reports a valid pair                OPEN
 *   any       xs2s_link_abort(why): stream error / end tag   CLOSING
 *   OPEN      idle deadline: graceful close                  CLOSING
 *   setup     setup deadline: connection-timeout             CLOSING
 *   CLOSING   flushed, and for a graceful close the peer's end tag; or the close deadline: done
 *
 * A component's stream (XEP-0114, kind COMPONENT, accepted on the component
 * listener): HEADER: its header (default namespace jabber:component:accept,
 * 'to' = the name it asks for); our header goes out (from = that name, a
 * fresh id; no version, no features), HEADER is handed up (the engine
 * checks the name) -> AUTH; the <handshake/> goes up as an element and the
 * engine reports the stream valid -> OPEN. No STARTTLS; an open component
 * stream never idles out (the component ends it).
 *
 * The pump order is: flush what is pending, read, decrypt and frame, hand one
 * element up; flush again when nothing is left. After <proceed/> (either
 * side) the rest of the plaintext input is discarded and every byte goes
 * through TLS (no STARTTLS injection).
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "xs2s_config.h"
#include "xs2s_log.h"
#include "lib/evq.h"
#include "lib/crypto.h"
#include "xs2s_wbuf.h"
#include "link/link.h"

#define LINK_END_TAG "</stream:stream>"
#define LINK_END_TAG_LEN (sizeof LINK_END_TAG - 1)
#define LINK_FLUSH_ROUNDS 4
/* A component's stream (XEP-0114); never in a build without them. */
#if CONFIG_XS2S_COMPONENTS
#define LINK_COMP(l) ((l)->kind == XS2S_KIND_COMPONENT)
#else
#define LINK_COMP(l) ((void)(l), 0)
#endif
/* The longest closing elements fit in the reserve every link keeps. */
_Static_assert(sizeof "<stream:error><unsupported-stanza-type xmlns='" XS2S_NS_STREAM_ERR
	       "'/></stream:error>" LINK_END_TAG <= XS2S_LINK_CLOSE_RESERVE, "XS2S_LINK_CLOSE_RESERVE");

static const char *const link_state_names[XS2S_LS__COUNT] = {
	[XS2S_LS_FREE] = "free",         [XS2S_LS_RESOLVE] = "resolve", [XS2S_LS_CONNECT] = "connect",
	[XS2S_LS_HEADER] = "header",     [XS2S_LS_FEATURES] = "features", [XS2S_LS_STARTTLS] = "starttls",
	[XS2S_LS_TLS] = "tls",           [XS2S_LS_AUTH] = "auth",       [XS2S_LS_OPEN] = "open",
	[XS2S_LS_CLOSING] = "closing",
};

const char *xs2s_link_state_name(enum xs2s_link_state s)
{
	return (unsigned)s < XS2S_LS__COUNT ? link_state_names[s] : "?";
}

/* What each reason to end a link means: the stream error it sends, the
 * condition queued stanzas are bounced with, how the link closes, and
 * whether our </stream:stream> follows. */
static const struct link_why {
	uint8_t se;       /* enum xs2s_stream_err, NONE: no stream error */
	uint8_t bounce;   /* enum xs2s_stanza_err */
	uint8_t mode;     /* enum xs2s_close_mode */
	bool end_tag;     /* </stream:stream> (always after a stream error) */
} link_whys[XS2S_WHY__COUNT] = {
#define RSNF XS2S_STE_REMOTE_SERVER_NOT_FOUND
#define PEER_FAULT(se) { (se), RSNF, XS2S_CLOSE_FLUSH, true }
	[XS2S_WHY_NONE] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_NO_ADDRESS] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_CONNECT_FAILED] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_CONNECT_TIMEOUT] = { XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_TIMEOUT, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_NO_ROOM] = { XS2S_SE_NONE, XS2S_STE_RESOURCE_CONSTRAINT, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_TLS_FAILED] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_TLS_NO_MEMORY] = { XS2S_SE_NONE, XS2S_STE_RESOURCE_CONSTRAINT, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_TLS_REFUSED] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_LOST] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_PEER_STREAM_ERROR] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_FLUSH, true },
	[XS2S_WHY_PEER_CLOSED] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_GRACEFUL, true },
	[XS2S_WHY_IDLE] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_GRACEFUL, true },
	[XS2S_WHY_SHUTDOWN] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_GRACEFUL, true },
	[XS2S_WHY_AUTH_FAILED] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_FLUSH, true },
	[XS2S_WHY_CUT] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_NOW, false },
	[XS2S_WHY_SETUP_TIMEOUT] = { XS2S_SE_CONNECTION_TIMEOUT, XS2S_STE_REMOTE_SERVER_TIMEOUT, XS2S_CLOSE_FLUSH, true },
	[XS2S_WHY_TLS_REQUIRED] = PEER_FAULT(XS2S_SE_POLICY_VIOLATION),
	[XS2S_WHY_SECURE_AUTH] = PEER_FAULT(XS2S_SE_POLICY_VIOLATION),
	[XS2S_WHY_NO_AUTH_METHOD] = PEER_FAULT(XS2S_SE_UNSUPPORTED_FEATURE),
	[XS2S_WHY_RESOURCE] = { XS2S_SE_RESOURCE_CONSTRAINT, XS2S_STE_RESOURCE_CONSTRAINT, XS2S_CLOSE_FLUSH, true },
	[XS2S_WHY_BAD_FORMAT] = PEER_FAULT(XS2S_SE_BAD_FORMAT),
	[XS2S_WHY_BAD_NS_PREFIX] = PEER_FAULT(XS2S_SE_BAD_NAMESPACE_PREFIX),
	[XS2S_WHY_CONFLICT] = PEER_FAULT(XS2S_SE_CONFLICT),
	[XS2S_WHY_HOST_UNKNOWN] = PEER_FAULT(XS2S_SE_HOST_UNKNOWN),
	[XS2S_WHY_IMPROPER_ADDRESSING] = PEER_FAULT(XS2S_SE_IMPROPER_ADDRESSING),
	[XS2S_WHY_INVALID_FROM] = PEER_FAULT(XS2S_SE_INVALID_FROM),
	[XS2S_WHY_INVALID_NAMESPACE] = PEER_FAULT(XS2S_SE_INVALID_NAMESPACE),
	[XS2S_WHY_INVALID_XML] = PEER_FAULT(XS2S_SE_INVALID_XML),
	[XS2S_WHY_NOT_AUTHORIZED] = PEER_FAULT(XS2S_SE_NOT_AUTHORIZED),
	[XS2S_WHY_NOT_WELL_FORMED] = PEER_FAULT(XS2S_SE_NOT_WELL_FORMED),
	[XS2S_WHY_POLICY_VIOLATION] = PEER_FAULT(XS2S_SE_POLICY_VIOLATION),
	[XS2S_WHY_RESTRICTED_XML] = PEER_FAULT(XS2S_SE_RESTRICTED_XML),
	[XS2S_WHY_UNDEFINED_CONDITION] = PEER_FAULT(XS2S_SE_UNDEFINED_CONDITION),
	[XS2S_WHY_UNSUPPORTED_ENCODING] = PEER_FAULT(XS2S_SE_UNSUPPORTED_ENCODING),
	[XS2S_WHY_UNSUPPORTED_FEATURE] = PEER_FAULT(XS2S_SE_UNSUPPORTED_FEATURE),
	[XS2S_WHY_UNSUPPORTED_STANZA_TYPE] = PEER_FAULT(XS2S_SE_UNSUPPORTED_STANZA_TYPE),
	[XS2S_WHY_UNSUPPORTED_VERSION] = PEER_FAULT(XS2S_SE_UNSUPPORTED_VERSION),
	[XS2S_WHY_DEAD_PEER] = { XS2S_SE_CONNECTION_TIMEOUT, XS2S_STE_REMOTE_SERVER_TIMEOUT, XS2S_CLOSE_FLUSH, true },
	/* the stream error is already out (route/sm.c): the end tag follows */
	[XS2S_WHY_SM_H_TOO_HIGH] = { XS2S_SE_NONE, RSNF, XS2S_CLOSE_FLUSH, true },
#undef PEER_FAULT
#undef RSNF
};

/* The reason that sends stream error se (what the framer and the header
 * parser report). */
static enum xs2s_why link_why_of_se(enum xs2s_stream_err se)
{
	unsigned w;

	for (w = XS2S_WHY_SETUP_TIMEOUT; w < XS2S_WHY__COUNT; w++)
		if (link_whys[w].se == se && w != XS2S_WHY_TLS_REQUIRED && w != XS2S_WHY_SECURE_AUTH &&
		    w != XS2S_WHY_NO_AUTH_METHOD)
			return (enum xs2s_why)w;
	return XS2S_WHY_UNDEFINED_CONDITION;
}

const char *xs2s_link_dir_name(const struct xs2s_link *l)
{
	if (LINK_COMP(l))
		return "comp";
	return l->dir == XS2S_DIR_IN ? "in" : "out";
}

/* The namespace of the stream's stanzas (RFC 6120 4.8.3, XEP-0114). */
static const char *link_content_ns(const struct xs2s_link *l)
{
	return LINK_COMP(l) ? XS2S_NS_COMPONENT : XS2S_NS_SERVER;
}

static void link_set_state(struct xs2s_link *l, enum xs2s_link_state s)
{
	uint32_t now = xs2s_port_now_ms();
	/* XEP-0205: an inbound stream has CONFIG_XS2S_PREAUTH_TIMEOUT_S to authenticate. */
	uint32_t setup_s = l->dir == XS2S_DIR_IN && !LINK_COMP(l) && CONFIG_XS2S_PREAUTH_TIMEOUT_S < CONFIG_XS2S_SETUP_TIMEOUT_S
				   ? CONFIG_XS2S_PREAUTH_TIMEOUT_S
				   : CONFIG_XS2S_SETUP_TIMEOUT_S;
	uint32_t setup_end = l->created_ms + setup_s * XS2S_MS_PER_S;

	if (l->state != s)
		XS2S_LOGD(l->id, "state %s -> %s", xs2s_link_state_name(l->state), xs2s_link_state_name(s));
	l->state = s;
	switch (s) {
	case XS2S_LS_CONNECT: {
		uint32_t c = now + CONFIG_XS2S_CONNECT_TIMEOUT_S * XS2S_MS_PER_S;
		l->deadline_ms = XS2S_TIME_REACHED(c, setup_end) ? setup_end : c;
		break;
	}
	case XS2S_LS_TLS:
		if (l->direct_tls && l->dir == XS2S_DIR_OUT && l->cand_next < l->ncand) {
			/* A direct TLS candidate that hangs in its handshake gives way
			 * to the next one as a connect that hangs would. */
			uint32_t c = now + CONFIG_XS2S_CONNECT_TIMEOUT_S * XS2S_MS_PER_S;
			l->deadline_ms = XS2S_TIME_REACHED(c, setup_end) ? setup_end : c;
		} else {
			l->deadline_ms = setup_end;
		}
		break;
	case XS2S_LS_OPEN:
		l->deadline_ms = now + CONFIG_XS2S_IDLE_TIMEOUT_S * XS2S_MS_PER_S;
		break;
	case XS2S_LS_CLOSING:
		l->deadline_ms = now + CONFIG_XS2S_CLOSE_TIMEOUT_S * XS2S_MS_PER_S;
		if (!l->posted_down) {
			/* The layers above stop using this link now. */
			l->posted_down = true;
			xs2s_evq_post(l->env->evq, XS2S_EV_LINK_DOWN, l->slot, l->id, xs2s_link_bounce_cond(l), 0);
		}
		break;
	default:
		l->deadline_ms = setup_end;
		break;
	}
}

enum xs2s_stanza_err xs2s_link_bounce_cond(const struct xs2s_link *l)
{
	return (enum xs2s_stanza_err)link_whys[l->why].bounce;
}

bool xs2s_link_plain_allowed(const struct xs2s_link *l)
{
	return xs2s_link_tls_up(l) || l->env->tls_policy == XS2S_TLS_POLICY_OPTIONAL_INSECURE ||
	       LINK_COMP(l);
}

bool xs2s_link_can_write(const struct xs2s_link *l, size_t len)
{
	if (!xs2s_link_live(l))
		return false;
	if (l->out.buf)
		return len + XS2S_LINK_CLOSE_RESERVE <= xs2s_bq_room(&l->out);
	if (len + XS2S_LINK_CLOSE_RESERVE > CONFIG_XS2S_OUT_BUF)
		return false;
	if (xs2s_link_could_borrow(l, false))
		return true;
	l->env->bufs->wanted = true; /* the stanza waits (route queue) until a buffer is back */
	return false;
}

size_t xs2s_link_ram(const struct xs2s_link *l, size_t tls_bytes)
{
	return sizeof *l + xs2s_link_bufs_held(l) + tls_bytes;
}

/* Append without the liveness check and into the reserve: the closing
 * elements of a stream. */
static int link_put(struct xs2s_link *l, const char *xml, size_t len)
{
	if (!xs2s_link_borrow_out(l) || xs2s_bq_put(&l->out, xml, len) != XS2S_OK)
		return XS2S_ENOMEM;
#if CONFIG_XS2S_TRAFFIC_LOG
	XS2S_LOGD(l->id, ">> %.*s", (int)len, xml);
#endif
	return XS2S_OK;
}

int xs2s_link_write(struct xs2s_link *l, const char *xml, size_t len)
{
	if (!xs2s_link_can_write(l, len))
		return XS2S_ENOMEM;
	return link_put(l, xml, len);
}

int xs2s_link_write_stanza(struct xs2s_link *l, const char *xml, size_t len)
{
	int rc = xs2s_link_write(l, xml, len);

	if (rc == XS2S_OK)
		l->stanzas_out++;
	return rc;
}

void xs2s_link_stanza_in(struct xs2s_link *l)
{
	l->stanzas_in++;
}

/* The attribute at p (name, '=', quoted value): *end just after its closing
 * quote, and whether it declares the stream's content namespace as the
 * default one. False with *end NULL when p holds no attribute. */
static bool link_attr_is_content_ns(const struct xs2s_link *l, const char *p, const char **end)
{
	static const char blanks[] = " \t\r\n";
	const char *ns = link_content_ns(l), *v;
	size_t nlen = strcspn(p, " \t\r\n=/>");
	char q;

	*end = NULL;
	v = p + nlen + strspn(p + nlen, blanks);
	if (!nlen || *v != '=')
		return false;
	v += 1 + strspn(v + 1, blanks);
	q = *v++;
	if (q != '\'' && q != '"')
		return false;
	*end = strchr(v, q);
	if (!*end)
		return false;
	(*end)++;
	return nlen == 5 && !strncmp(p, "xmlns", 5) && (size_t)(*end - 1 - v) == strlen(ns) &&
	       !strncmp(v, ns, strlen(ns));
}

const char *xs2s_link_element_text(struct xs2s_link *l, size_t *len)
{
	char *p = l->fr.buf + 1 + strcspn(l->fr.buf + 1, " \t\r\n/>");

	/* The framer and the parser accepted this element: its start tag is
	 * well-formed, so its attributes can be walked by their quotes. */
	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') {
		const char *end;
		bool hit = link_attr_is_content_ns(l, p + strspn(p, " \t\r\n"), &end);

		if (!end)
			break; /* '/' or '>': the start tag is over */
		if (hit) {
			memmove(p, end, l->fr.len - (size_t)(end - l->fr.buf) + 1); /* with the NUL */
			l->fr.len -= (size_t)(end - p);
			break;
		}
		p = l->fr.buf + (end - l->fr.buf);
	}
	*len = l->fr.len;
	return l->fr.buf;
}

static int link_send_header(struct xs2s_link *l)
{
	char buf[XS2S_DOMAIN_MAX * 2 + 400];
	struct xs2s_wbuf w;

	xs2s_w_init(&w, buf, sizeof buf);
#if CONFIG_XS2S_COMPONENTS
	if (LINK_COMP(l)) {
		/* XEP-0114 3: from = the name the component asked for, a fresh
		 * unpredictable id (the handshake hashes it); no version: no
		 * features follow. */
		xs2s_w_raw(&w, "<?xml version='1.0'?><stream:stream xmlns='" XS2S_NS_COMPONENT
			       "' xmlns:stream='" XS2S_NS_STREAMS "'");
		if (l->peer_domain[0]) {
			xs2s_w_raw(&w, " from='");
			xs2s_w_esc(&w, l->peer_domain);
			xs2s_w_raw(&w, "'");
		}
		xs2s_random_hex(l->stream_id, 32);
		xs2s_w_fmt(&w, " id='%s'>", l->stream_id);
		if (w.overflow || link_put(l, buf, w.len) != XS2S_OK)
			return XS2S_ENOMEM;
		l->st.header_sent = true;
		return XS2S_OK;
	}
#endif
	xs2s_w_raw(&w, "<?xml version='1.0'?><stream:stream xmlns='" XS2S_NS_SERVER
		       "' xmlns:stream='" XS2S_NS_STREAMS "' xmlns:db='" XS2S_NS_DIALBACK "'");
	if (l->local_domain[0]) {
		xs2s_w_raw(&w, " from='");
		xs2s_w_esc(&w, l->local_domain);
		xs2s_w_raw(&w, "'");
	}
	if (l->peer_domain[0]) {
		xs2s_w_raw(&w, " to='");
		xs2s_w_esc(&w, l->peer_domain);
		xs2s_w_raw(&w, "'");
	}
	if (l->dir == XS2S_DIR_IN) {
		/* A fresh, unpredictable id for every stream (RFC 6120 4.7.3). */
		xs2s_random_hex(l->stream_id, 32);
		xs2s_w_fmt(&w, " id='%s'", l->stream_id);
	}
	/* RFC 6120 4.7.5: ours is 1.0; a response states the lower of the
	 * peer's and ours, and none to a peer that stated none. */
	if (l->dir == XS2S_DIR_IN && l->st.version == XS2S_VERSION_OLD)
		xs2s_w_fmt(&w, " version='%u.%u'", l->st.ver_major, l->st.ver_minor);
	else if (l->dir == XS2S_DIR_OUT || l->st.version != XS2S_VERSION_NONE)
		xs2s_w_raw(&w, " version='1.0'");
	xs2s_w_raw(&w, ">");
	if (w.overflow || link_put(l, buf, w.len) != XS2S_OK)
		return XS2S_ENOMEM;
	l->st.header_sent = true;
	return XS2S_OK;
}

/* The elements that end the stream for l->why: its stream error (after our
 * header if none went out yet) and end tag, or the end tag alone. They wait
 * (close_pending) when no out buffer can be borrowed now. */
static void link_put_closing(struct xs2s_link *l)
{
	const struct link_why *w = &link_whys[l->why];

	if (!xs2s_link_borrow_out(l)) {
		l->close_pending = true;
		return;
	}
	l->close_pending = false;
	if (w->se != XS2S_SE_NONE) {
		char buf[XS2S_LINK_CLOSE_RESERVE];
		int n = snprintf(buf, sizeof buf, "<stream:error><%s xmlns='" XS2S_NS_STREAM_ERR "'/></stream:error>"
				 LINK_END_TAG, xs2s_stream_err_name(w->se));

		if (!l->st.header_sent)
			link_send_header(l);
		link_put(l, buf, (size_t)n);
	} else if (w->end_tag && l->st.header_sent) {
		link_put(l, LINK_END_TAG, LINK_END_TAG_LEN);
	}
}

void xs2s_link_abort(struct xs2s_link *l, enum xs2s_why why, const char *fmt, ...)
{
	const struct link_why *w = &link_whys[why];
	char text[sizeof l->reason];
	bool can_write;
	va_list ap;

	if (l->state == XS2S_LS_FREE)
		return;
	va_start(ap, fmt);
	vsnprintf(text, sizeof text, fmt, ap);
	va_end(ap);
	if (!l->reason[0] && w->mode != XS2S_CLOSE_GRACEFUL)
		snprintf(l->reason, sizeof l->reason, "%s", text);
	if (l->close != XS2S_CLOSE_NONE) {
		/* Already ending: the first reason stays; nothing more is written. */
		if (w->mode == XS2S_CLOSE_NOW)
			l->close = XS2S_CLOSE_NOW;
		XS2S_LOGD(l->id, "while closing: %s", text);
		return;
	}
	l->why = why;
	if (w->se != XS2S_SE_NONE)
		XS2S_LOGW(l->id, "%s %s %s: %s; stream error: %s", xs2s_link_dir_name(l), l->local_domain,
			  l->peer_domain[0] ? l->peer_domain : "?", text, xs2s_stream_err_name(w->se));
	else if (w->mode == XS2S_CLOSE_GRACEFUL)
		XS2S_LOGI(l->id, "closing: %s", text);
	else
		XS2S_LOGW(l->id, "%s %s %s: %s", xs2s_link_dir_name(l), l->local_domain,
			  l->peer_domain[0] ? l->peer_domain : "?", text);
	/* Nothing can be written before the stream begins or mid-handshake. */
	can_write = l->sock != XS2S_SOCK_NONE && l->state >= XS2S_LS_HEADER && l->state != XS2S_LS_TLS;
	if (can_write && (w->se != XS2S_SE_NONE || (w->end_tag && l->st.header_sent)))
		link_put_closing(l);
	l->close = can_write ? (enum xs2s_close_mode)w->mode : XS2S_CLOSE_NOW;
	link_set_state(l, XS2S_LS_CLOSING);
}

void xs2s_link_authenticating(struct xs2s_link *l)
{
	if (l->state == XS2S_LS_FEATURES)
		link_set_state(l, XS2S_LS_AUTH);
}

void xs2s_link_authenticated(struct xs2s_link *l)
{
	if (xs2s_link_live(l) && l->state != XS2S_LS_OPEN)
		link_set_state(l, XS2S_LS_OPEN);
}

/* ---- opening ---- */

static void link_init(struct xs2s_link *l, const struct xs2s_env *env, uint8_t slot, unsigned id,
		      enum xs2s_dir dir)
{
	/* No buffer yet: they are borrowed when the link reads or writes. */
	memset(l, 0, sizeof *l);
	l->env = env;
	l->slot = slot;
	l->id = id;
	l->dir = dir;
	l->sock = XS2S_SOCK_NONE;
	l->resolve_h = -1;
	l->created_ms = l->last_io_ms = xs2s_port_now_ms();
	xs2s_bq_init(&l->rx, NULL, 0);
	xs2s_bq_init(&l->tx, NULL, 0);
	xs2s_bq_init(&l->out, NULL, 0);
	xs2s_framer_init(&l->fr, NULL, CONFIG_XS2S_MAX_STANZA);
}

/* Connect to the next candidate; false when none is left. */
static bool link_try_next(struct xs2s_link *l)
{
	if (l->sock != XS2S_SOCK_NONE) {
		xs2s_port_close(l->sock);
		l->sock = XS2S_SOCK_NONE;
	}
	while (l->cand_next < l->ncand) {
		const struct xs2s_target *c = &l->cand[l->cand_next++];

		memcpy(l->addr, c->addr, sizeof l->addr);
		l->port = c->port;
		l->direct_tls = c->direct_tls;
		if (xs2s_port_connect(l->addr, l->port, &l->sock) == XS2S_OK) {
			XS2S_LOGI(l->id, "out %s -> %s: connecting to %s:%u (%s)", l->local_domain, l->peer_domain,
				  l->addr, l->port, l->direct_tls ? "direct TLS, XEP-0368" : "STARTTLS");
			link_set_state(l, XS2S_LS_CONNECT);
			return true;
		}
		l->sock = XS2S_SOCK_NONE;
	}
	return false;
}

static void link_resolve(struct xs2s_link *l)
{
	unsigned n = CONFIG_XS2S_RESOLVE_TARGETS;
	int rc;

	if (l->resolve_h < 0) {
		l->resolve_h = xs2s_resolve_start(l->res, l->peer_domain);
		if (l->resolve_h == XS2S_ENOMEM) {
			l->resolve_h = -1;
			return; /* every lookup slot busy: try next round */
		}
	}
	rc = l->resolve_h < 0 ? l->resolve_h : xs2s_resolve_result(l->res, l->resolve_h, l->cand, &n);
	if (rc == XS2S_EAGAIN)
		return;
	l->resolve_h = -1;
	if (rc != XS2S_OK) {
		/* RFC 6120 8.3.3.16: the name could not be resolved (timeout or not). */
		xs2s_link_abort(l, XS2S_WHY_NO_ADDRESS, "no address for %s: %s", l->peer_domain, xs2s_err_name(rc));
		return;
	}
	l->ncand = (uint8_t)n;
	l->cand_next = 0;
	if (!link_try_next(l))
		xs2s_link_abort(l, XS2S_WHY_CONNECT_FAILED, "cannot connect to %s", l->peer_domain);
}

void xs2s_link_open_out(struct xs2s_link *l, const struct xs2s_env *env, struct xs2s_resolver *res, uint8_t slot,
			unsigned id, const char *local, const char *remote)
{
	link_init(l, env, slot, id, XS2S_DIR_OUT);
	l->res = res;
	snprintf(l->local_domain, sizeof l->local_domain, "%s", local);
	snprintf(l->peer_domain, sizeof l->peer_domain, "%s", remote);
	link_set_state(l, XS2S_LS_RESOLVE);
	link_resolve(l);
}

void xs2s_link_open_in(struct xs2s_link *l, const struct xs2s_env *env, uint8_t slot, unsigned id, xs2s_sock sock,
		       const char *addr)
{
	link_init(l, env, slot, id, XS2S_DIR_IN);
	l->sock = sock;
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	XS2S_LOGI(l->id, "in: connection from %s", l->addr);
	link_set_state(l, XS2S_LS_HEADER);
}

static void link_begin_tls(struct xs2s_link *l);

#if CONFIG_XS2S_DIRECT_TLS
void xs2s_link_open_in_tls(struct xs2s_link *l, const struct xs2s_env *env, uint8_t slot, unsigned id,
			   xs2s_sock sock, const char *addr)
{
	link_init(l, env, slot, id, XS2S_DIR_IN);
	l->sock = sock;
	l->direct_tls = true;
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	XS2S_LOGI(l->id, "in: connection from %s on the direct TLS listener (XEP-0368)", l->addr);
	link_begin_tls(l); /* TLS (or CLOSING when it cannot start) */
}

/* Outbound: the direct TLS candidate failed before its stream began
 * (XEP-0368: the next candidate is tried, as after a failed connect).
 * True when another candidate is being connected to. */
static bool link_direct_next(struct xs2s_link *l, const char *what)
{
	if (!l->direct_tls || l->dir != XS2S_DIR_OUT || l->state != XS2S_LS_TLS || l->cand_next >= l->ncand)
		return false;
	XS2S_LOGI(l->id, "direct TLS to %s:%u failed (%s): trying the next candidate", l->addr, l->port, what);
	xs2s_tls_end(&l->tls, false);
	xs2s_bq_clear(&l->rx);
	xs2s_bq_clear(&l->tx);
	xs2s_bq_clear(&l->out);
	l->eof = false;
	l->peer_closed = false;
	l->cert = XS2S_CERT_NONE;
	if (link_try_next(l))
		return true;
	xs2s_link_abort(l, XS2S_WHY_CONNECT_FAILED, "cannot connect to %s", l->peer_domain);
	return true;
}
#else
static bool link_direct_next(struct xs2s_link *l, const char *what)
{
	(void)l;
	(void)what;
	return false;
}
#endif

#if CONFIG_XS2S_COMPONENTS
void xs2s_link_open_comp(struct xs2s_link *l, const struct xs2s_env *env, uint8_t slot, unsigned id, xs2s_sock sock,
			 const char *addr)
{
	link_init(l, env, slot, id, XS2S_DIR_IN);
	l->kind = XS2S_KIND_COMPONENT;
	l->sock = sock;
	snprintf(l->addr, sizeof l->addr, "%s", addr);
	XS2S_LOGI(l->id, "comp: component connection from %s", l->addr);
	link_set_state(l, XS2S_LS_HEADER);
}
#endif

/* Outbound, CONNECT and the socket is ready: true once our header is out. */
static bool link_connected(struct xs2s_link *l)
{
	int rc = xs2s_port_connect_done(l->sock);

	if (rc == XS2S_EAGAIN)
		return false;
	if (rc != XS2S_OK) {
		XS2S_LOGI(l->id, "connect to %s:%u failed", l->addr, l->port);
		if (!link_try_next(l))
			xs2s_link_abort(l, XS2S_WHY_CONNECT_FAILED, "connect to %s:%u failed", l->addr, l->port);
		return false;
	}
	if (!xs2s_link_borrow_out(l)) {
		l->starved = true; /* connected: the header waits for an out buffer, not for POLL_OUT */
		return false;
	}
	l->starved = false;
	if (l->direct_tls) {
		/* XEP-0368 3 rules 2, 5: TLS from the first byte, no STARTTLS;
		 * the stream header follows the handshake. */
		link_begin_tls(l);
		return l->state == XS2S_LS_TLS;
	}
	if (link_send_header(l) != XS2S_OK) {
		xs2s_link_abort(l, XS2S_WHY_NO_ROOM, "no room for header");
		return false;
	}
	link_set_state(l, XS2S_LS_HEADER);
	return true;
}

/* ---- stream negotiation ---- */

void xs2s_link_send_features(struct xs2s_link *l, const char *auth_xml)
{
	char buf[600];
	struct xs2s_wbuf w;
	bool required = l->env->tls_policy == XS2S_TLS_POLICY_REQUIRED;

	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_raw(&w, "<stream:features>");
	if (!xs2s_link_tls_up(l) && l->env->tls->ready)
		xs2s_w_fmt(&w, "<starttls xmlns='" XS2S_NS_TLS "'>%s</starttls>", required ? "<required/>" : "");
	if (xs2s_link_tls_up(l) || !required)
		xs2s_w_raw(&w, auth_xml);
	xs2s_w_raw(&w, "</stream:features>");
	if (w.overflow || xs2s_link_write(l, buf, w.len) != XS2S_OK)
		xs2s_link_abort(l, XS2S_WHY_RESOURCE, "no room for features");
}

/* A new stream on the same connection: the framer expects a header; the
 * initiator sends a fresh one (RFC 6120 4.3.3, 5.4.3.3, 6.4.6). */
void xs2s_link_restart(struct xs2s_link *l)
{
	xs2s_framer_reset(&l->fr);
	l->st.header_sent = false;
	l->stream_id[0] = '\0';
	if (l->dir == XS2S_DIR_OUT && link_send_header(l) != XS2S_OK) {
		xs2s_link_abort(l, XS2S_WHY_RESOURCE, "no room for header");
		return;
	}
	link_set_state(l, XS2S_LS_HEADER);
}

#if CONFIG_XS2S_COMPONENTS
/* A component's header (XEP-0114 3): 'to' is the name it wants to serve;
 * whether it is configured is the engine's to judge (host-unknown). */
static enum xs2s_link_ev link_on_comp_header(struct xs2s_link *l, const struct xs2s_stream_hdr *h)
{
	snprintf(l->local_domain, sizeof l->local_domain, "%s", l->env->domains[0]);
	snprintf(l->peer_domain, sizeof l->peer_domain, "%s", h->to);
	if (link_send_header(l) != XS2S_OK) {
		xs2s_link_abort(l, XS2S_WHY_RESOURCE, "no room for header");
		return XS2S_LINK_IDLE;
	}
	if (!h->to[0]) {
		xs2s_link_abort(l, XS2S_WHY_IMPROPER_ADDRESSING, "component stream header without 'to' (its name)");
		return XS2S_LINK_IDLE;
	}
	link_set_state(l, XS2S_LS_AUTH); /* the handshake comes next */
	return XS2S_LINK_HEADER;
}
#endif

/* RFC 6120 4.7.5: the version the peer's header states. No attribute is
 * "0.9"; otherwise "major.minor" in decimal, compared as numbers: 1.0 and
 * above are spoken as 1.0, a lower one is echoed in our response (rule 2). */
static void link_version_parse(struct xs2s_link *l, const char *v)
{
	unsigned major = 0, minor = 0, digits = 0;
	const char *p = v;

	l->st.ver_major = 0;
	l->st.ver_minor = 9;
	if (!v[0]) {
		l->st.version = XS2S_VERSION_NONE;
	} else {
		for (; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
			major = major * 10 + (unsigned)(*p - '0');
		if (digits && *p == '.' && p[1]) {
			for (p++, digits = 0; *p >= '0' && *p <= '9' && digits < 4; p++, digits++)
				minor = minor * 10 + (unsigned)(*p - '0');
		} else {
			digits = 0;
		}
		if (!digits || *p) {
			l->st.version = XS2S_VERSION_BAD;
		} else {
			l->st.version = major >= 1 ? XS2S_VERSION_1 : XS2S_VERSION_OLD;
			l->st.ver_major = (uint16_t)major;
			l->st.ver_minor = (uint16_t)minor;
		}
	}
	l->st.version1 = l->st.version == XS2S_VERSION_1;
}

/* Whether xs2s speaks a pre-1.0 stream with this peer: no features, so
 * dialback in plaintext only (RFC 6120 4.7.5; XEP-0220 2.1). */
static bool link_speaks_pre_1_0(const struct xs2s_link *l)
{
	return xs2s_link_plain_allowed(l) && l->env->dialback;
}

static const char *link_pre_1_0_refusal(const struct xs2s_link *l)
{
	return !xs2s_link_plain_allowed(l) ? "TLS is required (no STARTTLS before 1.0)"
					    : "dialback is off (SASL needs stream features)";
}

static enum xs2s_link_ev link_on_header(struct xs2s_link *l)
{
	struct xs2s_stream_hdr h;
	enum xs2s_stream_err se = XS2S_SE_NOT_WELL_FORMED;
	int rc = xs2s_xml_parse_header_ns(l->env->xml, l->fr.buf, l->fr.len, link_content_ns(l), &h, &se);

	if (rc == XS2S_ENOMEM) {
		xs2s_link_abort(l, XS2S_WHY_RESOURCE, "XML arena exhausted");
		return XS2S_LINK_IDLE;
	}
	if (rc != XS2S_OK) {
		xs2s_link_abort(l, link_why_of_se(se), "bad stream header");
		return XS2S_LINK_IDLE;
	}
	if (l->state != XS2S_LS_HEADER) {
		xs2s_link_abort(l, XS2S_WHY_NOT_WELL_FORMED, "second stream header");
		return XS2S_LINK_IDLE;
	}
	l->ns = h.ns;
	link_version_parse(l, h.version);
	l->st.hdr_dialback = h.has_dialback;
#if CONFIG_XS2S_COMPONENTS
	if (LINK_COMP(l))
		return link_on_comp_header(l, &h);
#endif
	if (l->dir == XS2S_DIR_OUT) {
		if (!h.id[0]) {
			xs2s_link_abort(l, XS2S_WHY_INVALID_XML, "peer's stream header has no id");
			return XS2S_LINK_IDLE;
		}
		snprintf(l->stream_id, sizeof l->stream_id, "%s", h.id);
		link_set_state(l, XS2S_LS_FEATURES);
		if (l->st.version1)
			return XS2S_LINK_IDLE; /* features follow */
		if (l->st.version == XS2S_VERSION_BAD) {
			xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_VERSION, "peer's stream header version '%s' is not a "
					"version", h.version);
			return XS2S_LINK_IDLE;
		}
		/* A response below 1.0 (RFC 6120 4.7.5 rules 3, 4): no features
		 * follow, so neither STARTTLS nor SASL; dialback in plaintext or
		 * unsupported-version. */
		if (!link_speaks_pre_1_0(l)) {
			xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_VERSION, "peer speaks XMPP %s, and %s",
					h.version[0] ? h.version : "0.9 (no version)", link_pre_1_0_refusal(l));
			return XS2S_LINK_IDLE;
		}
		XS2S_LOGW(l->id, "INSECURE: peer speaks pre-1.0 XMPP, continuing in plaintext");
		return XS2S_LINK_FEATURES;
	}
	/* RFC 6120 4.7.2: an s2s initial header names the domain it is for;
	 * our response names it back only when it is one. */
	snprintf(l->local_domain, sizeof l->local_domain, "%s", xs2s_domain_valid(h.to) ? h.to : "");
	snprintf(l->peer_domain, sizeof l->peer_domain, "%s", h.from);
	if (xs2s_link_tls_up(l))
		l->cert = xs2s_tls_verdict(&l->tls, l->peer_domain); /* against what it claims now */
	if (link_send_header(l) != XS2S_OK) {
		xs2s_link_abort(l, XS2S_WHY_RESOURCE, "no room for header");
		return XS2S_LINK_IDLE;
	}
	if (!h.to[0]) {
		/* RFC 6120 4.7.2 (MUST include 'to'), 4.9.3.14. */
		xs2s_link_abort(l, XS2S_WHY_IMPROPER_ADDRESSING, "stream header without 'to'");
		return XS2S_LINK_IDLE;
	}
	if (!l->local_domain[0]) {
		xs2s_link_abort(l, XS2S_WHY_IMPROPER_ADDRESSING, "stream header 'to' is not a domain");
		return XS2S_LINK_IDLE;
	}
	if (!xs2s_env_served(l->env, h.to)) {
		/* RFC 6120 4.9.3.6. */
		xs2s_link_abort(l, XS2S_WHY_HOST_UNKNOWN, "stream to %s, which is not served here", h.to);
		return XS2S_LINK_IDLE;
	}
	if (l->st.version == XS2S_VERSION_BAD) {
		/* RFC 6120 4.7.5: the comparison is numeric, major then minor. */
		xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_VERSION, "stream header version '%s' is not a version",
				h.version);
		return XS2S_LINK_IDLE;
	}
	if (!l->st.version1 && !link_speaks_pre_1_0(l)) {
		/* RFC 6120 4.7.5, 4.9.3.25: a version xs2s will not speak. */
		xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_VERSION, "peer speaks XMPP %s, and %s",
				h.version[0] ? h.version : "0.9 (no version)", link_pre_1_0_refusal(l));
		return XS2S_LINK_IDLE;
	}
	link_set_state(l, XS2S_LS_FEATURES);
	return XS2S_LINK_HEADER;
}

/* Plaintext output waiting in out moves to tx (before TLS output follows it). */
static void link_out_to_tx(struct xs2s_link *l)
{
	while (xs2s_bq_len(&l->out) && xs2s_bq_room(&l->tx)) {
		size_t n;
		const uint8_t *p = xs2s_bq_rbuf(&l->out, &n);

		xs2s_bq_rack(&l->out, xs2s_bq_put_some(&l->tx, p, n));
	}
}

/* After <starttls/> or <proceed/>: what we wrote in plaintext goes out
 * before TLS (our <proceed/>; our <starttls/> when the peer's <proceed/>
 * came in the same read), and nothing read in plaintext survives. */
static void link_begin_tls(struct xs2s_link *l)
{
	int rc;

	link_out_to_tx(l);
	if (xs2s_bq_len(&l->out)) {
		xs2s_link_abort(l, XS2S_WHY_RESOURCE, "transmit buffer full at STARTTLS");
		return;
	}
	if (xs2s_bq_len(&l->rx)) {
		XS2S_LOGW(l->id, "discarding %lu plaintext bytes received after STARTTLS",
			  (unsigned long)xs2s_bq_len(&l->rx));
		xs2s_bq_clear(&l->rx);
	}
	rc = xs2s_tls_start(l->env->tls, &l->tls, l->dir == XS2S_DIR_OUT, l->peer_domain, (uint8_t)(l->slot + 1),
			    &l->rx, &l->tx);
#if CONFIG_XS2S_DIRECT_TLS
	if (rc == XS2S_OK && l->direct_tls)
		rc = xs2s_tls_alpn(&l->tls);
#endif
	if (rc != XS2S_OK) {
		xs2s_link_abort(l, rc == XS2S_ENOMEM ? XS2S_WHY_TLS_NO_MEMORY : XS2S_WHY_TLS_FAILED, "cannot start TLS (%s)",
				rc == XS2S_ENOMEM ? "TLS arena exhausted" : "wolfSSL error");
		return;
	}
	l->cert = XS2S_CERT_NONE;
	link_set_state(l, XS2S_LS_TLS);
}

/* Inbound <starttls/>: <proceed/> goes out in plaintext, then TLS. */
static void link_on_starttls(struct xs2s_link *l)
{
	static const char proceed[] = "<proceed xmlns='" XS2S_NS_TLS "'/>";

	if (l->dir != XS2S_DIR_IN || xs2s_link_tls_up(l) || !l->env->tls->ready || l->state != XS2S_LS_FEATURES) {
		xs2s_link_abort(l, XS2S_WHY_POLICY_VIOLATION, "unexpected <starttls/>");
		return;
	}
	xs2s_link_write(l, proceed, sizeof proceed - 1);
	link_begin_tls(l);
}

/* Outbound: what the receiving server offers; true when it goes up. */
static bool link_on_features(struct xs2s_link *l, const struct xs2s_el *st)
{
	struct xs2s_el tls;
	bool offered = xs2s_el_child(st, XS2S_NS_TLS, "starttls", &tls);

	if (l->dir != XS2S_DIR_OUT || l->state != XS2S_LS_FEATURES) {
		xs2s_link_abort(l, XS2S_WHY_POLICY_VIOLATION, "unexpected stream features");
		return false;
	}
	if (!xs2s_link_tls_up(l) && offered && l->env->tls->ready) {
		static const char req[] = "<starttls xmlns='" XS2S_NS_TLS "'/>";

		xs2s_link_write(l, req, sizeof req - 1);
		link_set_state(l, XS2S_LS_STARTTLS);
		return false;
	}
	if (!xs2s_link_tls_up(l)) {
		if (!xs2s_link_plain_allowed(l)) {
			xs2s_link_abort(l, XS2S_WHY_TLS_REQUIRED, "%s",
					offered ? "we have no certificate for STARTTLS and TLS is required"
						: "peer offers no STARTTLS and TLS is required");
			return false;
		}
		XS2S_LOGW(l->id, "INSECURE: %s offers no STARTTLS; continuing in PLAINTEXT (tls-policy optional)",
			  l->peer_domain);
	}
	return true;
}

/* RFC 6120 4.9.2: the peer's condition and its <text/> go into the
 * reason (the log line, and the bounces of what the stream carried),
 * bounded, control characters replaced (a log line stays one line). */
static void link_on_stream_error(struct xs2s_link *l, const struct xs2s_el *st)
{
	struct xs2s_el c, t;
	char text[120] = "", *p;
	bool has_c = xs2s_el_child(st, XS2S_NS_STREAM_ERR, NULL, &c);
	bool has_t = xs2s_el_child(st, XS2S_NS_STREAM_ERR, "text", &t);

	if (has_c && has_t && c.node == t.node)
		has_c = xs2s_el_next(&c);
	if (has_t && xs2s_el_text(&t, text, sizeof text) < 0)
		text[0] = '\0'; /* too long for the buffer: the condition counts */
	for (p = text; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	l->peer_closed = true; /* RFC 6120 4.9.1.1: the stream is over */
	if (has_c && l->close == XS2S_CLOSE_NONE) {
		unsigned i; /* its condition, for the layers above (retry or not) */

		for (i = 1; i < XS2S_SE__COUNT; i++)
			if (!strcmp(xs2s_el_name(&c), xs2s_stream_err_name((enum xs2s_stream_err)i)))
				l->peer_se = (uint8_t)i;
	}
	xs2s_link_abort(l, XS2S_WHY_PEER_STREAM_ERROR, "peer %s sent stream error <%s/>%s%s%s", l->peer_domain,
			has_c ? xs2s_el_name(&c) : "undefined-condition", text[0] ? ": '" : "", text, text[0] ? "'" : "");
}

/* A framed element: the link's own, or one for the layers above (true). */
static bool link_on_element(struct xs2s_link *l, struct xs2s_el *el)
{
	const char *ns, *name;
	int rc = xs2s_xml_parse(l->env->xml, l->fr.buf, l->fr.len, &l->ns, el);

	if (rc == XS2S_ENOMEM) {
		xs2s_link_abort(l, XS2S_WHY_RESOURCE, "XML arena exhausted");
		return false;
	}
	if (rc != XS2S_OK) {
		xs2s_link_abort(l, XS2S_WHY_NOT_WELL_FORMED, "malformed XML");
		return false;
	}
#if CONFIG_XS2S_TRAFFIC_LOG
	XS2S_LOGD(l->id, "<< %s", l->fr.buf);
#endif
	ns = xs2s_el_nsuri(el);
	name = xs2s_el_name(el);
	if (l->state == XS2S_LS_CLOSING) {
		/* Graceful close: what the peer still sends goes up (RFC 6120 4.4). */
		if (ns && !strcmp(ns, link_content_ns(l)))
			return true;
	} else if (!ns) {
		xs2s_link_abort(l, XS2S_WHY_BAD_NS_PREFIX, "undeclared namespace prefix");
	} else if (!strcmp(ns, XS2S_NS_STREAMS) && !strcmp(name, "error")) {
		link_on_stream_error(l, el);
	} else if (!strcmp(ns, XS2S_NS_STREAMS) && !strcmp(name, "features")) {
		if (link_on_features(l, el))
			return true;
	} else if (!strcmp(ns, XS2S_NS_TLS)) {
		if (!strcmp(name, "starttls"))
			link_on_starttls(l);
		else if (!strcmp(name, "proceed") && l->state == XS2S_LS_STARTTLS)
			link_begin_tls(l);
		else
			xs2s_link_abort(l, XS2S_WHY_TLS_REFUSED, "peer refused STARTTLS (%s)", name);
	} else if (!xs2s_link_plain_allowed(l)) {
		xs2s_link_abort(l, XS2S_WHY_POLICY_VIOLATION, "<%s/> before STARTTLS, TLS is required", name);
	} else {
		return true;
	}
	xs2s_xml_free(l->env->xml, el);
	return false;
}

/* ---- the pump ---- */

static bool link_flushed(const struct xs2s_link *l)
{
	return !xs2s_bq_len(&l->out) && !xs2s_bq_len(&l->tx) && !l->tls.wpending;
}

void xs2s_link_flush(struct xs2s_link *l)
{
	int round;

	for (round = 0; round < LINK_FLUSH_ROUNDS && l->close != XS2S_CLOSE_NOW; round++) {
		if (xs2s_link_tls_up(l) && l->state != XS2S_LS_TLS) {
			int rc = xs2s_tls_flush(&l->tls, &l->out);

			if (rc == XS2S_ETLS || rc == XS2S_EIO || rc == XS2S_ENOMEM) {
				xs2s_link_abort(l, XS2S_WHY_TLS_FAILED, "%s", l->tls.err[0] ? l->tls.err : "TLS write failed");
				return;
			}
		} else if (!xs2s_link_tls_up(l)) {
			link_out_to_tx(l);
		}
		while (xs2s_bq_len(&l->tx) && l->sock != XS2S_SOCK_NONE) {
			size_t avail;
			const uint8_t *p = xs2s_bq_rbuf(&l->tx, &avail);
			int n = xs2s_port_send(l->sock, p, avail);

			if (n == XS2S_EWANTWRITE)
				return;
			if (n < 0) {
				xs2s_link_abort(l, XS2S_WHY_LOST, "connection lost while sending");
				return;
			}
			xs2s_bq_rack(&l->tx, (size_t)n);
			l->bytes_out += (uint64_t)n;
			l->last_io_ms = xs2s_port_now_ms();
			if (l->state == XS2S_LS_OPEN) /* idle means no traffic either way */
				l->deadline_ms = l->last_io_ms + CONFIG_XS2S_IDLE_TIMEOUT_S * XS2S_MS_PER_S;
		}
		if (!xs2s_bq_len(&l->out) || l->state == XS2S_LS_TLS)
			return;
	}
}

static void link_read(struct xs2s_link *l)
{
	while (xs2s_bq_room(&l->rx) && l->sock != XS2S_SOCK_NONE) {
		size_t room;
		uint8_t *p = xs2s_bq_wbuf(&l->rx, &room);
		int n = xs2s_port_recv(l->sock, p, room);

		if (n == XS2S_EWANTREAD)
			return;
		if (n < 0) {
			l->eof = true;
			l->tls.eof = true;
			return;
		}
		xs2s_bq_wack(&l->rx, (size_t)n);
		l->bytes_in += (uint64_t)n;
		l->last_io_ms = xs2s_port_now_ms();
		if (l->state == XS2S_LS_OPEN) /* any traffic, whitespace keepalives too */
			l->deadline_ms = l->last_io_ms + CONFIG_XS2S_IDLE_TIMEOUT_S * XS2S_MS_PER_S;
		if (xs2s_link_tls_up(l))
			return; /* let TLS take what it needs before reading more */
	}
}

/* A failed TLS call may have left a fatal alert in tx (a renegotiation
 * attempt, a ClientHello without a common group, a bad record): it goes out
 * before the connection is cut, as far as the socket takes it now. */
static void link_tls_alert_out(struct xs2s_link *l)
{
	while (xs2s_bq_len(&l->tx) && l->sock != XS2S_SOCK_NONE && !l->eof) {
		size_t avail;
		const uint8_t *p = xs2s_bq_rbuf(&l->tx, &avail);
		int n = xs2s_port_send(l->sock, p, avail);

		if (n <= 0)
			return;
		xs2s_bq_rack(&l->tx, (size_t)n);
		l->bytes_out += (uint64_t)n;
	}
}

/* TLS handshake progress; true when done (the stream restarted). */
static bool link_handshake(struct xs2s_link *l)
{
	int rc = xs2s_tls_handshake(&l->tls);

	if (rc == XS2S_EWANTREAD || rc == XS2S_EWANTWRITE)
		return false;
	if (rc != XS2S_OK) {
		link_tls_alert_out(l);
		if (rc != XS2S_ENOMEM && link_direct_next(l, l->tls.err[0] ? l->tls.err : "TLS handshake failed"))
			return false;
		xs2s_link_abort(l, rc == XS2S_ENOMEM ? XS2S_WHY_TLS_NO_MEMORY : XS2S_WHY_TLS_FAILED, "%s",
				l->tls.err[0] ? l->tls.err : "TLS handshake failed");
		return false;
	}
	l->cert = xs2s_tls_verdict(&l->tls, l->peer_domain);
	/* The same verdict as after STARTTLS (XEP-0368 3 rule 4). */
	XS2S_LOGI(l->id, "TLS established%s%s%s: %s %s, peer certificate %s%s",
		  l->direct_tls ? " (direct TLS, XEP-0368; ALPN " : "", l->direct_tls ? (l->tls.alpn[0] ? l->tls.alpn : "none") : "",
		  l->direct_tls ? ")" : "", l->tls.version, l->tls.cipher, xs2s_cert_verdict_name(l->cert),
		  l->cert == XS2S_CERT_VALID ? "" : " (dialback decides)");
	xs2s_link_restart(l);
	return l->state == XS2S_LS_HEADER;
}

/* The next plaintext to frame, into *p and *n: from rx, or peeked from TLS into
 * tmp. False when there is none now. */
static bool link_input(struct xs2s_link *l, const uint8_t **p, size_t *n, uint8_t *tmp)
{
	int r;

	if (!xs2s_link_tls_up(l)) {
		*p = xs2s_bq_rbuf(&l->rx, n);
		return *n > 0;
	}
	for (;;) {
		size_t before = xs2s_bq_len(&l->rx);

		r = xs2s_tls_peek(&l->tls, tmp, XS2S_TLS_READ_CHUNK);
		/* A peek stops after a post-handshake message (a TLS 1.3 session
		 * ticket) with WANT_READ although records may wait in rx: go on
		 * while it takes input. */
		if (r != XS2S_EWANTREAD || !xs2s_bq_len(&l->rx) || xs2s_bq_len(&l->rx) >= before)
			break;
	}
	if (r > 0) {
		*p = tmp;
		*n = (size_t)r;
		return true;
	}
	if (r == XS2S_EIO) {
		l->peer_closed = true; /* close_notify */
	} else if (r != XS2S_EWANTREAD && r != XS2S_EWANTWRITE) {
		link_tls_alert_out(l);
		xs2s_link_abort(l, r == XS2S_ENOMEM ? XS2S_WHY_TLS_NO_MEMORY : XS2S_WHY_TLS_FAILED, "%s",
				l->tls.err[0] ? l->tls.err : "TLS error");
	}
	return false;
}

/* Decrypt and frame until an element goes up or the input runs out. */
static enum xs2s_link_ev link_process(struct xs2s_link *l, struct xs2s_el *el)
{
	uint8_t tmp[XS2S_TLS_READ_CHUNK];

	for (;;) {
		const uint8_t *p;
		size_t n, used = 0;
		int ev;

		if (l->state == XS2S_LS_TLS) {
			if (!link_handshake(l))
				return XS2S_LINK_IDLE;
			continue;
		}
		if (l->peer_closed || l->close == XS2S_CLOSE_FLUSH || l->close == XS2S_CLOSE_NOW) {
			/* The input is over (the peer's close, or our failure): nothing
			 * after it is parsed. A graceful close of ours reads on. */
			xs2s_bq_clear(&l->rx);
			return XS2S_LINK_IDLE;
		}
		if (l->state == XS2S_LS_FREE || !link_input(l, &p, &n, tmp))
			return XS2S_LINK_IDLE;
		ev = xs2s_framer_feed(&l->fr, p, n, &used);
		if (xs2s_link_tls_up(l))
			xs2s_tls_consume(&l->tls, tmp, used);
		else
			xs2s_bq_rack(&l->rx, used);
		if (ev < 0) {
			xs2s_link_abort(l, link_why_of_se(l->fr.err), "bad XML input");
			return XS2S_LINK_IDLE;
		}
		if (ev == XS2S_FRAME_CLOSE) {
			l->peer_closed = true;
			xs2s_link_abort(l, XS2S_WHY_PEER_CLOSED, "peer closed the stream");
			return XS2S_LINK_IDLE;
		}
		if (ev == XS2S_FRAME_HEADER) {
			enum xs2s_link_ev up = link_on_header(l);

			if (up != XS2S_LINK_IDLE)
				return up;
		} else if (ev == XS2S_FRAME_STANZA && link_on_element(l, el)) {
			return xs2s_el_is(el, XS2S_NS_STREAMS, "features") ? XS2S_LINK_FEATURES : XS2S_LINK_ELEMENT;
		}
	}
}

/* ---- the end after a stream error: half-close, drain, close ---- */

/* Everything is written after a stream error: time to shut the write side. */
static bool link_drain_due(const struct xs2s_link *l)
{
	return l->state == XS2S_LS_CLOSING && l->close == XS2S_CLOSE_FLUSH && !l->drain && !l->eof &&
	       l->sock != XS2S_SOCK_NONE && link_flushed(l);
}

/* The error and </stream:stream> are out: TLS close_notify (best effort),
 * FIN after them (RFC 6120 4.4: the stream is closed, the TCP connection
 * after it), then the peer's input is thrown away (XS2S_LINK_DRAIN_MS,
 * XS2S_LINK_DRAIN_BYTES). */
static void link_drain_start(struct xs2s_link *l)
{
	uint32_t end = xs2s_port_now_ms() + XS2S_LINK_DRAIN_MS;

	if (xs2s_link_tls_up(l) && l->tls.version[0] && xs2s_link_borrow_out(l)) {
		size_t n;
		const uint8_t *p;

		xs2s_tls_end(&l->tls, true);
		p = xs2s_bq_rbuf(&l->tx, &n);
		if (n)
			xs2s_port_send(l->sock, p, n);
		xs2s_bq_clear(&l->tx); /* nothing is written after the FIN */
	}
	xs2s_port_shutdown_write(l->sock);
	l->drain = true;
	l->drain_bytes = 0;
	if (!XS2S_TIME_REACHED(end, l->deadline_ms))
		l->deadline_ms = end; /* the sooner of this and the close timeout */
}

static void link_drain(struct xs2s_link *l)
{
	uint8_t buf[256];

	while (!l->drained) {
		int n = xs2s_port_recv(l->sock, buf, sizeof buf);

		if (n == XS2S_EWANTREAD)
			return;
		if (n < 0) {
			l->eof = true; /* the peer closed too: done */
			return;
		}
		l->bytes_in += (uint64_t)n;
		l->drain_bytes += (uint32_t)n;
		if (l->drain_bytes >= XS2S_LINK_DRAIN_BYTES) {
			l->drained = true;
			XS2S_LOGI(l->id, "peer kept sending after our stream error: closing after %lu bytes",
				  (unsigned long)l->drain_bytes);
		}
	}
}

/* The engine holds this open stream's input (hold_in). */
static bool link_held(const struct xs2s_link *l)
{
	return l->hold_in && l->state == XS2S_LS_OPEN;
}

enum xs2s_link_ev xs2s_link_pump(struct xs2s_link *l, uint8_t got, struct xs2s_el *el)
{
	enum xs2s_link_ev ev;

	el->node = NULL;
	el->ns = &l->ns;
	if (link_held(l)) {
		xs2s_link_flush(l); /* what waits in this stream: more later */
		return XS2S_LINK_IDLE;
	}
	l->more = false;
	if (l->state == XS2S_LS_FREE || xs2s_link_done(l))
		return XS2S_LINK_IDLE;
	if (l->drain) {
		link_drain(l);
		return XS2S_LINK_IDLE;
	}
	if (l->state == XS2S_LS_RESOLVE) {
		link_resolve(l);
		return XS2S_LINK_IDLE;
	}
	if (l->state == XS2S_LS_CONNECT && (!(got || l->starved) || !link_connected(l)))
		return XS2S_LINK_IDLE;
	if (l->close_pending)
		link_put_closing(l);
	xs2s_link_flush(l);
	/* Reading needs all four buffers (what it reads may be answered at once):
	 * none free, it waits and the peer's bytes stay in the socket. */
	l->starved = !xs2s_link_borrow_all(l);
	if (!l->starved) {
		if (!l->eof && l->close != XS2S_CLOSE_NOW)
			link_read(l);
		ev = link_process(l, el);
		if (ev != XS2S_LINK_IDLE) {
			l->more = true; /* input may remain: the engine pumps again */
			return ev;
		}
	}
	xs2s_link_flush(l);
	if (l->eof && xs2s_link_live(l) && !link_direct_next(l, "connection closed during the handshake"))
		xs2s_link_abort(l, XS2S_WHY_LOST, "connection closed by peer in state %s", xs2s_link_state_name(l->state));
	if (link_drain_due(l))
		link_drain_start(l);
	xs2s_link_bufs_return(l, false);
	return XS2S_LINK_IDLE;
}

/* ---- time, polling, the end ---- */

void xs2s_link_timer(struct xs2s_link *l, uint32_t now)
{
	if (l->state == XS2S_LS_FREE || !XS2S_TIME_REACHED(now, l->deadline_ms))
		return;
	switch (l->state) {
	case XS2S_LS_OPEN:
		if (LINK_COMP(l)) {
			/* XEP-0114 has no idle rule: the component's process decides. */
			l->deadline_ms = now + CONFIG_XS2S_IDLE_TIMEOUT_S * XS2S_MS_PER_S;
			break;
		}
		xs2s_link_abort(l, XS2S_WHY_IDLE, "idle timeout");
		break;
	case XS2S_LS_CLOSING:
		if (l->drain) /* input may be left: bounded all the same */
			l->drained = true;
		else
			l->close = XS2S_CLOSE_NOW;
		break;
	case XS2S_LS_RESOLVE:
	case XS2S_LS_CONNECT:
		xs2s_link_abort(l, XS2S_WHY_CONNECT_TIMEOUT, "connect timed out");
		break;
	case XS2S_LS_TLS:
		if (link_direct_next(l, "no handshake in time"))
			break;
		xs2s_link_abort(l, XS2S_WHY_SETUP_TIMEOUT, "stream setup timed out in state %s", xs2s_link_state_name(l->state));
		break;
	default:
		if (LINK_COMP(l))
			xs2s_link_abort(l, XS2S_WHY_SETUP_TIMEOUT, "component %s: no handshake within %d s",
					l->peer_domain[0] ? l->peer_domain : "(no header yet)", CONFIG_XS2S_SETUP_TIMEOUT_S);
		else
			xs2s_link_abort(l, XS2S_WHY_SETUP_TIMEOUT, "stream setup timed out in state %s",
					xs2s_link_state_name(l->state));
		break;
	}
}

bool xs2s_link_has_work(const struct xs2s_link *l)
{
	if (l->state == XS2S_LS_RESOLVE) /* not while the lookup runs, nor while every slot is busy */
		return l->resolve_h < 0 ? xs2s_resolve_can_start(l->res) : xs2s_resolve_done(l->res, l->resolve_h);
	if (xs2s_link_done(l) || link_drain_due(l))
		return true;
	if (l->drain || link_held(l))
		return false; /* the drain reads on POLL_IN; held input waits for the engine */
	if (l->close_pending)
		return xs2s_link_could_borrow(l, false);
	if (l->state == XS2S_LS_CONNECT)
		return l->starved && xs2s_link_could_borrow(l, false); /* connected, waiting for out and tx */
	if (!l->more && !l->starved && xs2s_tls_pending(&l->tls) <= 0)
		return false; /* output waits for POLL_OUT */
	return xs2s_link_could_borrow(l, true); /* the buffers it holds, or ones free now */
}

uint8_t xs2s_link_poll_want(const struct xs2s_link *l)
{
	uint8_t w = 0;

	if (l->sock == XS2S_SOCK_NONE || xs2s_link_done(l))
		return 0;
	if (l->state == XS2S_LS_CONNECT)
		return l->starved ? 0 : XS2S_POLL_OUT;
	if (l->drain)
		return XS2S_POLL_IN; /* only what the peer still sends, thrown away */
	/* Input only when there is a buffer for it (held, or free to borrow). */
	if (!l->eof && !link_held(l) && (l->rx.buf ? xs2s_bq_room(&l->rx) > 0 : xs2s_link_could_borrow(l, true)))
		w |= XS2S_POLL_IN;
	if (xs2s_bq_len(&l->tx) || xs2s_bq_len(&l->out))
		w |= XS2S_POLL_OUT;
	return w;
}

bool xs2s_link_done(const struct xs2s_link *l)
{
	if (l->state != XS2S_LS_CLOSING)
		return false;
	if (l->close == XS2S_CLOSE_NOW || l->eof)
		return true;
	if (l->close_pending || !link_flushed(l))
		return false;
	/* After a stream error (ours or the peer's): when the peer's TCP
	 * closes too (eof, above), or the drain ends. */
	return l->close == XS2S_CLOSE_FLUSH ? l->drained : l->peer_closed;
}

void xs2s_link_release(struct xs2s_link *l, size_t tls_peak)
{
	if (l->resolve_h >= 0) {
		xs2s_resolve_cancel(l->res, l->resolve_h);
		l->resolve_h = -1;
	}
	if (xs2s_link_tls_up(l) && l->tls.version[0] && l->sock != XS2S_SOCK_NONE && !l->eof &&
	    l->close != XS2S_CLOSE_NOW && !l->drain && xs2s_link_borrow_out(l)) {
		size_t n;
		const uint8_t *p;

		xs2s_tls_end(&l->tls, true);
		p = xs2s_bq_rbuf(&l->tx, &n);
		if (n)
			xs2s_port_send(l->sock, p, n); /* best-effort close_notify */
	}
	xs2s_tls_end(&l->tls, false);
	xs2s_link_bufs_return(l, true);
	if (l->sock != XS2S_SOCK_NONE)
		xs2s_port_close(l->sock);
	l->sock = XS2S_SOCK_NONE;
	char in[XS2S_U64_DEC], out[XS2S_U64_DEC];

	XS2S_LOGI(l->id, "closed %s %s %s after %us: %s; stanzas in %lu out %lu, bytes in %s out %s, TLS arena peak %lu",
		  xs2s_link_dir_name(l), l->local_domain, l->peer_domain[0] ? l->peer_domain : "?",
		  (unsigned)((xs2s_port_now_ms() - l->created_ms) / XS2S_MS_PER_S), l->reason[0] ? l->reason : "normal close",
		  (unsigned long)l->stanzas_in, (unsigned long)l->stanzas_out, xs2s_u64_dec(in, l->bytes_in),
		  xs2s_u64_dec(out, l->bytes_out), (unsigned long)tls_peak);
	link_set_state(l, XS2S_LS_FREE);
}
