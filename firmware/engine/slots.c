/* Link slots: taking one for a new link, and the one place where links are
 * freed. */
#include <string.h>
#include "xs2s_log.h"
#include "engine/engine.h"

struct xs2s_slot *xs2s_slot_alloc(struct xs2s_core *c)
{
	unsigned i;

	if (c->stopping)
		return NULL;
	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_slot *s = &c->slot[i];

		if (s->link.state != XS2S_LS_FREE)
			continue;
		memset(&s->auth, 0, sizeof s->auth);
		s->wait = 0;
		memset(&s->live, 0, sizeof s->live);
		xs2s_policy_rate_reset(&s->rate);
		s->refusal[0] = '\0';
		xs2s_arena_reset_owner_high(&c->tls.arena, (uint8_t)(i + 1));
		if (++c->links_used > c->links_high)
			c->links_high = c->links_used;
		return s;
	}
	c->links_refused++;
	XS2S_LOGW(0, "all %d link slots in use (CONFIG_XS2S_MAX_LINKS)", CONFIG_XS2S_MAX_LINKS);
	return NULL;
}

/* The one place where links are freed. */
void xs2s_slots_free_done(struct xs2s_core *c)
{
	unsigned i;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		struct xs2s_link *l = &c->slot[i].link;

		if (l->state != XS2S_LS_FREE && xs2s_link_done(l))
			xs2s_slot_free(c, &c->slot[i]);
	}
}

void xs2s_slot_free(struct xs2s_core *c, struct xs2s_slot *s)
{
	struct xs2s_link *l = &s->link;
	unsigned id = l->id, i = (unsigned)(s - c->slot);

#if CONFIG_XS2S_COMPONENTS
	if (l->kind == XS2S_KIND_COMPONENT)
		xs2s_comps_link_freed(&c->comps);
#endif
	if (l->dir == XS2S_DIR_IN && l->why == XS2S_WHY_SETUP_TIMEOUT && l->kind != XS2S_KIND_COMPONENT)
		c->admit.timeouts++; /* CONFIG_XS2S_PREAUTH_TIMEOUT_S */
	xs2s_link_release(l, c->tls.arena.owner_high[i + 1]);
	xs2s_route_link_freed(&c->routes, id);
	c->links_used--;
}

