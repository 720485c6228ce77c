/* Log line formatting; the port decides where lines go. */
#include <stdarg.h>
#include <stdio.h>
#include "xs2s_log.h"
#include "port.h"

int xs2s_log_level = CONFIG_XS2S_LOG_LEVEL;

void xs2s_log(int level, unsigned link_id, const char *fmt, ...)
{
	char line[XS2S_LOG_LINE];
	int n;
	va_list ap;

	if (link_id)
		n = snprintf(line, sizeof line, "L%u ", link_id);
	else
		n = snprintf(line, sizeof line, "-- ");
	va_start(ap, fmt);
	vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
	va_end(ap);
	xs2s_port_log(level, line);
}
