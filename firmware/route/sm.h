/* XEP-0198 stream management on s2s streams (urn:xmpp:sm:3), without
 * resumption: the per-link counters and the list of stanzas written on a
 * link that its peer has not acknowledged yet.
 *
 * Action points (XEP-0198 sections in brackets)
 *   offer (receiving role): <sm xmlns='urn:xmpp:sm:3'/> in the stream
 *     features once TLS is up, before and after authentication [3, 2].
 *   <enable/> received on an authenticated stream: <enabled/> without id
 *     or resume (resumption not offered) [3, 5]; before authentication or a
 *     second time: <failed/> with unexpected-request [3]. The received
 *     counter h starts at 0 [4].
 *   initiating role: the peer's features offered <sm/>: <enable/> goes out
 *     when the stream's first pair is authenticated [3]; the sent counter
 *     starts at 0 there [4]. <enabled/>: on; <failed/>: off, and what was
 *     written meanwhile counts as written (today's behaviour without SM).
 *   every stanza written on the link (route.c) is kept here, its bytes
 *     still in the queue pool, at most CONFIG_XS2S_SM_UNACKED stanzas and
 *     CONFIG_XS2S_SM_UNACKED_BYTES bytes per link (more wait in their
 *     route's queue); <r/> goes out after CONFIG_XS2S_SM_ACK_EVERY stanzas
 *     or CONFIG_XS2S_SM_ACK_MS [4, 5].
 *   <a h='n'/>: the entries up to n (mod 2^32) are acknowledged: their
 *     completions fire (XS2S_EV_SENT) and their bytes go back to the pool;
 *     an h that acknowledges more than was sent ends the stream with
 *     undefined-condition and <handled-count-too-high h send-count/> [6];
 *     an <a/> without a valid h: invalid-xml.
 *   <r/>: <a h='handled'/> with the stanzas handled since <enable/> or
 *     <enabled/> was received [4].
 *   the engine stops: a link with unacknowledged stanzas sends <r/> and
 *     closes when they are acknowledged, or after XS2S_SM_STOP_WAIT_MS
 *     (engine.c), so that what the peer handled is not bounced.
 *   the link goes down: its unacknowledged stanzas go back to the FRONT of
 *     their routes' queues in order (route.c retries or bounces them); the
 *     same bytes go out again, ids unchanged, so a peer that had handled
 *     one but whose ack was lost sees it twice [5: without resumption the
 *     sender cannot know].
 *
 * Who calls: the route table (route.c, writing stanzas) and the engine
 * (s2s.c: elements, features, timers, link down). Owns: the per-slot
 * struct xs2s_sm inside struct xs2s_routes. Never touches: link state (it
 * only writes elements with xs2s_link_write and ends a link with
 * xs2s_link_abort), authentication, local delivery.
 */
#ifndef XS2S_SM_H
#define XS2S_SM_H

#include <stdbool.h>
#include <stdint.h>
#include <stddef.h>

#define XS2S_NS_SM "urn:xmpp:sm:3"
/* When the engine stops, a link with unacknowledged stanzas asks for an ack
 * and closes once it came, or after this long (then they are bounced). */
#define XS2S_SM_STOP_WAIT_MS 2000

struct xs2s_routes;
struct xs2s_link;
struct xs2s_el;

enum xs2s_sm_state {
	XS2S_SM_OFF = 0,     /* not negotiated (or <failed/>) */
	XS2S_SM_OFFERED,     /* out: the peer's features offered <sm/> */
	XS2S_SM_REQUESTED,   /* out: <enable/> sent, <enabled/> awaited (stanzas are counted already) */
	XS2S_SM_ON,          /* out: <enabled/> received; in: <enabled/> sent */
};

/* One link's stream management; indexed by slot, valid while link matches. */
struct xs2s_sm {
	unsigned link;       /* the link id this belongs to; 0: none */
	uint8_t state;       /* enum xs2s_sm_state */
	bool r_out;          /* our <r/> awaits its <a/> */
	bool a_due;          /* the peer's <r/> found no room for our <a/>: sent later */
	bool r_timer;        /* r_due_ms is armed */
	uint32_t h_in;       /* stanzas handled from the peer since <enable/>/<enabled/> received [4] */
	uint32_t sent;       /* stanzas written since <enable/> sent [4], mod 2^32 */
	uint32_t acked;      /* the peer's last h, mod 2^32 */
	uint16_t uhead, utail; /* unacknowledged queue entries, oldest first (XS2S_QNIL: none) */
	uint16_t unacked;    /* entries in that list */
	uint16_t since_r;    /* stanzas written since our last <r/> */
	uint32_t ubytes;     /* their bytes */
	uint32_t r_due_ms;   /* when an <r/> is due (r_timer) */
};

#if CONFIG_XS2S_SM
/* The <sm/> feature the receiving role offers. */
#define XS2S_SM_FEATURE "<sm xmlns='" XS2S_NS_SM "'/>"

void xs2s_sm_init(struct xs2s_routes *rt);
/* Link l's stream management is on for what we write (enable sent). */
bool xs2s_sm_tracking(const struct xs2s_routes *rt, const struct xs2s_link *l);
/* Whether one more stanza of len bytes may be written on l now (the unacked bounds). */
bool xs2s_sm_room(const struct xs2s_routes *rt, const struct xs2s_link *l, size_t len);
/* Queue entry q was just written on l: kept until acknowledged. */
void xs2s_sm_push(struct xs2s_routes *rt, struct xs2s_link *l, uint16_t q);
/* After writes on l: an <r/> when CONFIG_XS2S_SM_ACK_EVERY were written, else the timer. */
void xs2s_sm_after_write(struct xs2s_routes *rt, struct xs2s_link *l, uint32_t now);
/* Outbound: what the peer's latest <stream:features/> say. */
void xs2s_sm_note_features(struct xs2s_routes *rt, const struct xs2s_link *l, const struct xs2s_el *features);
/* Outbound: the stream is authenticated; <enable/> when the peer offered it. */
void xs2s_sm_start(struct xs2s_routes *rt, struct xs2s_link *l);
/* An element in XS2S_NS_SM on l; authenticated: a pair is valid on it. */
void xs2s_sm_element(struct xs2s_routes *rt, struct xs2s_link *l, const struct xs2s_el *el, bool authenticated);
/* A stanza from the peer was handled (counted for h when on). */
void xs2s_sm_handled(struct xs2s_routes *rt, const struct xs2s_link *l);
/* Deadlines: an <r/> that is due, an <a/> that waited for room. */
void xs2s_sm_timer(struct xs2s_routes *rt, struct xs2s_link *l, uint32_t now);
/* Milliseconds until l's next SM deadline (UINT32_MAX: none). */
uint32_t xs2s_sm_next_ms(const struct xs2s_routes *rt, const struct xs2s_link *l, uint32_t now);
/* Link id on slot went down: its unacknowledged stanzas go back to the
 * front of their routes' queues, in order; the slot's state is cleared. */
void xs2s_sm_link_down(struct xs2s_routes *rt, uint8_t slot, unsigned link);
/* Stanzas written on l not acknowledged yet. */
unsigned xs2s_sm_unacked(const struct xs2s_routes *rt, const struct xs2s_link *l);
/* Ask for an ack now (the engine stops): an <r/> unless one is out. */
void xs2s_sm_request_now(struct xs2s_routes *rt, struct xs2s_link *l);
/* Stream management is on for what we write on l (our stanzas are counted
 * in the peer's h): a liveness probe must then be an <r/>, not a stanza. */
bool xs2s_sm_counts_ours(const struct xs2s_routes *rt, const struct xs2s_link *l);
/* The liveness probe on such a link (engine/live.c): an <r/> (XEP-0198 4:
 * the peer MUST answer with <a/>), whatever is unacknowledged; an XEP-0199
 * ping stanza would count in the peer's h without being in our list, and
 * its next <a h/> would look too high. false when it could not be written. */
bool xs2s_sm_probe(struct xs2s_routes *rt, struct xs2s_link *l);
/* Status: slot's state when it belongs to link (NULL otherwise). */
const struct xs2s_sm *xs2s_sm_of(const struct xs2s_routes *rt, const struct xs2s_link *l);
const char *xs2s_sm_state_name(const struct xs2s_sm *sm);
#else
#define XS2S_SM_FEATURE ""
static inline void xs2s_sm_init(struct xs2s_routes *rt) { (void)rt; }
static inline bool xs2s_sm_tracking(const struct xs2s_routes *rt, const struct xs2s_link *l)
{
	(void)rt, (void)l;
	return false;
}
static inline bool xs2s_sm_room(const struct xs2s_routes *rt, const struct xs2s_link *l, size_t len)
{
	(void)rt, (void)l, (void)len;
	return true;
}
static inline void xs2s_sm_push(struct xs2s_routes *rt, struct xs2s_link *l, uint16_t q) { (void)rt, (void)l, (void)q; }
static inline void xs2s_sm_after_write(struct xs2s_routes *rt, struct xs2s_link *l, uint32_t now)
{
	(void)rt, (void)l, (void)now;
}
static inline unsigned xs2s_sm_unacked(const struct xs2s_routes *rt, const struct xs2s_link *l)
{
	(void)rt, (void)l;
	return 0;
}
static inline void xs2s_sm_request_now(struct xs2s_routes *rt, struct xs2s_link *l) { (void)rt, (void)l; }
static inline bool xs2s_sm_counts_ours(const struct xs2s_routes *rt, const struct xs2s_link *l)
{
	(void)rt, (void)l;
	return false;
}
static inline bool xs2s_sm_probe(struct xs2s_routes *rt, struct xs2s_link *l)
{
	(void)rt, (void)l;
	return false;
}
#endif

#endif
