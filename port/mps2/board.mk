# SPDX-License-Identifier: MIT
# The MPS2 AN386 image (CONFIG_XS2S_LWIP_SYS_MPS2_AN386): included by
# port/lwip/lwip.mk. arm-none-eabi-gcc, newlib-nano, no RTOS.
#
#   $(O)/xs2s-mps2.elf, $(O)/xs2s-mps2.bin (raw image from address 0),
#   $(O)/xs2s-mps2.map; $(O)/port/mps2/identity.c (PEM files compiled in)
#
# Targets: all (the image), size (flash and static RAM against the targets,
# the engine's objects), qemu (boot it: QEMU_HOSTFWD, QEMU_GUESTFWD, QEMU_ARGS).

MPS2_ELF := $(O)/xs2s-mps2.elf
MPS2_BIN := $(O)/xs2s-mps2.bin
XS2S_BOARD_IMAGE := $(MPS2_ELF) $(MPS2_BIN)
DEPS_BUILD += gcc-arm-none-eabi libnewlib-arm-none-eabi
DEPS_TEST += qemu-system-arm netcat-openbsd

# Every object, libraries included: Cortex-M4, Thumb-2, no FPU use (nothing
# here computes in floating point; soft-float keeps the FPU off).
MPS2_CPU := $(XS2S_CPU_FLAGS) # mk/toolchain.mk
CFLAGS += $(MPS2_CPU) -Iport/mps2
# The one stack (no threads).
MPS2_STACK := 32768
MPS2_LDFLAGS := $(MPS2_CPU) -nostartfiles --specs=nano.specs --specs=nosys.specs -T port/mps2/mps2_an386.ld \
	-Wl,--defsym=XS2S_MPS2_STACK=$(MPS2_STACK) -Wl,--gc-sections -Wl,-Map=$(O)/xs2s-mps2.map \
	-Wl,--wrap=wolfSSL_connect -Wl,--wrap=wolfSSL_accept

MPS2_IDENTITY_C := $(O)/port/mps2/identity.c
MPS2_SRC := startup.c uart.c semihost.c lan9118.c service.c sys_arch.c console.c main.c tlscost.c
LWIP_BOARD_OBJ := $(MPS2_SRC:%.c=$(O)/port/mps2/%.o)
MPS2_OBJ := $(LWIP_BOARD_OBJ) $(MPS2_IDENTITY_C:.c=.o)
$(LWIP_BOARD_OBJ): CFLAGS += -Iport/lwip
$(LWIP_BOARD_OBJ): $(WOLFSSL_SETTINGS) | $(WOLFSSL_STAMP) $(MXML_STAMP)

# The PEM files Kconfig names (empty: gen_identity.sh makes a development identity).
MPS2_PEM := $(foreach f,$(CONFIG_XS2S_CERT_FILE) $(CONFIG_XS2S_KEY_FILE) $(CONFIG_XS2S_CA_FILE),$(patsubst "%",%,$(f)))
$(MPS2_IDENTITY_C): $(AUTOCONF) port/mps2/gen_identity.sh $(wildcard $(MPS2_PEM))
	@mkdir -p $(dir $@)
	$(Q)port/mps2/gen_identity.sh $(AUTOCONF) $@ $(O)/identity
	@echo "  GEN     $@"
$(MPS2_IDENTITY_C:.c=.o): $(MPS2_IDENTITY_C)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -c $< -o $@

$(MPS2_ELF): $(MPS2_OBJ) $(LWIP_PORT_OBJ) $(LIBXS2S) $(LWIP_LIB) $(filter %.a,$(LIBS)) port/mps2/mps2_an386.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(MPS2_LDFLAGS) -o $@ $(MPS2_OBJ) $(LWIP_PORT_OBJ) -Wl,--start-group $(LIBXS2S) $(LWIP_LIB) \
		$(filter %.a,$(LIBS)) -lc -lgcc -Wl,--end-group

$(MPS2_BIN): $(MPS2_ELF)
	$(Q)$(OBJCOPY) -O binary $< $@
	@echo "  IMAGE   $@ ($$(wc -c <$@) bytes)"

# Boot the image in QEMU (Debian's qemu-system-arm): UART0 on this terminal,
# semihosting on (entropy and time from the host), the LAN9118 on QEMU's
# user-mode network: the guest is 10.0.2.15, QEMU's gateway 10.0.2.2 and DNS
# 10.0.2.3. QEMU_HOSTFWD lets host peers reach the image's port 5269;
# QEMU_GUESTFWD gives the image an address for a host peer, e.g.
#   QEMU_GUESTFWD='tcp:10.0.2.100:5269-cmd:nc 127.0.0.1 5270'
# (one nc per connection) with CONFIG_XS2S_HOST_MAP="a.test=10.0.2.100:5269".
QEMU_SYSTEM_ARM ?= qemu-system-arm
QEMU_HOSTFWD ?= tcp:127.0.0.1:5269-:5269
QEMU_GUESTFWD ?=
QEMU_ARGS ?=
MPS2_QEMU_CMD = $(QEMU_SYSTEM_ARM) -M mps2-an386 -display none -monitor none -serial stdio \
	-semihosting-config enable=on,target=native -kernel $(MPS2_ELF) \
	-nic 'user,model=lan9118,hostfwd=$(QEMU_HOSTFWD)$(if $(QEMU_GUESTFWD),$(comma)guestfwd=$(QEMU_GUESTFWD))' \
	$(QEMU_ARGS)
comma := ,

.PHONY: qemu qemu-cmd
qemu: $(MPS2_ELF)
	@echo "  QEMU    $(MPS2_QEMU_CMD)" >&2
	$(Q)exec $(MPS2_QEMU_CMD)
# The command line alone (for scripts and the README).
qemu-cmd:
	@echo "$(MPS2_QEMU_CMD)"

# Footprint (port/mps2/size.py reads the linker map): flash and static RAM
# per part against the targets, then the engine's objects and pools.
.PHONY: size
size: $(MPS2_ELF) $(LIBXS2S) $(SIZES_H)
	$(Q)$(SIZE) $(MPS2_ELF)
	$(Q)$(PYTHON) port/mps2/size.py $(O)/xs2s-mps2.map
	@echo; echo "engine objects (before --gc-sections):"
	$(Q)$(SIZE) -t $(FIRMWARE_OBJ) | tail -n 1
	$(Q)sed -n 's/^#define XS2S_ENGINE_SIZE \([0-9]*\)$$/engine RAM: struct xs2s_engine, \1 bytes (in the board'"'"'s bss)/p' $(SIZES_H)
	$(Q)sed -n 's/^#define XS2S_SIZE_\([A-Z_]*\) \([0-9]*\)$$/\2 \1/p' $(SIZES_H) | sort -rn | \
	  awk '{printf "  %-16s %9d bytes\n", tolower($$2), $$1}'
