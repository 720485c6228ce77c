/* Local delivery; the action points are in local.h. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "lib/crypto.h"
#include "xs2s_wbuf.h"
#include "local/local.h"

#define NS_PING "urn:xmpp:ping"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define INBOX_FIELDS 5       /* from, to, type, error, body */
#define INBOX_LEN_BYTES 2    /* a record starts with its length, big-endian */
#define LOCAL_LOG_JID 256    /* bytes of a JID shown in a bounce's log line */

void xs2s_local_init(struct xs2s_local *loc, const struct xs2s_env *env)
{
	loc->env = env;
	loc->inbox_used = loc->inbox_high = 0;
	loc->inbox_count = 0;
	loc->scratch_high = 0;
}

/* ---- the inbox ---- */

/* One field of an inbox record: a C string, escaped XML text (a span of
 * one of our own stanzas) or an element's text. */
struct inbox_field {
	const char *s;
	size_t n;
	const struct xs2s_el *el;
	bool escaped;
};

static size_t inbox_field_len(const struct inbox_field *f)
{
	if (f->el)
		return xs2s_el_text_len(f->el);
	return f->escaped ? xs2s_unesc_len(f->s, f->n) : f->n;
}

/* Record: 2-byte length, then from, to, type, error, body, each NUL-ended. */
static int inbox_put(struct xs2s_local *loc, const struct inbox_field f[INBOX_FIELDS])
{
	size_t need = INBOX_LEN_BYTES, i;
	struct xs2s_wbuf w;

	for (i = 0; i < INBOX_FIELDS; i++)
		need += inbox_field_len(&f[i]) + 1;
	if (need > sizeof loc->inbox - loc->inbox_used || need > UINT16_MAX)
		return XS2S_ENOMEM;
	loc->inbox[loc->inbox_used] = (char)(need >> 8);
	loc->inbox[loc->inbox_used + 1] = (char)(need & 0xff);
	/* need bytes fit, and the last one is a NUL: the writer has its room. */
	xs2s_w_init(&w, loc->inbox + loc->inbox_used + INBOX_LEN_BYTES, need - INBOX_LEN_BYTES);
	for (i = 0; i < INBOX_FIELDS; i++) {
		if (f[i].el) {
			int n = xs2s_el_text(f[i].el, w.p + w.len, w.cap - w.len);
			w.len += n > 0 ? (size_t)n : 0;
		} else if (f[i].escaped) {
			xs2s_w_unesc(&w, f[i].s, f[i].n);
		} else {
			xs2s_w_bytes(&w, f[i].s, f[i].n);
		}
		w.p[w.len++] = '\0'; /* every field ends with a NUL */
	}
	loc->inbox_used += need;
	if (loc->inbox_used > loc->inbox_high)
		loc->inbox_high = loc->inbox_used;
	loc->inbox_count++;
	return XS2S_OK;
}

static struct inbox_field inbox_str(const char *s)
{
	struct inbox_field f = { s ? s : "", s ? strlen(s) : 0, NULL, false };
	return f;
}

static struct inbox_field inbox_span(const char *xml, struct xs2s_span sp)
{
	struct inbox_field f = { xml + sp.off, sp.len, NULL, true };
	return f;
}

int xs2s_local_inbox_peek(struct xs2s_local *loc, const char **fields)
{
	const char *p = loc->inbox + INBOX_LEN_BYTES;
	unsigned i;

	if (!loc->inbox_count)
		return XS2S_ENOTFOUND;
	for (i = 0; i < INBOX_FIELDS; i++) {
		fields[i] = p;
		p += strlen(p) + 1;
	}
	return XS2S_OK;
}

void xs2s_local_inbox_pop(struct xs2s_local *loc)
{
	size_t n;

	if (!loc->inbox_count)
		return;
	n = ((size_t)(unsigned char)loc->inbox[0] << 8) | (unsigned char)loc->inbox[1];
	memmove(loc->inbox, loc->inbox + n, loc->inbox_used - n);
	loc->inbox_used -= n;
	loc->inbox_count--;
}

/* ---- building stanzas ---- */

/* Start a stanza in the scratch buffer. */
static void local_begin(struct xs2s_local *loc, struct xs2s_wbuf *w, struct xs2s_outgoing *out)
{
	memset(out, 0, sizeof *out);
	xs2s_w_init(w, loc->scratch, sizeof loc->scratch);
}

/* Escaped s, remembered as a span of the stanza. */
static void local_span(struct xs2s_wbuf *w, const char *s, struct xs2s_span *sp)
{
	size_t start = w->len;

	xs2s_w_esc(w, s);
	sp->off = (uint16_t)start;
	sp->len = (uint16_t)(w->len - start);
}

/* Finish: XS2S_OK with out filled, or XS2S_ERANGE. */
static int local_end(struct xs2s_local *loc, struct xs2s_wbuf *w, struct xs2s_outgoing *out, const char *from,
		     const char *to)
{
	if (w->overflow || xs2s_jid_domain(from, out->from, sizeof out->from) ||
	    xs2s_jid_domain(to, out->to, sizeof out->to)) {
		out->len = 0;
		return XS2S_ERANGE;
	}
	out->xml = loc->scratch;
	out->len = w->len;
	if (w->len > loc->scratch_high)
		loc->scratch_high = w->len;
	return XS2S_OK;
}

/* <NAME type='error' from=TO to=FROM id=ID><error ...><COND/></error></NAME> */
static void local_error(struct xs2s_local *loc, const char *name, const char *from, const char *to, const char *id,
			enum xs2s_stanza_err cond, struct xs2s_outgoing *out)
{
	struct xs2s_wbuf w;

	local_begin(loc, &w, out);
	out->meta.kind = !strcmp(name, "iq") ? XS2S_ST_IQ : XS2S_ST_MESSAGE;
	xs2s_w_fmt(&w, "<%s type='error' from='", name);
	local_span(&w, to, &out->meta.from);
	xs2s_w_raw(&w, "' to='");
	local_span(&w, from, &out->meta.to);
	if (id) {
		xs2s_w_raw(&w, "' id='");
		local_span(&w, id, &out->meta.id);
	}
	xs2s_w_fmt(&w, "'><error type='%s'><%s xmlns='" XS2S_NS_STANZA_ERR "'/></error></%s>",
		   xs2s_stanza_err_type(cond), xs2s_stanza_err_name(cond), name);
	out->what = xs2s_stanza_err_name(cond);
	if (local_end(loc, &w, out, to, from) != XS2S_OK)
		XS2S_LOGW(0, "cannot send %s error to %s: it does not fit", xs2s_stanza_err_name(cond), from);
}

static void local_iq(struct xs2s_local *loc, unsigned link_id, const struct xs2s_el *st, const char *from,
		     const char *to, struct xs2s_outgoing *out)
{
	const char *type = xs2s_el_attr(st, "type");
	const char *id = xs2s_el_attr(st, "id");
	struct xs2s_el q;
	bool has_q = xs2s_el_child(st, NULL, NULL, &q);
	bool to_domain = !strchr(to, '@') && !strchr(to, '/');
	bool get = type && !strcmp(type, "get");
	struct xs2s_wbuf w;

	if (!type || (strcmp(type, "get") && strcmp(type, "set"))) {
		XS2S_LOGD(link_id, "iq %s from %s dropped: nothing waits for it", type ? type : "?", from);
		return;
	}
	if (!id) {
		local_error(loc, "iq", from, to, NULL, XS2S_STE_BAD_REQUEST, out);
		return;
	}
	if (!to_domain || !get || !has_q ||
	    !(xs2s_el_is(&q, NS_PING, "ping") || xs2s_el_is(&q, NS_DISCO_INFO, "query"))) {
		local_error(loc, "iq", from, to, id, XS2S_STE_SERVICE_UNAVAILABLE, out);
		return;
	}
	local_begin(loc, &w, out);
	out->meta.kind = XS2S_ST_IQ;
	xs2s_w_raw(&w, "<iq type='result' from='");
	local_span(&w, to, &out->meta.from);
	xs2s_w_raw(&w, "' to='");
	local_span(&w, from, &out->meta.to);
	xs2s_w_raw(&w, "' id='");
	local_span(&w, id, &out->meta.id);
	if (xs2s_el_is(&q, NS_PING, "ping"))
		xs2s_w_raw(&w, "'/>");
	else
		xs2s_w_raw(&w, "'><query xmlns='" NS_DISCO_INFO "'><identity category='server' type='im' name='xs2s'/>"
			       "<feature var='" NS_DISCO_INFO "'/><feature var='" NS_PING "'/></query></iq>");
	out->what = "iq result";
	if (local_end(loc, &w, out, to, from) != XS2S_OK)
		XS2S_LOGW(link_id, "cannot answer iq from %s: the answer does not fit", from);
}

/* The condition of an error stanza, as an element view, or false. */
static bool local_error_cond(const struct xs2s_el *st, struct xs2s_el *c)
{
	struct xs2s_el e;

	if (!xs2s_el_child(st, NULL, "error", &e) || !xs2s_el_child(&e, XS2S_NS_STANZA_ERR, NULL, c))
		return false;
	/* RFC 6120 8.3.2: the condition, then an optional <text/>, in either order. */
	while (!strcmp(xs2s_el_name(c), "text"))
		if (!xs2s_el_next(c))
			return false;
	return xs2s_el_is(c, XS2S_NS_STANZA_ERR, NULL);
}

void xs2s_local_deliver(struct xs2s_local *loc, unsigned link_id, const struct xs2s_el *st, struct xs2s_outgoing *out)
{
	const char *name = xs2s_el_name(st);
	const char *from = xs2s_el_attr(st, "from");
	const char *to = xs2s_el_attr(st, "to");
	const char *type = xs2s_el_attr(st, "type");
	struct inbox_field f[INBOX_FIELDS];
	struct xs2s_el body, cond;
	bool is_error;

	memset(out, 0, sizeof *out);
	if (!strcmp(name, "iq")) {
		local_iq(loc, link_id, st, from, to, out);
		return;
	}
	if (strcmp(name, "message")) {
		XS2S_LOGD(link_id, "presence from %s dropped: no presence service", from);
		return;
	}
	if (!type || !type[0])
		type = "normal";
	is_error = !strcmp(type, "error");
	f[0] = inbox_str(from);
	f[1] = inbox_str(to);
	f[2] = inbox_str(type);
	f[3] = inbox_str(is_error && local_error_cond(st, &cond) ? xs2s_el_name(&cond) : "");
	f[4] = inbox_str("");
	/* The body in the stanza's own namespace (jabber:server, or a
	 * component's jabber:component:accept). */
	if (xs2s_el_child(st, xs2s_el_nsuri(st), "body", &body)) {
		f[4].el = &body;
		if (xs2s_el_text_len(&body) >= CONFIG_XS2S_MAX_STANZA)
			f[4].el = NULL; /* cannot be: the framer bounds a stanza */
	}
	if (inbox_put(loc, f) != XS2S_OK) {
		XS2S_LOGW(link_id, "inbox full: message from %s to %s refused", from, to);
		if (!is_error)
			local_error(loc, "message", from, to, xs2s_el_attr(st, "id"), XS2S_STE_RESOURCE_CONSTRAINT, out);
		return;
	}
	XS2S_LOGI(link_id, "message from %s to %s delivered to the inbox", from, to);
}

void xs2s_local_bounce(struct xs2s_local *loc, const char *xml, size_t len, const struct xs2s_stanza_meta *m,
		       enum xs2s_stanza_err cond)
{
	static const char *const kinds[] = { "message", "presence", "iq" };
	char from[LOCAL_LOG_JID], to[LOCAL_LOG_JID];
	struct xs2s_wbuf w;
	struct inbox_field f[INBOX_FIELDS];

	(void)len;
	xs2s_w_init(&w, from, sizeof from);
	xs2s_w_unesc(&w, xml + m->from.off, m->from.len);
	xs2s_w_init(&w, to, sizeof to);
	xs2s_w_unesc(&w, xml + m->to.off, m->to.len);
	if (!m->bounce) {
		XS2S_LOGW(0, "undeliverable %s to %s discarded: %s (errors and replies are not bounced)",
			  m->kind < 3 ? kinds[m->kind] : "?", to, xs2s_stanza_err_name(cond));
		return;
	}
	/* RFC 6120 8.3.1: the error goes back to the sender, from the recipient. */
	f[0] = inbox_span(xml, m->to);
	f[1] = inbox_span(xml, m->from);
	f[2] = inbox_str("error");
	f[3] = inbox_str(xs2s_stanza_err_name(cond));
	f[4] = inbox_span(xml, m->body);
	if (inbox_put(loc, f) == XS2S_OK)
		XS2S_LOGI(0, "bounced message from %s to %s: %s", from, to, xs2s_stanza_err_name(cond));
	else
		XS2S_LOGE(0, "inbox full: bounce of message from %s to %s (%s) lost", from, to,
			  xs2s_stanza_err_name(cond));
}

int xs2s_local_message(struct xs2s_local *loc, const char *from, const char *to, const char *body,
		       struct xs2s_outgoing *out)
{
	char fd[XS2S_DOMAIN_MAX + 1], td[XS2S_DOMAIN_MAX + 1], id[17];
	struct xs2s_wbuf w;

	memset(out, 0, sizeof *out);
	if (xs2s_jid_domain(from, fd, sizeof fd) || xs2s_jid_domain(to, td, sizeof td) || !xs2s_env_local(loc->env, fd))
		return XS2S_EINVAL;
	if (xs2s_env_local(loc->env, td)) {
		struct inbox_field f[INBOX_FIELDS] = { inbox_str(from), inbox_str(to), inbox_str("chat"), inbox_str(""),
						       inbox_str(body) };
		return inbox_put(loc, f);
	}
	xs2s_random_hex(id, 16);
	local_begin(loc, &w, out);
	out->meta.kind = XS2S_ST_MESSAGE;
	out->meta.bounce = true;
	xs2s_w_raw(&w, "<message type='chat' from='");
	local_span(&w, from, &out->meta.from);
	xs2s_w_raw(&w, "' to='");
	local_span(&w, to, &out->meta.to);
	xs2s_w_raw(&w, "' id='");
	local_span(&w, id, &out->meta.id);
	xs2s_w_raw(&w, "'><body>");
	local_span(&w, body, &out->meta.body);
	xs2s_w_raw(&w, "</body></message>");
	out->what = "message";
	return local_end(loc, &w, out, from, to);
}
