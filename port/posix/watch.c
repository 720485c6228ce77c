/* xs2sd's stanza watch: JSON lines in a bounded buffer (watch.h). */
#include <string.h>
#include "xs2s_wbuf.h"
#include "watch.h"

static const char *const watch_kinds[] = {
	[XS2S_ANY_KIND] = "stanza", [XS2S_MESSAGE] = "message", [XS2S_PRESENCE] = "presence", [XS2S_IQ] = "iq",
};

void xs2s_watch_init(struct xs2s_watch_out *o, char *buf, size_t cap)
{
	memset(o, 0, sizeof *o);
	o->buf = buf;
	o->cap = cap;
}

/* n bytes of s as a quoted JSON string (s need not be NUL-terminated). */
static void watch_json_bytes(struct xs2s_wbuf *w, const char *s, size_t n)
{
	size_t i;

	xs2s_w_raw(w, "\"");
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			xs2s_w_fmt(w, "\\%c", c);
		else if (c == '\n')
			xs2s_w_raw(w, "\\n");
		else if (c == '\t')
			xs2s_w_raw(w, "\\t");
		else if (c == '\r')
			xs2s_w_raw(w, "\\r");
		else if (c < 0x20)
			xs2s_w_fmt(w, "\\u%04x", c);
		else
			xs2s_w_bytes(w, s + i, 1);
	}
	xs2s_w_raw(w, "\"");
}

/* A writer over the free end of the buffer, with what waits moved to its
 * start first (one bounded move, only when something was written since). */
static void watch_room(struct xs2s_watch_out *o, struct xs2s_wbuf *w)
{
	if (o->off) {
		memmove(o->buf, o->buf + o->off, o->len - o->off);
		o->len -= o->off;
		o->off = 0;
	}
	xs2s_w_init(w, o->buf + o->len, o->cap - o->len);
}

static void watch_skipped_line(struct xs2s_watch_out *o, struct xs2s_wbuf *w)
{
	if (o->skipped)
		xs2s_w_fmt(w, "{\"skipped\":%lu}\n", o->skipped);
}

bool xs2s_watch_put(struct xs2s_watch_out *o, const struct xs2s_stanza_in *st)
{
	unsigned kind = st->kind <= XS2S_IQ ? (unsigned)st->kind : XS2S_ANY_KIND;
	struct xs2s_wbuf w;

	watch_room(o, &w);
	watch_skipped_line(o, &w);
	xs2s_w_raw(&w, "{\"from\":");
	xs2s_w_json(&w, st->from);
	xs2s_w_raw(&w, ",\"to\":");
	xs2s_w_json(&w, st->to);
	xs2s_w_fmt(&w, ",\"kind\":\"%s\",\"type\":", watch_kinds[kind]);
	xs2s_w_json(&w, st->type);
	xs2s_w_raw(&w, ",\"id\":");
	xs2s_w_json(&w, st->id);
	xs2s_w_raw(&w, ",\"xml\":");
	watch_json_bytes(&w, st->xml, st->len);
	xs2s_w_raw(&w, "}\n");
	if (w.overflow) {
		o->skipped++;
		o->dropped++;
		return false;
	}
	o->len += w.len;
	o->skipped = 0;
	o->lines++;
	return true;
}

bool xs2s_watch_put_text(struct xs2s_watch_out *o, const char *text)
{
	struct xs2s_wbuf w;

	watch_room(o, &w);
	xs2s_w_raw(&w, text);
	if (w.overflow)
		return false;
	o->len += w.len;
	return true;
}

const char *xs2s_watch_pending(const struct xs2s_watch_out *o, size_t *n)
{
	*n = o->len - o->off;
	return o->buf + o->off;
}

void xs2s_watch_written(struct xs2s_watch_out *o, size_t n)
{
	struct xs2s_wbuf w;

	o->off += n < o->len - o->off ? n : o->len - o->off;
	if (o->off < o->len)
		return;
	o->off = o->len = 0;
	if (!o->skipped)
		return;
	/* Caught up: say what was lost now rather than with the next stanza. */
	watch_room(o, &w);
	watch_skipped_line(o, &w);
	if (!w.overflow) {
		o->len = w.len;
		o->skipped = 0;
	}
}
