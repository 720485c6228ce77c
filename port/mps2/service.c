/* One turn of what runs besides the engine, called by every lwIP wait
 * (sys_arch.c): frames from the LAN9118 into lwIP, lwIP's timers, console
 * bytes; then sleep until the next interrupt when nothing arrived. And the
 * board's diagnostics, which need neither the engine nor lwIP. */
#include <stdarg.h>
#include <stdio.h>
#include "lwip/timeouts.h"
#include "board.h"

static struct netif *lan;

void xs2s_mps2_service_netif(struct netif *nif)
{
	lan = nif;
}

void xs2s_mps2_service(void)
{
	int frames = lan ? xs2s_mps2_lan9118_poll(lan) : 0;

	sys_check_timeouts();
	xs2s_mps2_console_rx();
	if (!frames)
		__asm__ volatile("wfi"); /* until the next SysTick (1 ms) */
}

void xs2s_mps2_diag(const char *fmt, ...)
{
	char buf[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	xs2s_mps2_uart_puts(buf);
}

void xs2s_mps2_assert(const char *msg, const char *file, int line)
{
	xs2s_mps2_printf("\n*** assertion \"%s\" failed at %s:%d\n", msg ? msg : "?", file, line);
	xs2s_mps2_halt(1);
}
