/* The engine driver: one caller-owned struct xs2s_engine (xs2s.h). See
 * engine_drv.h: this is the only file of the scenario tests and the engine
 * fuzz harness that calls the engine; the leak gate reads the pools of its
 * core (engine/engine.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "engine_drv.h"
#include "xs2s.h"
#include "xs2s_log.h"
#include "engine/engine.h"

#define DRV_HOSTMAP_TEXT (DRV_HOSTMAP * 96)
#define DRV_EVENTS 64

static struct xs2s_engine drv_eng;
static char drv_events[DRV_EVENTS][DRV_EVENT];
static unsigned drv_ev_head, drv_ev_n;
static bool drv_claims[CONFIG_XS2S_APP_HANDLERS + 1];

static void drv_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void drv_event(const char *fmt, ...)
{
	va_list ap;
	char *line;

	if (drv_ev_n == DRV_EVENTS) {  /* the oldest goes: a scenario reads them as they come */
		drv_ev_head = (drv_ev_head + 1) % DRV_EVENTS;
		drv_ev_n--;
	}
	line = drv_events[(drv_ev_head + drv_ev_n++) % DRV_EVENTS];
	va_start(ap, fmt);
	vsnprintf(line, DRV_EVENT, fmt, ap);
	va_end(ap);
}

bool drv_event_take(char *line, size_t cap)
{
	if (!drv_ev_n)
		return false;
	snprintf(line, cap, "%s", drv_events[drv_ev_head]);
	drv_ev_head = (drv_ev_head + 1) % DRV_EVENTS;
	drv_ev_n--;
	return true;
}

static void drv_on_done(struct xs2s_engine *eng, void *arg, const struct xs2s_done *d)
{
	(void)eng;
	(void)arg;
	if (d->outcome == XS2S_SENT)
		drv_event("done %s sent", d->id);
	else
		drv_event("done %s bounced %s %s", d->id, d->condition, d->text);
}

int drv_send_raw(const char *xml, bool track)
{
	return xs2s_send_raw(&drv_eng, xml, track ? drv_on_done : NULL, NULL, NULL);
}

static void drv_on_iq(struct xs2s_engine *eng, void *arg, const struct xs2s_iq_response *r)
{
	(void)eng;
	(void)arg;
	if (r->outcome == XS2S_IQ_RESULT)
		drv_event("iq %s result", r->id);
	else if (r->outcome == XS2S_IQ_ERROR)
		drv_event("iq %s error %s %s", r->id, r->condition, r->text);
	else
		drv_event("iq %s timeout", r->id);
}

int drv_iq(const char *from, const char *to, const char *type, const char *id, const char *payload,
	   uint32_t timeout_ms)
{
	struct xs2s_stanza st = { .kind = XS2S_IQ, .from = from, .to = to, .type = type, .id = id, .payload = payload };

	return xs2s_iq_request(&drv_eng, &st, timeout_ms, drv_on_iq, NULL, NULL);
}

static bool drv_on_stanza(struct xs2s_engine *eng, void *arg, const struct xs2s_stanza_in *in)
{
	static const char *const kinds[] = { "any", "message", "presence", "iq" };
	char body[DRV_EVENT / 2] = "";
	struct xs2s_view c;

	(void)eng;
	if (xs2s_view_child(&in->top, "body", NULL, &c))
		(void)xs2s_view_text(&c, body, sizeof body);
	else if (xs2s_view_child(&in->top, NULL, NULL, &c))
		snprintf(body, sizeof body, "{%s}%s", xs2s_view_ns(&c), xs2s_view_name(&c));
	drv_event("handled %s %s -> %s %s", kinds[in->kind], in->from, in->to, body);
	return *(const bool *)arg;
}

int drv_handler(const char *jid, const char *kind, const char *ns, bool claim)
{
	struct xs2s_match m = { .jid = jid, .ns = ns };
	static unsigned n;
	bool *slot = &drv_claims[n++ % (CONFIG_XS2S_APP_HANDLERS + 1)];

	m.kind = !kind ? XS2S_ANY_KIND : !strcmp(kind, "message") ? XS2S_MESSAGE
		 : !strcmp(kind, "presence") ? XS2S_PRESENCE : XS2S_IQ;
	*slot = claim;
	return xs2s_handler_add(&drv_eng, &m, drv_on_stanza, slot);
}

/* ---- device accounts: the ask callback and a store in memory ---- */

static struct {
	char account[DRV_FIELD], contact[DRV_FIELD];
} drv_asks[DRV_ASKS];
static unsigned drv_nasks;
static char drv_store_saved[DRV_STORE];
static char drv_store_loaded[DRV_STORE];
static unsigned drv_saves;

static void drv_on_ask(struct xs2s_engine *eng, void *arg, const char *account, const char *contact)
{
	(void)eng;
	(void)arg;
	if (drv_nasks == DRV_ASKS)
		return; /* the script did not take them: the strict end of the script says so */
	snprintf(drv_asks[drv_nasks].account, DRV_FIELD, "%s", account);
	snprintf(drv_asks[drv_nasks].contact, DRV_FIELD, "%s", contact);
	drv_nasks++;
}

bool drv_ask_take(char account[DRV_FIELD], char contact[DRV_FIELD])
{
	if (!drv_nasks)
		return false;
	memcpy(account, drv_asks[0].account, DRV_FIELD);
	memcpy(contact, drv_asks[0].contact, DRV_FIELD);
	memmove(drv_asks, drv_asks + 1, (--drv_nasks) * sizeof drv_asks[0]);
	return true;
}

/* "ACCOUNT CONTACT STATE" lines, as xs2sd's file holds them. */
static int drv_store_load(void *ctx, xs2s_sub_record_fn add, void *add_arg)
{
	char *line = drv_store_loaded, *next;

	(void)ctx;
	for (; line && *line; line = next) {
		char *sp1, *sp2;
		struct xs2s_sub_record r;
		int rc;

		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		sp1 = strchr(line, ' ');
		sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
		if (!sp2)
			return XS2S_EINVAL;
		*sp1 = *sp2 = '\0';
		r.account = line;
		r.contact = sp1 + 1;
		r.state = !strcmp(sp2 + 1, "pending") ? XS2S_SUB_PENDING : !strcmp(sp2 + 1, "subscribed") ?
			XS2S_SUB_SUBSCRIBED : (enum xs2s_sub_state)0;
		rc = add(add_arg, &r);
		if (rc != XS2S_OK)
			return rc;
	}
	return XS2S_OK;
}

static int drv_store_save(void *ctx, xs2s_sub_next_fn next, void *it)
{
	struct xs2s_sub_record r;
	size_t n = 0;

	(void)ctx;
	drv_store_saved[0] = '\0';
	while (next(it, &r))
		n += (size_t)snprintf(drv_store_saved + n, n < sizeof drv_store_saved ? sizeof drv_store_saved - n : 0,
				      "%s %s %s\n", r.account, r.contact,
				      r.state == XS2S_SUB_PENDING ? "pending" : "subscribed");
	drv_saves++;
	return n < sizeof drv_store_saved ? XS2S_OK : XS2S_ERANGE;
}

static const struct xs2s_store drv_store = { drv_store_load, drv_store_save, NULL };

const char *drv_store_text(void)
{
	return drv_store_saved;
}

unsigned drv_store_saves(void)
{
	return drv_saves;
}

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
	cfg.bidi = c->bidi;
	cfg.secure_auth_exceptions = c->secure_auth_exceptions ? c->secure_auth_exceptions : "";
	for (i = 0; i < DRV_HOSTMAP && c->host_map[i]; i++) {
		size_t n = strlen(host_map);

		snprintf(host_map + n, sizeof host_map - n, "%s%s", n ? " " : "", c->host_map[i]);
	}
	cfg.host_map = host_map;
	cfg.dns_server = c->dns_server;
	cfg.route_deadline_s = c->route_deadline_s;
	cfg.cert_pem = c->cert_pem;
	cfg.cert_len = c->cert_len;
	cfg.key_pem = c->key_pem;
	cfg.key_len = c->key_len;
	drv_ev_head = drv_ev_n = 0;
	drv_nasks = 0;
	drv_saves = 0;
	drv_store_saved[0] = '\0';
	snprintf(drv_store_loaded, sizeof drv_store_loaded, "%s", c->store_initial ? c->store_initial : "");
	cfg.accounts = c->accounts;
	cfg.sub_policy = (enum xs2s_sub_policy)c->sub_policy;
	cfg.sub_allow = c->sub_allow;
	cfg.sub_ask = c->ask ? drv_on_ask : NULL;
	cfg.store = c->store ? &drv_store : NULL;
	cfg.components = c->components;
	/* Pings only where a scenario asks (SC_PING): the others move the
	 * clock over open streams and expect silence. */
	cfg.ping_idle_s = c->ping_idle_s;
	cfg.ping_timeout_s = c->ping_timeout_s ? c->ping_timeout_s : 1;
	cfg.allow_domains = c->allow;
	cfg.deny_domains = c->deny;
	cfg.rate = c->rate;
	cfg.rate_burst = c->rate_burst ? c->rate_burst : 1;
	cfg.rate_hard_s = c->rate_hard_s;
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
	snprintf(m->error_text, sizeof m->error_text, "%s", im.error_text);
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
	p->inbox_msgs = c->app.inbox_count;
	p->inbox_bytes = c->app.inbox_used;
	p->completions = c->app.pending_used;
	p->iq_requests = c->app.iqs_used;
	p->local_queue = c->app.lq_used;
	p->xml_bytes = c->xml.arena.used;
	p->tls_bytes = c->tls.arena.used;
	for (i = 1; i < XS2S_ARENA_OWNERS; i++)
		p->tls_link_bytes += c->tls.arena.owner_used[i];
	p->resolver_busy = xs2s_resolve_busy(&c->res);
	p->link_bufs = (unsigned)c->bufs.rx.used + c->bufs.tx.used + c->bufs.out.used + c->bufs.stanza.used;
#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
	p->accounts = c->app.acct.accounts_used;
	p->subscriptions = c->app.acct.subs_used;
#endif
#if CONFIG_XS2S_COMPONENTS
	p->comp_links = c->comps.links;
	p->comp_used = c->comps.used;
#endif
}

#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
int drv_account_add(const char *account)
{
	return xs2s_account_add(&drv_eng, account);
}

int drv_account_answer(const char *account, const char *contact, bool accept)
{
	return xs2s_account_answer(&drv_eng, account, contact, accept);
}

int drv_account_presence(const char *account, bool available, const char *show, const char *status)
{
	return xs2s_account_presence(&drv_eng, account, available, show, status);
}
#else
int drv_account_add(const char *account)
{
	(void)account;
	return XS2S_EINVAL;
}

int drv_account_answer(const char *account, const char *contact, bool accept)
{
	(void)account;
	(void)contact;
	(void)accept;
	return XS2S_EINVAL;
}

int drv_account_presence(const char *account, bool available, const char *show, const char *status)
{
	(void)account;
	(void)available;
	(void)show;
	(void)status;
	return XS2S_EINVAL;
}
#endif

void drv_log_level(int level)
{
	xs2s_log_level = level;
}

const char *drv_err_name(int err)
{
	return xs2s_err_name(err);
}
