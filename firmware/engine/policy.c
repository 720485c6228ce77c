/* Per-peer policy (XEP-0205): the domain lists and the stanza rate
 * limit; the action points are in policy.h. */
#include <stdio.h>
#include <string.h>
#include "xs2s_config.h"
#include "xs2s_log.h"
#include "port.h"
#include "lib/jid.h"
#include "lib/types.h"
#include "engine/policy.h"

/* list := " " + the domains of text, each followed by " "; "" when none. */
static int policy_list(char *list, size_t cap, const char *text, const char *what)
{
	const char *p = text ? text : "";
	size_t n = 0;

	list[0] = '\0';
	for (;;) {
		char dom[XS2S_DOMAIN_MAX + 1];
		size_t len;

		p += strspn(p, " \t");
		len = strcspn(p, " \t");
		if (!len)
			return XS2S_OK;
		if (len > XS2S_DOMAIN_MAX) {
			XS2S_LOGE(0, "%s: '%.*s' is not a domain", what, (int)(len > 80 ? 80 : len), p);
			return XS2S_EINVAL;
		}
		memcpy(dom, p, len);
		dom[len] = '\0';
		if (!xs2s_domain_valid(dom)) {
			XS2S_LOGE(0, "%s: '%s' is not a domain", what, dom);
			return XS2S_EINVAL;
		}
		if (n + len + 2 + (n == 0) > cap) {
			XS2S_LOGE(0, "%s: more than %u bytes (CONFIG_XS2S_POLICY_LIST_BYTES)", what,
				  (unsigned)CONFIG_XS2S_POLICY_LIST_BYTES);
			return XS2S_EINVAL;
		}
		n += (size_t)snprintf(list + n, cap - n, "%s%s ", n ? "" : " ", dom);
		p += len;
	}
}

static bool policy_in(const char *list, const char *domain)
{
	const char *p = list;

	while (*p) {
		char dom[XS2S_DOMAIN_MAX + 1];
		size_t len;

		p += strspn(p, " ");
		len = strcspn(p, " ");
		if (!len)
			break;
		memcpy(dom, p, len);
		dom[len] = '\0';
		if (xs2s_domain_eq(dom, domain))
			return true;
		p += len;
	}
	return false;
}

int xs2s_policy_init(struct xs2s_policy *p, const struct xs2s_config *cfg)
{
	memset(p, 0, sizeof *p);
	if (policy_list(p->allow, sizeof p->allow, cfg->allow_domains, "allow list") != XS2S_OK ||
	    policy_list(p->deny, sizeof p->deny, cfg->deny_domains, "deny list") != XS2S_OK)
		return XS2S_EINVAL;
	p->rate = cfg->rate;
	p->burst = cfg->rate_burst >= 2 ? cfg->rate_burst : 2; /* the hard limit needs room for two tokens */
	p->hard_s = cfg->rate_hard_s;
	/* The lists are " a b ": shown without their last blank. */
	if (p->allow[0] || p->deny[0])
		XS2S_LOGI(0, "federation policy (XEP-0205): allow%.*s, deny%.*s",
			  p->allow[0] ? (int)strlen(p->allow) - 1 : 4, p->allow[0] ? p->allow : " any",
			  p->deny[0] ? (int)strlen(p->deny) - 1 : 5, p->deny[0] ? p->deny : " none");
	if (p->rate)
		XS2S_LOGI(0, "stanza rate per inbound stream (XEP-0205): %lu/s, bursts of %lu, cut after %lu s over it%s",
			  (unsigned long)p->rate, (unsigned long)p->burst, (unsigned long)p->hard_s,
			  p->hard_s ? "" : " (never)");
	return XS2S_OK;
}

bool xs2s_policy_allowed(const struct xs2s_policy *p, const char *domain)
{
	if (policy_in(p->deny, domain))
		return false;
	return !p->allow[0] || policy_in(p->allow, domain);
}

const char *xs2s_policy_why(const struct xs2s_policy *p, const char *domain)
{
	return policy_in(p->deny, domain) ? "on the deny list" : "not on the allow list";
}

/* ---- the token bucket ---- */

void xs2s_policy_rate_reset(struct xs2s_rate *r)
{
	memset(r, 0, sizeof *r);
}

static void rate_refill(const struct xs2s_policy *p, struct xs2s_rate *r, uint32_t now)
{
	uint64_t cap = (uint64_t)p->burst * 1000u, m;

	if (!r->on) {
		r->on = true;
		r->milli = (uint32_t)cap;
		r->last_ms = now;
		return;
	}
	/* rate stanzas per second: rate thousandths of a token per millisecond */
	m = r->milli + (uint64_t)(uint32_t)(now - r->last_ms) * p->rate;
	r->milli = (uint32_t)(m > cap ? cap : m);
	r->last_ms = now;
}

void xs2s_policy_rate_take(struct xs2s_policy *p, struct xs2s_rate *r, uint32_t now)
{
	if (!p->rate)
		return;
	rate_refill(p, r, now);
	r->milli = r->milli >= 1000u ? r->milli - 1000u : 0;
}

bool xs2s_policy_rate_hold(struct xs2s_policy *p, struct xs2s_rate *r, uint32_t now)
{
	if (!p->rate || !r->on)
		return false;
	rate_refill(p, r, now);
	/* Two tokens banked: the peer let a whole token's time pass unused,
	 * so it is not over its rate (one that is finds input waiting at
	 * every token, read at once). Checked at the top of every round,
	 * before the hard limit is. */
	if (r->milli >= 2000u)
		r->over = false;
	if (r->milli >= 1000u) {
		r->held = false;
		return false;
	}
	if (!r->held) {
		r->held = true;
		p->delayed++;
	}
	if (!r->over) {
		r->over = true;
		r->over_ms = now;
	}
	return true;
}

uint32_t xs2s_policy_rate_wait(const struct xs2s_policy *p, const struct xs2s_rate *r, uint32_t now)
{
	uint32_t need, elapsed = now - r->last_ms;

	if (!p->rate || !r->on || !r->held)
		return UINT32_MAX;
	if (r->milli >= 1000u)
		return 0;
	need = (1000u - r->milli + p->rate - 1) / p->rate; /* ms from the last refill */
	return elapsed >= need ? 0 : need - elapsed;
}

bool xs2s_policy_rate_cut(struct xs2s_policy *p, const struct xs2s_rate *r, uint32_t now)
{
	if (!p->rate || !p->hard_s || !r->over || !XS2S_TIME_REACHED(now, r->over_ms + p->hard_s * XS2S_MS_PER_S))
		return false;
	p->cut++;
	return true;
}
