/* The application interface layer: what the device's applications see of
 * the engine (xs2s_app.h), and local delivery.
 *
 * Action points
 *   stanza for a local JID (from a link, or from a local sender through the
 *     local queue): an iq result/error answering one of our requests goes to
 *     its callback (RFC 6120 8.2.3: same id, from the JID we asked); then
 *     the handlers in order (the first that claims it); then presence to a
 *     device account (app/account.h); then the built-in answers (XEP-0199
 *     ping, XEP-0030 disco#info, XEP-0092 version); then the inbox
 *     (messages); an iq get/set nobody claimed is answered with
 *     service-unavailable (RFC 6120 8.4); other presence is dropped (debug).
 *   send: the stanza is written into the scratch buffer, checked as an
 *     inbound one would be (the framer's XML rules, then Mini-XML), and
 *     handed to the engine's output (a remote domain) or to the local queue
 *     (a local JID: delivered from the next drain, never inside the call).
 *   completion: SENT when the route table wrote it to an authenticated
 *     stream (XS2S_EV_SENT) or it was delivered locally; BOUNCED when the
 *     engine could not deliver it; the callback runs from xs2s_app_step,
 *     called by the poll round only.
 *   bounce of a stanza nobody waits for: an error stanza to its sender
 *     (RFC 6120 8.3.1), delivered like any local stanza (handlers, inbox);
 *     errors and replies are never bounced.
 *   iq request: a tracked send plus a table entry; the answer, a bounce or
 *     its deadline (xs2s_app_run) ends it, exactly once.
 *
 * Files, top to bottom (calls go down inside the layer too):
 *   run.c       the layer's turn in the poll round: completions, the local
 *               queue, iq deadlines, fini; bounces
 *   deliver.c   a stanza for a local JID, in the order above
 *   account.c   device accounts (CONFIG_XS2S_ACCOUNTS_PRESENCE)
 *   iq.c        iq requests     builtin.c  ping, disco#info, version
 *   handlers.c  the handler table and what a match means
 *   reply.c     results and errors to a received stanza
 *   send.c      writing, checking and handing out a stanza; completions
 *   inbox.c     the inbox records
 *
 * Who calls: the engine (deliver, bounce, events, timer, fire) and the
 * public API wrappers in engine/api.c. Calls down: the XML glue (parse,
 * views), the writer. Owns: handlers, completions, iq requests, the local
 * queue, the inbox, the scratch buffer. Never touches: links, routes: a
 * stanza for a remote domain goes to the engine through out_fn.
 */
#ifndef XS2S_APP_LAYER_H
#define XS2S_APP_LAYER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xs2s_app.h"
#include "xs2s_wbuf.h"
#include "lib/env.h"
#include "lib/jid.h"
#include "lib/stanza.h"
#include "xml/xml.h"
#include "app/account.h"

#define XS2S_APP_TEXT_MAX 159       /* a bounce's explanation kept for its completion (a link's reason) */
#define XS2S_APP_IQ_TO_MAX 383      /* longest JID an iq request may go to */
#define XS2S_APP_TYPE_MAX 15        /* longest type in a handler's match */
#define XS2S_APP_FINI_ROUNDS 4      /* local delivery rounds at xs2s_engine_fini */
#define XS2S_APP_LQ_HDR 4           /* a local queue record: 2-byte length, 2-byte track, the stanza, a NUL */

/* The engine's output: route xml (a stanza from local domain `from_domain`
 * to remote domain `to_domain`). XS2S_OK, or XS2S_ENOMEM/XS2S_EINVAL with
 * nothing half-done. */
typedef int (*xs2s_app_out_fn)(void *ctx, const char *from_domain, const char *to_domain, const char *xml,
			       size_t len, const struct xs2s_stanza_meta *meta);

struct xs2s_app_handler {
	int id;                              /* 0: free */
	enum xs2s_kind kind;
	xs2s_handler_fn fn;
	void *arg;
	char jid[XS2S_MATCH_MAX + 1];
	char type[XS2S_APP_TYPE_MAX + 1];
	char element[XS2S_MATCH_MAX + 1];
	char ns[XS2S_MATCH_MAX + 1];
};

enum xs2s_app_pending_state {
	XS2S_PEND_FREE = 0,
	XS2S_PEND_WAIT,                      /* handed to the engine, no outcome yet */
	XS2S_PEND_DONE,                      /* outcome known, callback due at the next app_fire */
};

/* A completion the application (or an iq request) waits for. */
struct xs2s_app_pending {
	uint8_t state;                       /* enum xs2s_app_pending_state */
	uint8_t outcome;                     /* enum xs2s_outcome, once DONE */
	uint8_t cond;                        /* enum xs2s_stanza_err, BOUNCED */
	int16_t iq;                          /* the iq request it belongs to, or -1 */
	uint32_t handle;
	xs2s_done_fn fn;
	void *arg;
	char id[XS2S_ID_MAX + 1];
	char text[XS2S_APP_TEXT_MAX + 1];
};

struct xs2s_app_iq {
	uint32_t handle;                     /* 0: free */
	uint32_t deadline_ms;
	bool sent;                           /* its completion said SENT */
	int16_t pend;                        /* its completion while not yet SENT, or -1 */
	xs2s_iq_fn fn;
	void *arg;
	char id[XS2S_ID_MAX + 1];
	char to[XS2S_APP_IQ_TO_MAX + 1];
};

/* Stanzas that got an error instead of what they asked for, or nothing
 * (status "stanzas"); each is logged too. */
struct xs2s_app_counts {
	unsigned answer_errors;      /* an iq result that could not be sent (too large, no room): an error went instead */
	unsigned answers_lost;       /* not even an error could be sent back (the return path refused it) */
	unsigned jid_malformed;      /* answered jid-malformed (RFC 6120 8.3.3.8): 'to' breaks RFC 7622 */
	unsigned not_bounced;        /* undeliverable errors and results: never answered (RFC 6120 8.3.1) */
	unsigned unclaimed;          /* presence, iq results and errors, error messages nothing takes (RFC 6120 8.4, 10.3) */
	unsigned local_lost;         /* a local stanza that could not be parsed for delivery (XML arena): bounced */
};

struct xs2s_app {
	const struct xs2s_env *env;
	struct xs2s_engine *eng;             /* what callbacks are handed */
	xs2s_app_out_fn out_fn;
	void *out_ctx;
	uint32_t next_handle;
	int next_handler_id;
	/* tables */
	struct xs2s_app_handler handlers[CONFIG_XS2S_APP_HANDLERS];
	unsigned handlers_used, handlers_high, handlers_refused;
	struct xs2s_app_pending pending[CONFIG_XS2S_APP_PENDING];
	unsigned pending_used, pending_high, pending_refused;
	struct xs2s_app_iq iqs[CONFIG_XS2S_APP_IQ_PENDING];
	unsigned iqs_used, iqs_high, iqs_refused;
	/* local queue: stanzas for local JIDs, [2-byte length, 2-byte track, xml]... */
	size_t lq_used, lq_high;
	unsigned lq_refused;
	char lq[CONFIG_XS2S_APP_LOCAL_QUEUE];
	/* the inbox: [2-byte length, from, to, type, error, body (each NUL-ended)]... */
	size_t inbox_used, inbox_high;
	unsigned inbox_count, inbox_refused;
	char inbox[CONFIG_XS2S_INBOX_BYTES];
	/* one outgoing stanza being built (an answer may use XS2S_REPLY_SLACK more) */
	size_t scratch_high;
	size_t result_hdr;                   /* xs2s_app_result_begin: where the payload starts */
	const struct xs2s_stanza_in *result_req; /* ... and the request it answers, until end */
	char scratch[CONFIG_XS2S_MAX_STANZA + XS2S_REPLY_SLACK + 1];
	struct xs2s_app_counts counts;
	/* device accounts and their subscriptions (app/account.h) */
	struct xs2s_app_acct acct;
};

void xs2s_app_init(struct xs2s_app *app, const struct xs2s_env *env, struct xs2s_engine *eng, xs2s_app_out_fn out,
		   void *out_ctx);

/* A stanza for a local domain that arrived authenticated on link_id (the
 * engine checked it against the route table); xml is its text. */
void xs2s_app_deliver(struct xs2s_app *app, unsigned link_id, const struct xs2s_el *st, const char *xml,
		      size_t len);
/* Answer that stanza with the error cond from domain `from` instead of
 * delivering it (an error or a result is counted, not answered). */
void xs2s_app_refuse(struct xs2s_app *app, unsigned link_id, const struct xs2s_el *st, const char *xml, size_t len,
		     enum xs2s_stanza_err cond, const char *from);
/* A stanza of ours that cannot be delivered (cond, text: why): its
 * completion fires BOUNCED, or an error stanza goes back to its sender.
 * XS2S_ENOMEM when the local queue has no room for that error now (call
 * again after xs2s_app_step); else XS2S_OK (done, or logged). */
int xs2s_app_bounce(struct xs2s_app *app, const char *xml, size_t len, const struct xs2s_stanza_meta *m,
		     enum xs2s_stanza_err cond, const char *text);
/* XS2S_EV_SENT for completion track. */
void xs2s_app_sent(struct xs2s_app *app, unsigned track);
/* Deliver what waits in the local queue (one pass: what that queues waits
 * for the next) and fire the completions that are due. The poll round calls
 * it after each event drain, never an API call. */
void xs2s_app_step(struct xs2s_app *app);
/* End iq requests whose deadline passed, then xs2s_app_step. */
void xs2s_app_run(struct xs2s_app *app, uint32_t now_ms);
/* The next iq deadline, as milliseconds from now (UINT32_MAX: none). */
uint32_t xs2s_app_next_ms(const struct xs2s_app *app, uint32_t now_ms);
/* Local stanzas or completions wait (the poll round must not sleep on them). */
bool xs2s_app_busy(const struct xs2s_app *app);
/* The engine ends: deliver, end and fire what waits (see send.c). */
void xs2s_app_fini(struct xs2s_app *app, uint32_t now_ms);

/* The public API (xs2s_app.h), for the engine's wrappers. */
int xs2s_app_send(struct xs2s_app *app, const struct xs2s_stanza *st, xs2s_done_fn done, void *arg,
		  struct xs2s_handle *h);
int xs2s_app_send_raw(struct xs2s_app *app, const char *xml, xs2s_done_fn done, void *arg, struct xs2s_handle *h);
int xs2s_app_iq_request(struct xs2s_app *app, const struct xs2s_stanza *st, uint32_t timeout_ms, xs2s_iq_fn fn,
			void *arg, struct xs2s_handle *h);
int xs2s_app_iq_answer(struct xs2s_app *app, const struct xs2s_stanza_in *req, const char *payload,
		       const char *condition, const char *text);
int xs2s_app_handler_add(struct xs2s_app *app, const struct xs2s_match *m, xs2s_handler_fn fn, void *arg);
int xs2s_app_handler_remove(struct xs2s_app *app, int id);
/* The oldest record's fields (XS2S_APP_INBOX_FIELDS): from, to, type,
 * error condition, body, error text. */
#define XS2S_APP_INBOX_FIELDS 6
int xs2s_app_inbox_peek(struct xs2s_app *app, const char **fields);
void xs2s_app_inbox_pop(struct xs2s_app *app);

/* Inside the layer (send.c, deliver.c, iq.c, builtin.c, inbox.c). */
#define XS2S_SUBMIT_BOUNCEABLE 0x1u  /* bounced to its sender when undeliverable */
#define XS2S_SUBMIT_BOUNCE     0x2u  /* a bounce: from the remote recipient to our sender */
#define XS2S_SUBMIT_ANSWER     0x4u  /* an error answering a received stanza: up to XS2S_REPLY_SLACK over MAX_STANZA */
int xs2s_app_submit(struct xs2s_app *app, char *xml, size_t len, unsigned flags, int track);
/* The same for a stanza this layer wrote itself from checked parts only (no
 * caller payload): kind, from and to are given, so it is not parsed again;
 * the address checks are the same. Not bounceable, not tracked. */
int xs2s_app_submit_known(struct xs2s_app *app, char *xml, size_t len, enum xs2s_kind kind, const char *from,
			  const char *to);
int xs2s_app_track(struct xs2s_app *app, xs2s_done_fn fn, void *arg, const char *id, int iq);
void xs2s_app_untrack(struct xs2s_app *app, int track);
void xs2s_app_done(struct xs2s_app *app, unsigned track, enum xs2s_outcome outcome, enum xs2s_stanza_err cond,
		   const char *text);
void xs2s_app_new_id(struct xs2s_app *app, char id[XS2S_ID_MAX + 1]);
bool xs2s_app_iq_response(struct xs2s_app *app, const struct xs2s_stanza_in *in);
void xs2s_app_iq_pending_done(struct xs2s_app *app, int iq, const struct xs2s_app_pending *p);
void xs2s_app_iq_fire_timeouts(struct xs2s_app *app, uint32_t now_ms);
bool xs2s_app_builtin(struct xs2s_app *app, const struct xs2s_stanza_in *in);
bool xs2s_app_inbox_put_stanza(struct xs2s_app *app, const struct xs2s_stanza_in *in);
void xs2s_app_disco_features(const struct xs2s_app *app, struct xs2s_wbuf *w);
bool xs2s_app_handler_match(const struct xs2s_app_handler *h, const struct xs2s_stanza_in *in);
/* The error cond (with text, dropped when it does not fit) to stanza in,
 * from its 'to' (or from `from` when that is not NULL: a domain of ours,
 * when in's 'to' is malformed), never to an error or a result (RFC 6120
 * 8.3.1). XS2S_OK, or the submit's error (logged and counted as lost). */
int xs2s_app_answer_error(struct xs2s_app *app, const struct xs2s_stanza_in *in, enum xs2s_stanza_err cond,
			  const char *text, const char *from);
void xs2s_app_error_reply(struct xs2s_app *app, const struct xs2s_stanza_in *in, enum xs2s_stanza_err cond,
			  const char *text);
/* Where from, to, id and the first <body/> sit in stanza xml (send.c). */
void xs2s_app_spans(const char *xml, size_t len, struct xs2s_stanza_meta *m);
int xs2s_app_lq_put(struct xs2s_app *app, const char *xml, size_t len, int track);
void xs2s_app_lq_commit(struct xs2s_app *app, size_t len, int track);
void xs2s_app_pending_done(struct xs2s_app *app, unsigned track, enum xs2s_outcome outcome, enum xs2s_stanza_err cond,
			   const char *text);
/* XS2S_OK, or the parse's error (counted; the caller bounces its completion). */
int xs2s_app_deliver_local(struct xs2s_app *app, const char *xml, size_t len);
int xs2s_app_send_tracked(struct xs2s_app *app, const struct xs2s_stanza *st, xs2s_done_fn done, void *arg, int iq,
			  struct xs2s_handle *h);
/* An iq result to req in the scratch buffer: begin (the start tag), the
 * caller's payload, end (close, check, hand out). A result that does not
 * fit a stanza, or finds no room on its way, is replaced by the error
 * resource-constraint (RFC 6120 8.3.3.18): end then returns XS2S_ERANGE or
 * XS2S_ENOMEM although the requester got an answer. */
void xs2s_app_result_begin(struct xs2s_app *app, const struct xs2s_stanza_in *req, struct xs2s_wbuf *w);
int xs2s_app_result_end(struct xs2s_app *app, struct xs2s_wbuf *w);
const char *xs2s_app_kind_name(enum xs2s_kind k);
enum xs2s_kind xs2s_app_kind_of(const char *name);

#endif
