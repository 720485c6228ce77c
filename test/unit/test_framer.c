/* Unit tests for the stream framer (firmware/xml/framer.c).
 *
 * Every input goes through frame_all(), which frames it in one call, one byte
 * per call, and split in two at every position, and asserts that all of them
 * give the same events, texts, offsets and error. Tests then check the
 * one-call result.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "xml/framer.h"

#define HDR "<stream:stream xmlns='jabber:server' " \
	"xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>"
#define DECL "<?xml version='1.0'?>"
#define CAP_DEFAULT 1024
#define MAX_EVENTS 16
#define TEXT_MAX 2048

/* A literal with its length (it may hold NUL bytes). */
#define IN(lit) (const uint8_t *)(lit), (sizeof(lit) - 1)

struct frame_ev {
	int type;
	size_t end;  /* input offset right after the event's last byte */
	size_t len;
	char text[TEXT_MAX];
};

struct frame_result {
	size_t n;
	struct frame_ev ev[MAX_EVENTS];
	enum xs2s_stream_err err;
	size_t err_at;   /* input offset after the byte that failed */
	size_t pending;  /* f->len when the input ran out */
};

static const char *se_name(enum xs2s_stream_err e)
{
	switch (e) {
	case XS2S_SE_NONE: return "none";
	case XS2S_SE_NOT_WELL_FORMED: return "not-well-formed";
	case XS2S_SE_POLICY_VIOLATION: return "policy-violation";
	case XS2S_SE_RESTRICTED_XML: return "restricted-xml";
	case XS2S_SE_UNSUPPORTED_ENCODING: return "unsupported-encoding";
	default: return "other";
	}
}

/* Feed in[0..n) to an initialised framer, first call at most `first` bytes,
 * later calls at most `rest` bytes, and record what happens. */
static void run(struct xs2s_framer *f, const uint8_t *in, size_t n,
		size_t first, size_t rest, struct frame_result *r)
{
	size_t off = 0, lim = first;

	memset(r, 0, sizeof(*r));
	while (off < n) {
		size_t chunk = n - off < lim ? n - off : lim, used = (size_t)-1;
		int rc = xs2s_framer_feed(f, in + off, chunk, &used);

		lim = rest;
		assert_true(used <= chunk);
		off += used;
		if (rc < 0) {
			enum xs2s_stream_err first_err = f->err;

			assert_int_equal(rc, XS2S_EPROTO);
			assert_int_not_equal(first_err, XS2S_SE_NONE);
			r->err = first_err;
			r->err_at = off;
			/* Sticky: nothing more is consumed, the first error stays. */
			assert_int_equal(xs2s_framer_feed(f, IN("<a/>"), &used), XS2S_EPROTO);
			assert_int_equal(used, 0);
			assert_int_equal(f->err, first_err);
			return;
		}
		if (rc == XS2S_FRAME_NONE) {
			assert_int_equal(used, chunk);
			continue;
		}
		assert_true(rc == XS2S_FRAME_HEADER || rc == XS2S_FRAME_STANZA ||
			    rc == XS2S_FRAME_CLOSE);
		assert_true(used > 0);
		assert_true(r->n < MAX_EVENTS);
		assert_true(f->len > 0 && f->len <= f->cap && f->len < TEXT_MAX);
		assert_int_equal(f->buf[f->len], '\0');
		r->ev[r->n].type = rc;
		r->ev[r->n].end = off;
		r->ev[r->n].len = f->len;
		memcpy(r->ev[r->n].text, f->buf, f->len + 1);
		r->n++;
	}
	r->pending = f->len;
}

static void run_fresh(const uint8_t *in, size_t n, size_t cap, size_t first,
		      size_t rest, struct frame_result *r)
{
	char *buf = malloc(cap + 1); /* exact size: ASan catches overruns */
	struct xs2s_framer f;

	assert_non_null(buf);
	xs2s_framer_init(&f, buf, cap);
	run(&f, in, n, first, rest, r);
	free(buf);
}

static void assert_same(const struct frame_result *a, const struct frame_result *b)
{
	size_t i;

	assert_int_equal(a->n, b->n);
	for (i = 0; i < a->n; i++) {
		assert_int_equal(a->ev[i].type, b->ev[i].type);
		assert_int_equal(a->ev[i].end, b->ev[i].end);
		assert_int_equal(a->ev[i].len, b->ev[i].len);
		assert_memory_equal(a->ev[i].text, b->ev[i].text, a->ev[i].len + 1);
	}
	assert_int_equal(a->err, b->err);
	assert_int_equal(a->err_at, b->err_at);
	assert_int_equal(a->pending, b->pending);
}

/* Frame in every way; all must agree. The one-call result goes to *r. */
static void frame_cap(const uint8_t *in, size_t n, size_t cap, struct frame_result *r)
{
	static struct frame_result other;
	size_t k;

	run_fresh(in, n, cap, SIZE_MAX, SIZE_MAX, r);
	run_fresh(in, n, cap, 1, 1, &other);
	assert_same(r, &other);
	for (k = 1; k < n; k++) {
		run_fresh(in, n, cap, k, SIZE_MAX, &other);
		assert_same(r, &other);
	}
}

static void frame(const uint8_t *in, size_t n, struct frame_result *r)
{
	frame_cap(in, n, CAP_DEFAULT, r);
}

static void assert_ev(const struct frame_result *r, size_t i, int type, const char *text)
{
	assert_true(i < r->n);
	assert_int_equal(r->ev[i].type, type);
	assert_string_equal(r->ev[i].text, text);
	assert_int_equal(r->ev[i].len, strlen(text));
}

static void assert_ok(const struct frame_result *r, size_t nev)
{
	if (r->err != XS2S_SE_NONE)
		fail_msg("unexpected %s at offset %zu", se_name(r->err), r->err_at);
	assert_int_equal(r->n, nev);
}

/* Table of inputs that must fail with err after nev events. */
struct bad_case {
	const char *name;
	const uint8_t *in;
	size_t len;
	enum xs2s_stream_err err;
	size_t nev;
};

#define BAD(name, lit, err, nev) { name, IN(lit), err, nev }

static void check_bad(const struct bad_case *c, size_t count)
{
	static struct frame_result r;
	size_t i;

	for (i = 0; i < count; i++) {
		frame(c[i].in, c[i].len, &r);
		if (r.err != c[i].err || r.n != c[i].nev)
			fail_msg("%s: got %s after %zu events, want %s after %zu",
				 c[i].name, se_name(r.err), r.n, se_name(c[i].err), c[i].nev);
	}
}

/* ---- headers ---------------------------------------------------------- */

static void test_header_plain(void **state)
{
	static struct frame_result r;
	(void)state;

	frame(IN(HDR), &r);
	assert_ok(&r, 1);
	assert_ev(&r, 0, XS2S_FRAME_HEADER, HDR);
	assert_int_equal(r.ev[0].end, strlen(HDR));
}

static void test_header_with_decl(void **state)
{
	static struct frame_result r;
	(void)state;

	frame(IN(DECL "\n" HDR), &r);
	assert_ok(&r, 1);
	assert_ev(&r, 0, XS2S_FRAME_HEADER, HDR);

	frame(IN("\r\n<?xml version=\"1.0\" encoding=\"UTF-8\" ?>  " HDR), &r);
	assert_ok(&r, 1);
	assert_ev(&r, 0, XS2S_FRAME_HEADER, HDR);
}

static void test_header_bad(void **state)
{
	static const struct bad_case cases[] = {
		BAD("text before header", "hello" HDR, XS2S_SE_NOT_WELL_FORMED, 0),
		BAD("end tag before header", "</stream:stream>", XS2S_SE_NOT_WELL_FORMED, 0),
		BAD("self-closed header", "<stream:stream/>", XS2S_SE_NOT_WELL_FORMED, 0),
		BAD("CDATA before header", "<![CDATA[x]]>" HDR, XS2S_SE_NOT_WELL_FORMED, 0),
		BAD("second decl", DECL DECL HDR, XS2S_SE_RESTRICTED_XML, 0),
		BAD("decl after header", HDR DECL, XS2S_SE_RESTRICTED_XML, 1),
		BAD("other PI before header", "<?xml-stylesheet href='a'?>" HDR,
		    XS2S_SE_RESTRICTED_XML, 0),
		BAD("DOCTYPE", DECL "<!DOCTYPE stream>" HDR, XS2S_SE_RESTRICTED_XML, 0),
		BAD("comment before header", "<!-- hi -->" HDR, XS2S_SE_RESTRICTED_XML, 0),
		BAD("'<' in decl", "<?xml version='1.0'<?>", XS2S_SE_NOT_WELL_FORMED, 0),
		BAD("decl without ?>", "<?xml version='1.0'>" HDR, XS2S_SE_NOT_WELL_FORMED, 0),
		BAD("<?xml without space", "<?xml?>" HDR, XS2S_SE_RESTRICTED_XML, 0),
		BAD("PI before header", "<?php echo 1; ?>" HDR, XS2S_SE_RESTRICTED_XML, 0),
	};
	(void)state;
	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- stanzas ---------------------------------------------------------- */

static void test_stanzas_and_keepalives(void **state)
{
	static struct frame_result r;
	(void)state;

	frame(IN(HDR " \n<a/>  \t<b x='1'>hi</b>\n\n\r<c></c > "), &r);
	assert_ok(&r, 4);
	assert_ev(&r, 0, XS2S_FRAME_HEADER, HDR);
	assert_ev(&r, 1, XS2S_FRAME_STANZA, "<a/>");
	assert_ev(&r, 2, XS2S_FRAME_STANZA, "<b x='1'>hi</b>");
	assert_ev(&r, 3, XS2S_FRAME_STANZA, "<c></c >");
	assert_int_equal(r.pending, 0); /* trailing keepalive is not stored */
}

static void test_nested_children(void **state)
{
#define NESTED "<message to='a@b' from='c@d' type='chat'><body>hi <b>there</b>" \
	"</body><x xmlns='jabber:x:data'><field var='v'><value/></field></x>" \
	"<empty></empty></message>"
	static struct frame_result r;
	(void)state;

	frame(IN(HDR "<m><m><m/></m></m>" NESTED), &r);
	assert_ok(&r, 3);
	assert_ev(&r, 1, XS2S_FRAME_STANZA, "<m><m><m/></m></m>");
	assert_ev(&r, 2, XS2S_FRAME_STANZA, NESTED);
#undef NESTED
}

static void test_attribute_quoting(void **state)
{
#define QUOTED "<a href='http://x/y>z' b=\"/>\" c = 'it\"s' d=\"it's\" e=''/>"
	static struct frame_result r;
	(void)state;

	frame(IN(HDR QUOTED "<b x='>'></b><c  x = '1'  y\t=\n\"2\"  />"), &r);
	assert_ok(&r, 4);
	assert_ev(&r, 1, XS2S_FRAME_STANZA, QUOTED);
	assert_ev(&r, 2, XS2S_FRAME_STANZA, "<b x='>'></b>");
	assert_ev(&r, 3, XS2S_FRAME_STANZA, "<c  x = '1'  y\t=\n\"2\"  />");
#undef QUOTED
}

static void test_content_gt_and_cdata(void **state)
{
	static struct frame_result r;
	(void)state;

	frame(IN(HDR "<a>1 > 0</a>"
		 "<m><![CDATA[ <not-a-tag> & &nbsp; ]] ]> ]]]></m>"
		 "<m><![CDATA[]]><![CDATA[</m>]]></m>"), &r);
	assert_ok(&r, 4);
	assert_ev(&r, 1, XS2S_FRAME_STANZA, "<a>1 > 0</a>");
	assert_ev(&r, 2, XS2S_FRAME_STANZA,
		  "<m><![CDATA[ <not-a-tag> & &nbsp; ]] ]> ]]]></m>");
	assert_ev(&r, 3, XS2S_FRAME_STANZA, "<m><![CDATA[]]><![CDATA[</m>]]></m>");
}

static void test_malformed_tags(void **state)
{
	static const struct bad_case cases[] = {
		BAD("space after <", HDR "< a/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("digit name", HDR "<1a/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("end tag attrs", HDR "<a></a x='1'>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("end tag slash", HDR "<a></a/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("end tag space", HDR "<a></ a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("attr no value", HDR "<a b>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("attr unquoted", HDR "<a b=c/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("attr junk before =", HDR "<a b x='1'/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("attrs unseparated", HDR "<a b='1'c='2'/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("< in tag", HDR "<a <b/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("< in attr value", HDR "<a b='<'/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("slash space", HDR "<a/ >", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("bad name char", HDR "<a%/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("CDATA at depth 0", HDR "<![CDATA[x]]>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("bad CDATA open", HDR "<a><![CDAT[x]]></a>", XS2S_SE_NOT_WELL_FORMED, 1),
	};
	(void)state;
	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- references ------------------------------------------------------- */

static void test_predefined_entities(void **state)
{
	static struct frame_result r;
	(void)state;

	frame(IN(HDR "<a b='&lt;&gt;&amp;&quot;&apos;'>&lt;&gt;&amp;&quot;&apos;</a>"), &r);
	assert_ok(&r, 2);
	assert_ev(&r, 1, XS2S_FRAME_STANZA,
		  "<a b='&lt;&gt;&amp;&quot;&apos;'>&lt;&gt;&amp;&quot;&apos;</a>");
}

static void test_char_refs_valid(void **state)
{
	static struct frame_result r;
	(void)state;

	frame(IN(HDR "<a v='&#65;&#x41;'>&#9;&#xA;&#13;&#32;&#xD7FF;&#xE000;&#xFFFD;"
		 "&#x10000;&#x10FFFF;&#1114111;&#x00041;&#xaBc;</a>"), &r);
	assert_ok(&r, 2);
}

static void test_refs_bad(void **state)
{
	static const struct bad_case cases[] = {
		BAD("&#0;", HDR "<a>&#0;</a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&#xD800;", HDR "<a>&#xD800;</a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&#x1;", HDR "<a>&#x1;</a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&#xFFFE;", HDR "<a>&#xFFFE;</a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&#x110000;", HDR "<a>&#x110000;</a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&#999999999;", HDR "<a>&#999999999;</a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&#xFFFFFFFF;", HDR "<a>&#xFFFFFFFF;</a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&#0; in attr", HDR "<a b='&#0;'/>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&nbsp;", HDR "<a>&nbsp;</a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&nbsp; in attr", HDR "<a b='&nbsp;'/>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("&nbsp; in header", "<stream:stream a='&nbsp;'>", XS2S_SE_RESTRICTED_XML, 0),
		BAD("&;", HDR "<a>&;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("&#;", HDR "<a>&#;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("&#x;", HDR "<a>&#x;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("&#12a;", HDR "<a>&#12a;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("&#X41;", HDR "<a>&#X41;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("&#xG;", HDR "<a>&#xG;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("&1a;", HDR "<a>&1a;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("&a#b;", HDR "<a>&a#b;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("& alone", HDR "<a>fish & chips</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("no ;", HDR "<a>&amp</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("too long", HDR "<a>&abcdefghijk;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("long char ref", HDR "<a>&#0000000065;</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("& in attr", HDR "<a b='x&y'/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("ref at depth 0", HDR "&amp;", XS2S_SE_NOT_WELL_FORMED, 1),
	};
	(void)state;
	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_ref_length_limit(void **state)
{
	static struct frame_result r;
	(void)state;

	/* Ten characters between & and ; are accepted (then judged). */
	frame(IN(HDR "<a>&#000000065;</a>"), &r);
	assert_ok(&r, 2);
	frame(IN(HDR "<a>&abcdefghij;</a>"), &r);
	assert_int_equal(r.err, XS2S_SE_RESTRICTED_XML);
}

/* ---- restricted XML --------------------------------------------------- */

static void test_restricted_xml(void **state)
{
	static const struct bad_case cases[] = {
		BAD("comment between", HDR "<a/><!-- x --><b/>", XS2S_SE_RESTRICTED_XML, 2),
		BAD("comment inside", HDR "<a><!-- x --></a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("PI between", HDR "<?foo bar?>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("PI inside", HDR "<a><?foo bar?></a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("xml PI inside", HDR "<a><?xml version='1.0'?></a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("DOCTYPE between", HDR "<!DOCTYPE a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("DOCTYPE inside", HDR "<a><!DOCTYPE a></a>", XS2S_SE_RESTRICTED_XML, 1),
		BAD("ENTITY inside", HDR "<a><!ENTITY x 'y'></a>", XS2S_SE_RESTRICTED_XML, 1),
	};
	(void)state;
	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- encoding and characters ------------------------------------------ */

static void test_utf8_valid(void **state)
{
	static struct frame_result r;
	(void)state;

	/* 2-, 3- and 4-byte sequences in names, attribute values and text,
	 * including the highest code points of each length. */
	frame(IN(HDR "<caf\xC3\xA9 v='\xE2\x82\xAC'>\xF0\x9D\x84\x9E \xC2\x80\xDF\xBF"
		 "\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBD"
		 "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF</caf\xC3\xA9>"), &r);
	assert_ok(&r, 2);
	assert_ev(&r, 1, XS2S_FRAME_STANZA,
		  "<caf\xC3\xA9 v='\xE2\x82\xAC'>\xF0\x9D\x84\x9E \xC2\x80\xDF\xBF"
		  "\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80\xEF\xBF\xBD"
		  "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF</caf\xC3\xA9>");
}

static void test_utf8_invalid(void **state)
{
	static const struct bad_case cases[] = {
		BAD("overlong C0 80", HDR "<a>\xC0\x80</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("overlong C1 BF", HDR "<a>\xC1\xBF</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("overlong E0 80 80", HDR "<a>\xE0\x80\x80</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("overlong F0 80 80 80", HDR "<a>\xF0\x80\x80\x80</a>",
		    XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("lone continuation", HDR "<a>\x80</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("continuation in name", HDR "<a\xBF/>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("surrogate ED A0 80", HDR "<a>\xED\xA0\x80</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("surrogate ED BF BF", HDR "<a>\xED\xBF\xBF</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("above U+10FFFF", HDR "<a>\xF4\x90\x80\x80</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("F5 lead", HDR "<a>\xF5\x80\x80\x80</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("FF", HDR "<a>\xFF</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("truncated", HDR "<a>\xE2\x82" "</a>", XS2S_SE_UNSUPPORTED_ENCODING, 1),
		BAD("in header", "<stream:stream a='\xC0\xAF'>", XS2S_SE_UNSUPPORTED_ENCODING, 0),
		BAD("between stanzas", HDR "<a/>\xFE", XS2S_SE_UNSUPPORTED_ENCODING, 2),
		BAD("non-Char U+FFFE", HDR "<a>\xEF\xBF\xBE</a>", XS2S_SE_NOT_WELL_FORMED, 1),
	};
	(void)state;
	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_control_chars(void **state)
{
	static const struct bad_case cases[] = {
		BAD("0x01 in text", HDR "<a>\x01</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("0x01 in attr", HDR "<a b='\x01'/>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("0x01 in CDATA", HDR "<a><![CDATA[\x01]]></a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("NUL", HDR "<a>\0</a>", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("0x1F between", HDR "\x1F", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("0x0C before header", "\x0C" HDR, XS2S_SE_NOT_WELL_FORMED, 0),
	};
	static struct frame_result r;
	(void)state;

	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
	frame(IN(HDR "<a b='\t\r\n'>\t\r\n\x7F</a>"), &r); /* allowed */
	assert_ok(&r, 2);
}

static void test_text_at_depth_0(void **state)
{
	static const struct bad_case cases[] = {
		BAD("word between", HDR "<a/>hello<b/>", XS2S_SE_NOT_WELL_FORMED, 2),
		BAD("right after header", HDR "x", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("'>' between", HDR ">", XS2S_SE_NOT_WELL_FORMED, 1),
		BAD("non-ASCII between", HDR "\xC2\xA0", XS2S_SE_NOT_WELL_FORMED, 1),
	};
	(void)state;
	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

/* ---- size limit ------------------------------------------------------- */

/* Fill out with "<a>xxx...</a>" of exactly n bytes (n >= 7). */
static void make_stanza(char *out, size_t n)
{
	memcpy(out, "<a>", 3);
	memset(out + 3, 'x', n - 7);
	memcpy(out + n - 4, "</a>", 5);
}

static void test_size_limit(void **state)
{
	enum { N = 64 };
	static const char hdr[] = "<stream:stream>";
	static struct frame_result r;
	char in[sizeof(hdr) + N + 8];
	char stanza[N + 2];
	size_t hl = sizeof(hdr) - 1;
	(void)state;

	/* Exactly cap bytes: accepted; long keepalives do not count. */
	make_stanza(stanza, N);
	memcpy(in, hdr, hl);
	memset(in + hl, ' ', 3);
	memcpy(in + hl + 3, stanza, N);
	frame_cap((const uint8_t *)in, hl + 3 + N, N, &r);
	assert_ok(&r, 2);
	assert_ev(&r, 1, XS2S_FRAME_STANZA, stanza);

	/* cap + 1 bytes: rejected as soon as byte cap + 1 arrives. */
	make_stanza(stanza, N + 1);
	memcpy(in + hl, stanza, N + 1);
	frame_cap((const uint8_t *)in, hl + N + 1, N, &r);
	assert_int_equal(r.err, XS2S_SE_POLICY_VIOLATION);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.err_at, hl + N + 1);
	frame_cap((const uint8_t *)in, hl + N - 1, N, &r); /* not waiting for the end */
	assert_ok(&r, 1);
	assert_int_equal(r.pending, N - 1);

	/* The header obeys the same limit. */
	frame_cap(IN(HDR), strlen(HDR), &r);
	assert_ok(&r, 1);
	frame_cap(IN(HDR), strlen(HDR) - 1, &r);
	assert_int_equal(r.err, XS2S_SE_POLICY_VIOLATION);
	assert_int_equal(r.err_at, strlen(HDR));

	/* So does the XML declaration, which is collected like a tag. */
	frame_cap(IN(DECL "<s>"), strlen(DECL) - 1, &r);
	assert_int_equal(r.err, XS2S_SE_POLICY_VIOLATION);
}

/* ---- stream life cycle ------------------------------------------------ */

static void test_close(void **state)
{
	static const struct bad_case cases[] = {
		BAD("text after close", HDR "</stream:stream>x", XS2S_SE_NOT_WELL_FORMED, 2),
		BAD("stanza after close", HDR "</stream:stream><a/>", XS2S_SE_NOT_WELL_FORMED, 2),
	};
	static struct frame_result r;
	(void)state;

	frame(IN(HDR "<a/>\n</stream:stream>\r\n "), &r);
	assert_ok(&r, 3);
	assert_ev(&r, 1, XS2S_FRAME_STANZA, "<a/>");
	assert_ev(&r, 2, XS2S_FRAME_CLOSE, "</stream:stream>");
	assert_int_equal(r.ev[2].end, strlen(HDR "<a/>\n</stream:stream>"));
	check_bad(cases, sizeof(cases) / sizeof(cases[0]));
}

static void test_reset_second_header(void **state)
{
	static const char first[] = DECL HDR "<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
	static const char second[] = " " DECL HDR "<a/>";
	static const size_t chunks[] = { 1, SIZE_MAX };
	static struct frame_result r1, r2;
	char buf[CAP_DEFAULT + 1];
	struct xs2s_framer f;
	size_t i;
	(void)state;

	for (i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++) {
		size_t chunk = chunks[i];

		xs2s_framer_init(&f, buf, CAP_DEFAULT);
		run(&f, IN(first), chunk, chunk, &r1);
		assert_ok(&r1, 2);
		xs2s_framer_reset(&f);
		assert_int_equal(f.len, 0);
		run(&f, IN(second), chunk, chunk, &r2);
		assert_ok(&r2, 2);
		assert_ev(&r2, 0, XS2S_FRAME_HEADER, HDR);
		assert_ev(&r2, 1, XS2S_FRAME_STANZA, "<a/>");
	}

	/* Without a reset, a second header is just a stanza start, and a
	 * second declaration is restricted. */
	xs2s_framer_init(&f, buf, CAP_DEFAULT);
	run(&f, IN(first), SIZE_MAX, SIZE_MAX, &r1);
	run(&f, IN(second), SIZE_MAX, SIZE_MAX, &r2);
	assert_int_equal(r2.err, XS2S_SE_RESTRICTED_XML);
}

static void test_sticky_error_and_reset(void **state)
{
	char buf[CAP_DEFAULT + 1];
	struct xs2s_framer f;
	size_t used;
	(void)state;

	xs2s_framer_init(&f, buf, CAP_DEFAULT);
	assert_int_equal(xs2s_framer_feed(&f, IN(HDR "<a>&nbsp;"), &used), XS2S_FRAME_HEADER);
	assert_int_equal(xs2s_framer_feed(&f, IN("<a>&nbsp;\x01"), &used), XS2S_EPROTO);
	assert_int_equal(used, strlen("<a>&nbsp;"));
	assert_int_equal(f.err, XS2S_SE_RESTRICTED_XML);
	assert_int_equal(xs2s_framer_feed(&f, IN("\x01"), &used), XS2S_EPROTO);
	assert_int_equal(used, 0);
	assert_int_equal(f.err, XS2S_SE_RESTRICTED_XML); /* the first error stays */
	assert_int_equal(xs2s_framer_feed(&f, IN(HDR), &used), XS2S_EPROTO);

	xs2s_framer_reset(&f);
	assert_int_equal(f.err, XS2S_SE_NONE);
	assert_int_equal(xs2s_framer_feed(&f, IN(HDR), &used), XS2S_FRAME_HEADER);
	assert_int_equal(used, strlen(HDR));
}

static void test_stop_after_event(void **state)
{
	static const char in[] = HDR "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>"
		"GARBAGE\x16\x03";
	static const char proceed[] = "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>";
	char buf[CAP_DEFAULT + 1];
	struct xs2s_framer f;
	size_t used, off;
	(void)state;

	xs2s_framer_init(&f, buf, CAP_DEFAULT);
	assert_int_equal(xs2s_framer_feed(&f, IN(in), &used), XS2S_FRAME_HEADER);
	assert_int_equal(used, strlen(HDR));
	off = used;
	assert_int_equal(xs2s_framer_feed(&f, (const uint8_t *)in + off,
					  sizeof(in) - 1 - off, &used), XS2S_FRAME_STANZA);
	assert_int_equal(used, strlen(proceed)); /* right after "/>" */
	assert_string_equal(f.buf, proceed);
	assert_int_equal(f.len, strlen(proceed));
	assert_int_equal(f.err, XS2S_SE_NONE);

	/* The caller switches to TLS here; the framer starts over on reset. */
	xs2s_framer_reset(&f);
	assert_int_equal(xs2s_framer_feed(&f, IN("\n"), &used), XS2S_FRAME_NONE);
	assert_int_equal(used, 1);
}

static void test_partial_and_empty_feed(void **state)
{
	char buf[CAP_DEFAULT + 1];
	struct xs2s_framer f;
	size_t used = 99;
	(void)state;

	xs2s_framer_init(&f, buf, CAP_DEFAULT);
	assert_int_equal(xs2s_framer_feed(&f, NULL, 0, &used), XS2S_FRAME_NONE);
	assert_int_equal(used, 0);
	assert_int_equal(xs2s_framer_feed(&f, IN(HDR "  <mess"), &used), XS2S_FRAME_HEADER);
	assert_int_equal(xs2s_framer_feed(&f, IN("  <mess"), &used), XS2S_FRAME_NONE);
	assert_int_equal(used, 7);
	assert_int_equal(f.len, 5); /* the keepalive was dropped */
	assert_memory_equal(f.buf, "<mess", 5);
	assert_int_equal(xs2s_framer_feed(&f, IN("age/>"), &used), XS2S_FRAME_STANZA);
	assert_string_equal(f.buf, "<message/>");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_plain),
		cmocka_unit_test(test_header_with_decl),
		cmocka_unit_test(test_header_bad),
		cmocka_unit_test(test_stanzas_and_keepalives),
		cmocka_unit_test(test_nested_children),
		cmocka_unit_test(test_attribute_quoting),
		cmocka_unit_test(test_content_gt_and_cdata),
		cmocka_unit_test(test_malformed_tags),
		cmocka_unit_test(test_predefined_entities),
		cmocka_unit_test(test_char_refs_valid),
		cmocka_unit_test(test_refs_bad),
		cmocka_unit_test(test_ref_length_limit),
		cmocka_unit_test(test_restricted_xml),
		cmocka_unit_test(test_utf8_valid),
		cmocka_unit_test(test_utf8_invalid),
		cmocka_unit_test(test_control_chars),
		cmocka_unit_test(test_text_at_depth_0),
		cmocka_unit_test(test_size_limit),
		cmocka_unit_test(test_close),
		cmocka_unit_test(test_reset_second_header),
		cmocka_unit_test(test_sticky_error_and_reset),
		cmocka_unit_test(test_stop_after_event),
		cmocka_unit_test(test_partial_and_empty_feed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
