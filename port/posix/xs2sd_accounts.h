/* xs2sd's device accounts: the options (--account, --subscription-policy,
 * --allow-subscriber, --subscriptions-file; the same keys in the
 * configuration file), the subscriptions file (the engine's store hook,
 * written atomically: a new copy renamed over the old one) and the admin
 * commands of xs2sctl (subscriptions, subscription accept|refuse).
 *
 * The file: one subscription per line, "ACCOUNT CONTACT STATE" (STATE:
 * pending or subscribed), '#' comments; written by xs2sd after every
 * change. A line xs2sd cannot read stops it at start, naming the file and
 * line (a subscription it dropped would be lost at the next save). A file
 * that does not exist is an empty table.
 *
 * Without CONFIG_XS2S_ACCOUNTS_PRESENCE the options are refused with a
 * message (but the subscriptions file, which the installed configuration
 * names for every build: nothing to keep) and the admin commands say so. */
#ifndef XS2SD_ACCOUNTS_H
#define XS2SD_ACCOUNTS_H

#include <stdbool.h>
#include "xs2s.h"
#include "xs2s_wbuf.h"

enum xs2sd_acct_opt {
	XS2SD_ACCT_ACCOUNT,        /* --account JID (repeatable) */
	XS2SD_ACCT_POLICY,         /* --subscription-policy accept-all|allow-list|ask */
	XS2SD_ACCT_ALLOW,          /* --allow-subscriber JID|DOMAIN (repeatable) */
	XS2SD_ACCT_FILE,           /* --subscriptions-file PATH */
};

/* The Kconfig defaults into cfg (after xs2s_config_defaults). */
void xs2sd_acct_defaults(struct xs2s_config *cfg);
/* Apply one option: 0, or -1 after saying what is wrong at `where`. val
 * stays referenced (argv or the configuration file's buffer). */
int xs2sd_acct_option(struct xs2s_config *cfg, enum xs2sd_acct_opt opt, const char *val, const char *where);
/* After all options: the lists and the store into cfg; warnings. */
void xs2sd_acct_finish(struct xs2s_config *cfg);
/* An admin request of xs2sctl: true when it was one of ours (answer in w). */
bool xs2sd_acct_admin(struct xs2s_engine *eng, char *req, struct xs2s_wbuf *w);

#endif
