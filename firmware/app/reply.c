/* Replies to a received stanza, written into the scratch buffer and handed
 * out like any stanza: an iq result (begin, the caller's payload, end), an
 * error stanza (RFC 6120 8.3.2), and the application's iq answers.
 *
 * A reply copies the request's addresses (swapped) and id as they were
 * received, quotes included, so that its start tag is never longer than the
 * request's: an error answering a stanza of MAX_STANZA bytes fits the
 * scratch buffer (XS2S_REPLY_SLACK more), however long its id. A result
 * that does not fit a stanza, or cannot be sent, becomes the error
 * resource-constraint: every iq get/set gets an answer (RFC 6120 8.2.3). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "app/app.h"

#define REPLY_CAP (CONFIG_XS2S_MAX_STANZA + XS2S_REPLY_SLACK + 1)

/* name=<the value at span of xml, with the quote it was written with>. */
static void reply_attr_raw(struct xs2s_wbuf *w, const char *name, const char *xml, struct xs2s_span sp)
{
	char q = xml[sp.off - 1];

	xs2s_w_fmt(w, " %s=%c", name, q);
	xs2s_w_bytes(w, xml + sp.off, sp.len);
	xs2s_w_bytes(w, &q, 1);
}

static void reply_attr(struct xs2s_wbuf *w, const char *name, const char *value)
{
	xs2s_w_fmt(w, " %s='", name);
	xs2s_w_esc(w, value);
	xs2s_w_raw(w, "'");
}

/* <KIND type='TYPE' from=(in's to, or from) to=(in's from) id=(in's id)>,
 * the values as received when in carries its text. */
static void reply_head(struct xs2s_wbuf *w, const struct xs2s_stanza_in *in, const char *type, const char *from)
{
	struct xs2s_stanza_meta m;

	memset(&m, 0, sizeof m);
	if (in->xml && in->len)
		xs2s_app_spans(in->xml, in->len, &m);
	xs2s_w_fmt(w, "<%s type='%s'", xs2s_app_kind_name(in->kind), type);
	if (from)
		reply_attr(w, "from", from);
	else if (m.to.len)
		reply_attr_raw(w, "from", in->xml, m.to);
	else
		reply_attr(w, "from", in->to);
	if (m.from.len)
		reply_attr_raw(w, "to", in->xml, m.from);
	else
		reply_attr(w, "to", in->from);
	if (m.id.len)
		reply_attr_raw(w, "id", in->xml, m.id);
	else if (in->id[0])
		reply_attr(w, "id", in->id);
}

/* The error stanza into the scratch buffer; its length or XS2S_ERANGE. */
static int reply_error_write(struct xs2s_app *app, const struct xs2s_stanza_in *in, enum xs2s_stanza_err cond,
			     const char *text, const char *from)
{
	const char *kind = xs2s_app_kind_name(in->kind);
	struct xs2s_wbuf w;

	xs2s_w_init(&w, app->scratch, REPLY_CAP);
	reply_head(&w, in, "error", from);
	xs2s_w_fmt(&w, "><error type='%s'><%s xmlns='" XS2S_NS_STANZA_ERR "'/>", xs2s_stanza_err_type(cond),
		   xs2s_stanza_err_name(cond));
	if (text && text[0]) {
		xs2s_w_raw(&w, "<text xmlns='" XS2S_NS_STANZA_ERR "'>");
		xs2s_w_esc(&w, text);
		xs2s_w_raw(&w, "</text>");
	}
	xs2s_w_fmt(&w, "</error></%s>", kind);
	return w.overflow ? XS2S_ERANGE : (int)w.len;
}

int xs2s_app_answer_error(struct xs2s_app *app, const struct xs2s_stanza_in *in, enum xs2s_stanza_err cond,
			  const char *text, const char *from)
{
	int n, rc;

	if (!strcmp(in->type, "error") || (in->kind == XS2S_IQ && !strcmp(in->type, "result"))) {
		/* RFC 6120 8.3.1: an error or a result is never answered with an error. */
		app->counts.not_bounced++;
		XS2S_LOGI(0, "%s %s from %s not answered with %s (errors and results never are)",
			  xs2s_app_kind_name(in->kind), in->type, in->from, xs2s_stanza_err_name(cond));
		return XS2S_OK;
	}
	n = reply_error_write(app, in, cond, text, from);
	if (n > CONFIG_XS2S_MAX_STANZA && text && text[0])
		n = reply_error_write(app, in, cond, NULL, from); /* the text is optional (8.3.2) */
	rc = n < 0 ? n : xs2s_app_submit(app, app->scratch, (size_t)n, XS2S_SUBMIT_ANSWER, 0);
	if (rc != XS2S_OK) {
		app->counts.answers_lost++;
		XS2S_LOGE(0, "%s from %s (id '%.40s') unanswered: the %s error cannot be sent: %s",
			  xs2s_app_kind_name(in->kind), in->from, in->id, xs2s_stanza_err_name(cond), xs2s_err_name(rc));
	}
	return rc;
}

/* <KIND type='error' from=TO to=FROM id=ID><error type=T><COND/><text/></error></KIND>
 * for stanza in (RFC 6120 8.3.2), through the normal output. */
void xs2s_app_error_reply(struct xs2s_app *app, const struct xs2s_stanza_in *in, enum xs2s_stanza_err cond,
			  const char *text)
{
	(void)xs2s_app_answer_error(app, in, cond, text, NULL);
}

/* ---- results ---- */

void xs2s_app_result_begin(struct xs2s_app *app, const struct xs2s_stanza_in *req, struct xs2s_wbuf *w)
{
	app->result_req = req;
	xs2s_w_init(w, app->scratch, REPLY_CAP);
	reply_head(w, req, "result", NULL);
	xs2s_w_raw(w, ">");
	app->result_hdr = w->len;
}

int xs2s_app_result_end(struct xs2s_app *app, struct xs2s_wbuf *w)
{
	const struct xs2s_stanza_in *req = app->result_req;
	bool empty = !w->overflow && w->len == app->result_hdr;
	int rc;

	app->result_req = NULL;
	if (empty) {
		w->len--; /* no payload: <iq .../> */
		xs2s_w_raw(w, "/>");
	} else {
		xs2s_w_raw(w, "</iq>");
	}
	if (w->overflow || w->len > CONFIG_XS2S_MAX_STANZA)
		rc = XS2S_ERANGE;
	else if (empty)
		/* Without a payload it holds only the request's addresses and id
		 * as received (an XEP-0199 pong): well-formed, not parsed again. */
		rc = xs2s_app_submit_known(app, app->scratch, w->len, XS2S_IQ, req->to, req->from);
	else
		rc = xs2s_app_submit(app, app->scratch, w->len, 0, 0);
	if (rc == XS2S_ERANGE || rc == XS2S_ENOMEM) {
		/* The result does not fit a stanza, or finds no room on its way:
		 * the requester still gets an answer (RFC 6120 8.2.3). */
		XS2S_LOGW(0, "iq result to %s (id '%.40s') %s: answered resource-constraint", req->from, req->id,
			  rc == XS2S_ERANGE ? "larger than a stanza" : "finds no room on its way");
		if (xs2s_app_answer_error(app, req, XS2S_STE_RESOURCE_CONSTRAINT, NULL, NULL) == XS2S_OK)
			app->counts.answer_errors++;
	}
	return rc;
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
		return xs2s_app_answer_error(app, req, cond, text, NULL);
	}
	xs2s_app_result_begin(app, req, &w);
	xs2s_w_raw(&w, payload);
	return xs2s_app_result_end(app, &w);
}
