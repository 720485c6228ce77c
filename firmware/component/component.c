/* The component table and its helpers; the action points are in component.h. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "lib/crypto.h"
#include "xml/xml.h"
#include "component/component.h"

#define COMP_BLANKS " \t\r\n"

/* Split "NAME=SECRET" (n bytes at p): the name into name[] and the secret's
 * place; false when malformed. */
static bool comp_entry(const char *p, size_t n, char name[XS2S_DOMAIN_MAX + 1], const char **secret, size_t *slen)
{
	const char *eq = memchr(p, '=', n);
	size_t k = eq ? (size_t)(eq - p) : n, i;

	name[0] = '\0';
	if (!eq || k > XS2S_DOMAIN_MAX)
		return false;
	memcpy(name, p, k);
	name[k] = '\0';
	*secret = eq + 1;
	*slen = n - k - 1;
	for (i = 0; i < *slen; i++)
		if ((unsigned char)eq[1 + i] <= ' ' || (unsigned char)eq[1 + i] == 0x7f)
			return false;
	return xs2s_domain_valid(name) && *slen && *slen <= XS2S_COMP_SECRET_MAX;
}

bool xs2s_comps_entry_valid(const char *p, size_t n)
{
	char name[XS2S_DOMAIN_MAX + 1];
	const char *secret;
	size_t slen;

	return comp_entry(p, n, name, &secret, &slen);
}

int xs2s_comps_init(struct xs2s_comps *t, const struct xs2s_env *env, const char *config)
{
	const char *p = config ? config : "";

	memset(t, 0, sizeof *t);
	for (;;) {
		char name[XS2S_DOMAIN_MAX + 1];
		const char *secret;
		size_t n, slen;

		p += strspn(p, COMP_BLANKS);
		if (!*p)
			return XS2S_OK;
		n = strcspn(p, COMP_BLANKS);
		if (!comp_entry(p, n, name, &secret, &slen)) {
			/* Never the secret: only what stands before '=' (an entry
			 * without '=' may be a piece of a secret: not shown). */
			const char *eq = memchr(p, '=', n);
			int shown = eq ? (int)(eq - p < 64 ? eq - p : 64) : 0;

			XS2S_LOGE(0, "component entry %u%s%.*s%s: want NAME=SECRET (NAME a domain, SECRET 1-%d printable "
				     "characters, no spaces)", t->names.n + 1, eq ? " '" : " (no '=')", shown, p, eq ? "'" : "",
				  XS2S_COMP_SECRET_MAX);
			return XS2S_EINVAL;
		}
		if (xs2s_env_local(env, name) || xs2s_comps_find(t, name) != XS2S_COMP_NONE) {
			XS2S_LOGE(0, "component %s: %s", name,
				  xs2s_env_local(env, name) ? "is a local domain" : "given twice");
			return XS2S_EINVAL;
		}
		if (t->names.n == CONFIG_XS2S_MAX_COMPONENTS) {
			XS2S_LOGE(0, "component %s: at most %d components (CONFIG_XS2S_MAX_COMPONENTS)", name,
				  CONFIG_XS2S_MAX_COMPONENTS);
			return XS2S_EINVAL;
		}
		memcpy(t->names.name[t->names.n], name, strlen(name) + 1);
		memcpy(t->c[t->names.n].secret, secret, slen);
		t->c[t->names.n].secret[slen] = '\0';
		t->names.n++;
		p += n;
	}
}

int xs2s_comps_find(const struct xs2s_comps *t, const char *name)
{
	unsigned i;

	for (i = 0; i < t->names.n; i++)
		if (!strcmp(t->names.name[i], name))
			return (int)i;
	return XS2S_COMP_NONE;
}

int xs2s_comps_of_link(const struct xs2s_comps *t, unsigned link)
{
	unsigned i;

	for (i = 0; link && i < t->names.n; i++)
		if (t->c[i].link == link)
			return (int)i;
	return XS2S_COMP_NONE;
}

void xs2s_comps_set_cert(struct xs2s_comps *t, int i, bool names)
{
	t->names.cert[i] = names;
}

bool xs2s_comps_link_open(struct xs2s_comps *t)
{
	if (t->links >= CONFIG_XS2S_MAX_COMPONENTS) {
		t->refused++;
		return false;
	}
	t->links++;
	return true;
}

void xs2s_comps_link_freed(struct xs2s_comps *t)
{
	if (t->links)
		t->links--;
}

void xs2s_comps_refuse(struct xs2s_comps *t)
{
	t->refused++;
}

bool xs2s_comps_handshake_ok(const struct xs2s_comps *t, int i, const char *stream_id, const char *digest)
{
	const char *parts[] = { stream_id, t->c[i].secret };
	uint8_t sum[XS2S_SHA1_LEN];
	char want[2 * XS2S_SHA1_LEN + 1], got[XS2S_COMP_DIGEST_MAX + 1];
	size_t n = strlen(digest), k;
	bool ok;

	if (n != 2 * XS2S_SHA1_LEN)
		return false; /* the length is no secret */
	for (k = 0; k < n; k++) /* the case of hex digits: no branch on the value */
		got[k] = (char)(digest[k] | (((unsigned)digest[k] - 'A' < 6u) << 5));
	got[n] = '\0';
	xs2s_sha1(parts, 2, sum);
	xs2s_hex(sum, sizeof sum, want);
	ok = xs2s_ct_streq(got, want);
	memset(want, 0, sizeof want);
	memset(sum, 0, sizeof sum);
	return ok;
}

void xs2s_comps_bind(struct xs2s_comps *t, int i, uint8_t slot, unsigned link)
{
	t->c[i].slot = slot;
	t->c[i].link = link;
	if (++t->used > t->high)
		t->high = t->used;
}

int xs2s_comps_link_down(struct xs2s_comps *t, unsigned link)
{
	int i = xs2s_comps_of_link(t, link);

	if (i != XS2S_COMP_NONE) {
		t->c[i].link = 0;
		t->used--;
	}
	return i;
}

/* ---- stanzas passed on as they came ---- */

/* The next attribute of a start tag at *p: its name and value as spans of
 * xml; false at the tag's end. The framer and the parser accepted the tag:
 * it is well-formed, quotes delimit every value. */
static bool comp_next_attr(const char *xml, const char **p, struct xs2s_span *name, struct xs2s_span *val)
{
	const char *a = *p + strspn(*p, COMP_BLANKS), *v, *end;
	size_t n = strcspn(a, COMP_BLANKS "=/>");
	char q;

	if (!n)
		return false;
	v = a + n + strspn(a + n, COMP_BLANKS);
	if (*v != '=')
		return false;
	v += 1 + strspn(v + 1, COMP_BLANKS);
	q = *v++;
	if ((q != '\'' && q != '"') || !(end = strchr(v, q)))
		return false;
	name->off = (uint16_t)(a - xml);
	name->len = (uint16_t)n;
	val->off = (uint16_t)(v - xml);
	val->len = (uint16_t)(end - v);
	*p = end + 1;
	return true;
}

static bool comp_span_is(const char *xml, struct xs2s_span s, const char *text)
{
	return s.len == strlen(text) && !memcmp(xml + s.off, text, s.len);
}

void xs2s_comps_stanza_meta(const char *xml, size_t len, struct xs2s_stanza_meta *m)
{
	const char *p = xml + 1, *colon;
	struct xs2s_span name, val, type = { 0, 0 };
	size_t n = strcspn(p, COMP_BLANKS "/>");

	memset(m, 0, sizeof *m);
	if (len > UINT16_MAX)
		return; /* cannot be: the framer bounds a stanza */
	colon = memchr(p, ':', n);
	if (colon) {
		n -= (size_t)(colon + 1 - p);
		p = colon + 1;
	}
	m->kind = n == 2 && !memcmp(p, "iq", 2) ? XS2S_ST_IQ
		  : n == 8 && !memcmp(p, "presence", 8) ? XS2S_ST_PRESENCE : XS2S_ST_MESSAGE;
	p += n;
	while (comp_next_attr(xml, &p, &name, &val)) {
		if (comp_span_is(xml, name, "from"))
			m->from = val;
		else if (comp_span_is(xml, name, "to"))
			m->to = val;
		else if (comp_span_is(xml, name, "id"))
			m->id = val;
		else if (comp_span_is(xml, name, "type"))
			type = val;
	}
	/* RFC 6120 8.3.1: never an error for an error; 10.4.3: iq result or
	 * error is dropped; presence errors are not sent back here. */
	if (m->kind == XS2S_ST_IQ)
		m->bounce = comp_span_is(xml, type, "get") || comp_span_is(xml, type, "set");
	else
		m->bounce = m->kind == XS2S_ST_MESSAGE && !comp_span_is(xml, type, "error");
}

/* Write the escaped span s of xml as an attribute value in the quote it
 * allows (as written it holds no '<' or '&' that is not escaped, and at
 * most one kind of quote); *at: where it went. */
static void comp_attr(struct xs2s_wbuf *w, const char *name, const char *xml, struct xs2s_span s,
		      struct xs2s_span *at)
{
	char q = memchr(xml + s.off, '\'', s.len) ? '"' : '\'';

	xs2s_w_fmt(w, " %s=%c", name, q);
	at->off = (uint16_t)w->len;
	at->len = s.len;
	xs2s_w_bytes(w, xml + s.off, s.len);
	xs2s_w_bytes(w, &q, 1);
}

int xs2s_comps_error(struct xs2s_comps *t, const char *xml, const struct xs2s_stanza_meta *m,
		     enum xs2s_stanza_err cond, const char **reply, size_t *rlen, struct xs2s_stanza_meta *rmeta)
{
	static const char *const kinds[] = { "message", "presence", "iq" };
	const char *kind = m->kind < 3 ? kinds[m->kind] : "message";
	struct xs2s_wbuf w;

	memset(rmeta, 0, sizeof *rmeta);
	rmeta->kind = m->kind;
	xs2s_w_init(&w, t->scratch, sizeof t->scratch);
	xs2s_w_fmt(&w, "<%s type='error'", kind);
	comp_attr(&w, "from", xml, m->to, &rmeta->from);
	comp_attr(&w, "to", xml, m->from, &rmeta->to);
	if (m->id.len)
		comp_attr(&w, "id", xml, m->id, &rmeta->id);
	xs2s_w_fmt(&w, "><error type='%s'><%s xmlns='" XS2S_NS_STANZA_ERR "'/></error></%s>",
		   xs2s_stanza_err_type(cond), xs2s_stanza_err_name(cond), kind);
	if (w.overflow)
		return XS2S_ERANGE;
	*reply = t->scratch;
	*rlen = w.len;
	return XS2S_OK;
}
