/* The one door to the engine for the scenario runner and the engine fuzz
 * harness. Every call into the engine's API (and the few internal figures
 * the leak gate reads) is in engine_drv.c and nowhere else: when the
 * engine's API changes, this pair of files is what changes.
 *
 * Contract: drv_start() once per scenario run, after fake_reset(); then any
 * number of drv_poll()/drv_send()/drv_inbox_take() calls; drv_stop() and
 * drv_poll() until drv_idle(), then drv_fini(). One engine at a time (the
 * driver's; the two-engine scenarios use the API directly). Strings given
 * in a drv_config are used only during drv_start().
 */
#ifndef XS2S_ENGINE_DRV_H
#define XS2S_ENGINE_DRV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DRV_DOMAINS 4      /* local domains a scenario may configure */
#define DRV_HOSTMAP 8      /* static host map entries per configuration */
#define DRV_FIELD 256      /* inbox field copies (longer values are cut) */
#define DRV_BODY 12288     /* inbox body copy */
#define DRV_ASKS 8         /* subscription requests the ask callback recorded, not yet taken */
#define DRV_STORE 8192     /* the saved subscription table, as text */

struct drv_config {
	const char *domains[DRV_DOMAINS]; /* primary first; NULL after the last */
	const char *listen_addr;          /* NULL: no listener */
	uint16_t listen_port;
	const char *secret;               /* dialback secret (XEP-0185) */
	bool tls_required;                /* false: optional, INSECURE plaintext fallback */
	bool dialback;                    /* offer and use dialback */
	bool sasl_external;               /* offer and use SASL EXTERNAL (needs a certificate) */
	bool secure_auth;
	const char *secure_auth_exceptions;
	bool bidi;                        /* XEP-0288 offered and used (off unless a scenario asks: SC_BIDI) */
	const char *dns_server;           /* "addr:port" for the resolver */
	const char *host_map[DRV_HOSTMAP];/* "domain=addr:port"; NULL after the last */
	const void *cert_pem, *key_pem;   /* NULL: no certificate (STARTTLS not offered) */
	size_t cert_len, key_len;
	/* device accounts (CONFIG_XS2S_ACCOUNTS_PRESENCE) */
	const char *accounts;             /* space-separated bare JIDs; NULL: none */
	int sub_policy;                   /* enum xs2s_sub_policy */
	const char *sub_allow;            /* space-separated allow list */
	bool ask;                         /* the ask callback records requests (drv_ask_take) */
	bool store;                       /* a store: loads store_initial, keeps what is saved (drv_store_text) */
	const char *store_initial;        /* "ACCOUNT CONTACT pending|subscribed\n" lines; "bad" fails the load */
	const char *components;           /* XEP-0114 "name=secret ..."; NULL: none */
	const char *component_listen;     /* "addr:port" of their listener */
	/* liveness and policy (Kconfig.policy); 0 / NULL: off */
	unsigned ping_idle_s, ping_timeout_s;
	const char *allow, *deny;         /* domain lists */
	unsigned rate, rate_burst, rate_hard_s;
	uint32_t route_deadline_s;        /* retry failed routes this long (0: bounce at the first failure) */
};

/* What the application sees in the inbox (copies). */
struct drv_msg {
	char from[DRV_FIELD], to[DRV_FIELD], type[DRV_FIELD], error[DRV_FIELD], error_text[DRV_FIELD];
	char body[DRV_BODY];
};

/* Every pool and arena of the engine, for the leak gate. */
struct drv_pools {
	unsigned links;          /* link slots in use */
	unsigned queued;         /* stanzas in route queues */
	unsigned routes;         /* domain pairs in the route table */
	unsigned events;         /* events waiting or lost */
	size_t queue_bytes;      /* queue arena in use */
	unsigned inbox_msgs;     /* inbox entries */
	size_t inbox_bytes;
	size_t xml_bytes;        /* XML arena in use (Mini-XML's globals stay) */
	size_t tls_bytes;        /* TLS arena in use, all owners */
	size_t tls_link_bytes;   /* TLS arena charged to link slots */
	unsigned resolver_busy;  /* resolver lookup slots not free */
	unsigned completions;    /* application completions not yet fired */
	unsigned iq_requests;    /* iq requests waiting */
	size_t local_queue;      /* local queue bytes */
	unsigned accounts;       /* account table rows in use */
	unsigned subscriptions;  /* subscription table rows in use */
	unsigned comp_links;     /* component links (any state) */
	unsigned comp_used;      /* component names bound to a link */
	unsigned link_bufs;      /* buffers on loan to links, all four pools (link/bufs.h) */
};

/* XS2S_OK or the engine's error. */
int drv_start(const struct drv_config *c);

/* The application interface (xs2s_app.h). What the application sees of it
 * (completions, iq answers, stanzas its handlers got) is recorded as text
 * lines, in the order it happened (drv_event_take):
 *   "done ID sent" | "done ID bounced COND TEXT"
 *   "iq ID result" | "iq ID error COND TEXT" | "iq ID timeout"
 *   "handled KIND FROM -> TO BODY" (BODY: the <body/> text, or the first
 *   child as {ns}name) */
#define DRV_EVENT 512
/* xs2s_send_raw of xml, with a completion when track. */
int drv_send_raw(const char *xml, bool track);
/* xs2s_iq_request of an iq TYPE with id and payload. */
int drv_iq(const char *from, const char *to, const char *type, const char *id, const char *payload,
	   uint32_t timeout_ms);
/* A handler for jid (NULL: any), kind ("message", "presence", "iq", NULL:
 * any) and child namespace ns (NULL: any) that records what it gets and
 * claims it when claim: its id (> 0) or the engine's error. */
int drv_handler(const char *jid, const char *kind, const char *ns, bool claim);
/* The oldest recorded line, removed; false when none. */
bool drv_event_take(char *line, size_t cap);
/* One engine round; the engine waits at most timeout_ms (the fake port
 * never sleeps: it records what the engine asked for). */
void drv_poll(uint32_t timeout_ms);
void drv_stop(void);
bool drv_idle(void);
/* Release the listener and the TLS contexts (after idle). */
void drv_fini(void);
/* The application sends a chat message: XS2S_OK, XS2S_EINVAL, XS2S_ENOMEM... */
int drv_send(const char *from, const char *to, const char *body);
/* Take the oldest inbox entry: true and *m, or false when empty. */
bool drv_inbox_take(struct drv_msg *m);
/* The operator's status table and JSON, NUL-terminated (cut to cap). */
void drv_status_text(char *buf, size_t cap);
void drv_status_json(char *buf, size_t cap);
void drv_pools(struct drv_pools *p);
/* Device accounts: XS2S_OK or the engine's error (XS2S_EINVAL without
 * CONFIG_XS2S_ACCOUNTS_PRESENCE). */
int drv_account_add(const char *account);
int drv_account_answer(const char *account, const char *contact, bool accept);
int drv_account_presence(const char *account, bool available, const char *show, const char *status);
/* The oldest request the ask callback recorded: true and account, contact. */
bool drv_ask_take(char account[DRV_FIELD], char contact[DRV_FIELD]);
/* What the store saved last ("" when nothing yet), and how many saves. */
const char *drv_store_text(void);
unsigned drv_store_saves(void);
/* Run-time log level (1..4). */
void drv_log_level(int level);
/* The name of an XS2S_E* code ("ENOMEM"). */
const char *drv_err_name(int err);

#endif
