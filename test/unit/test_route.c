/* Unit tests for the route table (firmware/route/route.c): adding and finding
 * routes, the per-link and table bounds, the state machine and the events
 * each transition posts, the per-route FIFO queue and its bounds, links going
 * down and being freed, receiving dialback's verifications, and generation
 * numbers that make stale events recognisable.
 *
 * The engine's side of each event is played here as s2s.c plays it (a failed
 * route's queue is bounced in order, then the route is released). Stanzas
 * are written to a real struct xs2s_link opened on no socket: it accepts
 * writes into its output queue, which the tests read back.
 *
 * Leak gate (teardown): no route in use, no stanza queued, every queue entry
 * free, the queue pool empty, no event waiting or lost.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "xs2s_log.h"
#include "link/link.h"
#include "link/tls.h"
#include "route/route.h"

#define A "a.test"
#define NLINKS 2
/* Room for a pool-sized stanza and for one longer than a queue entry can say. */
#define BIG (CONFIG_XS2S_QUEUE_POOL > UINT16_MAX ? CONFIG_XS2S_QUEUE_POOL + 16 : UINT16_MAX + 16)

static struct xs2s_routes rt;
static struct xs2s_evq evq;
static struct xs2s_env env;
static struct xs2s_tls tls;
static struct xs2s_link links[NLINKS];
static struct xs2s_link_bufs bufs; /* the buffers the links borrow, as the engine's */
static char big[BIG];
static char out[CONFIG_XS2S_OUT_BUF + 1];
static char bounced[CONFIG_XS2S_QUEUE_POOL]; /* what the engine bounced, in order, '|'-separated */

static int setup(void **state)
{
	(void)state;
	memset(&env, 0, sizeof env);
	env.evq = &evq;
	env.tls = &tls;
	env.bufs = &bufs;
	xs2s_link_bufs_init(&bufs);
	xs2s_evq_init(&evq);
	/* init must not rely on zeroed memory (the pool's bytes are the arena's:
	 * poisoned for ASan while free). */
	memset(&rt, 0x5a, offsetof(struct xs2s_routes, pool));
	xs2s_routes_init(&rt, &evq);
	bounced[0] = '\0';
	return 0;
}

static int leak_gate(void **state)
{
	unsigned i, busy_entries = 0, in_use = 0;

	(void)state;
	for (i = 0; i < NLINKS; i++)
		if (links[i].state != XS2S_LS_FREE)
			xs2s_link_release(&links[i], 0);
	for (i = 0; i < XS2S_QUEUE_ENTRIES; i++)
		busy_entries += rt.q[i].data != NULL;
	for (i = 0; i < XS2S_ROUTES; i++)
		in_use += rt.r[i].state != XS2S_RT_FREE;
	if (rt.used || in_use || rt.queued || busy_entries || rt.pool.used || rt.pool.blocks || evq.n || evq.lost) {
		print_error("leak: routes %u (%u not free), stanzas %u, entries %u, pool %zu bytes in %u blocks, "
			    "events %u waiting %u lost\n", rt.used, in_use, rt.queued, busy_entries, rt.pool.used,
			    (unsigned)rt.pool.blocks, (unsigned)evq.n, (unsigned)evq.lost);
		return -1;
	}
	return 0;
}

/* ---- helpers ---- */

/* Link slot i, id, on no socket: live and accepting writes. */
static struct xs2s_link *open_link(unsigned i, unsigned id)
{
	xs2s_link_open_in(&links[i], &env, (uint8_t)i, id, XS2S_SOCK_NONE, "192.0.2.9");
	assert_true(xs2s_link_live(&links[i]));
	return &links[i];
}

/* What link l wrote since the last call, NUL-terminated. */
static const char *written(struct xs2s_link *l)
{
	size_t n = xs2s_bq_get(&l->out, out, sizeof out - 1);

	out[n] = '\0';
	return out;
}

static uint16_t gen(int idx)
{
	return rt.r[idx].gen;
}

static int add(enum xs2s_dir dir, const char *remote, unsigned link)
{
	int idx = xs2s_route_add(&rt, dir, A, remote, (uint8_t)(link % CONFIG_XS2S_MAX_LINKS), link);

	assert_true(idx >= 0);
	assert_int_equal(rt.r[idx].state, XS2S_RT_WAIT);
	return idx;
}

static void expect_ev(enum xs2s_ev_type type, int idx, uint16_t g, unsigned cond, unsigned verdict)
{
	struct xs2s_ev e;

	if (!xs2s_evq_pop(&evq, &e))
		fail_msg("no event; wanted type %d for route %d", (int)type, idx);
	if (e.type != type || e.idx != idx || (uint16_t)e.id != g || e.cond != cond || e.verdict != verdict)
		fail_msg("event type %u idx %u id %u cond %u verdict %u; wanted %d %d %u %u %u", e.type, e.idx,
			 (unsigned)e.id, e.cond, e.verdict, (int)type, idx, g, cond, verdict);
}

static void expect_no_ev(void)
{
	struct xs2s_ev e;

	if (xs2s_evq_pop(&evq, &e))
		fail_msg("unexpected event type %u idx %u", e.type, e.idx);
}

/* A stanza and its meta: from/to/body spans into it. */
static void stanza(char *buf, size_t cap, const char *body, struct xs2s_stanza_meta *m)
{
	int n = snprintf(buf, cap, "<message from='u@a.test' to='x@b.test'><body>%s</body></message>", body);

	assert_true(n > 0 && (size_t)n < cap);
	memset(m, 0, sizeof *m);
	m->kind = XS2S_ST_MESSAGE;
	m->bounce = true;
	m->from.off = 15;
	m->from.len = 8;
	m->to.off = 29;
	m->to.len = 8;
	m->body.off = 45;
	m->body.len = (uint16_t)strlen(body);
}

static int send_body(int idx, struct xs2s_link *l, const char *body)
{
	char buf[256];
	struct xs2s_stanza_meta m;

	stanza(buf, sizeof buf, body, &m);
	return xs2s_route_send(&rt, idx, l, buf, strlen(buf), &m);
}

/* The engine's action on an event (s2s.c): a failed route's queue is
 * bounced in order (here: its bodies appended to `bounced`), then released. */
static void engine_event(const struct xs2s_ev *e)
{
	struct xs2s_route *r = &rt.r[e->idx];
	const struct xs2s_qent *q;

	if (e->type != XS2S_EV_ROUTE_FAILED || r->state == XS2S_RT_FREE || r->gen != (uint16_t)e->id)
		return;
	while ((q = xs2s_route_head(&rt, e->idx)) != NULL) {
		size_t at = strlen(bounced);

		assert_true(q->meta.bounce);
		assert_memory_equal(q->data + q->meta.from.off, "u@a.test", q->meta.from.len);
		snprintf(bounced + at, sizeof bounced - at, "%.*s|", (int)q->meta.body.len, q->data + q->meta.body.off);
		xs2s_route_drop_head(&rt, e->idx);
	}
	xs2s_route_release(&rt, e->idx);
}

static void engine_drain(void)
{
	struct xs2s_ev e;

	while (xs2s_evq_pop(&evq, &e))
		engine_event(&e);
}

/* Links 1..n go down, then are freed, as the engine does it. */
static void all_links_gone(unsigned n)
{
	unsigned id;

	for (id = 1; id <= n; id++) {
		xs2s_route_link_down(&rt, (uint8_t)((id) % CONFIG_XS2S_MAX_LINKS), id, XS2S_STE_REMOTE_SERVER_NOT_FOUND, false, 0);
		engine_drain();
	}
	for (id = 1; id <= n; id++) {
		xs2s_route_link_freed(&rt, id);
		engine_drain();
	}
}

/* ---- tests ---- */

static void test_add_find_on_link(void **state)
{
	char longd[XS2S_DOMAIN_MAX + 2];
	int r1, r2, r3;
	unsigned i;
	(void)state;

	assert_int_equal(rt.used, 0);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "b.test", 0), XS2S_ROUTE_NONE);
	r1 = add(XS2S_DIR_OUT, "b.test", 1);
	assert_int_equal(rt.r[r1].dir, XS2S_DIR_OUT);
	assert_int_equal(rt.r[r1].link, 1);
	assert_int_equal(rt.r[r1].slot, 1);
	assert_string_equal(rt.r[r1].local, A);
	assert_string_equal(rt.r[r1].remote, "b.test");
	assert_int_equal(rt.r[r1].queued, 0);
	assert_int_equal(rt.r[r1].method, XS2S_AUTH_NONE);
	assert_int_equal(rt.used, 1);
	assert_int_equal(rt.high, 1);
	expect_no_ev(); /* adding posts nothing */

	/* find: by direction, pair and (optionally) link. */
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "b.test", 0), r1);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "b.test", 1), r1);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "b.test", 2), XS2S_ROUTE_NONE);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_IN, A, "b.test", 0), XS2S_ROUTE_NONE);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "c.test", 0), XS2S_ROUTE_NONE);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, "b.test", A, 0), XS2S_ROUTE_NONE);
	assert_int_equal(xs2s_route_on_link(&rt, XS2S_DIR_OUT, A, "b.test", 1), r1);
	assert_int_equal(xs2s_route_on_link(&rt, XS2S_DIR_OUT, A, "b.test", 2), XS2S_ROUTE_NONE);

	/* The same pair on another link, and inbound on the first. */
	r2 = add(XS2S_DIR_OUT, "b.test", 2);
	r3 = add(XS2S_DIR_IN, "b.test", 1);
	assert_true(r1 != r2 && r2 != r3 && r1 != r3);
	assert_int_equal(rt.used, 3);
	assert_int_equal(rt.high, 3);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "b.test", 2), r2);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_IN, A, "b.test", 0), r3);
	assert_int_equal(xs2s_route_on_link(&rt, XS2S_DIR_IN, A, "b.test", 1), r3);

	/* find skips failed routes; on_link finds them whatever their state. */
	xs2s_route_set(&rt, r1, XS2S_RT_FAILED, XS2S_AUTH_NONE, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	expect_ev(XS2S_EV_ROUTE_FAILED, r1, gen(r1), XS2S_STE_REMOTE_SERVER_NOT_FOUND, 0);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "b.test", 0), r2);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "b.test", 1), XS2S_ROUTE_NONE);
	assert_int_equal(xs2s_route_on_link(&rt, XS2S_DIR_OUT, A, "b.test", 1), r1);

	/* Iterating a link's routes, by state. */
	i = 0;
	assert_true(xs2s_route_next_on(&rt, 1, XS2S_RT_FREE, &i));
	assert_int_equal(i, (unsigned)(r1 < r3 ? r1 : r3));
	i++;
	assert_true(xs2s_route_next_on(&rt, 1, XS2S_RT_FREE, &i));
	assert_int_equal(i, (unsigned)(r1 < r3 ? r3 : r1));
	i++;
	assert_false(xs2s_route_next_on(&rt, 1, XS2S_RT_FREE, &i));
	i = 0;
	assert_true(xs2s_route_next_on(&rt, 1, XS2S_RT_WAIT, &i));
	assert_int_equal(i, (unsigned)r3);
	i = 0;
	assert_true(xs2s_route_next_on(&rt, 1, XS2S_RT_FAILED, &i));
	assert_int_equal(i, (unsigned)r1);
	i = 0;
	assert_false(xs2s_route_next_on(&rt, 3, XS2S_RT_FREE, &i));
	assert_false(xs2s_route_any_valid(&rt, 1));
	xs2s_route_set(&rt, r3, XS2S_RT_VALID, XS2S_AUTH_SASL_EXTERNAL, XS2S_STE_NONE);
	expect_ev(XS2S_EV_ROUTE_READY, r3, gen(r3), 0, 0);
	assert_true(xs2s_route_any_valid(&rt, 1));
	assert_false(xs2s_route_any_valid(&rt, 2));
	assert_false(xs2s_route_any_valid(&rt, 0));

	/* Domains: the longest accepted, one byte more refused (not counted as table full). */
	memset(longd, 'd', XS2S_DOMAIN_MAX);
	longd[XS2S_DOMAIN_MAX] = '\0';
	r1 = xs2s_route_add(&rt, XS2S_DIR_OUT, A, longd, 2, 2);
	assert_true(r1 >= 0);
	assert_string_equal(rt.r[r1].remote, longd);
	strcat(longd, "d");
	assert_int_equal(xs2s_route_add(&rt, XS2S_DIR_OUT, A, longd, 2, 2), XS2S_EINVAL);
	assert_int_equal(xs2s_route_add(&rt, XS2S_DIR_OUT, longd, "b.test", 2, 2), XS2S_EINVAL);
	assert_int_equal(rt.refused, 0);
	assert_int_equal(rt.used, 4);

	all_links_gone(2);
	assert_string_equal(bounced, "");
}

static void test_state_names(void **state)
{
	int o, i;
	(void)state;

	o = add(XS2S_DIR_OUT, "b.test", 1);
	i = add(XS2S_DIR_IN, "b.test", 2);
	assert_string_equal(xs2s_route_state_name(&rt.r[o]), "pending");
	assert_string_equal(xs2s_route_state_name(&rt.r[i]), "pending");
	xs2s_route_set(&rt, o, XS2S_RT_ASKED, XS2S_AUTH_NONE, XS2S_STE_NONE);
	xs2s_route_verify_begin(&rt, i, "key", "sid", 1);
	assert_string_equal(xs2s_route_state_name(&rt.r[o]), "sent");
	assert_string_equal(xs2s_route_state_name(&rt.r[i]), "pending"); /* inbound, being verified */
	xs2s_route_set(&rt, o, XS2S_RT_VALID, XS2S_AUTH_DIALBACK, XS2S_STE_NONE);
	assert_string_equal(xs2s_route_state_name(&rt.r[o]), "valid");
	xs2s_route_set(&rt, o, XS2S_RT_FAILED, XS2S_AUTH_NONE, XS2S_STE_NONE);
	assert_string_equal(xs2s_route_state_name(&rt.r[o]), "failed");
	expect_ev(XS2S_EV_ROUTE_READY, o, gen(o), 0, 0);
	expect_ev(XS2S_EV_ROUTE_FAILED, o, gen(o), XS2S_STE_NONE, 0);
	expect_no_ev();
	all_links_gone(2);
}

static void test_transitions_and_events(void **state)
{
	int o, f;
	(void)state;

	o = add(XS2S_DIR_OUT, "b.test", 1);
	/* WAIT -> ASKED: nothing to tell anyone. */
	xs2s_route_set(&rt, o, XS2S_RT_ASKED, XS2S_AUTH_NONE, XS2S_STE_NONE);
	assert_int_equal(rt.r[o].state, XS2S_RT_ASKED);
	expect_no_ev();
	/* ASKED -> VALID: READY with the route's generation; the method is kept. */
	xs2s_route_set(&rt, o, XS2S_RT_VALID, XS2S_AUTH_DIALBACK, XS2S_STE_NONE);
	assert_int_equal(rt.r[o].state, XS2S_RT_VALID);
	assert_int_equal(rt.r[o].method, XS2S_AUTH_DIALBACK);
	expect_ev(XS2S_EV_ROUTE_READY, o, gen(o), 0, 0);
	expect_no_ev();

	/* WAIT -> ASKED -> FAILED: FAILED with the bounce condition. */
	f = add(XS2S_DIR_OUT, "c.test", 1);
	xs2s_route_set(&rt, f, XS2S_RT_ASKED, XS2S_AUTH_NONE, XS2S_STE_NONE);
	xs2s_route_set(&rt, f, XS2S_RT_FAILED, XS2S_AUTH_NONE, XS2S_STE_REMOTE_SERVER_TIMEOUT);
	assert_int_equal(rt.r[f].state, XS2S_RT_FAILED);
	assert_int_equal(rt.r[f].method, XS2S_AUTH_NONE);
	expect_ev(XS2S_EV_ROUTE_FAILED, f, gen(f), XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	expect_no_ev();
	/* Still bound to its link: the engine cannot release it yet. */
	xs2s_route_release(&rt, f);
	assert_int_equal(rt.r[f].state, XS2S_RT_FAILED);

	/* SASL fallback: ASKED -> WAIT posts nothing either. */
	xs2s_route_set(&rt, o, XS2S_RT_WAIT, XS2S_AUTH_NONE, XS2S_STE_NONE);
	expect_no_ev();
	assert_int_equal(rt.used, 2);
	all_links_gone(1);
}

static void test_pairs_per_link_and_table_full(void **state)
{
	char dom[32];
	int idx[XS2S_ROUTES];
	unsigned i, link, n = 0;
	uint16_t g;
	(void)state;

	/* CONFIG_XS2S_MAX_PAIRS on one link, then ENOMEM for that link only. */
	for (i = 0; i < CONFIG_XS2S_MAX_PAIRS; i++) {
		snprintf(dom, sizeof dom, "p%u.test", i);
		idx[n++] = add(i % 2 ? XS2S_DIR_IN : XS2S_DIR_OUT, dom, 1);
	}
	assert_int_equal(xs2s_route_add(&rt, XS2S_DIR_OUT, A, "more.test", 1, 1), XS2S_ENOMEM);
	assert_int_equal(rt.refused, 1);
	assert_int_equal(rt.used, CONFIG_XS2S_MAX_PAIRS);
	/* Other links fill the rest of the table. */
	for (link = 2; n < XS2S_ROUTES; link++)
		for (i = 0; i < CONFIG_XS2S_MAX_PAIRS && n < XS2S_ROUTES; i++) {
			snprintf(dom, sizeof dom, "l%u-%u.test", link, i);
			idx[n++] = add(XS2S_DIR_OUT, dom, link);
		}
	assert_int_equal(rt.used, XS2S_ROUTES);
	assert_int_equal(rt.high, XS2S_ROUTES);
	/* Table full: refused for a link with no route at all, and counted. */
	assert_int_equal(xs2s_route_add(&rt, XS2S_DIR_OUT, A, "more.test", 0, 999), XS2S_ENOMEM);
	assert_int_equal(rt.refused, 2);
	expect_no_ev();

	/* Link 1's slot is freed: its routes go, their generations move on. */
	g = gen(idx[0]);
	xs2s_route_link_freed(&rt, 1);
	assert_int_equal(rt.used, XS2S_ROUTES - CONFIG_XS2S_MAX_PAIRS);
	assert_int_equal(rt.r[idx[0]].state, XS2S_RT_FREE);
	assert_int_equal(rt.r[idx[0]].link, 0);
	assert_int_equal(gen(idx[0]), (uint16_t)(g + 1));
	expect_no_ev();
	/* Room again, in the freed entries. */
	i = (unsigned)xs2s_route_add(&rt, XS2S_DIR_OUT, A, "more.test", 0, 999);
	assert_true(i == (unsigned)idx[0] || i == (unsigned)idx[1] || i == (unsigned)idx[2] || i == (unsigned)idx[3]);
	assert_int_equal(rt.high, XS2S_ROUTES);
	assert_int_equal(rt.refused, 2);
	xs2s_route_link_freed(&rt, 999);
	all_links_gone(link);
	assert_int_equal(rt.used, 0);
}

static void test_queue_fifo_and_flush(void **state)
{
	struct xs2s_link *l = open_link(0, 1);
	const struct xs2s_qent *q;
	char buf[256], want[1024];
	struct xs2s_stanza_meta m;
	int r;
	(void)state;

	r = add(XS2S_DIR_OUT, "b.test", 1);
	/* Not valid yet: everything queues, nothing is written. */
	assert_int_equal(send_body(r, l, "one"), XS2S_OK);
	assert_int_equal(send_body(r, l, "two"), XS2S_OK);
	assert_int_equal(send_body(r, l, "three"), XS2S_OK);
	assert_int_equal(rt.r[r].queued, 3);
	assert_int_equal(rt.queued, 3);
	assert_int_equal(rt.queued_high, 3);
	assert_true(rt.pool.used > 0);
	assert_string_equal(written(l), "");
	assert_int_equal(l->stanzas_out, 0);
	/* The head is the oldest, with its bytes and what a bounce needs. */
	q = xs2s_route_head(&rt, r);
	assert_non_null(q);
	stanza(buf, sizeof buf, "one", &m);
	assert_int_equal(q->len, strlen(buf));
	assert_memory_equal(q->data, buf, q->len);
	assert_true(xs2s_arena_owns(&rt.pool, q->data));
	assert_int_equal(q->meta.kind, XS2S_ST_MESSAGE);
	assert_true(q->meta.bounce);
	assert_int_equal(q->meta.body.off, m.body.off);
	assert_int_equal(q->meta.body.len, 3);
	/* Flushing a route that is not valid writes nothing. */
	xs2s_route_set(&rt, r, XS2S_RT_ASKED, XS2S_AUTH_NONE, XS2S_STE_NONE);
	xs2s_route_flush(&rt, r, l);
	assert_string_equal(written(l), "");
	assert_int_equal(rt.r[r].queued, 3);

	/* Valid: flush writes them in order and frees their bytes. */
	xs2s_route_set(&rt, r, XS2S_RT_VALID, XS2S_AUTH_DIALBACK, XS2S_STE_NONE);
	expect_ev(XS2S_EV_ROUTE_READY, r, gen(r), 0, 0);
	xs2s_route_flush(&rt, r, l);
	want[0] = '\0';
	for (const char *const *b = (const char *const[]){ "one", "two", "three", NULL }; *b; b++) {
		stanza(buf, sizeof buf, *b, &m);
		strcat(want, buf);
	}
	assert_string_equal(written(l), want);
	assert_int_equal(l->stanzas_out, 3);
	assert_int_equal(rt.r[r].queued, 0);
	assert_int_equal(rt.queued, 0);
	assert_int_equal(rt.pool.used, 0);
	assert_null(xs2s_route_head(&rt, r));
	assert_int_equal(rt.queued_high, 3);

	/* Valid, nothing waiting, room: written at once, never queued. */
	assert_int_equal(send_body(r, l, "four"), XS2S_OK);
	stanza(buf, sizeof buf, "four", &m);
	assert_string_equal(written(l), buf);
	assert_int_equal(rt.r[r].queued, 0);
	assert_int_equal(l->stanzas_out, 4);

	/* No room on the link: queued; a later, smaller stanza that would fit
	 * queues behind it (order is kept). */
	memset(big, ' ', sizeof big);
	assert_int_equal(xs2s_link_write(l, big, xs2s_bq_room(&l->out) - XS2S_LINK_CLOSE_RESERVE - 100), XS2S_OK);
	stanza(buf, sizeof buf, "a body too long for the hundred bytes left in the link's output queue", &m);
	assert_true(strlen(buf) > 100);
	assert_int_equal(xs2s_route_send(&rt, r, l, buf, strlen(buf), &m), XS2S_OK);
	assert_int_equal(rt.r[r].queued, 1);
	assert_int_equal(send_body(r, l, "s"), XS2S_OK);
	assert_int_equal(rt.r[r].queued, 2);
	assert_int_equal(l->stanzas_out, 4);
	/* Flush with still no room: nothing moves. */
	xs2s_route_flush(&rt, r, l);
	assert_int_equal(rt.r[r].queued, 2);
	/* Room again: both, in order. */
	written(l);
	xs2s_route_flush(&rt, r, l);
	strcpy(want, buf);
	stanza(buf, sizeof buf, "s", &m);
	strcat(want, buf);
	assert_string_equal(written(l), want);
	assert_int_equal(rt.r[r].queued, 0);
	assert_int_equal(l->stanzas_out, 6);

	/* A link that stopped sending takes nothing: the stanza queues. */
	xs2s_link_abort(l, XS2S_WHY_SHUTDOWN, "test");
	assert_int_equal(send_body(r, l, "late"), XS2S_OK);
	assert_int_equal(rt.r[r].queued, 1);
	xs2s_route_flush(&rt, r, l);
	assert_int_equal(rt.r[r].queued, 1);
	/* The link is down (its event), the route fails, "late" is bounced. */
	{
		struct xs2s_ev e;

		assert_true(xs2s_evq_pop(&evq, &e));
		assert_int_equal(e.type, XS2S_EV_LINK_DOWN);
		assert_int_equal(e.id, 1);
		xs2s_route_link_down(&rt, (uint8_t)((e.id) % CONFIG_XS2S_MAX_LINKS), e.id, (enum xs2s_stanza_err)e.cond, false, 0);
	}
	engine_drain();
	assert_string_equal(bounced, "late|");
	all_links_gone(1);
}

static void test_queue_bounds(void **state)
{
	struct xs2s_link *l = open_link(0, 1);
	char body[16];
	struct xs2s_stanza_meta m = { 0 };
	size_t pool_used;
	unsigned i;
	int r, r2;
	(void)state;

	r = add(XS2S_DIR_OUT, "b.test", 1);
	/* CONFIG_XS2S_ROUTE_QUEUE per route, then ENOMEM, counted, nothing changed. */
	for (i = 0; i < CONFIG_XS2S_ROUTE_QUEUE; i++) {
		snprintf(body, sizeof body, "m%u", i);
		assert_int_equal(send_body(r, l, body), XS2S_OK);
	}
	pool_used = rt.pool.used;
	assert_int_equal(send_body(r, l, "over"), XS2S_ENOMEM);
	assert_int_equal(rt.queue_refused, 1);
	assert_int_equal(rt.r[r].queued, CONFIG_XS2S_ROUTE_QUEUE);
	assert_int_equal(rt.queued, CONFIG_XS2S_ROUTE_QUEUE);
	assert_int_equal(rt.pool.used, pool_used);
	/* Even when valid: the queue is not empty, so the stanza would have to wait. */
	xs2s_route_set(&rt, r, XS2S_RT_VALID, XS2S_AUTH_DIALBACK, XS2S_STE_NONE);
	expect_ev(XS2S_EV_ROUTE_READY, r, gen(r), 0, 0);
	assert_int_equal(send_body(r, l, "over"), XS2S_ENOMEM);
	assert_int_equal(rt.queue_refused, 2);
	assert_string_equal(written(l), "");

	/* The pool: a stanza larger than what is left is refused whole. */
	r2 = add(XS2S_DIR_OUT, "c.test", 1);
	memset(big, 'x', sizeof big);
	assert_int_equal(xs2s_route_send(&rt, r2, l, big, CONFIG_XS2S_QUEUE_POOL, &m), XS2S_ENOMEM);
	assert_int_equal(rt.queue_refused, 3);
	assert_int_equal(rt.r[r2].queued, 0);
	assert_int_equal(rt.pool.used, pool_used);
	/* Longer than a queue entry can say (uint16_t): refused too. */
	assert_int_equal(xs2s_route_send(&rt, r2, l, big, (size_t)UINT16_MAX + 1, &m), XS2S_ENOMEM);
	assert_int_equal(rt.queue_refused, 4);
	/* What fits still goes in, until the pool is exhausted. */
	size_t chunk = (CONFIG_XS2S_QUEUE_POOL - pool_used) / 2;
	assert_int_equal(xs2s_route_send(&rt, r2, l, big, chunk, &m), XS2S_OK);
	assert_int_equal(xs2s_route_send(&rt, r2, l, big, chunk, &m), XS2S_ENOMEM); /* block headers */
	assert_int_equal(rt.queue_refused, 5);
	assert_int_equal(rt.r[r2].queued, 1);
	assert_int_equal(rt.queued, CONFIG_XS2S_ROUTE_QUEUE + 1);
	assert_int_equal(rt.queued_high, CONFIG_XS2S_ROUTE_QUEUE + 1);
	assert_true(rt.pool.fails > 0);

	/* The link goes down: both routes fail, each queue bounced in order
	 * (the big one has no body span: an empty body). */
	xs2s_route_link_down(&rt, (uint8_t)((1) % CONFIG_XS2S_MAX_LINKS), 1, XS2S_STE_REMOTE_SERVER_TIMEOUT, false, 0);
	expect_ev(XS2S_EV_ROUTE_FAILED, r < r2 ? r : r2, gen(r < r2 ? r : r2), XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	expect_ev(XS2S_EV_ROUTE_FAILED, r < r2 ? r2 : r, gen(r < r2 ? r2 : r), XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	xs2s_route_link_down(&rt, (uint8_t)((1) % CONFIG_XS2S_MAX_LINKS), 1, XS2S_STE_REMOTE_SERVER_TIMEOUT, false, 0); /* again: unbound, nothing */
	expect_no_ev();
	{
		struct xs2s_ev e = { .type = XS2S_EV_ROUTE_FAILED, .idx = (uint16_t)r, .id = gen(r) };
		struct xs2s_ev e2 = { .type = XS2S_EV_ROUTE_FAILED, .idx = (uint16_t)r2, .id = gen(r2) };

		/* big's meta has bounce off: the engine would discard it, not bounce it. */
		assert_false(xs2s_route_head(&rt, r2)->meta.bounce);
		xs2s_route_drop_head(&rt, r2);
		engine_event(&e2);
		engine_event(&e);
	}
	{
		char want[256] = "";

		for (i = 0; i < CONFIG_XS2S_ROUTE_QUEUE; i++)
			snprintf(want + strlen(want), sizeof want - strlen(want), "m%u|", i);
		assert_string_equal(bounced, want);
	}
	assert_int_equal(rt.used, 0); /* released after the bounce */
	assert_int_equal(rt.pool.used, 0);
	all_links_gone(1);
}

/* Every queue entry of the table in use (CONFIG_XS2S_MAX_LINKS routes with
 * full queues): one more stanza, on any route, is refused. */
static void test_queue_entries_exhausted(void **state)
{
	struct xs2s_link *l = open_link(0, 1);
	char dom[32];
	unsigned i, k;
	int r[CONFIG_XS2S_MAX_LINKS], extra;
	(void)state;

	for (i = 0; i < CONFIG_XS2S_MAX_LINKS; i++) {
		snprintf(dom, sizeof dom, "q%u.test", i);
		r[i] = add(XS2S_DIR_OUT, dom, i + 1);
		for (k = 0; k < CONFIG_XS2S_ROUTE_QUEUE; k++)
			assert_int_equal(send_body(r[i], l, dom), XS2S_OK);
	}
	assert_int_equal(rt.queued, XS2S_QUEUE_ENTRIES);
	extra = xs2s_route_add(&rt, XS2S_DIR_OUT, A, "extra.test", 0, 1);
	if (extra >= 0) { /* CONFIG_XS2S_MAX_PAIRS > 1 */
		assert_int_equal(send_body(extra, l, "x"), XS2S_ENOMEM);
		assert_int_equal(rt.queue_refused, 1);
		assert_int_equal(rt.r[extra].queued, 0);
	}
	/* One bounced and dropped: room for one again. */
	xs2s_route_drop_head(&rt, r[0]);
	if (extra >= 0)
		assert_int_equal(send_body(extra, l, "x"), XS2S_OK);
	all_links_gone(CONFIG_XS2S_MAX_LINKS);
	/* Every stanza still queued was bounced: all entries less the dropped one, plus "x". */
	{
		unsigned bars = 0;

		for (const char *p = bounced; *p; p++)
			bars += *p == '|';
		assert_int_equal(bars, XS2S_QUEUE_ENTRIES - 1 + (extra >= 0));
	}
}

/* A link going down: its outbound routes fail (queues kept for the bounce),
 * its inbound routes stay until the link is freed, verifications that were
 * to go over it get an error verdict. */
static void test_link_down(void **state)
{
	struct xs2s_link *l = open_link(0, 1);
	int ob, oc, id, ie, ff, fg;
	uint16_t gff;
	(void)state;

	/* link 1: out (a,b) waiting with two stanzas, out (a,c) valid, in (a,d)
	 * valid, in (a,e) verifying over link 2. */
	ob = add(XS2S_DIR_OUT, "b.test", 1);
	assert_int_equal(send_body(ob, l, "b1"), XS2S_OK);
	assert_int_equal(send_body(ob, l, "b2"), XS2S_OK);
	oc = add(XS2S_DIR_OUT, "c.test", 1);
	xs2s_route_set(&rt, oc, XS2S_RT_VALID, XS2S_AUTH_DIALBACK, XS2S_STE_NONE);
	id = add(XS2S_DIR_IN, "d.test", 1);
	xs2s_route_set(&rt, id, XS2S_RT_VALID, XS2S_AUTH_SASL_EXTERNAL, XS2S_STE_NONE);
	ie = add(XS2S_DIR_IN, "e.test", 1);
	xs2s_route_verify_begin(&rt, ie, "kE", "sE", 2);
	/* link 3: in (a,f) whose db:verify went out over link 1; in (a,g) whose
	 * db:verify waits to go out over link 1. */
	ff = add(XS2S_DIR_IN, "f.test", 3);
	xs2s_route_verify_begin(&rt, ff, "kF", "sF", 1);
	xs2s_route_verify_sent(&rt, ff);
	fg = add(XS2S_DIR_IN, "g.test", 3);
	xs2s_route_verify_begin(&rt, fg, "kG", "sG", 1);
	engine_drain();
	gff = gen(ff);

	xs2s_route_link_down(&rt, (uint8_t)((1) % CONFIG_XS2S_MAX_LINKS), 1, XS2S_STE_REMOTE_SERVER_TIMEOUT, false, 0);
	/* In table order: ob, oc fail; ff and fg get error verdicts (timeout
	 * kept) and fail. */
	expect_ev(XS2S_EV_ROUTE_FAILED, ob, gen(ob), XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	expect_ev(XS2S_EV_ROUTE_FAILED, oc, gen(oc), XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	expect_ev(XS2S_EV_DB_VERDICT, ff, gff, XS2S_STE_REMOTE_SERVER_TIMEOUT, XS2S_DB_ERROR);
	expect_ev(XS2S_EV_ROUTE_FAILED, ff, gff, XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	expect_ev(XS2S_EV_DB_VERDICT, fg, gen(fg), XS2S_STE_REMOTE_SERVER_TIMEOUT, XS2S_DB_ERROR);
	expect_ev(XS2S_EV_ROUTE_FAILED, fg, gen(fg), XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	expect_no_ev();
	assert_int_equal(rt.r[ob].state, XS2S_RT_FAILED);
	assert_int_equal(rt.r[ob].link, 0);
	assert_int_equal(rt.r[ob].queued, 2);
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_OUT, A, "b.test", 0), XS2S_ROUTE_NONE);
	assert_int_equal(rt.r[id].state, XS2S_RT_VALID);
	assert_int_equal(rt.r[id].link, 1);
	assert_int_equal(rt.r[ie].state, XS2S_RT_ASKED); /* its verification runs over link 2 */
	assert_int_equal(rt.r[ff].state, XS2S_RT_FAILED);
	assert_int_equal(rt.r[ff].link, 3);  /* its own link is alive: kept, may ask again */
	assert_int_equal(rt.r[ff].vstate, XS2S_VF_NONE);
	assert_string_equal(rt.r[ff].key, "");
	assert_int_equal(xs2s_route_on_link(&rt, XS2S_DIR_IN, A, "f.test", 3), ff);

	/* Another condition: the verdict says remote-server-not-found. */
	xs2s_route_verify_begin(&rt, ff, "kF2", "sF2", 4);
	xs2s_route_link_down(&rt, (uint8_t)((4) % CONFIG_XS2S_MAX_LINKS), 4, XS2S_STE_RESOURCE_CONSTRAINT, false, 0);
	expect_ev(XS2S_EV_DB_VERDICT, ff, gff, XS2S_STE_REMOTE_SERVER_NOT_FOUND, XS2S_DB_ERROR);
	expect_ev(XS2S_EV_ROUTE_FAILED, ff, gff, XS2S_STE_REMOTE_SERVER_NOT_FOUND, 0);
	expect_no_ev();

	/* The engine bounces ob's queue in order and releases the failed
	 * outbound routes; a release with stanzas left does nothing. */
	xs2s_route_release(&rt, ob);
	assert_int_equal(rt.r[ob].state, XS2S_RT_FAILED);
	engine_event(&(struct xs2s_ev){ .type = XS2S_EV_ROUTE_FAILED, .idx = (uint16_t)ob, .id = gen(ob) });
	engine_event(&(struct xs2s_ev){ .type = XS2S_EV_ROUTE_FAILED, .idx = (uint16_t)oc, .id = gen(oc) });
	assert_string_equal(bounced, "b1|b2|");
	assert_int_equal(rt.r[ob].state, XS2S_RT_FREE);
	assert_int_equal(rt.r[oc].state, XS2S_RT_FREE);
	/* Inbound routes whose link is alive are never released that way. */
	xs2s_route_release(&rt, ff);
	assert_int_equal(rt.r[ff].state, XS2S_RT_FAILED);
	assert_int_equal(rt.used, 4);

	/* Link 1 freed: its inbound routes go (ie's verification was not sent). */
	xs2s_route_link_freed(&rt, 1);
	assert_int_equal(rt.r[id].state, XS2S_RT_FREE);
	assert_int_equal(rt.r[ie].state, XS2S_RT_FREE);
	assert_int_equal(rt.used, 2);
	expect_no_ev();
	all_links_gone(4);
}

static void test_verify(void **state)
{
	int v, w, x;
	unsigned i;
	(void)state;

	v = add(XS2S_DIR_IN, "b.test", 1);
	/* Begin: ASKED, waiting to be sent over outbound link 2; no event. */
	xs2s_route_verify_begin(&rt, v, "k1", "s1", 2);
	assert_int_equal(rt.r[v].state, XS2S_RT_ASKED);
	assert_int_equal(rt.r[v].vstate, XS2S_VF_WAIT);
	assert_int_equal(rt.r[v].vlink, 2);
	assert_string_equal(rt.r[v].key, "k1");
	assert_string_equal(rt.r[v].sid, "s1");
	expect_no_ev();
	i = 0;
	assert_true(xs2s_route_next_verify(&rt, 2, &i));
	assert_int_equal(i, (unsigned)v);
	i++;
	assert_false(xs2s_route_next_verify(&rt, 2, &i));
	i = 0;
	assert_false(xs2s_route_next_verify(&rt, 3, &i));
	/* An answer before the db:verify went out is not for us. */
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "b.test", "s1", "valid"), XS2S_ENOTFOUND);
	assert_int_equal(rt.r[v].state, XS2S_RT_ASKED);
	/* Sent: the key is no longer kept, nothing more to send. */
	xs2s_route_verify_sent(&rt, v);
	assert_int_equal(rt.r[v].vstate, XS2S_VF_SENT);
	assert_string_equal(rt.r[v].key, "");
	assert_memory_equal(rt.r[v].key, (char[XS2S_DB_KEY_MAX + 1]){ 0 }, sizeof rt.r[v].key);
	i = 0;
	assert_false(xs2s_route_next_verify(&rt, 2, &i));

	/* Unsolicited: wrong link, stream id, domains, or direction. */
	assert_int_equal(xs2s_route_verify_answer(&rt, 3, A, "b.test", "s1", "valid"), XS2S_ENOTFOUND);
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "b.test", "s2", "valid"), XS2S_ENOTFOUND);
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "b.test", NULL, "valid"), XS2S_ENOTFOUND);
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "c.test", "s1", "valid"), XS2S_ENOTFOUND);
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, "b.test", A, "s1", "valid"), XS2S_ENOTFOUND);
	expect_no_ev();
	assert_int_equal(rt.r[v].state, XS2S_RT_ASKED);

	/* valid: the verdict for the inbound link, then READY; method dialback. */
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "b.test", "s1", "valid"), XS2S_OK);
	expect_ev(XS2S_EV_DB_VERDICT, v, gen(v), XS2S_STE_NONE, XS2S_DB_VALID);
	expect_ev(XS2S_EV_ROUTE_READY, v, gen(v), 0, 0);
	expect_no_ev();
	assert_int_equal(rt.r[v].state, XS2S_RT_VALID);
	assert_int_equal(rt.r[v].method, XS2S_AUTH_DIALBACK);
	/* The same answer again is unsolicited now. */
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "b.test", "s1", "valid"), XS2S_ENOTFOUND);

	/* invalid: verdict invalid, the route fails (no bounce condition). */
	w = add(XS2S_DIR_IN, "c.test", 1);
	xs2s_route_verify_begin(&rt, w, "k2", "s2", 2);
	xs2s_route_verify_sent(&rt, w);
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "c.test", "s2", "invalid"), XS2S_OK);
	expect_ev(XS2S_EV_DB_VERDICT, w, gen(w), XS2S_STE_NONE, XS2S_DB_INVALID);
	expect_ev(XS2S_EV_ROUTE_FAILED, w, gen(w), XS2S_STE_NONE, 0);
	assert_int_equal(rt.r[w].state, XS2S_RT_FAILED);
	/* The peer may ask again on the same stream: the failed route verifies anew. */
	assert_int_equal(xs2s_route_on_link(&rt, XS2S_DIR_IN, A, "c.test", 1), w);
	xs2s_route_verify_begin(&rt, w, "k3", "s3", 2);
	assert_int_equal(rt.r[w].state, XS2S_RT_ASKED);
	xs2s_route_verify_sent(&rt, w);
	/* error: verdict error with remote-server-not-found. */
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "c.test", "s3", "error"), XS2S_OK);
	expect_ev(XS2S_EV_DB_VERDICT, w, gen(w), XS2S_STE_REMOTE_SERVER_NOT_FOUND, XS2S_DB_ERROR);
	expect_ev(XS2S_EV_ROUTE_FAILED, w, gen(w), XS2S_STE_NONE, 0);
	expect_no_ev();

	/* An empty stream id matches a missing id attribute. */
	x = add(XS2S_DIR_IN, "d.test", 1);
	xs2s_route_verify_begin(&rt, x, "k4", "", 2);
	xs2s_route_verify_sent(&rt, x);
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "d.test", NULL, "valid"), XS2S_OK);
	expect_ev(XS2S_EV_DB_VERDICT, x, gen(x), XS2S_STE_NONE, XS2S_DB_VALID);
	expect_ev(XS2S_EV_ROUTE_READY, x, gen(x), 0, 0);

	/* verify_fail: the outbound side cannot carry it. */
	x = add(XS2S_DIR_IN, "e.test", 1);
	xs2s_route_verify_begin(&rt, x, "k5", "s5", 2);
	xs2s_route_verify_fail(&rt, x, XS2S_STE_REMOTE_SERVER_NOT_FOUND);
	expect_ev(XS2S_EV_DB_VERDICT, x, gen(x), XS2S_STE_REMOTE_SERVER_NOT_FOUND, XS2S_DB_ERROR);
	expect_ev(XS2S_EV_ROUTE_FAILED, x, gen(x), XS2S_STE_REMOTE_SERVER_NOT_FOUND, 0);
	assert_int_equal(rt.r[x].vstate, XS2S_VF_NONE);
	assert_string_equal(rt.r[x].key, "");
	i = 0;
	assert_false(xs2s_route_next_verify(&rt, 2, &i));
	expect_no_ev();
	all_links_gone(2);
}

/* The inbound link goes away while its db:verify is out: the route is kept
 * (unbound) so that the answer is recognised, then freed by it. */
static void test_abandoned_verification(void **state)
{
	int v, u;
	uint16_t gv, gu;
	(void)state;

	v = add(XS2S_DIR_IN, "b.test", 1);
	xs2s_route_verify_begin(&rt, v, "k1", "s1", 2);
	xs2s_route_verify_sent(&rt, v);
	u = add(XS2S_DIR_IN, "c.test", 1); /* not sent yet: nothing can answer it */
	xs2s_route_verify_begin(&rt, u, "k2", "s2", 2);
	gv = gen(v);
	gu = gen(u);
	xs2s_route_link_down(&rt, (uint8_t)((1) % CONFIG_XS2S_MAX_LINKS), 1, XS2S_STE_REMOTE_SERVER_NOT_FOUND, false, 0); /* inbound routes stay */
	expect_no_ev();
	xs2s_route_link_freed(&rt, 1);
	assert_int_equal(rt.r[v].state, XS2S_RT_ASKED);
	assert_int_equal(rt.r[v].link, 0);
	assert_int_equal(rt.r[u].state, XS2S_RT_FREE);
	assert_int_equal(gen(u), (uint16_t)(gu + 1));
	assert_int_equal(rt.used, 1);
	/* Not findable as a route any more. */
	assert_int_equal(xs2s_route_find(&rt, XS2S_DIR_IN, A, "b.test", 0), XS2S_ROUTE_NONE);
	assert_false(xs2s_route_any_valid(&rt, 1));
	/* Its answer is recognised (not unsolicited), frees it, tells nobody. */
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "b.test", "s1", "valid"), XS2S_OK);
	expect_no_ev();
	assert_int_equal(rt.r[v].state, XS2S_RT_FREE);
	assert_int_equal(gen(v), (uint16_t)(gv + 1));
	assert_int_equal(rt.used, 0);
	assert_int_equal(xs2s_route_verify_answer(&rt, 2, A, "b.test", "s1", "valid"), XS2S_ENOTFOUND);

	/* Abandoned, then the outbound link goes down before the answer: freed;
	 * the events it posts on the way carry the old generation. */
	v = add(XS2S_DIR_IN, "b.test", 3);
	xs2s_route_verify_begin(&rt, v, "k3", "s3", 4);
	xs2s_route_verify_sent(&rt, v);
	gv = gen(v);
	xs2s_route_link_freed(&rt, 3);
	assert_int_equal(rt.r[v].state, XS2S_RT_ASKED);
	xs2s_route_link_down(&rt, (uint8_t)((4) % CONFIG_XS2S_MAX_LINKS), 4, XS2S_STE_REMOTE_SERVER_TIMEOUT, false, 0);
	assert_int_equal(rt.r[v].state, XS2S_RT_FREE);
	assert_int_equal(rt.used, 0);
	expect_ev(XS2S_EV_DB_VERDICT, v, gv, XS2S_STE_REMOTE_SERVER_TIMEOUT, XS2S_DB_ERROR);
	expect_ev(XS2S_EV_ROUTE_FAILED, v, gv, XS2S_STE_REMOTE_SERVER_TIMEOUT, 0);
	expect_no_ev();
	assert_true(gen(v) != gv); /* stale: the engine ignores both */
}

/* Events name (index, generation): once a route is freed and its entry
 * reused, events about the old route are recognisably stale. */
static void test_generations(void **state)
{
	struct xs2s_ev e;
	int r, again;
	uint16_t g;
	(void)state;

	r = add(XS2S_DIR_OUT, "b.test", 1);
	g = gen(r);
	xs2s_route_set(&rt, r, XS2S_RT_VALID, XS2S_AUTH_DIALBACK, XS2S_STE_NONE);
	/* Before the engine drains, the link goes and its slot is freed. */
	xs2s_route_link_down(&rt, (uint8_t)((1) % CONFIG_XS2S_MAX_LINKS), 1, XS2S_STE_REMOTE_SERVER_NOT_FOUND, false, 0);
	engine_event(&(struct xs2s_ev){ .type = XS2S_EV_ROUTE_FAILED, .idx = (uint16_t)r, .id = g });
	assert_int_equal(rt.r[r].state, XS2S_RT_FREE);
	assert_int_equal(gen(r), (uint16_t)(g + 1));
	/* The entry is reused for another pair. */
	again = add(XS2S_DIR_OUT, "c.test", 2);
	assert_int_equal(again, r);
	/* The queued READY and FAILED still name the old generation. */
	assert_true(xs2s_evq_pop(&evq, &e));
	assert_int_equal(e.type, XS2S_EV_ROUTE_READY);
	assert_int_equal(e.idx, r);
	assert_int_equal((uint16_t)e.id, g);
	assert_true((uint16_t)e.id != gen(again));
	assert_true(xs2s_evq_pop(&evq, &e));
	assert_int_equal(e.type, XS2S_EV_ROUTE_FAILED);
	assert_true((uint16_t)e.id != gen(again));
	engine_event(&e); /* stale: the new route is untouched */
	assert_int_equal(rt.r[again].state, XS2S_RT_WAIT);
	expect_no_ev();
	/* Generations keep counting (and wrap) across many reuses. */
	for (unsigned i = 0; i < 70000; i++) {
		g = gen(again);
		xs2s_route_link_freed(&rt, 2);
		assert_int_equal(gen(again), (uint16_t)(g + 1));
		assert_int_equal(add(XS2S_DIR_OUT, "c.test", 2), again);
	}
	all_links_gone(2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_add_find_on_link, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_state_names, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_transitions_and_events, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_pairs_per_link_and_table_full, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_queue_fifo_and_flush, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_queue_bounds, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_queue_entries_exhausted, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_link_down, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_verify, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_abandoned_verification, setup, leak_gate),
		cmocka_unit_test_setup_teardown(test_generations, setup, leak_gate),
	};

	xs2s_log_level = XS2S_LOG_WARN;
	return cmocka_run_group_tests_name("route", tests, NULL, NULL);
}
