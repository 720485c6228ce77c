/* SPDX-License-Identifier: MIT
 * Mini-XML's config.h for xs2s's build from source (port/mxml/mxml.mk): what
 * its configure script would find in glibc (Debian's cross and native C
 * libraries alike). No HAVE_PTHREAD_H: xs2s calls Mini-XML from one thread,
 * and its globals are then one static struct instead of a per-thread one
 * allocated on first use. Real-number nodes are compiled out
 * (-DMXML_NO_REAL, port/mxml/no-real.patch). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdarg.h>
#include <ctype.h>

#define MXML_VERSION "Mini-XML v3.3.1"
#define HAVE_LONG_LONG_INT 1
#define HAVE_SNPRINTF 1
#define HAVE_VASPRINTF 1
#define HAVE_VSNPRINTF 1
#define HAVE_STRDUP 1
/* glibc < 2.38 has no strlcat/strlcpy: Mini-XML's own (mxml-string.c). */
extern size_t _mxml_strlcat(char *, const char *, size_t);
#define strlcat _mxml_strlcat
extern size_t _mxml_strlcpy(char *, const char *, size_t);
#define strlcpy _mxml_strlcpy

extern char *_mxml_strdupf(const char *, ...);
extern char *_mxml_vstrdupf(const char *, va_list);
