# bench/ fragment, included by the top Makefile.  Benchmarks are not tests:
# only bench-guard (a deterministic callgrind instruction count) may gate CI.
#   make bench          full table + chart into bench/results/ (5-10 min on 2 cores)
#   make bench-quick    1 run at tiny scale into $(BUILD)/bench/results/ (smoke)
#   make bench-guard    fail if hakmem's Tiny malloc+free pair costs more
#                       instructions than bench/callgrind_bound.txt allows
# Knobs: BENCH_RUNS (3), BENCH_SCALE (1.0), BENCH_ALLOCS, BENCH_ONLY, BENCH_EXTRA.

BENCH_PROGS  := larson mixed xthread pair realloc_grow memheavy churn rptest malloc_large glibc_bench
BENCH_BINS   := $(addprefix $(BUILD)/bench/,$(BENCH_PROGS))
# Own flags: the benchmarks must stay optimised plain programs even when
# CFLAGS carries sanitizer or coverage options for other targets.
BENCH_CFLAGS ?= -O2 -g
BENCH_PY     := /usr/bin/python3
BENCH_RUNS   ?= 3
BENCH_SCALE  ?= 1
BENCH_RUN    = $(BENCH_PY) bench/run.py --bin $(BUILD)/bench --hakmem $(BUILD)/libhakmem.so

.PHONY: bench bench-quick bench-guard bench-bins

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
