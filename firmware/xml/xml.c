/* XML glue over Mini-XML 3: parses one framed stanza or stream header at a
 * time into a tree held in the calling engine's arena, resolves namespaces
 * (Mini-XML has none) and gives the rest of the engine element views.
 *
 * Mini-XML never touches libc's heap: the link uses a private copy of
 * libmxml.a whose allocating references are renamed to the xs2s_mxml_*
 * functions below:
 *
 *   objcopy --redefine-sym malloc=xs2s_mxml_malloc \
 *           --redefine-sym calloc=xs2s_mxml_calloc \
 *           --redefine-sym realloc=xs2s_mxml_realloc \
 *           --redefine-sym free=xs2s_mxml_free \
 *           --redefine-sym strdup=xs2s_mxml_strdup \
 *           --redefine-sym vasprintf=xs2s_mxml_vasprintf \
 *           --redefine-sym __vasprintf_chk=xs2s_mxml___vasprintf_chk \
 *           $(gcc -print-file-name=libmxml.a) libmxml-xs2s.a
 *
 * i.e. every symbol S of "malloc calloc realloc free strdup vasprintf
 * __vasprintf_chk" becomes xs2s_mxml_S. They draw from xml_cur: the arena of
 * the engine whose parse or free is running, and between such calls the
 * library arena below.
 *
 * Debian's 3.3.1 references malloc, calloc, realloc, free, strdup and (in
 * _mxml_strdupf/_mxml_vstrdupf, used by the *f setters) __vasprintf_chk;
 * vasprintf covers a build without _FORTIFY_SOURCE (renaming an absent
 * symbol is a no-op). Nothing else in the library allocates: mxml_error
 * formats into a stack buffer, and stdio (getc/putc/fprintf) is reached only
 * by the file load/save functions and by the error callback we replace.
 *
 * Mini-XML keeps its error callback in a per-thread struct that it callocs
 * on first use; the first xs2s_xml_init makes that first use with the
 * library arena current, so the struct outlives every engine. The parse
 * parent node lives there too. Only the engine thread may call Mini-XML.
 *
 * Exhaustion: Mini-XML does not check every strdup result (a NULL element
 * name crashes it later), so xs2s_mxml_strdup returns a shared empty string
 * instead of NULL; the arena's fail counter moved, so the parse is discarded.
 * Every parse hangs its nodes under the persistent top node: Mini-XML
 * forgets a parentless element whose attributes failed to parse, but it
 * cannot forget a child, and everything left under the top node is deleted.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <mxml.h>
#include "xml/xml.h"

#define XML_LIB_NAME "xml-lib"
#define XML_ARENA_NAME "xml"
#define XML_TOP_NAME "xs2s-top"     /* parent of every tree while it is parsed */
#define XML_ERR_MAX 128             /* bytes kept of Mini-XML's last error */
#define XML_XMLNS "xmlns"
#define XML_XMLNS_PFX "xmlns:"
#define XML_XMLNS_PFX_LEN (sizeof(XML_XMLNS_PFX) - 1)
#define XML_PREFIX_XML "xml"        /* always bound; never stored */
#define XML_DECL "?xml"             /* element name Mini-XML gives <?xml ...?> */
#define XML_DECL_LEN (sizeof(XML_DECL) - 1)
#define XML_STREAM_LOCAL "stream"
#define XML_BLANKS " \t\r\n"
/* The header copy: len bytes, one more for "/>" instead of ">", and the NUL. */
#define XML_HDR_EXTRA 2
/* Mini-XML's per-thread struct (about 830 bytes in 3.3.1) and the top node. */
#define XML_LIB_BYTES 2048

/* Targets of the renamed references in libmxml-xs2s.a. */
void *xs2s_mxml_malloc(size_t n);
void *xs2s_mxml_calloc(size_t n, size_t m);
void *xs2s_mxml_realloc(void *p, size_t n);
void xs2s_mxml_free(void *p);
char *xs2s_mxml_strdup(const char *s);
int xs2s_mxml_vasprintf(char **out, const char *fmt, va_list ap);
int xs2s_mxml___vasprintf_chk(char **out, int flag, const char *fmt, va_list ap);

/* Process-wide: Mini-XML's own state, allocated once. */
static _Alignas(16) uint8_t xml_lib_mem[XML_LIB_BYTES];
static struct xs2s_arena xml_lib;
static mxml_node_t *xml_top;
static struct xs2s_arena *xml_cur = &xml_lib; /* the arena Mini-XML allocates from now */
static char xml_nomem[1];           /* strdup's answer when the arena is full */
static char xml_last_err[XML_ERR_MAX];

/* Run Mini-XML on engine arena a until the matching xml_leave. */
static struct xs2s_arena *xml_enter(struct xs2s_xml *x)
{
	struct xs2s_arena *prev = xml_cur;

	xml_cur = &x->arena;
	return prev;
}

static void xml_leave(struct xs2s_arena *prev)
{
	xml_cur = prev;
}

void *xs2s_mxml_malloc(size_t n)
{
	return xs2s_arena_alloc(xml_cur, n);
}

void *xs2s_mxml_calloc(size_t n, size_t m)
{
	return xs2s_arena_calloc(xml_cur, n, m);
}

void *xs2s_mxml_realloc(void *p, size_t n)
{
	return xs2s_arena_realloc(xml_cur, p, n);
}

void xs2s_mxml_free(void *p)
{
	if (p != xml_nomem)
		xs2s_arena_free(xml_cur, p);
}

char *xs2s_mxml_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = xs2s_arena_alloc(xml_cur, n);

	if (!d)
		return xml_nomem; /* never NULL: see the file comment */
	memcpy(d, s, n);
	return d;
}

int xs2s_mxml_vasprintf(char **out, const char *fmt, va_list ap)
{
	va_list probe;
	int n;

	*out = NULL;
	va_copy(probe, ap);
	n = vsnprintf(NULL, 0, fmt, probe);
	va_end(probe);
	if (n < 0)
		return -1;
	*out = xs2s_arena_alloc(xml_cur, (size_t)n + 1);
	if (!*out)
		return -1;
	vsnprintf(*out, (size_t)n + 1, fmt, ap);
	return n;
}

int xs2s_mxml___vasprintf_chk(char **out, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return xs2s_mxml_vasprintf(out, fmt, ap);
}

/* Mini-XML's error callback: remember, never print. */
static void xml_on_error(const char *msg)
{
	snprintf(xml_last_err, sizeof(xml_last_err), "%s", msg);
}

void xs2s_xml_init(struct xs2s_xml *x)
{
	if (!xml_top) {
		xs2s_arena_init(&xml_lib, xml_lib_mem, sizeof(xml_lib_mem), XML_LIB_NAME);
		xml_cur = &xml_lib;
		mxmlSetErrorCallback(xml_on_error); /* first use: allocates the struct */
		xml_top = mxmlNewElement(MXML_NO_PARENT, XML_TOP_NAME);
	}
	xs2s_arena_init(&x->arena, x->mem, sizeof(x->mem), XML_ARENA_NAME);
}

void xs2s_xml_lib_usage(size_t *used, size_t *size)
{
	*used = xml_lib.used;
	*size = xml_lib.size;
}

/* A real element: not text, CDATA, comment, declaration or directive. */
static int xml_is_el(mxml_node_t *n)
{
	const char *name;

	if (!n || mxmlGetType(n) != MXML_ELEMENT)
		return 0;
	name = mxmlGetElement(n);
	return name && name[0] != '!' && name[0] != '?';
}

static int xml_is_decl(mxml_node_t *n)
{
	const char *name = mxmlGetType(n) == MXML_ELEMENT ? mxmlGetElement(n) : NULL;

	return name && !strncmp(name, XML_DECL, XML_DECL_LEN) &&
	       (name[XML_DECL_LEN] == '\0' || strchr(XML_BLANKS "?", name[XML_DECL_LEN]));
}

static int xml_is_blank(mxml_node_t *n)
{
	const char *s = mxmlGetType(n) == MXML_OPAQUE ? mxmlGetOpaque(n) : NULL;

	return s && s[strspn(s, XML_BLANKS)] == '\0';
}

static void xml_clear_top(void)
{
	mxml_node_t *n;

	while ((n = mxmlGetFirstChild(xml_top)) != NULL)
		mxmlDelete(n);
}

/* Parse s under the top node (the caller entered the arena); on success
 * detach its single element. Mini-XML drops character data after the last
 * tag without a word; the framer never delivers any. */
static int xml_load(const char *s, int allow_decl, mxml_node_t **out)
{
	uint32_t fails = xml_cur->fails;
	mxml_node_t *n, *el = NULL;
	int rc = XS2S_OK;

	xml_clear_top();
	if (!mxmlLoadString(xml_top, s, MXML_OPAQUE_CALLBACK))
		rc = XS2S_EPROTO;
	if (xml_cur->fails != fails)
		rc = XS2S_ENOMEM; /* even a tree returned may miss attributes */
	for (n = mxmlGetFirstChild(xml_top); rc == XS2S_OK && n; n = mxmlGetNextSibling(n)) {
		if (xml_is_el(n) && !el)
			el = n;
		else if (!xml_is_blank(n) && !(allow_decl && !el && xml_is_decl(n)))
			rc = XS2S_EPROTO;
	}
	if (rc == XS2S_OK && !el)
		rc = XS2S_EPROTO;
	if (rc == XS2S_OK)
		mxmlRemove(el);
	xml_clear_top();
	*out = rc == XS2S_OK ? el : NULL;
	return rc;
}

int xs2s_xml_parse(struct xs2s_xml *x, const char *stanza, size_t len, const struct xs2s_ns_ctx *ns,
		   struct xs2s_el *root)
{
	struct xs2s_arena *prev;
	mxml_node_t *n = NULL;
	int rc;

	if (!root)
		return XS2S_EINVAL;
	root->node = NULL;
	root->ns = ns;
	if (!x || !stanza || !xml_top || stanza[len] != '\0')
		return XS2S_EINVAL;
	if (memchr(stanza, '\0', len))
		return XS2S_EPROTO;
	prev = xml_enter(x);
	rc = xml_load(stanza, 0, &n);
	xml_leave(prev);
	root->node = n;
	return rc;
}

void xs2s_xml_free(struct xs2s_xml *x, struct xs2s_el *root)
{
	struct xs2s_arena *prev;
	mxml_node_t *n, *p;

	if (!root || !root->node)
		return;
	n = root->node;
	while ((p = mxmlGetParent(n)) != NULL && p != xml_top)
		n = p;
	prev = xml_enter(x);
	mxmlDelete(n);
	xml_leave(prev);
	root->node = NULL;
}

/* Copy src into dst[cap]; -1 (dst empty) when it does not fit. */
static int xml_copy(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap) {
		dst[0] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

/* Copy attribute name of el (empty when absent); -1 when it does not fit. */
static int xml_copy_attr(mxml_node_t *el, const char *name, char *dst, size_t cap)
{
	const char *v = mxmlElementGetAttr(el, name);

	return xml_copy(dst, cap, v ? v : "");
}

/* URI declared on el for prefix (plen bytes), or for the default namespace
 * when prefix is NULL; NULL when el declares none. */
static const char *xml_decl_on(mxml_node_t *el, const char *prefix, size_t plen)
{
	int i, n;

	if (!prefix)
		return mxmlElementGetAttr(el, XML_XMLNS);
	n = mxmlElementGetAttrCount(el);
	for (i = 0; i < n; i++) {
		const char *an = NULL;
		const char *v = mxmlElementGetAttrByIndex(el, i, &an);

		if (an && !strncmp(an, XML_XMLNS_PFX, XML_XMLNS_PFX_LEN) &&
		    strlen(an + XML_XMLNS_PFX_LEN) == plen &&
		    !memcmp(an + XML_XMLNS_PFX_LEN, prefix, plen))
			return v;
	}
	return NULL;
}

/* Store the header's prefixed declarations in h->ns. */
static enum xs2s_stream_err xml_collect_decls(mxml_node_t *root, struct xs2s_stream_hdr *h)
{
	int i, n = mxmlElementGetAttrCount(root);

	for (i = 0; i < n; i++) {
		const char *an = NULL;
		const char *v = mxmlElementGetAttrByIndex(root, i, &an);
		const char *prefix;

		if (!an || !v || strncmp(an, XML_XMLNS_PFX, XML_XMLNS_PFX_LEN))
			continue;
		prefix = an + XML_XMLNS_PFX_LEN;
		if (!*prefix)
			return XS2S_SE_NOT_WELL_FORMED;
		if (!strcmp(prefix, XML_PREFIX_XML))
			continue;
		if (!strcmp(v, XS2S_NS_DIALBACK))
			h->has_dialback = 1;
		if (h->ns.n == XS2S_NS_DECLS ||
		    xml_copy(h->ns.decl[h->ns.n].prefix, sizeof(h->ns.decl[0].prefix), prefix) ||
		    xml_copy(h->ns.decl[h->ns.n].uri, sizeof(h->ns.decl[0].uri), v))
			return XS2S_SE_POLICY_VIOLATION;
		h->ns.n++;
	}
	return XS2S_SE_NONE;
}

/* Local name of a Mini-XML element. */
static const char *xml_local(mxml_node_t *el)
{
	const char *name, *colon;

	if (!xml_is_el(el))
		return NULL;
	name = mxmlGetElement(el);
	colon = strchr(name, ':');
	return colon ? colon + 1 : name;
}

/* Fill h from the parsed start tag and validate its namespaces. */
static enum xs2s_stream_err xml_check_header(mxml_node_t *root, const char *content_ns, struct xs2s_stream_hdr *h)
{
	const char *name = mxmlGetElement(root);
	const char *colon = strchr(name, ':');
	const char *uri, *def;
	enum xs2s_stream_err se;
	int too_long = 0;

	/* Fields first, so that an error reply can still use 'to'. */
	too_long |= xml_copy_attr(root, "to", h->to, sizeof(h->to));
	too_long |= xml_copy_attr(root, "from", h->from, sizeof(h->from));
	too_long |= xml_copy_attr(root, "id", h->id, sizeof(h->id));
	too_long |= xml_copy_attr(root, "version", h->version, sizeof(h->version));
	if (colon) {
		uri = xml_decl_on(root, name, (size_t)(colon - name));
		if (!uri)
			return XS2S_SE_BAD_NAMESPACE_PREFIX;
	} else {
		uri = mxmlElementGetAttr(root, XML_XMLNS);
	}
	if (!uri || strcmp(uri, XS2S_NS_STREAMS) || strcmp(xml_local(root), XML_STREAM_LOCAL))
		return XS2S_SE_INVALID_NAMESPACE;
	def = mxmlElementGetAttr(root, XML_XMLNS);
	if (!def || strcmp(def, content_ns))
		return XS2S_SE_INVALID_NAMESPACE;
	if (xml_copy(h->ns.default_ns, sizeof(h->ns.default_ns), def))
		return XS2S_SE_POLICY_VIOLATION;
	se = xml_collect_decls(root, h);
	if (se != XS2S_SE_NONE)
		return se;
	return too_long ? XS2S_SE_POLICY_VIOLATION : XS2S_SE_NONE;
}

int xs2s_xml_parse_header(struct xs2s_xml *x, char *hdr, size_t len, struct xs2s_stream_hdr *h,
			  enum xs2s_stream_err *se)
{
	return xs2s_xml_parse_header_ns(x, hdr, len, XS2S_NS_SERVER, h, se);
}

int xs2s_xml_parse_header_ns(struct xs2s_xml *x, char *hdr, size_t len, const char *content_ns,
			     struct xs2s_stream_hdr *h, enum xs2s_stream_err *se)
{
	enum xs2s_stream_err ignored;
	struct xs2s_arena *prev;
	mxml_node_t *root;
	char *tmp;
	int rc;

	if (!se)
		se = &ignored;
	*se = XS2S_SE_NONE;
	if (!x || !hdr || !h || !content_ns || !xml_top)
		return XS2S_EINVAL;
	memset(h, 0, sizeof(*h));
	if (len < 2 || hdr[len - 1] != '>' || memchr(hdr, '\0', len)) {
		*se = XS2S_SE_NOT_WELL_FORMED;
		return XS2S_EPROTO;
	}
	/* The start tag is never closed: parse a copy made an empty-element tag. */
	tmp = xs2s_arena_alloc(&x->arena, len + XML_HDR_EXTRA);
	if (!tmp) {
		*se = XS2S_SE_RESOURCE_CONSTRAINT;
		return XS2S_ENOMEM;
	}
	memcpy(tmp, hdr, len);
	if (hdr[len - 2] == '/') {
		tmp[len] = '\0';
	} else {
		tmp[len - 1] = '/';
		tmp[len] = '>';
		tmp[len + 1] = '\0';
	}
	prev = xml_enter(x);
	rc = xml_load(tmp, 1, &root);
	xs2s_arena_free(&x->arena, tmp);
	if (rc != XS2S_OK) {
		xml_leave(prev);
		*se = rc == XS2S_ENOMEM ? XS2S_SE_RESOURCE_CONSTRAINT : XS2S_SE_NOT_WELL_FORMED;
		return rc;
	}
	*se = xml_check_header(root, content_ns, h);
	mxmlDelete(root);
	xml_leave(prev);
	return *se == XS2S_SE_NONE ? XS2S_OK : XS2S_EPROTO;
}

const char *xs2s_el_name(const struct xs2s_el *el)
{
	return el ? xml_local(el->node) : NULL;
}

const char *xs2s_el_nsuri(const struct xs2s_el *el)
{
	const struct xs2s_ns_ctx *ctx = el ? el->ns : NULL;
	const char *name, *colon, *prefix = NULL, *uri;
	size_t plen = 0;
	unsigned i;
	mxml_node_t *n;

	if (!el || !xml_is_el(el->node))
		return NULL;
	name = mxmlGetElement(el->node);
	colon = strchr(name, ':');
	if (colon) {
		prefix = name;
		plen = (size_t)(colon - name);
	}
	for (n = el->node; n && n != xml_top; n = mxmlGetParent(n))
		if (mxmlGetType(n) == MXML_ELEMENT && (uri = xml_decl_on(n, prefix, plen)) != NULL)
			return uri;
	if (!ctx)
		return NULL;
	if (!prefix)
		return ctx->default_ns;
	for (i = 0; i < ctx->n && i < XS2S_NS_DECLS; i++)
		if (strlen(ctx->decl[i].prefix) == plen && !memcmp(ctx->decl[i].prefix, prefix, plen))
			return ctx->decl[i].uri;
	return NULL;
}

bool xs2s_el_is(const struct xs2s_el *el, const char *ns, const char *name)
{
	const char *uri;

	if (!el || !xml_is_el(el->node))
		return false;
	if (name && strcmp(xml_local(el->node), name))
		return false;
	if (ns && (!(uri = xs2s_el_nsuri(el)) || strcmp(uri, ns)))
		return false;
	return true;
}

bool xs2s_el_child(const struct xs2s_el *el, const char *ns, const char *name, struct xs2s_el *out)
{
	mxml_node_t *c;

	for (c = el && el->node ? mxmlGetFirstChild(el->node) : NULL; c; c = mxmlGetNextSibling(c)) {
		struct xs2s_el v = { c, el->ns };

		if (xs2s_el_is(&v, ns, name)) {
			*out = v;
			return true;
		}
	}
	return false;
}

bool xs2s_el_next(struct xs2s_el *el)
{
	mxml_node_t *n;

	for (n = el->node ? mxmlGetNextSibling(el->node) : NULL; n; n = mxmlGetNextSibling(n))
		if (xml_is_el(n)) {
			el->node = n;
			return true;
		}
	return false;
}

const char *xs2s_el_attr(const struct xs2s_el *el, const char *name)
{
	return el && el->node && name ? mxmlElementGetAttr(el->node, name) : NULL;
}

/* The text of a text or CDATA child, or NULL. Mini-XML 3 keeps CDATA as an
 * element named "![CDATA[text". */
static const char *xml_child_text(mxml_node_t *c)
{
	return mxmlGetType(c) == MXML_OPAQUE ? mxmlGetOpaque(c) : mxmlGetCDATA(c);
}

size_t xs2s_el_text_len(const struct xs2s_el *el)
{
	mxml_node_t *c;
	size_t len = 0;
	const char *s;

	for (c = el && el->node ? mxmlGetFirstChild(el->node) : NULL; c; c = mxmlGetNextSibling(c))
		if ((s = xml_child_text(c)) != NULL)
			len += strlen(s);
	return len;
}

int xs2s_el_text(const struct xs2s_el *el, char *dst, size_t cap)
{
	mxml_node_t *c;
	size_t len = 0, n;
	const char *s;

	if (!dst || cap == 0)
		return XS2S_ERANGE;
	for (c = el && el->node ? mxmlGetFirstChild(el->node) : NULL; c; c = mxmlGetNextSibling(c)) {
		if ((s = xml_child_text(c)) == NULL)
			continue;
		n = strlen(s);
		if (n >= cap - len || len + n > INT_MAX) {
			dst[0] = '\0';
			return XS2S_ERANGE;
		}
		memcpy(dst + len, s, n);
		len += n;
	}
	dst[len] = '\0';
	return (int)len;
}
