/* The host's CSPRNG for host builds (xs2sd and the tests on either port):
 * the kernel's getrandom(2). A device build reads its own TRNG. */
#ifndef XS2S_HOSTRAND_H
#define XS2S_HOSTRAND_H

#include <stddef.h>

/* n random bytes into p: XS2S_OK, or XS2S_EIO when the kernel refuses. */
int xs2s_host_random(void *p, size_t n);

#endif
