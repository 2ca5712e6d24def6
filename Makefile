# hakmem build.  `make` builds the libraries; see README.md for every target.
CC      ?= cc
CFLAGS  ?= -O2 -g
HAK_CFLAGS = -std=gnu11 -Wall -Wextra -Wno-unused-parameter -fPIC -fvisibility=hidden \
             -fno-strict-aliasing -fno-semantic-interposition -ftls-model=initial-exec -pthread -Iinclude -Isrc
LDLIBS_HAK = -pthread

BUILD   ?= build
SRCS    := $(sort $(wildcard src/*.c))
# override.c defines malloc/free/...; builds that must keep the system malloc
# (ASan, libFuzzer) link the "core" archive, which leaves it out.
CORE_SRCS := $(filter-out src/override.c,$(SRCS))
OBJS    := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
CORE_OBJS := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(CORE_SRCS))
HDRS    := $(wildcard include/*.h src/*.h)

SONAME  := libhakmem.so.$(shell sed -n 's/^\#define HAKMEM_VERSION_MAJOR \([0-9]*\)/\1/p' include/hakmem.h)

.PHONY: all lib deps check demo clean
all: lib
lib: $(BUILD)/libhakmem.so $(BUILD)/libhakmem.a $(BUILD)/libhakmem-core.a

$(BUILD)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(HAK_CFLAGS) -c $< -o $@

$(BUILD)/libhakmem.so: $(OBJS)
	$(CC) $(CFLAGS) -shared -Wl,-soname,$(SONAME) -Wl,-z,now -Wl,-Bsymbolic-functions -o $@ $^ $(LDLIBS_HAK)
	ln -sf libhakmem.so $(BUILD)/$(SONAME)

$(BUILD)/libhakmem.a: $(OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/libhakmem-core.a: $(CORE_OBJS)
	rm -f $@ && ar rcs $@ $^

# Installs every Debian package any target needs (idempotent).
deps:
	bash ci/deps.sh

# The main job: a real program under LD_PRELOAD with HAKMEM_STATS=1.
demo: lib
	BUILD=$(BUILD) bash ci/demo.sh

clean:
	rm -rf $(BUILD)

# `make check` is the whole CI suite: each fragment adds its own prerequisites
# (tests, proofs, fuzz smoke, sanitizers, install); the callgrind guard is here.
check: proofs proofs-mutants bench-guard fuzz-smoke

# Each area owns its fragment: tests, bench, fuzz, proofs, sanitizers, release.
-include tests/tests.mk
-include bench/bench.mk
-include fuzz/fuzz.mk
-include proofs/proofs.mk
-include ci/sanitizers.mk
-include ci/install.mk
-include ci/tsan.mk
