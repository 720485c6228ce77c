/* xs2s application interface: what a device's applications do with the
 * engine (included by xs2s.h; docs/api.md has the walk-through).
 *
 *   send      any stanza from a local JID, with extension payloads; a
 *             completion fires exactly once: handed to an authenticated
 *             stream (or delivered locally), or bounced with its condition
 *   handlers  registered by local JID, stanza kind, type, child element and
 *             namespace; the first that claims a stanza gets it
 *   iq        requests with a response callback and a timeout: result, error
 *             or timeout, exactly once
 *   views     read a received stanza without Mini-XML types
 *   builder   write payload XML into a caller buffer, escaped
 *   accounts  local JIDs with presence and subscriptions (RFC 6121 subset)
 *   components XEP-0114 component domains (see xs2s_config)
 *
 * Threading: every call, and every callback, runs on the thread that calls
 * xs2s_engine_poll. No call is safe from another task; a firmware with
 * several tasks posts its requests to the engine's task (as lwIP's
 * tcpip_callback does). Callbacks may call any function of this API except
 * xs2s_engine_poll, xs2s_engine_fini and xs2s_engine_start.
 *
 * Memory: nothing is allocated. Handlers, pending completions, iq requests,
 * accounts and subscriptions are Kconfig-sized tables inside the engine; a
 * full table is an error return (XS2S_ENOMEM), never a silent drop. Strings
 * passed in are copied (or written into a stanza) before the call returns;
 * strings and views passed to a callback are valid until it returns.
 */
#ifndef XS2S_APP_H
#define XS2S_APP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xs2s_wbuf.h"

struct xs2s_engine;

#define XS2S_VERSION "0.5.0"  /* answered to XEP-0092 software version queries */
#define XS2S_ID_MAX 63        /* longest stanza id kept for a completion or an iq request */
#define XS2S_MATCH_MAX 127    /* longest JID, element or namespace in a handler's match */

enum xs2s_kind {
	XS2S_ANY_KIND = 0,    /* handlers only: every kind */
	XS2S_MESSAGE,
	XS2S_PRESENCE,
	XS2S_IQ,
};

/* ---- Reading a stanza ----
 * A view of one element of a received stanza, valid until the callback that
 * was handed it returns. Copy it freely; never look inside. */
struct xs2s_view {
	const void *priv[2];
};

/* Local name ("message", "body") and namespace URI of the element. */
const char *xs2s_view_name(const struct xs2s_view *v);
const char *xs2s_view_ns(const struct xs2s_view *v);
/* Attribute value (entities decoded) or NULL. */
const char *xs2s_view_attr(const struct xs2s_view *v, const char *name);
/* First child element {ns}name (NULL: any) into *child; false when none. */
bool xs2s_view_child(const struct xs2s_view *v, const char *name, const char *ns, struct xs2s_view *child);
/* The next sibling element (in place); false when none. */
bool xs2s_view_next(struct xs2s_view *v);
/* Text of the element's direct children, decoded, NUL-terminated into
 * buf[cap]: its length, or XS2S_ERANGE when it does not fit. */
int xs2s_view_text(const struct xs2s_view *v, char *buf, size_t cap);

/* A stanza handed to a handler or to an iq response callback. */
struct xs2s_stanza_in {
	enum xs2s_kind kind;
	const char *from, *to;     /* full JIDs as sent (from: authenticated domain) */
	const char *type;          /* the type attribute, or "" */
	const char *id;            /* the id attribute, or "" */
	struct xs2s_view top;      /* the stanza element */
	const char *xml;           /* the stanza as received (namespace prefixes as the peer wrote them) */
	size_t len;
};

/* ---- Writing payload XML ----
 * Builds XML into a caller buffer: element names and namespaces as given,
 * attribute values and text escaped here. Errors are sticky: the first
 * overflow or misuse makes xs2s_build_end return it. */
#define XS2S_BUILD_DEPTH 8
struct xs2s_builder {
	struct xs2s_wbuf w;                   /* the caller's buffer (xs2s_wbuf.h) */
	int err;                              /* first error: XS2S_ERANGE, XS2S_EINVAL */
	uint8_t depth;                        /* elements open */
	bool in_tag;                          /* the last start tag is still open for attributes */
	uint16_t name_off[XS2S_BUILD_DEPTH];  /* where each open element's name starts in the buffer */
};

void xs2s_build_init(struct xs2s_builder *b, char *buf, size_t cap);
/* <name xmlns='ns'> (ns NULL: inherited). */
void xs2s_build_open(struct xs2s_builder *b, const char *name, const char *ns);
/* An attribute of the element just opened (before any text or child). */
void xs2s_build_attr(struct xs2s_builder *b, const char *name, const char *value);
void xs2s_build_text(struct xs2s_builder *b, const char *text);
/* Close the innermost open element. */
void xs2s_build_close(struct xs2s_builder *b);
/* Close what is open; NUL-terminate: the length, XS2S_ERANGE when it did
 * not fit, XS2S_EINVAL for a bad name or a misuse. */
int xs2s_build_end(struct xs2s_builder *b);

/* ---- Sending ---- */
struct xs2s_stanza {
	enum xs2s_kind kind;
	const char *from;       /* a local JID (bare or full) of one of the engine's domains */
	const char *to;         /* any JID (an account's presence to all its subscribers: xs2s_account_presence) */
	const char *type;       /* "chat", "get", "unavailable", ...; NULL: none */
	const char *id;         /* NULL: generated (returned in the handle) */
	const char *body;       /* message text, escaped here; NULL: none */
	const char *payload;    /* further child elements as XML (e.g. from a builder); checked
	                         * well-formed before anything is sent; NULL: none */
};

/* What became of a sent stanza. */
enum xs2s_outcome {
	XS2S_SENT = 1,          /* handed to an authenticated stream, or delivered to a local JID */
	XS2S_BOUNCED,           /* could not be delivered: see condition and text */
};

struct xs2s_done {
	uint32_t handle;
	const char *id;
	enum xs2s_outcome outcome;
	const char *condition;  /* BOUNCED: RFC 6120 8.3.3 condition ("remote-server-not-found") */
	const char *text;       /* BOUNCED: the peer's or the engine's explanation, or "" */
};

typedef void (*xs2s_done_fn)(struct xs2s_engine *eng, void *arg, const struct xs2s_done *d);

struct xs2s_handle {
	uint32_t handle;        /* non-zero; matches xs2s_done.handle */
	char id[XS2S_ID_MAX + 1];
};

/* Send st. done (may be NULL) fires exactly once, from a later
 * xs2s_engine_poll (never from within this call). Without done, a bounce
 * comes back to the sender as an error stanza (handlers, then the inbox).
 * h (may be NULL) receives the handle and the stanza id.
 * XS2S_OK; XS2S_EINVAL for a bad JID, a sender not ours or a payload that is
 * not well-formed XML; XS2S_ERANGE when it does not fit in one stanza;
 * XS2S_ENOMEM when no completion, queue room or link slot is left;
 * XS2S_EIO for a remote JID once xs2s_engine_stop was called. */
int xs2s_send(struct xs2s_engine *eng, const struct xs2s_stanza *st, xs2s_done_fn done, void *arg,
	      struct xs2s_handle *h);

/* Send a stanza written whole (xml, NUL-terminated: a message, presence or
 * iq with from and to, e.g. from xs2sctl send --raw). It is checked as st
 * is; an id is added when it has none. Otherwise as xs2s_send. */
int xs2s_send_raw(struct xs2s_engine *eng, const char *xml, xs2s_done_fn done, void *arg, struct xs2s_handle *h);

/* ---- iq requests ---- */
enum xs2s_iq_outcome {
	XS2S_IQ_RESULT = 1,     /* type='result' from the addressee */
	XS2S_IQ_ERROR,          /* type='error' from it, or bounced on the way (condition, text) */
	XS2S_IQ_TIMEOUT,        /* no answer within the timeout */
};

struct xs2s_iq_response {
	uint32_t handle;
	const char *id;
	enum xs2s_iq_outcome outcome;
	const char *condition;                 /* ERROR: the stanza error condition */
	const char *text;                      /* ERROR: its text, or "" */
	const struct xs2s_stanza_in *stanza;   /* RESULT, ERROR from the addressee: the answer; else NULL */
};

typedef void (*xs2s_iq_fn)(struct xs2s_engine *eng, void *arg, const struct xs2s_iq_response *r);

/* Send an iq get or set (st->kind XS2S_IQ, st->type "get" or "set") and
 * call fn exactly once with its answer. Only an answer from st->to (RFC 6120
 * 8.2.3: same id, from the JID the request went to) counts. Errors as
 * xs2s_send; XS2S_ENOMEM also when CONFIG_XS2S_APP_IQ_PENDING requests wait. */
int xs2s_iq_request(struct xs2s_engine *eng, const struct xs2s_stanza *st, uint32_t timeout_ms, xs2s_iq_fn fn,
		    void *arg, struct xs2s_handle *h);

/* ---- Handlers ----
 * A received stanza for a local JID goes to the first handler (in order of
 * registration) whose match holds and that claims it (returns true). Then:
 * accounts (presence), the built-in answers (XEP-0199 ping, XEP-0030
 * disco#info listing the registered namespaces, XEP-0092 version), the inbox
 * (messages); an iq get/set nobody claimed is answered service-unavailable
 * (RFC 6120 8.4). iq results and errors that answer an xs2s_iq_request go to
 * its callback, not to handlers. */
struct xs2s_match {
	const char *jid;        /* "user@domain/res" (that full JID), "user@domain" (the bare JID and its
	                         * resources), "domain" (everything there); NULL: every local JID */
	enum xs2s_kind kind;    /* XS2S_ANY_KIND: every kind */
	const char *type;       /* NULL: any type */
	const char *element;    /* a child element the stanza must have; NULL: any */
	const char *ns;         /* that child's namespace (or any child's when element is NULL); NULL: any.
	                         * Listed in disco#info features. */
};

typedef bool (*xs2s_handler_fn)(struct xs2s_engine *eng, void *arg, const struct xs2s_stanza_in *st);

/* A handler id (> 0), XS2S_EINVAL for a match string longer than
 * XS2S_MATCH_MAX or a JID not local, XS2S_ENOMEM when
 * CONFIG_XS2S_APP_HANDLERS are registered. */
int xs2s_handler_add(struct xs2s_engine *eng, const struct xs2s_match *m, xs2s_handler_fn fn, void *arg);
int xs2s_handler_remove(struct xs2s_engine *eng, int id);

/* Answer an iq get/set that a handler claimed: a result with payload (NULL:
 * empty), or an error with an RFC 6120 8.3.3 condition. */
int xs2s_iq_result(struct xs2s_engine *eng, const struct xs2s_stanza_in *req, const char *payload);
int xs2s_iq_error(struct xs2s_engine *eng, const struct xs2s_stanza_in *req, const char *condition,
		  const char *text);

/* ---- Device accounts (RFC 6121 subset) ----
 * A local bare JID that has presence (CONFIG_XS2S_ACCOUNTS_PRESENCE). It
 * answers subscription requests by the engine's policy (RFC 6121 3.1.3: a
 * server approves on an account's behalf only when configured to), answers
 * presence probes (4.3.2), sends its presence to its subscribers at start,
 * when it changes (xs2s_account_presence) and when the route to a
 * subscriber's domain becomes valid again, handles unsubscribe (3.3.3), and
 * sends unavailable presence when the engine stops (4.5). Its presence goes
 * out from its bare JID (the device is its only resource).
 *
 * Dispatch: a presence stanza to an account (bare or full JID) goes to the
 * handlers first; what none claims is the account's: subscribe, unsubscribe
 * and probe are processed, subscribed and unsubscribed are ignored (an
 * account subscribes to nobody), available, unavailable and error presence
 * are ignored (logged at debug). Presence to a local JID that is no account
 * is ignored as before (RFC 6121 8.5.1).
 *
 * Subscriptions live in a bounded table (CONFIG_XS2S_APP_SUBSCRIPTIONS,
 * shared by all accounts): subscribers, and requests that wait for the
 * application's answer (policy ask). A request that finds the table full is
 * answered with the stanza error resource-constraint (RFC 6120 8.3.3.18,
 * type wait: the requester's server keeps it pending and asks again; an
 * "unsubscribed" would be a refusal nobody made). The configuration's store
 * hook (struct xs2s_store) loads the table at start and saves it after
 * every change. */
enum xs2s_sub_policy {
	XS2S_SUB_ALLOW_LIST = 0,   /* accept JIDs and domains of the allow list, refuse the rest (default) */
	XS2S_SUB_ACCEPT_ALL,
	XS2S_SUB_ASK,              /* ask the application (subscription callback); requests wait */
};

enum xs2s_sub_state {
	XS2S_SUB_PENDING = 1,      /* a request waits for the application's answer */
	XS2S_SUB_SUBSCRIBED,       /* contact receives the account's presence */
};

#define XS2S_ACCOUNT_JID_MAX 127   /* longest account or contact bare JID kept */
#define XS2S_ACCOUNT_STATUS_MAX 127 /* longest status text kept */

/* One row of the subscription table (strings valid during the call). */
struct xs2s_sub_record {
	const char *account;       /* the account's bare JID */
	const char *contact;       /* the subscriber's (or requester's) bare JID */
	enum xs2s_sub_state state;
};

/* Called once per record: XS2S_OK to go on; anything else stops (and is
 * returned by the caller of the iteration). */
typedef int (*xs2s_sub_record_fn)(void *arg, const struct xs2s_sub_record *r);
/* The next record into *r; false after the last. */
typedef bool (*xs2s_sub_next_fn)(void *it, struct xs2s_sub_record *r);

/* Where the subscription table is kept across restarts (caller memory, read
 * through the pointer in xs2s_config for the life of the engine).
 *   load  at xs2s_engine_start: call add(add_arg, record) for every saved
 *         record (add returns XS2S_EINVAL for a bad record, XS2S_ENOMEM
 *         when the table is full: pass it on). XS2S_OK (nothing saved yet
 *         included), or an error: the start fails with it.
 *   save  after every change: replace what is saved by the records next()
 *         gives (all of them; a write of a new copy renamed over the old one
 *         keeps it whole). XS2S_OK, or an error: logged, counted, and the
 *         table in RAM stays as it is (the next change saves it again). */
struct xs2s_store {
	int (*load)(void *ctx, xs2s_sub_record_fn add, void *add_arg);
	int (*save)(void *ctx, xs2s_sub_next_fn next, void *it);
	void *ctx;
};

/* ASK: a subscription request from contact (a bare JID) to account. Answer
 * now or later with xs2s_account_answer; the request waits in the table
 * (also across restarts, when the store keeps it: then the callback is
 * called again once the account is declared, RFC 6121 3.1.3). */
typedef void (*xs2s_sub_fn)(struct xs2s_engine *eng, void *arg, const char *account, const char *contact);

#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
/* Declare account (a bare JID of a local domain), available with an empty
 * status; its saved subscriptions (if the store held them) come alive and
 * it sends its presence to them. XS2S_OK (also when already declared),
 * XS2S_EINVAL (not a bare JID of ours, or longer than XS2S_ACCOUNT_JID_MAX),
 * XS2S_ENOMEM (CONFIG_XS2S_APP_ACCOUNTS). */
int xs2s_account_add(struct xs2s_engine *eng, const char *account);
/* Add an allow-list entry: a bare JID or a domain (every JID there).
 * XS2S_EINVAL, XS2S_ENOMEM (CONFIG_XS2S_APP_ALLOW_BYTES). */
int xs2s_account_allow(struct xs2s_engine *eng, const char *jid_or_domain);
/* Answer contact's waiting request to account: accept (the contact gets
 * "subscribed" and the presence, RFC 6121 3.1.5) or refuse ("unsubscribed").
 * Refusing an existing subscriber cancels its subscription (3.2.2:
 * unavailable presence, then "unsubscribed"). XS2S_ENOTFOUND when contact
 * neither waits nor is subscribed; XS2S_EINVAL for a bad JID. */
int xs2s_account_answer(struct xs2s_engine *eng, const char *account, const char *contact, bool accept);
/* The account's presence: available (show NULL or "": none; "away", "chat",
 * "dnd", "xa") or not; status text may be NULL. Sent to every subscriber.
 * XS2S_ENOTFOUND (no such account), XS2S_EINVAL (bad show, status longer
 * than XS2S_ACCOUNT_STATUS_MAX). */
int xs2s_account_presence(struct xs2s_engine *eng, const char *account, bool available, const char *show,
			  const char *status);
/* Every row of the subscription table, in table order, to fn: XS2S_OK, or
 * what fn returned when it stopped. */
int xs2s_account_subscriptions(struct xs2s_engine *eng, xs2s_sub_record_fn fn, void *arg);
#endif

#endif
