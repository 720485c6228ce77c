/* Bounded text writer: XML, JSON and log text into a caller's buffer. Part
 * of the public API (the engine writes its elements with it; an
 * application or a daemon may too, as xs2sd's admin answers do).
 *
 * Once anything does not fit, overflow is set and every later call is a
 * no-op, so a caller builds a whole element and checks overflow once before
 * using it (never half an element on the wire). Owns nothing.
 */
#ifndef XS2S_WBUF_H
#define XS2S_WBUF_H

#include <stddef.h>

struct xs2s_wbuf {
	char *p;        /* caller's buffer */
	size_t cap;     /* its size */
	size_t len;     /* bytes written (p[len] is NUL when cap > len) */
	int overflow;   /* set once something did not fit */
};

void xs2s_w_init(struct xs2s_wbuf *w, char *p, size_t cap);
void xs2s_w_raw(struct xs2s_wbuf *w, const char *s);
void xs2s_w_bytes(struct xs2s_wbuf *w, const char *s, size_t n);
void xs2s_w_fmt(struct xs2s_wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Escapes & < > ' " so the text is safe in content and in attribute values. */
void xs2s_w_esc(struct xs2s_wbuf *w, const char *s);
/* Writes the n bytes of s with the five predefined entities (what
 * xs2s_w_esc wrote) turned back into characters. */
void xs2s_w_unesc(struct xs2s_wbuf *w, const char *s, size_t n);
/* Length of that unescaped text. */
size_t xs2s_unesc_len(const char *s, size_t n);
/* Writes s as a quoted JSON string (status and admin output). */
void xs2s_w_json(struct xs2s_wbuf *w, const char *s);

#endif
