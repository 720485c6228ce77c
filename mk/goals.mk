# SPDX-License-Identifier: MIT
# Configuration and build goals in one make call, as Linux and OpenSBI do:
#
#   make O=build-arm64 router_arm64_defconfig all
#
# A configuration goal (*config) writes $(O)/.config; the build goals must
# read the new one, but make reads its makefiles (and so the old .config)
# once, before any goal runs. So when both kinds are given, each goal runs
# in a make of its own, in the order given; command-line variables (O=,
# CROSS_COMPILE=, V=) pass on. The top Makefile reads the rest of itself only
# when XS2S_ONE_BY_ONE is not y.
#
# Otherwise: with no configuration goal the .config is read (it is a
# makefile); configuration goals never need it.

XS2S_CONFIG_GOALS := $(filter %config,$(MAKECMDGOALS))
XS2S_OTHER_GOALS := $(filter-out %config,$(MAKECMDGOALS))

ifneq ($(and $(XS2S_CONFIG_GOALS),$(XS2S_OTHER_GOALS)),)
XS2S_ONE_BY_ONE := y

.PHONY: $(MAKECMDGOALS) xs2s-one-by-one
$(MAKECMDGOALS): xs2s-one-by-one
	@:
xs2s-one-by-one:
	$(if $(filter 1,$(V)),,@)set -e; for goal in $(MAKECMDGOALS); do \
		$(MAKE) --no-print-directory -f $(firstword $(MAKEFILE_LIST)) $$goal; \
	done

else ifeq ($(XS2S_CONFIG_GOALS),)
-include $(O)/.config
XS2S_CONFIG_READ := $(if $(wildcard $(O)/.config),y)
endif
