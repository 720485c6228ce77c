/* xs2sd: the host daemon. Kconfig gives the defaults, the command line
 * overrides them; an admin unix socket serves xs2sctl (status, send, inbox).
 * Everything is read and reserved before the engine starts.
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include "xs2s.h"
#include "xs2s_config.h"
#include "log.h"
#include "port.h"
#include "hostwatch.h"
#include "resolve.h"
#ifdef CONFIG_XS2S_PORT_LWIP
#include "lwip/port_lwip.h"
#endif

#define ADMIN_CLIENTS 4
#define ADMIN_REQ_MAX (CONFIG_XS2S_MAX_STANZA + 1024)
#define ADMIN_RESP_MAX CONFIG_XS2S_POSIX_ADMIN_RESP
#define STOP_GRACE_MS 3000u
#define QUIESCE_MS 1000u /* lwIP: at most this long for TCP closes after the engine stopped */
#define POLL_MS 1000u

struct admin_client {
	int fd;                       /* -1: free */
	size_t req_len;
	char req[ADMIN_REQ_MAX];
	size_t resp_len, resp_off;
	char resp[ADMIN_RESP_MAX];
};

static struct admin_client admin_clients[ADMIN_CLIENTS];
static int admin_fd = -1;
static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xs2sd [options]\n"
		"  --domain D              local XMPP domain (repeat once more for an alias)   [%s]\n"
		"  --listen ADDR:PORT      s2s listen address ([::1]:5269 for IPv6)            [%s]\n"
		"  --cert FILE             our certificate chain (PEM)                         [%s]\n"
		"  --key FILE              our private key (PEM)                               [%s]\n"
		"  --ca FILE               trusted CA certificates (PEM)                       [%s]\n"
		"  --host-map D=ADDR:PORT  static address of a peer domain (repeatable)\n"
		"  --dns-server ADDR[:PORT] DNS server for SRV/A/AAAA lookups (default: resolv.conf)\n"
		"  --admin PATH            admin socket for xs2sctl                            [%s]\n"
		"  --dialback-secret S     XEP-0185 secret (default: random at start)\n"
		"  --tls-policy P          required | optional (INSECURE plaintext fallback)   [%s]\n"
		"  --auth LIST             methods: sasl-external,dialback (either or both)    [%s%s%s]\n"
		"  --secure-auth           refuse peers without a valid certificate            [%s]\n"
		"  --insecure-domain D     exempt D from --secure-auth (repeatable)\n"
		"  --log-level L           error | warn | info | debug (or 1-4)                [%d]\n"
#ifdef CONFIG_XS2S_PORT_LWIP
		"lwIP host simulation (the TAP device must exist and be up on the kernel side):\n"
		"  --tap IFNAME            TAP device lwIP attaches to                         [%s]\n"
		"  --tap-ip ADDR/PREFIX    lwIP's IPv4 address on it                           [%s]\n"
		"  --tap-gw ADDR           lwIP's IPv4 default gateway                         [%s]\n"
		"  --tap-ip6 ADDR          lwIP's static IPv6 address on it (optional)         [%s]\n"
#endif
		,
		CONFIG_XS2S_DOMAIN, CONFIG_XS2S_LISTEN, CONFIG_XS2S_CERT_FILE, CONFIG_XS2S_KEY_FILE,
		CONFIG_XS2S_CA_FILE, CONFIG_XS2S_POSIX_ADMIN_PATH, CONFIG_XS2S_TLS_REQUIRED ? "required" : "optional",
		IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_SASL_EXTERNAL) ? "sasl-external" : "",
		IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_SASL_EXTERNAL) && IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_DIALBACK) ? "," : "",
		IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_DIALBACK) ? "dialback" : "",
		IS_ENABLED_XS2S(CONFIG_XS2S_SECURE_AUTH) ? "on" : "off", CONFIG_XS2S_LOG_LEVEL
#ifdef CONFIG_XS2S_PORT_LWIP
		, CONFIG_XS2S_LWIP_HOST_TAP, CONFIG_XS2S_LWIP_HOST_IPV4, CONFIG_XS2S_LWIP_HOST_GW, CONFIG_XS2S_LWIP_HOST_IPV6
#endif
		);
}

/* Read a whole file into a malloc'd buffer (start-up only). */
static uint8_t *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
		buf = malloc((size_t)n + 1);
		if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else if (buf) {
			buf[n] = 0;
			*len = (size_t)n;
		}
	}
	fclose(f);
	return buf;
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

/* ---- admin socket ---- */

static void admin_close(struct admin_client *c)
{
	xs2s_host_unwatch(c->fd);
	close(c->fd);
	c->fd = -1;
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

/* Drain as many inbox messages as fit in the response. */
static void admin_inbox(struct xs2s_wbuf *w, int json)
{
	struct xs2s_inbox_msg m;
	int first = 1;

	if (json)
		xs2s_w_raw(w, "{\"messages\":[");
	while (xs2s_inbox_peek(&m) == XS2S_OK) {
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
			xs2s_w_raw(w, ",\"body\":");
			xs2s_w_json(w, m.body);
			xs2s_w_raw(w, "}");
		} else {
			xs2s_w_fmt(w, "%s -> %s [%s%s%s] %s\n", m.from, m.to, m.type, m.error[0] ? ": " : "", m.error,
				   m.body);
		}
		if (w->overflow || w->len + 3 > w->cap) {
			w->overflow = 0; /* keep what fitted; the rest stays for next time */
			w->len = mark;
			w->p[mark] = '\0';
			break;
		}
		first = 0;
		xs2s_inbox_pop();
	}
	if (json)
		xs2s_w_raw(w, "]}\n");
	else if (first)
		xs2s_w_raw(w, "(no messages)\n");
}

static void admin_handle(struct admin_client *c)
{
	struct xs2s_wbuf w;
	char *req = c->req, *nl = strchr(req, '\n');

	if (nl)
		*nl = '\0';
	xs2s_w_init(&w, c->resp, sizeof c->resp);
	if (!strcmp(req, "status")) {
		xs2s_status_text(&w);
	} else if (!strcmp(req, "status-json")) {
		xs2s_status_json(&w);
		xs2s_w_raw(&w, "\n");
	} else if (!strcmp(req, "inbox") || !strcmp(req, "inbox-json")) {
		admin_inbox(&w, req[5] == '-');
	} else if (!strncmp(req, "send\t", 5)) {
		char *from = req + 5, *to = strchr(from, '\t'), *body = to ? strchr(to + 1, '\t') : NULL;
		int rc;

		if (!body) {
			xs2s_w_raw(&w, "error: send needs from, to and body\n");
		} else {
			*to++ = '\0';
			*body++ = '\0';
			admin_unescape(body);
			rc = xs2s_send_message(from, to, body);
			if (rc == XS2S_OK)
				xs2s_w_raw(&w, "ok\n");
			else
				xs2s_w_fmt(&w, "error: %s\n", rc == XS2S_EINVAL ? "bad JID, or the sender is not local"
						  : rc == XS2S_ENOMEM ? "no room (queue or link slots full): resource-constraint"
						  : xs2s_err_name(rc));
		}
	} else {
		xs2s_w_raw(&w, "error: unknown command\n");
	}
	c->resp_len = w.len;
	c->resp_off = 0;
}

static void admin_client_io(int fd, short revents, void *ctx)
{
	struct admin_client *c = ctx;
	ssize_t n;

	(void)fd;
	if (c->resp_len == 0 && (revents & (POLLIN | POLLHUP | POLLERR))) {
		n = read(c->fd, c->req + c->req_len, sizeof c->req - 1 - c->req_len);
		if (n <= 0 && !(n < 0 && errno == EAGAIN)) {
			admin_close(c);
			return;
		}
		if (n > 0)
			c->req_len += (size_t)n;
		c->req[c->req_len] = '\0';
		if (!memchr(c->req, '\n', c->req_len)) {
			if (c->req_len >= sizeof c->req - 1)
				admin_close(c);
			return;
		}
		admin_handle(c);
		if (!c->resp_len) {
			admin_close(c);
			return;
		}
		xs2s_host_watch(c->fd, POLLOUT, admin_client_io, c);
		revents = POLLOUT;
	}
	if (c->resp_len && (revents & POLLOUT)) {
		n = write(c->fd, c->resp + c->resp_off, c->resp_len - c->resp_off);
		if (n < 0 && errno == EAGAIN)
			return;
		if (n > 0)
			c->resp_off += (size_t)n;
		if (n <= 0 || c->resp_off == c->resp_len)
			admin_close(c);
	}
}

static void admin_accept(int fd, short revents, void *ctx)
{
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
		admin_clients[i].req_len = 0;
		admin_clients[i].resp_len = 0;
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
       OPT_TAP_IP6 };

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

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "domain", required_argument, NULL, OPT_DOMAIN },     { "listen", required_argument, NULL, OPT_LISTEN },
		{ "cert", required_argument, NULL, OPT_CERT },         { "key", required_argument, NULL, OPT_KEY },
		{ "ca", required_argument, NULL, OPT_CA },             { "host-map", required_argument, NULL, OPT_HOSTMAP },
		{ "admin", required_argument, NULL, OPT_ADMIN },       { "dialback-secret", required_argument, NULL, OPT_SECRET },
		{ "tls-policy", required_argument, NULL, OPT_POLICY }, { "log-level", required_argument, NULL, OPT_LOGLEVEL },
		{ "auth", required_argument, NULL, OPT_AUTH },         { "secure-auth", no_argument, NULL, OPT_SECURE },
		{ "insecure-domain", required_argument, NULL, OPT_INSECURE_DOMAIN },
		{ "dns-server", required_argument, NULL, OPT_DNS },
#ifdef CONFIG_XS2S_PORT_LWIP
		{ "tap", required_argument, NULL, OPT_TAP },           { "tap-ip", required_argument, NULL, OPT_TAP_IP },
		{ "tap-gw", required_argument, NULL, OPT_TAP_GW },     { "tap-ip6", required_argument, NULL, OPT_TAP_IP6 },
#endif
		{ "help", no_argument, NULL, OPT_HELP },               { NULL, 0, NULL, 0 },
	};
	struct xs2s_config cfg;
	static char listen_buf[80] = CONFIG_XS2S_LISTEN;
	static char exceptions[512] = CONFIG_XS2S_SECURE_AUTH_EXCEPTIONS;
	const char *cert = CONFIG_XS2S_CERT_FILE, *key = CONFIG_XS2S_KEY_FILE, *ca = CONFIG_XS2S_CA_FILE;
	const char *admin = CONFIG_XS2S_POSIX_ADMIN_PATH;
	unsigned ndom = 0;
	uint8_t *cert_buf, *key_buf, *ca_buf;
	int o, lvl;
	uint32_t stop_at = 0;
#ifdef CONFIG_XS2S_PORT_LWIP
	const char *tap = CONFIG_XS2S_LWIP_HOST_TAP, *tap_ip = CONFIG_XS2S_LWIP_HOST_IPV4;
	const char *tap_gw = CONFIG_XS2S_LWIP_HOST_GW, *tap_ip6 = CONFIG_XS2S_LWIP_HOST_IPV6;
#endif

	xs2s_config_defaults(&cfg);
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case OPT_DOMAIN:
			if (ndom >= CONFIG_XS2S_MAX_DOMAINS) {
				fprintf(stderr, "xs2sd: at most %d domains (CONFIG_XS2S_MAX_DOMAINS)\n", CONFIG_XS2S_MAX_DOMAINS);
				return 2;
			}
			cfg.domains[ndom++] = optarg;
			break;
		case OPT_LISTEN: snprintf(listen_buf, sizeof listen_buf, "%s", optarg); break;
		case OPT_CERT: cert = optarg; break;
		case OPT_KEY: key = optarg; break;
		case OPT_CA: ca = optarg; break;
		case OPT_HOSTMAP:
			if (xs2s_hostmap_add(optarg) != XS2S_OK) {
				fprintf(stderr, "xs2sd: bad --host-map '%s' (want domain=addr:port)\n", optarg);
				return 2;
			}
			break;
		case OPT_ADMIN: admin = optarg; break;
		case OPT_DNS:
			if (xs2s_dns_set_server(optarg) != XS2S_OK) {
				fprintf(stderr, "xs2sd: bad --dns-server '%s' (want ADDR[:PORT])\n", optarg);
				return 2;
			}
			break;
		case OPT_SECRET: cfg.dialback_secret = optarg; break;
		case OPT_POLICY:
			if (!strcmp(optarg, "required"))
				cfg.tls_policy = XS2S_TLS_POLICY_REQUIRED;
			else if (!strcmp(optarg, "optional"))
				cfg.tls_policy = XS2S_TLS_POLICY_OPTIONAL_INSECURE;
			else {
				fprintf(stderr, "xs2sd: --tls-policy is required or optional\n");
				return 2;
			}
			break;
		case OPT_AUTH:
			if (parse_auth(optarg, &cfg) < 0) {
				fprintf(stderr, "xs2sd: --auth takes sasl-external, dialback or both, comma-separated\n");
				return 2;
			}
			break;
		case OPT_SECURE: cfg.secure_auth = true; break;
		case OPT_INSECURE_DOMAIN: {
			size_t n = strlen(exceptions);
			snprintf(exceptions + n, sizeof exceptions - n, " %s", optarg);
			break;
		}
		case OPT_LOGLEVEL:
			lvl = parse_log_level(optarg);
			if (lvl < 0) {
				fprintf(stderr, "xs2sd: bad --log-level '%s'\n", optarg);
				return 2;
			}
			xs2s_log_level = lvl;
			break;
#ifdef CONFIG_XS2S_PORT_LWIP
		case OPT_TAP: tap = optarg; break;
		case OPT_TAP_IP: tap_ip = optarg; break;
		case OPT_TAP_GW: tap_gw = optarg; break;
		case OPT_TAP_IP6: tap_ip6 = optarg; break;
#endif
		case OPT_HELP:
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	cfg.secure_auth_exceptions = exceptions;
	if (split_listen(listen_buf, &cfg.listen_addr, &cfg.listen_port) < 0) {
		fprintf(stderr, "xs2sd: bad --listen '%s' (want ADDR:PORT)\n", listen_buf);
		return 2;
	}
	cert_buf = read_file(cert, &cfg.cert_len);
	key_buf = read_file(key, &cfg.key_len);
	ca_buf = read_file(ca, &cfg.ca_len);
	if (!cert_buf || !key_buf)
		fprintf(stderr, "xs2sd: warning: cannot read certificate %s or key %s: no TLS\n", cert, key);
	if (!ca_buf)
		fprintf(stderr, "xs2sd: warning: cannot read CA file %s: every peer certificate is untrusted\n", ca);
	cfg.cert_pem = cert_buf && key_buf ? cert_buf : NULL;
	cfg.key_pem = cert_buf && key_buf ? key_buf : NULL;
	cfg.ca_pem = ca_buf;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
#ifdef CONFIG_XS2S_PORT_LWIP
	if (xs2s_lwip_init() != XS2S_OK || xs2s_lwip_hostsim_tap(tap, tap_ip, tap_gw, tap_ip6) != XS2S_OK) {
		fprintf(stderr, "xs2sd: cannot start lwIP on TAP device %s\n", tap);
		return 1;
	}
	xs2s_lwip_hostsim_serve_host_fds();
	XS2S_LOGI(0, "lwIP host simulation: TAP %s, %s via %s%s%s", tap, tap_ip, tap_gw, tap_ip6[0] ? ", " : "", tap_ip6);
#endif
	if (xs2s_engine_start(&cfg) != XS2S_OK) {
		fprintf(stderr, "xs2sd: start-up failed\n");
		return 1;
	}
	/* Secrets and keys now live in the engine (or wolfSSL's arena). */
	if (key_buf)
		memset(key_buf, 0, cfg.key_len);
	free(cert_buf);
	free(key_buf);
	free(ca_buf);
	if (admin_open(admin) < 0) {
		fprintf(stderr, "xs2sd: cannot open admin socket %s: %s\n", admin, strerror(errno));
		return 1;
	}
	for (;;) {
		xs2s_engine_poll(POLL_MS);
		if (stop_requested && !stop_at) {
			XS2S_LOGI(0, "stopping: closing every stream");
			xs2s_engine_stop();
			stop_at = xs2s_port_now_ms() + STOP_GRACE_MS;
		}
		if (stop_at && (xs2s_engine_idle() || (int32_t)(xs2s_port_now_ms() - stop_at) >= 0))
			break;
	}
	unlink(admin);
#ifdef CONFIG_XS2S_PORT_LWIP
	/* lwIP's TCP dies with this process: let it finish the closes first. */
	if (xs2s_lwip_quiesce(QUIESCE_MS) != XS2S_OK)
		XS2S_LOGW(0, "lwIP: some TCP connections were still closing after %u ms", QUIESCE_MS);
#endif
	XS2S_LOGI(0, "stopped");
	return 0;
}
