/* The payload builder of the public API (xs2s_app.h): XML into a caller's
 * buffer, names checked, values and text escaped. */
#include <string.h>
#include "xs2s_app.h"
#include "xs2s_err.h"

/* An XML Name as XMPP payloads use them (XML 1.0 2.3, restricted to what
 * needs no check beyond bytes): a letter, '_' or a non-ASCII byte first, then
 * also digits, '-', '.', ':'. Non-ASCII bytes are UTF-8 the framer checks. */
static bool build_name_ok(const char *n)
{
	const unsigned char *p = (const unsigned char *)n;

	if (!p || !*p || !((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || *p >= 0x80))
		return false;
	for (p++; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' ||
		      *p == '-' || *p == '.' || *p == ':' || *p >= 0x80))
			return false;
	return true;
}

static void build_fail(struct xs2s_builder *b, int err)
{
	if (!b->err)
		b->err = err;
}

/* End the open start tag, if any, before content. */
static void build_content(struct xs2s_builder *b)
{
	if (b->in_tag) {
		xs2s_w_raw(&b->w, ">");
		b->in_tag = false;
	}
}

void xs2s_build_init(struct xs2s_builder *b, char *buf, size_t cap)
{
	memset(b, 0, sizeof *b);
	xs2s_w_init(&b->w, buf, cap);
}

void xs2s_build_open(struct xs2s_builder *b, const char *name, const char *ns)
{
	if (b->err)
		return;
	if (!build_name_ok(name) || b->depth == XS2S_BUILD_DEPTH) {
		build_fail(b, XS2S_EINVAL);
		return;
	}
	build_content(b);
	xs2s_w_raw(&b->w, "<");
	b->name_off[b->depth++] = (uint16_t)b->w.len;
	xs2s_w_raw(&b->w, name);
	b->in_tag = true;
	if (ns)
		xs2s_build_attr(b, "xmlns", ns);
}

void xs2s_build_attr(struct xs2s_builder *b, const char *name, const char *value)
{
	if (b->err)
		return;
	if (!b->in_tag || !build_name_ok(name) || !value) {
		build_fail(b, XS2S_EINVAL);
		return;
	}
	xs2s_w_raw(&b->w, " ");
	xs2s_w_raw(&b->w, name);
	xs2s_w_raw(&b->w, "='");
	xs2s_w_esc(&b->w, value);
	xs2s_w_raw(&b->w, "'");
}

void xs2s_build_text(struct xs2s_builder *b, const char *text)
{
	if (b->err)
		return;
	if (!text) {
		build_fail(b, XS2S_EINVAL);
		return;
	}
	build_content(b);
	xs2s_w_esc(&b->w, text);
}

void xs2s_build_close(struct xs2s_builder *b)
{
	const char *name;
	size_t n;

	if (b->err)
		return;
	if (!b->depth) {
		build_fail(b, XS2S_EINVAL);
		return;
	}
	if (b->in_tag) {
		xs2s_w_raw(&b->w, "/>");
		b->in_tag = false;
		b->depth--;
		return;
	}
	if (b->w.overflow)
		return;
	name = b->w.p + b->name_off[--b->depth];
	n = strcspn(name, " />");
	xs2s_w_raw(&b->w, "</");
	xs2s_w_bytes(&b->w, name, n); /* never overlaps: the writer appends after len */
	xs2s_w_raw(&b->w, ">");
}

int xs2s_build_end(struct xs2s_builder *b)
{
	while (!b->err && b->depth)
		xs2s_build_close(b);
	if (!b->err && b->w.overflow)
		b->err = XS2S_ERANGE;
	return b->err ? b->err : (int)b->w.len;
}
