/* SPDX-License-Identifier: MIT
 * Compiled with -H by mk/target.mk in cross builds: every third-party header
 * the project includes must come from the build tree or the cross
 * toolchain, never from the build machine's /usr/include. */
#include <stdio.h>
#include <wolfssl/options.h>
#include <wolfssl/ssl.h>
#include <mxml.h>
