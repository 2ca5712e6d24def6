# tests/tests.mk: the test suite (issue 2).  `make test` builds and runs it all;
# `make check` depends on it (other fragments add their own prerequisites).
# Everything builds into $(BUILD)/tests; see tests/README.md for the catalogue.
T_DIR    := $(BUILD)/tests
T_CFLAGS  = $(CFLAGS) -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter \
            -Wno-free-nonheap-object -Wno-use-after-free -Wno-alloc-size-larger-than \
            -fno-builtin -pthread -Iinclude -Itests
T_PROGS  := api threads forkt rss churn races glibc_names harden huge grid harden_full
T_STATIC := $(addprefix $(T_DIR)/,$(T_PROGS))
T_DYN    := $(addprefix $(T_DIR)/,api_dyn threads_dyn forkt_dyn glibc_names_dyn harden_dyn)
T_FAULTS := $(sort $(wildcard tests/faults/*.c))
T_DEPS   := tests/testlib.h include/hakmem.h

.PHONY: test test-build
test-build: $(T_STATIC) $(T_DYN) $(T_DIR)/faults $(T_DIR)/faults_dyn $(BUILD)/libhakmem.so

test: test-build
	bash tests/run.sh $(T_DIR) $(BUILD)/libhakmem.so

check: test

# static: the plain malloc names resolve to libhakmem.a at link time
$(T_STATIC): $(T_DIR)/%: tests/%.c $(T_DEPS) $(BUILD)/libhakmem.a
	@mkdir -p $(dir $@)
	$(CC) $(T_CFLAGS) $< -o $@ $(BUILD)/libhakmem.a -pthread -ldl

# races.c also reaches into the library's internals (static build only)
$(T_DIR)/races: T_CFLAGS += -Isrc -Wno-array-bounds -Wno-stringop-overflow
# grid.c runs the classifier's grid test itself (white box, static build only)
$(T_DIR)/grid: T_CFLAGS += -Isrc -O2

# harden_full.c takes full mode's constants from the library's internal.h
$(T_DIR)/harden_full: T_CFLAGS += -Isrc

# dynamic: nothing of hakmem linked; run under LD_PRELOAD, hak_* via dlsym
$(T_DYN): $(T_DIR)/%_dyn: tests/%.c $(T_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(T_CFLAGS) -DHAK_DYN $< -o $@ -pthread -ldl

# the fault catalogue: -O0 so the compiler keeps every bad free as written
$(T_DIR)/faults: tests/faults_main.c $(T_FAULTS) tests/faults/fault.h $(T_DEPS) $(BUILD)/libhakmem.a
	@mkdir -p $(dir $@)
	$(CC) $(T_CFLAGS) -O0 tests/faults_main.c $(T_FAULTS) -o $@ $(BUILD)/libhakmem.a -pthread -ldl

$(T_DIR)/faults_dyn: tests/faults_main.c $(T_FAULTS) tests/faults/fault.h $(T_DEPS)
	@mkdir -p $(dir $@)
	$(CC) $(T_CFLAGS) -O0 -DHAK_DYN tests/faults_main.c $(T_FAULTS) -o $@ -pthread -ldl
