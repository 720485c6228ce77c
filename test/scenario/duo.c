/* Two real engines in one process over the fake port: see duo.h. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <cmocka.h>
#include "fake_port.h"
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
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n > 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = 0;
	fclose(f);
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

void sc_duo_settle(struct xs2s_engine *a, struct xs2s_engine *b)
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
			return;
		}
	}
	fail_msg("the engines never went quiet");
}

void sc_duo_run_timers(struct xs2s_engine *a, struct xs2s_engine *b)
{
	unsigned i;

	for (i = 0; i < SC_DUO_TIMER_JUMPS && !(xs2s_engine_idle(a) && xs2s_engine_idle(b)); i++) {
		uint32_t ta, tb;

		duo_poll(a, b, 1000000, &ta, &tb);
		fake_advance((ta < tb ? ta : tb) + 1);
		sc_duo_settle(a, b);
	}
}
