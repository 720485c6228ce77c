/* The engine: link slots, the poll loop, accepting, closing in one place. */
#include <stdio.h>
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/hash.h>
#include "xs2s_int.h"
#include "tls.h"
#include "auth.h"

struct xs2s_engine xs2s_g;

static const char *const cert_names[] = {
	[XS2S_CERT_NONE] = "none", [XS2S_CERT_VALID] = "valid", [XS2S_CERT_UNTRUSTED] = "untrusted",
	[XS2S_CERT_EXPIRED] = "expired", [XS2S_CERT_NAME_MISMATCH] = "name-mismatch",
};

const char *xs2s_cert_verdict_name(enum xs2s_cert_verdict v)
{
	return (unsigned)v < sizeof cert_names / sizeof cert_names[0] ? cert_names[v] : "?";
}

void xs2s_random_hex(char *out, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	uint8_t r[64];
	size_t i;

	if (n > 2 * sizeof r)
		n = 2 * sizeof r;
	xs2s_port_random(r, (n + 1) / 2);
	for (i = 0; i < n; i++)
		out[i] = hex[(r[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
	out[n] = '\0';
}

bool xs2s_is_local_domain(const char *d)
{
	unsigned i;

	for (i = 0; i < xs2s_g.ndomains; i++)
		if (!strcmp(xs2s_g.domains[i], d))
			return true;
	return false;
}

void xs2s_config_defaults(struct xs2s_config *cfg)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->domains[0] = CONFIG_XS2S_DOMAIN;
	cfg->listen_addr = "0.0.0.0";
	cfg->listen_port = 5269;
	cfg->dialback_secret = CONFIG_XS2S_DIALBACK_SECRET;
	cfg->tls_policy = XS2S_DEFAULT_TLS_POLICY;
	cfg->auth_sasl_external = IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_SASL_EXTERNAL);
	cfg->auth_dialback = IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_DIALBACK);
	cfg->secure_auth = IS_ENABLED_XS2S(CONFIG_XS2S_SECURE_AUTH);
	cfg->secure_auth_exceptions = CONFIG_XS2S_SECURE_AUTH_EXCEPTIONS;
}

struct xs2s_link *xs2s_link_by_slot(unsigned slot, uint32_t gen)
{
	struct xs2s_link *l;

	if (slot >= CONFIG_XS2S_MAX_LINKS)
		return NULL;
	l = &xs2s_g.links[slot];
	return l->state != XS2S_LS_FREE && l->gen == gen && !l->closing_done ? l : NULL;
}

struct xs2s_link *xs2s_link_alloc(enum xs2s_dir dir)
{
	unsigned i;

	if (xs2s_g.stopping)
		return NULL;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &xs2s_g.links[i];
		uint32_t gen;

		if (l->state != XS2S_LS_FREE)
			continue;
		gen = l->gen;
		/* Only the scalar state is cleared; buffers are overwritten as used. */
		memset(l, 0, offsetof(struct xs2s_link, rx));
		l->gen = gen;
		l->dir = dir;
		l->id = ++xs2s_g.next_id;
		l->sock = XS2S_SOCK_NONE;
		l->created_ms = l->last_io_ms = xs2s_port_now_ms();
		l->state = XS2S_LS_HEADER; /* not FREE; the caller sets the real state */
		xs2s_arena_reset_owner_high(xs2s_tls_arena(), (uint8_t)(i + 1));
		if (++xs2s_g.links_used > xs2s_g.links_high)
			xs2s_g.links_high = xs2s_g.links_used;
		return l;
	}
	xs2s_g.links_refused++;
	XS2S_LOGW(0, "all %d link slots in use (CONFIG_XS2S_MAX_LINKS)", CONFIG_XS2S_MAX_LINKS);
	return NULL;
}

static void engine_free_link(struct xs2s_link *l)
{
	xs2s_link_release(l);
	l->state = XS2S_LS_FREE;
	l->closing_done = false;
	l->gen++;
	xs2s_g.links_used--;
}

int xs2s_engine_start(const struct xs2s_config *cfg)
{
	unsigned i;
	int rc;
	const char *secret = cfg->dialback_secret;

	memset(&xs2s_g, 0, sizeof xs2s_g);
	xs2s_g.listener = XS2S_SOCK_NONE;
	for (i = 0; i < CONFIG_XS2S_MAX_DOMAINS && cfg->domains[i]; i++) {
		if (!xs2s_domain_valid(cfg->domains[i])) {
			XS2S_LOGE(0, "invalid local domain '%s'", cfg->domains[i]);
			return XS2S_EINVAL;
		}
		snprintf(xs2s_g.domains[i], sizeof xs2s_g.domains[i], "%s", cfg->domains[i]);
		xs2s_g.ndomains++;
	}
	if (!xs2s_g.ndomains)
		return XS2S_EINVAL;
	xs2s_g.tls_policy = cfg->tls_policy;
	xs2s_auth_configure(cfg);
	xs2s_xml_init();
	xs2s_router_init();
	xs2s_resolve_init();
	xs2s_local_init();
	rc = xs2s_tls_init(cfg);
	if (rc != XS2S_OK)
		return rc;
	if (!xs2s_g.tls_ready)
		XS2S_LOGW(0, "no certificate: STARTTLS is neither offered nor used%s",
			  cfg->tls_policy == XS2S_TLS_POLICY_REQUIRED ? ", so every link will fail (TLS required)" : "");
	if (secret && secret[0]) {
		wc_Sha256Hash((const byte *)secret, (word32)strlen(secret), xs2s_g.db_secret_hash);
	} else {
		uint8_t r[32];
		if (xs2s_port_random(r, sizeof r) != XS2S_OK)
			return XS2S_EIO;
		wc_Sha256Hash(r, sizeof r, xs2s_g.db_secret_hash);
		memset(r, 0, sizeof r);
	}
	if (cfg->listen_addr) {
		rc = xs2s_port_listen(cfg->listen_addr, cfg->listen_port, &xs2s_g.listener);
		if (rc != XS2S_OK) {
			XS2S_LOGE(0, "cannot listen on %s port %u", cfg->listen_addr, cfg->listen_port);
			return rc;
		}
	}
	xs2s_g.started = true;
	XS2S_LOGI(0, "xs2s started: domain %s%s%s, listening on %s port %u, TLS %s, %d link slots of %zu bytes",
		  xs2s_g.domains[0], xs2s_g.ndomains > 1 ? " +" : "", xs2s_g.ndomains > 1 ? xs2s_g.domains[1] : "",
		  cfg->listen_addr ? cfg->listen_addr : "-", cfg->listen_port,
		  cfg->tls_policy == XS2S_TLS_POLICY_REQUIRED ? "required" : "OPTIONAL (insecure fallback allowed)",
		  CONFIG_XS2S_MAX_LINKS, sizeof(struct xs2s_link));
	return XS2S_OK;
}

static void engine_accept(void)
{
	for (;;) {
		xs2s_sock s;
		char peer[XS2S_ADDR_MAX];
		struct xs2s_link *l;

		if (xs2s_port_accept(xs2s_g.listener, &s, peer) != XS2S_OK)
			return;
		l = xs2s_link_alloc(XS2S_DIR_IN);
		if (!l) {
			XS2S_LOGW(0, "refusing connection from %s: no free link slot", peer);
			xs2s_port_close(s);
			continue;
		}
		l->sock = s;
		snprintf(l->addr, sizeof l->addr, "%s", peer);
		xs2s_link_accepted(l);
	}
}

int xs2s_engine_poll(uint32_t timeout_ms)
{
	struct xs2s_pollfd fds[CONFIG_XS2S_MAX_LINKS + 1 + XS2S_RESOLVE_POLLFDS];
	uint8_t slot_of[CONFIG_XS2S_MAX_LINKS + 1 + XS2S_RESOLVE_POLLFDS];
	unsigned n = 0, i;
	uint32_t now = xs2s_port_now_ms();

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &xs2s_g.links[i];
		uint32_t left;

		if (l->state == XS2S_LS_FREE)
			continue;
		if (xs2s_link_has_work(l) || l->closing_done)
			timeout_ms = 0;
		left = XS2S_TIME_REACHED(now, l->deadline_ms) ? 0 : l->deadline_ms - now;
		if (left < timeout_ms)
			timeout_ms = left;
		if (xs2s_link_poll_want(l)) {
			fds[n].sock = l->sock;
			fds[n].want = xs2s_link_poll_want(l);
			fds[n].got = 0;
			slot_of[n++] = (uint8_t)i;
		}
	}
	if (xs2s_g.listener != XS2S_SOCK_NONE && !xs2s_g.stopping) {
		fds[n].sock = xs2s_g.listener;
		fds[n].want = XS2S_POLL_IN;
		fds[n].got = 0;
		slot_of[n++] = 0xff;
	}
	{
		unsigned k = xs2s_resolve_pollfds(fds + n, XS2S_RESOLVE_POLLFDS);
		uint32_t left = xs2s_resolve_next_ms(now);

		memset(slot_of + n, 0xfe, k);
		n += k;
		if (left < timeout_ms)
			timeout_ms = left;
	}
	xs2s_port_poll(fds, n, timeout_ms);
	xs2s_resolve_step(xs2s_port_now_ms());
	for (i = 0; i < n; i++) {
		if (slot_of[i] == 0xfe)
			continue; /* the resolver's: read in xs2s_resolve_step */
		if (slot_of[i] == 0xff) {
			if (fds[i].got)
				engine_accept();
			continue;
		}
		if (fds[i].got)
			xs2s_link_step(&xs2s_g.links[slot_of[i]], fds[i].got);
	}
	now = xs2s_port_now_ms();
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &xs2s_g.links[i];

		if (l->state == XS2S_LS_FREE)
			continue;
		if (!l->closing_done)
			xs2s_router_kick(l);
		if (xs2s_link_has_work(l) || (l->out_len && !l->closing_done))
			xs2s_link_step(l, 0);
		xs2s_link_timer(l, now);
	}
	/* The one place where links are freed. */
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &xs2s_g.links[i];
		if (l->state != XS2S_LS_FREE && l->closing_done)
			engine_free_link(l);
	}
	return XS2S_OK;
}

void xs2s_engine_stop(void)
{
	unsigned i;

	xs2s_g.stopping = true;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &xs2s_g.links[i];
		unsigned p;

		if (l->state != XS2S_LS_FREE && l->state != XS2S_LS_CLOSING) {
			l->bounce = XS2S_STE_REMOTE_SERVER_NOT_FOUND;
			xs2s_link_close(l, "shutting down");
		}
		/* Issue 11 (xs2sd's SIGTERM): a closing link sends no more
		 * stanzas, and one whose peer never answers outlives the host's
		 * grace time. Bounce its queue now, while the application can
		 * still read the inbox, not when (or if) the link is freed. */
		for (p = 0; l->state != XS2S_LS_FREE && p < CONFIG_XS2S_MAX_PAIRS; p++)
			if (l->pairs[p].state != XS2S_PAIR_FREE && l->pairs[p].queued)
				xs2s_router_pair_failed(l, p, l->bounce != XS2S_STE_NONE ? l->bounce
											 : XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	}
}

int xs2s_engine_idle(void)
{
	return xs2s_g.links_used == 0;
}
