# autocorrect: build, test, install.
#
# Layout: each module lives in src/<module>/ and becomes build/lib/libac_<module>.a; the whole
# library is build/libautocorrect.a (and .so). A test program tests/<module>/test_*.c links its
# module and the modules that module depends on (DEPS_<module>), so a broken module does not stop
# the others' tests from building. Programs: src/cli -> autocorrect, src/daemon -> autocorrectd.
#
# Targets: all, demo, test, asan, bench, fixtures, corpus, model, install PREFIX=..., clean.

PREFIX  ?= /usr/local
BUILD   ?= build
CC      ?= cc
PYTHON  ?= /usr/bin/python3
OPT     ?= -O2
# No -march=native: the binaries must run on users' CPUs. SIMD kernels opt in per function with
# target attributes and are chosen at run time.
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -fPIC -pthread -Wall -Wextra -Iinclude -Isrc -I$(BUILD)/gen -MMD -MP
LDFLAGS ?=
LDLIBS  += -lprotobuf-c -lutf8proc -ljansson -lmicrohttpd -lm -lpthread

# Modules, in link order (a module may depend only on those after it).
MODULES := server decoder corrector engine tokenizer util
DEPS_util      :=
DEPS_tokenizer := util
DEPS_engine    := util
DEPS_corrector := util
DEPS_decoder   := corrector engine tokenizer util
DEPS_server    := decoder corrector engine tokenizer util

ONNX_PROTO ?= /usr/include/onnx/onnx.proto
GEN_SRC := $(BUILD)/gen/onnx.pb-c.c
GEN_OBJ := $(BUILD)/obj/gen/onnx.pb-c.o

src_of = $(wildcard src/$(1)/*.c)
obj_of = $(patsubst src/%.c,$(BUILD)/obj/%.o,$(call src_of,$(1)))
lib_of = $(if $(call src_of,$(1)),$(BUILD)/lib/libac_$(1).a)
libs_for = $(foreach m,$(1) $(DEPS_$(1)),$(call lib_of,$(m)))

ALL_MODULE_OBJ := $(foreach m,$(MODULES),$(call obj_of,$(m))) $(GEN_OBJ)
CLI_OBJ    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/cli/*.c))
DAEMON_OBJ := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(wildcard src/daemon/*.c))
PROGRAMS   := $(BUILD)/bin/autocorrect $(if $(DAEMON_OBJ),$(BUILD)/bin/autocorrectd)

TEST_SRC := $(foreach m,$(MODULES),$(wildcard tests/$(m)/test_*.c))
TEST_BIN := $(patsubst tests/%.c,$(BUILD)/tests/%,$(TEST_SRC))
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

.PHONY: all test test-build asan bench fixtures corpus model install clean deps demo
all: $(BUILD)/libautocorrect.a $(BUILD)/libautocorrect.so $(PROGRAMS)

# --- generated ONNX protobuf code -------------------------------------------------------------
$(GEN_SRC): $(ONNX_PROTO)
	@mkdir -p $(BUILD)/gen
	protoc-c --c_out=$(BUILD)/gen -I$(dir $(ONNX_PROTO)) $(ONNX_PROTO)
$(BUILD)/gen/onnx.pb-c.h: $(GEN_SRC)
$(GEN_OBJ): $(GEN_SRC)
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -Wall -Wextra,$(CFLAGS)) -c $< -o $@

# --- objects and module libraries -------------------------------------------------------------
$(BUILD)/obj/%.o: src/%.c | $(BUILD)/gen/onnx.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

define module_rules
$(BUILD)/lib/libac_$(1).a: $(call obj_of,$(1)) $(if $(filter engine,$(1)),$(GEN_OBJ))
	@mkdir -p $$(dir $$@)
	rm -f $$@ && ar rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_rules,$(m))))

$(BUILD)/libautocorrect.a: $(ALL_MODULE_OBJ)
	rm -f $@ && ar rcs $@ $^
$(BUILD)/libautocorrect.so: $(ALL_MODULE_OBJ)
	$(CC) -shared $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --- programs ---------------------------------------------------------------------------------
$(BUILD)/bin/autocorrect: $(CLI_OBJ) $(BUILD)/libautocorrect.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/bin/autocorrectd: $(DAEMON_OBJ) $(BUILD)/libautocorrect.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# --- tests ------------------------------------------------------------------------------------
define test_rules
$(BUILD)/tests/$(1)/%: tests/$(1)/%.c $(call libs_for,$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(CFLAGS) -Itests $$(LDFLAGS) -o $$@ $$< $(call libs_for,$(1)) $$(LDLIBS)
endef
$(foreach m,$(MODULES),$(eval $(call test_rules,$(m))))

test-build: all $(TEST_BIN) $(BUILD)/bench/eval_keystrokes  # the last for tests/python/test_ngram.py

# The README's test command. Installs the npm test references if missing (skipped with a clear
# message when the registry cannot be reached), then runs every test program.
test: test-build
	BUILD=$(BUILD) PYTHON=$(PYTHON) tests/run.sh

# ASan + UBSan build of the library and the C tests, in its own build directory.
asan:
	$(MAKE) BUILD=build-asan OPT="-O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
	        LDFLAGS="-fsanitize=address,undefined" test-build
	BUILD=build-asan ASAN_OPTIONS=detect_leaks=1 tests/run.sh --c-only

# --- benchmarks, data, models -----------------------------------------------------------------
$(BUILD)/bench/%: bench/%.c $(BUILD)/libautocorrect.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(BUILD)/libautocorrect.a $(LDLIBS)

bench: all $(BENCH_BIN)
	BUILD=$(BUILD) PYTHON=$(PYTHON) bench/run.sh

fixtures:
	$(PYTHON) python/make_fixtures.py tests/fixtures
	$(PYTHON) tests/fixtures/make_hf_style.py tests/fixtures

corpus:
	$(PYTHON) python/corpus/build_corpus.py --out data/corpus

# Rebuilds models/default from scratch (hours of CPU; resumable). See scripts/make_model.sh.
model:
	scripts/make_model.sh

# --- spelling dictionary (corrector; python/dictionary/build_dictionary.py documents it) -------
.PHONY: dictionary
dictionary:
	$(PYTHON) python/dictionary/build_dictionary.py --corpus data/corpus/train.txt \
	    --out models/default/dictionary.tsv --max-size 70 --extra-min-count 10

deps:
	scripts/install-deps.sh

# --- demo: the daemon on a temporary socket, a completion and a correction (scripts/demo.sh) ----
demo: all
	@BUILD=$(BUILD) scripts/demo.sh

# --- install ----------------------------------------------------------------------------------
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib $(DESTDIR)$(PREFIX)/include/autocorrect \
	           $(DESTDIR)$(PREFIX)/share/autocorrect
	install -m 755 $(PROGRAMS) $(DESTDIR)$(PREFIX)/bin/
	install -m 644 $(BUILD)/libautocorrect.a $(BUILD)/libautocorrect.so $(DESTDIR)$(PREFIX)/lib/
	install -m 644 include/autocorrect.h $(DESTDIR)$(PREFIX)/include/
	install -m 644 include/autocorrect/*.h $(DESTDIR)$(PREFIX)/include/autocorrect/
	cp -R models $(DESTDIR)$(PREFIX)/share/autocorrect/
	for d in editors shell python; do [ -d $$d ] && cp -R $$d $(DESTDIR)$(PREFIX)/share/autocorrect/ || true; done
	[ -d man ] && install -d $(DESTDIR)$(PREFIX)/share/man/man1 && install -m 644 man/*.1 $(DESTDIR)$(PREFIX)/share/man/man1/ || true

clean:
	rm -rf build build-asan build-tsan

-include $(shell find $(BUILD) build-asan -name '*.d' 2>/dev/null)

# --- fuzzing: `make fuzz`, `make fuzz-regress` (fuzz/README.md) ---------------------------------
# Each fuzz/fuzz_<name>.c is a libFuzzer target for one parser of outside input. `make fuzz` builds
# $(BUILD)/fuzz/fuzz_<name> with clang (ASan + UBSan + libFuzzer, the library compiled the same way in
# $(BUILD)/fuzz-lib) and runs each for FUZZ_SECONDS from its seeds (fuzz/corpus/<name>/) and past
# findings (fuzz/regressions/<name>/); new inputs go to $(BUILD)/fuzz-work/<name>, crashes to
# $(BUILD)/fuzz-artifacts/<name>/ (make fails: copy the file into fuzz/regressions/<name>/).
# FUZZ_TARGETS="onnx server" runs only those. `make fuzz-regress` replays the seeds and regressions
# without libFuzzer, built with the normal compiler: $(BUILD)/tests/fuzz/test_fuzz_regress_<name>,
# which `make test` (and `make asan`) runs too.
FUZZ_SECONDS ?= 30
FUZZ_TARGETS ?= $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_BIN := $(patsubst %,$(BUILD)/fuzz/fuzz_%,$(FUZZ_TARGETS))
FUZZ_REGRESS_BIN := $(patsubst fuzz/fuzz_%.c,$(BUILD)/tests/fuzz/test_fuzz_regress_%,$(wildcard fuzz/fuzz_*.c))
.PHONY: fuzz fuzz-build fuzz-regress fuzz-lib
fuzz-lib:
	$(MAKE) BUILD=$(BUILD)/fuzz-lib CC=clang OPT="-O1 $(FUZZ_FLAGS)" $(BUILD)/fuzz-lib/libautocorrect.a
# The SIMD kernels parse no input, and clang takes minutes to instrument their tables (5 min for
# kernels.c with ASan + UBSan + coverage, 5 s without): the fuzzing library builds them plain.
%/fuzz-lib/obj/engine/kernels.o: override OPT := -O1
$(BUILD)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz-lib
	@mkdir -p $(dir $@)
	clang -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -std=c11 -D_GNU_SOURCE \
	  -Iinclude -Isrc -Ifuzz -I$(BUILD)/fuzz-lib/gen -o $@ $< $(BUILD)/fuzz-lib/libautocorrect.a $(LDLIBS)
fuzz-build: $(FUZZ_BIN)
fuzz: fuzz-build
	BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) fuzz/run.sh $(FUZZ_TARGETS)

# the replay programs: the same entry points, no libFuzzer, discovered by tests/run.sh
$(BUILD)/tests/fuzz/test_fuzz_regress_%: tests/fuzz/test_fuzz_regress.c fuzz/fuzz_%.c $(BUILD)/libautocorrect.a
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) -Ifuzz -DFUZZ_TARGET='"$*"' $(LDFLAGS) -o $@ tests/fuzz/test_fuzz_regress.c \
	  fuzz/fuzz_$*.c $(BUILD)/libautocorrect.a $(LDLIBS)
test-build: $(FUZZ_REGRESS_BIN)
fuzz-regress: all $(FUZZ_REGRESS_BIN)
	BUILD=$(BUILD) tests/run.sh test_fuzz_regress_

# --- the load client (tests/load/, run by tests/sh/test_load.sh and bench/bench_load.sh) -------------
$(BUILD)/tests/load/load_client: tests/load/load_client.c
	@mkdir -p $(dir $@)
	$(CC) $(filter-out -MMD -MP,$(CFLAGS)) $(LDFLAGS) -o $@ $< -ljansson -lpthread
test-build: $(BUILD)/tests/load/load_client

# ThreadSanitizer on the daemon: the load test (with the client), the fault tests, built in build-tsan.
# A race makes the daemon exit 66 (the tests' clean-exit checks then fail). Not in CI (about 1 min).
.PHONY: tsan
tsan:
	$(MAKE) BUILD=build-tsan OPT="-O1 -g -fsanitize=thread" LDFLAGS="-fsanitize=thread" all build-tsan/tests/load/load_client
	export AC_TEST_BUILD=build-tsan TSAN_OPTIONS="exitcode=66"; LOAD_SECONDS=10 bash tests/sh/test_load.sh && \
	  bash tests/sh/test_faults.sh && bash tests/sh/test_faults_http.sh
