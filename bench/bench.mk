# bench/ fragment, included by the top Makefile.  Benchmarks are not tests:
# only bench-guard (a deterministic callgrind instruction count) may gate CI.
#   make bench          full table + chart into bench/results/ (5-10 min on 2 cores)
#   make bench-quick    1 run at tiny scale into $(BUILD)/bench/results/ (smoke)
#   make bench-guard    fail if hakmem's Tiny malloc+free pair costs more
#                       instructions than bench/callgrind_bound.txt allows
#   make lean           $(BUILD)/lean/libhakmem.so: -DHAK_LEAN=1, the default
#                       checks of issue 12 compiled out (src/types.h); a
#                       measurement build only, never installed or tested
#   make bench-hardencost  default vs lean, interleaved (bench/hardencost.py)
# Knobs: BENCH_RUNS (3), BENCH_SCALE (1.0), BENCH_ALLOCS, BENCH_ONLY, BENCH_EXTRA.

BENCH_PROGS  := larson mixed xthread xmalloc pair realloc_grow memheavy churn rptest malloc_large glibc_bench
BENCH_BINS   := $(addprefix $(BUILD)/bench/,$(BENCH_PROGS))
# Own flags: the benchmarks must stay optimised plain programs even when
# CFLAGS carries sanitizer or coverage options for other targets.
BENCH_CFLAGS ?= -O2 -g
BENCH_PY     := /usr/bin/python3
BENCH_RUNS   ?= 3
BENCH_SCALE  ?= 1
BENCH_RUN    = $(BENCH_PY) bench/run.py --bin $(BUILD)/bench --hakmem $(BUILD)/libhakmem.so

.PHONY: bench bench-quick bench-guard bench-bins lean bench-hardencost

bench-bins: $(BENCH_BINS)

$(BUILD)/bench/%: bench/%.c bench/bench_util.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -std=gnu11 -Wall -Wextra -pthread $< -o $@ -ldl

bench: $(BENCH_BINS) $(BUILD)/libhakmem.so
	$(BENCH_RUN) --runs $(BENCH_RUNS) --scale $(BENCH_SCALE) --out bench/results --readme bench/README.md

bench-quick: $(BENCH_BINS) $(BUILD)/libhakmem.so
	$(BENCH_RUN) --runs 1 --scale 0.05 --out $(BUILD)/bench/results

bench-guard: $(BUILD)/bench/pair $(BUILD)/libhakmem.so
	$(BENCH_RUN) --guard bench/callgrind_bound.txt

# ---- issue 12's cost: the library with its default fast-path checks compiled out
LEAN_DIR  := $(BUILD)/lean
LEAN_OBJS := $(patsubst src/%.c,$(LEAN_DIR)/obj/%.o,$(SRCS))
LEAN_RUNS ?= 7

$(LEAN_DIR)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DHAK_LEAN=1 $(HAK_CFLAGS) -c $< -o $@

$(LEAN_DIR)/obj/override_cxx.o: HAK_CFLAGS += -fexceptions

$(LEAN_DIR)/libhakmem.so: $(LEAN_OBJS)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,-z,now -Wl,-Bsymbolic-functions -o $@ $^ $(LDLIBS_HAK)

lean: $(LEAN_DIR)/libhakmem.so

# not part of `make check`: timings are noisy (bench/README.md, issue 12's cost)
bench-hardencost: $(BENCH_BINS) $(BUILD)/libhakmem.so $(LEAN_DIR)/libhakmem.so
	$(BENCH_PY) bench/hardencost.py --bin $(BUILD)/bench --default $(BUILD)/libhakmem.so \
	    --lean $(LEAN_DIR)/libhakmem.so --runs $(LEAN_RUNS)
