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
MPS2_CPU := -mcpu=cortex-m4 -mthumb -mfloat-abi=soft
CFLAGS += $(MPS2_CPU) -Iport/mps2
# The one stack (no threads).
MPS2_STACK := 32768
MPS2_LDFLAGS := $(MPS2_CPU) -nostartfiles --specs=nano.specs --specs=nosys.specs -T port/mps2/mps2_an386.ld \
	-Wl,--defsym=XS2S_MPS2_STACK=$(MPS2_STACK) -Wl,--gc-sections -Wl,-Map=$(O)/xs2s-mps2.map

MPS2_IDENTITY_C := $(O)/port/mps2/identity.c
MPS2_SRC := startup.c uart.c semihost.c lan9118.c sys_arch.c console.c main.c
LWIP_BOARD_OBJ := $(MPS2_SRC:%.c=$(O)/port/mps2/%.o)
MPS2_OBJ := $(LWIP_BOARD_OBJ) $(MPS2_IDENTITY_C:.c=.o)
$(LWIP_BOARD_OBJ): CFLAGS += -Iport/lwip

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
