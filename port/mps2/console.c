/* The UART console: one command per line, the syntax of xs2sctl.
 *   status                                  the status table (xs2sctl status)
 *   send --from JID --to JID --body TEXT    a chat message (TEXT may be "quoted")
 *   inbox                                   print and remove the inbox's messages
 *   tls                                     CPU time spent in TLS handshakes (tlscost.c)
 *   help
 * Bytes are collected by xs2s_mps2_console_rx(), which every wait of the
 * stack calls (the CMSDK UART holds one byte); a line runs between engine
 * rounds (xs2s_mps2_console_poll()). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "board.h"
#include "xs2s.h"

#define CONSOLE_ARGS 12

static char line[CONFIG_XS2S_MPS2_CONSOLE_LINE];
static size_t line_len;
static int line_ready, line_overflow;
static char out[CONFIG_XS2S_MPS2_CONSOLE_OUT];

void xs2s_mps2_printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	xs2s_mps2_uart_write(buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
}

void xs2s_mps2_console_rx(void)
{
	int c;

	/* Echoed, as a terminal on the other end expects; backspace and DEL erase. */
	while (!line_ready && (c = xs2s_mps2_uart_getc()) >= 0) {
		if (c == '\r' || c == '\n') {
			xs2s_mps2_uart_puts("\n");
			if (line_len || line_overflow)
				line_ready = 1;
			else
				xs2s_mps2_uart_puts("xs2s> ");
		} else if (c == '\b' || c == 0x7f) {
			if (line_len) {
				line_len--;
				xs2s_mps2_uart_puts("\b \b");
			}
		} else if (line_len + 1 < sizeof line) {
			line[line_len++] = (char)c;
			xs2s_mps2_uart_write((const char *)&line[line_len - 1], 1);
		} else {
			line_overflow = 1;
		}
	}
}

/* Split line in place: words separated by spaces, "double quotes" group. */
static int split(char *s, char *argv[], int max)
{
	int argc = 0;

	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		if (argc == max)
			return -1;
		if (*s == '"') {
			argv[argc++] = ++s;
			while (*s && *s != '"')
				s++;
		} else {
			argv[argc++] = s;
			while (*s && *s != ' ' && *s != '\t')
				s++;
		}
		if (*s)
			*s++ = '\0';
	}
	return argc;
}

static void cmd_status(struct xs2s_engine *eng)
{
	int n = xs2s_status_text(eng, out, sizeof out);

	if (n < 0) {
		xs2s_mps2_printf("error: the status table does not fit in %u bytes (CONFIG_XS2S_MPS2_CONSOLE_OUT)\n",
				 (unsigned)sizeof out);
		return;
	}
	xs2s_mps2_uart_write(out, (size_t)n);
}

static void cmd_send(struct xs2s_engine *eng, int argc, char *argv[])
{
	const char *from = NULL, *to = NULL, *body = NULL;
	int i, r;

	for (i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--from"))
			from = argv[i + 1];
		else if (!strcmp(argv[i], "--to"))
			to = argv[i + 1];
		else if (!strcmp(argv[i], "--body"))
			body = argv[i + 1];
		else
			break;
	}
	if (i != argc || !from || !to || !body) {
		xs2s_mps2_uart_puts("usage: send --from JID --to JID --body TEXT\n");
		return;
	}
	r = xs2s_send_message(eng, from, to, body);
	if (r == XS2S_OK)
		xs2s_mps2_uart_puts("sent\n");
	else
		xs2s_mps2_printf("error: send failed (%d)\n", r);
}

static void cmd_inbox(struct xs2s_engine *eng)
{
	struct xs2s_inbox_msg m;
	unsigned n = 0;

	while (xs2s_inbox_peek(eng, &m) == XS2S_OK) {
		/* The body whole (xs2s_mps2_printf's buffer is short). */
		xs2s_mps2_printf("inbox: from=%s to=%s type=%s%s%s body=", m.from, m.to, m.type,
				 m.error ? " error=" : "", m.error ? m.error : "");
		if (m.body)
			xs2s_mps2_uart_write(m.body, strlen(m.body));
		xs2s_mps2_uart_puts("\n");
		xs2s_inbox_pop(eng);
		n++;
	}
	xs2s_mps2_printf("inbox: %u message%s\n", n, n == 1 ? "" : "s");
}

/* `tls`: 25 SysTick counts per microsecond (MPS2_SYSCLK_HZ). */
static void cmd_tls(void)
{
	struct xs2s_mps2_tls_cost t;
	unsigned long us, max_us;

	xs2s_mps2_tls_cost(&t);
	us = (unsigned long)(t.ticks / (MPS2_SYSCLK_HZ / 1000000u));
	max_us = (unsigned long)(t.max_call / (MPS2_SYSCLK_HZ / 1000000u));
	xs2s_mps2_printf("tls: %lu handshakes completed, %lu calls of wolfSSL_connect/accept, %lu us inside them "
			 "(%lu us per handshake, longest call %lu us; SysTick time: with QEMU -icount shift=0, "
			 "1 us = 1000 instructions)\n",
			 (unsigned long)t.done, (unsigned long)t.calls, us, t.done ? us / (unsigned long)t.done : 0ul,
			 max_us);
}

void xs2s_mps2_console_poll(struct xs2s_engine *eng)
{
	char *argv[CONSOLE_ARGS];
	int argc;

	xs2s_mps2_console_rx();
	if (!line_ready)
		return;
	line[line_len] = '\0';
	if (line_overflow)
		xs2s_mps2_printf("error: line longer than %u bytes (CONFIG_XS2S_MPS2_CONSOLE_LINE)\n",
				 (unsigned)sizeof line - 1);
	else if ((argc = split(line, argv, CONSOLE_ARGS)) < 0)
		xs2s_mps2_uart_puts("error: too many words\n");
	else if (argc == 0)
		;
	else if (!strcmp(argv[0], "status"))
		cmd_status(eng);
	else if (!strcmp(argv[0], "send"))
		cmd_send(eng, argc, argv);
	else if (!strcmp(argv[0], "inbox"))
		cmd_inbox(eng);
	else if (!strcmp(argv[0], "tls"))
		cmd_tls();
	else
		xs2s_mps2_uart_puts("commands: status | send --from JID --to JID --body TEXT | inbox | tls\n");
	xs2s_mps2_uart_puts("xs2s> ");
	line_len = 0;
	line_ready = line_overflow = 0;
}
