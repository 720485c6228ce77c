/* Values derived from Kconfig and the invariants they must keep. */
#ifndef XS2S_CONFIG_H
#define XS2S_CONFIG_H

#include <assert.h>

_Static_assert(CONFIG_XS2S_MAX_STANZA >= 10000, "RFC 6120 13.12: stanzas up to 10000 bytes");
_Static_assert(CONFIG_XS2S_OUT_BUF >= CONFIG_XS2S_MAX_STANZA + 128,
	       "Kconfig: XS2S_OUT_BUF must hold the largest stanza and 128 bytes for the stream's last elements");
_Static_assert(CONFIG_XS2S_MAX_LINKS <= 250, "link slots are indexed by uint8_t");
_Static_assert(CONFIG_XS2S_MAX_PAIRS <= 250, "pairs are indexed by uint8_t");
_Static_assert(CONFIG_XS2S_MAX_LINKS * CONFIG_XS2S_MAX_PAIRS <= 4096, "routes are indexed by uint16_t");

/* 1 when a bool Kconfig symbol is set, 0 otherwise (autoconf.h leaves it undefined). */
#define IS_ENABLED_XS2S(opt) IS_ENABLED_XS2S_(opt)
#define IS_ENABLED_XS2S_(opt) (#opt[0] == '1' && #opt[1] == '\0')

#if !defined(CONFIG_XS2S_AUTH_SASL_EXTERNAL) && !defined(CONFIG_XS2S_AUTH_DIALBACK)
#error "Kconfig: enable at least one authentication method (XS2S_AUTH_SASL_EXTERNAL or XS2S_AUTH_DIALBACK)"
#endif

#if CONFIG_XS2S_TLS_REQUIRED
#define XS2S_DEFAULT_TLS_POLICY XS2S_TLS_POLICY_REQUIRED
#else
#define XS2S_DEFAULT_TLS_POLICY XS2S_TLS_POLICY_OPTIONAL_INSECURE
#endif

#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE
#if defined(CONFIG_XS2S_SUB_POLICY_ACCEPT_ALL)
#define XS2S_DEFAULT_SUB_POLICY XS2S_SUB_ACCEPT_ALL
#elif defined(CONFIG_XS2S_SUB_POLICY_ASK)
#define XS2S_DEFAULT_SUB_POLICY XS2S_SUB_ASK
#else
#define XS2S_DEFAULT_SUB_POLICY XS2S_SUB_ALLOW_LIST
#endif
/* Subscriptions are tracked with meta.track values from 0x8000 up (app/account.h),
 * accounts by a uint8_t index. */
_Static_assert(CONFIG_XS2S_APP_SUBSCRIPTIONS < 0x8000 && CONFIG_XS2S_APP_PENDING < 0x8000,
	       "Kconfig: completions and subscriptions share the 16-bit stanza track");
_Static_assert(CONFIG_XS2S_APP_ACCOUNTS <= 250, "accounts are indexed by uint8_t");
#endif

#endif
