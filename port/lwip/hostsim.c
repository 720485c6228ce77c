/* lwIP host simulation: what xs2sd needs to run the lwIP build on Linux.
 *
 * - The network: lwIP's unix-port TAP driver (tapif.c) on a TAP device that
 *   the caller (a test, in its own network namespace) created and
 *   configured on the kernel side; PRECONFIGURED_TAPIF names it, so tapif
 *   never runs ifconfig. Frames go through the project's pbuf pool
 *   (PBUF_POOL_BUFSIZE from Kconfig), not Debian's liblwip.
 * - Host descriptors (xs2sd's admin socket): served between slices of
 *   lwIP's poll, since lwip_poll() cannot wait on kernel descriptors.
 * - The log: the host sink (port/hostlog.c: UTC-stamped stderr or syslog),
 *   as on the POSIX port; it replaces unix_sys.c's weak one.
 *
 * A device build links neither: its firmware brings up its own netif. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hostwatch.h"
#include "hostlog.h"
#include "lwip/opt.h"
#include "lwip/ip_addr.h"
#include "lwip/netif.h"
#include "lwip/netifapi.h"
#include "lwip/tcpip.h"
#include "netif/tapif.h"
#include "port_lwip.h"
#include "xs2s_err.h"

static struct netif hostsim_tap;

void xs2s_lwip_log_sink(int level, const char *line)
{
	xs2s_host_log(level, line);
}

/* poll(0) over the host descriptors, run the ready callbacks. */
static int hostsim_host_poll(void)
{
	struct pollfd p[XS2S_HOST_WATCH_MAX];
	struct xs2s_host_watch_set set;
	unsigned n = xs2s_host_watch_fill(p, &set);

	if (!n || poll(p, n, 0) <= 0)
		return 0;
	return (int)xs2s_host_watch_dispatch(p, &set);
}

void xs2s_lwip_hostsim_serve_host_fds(void)
{
	xs2s_lwip_set_host_poll(hostsim_host_poll);
}

/* "10.77.0.2/24" -> address and netmask. */
static int hostsim_cidr4(const char *cidr, ip4_addr_t *addr, ip4_addr_t *mask)
{
	char buf[24];
	char *slash;
	long bits = 32;

	if (strlen(cidr) >= sizeof buf)
		return -1;
	strcpy(buf, cidr);
	slash = strchr(buf, '/');
	if (slash) {
		char *end;
		*slash = '\0';
		bits = strtol(slash + 1, &end, 10);
		if (*end || bits < 1 || bits > 32)
			return -1;
	}
	if (!ip4addr_aton(buf, addr))
		return -1;
	ip4_addr_set_u32(mask, lwip_htonl(bits == 32 ? 0xffffffffu : ~(0xffffffffu >> bits)));
	return 0;
}

int xs2s_lwip_hostsim_tap(const char *ifname, const char *ip4_cidr, const char *gw4, const char *ip6)
{
	ip4_addr_t addr, mask, gw;

	if (hostsim_cidr4(ip4_cidr, &addr, &mask) < 0 || !ip4addr_aton(gw4, &gw)) {
		fprintf(stderr, "xs2sd: bad TAP address %s or gateway %s\n", ip4_cidr, gw4);
		return XS2S_EINVAL;
	}
	/* tapif attaches to this existing device instead of creating tap0. */
	if (setenv("PRECONFIGURED_TAPIF", ifname, 1) < 0)
		return XS2S_EIO;
	if (netifapi_netif_add(&hostsim_tap, &addr, &mask, &gw, NULL, tapif_init, tcpip_input) != ERR_OK)
		return XS2S_EIO;
#if LWIP_IPV6
	if (ip6 && ip6[0]) {
		ip6_addr_t a6;
		s8_t idx = -1;
		err_t e;

		if (!ip6addr_aton(ip6, &a6)) {
			fprintf(stderr, "xs2sd: bad TAP IPv6 address %s\n", ip6);
			return XS2S_EINVAL;
		}
		LOCK_TCPIP_CORE();
		netif_create_ip6_linklocal_address(&hostsim_tap, 1);
		e = netif_add_ip6_address(&hostsim_tap, &a6, &idx);
		if (e == ERR_OK) /* static: no duplicate address detection wait */
			netif_ip6_addr_set_state(&hostsim_tap, idx, IP6_ADDR_PREFERRED);
		UNLOCK_TCPIP_CORE();
		if (e != ERR_OK)
			return XS2S_EIO;
	}
#else
	if (ip6 && ip6[0]) {
		fprintf(stderr, "xs2sd: IPv6 address %s given, but lwIP is built without IPv6 (CONFIG_XS2S_LWIP_IPV6)\n", ip6);
		return XS2S_EINVAL;
	}
#endif
	netifapi_netif_set_default(&hostsim_tap);
	netifapi_netif_set_up(&hostsim_tap);
	return XS2S_OK;
}
