/* The engine: the public API, life cycle, the poll round, accepting and the
 * event drain (engine.h has the layer map). */
#include <stdio.h>
#include <string.h>
#include "xs2s_config.h"
#include "xs2s_log.h"
#include "lib/crypto.h"
#include "engine/engine.h"

_Static_assert(sizeof(struct xs2s_engine) >= sizeof(struct xs2s_core), "XS2S_ENGINE_SIZE is stale");
_Static_assert(_Alignof(struct xs2s_engine) >= _Alignof(struct xs2s_core), "XS2S_ENGINE_ALIGN is stale");

#define ENGINE_POLLFDS XS2S_POLL_MAX
_Static_assert(CONFIG_XS2S_MAX_LINKS + XS2S_POLL_LISTENERS + XS2S_RESOLVE_POLLFDS <= XS2S_POLL_MAX,
	       "port.h: XS2S_POLL_MAX");
#define ENGINE_FD_LISTENER 0xffu
#define ENGINE_FD_RESOLVER 0xfeu
#define XS2S_FINI_ROUNDS 64         /* local queue turns at fini for bounces that wait */
#define ENGINE_FD_COMP_LISTENER 0xfdu
#define ENGINE_COMP_PORT 5347 /* XEP-0114's customary port, when the address names none */
#define ENGINE_FD_TLS_LISTENER 0xfcu
#define ENGINE_TLS_PORT 5270  /* the conventional direct TLS s2s port (XEP-0368), when the address names none */

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
	cfg->bidi = IS_ENABLED_XS2S(CONFIG_XS2S_BIDI);
	cfg->secure_auth = IS_ENABLED_XS2S(CONFIG_XS2S_SECURE_AUTH);
	cfg->secure_auth_exceptions = CONFIG_XS2S_SECURE_AUTH_EXCEPTIONS;
#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
	cfg->accounts = CONFIG_XS2S_ACCOUNTS;
	cfg->sub_policy = XS2S_DEFAULT_SUB_POLICY;
	cfg->sub_allow = CONFIG_XS2S_SUB_ALLOW;
#endif
#if CONFIG_XS2S_COMPONENTS
	cfg->component_listen = CONFIG_XS2S_COMPONENT_LISTEN;
	cfg->route_deadline_s = CONFIG_XS2S_ROUTE_DEADLINE_S;
	cfg->stream_management = IS_ENABLED_XS2S(CONFIG_XS2S_SM);
#endif
	cfg->ping_idle_s = CONFIG_XS2S_PING_IDLE_S;
	cfg->ping_timeout_s = CONFIG_XS2S_PING_TIMEOUT_S;
#if CONFIG_XS2S_POLICY
	cfg->allow_domains = CONFIG_XS2S_ALLOW_DOMAINS;
	cfg->deny_domains = CONFIG_XS2S_DENY_DOMAINS;
	cfg->rate = CONFIG_XS2S_RATE_STANZAS;
	cfg->rate_burst = CONFIG_XS2S_RATE_BURST;
	cfg->rate_hard_s = CONFIG_XS2S_RATE_HARD_S;
#endif
#if CONFIG_XS2S_DIRECT_TLS
	cfg->listen_tls = CONFIG_XS2S_DIRECT_TLS_LISTEN;
#endif
}

/* The configuration the lower layers read (lib/env.h). */
static int engine_env(struct xs2s_core *c, const struct xs2s_config *cfg)
{
	struct xs2s_env *env = &c->env;
	const char *secret = cfg->dialback_secret;
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_DOMAINS && cfg->domains[i]; i++) {
		if (!xs2s_domain_valid(cfg->domains[i])) {
			XS2S_LOGE(0, "invalid local domain '%s'", cfg->domains[i]);
			return XS2S_EINVAL;
		}
		snprintf(env->domains[i], sizeof env->domains[i], "%s", cfg->domains[i]);
		env->ndomains++;
	}
	if (!env->ndomains) {
		XS2S_LOGE(0, "no local domain");
		return XS2S_EINVAL;
	}
	env->tls_policy = cfg->tls_policy;
	env->sasl = cfg->auth_sasl_external && IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_SASL_EXTERNAL);
	env->dialback = cfg->auth_dialback && IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_DIALBACK);
	env->bidi = cfg->bidi && IS_ENABLED_XS2S(CONFIG_XS2S_BIDI);
	env->secure_auth = cfg->secure_auth;
	snprintf(env->exceptions, sizeof env->exceptions, " %s ",
		 cfg->secure_auth_exceptions ? cfg->secure_auth_exceptions : "");
	if (secret && secret[0]) {
		xs2s_sha256(secret, strlen(secret), env->db_secret);
	} else {
		uint8_t r[XS2S_SHA256_LEN];

		if (xs2s_port_random(r, sizeof r) != XS2S_OK)
			return XS2S_EIO;
		xs2s_sha256(r, sizeof r, env->db_secret);
		memset(r, 0, sizeof r);
	}
	c->live.idle_ms = cfg->ping_idle_s * XS2S_MS_PER_S;
	c->live.timeout_ms = (cfg->ping_timeout_s ? cfg->ping_timeout_s : 1) * XS2S_MS_PER_S;
	if (cfg->ping_idle_s > 86400 || cfg->ping_timeout_s > 600) {
		XS2S_LOGE(0, "ping times out of range (idle at most 86400 s, timeout at most 600 s)");
		return XS2S_EINVAL;
	}
	if (xs2s_policy_init(&c->policy, cfg) != XS2S_OK)
		return XS2S_EINVAL;
	env->tls = &c->tls;
	env->xml = &c->xml;
	env->evq = &c->evq;
	env->bufs = &c->bufs;
	return XS2S_OK;
}

#if CONFIG_XS2S_COMPONENTS
/* Whether our certificate names each component's domain: SASL EXTERNAL
 * for it, else dialback (start and reload). */
static void engine_comps_cert(struct xs2s_core *c, const struct xs2s_config *cfg)
{
	unsigned i;

	for (i = 0; i < c->comps.names.n; i++) {
		bool named = c->tls.ready && xs2s_tls_cert_names(&c->tls, cfg, c->comps.names.name[i]);

		xs2s_comps_set_cert(&c->comps, (int)i, named);
		XS2S_LOGI(0, "component %s: %s: it authenticates to peers by %s", c->comps.names.name[i],
			  named ? "our certificate names it" : c->tls.ready ? "our certificate does not name it"
									   : "no certificate",
			  named ? "SASL EXTERNAL or dialback" : "dialback");
	}
}

/* XEP-0114 components: the table (lower layers see its names through
 * env->hosted), our certificate's names, the listener. */
static int engine_comps_start(struct xs2s_core *c, const struct xs2s_config *cfg)
{
	char addr[XS2S_ADDR_MAX], names[160];
	uint16_t port;
	unsigned i;
	int rc = xs2s_comps_init(&c->comps, &c->env, cfg->components);

	if (rc != XS2S_OK)
		return rc;
	c->env.hosted = &c->comps.names;
	engine_comps_cert(c, cfg);
	if (!c->comps.names.n)
		return XS2S_OK;
	if (!cfg->component_listen || !cfg->component_listen[0]) {
		XS2S_LOGW(0, "%u component(s) configured, but no component listener: none can connect", c->comps.names.n);
		return XS2S_OK;
	}
	if (xs2s_addr_port_parse(cfg->component_listen, ENGINE_COMP_PORT, addr, &port) != XS2S_OK) {
		XS2S_LOGE(0, "invalid component listen address '%s' (want ADDR:PORT)", cfg->component_listen);
		return XS2S_EINVAL;
	}
	if (xs2s_port_listen(addr, port, &c->comp_listener) != XS2S_OK) {
		XS2S_LOGE(0, "cannot listen for components on %s port %u", addr, port);
		c->comp_listener = XS2S_SOCK_NONE;
		return XS2S_EIO;
	}
	names[0] = '\0';
	for (i = 0; i < c->comps.names.n; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? " " : "", c->comps.names.name[i]);
	XS2S_LOGI(0, "components (XEP-0114): %s; listening on %s port %u (plaintext: keep it local)", names, addr, port);
	return XS2S_OK;
}
#endif

/* The direct TLS listener (XEP-0368), when one is configured: every
 * connection accepted there starts with the TLS handshake. It needs our
 * certificate; a build without CONFIG_XS2S_DIRECT_TLS refuses the option. */
static int engine_tls_listen(struct xs2s_core *c, const struct xs2s_config *cfg)
{
	if (!cfg->listen_tls || !cfg->listen_tls[0])
		return XS2S_OK;
#if !CONFIG_XS2S_DIRECT_TLS
	(void)c;
	XS2S_LOGE(0, "a direct TLS listener is configured, but this build has no XEP-0368 (CONFIG_XS2S_DIRECT_TLS)");
	return XS2S_EINVAL;
#else
	char addr[XS2S_ADDR_MAX];
	uint16_t port;

	if (xs2s_addr_port_parse(cfg->listen_tls, ENGINE_TLS_PORT, addr, &port) != XS2S_OK) {
		XS2S_LOGE(0, "invalid direct TLS listen address '%s' (want ADDR:PORT)", cfg->listen_tls);
		return XS2S_EINVAL;
	}
	if (!c->tls.ready) {
		XS2S_LOGE(0, "a direct TLS listener (%s) needs a certificate and key", cfg->listen_tls);
		return XS2S_EINVAL;
	}
	if (xs2s_port_listen(addr, port, &c->tls_listener) != XS2S_OK) {
		XS2S_LOGE(0, "cannot listen for direct TLS on %s port %u", addr, port);
		c->tls_listener = XS2S_SOCK_NONE;
		return XS2S_EIO;
	}
	XS2S_LOGI(0, "direct TLS (XEP-0368): listening on %s port %u (ALPN xmpp-server accepted, not required)", addr,
		  port);
	return XS2S_OK;
#endif
}

/* Close the listeners start opened. */
static void engine_listeners_close(struct xs2s_core *c)
{
	if (c->listener != XS2S_SOCK_NONE)
		xs2s_port_close(c->listener);
	if (c->comp_listener != XS2S_SOCK_NONE)
		xs2s_port_close(c->comp_listener);
	if (c->tls_listener != XS2S_SOCK_NONE)
		xs2s_port_close(c->tls_listener);
	c->listener = c->comp_listener = c->tls_listener = XS2S_SOCK_NONE;
}

int xs2s_engine_start(struct xs2s_engine *eng, const struct xs2s_config *cfg)
{
	struct xs2s_core *c = xs2s_core_of(eng);
	int rc;

	xs2s_arena_forget(c, sizeof *c); /* a restart, or a start after a failed one */
	memset(c, 0, sizeof *c);
	c->listener = c->comp_listener = c->tls_listener = XS2S_SOCK_NONE;
	xs2s_evq_init(&c->evq);
	rc = engine_env(c, cfg);
	if (rc != XS2S_OK)
		return rc;
#if !CONFIG_XS2S_COMPONENTS
	if (cfg->components && cfg->components[strspn(cfg->components, " ")]) {
		XS2S_LOGE(0, "components configured, but this build has none (CONFIG_XS2S_COMPONENTS is off)");
		return XS2S_EINVAL;
	}
#endif
	xs2s_xml_init(&c->xml);
	xs2s_link_bufs_init(&c->bufs);
	xs2s_routes_init(&c->routes, &c->evq);
	c->routes.deadline_s = cfg->route_deadline_s;
#if CONFIG_XS2S_SM
	c->routes.sm_on = cfg->stream_management;
#endif
	xs2s_app_init(&c->app, &c->env, eng, xs2s_s2s_send, c);
	rc = xs2s_app_acct_start(&c->app, cfg);
	if (rc != XS2S_OK)
		return rc;
	rc = xs2s_resolve_init(&c->res, cfg->host_map, cfg->dns_server);
	if (rc != XS2S_OK)
		return rc;
	rc = xs2s_tls_init(&c->tls, cfg);
	if (rc != XS2S_OK)
		return rc;
	if (!c->tls.ready)
		XS2S_LOGW(0, "no certificate: STARTTLS is neither offered nor used%s",
			  cfg->tls_policy == XS2S_TLS_POLICY_REQUIRED ? ", so every link will fail (TLS required)" : "");
#if CONFIG_XS2S_COMPONENTS
	rc = engine_comps_start(c, cfg);
	if (rc != XS2S_OK) {
		xs2s_tls_fini(&c->tls);
		return rc;
	}
#endif
	rc = engine_tls_listen(c, cfg);
	if (rc != XS2S_OK) {
		engine_listeners_close(c);
		xs2s_tls_fini(&c->tls);
		return rc;
	}
	if (cfg->listen_addr) {
		rc = xs2s_port_listen(cfg->listen_addr, cfg->listen_port, &c->listener);
		if (rc != XS2S_OK) {
			XS2S_LOGE(0, "cannot listen on %s port %u", cfg->listen_addr, cfg->listen_port);
			xs2s_tls_fini(&c->tls);
			engine_listeners_close(c);
			return XS2S_EIO;
		}
	}
	c->magic = XS2S_CORE_MAGIC;
	XS2S_LOGI(0, "xs2s started: domain %s%s%s, listening on %s port %u, TLS %s, %d link slots of %lu bytes, "
		     "link buffers %lu bytes, engine %lu bytes",
		  c->env.domains[0], c->env.ndomains > 1 ? " +" : "", c->env.ndomains > 1 ? c->env.domains[1] : "",
		  cfg->listen_addr ? cfg->listen_addr : "-", cfg->listen_port,
		  cfg->tls_policy == XS2S_TLS_POLICY_REQUIRED ? "required" : "OPTIONAL (insecure fallback allowed)",
		  CONFIG_XS2S_MAX_LINKS, (unsigned long)sizeof(struct xs2s_slot), (unsigned long)sizeof c->bufs,
		  (unsigned long)sizeof(struct xs2s_core));
	xs2s_app_acct_run(&c->app); /* accounts: their presence to their subscribers */
	xs2s_engine_drain(c);
	return XS2S_OK;
}

void xs2s_engine_drain(struct xs2s_core *c)
{
	struct xs2s_ev e;

	while (xs2s_evq_pop(&c->evq, &e))
		xs2s_s2s_event(c, &e);
}

/* Within the poll round (never inside an API call): the events, then the
 * application's turn right after what caused it (local deliveries,
 * completions), then the events that caused. */
static void engine_settle(struct xs2s_core *c)
{
	xs2s_engine_drain(c);
	if (xs2s_app_busy(&c->app)) {
		xs2s_app_step(&c->app);
		if (c->bounce_wait)
			xs2s_s2s_bounce_retry(c);
		xs2s_engine_drain(c);
	}
}

/* New connections on the s2s listener, or (comp) on the component one, or
 * (tls) on the direct TLS one. */
static void engine_accept(struct xs2s_core *c, xs2s_sock listener, bool comp, bool tls)
{
	for (;;) {
		xs2s_sock sock;
		char peer[XS2S_ADDR_MAX];
		struct xs2s_slot *s;

		if (xs2s_port_accept(listener, &sock, peer) != XS2S_OK)
			return;
#if CONFIG_XS2S_COMPONENTS
		if (comp && !xs2s_comps_link_open(&c->comps)) {
			XS2S_LOGW(0, "refusing component connection from %s: %d component connections already "
				     "(CONFIG_XS2S_MAX_COMPONENTS)", peer, CONFIG_XS2S_MAX_COMPONENTS);
			xs2s_port_close(sock);
			continue;
		}
#endif
		s = comp ? xs2s_slot_alloc(c) : xs2s_admit_inbound(c, peer);
		if (!s) {
			if (comp) /* an s2s refusal is logged by the admission rules */
				XS2S_LOGW(0, "refusing component connection from %s: no free link slot", peer);
#if CONFIG_XS2S_COMPONENTS
			if (comp) {
				xs2s_comps_link_freed(&c->comps);
				xs2s_comps_refuse(&c->comps);
			}
#endif
			xs2s_port_close(sock);
			continue;
		}
#if CONFIG_XS2S_COMPONENTS
		if (comp) {
			xs2s_link_open_comp(&s->link, &c->env, (uint8_t)(s - c->slot), ++c->next_id, sock, peer);
			continue;
		}
#endif
#if CONFIG_XS2S_DIRECT_TLS
		if (tls) {
			xs2s_link_open_in_tls(&s->link, &c->env, (uint8_t)(s - c->slot), ++c->next_id, sock, peer);
			continue;
		}
#else
		(void)tls;
#endif
		xs2s_link_open_in(&s->link, &c->env, (uint8_t)(s - c->slot), ++c->next_id, sock, peer);
	}
}

/* Let one link make progress and hand up what it has, element by element. */
static void engine_step(struct xs2s_core *c, struct xs2s_slot *s, uint8_t got)
{
	unsigned n;

	for (n = 0; n < XS2S_STEP_ELEMENTS; n++) {
		struct xs2s_el el;
		enum xs2s_link_ev ev;

		s->link.hold_in = xs2s_s2s_hold_input(c, s);
		ev = xs2s_link_pump(&s->link, got, &el);

		got = 0;
		if (ev == XS2S_LINK_IDLE)
			break;
		xs2s_s2s_link_event(c, s, ev, &el);
		xs2s_xml_free(&c->xml, &el);
		engine_settle(c);
	}
	engine_settle(c);
}

/* Stopping: a link that waited for its acks closes once they came (or the
 * wait is over). The time left to wait, UINT32_MAX when none waits. */
static uint32_t engine_stop_wait(struct xs2s_core *c, uint32_t now)
{
	uint32_t end = c->stop_ms + XS2S_SM_STOP_WAIT_MS, left = UINT32_MAX;
	unsigned i;

	if (!c->stopping)
		return left;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &c->slot[i].link;

		if (!xs2s_link_live(l))
			continue;
		if (!xs2s_sm_unacked(&c->routes, l) || XS2S_TIME_REACHED(now, end))
			xs2s_link_abort(l, XS2S_WHY_SHUTDOWN, "shutting down");
		else
			left = end - now;
	}
	return left;
}

int xs2s_engine_poll(struct xs2s_engine *eng, uint32_t timeout_ms)
{
	struct xs2s_core *c = xs2s_core_of(eng);
	struct xs2s_pollfd fds[ENGINE_POLLFDS];
	uint8_t slot_of[ENGINE_POLLFDS];
	unsigned n = 0, i, k;
	uint32_t now = xs2s_port_now_ms(), left;

	if (c->magic != XS2S_CORE_MAGIC)
		return XS2S_EINVAL;
	left = engine_stop_wait(c, now);
	xs2s_engine_drain(c);
	if (left < timeout_ms)
		timeout_ms = left;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &c->slot[i].link;

		if (l->state == XS2S_LS_FREE)
			continue;
		c->slot[i].link.hold_in = xs2s_s2s_hold_input(c, &c->slot[i]);
		if (l->hold_in) { /* wake when that wait ends */
			uint32_t waited = now - c->slot[i].wait_ms, limit = xs2s_s2s_hold_limit(&c->slot[i]);

			left = waited < limit ? limit - waited : 0;
			/* held for its stanza rate (policy.h): until a token is back */
			if (c->slot[i].rate.held)
				left = xs2s_policy_rate_wait(&c->policy, &c->slot[i].rate, now);
			if (left < timeout_ms)
				timeout_ms = left;
		}
		left = xs2s_live_next_ms(c, &c->slot[i], now); /* XEP-0199: a ping due, a peer dead */
		if (left < timeout_ms)
			timeout_ms = left;
		if (xs2s_link_has_work(l))
			timeout_ms = 0;
		left = XS2S_TIME_REACHED(now, l->deadline_ms) ? 0 : l->deadline_ms - now;
		if (left < timeout_ms)
			timeout_ms = left;
#if CONFIG_XS2S_SM
		left = xs2s_sm_next_ms(&c->routes, l, now); /* an <r/> due, an <a/> waiting for room */
		if (left < timeout_ms)
			timeout_ms = left;
#endif
		if ((fds[n].want = xs2s_link_poll_want(l)) != 0) {
			fds[n].sock = l->sock;
			fds[n].got = 0;
			slot_of[n++] = (uint8_t)i;
		}
	}
	/* A write waited for an out buffer (link/bufs.h): no sleep once one is back. */
	if (c->bufs.wanted && xs2s_link_bufs_writable(&c->bufs)) {
		c->bufs.wanted = false;
		timeout_ms = 0;
	}
	if (c->listener != XS2S_SOCK_NONE && !c->stopping) {
		fds[n].sock = c->listener;
		fds[n].want = XS2S_POLL_IN;
		fds[n].got = 0;
		slot_of[n++] = ENGINE_FD_LISTENER;
	}
	if (c->comp_listener != XS2S_SOCK_NONE && !c->stopping) {
		fds[n].sock = c->comp_listener;
		fds[n].want = XS2S_POLL_IN;
		fds[n].got = 0;
		slot_of[n++] = ENGINE_FD_COMP_LISTENER;
	}
	if (c->tls_listener != XS2S_SOCK_NONE && !c->stopping) {
		fds[n].sock = c->tls_listener;
		fds[n].want = XS2S_POLL_IN;
		fds[n].got = 0;
		slot_of[n++] = ENGINE_FD_TLS_LISTENER;
	}
	k = xs2s_resolve_pollfds(&c->res, fds + n, XS2S_RESOLVE_POLLFDS);
	memset(slot_of + n, ENGINE_FD_RESOLVER, k);
	n += k;
	left = xs2s_resolve_next_ms(&c->res, now);
	if (left < timeout_ms)
		timeout_ms = left;
	left = xs2s_route_retry_next_ms(&c->routes, now); /* routes waiting to retry */
	if (left < timeout_ms)
		timeout_ms = left;
	left = xs2s_app_busy(&c->app) ? 0 : xs2s_app_next_ms(&c->app, now);
	if (left < timeout_ms)
		timeout_ms = left;
	xs2s_port_poll(fds, n, timeout_ms);
	xs2s_resolve_step(&c->res, xs2s_port_now_ms());
	for (i = 0; i < n; i++) {
		if (slot_of[i] == ENGINE_FD_RESOLVER || !fds[i].got)
			continue; /* the resolver read its own in xs2s_resolve_step */
		if (slot_of[i] == ENGINE_FD_LISTENER)
			engine_accept(c, c->listener, false, false);
		else if (slot_of[i] == ENGINE_FD_COMP_LISTENER)
			engine_accept(c, c->comp_listener, true, false);
		else if (slot_of[i] == ENGINE_FD_TLS_LISTENER)
			engine_accept(c, c->tls_listener, false, true);
		else
			engine_step(c, &c->slot[slot_of[i]], fds[i].got);
	}
	now = xs2s_port_now_ms();
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_slot *s = &c->slot[i];

		if (s->link.state == XS2S_LS_FREE)
			continue;
		xs2s_s2s_kick(c, s);
#if CONFIG_XS2S_SM
		xs2s_sm_timer(&c->routes, &s->link, now);
#endif
		if (xs2s_link_has_work(&s->link) || xs2s_bq_len(&s->link.out))
			engine_step(c, s, 0);
		xs2s_link_timer(&s->link, now);
		xs2s_live_timer(c, s, now);
		if (s->rate.held && xs2s_link_live(&s->link) && xs2s_policy_rate_cut(&c->policy, &s->rate, now))
			xs2s_link_abort(&s->link, XS2S_WHY_POLICY_VIOLATION, "%s kept sending faster than %u stanzas/s for %u s "
					"(XEP-0205)", s->link.peer_domain, (unsigned)c->policy.rate, (unsigned)c->policy.hard_s);
		engine_settle(c);
	}
	xs2s_slots_free_done(c);
	engine_settle(c);
	xs2s_s2s_retry(c, xs2s_port_now_ms()); /* routes whose retry is due: new links */
	engine_settle(c);
	/* The application's timers: iq requests past their deadline. */
	xs2s_app_run(&c->app, xs2s_port_now_ms());
	engine_settle(c);
	return XS2S_OK;
}

void xs2s_engine_stop(struct xs2s_engine *eng)
{
	struct xs2s_core *c = xs2s_core_of(eng);
	unsigned i;

	if (c->magic != XS2S_CORE_MAGIC)
		return;
	if (!c->stopping)
		xs2s_app_acct_stop(&c->app); /* accounts: unavailable, before the streams close */
	if (!c->stopping)
		c->stop_ms = xs2s_port_now_ms();
	c->stopping = true;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &c->slot[i].link;

		if (!xs2s_link_live(l))
			continue;
		if (xs2s_sm_unacked(&c->routes, l) && l->state == XS2S_LS_OPEN) {
			/* XEP-0198: ask what the peer handled before closing, so
			 * that it is not bounced (engine_stop_wait closes it). */
			xs2s_sm_request_now(&c->routes, l);
			continue;
		}
		xs2s_link_abort(l, XS2S_WHY_SHUTDOWN, "shutting down");
	}
	xs2s_engine_drain(c);
	xs2s_s2s_retry_cancel(c); /* what waits to retry is bounced */
	xs2s_engine_drain(c);
}

bool xs2s_engine_idle(struct xs2s_engine *eng)
{
	const struct xs2s_core *c = xs2s_core_of(eng);

	return c->magic != XS2S_CORE_MAGIC ||
	       (c->links_used == 0 && !c->routes.retrying && !xs2s_app_busy(&c->app));
}

void xs2s_engine_fini(struct xs2s_engine *eng)
{
	struct xs2s_core *c = xs2s_core_of(eng);
	unsigned i;

	if (c->magic != XS2S_CORE_MAGIC)
		return;
	c->stopping = true; /* nothing new goes out */
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++)
		if (c->slot[i].link.state != XS2S_LS_FREE)
			xs2s_link_abort(&c->slot[i].link, XS2S_WHY_CUT, "engine finished");
	xs2s_engine_drain(c);
	xs2s_s2s_retry_cancel(c);
	xs2s_engine_drain(c);
	xs2s_slots_free_done(c);
	xs2s_engine_drain(c);
	for (i = 0; i < XS2S_FINI_ROUNDS && c->bounce_wait; i++) {
		xs2s_app_step(&c->app); /* room for the bounces that wait */
		xs2s_s2s_bounce_retry(c);
		xs2s_engine_drain(c);
	}
	xs2s_app_fini(&c->app, xs2s_port_now_ms());
	xs2s_app_acct_fini(&c->app);
	xs2s_engine_drain(c);
	if (c->bounce_wait) {
		XS2S_LOGE(0, "engine finished with %u stanza(s) not bounced: handlers kept the local queue full",
			  c->routes.queued);
		for (i = 0; i < XS2S_ROUTES; i++)
			if (c->routes.r[i].state == XS2S_RT_FAILED && c->routes.r[i].queued) {
				while (c->routes.r[i].queued)
					xs2s_route_drop_head(&c->routes, (int)i);
				xs2s_route_release(&c->routes, (int)i);
			}
	}
	engine_listeners_close(c);
	xs2s_tls_fini(&c->tls);
	c->magic = 0;
}

int xs2s_hostmap_add(struct xs2s_engine *eng, const char *entry)
{
	return xs2s_resolve_map_add(&xs2s_core_of(eng)->res, entry);
}

bool xs2s_hostmap_entry_valid(const char *entry)
{
	return xs2s_resolve_map_entry_valid(entry);
}

#ifdef CONFIG_XS2S_DNS
bool xs2s_dns_server_valid(const char *addr_port)
{
	char addr[XS2S_ADDR_MAX];
	uint16_t port;

	return addr_port && xs2s_addr_port_parse(addr_port, XS2S_DNS_PORT, addr, &port) == XS2S_OK;
}
#endif

#ifdef CONFIG_XS2S_COMPONENTS
bool xs2s_component_entry_valid(const char *entry)
{
	return entry && xs2s_comps_entry_valid(entry, strlen(entry));
}
#endif

int xs2s_engine_reload_credentials(struct xs2s_engine *eng, const struct xs2s_config *cfg)
{
	struct xs2s_core *c = xs2s_core_of(eng);

	int rc;

	if (c->magic != XS2S_CORE_MAGIC)
		return XS2S_EINVAL;
	rc = xs2s_tls_reload(&c->tls, cfg);
#if CONFIG_XS2S_COMPONENTS
	if (rc == XS2S_OK)
		engine_comps_cert(c, cfg);
#endif
	return rc;
}
