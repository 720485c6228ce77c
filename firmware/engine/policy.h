/* Per-peer policy (XEP-0205): which remote domains may federate with us
 * (the allow and deny lists) and how fast an inbound stream may send
 * stanzas (a token bucket per stream).
 *
 * Action points
 *   inbound stream   its header names a domain that may not federate, or
 *                    it authenticates as one (SASL EXTERNAL, dialback):
 *                    the stream error policy-violation (RFC 6120 4.9.3.14,
 *                    "some local service policy"; not host-unknown, which
 *                    is about the 'to' we serve, 4.9.3.6, nor
 *                    not-authorized, which is about authentication,
 *                    4.9.3.12: this peer may have authenticated perfectly).
 *   outbound stanza  to a domain that may not federate: bounced with
 *                    not-allowed (RFC 6120 8.3.3.10, whose example is
 *                    "sending to entities at a blacklisted domain"); no
 *                    route, no connection.
 *   inbound stanza   takes a token from its stream's bucket (rate per
 *                    second, burst at once). An empty bucket holds the
 *                    stream's input (not read, not polled: TCP pushes
 *                    back on the peer) until a token is back. A stream
 *                    whose bucket never banks two tokens (its peer never
 *                    lets a token's time pass unused) for rate_hard_s
 *                    after it first ran empty is closed with
 *                    policy-violation.
 *   The deny list wins; a non-empty allow list admits only its domains.
 *   Domains compare as the domain checks do (xs2s_domain_eq: ASCII case
 *   insensitive), whole names only (no wildcard).
 *
 * Who calls: the engine (s2s.c, engine.c). Owns: the lists, the rate
 * settings, the counters (struct xs2s_policy in the core) and each
 * slot's bucket (struct xs2s_rate: the engine keeps it beside the link,
 * this file alone writes it). Never touches: links (the engine ends
 * them), routes, local delivery.
 */
#ifndef XS2S_POLICY_H
#define XS2S_POLICY_H

#include <stdbool.h>
#include <stdint.h>
#include "xs2s.h"

/* A stream's token bucket (thousandths of a token). */
struct xs2s_rate {
	uint32_t milli;       /* tokens x 1000 */
	uint32_t last_ms;     /* last refill */
	uint32_t over_ms;     /* when the current episode of waiting began (valid while over) */
	bool on;              /* started (the stream is open) */
	bool over;            /* the bucket ran empty at over_ms and never banked two tokens since */
	bool held;            /* its input is held now (for counting the waits once) */
};

#if CONFIG_XS2S_POLICY
struct xs2s_policy {
	char allow[CONFIG_XS2S_POLICY_LIST_BYTES + 2]; /* " a.test b.test ", or "" */
	char deny[CONFIG_XS2S_POLICY_LIST_BYTES + 2];
	uint32_t rate, burst, hard_s;
	unsigned denied_in;   /* inbound streams refused: their domain may not federate */
	unsigned denied_out;  /* stanzas bounced: their recipient's domain may not federate */
	unsigned delayed;     /* times an inbound stream's input waited for a token */
	unsigned cut;         /* inbound streams closed: held at their rate for rate_hard_s */
};

/* From the configuration: XS2S_EINVAL (logged) for a list that does not
 * fit or names something that is not a domain. */
int xs2s_policy_init(struct xs2s_policy *p, const struct xs2s_config *cfg);
/* May domain federate with us? */
bool xs2s_policy_allowed(const struct xs2s_policy *p, const char *domain);
/* Why not, for logs and bounces: "on the deny list" / "not on the allow list". */
const char *xs2s_policy_why(const struct xs2s_policy *p, const char *domain);
/* A new stream: its bucket full, not started until it opens. */
void xs2s_policy_rate_reset(struct xs2s_rate *r);
/* An inbound stanza on the stream. */
void xs2s_policy_rate_take(struct xs2s_policy *p, struct xs2s_rate *r, uint32_t now);
/* Whether the stream's input must wait for a token now (the engine asks
 * at the top of every round and before every pump of an open inbound
 * stream). */
bool xs2s_policy_rate_hold(struct xs2s_policy *p, struct xs2s_rate *r, uint32_t now);
/* Milliseconds until the stream may read again (0: now; UINT32_MAX: not held). */
uint32_t xs2s_policy_rate_wait(const struct xs2s_policy *p, const struct xs2s_rate *r, uint32_t now);
/* The hard limit is reached: the caller closes the stream (counted). */
bool xs2s_policy_rate_cut(struct xs2s_policy *p, const struct xs2s_rate *r, uint32_t now);
#else
struct xs2s_policy {
	unsigned denied_in, denied_out, delayed, cut; /* always 0 */
	uint32_t rate, hard_s;                        /* always 0 (no limit) */
};
static inline int xs2s_policy_init(struct xs2s_policy *p, const struct xs2s_config *cfg)
{
	(void)p, (void)cfg;
	return 0;
}
static inline bool xs2s_policy_allowed(const struct xs2s_policy *p, const char *domain)
{
	(void)p, (void)domain;
	return true;
}
static inline const char *xs2s_policy_why(const struct xs2s_policy *p, const char *domain)
{
	(void)p, (void)domain;
	return "";
}
static inline void xs2s_policy_rate_reset(struct xs2s_rate *r) { (void)r; }
static inline void xs2s_policy_rate_take(struct xs2s_policy *p, struct xs2s_rate *r, uint32_t now)
{
	(void)p, (void)r, (void)now;
}
static inline bool xs2s_policy_rate_hold(struct xs2s_policy *p, struct xs2s_rate *r, uint32_t now)
{
	(void)p, (void)r, (void)now;
	return false;
}
static inline uint32_t xs2s_policy_rate_wait(const struct xs2s_policy *p, const struct xs2s_rate *r, uint32_t now)
{
	(void)p, (void)r, (void)now;
	return UINT32_MAX;
}
static inline bool xs2s_policy_rate_cut(struct xs2s_policy *p, const struct xs2s_rate *r, uint32_t now)
{
	(void)p, (void)r, (void)now;
	return false;
}
#endif

#endif
