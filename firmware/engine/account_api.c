/* The device accounts' part of the application interface (xs2s_app.h,
 * "Device accounts") on the engine object: each call checks the engine,
 * calls the application layer (app/account.h) and runs the events it
 * caused. Built with CONFIG_XS2S_ACCOUNTS_PRESENCE only. */
#include "engine/engine.h"

static struct xs2s_core *acct_core(struct xs2s_engine *eng)
{
	struct xs2s_core *c = eng ? xs2s_core_of(eng) : NULL;

	return c && c->magic == XS2S_CORE_MAGIC ? c : NULL;
}

int xs2s_account_add(struct xs2s_engine *eng, const char *account)
{
	struct xs2s_core *c = acct_core(eng);
	int rc;

	if (!c)
		return XS2S_EINVAL;
	rc = xs2s_app_acct_add(&c->app, account);
	xs2s_engine_drain(c);
	return rc;
}

int xs2s_account_allow(struct xs2s_engine *eng, const char *jid_or_domain)
{
	struct xs2s_core *c = acct_core(eng);

	return c ? xs2s_app_acct_allow(&c->app, jid_or_domain) : XS2S_EINVAL;
}

int xs2s_account_answer(struct xs2s_engine *eng, const char *account, const char *contact, bool accept)
{
	struct xs2s_core *c = acct_core(eng);
	int rc;

	if (!c)
		return XS2S_EINVAL;
	rc = xs2s_app_acct_answer(&c->app, account, contact, accept);
	xs2s_engine_drain(c);
	return rc;
}

int xs2s_account_presence(struct xs2s_engine *eng, const char *account, bool available, const char *show,
			  const char *status)
{
	struct xs2s_core *c = acct_core(eng);
	int rc;

	if (!c)
		return XS2S_EINVAL;
	rc = xs2s_app_acct_set_presence(&c->app, account, available, show, status);
	xs2s_engine_drain(c);
	return rc;
}

int xs2s_account_subscriptions(struct xs2s_engine *eng, xs2s_sub_record_fn fn, void *arg)
{
	struct xs2s_core *c = acct_core(eng);

	return c ? xs2s_app_acct_each(&c->app, fn, arg) : XS2S_EINVAL;
}
