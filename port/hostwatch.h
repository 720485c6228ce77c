/* Host descriptors served in the engine's wait (host builds only).
 *
 * The host daemon (port/posix/xs2sd.c) serves an admin unix socket next to
 * the engine. It registers the descriptor here; the port waits on it in the
 * same call as the engine's sockets:
 *   - POSIX port: one poll() over both sets;
 *   - lwIP host simulation: lwIP's poll in short slices, the host
 *     descriptors looked at between them (port/lwip/hostsim.c).
 * A device build has no host descriptors and does not link this. */
#ifndef XS2S_HOSTWATCH_H
#define XS2S_HOSTWATCH_H

#include <poll.h>

#define XS2S_HOST_WATCH_MAX 8

typedef void (*xs2s_host_watch_cb)(int fd, short revents, void *ctx);

/* Serve fd: cb runs when any of events (POLLIN, POLLOUT) is ready. Calling
 * it again for the same fd changes events/cb. 0, or -1 when the table is full. */
int xs2s_host_watch(int fd, short events, xs2s_host_watch_cb cb, void *ctx);
void xs2s_host_unwatch(int fd);

/* For ports. A snapshot of the table (a callback may change it). */
struct xs2s_host_watch_set {
	unsigned n;
	struct {
		int fd;
		xs2s_host_watch_cb cb;
		void *ctx;
	} w[XS2S_HOST_WATCH_MAX];
};

/* Fill p (room for XS2S_HOST_WATCH_MAX) from the table; the count. */
unsigned xs2s_host_watch_fill(struct pollfd *p, struct xs2s_host_watch_set *set);
/* Run the callbacks of the snapshot's ready entries (p as filled, after
 * poll()); the number run. */
unsigned xs2s_host_watch_dispatch(const struct pollfd *p, const struct xs2s_host_watch_set *set);

#endif
