/* Unit tests for local delivery (firmware/local/local.c): the inbox record
 * format (peek/pop), delivery of parsed stanzas, iq answers (ping, disco,
 * service-unavailable, bad-request) handed back in struct xs2s_outgoing,
 * messages the device sends, bounces built from the spans of our own
 * stanzas, what is never bounced, and a full inbox.
 *
 * Leak gate: the XML arena is empty after every test, and popping every
 * message leaves the inbox with no byte in use (count and bytes agree).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "xs2s_log.h"
#include "local/local.h"
#include "xml/xml.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define FIELDS 5

static struct xs2s_env env;
static struct xs2s_xml xml;
static struct xs2s_local loc;
static struct xs2s_outgoing out;
static char copy[CONFIG_XS2S_MAX_STANZA + 1];
static char big[CONFIG_XS2S_INBOX_BYTES + CONFIG_XS2S_MAX_STANZA];

static const struct xs2s_ns_ctx ns = {
	.default_ns = XS2S_NS_SERVER,
	.n = 2,
	.decl = { { "stream", XS2S_NS_STREAMS }, { "db", XS2S_NS_DIALBACK } },
};

static int setup(void **state)
{
	(void)state;
	memset(&env, 0, sizeof env);
	snprintf(env.domains[0], sizeof env.domains[0], "a.test");
	snprintf(env.domains[1], sizeof env.domains[1], "b.local");
	env.ndomains = 2;
	env.xml = &xml;
	xs2s_xml_init(&xml);
	memset(&loc, 0x77, offsetof(struct xs2s_local, inbox));
	xs2s_local_init(&loc, &env);
	memset(&out, 0, sizeof out);
	return 0;
}

static int leak_gate(void **state)
{
	const char *f[FIELDS];

	(void)state;
	while (xs2s_local_inbox_peek(&loc, f) == XS2S_OK)
		xs2s_local_inbox_pop(&loc);
	if (xml.arena.used || loc.inbox_used || loc.inbox_count) {
		print_error("leak: xml arena %zu bytes, inbox %zu bytes %u messages\n", xml.arena.used, loc.inbox_used,
			    loc.inbox_count);
		return -1;
	}
	return 0;
}

/* ---- helpers ---- */

/* Parse s as a stanza of a jabber:server stream and deliver it from link 5. */
static void deliver(const char *s)
{
	struct xs2s_el el;

	assert_int_equal(xs2s_xml_parse(&xml, s, strlen(s), &ns, &el), XS2S_OK);
	xs2s_local_deliver(&loc, 5, &el, &out);
	xs2s_xml_free(&xml, &el);
}

/* The oldest inbox message is (from, to, type, error, body); popped. */
static void expect_inbox(const char *from, const char *to, const char *type, const char *error, const char *body)
{
	const char *f[FIELDS];

	assert_int_equal(xs2s_local_inbox_peek(&loc, f), XS2S_OK);
	assert_string_equal(f[0], from);
	assert_string_equal(f[1], to);
	assert_string_equal(f[2], type);
	assert_string_equal(f[3], error);
	assert_string_equal(f[4], body);
	xs2s_local_inbox_pop(&loc);
}

static void expect_inbox_empty(void)
{
	const char *f[FIELDS];

	assert_int_equal(xs2s_local_inbox_peek(&loc, f), XS2S_ENOTFOUND);
	assert_int_equal(loc.inbox_count, 0);
	assert_int_equal(loc.inbox_used, 0);
}

/* out is exactly xml, leaving local domain from for remote domain to. */
static void expect_out(const char *xmltext, const char *from, const char *to)
{
	assert_true(out.len > 0);
	assert_non_null(out.xml);
	assert_int_equal(out.len, strlen(xmltext));
	assert_memory_equal(out.xml, xmltext, out.len);
	assert_string_equal(out.from, from);
	assert_string_equal(out.to, to);
	assert_non_null(out.what);
}

static void expect_nothing_out(void)
{
	assert_int_equal(out.len, 0);
}

/* The text of span sp of out's stanza. */
static const char *span(struct xs2s_span sp)
{
	static char buf[512];

	assert_true(sp.off + sp.len <= out.len);
	snprintf(buf, sizeof buf, "%.*s", (int)sp.len, out.xml + sp.off);
	return buf;
}

/* Bytes of the inbox record for these fields. */
static size_t record_len(const char *from, const char *to, const char *type, const char *error, const char *body)
{
	return 2 + strlen(from) + 1 + strlen(to) + 1 + strlen(type) + 1 + strlen(error) + 1 + strlen(body) + 1;
}

/* ---- tests ---- */

static void test_inbox_record_format(void **state)
{
	const char *f[FIELDS];
	size_t n1, n2;
	(void)state;

	expect_inbox_empty();
	xs2s_local_inbox_pop(&loc); /* popping nothing is harmless */
	deliver("<message from='x@b.test/r' to='u@a.test' type='chat' id='m1'><body>hello</body></message>");
	expect_nothing_out();
	deliver("<message from='y@c.test' to='v@b.local'><body>a &amp; b &lt;c&gt;<![CDATA[ <d> ]]></body>"
		"<thread>t</thread></message>");
	expect_nothing_out();
	assert_int_equal(loc.inbox_count, 2);
	n1 = record_len("x@b.test/r", "u@a.test", "chat", "", "hello");
	n2 = record_len("y@c.test", "v@b.local", "normal", "", "a & b <c> <d> ");
	assert_int_equal(loc.inbox_used, n1 + n2);
	assert_int_equal(loc.inbox_high, n1 + n2);

	/* The record: a big-endian length, then five NUL-ended fields. */
	assert_int_equal((unsigned char)loc.inbox[0], n1 >> 8);
	assert_int_equal((unsigned char)loc.inbox[1], n1 & 0xff);
	assert_memory_equal(loc.inbox + 2, "x@b.test/r\0u@a.test\0chat\0\0hello\0", n1 - 2);
	assert_int_equal((unsigned char)loc.inbox[n1], n2 >> 8);
	assert_int_equal((unsigned char)loc.inbox[n1 + 1], n2 & 0xff);

	/* peek gives pointers into the oldest record; they stay until pop. */
	assert_int_equal(xs2s_local_inbox_peek(&loc, f), XS2S_OK);
	assert_ptr_equal(f[0], loc.inbox + 2);
	assert_int_equal(xs2s_local_inbox_peek(&loc, f), XS2S_OK); /* peek does not consume */
	expect_inbox("x@b.test/r", "u@a.test", "chat", "", "hello");
	assert_int_equal(loc.inbox_used, n2);
	assert_int_equal(loc.inbox_count, 1);
	/* No type: "normal"; entities and CDATA decoded; only the body's text. */
	expect_inbox("y@c.test", "v@b.local", "normal", "", "a & b <c> <d> ");
	expect_inbox_empty();
	assert_int_equal(loc.inbox_high, n1 + n2); /* the high-water mark stays */

	/* No body, or a body in another namespace: an empty body field. */
	deliver("<message from='x@b.test' to='u@a.test' type='headline'><subject>s</subject></message>");
	deliver("<message from='x@b.test' to='u@a.test'><body xmlns='urn:other'>no</body></message>");
	expect_inbox("x@b.test", "u@a.test", "headline", "", "");
	expect_inbox("x@b.test", "u@a.test", "normal", "", "");
}

static void test_error_messages(void **state)
{
	(void)state;
	/* The defined condition goes to the error field. */
	deliver("<message from='x@b.test' to='u@a.test' type='error' id='e1'><body>orig</body>"
		"<error type='cancel'><item-not-found xmlns='" NS_STANZAS "'/>"
		"<text xmlns='" NS_STANZAS "'>gone</text></error></message>");
	expect_nothing_out(); /* an error is never answered */
	expect_inbox("x@b.test", "u@a.test", "error", "item-not-found", "orig");
	/* <text/> before the condition: the condition still wins. */
	deliver("<message from='x@b.test' to='u@a.test' type='error'><error type='wait'>"
		"<text xmlns='" NS_STANZAS "'>busy</text><resource-constraint xmlns='" NS_STANZAS "'/></error></message>");
	expect_inbox("x@b.test", "u@a.test", "error", "resource-constraint", "");
	/* No condition (or only text): an empty error field. */
	deliver("<message from='x@b.test' to='u@a.test' type='error'><error type='cancel'/></message>");
	deliver("<message from='x@b.test' to='u@a.test' type='error'><error><text xmlns='" NS_STANZAS "'>t</text>"
		"</error></message>");
	deliver("<message from='x@b.test' to='u@a.test' type='error'/>");
	expect_inbox("x@b.test", "u@a.test", "error", "", "");
	expect_inbox("x@b.test", "u@a.test", "error", "", "");
	expect_inbox("x@b.test", "u@a.test", "error", "", "");
}

static void test_iq_answers(void **state)
{
	(void)state;
	/* Ping to the bare domain: a result, from/to swapped. */
	deliver("<iq type='get' from='x@b.test/r' to='a.test' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='result' from='a.test' to='x@b.test/r' id='p1'/>", "a.test", "b.test");
	assert_int_equal(out.meta.kind, XS2S_ST_IQ);
	assert_false(out.meta.bounce); /* a reply is never bounced */
	assert_string_equal(span(out.meta.from), "a.test");
	assert_string_equal(span(out.meta.to), "x@b.test/r");
	assert_string_equal(span(out.meta.id), "p1");
	assert_int_equal(out.meta.body.len, 0);
	assert_string_equal(out.what, "iq result");
	assert_ptr_equal(out.xml, loc.scratch);

	/* disco#info to the alias domain: identity and features, from the alias. */
	deliver("<iq type='get' from='b.test' to='b.local' id='d1'>"
		"<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	expect_out("<iq type='result' from='b.local' to='b.test' id='d1'>"
		   "<query xmlns='http://jabber.org/protocol/disco#info'>"
		   "<identity category='server' type='im' name='xs2s'/>"
		   "<feature var='http://jabber.org/protocol/disco#info'/><feature var='urn:xmpp:ping'/>"
		   "</query></iq>", "b.local", "b.test");
	assert_int_equal(loc.scratch_high, out.len);

	/* Anything else: service-unavailable (RFC 6120 8.4). */
	deliver("<iq type='get' from='x@b.test/r' to='a.test' id='v1'><query xmlns='jabber:iq:version'/></iq>");
	expect_out("<iq type='error' from='a.test' to='x@b.test/r' id='v1'><error type='cancel'>"
		   "<service-unavailable xmlns='" NS_STANZAS "'/></error></iq>", "a.test", "b.test");
	assert_int_equal(out.meta.kind, XS2S_ST_IQ);
	assert_false(out.meta.bounce);
	assert_string_equal(span(out.meta.id), "v1");
	assert_string_equal(out.what, "service-unavailable");
	/* ...to a user JID, even a ping. */
	deliver("<iq type='get' from='x@b.test' to='u@a.test' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='error' from='u@a.test' to='x@b.test' id='p2'><error type='cancel'>"
		   "<service-unavailable xmlns='" NS_STANZAS "'/></error></iq>", "a.test", "b.test");
	/* ...to a resource of the domain. */
	deliver("<iq type='get' from='x@b.test' to='a.test/res' id='p3'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='error' from='a.test/res' to='x@b.test' id='p3'><error type='cancel'>"
		   "<service-unavailable xmlns='" NS_STANZAS "'/></error></iq>", "a.test", "b.test");
	/* ...a set, an empty get, a ping in the wrong namespace. */
	deliver("<iq type='set' from='x@b.test' to='a.test' id='s1'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_non_null(strstr(out.xml, "<service-unavailable "));
	deliver("<iq type='get' from='x@b.test' to='a.test' id='g1'/>");
	assert_non_null(strstr(out.xml, "<service-unavailable "));
	deliver("<iq type='get' from='x@b.test' to='a.test' id='g2'><ping xmlns='urn:xmpp:pong'/></iq>");
	assert_non_null(strstr(out.xml, "<service-unavailable "));

	/* No id: bad-request, without an id. */
	deliver("<iq type='get' from='x@b.test' to='a.test'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='error' from='a.test' to='x@b.test'><error type='modify'>"
		   "<bad-request xmlns='" NS_STANZAS "'/></error></iq>", "a.test", "b.test");
	assert_int_equal(out.meta.id.len, 0);

	/* What goes into the reply is escaped; the spans cover the escaped text. */
	deliver("<iq type='get' from='x@b.test' to='a.test' id='a&apos;b&lt;'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='result' from='a.test' to='x@b.test' id='a&apos;b&lt;'/>", "a.test", "b.test");
	assert_string_equal(span(out.meta.id), "a&apos;b&lt;");

	/* Results, errors and unknown types wait for nothing here: no reply. */
	deliver("<iq type='result' from='x@b.test' to='a.test' id='r1'/>");
	expect_nothing_out();
	deliver("<iq type='error' from='x@b.test' to='a.test' id='r2'/>");
	expect_nothing_out();
	deliver("<iq from='x@b.test' to='a.test' id='r3'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_nothing_out();
	deliver("<iq type='bogus' from='x@b.test' to='a.test' id='r4'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_nothing_out();
	/* Presence: no presence service, no reply. Nothing of this reached the inbox. */
	deliver("<presence from='x@b.test' to='u@a.test'/>");
	expect_nothing_out();
	expect_inbox_empty();
}

static void test_send_message(void **state)
{
	(void)state;
	/* To a remote JID: a stanza to route, with spans for a bounce. */
	assert_int_equal(xs2s_local_message(&loc, "u@a.test/dev", "x@b.test", "hi <there> & 'you'", &out), XS2S_OK);
	assert_true(out.len > 0);
	assert_string_equal(out.from, "a.test");
	assert_string_equal(out.to, "b.test");
	assert_int_equal(out.meta.kind, XS2S_ST_MESSAGE);
	assert_true(out.meta.bounce);
	assert_string_equal(span(out.meta.from), "u@a.test/dev");
	assert_string_equal(span(out.meta.to), "x@b.test");
	assert_string_equal(span(out.meta.body), "hi &lt;there&gt; &amp; &apos;you&apos;");
	assert_int_equal(out.meta.id.len, 16);
	assert_int_equal(strspn(span(out.meta.id), "0123456789abcdef"), 16);
	{
		char want[1024];

		snprintf(want, sizeof want, "<message type='chat' from='u@a.test/dev' to='x@b.test' id='%s'><body>"
			 "hi &lt;there&gt; &amp; &apos;you&apos;</body></message>", span(out.meta.id));
		assert_int_equal(out.len, strlen(want));
		assert_memory_equal(out.xml, want, out.len);
	}
	/* Each message gets its own id. */
	{
		char id1[17];

		memcpy(id1, span(out.meta.id), sizeof id1); /* 16 digits and the NUL */
		assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@b.test", "again", &out), XS2S_OK);
		assert_string_not_equal(span(out.meta.id), id1);
	}
	/* From the alias domain. */
	assert_int_equal(xs2s_local_message(&loc, "u@b.local", "x@b.test", "", &out), XS2S_OK);
	assert_string_equal(out.from, "b.local");
	assert_int_equal(out.meta.body.len, 0);
	expect_inbox_empty();

	/* To a local JID (either domain): straight into the inbox, nothing to route. */
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "v@b.local", "local & near", &out), XS2S_OK);
	expect_nothing_out();
	expect_inbox("u@a.test", "v@b.local", "chat", "", "local & near");

	/* Refused: a sender not ours, malformed JIDs. */
	assert_int_equal(xs2s_local_message(&loc, "u@b.test", "x@c.test", "spoof", &out), XS2S_EINVAL);
	expect_nothing_out();
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "not a jid@", "x", &out), XS2S_EINVAL);
	assert_int_equal(xs2s_local_message(&loc, "@a.test", "x@b.test", "x", &out), XS2S_EINVAL);
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@", "x", &out), XS2S_EINVAL);
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@b'test", "x", &out), XS2S_EINVAL);
	/* Too large for one stanza: ERANGE, nothing to route. */
	memset(big, 'z', CONFIG_XS2S_MAX_STANZA);
	big[CONFIG_XS2S_MAX_STANZA] = '\0';
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@b.test", big, &out), XS2S_ERANGE);
	expect_nothing_out();
	/* Escaping makes it grow: a body of '&' that fits raw but not escaped. */
	memset(big, '&', CONFIG_XS2S_MAX_STANZA / 2);
	big[CONFIG_XS2S_MAX_STANZA / 2] = '\0';
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@b.test", big, &out), XS2S_ERANGE);
	expect_inbox_empty();
}

static void test_bounce_from_spans(void **state)
{
	struct xs2s_stanza_meta m;
	size_t len;
	(void)state;

	/* A message of ours, with characters that are escaped on the wire. */
	assert_int_equal(xs2s_local_message(&loc, "o'k@a.test/d&d", "x<y>@b.test", "hi <there> & 'you'", &out),
			 XS2S_OK);
	memcpy(copy, out.xml, out.len); /* the route queue keeps its own copy */
	len = out.len;
	m = out.meta;
	memset(loc.scratch, 'S', sizeof loc.scratch); /* the scratch is reused meanwhile */
	xs2s_local_bounce(&loc, copy, len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	/* Back to its sender, from its recipient, unescaped, with the condition. */
	expect_inbox("x<y>@b.test", "o'k@a.test/d&d", "error", "remote-server-not-found", "hi <there> & 'you'");

	/* Each condition as given; an empty body stays empty. */
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@b.test", "", &out), XS2S_OK);
	memcpy(copy, out.xml, out.len);
	m = out.meta;
	xs2s_local_bounce(&loc, copy, out.len, &m, XS2S_STE_REMOTE_SERVER_TIMEOUT);
	expect_inbox("x@b.test", "u@a.test", "error", "remote-server-timeout", "");

	/* Several bounces keep their order. */
	for (int i = 0; i < 3; i++) {
		char body[8];

		snprintf(body, sizeof body, "b%d", i);
		assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@b.test", body, &out), XS2S_OK);
		memcpy(copy, out.xml, out.len);
		m = out.meta;
		xs2s_local_bounce(&loc, copy, out.len, &m, XS2S_STE_RESOURCE_CONSTRAINT);
	}
	expect_inbox("x@b.test", "u@a.test", "error", "resource-constraint", "b0");
	expect_inbox("x@b.test", "u@a.test", "error", "resource-constraint", "b1");
	expect_inbox("x@b.test", "u@a.test", "error", "resource-constraint", "b2");
	expect_inbox_empty();
}

static void test_not_bounced(void **state)
{
	struct xs2s_stanza_meta m;
	(void)state;

	/* Replies and errors we built are never bounced (RFC 6120 8.3.1). */
	deliver("<iq type='get' from='x@b.test' to='a.test' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_true(out.len > 0);
	memcpy(copy, out.xml, out.len);
	m = out.meta;
	xs2s_local_bounce(&loc, copy, out.len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	expect_inbox_empty();
	deliver("<iq type='get' from='x@b.test' to='a.test' id='v1'><query xmlns='jabber:iq:version'/></iq>");
	memcpy(copy, out.xml, out.len);
	m = out.meta;
	xs2s_local_bounce(&loc, copy, out.len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	expect_inbox_empty();
	/* A message marked not bounceable (an error message) is not either. */
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@b.test", "hello", &out), XS2S_OK);
	memcpy(copy, out.xml, out.len);
	m = out.meta;
	m.bounce = false;
	xs2s_local_bounce(&loc, copy, out.len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	/* Nor a presence or an iq whatever it says. */
	m.kind = XS2S_ST_PRESENCE;
	xs2s_local_bounce(&loc, copy, out.len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	m.kind = XS2S_ST_IQ;
	xs2s_local_bounce(&loc, copy, out.len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	expect_inbox_empty();
}

/* Deliver chat messages until exactly `room` bytes of the inbox are left. */
static void fill_inbox_leaving(size_t room)
{
	static char s[sizeof big + 128];
	size_t base = record_len("x@b.test", "u@a.test", "chat", "", "");
	size_t maxbody = CONFIG_XS2S_MAX_STANZA / 2;
	size_t left = sizeof loc.inbox - loc.inbox_used;

	assert_true(left >= room);
	while (left > room) {
		size_t need = left - room, body;

		if (need < base)
			fail_msg("cannot leave exactly %zu bytes", room);
		if (need - base <= maxbody) {
			body = need - base;
		} else {
			body = maxbody;
			if (need - base - body < base) /* leave room for a whole last record */
				body -= base;
		}
		memset(big, 'f', body);
		big[body] = '\0';
		snprintf(s, sizeof s, "<message from='x@b.test' to='u@a.test' type='chat'><body>%s</body></message>", big);
		deliver(s);
		expect_nothing_out();
		assert_int_equal(sizeof loc.inbox - loc.inbox_used, left - (base + body));
		left = sizeof loc.inbox - loc.inbox_used;
	}
	assert_int_equal(left, room);
}

static void test_inbox_full(void **state)
{
	struct xs2s_stanza_meta m;
	unsigned count;
	size_t last = record_len("x@b.test", "u@a.test", "chat", "", "12345");
	(void)state;

	/* A message that fits exactly: delivered; the inbox is then full. */
	fill_inbox_leaving(last);
	deliver("<message from='x@b.test' to='u@a.test' type='chat'><body>12345</body></message>");
	expect_nothing_out();
	assert_int_equal(loc.inbox_used, sizeof loc.inbox);
	assert_int_equal(loc.inbox_high, sizeof loc.inbox);
	count = loc.inbox_count;

	/* Full: refused with resource-constraint back to the sender, id kept. */
	deliver("<message from='x@b.test/r' to='u@a.test' type='chat' id='m9'><body>x</body></message>");
	expect_out("<message type='error' from='u@a.test' to='x@b.test/r' id='m9'><error type='wait'>"
		   "<resource-constraint xmlns='" NS_STANZAS "'/></error></message>", "a.test", "b.test");
	assert_int_equal(out.meta.kind, XS2S_ST_MESSAGE);
	assert_false(out.meta.bounce);
	assert_string_equal(span(out.meta.from), "u@a.test");
	assert_string_equal(span(out.meta.to), "x@b.test/r");
	assert_string_equal(out.what, "resource-constraint");
	assert_int_equal(loc.inbox_count, count);
	/* Without an id: no id on the error. */
	deliver("<message from='x@b.test' to='u@b.local'><body>x</body></message>");
	expect_out("<message type='error' from='u@b.local' to='x@b.test'><error type='wait'>"
		   "<resource-constraint xmlns='" NS_STANZAS "'/></error></message>", "b.local", "b.test");
	/* An error message is dropped, never answered. */
	deliver("<message from='x@b.test' to='u@a.test' type='error'><body>x</body></message>");
	expect_nothing_out();
	/* The device's own message to a local JID: ENOMEM. */
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "v@a.test", "x", &out), XS2S_ENOMEM);
	expect_nothing_out();
	/* A bounce is lost (logged). */
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "x@b.test", "bounce me", &out), XS2S_OK);
	memcpy(copy, out.xml, out.len);
	m = out.meta;
	xs2s_local_bounce(&loc, copy, out.len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	assert_int_equal(loc.inbox_count, count);
	assert_int_equal(loc.inbox_used, sizeof loc.inbox);

	/* Popping the oldest makes room again; the last one is still intact. */
	xs2s_local_inbox_pop(&loc);
	assert_int_equal(xs2s_local_message(&loc, "u@a.test", "v@a.test", "x", &out), XS2S_OK);
	while (loc.inbox_count > 2)
		xs2s_local_inbox_pop(&loc);
	expect_inbox("x@b.test", "u@a.test", "chat", "", "12345");
	expect_inbox("u@a.test", "v@a.test", "chat", "", "x");
	expect_inbox_empty();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inbox_record_format, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_error_messages, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_iq_answers, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_send_message, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_bounce_from_spans, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_not_bounced, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_inbox_full, setup, leak_gate),
	};

	xs2s_log_level = XS2S_LOG_ERROR;
	return cmocka_run_group_tests_name("local", tests, NULL, NULL);
}
