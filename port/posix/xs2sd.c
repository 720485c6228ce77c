/* xs2sd: the host daemon. Kconfig gives the defaults, then the
 * configuration file (--config FILE), then the command line, which wins; an
 * admin unix socket serves xs2sctl (status, send, inbox, watch, subscriptions;
 * device accounts: xs2sd_accounts.c). Everything is read and reserved before
 * the engine starts.
 *
 * Configuration file: one `key = value` per line, keys are the long options
 * (`host-map = b.test=192.0.2.7:5269`); blank lines and lines starting with
 * '#' are skipped; the value is the rest of the line, trimmed, taken as is
 * (no quotes, no trailing comments). Options without an argument take
 * yes/no (true/false, on/off, 1/0). A key repeated in the file adds to a
 * repeatable option (domain, host-map, insecure-domain, account,
 * allow-subscriber, component) and replaces any
 * other; a repeatable option given on the command line replaces the file's
 * list. An unknown key, a malformed line or a bad value stops xs2sd before
 * it starts, naming the file and line.
 *
 * Signals: SIGTERM or SIGINT closes every stream gracefully (queued stanzas
 * are bounced), waits for the peers' closes up to STOP_GRACE_MS, and exits 0.
 * SIGHUP reloads the certificate, key and CA files (same paths): new links
 * use them, open links keep theirs; on any error the old ones stay.
 *
 * With TLS required, xs2sd refuses to start when its certificate or key
 * cannot be read or used.
 *
 * The same daemon runs on either port: on the POSIX port (kernel sockets),
 * or as the lwIP host simulation (CONFIG_XS2S_PORT_LWIP: the device build's
 * engine and port on lwIP, attached to a TAP device; --tap options). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "xs2s.h"
#include "xs2s_config.h"
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "port.h"
#include "hostwatch.h"
#include "hostlog.h"
#include "watch.h"
#include "xs2sd_accounts.h"
#ifdef CONFIG_XS2S_PORT_LWIP
#include "lwip/port_lwip.h"
#endif

#define ADMIN_CLIENTS 4
#define ADMIN_WATCHERS_MAX (ADMIN_CLIENTS - 1) /* one connection stays free for commands */
#define ADMIN_REQ_MAX (CONFIG_XS2S_MAX_STANZA + 1024)
#define ADMIN_RESP_MAX CONFIG_XS2S_POSIX_ADMIN_RESP
#define STOP_GRACE_MS 3000u
#define QUIESCE_MS 1000u /* lwIP: at most this long for TCP closes after the engine stopped */
#define POLL_MS 1000u
#define CONF_MAX_BYTES (64 * 1024) /* a configuration file is small */
#define WHERE_MAX 300              /* "FILE:LINE" or "--option" */
#define COMPONENTS_TEXT 4096       /* --component entries, space-separated */

struct admin_client {
	int fd;                       /* -1: free */
	uint8_t mode;                 /* enum admin_mode */
	unsigned serial;              /* which connection this is (a late completion checks it) */
	size_t req_len;
	char req[ADMIN_REQ_MAX];
	size_t resp_len, resp_off;    /* the answer: resp[resp_off, resp_len) is still to be written */
	char resp[ADMIN_RESP_MAX];    /* the answer, or a watcher's queued lines */
	struct xs2s_watch_out watch;  /* ADMIN_WATCH: its lines in resp (watch.h) */
};

static struct xs2s_engine eng; /* the engine: every pool, arena and link slot */
static struct admin_client admin_clients[ADMIN_CLIENTS];
static char *config_text; /* the configuration file: its values stay referenced */
static int admin_fd = -1;
static char admin_domains[WHERE_MAX]; /* "a.test, a2.test": for answers */
static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xs2sd [options]\n"
		"  --config FILE           read options from FILE first (key = value, long option names)\n"
		"  --domain D              local XMPP domain (repeat once more for an alias)   [%s]\n"
		"  --listen ADDR:PORT      s2s listen address ([::1]:5269 for IPv6)            [%s]\n"
#ifdef CONFIG_XS2S_DIRECT_TLS
		"  --listen-tls ADDR:PORT  direct TLS (XEP-0368) s2s listener, usually :5270   [%s]\n"
#endif
		"  --cert FILE             our certificate chain (PEM)                         [%s]\n"
		"  --key FILE              our private key (PEM)                               [%s]\n"
		"  --ca FILE               trusted CA certificates (PEM)                       [%s]\n"
		"  --host-map D=ADDR:PORT  static address of a peer domain (repeatable; ADDR:PORT/tls: direct TLS)\n"
#ifdef CONFIG_XS2S_DNS
		"  --dns-server ADDR[:PORT] DNS server for SRV/A/AAAA lookups (default: resolv.conf)\n"
#endif
		"  --admin PATH            admin socket for xs2sctl                            [%s]\n"
		"  --dialback-secret S     XEP-0185 secret (default: random at start)\n"
		"  --route-deadline S      retry a failed route while its oldest stanza is younger (0: bounce at once) [%u]\n"
		"  --stream-management on|off  XEP-0198 acks on s2s streams                   [%s]\n"
#ifdef CONFIG_XS2S_COMPONENTS
		"  --component NAME=SECRET XEP-0114 component serving domain NAME (repeatable; never logged)\n"
		"  --component-listen ADDR:PORT  component listener (plaintext: keep it local) [%s]\n"
#endif
		"  --tls-policy P          required | optional (INSECURE plaintext fallback)   [%s]\n"
		"  --auth LIST             methods: sasl-external,dialback (either or both)    [%s%s%s]\n"
		"  --secure-auth           refuse peers without a valid certificate            [%s]\n"
		"  --insecure-domain D     exempt D from --secure-auth (repeatable)\n"
#ifdef CONFIG_XS2S_BIDI
		"  --no-bidi               no XEP-0288 bidirectional streams (one connection per direction)\n"
#endif
		"liveness and per-peer policy (XEP-0199, XEP-0205):\n"
		"  --ping-idle S           ping an outbound stream after S s without input (0: never) [%d]\n"
		"  --ping-timeout S        no answer within S s: the peer is dead              [%d]\n"
#ifdef CONFIG_XS2S_POLICY
		"  --allow-domain D        only listed domains federate (repeatable)\n"
		"  --deny-domain D         D never federates; wins over --allow-domain (repeatable)\n"
		"  --rate N                stanzas/s per inbound stream, 0: no limit           [%d]\n"
		"  --rate-burst N          stanzas at once before the rate applies             [%d]\n"
		"  --rate-hard S           held at its rate S s without a break: policy-violation (0: never) [%d]\n"
#endif
		"  --log-level L           error | warn | info | debug (or 1-4)                [%d]\n"
		"  --syslog                log to syslog (facility daemon) instead of stderr\n"
#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
		"device accounts (presence subscriptions, RFC 6121):\n"
		"  --account JID           a local bare JID with presence (repeatable)\n"
		"  --subscription-policy P accept-all | allow-list | ask                       [%s]\n"
		"  --allow-subscriber E    a JID or domain the allow list accepts (repeatable)\n"
		"  --subscriptions-file F  kept there across restarts (rewritten atomically)   [%s]\n"
#endif
#ifdef CONFIG_XS2S_PORT_LWIP
		"lwIP host simulation (the TAP device must exist and be up on the kernel side):\n"
		"  --tap IFNAME            TAP device lwIP attaches to                         [%s]\n"
		"  --tap-ip ADDR/PREFIX    lwIP's IPv4 address on it                           [%s]\n"
		"  --tap-gw ADDR           lwIP's IPv4 default gateway                         [%s]\n"
		"  --tap-ip6 ADDR          lwIP's static IPv6 address on it (optional)         [%s]\n"
#endif
		,
		CONFIG_XS2S_DOMAIN, CONFIG_XS2S_LISTEN,
#ifdef CONFIG_XS2S_DIRECT_TLS
		CONFIG_XS2S_DIRECT_TLS_LISTEN[0] ? CONFIG_XS2S_DIRECT_TLS_LISTEN : "none",
#endif
		CONFIG_XS2S_CERT_FILE, CONFIG_XS2S_KEY_FILE,
		CONFIG_XS2S_CA_FILE, CONFIG_XS2S_POSIX_ADMIN_PATH, (unsigned)CONFIG_XS2S_ROUTE_DEADLINE_S,
		IS_ENABLED_XS2S(CONFIG_XS2S_SM) ? "on" : "off",
#ifdef CONFIG_XS2S_COMPONENTS
		CONFIG_XS2S_COMPONENT_LISTEN,
#endif
		CONFIG_XS2S_TLS_REQUIRED ? "required" : "optional",
		IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_SASL_EXTERNAL) ? "sasl-external" : "",
		IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_SASL_EXTERNAL) && IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_DIALBACK) ? "," : "",
		IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_DIALBACK) ? "dialback" : "",
		IS_ENABLED_XS2S(CONFIG_XS2S_SECURE_AUTH) ? "on" : "off", CONFIG_XS2S_PING_IDLE_S, CONFIG_XS2S_PING_TIMEOUT_S,
#ifdef CONFIG_XS2S_POLICY
		CONFIG_XS2S_RATE_STANZAS, CONFIG_XS2S_RATE_BURST, CONFIG_XS2S_RATE_HARD_S,
#endif
		CONFIG_XS2S_LOG_LEVEL
#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
		, IS_ENABLED_XS2S(CONFIG_XS2S_SUB_POLICY_ACCEPT_ALL) ? "accept-all"
		  : IS_ENABLED_XS2S(CONFIG_XS2S_SUB_POLICY_ASK) ? "ask" : "allow-list",
		CONFIG_XS2S_POSIX_SUBSCRIPTIONS_FILE[0] ? CONFIG_XS2S_POSIX_SUBSCRIPTIONS_FILE : "none: in memory"
#endif
#ifdef CONFIG_XS2S_PORT_LWIP
		, CONFIG_XS2S_LWIP_HOST_TAP, CONFIG_XS2S_LWIP_HOST_IPV4, CONFIG_XS2S_LWIP_HOST_GW, CONFIG_XS2S_LWIP_HOST_IPV6
#endif
		);
}

/* Read a whole file into a malloc'd, NUL-terminated buffer (start-up and
 * reload only). NULL with errno set on failure; an empty file is ENODATA. */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;
	int err = EIO;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
		if (n == 0)
			err = ENODATA;
		else if (!(buf = malloc((size_t)n + 1)))
			err = ENOMEM;
		else if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = 0;
			*len = (size_t)n;
		}
	}
	fclose(f);
	if (!buf)
		errno = err;
	return buf;
}

static const char *read_error(void)
{
	return errno == ENODATA ? "empty file" : strerror(errno);
}

static int parse_log_level(const char *s)
{
	static const char *const names[] = { "none", "error", "warn", "info", "debug" };
	int i;

	for (i = 0; i < 5; i++)
		if (!strcmp(s, names[i]) || (s[0] == '0' + i && !s[1]))
			return i;
	return -1;
}

static int split_listen(char *s, const char **addr, uint16_t *port)
{
	char *colon = strrchr(s, ':');
	long p;

	if (!colon)
		return -1;
	*colon = '\0';
	p = strtol(colon + 1, NULL, 10);
	if (p <= 0 || p > 65535)
		return -1;
	if (s[0] == '[' && colon > s && colon[-1] == ']') {
		colon[-1] = '\0';
		s++;
	}
	*addr = s;
	*port = (uint16_t)p;
	return 0;
}

/* ---- admin socket ----
 *
 * One request line per connection (xs2sctl escapes \\, TAB and newline in
 * its fields), fields separated by TAB:
 *   status | status-json | inbox | inbox-json
 *   send FROM TO BODY [TYPE ID WAIT]   a message (TYPE default chat; ID
 *                                      default generated; WAIT "wait")
 *   send-raw WAIT XML                  a stanza written whole (xs2s_send_raw)
 *   watch                              every stanza for a local JID, one JSON
 *                                      line each, until the client goes
 * The answer ends the connection, but for a send with WAIT (the answer comes
 * with the stanza's completion) and watch (lines until the client closes).
 * A watcher's lines queue in its response buffer; one that reads too slowly
 * loses lines, counted and reported (watch.h), and never blocks the engine.
 */

enum admin_mode {
	ADMIN_READ = 0,   /* reading the request */
	ADMIN_WAIT,       /* send ... wait: the answer comes with the completion */
	ADMIN_WRITE,      /* writing the answer, then close */
	ADMIN_WATCH,      /* writing stanza lines until the client closes */
};

static void admin_close(struct admin_client *c)
{
	if (c->mode == ADMIN_WATCH)
		XS2S_LOGI(0, "admin: watch ended: %lu stanza lines sent, %lu skipped (read too slowly)",
			  c->watch.lines, c->watch.dropped);
	xs2s_host_unwatch(c->fd);
	close(c->fd);
	c->fd = -1;
	c->mode = ADMIN_READ;
}

static void admin_client_io(int fd, short revents, void *ctx);

/* What the client's descriptor is polled for: its request, its hang-up
 * while it waits or watches, and room for what waits to be written. */
static void admin_poll_for(struct admin_client *c)
{
	short ev = POLLIN;
	size_t n = 0;

	if (c->mode == ADMIN_WRITE)
		ev = POLLOUT;
	else if (c->mode == ADMIN_WATCH && (xs2s_watch_pending(&c->watch, &n), n))
		ev |= POLLOUT;
	xs2s_host_watch(c->fd, ev, admin_client_io, c);
}

/* Undo xs2sctl's escaping of \\, \t, \n in place. */
static void admin_unescape(char *s)
{
	char *o = s;

	for (; *s; s++) {
		if (*s == '\\' && s[1]) {
			s++;
			*o++ = *s == 'n' ? '\n' : *s == 't' ? '\t' : *s;
		} else {
			*o++ = *s;
		}
	}
	*o = '\0';
}

/* Split s at TABs into at most max fields (the last one takes the rest);
 * the count. */
static unsigned admin_fields(char *s, char **f, unsigned max)
{
	unsigned n = 0;

	for (;;) {
		f[n++] = s;
		if (n == max || !(s = strchr(s, '\t')))
			return n;
		*s++ = '\0';
	}
}

/* Drain as many inbox messages as fit in the response. */
static void admin_inbox(struct xs2s_wbuf *w, int json)
{
	struct xs2s_inbox_msg m;
	int first = 1;

	if (json)
		xs2s_w_raw(w, "{\"messages\":[");
	while (xs2s_inbox_peek(&eng, &m) == XS2S_OK) {
		size_t mark = w->len;

		if (json) {
			xs2s_w_raw(w, first ? "{\"from\":" : ",{\"from\":");
			xs2s_w_json(w, m.from);
			xs2s_w_raw(w, ",\"to\":");
			xs2s_w_json(w, m.to);
			xs2s_w_raw(w, ",\"type\":");
			xs2s_w_json(w, m.type);
			xs2s_w_raw(w, ",\"error\":");
			xs2s_w_json(w, m.error);
			xs2s_w_raw(w, ",\"error_text\":");
			xs2s_w_json(w, m.error_text);
			xs2s_w_raw(w, ",\"body\":");
			xs2s_w_json(w, m.body);
			xs2s_w_raw(w, "}");
		} else {
			xs2s_w_fmt(w, "%s -> %s [%s%s%s%s%s] %s\n", m.from, m.to, m.type, m.error[0] ? ": " : "", m.error,
				   m.error_text[0] ? ": " : "", m.error_text, m.body);
		}
		if (w->overflow || w->len + 3 > w->cap) {
			w->overflow = 0; /* keep what fitted; the rest stays for next time */
			w->len = mark;
			w->p[mark] = '\0';
			break;
		}
		first = 0;
		xs2s_inbox_pop(&eng);
	}
	if (json)
		xs2s_w_raw(w, "]}\n");
	else if (first)
		xs2s_w_raw(w, "(no messages)\n");
}

/* Why a send was refused, for the operator. */
static void admin_send_error(struct xs2s_wbuf *w, int rc, bool raw)
{
	xs2s_w_fmt(w, "error: %s: ", xs2s_err_name(rc));
	if (rc == XS2S_EINVAL && raw)
		xs2s_w_fmt(w, "stanza refused, nothing sent: it must be one <message/>, <presence/> or <iq/> in "
			   "well-formed XML without comments, processing instructions, DTDs or entities but the five "
			   "predefined ones, with a 'from' JID of this server's domains (%s), a valid 'to', and an id "
			   "of at most %d characters if any\n", admin_domains, XS2S_ID_MAX);
	else if (rc == XS2S_EINVAL)
		xs2s_w_fmt(w, "message refused, nothing sent: a bad JID, type or id, or a sender not of this server's "
			   "domains (%s)\n", admin_domains);
	else if (rc == XS2S_ERANGE)
		xs2s_w_fmt(w, "refused, nothing sent: larger than one stanza (CONFIG_XS2S_MAX_STANZA: %d bytes)\n",
			   CONFIG_XS2S_MAX_STANZA);
	else if (rc == XS2S_ENOMEM)
		xs2s_w_raw(w, "not sent: no room (queue, completions or link slots full): resource-constraint\n");
	else if (rc == XS2S_EIO)
		xs2s_w_raw(w, "xs2sd is stopping: nothing more goes to remote domains\n");
	else
		xs2s_w_raw(w, "not sent\n");
}

/* The completion of a send with WAIT: its answer goes to the client that
 * asked, if it is still there (arg: its slot and serial). */
static void admin_send_done(struct xs2s_engine *e, void *arg, const struct xs2s_done *d)
{
	uintptr_t v = (uintptr_t)arg;
	struct admin_client *c = &admin_clients[v % ADMIN_CLIENTS];
	struct xs2s_wbuf w;

	(void)e;
	if (c->fd < 0 || c->mode != ADMIN_WAIT || c->serial != v / ADMIN_CLIENTS)
		return; /* it hung up: the outcome is in the log */
	xs2s_w_init(&w, c->resp, sizeof c->resp);
	if (d->outcome == XS2S_SENT)
		xs2s_w_fmt(&w, "sent id=%s\n", d->id);
	else
		/* The reason after a colon, not in parentheses: it may hold its own
		 * (a wolfSSL error code "... (-308)"). */
		xs2s_w_fmt(&w, "error: bounced id=%s: %s%s%s\n", d->id, d->condition, d->text[0] ? ": " : "", d->text);
	c->resp_len = w.len;
	c->resp_off = 0;
	c->mode = ADMIN_WRITE;
	admin_poll_for(c);
}

/* send FROM TO BODY [TYPE ID WAIT], send-raw WAIT XML. */
static void admin_send(struct admin_client *c, struct xs2s_wbuf *w, char *args, bool raw)
{
	struct xs2s_handle h;
	char *f[6];
	unsigned n = admin_fields(args, f, raw ? 2 : 6);
	bool wait;
	int rc;

	if (raw ? n != 2 : n != 3 && n != 6) {
		xs2s_w_raw(w, raw ? "error: send --raw needs the stanza\n" : "error: send needs from, to and body\n");
		return;
	}
	if (raw)
		wait = !strcmp(f[0], "wait");
	else
		wait = n == 6 && !strcmp(f[5], "wait");
	if (raw) {
		admin_unescape(f[1]);
		rc = xs2s_send_raw(&eng, f[1], wait ? admin_send_done : NULL,
				   (void *)(uintptr_t)(c->serial * ADMIN_CLIENTS + (unsigned)(c - admin_clients)), &h);
	} else {
		struct xs2s_stanza st = { .kind = XS2S_MESSAGE, .from = f[0], .to = f[1], .body = f[2], .type = "chat" };

		admin_unescape(f[2]);
		if (n == 6 && f[3][0])
			st.type = f[3];
		if (n == 6 && f[4][0])
			st.id = f[4];
		rc = xs2s_send(&eng, &st, wait ? admin_send_done : NULL,
			       (void *)(uintptr_t)(c->serial * ADMIN_CLIENTS + (unsigned)(c - admin_clients)), &h);
	}
	if (rc != XS2S_OK)
		admin_send_error(w, rc, raw);
	else if (wait)
		c->mode = ADMIN_WAIT; /* admin_send_done answers */
	else
		xs2s_w_fmt(w, "ok id=%s\n", h.id);
}

static unsigned admin_watchers(void)
{
	unsigned i, n = 0;

	for (i = 0; i < ADMIN_CLIENTS; i++)
		n += admin_clients[i].fd >= 0 && admin_clients[i].mode == ADMIN_WATCH;
	return n;
}

/* watch: the client's response buffer becomes its queue of stanza lines. */
static void admin_watch_start(struct admin_client *c, struct xs2s_wbuf *w)
{
	char ok[WHERE_MAX + 32];

	if (admin_watchers() >= ADMIN_WATCHERS_MAX) {
		xs2s_w_fmt(w, "error: %u watchers already (one admin connection stays free for commands)\n",
			   ADMIN_WATCHERS_MAX);
		return;
	}
	snprintf(ok, sizeof ok, "ok watching %s\n", admin_domains);
	xs2s_watch_init(&c->watch, c->resp, sizeof c->resp);
	xs2s_watch_put_text(&c->watch, ok);
	c->mode = ADMIN_WATCH;
	XS2S_LOGI(0, "admin: watch started (%u watcher%s; %zu bytes of buffer each)", admin_watchers(),
		  admin_watchers() == 1 ? "" : "s", sizeof c->resp);
}

/* The handler registered first: every stanza for a local JID is copied
 * to the watchers, none is claimed. Never blocks: a line that does not fit
 * in a watcher's buffer is counted there and dropped. */
static bool admin_watch_stanza(struct xs2s_engine *e, void *arg, const struct xs2s_stanza_in *st)
{
	unsigned i;

	(void)e;
	(void)arg;
	for (i = 0; i < ADMIN_CLIENTS; i++) {
		struct admin_client *c = &admin_clients[i];

		if (c->fd < 0 || c->mode != ADMIN_WATCH)
			continue;
		if (!xs2s_watch_put(&c->watch, st) && c->watch.skipped == 1)
			XS2S_LOGW(0, "admin: a watcher reads too slowly: skipping stanza lines until it catches up "
				     "(%zu bytes of buffer)", sizeof c->resp);
		admin_poll_for(c);
	}
	return false;
}

static void admin_handle(struct admin_client *c)
{
	struct xs2s_wbuf w;
	char *req = c->req, *nl = strchr(req, '\n');

	if (nl)
		*nl = '\0';
	xs2s_w_init(&w, c->resp, sizeof c->resp);
	if (!strcmp(req, "status")) {
		int n = xs2s_status_text(&eng, w.p, w.cap);

		w.len = n < 0 ? w.cap : (size_t)n;
		w.overflow = n < 0;
	} else if (!strcmp(req, "status-json")) {
		int n = xs2s_status_json(&eng, w.p, w.cap);

		w.len = n < 0 ? w.cap : (size_t)n;
		w.overflow = n < 0;
		xs2s_w_raw(&w, "\n");
	} else if (!strcmp(req, "inbox") || !strcmp(req, "inbox-json")) {
		admin_inbox(&w, req[5] == '-');
	} else if (!strncmp(req, "send\t", 5)) {
		admin_send(c, &w, req + 5, false);
	} else if (!strncmp(req, "send-raw\t", 9)) {
		admin_send(c, &w, req + 9, true);
	} else if (!strcmp(req, "watch")) {
		admin_watch_start(c, &w);
	} else if (xs2sd_acct_admin(&eng, req, &w)) {
		/* subscriptions, subscription accept|refuse (xs2sd_accounts.c) */
	} else {
		xs2s_w_raw(&w, "error: unknown command\n");
	}
	if (c->mode != ADMIN_READ)
		return; /* waiting for a completion, or watching */
	if (w.overflow) { /* never a cut answer */
		xs2s_w_init(&w, c->resp, sizeof c->resp);
		xs2s_w_fmt(&w, "error: the answer does not fit in %u bytes (CONFIG_XS2S_POSIX_ADMIN_RESP)\n",
			   (unsigned)sizeof c->resp);
	}
	c->resp_len = w.len;
	c->resp_off = 0;
	c->mode = ADMIN_WRITE;
}

/* ADMIN_READ: read the request; once it is a line, answer it. -1 when the
 * client is gone (closed here). */
static int admin_read_request(struct admin_client *c)
{
	ssize_t n = read(c->fd, c->req + c->req_len, sizeof c->req - 1 - c->req_len);

	if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
		admin_close(c);
		return -1;
	}
	if (n > 0)
		c->req_len += (size_t)n;
	c->req[c->req_len] = '\0';
	if (memchr(c->req, '\n', c->req_len)) {
		admin_handle(c);
	} else if (c->req_len >= sizeof c->req - 1) {
		c->resp_len = (size_t)snprintf(c->resp, sizeof c->resp, "error: request longer than %u bytes\n",
					       (unsigned)sizeof c->req - 1);
		c->resp_off = 0;
		c->mode = ADMIN_WRITE;
	}
	return 0;
}

/* ADMIN_WAIT, ADMIN_WATCH: the client says nothing more; what it sends is
 * dropped, its hang-up ends it. -1 when it is gone (closed here). */
static int admin_read_rest(struct admin_client *c)
{
	char sink[256];
	ssize_t n = read(c->fd, sink, sizeof sink);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		admin_close(c);
		return -1;
	}
	return 0;
}

/* Write what waits: the answer (then close) or a watcher's lines. */
static void admin_write(struct admin_client *c)
{
	const char *p = c->resp + c->resp_off;
	size_t len = c->resp_len - c->resp_off;
	ssize_t n;

	if (c->mode == ADMIN_WATCH)
		p = xs2s_watch_pending(&c->watch, &len);
	if (!len)
		return;
	n = write(c->fd, p, len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		admin_close(c);
		return;
	}
	if (c->mode == ADMIN_WATCH) {
		xs2s_watch_written(&c->watch, (size_t)n);
		return;
	}
	c->resp_off += (size_t)n;
	if (c->resp_off == c->resp_len)
		admin_close(c);
}

static void admin_client_io(int fd, short revents, void *ctx)
{
	struct admin_client *c = ctx;

	(void)fd;
	if (c->mode == ADMIN_READ && (revents & (POLLIN | POLLHUP | POLLERR))) {
		if (admin_read_request(c) < 0)
			return;
		revents |= POLLOUT; /* an answer is likely written at once */
	} else if ((c->mode == ADMIN_WAIT || c->mode == ADMIN_WATCH) && (revents & (POLLIN | POLLHUP | POLLERR))) {
		if (admin_read_rest(c) < 0)
			return;
	}
	if ((c->mode == ADMIN_WRITE || c->mode == ADMIN_WATCH) && (revents & (POLLOUT | POLLERR))) {
		admin_write(c);
		if (c->fd < 0)
			return;
	}
	admin_poll_for(c);
}

static void admin_accept(int fd, short revents, void *ctx)
{
	static unsigned serial;
	int cfd;
	unsigned i;

	(void)revents;
	(void)ctx;
	while ((cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		for (i = 0; i < ADMIN_CLIENTS && admin_clients[i].fd >= 0; i++)
			;
		if (i == ADMIN_CLIENTS || xs2s_host_watch(cfd, POLLIN, admin_client_io, &admin_clients[i]) < 0) {
			close(cfd);
			continue;
		}
		admin_clients[i].fd = cfd;
		admin_clients[i].mode = ADMIN_READ;
		admin_clients[i].serial = ++serial;
		admin_clients[i].req_len = 0;
		admin_clients[i].resp_len = 0;
		admin_clients[i].resp_off = 0;
	}
}

static int admin_open(const char *path)
{
	struct sockaddr_un sa;
	unsigned i;

	for (i = 0; i < ADMIN_CLIENTS; i++)
		admin_clients[i].fd = -1;
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof sa.sun_path)
		return -1;
	strcpy(sa.sun_path, path);
	admin_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (admin_fd < 0)
		return -1;
	unlink(path);
	if (bind(admin_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(admin_fd, ADMIN_CLIENTS) < 0)
		return -1;
	chmod(path, 0660);
	return xs2s_host_watch(admin_fd, POLLIN, admin_accept, NULL);
}

enum { OPT_DOMAIN = 256, OPT_LISTEN, OPT_CERT, OPT_KEY, OPT_CA, OPT_HOSTMAP, OPT_ADMIN, OPT_SECRET, OPT_POLICY,
       OPT_LOGLEVEL, OPT_AUTH, OPT_SECURE, OPT_INSECURE_DOMAIN, OPT_HELP, OPT_DNS, OPT_TAP, OPT_TAP_IP, OPT_TAP_GW,
       OPT_TAP_IP6, OPT_CONFIG, OPT_SYSLOG, OPT_ACCOUNT, OPT_SUB_POLICY, OPT_ALLOW_SUB, OPT_SUBS_FILE,
       OPT_COMPONENT, OPT_COMPONENT_LISTEN, OPT_NO_BIDI, OPT_PING_IDLE, OPT_PING_TIMEOUT, OPT_ALLOW_DOMAIN, OPT_DENY_DOMAIN,
       OPT_RATE, OPT_RATE_BURST, OPT_RATE_HARD, OPT_LISTEN_TLS, OPT_ROUTE_DEADLINE,
       OPT_SM, OPT__END };

static const struct option opts[] = {
	{ "domain", required_argument, NULL, OPT_DOMAIN },     { "listen", required_argument, NULL, OPT_LISTEN },
	{ "cert", required_argument, NULL, OPT_CERT },         { "key", required_argument, NULL, OPT_KEY },
	{ "ca", required_argument, NULL, OPT_CA },             { "host-map", required_argument, NULL, OPT_HOSTMAP },
	{ "admin", required_argument, NULL, OPT_ADMIN },       { "dialback-secret", required_argument, NULL, OPT_SECRET },
	{ "tls-policy", required_argument, NULL, OPT_POLICY }, { "log-level", required_argument, NULL, OPT_LOGLEVEL },
	{ "auth", required_argument, NULL, OPT_AUTH },         { "secure-auth", no_argument, NULL, OPT_SECURE },
	{ "insecure-domain", required_argument, NULL, OPT_INSECURE_DOMAIN },
	{ "dns-server", required_argument, NULL, OPT_DNS },    { "syslog", no_argument, NULL, OPT_SYSLOG },
	{ "account", required_argument, NULL, OPT_ACCOUNT },   { "subscription-policy", required_argument, NULL, OPT_SUB_POLICY },
	{ "allow-subscriber", required_argument, NULL, OPT_ALLOW_SUB },
	{ "subscriptions-file", required_argument, NULL, OPT_SUBS_FILE },
	{ "component", required_argument, NULL, OPT_COMPONENT },
	{ "component-listen", required_argument, NULL, OPT_COMPONENT_LISTEN },
	{ "no-bidi", no_argument, NULL, OPT_NO_BIDI },
	{ "ping-idle", required_argument, NULL, OPT_PING_IDLE }, { "ping-timeout", required_argument, NULL, OPT_PING_TIMEOUT },
	{ "allow-domain", required_argument, NULL, OPT_ALLOW_DOMAIN },
	{ "deny-domain", required_argument, NULL, OPT_DENY_DOMAIN },
	{ "rate", required_argument, NULL, OPT_RATE },         { "rate-burst", required_argument, NULL, OPT_RATE_BURST },
	{ "rate-hard", required_argument, NULL, OPT_RATE_HARD },
	{ "listen-tls", required_argument, NULL, OPT_LISTEN_TLS },
	{ "route-deadline", required_argument, NULL, OPT_ROUTE_DEADLINE },
	{ "stream-management", required_argument, NULL, OPT_SM },
#ifdef CONFIG_XS2S_PORT_LWIP
	{ "tap", required_argument, NULL, OPT_TAP },           { "tap-ip", required_argument, NULL, OPT_TAP_IP },
	{ "tap-gw", required_argument, NULL, OPT_TAP_GW },     { "tap-ip6", required_argument, NULL, OPT_TAP_IP6 },
#endif
	{ "config", required_argument, NULL, OPT_CONFIG },     { "help", no_argument, NULL, OPT_HELP },
	{ NULL, 0, NULL, 0 },
};

/* Everything the options set, before the engine starts. */
struct settings {
	struct xs2s_config cfg;       /* domains, secret, policy, auth, secure-auth */
	unsigned ndom;
	char listen[80];
	char exceptions[512];         /* secure-auth exceptions, space-separated */
	char host_map[4096];          /* --host-map entries, space-separated */
	char components[COMPONENTS_TEXT]; /* --component entries, space-separated; never logged */
	char allow[1024], deny[1024]; /* --allow-domain, --deny-domain entries, space-separated */
	const char *cert, *key, *ca, *admin;
	bool syslog;
#ifdef CONFIG_XS2S_PORT_LWIP
	const char *tap, *tap_ip, *tap_gw, *tap_ip6;
#endif
};

/* --auth sasl-external,dialback */
static int parse_auth(const char *s, struct xs2s_config *cfg)
{
	char buf[64], *save = NULL, *tok;

	snprintf(buf, sizeof buf, "%s", s);
	cfg->auth_sasl_external = cfg->auth_dialback = false;
	for (tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		if (!strcmp(tok, "sasl-external"))
			cfg->auth_sasl_external = true;
		else if (!strcmp(tok, "dialback"))
			cfg->auth_dialback = true;
		else
			return -1;
	}
	return cfg->auth_sasl_external || cfg->auth_dialback ? 0 : -1;
}

/* yes/no for an option without argument in the file; the command line's is NULL (yes). */
static int parse_bool(const char *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" }, *const no[] = { "no", "false", "off", "0" };
	unsigned i;

	if (!v)
		return 1;
	for (i = 0; i < sizeof yes / sizeof yes[0]; i++) {
		if (!strcmp(v, yes[i]))
			return 1;
		if (!strcmp(v, no[i]))
			return 0;
	}
	return -1;
}

static void settings_defaults(struct settings *s)
{
	memset(s, 0, sizeof *s);
	xs2s_config_defaults(&s->cfg);
	snprintf(s->listen, sizeof s->listen, "%s", CONFIG_XS2S_LISTEN);
	snprintf(s->exceptions, sizeof s->exceptions, "%s", CONFIG_XS2S_SECURE_AUTH_EXCEPTIONS);
#ifdef CONFIG_XS2S_POLICY
	/* --allow-domain and --deny-domain add to the Kconfig lists. */
	snprintf(s->allow, sizeof s->allow, "%s", CONFIG_XS2S_ALLOW_DOMAINS);
	snprintf(s->deny, sizeof s->deny, "%s", CONFIG_XS2S_DENY_DOMAINS);
	s->cfg.allow_domains = s->allow;
	s->cfg.deny_domains = s->deny;
#endif
	s->cert = CONFIG_XS2S_CERT_FILE;
	s->key = CONFIG_XS2S_KEY_FILE;
	s->ca = CONFIG_XS2S_CA_FILE;
	s->admin = CONFIG_XS2S_POSIX_ADMIN_PATH;
	xs2sd_acct_defaults(&s->cfg);
#ifdef CONFIG_XS2S_PORT_LWIP
	s->tap = CONFIG_XS2S_LWIP_HOST_TAP;
	s->tap_ip = CONFIG_XS2S_LWIP_HOST_IPV4;
	s->tap_gw = CONFIG_XS2S_LWIP_HOST_GW;
	s->tap_ip6 = CONFIG_XS2S_LWIP_HOST_IPV6;
#endif
}

/* Apply one option from the command line or the file: 0, or -1 after saying
 * what is wrong at `where`. val stays referenced: argv or the file's buffer,
 * both kept for the life of the process. */
static int set_option(struct settings *s, int id, const char *val, const char *where)
{
	int b;

	switch (id) {
	case OPT_DOMAIN:
		if (s->ndom >= CONFIG_XS2S_MAX_DOMAINS) {
			fprintf(stderr, "xs2sd: %s: at most %d domains (CONFIG_XS2S_MAX_DOMAINS)\n", where,
				CONFIG_XS2S_MAX_DOMAINS);
			return -1;
		}
		s->cfg.domains[s->ndom++] = val;
		return 0;
	case OPT_LISTEN: {
		char tmp[sizeof s->listen];
		const char *addr;
		uint16_t port;

		if (strlen(val) >= sizeof tmp || (snprintf(tmp, sizeof tmp, "%s", val), split_listen(tmp, &addr, &port) < 0)) {
			fprintf(stderr, "xs2sd: %s: bad listen address '%s' (want ADDR:PORT, [V6]:PORT)\n", where, val);
			return -1;
		}
		snprintf(s->listen, sizeof s->listen, "%s", val);
		return 0;
	}
	case OPT_LISTEN_TLS: {
#ifdef CONFIG_XS2S_DIRECT_TLS
		char tmp[sizeof s->listen];
		const char *addr;
		uint16_t port;

		if (strlen(val) >= sizeof tmp || (snprintf(tmp, sizeof tmp, "%s", val), split_listen(tmp, &addr, &port) < 0)) {
			fprintf(stderr, "xs2sd: %s: bad direct TLS listen address '%s' (want ADDR:PORT, [V6]:PORT)\n", where,
				val);
			return -1;
		}
		s->cfg.listen_tls = val;
		return 0;
#else
		fprintf(stderr, "xs2sd: %s %s: this build has no direct TLS (CONFIG_XS2S_DIRECT_TLS is off)\n", where, val);
		return -1;
#endif
	}
	case OPT_CERT: s->cert = val; return 0;
	case OPT_KEY: s->key = val; return 0;
	case OPT_CA: s->ca = val; return 0;
	case OPT_ADMIN: s->admin = val; return 0;
	case OPT_SECRET: s->cfg.dialback_secret = val; return 0;
	case OPT_SM:
		if (strcmp(val, "on") && strcmp(val, "off")) {
			fprintf(stderr, "xs2sd: %s: bad stream-management '%s' (want on or off)\n", where, val);
			return -1;
		}
#if !CONFIG_XS2S_SM
		if (!strcmp(val, "on")) {
			fprintf(stderr, "xs2sd: %s: this build has no stream management (CONFIG_XS2S_SM is off)\n", where);
			return -1;
		}
#endif
		s->cfg.stream_management = !strcmp(val, "on");
		return 0;
	case OPT_ROUTE_DEADLINE: {
		char *end;
		unsigned long v = strtoul(val, &end, 10);

		if (!*val || *end || v > 3600) {
			fprintf(stderr, "xs2sd: %s: bad route deadline '%s' (want 0..3600 seconds)\n", where, val);
			return -1;
		}
		s->cfg.route_deadline_s = (uint32_t)v;
		return 0;
	}
	case OPT_HOSTMAP: {
		size_t n = strlen(s->host_map);

		if (!xs2s_hostmap_entry_valid(val) || strchr(val, ' ') || n + strlen(val) + 2 > sizeof s->host_map) {
			fprintf(stderr, "xs2sd: %s: bad host map '%s' (want domain=addr:port, or domain=addr:port/tls for "
				"direct TLS)\n", where, val);
			return -1;
		}
		snprintf(s->host_map + n, sizeof s->host_map - n, "%s%s", n ? " " : "", val);
		s->cfg.host_map = s->host_map;
		return 0;
	}
	case OPT_DNS:
#ifdef CONFIG_XS2S_DNS
		if (!xs2s_dns_server_valid(val)) {
			fprintf(stderr, "xs2sd: %s: bad DNS server '%s' (want ADDR[:PORT])\n", where, val);
			return -1;
		}
		s->cfg.dns_server = val;
		return 0;
#else
		fprintf(stderr, "xs2sd: %s %s: this build has no DNS client (CONFIG_XS2S_DNS is off); "
			"peers come from the host map only\n", where, val);
		return -1;
#endif
	case OPT_COMPONENT:
	case OPT_COMPONENT_LISTEN:
#ifdef CONFIG_XS2S_COMPONENTS
		if (id == OPT_COMPONENT_LISTEN) {
			char tmp[80];
			const char *addr;
			uint16_t port;

			if (strlen(val) >= sizeof tmp ||
			    (snprintf(tmp, sizeof tmp, "%s", val), split_listen(tmp, &addr, &port) < 0)) {
				fprintf(stderr, "xs2sd: %s: bad component listen address '%s' (want ADDR:PORT, [V6]:PORT)\n",
					where, val);
				return -1;
			}
			s->cfg.component_listen = val;
			return 0;
		}
		{
			size_t n = strlen(s->components);
			const char *eq = strchr(val, '=');

			/* The secret is never printed: only the name (nothing when there
			 * is no '=': the value may be a secret alone). */
			if (!xs2s_component_entry_valid(val)) {
				fprintf(stderr, "xs2sd: %s: bad component %s%.*s%s (want NAME=SECRET: NAME a domain, "
					"SECRET 1-128 characters without spaces)\n", where, eq ? "'" : "(no '=')",
					eq ? (int)(eq - val) : 0, val, eq ? "=...'" : "");
				return -1;
			}
			if (n + strlen(val) + 2 > sizeof s->components) {
				fprintf(stderr, "xs2sd: %s: too many components (%zu bytes at most)\n", where,
					sizeof s->components - 1);
				return -1;
			}
			snprintf(s->components + n, sizeof s->components - n, "%s%s", n ? " " : "", val);
			s->cfg.components = s->components;
			return 0;
		}
#else
		fprintf(stderr, "xs2sd: %s: this build has no XEP-0114 components (CONFIG_XS2S_COMPONENTS is off)\n",
			where);
		return -1;
#endif
	case OPT_POLICY:
		if (!strcmp(val, "required"))
			s->cfg.tls_policy = XS2S_TLS_POLICY_REQUIRED;
		else if (!strcmp(val, "optional"))
			s->cfg.tls_policy = XS2S_TLS_POLICY_OPTIONAL_INSECURE;
		else {
			fprintf(stderr, "xs2sd: %s: bad TLS policy '%s' (required or optional)\n", where, val);
			return -1;
		}
		return 0;
	case OPT_AUTH:
		if (parse_auth(val, &s->cfg) < 0) {
			fprintf(stderr, "xs2sd: %s: bad auth '%s' (sasl-external, dialback or both, comma-separated)\n",
				where, val);
			return -1;
		}
		return 0;
	case OPT_INSECURE_DOMAIN: {
		size_t n = strlen(s->exceptions);

		if (n + 1 + strlen(val) >= sizeof s->exceptions) {
			fprintf(stderr, "xs2sd: %s: too many insecure domains (%zu bytes at most)\n", where,
				sizeof s->exceptions - 1);
			return -1;
		}
		snprintf(s->exceptions + n, sizeof s->exceptions - n, " %s", val);
		return 0;
	}
	case OPT_LOGLEVEL: {
		int lvl = parse_log_level(val);

		if (lvl < 0) {
			fprintf(stderr, "xs2sd: %s: bad log level '%s' (error, warn, info, debug or 1-4)\n", where, val);
			return -1;
		}
		xs2s_log_level = lvl;
		return 0;
	}
	case OPT_SECURE:
	case OPT_SYSLOG:
	case OPT_NO_BIDI:
		b = parse_bool(val);
		if (b < 0) {
			fprintf(stderr, "xs2sd: %s: bad value '%s' (yes or no)\n", where, val);
			return -1;
		}
		if (id == OPT_SECURE)
			s->cfg.secure_auth = b;
		else if (id == OPT_NO_BIDI)
			s->cfg.bidi = !b; /* XEP-0288 (ignored when CONFIG_XS2S_BIDI is off) */
		else
			s->syslog = b;
		return 0;
#ifdef CONFIG_XS2S_PORT_LWIP
	case OPT_TAP: s->tap = val; return 0;
	case OPT_TAP_IP: s->tap_ip = val; return 0;
	case OPT_TAP_GW: s->tap_gw = val; return 0;
	case OPT_TAP_IP6: s->tap_ip6 = val; return 0;
#endif
	case OPT_PING_IDLE:
	case OPT_PING_TIMEOUT:
	case OPT_RATE:
	case OPT_RATE_BURST:
	case OPT_RATE_HARD: {
		static const unsigned lo[] = { 0, 1, 0, 2, 0 }, hi[] = { 86400, 600, 100000, 100000, 3600 };
		unsigned k = id == OPT_PING_IDLE ? 0 : id == OPT_PING_TIMEOUT ? 1 : id == OPT_RATE ? 2
			     : id == OPT_RATE_BURST ? 3 : 4;
		char *end;
		unsigned long v = strtoul(val, &end, 10);

		if (!*val || *end || v < lo[k] || v > hi[k]) {
			fprintf(stderr, "xs2sd: %s: bad value '%s' (a number from %u to %u)\n", where, val, lo[k], hi[k]);
			return -1;
		}
#ifndef CONFIG_XS2S_POLICY
		if (k >= 2) {
			fprintf(stderr, "xs2sd: %s: this build has no per-peer policy (CONFIG_XS2S_POLICY is off)\n", where);
			return -1;
		}
#endif
		*(k == 0 ? &s->cfg.ping_idle_s : k == 1 ? &s->cfg.ping_timeout_s : k == 2 ? &s->cfg.rate
		  : k == 3 ? &s->cfg.rate_burst : &s->cfg.rate_hard_s) = (unsigned)v;
		return 0;
	}
	case OPT_ALLOW_DOMAIN:
	case OPT_DENY_DOMAIN: {
#ifdef CONFIG_XS2S_POLICY
		char *list = id == OPT_ALLOW_DOMAIN ? s->allow : s->deny;
		size_t n = strlen(list);

		if (!val[0] || strchr(val, ' ') || n + strlen(val) + 2 > sizeof s->allow) {
			fprintf(stderr, "xs2sd: %s: bad or too many domains '%s'\n", where, val);
			return -1;
		}
		snprintf(list + n, sizeof s->allow - n, "%s%s", n ? " " : "", val);
		if (id == OPT_ALLOW_DOMAIN)
			s->cfg.allow_domains = s->allow;
		else
			s->cfg.deny_domains = s->deny;
		return 0;
#else
		fprintf(stderr, "xs2sd: %s: this build has no per-peer policy (CONFIG_XS2S_POLICY is off)\n", where);
		return -1;
#endif
	}
	case OPT_ACCOUNT: return xs2sd_acct_option(&s->cfg, XS2SD_ACCT_ACCOUNT, val, where);
	case OPT_SUB_POLICY: return xs2sd_acct_option(&s->cfg, XS2SD_ACCT_POLICY, val, where);
	case OPT_ALLOW_SUB: return xs2sd_acct_option(&s->cfg, XS2SD_ACCT_ALLOW, val, where);
	case OPT_SUBS_FILE: return xs2sd_acct_option(&s->cfg, XS2SD_ACCT_FILE, val, where);
	default:
		fprintf(stderr, "xs2sd: %s: not allowed here\n", where);
		return -1;
	}
}

static const struct option *option_by_id(int id)
{
	const struct option *o;

	for (o = opts; o->name; o++)
		if (o->val == id)
			return o;
	return NULL;
}

static bool repeatable(int id)
{
	return id == OPT_DOMAIN || id == OPT_HOSTMAP || id == OPT_INSECURE_DOMAIN || id == OPT_ACCOUNT ||
	       id == OPT_ALLOW_SUB || id == OPT_COMPONENT || id == OPT_ALLOW_DOMAIN || id == OPT_DENY_DOMAIN;
}

/* Read and apply the configuration file. cli_has[id - OPT_DOMAIN]: the
 * command line gives this option (its repeatable lists then replace the
 * file's). 0, or -1 after an error message naming the file and line. */
static int load_config(struct settings *s, const char *path, const bool *cli_has)
{
	size_t len = 0;
	char *buf = config_text = (char *)read_file(path, &len), *line, *next;
	unsigned lineno = 0;

	if (!buf && errno == ENODATA)
		return 0; /* an empty file sets nothing */
	if (!buf) {
		fprintf(stderr, "xs2sd: cannot read configuration file %s: %s\n", path, read_error());
		return -1;
	}
	if (len > CONF_MAX_BYTES || strlen(buf) != len) {
		fprintf(stderr, "xs2sd: %s: not a configuration file (more than %u bytes, or a NUL byte)\n", path,
			(unsigned)CONF_MAX_BYTES);
		return -1;
	}
	/* buf (config_text) is never freed: the settings point into it. */
	for (line = buf; line; line = next) {
		char where[WHERE_MAX], *key, *eq, *val, *end;
		const struct option *o;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		snprintf(where, sizeof where, "%s:%u", path, lineno);
		for (key = line; *key == ' ' || *key == '\t'; key++)
			;
		for (end = key + strlen(key); end > key && strchr(" \t\r", end[-1]); end--)
			;
		*end = '\0';
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq) {
			fprintf(stderr, "xs2sd: %s: expected 'key = value', got '%s'\n", where, key);
			return -1;
		}
		for (val = eq + 1; *val == ' ' || *val == '\t'; val++)
			;
		for (end = eq; end > key && (end[-1] == ' ' || end[-1] == '\t'); end--)
			;
		*end = '\0';
		for (o = opts; o->name && strcmp(o->name, key); o++)
			;
		if (!o->name || o->val == OPT_CONFIG || o->val == OPT_HELP) {
			fprintf(stderr, "xs2sd: %s: unknown key '%s' (the keys are xs2sd's long options: xs2sd --help)\n",
				where, key);
			return -1;
		}
		if (o->has_arg == required_argument && !*val) {
			fprintf(stderr, "xs2sd: %s: %s needs a value\n", where, key);
			return -1;
		}
		if (repeatable(o->val) && cli_has[o->val - OPT_DOMAIN])
			continue;
		if (set_option(s, o->val, val, where) < 0)
			return -1;
	}
	return 0;
}

/* Kconfig defaults, then the file, then the command line. 0 to start, 1 to
 * exit 0 (--help), -1 to exit 2. */
static int parse_settings(struct settings *s, int argc, char **argv)
{
	bool cli_has[OPT__END - OPT_DOMAIN] = { false };
	const char *config = NULL;
	int o;

	settings_defaults(s);
	/* Pass 1: which options the command line gives, and --config. */
	opterr = 1;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == OPT_HELP || o == 'h') {
			usage(stdout);
			return 1;
		}
		if (o < OPT_DOMAIN || o >= OPT__END) {
			usage(stderr);
			return -1;
		}
		cli_has[o - OPT_DOMAIN] = true;
		if (o == OPT_CONFIG)
			config = optarg;
	}
	if (optind < argc) {
		usage(stderr);
		return -1;
	}
	if (config && load_config(s, config, cli_has) < 0)
		return -1;
	/* Pass 2: the command line wins. */
	optind = 0;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		char where[WHERE_MAX];

		if (o == OPT_CONFIG)
			continue;
		snprintf(where, sizeof where, "--%s", option_by_id(o)->name);
		if (set_option(s, o, optarg, where) < 0)
			return -1;
	}
	s->cfg.secure_auth_exceptions = s->exceptions;
	return 0;
}

/* Certificate, key and CAs from their files into cfg (malloc'd buffers). With
 * TLS required a certificate or key that cannot be read is fatal (-1);
 * otherwise it is a warning and TLS is off. A missing CA file is a warning. */
static int read_credentials(const struct settings *s, struct xs2s_config *cfg, const char *what)
{
	uint8_t *cert = read_file(s->cert, &cfg->cert_len);
	const char *cert_err = cert ? NULL : read_error();
	uint8_t *key = read_file(s->key, &cfg->key_len);
	const char *key_err = key ? NULL : read_error();
	uint8_t *ca = read_file(s->ca, &cfg->ca_len);

	if (!ca)
		XS2S_LOGW(0, "%scannot read CA file %s: %s: every peer certificate is untrusted", what, s->ca,
			  read_error());
	if (!cert || !key) {
		if (!cert)
			XS2S_LOGE(0, "%scannot read certificate %s: %s", what, s->cert, cert_err);
		if (!key)
			XS2S_LOGE(0, "%scannot read key %s: %s", what, s->key, key_err);
		free(cert);
		free(key);
		cert = key = NULL;
	}
	cfg->cert_pem = cert;
	cfg->key_pem = key;
	cfg->ca_pem = ca;
	return cert ? 0 : -1;
}

static void free_credentials(struct xs2s_config *cfg)
{
	if (cfg->key_pem)
		memset((void *)cfg->key_pem, 0, cfg->key_len);
	free((void *)cfg->cert_pem);
	free((void *)cfg->key_pem);
	free((void *)cfg->ca_pem);
	cfg->cert_pem = cfg->key_pem = cfg->ca_pem = NULL;
}

/* SIGHUP: the same files again; the engine keeps the old credentials on any error. */
static void reload_credentials(const struct settings *s)
{
	struct xs2s_config c;

	XS2S_LOGI(0, "SIGHUP: reloading certificate %s, key %s, CAs %s", s->cert, s->key, s->ca);
	memset(&c, 0, sizeof c);
	if (read_credentials(s, &c, "reload: ") < 0)
		XS2S_LOGE(0, "reload: the old certificate and key stay in use");
	else
		xs2s_engine_reload_credentials(&eng, &c);
	free_credentials(&c);
}

/* After the engine stopped: what the inbox still holds dies with the process.
 * Bounces are the stanzas that were queued; say so (no bodies in the log). */
static void report_inbox_left(void)
{
	struct xs2s_inbox_msg m;
	unsigned unread = 0;

	while (xs2s_inbox_peek(&eng, &m) == XS2S_OK) {
		if (m.error[0])
			XS2S_LOGW(0, "exiting with an unread bounce for %s from %s: %s%s%s", m.to, m.from, m.error,
				  m.error_text[0] ? ": " : "", m.error_text);
		else
			unread++;
		xs2s_inbox_pop(&eng);
	}
	if (unread)
		XS2S_LOGW(0, "exiting with %u received message%s never read from the inbox", unread,
			  unread == 1 ? "" : "s");
}

int main(int argc, char **argv)
{
	static struct settings s;
	struct sigaction sa;
	uint32_t stop_at = 0;
	int rc;

	rc = parse_settings(&s, argc, argv);
	if (rc)
		return rc > 0 ? 0 : 2;
	if (split_listen(s.listen, &s.cfg.listen_addr, &s.cfg.listen_port) < 0)
		return 2; /* checked by set_option; the Kconfig default is not */
	if (s.syslog)
		xs2s_host_log_syslog("xs2sd");
	xs2sd_acct_finish(&s.cfg);
	/* Without them the engine neither offers nor uses STARTTLS (and says so). */
	if (read_credentials(&s, &s.cfg, "") < 0 && s.cfg.tls_policy == XS2S_TLS_POLICY_REQUIRED) {
		XS2S_LOGE(0, "TLS is required and the certificate or key cannot be read: not starting");
		if (s.syslog)
			fprintf(stderr, "xs2sd: cannot read certificate %s or key %s (TLS required): not starting\n",
				s.cert, s.key);
		return 1;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal; /* no SA_RESTART: poll() returns at once */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
#ifdef CONFIG_XS2S_PORT_LWIP
	if (xs2s_lwip_init() != XS2S_OK || xs2s_lwip_hostsim_tap(s.tap, s.tap_ip, s.tap_gw, s.tap_ip6) != XS2S_OK) {
		fprintf(stderr, "xs2sd: cannot start lwIP on TAP device %s\n", s.tap);
		return 1;
	}
	xs2s_lwip_hostsim_serve_host_fds();
	XS2S_LOGI(0, "lwIP host simulation: TAP %s, %s via %s%s%s", s.tap, s.tap_ip, s.tap_gw, s.tap_ip6[0] ? ", " : "",
		  s.tap_ip6);
#endif
	if (xs2s_engine_start(&eng, &s.cfg) != XS2S_OK) {
		fprintf(stderr, "xs2sd: start-up failed%s\n",
			s.cfg.cert_pem ? " (see the log; a certificate or key that cannot be used stops it)" : "");
		return 1;
	}
	/* Secrets and keys now live in the engine (or wolfSSL's arena). */
	free_credentials(&s.cfg);
	/* xs2sctl watch: the first handler sees every stanza for a local JID
	 * and claims none (the inbox, the built-in answers keep theirs). */
	if (xs2s_handler_add(&eng, &(struct xs2s_match){ .kind = XS2S_ANY_KIND }, admin_watch_stanza, NULL) < 0)
		XS2S_LOGE(0, "admin: cannot register the watch handler: xs2sctl watch shows nothing");
	for (unsigned i = 0; i < CONFIG_XS2S_MAX_DOMAINS && s.cfg.domains[i]; i++)
		snprintf(admin_domains + strlen(admin_domains), sizeof admin_domains - strlen(admin_domains), "%s%s",
			 i ? ", " : "", s.cfg.domains[i]);
	if (admin_open(s.admin) < 0) {
		fprintf(stderr, "xs2sd: cannot open admin socket %s: %s\n", s.admin, strerror(errno));
		return 1;
	}
	for (;;) {
		xs2s_engine_poll(&eng, POLL_MS);
		if (reload_requested && !stop_at) {
			reload_requested = 0;
			reload_credentials(&s);
		}
		if (stop_requested && !stop_at) {
			XS2S_LOGI(0, "stopping: closing every stream");
			xs2s_engine_stop(&eng);
			stop_at = xs2s_port_now_ms() + STOP_GRACE_MS;
		}
		if (stop_at && (xs2s_engine_idle(&eng) || (int32_t)(xs2s_port_now_ms() - stop_at) >= 0))
			break;
	}
	xs2s_engine_fini(&eng);
	unlink(s.admin);
	report_inbox_left();
#ifdef CONFIG_XS2S_PORT_LWIP
	/* lwIP's TCP dies with this process: let it finish the closes first. */
	if (xs2s_lwip_quiesce(QUIESCE_MS) != XS2S_OK)
		XS2S_LOGW(0, "lwIP: some TCP connections were still closing after %u ms", QUIESCE_MS);
#endif
	XS2S_LOGI(0, "stopped");
	free(config_text);
	return 0;
}
