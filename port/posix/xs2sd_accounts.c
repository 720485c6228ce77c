/* xs2sd's device accounts: options, the subscriptions file, admin commands
 * (xs2sd_accounts.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "xs2s.h"
#include "xs2s_log.h"
#include "xs2sd_accounts.h"

#ifdef CONFIG_XS2S_ACCOUNTS_PRESENCE

#define ACCT_LIST_MAX 4096                              /* --account / --allow-subscriber lists, space-separated */
#define ACCT_LINE_MAX (2 * XS2S_ACCOUNT_JID_MAX + 32)   /* one line of the subscriptions file */

static char acct_accounts[ACCT_LIST_MAX];
static char acct_allow[ACCT_LIST_MAX];
static const char *acct_file;                           /* NULL: subscriptions in memory only */

static const char *const acct_policies[] = {
	[XS2S_SUB_ALLOW_LIST] = "allow-list", [XS2S_SUB_ACCEPT_ALL] = "accept-all", [XS2S_SUB_ASK] = "ask",
};

/* ---- the subscriptions file (struct xs2s_store) ---- */

static int file_load(void *ctx, xs2s_sub_record_fn add, void *add_arg)
{
	char line[ACCT_LINE_MAX + 2];
	unsigned lineno = 0, n = 0;
	FILE *f;
	int rc = XS2S_OK;

	(void)ctx;
	f = fopen(acct_file, "r");
	if (!f && errno == ENOENT) {
		XS2S_LOGI(0, "subscriptions file %s does not exist yet: no subscriptions", acct_file);
		return XS2S_OK;
	}
	if (!f) {
		XS2S_LOGE(0, "cannot read subscriptions file %s: %s", acct_file, strerror(errno));
		return XS2S_EIO;
	}
	while (rc == XS2S_OK && fgets(line, sizeof line, f)) {
		char acct[ACCT_LINE_MAX + 2], contact[ACCT_LINE_MAX + 2], state[16], extra[2];
		struct xs2s_sub_record r;
		size_t len = strlen(line);
		int k;

		lineno++;
		if (len && line[len - 1] != '\n' && !feof(f)) {
			XS2S_LOGE(0, "%s:%u: line longer than %d bytes", acct_file, lineno, ACCT_LINE_MAX);
			rc = XS2S_EINVAL;
			break;
		}
		k = sscanf(line, "%s %s %15s %1s", acct, contact, state, extra);
		if (k <= 0 || acct[0] == '#')
			continue; /* blank line or comment */
		if (k != 3 || (strcmp(state, "pending") && strcmp(state, "subscribed"))) {
			XS2S_LOGE(0, "%s:%u: expected 'ACCOUNT CONTACT pending|subscribed'", acct_file, lineno);
			rc = XS2S_EINVAL;
			break;
		}
		r.account = acct;
		r.contact = contact;
		r.state = !strcmp(state, "pending") ? XS2S_SUB_PENDING : XS2S_SUB_SUBSCRIBED;
		rc = add(add_arg, &r);
		if (rc != XS2S_OK)
			XS2S_LOGE(0, "%s:%u: subscription of %s to %s not loaded: %s", acct_file, lineno, contact, acct,
				  xs2s_err_name(rc));
		else
			n++;
	}
	if (rc == XS2S_OK && ferror(f)) {
		XS2S_LOGE(0, "cannot read subscriptions file %s: %s", acct_file, strerror(errno));
		rc = XS2S_EIO;
	}
	fclose(f);
	if (rc == XS2S_OK)
		XS2S_LOGI(0, "subscriptions file %s: %u subscription%s", acct_file, n, n == 1 ? "" : "s");
	return rc;
}

/* A new copy next to the file, synced, renamed over it: the file is the old
 * table or the new one, never half of either. */
static int file_save(void *ctx, xs2s_sub_next_fn next, void *it)
{
	char tmp[4096];
	struct xs2s_sub_record r;
	FILE *f;
	int fd, err = 0;

	(void)ctx;
	if (snprintf(tmp, sizeof tmp, "%s.tmp", acct_file) >= (int)sizeof tmp)
		return XS2S_ERANGE;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		XS2S_LOGE(0, "cannot write %s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		return XS2S_EIO;
	}
	fprintf(f, "# xs2sd subscriptions, written by xs2sd after every change: ACCOUNT CONTACT pending|subscribed\n");
	while (next(it, &r))
		fprintf(f, "%s %s %s\n", r.account, r.contact, r.state == XS2S_SUB_PENDING ? "pending" : "subscribed");
	if (fflush(f) || fsync(fileno(f)))
		err = errno;
	if (fclose(f) && !err)
		err = errno;
	if (!err && rename(tmp, acct_file))
		err = errno;
	if (err) {
		XS2S_LOGE(0, "cannot write subscriptions file %s: %s", acct_file, strerror(err));
		unlink(tmp);
		return XS2S_EIO;
	}
	return XS2S_OK;
}

static const struct xs2s_store acct_store = { file_load, file_save, NULL };

/* ---- options ---- */

void xs2sd_acct_defaults(struct xs2s_config *cfg)
{
	snprintf(acct_accounts, sizeof acct_accounts, "%s", cfg->accounts ? cfg->accounts : "");
	snprintf(acct_allow, sizeof acct_allow, "%s", cfg->sub_allow ? cfg->sub_allow : "");
	acct_file = CONFIG_XS2S_POSIX_SUBSCRIPTIONS_FILE[0] ? CONFIG_XS2S_POSIX_SUBSCRIPTIONS_FILE : NULL;
}

static int acct_append(char *list, size_t cap, const char *val, const char *where, const char *what)
{
	size_t n = strlen(list);

	if (!val[0] || strpbrk(val, " \t/") || n + 1 + strlen(val) >= cap) {
		fprintf(stderr, "xs2sd: %s: bad %s '%s' (%s; %zu bytes in all at most)\n", where, what, val,
			!strcmp(what, "account") ? "want a bare JID: name@domain" : "want a bare JID or a domain",
			cap - 1);
		return -1;
	}
	snprintf(list + n, cap - n, "%s%s", n ? " " : "", val);
	return 0;
}

int xs2sd_acct_option(struct xs2s_config *cfg, enum xs2sd_acct_opt opt, const char *val, const char *where)
{
	unsigned i;

	switch (opt) {
	case XS2SD_ACCT_ACCOUNT:
		if (!strchr(val, '@'))
			return fprintf(stderr, "xs2sd: %s: bad account '%s' (want a bare JID: name@domain)\n", where, val), -1;
		return acct_append(acct_accounts, sizeof acct_accounts, val, where, "account");
	case XS2SD_ACCT_ALLOW:
		return acct_append(acct_allow, sizeof acct_allow, val, where, "allow-list entry");
	case XS2SD_ACCT_POLICY:
		for (i = 0; i < sizeof acct_policies / sizeof acct_policies[0]; i++)
			if (!strcmp(val, acct_policies[i])) {
				cfg->sub_policy = (enum xs2s_sub_policy)i;
				return 0;
			}
		fprintf(stderr, "xs2sd: %s: bad subscription policy '%s' (accept-all, allow-list or ask)\n", where, val);
		return -1;
	case XS2SD_ACCT_FILE:
		acct_file = val[0] ? val : NULL;
		return 0;
	}
	return -1;
}

void xs2sd_acct_finish(struct xs2s_config *cfg)
{
	cfg->accounts = acct_accounts;
	cfg->sub_allow = acct_allow;
	cfg->sub_ask = NULL; /* ask: requests wait; xs2sctl subscriptions lists them */
	cfg->store = acct_file ? &acct_store : NULL;
	if (acct_accounts[0] && !acct_file)
		XS2S_LOGW(0, "accounts without --subscriptions-file: their subscriptions are lost when xs2sd stops");
	if (acct_accounts[0] && cfg->sub_policy == XS2S_SUB_ALLOW_LIST && !acct_allow[0])
		XS2S_LOGW(0, "subscription policy allow-list with an empty allow list: every request is refused "
			     "(--allow-subscriber)");
}

/* ---- admin ---- */

struct acct_list {
	struct xs2s_wbuf *w;
	bool json, first;
};

static int acct_list_one(void *arg, const struct xs2s_sub_record *r)
{
	struct acct_list *l = arg;
	const char *state = r->state == XS2S_SUB_PENDING ? "pending" : "subscribed";

	if (l->json) {
		xs2s_w_raw(l->w, l->first ? "{\"account\":" : ",{\"account\":");
		xs2s_w_json(l->w, r->account);
		xs2s_w_raw(l->w, ",\"contact\":");
		xs2s_w_json(l->w, r->contact);
		xs2s_w_fmt(l->w, ",\"state\":\"%s\"}", state);
	} else {
		xs2s_w_fmt(l->w, "%-32s %-40s %s\n", r->account, r->contact, state);
	}
	l->first = false;
	return XS2S_OK;
}

bool xs2sd_acct_admin(struct xs2s_engine *eng, char *req, struct xs2s_wbuf *w)
{
	if (!strcmp(req, "subscriptions") || !strcmp(req, "subscriptions-json")) {
		struct acct_list l = { w, req[13] == '-', true };

		if (l.json)
			xs2s_w_raw(w, "{\"subscriptions\":[");
		xs2s_account_subscriptions(eng, acct_list_one, &l);
		if (l.json)
			xs2s_w_raw(w, "]}\n");
		else if (l.first)
			xs2s_w_raw(w, "(no subscriptions)\n");
		return true;
	}
	if (!strncmp(req, "subscription\t", 13)) {
		char *verb = req + 13, *acct = strchr(verb, '\t'), *contact = acct ? strchr(acct + 1, '\t') : NULL;
		int rc;

		if (!contact || (strncmp(verb, "accept\t", 7) && strncmp(verb, "refuse\t", 7))) {
			xs2s_w_raw(w, "error: subscription needs accept|refuse, the account and the contact\n");
			return true;
		}
		*acct++ = '\0';
		*contact++ = '\0';
		rc = xs2s_account_answer(eng, acct, contact, verb[0] == 'a');
		if (rc == XS2S_OK)
			xs2s_w_raw(w, "ok\n");
		else
			xs2s_w_fmt(w, "error: %s\n", rc == XS2S_ENOTFOUND ? "no such account, or no request or subscription "
									   "of that contact"
						     : rc == XS2S_EINVAL ? "bad JID" : xs2s_err_name(rc));
		return true;
	}
	return false;
}

#else /* no device accounts in this build */

void xs2sd_acct_defaults(struct xs2s_config *cfg)
{
	(void)cfg;
}

int xs2sd_acct_option(struct xs2s_config *cfg, enum xs2sd_acct_opt opt, const char *val, const char *where)
{
	(void)cfg;
	if (opt == XS2SD_ACCT_FILE)
		return 0; /* nothing to keep (the installed configuration file names one for every build) */
	fprintf(stderr, "xs2sd: %s %s: this build has no device accounts (CONFIG_XS2S_ACCOUNTS_PRESENCE is off)\n",
		where, val);
	return -1;
}

void xs2sd_acct_finish(struct xs2s_config *cfg)
{
	(void)cfg;
}

bool xs2sd_acct_admin(struct xs2s_engine *eng, char *req, struct xs2s_wbuf *w)
{
	(void)eng;
	if (strncmp(req, "subscription", 12))
		return false;
	xs2s_w_raw(w, "error: this build has no device accounts (CONFIG_XS2S_ACCOUNTS_PRESENCE is off)\n");
	return true;
}

#endif
