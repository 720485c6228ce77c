/* What the route queue keeps about a stanza besides its bytes, so that a
 * bounce never has to parse it again: where from, to, id and the message
 * body sit in the serialized stanza (escaped, as written). */
#ifndef XS2S_STANZA_H
#define XS2S_STANZA_H

#include <stdbool.h>
#include <stdint.h>

/* An answer to a received stanza (an iq result or error) copies its
 * addresses and id as received: an error answering a stanza of MAX_STANZA
 * bytes can be this much longer (its <error/> element), and is sent so
 * rather than not at all (RFC 6120 8.2.3: every iq get/set gets a reply). */
#define XS2S_REPLY_SLACK 128

enum xs2s_stanza_kind { XS2S_ST_MESSAGE = 0, XS2S_ST_PRESENCE, XS2S_ST_IQ };

struct xs2s_span {
	uint16_t off, len;  /* bytes [off, off + len) of the stanza; len 0: absent */
};

struct xs2s_stanza_meta {
	uint8_t kind;          /* enum xs2s_stanza_kind */
	bool bounce;           /* bounced to its sender when undeliverable (not an error or a reply) */
	uint16_t track;        /* the application's completion (app/app.h) + 1; 0: none */
	struct xs2s_span from, to, id, body;
};

#endif
