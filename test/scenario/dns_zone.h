/* The scenarios' DNS server (a fake_udp_fn, see dns_zone.c for its zone). */
#ifndef XS2S_SC_DNS_ZONE_H
#define XS2S_SC_DNS_ZONE_H

#include <stddef.h>
#include <stdint.h>

int sc_dns_zone(void *arg, const uint8_t *req, size_t n, uint8_t *resp, size_t cap);

#endif
