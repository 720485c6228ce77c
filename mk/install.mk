# SPDX-License-Identifier: MIT
# make install [O=build] [PREFIX=/usr/local] [DESTDIR=/staging]
#
#   $(SBINDIR)/xs2sd, $(BINDIR)/xs2sctl              the build's binaries
#   $(UNITDIR)/xs2sd.service                        sandboxed systemd unit (port/posix/xs2sd.service.in)
#   $(SYSUSERSDIR)/xs2s.conf                         its user and group (sysusers.d)
#   $(SYSCONFDIR)/xs2s/xs2sd.conf                    the configuration file (port/posix/xs2sd.conf);
#                                                   an existing one is kept, the new one goes
#                                                   next to it as xs2sd.conf.new
#
# PREFIX=/usr installs where a distribution's package would (units and
# sysusers.d under /usr/lib); any other PREFIX is a local install (units and
# sysusers.d under /etc). The configuration is in /etc either way. Without
# DESTDIR, as root on a systemd machine, the user is created and systemd
# reloaded. Nothing is written outside these paths (and never outside O=
# by any other target). `make uninstall` removes what install added but the
# configuration.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SBINDIR ?= $(PREFIX)/sbin
SYSCONFDIR ?= /etc
XS2S_SYSTEMD_BASE := $(if $(filter /usr,$(PREFIX)),/usr/lib,/etc)
UNITDIR ?= $(XS2S_SYSTEMD_BASE)/systemd/system
SYSUSERSDIR ?= $(XS2S_SYSTEMD_BASE)/sysusers.d
INSTALL ?= install
# test_daemon.py reloads with Debian's CA bundle; install-check uses setpriv (util-linux).
DEPS_TEST += ca-certificates util-linux

.PHONY: install uninstall
install: $(O)/xs2sd $(O)/xs2sctl
	$(Q)$(INSTALL) -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
		$(DESTDIR)$(SYSCONFDIR)/xs2s
	$(Q)$(INSTALL) -m 0755 $(O)/xs2sd $(DESTDIR)$(SBINDIR)/xs2sd
	$(Q)$(INSTALL) -m 0755 $(O)/xs2sctl $(DESTDIR)$(BINDIR)/xs2sctl
	$(Q)sed -e 's,@SBINDIR@,$(SBINDIR),g' -e 's,@SYSCONFDIR@,$(SYSCONFDIR),g' port/posix/xs2sd.service.in \
		>$(DESTDIR)$(UNITDIR)/xs2sd.service.tmp && chmod 0644 $(DESTDIR)$(UNITDIR)/xs2sd.service.tmp && \
		mv $(DESTDIR)$(UNITDIR)/xs2sd.service.tmp $(DESTDIR)$(UNITDIR)/xs2sd.service
	$(Q)$(INSTALL) -m 0644 port/posix/xs2s.sysusers $(DESTDIR)$(SYSUSERSDIR)/xs2s.conf
	$(Q)conf=$(DESTDIR)$(SYSCONFDIR)/xs2s/xs2sd.conf; \
	if [ -e $$conf ]; then \
		$(INSTALL) -m 0644 port/posix/xs2sd.conf $$conf.new; echo "  KEEP    $$conf (the new sample: $$conf.new)"; \
	else \
		$(INSTALL) -m 0644 port/posix/xs2sd.conf $$conf; \
	fi
	@echo "  INSTALL $(DESTDIR)$(SBINDIR)/xs2sd $(DESTDIR)$(BINDIR)/xs2sctl $(DESTDIR)$(UNITDIR)/xs2sd.service"
	@echo "          $(DESTDIR)$(SYSUSERSDIR)/xs2s.conf $(DESTDIR)$(SYSCONFDIR)/xs2s/xs2sd.conf"
	$(Q)if [ -z "$(DESTDIR)" ] && [ "$$(id -u)" = 0 ] && [ -d /run/systemd/system ]; then \
		systemd-sysusers $(SYSUSERSDIR)/xs2s.conf && systemctl daemon-reload && \
		echo "  SYSTEMD user xs2s made, units reloaded: put cert.pem and key.pem (group xs2s, 0640) in" \
			"$(SYSCONFDIR)/xs2s, then systemctl enable --now xs2sd"; \
	fi

uninstall:
	$(Q)rm -f $(DESTDIR)$(SBINDIR)/xs2sd $(DESTDIR)$(BINDIR)/xs2sctl $(DESTDIR)$(UNITDIR)/xs2sd.service \
		$(DESTDIR)$(SYSUSERSDIR)/xs2s.conf
	@echo "  REMOVED xs2sd, xs2sctl, the unit and sysusers.d/xs2s.conf (kept: $(DESTDIR)$(SYSCONFDIR)/xs2s)"

# Install into a staging directory and start the installed daemon as its unit
# would (test/tools/install_check.sh; root, own namespaces). make test runs it.
.PHONY: install-check
install-check: $(O)/xs2sd $(O)/xs2sctl
	$(Q)test/tools/install_check.sh $(O)
