/* Bounded text writer; see xs2s_wbuf.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "xs2s_wbuf.h"

#define WBUF_ESC_CHARS "&<>'\""

static const struct {
	char c;
	const char *ent;
	size_t len;
} wbuf_ents[] = {
	{ '&', "&amp;", 5 }, { '<', "&lt;", 4 }, { '>', "&gt;", 4 }, { '\'', "&apos;", 6 }, { '"', "&quot;", 6 },
};
#define WBUF_NENTS (sizeof wbuf_ents / sizeof wbuf_ents[0])

void xs2s_w_init(struct xs2s_wbuf *w, char *p, size_t cap)
{
	w->p = p;
	w->cap = p ? cap : 0;
	w->len = 0;
	w->overflow = w->cap == 0; /* not even room for the NUL */
	if (!w->overflow)
		p[0] = '\0';
}

/* Append n bytes, keeping p[len] a NUL; sets overflow instead of truncating. */
void xs2s_w_bytes(struct xs2s_wbuf *w, const char *s, size_t n)
{
	if (w->overflow)
		return;
	if (n >= w->cap - w->len) {
		w->overflow = 1;
		return;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

void xs2s_w_raw(struct xs2s_wbuf *w, const char *s)
{
	if (s)
		xs2s_w_bytes(w, s, strlen(s));
}

void xs2s_w_fmt(struct xs2s_wbuf *w, const char *fmt, ...)
{
	size_t room;
	va_list ap;
	int n;

	if (w->overflow)
		return;
	room = w->cap - w->len;
	va_start(ap, fmt);
	n = vsnprintf(w->p + w->len, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room) {
		w->overflow = 1;
		w->p[w->len] = '\0';
		return;
	}
	w->len += (size_t)n;
}

void xs2s_w_esc(struct xs2s_wbuf *w, const char *s)
{
	size_t start = w->len, run, i;

	if (!s || w->overflow)
		return;
	while (*s) {
		run = strcspn(s, WBUF_ESC_CHARS);
		xs2s_w_bytes(w, s, run);
		s += run;
		for (i = 0; *s && i < WBUF_NENTS; i++)
			if (wbuf_ents[i].c == *s) {
				xs2s_w_bytes(w, wbuf_ents[i].ent, wbuf_ents[i].len);
				s++;
				break;
			}
		if (w->overflow) {
			w->len = start; /* whole or nothing */
			w->p[start] = '\0';
			return;
		}
	}
}

/* The entity at s (n bytes left): its index, or -1. */
static int wbuf_ent_at(const char *s, size_t n)
{
	unsigned i;

	for (i = 0; i < WBUF_NENTS; i++)
		if (n >= wbuf_ents[i].len && !memcmp(s, wbuf_ents[i].ent, wbuf_ents[i].len))
			return (int)i;
	return -1;
}

size_t xs2s_unesc_len(const char *s, size_t n)
{
	size_t i = 0, len = 0;

	while (i < n) {
		int e = s[i] == '&' ? wbuf_ent_at(s + i, n - i) : -1;

		i += e >= 0 ? wbuf_ents[e].len : 1;
		len++;
	}
	return len;
}

void xs2s_w_unesc(struct xs2s_wbuf *w, const char *s, size_t n)
{
	size_t i = 0;

	while (i < n && !w->overflow) {
		size_t run = 0;
		int e;

		while (i + run < n && s[i + run] != '&')
			run++;
		xs2s_w_bytes(w, s + i, run);
		i += run;
		if (i == n)
			break;
		e = wbuf_ent_at(s + i, n - i);
		if (e >= 0) {
			xs2s_w_bytes(w, &wbuf_ents[e].c, 1);
			i += wbuf_ents[e].len;
		} else {
			xs2s_w_bytes(w, s + i, 1);
			i++;
		}
	}
}

void xs2s_w_json(struct xs2s_wbuf *w, const char *s)
{
	xs2s_w_raw(w, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			xs2s_w_fmt(w, "\\%c", c);
		else if (c < 0x20)
			xs2s_w_fmt(w, "\\u%04x", c);
		else
			xs2s_w_bytes(w, (const char *)s, 1);
	}
	xs2s_w_raw(w, "\"");
}
