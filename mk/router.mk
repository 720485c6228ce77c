# SPDX-License-Identifier: MIT
# Router and SBC builds: the cfg/router_*_defconfig targets, each built in one
# call (make O=build/router-<name> router_<name>_defconfig all), tested under
# qemu-user, and measured.
#
#   deps-router    Debian's cross compilers of the four targets and qemu-user
#   test-routers   every target: build; unit tests and fuzz corpora under
#                  qemu-user (ROUTER_UNIT; cmocka from source: test/unit/cmocka.mk);
#                  its xs2sd under qemu-user federates with a native xs2sd
#                  (ROUTER_PEER) on loopback, both directions, SASL EXTERNAL
#                  and dialback (test/integration, -k router)
#   size-routers   stripped size and static RAM of every target's xs2sd
#
# make test runs test-routers after the lean build's tests (ROUTER_PEER is that build).

ROUTERS := arm64 armhf mips mipsel
# Unit tests and fuzz corpora under qemu-user: a 64-bit little-endian and a
# 32-bit big-endian target (the others share their code paths: word size and
# byte order).
ROUTER_UNIT ?= arm64 mips
ROUTER_O = build/router-$(1)
ROUTER_PEER ?= build/test-lean
ROUTER_PEER_CONFIG ?= test_lean
DEPS_ROUTER := gcc-aarch64-linux-gnu gcc-arm-linux-gnueabihf gcc-mips-linux-gnu gcc-mipsel-linux-gnu qemu-user \
	dpkg-dev patch

.PHONY: deps-router test-routers size-routers
deps-router:
	$(Q)$(MAKE) --no-print-directory deps DEPS_BUILD="$(DEPS_ROUTER)" DEPS_TEST=

test-routers: deps-router
	$(Q)$(MAKE) --no-print-directory O=$(ROUTER_PEER) $(ROUTER_PEER_CONFIG)_defconfig all
	$(Q)set -e; for r in $(ROUTERS); do \
		o=$(call ROUTER_O,$$r); t0=$$(date +%s); \
		echo "== router $$r: make O=$$o router_$${r}_defconfig all"; \
		$(MAKE) --no-print-directory O=$$o router_$${r}_defconfig all; t1=$$(date +%s); \
		case " $(ROUTER_UNIT) " in *" $$r "*) \
			echo "== router $$r: unit tests and fuzz corpora under qemu-user"; \
			$(MAKE) --no-print-directory O=$$o unit fuzz-replay;; esac; t2=$$(date +%s); \
		echo "== router $$r: federation with a native xs2sd ($(ROUTER_PEER))"; \
		$(PYTHON) test/integration/run.py $(ROUTER_PEER) --peer-build $$o -k router; t3=$$(date +%s); \
		echo "== router $$r: build $$((t1 - t0)) s, unit tests and fuzz $$((t2 - t1)) s, federation $$((t3 - t2)) s"; \
	done

size-routers:
	$(Q)set -e; for r in $(ROUTERS); do \
		$(MAKE) --no-print-directory O=$(call ROUTER_O,$$r) router_$${r}_defconfig all >/dev/null; done
	$(Q)for r in $(ROUTERS); do $(MAKE) --no-print-directory O=$(call ROUTER_O,$$r) size-xs2sd; done
