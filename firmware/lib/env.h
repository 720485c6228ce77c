/* The engine's configuration as the lower layers see it: written once by
 * xs2s_engine_start, read-only afterwards. A link and the authentication
 * code keep a pointer to it; nothing below the engine writes it. */
#ifndef XS2S_ENV_H
#define XS2S_ENV_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "xs2s.h"
#include "lib/jid.h"
#include "lib/crypto.h"

#define XS2S_EXCEPTIONS_MAX 256 /* bytes of the secure-auth exception list */

struct xs2s_tls;
struct xs2s_xml;
struct xs2s_evq;
struct xs2s_link_bufs;

#if CONFIG_XS2S_COMPONENTS
/* The component domains (XEP-0114) this engine serves besides its local
 * domains. Part of the component table (component/component.h), which owns
 * and writes it; the layers below the engine read it through env->hosted. */
struct xs2s_hosted {
	unsigned n;
	char name[CONFIG_XS2S_MAX_COMPONENTS][XS2S_DOMAIN_MAX + 1];
	bool cert[CONFIG_XS2S_MAX_COMPONENTS]; /* our certificate names name[i] */
};
#endif

struct xs2s_env {
	char domains[CONFIG_XS2S_MAX_DOMAINS][XS2S_DOMAIN_MAX + 1]; /* [0] primary */
	unsigned ndomains;
	enum xs2s_tls_policy tls_policy;
	bool sasl;                       /* SASL EXTERNAL enabled (and compiled in) */
	bool dialback;                   /* dialback enabled (and compiled in) */
	bool bidi;                       /* XEP-0288 bidirectional streams enabled (and compiled in) */
	bool secure_auth;                /* refuse peers without a valid certificate */
	char exceptions[XS2S_EXCEPTIONS_MAX]; /* " a.test b.test ": exempt from secure auth */
	uint8_t db_secret[XS2S_SHA256_LEN];   /* SHA-256 of the dialback secret; never logged */
	struct xs2s_tls *tls;            /* the engine's TLS contexts and arena */
	struct xs2s_xml *xml;            /* the engine's XML arena */
	struct xs2s_evq *evq;            /* where lower layers post events */
	struct xs2s_link_bufs *bufs;     /* the buffers links borrow (link/bufs.h) */
#if CONFIG_XS2S_COMPONENTS
	const struct xs2s_hosted *hosted; /* component domains; NULL: none */
#endif
};

static inline bool xs2s_env_local(const struct xs2s_env *env, const char *domain)
{
	unsigned i;

	for (i = 0; i < env->ndomains; i++)
		if (xs2s_domain_eq(env->domains[i], domain))
			return true;
	return false;
}

/* A component's domain (XEP-0114), served here through its component. */
static inline bool xs2s_env_component(const struct xs2s_env *env, const char *domain)
{
#if CONFIG_XS2S_COMPONENTS
	unsigned i;

	for (i = 0; env->hosted && i < env->hosted->n; i++)
		if (!strcmp(env->hosted->name[i], domain))
			return true;
#else
	(void)env, (void)domain;
#endif
	return false;
}

/* Can our certificate prove domain (SASL EXTERNAL, our side)? A component's
 * domain only when the certificate names it; a local domain is assumed
 * to be in it (the peer judges). */
static inline bool xs2s_env_cert_names(const struct xs2s_env *env, const char *domain)
{
#if CONFIG_XS2S_COMPONENTS
	unsigned i;

	for (i = 0; env->hosted && i < env->hosted->n; i++)
		if (!strcmp(env->hosted->name[i], domain))
			return env->hosted->cert[i];
#else
	(void)env, (void)domain;
#endif
	return true;
}

/* Served here: a local domain or a component's. Remote servers may open
 * streams to it, and we are its authoritative server for dialback. */
static inline bool xs2s_env_served(const struct xs2s_env *env, const char *domain)
{
	return xs2s_env_local(env, domain) || xs2s_env_component(env, domain);
}

#endif
