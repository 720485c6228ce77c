/* The scenarios' DNS server (a fake_udp_fn, see dns_zone.c for its zone). */
#ifndef XS2S_SC_DNS_ZONE_H
#define XS2S_SC_DNS_ZONE_H

#include <stddef.h>
#include <stdint.h>

int sc_dns_zone(void *arg, const uint8_t *req, size_t n, uint8_t *resp, size_t cap);
/* For a zone of a test's own (RFC 1035 4.1): the question's name, dotted,
 * into out and its type; the offset after the question, 0 if malformed. */
size_t sc_dns_question(const uint8_t *q, size_t n, char *out, size_t cap, uint16_t *qtype);
/* v big-endian at p + off; the offset after it. */
size_t sc_dns_put16(uint8_t *p, size_t off, unsigned v);

#endif
