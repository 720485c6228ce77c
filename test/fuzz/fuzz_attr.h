/* For the harnesses that answer the engine (fuzz_engine, fuzz_starttls): the
 * value of one attribute in a start tag the engine wrote, as the engine
 * writes them (name='value'). The includer defines _GNU_SOURCE (memmem). */
#ifndef XS2S_FUZZ_ATTR_H
#define XS2S_FUZZ_ATTR_H

#include <stdio.h>
#include <string.h>

#define FZ_ATTR 300

/* The value of attribute name in the start tag el (len bytes), or "". */
static inline void fz_attr(const char *el, size_t len, const char *name, char out[FZ_ATTR])
{
	char pat[32];
	const char *p, *end = el + len, *q;
	size_t n;

	out[0] = '\0';
	snprintf(pat, sizeof pat, " %s='", name);
	p = memmem(el, len, pat, strlen(pat));
	if (!p)
		return;
	p += strlen(pat);
	q = memchr(p, '\'', (size_t)(end - p));
	if (!q)
		return;
	n = (size_t)(q - p) < FZ_ATTR - 1 ? (size_t)(q - p) : FZ_ATTR - 1;
	memcpy(out, p, n);
	out[n] = '\0';
}

#endif
