/* The engine driver over today's engine API (one hidden global engine,
 * xs2s.h). See engine_drv.h: this is the only file of the scenario tests and
 * the engine fuzz harness that includes engine headers. */
#include <stdio.h>
#include <string.h>
#include "engine_drv.h"
#include "xs2s_int.h"
#include "tls.h"
#include "xml.h"
#include "resolve.h"

/* The host map outlives engine restarts in this engine: add each entry once. */
#define DRV_HOSTMAP_SEEN 16
/* A host map entry that only the resolver probe of the leak gate looks up. */
#define DRV_PROBE_DOMAIN "resolver-probe.invalid"
#define DRV_PROBE_ENTRY DRV_PROBE_DOMAIN "=192.0.2.254:9"
#if CONFIG_XS2S_DNS
#define DRV_RESOLVE_SLOTS CONFIG_XS2S_DNS_QUERIES
#else
#define DRV_RESOLVE_SLOTS 4 /* resolve.c's host-map-only table */
#endif

static char drv_seen[DRV_HOSTMAP_SEEN][96];
static unsigned drv_nseen;

static int drv_hostmap(const char *entry)
{
	unsigned i;
	int rc;

	for (i = 0; i < drv_nseen; i++)
		if (!strcmp(drv_seen[i], entry))
			return XS2S_OK;
	if (drv_nseen >= DRV_HOSTMAP_SEEN || strlen(entry) >= sizeof drv_seen[0])
		return XS2S_ENOMEM;
	rc = xs2s_hostmap_add(entry);
	if (rc == XS2S_OK)
		snprintf(drv_seen[drv_nseen++], sizeof drv_seen[0], "%s", entry);
	return rc;
}

int drv_start(const struct drv_config *c)
{
	struct xs2s_config cfg;
	unsigned i;
	int rc;

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
	rc = drv_hostmap(DRV_PROBE_ENTRY);
	for (i = 0; rc == XS2S_OK && i < DRV_HOSTMAP && c->host_map[i]; i++)
		rc = drv_hostmap(c->host_map[i]);
	if (rc == XS2S_OK && c->dns_server)
		rc = xs2s_dns_set_server(c->dns_server);
	if (rc != XS2S_OK)
		return rc;
	return xs2s_engine_start(&cfg);
}

void drv_poll(uint32_t timeout_ms)
{
	xs2s_engine_poll(timeout_ms);
}

void drv_stop(void)
{
	xs2s_engine_stop();
}

bool drv_idle(void)
{
	return xs2s_engine_idle() != 0;
}

int drv_send(const char *from, const char *to, const char *body)
{
	return xs2s_send_message(from, to, body);
}

bool drv_inbox_take(struct drv_msg *m)
{
	struct xs2s_inbox_msg im;

	if (xs2s_inbox_peek(&im) != XS2S_OK)
		return false;
	snprintf(m->from, sizeof m->from, "%s", im.from);
	snprintf(m->to, sizeof m->to, "%s", im.to);
	snprintf(m->type, sizeof m->type, "%s", im.type);
	snprintf(m->error, sizeof m->error, "%s", im.error);
	snprintf(m->body, sizeof m->body, "%s", im.body);
	xs2s_inbox_pop();
	return true;
}

void drv_status_text(char *buf, size_t cap)
{
	struct xs2s_wbuf w;

	xs2s_w_init(&w, buf, cap);
	xs2s_status_text(&w);
}

void drv_status_json(char *buf, size_t cap)
{
	struct xs2s_wbuf w;

	xs2s_w_init(&w, buf, cap);
	xs2s_status_json(&w);
}

/* Free resolver slots, counted by taking them all with a host-map lookup
 * (answered at once) and giving them back. */
static unsigned drv_resolver_free(void)
{
	int h[DRV_RESOLVE_SLOTS + 1];
	unsigned n = 0, i;

	while (n < DRV_RESOLVE_SLOTS + 1 && (h[n] = xs2s_resolve_start(DRV_PROBE_DOMAIN)) >= 0)
		n++;
	for (i = 0; i < n; i++) {
		struct xs2s_target t[CONFIG_XS2S_RESOLVE_TARGETS];
		unsigned k = CONFIG_XS2S_RESOLVE_TARGETS;

		xs2s_resolve_result(h[i], t, &k);
	}
	return n;
}

void drv_pools(struct drv_pools *p)
{
	struct xs2s_arena *ta = xs2s_tls_arena();
	size_t used, high, size;
	unsigned count, i, free_slots;

	memset(p, 0, sizeof *p);
	p->links = xs2s_g.links_used;
	p->queued = xs2s_queue_count();
	p->queue_bytes = xs2s_queue_arena()->used;
	xs2s_inbox_stats(&used, &high, &size, &count);
	p->inbox_msgs = count;
	p->inbox_bytes = used;
	p->xml_bytes = xs2s_xml_arena()->used;
	p->tls_bytes = ta->used;
	for (i = 1; i < XS2S_ARENA_OWNERS; i++)
		p->tls_link_bytes += ta->owner_used[i];
	free_slots = drv_resolver_free();
	p->resolver_busy = free_slots < DRV_RESOLVE_SLOTS ? DRV_RESOLVE_SLOTS - free_slots : 0;
}

void drv_log_level(int level)
{
	xs2s_log_level = level;
}

const char *drv_err_name(int err)
{
	return xs2s_err_name(err);
}
