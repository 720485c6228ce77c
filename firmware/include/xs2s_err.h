/* Error codes and XMPP error conditions shared by every module. */
#ifndef XS2S_ERR_H
#define XS2S_ERR_H

/* Return codes: 0 or a positive count on success, one of these on failure.
 * Want-read and want-write are distinct: callers wait for the right direction. */
enum xs2s_err {
	XS2S_OK = 0,
	XS2S_EAGAIN = -1,     /* nothing to do now, try again later */
	XS2S_EWANTREAD = -2,  /* blocked until the socket is readable */
	XS2S_EWANTWRITE = -3, /* blocked until the socket is writable */
	XS2S_ENOMEM = -4,     /* a bounded pool or arena is exhausted */
	XS2S_EPROTO = -5,     /* the peer broke the protocol */
	XS2S_ETLS = -6,       /* TLS failure */
	XS2S_EAUTH = -7,      /* authentication failed */
	XS2S_ETIMEDOUT = -8,  /* a deadline passed */
	XS2S_EIO = -9,        /* socket error or peer closed */
	XS2S_EINVAL = -10,    /* bad argument or configuration */
	XS2S_ENOTFOUND = -11, /* name or route not found */
	XS2S_ERANGE = -12,    /* does not fit in the buffer given */
};

const char *xs2s_err_name(int err);

/* RFC 6120 4.9.3 stream error conditions. */
enum xs2s_stream_err {
	XS2S_SE_NONE = 0,
	XS2S_SE_BAD_FORMAT,
	XS2S_SE_BAD_NAMESPACE_PREFIX,
	XS2S_SE_CONFLICT,
	XS2S_SE_CONNECTION_TIMEOUT,
	XS2S_SE_HOST_GONE,
	XS2S_SE_HOST_UNKNOWN,
	XS2S_SE_IMPROPER_ADDRESSING,
	XS2S_SE_INTERNAL_SERVER_ERROR,
	XS2S_SE_INVALID_FROM,
	XS2S_SE_INVALID_NAMESPACE,
	XS2S_SE_INVALID_XML,
	XS2S_SE_NOT_AUTHORIZED,
	XS2S_SE_NOT_WELL_FORMED,
	XS2S_SE_POLICY_VIOLATION,
	XS2S_SE_REMOTE_CONNECTION_FAILED,
	XS2S_SE_RESET,
	XS2S_SE_RESOURCE_CONSTRAINT,
	XS2S_SE_RESTRICTED_XML,
	XS2S_SE_SEE_OTHER_HOST,
	XS2S_SE_SYSTEM_SHUTDOWN,
	XS2S_SE_UNDEFINED_CONDITION,
	XS2S_SE_UNSUPPORTED_ENCODING,
	XS2S_SE_UNSUPPORTED_FEATURE,
	XS2S_SE_UNSUPPORTED_STANZA_TYPE,
	XS2S_SE_UNSUPPORTED_VERSION,
	XS2S_SE__COUNT
};

/* RFC 6120 8.3.3 stanza error conditions (the ones xs2s emits or parses). */
enum xs2s_stanza_err {
	XS2S_STE_NONE = 0,
	XS2S_STE_BAD_REQUEST,
	XS2S_STE_FEATURE_NOT_IMPLEMENTED,
	XS2S_STE_INTERNAL_SERVER_ERROR,
	XS2S_STE_ITEM_NOT_FOUND,
	XS2S_STE_JID_MALFORMED,
	XS2S_STE_NOT_ALLOWED,
	XS2S_STE_POLICY_VIOLATION,
	XS2S_STE_RECIPIENT_UNAVAILABLE,
	XS2S_STE_REMOTE_SERVER_NOT_FOUND,
	XS2S_STE_REMOTE_SERVER_TIMEOUT,
	XS2S_STE_RESOURCE_CONSTRAINT,
	XS2S_STE_SERVICE_UNAVAILABLE,
	XS2S_STE_UNDEFINED_CONDITION,
	/* the rest of RFC 6120 8.3.3, for the application's iq errors */
	XS2S_STE_CONFLICT,
	XS2S_STE_FORBIDDEN,
	XS2S_STE_GONE,
	XS2S_STE_NOT_ACCEPTABLE,
	XS2S_STE_NOT_AUTHORIZED,
	XS2S_STE_PAYMENT_REQUIRED,
	XS2S_STE_REDIRECT,
	XS2S_STE_REGISTRATION_REQUIRED,
	XS2S_STE_SUBSCRIPTION_REQUIRED,
	XS2S_STE_UNEXPECTED_REQUEST,
	XS2S_STE__COUNT
};

/* Element names as they appear on the wire ("not-well-formed"). */
const char *xs2s_stream_err_name(enum xs2s_stream_err e);
const char *xs2s_stanza_err_name(enum xs2s_stanza_err e);
/* The RFC 6120 8.3.2 error type that goes with a stanza condition ("cancel", "wait", ...). */
const char *xs2s_stanza_err_type(enum xs2s_stanza_err e);
/* The condition named name, or XS2S_STE_NONE when RFC 6120 8.3.3 has none of that name. */
enum xs2s_stanza_err xs2s_stanza_err_by_name(const char *name);

#endif
