/* xs2s on the MPS2 AN386 board: lwIP over the LAN9118, no RTOS.
 *
 * One thread does everything, in turn: xs2s_engine_poll() waits in
 * lwip_poll(), whose wait (sys_arch.c) runs xs2s_mps2_service() (service.c):
 * frames from the controller into lwIP, lwIP's timers, console bytes. Between
 * engine rounds a complete console line runs. */
#include <stdio.h>
#include <string.h>
#include "lwip/init.h"
#include "lwip/netif.h"
#include "lwip/tcpip.h"
#include "lwip/timeouts.h"
#include "board.h"
#include "port_lwip.h"
#include "xs2s.h"

#define ENGINE_ROUND_MS 20u

void xs2s_mps2_wallclock_init(void);

static struct xs2s_engine engine;
static struct netif lan;

/* QEMU emulates no TRNG on mps2: the host's /dev/urandom, through
 * semihosting (semihost.c). A board with a TRNG reads it here. */
int xs2s_lwip_entropy(void *p, size_t n)
{
	return xs2s_mps2_semihost_entropy(p, n);
}

uint32_t xs2s_mps2_rand(void)
{
	uint32_t r;

	if (xs2s_mps2_semihost_entropy(&r, sizeof r) != XS2S_OK)
		xs2s_mps2_assert("no entropy from the host", __FILE__, __LINE__);
	return r;
}

/* wolfSSL's DRBG seed (CUSTOM_RAND_GENERATE_SEED in user_settings.h). */
int xs2s_mps2_wolfssl_seed(unsigned char *p, unsigned int n)
{
	return xs2s_mps2_semihost_entropy(p, n) == XS2S_OK ? 0 : -1;
}

void xs2s_lwip_log_sink(int level, const char *line)
{
	static const char lv[] = "?EWID";
	uint32_t now = xs2s_mps2_now_ms();

	xs2s_mps2_printf("%5lu.%03lu %c ", (unsigned long)(now / 1000u), (unsigned long)(now % 1000u),
			 lv[level >= 1 && level <= 4 ? level : 0]);
	xs2s_mps2_uart_puts(line);
	xs2s_mps2_uart_puts("\n");
}

/* No tcpip thread: lwIP's core runs in the caller (LWIP_TCPIP_CORE_LOCKING;
 * the lock is sys_arch.c's empty mutex) and frames go to ethernet_input. */
int xs2s_lwip_init(void)
{
	lwip_init();
	if (sys_mutex_new(&lock_tcpip_core) != ERR_OK)
		return XS2S_EIO;
	if (xs2s_mps2_lan9118_attach(&lan, CONFIG_XS2S_MPS2_IPV4, CONFIG_XS2S_MPS2_GW) != XS2S_OK)
		return XS2S_EIO;
	xs2s_mps2_service_netif(&lan);
	return XS2S_OK;
}

int main(void)
{
	struct xs2s_config cfg;
	uint8_t probe[16];
	int r;

	xs2s_mps2_uart_init();
	xs2s_mps2_uart_puts("\nxs2s on MPS2 AN386 (Cortex-M4, lwIP " LWIP_VERSION_STRING ", no RTOS)\n");
	xs2s_mps2_uart_puts("semihosting: asking the host for its time and entropy (QEMU -semihosting)\n");
	xs2s_mps2_wallclock_init();
	if (xs2s_mps2_semihost_entropy(probe, sizeof probe) != XS2S_OK) {
		xs2s_mps2_uart_puts("*** entropy: the host's /dev/urandom cannot be read through semihosting; "
				    "refusing to run without entropy\n");
		return 1;
	}
	xs2s_mps2_uart_puts("*** ENTROPY: QEMU emulates no TRNG on mps2; every random byte of this image (TLS, "
			    "dialback keys, TCP sequence numbers) comes from the HOST's /dev/urandom through "
			    "semihosting. A device build must read its hardware TRNG instead. ***\n");
	memset(probe, 0, sizeof probe);
	if (xs2s_lwip_init() != XS2S_OK) {
		xs2s_mps2_uart_puts("*** lan9118: no controller, or bad CONFIG_XS2S_MPS2_IPV4/GW\n");
		return 1;
	}
	xs2s_config_defaults(&cfg);
	cfg.cert_pem = xs2s_mps2_cert_pem;
	cfg.cert_len = xs2s_mps2_cert_len;
	cfg.key_pem = xs2s_mps2_key_pem;
	cfg.key_len = xs2s_mps2_key_len;
	cfg.ca_pem = xs2s_mps2_ca_pem;
	cfg.ca_len = xs2s_mps2_ca_len;
	r = xs2s_engine_start(&engine, &cfg);
	if (r != XS2S_OK) {
		xs2s_mps2_printf("*** xs2s_engine_start failed (%d)\n", r);
		return 1;
	}
	xs2s_mps2_uart_puts("xs2s> ");
	for (;;) {
		xs2s_engine_poll(&engine, ENGINE_ROUND_MS);
		xs2s_mps2_console_poll(&engine);
	}
}
