/* The operator's view: one row per link, totals, pools with high-water marks. */
#include <string.h>
#include "xs2s_int.h"
#include "tls.h"

static const char *status_transport(const struct xs2s_link *l)
{
	if (l->tls_active)
		return "starttls";
	if (l->state == XS2S_LS_AUTH || l->state == XS2S_LS_OPEN)
		return "plain";
	return "unknown"; /* not yet negotiated */
}

/* How the stream's first authenticated pair was authenticated. */
static const char *status_auth(const struct xs2s_link *l)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++)
		if (l->pairs[i].state == XS2S_PAIR_VALID)
			return xs2s_auth_method_name(l->pairs[i].method);
	return "none";
}

static unsigned status_age(const struct xs2s_link *l)
{
	return (unsigned)((xs2s_port_now_ms() - l->created_ms) / 1000u);
}

static void status_totals(unsigned *plain, unsigned *tls, unsigned *unknown)
{
	unsigned i;

	*plain = *tls = *unknown = 0;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &xs2s_g.links[i];
		const char *t;

		if (l->state == XS2S_LS_FREE)
			continue;
		t = status_transport(l);
		if (!strcmp(t, "starttls"))
			(*tls)++;
		else if (!strcmp(t, "plain"))
			(*plain)++;
		else
			(*unknown)++;
	}
}

static void status_arena_text(struct xs2s_wbuf *w, const struct xs2s_arena *a)
{
	xs2s_w_fmt(w, "  %-9s %8zu / %8zu bytes, high %8zu, refused %u\n", a->name, a->used, a->size, a->high,
		   (unsigned)a->fails);
}

/* Ports without pools of their own (POSIX) keep this one. */
__attribute__((weak)) void xs2s_port_pools(xs2s_pool_fn add, void *ctx)
{
	(void)add;
	(void)ctx;
}

static void status_port_pool_text(void *ctx, const char *name, const char *unit, size_t used, size_t high, size_t size,
				  unsigned fails)
{
	xs2s_w_fmt(ctx, "  %-20s %8zu / %8zu %-5s, high %8zu, refused %u\n", name, used, size, unit, high, fails);
}

static void status_port_pool_json(void *ctx, const char *name, const char *unit, size_t used, size_t high,
				  size_t size, unsigned fails)
{
	struct xs2s_wbuf *w = ctx;

	xs2s_w_raw(w, w->p[w->len - 1] == '{' ? "" : ",");
	xs2s_w_json(w, name);
	xs2s_w_fmt(w, ":{\"unit\":\"%s\",\"used\":%zu,\"high\":%zu,\"size\":%zu,\"fails\":%u}", unit, used, high,
		   size, fails);
}

void xs2s_status_text(struct xs2s_wbuf *w)
{
	unsigned i, plain, tls, unknown, count;
	size_t used, high, size;

	xs2s_w_fmt(w, "xs2s %s: %u link%s\n", xs2s_g.domains[0], xs2s_g.links_used, xs2s_g.links_used == 1 ? "" : "s");
	xs2s_w_fmt(w, "%-4s %-3s %-16s %-16s %-8s %-9s %-8s %-26s %-13s %-13s %6s %5s %5s %9s %9s\n", "ID", "DIR",
		   "LOCAL", "REMOTE", "STATE", "TRANSPORT", "TLS", "CIPHER", "AUTH", "CERT", "AGE", "IN", "OUT",
		   "BYTES_IN", "BYTES_OUT");
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &xs2s_g.links[i];

		if (l->state == XS2S_LS_FREE)
			continue;
		xs2s_w_fmt(w, "%-4u %-3s %-16s %-16s %-8s %-9s %-8s %-26s %-13s %-13s %5us %5u %5u %9llu %9llu\n", l->id,
			   l->dir == XS2S_DIR_IN ? "in" : "out", l->local_domain[0] ? l->local_domain : "-",
			   l->peer_domain[0] ? l->peer_domain : "-", xs2s_link_state_name(l->state),
			   status_transport(l), l->tls_version[0] ? l->tls_version : "-",
			   l->cipher[0] ? l->cipher : "-", status_auth(l), xs2s_cert_verdict_name(l->cert),
			   status_age(l), l->stanzas_in, l->stanzas_out, (unsigned long long)l->bytes_in,
			   (unsigned long long)l->bytes_out);
	}
	status_totals(&plain, &tls, &unknown);
	xs2s_w_fmt(w, "totals: plain %u, starttls %u, unknown %u\n", plain, tls, unknown);
	xs2s_w_fmt(w, "pools:\n  links     %8u / %8u slots, high %8u, refused %u\n", xs2s_g.links_used,
		   (unsigned)CONFIG_XS2S_MAX_LINKS, xs2s_g.links_high, xs2s_g.links_refused);
	xs2s_w_fmt(w, "  queue     %8zu / %8zu bytes, high %8zu, refused %u, %u stanza%s waiting\n",
		   xs2s_queue_arena()->used, xs2s_queue_arena()->size, xs2s_queue_arena()->high,
		   (unsigned)xs2s_queue_arena()->fails, xs2s_queue_count(), xs2s_queue_count() == 1 ? "" : "s");
	xs2s_inbox_stats(&used, &high, &size, &count);
	xs2s_w_fmt(w, "  inbox     %8zu / %8zu bytes, high %8zu, %u message%s\n", used, size, high, count,
		   count == 1 ? "" : "s");
	status_arena_text(w, xs2s_xml_arena());
	status_arena_text(w, xs2s_tls_arena());
	xs2s_port_pools(status_port_pool_text, w);
}

static void status_arena_json(struct xs2s_wbuf *w, const char *key, const struct xs2s_arena *a, bool comma)
{
	xs2s_w_fmt(w, "\"%s\":{\"used\":%zu,\"high\":%zu,\"size\":%zu,\"fails\":%u}%s", key, a->used, a->high, a->size,
		   (unsigned)a->fails, comma ? "," : "");
}

void xs2s_status_json(struct xs2s_wbuf *w)
{
	unsigned i, plain, tls, unknown, count, first = 1;
	size_t used, high, size;
	struct xs2s_arena *ta = xs2s_tls_arena();

	xs2s_w_raw(w, "{\"domain\":");
	xs2s_w_json(w, xs2s_g.domains[0]);
	xs2s_w_raw(w, ",\"links\":[");
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		const struct xs2s_link *l = &xs2s_g.links[i];
		unsigned p;

		if (l->state == XS2S_LS_FREE)
			continue;
		xs2s_w_fmt(w, "%s{\"id\":%u,\"direction\":\"%s\",\"local\":", first ? "" : ",", l->id,
			   l->dir == XS2S_DIR_IN ? "in" : "out");
		first = 0;
		xs2s_w_json(w, l->local_domain);
		xs2s_w_raw(w, ",\"remote\":");
		xs2s_w_json(w, l->peer_domain);
		xs2s_w_fmt(w, ",\"state\":\"%s\",\"transport\":\"%s\",\"tls_version\":", xs2s_link_state_name(l->state),
			   status_transport(l));
		xs2s_w_json(w, l->tls_version);
		xs2s_w_raw(w, ",\"cipher\":");
		xs2s_w_json(w, l->cipher);
		xs2s_w_fmt(w, ",\"auth\":\"%s\",\"cert\":\"%s\",\"age_s\":%u,\"stanzas_in\":%u,\"stanzas_out\":%u,"
			      "\"bytes_in\":%llu,\"bytes_out\":%llu,\"tls_arena_high\":%zu,\"pairs\":[",
			   status_auth(l), xs2s_cert_verdict_name(l->cert), status_age(l), l->stanzas_in, l->stanzas_out,
			   (unsigned long long)l->bytes_in, (unsigned long long)l->bytes_out, ta->owner_high[i + 1]);
		for (p = 0; p < CONFIG_XS2S_MAX_PAIRS; p++) {
			static const char *const st[] = { "free", "pending", "sent", "valid", "failed" };
			const struct xs2s_pair *pr = &l->pairs[p];
			if (pr->state == XS2S_PAIR_FREE)
				continue;
			xs2s_w_raw(w, w->len && w->p[w->len - 1] == '[' ? "{\"local\":" : ",{\"local\":");
			xs2s_w_json(w, pr->local);
			xs2s_w_raw(w, ",\"remote\":");
			xs2s_w_json(w, pr->remote);
			xs2s_w_fmt(w, ",\"state\":\"%s\",\"auth\":\"%s\"}", st[pr->state], xs2s_auth_method_name(pr->method));
		}
		xs2s_w_raw(w, "]}");
	}
	status_totals(&plain, &tls, &unknown);
	xs2s_w_fmt(w, "],\"totals\":{\"plain\":%u,\"starttls\":%u,\"unknown\":%u},\"pools\":{", plain, tls, unknown);
	xs2s_w_fmt(w, "\"links\":{\"used\":%u,\"high\":%u,\"size\":%u,\"fails\":%u},", xs2s_g.links_used,
		   xs2s_g.links_high, (unsigned)CONFIG_XS2S_MAX_LINKS, xs2s_g.links_refused);
	status_arena_json(w, "queue", xs2s_queue_arena(), true);
	xs2s_inbox_stats(&used, &high, &size, &count);
	xs2s_w_fmt(w, "\"inbox\":{\"used\":%zu,\"high\":%zu,\"size\":%zu,\"messages\":%u},", used, high, size, count);
	status_arena_json(w, "xml_arena", xs2s_xml_arena(), true);
	status_arena_json(w, "tls_arena", ta, false);
	xs2s_w_raw(w, "},\"port_pools\":{");
	xs2s_port_pools(status_port_pool_json, w);
	xs2s_w_raw(w, "}}");
}
