/* The operator's view: one row per link, totals, and every pool and arena
 * with its use and high-water mark. Reads the layers' structs, writes none. */
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "engine/engine.h"

static const char *status_transport(const struct xs2s_link *l)
{
	if (l->direct_tls)
		return "directtls"; /* XEP-0368: TLS from the first byte, during its handshake too */
	if (xs2s_link_tls_up(l))
		return "starttls";
	if (l->state == XS2S_LS_AUTH || l->state == XS2S_LS_OPEN)
		return "plain";
	return "unknown"; /* not yet negotiated */
}

/* How the stream's first authenticated pair was authenticated; a
 * component's stream: by its handshake (XEP-0114). */
static const char *status_auth(const struct xs2s_core *c, const struct xs2s_link *l)
{
	unsigned i = 0;

#if CONFIG_XS2S_COMPONENTS
	if (l->kind == XS2S_KIND_COMPONENT)
		return xs2s_comps_of_link(&c->comps, l->id) != XS2S_COMP_NONE ? "handshake" : "none";
#endif
	if (xs2s_route_next_on(&c->routes, l->id, XS2S_RT_VALID, &i))
		return xs2s_auth_method_name(c->routes.r[i].method);
	return "none";
}

/* What the link holds: its slot (state, authentication), the buffers on
 * loan, its TLS session's arena bytes. */
static size_t status_ram(const struct xs2s_core *c, const struct xs2s_link *l)
{
	return xs2s_link_ram(l, c->tls.arena.owner_used[l->slot + 1]) + sizeof(struct xs2s_auth_state);
}

/* XEP-0198 on the link: "off", "offered", "requested" or "on". */
static const char *status_sm(const struct xs2s_core *c, const struct xs2s_link *l)
{
#if CONFIG_XS2S_SM
	return xs2s_sm_state_name(xs2s_sm_of(&c->routes, l));
#else
	(void)c, (void)l;
	return "off";
#endif
}

/* Stanzas written on l that its peer has not acknowledged yet. */
static unsigned status_unacked(const struct xs2s_core *c, const struct xs2s_link *l)
{
#if CONFIG_XS2S_SM
	const struct xs2s_sm *sm = xs2s_sm_of(&c->routes, l);

	return sm ? sm->unacked : 0;
#else
	(void)c, (void)l;
	return 0;
#endif
}

static unsigned status_age(const struct xs2s_link *l)
{
	return (unsigned)((xs2s_port_now_ms() - l->created_ms) / XS2S_MS_PER_S);
}

static void status_totals(const struct xs2s_core *c, unsigned *plain, unsigned *tls, unsigned *direct,
			  unsigned *unknown)
{
	unsigned i;

	*plain = *tls = *direct = *unknown = 0;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &c->slot[i].link;
		const char *t;

		if (l->state == XS2S_LS_FREE)
			continue;
		t = status_transport(l);
		if (!strcmp(t, "starttls"))
			(*tls)++;
		else if (!strcmp(t, "directtls"))
			(*direct)++;
		else if (!strcmp(t, "plain"))
			(*plain)++;
		else
			(*unknown)++;
	}
}

/* Every pool of the engine, through one callback: name, unit, use, high-water, size, refusals. */
static void status_pools(const struct xs2s_core *c, xs2s_pool_fn add, void *ctx)
{
	const struct xs2s_routes *rt = &c->routes;
	size_t lib_used, lib_size;

	add(ctx, "links", "slots", c->links_used, c->links_high, CONFIG_XS2S_MAX_LINKS, c->links_refused);
	add(ctx, "routes", "items", rt->used, rt->high, XS2S_ROUTES, rt->refused);
	add(ctx, "queue", "bytes", rt->pool.used, rt->pool.high, rt->pool.size, rt->queue_refused);
	add(ctx, "queue_stanzas", "items", rt->queued, rt->queued_high, XS2S_QUEUE_ENTRIES, rt->queue_refused);
#if CONFIG_XS2S_SM
	/* Queue entries written and waiting for the peer's ack (XEP-0198). */
	add(ctx, "unacked", "items", rt->unacked, rt->unacked_high, CONFIG_XS2S_MAX_LINKS * CONFIG_XS2S_SM_UNACKED, 0);
#endif
	add(ctx, "inbox", "bytes", c->app.inbox_used, c->app.inbox_high, sizeof c->app.inbox, c->app.inbox_refused);
	add(ctx, "scratch", "bytes", 0, c->app.scratch_high, sizeof c->app.scratch - 1, 0);
	add(ctx, "handlers", "items", c->app.handlers_used, c->app.handlers_high, CONFIG_XS2S_APP_HANDLERS,
	    c->app.handlers_refused);
	add(ctx, "completions", "items", c->app.pending_used, c->app.pending_high, CONFIG_XS2S_APP_PENDING,
	    c->app.pending_refused);
	add(ctx, "iq_requests", "items", c->app.iqs_used, c->app.iqs_high, CONFIG_XS2S_APP_IQ_PENDING,
	    c->app.iqs_refused);
	add(ctx, "local_queue", "bytes", c->app.lq_used, c->app.lq_high, sizeof c->app.lq, c->app.lq_refused);
#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
	add(ctx, "accounts", "items", c->app.acct.accounts_used, c->app.acct.accounts_high, CONFIG_XS2S_APP_ACCOUNTS,
	    c->app.acct.accounts_refused);
	add(ctx, "subscriptions", "items", c->app.acct.subs_used, c->app.acct.subs_high, CONFIG_XS2S_APP_SUBSCRIPTIONS,
	    c->app.acct.subs_refused);
#endif
	add(ctx, "events", "items", c->evq.n, c->evq.high, XS2S_EVQ_LEN, c->evq.lost);
	add(ctx, "dns_lookups", "items", xs2s_resolve_busy(&c->res), 0, XS2S_RESOLVE_SLOTS, 0);
	add(ctx, "xml_arena", "bytes", c->xml.arena.used, c->xml.arena.high, c->xml.arena.size, c->xml.arena.fails);
	xs2s_xml_lib_usage(&lib_used, &lib_size);
	add(ctx, "xml_lib", "bytes", lib_used, lib_used, lib_size, 0);
	add(ctx, "tls_arena", "bytes", c->tls.arena.used, c->tls.arena.high, c->tls.arena.size, c->tls.arena.fails);
	add(ctx, "tls_sessions", "items", 0, 0, XS2S_TLS_SESSION_CACHE_SIZE, 0);
	/* Buffers on loan (link/bufs.h): fails counts the borrows that had to wait. */
	add(ctx, "rx_bufs", "items", c->bufs.rx.used, c->bufs.rx.high, c->bufs.rx.n, c->bufs.rx.waits);
	add(ctx, "tx_bufs", "items", c->bufs.tx.used, c->bufs.tx.high, c->bufs.tx.n, c->bufs.tx.waits);
	add(ctx, "out_bufs", "items", c->bufs.out.used, c->bufs.out.high, c->bufs.out.n, c->bufs.out.waits);
	add(ctx, "stanza_bufs", "items", c->bufs.stanza.used, c->bufs.stanza.high, c->bufs.stanza.n,
	    c->bufs.stanza.waits);
#if CONFIG_XS2S_COMPONENTS
	add(ctx, "components", "items", c->comps.used, c->comps.high, CONFIG_XS2S_MAX_COMPONENTS, c->comps.refused);
#endif
}

/* Every counter of stanzas answered with an error or not at all, and of
 * connections refused or evicted, through one callback: name, value. */
typedef void (*status_counter_fn)(void *ctx, const char *name, unsigned value);

static void status_counters(const struct xs2s_core *c, status_counter_fn add, void *ctx)
{
	const struct xs2s_app_counts *a = &c->app.counts;

	add(ctx, "answer_errors", a->answer_errors);
	add(ctx, "answers_lost", a->answers_lost);
	add(ctx, "jid_malformed", a->jid_malformed);
	add(ctx, "not_bounced", a->not_bounced);
	add(ctx, "unclaimed", a->unclaimed);
	add(ctx, "local_lost", a->local_lost);
	add(ctx, "inputs_held", c->inputs_held);
	add(ctx, "admit_per_addr", c->admit.per_addr);
	add(ctx, "admit_evicted", c->admit.evicted);
	add(ctx, "admit_timeouts", c->admit.timeouts);
	add(ctx, "pings_sent", c->live.sent);
	add(ctx, "pings_answered", c->live.answered);
	add(ctx, "dead_peers", c->live.dead);
	add(ctx, "policy_denied_in", c->policy.denied_in);
	add(ctx, "policy_denied_out", c->policy.denied_out);
	add(ctx, "rate_delayed", c->policy.delayed);
	add(ctx, "rate_cut", c->policy.cut);
	add(ctx, "retries", c->routes.retries);
	add(ctx, "retry_expired", c->routes.expired);
#if CONFIG_XS2S_SM
	add(ctx, "sm_enabled", c->routes.sm_enabled);
	add(ctx, "sm_acked", c->routes.sm_acked);
	add(ctx, "sm_resent", c->routes.sm_resent);
#endif
}

static void status_counter_text(void *ctx, const char *name, unsigned value)
{
	xs2s_w_fmt(ctx, "  %s %u\n", name, value);
}

static void status_counter_json(void *ctx, const char *name, unsigned value)
{
	struct xs2s_wbuf *w = ctx;

	xs2s_w_raw(w, w->p[w->len - 1] == '{' ? "" : ",");
	xs2s_w_json(w, name);
	xs2s_w_fmt(w, ":%u", value);
}

static void status_pool_text(void *ctx, const char *name, const char *unit, size_t used, size_t high, size_t size,
			     unsigned fails)
{
	xs2s_w_fmt(ctx, "  %-20s %8lu / %8lu %-5s, high %8lu, refused %u\n", name, (unsigned long)used,
		   (unsigned long)size, unit, (unsigned long)high, fails);
}

struct status_json {
	struct xs2s_wbuf *w;
	const struct xs2s_core *c;    /* NULL for the port's pools */
};

static void status_pool_json(void *ctx, const char *name, const char *unit, size_t used, size_t high, size_t size,
			     unsigned fails)
{
	struct status_json *j = ctx;
	struct xs2s_wbuf *w = j->w;

	xs2s_w_raw(w, w->p[w->len - 1] == '{' ? "" : ",");
	xs2s_w_json(w, name);
	/* The port's pools state their unit; the engine's are documented
	 * (README: status output). */
	if (!j->c)
		xs2s_w_fmt(w, ":{\"unit\":\"%s\",", unit);
	else
		xs2s_w_raw(w, ":{");
	xs2s_w_fmt(w, "\"used\":%lu,\"high\":%lu,\"size\":%lu,\"fails\":%u", (unsigned long)used,
		   (unsigned long)high, (unsigned long)size, fails);
	if (j->c && !strcmp(name, "inbox"))
		xs2s_w_fmt(w, ",\"messages\":%u", j->c->app.inbox_count);
	xs2s_w_raw(w, "}");
}

static int status_end(struct xs2s_wbuf *w)
{
	return w->overflow ? XS2S_ERANGE : (int)w->len;
}

int xs2s_status_text(struct xs2s_engine *eng, char *buf, size_t cap)
{
	const struct xs2s_core *c = xs2s_core_of(eng);
	unsigned i, plain, tls, direct, unknown;
	struct xs2s_wbuf w;

	xs2s_w_init(&w, buf, cap);
	xs2s_w_fmt(&w, "xs2s %s: %u link%s\n", c->env.domains[0], c->links_used, c->links_used == 1 ? "" : "s");
	xs2s_w_fmt(&w, "%-4s %-4s %-16s %-16s %-8s %-9s %-8s %-26s %-13s %-13s %6s %5s %5s %9s %9s %7s %-9s %7s\n", "ID",
		   "DIR", "LOCAL", "REMOTE", "STATE", "TRANSPORT", "TLS", "CIPHER", "AUTH", "CERT", "AGE", "IN", "OUT",
		   "BYTES_IN", "BYTES_OUT", "RAM", "SM", "UNACKED");
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &c->slot[i].link;

		if (l->state == XS2S_LS_FREE)
			continue;
		char in[XS2S_U64_DEC], out[XS2S_U64_DEC];

		xs2s_w_fmt(&w, "%-4u %-4s %-16s %-16s %-8s %-9s %-8s %-26s %-13s %-13s %5lus %5lu %5lu %9s %9s %7lu %-9s %7u\n",
			   l->id,
			   xs2s_bidi_dir_name(&c->slot[i]), l->local_domain[0] ? l->local_domain : "-",
			   l->peer_domain[0] ? l->peer_domain : "-", xs2s_link_state_name(l->state),
			   status_transport(l), l->tls.version[0] ? l->tls.version : "-",
			   l->tls.cipher[0] ? l->tls.cipher : "-", status_auth(c, l), xs2s_cert_verdict_name(l->cert),
			   (unsigned long)status_age(l), (unsigned long)l->stanzas_in, (unsigned long)l->stanzas_out,
			   xs2s_u64_dec(in, l->bytes_in), xs2s_u64_dec(out, l->bytes_out), (unsigned long)status_ram(c, l),
			   status_sm(c, l), status_unacked(c, l));
	}
	status_totals(c, &plain, &tls, &direct, &unknown);
	xs2s_w_fmt(&w, "totals: plain %u, starttls %u, directtls %u, unknown %u\n", plain, tls, direct, unknown);
	if (c->routes.retrying) {
		uint32_t now = xs2s_port_now_ms();

		xs2s_w_raw(&w, "retrying:\n");
		for (i = 0; i < XS2S_ROUTES; i++) {
			const struct xs2s_route *r = &c->routes.r[i];

			if (r->state == XS2S_RT_RETRY)
				xs2s_w_fmt(&w, "  %s -> %s: %s, next attempt in %lu ms (attempt %u), %u queued\n", r->local,
					   r->remote, xs2s_route_state_name(r),
					   (unsigned long)(XS2S_TIME_REACHED(now, r->retry_ms) ? 0 : r->retry_ms - now),
					   r->tries + 1u, r->queued);
		}
	}
	xs2s_w_raw(&w, "pools:\n");
	status_pools(c, status_pool_text, &w);
	xs2s_port_pools(status_pool_text, &w);
	xs2s_w_raw(&w, "counters:\n");
	status_counters(c, status_counter_text, &w);
	return status_end(&w);
}

int xs2s_status_json(struct xs2s_engine *eng, char *buf, size_t cap)
{
	const struct xs2s_core *c = xs2s_core_of(eng);
	unsigned i, plain, tls, direct, unknown, first = 1;
	struct xs2s_wbuf w;
	struct status_json j = { &w, c };

	xs2s_w_init(&w, buf, cap);
	xs2s_w_raw(&w, "{\"domain\":");
	xs2s_w_json(&w, c->env.domains[0]);
	xs2s_w_raw(&w, ",\"links\":[");
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &c->slot[i].link;
		char in[XS2S_U64_DEC], out[XS2S_U64_DEC];
		unsigned p = 0;

		if (l->state == XS2S_LS_FREE)
			continue;
		xs2s_w_fmt(&w, "%s{\"id\":%u,\"direction\":\"%s\",\"local\":", first ? "" : ",", l->id,
			   xs2s_bidi_dir_name(&c->slot[i]));
		first = 0;
		xs2s_w_json(&w, l->local_domain);
		xs2s_w_raw(&w, ",\"remote\":");
		xs2s_w_json(&w, l->peer_domain);
		xs2s_w_fmt(&w, ",\"state\":\"%s\",\"transport\":\"%s\",\"tls_version\":", xs2s_link_state_name(l->state),
			   status_transport(l));
		xs2s_w_json(&w, l->tls.version);
		xs2s_w_raw(&w, ",\"cipher\":");
		xs2s_w_json(&w, l->tls.cipher);
		xs2s_w_raw(&w, ",\"alpn\":");
		xs2s_w_json(&w, l->tls.alpn);
		xs2s_w_fmt(&w, ",\"auth\":\"%s\",\"cert\":\"%s\",\"age_s\":%lu,\"stanzas_in\":%lu,\"stanzas_out\":%lu,"
			       "\"bytes_in\":%s,\"bytes_out\":%s,\"tls_arena_high\":%lu,\"pairs\":[",
			   status_auth(c, l), xs2s_cert_verdict_name(l->cert), (unsigned long)status_age(l),
			   (unsigned long)l->stanzas_in, (unsigned long)l->stanzas_out, xs2s_u64_dec(in, l->bytes_in),
			   xs2s_u64_dec(out, l->bytes_out), (unsigned long)c->tls.arena.owner_high[i + 1]);
		for (; xs2s_route_next_on(&c->routes, l->id, XS2S_RT_FREE, &p); p++) {
			const struct xs2s_route *r = &c->routes.r[p];

			xs2s_w_raw(&w, w.len && w.p[w.len - 1] == '[' ? "{\"local\":" : ",{\"local\":");
			xs2s_w_json(&w, r->local);
			xs2s_w_raw(&w, ",\"remote\":");
			xs2s_w_json(&w, r->remote);
			xs2s_w_fmt(&w, ",\"state\":\"%s\",\"auth\":\"%s\"", xs2s_route_state_name(r),
				   xs2s_auth_method_name(r->method));
			/* A bidirectional link (XEP-0288) carries pairs both ways. */
			if (xs2s_bidi_on(&c->slot[i]))
				xs2s_w_fmt(&w, ",\"dir\":\"%s\"", r->dir == XS2S_DIR_IN ? "in" : "out");
			xs2s_w_raw(&w, "}");
		}
		xs2s_w_fmt(&w, "],\"ram_bytes\":%lu,\"sm\":\"%s\",\"unacked\":%u}", (unsigned long)status_ram(c, l),
			   status_sm(c, l), status_unacked(c, l));
	}
	xs2s_w_raw(&w, "],\"retrying\":[");
	{
		uint32_t now = xs2s_port_now_ms();
		unsigned k, n = 0;

		for (k = 0; k < XS2S_ROUTES && c->routes.retrying; k++) {
			const struct xs2s_route *r = &c->routes.r[k];

			if (r->state != XS2S_RT_RETRY)
				continue;
			xs2s_w_raw(&w, n++ ? ",{\"local\":" : "{\"local\":");
			xs2s_w_json(&w, r->local);
			xs2s_w_raw(&w, ",\"remote\":");
			xs2s_w_json(&w, r->remote);
			xs2s_w_fmt(&w, ",\"state\":\"%s\",\"next_ms\":%lu,\"attempt\":%u,\"queued\":%u}",
				   xs2s_route_state_name(r),
				   (unsigned long)(XS2S_TIME_REACHED(now, r->retry_ms) ? 0 : r->retry_ms - now), r->tries + 1u,
				   r->queued);
		}
	}
	status_totals(c, &plain, &tls, &direct, &unknown);
	xs2s_w_fmt(&w, "],\"totals\":{\"plain\":%u,\"starttls\":%u,\"directtls\":%u,\"unknown\":%u},\"pools\":{", plain,
		   tls, direct, unknown);
	j.c = c;
	status_pools(c, status_pool_json, &j);
	xs2s_w_raw(&w, "},\"port_pools\":{");
	j.c = NULL;
	xs2s_port_pools(status_pool_json, &j);
	xs2s_w_raw(&w, "},\"counters\":{");
	status_counters(c, status_counter_json, &w);
	xs2s_w_raw(&w, "}}");
	return status_end(&w);
}

void xs2s_status_pools(struct xs2s_engine *eng, xs2s_pool_fn add, void *ctx)
{
	status_pools(xs2s_core_of(eng), add, ctx);
}
