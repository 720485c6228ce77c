/* lwIP's compiler/platform header for the MPS2 AN386 board: arm-none-eabi-gcc
 * with newlib. Errno values and struct timeval are newlib's; LWIP_RAND draws
 * from the board's entropy (the host's, through semihosting in QEMU); an
 * assertion prints on the UART and stops the machine. */
#ifndef XS2S_MPS2_ARCH_CC_H
#define XS2S_MPS2_ARCH_CC_H

#include <stdint.h>
#include <sys/time.h>   /* struct timeval: LWIP_TIMEVAL_PRIVATE=0 */

#define LWIP_ERRNO_STDINCLUDE 1

uint32_t xs2s_mps2_rand(void);
void xs2s_mps2_assert(const char *msg, const char *file, int line);
void xs2s_mps2_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Ephemeral ports and TCP initial sequence numbers (RFC 6528). */
#define LWIP_RAND() xs2s_mps2_rand()
#define LWIP_PLATFORM_ASSERT(x) xs2s_mps2_assert((x), __FILE__, __LINE__)
#define LWIP_PLATFORM_DIAG(x) do { xs2s_mps2_diag x; } while (0)

#endif
