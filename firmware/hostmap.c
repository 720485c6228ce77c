/* Peer addresses: a static host map (Kconfig and xs2sd --host-map).
 * xs2s_resolve() answers from the map alone, at once; resolve.c asks it
 * first and then DNS (xs2s_resolve_start and friends). */
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include "xs2s_int.h"
#include "resolve.h"

#define HOSTMAP_ENTRIES 16

struct hostmap_ent {
	char domain[XS2S_DOMAIN_MAX + 1];
	char addr[XS2S_ADDR_MAX];
	uint16_t port;
};

static struct hostmap_ent hostmap[HOSTMAP_ENTRIES];
static unsigned hostmap_n;
static bool hostmap_loaded;

/* "addr:port", "[v6]:port" or "addr" (def_port). */
int xs2s_addr_port_parse(const char *s, uint16_t def_port, char addr[XS2S_ADDR_MAX], uint16_t *port)
{
	const char *colon;
	size_t n;
	unsigned long p = def_port;

	if (s[0] == '[') {
		const char *end = strchr(s, ']');
		if (!end)
			return XS2S_EINVAL;
		n = (size_t)(end - s - 1);
		if (n == 0 || n >= XS2S_ADDR_MAX)
			return XS2S_EINVAL;
		memcpy(addr, s + 1, n);
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] && !colon)
			return XS2S_EINVAL;
	} else {
		colon = strrchr(s, ':');
		if (colon && strchr(s, ':') != colon)
			colon = NULL; /* bare IPv6 address */
		n = colon ? (size_t)(colon - s) : strlen(s);
		if (n == 0 || n >= XS2S_ADDR_MAX)
			return XS2S_EINVAL;
		memcpy(addr, s, n);
	}
	addr[n] = '\0';
	if (colon) {
		char *end;
		p = strtoul(colon + 1, &end, 10);
		if (*end || p == 0 || p > 65535)
			return XS2S_EINVAL;
	}
	*port = (uint16_t)p;
	return XS2S_OK;
}

int xs2s_hostmap_add(const char *entry)
{
	const char *eq = strchr(entry, '=');
	struct hostmap_ent e;
	size_t n;

	if (!eq || hostmap_n >= HOSTMAP_ENTRIES)
		return XS2S_EINVAL;
	n = (size_t)(eq - entry);
	if (n == 0 || n > XS2S_DOMAIN_MAX)
		return XS2S_EINVAL;
	memcpy(e.domain, entry, n);
	e.domain[n] = '\0';
	if (!xs2s_domain_valid(e.domain) || xs2s_addr_port_parse(eq + 1, XS2S_XMPP_SERVER_PORT, e.addr, &e.port) != XS2S_OK)
		return XS2S_EINVAL;
	hostmap[hostmap_n++] = e;
	return XS2S_OK;
}

/* Entries from CONFIG_XS2S_HOST_MAP, once. */
static void hostmap_load_config(void)
{
	char buf[sizeof CONFIG_XS2S_HOST_MAP];
	char *save = NULL, *tok;

	hostmap_loaded = true;
	memcpy(buf, CONFIG_XS2S_HOST_MAP, sizeof buf);
	for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
		if (xs2s_hostmap_add(tok) != XS2S_OK)
			XS2S_LOGW(0, "ignoring bad CONFIG_XS2S_HOST_MAP entry '%s'", tok);
}

int xs2s_resolve(const char *domain, char addr[XS2S_ADDR_MAX], uint16_t *port)
{
	unsigned i;

	if (!hostmap_loaded)
		hostmap_load_config();
	for (i = 0; i < hostmap_n; i++) {
		if (!strcmp(hostmap[i].domain, domain)) {
			memcpy(addr, hostmap[i].addr, XS2S_ADDR_MAX);
			*port = hostmap[i].port;
			return XS2S_OK;
		}
	}
	return XS2S_ENOTFOUND;
}
