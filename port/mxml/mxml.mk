# SPDX-License-Identifier: MIT
# Mini-XML from source (CONFIG_XS2S_MXML_SOURCE): a static $(O)/lib/libmxml.a
# built from Debian's source package with the project's compiler, for cross
# builds (and any build that wants it). Included by the top Makefile after
# CFLAGS and MXML_SYSTEM are set; with CONFIG_XS2S_MXML_SYSTEM (the host
# default) it changes nothing.
#
#   $(O)/src/mxml-<ver>/   `apt-get source mxml` (Debian patches applied),
#                          then port/mxml/no-real.patch; $(O)/src/mxml links to it
#   port/mxml/config.h     what configure would find in glibc
#   $(O)/lib/mxml/*.o, $(O)/lib/libmxml.a
#
# The Makefile then renames the library's malloc family into the XML arena
# ($(MXML_PRIVATE), see firmware/xml/xml.c) exactly as it does Debian's libmxml.a.
#
# No floating point: real-number nodes are the only floating point in
# Mini-XML (strtod, printf "%f", double); no-real.patch compiles them out
# under -DMXML_NO_REAL. The library build then checks that no object
# references strtod or a soft-float helper, and on aarch64 compiles with
# -mgeneral-regs-only, which turns any floating-point use into an error.
#
# Targets: mxml-src (fetch/unpack only), mxml-lib.

ifeq ($(CONFIG_XS2S_MXML_SOURCE),y)

DEPS_BUILD += dpkg-dev patch

MXML_SRCDIR := $(O)/src/mxml
MXML_STAMP := $(O)/src/.mxml-unpacked
MXML_CONFIG_H := port/mxml/config.h
MXML_LIB := $(O)/lib/libmxml.a
MXML_OBJDIR := $(O)/lib/mxml
MXML_SRC := mxml-attr.c mxml-entity.c mxml-file.c mxml-get.c mxml-index.c mxml-node.c mxml-private.c \
	mxml-search.c mxml-set.c mxml-string.c
MXML_OBJ := $(MXML_SRC:%.c=$(MXML_OBJDIR)/%.o)
# The input of the Makefile's renaming step.
MXML_SYSTEM := $(MXML_LIB)

# Everything that includes <mxml.h> sees the patched source tree's.
CFLAGS += -DMXML_NO_REAL -I$(MXML_SRCDIR)
# Third-party code: the project's flags without its warning set; AddressSanitizer
# but not UBSan in sanitizer builds (as wolfSSL and lwIP). -I port/mxml first:
# `#include "config.h"` finds no config.h next to the sources (configure never runs).
MXML_NOFP := $(if $(filter aarch64-%,$(XS2S_CC_MACHINE)),-mgeneral-regs-only)
MXML_CFLAGS = -Iport/mxml $(filter-out -W% -MMD -MP,$(CFLAGS)) -w -D_GNU_SOURCE $(MXML_NOFP) \
	$(if $(filter y,$(CONFIG_XS2S_SANITIZE)),-fno-sanitize=undefined)
# What no object of the library may reference: the C library's number
# parsers, and the helpers gcc calls for floating point without an FPU.
MXML_FP_SYMS := 'strto(d|f|ld)|atof|__(add|sub|mul|div|neg|cmp|eq|ne|lt|le|gt|ge|unord)[sdt]f[23]|__(float|fix|extend|trunc)[a-z]*[sdt]f'

# 1. Debian's source package, then the patch.
$(MXML_STAMP): port/mxml/no-real.patch
	$(Q)mk/apt_source.sh mxml $(O)/src
	$(Q)patch -s -d $(MXML_SRCDIR)/ -p1 <port/mxml/no-real.patch
	@echo "  PATCH   $(MXML_SRCDIR): port/mxml/no-real.patch"
	$(Q)touch $@

# 2. The static library.
$(MXML_OBJ): $(MXML_OBJDIR)/%.o: $(MXML_STAMP) $(MXML_CONFIG_H) $(AUTOCONF)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      mxml/$*.c")
	$(Q)$(CC) $(MXML_CFLAGS) -c $(MXML_SRCDIR)/$*.c -o $@

$(MXML_LIB): $(MXML_OBJ)
	$(Q)if $(NM) -u $^ | grep -E -w $(MXML_FP_SYMS); then \
		echo "  ERROR   Mini-XML references floating point (above): see port/mxml/mxml.mk" >&2; exit 1; fi
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^
	@echo "  AR      $@ (no floating point)"

# Every object of the project may include <mxml.h>.
$(FIRMWARE_OBJ) $(PORT_OBJ) $(O)/port/posix/xs2sd.o $(O)/port/posix/xs2sctl.o: | $(MXML_STAMP)

.PHONY: mxml-src mxml-lib
mxml-src: $(MXML_STAMP)
mxml-lib: $(MXML_LIB)

endif
