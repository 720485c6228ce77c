/* Replies to a received stanza, written into the scratch buffer and handed
 * out like any stanza: an iq result (begin, the caller's payload, end), an
 * error stanza (RFC 6120 8.3.2), and the application's iq answers. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "app/app.h"

/* <KIND type='error' from=TO to=FROM id=ID><error type=T><COND/><text/></error></KIND>
 * for stanza in (RFC 6120 8.3.2), through the normal output. */
void xs2s_app_error_reply(struct xs2s_app *app, const struct xs2s_stanza_in *in, enum xs2s_stanza_err cond,
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

/* ---- errors back to a sender ---- */

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
		xs2s_app_error_reply(app, req, cond, text);
		return XS2S_OK;
	}
	xs2s_app_result_begin(app, req, &w);
	xs2s_w_raw(&w, payload);
	return xs2s_app_result_end(app, &w);
}
