/* The host log sink: stderr with a UTC timestamp, or syslog (hostlog.h). */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include "hostlog.h"

#define HOSTLOG_STAMP_FMT "%Y-%m-%dT%H:%M:%S" /* then .mmmZ */
#define HOSTLOG_STAMP_MAX 32

static int hostlog_syslog;

void xs2s_host_log_syslog(const char *ident)
{
	openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	hostlog_syslog = 1;
}

void xs2s_host_log(int level, const char *line)
{
	static const char lv[] = "?EWID";
	static const int prio[] = { LOG_NOTICE, LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	int i = level >= 1 && level <= 4 ? level : 0;
	char stamp[HOSTLOG_STAMP_MAX];
	struct timeval tv;
	struct tm tm;

	if (hostlog_syslog) {
		syslog(prio[i], "%s", line);
		return;
	}
	gettimeofday(&tv, NULL);
	if (!gmtime_r(&tv.tv_sec, &tm) || !strftime(stamp, sizeof stamp, HOSTLOG_STAMP_FMT, &tm))
		stamp[0] = '\0';
	fprintf(stderr, "%s.%03ldZ %c %s\n", stamp, (long)(tv.tv_usec / 1000), lv[i], line);
}
