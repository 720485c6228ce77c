/* Local delivery: a stanza for a local JID goes to an iq request's
 * callback, a handler, a built-in answer or the inbox, in that order
 * (app.h); bounces and error replies. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "app/app.h"

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

		if (h->id && xs2s_app_handler_match(h, &in) && h->fn(app->eng, h->arg, &in)) {
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
			xs2s_app_error_reply(app, &in, XS2S_STE_RESOURCE_CONSTRAINT, NULL);
		return;
	}
	if (in.kind == XS2S_IQ && (!strcmp(in.type, "get") || !strcmp(in.type, "set"))) {
		if (!in.id[0]) {
			xs2s_app_error_reply(app, &in, XS2S_STE_BAD_REQUEST, NULL); /* RFC 6120 8.2.3: an iq has an id */
			return;
		}
		XS2S_LOGD(link_id, "iq %s from %s to %s: nothing serves it, service-unavailable", in.type, in.from, in.to);
		xs2s_app_error_reply(app, &in, XS2S_STE_SERVICE_UNAVAILABLE, NULL); /* RFC 6120 8.4 */
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

