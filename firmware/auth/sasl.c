/* SASL EXTERNAL with certificates (XEP-0178), both roles; see auth.h. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "auth/auth.h"

/* ---- base64 ---- */

static const char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int xs2s_base64_encode(const void *in, size_t n, char *out, size_t cap)
{
	const uint8_t *p = in;
	size_t i, o = 0;

	if (cap < 4 * ((n + 2) / 3) + 1)
		return XS2S_ERANGE;
	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		out[o++] = b64_alphabet[v >> 18 & 63];
		out[o++] = b64_alphabet[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64_alphabet[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64_alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return (int)o;
}

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;
	return p ? (int)(p - b64_alphabet) : -1;
}

int xs2s_base64_decode(const char *in, uint8_t *out, size_t cap)
{
	uint32_t acc = 0;
	int bits = 0;
	size_t o = 0, pad = 0, len = 0;

	for (; *in; in++) {
		int v;
		if (*in == ' ' || *in == '\n' || *in == '\r' || *in == '\t')
			continue; /* XML whitespace around the payload */
		len++;
		if (*in == '=') {
			pad++;
			continue;
		}
		if (pad)
			return XS2S_EINVAL; /* data after padding */
		v = b64_value(*in);
		if (v < 0)
			return XS2S_EINVAL;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return XS2S_ERANGE;
			out[o++] = (uint8_t)(acc >> bits);
		}
	}
	if (len % 4 || pad > 2)
		return XS2S_EINVAL;
	return (int)o;
}

/* ---- receiving role ---- */

bool xs2s_sasl_offered(const struct xs2s_env *env, struct xs2s_link *l, const struct xs2s_auth_state *a)
{
	return xs2s_auth_sasl_enabled(env) && xs2s_link_tls_up(l) && a->sasl != XS2S_SASL_DONE && l->peer_domain[0] &&
	       l->cert == XS2S_CERT_VALID;
}

enum xs2s_sasl_result xs2s_sasl_refuse(const struct xs2s_env *env, struct xs2s_link *l, const char *cond,
				       const char *why)
{
	char buf[160];
	int n = snprintf(buf, sizeof buf, "<failure xmlns='" XS2S_NS_SASL "'><%s/></failure>", cond);

	XS2S_LOGW(l->id, "SASL EXTERNAL from %s refused: %s", l->peer_domain[0] ? l->peer_domain : "?", why);
	xs2s_link_write(l, buf, (size_t)n);
	if (xs2s_auth_dialback_enabled(env) && !xs2s_auth_secure_for(env, l->peer_domain))
		return XS2S_SASL_FALLBACK;
	xs2s_link_abort(l, XS2S_WHY_NOT_AUTHORIZED, "SASL EXTERNAL refused and no fallback allowed");
	return XS2S_SASL_FATAL;
}

enum xs2s_sasl_result xs2s_sasl_on_auth(const struct xs2s_env *env, struct xs2s_link *l, struct xs2s_auth_state *a,
					const struct xs2s_el *el)
{
	const char *mech = xs2s_el_attr(el, "mechanism");
	char b64[XS2S_DOMAIN_MAX * 2];
	uint8_t authzid[XS2S_DOMAIN_MAX + 1];
	int n;

	if (l->dir != XS2S_DIR_IN || !xs2s_sasl_offered(env, l, a))
		return xs2s_sasl_refuse(env, l, "not-authorized", "EXTERNAL was not offered on this stream");
	if (!mech || strcmp(mech, "EXTERNAL"))
		return xs2s_sasl_refuse(env, l, "invalid-mechanism", "only EXTERNAL is offered");
	if (xs2s_el_text(el, b64, sizeof b64) < 0)
		return xs2s_sasl_refuse(env, l, "malformed-request", "authzid too long");
	/* "=" (or nothing) is the empty authzid; otherwise it must equal 'from'
	 * (XEP-0178 3). */
	n = (!strcmp(b64, "=") || !b64[0]) ? 0 : xs2s_base64_decode(b64, authzid, sizeof authzid - 1);
	if (n < 0)
		return xs2s_sasl_refuse(env, l, "incorrect-encoding", "authzid is not base64");
	authzid[n] = '\0';
	if (n && strcmp((const char *)authzid, l->peer_domain))
		return xs2s_sasl_refuse(env, l, "invalid-authzid", "authzid differs from the stream's from");
	return XS2S_SASL_OK;
}

void xs2s_sasl_accept(struct xs2s_link *l, struct xs2s_auth_state *a)
{
	static const char success[] = "<success xmlns='" XS2S_NS_SASL "'/>";

	a->sasl = XS2S_SASL_DONE;
	xs2s_link_write(l, success, sizeof success - 1);
	XS2S_LOGI(l->id, "SASL EXTERNAL: %s authenticated by certificate for %s", l->peer_domain, l->local_domain);
	/* RFC 6120 6.4.6: the peer restarts the stream; its new header comes next. */
	xs2s_link_restart(l);
}

/* ---- initiating role ---- */

bool xs2s_sasl_start(const struct xs2s_env *env, struct xs2s_link *l, struct xs2s_auth_state *a,
		     const struct xs2s_el *features)
{
	struct xs2s_el mechs, m;
	char name[32], b64[XS2S_DOMAIN_MAX * 2], buf[XS2S_DOMAIN_MAX * 2 + 100];
	bool found = false;
	int n;

	if (!features || !features->node || !xs2s_auth_sasl_enabled(env) || a->sasl != XS2S_SASL_NONE ||
	    !xs2s_link_tls_up(l) || !xs2s_el_child(features, XS2S_NS_SASL, "mechanisms", &mechs))
		return false;
	if (xs2s_el_child(&mechs, XS2S_NS_SASL, "mechanism", &m))
		do
			found = xs2s_el_is(&m, XS2S_NS_SASL, "mechanism") && xs2s_el_text(&m, name, sizeof name) > 0 &&
				!strcmp(name, "EXTERNAL");
		while (!found && xs2s_el_next(&m));
	if (!found)
		return false;
	if (!xs2s_env_cert_names(env, l->local_domain)) {
		/* A component's domain our certificate does not name: the peer
		 * would refuse EXTERNAL; dialback proves it instead. */
		XS2S_LOGI(l->id, "SASL EXTERNAL offered, but our certificate does not name %s: dialback for it",
			  l->local_domain);
		return false;
	}
	xs2s_base64_encode(l->local_domain, strlen(l->local_domain), b64, sizeof b64);
	n = snprintf(buf, sizeof buf, "<auth xmlns='" XS2S_NS_SASL "' mechanism='EXTERNAL'>%s</auth>", b64);
	if (n < 0 || (size_t)n >= sizeof buf || xs2s_link_write(l, buf, (size_t)n) != XS2S_OK)
		return false;
	a->sasl = XS2S_SASL_SENT;
	XS2S_LOGI(l->id, "SASL EXTERNAL: asking %s to accept our certificate for %s", l->peer_domain, l->local_domain);
	xs2s_link_authenticating(l);
	return true;
}

enum xs2s_sasl_result xs2s_sasl_on_result(const struct xs2s_env *env, struct xs2s_link *l, struct xs2s_auth_state *a,
					  const struct xs2s_el *el)
{
	bool success = !strcmp(xs2s_el_name(el), "success");
	struct xs2s_el c;
	const char *cond;

	if (l->dir != XS2S_DIR_OUT || a->sasl != XS2S_SASL_SENT) {
		xs2s_link_abort(l, XS2S_WHY_NOT_AUTHORIZED, "unsolicited SASL %s", success ? "success" : "failure");
		return XS2S_SASL_FATAL;
	}
	if (success) {
		a->sasl = XS2S_SASL_DONE;
		XS2S_LOGI(l->id, "SASL EXTERNAL: %s accepted us as %s", l->peer_domain, l->local_domain);
		xs2s_link_restart(l); /* the pair becomes valid with the new features */
		return XS2S_SASL_OK;
	}
	cond = xs2s_el_child(el, XS2S_NS_SASL, NULL, &c) ? xs2s_el_name(&c) : "?";
	a->sasl = XS2S_SASL_REFUSED;
	if (xs2s_auth_dialback_enabled(env) && a->peer_dialback && !xs2s_auth_secure_for(env, l->peer_domain)) {
		XS2S_LOGW(l->id, "SASL EXTERNAL refused by %s (%s): falling back to dialback", l->peer_domain, cond);
		return XS2S_SASL_FALLBACK;
	}
	xs2s_link_abort(l, XS2S_WHY_AUTH_FAILED, "SASL EXTERNAL refused by %s (%s) and no dialback fallback",
			l->peer_domain, cond);
	return XS2S_SASL_FATAL;
}
