/* Host-only extras of the POSIX port, for the daemon (port/posix/xs2sd.c). */
#ifndef XS2S_PORT_POSIX_H
#define XS2S_PORT_POSIX_H

typedef void (*xs2s_posix_watch_cb)(int fd, short revents, void *ctx);

/* Serve fd in the engine's poll: cb runs when any of events (POLLIN, POLLOUT)
 * is ready. Calling it again for the same fd changes events/cb. -1 when full. */
int xs2s_posix_watch(int fd, short events, xs2s_posix_watch_cb cb, void *ctx);
void xs2s_posix_unwatch(int fd);

#endif
