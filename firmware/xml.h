/* XML glue over Mini-XML: one framed stanza at a time, namespaces resolved
 * here (Mini-XML has none), every allocation in a static arena.
 *
 * Mini-XML's own malloc/calloc/realloc/free/strdup references are renamed at
 * link time (objcopy --redefine-sym on a private copy of libmxml.a) to the
 * xs2s_mxml_* functions in xml.c, which draw from the XML arena.
 */
#ifndef XS2S_XML_H
#define XS2S_XML_H

#include <stddef.h>
#include <stdarg.h>
#include <mxml.h>
#include "xs2s_err.h"
#include "arena.h"

#define XS2S_NS_STREAMS  "http://etherx.jabber.org/streams"
#define XS2S_NS_SERVER   "jabber:server"
#define XS2S_NS_DIALBACK "jabber:server:dialback"
#define XS2S_NS_TLS      "urn:ietf:params:xml:ns:xmpp-tls"
#define XS2S_NS_SASL     "urn:ietf:params:xml:ns:xmpp-sasl"
#define XS2S_NS_STREAM_ERR "urn:ietf:params:xml:ns:xmpp-streams"
#define XS2S_NS_STANZA_ERR "urn:ietf:params:xml:ns:xmpp-stanzas"
#define XS2S_NS_DB_FEATURE "urn:xmpp:features:dialback"

#define XS2S_NS_URI_MAX 64     /* longest namespace URI kept from a header */
#define XS2S_NS_PREFIX_MAX 16  /* longest prefix kept from a header */
#define XS2S_NS_DECLS 4        /* prefixed declarations kept from a header */
#define XS2S_DOMAIN_MAX 255    /* longest domain (RFC 7622: 1023 bytes; we cap) */
#define XS2S_STREAM_ID_MAX 64  /* longest stream id accepted */

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

/* Reserve the arena and set Mini-XML's error callback. Call once at start-up,
 * before any other xs2s_xml_* function. */
void xs2s_xml_init(void);
struct xs2s_arena *xs2s_xml_arena(void);

/* Parse the header start tag returned by the framer (hdr, len; hdr[len] is
 * writable). Checks that the root is {http://etherx.jabber.org/streams}stream
 * (any prefix) and that the default namespace is jabber:server.
 * Returns XS2S_OK, XS2S_ENOMEM, or XS2S_EPROTO with *se set to
 * XS2S_SE_INVALID_NAMESPACE, XS2S_SE_BAD_NAMESPACE_PREFIX, XS2S_SE_NOT_WELL_FORMED
 * or XS2S_SE_POLICY_VIOLATION (a value longer than its field). */
int xs2s_xml_parse_header(char *hdr, size_t len, struct xs2s_stream_hdr *h, enum xs2s_stream_err *se);

/* Parse one complete stanza (NUL-terminated at stanza[len]) into a tree.
 * Returns XS2S_OK and *root (the top-level element), XS2S_ENOMEM when the
 * arena is exhausted, or XS2S_EPROTO on a syntax error. The caller MUST
 * release the tree with xs2s_xml_free before parsing the next stanza. */
int xs2s_xml_parse(const char *stanza, size_t len, mxml_node_t **root);
void xs2s_xml_free(mxml_node_t *root);

/* Local name of an element, without its prefix. */
const char *xs2s_xml_local(mxml_node_t *el);
/* Namespace URI of an element, resolved through its own and its ancestors'
 * xmlns attributes and then the stream's ctx. NULL for an undeclared prefix. */
const char *xs2s_xml_ns(mxml_node_t *el, const struct xs2s_ns_ctx *ctx);
/* Non-zero when el is {ns}local. */
int xs2s_xml_is(mxml_node_t *el, const char *ns, const char *local, const struct xs2s_ns_ctx *ctx);
/* First child element of el that is {ns}local (ns NULL: any namespace,
 * local NULL: any name); NULL if none. */
mxml_node_t *xs2s_xml_child(mxml_node_t *el, const char *ns, const char *local, const struct xs2s_ns_ctx *ctx);
/* Next sibling element after el, or NULL. */
mxml_node_t *xs2s_xml_next(mxml_node_t *el);
/* Attribute value or NULL. */
const char *xs2s_xml_attr(mxml_node_t *el, const char *name);
/* Text content of el's direct children (text and CDATA), entity-decoded,
 * NUL-terminated in dst. Returns its length, or XS2S_ERANGE if it does not fit
 * (dst then holds an empty string). */
int xs2s_xml_text(mxml_node_t *el, char *dst, size_t cap);

/* Bounded XML writer. Once anything does not fit, overflow is set and every
 * later call is a no-op: check overflow before using the text. */
struct xs2s_wbuf {
	char *p;        /* caller's buffer */
	size_t cap;     /* its size */
	size_t len;     /* bytes written (p[len] is NUL when cap > len) */
	int overflow;   /* set once something did not fit */
};
void xs2s_w_init(struct xs2s_wbuf *w, char *p, size_t cap);
void xs2s_w_raw(struct xs2s_wbuf *w, const char *s);
void xs2s_w_fmt(struct xs2s_wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Escapes & < > ' " so the text is safe in content and in attribute values. */
void xs2s_w_esc(struct xs2s_wbuf *w, const char *s);
/* Writes s as a quoted JSON string (for status and admin output). */
void xs2s_w_json(struct xs2s_wbuf *w, const char *s);

#endif
