/* Two real engines in one process over the fake port: see duo.h. */
#include <stdio.h>
#include <stdlib.h>
#include "fake_port.h"
#include "engine/engine.h"
#include "duo.h"

#ifndef XS2S_SC_PKI
#error "XS2S_SC_PKI: the directory of the test certificates (test/scenario/scenario.mk)"
#endif

uint8_t *sc_pki_read(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	long n;
	uint8_t *buf;

	snprintf(path, sizeof path, "%s/%s", XS2S_SC_PKI, name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "duo: cannot open %s\n", path);
		return NULL;
	}
	buf = fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) > 0 ? malloc((size_t)n + 1) : NULL;
	if (buf) {
		rewind(f);
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		}
	}
	fclose(f);
	if (!buf) {
		fprintf(stderr, "duo: cannot read %s\n", path);
		return NULL;
	}
	buf[n] = 0;
	*len = (size_t)n;
	return buf;
}

/* One round: each engine polled once; their wishes for the next wait. */
static void duo_poll(struct xs2s_engine *a, struct xs2s_engine *b, uint32_t wait_ms, uint32_t *ta, uint32_t *tb)
{
	xs2s_engine_poll(a, wait_ms);
	*ta = fake_poll_timeout();
	xs2s_engine_poll(b, wait_ms);
	*tb = fake_poll_timeout();
}

bool sc_duo_settle(struct xs2s_engine *a, struct xs2s_engine *b)
{
	unsigned long last = fake_activity();
	unsigned quiet = 0, rounds;

	for (rounds = 0; rounds < SC_DUO_ROUNDS_MAX; rounds++) {
		uint32_t ta, tb;

		duo_poll(a, b, 1000, &ta, &tb);
		if (fake_activity() != last || !ta || !tb) {
			last = fake_activity();
			quiet = 0;
		} else if (++quiet >= SC_DUO_QUIET_ROUNDS) {
			return true;
		}
	}
	fprintf(stderr, "duo: the engines never went quiet\n");
	return false;
}

bool sc_duo_run_timers(struct xs2s_engine *a, struct xs2s_engine *b)
{
	unsigned i;

	for (i = 0; i < SC_DUO_TIMER_JUMPS && !(xs2s_engine_idle(a) && xs2s_engine_idle(b)); i++) {
		uint32_t ta, tb;

		duo_poll(a, b, 1000000, &ta, &tb);
		fake_advance((ta < tb ? ta : tb) + 1);
		if (!sc_duo_settle(a, b))
			return false;
	}
	return true;
}

bool sc_duo_take(struct xs2s_engine *e, char *line, size_t cap)
{
	struct xs2s_inbox_msg m;

	if (xs2s_inbox_peek(e, &m) != XS2S_OK)
		return false;
	snprintf(line, cap, "%s>%s|%s|%s|%s", m.from, m.to, m.type, m.error, m.body);
	xs2s_inbox_pop(e);
	return true;
}

const char *sc_duo_leftover(struct xs2s_engine *e)
{
	const struct xs2s_core *c = xs2s_core_of(e);

	if (c->links_used)
		return "links";
	if (c->routes.used || c->routes.queued || c->routes.pool.used)
		return "routes or their queue";
	if (c->evq.n || c->evq.lost)
		return "events";
	if (c->app.inbox_count)
		return "inbox";
	if (c->xml.arena.used)
		return "xml arena";
	if (c->tls.arena.used)
		return "tls arena";
	if (xs2s_resolve_busy(&c->res))
		return "resolver";
	return NULL;
}
