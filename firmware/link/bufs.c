/* Buffers on loan; see bufs.h. */
#include "link/link.h"

_Static_assert(CONFIG_XS2S_TX_BUFS + XS2S_LINK_BUFS_COMP <= XS2S_BUFPOOL_MAX &&
		       CONFIG_XS2S_OUT_BUFS + XS2S_LINK_BUFS_COMP <= XS2S_BUFPOOL_MAX,
	       "out and tx pools (with the components' pairs) above XS2S_BUFPOOL_MAX");

void xs2s_link_bufs_init(struct xs2s_link_bufs *b)
{
	xs2s_bufpool_init(&b->rx, b->rx_mem, sizeof b->rx_mem[0], CONFIG_XS2S_RX_BUFS);
	xs2s_bufpool_init(&b->tx, b->tx_mem, sizeof b->tx_mem[0], CONFIG_XS2S_TX_BUFS + XS2S_LINK_BUFS_COMP);
	xs2s_bufpool_init(&b->out, b->out_mem, sizeof b->out_mem[0], CONFIG_XS2S_OUT_BUFS + XS2S_LINK_BUFS_COMP);
	xs2s_bufpool_init(&b->stanza, b->stanza_mem, sizeof b->stanza_mem[0], CONFIG_XS2S_STANZA_BUFS);
	b->wanted = false;
}

/* One pool can give what the link lacks (need: it lacks one). */
static bool bufs_ok(const struct xs2s_bufpool *p, bool need)
{
	return !need || xs2s_bufpool_free(p) > 0;
}

bool xs2s_link_could_borrow(const struct xs2s_link *l, bool all)
{
	const struct xs2s_link_bufs *b = l->env->bufs;

	return bufs_ok(&b->out, !l->out.buf) && bufs_ok(&b->tx, !l->tx.buf) &&
	       (!all || (bufs_ok(&b->rx, !l->rx.buf) && bufs_ok(&b->stanza, !l->fr.buf)));
}

/* Count a wait in every pool that lacked a buffer for the borrow. */
static void bufs_wait(const struct xs2s_link *l, bool all)
{
	struct xs2s_link_bufs *b = l->env->bufs;

	b->out.waits += !bufs_ok(&b->out, !l->out.buf);
	b->tx.waits += !bufs_ok(&b->tx, !l->tx.buf);
	if (all) {
		b->rx.waits += !bufs_ok(&b->rx, !l->rx.buf);
		b->stanza.waits += !bufs_ok(&b->stanza, !l->fr.buf);
	}
}

static void bufs_take(struct xs2s_bufpool *p, struct xs2s_bq *q)
{
	if (!q->buf)
		xs2s_bq_init(q, xs2s_bufpool_get(p), p->size);
}

bool xs2s_link_borrow_out(struct xs2s_link *l)
{
	struct xs2s_link_bufs *b = l->env->bufs;

	if (l->out.buf && l->tx.buf)
		return true;
	if (!xs2s_link_could_borrow(l, false)) {
		bufs_wait(l, false);
		return false;
	}
	bufs_take(&b->out, &l->out);
	bufs_take(&b->tx, &l->tx);
	return true;
}

bool xs2s_link_borrow_all(struct xs2s_link *l)
{
	struct xs2s_link_bufs *b = l->env->bufs;

	if (l->rx.buf && l->fr.buf && l->out.buf && l->tx.buf)
		return true;
	if (!xs2s_link_could_borrow(l, true)) {
		bufs_wait(l, true);
		return false;
	}
	bufs_take(&b->out, &l->out);
	bufs_take(&b->tx, &l->tx);
	bufs_take(&b->rx, &l->rx);
	if (!l->fr.buf)
		xs2s_framer_set_buf(&l->fr, xs2s_bufpool_get(&b->stanza));
	return true;
}

static void bufs_give(struct xs2s_bufpool *p, struct xs2s_bq *q)
{
	xs2s_bufpool_put(p, q->buf);
	xs2s_bq_init(q, NULL, 0);
}

void xs2s_link_bufs_return(struct xs2s_link *l, bool all)
{
	struct xs2s_link_bufs *b = l->env->bufs;

	if (all || (!xs2s_bq_len(&l->rx) && xs2s_framer_idle(&l->fr))) {
		bufs_give(&b->rx, &l->rx);
		xs2s_bufpool_put(&b->stanza, l->fr.buf);
		xs2s_framer_set_buf(&l->fr, NULL);
	}
	if (!all && l->kind == XS2S_KIND_COMPONENT)
		return; /* its out and tx stay while it is open (bufs.h) */
	if (all || (!l->rx.buf && !l->fr.buf && !xs2s_bq_len(&l->out) && !xs2s_bq_len(&l->tx) && !l->tls.wpending &&
		    !l->close_pending)) {
		bufs_give(&b->out, &l->out);
		bufs_give(&b->tx, &l->tx);
	}
}

bool xs2s_link_bufs_writable(const struct xs2s_link_bufs *b)
{
	return xs2s_bufpool_free(&b->out) > 0 && xs2s_bufpool_free(&b->tx) > 0;
}

size_t xs2s_link_bufs_held(const struct xs2s_link *l)
{
	const struct xs2s_link_bufs *b = l->env->bufs;

	return (l->rx.buf ? b->rx.size : 0) + (l->tx.buf ? b->tx.size : 0) + (l->out.buf ? b->out.size : 0) +
	       (l->fr.buf ? b->stanza.size : 0);
}
