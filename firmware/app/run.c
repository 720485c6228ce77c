/* The application layer's turn in the poll round: completions marked and
 * fired, the local queue delivered, iq deadlines, the engine's end; and
 * bounces of our stanzas (app.h). The top of the layer: it calls delivery,
 * iq requests, accounts and sending; nothing in the layer calls it. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "app/app.h"


void xs2s_app_done(struct xs2s_app *app, unsigned track, enum xs2s_outcome outcome, enum xs2s_stanza_err cond,
		   const char *text)
{
#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
	if (track >= XS2S_APP_TRACK_ACCT) {
		xs2s_app_acct_done(app, track - XS2S_APP_TRACK_ACCT, outcome == XS2S_SENT); /* an account's presence */
		return;
	}
#endif
	xs2s_app_pending_done(app, track, outcome, cond, text);
}

void xs2s_app_sent(struct xs2s_app *app, unsigned track)
{
	xs2s_app_done(app, track, XS2S_SENT, XS2S_STE_NONE, NULL);
}

/* Run the callbacks of completions that are due. A callback may send (and
 * so take a completion): each entry is copied and freed before its call. */
static void app_fire(struct xs2s_app *app)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_PENDING; i++) {
		struct xs2s_app_pending p = app->pending[i];
		struct xs2s_done d;

		if (p.state != XS2S_PEND_DONE)
			continue;
		app->pending[i].state = XS2S_PEND_FREE;
		app->pending_used--;
		if (p.iq >= 0) {
			xs2s_app_iq_pending_done(app, p.iq, &p);
			continue;
		}
		if (!p.fn)
			continue;
		d.handle = p.handle;
		d.id = p.id;
		d.outcome = (enum xs2s_outcome)p.outcome;
		d.condition = p.outcome == XS2S_BOUNCED ? xs2s_stanza_err_name((enum xs2s_stanza_err)p.cond) : "";
		d.text = p.text;
		p.fn(app->eng, p.arg, &d);
	}
}

bool xs2s_app_busy(const struct xs2s_app *app)
{
	unsigned i;

	if (app->lq_used)
		return true;
	for (i = 0; i < CONFIG_XS2S_APP_PENDING; i++)
		if (app->pending[i].state == XS2S_PEND_DONE)
			return true;
	return false;
}

/* Deliver the records that were queued when the run began (one a handler
 * queues meanwhile waits for the next run: no ping-pong within a round).
 * Records are read in place and only appended to while one is delivered. */
static void app_lq_run(struct xs2s_app *app)
{
	size_t end = app->lq_used;

	while (end && app->lq_used) {
		const unsigned char *r = (const unsigned char *)app->lq;
		size_t len = ((size_t)r[0] << 8) | r[1], n = XS2S_APP_LQ_HDR + len + 1;
		unsigned track = ((unsigned)r[2] << 8) | r[3];

		xs2s_app_deliver_local(app, app->lq + XS2S_APP_LQ_HDR, len);
		xs2s_app_sent(app, track); /* delivered locally */
		memmove(app->lq, app->lq + n, app->lq_used - n);
		app->lq_used -= n;
		end = end > n ? end - n : 0;
	}
}

void xs2s_app_step(struct xs2s_app *app)
{
	app_lq_run(app);
	app_fire(app);
}

void xs2s_app_run(struct xs2s_app *app, uint32_t now_ms)
{
	xs2s_app_iq_fire_timeouts(app, now_ms);
	xs2s_app_step(app);
}

/* The engine ends (its links are gone): what waits locally is delivered
 * (a few rounds: handlers may answer each other), iq requests without an
 * answer end as timeouts, every completion fires. What is left after that
 * is logged and dropped with its completion fired as bounced. */
void xs2s_app_fini(struct xs2s_app *app, uint32_t now_ms)
{
	unsigned round, i;

	for (round = 0; round < XS2S_APP_FINI_ROUNDS && xs2s_app_busy(app); round++)
		xs2s_app_run(app, now_ms);
	for (i = 0; i < CONFIG_XS2S_APP_IQ_PENDING; i++)
		if (app->iqs[i].handle)
			app->iqs[i].deadline_ms = now_ms;
	xs2s_app_run(app, now_ms);
	if (app->lq_used)
		XS2S_LOGE(0, "engine finished with %zu bytes of local stanzas undelivered (handlers kept answering)",
			  app->lq_used);
	while (app->lq_used) {
		const unsigned char *r = (const unsigned char *)app->lq;
		size_t n = XS2S_APP_LQ_HDR + (((size_t)r[0] << 8) | r[1]) + 1;

		xs2s_app_done(app, ((unsigned)r[2] << 8) | r[3], XS2S_BOUNCED, XS2S_STE_RECIPIENT_UNAVAILABLE,
			      "engine finished");
		memmove(app->lq, app->lq + n, app->lq_used - n);
		app->lq_used -= n;
	}
	app_fire(app);
	for (i = 0; i < CONFIG_XS2S_APP_IQ_PENDING; i++)
		if (app->iqs[i].handle) {
			app->iqs[i].handle = 0;
			app->iqs_used--;
		}
	for (i = 0; i < CONFIG_XS2S_APP_PENDING; i++)
		xs2s_app_untrack(app, (int)i + 1);
}

/* The error stanza for a bounce of xml (m: its spans), written straight
 * into the local queue's free space (xml may be the scratch buffer): with
 * the original body when it fits (RFC 6120 8.3.1: the original payload
 * SHOULD be included), else without. The record's length, XS2S_ENOMEM when
 * the queue has no room now, XS2S_EINVAL when it is not well-formed. */
static int app_bounce_write(struct xs2s_app *app, const char *kind, const char *xml, const struct xs2s_stanza_meta *m,
			    enum xs2s_stanza_err cond, const char *text, bool body)
{
	size_t room = sizeof app->lq - app->lq_used;
	struct xs2s_wbuf w;
	struct xs2s_el root;
	int rc;

	if (room <= XS2S_APP_LQ_HDR + 1)
		return XS2S_ENOMEM;
	room -= XS2S_APP_LQ_HDR;
	xs2s_w_init(&w, app->lq + app->lq_used + XS2S_APP_LQ_HDR,
		    room < CONFIG_XS2S_MAX_STANZA + 1 ? room : CONFIG_XS2S_MAX_STANZA + 1);
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
	if (w.overflow)
		return XS2S_ENOMEM;
	rc = xs2s_xml_parse_local(app->env->xml, w.p, w.len, &root);
	xs2s_xml_free(app->env->xml, &root);
	if (rc != XS2S_OK)
		return rc == XS2S_ENOMEM ? XS2S_ENOMEM : XS2S_EINVAL;
	return (int)w.len;
}

/* ---- bounces ---- */

int xs2s_app_bounce(struct xs2s_app *app, const char *xml, size_t len, const struct xs2s_stanza_meta *m,
		    enum xs2s_stanza_err cond, const char *text)
{
	static const char *const kinds[] = { "message", "presence", "iq" };
	const char *kind = m->kind < 3 ? kinds[m->kind] : "message";
	char from[XS2S_APP_TEXT_MAX + 1], to[XS2S_APP_TEXT_MAX + 1];
	struct xs2s_wbuf w;
	int n;

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
	/* RFC 6120 8.3.1: the error goes back to the sender (ours: the local
	 * queue), from the recipient. */
	n = app_bounce_write(app, kind, xml, m, cond, text, true);
	if (n == XS2S_ENOMEM && app->lq_used)
		return XS2S_ENOMEM; /* the queue is full: bounced again once the next delivery made room */
	if (n == XS2S_ENOMEM) /* larger than a stanza with its body: without it */
		n = app_bounce_write(app, kind, xml, m, cond, text, false);
	if (n < 0) {
		XS2S_LOGE(0, "bounce of %s from %s to %s (%s) lost: %s", kind, from, to, xs2s_stanza_err_name(cond),
			  xs2s_err_name(n));
		return XS2S_OK;
	}
	xs2s_app_lq_commit(app, (size_t)n, 0);
	XS2S_LOGI(0, "bounced %s from %s to %s: %s", kind, from, to, xs2s_stanza_err_name(cond));
	return XS2S_OK;
}
