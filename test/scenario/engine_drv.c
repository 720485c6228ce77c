/* The engine driver: one caller-owned struct xs2s_engine (xs2s.h). See
 * engine_drv.h: this is the only file of the scenario tests and the engine
 * fuzz harness that calls the engine; the leak gate reads the pools of its
 * core (engine/engine.h). */
#include <stdio.h>
#include <string.h>
#include "engine_drv.h"
#include "xs2s.h"
#include "xs2s_log.h"
#include "engine/engine.h"

#define DRV_HOSTMAP_TEXT (DRV_HOSTMAP * 96)

static struct xs2s_engine drv_eng;

int drv_start(const struct drv_config *c)
{
	struct xs2s_config cfg;
	char host_map[DRV_HOSTMAP_TEXT] = "";
	unsigned i;

	xs2s_config_defaults(&cfg);
	for (i = 0; i < CONFIG_XS2S_MAX_DOMAINS; i++)
		cfg.domains[i] = i < DRV_DOMAINS ? c->domains[i] : NULL;
	cfg.listen_addr = c->listen_addr;
	cfg.listen_port = c->listen_port;
	cfg.dialback_secret = c->secret;
	cfg.tls_policy = c->tls_required ? XS2S_TLS_POLICY_REQUIRED : XS2S_TLS_POLICY_OPTIONAL_INSECURE;
	cfg.auth_dialback = c->dialback;
	cfg.auth_sasl_external = c->sasl_external;
	cfg.secure_auth = c->secure_auth;
	cfg.secure_auth_exceptions = c->secure_auth_exceptions ? c->secure_auth_exceptions : "";
	for (i = 0; i < DRV_HOSTMAP && c->host_map[i]; i++) {
		size_t n = strlen(host_map);

		snprintf(host_map + n, sizeof host_map - n, "%s%s", n ? " " : "", c->host_map[i]);
	}
	cfg.host_map = host_map;
	cfg.dns_server = c->dns_server;
	cfg.components = c->components;
	if (c->component_listen)
		cfg.component_listen = c->component_listen;
	return xs2s_engine_start(&drv_eng, &cfg);
}

void drv_poll(uint32_t timeout_ms)
{
	xs2s_engine_poll(&drv_eng, timeout_ms);
}

void drv_stop(void)
{
	xs2s_engine_stop(&drv_eng);
}

bool drv_idle(void)
{
	return xs2s_engine_idle(&drv_eng);
}

void drv_fini(void)
{
	xs2s_engine_fini(&drv_eng);
}

int drv_send(const char *from, const char *to, const char *body)
{
	return xs2s_send_message(&drv_eng, from, to, body);
}

bool drv_inbox_take(struct drv_msg *m)
{
	struct xs2s_inbox_msg im;

	if (xs2s_inbox_peek(&drv_eng, &im) != XS2S_OK)
		return false;
	snprintf(m->from, sizeof m->from, "%s", im.from);
	snprintf(m->to, sizeof m->to, "%s", im.to);
	snprintf(m->type, sizeof m->type, "%s", im.type);
	snprintf(m->error, sizeof m->error, "%s", im.error);
	snprintf(m->body, sizeof m->body, "%s", im.body);
	xs2s_inbox_pop(&drv_eng);
	return true;
}

void drv_status_text(char *buf, size_t cap)
{
	xs2s_status_text(&drv_eng, buf, cap);
}

void drv_status_json(char *buf, size_t cap)
{
	xs2s_status_json(&drv_eng, buf, cap);
}

void drv_pools(struct drv_pools *p)
{
	const struct xs2s_core *c = xs2s_core_of(&drv_eng);
	unsigned i;

	memset(p, 0, sizeof *p);
	p->links = c->links_used;
	p->queued = c->routes.queued;
	p->queue_bytes = c->routes.pool.used;
	p->routes = c->routes.used;
	p->events = c->evq.n + c->evq.lost;
	p->inbox_msgs = c->local.inbox_count;
	p->inbox_bytes = c->local.inbox_used;
	p->xml_bytes = c->xml.arena.used;
	p->tls_bytes = c->tls.arena.used;
	for (i = 1; i < XS2S_ARENA_OWNERS; i++)
		p->tls_link_bytes += c->tls.arena.owner_used[i];
	p->resolver_busy = xs2s_resolve_busy(&c->res);
#if CONFIG_XS2S_COMPONENTS
	p->comp_links = c->comps.links;
	p->comp_used = c->comps.used;
#endif
}

void drv_log_level(int level)
{
	xs2s_log_level = level;
}

const char *drv_err_name(int err)
{
	return xs2s_err_name(err);
}
