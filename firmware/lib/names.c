/* Names of the shared enums of types.h (logs and status). */
#include <stddef.h>
#include "lib/types.h"

#define NAMES_LEN(t) (sizeof(t) / sizeof((t)[0]))

static const char *const cert_names[] = {
	[XS2S_CERT_NONE] = "none", [XS2S_CERT_VALID] = "valid", [XS2S_CERT_UNTRUSTED] = "untrusted",
	[XS2S_CERT_EXPIRED] = "expired", [XS2S_CERT_NAME_MISMATCH] = "name-mismatch",
};

static const char *const auth_method_names[] = {
	[XS2S_AUTH_NONE] = "none",
	[XS2S_AUTH_DIALBACK] = "dialback",
	[XS2S_AUTH_DIALBACK_CERT] = "dialback+cert",
	[XS2S_AUTH_SASL_EXTERNAL] = "sasl-external",
};

const char *xs2s_cert_verdict_name(enum xs2s_cert_verdict v)
{
	return (unsigned)v < NAMES_LEN(cert_names) ? cert_names[v] : "?";
}

const char *xs2s_auth_method_name(enum xs2s_auth_method m)
{
	return (unsigned)m < NAMES_LEN(auth_method_names) ? auth_method_names[m] : "?";
}

const char *xs2s_u64_dec(char out[XS2S_U64_DEC], uint64_t v)
{
	char *p = out + XS2S_U64_DEC - 1;

	*p = '\0';
	do {
		*--p = (char)('0' + v % 10u);
		v /= 10u;
	} while (v);
	return p;
}
