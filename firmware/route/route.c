/* The route table; the action points are in route.h. */
#include <stdio.h>
#include <string.h>
#include "xs2s_log.h"
#include "route/route.h"

static const char *const route_state_names[] = {
	[XS2S_RT_FREE] = "free", [XS2S_RT_WAIT] = "pending", [XS2S_RT_ASKED] = "sent",
	[XS2S_RT_VALID] = "valid", [XS2S_RT_FAILED] = "failed", [XS2S_RT_RETRY] = "retry",
};

const char *xs2s_route_state_name(const struct xs2s_route *r)
{
	/* An inbound route being verified is "pending" for the operator. */
	if (r->dir == XS2S_DIR_IN && r->state == XS2S_RT_ASKED)
		return "pending";
	return r->state <= XS2S_RT_RETRY ? route_state_names[r->state] : "?";
}

void xs2s_routes_init(struct xs2s_routes *rt, struct xs2s_evq *evq)
{
	unsigned i;

	memset(rt->r, 0, sizeof rt->r);
	for (i = 0; i < XS2S_QUEUE_ENTRIES; i++) {
		rt->q[i].data = NULL;
		rt->q[i].next = XS2S_QNIL;
	}
	rt->evq = evq;
	rt->used = rt->high = rt->refused = 0;
	rt->queued = rt->queued_high = rt->queue_refused = 0;
	rt->retrying = rt->retries = rt->expired = 0;
	rt->deadline_s = CONFIG_XS2S_ROUTE_DEADLINE_S;
	xs2s_sm_init(rt);
	xs2s_arena_init(&rt->pool, rt->pool_mem, sizeof rt->pool_mem, "queue");
}

static bool route_is(const struct xs2s_route *r, enum xs2s_dir dir, const char *local, const char *remote)
{
	return r->state != XS2S_RT_FREE && r->dir == dir && !strcmp(r->local, local) && !strcmp(r->remote, remote);
}

int xs2s_route_find(const struct xs2s_routes *rt, enum xs2s_dir dir, const char *local, const char *remote,
		    unsigned link)
{
	unsigned i;

	for (i = 0; i < XS2S_ROUTES; i++) {
		const struct xs2s_route *r = &rt->r[i];

		if (route_is(r, dir, local, remote) && r->state != XS2S_RT_FAILED &&
		    (r->link ? !link || r->link == link : !link && r->state == XS2S_RT_RETRY))
			return (int)i;
	}
	return XS2S_ROUTE_NONE;
}

int xs2s_route_on_link(const struct xs2s_routes *rt, enum xs2s_dir dir, const char *local, const char *remote,
		       unsigned link)
{
	unsigned i;

	for (i = 0; i < XS2S_ROUTES; i++)
		if (route_is(&rt->r[i], dir, local, remote) && rt->r[i].link == link)
			return (int)i;
	return XS2S_ROUTE_NONE;
}

int xs2s_route_add(struct xs2s_routes *rt, enum xs2s_dir dir, const char *local, const char *remote, uint8_t slot,
		   unsigned link)
{
	struct xs2s_route *free_r = NULL;
	unsigned i, on_link = 0;

	if (strlen(local) > XS2S_DOMAIN_MAX || strlen(remote) > XS2S_DOMAIN_MAX)
		return XS2S_EINVAL;
	for (i = 0; i < XS2S_ROUTES; i++) {
		struct xs2s_route *r = &rt->r[i];

		if (r->state == XS2S_RT_FREE) {
			if (!free_r)
				free_r = r;
		} else if (r->link == link) {
			on_link++;
		}
	}
	if (!free_r || on_link >= CONFIG_XS2S_MAX_PAIRS) {
		rt->refused++;
		return XS2S_ENOMEM;
	}
	free_r->state = XS2S_RT_WAIT;
	free_r->dir = (uint8_t)dir;
	free_r->method = XS2S_AUTH_NONE;
	free_r->slot = slot;
	free_r->link = link;
	free_r->failed_link = 0;
	free_r->queued = 0;
	free_r->tries = 0;
	free_r->retry_ms = xs2s_port_now_ms() - (uint32_t)CONFIG_XS2S_RETRY_BACKOFF_MAX_MS; /* no attempt lately */
	free_r->qhead = free_r->qtail = XS2S_QNIL;
	free_r->vstate = XS2S_VF_NONE;
	free_r->vlink = 0;
	free_r->key[0] = free_r->sid[0] = '\0';
	strcpy(free_r->local, local);
	strcpy(free_r->remote, remote);
	if (++rt->used > rt->high)
		rt->high = rt->used;
	return (int)(free_r - rt->r);
}

void xs2s_route_set(struct xs2s_routes *rt, int idx, enum xs2s_route_state s, enum xs2s_auth_method method,
		    enum xs2s_stanza_err cond)
{
	struct xs2s_route *r = &rt->r[idx];

	if (r->state != s)
		XS2S_LOGD(r->link, "route %s %s %s: %s -> %s", r->dir == XS2S_DIR_IN ? "in" : "out", r->local, r->remote,
			  route_state_names[r->state], route_state_names[s]);
	if (r->state == XS2S_RT_RETRY && s != XS2S_RT_RETRY)
		rt->retrying--;
	else if (r->state != XS2S_RT_RETRY && s == XS2S_RT_RETRY)
		rt->retrying++;
	r->state = (uint8_t)s;
	if (s == XS2S_RT_VALID) {
		r->method = (uint8_t)method;
		xs2s_evq_post(rt->evq, XS2S_EV_ROUTE_READY, (unsigned)idx, r->gen, 0, 0);
	} else if (s == XS2S_RT_FAILED) {
		r->fail_cond = (uint8_t)cond;
		memset(r->key, 0, sizeof r->key);
		r->vstate = XS2S_VF_NONE;
		xs2s_evq_post(rt->evq, XS2S_EV_ROUTE_FAILED, (unsigned)idx, r->gen, cond, 0);
	}
}

bool xs2s_route_next_on(const struct xs2s_routes *rt, unsigned link, enum xs2s_route_state s, unsigned *i)
{
	for (; *i < XS2S_ROUTES; (*i)++) {
		const struct xs2s_route *r = &rt->r[*i];

		if (r->state != XS2S_RT_FREE && r->link == link && (s == XS2S_RT_FREE || r->state == s))
			return true;
	}
	return false;
}

bool xs2s_route_any_valid(const struct xs2s_routes *rt, unsigned link)
{
	unsigned i = 0;

	return link && xs2s_route_next_on(rt, link, XS2S_RT_VALID, &i);
}

/* ---- the queue ---- */

static int route_enqueue(struct xs2s_routes *rt, struct xs2s_route *r, const char *xml, size_t len,
			 const struct xs2s_stanza_meta *meta)
{
	struct xs2s_qent *e = NULL;
	unsigned i;

	if (r->queued >= CONFIG_XS2S_ROUTE_QUEUE || len > UINT16_MAX)
		goto refused;
	for (i = 0; i < XS2S_QUEUE_ENTRIES && !e; i++)
		if (!rt->q[i].data)
			e = &rt->q[i];
	if (!e || !(e->data = xs2s_arena_alloc(&rt->pool, len)))
		goto refused;
	memcpy(e->data, xml, len);
	e->len = (uint16_t)len;
	e->route = (uint16_t)(r - rt->r);
	e->t_ms = xs2s_port_now_ms();
	e->meta = *meta;
	e->next = XS2S_QNIL;
	if (r->qtail == XS2S_QNIL)
		r->qhead = (uint16_t)(e - rt->q);
	else
		rt->q[r->qtail].next = (uint16_t)(e - rt->q);
	r->qtail = (uint16_t)(e - rt->q);
	r->queued++;
	if (++rt->queued > rt->queued_high)
		rt->queued_high = rt->queued;
	return XS2S_OK;
refused:
	rt->queue_refused++;
	return XS2S_ENOMEM;
}

const struct xs2s_qent *xs2s_route_head(const struct xs2s_routes *rt, int idx)
{
	const struct xs2s_route *r = &rt->r[idx];

	return r->qhead == XS2S_QNIL ? NULL : &rt->q[r->qhead];
}

void xs2s_route_drop_head(struct xs2s_routes *rt, int idx)
{
	struct xs2s_route *r = &rt->r[idx];
	struct xs2s_qent *e;

	if (r->qhead == XS2S_QNIL)
		return;
	e = &rt->q[r->qhead];
	r->qhead = e->next;
	if (r->qhead == XS2S_QNIL)
		r->qtail = XS2S_QNIL;
	xs2s_arena_free(&rt->pool, e->data);
	e->data = NULL;
	e->next = XS2S_QNIL;
	r->queued--;
	rt->queued--;
}

int xs2s_route_send(struct xs2s_routes *rt, int idx, struct xs2s_link *l, const char *xml, size_t len,
		    const struct xs2s_stanza_meta *meta)
{
	struct xs2s_route *r = &rt->r[idx];
	int rc;

	if (r->state == XS2S_RT_VALID && !r->queued && !xs2s_sm_tracking(rt, l) && xs2s_link_can_write(l, len)) {
		rc = xs2s_link_write_stanza(l, xml, len);
		if (rc == XS2S_OK && meta->track)
			xs2s_evq_post(rt->evq, XS2S_EV_SENT, meta->track, 0, 0, 0);
		return rc;
	}
	/* With stream management the bytes stay in the pool until acknowledged:
	 * queued first, then written from the queue (XEP-0198 4). */
	rc = route_enqueue(rt, r, xml, len, meta);
	if (rc == XS2S_OK && r->state == XS2S_RT_VALID && xs2s_sm_tracking(rt, l))
		xs2s_route_flush(rt, idx, l);
	return rc;
}

/* Take the head entry off route idx's FIFO without freeing it. */
static uint16_t route_unlink_head(struct xs2s_routes *rt, int idx)
{
	struct xs2s_route *r = &rt->r[idx];
	uint16_t q = r->qhead;

	r->qhead = rt->q[q].next;
	if (r->qhead == XS2S_QNIL)
		r->qtail = XS2S_QNIL;
	rt->q[q].next = XS2S_QNIL;
	r->queued--;
	return q;
}

void xs2s_route_flush(struct xs2s_routes *rt, int idx, struct xs2s_link *l)
{
	const struct xs2s_qent *e;
	bool wrote = false;

	if (rt->r[idx].state != XS2S_RT_VALID)
		return;
	while ((e = xs2s_route_head(rt, idx)) != NULL && xs2s_link_can_write(l, e->len) &&
	       xs2s_sm_room(rt, l, e->len)) {
		if (xs2s_link_write_stanza(l, e->data, e->len) != XS2S_OK)
			break; /* not written: it stays at the head */
		wrote = true;
		if (xs2s_sm_tracking(rt, l)) {
			/* Kept until the peer acknowledges it (route/sm.h). */
			xs2s_sm_push(rt, l, route_unlink_head(rt, idx));
			continue;
		}
		if (e->meta.track)
			xs2s_evq_post(rt->evq, XS2S_EV_SENT, e->meta.track, 0, 0, 0);
		xs2s_route_drop_head(rt, idx);
	}
	if (wrote)
		xs2s_sm_after_write(rt, l, xs2s_port_now_ms());
}

/* ---- links coming and going ---- */

static void route_free(struct xs2s_routes *rt, struct xs2s_route *r)
{
	int idx = (int)(r - rt->r);

	while (r->queued)
		xs2s_route_drop_head(rt, idx); /* the engine bounced them already; never reached with stanzas */
	if (r->state == XS2S_RT_RETRY)
		rt->retrying--;
	memset(r->key, 0, sizeof r->key);
	r->state = XS2S_RT_FREE;
	r->link = 0;
	r->gen++;
	rt->used--;
}

void xs2s_route_release(struct xs2s_routes *rt, int idx)
{
	struct xs2s_route *r = &rt->r[idx];

	if (r->state == XS2S_RT_FAILED && !r->link && !r->queued)
		route_free(rt, r);
}

/* The wait before attempt tries + 1 of a route (tries >= 1). */
static uint32_t route_backoff(unsigned tries)
{
	uint32_t ms = CONFIG_XS2S_RETRY_BACKOFF_MS;

	while (--tries && ms < CONFIG_XS2S_RETRY_BACKOFF_MAX_MS)
		ms *= 2;
	return ms < CONFIG_XS2S_RETRY_BACKOFF_MAX_MS ? ms : CONFIG_XS2S_RETRY_BACKOFF_MAX_MS;
}

bool xs2s_route_expired(const struct xs2s_routes *rt, int idx, uint32_t t)
{
	const struct xs2s_qent *e = xs2s_route_head(rt, idx);

	return !e || XS2S_TIME_REACHED(t, e->t_ms + rt->deadline_s * XS2S_MS_PER_S);
}

/* Route idx waits in RETRY until now + delay, unless that is past its
 * deadline: then it fails (its bounce condition is already set). */
static void route_retry_at(struct xs2s_routes *rt, int idx, uint32_t now, uint32_t delay)
{
	struct xs2s_route *r = &rt->r[idx];

	if (!rt->deadline_s || xs2s_route_expired(rt, idx, now + delay)) {
		if (r->tries > 1)
			rt->expired++;
		XS2S_LOGI(r->failed_link, "route out %s %s: deadline reached after %u attempt(s): bouncing", r->local,
			  r->remote, r->tries);
		xs2s_route_set(rt, idx, XS2S_RT_FAILED, XS2S_AUTH_NONE, (enum xs2s_stanza_err)r->fail_cond);
		return;
	}
	if (r->state != XS2S_RT_RETRY) {
		XS2S_LOGI(r->failed_link, "route out %s %s: %s -> retry in %lu ms (%u queued, attempt %u)", r->local,
			  r->remote, route_state_names[r->state], (unsigned long)delay, r->queued, r->tries + 1u);
		r->retry_ms = now + delay;
		xs2s_route_set(rt, idx, XS2S_RT_RETRY, XS2S_AUTH_NONE, XS2S_STE_NONE);
	}
	r->retry_ms = now + delay;
}

void xs2s_route_link_down(struct xs2s_routes *rt, uint8_t slot, unsigned link, enum xs2s_stanza_err cond,
			  bool retry, uint32_t now)
{
	unsigned i;

#if CONFIG_XS2S_SM
	xs2s_sm_link_down(rt, slot, link); /* unacknowledged stanzas back to their routes first */
#else
	(void)slot;
#endif
	for (i = 0; i < XS2S_ROUTES; i++) {
		struct xs2s_route *r = &rt->r[i];

		if (r->state == XS2S_RT_FREE)
			continue;
		if (r->dir == XS2S_DIR_OUT && r->link == link) {
			bool was_valid = r->state == XS2S_RT_VALID;

			r->failed_link = link;
			r->link = 0; /* unbound: retried, or the engine bounces its queue, then releases it */
			if (retry && r->queued && r->state != XS2S_RT_FAILED) {
				/* Retry before bouncing: at once after a link that had
				 * worked (and was not itself a retry of the last
				 * CONFIG_XS2S_RETRY_BACKOFF_MAX_MS: a peer that
				 * accepts and drops every link gets the backoff), else
				 * after the doubling backoff. */
				bool quick = was_valid &&
					     now - r->retry_ms >= (uint32_t)CONFIG_XS2S_RETRY_BACKOFF_MAX_MS;

				r->fail_cond = (uint8_t)cond;
				r->tries = quick ? 0 : (uint8_t)(r->tries < 255 ? r->tries + 1 : 255);
				route_retry_at(rt, (int)i, now, quick ? 0 : route_backoff(r->tries));
				continue;
			}
			xs2s_route_set(rt, (int)i, XS2S_RT_FAILED, XS2S_AUTH_NONE, cond);
		} else if (r->dir == XS2S_DIR_IN && r->state == XS2S_RT_ASKED && r->vlink == link) {
			/* The authoritative server cannot answer any more (XEP-0220 2.4). */
			xs2s_route_verify_fail(rt, (int)i, cond == XS2S_STE_REMOTE_SERVER_TIMEOUT
								   ? XS2S_STE_REMOTE_SERVER_TIMEOUT
								   : XS2S_STE_REMOTE_SERVER_NOT_FOUND);
			if (!r->link)
				route_free(rt, r); /* abandoned: its own link is gone too */
		}
	}
}

bool xs2s_route_next_due(const struct xs2s_routes *rt, uint32_t now, unsigned *i)
{
	for (; *i < XS2S_ROUTES; (*i)++)
		if (rt->r[*i].state == XS2S_RT_RETRY && XS2S_TIME_REACHED(now, rt->r[*i].retry_ms))
			return true;
	return false;
}

void xs2s_route_rebind(struct xs2s_routes *rt, int idx, uint8_t slot, unsigned link)
{
	struct xs2s_route *r = &rt->r[idx];

	rt->retries++;
	r->slot = slot;
	r->link = link;
	r->method = XS2S_AUTH_NONE;
	XS2S_LOGI(link, "route out %s %s: retrying (attempt %u, %u queued)", r->local, r->remote, r->tries + 1u,
		  r->queued);
	xs2s_route_set(rt, idx, XS2S_RT_WAIT, XS2S_AUTH_NONE, XS2S_STE_NONE);
}

void xs2s_route_retry_later(struct xs2s_routes *rt, int idx, uint32_t now)
{
	struct xs2s_route *r = &rt->r[idx];

	r->tries = (uint8_t)(r->tries < 255 ? r->tries + 1 : 255);
	route_retry_at(rt, idx, now, route_backoff(r->tries));
}

void xs2s_route_retry_fail(struct xs2s_routes *rt, int idx)
{
	struct xs2s_route *r = &rt->r[idx];

	if (r->state != XS2S_RT_RETRY)
		return;
	xs2s_route_set(rt, idx, XS2S_RT_FAILED, XS2S_AUTH_NONE, (enum xs2s_stanza_err)r->fail_cond);
}

uint32_t xs2s_route_retry_next_ms(const struct xs2s_routes *rt, uint32_t now)
{
	uint32_t best = UINT32_MAX;
	unsigned i;

	if (!rt->retrying)
		return best;
	for (i = 0; i < XS2S_ROUTES; i++) {
		const struct xs2s_route *r = &rt->r[i];

		if (r->state != XS2S_RT_RETRY)
			continue;
		if (XS2S_TIME_REACHED(now, r->retry_ms))
			return 0;
		if (r->retry_ms - now < best)
			best = r->retry_ms - now;
	}
	return best;
}

void xs2s_route_link_freed(struct xs2s_routes *rt, unsigned link)
{
	unsigned i;

	for (i = 0; i < XS2S_ROUTES; i++) {
		struct xs2s_route *r = &rt->r[i];

		if (r->state == XS2S_RT_FREE || r->link != link)
			continue;
		if (r->dir == XS2S_DIR_IN && r->state == XS2S_RT_ASKED && r->vstate == XS2S_VF_SENT)
			r->link = 0; /* abandoned: kept so that its answer is not taken as unsolicited */
		else
			route_free(rt, r);
	}
}

/* ---- receiving dialback ---- */

void xs2s_route_verify_begin(struct xs2s_routes *rt, int idx, const char *key, const char *sid, unsigned vlink)
{
	struct xs2s_route *r = &rt->r[idx];

	xs2s_route_set(rt, idx, XS2S_RT_ASKED, XS2S_AUTH_NONE, XS2S_STE_NONE);
	snprintf(r->key, sizeof r->key, "%s", key);
	snprintf(r->sid, sizeof r->sid, "%s", sid);
	r->vstate = XS2S_VF_WAIT;
	r->vlink = vlink;
}

void xs2s_route_verify_sent(struct xs2s_routes *rt, int idx)
{
	struct xs2s_route *r = &rt->r[idx];

	r->vstate = XS2S_VF_SENT;
	memset(r->key, 0, sizeof r->key); /* no longer needed */
}

bool xs2s_route_next_verify(const struct xs2s_routes *rt, unsigned vlink, unsigned *i)
{
	for (; *i < XS2S_ROUTES; (*i)++) {
		const struct xs2s_route *r = &rt->r[*i];

		if (r->state == XS2S_RT_ASKED && r->dir == XS2S_DIR_IN && r->vstate == XS2S_VF_WAIT && r->vlink == vlink)
			return true;
	}
	return false;
}

void xs2s_route_verify_fail(struct xs2s_routes *rt, int idx, enum xs2s_stanza_err cond)
{
	struct xs2s_route *r = &rt->r[idx];

	xs2s_evq_post(rt->evq, XS2S_EV_DB_VERDICT, (unsigned)idx, r->gen, cond, XS2S_DB_ERROR);
	xs2s_route_set(rt, idx, XS2S_RT_FAILED, XS2S_AUTH_NONE, cond);
}

int xs2s_route_verify_answer(struct xs2s_routes *rt, unsigned vlink, const char *local, const char *remote,
			     const char *id, const char *type)
{
	unsigned i;

	for (i = 0; i < XS2S_ROUTES; i++) {
		struct xs2s_route *r = &rt->r[i];
		bool valid = !strcmp(type, "valid"), error = !strcmp(type, "error");

		if (r->state != XS2S_RT_ASKED || r->dir != XS2S_DIR_IN || r->vstate != XS2S_VF_SENT ||
		    r->vlink != vlink || strcmp(r->sid, id ? id : "") || !route_is(r, XS2S_DIR_IN, local, remote))
			continue;
		if (!r->link) {
			route_free(rt, r); /* its inbound link went away meanwhile */
			return XS2S_OK;
		}
		xs2s_evq_post(rt->evq, XS2S_EV_DB_VERDICT, i, r->gen,
			      error ? XS2S_STE_REMOTE_SERVER_NOT_FOUND : XS2S_STE_NONE,
			      valid ? XS2S_DB_VALID : error ? XS2S_DB_ERROR : XS2S_DB_INVALID);
		xs2s_route_set(rt, (int)i, valid ? XS2S_RT_VALID : XS2S_RT_FAILED, XS2S_AUTH_DIALBACK,
			       XS2S_STE_NONE);
		return XS2S_OK;
	}
	return XS2S_ENOTFOUND;
}
