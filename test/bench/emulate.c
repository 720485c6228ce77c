/* The emulated lower bound of link setup (make bench): two engines of this
 * build in one process, over the fake port's memory pipes (no sockets, no
 * kernel), a.test sending its first message to b.test: STARTTLS, TLS 1.3,
 * SASL EXTERNAL with the P-256 certificates of test/tools/mkcerts.sh, the
 * message. Timed from xs2s_send_message until the message is in b.test's
 * inbox, wall clock of this one process; the engines are started before and
 * stopped after each run (outside the timing). Then, on the last run's
 * link, a 10000-byte message (one TLS record): the most TLS arena bytes
 * b.test's link held above its idle figure while reading it. Prints:
 *   emulated_setup_ms runs=N median=M min=A max=B
 *   record_peak tls_extra=BYTES tls_idle=BYTES
 * Usage: emulate PKI_DIR [RUNS] */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "fake_port.h"
#include "xs2s.h"
#include "xs2s_log.h"
#include "engine/engine.h"

#define ADDR_A "192.0.2.1"
#define ADDR_B "192.0.2.2"
#define PORT 5269
#define ROUNDS_MAX 100000
#define RUNS_MAX 1000

static struct xs2s_engine ea, eb;
static const char *pki;

static uint8_t *pki_read(const char *name, size_t *len)
{
	char path[512];
	FILE *f;
	long n;
	uint8_t *buf;

	snprintf(path, sizeof path, "%s/%s", pki, name);
	f = fopen(path, "rb");
	if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) <= 0) {
		fprintf(stderr, "emulate: cannot read %s\n", path);
		exit(2);
	}
	rewind(f);
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void start(struct xs2s_engine *e, const char *domain, const char *addr, const char *map)
{
	struct xs2s_config cfg;
	uint8_t *cert, *key, *ca;
	char name[64];

	xs2s_config_defaults(&cfg);
	cfg.domains[0] = domain;
	cfg.listen_addr = addr;
	cfg.listen_port = PORT;
	cfg.tls_policy = XS2S_TLS_POLICY_REQUIRED;
	cfg.auth_sasl_external = true;
	cfg.auth_dialback = false;
	cfg.host_map = map;
	cfg.dns_server = NULL;
	snprintf(name, sizeof name, "%s.chain.pem", domain);
	cert = pki_read(name, &cfg.cert_len);
	snprintf(name, sizeof name, "%s.key", domain);
	key = pki_read(name, &cfg.key_len);
	ca = pki_read("ca.pem", &cfg.ca_len);
	cfg.cert_pem = cert;
	cfg.key_pem = key;
	cfg.ca_pem = ca;
	if (xs2s_engine_start(e, &cfg) != XS2S_OK) {
		fprintf(stderr, "emulate: %s does not start\n", domain);
		exit(2);
	}
	free(cert);
	free(key);
	free(ca);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Poll both engines until b.test's inbox holds a message. */
static void until_delivered(void)
{
	struct xs2s_inbox_msg m;
	unsigned rounds;

	for (rounds = 0; rounds < ROUNDS_MAX; rounds++) {
		xs2s_engine_poll(&ea, 0);
		xs2s_engine_poll(&eb, 0);
		if (xs2s_inbox_peek(&eb, &m) == XS2S_OK) {
			xs2s_inbox_pop(&eb);
			return;
		}
	}
	fprintf(stderr, "emulate: the message never arrived\n");
	exit(1);
}

static void stop_both(void)
{
	unsigned i;

	xs2s_engine_stop(&ea);
	xs2s_engine_stop(&eb);
	for (i = 0; i < 10000 && !(xs2s_engine_idle(&ea) && xs2s_engine_idle(&eb)); i++) {
		xs2s_engine_poll(&ea, 0);
		xs2s_engine_poll(&eb, 0);
		fake_advance(100);
	}
	xs2s_engine_fini(&ea);
	xs2s_engine_fini(&eb);
}

/* The most TLS arena bytes above idle that b.test's links hold while a
 * 10000-byte message from a.test is read. */
static void record_peak(void)
{
	static char body[10001];
	struct xs2s_core *c = xs2s_core_of(&eb);
	size_t idle = 0, extra = 0;
	unsigned i;

	memset(body, 'x', sizeof body - 1);
	for (i = 1; i < XS2S_ARENA_OWNERS; i++) {
		idle += c->tls.arena.owner_used[i];
		xs2s_arena_reset_owner_high(&c->tls.arena, (uint8_t)i);
	}
	if (xs2s_send_message(&ea, "alice@a.test", "bob@b.test", body) != XS2S_OK)
		exit(1);
	until_delivered();
	for (i = 1; i < XS2S_ARENA_OWNERS; i++)
		if (c->tls.arena.owner_high[i] > c->tls.arena.owner_used[i] &&
		    c->tls.arena.owner_high[i] - c->tls.arena.owner_used[i] > extra)
			extra = c->tls.arena.owner_high[i] - c->tls.arena.owner_used[i];
	printf("record_peak tls_extra=%zu tls_idle=%zu\n", extra, idle);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	static double t[RUNS_MAX];
	int runs = argc > 2 ? atoi(argv[2]) : 30, i;

	if (argc < 2 || runs < 1 || runs > RUNS_MAX) {
		fprintf(stderr, "usage: emulate PKI_DIR [RUNS]\n");
		return 2;
	}
	pki = argv[1];
	xs2s_log_level = 1; /* errors only: logging is not part of the bound */
	for (i = -3; i < runs; i++) { /* three warm-up runs, not counted */
		double t0;

		fake_reset((uint64_t)(i + 10), FAKE_WHOLE, 1);
		start(&ea, "a.test", ADDR_A, "b.test=" ADDR_B ":5269");
		start(&eb, "b.test", ADDR_B, "a.test=" ADDR_A ":5269");
		t0 = now_ms();
		if (xs2s_send_message(&ea, "alice@a.test", "bob@b.test", "hello") != XS2S_OK)
			return 1;
		until_delivered();
		if (i >= 0)
			t[i] = now_ms() - t0;
		if (i == runs - 1)
			record_peak();
		stop_both();
	}
	qsort(t, (size_t)runs, sizeof t[0], cmp);
	fflush(stdout);
	printf("emulated_setup_ms runs=%d median=%.3f min=%.3f max=%.3f\n", runs, t[runs / 2], t[0], t[runs - 1]);
	return 0;
}
