/* The public element view (xs2s_app.h) over the glue's element view: the
 * application reads a stanza without Mini-XML types. */
#include <string.h>
#include "xs2s_app.h"
#include "xml/xml.h"

_Static_assert(sizeof(struct xs2s_view) >= sizeof(struct xs2s_el), "struct xs2s_view too small");

static struct xs2s_el view_el(const struct xs2s_view *v)
{
	struct xs2s_el el;

	memcpy(&el, v, sizeof el);
	return el;
}

static void view_set(struct xs2s_view *v, const struct xs2s_el *el)
{
	memset(v, 0, sizeof *v);
	memcpy(v, el, sizeof *el);
}

void xs2s_view_of(struct xs2s_view *v, const struct xs2s_el *el)
{
	view_set(v, el);
}

const char *xs2s_view_name(const struct xs2s_view *v)
{
	struct xs2s_el el = view_el(v);

	return el.node ? xs2s_el_name(&el) : "";
}

const char *xs2s_view_ns(const struct xs2s_view *v)
{
	struct xs2s_el el = view_el(v);
	const char *ns = el.node ? xs2s_el_nsuri(&el) : NULL;

	return ns ? ns : "";
}

const char *xs2s_view_attr(const struct xs2s_view *v, const char *name)
{
	struct xs2s_el el = view_el(v);

	return el.node && name ? xs2s_el_attr(&el, name) : NULL;
}

bool xs2s_view_child(const struct xs2s_view *v, const char *name, const char *ns, struct xs2s_view *child)
{
	struct xs2s_el el = view_el(v), c;

	if (!el.node || !xs2s_el_child(&el, ns, name, &c))
		return false;
	view_set(child, &c);
	return true;
}

bool xs2s_view_next(struct xs2s_view *v)
{
	struct xs2s_el el = view_el(v);

	if (!el.node || !xs2s_el_next(&el))
		return false;
	view_set(v, &el);
	return true;
}

int xs2s_view_text(const struct xs2s_view *v, char *buf, size_t cap)
{
	struct xs2s_el el = view_el(v);

	if (!el.node) {
		if (cap)
			buf[0] = '\0';
		return cap ? 0 : XS2S_ERANGE;
	}
	return xs2s_el_text(&el, buf, cap);
}
