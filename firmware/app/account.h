/* Device accounts: local bare JIDs with presence and their subscriptions
 * (xs2s_app.h "Device accounts"; RFC 6121 sections 3 and 4, the contact's
 * server's side only: an account is subscribed to, it subscribes to nobody).
 * Part of the application interface layer (app/app.h); account.c.
 *
 * Action points
 *   subscribe to an account (3.1.3): already subscribed: "subscribed" again
 *     and the presence; already waiting: nothing (asked once); else the
 *     policy: accept ("subscribed", then the presence: 3.1.5), refuse
 *     ("unsubscribed"), ask (the request waits in the table, the callback
 *     is called). No room in the table: the stanza error
 *     resource-constraint (RFC 6120 8.3.3.18), logged and counted.
 *   unsubscribe (3.3.3): a subscriber is removed and gets unavailable
 *     presence (when the account is available); a waiting request is
 *     forgotten.
 *   probe (4.3.2): a subscriber gets the current presence (available, or
 *     unavailable); anyone else "unsubscribed".
 *   subscribed, unsubscribed, available, unavailable and error presence to
 *     an account: ignored (debug).
 *   presence out: at the engine's start (and when an account is declared
 *     later), when it changes, and when the engine's outbound route to a
 *     subscriber's domain becomes valid: to each subscriber there whose last
 *     presence is not still waiting in a queue (so the presence queued at
 *     start goes out once, with the route's queue); unavailable at stop
 *     (4.5.2) to the subscribers whose presence went out.
 *   every change of the table: the store's save.
 *
 * Presence tracking: each subscription has at most one tracked presence in
 * flight (meta.track = XS2S_APP_TRACK_ACCT + its index), whose outcome
 * (xs2s_app_done) says whether it reached a stream (SENT) or not (NONE: it
 * goes again when the route comes up); a newer presence sent while one is in
 * flight goes untracked behind it on the same route. So account stanzas
 * post at most CONFIG_XS2S_APP_SUBSCRIPTIONS SENT events (lib/evq.h).
 *
 * Owns: the account and subscription tables, the allow list. Calls: the
 * layer's submit (scratch buffer), the store's callbacks.
 */
#ifndef XS2S_APP_ACCOUNT_H
#define XS2S_APP_ACCOUNT_H

#include <stdbool.h>
#include <stdint.h>
#include "xs2s.h"
#include "xs2s_log.h"

struct xs2s_app;

#define XS2S_APP_TRACK_ACCT 0x8000u   /* meta.track of a subscription's presence: this + its index */
#define XS2S_ACCOUNT_SHOW_MAX 7       /* "away", "chat", "dnd", "xa" */

#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE

enum xs2s_acct_state {
	XS2S_ACCT_FREE = 0,
	XS2S_ACCT_KEPT,          /* the store holds subscriptions of it; not declared: inactive */
	XS2S_ACCT_ACTIVE,        /* declared */
};

enum xs2s_acct_pres {
	XS2S_PRES_NONE = 0,      /* the subscriber has not got the current presence from us (or it bounced) */
	XS2S_PRES_QUEUED,        /* a tracked presence is on its way (route queue, link, local queue) */
	XS2S_PRES_SENT,          /* it reached an authenticated stream (or was delivered locally) */
};

struct xs2s_app_account {
	uint8_t state;                               /* enum xs2s_acct_state */
	bool available;
	char jid[XS2S_ACCOUNT_JID_MAX + 1];          /* bare JID, ASCII letters lowercased */
	char show[XS2S_ACCOUNT_SHOW_MAX + 1];        /* "" or a <show/> value */
	char status[XS2S_ACCOUNT_STATUS_MAX + 1];    /* "" or the <status/> text */
};

struct xs2s_app_sub {
	uint8_t state;                               /* 0: free; enum xs2s_sub_state */
	uint8_t pres;                                /* enum xs2s_acct_pres */
	uint8_t account;                             /* index in accounts[] */
	char contact[XS2S_ACCOUNT_JID_MAX + 1];      /* bare JID, ASCII letters lowercased */
};

struct xs2s_app_acct {
	enum xs2s_sub_policy policy;
	xs2s_sub_fn ask;
	void *ask_arg;
	const struct xs2s_store *store;
	bool running;                                /* the engine runs: presence goes out */
	bool loading;                                /* the store is being read: no save */
	unsigned accounts_used, accounts_high, accounts_refused;
	unsigned subs_used, subs_high, subs_refused; /* refused: requests that found the table full */
	unsigned save_fails;                         /* store saves that failed */
	struct xs2s_app_account accounts[CONFIG_XS2S_APP_ACCOUNTS];
	struct xs2s_app_sub subs[CONFIG_XS2S_APP_SUBSCRIPTIONS];
	size_t allow_len;
	char allow[CONFIG_XS2S_APP_ALLOW_BYTES];     /* " entry entry ... ": bare JIDs and domains, lowercased */
};

/* Engine start: policy, allow list, callback and store from cfg, the
 * configured accounts declared, the store loaded. XS2S_EINVAL (a bad account
 * or allow-list entry), XS2S_ENOMEM (tables), or the store's error; logged. */
int xs2s_app_acct_start(struct xs2s_app *app, const struct xs2s_config *cfg);
/* The engine runs: every account sends its presence, waiting requests are
 * asked again. */
void xs2s_app_acct_run(struct xs2s_app *app);
/* A presence stanza for a local JID that no handler claimed: true when it
 * was an account's (handled or ignored). */
bool xs2s_app_acct_presence(struct xs2s_app *app, const struct xs2s_stanza_in *in);
/* The engine's outbound route (local, remote) became valid. */
void xs2s_app_acct_route_ready(struct xs2s_app *app, const char *local, const char *remote);
/* The outcome of a subscription's tracked presence (index: track - XS2S_APP_TRACK_ACCT). */
void xs2s_app_acct_done(struct xs2s_app *app, unsigned index, bool sent);
/* The engine stops: unavailable presence to the subscribers that had ours. */
void xs2s_app_acct_stop(struct xs2s_app *app);
/* The engine ends: the tables are emptied (nothing saved). */
void xs2s_app_acct_fini(struct xs2s_app *app);

/* The public API (xs2s_app.h), for the engine's wrappers. */
int xs2s_app_acct_add(struct xs2s_app *app, const char *account);
int xs2s_app_acct_allow(struct xs2s_app *app, const char *entry);
int xs2s_app_acct_answer(struct xs2s_app *app, const char *account, const char *contact, bool accept);
int xs2s_app_acct_set_presence(struct xs2s_app *app, const char *account, bool available, const char *show,
			       const char *status);
int xs2s_app_acct_each(struct xs2s_app *app, xs2s_sub_record_fn fn, void *arg);

#else /* no accounts: the hooks cost nothing */

struct xs2s_app_acct {
	char none;
};

static inline int xs2s_app_acct_start(struct xs2s_app *app, const struct xs2s_config *cfg)
{
	(void)app;
	if (cfg->accounts && cfg->accounts[0]) {
		XS2S_LOGE(0, "accounts configured (%s), but this build has no accounts (CONFIG_XS2S_ACCOUNTS_PRESENCE)",
			  cfg->accounts);
		return XS2S_EINVAL;
	}
	return XS2S_OK;
}
static inline void xs2s_app_acct_run(struct xs2s_app *app) { (void)app; }
static inline bool xs2s_app_acct_presence(struct xs2s_app *app, const struct xs2s_stanza_in *in)
{
	(void)app;
	(void)in;
	return false;
}
static inline void xs2s_app_acct_route_ready(struct xs2s_app *app, const char *local, const char *remote)
{
	(void)app;
	(void)local;
	(void)remote;
}
static inline void xs2s_app_acct_done(struct xs2s_app *app, unsigned index, bool sent)
{
	(void)app;
	(void)index;
	(void)sent;
}
static inline void xs2s_app_acct_stop(struct xs2s_app *app) { (void)app; }
static inline void xs2s_app_acct_fini(struct xs2s_app *app) { (void)app; }

#endif

#endif
