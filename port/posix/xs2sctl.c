/* xs2sctl: talks to xs2sd's admin socket (the protocol: xs2sd.c, "admin
 * socket"). One request per connection; the answer is printed, an answer
 * starting with "error:" goes to stderr and makes the exit status 1.
 *   xs2sctl [--admin PATH] status [--json]
 *   xs2sctl [--admin PATH] send --from JID --to JID --body TEXT [--type T] [--id ID] [--wait]
 *   xs2sctl [--admin PATH] send --raw STANZA [--wait]
 *   xs2sctl [--admin PATH] inbox [--json]
 *   xs2sctl [--admin PATH] watch
 *   xs2sctl [--admin PATH] subscriptions [--json]
 *   xs2sctl [--admin PATH] subscription accept|refuse ACCOUNT CONTACT
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define REQ_MAX 65536
#define LINE_MAX_FIRST 1024 /* watch: xs2sd's first line ("ok watching ..." or an error) */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: xs2sctl [--admin PATH] COMMAND [options]\n"
		"  status [--json]      links, totals and pools (a table, or one JSON object)\n"
		"  send --from JID --to JID --body TEXT [--type TYPE] [--id ID] [--wait]\n"
		"                       send a message from a local JID (type chat unless --type: normal,\n"
		"                       headline, ...; the id is generated unless --id); prints ok id=ID\n"
		"  send --raw STANZA [--wait]\n"
		"                       send a stanza written whole: <message/>, <presence/> or <iq/> with\n"
		"                       'from' (a JID of xs2sd's domains) and 'to'; an id is added when it\n"
		"                       has none; whitespace around it is dropped. A stanza that is not\n"
		"                       well-formed, or from another domain, is refused (status 1) and\n"
		"                       nothing is sent\n"
		"  inbox [--json]       print and drain received messages and bounces\n"
		"  subscriptions [--json]\n"
		"                       device accounts' subscriptions and waiting requests\n"
		"  subscription accept|refuse ACCOUNT CONTACT\n"
		"                       answer a waiting subscription request (policy ask)\n"
		"  watch                print every stanza that reaches a local JID as it arrives, one JSON\n"
		"                       object per line (from, to, kind, type, id, xml), until interrupted;\n"
		"                       a watcher too slow for the traffic loses lines, never slows xs2sd:\n"
		"                       a line {\"skipped\":N} says how many. At most 3 watchers at a time\n"
		"options:\n"
		"  --admin PATH         xs2sd's admin socket [%s]\n"
		"  --wait               send: wait for the outcome: \"sent id=ID\" once handed to an\n"
		"                       authenticated stream (or delivered locally), or \"error: bounced\n"
		"                       id=ID: CONDITION\" (status 1). Without it a bounce comes back to\n"
		"                       the sender: xs2sctl inbox, xs2sctl watch\n"
		"exit status: 0; 1 when xs2sd cannot be reached or answers an error; 2 for a usage error\n",
		CONFIG_XS2S_POSIX_ADMIN_PATH);
}

/* Append the len bytes of s escaped (\\, TAB, newline) so the request
 * stays one line of TAB-separated fields; -1 when it does not fit. */
static int append_escaped(char *dst, size_t cap, const char *s, size_t len)
{
	size_t n = strlen(dst);
	const char *end = s + len;

	for (; s < end && *s; s++) {
		if (n + 3 >= cap)
			return -1;
		if (*s == '\\' || *s == '\t' || *s == '\n') {
			dst[n++] = '\\';
			dst[n++] = *s == '\t' ? 't' : *s == '\n' ? 'n' : '\\';
		} else {
			dst[n++] = *s;
		}
	}
	dst[n] = '\0';
	return 0;
}

static int connect_admin(const char *admin)
{
	struct sockaddr_un sa;
	int fd;

	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", admin);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "xs2sctl: cannot reach xs2sd at %s: %s\n", admin, strerror(errno));
		return -1;
	}
	return fd;
}

/* Print the answer until xs2sd closes: stdout, or stderr when it is an error. */
static int print_answer(int fd)
{
	char buf[4096];
	ssize_t n;
	int failed = 0, got = 0;

	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (!got && !strncmp(buf, "error:", 6))
			failed = 1;
		got = 1;
		fwrite(buf, 1, (size_t)n, failed ? stderr : stdout);
	}
	if (!got) {
		fprintf(stderr, "xs2sctl: xs2sd closed the connection without an answer\n");
		return 1;
	}
	return failed;
}

/* watch: xs2sd's first line says whether it watches; then every line is a
 * stanza (or a {"skipped":N} report), passed on as it comes. */
static int print_watch(int fd)
{
	char first[LINE_MAX_FIRST], buf[4096];
	size_t len = 0;
	ssize_t n;
	char *nl = NULL;

	while (!nl && len < sizeof first - 1 && (n = read(fd, first + len, sizeof first - 1 - len)) > 0) {
		len += (size_t)n;
		first[len] = '\0';
		nl = strchr(first, '\n');
	}
	if (!nl || strncmp(first, "ok ", 3)) {
		fprintf(stderr, "xs2sctl: %s", len ? first : "xs2sd closed the connection without an answer\n");
		return 1;
	}
	*nl = '\0';
	fprintf(stderr, "xs2sctl: %s (Ctrl-C stops)\n", first + 3);
	fwrite(nl + 1, 1, len - (size_t)(nl + 1 - first), stdout);
	fflush(stdout);
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout); /* a pipe (| jq) gets each line as it comes */
	}
	fprintf(stderr, "xs2sctl: xs2sd ended the watch\n");
	return 0;
}

int main(int argc, char **argv)
{
	static char req[REQ_MAX];
	const char *admin = CONFIG_XS2S_POSIX_ADMIN_PATH, *from = NULL, *to = NULL, *body = NULL, *cmd = NULL;
	const char *raw = NULL, *type = NULL, *id = NULL;
	int json = 0, wait = 0, i, fd, rc;
	const char *args[3] = { NULL, NULL, NULL }; /* subscription VERB ACCOUNT CONTACT */
	int nargs = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--admin") && i + 1 < argc) {
			admin = argv[++i];
		} else if (!strcmp(argv[i], "--json")) {
			json = 1;
		} else if (!strcmp(argv[i], "--wait")) {
			wait = 1;
		} else if (!strcmp(argv[i], "--from") && i + 1 < argc) {
			from = argv[++i];
		} else if (!strcmp(argv[i], "--to") && i + 1 < argc) {
			to = argv[++i];
		} else if (!strcmp(argv[i], "--body") && i + 1 < argc) {
			body = argv[++i];
		} else if (!strcmp(argv[i], "--type") && i + 1 < argc) {
			type = argv[++i];
		} else if (!strcmp(argv[i], "--id") && i + 1 < argc) {
			id = argv[++i];
		} else if (!strcmp(argv[i], "--raw") && i + 1 < argc) {
			raw = argv[++i];
		} else if (!cmd && argv[i][0] != '-') {
			cmd = argv[i];
		} else if (cmd && !strcmp(cmd, "subscription") && nargs < 3 && argv[i][0] != '-') {
			args[nargs++] = argv[i];
		} else {
			usage(stderr);
			return 2;
		}
	}
	if (!cmd) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(cmd, "status") || !strcmp(cmd, "inbox") || !strcmp(cmd, "subscriptions")) {
		snprintf(req, sizeof req, "%s%s\n", cmd, json ? "-json" : "");
	} else if (!strcmp(cmd, "watch")) {
		snprintf(req, sizeof req, "watch\n");
	} else if (!strcmp(cmd, "send") && raw) {
		if (from || to || body || type || id) {
			fprintf(stderr, "xs2sctl: send --raw takes the whole stanza: no --from, --to, --body, --type, --id\n");
			return 2;
		}
		size_t len;

		/* The stanza alone: whitespace around it (a file's last newline) is not sent. */
		raw += strspn(raw, " \t\r\n");
		for (len = strlen(raw); len && strchr(" \t\r\n", raw[len - 1]); len--)
			;
		snprintf(req, sizeof req, "send-raw\t%s\t", wait ? "wait" : "");
		if (append_escaped(req, sizeof req - 1, raw, len) < 0) {
			fprintf(stderr, "xs2sctl: the stanza is too long\n");
			return 2;
		}
		strcat(req, "\n");
	} else if (!strcmp(cmd, "send")) {
		if (!from || !to || !body || strpbrk(from, "\t\n") || strpbrk(to, "\t\n") ||
		    (type && strpbrk(type, "\t\n")) || (id && strpbrk(id, "\t\n"))) {
			usage(stderr);
			return 2;
		}
		snprintf(req, sizeof req, "send\t%s\t%s\t", from, to);
		if (append_escaped(req, sizeof req - 1024, body, strlen(body)) < 0) {
			fprintf(stderr, "xs2sctl: the body is too long\n");
			return 2;
		}
		if (type || id || wait)
			snprintf(req + strlen(req), sizeof req - strlen(req), "\t%s\t%s\t%s", type ? type : "",
				 id ? id : "", wait ? "wait" : "");
		strcat(req, "\n");
	} else if (!strcmp(cmd, "subscription")) {
		if (nargs != 3 || (strcmp(args[0], "accept") && strcmp(args[0], "refuse")) || json ||
		    strpbrk(args[1], "\t\n") || strpbrk(args[2], "\t\n")) {
			usage(stderr);
			return 2;
		}
		snprintf(req, sizeof req, "subscription\t%s\t%s\t%s\n", args[0], args[1], args[2]);
	} else {
		usage(stderr);
		return 2;
	}
	fd = connect_admin(admin);
	if (fd < 0)
		return 1;
	/* xs2sd may answer (a request too long) and close before it read it
	 * all: then the answer says why (no SIGPIPE). */
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) != (ssize_t)strlen(req) && errno != EPIPE &&
	    errno != ECONNRESET) {
		fprintf(stderr, "xs2sctl: write failed: %s\n", strerror(errno));
		return 1;
	}
	rc = strcmp(cmd, "watch") ? print_answer(fd) : print_watch(fd);
	close(fd);
	return rc;
}
