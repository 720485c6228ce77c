# SPDX-License-Identifier: MIT
# Target flags, the target facts header and the guards of cross builds.
# Included by the top Makefile after CFLAGS, LDFLAGS and the library makefiles
# (wolfSSL, Mini-XML, lwIP).
#
#   $(O)/include/generated/toolchain.h   what the compiler says about its
#       target (mk/target_facts.sh: `$(CC) -dM -E`): byte order, word size,
#       unaligned access, CPU family. The lean wolfSSL's user_settings.h is
#       generated from it (port/wolfssl/gen_user_settings.sh).
#
# Cross builds (CROSS_COMPILE set):
#   - refuse Debian's wolfSSL and Mini-XML: those are the build machine's
#     (x86-64) libraries and headers;
#   - never see the build machine's headers: Debian's cross gcc searches
#     /usr/include after its own directories, where libwolfssl-dev and
#     libmxml-dev put x86-64 headers. -nostdinc drops the default list and
#     the compiler's own directories come back without /usr/include and
#     /usr/local/include; $(O)/.headers-checked proves it on every build
#     (gcc -H on a file that includes wolfSSL's and Mini-XML's headers).

# Goals that build nothing need no guard (make clean must work on any .config).
XS2S_QUIET_GOALS := clean distclean help deps deps-router
ifneq ($(filter-out $(XS2S_QUIET_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(XS2S_CONFIG_READ),y)
ifeq ($(XS2S_CROSS),y)
ifeq ($(CONFIG_XS2S_WOLFSSL_SYSTEM),y)
$(error $(O)/.config: CONFIG_XS2S_WOLFSSL_SYSTEM (Debian's libwolfssl) cannot be cross-compiled against: \
	it is the build machine's library. Choose the lean build (make O=$(O) menuconfig: wolfSSL -> Lean static \
	wolfSSL) or start from a router_*_defconfig)
endif
ifeq ($(CONFIG_XS2S_MXML_SYSTEM),y)
$(error $(O)/.config: CONFIG_XS2S_MXML_SYSTEM (Debian's libmxml) cannot be cross-compiled against: it is the \
	build machine's library. Choose Mini-XML from source (make O=$(O) menuconfig: Target and image -> Mini-XML))
endif
ifeq ($(shell command -v $(CC) 2>/dev/null),)
$(error $(CC) not found (CROSS_COMPILE=$(CROSS_COMPILE)): `make deps` installs Debian's gcc-$(XS2S_TRIPLET))
endif
endif
ifeq ($(CONFIG_XS2S_STATIC)$(CONFIG_XS2S_SANITIZE),yy)
$(error $(O)/.config: CONFIG_XS2S_STATIC and CONFIG_XS2S_SANITIZE exclude each other (the sanitizers' runtimes are shared libraries))
endif
endif
endif

ifeq ($(XS2S_CROSS),y)
DEPS_BUILD += gcc-$(XS2S_TRIPLET)
DEPS_TEST += qemu-user
XS2S_CC_SYSINC := $(filter-out /usr/include /usr/local/include,\
	$(shell $(CC) -E -Wp,-v -xc /dev/null 2>&1 | sed -n 's,^ \(/[^ ]*\)$$,\1,p'))
CFLAGS += -nostdinc $(addprefix -isystem ,$(XS2S_CC_SYSINC))
# Where those directories really are: Debian's arm-none-eabi newlib keeps its
# headers in /usr/include/newlib behind a symlink (the target's C library,
# not the build machine's), which gcc -H reports by the resolved path.
XS2S_CC_SYSINC_REAL := $(filter /usr/include/% /usr/local/include/%,$(realpath $(XS2S_CC_SYSINC)))
endif

ifeq ($(CONFIG_XS2S_STATIC),y)
LDFLAGS += -static
endif
# Size builds keep only what is reached: each function and object in its own
# section, unused ones dropped at link time.
ifeq ($(CONFIG_XS2S_OPTIMIZE_SIZE),y)
CFLAGS += -ffunction-sections -fdata-sections
LDFLAGS += -Wl,--gc-sections
endif

# Regenerated on every make (one `$(CC) -dM -E`); rewritten only when it
# changes, so a new CROSS_COMPILE or compiler version rebuilds what uses it.
.PHONY: xs2s-force
$(TOOLCHAIN_H): xs2s-force
	$(Q)mk/target_facts.sh "$(CC) $(XS2S_CPU_FLAGS)" $@

ifeq ($(XS2S_CROSS),y)
HEADERS_CHECK := $(O)/.headers-checked
$(HEADERS_CHECK): mk/probe_headers.c $(AUTOCONF) $(TOOLCHAIN_H) $(WOLFSSL_SETTINGS) $(MXML_CONFIG_H) \
		| $(WOLFSSL_STAMP) $(MXML_STAMP)
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -H -fsyntax-only $< 2>$@.tmp || { cat $@.tmp >&2; exit 1; }
	$(Q)if grep -E '^\.+ /usr/(local/)?include/' $@.tmp $(foreach d,$(XS2S_CC_SYSINC_REAL),| grep -v '^\.* $(d)/') >&2; then \
		echo "  ERROR   $(CC) read the build machine's headers above (/usr/include): see mk/target.mk" >&2; \
		rm -f $@.tmp; exit 1; fi
	$(Q)mv $@.tmp $@
	@echo "  CHECK   no header from /usr/include in a $(XS2S_TRIPLET) build"
$(O)/xs2sd $(O)/xs2s-bot $(firstword $(XS2S_BOARD_IMAGE)): $(HEADERS_CHECK)
endif

.PHONY: toolchain-facts
toolchain-facts: $(TOOLCHAIN_H)
	$(Q)grep '^#define' $<
