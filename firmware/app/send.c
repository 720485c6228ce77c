/* Sending: the application's stanzas written, checked and handed out (to
 * the engine, or to the local queue), and the table of completions that
 * will report what became of them (app.h; run.c fires them). */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "lib/crypto.h"
#include "app/app.h"

#define APP_ID_PREFIX "xs2s-"
#define APP_ID_HEX 16

static const char *const app_kinds[] = {
	[XS2S_MESSAGE] = "message", [XS2S_PRESENCE] = "presence", [XS2S_IQ] = "iq",
};

void xs2s_app_init(struct xs2s_app *app, const struct xs2s_env *env, struct xs2s_engine *eng, xs2s_app_out_fn out,
		   void *out_ctx)
{
	memset(app, 0, sizeof *app);
	app->env = env;
	app->eng = eng;
	app->out_fn = out;
	app->out_ctx = out_ctx;
}

const char *xs2s_app_kind_name(enum xs2s_kind k)
{
	return k >= XS2S_MESSAGE && k <= XS2S_IQ ? app_kinds[k] : "stanza";
}

enum xs2s_kind xs2s_app_kind_of(const char *name)
{
	unsigned k;

	for (k = XS2S_MESSAGE; name && k <= XS2S_IQ; k++)
		if (!strcmp(name, app_kinds[k]))
			return (enum xs2s_kind)k;
	return XS2S_ANY_KIND;
}

void xs2s_app_new_id(struct xs2s_app *app, char id[XS2S_ID_MAX + 1])
{
	(void)app;
	memcpy(id, APP_ID_PREFIX, sizeof APP_ID_PREFIX - 1);
	xs2s_random_hex(id + sizeof APP_ID_PREFIX - 1, APP_ID_HEX);
}

/* ---- completions ---- */

int xs2s_app_track(struct xs2s_app *app, xs2s_done_fn fn, void *arg, const char *id, int iq)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_PENDING; i++) {
		struct xs2s_app_pending *p = &app->pending[i];

		if (p->state != XS2S_PEND_FREE)
			continue;
		memset(p, 0, sizeof *p);
		p->state = XS2S_PEND_WAIT;
		p->iq = (int16_t)iq;
		if (!++app->next_handle)
			app->next_handle = 1;
		p->handle = app->next_handle;
		p->fn = fn;
		p->arg = arg;
		snprintf(p->id, sizeof p->id, "%s", id);
		if (++app->pending_used > app->pending_high)
			app->pending_high = app->pending_used;
		return (int)i + 1;
	}
	app->pending_refused++;
	return XS2S_ENOMEM;
}

void xs2s_app_untrack(struct xs2s_app *app, int track)
{
	if (track > 0 && track <= CONFIG_XS2S_APP_PENDING && app->pending[track - 1].state != XS2S_PEND_FREE) {
		app->pending[track - 1].state = XS2S_PEND_FREE;
		app->pending_used--;
	}
}

/* Mark completion track with its outcome (the first one counts: exactly
 * once); run.c fires it. */
void xs2s_app_pending_done(struct xs2s_app *app, unsigned track, enum xs2s_outcome outcome, enum xs2s_stanza_err cond,
			   const char *text)
{
	struct xs2s_app_pending *p;

	if (!track || track > CONFIG_XS2S_APP_PENDING)
		return;
	p = &app->pending[track - 1];
	if (p->state != XS2S_PEND_WAIT)
		return;
	p->state = XS2S_PEND_DONE;
	p->outcome = (uint8_t)outcome;
	p->cond = (uint8_t)cond;
	snprintf(p->text, sizeof p->text, "%s", text ? text : "");
}

/* ---- the local queue ---- */

/* Close the record whose stanza (len bytes, NUL-ended) was written in
 * place after the queue's last one. */
void xs2s_app_lq_commit(struct xs2s_app *app, size_t len, int track)
{
	char *r = app->lq + app->lq_used;

	r[0] = (char)(len >> 8);
	r[1] = (char)(len & 0xff);
	r[2] = (char)((unsigned)track >> 8);
	r[3] = (char)((unsigned)track & 0xff);
	r[XS2S_APP_LQ_HDR + len] = '\0';
	app->lq_used += XS2S_APP_LQ_HDR + len + 1;
	if (app->lq_used > app->lq_high)
		app->lq_high = app->lq_used;
}

int xs2s_app_lq_put(struct xs2s_app *app, const char *xml, size_t len, int track)
{
	if (XS2S_APP_LQ_HDR + len + 1 > sizeof app->lq - app->lq_used) {
		app->lq_refused++;
		return XS2S_ENOMEM;
	}
	memcpy(app->lq + app->lq_used + XS2S_APP_LQ_HDR, xml, len);
	xs2s_app_lq_commit(app, len, track);
	return XS2S_OK;
}

/* ---- writing and checking a stanza ---- */

/* The value spans of the start tag's from, to and id attributes, and the
 * span of the first <body/> child element, in stanza xml (well-formed: the
 * framer and the parser have read it). */
static void app_spans(const char *xml, size_t len, struct xs2s_stanza_meta *m)
{
	size_t i = 1, depth = 1, body = 0;

	while (i < len && !strchr(" \t\r\n/>", xml[i]))
		i++;
	while (i < len && xml[i] != '>' && xml[i] != '/') { /* attributes */
		size_t n0, n1, v0;
		char q;

		while (i < len && strchr(" \t\r\n", xml[i]))
			i++;
		if (i >= len || xml[i] == '>' || xml[i] == '/')
			break;
		for (n0 = i; i < len && !strchr(" \t\r\n=", xml[i]); i++)
			;
		n1 = i;
		while (i < len && xml[i] != '\'' && xml[i] != '"')
			i++;
		if (i >= len)
			return;
		q = xml[i++];
		for (v0 = i; i < len && xml[i] != q; i++)
			;
		if (n1 - n0 == 4 && !memcmp(xml + n0, "from", 4))
			m->from = (struct xs2s_span){ (uint16_t)v0, (uint16_t)(i - v0) };
		else if (n1 - n0 == 2 && !memcmp(xml + n0, "to", 2))
			m->to = (struct xs2s_span){ (uint16_t)v0, (uint16_t)(i - v0) };
		else if (n1 - n0 == 2 && !memcmp(xml + n0, "id", 2))
			m->id = (struct xs2s_span){ (uint16_t)v0, (uint16_t)(i - v0) };
		i++;
	}
	if (i >= len || xml[i] == '/')
		return; /* an empty element */
	for (i++; i < len; i++) { /* content: find <body ...>...</body> at depth 1 */
		if (xml[i] != '<')
			continue;
		if (!strncmp(xml + i, "<![CDATA[", 9)) {
			const char *e = strstr(xml + i, "]]>");
			i = e ? (size_t)(e - xml) + 2 : len;
		} else if (xml[i + 1] == '/') {
			depth--;
			if (depth == 1 && body) {
				const char *e = strchr(xml + i, '>');
				size_t end = e ? (size_t)(e - xml) + 1 : len;

				m->body = (struct xs2s_span){ (uint16_t)(body - 1), (uint16_t)(end - body + 1) };
				return;
			}
		} else {
			size_t s = i;
			char q = 0;

			for (; i < len && (q || xml[i] != '>'); i++)
				if (xml[i] == '\'' || xml[i] == '"')
					q = q == xml[i] ? 0 : (q ? q : xml[i]);
			if (depth == 1 && !body && !strncmp(xml + s, "<body", 5) && strchr(" \t\r\n/>", xml[s + 5]))
				body = s + 1;
			if (xml[i - 1] == '/') {
				if (depth == 1 && body == s + 1) {
					m->body = (struct xs2s_span){ (uint16_t)s, (uint16_t)(i + 1 - s) };
					return;
				}
			} else {
				depth++;
			}
		}
	}
}

/* Check the stanza in xml[len] (NUL-terminated; the scratch buffer or a
 * record) and hand it out: to the local queue when it is for a local JID,
 * else to the engine. XS2S_EINVAL when it is not one well-formed stanza from
 * a local JID (any JID with XS2S_SUBMIT_BOUNCE: the error comes from the
 * remote recipient) to a valid JID. */
int xs2s_app_submit(struct xs2s_app *app, char *xml, size_t len, unsigned flags, int track)
{
	char fd[XS2S_DOMAIN_MAX + 1], td[XS2S_DOMAIN_MAX + 1];
	struct xs2s_stanza_meta meta;
	struct xs2s_el root;
	const char *from, *to;
	enum xs2s_kind kind;
	int rc;

	if (len > CONFIG_XS2S_MAX_STANZA)
		return XS2S_ERANGE;
	rc = xs2s_xml_parse_local(app->env->xml, xml, len, &root);
	if (rc != XS2S_OK) {
		xs2s_xml_free(app->env->xml, &root);
		return rc == XS2S_ENOMEM ? XS2S_ENOMEM : XS2S_EINVAL;
	}
	kind = xs2s_app_kind_of(xs2s_el_name(&root));
	from = xs2s_el_attr(&root, "from");
	to = xs2s_el_attr(&root, "to");
	rc = XS2S_OK;
	if (kind == XS2S_ANY_KIND || !xs2s_el_is(&root, XS2S_NS_SERVER, NULL) || !from || !to ||
	    xs2s_jid_domain(from, fd, sizeof fd) || xs2s_jid_domain(to, td, sizeof td) ||
	    !xs2s_env_local(app->env, (flags & XS2S_SUBMIT_BOUNCE) ? td : fd))
		rc = XS2S_EINVAL; /* a bounce goes to our own sender only */
	xs2s_xml_free(app->env->xml, &root);
	if (rc != XS2S_OK)
		return rc;
	memset(&meta, 0, sizeof meta);
	meta.kind = (uint8_t)(kind - XS2S_MESSAGE); /* enum xs2s_stanza_kind */
	meta.bounce = (flags & XS2S_SUBMIT_BOUNCEABLE) != 0;
	meta.track = (uint16_t)(track > 0 ? track : 0);
	app_spans(xml, len, &meta);
	if (len > app->scratch_high && xml == app->scratch)
		app->scratch_high = len;
	if (xs2s_env_local(app->env, td))
		return xs2s_app_lq_put(app, xml, len, track > 0 ? track : 0);
	return app->out_fn(app->out_ctx, fd, td, xml, len, &meta);
}

/* Whether a stanza of this kind and type is bounced when undeliverable:
 * errors and replies never are (RFC 6120 8.3.1). */
static bool app_bounces(enum xs2s_kind kind, const char *type)
{
	if (!type)
		return true;
	if (!strcmp(type, "error"))
		return false;
	return !(kind == XS2S_IQ && !strcmp(type, "result"));
}

/* Write st into the scratch buffer: its length, or XS2S_ERANGE/XS2S_EINVAL. */
static int app_write(struct xs2s_app *app, const struct xs2s_stanza *st, const char *id)
{
	const char *kind = xs2s_app_kind_name(st->kind);
	struct xs2s_wbuf w;

	xs2s_w_init(&w, app->scratch, CONFIG_XS2S_MAX_STANZA + 1);
	xs2s_w_fmt(&w, "<%s", kind);
	if (st->type) {
		xs2s_w_raw(&w, " type='");
		xs2s_w_esc(&w, st->type);
		xs2s_w_raw(&w, "'");
	}
	xs2s_w_raw(&w, " from='");
	xs2s_w_esc(&w, st->from);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, st->to);
	xs2s_w_raw(&w, "' id='");
	xs2s_w_esc(&w, id);
	xs2s_w_raw(&w, "'>");
	if (st->body) {
		xs2s_w_raw(&w, "<body>");
		xs2s_w_esc(&w, st->body);
		xs2s_w_raw(&w, "</body>");
	}
	xs2s_w_raw(&w, st->payload);
	xs2s_w_fmt(&w, "</%s>", kind);
	if (w.overflow || w.len > CONFIG_XS2S_MAX_STANZA)
		return XS2S_ERANGE;
	return (int)w.len;
}

/* The common part of send and iq_request: id, completion, write, submit. */
int xs2s_app_send_tracked(struct xs2s_app *app, const struct xs2s_stanza *st, xs2s_done_fn done, void *arg, int iq,
			  struct xs2s_handle *h)
{
	char id[XS2S_ID_MAX + 1];
	int track = 0, n, rc;

	if (!st || st->kind < XS2S_MESSAGE || st->kind > XS2S_IQ || !st->from || !st->to)
		return XS2S_EINVAL;
	if (st->id && strlen(st->id) > XS2S_ID_MAX)
		return XS2S_EINVAL;
	if (st->id)
		snprintf(id, sizeof id, "%s", st->id);
	else
		xs2s_app_new_id(app, id);
	if (done || iq >= 0) {
		track = xs2s_app_track(app, done, arg, id, iq);
		if (track < 0)
			return track;
	}
	n = app_write(app, st, id);
	rc = n < 0 ? n : xs2s_app_submit(app, app->scratch, (size_t)n,
					 app_bounces(st->kind, st->type) ? XS2S_SUBMIT_BOUNCEABLE : 0, track);
	if (rc != XS2S_OK) {
		xs2s_app_untrack(app, track);
		return rc;
	}
	if (h) {
		h->handle = track ? app->pending[track - 1].handle : 0;
		snprintf(h->id, sizeof h->id, "%s", id);
	}
	return XS2S_OK;
}

int xs2s_app_send(struct xs2s_app *app, const struct xs2s_stanza *st, xs2s_done_fn done, void *arg,
		  struct xs2s_handle *h)
{
	return xs2s_app_send_tracked(app, st, done, arg, -1, h);
}

/* A raw stanza: checked, given an id when it has none (right after its
 * name), then sent like any other. */
int xs2s_app_send_raw(struct xs2s_app *app, const char *xml, xs2s_done_fn done, void *arg, struct xs2s_handle *h)
{
	char id[XS2S_ID_MAX + 1];
	struct xs2s_el root;
	const char *type, *idattr;
	enum xs2s_kind kind;
	size_t len = xml ? strlen(xml) : 0, name_end;
	bool bounce;
	int track = 0, rc;

	/* Whitespace around the element (a line from a file or a shell) is not part of it. */
	while (len && strchr(" \t\r\n", xml[0])) {
		xml++;
		len--;
	}
	while (len && strchr(" \t\r\n", xml[len - 1]))
		len--;
	if (!len)
		return XS2S_EINVAL;
	if (len > CONFIG_XS2S_MAX_STANZA)
		return XS2S_ERANGE;
	memcpy(app->scratch, xml, len);
	app->scratch[len] = '\0';
	rc = xs2s_xml_parse_local(app->env->xml, app->scratch, len, &root);
	if (rc != XS2S_OK) {
		xs2s_xml_free(app->env->xml, &root);
		return rc == XS2S_ENOMEM ? XS2S_ENOMEM : XS2S_EINVAL;
	}
	kind = xs2s_app_kind_of(xs2s_el_name(&root));
	type = xs2s_el_attr(&root, "type");
	idattr = xs2s_el_attr(&root, "id");
	bounce = app_bounces(kind, type);
	rc = kind == XS2S_ANY_KIND || (idattr && strlen(idattr) > XS2S_ID_MAX) ? XS2S_EINVAL : XS2S_OK;
	if (idattr)
		snprintf(id, sizeof id, "%s", idattr);
	xs2s_xml_free(app->env->xml, &root);
	if (rc != XS2S_OK)
		return rc;
	if (!idattr) {
		size_t add;

		xs2s_app_new_id(app, id);
		add = strlen(" id=''") + strlen(id);
		if (len + add > CONFIG_XS2S_MAX_STANZA)
			return XS2S_ERANGE;
		name_end = 1 + strcspn(app->scratch + 1, " \t\r\n/>");
		memmove(app->scratch + name_end + add, app->scratch + name_end, len - name_end + 1);
		memcpy(app->scratch + name_end, " id='", 5);
		memcpy(app->scratch + name_end + 5, id, strlen(id));
		app->scratch[name_end + add - 1] = '\'';
		len += add;
	}
	if (done) {
		track = xs2s_app_track(app, done, arg, id, -1);
		if (track < 0)
			return track;
	}
	rc = xs2s_app_submit(app, app->scratch, len, bounce ? XS2S_SUBMIT_BOUNCEABLE : 0, track);
	if (rc != XS2S_OK) {
		xs2s_app_untrack(app, track);
		return rc;
	}
	if (h) {
		h->handle = track ? app->pending[track - 1].handle : 0;
		snprintf(h->id, sizeof h->id, "%s", id);
	}
	return XS2S_OK;
}

/* A bounce of the largest stanza must fit (or wait for) the local queue. */
_Static_assert(CONFIG_XS2S_APP_LOCAL_QUEUE >= CONFIG_XS2S_MAX_STANZA + XS2S_APP_LQ_HDR + 1,
	       "CONFIG_XS2S_APP_LOCAL_QUEUE must hold one stanza of CONFIG_XS2S_MAX_STANZA bytes");
