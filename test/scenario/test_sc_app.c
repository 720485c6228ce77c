/* The application interface (xs2s_app.h) against scripted peers:
 * completions (sent once written to an authenticated stream, bounced with
 * the condition and the link's reason), iq requests (the answer from the
 * addressee only, an error with its condition, a timeout by the clock, a
 * bounce), handlers (first claim wins, the rest falls through to the
 * inbox or to service-unavailable, disco#info lists their namespaces),
 * and local delivery through the local queue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "scenarios.h"
#include "xs2s_err.h"

#define MS(s) ((s) * 1000)
#define PING "<ping xmlns='urn:xmpp:ping'/>"
#define DISCO_GET "<iq type='get' from='b.test' to='a.test' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>"

/* A tracked stanza: nothing is reported while it waits for the route; SENT
 * once it was written to the authenticated stream. */
static const struct sc_step app_done_sent[] = {
	APP_RAW_TRACKED("<message from='u@a.test' to='x@b.test' id='m1'><body>hi</body></message>", XS2S_OK),
	APP_EVENT_NONE(),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, "<message from='u@a.test' to='x@b.test' id='m1'><body>hi</body></message>"),
	APP_EVENT("done m1 sent"),
	/* On the open route: written at once, reported from the poll round. */
	APP_RAW_TRACKED("<presence from='u@a.test/d' to='x@b.test' id='p1'/>", XS2S_OK),
	EXPECT(PA, "<presence from='u@a.test/d' to='x@b.test' id='p1'/>"),
	APP_EVENT("done p1 sent"),
	END(),
};
SC_TEST(app_done_sent, 0)

/* A tracked stanza that cannot be delivered: BOUNCED with the RFC 6120
 * 8.3.3 condition and why, and no error stanza in the inbox. */
static const struct sc_step app_done_bounced[] = {
	APP_RAW_TRACKED("<message from='u@a.test' to='x@nowhere.test' id='m2'><body>hi</body></message>", XS2S_OK),
	APP_EVENT("done m2 bounced remote-server-not-found no address for nowhere.test: ETIMEDOUT"),
	INBOX_EMPTY(),
	/* The peer refuses us (dialback invalid): the same, with that reason. */
	APP_RAW_TRACKED("<message from='u@a.test' to='x@b.test' id='m3'><body>hi</body></message>", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='invalid'/>"),
	APP_EVENT("done m3 bounced remote-server-not-found b.test refused our dialback key for a.test (XEP-0220 2.4, "
		  "type=invalid)"),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(app_done_bounced, 0)

/* iq requests: only the addressee's answer with the same id counts (RFC
 * 6120 8.2.3); results and errors reach the callback exactly once. */
static const struct sc_step app_iq[] = {
	INCLUDE(SC_IN_AUTH_B),
	APP_IQ("dev@a.test/x", "b.test", "get", "q1", PING, 5000, XS2S_OK),
	EXPECT(PA, "<iq type='get' from='dev@a.test/x' to='b.test' id='q1'>" PING "</iq>"),
	SEND(PI, "<iq type='result' from='x@b.test' to='dev@a.test/x' id='q1'/>"),
	APP_EVENT_NONE(),
	SEND(PI, "<iq type='result' from='b.test' to='dev@a.test/x' id='q1'/>"),
	APP_EVENT("iq q1 result"),
	SEND(PI, "<iq type='result' from='b.test' to='dev@a.test/x' id='q1'/>"),
	APP_EVENT_NONE(),
	EXPECT_NOTHING(PA),
	/* An error answer: its condition and text. */
	APP_IQ("dev@a.test/x", "x@b.test/r", "set", "q2", "<q xmlns='urn:example:cmd'/>", 5000, XS2S_OK),
	EXPECT(PA, "<iq type='set' from='dev@a.test/x' to='x@b.test/r' id='q2'><q xmlns='urn:example:cmd'/></iq>"),
	SEND(PI, "<iq type='error' from='x@b.test/r' to='dev@a.test/x' id='q2'><error type='cancel'>"
		 "<item-not-found xmlns='" NS_STANZA_ERR "'/><text xmlns='" NS_STANZA_ERR "'>no such thing</text>"
		 "</error></iq>"),
	APP_EVENT("iq q2 error item-not-found no such thing"),
	END(),
};
SC_TEST(app_iq, 0)

/* No answer: a timeout when its time has come, not a millisecond early. */
static const struct sc_step app_iq_timeout[] = {
	INCLUDE(SC_IN_AUTH_B),
	APP_IQ("dev@a.test", "b.test", "get", "q3", PING, 2000, XS2S_OK),
	EXPECT(PA, "<iq type='get' from='dev@a.test' to='b.test' id='q3'>" PING "</iq>"),
	ADVANCE(1999),
	APP_EVENT_NONE(),
	ADVANCE(1),
	APP_EVENT("iq q3 timeout"),
	/* A late answer is nobody's: dropped. */
	SEND(PI, "<iq type='result' from='b.test' to='dev@a.test' id='q3'/>"),
	APP_EVENT_NONE(),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(app_iq_timeout, 0)

/* A request that cannot go out: an error with the bounce's condition. */
static const struct sc_step app_iq_bounced[] = {
	APP_IQ("dev@a.test", "nowhere.test", "get", "q4", PING, 5000, XS2S_OK),
	APP_EVENT("iq q4 error remote-server-not-found no address for nowhere.test: ETIMEDOUT"),
	APP_IQ("dev@a.test", "b.test", "result", "q5", NULL, 5000, XS2S_EINVAL),
	END(),
};
SC_TEST(app_iq_bounced, 0)

/* Handlers: the first match that claims gets it; a handler that only looks
 * lets it go on (here to service-unavailable, RFC 6120 8.4); the rest goes
 * to the inbox; disco#info lists the registered namespaces. */
static const struct sc_step app_handlers[] = {
	INCLUDE(SC_IN_AUTH_B),
	HANDLER("bot@a.test", "message", NULL, 1),
	HANDLER(NULL, "iq", "urn:example:cmd", 0),
	SEND(PI, "<message from='x@b.test/r' to='bot@a.test/any' type='chat'><body>status</body></message>"),
	APP_EVENT("handled message x@b.test/r -> bot@a.test/any status"),
	SEND(PI, "<message from='x@b.test/r' to='u@a.test'><body>not for the bot</body></message>"),
	INBOX("x@b.test/r", "u@a.test", "normal", "", "not for the bot"),
	SEND(PI, "<iq type='set' from='x@b.test/r' to='dev@a.test' id='c1'><c xmlns='urn:example:cmd'/></iq>"),
	APP_EVENT("handled iq x@b.test/r -> dev@a.test {urn:example:cmd}c"),
	EXPECT(PA, "<iq type='error' from='dev@a.test' to='x@b.test/r' id='c1'>" DB_ERROR("service-unavailable", "cancel")
		   "</iq>"),
	SEND(PI, DISCO_GET),
	EXPECT(PA, "<iq type='result' from='a.test' to='b.test' id='d1'><query xmlns='http://jabber.org/protocol/disco#info'>"
		   "<identity category='server' type='im' name='xs2s'/><feature var='http://jabber.org/protocol/disco#info'/>"
		   "<feature var='urn:xmpp:ping'/><feature var='jabber:iq:version'/><feature var='urn:example:cmd'/>"
		   "</query></iq>"),
	END(),
};
SC_TEST(app_handlers, 0)

/* Local JIDs: through the local queue, from the next poll round; a tracked
 * one is SENT once a handler (or the inbox) has it. */
static const struct sc_step app_local[] = {
	HANDLER("bot@a.test", "message", NULL, 1),
	APP_RAW_TRACKED("<message from='u@a.test' to='bot@alias.test' id='l1'><body>not the bot</body></message>",
			XS2S_OK),
	APP_RAW_TRACKED("<message from='u@a.test' to='bot@a.test' id='l2'><body>help</body></message>", XS2S_OK),
	APP_EVENT("done l1 sent"),
	APP_EVENT("handled message u@a.test -> bot@a.test help"),
	APP_EVENT("done l2 sent"),
	INBOX("u@a.test", "bot@alias.test", "normal", "", "not the bot"),
	/* A local iq nobody serves: service-unavailable back to the local
	 * sender (here a handler of its iqs sees the error). */
	HANDLER("u@a.test", "iq", NULL, 1),
	APP_RAW("<iq type='get' from='u@a.test' to='dev@a.test' id='l3'><x xmlns='urn:example:none'/></iq>", XS2S_OK),
	APP_EVENT("handled iq dev@a.test -> u@a.test {jabber:server}error"),
	INBOX_EMPTY(),
	/* Refused at once: a spoofed sender, not well-formed. */
	APP_RAW("<message from='u@b.test' to='bot@a.test'/>", XS2S_EINVAL),
	APP_RAW("<message from='u@a.test' to='bot@a.test'><body>&nbsp;</body></message>", XS2S_EINVAL),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(app_local, 0)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_app_done_sent),
		cmocka_unit_test(test_app_done_bounced),
		cmocka_unit_test(test_app_iq),
		cmocka_unit_test(test_app_iq_timeout),
		cmocka_unit_test(test_app_iq_bounced),
		cmocka_unit_test(test_app_handlers),
		cmocka_unit_test(test_app_local),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
