/* Host descriptors served in the engine's wait: see hostwatch.h. */
#include "hostwatch.h"

static struct {
	int fd;
	short events;
	xs2s_host_watch_cb cb;
	void *ctx;
} host_watch[XS2S_HOST_WATCH_MAX];
static unsigned host_nwatch;

int xs2s_host_watch(int fd, short events, xs2s_host_watch_cb cb, void *ctx)
{
	unsigned i;

	for (i = 0; i < host_nwatch && host_watch[i].fd != fd; i++)
		;
	if (i == host_nwatch) {
		if (host_nwatch >= XS2S_HOST_WATCH_MAX)
			return -1;
		host_nwatch++;
	}
	host_watch[i].fd = fd;
	host_watch[i].events = events;
	host_watch[i].cb = cb;
	host_watch[i].ctx = ctx;
	return 0;
}

void xs2s_host_unwatch(int fd)
{
	unsigned i;

	for (i = 0; i < host_nwatch; i++) {
		if (host_watch[i].fd == fd) {
			host_watch[i] = host_watch[--host_nwatch];
			return;
		}
	}
}

unsigned xs2s_host_watch_fill(struct pollfd *p, struct xs2s_host_watch_set *set)
{
	unsigned i;

	for (i = 0; i < host_nwatch; i++) {
		p[i].fd = host_watch[i].fd;
		p[i].events = host_watch[i].events;
		p[i].revents = 0;
		set->w[i].fd = host_watch[i].fd;
		set->w[i].cb = host_watch[i].cb;
		set->w[i].ctx = host_watch[i].ctx;
	}
	set->n = host_nwatch;
	return host_nwatch;
}

unsigned xs2s_host_watch_dispatch(const struct pollfd *p, const struct xs2s_host_watch_set *set)
{
	unsigned i, ran = 0;

	for (i = 0; i < set->n; i++) {
		if (p[i].revents) {
			set->w[i].cb(set->w[i].fd, p[i].revents, set->w[i].ctx);
			ran++;
		}
	}
	return ran;
}
