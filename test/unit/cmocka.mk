# SPDX-License-Identifier: MIT
# cmocka for the unit tests of cross builds: Debian's libcmocka-dev is the
# build machine's, so a cross build compiles cmocka from Debian's source
# package (`apt-get source cmocka`) into $(O)/lib/libcmocka.a, with
# test/unit/cmocka/config.h. Native builds keep the system library. The
# tests then run under $(RUN) (qemu-user: mk/toolchain.mk).
#
#   $(O)/src/cmocka-<ver>/, $(O)/lib/cmocka/cmocka.o, $(O)/lib/libcmocka.a

ifeq ($(XS2S_CROSS),y)

CMOCKA_SRCDIR := $(O)/src/cmocka
CMOCKA_STAMP := $(O)/src/.cmocka-unpacked
CMOCKA_OBJ := $(O)/lib/cmocka/cmocka.o
CMOCKA_LIB := $(O)/lib/libcmocka.a
CMOCKA_CFLAGS = $(filter-out -W% -MMD -MP,$(CFLAGS)) -w -DHAVE_CONFIG_H -Itest/unit/cmocka \
	-I$(CMOCKA_SRCDIR)/include

$(CMOCKA_STAMP):
	$(Q)mk/apt_source.sh cmocka $(O)/src
	$(Q)touch $@

$(CMOCKA_OBJ): $(CMOCKA_STAMP) test/unit/cmocka/config.h $(AUTOCONF)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      cmocka/src/cmocka.c")
	$(Q)$(CC) $(CMOCKA_CFLAGS) -c $(CMOCKA_SRCDIR)/src/cmocka.c -o $@

$(CMOCKA_LIB): $(CMOCKA_OBJ)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

# The test rule links -lcmocka: found in $(O)/lib.
$(UNIT_BIN): $(CMOCKA_LIB)
$(UNIT_BIN): private CFLAGS += -I$(CMOCKA_SRCDIR)/include
$(UNIT_BIN): private LDFLAGS += -L$(O)/lib

endif
