/* Names of xs2s return codes and of the RFC 6120 stream (4.9.3) and stanza
 * (8.3.3) error conditions, plus the error type that goes with each stanza
 * condition (8.3.2). Tables are indexed by the enums of xs2s_err.h.
 */
#include <stddef.h>
#include <string.h>
#include "xs2s_err.h"

#define ERR_LEN(t) (sizeof(t) / sizeof((t)[0]))
#define ERR_CODES (1 - XS2S_ERANGE)  /* XS2S_OK .. XS2S_ERANGE, indexed by -code */
#define ERR_UNKNOWN "E?"
#define ERR_TYPE_DEFAULT "cancel"    /* type for NONE or an unknown condition */

static const char *const err_names[] = {
	[-XS2S_OK] = "OK",
	[-XS2S_EAGAIN] = "EAGAIN",
	[-XS2S_EWANTREAD] = "EWANTREAD",
	[-XS2S_EWANTWRITE] = "EWANTWRITE",
	[-XS2S_ENOMEM] = "ENOMEM",
	[-XS2S_EPROTO] = "EPROTO",
	[-XS2S_ETLS] = "ETLS",
	[-XS2S_EAUTH] = "EAUTH",
	[-XS2S_ETIMEDOUT] = "ETIMEDOUT",
	[-XS2S_EIO] = "EIO",
	[-XS2S_EINVAL] = "EINVAL",
	[-XS2S_ENOTFOUND] = "ENOTFOUND",
	[-XS2S_ERANGE] = "ERANGE",
};
_Static_assert(ERR_LEN(err_names) == ERR_CODES, "one name per return code");

static const char *const stream_err_names[] = {
	[XS2S_SE_NONE] = "none",
	[XS2S_SE_BAD_FORMAT] = "bad-format",
	[XS2S_SE_BAD_NAMESPACE_PREFIX] = "bad-namespace-prefix",
	[XS2S_SE_CONFLICT] = "conflict",
	[XS2S_SE_CONNECTION_TIMEOUT] = "connection-timeout",
	[XS2S_SE_HOST_GONE] = "host-gone",
	[XS2S_SE_HOST_UNKNOWN] = "host-unknown",
	[XS2S_SE_IMPROPER_ADDRESSING] = "improper-addressing",
	[XS2S_SE_INTERNAL_SERVER_ERROR] = "internal-server-error",
	[XS2S_SE_INVALID_FROM] = "invalid-from",
	[XS2S_SE_INVALID_NAMESPACE] = "invalid-namespace",
	[XS2S_SE_INVALID_XML] = "invalid-xml",
	[XS2S_SE_NOT_AUTHORIZED] = "not-authorized",
	[XS2S_SE_NOT_WELL_FORMED] = "not-well-formed",
	[XS2S_SE_POLICY_VIOLATION] = "policy-violation",
	[XS2S_SE_REMOTE_CONNECTION_FAILED] = "remote-connection-failed",
	[XS2S_SE_RESET] = "reset",
	[XS2S_SE_RESOURCE_CONSTRAINT] = "resource-constraint",
	[XS2S_SE_RESTRICTED_XML] = "restricted-xml",
	[XS2S_SE_SEE_OTHER_HOST] = "see-other-host",
	[XS2S_SE_SYSTEM_SHUTDOWN] = "system-shutdown",
	[XS2S_SE_UNDEFINED_CONDITION] = "undefined-condition",
	[XS2S_SE_UNSUPPORTED_ENCODING] = "unsupported-encoding",
	[XS2S_SE_UNSUPPORTED_FEATURE] = "unsupported-feature",
	[XS2S_SE_UNSUPPORTED_STANZA_TYPE] = "unsupported-stanza-type",
	[XS2S_SE_UNSUPPORTED_VERSION] = "unsupported-version",
};
_Static_assert(ERR_LEN(stream_err_names) == XS2S_SE__COUNT, "one name per stream error");

struct err_stanza {
	const char *name;
	const char *type;
};

static const struct err_stanza stanza_errs[] = {
	[XS2S_STE_NONE] = { "none", ERR_TYPE_DEFAULT },
	[XS2S_STE_BAD_REQUEST] = { "bad-request", "modify" },
	[XS2S_STE_FEATURE_NOT_IMPLEMENTED] = { "feature-not-implemented", "cancel" },
	[XS2S_STE_INTERNAL_SERVER_ERROR] = { "internal-server-error", "cancel" },
	[XS2S_STE_ITEM_NOT_FOUND] = { "item-not-found", "cancel" },
	[XS2S_STE_JID_MALFORMED] = { "jid-malformed", "modify" },
	[XS2S_STE_NOT_ALLOWED] = { "not-allowed", "cancel" },
	[XS2S_STE_POLICY_VIOLATION] = { "policy-violation", "modify" },
	[XS2S_STE_RECIPIENT_UNAVAILABLE] = { "recipient-unavailable", "wait" },
	[XS2S_STE_REMOTE_SERVER_NOT_FOUND] = { "remote-server-not-found", "cancel" },
	[XS2S_STE_REMOTE_SERVER_TIMEOUT] = { "remote-server-timeout", "wait" },
	[XS2S_STE_RESOURCE_CONSTRAINT] = { "resource-constraint", "wait" },
	[XS2S_STE_SERVICE_UNAVAILABLE] = { "service-unavailable", "cancel" },
	[XS2S_STE_UNDEFINED_CONDITION] = { "undefined-condition", "cancel" },
	[XS2S_STE_CONFLICT] = { "conflict", "cancel" },
	[XS2S_STE_FORBIDDEN] = { "forbidden", "auth" },
	[XS2S_STE_GONE] = { "gone", "cancel" },
	[XS2S_STE_NOT_ACCEPTABLE] = { "not-acceptable", "modify" },
	[XS2S_STE_NOT_AUTHORIZED] = { "not-authorized", "auth" },
	[XS2S_STE_PAYMENT_REQUIRED] = { "payment-required", "auth" },
	[XS2S_STE_REDIRECT] = { "redirect", "modify" },
	[XS2S_STE_REGISTRATION_REQUIRED] = { "registration-required", "auth" },
	[XS2S_STE_SUBSCRIPTION_REQUIRED] = { "subscription-required", "auth" },
	[XS2S_STE_UNEXPECTED_REQUEST] = { "unexpected-request", "wait" },
};
_Static_assert(ERR_LEN(stanza_errs) == XS2S_STE__COUNT, "one entry per stanza error");

const char *xs2s_err_name(int err)
{
	if (err >= XS2S_OK)
		return err_names[-XS2S_OK]; /* 0 or a positive count: success */
	if (err < XS2S_ERANGE || !err_names[-err])
		return ERR_UNKNOWN;
	return err_names[-err];
}

/* An unknown condition goes on the wire as undefined-condition. */
const char *xs2s_stream_err_name(enum xs2s_stream_err e)
{
	if ((unsigned)e >= XS2S_SE__COUNT || !stream_err_names[e])
		return stream_err_names[XS2S_SE_UNDEFINED_CONDITION];
	return stream_err_names[e];
}

const char *xs2s_stanza_err_name(enum xs2s_stanza_err e)
{
	if ((unsigned)e >= XS2S_STE__COUNT || !stanza_errs[e].name)
		return stanza_errs[XS2S_STE_UNDEFINED_CONDITION].name;
	return stanza_errs[e].name;
}

const char *xs2s_stanza_err_type(enum xs2s_stanza_err e)
{
	if ((unsigned)e >= XS2S_STE__COUNT || !stanza_errs[e].type)
		return ERR_TYPE_DEFAULT;
	return stanza_errs[e].type;
}

enum xs2s_stanza_err xs2s_stanza_err_by_name(const char *name)
{
	unsigned i;

	for (i = XS2S_STE_NONE + 1; name && i < XS2S_STE__COUNT; i++)
		if (!strcmp(stanza_errs[i].name, name))
			return (enum xs2s_stanza_err)i;
	return XS2S_STE_NONE;
}
