/* The lwIP port's system part for the Linux host simulation (xs2sd, the
 * self-test): lwIP's unix port runs the tcpip thread (pthreads); entropy is
 * getrandom(); the log goes to stderr. A board has its own (port/mps2). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "lwip/opt.h"
#include "lwip/sys.h"
#include "lwip/tcpip.h"
#include "hostrand.h"
#include "port_lwip.h"
#include "xs2s_err.h"

/* The kernel's CSPRNG. */
int xs2s_lwip_entropy(void *p, size_t n)
{
	return xs2s_host_random(p, n);
}

/* stderr, stamped with sys_now(); xs2sd's host simulation replaces it with
 * the host sink (port/hostlog.c) (hostsim.c's strong definition wins over this weak one). */
__attribute__((weak)) void xs2s_lwip_log_sink(int level, const char *line)
{
	static const char lv[] = "?EWID";
	uint32_t now = sys_now();

	fprintf(stderr, "%lu.%03lu %c %s\n", (unsigned long)(now / 1000u), (unsigned long)(now % 1000u),
		lv[level >= 1 && level <= 4 ? level : 0], line);
}

static void lwip_tcpip_ready(void *arg)
{
	sys_sem_signal((sys_sem_t *)arg);
}

int xs2s_lwip_init(void)
{
	static int started;
	sys_sem_t ready;
	unsigned seed;

	if (started)
		return XS2S_OK;
	/* The unix port's LWIP_RAND() is rand(): ephemeral ports, ISNs. */
	if (xs2s_lwip_entropy(&seed, sizeof seed) != XS2S_OK)
		return XS2S_EIO;
	srand(seed);
	if (sys_sem_new(&ready, 0) != ERR_OK)
		return XS2S_EIO;
	tcpip_init(lwip_tcpip_ready, &ready);
	sys_sem_wait(&ready);
	sys_sem_free(&ready);
	started = 1;
	return XS2S_OK;
}

