/* The kernel's CSPRNG (hostrand.h). */
#include <errno.h>
#include <stdint.h>
#include <sys/random.h>
#include "hostrand.h"
#include "xs2s_err.h"

int xs2s_host_random(void *p, size_t n)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = getrandom(b, n, 0);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return XS2S_EIO;
		}
		b += r;
		n -= (size_t)r;
	}
	return XS2S_OK;
}
