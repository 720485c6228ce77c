/* Stream framer: a byte-at-a-time lexer that cuts the XMPP stream document
 * into its header, its top-level elements (stanzas) and its closing tag.
 *
 * Every byte goes through three checks in order: UTF-8 (shortest form, no
 * surrogates, at most U+10FFFF), XML Char (no raw control characters), then
 * the markup state machine below. All state lives in struct xs2s_framer, so
 * input may be split at any byte. From the '<' that opens a top-level item
 * to the byte that completes it, bytes are copied into f->buf; whitespace
 * between items is checked and dropped.
 *
 * The XML declaration is collected like a tag (so it counts against cap) and
 * dropped when complete. End-tag names are not matched against start tags:
 * the XML parser that reads the stanza does that.
 */
#include <string.h>
#include "xml/framer.h"

/* Lexer states (f->st). F_TEXT must be 0: a zeroed framer expects a header. */
enum {
	F_TEXT = 0,   /* between items (depth 0) or element content */
	F_LT,         /* after '<' */
	F_STAG_NAME,  /* start tag name */
	F_STAG_ATTRS, /* inside a start tag, before an attribute, '/' or '>' */
	F_ATTR_NAME,  /* attribute name */
	F_ATTR_EQ,    /* after an attribute name, expecting '=' */
	F_ATTR_QUOTE, /* after '=', expecting the opening quote */
	F_ATTR_VAL,   /* attribute value, sub = the quote character */
	F_ATTR_AFTER, /* after a closing quote: whitespace, '/' or '>' */
	F_EMPTY_GT,   /* after '/' in a start tag, expecting '>' */
	F_ETAG_START, /* after "</" */
	F_ETAG_NAME,  /* end tag name */
	F_ETAG_WS,    /* whitespace after the end tag name */
	F_TEXT_ENT,   /* entity reference in content */
	F_ATTR_ENT,   /* entity reference in an attribute value (sub = quote) */
	F_BANG,       /* after "<!", sub = bytes of "[CDATA[" matched */
	F_CDATA,      /* inside a CDATA section, sub = trailing ']' count */
	F_PI_TARGET,  /* after "<?", sub = bytes of "xml" matched */
	F_DECL,       /* XML declaration body, sub = 1 after '?' */
	F_CLOSED,     /* after the stream's closing tag: whitespace only */
};

/* How a tag ended. */
enum { TAG_START, TAG_EMPTY, TAG_END };

#define FRAMER_ENT_MAX 10     /* longest entity reference body (between & and ;) */
#define FRAMER_DEPTH_MAX UINT32_MAX
#define FRAMER_CDATA_OPEN "[CDATA["
#define FRAMER_CDATA_OPEN_LEN (sizeof(FRAMER_CDATA_OPEN) - 1)
#define FRAMER_CDATA_CLOSE_BRACKETS 2 /* "]]" before '>' ends a CDATA section */
#define FRAMER_DECL_TARGET "xml"
#define FRAMER_DECL_TARGET_LEN (sizeof(FRAMER_DECL_TARGET) - 1)

_Static_assert(FRAMER_ENT_MAX < sizeof(((struct xs2s_framer *)0)->ent),
	       "entity buffer too small");

/* Code point limits (Unicode, XML 1.0 production [2] Char). */
#define CP_SURROGATE_FIRST 0xD800u
#define CP_SURROGATE_LAST  0xDFFFu
#define CP_MAX             0x10FFFFu

/* UTF-8 continuation bytes are 10xxxxxx. */
#define UTF8_CONT_MASK    0xC0u
#define UTF8_CONT_TAG     0x80u
#define UTF8_CONT_PAYLOAD 0x3Fu
#define UTF8_CONT_BITS    6
#define ASCII_LIMIT       0x80u

/* Valid lead bytes by sequence length (index + UTF8_SEQ_MIN), with the
 * payload mask and the smallest code point that needs that length (shorter
 * forms are overlong).
 * C0, C1 always start overlong forms; F5..FF would exceed U+10FFFF. */
static const struct {
	uint8_t lo, hi, mask;
	uint32_t min;
} framer_utf8_leads[] = {
	{ 0xC2, 0xDF, 0x1F, 0x80 },
	{ 0xE0, 0xEF, 0x0F, 0x800 },
	{ 0xF0, 0xF4, 0x07, 0x10000 },
};
#define UTF8_LEADS (sizeof(framer_utf8_leads) / sizeof(framer_utf8_leads[0]))
#define UTF8_SEQ_MIN 2 /* bytes of the shortest multi-byte sequence */

/* Record the first error; the framer is stuck until reset. */
static int framer_fail(struct xs2s_framer *f, enum xs2s_stream_err e)
{
	if (f->err == XS2S_SE_NONE)
		f->err = e;
	return XS2S_EPROTO;
}

static int framer_is_ws(uint8_t c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Name start character; every non-ASCII byte is accepted (UTF-8 is checked
 * separately, the exact Unicode name classes are the XML parser's job). */
static int framer_is_name_start(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == ':' || c >= ASCII_LIMIT;
}

static int framer_is_name_char(uint8_t c)
{
	return framer_is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

/* XML 1.0 production [2] Char. */
static int framer_is_xml_char(uint32_t cp)
{
	return cp == '\t' || cp == '\n' || cp == '\r' ||
	       (cp >= 0x20 && cp < CP_SURROGATE_FIRST) ||
	       (cp > CP_SURROGATE_LAST && cp <= 0xFFFD) ||
	       (cp >= 0x10000 && cp <= CP_MAX);
}

/* Check one byte of UTF-8. A decoded code point outside Char (U+FFFE,
 * U+FFFF) is not well-formed; ASCII control characters are checked by the
 * caller. */
static enum xs2s_stream_err framer_utf8(struct xs2s_framer *f, uint8_t c)
{
	if (f->utf8_need == 0) {
		unsigned i;

		if (c < ASCII_LIMIT)
			return XS2S_SE_NONE;
		for (i = 0; i < UTF8_LEADS; i++) {
			if (c >= framer_utf8_leads[i].lo && c <= framer_utf8_leads[i].hi) {
				f->utf8_len = (uint8_t)(i + UTF8_SEQ_MIN);
				f->utf8_need = (uint8_t)(f->utf8_len - 1);
				f->utf8_cp = c & framer_utf8_leads[i].mask;
				return XS2S_SE_NONE;
			}
		}
		return XS2S_SE_UNSUPPORTED_ENCODING;
	}
	if ((c & UTF8_CONT_MASK) != UTF8_CONT_TAG)
		return XS2S_SE_UNSUPPORTED_ENCODING;
	f->utf8_cp = (f->utf8_cp << UTF8_CONT_BITS) | (c & UTF8_CONT_PAYLOAD);
	if (--f->utf8_need > 0)
		return XS2S_SE_NONE;
	if (f->utf8_cp < framer_utf8_leads[f->utf8_len - UTF8_SEQ_MIN].min ||
	    f->utf8_cp > CP_MAX ||
	    (f->utf8_cp >= CP_SURROGATE_FIRST && f->utf8_cp <= CP_SURROGATE_LAST))
		return XS2S_SE_UNSUPPORTED_ENCODING;
	return framer_is_xml_char(f->utf8_cp) ? XS2S_SE_NONE : XS2S_SE_NOT_WELL_FORMED;
}

/* Value of a digit in base 10 or 16, or -1. */
static int framer_digit(char c, unsigned base)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (base == 16 && c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (base == 16 && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Judge a complete reference body f->ent (between '&' and ';'). */
static enum xs2s_stream_err framer_ent_check(const struct xs2s_framer *f)
{
	static const char *const predefined[] = { "lt", "gt", "amp", "quot", "apos" };
	size_t n = f->ent_len, i;

	if (n == 0)
		return XS2S_SE_NOT_WELL_FORMED;
	if (f->ent[0] == '#') {
		unsigned base = 10;
		uint32_t cp = 0;

		i = 1;
		if (n > 1 && f->ent[1] == 'x') {
			base = 16;
			i = 2;
		}
		if (i == n)
			return XS2S_SE_NOT_WELL_FORMED;
		for (; i < n; i++) {
			int d = framer_digit(f->ent[i], base);

			if (d < 0)
				return XS2S_SE_NOT_WELL_FORMED;
			cp = cp * base + (uint32_t)d;
			if (cp > CP_MAX)
				cp = CP_MAX + 1; /* saturate: stays out of range */
		}
		return framer_is_xml_char(cp) ? XS2S_SE_NONE : XS2S_SE_RESTRICTED_XML;
	}
	for (i = 0; i < sizeof(predefined) / sizeof(predefined[0]); i++) {
		if (strlen(predefined[i]) == n && memcmp(predefined[i], f->ent, n) == 0)
			return XS2S_SE_NONE;
	}
	/* A well-formed name that refers to a DTD entity: not allowed here. */
	if (!framer_is_name_start((uint8_t)f->ent[0]))
		return XS2S_SE_NOT_WELL_FORMED;
	for (i = 1; i < n; i++) {
		if (!framer_is_name_char((uint8_t)f->ent[i]))
			return XS2S_SE_NOT_WELL_FORMED;
	}
	return XS2S_SE_RESTRICTED_XML;
}

/* One byte of an entity reference; back is the state to resume after ';'. */
static int framer_ent(struct xs2s_framer *f, uint8_t c, uint8_t back)
{
	if (c == ';') {
		enum xs2s_stream_err e = framer_ent_check(f);

		if (e != XS2S_SE_NONE)
			return framer_fail(f, e);
		f->st = back;
		return XS2S_FRAME_NONE;
	}
	if (f->ent_len == FRAMER_ENT_MAX || (c != '#' && !framer_is_name_char(c)))
		return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
	f->ent[f->ent_len++] = (char)c;
	return XS2S_FRAME_NONE;
}

/* A tag has ended with '>': adjust the depth and report what completed. */
static int framer_tag_done(struct xs2s_framer *f, int kind)
{
	f->st = F_TEXT;
	if (kind == TAG_START) {
		if (!f->seen_header) {
			f->seen_header = 1;
			return XS2S_FRAME_HEADER;
		}
		if (f->depth == FRAMER_DEPTH_MAX)
			return framer_fail(f, XS2S_SE_POLICY_VIOLATION);
		f->depth++;
		return XS2S_FRAME_NONE;
	}
	if (kind == TAG_END) {
		if (f->depth == 0) {
			f->st = F_CLOSED;
			return XS2S_FRAME_CLOSE;
		}
		f->depth--;
	} else if (!f->seen_header) {
		/* "<stream:stream/>": a header must leave the stream open. */
		return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
	}
	return f->depth == 0 ? XS2S_FRAME_STANZA : XS2S_FRAME_NONE;
}

/* '/' or '>' where a start tag may end; anything else is malformed. */
static int framer_stag_end(struct xs2s_framer *f, uint8_t c)
{
	if (c == '/') {
		f->st = F_EMPTY_GT;
		return XS2S_FRAME_NONE;
	}
	if (c == '>')
		return framer_tag_done(f, TAG_START);
	return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
}

/* Character data: whitespace only between items, anything in content. */
static int framer_text(struct xs2s_framer *f, uint8_t c)
{
	if (c == '<') {
		f->st = F_LT;
	} else if (f->depth == 0) {
		if (!framer_is_ws(c))
			return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
	} else if (c == '&') {
		f->st = F_TEXT_ENT;
		f->ent_len = 0;
	}
	return XS2S_FRAME_NONE;
}

/* The byte after '<' decides the kind of markup. */
static int framer_lt(struct xs2s_framer *f, uint8_t c)
{
	f->sub = 0;
	if (c == '/') {
		if (!f->seen_header)
			return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
		f->st = F_ETAG_START;
	} else if (c == '?') {
		/* Only the XML declaration, once, before the header. */
		if (f->seen_header || f->seen_decl)
			return framer_fail(f, XS2S_SE_RESTRICTED_XML);
		f->st = F_PI_TARGET;
	} else if (c == '!') {
		f->st = F_BANG;
	} else if (framer_is_name_start(c)) {
		f->st = F_STAG_NAME;
	} else {
		return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
	}
	return XS2S_FRAME_NONE;
}

/* "<!": only a CDATA section inside a stanza; comments and DTD markup are
 * restricted, CDATA between stanzas is text at depth 0. */
static int framer_bang(struct xs2s_framer *f, uint8_t c)
{
	if (f->sub == 0 && c != '[')
		return framer_fail(f, XS2S_SE_RESTRICTED_XML);
	if (f->depth == 0 || c != (uint8_t)FRAMER_CDATA_OPEN[f->sub])
		return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
	if (++f->sub == FRAMER_CDATA_OPEN_LEN) {
		f->st = F_CDATA;
		f->sub = 0;
	}
	return XS2S_FRAME_NONE;
}

/* "<?": the target must be exactly "xml" followed by whitespace. */
static int framer_pi(struct xs2s_framer *f, uint8_t c)
{
	if (f->sub < FRAMER_DECL_TARGET_LEN) {
		if (c != (uint8_t)FRAMER_DECL_TARGET[f->sub])
			return framer_fail(f, XS2S_SE_RESTRICTED_XML);
		f->sub++;
	} else if (framer_is_ws(c)) {
		f->st = F_DECL;
		f->sub = 0;
	} else {
		return framer_fail(f, XS2S_SE_RESTRICTED_XML);
	}
	return XS2S_FRAME_NONE;
}

/* Markup state machine for one byte that passed the encoding checks. */
static int framer_lex(struct xs2s_framer *f, uint8_t c)
{
	switch (f->st) {
	case F_TEXT:
		return framer_text(f, c);
	case F_LT:
		return framer_lt(f, c);
	case F_STAG_NAME:
	case F_STAG_ATTRS:
	case F_ATTR_AFTER:
		if (f->st == F_STAG_NAME && framer_is_name_char(c))
			return XS2S_FRAME_NONE;
		if (f->st == F_STAG_ATTRS && framer_is_name_start(c)) {
			f->st = F_ATTR_NAME;
			return XS2S_FRAME_NONE;
		}
		if (framer_is_ws(c)) {
			f->st = F_STAG_ATTRS; /* attributes need whitespace before them */
			return XS2S_FRAME_NONE;
		}
		return framer_stag_end(f, c);
	case F_ATTR_NAME:
		if (framer_is_name_char(c))
			return XS2S_FRAME_NONE;
		f->st = F_ATTR_EQ;
		/* fall through */
	case F_ATTR_EQ:
	case F_ATTR_QUOTE:
		if (framer_is_ws(c))
			return XS2S_FRAME_NONE;
		if (f->st == F_ATTR_EQ && c == '=') {
			f->st = F_ATTR_QUOTE;
		} else if (f->st == F_ATTR_QUOTE && (c == '\'' || c == '"')) {
			f->st = F_ATTR_VAL;
			f->sub = c;
		} else {
			return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
		}
		return XS2S_FRAME_NONE;
	case F_ATTR_VAL:
		if (c == f->sub) {
			f->st = F_ATTR_AFTER;
		} else if (c == '<') {
			return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
		} else if (c == '&') {
			f->st = F_ATTR_ENT;
			f->ent_len = 0;
		}
		return XS2S_FRAME_NONE;
	case F_EMPTY_GT:
		if (c == '>')
			return framer_tag_done(f, TAG_EMPTY);
		return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
	case F_ETAG_START:
		if (!framer_is_name_start(c))
			return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
		f->st = F_ETAG_NAME;
		return XS2S_FRAME_NONE;
	case F_ETAG_NAME:
	case F_ETAG_WS:
		if (c == '>')
			return framer_tag_done(f, TAG_END);
		if (framer_is_ws(c))
			f->st = F_ETAG_WS;
		else if (f->st != F_ETAG_NAME || !framer_is_name_char(c))
			return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
		return XS2S_FRAME_NONE;
	case F_TEXT_ENT:
		return framer_ent(f, c, F_TEXT);
	case F_ATTR_ENT:
		return framer_ent(f, c, F_ATTR_VAL);
	case F_BANG:
		return framer_bang(f, c);
	case F_CDATA:
		if (c == ']') {
			if (f->sub < FRAMER_CDATA_CLOSE_BRACKETS)
				f->sub++;
		} else {
			if (c == '>' && f->sub == FRAMER_CDATA_CLOSE_BRACKETS)
				f->st = F_TEXT;
			f->sub = 0;
		}
		return XS2S_FRAME_NONE;
	case F_PI_TARGET:
		return framer_pi(f, c);
	case F_DECL:
		if (c == '<')
			return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
		if (c == '>' && f->sub) {
			f->seen_decl = 1;
			f->st = F_TEXT;
			f->len = 0; /* the declaration is checked, not returned */
		} else {
			f->sub = (c == '?');
		}
		return XS2S_FRAME_NONE;
	case F_CLOSED:
	default:
		if (!framer_is_ws(c))
			return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
		return XS2S_FRAME_NONE;
	}
}

/* One input byte: encoding checks, collection into buf, then markup. */
static int framer_byte(struct xs2s_framer *f, uint8_t c)
{
	enum xs2s_stream_err e = framer_utf8(f, c);

	if (e != XS2S_SE_NONE)
		return framer_fail(f, e);
	if (c < ' ' && !framer_is_ws(c))
		return framer_fail(f, XS2S_SE_NOT_WELL_FORMED);
	if (f->st != F_CLOSED && !(f->st == F_TEXT && f->depth == 0 && c != '<')) {
		if (f->len >= f->cap)
			return framer_fail(f, XS2S_SE_POLICY_VIOLATION);
		f->buf[f->len++] = (char)c;
	}
	return framer_lex(f, c);
}

void xs2s_framer_init(struct xs2s_framer *f, char *buf, size_t cap)
{
	f->buf = buf;
	f->cap = cap;
	xs2s_framer_reset(f);
}

void xs2s_framer_reset(struct xs2s_framer *f)
{
	char *buf = f->buf;
	size_t cap = f->cap;

	memset(f, 0, sizeof(*f)); /* XS2S_SE_NONE, F_TEXT, depth 0, no header */
	f->buf = buf;
	f->cap = cap;
	if (buf)
		f->buf[0] = '\0';
}

bool xs2s_framer_idle(const struct xs2s_framer *f)
{
	return (f->st == F_TEXT && f->depth == 0) || f->st == F_CLOSED;
}

void xs2s_framer_set_buf(struct xs2s_framer *f, char *buf)
{
	f->buf = buf;
	f->len = 0;
	if (buf)
		buf[0] = '\0';
}

int xs2s_framer_feed(struct xs2s_framer *f, const uint8_t *data, size_t len, size_t *consumed)
{
	int ev = XS2S_FRAME_NONE;
	size_t i = 0;

	*consumed = 0;
	if (f->err != XS2S_SE_NONE)
		return XS2S_EPROTO;
	/* The previous event's text is released: nothing is being collected. */
	if ((f->st == F_TEXT && f->depth == 0) || f->st == F_CLOSED)
		f->len = 0;
	while (i < len && ev == XS2S_FRAME_NONE)
		ev = framer_byte(f, data[i++]);
	*consumed = i;
	if (ev < 0)
		return XS2S_EPROTO;
	if (ev != XS2S_FRAME_NONE)
		f->buf[f->len] = '\0';
	return ev;
}
