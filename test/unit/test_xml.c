/* Unit tests for the Mini-XML glue (firmware/xml/xml.c). Must be linked with
 * the objcopy-renamed libmxml-xs2s.a: the tests check that Mini-XML's memory
 * comes from the engine's XML arena while a parse or free runs, and from the
 * library arena (Mini-XML's process-wide state) otherwise. Leak gate: after
 * every test the engine arena is back to what xs2s_xml_init left in it (empty)
 * and the library arena to its size after the first init.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <mxml.h>

#include "xs2s_wbuf.h"
#include "xml/xml.h"

/* Defined in xml.c: the renamed targets of Mini-XML's libc references. */
void xs2s_mxml_free(void *p);
char *xs2s_mxml_strdup(const char *s);

#define BIG 65536           /* scratch for generated documents */
#define TEXT_MAX 256
#define MANY_CHILDREN 5000
#define MANY_ATTRS 3000
#define HDR_PROSODY                                                             \
	"<stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' " \
	"xmlns:db='jabber:server:dialback' to='xs2s.local' from='example.org' " \
	"id='a1b2-c3' version='1.0' xml:lang='en'>"

static struct xs2s_xml xml, xml2;  /* two engines' arenas */
static size_t base_used, lib_base;
static uint32_t base_blocks;
static char big[BIG];
static struct xs2s_stream_hdr hdr;  /* of HDR_PROSODY, for namespace tests */

static struct xs2s_arena *arena(void)
{
	return &xml.arena;
}

static size_t lib_used(void)
{
	size_t used, size;

	xs2s_xml_lib_usage(&used, &size);
	return used;
}

/* Parse a string literal or buffer with the stream context of HDR_PROSODY;
 * the glue wants stanza[len] == NUL. */
static int parse(const char *s, struct xs2s_el *root)
{
	return xs2s_xml_parse(&xml, s, strlen(s), &hdr.ns, root);
}

static void xfree(struct xs2s_el *root)
{
	xs2s_xml_free(&xml, root);
}

/* The first child of el that is {ns}name, or a view of nothing. */
static struct xs2s_el child(const struct xs2s_el *el, const char *ns, const char *name)
{
	struct xs2s_el c = { NULL, el ? el->ns : NULL };

	if (!xs2s_el_child(el, ns, name, &c))
		c.node = NULL;
	return c;
}

/* The next sibling element of el, or a view of nothing. */
static struct xs2s_el next(struct xs2s_el el)
{
	if (!xs2s_el_next(&el))
		el.node = NULL;
	return el;
}

static int parse_hdr(const char *s, struct xs2s_stream_hdr *h, enum xs2s_stream_err *se)
{
	char buf[2048];
	size_t n = strlen(s);

	assert_true(n + 1 < sizeof(buf));
	memcpy(buf, s, n + 1);
	buf[n + 1] = 'X'; /* beyond the NUL: must stay untouched */
	int rc = xs2s_xml_parse_header(&xml, buf, n, h, se);
	assert_memory_equal(buf, s, n + 1);
	assert_int_equal(buf[n + 1], 'X');
	return rc;
}

static int group_setup(void **state)
{
	enum xs2s_stream_err se;
	(void)state;

	xs2s_xml_init(&xml);
	lib_base = lib_used();
	xs2s_xml_init(&xml); /* idempotent */
	xs2s_xml_init(&xml2); /* a second engine: Mini-XML's state is set up once */
	if (lib_used() != lib_base)
		return -1;
	base_used = arena()->used;
	base_blocks = arena()->blocks;
	if (parse_hdr(HDR_PROSODY, &hdr, &se) != XS2S_OK)
		return -1;
	return 0;
}

static int leak_gate(void **state)
{
	(void)state;
	if (arena()->used != base_used || arena()->blocks != base_blocks || xml2.arena.used || lib_used() != lib_base) {
		print_error("xml arena leak: used %zu (baseline %zu), blocks %u (baseline %u), second engine %zu, "
			    "library %zu (baseline %zu)\n", arena()->used, base_used, arena()->blocks, base_blocks,
			    xml2.arena.used, lib_used(), lib_base);
		return -1;
	}
	return 0;
}

static void test_init_and_redirect(void **state)
{
	struct xs2s_el root, root2;
	mxml_node_t *n;
	size_t lib_size, used, one;
	char *s;
	(void)state;

	assert_string_equal(arena()->name, "xml");
	assert_int_equal(arena()->size % 16, 0);
	assert_true(arena()->size > CONFIG_XS2S_XML_ARENA - 32);
	/* Mini-XML's per-thread struct and the top node live in the library
	 * arena, once per process; an engine's arena starts empty. */
	xs2s_xml_lib_usage(&used, &lib_size);
	assert_int_equal(used, lib_base);
	assert_true(lib_base > 0);
	assert_true(lib_base < lib_size);
	assert_int_equal(base_used, 0);
	assert_int_equal(xml2.arena.used, 0);

	/* Trees live in the engine's arena, with the stream context given. */
	assert_int_equal(parse("<message to='a'><body>x</body></message>", &root), XS2S_OK);
	assert_true(arena()->used > base_used);
	assert_true(xs2s_arena_owns(arena(), root.node));
	assert_true(xs2s_arena_owns(arena(), mxmlGetElement(root.node)));
	assert_true(xs2s_arena_owns(arena(), xs2s_el_attr(&root, "to")));
	assert_ptr_equal(root.ns, &hdr.ns);
	assert_int_equal(lib_used(), lib_base);

	/* A second engine's tree lives in its own arena; each is freed alone. */
	assert_int_equal(xs2s_xml_parse(&xml2, "<presence/>", 11, NULL, &root2), XS2S_OK);
	assert_true(xs2s_arena_owns(&xml2.arena, root2.node));
	assert_false(xs2s_arena_owns(arena(), root2.node));
	assert_null(root2.ns);
	one = arena()->used;
	assert_true(xml2.arena.used > 0);
	xfree(&root);
	assert_null(root.node);
	assert_int_equal(arena()->used, base_used);
	assert_true(one > base_used);
	assert_string_equal(xs2s_el_name(&root2), "presence");
	xs2s_xml_free(&xml2, &root2);
	assert_int_equal(xml2.arena.used, 0);
	assert_int_equal(lib_used(), lib_base);

	/* Charged to the current owner (a link slot), and given back. */
	uint8_t prev = xs2s_arena_set_owner(arena(), 3);
	assert_int_equal(parse("<presence/>", &root), XS2S_OK);
	assert_true(arena()->owner_used[3] > 0);
	xfree(&root);
	assert_int_equal(arena()->owner_used[3], 0);
	assert_true(arena()->owner_high[3] > 0);
	xs2s_arena_set_owner(arena(), prev);

	/* Outside a parse or free Mini-XML draws from the library arena; the
	 * *f setters go through the renamed vasprintf. */
	used = lib_used();
	n = mxmlNewOpaquef(MXML_NO_PARENT, "%d-%s", 42, "x");
	assert_non_null(n);
	assert_string_equal(mxmlGetOpaque(n), "42-x");
	assert_true(lib_used() > used);
	assert_int_equal(arena()->used, base_used);
	mxmlDelete(n);
	assert_int_equal(lib_used(), used);

	/* Save buffers are arena memory too, released with the renamed free. */
	n = mxmlNewElement(MXML_NO_PARENT, "a");
	mxmlElementSetAttrf(n, "n", "%u", 7u);
	one = lib_used();
	s = mxmlSaveAllocString(n, MXML_NO_CALLBACK);
	assert_non_null(s);
	assert_true(lib_used() > one);
	assert_non_null(strstr(s, "<a n=\"7\""));
	xs2s_mxml_free(s);
	assert_int_equal(lib_used(), one);
	mxmlDelete(n);
	assert_int_equal(lib_used(), used);
}

static void test_parse_basic(void **state)
{
	struct xs2s_el root, body;
	char text[TEXT_MAX];
	(void)state;

	assert_int_equal(parse("  <message type='chat'>\n <body>hi</body>\n</message>", &root), XS2S_OK);
	assert_string_equal(xs2s_el_name(&root), "message");
	assert_null(mxmlGetParent(root.node));
	assert_string_equal(xs2s_el_attr(&root, "type"), "chat");
	assert_null(xs2s_el_attr(&root, "to"));
	body = child(&root, NULL, "body");
	assert_non_null(body.node);
	assert_null(next(body).node);
	assert_int_equal(xs2s_el_text(&body, text, sizeof(text)), 2);
	assert_string_equal(text, "hi");
	assert_int_equal(xs2s_el_text_len(&body), 2);
	/* Opaque text keeps whitespace. */
	assert_int_equal(xs2s_el_text(&root, text, sizeof(text)), 3);
	assert_string_equal(text, "\n \n");
	assert_int_equal(xs2s_el_text_len(&root), 3);
	/* Freeing through a child frees the whole tree (the leak gate checks). */
	xfree(&body);
	assert_null(body.node);
	xfree(NULL);
	xfree(&body); /* already freed: nothing */
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"",
		"   ",
		"text",
		"x<a/>",
		"<a/><b/>",
		"<a>",
		"<a><b></a>",
		"<a></b>",
		"<a b='1' b='2'/>",          /* duplicate attribute on the root */
		"<a b='1' c/>",              /* attribute without value on the root */
		"<a b='&bogus;'/>",
		"<a>&bogus;</a>",
		"<a>&amp</a>",
		"<?xml version='1.0'?><a/>",
		"<a><b c='1' c='2'/></a>",
		"<a b='1'/",
	};
	struct xs2s_el root = { &root, NULL };
	(void)state;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		root.node = &root;
		int rc = parse(bad[i], &root);
		if (rc != XS2S_EPROTO)
			fail_msg("'%s': %d", bad[i], rc);
		assert_null(root.node);
		assert_int_equal(arena()->used, base_used);
	}
	/* An embedded NUL is a protocol error; a missing terminator a caller bug. */
	assert_int_equal(xs2s_xml_parse(&xml, "<a/>\0<b/>", 9, NULL, &root), XS2S_EPROTO);
	static const char trailing[] = "<a/>Z";
	assert_int_equal(xs2s_xml_parse(&xml, trailing, 4, NULL, &root), XS2S_EINVAL);
	assert_int_equal(xs2s_xml_parse(&xml, NULL, 0, NULL, &root), XS2S_EINVAL);
	assert_int_equal(xs2s_xml_parse(&xml, "<a/>", 4, NULL, NULL), XS2S_EINVAL);
	root.node = &root;
	assert_int_equal(xs2s_xml_parse(NULL, "<a/>", 4, NULL, &root), XS2S_EINVAL); /* no arena */
	assert_null(root.node);
}

static void test_ns_resolution(void **state)
{
	const struct xs2s_ns_ctx *ctx = &hdr.ns;
	struct xs2s_el root, q, n, inner, bare, none = { NULL, ctx };
	(void)state;

	/* Prefix declared on the stream header. */
	assert_int_equal(parse("<db:result from='example.org' to='xs2s.local'>abc</db:result>", &root), XS2S_OK);
	assert_string_equal(xs2s_el_nsuri(&root), XS2S_NS_DIALBACK);
	assert_string_equal(xs2s_el_name(&root), "result");
	assert_true(xs2s_el_is(&root, XS2S_NS_DIALBACK, "result"));
	assert_false(xs2s_el_is(&root, XS2S_NS_DIALBACK, "verify"));
	assert_false(xs2s_el_is(&root, XS2S_NS_SERVER, "result"));
	bare = root;
	bare.ns = NULL;
	assert_null(xs2s_el_nsuri(&bare)); /* no stream context: undeclared */
	xfree(&root);

	/* Default namespace of the stream. */
	assert_int_equal(parse("<message to='a@xs2s.local'><body>x</body><thread>t</thread></message>", &root), XS2S_OK);
	assert_string_equal(xs2s_el_nsuri(&root), XS2S_NS_SERVER);
	n = child(&root, XS2S_NS_SERVER, "body");
	assert_non_null(n.node);
	assert_string_equal(xs2s_el_nsuri(&n), XS2S_NS_SERVER);
	n = next(n);
	assert_true(xs2s_el_is(&n, XS2S_NS_SERVER, "thread"));
	assert_null(child(&root, XS2S_NS_TLS, NULL).node);
	xfree(&root);

	/* Its own default namespace, inherited by children. */
	assert_int_equal(parse("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>", &root), XS2S_OK);
	assert_string_equal(xs2s_el_nsuri(&root), XS2S_NS_TLS);
	n = child(&root, NULL, NULL);
	assert_true(xs2s_el_is(&n, XS2S_NS_TLS, "required"));
	xfree(&root);

	/* Stream-level prefix on a stanza, with its own children. */
	assert_int_equal(parse("<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
			       "<dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>", &root), XS2S_OK);
	assert_true(xs2s_el_is(&root, XS2S_NS_STREAMS, "features"));
	assert_non_null(child(&root, XS2S_NS_TLS, "starttls").node);
	n = child(&root, XS2S_NS_DB_FEATURE, "dialback");
	assert_non_null(n.node);
	inner = child(&n, NULL, "errors");
	assert_string_equal(xs2s_el_nsuri(&inner), XS2S_NS_DB_FEATURE);
	xfree(&root);

	/* Nested redefinitions of a prefix and of the default namespace. */
	assert_int_equal(parse("<iq type='result'><query xmlns='jabber:iq:version'><name>x</name>"
			       "<x:a xmlns:x='urn:one'><x:b xmlns:x='urn:two'><c/></x:b><x:d/></x:a></query>"
			       "<db:verify xmlns:db='urn:other'/></iq>", &root), XS2S_OK);
	assert_string_equal(xs2s_el_nsuri(&root), XS2S_NS_SERVER);
	q = child(&root, "jabber:iq:version", "query");
	assert_non_null(q.node);
	n = child(&q, NULL, "name");
	assert_string_equal(xs2s_el_nsuri(&n), "jabber:iq:version");
	n = child(&q, "urn:one", "a");
	assert_non_null(n.node);
	inner = child(&n, NULL, "b");
	assert_string_equal(xs2s_el_nsuri(&inner), "urn:two");
	inner = child(&inner, NULL, "c");
	assert_string_equal(xs2s_el_nsuri(&inner), "jabber:iq:version");
	inner = child(&n, NULL, "d");
	assert_string_equal(xs2s_el_nsuri(&inner), "urn:one");
	/* A local declaration wins over the stream's. */
	n = next(q);
	assert_string_equal(xs2s_el_nsuri(&n), "urn:other");
	xfree(&root);

	/* Undeclared prefix. */
	assert_int_equal(parse("<foo:bar><baz/></foo:bar>", &root), XS2S_OK);
	assert_null(xs2s_el_nsuri(&root));
	assert_false(xs2s_el_is(&root, "urn:any", "bar"));
	assert_true(xs2s_el_is(&root, NULL, "bar"));
	n = child(&root, NULL, NULL);
	assert_string_equal(xs2s_el_nsuri(&n), XS2S_NS_SERVER);
	xfree(&root);

	assert_null(xs2s_el_nsuri(NULL));
	assert_null(xs2s_el_nsuri(&none));
	assert_null(xs2s_el_name(NULL));
	assert_null(xs2s_el_name(&none));
	assert_false(xs2s_el_is(NULL, NULL, NULL));
	assert_false(xs2s_el_is(&none, NULL, NULL));
	assert_false(xs2s_el_child(NULL, NULL, NULL, &n));
	assert_false(xs2s_el_child(&none, NULL, NULL, &n));
	assert_false(xs2s_el_next(&none));
	assert_null(xs2s_el_attr(NULL, "a"));
	assert_null(xs2s_el_attr(&none, "a"));
}

static void test_header_ok(void **state)
{
	struct xs2s_stream_hdr h;
	enum xs2s_stream_err se = XS2S_SE_RESET;
	(void)state;

	assert_string_equal(hdr.to, "xs2s.local");
	assert_string_equal(hdr.from, "example.org");
	assert_string_equal(hdr.id, "a1b2-c3");
	assert_string_equal(hdr.version, "1.0");
	assert_true(hdr.has_dialback);
	assert_string_equal(hdr.ns.default_ns, XS2S_NS_SERVER);
	assert_int_equal(hdr.ns.n, 2);
	assert_string_equal(hdr.ns.decl[0].prefix, "stream");
	assert_string_equal(hdr.ns.decl[0].uri, XS2S_NS_STREAMS);
	assert_string_equal(hdr.ns.decl[1].prefix, "db");
	assert_string_equal(hdr.ns.decl[1].uri, XS2S_NS_DIALBACK);

	/* Another prefix for the stream namespace; no dialback; XML declaration;
	 * double quotes; entities in values; missing optional attributes. */
	assert_int_equal(parse_hdr("<?xml version='1.0'?>\n<s:stream xmlns:s=\"http://etherx.jabber.org/streams\" "
				   "xmlns=\"jabber:server\" to=\"a&amp;b\">", &h, &se), XS2S_OK);
	assert_int_equal(se, XS2S_SE_NONE);
	assert_string_equal(h.to, "a&b");
	assert_string_equal(h.from, "");
	assert_string_equal(h.id, "");
	assert_string_equal(h.version, "");
	assert_false(h.has_dialback);
	assert_int_equal(h.ns.n, 1);
	assert_string_equal(h.ns.decl[0].prefix, "s");

	/* Dialback under any prefix; an already empty tag; xmlns:xml is skipped. */
	assert_int_equal(parse_hdr("<stream:stream xmlns:stream='http://etherx.jabber.org/streams' "
				   "xmlns='jabber:server' xmlns:xml='http://www.w3.org/XML/1998/namespace' "
				   "xmlns:dialback='jabber:server:dialback'/>", &h, &se), XS2S_OK);
	assert_true(h.has_dialback);
	assert_int_equal(h.ns.n, 2);
	assert_string_equal(h.ns.decl[1].prefix, "dialback");

	/* Exactly full fields are accepted. */
	char dom[XS2S_DOMAIN_MAX + 2], buf[1024];
	memset(dom, 'a', XS2S_DOMAIN_MAX);
	dom[XS2S_DOMAIN_MAX] = '\0';
	snprintf(buf, sizeof(buf), "<stream:stream xmlns:stream='" XS2S_NS_STREAMS "' xmlns='jabber:server' to='%s'>", dom);
	assert_int_equal(parse_hdr(buf, &h, &se), XS2S_OK);
	assert_int_equal(strlen(h.to), XS2S_DOMAIN_MAX);
}

struct bad_hdr {
	const char *text;
	enum xs2s_stream_err se;
};

static void test_header_errors(void **state)
{
	static const struct bad_hdr cases[] = {
		/* Stream namespace. */
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streamz' xmlns='jabber:server'>", XS2S_SE_INVALID_NAMESPACE },
		{ "<stream:stream xmlns='jabber:server'>", XS2S_SE_BAD_NAMESPACE_PREFIX },
		{ "<stream:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:server'>", XS2S_SE_BAD_NAMESPACE_PREFIX },
		{ "<stream xmlns='http://etherx.jabber.org/streams'>", XS2S_SE_INVALID_NAMESPACE },
		{ "<stream xmlns='jabber:server'>", XS2S_SE_INVALID_NAMESPACE },
		{ "<stream:strom xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server'>", XS2S_SE_INVALID_NAMESPACE },
		/* Content namespace. */
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streams'>", XS2S_SE_INVALID_NAMESPACE },
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>", XS2S_SE_INVALID_NAMESPACE },
		/* Values longer than their fields. */
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' version='1.0.0.0.0'>", XS2S_SE_POLICY_VIOLATION },
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' "
		  "id='0123456789012345678901234567890123456789012345678901234567890123456789'>", XS2S_SE_POLICY_VIOLATION },
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' "
		  "xmlns:a_very_long_prefix_name='urn:x'>", XS2S_SE_POLICY_VIOLATION },
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' "
		  "xmlns:x='urn:0123456789012345678901234567890123456789012345678901234567890123456789'>", XS2S_SE_POLICY_VIOLATION },
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' "
		  "xmlns:a='urn:a' xmlns:b='urn:b' xmlns:c='urn:c' xmlns:d='urn:d'>", XS2S_SE_POLICY_VIOLATION },
		/* Not well-formed. */
		{ "", XS2S_SE_NOT_WELL_FORMED },
		{ "<stream:stream xmlns='jabber:server'", XS2S_SE_NOT_WELL_FORMED },
		{ "<stream:stream to=>", XS2S_SE_NOT_WELL_FORMED },
		{ "<stream:stream to='a' to='b'>", XS2S_SE_NOT_WELL_FORMED },
		{ "<stream:stream to='&nope;'>", XS2S_SE_NOT_WELL_FORMED },
		{ "<stream:stream bare>", XS2S_SE_NOT_WELL_FORMED },
		{ "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:server' xmlns:='urn:x'>", XS2S_SE_NOT_WELL_FORMED },
		{ "junk<stream:stream>", XS2S_SE_NOT_WELL_FORMED },
		{ "<a/><stream:stream>", XS2S_SE_NOT_WELL_FORMED },
	};
	struct xs2s_stream_hdr h;
	enum xs2s_stream_err se;
	(void)state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = parse_hdr(cases[i].text, &h, &se);
		if (rc != XS2S_EPROTO || se != cases[i].se)
			fail_msg("case %zu '%s': rc %d se %s, want %s", i, cases[i].text, rc,
				 xs2s_stream_err_name(se), xs2s_stream_err_name(cases[i].se));
		assert_int_equal(arena()->used, base_used);
	}

	/* A bad namespace still reports the addresses for the error reply. */
	assert_int_equal(parse_hdr("<stream:stream xmlns:stream='urn:wrong' xmlns='jabber:server' to='xs2s.local'>", &h, &se), XS2S_EPROTO);
	assert_int_equal(se, XS2S_SE_INVALID_NAMESPACE);
	assert_string_equal(h.to, "xs2s.local");

	/* An over-long 'to' is a policy violation, the other fields survive. */
	char dom[XS2S_DOMAIN_MAX + 2], buf[1024];
	memset(dom, 'a', XS2S_DOMAIN_MAX + 1);
	dom[XS2S_DOMAIN_MAX + 1] = '\0';
	snprintf(buf, sizeof(buf), "<stream:stream xmlns:stream='" XS2S_NS_STREAMS "' xmlns='jabber:server' from='b' to='%s'>", dom);
	assert_int_equal(parse_hdr(buf, &h, &se), XS2S_EPROTO);
	assert_int_equal(se, XS2S_SE_POLICY_VIOLATION);
	assert_string_equal(h.to, "");
	assert_string_equal(h.from, "b");

	/* NULL se is allowed. */
	assert_int_equal(parse_hdr("<x>", &h, NULL), XS2S_EPROTO);
	assert_int_equal(xs2s_xml_parse_header(&xml, NULL, 0, &h, &se), XS2S_EINVAL);
	assert_int_equal(xs2s_xml_parse_header(NULL, buf, strlen(buf), &h, &se), XS2S_EINVAL); /* no arena */
	assert_int_equal(xs2s_xml_parse_header(&xml, buf, strlen(buf), NULL, &se), XS2S_EINVAL);
}

static void test_text(void **state)
{
	struct xs2s_el root, x;
	char text[TEXT_MAX];
	(void)state;

	assert_int_equal(parse("<body>a &amp; b &lt;c&gt; &apos;&quot; &#x263A;&#65;"
			       "<![CDATA[<raw> & ]]]]> end<x>grandchild</x>!<![CDATA[]]></body>", &root), XS2S_OK);
	int n = xs2s_el_text(&root, text, sizeof(text));
	assert_string_equal(text, "a & b <c> '\" \xE2\x98\xBA" "A<raw> & ]] end!");
	assert_int_equal(n, (int)strlen(text));
	assert_int_equal(xs2s_el_text_len(&root), (size_t)n);
	/* Exactly fitting, then one byte short. */
	assert_int_equal(xs2s_el_text(&root, text, (size_t)n + 1), n);
	assert_int_equal(xs2s_el_text(&root, text, (size_t)n), XS2S_ERANGE);
	assert_string_equal(text, "");
	assert_int_equal(xs2s_el_text(&root, text, 0), XS2S_ERANGE);
	assert_int_equal(xs2s_el_text(&root, NULL, 10), XS2S_ERANGE);
	x = child(&root, NULL, "x");
	assert_int_equal(xs2s_el_text(&x, text, sizeof(text)), 10);
	assert_int_equal(xs2s_el_text_len(&x), 10);
	xfree(&root);

	assert_int_equal(parse("<a>  <![CDATA[ x ]]>  </a>", &root), XS2S_OK);
	assert_int_equal(xs2s_el_text(&root, text, sizeof(text)), 7);
	assert_string_equal(text, "   x   ");
	assert_int_equal(xs2s_el_text_len(&root), 7);
	xfree(&root);

	assert_int_equal(parse("<a/>", &root), XS2S_OK);
	assert_int_equal(xs2s_el_text(&root, text, sizeof(text)), 0);
	assert_string_equal(text, "");
	assert_int_equal(xs2s_el_text_len(&root), 0);
	strcpy(text, "junk");
	assert_int_equal(xs2s_el_text(NULL, text, sizeof(text)), 0);
	assert_string_equal(text, "");
	assert_int_equal(xs2s_el_text_len(NULL), 0);
	xfree(&root);
}

/* Fill big with a stanza of n empty children or n attributes. */
static void make_many(int children, int n)
{
	struct xs2s_wbuf w;

	xs2s_w_init(&w, big, sizeof(big));
	xs2s_w_raw(&w, "<message");
	for (int i = 0; !children && i < n; i++)
		xs2s_w_fmt(&w, " a%d='%d'", i, i);
	xs2s_w_raw(&w, ">");
	for (int i = 0; children && i < n; i++)
		xs2s_w_raw(&w, "<x/>");
	xs2s_w_raw(&w, "</message>");
	assert_false(w.overflow);
}

static void test_enomem(void **state)
{
	struct xs2s_el root = { &root, NULL };
	uint32_t fails = arena()->fails;
	(void)state;

	make_many(1, MANY_CHILDREN);
	assert_int_equal(parse(big, &root), XS2S_ENOMEM);
	assert_null(root.node);
	assert_true(arena()->fails > fails);
	assert_int_equal(arena()->used, base_used);
	make_many(0, MANY_ATTRS);
	assert_int_equal(parse(big, &root), XS2S_ENOMEM);
	assert_int_equal(arena()->used, base_used);
	/* The arena recovers: the next stanza parses. */
	assert_int_equal(parse("<message><body>ok</body></message>", &root), XS2S_OK);
	xfree(&root);
}

/* Largest single block the xml arena can give right now. */
static size_t largest_free(void)
{
	size_t lo = 0, hi = arena()->size;
	uint32_t fails = arena()->fails;

	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		void *p = xs2s_arena_alloc(arena(), mid);
		if (p) {
			xs2s_arena_free(arena(), p);
			lo = mid;
		} else {
			hi = mid - 1;
		}
	}
	arena()->fails = fails;
	return lo;
}

/* Make every allocation of a parse fail in turn: the arena leaves exactly
 * room for k bytes, for k growing until the parse succeeds. */
static void squeeze(const char *doc, int header)
{
	size_t max = largest_free();
	int ok = 0, nomem = 0;

	for (size_t k = 0; k < max && ok < 4; k += 8) {
		void *filler = xs2s_arena_alloc(arena(), max - k);
		size_t used = arena()->used;
		struct xs2s_el root = { NULL, NULL };
		struct xs2s_stream_hdr h;
		enum xs2s_stream_err se;
		int rc;

		assert_non_null(filler);
		if (header) {
			char buf[1024];
			strcpy(buf, doc);
			rc = xs2s_xml_parse_header(&xml, buf, strlen(buf), &h, &se);
			if (rc == XS2S_OK)
				assert_true(h.has_dialback);
			else
				assert_int_equal(se, XS2S_SE_RESOURCE_CONSTRAINT);
		} else {
			rc = parse(doc, &root);
			if (rc == XS2S_OK) {
				char text[TEXT_MAX];
				struct xs2s_el body = child(&root, NULL, "body");

				assert_string_equal(xs2s_el_attr(&root, "to"), "b@xs2s.local");
				assert_true(xs2s_el_text(&body, text, sizeof(text)) > 0);
				assert_string_equal(text, "x & <y> z");
				xfree(&root);
			}
		}
		if (rc == XS2S_OK)
			ok++;
		else if (rc == XS2S_ENOMEM)
			nomem++;
		else
			fail_msg("k=%zu: rc %d", k, rc);
		assert_int_equal(arena()->used, used);
		xs2s_arena_free(arena(), filler);
	}
	assert_true(nomem > 10);
	assert_int_equal(ok, 4);
}

static void test_enomem_every_step(void **state)
{
	(void)state;
	squeeze("<message to='b@xs2s.local' from='a@example.org' type='chat' id='m1'>"
		"<body>x &amp; <![CDATA[<y>]]> z</body><thread parent='p'>t</thread>"
		"<x xmlns='jabber:x:oob'><url>http://u</url><desc/></x></message>", 0);
	squeeze(HDR_PROSODY, 1);
}

/* Arena bytes Mini-XML needs for a stanza (owner 0's high-water mark),
 * 0 when the stanza does not fit. */
static size_t cost(const char *doc)
{
	struct xs2s_el root;
	int rc;

	xs2s_arena_reset_owner_high(arena(), 0);
	rc = parse(doc, &root);
	if (rc == XS2S_ENOMEM)
		return 0;
	assert_int_equal(rc, XS2S_OK);
	xfree(&root);
	return arena()->owner_high[0] - base_used;
}

static void test_memory_figures(void **state)
{
	struct xs2s_wbuf w;
	size_t top, c300, c10k_text, c10k_tree, len;
	mxml_node_t *n;
	(void)state;

	/* The library arena = Mini-XML's per-thread struct + the top node with its
	 * name; an engine's arena has no baseline. */
	size_t before = lib_used(), lib_size;
	n = mxmlNewElement(MXML_NO_PARENT, "xs2s-top");
	top = lib_used() - before;
	mxmlDelete(n);
	xs2s_xml_lib_usage(&before, &lib_size);

	/* A typical chat message of about 300 bytes. */
	static const char msg[] =
		"<message from='juliet@example.com/balcony' to='romeo@example.net' "
		"type='chat' id='ktx72v49' xml:lang='en'><thread>e0ffe42b28561960c6b12b944a092794b9683a38</thread>"
		"<body>Art thou not Romeo, and a Montague? Neither, fair saint, if either thee dislike.</body>"
		"<active xmlns='http://jabber.org/protocol/chatstates'/></message>";
	c300 = cost(msg);

	/* 10000 bytes: one long body, and many small elements. */
	xs2s_w_init(&w, big, sizeof(big));
	xs2s_w_raw(&w, "<message from='a@example.org' to='b@xs2s.local' type='chat' id='big1'><body>");
	while (w.len < 10000 - 17)
		xs2s_w_raw(&w, "x");
	xs2s_w_raw(&w, "</body></message>");
	assert_int_equal(w.len, 10000);
	c10k_text = cost(big);

	xs2s_w_init(&w, big, sizeof(big));
	xs2s_w_raw(&w, "<iq from='a@example.org' to='b@xs2s.local' type='result' id='r1'>"
		       "<query xmlns='jabber:iq:roster'>");
	for (int i = 0; w.len < 10000 - 100; i++)
		xs2s_w_fmt(&w, "<item jid='c%04d@example.org' name='C %d' subscription='both'/>", i, i);
	xs2s_w_raw(&w, "</query></iq>");
	len = w.len;
	c10k_tree = cost(big);

	print_message("xml arena %zu bytes per engine, %zu in use after init; library arena %zu of %zu bytes "
		      "(Mini-XML global %zu, top node %zu)\n",
		      arena()->size, base_used, lib_base, lib_size, lib_base - top, top);
	print_message("high-water: %zu-byte message %zu; 10000-byte body %zu; "
		      "%zu-byte roster %zu%s\n", sizeof(msg) - 1, c300, c10k_text, len, c10k_tree,
		      c10k_tree ? "" : " (ENOMEM: does not fit)");
	assert_true(c300 > sizeof(msg) - 1);
	assert_true(c10k_text > 10000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_init_and_redirect, leak_gate),
		cmocka_unit_test_teardown(test_parse_basic, leak_gate),
		cmocka_unit_test_teardown(test_parse_errors, leak_gate),
		cmocka_unit_test_teardown(test_ns_resolution, leak_gate),
		cmocka_unit_test_teardown(test_header_ok, leak_gate),
		cmocka_unit_test_teardown(test_header_errors, leak_gate),
		cmocka_unit_test_teardown(test_text, leak_gate),
		cmocka_unit_test_teardown(test_enomem, leak_gate),
		cmocka_unit_test_teardown(test_enomem_every_step, leak_gate),
		cmocka_unit_test_teardown(test_memory_figures, leak_gate),
	};

	return cmocka_run_group_tests_name("xml", tests, group_setup, NULL);
}
