/* Buffers on loan: the rx, tx, out and stanza buffers links borrow from
 * Kconfig-sized pools while they receive or send, instead of each link slot
 * embedding its own. An idle link holds none: only its state and its TLS
 * session.
 *
 * The rule that keeps it free of deadlock: a link holds nothing, or its
 * out and tx buffers (output waiting for the socket), or all four; it takes
 * what it lacks all at once or not at all, and never waits while holding
 * rx or stanza. So a link that reads can always finish: what it answers
 * fits its own out buffer (or waits in a route queue, as when out is
 * full), and only a socket, never another link, can keep it waiting. A
 * link that cannot borrow stops reading (the peer's data stays in the
 * socket: TCP backpressure) and waits for the next round; nothing fails.
 *
 * An XEP-0114 component's link keeps its out and tx buffers while it is
 * open: what the engine delivers to a component is written at once or
 * bounced, never queued. They are counted into the out and tx pools on top
 * of OUT_BUFS and TX_BUFS (one pair per MAX_COMPONENTS), so components never
 * take what the s2s links need.
 *
 * Who calls: link.c (and the engine, to create the pools and for status).
 * Owns: the pools and their memory. Never touches: anything but a link's
 * byte queues and framer buffer.
 */
#ifndef XS2S_LINK_BUFS_H
#define XS2S_LINK_BUFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "lib/bufpool.h"

struct xs2s_link;

/* The out and tx buffers kept by component links (see above). */
#if CONFIG_XS2S_COMPONENTS
#define XS2S_LINK_BUFS_COMP CONFIG_XS2S_MAX_COMPONENTS
#else
#define XS2S_LINK_BUFS_COMP 0
#endif

/* The engine's pools (status "rx_bufs", "tx_bufs", "out_bufs", "stanza_bufs"). */
struct xs2s_link_bufs {
	struct xs2s_bufpool rx, tx, out, stanza;
	bool wanted; /* a write waited for out and tx: the engine must not sleep once they are back */
	_Alignas(16) uint8_t rx_mem[CONFIG_XS2S_RX_BUFS][CONFIG_XS2S_RX_BUF];
	_Alignas(16) uint8_t tx_mem[CONFIG_XS2S_TX_BUFS + XS2S_LINK_BUFS_COMP][CONFIG_XS2S_TX_BUF];
	_Alignas(16) uint8_t out_mem[CONFIG_XS2S_OUT_BUFS + XS2S_LINK_BUFS_COMP][CONFIG_XS2S_OUT_BUF];
	_Alignas(16) char stanza_mem[CONFIG_XS2S_STANZA_BUFS][CONFIG_XS2S_MAX_STANZA + 2];
};

void xs2s_link_bufs_init(struct xs2s_link_bufs *b);
/* Hold rx, stanza, out and tx (to read and answer): true when held. */
bool xs2s_link_borrow_all(struct xs2s_link *l);
/* Hold out and tx (to write): true when held. */
bool xs2s_link_borrow_out(struct xs2s_link *l);
/* Would the borrow succeed now (all: the four, else out and tx)? */
bool xs2s_link_could_borrow(const struct xs2s_link *l, bool all);
/* Give back what holds nothing: rx and stanza when rx is empty and the
 * framer is between stanzas; then out and tx when both are empty and TLS
 * has no write to repeat (a component's link keeps these two). all:
 * everything (the link ends). */
void xs2s_link_bufs_return(struct xs2s_link *l, bool all);
/* An out and a tx buffer are free: a link holding none could write now. */
bool xs2s_link_bufs_writable(const struct xs2s_link_bufs *b);
/* Bytes of buffers the link holds now. */
size_t xs2s_link_bufs_held(const struct xs2s_link *l);

#endif
