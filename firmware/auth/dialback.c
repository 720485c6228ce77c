/* Server Dialback (XEP-0220) with XEP-0185 keys, in all three roles; the
 * action points are in auth.h. Keys and the secret are never logged. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "lib/crypto.h"
#include "xs2s_wbuf.h"
#include "auth/auth.h"

void xs2s_db_key(const struct xs2s_env *env, const char *recv, const char *orig, const char *id,
		 char out[XS2S_DB_KEY_LEN + 1])
{
	/* XEP-0185 3: HMAC-SHA256(SHA256(secret) in hex, recv + ' ' + orig + ' ' + id), in hex. */
	const char *parts[] = { recv, " ", orig, " ", id };
	char hexkey[2 * XS2S_SHA256_LEN + 1];
	uint8_t mac[XS2S_SHA256_LEN];

	xs2s_hex(env->db_secret, sizeof env->db_secret, hexkey);
	xs2s_hmac_sha256(hexkey, 2 * XS2S_SHA256_LEN, parts, 5, mac);
	xs2s_hex(mac, sizeof mac, out);
	memset(hexkey, 0, sizeof hexkey);
	memset(mac, 0, sizeof mac);
}

/* <db:NAME from=F to=T [id=I] [type=TYPE]>[body]</db:NAME>, whole or nothing. */
static int db_send(struct xs2s_link *l, const char *name, const char *from, const char *to, const char *id,
		   const char *type, const char *body, enum xs2s_stanza_err cond)
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

int xs2s_db_send_result(const struct xs2s_env *env, struct xs2s_link *l, const char *local, const char *remote)
{
	char key[XS2S_DB_KEY_LEN + 1];
	int rc;

	xs2s_db_key(env, remote, local, l->stream_id, key);
	rc = db_send(l, "result", local, remote, NULL, NULL, key, XS2S_STE_NONE);
	memset(key, 0, sizeof key);
	if (rc != XS2S_OK)
		return rc; /* the output is full: the engine asks again when it drains */
	XS2S_LOGI(l->id, "dialback: asking %s to accept %s", remote, local);
	xs2s_link_authenticating(l);
	return XS2S_OK;
}

int xs2s_db_send_verify(struct xs2s_link *l, const char *local, const char *remote, const char *id, const char *key)
{
	if (db_send(l, "verify", local, remote, id, NULL, key, XS2S_STE_NONE) != XS2S_OK)
		return XS2S_ENOMEM; /* as above */
	XS2S_LOGI(l->id, "dialback: verifying %s for %s", remote, local);
	return XS2S_OK;
}

int xs2s_db_send_verdict(struct xs2s_link *l, const char *local, const char *remote, enum xs2s_db_verdict v,
			 enum xs2s_stanza_err cond)
{
	if (v == XS2S_DB_ERROR) {
		XS2S_LOGW(l->id, "dialback: cannot verify %s: %s", remote, xs2s_stanza_err_name(cond));
		return db_send(l, "result", local, remote, NULL, "error", NULL, cond);
	}
	if (v == XS2S_DB_VALID)
		XS2S_LOGI(l->id, "dialback: %s authenticated for %s", remote, local);
	else
		XS2S_LOGW(l->id, "dialback: %s presented an invalid key", remote);
	return db_send(l, "result", local, remote, NULL, v == XS2S_DB_VALID ? "valid" : "invalid", NULL, XS2S_STE_NONE);
}

static enum xs2s_db_kind db_unsolicited(struct xs2s_link *l, const char *what)
{
	xs2s_link_abort(l, XS2S_WHY_NOT_AUTHORIZED, "unsolicited %s", what);
	return XS2S_DB_NONE;
}

/* Receiving role: a db:result request; what can be refused at once is. */
static enum xs2s_db_kind db_request(const struct xs2s_env *env, struct xs2s_link *l, const struct xs2s_el *el,
				    struct xs2s_db_msg *m)
{
	if (!xs2s_env_served(env, m->local)) {
		db_send(l, "result", m->local, m->remote, NULL, "error", NULL, XS2S_STE_ITEM_NOT_FOUND);
		return XS2S_DB_NONE;
	}
	if (!xs2s_auth_dialback_enabled(env)) {
		db_send(l, "result", m->local, m->remote, NULL, "error", NULL, XS2S_STE_POLICY_VIOLATION);
		return XS2S_DB_NONE;
	}
	if (!xs2s_domain_valid(m->remote)) {
		xs2s_link_abort(l, XS2S_WHY_INVALID_FROM, "db:result from a malformed domain");
		return XS2S_DB_NONE;
	}
	if (xs2s_el_text(el, m->key, sizeof m->key) <= 0) {
		xs2s_link_abort(l, XS2S_WHY_POLICY_VIOLATION, "dialback key empty or too long");
		return XS2S_DB_NONE;
	}
	return XS2S_DB_REQUEST;
}

/* Authoritative role: answer a db:verify. */
static enum xs2s_db_kind db_verify_request(const struct xs2s_env *env, struct xs2s_link *l, const struct xs2s_el *el,
					   struct xs2s_db_msg *m)
{
	char want[XS2S_DB_KEY_LEN + 1];
	bool ok;

	if (!xs2s_env_served(env, m->local)) {
		db_send(l, "verify", m->local, m->remote, m->id, "error", NULL, XS2S_STE_ITEM_NOT_FOUND);
		return XS2S_DB_NONE;
	}
	if (!m->id || !m->id[0] || xs2s_el_text(el, m->key, sizeof m->key) <= 0) {
		db_send(l, "verify", m->local, m->remote, m->id ? m->id : "", "invalid", NULL, XS2S_STE_NONE);
		return XS2S_DB_NONE;
	}
	xs2s_db_key(env, m->remote, m->local, m->id, want);
	ok = xs2s_ct_streq(m->key, want);
	memset(m->key, 0, sizeof m->key);
	memset(want, 0, sizeof want);
	XS2S_LOGI(l->id, "dialback: %s asked whether a key for %s is ours: %s", m->remote, m->local,
		  ok ? "valid" : "invalid");
	db_send(l, "verify", m->local, m->remote, m->id, ok ? "valid" : "invalid", NULL, XS2S_STE_NONE);
	return XS2S_DB_NONE;
}

enum xs2s_db_kind xs2s_db_read(const struct xs2s_env *env, struct xs2s_link *l, const struct xs2s_el *el,
			       struct xs2s_db_msg *m)
{
	bool is_result = !strcmp(xs2s_el_name(el), "result");

	memset(m, 0, sizeof *m);
	m->remote = xs2s_el_attr(el, "from");
	m->local = xs2s_el_attr(el, "to");
	m->type = xs2s_el_attr(el, "type");
	m->id = xs2s_el_attr(el, "id");
	if (!m->remote || !m->local || !m->remote[0] || !m->local[0]) {
		xs2s_link_abort(l, XS2S_WHY_IMPROPER_ADDRESSING, "dialback element without from/to");
		return XS2S_DB_NONE;
	}
	if (is_result && m->type)
		return l->dir == XS2S_DIR_OUT ? XS2S_DB_RESULT_VERDICT : db_unsolicited(l, "db:result verdict");
	if (is_result)
		return l->dir == XS2S_DIR_IN ? db_request(env, l, el, m) : db_unsolicited(l, "db:result request");
	if (m->type)
		return l->dir == XS2S_DIR_OUT ? XS2S_DB_VERIFY_VERDICT : db_unsolicited(l, "db:verify verdict");
	return l->dir == XS2S_DIR_IN ? db_verify_request(env, l, el, m) : db_unsolicited(l, "db:verify request");
}
