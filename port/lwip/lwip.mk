# SPDX-License-Identifier: MIT
# lwIP port (CONFIG_XS2S_PORT_LWIP): a static $(O)/lib/liblwip.a built from
# Debian's source package with a lwipopts.h generated from Kconfig, and the
# port (port/lwip/port_lwip.c) over lwIP's sockets API. Included by the top
# Makefile after CFLAGS, LIBS, LIBXS2S and MXML_PRIVATE are set; without
# CONFIG_XS2S_PORT_LWIP it changes nothing.
#
#   $(O)/src/lwip-<ver>/   `apt-get source lwip` (Debian patches applied; Debian
#                          drops contrib/ and ships the unix port as port/);
#                          $(O)/src/lwip links to it
#   $(O)/include/generated/lwipopts.h
#   $(O)/lib/lwip/*.o, $(O)/lib/liblwip.a
#   $(O)/port/lwip/port_lwip.o, $(O)/port/lwip/selftest
#
# Targets: lwip-src (fetch/unpack only), lwip-lib, lwip-port, lwip-selftest
# (builds and runs the in-process loopback test), lwip-size.
# xs2sd and the example bot (xs2s-bot) link this port plus the host
# simulation (hostsim.o: TAP device, admin socket between lwIP poll slices).
# The unit tests and fuzz harnesses keep the POSIX port (PORT_OBJ): they test
# the engine, not the port.

ifeq ($(CONFIG_XS2S_PORT_LWIP),y)

DEPS_BUILD += dpkg-dev

LWIP_SRCDIR := $(O)/src/lwip
LWIP_STAMP := $(O)/src/.lwip-unpacked
LWIP_GEN := $(O)/include/generated
LWIP_OPTS := $(LWIP_GEN)/lwipopts.h
LWIP_LIB := $(O)/lib/liblwip.a
LWIP_OBJDIR := $(O)/lib/lwip
LWIP_APT_SOURCES := /etc/apt/sources.list.d/xs2s-src.sources

# Relative to the source tree (lwIP 2.1.3, Debian layout). The unix port's
# tapif.c serves the TAP host simulation (port/lwip/hostsim.c).
LWIP_CORE_SRC := altcp.c altcp_alloc.c altcp_tcp.c def.c dns.c inet_chksum.c init.c ip.c mem.c memp.c netif.c \
	pbuf.c raw.c stats.c sys.c tcp.c tcp_in.c tcp_out.c timeouts.c udp.c
LWIP_IPV4_SRC := autoip.c dhcp.c etharp.c icmp.c igmp.c ip4.c ip4_addr.c ip4_frag.c
LWIP_IPV6_SRC := dhcp6.c ethip6.c icmp6.c inet6.c ip6.c ip6_addr.c ip6_frag.c mld6.c nd6.c
LWIP_API_SRC := api_lib.c api_msg.c err.c if_api.c netbuf.c netdb.c netifapi.c sockets.c tcpip.c
LWIP_SRC := $(LWIP_CORE_SRC:%=src/core/%) $(LWIP_IPV4_SRC:%=src/core/ipv4/%) $(LWIP_IPV6_SRC:%=src/core/ipv6/%) \
	$(LWIP_API_SRC:%=src/api/%) src/netif/ethernet.c
# The system under lwIP: the unix port (sys_arch.c on pthreads, tapif.c) for
# the host simulation, or a board's own arch/ headers and sys_arch
# (port/mps2/board.mk adds its objects and links the image).
ifeq ($(CONFIG_XS2S_LWIP_SYS_UNIX),y)
LWIP_SRC += port/sys_arch.c port/netif/tapif.c
LWIP_ARCH_INC := $(LWIP_SRCDIR)/port/include
else
LWIP_ARCH_INC := port/mps2/include
endif
LWIP_OBJ := $(LWIP_SRC:%.c=$(LWIP_OBJDIR)/%.o)

# -I order: the generated lwipopts.h before the unix port's own (port/include
# has one for the Hurd), then lwIP's headers, then the port's arch/ headers.
LWIP_CPPFLAGS := -I$(LWIP_GEN) -I$(LWIP_SRCDIR)/src/include -I$(LWIP_ARCH_INC)
# Third-party code: the project's flags without its warning set (gcc 12's
# default warnings are silent on lwIP 2.1.3; no -w, which would also hide the
# next line). An implicit declaration is an error: it means a macro lwIP
# expects from lwipopts.h or the port headers is missing (Debian's patched
# sockets.c needs three, see gen_lwipopts.sh). Sanitizer builds keep
# AddressSanitizer; UBSan stays on for the project's own code only.
LWIP_CFLAGS = $(filter-out -W% -MMD -MP,$(CFLAGS)) -Werror=implicit-function-declaration $(if $(filter y,$(CONFIG_XS2S_SANITIZE)),-fno-sanitize=undefined)

LWIP_PORT_OBJ := $(O)/port/lwip/port_lwip.o $(if $(filter y,$(CONFIG_XS2S_LWIP_SYS_UNIX)),$(O)/port/lwip/unix_sys.o $(O)/port/hostrand.o)
# A board's image (port/mps2/board.mk: its objects, the ELF and raw binary).
ifeq ($(CONFIG_XS2S_LWIP_SYS_MPS2_AN386),y)
include port/mps2/board.mk
endif
LWIP_HOSTSIM_OBJ := $(O)/port/lwip/hostsim.o $(O)/port/hostwatch.o $(O)/port/hostlog.o
LWIP_SELFTEST := $(O)/port/lwip/selftest
XS2SD_PORT_OBJ = $(LWIP_PORT_OBJ) $(LWIP_HOSTSIM_OBJ)
XS2SD_LIBS = $(LWIP_LIB) $(LIBS)

# 1. Debian's source package. apt-get source needs a deb-src entry: add one
#    (same archives as /etc/apt/sources.list.d/debian.sources) when none exists.
$(LWIP_STAMP):
	$(Q)mkdir -p $(O)/src
	$(Q)if ! grep -rqsE '^(Types:.*deb-src|deb-src )' /etc/apt/sources.list /etc/apt/sources.list.d/; then \
		echo "  APT     no deb-src entry: adding $(LWIP_APT_SOURCES) and running apt-get update"; \
		sed -n 's/^Types: *deb *$$/Types: deb-src/p; /^\(URIs\|Suites\|Components\|Signed-By\):/p; /^$$/p' \
			/etc/apt/sources.list.d/debian.sources >$(LWIP_APT_SOURCES).tmp && \
		mv $(LWIP_APT_SOURCES).tmp $(LWIP_APT_SOURCES) && \
		apt-get update -qq; \
	fi
	@echo "  APT     apt-get source lwip (into $(O)/src)"
	$(Q)cd $(O)/src && rm -rf lwip lwip-[0-9]* && apt-get source -qq lwip >/dev/null 2>apt-source-lwip.log \
		|| { cat apt-source-lwip.log >&2; exit 1; }
	$(Q)cd $(O)/src && d=$$(ls -d lwip-[0-9]*/ | head -n1) && ln -sfn "$${d%/}" lwip && \
		echo "  SRC     $(O)/src/$${d%/} (Debian patches applied)"
	$(Q)touch $@

# 2. lwipopts.h from autoconf.h.
$(LWIP_OPTS): $(AUTOCONF) port/lwip/gen_lwipopts.sh
	$(Q)port/lwip/gen_lwipopts.sh $(AUTOCONF) $(LWIP_GEN)
	@echo "  GEN     $@"

# 3. The static library.
$(LWIP_OBJ): $(LWIP_OBJDIR)/%.o: $(LWIP_STAMP) $(LWIP_OPTS)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      lwip/$*.c")
	$(Q)$(CC) $(LWIP_CFLAGS) $(LWIP_CPPFLAGS) -c $(LWIP_SRCDIR)/$*.c -o $@

$(LWIP_LIB): $(LWIP_OBJ)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^
	@echo "  AR      $@"

# 4. The port, and the in-process self-test (make test runs it).
LWIP_USERS := $(LWIP_PORT_OBJ) $(LWIP_BOARD_OBJ) $(O)/port/lwip/hostsim.o $(O)/port/lwip/selftest.o $(O)/port/posix/xs2sd.o \
	$(O)/port/posix/bot.o
$(LWIP_USERS): CFLAGS += $(LWIP_CPPFLAGS)
$(LWIP_USERS): $(LWIP_OPTS) | $(LWIP_STAMP)

# $(filter %.a,$(LIBS)): the private Mini-XML and, with the lean build, wolfSSL.
$(LWIP_SELFTEST): $(O)/port/lwip/selftest.o $(LWIP_PORT_OBJ) $(LIBXS2S) $(filter %.a,$(LIBS)) $(LWIP_LIB)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $(O)/port/lwip/selftest.o $(LWIP_PORT_OBJ) $(LIBXS2S) $(LWIP_LIB) $(LIBS)

.PHONY: lwip-src lwip-lib lwip-port lwip-selftest lwip-size
lwip-src: $(LWIP_STAMP)
lwip-lib: $(LWIP_LIB)
lwip-port: $(LWIP_PORT_OBJ) $(LWIP_LIB)
lwip-selftest: $(LWIP_SELFTEST)
	$(Q)$(LWIP_SELFTEST)
lwip-size: $(LWIP_LIB)
	$(Q)$(SIZE) -t $(LWIP_OBJ)

-include $(LWIP_PORT_OBJ:.o=.d) $(LWIP_BOARD_OBJ:.o=.d) $(O)/port/lwip/hostsim.d $(O)/port/lwip/selftest.d

else

.PHONY: lwip-size
lwip-size:
	@echo "CONFIG_XS2S_PORT_LWIP is not set"

endif
