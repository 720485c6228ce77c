# The soak (not part of make test): several xs2sd of a build without
# sanitizers (SOAK_O, from cfg/host_defconfig) federate through a
# fault-injecting proxy for SOAK_MINUTES (test/soak/soak.py; docs/soak.md).
#   make soak [SOAK_MINUTES=10] [SOAK_ARGS="--rate 8 --daemons 3 --restart-s 150"]
SOAK_O ?= build/soak
SOAK_MINUTES ?= 10
SOAK_ARGS ?=

.PHONY: soak
soak: deps
	$(Q)$(MAKE) --no-print-directory O=$(SOAK_O) host_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(SOAK_O) all
	$(Q)$(PYTHON) test/soak/soak.py $(SOAK_O) --minutes $(SOAK_MINUTES) $(SOAK_ARGS)
