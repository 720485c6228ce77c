/* Authentication policy: which methods are on, secure auth, and what an
 * inbound stream is offered; see auth.h. */
#include <string.h>
#include "xs2s_config.h"
#include "auth/auth.h"

bool xs2s_auth_sasl_enabled(const struct xs2s_env *env)
{
	return IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_SASL_EXTERNAL) && env->sasl && env->tls->ready;
}

bool xs2s_auth_dialback_enabled(const struct xs2s_env *env)
{
	return IS_ENABLED_XS2S(CONFIG_XS2S_AUTH_DIALBACK) && env->dialback;
}

bool xs2s_auth_secure_for(const struct xs2s_env *env, const char *domain)
{
	const char *p = env->exceptions;
	size_t n = strlen(domain);

	if (!env->secure_auth)
		return false;
	while (n && (p = strstr(p, domain)) != NULL) {
		if (p > env->exceptions && p[-1] == ' ' && p[n] == ' ')
			return false;
		p += n;
	}
	return true;
}

const char *xs2s_auth_offers(const struct xs2s_env *env, struct xs2s_link *l, const struct xs2s_auth_state *a)
{
	/* Indexed by sasl | db << 1 | bidi << 2. */
	static const char *const offers[8] = {
		"", XS2S_SASL_FEATURE, XS2S_DB_FEATURE, XS2S_SASL_FEATURE XS2S_DB_FEATURE,
		XS2S_BIDI_FEATURE, XS2S_SASL_FEATURE XS2S_BIDI_FEATURE, XS2S_DB_FEATURE XS2S_BIDI_FEATURE,
		XS2S_SASL_FEATURE XS2S_DB_FEATURE XS2S_BIDI_FEATURE,
	};
	unsigned sasl = xs2s_sasl_offered(env, l, a), db = xs2s_auth_dialback_enabled(env);
	unsigned bidi = IS_ENABLED_XS2S(CONFIG_XS2S_BIDI) && a->bidi == XS2S_BIDI_OFFERED;

	return offers[sasl | db << 1 | bidi << 2];
}

void xs2s_auth_note_features(struct xs2s_auth_state *a, const struct xs2s_link *l, const struct xs2s_el *features)
{
	struct xs2s_el db, errors;
	bool offered = features && features->node &&
		       xs2s_el_child(features, XS2S_NS_DB_FEATURE, "dialback", &db);

	a->peer_db_errors = offered && xs2s_el_child(&db, XS2S_NS_DB_FEATURE, "errors", &errors);
	/* The feature, or xmlns:db on the header (older servers); kept across
	 * restarts. A pre-1.0 peer has no features: dialback is all it knows. */
	a->peer_dialback |= offered || l->st.hdr_dialback || !(features && features->node);
}
