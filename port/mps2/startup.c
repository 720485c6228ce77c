/* Reset, vector table and SysTick of the Cortex-M4 (ARMv7-M), plus the few
 * newlib system calls the image needs (_write to the UART, _gettimeofday from
 * the host's clock, _sbrk refusing: nothing here allocates). */
#include <errno.h>
#include <string.h>
#include <sys/time.h>
#include "board.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end, __stack_top;
int main(void);

static volatile uint32_t ms_since_reset;
static uint32_t wall_at_reset; /* host seconds at reset (semihosting SYS_TIME) */

struct systick {
	volatile uint32_t ctrl, load, val, calib;
};
#define SYSTICK ((struct systick *)0xE000E010u)
#define SYSTICK_ENABLE_TICKINT_CPUCLK 7u

uint32_t xs2s_mps2_now_ms(void)
{
	return ms_since_reset;
}

/* SysTick counts since reset (MPS2_SYSCLK_HZ): the millisecond count and
 * the down-counter, read until the millisecond did not change meanwhile. */
uint64_t xs2s_mps2_ticks(void)
{
	uint32_t ms, val;

	do {
		ms = ms_since_reset;
		val = SYSTICK->val;
	} while (ms != ms_since_reset);
	return (uint64_t)ms * (MPS2_SYSCLK_HZ / 1000u) + (SYSTICK->load - val);
}

void SysTick_Handler(void)
{
	ms_since_reset++;
}

void xs2s_mps2_halt(int status)
{
	xs2s_mps2_uart_puts(status ? "\n*** halted (error)\n" : "\n*** halted\n");
	xs2s_mps2_semihost_exit(status);
}

static void fault(const char *what)
{
	xs2s_mps2_uart_puts("\n*** ");
	xs2s_mps2_uart_puts(what);
	xs2s_mps2_uart_puts(" (a fault right after boot's first semihosting call: QEMU was started without -semihosting)\n");
	for (;;)
		__asm__ volatile("wfi");
}

void HardFault_Handler(void) { fault("HardFault"); }
void MemManage_Handler(void) { fault("MemManage fault"); }
void BusFault_Handler(void) { fault("BusFault"); }
void UsageFault_Handler(void) { fault("UsageFault"); }
void Default_Handler(void) { fault("unexpected interrupt"); }

void Reset_Handler(void)
{
	memcpy(&__data_start, &__data_load, (size_t)((char *)&__data_end - (char *)&__data_start));
	memset(&__bss_start, 0, (size_t)((char *)&__bss_end - (char *)&__bss_start));
	SYSTICK->load = MPS2_SYSCLK_HZ / 1000u - 1u;
	SYSTICK->val = 0;
	SYSTICK->ctrl = SYSTICK_ENABLE_TICKINT_CPUCLK;
	xs2s_mps2_halt(main());
}

/* ARMv7-M: 16 system exceptions; the board's interrupts are polled, not used. */
__attribute__((section(".isr_vector"), used)) static void (*const vectors[16])(void) = {
	(void (*)(void))&__stack_top, Reset_Handler, Default_Handler, HardFault_Handler,
	MemManage_Handler, BusFault_Handler, UsageFault_Handler, 0, 0, 0, 0,
	Default_Handler /* SVCall */, Default_Handler /* DebugMon */, 0, Default_Handler /* PendSV */,
	SysTick_Handler,
};

void xs2s_mps2_wallclock_init(void)
{
	wall_at_reset = xs2s_mps2_semihost_time() - ms_since_reset / 1000u;
}

/* ---- newlib system calls ---- */

int _gettimeofday(struct timeval *tv, void *tz)
{
	uint32_t ms = ms_since_reset;

	(void)tz;
	if (tv) {
		tv->tv_sec = (time_t)wall_at_reset + (time_t)(ms / 1000u);
		tv->tv_usec = (suseconds_t)((ms % 1000u) * 1000u);
	}
	return 0;
}

int _write(int fd, const char *p, int n)
{
	(void)fd;
	xs2s_mps2_uart_write(p, (size_t)n);
	return n;
}

void *_sbrk(ptrdiff_t incr)
{
	(void)incr;
	errno = ENOMEM; /* static memory only */
	return (void *)-1;
}

void _exit(int status)
{
	xs2s_mps2_halt(status);
}
