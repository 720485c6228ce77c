/* Stream framer: cuts the never-closed <stream:stream> document into the
 * stream header and complete top-level elements (stanzas), one at a time.
 *
 * Pure and resumable at any byte boundary: feeding a stream in one call or
 * one byte per call yields the same events. No allocation, no I/O.
 *
 * What it enforces (RFC 6120 11):
 *   - an optional XML declaration (<?xml ...?>) before the header only;
 *   - no DOCTYPE, comments, processing instructions: XS2S_SE_RESTRICTED_XML;
 *   - entity references only the five predefined ones and numeric character
 *     references of XML Char values: otherwise XS2S_SE_RESTRICTED_XML;
 *   - valid, shortest-form UTF-8 without surrogates: otherwise
 *     XS2S_SE_UNSUPPORTED_ENCODING; control characters other than TAB, CR, LF:
 *     XS2S_SE_NOT_WELL_FORMED;
 *   - a header or stanza larger than the buffer: XS2S_SE_POLICY_VIOLATION;
 *   - text between stanzas other than whitespace (keepalives are whitespace):
 *     XS2S_SE_NOT_WELL_FORMED; a malformed tag: XS2S_SE_NOT_WELL_FORMED.
 * CDATA sections inside a stanza are framed (a '<' inside them does not open a
 * tag) and passed through.
 */
#ifndef XS2S_FRAMER_H
#define XS2S_FRAMER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xs2s_err.h"

enum xs2s_frame_ev {
	XS2S_FRAME_NONE = 0, /* input consumed, nothing complete yet */
	XS2S_FRAME_HEADER,   /* buf holds the stream header start tag "<stream:stream ...>" */
	XS2S_FRAME_STANZA,   /* buf holds one complete top-level element */
	XS2S_FRAME_CLOSE,    /* the stream's closing tag "</stream:stream>" was read */
};

struct xs2s_framer {
	char *buf;                  /* caller's stanza buffer, cap + 1 bytes */
	size_t cap;                 /* largest header/stanza in bytes */
	size_t len;                 /* bytes of the current header/stanza in buf */
	enum xs2s_stream_err err;   /* sticky first error, XS2S_SE_NONE if none */
	/* Parser state below: private. */
	uint8_t st;                 /* lexer state */
	uint8_t sub;                /* sub-state (quote char, CDATA/PI match progress) */
	uint8_t utf8_need;          /* continuation bytes still expected */
	uint8_t utf8_len;           /* length of the current UTF-8 sequence */
	uint32_t utf8_cp;           /* code point being decoded */
	uint32_t depth;             /* element depth inside the stream (0 = between stanzas) */
	uint8_t seen_header;        /* header returned for the current stream */
	uint8_t seen_decl;          /* XML declaration read for the current stream */
	uint8_t ent_len;            /* bytes of the entity reference being read */
	char ent[12];               /* entity reference being read (without & and ;) */
};

/* Prepare a framer over buf, which MUST have cap + 1 bytes: after each event
 * buf[len] is a NUL so the stanza can be parsed as a C string. */
void xs2s_framer_init(struct xs2s_framer *f, char *buf, size_t cap);

/* Start a new stream on the same framer (after STARTTLS or SASL): expect an
 * optional XML declaration and a new header. Clears the error. */
void xs2s_framer_reset(struct xs2s_framer *f);

/* Between stanzas (or after the stream's end): nothing collected is still
 * needed, so the buffer may be swapped (the last event's text is released
 * by the next feed anyway). */
bool xs2s_framer_idle(const struct xs2s_framer *f);
/* Another buffer (cap + 1 bytes), or NULL for none, for a framer that is
 * idle; its state is kept. */
void xs2s_framer_set_buf(struct xs2s_framer *f, char *buf);

/* Feed up to len bytes. Consumes bytes until an event completes or the input
 * ends, and stops right after an event so that the caller can act on it (for
 * example switch to TLS after <proceed/>) before any further byte is read.
 * *consumed is set to the bytes used. Returns the event (>= 0), or
 * XS2S_EPROTO with f->err set; after an error every call returns XS2S_EPROTO.
 * The header/stanza in buf stays valid until the next call. */
int xs2s_framer_feed(struct xs2s_framer *f, const uint8_t *data, size_t len, size_t *consumed);

#endif
