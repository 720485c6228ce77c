# The benchmark programs of `make bench` (test/bench): built in the build
# being measured, never by `make test`. Included by the top Makefile after
# test/scenario/scenario.mk (the fake port and the scenario PKI).
#   $(O)/test/bench/emulate       link setup of this build over memory pipes (the emulated bound)
#   $(O)/test/bench/arena_bench   the TLS arena (TLSF) against the first fit it replaced

BENCH_BIN := $(O)/test/bench/emulate $(O)/test/bench/arena_bench

$(O)/test/bench/emulate: test/bench/emulate.c $(FAKE_PORT_OBJ) $(LIBXS2S) $(MXML_PRIVATE) $(filter %.a,$(LIBS)) \
		$(AUTOCONF) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH-CC $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(SCENARIO_CPPFLAGS) $(LDFLAGS) -o $@ $< $(FAKE_PORT_OBJ) $(LIBXS2S) $(LIBS)

$(O)/test/bench/arena_bench: test/bench/arena_bench.c test/bench/arena_firstfit.c $(LIBXS2S) $(AUTOCONF) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  BENCH-CC $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(LDFLAGS) -o $@ $< test/bench/arena_firstfit.c $(LIBXS2S) $(LIBS)

bench-bin: $(BENCH_BIN) scenario-pki
.PHONY: bench-bin
