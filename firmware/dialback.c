/* Server Dialback (XEP-0220) with XEP-0185 keys, in all three roles.
 *
 * Action points
 *   Originating (our outbound link, after the post-TLS features):
 *     for each pair PENDING: send <db:result from=L to=R>key(R, L, peer's id)
 *     (a full output leaves it PENDING: the engine asks again each round)
 *     -> PAIR_SENT; <db:result type=valid> -> PAIR_VALID, link OPEN, flush
 *     queue; type=invalid|error -> PAIR_FAILED, bounce queue.
 *   Receiving (inbound link): <db:result from=R to=L>K</db:result>
 *     L not ours -> <db:result type=error> item-not-found; R malformed or the
 *     pair already known -> refused; otherwise PAIR_PENDING and a verify
 *     request to the outbound link for (L, R) (created on demand). When it
 *     answers: <db:result type=valid|invalid> on the inbound link.
 *     If the outbound link fails: type=error remote-server-not-found.
 *   Authoritative (any stream, after TLS when TLS is required):
 *     <db:verify from=R to=L id=I>K</db:verify> ->
 *     <db:verify from=L to=R id=I type=valid|invalid/>, constant-time
 *     compare with key(R, L, I). L not ours -> type=error item-not-found.
 *   Unsolicited (a verdict nobody asked for, a request on the wrong side):
 *     stream error not-authorized.
 * Keys and the secret are never logged.
 */
#include <string.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hmac.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include "xs2s_int.h"
#include "tls.h"
#include "auth.h"

static const char db_hex[] = "0123456789abcdef";

void xs2s_db_key(const char *recv, const char *orig, const char *id, char out[65])
{
	char hexkey[64];
	uint8_t mac[WC_SHA256_DIGEST_SIZE];
	Hmac h;
	unsigned i;

	for (i = 0; i < 32; i++) {
		hexkey[2 * i] = db_hex[xs2s_g.db_secret_hash[i] >> 4];
		hexkey[2 * i + 1] = db_hex[xs2s_g.db_secret_hash[i] & 15];
	}
	memset(mac, 0, sizeof mac);
	if (wc_HmacInit(&h, NULL, INVALID_DEVID) == 0) {
		if (wc_HmacSetKey(&h, WC_SHA256, (const byte *)hexkey, sizeof hexkey) == 0) {
			wc_HmacUpdate(&h, (const byte *)recv, (word32)strlen(recv));
			wc_HmacUpdate(&h, (const byte *)" ", 1);
			wc_HmacUpdate(&h, (const byte *)orig, (word32)strlen(orig));
			wc_HmacUpdate(&h, (const byte *)" ", 1);
			wc_HmacUpdate(&h, (const byte *)id, (word32)strlen(id));
			wc_HmacFinal(&h, mac);
		}
		wc_HmacFree(&h);
	}
	for (i = 0; i < sizeof mac; i++) {
		out[2 * i] = db_hex[mac[i] >> 4];
		out[2 * i + 1] = db_hex[mac[i] & 15];
	}
	out[64] = '\0';
	memset(hexkey, 0, sizeof hexkey);
}

/* Constant-time for equal lengths; the length itself is not secret. */
static bool db_key_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned diff = (unsigned)(la ^ lb);

	if (la != lb)
		return false;
	for (i = 0; i < la; i++)
		diff |= (unsigned)(a[i] ^ b[i]);
	return diff == 0;
}

struct xs2s_pair *xs2s_pair_find(struct xs2s_link *l, const char *local, const char *remote)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++) {
		struct xs2s_pair *p = &l->pairs[i];
		if (p->state != XS2S_PAIR_FREE && !strcmp(p->local, local) && !strcmp(p->remote, remote))
			return p;
	}
	return NULL;
}

struct xs2s_pair *xs2s_pair_add(struct xs2s_link *l, const char *local, const char *remote)
{
	unsigned i;

	if (strlen(local) > XS2S_DOMAIN_MAX || strlen(remote) > XS2S_DOMAIN_MAX)
		return NULL;
	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++) {
		struct xs2s_pair *p = &l->pairs[i];
		if (p->state == XS2S_PAIR_FREE) {
			memset(p, 0, sizeof *p);
			p->state = XS2S_PAIR_PENDING;
			strcpy(p->local, local);
			strcpy(p->remote, remote);
			return p;
		}
	}
	return NULL;
}

/* <db:NAME from=F to=T [id=I] [type=TYPE]>[body]</db:NAME>, whole or nothing. */
static int db_send(struct xs2s_link *l, const char *name, const char *from, const char *to,
		   const char *id, const char *type, const char *body, enum xs2s_stanza_err cond)
{
	char buf[1024];
	struct xs2s_wbuf w;

	xs2s_w_init(&w, buf, sizeof buf);
	xs2s_w_fmt(&w, "<db:%s from='", name);
	xs2s_w_esc(&w, from);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, to);
	if (id) {
		xs2s_w_raw(&w, "' id='");
		xs2s_w_esc(&w, id);
	}
	if (type)
		xs2s_w_fmt(&w, "' type='%s", type);
	if (cond != XS2S_STE_NONE) {
		xs2s_w_fmt(&w, "'><error type='%s'><%s xmlns='" XS2S_NS_STANZA_ERR "'/></error></db:%s>",
			   xs2s_stanza_err_type(cond), xs2s_stanza_err_name(cond), name);
	} else if (body) {
		xs2s_w_raw(&w, "'>");
		xs2s_w_esc(&w, body);
		xs2s_w_fmt(&w, "</db:%s>", name);
	} else {
		xs2s_w_raw(&w, "'/>");
	}
	if (w.overflow)
		return XS2S_ENOMEM;
	return xs2s_link_write(l, buf, w.len);
}

/* The inbound pair a verify request stands for; a request whose inbound
 * link is gone is dropped and NULL returned. */
static struct xs2s_pair *db_vreq_pair(struct xs2s_verify_req *v, struct xs2s_link **in)
{
	*in = xs2s_link_by_slot(v->in_slot, v->in_gen);
	if (!*in) {
		v->used = false;
		return NULL;
	}
	return &(*in)->pairs[v->pair];
}

/* Originating role: send db:result for pending pairs and queued verifies. */
void xs2s_db_send_pending(struct xs2s_link *l)
{
	unsigned i;

	if (l->sasl_inflight)
		return; /* nothing else may go out during the SASL exchange */

	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++) {
		struct xs2s_pair *p = &l->pairs[i];
		char key[65];

		if (p->state != XS2S_PAIR_PENDING)
			continue;
		xs2s_db_key(p->remote, p->local, l->stream_id, key);
		if (db_send(l, "result", p->local, p->remote, NULL, NULL, key, XS2S_STE_NONE) != XS2S_OK)
			return; /* output full: the engine calls again when it drains */
		p->state = XS2S_PAIR_SENT;
		XS2S_LOGI(l->id, "dialback: asking %s to accept %s", p->remote, p->local);
	}
	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++) {
		struct xs2s_verify_req *v = &l->vreq[i];
		struct xs2s_link *in;
		struct xs2s_pair *p;

		if (!v->used || v->sent || !(p = db_vreq_pair(v, &in)))
			continue;
		if (db_send(l, "verify", p->local, p->remote, in->stream_id, NULL, p->key, XS2S_STE_NONE) != XS2S_OK)
			return; /* as above */
		v->sent = true;
		XS2S_LOGI(l->id, "dialback: verifying %s for L%u", p->remote, in->id);
	}
	if (l->state == XS2S_LS_FEATURES)
		xs2s_link_set_state(l, XS2S_LS_AUTH);
}

/* The verdict for an inbound pair is known: tell the originating server. */
static void db_conclude(struct xs2s_link *in, unsigned pi, bool valid, enum xs2s_stanza_err cond)
{
	struct xs2s_pair *p = &in->pairs[pi];

	memset(p->key, 0, sizeof p->key);
	if (in->state == XS2S_LS_CLOSING)
		return; /* the stream ended meanwhile: no verdict, no state change */
	if (cond != XS2S_STE_NONE) {
		p->state = XS2S_PAIR_FAILED;
		db_send(in, "result", p->local, p->remote, NULL, "error", NULL, cond);
		XS2S_LOGW(in->id, "dialback: cannot verify %s: %s", p->remote, xs2s_stanza_err_name(cond));
		return;
	}
	p->state = valid ? XS2S_PAIR_VALID : XS2S_PAIR_FAILED;
	if (valid && p->method == XS2S_AUTH_NONE)
		p->method = XS2S_AUTH_DIALBACK;
	db_send(in, "result", p->local, p->remote, NULL, valid ? "valid" : "invalid", NULL, XS2S_STE_NONE);
	if (valid) {
		XS2S_LOGI(in->id, "dialback: %s authenticated for %s", p->remote, p->local);
		if (in->state != XS2S_LS_OPEN)
			xs2s_link_set_state(in, XS2S_LS_OPEN);
	} else {
		XS2S_LOGW(in->id, "dialback: %s presented an invalid key", p->remote);
	}
}

int xs2s_db_request_verify(struct xs2s_link *in, unsigned pi)
{
	struct xs2s_pair *p = &in->pairs[pi];
	struct xs2s_link *out = xs2s_router_out_link(p->local, p->remote, true);
	unsigned i;

	if (!out)
		return XS2S_ENOMEM;
	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++) {
		struct xs2s_verify_req *v = &out->vreq[i];
		if (!v->used) {
			v->used = true;
			v->sent = false;
			v->in_slot = (uint8_t)xs2s_link_slot(in);
			v->in_gen = in->gen;
			v->pair = (uint8_t)pi;
			if (out->state == XS2S_LS_AUTH || out->state == XS2S_LS_OPEN)
				xs2s_db_send_pending(out);
			return XS2S_OK;
		}
	}
	return XS2S_ENOMEM;
}

/* An outbound link goes away: fail verifications that waited on it. */
void xs2s_db_link_gone(struct xs2s_link *l)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++) {
		struct xs2s_verify_req *v = &l->vreq[i];
		struct xs2s_link *in;

		if (!v->used)
			continue;
		v->used = false;
		in = xs2s_link_by_slot(v->in_slot, v->in_gen);
		if (in && in->pairs[v->pair].state == XS2S_PAIR_PENDING)
			db_conclude(in, v->pair, false,
				    l->bounce == XS2S_STE_REMOTE_SERVER_TIMEOUT ? XS2S_STE_REMOTE_SERVER_TIMEOUT
									  : XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	}
}

static int db_unsolicited(struct xs2s_link *l, const char *what)
{
	xs2s_link_fail(l, XS2S_SE_NOT_AUTHORIZED, XS2S_STE_NONE, "unsolicited %s", what);
	return XS2S_EPROTO;
}

/* Receiving role: a db:result request on an inbound link. */
static int db_result_request(struct xs2s_link *l, const char *from, const char *to, mxml_node_t *el)
{
	char key[XS2S_DB_KEY_MAX + 1];
	struct xs2s_pair *p;
	unsigned pi;
	enum xs2s_cert_verdict verdict;

	if (!xs2s_is_local_domain(to))
		return db_send(l, "result", to, from, NULL, "error", NULL, XS2S_STE_ITEM_NOT_FOUND);
	if (!xs2s_auth_dialback_enabled())
		return db_send(l, "result", to, from, NULL, "error", NULL, XS2S_STE_POLICY_VIOLATION);
	if (!xs2s_domain_valid(from)) {
		xs2s_link_fail(l, XS2S_SE_INVALID_FROM, XS2S_STE_NONE, "db:result from a malformed domain");
		return XS2S_EPROTO;
	}
	if (xs2s_xml_text(el, key, sizeof key) <= 0) {
		xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_NONE, "dialback key empty or too long");
		return XS2S_EPROTO;
	}
	p = xs2s_pair_find(l, to, from);
	if (p && p->state == XS2S_PAIR_VALID)
		return db_send(l, "result", to, from, NULL, "valid", NULL, XS2S_STE_NONE);
	if (p && p->state == XS2S_PAIR_PENDING)
		return XS2S_OK; /* a verification is already running */
	if (!p)
		p = xs2s_pair_add(l, to, from);
	if (!p)
		return db_send(l, "result", to, from, NULL, "error", NULL, XS2S_STE_RESOURCE_CONSTRAINT);
	p->state = XS2S_PAIR_PENDING;
	p->method = XS2S_AUTH_NONE;
	pi = (unsigned)(p - l->pairs);
	verdict = xs2s_tls_verdict(l, from);
	if (xs2s_auth_secure_for(from) && verdict != XS2S_CERT_VALID) {
		memset(key, 0, sizeof key);
		xs2s_link_fail(l, XS2S_SE_POLICY_VIOLATION, XS2S_STE_NONE,
			       "secure auth: %s's certificate is %s, dialback alone is not enough", from,
			       xs2s_cert_verdict_name(verdict));
		return XS2S_EPROTO;
	}
#if CONFIG_XS2S_DIALBACK_CERT_SHORTCUT
	if (verdict == XS2S_CERT_VALID) {
		/* XEP-0344: the certificate already proves the domain. */
		memset(key, 0, sizeof key);
		p->method = XS2S_AUTH_DIALBACK_CERT;
		XS2S_LOGI(l->id, "dialback: %s has a valid certificate, accepted without db:verify (XEP-0344)", from);
		if (l->state != XS2S_LS_OPEN)
			xs2s_link_set_state(l, XS2S_LS_AUTH);
		db_conclude(l, pi, true, XS2S_STE_NONE);
		return XS2S_OK;
	}
#endif
	snprintf(p->key, sizeof p->key, "%s", key);
	memset(key, 0, sizeof key);
	XS2S_LOGI(l->id, "dialback: %s claims to be %s, verifying with its authoritative server", from, from);
	if (l->state != XS2S_LS_OPEN)
		xs2s_link_set_state(l, XS2S_LS_AUTH);
	if (xs2s_db_request_verify(l, pi) != XS2S_OK)
		db_conclude(l, pi, false, XS2S_STE_RESOURCE_CONSTRAINT);
	return XS2S_OK;
}

/* Originating role: the verdict on our db:result. */
static int db_result_verdict(struct xs2s_link *l, const char *from, const char *to, const char *type)
{
	struct xs2s_pair *p = xs2s_pair_find(l, to, from);
	unsigned pi;

	if (!p || p->state != XS2S_PAIR_SENT)
		return db_unsolicited(l, "db:result verdict");
	pi = (unsigned)(p - l->pairs);
	if (!strcmp(type, "valid")) {
		p->state = XS2S_PAIR_VALID;
		p->method = XS2S_AUTH_DIALBACK;
		XS2S_LOGI(l->id, "dialback: %s accepted us as %s", from, to);
		if (l->state != XS2S_LS_OPEN)
			xs2s_link_set_state(l, XS2S_LS_OPEN);
		xs2s_router_pair_ready(l, pi);
		return XS2S_OK;
	}
	p->state = XS2S_PAIR_FAILED;
	XS2S_LOGW(l->id, "dialback: %s refused %s (type=%s)", from, to, type);
	xs2s_router_pair_failed(l, pi, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	return XS2S_OK;
}

/* Authoritative role: answer a db:verify. */
static int db_verify_request(struct xs2s_link *l, const char *from, const char *to, const char *id,
			     mxml_node_t *el)
{
	char got[XS2S_DB_KEY_MAX + 1], want[65];
	bool ok;

	if (!xs2s_is_local_domain(to))
		return db_send(l, "verify", to, from, id, "error", NULL, XS2S_STE_ITEM_NOT_FOUND);
	if (!id || !id[0] || xs2s_xml_text(el, got, sizeof got) <= 0)
		return db_send(l, "verify", to, from, id ? id : "", "invalid", NULL, XS2S_STE_NONE);
	xs2s_db_key(from, to, id, want);
	ok = db_key_equal(got, want);
	memset(got, 0, sizeof got);
	memset(want, 0, sizeof want);
	XS2S_LOGI(l->id, "dialback: %s asked whether a key for %s is ours: %s", from, to, ok ? "valid" : "invalid");
	return db_send(l, "verify", to, from, id, ok ? "valid" : "invalid", NULL, XS2S_STE_NONE);
}

/* Receiving role: the authoritative server's answer to our db:verify. */
static int db_verify_verdict(struct xs2s_link *l, const char *from, const char *to, const char *id,
			     const char *type)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++) {
		struct xs2s_verify_req *v = &l->vreq[i];
		struct xs2s_link *in;
		struct xs2s_pair *p;

		if (!v->used || !v->sent || !(p = db_vreq_pair(v, &in)))
			continue;
		if (strcmp(in->stream_id, id ? id : "") || strcmp(p->remote, from) || strcmp(p->local, to))
			continue;
		v->used = false;
		if (p->state != XS2S_PAIR_PENDING)
			return XS2S_OK;
		if (!strcmp(type, "error"))
			db_conclude(in, v->pair, false, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
		else
			db_conclude(in, v->pair, !strcmp(type, "valid"), XS2S_STE_NONE);
		return XS2S_OK;
	}
	return db_unsolicited(l, "db:verify verdict");
}

int xs2s_db_handle(struct xs2s_link *l, mxml_node_t *el, bool is_result)
{
	const char *from = xs2s_xml_attr(el, "from");
	const char *to = xs2s_xml_attr(el, "to");
	const char *type = xs2s_xml_attr(el, "type");
	const char *id = xs2s_xml_attr(el, "id");

	if (!from || !to || !from[0] || !to[0]) {
		xs2s_link_fail(l, XS2S_SE_IMPROPER_ADDRESSING, XS2S_STE_NONE, "dialback element without from/to");
		return XS2S_EPROTO;
	}
	if (is_result) {
		if (type)
			return l->dir == XS2S_DIR_OUT ? db_result_verdict(l, from, to, type)
						      : db_unsolicited(l, "db:result verdict");
		if (l->dir != XS2S_DIR_IN)
			return db_unsolicited(l, "db:result request");
		return db_result_request(l, from, to, el);
	}
	if (type)
		return l->dir == XS2S_DIR_OUT ? db_verify_verdict(l, from, to, id, type)
					      : db_unsolicited(l, "db:verify verdict");
	if (l->dir != XS2S_DIR_IN)
		return db_unsolicited(l, "db:verify request");
	return db_verify_request(l, from, to, id, el);
}
