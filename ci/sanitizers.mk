# ci/sanitizers.mk: `make asan` and `make valgrind` (issue 5).
#
# asan:     the library core (no malloc override: ASan keeps its own malloc)
#           built with clang -fsanitize=address,undefined -DHAK_ASAN=1 into
#           $(SAN_ADIR); the programs of tests/sanitizers/ and the C tests of
#           tests/ (plain malloc names sent to hak_* by hak_names.h) linked
#           against it and run with leak detection on; then see.sh: the
#           deliberate bugs of bugs.c must be reported by ASan.
# valgrind: the normal build ($(BUILD)) under Memcheck with
#           --soname-synonyms=somalloc=nomatch (otherwise Memcheck replaces
#           malloc and hakmem never runs, TOOLCHAIN.md 5): the same programs,
#           the static tests/ programs from tests/tests.mk, python3 under
#           LD_PRELOAD=libhakmem.so; then see.sh for Memcheck.
# Both print "N passed, M failed" last and fail when M > 0.
# SAN_XFAIL="asan:leak-tiny ..." lists see.sh cases expected to be missed.
# hookcost: what the Valgrind hooks cost the normal build's malloc+free fast
#           path: callgrind instructions per 16-byte pair and wall-clock
#           ns/pair, library as it is vs compiled with -DHAK_NO_TOOL_HOOKS.

SAN_CC     ?= clang
SAN_ADIR   := $(BUILD)/asan
SAN_VDIR   := $(BUILD)/san-vg
SAN_AFLAGS := -g -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
SAN_TFLAGS  = -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-unused-parameter -pthread -Iinclude
SAN_XFAIL  ?= asan:leak-tiny asan:leak-mid asan:leak-huge asan:leak0-tiny asan:leak0-mid
export SAN_XFAIL

SAN_AOBJS  := $(patsubst src/%.c,$(SAN_ADIR)/obj/%.o,$(CORE_SRCS))
SAN_PROGS  := clean roots bugs
SAN_DEPS   := tests/sanitizers/san.h include/hakmem.h
# C tests of tests/ reused under ASan (they call the plain names; see hak_names.h)
SAN_TSRC   := $(wildcard tests/api.c tests/threads.c tests/forkt.c tests/huge.c)
# (not forkt.c under ASan: see run.sh)
SAN_ATESTS := $(patsubst tests/%.c,$(SAN_ADIR)/t-%,$(filter-out tests/forkt.c,$(SAN_TSRC)))
# static tests/ programs built by tests/tests.mk, run under Memcheck
SAN_VTESTS := $(if $(T_DIR),$(addprefix $(T_DIR)/,$(notdir $(basename $(SAN_TSRC)))))

.PHONY: asan valgrind asan-build valgrind-build hookcost
asan-build: $(SAN_ADIR)/libhakmem-core.a $(addprefix $(SAN_ADIR)/,$(SAN_PROGS)) $(SAN_ATESTS) $(SAN_ADIR)/precise
valgrind-build: $(addprefix $(SAN_VDIR)/,$(SAN_PROGS)) $(SAN_VTESTS) $(BUILD)/libhakmem.so $(SAN_VDIR)/precise \
                $(BUILD)/pkg/hakmem-run

asan: asan-build
	bash tests/sanitizers/run.sh asan $(SAN_ADIR)

valgrind: valgrind-build
	bash tests/sanitizers/run.sh valgrind $(SAN_VDIR) "$(T_DIR)" $(BUILD)/libhakmem.so $(BUILD)/pkg/hakmem-run

check: asan valgrind

# ---- ASan: library core with the poisoning hooks compiled in
$(SAN_ADIR)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(SAN_AFLAGS) -DHAK_ASAN=1 $(HAK_CFLAGS) -c $< -o $@

$(SAN_ADIR)/libhakmem-core.a: $(SAN_AOBJS)
	rm -f $@ && ar rcs $@ $^

$(SAN_ADIR)/%: tests/sanitizers/%.c $(SAN_DEPS) $(SAN_ADIR)/libhakmem-core.a
	$(SAN_CC) $(SAN_AFLAGS) $(SAN_TFLAGS) $< -o $@ $(SAN_ADIR)/libhakmem-core.a -pthread

# tests/*.c with malloc & co. renamed to hak_* at compile time
$(SAN_ADIR)/t-%: tests/%.c tests/testlib.h tests/sanitizers/hak_names.h $(SAN_ADIR)/libhakmem-core.a
	$(SAN_CC) $(SAN_AFLAGS) $(SAN_TFLAGS) -fno-builtin -Wno-unused-function -Itests \
	    -include tests/sanitizers/hak_names.h $< -o $@ $(SAN_ADIR)/libhakmem-core.a -pthread -ldl

# precise.c: the plain names, sent to hak_* as in the tests/ programs
$(SAN_ADIR)/precise: tests/sanitizers/precise.c tests/sanitizers/hak_names.h $(SAN_ADIR)/libhakmem-core.a
	$(SAN_CC) $(SAN_AFLAGS) $(SAN_TFLAGS) -fno-builtin -include tests/sanitizers/hak_names.h $< -o $@ \
	    $(SAN_ADIR)/libhakmem-core.a -pthread -ldl

# ---- Memcheck: precise.c is a user's program: -O0, nothing of hakmem linked (LD_PRELOAD)
$(SAN_VDIR)/precise: tests/sanitizers/precise.c
	@mkdir -p $(dir $@)
	$(CC) -g -O0 -fno-builtin -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Wno-use-after-free $< -o $@ -ldl

# ---- Memcheck: the normal library; -O1 keeps the deliberate bugs as written
$(SAN_VDIR)/%: tests/sanitizers/%.c $(SAN_DEPS) $(BUILD)/libhakmem-core.a
	@mkdir -p $(dir $@)
	$(CC) -g -O1 $(SAN_TFLAGS) $< -o $@ $(BUILD)/libhakmem-core.a -pthread

# ---- hook cost: two copies of the normal core library, hooks in and out
SAN_CDIR      := $(BUILD)/hookcost
SAN_HOOK_BUDGET ?= 0
$(SAN_CDIR)/hooks/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(HAK_CFLAGS) -c $< -o $@

$(SAN_CDIR)/nohooks/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DHAK_NO_TOOL_HOOKS $(HAK_CFLAGS) -c $< -o $@

$(SAN_CDIR)/hooks/libhakmem-core.a: $(patsubst src/%.c,$(SAN_CDIR)/hooks/obj/%.o,$(CORE_SRCS))
	rm -f $@ && ar rcs $@ $^

$(SAN_CDIR)/nohooks/libhakmem-core.a: $(patsubst src/%.c,$(SAN_CDIR)/nohooks/obj/%.o,$(CORE_SRCS))
	rm -f $@ && ar rcs $@ $^

$(SAN_CDIR)/%/hookcost: tests/sanitizers/hookcost.c include/hakmem.h $(SAN_CDIR)/%/libhakmem-core.a
	$(CC) $(CFLAGS) $(SAN_TFLAGS) $< -o $@ $(SAN_CDIR)/$*/libhakmem-core.a -pthread

hookcost: $(SAN_CDIR)/hooks/hookcost $(SAN_CDIR)/nohooks/hookcost
	bash tests/sanitizers/hookcost.sh $(SAN_CDIR) $(SAN_HOOK_BUDGET)
