/* Engine scenarios over real loopback sockets, with the test as the peer:
 * TLS policy (required / optional) and route queue, bounds and bounces.
 * Every assertion checks what reaches the inbox or the wire. The engine is
 * a caller-owned struct xs2s_engine, started and finished by each test;
 * the leak gate looks inside it through the engine's core (engine.h).
 * (Fake-port scenario tests with a manual clock are to replace these.) */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>
#include "xs2s.h"
#include "xs2s_log.h"
#include "engine/engine.h"

#define PEER_PORT 25269
#define WAIT_MS 3000u

static struct xs2s_engine eng;

static struct xs2s_core *core(void)
{
	return xs2s_core_of(&eng);
}

static int peer_listener(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(PEER_PORT) };
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
	assert_int_equal(listen(fd, 4), 0);
	return fd;
}

/* Run the engine until fd has delivered text containing want (or time out). */
static int peer_expect(int fd, char *buf, size_t cap, const char *want)
{
	size_t len = 0;
	uint32_t end = xs2s_port_now_ms() + WAIT_MS;

	buf[0] = '\0';
	while (!XS2S_TIME_REACHED(xs2s_port_now_ms(), end)) {
		ssize_t n;
		xs2s_engine_poll(&eng, 10);
		n = recv(fd, buf + len, cap - 1 - len, MSG_DONTWAIT);
		if (n > 0) {
			len += (size_t)n;
			buf[len] = '\0';
		}
		if (strstr(buf, want))
			return 1;
		if (n == 0)
			return 0;
	}
	return 0;
}

static int peer_accept(int l)
{
	uint32_t end = xs2s_port_now_ms() + WAIT_MS;

	while (!XS2S_TIME_REACHED(xs2s_port_now_ms(), end)) {
		int fd = accept4(l, NULL, NULL, SOCK_NONBLOCK);
		if (fd >= 0)
			return fd;
		xs2s_engine_poll(&eng, 10);
	}
	return -1;
}

static void peer_send(int fd, const char *s)
{
	assert_int_equal(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

/* The same bytes, one TCP segment per byte, the engine running in between. */
static void peer_send_bytewise(int fd, const char *s)
{
	for (; *s; s++) {
		assert_int_equal(send(fd, s, 1, 0), 1);
		xs2s_engine_poll(&eng, 0);
	}
}

static void start_engine(enum xs2s_tls_policy pol)
{
	struct xs2s_config cfg;

	xs2s_config_defaults(&cfg);
	cfg.domains[0] = "a.test";
	cfg.listen_addr = NULL;
	cfg.dialback_secret = "test secret";
	cfg.tls_policy = pol;
	cfg.host_map = "peer.test=127.0.0.1:25269 closed.test=127.0.0.1:1";
	/* No DNS leaves the machine: nothing serves UDP 9 here. */
	cfg.dns_server = "127.0.0.1:9";
	assert_int_equal(xs2s_engine_start(&eng, &cfg), XS2S_OK);
}

/* Leak gate: every pool of the engine back to empty. */
static void assert_pools_empty(void)
{
	struct xs2s_core *c = core();

	assert_int_equal(c->routes.queued, 0);       /* stanzas waiting in route queues */
	assert_int_equal(c->routes.pool.used, 0);    /* the queue pool's bytes */
	assert_int_equal(c->routes.used, 0);         /* routes */
	assert_int_equal(c->links_used, 0);
	assert_int_equal(c->evq.n, 0);
	assert_int_equal(c->evq.lost, 0);
	assert_int_equal(c->xml.arena.used, 0);
	assert_int_equal(xs2s_resolve_busy(&c->res), 0);
}

static void drain_engine(void)
{
	uint32_t end = xs2s_port_now_ms() + WAIT_MS;

	xs2s_engine_stop(&eng);
	while (!xs2s_engine_idle(&eng) && !XS2S_TIME_REACHED(xs2s_port_now_ms(), end))
		xs2s_engine_poll(&eng, 10);
	assert_true(xs2s_engine_idle(&eng));
	assert_pools_empty();
	xs2s_engine_fini(&eng);
	assert_pools_empty();
	/* Finished: the engine refuses work until started again. */
	assert_int_equal(xs2s_engine_poll(&eng, 0), XS2S_EINVAL);
	assert_int_equal(xs2s_send_message(&eng, "u@a.test", "x@peer.test", "late"), XS2S_EINVAL);
}

static const char peer_header[] =
	"<?xml version='1.0'?><stream:stream xmlns='jabber:server' xmlns:stream='http://etherx.jabber.org/streams' "
	"xmlns:db='jabber:server:dialback' from='peer.test' to='a.test' id='peerid1' version='1.0'>";

static void expect_bounce(const char *cond, const char *body)
{
	struct xs2s_inbox_msg m;

	assert_int_equal(xs2s_inbox_peek(&eng, &m), XS2S_OK);
	assert_string_equal(m.type, "error");
	assert_string_equal(m.error, cond);
	assert_string_equal(m.from, "x@peer.test");
	assert_string_equal(m.to, "u@a.test");
	assert_string_equal(m.body, body);
	xs2s_inbox_pop(&eng);
}

static void test_tls_required_refuses_plain_peer(void **state)
{
	int l = peer_listener(), fd;
	char buf[4096];
	struct xs2s_inbox_msg m;

	(void)state;
	start_engine(XS2S_TLS_POLICY_REQUIRED);
	assert_int_equal(xs2s_send_message(&eng, "u@a.test", "x@peer.test", "hello"), XS2S_OK);
	fd = peer_accept(l);
	assert_true(fd >= 0);
	assert_true(peer_expect(fd, buf, sizeof buf, "version='1.0'>"));
	peer_send(fd, peer_header);
	peer_send(fd, "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>");
	assert_true(peer_expect(fd, buf, sizeof buf, "policy-violation"));
	assert_null(strstr(buf, "db:result"));
	expect_bounce("remote-server-not-found", "hello");
	assert_int_equal(xs2s_inbox_peek(&eng, &m), XS2S_ENOTFOUND);
	close(fd);
	close(l);
	drain_engine();
}

static void optional_policy_session(void (*send_fn)(int, const char *))
{
	int l = peer_listener(), fd;
	char buf[4096];

	start_engine(XS2S_TLS_POLICY_OPTIONAL_INSECURE);
	assert_int_equal(xs2s_send_message(&eng, "u@a.test", "x@peer.test", "hello"), XS2S_OK);
	fd = peer_accept(l);
	assert_true(fd >= 0);
	assert_true(peer_expect(fd, buf, sizeof buf, "version='1.0'>"));
	send_fn(fd, peer_header);
	send_fn(fd, "<stream:features><dialback xmlns='urn:xmpp:features:dialback'/></stream:features>");
	/* Dialback goes ahead in plaintext, with the key for (peer.test, a.test, peerid1). */
	assert_true(peer_expect(fd, buf, sizeof buf, "</db:result>"));
	{
		char key[65];
		xs2s_db_key(&core()->env, "peer.test", "a.test", "peerid1", key);
		assert_non_null(strstr(buf, key));
	}
	send_fn(fd, "<db:result from='peer.test' to='a.test' type='valid'/>");
	assert_true(peer_expect(fd, buf, sizeof buf, "hello</body></message>"));
	close(fd);
	close(l);
	drain_engine();
}

static void test_tls_optional_falls_back_loudly(void **state)
{
	(void)state;
	optional_policy_session(peer_send);
}

/* The whole session again with the peer's bytes arriving one at a time. */
static void test_session_one_byte_at_a_time(void **state)
{
	(void)state;
	optional_policy_session(peer_send_bytewise);
}

static void test_queue_bounded_and_bounced(void **state)
{
	int l = peer_listener(), fd, i, accepted = 0;
	char body[16], buf[4096];
	struct xs2s_inbox_msg m;

	(void)state;
	start_engine(XS2S_TLS_POLICY_REQUIRED);
	for (i = 0; i < CONFIG_XS2S_ROUTE_QUEUE + 2; i++) {
		snprintf(body, sizeof body, "m%d", i);
		if (xs2s_send_message(&eng, "u@a.test", "x@peer.test", body) == XS2S_OK)
			accepted++;
	}
	/* The route holds CONFIG_XS2S_ROUTE_QUEUE; the rest is refused, not lost. */
	assert_int_equal(accepted, CONFIG_XS2S_ROUTE_QUEUE);
	assert_int_equal(core()->routes.queued, CONFIG_XS2S_ROUTE_QUEUE);
	assert_int_equal(core()->routes.queue_refused, 2);
	fd = peer_accept(l);
	assert_true(fd >= 0);
	assert_true(peer_expect(fd, buf, sizeof buf, "version='1.0'>"));
	close(fd); /* the peer goes away during setup */
	for (i = 0; i < 100 && core()->routes.queued; i++)
		xs2s_engine_poll(&eng, 10);
	for (i = 0; i < CONFIG_XS2S_ROUTE_QUEUE; i++) {
		snprintf(body, sizeof body, "m%d", i);
		expect_bounce("remote-server-not-found", body); /* in order */
	}
	assert_int_equal(xs2s_inbox_peek(&eng, &m), XS2S_ENOTFOUND);
	close(l);
	drain_engine();
}

static void test_unreachable_peer_bounces(void **state)
{
	struct xs2s_inbox_msg m;
	int i, seen_nowhere = 0, seen_closed = 0;

	(void)state;
	start_engine(XS2S_TLS_POLICY_REQUIRED);
	/* No DNS leaves the machine: nothing serves UDP 9 here (cfg.dns_server),
	 * so the lookup of nowhere.test fails within a few rounds (ICMP port
	 * unreachable). */
	assert_int_equal(xs2s_send_message(&eng, "u@a.test", "x@closed.test", "ping"), XS2S_OK);
	assert_int_equal(xs2s_send_message(&eng, "u@a.test", "x@nowhere.test", "lost?"), XS2S_OK);
	for (i = 0; i < 100 && core()->routes.queued; i++)
		xs2s_engine_poll(&eng, 10);
	for (i = 0; i < 2; i++) {       /* both bounced, in either order */
		assert_int_equal(xs2s_inbox_peek(&eng, &m), XS2S_OK);
		assert_string_equal(m.error, "remote-server-not-found");
		if (!strcmp(m.from, "x@nowhere.test")) {
			assert_string_equal(m.body, "lost?");  /* no address */
			seen_nowhere++;
		} else {
			assert_string_equal(m.from, "x@closed.test"); /* connection refused */
			assert_string_equal(m.body, "ping");
			seen_closed++;
		}
		xs2s_inbox_pop(&eng);
	}
	assert_int_equal(seen_nowhere, 1);
	assert_int_equal(seen_closed, 1);
	assert_int_equal(xs2s_send_message(&eng, "u@b.test", "x@peer.test", "spoof"), XS2S_EINVAL);
	assert_int_equal(xs2s_send_message(&eng, "u@a.test", "not a jid@", "x"), XS2S_EINVAL);
	drain_engine();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tls_required_refuses_plain_peer),
		cmocka_unit_test(test_tls_optional_falls_back_loudly),
		cmocka_unit_test(test_session_one_byte_at_a_time),
		cmocka_unit_test(test_queue_bounded_and_bounced),
		cmocka_unit_test(test_unreachable_peer_bounces),
	};
	xs2s_log_level = XS2S_LOG_WARN;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
