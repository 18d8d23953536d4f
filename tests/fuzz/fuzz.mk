# SPDX-License-Identifier: Apache-2.0
# libFuzzer targets for Vireo's portable parsers and device models.
# Included by the top-level Makefile; see docs/fuzzing.md.
#
#   make fuzz-build   build $(BUILD)/fuzz/fuzz_NAME for every tests/fuzz/fuzz_NAME.c
#   make fuzz         run each for 60 s (tests/fuzz/run $(BUILD) 60)
#   make fuzz-smoke   run each for 3 s
#
# The portable sources (HOST_LIB_SRC, as for the unit tests) are built once
# more into $(BUILD)/fuzz/libvireo.a with coverage instrumentation
# (-fsanitize=fuzzer-no-link) plus ASan/UBSan; each target links it with
# libFuzzer's main (-fsanitize=fuzzer).

FUZZ_CC      ?= clang
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS  := $(COMMON) -O1 -g -DVIREO_HOST -fsanitize=fuzzer-no-link $(FUZZ_SAN)
FUZZ_LDFLAGS := -fsanitize=fuzzer $(FUZZ_SAN)

FUZZ_SRC   := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRC))
FUZZ_BINS  := $(addprefix $(BUILD)/fuzz/fuzz_,$(FUZZ_NAMES))

.PHONY: fuzz-build fuzz fuzz-smoke

$(BUILD)/fuzz/obj/%.c.o: %.c
	@mkdir -p $(dir $@)
	$(call say,FUZZCC,$<)$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(BUILD)/fuzz/libvireo.a: $(patsubst %,$(BUILD)/fuzz/obj/%.o,$(HOST_LIB_SRC))
	@rm -f $@
	$(call say,AR,$@)ar rcs $@ $^

$(BUILD)/fuzz/fuzz_%: $(BUILD)/fuzz/obj/tests/fuzz/fuzz_%.c.o $(BUILD)/fuzz/libvireo.a
	$(call say,FUZZLD,$@)$(FUZZ_CC) $(FUZZ_LDFLAGS) $^ -lpthread -o $@

# vireoctl's trace converter is outside the library.
$(BUILD)/fuzz/fuzz_trace_json: $(BUILD)/fuzz/obj/tools/vireoctl/trace_json.c.o

# Keep the targets' objects (make would delete them as intermediates).
.SECONDARY: $(patsubst %,$(BUILD)/fuzz/obj/%.o,$(FUZZ_SRC))

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@tests/fuzz/run $(BUILD) 60

fuzz-smoke: fuzz-build
	@tests/fuzz/run $(BUILD) 3
