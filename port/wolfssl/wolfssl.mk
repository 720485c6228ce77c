# SPDX-License-Identifier: MIT
# Lean wolfSSL (CONFIG_XS2S_WOLFSSL_LEAN): a static $(O)/lib/libwolfssl.a built
# from Debian's source package with a user_settings.h generated from Kconfig.
# Included by the top Makefile after CFLAGS and LIBS are set; with
# CONFIG_XS2S_WOLFSSL_SYSTEM (the default) it changes nothing.
#
#   $(O)/src/wolfssl-<ver>/   `apt-get source wolfssl` (Debian patches applied);
#                             $(O)/src/wolfssl links to it
#   $(O)/include/generated/user_settings.h, .../wolfssl/options.h
#   $(O)/lib/wolfssl/*.o, $(O)/lib/libwolfssl.a
#
# Targets: wolfssl-src (fetch/unpack only), wolfssl-lib, wolfssl-size.

ifeq ($(CONFIG_XS2S_WOLFSSL_LEAN),y)

DEPS_BUILD += dpkg-dev

WOLFSSL_SRCDIR := $(O)/src/wolfssl
WOLFSSL_STAMP := $(O)/src/.wolfssl-unpacked
WOLFSSL_GEN := $(O)/include/generated
WOLFSSL_SETTINGS := $(WOLFSSL_GEN)/user_settings.h
WOLFSSL_LIB := $(O)/lib/libwolfssl.a
WOLFSSL_OBJDIR := $(O)/lib/wolfssl
WOLFSSL_APT_SOURCES := /etc/apt/sources.list.d/xs2s-src.sources

# Only what the settings can use. ssl.c #includes x509.c, x509_str.c, pk.c,
# bio.c, ssl_misc.c and wolfcrypt's evp.c; misc.c is inlined.
WOLFSSL_SSL_SRC := internal.c keys.c ssl.c tls.c tls13.c wolfio.c
WOLFSSL_CRYPT_SRC := aes.c asn.c coding.c ecc.c error.c hash.c hmac.c kdf.c logging.c memory.c \
	random.c rsa.c sha.c sha256.c sha512.c signature.c sp_int.c sp_c32.c sp_c64.c wc_encrypt.c wc_port.c wolfmath.c
ifeq ($(CONFIG_XS2S_WOLFSSL_CHACHA),y)
WOLFSSL_CRYPT_SRC += chacha.c chacha20_poly1305.c poly1305.c
endif
# Fast (CONFIG_XS2S_WOLFSSL_FAST): the assembly of the compiler's CPU, as
# gen_user_settings.sh chose it from the same compiler (toolchain.h).
WOLFSSL_MACHINE := $(shell $(CC) -dumpmachine 2>/dev/null)
WOLFSSL_ARM_M := $(if $(filter arm%,$(WOLFSSL_MACHINE)),$(filter 77,$(shell printf '__ARM_ARCH_PROFILE\n' | $(CC) $(XS2S_CPU_FLAGS) -E -P -xc - 2>/dev/null)))
WOLFSSL_FE := fe_low_mem.c
WOLFSSL_ASM_SRC :=
ifeq ($(CONFIG_XS2S_WOLFSSL_FAST),y)
WOLFSSL_FE := fe_operations.c
ifneq ($(filter x86_64-%,$(WOLFSSL_MACHINE)),)
WOLFSSL_CRYPT_SRC += cpuid.c sp_x86_64.c
WOLFSSL_ASM_SRC += sp_x86_64_asm.S aes_asm.S aes_gcm_asm.S sha256_asm.S sha512_asm.S
WOLFSSL_FE := fe_x25519_asm.S
ifeq ($(CONFIG_XS2S_WOLFSSL_CHACHA),y)
WOLFSSL_ASM_SRC += chacha_asm.S poly1305_asm.S
endif
# AES-NI intrinsics in aes.c (AES_set_decrypt_key), as wolfSSL's configure does.
$(WOLFSSL_OBJDIR)/wolfcrypt/src/aes.o: WOLFSSL_XFLAGS := -maes -msse4.1 -mpclmul
else ifneq ($(filter aarch64-%,$(WOLFSSL_MACHINE)),)
WOLFSSL_CRYPT_SRC += sp_arm64.c
else ifneq ($(WOLFSSL_ARM_M),)
WOLFSSL_CRYPT_SRC += sp_cortexm.c
else ifneq ($(filter arm%,$(WOLFSSL_MACHINE)),)
WOLFSSL_CRYPT_SRC += sp_arm32.c
# Its inline assembly is ARM (A32), not Thumb-2.
$(WOLFSSL_OBJDIR)/wolfcrypt/src/sp_arm32.o: WOLFSSL_XFLAGS := -marm
endif
endif
ifeq ($(CONFIG_XS2S_WOLFSSL_X25519),y)
WOLFSSL_CRYPT_SRC += curve25519.c $(filter %.c,$(WOLFSSL_FE))
WOLFSSL_ASM_SRC += $(filter %.S,$(WOLFSSL_FE))
endif
# The x86-64 assembly files test the build macro configure would pass them.
$(WOLFSSL_ASM_SRC:%.S=$(WOLFSSL_OBJDIR)/wolfcrypt/src/%.o): WOLFSSL_XFLAGS := \
	$(if $(filter x86_64-%,$(WOLFSSL_MACHINE)),-DWOLFSSL_X86_64_BUILD)
WOLFSSL_OBJ := $(WOLFSSL_SSL_SRC:%.c=$(WOLFSSL_OBJDIR)/src/%.o) \
	$(WOLFSSL_CRYPT_SRC:%.c=$(WOLFSSL_OBJDIR)/wolfcrypt/src/%.o) \
	$(WOLFSSL_ASM_SRC:%.S=$(WOLFSSL_OBJDIR)/wolfcrypt/src/%.o)
# Without OPENSSL_EXTRA, tls.c's three certificate accessors come from here.
ifneq ($(CONFIG_XS2S_WOLFSSL_OPENSSL_EXTRA),y)
WOLFSSL_SHIM_OBJ := $(WOLFSSL_OBJDIR)/x509_small.o
endif

# Everything that includes wolfSSL headers sees the same settings.
# (-I order: generated options.h and user_settings.h first, then the source tree,
# never /usr/include/wolfssl.)
WOLFSSL_CPPFLAGS := -DWOLFSSL_USER_SETTINGS -I$(WOLFSSL_GEN) -I$(WOLFSSL_SRCDIR)
CFLAGS += $(WOLFSSL_CPPFLAGS)
LIBS := $(patsubst -lwolfssl,$(WOLFSSL_LIB),$(LIBS))
# wolfSSL is third-party code: the project's flags, without its warning set.
# In sanitizer builds wolfSSL keeps AddressSanitizer but not UBSan: its code
# relies on behaviour UBSan reports (unaligned word loads in AES-GCM, int
# shifts into the sign bit in sp_c32.c) that is defined on the targets it
# supports. UBSan stays on for the project's own code.
WOLFSSL_CFLAGS = $(patsubst -std=c11,-std=gnu11,$(filter-out -W% -MMD -MP,$(CFLAGS))) -w $(if $(filter y,$(CONFIG_XS2S_SANITIZE)),-fno-sanitize=undefined)

# 1. Debian's source package. apt-get source needs a deb-src entry: add one
#    (same archives as /etc/apt/sources.list.d/debian.sources) when none exists.
$(WOLFSSL_STAMP):
	$(Q)mkdir -p $(O)/src
	$(Q)if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then \
		echo "  APT     no deb-src entry: adding $(WOLFSSL_APT_SOURCES) and running apt-get update"; \
		sed -n 's/^Types: *deb *$$/Types: deb-src/p; /^\(URIs\|Suites\|Components\|Signed-By\):/p; /^$$/p' \
			/etc/apt/sources.list.d/debian.sources >$(WOLFSSL_APT_SOURCES).tmp && \
		mv $(WOLFSSL_APT_SOURCES).tmp $(WOLFSSL_APT_SOURCES) && \
		apt-get update -qq; \
	fi
	@echo "  APT     apt-get source wolfssl (into $(O)/src)"
	$(Q)cd $(O)/src && rm -rf wolfssl wolfssl-[0-9]* && apt-get source -qq wolfssl >/dev/null 2>apt-source.log \
		|| { cat apt-source.log >&2; exit 1; }
	$(Q)cd $(O)/src && d=$$(ls -d wolfssl-[0-9]*/ | head -n1) && ln -sfn "$${d%/}" wolfssl && \
		echo "  SRC     $(O)/src/$${d%/} (Debian patches applied)"
	$(Q)touch $@

# 2. user_settings.h from autoconf.h and the compiler's target facts
#    (toolchain.h: mk/target.mk).
$(WOLFSSL_SETTINGS): $(AUTOCONF) $(TOOLCHAIN_H) port/wolfssl/gen_user_settings.sh
	$(Q)port/wolfssl/gen_user_settings.sh $(AUTOCONF) $(WOLFSSL_GEN) $(TOOLCHAIN_H)
	@echo "  GEN     $@"

# 3. The static library.
# (The source is $*.c or $*.S: one of them exists.)
$(WOLFSSL_OBJ): $(WOLFSSL_OBJDIR)/%.o: $(WOLFSSL_STAMP) $(WOLFSSL_SETTINGS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      wolfssl/$(notdir $(wildcard $(WOLFSSL_SRCDIR)/$*.[cS]))")
	$(Q)$(CC) $(WOLFSSL_CFLAGS) $(WOLFSSL_XFLAGS) -c $(wildcard $(WOLFSSL_SRCDIR)/$*.[cS]) -o $@

$(WOLFSSL_SHIM_OBJ): port/wolfssl/x509_small.c $(WOLFSSL_STAMP) $(WOLFSSL_SETTINGS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(WOLFSSL_LIB): $(WOLFSSL_OBJ) $(WOLFSSL_SHIM_OBJ)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^
	@echo "  AR      $@"

# Every object of the project may include wolfSSL headers.
$(FIRMWARE_OBJ) $(PORT_OBJ) $(O)/port/posix/xs2sd.o $(O)/port/posix/xs2sctl.o: $(WOLFSSL_SETTINGS) | $(WOLFSSL_STAMP)
$(O)/xs2sd $(UNIT_BIN) $(FUZZ_BIN): $(WOLFSSL_LIB)

.PHONY: wolfssl-src wolfssl-lib wolfssl-size
wolfssl-src: $(WOLFSSL_STAMP)
wolfssl-lib: $(WOLFSSL_LIB)
wolfssl-size: $(WOLFSSL_LIB)
	$(Q)size -t $(WOLFSSL_OBJ) $(WOLFSSL_SHIM_OBJ)

else

.PHONY: wolfssl-size
wolfssl-size:
	@echo "system wolfSSL:"; size -t $$(realpath $$($(CC) -print-file-name=libwolfssl.so))

endif
