/* Handshake cost: the time the CPU spends inside wolfSSL_connect() and
 * wolfSSL_accept() (the link's TLS layer calls nothing else to handshake;
 * they return WANT_READ instead of waiting, so the time inside is
 * computation and copies into lwIP), measured on SysTick's 25 MHz count.
 * The link calls are wrapped at link time (-Wl,--wrap, board.mk).
 *
 * Under QEMU this is the emulator's virtual time; with -icount shift=0 QEMU
 * advances it 1 ns per guest instruction, so the figure becomes an
 * instruction count (console.c prints it: `tls`). On a real MPS2 board at 25 MHz it
 * is wall time, 40 ns per SysTick count. */
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include "board.h"

static struct xs2s_mps2_tls_cost cost;

int __real_wolfSSL_connect(WOLFSSL *ssl);
int __real_wolfSSL_accept(WOLFSSL *ssl);

static int timed(int (*fn)(WOLFSSL *), WOLFSSL *ssl)
{
	uint64_t t0 = xs2s_mps2_ticks(), dt;
	int r = fn(ssl);

	dt = xs2s_mps2_ticks() - t0;
	cost.calls++;
	cost.ticks += dt;
	if (dt > cost.max_call)
		cost.max_call = dt;
	if (r == WOLFSSL_SUCCESS)
		cost.done++;
	return r;
}

int __wrap_wolfSSL_connect(WOLFSSL *ssl)
{
	return timed(__real_wolfSSL_connect, ssl);
}

int __wrap_wolfSSL_accept(WOLFSSL *ssl)
{
	return timed(__real_wolfSSL_accept, ssl);
}

void xs2s_mps2_tls_cost(struct xs2s_mps2_tls_cost *out)
{
	*out = cost;
}
