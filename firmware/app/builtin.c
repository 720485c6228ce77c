/* The answers the engine gives itself, for its domains: XEP-0199 ping,
 * XEP-0030 disco#info (its identity, its own features and the namespaces
 * the application's handlers registered), XEP-0092 software version. */
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "app/app.h"

#define NS_PING "urn:xmpp:ping"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_VERSION "jabber:iq:version"

bool xs2s_app_builtin(struct xs2s_app *app, const struct xs2s_stanza_in *in)
{
	struct xs2s_wbuf w;
	struct xs2s_view q;
	const char *name, *ns;
	int rc;

	/* Only iq get to a bare domain of ours, with a child (RFC 6120 8.2.3). */
	if (in->kind != XS2S_IQ || strcmp(in->type, "get") || strchr(in->to, '@') || strchr(in->to, '/') ||
	    !in->id[0] || !xs2s_view_child(&in->top, NULL, NULL, &q))
		return false;
	name = xs2s_view_name(&q);
	ns = xs2s_view_ns(&q);
	if (!strcmp(name, "ping") && !strcmp(ns, NS_PING)) {
		xs2s_app_result_begin(app, in, &w);
	} else if (!strcmp(name, "query") && !strcmp(ns, NS_DISCO_INFO) && !xs2s_view_attr(&q, "node")) {
		xs2s_app_result_begin(app, in, &w);
		xs2s_w_raw(&w, "<query xmlns='" NS_DISCO_INFO "'><identity category='server' type='im' name='xs2s'/>"
			       "<feature var='" NS_DISCO_INFO "'/><feature var='" NS_PING "'/>"
			       "<feature var='" NS_VERSION "'/>");
		xs2s_app_disco_features(app, &w);
		xs2s_w_raw(&w, "</query>");
	} else if (!strcmp(name, "query") && !strcmp(ns, NS_VERSION)) {
		xs2s_app_result_begin(app, in, &w);
		xs2s_w_raw(&w, "<query xmlns='" NS_VERSION "'><name>xs2s</name><version>" XS2S_VERSION
			       "</version></query>");
	} else {
		return false;
	}
	rc = xs2s_app_result_end(app, &w); /* a result that cannot go is replaced by an error there */
	if (rc != XS2S_OK)
		XS2S_LOGD(0, "%s from %s: %s", ns, in->from, xs2s_err_name(rc));
	return true;
}
