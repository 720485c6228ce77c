/* The link state machine: one s2s stream, inbound or outbound.
 *
 * xs2s_link_set_state() is the only place that changes l->state: it logs the
 * transition and sets the state's deadline. The pump order is: flush what is
 * pending, read, process, flush again. After <proceed/> (either side) the
 * rest of the plaintext input is discarded and every byte goes through TLS.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "xs2s_int.h"
#include "tls.h"
#include "auth.h"

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

#define MS_PER_S 1000u

void xs2s_link_set_state(struct xs2s_link *l, enum xs2s_link_state s)
{
	uint32_t now = xs2s_port_now_ms();
	uint32_t setup_end = l->created_ms + CONFIG_XS2S_SETUP_TIMEOUT_S * MS_PER_S;

	if (l->state != s)
		XS2S_LOGD(l->id, "state %s -> %s", xs2s_link_state_name(l->state), xs2s_link_state_name(s));
	l->state = s;
	switch (s) {
	case XS2S_LS_CONNECT: {
		uint32_t c = now + CONFIG_XS2S_CONNECT_TIMEOUT_S * MS_PER_S;
		l->deadline_ms = XS2S_TIME_REACHED(c, setup_end) ? setup_end : c;
		break;
	}
	case XS2S_LS_OPEN:
		l->deadline_ms = now + CONFIG_XS2S_IDLE_TIMEOUT_S * MS_PER_S;
		break;
	case XS2S_LS_CLOSING:
		l->deadline_ms = now + CONFIG_XS2S_CLOSE_TIMEOUT_S * MS_PER_S;
		break;
	default:
		l->deadline_ms = setup_end;
		break;
	}
}

int xs2s_link_write(struct xs2s_link *l, const char *xml, size_t len)
{
	/* CLOSING: our </stream:stream> (or stream error) is out, nothing may follow. */
	if (l->state == XS2S_LS_FREE || l->state == XS2S_LS_CLOSING || l->closing_done)
		return XS2S_EIO;
	if (len > sizeof l->out - l->out_len)
		return XS2S_ENOMEM;
	memcpy(l->out + l->out_len, xml, len);
	l->out_len += len;
#if CONFIG_XS2S_TRAFFIC_LOG
	XS2S_LOGD(l->id, ">> %.*s", (int)len, xml);
#endif
	return XS2S_OK;
}

static int link_send_header(struct xs2s_link *l)
{
	char buf[XS2S_DOMAIN_MAX * 2 + 400];
	struct xs2s_wbuf w;

	xs2s_w_init(&w, buf, sizeof buf);
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
	xs2s_w_raw(&w, " version='1.0'>");
	if (w.overflow)
		return XS2S_ENOMEM;
	l->header_sent = true;
	return xs2s_link_write(l, buf, w.len);
}

void xs2s_link_fail(struct xs2s_link *l, enum xs2s_stream_err cond, enum xs2s_stanza_err bounce,
		    const char *fmt, ...)
{
	char why[sizeof l->reason];
	va_list ap;

	if (l->state == XS2S_LS_FREE)
		return;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (l->state == XS2S_LS_CLOSING && l->err != XS2S_SE_NONE)
		return; /* already failing: keep the first error */
	if (!l->reason[0])
		snprintf(l->reason, sizeof l->reason, "%s", why);
	if (l->bounce == XS2S_STE_NONE)
		l->bounce = bounce != XS2S_STE_NONE ? bounce : XS2S_STE_REMOTE_SERVER_NOT_FOUND;
	if (cond != XS2S_SE_NONE) {
		char buf[200];
		int n;

		if (l->err == XS2S_SE_NONE)
			l->err = cond;
		XS2S_LOGW(l->id, "%s %s %s: %s; stream error: %s", l->dir == XS2S_DIR_IN ? "in" : "out",
			  l->local_domain, l->peer_domain[0] ? l->peer_domain : "?", why, xs2s_stream_err_name(cond));
		/* Nothing may follow our </stream:stream> (sent when CLOSING). */
		if (l->sock != XS2S_SOCK_NONE && l->state >= XS2S_LS_HEADER && l->state != XS2S_LS_TLS &&
		    l->state != XS2S_LS_CLOSING) {
			if (!l->header_sent)
				link_send_header(l);
			n = snprintf(buf, sizeof buf, "<stream:error><%s xmlns='" XS2S_NS_STREAM_ERR
				     "'/></stream:error></stream:stream>", xs2s_stream_err_name(cond));
			xs2s_link_write(l, buf, (size_t)n);
		}
	} else {
		XS2S_LOGW(l->id, "%s %s %s: %s", l->dir == XS2S_DIR_IN ? "in" : "out", l->local_domain,
			  l->peer_domain[0] ? l->peer_domain : "?", why);
	}
	l->hard_close = true;
	if (l->state != XS2S_LS_CLOSING)
		xs2s_link_set_state(l, XS2S_LS_CLOSING);
}

void xs2s_link_close(struct xs2s_link *l, const char *why)
{
	if (l->state == XS2S_LS_FREE || l->state == XS2S_LS_CLOSING)
		return;
	XS2S_LOGI(l->id, "closing: %s", why);
	if (l->header_sent && l->state != XS2S_LS_TLS)
		xs2s_link_write(l, "</stream:stream>", 16);
	if (l->bounce == XS2S_STE_NONE)
		l->bounce = XS2S_STE_REMOTE_SERVER_NOT_FOUND;
	if (l->state < XS2S_LS_HEADER)
		l->closing_done = true;
	xs2s_link_set_state(l, XS2S_LS_CLOSING);
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
		if (xs2s_port_connect(l->addr, l->port, &l->sock) == XS2S_OK) {
			XS2S_LOGI(l->id, "out %s -> %s: connecting to %s:%u", l->local_domain, l->peer_domain,
				  l->addr, l->port);
			xs2s_link_set_state(l, XS2S_LS_CONNECT);
			return true;
		}
		l->sock = XS2S_SOCK_NONE;
	}
	return false;
}

static void link_connect(struct xs2s_link *l)
{
	unsigned n = CONFIG_XS2S_RESOLVE_TARGETS;
	int rc;

	if (l->resolve_h < 0) {
		l->resolve_h = xs2s_resolve_start(l->peer_domain);
		if (l->resolve_h == XS2S_ENOMEM) {
			l->resolve_h = -1;
			return; /* every lookup slot busy: try next round */
		}
	}
	rc = l->resolve_h < 0 ? l->resolve_h : xs2s_resolve_result(l->resolve_h, l->cand, &n);
	if (rc == XS2S_EAGAIN)
		return;
	l->resolve_h = -1;
	if (rc != XS2S_OK) {
		/* RFC 6120 8.3.3.16: the name could not be resolved (timeout or not). */
		xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "no address for %s: %s",
			       l->peer_domain, xs2s_err_name(rc));
		l->closing_done = true;
		return;
	}
	l->ncand = (uint8_t)n;
	l->cand_next = 0;
	if (!link_try_next(l)) {
		xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "cannot connect to %s",
			       l->peer_domain);
		l->closing_done = true;
	}
}

void xs2s_link_start_out(struct xs2s_link *l)
{
	xs2s_framer_init(&l->fr, l->stanza, CONFIG_XS2S_MAX_STANZA);
	l->resolve_h = -1;
	xs2s_link_set_state(l, XS2S_LS_RESOLVE);
	link_connect(l);
}

void xs2s_link_accepted(struct xs2s_link *l)
{
	xs2s_framer_init(&l->fr, l->stanza, CONFIG_XS2S_MAX_STANZA);
	XS2S_LOGI(l->id, "in: connection from %s", l->addr);
	xs2s_link_set_state(l, XS2S_LS_HEADER);
}

/* Features we offer on an inbound stream. */
static int link_send_features(struct xs2s_link *l)
{
	char buf[600];
	struct xs2s_wbuf w;
	bool tls_now = !l->tls_active && xs2s_g.tls_ready;
	bool required = xs2s_g.tls_policy == XS2S_TLS_POLICY_REQUIRED;

	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_raw(&w, "<stream:features>");
	if (tls_now)
		xs2s_w_fmt(&w, "<starttls xmlns='" XS2S_NS_TLS "'>%s</starttls>", required ? "<required/>" : "");
	if (l->tls_active || !required) {
		xs2s_w_raw(&w, xs2s_auth_sasl_feature(l));
		if (xs2s_auth_dialback_enabled())
			xs2s_w_raw(&w, "<dialback xmlns='" XS2S_NS_DB_FEATURE "'><errors/></dialback>");
	}
	xs2s_w_raw(&w, "</stream:features>");
	if (w.overflow)
		return XS2S_ENOMEM;
	return xs2s_link_write(l, buf, w.len);
}

/* TLS may be skipped only under the optional policy, and never silently. */
static bool link_plain_allowed(struct xs2s_link *l)
{
	return l->tls_active || xs2s_g.tls_policy == XS2S_TLS_POLICY_OPTIONAL_INSECURE;
}

void xs2s_link_restart_stream(struct xs2s_link *l)
{
	xs2s_framer_reset(&l->fr);
	l->header_sent = false;
	l->stream_id[0] = '\0';
	if (l->dir == XS2S_DIR_OUT && link_send_header(l) != XS2S_OK)
		xs2s_link_fail(l, XS2S_SE_RESOURCE_CONSTRAINT, XS2S_STE_RESOURCE_CONSTRAINT, "no room for header");
	xs2s_link_set_state(l, XS2S_LS_HEADER);
}

static bool link_any_valid(const struct xs2s_link *l)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++)
		if (l->pairs[i].state == XS2S_PAIR_VALID)
			return true;
	return false;
}

static void link_on_header(struct xs2s_link *l)
{
	struct xs2s_stream_hdr h;
	enum xs2s_stream_err se = XS2S_SE_NOT_WELL_FORMED;
	int rc = xs2s_xml_parse_header(l->fr.buf, l->fr.len, &h, &se);

	if (rc == XS2S_ENOMEM) {
		xs2s_link_fail(l, XS2S_SE_RESOURCE_CONSTRAINT, XS2S_STE_RESOURCE_CONSTRAINT, "XML arena exhausted");
		return;
	}
	if (rc != XS2S_OK) {
		xs2s_link_fail(l, se, XS2S_STE_NONE, "bad stream header");
		return;
	}
	if (l->state != XS2S_LS_HEADER) {
		xs2s_link_fail(l, XS2S_SE_NOT_WELL_FORMED, XS2S_STE_NONE, "second stream header");
		return;
	}
	l->ns = h.ns;
	l->peer_version1 = h.version[0] == '1';
	l->peer_hdr_db = h.has_dialback;
	if (l->dir == XS2S_DIR_OUT) {
		if (!h.id[0]) {
			xs2s_link_fail(l, XS2S_SE_INVALID_XML, XS2S_STE_NONE, "peer's stream header has no id");
			return;
		}
		snprintf(l->stream_id, sizeof l->stream_id, "%s", h.id);
		xs2s_link_set_state(l, XS2S_LS_FEATURES);
		if (!l->peer_version1) {
			/* Pre-RFC 6120 peer: no features follow. */
			if (!link_plain_allowed(l)) {
				l->tls_required_fail = true;
				xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_REMOTE_SERVER_NOT_FOUND,
					       "peer speaks pre-1.0 XMPP (no STARTTLS) and TLS is required");
				return;
			}
			XS2S_LOGW(l->id, "INSECURE: peer speaks pre-1.0 XMPP, continuing in plaintext");
			xs2s_db_send_pending(l);
		}
		return;
	}
	if (!h.to[0])
		snprintf(h.to, sizeof h.to, "%s", xs2s_g.domains[0]);
	snprintf(l->local_domain, sizeof l->local_domain, "%s", h.to);
	snprintf(l->peer_domain, sizeof l->peer_domain, "%s", h.from);
	if (l->tls_active)
		l->cert = xs2s_tls_verdict(l, l->peer_domain); /* against what it claims now */
	if (link_send_header(l) != XS2S_OK) {
		xs2s_link_fail(l, XS2S_SE_RESOURCE_CONSTRAINT, XS2S_STE_NONE, "no room for header");
		return;
	}
	if (!xs2s_is_local_domain(h.to)) {
		xs2s_link_fail(l, XS2S_SE_HOST_UNKNOWN, XS2S_STE_NONE, "stream to %s, which is not served here", h.to);
		return;
	}
	if (!l->peer_version1 && !link_plain_allowed(l)) {
		xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_NONE, "pre-1.0 peer cannot do STARTTLS, TLS is required");
		return;
	}
	if (l->peer_version1 && link_send_features(l) != XS2S_OK) {
		xs2s_link_fail(l, XS2S_SE_RESOURCE_CONSTRAINT, XS2S_STE_NONE, "no room for features");
		return;
	}
	/* After SASL the stream is authenticated as soon as it restarts. */
	xs2s_link_set_state(l, link_any_valid(l) ? XS2S_LS_OPEN : XS2S_LS_FEATURES);
}

/* Outbound, first features after a successful SASL restart: the stream's
 * own pair is now usable. */
static void link_sasl_open(struct xs2s_link *l)
{
	struct xs2s_pair *p = xs2s_pair_find(l, l->local_domain, l->peer_domain);

	if (!p || p->state == XS2S_PAIR_VALID)
		return;
	p->state = XS2S_PAIR_VALID;
	xs2s_link_set_state(l, XS2S_LS_OPEN);
	xs2s_router_pair_ready(l, (unsigned)(p - l->pairs));
}

/* Outbound: what the receiving server offers. */
static void link_on_features(struct xs2s_link *l, mxml_node_t *st)
{
	mxml_node_t *tls = xs2s_xml_child(st, XS2S_NS_TLS, "starttls", &l->ns);
	mxml_node_t *db = xs2s_xml_child(st, XS2S_NS_DB_FEATURE, "dialback", &l->ns);

	if (l->dir != XS2S_DIR_OUT || l->state != XS2S_LS_FEATURES) {
		xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_NONE, "unexpected stream features");
		return;
	}
	if (!l->tls_active && tls && xs2s_g.tls_ready) {
		static const char req[] = "<starttls xmlns='" XS2S_NS_TLS "'/>";
		xs2s_link_write(l, req, sizeof req - 1);
		xs2s_link_set_state(l, XS2S_LS_STARTTLS);
		return;
	}
	if (!l->tls_active) {
		if (!link_plain_allowed(l)) {
			l->tls_required_fail = true;
			xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_REMOTE_SERVER_NOT_FOUND,
				       tls ? "we have no certificate for STARTTLS and TLS is required"
				           : "peer offers no STARTTLS and TLS is required");
			return;
		}
		XS2S_LOGW(l->id, "INSECURE: %s offers no STARTTLS; continuing in PLAINTEXT (tls-policy optional)",
			  l->peer_domain);
	}
	l->peer_db_errors = db && xs2s_xml_child(db, XS2S_NS_DB_FEATURE, "errors", &l->ns);
	/* The feature, or xmlns:db on the header (older servers); kept across restarts. */
	l->peer_dialback |= db || l->peer_hdr_db;
	if (l->sasl_done) {
		link_sasl_open(l);
	} else {
		if (xs2s_auth_secure_for(l->peer_domain) && l->cert != XS2S_CERT_VALID) {
			xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_REMOTE_SERVER_NOT_FOUND,
				       "secure auth: %s's certificate is %s", l->peer_domain, xs2s_cert_verdict_name(l->cert));
			return;
		}
		if (xs2s_auth_try_external(l, st))
			return;
	}
	if (!l->peer_dialback || !xs2s_auth_dialback_enabled()) {
		if (!l->sasl_done)
			xs2s_link_fail(l, XS2S_SE_UNSUPPORTED_FEATURE, XS2S_STE_REMOTE_SERVER_NOT_FOUND,
				       "no common authentication method with %s (we: %s%s)", l->peer_domain,
				       xs2s_auth_sasl_enabled() ? "sasl-external " : "",
				       xs2s_auth_dialback_enabled() ? "dialback" : "");
		return;
	}
	xs2s_db_send_pending(l);
}

/* After <starttls/> or <proceed/>: drop everything read in plaintext. */
static void link_begin_tls(struct xs2s_link *l)
{
	int rc;

	rc = xs2s_tls_start(l);
	if (rc != XS2S_OK) {
		xs2s_link_fail(l, XS2S_SE_NONE, rc == XS2S_ENOMEM ? XS2S_STE_RESOURCE_CONSTRAINT
								 : XS2S_STE_REMOTE_SERVER_NOT_FOUND,
			       "cannot start TLS (%s)", rc == XS2S_ENOMEM ? "TLS arena exhausted" : "wolfSSL error");
		l->closing_done = true;
		return;
	}
	xs2s_link_set_state(l, XS2S_LS_TLS);
}

static void link_flush_plain(struct xs2s_link *l)
{
	size_t n = sizeof l->tx - l->tx_len;

	if (n > l->out_len)
		n = l->out_len;
	memcpy(l->tx + l->tx_len, l->out, n);
	l->tx_len += n;
	memmove(l->out, l->out + n, l->out_len - n);
	l->out_len -= n;
}

/* Inbound <starttls/>: <proceed/> goes out in plaintext, then TLS. */
static void link_on_starttls(struct xs2s_link *l)
{
	static const char proceed[] = "<proceed xmlns='" XS2S_NS_TLS "'/>";

	if (l->dir != XS2S_DIR_IN || l->tls_active || !xs2s_g.tls_ready || l->state != XS2S_LS_FEATURES) {
		xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_NONE, "unexpected <starttls/>");
		return;
	}
	xs2s_link_write(l, proceed, sizeof proceed - 1);
	link_flush_plain(l);
	if (l->out_len) {
		xs2s_link_fail(l, XS2S_SE_RESOURCE_CONSTRAINT, XS2S_STE_NONE, "transmit buffer full at STARTTLS");
		return;
	}
	link_begin_tls(l);
}

static void link_on_stream_error(struct xs2s_link *l, mxml_node_t *st)
{
	mxml_node_t *c = xs2s_xml_child(st, XS2S_NS_STREAM_ERR, NULL, &l->ns);
	char text[120] = "";
	mxml_node_t *t = xs2s_xml_child(st, XS2S_NS_STREAM_ERR, "text", &l->ns);
	const char *cond = c ? xs2s_xml_local(c) : "?";

	if (c && t == c)
		c = xs2s_xml_next(c);
	if (t)
		xs2s_xml_text(t, text, sizeof text);
	if (!l->reason[0])
		snprintf(l->reason, sizeof l->reason, "peer sent stream error %s", cond);
	XS2S_LOGW(l->id, "peer %s sent stream error: %s%s%s", l->peer_domain, cond, text[0] ? ": " : "", text);
	l->peer_closed = true;
	l->hard_close = true;
	if (l->bounce == XS2S_STE_NONE)
		l->bounce = XS2S_STE_REMOTE_SERVER_NOT_FOUND;
	if (l->header_sent)
		xs2s_link_write(l, "</stream:stream>", 16);
	xs2s_link_set_state(l, XS2S_LS_CLOSING);
}

/* A message, presence or iq arrived on an inbound stream. */
static void link_on_stanza(struct xs2s_link *l, mxml_node_t *st, const char *name)
{
	const char *from = xs2s_xml_attr(st, "from");
	const char *to = xs2s_xml_attr(st, "to");
	char fd[XS2S_DOMAIN_MAX + 1], td[XS2S_DOMAIN_MAX + 1];
	struct xs2s_pair *p;

	if (l->dir != XS2S_DIR_IN || !link_any_valid(l)) {
		xs2s_link_fail(l, XS2S_SE_NOT_AUTHORIZED, XS2S_STE_NONE, "%s before authentication", name);
		return;
	}
	if (!from || !to || xs2s_jid_domain(from, fd, sizeof fd) || xs2s_jid_domain(to, td, sizeof td)) {
		xs2s_link_fail(l, XS2S_SE_IMPROPER_ADDRESSING, XS2S_STE_NONE, "%s without valid from/to", name);
		return;
	}
	if (!xs2s_is_local_domain(td)) {
		xs2s_link_fail(l, XS2S_SE_HOST_UNKNOWN, XS2S_STE_NONE, "%s to %s, which is not served here", name, td);
		return;
	}
	p = xs2s_pair_find(l, td, fd);
	if (!p || p->state != XS2S_PAIR_VALID) {
		xs2s_link_fail(l, XS2S_SE_INVALID_FROM, XS2S_STE_NONE,
			       "%s from %s, not authenticated on this stream", name, fd);
		return;
	}
	l->stanzas_in++;
	xs2s_local_deliver(l, st, name);
}

static void link_on_element(struct xs2s_link *l)
{
	mxml_node_t *st;
	const char *ns, *name;
	int rc = xs2s_xml_parse(l->fr.buf, l->fr.len, &st);

	if (rc == XS2S_ENOMEM) {
		xs2s_link_fail(l, XS2S_SE_RESOURCE_CONSTRAINT, XS2S_STE_RESOURCE_CONSTRAINT, "XML arena exhausted");
		return;
	}
	if (rc != XS2S_OK) {
		xs2s_link_fail(l, XS2S_SE_NOT_WELL_FORMED, XS2S_STE_NONE, "malformed XML");
		return;
	}
#if CONFIG_XS2S_TRAFFIC_LOG
	XS2S_LOGD(l->id, "<< %s", l->fr.buf);
#endif
	ns = xs2s_xml_ns(st, &l->ns);
	name = xs2s_xml_local(st);
	if (!ns) {
		xs2s_link_fail(l, XS2S_SE_BAD_NAMESPACE_PREFIX, XS2S_STE_NONE, "undeclared namespace prefix");
	} else if (!strcmp(ns, XS2S_NS_STREAMS) && !strcmp(name, "error")) {
		link_on_stream_error(l, st);
	} else if (!strcmp(ns, XS2S_NS_STREAMS) && !strcmp(name, "features")) {
		link_on_features(l, st);
	} else if (!strcmp(ns, XS2S_NS_TLS)) {
		if (!strcmp(name, "starttls")) {
			link_on_starttls(l);
		} else if (!strcmp(name, "proceed") && l->state == XS2S_LS_STARTTLS) {
			link_begin_tls(l);
		} else {
			l->tls_required_fail = true;
			xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "peer refused STARTTLS (%s)", name);
			l->closing_done = true;
		}
	} else if (!link_plain_allowed(l)) {
		xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_NONE, "<%s/> before STARTTLS, TLS is required", name);
	} else if (!strcmp(ns, XS2S_NS_SASL) && l->tls_active && l->state != XS2S_LS_HEADER) {
		if (!strcmp(name, "auth"))
			xs2s_auth_on_auth(l, st);
		else if (!strcmp(name, "success") || !strcmp(name, "failure"))
			xs2s_auth_on_result(l, st, name[0] == 's');
		else
			xs2s_link_fail(l, XS2S_SE_UNSUPPORTED_STANZA_TYPE, XS2S_STE_NONE, "unsupported SASL element <%s/>", name);
	} else if (!strcmp(ns, XS2S_NS_DIALBACK) && (!strcmp(name, "result") || !strcmp(name, "verify"))) {
		if (l->state == XS2S_LS_HEADER || (l->dir == XS2S_DIR_OUT && l->state < XS2S_LS_AUTH))
			xs2s_link_fail(l, XS2S_SE_NOT_AUTHORIZED, XS2S_STE_NONE, "dialback before stream negotiation");
		else
			xs2s_db_handle(l, st, name[0] == 'r');
	} else if (!strcmp(ns, XS2S_NS_SERVER) &&
		   (!strcmp(name, "message") || !strcmp(name, "presence") || !strcmp(name, "iq"))) {
		link_on_stanza(l, st, name);
	} else {
		xs2s_link_fail(l, XS2S_SE_UNSUPPORTED_STANZA_TYPE, XS2S_STE_NONE, "unsupported element <%s/>", name);
	}
	xs2s_xml_free(st);
}

/* Feed plaintext to the framer. Returns bytes used; *stop is set when the
 * rest of the input must be dropped (TLS started, or the link failed). */
static size_t link_feed(struct xs2s_link *l, const uint8_t *p, size_t n, bool *stop)
{
	size_t used = 0;

	*stop = true;
	while (used < n) {
		size_t c = 0;
		int ev = xs2s_framer_feed(&l->fr, p + used, n - used, &c);

		used += c;
		if (ev < 0) {
			xs2s_link_fail(l, l->fr.err, XS2S_STE_NONE, "bad XML input");
			return used;
		}
		if (ev == XS2S_FRAME_HEADER)
			link_on_header(l);
		else if (ev == XS2S_FRAME_STANZA)
			link_on_element(l);
		else if (ev == XS2S_FRAME_CLOSE) {
			l->peer_closed = true;
			if (l->state != XS2S_LS_CLOSING)
				xs2s_link_close(l, "peer closed the stream");
			return used;
		}
		if (l->state == XS2S_LS_TLS || l->state == XS2S_LS_CLOSING || l->closing_done)
			return used;
	}
	*stop = false;
	return used;
}

static void link_flush(struct xs2s_link *l)
{
	int round;

	for (round = 0; round < 4; round++) {
		if (l->tls_active && l->ssl && l->state != XS2S_LS_TLS) {
			int rc = xs2s_tls_flush(l);
			if (rc == XS2S_ETLS || rc == XS2S_EIO) {
				xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "%s", l->reason[0] ? l->reason : "TLS write failed");
				l->closing_done = true;
				return;
			}
		} else if (!l->tls_active) {
			link_flush_plain(l);
		}
		while (l->tx_len && l->sock != XS2S_SOCK_NONE) {
			int n = xs2s_port_send(l->sock, l->tx, l->tx_len);
			if (n == XS2S_EWANTWRITE)
				return;
			if (n < 0) {
				xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "connection lost while sending");
				l->closing_done = true;
				return;
			}
			memmove(l->tx, l->tx + n, l->tx_len - (size_t)n);
			l->tx_len -= (size_t)n;
			l->bytes_out += (uint64_t)n;
			l->last_io_ms = xs2s_port_now_ms();
			if (l->state == XS2S_LS_OPEN) /* idle means no traffic either way */
				l->deadline_ms = l->last_io_ms + CONFIG_XS2S_IDLE_TIMEOUT_S * MS_PER_S;
		}
		if (!l->out_len || l->state == XS2S_LS_TLS)
			return;
	}
}

/* TLS handshake progress; on completion the stream restarts. */
static void link_handshake(struct xs2s_link *l)
{
	int rc = xs2s_tls_handshake(l);

	if (rc == XS2S_EWANTREAD || rc == XS2S_EWANTWRITE)
		return;
	if (rc != XS2S_OK) {
		xs2s_link_fail(l, XS2S_SE_NONE, rc == XS2S_ENOMEM ? XS2S_STE_RESOURCE_CONSTRAINT
								 : XS2S_STE_REMOTE_SERVER_NOT_FOUND,
			       "%s", l->reason[0] ? l->reason : "TLS handshake failed");
		l->closing_done = true;
		return;
	}
	XS2S_LOGI(l->id, "TLS established: %s %s, peer certificate %s%s", l->tls_version, l->cipher,
		  xs2s_cert_verdict_name(l->cert), l->cert == XS2S_CERT_VALID ? "" : " (dialback decides)");
	xs2s_link_restart_stream(l);
}

/* The peer's input has ended: it closed its stream (or sent a stream
 * error), or we failed the stream. Whatever follows is not parsed. */
static bool link_input_over(const struct xs2s_link *l)
{
	return l->hard_close || l->peer_closed;
}

/* Decrypt and frame what is available; bounded per call for fairness. */
static void link_process(struct xs2s_link *l)
{
	uint8_t buf[XS2S_TLS_READ_CHUNK];
	int round;

	l->more = false;
	for (round = 0; round < XS2S_STEP_READS; round++) {
		if (l->closing_done || l->state == XS2S_LS_FREE)
			return;
		if (link_input_over(l)) {
			l->rx_len = 0; /* nothing after the peer's close or our failure */
			return;
		}
		if (l->state == XS2S_LS_TLS) {
			link_handshake(l);
			if (l->state == XS2S_LS_TLS || l->closing_done)
				return;
			continue;
		}
		if (l->tls_active) {
			int n = xs2s_tls_read(l, buf, sizeof buf);
			if (n == XS2S_EWANTREAD || n == XS2S_EWANTWRITE)
				return;
			if (n == XS2S_EIO) {
				l->peer_closed = true;
				return;
			}
			if (n < 0) {
				xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "%s", l->reason[0] ? l->reason : "TLS error");
				l->closing_done = true;
				return;
			}
			/* All of it is framed, unless the input ends on the way (a
			 * graceful close of ours still reads what the peer sends). */
			size_t off = 0;
			bool stop;

			while (off < (size_t)n) {
				off += link_feed(l, buf + off, (size_t)n - off, &stop);
				if (!stop || l->closing_done || link_input_over(l))
					break;
			}
		} else {
			size_t used;
			bool stop;

			if (!l->rx_len)
				return;
			used = link_feed(l, l->rx, l->rx_len, &stop);
			if (stop && (l->state == XS2S_LS_TLS || l->closing_done || link_input_over(l))) {
				/* No STARTTLS injection: bytes after <starttls/> or <proceed/> are
				 * dropped; so is what follows the end of the input. */
				if (l->state == XS2S_LS_TLS && l->rx_len > used)
					XS2S_LOGW(l->id, "discarding %zu plaintext bytes received after STARTTLS",
						  l->rx_len - used);
				l->rx_len = 0;
				continue;
			}
			memmove(l->rx, l->rx + used, l->rx_len - used);
			l->rx_len -= used;
		}
	}
	l->more = true;
}

static void link_read(struct xs2s_link *l)
{
	while (l->rx_len < sizeof l->rx && l->sock != XS2S_SOCK_NONE) {
		int n = xs2s_port_recv(l->sock, l->rx + l->rx_len, sizeof l->rx - l->rx_len);
		if (n == XS2S_EWANTREAD)
			return;
		if (n < 0) {
			l->eof = true;
			return;
		}
		l->rx_len += (size_t)n;
		l->bytes_in += (uint64_t)n;
		l->last_io_ms = xs2s_port_now_ms();
		if (l->state == XS2S_LS_OPEN) /* any traffic, whitespace keepalives too */
			l->deadline_ms = l->last_io_ms + CONFIG_XS2S_IDLE_TIMEOUT_S * MS_PER_S;
		if (l->tls_active)
			return; /* let TLS take what it needs before reading more */
	}
}

void xs2s_link_step(struct xs2s_link *l, uint8_t got)
{
	if (l->state == XS2S_LS_RESOLVE) {
		link_connect(l);
		return;
	}
	if (l->state == XS2S_LS_CONNECT) {
		int rc;
		if (!got)
			return;
		rc = xs2s_port_connect_done(l->sock);
		if (rc == XS2S_EAGAIN)
			return;
		if (rc != XS2S_OK) {
			XS2S_LOGI(l->id, "connect to %s:%u failed", l->addr, l->port);
			if (link_try_next(l))
				return;
			xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "connect to %s:%u failed",
				       l->addr, l->port);
			l->closing_done = true;
			return;
		}
		if (link_send_header(l) != XS2S_OK) {
			xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_RESOURCE_CONSTRAINT, "no room for header");
			l->closing_done = true;
			return;
		}
		xs2s_link_set_state(l, XS2S_LS_HEADER);
	}
	link_flush(l);
	if (!l->closing_done && !l->eof)
		link_read(l);
	link_process(l);
	link_flush(l);
	if (l->state == XS2S_LS_CLOSING && !l->out_len && !l->tx_len && (l->hard_close || l->peer_closed))
		l->closing_done = true;
	if (l->eof && !l->closing_done && !l->more) {
		if (l->state != XS2S_LS_CLOSING)
			xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND,
				       "connection closed by peer in state %s", xs2s_link_state_name(l->state));
		l->closing_done = true;
	}
}

void xs2s_link_timer(struct xs2s_link *l, uint32_t now)
{
	if (!XS2S_TIME_REACHED(now, l->deadline_ms))
		return;
	switch (l->state) {
	case XS2S_LS_OPEN:
		xs2s_link_close(l, "idle timeout");
		break;
	case XS2S_LS_CLOSING:
		l->closing_done = true;
		break;
	case XS2S_LS_RESOLVE:
	case XS2S_LS_CONNECT:
		xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_TIMEOUT, "connect timed out");
		l->closing_done = true;
		break;
	default:
		xs2s_link_fail(l, XS2S_SE_CONNECTION_TIMEOUT, XS2S_STE_REMOTE_SERVER_TIMEOUT,
			       "stream setup timed out in state %s", xs2s_link_state_name(l->state));
		break;
	}
}

bool xs2s_link_has_work(const struct xs2s_link *l)
{
	if (l->state == XS2S_LS_RESOLVE) /* not while the lookup runs, nor while every slot is busy */
		return l->resolve_h < 0 ? xs2s_resolve_can_start() : xs2s_resolve_done(l->resolve_h);
	return l->more || (l->ssl && xs2s_tls_pending((struct xs2s_link *)l) > 0);
}

uint8_t xs2s_link_poll_want(const struct xs2s_link *l)
{
	uint8_t w = 0;

	if (l->sock == XS2S_SOCK_NONE)
		return 0;
	if (l->state == XS2S_LS_CONNECT)
		return XS2S_POLL_OUT;
	if (l->rx_len < sizeof l->rx && !l->eof)
		w |= XS2S_POLL_IN;
	if (l->tx_len || l->out_len)
		w |= XS2S_POLL_OUT;
	return w;
}

void xs2s_link_release(struct xs2s_link *l)
{
	unsigned i, slot = xs2s_link_slot(l);
	struct xs2s_arena *ta = xs2s_tls_arena();

	if (l->dir == XS2S_DIR_OUT && l->resolve_h >= 0) {
		xs2s_resolve_cancel(l->resolve_h);
		l->resolve_h = -1;
	}
	if (l->dir == XS2S_DIR_OUT)
		xs2s_db_link_gone(l);
	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++)
		if (l->pairs[i].state != XS2S_PAIR_FREE && l->pairs[i].queued)
			xs2s_router_pair_failed(l, i, l->bounce != XS2S_STE_NONE ? l->bounce
								    : XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	if (l->ssl && !l->tls_required_fail && l->state != XS2S_LS_TLS && l->sock != XS2S_SOCK_NONE && !l->eof) {
		xs2s_tls_end(l, true);
		if (l->tx_len)
			xs2s_port_send(l->sock, l->tx, l->tx_len); /* best-effort close_notify */
	}
	xs2s_tls_end(l, false);
	if (l->sock != XS2S_SOCK_NONE)
		xs2s_port_close(l->sock);
	XS2S_LOGI(l->id, "closed %s %s %s after %us: %s; stanzas in %u out %u, bytes in %llu out %llu, TLS arena peak %zu",
		  l->dir == XS2S_DIR_IN ? "in" : "out", l->local_domain, l->peer_domain[0] ? l->peer_domain : "?",
		  (unsigned)((xs2s_port_now_ms() - l->created_ms) / MS_PER_S), l->reason[0] ? l->reason : "normal close",
		  l->stanzas_in, l->stanzas_out, (unsigned long long)l->bytes_in, (unsigned long long)l->bytes_out,
		  ta->owner_high[slot + 1]);
}
