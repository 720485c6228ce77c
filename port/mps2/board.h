/* The MPS2 AN386 board as QEMU's mps2-an386 emulates it (Arm's AN386 FPGA
 * image for the MPS2+ board: Cortex-M4, 25 MHz): CMSDK UART0, SysTick, the
 * LAN9118 Ethernet controller, semihosting to the host. */
#ifndef XS2S_MPS2_BOARD_H
#define XS2S_MPS2_BOARD_H

#include <stddef.h>
#include <stdint.h>

#define MPS2_SYSCLK_HZ 25000000u     /* AN386: 25 MHz system clock */
#define MPS2_UART0_BASE 0x40004000u  /* CMSDK APB UART 0 */
#define MPS2_LAN9118_BASE 0x40200000u

/* startup.c: milliseconds since reset (SysTick), wrapping. */
uint32_t xs2s_mps2_now_ms(void);
/* SysTick counts (MPS2_SYSCLK_HZ) since reset. */
uint64_t xs2s_mps2_ticks(void);
/* tlscost.c: the CPU time spent handshaking, in SysTick counts (console `tls`). */
struct xs2s_mps2_tls_cost {
	uint32_t calls, done;     /* calls of wolfSSL_connect/accept; handshakes they completed */
	uint64_t ticks, max_call; /* counts inside them; the longest call */
};
void xs2s_mps2_tls_cost(struct xs2s_mps2_tls_cost *out);
/* Stop the machine (QEMU exits through semihosting with the status). */
void xs2s_mps2_halt(int status) __attribute__((noreturn));

/* uart.c: the console. */
void xs2s_mps2_uart_init(void);
void xs2s_mps2_uart_write(const char *p, size_t n);
void xs2s_mps2_uart_puts(const char *s);
int xs2s_mps2_uart_getc(void); /* a byte, or -1 when none is waiting */

/* semihost.c: calls into the host (QEMU -semihosting). */
int xs2s_mps2_semihost_entropy(void *p, size_t n); /* host's /dev/urandom; XS2S_OK or XS2S_EIO */
uint32_t xs2s_mps2_semihost_time(void);             /* host's time(): seconds since 1970 */
void xs2s_mps2_semihost_exit(int status) __attribute__((noreturn));

/* lan9118.c: the lwIP netif. */
struct netif;
int xs2s_mps2_lan9118_attach(struct netif *nif, const char *ip4_cidr, const char *gw4);
int xs2s_mps2_lan9118_poll(struct netif *nif); /* frames handed to lwIP */

/* service.c: one turn of everything that is not the engine: frames from
 * the controller into lwIP, lwIP's timers, console bytes (every lwIP wait
 * runs it: sys_arch.c); diagnostics that need no engine. */
void xs2s_mps2_service_netif(struct netif *nif); /* the attached controller's netif */
void xs2s_mps2_service(void);
void xs2s_mps2_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xs2s_mps2_assert(const char *msg, const char *file, int line) __attribute__((noreturn));

/* console.c: one line of input at a time. */
struct xs2s_engine;
void xs2s_mps2_console_poll(struct xs2s_engine *eng);
void xs2s_mps2_console_rx(void); /* move waiting UART bytes into the line */
void xs2s_mps2_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* identity.c (generated at build time from Kconfig's PEM files). */
extern const uint8_t xs2s_mps2_cert_pem[], xs2s_mps2_key_pem[], xs2s_mps2_ca_pem[];
extern const size_t xs2s_mps2_cert_len, xs2s_mps2_key_len, xs2s_mps2_ca_len;

#endif
