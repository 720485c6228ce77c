/* xs2sctl: talks to xs2sd's admin socket.
 *   xs2sctl [--admin PATH] status [--json]
 *   xs2sctl [--admin PATH] send --from JID --to JID --body TEXT
 *   xs2sctl [--admin PATH] inbox [--json]
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

static int usage(void)
{
	fprintf(stderr, "usage: xs2sctl [--admin PATH] status [--json]\n"
			"       xs2sctl [--admin PATH] send --from JID --to JID --body TEXT\n"
			"       xs2sctl [--admin PATH] inbox [--json]\n"
			"       xs2sctl [--admin PATH] subscriptions [--json]\n"
			"       xs2sctl [--admin PATH] subscription accept|refuse ACCOUNT CONTACT\n");
	return 2;
}

/* Escape \\, TAB and newline so the request stays one line. */
static void append_escaped(char *dst, size_t cap, const char *s)
{
	size_t n = strlen(dst);

	for (; *s && n + 3 < cap; s++) {
		if (*s == '\\' || *s == '\t' || *s == '\n') {
			dst[n++] = '\\';
			dst[n++] = *s == '\t' ? 't' : *s == '\n' ? 'n' : '\\';
		} else {
			dst[n++] = *s;
		}
	}
	dst[n] = '\0';
}

int main(int argc, char **argv)
{
	static char req[REQ_MAX];
	const char *admin = CONFIG_XS2S_POSIX_ADMIN_PATH, *from = NULL, *to = NULL, *body = NULL, *cmd = NULL;
	const char *args[3] = { NULL, NULL, NULL }; /* subscription VERB ACCOUNT CONTACT */
	int json = 0, i, fd, failed = 0, nargs = 0;
	struct sockaddr_un sa;
	char buf[4096];
	ssize_t n;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--admin") && i + 1 < argc)
			admin = argv[++i];
		else if (!strcmp(argv[i], "--json"))
			json = 1;
		else if (!strcmp(argv[i], "--from") && i + 1 < argc)
			from = argv[++i];
		else if (!strcmp(argv[i], "--to") && i + 1 < argc)
			to = argv[++i];
		else if (!strcmp(argv[i], "--body") && i + 1 < argc)
			body = argv[++i];
		else if (!cmd && argv[i][0] != '-')
			cmd = argv[i];
		else if (cmd && !strcmp(cmd, "subscription") && nargs < 3 && argv[i][0] != '-')
			args[nargs++] = argv[i];
		else
			return usage();
	}
	if (!cmd)
		return usage();
	if (!strcmp(cmd, "status") || !strcmp(cmd, "inbox") || !strcmp(cmd, "subscriptions")) {
		snprintf(req, sizeof req, "%s%s\n", cmd, json ? "-json" : "");
	} else if (!strcmp(cmd, "send")) {
		if (!from || !to || !body || strchr(from, '\t') || strchr(to, '\t'))
			return usage();
		snprintf(req, sizeof req, "send\t%s\t%s\t", from, to);
		append_escaped(req, sizeof req - 1, body);
		strcat(req, "\n");
	} else if (!strcmp(cmd, "subscription")) {
		if (nargs != 3 || (strcmp(args[0], "accept") && strcmp(args[0], "refuse")) || json ||
		    strpbrk(args[1], "\t\n") || strpbrk(args[2], "\t\n"))
			return usage();
		snprintf(req, sizeof req, "subscription\t%s\t%s\t%s\n", args[0], args[1], args[2]);
	} else {
		return usage();
	}
	memset(&sa, 0, sizeof sa);
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof sa.sun_path, "%s", admin);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "xs2sctl: cannot reach xs2sd at %s: %s\n", admin, strerror(errno));
		return 1;
	}
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		fprintf(stderr, "xs2sctl: write failed: %s\n", strerror(errno));
		return 1;
	}
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		if (!strncmp(buf, "error:", 6))
			failed = 1;
		fwrite(buf, 1, (size_t)n, failed ? stderr : stdout);
	}
	close(fd);
	return failed ? 1 : 0;
}
