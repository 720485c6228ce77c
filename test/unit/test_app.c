/* Unit tests for the application interface layer (firmware/app/): the
 * inbox record format, delivery in dispatch order (iq answers, handlers,
 * built-ins, inbox, errors), what the application sends (checked, ids,
 * spans for bounces, local recipients through the local queue), raw
 * stanzas, completions (sent, bounced, exactly once), iq requests (result,
 * error, timeout, bounce), bounces built from spans, the payload builder,
 * and every table full.
 *
 * The engine below is a recording output (out_fn) that keeps what it is
 * handed. Leak gate: the XML arena is empty after every test, and every
 * table, queue and the inbox are empty once the test has drained them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "port.h"
#include "xs2s_log.h"
#include "app/app.h"
#include "xml/xml.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define FIELDS XS2S_APP_INBOX_FIELDS

static struct xs2s_env env;
static struct xs2s_xml xml;
static struct xs2s_app app;
static char big[CONFIG_XS2S_MAX_STANZA + 64];

/* What the recording output was handed last. */
static struct {
	unsigned n;                        /* stanzas handed out */
	int rc;                            /* what the recording output answers */
	char from[XS2S_DOMAIN_MAX + 1], to[XS2S_DOMAIN_MAX + 1];
	char xml[CONFIG_XS2S_MAX_STANZA + 1];
	size_t len;
	struct xs2s_stanza_meta meta;
} out;

static int recorded_out(void *ctx, const char *from, const char *to, const char *x, size_t len,
		    const struct xs2s_stanza_meta *meta)
{
	(void)ctx;
	if (out.rc != XS2S_OK)
		return out.rc;
	out.n++;
	snprintf(out.from, sizeof out.from, "%s", from);
	snprintf(out.to, sizeof out.to, "%s", to);
	memcpy(out.xml, x, len);
	out.xml[len] = '\0';
	out.len = len;
	out.meta = *meta;
	return XS2S_OK;
}

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
	memset(&out, 0, sizeof out);
	xs2s_app_init(&app, &env, (struct xs2s_engine *)&app, recorded_out, NULL);
	return 0;
}

static int leak_gate(void **state)
{
	const char *f[FIELDS];

	(void)state;
	xs2s_app_fini(&app, xs2s_port_now_ms());
	while (xs2s_app_inbox_peek(&app, f) == XS2S_OK)
		xs2s_app_inbox_pop(&app);
	if (xml.arena.used || app.inbox_used || app.inbox_count || app.lq_used || app.pending_used || app.iqs_used) {
		print_error("leak: xml arena %zu, inbox %zu bytes %u messages, local queue %zu, completions %u, iq %u\n",
			    xml.arena.used, app.inbox_used, app.inbox_count, app.lq_used, app.pending_used, app.iqs_used);
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
	xs2s_app_deliver(&app, 5, &el, s, strlen(s));
	xs2s_xml_free(&xml, &el);
}

static void expect_inbox(const char *from, const char *to, const char *type, const char *error, const char *body)
{
	const char *f[FIELDS];

	assert_int_equal(xs2s_app_inbox_peek(&app, f), XS2S_OK);
	assert_string_equal(f[0], from);
	assert_string_equal(f[1], to);
	assert_string_equal(f[2], type);
	assert_string_equal(f[3], error);
	assert_string_equal(f[4], body);
	xs2s_app_inbox_pop(&app);
}

static void expect_inbox_empty(void)
{
	const char *f[FIELDS];

	assert_int_equal(xs2s_app_inbox_peek(&app, f), XS2S_ENOTFOUND);
	assert_int_equal(app.inbox_count, 0);
	assert_int_equal(app.inbox_used, 0);
}

/* The recording output got exactly xmltext, from local domain `from` to remote `to`; cleared. */
static void expect_out(const char *xmltext, const char *from, const char *to)
{
	assert_int_equal(out.n, 1);
	assert_string_equal(out.xml, xmltext);
	assert_string_equal(out.from, from);
	assert_string_equal(out.to, to);
	out.n = 0;
}

static void expect_nothing_out(void)
{
	assert_int_equal(out.n, 0);
}

static const char *span(struct xs2s_span sp)
{
	static char buf[512];

	assert_true((size_t)sp.off + sp.len <= out.len);
	snprintf(buf, sizeof buf, "%.*s", (int)sp.len, out.xml + sp.off);
	return buf;
}

static size_t record_len(const char *from, const char *to, const char *type, const char *error, const char *body)
{
	return 2 + strlen(from) + 1 + strlen(to) + 1 + strlen(type) + 1 + strlen(error) + 1 + strlen(body) + 1 +
	       1; /* the error text, empty here */
}

/* The error text of the oldest inbox record (not taken). */
static const char *inbox_text(void)
{
	const char *f[FIELDS];

	assert_int_equal(xs2s_app_inbox_peek(&app, f), XS2S_OK);
	return f[5];
}

static int send_msg(const char *from, const char *to, const char *body)
{
	struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = from, .to = to, .type = "chat", .body = body };

	return xs2s_app_send(&app, &st, NULL, NULL, NULL);
}

/* ---- the inbox and delivery ---- */

static void test_inbox_record_format(void **state)
{
	const char *f[FIELDS];
	size_t n1, n2;
	(void)state;

	expect_inbox_empty();
	xs2s_app_inbox_pop(&app); /* popping nothing is harmless */
	deliver("<message from='x@b.test/r' to='u@a.test' type='chat' id='m1'><body>hello</body></message>");
	deliver("<message from='y@c.test' to='v@b.local'><body>a &amp; b &lt;c&gt;<![CDATA[ <d> ]]></body>"
		"<thread>t</thread></message>");
	expect_nothing_out();
	assert_int_equal(app.inbox_count, 2);
	n1 = record_len("x@b.test/r", "u@a.test", "chat", "", "hello");
	n2 = record_len("y@c.test", "v@b.local", "normal", "", "a & b <c> <d> ");
	assert_int_equal(app.inbox_used, n1 + n2);
	assert_int_equal((unsigned char)app.inbox[0], n1 >> 8);
	assert_int_equal((unsigned char)app.inbox[1], n1 & 0xff);
	assert_memory_equal(app.inbox + 2, "x@b.test/r\0u@a.test\0chat\0\0hello\0\0", n1 - 2);
	assert_int_equal(xs2s_app_inbox_peek(&app, f), XS2S_OK);
	assert_ptr_equal(f[0], app.inbox + 2);
	expect_inbox("x@b.test/r", "u@a.test", "chat", "", "hello");
	expect_inbox("y@c.test", "v@b.local", "normal", "", "a & b <c> <d> ");
	expect_inbox_empty();
	assert_int_equal(app.inbox_high, n1 + n2);
	/* No body, or a body in another namespace: an empty body field. */
	deliver("<message from='x@b.test' to='u@a.test' type='headline'><subject>s</subject></message>");
	deliver("<message from='x@b.test' to='u@a.test'><body xmlns='urn:other'>no</body></message>");
	expect_inbox("x@b.test", "u@a.test", "headline", "", "");
	expect_inbox("x@b.test", "u@a.test", "normal", "", "");
}

static void test_error_messages(void **state)
{
	(void)state;
	deliver("<message from='x@b.test' to='u@a.test' type='error' id='e1'><body>orig</body>"
		"<error type='cancel'><item-not-found xmlns='" NS_STANZAS "'/>"
		"<text xmlns='" NS_STANZAS "'>gone</text></error></message>");
	expect_nothing_out(); /* an error is never answered */
	assert_string_equal(inbox_text(), "gone"); /* its <text/>: the sixth field */
	expect_inbox("x@b.test", "u@a.test", "error", "item-not-found", "orig");
	/* <text/> before the condition (RFC 6120 8.3.2: either order); a
	 * control character in it does not split a line of xs2sctl inbox. */
	deliver("<message from='x@b.test' to='u@a.test' type='error'><error type='wait'>"
		"<text xmlns='" NS_STANZAS "'>busy&#10;now</text><resource-constraint xmlns='" NS_STANZAS "'/></error>"
		"</message>");
	assert_string_equal(inbox_text(), "busy now");
	expect_inbox("x@b.test", "u@a.test", "error", "resource-constraint", "");
	deliver("<message from='x@b.test' to='u@a.test' type='error'/>");
	expect_inbox("x@b.test", "u@a.test", "error", "", "");
}

static void test_iq_answers(void **state)
{
	(void)state;
	/* XEP-0199 ping to the bare domain: an empty result, from/to swapped. */
	deliver("<iq type='get' from='x@b.test/r' to='a.test' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='result' from='a.test' to='x@b.test/r' id='p1'/>", "a.test", "b.test");
	assert_int_equal(out.meta.kind, XS2S_ST_IQ);
	assert_false(out.meta.bounce); /* a reply is never bounced */
	assert_string_equal(span(out.meta.id), "p1");
	/* XEP-0030 disco#info to the alias domain, from the alias. */
	deliver("<iq type='get' from='b.test' to='b.local' id='d1'>"
		"<query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
	expect_out("<iq type='result' from='b.local' to='b.test' id='d1'>"
		   "<query xmlns='http://jabber.org/protocol/disco#info'>"
		   "<identity category='server' type='im' name='xs2s'/>"
		   "<feature var='http://jabber.org/protocol/disco#info'/><feature var='urn:xmpp:ping'/>"
		   "<feature var='jabber:iq:version'/></query></iq>", "b.local", "b.test");
	/* XEP-0092 version. */
	deliver("<iq type='get' from='x@b.test/r' to='a.test' id='v1'><query xmlns='jabber:iq:version'/></iq>");
	expect_out("<iq type='result' from='a.test' to='x@b.test/r' id='v1'><query xmlns='jabber:iq:version'>"
		   "<name>xs2s</name><version>" XS2S_VERSION "</version></query></iq>", "a.test", "b.test");
	/* Nobody serves it: service-unavailable (RFC 6120 8.4), to a user JID too. */
	deliver("<iq type='get' from='x@b.test' to='u@a.test' id='p2'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='error' from='u@a.test' to='x@b.test' id='p2'><error type='cancel'>"
		   "<service-unavailable xmlns='" NS_STANZAS "'/></error></iq>", "a.test", "b.test");
	deliver("<iq type='set' from='x@b.test' to='a.test' id='s1'><ping xmlns='urn:xmpp:ping'/></iq>");
	assert_non_null(strstr(out.xml, "<service-unavailable "));
	out.n = 0;
	deliver("<iq type='get' from='x@b.test' to='a.test' id='g1'/>");
	assert_non_null(strstr(out.xml, "<service-unavailable "));
	out.n = 0;
	/* No id: bad-request, without an id (RFC 6120 8.2.3). */
	deliver("<iq type='get' from='x@b.test' to='a.test'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='error' from='a.test' to='x@b.test'><error type='modify'>"
		   "<bad-request xmlns='" NS_STANZAS "'/></error></iq>", "a.test", "b.test");
	/* Escaped on the way back; the spans cover the escaped text. */
	deliver("<iq type='get' from='x@b.test' to='a.test' id='a&apos;b&lt;'><ping xmlns='urn:xmpp:ping'/></iq>");
	expect_out("<iq type='result' from='a.test' to='x@b.test' id='a&apos;b&lt;'/>", "a.test", "b.test");
	/* Results, errors, unknown types and presence: no reply, nothing in the inbox. */
	deliver("<iq type='result' from='x@b.test' to='a.test' id='r1'/>");
	deliver("<iq type='error' from='x@b.test' to='a.test' id='r2'/>");
	deliver("<iq type='bogus' from='x@b.test' to='a.test' id='r4'><ping xmlns='urn:xmpp:ping'/></iq>");
	deliver("<presence from='x@b.test' to='u@a.test'/>");
	expect_nothing_out();
	expect_inbox_empty();
}

/* ---- sending ---- */

static void test_send_message(void **state)
{
	struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = "u@a.test/dev", .to = "x@b.test", .type = "chat",
				  .body = "hi <there> & 'you'" };
	struct xs2s_handle h, h2;
	char want[512];
	(void)state;

	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, &h), XS2S_OK);
	assert_int_equal(h.handle, 0); /* no completion asked for */
	assert_int_equal(strlen(h.id), 21);
	assert_memory_equal(h.id, "xs2s-", 5);
	assert_int_equal(strspn(h.id + 5, "0123456789abcdef"), 16);
	snprintf(want, sizeof want, "<message type='chat' from='u@a.test/dev' to='x@b.test' id='%s'><body>"
		 "hi &lt;there&gt; &amp; &apos;you&apos;</body></message>", h.id);
	assert_string_equal(out.xml, want);
	assert_string_equal(out.from, "a.test");
	assert_string_equal(out.to, "b.test");
	assert_int_equal(out.meta.kind, XS2S_ST_MESSAGE);
	assert_true(out.meta.bounce);
	assert_int_equal(out.meta.track, 0);
	assert_string_equal(span(out.meta.from), "u@a.test/dev");
	assert_string_equal(span(out.meta.to), "x@b.test");
	assert_string_equal(span(out.meta.id), h.id);
	assert_string_equal(span(out.meta.body), "<body>hi &lt;there&gt; &amp; &apos;you&apos;</body>");
	out.n = 0;
	/* Each stanza gets its own id; the caller's id is kept. */
	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, &h2), XS2S_OK);
	assert_string_not_equal(h.id, h2.id);
	st.id = "mine";
	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, &h2), XS2S_OK);
	assert_string_equal(h2.id, "mine");
	assert_non_null(strstr(out.xml, "id='mine'"));
	/* A payload with a namespace of its own, no body. */
	out.n = 0;
	{
		struct xs2s_stanza t = { .kind = XS2S_MESSAGE, .from = "sensor@b.local", .to = "x@b.test",
					 .payload = "<reading xmlns='urn:example:telemetry' unit='C'>21.5</reading>" };

		assert_int_equal(xs2s_app_send(&app, &t, NULL, NULL, &h), XS2S_OK);
		snprintf(want, sizeof want, "<message from='sensor@b.local' to='x@b.test' id='%s'><reading "
			 "xmlns='urn:example:telemetry' unit='C'>21.5</reading></message>", h.id);
		expect_out(want, "b.local", "b.test");
		assert_int_equal(out.meta.body.len, 0);
	}
	expect_inbox_empty();
}

static void test_send_refused(void **state)
{
	struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = "u@a.test", .to = "x@b.test", .body = "x" };
	static const char *const bad_payloads[] = {
		"<a>", "</a>", "<a></b>", "<!-- c --><a/>", "<?pi x?>", "<a>&nbsp;</a>",
		"<!DOCTYPE a><a/>", "<a b='1' b='2'/>", "<a>\x01</a>", "<a>\xff</a>", "<a>\xc0\xaf</a>",
	};
	unsigned i;
	(void)state;

	/* A sender not ours, malformed JIDs, a bad kind, no to. */
	st.from = "u@b.test";
	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, NULL), XS2S_EINVAL);
	st.from = "u@a.test";
	assert_int_equal(send_msg("u@a.test", "not a jid@", "x"), XS2S_EINVAL);
	assert_int_equal(send_msg("@a.test", "x@b.test", "x"), XS2S_EINVAL);
	assert_int_equal(send_msg("u@a.test", "x@", "x"), XS2S_EINVAL);
	st.to = NULL;
	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, NULL), XS2S_EINVAL);
	st.to = "x@b.test";
	st.kind = XS2S_ANY_KIND;
	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, NULL), XS2S_EINVAL);
	st.kind = XS2S_MESSAGE;
	assert_int_equal(xs2s_app_send(&app, NULL, NULL, NULL, NULL), XS2S_EINVAL);
	/* An id longer than XS2S_ID_MAX. */
	memset(big, 'i', XS2S_ID_MAX + 1);
	big[XS2S_ID_MAX + 1] = '\0';
	st.id = big;
	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, NULL), XS2S_EINVAL);
	st.id = NULL;
	/* Payloads that are not one well-formed restricted-XML fragment (RFC 6120 11). */
	for (i = 0; i < sizeof bad_payloads / sizeof bad_payloads[0]; i++) {
		st.payload = bad_payloads[i];
		assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, NULL), XS2S_EINVAL);
	}
	st.payload = NULL;
	/* Too large for one stanza, also once escaped. */
	memset(big, 'z', CONFIG_XS2S_MAX_STANZA);
	big[CONFIG_XS2S_MAX_STANZA] = '\0';
	assert_int_equal(send_msg("u@a.test", "x@b.test", big), XS2S_ERANGE);
	memset(big, '&', CONFIG_XS2S_MAX_STANZA / 2);
	big[CONFIG_XS2S_MAX_STANZA / 2] = '\0';
	assert_int_equal(send_msg("u@a.test", "x@b.test", big), XS2S_ERANGE);
	/* The engine refuses (no room): the error comes back, no completion stays. */
	out.rc = XS2S_ENOMEM;
	assert_int_equal(xs2s_app_send(&app, &st, (xs2s_done_fn)1, NULL, NULL), XS2S_ENOMEM);
	assert_int_equal(app.pending_used, 0);
	out.rc = XS2S_OK;
	expect_nothing_out();
	expect_inbox_empty();
}

static void test_send_raw(void **state)
{
	struct xs2s_handle h;
	char want[256];
	(void)state;

	/* No id: one is added right after the element name. */
	assert_int_equal(xs2s_app_send_raw(&app, "<presence from='u@a.test' to='x@b.test'><show>away</show></presence>",
					   NULL, NULL, &h), XS2S_OK);
	snprintf(want, sizeof want, "<presence id='%s' from='u@a.test' to='x@b.test'><show>away</show></presence>", h.id);
	expect_out(want, "a.test", "b.test");
	assert_true(out.meta.bounce);
	assert_int_equal(out.meta.kind, XS2S_ST_PRESENCE);
	/* Whitespace around it (a line from a file) is not part of it. */
	assert_int_equal(xs2s_app_send_raw(&app, "\n  <message id='w1' from='u@a.test' to='x@b.test'/>\r\n", NULL, NULL, &h),
			 XS2S_OK);
	expect_out("<message id='w1' from='u@a.test' to='x@b.test'/>", "a.test", "b.test");
	assert_string_equal(span(out.meta.id), "w1");
	/* Its own id is kept; an iq result is a reply: never bounced. */
	assert_int_equal(xs2s_app_send_raw(&app, "<iq type='result' id='r1' from='a.test' to='b.test'/>", NULL, NULL, &h),
			 XS2S_OK);
	assert_string_equal(h.id, "r1");
	expect_out("<iq type='result' id='r1' from='a.test' to='b.test'/>", "a.test", "b.test");
	assert_false(out.meta.bounce);
	/* Refused: not a stanza, another namespace, spoofed from, no to, two elements, junk. */
	assert_int_equal(xs2s_app_send_raw(&app, "<db:result from='a.test' to='b.test'>k</db:result>", NULL, NULL, NULL),
			 XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, "<foo from='u@a.test' to='x@b.test'/>", NULL, NULL, NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, "<message xmlns='jabber:client' from='u@a.test' to='x@b.test'/>", NULL,
					   NULL, NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, "<message from='u@b.test' to='x@b.test'/>", NULL, NULL, NULL),
			 XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, "<message from='u@a.test'/>", NULL, NULL, NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, "<message from='u@a.test' to='x@b.test'/><message/>", NULL, NULL, NULL),
			 XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, "<message from='u@a.test' to='x@b.test'>", NULL, NULL, NULL),
			 XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, "", NULL, NULL, NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, " \n ", NULL, NULL, NULL), XS2S_EINVAL);
	assert_int_equal(xs2s_app_send_raw(&app, NULL, NULL, NULL, NULL), XS2S_EINVAL);
	expect_nothing_out();
}

/* ---- completions ---- */

static struct {
	unsigned n;
	struct xs2s_done d;
	char id[XS2S_ID_MAX + 1], cond[64], text[128];
} done;

static void on_done(struct xs2s_engine *eng, void *arg, const struct xs2s_done *d)
{
	assert_ptr_equal(eng, &app);
	assert_ptr_equal(arg, &done);
	done.n++;
	done.d = *d;
	snprintf(done.id, sizeof done.id, "%s", d->id);
	snprintf(done.cond, sizeof done.cond, "%s", d->condition);
	snprintf(done.text, sizeof done.text, "%s", d->text);
}

static void test_completions(void **state)
{
	struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = "u@a.test", .to = "x@b.test", .body = "hi" };
	struct xs2s_handle h1, h2;
	char copy[CONFIG_XS2S_MAX_STANZA + 1];
	struct xs2s_stanza_meta m;
	size_t len;
	(void)state;

	memset(&done, 0, sizeof done);
	assert_int_equal(xs2s_app_send(&app, &st, on_done, &done, &h1), XS2S_OK);
	assert_int_not_equal(h1.handle, 0);
	assert_int_equal(out.meta.track, 1);
	assert_int_equal(app.pending_used, 1);
	/* SENT (the route table wrote it): fired at the next step, never before. */
	xs2s_app_sent(&app, out.meta.track);
	assert_int_equal(done.n, 0);
	xs2s_app_step(&app);
	assert_int_equal(done.n, 1);
	assert_int_equal(done.d.outcome, XS2S_SENT);
	assert_int_equal(done.d.handle, h1.handle);
	assert_string_equal(done.id, h1.id);
	assert_string_equal(done.cond, "");
	/* Exactly once: a late outcome for a fired completion is ignored. */
	xs2s_app_sent(&app, out.meta.track);
	xs2s_app_step(&app);
	assert_int_equal(done.n, 1);
	assert_int_equal(app.pending_used, 0);

	/* BOUNCED with the condition and the link's reason; no error stanza. */
	out.n = 0;
	assert_int_equal(xs2s_app_send(&app, &st, on_done, &done, &h2), XS2S_OK);
	assert_int_not_equal(h2.handle, h1.handle);
	memcpy(copy, out.xml, out.len + 1);
	len = out.len;
	m = out.meta;
	assert_int_equal(xs2s_app_bounce(&app, copy, len, &m, XS2S_STE_REMOTE_SERVER_TIMEOUT, "connect timed out"),
			 XS2S_OK);
	xs2s_app_sent(&app, m.track); /* too late: bounced first */
	xs2s_app_step(&app);
	assert_int_equal(done.n, 2);
	assert_int_equal(done.d.outcome, XS2S_BOUNCED);
	assert_string_equal(done.cond, "remote-server-timeout");
	assert_string_equal(done.text, "connect timed out");
	assert_string_equal(done.id, h2.id);
	expect_inbox_empty();

	/* To a local JID: through the local queue, SENT once delivered. */
	st.to = "v@b.local";
	assert_int_equal(xs2s_app_send(&app, &st, on_done, &done, &h1), XS2S_OK);
	assert_true(xs2s_app_busy(&app));
	expect_inbox_empty(); /* never inside the call */
	xs2s_app_step(&app);
	assert_int_equal(done.n, 3);
	assert_int_equal(done.d.outcome, XS2S_SENT);
	expect_inbox("u@a.test", "v@b.local", "normal", "", "hi");
	assert_false(xs2s_app_busy(&app));
}

static void test_completions_full(void **state)
{
	struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = "u@a.test", .to = "x@b.test", .body = "hi" };
	unsigned i;
	(void)state;

	memset(&done, 0, sizeof done);
	for (i = 0; i < CONFIG_XS2S_APP_PENDING; i++)
		assert_int_equal(xs2s_app_send(&app, &st, on_done, &done, NULL), XS2S_OK);
	out.n = 0;
	assert_int_equal(xs2s_app_send(&app, &st, on_done, &done, NULL), XS2S_ENOMEM);
	expect_nothing_out(); /* nothing half-done */
	assert_int_equal(app.pending_refused, 1);
	assert_int_equal(app.pending_high, CONFIG_XS2S_APP_PENDING);
	/* Without a completion it still goes. */
	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, NULL), XS2S_OK);
	for (i = 1; i <= CONFIG_XS2S_APP_PENDING; i++)
		xs2s_app_sent(&app, i);
	xs2s_app_step(&app);
	assert_int_equal(done.n, CONFIG_XS2S_APP_PENDING);
}

/* ---- bounces without a completion ---- */

static void test_bounce_to_sender(void **state)
{
	char copy[CONFIG_XS2S_MAX_STANZA + 1];
	struct xs2s_stanza_meta m;
	size_t len;
	(void)state;

	/* Characters escaped on the wire come back unescaped, with the condition
	 * (resourceparts may hold them; localparts may not: RFC 7622 3.3.1). */
	assert_int_equal(send_msg("o'k@a.test/d&d", "x@b.test", "hi"), XS2S_EINVAL);
	assert_int_equal(send_msg("ok@a.test", "x<y>@b.test", "hi"), XS2S_EINVAL);
	assert_int_equal(send_msg("ok@a.test/d&'d", "x@b.test/<y>", "hi <there> & 'you'"), XS2S_OK);
	memcpy(copy, out.xml, out.len + 1); /* the route queue keeps its own copy */
	len = out.len;
	m = out.meta;
	memset(app.scratch, 'S', sizeof app.scratch - 1); /* the scratch is reused meanwhile */
	assert_int_equal(xs2s_app_bounce(&app, copy, len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "no address"),
			 XS2S_OK);
	expect_inbox_empty(); /* delivered at the next step */
	xs2s_app_step(&app);
	expect_inbox("x@b.test/<y>", "ok@a.test/d&'d", "error", "remote-server-not-found", "hi <there> & 'you'");
	/* In order. */
	for (int i = 0; i < 3; i++) {
		char body[8];

		snprintf(body, sizeof body, "b%d", i);
		assert_int_equal(send_msg("u@a.test", "x@b.test", body), XS2S_OK);
		memcpy(copy, out.xml, out.len + 1);
		m = out.meta;
		assert_int_equal(xs2s_app_bounce(&app, copy, out.len, &m, XS2S_STE_RESOURCE_CONSTRAINT, ""), XS2S_OK);
	}
	xs2s_app_step(&app);
	expect_inbox("x@b.test", "u@a.test", "error", "resource-constraint", "b0");
	expect_inbox("x@b.test", "u@a.test", "error", "resource-constraint", "b1");
	expect_inbox("x@b.test", "u@a.test", "error", "resource-constraint", "b2");
	/* Replies and errors are never bounced (RFC 6120 8.3.1). */
	deliver("<iq type='get' from='x@b.test' to='a.test' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>");
	memcpy(copy, out.xml, out.len + 1);
	m = out.meta;
	assert_int_equal(xs2s_app_bounce(&app, copy, out.len, &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND, ""), XS2S_OK);
	xs2s_app_step(&app);
	expect_inbox_empty();
}

static void test_bounce_waits_for_room(void **state)
{
	static char copies[4][CONFIG_XS2S_MAX_STANZA + 1];
	struct xs2s_stanza_meta m[4];
	size_t len[4];
	unsigned i, n = 0, waited = 0;
	(void)state;

	/* Bounces of large messages: the local queue takes what fits; the rest
	 * is refused with ENOMEM (the engine keeps them queued) until the next
	 * step made room. None is lost. */
	memset(big, 'x', 3000); /* four fit the inbox, three the local queue */
	big[3000] = '\0';
	for (i = 0; i < 4; i++) {
		big[0] = (char)('0' + i);
		assert_int_equal(send_msg("u@a.test", "x@b.test", big), XS2S_OK);
		memcpy(copies[i], out.xml, out.len + 1);
		len[i] = out.len;
		m[i] = out.meta;
	}
	for (i = 0; i < 4;) {
		int rc = xs2s_app_bounce(&app, copies[i], len[i], &m[i], XS2S_STE_REMOTE_SERVER_NOT_FOUND, "");

		if (rc == XS2S_ENOMEM) {
			assert_true(app.lq_used > 0);
			xs2s_app_step(&app);
			waited++;
			continue;
		}
		assert_int_equal(rc, XS2S_OK);
		i++;
	}
	xs2s_app_step(&app);
	for (i = 0; i < 4; i++) {
		const char *f[FIELDS];

		assert_int_equal(xs2s_app_inbox_peek(&app, f), XS2S_OK);
		assert_int_equal(f[4][0], '0' + i);
		xs2s_app_inbox_pop(&app);
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(waited, 1);
}

/* ---- handlers ---- */

static struct {
	unsigned calls[4];
	bool claim[4];
	char last_to[128], last_body[64];
} hs;

static bool on_stanza(struct xs2s_engine *eng, void *arg, const struct xs2s_stanza_in *in)
{
	unsigned k = (unsigned)(uintptr_t)arg;
	struct xs2s_view b;

	(void)eng;
	hs.calls[k]++;
	snprintf(hs.last_to, sizeof hs.last_to, "%s", in->to);
	hs.last_body[0] = '\0';
	if (xs2s_view_child(&in->top, "body", NULL, &b))
		assert_true(xs2s_view_text(&b, hs.last_body, sizeof hs.last_body) >= 0);
	return hs.claim[k];
}

static void test_handlers_match(void **state)
{
	struct xs2s_match m = { .jid = "Bot@A.test", .kind = XS2S_MESSAGE };
	int id0, id1, id2;
	(void)state;

	memset(&hs, 0, sizeof hs);
	hs.claim[0] = hs.claim[1] = hs.claim[2] = true;
	id0 = xs2s_app_handler_add(&app, &m, on_stanza, (void *)0);
	assert_true(id0 > 0);
	/* Bare JID: it and its resources (case-insensitive up to the resource). */
	deliver("<message from='x@b.test' to='bot@a.test'><body>1</body></message>");
	deliver("<message from='x@b.test' to='bot@a.test/Phone'><body>2</body></message>");
	deliver("<message from='x@b.test' to='bot2@a.test'><body>3</body></message>");
	assert_int_equal(hs.calls[0], 2);
	expect_inbox("x@b.test", "bot2@a.test", "normal", "", "3");
	/* Full JID: that resource only (case-sensitive). */
	m.jid = "dev@a.test/Res";
	m.kind = XS2S_ANY_KIND;
	id1 = xs2s_app_handler_add(&app, &m, on_stanza, (void *)1);
	deliver("<message from='x@b.test' to='dev@a.test/Res'><body>4</body></message>");
	deliver("<message from='x@b.test' to='dev@a.test/res'><body>5</body></message>");
	assert_int_equal(hs.calls[1], 1);
	expect_inbox("x@b.test", "dev@a.test/res", "normal", "", "5");
	/* Domain, type, element and namespace. */
	m.jid = "b.local";
	m.kind = XS2S_IQ;
	m.type = "set";
	m.element = "query";
	m.ns = "urn:example:cmd";
	id2 = xs2s_app_handler_add(&app, &m, on_stanza, (void *)2);
	deliver("<iq type='set' from='x@b.test' to='any@b.local/r' id='i1'><query xmlns='urn:example:cmd'/></iq>");
	assert_int_equal(hs.calls[2], 1);
	expect_nothing_out(); /* claimed: the handler answers (or not) */
	deliver("<iq type='get' from='x@b.test' to='any@b.local' id='i2'><query xmlns='urn:example:cmd'/></iq>");
	deliver("<iq type='set' from='x@b.test' to='any@b.local' id='i3'><query xmlns='urn:other'/></iq>");
	deliver("<iq type='set' from='x@b.test' to='any@a.test' id='i4'><query xmlns='urn:example:cmd'/></iq>");
	assert_int_equal(hs.calls[2], 1);
	assert_int_equal(out.n, 3); /* three service-unavailable errors */
	out.n = 0;
	/* disco#info lists the registered namespace once. */
	deliver("<iq type='get' from='b.test' to='a.test' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/>"
		"</iq>");
	assert_non_null(strstr(out.xml, "<feature var='jabber:iq:version'/><feature var='urn:example:cmd'/></query>"));
	out.n = 0;
	/* Removed: the inbox gets it again. */
	assert_int_equal(xs2s_app_handler_remove(&app, id0), XS2S_OK);
	assert_int_equal(xs2s_app_handler_remove(&app, id0), XS2S_ENOTFOUND);
	deliver("<message from='x@b.test' to='bot@a.test'><body>6</body></message>");
	assert_int_equal(hs.calls[0], 2);
	expect_inbox("x@b.test", "bot@a.test", "normal", "", "6");
	assert_int_equal(xs2s_app_handler_remove(&app, id1), XS2S_OK);
	assert_int_equal(xs2s_app_handler_remove(&app, id2), XS2S_OK);
	assert_int_equal(app.handlers_used, 0);
}

static void test_handlers_order_and_limits(void **state)
{
	struct xs2s_match any = { 0 }, m = { .jid = "u@a.test" };
	unsigned i;
	int ids[CONFIG_XS2S_APP_HANDLERS];
	(void)state;

	memset(&hs, 0, sizeof hs);
	/* The first handler that claims it gets it; one that passes lets it on. */
	hs.claim[0] = false;
	hs.claim[1] = true;
	ids[0] = xs2s_app_handler_add(&app, &any, on_stanza, (void *)0);
	ids[1] = xs2s_app_handler_add(&app, &m, on_stanza, (void *)1);
	ids[2] = xs2s_app_handler_add(&app, &any, on_stanza, (void *)2);
	deliver("<message from='x@b.test' to='u@a.test'><body>b</body></message>");
	assert_int_equal(hs.calls[0], 1);
	assert_int_equal(hs.calls[1], 1);
	assert_int_equal(hs.calls[2], 0);
	assert_string_equal(hs.last_body, "b");
	expect_inbox_empty();
	/* Refused: a JID not local, strings too long, a bad kind, no function. */
	m.jid = "u@b.test";
	assert_int_equal(xs2s_app_handler_add(&app, &m, on_stanza, NULL), XS2S_EINVAL);
	memset(big, 'n', XS2S_MATCH_MAX + 1);
	big[XS2S_MATCH_MAX + 1] = '\0';
	m.jid = NULL;
	m.ns = big;
	assert_int_equal(xs2s_app_handler_add(&app, &m, on_stanza, NULL), XS2S_EINVAL);
	m.ns = NULL;
	m.kind = (enum xs2s_kind)9;
	assert_int_equal(xs2s_app_handler_add(&app, &m, on_stanza, NULL), XS2S_EINVAL);
	m.kind = XS2S_ANY_KIND;
	assert_int_equal(xs2s_app_handler_add(&app, &m, NULL, NULL), XS2S_EINVAL);
	/* The table is full at CONFIG_XS2S_APP_HANDLERS. */
	for (i = 3; i < CONFIG_XS2S_APP_HANDLERS; i++)
		ids[i] = xs2s_app_handler_add(&app, &any, on_stanza, (void *)3);
	assert_int_equal(xs2s_app_handler_add(&app, &any, on_stanza, (void *)3), XS2S_ENOMEM);
	assert_int_equal(app.handlers_refused, 1);
	for (i = 0; i < CONFIG_XS2S_APP_HANDLERS; i++)
		assert_int_equal(xs2s_app_handler_remove(&app, ids[i]), XS2S_OK);
}

/* A handler answers an iq it claimed, with a result or an error. */
static bool on_cmd(struct xs2s_engine *eng, void *arg, const struct xs2s_stanza_in *in)
{
	(void)eng;
	(void)arg;
	if (!strcmp(in->id, "ok"))
		assert_int_equal(xs2s_app_iq_answer(&app, in, "<r xmlns='urn:example:cmd'>done</r>", NULL, NULL), XS2S_OK);
	else if (!strcmp(in->id, "no"))
		assert_int_equal(xs2s_app_iq_answer(&app, in, NULL, "not-allowed", "only admins"), XS2S_OK);
	else
		assert_int_equal(xs2s_app_iq_answer(&app, in, NULL, "made-up-condition", NULL), XS2S_EINVAL);
	return true;
}

static void test_handler_answers_iq(void **state)
{
	struct xs2s_match m = { .kind = XS2S_IQ, .ns = "urn:example:cmd" };
	int id = xs2s_app_handler_add(&app, &m, on_cmd, NULL);
	(void)state;

	deliver("<iq type='set' from='x@b.test/r' to='dev@a.test' id='ok'><c xmlns='urn:example:cmd'/></iq>");
	expect_out("<iq type='result' from='dev@a.test' to='x@b.test/r' id='ok'><r xmlns='urn:example:cmd'>done</r>"
		   "</iq>", "a.test", "b.test");
	deliver("<iq type='set' from='x@b.test/r' to='dev@a.test' id='no'><c xmlns='urn:example:cmd'/></iq>");
	expect_out("<iq type='error' from='dev@a.test' to='x@b.test/r' id='no'><error type='cancel'>"
		   "<not-allowed xmlns='" NS_STANZAS "'/><text xmlns='" NS_STANZAS "'>only admins</text></error></iq>",
		   "a.test", "b.test");
	deliver("<iq type='set' from='x@b.test/r' to='dev@a.test' id='bad'><c xmlns='urn:example:cmd'/></iq>");
	expect_nothing_out();
	assert_int_equal(xs2s_app_handler_remove(&app, id), XS2S_OK);
}

/* ---- iq requests ---- */

static struct {
	unsigned n;
	enum xs2s_iq_outcome outcome;
	char cond[64], text[128], id[XS2S_ID_MAX + 1];
	bool had_stanza;
} iqr;

static void on_iq(struct xs2s_engine *eng, void *arg, const struct xs2s_iq_response *r)
{
	(void)eng;
	(void)arg;
	iqr.n++;
	iqr.outcome = r->outcome;
	snprintf(iqr.cond, sizeof iqr.cond, "%s", r->condition);
	snprintf(iqr.text, sizeof iqr.text, "%s", r->text);
	snprintf(iqr.id, sizeof iqr.id, "%s", r->id);
	iqr.had_stanza = r->stanza != NULL;
}

static void test_iq_requests(void **state)
{
	struct xs2s_stanza st = { .kind = XS2S_IQ, .from = "dev@a.test/x", .to = "b.test", .type = "get",
				  .id = "q1", .payload = "<ping xmlns='urn:xmpp:ping'/>" };
	struct xs2s_handle h;
	char copy[CONFIG_XS2S_MAX_STANZA + 1];
	struct xs2s_stanza_meta m;
	uint32_t now = xs2s_port_now_ms();
	(void)state;

	memset(&iqr, 0, sizeof iqr);
	assert_int_equal(xs2s_app_iq_request(&app, &st, 5000, on_iq, NULL, &h), XS2S_OK);
	expect_out("<iq type='get' from='dev@a.test/x' to='b.test' id='q1'><ping xmlns='urn:xmpp:ping'/></iq>", "a.test",
		   "b.test");
	assert_int_equal(app.iqs_used, 1);
	xs2s_app_sent(&app, out.meta.track);
	xs2s_app_step(&app);
	assert_int_equal(iqr.n, 0); /* SENT alone is no answer */
	/* Same id from another JID: not the answer (RFC 6120 8.2.3); dropped. */
	deliver("<iq type='result' from='evil.test' to='dev@a.test/x' id='q1'/>");
	assert_int_equal(iqr.n, 0);
	deliver("<iq type='result' from='b.test' to='dev@a.test/x' id='q1'><pong/></iq>");
	assert_int_equal(iqr.n, 1);
	assert_int_equal(iqr.outcome, XS2S_IQ_RESULT);
	assert_true(iqr.had_stanza);
	assert_string_equal(iqr.id, "q1");
	assert_int_equal(app.iqs_used, 0);
	/* Exactly once: a second answer goes the normal way (dropped). */
	deliver("<iq type='result' from='b.test' to='dev@a.test/x' id='q1'/>");
	assert_int_equal(iqr.n, 1);
	expect_nothing_out();

	/* An error answer: its condition and text. */
	st.id = "q2";
	assert_int_equal(xs2s_app_iq_request(&app, &st, 5000, on_iq, NULL, NULL), XS2S_OK);
	out.n = 0;
	deliver("<iq type='error' from='b.test' to='dev@a.test/x' id='q2'><error type='cancel'>"
		"<text xmlns='" NS_STANZAS "'>nope</text><feature-not-implemented xmlns='" NS_STANZAS "'/></error></iq>");
	assert_int_equal(iqr.n, 2);
	assert_int_equal(iqr.outcome, XS2S_IQ_ERROR);
	assert_string_equal(iqr.cond, "feature-not-implemented");
	assert_string_equal(iqr.text, "nope");

	/* A timeout, not a millisecond early. */
	st.id = "q3";
	now = xs2s_port_now_ms();
	assert_int_equal(xs2s_app_iq_request(&app, &st, 1000, on_iq, NULL, NULL), XS2S_OK);
	out.n = 0;
	assert_true(xs2s_app_next_ms(&app, now) <= 1000);
	xs2s_app_run(&app, now + 500);
	assert_int_equal(iqr.n, 2);
	xs2s_app_run(&app, now + 2000);
	assert_int_equal(iqr.n, 3);
	assert_int_equal(iqr.outcome, XS2S_IQ_TIMEOUT);
	assert_false(iqr.had_stanza);
	assert_int_equal(xs2s_app_next_ms(&app, now), UINT32_MAX);

	/* Bounced on the way: an error with the bounce's condition. */
	st.id = "q4";
	assert_int_equal(xs2s_app_iq_request(&app, &st, 5000, on_iq, NULL, NULL), XS2S_OK);
	memcpy(copy, out.xml, out.len + 1);
	m = out.meta;
	out.n = 0;
	assert_int_equal(xs2s_app_bounce(&app, copy, strlen(copy), &m, XS2S_STE_REMOTE_SERVER_NOT_FOUND, "dns"), XS2S_OK);
	xs2s_app_step(&app);
	assert_int_equal(iqr.n, 4);
	assert_int_equal(iqr.outcome, XS2S_IQ_ERROR);
	assert_string_equal(iqr.cond, "remote-server-not-found");
	assert_string_equal(iqr.text, "dns");
	assert_int_equal(app.iqs_used, 0);

	/* Refused: not get/set, no to, no callback. */
	st.type = "result";
	assert_int_equal(xs2s_app_iq_request(&app, &st, 5000, on_iq, NULL, NULL), XS2S_EINVAL);
	st.type = "get";
	assert_int_equal(xs2s_app_iq_request(&app, &st, 5000, NULL, NULL, NULL), XS2S_EINVAL);
	st.kind = XS2S_MESSAGE;
	assert_int_equal(xs2s_app_iq_request(&app, &st, 5000, on_iq, NULL, NULL), XS2S_EINVAL);
	expect_nothing_out();
}

static void test_iq_requests_full_and_fini(void **state)
{
	struct xs2s_stanza st = { .kind = XS2S_IQ, .from = "dev@a.test", .to = "b.test", .type = "get",
				  .payload = "<ping xmlns='urn:xmpp:ping'/>" };
	unsigned i;
	(void)state;

	memset(&iqr, 0, sizeof iqr);
	for (i = 0; i < CONFIG_XS2S_APP_IQ_PENDING; i++)
		assert_int_equal(xs2s_app_iq_request(&app, &st, 60000, on_iq, NULL, NULL), XS2S_OK);
	assert_int_equal(xs2s_app_iq_request(&app, &st, 60000, on_iq, NULL, NULL), XS2S_ENOMEM);
	assert_int_equal(app.iqs_refused, 1);
	/* The engine ends: every request ends (a timeout: no answer came), once. */
	xs2s_app_fini(&app, xs2s_port_now_ms());
	assert_int_equal(iqr.n, CONFIG_XS2S_APP_IQ_PENDING);
	assert_int_equal(iqr.outcome, XS2S_IQ_TIMEOUT);
	assert_int_equal(app.iqs_used, 0);
	assert_int_equal(app.pending_used, 0);
}

/* ---- the local queue ---- */

static bool on_echo(struct xs2s_engine *eng, void *arg, const struct xs2s_stanza_in *in)
{
	struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = in->to, .to = in->from, .body = "echo" };

	(void)eng;
	(void)arg;
	hs.calls[0]++;
	assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, NULL), XS2S_OK);
	return true;
}

static void test_local_queue(void **state)
{
	struct xs2s_match m = { .jid = "echo@a.test" };
	int id = xs2s_app_handler_add(&app, &m, on_echo, NULL);
	unsigned i;
	(void)state;

	memset(&hs, 0, sizeof hs);
	/* Local to local: delivered at the next step; the handler's answer to a
	 * local sender waits for the step after (no ping-pong within a step). */
	assert_int_equal(send_msg("u@a.test", "echo@a.test", "hi"), XS2S_OK);
	expect_nothing_out();
	assert_int_equal(hs.calls[0], 0);
	xs2s_app_step(&app);
	assert_int_equal(hs.calls[0], 1);
	expect_inbox_empty();
	xs2s_app_step(&app);
	expect_inbox("echo@a.test", "u@a.test", "normal", "", "echo");
	/* Full: ENOMEM, counted, nothing half-done. */
	memset(big, 'q', 4000);
	big[4000] = '\0';
	for (i = 0; send_msg("u@a.test", "v@a.test", big) == XS2S_OK; i++)
		;
	assert_true(i >= 1);
	assert_int_equal(send_msg("u@a.test", "v@a.test", big), XS2S_ENOMEM);
	assert_true(app.lq_refused >= 1);
	assert_true(app.lq_high <= sizeof app.lq);
	xs2s_app_step(&app);
	while (app.inbox_count)
		xs2s_app_inbox_pop(&app);
	assert_int_equal(xs2s_app_handler_remove(&app, id), XS2S_OK);
}

/* ---- the builder ---- */

static void test_builder(void **state)
{
	struct xs2s_builder b;
	char buf[256];
	int n;
	(void)state;

	xs2s_build_init(&b, buf, sizeof buf);
	xs2s_build_open(&b, "reading", "urn:example:t");
	xs2s_build_attr(&b, "unit", "°C & 'x'");
	xs2s_build_open(&b, "value", NULL);
	xs2s_build_text(&b, "<21.5>");
	xs2s_build_close(&b);
	xs2s_build_open(&b, "empty", NULL);
	n = xs2s_build_end(&b);
	assert_int_equal(n, (int)strlen(buf));
	assert_string_equal(buf, "<reading xmlns='urn:example:t' unit='°C &amp; &apos;x&apos;'><value>&lt;21.5&gt;"
				 "</value><empty/></reading>");
	/* Misuse: an attribute after content, bad names, closing too much. */
	xs2s_build_init(&b, buf, sizeof buf);
	xs2s_build_open(&b, "a", NULL);
	xs2s_build_text(&b, "t");
	xs2s_build_attr(&b, "x", "y");
	assert_int_equal(xs2s_build_end(&b), XS2S_EINVAL);
	xs2s_build_init(&b, buf, sizeof buf);
	xs2s_build_open(&b, "1a", NULL);
	assert_int_equal(xs2s_build_end(&b), XS2S_EINVAL);
	xs2s_build_init(&b, buf, sizeof buf);
	xs2s_build_open(&b, "a b", NULL);
	assert_int_equal(xs2s_build_end(&b), XS2S_EINVAL);
	xs2s_build_init(&b, buf, sizeof buf);
	xs2s_build_close(&b);
	assert_int_equal(xs2s_build_end(&b), XS2S_EINVAL);
	/* Too deep, too long. */
	xs2s_build_init(&b, buf, sizeof buf);
	for (int i = 0; i <= XS2S_BUILD_DEPTH; i++)
		xs2s_build_open(&b, "d", NULL);
	assert_int_equal(xs2s_build_end(&b), XS2S_EINVAL);
	xs2s_build_init(&b, buf, 16);
	xs2s_build_open(&b, "longer-than-the-buffer", NULL);
	assert_int_equal(xs2s_build_end(&b), XS2S_ERANGE);
	/* What it builds is accepted as a payload. */
	xs2s_build_init(&b, buf, sizeof buf);
	xs2s_build_open(&b, "c", "urn:example:cmd");
	xs2s_build_text(&b, "a & b");
	assert_true(xs2s_build_end(&b) > 0);
	{
		struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = "u@a.test", .to = "x@b.test", .payload = buf };

		assert_int_equal(xs2s_app_send(&app, &st, NULL, NULL, NULL), XS2S_OK);
		assert_non_null(strstr(out.xml, "<c xmlns='urn:example:cmd'>a &amp; b</c>"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_inbox_record_format, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_error_messages, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_iq_answers, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_send_message, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_send_refused, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_send_raw, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_completions, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_completions_full, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_bounce_to_sender, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_bounce_waits_for_room, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_handlers_match, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_handlers_order_and_limits, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_handler_answers_iq, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_iq_requests, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_iq_requests_full_and_fini, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_local_queue, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_builder, setup, leak_gate),
	};

	xs2s_log_level = XS2S_LOG_ERROR;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
