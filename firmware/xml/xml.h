/* XML glue over Mini-XML: one framed stanza at a time, namespaces resolved
 * here (Mini-XML has none), every allocation in a bounded arena, and an
 * element view type of our own so that no other module sees Mini-XML.
 *
 * Each engine owns a struct xs2s_xml (its arena). Mini-XML's
 * malloc/calloc/realloc/free/strdup references are renamed at link time
 * (objcopy --redefine-sym on a private copy of libmxml.a) to xs2s_mxml_*
 * functions in xml.c, which draw from the arena of the engine whose call is
 * running. Mini-XML's own process-wide state (its per-thread struct and the
 * parse parent node) lives in a small library arena of xml.c, allocated once.
 *
 * Who calls: the link (headers, elements), authentication and local delivery
 * (element views). Single-threaded: only one engine thread may call it.
 */
#ifndef XS2S_XML_H
#define XS2S_XML_H

#include <stdbool.h>
#include <stddef.h>
#include "xs2s_err.h"
#include "lib/arena.h"
#include "lib/jid.h"

#define XS2S_NS_STREAMS  "http://etherx.jabber.org/streams"
#define XS2S_NS_SERVER   "jabber:server"
#define XS2S_NS_COMPONENT "jabber:component:accept" /* XEP-0114 */
#define XS2S_NS_DIALBACK "jabber:server:dialback"
#define XS2S_NS_TLS      "urn:ietf:params:xml:ns:xmpp-tls"
#define XS2S_NS_SASL     "urn:ietf:params:xml:ns:xmpp-sasl"
#define XS2S_NS_STREAM_ERR "urn:ietf:params:xml:ns:xmpp-streams"
#define XS2S_NS_STANZA_ERR "urn:ietf:params:xml:ns:xmpp-stanzas"
#define XS2S_NS_DB_FEATURE "urn:xmpp:features:dialback"
#define XS2S_NS_BIDI "urn:xmpp:bidi"                  /* XEP-0288 2.2: the request */
#define XS2S_NS_BIDI_FEATURE "urn:xmpp:features:bidi" /* XEP-0288 2.1: the stream feature */

#define XS2S_NS_URI_MAX 64     /* longest namespace URI kept from a header */
#define XS2S_NS_PREFIX_MAX 16  /* longest prefix kept from a header */
#define XS2S_NS_DECLS 4        /* prefixed declarations kept from a header */

/* An engine's XML arena. */
struct xs2s_xml {
	struct xs2s_arena arena;
	_Alignas(16) unsigned char mem[CONFIG_XS2S_XML_ARENA];
};

/* Namespaces in scope at stream level (declared on the stream header). */
struct xs2s_ns_ctx {
	char default_ns[XS2S_NS_URI_MAX];         /* xmlns='...' */
	unsigned n;                               /* used entries of decl */
	struct {
		char prefix[XS2S_NS_PREFIX_MAX];      /* "stream", "db" */
		char uri[XS2S_NS_URI_MAX];
	} decl[XS2S_NS_DECLS];
};

/* What a stream header says. Strings are NUL-terminated, empty when absent. */
struct xs2s_stream_hdr {
	char to[XS2S_DOMAIN_MAX + 1];
	char from[XS2S_DOMAIN_MAX + 1];
	char id[XS2S_STREAM_ID_MAX + 1];
	char version[8];
	int has_dialback;          /* xmlns:db='jabber:server:dialback' declared */
	struct xs2s_ns_ctx ns;     /* declarations in scope for the stream's children */
};

/* A view of one element of a parsed stanza: valid until the tree is freed.
 * node is Mini-XML's; only xml.c looks inside it. */
struct xs2s_el {
	void *node;
	const struct xs2s_ns_ctx *ns;   /* the stream's declarations */
};

/* Prepare an engine's arena. The first call in the process also sets up
 * Mini-XML's own state in the library arena. */
void xs2s_xml_init(struct xs2s_xml *x);
/* Bytes of the library arena in use (Mini-XML's state; constant after the
 * first init) and its size. */
void xs2s_xml_lib_usage(size_t *used, size_t *size);

/* Parse the header start tag returned by the framer (hdr, len; hdr[len] is
 * writable). Checks that the root is {http://etherx.jabber.org/streams}stream
 * (any prefix) and that the default namespace is jabber:server.
 * Returns XS2S_OK, XS2S_ENOMEM, or XS2S_EPROTO with *se set to
 * XS2S_SE_INVALID_NAMESPACE, XS2S_SE_BAD_NAMESPACE_PREFIX, XS2S_SE_NOT_WELL_FORMED
 * or XS2S_SE_POLICY_VIOLATION (a value longer than its field). */
int xs2s_xml_parse_header(struct xs2s_xml *x, char *hdr, size_t len, struct xs2s_stream_hdr *h,
			  enum xs2s_stream_err *se);
/* The same for a stream whose default namespace must be content_ns
 * (XS2S_NS_SERVER, or XS2S_NS_COMPONENT for an XEP-0114 component). */
int xs2s_xml_parse_header_ns(struct xs2s_xml *x, char *hdr, size_t len, const char *content_ns,
			     struct xs2s_stream_hdr *h, enum xs2s_stream_err *se);

/* Parse one complete stanza (NUL-terminated at stanza[len]) into a tree.
 * Returns XS2S_OK and *root (the top-level element, with ns as its stream
 * context), XS2S_ENOMEM when the arena is exhausted, or XS2S_EPROTO on a
 * syntax error. The caller MUST release the tree with xs2s_xml_free before
 * parsing the next stanza with the same arena. */
int xs2s_xml_parse(struct xs2s_xml *x, const char *stanza, size_t len, const struct xs2s_ns_ctx *ns,
		   struct xs2s_el *root);
void xs2s_xml_free(struct xs2s_xml *x, struct xs2s_el *root);

/* Local name of an element, without its prefix. */
const char *xs2s_el_name(const struct xs2s_el *el);
/* Namespace URI of an element, resolved through its own and its ancestors'
 * xmlns attributes and then the stream's. NULL for an undeclared prefix. */
const char *xs2s_el_nsuri(const struct xs2s_el *el);
/* True when el is {ns}name (ns NULL: any namespace; name NULL: any name). */
bool xs2s_el_is(const struct xs2s_el *el, const char *ns, const char *name);
/* First child element of el that is {ns}name (NULL: any), into *out. */
bool xs2s_el_child(const struct xs2s_el *el, const char *ns, const char *name, struct xs2s_el *out);
/* Next sibling element after *el (in place); false when none. */
bool xs2s_el_next(struct xs2s_el *el);
/* Attribute value or NULL. */
const char *xs2s_el_attr(const struct xs2s_el *el, const char *name);
/* Text content of el's direct children (text and CDATA), entity-decoded,
 * NUL-terminated in dst. Returns its length, or XS2S_ERANGE if it does not
 * fit (dst then holds an empty string). */
int xs2s_el_text(const struct xs2s_el *el, char *dst, size_t cap);
/* Length of that text. */
size_t xs2s_el_text_len(const struct xs2s_el *el);

/* check.c: parse a stanza written on this side (the application's, a
 * bounce) after checking it with the framer's rules, in the jabber:server
 * context: XS2S_OK and *root (free it with xs2s_xml_free), XS2S_EPROTO when
 * it is not one well-formed, restricted-XML element, XS2S_ENOMEM.
 * stanza[len] must be a NUL. */
int xs2s_xml_parse_local(struct xs2s_xml *x, const char *stanza, size_t len, struct xs2s_el *root);
/* That context (default namespace jabber:server, no prefixes). */
const struct xs2s_ns_ctx *xs2s_xml_server_ns(void);

/* view.c: the public view (xs2s_app.h) of an element. */
struct xs2s_view;
void xs2s_view_of(struct xs2s_view *v, const struct xs2s_el *el);

#endif
