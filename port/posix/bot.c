/* xs2s-bot: an example application on the xs2s engine (docs/examples.md).
 *
 * A device embeds the engine, gets its own XMPP domain, and talks to people
 * on the XMPP network through it. This bot is such a device: it answers
 * chat messages sent to its JID with the device's status:
 *
 *   help            the commands (anything else gets no answer)
 *   status          uptime, links, the engine's pools (high-water marks)
 *   ping JID        an XEP-0199 ping to JID: the round trip, or why not
 *   version DOMAIN  XEP-0092: the software that serves DOMAIN
 *
 * What it shows of the API (firmware/include/xs2s.h, xs2s_app.h):
 *   - the engine in static memory: start, poll, stop, idle, fini;
 *   - a handler for the bot's JID (xs2s_handler_add);
 *   - reading a stanza through views (xs2s_view_child, xs2s_view_text);
 *   - sending a message (xs2s_send);
 *   - iq requests with a timeout (xs2s_iq_request), answered exactly once.
 *
 *   xs2s-bot --domain a.test --listen 0.0.0.0:5269 --cert a.pem --key a.key --ca ca.pem \
 *            [--host-map b.test=192.0.2.7:5269] [--jid bot@a.test]
 *
 * Built next to xs2sd on either port: on the POSIX port (Linux sockets) or,
 * in an lwIP build, on lwIP attached to a TAP device (--tap options, as
 * xs2sd's). SIGTERM or SIGINT: the streams are closed gracefully, then it
 * exits 0.
 */
#define _GNU_SOURCE
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "xs2s.h"
#include "xs2s_log.h"
#include "port.h"               /* xs2s_port_now_ms: the engine's clock */
#ifdef CONFIG_XS2S_PORT_LWIP
#include "lwip/port_lwip.h"
#endif

#define BOT_IQ_TIMEOUT_MS 10000 /* ping and version: how long to wait for the answer */
#define BOT_STOP_GRACE_MS 3000  /* SIGTERM: how long the peers get to close their streams */
#define BOT_JID_MAX 384
#define BOT_BODY_MAX 2048       /* a command, or an answer */
#define BOT_HOST_MAP_MAX 1024

static struct xs2s_engine eng;  /* the whole engine: every pool, arena and link slot */
static char bot_jid[BOT_JID_MAX];
static uint32_t started_ms;
static volatile sig_atomic_t stop_requested;

/* ---- answering ---- */

/* Send a chat message from the bot to `to`, its text formatted like printf. */
static void say(const char *to, const char *fmt, ...)
{
	char body[BOT_BODY_MAX];
	struct xs2s_stanza msg = { .kind = XS2S_MESSAGE, .type = "chat", .from = bot_jid, .to = to, .body = body };
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(body, sizeof body, fmt, ap);
	va_end(ap);
	/* No completion: if it cannot be delivered, the bounce comes back to
	 * the bot's handler as an error message, which it ignores. */
	rc = xs2s_send(&eng, &msg, NULL, NULL, NULL);
	if (rc != XS2S_OK)
		XS2S_LOGW(0, "bot: cannot answer %s: %s", to, xs2s_err_name(rc));
}

/* ---- status ---- */

struct status_text {
	char *p;
	size_t cap, len;
};

/* xs2s_status_pools calls this once per pool: the link slots first
 * ("links: 2 in use of 8"), then each pool's high-water mark and size. */
static void status_pool(void *ctx, const char *name, const char *unit, size_t used, size_t high, size_t size,
			unsigned fails)
{
	struct status_text *t = ctx;

	if (t->len >= t->cap)
		return; /* full: the rest is left out */
	if (!strcmp(name, "links"))
		t->len += (size_t)snprintf(t->p + t->len, t->cap - t->len,
					   "\nlinks: %zu in use of %zu (high %zu)\nhigh-water marks (of size):", used,
					   size, high);
	else
		t->len += (size_t)snprintf(t->p + t->len, t->cap - t->len, "\n  %s %zu/%zu %s%s", name, high, size,
					   unit, fails ? " (some refused)" : "");
}

static void cmd_status(const char *asker)
{
	char text[BOT_BODY_MAX];
	struct status_text t = { text, sizeof text, 0 };
	uint32_t up_s = (xs2s_port_now_ms() - started_ms) / 1000;

	t.len = (size_t)snprintf(text, sizeof text, "%s up %uh%02um%02us, xs2s %s",
				 bot_jid, (unsigned)(up_s / 3600), (unsigned)(up_s / 60 % 60), (unsigned)(up_s % 60),
				 XS2S_VERSION);
	xs2s_status_pools(&eng, status_pool, &t);
	say(asker, "%s", text);
}

/* ---- ping and version: iq requests ----
 * The answer comes later, in a callback. Each request remembers who asked
 * (and what, and when) in a small table; the callback answers that person
 * and frees the entry. The engine calls it exactly once per request. */

struct ask {
	bool used;
	char asker[BOT_JID_MAX];        /* who gets the answer */
	char target[BOT_JID_MAX];       /* whom we asked */
	uint32_t sent_ms;
};

static struct ask asks[CONFIG_XS2S_APP_IQ_PENDING];

static struct ask *ask_new(const char *asker, const char *target)
{
	for (unsigned i = 0; i < CONFIG_XS2S_APP_IQ_PENDING; i++) {
		if (!asks[i].used) {
			struct ask *a = &asks[i];

			a->used = true;
			snprintf(a->asker, sizeof a->asker, "%s", asker);
			snprintf(a->target, sizeof a->target, "%s", target);
			a->sent_ms = xs2s_port_now_ms();
			return a;
		}
	}
	return NULL;
}

/* Why an iq request got no result, for a person. */
static void say_failure(const struct ask *a, const char *what, const struct xs2s_iq_response *r)
{
	if (r->outcome == XS2S_IQ_TIMEOUT)
		say(a->asker, "%s %s: no answer within %u s", what, a->target, BOT_IQ_TIMEOUT_MS / 1000);
	else
		say(a->asker, "%s %s: error %s%s%s", what, a->target, r->condition, r->text[0] ? ": " : "", r->text);
}

static void on_ping_answer(struct xs2s_engine *e, void *arg, const struct xs2s_iq_response *r)
{
	struct ask *a = arg;

	(void)e;
	if (r->outcome == XS2S_IQ_RESULT)
		say(a->asker, "ping %s: answered in %u ms", a->target, (unsigned)(xs2s_port_now_ms() - a->sent_ms));
	else
		say_failure(a, "ping", r);
	a->used = false;
}

static void on_version_answer(struct xs2s_engine *e, void *arg, const struct xs2s_iq_response *r)
{
	struct ask *a = arg;
	char name[128] = "?", version[128] = "?", os[128] = "";
	struct xs2s_view query, child;

	(void)e;
	if (r->outcome != XS2S_IQ_RESULT) {
		say_failure(a, "version", r);
		a->used = false;
		return;
	}
	/* <iq type='result'><query xmlns='jabber:iq:version'><name/><version/><os/></query></iq> */
	if (xs2s_view_child(&r->stanza->top, "query", "jabber:iq:version", &query)) {
		if (xs2s_view_child(&query, "name", NULL, &child))
			xs2s_view_text(&child, name, sizeof name);
		if (xs2s_view_child(&query, "version", NULL, &child))
			xs2s_view_text(&child, version, sizeof version);
		if (xs2s_view_child(&query, "os", NULL, &child))
			xs2s_view_text(&child, os, sizeof os);
	}
	say(a->asker, "version %s: %s %s%s%s", a->target, name, version, os[0] ? " on " : "", os);
	a->used = false;
}

/* Send an iq get with `payload` to target; cb answers the asker later. */
static void ask_iq(const char *asker, const char *what, const char *target, const char *payload, xs2s_iq_fn cb)
{
	struct xs2s_stanza iq = { .kind = XS2S_IQ, .type = "get", .from = bot_jid, .to = target, .payload = payload };
	struct ask *a = ask_new(asker, target);
	int rc;

	if (!a) {
		say(asker, "%s %s: busy, %d requests are waiting for their answers", what, target,
		    CONFIG_XS2S_APP_IQ_PENDING);
		return;
	}
	rc = xs2s_iq_request(&eng, &iq, BOT_IQ_TIMEOUT_MS, cb, a, NULL);
	if (rc != XS2S_OK) {
		/* Refused at once (a malformed JID, no room): the callback will not run. */
		say(asker, "%s %s: not sent: %s", what, target,
		    rc == XS2S_EINVAL ? "not a valid JID" : xs2s_err_name(rc));
		a->used = false;
	}
}

/* ---- the message handler ---- */

/* Every message to the bot's JID comes here (the engine matched the JID
 * and the kind); returning true claims it: it goes nowhere else.
 *
 * Only a whole command is answered ("ping b.test", not "ping b.test: ...");
 * anything else is ignored. No answer of the bot is a command, so two bots
 * never answer each other forever. */
static bool on_message(struct xs2s_engine *e, void *arg, const struct xs2s_stanza_in *msg)
{
	char text[BOT_BODY_MAX], *cmd, *word, *more;
	struct xs2s_view body;

	(void)e;
	(void)arg;
	/* Never answer an error (a bounce of one of our answers): no loops. */
	if (!strcmp(msg->type, "error"))
		return true;
	/* Messages without a body (chat states, receipts) need no answer. */
	if (!xs2s_view_child(&msg->top, "body", NULL, &body) || xs2s_view_text(&body, text, sizeof text) < 0)
		return true;
	XS2S_LOGD(0, "bot: %s says \"%s\"", msg->from, text); /* debug: message text is the user's */
	cmd = strtok(text, " \t\r\n");  /* the command, its argument, and what must not follow */
	word = strtok(NULL, " \t\r\n");
	more = strtok(NULL, " \t\r\n");
	if (!cmd || more)
		return true;
	if (!strcmp(cmd, "help") && !word)
		say(msg->from, "commands: help, status, ping JID, version DOMAIN");
	else if (!strcmp(cmd, "status") && !word)
		cmd_status(msg->from);
	else if (!strcmp(cmd, "ping") && word)
		ask_iq(msg->from, "ping", word, "<ping xmlns='urn:xmpp:ping'/>", on_ping_answer);
	else if (!strcmp(cmd, "version") && word)
		ask_iq(msg->from, "version", word, "<query xmlns='jabber:iq:version'/>", on_version_answer);
	return true;
}

/* ---- start-up: options and files ---- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xs2s-bot [options]    an example bot on the xs2s engine (docs/examples.md)\n"
		"  --domain D              our XMPP domain                          [%s]\n"
		"  --listen ADDR:PORT      s2s listen address                       [%s]\n"
		"  --cert FILE, --key FILE, --ca FILE   our certificate chain and key, trusted CAs (PEM)\n"
		"  --host-map D=ADDR:PORT  static address of a peer domain (repeatable)\n"
		"  --jid JID               the bot's JID                            [bot@DOMAIN]\n"
#ifdef CONFIG_XS2S_PORT_LWIP
		"  --tap IFNAME, --tap-ip ADDR/PREFIX, --tap-gw ADDR, --tap-ip6 ADDR\n"
		"                          lwIP's TAP device and addresses (as xs2sd's)\n"
#endif
		"It answers chat messages to its JID: help, status, ping JID, version DOMAIN.\n",
		CONFIG_XS2S_DOMAIN, CONFIG_XS2S_LISTEN);
}

/* A whole file, NUL-terminated (malloc'd; freed once the engine started). */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
		buf[n] = 0;
		*len = (size_t)n;
	} else {
		free(buf);
		buf = NULL;
		fprintf(stderr, "xs2s-bot: cannot read %s\n", path);
	}
	if (f)
		fclose(f);
	return buf;
}

/* "addr:port" or "[v6]:port" into cfg (s is modified). */
static bool parse_listen(char *s, struct xs2s_config *cfg)
{
	char *colon = strrchr(s, ':');
	long port = colon ? strtol(colon + 1, NULL, 10) : 0;

	if (port <= 0 || port > 65535)
		return false;
	*colon = '\0';
	if (s[0] == '[' && colon[-1] == ']') {
		colon[-1] = '\0';
		s++;
	}
	cfg->listen_addr = s;
	cfg->listen_port = (uint16_t)port;
	return true;
}

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, 'd' }, { "listen", required_argument, NULL, 'l' },
		{ "cert", required_argument, NULL, 'c' },   { "key", required_argument, NULL, 'k' },
		{ "ca", required_argument, NULL, 'a' },     { "host-map", required_argument, NULL, 'm' },
		{ "jid", required_argument, NULL, 'j' },    { "help", no_argument, NULL, 'h' },
		{ "tap", required_argument, NULL, 'T' },    { "tap-ip", required_argument, NULL, 'I' },
		{ "tap-gw", required_argument, NULL, 'G' }, { "tap-ip6", required_argument, NULL, '6' },
		{ NULL, 0, NULL, 0 },
	};
	static char listen_at[80] = CONFIG_XS2S_LISTEN, host_map[BOT_HOST_MAP_MAX];
	const char *cert = CONFIG_XS2S_CERT_FILE, *key = CONFIG_XS2S_KEY_FILE, *ca = CONFIG_XS2S_CA_FILE;
	const char *jid = NULL;
#ifdef CONFIG_XS2S_PORT_LWIP
	const char *tap = CONFIG_XS2S_LWIP_HOST_TAP, *tap_ip = CONFIG_XS2S_LWIP_HOST_IPV4;
	const char *tap_gw = CONFIG_XS2S_LWIP_HOST_GW, *tap_ip6 = CONFIG_XS2S_LWIP_HOST_IPV6;
#endif
	struct xs2s_config cfg;
	struct sigaction sa;
	uint32_t stop_at;
	int o;

	xs2s_config_defaults(&cfg);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'd': cfg.domains[0] = optarg; break;
		case 'l': snprintf(listen_at, sizeof listen_at, "%s", optarg); break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		case 'a': ca = optarg; break;
		case 'm':
			snprintf(host_map + strlen(host_map), sizeof host_map - strlen(host_map), "%s%s",
				 host_map[0] ? " " : "", optarg);
			cfg.host_map = host_map;
			break;
		case 'j': jid = optarg; break;
#ifdef CONFIG_XS2S_PORT_LWIP
		case 'T': tap = optarg; break;
		case 'I': tap_ip = optarg; break;
		case 'G': tap_gw = optarg; break;
		case '6': tap_ip6 = optarg; break;
#endif
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !parse_listen(listen_at, &cfg)) {
		usage(stderr);
		return 2;
	}
	snprintf(bot_jid, sizeof bot_jid, jid ? "%s" : "bot@%s", jid ? jid : cfg.domains[0]);

	/* The engine copies what it keeps: the files are freed after start. */
	cfg.cert_pem = read_file(cert, &cfg.cert_len);
	cfg.key_pem = read_file(key, &cfg.key_len);
	cfg.ca_pem = read_file(ca, &cfg.ca_len);
	if (!cfg.cert_pem || !cfg.key_pem)
		return 1; /* TLS is required */

	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: the engine's wait returns at once */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
#ifdef CONFIG_XS2S_PORT_LWIP
	/* The lwIP host simulation: lwIP's own TCP/IP stack on a TAP device. */
	if (xs2s_lwip_init() != XS2S_OK || xs2s_lwip_hostsim_tap(tap, tap_ip, tap_gw, tap_ip6) != XS2S_OK) {
		fprintf(stderr, "xs2s-bot: cannot start lwIP on TAP device %s\n", tap);
		return 1;
	}
#endif
	if (xs2s_engine_start(&eng, &cfg) != XS2S_OK) {
		fprintf(stderr, "xs2s-bot: the engine did not start (see the log)\n");
		return 1;
	}
	memset((void *)cfg.key_pem, 0, cfg.key_len);
	free((void *)cfg.cert_pem);
	free((void *)cfg.key_pem);
	free((void *)cfg.ca_pem);
	started_ms = xs2s_port_now_ms();

	/* Messages to the bot's JID (and its resources) come to on_message. */
	if (xs2s_handler_add(&eng, &(struct xs2s_match){ .jid = bot_jid, .kind = XS2S_MESSAGE }, on_message,
			     NULL) < 0) {
		fprintf(stderr, "xs2s-bot: %s is not a JID of domain %s\n", bot_jid, cfg.domains[0]);
		xs2s_engine_fini(&eng);
		return 2;
	}
	XS2S_LOGI(0, "bot: %s is listening", bot_jid);

	/* Everything happens in here: the engine calls on_message and the iq
	 * callbacks from xs2s_engine_poll. */
	while (!stop_requested)
		xs2s_engine_poll(&eng, 1000);

	/* A graceful stop: every stream is closed, queued stanzas bounced;
	 * poll until the engine is idle or the peers had their time. */
	XS2S_LOGI(0, "bot: stopping");
	xs2s_engine_stop(&eng);
	stop_at = xs2s_port_now_ms() + BOT_STOP_GRACE_MS;
	while (!xs2s_engine_idle(&eng) && (int32_t)(xs2s_port_now_ms() - stop_at) < 0)
		xs2s_engine_poll(&eng, 100);
	xs2s_engine_fini(&eng);
#ifdef CONFIG_XS2S_PORT_LWIP
	xs2s_lwip_quiesce(1000); /* let lwIP finish its TCP closes before the process ends */
#endif
	XS2S_LOGI(0, "bot: stopped");
	return 0;
}
