/* The local side: stanzas for the local domains, the inbox, bounces, and
 * the messages the device's applications send.
 *
 * Action points (inbound, already authenticated by link.c)
 *   message: into the inbox; inbox full -> error resource-constraint back.
 *   iq get/set to the bare domain: urn:xmpp:ping -> result; disco#info ->
 *     identity and features; anything else, or to a user JID ->
 *     service-unavailable. iq result/error: nothing waits for them, dropped
 *     with a debug line.
 *   presence: no presence service here, dropped with a debug line.
 * Errors are never answered with errors (RFC 6120 8.3.1).
 */
#include <string.h>
#include "xs2s_int.h"

#define NS_PING "urn:xmpp:ping"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define INBOX_FIELDS 5

static char inbox[CONFIG_XS2S_INBOX_BYTES];
static size_t inbox_used, inbox_high;
static unsigned inbox_count;

void xs2s_local_init(void)
{
	inbox_used = inbox_high = 0;
	inbox_count = 0;
}

bool xs2s_domain_valid(const char *d)
{
	size_t n = strlen(d), i;

	if (n == 0 || n > XS2S_DOMAIN_MAX || d[0] == '.' || d[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)d[i];
		if (c <= ' ' || c == '@' || c == '/' || c == '\'' || c == '"' || c == '<' || c == '>' || c == '&' ||
		    c == ':' || c == 0x7f)
			return false;
	}
	return true;
}

int xs2s_jid_domain(const char *jid, char *out, size_t cap)
{
	const char *at = strchr(jid, '@'), *d = at ? at + 1 : jid, *slash;
	size_t n;

	slash = strchr(d, '/');
	n = slash ? (size_t)(slash - d) : strlen(d);
	if (at && at == jid)
		return XS2S_EINVAL;
	if (n == 0 || n >= cap)
		return XS2S_EINVAL;
	memcpy(out, d, n);
	out[n] = '\0';
	return xs2s_domain_valid(out) ? XS2S_OK : XS2S_EINVAL;
}

/* Record: 2-byte length, then from, to, type, error, body, each NUL-ended. */
int xs2s_inbox_put(const char *from, const char *to, const char *type, const char *error, const char *body)
{
	const char *f[INBOX_FIELDS] = { from, to, type, error, body };
	size_t need = 2, i;

	for (i = 0; i < INBOX_FIELDS; i++)
		need += strlen(f[i] ? f[i] : "") + 1;
	if (need > sizeof inbox - inbox_used || need > UINT16_MAX)
		return XS2S_ENOMEM;
	inbox[inbox_used] = (char)(need >> 8);
	inbox[inbox_used + 1] = (char)(need & 0xff);
	need = inbox_used + 2;
	for (i = 0; i < INBOX_FIELDS; i++) {
		size_t n = strlen(f[i] ? f[i] : "") + 1;
		memcpy(inbox + need, f[i] ? f[i] : "", n);
		need += n;
	}
	inbox_used = need;
	if (inbox_used > inbox_high)
		inbox_high = inbox_used;
	inbox_count++;
	return XS2S_OK;
}

int xs2s_inbox_peek(struct xs2s_inbox_msg *m)
{
	const char *p = inbox + 2;

	if (!inbox_count)
		return XS2S_ENOTFOUND;
	m->from = p;
	p += strlen(p) + 1;
	m->to = p;
	p += strlen(p) + 1;
	m->type = p;
	p += strlen(p) + 1;
	m->error = p;
	p += strlen(p) + 1;
	m->body = p;
	return XS2S_OK;
}

void xs2s_inbox_pop(void)
{
	size_t n;

	if (!inbox_count)
		return;
	n = ((size_t)(unsigned char)inbox[0] << 8) | (unsigned char)inbox[1];
	memmove(inbox, inbox + n, inbox_used - n);
	inbox_used -= n;
	inbox_count--;
}

void xs2s_inbox_stats(size_t *used, size_t *high, size_t *size, unsigned *count)
{
	*used = inbox_used;
	*high = inbox_high;
	*size = sizeof inbox;
	*count = inbox_count;
}

/* Send a complete stanza from a local domain to a remote JID's domain. */
static int local_route(const char *from, const char *to, const char *xml, size_t len)
{
	char fd[XS2S_DOMAIN_MAX + 1], td[XS2S_DOMAIN_MAX + 1];

	if (xs2s_jid_domain(from, fd, sizeof fd) || xs2s_jid_domain(to, td, sizeof td))
		return XS2S_EINVAL;
	return xs2s_router_send(fd, td, xml, len);
}

/* <NAME type='error' from=TO to=FROM id=ID><error ...><COND/></error></NAME> */
static void local_reply_error(const char *name, const char *from, const char *to, const char *id,
			      enum xs2s_stanza_err cond)
{
	char buf[1200];
	struct xs2s_wbuf w;

	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_fmt(&w, "<%s type='error' from='", name);
	xs2s_w_esc(&w, to);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, from);
	if (id) {
		xs2s_w_raw(&w, "' id='");
		xs2s_w_esc(&w, id);
	}
	xs2s_w_fmt(&w, "'><error type='%s'><%s xmlns='" XS2S_NS_STANZA_ERR "'/></error></%s>",
		   xs2s_stanza_err_type(cond), xs2s_stanza_err_name(cond), name);
	if (w.overflow || local_route(to, from, buf, w.len) != XS2S_OK)
		XS2S_LOGW(0, "cannot send %s error to %s", xs2s_stanza_err_name(cond), from);
}

static void local_iq(struct xs2s_link *l, mxml_node_t *st, const char *from, const char *to)
{
	const char *type = xs2s_xml_attr(st, "type");
	const char *id = xs2s_xml_attr(st, "id");
	mxml_node_t *q = xs2s_xml_child(st, NULL, NULL, &l->ns);
	char buf[1200];
	struct xs2s_wbuf w;
	bool to_domain = !strchr(to, '@') && !strchr(to, '/');

	if (!type || (strcmp(type, "get") && strcmp(type, "set"))) {
		XS2S_LOGD(l->id, "iq %s from %s dropped: nothing waits for it", type ? type : "?", from);
		return;
	}
	if (!id) {
		local_reply_error("iq", from, to, NULL, XS2S_STE_BAD_REQUEST);
		return;
	}
	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_raw(&w, "<iq type='result' from='");
	xs2s_w_esc(&w, to);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, from);
	xs2s_w_raw(&w, "' id='");
	xs2s_w_esc(&w, id);
	if (to_domain && !strcmp(type, "get") && q && xs2s_xml_is(q, NS_PING, "ping", &l->ns)) {
		xs2s_w_raw(&w, "'/>");
	} else if (to_domain && !strcmp(type, "get") && q && xs2s_xml_is(q, NS_DISCO_INFO, "query", &l->ns)) {
		xs2s_w_raw(&w, "'><query xmlns='" NS_DISCO_INFO "'><identity category='server' type='im' name='xs2s'/>"
			       "<feature var='" NS_DISCO_INFO "'/><feature var='" NS_PING "'/></query></iq>");
	} else {
		local_reply_error("iq", from, to, id, XS2S_STE_SERVICE_UNAVAILABLE);
		return;
	}
	if (w.overflow || local_route(to, from, buf, w.len) != XS2S_OK)
		XS2S_LOGW(l->id, "cannot answer iq from %s", from);
}

/* The condition of an error stanza, or "" when there is none. */
static const char *local_error_cond(struct xs2s_link *l, mxml_node_t *st)
{
	mxml_node_t *e = xs2s_xml_child(st, NULL, "error", &l->ns);
	mxml_node_t *c = e ? xs2s_xml_child(e, XS2S_NS_STANZA_ERR, NULL, &l->ns) : NULL;

	if (c && !strcmp(xs2s_xml_local(c), "text"))
		c = xs2s_xml_next(c);
	return c ? xs2s_xml_local(c) : "";
}

int xs2s_local_deliver(struct xs2s_link *l, mxml_node_t *st, const char *name)
{
	const char *from = xs2s_xml_attr(st, "from");
	const char *to = xs2s_xml_attr(st, "to");
	const char *type = xs2s_xml_attr(st, "type");
	static char body[CONFIG_XS2S_MAX_STANZA]; /* static: keep the stack small */
	mxml_node_t *b;

	if (!strcmp(name, "iq")) {
		local_iq(l, st, from, to);
		return XS2S_OK;
	}
	if (strcmp(name, "message")) {
		XS2S_LOGD(l->id, "presence from %s dropped: no presence service", from);
		return XS2S_OK;
	}
	b = xs2s_xml_child(st, XS2S_NS_SERVER, "body", &l->ns);
	body[0] = '\0';
	if (b && xs2s_xml_text(b, body, sizeof body) < 0)
		body[0] = '\0';
	if (!type || !type[0])
		type = "normal";
	if (xs2s_inbox_put(from, to, type, !strcmp(type, "error") ? local_error_cond(l, st) : "", body) != XS2S_OK) {
		XS2S_LOGW(l->id, "inbox full: message from %s to %s refused", from, to);
		if (strcmp(type, "error"))
			local_reply_error("message", from, to, xs2s_xml_attr(st, "id"), XS2S_STE_RESOURCE_CONSTRAINT);
		return XS2S_ENOMEM;
	}
	XS2S_LOGI(l->id, "message from %s to %s delivered to the inbox", from, to);
	return XS2S_OK;
}

void xs2s_local_bounce(const char *xml, size_t len, enum xs2s_stanza_err cond)
{
	static const struct xs2s_ns_ctx ns = { .default_ns = XS2S_NS_SERVER };
	static char copy[CONFIG_XS2S_MAX_STANZA + 1]; /* static: keep the stack small */
	static char body[CONFIG_XS2S_MAX_STANZA];
	mxml_node_t *st, *b;
	const char *from, *to, *type;

	if (len >= sizeof copy)
		len = sizeof copy - 1;
	memcpy(copy, xml, len);
	copy[len] = '\0';
	if (xs2s_xml_parse(copy, len, &st) != XS2S_OK) {
		XS2S_LOGE(0, "cannot parse a queued stanza to bounce it (%s)", xs2s_stanza_err_name(cond));
		return;
	}
	from = xs2s_xml_attr(st, "from");
	to = xs2s_xml_attr(st, "to");
	type = xs2s_xml_attr(st, "type");
	if (!strcmp(xs2s_xml_local(st), "message") && from && to && !(type && !strcmp(type, "error"))) {
		b = xs2s_xml_child(st, XS2S_NS_SERVER, "body", &ns);
		body[0] = '\0';
		if (b && xs2s_xml_text(b, body, sizeof body) < 0)
			body[0] = '\0';
		if (xs2s_inbox_put(to, from, "error", xs2s_stanza_err_name(cond), body) == XS2S_OK)
			XS2S_LOGI(0, "bounced message from %s to %s: %s", from, to, xs2s_stanza_err_name(cond));
		else
			XS2S_LOGE(0, "inbox full: bounce of message from %s to %s (%s) lost", from, to,
				  xs2s_stanza_err_name(cond));
	} else {
		XS2S_LOGW(0, "undeliverable %s to %s discarded: %s (errors and replies are not bounced)",
			  xs2s_xml_local(st), to ? to : "?", xs2s_stanza_err_name(cond));
	}
	xs2s_xml_free(st);
}

int xs2s_send_message(const char *from, const char *to, const char *body)
{
	static char buf[CONFIG_XS2S_MAX_STANZA]; /* static: keep the stack small */
	char fd[XS2S_DOMAIN_MAX + 1], td[XS2S_DOMAIN_MAX + 1], id[17];
	struct xs2s_wbuf w;

	if (xs2s_jid_domain(from, fd, sizeof fd) || xs2s_jid_domain(to, td, sizeof td) || !xs2s_is_local_domain(fd))
		return XS2S_EINVAL;
	if (xs2s_is_local_domain(td))
		return xs2s_inbox_put(from, to, "chat", "", body);
	xs2s_random_hex(id, 16);
	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_raw(&w, "<message type='chat' from='");
	xs2s_w_esc(&w, from);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, to);
	xs2s_w_fmt(&w, "' id='%s'><body>", id);
	xs2s_w_esc(&w, body);
	xs2s_w_raw(&w, "</body></message>");
	if (w.overflow)
		return XS2S_ERANGE;
	return xs2s_router_send(fd, td, buf, w.len);
}
