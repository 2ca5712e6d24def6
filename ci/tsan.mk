# ci/tsan.mk: `make tsan` (issue 14): the library core built with
# clang -fsanitize=thread, no malloc override (TSan keeps its own malloc),
# and the thread tests of tests/ plus the churn test, their plain malloc
# names sent to hak_* by tests/sanitizers/hak_names.h.  Every TSan report
# fails the run (exitcode 66); ci/tsan.supp lists only what TSan cannot
# model, each with its reason.
TSAN_DIR    := $(BUILD)/tsan
TSAN_FLAGS  := -g -O1 -fsanitize=thread -fno-omit-frame-pointer
TSAN_OBJS   := $(patsubst src/%.c,$(TSAN_DIR)/obj/%.o,$(CORE_SRCS))
TSAN_TESTS  := $(addprefix $(TSAN_DIR)/t-,threads churn forkt)

.PHONY: tsan tsan-build
tsan-build: $(TSAN_TESTS)

tsan: tsan-build
	bash ci/tsan.sh $(TSAN_DIR)

check: tsan

$(TSAN_DIR)/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(dir $@)
	$(SAN_CC) $(TSAN_FLAGS) $(HAK_CFLAGS) -c $< -o $@

$(TSAN_DIR)/libhakmem-core.a: $(TSAN_OBJS)
	rm -f $@ && ar rcs $@ $^

$(TSAN_DIR)/t-%: tests/%.c tests/testlib.h tests/sanitizers/hak_names.h $(TSAN_DIR)/libhakmem-core.a
	$(SAN_CC) $(TSAN_FLAGS) $(SAN_TFLAGS) -fno-builtin -Wno-unused-function -Itests \
	    -include tests/sanitizers/hak_names.h $< -o $@ $(TSAN_DIR)/libhakmem-core.a -pthread -ldl
