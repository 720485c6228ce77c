/* The fuzz build's TLS: firmware/link/tls.h implemented without
 * cryptography, so that a fuzzer can speak "TLS" to the real link state
 * machine (STARTTLS switch, stream restarts, SASL EXTERNAL verdicts).
 *
 * Linked instead of firmware/link/tls.c into fuzz_starttls only (mk/fuzz.mk,
 * and its gcc replay build). Everything the link sees of TLS keeps its
 * shape: handshake progress with want-read/want-write, records that arrive
 * in pieces, peek/consume of plaintext, a bounded tx queue, close_notify and
 * fatal alerts, post-handshake messages, the TLS arena charged per link, and
 * a certificate verdict that goes through the real DER walker and matcher
 * (firmware/link/certid.c), exactly as tls.c does.
 *
 * Wire format: records of [type 1 byte][length 2 bytes, big-endian][payload],
 * payload at most TLS_SHIM_RECORD_MAX bytes (more: a fatal "record overflow").
 *   HELLO (0x16)  the handshake: each side sends one. Payload: flags, then
 *                 the sender's certificate (DER, may be empty). Flags bits
 *                 0-1: the chain as the receiver's verifier would judge it
 *                 (TLS_SHIM_CHAIN_*); bit 7 after the handshake: a
 *                 post-handshake message (a session ticket: consumed, no
 *                 data); a HELLO without it after the handshake is a
 *                 renegotiation attempt, refused (fatal).
 *                 The client sends first; the server answers when it has
 *                 read the client's.
 *   DATA (0x17)   application data (empty records allowed).
 *   ALERT (0x15)  payload byte 0: 0 = close_notify (the peer's orderly end:
 *                 XS2S_EIO from peek), anything else fatal (XS2S_ETLS).
 *   Any other type, or a handshake record that is not a HELLO: fatal.
 */
#ifndef XS2S_TLS_SHIM_H
#define XS2S_TLS_SHIM_H

#define TLS_SHIM_HELLO 0x16
#define TLS_SHIM_DATA 0x17
#define TLS_SHIM_ALERT 0x15
#define TLS_SHIM_RECORD_MAX 4096
#define TLS_SHIM_CERT_MAX 2048      /* a peer certificate kept for the verdict */
#define TLS_SHIM_TICKET 0x80u       /* HELLO flag: post-handshake message */

enum tls_shim_chain {
	TLS_SHIM_CHAIN_OK = 0,      /* the chain verified */
	TLS_SHIM_CHAIN_UNTRUSTED,   /* an unknown issuer */
	TLS_SHIM_CHAIN_EXPIRED,     /* out of its validity period */
	TLS_SHIM_CHAIN_NONE,        /* no certificate sent (the DER is ignored) */
};

#endif
