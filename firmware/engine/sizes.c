/* Compiled to assembly by the build, never linked (as Kbuild's
 * asm-offsets): the sizes the public header and `make size` need, computed
 * by the target compiler from this configuration. The Makefile turns each
 * "->NAME value" line into #define NAME value in
 * $(O)/include/generated/xs2s_sizes.h. */
#define XS2S_GEN_SIZES
#include <stddef.h>
#include "engine/engine.h"

#define XS2S_SIZE(sym, val) __asm__ volatile("\n.ascii \"->" #sym " %0\"" : : "i"((long)(val)))

void xs2s_sizes(void);

void xs2s_sizes(void)
{
	struct xs2s_core *c = NULL;

	XS2S_SIZE(XS2S_ENGINE_SIZE, sizeof(struct xs2s_core));
	XS2S_SIZE(XS2S_ENGINE_ALIGN, _Alignof(struct xs2s_core));
	/* What the engine is made of, for `make size`. */
	XS2S_SIZE(XS2S_SLOT_SIZE, sizeof(struct xs2s_slot));
	XS2S_SIZE(XS2S_SIZE_LINK_SLOTS, sizeof c->slot);
	XS2S_SIZE(XS2S_SLOT_BUFFERS, sizeof c->slot[0].link.rx_buf + sizeof c->slot[0].link.tx_buf +
					  sizeof c->slot[0].link.out_buf + sizeof c->slot[0].link.stanza);
	XS2S_SIZE(XS2S_SIZE_ROUTES, sizeof c->routes.r);
	XS2S_SIZE(XS2S_SIZE_QUEUE_ENTRIES, sizeof c->routes.q);
	XS2S_SIZE(XS2S_SIZE_QUEUE_POOL, sizeof c->routes.pool_mem);
	XS2S_SIZE(XS2S_SIZE_INBOX, sizeof c->app.inbox);
	XS2S_SIZE(XS2S_SIZE_SCRATCH, sizeof c->app.scratch);
	XS2S_SIZE(XS2S_SIZE_APP_TABLES, sizeof c->app.handlers + sizeof c->app.pending + sizeof c->app.iqs);
	XS2S_SIZE(XS2S_SIZE_LOCAL_QUEUE, sizeof c->app.lq);
#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
	XS2S_SIZE(XS2S_SIZE_ACCOUNTS, sizeof c->app.acct.accounts + sizeof c->app.acct.allow);
	XS2S_SIZE(XS2S_SIZE_SUBSCRIPTIONS, sizeof c->app.acct.subs);
	XS2S_SIZE(XS2S_ACCOUNT_SIZE, sizeof c->app.acct.accounts[0]);
	XS2S_SIZE(XS2S_SUBSCRIPTION_SIZE, sizeof c->app.acct.subs[0]);
#endif
	XS2S_SIZE(XS2S_SIZE_EVENTS, sizeof c->evq);
	XS2S_SIZE(XS2S_SIZE_RESOLVER, sizeof c->res);
	XS2S_SIZE(XS2S_SIZE_XML_ARENA, sizeof c->xml.mem);
	XS2S_SIZE(XS2S_SIZE_TLS_ARENA, sizeof c->tls.mem);
	XS2S_SIZE(XS2S_SIZE_TLS_CERTIDS, sizeof c->tls.ids);
	XS2S_SIZE(XS2S_SIZE_ENV, sizeof c->env);
#if CONFIG_XS2S_COMPONENTS
	XS2S_SIZE(XS2S_SIZE_COMPONENTS, sizeof c->comps);
	XS2S_SIZE(XS2S_COMPONENT_SIZE, sizeof c->comps.c[0] + sizeof c->comps.names.name[0] +
					    sizeof c->comps.names.cert[0]);
#endif
}
