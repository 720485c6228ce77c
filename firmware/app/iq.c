/* iq requests: an iq get/set sent with a completion of its own, and one
 * answer for it: the addressee's result or error, a bounce, or the
 * deadline (app.h). */
#include <stdio.h>
#include <string.h>
#include "port.h"
#include "xs2s_log.h"
#include "lib/types.h"
#include "app/app.h"

static void app_iq_free(struct xs2s_app *app, struct xs2s_app_iq *q)
{
	if (q->pend >= 0 && app->pending[q->pend].state != XS2S_PEND_FREE)
		app->pending[q->pend].iq = -1; /* its completion, if it still comes, is dropped */
	q->handle = 0;
	app->iqs_used--;
}

/* End request q with r (outcome, condition, text, stanza): free it first,
 * so that the callback may send another. */
static void app_iq_end(struct xs2s_app *app, struct xs2s_app_iq *q, struct xs2s_iq_response *r)
{
	struct xs2s_app_iq copy = *q;

	app_iq_free(app, q);
	r->handle = copy.handle;
	r->id = copy.id;
	if (!r->condition)
		r->condition = "";
	if (!r->text)
		r->text = "";
	copy.fn(app->eng, copy.arg, r);
}

int xs2s_app_iq_request(struct xs2s_app *app, const struct xs2s_stanza *st, uint32_t timeout_ms, xs2s_iq_fn fn,
			void *arg, struct xs2s_handle *h)
{
	struct xs2s_handle own;
	unsigned i;
	int rc;

	if (!st || !fn || st->kind != XS2S_IQ || !st->type || (strcmp(st->type, "get") && strcmp(st->type, "set")) ||
	    !st->to || strlen(st->to) > XS2S_APP_IQ_TO_MAX)
		return XS2S_EINVAL;
	for (i = 0; i < CONFIG_XS2S_APP_IQ_PENDING && app->iqs[i].handle; i++)
		;
	if (i == CONFIG_XS2S_APP_IQ_PENDING) {
		app->iqs_refused++;
		return XS2S_ENOMEM;
	}
	rc = xs2s_app_send_tracked(app, st, NULL, NULL, (int)i, &own);
	if (rc != XS2S_OK)
		return rc;
	{
		struct xs2s_app_iq *q = &app->iqs[i];
		unsigned p;

		memset(q, 0, sizeof *q);
		q->handle = own.handle;
		q->deadline_ms = xs2s_port_now_ms() + timeout_ms;
		q->fn = fn;
		q->arg = arg;
		q->pend = -1;
		for (p = 0; p < CONFIG_XS2S_APP_PENDING; p++)
			if (app->pending[p].state != XS2S_PEND_FREE && app->pending[p].handle == own.handle)
				q->pend = (int16_t)p;
		snprintf(q->id, sizeof q->id, "%s", own.id);
		snprintf(q->to, sizeof q->to, "%s", st->to);
		if (++app->iqs_used > app->iqs_high)
			app->iqs_high = app->iqs_used;
	}
	if (h)
		*h = own;
	return XS2S_OK;
}

/* The completion of request iq's stanza: SENT (now it waits for the
 * answer) or BOUNCED (the answer: an error). */
void xs2s_app_iq_pending_done(struct xs2s_app *app, int iq, const struct xs2s_app_pending *p)
{
	struct xs2s_app_iq *q;
	struct xs2s_iq_response r;

	if (iq < 0 || iq >= CONFIG_XS2S_APP_IQ_PENDING || !(q = &app->iqs[iq])->handle || q->handle != p->handle)
		return;
	q->pend = -1;
	if (p->outcome == XS2S_SENT) {
		q->sent = true;
		return;
	}
	memset(&r, 0, sizeof r);
	r.outcome = XS2S_IQ_ERROR;
	r.condition = xs2s_stanza_err_name((enum xs2s_stanza_err)p->cond);
	r.text = p->text;
	app_iq_end(app, q, &r);
}

/* The condition and text of an error stanza. */
static void app_error_of(const struct xs2s_stanza_in *in, const char **cond, char *text, size_t cap)
{
	struct xs2s_view e, c;
	bool more;

	*cond = "undefined-condition";
	text[0] = '\0';
	if (!xs2s_view_child(&in->top, "error", NULL, &e))
		return;
	for (more = xs2s_view_child(&e, NULL, XS2S_NS_STANZA_ERR, &c); more; more = xs2s_view_next(&c)) {
		if (strcmp(xs2s_view_ns(&c), XS2S_NS_STANZA_ERR))
			continue;
		if (!strcmp(xs2s_view_name(&c), "text"))
			(void)xs2s_view_text(&c, text, cap); /* cut or empty when long: the condition counts */
		else if (!strcmp(*cond, "undefined-condition"))
			*cond = xs2s_view_name(&c);
	}
}

/* An iq result or error: the answer to one of our requests when its id
 * matches and it comes from the JID the request went to (RFC 6120 8.2.3). */
bool xs2s_app_iq_response(struct xs2s_app *app, const struct xs2s_stanza_in *in)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_IQ_PENDING; i++) {
		struct xs2s_app_iq *q = &app->iqs[i];
		struct xs2s_iq_response r;
		char text[XS2S_APP_TEXT_MAX + 1];

		if (!q->handle || strcmp(q->id, in->id) || strcmp(q->to, in->from))
			continue;
		memset(&r, 0, sizeof r);
		r.stanza = in;
		if (!strcmp(in->type, "result")) {
			r.outcome = XS2S_IQ_RESULT;
		} else {
			r.outcome = XS2S_IQ_ERROR;
			app_error_of(in, &r.condition, text, sizeof text);
			r.text = text;
		}
		app_iq_end(app, q, &r);
		return true;
	}
	return false;
}

void xs2s_app_iq_fire_timeouts(struct xs2s_app *app, uint32_t now_ms)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_IQ_PENDING; i++) {
		struct xs2s_app_iq *q = &app->iqs[i];
		struct xs2s_iq_response r;

		if (!q->handle || !XS2S_TIME_REACHED(now_ms, q->deadline_ms))
			continue;
		XS2S_LOGI(0, "iq %s to %s: no answer in time", q->id, q->to);
		memset(&r, 0, sizeof r);
		r.outcome = XS2S_IQ_TIMEOUT;
		app_iq_end(app, q, &r);
	}
}

uint32_t xs2s_app_next_ms(const struct xs2s_app *app, uint32_t now_ms)
{
	uint32_t best = UINT32_MAX;
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_IQ_PENDING; i++) {
		const struct xs2s_app_iq *q = &app->iqs[i];
		uint32_t left;

		if (!q->handle)
			continue;
		left = XS2S_TIME_REACHED(now_ms, q->deadline_ms) ? 0 : q->deadline_ms - now_ms;
		if (left < best)
			best = left;
	}
	return best;
}
