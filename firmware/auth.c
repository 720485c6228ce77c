/* Authentication policy and SASL EXTERNAL (XEP-0178); see auth.h. */
#include <string.h>
#include "auth.h"
#include "tls.h"

#define AUTH_EXCEPTIONS_MAX 256

static bool auth_sasl, auth_dialback, auth_secure;
static char auth_exceptions[AUTH_EXCEPTIONS_MAX];

static const char *const auth_method_names[] = {
	[XS2S_AUTH_NONE] = "none",
	[XS2S_AUTH_DIALBACK] = "dialback",
	[XS2S_AUTH_DIALBACK_CERT] = "dialback+cert",
	[XS2S_AUTH_SASL_EXTERNAL] = "sasl-external",
};

const char *xs2s_auth_method_name(enum xs2s_auth_method m)
{
	return (unsigned)m < sizeof auth_method_names / sizeof auth_method_names[0] ? auth_method_names[m] : "?";
}

void xs2s_auth_configure(const struct xs2s_config *cfg)
{
	auth_sasl = cfg->auth_sasl_external;
	auth_dialback = cfg->auth_dialback;
	auth_secure = cfg->secure_auth;
	snprintf(auth_exceptions, sizeof auth_exceptions, " %s ",
		 cfg->secure_auth_exceptions ? cfg->secure_auth_exceptions : "");
}

bool xs2s_auth_sasl_enabled(void) { return auth_sasl && xs2s_g.tls_ready; }
bool xs2s_auth_dialback_enabled(void) { return auth_dialback; }

bool xs2s_auth_secure_for(const char *domain)
{
	const char *p = auth_exceptions;
	size_t n = strlen(domain);

	if (!auth_secure)
		return false;
	while ((p = strstr(p, domain)) != NULL) {
		if (p[-1] == ' ' && p[n] == ' ')
			return false;
		p += n;
	}
	return true;
}

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

const char *xs2s_auth_sasl_feature(struct xs2s_link *l)
{
	if (!xs2s_auth_sasl_enabled() || !l->tls_active || l->sasl_done || !l->peer_domain[0] ||
	    xs2s_tls_verdict(l, l->peer_domain) != XS2S_CERT_VALID)
		return "";
	return "<mechanisms xmlns='" XS2S_NS_SASL "'><mechanism>EXTERNAL</mechanism></mechanisms>";
}

static void auth_failure(struct xs2s_link *l, const char *cond, const char *why)
{
	char buf[160];
	int n = snprintf(buf, sizeof buf, "<failure xmlns='" XS2S_NS_SASL "'><%s/></failure>", cond);

	XS2S_LOGW(l->id, "SASL EXTERNAL from %s refused: %s", l->peer_domain[0] ? l->peer_domain : "?", why);
	xs2s_link_write(l, buf, (size_t)n);
	if (!xs2s_auth_dialback_enabled() || xs2s_auth_secure_for(l->peer_domain))
		xs2s_link_fail(l, XS2S_SE_NOT_AUTHORIZED, XS2S_STE_NONE, "SASL EXTERNAL refused and no fallback allowed");
}

void xs2s_auth_on_auth(struct xs2s_link *l, mxml_node_t *el)
{
	static const char success[] = "<success xmlns='" XS2S_NS_SASL "'/>";
	const char *mech = xs2s_xml_attr(el, "mechanism");
	char b64[XS2S_DOMAIN_MAX * 2];
	uint8_t authzid[XS2S_DOMAIN_MAX + 1];
	struct xs2s_pair *p;
	int n;

	if (l->dir != XS2S_DIR_IN || !xs2s_auth_sasl_feature(l)[0]) {
		auth_failure(l, "not-authorized", "EXTERNAL was not offered on this stream");
		return;
	}
	if (!mech || strcmp(mech, "EXTERNAL")) {
		auth_failure(l, "invalid-mechanism", "only EXTERNAL is offered");
		return;
	}
	if (xs2s_xml_text(el, b64, sizeof b64) < 0) {
		auth_failure(l, "malformed-request", "authzid too long");
		return;
	}
	/* "=" (or nothing) is the empty authzid; otherwise it must equal 'from'. */
	n = (!strcmp(b64, "=") || !b64[0]) ? 0 : xs2s_base64_decode(b64, authzid, sizeof authzid - 1);
	if (n < 0) {
		auth_failure(l, "incorrect-encoding", "authzid is not base64");
		return;
	}
	authzid[n] = '\0';
	if (n && strcmp((const char *)authzid, l->peer_domain)) {
		auth_failure(l, "invalid-authzid", "authzid differs from the stream's from");
		return;
	}
	p = xs2s_pair_find(l, l->local_domain, l->peer_domain);
	if (!p)
		p = xs2s_pair_add(l, l->local_domain, l->peer_domain);
	if (!p) {
		auth_failure(l, "temporary-auth-failure", "no free domain pair");
		return;
	}
	p->state = XS2S_PAIR_VALID;
	p->method = XS2S_AUTH_SASL_EXTERNAL;
	l->sasl_done = true;
	xs2s_link_write(l, success, sizeof success - 1);
	XS2S_LOGI(l->id, "SASL EXTERNAL: %s authenticated by certificate for %s", l->peer_domain, l->local_domain);
	/* The peer restarts the stream; its new header comes next. */
	xs2s_link_restart_stream(l);
}

/* ---- initiating role ---- */

bool xs2s_auth_try_external(struct xs2s_link *l, mxml_node_t *features)
{
	mxml_node_t *mechs = xs2s_xml_child(features, XS2S_NS_SASL, "mechanisms", &l->ns);
	mxml_node_t *m;
	char name[32], b64[XS2S_DOMAIN_MAX * 2], buf[XS2S_DOMAIN_MAX * 2 + 100];
	struct xs2s_pair *p;
	int n;

	if (!mechs || !xs2s_auth_sasl_enabled() || l->sasl_done || l->sasl_failed || !l->tls_active)
		return false;
	for (m = xs2s_xml_child(mechs, XS2S_NS_SASL, "mechanism", &l->ns); m; m = xs2s_xml_next(m))
		if (xs2s_xml_is(m, XS2S_NS_SASL, "mechanism", &l->ns) && xs2s_xml_text(m, name, sizeof name) > 0 &&
		    !strcmp(name, "EXTERNAL"))
			break;
	p = xs2s_pair_find(l, l->local_domain, l->peer_domain);
	if (!m || !p || p->state != XS2S_PAIR_PENDING)
		return false;
	xs2s_base64_encode(l->local_domain, strlen(l->local_domain), b64, sizeof b64);
	n = snprintf(buf, sizeof buf, "<auth xmlns='" XS2S_NS_SASL "' mechanism='EXTERNAL'>%s</auth>", b64);
	if (n < 0 || (size_t)n >= sizeof buf || xs2s_link_write(l, buf, (size_t)n) != XS2S_OK)
		return false;
	p->state = XS2S_PAIR_SENT;
	l->sasl_inflight = true;
	XS2S_LOGI(l->id, "SASL EXTERNAL: asking %s to accept our certificate for %s", l->peer_domain, l->local_domain);
	xs2s_link_set_state(l, XS2S_LS_AUTH);
	return true;
}

void xs2s_auth_on_result(struct xs2s_link *l, mxml_node_t *el, bool success)
{
	struct xs2s_pair *p = xs2s_pair_find(l, l->local_domain, l->peer_domain);
	mxml_node_t *c;

	if (l->dir != XS2S_DIR_OUT || !p || !l->sasl_inflight) {
		xs2s_link_fail(l, XS2S_SE_NOT_AUTHORIZED, XS2S_STE_NONE, "unsolicited SASL %s", success ? "success" : "failure");
		return;
	}
	l->sasl_inflight = false;
	if (success) {
		p->method = XS2S_AUTH_SASL_EXTERNAL;
		l->sasl_done = true;
		XS2S_LOGI(l->id, "SASL EXTERNAL: %s accepted us as %s", l->peer_domain, l->local_domain);
		xs2s_link_restart_stream(l); /* the pair becomes VALID with the new features */
		return;
	}
	c = xs2s_xml_child(el, XS2S_NS_SASL, NULL, &l->ns);
	l->sasl_failed = true;
	p->state = XS2S_PAIR_PENDING;
	if (xs2s_auth_dialback_enabled() && l->peer_dialback && !xs2s_auth_secure_for(l->peer_domain)) {
		XS2S_LOGW(l->id, "SASL EXTERNAL refused by %s (%s): falling back to dialback", l->peer_domain,
			  c ? xs2s_xml_local(c) : "?");
		xs2s_db_send_pending(l);
		return;
	}
	xs2s_link_close(l, "authentication failed");
	xs2s_link_fail(l, XS2S_SE_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND,
		       "SASL EXTERNAL refused by %s (%s) and no dialback fallback", l->peer_domain, c ? xs2s_xml_local(c) : "?");
}
