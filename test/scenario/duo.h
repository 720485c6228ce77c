/* Two real engines in one process over the fake port (test_sc_federation.c,
 * test_sc_directtls.c): the throw-away PKI's files (XS2S_SC_PKI, made by
 * scenario.mk) and the loops that poll both engines until they are quiet,
 * or run their timers. No cmocka here (this is a library object, built
 * for cross targets without its headers): failures are returned, and the
 * tests assert on them. */
#ifndef XS2S_SC_DUO_H
#define XS2S_SC_DUO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "xs2s.h"

#define SC_DUO_ROUNDS_MAX 200000 /* poll rounds before a scenario is declared stuck */
#define SC_DUO_QUIET_ROUNDS 3    /* rounds without activity that count as quiet */
#define SC_DUO_TIMER_JUMPS 64    /* clock jumps to the nearest deadline at the most */

/* The file name in XS2S_SC_PKI, read whole and NUL-terminated (*len without
 * the NUL); the caller frees it. NULL (and a line on stderr) when it
 * cannot be read. */
uint8_t *sc_pki_read(const char *name, size_t *len);
/* Poll a and b until nothing moves on the fake network and neither has
 * work; false when they never go quiet. */
bool sc_duo_settle(struct xs2s_engine *a, struct xs2s_engine *b);
/* Until both are idle: jump the clock to the nearer deadline, then settle;
 * false when a settle failed. */
bool sc_duo_run_timers(struct xs2s_engine *a, struct xs2s_engine *b);
/* Take one message from e's inbox as "from>to|type|error|body"; false when
 * the inbox is empty. */
bool sc_duo_take(struct xs2s_engine *e, char *line, size_t cap);
/* After fini: the first of e's pools and arenas that is not empty (its
 * name), NULL when every one is (the leak gate). */
const char *sc_duo_leftover(struct xs2s_engine *e);

#endif
