# SPDX-License-Identifier: MIT
# The toolchain. Included by the top Makefile after mk/goals.mk (which reads
# the .config).
#
# CROSS_COMPILE given on the command line (or in the environment) wins;
# else the configuration's CONFIG_XS2S_CROSS_COMPILE, which router
# defconfigs set and `make CROSS_COMPILE=<prefix> <name>_defconfig` records.
# One build directory holds one toolchain's objects: a CROSS_COMPILE other
# than the one its .config was made for stops the build.
#
#   XS2S_CROSS    y when CROSS_COMPILE is set
#   XS2S_TRIPLET  the target triplet (aarch64-linux-gnu), from the prefix
#   RUN           runs a target program on this machine: empty for native
#                 builds, qemu-user otherwise (the unit and fuzz targets and
#                 the router tests use it); RUN=... overrides it

XS2S_CFG_CROSS := $(patsubst "%",%,$(CONFIG_XS2S_CROSS_COMPILE))
ifneq ($(filter command line environment%,$(origin CROSS_COMPILE)),)
ifeq ($(XS2S_CONFIG_READ),y)
ifneq ($(CROSS_COMPILE),$(XS2S_CFG_CROSS))
$(error CROSS_COMPILE=$(CROSS_COMPILE) but $(O)/.config was configured with CROSS_COMPILE=$(XS2S_CFG_CROSS) \
	(CONFIG_XS2S_CROSS_COMPILE). One build directory, one toolchain: configure again in one call, e.g. \
	`make O=$(O) CROSS_COMPILE=$(CROSS_COMPILE) <name>_defconfig all`, or use another O=)
endif
endif
else
CROSS_COMPILE := $(XS2S_CFG_CROSS)
endif

CC := $(CROSS_COMPILE)gcc
AR := $(CROSS_COMPILE)ar
OBJCOPY := $(CROSS_COMPILE)objcopy
NM := $(CROSS_COMPILE)nm
STRIP := $(CROSS_COMPILE)strip
SIZE := $(CROSS_COMPILE)size

# The CPU a board names: on every object, libraries included, and in every
# question asked of the compiler (toolchain.h, wolfssl.mk's choice of code).
ifeq ($(CONFIG_XS2S_LWIP_SYS_MPS2_AN386),y)
XS2S_CPU_FLAGS := -mcpu=cortex-m4 -mthumb -mfloat-abi=soft
endif

# The compiler's target facts (mk/target.mk makes it).
TOOLCHAIN_H := $(O)/include/generated/toolchain.h

XS2S_CROSS := $(if $(CROSS_COMPILE),y)
XS2S_CC_MACHINE := $(shell $(CC) -dumpmachine 2>/dev/null)
XS2S_TRIPLET := $(patsubst %-,%,$(notdir $(CROSS_COMPILE)))

ifeq ($(XS2S_CROSS),y)
# qemu-user's name for the CPU: aarch64, arm, mips, mipsel, ...
XS2S_QEMU_CPU := $(patsubst arm%,arm,$(patsubst aarch64%,aarch64,$(firstword $(subst -, ,$(XS2S_TRIPLET)))))
# -L: where qemu finds the target's dynamic loader and libraries (Debian's
# cross libc packages install them under /usr/<triplet>); harmless for
# static binaries.
RUN ?= qemu-$(XS2S_QEMU_CPU) -L /usr/$(XS2S_TRIPLET)
else
RUN ?=
endif
