/* The authentication layer: who may speak for which domain on a stream.
 *
 *   auth.c      policy: which methods are on, secure auth, what we offer
 *   sasl.c      SASL EXTERNAL with certificates (XEP-0178), both roles
 *               (built with CONFIG_XS2S_AUTH_SASL_EXTERNAL)
 *   dialback.c  Server Dialback (XEP-0220) with XEP-0185 keys, all three
 *               roles (built with CONFIG_XS2S_AUTH_DIALBACK)
 *
 * Who calls: the engine. Reads: the configuration (env) and the link's
 * stream facts. Writes: authentication elements on the link it is handed,
 * and the per-stream state struct xs2s_auth_state, which the engine keeps
 * next to each link. Never touches: domain pairs (it returns verdicts and
 * requests; the route table records them), other links.
 * Keys and the secret are never logged.
 */
#ifndef XS2S_AUTH_H
#define XS2S_AUTH_H

#include <stdbool.h>
#include "lib/env.h"
#include "link/link.h"
#include "xml/xml.h"

#define XS2S_DB_KEY_MAX 128  /* longest dialback key accepted (hex) */
#define XS2S_DB_KEY_LEN 64   /* the keys we make: hex HMAC-SHA-256 */
#define XS2S_SASL_FEATURE "<mechanisms xmlns='" XS2S_NS_SASL "'><mechanism>EXTERNAL</mechanism></mechanisms>"
#define XS2S_DB_FEATURE "<dialback xmlns='" XS2S_NS_DB_FEATURE "'><errors/></dialback>"
#define XS2S_BIDI_FEATURE "<bidi xmlns='" XS2S_NS_BIDI_FEATURE "'/>"   /* XEP-0288 2.1 */
#define XS2S_BIDI_REQUEST "<bidi xmlns='" XS2S_NS_BIDI "'/>"           /* XEP-0288 2.2 */

/* SASL progress on one stream. */
enum xs2s_sasl_phase {
	XS2S_SASL_NONE = 0,
	XS2S_SASL_SENT,      /* out: <auth/> sent, no answer yet: nothing else may go out */
	XS2S_SASL_DONE,      /* succeeded: never offered or tried again on this connection */
	XS2S_SASL_REFUSED,   /* out: the peer refused EXTERNAL: dialback may follow */
};

/* XEP-0288 on one stream (engine/bidi.c drives it; CONFIG_XS2S_BIDI). */
enum xs2s_bidi_phase {
	XS2S_BIDI_NONE = 0,
	XS2S_BIDI_OFFERED,   /* in: <bidi/> offered in our features (authentication offers too) */
	XS2S_BIDI_ON,        /* in: the peer sent <bidi/>; out: we sent it: the stream carries both directions */
};

/* Authentication state of one stream (kept by the engine per link slot). */
struct xs2s_auth_state {
	enum xs2s_sasl_phase sasl;
	uint8_t bidi;         /* enum xs2s_bidi_phase */
	bool peer_dialback;   /* out: the peer offers dialback (feature, or xmlns:db on its header) */
	bool peer_db_errors;  /* out: the peer advertises dialback errors (XEP-0220 2.6) */
};

/* ---- policy (auth.c) ---- */

/* Methods in use: compiled in, enabled by the configuration, and for SASL
 * EXTERNAL a certificate of our own. */
bool xs2s_auth_sasl_enabled(const struct xs2s_env *env);
bool xs2s_auth_dialback_enabled(const struct xs2s_env *env);
/* True when secure auth applies to domain (on, and not an exception). */
bool xs2s_auth_secure_for(const struct xs2s_env *env, const char *domain);
/* Receiving role: the authentication offers for an inbound stream's
 * <stream:features/> (SASL EXTERNAL, dialback, and XEP-0288's <bidi/> while
 * a->bidi is XS2S_BIDI_OFFERED), "" when none. */
const char *xs2s_auth_offers(const struct xs2s_env *env, struct xs2s_link *l, const struct xs2s_auth_state *a);
/* Initiating role: note what the peer's features (NULL for a pre-1.0 peer)
 * offer for dialback. */
void xs2s_auth_note_features(struct xs2s_auth_state *a, const struct xs2s_link *l, const struct xs2s_el *features);

/* ---- SASL EXTERNAL (sasl.c) ----
 * Receiving (inbound, after TLS): EXTERNAL is offered only when the stream's
 *   'from' is covered by a valid client certificate. <auth EXTERNAL> with
 *   authzid empty ("=") or equal to 'from' -> <success/>: the caller marks
 *   the pair valid and restarts the stream (RFC 6120 6.4.6). Otherwise
 *   <failure/> (invalid-authzid, not-authorized, ...); dialback may follow
 *   when allowed.
 * Initiating (outbound, after TLS): EXTERNAL offered and enabled -> <auth>
 *   with our domain as authzid (not for a component's domain that our
 *   certificate does not name: dialback then); <success/> -> restart, the pair is valid
 *   with the next features; <failure/> -> dialback when enabled and offered,
 *   else the link fails. */
enum xs2s_sasl_result {
	XS2S_SASL_OK = 0,     /* authenticated: mark the pair, restart the stream */
	XS2S_SASL_FALLBACK,   /* refused; dialback may authenticate the stream instead */
	XS2S_SASL_FATAL,      /* refused and nothing else may; the link is ending */
};

#if CONFIG_XS2S_AUTH_SASL_EXTERNAL
/* Base64 (RFC 4648) for SASL payloads. Encode returns the length written
 * (NUL-terminated) or XS2S_ERANGE; decode returns the byte count or
 * XS2S_EINVAL / XS2S_ERANGE. */
int xs2s_base64_encode(const void *in, size_t n, char *out, size_t cap);
int xs2s_base64_decode(const char *in, uint8_t *out, size_t cap);
/* Receiving: whether this stream is offered EXTERNAL (XS2S_SASL_FEATURE). */
bool xs2s_sasl_offered(const struct xs2s_env *env, struct xs2s_link *l, const struct xs2s_auth_state *a);
/* Receiving: check an <auth/> element: XS2S_SASL_OK when it may succeed
 * (the caller records the pair, then calls xs2s_sasl_accept, or
 * xs2s_sasl_refuse when it cannot), else it was refused here. */
enum xs2s_sasl_result xs2s_sasl_on_auth(const struct xs2s_env *env, struct xs2s_link *l, struct xs2s_auth_state *a,
					const struct xs2s_el *el);
/* Receiving: <success/>; the peer restarts the stream. */
void xs2s_sasl_accept(struct xs2s_link *l, struct xs2s_auth_state *a);
/* Receiving: <failure><cond/></failure>; FALLBACK when dialback may still
 * authenticate the peer, else FATAL (the link is ending). */
enum xs2s_sasl_result xs2s_sasl_refuse(const struct xs2s_env *env, struct xs2s_link *l, const char *cond,
				       const char *why);
/* Initiating: the features offer EXTERNAL: send <auth/>; true when sent. */
bool xs2s_sasl_start(const struct xs2s_env *env, struct xs2s_link *l, struct xs2s_auth_state *a,
		     const struct xs2s_el *features);
/* Initiating: <success/> (OK: the stream restarted) or <failure/>
 * (FALLBACK or FATAL). */
enum xs2s_sasl_result xs2s_sasl_on_result(const struct xs2s_env *env, struct xs2s_link *l, struct xs2s_auth_state *a,
					  const struct xs2s_el *el);
#else
static inline bool xs2s_sasl_offered(const struct xs2s_env *env, struct xs2s_link *l,
				     const struct xs2s_auth_state *a)
{
	(void)env, (void)l, (void)a;
	return false;
}
static inline enum xs2s_sasl_result xs2s_sasl_on_auth(const struct xs2s_env *env, struct xs2s_link *l,
						      struct xs2s_auth_state *a, const struct xs2s_el *el)
{
	(void)env, (void)a, (void)el;
	xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "SASL is not built in");
	return XS2S_SASL_FATAL;
}
static inline void xs2s_sasl_accept(struct xs2s_link *l, struct xs2s_auth_state *a)
{
	(void)l, (void)a;
}
static inline enum xs2s_sasl_result xs2s_sasl_refuse(const struct xs2s_env *env, struct xs2s_link *l,
						     const char *cond, const char *why)
{
	(void)env, (void)l, (void)cond, (void)why;
	return XS2S_SASL_FATAL;
}
static inline bool xs2s_sasl_start(const struct xs2s_env *env, struct xs2s_link *l, struct xs2s_auth_state *a,
				   const struct xs2s_el *features)
{
	(void)env, (void)l, (void)a, (void)features;
	return false;
}
static inline enum xs2s_sasl_result xs2s_sasl_on_result(const struct xs2s_env *env, struct xs2s_link *l,
							struct xs2s_auth_state *a, const struct xs2s_el *el)
{
	return xs2s_sasl_on_auth(env, l, a, el);
}
#endif


/* ---- Server Dialback (dialback.c) ----
 * Originating (our outbound link, after the post-TLS features): for each
 *   pair waiting: <db:result from=L to=R>key(R, L, peer's id)</db:result>;
 *   the verdict comes back as XS2S_DB_RESULT_VERDICT.
 * Receiving (inbound link): <db:result from=R to=L>K</db:result> comes back
 *   as XS2S_DB_REQUEST (L not ours: type=error item-not-found, answered
 *   here); the engine verifies it with R's authoritative server over an
 *   outbound link (xs2s_db_send_verify), whose answer comes back as
 *   XS2S_DB_VERIFY_VERDICT, and answers with xs2s_db_send_verdict.
 * Authoritative (any stream, after TLS when TLS is required):
 *   <db:verify from=R to=L id=I>K</db:verify> is answered here:
 *   <db:verify from=L to=R id=I type=valid|invalid/>, constant-time compare
 *   with key(R, L, I); L not ours -> type=error item-not-found.
 * Unsolicited (a verdict nobody asked for, a request on the wrong side):
 *   stream error not-authorized. */
enum xs2s_db_kind {
	XS2S_DB_NONE = 0,           /* handled here (or the link is ending) */
	XS2S_DB_REQUEST,            /* in: a db:result to verify (local, remote, key) */
	XS2S_DB_RESULT_VERDICT,     /* out: the verdict on our db:result (local, remote, type) */
	XS2S_DB_VERIFY_VERDICT,     /* out: the answer to our db:verify (local, remote, id, type) */
};

struct xs2s_db_msg {
	enum xs2s_db_kind kind;
	const char *local;          /* our domain (the element's 'to') */
	const char *remote;         /* the peer's (the element's 'from') */
	const char *id;             /* db:verify: the stream id asked about */
	const char *type;           /* verdicts: "valid", "invalid", "error" */
	char key[XS2S_DB_KEY_MAX + 1]; /* request: the key to verify; never logged */
};

#if CONFIG_XS2S_AUTH_DIALBACK
/* The XEP-0185 key for (receiving, originating, stream id) under env's secret. */
void xs2s_db_key(const struct xs2s_env *env, const char *recv, const char *orig, const char *id,
		 char out[XS2S_DB_KEY_LEN + 1]);
/* Read a dialback element on l: answer what needs no other stream, hand
 * the rest back in *m (valid until el is freed). */
enum xs2s_db_kind xs2s_db_read(const struct xs2s_env *env, struct xs2s_link *l, const struct xs2s_el *el,
			       struct xs2s_db_msg *m);
/* Originating: <db:result> for (local, remote) with the key for l's stream
 * id. XS2S_ENOMEM when the output is full: nothing is written, ask again
 * once it drained (xs2s_db_send_verify alike). */
int xs2s_db_send_result(const struct xs2s_env *env, struct xs2s_link *l, const char *local, const char *remote);
/* Receiving: ask the authoritative server over outbound link l. */
int xs2s_db_send_verify(struct xs2s_link *l, const char *local, const char *remote, const char *id, const char *key);
/* Receiving: the verdict on a request, on its inbound link: valid,
 * invalid, or an error with cond (XEP-0220 2.4). */
int xs2s_db_send_verdict(struct xs2s_link *l, const char *local, const char *remote, enum xs2s_db_verdict v,
			 enum xs2s_stanza_err cond);
#else
static inline enum xs2s_db_kind xs2s_db_read(const struct xs2s_env *env, struct xs2s_link *l,
					     const struct xs2s_el *el, struct xs2s_db_msg *m)
{
	(void)env, (void)el, (void)m;
	xs2s_link_abort(l, XS2S_WHY_UNSUPPORTED_STANZA_TYPE, "dialback is not built in");
	return XS2S_DB_NONE;
}
static inline int xs2s_db_send_result(const struct xs2s_env *env, struct xs2s_link *l, const char *local,
				      const char *remote)
{
	(void)env, (void)l, (void)local, (void)remote;
	return XS2S_EINVAL;
}
static inline int xs2s_db_send_verify(struct xs2s_link *l, const char *local, const char *remote, const char *id,
				      const char *key)
{
	(void)l, (void)local, (void)remote, (void)id, (void)key;
	return XS2S_EINVAL;
}
static inline int xs2s_db_send_verdict(struct xs2s_link *l, const char *local, const char *remote,
				       enum xs2s_db_verdict v, enum xs2s_stanza_err cond)
{
	(void)l, (void)local, (void)remote, (void)v, (void)cond;
	return XS2S_EINVAL;
}
#endif

#endif
