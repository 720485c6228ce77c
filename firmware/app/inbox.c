/* The inbox: messages for local JIDs that no handler claimed, and the
 * bounces of stanzas sent without a completion, kept until the application
 * (or xs2sctl inbox) reads them. Records: a 2-byte length, then from, to,
 * type, error condition, body and error text, each NUL-ended. */
#include <string.h>
#include "xs2s_wbuf.h"
#include "app/app.h"

#define INBOX_FIELDS XS2S_APP_INBOX_FIELDS
#define INBOX_TEXT_MAX 159 /* an error's <text/> kept (longer: cut) */
#define INBOX_LEN_BYTES 2

/* The condition of an error stanza (RFC 6120 8.3.2: the condition, then an
 * optional <text/>, in either order), or "". */
static const char *inbox_error_cond(const struct xs2s_stanza_in *in)
{
	struct xs2s_view e, c;
	bool more;

	if (!xs2s_view_child(&in->top, "error", NULL, &e))
		return "";
	for (more = xs2s_view_child(&e, NULL, XS2S_NS_STANZA_ERR, &c); more; more = xs2s_view_next(&c))
		if (!strcmp(xs2s_view_ns(&c), XS2S_NS_STANZA_ERR) && strcmp(xs2s_view_name(&c), "text"))
			return xs2s_view_name(&c);
	return "";
}

/* The <text/> of an error stanza (RFC 6120 8.3.2), into buf: cut to fit,
 * control characters replaced (a line of xs2sctl inbox stays one line). */
static const char *inbox_error_text(const struct xs2s_stanza_in *in, char *buf, size_t cap)
{
	struct xs2s_view e, c;
	bool more;
	char *p;

	buf[0] = '\0';
	if (strcmp(in->type, "error") || !xs2s_view_child(&in->top, "error", NULL, &e))
		return buf;
	for (more = xs2s_view_child(&e, "text", XS2S_NS_STANZA_ERR, &c); more; more = xs2s_view_next(&c))
		if (!strcmp(xs2s_view_ns(&c), XS2S_NS_STANZA_ERR) && !strcmp(xs2s_view_name(&c), "text")) {
			if (xs2s_view_text(&c, buf, cap) < 0)
				buf[0] = '\0';
			break;
		}
	for (p = buf; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return buf;
}

bool xs2s_app_inbox_put_stanza(struct xs2s_app *app, const struct xs2s_stanza_in *in)
{
	char text[INBOX_TEXT_MAX + 1];
	const char *f[INBOX_FIELDS - 2];
	struct xs2s_view body;
	/* The body in the stanza's own namespace (jabber:server, or a component's jabber:component:accept). */
	bool has_body = xs2s_view_child(&in->top, "body", xs2s_view_ns(&in->top), &body);
	size_t need = INBOX_LEN_BYTES, i, room;
	struct xs2s_wbuf w;
	int n;

	f[0] = in->from;
	f[1] = in->to;
	f[2] = in->type[0] ? in->type : "normal";
	f[3] = !strcmp(in->type, "error") ? inbox_error_cond(in) : "";
	inbox_error_text(in, text, sizeof text);
	for (i = 0; i < INBOX_FIELDS - 2; i++)
		need += strlen(f[i]) + 1;
	need += strlen(text) + 1;
	room = sizeof app->inbox - app->inbox_used;
	if (need + 1 > room || need + 1 > UINT16_MAX) {
		app->inbox_refused++;
		return false;
	}
	xs2s_w_init(&w, app->inbox + app->inbox_used + INBOX_LEN_BYTES, room - INBOX_LEN_BYTES);
	for (i = 0; i < INBOX_FIELDS - 2; i++) {
		xs2s_w_raw(&w, f[i]);
		xs2s_w_bytes(&w, "", 1); /* the field's NUL */
	}
	n = has_body ? xs2s_view_text(&body, w.p + w.len, w.cap - w.len) : 0;
	if (w.overflow || n < 0) {
		app->inbox_refused++;
		return false;
	}
	if (!has_body)
		w.p[w.len] = '\0';
	w.len += (size_t)n + 1; /* the body and its NUL */
	xs2s_w_raw(&w, text);   /* the error text last: the body is written in place above */
	xs2s_w_bytes(&w, "", 1);
	if (w.overflow || w.len > UINT16_MAX) {
		app->inbox_refused++;
		return false;
	}
	need = INBOX_LEN_BYTES + w.len;
	app->inbox[app->inbox_used] = (char)(need >> 8);
	app->inbox[app->inbox_used + 1] = (char)(need & 0xff);
	app->inbox_used += need;
	if (app->inbox_used > app->inbox_high)
		app->inbox_high = app->inbox_used;
	app->inbox_count++;
	return true;
}

int xs2s_app_inbox_peek(struct xs2s_app *app, const char **fields)
{
	const char *p = app->inbox + INBOX_LEN_BYTES;
	unsigned i;

	if (!app->inbox_count)
		return XS2S_ENOTFOUND;
	for (i = 0; i < INBOX_FIELDS; i++) {
		fields[i] = p;
		p += strlen(p) + 1;
	}
	return XS2S_OK;
}

void xs2s_app_inbox_pop(struct xs2s_app *app)
{
	size_t n;

	if (!app->inbox_count)
		return;
	n = ((size_t)(unsigned char)app->inbox[0] << 8) | (unsigned char)app->inbox[1];
	memmove(app->inbox, app->inbox + n, app->inbox_used - n);
	app->inbox_used -= n;
	app->inbox_count--;
}
