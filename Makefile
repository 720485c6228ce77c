# xs2s — plain Makefile with Kconfig (kconfiglib), in the OpenSBI/Zephyr manner.
#   make [O=build] <name>_defconfig | defconfig | menuconfig | savedefconfig | olddefconfig
#   make [O=build] all | demo | test | fuzz | fuzz-replay | clean | distclean | help   (V=1 to see commands)

O ?= build
override O := $(patsubst %/,%,$(O))
# Mixed configuration and build goals run one by one; otherwise the .config
# is read here (mk/goals.mk). The rest of this file is for the single runs.
include mk/goals.mk
ifneq ($(XS2S_ONE_BY_ONE),y)
# CROSS_COMPILE (or the .config's), CC, AR, OBJCOPY, NM, STRIP, SIZE, RUN.
include mk/toolchain.mk
# kconfiglib is installed for Debian's interpreter; `python3` on PATH may be another.
PYTHON := /usr/bin/python3
KCONFIG := Kconfig
CONFIG := $(O)/.config
AUTOCONF := $(O)/include/generated/autoconf.h
KENV := KCONFIG_CONFIG=$(CONFIG) CROSS_COMPILE=$(CROSS_COMPILE)

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Debian packages the build and the tests need (`make deps` installs missing ones).
DEPS_BUILD := gcc make binutils libwolfssl-dev libmxml-dev python3-kconfiglib libcmocka-dev openssl
DEPS_TEST := iproute2 dnsmasq-base

GEN_DIR := $(O)/include/generated
# Everyone sees the public API and the port interface (firmware/include) and
# the generated headers; the walls between the rest are below.
CFLAGS := -std=c11 -D_DEFAULT_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter \
	-include $(AUTOCONF) -I$(GEN_DIR) -Ifirmware/include -MMD -MP
ifeq ($(CONFIG_XS2S_OPTIMIZE_SIZE),y)
CFLAGS += -Os
else
CFLAGS += -O2
endif
ifeq ($(CONFIG_XS2S_DEBUG_SYMBOLS),y)
CFLAGS += -g
endif
LDFLAGS :=
ifeq ($(CONFIG_XS2S_SANITIZE),y)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
endif

# Include walls: engine objects see the engine's folders (includes name the
# layer: "link/link.h"); port objects see only firmware/include and port/;
# tests see both. The public struct xs2s_engine is viewed as the engine's core
# (engine/engine.h), hence -fno-strict-aliasing for the engine.
FW_CFLAGS := -Ifirmware -fno-strict-aliasing
PORT_CFLAGS := -Iport -Iport/posix
TEST_CFLAGS := $(FW_CFLAGS) $(PORT_CFLAGS)
$(O)/firmware/%.o: CFLAGS += $(FW_CFLAGS)
$(O)/port/%.o: CFLAGS += $(PORT_CFLAGS)

# The engine's objects per folder, selected by Kconfig (firmware/*/objects.mk).
include firmware/objects.mk
FIRMWARE_OBJ := $(addprefix $(O)/firmware/,$(firmware-objs-y))
# XS2S_ENGINE_SIZE and friends, computed by the target compiler (engine/sizes.c).
SIZES_H := $(GEN_DIR)/xs2s_sizes.h
SIZES_S := $(O)/firmware/engine/sizes.s
# The POSIX port: what xs2sd links on that port, and what the unit tests and
# fuzz harnesses always link (they test the engine on the host's sockets).
PORT_SRC := port/posix/port_posix.c port/hostwatch.c port/hostlog.c port/hostrand.c
PORT_OBJ := $(PORT_SRC:%.c=$(O)/%.o)
# xs2sd's port objects and libraries; lwip.mk replaces them for the lwIP port.
XS2SD_PORT_OBJ = $(PORT_OBJ)
XS2SD_LIBS = $(LIBS)
# The daemon's own objects (either port): its main, and the stanza watch of
# xs2sctl watch (unit-tested alone: test/unit/test_watch.c).
XS2SD_OBJ := $(O)/port/posix/xs2sd.o $(O)/port/posix/watch.o $(O)/port/posix/xs2sd_accounts.o
# The example bot (docs/examples.md): the engine, an application, this port.
BOT_OBJ := $(O)/port/posix/bot.o
LIBXS2S := $(O)/libxs2s.a
# Mini-XML with its allocator calls renamed into the XML arena (see firmware/xml.c).
MXML_SYSTEM := $(shell $(CC) -print-file-name=libmxml.a 2>/dev/null)
MXML_PRIVATE := $(O)/lib/libmxml-xs2s.a
MXML_REDEFINE := malloc calloc realloc free strdup vasprintf __vasprintf_chk
LIBS := $(MXML_PRIVATE) -lwolfssl -lpthread -lm

UNIT_SRC := $(wildcard test/unit/test_*.c)
UNIT_BIN := $(UNIT_SRC:test/unit/%.c=$(O)/test/%)
FUZZ_SRC := $(wildcard test/fuzz/fuzz_*.c)
FUZZ_BIN := $(FUZZ_SRC:test/fuzz/%.c=$(O)/fuzz/%)
# wolfSSL: Debian's library (default) or a lean build from its source package.
include port/wolfssl/wolfssl.mk
# Mini-XML from Debian's source (CONFIG_XS2S_MXML_SOURCE): the library the renaming step reads.
include port/mxml/mxml.mk
# Scenario tests and the engine fuzz harness over the fake port (before
# cmocka.mk: they are unit tests too).
include test/scenario/scenario.mk
include test/bench/bench.mk
# cmocka from Debian's source for the unit tests of cross builds.
include test/unit/cmocka.mk
# lwIP port (CONFIG_XS2S_PORT_LWIP): liblwip.a from Debian's source package, port_lwip.o.
include port/lwip/lwip.mk
# Cross-build guards, static linking, the target facts header (toolchain.h).
include mk/target.mk
# make install (PREFIX, DESTDIR): binaries, systemd unit, sysusers.d, configuration file.
include mk/install.mk
# Router builds: deps-router, test-routers, size-routers.
include mk/router.mk
# libFuzzer builds and runs: fuzz, fuzz-build, fuzz-run, fuzz-cmin; the soak.
include mk/fuzz.mk mk/soak.mk

.PHONY: all defconfig menuconfig savedefconfig olddefconfig deps demo test unit fuzz-replay interop clean distclean help \
	deps-mps2 test-mps2 \
	integration size size-xs2sd bench bench-table bench-lwip bench-mps2 check-optional
.DEFAULT_GOAL := all

# On the lwIP port, xs2sd is the host simulation (lwIP over a TAP device);
# the in-process self-test comes with it.
# A board configuration (port/mps2) builds its image instead (XS2S_BOARD_IMAGE).
ifeq ($(XS2S_BOARD_IMAGE),)
all: $(O)/xs2sd $(O)/xs2sctl $(O)/xs2s-bot $(if $(filter y,$(CONFIG_XS2S_PORT_LWIP)),$(O)/port/lwip/selftest)
else
all: $(XS2S_BOARD_IMAGE)
endif

# ---- configuration ----
%_defconfig: cfg/%_defconfig
	$(Q)mkdir -p $(O)
	$(Q)$(KENV) $(PYTHON) -m defconfig --kconfig $(KCONFIG) $< >/dev/null
	@echo "  CONFIG  $(CONFIG) from $<"

defconfig: host_defconfig

# A defconfig is order-only: touching it never overwrites menuconfig edits.
# A Kconfig file newer than the .config (a new option) brings it up to date
# with olddefconfig (the values set stay), so that the object lists read from
# it and the generated header always agree; make then rereads it.
# (No recursive make here: $(CONFIG) is also an included makefile.)
KCONFIG_FILES := $(shell find . -name Kconfig -not -path './build*')
$(CONFIG): $(KCONFIG_FILES) | cfg/host_defconfig
	$(Q)mkdir -p $(O)
	$(Q)if [ -f $@ ]; then \
		$(KENV) $(PYTHON) -m olddefconfig $(KCONFIG) >/dev/null && touch $@ && \
		echo "  CONFIG  $@ updated to the Kconfig files (olddefconfig)"; \
	else \
		$(KENV) $(PYTHON) -m defconfig --kconfig $(KCONFIG) cfg/host_defconfig >/dev/null && \
		echo "  CONFIG  $@ from cfg/host_defconfig (default)"; \
	fi

menuconfig: | $(CONFIG)
	$(Q)$(KENV) MENUCONFIG_STYLE=aquatic $(PYTHON) -m menuconfig $(KCONFIG)

olddefconfig: | $(CONFIG)
	$(Q)$(KENV) $(PYTHON) -m olddefconfig $(KCONFIG)

savedefconfig: | $(CONFIG)
	$(Q)$(KENV) $(PYTHON) -m savedefconfig --kconfig $(KCONFIG) --out $(O)/defconfig
	@echo "  SAVED   $(O)/defconfig (copy it to cfg/<name>_defconfig)"

$(AUTOCONF): $(CONFIG) $(KCONFIG_FILES)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(KENV) $(PYTHON) -m genconfig --header-path $@ $(KCONFIG)

# Kbuild's asm-offsets: compile sizes.c to assembly, turn "->NAME value" into #defines.
$(SIZES_H): firmware/engine/sizes.c $(AUTOCONF)
	@mkdir -p $(dir $@) $(dir $(SIZES_S))
	@$(if $(Q),echo "  GEN     $@")
	$(Q)$(CC) $(CFLAGS) $(FW_CFLAGS) -S -MT $@ -MF $(SIZES_S:.s=.d) -o $(SIZES_S) $<
	$(Q){ echo "/* Generated from firmware/engine/sizes.c for this configuration: do not edit. */"; \
	  echo "#ifndef XS2S_SIZES_H"; echo "#define XS2S_SIZES_H"; \
	  sed -n 's/.*->\([A-Z0-9_]*\) [$$#]*\([0-9][0-9]*\).*/#define \1 \2/p' $(SIZES_S); \
	  echo "#endif"; } > $@.tmp
	$(Q)grep -q XS2S_ENGINE_SIZE $@.tmp || { echo "$(SIZES_S): no sizes found" >&2; exit 1; }
	$(Q)mv $@.tmp $@

# ---- build ----
$(O)/%.o: %.c $(AUTOCONF) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIBXS2S): $(FIRMWARE_OBJ)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(MXML_PRIVATE): $(MXML_SYSTEM)
	@mkdir -p $(dir $@)
	$(Q)$(OBJCOPY) $(foreach s,$(MXML_REDEFINE),--redefine-sym $(s)=xs2s_mxml_$(s)) $< $@

$(O)/xs2sd: $(XS2SD_OBJ) $(XS2SD_PORT_OBJ) $(LIBXS2S) $(MXML_PRIVATE) $(filter %.a,$(XS2SD_LIBS))
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(XS2SD_OBJ) $(XS2SD_PORT_OBJ) $(LIBXS2S) $(XS2SD_LIBS)

# The bot links what xs2sd links (on the lwIP port: lwIP and the TAP host
# simulation) but for the daemon's own objects.
$(O)/xs2s-bot: $(BOT_OBJ) $(XS2SD_PORT_OBJ) $(LIBXS2S) $(MXML_PRIVATE) $(filter %.a,$(XS2SD_LIBS))
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(BOT_OBJ) $(XS2SD_PORT_OBJ) $(LIBXS2S) $(XS2SD_LIBS)

$(O)/xs2sctl: $(O)/port/posix/xs2sctl.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $<

$(O)/test/%: test/unit/%.c $(PORT_OBJ) $(LIBXS2S) $(MXML_PRIVATE) $(AUTOCONF) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< $(UNIT_EXTRA_OBJ) $(PORT_OBJ) $(LIBXS2S) $(LIBS) -lcmocka

# Unit tests of the daemon's own modules link them too.
$(O)/test/test_watch: UNIT_EXTRA_OBJ := $(O)/port/posix/watch.o
$(O)/test/test_watch: $(O)/port/posix/watch.o

# gcc build of a harness with the replay main (libFuzzer builds: see test/fuzz/README.md).
$(O)/fuzz/%: test/fuzz/%.c test/fuzz/replay.c test/fuzz/fuzz.h $(PORT_OBJ) $(LIBXS2S) $(MXML_PRIVATE) $(AUTOCONF) | $(SIZES_H)
	@mkdir -p $(dir $@)
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< test/fuzz/replay.c $(PORT_OBJ) $(LIBXS2S) $(LIBS)

# xs2sd as a device carries it (stripped size, static RAM), the engine's code
# by object, then its RAM by pool (all of it is one struct xs2s_engine in
# caller memory; nothing else is static but the libraries' process-wide state).
ifeq ($(XS2S_BOARD_IMAGE),)
size: size-xs2sd $(LIBXS2S) $(SIZES_H)
	$(Q)$(SIZE) -t $(FIRMWARE_OBJ)
	@echo; echo "engine RAM by pool (one struct xs2s_engine of XS2S_ENGINE_SIZE bytes, in caller memory):"
	$(Q)sed -n 's/^#define XS2S_SIZE_\([A-Z_]*\) \([0-9]*\)$$/\2 \1/p' $(SIZES_H) | sort -rn | \
	  awk '{printf "  %-16s %9d bytes\n", tolower($$2), $$1}'
	$(Q)sed -n 's/^#define XS2S_ENGINE_SIZE \([0-9]*\)$$/  total            \1 bytes/p' $(SIZES_H)
	$(Q)sed -n 's/^#define XS2S_SLOT_SIZE \([0-9]*\)$$/  (a link slot: \1 bytes of state; its rx, tx, out and stanza buffers are on loan from link_buffers)/p' $(SIZES_H)

size-xs2sd: $(O)/xs2sd
	$(Q)mk/size.sh $(O)/xs2sd $(SIZE) $(STRIP) "xs2sd $(or $(XS2S_TRIPLET),$(XS2S_CC_MACHINE))"
endif

# A feature that is off is not in the image: no dialback, SASL, DNS,
# component, XEP-0198, XEP-0288 or direct TLS symbol in a build configured without it
# (firmware/*/objects.mk, #if CONFIG_XS2S_DIRECT_TLS).
OPTIONAL_SYMS := $(if $(CONFIG_XS2S_SM),,xs2s_sm_) $(if $(CONFIG_XS2S_AUTH_DIALBACK),,xs2s_db_) $(if $(CONFIG_XS2S_AUTH_SASL_EXTERNAL),,xs2s_sasl_) \
	$(if $(CONFIG_XS2S_DNS),,xs2s_dns_) $(if $(CONFIG_XS2S_ACCOUNTS_PRESENCE),,xs2s_account_ xs2s_app_acct_) \
	$(if $(CONFIG_XS2S_COMPONENTS),,xs2s_comp xs2s_sha1 xs2s_link_open_comp) $(if $(CONFIG_XS2S_BIDI),,xs2s_bidi_) \
	$(if $(CONFIG_XS2S_DIRECT_TLS),,xs2s_tls_alpn xs2s_link_open_in_tls)
check-optional: $(O)/xs2sd
	$(Q)for p in $(OPTIONAL_SYMS); do \
		if $(NM) $(O)/xs2sd | grep -q " [TtDdBbRr] $$p"; then echo "$(O)/xs2sd: has $$p* although its option is off" >&2; exit 1; fi; \
	done; echo "  CHECK   $(O)/xs2sd carries none of: $(or $(strip $(OPTIONAL_SYMS)),(every part is on))"

# ---- dependencies (Debian; run as root) ----
deps:
	$(Q)missing=""; for p in $(DEPS_BUILD) $(DEPS_TEST); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "  DEPS    installing:$$missing"; \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# ---- the two commands of the README ----
demo: deps
	$(Q)$(MAKE) --no-print-directory O=$(O) all
	$(Q)test/tools/demo.sh $(O)

TEST_O := build/test
# The MPS2 AN386 image in QEMU against a host xs2sd and Prosody (test/mps2/run.py): its
# build (cfg/mps2_an386_defconfig) with the test identity mps2.test compiled
# in, a.test mapped to QEMU's guestfwd address, the test's dnsmasq (127.0.0.1:5300,
# reached as QEMU's 10.0.2.2:5300) as DNS server for prosody.test; PEER_BUILD holds the POSIX
# xs2sd and xs2sctl (a.test).
MPS2_TEST_O := $(TEST_O)-mps2
MPS2_DEPS := gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm netcat-openbsd \
	prosody lua-unbound python3-slixmpp dnsmasq-base
deps-mps2:
	$(Q)$(MAKE) --no-print-directory deps DEPS_BUILD="$(MPS2_DEPS)" DEPS_TEST=

test-mps2: deps-mps2
	$(Q)test -x $(PEER_BUILD)/xs2sd || { echo "test-mps2: PEER_BUILD=<a POSIX build> with xs2sd and xs2sctl" >&2; exit 1; }
	$(Q)bash test/tools/mkcerts.sh $(MPS2_TEST_O)-pki mps2.test a.test prosody.test
	$(Q)$(MAKE) --no-print-directory O=$(MPS2_TEST_O) mps2_an386_defconfig
	$(Q)sed -i '/^CONFIG_XS2S_\(CERT_FILE\|KEY_FILE\|CA_FILE\|HOST_MAP\|DNS_SERVER\)=/d' $(MPS2_TEST_O)/.config
	$(Q)printf '%s\n' 'CONFIG_XS2S_CERT_FILE="$(MPS2_TEST_O)-pki/mps2.test.chain.pem"' \
		'CONFIG_XS2S_KEY_FILE="$(MPS2_TEST_O)-pki/mps2.test.key"' 'CONFIG_XS2S_CA_FILE="$(MPS2_TEST_O)-pki/ca.pem"' \
		'CONFIG_XS2S_HOST_MAP="a.test=10.0.2.100:5269"' 'CONFIG_XS2S_DNS_SERVER="10.0.2.2:5300"' >>$(MPS2_TEST_O)/.config
	$(Q)$(MAKE) --no-print-directory O=$(MPS2_TEST_O) olddefconfig >/dev/null
	$(Q)$(MAKE) --no-print-directory O=$(MPS2_TEST_O) all size
	$(Q)$(PYTHON) test/mps2/run.py $(MPS2_TEST_O) $(PEER_BUILD) --pki $(MPS2_TEST_O)-pki
# Both TLS libraries (the lean build from Debian's wolfSSL source, then Debian's
# library), both ports (the integration and interop suites again on the lwIP
# host simulation, after its in-process self-test).
test: deps
	$(Q)$(MAKE) --no-print-directory O=$(TEST_O)-tiny tiny_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(TEST_O)-tiny all check-optional size
	$(Q)$(MAKE) --no-print-directory O=$(TEST_O)-lean test_lean_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(TEST_O)-lean all unit integration
	$(Q)$(MAKE) --no-print-directory test-routers ROUTER_PEER=$(TEST_O)-lean
	$(Q)$(MAKE) --no-print-directory test-mps2 PEER_BUILD=$(TEST_O)-lean
	$(Q)$(MAKE) --no-print-directory O=$(TEST_O)-lwip test_lwip_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(TEST_O)-lwip all lwip-selftest integration interop PEER_BUILD=$(TEST_O)-lean
	$(Q)$(MAKE) --no-print-directory O=$(TEST_O) test_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(TEST_O) all unit fuzz-replay integration interop install-check

# Benchmarks print figures and assert nothing (not part of `make test`).
# bench-table: the lean and the Debian-wolfSSL build side by side (link setup,
# its emulated bound, Prosody->ejabberd when installed, stanzas per CPU-second,
# RAM per link, binary size, the TLS arena); test/bench/bench.py.
# bench-lwip: RAM of the lwIP build with 4 link slots, static and per link.
# bench-mps2: the MPS2 AN386 image's flash and static RAM against its targets.
BENCH_LEAN_O := build/bench-lean
BENCH_DEB_O := build/bench-deb
BENCH_O := build/bench-lwip
bench: bench-table bench-lwip bench-mps2
bench-table: deps
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_LEAN_O) host_lean_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_LEAN_O) all bench-bin
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_DEB_O) host_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_DEB_O) all bench-bin
	$(Q)$(PYTHON) test/bench/bench.py $(BENCH_LEAN_O) $(BENCH_DEB_O)
bench-lwip: deps
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_O) bench_lwip_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_O) all
	$(Q)$(PYTHON) test/bench/lwip_ram.py $(BENCH_O)
bench-mps2:
	$(Q)$(MAKE) --no-print-directory deps-mps2
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_O)-mps2 mps2_an386_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(BENCH_O)-mps2 all size

# RUN: qemu-user for cross builds (mk/toolchain.mk).
unit: $(UNIT_BIN)
	$(Q)set -e; for t in $(UNIT_BIN); do echo "== $$t"; $(RUN) $$t; done

# The fuzz harnesses replay their committed corpora (gcc build, sanitizers on);
# `make fuzz` runs them under libFuzzer (mk/fuzz.mk).
fuzz-replay: $(FUZZ_BIN)
	$(Q)set -e; for f in $(FUZZ_BIN); do n=$$(basename $$f); n=$${n#fuzz_}; \
		echo "== $$f (corpus test/fuzz/corpus/$$n)"; $(RUN) $$f test/fuzz/corpus/$$n/*; done

# PEER_BUILD=<dir>: a build of the other port, for the tests that federate across ports.
integration: all
	$(Q)$(PYTHON) test/integration/run.py $(O) $(if $(PEER_BUILD),--peer-build $(PEER_BUILD))

# Real servers from Debian packages (Prosody, ejabberd, jabberd2), both directions, both methods;
# writes the table docs/interop.md (POSIX port) or docs/interop-lwip.md (lwIP host simulation).
INTEROP_TABLE := docs/interop$(if $(filter y,$(CONFIG_XS2S_PORT_LWIP)),-lwip).md
interop: all
	$(Q)$(PYTHON) test/interop/run.py $(O) --table $(INTEROP_TABLE)

clean:
	$(Q)rm -rf $(O)/firmware $(O)/port $(O)/test $(O)/fuzz $(O)/lib $(O)/xs2sd $(O)/xs2sctl $(O)/xs2s-bot $(LIBXS2S) $(O)/libfuzzer

distclean:
	$(Q)rm -rf $(O) build build-*

help:
	@echo "Configuration:"
	@echo "  <name>_defconfig  configure from cfg/<name>_defconfig ($(notdir $(wildcard cfg/*_defconfig)))"
	@echo "  defconfig         = host_defconfig"
	@echo "  menuconfig        edit $(CONFIG) in a menu"
	@echo "  olddefconfig      update $(CONFIG) to new symbols with defaults"
	@echo "  savedefconfig     write a minimal $(O)/defconfig"
	@echo "Build and run:"
	@echo "  all               build $(O)/xs2sd, $(O)/xs2sctl and the example bot $(O)/xs2s-bot (default);"
	@echo "                    on the lwIP port xs2sd and the bot are the host simulation (lwIP over a TAP"
	@echo "                    device) and the in-process self-test comes too"
	@echo "  demo              two instances federate on 127.0.0.21/.22 and show their status"
	@echo "  test              install deps; build/test-lean (lean wolfSSL), build/test-lwip (lwIP port) and"
	@echo "                    build/test (Debian wolfSSL), ASan+UBSan: unit tests, fuzz corpora, integration"
	@echo "                    tests on both ports, interop with real servers on both ports, the router builds,"
	@echo "                    the MPS2 image in QEMU federating (build/test-mps2)"
	@echo "  fuzz              libFuzzer (clang, ASan+UBSan) runs every harness FUZZ_TIME=$(FUZZ_TIME) s in build/fuzz"
	@echo "                    and merges small new inputs that add coverage into test/fuzz/corpus/ (fuzz-cmin:"
	@echo "                    shrink them); fuzz-replay: the gcc replay of those corpora (part of test)"
	@echo "  soak              SOAK_MINUTES=$(SOAK_MINUTES) of messages between several xs2sd through a fault-injecting"
	@echo "                    proxy (cuts, resets, slow readers, stalls, restarts): sent, delivered, bounced,"
	@echo "                    lost per id, RSS and pool trends (build/soak; not part of test)"
	@echo "  bench             bench-table, bench-lwip, bench-mps2 (figures only, asserts nothing; not part of make test)"
	@echo "  bench-table       lean vs Debian-wolfSSL build: link setup, emulated bound, Prosody->ejabberd, stanzas/CPU-s, RAM per link, size"
	@echo "  bench-lwip        RAM figures of the lwIP build with 4 link slots (build/bench-lwip)"
	@echo "  bench-mps2        the MPS2 image's flash and static RAM against its targets (build/bench-lwip-mps2)"
	@echo "MPS2 AN386 bare-metal image (cfg/mps2_an386_defconfig, arm-none-eabi-gcc, QEMU):"
	@echo "  make O=build-mps2 mps2_an386_defconfig all    the ELF and raw .bin; then: qemu, qemu-cmd, size"
	@echo "  test-mps2         (make test) the image in QEMU federates with xs2sd (PEER_BUILD) and Prosody"
	@echo "  deps-mps2         install arm-none-eabi-gcc, newlib, qemu-system-arm, nc, Prosody, slixmpp"
	@echo "  interop           interop with Prosody, ejabberd, jabberd2; writes docs/interop.md (lwIP: docs/interop-lwip.md)"
	@echo "  size              xs2sd's stripped size and static RAM, then the engine objects"
	@echo "                    (lwip-size: lwIP's objects, lwIP builds)"
	@echo "  install           install xs2sd, xs2sctl, the systemd unit and /etc/xs2s/xs2sd.conf"
	@echo "                    (PREFIX=/usr/local, DESTDIR=); uninstall removes them but the configuration"
	@echo "  install-check     install into a staging directory, start xs2sd as its unit would (root)"
	@echo "Routers and SBCs (cfg/router_{arm64,armhf,mips,mipsel}_defconfig, Debian's cross gcc):"
	@echo "  make O=build-arm64 router_arm64_defconfig all    configure and build in one call"
	@echo "  test-routers      build all four; unit tests under qemu-user; federation with a native xs2sd"
	@echo "  size-routers      stripped size and static RAM of xs2sd for all four"
	@echo "  deps-router       install the cross compilers and qemu-user"
	@echo "  deps              install missing Debian packages (root)"
	@echo "  clean, distclean  remove objects / every build directory"
	@echo "Variables: O=<dir> (default build)  V=1 (show commands)  CROSS_COMPILE=<prefix> (recorded by"
	@echo "  <name>_defconfig; router defconfigs set it)  RUN=<runner> (default qemu-user for cross builds)"

-include $(FIRMWARE_OBJ:.o=.d) $(PORT_OBJ:.o=.d) $(SIZES_S:.s=.d) $(XS2SD_OBJ:.o=.d) $(BOT_OBJ:.o=.d) \
	$(O)/port/posix/xs2sctl.d

endif # XS2S_ONE_BY_ONE
