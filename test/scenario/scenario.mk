# Scenario tests (test/scenario) and the engine fuzz harness: the engine
# library over the fake port (port/fake), never the POSIX one. Included by
# the top Makefile after LIBS and the library rules are set.
#   $(O)/test/scenario/test_*   cmocka binaries, run by `make unit`
#   $(O)/fuzz/fuzz_engine       replayed by `make fuzz-replay` (corpus test/fuzz/corpus/engine)

FAKE_PORT_OBJ := $(O)/port/fake/fake_port.o
SCENARIO_LIB_SRC := test/scenario/runner.c test/scenario/engine_drv.c test/scenario/common.c test/scenario/dns_zone.c \
	test/scenario/duo.c
SCENARIO_LIB_OBJ := $(SCENARIO_LIB_SRC:%.c=$(O)/%.o)
SCENARIO_SRC := $(wildcard test/scenario/test_*.c)
SCENARIO_BIN := $(SCENARIO_SRC:test/scenario/%.c=$(O)/test/scenario/%)
SCENARIO_CPPFLAGS := -Iport/fake -Itest/scenario
SCENARIO_DEPS := $(SCENARIO_LIB_OBJ) $(FAKE_PORT_OBJ) $(LIBXS2S) $(MXML_PRIVATE) $(filter %.a,$(LIBS)) $(AUTOCONF)

# `make unit` runs them with the unit tests.
UNIT_BIN += $(SCENARIO_BIN)
# The two-engine scenarios use real certificates: a throw-away PKI made (and
# renewed when due; mkcerts.sh is idempotent) before the tests run.
SCENARIO_PKI := $(O)/test/pki
SCENARIO_CPPFLAGS += -DXS2S_SC_PKI='"$(abspath $(SCENARIO_PKI))"'
unit scenario: scenario-pki
scenario-pki:
	$(Q)test/tools/mkcerts.sh $(SCENARIO_PKI) a.test,alias.test b.test \
		a-comp:san=dns:a.test+dns:alias.test+dns:comp.a.test
.PHONY: scenario-pki

$(SCENARIO_LIB_OBJ) $(FAKE_PORT_OBJ): CFLAGS += $(SCENARIO_CPPFLAGS)
# The driver reads the engine's pools for the leak gate: it sees engine internals.
$(SCENARIO_LIB_OBJ): CFLAGS += $(TEST_CFLAGS)

$(O)/test/scenario/%: test/scenario/%.c test/scenario/scenarios.h $(SCENARIO_DEPS) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(SCENARIO_CPPFLAGS) $(LDFLAGS) -o $@ $< $(SCENARIO_LIB_OBJ) $(FAKE_PORT_OBJ) \
		$(LIBXS2S) $(LIBS) -lcmocka

# The link's unit test (test/unit/test_link.c) runs over the fake port too:
# an explicit rule, so the POSIX port's pattern rule does not apply.
$(O)/test/test_link: test/unit/test_link.c $(FAKE_PORT_OBJ) $(LIBXS2S) $(MXML_PRIVATE) $(filter %.a,$(LIBS)) \
		$(AUTOCONF) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  TEST-CC $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(SCENARIO_CPPFLAGS) $(LDFLAGS) -o $@ $< $(FAKE_PORT_OBJ) $(LIBXS2S) \
		$(LIBS) -lcmocka

# gcc replay build; an explicit rule, so the POSIX port's pattern rule does not apply.
$(O)/fuzz/fuzz_engine: test/fuzz/fuzz_engine.c test/fuzz/replay.c test/fuzz/fuzz.h $(SCENARIO_DEPS) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ-CC $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(SCENARIO_CPPFLAGS) $(LDFLAGS) -o $@ $< test/fuzz/replay.c \
		$(SCENARIO_LIB_OBJ) $(FAKE_PORT_OBJ) $(LIBXS2S) $(LIBS)

scenario: $(SCENARIO_BIN)
	$(Q)set -e; for t in $(SCENARIO_BIN); do echo "== $$t"; $$t; done
.PHONY: scenario

-include $(SCENARIO_LIB_OBJ:.o=.d) $(FAKE_PORT_OBJ:.o=.d)
