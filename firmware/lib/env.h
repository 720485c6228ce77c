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

struct xs2s_env {
	char domains[CONFIG_XS2S_MAX_DOMAINS][XS2S_DOMAIN_MAX + 1]; /* [0] primary */
	unsigned ndomains;
	enum xs2s_tls_policy tls_policy;
	bool sasl;                       /* SASL EXTERNAL enabled (and compiled in) */
	bool dialback;                   /* dialback enabled (and compiled in) */
	bool secure_auth;                /* refuse peers without a valid certificate */
	char exceptions[XS2S_EXCEPTIONS_MAX]; /* " a.test b.test ": exempt from secure auth */
	uint8_t db_secret[XS2S_SHA256_LEN];   /* SHA-256 of the dialback secret; never logged */
	struct xs2s_tls *tls;            /* the engine's TLS contexts and arena */
	struct xs2s_xml *xml;            /* the engine's XML arena */
	struct xs2s_evq *evq;            /* where lower layers post events */
};

static inline bool xs2s_env_local(const struct xs2s_env *env, const char *domain)
{
	unsigned i;

	for (i = 0; i < env->ndomains; i++)
		if (xs2s_domain_eq(env->domains[i], domain))
			return true;
	return false;
}

#endif
