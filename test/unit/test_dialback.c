/* Server Dialback (firmware/auth/dialback.c): XEP-0185 keys (the XEP's own
 * test vector and key properties), and the elements read and written on a
 * link: the authoritative role answers db:verify itself, requests and
 * verdicts come back to the caller, unsolicited ones end the link.
 *
 * The link is a real struct xs2s_link opened on no socket: it accepts writes
 * into its output queue, which the tests read back. Leak gate: the XML arena
 * is empty and no event is lost after every test.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "xs2s_log.h"
#include "auth/auth.h"
#include "lib/crypto.h"
#include "lib/evq.h"
#include "link/link.h"
#include "link/tls.h"
#include "xml/xml.h"

#if CONFIG_XS2S_AUTH_DIALBACK

static struct xs2s_env env;
static struct xs2s_tls tls;
static struct xs2s_xml xml;
static struct xs2s_evq evq;
static struct xs2s_link link;
static struct xs2s_link_bufs bufs; /* the buffers the link borrows, as the engine's */
static char out[4096];

static const struct xs2s_ns_ctx ns = {
	.default_ns = XS2S_NS_SERVER,
	.n = 2,
	.decl = { { "stream", XS2S_NS_STREAMS }, { "db", XS2S_NS_DIALBACK } },
};

/* The secret as engine.c keeps it: its SHA-256. */
static void set_secret(const char *s)
{
	xs2s_sha256(s, strlen(s), env.db_secret);
}

static int setup(void **state)
{
	(void)state;
	memset(&env, 0, sizeof env);
	snprintf(env.domains[0], sizeof env.domains[0], "a.test");
	env.ndomains = 1;
	env.dialback = true;
	env.tls = &tls;
	env.xml = &xml;
	env.evq = &evq;
	env.bufs = &bufs;
	xs2s_link_bufs_init(&bufs);
	xs2s_evq_init(&evq);
	xs2s_xml_init(&xml);
	set_secret("test secret");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	if (link.state != XS2S_LS_FREE)
		xs2s_link_release(&link, 0);
	if (xml.arena.used || evq.lost) {
		print_error("leak: xml arena %zu bytes, %u events lost\n", xml.arena.used, (unsigned)evq.lost);
		return -1;
	}
	return 0;
}

/* A link of direction dir, stream id sid, on no socket, accepting writes. */
static void open_link(enum xs2s_dir dir, const char *sid)
{
	xs2s_link_open_in(&link, &env, 0, 7, XS2S_SOCK_NONE, "192.0.2.1");
	/* Test double: a link past its stream header, without resolving and
	 * connecting. Only the direction, the stream id and the state (ready for
	 * authentication) matter to dialback.c. */
	link.dir = dir;
	link.state = XS2S_LS_FEATURES;
	snprintf(link.stream_id, sizeof link.stream_id, "%s", sid);
	assert_true(xs2s_link_live(&link));
}

/* What the link wrote since the last call (NUL-terminated in out). */
static const char *written(void)
{
	size_t n = xs2s_bq_get(&link.out, out, sizeof out - 1);

	out[n] = '\0';
	return out;
}

/* Parse el, read it on the link, free it; m keeps copies of its strings. */
struct msg {
	enum xs2s_db_kind kind;
	char local[64], remote[64], id[80], type[16], key[XS2S_DB_KEY_MAX + 1];
};

static enum xs2s_db_kind read_el(const char *s, struct msg *m)
{
	struct xs2s_db_msg dm;
	struct xs2s_el el;

	assert_int_equal(xs2s_xml_parse(&xml, s, strlen(s), &ns, &el), XS2S_OK);
	m->kind = xs2s_db_read(&env, &link, &el, &dm);
	snprintf(m->local, sizeof m->local, "%s", dm.local ? dm.local : "");
	snprintf(m->remote, sizeof m->remote, "%s", dm.remote ? dm.remote : "");
	snprintf(m->id, sizeof m->id, "%s", dm.id ? dm.id : "");
	snprintf(m->type, sizeof m->type, "%s", dm.type ? dm.type : "");
	memcpy(m->key, dm.key, sizeof m->key);
	xs2s_xml_free(&xml, &el);
	return m->kind;
}

/* XEP-0185 section 3: receiving xmpp.example.com, originating example.org. */
static void test_xep0185_vector(void **state)
{
	char key[XS2S_DB_KEY_LEN + 1];

	(void)state;
	set_secret("s3cr3tf0rd14lb4ck");
	xs2s_db_key(&env, "xmpp.example.com", "example.org", "D60000229F", key);
	assert_string_equal(key, "37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643");
}

static void test_key_depends_on_every_input(void **state)
{
	char k0[65], k1[65], k2[65], k3[65], k4[65];

	(void)state;
	set_secret("one secret");
	xs2s_db_key(&env, "b.test", "a.test", "id1", k0);
	xs2s_db_key(&env, "b.test", "a.test", "id2", k1);
	xs2s_db_key(&env, "a.test", "b.test", "id1", k2);
	/* The space separator keeps "ab c" and "a bc" apart. */
	xs2s_db_key(&env, "ab", "c", "id1", k3);
	xs2s_db_key(&env, "a", "bc", "id1", k4);
	assert_string_not_equal(k0, k1);
	assert_string_not_equal(k0, k2);
	assert_string_not_equal(k3, k4);
	set_secret("another secret");
	xs2s_db_key(&env, "b.test", "a.test", "id1", k1);
	assert_string_not_equal(k0, k1);
	assert_int_equal(strlen(k0), 64);
	assert_true(strspn(k0, "0123456789abcdef") == 64);
	/* Two engines with the same secret agree; the key is a pure function. */
	set_secret("one secret");
	xs2s_db_key(&env, "b.test", "a.test", "id1", k1);
	assert_string_equal(k0, k1);
}

static void test_send_result_and_verify(void **state)
{
	char key[XS2S_DB_KEY_LEN + 1], want[512];

	(void)state;
	open_link(XS2S_DIR_OUT, "peerid1");
	/* Originating: the key for (peer, us, the peer's stream id). */
	assert_int_equal(xs2s_db_send_result(&env, &link, "a.test", "peer.test"), XS2S_OK);
	xs2s_db_key(&env, "peer.test", "a.test", "peerid1", key);
	snprintf(want, sizeof want, "<db:result from='a.test' to='peer.test'>%s</db:result>", key);
	assert_string_equal(written(), want);
	assert_int_equal(link.state, XS2S_LS_AUTH); /* authentication began */
	/* Receiving: ask the authoritative server, escaping what is echoed. */
	assert_int_equal(xs2s_db_send_verify(&link, "a.test", "peer.test", "in'id", "k&1"), XS2S_OK);
	assert_string_equal(written(), "<db:verify from='a.test' to='peer.test' id='in&apos;id'>k&amp;1</db:verify>");
	/* Verdicts: valid, invalid, error with its condition. */
	assert_int_equal(xs2s_db_send_verdict(&link, "a.test", "peer.test", XS2S_DB_VALID, XS2S_STE_NONE), XS2S_OK);
	assert_string_equal(written(), "<db:result from='a.test' to='peer.test' type='valid'/>");
	assert_int_equal(xs2s_db_send_verdict(&link, "a.test", "peer.test", XS2S_DB_INVALID, XS2S_STE_NONE), XS2S_OK);
	assert_string_equal(written(), "<db:result from='a.test' to='peer.test' type='invalid'/>");
	assert_int_equal(xs2s_db_send_verdict(&link, "a.test", "peer.test", XS2S_DB_ERROR,
					      XS2S_STE_REMOTE_SERVER_NOT_FOUND), XS2S_OK);
	assert_string_equal(written(), "<db:result from='a.test' to='peer.test' type='error'><error type='cancel'>"
				       "<remote-server-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"
				       "</db:result>");
	/* A link that no longer sends takes nothing. */
	xs2s_link_abort(&link, XS2S_WHY_SHUTDOWN, "test");
	written();
	assert_int_equal(xs2s_db_send_verdict(&link, "a.test", "peer.test", XS2S_DB_VALID, XS2S_STE_NONE), XS2S_ENOMEM);
	assert_string_equal(written(), "");
}

/* No room in the output: nothing is written, the link lives on and the
 * caller asks again once the output drained (auth.h). */
static void test_send_without_room(void **state)
{
	static char filler[CONFIG_XS2S_OUT_BUF];
	char key[XS2S_DB_KEY_LEN + 1], want[512];

	(void)state;
	open_link(XS2S_DIR_OUT, "peerid1");
	memset(filler, ' ', sizeof filler);
	/* No output yet: the link holds no out buffer; its first write borrows one. */
	assert_null(link.out.buf);
	/* XS2S_LINK_CLOSE_RESERVE bytes stay free for the stream's last elements. */
	assert_int_equal(xs2s_link_write(&link, filler, CONFIG_XS2S_OUT_BUF - XS2S_LINK_CLOSE_RESERVE - 40), XS2S_OK);
	assert_int_equal(xs2s_db_send_result(&env, &link, "a.test", "peer.test"), XS2S_ENOMEM);
	assert_int_equal(xs2s_db_send_verify(&link, "a.test", "peer.test", "sid", "key"), XS2S_ENOMEM);
	assert_int_equal(xs2s_bq_room(&link.out), XS2S_LINK_CLOSE_RESERVE + 40);
	assert_true(xs2s_link_live(&link));
	assert_int_equal(link.state, XS2S_LS_FEATURES); /* authentication has not begun */
	/* Drained: the same calls go through. */
	xs2s_bq_clear(&link.out);
	assert_int_equal(xs2s_db_send_result(&env, &link, "a.test", "peer.test"), XS2S_OK);
	xs2s_db_key(&env, "peer.test", "a.test", "peerid1", key);
	snprintf(want, sizeof want, "<db:result from='a.test' to='peer.test'>%s</db:result>", key);
	assert_string_equal(written(), want);
	assert_int_equal(link.state, XS2S_LS_AUTH);
	assert_int_equal(xs2s_db_send_verify(&link, "a.test", "peer.test", "sid", "key"), XS2S_OK);
	assert_string_equal(written(), "<db:verify from='a.test' to='peer.test' id='sid'>key</db:verify>");
}

static void test_authoritative_answers_verify(void **state)
{
	char key[XS2S_DB_KEY_LEN + 1], el[512];
	struct msg m;

	(void)state;
	open_link(XS2S_DIR_IN, "ours");
	/* The key we would have made for (peer.test, a.test, sid9): valid. */
	xs2s_db_key(&env, "peer.test", "a.test", "sid9", key);
	snprintf(el, sizeof el, "<db:verify from='peer.test' to='a.test' id='sid9'>%s</db:verify>", key);
	assert_int_equal(read_el(el, &m), XS2S_DB_NONE);
	assert_string_equal(written(), "<db:verify from='a.test' to='peer.test' id='sid9' type='valid'/>");
	assert_string_equal(m.key, ""); /* never kept */
	/* Another stream id, or a key one digit off: invalid. */
	snprintf(el, sizeof el, "<db:verify from='peer.test' to='a.test' id='sid8'>%s</db:verify>", key);
	assert_int_equal(read_el(el, &m), XS2S_DB_NONE);
	assert_string_equal(written(), "<db:verify from='a.test' to='peer.test' id='sid8' type='invalid'/>");
	key[0] = key[0] == '0' ? '1' : '0';
	snprintf(el, sizeof el, "<db:verify from='peer.test' to='a.test' id='sid9'>%s</db:verify>", key);
	assert_int_equal(read_el(el, &m), XS2S_DB_NONE);
	assert_string_equal(written(), "<db:verify from='a.test' to='peer.test' id='sid9' type='invalid'/>");
	/* No id or no key: invalid. */
	assert_int_equal(read_el("<db:verify from='peer.test' to='a.test'>abc</db:verify>", &m), XS2S_DB_NONE);
	assert_string_equal(written(), "<db:verify from='a.test' to='peer.test' id='' type='invalid'/>");
	assert_int_equal(read_el("<db:verify from='peer.test' to='a.test' id='x'/>", &m), XS2S_DB_NONE);
	assert_string_equal(written(), "<db:verify from='a.test' to='peer.test' id='x' type='invalid'/>");
	/* Not our domain: item-not-found. */
	assert_int_equal(read_el("<db:verify from='peer.test' to='z.test' id='x'>abc</db:verify>", &m), XS2S_DB_NONE);
	assert_string_equal(written(), "<db:verify from='z.test' to='peer.test' id='x' type='error'><error type='cancel'>"
				       "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:verify>");
	/* Answers never end the stream. */
	assert_true(xs2s_link_live(&link));
}

static void test_requests_and_verdicts_go_up(void **state)
{
	struct msg m;

	(void)state;
	/* Receiving: a db:result request comes back with its key. */
	open_link(XS2S_DIR_IN, "ours");
	assert_int_equal(read_el("<db:result from='peer.test' to='a.test'>0123abcd</db:result>", &m), XS2S_DB_REQUEST);
	assert_string_equal(m.local, "a.test");
	assert_string_equal(m.remote, "peer.test");
	assert_string_equal(m.key, "0123abcd");
	assert_string_equal(written(), "");
	/* For a domain not ours: item-not-found, nothing goes up. */
	assert_int_equal(read_el("<db:result from='peer.test' to='z.test'>k</db:result>", &m), XS2S_DB_NONE);
	assert_string_equal(written(), "<db:result from='z.test' to='peer.test' type='error'><error type='cancel'>"
				       "<item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></db:result>");
	/* Dialback switched off: policy-violation. */
	env.dialback = false;
	assert_int_equal(read_el("<db:result from='peer.test' to='a.test'>k</db:result>", &m), XS2S_DB_NONE);
	assert_non_null(strstr(written(), "type='error'><error type='modify'><policy-violation "));
	env.dialback = true;
	assert_true(xs2s_link_live(&link));
	xs2s_link_release(&link, 0);

	/* Initiating: the verdict on our db:result, and the answer to our db:verify. */
	open_link(XS2S_DIR_OUT, "theirs");
	assert_int_equal(read_el("<db:result from='peer.test' to='a.test' type='valid'/>", &m), XS2S_DB_RESULT_VERDICT);
	assert_string_equal(m.type, "valid");
	assert_string_equal(m.local, "a.test");
	assert_string_equal(m.remote, "peer.test");
	assert_int_equal(read_el("<db:verify from='peer.test' to='a.test' id='s1' type='invalid'/>", &m),
			 XS2S_DB_VERIFY_VERDICT);
	assert_string_equal(m.id, "s1");
	assert_string_equal(m.type, "invalid");
	assert_string_equal(written(), "");
	assert_true(xs2s_link_live(&link));
}

/* Each element ends the link with the stream error it deserves. */
static void expect_abort(enum xs2s_dir dir, const char *el, enum xs2s_why why)
{
	struct msg m;
	struct xs2s_ev e;

	open_link(dir, "sid");
	assert_int_equal(read_el(el, &m), XS2S_DB_NONE);
	assert_false(xs2s_link_live(&link));
	assert_int_equal(link.why, why);
	/* The layers above hear of it once. */
	assert_true(xs2s_evq_pop(&evq, &e));
	assert_int_equal(e.type, XS2S_EV_LINK_DOWN);
	assert_int_equal(e.id, link.id);
	assert_false(xs2s_evq_pop(&evq, &e));
	xs2s_link_release(&link, 0);
}

static void test_unsolicited_and_malformed(void **state)
{
	(void)state;
	/* A verdict on an inbound stream, a request on an outbound one. */
	expect_abort(XS2S_DIR_IN, "<db:result from='peer.test' to='a.test' type='valid'/>", XS2S_WHY_NOT_AUTHORIZED);
	expect_abort(XS2S_DIR_IN, "<db:verify from='peer.test' to='a.test' id='x' type='valid'/>",
		     XS2S_WHY_NOT_AUTHORIZED);
	expect_abort(XS2S_DIR_OUT, "<db:result from='peer.test' to='a.test'>k</db:result>", XS2S_WHY_NOT_AUTHORIZED);
	expect_abort(XS2S_DIR_OUT, "<db:verify from='peer.test' to='a.test' id='x'>k</db:verify>",
		     XS2S_WHY_NOT_AUTHORIZED);
	/* Addressing. */
	expect_abort(XS2S_DIR_IN, "<db:result to='a.test'>k</db:result>", XS2S_WHY_IMPROPER_ADDRESSING);
	expect_abort(XS2S_DIR_IN, "<db:result from='' to='a.test'>k</db:result>", XS2S_WHY_IMPROPER_ADDRESSING);
	expect_abort(XS2S_DIR_IN, "<db:result from='peer.test'>k</db:result>", XS2S_WHY_IMPROPER_ADDRESSING);
	expect_abort(XS2S_DIR_IN, "<db:result from='u@peer.test' to='a.test'>k</db:result>", XS2S_WHY_INVALID_FROM);
	/* An empty key, or one longer than any we accept. */
	expect_abort(XS2S_DIR_IN, "<db:result from='peer.test' to='a.test'/>", XS2S_WHY_POLICY_VIOLATION);
	{
		char el[512], key[XS2S_DB_KEY_MAX + 2];

		memset(key, 'a', XS2S_DB_KEY_MAX + 1);
		key[XS2S_DB_KEY_MAX + 1] = '\0';
		snprintf(el, sizeof el, "<db:result from='peer.test' to='a.test'>%s</db:result>", key);
		expect_abort(XS2S_DIR_IN, el, XS2S_WHY_POLICY_VIOLATION);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_xep0185_vector, setup, teardown),
		cmocka_unit_test_setup_teardown(test_key_depends_on_every_input, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_result_and_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_send_without_room, setup, teardown),
		cmocka_unit_test_setup_teardown(test_authoritative_answers_verify, setup, teardown),
		cmocka_unit_test_setup_teardown(test_requests_and_verdicts_go_up, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unsolicited_and_malformed, setup, teardown),
	};
	xs2s_log_level = XS2S_LOG_WARN;
	return cmocka_run_group_tests_name("dialback", tests, NULL, NULL);
}

#else

static void test_not_built(void **state)
{
	(void)state;
	skip(); /* dialback is not built in (CONFIG_XS2S_AUTH_DIALBACK) */
}

int main(void)
{
	const struct CMUnitTest tests[] = { cmocka_unit_test(test_not_built) };
	return cmocka_run_group_tests_name("dialback", tests, NULL, NULL);
}

#endif
