/* Handlers: the application's table of (match, callback) pairs, and what
 * a match means (app.h, xs2s_app.h "Handlers"). */
#include <string.h>
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

	if (!m || !fn || (unsigned)m->kind > (unsigned)XS2S_IQ)
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

bool xs2s_app_handler_match(const struct xs2s_app_handler *h, const struct xs2s_stanza_in *in)
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
