/* Device accounts: presence subscriptions and presence of local bare JIDs
 * (app/account.h has the action points; RFC 6121 sections 3 and 4). */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "xs2s_wbuf.h"
#include "app/app.h"

#define ACCT_NONE (-1)

static const char *const acct_shows[] = { "away", "chat", "dnd", "xa" };

/* ---- JIDs ---- */

static char acct_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* The bare JID of jid (its resource dropped, ASCII letters lowercased: RFC
 * 7622 case-folds the localpart and the domainpart) into out: XS2S_OK,
 * XS2S_ERANGE (longer than XS2S_ACCOUNT_JID_MAX) or XS2S_EINVAL (not a JID:
 * an empty or bad localpart, RFC 7622 3.3.1, or a bad domain). */
static int acct_bare(const char *jid, char out[XS2S_ACCOUNT_JID_MAX + 1])
{
	size_t n = jid ? strcspn(jid, "/") : 0, i;
	const char *at;

	if (!n)
		return XS2S_EINVAL;
	if (n > XS2S_ACCOUNT_JID_MAX)
		return XS2S_ERANGE;
	for (i = 0; i < n; i++)
		out[i] = acct_lower(jid[i]);
	out[n] = '\0';
	at = strchr(out, '@');
	if (at) {
		const char *p;

		if (at == out)
			return XS2S_EINVAL;
		for (p = out; p < at; p++)
			if ((unsigned char)*p <= 0x20 || *p == 0x7f || strchr("\"&'/:<>", *p))
				return XS2S_EINVAL;
	}
	return xs2s_domain_valid(at ? at + 1 : out) ? XS2S_OK : XS2S_EINVAL;
}

static const char *acct_domain(const char *bare)
{
	const char *at = strchr(bare, '@');

	return at ? at + 1 : bare;
}

static bool acct_domain_eq(const char *a, const char *b)
{
	for (; *a && acct_lower(*a) == acct_lower(*b); a++, b++)
		;
	return !*a && !*b;
}

static int acct_find(const struct xs2s_app_acct *t, const char *bare)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_ACCOUNTS; i++)
		if (t->accounts[i].state != XS2S_ACCT_FREE && !strcmp(t->accounts[i].jid, bare))
			return (int)i;
	return ACCT_NONE;
}

static int acct_sub_find(const struct xs2s_app_acct *t, int account, const char *contact)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_SUBSCRIPTIONS; i++)
		if (t->subs[i].state && t->subs[i].account == account && !strcmp(t->subs[i].contact, contact))
			return (int)i;
	return ACCT_NONE;
}

/* A free row for (account, contact) in the state given: its index, or
 * XS2S_ENOMEM (counted as refused). */
static int acct_sub_new(struct xs2s_app_acct *t, int account, const char *contact, enum xs2s_sub_state st)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_SUBSCRIPTIONS; i++) {
		struct xs2s_app_sub *s = &t->subs[i];

		if (s->state)
			continue;
		memset(s, 0, sizeof *s);
		s->state = (uint8_t)st;
		s->account = (uint8_t)account;
		snprintf(s->contact, sizeof s->contact, "%s", contact);
		if (++t->subs_used > t->subs_high)
			t->subs_high = t->subs_used;
		return (int)i;
	}
	t->subs_refused++;
	return XS2S_ENOMEM;
}

static void acct_sub_free(struct xs2s_app_acct *t, int i)
{
	memset(&t->subs[i], 0, sizeof t->subs[i]);
	t->subs_used--;
}

/* ---- the store ---- */

struct acct_iter {
	const struct xs2s_app_acct *t;
	unsigned next;
};

static bool acct_next(void *it, struct xs2s_sub_record *r)
{
	struct acct_iter *i = it;

	for (; i->next < CONFIG_XS2S_APP_SUBSCRIPTIONS; i->next++) {
		const struct xs2s_app_sub *s = &i->t->subs[i->next];

		if (!s->state)
			continue;
		r->account = i->t->accounts[s->account].jid;
		r->contact = s->contact;
		r->state = (enum xs2s_sub_state)s->state;
		i->next++;
		return true;
	}
	return false;
}

/* After every change of the table. */
static void acct_save(struct xs2s_app *app)
{
	struct xs2s_app_acct *t = &app->acct;
	struct acct_iter it = { t, 0 };
	int rc;

	if (!t->store || !t->store->save || t->loading)
		return;
	rc = t->store->save(t->store->ctx, acct_next, &it);
	if (rc != XS2S_OK) {
		t->save_fails++;
		XS2S_LOGE(0, "subscriptions not saved: %s (the table in memory stays; the next change saves it again)",
			  xs2s_err_name(rc));
	}
}

/* ---- writing presence ---- */

/* <presence [type=T] from=ACCOUNT to=TO id=ID>[show][status]</presence>
 * into the scratch buffer and out: XS2S_OK or the submit's error. Account
 * stanzas are never bounced back to the account (nobody would read it). */
static int acct_submit(struct xs2s_app *app, const struct xs2s_app_account *a, const char *to, const char *type,
		       bool with_state, int track)
{
	bool show = with_state && !type && a->show[0], status = with_state && a->status[0];
	char id[XS2S_ID_MAX + 1];
	struct xs2s_wbuf w;

	xs2s_app_new_id(app, id);
	xs2s_w_init(&w, app->scratch, CONFIG_XS2S_MAX_STANZA + 1);
	xs2s_w_raw(&w, "<presence");
	if (type) {
		xs2s_w_raw(&w, " type='");
		xs2s_w_raw(&w, type);
		xs2s_w_raw(&w, "'");
	}
	xs2s_w_raw(&w, " from='");
	xs2s_w_esc(&w, a->jid);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, to);
	xs2s_w_raw(&w, "' id='");
	xs2s_w_raw(&w, id);
	xs2s_w_raw(&w, show || status ? "'>" : "'/>");
	if (show) {
		xs2s_w_raw(&w, "<show>");
		xs2s_w_raw(&w, a->show);
		xs2s_w_raw(&w, "</show>");
	}
	if (status) {
		xs2s_w_raw(&w, "<status>");
		xs2s_w_esc(&w, a->status);
		xs2s_w_raw(&w, "</status>");
	}
	if (show || status)
		xs2s_w_raw(&w, "</presence>");
	if (w.overflow || w.len > CONFIG_XS2S_MAX_STANZA)
		return XS2S_ERANGE;
	return xs2s_app_submit(app, app->scratch, w.len, 0, track);
}

/* subscribed, unsubscribed or unavailable from account a to a bare JID. */
static void acct_send_type(struct xs2s_app *app, const struct xs2s_app_account *a, const char *to, const char *type)
{
	int rc = acct_submit(app, a, to, type, false, 0);

	if (rc != XS2S_OK)
		XS2S_LOGW(0, "account %s: cannot send %s presence to %s: %s", a->jid, type, to, xs2s_err_name(rc));
}

/* The account's current presence (available with show and status, or
 * unavailable) for subscription i, to `to` (its contact, or the full JID a
 * probe came from). Tracked unless a tracked one is still on its way. */
static void acct_send_presence(struct xs2s_app *app, int i, const char *to)
{
	struct xs2s_app_sub *s = &app->acct.subs[i];
	const struct xs2s_app_account *a = &app->acct.accounts[s->account];
	bool tracked = s->pres != XS2S_PRES_QUEUED;
	int rc = acct_submit(app, a, to, a->available ? NULL : "unavailable", true,
			     tracked ? (int)(XS2S_APP_TRACK_ACCT + (unsigned)i) : 0);

	if (rc == XS2S_OK) {
		if (tracked)
			s->pres = XS2S_PRES_QUEUED;
		return;
	}
	if (tracked)
		s->pres = XS2S_PRES_NONE; /* again when the route to its domain comes up */
	XS2S_LOGW(0, "account %s: cannot send presence to %s now: %s", a->jid, to, xs2s_err_name(rc));
}

static void acct_broadcast(struct xs2s_app *app, int account)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_APP_SUBSCRIPTIONS; i++) {
		const struct xs2s_app_sub *s = &app->acct.subs[i];

		if (s->state == XS2S_SUB_SUBSCRIBED && s->account == account)
			acct_send_presence(app, (int)i, s->contact);
	}
}

/* Requests of account that wait for an answer: to the callback. */
static void acct_ask_waiting(struct xs2s_app *app, int account)
{
	struct xs2s_app_acct *t = &app->acct;
	unsigned i;

	for (i = 0; t->ask && i < CONFIG_XS2S_APP_SUBSCRIPTIONS; i++) {
		char contact[XS2S_ACCOUNT_JID_MAX + 1];

		if (t->subs[i].state != XS2S_SUB_PENDING || t->subs[i].account != account)
			continue;
		memcpy(contact, t->subs[i].contact, sizeof contact); /* the callback may answer, freeing the row */
		t->ask(app->eng, t->ask_arg, t->accounts[account].jid, contact);
	}
}

/* ---- accounts ---- */

static int acct_declare(struct xs2s_app *app, const char *jid, enum xs2s_acct_state st)
{
	struct xs2s_app_acct *t = &app->acct;
	char bare[XS2S_ACCOUNT_JID_MAX + 1];
	int i, rc = acct_bare(jid, bare);
	unsigned k;

	if (rc != XS2S_OK || !strchr(bare, '@') || strchr(jid, '/') || !xs2s_env_local(app->env, acct_domain(bare)))
		return XS2S_EINVAL;
	i = acct_find(t, bare);
	if (i != ACCT_NONE) {
		if (st == XS2S_ACCT_ACTIVE && t->accounts[i].state == XS2S_ACCT_KEPT) {
			t->accounts[i].state = XS2S_ACCT_ACTIVE;
			XS2S_LOGI(0, "account %s declared: its saved subscriptions are active again", bare);
		}
		return i;
	}
	for (k = 0; k < CONFIG_XS2S_APP_ACCOUNTS; k++) {
		struct xs2s_app_account *a = &t->accounts[k];

		if (a->state != XS2S_ACCT_FREE)
			continue;
		memset(a, 0, sizeof *a);
		a->state = (uint8_t)st;
		a->available = true;
		memcpy(a->jid, bare, sizeof a->jid);
		if (++t->accounts_used > t->accounts_high)
			t->accounts_high = t->accounts_used;
		return (int)k;
	}
	t->accounts_refused++;
	return XS2S_ENOMEM;
}

int xs2s_app_acct_add(struct xs2s_app *app, const char *account)
{
	char bare[XS2S_ACCOUNT_JID_MAX + 1];
	int i;

	if (acct_bare(account, bare) == XS2S_OK && (i = acct_find(&app->acct, bare)) != ACCT_NONE &&
	    app->acct.accounts[i].state == XS2S_ACCT_ACTIVE && !strchr(account, '/'))
		return XS2S_OK; /* declared already */
	i = acct_declare(app, account, XS2S_ACCT_ACTIVE);
	if (i == XS2S_ENOMEM)
		XS2S_LOGE(0, "account %s refused: %d accounts at most (CONFIG_XS2S_APP_ACCOUNTS)", account,
			  CONFIG_XS2S_APP_ACCOUNTS);
	if (i < 0)
		return i;
	if (app->acct.running) {
		acct_broadcast(app, i);
		acct_ask_waiting(app, i);
	}
	return XS2S_OK;
}

/* The active account a JID (bare or full) names, or ACCT_NONE. */
static int acct_active(const struct xs2s_app *app, const char *jid)
{
	char bare[XS2S_ACCOUNT_JID_MAX + 1];
	int i;

	if (acct_bare(jid, bare) != XS2S_OK)
		return ACCT_NONE;
	i = acct_find(&app->acct, bare);
	return i != ACCT_NONE && app->acct.accounts[i].state == XS2S_ACCT_ACTIVE ? i : ACCT_NONE;
}

int xs2s_app_acct_set_presence(struct xs2s_app *app, const char *account, bool available, const char *show,
			       const char *status)
{
	struct xs2s_app_account *a;
	unsigned k;
	int i = acct_active(app, account);

	if (i == ACCT_NONE)
		return XS2S_ENOTFOUND;
	if (show && show[0]) {
		for (k = 0; k < sizeof acct_shows / sizeof acct_shows[0] && strcmp(acct_shows[k], show); k++)
			;
		if (k == sizeof acct_shows / sizeof acct_shows[0])
			return XS2S_EINVAL; /* RFC 6121 4.7.2.1: away, chat, dnd, xa */
	}
	if (status && strlen(status) > XS2S_ACCOUNT_STATUS_MAX)
		return XS2S_EINVAL;
	a = &app->acct.accounts[i];
	a->available = available;
	snprintf(a->show, sizeof a->show, "%s", available && show ? show : "");
	snprintf(a->status, sizeof a->status, "%s", status ? status : "");
	XS2S_LOGI(0, "account %s: %s%s%s%s%s", a->jid, available ? "available" : "unavailable", a->show[0] ? " (" : "",
		  a->show, a->show[0] ? ")" : "", a->status[0] ? ", with a status text" : "");
	if (app->acct.running)
		acct_broadcast(app, i);
	return XS2S_OK;
}

/* ---- the allow list ---- */

int xs2s_app_acct_allow(struct xs2s_app *app, const char *entry)
{
	struct xs2s_app_acct *t = &app->acct;
	char bare[XS2S_ACCOUNT_JID_MAX + 1];
	size_t n;

	if (!entry || strchr(entry, '/') || acct_bare(entry, bare) != XS2S_OK)
		return XS2S_EINVAL;
	n = strlen(bare);
	if (t->allow_len + n + 2 > sizeof t->allow)
		return XS2S_ENOMEM;
	if (!t->allow_len)
		t->allow[t->allow_len++] = ' ';
	memcpy(t->allow + t->allow_len, bare, n);
	t->allow_len += n;
	t->allow[t->allow_len++] = ' ';
	t->allow[t->allow_len] = '\0';
	return XS2S_OK;
}

static bool acct_listed(const struct xs2s_app_acct *t, const char *entry, size_t n)
{
	const char *p = t->allow;

	if (!t->allow_len)
		return false;
	while ((p = strstr(p, " ")) != NULL && p[1]) {
		p++;
		if (!strncmp(p, entry, n) && p[n] == ' ')
			return true;
	}
	return false;
}

/* The allow list names the contact, or its domain. */
static bool acct_allowed(const struct xs2s_app_acct *t, const char *contact)
{
	const char *d = acct_domain(contact);

	return acct_listed(t, contact, strlen(contact)) || acct_listed(t, d, strlen(d));
}

/* ---- the table ---- */

/* Accept waiting request (or a new subscriber) i: subscribed, then the
 * presence (RFC 6121 3.1.5). */
static void acct_approve(struct xs2s_app *app, int i)
{
	struct xs2s_app_sub *s = &app->acct.subs[i];
	const struct xs2s_app_account *a = &app->acct.accounts[s->account];

	s->state = XS2S_SUB_SUBSCRIBED;
	s->pres = XS2S_PRES_NONE;
	acct_save(app);
	acct_send_type(app, a, s->contact, "subscribed");
	acct_send_presence(app, i, s->contact);
}

int xs2s_app_acct_answer(struct xs2s_app *app, const char *account, const char *contact, bool accept)
{
	struct xs2s_app_acct *t = &app->acct;
	char bare[XS2S_ACCOUNT_JID_MAX + 1];
	const struct xs2s_app_account *a;
	int ai = acct_active(app, account), i;

	if (ai == ACCT_NONE)
		return XS2S_ENOTFOUND;
	if (acct_bare(contact, bare) != XS2S_OK)
		return XS2S_EINVAL;
	a = &t->accounts[ai];
	i = acct_sub_find(t, ai, bare);
	if (i == ACCT_NONE)
		return XS2S_ENOTFOUND;
	if (t->subs[i].state == XS2S_SUB_PENDING) {
		XS2S_LOGI(0, "account %s: subscription request from %s %s by the application", a->jid, bare,
			  accept ? "accepted" : "refused");
		if (accept) {
			acct_approve(app, i);
			return XS2S_OK;
		}
		acct_sub_free(t, i);
		acct_save(app);
		acct_send_type(app, a, bare, "unsubscribed"); /* RFC 6121 3.1.4: denied */
		return XS2S_OK;
	}
	if (accept)
		return XS2S_OK; /* subscribed already */
	/* RFC 6121 3.2.2: cancelling a subscription: unavailable, then unsubscribed. */
	XS2S_LOGI(0, "account %s: subscription of %s cancelled by the application", a->jid, bare);
	acct_sub_free(t, i);
	acct_save(app);
	if (a->available)
		acct_send_type(app, a, bare, "unavailable");
	acct_send_type(app, a, bare, "unsubscribed");
	return XS2S_OK;
}

int xs2s_app_acct_each(struct xs2s_app *app, xs2s_sub_record_fn fn, void *arg)
{
	struct acct_iter it = { &app->acct, 0 };
	struct xs2s_sub_record r;
	int rc;

	if (!fn)
		return XS2S_EINVAL;
	while (acct_next(&it, &r))
		if ((rc = fn(arg, &r)) != XS2S_OK)
			return rc;
	return XS2S_OK;
}

/* ---- inbound presence ---- */

/* presence type='error' back to the sender of in (RFC 6120 8.3). */
static void acct_error(struct xs2s_app *app, const struct xs2s_stanza_in *in, enum xs2s_stanza_err cond,
		       const char *text)
{
	struct xs2s_wbuf w;
	int rc;

	xs2s_w_init(&w, app->scratch, CONFIG_XS2S_MAX_STANZA + 1);
	xs2s_w_raw(&w, "<presence type='error' from='");
	xs2s_w_esc(&w, in->to);
	xs2s_w_raw(&w, "' to='");
	xs2s_w_esc(&w, in->from);
	if (in->id[0]) {
		xs2s_w_raw(&w, "' id='");
		xs2s_w_esc(&w, in->id);
	}
	xs2s_w_fmt(&w, "'><error type='%s'><%s xmlns='" XS2S_NS_STANZA_ERR "'/>", xs2s_stanza_err_type(cond),
		   xs2s_stanza_err_name(cond));
	xs2s_w_raw(&w, "<text xmlns='" XS2S_NS_STANZA_ERR "'>");
	xs2s_w_esc(&w, text);
	xs2s_w_raw(&w, "</text></error></presence>");
	rc = w.overflow || w.len > CONFIG_XS2S_MAX_STANZA ? XS2S_ERANGE : xs2s_app_submit(app, app->scratch, w.len, 0, 0);
	if (rc != XS2S_OK)
		XS2S_LOGW(0, "cannot send %s to %s: %s", xs2s_stanza_err_name(cond), in->from, xs2s_err_name(rc));
}

/* RFC 6121 3.1.3: a subscription request to account ai from contact. */
static void acct_subscribe(struct xs2s_app *app, int ai, const char *contact, const struct xs2s_stanza_in *in)
{
	struct xs2s_app_acct *t = &app->acct;
	const struct xs2s_app_account *a = &t->accounts[ai];
	int i = acct_sub_find(t, ai, contact);
	bool accept;

	if (i != ACCT_NONE && t->subs[i].state == XS2S_SUB_SUBSCRIBED) {
		/* 3.1.3: subscribed already: the server answers subscribed itself (and the presence again). */
		XS2S_LOGD(0, "account %s: %s is subscribed already", a->jid, contact);
		acct_send_type(app, a, contact, "subscribed");
		acct_send_presence(app, i, contact);
		return;
	}
	if (i != ACCT_NONE) {
		XS2S_LOGD(0, "account %s: the request from %s waits for an answer already", a->jid, contact);
		return;
	}
	accept = t->policy == XS2S_SUB_ACCEPT_ALL || (t->policy == XS2S_SUB_ALLOW_LIST && acct_allowed(t, contact));
	if (t->policy == XS2S_SUB_ALLOW_LIST && !accept) {
		XS2S_LOGI(0, "account %s: subscription request from %s refused (not in the allow list)", a->jid,
			  contact);
		acct_send_type(app, a, contact, "unsubscribed"); /* 3.1.4: the request denied */
		return;
	}
	i = acct_sub_new(t, ai, contact, accept ? XS2S_SUB_SUBSCRIBED : XS2S_SUB_PENDING);
	if (i < 0) {
		XS2S_LOGW(0, "account %s: subscription request from %s refused: the subscription table is full "
			     "(%d entries, CONFIG_XS2S_APP_SUBSCRIPTIONS)", a->jid, contact, CONFIG_XS2S_APP_SUBSCRIPTIONS);
		acct_error(app, in, XS2S_STE_RESOURCE_CONSTRAINT, "subscription table full");
		return;
	}
	if (accept) {
		XS2S_LOGI(0, "account %s: subscription request from %s accepted (%s)", a->jid, contact,
			  t->policy == XS2S_SUB_ACCEPT_ALL ? "accept-all" : "allow list");
		acct_approve(app, i);
		return;
	}
	XS2S_LOGI(0, "account %s: subscription request from %s waits for the application's answer", a->jid, contact);
	acct_save(app);
	if (t->ask)
		t->ask(app->eng, t->ask_arg, a->jid, contact);
}

bool xs2s_app_acct_presence(struct xs2s_app *app, const struct xs2s_stanza_in *in)
{
	struct xs2s_app_acct *t = &app->acct;
	char contact[XS2S_ACCOUNT_JID_MAX + 1];
	const struct xs2s_app_account *a;
	int ai = acct_active(app, in->to), i, rc;

	if (ai == ACCT_NONE)
		return false;
	a = &t->accounts[ai];
	if (strcmp(in->type, "subscribe") && strcmp(in->type, "unsubscribe") && strcmp(in->type, "probe")) {
		XS2S_LOGD(0, "account %s: %s presence from %s ignored", a->jid, in->type[0] ? in->type : "available",
			  in->from);
		return true;
	}
	rc = acct_bare(in->from, contact);
	if (rc != XS2S_OK) {
		XS2S_LOGW(0, "account %s: %s from %s refused: %s", a->jid, in->type, in->from,
			  rc == XS2S_ERANGE ? "JID too long (XS2S_ACCOUNT_JID_MAX)" : "not a JID");
		if (!strcmp(in->type, "subscribe"))
			acct_error(app, in, rc == XS2S_ERANGE ? XS2S_STE_POLICY_VIOLATION : XS2S_STE_JID_MALFORMED,
				   rc == XS2S_ERANGE ? "JID too long to be kept" : "bad JID");
		return true;
	}
	if (!strcmp(contact, a->jid)) {
		XS2S_LOGD(0, "account %s: %s from itself ignored", a->jid, in->type);
		return true; /* an account is no contact of its own */
	}
	if (!strcmp(in->type, "subscribe")) {
		acct_subscribe(app, ai, contact, in);
		return true;
	}
	i = acct_sub_find(t, ai, contact);
	if (!strcmp(in->type, "probe")) {
		/* RFC 6121 4.3.2: a subscriber gets the presence; anyone else unsubscribed. */
		if (i != ACCT_NONE && t->subs[i].state == XS2S_SUB_SUBSCRIBED) {
			XS2S_LOGD(0, "account %s: probe from %s answered", a->jid, in->from);
			acct_send_presence(app, i, in->from);
		} else {
			XS2S_LOGD(0, "account %s: probe from %s, who is not subscribed: unsubscribed", a->jid, in->from);
			acct_send_type(app, a, contact, "unsubscribed");
		}
		return true;
	}
	/* RFC 6121 3.3.3: unsubscribe. */
	if (i == ACCT_NONE) {
		XS2S_LOGD(0, "account %s: unsubscribe from %s, who is not subscribed: ignored", a->jid, contact);
		return true;
	}
	if (t->subs[i].state == XS2S_SUB_PENDING) {
		XS2S_LOGI(0, "account %s: %s withdrew its subscription request", a->jid, contact);
		acct_sub_free(t, i);
		acct_save(app);
		return true;
	}
	XS2S_LOGI(0, "account %s: %s unsubscribed", a->jid, contact);
	acct_sub_free(t, i);
	acct_save(app);
	if (a->available)
		acct_send_type(app, a, contact, "unavailable");
	return true;
}

/* ---- engine events ---- */

void xs2s_app_acct_route_ready(struct xs2s_app *app, const char *local, const char *remote)
{
	struct xs2s_app_acct *t = &app->acct;
	unsigned i;

	for (i = 0; t->running && i < CONFIG_XS2S_APP_SUBSCRIPTIONS; i++) {
		const struct xs2s_app_sub *s = &t->subs[i];
		const struct xs2s_app_account *a = &t->accounts[s->account];

		if (s->state != XS2S_SUB_SUBSCRIBED || a->state != XS2S_ACCT_ACTIVE || s->pres == XS2S_PRES_QUEUED ||
		    !acct_domain_eq(acct_domain(a->jid), local) || !acct_domain_eq(acct_domain(s->contact), remote))
			continue;
		XS2S_LOGD(0, "account %s: the route to %s is up: presence to %s", a->jid, remote, s->contact);
		acct_send_presence(app, (int)i, s->contact);
	}
}

void xs2s_app_acct_done(struct xs2s_app *app, unsigned index, bool sent)
{
	struct xs2s_app_sub *s;

	if (index >= CONFIG_XS2S_APP_SUBSCRIPTIONS)
		return;
	s = &app->acct.subs[index];
	if (s->state == XS2S_SUB_SUBSCRIBED && s->pres == XS2S_PRES_QUEUED)
		s->pres = sent ? XS2S_PRES_SENT : XS2S_PRES_NONE;
}

void xs2s_app_acct_run(struct xs2s_app *app)
{
	struct xs2s_app_acct *t = &app->acct;
	unsigned i;

	t->running = true;
	for (i = 0; i < CONFIG_XS2S_APP_ACCOUNTS; i++) {
		if (t->accounts[i].state != XS2S_ACCT_ACTIVE)
			continue;
		acct_broadcast(app, (int)i);
		acct_ask_waiting(app, (int)i);
	}
}

void xs2s_app_acct_stop(struct xs2s_app *app)
{
	struct xs2s_app_acct *t = &app->acct;
	unsigned i;

	for (i = 0; t->running && i < CONFIG_XS2S_APP_SUBSCRIPTIONS; i++) {
		struct xs2s_app_sub *s = &t->subs[i];
		const struct xs2s_app_account *a = &t->accounts[s->account];

		/* RFC 6121 4.5.2: unavailable to those who had our presence. */
		if (s->state == XS2S_SUB_SUBSCRIBED && a->state == XS2S_ACCT_ACTIVE && a->available &&
		    s->pres == XS2S_PRES_SENT) {
			acct_send_type(app, a, s->contact, "unavailable");
			s->pres = XS2S_PRES_NONE;
		}
	}
	t->running = false;
}

void xs2s_app_acct_fini(struct xs2s_app *app)
{
	struct xs2s_app_acct *t = &app->acct;

	t->running = false;
	memset(t->accounts, 0, sizeof t->accounts);
	memset(t->subs, 0, sizeof t->subs);
	t->accounts_used = t->subs_used = 0;
}

/* ---- start ---- */

/* One record of the store. */
static int acct_load_one(void *arg, const struct xs2s_sub_record *r)
{
	struct xs2s_app *app = arg;
	struct xs2s_app_acct *t = &app->acct;
	char contact[XS2S_ACCOUNT_JID_MAX + 1];
	int ai, i;

	if (!r || !r->account || (r->state != XS2S_SUB_PENDING && r->state != XS2S_SUB_SUBSCRIBED) ||
	    acct_bare(r->contact, contact) != XS2S_OK) {
		XS2S_LOGE(0, "subscription store: bad record (%s, %s)", r && r->account ? r->account : "-",
			  r && r->contact ? r->contact : "-");
		return XS2S_EINVAL;
	}
	ai = acct_declare(app, r->account, XS2S_ACCT_KEPT);
	if (ai == XS2S_EINVAL) {
		XS2S_LOGW(0, "subscription store: %s is not an account of ours: its subscriber %s dropped", r->account,
			  contact);
		return XS2S_OK;
	}
	if (ai < 0) {
		XS2S_LOGE(0, "subscription store: more accounts than CONFIG_XS2S_APP_ACCOUNTS (%d)",
			  CONFIG_XS2S_APP_ACCOUNTS);
		return ai;
	}
	if (acct_sub_find(t, ai, contact) != ACCT_NONE)
		return XS2S_OK; /* a repeated record */
	i = acct_sub_new(t, ai, contact, r->state);
	if (i < 0) {
		t->subs_refused--; /* not a request refused */
		XS2S_LOGE(0, "subscription store: more subscriptions than CONFIG_XS2S_APP_SUBSCRIPTIONS (%d)",
			  CONFIG_XS2S_APP_SUBSCRIPTIONS);
		return i;
	}
	return XS2S_OK;
}

/* Each space-separated word of list through fn; the first error. */
static int acct_words(struct xs2s_app *app, const char *list, int (*fn)(struct xs2s_app *, const char *),
		      const char *what)
{
	char word[XS2S_ACCOUNT_JID_MAX + 2];

	while (list && *list) {
		size_t n;
		int rc;

		list += strspn(list, " \t");
		n = strcspn(list, " \t");
		if (!n)
			break;
		if (n >= sizeof word) {
			XS2S_LOGE(0, "%s: '%.*s' is longer than %d bytes", what, (int)n, list, XS2S_ACCOUNT_JID_MAX);
			return XS2S_EINVAL;
		}
		memcpy(word, list, n);
		word[n] = '\0';
		rc = fn(app, word);
		if (rc != XS2S_OK) {
			XS2S_LOGE(0, "%s: '%s' refused: %s", what, word,
				  rc == XS2S_EINVAL ? "not a bare JID (of a local domain, for an account) or a domain"
						    : "no room (CONFIG_XS2S_APP_ACCOUNTS, CONFIG_XS2S_APP_ALLOW_BYTES)");
			return rc;
		}
		list += n;
	}
	return XS2S_OK;
}

int xs2s_app_acct_start(struct xs2s_app *app, const struct xs2s_config *cfg)
{
	struct xs2s_app_acct *t = &app->acct;
	unsigned i, kept = 0;
	int rc;

	memset(t, 0, sizeof *t);
	t->policy = cfg->sub_policy;
	if (t->policy != XS2S_SUB_ALLOW_LIST && t->policy != XS2S_SUB_ACCEPT_ALL && t->policy != XS2S_SUB_ASK) {
		XS2S_LOGE(0, "unknown subscription policy %d", (int)cfg->sub_policy);
		return XS2S_EINVAL;
	}
	t->ask = cfg->sub_ask;
	t->ask_arg = cfg->sub_ask_arg;
	t->store = cfg->store;
	rc = acct_words(app, cfg->sub_allow, xs2s_app_acct_allow, "subscription allow list");
	if (rc == XS2S_OK)
		rc = acct_words(app, cfg->accounts, xs2s_app_acct_add, "accounts");
	if (rc != XS2S_OK)
		return rc;
	if (t->store && t->store->load) {
		t->loading = true;
		rc = t->store->load(t->store->ctx, acct_load_one, app);
		t->loading = false;
		if (rc != XS2S_OK) {
			XS2S_LOGE(0, "cannot load the subscriptions: %s", xs2s_err_name(rc));
			return rc;
		}
	}
	for (i = 0; i < CONFIG_XS2S_APP_ACCOUNTS; i++)
		if (t->accounts[i].state == XS2S_ACCT_KEPT) {
			kept++;
			XS2S_LOGW(0, "the store holds subscriptions of %s, which is not declared as an account: kept, "
				     "inactive", t->accounts[i].jid);
		}
	if (t->accounts_used)
		XS2S_LOGI(0, "accounts: %u declared, %u subscriptions loaded, policy %s%s", t->accounts_used - kept,
			  t->subs_used,
			  t->policy == XS2S_SUB_ACCEPT_ALL ? "accept-all" : t->policy == XS2S_SUB_ASK ? "ask" : "allow-list",
			  t->store ? "" : " (not saved: no store)");
	return XS2S_OK;
}
