# fuzz/fuzz.mk: libFuzzer and AFL++ builds of the fuzz targets (issue 4).
# Included by the top Makefile; uses $(BUILD), $(CORE_SRCS), $(HAK_CFLAGS).
#
#   make fuzz        every target under libFuzzer for FUZZ_SECONDS each (default 60)
#   make fuzz-afl    every target under AFL++ for FUZZ_SECONDS each
#   make fuzz-smoke  CI: FUZZ_SMOKE_SECONDS (default 5) per target under both
#                    fuzzers, plus a replay of every file in fuzz/regressions/<target>/
#   make fuzz-replay only the regression replay
#   make fuzz-build  build both variants of every target
#   make fuzz-corpus regenerate the committed seed corpora (fuzz/gen_corpus.py)
# A crash, failed check or sanitizer report fails the command and prints the
# reproducer's path; each run prints executions, exec/s and coverage.
# Binaries go to $(BUILD)/fuzz/{lf,afl}/, run outputs to $(FUZZ_OUT).

FUZZ_TARGETS       ?= ptr_soup corrupt ops threads
FUZZ_SECONDS       ?= 60
FUZZ_SMOKE_SECONDS ?= 5
FUZZ_OUT           ?= fuzz/out
FUZZ_LF_CC         ?= clang
FUZZ_AFL_CC        ?= afl-clang-fast

# FUZZ_HAK_ASAN=1 (default) builds hakmem with its own ASan poisoning of freed
# and unused slab memory (-DHAK_ASAN=1); 0 leaves it out (separate build dir),
# which fuzzes the same logic while a poisoning bug blocks the default build.
# FUZZ_EXTRA_CFLAGS=-DFUZZ_SKIP_KNOWN steers the harnesses around known,
# reported bugs (each has a file in fuzz/regressions/) to fuzz past them; use
# it with a separate BUILD=, since make does not see the flag change.
FUZZ_HAK_ASAN      ?= 1
FUZZ_DIR   := $(BUILD)/fuzz$(if $(filter 0,$(FUZZ_HAK_ASAN)),-nopoison)
FUZZ_BASE  := -g -O1 -fno-omit-frame-pointer -DHAK_ASAN=$(FUZZ_HAK_ASAN) $(FUZZ_EXTRA_CFLAGS)
FUZZ_LF_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_HDRS  := $(wildcard include/*.h src/*.h) fuzz/fuzz_common.h

FUZZ_LF_OBJS  := $(patsubst src/%.c,$(FUZZ_DIR)/lf/obj/%.o,$(CORE_SRCS))
FUZZ_AFL_OBJS := $(patsubst src/%.c,$(FUZZ_DIR)/afl/obj/%.o,$(CORE_SRCS))
FUZZ_LF_BINS  := $(patsubst %,$(FUZZ_DIR)/lf/fuzz_%,$(FUZZ_TARGETS))
FUZZ_AFL_BINS := $(patsubst %,$(FUZZ_DIR)/afl/fuzz_%,$(FUZZ_TARGETS))

# AFL++ wrappers read their options from the environment.
FUZZ_AFL_ENV := AFL_USE_ASAN=1 AFL_USE_UBSAN=1 AFL_QUIET=1

.PHONY: fuzz fuzz-afl fuzz-smoke fuzz-replay fuzz-build fuzz-corpus fuzz-clean

$(FUZZ_DIR)/lf/obj/%.o: src/%.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_LF_CC) $(FUZZ_BASE) $(FUZZ_LF_SAN) -fsanitize=fuzzer-no-link $(HAK_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/lf/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LF_OBJS) $(FUZZ_HDRS)
	$(FUZZ_LF_CC) $(FUZZ_BASE) $(FUZZ_LF_SAN) -fsanitize=fuzzer -std=gnu11 -pthread -Iinclude -Isrc \
	    $< $(FUZZ_LF_OBJS) -o $@ $(LDLIBS_HAK)

$(FUZZ_DIR)/afl/obj/%.o: src/%.c $(FUZZ_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_AFL_ENV) $(FUZZ_AFL_CC) $(FUZZ_BASE) $(HAK_CFLAGS) -c $< -o $@

$(FUZZ_DIR)/afl/fuzz_%: fuzz/fuzz_%.c $(FUZZ_AFL_OBJS) $(FUZZ_HDRS)
	$(FUZZ_AFL_ENV) $(FUZZ_AFL_CC) $(FUZZ_BASE) -fsanitize=fuzzer -std=gnu11 -pthread -Iinclude -Isrc \
	    $< $(FUZZ_AFL_OBJS) -o $@ $(LDLIBS_HAK)

# keep the objects: make would delete them as intermediates
.SECONDARY: $(FUZZ_LF_OBJS) $(FUZZ_AFL_OBJS)

fuzz-build: $(FUZZ_LF_BINS) $(FUZZ_AFL_BINS)

fuzz: $(FUZZ_LF_BINS)
	FUZZ_BIN=$(FUZZ_DIR) FUZZ_OUT=$(FUZZ_OUT) bash fuzz/run.sh lf $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-afl: $(FUZZ_AFL_BINS) $(FUZZ_LF_BINS)
	FUZZ_BIN=$(FUZZ_DIR) FUZZ_OUT=$(FUZZ_OUT) bash fuzz/run.sh afl $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-replay: $(FUZZ_LF_BINS)
	FUZZ_BIN=$(FUZZ_DIR) FUZZ_OUT=$(FUZZ_OUT) bash fuzz/run.sh replay 0 $(FUZZ_TARGETS)

fuzz-smoke: $(FUZZ_LF_BINS) $(FUZZ_AFL_BINS)
	FUZZ_BIN=$(FUZZ_DIR) FUZZ_OUT=$(FUZZ_OUT) bash fuzz/run.sh smoke $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)

fuzz-corpus:
	python3 fuzz/gen_corpus.py fuzz/corpus

fuzz-clean:
	rm -rf $(FUZZ_DIR) $(FUZZ_OUT)
