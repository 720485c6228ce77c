/* The host log sink: where the engine's log lines go in host builds (xs2sd on
 * either port, the unit tests). A device build has its own sink and does not
 * link this.
 *
 * stderr (default), one line per event:
 *   2026-12-05T20:47:56.123Z I L3 closing: idle timeout
 *   UTC time (RFC 3339, milliseconds), level E|W|I|D, then the engine's text
 *   ("L<link id>" or "--" for the engine itself).
 * syslog(3) after xs2s_host_log_syslog(): facility daemon, the level as the
 * priority (E err, W warning, I info, D debug), the engine's text alone
 * (syslog stamps the time itself). */
#ifndef XS2S_HOSTLOG_H
#define XS2S_HOSTLOG_H

/* Write one line (no trailing newline in line). */
void xs2s_host_log(int level, const char *line);
/* From now on, log to syslog as ident (a string that must outlive the process's logging). */
void xs2s_host_log_syslog(const char *ident);

#endif
