/* Fuzz harness for the whole engine over the fake port.
 *
 * Input: byte 0 chooses the target and the delivery, the rest are raw bytes
 * from a remote server.
 *   bits 0-1  target: 0 = an inbound stream from b.test, already
 *             authenticated by dialback (the harness plays the preamble and
 *             answers the verify connection), so the bytes reach the stanza
 *             path; 1 = an inbound stream from its first byte; 2 = the answer
 *             of b.test's server to our outbound stream (after our header);
 *             3 = like 0, then the same bytes again on the outbound stream.
 *   bits 2-3  delivery: whole, byte by byte, split (3 = whole)
 *   bits 4-7  split seed
 * Every connection the engine opens to b.test or c.test is accepted by an
 * automatic remote server that answers headers with features, and db:result
 * and db:verify with type='valid'; whatever else it gets is read and
 * dropped. The engine has a device account and two components where the
 * build has them (fz_sc). With CONFIG_XS2S_BIDI every input runs twice: as
 * above, then with XEP-0288 on (fz_sc_bidi): the automatic servers offer
 * <bidi/> (so the engine asks for it and accepts their stanzas on its own
 * streams), the inbound preamble asks for it, so the stanzas of the fuzz
 * bytes are answered on their own stream. Each run: a fresh engine, run until quiet, the clock moved
 * through every deadline, stop, and the leak gate (every pool and arena
 * empty, every fake socket closed, no port contract violation). Checked on
 * every byte the engine sends: well-formed top-level framing, a header
 * before anything else, nothing after </stream:stream>.
 *
 * Build with libFuzzer: see test/fuzz/README.md. Linked with replay.c
 * instead, it replays the files named on the command line.
 */
#define _GNU_SOURCE /* memmem */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "fuzz_attr.h"
#include "runner.h"
#include "xs2s_app.h"
#include "xs2s_err.h"

#define FZ_MAX_INPUT 24576  /* bytes fed per input (the peer's outbox holds 32 KiB) */
#define FZ_ROUNDS 64        /* settle/answer rounds before the clock moves */
#define FZ_JUMPS 48         /* deadline jumps at the end */
#define FZ_PI 0             /* the inbound peer */
#define FZ_FIRST_AUTO 1     /* peers 1.. are automatic remote servers */

/* A failed check prints the run's report (transcripts, engine log) first. */
#define FZ_CHECK(cond)                                                                   \
	do {                                                                             \
		if (!(cond)) {                                                           \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			sc_report(stderr);                                               \
			abort();                                                         \
		}                                                                        \
	} while (0)

#define NS_ATTRS "xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' xmlns:db='jabber:server:dialback'"
#define FEATURES "<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback></stream:features>"
/* XEP-0288 2.1: the same, offering bidi (runs with fz_bidi). */
#define FEATURES_BIDI                                                                                                  \
	"<stream:features><dialback xmlns='urn:xmpp:features:dialback'><errors/></dialback>"                          \
	"<bidi xmlns='urn:xmpp:features:bidi'/></stream:features>"

enum fz_target { FZ_IN_AUTH = 0, FZ_IN_RAW, FZ_OUT_RAW, FZ_BOTH };

/* Framing state of what the engine sent to one peer. */
struct fz_watch {
	size_t seen;       /* bytes of the transcript checked so far */
	bool header;       /* the engine's header was seen */
	bool closed;       /* </stream:stream> was seen */
	unsigned depth;    /* element depth inside the stream */
	bool answered;     /* automatic server: it sent its header */
	unsigned n;        /* automatic server: stream id counter */
};

static struct fz_watch fz_w[SC_PEERS];
static char fz_el[FZ_MAX_INPUT + 4096];

/* Where the build has them, a device account (RFC 6121 subscriptions from
 * b.test accepted, a store) and two XEP-0114 components (not connected):
 * stanzas to sensor@a.test and comp.a.test reach account.c and the
 * component router. */
#if CONFIG_XS2S_ACCOUNTS_PRESENCE
static const struct sc_accounts fz_accounts = { "sensor@a.test", XS2S_SUB_ALLOW_LIST, "b.test", false, true, NULL };
#define FZ_ACCOUNTS (&fz_accounts)
#else
#define FZ_ACCOUNTS NULL
#endif
#if CONFIG_XS2S_COMPONENTS
#define FZ_FLAGS SC_COMPONENTS
#else
#define FZ_FLAGS 0
#endif
static const struct sc_scenario fz_sc = { "fuzz_engine", NULL, FZ_FLAGS, NULL, FZ_ACCOUNTS };
#if CONFIG_XS2S_BIDI
static const struct sc_scenario fz_sc_bidi = { "fuzz_engine_bidi", NULL, FZ_FLAGS | SC_BIDI, NULL, FZ_ACCOUNTS };
#endif
static bool fz_bidi; /* this run has XEP-0288 on */

/* The application's side is in play too: a handler that reads every
 * stanza through the views without claiming it, one that claims the bot's
 * messages, and an iq request waiting for b.test's answer. */
static const struct sc_step fz_app[] = {
	HANDLER(NULL, NULL, NULL, 0),
	HANDLER("bot@a.test", "message", NULL, 1),
	APP_IQ("dev@a.test", "b.test", "get", "fz1", "<ping xmlns='urn:xmpp:ping'/>", 60000, XS2S_OK),
	END(),
};

static const struct sc_step fz_in_preamble[] = {
	INCLUDE(fz_app),
	CONNECT(FZ_PI),
	SEND(FZ_PI, "<?xml version='1.0'?><stream:stream " NS_ATTRS " from='b.test' to='a.test' version='1.0'>"
		    "<db:result from='b.test' to='a.test'>f00dfeed</db:result>"),
	END(),
};

/* The same, asking for bidi first (XEP-0288 2.2). */
static const struct sc_step fz_in_preamble_bidi[] = {
	INCLUDE(fz_app),
	CONNECT(FZ_PI),
	SEND(FZ_PI, "<?xml version='1.0'?><stream:stream " NS_ATTRS " from='b.test' to='a.test' version='1.0'>"
		    "<bidi xmlns='urn:xmpp:bidi'/><db:result from='b.test' to='a.test'>f00dfeed</db:result>"),
	END(),
};

static const struct sc_step fz_out_preamble[] = {
	INCLUDE(fz_app),
	APP_SEND("u@a.test", "x@b.test", "fuzz", XS2S_OK),
	ACCEPT(1, "b.test"),
	END(),
};

static void fz_send(int peer, const char *text)
{
	if (sc_peer_connected(peer) && !sc_peer_eof(peer))
		sc_peer_write(peer, text, strlen(text));
}

/* An automatic remote server's answer to one complete element. */
static void fz_answer(int peer, struct fz_watch *w, const char *el, size_t len)
{
	char from[FZ_ATTR], to[FZ_ATTR], id[FZ_ATTR], type[FZ_ATTR], *buf = fz_el;

	fz_attr(el, len, "from", from);
	fz_attr(el, len, "to", to);
	fz_attr(el, len, "id", id);
	fz_attr(el, len, "type", type);
	if (len > 15 && !memcmp(el, "<stream:stream ", 15)) {
		if (!w->answered) {
			w->answered = true;
			snprintf(buf, sizeof fz_el, "<?xml version='1.0'?><stream:stream " NS_ATTRS
				 " from='%s' to='%s' id='auto-%d-%u' version='1.0'>%s", to, from, peer, ++w->n,
				 fz_bidi ? FEATURES_BIDI : FEATURES);
			fz_send(peer, buf);
		}
	} else if (len > 11 && !memcmp(el, "<db:result ", 11) && !type[0]) {
		snprintf(buf, sizeof fz_el, "<db:result from='%s' to='%s' type='valid'/>", to, from);
		fz_send(peer, buf);
	} else if (len > 11 && !memcmp(el, "<db:verify ", 11) && !type[0]) {
		snprintf(buf, sizeof fz_el, "<db:verify from='%s' to='%s' id='%s' type='valid'/>", to, from, id);
		fz_send(peer, buf);
	} else if (len == 16 && !memcmp(el, "</stream:stream>", 16)) {
		fz_send(peer, "</stream:stream>");
	}
}

/* Check and consume what the engine sent to peer; answer when automatic. */
static void fz_watch_peer(int peer, bool automatic)
{
	struct fz_watch *w = &fz_w[peer];
	size_t len, i = 0, start = 0;
	const char *p = sc_peer_unread(peer, &len);

	while (i < len) {
		size_t j;

		if (p[i] != '<') {
			/* Text only inside elements, whitespace between them. */
			FZ_CHECK(!w->closed);
			FZ_CHECK(w->depth > 0 || p[i] == ' ' || p[i] == '\n' || p[i] == '\t' || p[i] == '\r');
			i++;
			continue;
		}
		j = i + 1;
		while (j < len && p[j] != '>')
			j++;
		if (j == len)
			break; /* a tag cut by the delivery: wait for the rest */
		FZ_CHECK(!w->closed); /* nothing after </stream:stream> */
		if (w->depth == 0)
			start = i;
		if (p[i + 1] == '?') {
			FZ_CHECK(!w->header); /* the XML declaration only first */
		} else if (p[i + 1] == '/') {
			if (w->depth == 0) {
				FZ_CHECK(j - i + 1 == 16 && !memcmp(p + i, "</stream:stream>", 16));
				FZ_CHECK(w->header);
				w->closed = true;
				if (automatic)
					fz_answer(peer, w, p + i, 16);
			} else if (--w->depth == 0 && automatic) {
				fz_answer(peer, w, p + start, j + 1 - start);
			}
		} else if (w->depth == 0 && j - i > 15 && !memcmp(p + i, "<stream:stream ", 15)) {
			FZ_CHECK(!w->header);
			w->header = true;
			if (automatic)
				fz_answer(peer, w, p + i, j + 1 - i);
		} else {
			FZ_CHECK(w->header); /* the header comes first */
			if (p[j - 1] != '/')
				w->depth++;
			else if (w->depth == 0 && automatic)
				fz_answer(peer, w, p + i, j + 1 - i);
		}
		i = j + 1;
	}
	/* An unfinished top-level element is scanned again from its start. */
	if (w->depth > 0) {
		i = start;
		w->depth = 0;
	}
	sc_peer_consume(peer, i);
}

/* One round: accept new connections, check and answer every peer. */
static bool fz_round(void)
{
	static const char *const domains[] = { "b.test", "c.test" };
	unsigned long before = fake_activity();
	int peer;
	unsigned d;

	for (d = 0; d < 2; d++)
		for (peer = FZ_FIRST_AUTO; peer < SC_PEERS; peer++)
			if (!sc_peer_connected(peer) && !sc_peer_eof(peer) && sc_accept(peer, domains[d]) != 1)
				break;
	for (peer = 0; peer < SC_PEERS; peer++)
		fz_watch_peer(peer, peer >= FZ_FIRST_AUTO);
	sc_settle();
	return fake_activity() != before;
}

static void fz_run(void)
{
	unsigned i;

	for (i = 0; i < FZ_ROUNDS && fz_round(); i++)
		;
}

static void fz_one(const uint8_t *data, size_t len, enum fz_target target, enum fake_delivery mode, uint64_t seed,
		   const struct sc_scenario *sc)
{
	unsigned i;

	memset(fz_w, 0, sizeof fz_w);
	FUZZ_CHECK(sc_begin(sc, mode, seed) == 0);
	if (target == FZ_OUT_RAW) {
		FUZZ_CHECK(sc_exec(fz_out_preamble) == 0);
		fz_w[1].answered = true; /* the fuzz bytes answer this one */
		fz_run();
		if (len)
			sc_peer_write(1, data, len);
	} else {
		if (target == FZ_IN_RAW) {
			/* Only the connection: the bytes replace the preamble. */
			static const struct sc_step raw[] = { CONNECT(FZ_PI), END() };

			FUZZ_CHECK(sc_exec(raw) == 0);
			if (len)
				sc_peer_write(FZ_PI, data, len);
		} else {
			FUZZ_CHECK(sc_exec(fz_bidi ? fz_in_preamble_bidi : fz_in_preamble) == 0);
			fz_run(); /* authenticated: the db:result type='valid' is back */
			if (len)
				sc_peer_write(FZ_PI, data, len);
			if (target == FZ_BOTH && sc_peer_connected(1) && len)
				sc_peer_write(1, data, len);
		}
	}
	fz_run();
	/* Every deadline, answering in between. */
	for (i = 0; i < FZ_JUMPS && fake_poll_timeout() < 3600000u; i++) {
		fake_advance(fake_poll_timeout());
		sc_settle();
		fz_run();
	}
	if (getenv("FUZZ_ENGINE_REPORT"))
		sc_report(stderr); /* what happened, for writing seeds */
	if (sc_finish(false, NULL) != 0) {
		sc_report(stderr);
		FUZZ_CHECK(!"teardown or leak gate failed");
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	enum fz_target target;
	enum fake_delivery mode;
	uint64_t seed;

	if (len < 1)
		return 0;
	target = (enum fz_target)(data[0] & 3);
	mode = (enum fake_delivery)((data[0] >> 2) & 3);
	if (mode >= FAKE_DELIVERY__COUNT)
		mode = FAKE_WHOLE;
	seed = (uint64_t)(data[0] >> 4) + 1;
	data++;
	len--;
	if (len > FZ_MAX_INPUT)
		len = FZ_MAX_INPUT;
	fz_bidi = false;
	fz_one(data, len, target, mode, seed, &fz_sc);
#if CONFIG_XS2S_BIDI
	fz_bidi = true;
	fz_one(data, len, target, mode, seed, &fz_sc_bidi);
	fz_bidi = false;
#endif
	return 0;
}
