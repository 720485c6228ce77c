/* Semihosting (Arm's semihosting specification, 2.0): the guest asks the
 * debugger - here QEMU, started with -semihosting - with BKPT 0xAB, the
 * operation in r0 and its argument block in r1.
 *
 * QEMU's mps2 machines emulate no TRNG, so in QEMU this board's entropy is
 * the host's /dev/urandom, read through SYS_OPEN/SYS_READ. That is a property
 * of the emulation, not of a device: real hardware uses its TRNG here. */
#include <string.h>
#include "board.h"
#include "xs2s_err.h"

#define SYS_OPEN 0x01
#define SYS_READ 0x06
#define SYS_TIME 0x11
#define SYS_EXIT 0x18
#define SH_MODE_RB 1                     /* fopen mode "rb" */
#define ADP_STOPPED_APPLICATION_EXIT 0x20026

static int semihost(int op, void *arg)
{
	register int r0 __asm__("r0") = op;
	register void *r1 __asm__("r1") = arg;

	__asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
	return r0;
}

int xs2s_mps2_semihost_entropy(void *p, size_t n)
{
	static int handle = -1;
	static const char path[] = "/dev/urandom";
	uint8_t *b = p;

	if (handle < 0) {
		uint32_t open_args[3] = { (uint32_t)path, SH_MODE_RB, sizeof path - 1 };
		handle = semihost(SYS_OPEN, open_args);
		if (handle < 0)
			return XS2S_EIO;
	}
	while (n) {
		uint32_t read_args[3] = { (uint32_t)handle, (uint32_t)b, (uint32_t)n };
		int left = semihost(SYS_READ, read_args); /* bytes NOT read */
		size_t got;

		if (left < 0 || (size_t)left > n)
			return XS2S_EIO;
		got = n - (size_t)left;
		if (!got)
			return XS2S_EIO;
		b += got;
		n -= got;
	}
	return XS2S_OK;
}

uint32_t xs2s_mps2_semihost_time(void)
{
	return (uint32_t)semihost(SYS_TIME, NULL);
}

void xs2s_mps2_semihost_exit(int status)
{
	/* 32-bit semihosting's SYS_EXIT takes the reason only: 0 is "application
	 * exit", anything else is reported as an error exit (status 1). */
	uint32_t reason = status == 0 ? ADP_STOPPED_APPLICATION_EXIT : 0x20024; /* ADP_Stopped_RunTimeErrorUnknown */

	semihost(SYS_EXIT, (void *)reason);
	for (;;)
		__asm__ volatile("wfi");
}
