/* The application interface of xs2s_app.h on the engine object: each call
 * checks the engine, calls the application layer (app/app.h) and runs the
 * events it caused. */
#include <string.h>
#include "engine/engine.h"

static struct xs2s_core *api_core(struct xs2s_engine *eng)
{
	struct xs2s_core *c = eng ? xs2s_core_of(eng) : NULL;

	return c && c->magic == XS2S_CORE_MAGIC ? c : NULL;
}

int xs2s_send(struct xs2s_engine *eng, const struct xs2s_stanza *st, xs2s_done_fn done, void *arg,
	      struct xs2s_handle *h)
{
	struct xs2s_core *c = api_core(eng);
	int rc;

	if (!c)
		return XS2S_EINVAL;
	rc = xs2s_app_send(&c->app, st, done, arg, h);
	xs2s_engine_drain(c);
	return rc;
}

int xs2s_send_raw(struct xs2s_engine *eng, const char *xml, xs2s_done_fn done, void *arg, struct xs2s_handle *h)
{
	struct xs2s_core *c = api_core(eng);
	int rc;

	if (!c)
		return XS2S_EINVAL;
	rc = xs2s_app_send_raw(&c->app, xml, done, arg, h);
	xs2s_engine_drain(c);
	return rc;
}

int xs2s_send_message(struct xs2s_engine *eng, const char *from, const char *to, const char *body)
{
	struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = from, .to = to, .type = "chat", .body = body };

	return xs2s_send(eng, &st, NULL, NULL, NULL);
}

int xs2s_iq_request(struct xs2s_engine *eng, const struct xs2s_stanza *st, uint32_t timeout_ms, xs2s_iq_fn fn,
		    void *arg, struct xs2s_handle *h)
{
	struct xs2s_core *c = api_core(eng);
	int rc;

	if (!c)
		return XS2S_EINVAL;
	rc = xs2s_app_iq_request(&c->app, st, timeout_ms, fn, arg, h);
	xs2s_engine_drain(c);
	return rc;
}

int xs2s_iq_result(struct xs2s_engine *eng, const struct xs2s_stanza_in *req, const char *payload)
{
	struct xs2s_core *c = api_core(eng);
	int rc;

	if (!c)
		return XS2S_EINVAL;
	rc = xs2s_app_iq_answer(&c->app, req, payload, NULL, NULL);
	xs2s_engine_drain(c);
	return rc;
}

int xs2s_iq_error(struct xs2s_engine *eng, const struct xs2s_stanza_in *req, const char *condition, const char *text)
{
	struct xs2s_core *c = api_core(eng);
	int rc;

	if (!c || !condition)
		return XS2S_EINVAL;
	rc = xs2s_app_iq_answer(&c->app, req, NULL, condition, text);
	xs2s_engine_drain(c);
	return rc;
}

int xs2s_handler_add(struct xs2s_engine *eng, const struct xs2s_match *m, xs2s_handler_fn fn, void *arg)
{
	struct xs2s_core *c = api_core(eng);

	return c ? xs2s_app_handler_add(&c->app, m, fn, arg) : XS2S_EINVAL;
}

int xs2s_handler_remove(struct xs2s_engine *eng, int id)
{
	struct xs2s_core *c = api_core(eng);

	return c ? xs2s_app_handler_remove(&c->app, id) : XS2S_EINVAL;
}

/* The inbox stays readable after xs2s_engine_fini (until the next start):
 * a daemon reports what it leaves unread. */
int xs2s_inbox_peek(struct xs2s_engine *eng, struct xs2s_inbox_msg *m)
{
	struct xs2s_core *c = eng ? xs2s_core_of(eng) : NULL;
	const char *f[XS2S_APP_INBOX_FIELDS];
	int rc;

	if (!c)
		return XS2S_EINVAL;
	rc = xs2s_app_inbox_peek(&c->app, f);
	if (rc == XS2S_OK) {
		m->from = f[0];
		m->to = f[1];
		m->type = f[2];
		m->error = f[3];
		m->body = f[4];
		m->error_text = f[5];
	}
	return rc;
}

void xs2s_inbox_pop(struct xs2s_engine *eng)
{
	struct xs2s_core *c = eng ? xs2s_core_of(eng) : NULL;

	if (c)
		xs2s_app_inbox_pop(&c->app);
}
