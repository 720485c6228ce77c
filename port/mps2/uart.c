/* CMSDK APB UART 0: the console (polled; QEMU connects it to -serial). */
#include "board.h"

struct cmsdk_uart {
	volatile uint32_t data;
	volatile uint32_t state;  /* bit 0: TX full, bit 1: RX full */
	volatile uint32_t ctrl;   /* bit 0: TX enable, bit 1: RX enable */
	volatile uint32_t intstatus;
	volatile uint32_t bauddiv;
};

#define UART ((struct cmsdk_uart *)MPS2_UART0_BASE)
#define UART_TX_FULL 1u
#define UART_RX_FULL 2u
#define UART_BAUD 115200u

void xs2s_mps2_uart_init(void)
{
	UART->bauddiv = MPS2_SYSCLK_HZ / UART_BAUD; /* the CMSDK UART needs at least 16 */
	UART->ctrl = 3u;
}

static void uart_putc(char c)
{
	while (UART->state & UART_TX_FULL)
		;
	UART->data = (uint8_t)c;
}

void xs2s_mps2_uart_write(const char *p, size_t n)
{
	while (n--) {
		if (*p == '\n')
			uart_putc('\r');
		uart_putc(*p++);
	}
}

void xs2s_mps2_uart_puts(const char *s)
{
	while (*s) {
		if (*s == '\n')
			uart_putc('\r');
		uart_putc(*s++);
	}
}

int xs2s_mps2_uart_getc(void)
{
	if (!(UART->state & UART_RX_FULL))
		return -1;
	return (int)(UART->data & 0xffu);
}
