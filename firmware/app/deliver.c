/* Local delivery: a stanza for a local JID goes to an iq request's
 * callback, a handler, a built-in answer or the inbox, in that order
 * (app.h); bounces and error replies. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "app/app.h"

/* ---- handlers ---- */

static int app_copy(char *dst, size_t cap, const char *s)
{
	if (!s) {
		dst[0] = '\0';
		return XS2S_OK;
	}
	if (strlen(s) >= cap)
		return XS2S_EINVAL;
	memcpy(dst, s, strlen(s) + 1);
	return XS2S_OK;
}

int xs2s_app_handler_add(struct xs2s_app *app, const struct xs2s_match *m, xs2s_handler_fn fn, void *arg)
{
	struct xs2s_app_handler h;
	char d[XS2S_DOMAIN_MAX + 1];
	unsigned i;

	if (!m || !fn || m->kind < XS2S_ANY_KIND || m->kind > XS2S_IQ)
		return XS2S_EINVAL;
	memset(&h, 0, sizeof h);
	if (app_copy(h.jid, sizeof h.jid, m->jid) || app_copy(h.type, sizeof h.type, m->type) ||
	    app_copy(h.element, sizeof h.element, m->element) || app_copy(h.ns, sizeof h.ns, m->ns))
		return XS2S_EINVAL;
	if (h.jid[0] && (xs2s_jid_domain(h.jid, d, sizeof d) || !xs2s_env_local(app->env, d)))
		return XS2S_EINVAL;
	h.kind = m->kind;
	h.fn = fn;
	h.arg = arg;
	for (i = 0; i < CONFIG_XS2S_APP_HANDLERS; i++) {
		if (app->handlers[i].id)
			continue;
		if (++app->next_handler_id <= 0)
			app->next_handler_id = 1;
		h.id = app->next_handler_id;
		app->handlers[i] = h;
		if (++app->handlers_used > app->handlers_high)
			app->handlers_high = app->handlers_used;
		return h.id;
	}
	app->handlers_refused++;
	return XS2S_ENOMEM;
}

int xs2s_app_handler_remove(struct xs2s_app *app, int id)
{
	unsigned i;

	for (i = 0; id > 0 && i < CONFIG_XS2S_APP_HANDLERS; i++)
		if (app->handlers[i].id == id) {
			memset(&app->handlers[i], 0, sizeof app->handlers[i]);
			app->handlers_used--;
			return XS2S_OK;
		}
	return XS2S_ENOTFOUND;
}

/* JIDs compare case-insensitively up to the resource (RFC 7622: the
 * localpart and domainpart are case-folded; the resource is not). */
static bool app_jid_eq(const char *a, const char *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char x = a[i], y = b[i];

		if (x == '/')
			return !strncmp(a + i, b + i, n - i);
		if (x >= 'A' && x <= 'Z')
			x = (char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (char)(y - 'A' + 'a');
		if (x != y)
			return false;
	}
	return true;
}

/* The handler's JID: a full JID (that one), a bare JID (it and its
 * resources) or a domain (everything there). */
static bool app_match_jid(const char *want, const char *to)
{
	size_t n = strlen(want), t = strlen(to);
	const char *at, *d;

	if (!want[0])
		return true;
	if (strchr(want, '/'))
		return n == t && app_jid_eq(want, to, n);
	if (strchr(want, '@'))
		return (t == n || (t > n && to[n] == '/')) && app_jid_eq(want, to, n);
	at = strchr(to, '@');
	d = at ? at + 1 : to;
	t = strcspn(d, "/");
	return t == n && app_jid_eq(want, d, n);
}

static bool app_match(const struct xs2s_app_handler *h, const struct xs2s_stanza_in *in)
{
	struct xs2s_view c;

	if (h->kind != XS2S_ANY_KIND && h->kind != in->kind)
		return false;
	if (h->type[0] && strcmp(h->type, in->type) &&
	    !(in->kind == XS2S_MESSAGE && !in->type[0] && !strcmp(h->type, "normal")))
		return false;
	if (!app_match_jid(h->jid, in->to))
		return false;
	if (h->element[0])
		return xs2s_view_child(&in->top, h->element, h->ns[0] ? h->ns : NULL, &c);
	if (h->ns[0]) {
		bool more = xs2s_view_child(&in->top, NULL, NULL, &c);

		for (; more; more = xs2s_view_next(&c))
			if (!strcmp(xs2s_view_ns(&c), h->ns))
				return true;
		return false;
	}
	return true;
}

void xs2s_app_disco_features(const struct xs2s_app *app, struct xs2s_wbuf *w)
{
	unsigned i, j;

	for (i = 0; i < CONFIG_XS2S_APP_HANDLERS; i++) {
		const struct xs2s_app_handler *h = &app->handlers[i];
		bool seen = false;

		if (!h->id || !h->ns[0])
			continue;
		for (j = 0; j < i && !seen; j++)
			seen = app->handlers[j].id && !strcmp(app->handlers[j].ns, h->ns);
		if (seen)
			continue;
		xs2s_w_raw(w, "<feature var='");
		xs2s_w_esc(w, h->ns);
		xs2s_w_raw(w, "'/>");
	}
}

/* ---- errors back to a sender ---- */

/* <KIND type='error' from=TO to=FROM id=ID><error type=T><COND/><text/></error></KIND>
 * for stanza in (RFC 6120 8.3.2), through the normal output. */
static void app_error_reply(struct xs2s_app *app, const struct xs2s_stanza_in *in, enum xs2s_stanza_err cond,
			    const char *text)
{
	const char *kind = xs2s_app_kind_name(in->kind);
	struct xs2s_wbuf w;
	int rc;

	xs2s_w_init(&w, app->scratch, CONFIG_XS2S_MAX_STANZA + 1);
	xs2s_w_fmt(&w, "<%s type='error' from='", kind);
	xs2s_w_esc(&w, in->to);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, in->from);
	if (in->id[0]) {
		xs2s_w_raw(&w, "' id='");
		xs2s_w_esc(&w, in->id);
	}
	xs2s_w_fmt(&w, "'><error type='%s'><%s xmlns='" XS2S_NS_STANZA_ERR "'/>", xs2s_stanza_err_type(cond),
		   xs2s_stanza_err_name(cond));
	if (text && text[0]) {
		xs2s_w_raw(&w, "<text xmlns='" XS2S_NS_STANZA_ERR "'>");
		xs2s_w_esc(&w, text);
		xs2s_w_raw(&w, "</text>");
	}
	xs2s_w_fmt(&w, "</error></%s>", kind);
	rc = w.overflow ? XS2S_ERANGE : xs2s_app_submit(app, app->scratch, w.len, 0, 0);
	if (rc != XS2S_OK)
		XS2S_LOGW(0, "cannot send %s error to %s: %s", xs2s_stanza_err_name(cond), in->from, xs2s_err_name(rc));
}

void xs2s_app_result_begin(struct xs2s_app *app, const struct xs2s_stanza_in *req, struct xs2s_wbuf *w)
{
	xs2s_w_init(w, app->scratch, CONFIG_XS2S_MAX_STANZA + 1);
	xs2s_w_raw(w, "<iq type='result' from='");
	xs2s_w_esc(w, req->to);
	xs2s_w_raw(w, "' to='");
	xs2s_w_esc(w, req->from);
	xs2s_w_raw(w, "' id='");
	xs2s_w_esc(w, req->id);
	xs2s_w_raw(w, "'>");
	app->result_hdr = w->len;
}

int xs2s_app_result_end(struct xs2s_app *app, struct xs2s_wbuf *w)
{
	if (!w->overflow && w->len == app->result_hdr) {
		w->len--; /* no payload: <iq .../> */
		xs2s_w_raw(w, "/>");
	} else {
		xs2s_w_raw(w, "</iq>");
	}
	if (w->overflow || w->len > CONFIG_XS2S_MAX_STANZA)
		return XS2S_ERANGE;
	return xs2s_app_submit(app, app->scratch, w->len, 0, 0);
}

int xs2s_app_iq_answer(struct xs2s_app *app, const struct xs2s_stanza_in *req, const char *payload,
		       const char *condition, const char *text)
{
	enum xs2s_stanza_err cond;
	struct xs2s_wbuf w;

	if (!req || req->kind != XS2S_IQ || (strcmp(req->type, "get") && strcmp(req->type, "set")))
		return XS2S_EINVAL;
	if (condition) {
		cond = xs2s_stanza_err_by_name(condition);
		if (cond == XS2S_STE_NONE)
			return XS2S_EINVAL;
		app_error_reply(app, req, cond, text);
		return XS2S_OK;
	}
	xs2s_app_result_begin(app, req, &w);
	xs2s_w_raw(&w, payload);
	return xs2s_app_result_end(app, &w);
}

/* ---- delivery ---- */

static void app_dispatch(struct xs2s_app *app, unsigned link_id, const struct xs2s_el *st, const char *xml, size_t len)
{
	struct xs2s_stanza_in in;
	const char *v;
	unsigned i;

	memset(&in, 0, sizeof in);
	in.kind = xs2s_app_kind_of(xs2s_el_name(st));
	in.from = (v = xs2s_el_attr(st, "from")) ? v : "";
	in.to = (v = xs2s_el_attr(st, "to")) ? v : "";
	in.type = (v = xs2s_el_attr(st, "type")) ? v : "";
	in.id = (v = xs2s_el_attr(st, "id")) ? v : "";
	xs2s_view_of(&in.top, st);
	in.xml = xml;
	in.len = len;
	if (in.kind == XS2S_IQ && (!strcmp(in.type, "result") || !strcmp(in.type, "error")) &&
	    xs2s_app_iq_response(app, &in))
		return;
	for (i = 0; i < CONFIG_XS2S_APP_HANDLERS; i++) {
		struct xs2s_app_handler *h = &app->handlers[i];

		if (h->id && app_match(h, &in) && h->fn(app->eng, h->arg, &in)) {
			XS2S_LOGD(link_id, "%s from %s to %s handled by handler %d", xs2s_app_kind_name(in.kind), in.from,
				  in.to, h->id);
			return;
		}
	}
	if (in.kind == XS2S_PRESENCE && xs2s_app_acct_presence(app, &in))
		return; /* an account's presence (app/account.h) */
	if (xs2s_app_builtin(app, &in))
		return;
	if (in.kind == XS2S_MESSAGE) {
		if (xs2s_app_inbox_put_stanza(app, &in)) {
			XS2S_LOGI(link_id, "message from %s to %s delivered to the inbox", in.from, in.to);
			return;
		}
		XS2S_LOGW(link_id, "inbox full: message from %s to %s refused", in.from, in.to);
		if (strcmp(in.type, "error"))
			app_error_reply(app, &in, XS2S_STE_RESOURCE_CONSTRAINT, NULL);
		return;
	}
	if (in.kind == XS2S_IQ && (!strcmp(in.type, "get") || !strcmp(in.type, "set"))) {
		if (!in.id[0]) {
			app_error_reply(app, &in, XS2S_STE_BAD_REQUEST, NULL); /* RFC 6120 8.2.3: an iq has an id */
			return;
		}
		XS2S_LOGD(link_id, "iq %s from %s to %s: nothing serves it, service-unavailable", in.type, in.from, in.to);
		app_error_reply(app, &in, XS2S_STE_SERVICE_UNAVAILABLE, NULL); /* RFC 6120 8.4 */
		return;
	}
	XS2S_LOGD(link_id, "%s %s from %s to %s dropped: nothing waits for it", xs2s_app_kind_name(in.kind),
		  in.type[0] ? in.type : "(no type)", in.from, in.to);
}

void xs2s_app_deliver(struct xs2s_app *app, unsigned link_id, const struct xs2s_el *st, const char *xml, size_t len)
{
	app_dispatch(app, link_id, st, xml, len);
}

void xs2s_app_deliver_local(struct xs2s_app *app, const char *xml, size_t len)
{
	struct xs2s_el root;
	int rc = xs2s_xml_parse(app->env->xml, xml, len, xs2s_xml_server_ns(), &root);

	if (rc == XS2S_OK)
		app_dispatch(app, 0, &root, xml, len);
	else
		XS2S_LOGE(0, "local stanza not delivered: %s (XML arena: CONFIG_XS2S_XML_ARENA)", xs2s_err_name(rc));
	xs2s_xml_free(app->env->xml, &root);
}

/* ---- bounces ---- */

/* The error stanza for a bounce of xml (m: its spans) into the scratch
 * buffer: with the original body when it fits (RFC 6120 8.3.1: the original
 * payload SHOULD be included), else without. Its length or XS2S_ERANGE. */
static int app_bounce_write(struct xs2s_app *app, const char *kind, const char *xml, const struct xs2s_stanza_meta *m,
			    enum xs2s_stanza_err cond, const char *text, bool body)
{
	struct xs2s_wbuf w;

	xs2s_w_init(&w, app->scratch, CONFIG_XS2S_MAX_STANZA + 1);
	xs2s_w_fmt(&w, "<%s type='error' from='", kind);
	xs2s_w_bytes(&w, xml + m->to.off, m->to.len);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_bytes(&w, xml + m->from.off, m->from.len);
	if (m->id.len) {
		xs2s_w_raw(&w, "' id='");
		xs2s_w_bytes(&w, xml + m->id.off, m->id.len);
	}
	xs2s_w_raw(&w, "'>");
	if (body)
		xs2s_w_bytes(&w, xml + m->body.off, m->body.len);
	xs2s_w_fmt(&w, "<error type='%s'><%s xmlns='" XS2S_NS_STANZA_ERR "'/>", xs2s_stanza_err_type(cond),
		   xs2s_stanza_err_name(cond));
	if (text && text[0]) {
		xs2s_w_raw(&w, "<text xmlns='" XS2S_NS_STANZA_ERR "'>");
		xs2s_w_esc(&w, text);
		xs2s_w_raw(&w, "</text>");
	}
	xs2s_w_fmt(&w, "</error></%s>", kind);
	return w.overflow || w.len > CONFIG_XS2S_MAX_STANZA ? XS2S_ERANGE : (int)w.len;
}

int xs2s_app_bounce(struct xs2s_app *app, const char *xml, size_t len, const struct xs2s_stanza_meta *m,
		    enum xs2s_stanza_err cond, const char *text)
{
	static const char *const kinds[] = { "message", "presence", "iq" };
	const char *kind = m->kind < 3 ? kinds[m->kind] : "message";
	char from[XS2S_APP_TEXT_MAX + 1], to[XS2S_APP_TEXT_MAX + 1];
	struct xs2s_wbuf w;
	int n, rc;

	(void)len;
	xs2s_w_init(&w, from, sizeof from);
	xs2s_w_unesc(&w, xml + m->from.off, m->from.len);
	xs2s_w_init(&w, to, sizeof to);
	xs2s_w_unesc(&w, xml + m->to.off, m->to.len);
	if (m->track) {
		XS2S_LOGI(0, "bounced %s from %s to %s: %s", kind, from, to, xs2s_stanza_err_name(cond));
		xs2s_app_done(app, m->track, XS2S_BOUNCED, cond, text);
		return XS2S_OK;
	}
	if (!m->bounce) {
		XS2S_LOGW(0, "undeliverable %s to %s discarded: %s (errors and replies are not bounced)", kind, to,
			  xs2s_stanza_err_name(cond));
		return XS2S_OK;
	}
	/* RFC 6120 8.3.1: the error goes back to the sender, from the recipient. */
	n = app_bounce_write(app, kind, xml, m, cond, text, true);
	if (n < 0)
		n = app_bounce_write(app, kind, xml, m, cond, text, false);
	rc = n < 0 ? n : xs2s_app_submit(app, app->scratch, (size_t)n, XS2S_SUBMIT_BOUNCE, 0);
	if (rc == XS2S_ENOMEM && app->lq_used)
		return XS2S_ENOMEM; /* the local queue is full: the engine bounces it again after the next delivery */
	if (rc == XS2S_OK)
		XS2S_LOGI(0, "bounced %s from %s to %s: %s", kind, from, to, xs2s_stanza_err_name(cond));
	else
		XS2S_LOGE(0, "bounce of %s from %s to %s (%s) lost: %s", kind, from, to, xs2s_stanza_err_name(cond),
			  xs2s_err_name(rc));
	return XS2S_OK;
}
