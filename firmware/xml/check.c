/* A stanza written on this side (by the application, or a bounce) checked
 * as one read from a peer would be: the framer's rules first (RFC 6120 11:
 * no DTD, comments or processing instructions, only predefined entities,
 * valid UTF-8, one complete element), then Mini-XML's parse (tags match). */
#include <string.h>
#include "xml/framer.h"
#include "xml/xml.h"

#define CHECK_HEADER "<stream:stream>"

/* The context of a stanza of ours: jabber:server by default, as on our streams. */
static const struct xs2s_ns_ctx check_ns = { .default_ns = XS2S_NS_SERVER };

const struct xs2s_ns_ctx *xs2s_xml_server_ns(void)
{
	return &check_ns;
}

int xs2s_xml_parse_local(struct xs2s_xml *x, const char *stanza, size_t len, struct xs2s_el *root)
{
	struct xs2s_framer f;
	size_t used;
	char *buf;
	int ev, rc = XS2S_OK;

	root->node = NULL;
	root->ns = &check_ns;
	if (!len || stanza[len] != '\0')
		return XS2S_EINVAL;
	buf = xs2s_arena_alloc(&x->arena, len + 1);
	if (!buf)
		return XS2S_ENOMEM;
	xs2s_framer_init(&f, buf, len);
	ev = xs2s_framer_feed(&f, (const uint8_t *)CHECK_HEADER, sizeof CHECK_HEADER - 1, &used);
	if (ev == XS2S_FRAME_HEADER)
		ev = xs2s_framer_feed(&f, (const uint8_t *)stanza, len, &used);
	if (ev != XS2S_FRAME_STANZA || used != len)
		rc = XS2S_EPROTO;
	xs2s_arena_free(&x->arena, buf);
	if (rc == XS2S_OK)
		rc = xs2s_xml_parse(x, stanza, len, &check_ns, root);
	return rc;
}
