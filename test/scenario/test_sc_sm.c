/* XEP-0198 stream management on s2s (route/sm.h) and retrying a failed
 * route before bouncing its queue (route.h).
 *
 * Scripted peers (every script whole, byte by byte and split): <enable/> and
 * <enabled/> in both roles, <r/> and <a h/> counting, an h above what was
 * sent (undefined-condition, XEP-0198 4), the application's completion on
 * the peer's ack and not on the write, unacknowledged stanzas resent on a
 * new link after a cut, retries (at once after a link that worked, then
 * with a doubling backoff) until the deadline bounces the queue with the
 * last failure's reason, and refusals that bounce at once.
 *
 * Two engines (a.test -> b.test, plaintext dialback with the verify
 * connection, stream management on both): the connection from a.test to
 * b.test is cut at every byte offset, in each direction, of a stream that
 * carries unacknowledged stanzas. Asserted for every offset: every stanza
 * reaches b.test at least once, none is lost or bounced (the retry finds a
 * working connection), a duplicate (handled by b.test but its ack lost in
 * the cut: XEP-0198 without resumption cannot tell) carries the same id and
 * body as the first copy, and each application completion fires once, SENT,
 * only for a stanza b.test really received. */
#define _GNU_SOURCE /* memmem */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fake_port.h"
#include "scenarios.h"
#include "xs2s.h"
#include "xs2s_app.h"
#include "xs2s_err.h"
#include "xs2s_log.h"
#include "engine/engine.h"

#define NS_SM "urn:xmpp:sm:3"
#define SM_ENABLE "<enable xmlns='" NS_SM "'/>"
#define SM_ENABLED "<enabled xmlns='" NS_SM "'/>"
#define SM_R "<r xmlns='" NS_SM "'/>"
#define SM_A(h) "<a xmlns='" NS_SM "' h='" h "'/>"
#define SM_H_TOO_HIGH(h, sent) "<stream:error><undefined-condition xmlns='" NS_STREAM_ERR "'/>" \
			       "<handled-count-too-high xmlns='" NS_SM "' h='" h "' send-count='" sent "'/>" \
			       "</stream:error></stream:stream>"
/* b.test's features with stream management offered (as Prosody's mod_smacks
 * does on s2s: <sm/> for urn:xmpp:sm:3). */
#define FEATURES_DB_SM "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>" \
		       "<sm xmlns='" NS_SM "'/></stream:features>"
#define MSG(id, body) "<message type='chat' from='u@a.test' to='x@b.test' id='" id "'><body>" body "</body></message>"

/* PA accepts our connection as b.test, offers stream management, and our
 * pair becomes valid by dialback (XEP-0220 2.1, 2.4). */
static const struct sc_step sm_out_open[] = {
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB_SM),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	END(),
};

#if CONFIG_XS2S_SM
/* Initiating role (XEP-0198 3, 4): <enable/> after authentication, before
 * the stanzas; <r/> after CONFIG_XS2S_SM_ACK_MS; each <a h/> frees what it
 * covers; status shows the link's state and what is unacknowledged. */
static const struct sc_step sm_out_enable[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	APP_RAW(MSG("m2", "two"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one") MSG("m2", "two")),
	JSON_HAS("\"sm\":\"requested\",\"unacked\":2"),
	SEND(PA, SM_ENABLED),
	JSON_HAS("\"sm\":\"on\",\"unacked\":2"),
	STATUS_HAS("on              2"),
	JSON_HAS("\"unacked\":{\"used\":2,\"high\":2,"),
	EXPECT_NOTHING(PA),
	ADVANCE(CONFIG_XS2S_SM_ACK_MS),
	EXPECT(PA, SM_R),
	SEND(PA, SM_A("1")),
	JSON_HAS("\"sm\":\"on\",\"unacked\":1"),
	SEND(PA, SM_A("2")),
	JSON_HAS("\"sm\":\"on\",\"unacked\":0"),
	JSON_HAS("\"unacked\":{\"used\":0,\"high\":2,"),
	STATUS_HAS("sm_acked 2"),
	/* An <r/> from the peer on our outbound stream: h counts what we
	 * received on it (nothing). */
	SEND(PA, SM_R),
	EXPECT(PA, SM_A("0")),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(sm_out_enable, 0)

/* Liveness (XEP-0199, engine/live.c) on a stream with stream management:
 * the probe after SC_PING_IDLE_S without input is <r/>, not a ping stanza
 * (which would count in b.test's h without being in our list: its next
 * <a h/> would look too high); the <a/> keeps the link, and later acks
 * count exactly our stanzas. */
static const struct sc_step sm_out_liveness_probe[] = {
	INCLUDE(sm_out_enable),
	ADVANCE(SC_PING_IDLE_S * 1000 - 1),
	EXPECT_NOTHING(PA),
	ADVANCE(1),
	EXPECT(PA, SM_R),
	LOG_HAS("<r/> (XEP-0198) as the ping"),
	SEND(PA, SM_A("2")),
	JSON_HAS("\"pings_sent\":1,\"pings_answered\":1,\"dead_peers\":0"),
	APP_RAW(MSG("m3", "three"), XS2S_OK),
	EXPECT(PA, MSG("m3", "three")),
	ADVANCE(CONFIG_XS2S_SM_ACK_MS),
	EXPECT(PA, SM_R),
	SEND(PA, SM_A("3")),
	JSON_HAS("\"sm\":\"on\",\"unacked\":0"),
	STATUS_HAS("sm_acked 3"),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(sm_out_liveness_probe, SC_PING)

/* CONFIG_XS2S_SM_ACK_EVERY (5 here) stanzas since the last <r/> ask for an
 * ack at once (XEP-0198 5 leaves when to the sender). */
static const struct sc_step sm_out_ack_every[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one")),
	SEND(PA, SM_ENABLED),
	APP_RAW(MSG("m2", "two"), XS2S_OK),
	APP_RAW(MSG("m3", "three"), XS2S_OK),
	APP_RAW(MSG("m4", "four"), XS2S_OK),
	EXPECT(PA, MSG("m2", "two") MSG("m3", "three") MSG("m4", "four")),
	APP_RAW(MSG("m5", "five"), XS2S_OK),
	EXPECT(PA, MSG("m5", "five") SM_R),
	SEND(PA, SM_A("5")),
	JSON_HAS("\"sm\":\"on\",\"unacked\":0"),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(sm_out_ack_every, 0)

/* The application's completion fires on the peer's ack, not on the write
 * (XEP-0198 4: only the ack says the peer handled it). */
static const struct sc_step sm_done_on_ack[] = {
	APP_RAW(MSG("m0", "zero"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m0", "zero")),
	SEND(PA, SM_ENABLED),
	APP_RAW_TRACKED(MSG("m1", "one"), XS2S_OK),
	EXPECT(PA, MSG("m1", "one")),
	APP_EVENT_NONE(),
	ADVANCE(CONFIG_XS2S_SM_ACK_MS),
	EXPECT(PA, SM_R),
	APP_EVENT_NONE(),
	SEND(PA, SM_A("1")),
	APP_EVENT_NONE(),
	SEND(PA, SM_A("2")),
	APP_EVENT("done m1 sent"),
	END(),
};
SC_TEST(sm_done_on_ack, 0)

/* XEP-0198 6: an h that acknowledges more than was sent is a stream error,
 * undefined-condition with <handled-count-too-high/> (its h and our
 * send-count); what is unacknowledged is bounced (a misbehaving peer: no
 * retry). */
static const struct sc_step sm_h_too_high[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one")),
	SEND(PA, SM_ENABLED),
	SEND(PA, SM_A("2")),
	EXPECT(PA, SM_H_TOO_HIGH("2", "1")),
	LOG_HAS("handled-count-too-high: <a h='2'/> but 1 stanza(s) sent"),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "one"),
	CLOSE(PA),
	END(),
};
SC_TEST(sm_h_too_high, SC_RETRY)

/* h wraps at 2^32 (XEP-0198 4): an h below the last one by more than was
 * sent is "too high" too; an <a/> without h is invalid-xml. */
static const struct sc_step sm_h_missing[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one")),
	SEND(PA, SM_ENABLED),
	SEND(PA, "<a xmlns='" NS_SM "'/>"),
	EXPECT(PA, STREAM_ERROR("invalid-xml")),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "one"),
	CLOSE(PA),
	END(),
};
SC_TEST(sm_h_missing, SC_RETRY)

static const struct sc_step sm_h_wrapped[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one")),
	SEND(PA, SM_ENABLED),
	SEND(PA, SM_A("4294967295")),
	EXPECT(PA, SM_H_TOO_HIGH("4294967295", "1")),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "one"),
	CLOSE(PA),
	END(),
};
SC_TEST(sm_h_wrapped, SC_RETRY)

/* The peer refuses: <failed/>; what went out meanwhile counts as written,
 * as without stream management, and the completion fires. */
static const struct sc_step sm_out_failed[] = {
	APP_RAW_TRACKED(MSG("m1", "one"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one")),
	APP_EVENT_NONE(),
	SEND(PA, "<failed xmlns='" NS_SM "'><unexpected-request xmlns='" NS_STANZA_ERR "'/></failed>"),
	APP_EVENT("done m1 sent"),
	JSON_HAS("\"sm\":\"off\",\"unacked\":0"),
	APP_RAW(MSG("m2", "two"), XS2S_OK),
	EXPECT(PA, MSG("m2", "two")),
	ADVANCE(CONFIG_XS2S_SM_ACK_MS),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(sm_out_failed, 0)

/* A peer that does not offer <sm/>: no <enable/>, completion on write. */
static const struct sc_step sm_out_not_offered[] = {
	APP_RAW_TRACKED(MSG("m1", "one"), XS2S_OK),
	INCLUDE(SC_OUT_OPEN_B),
	EXPECT(PA, MSG("m1", "one")),
	APP_EVENT("done m1 sent"),
	JSON_HAS("\"sm\":\"off\",\"unacked\":0"),
	ADVANCE(CONFIG_XS2S_SM_ACK_MS),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(sm_out_not_offered, 0)

/* Receiving role (XEP-0198 3, 4): <sm/> offered; <enable/> before
 * authentication fails; after it: <enabled/> without resumption (a resume
 * request is ignored, 5); each stanza handled counts; <r/> -> <a h/>;
 * a second <enable/> fails. */
static const struct sc_step sm_in_enable[] = {
	CONNECT(PI),
	SEND(PI, HDR("b.test", "a.test")),
	EXPECT(PI, HDR_ID("a.test", "b.test", "${in_id}") FEATURES_IN),
	SEND(PI, SM_ENABLE),
	EXPECT(PI, "<failed xmlns='" NS_SM "'><unexpected-request xmlns='" NS_STANZA_ERR "'/></failed>"),
	SEND(PI, "<db:result from='b.test' to='a.test'>" PEERKEY "</db:result>"),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"
		   "<db:verify from='a.test' to='b.test' id='${in_id}'>" PEERKEY "</db:verify>"),
	SEND(PA, "<db:verify from='b.test' to='a.test' id='${in_id}' type='valid'/>"),
	EXPECT(PI, "<db:result from='a.test' to='b.test' type='valid'/>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='valid'/>"),
	SEND(PI, "<enable xmlns='" NS_SM "' resume='true'/>"),
	EXPECT(PI, SM_ENABLED),
	JSON_HAS("\"direction\":\"in\""),
	SEND(PI, "<message from='x@b.test' to='u@a.test' type='chat'><body>hi</body></message>"
		 "<message from='x@b.test' to='u@a.test' type='chat'><body>again</body></message>"),
	INBOX("x@b.test", "u@a.test", "chat", "", "hi"),
	INBOX("x@b.test", "u@a.test", "chat", "", "again"),
	SEND(PI, SM_R),
	EXPECT(PI, SM_A("2")),
	SEND(PI, "<message from='x@b.test' to='u@a.test' type='chat'><body>three</body></message>" SM_R),
	INBOX("x@b.test", "u@a.test", "chat", "", "three"),
	EXPECT(PI, SM_A("3")),
	SEND(PI, SM_ENABLE),
	EXPECT(PI, "<failed xmlns='" NS_SM "'><unexpected-request xmlns='" NS_STANZA_ERR "'/></failed>"),
	STATUS_HAS("sm_enabled 1"),
	EXPECT_NOTHING(PI),
	EXPECT_NOTHING(PA),
	END(),
};
SC_TEST(sm_in_enable, 0)

/* A cut with unacknowledged stanzas: they go back to the front of their
 * route's queue, in order, before what was queued meanwhile, and are sent
 * again on a new link (at once: the link had worked), ids unchanged. */
static const struct sc_step sm_resend_after_cut[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	APP_RAW(MSG("m2", "two"), XS2S_OK),
	APP_RAW(MSG("m3", "three"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one") MSG("m2", "two") MSG("m3", "three")),
	SEND(PA, SM_ENABLED SM_A("1")),
	JSON_HAS("\"unacked\":2"),
	ABORT(PA),
	APP_RAW(MSG("m4", "four"), XS2S_OK),
	LOG_HAS("2 unacknowledged stanza(s) of a.test -> b.test back to their queue"),
	ACCEPT(PA2, "b.test"),
	EXPECT(PA2, HDR("a.test", "b.test")),
	SEND(PA2, HDR_ID("b.test", "a.test", "out-2") FEATURES_DB_SM),
	DBKEY("kb2", "b.test", "a.test", "out-2"),
	EXPECT(PA2, "<db:result from='a.test' to='b.test'>${kb2}</db:result>"),
	SEND(PA2, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PA2, SM_ENABLE MSG("m2", "two") MSG("m3", "three") MSG("m4", "four")),
	SEND(PA2, SM_ENABLED SM_A("3")),
	JSON_HAS("\"sm\":\"on\",\"unacked\":0"),
	STATUS_HAS("retries 1"),
	STATUS_HAS("sm_resent 2"),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(sm_resend_after_cut, SC_RETRY)

/* Stopping with unacknowledged stanzas: <r/> first, the stream closes once
 * the ack came (nothing bounced that the peer handled) ... */
static const struct sc_step sm_stop_waits_for_ack[] = {
	APP_RAW_TRACKED(MSG("m1", "one"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one")),
	SEND(PA, SM_ENABLED),
	STOP(),
	EXPECT(PA, SM_R),
	APP_EVENT_NONE(),
	SEND(PA, SM_A("1")),
	APP_EVENT("done m1 sent"),
	EXPECT(PA, STREAM_CLOSE),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(sm_stop_waits_for_ack, 0)

/* ... or after XS2S_SM_STOP_WAIT_MS without one: then it is bounced. */
static const struct sc_step sm_stop_no_ack[] = {
	APP_RAW_TRACKED(MSG("m1", "one"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one")),
	SEND(PA, SM_ENABLED),
	STOP(),
	EXPECT(PA, SM_R),
	ADVANCE(1999),
	EXPECT_NOTHING(PA),
	APP_EVENT_NONE(),
	ADVANCE(1),
	EXPECT(PA, STREAM_CLOSE),
	APP_EVENT("done m1 bounced remote-server-not-found "),
	END(),
};
SC_TEST(sm_stop_no_ack, 0)

/* A peer that accepts, authenticates and drops each link: the first cut is
 * retried at once, the second (its link only just opened) after the
 * backoff, so that such a peer does not get a tight reconnect loop. */
static const struct sc_step sm_cut_twice_backoff[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one")),
	SEND(PA, SM_ENABLED),
	ABORT(PA),
	ACCEPT(PA2, "b.test"),
	EXPECT(PA2, HDR("a.test", "b.test")),
	SEND(PA2, HDR_ID("b.test", "a.test", "out-2") FEATURES_DB_SM),
	DBKEY("kb2", "b.test", "a.test", "out-2"),
	EXPECT(PA2, "<db:result from='a.test' to='b.test'>${kb2}</db:result>"),
	SEND(PA2, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PA2, SM_ENABLE MSG("m1", "one")),
	ABORT(PA2),
	JSON_HAS("\"next_ms\":1000,\"attempt\":2"),
	NO_CONNECT("b.test"),
	ADVANCE(CONFIG_XS2S_RETRY_BACKOFF_MS),
	ACCEPT(PX, "b.test"),
	EXPECT(PX, HDR("a.test", "b.test")),
	SEND(PX, HDR_ID("b.test", "a.test", "out-3") FEATURES_DB_SM),
	DBKEY("kb3", "b.test", "a.test", "out-3"),
	EXPECT(PX, "<db:result from='a.test' to='b.test'>${kb3}</db:result>"),
	SEND(PX, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PX, SM_ENABLE MSG("m1", "one")),
	SEND(PX, SM_ENABLED SM_A("1")),
	JSON_HAS("\"sm\":\"on\",\"unacked\":0"),
	STATUS_HAS("retries 2"),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(sm_cut_twice_backoff, SC_RETRY)

/* Without retry (deadline 0) a cut bounces what was not acknowledged. */
static const struct sc_step sm_cut_no_retry[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	APP_RAW(MSG("m2", "two"), XS2S_OK),
	INCLUDE(sm_out_open),
	EXPECT(PA, SM_ENABLE MSG("m1", "one") MSG("m2", "two")),
	SEND(PA, SM_ENABLED SM_A("1")),
	ABORT(PA),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "two"),
	NO_CONNECT("b.test"),
	END(),
};
SC_TEST(sm_cut_no_retry, 0)
#endif /* CONFIG_XS2S_SM */

/* ---- retry before bouncing ---- */

/* Connection lost before authentication: the route waits (status "retry"
 * with the next attempt) and tries a new link after
 * CONFIG_XS2S_RETRY_BACKOFF_MS; the stanza is delivered, not bounced. */
static const struct sc_step retry_lost_before_auth[] = {
	APP_RAW(MSG("m1", "one"), XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	ABORT(PA),
	STATUS_HAS("retrying:\n  a.test -> b.test: retry, next attempt in 1000 ms (attempt 2), 1 queued"),
	JSON_HAS("\"retrying\":[{\"local\":\"a.test\",\"remote\":\"b.test\",\"state\":\"retry\",\"next_ms\":1000"),
	NO_CONNECT("b.test"),
	ADVANCE(CONFIG_XS2S_RETRY_BACKOFF_MS - 1),
	NO_CONNECT("b.test"),
	ADVANCE(1),
	ACCEPT(PA2, "b.test"),
	EXPECT(PA2, HDR("a.test", "b.test")),
	SEND(PA2, HDR_ID("b.test", "a.test", "out-2") FEATURES_DB),
	DBKEY("kb2", "b.test", "a.test", "out-2"),
	EXPECT(PA2, "<db:result from='a.test' to='b.test'>${kb2}</db:result>"),
	SEND(PA2, "<db:result from='b.test' to='a.test' type='valid'/>"),
	EXPECT(PA2, MSG("m1", "one")),
	INBOX_EMPTY(),
	STATUS_HAS("retries 1"),
	END(),
};
SC_TEST(retry_lost_before_auth, SC_RETRY)

/* Two SRV candidates (the first refuses): each new link tries the next
 * candidate after a refusal (link.c), and a link lost before
 * authentication is retried with a new link after the backoff (1 s, then
 * 2 s), which again goes through the candidates; the third attempt
 * delivers. */
static const struct sc_step retry_next_candidate_then_backoff[] = {
	APP_SEND("u@a.test", "x@two.test", "one", XS2S_OK),
	ACCEPT(PA, "b.test"),
	LOG_HAS("connect to 192.0.2.9:5269 failed"),
	EXPECT(PA, HDR("a.test", "two.test")),
	ABORT(PA),
	JSON_HAS("\"retrying\":[{\"local\":\"a.test\",\"remote\":\"two.test\",\"state\":\"retry\",\"next_ms\":1000,"
		 "\"attempt\":2"),
	ADVANCE(1000),
	ACCEPT(PA2, "b.test"),
	EXPECT(PA2, HDR("a.test", "two.test")),
	ABORT(PA2),
	JSON_HAS("\"next_ms\":2000,\"attempt\":3"),
	ADVANCE(1999),
	NO_CONNECT("b.test"),
	ADVANCE(1),
	ACCEPT(PX, "b.test"),
	EXPECT(PX, HDR("a.test", "two.test")),
	SEND(PX, HDR_ID("two.test", "a.test", "out-3") FEATURES_DB),
	DBKEY("k3", "two.test", "a.test", "out-3"),
	EXPECT(PX, "<db:result from='a.test' to='two.test'>${k3}</db:result>"),
	SEND(PX, "<db:result from='two.test' to='a.test' type='valid'/>"),
	EXPECT(PX, APP_MSG("u@a.test", "x@two.test", "i1", "one")),
	STATUS_HAS("retries 2"),
	INBOX_EMPTY(),
	END(),
};
SC_TEST(retry_next_candidate_then_backoff, SC_RETRY | SC_DNS)

/* Connection refused every time: attempts after 1, 2, 4, 8, 16, 16 ... s
 * (doubling, capped at CONFIG_XS2S_RETRY_BACKOFF_MAX_MS) while the oldest
 * stanza is younger than the deadline; then the queue is bounced in order
 * with the last failure's reason. */
static const struct sc_step retry_until_deadline[] = {
	APP_RAW_TRACKED("<message from='u@a.test' to='x@refused.test' id='r1'><body>one</body></message>", XS2S_OK),
	APP_SEND("u@a.test", "x@refused.test", "two", XS2S_OK),
	JSON_HAS("\"next_ms\":1000,\"attempt\":2,\"queued\":2"),
	ADVANCE(1000),
	JSON_HAS("\"next_ms\":2000,\"attempt\":3,\"queued\":2"),
	ADVANCE(2000),
	JSON_HAS("\"next_ms\":4000,\"attempt\":4"),
	ADVANCE(4000),
	JSON_HAS("\"next_ms\":8000,\"attempt\":5"),
	ADVANCE(8000),
	JSON_HAS("\"next_ms\":16000,\"attempt\":6"),
	ADVANCE(16000),
	JSON_HAS("\"next_ms\":16000,\"attempt\":7"),
	APP_EVENT_NONE(),
	INBOX_EMPTY(),
	ADVANCE(16000), /* 47 s: the next attempt (63 s) would be past the 60 s deadline */
	APP_EVENT("done r1 bounced remote-server-not-found connect to 192.0.2.9:5269 failed"),
	INBOX("x@refused.test", "u@a.test", "error", "remote-server-not-found", "two"),
	JSON_HAS("\"retrying\":[]"),
	STATUS_HAS("retry_expired 1"),
	END(),
};
SC_TEST(retry_until_deadline, SC_RETRY)

/* Refusals that retrying cannot change bounce at once: dialback invalid
 * (XEP-0220 2.4), a peer's not-authorized / host-unknown / policy stream
 * error (RFC 6120 4.9.3). */
static const struct sc_step retry_not_on_refusal[] = {
	APP_SEND("u@a.test", "x@b.test", "one", XS2S_OK),
	ACCEPT(PA, "b.test"),
	EXPECT(PA, HDR("a.test", "b.test")),
	SEND(PA, HDR_ID("b.test", "a.test", "out-1") FEATURES_DB),
	DBKEY("kb", "b.test", "a.test", "out-1"),
	EXPECT(PA, "<db:result from='a.test' to='b.test'>${kb}</db:result>"),
	SEND(PA, "<db:result from='b.test' to='a.test' type='invalid'/>"),
	INBOX("x@b.test", "u@a.test", "error", "remote-server-not-found", "one"),
	JSON_HAS("\"retrying\":[]"),
	APP_SEND("u@a.test", "x@c.test", "two", XS2S_OK),
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR("a.test", "c.test")),
	SEND(PC, HDR_ID("c.test", "a.test", "out-2") STREAM_ERROR("host-unknown")),
	EXPECT(PC, STREAM_CLOSE),
	INBOX("x@c.test", "u@a.test", "error", "remote-server-not-found", "two"),
	JSON_HAS("\"retrying\":[]"),
	STATUS_HAS("retries 0"),
	CLOSE(PC),
	END(),
};
SC_TEST(retry_not_on_refusal, SC_RETRY)

/* A transient stream error from the peer (system-shutdown, RFC 6120
 * 4.9.3.19) is retried. */
static const struct sc_step retry_system_shutdown[] = {
	APP_SEND("u@a.test", "x@c.test", "two", XS2S_OK),
	ACCEPT(PC, "c.test"),
	EXPECT(PC, HDR("a.test", "c.test")),
	SEND(PC, HDR_ID("c.test", "a.test", "out-1") STREAM_ERROR("system-shutdown")),
	EXPECT(PC, STREAM_CLOSE),
	CLOSE(PC),
	JSON_HAS("\"retrying\":[{\"local\":\"a.test\",\"remote\":\"c.test\",\"state\":\"retry\""),
	INBOX_EMPTY(),
	STOP(),
	INBOX("x@c.test", "u@a.test", "error", "remote-server-not-found", "two"),
	END(),
};
SC_TEST(retry_system_shutdown, SC_RETRY)

#if CONFIG_XS2S_SM
/* ---- two engines, a cut at every byte offset ---- */

#define ADDR_A "192.0.2.1"
#define ADDR_B "192.0.2.2"
#define CUT_MSGS 6
#define CUT_ROUNDS_MAX 100000
#define CUT_RUN_S 90            /* past the 60 s deadline and an idle close */

static struct xs2s_engine ea, eb;

struct cut_run {
	unsigned got[CUT_MSGS];       /* copies b.test's handler received */
	unsigned sent[CUT_MSGS];      /* completions SENT at a.test */
	unsigned bounced[CUT_MSGS];   /* completions BOUNCED at a.test */
	unsigned bad;                 /* copies with an unknown id or a body that does not match it */
	unsigned got_before_sent;     /* a SENT completion for a stanza b.test had not received */
};
static struct cut_run cr;

static int cut_index(const char *id)
{
	if (strlen(id) != 2 || id[0] != 'm' || id[1] < '0' || id[1] >= '0' + CUT_MSGS)
		return -1;
	return id[1] - '0';
}

static bool cut_on_msg(struct xs2s_engine *e, void *arg, const struct xs2s_stanza_in *st)
{
	char want[48];
	int i = cut_index(st->id);

	(void)e, (void)arg;
	if (i < 0) {
		cr.bad++;
		return true;
	}
	snprintf(want, sizeof want, "<body>body of m%d</body>", i);
	if (!memmem(st->xml, st->len, want, strlen(want)))
		cr.bad++;
	cr.got[i]++;
	return true;
}

static void cut_on_done(struct xs2s_engine *e, void *arg, const struct xs2s_done *d)
{
	int i = cut_index(d->id);

	(void)e, (void)arg;
	if (i < 0) {
		cr.bad++;
		return;
	}
	if (d->outcome == XS2S_SENT) {
		cr.sent[i]++;
		if (!cr.got[i])
			cr.got_before_sent++;
	} else {
		cr.bounced[i]++;
	}
}

static void cut_start(struct xs2s_engine *e, const char *domain, const char *addr, const char *map)
{
	struct xs2s_config cfg;

	xs2s_config_defaults(&cfg);
	cfg.domains[0] = domain;
	cfg.domains[1] = NULL;
	cfg.listen_addr = addr;
	cfg.listen_port = 5269;
	cfg.dialback_secret = NULL;
	cfg.tls_policy = XS2S_TLS_POLICY_OPTIONAL_INSECURE; /* no certificates: plaintext dialback with db:verify */
	cfg.auth_sasl_external = false;
	cfg.auth_dialback = true;
	cfg.secure_auth = false;
	cfg.secure_auth_exceptions = "";
	cfg.host_map = map;
	cfg.dns_server = NULL;
	cfg.components = NULL;
	cfg.route_deadline_s = 60;
	assert_int_equal(xs2s_engine_start(e, &cfg), XS2S_OK);
}

static void cut_settle(void)
{
	unsigned long last = fake_activity();
	unsigned quiet = 0, rounds;

	for (rounds = 0; rounds < CUT_ROUNDS_MAX; rounds++) {
		uint32_t ta, tb;

		xs2s_engine_poll(&ea, 1000);
		ta = fake_poll_timeout();
		xs2s_engine_poll(&eb, 1000);
		tb = fake_poll_timeout();
		if (fake_activity() != last || !ta || !tb) {
			last = fake_activity();
			quiet = 0;
		} else if (++quiet >= 3) {
			return;
		}
	}
	fail_msg("the engines never went quiet");
}

/* Run the clock for `ms` from deadline to deadline. */
static void cut_run_clock(uint32_t ms)
{
	uint32_t end = fake_now() + ms;

	while (!XS2S_TIME_REACHED(fake_now(), end)) {
		uint32_t ta, tb, step;

		xs2s_engine_poll(&ea, 1000000);
		ta = fake_poll_timeout();
		xs2s_engine_poll(&eb, 1000000);
		tb = fake_poll_timeout();
		step = (ta < tb ? ta : tb) + 1;
		if (step > end - fake_now())
			step = end - fake_now();
		fake_advance(step ? step : 1);
		cut_settle();
	}
}

static void cut_empty(struct xs2s_engine *e)
{
	const struct xs2s_core *c = xs2s_core_of(e);

	assert_int_equal(c->links_used, 0);
	assert_int_equal(c->routes.used, 0);
	assert_int_equal(c->routes.queued, 0);
	assert_int_equal(c->routes.unacked, 0);
	assert_int_equal(c->routes.pool.used, 0);
	assert_int_equal(c->evq.n, 0);
	assert_int_equal(c->evq.lost, 0);
	assert_int_equal(c->xml.arena.used, 0);
}

/* One run: the first connection a.test makes to b.test is cut after `off`
 * bytes in direction from_b. The number of cuts that happened (0: the
 * stream was shorter than off) and the duplicates into *dups. */
static unsigned cut_one(bool from_b, size_t off, unsigned *dups)
{
	static const struct xs2s_match m = { "bob@b.test", XS2S_MESSAGE, NULL, NULL, NULL };
	struct xs2s_inbox_msg im;
	unsigned i, cuts;
	const char *first;

	memset(&cr, 0, sizeof cr);
	fake_reset(7, FAKE_WHOLE, 11);
	cut_start(&ea, "a.test", ADDR_A, "b.test=" ADDR_B ":5269");
	cut_start(&eb, "b.test", ADDR_B, "a.test=" ADDR_A ":5269");
	assert_true(xs2s_handler_add(&eb, &m, cut_on_msg, NULL) > 0);
	fake_tcp_cut(ADDR_B ":5269", from_b, off);
	cuts = fake_tcp_cuts();
	for (i = 0; i < CUT_MSGS; i++) {
		char id[4], body[32];
		struct xs2s_stanza st = { XS2S_MESSAGE, "alice@a.test", "bob@b.test", "chat", id, body, NULL };

		snprintf(id, sizeof id, "m%u", i);
		snprintf(body, sizeof body, "body of m%u", i);
		assert_int_equal(xs2s_send(&ea, &st, cut_on_done, NULL, NULL), XS2S_OK);
		if (i == CUT_MSGS / 2)
			cut_settle(); /* the second half goes out on the open stream */
	}
	cut_settle();
	cut_run_clock(CUT_RUN_S * 1000u);
	cuts = fake_tcp_cuts() - cuts;
	*dups = 0;
	for (i = 0; i < CUT_MSGS; i++) {
		if (!cr.got[i] || cr.sent[i] != 1 || cr.bounced[i])
			fail_msg("cut after %zu bytes from %s: m%u received %u time(s), completion sent %u, bounced %u", off,
				 from_b ? "b.test" : "a.test", i, cr.got[i], cr.sent[i], cr.bounced[i]);
		*dups += cr.got[i] - 1;
	}
	if (cr.bad || cr.got_before_sent)
		fail_msg("cut after %zu bytes: %u copies with a wrong id or body, %u completions before delivery", off,
			 cr.bad, cr.got_before_sent);
	assert_int_equal(xs2s_inbox_peek(&ea, &im), XS2S_ENOTFOUND); /* nothing bounced back */
	xs2s_engine_stop(&ea);
	xs2s_engine_stop(&eb);
	cut_settle();
	cut_run_clock(60000);
	assert_true(xs2s_engine_idle(&ea));
	assert_true(xs2s_engine_idle(&eb));
	xs2s_engine_fini(&ea);
	xs2s_engine_fini(&eb);
	cut_empty(&ea);
	cut_empty(&eb);
	assert_int_equal(fake_open_engine(), 0);
	if (fake_violations(&first))
		fail_msg("port contract: %s", first);
	return cuts;
}

static void cut_every_offset(bool from_b)
{
	unsigned dups_total = 0, runs = 0, dup_runs = 0;
	int level = xs2s_log_level;
	size_t off;

	if (!getenv("XS2S_FAKE_LOG"))
		xs2s_log_level = XS2S_LOG_ERROR; /* thousands of runs */
	for (off = 0;; off++) {
		unsigned dups;

		if (!cut_one(from_b, off, &dups))
			break; /* the stream is shorter than off: every offset was cut */
		runs++;
		dups_total += dups;
		dup_runs += dups != 0;
	}
	xs2s_log_level = level;
	assert_true(runs > 500); /* the stream really carried the stanzas */
	fprintf(stderr, "cut from %s at each of %u offsets: every stanza delivered, none lost or bounced; "
				"%u duplicate(s) with the same id in %u run(s)\n",
			from_b ? "b.test (acks)" : "a.test (stanzas)", runs, dups_total, dup_runs);
}

static void test_sm_cut_every_offset_out(void **state)
{
	(void)state;
	cut_every_offset(false);
}

static void test_sm_cut_every_offset_back(void **state)
{
	(void)state;
	cut_every_offset(true);
}
#endif /* CONFIG_XS2S_SM */

int main(void)
{
	const struct CMUnitTest tests[] = {
#if CONFIG_XS2S_SM
		cmocka_unit_test(test_sm_out_enable),
		cmocka_unit_test(test_sm_out_liveness_probe),
		cmocka_unit_test(test_sm_out_ack_every),
		cmocka_unit_test(test_sm_done_on_ack),
		cmocka_unit_test(test_sm_h_too_high),
		cmocka_unit_test(test_sm_h_missing),
		cmocka_unit_test(test_sm_h_wrapped),
		cmocka_unit_test(test_sm_out_failed),
		cmocka_unit_test(test_sm_out_not_offered),
		cmocka_unit_test(test_sm_in_enable),
		cmocka_unit_test(test_sm_resend_after_cut),
		cmocka_unit_test(test_sm_cut_no_retry),
		cmocka_unit_test(test_sm_cut_twice_backoff),
		cmocka_unit_test(test_sm_stop_waits_for_ack),
		cmocka_unit_test(test_sm_stop_no_ack),
#endif
		cmocka_unit_test(test_retry_lost_before_auth),
		cmocka_unit_test(test_retry_next_candidate_then_backoff),
		cmocka_unit_test(test_retry_until_deadline),
		cmocka_unit_test(test_retry_not_on_refusal),
		cmocka_unit_test(test_retry_system_shutdown),
#if CONFIG_XS2S_SM
		cmocka_unit_test(test_sm_cut_every_offset_out),
		cmocka_unit_test(test_sm_cut_every_offset_back),
#endif
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
