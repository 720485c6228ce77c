# Fuzzing as a habit: every harness of test/fuzz built with clang's libFuzzer
# (+ASan/UBSan), run for a while, and what it found that is new and small
# merged into the committed corpora (test/fuzz/README.md).
#
#   make fuzz [FUZZ_TIME=s] [FUZZ_HARNESSES="engine dns"]
#                    deps (clang), build/fuzz from cfg/test_defconfig, then
#                    fuzz-build and fuzz-run there
#   fuzz-build       the libFuzzer binaries, $(O)/libfuzzer/fuzz_<name>
#   fuzz-run         each harness FUZZ_TIME seconds on its work corpus
#                    ($(O)/libfuzzer/corpus/<name>, kept between runs),
#                    then the merge into test/fuzz/corpus/<name>
#   fuzz-cmin        shrink the committed corpora to what adds coverage
#                    (named seeds are always kept)
#   fuzz-replay      the gcc replay of the committed corpora (make test)
#   fuzz-cov         source coverage (llvm-cov) of what the committed corpora
#                    reach in each harness's target files
#
# Every run appends one line per harness to $(O)/libfuzzer/stats.tsv (date,
# harness, seconds, executions, coverage, features, work corpus, merged,
# crashes): the campaign table of docs/fuzzing.md is summed from it.

FUZZ_O ?= build/fuzz
FUZZ_TIME ?= 180
FUZZ_CC ?= clang
# Inputs merged into the committed corpus are at most this big (bytes).
FUZZ_KEEP_BYTES ?= 2048
FUZZ_NAMES := $(FUZZ_SRC:test/fuzz/fuzz_%.c=%)
FUZZ_HARNESSES ?= $(FUZZ_NAMES)
DEPS_FUZZ := clang libclang-rt-dev llvm
# Per harness: what libFuzzer is told beyond the time (the engine harnesses
# are slower and take longer inputs).
FUZZ_OPTS_engine := -max_len=12000 -timeout=20
FUZZ_OPTS_starttls := -max_len=12000 -timeout=20
FUZZ_OPTS_resolve := -max_len=4096 -timeout=20
FUZZ_OPTS_framer := -max_len=4096
FUZZ_OPTS_dns := -max_len=1500
FUZZ_OPTS_certid := -max_len=4096

rparen := )
FUZZ_OPTS_CASE := $(foreach h,$(FUZZ_NAMES),$(h)$(rparen) opts="$(FUZZ_OPTS_$(h))";;)

LF := $(O)/libfuzzer
LF_CFLAGS := -std=c11 -D_DEFAULT_SOURCE -g -O1 -fno-omit-frame-pointer -fno-strict-aliasing \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined \
	-include $(AUTOCONF) -I$(GEN_DIR) -Ifirmware/include -Ifirmware -Iport $(SCENARIO_CPPFLAGS) -Itest/fuzz \
	-DXS2S_FUZZ_LIBFUZZER -MMD -MP
LF_LDFLAGS := -fsanitize=fuzzer,address,undefined
LF_FW_OBJ := $(addprefix $(LF)/firmware/,$(firmware-objs-y))
LF_SCENARIO_OBJ := $(SCENARIO_LIB_SRC:%.c=$(LF)/%.o) $(LF)/port/fake/fake_port.o
LF_LIB := $(LF)/libxs2s.a
LF_BIN := $(FUZZ_NAMES:%=$(LF)/fuzz_%)
# Harnesses over the fake port link the scenario runner; the STARTTLS one
# replaces the wolfSSL glue by its shim (FUZZ_TLS_SHIM_*: see test/fuzz/README.md).
FUZZ_FAKE_PORT := engine starttls resolve
FUZZ_TLS_SHIM := starttls

.PHONY: fuzz fuzz-build fuzz-run fuzz-cmin fuzz-cov deps-fuzz
deps-fuzz:
	$(Q)$(MAKE) --no-print-directory deps DEPS_BUILD="$(DEPS_FUZZ)" DEPS_TEST=

fuzz: deps-fuzz
	$(Q)$(MAKE) --no-print-directory O=$(FUZZ_O) test_defconfig
	$(Q)$(MAKE) --no-print-directory O=$(FUZZ_O) fuzz-build fuzz-run

$(LF)/%.o: %.c $(AUTOCONF) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LF-CC   $<")
	$(Q)$(FUZZ_CC) $(LF_CFLAGS) -c $< -o $@

$(LF_LIB): $(LF_FW_OBJ)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

# The parsers' harnesses take what they need from the library.
$(LF)/fuzz_%: $(LF)/test/fuzz/fuzz_%.o $(LF_LIB) $(MXML_PRIVATE)
	@$(if $(Q),echo "  LF-LD   $@")
	$(Q)$(FUZZ_CC) $(LF_LDFLAGS) -o $@ $< $(LF_LIB) $(LIBS)

$(LF)/fuzz_engine $(LF)/fuzz_resolve: $(LF)/fuzz_%: $(LF)/test/fuzz/fuzz_%.o $(LF_SCENARIO_OBJ) $(LF_LIB) $(MXML_PRIVATE)
	@$(if $(Q),echo "  LF-LD   $@")
	$(Q)$(FUZZ_CC) $(LF_LDFLAGS) -o $@ $< $(LF_SCENARIO_OBJ) $(LF_LIB) $(LIBS)

# Every engine object but the wolfSSL glue, and the shim in its place.
$(LF)/fuzz_starttls: $(LF)/test/fuzz/fuzz_starttls.o $(LF)/test/fuzz/tls_shim.o $(LF_SCENARIO_OBJ) $(LF_FW_OBJ) \
		$(MXML_PRIVATE)
	@$(if $(Q),echo "  LF-LD   $@")
	$(Q)$(FUZZ_CC) $(LF_LDFLAGS) -o $@ $< $(LF)/test/fuzz/tls_shim.o $(LF_SCENARIO_OBJ) \
		$(filter-out $(LF)/firmware/link/tls.o,$(LF_FW_OBJ)) $(LIBS)

fuzz-build: $(LF_BIN)

# Per harness: run on the work corpus (seeded by the committed one), then
# merge the new inputs of at most FUZZ_KEEP_BYTES that add coverage into the
# committed corpus. A crash stops that harness (the input is left in
# $(LF)/artifacts/) and fails the target after the others ran.
fuzz-run: fuzz-build
	$(Q)mkdir -p $(LF)/artifacts $(LF)/log; fail=""; \
	for n in $(FUZZ_HARNESSES); do \
		w=$(LF)/corpus/$$n; k=$(LF)/keep/$$n; c=test/fuzz/corpus/$$n; log=$(LF)/log/$$n.log; \
		mkdir -p $$w $$c; rm -rf $$k; mkdir -p $$k; \
		echo "== fuzz_$$n: $(FUZZ_TIME) s on $$w (seeds $$c)"; \
		t0=$$(date +%s); \
		opts=""; case $$n in $(FUZZ_OPTS_CASE) esac; \
		if $(LF)/fuzz_$$n $$opts -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$(LF)/artifacts/$$n- $$w $$c >$$log 2>&1; then crash=0; \
		else crash=1; fail="$$fail $$n"; echo "   CRASH: see $$log and $(LF)/artifacts/$$n-*"; fi; \
		t1=$$(date +%s); \
		execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log | tail -1); \
		last=$$(grep -E '^#[0-9]+' $$log | grep -E 'cov: ' | tail -1); \
		cov=$$(echo "$$last" | sed -n 's/.* cov: \([0-9]*\).*/\1/p'); \
		ft=$$(echo "$$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p'); \
		find $$w -type f -size -$$(($(FUZZ_KEEP_BYTES) + 1))c -exec cp {} $$k/ \; ; \
		before=$$(ls $$c | wc -l); \
		$(LF)/fuzz_$$n $$opts -use_counters=0 -merge=1 $$c $$k >$(LF)/log/$$n.merge.log 2>&1 || \
			echo "   merge failed: see $(LF)/log/$$n.merge.log"; \
		added=$$(( $$(ls $$c | wc -l) - before )); \
		echo "   $${execs:-?} executions, cov $${cov:-?}, ft $${ft:-?}, work corpus $$(ls $$w | wc -l), $$added new in $$c"; \
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$$(date -u +%FT%TZ)" $$n $$((t1 - t0)) "$${execs:-0}" \
			"$${cov:-0}" "$${ft:-0}" "$$(ls $$w | wc -l)" $$added $$crash >> $(LF)/stats.tsv; \
	done; \
	if [ -n "$$fail" ]; then echo "fuzz: crashes in:$$fail" >&2; exit 1; fi

# The committed corpus of each harness anew: the named seeds, then the
# fewest generated (hash-named) inputs that keep their coverage.
fuzz-cmin: fuzz-build
	$(Q)for n in $(FUZZ_HARNESSES); do \
		c=test/fuzz/corpus/$$n; t=$(LF)/cmin/$$n; rm -rf $$t; mkdir -p $$t/named $$t/gen $$t/out; \
		for f in $$c/*; do case $$(basename $$f) in \
			[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) cp $$f $$t/gen/;; \
			*) cp $$f $$t/named/;; esac; done; \
		cp $$t/named/* $$t/out/ 2>/dev/null; \
		$(LF)/fuzz_$$n -use_counters=0 -merge=1 $$t/out $$t/gen >$$t/merge.log 2>&1 || { echo "cmin $$n failed: $$t/merge.log"; exit 1; }; \
		before=$$(ls $$c | wc -l); rm -f $$c/*; cp $$t/out/* $$c/; \
		echo "== $$c: $$before -> $$(ls $$c | wc -l) files, $$(du -sk $$c | cut -f1) KiB"; \
	done

# Source coverage: the replay main, clang's instrumentation, the committed
# corpus; llvm-cov reports the lines of each harness's target files.
LC := $(O)/fuzzcov
LC_CFLAGS := $(filter-out -fsanitize=% -fno-sanitize-recover=% -DXS2S_FUZZ_LIBFUZZER,$(LF_CFLAGS)) \
	-fprofile-instr-generate -fcoverage-mapping
LC_FW_OBJ := $(addprefix $(LC)/firmware/,$(firmware-objs-y))
LC_SCENARIO_OBJ := $(SCENARIO_LIB_SRC:%.c=$(LC)/%.o) $(LC)/port/fake/fake_port.o
FUZZ_COV_FILES_framer := firmware/xml/framer.c
FUZZ_COV_FILES_certid := firmware/link/certid.c
FUZZ_COV_FILES_dns := firmware/resolve/dns.c
FUZZ_COV_FILES_resolve := firmware/resolve/resolve.c firmware/resolve/dns.c
FUZZ_COV_FILES_engine := $(filter-out firmware/link/tls.c,$(firmware-objs-y:%.o=firmware/%.c))
FUZZ_COV_FILES_starttls := $(FUZZ_COV_FILES_engine)

$(LC)/%.o: %.c $(AUTOCONF) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  COV-CC  $<")
	$(Q)$(FUZZ_CC) $(LC_CFLAGS) -c $< -o $@

$(LC)/libxs2s.a: $(LC_FW_OBJ)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

# As the libFuzzer builds: the parsers take what they need from the library,
# the harnesses over the fake port link the runner, the STARTTLS one the shim.
$(LC)/fuzz_%: $(LC)/test/fuzz/fuzz_%.o $(LC)/test/fuzz/replay.o $(LC_SCENARIO_OBJ) $(LC)/test/fuzz/tls_shim.o \
		$(LC)/libxs2s.a $(MXML_PRIVATE)
	$(Q)$(FUZZ_CC) -fprofile-instr-generate -o $@ $< $(LC)/test/fuzz/replay.o \
		$(if $(filter $*,$(FUZZ_FAKE_PORT)),$(LC_SCENARIO_OBJ)) \
		$(if $(filter $*,$(FUZZ_TLS_SHIM)),$(LC)/test/fuzz/tls_shim.o $(filter-out %/link/tls.o,$(LC_FW_OBJ)),$(LC)/libxs2s.a) \
		$(LIBS)

fuzz-cov: $(FUZZ_HARNESSES:%=$(LC)/fuzz_%)
	$(Q)for n in $(FUZZ_HARNESSES); do \
		rm -f $(LC)/$$n.profraw; \
		LLVM_PROFILE_FILE=$(LC)/$$n.profraw $(LC)/fuzz_$$n test/fuzz/corpus/$$n/* >/dev/null 2>&1 || \
			{ echo "fuzz_$$n: the replay failed"; exit 1; }; \
		llvm-profdata merge -o $(LC)/$$n.profdata $(LC)/$$n.profraw; \
		echo "== fuzz_$$n: its target files as test/fuzz/corpus/$$n reaches them"; \
		case $$n in $(foreach h,$(FUZZ_NAMES),$(h)$(rparen) files="$(FUZZ_COV_FILES_$(h))";;) esac; \
		llvm-cov report $(LC)/fuzz_$$n -instr-profile=$(LC)/$$n.profdata $$files | \
			awk 'NF == 13 && $$2 ~ /^[0-9]+$$/ { f = $$1; sub(".*/firmware/", "firmware/", f); \
				printf "   %-28s lines %5d, %5.1f%% covered; branches %5.1f%%\n", f, $$8, $$10, $$13 }'; \
	done

# gcc replay builds (fuzz-replay) of the new harnesses over the fake port:
# explicit rules, so the POSIX port's pattern rule does not apply.
$(O)/test/fuzz/%.o: CFLAGS += $(TEST_CFLAGS) $(SCENARIO_CPPFLAGS)
$(O)/fuzz/fuzz_resolve: test/fuzz/fuzz_resolve.c test/fuzz/replay.c test/fuzz/fuzz.h $(SCENARIO_DEPS) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ-CC $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(SCENARIO_CPPFLAGS) $(LDFLAGS) -o $@ $< test/fuzz/replay.c \
		$(SCENARIO_LIB_OBJ) $(FAKE_PORT_OBJ) $(LIBXS2S) $(LIBS)
$(O)/fuzz/fuzz_starttls: test/fuzz/fuzz_starttls.c test/fuzz/replay.c test/fuzz/fuzz.h $(O)/test/fuzz/tls_shim.o \
		$(SCENARIO_DEPS) $(FIRMWARE_OBJ) | $(SIZES_H)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ-CC $<")
	$(Q)$(CC) $(CFLAGS) $(TEST_CFLAGS) $(SCENARIO_CPPFLAGS) $(LDFLAGS) -o $@ $< test/fuzz/replay.c \
		$(O)/test/fuzz/tls_shim.o $(SCENARIO_LIB_OBJ) $(FAKE_PORT_OBJ) \
		$(filter-out $(O)/firmware/link/tls.o,$(FIRMWARE_OBJ)) $(LIBS)

-include $(O)/test/fuzz/tls_shim.d $(LF_FW_OBJ:.o=.d) $(LF_SCENARIO_OBJ:.o=.d) $(FUZZ_NAMES:%=$(LF)/test/fuzz/fuzz_%.d)
.SECONDARY: $(FUZZ_NAMES:%=$(LF)/test/fuzz/fuzz_%.o) $(LF)/test/fuzz/tls_shim.o $(FUZZ_NAMES:%=$(LC)/test/fuzz/fuzz_%.o) \
	$(LC)/test/fuzz/tls_shim.o $(LC)/test/fuzz/replay.o $(LC_SCENARIO_OBJ)
